/* http_test.c -- raw-socket integration tests of signal.c's command line,
 * HTTP/1.1 and static files: the spec sections "Command line", "One
 * process, one thread, one poll() loop", "HTTP/1.1", "Static files from
 * ROOT" and "Limits and failure" (/work/shared/spec/behaviour.md).
 *
 * Run from the repository root (the server is $SIGNAL_BIN or ./signal):
 *   cc -std=c99 -Wall -Wextra -pedantic -Wno-unused-function -I tests \
 *      -o tests/build/http_test tests/http_test.c && tests/build/http_test
 *
 * The request-timeout cases need 10 s by the spec.  They run in a child
 * process against a server of their own while the rest of the suite runs,
 * so the whole suite takes about 11 s.  T_SLOW=1 (valgrind) widens every
 * time limit five-fold. */
#include "testlib.h"

#define BIG_LEN (5UL * 1024 * 1024 + 12345) /* the 5 MB file, odd-sized */
#define MID_LEN (256UL * 1024)              /* a file for the flood test */
#define REQ_TIMEOUT_MS 10000                /* spec: 10 s to a complete head */

static char base_dir[128];  /* make_temp_dir(): root/, secret, outside/, root2/ */
static char root_dir[256];  /* the ROOT the servers serve */
static char secret[64];     /* the text of every file outside ROOT */
static struct server srv;   /* the main server */

/* ---- small helpers ------------------------------------------------------ */

#define INDEX_HTML "<!doctype html><title>t</title>root index\n"

static int is_slow(void)
{
    const char *s = getenv("T_SLOW");
    return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

/* Time limits grow five-fold under T_SLOW (valgrind). */
static int ms(int x)
{
    return is_slow() ? x * 5 : x;
}

static const char *signal_bin(void)
{
    const char *b = getenv("SIGNAL_BIN");
    return b != NULL ? b : "./signal";
}

/* The 5 MB file's byte at offset i: not periodic, so a dropped, repeated
 * or reordered chunk of any size shows. */
static unsigned char pattern_byte(size_t i)
{
    unsigned long x = (unsigned long)i * 2654435761UL;
    return (unsigned char)((x >> 11) ^ (i >> 9) ^ (i >> 19));
}

static void root_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", root_dir, rel);
}

static void put(const char *rel, const char *text)
{
    char p[512];
    root_path(p, sizeof p, rel);
    write_file(p, text, strlen(text));
}

static void mkdir_rel(const char *rel)
{
    char p[512];
    root_path(p, sizeof p, rel);
    if (mkdir(p, 0755) != 0) {
        perror(p);
        exit(2);
    }
}

static void symlink_rel(const char *target, const char *rel)
{
    char p[512];
    root_path(p, sizeof p, rel);
    if (symlink(target, p) != 0) {
        perror(p);
        exit(2);
    }
}

/* http_request_once() leaves r untouched when it cannot connect: clear it
 * first so http_response_free() is always safe. */
static int request(int port, const char *req, struct http_response *r)
{
    memset(r, 0, sizeof *r);
    return http_request_once(port, req, r);
}

/* GET target on a fresh connection; returns the status or -1. */
static int get(int port, const char *target, struct http_response *r)
{
    char req[2048];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);
    return request(port, req, r);
}

static int status_of(int port, const char *req)
{
    struct http_response r;
    int st = request(port, req, &r);
    http_response_free(&r);
    return st;
}

/* 1 if header `name` is present with exactly `want` (case-insensitive). */
static int header_is(const struct http_response *r, const char *name, const char *want)
{
    char v[512];
    return http_header(r, name, v, sizeof v) && strcasecmp(v, want) == 0;
}

static int body_is(const struct http_response *r, const char *want)
{
    return r->body != NULL && r->body_len == strlen(want) && memcmp(r->body, want, r->body_len) == 0;
}

/* 1 if the n bytes at p contain the NUL-terminated needle. */
static int contains(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    size_t i;
    for (i = 0; p != NULL && i + k <= n; i++) {
        if (memcmp(p + i, needle, k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Writes the request to a connected socket and reads one response. */
static int exchange(int fd, const char *req, struct http_response *r, int head_only)
{
    memset(r, 0, sizeof *r);
    if (send_str(fd, req) != 0) {
        return -1;
    }
    if (http_read_response(fd, r, head_only, ms(T_TIMEOUT_MS)) != 0) {
        return -1;
    }
    return r->status;
}

/* 1 if nothing at all arrives on fd within ms (the socket stays open). */
static int quiet_for(int fd, int wait_ms)
{
    char c;
    return recv_some(fd, &c, 1, wait_ms) < 0 && errno == ETIMEDOUT;
}

/* Waits up to timeout_ms for pid to exit; returns its exit code, 128+N for
 * signal N, or -1 after killing it on timeout. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int status = 0;
    long long deadline = now_ms() + timeout_ms;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(5);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

/* ---- fixtures ----------------------------------------------------------- */

/* The content-type cases: file, accepted media types ('|'-separated), and
 * whether "; charset=utf-8" is required (1), allowed (0) or forbidden (-1). */
struct type_case {
    const char *file;
    const char *types;
    int charset;
};

static const struct type_case type_cases[] = {
    {"t.html", "text/html", 1},
    {"t.js", "text/javascript|application/javascript", 1},
    {"t.mjs", "text/javascript|application/javascript", 1},
    {"t.css", "text/css", 1},
    {"t.json", "application/json", 0},
    {"t.png", "image/png", -1},
    {"t.jpg", "image/jpeg", -1},
    {"t.jpeg", "image/jpeg", -1},
    {"t.gif", "image/gif", -1},
    {"t.svg", "image/svg+xml", 0},
    {"t.ico", "image/x-icon|image/vnd.microsoft.icon", -1},
    {"t.webp", "image/webp", -1},
    {"t.wasm", "application/wasm", -1},
    {"t.txt", "text/plain", 1},
    {"t.map", "application/json", 0},
    {"t.xyz", "application/octet-stream", -1},
    {"noext", "application/octet-stream", -1},
    {"dir.d/noext", "application/octet-stream", -1},
};

static void make_big_file(const char *rel, size_t n)
{
    char p[512];
    unsigned char *data = malloc(n);
    size_t i;
    if (data == NULL) {
        exit(2);
    }
    for (i = 0; i < n; i++) {
        data[i] = pattern_byte(i);
    }
    root_path(p, sizeof p, rel);
    write_file(p, data, n);
    free(data);
}

/* base/root is ROOT; base/secret, base/outside/secret2.txt and
 * base/root2/secret3.txt (a sibling whose name starts with "root") hold
 * the secret that must never be served. */
static void make_fixtures(void)
{
    char p[512];
    size_t i;
    strcpy(base_dir, make_temp_dir());
    snprintf(root_dir, sizeof root_dir, "%s/root", base_dir);
    snprintf(secret, sizeof secret, "TOP-SECRET-%d-%lld", (int)getpid(), now_ms());
    if (mkdir(root_dir, 0755) != 0) {
        perror("mkdir");
        exit(2);
    }
    snprintf(p, sizeof p, "%s/secret", base_dir);
    write_file(p, secret, strlen(secret));
    snprintf(p, sizeof p, "%s/outside", base_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/outside/secret2.txt", base_dir);
    write_file(p, secret, strlen(secret));
    snprintf(p, sizeof p, "%s/root2", base_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/root2/secret3.txt", base_dir);
    write_file(p, secret, strlen(secret));
    snprintf(p, sizeof p, "%s/rootlink", base_dir);
    if (symlink("root", p) != 0) {
        perror("symlink");
        exit(2);
    }

    put("index.html", INDEX_HTML);
    mkdir_rel("a");
    mkdir_rel("a/b");
    put("a/index.html", "index of a\n");
    put("a/b/c.txt", "c.txt content\n");
    mkdir_rel("noindex");
    put("noindex/x.txt", "x\n");
    put("sp ace.txt", "space in name\n");
    put("empty.txt", "");
    mkdir_rel("dir.d");
    for (i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "content of %s", type_cases[i].file);
        put(type_cases[i].file, text);
    }
    make_big_file("big.bin", BIG_LEN);
    make_big_file("mid.bin", MID_LEN);
    symlink_rel("../secret", "link-out");
    symlink_rel("../outside", "dir-out");
    symlink_rel("../root2/secret3.txt", "prefix-trick");
    symlink_rel("index.html", "link-in");
    symlink_rel("a", "link-dir");
    root_path(p, sizeof p, "fifo");
    if (mkfifo(p, 0644) != 0) {
        perror("mkfifo");
        exit(2);
    }
}

/* ---- command line ------------------------------------------------------- */

struct cli_run {
    int code;        /* exit code, 128+N for signal N, -1 if it hung */
    char out[4096];  /* stdout */
    char err[4096];  /* stderr */
};

static void read_small_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    if (f != NULL) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

/* Starts the server binary with args (NULL-terminated) and stdout/stderr
 * going to the two files. */
static pid_t spawn(const char *const args[], const char *out_path, const char *err_path)
{
    const char *argv[32];
    int argc = 0;
    pid_t pid;
    argv[argc++] = signal_bin();
    while (args[argc - 1] != NULL && argc < 31) {
        argv[argc] = args[argc - 1];
        argc++;
    }
    argv[argc] = NULL;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Runs the server to completion (it must exit within 3 s). */
static void run_cli(struct cli_run *res, const char *const args[])
{
    char out_path[128];
    char err_path[128];
    pid_t pid;
    snprintf(out_path, sizeof out_path, "/tmp/signal-http-test-%d.out", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/signal-http-test-%d.err", (int)getpid());
    pid = spawn(args, out_path, err_path);
    res->code = wait_exit(pid, ms(3000));
    read_small_file(out_path, res->out, sizeof res->out);
    read_small_file(err_path, res->err, sizeof res->err);
    unlink(out_path);
    unlink(err_path);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Spec "Command line": -h prints this help and exits 0. */
static void test_cli_help(void)
{
    static const char *const args[] = {"-h", NULL};
    struct cli_run r;
    run_cli(&r, args);
    check(r.code == 0, "-h exits 0 (got %d)", r.code);
    check(strstr(r.out, "usage: signal") != NULL || strstr(r.err, "usage: signal") != NULL,
          "-h prints the usage (stdout \"%.60s\")", r.out);
}

/* Spec "Command line": a bad flag or value prints the usage on stderr and
 * exits 2 (plain POSIX getopt). */
static void test_cli_bad_flag_or_value(void)
{
    static const char *const cases[][4] = {
        {"-x", NULL, NULL, NULL},
        {"-p", "abc", NULL, NULL},
        {"-p", "70000", NULL, NULL},
        {"-p", "-1", NULL, NULL},
        {"-i", "soon", NULL, NULL},
        {"-p", NULL, NULL, NULL},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cli_run r;
        run_cli(&r, cases[i]);
        check(r.code == 2, "signal %s %s exits 2 (got %d)", cases[i][0], cases[i][1] ? cases[i][1] : "",
              r.code);
        check(strstr(r.err, "usage: signal") != NULL, "signal %s %s prints the usage on stderr (got \"%.80s\")",
              cases[i][0], cases[i][1] ? cases[i][1] : "", r.err);
    }
}

/* Spec "Command line": a missing ROOT -> one clear line on stderr naming
 * the cause, exit 1.  A plain file is no folder of static files either. */
static void test_cli_missing_root(void)
{
    char missing[300];
    char file[300];
    const char *args[] = {"-p", "0", "-r", missing, NULL};
    struct cli_run r;
    snprintf(missing, sizeof missing, "%s/no-such-folder", base_dir);
    run_cli(&r, args);
    check(r.code == 1, "missing root exits 1 (got %d)", r.code);
    check(count_lines(r.err) == 1 && strncmp(r.err, "signal: ", 8) == 0, "missing root: one line on stderr (got \"%s\")",
          r.err);
    check(strstr(r.err, "no-such-folder") != NULL, "missing root: the line names the folder (got \"%s\")", r.err);
    check(strstr(r.out, "listening") == NULL, "missing root: no banner");

    snprintf(file, sizeof file, "%s/a/b/c.txt", root_dir);
    args[3] = file;
    run_cli(&r, args);
    check(r.code == 1, "a file as root exits 1 (got %d, stderr \"%s\")", r.code, r.err);
}

/* Spec "Command line": a port in use -> `signal: cannot listen on
 * 127.0.0.1:PORT: Address already in use`, exit 1. */
static void test_cli_port_in_use(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char port[16];
    char want[128];
    const char *args[] = {"-a", "127.0.0.1", "-p", port, "-r", root_dir, NULL};
    struct cli_run r;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!check(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0 &&
                   getsockname(fd, (struct sockaddr *)&a, &alen) == 0,
               "test setup: a listening socket to collide with")) {
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    run_cli(&r, args);
    close(fd);
    /* The reason is the server's strerror(EADDRINUSE), which differs by C
     * library ("Address already in use" in glibc, "Address in use" in
     * musl): check the prefix and "in use", not this process's text. */
    snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%s: ", port);
    check(r.code == 1, "port in use exits 1 (got %d)", r.code);
    check(count_lines(r.err) == 1 && strstr(r.err, want) != NULL && strstr(strstr(r.err, want), "in use") != NULL,
          "port in use: one line \"%s... in use\" (got \"%s\")", want, r.err);
}

/* Spec "Command line": a bad address -> one clear line, exit 1.  192.0.2.1
 * (TEST-NET-1) parses but is no address of this machine; a name that is no
 * IPv4 address at all may also count as a bad value (exit 2). */
static void test_cli_bad_address(void)
{
    const char *args[] = {"-a", "192.0.2.1", "-p", "0", "-r", root_dir, NULL};
    const char *garbage[] = {"-a", "not-an-address", "-p", "0", "-r", root_dir, NULL};
    struct cli_run r;
    run_cli(&r, args);
    check(r.code == 1, "-a 192.0.2.1 exits 1 (got %d)", r.code);
    check(count_lines(r.err) == 1 && strstr(r.err, "192.0.2.1") != NULL,
          "-a 192.0.2.1: one line naming the address (got \"%s\")", r.err);
    run_cli(&r, garbage);
    check(r.code == 1 || r.code == 2, "-a not-an-address exits 1 or 2 (got %d)", r.code);
    check(r.err[0] != '\0', "-a not-an-address says why on stderr");
}

/* Spec "Command line": when ready, one line on stdout, flushed at once:
 * `signal: listening on http://127.0.0.1:PORT/ (root ROOT)` with the real
 * port for -p 0 -- and that port serves. */
static void test_cli_banner(void)
{
    char out_path[128];
    char err_path[128];
    char line[1024];
    char want[1024];
    const char *args[] = {"-p", "0", "-r", root_dir, NULL};
    long long deadline = now_ms() + ms(3000);
    int port = 0;
    pid_t pid;
    struct http_response r;
    snprintf(out_path, sizeof out_path, "/tmp/signal-http-test-%d.banner", (int)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/signal-http-test-%d.berr", (int)getpid());
    pid = spawn(args, out_path, err_path);
    line[0] = '\0';
    while (strchr(line, '\n') == NULL && now_ms() < deadline) {
        sleep_ms(10);
        read_small_file(out_path, line, sizeof line);
    }
    if (strstr(line, "127.0.0.1:") != NULL) {
        port = atoi(strstr(line, "127.0.0.1:") + 10);
    }
    snprintf(want, sizeof want, "signal: listening on http://127.0.0.1:%d/ (root %s)\n", port, root_dir);
    check(port > 0 && strcmp(line, want) == 0, "banner is exactly \"%s\" (got \"%s\")", want, line);
    check(port > 0 && get(port, "/", &r) == 200, "the banner's port %d serves GET /", port);
    http_response_free(&r);
    kill(pid, SIGTERM);
    check(wait_exit(pid, ms(3000)) == 0, "banner server exits 0 on SIGTERM");
    unlink(out_path);
    unlink(err_path);
}

/* Spec "Command line": SIGINT / SIGTERM close every connection and exit 0
 * -- with an idle keep-alive client, a half-sent head and a stalled
 * download connected. */
static void test_cli_signal_exits_zero(int sig)
{
    struct server s;
    struct http_response r;
    int keep;
    int partial;
    int download;
    int code;
    if (!check(server_start(&s, "-r", root_dir, NULL) == 0, "server starts for signal %d", sig)) {
        return;
    }
    keep = tcp_connect(s.port);
    partial = tcp_connect(s.port);
    download = tcp_connect(s.port);
    exchange(keep, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r, 0);
    http_response_free(&r);
    send_str(partial, "GET / HTTP/1.1\r\nHo");
    send_str(download, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    sleep_ms(100);
    kill(s.pid, sig);
    code = wait_exit(s.pid, ms(3000));
    unlink(s.stderr_path);
    check(code == 0, "signal %d with 3 clients connected: exit 0 (got %d)", sig, code);
    close(keep);
    close(partial);
    close(download);
}

/* Spec "Command line": -v traces every HTTP request on stderr. */
static void test_cli_verbose_traces_requests(void)
{
    struct server s;
    struct http_response r;
    char err[4096];
    if (!check(server_start(&s, "-r", root_dir, "-v", NULL) == 0, "server starts with -v")) {
        return;
    }
    get(s.port, "/a/b/c.txt", &r);
    http_response_free(&r);
    sleep_ms(100);
    read_small_file(s.stderr_path, err, sizeof err);
    check(strstr(err, "/a/b/c.txt") != NULL, "-v: the request for /a/b/c.txt shows on stderr (got \"%.200s\")", err);
    check(server_stop(&s) == 0, "-v server exits 0");
}

/* ---- request timeouts (run in a child process) -------------------------- */

/* Spec "HTTP/1.1": 10 s from accept (or from the previous response on
 * keep-alive) to a complete head; part of a head -> 408, idle -> closed
 * silently; the deadline does not move with each byte (slowloris).  Five
 * connections share one 11 s wait:
 *   partial     sends half a head at once          -> 408, closed, at ~10 s
 *   idle        sends nothing                      -> closed, no bytes, ~10 s
 *   slowloris   one byte per second                -> 408, closed, at ~10 s
 *   keep-idle   one request, then nothing          -> closed ~10 s after it
 *   keep-busy   a request every 2 s, last at 11 s  -> all answered, open */
enum { TC_PARTIAL, TC_IDLE, TC_SLOW, TC_KEEP_IDLE, TC_KEEP_BUSY, TC_COUNT };

struct tconn {
    int fd;
    char buf[16384];
    size_t got;
    long long first_ms; /* when the first byte came, relative to t0; -1 none */
    long long eof_ms;   /* when EOF or a reset came; -1 none */
};

static int report_fd = -1;

/* check() for the child: one line "1 text" / "0 text" to the parent. */
static void report(int ok, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    int i;
    line[0] = ok ? '1' : '0';
    line[1] = ' ';
    va_start(ap, fmt);
    n = vsnprintf(line + 2, sizeof line - 3, fmt, ap);
    va_end(ap);
    if (n < 0 || n > (int)sizeof line - 4) {
        n = (int)sizeof line - 4;
    }
    for (i = 2; i < 2 + n; i++) {
        if (line[i] == '\r' || line[i] == '\n') {
            line[i] = '|';  /* one report, one line */
        }
    }
    line[2 + n] = '\n';
    if (write(report_fd, line, (size_t)n + 3) < 0) {
        _exit(3);
    }
}

static int count_of(const struct tconn *c, const char *needle)
{
    int n = 0;
    size_t i;
    size_t k = strlen(needle);
    for (i = 0; i + k <= c->got; i++) {
        n += memcmp(c->buf + i, needle, k) == 0;
    }
    return n;
}

static void tconn_read(struct tconn *c, long long t)
{
    char tmp[4096];
    ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
    if (r <= 0) {
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            c->eof_ms = t;
        }
        return;
    }
    if (c->first_ms < 0) {
        c->first_ms = t;
    }
    if (c->got + (size_t)r > sizeof c->buf) {
        r = (ssize_t)(sizeof c->buf - c->got);
    }
    memcpy(c->buf + c->got, tmp, (size_t)r);
    c->got += (size_t)r;
}

static int timeouts_done(struct tconn *c, int busy_sent)
{
    return c[TC_PARTIAL].eof_ms >= 0 && c[TC_IDLE].eof_ms >= 0 && c[TC_SLOW].eof_ms >= 0 &&
           c[TC_KEEP_IDLE].eof_ms >= 0 && busy_sent == 7 && count_of(&c[TC_KEEP_BUSY], "HTTP/1.1 200 ") == 7;
}

static void timeouts_drive(struct tconn *c, long long end)
{
    static const char slow_req[] = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char busy_req[] = "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    long long t0 = now_ms();
    int slow_sent = 0;
    int busy_sent = 0;
    send_str(c[TC_PARTIAL].fd, "GET /index.html HTTP/1.1\r\nHost: x\r\n");
    send_str(c[TC_KEEP_IDLE].fd, busy_req);
    while (now_ms() < end && !timeouts_done(c, busy_sent)) {
        struct pollfd p[TC_COUNT];
        long long t = now_ms() - t0;
        int i;
        /* slowloris: byte k at k seconds; keep-busy: at 0,2,4,6,8,10,11 s */
        if (c[TC_SLOW].eof_ms < 0 && t >= 1000LL * slow_sent && slow_sent < (int)sizeof slow_req - 1) {
            send(c[TC_SLOW].fd, slow_req + slow_sent, 1, 0);
            slow_sent++;
        }
        if (busy_sent < 7 && t >= (busy_sent < 6 ? 2000LL * busy_sent : 11000LL)) {
            send_str(c[TC_KEEP_BUSY].fd, busy_req);
            busy_sent++;
        }
        for (i = 0; i < TC_COUNT; i++) {
            p[i].fd = c[i].eof_ms < 0 ? c[i].fd : -1;
            p[i].events = POLLIN;
            p[i].revents = 0;
        }
        poll(p, TC_COUNT, 20);
        t = now_ms() - t0;
        for (i = 0; i < TC_COUNT; i++) {
            if (p[i].revents != 0) {
                tconn_read(&c[i], t);
            }
        }
    }
}

static int in_window(long long t, long long lo, long long hi)
{
    return t >= lo && t <= hi;
}

static void timeouts_child(int port)
{
    static struct tconn c[TC_COUNT];
    long long lo = REQ_TIMEOUT_MS - 1500;
    long long hi = REQ_TIMEOUT_MS + ms(1500);
    int i;
    for (i = 0; i < TC_COUNT; i++) {
        c[i].fd = tcp_connect(port);
        c[i].got = 0;
        c[i].first_ms = -1;
        c[i].eof_ms = -1;
        if (c[i].fd < 0) {
            report(0, "timeouts: connection %d could not connect", i);
            return;
        }
    }
    timeouts_drive(c, now_ms() + hi + 300);
    report(c[TC_PARTIAL].got >= 12 && memcmp(c[TC_PARTIAL].buf, "HTTP/1.1 408", 12) == 0,
           "timeouts: a half-sent head gets 408 (got \"%.40s\")", c[TC_PARTIAL].buf);
    report(in_window(c[TC_PARTIAL].first_ms, lo, hi), "timeouts: the 408 comes at ~10 s (at %lld ms)",
           c[TC_PARTIAL].first_ms);
    report(c[TC_PARTIAL].eof_ms >= 0, "timeouts: the half-sent head's connection is closed after the 408");
    report(c[TC_IDLE].got == 0, "timeouts: an idle connection gets no bytes (got %zu)", c[TC_IDLE].got);
    report(in_window(c[TC_IDLE].eof_ms, lo, hi), "timeouts: an idle connection is closed at ~10 s (at %lld ms)",
           c[TC_IDLE].eof_ms);
    report(c[TC_SLOW].got >= 12 && memcmp(c[TC_SLOW].buf, "HTTP/1.1 408", 12) == 0,
           "timeouts: slowloris (1 byte/s) gets 408 (got \"%.40s\")", c[TC_SLOW].buf);
    report(in_window(c[TC_SLOW].eof_ms, lo, hi), "timeouts: slowloris is closed at ~10 s despite the trickle (at %lld ms)",
           c[TC_SLOW].eof_ms);
    report(count_of(&c[TC_KEEP_IDLE], "HTTP/1.") == 1, "timeouts: idle keep-alive got its one response only");
    report(c[TC_KEEP_IDLE].first_ms >= 0 && in_window(c[TC_KEEP_IDLE].eof_ms - c[TC_KEEP_IDLE].first_ms, lo, hi),
           "timeouts: idle keep-alive is closed ~10 s after its response (after %lld ms)",
           c[TC_KEEP_IDLE].eof_ms - c[TC_KEEP_IDLE].first_ms);
    report(count_of(&c[TC_KEEP_BUSY], "HTTP/1.1 200 ") == 7,
           "timeouts: a request every 2 s on keep-alive: all 7 answered (got %d)",
           count_of(&c[TC_KEEP_BUSY], "HTTP/1.1 200 "));
    report(c[TC_KEEP_BUSY].eof_ms < 0, "timeouts: the busy keep-alive connection stays open past 10 s (closed at %lld)",
           c[TC_KEEP_BUSY].eof_ms);
    for (i = 0; i < TC_COUNT; i++) {
        close(c[i].fd);
    }
}

struct timeouts {
    struct server s;
    pid_t child;
    int fd; /* read end of the report pipe */
};

static int timeouts_start(struct timeouts *t)
{
    int p[2];
    t->child = -1;
    if (!check(server_start(&t->s, "-r", root_dir, NULL) == 0, "timeouts: server starts")) {
        return -1;
    }
    if (pipe(p) != 0) {
        return -1;
    }
    fflush(stdout);
    t->child = fork();
    if (t->child == 0) {
        close(p[0]);
        report_fd = p[1];
        timeouts_child(t->s.port);
        _exit(0);
    }
    close(p[1]);
    t->fd = p[0];
    return 0;
}

static void timeouts_collect(struct timeouts *t)
{
    char buf[8192];
    size_t len = 0;
    long long deadline = now_ms() + REQ_TIMEOUT_MS + ms(5000);
    char *line;
    int lines = 0;
    struct pollfd p;
    if (t->child < 0) {
        return;
    }
    for (;;) {
        long long left = deadline - now_ms();
        ssize_t r;
        if (left <= 0 || len >= sizeof buf - 1) {
            break;
        }
        p.fd = t->fd;
        p.events = POLLIN;
        if (poll(&p, 1, (int)left) <= 0) {
            break;
        }
        r = read(t->fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(t->fd);
    for (line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        check(line[0] == '1', "%s", line + 2);
        lines++;
    }
    check(lines >= 11, "timeouts: the child reported all its checks (%d)", lines);
    check(wait_exit(t->child, ms(3000)) == 0, "timeouts: the child exits cleanly");
    check(server_alive(&t->s), "timeouts: server still running");
    check(server_stop(&t->s) == 0, "timeouts: server exits 0 on SIGTERM");
}

/* ---- GET and HEAD of static files ---------------------------------------- */

/* Spec "Static files": `/` serves ROOT's index.html. */
static void test_get_root_serves_index(void)
{
    struct http_response r;
    int st = get(srv.port, "/", &r);
    check(st == 200, "GET / -> 200 (got %d)", st);
    check(body_is(&r, INDEX_HTML), "GET / body is index.html");
    check(header_is(&r, "Content-Type", "text/html; charset=utf-8"), "GET / is text/html; charset=utf-8");
    http_response_free(&r);
}

/* Spec "HTTP/1.1": GET and HEAD; HEAD gives GET's headers (RFC 9110 §9.3.2,
 * same Content-Length) and no body -- the next response follows at once. */
static void test_head_has_headers_and_no_body(void)
{
    struct http_response r;
    char cl[32];
    char index_len[32];
    int fd = tcp_connect(srv.port);
    int st = exchange(fd, "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n", &r, 1);
    check(st == 200, "HEAD /big.bin -> 200 (got %d)", st);
    check(http_header(&r, "Content-Length", cl, sizeof cl) && strtoul(cl, NULL, 10) == BIG_LEN,
          "HEAD /big.bin has the file's Content-Length %lu", (unsigned long)BIG_LEN);
    check(header_is(&r, "Content-Type", "application/octet-stream"), "HEAD /big.bin has the Content-Type");
    http_response_free(&r);
    check(quiet_for(fd, 200), "HEAD sends no body bytes");
    st = exchange(fd, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", &r, 1);
    snprintf(index_len, sizeof index_len, "%lu", (unsigned long)strlen(INDEX_HTML));
    check(st == 200 && header_is(&r, "Content-Length", index_len), "HEAD / -> 200 with Content-Length %s (got %d)",
          index_len, st);
    http_response_free(&r);
    st = exchange(fd, "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n", &r, 0);
    check(st == 200 && body_is(&r, "c.txt content\n"), "a GET after two HEADs on one connection is intact");
    http_response_free(&r);
    close(fd);
}

/* Spec "Static files": nested folders. */
static void test_nested_file(void)
{
    struct http_response r;
    int st = get(srv.port, "/a/b/c.txt", &r);
    check(st == 200 && body_is(&r, "c.txt content\n"), "GET /a/b/c.txt -> 200 with its content (got %d)", st);
    check(header_is(&r, "Content-Type", "text/plain; charset=utf-8"), "c.txt is text/plain; charset=utf-8");
    http_response_free(&r);
}

/* Spec "Static files": any path ending in `/` serves that folder's
 * index.html; a folder with no index.html is 404 (no listings). */
static void test_folder_index(void)
{
    struct http_response r;
    int st = get(srv.port, "/a/", &r);
    check(st == 200 && body_is(&r, "index of a\n"), "GET /a/ serves a/index.html (got %d)", st);
    http_response_free(&r);
    st = get(srv.port, "/a/b/", &r);
    check(st == 404, "GET /a/b/ (no index.html) -> 404 (got %d)", st);
    check(!contains(r.body, r.body_len, "c.txt"), "GET /a/b/ lists nothing");
    http_response_free(&r);
    st = get(srv.port, "/noindex/", &r);
    check(st == 404, "GET /noindex/ -> 404 (got %d)", st);
    http_response_free(&r);
}

/* Spec "Static files": only regular files are served -- a folder named
 * without its slash is not one (404, or a redirect to the slash form). */
static void test_folder_without_slash(void)
{
    struct http_response r;
    char loc[256];
    int st = get(srv.port, "/a", &r);
    check(st == 404 || ((st == 301 || st == 308) && http_header(&r, "Location", loc, sizeof loc) &&
                        strcmp(loc, "/a/") == 0),
          "GET /a (a folder) -> 404 or a redirect to /a/ (got %d)", st);
    http_response_free(&r);
}

/* Spec "Static files": a missing file is 404 with a short text body. */
static void test_missing_file(void)
{
    struct http_response r;
    int st = get(srv.port, "/no-such-file.html", &r);
    check(st == 404, "GET /no-such-file.html -> 404 (got %d)", st);
    check(r.body_len > 0 && r.body_len < 1024, "404 has a short body (%zu bytes)", r.body_len);
    http_response_free(&r);
}

/* Spec "Static files": a zero-byte file is a 200 with Content-Length: 0,
 * and the connection goes on. */
static void test_empty_file(void)
{
    struct http_response r;
    int fd = tcp_connect(srv.port);
    int st = exchange(fd, "GET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\n", &r, 0);
    check(st == 200 && header_is(&r, "Content-Length", "0"), "GET /empty.txt -> 200, Content-Length: 0 (got %d)",
          st);
    http_response_free(&r);
    st = exchange(fd, "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n", &r, 0);
    check(st == 200 && body_is(&r, "c.txt content\n"), "the connection goes on after an empty file");
    http_response_free(&r);
    close(fd);
}

/* Spec "Static files": the query string is dropped. */
static void test_query_dropped(void)
{
    struct http_response r;
    int st = get(srv.port, "/a/b/c.txt?x=1&y=../../secret", &r);
    check(st == 200 && body_is(&r, "c.txt content\n"), "GET /a/b/c.txt?x=1&y=... serves c.txt (got %d)", st);
    http_response_free(&r);
    st = get(srv.port, "/?v=2", &r);
    check(st == 200 && contains(r.body, r.body_len, "root index"), "GET /?v=2 serves index.html (got %d)", st);
    http_response_free(&r);
}

/* Spec "Static files": the path is percent-decoded once. */
static void test_percent_decoding(void)
{
    struct http_response r;
    int st = get(srv.port, "/sp%20ace.txt", &r);
    check(st == 200 && body_is(&r, "space in name\n"), "GET /sp%%20ace.txt -> the file \"sp ace.txt\" (got %d)", st);
    http_response_free(&r);
    st = get(srv.port, "/%61/%62/c%2Etxt", &r);
    check(st == 200 && body_is(&r, "c.txt content\n"), "GET /%%61/%%62/c%%2Etxt -> a/b/c.txt (got %d)", st);
    http_response_free(&r);
    st = get(srv.port, "/sp%2520ace.txt", &r);
    check(st == 404, "decoded once: /sp%%2520ace.txt is not \"sp ace.txt\" (got %d)", st);
    http_response_free(&r);
    st = get(srv.port, "/bad%zz", &r);
    check(st == 400 || st == 404, "GET /bad%%zz (a bad escape) -> 400 or 404 (got %d)", st);
    http_response_free(&r);
}

/* Spec "Static files": content types for html, js, mjs, css, json, png,
 * jpg/jpeg, gif, svg, ico, webp, wasm, txt, map; anything else
 * application/octet-stream; text types carry `; charset=utf-8`. */
static int content_type_ok(const struct type_case *tc, const char *value)
{
    char types[128];
    char *t;
    const char *suffix = "; charset=utf-8";
    strcpy(types, tc->types);
    for (t = strtok(types, "|"); t != NULL; t = strtok(NULL, "|")) {
        size_t n = strlen(t);
        if (strncasecmp(value, t, n) != 0) {
            continue;
        }
        if (value[n] == '\0') {
            return tc->charset != 1 && strncmp(t, "text/", 5) != 0;
        }
        if (strcasecmp(value + n, suffix) == 0) {
            return tc->charset != -1;
        }
    }
    return 0;
}

static void test_content_types(void)
{
    size_t i;
    for (i = 0; i < sizeof type_cases / sizeof type_cases[0]; i++) {
        struct http_response r;
        char path[128];
        char want[64];
        char ct[256] = "";
        int st;
        snprintf(path, sizeof path, "/%s", type_cases[i].file);
        snprintf(want, sizeof want, "content of %s", type_cases[i].file);
        st = get(srv.port, path, &r);
        http_header(&r, "Content-Type", ct, sizeof ct);
        check(st == 200 && body_is(&r, want), "GET %s -> 200 with its content (got %d)", path, st);
        check(content_type_ok(&type_cases[i], ct), "%s: Content-Type %s%s (got \"%s\")", path, type_cases[i].types,
              type_cases[i].charset == 1 ? "; charset=utf-8" : "", ct);
        http_response_free(&r);
    }
}

/* ---- headers every response has ------------------------------------------ */

/* 1 if v is an IMF-fixdate (RFC 9110 §5.6.7) within a few seconds of now. */
static int date_is_now(const char *v)
{
    time_t now = time(NULL);
    int d;
    for (d = -5; d <= 2; d++) {
        time_t t = now + d;
        struct tm tm;
        char buf[64];
        gmtime_r(&t, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (strcmp(buf, v) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Spec "HTTP/1.1": every response has Content-Length, Content-Type, Date,
 * Cache-Control: no-cache and X-Content-Type-Options: nosniff; error
 * responses have a short text body. */
static void test_common_headers(void)
{
    static const char *const reqs[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /t.png HTTP/1.1\r\nHost: x\r\n\r\n",
        "HEAD /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        "GET /%2e%2e/secret HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        struct http_response r;
        char v[256];
        char what[40];
        int st = request(srv.port, reqs[i], &r);
        int head = strncmp(reqs[i], "HEAD", 4) == 0;
        snprintf(what, sizeof what, "%.*s", (int)(strchr(reqs[i], '\r') - reqs[i]), reqs[i]);
        if (!check(st > 0, "\"%s\" gets a response", what)) {
            http_response_free(&r);
            continue;
        }
        check(http_header(&r, "Content-Length", v, sizeof v) && v[0] >= '0' && v[0] <= '9' &&
                  (head || strtoul(v, NULL, 10) == r.body_len),
              "\"%s\" (%d): Content-Length", what, st);
        check(http_header(&r, "Content-Type", v, sizeof v) && v[0] != '\0', "\"%s\" (%d): Content-Type", what, st);
        check(http_header(&r, "Date", v, sizeof v) && date_is_now(v), "\"%s\" (%d): Date is now, IMF-fixdate (\"%s\")",
              what, st, http_header(&r, "Date", v, sizeof v) ? v : "");
        check(header_is(&r, "Cache-Control", "no-cache"), "\"%s\" (%d): Cache-Control: no-cache", what, st);
        check(header_is(&r, "X-Content-Type-Options", "nosniff"), "\"%s\" (%d): X-Content-Type-Options: nosniff",
              what, st);
        if (st >= 400) {
            check(r.body_len > 0 && r.body_len < 1024, "\"%s\" (%d): a short error body (%zu bytes)", what, st,
                  r.body_len);
            check(http_header(&r, "Content-Type", v, sizeof v) && strncmp(v, "text/", 5) == 0,
                  "\"%s\" (%d): the error body is text (%s)", what, st, v);
        }
        http_response_free(&r);
    }
}

/* ---- methods and malformed requests --------------------------------------- */

/* Spec "HTTP/1.1": any method other than GET and HEAD -> 405 with
 * `Allow: GET, HEAD`.  Methods are case-sensitive (RFC 9110 §9.1). */
static void test_other_methods_405(void)
{
    static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"};
    size_t i;
    for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        struct http_response r;
        char req[128];
        int st;
        snprintf(req, sizeof req, "%s /index.html HTTP/1.1\r\nHost: x\r\n\r\n", methods[i]);
        st = request(srv.port, req, &r);
        check(st == 405, "%s -> 405 (got %d)", methods[i], st);
        check(header_is(&r, "Allow", "GET, HEAD"), "%s: Allow: GET, HEAD", methods[i]);
        check(!contains(r.body, r.body_len, "root index"), "%s: the file is not sent", methods[i]);
        http_response_free(&r);
    }
}

/* A request that must get `want` (or `alt`) and then a closed connection. */
struct close_case {
    const char *label;
    const char *req;
    size_t len;
    int want;
    int alt;
};

/* Sends each request on a connection of its own, all at once; checks each
 * status, then that the server closes every one of those connections
 * (one shared wait, so a server that never closes costs one second). */
static void expect_status_then_close(const struct close_case *cases, size_t n)
{
    int *fds = malloc(n * sizeof *fds);
    long long deadline;
    size_t i;
    if (fds == NULL) {
        exit(2);
    }
    for (i = 0; i < n; i++) {
        fds[i] = tcp_connect(srv.port);
        if (fds[i] >= 0) {
            send_all(fds[i], cases[i].req, cases[i].len);
        }
    }
    for (i = 0; i < n; i++) {
        struct http_response r;
        int st = -1;
        memset(&r, 0, sizeof r);
        if (fds[i] >= 0 && http_read_response(fds[i], &r, 0, ms(T_TIMEOUT_MS)) == 0) {
            st = r.status;
        }
        check(st == cases[i].want || st == cases[i].alt, "%s -> %d (got %d)", cases[i].label, cases[i].want, st);
        http_response_free(&r);
    }
    deadline = now_ms() + ms(1000);
    for (i = 0; i < n; i++) {
        long long left = deadline - now_ms();
        check(fds[i] >= 0 && wait_closed(fds[i], left > 1 ? (int)left : 1), "%s: the connection is closed after the %d", cases[i].label, cases[i].want);
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    free(fds);
}

/* Spec "HTTP/1.1": a malformed request line or header, or an HTTP/1.1
 * request without Host (RFC 9112 §3.2): 400, then close. */
static void test_malformed_400_then_close(void)
{
    static const char *const cases[][2] = {
        {"no spaces", "GARBAGE\r\n\r\n"},
        {"no version", "GET /\r\n\r\n"},
        {"three spaces", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n"},
        {"double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"bad protocol", "GET / FOO/1.1\r\nHost: x\r\n\r\n"},
        {"target without /", "GET index.html HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"asterisk target", "GET * HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"control char in target", "GET /\001 HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"leading space", " GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
        {"no Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n"},
        {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
        {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"},
        {"tab before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n\r\n"},
        {"header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"},
        {"empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"},
        {"control char in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\001z\r\n\r\n"},
        {"bad Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"},
        {"negative Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
        {"TLS hello bytes", "\026\003\001\002\000\001\000\001\374\003\003\r\n\r\n"},
        {"binary garbage", "\377\376\001\002 / HTTP/1.1\r\nHost: x\r\n\r\n"},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    struct close_case cc[N];
    size_t i;
    for (i = 0; i < N; i++) {
        cc[i].label = cases[i][0];
        cc[i].req = cases[i][1];
        cc[i].len = strlen(cases[i][1]);
        cc[i].want = 400;
        cc[i].alt = 400;
        if (strcmp(cases[i][0], "TLS hello bytes") == 0) {
            cc[i].len = 15; /* it holds NUL bytes */
        }
    }
    expect_status_then_close(cc, N);
}

/* Spec "HTTP/1.1": request line plus headers at most 8 KiB; longer -> 431,
 * then close -- also when no end of the head is in sight; a head just
 * under the limit is fine. */
static void test_head_limit_431(void)
{
    char *req = malloc(10000);
    char *endless = malloc(9500);
    struct close_case cc[2];
    size_t n;
    struct http_response r;
    int st;
    if (req == NULL || endless == NULL) {
        exit(2);
    }
    n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', 9000);
    strcpy(req + n + 9000, "\r\n\r\n");
    memset(endless, 'a', 9500);
    memcpy(endless, "GET /", 5);
    cc[0].label = "a 9 KB head";
    cc[0].req = req;
    cc[0].len = strlen(req);
    cc[1].label = "9.5 KB without an end of head";
    cc[1].req = endless;
    cc[1].len = 9500;
    cc[0].want = cc[0].alt = cc[1].want = cc[1].alt = 431;
    expect_status_then_close(cc, 2);
    free(endless);

    n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'b', 7900 - n);
    strcpy(req + 7900, "\r\n\r\n");
    st = request(srv.port, req, &r);
    check(st == 200, "a 7.9 KB head is accepted (got %d)", st);
    http_response_free(&r);
    free(req);
}

/* Spec "HTTP/1.1": a request with a body (Content-Length > 0 or any
 * Transfer-Encoding) -> 413 / 400, then close; Content-Length: 0 is fine. */
static void test_request_body_rejected(void)
{
    static const char cl[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    static const char te[] = "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    static const char both[] =
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    static const char te_id[] = "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n";
    static const char zero[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    struct close_case cc[4];
    struct http_response r;
    int fd;
    int st;
    cc[0].label = "Content-Length: 5 with a body";
    cc[0].req = cl;
    cc[0].want = cc[0].alt = 413;
    cc[1].label = "Transfer-Encoding: chunked";
    cc[1].req = te;
    cc[1].want = cc[1].alt = 400;
    cc[2].label = "Content-Length and Transfer-Encoding";
    cc[2].req = both;
    cc[2].want = 400;
    cc[2].alt = 413;
    cc[3].label = "Transfer-Encoding: identity";
    cc[3].req = te_id;
    cc[3].want = cc[3].alt = 400;
    for (st = 0; st < 4; st++) {
        cc[st].len = strlen(cc[st].req);
    }
    expect_status_then_close(cc, 4);
    fd = tcp_connect(srv.port);
    st = exchange(fd, zero, &r, 0);
    check(st == 200, "Content-Length: 0 -> 200 (got %d)", st);
    http_response_free(&r);
    check(quiet_for(fd, 150), "Content-Length: 0 keeps the connection open");
    close(fd);
}

/* ---- keep-alive and pipelining --------------------------------------------- */

/* Spec "HTTP/1.1": HTTP/1.1 keeps the connection alive; header names are
 * case-insensitive (RFC 9110 §5.1). */
static void test_keep_alive_two_requests(void)
{
    struct http_response r;
    int fd = tcp_connect(srv.port);
    int st = exchange(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r, 0);
    check(st == 200, "keep-alive: first request -> 200 (got %d)", st);
    http_response_free(&r);
    check(quiet_for(fd, 150), "keep-alive: the connection stays open after a response");
    st = exchange(fd, "GET /a/b/c.txt HTTP/1.1\r\nhost: x\r\n\r\n", &r, 0);
    check(st == 200 && body_is(&r, "c.txt content\n"), "keep-alive: second request on the same connection (got %d)",
          st);
    http_response_free(&r);
    close(fd);
}

/* Spec "HTTP/1.1": `Connection: close` (a token, any case, in a list) and
 * HTTP/1.0 close after the response. */
static void test_connection_close(void)
{
    static const char *const cases[][2] = {
        {"Connection: close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
        {"CONNECTION: Keep-Alive, CLOSE", "GET / HTTP/1.1\r\nHost: x\r\nCONNECTION: Keep-Alive, CLOSE\r\n\r\n"},
        {"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n"},
        {"HTTP/1.0 with Host", "GET /a/b/c.txt HTTP/1.0\r\nHost: x\r\n\r\n"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        int fd = tcp_connect(srv.port);
        int st = exchange(fd, cases[i][1], &r, 0);
        check(st == 200, "%s -> 200 (got %d)", cases[i][0], st);
        check(wait_closed(fd, ms(1000)), "%s: closed after the response", cases[i][0]);
        http_response_free(&r);
        close(fd);
    }
}

/* Reads one response and checks it is a 200 with body `want`. */
static void expect_body(int fd, const char *label, const char *want, int head_only)
{
    struct http_response r;
    memset(&r, 0, sizeof r);
    check(http_read_response(fd, &r, head_only, ms(T_TIMEOUT_MS)) == 0 && r.status == 200 &&
              (head_only || body_is(&r, want)),
          "%s (status %d)", label, r.status);
    http_response_free(&r);
}

/* Reads a 200 for big.bin and checks every byte. */
static void expect_big(int fd, const char *label)
{
    struct http_response r;
    unsigned char *buf = malloc(BIG_LEN);
    size_t i = 0;
    char len[32];
    int ok;
    memset(&r, 0, sizeof r);
    snprintf(len, sizeof len, "%lu", (unsigned long)BIG_LEN);
    ok = buf != NULL && http_read_response(fd, &r, 1, ms(T_TIMEOUT_MS)) == 0 && r.status == 200 &&
         header_is(&r, "Content-Length", len) && recv_exact(fd, buf, BIG_LEN, ms(10000)) == 0;
    for (; ok && i < BIG_LEN; i++) {
        ok = buf[i] == pattern_byte(i);
    }
    check(ok, "%s: 5 MB file intact (status %d, first bad byte at %zu)", label, r.status, i);
    http_response_free(&r);
    free(buf);
}

/* Spec "HTTP/1.1": pipelined requests are answered in order. */
static void test_pipelining(void)
{
    static const char three[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char big[] = "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                              "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = tcp_connect(srv.port);
    send_str(fd, three);
    expect_body(fd, "pipelined 1 of 3: /", INDEX_HTML, 0);
    expect_body(fd, "pipelined 2 of 3: /a/b/c.txt", "c.txt content\n", 0);
    expect_body(fd, "pipelined 3 of 3: /a/", "index of a\n", 0);
    close(fd);

    fd = tcp_connect(srv.port);
    send_str(fd, big);
    expect_body(fd, "pipelined with a big file, 1 of 4", "c.txt content\n", 0);
    expect_big(fd, "pipelined with a big file, 2 of 4");
    expect_body(fd, "pipelined with a big file, 3 of 4 (HEAD)", "", 1);
    expect_body(fd, "pipelined with a big file, 4 of 4", "index of a\n", 0);
    close(fd);
}

/* Spec "HTTP/1.1": a bad request among pipelined ones is answered in its
 * turn with 400, then the connection closes (nothing after it is served). */
static void test_pipelined_bad_request_closes(void)
{
    static const char reqs[] = "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                               "BAD\r\n\r\n"
                               "GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n";
    struct http_response r;
    int fd = tcp_connect(srv.port);
    send_str(fd, reqs);
    expect_body(fd, "pipelined good request before a bad one", "c.txt content\n", 0);
    memset(&r, 0, sizeof r);
    check(http_read_response(fd, &r, 0, ms(T_TIMEOUT_MS)) == 0 && r.status == 400,
          "the bad pipelined request gets 400 (got %d)", r.status);
    http_response_free(&r);
    check(wait_closed(fd, ms(1000)), "then the connection closes without serving the rest");
    close(fd);
}

/* ---- path safety ------------------------------------------------------------ */

/* Spec "Static files": never a byte from outside ROOT; a decoded path with
 * a NUL, a `..` segment or a backslash is 400/404; a file whose real path
 * lies outside ROOT's real path is 404. */
static void test_path_traversal(void)
{
    static const char *const targets[] = {
        "/../secret", "/%2e%2e/secret", "/%2E%2E/secret", "/.%2e/secret", "/a/%2e%2e/%2e%2e/secret",
        "/a/b/../../../secret", "/%2e%2e%2fsecret", "/..%2fsecret", "/..%2Fsecret", "/..\\secret",
        "/%5c..%5csecret", "/a\\..\\..\\secret", "/%00", "/index.html%00.txt", "/%00/../secret",
        "/../../../../../../etc/passwd", "//../secret", "/./../secret", "/..", "/a/..",
        "/link-out", "/dir-out/secret2.txt", "/prefix-trick", "/link-dir/../../secret",
        "http://127.0.0.1/../secret", "http://127.0.0.1/link-out",
    };
    size_t i;
    for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct http_response r;
        char req[512];
        int st;
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", targets[i]);
        st = request(srv.port, req, &r);
        check(st == 400 || st == 404, "GET %s -> 400 or 404 (got %d)", targets[i], st);
        check(!contains(r.body, r.body_len, secret) && strstr(r.head, secret) == NULL,
              "GET %s: the secret outside ROOT is not sent", targets[i]);
        http_response_free(&r);
    }
    check(server_alive(&srv), "the server is up after the traversal attempts");
}

/* Spec "Static files": a symbolic link whose real path lies inside ROOT is
 * served, to a file or through a folder. */
static void test_symlink_inside_root(void)
{
    struct http_response r;
    int st = get(srv.port, "/link-in", &r);
    check(st == 200 && contains(r.body, r.body_len, "root index"), "GET /link-in (-> index.html) -> 200 (got %d)",
          st);
    http_response_free(&r);
    st = get(srv.port, "/link-dir/b/c.txt", &r);
    check(st == 200 && body_is(&r, "c.txt content\n"), "GET /link-dir/b/c.txt (link-dir -> a) -> 200 (got %d)", st);
    http_response_free(&r);
}

/* Spec "Static files": ROOT's *real* path is the fence, so a ROOT given
 * through a symbolic link (as /tmp is on macOS) still serves its files and
 * still refuses the ones outside. */
static void test_root_given_through_symlink(void)
{
    struct server s;
    struct http_response r;
    char link_root[300];
    int st;
    snprintf(link_root, sizeof link_root, "%s/rootlink", base_dir);
    if (!check(server_start(&s, "-r", link_root, NULL) == 0, "server starts with -r %s", link_root)) {
        return;
    }
    st = get(s.port, "/a/b/c.txt", &r);
    check(st == 200 && body_is(&r, "c.txt content\n"), "root via a symlink: GET /a/b/c.txt -> 200 (got %d)", st);
    http_response_free(&r);
    st = get(s.port, "/link-out", &r);
    check(st == 404 && !contains(r.body, r.body_len, secret), "root via a symlink: GET /link-out -> 404 (got %d)",
          st);
    http_response_free(&r);
    check(server_stop(&s) == 0, "root via a symlink: server exits 0");
}

/* Spec "Static files": only regular files are served -- a FIFO is 404 and
 * opening it must not block the one poll() loop. */
static void test_fifo_not_served(void)
{
    struct http_response r;
    char p[512];
    long long t = now_ms();
    int st = get(srv.port, "/fifo", &r);
    int w;
    check(st == 404, "GET /fifo -> 404 (got %d after %lld ms)", st, now_ms() - t);
    http_response_free(&r);
    /* If the server sits blocked in open() on the FIFO, open the writing
     * end so it wakes up and the remaining tests can run. */
    root_path(p, sizeof p, "fifo");
    w = open(p, O_WRONLY | O_NONBLOCK);
    check(w < 0, "no reader is left hanging on the FIFO");
    if (w >= 0) {
        close(w);
    }
    st = get(srv.port, "/a/b/c.txt", &r);
    check(st == 200, "the server still serves after GET /fifo (got %d)", st);
    http_response_free(&r);
}

/* ---- partial I/O and the one poll() loop ------------------------------------ */

/* Spec "One process...": reads may be partial at any byte -- a request sent
 * one byte at a time is answered, and not before its head is complete. */
static void test_request_one_byte_at_a_time(void)
{
    static const char req[] = "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t i;
    int fd = tcp_connect(srv.port);
    for (i = 0; i + 1 < sizeof req - 1; i++) {
        send(fd, req + i, 1, 0);
        sleep_ms(2);
    }
    check(quiet_for(fd, 150), "no answer before the head's last byte");
    send(fd, req + i, 1, 0);
    expect_body(fd, "a request sent one byte at a time is answered", "c.txt content\n", 0);
    close(fd);
}

/* A connected socket with a small receive buffer, set before connect()
 * so the TCP window stays small. */
static int tcp_connect_small_rcvbuf(int port, int size)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A second client gets GET /a/b/c.txt within a second. */
static void expect_prompt_service(int port, const char *when)
{
    struct http_response r;
    long long t = now_ms();
    int st = get(port, "/a/b/c.txt", &r);
    long long took = now_ms() - t;
    check(st == 200 && took < ms(1000), "%s: another client is served at once (%d after %lld ms)", when, st, took);
    http_response_free(&r);
}

/* Spec "One process..." and "Static files": files stream from disk as the
 * socket drains, never read whole into memory; a slow reader of the 5 MB
 * file gets every byte while others are served meanwhile. */
static void test_big_file_slow_reader(struct server *s)
{
    int port = s->port;
    pid_t pid = s->pid;
    struct http_response r;
    unsigned char *buf = malloc(65536);
    long rss0 = rss_kb(pid);
    long rss_peak = rss0;
    size_t off = 0;
    size_t bad = (size_t)-1;
    long long deadline = now_ms() + ms(15000);
    int fd = tcp_connect_small_rcvbuf(port, 4096);
    int pauses = 0;
    memset(&r, 0, sizeof r);
    send_str(fd, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    check(buf != NULL && http_read_response(fd, &r, 1, ms(T_TIMEOUT_MS)) == 0 && r.status == 200,
          "slow reader: GET /big.bin -> 200 (got %d)", r.status);
    sleep_ms(300); /* the server's send buffer fills: it must wait for POLLOUT */
    expect_prompt_service(port, "while a 5 MB download is stalled");
    while (buf != NULL && off < BIG_LEN && now_ms() < deadline) {
        ssize_t n = recv_some(fd, buf, off + 4096 < BIG_LEN ? 4096 : BIG_LEN - off, ms(3000));
        size_t i;
        if (n <= 0) {
            break;
        }
        for (i = 0; i < (size_t)n && bad == (size_t)-1; i++) {
            if (buf[i] != pattern_byte(off + i)) {
                bad = off + i;
            }
        }
        off += (size_t)n;
        if (off / (512 * 1024) > (size_t)pauses) {
            pauses++;
            sleep_ms(20);
            if (rss_kb(pid) > rss_peak) {
                rss_peak = rss_kb(pid);
            }
            if (pauses == 4) {
                expect_prompt_service(port, "in the middle of a slow 5 MB download");
            }
        }
    }
    check(off == BIG_LEN && bad == (size_t)-1, "slow reader: all %lu bytes arrive intact (got %zu, first bad %ld)",
          (unsigned long)BIG_LEN, off, bad == (size_t)-1 ? -1L : (long)bad);
    if (rss0 > 0 && rss_peak > 0) {
        check(rss_peak - rss0 < 3072, "serving 5 MB to a slow reader grows the server's RSS by %ld kB (< 3 MB)",
              rss_peak - rss0);
    } else {
        printf("skip - RSS check (no /proc, or an ASan/valgrind server)\n");
    }
    check(quiet_for(fd, 100), "slow reader: nothing after the body, connection open");
    http_response_free(&r);
    free(buf);
    close(fd);
}

/* Spec "Limits and failure": nothing a client sends makes the server
 * allocate without bound or stall the others -- pipelined requests for a
 * 256 KB file, sent for a second and never read. */
static void test_pipeline_flood_never_read(struct server *s)
{
    static const char one[] = "GET /mid.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    int port = s->port;
    pid_t pid = s->pid;
    char chunk[sizeof one * 64];
    long rss0 = rss_kb(pid);
    long rss1;
    size_t sent = 0;
    long long end = now_ms() + 1000;
    int fd = tcp_connect(port);
    int i;
    for (i = 0; i < 64; i++) {
        memcpy(chunk + i * (sizeof one - 1), one, sizeof one - 1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (now_ms() < end && sent < 16 * 1024 * 1024) {
        ssize_t w = send(fd, chunk, 64 * (sizeof one - 1), 0);
        if (w > 0) {
            sent += (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            break;
        } else {
            sleep_ms(5);
        }
    }
    expect_prompt_service(port, "during a never-read pipeline flood");
    rss1 = rss_kb(pid);
    if (rss0 > 0 && rss1 > 0) {
        check(rss1 - rss0 < 8192, "a %zu-byte never-read pipeline grows the server's RSS by %ld kB (< 8 MB)", sent,
              rss1 - rss0);
    } else {
        printf("skip - RSS check (no /proc, or an ASan/valgrind server)\n");
    }
    close(fd);
    check(server_alive(s), "the server survives the flood");
}

/* Spec "Limits and failure": an error on one connection closes that
 * connection only (SIGPIPE ignored) -- clients that vanish mid-download. */
static void test_client_vanishes_mid_download(void)
{
    struct linger lg;
    char buf[1000];
    int fd = tcp_connect(srv.port);
    send_str(fd, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_exact(fd, buf, sizeof buf, ms(T_TIMEOUT_MS));
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd); /* a reset */
    fd = tcp_connect(srv.port);
    send_str(fd, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_exact(fd, buf, sizeof buf, ms(T_TIMEOUT_MS));
    close(fd); /* an ordinary close with unread data: the server's next writes fail */
    sleep_ms(100);
    check(server_alive(&srv), "the server survives clients that vanish mid-download");
    expect_prompt_service(srv.port, "after clients vanished mid-download");
}

/* Spec "Limits and failure": no fixed client count -- 200 simultaneous
 * keep-alive connections each get two responses. */
static void test_many_connections(void)
{
    enum { N = 200 };
    int fds[N];
    int ok1 = 0;
    int ok2 = 0;
    int round;
    int i;
    long long deadline = now_ms() + ms(8000);
    for (i = 0; i < N; i++) {
        fds[i] = tcp_connect(srv.port);
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < N; i++) {
            if (fds[i] >= 0) {
                send_str(fds[i], "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n");
            }
        }
        for (i = 0; i < N; i++) {
            struct http_response r;
            long long left = deadline - now_ms();
            memset(&r, 0, sizeof r);
            if (fds[i] >= 0 && http_read_response(fds[i], &r, 0, left > 1 ? (int)left : 1) == 0 && r.status == 200 &&
                body_is(&r, "c.txt content\n")) {
                *(round == 0 ? &ok1 : &ok2) += 1;
            }
            http_response_free(&r);
        }
    }
    check(ok1 == N, "200 simultaneous connections: all answered (%d)", ok1);
    check(ok2 == N, "200 simultaneous connections: a second request each on keep-alive (%d)", ok2);
    for (i = 0; i < N; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
}

/* Spec "Limits and failure": when accept() fails for lack of descriptors,
 * the loop stops polling the listening socket for a moment instead of
 * spinning, and serves the clients it has; once descriptors free up, new
 * clients are served again.  The server gets only 32 descriptors here. */
static void test_out_of_descriptors(void)
{
    enum { N = 60 };
    struct server s;
    int fds[N];
    int i;
    int served = 0;
    long long cpu0;
    long long cpu1;
    struct http_response r;
    if (is_slow()) {
        printf("skip - out of descriptors (valgrind needs descriptors of its own)\n");
        return;
    }
    t_server_fd_limit = 32;
    i = server_start(&s, "-r", root_dir, NULL);
    t_server_fd_limit = 0;
    if (!check(i == 0, "a server limited to 32 descriptors starts")) {
        return;
    }
    for (i = 0; i < N; i++) {
        fds[i] = tcp_connect(s.port);  /* the kernel completes them all */
    }
    sleep_ms(200);
    cpu0 = cpu_ms(s.pid);
    sleep_ms(1000);
    cpu1 = cpu_ms(s.pid);
    if (cpu0 >= 0 && cpu1 >= 0) {
        check(cpu1 - cpu0 < 300, "out of descriptors, the server used %lld ms of CPU in 1 s (no spinning)",
              cpu1 - cpu0);
    } else {
        printf("skip - CPU time check (no /proc)\n");
    }
    /* The first connections were accepted: they are served. */
    for (i = 0; i < 5; i++) {
        memset(&r, 0, sizeof r);
        if (send_str(fds[i], "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n") == 0 &&
            http_read_response(fds[i], &r, 0, ms(3000)) == 0 && r.status == 200) {
            served++;
        }
        http_response_free(&r);
    }
    check(served == 5, "out of descriptors, accepted clients are still served (%d of 5)", served);
    for (i = 0; i < N - 1; i++) {
        close(fds[i]);
    }
    /* Descriptors are free again: the last, long-waiting client is served. */
    memset(&r, 0, sizeof r);
    check(send_str(fds[N - 1], "GET /a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n") == 0 &&
          http_read_response(fds[N - 1], &r, 0, ms(5000)) == 0 && r.status == 200,
          "once descriptors free up, a client that waited in the backlog is served");
    http_response_free(&r);
    close(fds[N - 1]);
    check(server_stop(&s) == 0, "the limited server exits 0");
}

/* Spec "Limits and failure": nothing a client sends can crash the server. */
static void test_still_alive(void)
{
    struct http_response r;
    int st;
    check(server_alive(&srv), "the server is still running after every bad input");
    st = get(srv.port, "/", &r);
    check(st == 200 && contains(r.body, r.body_len, "root index"), "and still serves / (got %d)", st);
    http_response_free(&r);
}

/* ---- main ----------------------------------------------------------------- */

static void memory_tests(void)
{
    struct server s;
    if (!check(server_start(&s, "-r", root_dir, NULL) == 0, "memory tests: server starts")) {
        return;
    }
    test_big_file_slow_reader(&s);
    test_pipeline_flood_never_read(&s);
    check(server_stop(&s) == 0, "memory tests: server exits 0");
}

int main(void)
{
    struct timeouts to;
    signal(SIGPIPE, SIG_IGN);
    make_fixtures();

    /* The 10 s timeout cases run in a child while everything else runs. */
    timeouts_start(&to);

    test_cli_help();
    test_cli_bad_flag_or_value();
    test_cli_missing_root();
    test_cli_port_in_use();
    test_cli_bad_address();
    test_cli_banner();
    test_cli_signal_exits_zero(SIGTERM);
    test_cli_signal_exits_zero(SIGINT);
    test_cli_verbose_traces_requests();
    test_root_given_through_symlink();

    if (server_start(&srv, "-r", root_dir, NULL) != 0) {
        check(0, "main server starts");
        timeouts_collect(&to);
        remove_tree(base_dir);
        return test_summary();
    }
    test_get_root_serves_index();
    test_head_has_headers_and_no_body();
    test_nested_file();
    test_folder_index();
    test_folder_without_slash();
    test_missing_file();
    test_empty_file();
    test_query_dropped();
    test_percent_decoding();
    test_content_types();
    test_common_headers();
    test_other_methods_405();
    test_malformed_400_then_close();
    test_head_limit_431();
    test_request_body_rejected();
    test_keep_alive_two_requests();
    test_connection_close();
    test_pipelining();
    test_pipelined_bad_request_closes();
    test_path_traversal();
    test_symlink_inside_root();
    test_fifo_not_served();
    test_request_one_byte_at_a_time();
    test_client_vanishes_mid_download();
    test_many_connections();
    test_out_of_descriptors();
    memory_tests();
    test_still_alive();
    check(server_stop(&srv) == 0, "main server exits 0 on SIGTERM");

    timeouts_collect(&to);
    remove_tree(base_dir);
    return test_summary();
}
