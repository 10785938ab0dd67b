/* check.h -- how every C test suite of signal.c counts: check() records one
 * assertion (printing failures, and every check when TEST_VERBOSE is set);
 * test_summary() prints the closing line "N passed, N failed". */
#ifndef CHECK_H
#define CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int t_passed;
static int t_failed;

/* Records one assertion; prints a line only for failures (and for every
 * check when TEST_VERBOSE is set).  Returns ok so callers can stop early. */
static int check(int ok, const char *fmt, ...)
{
    va_list ap;
    if (ok) {
        t_passed++;
    } else {
        t_failed++;
    }
    if (!ok || getenv("TEST_VERBOSE")) {
        printf("%s - ", ok ? "ok" : "FAIL");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
    }
    return ok;
}

/* The closing line every runner prints; returns the process exit code. */
static int test_summary(void)
{
    printf("%d passed, %d failed\n", t_passed, t_failed);
    fflush(stdout);
    return t_failed == 0 ? 0 : 1;
}

#endif
