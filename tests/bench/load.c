/*
 * load.c -- the load generator of `make bench`: many Socket.IO clients in
 * one process, speaking the wire protocol by hand, checking every message.
 *
 *   cc -std=c99 -O2 -o tests/bench/load tests/bench/load.c
 *   tests/bench/load -x SCENARIO [options] -- SERVER-COMMAND...
 *
 * For each run it starts the server command itself (so every scenario gets
 * a fresh server), reads the port from the server's first line of stdout
 * (".../http://127.0.0.1:PORT/..."), drives it, stops it with SIGTERM and
 * prints its results as "RESULT name value" lines on stdout; everything a
 * human reads goes to stderr.  run.sh turns the RESULT lines into a table.
 *
 * Scenarios (the letters of issue 10):
 *   joins    a, f: connect + handshake + 40 + 'create or join' until
 *            'created'/'joined', -j in flight, two clients per room (after
 *            a warm-up of half the time, at most 1 s, not counted); with
 *            -H N, N other clients first create and hold one room each (f)
 *   idle     b: hold joined clients (two per room) and read the server's
 *            RSS: -I 1000,10000 measures at each count, per client, over the
 *            RSS of the fresh server
 *   relay    c, e: -P pairs exchange 'message' events (an ICE candidate of
 *            about 250 bytes) with -w messages in flight per pair, half each
 *            way; messages/s and the server's CPU per message; with -I N,
 *            N idle joined clients are connected too (e)
 *   latency  d: -P pairs ping-pong one message at a time: p50/p99/max
 *   start    g: from fork+exec of the server to the first byte of GET /
 *
 * Every relayed message carries its pair, its sender's side and a sequence
 * number, and the rest of its bytes are fixed: a client must receive its
 * peer's messages in order, each once, intact, and nothing else.  A loss, a
 * duplicate, a message to the wrong client, a bad handshake, an unexpected
 * event or close: each is an error, and any error makes the exit status 1.
 * Exit status 2: the run itself could not be made (server did not start,
 * clients could not all join in time).
 *
 * Portable POSIX with poll(); on Linux it uses epoll instead, so the
 * generator is not what slows down with 10,000 idle clients.  Server CPU
 * time, page faults and RSS come from /proc/PID/{stat,status} (Linux);
 * elsewhere they print as n/a.
 */

#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE      /* glibc: everything in netinet/tcp.h */
#define _DARWIN_C_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#define READ_SCRATCH    (256 * 1024)   /* one read() of one connection */
#define READY_MAX       4096           /* events handled per loop turn */
#define DRAIN_SECONDS   10.0           /* after sending stops, for the last messages */
#define ERRORS_SHOWN    20             /* errors printed; all are counted */

/* ======================================================================
 * Small helpers: time, errors, random numbers, buffers
 * ====================================================================== */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long g_errors;      /* delivery and protocol errors */
static pid_t g_server_pid = -1;

static void stop_server(void);

/* The run cannot go on (not a finding about the server's delivery). */
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "load: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    stop_server();
    exit(2);
}

/* A finding: counted, the first few printed; the run goes on. */
static void error(const char *fmt, ...)
{
    va_list ap;
    g_errors++;
    if (g_errors > ERRORS_SHOWN) {
        return;
    }
    fprintf(stderr, "load: ERROR: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* xorshift64*: fast, seeded from /dev/urandom; for keys and masks. */
static uint64_t g_rng;

static void rng_seed(void)
{
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &g_rng, sizeof g_rng) != (ssize_t)sizeof g_rng) {
        g_rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    }
    if (fd >= 0) {
        close(fd);
    }
    g_rng |= 1;
}

static uint64_t rng_next(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ULL;
}

struct buf {
    char *p;
    size_t len;
    size_t cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    if (b->len + more <= b->cap) {
        return;
    }
    while (cap < b->len + more) {
        cap *= 2;
    }
    b->p = realloc(b->p, cap);
    if (b->p == NULL) {
        die("out of memory");
    }
    b->cap = cap;
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_consume(struct buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ======================================================================
 * SHA-1 (FIPS 180-4 §6.1) and base64 (RFC 4648 §4): the accept check
 * ====================================================================== */

static uint32_t rol32(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    int t;
    for (t = 0; t < 16; t++) {
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    }
    for (t = 16; t < 80; t++) {
        w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    }
    for (t = 0; t < 80; t++) {
        uint32_t f, k, tmp;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        tmp = rol32(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

/* SHA-1 of a short message (at most 119 bytes: two blocks with padding). */
static void sha1_short(const void *data, size_t n, unsigned char out[20])
{
    uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    unsigned char m[128];
    size_t blocks = (n + 9 + 63) / 64;
    uint64_t bits = (uint64_t)n * 8;
    size_t i;
    if (n > sizeof m - 9) {
        die("sha1_short: %lu bytes is too long", (unsigned long)n);
    }
    memset(m, 0, sizeof m);
    memcpy(m, data, n);
    m[n] = 0x80;
    for (i = 0; i < 8; i++) {
        m[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
    }
    for (i = 0; i < blocks; i++) {
        sha1_block(h, m + 64 * i);
    }
    for (i = 0; i < 20; i++) {
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
    }
}

/* Standard base64 with padding; out needs 4 * ceil(n / 3) + 1 bytes. */
static void base64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        *out++ = abc[in[i] >> 2];
        *out++ = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = abc[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
        *out++ = abc[in[i + 2] & 63];
    }
    if (n - i == 1) {
        *out++ = abc[in[i] >> 2];
        *out++ = abc[(in[i] & 3) << 4];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        *out++ = abc[in[i] >> 2];
        *out++ = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = abc[(in[i + 1] & 15) << 2];
        *out++ = '=';
    }
    *out = '\0';
}

/* ======================================================================
 * The server process: start, stop, and what /proc says about it
 * ====================================================================== */

static char **g_server_argv;
static int g_port;
static int g_server_out = -1;      /* the read end of its stdout */

/* Forks and execs the server with stdout on a pipe; reads its first line
 * for the port.  Returns the time of the fork. */
static double start_server(void)
{
    int fds[2];
    char line[512];
    size_t len = 0;
    double t0, limit;
    const char *at;
    if (pipe(fds) != 0) {
        die("pipe: %s", strerror(errno));
    }
    t0 = now();
    g_server_pid = fork();
    if (g_server_pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (g_server_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(g_server_argv[0], g_server_argv);
        fprintf(stderr, "load: cannot run %s: %s\n", g_server_argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    g_server_out = fds[0];
    limit = t0 + 20.0;
    while (len < sizeof line - 1 && (len == 0 || line[len - 1] != '\n')) {
        struct pollfd p;
        ssize_t n;
        p.fd = fds[0];
        p.events = POLLIN;
        if (now() > limit || poll(&p, 1, 100) < 0) {
            die("no ready line from %s in 20 s", g_server_argv[0]);
        }
        if (!(p.revents & (POLLIN | POLLHUP))) {
            continue;
        }
        n = read(fds[0], line + len, 1);
        if (n <= 0) {
            die("%s exited before its ready line", g_server_argv[0]);
        }
        len++;
    }
    line[len] = '\0';
    /* The pipe stays open (a server may print more); nobody reads it. */
    at = strstr(line, "http://127.0.0.1:");
    if (at == NULL || (g_port = atoi(at + strlen("http://127.0.0.1:"))) <= 0) {
        die("no port in the server's ready line: %s", line);
    }
    return t0;
}

/* SIGTERM, then SIGKILL after 5 s; a server that had already died is an
 * error (it crashed under load). */
static void stop_server(void)
{
    int status = 0;
    double limit = now() + 5.0;
    pid_t pid = g_server_pid;
    if (pid <= 0) {
        return;
    }
    g_server_pid = -1;
    close(g_server_out);
    if (waitpid(pid, &status, WNOHANG) == pid) {
        error("the server exited during the run (status %d)", status);
        return;
    }
    kill(pid, SIGTERM);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        struct timespec ms = { 0, 1000000 };
        if (now() > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            error("the server did not stop within 5 s of SIGTERM");
            return;
        }
        nanosleep(&ms, NULL);
    }
}

struct proc_sample {
    int ok;
    double cpu;               /* user + system seconds */
    double sys;               /* system (kernel) seconds alone */
    unsigned long minflt;     /* minor page faults */
};

/* /proc/PID/stat: the fields after the command's ")" start with field 3
 * (state); minflt is field 10, utime 14, stime 15 (proc(5)).  These are
 * for the whole process, every thread included. */
static struct proc_sample proc_sample(void)
{
    struct proc_sample s = { 0, 0.0, 0.0, 0 };
#ifdef __linux__
    char path[64], text[1024];
    FILE *f;
    size_t n;
    const char *p;
    int field = 3;
    unsigned long utime = 0, stime = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)g_server_pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return s;
    }
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    p = strrchr(text, ')');
    if (p == NULL) {
        return s;
    }
    p += 2;
    while (*p != '\0' && field <= 15) {
        if (field == 10) {
            s.minflt = strtoul(p, NULL, 10);
        } else if (field == 14) {
            utime = strtoul(p, NULL, 10);
        } else if (field == 15) {
            stime = strtoul(p, NULL, 10);
        }
        p = strchr(p, ' ');
        if (p == NULL) {
            break;
        }
        p++;
        field++;
    }
    s.cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    s.sys = (double)stime / (double)sysconf(_SC_CLK_TCK);
    s.ok = field > 15;
#endif
    return s;
}

/* VmRSS from /proc/PID/status in KiB, or -1 where there is no /proc. */
static long proc_rss_kb(void)
{
    long kb = -1;
#ifdef __linux__
    char path[64], line[256];
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)g_server_pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
#endif
    return kb;
}

/* ======================================================================
 * Connections and the event loop (epoll on Linux, poll() elsewhere)
 *
 * A client goes CONNECTING -> HANDSHAKE (request sent, waiting for the
 * 101) -> OPEN (waiting for Engine.IO's open packet) -> CONNECT (sent
 * "40") -> JOIN (sent 'create or join') -> JOINED.
 * ====================================================================== */

enum conn_state { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CONNECT, S_JOIN, S_JOINED, S_CLOSED };

struct conn {
    int fd;
    enum conn_state state;
    int want_out;             /* registered for writability */
    int dirty;                /* on the flush list for this turn */
    size_t slot;              /* poll(): index in the pollfd array */
    struct buf in;            /* a partial frame left from the last read */
    struct buf out;           /* frames not yet written */
    char accept[32];          /* the Sec-WebSocket-Accept we expect */
    char room[32];
    long pair;                /* messages carry it; unique in the run */
    int side;                 /* 0 or 1 in its pair */
    struct conn *peer;
    char joined_as;           /* 'c' created, 'j' joined, 0 not yet */
    int close_when_paired;    /* joins scenario: close once both have joined */
    int solo;                 /* alone in its room on purpose */
    unsigned long sent;       /* messages sent */
    unsigned long recvd;      /* peer's messages received = next seq expected */
    unsigned long logs;       /* 'log' events received while joined */
    double t_sent;            /* latency: when the outstanding message left */
    struct conn *next_dirty;
};

static struct conn **g_conns;         /* every connection of the run */
static size_t g_conn_count, g_conn_cap;
static size_t g_in_progress;          /* not yet joined */
static size_t g_joined;               /* joined and still open */
static struct conn *g_dirty;          /* to top up and flush at turn end */

#ifdef __linux__
static int g_epoll = -1;
#else
static struct pollfd *g_pfds;
static struct conn **g_pconn;
static size_t g_pcount, g_pcap;
#endif

static void ev_add(struct conn *c)
{
#ifdef __linux__
    struct epoll_event e;
    if (g_epoll < 0 && (g_epoll = epoll_create1(0)) < 0) {
        die("epoll_create1: %s", strerror(errno));
    }
    e.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
    e.data.ptr = c;
    if (epoll_ctl(g_epoll, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        die("epoll_ctl: %s", strerror(errno));
    }
#else
    if (g_pcount == g_pcap) {
        g_pcap = g_pcap ? g_pcap * 2 : 1024;
        g_pfds = realloc(g_pfds, g_pcap * sizeof *g_pfds);
        g_pconn = realloc(g_pconn, g_pcap * sizeof *g_pconn);
        if (g_pfds == NULL || g_pconn == NULL) {
            die("out of memory");
        }
    }
    c->slot = g_pcount++;
    g_pfds[c->slot].fd = c->fd;
    g_pfds[c->slot].events = POLLIN | (c->want_out ? POLLOUT : 0);
    g_pconn[c->slot] = c;
#endif
}

static void ev_want_out(struct conn *c, int on)
{
    if (c->want_out == on) {
        return;
    }
    c->want_out = on;
#ifdef __linux__
    {
        struct epoll_event e;
        e.events = EPOLLIN | (on ? EPOLLOUT : 0);
        e.data.ptr = c;
        epoll_ctl(g_epoll, EPOLL_CTL_MOD, c->fd, &e);
    }
#else
    g_pfds[c->slot].events = POLLIN | (on ? POLLOUT : 0);
#endif
}

static void ev_remove(struct conn *c)
{
#ifdef __linux__
    epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, NULL);
#else
    size_t last = --g_pcount;
    g_pfds[c->slot] = g_pfds[last];
    g_pconn[c->slot] = g_pconn[last];
    g_pconn[c->slot]->slot = c->slot;
#endif
}

struct ready {
    struct conn *c;
    int in, out;
};

/* Waits up to timeout_ms; fills ready[] and returns how many. */
static int ev_wait(struct ready *ready, int timeout_ms)
{
    int n = 0;
#ifdef __linux__
    static struct epoll_event evs[READY_MAX];
    int i, got;
    if (g_epoll < 0) {
        struct timespec ts = { 0, (long)timeout_ms * 1000000L };
        nanosleep(&ts, NULL);
        return 0;
    }
    got = epoll_wait(g_epoll, evs, READY_MAX, timeout_ms);
    for (i = 0; i < got; i++) {
        ready[n].c = evs[i].data.ptr;
        ready[n].in = (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
        ready[n].out = (evs[i].events & (EPOLLOUT | EPOLLERR)) != 0;
        n++;
    }
#else
    size_t i;
    if (poll(g_pfds, (nfds_t)g_pcount, timeout_ms) <= 0) {
        return 0;
    }
    for (i = 0; i < g_pcount && n < READY_MAX; i++) {
        short r = g_pfds[i].revents;
        if (r == 0) {
            continue;
        }
        ready[n].c = g_pconn[i];
        ready[n].in = (r & (POLLIN | POLLHUP | POLLERR)) != 0;
        ready[n].out = (r & (POLLOUT | POLLERR)) != 0;
        n++;
    }
#endif
    return n;
}

static void mark_dirty(struct conn *c)
{
    if (!c->dirty && c->state != S_CLOSED) {
        c->dirty = 1;
        c->next_dirty = g_dirty;
        g_dirty = c;
    }
}

/* Closes at once with a reset (SO_LINGER 0): no TIME_WAIT, so thousands
 * of joins a second do not run out of local ports. */
static void conn_close(struct conn *c)
{
    struct linger lg = { 1, 0 };
    if (c->state == S_CLOSED) {
        return;
    }
    if (c->state == S_JOINED) {
        g_joined--;
    } else {
        g_in_progress--;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ev_remove(c);
    close(c->fd);
    c->state = S_CLOSED;
    buf_free(&c->in);
    buf_free(&c->out);
}

static void conn_fail(struct conn *c, const char *what)
{
    error("client (pair %ld side %d, room %s): %s", c->pair, c->side, c->room, what);
    conn_close(c);
}

/* Writes what the socket takes; the rest waits for writability. */
static void conn_flush(struct conn *c)
{
    while (c->out.len > 0) {
        ssize_t n = write(c->fd, c->out.p, c->out.len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            conn_fail(c, strerror(errno));
            return;
        }
        buf_consume(&c->out, (size_t)n);
    }
    ev_want_out(c, c->out.len > 0);
}

/* ======================================================================
 * WebSocket frames (RFC 6455 §5) and the Engine.IO / Socket.IO text
 * ====================================================================== */

/* Queues one masked frame, FIN set (§5.2, §5.3: a client masks every
 * frame with a fresh unpredictable key). */
static void ws_send(struct conn *c, int opcode, const char *payload, size_t n)
{
    unsigned char *h;
    unsigned char key[4];
    uint32_t k = (uint32_t)rng_next();
    uint64_t k8;
    size_t head = 2 + 4 + (n < 126 ? 0 : n < 65536 ? 2 : 8);
    size_t i;
    buf_reserve(&c->out, head + n);
    h = (unsigned char *)c->out.p + c->out.len;
    h[0] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        h[1] = (unsigned char)(0x80 | n);
        h += 2;
    } else if (n < 65536) {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(n >> 8);
        h[3] = (unsigned char)n;
        h += 4;
    } else {
        h[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) {
            h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
        }
        h += 10;
    }
    memcpy(key, &k, 4);
    memcpy(h, key, 4);
    h += 4;
    /* Eight bytes at a time: the key twice over, in memory order. */
    k8 = (uint64_t)k << 32 | k;
    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, payload + i, 8);
        w ^= k8;
        memcpy(h + i, &w, 8);
    }
    for (; i < n; i++) {
        h[i] = (unsigned char)payload[i] ^ key[i & 3];
    }
    c->out.len += head + n;
    mark_dirty(c);
}

static void ws_send_text(struct conn *c, const char *text)
{
    ws_send(c, 1, text, strlen(text));
}

/* The upgrade request, with a fresh random key; remembers the accept
 * value the server must answer with (§4.2.2). */
static void ws_start_handshake(struct conn *c)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char raw[16], digest[20];
    char key[32], keyed[96], req[512];
    uint64_t r1 = rng_next(), r2 = rng_next();
    int n;
    memcpy(raw, &r1, 8);
    memcpy(raw + 8, &r2, 8);
    base64_encode(raw, 16, key);
    snprintf(keyed, sizeof keyed, "%s%s", key, guid);
    sha1_short(keyed, strlen(keyed), digest);
    base64_encode(digest, 20, c->accept);
    n = snprintf(req, sizeof req,
                 "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                 "Host: 127.0.0.1:%d\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n", g_port, key);
    buf_add(&c->out, req, (size_t)n);
    c->state = S_HANDSHAKE;
    mark_dirty(c);
}

/* The 101's head: status and the accept value.  Returns bytes used, 0 if
 * the head is not complete yet, -1 after failing the connection. */
static long ws_read_handshake(struct conn *c, const char *p, size_t n)
{
    const char *end = NULL, *line;
    size_t i;
    int accept_ok = 0;
    for (i = 3; i < n; i++) {
        if (memcmp(p + i - 3, "\r\n\r\n", 4) == 0) {
            end = p + i + 1;
            break;
        }
    }
    if (end == NULL) {
        if (n > 8192) {
            conn_fail(c, "handshake response head over 8 KiB");
            return -1;
        }
        return 0;
    }
    if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
        conn_fail(c, "handshake not answered with 101");
        return -1;
    }
    for (line = p; line < end; ) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t len = (size_t)(eol - line);
        if (len > 21 && strncasecmp(line, "Sec-WebSocket-Accept:", 21) == 0) {
            const char *v = line + 21;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            accept_ok = strncmp(v, c->accept, 28) == 0 && (v[28] == '\r' || v[28] == ' ');
        }
        line = eol + 1;
    }
    if (!accept_ok) {
        conn_fail(c, "Sec-WebSocket-Accept missing or wrong");
        return -1;
    }
    c->state = S_OPEN;
    return (long)(end - p);
}

/* ======================================================================
 * The relayed message: pair, side, sequence number, then fixed bytes
 * ====================================================================== */

/* What follows the numbers; with them, about 250 bytes: the size of a
 * typical ICE candidate as the chapter's page sends it. */
static const char msg_tail[] =
    ",\"type\":\"candidate\",\"label\":0,\"id\":\"0\",\"candidate\":"
    "\"candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host "
    "generation 0 ufrag 7dKX network-id 1 network-cost 10 "
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]";

enum mode { M_NONE, M_RELAY, M_LATENCY };

static enum mode g_mode;
static int g_sending;                 /* relay/latency: new messages allowed */
static unsigned long g_window = 64;   /* per pair: half each way */
static unsigned long g_delivered;     /* checked messages received */
static unsigned long g_pongs;         /* Engine.IO pings answered */
static int g_expect_logs;             /* -L: the server logs every message back */
static double *g_rtt;                 /* latency samples, seconds */
static size_t g_rtt_count, g_rtt_cap;
static int g_rtt_on;
static unsigned long g_pairs_done;    /* joins: pairs both in, then closed */

static char *put_ulong(char *p, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}

static void send_message(struct conn *c)
{
    char text[512];
    char *p = text;
    memcpy(p, "42[\"message\",{\"pair\":", 21);
    p = put_ulong(p + 21, (unsigned long)c->pair);
    memcpy(p, ",\"from\":", 8);
    p = put_ulong(p + 8, (unsigned long)c->side);
    memcpy(p, ",\"seq\":", 7);
    p = put_ulong(p + 7, c->sent);
    memcpy(p, msg_tail, sizeof msg_tail - 1);
    p += sizeof msg_tail - 1;
    c->sent++;
    ws_send(c, 1, text, (size_t)(p - text));
}

/* Reads "KEY" digits at *p; advances past them.  -1 if absent. */
static long read_field(const char **p, const char *end, const char *key)
{
    size_t k = strlen(key);
    long v = 0;
    const char *q = *p;
    if ((size_t)(end - q) < k + 1 || memcmp(q, key, k) != 0) {
        return -1;
    }
    q += k;
    if (q >= end || *q < '0' || *q > '9') {
        return -1;
    }
    while (q < end && *q >= '0' && *q <= '9') {
        v = v * 10 + (*q - '0');
        q++;
    }
    *p = q;
    return v;
}

static void relay_top_up(struct conn *c)
{
    unsigned long half = g_window / 2;
    if (c->peer == NULL || c->peer->state != S_JOINED) {
        return;
    }
    while (c->sent - c->peer->recvd < half) {
        send_message(c);
    }
}

/* 42["message",{...}] arrived at c: it must be its peer's next one. */
static void on_message(struct conn *c, const char *p, size_t n)
{
    const char *end = p + n;
    const char *q = p + 13;   /* after 42["message", */
    long pair, from, seq;
    pair = read_field(&q, end, "{\"pair\":");
    from = read_field(&q, end, ",\"from\":");
    seq = read_field(&q, end, ",\"seq\":");
    if (pair < 0 || from < 0 || seq < 0) {
        error("pair %ld side %d: a message not from this generator: %.60s", c->pair, c->side, p);
        return;
    }
    if ((size_t)(end - q) != sizeof msg_tail - 1 || memcmp(q, msg_tail, sizeof msg_tail - 1) != 0) {
        error("pair %ld side %d: message %ld altered in transit", c->pair, c->side, seq);
    }
    if (pair != c->pair || from != 1 - c->side) {
        error("misdelivery: pair %ld side %d got a message of pair %ld side %ld", c->pair, c->side,
              pair, from);
        return;
    }
    if ((unsigned long)seq != c->recvd) {
        error("pair %ld side %d: expected message %lu, got %ld (%s)", c->pair, c->side, c->recvd,
              seq, (unsigned long)seq < c->recvd ? "duplicate" : "lost messages");
        if ((unsigned long)seq < c->recvd) {
            return;
        }
    }
    c->recvd = (unsigned long)seq + 1;
    g_delivered++;
    if (g_mode == M_RELAY && g_sending) {
        mark_dirty(c->peer);      /* its window has room again */
    } else if (g_mode == M_LATENCY && c->side == 1) {
        send_message(c);          /* the pong, even while draining */
    } else if (g_mode == M_LATENCY && c->side == 0) {
        double t = now();
        if (g_rtt_on) {
            if (g_rtt_count == g_rtt_cap) {
                g_rtt_cap = g_rtt_cap ? g_rtt_cap * 2 : 65536;
                g_rtt = realloc(g_rtt, g_rtt_cap * sizeof *g_rtt);
                if (g_rtt == NULL) {
                    die("out of memory");
                }
            }
            g_rtt[g_rtt_count++] = t - c->t_sent;
        }
        if (g_sending) {
            c->t_sent = t;
            send_message(c);
        }
    }
}

static void on_joined(struct conn *c, char how)
{
    struct conn *peer = c->peer;
    c->joined_as = how;
    c->state = S_JOINED;
    g_in_progress--;
    g_joined++;
    if (c->solo) {
        if (how != 'c') {
            conn_fail(c, "joined a room that should have been empty");
        }
        return;
    }
    if (peer == NULL || peer->joined_as == 0) {
        return;
    }
    if (peer->joined_as == how) {
        error("room %s: both clients were told '%s'", c->room, how == 'c' ? "created" : "joined");
    }
    if (c->close_when_paired) {
        g_pairs_done++;
        conn_close(c);
        conn_close(peer);
    }
}

/* Is s somewhere in the n bytes at p? */
static int contains(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s), i;
    for (i = 0; i + k <= n; i++) {
        if (memcmp(p + i, s, k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Does the Socket.IO event text start with this event name? */
static int is_event(const char *p, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n >= k + 5 && memcmp(p, "42[\"", 4) == 0 && memcmp(p + 4, name, k) == 0 &&
           p[4 + k] == '"' && (p[5 + k] == ',' || p[5 + k] == ']');
}

/* One text message from the server: Engine.IO packet, Socket.IO inside. */
static void on_text(struct conn *c, const char *p, size_t n)
{
    if (n == 1 && p[0] == '2') {
        ws_send(c, 1, "3", 1);     /* Engine.IO ping -> pong */
        g_pongs++;
    } else if (c->state == S_OPEN) {
        if (n < 2 || p[0] != '0' || p[1] != '{' || !contains(p, n, "\"sid\"")) {
            conn_fail(c, "expected the Engine.IO open packet");
            return;
        }
        ws_send_text(c, "40");
        c->state = S_CONNECT;
    } else if (c->state == S_CONNECT) {
        char ev[128];
        if (n < 9 || memcmp(p, "40{\"sid\":", 9) != 0) {
            conn_fail(c, "expected 40{\"sid\":...} after CONNECT");
            return;
        }
        snprintf(ev, sizeof ev, "42[\"create or join\",\"%s\"]", c->room);
        ws_send_text(c, ev);
        c->state = S_JOIN;
    } else if (is_event(p, n, "log")) {
        if (c->state == S_JOINED) {
            c->logs++;
        }
    } else if (c->state == S_JOIN && is_event(p, n, "created")) {
        on_joined(c, 'c');
    } else if (c->state == S_JOIN && is_event(p, n, "joined")) {
        on_joined(c, 'j');
    } else if (c->state == S_JOINED && is_event(p, n, "message")) {
        on_message(c, p, n);
    } else if (is_event(p, n, "join") || is_event(p, n, "ready")) {
        return;   /* the room's news; nothing to do */
    } else {
        char what[120];
        snprintf(what, sizeof what, "unexpected packet: %.80s", p);
        conn_fail(c, what);
    }
}

/* Every whole frame in p[0..n); returns the bytes used.  The server's
 * frames are whole (FIN) and unmasked (§5.1); anything else is an error. */
static size_t ws_read_frames(struct conn *c, const char *p, size_t n)
{
    size_t used = 0;
    while (c->state != S_CLOSED && n - used >= 2) {
        const unsigned char *h = (const unsigned char *)p + used;
        size_t avail = n - used, head = 2, i;
        uint64_t len = h[1] & 0x7f;
        int opcode = h[0] & 0x0f;
        const char *payload;
        if ((h[0] & 0x70) != 0 || (h[0] & 0x80) == 0 || (h[1] & 0x80) != 0) {
            conn_fail(c, "a server frame with RSV bits, without FIN, or masked");
            break;
        }
        if (len == 126) {
            if (avail < 4) {
                break;
            }
            len = (uint64_t)h[2] << 8 | h[3];
            head = 4;
        } else if (len == 127) {
            if (avail < 10) {
                break;
            }
            for (len = 0, i = 0; i < 8; i++) {
                len = len << 8 | h[2 + i];
            }
            head = 10;
        }
        if (len > 16 * 1024 * 1024) {
            conn_fail(c, "a server frame over 16 MiB");
            break;
        }
        if (avail - head < len) {
            break;
        }
        payload = p + used + head;
        used += head + (size_t)len;
        if (opcode == 1) {
            on_text(c, payload, (size_t)len);
        } else if (opcode == 9) {
            ws_send(c, 10, payload, (size_t)len);   /* ping -> pong */
        } else if (opcode == 8) {
            conn_fail(c, "the server sent a WebSocket close");
        } else if (opcode != 10) {
            conn_fail(c, "an unexpected frame opcode");
        }
    }
    return used;
}

static size_t conn_parse(struct conn *c, const char *p, size_t n)
{
    size_t used = 0;
    if (c->state == S_HANDSHAKE) {
        long h = ws_read_handshake(c, p, n);
        if (h <= 0) {
            return 0;
        }
        used = (size_t)h;
    }
    return used + ws_read_frames(c, p + used, n - used);
}

/* One read into a scratch buffer shared by every connection; only a
 * partial frame's bytes are kept in the connection's own buffer. */
static void on_readable(struct conn *c)
{
    static char scratch[READ_SCRATCH];
    const char *data = scratch;
    size_t len, used;
    ssize_t n = read(c->fd, scratch, sizeof scratch);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        conn_fail(c, n == 0 ? "the server closed the connection" : strerror(errno));
        return;
    }
    len = (size_t)n;
    if (c->in.len > 0) {
        buf_add(&c->in, scratch, len);
        data = c->in.p;
        len = c->in.len;
    }
    used = conn_parse(c, data, len);
    if (c->state == S_CLOSED) {
        return;
    }
    if (data == scratch) {
        buf_add(&c->in, scratch + used, len - used);
    } else {
        buf_consume(&c->in, used);
    }
}

static void on_writable(struct conn *c)
{
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err != 0) {
            conn_fail(c, strerror(err));
            return;
        }
        ws_start_handshake(c);
        return;
    }
    conn_flush(c);
}

static long g_next_pair;

static struct conn *conn_open(long pair, int side)
{
    struct conn *c = calloc(1, sizeof *c);
    struct sockaddr_in a;
    int one = 1;
    if (c == NULL) {
        die("out of memory");
    }
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) {
        die("socket: %s (is ulimit -n high enough?)", strerror(errno));
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->pair = pair;
    c->side = side;
    snprintf(c->room, sizeof c->room, "r%ld", pair);
    if (g_conn_count == g_conn_cap) {
        g_conn_cap = g_conn_cap ? g_conn_cap * 2 : 1024;
        g_conns = realloc(g_conns, g_conn_cap * sizeof *g_conns);
        if (g_conns == NULL) {
            die("out of memory");
        }
    }
    g_conns[g_conn_count++] = c;
    g_in_progress++;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->state = S_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0) {
        ev_add(c);
        ws_start_handshake(c);
    } else if (errno == EINPROGRESS) {
        c->want_out = 1;
        ev_add(c);
    } else {
        ev_add(c);
        conn_fail(c, strerror(errno));
    }
    return c;
}

/* Two clients of one new room, each the other's peer. */
static void open_pair(struct conn **a, struct conn **b)
{
    long pair = g_next_pair++;
    *a = conn_open(pair, 0);
    *b = conn_open(pair, 1);
    (*a)->peer = *b;
    (*b)->peer = *a;
}

/* Top up (relay) and write every connection that has something new. */
static void flush_dirty(void)
{
    while (g_dirty != NULL) {
        struct conn *c = g_dirty;
        g_dirty = c->next_dirty;
        if (c->state == S_CLOSED) {
            c->dirty = 0;
            continue;
        }
        if (g_mode == M_RELAY && g_sending && c->state == S_JOINED) {
            relay_top_up(c);
        }
        conn_flush(c);
        c->dirty = 0;
    }
}

static void loop_turn(int timeout_ms)
{
    static struct ready ready[READY_MAX];
    int n = ev_wait(ready, timeout_ms);
    int i;
    for (i = 0; i < n; i++) {
        struct conn *c = ready[i].c;
        if (c->state != S_CLOSED && ready[i].out) {
            on_writable(c);
        }
        if (c->state != S_CLOSED && ready[i].in) {
            on_readable(c);
        }
    }
    flush_dirty();
}

static void loop_for(double seconds)
{
    double end = now() + seconds;
    while (now() < end) {
        loop_turn(5);
    }
}

/* ======================================================================
 * Scenarios
 * ====================================================================== */

static size_t g_inflight = 100;      /* clients joining at once */
static double g_warm = -1;           /* -W: warm-up seconds, not measured */

/* Opens n clients (two per room, or one each if solo), at most
 * g_inflight joining at once; returns when all have joined. */
static struct conn **open_clients(size_t n, int solo)
{
    struct conn **list = calloc(n + 1, sizeof *list);
    size_t opened = 0;
    double start = now(), limit = start + 30.0 + (double)n / 200.0;
    if (list == NULL) {
        die("out of memory");
    }
    while (opened < n || g_in_progress > 0) {
        while (opened < n && g_in_progress < g_inflight) {
            if (solo) {
                list[opened] = conn_open(g_next_pair++, 0);
                list[opened++]->solo = 1;
            } else {
                open_pair(&list[opened], &list[opened + 1]);
                opened += 2;
            }
        }
        loop_turn(5);
        if (now() > limit) {
            die("only %lu of %lu clients joined in %.0f s", (unsigned long)g_joined,
                (unsigned long)n, limit - start);
        }
    }
    fprintf(stderr, "load: %lu clients joined in %.2f s\n", (unsigned long)n, now() - start);
    return list;
}

static void result(const char *name, const char *fmt, double v, int ok)
{
    printf("RESULT %s ", name);
    if (ok) {
        printf(fmt, v);
    } else {
        printf("n/a");
    }
    printf("\n");
    fflush(stdout);
}

/* a and f: pairs of clients join new rooms, g_inflight at once; each pair
 * is closed once both are in.  With held > 0, that many other clients
 * first create a room each and stay (f). */

static void scenario_joins(double duration, size_t held)
{
    struct conn **hold = NULL;
    struct proc_sample s0 = { 0, 0.0, 0.0, 0 }, s1;
    double t0, end, elapsed, warm = g_warm >= 0 ? g_warm : duration * 0.5 < 1.0 ? duration * 0.5 : 1.0;
    unsigned long done;
    int measuring = 0;
    size_t i;
    if (held > 0) {
        hold = open_clients(held, 1);
    }
    t0 = now();
    end = t0 + warm + duration;
    while (now() < end) {
        if (!measuring && now() >= t0 + warm) {
            measuring = 1;     /* warmed up (a JIT has compiled its paths) */
            s0 = proc_sample();
            g_pairs_done = 0;
            t0 = now();
        }
        while (g_in_progress < g_inflight) {
            struct conn *a, *b;
            open_pair(&a, &b);
            a->close_when_paired = b->close_when_paired = 1;
        }
        loop_turn(1);
    }
    done = g_pairs_done;
    s1 = proc_sample();
    elapsed = now() - t0;
    while (g_in_progress > 0 && now() < end + DRAIN_SECONDS) {
        loop_turn(5);
    }
    if (g_in_progress > 0) {
        error("%lu clients never finished joining", (unsigned long)g_in_progress);
    }
    for (i = 0; i < held; i++) {
        if (hold[i]->state != S_JOINED) {
            error("a client holding room %s was dropped", hold[i]->room);
        }
    }
    fprintf(stderr, "load: %lu joins in %.2f s with %lu rooms held: %.0f joins/s, "
            "server CPU %.1f us/join\n", done * 2, elapsed, (unsigned long)held,
            (double)done * 2 / elapsed, (s1.cpu - s0.cpu) * 1e6 / (double)(done ? done * 2 : 1));
    result("joins_per_s", "%.0f", (double)done * 2 / elapsed, 1);
    result("cpu_us_per_join", "%.1f", (s1.cpu - s0.cpu) * 1e6 / (double)(done * 2),
           s0.ok && s1.ok && done > 0);
    free(hold);
}

/* b: RSS of the fresh server, then with each count of joined clients. */
static void scenario_idle(const size_t *counts, int k)
{
    long base, rss;
    size_t have = 0;
    int i;
    loop_for(0.2);
    base = proc_rss_kb();
    result("rss_base_kb", "%.0f", (double)base, base >= 0);
    for (i = 0; i < k; i++) {
        char name[64];
        free(open_clients(counts[i] - have, 0));
        have = counts[i];
        loop_for(0.5);     /* the last 'ready's, and settling */
        rss = proc_rss_kb();
        if (rss >= 0) {
            fprintf(stderr, "load: %lu idle clients: server RSS %ld KiB (fresh: %ld KiB)\n",
                    (unsigned long)have, rss, base);
        }
        snprintf(name, sizeof name, "rss_per_client_%lu", (unsigned long)have);
        result(name, "%.0f", (double)(rss - base) * 1024.0 / (double)have, base >= 0 && rss >= 0);
    }
}

/* Have all pairs in list[0..n) received everything their peers sent
 * (and, with -L, a log for each message they sent)? */
static int all_delivered(struct conn **list, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        struct conn *c = list[i];
        if (c->state != S_JOINED || c->peer->state != S_JOINED) {
            continue;    /* already an error */
        }
        if (c->recvd != c->peer->sent || (g_expect_logs && c->logs != c->sent)) {
            return 0;
        }
    }
    return 1;
}

static void check_delivered(struct conn **list, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        struct conn *c = list[i];
        if (c->state != S_JOINED) {
            error("pair %ld side %d: dropped during the run", c->pair, c->side);
            continue;
        }
        if (c->peer->state == S_JOINED && c->recvd != c->peer->sent) {
            error("pair %ld side %d: received %lu of its peer's %lu messages", c->pair, c->side,
                  c->recvd, c->peer->sent);
        }
        if (g_expect_logs && c->logs != c->sent) {
            error("pair %ld side %d: %lu logs for %lu messages sent", c->pair, c->side, c->logs,
                  c->sent);
        }
    }
}

static void drain(struct conn **list, size_t n)
{
    double limit = now() + DRAIN_SECONDS;
    g_sending = 0;
    while (!all_delivered(list, n) && now() < limit) {
        loop_turn(5);
    }
    check_delivered(list, n);
}

/* c and e: pairs relay with g_window messages in flight per pair; with
 * idle > 0, that many joined clients sit beside them (e). */
static void scenario_relay(size_t pairs, size_t idle, double duration)
{
    struct conn **idlers = NULL, **list;
    struct proc_sample s0, s1;
    unsigned long d0, d1;
    double t1, t2, rate, warm = g_warm >= 0 ? g_warm : duration * 0.2 < 0.5 ? duration * 0.2 : 0.5;
    size_t i;
    if (idle > 0) {
        idlers = open_clients(idle, 0);
    }
    list = open_clients(2 * pairs, 0);
    loop_for(0.1);
    g_mode = M_RELAY;
    g_sending = 1;
    for (i = 0; i < 2 * pairs; i++) {
        mark_dirty(list[i]);
    }
    flush_dirty();
    loop_for(warm);
    s0 = proc_sample();
    d0 = g_delivered;
    t1 = now();
    loop_for(duration);
    s1 = proc_sample();
    d1 = g_delivered;
    t2 = now();
    drain(list, 2 * pairs);
    for (i = 0; i < idle; i++) {
        if (idlers[i]->state != S_JOINED) {
            error("an idle client of room %s was dropped", idlers[i]->room);
        }
    }
    rate = (double)(d1 - d0) / (t2 - t1);
    fprintf(stderr, "load: %lu pairs (%lu idle beside): %.0f messages/s, %lu delivered in all\n",
            (unsigned long)pairs, (unsigned long)idle, rate, g_delivered);
    if (s0.ok && s1.ok && d1 > d0) {
        fprintf(stderr, "load: server CPU %.3f us/message (%.3f of it in the kernel), "
                "%.4f minor faults/message\n", (s1.cpu - s0.cpu) * 1e6 / (double)(d1 - d0),
                (s1.sys - s0.sys) * 1e6 / (double)(d1 - d0),
                (double)(s1.minflt - s0.minflt) / (double)(d1 - d0));
    }
    result("msgs_per_s", "%.0f", rate, 1);
    result("cpu_us_per_msg", "%.3f", (s1.cpu - s0.cpu) * 1e6 / (double)(d1 - d0),
           s0.ok && s1.ok && d1 > d0);
    result("sys_us_per_msg", "%.3f", (s1.sys - s0.sys) * 1e6 / (double)(d1 - d0),
           s0.ok && s1.ok && d1 > d0);
    result("faults_per_msg", "%.4f", (double)(s1.minflt - s0.minflt) / (double)(d1 - d0),
           s0.ok && s1.ok && d1 > d0);
    free(idlers);
    free(list);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* d: each pair has one message going round at a time. */
static void scenario_latency(size_t pairs, double duration)
{
    struct conn **list = open_clients(2 * pairs, 0);
    double t0;
    size_t i, n;
    loop_for(0.1);
    g_mode = M_LATENCY;
    g_sending = 1;
    t0 = now();
    for (i = 0; i < 2 * pairs; i += 2) {
        list[i]->t_sent = t0;
        send_message(list[i]);
    }
    flush_dirty();
    loop_for(duration * 0.2 < 0.2 ? duration * 0.2 : 0.2);
    g_rtt_on = 1;
    loop_for(duration);
    g_rtt_on = 0;
    drain(list, 2 * pairs);
    n = g_rtt_count;
    if (n == 0) {
        die("no round trip completed");
    }
    qsort(g_rtt, n, sizeof *g_rtt, cmp_double);
    fprintf(stderr, "load: %lu pairs, %lu round trips: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
            (unsigned long)pairs, (unsigned long)n, g_rtt[n / 2] * 1e3,
            g_rtt[(size_t)((double)n * 0.99)] * 1e3, g_rtt[n - 1] * 1e3);
    result("p50_ms", "%.3f", g_rtt[n / 2] * 1e3, 1);
    result("p99_ms", "%.3f", g_rtt[(size_t)((double)n * 0.99)] * 1e3, 1);
    result("max_ms", "%.3f", g_rtt[n - 1] * 1e3, 1);
    free(list);
}

/* g: fork+exec to the first byte of the answer to GET /, repeated. */
static void scenario_start(int reps)
{
    double *t = calloc((size_t)reps, sizeof *t);
    int i;
    if (t == NULL) {
        die("out of memory");
    }
    for (i = 0; i < reps; i++) {
        static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        struct sockaddr_in a;
        struct pollfd p;
        char byte;
        double t0 = start_server();
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)g_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
            die("GET /: %s", strerror(errno));
        }
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 10000) != 1 || read(fd, &byte, 1) != 1) {
            die("GET /: no answer within 10 s");
        }
        t[i] = now() - t0;
        close(fd);
        stop_server();
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    fprintf(stderr, "load: start to first byte of GET /: median %.2f ms, min %.2f, max %.2f (%d runs)\n",
            t[reps / 2] * 1e3, t[0] * 1e3, t[reps - 1] * 1e3, reps);
    result("start_ms", "%.2f", t[reps / 2] * 1e3, 1);
    free(t);
}

/* ======================================================================
 * main
 * ====================================================================== */

static void usage(void)
{
    fprintf(stderr,
            "usage: load -x SCENARIO [options] -- SERVER-COMMAND...\n"
            "  -x joins|idle|relay|latency|start\n"
            "  -d SECONDS   measuring time (default 3)\n"
            "  -P PAIRS     relay, latency: room pairs (default 100)\n"
            "  -I N[,N...]  idle: client counts to measure; relay: idle clients beside\n"
            "  -H N         joins: rooms held by other clients (scenario f)\n"
            "  -w N         relay: messages in flight per pair, half each way (default 64)\n"
            "  -j N         clients joining at once (default 100)\n"
            "  -n N         start: runs, the median is reported (default 5)\n"
            "  -L           relay: the server logs every message back to its sender\n"
            "  -W SECONDS   joins, relay: warm-up before measuring (default: a fifth\n"
            "               of -d up to 0.5 s for relay, half up to 1 s for joins)\n");
    exit(2);
}

/* Enough descriptors for 10,000+ clients: the soft limit up to the hard. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < 10400) {
        fprintf(stderr, "load: note: %lu descriptors (ulimit -n); 10,000-client scenarios "
                "need about 10,300 here and in the server\n", (unsigned long)rl.rlim_cur);
    }
}

int main(int argc, char **argv)
{
    const char *scenario = NULL;
    double duration = 3.0;
    size_t pairs = 100, held = 0, counts[8];
    int ncounts = 0, reps = 5, opt;
    while ((opt = getopt(argc, argv, "x:d:P:I:H:w:j:n:LW:")) != -1) {
        if (opt == 'x') {
            scenario = optarg;
        } else if (opt == 'd') {
            duration = atof(optarg);
        } else if (opt == 'P') {
            pairs = (size_t)atol(optarg);
        } else if (opt == 'I') {
            char *s = optarg;
            while (*s != '\0' && ncounts < 8) {
                counts[ncounts++] = (size_t)strtoul(s, &s, 10) & ~(size_t)1;  /* even */
                s += *s == ',';
            }
        } else if (opt == 'H') {
            held = (size_t)atol(optarg);
        } else if (opt == 'w') {
            g_window = (unsigned long)atol(optarg);
        } else if (opt == 'j') {
            g_inflight = (size_t)atol(optarg);
        } else if (opt == 'n') {
            reps = atoi(optarg);
        } else if (opt == 'W') {
            g_warm = atof(optarg);
        } else if (opt == 'L') {
            g_expect_logs = 1;
        } else {
            usage();
        }
    }
    if (scenario == NULL || optind >= argc || duration <= 0 || reps < 1 || g_window < 2 ||
        g_inflight < 2) {
        usage();
    }
    g_server_argv = argv + optind;
    signal(SIGPIPE, SIG_IGN);
    rng_seed();
    raise_fd_limit();
    if (strcmp(scenario, "start") == 0) {
        scenario_start(reps);
    } else {
        start_server();
        if (strcmp(scenario, "joins") == 0) {
            scenario_joins(duration, held);
        } else if (strcmp(scenario, "idle") == 0 && ncounts > 0) {
            scenario_idle(counts, ncounts);
        } else if (strcmp(scenario, "relay") == 0 && pairs > 0) {
            scenario_relay(pairs, ncounts > 0 ? counts[0] : 0, duration);
        } else if (strcmp(scenario, "latency") == 0 && pairs > 0) {
            scenario_latency(pairs, duration);
        } else {
            stop_server();
            usage();
        }
        stop_server();
    }
    fprintf(stderr, "load: %s: %lu messages checked, %lu pings answered, %lu errors\n", scenario,
            g_delivered, g_pongs, g_errors);
    printf("RESULT errors %lu\n", g_errors);
    return g_errors > 0 ? 1 : 0;
}
