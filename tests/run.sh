#!/bin/sh
# Builds and runs signal.c's C test suites, then prints the total as
# "N passed, N failed" on the last line.  Each suite prints its own such
# line too.  Exit status: 0 only if every suite built, ran and passed.
#
#   sh tests/run.sh              unit + integration suites (make test)
#   sh tests/run.sh large        the slow cases: 16 MiB messages, 20 s timeouts (make test-large)
#   sh tests/run.sh integration  integration suites only (make valgrind)
#
# Environment: CC (compiler), TEST_CFLAGS (extra flags, e.g. sanitizers),
# SIGNAL_BIN (the server to test, default ./signal).
set -u
cd "$(dirname "$0")/.." || exit 2
mode=${1:-fast}
CC=${CC:-cc}
FLAGS="-std=c99 -Wall -Wextra -pedantic -Wno-unused-function -g ${TEST_CFLAGS:-}"

case $mode in
fast) suites="unit_test http_test ws_test sio_test robust_test trace_test" ;;
large) suites="ws_large_test robust_large_test" ;;
integration) suites="http_test ws_test sio_test robust_test trace_test" ;;
*) echo "usage: sh tests/run.sh [fast|large|integration]" >&2; exit 2 ;;
esac

if [ ! -x "${SIGNAL_BIN:-./signal}" ]; then
    echo "tests: ${SIGNAL_BIN:-./signal} is missing: run make first"
    echo "0 passed, 1 failed"
    exit 1
fi

mkdir -p tests/build
passed=0
failed=0
for suite in $suites; do
    echo "== $suite"
    if ! $CC $FLAGS -I tests -o "tests/build/$suite" "tests/$suite.c"; then
        echo "$suite: does not compile"
        failed=$((failed + 1))
        continue
    fi
    "./tests/build/$suite" > "tests/build/$suite.log" 2>&1
    status=$?
    cat "tests/build/$suite.log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "tests/build/$suite.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$suite: exited with status $status and no result line"
        failed=$((failed + 1))
        continue
    fi
    p=$(echo "$line" | sed 's/ passed.*//')
    f=$(echo "$line" | sed 's/.*passed, //; s/ failed.*//')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$suite: exited with status $status"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
