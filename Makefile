# signal.c -- the codelab's signaling server in one C file.
# `make` is the one cc command plus warnings; nothing here is needed to
# build it: `cc -o signal signal.c` works the same.

CC ?= cc
CFLAGS ?= -std=c99 -Wall -Wextra -pedantic -O2
DEBUGFLAGS = -std=c99 -Wall -Wextra -pedantic -O0 -g3
SANFLAGS = -std=c99 -Wall -Wextra -pedantic -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all run test test-large sanitize valgrind warnings fuzz debug interop bench bench-quick tour clean

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
	gcc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -c -o /dev/null signal.c
	clang -std=c99 -Wall -Wextra -pedantic -Werror -O2 -c -o /dev/null signal.c
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
# Needs node and `(cd tests/bench && npm ci)`; about 3 minutes.
bench:
	CC="$(CC)" sh tests/bench/run.sh

# Every scenario, small (about a second each): CI runs it so the benchmark
# cannot rot.  Fails only if a message is lost, duplicated or misdelivered.
bench-quick:
	CC="$(CC)" sh tests/bench/run.sh quick

clean:
	rm -rf signal signal-asan tests/build tests/interop/node_modules tests/interop/out
