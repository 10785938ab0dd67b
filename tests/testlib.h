/* testlib.h -- what every integration test of signal.c needs: start the
 * server on a free port, talk raw TCP, HTTP, WebSocket and Socket.IO to it,
 * and count results.  Header-only (static functions) so each suite is one
 * `cc tests/foo_test.c` away.  Every wait has a timeout: a hung server makes
 * a test fail, never the suite hang. */
#ifndef TESTLIB_H
#define TESTLIB_H

#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#define _DARWIN_C_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_TIMEOUT_MS 3000
/* Starting and stopping may take long under valgrind: */
#define T_START_STOP_MS 20000

#include "check.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ---- files ------------------------------------------------------------- */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "testlib: cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* A fresh temporary folder; the caller removes it with remove_tree(). */
static char *make_temp_dir(void)
{
    static char tmpl[64];
    strcpy(tmpl, "/tmp/signal-test-XXXXXX");
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return tmpl;
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "testlib: could not remove %s\n", dir);
    }
}

/* ---- the server under test --------------------------------------------- */

struct server {
    pid_t pid;
    int port;
    char stderr_path[128];
};

/* When non-zero, the next servers start with this many file descriptors
 * at most (soft and hard limit), to test running out of them. */
static rlim_t t_server_fd_limit;

/* Starts `SIGNAL_BIN` (default ./signal) with "-p 0" and the given extra
 * arguments (NULL-terminated), waits for the banner line on its stdout and
 * reads the port from it.  stderr goes to a temporary file. */
static int server_start(struct server *s, const char *arg, ...)
{
    const char *argv[32];
    int argc = 0;
    int out[2];
    const char *bin = getenv("SIGNAL_BIN") ? getenv("SIGNAL_BIN") : "./signal";
    va_list ap;
    char line[512];
    size_t len = 0;
    long long deadline;

    argv[argc++] = bin;
    argv[argc++] = "-p";
    argv[argc++] = "0";
    va_start(ap, arg);
    while (arg != NULL && argc < 30) {
        argv[argc++] = arg;
        arg = va_arg(ap, const char *);
    }
    va_end(ap);
    argv[argc] = NULL;

    snprintf(s->stderr_path, sizeof s->stderr_path, "/tmp/signal-test-stderr-%d-%ld",
             (int)getpid(), (long)now_ms());
    if (pipe(out) != 0) {
        return -1;
    }
    s->pid = fork();
    if (s->pid == 0) {
        int err = open(s->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out[1], 1);
        if (err >= 0) {
            dup2(err, 2);
        }
        close(out[0]);
        if (t_server_fd_limit > 0) {
            struct rlimit rl;
            rl.rlim_cur = t_server_fd_limit;
            rl.rlim_max = t_server_fd_limit;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        execv(bin, (char *const *)argv);
        perror("execv");
        _exit(127);
    }
    close(out[1]);
    deadline = now_ms() + T_START_STOP_MS;
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        struct pollfd p;
        ssize_t r;
        long long left = deadline - now_ms();
        p.fd = out[0];
        p.events = POLLIN;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            break;
        }
        r = read(out[0], line + len, sizeof line - 1 - len);
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
    }
    line[len] = '\0';
    close(out[0]);
    {
        const char *p = strstr(line, "http://");
        const char *colon = p ? strchr(p + 7, ':') : NULL;
        s->port = colon ? atoi(colon + 1) : 0;
    }
    if (s->port <= 0) {
        fprintf(stderr, "testlib: no banner from %s (got \"%s\")\n", bin, line);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    return 0;
}

/* Sends SIGTERM and waits up to within_ms, then SIGKILL; returns the exit
 * status (or -1 if it had to be killed, 128+N if a signal N ended it). */
static int server_stop_within(struct server *s, int within_ms)
{
    int status = 0;
    long long deadline = now_ms() + within_ms;
    kill(s->pid, SIGTERM);
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            unlink(s->stderr_path);
            return -1;
        }
        sleep_ms(5);
    }
    unlink(s->stderr_path);
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

/* The same, with the time valgrind may need to stop. */
static int server_stop(struct server *s)
{
    return server_stop_within(s, T_START_STOP_MS);
}

/* 1 while the server process is still running. */
static int server_alive(struct server *s)
{
    return waitpid(s->pid, NULL, WNOHANG) == 0;
}

/* VmRSS of pid in kB, or -1 where it cannot be measured meaningfully:
 * no /proc (macOS), valgrind (T_SLOW, where pid is the tool) or an
 * AddressSanitizer build (its quarantine keeps freed memory resident). */
static long rss_kb(pid_t pid)
{
    char path[64];
    char line[256];
    long kb = -1;
    FILE *f;
    const char *slow = getenv("T_SLOW");
    const char *bin = getenv("SIGNAL_BIN") ? getenv("SIGNAL_BIN") : "./signal";
    if ((slow != NULL && *slow != '\0' && strcmp(slow, "0") != 0) ||
        strstr(bin, "asan") != NULL || strstr(bin, "valgrind") != NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = atol(line + 6);
        }
    }
    fclose(f);
    return kb;
}

/* CPU time (user + system) that pid has used, in ms, or -1 without /proc. */
static long long cpu_ms(pid_t pid)
{
    char path[64];
    char buf[1024];
    const char *p;
    unsigned long utime;
    unsigned long stime;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
    fclose(f);
    /* After "pid (comm)": state, then 10 fields, then utime and stime. */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) {
        return -1;
    }
    return (long long)(utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

/* Open file descriptors of pid, or -1 without /proc/PID/fd (macOS). */
static int fd_count(pid_t pid)
{
    char path[64];
    char cmd[128];
    FILE *f;
    int n = -1;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    if (access(path, F_OK) != 0) {
        return -1;
    }
    snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | wc -l", path);
    f = popen(cmd, "r");
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%d", &n) != 1) {
        n = -1;
    }
    pclose(f);
    return n;
}

/* ---- raw TCP ----------------------------------------------------------- */

/* When non-zero, the next connections get this SO_RCVBUF (set before
 * connect, so the window is small from the start): a reader that stops. */
static int t_rcvbuf;
/* When non-zero, the next connections announce this MSS (TCP_MAXSEG before
 * connect): small segments keep the server's send buffer small too, so
 * that a reader that stops leaves its bytes in the server's queue. */
static int t_maxseg;

static int tcp_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd >= 0 && t_rcvbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &t_rcvbuf, sizeof t_rcvbuf);
    }
    if (fd >= 0 && t_maxseg > 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &t_maxseg, sizeof t_maxseg);
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, 0);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

/* Waits for readable data and reads once.  Returns bytes read, 0 on EOF,
 * -1 on error or timeout (errno ETIMEDOUT). */
static ssize_t recv_some(int fd, void *buf, size_t cap, int timeout_ms)
{
    struct pollfd p;
    int r;
    p.fd = fd;
    p.events = POLLIN;
    r = poll(&p, 1, timeout_ms);
    if (r <= 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return recv(fd, buf, cap, 0);
}

/* Reads exactly n bytes; 0 on success, -1 on EOF, error or timeout. */
static int recv_exact(int fd, void *buf, size_t n, int timeout_ms)
{
    char *p = buf;
    long long deadline = now_ms() + timeout_ms;
    while (n > 0) {
        long long left = deadline - now_ms();
        ssize_t r;
        if (left <= 0) {
            return -1;
        }
        r = recv_some(fd, p, n, (int)left);
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* 1 if the peer closes (EOF or reset) within timeout_ms, discarding any
 * bytes that arrive first; 0 if it is still open. */
static int wait_closed(int fd, int timeout_ms)
{
    char buf[4096];
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        ssize_t r;
        if (left <= 0) {
            return 0;
        }
        r = recv_some(fd, buf, sizeof buf, (int)left);
        if (r == 0) {
            return 1;
        }
        if (r < 0 && errno != ETIMEDOUT && errno != EINTR) {
            return 1;
        }
        if (r < 0 && errno == ETIMEDOUT) {
            return 0;
        }
    }
}

/* ---- HTTP -------------------------------------------------------------- */

struct http_response {
    int status;
    char head[8192];       /* status line and headers, NUL-terminated */
    char *body;            /* malloc'd, NUL-terminated; free with http_response_free */
    size_t body_len;
};

/* Value of header `name` in r->head (case-insensitive), copied into out;
 * returns 1 if present. */
static int http_header(const struct http_response *r, const char *name, char *out, size_t cap)
{
    const char *line = strstr(r->head, "\r\n");
    size_t nlen = strlen(name);
    while (line != NULL && line[2] != '\0') {
        const char *start = line + 2;
        const char *end = strstr(start, "\r\n");
        if (end == NULL) {
            end = start + strlen(start);
        }
        if ((size_t)(end - start) > nlen && strncasecmp(start, name, nlen) == 0 && start[nlen] == ':') {
            const char *v = start + nlen + 1;
            size_t n;
            while (*v == ' ') {
                v++;
            }
            n = (size_t)(end - v);
            if (n >= cap) {
                n = cap - 1;
            }
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        line = *end ? end : NULL;
    }
    return 0;
}

/* Reads one response: the head, then Content-Length bytes of body (none
 * when head_only, as for HEAD).  Returns 0, or -1 on EOF/timeout/garbage. */
static int http_read_response(int fd, struct http_response *r, int head_only, int timeout_ms)
{
    size_t len = 0;
    char cl[32];
    char *end = NULL;
    size_t want;
    memset(r, 0, sizeof *r);
    /* Read byte by byte up to the blank line, so the body and any pipelined
     * response stay in the socket for the next call. */
    while (len < sizeof r->head - 1) {
        if (recv_exact(fd, r->head + len, 1, timeout_ms) != 0) {
            return -1;
        }
        len++;
        r->head[len] = '\0';
        if (len >= 4 && memcmp(r->head + len - 4, "\r\n\r\n", 4) == 0) {
            end = r->head + len;
            break;
        }
    }
    if (end == NULL || sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1) {
        return -1;
    }
    end[-2] = '\0'; /* keep the last header's CRLF, drop the blank line */
    want = 0;
    if (!head_only && http_header(r, "Content-Length", cl, sizeof cl)) {
        want = (size_t)strtoull(cl, NULL, 10);
    }
    r->body = malloc(want + 1);
    if (r->body == NULL || recv_exact(fd, r->body, want, timeout_ms) != 0) {
        return -1;
    }
    r->body[want] = '\0';
    r->body_len = want;
    return 0;
}

static void http_response_free(struct http_response *r)
{
    free(r->body);
    r->body = NULL;
}

/* One request on a fresh connection: sends `request` verbatim, reads one
 * response.  Returns the status, or -1. */
static int http_request_once(int port, const char *request, struct http_response *r)
{
    int fd = tcp_connect(port);
    int status = -1;
    int head_only = strncmp(request, "HEAD ", 5) == 0;
    if (fd < 0) {
        return -1;
    }
    if (send_str(fd, request) == 0 && http_read_response(fd, r, head_only, T_TIMEOUT_MS) == 0) {
        status = r->status;
    }
    close(fd);
    return status;
}

/* ---- WebSocket client side (RFC 6455) ---------------------------------- */

/* Sends the upgrade request for `path` and reads the 101.  Returns the
 * socket, or -1 (with the status in *status if one came, else 0).  Any
 * bytes after the 101's head stay in the socket. */
static int ws_connect_status(int port, const char *path, int *status)
{
    char req[1024];
    struct http_response r;
    int fd = tcp_connect(port);
    *status = 0;
    if (fd < 0) {
        return -1;
    }
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n", path, port);
    if (send_str(fd, req) != 0) {
        close(fd);
        return -1;
    }
    /* A 101 has no body: read the head only. */
    if (http_read_response(fd, &r, 1, T_TIMEOUT_MS) != 0) {
        close(fd);
        return -1;
    }
    *status = r.status;
    http_response_free(&r);
    if (r.status != 101) {
        close(fd);
        return -1;
    }
    return fd;
}

static int ws_connect(int port, const char *path)
{
    int status;
    return ws_connect_status(port, path, &status);
}

/* Writes one masked client frame (RFC 6455 §5.2) into buf, which must
 * have room for n + 14 bytes; returns the bytes written.  `first_byte` is
 * FIN/RSV/opcode exactly as on the wire (0x81 = FIN + text), so tests can
 * set any bit they like.  The mask key is fixed and non-zero. */
static size_t ws_frame_put(unsigned char *buf, unsigned first_byte, const void *payload, size_t n)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    const unsigned char *p = payload;
    size_t h = 0;
    size_t i;
    buf[h++] = (unsigned char)first_byte;
    if (n < 126) {
        buf[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        buf[h++] = 0x80 | 126;
        buf[h++] = (unsigned char)(n >> 8);
        buf[h++] = (unsigned char)n;
    } else {
        int k;
        buf[h++] = 0x80 | 127;
        for (k = 7; k >= 0; k--) {
            buf[h++] = (unsigned char)((unsigned long long)n >> (8 * k));
        }
    }
    memcpy(buf + h, key, 4);
    h += 4;
    for (i = 0; i < n; i++) {
        buf[h + i] = (unsigned char)(p[i] ^ key[i % 4]);
    }
    return h + n;
}

/* Sends one client frame (see ws_frame_put). */
static int ws_send_frame(int fd, unsigned first_byte, const void *payload, size_t n)
{
    unsigned char *f = malloc(n + 14);
    int r;
    if (f == NULL) {
        return -1;
    }
    r = send_all(fd, f, ws_frame_put(f, first_byte, payload, n));
    free(f);
    return r;
}

static int ws_send_text(int fd, const char *s)
{
    return ws_send_frame(fd, 0x81, s, strlen(s));
}

struct ws_msg {
    int fin;
    int opcode;
    int masked;            /* a server frame must never be masked */
    int minimal;           /* 1 if the length used the shortest encoding */
    unsigned char *data;   /* malloc'd, NUL-terminated */
    size_t len;
};

/* Reads one server frame.  Returns 0, or -1 on EOF/timeout/garbage. */
static int ws_recv_frame(int fd, struct ws_msg *m, int timeout_ms)
{
    unsigned char h[14];
    unsigned long long n;
    memset(m, 0, sizeof *m);
    if (recv_exact(fd, h, 2, timeout_ms) != 0) {
        return -1;
    }
    m->fin = (h[0] & 0x80) != 0;
    m->opcode = h[0] & 0x0f;
    m->masked = (h[1] & 0x80) != 0;
    n = h[1] & 0x7f;
    m->minimal = 1;
    if (n == 126) {
        if (recv_exact(fd, h + 2, 2, timeout_ms) != 0) {
            return -1;
        }
        n = ((unsigned)h[2] << 8) | h[3];
        m->minimal = n >= 126;
    } else if (n == 127) {
        int k;
        if (recv_exact(fd, h + 2, 8, timeout_ms) != 0) {
            return -1;
        }
        n = 0;
        for (k = 0; k < 8; k++) {
            n = (n << 8) | h[2 + k];
        }
        m->minimal = n >= 65536;
    }
    if (m->masked) {
        if (recv_exact(fd, h + 10, 4, timeout_ms) != 0) {
            return -1;
        }
    }
    if (n > 64ULL * 1024 * 1024) {
        return -1;
    }
    m->data = malloc((size_t)n + 1);
    if (m->data == NULL || recv_exact(fd, m->data, (size_t)n, timeout_ms) != 0) {
        free(m->data);
        m->data = NULL;
        return -1;
    }
    m->data[n] = '\0';
    m->len = (size_t)n;
    return 0;
}

static void ws_msg_free(struct ws_msg *m)
{
    free(m->data);
    m->data = NULL;
}

/* Reads frames until a close frame; returns its status code (1005 when the
 * close had no code), or -1 if the connection ended or timed out first.
 * Data frames that come before the close are skipped. */
static int ws_recv_close_code(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        struct ws_msg m;
        long long left = deadline - now_ms();
        int code;
        if (left <= 0 || ws_recv_frame(fd, &m, (int)left) != 0) {
            return -1;
        }
        if (m.opcode != 8) {
            ws_msg_free(&m);
            continue;
        }
        code = m.len >= 2 ? (m.data[0] << 8) | m.data[1] : 1005;
        ws_msg_free(&m);
        return code;
    }
}

/* ---- Engine.IO / Socket.IO client side --------------------------------- */

/* Reads the next Engine.IO text message, answering server pings ("2")
 * with "3" on the way.  Returns a malloc'd NUL-terminated string, or NULL
 * on close/timeout.  A close frame ends the read (NULL). */
static char *sio_recv(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        struct ws_msg m;
        long long left = deadline - now_ms();
        if (left <= 0 || ws_recv_frame(fd, &m, (int)left) != 0) {
            return NULL;
        }
        if (m.opcode == 1 && m.len == 1 && m.data[0] == '2') {
            ws_msg_free(&m);
            ws_send_text(fd, "3");
            continue;
        }
        if (m.opcode != 1) {
            ws_msg_free(&m);
            if (m.opcode == 8) {
                return NULL;
            }
            continue;
        }
        return (char *)m.data;
    }
}

/* Opens a WebSocket to the Socket.IO endpoint, checks the Engine.IO open
 * packet, sends CONNECT ("40") and reads the answer.  Returns the socket
 * and copies the socket id (from 40{"sid":"..."}) into id (21 bytes);
 * -1 on any failure. */
static int sio_connect(int port, char id[21])
{
    int fd = ws_connect(port, "/socket.io/?EIO=4&transport=websocket");
    char *msg;
    const char *p;
    if (fd < 0) {
        return -1;
    }
    msg = sio_recv(fd, T_TIMEOUT_MS);
    if (msg == NULL || msg[0] != '0') {
        free(msg);
        close(fd);
        return -1;
    }
    free(msg);
    ws_send_text(fd, "40");
    msg = sio_recv(fd, T_TIMEOUT_MS);
    p = msg ? strstr(msg, "\"sid\":\"") : NULL;
    if (msg == NULL || strncmp(msg, "40{", 3) != 0 || p == NULL || strlen(p + 7) < 21) {
        free(msg);
        close(fd);
        return -1;
    }
    memcpy(id, p + 7, 20);
    id[20] = '\0';
    free(msg);
    return fd;
}

/* Reads messages until one starts with `prefix` (e.g. "42[\"created\"");
 * returns it (malloc'd) or NULL on timeout/close.  Skipped messages are
 * dropped, so use it only where their order does not matter. */
static char *sio_recv_until(int fd, const char *prefix, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        char *m;
        if (left <= 0) {
            return NULL;
        }
        m = sio_recv(fd, (int)left);
        if (m == NULL) {
            return NULL;
        }
        if (strncmp(m, prefix, strlen(prefix)) == 0) {
            return m;
        }
        free(m);
    }
}

#endif
