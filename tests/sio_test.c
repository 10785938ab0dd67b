/* sio_test.c -- the signaling service over raw sockets: Engine.IO v4 and
 * Socket.IO v5 on the WebSocket transport, and the codelab's create-or-join
 * rooms.  Checks the sections "Engine.IO v4 and Socket.IO v5 over the
 * WebSocket transport" and "Rooms" of the spec (/work/shared/spec/behaviour.md).
 *
 * Build and run from the repository root:
 *   cc -std=c99 -Wall -Wextra -pedantic -Wno-unused-function -I tests \
 *      -o tests/build/sio_test tests/sio_test.c && tests/build/sio_test
 * The server binary is $SIGNAL_BIN or ./signal.  TEST_VERBOSE=1 prints
 * every check.  Two server instances: one with the default intervals for
 * almost everything, one with -i 200 -t 300 for the heartbeat cases.
 * T_SLOW=1 (the server under valgrind) makes every time limit and both
 * intervals five times longer. */
#include "testlib.h"

#include <ifaddrs.h>
#include <sys/resource.h>

#define WAIT_MS ms(2000)      /* how long to wait for an expected answer */
#define BULK_CLIENTS 500      /* the many-rooms case: 250 rooms of two */

static int g_port;            /* the server with default intervals */
static int g_slow;            /* T_SLOW set (valgrind): times grow five-fold */
static int g_ack = 100;       /* next ack id used as a sync marker */

/* A time limit in ms, five times longer under T_SLOW. */
static int ms(int x)
{
    return g_slow ? x * 5 : x;
}

/* ---- a small JSON reader (RFC 8259), to check what the server writes --- */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

static int hex4(const char *p, unsigned long *v)
{
    int i;
    *v = 0;
    for (i = 0; i < 4; i++) {
        int c = (unsigned char)p[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            return -1;
        }
        *v = *v * 16 + (unsigned long)d;
    }
    return 0;
}

static void put_byte(char *out, size_t cap, size_t *n, int c)
{
    if (out != NULL && *n + 1 < cap) {
        out[*n] = (char)c;
    }
    (*n)++;
}

static void put_utf8(char *out, size_t cap, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        put_byte(out, cap, n, (int)cp);
    } else if (cp < 0x800) {
        put_byte(out, cap, n, (int)(0xc0 | (cp >> 6)));
        put_byte(out, cap, n, (int)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        put_byte(out, cap, n, (int)(0xe0 | (cp >> 12)));
        put_byte(out, cap, n, (int)(0x80 | ((cp >> 6) & 0x3f)));
        put_byte(out, cap, n, (int)(0x80 | (cp & 0x3f)));
    } else {
        put_byte(out, cap, n, (int)(0xf0 | (cp >> 18)));
        put_byte(out, cap, n, (int)(0x80 | ((cp >> 12) & 0x3f)));
        put_byte(out, cap, n, (int)(0x80 | ((cp >> 6) & 0x3f)));
        put_byte(out, cap, n, (int)(0x80 | (cp & 0x3f)));
    }
}

/* Reads the JSON string at p (RFC 8259 §7): unescaped bytes go to out
 * (NUL-terminated, truncated to cap), their count to *len.  Returns the
 * position after the closing quote, or NULL if it is not a valid string
 * (raw control character, bad escape, lone surrogate). */
static const char *json_string(const char *p, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    if (*p != '"') {
        return NULL;
    }
    for (p++; *p != '"'; ) {
        unsigned char c = (unsigned char)*p;
        unsigned long cp, lo;
        if (c < 0x20) {
            return NULL;
        }
        if (c != '\\') {
            put_byte(out, cap, &n, c);
            p++;
            continue;
        }
        p++;
        switch (*p) {
        case '"': case '\\': case '/': put_byte(out, cap, &n, *p); p++; break;
        case 'b': put_byte(out, cap, &n, '\b'); p++; break;
        case 'f': put_byte(out, cap, &n, '\f'); p++; break;
        case 'n': put_byte(out, cap, &n, '\n'); p++; break;
        case 'r': put_byte(out, cap, &n, '\r'); p++; break;
        case 't': put_byte(out, cap, &n, '\t'); p++; break;
        case 'u':
            if (hex4(p + 1, &cp) != 0) {
                return NULL;
            }
            p += 5;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    return NULL;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return NULL;
            }
            put_utf8(out, cap, &n, cp);
            break;
        default:
            return NULL;
        }
    }
    if (out != NULL && cap > 0) {
        out[n < cap ? n : cap - 1] = '\0';
    }
    if (len != NULL) {
        *len = n;
    }
    return p + 1;
}

static const char *json_value(const char *p, int depth);

static const char *json_number(const char *p)
{
    const char *start;
    if (*p == '-') {
        p++;
    }
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        return NULL;
    }
    if (*p == '.') {
        start = ++p;
        while (*p >= '0' && *p <= '9') {
            p++;
        }
        if (p == start) {
            return NULL;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        start = p;
        while (*p >= '0' && *p <= '9') {
            p++;
        }
        if (p == start) {
            return NULL;
        }
    }
    return p;
}

/* Object or array at p (after its opening bracket), closing with `close`. */
static const char *json_container(const char *p, int close, int depth)
{
    p = json_ws(p);
    if (*p == close) {
        return p + 1;
    }
    for (;;) {
        if (close == '}') {
            p = json_string(json_ws(p), NULL, 0, NULL);
            if (p == NULL || *(p = json_ws(p)) != ':') {
                return NULL;
            }
            p++;
        }
        p = json_value(p, depth + 1);
        if (p == NULL) {
            return NULL;
        }
        p = json_ws(p);
        if (*p == close) {
            return p + 1;
        }
        if (*p != ',') {
            return NULL;
        }
        p++;
    }
}

/* Skips one JSON value; returns the position after it, or NULL. */
static const char *json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 64) {
        return NULL;
    }
    switch (*p) {
    case '"': return json_string(p, NULL, 0, NULL);
    case '{': return json_container(p + 1, '}', depth);
    case '[': return json_container(p + 1, ']', depth);
    case 't': return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f': return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n': return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: return json_number(p);
    }
}

/* 1 if s is exactly one JSON value (with optional surrounding blanks). */
static int json_complete(const char *s)
{
    const char *p = json_value(s, 0);
    return p != NULL && *json_ws(p) == '\0';
}

/* ---- Socket.IO packets as the server writes them ----------------------- */

#define LOG_START "42[\"log\",[\"Message from server:\""

/* 1 if m is a well-formed packet: Engine.IO open "0{...}", or a Socket.IO
 * packet "4" type [/nsp,] [ack id] [one JSON value] (socket.io-protocol v5,
 * "Packet encoding"). */
static int packet_well_formed(const char *m)
{
    const char *p = m;
    if (m[0] == '0') {
        return m[1] == '{' && json_complete(m + 1);
    }
    if (m[0] != '4' || m[1] < '0' || m[1] > '6') {
        return 0;
    }
    p = m + 2;
    if (*p == '/') {
        p = strchr(p, ',');
        if (p == NULL) {
            return 0;
        }
        p++;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    return *p == '\0' || json_complete(p);
}

static int is_log(const char *m)
{
    return strncmp(m, "42[\"log\",", 9) == 0;
}

/* The next message (server pings answered on the way), checked for
 * well-formedness; NULL on close or after WAIT_MS. */
static char *rx(int fd)
{
    char *m = sio_recv(fd, WAIT_MS);
    if (m != NULL && !packet_well_formed(m)) {
        check(0, "server wrote a malformed packet: %.300s", m);
    }
    if (m != NULL && is_log(m) && strncmp(m, LOG_START, strlen(LOG_START)) != 0) {
        check(0, "log does not start with \"Message from server:\": %.300s", m);
    }
    return m;
}

/* What a client received before the message a test waits for. */
#define MAX_SEEN 64
struct seen {
    char *m[MAX_SEEN];
    int n;
};

static void seen_free(struct seen *s)
{
    int i;
    for (i = 0; i < s->n; i++) {
        free(s->m[i]);
    }
    s->n = 0;
}

/* Reads until a message starting with prefix; the ones before it are kept
 * in *s (or dropped when s is NULL).  Returns it, or NULL. */
static char *rx_until(int fd, const char *prefix, struct seen *s)
{
    long long deadline = now_ms() + WAIT_MS;
    while (now_ms() < deadline) {
        char *m = rx(fd);
        if (m == NULL) {
            return NULL;
        }
        if (strncmp(m, prefix, strlen(prefix)) == 0) {
            return m;
        }
        if (s != NULL && s->n < MAX_SEEN) {
            s->m[s->n++] = m;
        } else {
            free(m);
        }
    }
    return NULL;
}

/* The next message that is not a log event. */
static char *rx_non_log(int fd)
{
    for (;;) {
        char *m = rx(fd);
        if (m == NULL || !is_log(m)) {
            return m;
        }
        free(m);
    }
}

/* 1 if the next message is exactly `want` (reported with `what`). */
static int expect_exact(int fd, const char *want, const char *what)
{
    char *m = rx(fd);
    int ok = check(m != NULL && strcmp(m, want) == 0, "%s: want %s, got %.300s", what, want,
                   m ? m : "(nothing)");
    free(m);
    return ok;
}

/* 1 if the next non-log message is exactly `want`. */
static int expect_non_log(int fd, const char *want, const char *what)
{
    char *m = rx_non_log(fd);
    int ok = check(m != NULL && strcmp(m, want) == 0, "%s: want %s, got %.300s", what, want,
                   m ? m : "(nothing)");
    free(m);
    return ok;
}

static int count_logs(const struct seen *s)
{
    int i, n = 0;
    for (i = 0; i < s->n; i++) {
        n += is_log(s->m[i]);
    }
    return n;
}

/* 1 if one of the log events in s contains `text` (plain ASCII, so its
 * JSON spelling is itself). */
static int has_log(const struct seen *s, const char *text)
{
    int i;
    for (i = 0; i < s->n; i++) {
        if (is_log(s->m[i]) && strstr(s->m[i], text) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* The N of the "Room <room> now has N client(s)" log in s, or -1. */
static int logged_room_count(const struct seen *s, const char *room)
{
    char want[160];
    int i;
    snprintf(want, sizeof want, "Room %s now has ", room);
    for (i = 0; i < s->n; i++) {
        const char *p = is_log(s->m[i]) ? strstr(s->m[i], want) : NULL;
        if (p != NULL) {
            char *end;
            long n = strtol(p + strlen(want), &end, 10);
            return strncmp(end, " client(s)", 10) == 0 ? (int)n : -1;
        }
    }
    return -1;
}

/* Sends `42<id>["bye"]` and reads up to its ack `43<id>[]`, keeping what
 * came before it in *s: everything the server sent this client before the
 * bye is then read.  Returns 1 if the ack came. */
static int sync_ack(int fd, struct seen *s)
{
    char req[64], ack[32];
    char *m;
    int ok;
    int id = g_ack++;
    snprintf(req, sizeof req, "42%d[\"bye\"]", id);
    snprintf(ack, sizeof ack, "43%d[]", id);
    ws_send_text(fd, req);
    m = rx_until(fd, ack, s);
    ok = m != NULL && strcmp(m, ack) == 0;
    free(m);
    return check(ok, "ack %s answers %s", ack, req);
}

/* How many relayed `message` events reach fd before a sync ack (-1: no
 * ack). */
static int messages_before_ack(int fd)
{
    struct seen s;
    int i, n = 0;
    memset(&s, 0, sizeof s);
    if (!sync_ack(fd, &s)) {
        seen_free(&s);
        return -1;
    }
    for (i = 0; i < s.n; i++) {
        if (strncmp(s.m[i], "42[\"message\"", 12) == 0) {
            printf("  (unexpected: %.200s)\n", s.m[i]);
            n++;
        }
    }
    seen_free(&s);
    return n;
}

/* Counts the log and the other events before a sync ack. */
static void events_before_ack(int fd, int *logs, int *others)
{
    struct seen s;
    int i;
    memset(&s, 0, sizeof s);
    *logs = 0;
    *others = -1;
    if (sync_ack(fd, &s)) {
        *others = 0;
        for (i = 0; i < s.n; i++) {
            if (is_log(s.m[i])) {
                (*logs)++;
            } else {
                printf("  (unexpected: %.200s)\n", s.m[i]);
                (*others)++;
            }
        }
    }
    seen_free(&s);
}

/* ---- clients ----------------------------------------------------------- */

static int id_is_url_base64_20(const char *id, size_t len)
{
    size_t i;
    if (len != 20) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* A connected Socket.IO client on the default server, its id in id. */
static int client(char id[21])
{
    int fd = sio_connect(g_port, id);
    check(fd >= 0, "Socket.IO client connects (open packet, 40 -> 40{\"sid\"})");
    return fd;
}

/* The WebSocket to the Socket.IO endpoint, open packet read into *open
 * (malloc'd) when open is not NULL; no CONNECT sent. */
static int eio_only(int port, char **open)
{
    int fd = ws_connect(port, "/socket.io/?EIO=4&transport=websocket");
    char *m;
    if (fd < 0) {
        check(0, "WebSocket upgrade on /socket.io/ answered 101");
        return -1;
    }
    m = sio_recv(fd, WAIT_MS);
    check(m != NULL && m[0] == '0', "open packet right after the 101 (got %.200s)", m ? m : "(nothing)");
    if (open != NULL) {
        *open = m;
    } else {
        free(m);
    }
    return fd;
}

static void emit_create_or_join(int fd, const char *room_json)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "42[\"create or join\",%s]", room_json);
    ws_send_text(fd, buf);
}

/* Sends create or join for a plain ASCII room and checks the exact
 * `created` answer. */
static int create_room(int fd, const char *room, const char *id)
{
    char want[256], rj[160];
    char *m;
    int ok;
    snprintf(rj, sizeof rj, "\"%s\"", room);
    snprintf(want, sizeof want, "42[\"created\",\"%s\",\"%s\"]", room, id);
    emit_create_or_join(fd, rj);
    m = rx_non_log(fd);
    ok = check(m != NULL && strcmp(m, want) == 0, "create or join %s on an empty room: want %s, got %.300s",
               room, want, m ? m : "(nothing)");
    free(m);
    return ok;
}

/* Sends create or join for a room that has one client: checks the joiner
 * gets joined then ready, and the one inside (`inside`) join then ready. */
static int join_room(int fd, const char *id, int inside, const char *room)
{
    char want[256], rj[160];
    int ok;
    snprintf(rj, sizeof rj, "\"%s\"", room);
    emit_create_or_join(fd, rj);
    snprintf(want, sizeof want, "42[\"joined\",\"%s\",\"%s\"]", room, id);
    ok = expect_non_log(fd, want, "the joiner gets joined");
    ok &= expect_non_log(fd, "42[\"ready\"]", "the joiner gets ready");
    snprintf(want, sizeof want, "42[\"join\",\"%s\"]", room);
    ok &= expect_exact(inside, want, "the one inside gets join");
    ok &= expect_exact(inside, "42[\"ready\"]", "the one inside gets ready");
    return ok;
}

/* Two clients in `room`: a created it, b joined it. */
static int pair(const char *room, int *a, char ida[21], int *b, char idb[21])
{
    *a = client(ida);
    *b = client(idb);
    if (*a < 0 || *b < 0) {
        return 0;
    }
    return create_room(*a, room, ida) && join_room(*b, idb, *a, room);
}

static void close_fd(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

/* Sends a WebSocket close frame with `code`. */
static void ws_send_close(int fd, int code)
{
    unsigned char c[2];
    c[0] = (unsigned char)(code >> 8);
    c[1] = (unsigned char)code;
    ws_send_frame(fd, 0x88, c, 2);
}

/* Closes with an RST instead of a FIN (SO_LINGER with a zero timeout). */
static void close_with_reset(int fd)
{
    struct linger l;
    l.l_onoff = 1;
    l.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* 1 if the server ends the connection (a close frame, EOF or reset)
 * within timeout_ms; data frames before it are skipped, pings are NOT
 * answered. */
static int ended_within(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p;
        struct ws_msg m;
        long long left = deadline - now_ms();
        p.fd = fd;
        p.events = POLLIN;
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            return 0;
        }
        if (ws_recv_frame(fd, &m, (int)(left > 0 ? left : 1)) != 0) {
            return 1;
        }
        ws_msg_free(&m);
        if (m.opcode == 8) {
            return 1;
        }
    }
}

/* Expects the server to close with `code`, answers the close, and checks
 * the TCP connection then ends. */
static void expect_close_code(int fd, int code, const char *what)
{
    int got = ws_recv_close_code(fd, WAIT_MS);
    check(got == code, "%s: want close %d, got %d", what, code, got);
    ws_send_close(fd, got > 0 ? got : 1000);
    check(wait_closed(fd, WAIT_MS), "%s: connection ends after the close", what);
}

/* Builds a masked client frame (RFC 6455 §5.2) in a malloc'd buffer. */
static unsigned char *build_frame(unsigned first_byte, const unsigned char *payload, size_t n, size_t *out_len)
{
    unsigned char *f = malloc(n + 14);
    if (f != NULL) {
        *out_len = ws_frame_put(f, first_byte, payload, n);
    }
    return f;
}

/* Sends bytes in 16 KiB chunks, stopping early once the server has
 * something to say (its close), so a server that refuses a long message
 * at its header does not leave us blocked on a full socket. */
static void send_watching(int fd, const unsigned char *b, size_t n)
{
    while (n > 0) {
        struct pollfd p;
        size_t chunk = n < 16384 ? n : 16384;
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 0) > 0) {
            return;
        }
        if (send_all(fd, b, chunk) != 0) {
            return;
        }
        b += chunk;
        n -= chunk;
    }
}

/* A `42["message","xxx..."]` packet of exactly `total` bytes. */
static unsigned char *message_of_size(size_t total)
{
    unsigned char *p = malloc(total + 1);
    memcpy(p, "42[\"message\",\"", 14);
    memset(p + 14, 'x', total - 16);
    memcpy(p + total - 2, "\"]", 2);
    p[total] = '\0';
    return p;
}

/* ---- Engine.IO handshake and Socket.IO CONNECT ------------------------- */

/* Spec: right after the 101 the server sends
 * 0{"sid":"<id>","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000};
 * ids are 20 characters of URL-safe base64. */
static void test_open_packet(int port, int interval, int timeout)
{
    char *open = NULL;
    char want[256];
    int fd = eio_only(port, &open);
    if (fd < 0 || open == NULL) {
        close_fd(fd);
        free(open);
        return;
    }
    check(strncmp(open, "0{\"sid\":\"", 9) == 0 && strlen(open) > 29 && open[29] == '"'
          && id_is_url_base64_20(open + 9, 20), "open packet sid is 20 URL-safe base64 chars: %s", open);
    snprintf(want, sizeof want,
             "0{\"sid\":\"%.20s\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":%d,\"maxPayload\":1000000}",
             strlen(open) > 29 ? open + 9 : "", interval, timeout);
    check(strcmp(open, want) == 0, "open packet: want %s, got %s", want, open);
    free(open);
    close(fd);
}

/* Spec: "40" (with or without an auth payload) -> 40{"sid":"<socket id>"};
 * socket ids are 20 URL-safe base64 chars, unique, not the Engine.IO sid. */
static void test_connect_gives_socket_id(void)
{
    static const char *const connects[] = {"40", "40{\"token\":\"x\"}"};
    char ids[4][21];
    int n = 0, i, j;
    for (i = 0; i < 2; i++) {
        char *open = NULL, *m;
        int fd = eio_only(g_port, &open);
        if (fd < 0 || open == NULL) {
            free(open);
            close_fd(fd);
            continue;
        }
        ws_send_text(fd, connects[i]);
        m = rx(fd);
        if (check(m != NULL && strncmp(m, "40{\"sid\":\"", 10) == 0 && strlen(m) == 32
                  && strcmp(m + 30, "\"}") == 0 && id_is_url_base64_20(m + 10, 20),
                  "%s -> 40{\"sid\":\"<20 chars>\"}, got %.200s", connects[i], m ? m : "(nothing)")) {
            memcpy(ids[n], open + 9, 20);
            ids[n++][20] = '\0';
            memcpy(ids[n], m + 10, 20);
            ids[n++][20] = '\0';
        }
        free(open);
        free(m);
        close(fd);
    }
    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            check(strcmp(ids[i], ids[j]) != 0, "ids differ (Engine.IO sids and socket ids): %s vs %s",
                  ids[i], ids[j]);
        }
    }
}

/* Spec: socket ids unique among live clients. */
static void test_socket_ids_unique(void)
{
    char ids[8][21];
    int fds[8], i, j, live = 0, dups = 0;
    for (i = 0; i < 8; i++) {
        fds[i] = client(ids[i]);
        live += fds[i] >= 0;
    }
    for (i = 0; i < 8; i++) {
        for (j = i + 1; j < 8; j++) {
            if (fds[i] >= 0 && fds[j] >= 0 && strcmp(ids[i], ids[j]) == 0) {
                dups++;
            }
        }
    }
    check(live == 8 && dups == 0, "8 live clients have 8 distinct socket ids (%d live, %d duplicates)", live, dups);
    for (i = 0; i < 8; i++) {
        close_fd(fds[i]);
    }
}

/* Spec: a CONNECT to another namespace -> 44/ns,{"message":"Invalid namespace"};
 * the connection stays, and a later CONNECT to / works. */
static void test_other_namespace_refused(void)
{
    char *m;
    char id[21];
    int fd = eio_only(g_port, NULL);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "40/admin,");
    expect_exact(fd, "44/admin,{\"message\":\"Invalid namespace\"}", "CONNECT to /admin refused");
    ws_send_text(fd, "40");
    m = rx(fd);
    check(m != NULL && strncmp(m, "40{\"sid\":\"", 10) == 0 && strlen(m) == 32,
          "after the refused namespace, 40 still connects (got %.200s)", m ? m : "(nothing)");
    if (m != NULL && strlen(m) == 32) {
        memcpy(id, m + 10, 20);
        id[20] = '\0';
        create_room(fd, "ns-after-admin", id);
    }
    free(m);
    close(fd);
}

/* The refusal names the namespace in full (so the official client can
 * match it) up to NAMESPACE_MAX (256) bytes; a longer name is not a
 * namespace we could ever serve: the connection closes with 1008. */
static void test_long_namespace(void)
{
    char nsp[400], req[420], want[480];
    int fd = eio_only(g_port, NULL);
    if (fd < 0) {
        return;
    }
    nsp[0] = '/';
    memset(nsp + 1, 'n', 199);
    nsp[200] = '\0';
    snprintf(req, sizeof req, "40%s,", nsp);
    snprintf(want, sizeof want, "44%s,{\"message\":\"Invalid namespace\"}", nsp);
    ws_send_text(fd, req);
    expect_exact(fd, want, "CONNECT to a 200-byte namespace refused with its full name");
    memset(nsp + 1, 'n', 299);
    nsp[300] = '\0';
    snprintf(req, sizeof req, "40%s,", nsp);
    ws_send_text(fd, req);
    expect_close_code(fd, 1008, "CONNECT to a 300-byte namespace");
    close(fd);
}

/* ---- HTTP answers of the endpoint -------------------------------------- */

static void expect_http(const char *target, int upgrade, int status, const char *body)
{
    char req[1024];
    struct http_response r;
    int got;
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", target,
             upgrade ? "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" : "");
    memset(&r, 0, sizeof r);
    got = http_request_once(g_port, req, &r);
    check(got == status && r.body != NULL && strcmp(r.body, body) == 0,
          "GET %s: want %d %s, got %d %.200s", target, status, body, got, r.body ? r.body : "");
    http_response_free(&r);
}

/* Spec: transport=polling -> 400 {"code":0,...}; EIO other than 4 -> 400
 * {"code":5,...}; query parameters in any order, unknown ones ignored. */
static void test_http_refusals(void)
{
    static const char *const tu = "{\"code\":0,\"message\":\"Transport unknown\"}";
    static const char *const upv = "{\"code\":5,\"message\":\"Unsupported protocol version\"}";
    expect_http("/socket.io/?EIO=4&transport=polling", 0, 400, tu);
    expect_http("/socket.io/?transport=polling&EIO=4", 0, 400, tu);
    expect_http("/socket.io/?t=NbXq2&transport=polling&EIO=4", 0, 400, tu);
    expect_http("/socket.io/?EIO=3&transport=websocket", 1, 400, upv);
    expect_http("/socket.io/?transport=websocket&EIO=3", 1, 400, upv);
}

/* Spec: query parameters come in any order; unknown ones are ignored. */
static void test_query_any_order(void)
{
    static const char *const paths[] = {
        "/socket.io/?transport=websocket&EIO=4",
        "/socket.io/?EIO=4&t=abc&transport=websocket",
        "/socket.io/?foo=1&transport=websocket&EIO=4&bar",
    };
    int i;
    for (i = 0; i < 3; i++) {
        int fd = ws_connect(g_port, paths[i]);
        char *m = fd >= 0 ? sio_recv(fd, WAIT_MS) : NULL;
        check(m != NULL && strncmp(m, "0{\"sid\":\"", 9) == 0, "%s upgrades and sends the open packet", paths[i]);
        free(m);
        close_fd(fd);
    }
}

/* ---- Engine.IO packets from the client --------------------------------- */

/* Spec: "6" (noop) is ignored. */
static void test_noop_ignored(void)
{
    char id[21];
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "6");
    create_room(fd, "noop-room", id);
    close(fd);
}

/* Spec: a "1" (close) from the client closes it; it leaves its room. */
static void test_client_close_packet(void)
{
    char ida[21], idb[21];
    int a = client(ida), b;
    if (a < 0 || !create_room(a, "eio-close", ida)) {
        close_fd(a);
        return;
    }
    ws_send_text(a, "1");
    check(ended_within(a, WAIT_MS), "Engine.IO close \"1\" from the client ends the connection");
    close(a);
    b = client(idb);
    if (b >= 0) {
        create_room(b, "eio-close", idb);
    }
    close_fd(b);
}

/* Spec: in Engine.IO v4 only the server pings; a client "2" closes it. */
static void test_client_ping_closes(void)
{
    char id[21];
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "2");
    check(ended_within(fd, WAIT_MS), "a ping \"2\" from the client closes the connection");
    close(fd);
}

/* ---- malformed input --------------------------------------------------- */

/* Spec: a packet that does not parse closes that connection with 1008. */
static void test_malformed_packets_close_1008(void)
{
    static const char *const bad[] = {
        "7",                        /* no such Engine.IO type */
        "x",
        "4abc",                     /* no such Socket.IO type */
        "49[\"bye\"]",
        "42{}",                     /* an event must be an array */
        "42[]",                     /* ... that is not empty */
        "42[1]",                    /* ... whose name is a string */
        "42[null,\"foo\"]",
        "42[\"a\",",                /* malformed JSON */
        "42[\"message\",{\"a\":}]",
        "42[\"bye\"]x",
        "42[\"create or join\",\"foo]",
        "",                         /* no Engine.IO type at all */
        "4",                        /* no Socket.IO type */
        "42",                       /* an event without its array */
        "425",
        "42[\"message\",01]",       /* numbers (RFC 8259 §6) */
        "42[\"message\",1.]",
        "42[\"message\",-]",
        "42[\"message\",[1,]]",      /* arrays and objects (§4, §5) */
        "42[\"message\",{\"a\" 1}]",
        "42[\"message\",{1:2}]",
        "42[\"message\",tru]",
        "42[\"message\",\"tab\there\"]", /* raw control character in a string (§7) */
        "42[\"message\",\"\\x\"]",     /* unknown escape */
        "42[\"message\",\"\\u12\"]",   /* short \u escape */
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char id[21], what[128];
        int fd = client(id);
        if (fd < 0) {
            continue;
        }
        snprintf(what, sizeof what, "malformed %s", bad[i]);
        ws_send_text(fd, bad[i]);
        expect_close_code(fd, 1008, what);
        close(fd);
    }
}

/* Spec: any packet before the CONNECT closes the connection (1008). */
static void test_packet_before_connect(void)
{
    int fd = eio_only(g_port, NULL);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "42[\"ipaddr\"]");
    expect_close_code(fd, 1008, "event before 40");
    close(fd);
}

/* Spec: CONNECT takes an optional JSON auth payload; one that does not
 * parse closes the connection (1008). */
static void test_connect_bad_payload(void)
{
    int fd = eio_only(g_port, NULL);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "40{\"token\":");
    expect_close_code(fd, 1008, "CONNECT with a malformed JSON payload");
    close(fd);
}

/* Spec (WebSocket): binary messages on the Socket.IO endpoint -> 1003. */
static void test_binary_frame_1003(void)
{
    char id[21];
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    ws_send_frame(fd, 0x82, "42[\"bye\"]", 9);
    expect_close_code(fd, 1003, "binary frame");
    close(fd);
}

/* Spec: a message over 1,000,000 bytes (maxPayload) -> 1009, whether in
 * one frame or in fragments. */
static void test_oversized_message_1009(void)
{
    char id[21];
    unsigned char *msg = message_of_size(1000001);
    size_t flen;
    unsigned char *frame = build_frame(0x81, msg, 1000001, &flen);
    int fd = client(id);
    if (fd >= 0) {
        send_watching(fd, frame, flen);
        expect_close_code(fd, 1009, "one 1,000,001-byte frame");
        close(fd);
    }
    free(frame);

    fd = client(id);
    if (fd >= 0) {
        unsigned char *f1 = build_frame(0x01, msg, 600000, &flen);
        size_t flen2;
        unsigned char *f2 = build_frame(0x80, msg + 600000, 400001, &flen2);
        send_watching(fd, f1, flen);
        send_watching(fd, f2, flen2);
        expect_close_code(fd, 1009, "1,000,001 bytes in two fragments");
        free(f1);
        free(f2);
        close(fd);
    }
    free(msg);
}

/* Spec: maxPayload is 1,000,000: a message of exactly that size is fine
 * and is relayed whole. */
static void test_max_payload_relayed(void)
{
    char ida[21], idb[21];
    int a, b;
    unsigned char *msg = message_of_size(1000000);
    if (pair("max-payload", &a, ida, &b, idb)) {
        size_t flen;
        unsigned char *frame = build_frame(0x81, msg, 1000000, &flen);
        char *m;
        send_all(a, frame, flen);
        free(frame);
        m = rx_non_log(b);
        check(m != NULL && strcmp(m, (char *)msg) == 0, "a 1,000,000-byte message is relayed unchanged (got %zu bytes)",
              m ? strlen(m) : 0);
        free(m);
    }
    free(msg);
    close_fd(a);
    close_fd(b);
}

/* Spec: a malformed packet closes only that connection; its room-mate is
 * told nothing and goes on (a newcomer can join it and relay to it). */
static void test_malformed_spares_roommate(void)
{
    char ida[21], idb[21], idc[21];
    int a, b, c;
    if (!pair("mal-mate", &a, ida, &b, idb)) {
        close_fd(a);
        close_fd(b);
        return;
    }
    ws_send_text(a, "42[1]");
    expect_close_code(a, 1008, "malformed packet from a room member");
    close(a);
    c = client(idc);
    if (c >= 0 && join_room(c, idc, b, "mal-mate")) {
        ws_send_text(c, "42[\"message\",\"after\"]");
        expect_exact(b, "42[\"message\",\"after\"]", "the room-mate gets the newcomer's message");
    }
    close_fd(b);
    close_fd(c);
}

/* ---- create or join ---------------------------------------------------- */

/* Spec/codelab: empty room -> logs ("Received request...", "Room ... now
 * has N client(s)", "Client ID ... created room ...") then created. */
static void test_create_empty_room(void)
{
    char id[21], want[128], text[128];
    struct seen s;
    char *m;
    int n;
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    memset(&s, 0, sizeof s);
    emit_create_or_join(fd, "\"foo\"");
    m = rx_until(fd, "42[\"created\"", &s);
    snprintf(want, sizeof want, "42[\"created\",\"foo\",\"%s\"]", id);
    check(m != NULL && strcmp(m, want) == 0, "created: want %s, got %.200s", want, m ? m : "(nothing)");
    check(count_logs(&s) == s.n, "only log events come before created");
    check(has_log(&s, "\"Received request to create or join room foo\""), "log: Received request to create or join room foo");
    n = logged_room_count(&s, "foo");
    check(n == 0 || n == 1, "log: Room foo now has N client(s) with N 0 or 1 (got %d)", n);
    snprintf(text, sizeof text, "\"Client ID %s created room foo\"", id);
    check(has_log(&s, text), "log: %s", text);
    free(m);
    seen_free(&s);
    close(fd);
}

/* Spec: 1 client inside -> join to it, joined to the sender, ready to both;
 * the sender also gets the logs. */
static void test_join_second(void)
{
    char ida[21], idb[21], want[128], text[128];
    struct seen s;
    char *m;
    int n;
    int a = client(ida), b = client(idb);
    memset(&s, 0, sizeof s);
    if (a < 0 || b < 0 || !create_room(a, "bar", ida)) {
        close_fd(a);
        close_fd(b);
        return;
    }
    emit_create_or_join(b, "\"bar\"");
    m = rx_until(b, "42[\"joined\"", &s);
    snprintf(want, sizeof want, "42[\"joined\",\"bar\",\"%s\"]", idb);
    check(m != NULL && strcmp(m, want) == 0, "joined: want %s, got %.200s", want, m ? m : "(nothing)");
    check(count_logs(&s) == s.n, "only log events come before joined");
    check(has_log(&s, "\"Received request to create or join room bar\""), "log: Received request to create or join room bar");
    n = logged_room_count(&s, "bar");
    check(n == 1 || n == 2, "log: Room bar now has N client(s) with N 1 or 2 (got %d)", n);
    snprintf(text, sizeof text, "\"Client ID %s joined room bar\"", idb);
    check(has_log(&s, text), "log: %s", text);
    expect_non_log(b, "42[\"ready\"]", "the joiner gets ready after joined");
    expect_exact(a, "42[\"join\",\"bar\"]", "the one inside gets join first");
    expect_exact(a, "42[\"ready\"]", "then ready");
    check(messages_before_ack(a) == 0 && messages_before_ack(b) == 0, "nothing more for either");
    free(m);
    seen_free(&s);
    close(a);
    close(b);
}

/* Spec: 2 clients inside -> full to the sender, nothing to the two; the
 * refused client is in no room and can create another. */
static void test_full_third(void)
{
    char ida[21], idb[21], idc[21];
    struct seen s;
    char *m;
    int a, b, c;
    memset(&s, 0, sizeof s);
    if (!pair("baz", &a, ida, &b, idb)) {
        close_fd(a);
        close_fd(b);
        return;
    }
    c = client(idc);
    if (c >= 0) {
        emit_create_or_join(c, "\"baz\"");
        m = rx_until(c, "42[\"full\"", &s);
        check(m != NULL && strcmp(m, "42[\"full\",\"baz\"]") == 0, "third client gets 42[\"full\",\"baz\"], got %.200s",
              m ? m : "(nothing)");
        check(count_logs(&s) == s.n, "only log events come before full");
        free(m);
        seen_free(&s);
        {
            int logs, others;
            events_before_ack(a, &logs, &others);
            check(others == 0, "the two inside hear nothing of the refused client");
        }
        create_room(c, "baz-2", idc);
    }
    close(a);
    close(b);
    close_fd(c);
}


/* One bad room argument: the client gets logs and nothing else (no
 * created), and stays in no room: a valid create or join then creates. */
static void expect_room_refused(const char *arg_json, const char *what)
{
    static int n;
    char id[21], req[600], room[32];
    int base_logs, logs, others;
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    events_before_ack(fd, &base_logs, &others); /* what a bare sync costs */
    snprintf(req, sizeof req, "42[\"create or join\"%s%s]", arg_json[0] ? "," : "", arg_json);
    ws_send_text(fd, req);
    events_before_ack(fd, &logs, &others);
    check(logs > base_logs, "room %s: a log explains the refusal", what);
    check(others == 0, "room %s: no created/joined/full", what);
    snprintf(room, sizeof room, "after-refusal-%d", n++);
    create_room(fd, room, id);
    close(fd);
}

/* Spec: a room name is a JSON string of 1 to 64 bytes after unescaping;
 * anything else gets a log naming the problem and nothing else happens. */
static void test_bad_room_names(void)
{
    char long65[80];
    char e33[6 * 33 + 3];
    int i;
    long65[0] = '"';
    memset(long65 + 1, 'a', 65);
    strcpy(long65 + 66, "\"");
    e33[0] = '"';
    for (i = 0; i < 33; i++) {
        memcpy(e33 + 1 + 6 * i, "\\u00e9", 6);
    }
    strcpy(e33 + 1 + 6 * 33, "\"");
    expect_room_refused("\"\"", "\"\" (empty)");
    expect_room_refused(long65, "of 65 bytes");
    expect_room_refused(e33, "of 33 two-byte characters (66 bytes)");
    expect_room_refused("5", "5 (a number)");
    expect_room_refused("null", "null");
    expect_room_refused("[\"foo\"]", "[\"foo\"] (an array)");
    expect_room_refused("", "missing");
    expect_room_refused("\"\\ud800\"", "\\ud800 (a lone surrogate)");
}

/* Reads the string arguments of 42["<event>",<string>...] into out[i]
 * (unescaped, lengths in lens[i]); returns how many, or -1 if m is not
 * that event or an argument is not a valid JSON string. */
static int event_strings(const char *m, const char *event, char out[][256], size_t lens[], int max)
{
    char start[64];
    const char *p;
    int n = 0;
    snprintf(start, sizeof start, "42[\"%s\"", event);
    if (m == NULL || strncmp(m, start, strlen(start)) != 0) {
        return -1;
    }
    p = m + strlen(start);
    for (;;) {
        p = json_ws(p);
        if (*p == ']') {
            return *json_ws(p + 1) == '\0' ? n : -1;
        }
        if (*p != ',' || n == max) {
            return -1;
        }
        p = json_string(json_ws(p + 1), out[n], sizeof out[n], &lens[n]);
        if (p == NULL) {
            return -1;
        }
        n++;
    }
}

/* 1 if m is 42["<event>",<room>(,<id>)] with the room decoding to the
 * `want` bytes (and the id equal to `id` when not NULL). */
static int event_names_room(const char *m, const char *event, const char *want, size_t want_len, const char *id)
{
    char args[2][256];
    size_t lens[2];
    int n = event_strings(m, event, args, lens, 2);
    if (n != (id != NULL ? 2 : 1) || lens[0] != want_len || memcmp(args[0], want, want_len) != 0) {
        return 0;
    }
    return id == NULL || strcmp(args[1], id) == 0;
}

/* Creates a room with one spelling of its name and joins it with another:
 * the server unescapes both to the same bytes and writes them back as
 * valid JSON that decodes to those bytes. */
static void check_room_spellings(const char *create_json, const char *join_json, const char *bytes, size_t len)
{
    char ida[21], idb[21];
    char *m;
    int a = client(ida), b = client(idb);
    if (a < 0 || b < 0) {
        close_fd(a);
        close_fd(b);
        return;
    }
    emit_create_or_join(a, create_json);
    m = rx_non_log(a);
    check(event_names_room(m, "created", bytes, len, ida), "create %s: created names the room, got %.200s",
          create_json, m ? m : "(nothing)");
    free(m);
    emit_create_or_join(b, join_json);
    m = rx_non_log(b);
    check(event_names_room(m, "joined", bytes, len, idb), "join as %s: joined names the room, got %.200s",
          join_json, m ? m : "(nothing)");
    free(m);
    m = rx(a);
    check(event_names_room(m, "join", bytes, len, NULL), "the one inside gets join naming the room, got %.200s",
          m ? m : "(nothing)");
    free(m);
    expect_non_log(b, "42[\"ready\"]", "ready after an escaped room name");
    expect_exact(a, "42[\"ready\"]", "ready after an escaped room name");
    close(a);
    close(b);
}

/* Spec: room names are read with all JSON escapes, \uXXXX and surrogate
 * pairs included, and written back with correct escaping. */
static void test_room_name_escapes(void)
{
    char e32[6 * 32 + 3], raw32[64 + 3], bytes32[65];
    int i;
    check_room_spellings("\"f\\u00f6\\\"o\\\\\"", "\"f\xc3\xb6\\\"o\\\\\"", "f\xc3\xb6\"o\\", 6);
    check_room_spellings("\"\\ud83d\\ude00 room\"", "\"\xf0\x9f\x98\x80 room\"", "\xf0\x9f\x98\x80 room", 9);
    check_room_spellings("\"a\\nb\\u0001\\/\\t\"", "\"a\\u000Ab\\u0001/\\u0009\"", "a\nb\001/\t", 6);
    /* 64 bytes after unescaping, 194 before */
    e32[0] = '"';
    raw32[0] = '"';
    for (i = 0; i < 32; i++) {
        memcpy(e32 + 1 + 6 * i, "\\u00e9", 6);
        memcpy(raw32 + 1 + 2 * i, "\xc3\xa9", 2);
        memcpy(bytes32 + 2 * i, "\xc3\xa9", 2);
    }
    strcpy(e32 + 1 + 6 * 32, "\"");
    strcpy(raw32 + 1 + 2 * 32, "\"");
    check_room_spellings(e32, raw32, bytes32, 64);
}

/* Spec: a 64-byte name is accepted. */
static void test_room_name_64_bytes(void)
{
    char room[65], id[21];
    int fd = client(id);
    memset(room, 'r', 64);
    room[64] = '\0';
    if (fd >= 0) {
        create_room(fd, room, id);
        close(fd);
    }
}

/* Spec: a client is in one room at a time; a second create or join gets a
 * log and changes nothing (neither room gains it). */
static void test_second_create_or_join(void)
{
    char ida[21], idb[21], idc[21];
    int base_logs, logs, others;
    int a = client(ida), b = client(idb), c = client(idc);
    if (a < 0 || b < 0 || c < 0 || !create_room(a, "twice-a", ida)) {
        close_fd(a);
        close_fd(b);
        close_fd(c);
        return;
    }
    events_before_ack(a, &base_logs, &others);
    emit_create_or_join(a, "\"twice-b\"");
    emit_create_or_join(a, "\"twice-a\"");
    events_before_ack(a, &logs, &others);
    check(logs >= base_logs + 2, "each extra create or join gets a log (%d logs, %d for a bare sync)", logs, base_logs);
    check(others == 0, "extra create or join: no created/joined/full");
    create_room(b, "twice-b", idb);          /* a did not enter twice-b */
    join_room(c, idc, a, "twice-a");         /* a is in twice-a once: c joins, not full */
    close(a);
    close(b);
    close(c);
}

/* ---- message relay ----------------------------------------------------- */

/* Spec: message is relayed to the other client of the room with its bytes
 * as they came; not back to the sender. */
static void test_message_relayed_byte_exact(void)
{
    static const char *const pkt =
        "42[\"message\",{ \"type\" :\"offer\",\t\"sdp\":  \"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"  }]";
    char ida[21], idb[21];
    int a, b;
    if (pair("relay-exact", &a, ida, &b, idb)) {
        ws_send_text(a, pkt);
        expect_non_log(b, pkt, "offer relayed byte for byte");
        check(messages_before_ack(a) == 0, "the sender does not get its own message");
        check(messages_before_ack(b) == 0, "the peer gets it once");
    }
    close_fd(a);
    close_fd(b);
}

/* Spec: any JSON value is relayed (codelab: strings, offers, candidates). */
static void test_message_values_relayed(void)
{
    static const char *const values[] = {
        "\"got user media\"", "\"bye\"", "\"\"", "42", "-1.5e3", "null", "true", "false",
        "[ 1 , [2,{}] ,\"x\"]",
        "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}",
        "{\"type\":\"candidate\",\"label\":0,\"id\":\"0\",\"candidate\":\"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host\"}",
        "\"\\ud83d\\ude00 \xc3\xa9 \\u00e9 \\\"q\\\" \\\\ \\/\"",
        "{\"nested\":{\"deep\":[[[[{\"k\":[]}]]]]}}",
        "[[[[[[[[[[[[[[[[[[[[\"20 levels\"]]]]]]]]]]]]]]]]]]]]",
    };
    char ida[21], idb[21], pkt[512];
    int a, b;
    size_t i;
    if (pair("relay-values", &a, ida, &b, idb)) {
        for (i = 0; i < sizeof values / sizeof values[0]; i++) {
            int from = i % 2 ? b : a, to = i % 2 ? a : b;
            snprintf(pkt, sizeof pkt, "42[\"message\",%s]", values[i]);
            ws_send_text(from, pkt);
            expect_non_log(to, pkt, "value relayed unchanged");
        }
    }
    close_fd(a);
    close_fd(b);
}

/* Spec: 42<id>[...] is handled as 42[...] and answered 43<id>[]. */
static void test_message_with_ack(void)
{
    char ida[21], idb[21];
    int a, b;
    if (pair("relay-ack", &a, ida, &b, idb)) {
        ws_send_text(a, "426[\"message\",\"acked\"]");
        expect_non_log(a, "436[]", "message with ack id 6 answered 436[]");
        expect_non_log(b, "42[\"message\",\"acked\"]", "message with an ack id still relayed");
    }
    close_fd(a);
    close_fd(b);
}

/* Spec: relay is room-scoped: two rooms, messages never cross. */
static void test_rooms_isolated(void)
{
    char ida[21], idb[21], idc[21], idd[21];
    int a, b, c, d;
    int ok = pair("iso-1", &a, ida, &b, idb);
    ok &= pair("iso-2", &c, idc, &d, idd);
    if (ok) {
        ws_send_text(a, "42[\"message\",\"from a\"]");
        ws_send_text(c, "42[\"message\",\"from c\"]");
        ws_send_text(d, "42[\"message\",\"from d\"]");
        expect_non_log(b, "42[\"message\",\"from a\"]", "b (room iso-1) gets a's message");
        expect_non_log(d, "42[\"message\",\"from c\"]", "d (room iso-2) gets c's message");
        expect_non_log(c, "42[\"message\",\"from d\"]", "c (room iso-2) gets d's message");
        check(messages_before_ack(a) == 0, "a gets no message from room iso-2");
        check(messages_before_ack(b) == 0, "b gets no message from room iso-2");
        check(messages_before_ack(c) == 0, "c gets nothing from room iso-1");
        check(messages_before_ack(d) == 0, "d gets nothing from room iso-1");
    }
    close_fd(a);
    close_fd(b);
    close_fd(c);
    close_fd(d);
}

/* Spec: a message from a client in no room is dropped, with a log to it. */
static void test_message_outside_room(void)
{
    char ida[21], idb[21], idc[21];
    char *m;
    int a = client(ida), b = client(idb), c = client(idc);
    if (a >= 0 && b >= 0 && c >= 0 && create_room(c, "lonely", idc)) {
        ws_send_text(a, "42[\"message\",\"anyone?\"]");
        m = rx(a);
        check(m != NULL && is_log(m), "a roomless sender gets a log (got %.200s)", m ? m : "(nothing)");
        free(m);
        check(messages_before_ack(a) == 0, "the roomless sender does not get its message");
        check(messages_before_ack(b) == 0, "another roomless client does not get it");
        check(messages_before_ack(c) == 0, "a client alone in a room does not get it");
    }
    close_fd(a);
    close_fd(b);
    close_fd(c);
}

/* ---- other events ------------------------------------------------------ */

/* Spec: 42<id>[...] with an ack id is answered 43<id>[] (bye has no args). */
static void test_ack_answered(void)
{
    char id[21];
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "425[\"bye\"]");
    expect_non_log(fd, "435[]", "425[\"bye\"] acked");
    ws_send_text(fd, "420[\"bye\"]");
    expect_non_log(fd, "430[]", "420[\"bye\"] acked");
    ws_send_text(fd, "4212345[\"bye\"]");
    expect_non_log(fd, "4312345[]", "4212345[\"bye\"] acked");
    close(fd);
}

/* Spec: ipaddr -> one ipaddr event per non-loopback IPv4 address of the
 * machine (as getifaddrs lists them); none if there is none. */
static void test_ipaddr(void)
{
    char want[32][INET_ADDRSTRLEN];
    int nwant = 0, i, j, nseen = 0;
    struct ifaddrs *ifs, *it;
    struct seen s;
    char id[21];
    int fd;
    if (getifaddrs(&ifs) == 0) {
        for (it = ifs; it != NULL; it = it->ifa_next) {
            char buf[INET_ADDRSTRLEN];
            const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)it->ifa_addr;
            int dup = 0;
            if (sin == NULL || sin->sin_family != AF_INET || (ntohl(sin->sin_addr.s_addr) >> 24) == 127) {
                continue;
            }
            inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
            for (j = 0; j < nwant; j++) {
                dup |= strcmp(want[j], buf) == 0;
            }
            if (!dup && nwant < 32) {
                strcpy(want[nwant++], buf);
            }
        }
        freeifaddrs(ifs);
    }
    fd = client(id);
    if (fd < 0) {
        return;
    }
    memset(&s, 0, sizeof s);
    ws_send_text(fd, "42[\"ipaddr\"]");
    if (sync_ack(fd, &s)) {
        for (i = 0; i < s.n; i++) {
            char args[1][256];
            size_t lens[1];
            int found = 0;
            if (is_log(s.m[i])) {
                continue;
            }
            nseen++;
            if (event_strings(s.m[i], "ipaddr", args, lens, 1) != 1) {
                check(0, "ipaddr answer is 42[\"ipaddr\",\"<address>\"]: %.200s", s.m[i]);
                continue;
            }
            for (j = 0; j < nwant; j++) {
                found |= strcmp(want[j], args[0]) == 0;
            }
            check(found, "ipaddr %s is a non-loopback IPv4 address of this machine", args[0]);
        }
        check(nseen == nwant, "one ipaddr per non-loopback IPv4 address: want %d, got %d", nwant, nseen);
    }
    seen_free(&s);
    close(fd);
}

/* Spec: bye is logged; the client stays connected. */
static void test_bye_keeps_connection(void)
{
    char id[21];
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "42[\"bye\"]");
    create_room(fd, "after-bye", id);
    close(fd);
}

/* Spec: an event with no handler is ignored; the connection goes on. */
static void test_unknown_event_ignored(void)
{
    char id[21];
    int fd = client(id);
    if (fd < 0) {
        return;
    }
    ws_send_text(fd, "42[\"no such event\",1,{\"a\":[2]}]");
    ws_send_text(fd, "42[\"created\",\"x\",\"y\"]");
    ws_send_text(fd, "42[\"ready\"]");
    create_room(fd, "after-unknown", id);
    close(fd);
}

/* ---- leaving a room ---------------------------------------------------- */

enum leave_how { LEAVE_41, LEAVE_WS_CLOSE, LEAVE_TCP_CLOSE, LEAVE_RESET, LEAVE_EIO_CLOSE };

static void leave(int fd, enum leave_how how)
{
    switch (how) {
    case LEAVE_41:
        ws_send_text(fd, "41");
        sleep_ms(ms(50)); /* no answer to wait for: let the server read it */
        break;
    case LEAVE_WS_CLOSE:
        ws_send_close(fd, 1000);
        check(ws_recv_close_code(fd, WAIT_MS) == 1000, "WebSocket close answered with 1000");
        close(fd);
        break;
    case LEAVE_TCP_CLOSE:
        close(fd);
        sleep_ms(ms(50));
        break;
    case LEAVE_RESET:
        close_with_reset(fd);
        sleep_ms(ms(50));
        break;
    case LEAVE_EIO_CLOSE:
        ws_send_text(fd, "1");
        check(ended_within(fd, WAIT_MS), "Engine.IO close ends the connection");
        close(fd);
        break;
    }
}

/* Spec: on 41, close, error, the client leaves its room at once: a client
 * refused as full can then join; when the last one leaves, the room is
 * empty and the next client creates it. */
static void test_leave_frees_slot(enum leave_how how, const char *room)
{
    char ida[21], idb[21], idc[21], idd[21], want[128];
    int a, b, c, d;
    if (!pair(room, &a, ida, &b, idb)) {
        close_fd(a);
        close_fd(b);
        return;
    }
    c = client(idc);
    if (c < 0) {
        close(a);
        close(b);
        return;
    }
    snprintf(want, sizeof want, "\"%s\"", room);
    emit_create_or_join(c, want);
    snprintf(want, sizeof want, "42[\"full\",\"%s\"]", room);
    expect_non_log(c, want, "third client refused while two are inside");
    leave(b, how);
    join_room(c, idc, a, room);
    if (how == LEAVE_41) {
        close(b);
    }
    close(a);
    close(c);
    sleep_ms(ms(50));
    d = client(idd);
    if (d >= 0) {
        create_room(d, room, idd);
        close(d);
    }
}

/* ---- many rooms at once ------------------------------------------------ */

/* Spec: relay is room-scoped under load: 250 rooms of two, every client
 * sends one message at once, each gets exactly its peer's. */
static void test_many_rooms(void)
{
    static int fds[BULK_CLIENTS];
    static char ids[BULK_CLIENTS][21];
    char room[32], pkt[128];
    int i, n = 0, bad = 0;
    long long t0 = now_ms();
    for (i = 0; i < BULK_CLIENTS; i++) {
        fds[i] = sio_connect(g_port, ids[i]);
        if (fds[i] < 0) {
            break;
        }
        n++;
    }
    if (!check(n == BULK_CLIENTS, "%d clients connect (got %d)", BULK_CLIENTS, n)) {
        goto out;
    }
    for (i = 0; i < n && !bad; i += 2) {
        char *m;
        snprintf(room, sizeof room, "\"bulk-%d\"", i / 2);
        emit_create_or_join(fds[i], room);
        m = rx_until(fds[i], "42[\"created\"", NULL);
        bad |= m == NULL;
        free(m);
        emit_create_or_join(fds[i + 1], room);
        m = rx_until(fds[i + 1], "42[\"ready\"]", NULL);
        bad |= m == NULL;
        free(m);
        m = rx_until(fds[i], "42[\"ready\"]", NULL);
        bad |= m == NULL;
        free(m);
    }
    if (!check(!bad, "250 rooms of two set up")) {
        goto out;
    }
    for (i = 0; i < n; i++) {
        snprintf(pkt, sizeof pkt, "42[\"message\",\"from %s\"]", ids[i]);
        ws_send_text(fds[i], pkt);
    }
    for (i = 0; i < n && bad < 5; i++) {
        char *m = rx_non_log(fds[i]);
        snprintf(pkt, sizeof pkt, "42[\"message\",\"from %s\"]", ids[i ^ 1]);
        if (m == NULL || strcmp(m, pkt) != 0) {
            check(0, "client %d wants %s, got %.200s", i, pkt, m ? m : "(nothing)");
            bad++;
        }
        free(m);
    }
    for (i = 0; i < n && bad < 5; i++) {
        if (messages_before_ack(fds[i]) != 0) {
            check(0, "client %d got more than its peer's message", i);
            bad++;
        }
    }
    check(bad == 0, "500 clients in 250 rooms: each got exactly its peer's message");
    if (getenv("TEST_VERBOSE")) {
        printf("  (many rooms: %lld ms)\n", now_ms() - t0);
    }
out:
    for (i = 0; i < n; i++) {
        close(fds[i]);
    }
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < BULK_CLIENTS + 100) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 4096 ? 4096 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- heartbeats (server started with -i 200 -t 300) ------------------- */

/* A text message read without answering pings; NULL on close/timeout. */
static char *recv_text_silent(int fd, const char *prefix, int *pings)
{
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        struct ws_msg m;
        long long left = deadline - now_ms();
        if (left <= 0 || ws_recv_frame(fd, &m, (int)left) != 0) {
            return NULL;
        }
        if (m.opcode == 8) {
            ws_msg_free(&m);
            return NULL;
        }
        if (m.opcode == 1 && strcmp((char *)m.data, "2") == 0) {
            (*pings)++;
        } else if (m.opcode == 1 && strncmp((char *)m.data, prefix, strlen(prefix)) == 0) {
            return (char *)m.data;
        }
        ws_msg_free(&m);
    }
}

/* Spec: every pingInterval the server sends 2; a client that answers 3
 * stays connected. */
static void test_pings_keep_alive(int port)
{
    char id[21];
    int pings = 0;
    long long end;
    int fd = sio_connect(port, id);
    if (!check(fd >= 0, "client connects to the heartbeat server")) {
        return;
    }
    end = now_ms() + ms(1100);
    while (now_ms() < end) {
        struct ws_msg m;
        struct pollfd p;
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, (int)(end - now_ms())) <= 0) {
            continue;
        }
        if (ws_recv_frame(fd, &m, WAIT_MS) != 0) {
            break;
        }
        if (m.opcode == 1 && m.len == 1 && m.data[0] == '2') {
            pings++;
            ws_send_text(fd, "3");
        }
        ws_msg_free(&m);
    }
    check(pings >= 3 && pings <= 7, "pings every %d ms: %d in %d ms (want 3..7)", ms(200), pings, ms(1100));
    create_room(fd, "hb-alive", id); /* still connected, past interval + timeout */
    close(fd);
}

/* Spec: no 3 within pingTimeout: the connection is closed and cleaned up
 * as a disconnect (its room slot frees). */
static void test_silent_client_timed_out(int port)
{
    char id[21], idb[21], want[128];
    int pings = 0, b;
    long long t0, elapsed;
    char *m;
    int fd = sio_connect(port, id);
    if (!check(fd >= 0, "client connects to the heartbeat server")) {
        return;
    }
    t0 = now_ms();
    emit_create_or_join(fd, "\"hb-silent\"");
    m = recv_text_silent(fd, "42[\"created\"", &pings);
    snprintf(want, sizeof want, "42[\"created\",\"hb-silent\",\"%s\"]", id);
    check(m != NULL && strcmp(m, want) == 0, "silent client creates its room");
    free(m);
    {
        /* wait for the end, counting (not answering) pings */
        long long deadline = t0 + ms(3000);
        int ended = 0;
        while (!ended && now_ms() < deadline) {
            struct ws_msg f;
            struct pollfd p;
            p.fd = fd;
            p.events = POLLIN;
            if (poll(&p, 1, (int)(deadline - now_ms())) <= 0) {
                continue;
            }
            if (ws_recv_frame(fd, &f, WAIT_MS) != 0) {
                ended = 1;
                break;
            }
            pings += f.opcode == 1 && f.len == 1 && f.data[0] == '2';
            ended = f.opcode == 8;
            ws_msg_free(&f);
        }
        elapsed = now_ms() - t0;
        check(ended, "a client that never answers 3 is disconnected");
        check(!ended || (elapsed >= ms(400) && elapsed <= ms(1500)),
              "disconnected after pingInterval + pingTimeout (%d ms): took %lld ms", ms(500), elapsed);
        check(pings >= 1, "the server pinged before giving up (%d pings)", pings);
    }
    close(fd);
    b = sio_connect(port, idb);
    if (check(b >= 0, "second client connects")) {
        create_room(b, "hb-silent", idb);
        close(b);
    }
}

/* Spec: only a 3 answers a ping: a client that keeps sending events but
 * never pongs is still disconnected after pingInterval + pingTimeout. */
static void test_traffic_is_not_a_pong(int port)
{
    char id[21];
    long long t0, deadline;
    int ended = 0;
    int fd = sio_connect(port, id);
    if (!check(fd >= 0, "client connects to the heartbeat server")) {
        return;
    }
    t0 = now_ms();
    deadline = t0 + ms(3000);
    while (!ended && now_ms() < deadline) {
        struct pollfd p;
        ws_send_text(fd, "42[\"no such event\"]");
        p.fd = fd;
        p.events = POLLIN;
        while (!ended && poll(&p, 1, ms(50)) > 0) {
            struct ws_msg f;
            if (ws_recv_frame(fd, &f, WAIT_MS) != 0) {
                ended = 1;
                break;
            }
            ended = f.opcode == 8;
            ws_msg_free(&f);
        }
    }
    check(ended && now_ms() - t0 <= ms(1500), "a busy client that never answers 3 is disconnected (after %lld ms)",
          now_ms() - t0);
    close(fd);
}

/* ---- main -------------------------------------------------------------- */

/* 1 if the server speaks Engine.IO at all; otherwise the rest would only
 * pile up timeouts. */
static int endpoint_ready(int port)
{
    int fd = ws_connect(port, "/socket.io/?EIO=4&transport=websocket");
    char *m = fd >= 0 ? sio_recv(fd, WAIT_MS) : NULL;
    int ok = m != NULL && m[0] == '0';
    free(m);
    close_fd(fd);
    return check(ok, "the Socket.IO endpoint answers with an open packet (else the suite stops here)");
}

/* Spec "Limits and failure": a client whose output queue passes 4 MiB (it
 * stopped reading) is disconnected, and nobody else waits for it.  b never
 * reads while a relays 24 messages of 1,000,000 bytes to it: a is still
 * answered, b's connection ends, and its place in the room is free. */
static void test_stalled_reader_dropped(void)
{
    char ida[21], idb[21], idc[21];
    int a, b, c, i;
    unsigned char *msg = message_of_size(1000000);
    unsigned char *frame = NULL;
    size_t flen = 0;
    struct seen s;
    memset(&s, 0, sizeof s);
    if (pair("stalled-reader", &a, ida, &b, idb)) {
        frame = build_frame(0x81, msg, 1000000, &flen);
        for (i = 0; i < 24; i++) {
            send_all(a, frame, flen);
        }
        check(sync_ack(a, &s), "the sender is still answered while its room-mate does not read");
        check(ended_within(b, ms(5000)), "the client that stopped reading is disconnected");
        c = client(idc);
        if (c >= 0) {
            check(join_room(c, idc, a, "stalled-reader"), "its place in the room is free again");
        }
        close_fd(c);
    }
    seen_free(&s);
    free(frame);
    free(msg);
    close_fd(a);
    close_fd(b);
}

int main(void)
{
    struct server s, hb;
    char root[64], interval[16], timeout[16];
    const char *slow = getenv("T_SLOW");
    g_slow = slow != NULL && *slow != '\0' && strcmp(slow, "0") != 0;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    snprintf(root, sizeof root, "%s", make_temp_dir());

    if (!check(server_start(&s, "-r", root, NULL) == 0, "server starts")) {
        remove_tree(root);
        return test_summary();
    }
    g_port = s.port;
    if (endpoint_ready(g_port)) {
        test_open_packet(g_port, 25000, 20000);
        test_connect_gives_socket_id();
        test_socket_ids_unique();
        test_other_namespace_refused();
        test_long_namespace();
        test_http_refusals();
        test_query_any_order();
        test_noop_ignored();
        test_client_close_packet();
        test_client_ping_closes();

        test_malformed_packets_close_1008();
        test_packet_before_connect();
        test_connect_bad_payload();
        test_binary_frame_1003();
        test_oversized_message_1009();
        test_max_payload_relayed();
        test_stalled_reader_dropped();
        test_malformed_spares_roommate();

        test_create_empty_room();
        test_join_second();
        test_full_third();
        test_bad_room_names();
        test_room_name_escapes();
        test_room_name_64_bytes();
        test_second_create_or_join();

        test_message_relayed_byte_exact();
        test_message_values_relayed();
        test_message_with_ack();
        test_rooms_isolated();
        test_message_outside_room();

        test_ack_answered();
        test_ipaddr();
        test_bye_keeps_connection();
        test_unknown_event_ignored();

        test_leave_frees_slot(LEAVE_41, "leave-41");
        test_leave_frees_slot(LEAVE_WS_CLOSE, "leave-ws-close");
        test_leave_frees_slot(LEAVE_TCP_CLOSE, "leave-tcp-close");
        test_leave_frees_slot(LEAVE_RESET, "leave-reset");
        test_leave_frees_slot(LEAVE_EIO_CLOSE, "leave-eio-close");

        test_many_rooms();
    }
    check(server_alive(&s), "server still running after every case");
    check(server_stop(&s) == 0, "server exits 0 on SIGTERM");

    snprintf(interval, sizeof interval, "%d", ms(200));
    snprintf(timeout, sizeof timeout, "%d", ms(300));
    if (check(server_start(&hb, "-r", root, "-i", interval, "-t", timeout, NULL) == 0,
              "server starts with -i %s -t %s", interval, timeout)) {
        if (endpoint_ready(hb.port)) {
            test_open_packet(hb.port, ms(200), ms(300));
            test_pings_keep_alive(hb.port);
            test_silent_client_timed_out(hb.port);
            test_traffic_is_not_a_pong(hb.port);
        }
        check(server_alive(&hb), "heartbeat server still running");
        check(server_stop(&hb) == 0, "heartbeat server exits 0 on SIGTERM");
    }
    remove_tree(root);
    return test_summary();
}
