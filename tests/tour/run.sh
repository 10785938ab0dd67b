#!/bin/sh
# make tour: runs the gdb walk of README.md ("Step through a handshake in
# gdb") and checks that gdb prints what the README shows.
#
#   sh tests/tour/run.sh          run the walk, compare, print a diff per step
#   sh tests/tour/run.sh --show   run the walk, print gdb's real output as
#                                 README blocks, ready to paste
#
# The walk is read from README.md itself, between <!-- tour:begin --> and
# <!-- tour:end -->: in every fenced block without a language, a line
# "(gdb) COMMAND  # comment" is a step (the comment is dropped) and the
# lines after it, up to the next step, are what gdb prints for it.  A line
# "..." stands for any number of lines.  ```sh blocks are prose for the
# reader and are not run.
#
# gdb runs the steps in order against SIGNAL_BIN (a -O0 -g3 build, as
# `make debug` makes) with "-p 0 -v" and the -v trace sent to a file; when
# the server says which port it got, tests/tour/client.c plays the browser
# tab with fixed values (RFC 6455's sample key and example mask), so every
# value gdb prints is the same on every run, except what the comparison
# treats as a pattern, on both sides alike:
#   - hex numbers of 4 digits or more (addresses): 0x5555555668e0
#   - line numbers: "signal.c:1810", ", line 1810.", a source line "1810\t"
#   - the strings gdb shows after a pointer in a frame line
#     ("Breakpoint 1, f (p=0x... "...") at ..."): memory beyond the data
#   - the port in 127.0.0.1:PORT, a pid in "process N"
#   - the offset in a symbol gdb names beside an address, "<server+4431>"
#     (it moves whenever a field is added to struct server)
#   - runs of spaces and tabs (one space), trailing blanks
# Value-history numbers ($1, $2...) are compared exactly.
#
# One check per step, one that gdb got to the end and quit in time, one for
# the client (it checks the 101 and its Sec-WebSocket-Accept on the wire).
# The last line is "N passed, N failed".
#
# The README shows what gcc's build prints (cc on Debian); with clang one
# line differs, where `finish` returns from room_create_or_join.
#
# Environment: SIGNAL_BIN (default tests/build/tour/signal), CC, GDB
# (default gdb), TOUR_TIMEOUT (seconds for gdb, default 60), TOUR_README
# (the file to read the walk from, default README.md).
set -u
cd "$(dirname "$0")/../.." || exit 2
show=0
case ${1:-} in
--show) show=1 ;;
'') ;;
*) echo "usage: sh tests/tour/run.sh [--show]" >&2; exit 2 ;;
esac
CC=${CC:-cc}
GDB=${GDB:-gdb}
BIN=${SIGNAL_BIN:-tests/build/tour/signal}
LIMIT=${TOUR_TIMEOUT:-60}
README=${TOUR_README:-README.md}
dir=tests/build/tour
mkdir -p "$dir"

die() {
    echo "tour: $*"
    echo "0 passed, 1 failed"
    exit 1
}

if ! command -v "$GDB" >/dev/null 2>&1; then
    die "gdb not found: the tour needs it (Debian/Ubuntu: apt-get install -y gdb)"
fi
if [ ! -x "$BIN" ]; then
    die "$BIN is missing: run make tour (it builds it with -O0 -g3)"
fi
if [ signal.c -nt "$BIN" ]; then
    die "$BIN is older than signal.c: run make tour (it builds it with -O0 -g3)"
fi

# The steps, one per line: "S<TAB>README line", "C<TAB>command",
# "E<TAB>expected line", and "B" where a README block ends.
awk '
    /^<!-- tour:begin -->/ { on = 1; next }
    /^<!-- tour:end -->/ { on = 0; next }
    !on { next }
    /^```/ {
        if (!fence) { fence = 1; run = ($0 == "```"); next }
        fence = 0
        if (run && steps) print "B"
        next
    }
    !fence || !run { next }
    /^\(gdb\) / {
        line = $0
        cmd = substr($0, 7)
        sub(/[ \t]+#.*$/, "", cmd)
        print "S\t" line
        print "C\t" cmd
        steps++
        next
    }
    steps { print "E\t" $0 }
' "$README" > "$dir/steps"
nsteps=$(grep -c '^C' "$dir/steps")
if [ "$nsteps" -eq 0 ]; then
    die "no (gdb) steps between <!-- tour:begin --> and <!-- tour:end --> in $README"
fi

"$CC" -std=c99 -Wall -Wextra -pedantic -g -o "$dir/client" tests/tour/client.c ||
    die "tests/tour/client.c does not compile"

# gdb's arguments: a quiet start that prints as a wide terminal would, the
# server's arguments, then each step after a marker line.  Run without
# -batch, the commands count as typed (gdb says "Continuing." and "Run till
# exit from ..." as it does for you); stdin is /dev/null.
# (debuginfod and styles off: no question, no colours; an older gdb without
# them prints an error before the first step, which is not compared.)
set -- -nx -q -iex 'set width 0' -iex 'set height 0' -iex 'set confirm off' \
    -iex 'set pagination off' -iex 'set debuginfod enabled off' \
    -iex 'set style enabled off' \
    -ex "set args -p 0 -v 2>$dir/trace.log"
i=0
while IFS= read -r line; do
    case $line in
    C"	"*)
        i=$((i + 1))
        set -- "$@" -ex "echo @@tour-step $i@@\\n" -ex "${line#C	}"
        ;;
    esac
done < "$dir/steps"
set -- "$@" -ex 'echo @@tour-end@@\n' -ex 'kill' -ex 'quit'

rm -f "$dir/gdb.out" "$dir/trace.log" "$dir/client.log" "$dir/timed-out"
LC_ALL=C
export LC_ALL
if command -v timeout >/dev/null 2>&1; then
    timeout -k 5 "$LIMIT" "$GDB" "$@" "$BIN" < /dev/null > "$dir/gdb.out" 2>&1 &
    gdb_pid=$!
    dog=
else
    "$GDB" "$@" "$BIN" < /dev/null > "$dir/gdb.out" 2>&1 &
    gdb_pid=$!
    ( sleep "$LIMIT"; : > "$dir/timed-out"; kill "$gdb_pid" ) > /dev/null 2>&1 &
    dog=$!
fi

# The server's first line gives its port; then the client plays the tab.
port=
tries=0
while [ -z "$port" ] && [ "$tries" -lt 300 ] && kill -0 "$gdb_pid" 2>/dev/null; do
    port=$(sed -n 's|^signal: listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/.*|\1|p' "$dir/gdb.out" 2>/dev/null)
    [ -n "$port" ] || sleep 0.1
    tries=$((tries + 1))
done
client_ok=0
if [ -n "$port" ]; then
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 5 "$LIMIT" "$dir/client" "$port" > "$dir/client.log" 2>&1 && client_ok=1
    else
        "$dir/client" "$port" > "$dir/client.log" 2>&1 && client_ok=1
    fi
else
    echo "tour: the server under gdb never said which port it listens on" > "$dir/client.log"
fi
wait "$gdb_pid"
gdb_status=$?
if [ -n "$dog" ]; then
    kill "$dog" 2>/dev/null
    [ -f "$dir/timed-out" ] && gdb_status=124    # as timeout(1) says it
fi

if [ "$show" -eq 1 ]; then
    awk -v steps="$dir/steps" '
        BEGIN {
            while ((getline l < steps) > 0) {
                if (l ~ /^S\t/) { n++; shown[n] = substr(l, 3) }
                if (l == "B") last[n] = 1
            }
            print "```"
        }
        /^@@tour-step [0-9]+@@$/ {
            cur = $2; sub(/@@$/, "", cur); cur += 0
            if (cur > 1 && last[cur - 1]) { print "```"; print ""; print "```" }
            print shown[cur]
            next
        }
        /^@@tour-end@@$/ { cur = 0 }
        cur { print }
        END { print "```" }
    ' "$dir/gdb.out"
    echo "(gdb exit status $gdb_status; full output in $dir/gdb.out, the -v trace in $dir/trace.log)" >&2
    [ "$gdb_status" -eq 0 ]
    exit
fi

# Compare step by step.  The awk prints one line per step and, for a step
# that differs, its normalized expected (-) and actual (+) lines.
awk -v steps="$dir/steps" -v client_ok="$client_ok" -v client_log="$dir/client.log" \
    -v gdb_status="$gdb_status" -v limit="$LIMIT" '
    function norm(s, frame) {
        frame = (s ~ / at [^ ]+:[0-9]+$/ && s ~ /\(/)
        if (frame)
            gsub(/0x[0-9a-f]+ "([^"\\]|\\.)*"(\.\.\.)?/, "0x \"...\"", s)
        gsub(/0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f]+/, "0x...", s)
        gsub(/signal\.c:[0-9]+/, "signal.c:N", s)
        gsub(/, line [0-9]+\./, ", line N.", s)
        sub(/^[0-9]+\t/, "N\t", s)
        gsub(/127\.0\.0\.1:[0-9]+/, "127.0.0.1:PORT", s)
        gsub(/process [0-9]+/, "process N", s)
        gsub(/\+[0-9]+>/, "+N>", s)
        gsub(/[ \t]+/, " ", s)
        sub(/ $/, "", s)
        return s
    }
    # Do expected lines e[1..ne] ("..." = any lines) match actual a[1..na]?
    function matches(   i, j, m) {
        for (i = 0; i <= ne; i++) for (j = 0; j <= na; j++) m[i, j] = 0
        m[0, 0] = 1
        for (i = 1; i <= ne; i++) {
            if (e[i] == "...") {
                m[i, 0] = m[i - 1, 0]
                for (j = 1; j <= na; j++) m[i, j] = m[i - 1, j] || m[i, j - 1]
            } else {
                for (j = 1; j <= na; j++) m[i, j] = m[i - 1, j - 1] && e[i] == a[j]
            }
        }
        return m[ne, na]
    }
    BEGIN {
        while ((getline l < steps) > 0) {
            if (l ~ /^S\t/) { n++; cmd[n] = substr(l, 3); ecount[n] = 0 }
            else if (l ~ /^E\t/) want[n, ++ecount[n]] = substr(l, 3)
        }
    }
    /^@@tour-step [0-9]+@@$/ { cur = $2; sub(/@@$/, "", cur); cur += 0; seen[cur] = 1; next }
    /^@@tour-end@@$/ { cur = 0; ended = 1; next }
    cur { act[cur, ++acount[cur]] = $0 }
    END {
        for (s = 1; s <= n; s++) {
            ne = ecount[s]; na = acount[s] + 0
            # blank lines at the end of a README block are layout, not output
            while (ne > 0 && want[s, ne] ~ /^[ \t]*$/) ne--
            for (i = 1; i <= ne; i++) e[i] = norm(want[s, i])
            for (j = 1; j <= na; j++) a[j] = norm(act[s, j])
            if (seen[s] && matches()) {
                passed++
                print "ok    " cmd[s]
                continue
            }
            failed++
            print "FAIL  " cmd[s] (seen[s] ? "" : "   (gdb never got to this step)")
            for (i = 1; i <= ne; i++) print "      - " e[i]
            for (j = 1; j <= na; j++) print "      + " a[j]
        }
        if (gdb_status == 0) {
            passed++
            print "ok    gdb ran the walk to its end and quit"
        } else {
            failed++
            print "FAIL  gdb exited with status " gdb_status \
                (gdb_status == 124 ? " (killed after " limit " s)" : "")
        }
        if (client_ok) {
            passed++
            print "ok    client: 101 with the accept value for the RFC key, then 40 and 42"
        } else {
            failed++
            print "FAIL  client: see below"
            while ((getline l < client_log) > 0) print "      " l
        }
        if (failed) {
            print ""
            print "(- README.md, + gdb; addresses, line numbers and ports shown as patterns."
            print " gdb exit status " gdb_status "; the real output for pasting: sh tests/tour/run.sh --show)"
        }
        print passed + 0 " passed, " failed + 0 " failed"
        exit failed > 0
    }
' "$dir/gdb.out"
