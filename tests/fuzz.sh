#!/bin/sh
# Fuzzes signal.c's parsers with libFuzzer (tests/fuzz.c) for FUZZ_SECONDS
# (default 60), starting from a few valid inputs.  Needs clang with its
# fuzzer runtime.  Ends with "N passed, N failed": 1 passed if no input
# crashed a parser or broke one of the properties fuzz.c checks.
set -u
cd "$(dirname "$0")/.." || exit 2
seconds=${FUZZ_SECONDS:-60}
out=tests/build/fuzz
mkdir -p "$out/corpus"
if ! clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -o "$out/fuzz" tests/fuzz.c; then
    echo "fuzz: clang with libFuzzer is needed: apt-get install -y clang"
    echo "0 passed, 1 failed"
    exit 1
fi
# Seeds: the first byte picks the parser (see fuzz.c).
printf '\000GET /a%%20b?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n\r\n' > "$out/corpus/http"
printf '\001\201\205\067\372\041\075\137\237\115\121\130' > "$out/corpus/frame"
printf '\002421["create or join","f\\u00f6\\"o"]' > "$out/corpus/sio"
printf '\00242["message",{"type":"offer","sdp":"v=0\\r\\n"}]' > "$out/corpus/sio2"
printf '\003caf\303\251 \360\237\230\200' > "$out/corpus/utf8"
printf '\004foobar' > "$out/corpus/base64"
printf '\004dGhlIHNhbXBsZSBub25jZQ==' > "$out/corpus/key"
"$out/fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" > "$out/log" 2>&1
status=$?
grep -E '^stat::number_of_executed_units|^SUMMARY|ERROR|==ERROR' "$out/log" | head -5
if [ "$status" -eq 0 ]; then
    echo "1 passed, 0 failed"
else
    tail -30 "$out/log"
    echo "0 passed, 1 failed"
fi
[ "$status" -eq 0 ]
