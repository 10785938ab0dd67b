/* trace_test.c -- the -v trace as a learner reads it (issue 9): one line
 * per event, each connection named "conn N" from its request to its close
 * and "conn N [socket id]" once Socket.IO has given it one, HTTP status and
 * size, close frames decoded, room lines, frames as text, nothing but
 * printable UTF-8, and the long-polling hint (once without -v).
 *
 * Build and run from the repository root:
 *   cc -std=c99 -Wall -Wextra -pedantic -Wno-unused-function -I tests \
 *      -o tests/build/trace_test tests/trace_test.c && tests/build/trace_test
 * The server binary is $SIGNAL_BIN or ./signal; its stderr (the trace) goes
 * to the file server_start() names.  TEST_VERBOSE=1 prints every check; a
 * failure prints the trace.  T_SLOW=1 (valgrind) makes waits five times
 * longer. */
#include "testlib.h"

static int g_slow;
static struct server g_srv;     /* the server with -v */
static int g_missed;            /* lines waited for in vain so far */

static int ms(int x)
{
    return g_slow ? x * 5 : x;
}

/* ---- reading the trace ------------------------------------------------- */

/* A server's stderr so far (malloc'd, NUL-terminated; *len without the
 * NUL). */
static char *stderr_read(const struct server *s, size_t *len)
{
    FILE *f = fopen(s->stderr_path, "rb");
    size_t cap = 65536;
    size_t n = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        exit(2);
    }
    if (f != NULL) {
        size_t r;
        while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
            n += r;
            if (n == cap) {
                char *bigger = realloc(buf, cap * 2 + 1);
                if (bigger == NULL) {
                    exit(2);
                }
                buf = bigger;
                cap *= 2;
            }
        }
        fclose(f);
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

/* The -v server's trace so far. */
static char *log_read(size_t *len)
{
    return stderr_read(&g_srv, len);
}

enum { EXACT, PREFIX, SUFFIX, CONTAINS };

static int span_has(const char *p, size_t n, const char *want, size_t wn)
{
    size_t i;
    for (i = 0; i + wn <= n; i++) {
        if (memcmp(p + i, want, wn) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The index of the first complete line (ended by '\n') of log that
 * matches want, or -1; the line is copied into out when out is given. */
static int line_match(const char *log, int mode, const char *want, char *out, size_t cap)
{
    const char *p = log;
    size_t wn = strlen(want);
    int index = 0;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n;
        int ok;
        if (nl == NULL) {
            return -1;
        }
        n = (size_t)(nl - p);
        ok = mode == EXACT ? n == wn && memcmp(p, want, n) == 0
           : mode == PREFIX ? n >= wn && memcmp(p, want, wn) == 0
           : mode == SUFFIX ? n >= wn && memcmp(p + n - wn, want, wn) == 0
           : span_has(p, n, want, wn);
        if (ok) {
            if (out != NULL) {
                size_t k = n < cap - 1 ? n : cap - 1;
                memcpy(out, p, k);
                out[k] = '\0';
            }
            return index;
        }
        index++;
        p = nl + 1;
    }
}

/* Waits (bounded) until a line matching want is in the trace; its index
 * or -1.  Once a line has failed to come, the suite fails anyway: later
 * waits are short, so that a server without the trace fails every check
 * in seconds rather than minutes. */
static int log_wait(int mode, const char *want, char *out, size_t cap)
{
    long long deadline = now_ms() + ms(g_missed > 0 ? 300 : T_TIMEOUT_MS);
    for (;;) {
        char *log = log_read(NULL);
        int i = line_match(log, mode, want, out, cap);
        free(log);
        if (i >= 0) {
            return i;
        }
        if (now_ms() > deadline) {
            g_missed++;
            return -1;
        }
        sleep_ms(5);
    }
}

static const char *mode_name(int mode)
{
    return mode == EXACT ? "exactly" : mode == PREFIX ? "starting with"
         : mode == SUFFIX ? "ending with" : "containing";
}

/* One check: the trace gets a line matching the formatted text.  Returns
 * the line's index or -1. */
static int expect_line(int mode, const char *fmt, ...)
{
    char want[2048];
    va_list ap;
    int i;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    i = log_wait(mode, want, NULL, 0);
    check(i >= 0, "a trace line %s \"%s\"", mode_name(mode), want);
    return i;
}

/* The N of the first line "conn N..." that matches want; 0 if none. */
static unsigned long conn_of(int mode, const char *want)
{
    char line[2048];
    unsigned long n = 0;
    if (log_wait(mode, want, line, sizeof line) < 0 || sscanf(line, "conn %lu", &n) != 1) {
        return 0;
    }
    return n;
}

/* ---- clients ----------------------------------------------------------- */

struct sio_client {
    int fd;
    unsigned long conn;     /* N in the trace's "conn N" */
    char sid[21];           /* Engine.IO session id, from 0{"sid":...} */
    char id[21];            /* Socket.IO socket id, from 40{"sid":...} */
    char open[512];         /* the open packet as received */
};

/* The 20-character id after "sid":" in m, or 0. */
static int sid_of(const char *m, char out[21])
{
    const char *p = m ? strstr(m, "\"sid\":\"") : NULL;
    if (p == NULL || strlen(p + 7) < 21 || p[27] != '"') {
        return 0;
    }
    memcpy(out, p + 7, 20);
    out[20] = '\0';
    return 1;
}

/* WebSocket, Engine.IO open, Socket.IO CONNECT; finds its conn number in
 * the trace by the socket id.  0 on success. */
static int sio_open(struct sio_client *k)
{
    char *m;
    char want[128];
    memset(k, 0, sizeof *k);
    k->fd = ws_connect(g_srv.port, "/socket.io/?EIO=4&transport=websocket");
    if (k->fd < 0) {
        return -1;
    }
    m = sio_recv(k->fd, ms(T_TIMEOUT_MS));
    if (m == NULL || m[0] != '0' || !sid_of(m, k->sid) || strlen(m) >= sizeof k->open) {
        free(m);
        return -1;
    }
    strcpy(k->open, m);
    free(m);
    ws_send_text(k->fd, "40");
    m = sio_recv(k->fd, ms(T_TIMEOUT_MS));
    if (m == NULL || strncmp(m, "40{", 3) != 0 || !sid_of(m, k->id)) {
        free(m);
        return -1;
    }
    free(m);
    snprintf(want, sizeof want, "[%s] <- 40{\"sid\":\"%s\"}", k->id, k->id);
    k->conn = conn_of(SUFFIX, want);
    return 0;
}

/* Sends an event and waits for the answer that starts with `answer`
 * (NULL: no wait); the answer is returned (malloc'd) or NULL. */
static char *sio_ask(struct sio_client *k, const char *packet, const char *answer)
{
    ws_send_text(k->fd, packet);
    return answer ? sio_recv_until(k->fd, answer, ms(T_TIMEOUT_MS)) : NULL;
}

/* ---- the checks -------------------------------------------------------- */

/* HTTP: "conn N: GET /path" and "conn N: 404 Not Found, 14 bytes", the
 * size being the Content-Length the client got; "1 byte" for one. */
static void test_http_status_and_size(void)
{
    struct http_response r;
    char cl[32] = "";
    unsigned long n;
    int connected, get, status;
    int code = http_request_once(g_srv.port, "GET /trace-nope HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    http_header(&r, "Content-Length", cl, sizeof cl);
    http_response_free(&r);
    check(code == 404 && cl[0] != '\0', "GET /trace-nope: 404 with a Content-Length (got %d)", code);
    n = conn_of(SUFFIX, ": GET /trace-nope");
    check(n > 0, "the request is traced as \"conn N: GET /trace-nope\"");
    connected = expect_line(EXACT, "conn %lu: connected", n);
    get = expect_line(EXACT, "conn %lu: GET /trace-nope", n);
    status = expect_line(EXACT, "conn %lu: 404 Not Found, %s bytes", n, cl);
    check(connected >= 0 && connected < get && get < status,
          "conn %lu: connected, then the request, then the status (lines %d, %d, %d)", n,
          connected, get, status);
    expect_line(PREFIX, "conn %lu: closed (", n);

    code = http_request_once(g_srv.port, "GET /one.txt HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    check(code == 200 && r.body_len == 1, "GET /one.txt: 200 with a 1-byte body (got %d)", code);
    http_response_free(&r);
    n = conn_of(SUFFIX, ": GET /one.txt");
    check(n > 0, "the request is traced as \"conn N: GET /one.txt\"");
    expect_line(EXACT, "conn %lu: 200 OK, 1 byte", n);
}

/* The long-polling hint: a 400 with a line naming the fix, in order. */
static void test_polling_hint_verbose(void)
{
    struct http_response r;
    char cl[32] = "";
    unsigned long n;
    int get, hint, status;
    int code = http_request_once(g_srv.port,
                                 "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    http_header(&r, "Content-Length", cl, sizeof cl);
    http_response_free(&r);
    check(code == 400, "long-polling handshake: 400 (got %d)", code);
    n = conn_of(SUFFIX, ": GET /socket.io/?EIO=4&transport=polling");
    check(n > 0, "the polling request is traced as \"conn N: GET /socket.io/?EIO=4&transport=polling\"");
    get = expect_line(EXACT, "conn %lu: GET /socket.io/?EIO=4&transport=polling", n);
    {
        char prefix[64];
        char line[2048];
        snprintf(prefix, sizeof prefix, "conn %lu: ", n);
        hint = log_wait(CONTAINS, "transports: ['websocket']", line, sizeof line);
        check(hint >= 0 && strncmp(line, prefix, strlen(prefix)) == 0,
              "-v: a line \"%s...transports: ['websocket']...\" (got \"%s\")", prefix,
              hint >= 0 ? line : "");
    }
    status = expect_line(EXACT, "conn %lu: 400 Bad Request, %s bytes", n, cl);
    check(get >= 0 && get < hint && hint < status,
          "conn %lu: the request, the hint, then the status (lines %d, %d, %d)", n, get, hint, status);
}

/* Without -v the hint is printed once, however many clients ask. */
static void test_polling_hint_once_quiet(const char *root)
{
    struct server q;
    struct http_response r;
    char *log;
    const char *p;
    int hints = 0;
    int i;
    if (!check(server_start(&q, "-r", root, NULL) == 0, "server without -v starts")) {
        return;
    }
    for (i = 0; i < 2; i++) {
        int code = http_request_once(q.port,
                                     "GET /socket.io/?EIO=4&transport=polling&t=x HTTP/1.1\r\nHost: x\r\n\r\n", &r);
        http_response_free(&r);
        check(code == 400, "without -v, polling request %d: 400 (got %d)", i + 1, code);
    }
    /* The hint is written before the response is sent: it is in the file. */
    log = stderr_read(&q, NULL);
    for (p = log; (p = strstr(p, "transports: ['websocket']")) != NULL; p++) {
        hints++;
    }
    check(hints == 1, "without -v, two polling requests: the hint once on stderr (got %d): \"%s\"",
          hints, log);
    check(strstr(log, "GET /socket.io") == NULL, "without -v, requests are not traced");
    free(log);
    check(server_stop(&q) == 0, "server without -v exits 0");
}

/* A Socket.IO connection named the same way from its request on, with the
 * socket id it was given. */
static void test_sio_naming(void)
{
    struct sio_client k;
    int connected, get, up, open, c40, a40;
    if (!check(sio_open(&k) == 0, "a Socket.IO client connects")) {
        return;
    }
    check(k.conn > 0, "the CONNECT answer is traced as \"conn N [%s] <- 40{\\\"sid\\\":\\\"%s\\\"}\"",
          k.id, k.id);
    check(strcmp(k.sid, k.id) != 0, "the Engine.IO sid and the socket id differ");
    connected = expect_line(EXACT, "conn %lu: connected", k.conn);
    get = expect_line(EXACT, "conn %lu: GET /socket.io/?EIO=4&transport=websocket", k.conn);
    up = expect_line(PREFIX, "conn %lu: 101 Switching Protocols", k.conn);
    open = expect_line(EXACT, "conn %lu <- %s", k.conn, k.open);
    c40 = expect_line(EXACT, "conn %lu -> 40", k.conn);
    a40 = expect_line(EXACT, "conn %lu [%s] <- 40{\"sid\":\"%s\"}", k.conn, k.id, k.id);
    check(connected >= 0 && connected < get && get < up && up < open && open < c40 && c40 < a40,
          "conn %lu: connected, GET, 101, open, 40, answer, in that order (%d %d %d %d %d %d)",
          k.conn, connected, get, up, open, c40, a40);
    close(k.fd);
    expect_line(PREFIX, "conn %lu [%s]: closed (", k.conn, k.id);
}

/* Rooms: created, joined, full, left, (now empty); frames both ways;
 * close frames decoded; a 1008 for a malformed packet. */
static void test_rooms_and_close(void)
{
    struct sio_client a, b, c;
    char *m;
    char want[256];
    int in, room, out;
    if (!check(sio_open(&a) == 0 && sio_open(&b) == 0 && sio_open(&c) == 0,
               "three Socket.IO clients connect")) {
        return;
    }
    m = sio_ask(&a, "42[\"create or join\",\"foo\"]", "42[\"created\"");
    snprintf(want, sizeof want, "42[\"created\",\"foo\",\"%s\"]", a.id);
    check(m != NULL && strcmp(m, want) == 0, "first client: %s (got %s)", want, m ? m : "nothing");
    free(m);
    in = expect_line(EXACT, "conn %lu [%s] -> 42[\"create or join\",\"foo\"]", a.conn, a.id);
    room = expect_line(EXACT, "room foo: created by conn %lu [%s]", a.conn, a.id);
    out = expect_line(EXACT, "conn %lu [%s] <- %s", a.conn, a.id, want);
    check(in >= 0 && in < room && room < out,
          "the event in, the room line, the answer out, in that order (%d %d %d)", in, room, out);

    m = sio_ask(&b, "42[\"create or join\",\"foo\"]", "42[\"joined\"");
    check(m != NULL, "second client: joined");
    free(m);
    expect_line(EXACT, "room foo: joined by conn %lu [%s]", b.conn, b.id);

    m = sio_ask(&c, "42[\"create or join\",\"foo\"]", "42[\"full\"");
    check(m != NULL, "third client: full");
    free(m);
    expect_line(EXACT, "room foo: full, refused conn %lu [%s]", c.conn, c.id);

    /* The first leaves with close 1001 "bye". */
    ws_send_frame(a.fd, 0x88, "\x03\xe9" "bye", 5);
    check(ws_recv_close_code(a.fd, ms(T_TIMEOUT_MS)) == 1001, "close 1001 is answered with 1001");
    expect_line(EXACT, "conn %lu [%s] -> close 1001 going away: bye", a.conn, a.id);
    expect_line(EXACT, "conn %lu [%s] <- close 1001 going away", a.conn, a.id);
    expect_line(EXACT, "room foo: left by conn %lu [%s]", a.conn, a.id);
    close(a.fd);
    expect_line(PREFIX, "conn %lu [%s]: closed (", a.conn, a.id);

    /* The refused one sends a malformed packet: 1008. */
    ws_send_text(c.fd, "42{\"not\":\"an array\"}");
    check(ws_recv_close_code(c.fd, ms(T_TIMEOUT_MS)) == 1008, "a malformed packet is closed with 1008");
    expect_line(PREFIX, "conn %lu [%s]: closing with 1008: ", c.conn, c.id);
    expect_line(EXACT, "conn %lu [%s] <- close 1008 policy violation", c.conn, c.id);
    close(c.fd);

    /* The last member goes: the room is empty. */
    close(b.fd);
    expect_line(EXACT, "room foo: left by conn %lu [%s] (now empty)", b.conn, b.id);
    expect_line(PREFIX, "conn %lu [%s]: closed (", b.conn, b.id);
}

/* Room and event names: Korean as itself, JSON escapes of control
 * characters never as raw bytes (the printable check at the end). */
static void test_names(void)
{
    struct sio_client k, e, f, g;
    char *m;
    char want[256];
    char line[2048];
    int i;
    if (!check(sio_open(&k) == 0 && sio_open(&e) == 0 && sio_open(&f) == 0 && sio_open(&g) == 0,
               "four Socket.IO clients connect")) {
        return;
    }
    m = sio_ask(&k, "42[\"create or join\",\"회의실\"]", "42[\"created\"");
    check(m != NULL, "Korean room: created");
    free(m);
    expect_line(EXACT, "conn %lu [%s] -> 42[\"create or join\",\"회의실\"]", k.conn, k.id);
    expect_line(EXACT, "room 회의실: created by conn %lu [%s]", k.conn, k.id);
    ws_send_text(k.fd, "42[\"회의\"]");
    expect_line(EXACT, "conn %lu [%s]: no handler for event '회의'", k.conn, k.id);

    m = sio_ask(&f, "42[\"create or join\",\"caf\\u00e9\"]", "42[\"created\"");
    check(m != NULL, "room caf\\u00e9: created");
    free(m);
    expect_line(EXACT, "room café: created by conn %lu [%s]", f.conn, f.id);

    /* "a\nb\u0001c": the frame as sent, the decoded name on one line. */
    m = sio_ask(&e, "42[\"create or join\",\"a\\nb\\u0001c\\u007fd\"]", "42[\"created\"");
    check(m != NULL, "room a\\nb\\u0001c\\u007fd: created");
    free(m);
    expect_line(EXACT, "conn %lu [%s] -> 42[\"create or join\",\"a\\nb\\u0001c\\u007fd\"]", e.conn, e.id);
    snprintf(want, sizeof want, ": created by conn %lu [%s]", e.conn, e.id);
    i = log_wait(SUFFIX, want, line, sizeof line);
    check(i >= 0 && strncmp(line, "room a", 6) == 0 && strlen(line) == strlen("room a.b.c.d") + strlen(want),
          "the room with control characters in its name is one line, a character for each (got \"%s\")",
          i >= 0 ? line : "");
    ws_send_text(e.fd, "42[\"bo\\ngus\\u0001\"]");
    snprintf(want, sizeof want, "conn %lu [%s]: no handler for event 'bo", e.conn, e.id);
    i = log_wait(PREFIX, want, line, sizeof line);
    check(i >= 0 && strlen(line) == strlen(want) + strlen("?gus?'") && line[strlen(line) - 1] == '\'',
          "an event name with control characters is one line (got \"%s\")", i >= 0 ? line : "");

    /* A lone surrogate: whatever the server makes of it, the trace stays
     * UTF-8 (checked at the end); a later event shows it was read. */
    ws_send_text(g.fd, "42[\"create or join\",\"x\\ud800y\"]");
    ws_send_text(g.fd, "42[\"sync-g\"]");
    expect_line(EXACT, "conn %lu [%s] -> 42[\"create or join\",\"x\\ud800y\"]", g.conn, g.id);
    expect_line(EXACT, "conn %lu [%s]: no handler for event 'sync-g'", g.conn, g.id);
    close(k.fd);
    close(e.fd);
    close(f.fd);
    close(g.fd);
}

/* Frames on /echo: text (cut when long, never inside a character),
 * binary, ping and pong by name and size, invalid UTF-8 as dots. */
static void test_echo_frames(void)
{
    struct ws_msg w;
    char big[301];
    char korean[601];
    char want[700];
    char line[2048];
    unsigned long n;
    int fd = ws_connect(g_srv.port, "/echo");
    int i;
    if (!check(fd >= 0, "/echo: WebSocket opens")) {
        return;
    }
    ws_send_text(fd, "trace-mark-echo");
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0, "/echo: text echoed");
    ws_msg_free(&w);
    n = conn_of(SUFFIX, " -> trace-mark-echo");
    check(n > 0, "/echo: \"conn N -> trace-mark-echo\"");
    expect_line(EXACT, "conn %lu -> trace-mark-echo", n);
    expect_line(EXACT, "conn %lu <- trace-mark-echo", n);
    expect_line(EXACT, "conn %lu: 101 Switching Protocols: HTTP -> WebSocket (/echo)", n);

    ws_send_frame(fd, 0x82, "\x00\xff\n", 3);
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0 && w.opcode == 2, "/echo: binary echoed");
    ws_msg_free(&w);
    expect_line(EXACT, "conn %lu -> binary, 3 bytes", n);
    expect_line(EXACT, "conn %lu <- binary, 3 bytes", n);

    ws_send_frame(fd, 0x89, "", 0);
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0 && w.opcode == 10, "/echo: ping answered");
    ws_msg_free(&w);
    expect_line(EXACT, "conn %lu -> ping, 0 bytes", n);
    expect_line(EXACT, "conn %lu <- pong, 0 bytes", n);
    ws_send_frame(fd, 0x89, "p", 1);
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0 && w.opcode == 10, "/echo: 1-byte ping answered");
    ws_msg_free(&w);
    expect_line(EXACT, "conn %lu -> ping, 1 byte", n);
    expect_line(EXACT, "conn %lu <- pong, 1 byte", n);
    ws_send_frame(fd, 0x8a, "pp", 2);
    expect_line(EXACT, "conn %lu -> pong, 2 bytes", n);

    memset(big, 'a', 300);
    big[300] = '\0';
    ws_send_text(fd, big);
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0 && w.len == 300, "/echo: 300 bytes echoed");
    ws_msg_free(&w);
    snprintf(want, sizeof want, "conn %lu -> aaaaaaaaaaaaaaaa", n);
    i = log_wait(PREFIX, want, line, sizeof line);
    check(i >= 0 && strlen(line) > 40 && strlen(line) < 300 &&
          strcmp(line + strlen(line) - strlen("a... (300 bytes)"), "a... (300 bytes)") == 0,
          "a 300-byte text frame is cut: \"...a... (300 bytes)\" (got \"%s\")", i >= 0 ? line : "");
    snprintf(want, sizeof want, "conn %lu <- aaaaaaaaaaaaaaaa", n);
    i = log_wait(PREFIX, want, line, sizeof line);
    check(i >= 0 && strstr(line, "... (300 bytes)") != NULL, "its echo is cut too (got \"%s\")",
          i >= 0 ? line : "");

    korean[0] = '\0';
    for (i = 0; i < 200; i++) {
        strcat(korean, "한");
    }
    ws_send_text(fd, korean);
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0 && w.len == 600, "/echo: 600 bytes of Korean echoed");
    ws_msg_free(&w);
    snprintf(want, sizeof want, "conn %lu -> 한한한", n);
    i = log_wait(PREFIX, want, line, sizeof line);
    check(i >= 0 && strlen(line) < 600 &&
          strcmp(line + strlen(line) - strlen("한... (600 bytes)"), "한... (600 bytes)") == 0,
          "long Korean text is cut between characters: \"...한... (600 bytes)\" (got \"%s\")",
          i >= 0 ? line : "");

    ws_send_frame(fd, 0x88, "", 0);
    check(ws_recv_close_code(fd, ms(T_TIMEOUT_MS)) == 1000, "/echo: empty close answered with 1000");
    expect_line(EXACT, "conn %lu -> close, no code", n);
    expect_line(EXACT, "conn %lu <- close 1000 normal closure", n);
    close(fd);
    expect_line(PREFIX, "conn %lu: closed (", n);

    /* Invalid UTF-8 in a text frame: shown as dots, answered with 1007. */
    fd = ws_connect(g_srv.port, "/echo");
    if (!check(fd >= 0, "/echo: second WebSocket opens")) {
        return;
    }
    ws_send_text(fd, "trace-mark-bad");
    check(ws_recv_frame(fd, &w, ms(T_TIMEOUT_MS)) == 0, "/echo: marker echoed");
    ws_msg_free(&w);
    n = conn_of(SUFFIX, " -> trace-mark-bad");
    ws_send_text(fd, "ab\xff\xfe\xc3");
    check(ws_recv_close_code(fd, ms(T_TIMEOUT_MS)) == 1007, "invalid UTF-8 text: close 1007");
    expect_line(PREFIX, "conn %lu -> ab", n);
    expect_line(EXACT, "conn %lu <- close 1007 invalid payload data", n);
    close(fd);
}

/* Every byte of the trace: printable ASCII, '\n', or valid UTF-8; every
 * line about a connection or a room. */
static void test_printable(void)
{
    size_t len;
    char *log = log_read(&len);
    const unsigned char *p = (const unsigned char *)log;
    size_t i = 0;
    size_t bad = (size_t)-1;
    const char *line;
    int lines = 0;
    int unnamed = 0;
    char first_unnamed[256] = "";
    while (i < len && bad == (size_t)-1) {
        unsigned char ch = p[i];
        size_t need = 0;
        unsigned long cp = 0;
        size_t k;
        if (ch == '\n' || (ch >= 0x20 && ch < 0x7f)) {
            i++;
            continue;
        }
        if (ch >= 0xc2 && ch <= 0xdf) {
            need = 1;
            cp = ch & 0x1f;
        } else if (ch >= 0xe0 && ch <= 0xef) {
            need = 2;
            cp = ch & 0x0f;
        } else if (ch >= 0xf0 && ch <= 0xf4) {
            need = 3;
            cp = ch & 0x07;
        } else {
            bad = i;
            break;
        }
        for (k = 1; k <= need; k++) {
            if (i + k >= len || (p[i + k] & 0xc0) != 0x80) {
                break;
            }
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (k <= need || (need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            bad = i;
            break;
        }
        i += need + 1;
    }
    {
        /* The bytes around the first bad one, shown as ASCII (bad ones as '?'). */
        char around[64] = "";
        size_t from = bad != (size_t)-1 && bad > 30 ? bad - 30 : 0;
        size_t k;
        for (k = 0; bad != (size_t)-1 && k + 1 < sizeof around && from + k < len; k++) {
            unsigned char ch = p[from + k];
            around[k] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
            around[k + 1] = '\0';
        }
        check(bad == (size_t)-1, "the trace is printable UTF-8 text (first bad byte 0x%02x at %ld: \"%s\")",
              bad == (size_t)-1 ? 0 : p[bad], bad == (size_t)-1 ? -1L : (long)bad, around);
    }
    for (line = log; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        lines++;
        if (strncmp(line, "conn ", 5) != 0 && strncmp(line, "room ", 5) != 0 && unnamed++ == 0) {
            snprintf(first_unnamed, sizeof first_unnamed, "%.*s", (int)(n < 200 ? n : 200), line);
        }
        line += nl ? n + 1 : n;
    }
    check(lines > 50, "the trace has a line per event (%d lines)", lines);
    check(unnamed == 0, "every trace line starts with \"conn N\" or \"room\" (%d do not, first \"%s\")",
          unnamed, first_unnamed);
    check(len > 0 && log[len - 1] == '\n', "the trace ends with a whole line");
    free(log);
}

int main(void)
{
    char root[64];
    char path[128];
    const char *slow = getenv("T_SLOW");
    g_slow = slow != NULL && *slow != '\0' && strcmp(slow, "0") != 0;
    signal(SIGPIPE, SIG_IGN);
    snprintf(root, sizeof root, "%s", make_temp_dir());
    snprintf(path, sizeof path, "%s/one.txt", root);
    write_file(path, "x", 1);

    if (check(server_start(&g_srv, "-r", root, "-v", NULL) == 0, "server starts with -v")) {
        test_http_status_and_size();
        test_polling_hint_verbose();
        test_sio_naming();
        test_rooms_and_close();
        test_names();
        test_echo_frames();
        test_printable();
        if (t_failed > 0 || getenv("TEST_VERBOSE")) {
            char *log = log_read(NULL);
            printf("---- the trace ----\n%.12000s---- end of the trace ----\n", log);
            free(log);
        }
        check(server_stop(&g_srv) == 0, "-v server exits 0");
    }
    test_polling_hint_once_quiet(root);
    remove_tree(root);
    return test_summary();
}
