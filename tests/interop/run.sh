#!/bin/sh
# Real clients against signal.c: the official socket.io-client (Node) and
# Debian's Chromium driven by playwright-core.  Run from anywhere, after
# building ./signal (make interop does both).  Needs node 20+, npm and
# /usr/bin/chromium; installs its two npm packages from package-lock.json.
# Ends with the line "N passed, N failed"; exits non-zero on any failure.

root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$root" || exit 1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop: node or npm not found: apt-get install -y nodejs npm"; exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "interop: node $(node --version) is too old, 20 or later needed: apt-get install -y nodejs (Debian 13) or a newer build"; exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "interop: chromium not found: apt-get install -y chromium"; exit 1
fi
if [ ! -x "${SIGNAL_BIN:-./signal}" ]; then
  echo "interop: ${SIGNAL_BIN:-./signal} not found: run make first"; exit 1
fi

if ! (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  echo "interop: npm ci failed in tests/interop"; exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

rm -rf tests/interop/out             # this run's screenshots only

# TAP on stdout, whatever the terminal; node's own status kept aside.
{ node --test --test-reporter=tap \
    tests/interop/socketio.test.mjs tests/interop/browser.test.mjs 2>&1
  echo $? >"$tmp/rc"; } | tee "$tmp/log"

rc=$(cat "$tmp/rc")
pass=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$tmp/log" | tail -n 1)
fail=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$tmp/log" | tail -n 1)
cancelled=$(sed -n 's/^# cancelled \([0-9][0-9]*\)$/\1/p' "$tmp/log" | tail -n 1)
pass=${pass:-0}
fail=$(( ${fail:-0} + ${cancelled:-0} ))
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
  fail=1                          # node failed outside any test (a crash, a hook)
fi
[ "$pass" -gt 0 ] || [ "$fail" -gt 0 ] || echo "interop: no test ran"
[ -d tests/interop/out ] && echo "interop: screenshots in tests/interop/out/: $(cd tests/interop/out && ls *.png 2>/dev/null | tr '\n' ' ')"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
