/* ws_test.c -- the WebSocket layer of signal.c against `GET /echo`, the bare
 * echo endpoint (spec "WebSocket (RFC 6455)").  First the opening handshake
 * (RFC 6455 §4), then one group per Autobahn|Testsuite category for a server
 * without compression: 1 framing, 2 ping/pong, 3 reserved bits, 4 reserved
 * opcodes, 5 fragmentation, 6 UTF-8, 7 close; then limits and isolation.
 * Every case names the close code it expects.  The slow cases (messages up
 * to 16 MiB) live in ws_large_test.c.
 *
 *   cc -std=c99 -Wall -Wextra -pedantic -I tests -o tests/build/ws_test tests/ws_test.c
 *   tests/build/ws_test          (from /work/main; SIGNAL_BIN overrides ./signal) */
#include "testlib.h"

#define MAX_ECHO (16u * 1024 * 1024) /* spec: over 16 MiB on /echo -> 1009 */
#define WAIT_MS 2000                 /* how long a reply or a drop may take */

static struct server srv;
static int port;

/* ---- handshake helpers ------------------------------------------------- */

#define H_HOST "Host: 127.0.0.1\r\n"
#define H_UPGRADE "Upgrade: websocket\r\n"
#define H_CONNECTION "Connection: Upgrade\r\n"
#define H_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VERSION "Sec-WebSocket-Version: 13\r\n"
#define H_ALL H_HOST H_UPGRADE H_CONNECTION H_KEY H_VERSION

/* Sends `request_line` CRLF `headers` CRLF on a new connection and reads
 * one response into r.  Returns the open socket, or -1 (r->status is then
 * 0 if no response came). */
static int upgrade_fd(const char *request_line, const char *headers, struct http_response *r)
{
    char req[2048];
    int fd = tcp_connect(port);
    memset(r, 0, sizeof *r);
    if (fd < 0) {
        return -1;
    }
    snprintf(req, sizeof req, "%s\r\n%s\r\n", request_line, headers);
    if (send_str(fd, req) != 0
        || http_read_response(fd, r, strncmp(request_line, "HEAD ", 5) == 0, T_TIMEOUT_MS) != 0) {
        r->status = 0;
        close(fd);
        return -1;
    }
    return fd;
}

/* The status answered to one upgrade request; the connection is closed. */
static int upgrade_status(const char *request_line, const char *headers)
{
    struct http_response r;
    int fd = upgrade_fd(request_line, headers, &r);
    int status = r.status;
    http_response_free(&r);
    if (fd >= 0) {
        close(fd);
    }
    return status;
}

/* ---- frame helpers ------------------------------------------------------ */

/* The bytes of one client frame: `first` is FIN/RSV/opcode as on the wire,
 * `len_form` 0 picks the minimal length encoding, 126/127 force one; masked
 * with a fixed key unless `masked` is 0.  Returns malloc'd bytes. */
static unsigned char *frame_bytes(unsigned first, const void *payload, size_t n, int masked,
                                  size_t *out_len)
{
    static const unsigned char key[4] = {0xa1, 0x5c, 0x07, 0xe9};
    unsigned char *f = malloc(n + 14);
    size_t h = 0;
    size_t i;
    f[h++] = (unsigned char)first;
    if (n < 126) {
        f[h++] = (unsigned char)((masked ? 0x80 : 0) | n);
    } else if (n < 65536) {
        f[h++] = (unsigned char)((masked ? 0x80 : 0) | 126);
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    } else {
        int k;
        f[h++] = (unsigned char)((masked ? 0x80 : 0) | 127);
        for (k = 7; k >= 0; k--) {
            f[h++] = (unsigned char)((unsigned long long)n >> (8 * k));
        }
    }
    if (masked) {
        memcpy(f + h, key, 4);
        h += 4;
    }
    for (i = 0; i < n; i++) {
        unsigned char b = ((const unsigned char *)payload)[i];
        f[h + i] = masked ? (unsigned char)(b ^ key[i % 4]) : b;
    }
    *out_len = h + n;
    return f;
}

/* Sends a masked close frame with `code` (none if code < 0) and a reason. */
static int send_close(int fd, int code, const void *reason, size_t n)
{
    unsigned char p[128];
    size_t len = 0;
    if (code >= 0) {
        p[len++] = (unsigned char)(code >> 8);
        p[len++] = (unsigned char)code;
    }
    memcpy(p + len, reason, n);
    return ws_send_frame(fd, 0x88, p, len + n);
}

/* The first byte of the next server frame without consuming it, or -1. */
static int peek_first_byte(int fd, int timeout_ms)
{
    struct pollfd p;
    unsigned char b;
    p.fd = fd;
    p.events = POLLIN;
    if (poll(&p, 1, timeout_ms) <= 0 || recv(fd, &b, 1, MSG_PEEK) != 1) {
        return -1;
    }
    return b;
}

/* Reads the next server frame and checks it is one whole unmasked frame
 * (FIN set, RSV 0, minimal length, RFC 6455 §5.1/§5.2 and the spec's "The
 * server's own frames ...") of `opcode` carrying exactly payload[0..n). */
static int expect_frame(int fd, int opcode, const void *payload, size_t n, const char *what)
{
    struct ws_msg m;
    int first = peek_first_byte(fd, WAIT_MS);
    int ok;
    if (first < 0 || ws_recv_frame(fd, &m, WAIT_MS) != 0) {
        return check(0, "%s: no frame came (timeout or connection closed)", what);
    }
    if (m.opcode != opcode) {
        int code = m.opcode == 8 && m.len >= 2 ? (m.data[0] << 8) | m.data[1] : -1;
        ws_msg_free(&m);
        return check(0, "%s: got opcode %d (close code %d) instead of opcode %d", what,
                     first & 0x0f, code, opcode);
    }
    ok = check(m.fin && (first & 0x70) == 0, "%s: FIN set, RSV bits 0 (first byte 0x%02x)", what,
               first);
    ok &= check(!m.masked, "%s: server frame unmasked", what);
    ok &= check(m.minimal, "%s: minimal length encoding", what);
    ok &= check(m.len == n && (n == 0 || memcmp(m.data, payload, n) == 0),
                "%s: payload of %lu bytes intact (got %lu)", what, (unsigned long)n,
                (unsigned long)m.len);
    ws_msg_free(&m);
    return ok;
}

/* The next server frame must be a close with `code` (RFC 6455 §5.5.1). */
static int expect_close(int fd, int code, const char *what)
{
    struct ws_msg m;
    int got;
    if (ws_recv_frame(fd, &m, WAIT_MS) != 0) {
        return check(0, "%s: expected close %d, connection ended or timed out", what, code);
    }
    if (m.opcode != 8) {
        ws_msg_free(&m);
        return check(0, "%s: expected close %d, got a frame with opcode %d first", what, code,
                     m.opcode);
    }
    got = m.len >= 2 ? (m.data[0] << 8) | m.data[1] : 1005;
    ws_msg_free(&m);
    return check(got == code, "%s: close code %d (got %d)", what, code, got);
}

/* 1 if the server closes the TCP connection within timeout_ms without
 * sending one more byte. */
static int eof_without_bytes(int fd, int timeout_ms)
{
    char buf[256];
    ssize_t r = recv_some(fd, buf, sizeof buf, timeout_ms);
    return r == 0 || (r < 0 && errno != ETIMEDOUT);
}

/* A failed connection (RFC 6455 §7.1.7, spec "close with 1002 and drop the
 * connection"): the next frame is a close with `code`, nothing is echoed
 * after it, and once we answer the close the server closes TCP. */
static void expect_fail(int fd, int code, const char *what)
{
    if (expect_close(fd, code, what)) {
        send_close(fd, code, "", 0);
        check(eof_without_bytes(fd, WAIT_MS), "%s: TCP closed after the close handshake", what);
    }
    close(fd);
}

/* Opens a WebSocket to /echo; -1 (and a failed check) if that fails. */
static int echo_open(const char *what)
{
    int fd = ws_connect(port, "/echo");
    check(fd >= 0, "%s: GET /echo upgrades (101)", what);
    return fd;
}

/* Sends one frame and expects the echo as one frame. */
static void echo_roundtrip(int fd, unsigned first, const void *p, size_t n, const char *what)
{
    ws_send_frame(fd, first, p, n);
    expect_frame(fd, first & 0x0f, p, n, what);
}

/* ---- handshake (RFC 6455 §4.2) ------------------------------------------ */

/* §4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)); the RFC's own
 * example key, then one full of '+' and '/'. */
static void test_handshake_accept_key(void)
{
    static const char *keys[2][2] = {
        {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
        {"++///vAPPr//AAECAwT+/w==", "Y00ftQKWwtyCb7SxvIz+27+EWvo="},
    };
    int i;
    for (i = 0; i < 2; i++) {
        struct http_response r;
        char headers[512];
        char v[128];
        int fd;
        snprintf(headers, sizeof headers,
                 H_HOST H_UPGRADE H_CONNECTION "Sec-WebSocket-Key: %s\r\n" H_VERSION, keys[i][0]);
        fd = upgrade_fd("GET /echo HTTP/1.1", headers, &r);
        check(r.status == 101, "handshake key %s: 101 (got %d)", keys[i][0], r.status);
        check(http_header(&r, "Sec-WebSocket-Accept", v, sizeof v) && strcmp(v, keys[i][1]) == 0,
              "handshake key %s: Sec-WebSocket-Accept %s", keys[i][0], keys[i][1]);
        check(http_header(&r, "Upgrade", v, sizeof v) && strcasecmp(v, "websocket") == 0,
              "handshake: Upgrade: websocket in the 101");
        check(http_header(&r, "Connection", v, sizeof v) && strcasecmp(v, "Upgrade") == 0,
              "handshake: Connection: Upgrade in the 101");
        http_response_free(&r);
        if (fd >= 0) {
            echo_roundtrip(fd, 0x81, "after handshake", 15, "handshake: echo works");
            close(fd);
        }
    }
}

/* Spec: "No extension and no subprotocol is ever accepted" (RFC 6455 §4.2.2
 * /extensions/ and /subprotocol/ may be null): the 101 names neither, and
 * frames then carry no compression (RSV1 stays an error). */
static void test_handshake_no_extension_no_protocol(void)
{
    struct http_response r;
    char v[256];
    int fd = upgrade_fd("GET /echo HTTP/1.1",
                        H_ALL "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                              "Sec-WebSocket-Protocol: chat, superchat\r\n",
                        &r);
    check(r.status == 101, "offering deflate and a subprotocol: still 101 (got %d)", r.status);
    check(!http_header(&r, "Sec-WebSocket-Extensions", v, sizeof v),
          "101 has no Sec-WebSocket-Extensions");
    check(!http_header(&r, "Sec-WebSocket-Protocol", v, sizeof v),
          "101 has no Sec-WebSocket-Protocol");
    http_response_free(&r);
    if (fd >= 0) {
        echo_roundtrip(fd, 0x81, "plain", 5, "no extension: uncompressed echo");
        ws_send_frame(fd, 0xc1, "x", 1); /* RSV1 = "compressed", never negotiated */
        expect_fail(fd, 1002, "no extension: RSV1 frame");
    }
}

/* Spec: Sec-WebSocket-Key must decode to exactly 16 bytes, else 400. */
static void test_handshake_bad_key(void)
{
    static const char *bad[] = {
        "AAAAAAAAAAAAAAAAAAAA",     /* 15 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAA=", /* 17 bytes */
        "!!!!!!!!!!!!!!!!!!!!!!==", /* not base64 */
        "",
    };
    size_t i;
    char headers[512];
    check(upgrade_status("GET /echo HTTP/1.1", H_HOST H_UPGRADE H_CONNECTION H_VERSION) == 400,
          "handshake without Sec-WebSocket-Key: 400");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st;
        snprintf(headers, sizeof headers,
                 H_HOST H_UPGRADE H_CONNECTION "Sec-WebSocket-Key: %s\r\n" H_VERSION, bad[i]);
        st = upgrade_status("GET /echo HTTP/1.1", headers);
        check(st == 400, "handshake with key \"%s\": 400 (got %d)", bad[i], st);
    }
}

/* Spec / RFC 6455 §4.2.1: Upgrade must contain "websocket" and Connection
 * must contain "Upgrade", else 400; Host is required. */
static void test_handshake_missing_tokens(void)
{
    int st;
    st = upgrade_status("GET /echo HTTP/1.1", H_HOST H_CONNECTION H_KEY H_VERSION);
    check(st == 400, "handshake without Upgrade: 400 (got %d)", st);
    st = upgrade_status("GET /echo HTTP/1.1", H_HOST "Upgrade: h2c\r\n" H_CONNECTION H_KEY H_VERSION);
    check(st == 400, "handshake with Upgrade: h2c: 400 (got %d)", st);
    st = upgrade_status("GET /echo HTTP/1.1", H_HOST H_UPGRADE H_KEY H_VERSION);
    check(st == 400, "handshake without Connection: 400 (got %d)", st);
    st = upgrade_status("GET /echo HTTP/1.1",
                        H_HOST H_UPGRADE "Connection: keep-alive\r\n" H_KEY H_VERSION);
    check(st == 400, "handshake with Connection: keep-alive only: 400 (got %d)", st);
    st = upgrade_status("GET /echo HTTP/1.1",
                        H_HOST H_UPGRADE "Connection: Upgraded\r\n" H_KEY H_VERSION);
    check(st == 400, "handshake with Connection: Upgraded (not the token): 400 (got %d)", st);
    st = upgrade_status("GET /echo HTTP/1.1", H_UPGRADE H_CONNECTION H_KEY H_VERSION);
    check(st == 400, "handshake without Host: 400 (got %d)", st);
}

/* Spec: the handshake needs GET and HTTP/1.1 (RFC 6455 §4.1); other methods
 * are 405 by the HTTP rules, or 400 by the handshake rule. */
static void test_handshake_method_and_version(void)
{
    int st = upgrade_status("GET /echo HTTP/1.0", H_ALL);
    check(st == 400, "handshake over HTTP/1.0: 400 (got %d)", st);
    st = upgrade_status("POST /echo HTTP/1.1", H_ALL);
    check(st == 405 || st == 400, "handshake with POST: 405 or 400 (got %d)", st);
    st = upgrade_status("HEAD /echo HTTP/1.1", H_ALL);
    check(st == 405 || st == 400, "handshake with HEAD: 405 or 400, not 101 (got %d)", st);
}

/* Spec / RFC 6455 §4.4: a version other than 13 gets 426 and
 * Sec-WebSocket-Version: 13. */
static void test_handshake_version_8(void)
{
    struct http_response r;
    char v[64];
    int fd = upgrade_fd("GET /echo HTTP/1.1",
                        H_HOST H_UPGRADE H_CONNECTION H_KEY "Sec-WebSocket-Version: 8\r\n", &r);
    check(r.status == 426, "handshake with version 8: 426 (got %d)", r.status);
    check(http_header(&r, "Sec-WebSocket-Version", v, sizeof v) && strcmp(v, "13") == 0,
          "426 carries Sec-WebSocket-Version: 13");
    http_response_free(&r);
    if (fd >= 0) {
        close(fd);
    }
}

/* Spec: "Any other path asking to upgrade: 404" -- even "/", which is a
 * file that exists, and /echo's near misses. */
static void test_handshake_other_path(void)
{
    static const char *paths[] = {"/nope", "/", "/index.html", "/echo/", "/echoes"};
    size_t i;
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char line[128];
        int st;
        snprintf(line, sizeof line, "GET %s HTTP/1.1", paths[i]);
        st = upgrade_status(line, H_ALL);
        check(st == 404, "upgrade of %s: 404 (got %d)", paths[i], st);
    }
}

/* RFC 6455 §4.2.1: the tokens are case-insensitive and Connection is a
 * comma list (browsers send "keep-alive, Upgrade"); header names are
 * case-insensitive too (RFC 9110 §5.1); unknown query parameters are
 * ignored (spec). */
static void test_handshake_token_variants(void)
{
    static const struct {
        const char *line;
        const char *headers;
    } ok[] = {
        {"GET /echo HTTP/1.1", H_HOST H_UPGRADE "Connection: keep-alive, Upgrade\r\n" H_KEY H_VERSION},
        {"GET /echo HTTP/1.1", H_HOST H_UPGRADE "Connection: Upgrade,keep-alive\r\n" H_KEY H_VERSION},
        {"GET /echo HTTP/1.1", H_HOST "Upgrade: WebSocket\r\nConnection: upgrade\r\n" H_KEY H_VERSION},
        {"GET /echo HTTP/1.1", H_HOST "Upgrade: WEBSOCKET\r\nConnection: UPGRADE\r\n" H_KEY H_VERSION},
        {"GET /echo HTTP/1.1", "host: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                               "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"},
        {"GET /echo?foo=bar&x=1 HTTP/1.1", H_ALL},
    };
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct http_response r;
        int fd = upgrade_fd(ok[i].line, ok[i].headers, &r);
        check(r.status == 101, "handshake variant %lu (%s): 101 (got %d)", (unsigned long)i,
              ok[i].line, r.status);
        http_response_free(&r);
        if (fd >= 0) {
            echo_roundtrip(fd, 0x81, "v", 1, "handshake variant: echo");
            close(fd);
        }
    }
}

/* Spec: "Never assume one read() is one message": a client may send its
 * first frame in the same write as the upgrade request (RFC 6455 §4.1 lets
 * it send as soon as the 101 comes, but nothing stops bytes arriving
 * together); those bytes are the WebSocket's first input. */
static void test_handshake_frame_in_same_write(void)
{
    char req[512];
    size_t head_len;
    size_t n;
    unsigned char *f = frame_bytes(0x81, "early bird", 10, 1, &n);
    unsigned char *all;
    struct http_response r;
    int fd = tcp_connect(port);
    snprintf(req, sizeof req, "GET /echo HTTP/1.1\r\n" H_ALL "\r\n");
    head_len = strlen(req);
    all = malloc(head_len + n);
    memcpy(all, req, head_len);
    memcpy(all + head_len, f, n);
    if (fd >= 0 && send_all(fd, all, head_len + n) == 0 &&
        http_read_response(fd, &r, 1, T_TIMEOUT_MS) == 0) {
        check(r.status == 101, "upgrade with a frame in the same write: 101 (got %d)", r.status);
        http_response_free(&r);
        expect_frame(fd, 1, "early bird", 10, "frame sent with the upgrade request: echoed");
    } else {
        check(0, "upgrade with a frame in the same write: a response came");
    }
    if (fd >= 0) {
        close(fd);
    }
    free(all);
    free(f);
}

/* ---- 1 framing (RFC 6455 §5.2) ------------------------------------------ */

/* Autobahn 1.1/1.2: text and binary at the length-encoding edges, echoed
 * whole; the server's frames unmasked with the minimal length form. */
static void test_framing_sizes(void)
{
    static const size_t sizes[] = {0, 125, 126, 127, 128, 65535, 65536};
    unsigned char *buf = malloc(65536);
    size_t i;
    int fd = echo_open("framing");
    for (i = 0; i < 65536; i++) {
        buf[i] = (unsigned char)(i * 31 + (i >> 8));
    }
    for (i = 0; fd >= 0 && i < sizeof sizes / sizeof sizes[0]; i++) {
        char what[64];
        unsigned char *text = malloc(sizes[i] + 1);
        memset(text, '*', sizes[i]);
        snprintf(what, sizeof what, "framing text %lu bytes", (unsigned long)sizes[i]);
        echo_roundtrip(fd, 0x81, text, sizes[i], what);
        snprintf(what, sizeof what, "framing binary %lu bytes", (unsigned long)sizes[i]);
        echo_roundtrip(fd, 0x82, buf, sizes[i], what);
        free(text);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
}

/* RFC 6455 §5.2 allows a non-minimal length from the client (the "minimal"
 * MUST is on the sender; the server only has to decode it), and a frame's
 * bytes may arrive one at a time (spec: "Reads ... may be partial at any
 * byte"). */
static void test_framing_byte_by_byte(void)
{
    size_t n;
    size_t i;
    unsigned char *f = frame_bytes(0x81, "one byte at a time", 18, 1, &n);
    int fd = echo_open("byte by byte");
    if (fd >= 0) {
        for (i = 0; i < n; i++) {
            send_all(fd, f + i, 1);
            sleep_ms(2);
        }
        expect_frame(fd, 1, "one byte at a time", 18, "frame sent one byte per write");
        /* Two messages in one write: both echoed, in order. */
        {
            size_t n2;
            unsigned char *g = frame_bytes(0x82, "\x00\x01", 2, 1, &n2);
            unsigned char *both = malloc(n + n2);
            memcpy(both, f, n);
            memcpy(both + n, g, n2);
            send_all(fd, both, n + n2);
            expect_frame(fd, 1, "one byte at a time", 18, "two frames in one write: first");
            expect_frame(fd, 2, "\x00\x01", 2, "two frames in one write: second");
            free(both);
            free(g);
        }
        close(fd);
    }
    free(f);
}

/* ---- 2 ping/pong (RFC 6455 §5.5.2, §5.5.3) ------------------------------ */

/* Autobahn 2.1-2.4: a ping is answered by a pong with the same payload, up
 * to the 125-byte control frame limit, binary payloads included. */
static void test_ping_payloads(void)
{
    unsigned char p125[125];
    size_t i;
    int fd = echo_open("ping");
    for (i = 0; i < sizeof p125; i++) {
        p125[i] = (unsigned char)(255 - i);
    }
    if (fd >= 0) {
        ws_send_frame(fd, 0x89, "Hello, world!", 13);
        expect_frame(fd, 0xa, "Hello, world!", 13, "ping with payload: pong");
        ws_send_frame(fd, 0x89, "", 0);
        expect_frame(fd, 0xa, "", 0, "empty ping: empty pong");
        ws_send_frame(fd, 0x89, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8);
        expect_frame(fd, 0xa, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8, "binary ping: pong");
        ws_send_frame(fd, 0x89, p125, sizeof p125);
        expect_frame(fd, 0xa, p125, sizeof p125, "125-byte ping: pong");
        echo_roundtrip(fd, 0x81, "still open", 10, "after pings: echo");
        close(fd);
    }
}

/* Autobahn 2.5: a control frame over 125 bytes is a protocol error, 1002,
 * and no pong. */
static void test_ping_126_bytes(void)
{
    unsigned char p[126];
    int fd = echo_open("ping 126");
    memset(p, 'p', sizeof p);
    if (fd >= 0) {
        ws_send_frame(fd, 0x89, p, sizeof p);
        expect_fail(fd, 1002, "126-byte ping");
    }
}

/* Autobahn 2.7/2.8: an unsolicited pong is ignored (RFC 6455 §5.5.3). */
static void test_unsolicited_pong(void)
{
    int fd = echo_open("pong");
    if (fd >= 0) {
        ws_send_frame(fd, 0x8a, "unsolicited", 11);
        ws_send_frame(fd, 0x8a, "", 0);
        echo_roundtrip(fd, 0x81, "after pong", 10, "unsolicited pong ignored: next frame is the echo");
        close(fd);
    }
}

/* Autobahn 5.1/5.2: control frames must not be fragmented (§5.5): a ping
 * or pong without FIN is 1002. */
static void test_fragmented_ping(void)
{
    int fd = echo_open("fragmented ping");
    if (fd >= 0) {
        ws_send_frame(fd, 0x09, "frag", 4);
        ws_send_frame(fd, 0x80, "ment", 4);
        expect_fail(fd, 1002, "ping without FIN");
    }
    fd = echo_open("fragmented pong");
    if (fd >= 0) {
        ws_send_frame(fd, 0x0a, "frag", 4);
        ws_send_frame(fd, 0x80, "ment", 4);
        expect_fail(fd, 1002, "pong without FIN");
    }
}

/* Autobahn 2.10: ten pings in a row, ten pongs in the same order. */
static void test_ten_pings(void)
{
    int fd = echo_open("10 pings");
    int i;
    char p[16];
    if (fd < 0) {
        return;
    }
    for (i = 0; i < 10; i++) {
        snprintf(p, sizeof p, "payload-%d", i);
        ws_send_frame(fd, 0x89, p, strlen(p));
    }
    for (i = 0; i < 10; i++) {
        char what[32];
        snprintf(p, sizeof p, "payload-%d", i);
        snprintf(what, sizeof what, "pong %d of 10", i + 1);
        expect_frame(fd, 0xa, p, strlen(p), what);
    }
    close(fd);
}

/* ---- 3 reserved bits (RFC 6455 §5.2: RSV1-3 MUST be 0 without an
 * extension) --------------------------------------------------------------- */

/* Autobahn 3.1-3.7: RSV values 1..7 on text, binary, ping and close; each
 * fails the connection with 1002, the offending frame is not echoed, and a
 * valid message sent before it is echoed first. */
static void test_reserved_bits(void)
{
    static const struct {
        unsigned first;
        const char *kind;
        int warm_up; /* send a valid text before the bad frame */
    } cases[] = {
        {0x80 | 0x40 | 0x1, "text RSV1", 0},       {0x80 | 0x20 | 0x1, "text RSV2", 1},
        {0x80 | 0x10 | 0x1, "text RSV3", 1},       {0x80 | 0x70 | 0x1, "text RSV1+2+3", 0},
        {0x80 | 0x40 | 0x2, "binary RSV1", 0},     {0x80 | 0x50 | 0x2, "binary RSV1+3", 1},
        {0x80 | 0x20 | 0x9, "ping RSV2", 0},       {0x80 | 0x60 | 0x9, "ping RSV1+2", 1},
        {0x80 | 0x10 | 0x8, "close RSV3", 0},      {0x80 | 0x70 | 0x8, "close RSV1+2+3", 1},
        {0x00 | 0x40 | 0x0, "continuation RSV1", 2},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        int fd = echo_open(cases[i].kind);
        if (fd < 0) {
            continue;
        }
        snprintf(what, sizeof what, "%s (after a valid text)", cases[i].kind);
        if (cases[i].warm_up == 1) {
            echo_roundtrip(fd, 0x81, "valid first", 11, what);
        } else if (cases[i].warm_up == 2) {
            ws_send_frame(fd, 0x01, "start", 5); /* a message in progress */
        }
        if ((cases[i].first & 0x0f) == 8) {
            ws_send_frame(fd, cases[i].first, "\x03\xe8", 2);
        } else {
            ws_send_frame(fd, cases[i].first, "bad", 3);
        }
        ws_send_frame(fd, 0x89, "after", 5); /* must not be answered */
        expect_fail(fd, 1002, cases[i].kind);
    }
}

/* ---- 4 reserved opcodes (RFC 6455 §5.2: 3-7 and B-F are reserved) ------- */

/* Autobahn 4.1/4.2: a reserved opcode fails the connection with 1002; a
 * valid message before it is echoed first, nothing after it. */
static void test_reserved_opcodes(void)
{
    static const int ops[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
    size_t i;
    int pass;
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            char what[64];
            int fd = echo_open("reserved opcode");
            if (fd < 0) {
                continue;
            }
            snprintf(what, sizeof what, "opcode %d%s", ops[i], pass ? " after a valid text" : "");
            if (pass) {
                ws_send_frame(fd, 0x81, "before", 6);
                expect_frame(fd, 1, "before", 6, what);
            }
            ws_send_frame(fd, 0x80 | (unsigned)ops[i], "reserved", pass ? 8 : 0);
            ws_send_frame(fd, 0x81, "after", 5);
            expect_fail(fd, 1002, what);
        }
    }
}

/* ---- 5 fragmentation (RFC 6455 §5.4) ------------------------------------ */

/* Autobahn 5.3-5.5, 5.9: a message in 2 and in many fragments is echoed as
 * one message (the server's frames all have FIN set, spec). */
static void test_fragments_reassembled(void)
{
    int fd = echo_open("fragments");
    char whole[512];
    size_t len = 0;
    int i;
    if (fd < 0) {
        return;
    }
    ws_send_frame(fd, 0x01, "fragment1", 9);
    ws_send_frame(fd, 0x80, "fragment2", 9);
    expect_frame(fd, 1, "fragment1fragment2", 18, "text in 2 fragments");
    ws_send_frame(fd, 0x02, "\x00\x01", 2);
    ws_send_frame(fd, 0x80, "\x02\x03", 2);
    expect_frame(fd, 2, "\x00\x01\x02\x03", 4, "binary in 2 fragments");
    for (i = 0; i < 40; i++) {
        char part[16];
        int n = snprintf(part, sizeof part, "[%d]", i);
        memcpy(whole + len, part, (size_t)n);
        len += (size_t)n;
        ws_send_frame(fd, i == 0 ? 0x01 : (i == 39 ? 0x80 : 0x00), part, (size_t)n);
    }
    expect_frame(fd, 1, whole, len, "text in 40 fragments");
    for (i = 0; i < 20; i++) {
        ws_send_frame(fd, i == 0 ? 0x02 : (i == 19 ? 0x80 : 0x00), "b", 1);
    }
    expect_frame(fd, 2, "bbbbbbbbbbbbbbbbbbbb", 20, "binary in 20 one-byte fragments");
    close(fd);
}

/* Autobahn 5.6-5.8: control frames between fragments are answered at once,
 * in order, and the message is still echoed whole after them. */
static void test_pings_between_fragments(void)
{
    int fd = echo_open("ping inside fragments");
    if (fd < 0) {
        return;
    }
    ws_send_frame(fd, 0x01, "frag1-", 6);
    ws_send_frame(fd, 0x89, "p1", 2);
    expect_frame(fd, 0xa, "p1", 2, "ping between fragments answered before the message ends");
    ws_send_frame(fd, 0x00, "frag2-", 6);
    ws_send_frame(fd, 0x89, "p2", 2);
    ws_send_frame(fd, 0x8a, "unsolicited", 11);
    ws_send_frame(fd, 0x89, "p3", 2);
    ws_send_frame(fd, 0x80, "frag3", 5);
    expect_frame(fd, 0xa, "p2", 2, "second ping between fragments: pong p2");
    expect_frame(fd, 0xa, "p3", 2, "third ping between fragments: pong p3");
    expect_frame(fd, 1, "frag1-frag2-frag3", 17, "message around pings echoed whole, last");
    close(fd);
}

/* Autobahn 5.9-5.14: a continuation with nothing to continue is 1002 --
 * at the start, or right after a complete message. */
static void test_continuation_without_start(void)
{
    int fd = echo_open("orphan continuation");
    if (fd >= 0) {
        ws_send_frame(fd, 0x80, "orphan", 6);
        expect_fail(fd, 1002, "FIN continuation with nothing to continue");
    }
    fd = echo_open("orphan continuation 2");
    if (fd >= 0) {
        ws_send_frame(fd, 0x00, "orphan", 6);
        ws_send_frame(fd, 0x80, "end", 3);
        expect_fail(fd, 1002, "non-FIN continuation with nothing to continue");
    }
    fd = echo_open("orphan continuation 3");
    if (fd >= 0) {
        ws_send_frame(fd, 0x81, "done", 4);
        expect_frame(fd, 1, "done", 4, "complete message echoed before the stray continuation");
        ws_send_frame(fd, 0x80, "more", 4);
        expect_fail(fd, 1002, "continuation after a complete message");
    }
}

/* §5.4: "fragments of one message MUST NOT be interleaved": a new text or
 * binary frame inside a fragmented message is 1002, not echoed. */
static void test_data_frame_inside_message(void)
{
    static const unsigned starts[] = {0x01, 0x02, 0x01};
    static const unsigned intruders[] = {0x81, 0x82, 0x01};
    static const char *names[] = {"text inside text", "binary inside binary",
                                  "non-FIN text inside text"};
    size_t i;
    for (i = 0; i < 3; i++) {
        int fd = echo_open(names[i]);
        if (fd < 0) {
            continue;
        }
        ws_send_frame(fd, starts[i], "first", 5);
        ws_send_frame(fd, intruders[i], "second", 6);
        ws_send_frame(fd, 0x80, "end", 3);
        expect_fail(fd, 1002, names[i]);
    }
}

/* §5.5: a close frame without FIN (fragmented control frame) is 1002. */
static void test_fragmented_close(void)
{
    int fd = echo_open("fragmented close");
    if (fd >= 0) {
        ws_send_frame(fd, 0x08, "\x03\xe8", 2);
        ws_send_frame(fd, 0x80, "", 0);
        expect_fail(fd, 1002, "close without FIN");
    }
}

/* Autobahn 5.18-5.20 style: empty fragments are legal anywhere. */
static void test_empty_fragments(void)
{
    int fd = echo_open("empty fragments");
    if (fd < 0) {
        return;
    }
    ws_send_frame(fd, 0x01, "", 0);
    ws_send_frame(fd, 0x00, "", 0);
    ws_send_frame(fd, 0x80, "", 0);
    expect_frame(fd, 1, "", 0, "text of three empty fragments: empty text");
    ws_send_frame(fd, 0x01, "", 0);
    ws_send_frame(fd, 0x00, "middle", 6);
    ws_send_frame(fd, 0x80, "", 0);
    expect_frame(fd, 1, "middle", 6, "empty first and last fragment");
    ws_send_frame(fd, 0x02, "\xff", 1);
    ws_send_frame(fd, 0x80, "", 0);
    expect_frame(fd, 2, "\xff", 1, "binary with empty last fragment");
    close(fd);
}

/* ---- 6 UTF-8 (RFC 6455 §8.1, RFC 3629) ---------------------------------- */

/* Autobahn 6.2, 6.5-6.7: valid multi-byte text echoed, with code points of
 * every length, the edges of the ranges included. */
static void test_utf8_valid(void)
{
    static const char *texts[] = {
        "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",              /* kosme */
        "\xf0\x9d\x84\x9e clef, \xf0\x9f\x98\x80 smile",             /* 4-byte */
        "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80", /* first of each length */
        "\xf4\x8f\xbf\xbf",                                         /* U+10FFFF */
        "\xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbd",                   /* U+D7FF U+E000 U+FFFD */
    };
    size_t i;
    int fd = echo_open("utf-8 valid");
    if (fd < 0) {
        return;
    }
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char what[48];
        snprintf(what, sizeof what, "valid UTF-8 text %lu echoed", (unsigned long)i);
        echo_roundtrip(fd, 0x81, texts[i], strlen(texts[i]), what);
    }
    echo_roundtrip(fd, 0x81, "nul\0inside", 10, "U+0000 is valid UTF-8");
    close(fd);
}

/* Autobahn 6.2.2-6.2.4: valid text split inside a code point across
 * fragments is valid: the check runs over the message, not per frame. */
static void test_utf8_split_across_fragments(void)
{
    static const char text[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf0\x9d\x84\x9e\xe2\x82\xac";
    size_t n = sizeof text - 1;
    size_t cut;
    int fd = echo_open("utf-8 split");
    if (fd < 0) {
        return;
    }
    for (cut = 1; cut < n; cut++) {
        char what[48];
        snprintf(what, sizeof what, "valid text split at byte %lu", (unsigned long)cut);
        ws_send_frame(fd, 0x01, text, cut);
        ws_send_frame(fd, 0x80, text + cut, n - cut);
        expect_frame(fd, 1, text, n, what);
    }
    for (cut = 0; cut < n; cut++) {
        ws_send_frame(fd, cut == 0 ? 0x01 : (cut == n - 1 ? 0x80 : 0x00), text + cut, 1);
    }
    expect_frame(fd, 1, text, n, "valid text in one-byte fragments");
    close(fd);
}

/* Autobahn 6.3-6.21: invalid UTF-8 in a whole text message is 1007 --
 * overlong forms, surrogates, code points past U+10FFFF, stray and missing
 * continuation bytes, bytes that never appear in UTF-8. */
static void test_utf8_invalid_whole(void)
{
    static const struct {
        const char *bytes;
        const char *name;
    } bad[] = {
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
         "kosme + surrogate + edited"},
        {"\xc0\xaf", "overlong '/' in 2 bytes"},
        {"\xe0\x80\xaf", "overlong '/' in 3 bytes"},
        {"\xf0\x80\x80\xaf", "overlong '/' in 4 bytes"},
        {"\xc1\xbf", "overlong U+007F"},
        {"\xe0\x9f\xbf", "overlong U+07FF"},
        {"\xf0\x8f\xbf\xbf", "overlong U+FFFF"},
        {"\xf8\x88\x80\x80\x80", "5-byte form"},
        {"\xed\xa0\x80", "surrogate U+D800 (ED A0 80)"},
        {"\xed\xbf\xbf", "surrogate U+DFFF"},
        {"\xed\xa0\x80\xed\xb0\x80", "surrogate pair"},
        {"\xf4\x90\x80\x80", "U+110000"},
        {"\xf7\xbf\xbf\xbf", "U+1FFFFF"},
        {"\xf5\x80\x80\x80", "lead byte F5"},
        {"\x80", "stray continuation 80"},
        {"a\xbf" "b", "stray continuation BF inside ASCII"},
        {"\xc2" "A", "missing continuation before ASCII"},
        {"\xe2\x82" "A", "3-byte sequence cut by ASCII"},
        {"\xfe", "byte FE"},
        {"\xff", "byte FF"},
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[96];
        int fd = echo_open("utf-8 invalid");
        if (fd < 0) {
            continue;
        }
        snprintf(what, sizeof what, "invalid UTF-8 (%s)", bad[i].name);
        ws_send_frame(fd, 0x81, bad[i].bytes, strlen(bad[i].bytes));
        expect_fail(fd, 1007, what);
    }
}

/* Spec: "checked across fragments, failing as soon as a sequence cannot
 * become valid" (Autobahn 6.4.1/6.4.2): the 1007 arrives after the bad
 * second fragment, before the third is sent -- even when the second ends
 * with only the first bytes of a sequence that can never be valid. */
static void test_utf8_fail_fast(void)
{
    static const struct {
        const char *frag2;
        const char *name;
    } bad[] = {
        {"\xf4\x90\x80\x80" "edited", "U+110000 in fragment 2 of 3"},
        {"\xf4\x90", "F4 90 at the end of fragment 2"},
        {"\xed\xa0", "ED A0 (surrogate start) at the end of fragment 2"},
        {"\xc0", "C0 at the end of fragment 2"},
        {"ok\xff", "FF at the end of fragment 2"},
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = echo_open("utf-8 fail fast");
        if (fd < 0) {
            continue;
        }
        ws_send_frame(fd, 0x01, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11);
        ws_send_frame(fd, 0x00, bad[i].frag2, strlen(bad[i].frag2));
        /* The third fragment is not sent until the close came (or not). */
        expect_close(fd, 1007, bad[i].name);
        ws_send_frame(fd, 0x80, "edited", 6);
        close(fd);
    }
}

/* RFC 6455 §8.1 / Autobahn 6.3: a message that ends inside a sequence is
 * invalid; a fragment that ends inside a sequence that the next fragment
 * can still complete is not. */
static void test_utf8_invalid_at_end(void)
{
    int fd = echo_open("utf-8 truncated");
    if (fd >= 0) {
        ws_send_frame(fd, 0x81, "kosme \xce\xba\xe1\xbd", 10);
        expect_fail(fd, 1007, "whole text ending inside a 3-byte sequence");
    }
    fd = echo_open("utf-8 truncated fragments");
    if (fd >= 0) {
        ws_send_frame(fd, 0x01, "euro ", 5);
        ws_send_frame(fd, 0x80, "\xe2\x82", 2);
        expect_fail(fd, 1007, "last fragment ending inside a sequence");
    }
    fd = echo_open("utf-8 truncated 4-byte");
    if (fd >= 0) {
        ws_send_frame(fd, 0x01, "clef \xf0\x9d", 7);
        ws_send_frame(fd, 0x00, "\x84", 1);
        ws_send_frame(fd, 0x80, "", 0);
        expect_fail(fd, 1007, "empty last fragment after 3 of 4 bytes");
    }
}

/* ---- 7 close (RFC 6455 §5.5.1, §7.4) ------------------------------------ */

/* Autobahn 7.3.1: an empty close is answered by close 1000 (spec: "1000 if
 * the peer sent none"), then the server closes TCP (§7.1.1: the server
 * closes the connection first). */
static void test_close_empty(void)
{
    int fd = echo_open("empty close");
    if (fd < 0) {
        return;
    }
    send_close(fd, -1, "", 0);
    if (expect_close(fd, 1000, "empty close answered")) {
        check(eof_without_bytes(fd, WAIT_MS), "empty close: server closes TCP");
    }
    close(fd);
}

/* Autobahn 7.3.2: a 1-byte close payload is a protocol error. */
static void test_close_one_byte(void)
{
    int fd = echo_open("1-byte close");
    if (fd >= 0) {
        ws_send_frame(fd, 0x88, "\x03", 1);
        expect_fail(fd, 1002, "close with a 1-byte payload");
    }
}

/* Autobahn 7.7: every valid code is echoed back (spec "a close echoing the
 * code") and the server closes TCP. */
static void test_close_valid_codes(void)
{
    static const int codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                3000, 3999, 4000, 4999};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char what[48];
        int fd = echo_open("close code");
        if (fd < 0) {
            continue;
        }
        snprintf(what, sizeof what, "close %d echoed", codes[i]);
        send_close(fd, codes[i], "", 0);
        if (expect_close(fd, codes[i], what)) {
            check(eof_without_bytes(fd, WAIT_MS), "%s: then TCP closed", what);
        }
        close(fd);
    }
}

/* Autobahn 7.9: invalid codes (< 1000, 1004-1006, 1015, 1016-2999, >= 5000
 * per the spec) are a protocol error, 1002. */
static void test_close_invalid_codes(void)
{
    static const int codes[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                5000, 65535};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char what[48];
        int fd = echo_open("invalid close code");
        if (fd < 0) {
            continue;
        }
        snprintf(what, sizeof what, "close with invalid code %d", codes[i]);
        send_close(fd, codes[i], "", 0);
        expect_fail(fd, 1002, what);
    }
}

/* Autobahn 7.5.1 / 7.3.3-7.3.6: the reason must be UTF-8 (§5.5.1): a valid
 * one (up to the full 123 bytes) echoes the code; an invalid one is 1007;
 * a close payload over 125 bytes is 1002. */
static void test_close_reasons(void)
{
    char reason[124];
    int fd = echo_open("close reason");
    if (fd >= 0) {
        send_close(fd, 1000, "Hello \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 17);
        expect_close(fd, 1000, "close with a UTF-8 reason echoes 1000");
        close(fd);
    }
    memset(reason, 'r', sizeof reason);
    fd = echo_open("close long reason");
    if (fd >= 0) {
        send_close(fd, 3000, reason, 123);
        expect_close(fd, 3000, "close with a 123-byte reason echoes 3000");
        close(fd);
    }
    fd = echo_open("close bad reason");
    if (fd >= 0) {
        send_close(fd, 1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64", 16);
        expect_fail(fd, 1007, "close with a reason that is not UTF-8");
    }
    fd = echo_open("close too long");
    if (fd >= 0) {
        send_close(fd, 1000, reason, 124);
        expect_fail(fd, 1002, "close with a 126-byte payload");
    }
}

/* Autobahn 7.1.2-7.1.5: after the peer's close, nothing more is answered:
 * a text, a ping, a second close sent behind it (even in the same write, or
 * with a message half sent) get no reply; only the close is echoed. */
static void test_data_after_close(void)
{
    size_t a;
    size_t b;
    size_t c;
    unsigned char *f1 = frame_bytes(0x88, "\x03\xe8", 2, 1, &a);
    unsigned char *f2 = frame_bytes(0x81, "after close", 11, 1, &b);
    unsigned char *f3 = frame_bytes(0x89, "ping", 4, 1, &c);
    unsigned char *all = malloc(a + b + c);
    int fd;
    memcpy(all, f1, a);
    memcpy(all + a, f2, b);
    memcpy(all + a + b, f3, c);
    fd = echo_open("data after close");
    if (fd >= 0) {
        send_all(fd, all, a + b + c);
        if (expect_close(fd, 1000, "close then text in one write: close echoed")) {
            check(eof_without_bytes(fd, WAIT_MS), "text and ping after a close: not answered");
        }
        close(fd);
    }
    fd = echo_open("close inside message");
    if (fd >= 0) {
        ws_send_frame(fd, 0x01, "half", 4);
        send_close(fd, 1000, "", 0);
        ws_send_frame(fd, 0x80, " message", 8);
        if (expect_close(fd, 1000, "close between fragments: close echoed")) {
            check(eof_without_bytes(fd, WAIT_MS), "message finished after close: not echoed");
        }
        close(fd);
    }
    free(all);
    free(f1);
    free(f2);
    free(f3);
}

/* Spec: "After sending a close, the server reads until the peer's close or
 * a short timeout": a frame that arrives after the server's own close (here
 * a 1002) is read and not echoed, and the server then still closes. */
static void test_frame_after_server_close(void)
{
    int fd = echo_open("after server close");
    if (fd < 0) {
        return;
    }
    ws_send_frame(fd, 0x83, "", 0);
    if (expect_close(fd, 1002, "reserved opcode: server's close")) {
        ws_send_frame(fd, 0x81, "too late", 8);
        ws_send_frame(fd, 0x89, "late ping", 9);
        send_close(fd, 1002, "", 0);
        check(eof_without_bytes(fd, WAIT_MS),
              "text and ping after the server's close: no echo, no pong, then TCP closed");
    }
    close(fd);
}

/* Spec: the server's close is followed by TCP close even if the peer never
 * answers it ("or a short timeout"). */
static void test_server_close_timeout(void)
{
    int fd = echo_open("close timeout");
    if (fd < 0) {
        return;
    }
    ws_send_frame(fd, 0xf1, "x", 1);
    if (expect_close(fd, 1002, "RSV bits, peer stays silent")) {
        check(eof_without_bytes(fd, 5000), "silent peer: server closes TCP within 5 s");
    }
    close(fd);
}

/* ---- framing errors and limits ------------------------------------------ */

/* RFC 6455 §5.1: "a server MUST close the connection upon receiving a
 * frame that is not masked" -- 1002. */
static void test_unmasked_frame(void)
{
    size_t n;
    unsigned char *f = frame_bytes(0x81, "unmasked", 8, 0, &n);
    int fd = echo_open("unmasked");
    if (fd >= 0) {
        send_all(fd, f, n);
        expect_fail(fd, 1002, "unmasked client frame");
    }
    free(f);
}

/* RFC 6455 §5.2: in the 64-bit length "the most significant bit MUST be 0"
 * -- 1002, decided from the header alone. */
static void test_length_top_bit(void)
{
    static const unsigned char h[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x05, 1, 2, 3, 4};
    int fd = echo_open("64-bit length top bit");
    if (fd >= 0) {
        send_all(fd, h, sizeof h);
        send_all(fd, "\x01\x02\x03\x04\x05", 5);
        expect_close(fd, 1002, "64-bit length with the top bit set");
        close(fd);
    }
}

/* Spec: a message over 16 MiB on /echo is 1009; a frame that declares more
 * is refused from its header, before any payload is sent. */
static void test_frame_over_limit(void)
{
    unsigned char h[14];
    unsigned long long n = (unsigned long long)MAX_ECHO + 1;
    int k;
    int op;
    for (op = 1; op <= 2; op++) {
        int fd = echo_open("over 16 MiB");
        if (fd < 0) {
            continue;
        }
        h[0] = (unsigned char)(0x80 | op);
        h[1] = 0x80 | 127;
        for (k = 0; k < 8; k++) {
            h[2 + k] = (unsigned char)(n >> (8 * (7 - k)));
        }
        memset(h + 10, 0x5a, 4);
        send_all(fd, h, sizeof h);
        expect_close(fd, 1009, op == 1 ? "text frame declaring 16 MiB + 1: 1009 from the header"
                                       : "binary frame declaring 16 MiB + 1: 1009 from the header");
        close(fd);
    }
}

/* Spec: "An error on one connection closes that connection only ... Nothing
 * a client sends can ... stall the others": bad clients (half a frame,
 * protocol errors, garbage, a header declaring 2^63 bytes) never stop a
 * second client's echoes. */
static void test_bad_client_isolated(void)
{
    static const unsigned char top_bit[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4};
    int good = echo_open("good client");
    int half = echo_open("half-frame client");
    int bad = echo_open("reserved-opcode client");
    int junk = echo_open("junk client");
    if (good < 0 || half < 0 || bad < 0 || junk < 0) {
        return;
    }
    send_all(half, "\x81\xfe\x01", 3); /* 126-form length, cut after one byte */
    echo_roundtrip(good, 0x81, "one", 3, "good client echoes while another holds half a frame");
    ws_send_frame(bad, 0x85, "", 0);
    expect_fail(bad, 1002, "bad client gets 1002");
    echo_roundtrip(good, 0x82, "two", 3, "good client echoes after another's 1002");
    /* 'G' = 0x47: RSV1 and reserved opcode 7; 'E': unmasked. */
    send_all(junk, "GET / HTTP/1.1\r\n\r\n", 18);
    expect_close(junk, 1002, "HTTP text after the upgrade: 1002");
    close(junk);
    junk = echo_open("top-bit client");
    if (junk >= 0) {
        send_all(junk, top_bit, sizeof top_bit);
        close(junk); /* vanishes without a close handshake */
    }
    close(half);
    echo_roundtrip(good, 0x81, "three", 5, "good client echoes after others vanished");
    close(good);
    check(server_alive(&srv), "server still running after the bad clients");
}

/* ---- main ---------------------------------------------------------------- */

int main(void)
{
    char *root = make_temp_dir();
    char path[128];
    signal(SIGPIPE, SIG_IGN);
    snprintf(path, sizeof path, "%s/index.html", root);
    write_file(path, "<p>index</p>\n", 13);
    if (server_start(&srv, "-r", root, NULL) != 0) {
        check(0, "server starts");
        remove_tree(root);
        return test_summary();
    }
    port = srv.port;

    test_handshake_accept_key();
    test_handshake_no_extension_no_protocol();
    test_handshake_bad_key();
    test_handshake_missing_tokens();
    test_handshake_method_and_version();
    test_handshake_version_8();
    test_handshake_other_path();
    test_handshake_token_variants();
    test_handshake_frame_in_same_write();

    test_framing_sizes();
    test_framing_byte_by_byte();

    test_ping_payloads();
    test_ping_126_bytes();
    test_unsolicited_pong();
    test_fragmented_ping();
    test_ten_pings();

    test_reserved_bits();
    test_reserved_opcodes();

    test_fragments_reassembled();
    test_pings_between_fragments();
    test_continuation_without_start();
    test_data_frame_inside_message();
    test_fragmented_close();
    test_empty_fragments();

    test_utf8_valid();
    test_utf8_split_across_fragments();
    test_utf8_invalid_whole();
    test_utf8_fail_fast();
    test_utf8_invalid_at_end();

    test_close_empty();
    test_close_one_byte();
    test_close_valid_codes();
    test_close_invalid_codes();
    test_close_reasons();
    test_data_after_close();
    test_frame_after_server_close();
    test_server_close_timeout();

    test_unmasked_frame();
    test_length_top_bit();
    test_frame_over_limit();
    test_bad_client_isolated();

    check(server_stop(&srv) == 0, "server exits 0 on SIGTERM");
    remove_tree(root);
    return test_summary();
}
