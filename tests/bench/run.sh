#!/bin/sh
# make bench / make bench-quick: signal.c against the chapter's server on
# socket.io 4.8, the same load generator (tests/bench/load.c) for both.
#
#   sh tests/bench/run.sh          every scenario at full size, about 2 minutes
#   sh tests/bench/run.sh quick    every scenario, small, about a second each (CI)
#
# Each scenario gets a fresh server.  Where taskset exists and there are two
# CPUs or more, the server runs on CPU 0 and the load generator on CPU 1.
# Prints one Markdown table: scenario | socket.io | signal.c | ratio, where
# ratio is signal.c's number divided by socket.io's.  The generators'
# detail lines go to tests/bench/out/log.txt.
#
# Environment: CC (default cc); BENCH_RUNS (default 1): run each scenario
# that many times and report the median; SIGNAL_LOG_FLAG: the signal.c flag
# that makes it log() every relayed message back to its sender, if it has
# one (without it that row is n/a for signal.c).
#
# Each run of the generator against one server passes or fails; the last
# line is "N passed, N failed".  A run fails if the generator found a lost,
# duplicated, altered or misdelivered message or any protocol error, or the
# run could not be made; then the exit status is 1.  No speed is asserted.

set -u
cd "$(dirname "$0")/../.." || exit 2
MODE=${1:-full}
CC=${CC:-cc}
RUNS=${BENCH_RUNS:-1}
OUT=tests/bench/out
mkdir -p "$OUT"
LOG=$OUT/log.txt
RES=$OUT/results.txt
: > "$LOG"
: > "$RES"

if [ "$MODE" = quick ]; then
    D=0.5; JOIN_D=0.5; JOIN_W=0.25; IDLE=200,1000; BIG=1000; PAIRS_MANY=300; START_N=3
    SIO_ENV="SIO_PING_INTERVAL_MS=500"; SIGNAL_PING="-i 500"   # pongs get exercised too
else
    # Joins warm up 3 s first: socket.io's JIT takes that long to settle
    # (its CPU per join falls by a third); relays settle within 0.5 s.
    D=3; JOIN_D=2; JOIN_W=3; IDLE=1000,10000; BIG=10000; PAIRS_MANY=1000; START_N=5
    SIO_ENV=""; SIGNAL_PING=""
fi

# --- build -----------------------------------------------------------------
$CC -std=c99 -Wall -Wextra -pedantic -O2 -o tests/bench/load tests/bench/load.c || exit 2
$CC -std=c99 -Wall -Wextra -pedantic -O2 -o tests/bench/signal-bench signal.c || exit 2
if [ ! -d tests/bench/node_modules/socket.io ] && command -v npm > /dev/null 2>&1; then
    echo "bench: installing socket.io from tests/bench/package-lock.json (npm ci)" >&2
    (cd tests/bench && npm ci --no-audit --no-fund) >&2 || exit 2
fi
if ! command -v node > /dev/null 2>&1 || [ ! -d tests/bench/node_modules/socket.io ]; then
    echo "bench: needs node 20 and npm: (cd tests/bench && npm ci)" >&2
    exit 2
fi

SRV_PIN=""
GEN_PIN=""
if command -v taskset > /dev/null 2>&1 && [ "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)" -ge 2 ]; then
    SRV_PIN="taskset -c 0"
    GEN_PIN="taskset -c 1"
fi

SIO="$SRV_PIN env $SIO_ENV node tests/bench/socketio-server.js 0"
SIG="$SRV_PIN tests/bench/signal-bench -p 0 -r www $SIGNAL_PING"
FAILED=0      # runs in which the generator found an error or could not run
PASSED=0

# run TAG NAME SERVER-COMMAND LOAD-ARGS...: runs the generator RUNS times
# and records "TAG NAME key value" for every RESULT line it prints (TAG: s
# for socket.io, c for signal.c).
run() {
    tag=$1
    name=$2
    server=$3
    shift 3
    i=1
    while [ "$i" -le "$RUNS" ]; do
        echo "== $name, run $i: load $* -- $server" >> "$LOG"
        # $server is split into words on purpose: it is a command line.
        if ! $GEN_PIN tests/bench/load "$@" -- $server > "$OUT/run.txt" 2>> "$LOG"; then
            FAILED=$((FAILED + 1))
            echo "bench: $name FAILED against: $server" >&2
            grep 'ERROR\|load: [a-z]' "$LOG" | tail -5 >&2
        else
            PASSED=$((PASSED + 1))
        fi
        sed -n "s/^RESULT /$tag $name /p" "$OUT/run.txt" >> "$RES"
        i=$((i + 1))
    done
}

# both NAME LOAD-ARGS...: the scenario against socket.io, then signal.c.
both() {
    name=$1
    shift
    echo "bench: $name" >&2
    run s "$name" "$SIO" "$@"
    run c "$name" "$SIG" "$@"
}

START=$(date +%s)
both a      -x joins -d "$JOIN_D" -W "$JOIN_W"
both b      -x idle -I "$IDLE"
both c1     -x relay -P 1 -d "$D"
both c100   -x relay -P 100 -d "$D"
both cmany  -x relay -P "$PAIRS_MANY" -d "$D"
echo "bench: c100log" >&2
run s c100log "$SIO --log-every-message" -x relay -P 100 -d "$D" -L
if [ -n "${SIGNAL_LOG_FLAG:-}" ]; then
    run c c100log "$SIG $SIGNAL_LOG_FLAG" -x relay -P 100 -d "$D" -L
fi
both d      -x latency -P 100 -d "$D"
both e      -x relay -P 100 -I "$BIG" -d "$D"
both f      -x joins -H "$BIG" -d "$JOIN_D" -W "$JOIN_W"
both g      -x start -n "$START_N"
END=$(date +%s)

# --- the table ---------------------------------------------------------------
# value TAG NAME KEY: the median of the runs' values, or n/a.
value() {
    awk -v t="$1" -v n="$2" -v k="$3" '
        $1 == t && $2 == n && $3 == k && $4 != "n/a" { v[c++] = $4 + 0 }
        END {
            if (c == 0) { print "n/a"; exit }
            for (i = 0; i < c; i++) for (j = i + 1; j < c; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
            print v[int(c / 2)]
        }' "$RES"
}

# row LABEL NAME KEY [FORMAT]: socket.io, signal.c and their ratio.
row() {
    s=$(value s "$2" "$3")
    c=$(value c "$2" "$3")
    awk -v label="$1" -v s="$s" -v c="$c" -v f="${4:-%.0f}" 'BEGIN {
        fs = (s == "n/a") ? "n/a" : sprintf(f, s)
        fc = (c == "n/a") ? "n/a" : sprintf(f, c)
        r = (s == "n/a" || c == "n/a" || s + 0 == 0) ? "" : sprintf("%.3g", c / s)
        printf("| %s | %s | %s | %s |\n", label, fs, fc, r)
    }'
}

# derived LABEL TAG-VALUES: a row of two numbers computed here (percent).
ratio_row() {
    label=$1
    sa=$2; sb=$3; ca=$4; cb=$5
    awk -v label="$label" -v sa="$sa" -v sb="$sb" -v ca="$ca" -v cb="$cb" 'BEGIN {
        fs = (sa == "n/a" || sb == "n/a" || sb + 0 == 0) ? "n/a" : sprintf("%.0f %%", 100 * sa / sb)
        fc = (ca == "n/a" || cb == "n/a" || cb + 0 == 0) ? "n/a" : sprintf("%.0f %%", 100 * ca / cb)
        printf("| %s | %s | %s | |\n", label, fs, fc)
    }'
}

BIGN=$(echo "$BIG" | sed 's/000$/,000/')
IDLE1=${IDLE%,*}
IDLE2=${IDLE#*,}
echo
echo "| scenario ($MODE, median of $RUNS run(s)) | socket.io | signal.c | ratio |"
echo "| --- | ---: | ---: | ---: |"
row "a. joins/s (100 in flight)" a joins_per_s
row "a. joins: server CPU µs/join" a cpu_us_per_join "%.1f"
row "b. server RSS per idle client, $IDLE1 clients (bytes)" b "rss_per_client_$IDLE1"
row "b. server RSS per idle client, $IDLE2 clients (bytes)" b "rss_per_client_$IDLE2"
row "c. relay, 1 pair: messages/s" c1 msgs_per_s
row "c. relay, 1 pair: server CPU µs/message" c1 cpu_us_per_msg "%.3f"
row "c. relay, 100 pairs: messages/s" c100 msgs_per_s
row "c. relay, 100 pairs: server CPU µs/message" c100 cpu_us_per_msg "%.3f"
row "c. relay, 100 pairs: of which in the kernel, µs/message" c100 sys_us_per_msg "%.3f"
row "c. relay, 100 pairs: server minor faults/message" c100 faults_per_msg "%.4f"
row "c. relay, $PAIRS_MANY pairs: messages/s" cmany msgs_per_s
row "c. relay, $PAIRS_MANY pairs: server CPU µs/message" cmany cpu_us_per_msg "%.3f"
row "c. relay, 100 pairs, log() on every message: messages/s" c100log msgs_per_s
row "c. relay, 100 pairs, log() on every message: server CPU µs/message" c100log cpu_us_per_msg "%.3f"
row "d. round trip, 100 pairs: p50 (ms)" d p50_ms "%.2f"
row "d. round trip, 100 pairs: p99 (ms)" d p99_ms "%.2f"
row "d. round trip, 100 pairs: max (ms)" d max_ms "%.2f"
row "e. relay, 100 pairs + $BIGN idle clients: messages/s" e msgs_per_s
row "e. relay, 100 pairs + $BIGN idle clients: server CPU µs/message" e cpu_us_per_msg "%.3f"
ratio_row "e. rate kept with $BIGN idle (e ÷ c at 100 pairs)" \
    "$(value s e msgs_per_s)" "$(value s c100 msgs_per_s)" "$(value c e msgs_per_s)" "$(value c c100 msgs_per_s)"
row "f. joins/s with $BIGN rooms held" f joins_per_s
row "f. joins: server CPU µs/join" f cpu_us_per_join "%.1f"
ratio_row "f. joins/s with rooms held ÷ without (f ÷ a)" \
    "$(value s f joins_per_s)" "$(value s a joins_per_s)" "$(value c f joins_per_s)" "$(value c a joins_per_s)"
row "g. start: exec to first byte of GET / (ms)" g start_ms "%.2f"
echo
if [ -z "${SIGNAL_LOG_FLAG:-}" ]; then
    echo "signal.c has no log() per relayed message (it logs each step of 'create or join'), so that row is n/a for it."
fi
echo "ratio = signal.c ÷ socket.io.  Pinned: ${SRV_PIN:-no} (server), ${GEN_PIN:-no} (load).  $((END - START)) s."
ERRORS=$(awk '$3 == "errors" { e += $4 } END { print e + 0 }' "$RES")
if [ "$FAILED" -ne 0 ]; then
    echo "bench: the load generator found $ERRORS delivery or protocol error(s), or a run failed; see $LOG"
else
    echo "bench: every relayed message arrived once, in order, at the right peer."
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
