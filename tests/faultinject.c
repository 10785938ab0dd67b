/* faultinject.c -- an LD_PRELOAD shim that makes chosen system calls of
 * signal.c fail, for robust_test.c.  glibc/Linux only: it wraps accept(),
 * accept4(), malloc(), calloc() and realloc(), and calls glibc's own
 * __libc_* allocators underneath (dlsym could itself allocate).
 *
 *   cc -shared -fPIC -o tests/build/faultinject.so tests/faultinject.c -ldl
 *   (add -DFI_ACCEPT_ONLY for a shim that wraps accept() only)
 *
 * Controlled by the environment of the process it is loaded into:
 *   FI_LOADED=path        created when the shim loads (so a test can tell a
 *                         static binary, where LD_PRELOAD does nothing)
 *   FI_ACTIVE=path        faults are injected only while this file exists
 *   FI_ACCEPT_ERRNO=n     accept()/accept4() fail with errno n
 *   FI_ALLOC_OVER=n       allocations of more than n bytes return NULL
 *   FI_COUNT=path         a file of at least 8 bytes: the number of accept
 *                         calls is kept in its first 8 bytes (shared map) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef FI_ACCEPT_ONLY
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
#endif

static const char *fi_active;
static int fi_accept_errno;
static size_t fi_alloc_over;
static volatile unsigned long long *fi_count;
static int fi_ready;

static void fi_init(void) __attribute__((constructor));

static void fi_init(void)
{
    const char *s;
    s = getenv("FI_LOADED");
    if (s != NULL) {
        int fd = open(s, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            close(fd);
        }
    }
    fi_active = getenv("FI_ACTIVE");
    s = getenv("FI_ACCEPT_ERRNO");
    fi_accept_errno = s ? atoi(s) : 0;
    s = getenv("FI_ALLOC_OVER");
    fi_alloc_over = s ? (size_t)strtoull(s, NULL, 10) : 0;
    s = getenv("FI_COUNT");
    if (s != NULL) {
        int fd = open(s, O_RDWR);
        if (fd >= 0) {
            void *p = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) {
                fi_count = p;
            }
            close(fd);
        }
    }
    fi_ready = 1;
}

static int fi_on(void)
{
    return fi_ready && fi_active != NULL && access(fi_active, F_OK) == 0;
}

#ifndef FI_ACCEPT_ONLY
/* Built with -DFI_ACCEPT_ONLY, the shim leaves the allocator alone (an
 * AddressSanitizer build must keep its own). */
static int fi_alloc_fails(size_t n)
{
    return fi_alloc_over > 0 && n > fi_alloc_over && fi_on();
}

void *malloc(size_t n)
{
    if (fi_alloc_fails(n)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    if (n != 0 && k > (size_t)-1 / n) {
        errno = ENOMEM;
        return NULL;
    }
    if (fi_alloc_fails(k * n)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    if (fi_alloc_fails(n)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n);
}

#endif

static int fi_accept_fails(void)
{
    if (fi_count != NULL) {
        (*fi_count)++;
    }
    if (fi_accept_errno != 0 && fi_on()) {
        errno = fi_accept_errno;
        return 1;
    }
    return 0;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (fi_accept_fails()) {
        return -1;
    }
    if (real == NULL) {
        *(void **)&real = dlsym(RTLD_NEXT, "accept");
    }
    return real(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (fi_accept_fails()) {
        return -1;
    }
    if (real == NULL) {
        *(void **)&real = dlsym(RTLD_NEXT, "accept4");
    }
    return real(fd, addr, len, flags);
}
