#!/bin/sh
# Runs the server under valgrind's memcheck for `make valgrind`: any leak
# or memory error makes it exit 99, which the suites see at server_stop().
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    ./signal "$@"
