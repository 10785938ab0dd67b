# signal.c -- the codelab's signaling server in one C file.
# `make` is the one cc command plus warnings; nothing here is needed to
# build it: `cc -o signal signal.c` works the same.

CC ?= cc
CFLAGS ?= -std=c99 -Wall -Wextra -pedantic -O2
DEBUGFLAGS = -std=c99 -Wall -Wextra -pedantic -O0 -g3
SANFLAGS = -std=c99 -Wall -Wextra -pedantic -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all run test test-large sanitize valgrind warnings fuzz debug interop bench bench-quick tour musl lint clean

all: signal

signal: signal.c
	$(CC) $(CFLAGS) -o signal signal.c

run: signal
	./signal -p 8080 -r www

# The fast suites: unit tests plus raw-socket integration tests.  Needs only
# a C compiler, make and a POSIX shell.
test: signal
	CC="$(CC)" sh tests/run.sh

# The slow WebSocket cases (messages up to 16 MiB, in small chops).
test-large: signal
	CC="$(CC)" sh tests/run.sh large

# The same suites against a build with AddressSanitizer and UBSan.
sanitize:
	$(CC) $(SANFLAGS) -o signal-asan signal.c
	CC="$(CC)" SIGNAL_BIN=./signal-asan TEST_CFLAGS="-fsanitize=address,undefined" sh tests/run.sh

# The integration suites with the server under valgrind's memcheck.
valgrind: debug
	CC="$(CC)" SIGNAL_BIN=tests/valgrind-signal.sh T_SLOW=1 sh tests/run.sh integration

# libFuzzer on the parsers for FUZZ_SECONDS (default 60); needs clang.
fuzz:
	sh tests/fuzz.sh

# Zero warnings on both compilers, with the strict flags.
warnings:
	gcc -std=c99 -Wall -Wextra -pedantic -Wmissing-prototypes -Werror -O2 -c -o /dev/null signal.c
	clang -std=c99 -Wall -Wextra -pedantic -Wmissing-prototypes -Werror -O2 -c -o /dev/null signal.c
	@echo "signal.c: no warnings on gcc or clang"

debug:
	$(CC) $(DEBUGFLAGS) -o signal signal.c

# Real clients: the official socket.io-client and headless Chromium.
interop: signal
	sh tests/interop/run.sh

# README's gdb walk, run by gdb against a -O0 -g3 build (the flags of
# `make debug`, in its own file) and checked step by step; needs gdb.
tour:
	mkdir -p tests/build/tour
	$(CC) $(DEBUGFLAGS) -o tests/build/tour/signal signal.c
	CC="$(CC)" SIGNAL_BIN=tests/build/tour/signal sh tests/tour/run.sh

# signal.c against the chapter's server on socket.io, one table (issue 10).
# Needs node and npm (it runs npm ci in tests/bench once); about 2 minutes;
# BENCH_RUNS=3 reports the median of three runs (about 6 minutes).
bench:
	CC="$(CC)" sh tests/bench/run.sh

# Every scenario, small (about a second each): CI runs it so the benchmark
# cannot rot.  Fails only if a message is lost, duplicated or misdelivered.
bench-quick:
	CC="$(CC)" sh tests/bench/run.sh quick

# The integration suites against a static build on musl (Debian: musl-tools),
# so nothing glibc-only slips in.  (The LD_PRELOAD fault cases say SKIP.)
musl:
	musl-gcc -static $(CFLAGS) -o signal-musl signal.c
	CC="$(CC)" SIGNAL_BIN=./signal-musl sh tests/run.sh integration

# Static analysis, clean or failing: cppcheck, then clang-tidy with the
# bugprone, CERT and analyzer checks.  Two checks are off as noise for C99:
# bugprone-easily-swappable-parameters (any two size_t parameters in a row)
# and cert-err33-c (it wants the result of every fprintf to stderr and every
# snprintf into a buffer sized for it checked).  Other findings are fixed, or
# justified by a NOLINT comment at the spot.
TIDY_CHECKS = -*,bugprone-*,cert-*,clang-analyzer-*,-bugprone-easily-swappable-parameters,-cert-err33-c
lint:
	@command -v cppcheck >/dev/null || { echo "lint: cppcheck is missing (apt install cppcheck)"; exit 1; }
	@command -v clang-tidy >/dev/null || { echo "lint: clang-tidy is missing (apt install clang-tidy)"; exit 1; }
	cppcheck --std=c99 --enable=warning,portability,performance --inline-suppr --error-exitcode=1 -q signal.c
	clang-tidy --quiet -checks='$(TIDY_CHECKS)' -warnings-as-errors='*' signal.c -- -std=c99
	@echo "lint: signal.c is clean (cppcheck, clang-tidy)"

clean:
	rm -rf signal signal-asan signal-musl tests/build tests/interop/node_modules tests/interop/out
