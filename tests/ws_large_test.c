/* ws_large_test.c -- the slow WebSocket cases against `GET /echo` (spec
 * "WebSocket (RFC 6455)": every message echoed unchanged up to 16 MiB, over
 * 16 MiB -> close 1009), in the spirit of Autobahn|Testsuite categories 9
 * (limits/performance) and 10 (misc).  Run by `make test-large`
 * (`sh tests/run.sh large`); takes from seconds to a minute or two.
 *
 * Every transfer here is a non-blocking client that writes its frames while
 * it reads the echo, in one poll() loop, so neither side's socket buffers
 * can deadlock the exchange: the server is never asked to buffer more than
 * a well-behaved reader leaves in flight. */
#include "testlib.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define MAX_ECHO (16u * MIB)    /* spec: over 16 MiB on /echo -> 1009 */
#define TRANSFER_MS 60000       /* one transfer, even 16 MiB in 500-byte chops */
#define MAX_CHOP 997            /* chopped writes are 1..997 bytes */

static struct server srv;
static int port;

/* ---- building client frames and reading server frames ------------------- */

/* Size of the server's frame header for an n-byte payload, minimal form. */
static size_t header_len(size_t n)
{
    return n < 126 ? 2 : (n < 65536 ? 4 : 10);
}

struct frame {
    int first;                  /* FIN/RSV/opcode byte */
    int masked;
    int minimal;
    size_t len;
    const unsigned char *payload;
};

/* Parses one server frame at buf[0..n): returns the bytes it takes, or 0
 * if the frame is not complete yet. */
static size_t frame_parse(const unsigned char *buf, size_t n, struct frame *f)
{
    size_t h = 2;
    unsigned long long len;
    if (n < 2) {
        return 0;
    }
    f->first = buf[0];
    f->masked = (buf[1] & 0x80) != 0;
    len = buf[1] & 0x7f;
    f->minimal = 1;
    if (len == 126) {
        if (n < 4) {
            return 0;
        }
        len = ((unsigned)buf[2] << 8) | buf[3];
        f->minimal = len >= 126;
        h = 4;
    } else if (len == 127) {
        int k;
        if (n < 10) {
            return 0;
        }
        len = 0;
        for (k = 0; k < 8; k++) {
            len = (len << 8) | buf[2 + k];
        }
        f->minimal = len >= 65536;
        h = 10;
    }
    if (f->masked) {
        h += 4;
    }
    if (len > n || h + len > n) {
        return 0;
    }
    f->len = (size_t)len;
    f->payload = buf + h;
    return h + (size_t)len;
}

/* A valid UTF-8 text of exactly n bytes with code points of 1 to 4 bytes,
 * so chopped writes and fragments cut inside them. */
static unsigned char *make_text(size_t n, unsigned salt)
{
    static const char pattern[] = "ASCII \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 "
                                  "\xf0\x9d\x84\x9e \xe2\x82\xac ";
    size_t plen = sizeof pattern - 1;
    unsigned char *t = malloc(n + 1);
    size_t i = 0;
    while (i + plen + 8 <= n) {
        memcpy(t + i, pattern, plen);
        i += plen;
        i += (size_t)sprintf((char *)t + i, "%07u", (unsigned)(i + salt) % 10000000u);
    }
    while (i < n) {
        t[i] = (unsigned char)('a' + (i + salt) % 26);
        i++;
    }
    return t;
}

/* Bytes no two positions of which are easily confused (catches reordered
 * or repeated chunks, not only corrupted ones). */
static unsigned char *make_binary(size_t n, unsigned salt)
{
    unsigned char *b = malloc(n + 1);
    unsigned x = 2463534242u ^ salt;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    return b;
}

/* ---- a non-blocking client: writes its frames while it reads ------------ */

struct peer {
    int fd;
    unsigned char *out;         /* every byte this client will send */
    size_t out_len;
    size_t out_pos;             /* how many are sent */
    int chopped;                /* write in pieces of 1..MAX_CHOP bytes */
    unsigned seed;              /* for the piece sizes */
    unsigned char *in;          /* everything the server sent */
    size_t in_len;
    size_t in_cap;
    size_t want;                /* done once this many bytes came */
    int eof;                    /* the server closed or reset the socket */
};

static int peer_open(struct peer *p, unsigned char *out, size_t out_len, int chopped, size_t want)
{
    memset(p, 0, sizeof *p);
    p->fd = ws_connect(port, "/echo");
    p->out = out;
    p->out_len = out_len;
    p->chopped = chopped;
    p->seed = 12345u + (unsigned)out_len;
    p->want = want;
    p->in_cap = want + 64;
    p->in = malloc(p->in_cap);
    if (p->fd < 0) {
        return check(0, "GET /echo upgrades (101)");
    }
    return fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK) == 0;
}

static void peer_close(struct peer *p)
{
    if (p->fd >= 0) {
        close(p->fd);
    }
    free(p->in);
    p->in = NULL;
}

/* The size of the next write: up to 1 MiB whole, or a pseudo-random 1..997
 * chopped. */
static size_t peer_next_piece(struct peer *p)
{
    size_t left = p->out_len - p->out_pos;
    size_t n = MIB;
    if (p->chopped) {
        p->seed = p->seed * 1103515245u + 12345u;
        n = 1 + (p->seed >> 8) % MAX_CHOP;
    }
    return n < left ? n : left;
}

/* Writes what the socket takes now (at most 256 pieces, so reading keeps
 * up).  A failed write (the server closed) ends the sending. */
static void peer_write(struct peer *p)
{
    int pieces;
    for (pieces = 0; pieces < 256 && p->out_pos < p->out_len; pieces++) {
        ssize_t w = send(p->fd, p->out + p->out_pos, peer_next_piece(p), 0);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        if (w <= 0) {
            p->out_pos = p->out_len;
            return;
        }
        p->out_pos += (size_t)w;
    }
}

/* Reads what has arrived, growing the buffer if the server sends more
 * than expected. */
static void peer_read(struct peer *p)
{
    for (;;) {
        ssize_t r;
        if (p->in_len == p->in_cap) {
            p->in_cap *= 2;
            p->in = realloc(p->in, p->in_cap);
        }
        r = recv(p->fd, p->in + p->in_len, p->in_cap - p->in_len, 0);
        if (r > 0) {
            p->in_len += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        p->eof = 1;
        return;
    }
}

/* The close code among the frames received so far, -1 if none (1005 for a
 * close without a code). */
static int peer_close_code(const struct peer *p)
{
    size_t off = 0;
    struct frame f;
    size_t used;
    while ((used = frame_parse(p->in + off, p->in_len - off, &f)) > 0) {
        if ((f.first & 0x0f) == 8) {
            return f.len >= 2 ? (f.payload[0] << 8) | f.payload[1] : 1005;
        }
        off += used;
    }
    return -1;
}

/* Done: everything sent and `want` bytes came back, or the server closed
 * (a close frame or the socket). */
static int peer_done(const struct peer *p)
{
    if (p->fd < 0 || p->eof) {
        return 1;
    }
    if (p->out_pos == p->out_len && p->in_len >= p->want) {
        return 1;
    }
    return p->in_len >= 4 && peer_close_code(p) >= 0;
}

/* One round of the loop: poll every unfinished peer (and `extra_fd` for
 * POLLIN, if >= 0) for up to timeout_ms and move their bytes.  Returns
 * the extra fd's revents. */
static int pump_once(struct peer *ps, int n, int extra_fd, int timeout_ms)
{
    struct pollfd pf[8];
    int map[8];
    int k = 0;
    int i;
    int extra = 0;
    for (i = 0; i < n; i++) {
        if (!peer_done(&ps[i])) {
            pf[k].fd = ps[i].fd;
            pf[k].events = POLLIN | (ps[i].out_pos < ps[i].out_len ? POLLOUT : 0);
            map[k++] = i;
        }
    }
    if (extra_fd >= 0) {
        pf[k].fd = extra_fd;
        pf[k].events = POLLIN;
        map[k++] = -1;
    }
    if (poll(pf, (nfds_t)k, timeout_ms) <= 0) {
        return 0;
    }
    for (i = 0; i < k; i++) {
        if (map[i] < 0) {
            extra = pf[i].revents;
            continue;
        }
        if (pf[i].revents & POLLOUT) {
            peer_write(&ps[map[i]]);
        }
        if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            peer_read(&ps[map[i]]);
        }
    }
    return extra;
}

static int all_done(const struct peer *ps, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (!peer_done(&ps[i])) {
            return 0;
        }
    }
    return 1;
}

/* Runs the peers until all are done; 0, or -1 on timeout. */
static int pump(struct peer *ps, int n, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (!all_done(ps, n)) {
        if (now_ms() > deadline) {
            return -1;
        }
        pump_once(ps, n, -1, 100);
    }
    return 0;
}

/* Checks that the server sent exactly one frame: unmasked, FIN, RSV 0,
 * minimal length, `opcode`, carrying payload[0..n) (spec: "every text or
 * binary message comes back unchanged"; "The server's own frames are
 * unmasked, FIN set, minimal length encoding"). */
static int check_single_echo(const struct peer *p, int opcode, const unsigned char *payload,
                             size_t n, const char *what)
{
    struct frame f;
    size_t used = frame_parse(p->in, p->in_len, &f);
    int code = peer_close_code(p);
    if (used == 0) {
        return check(0, "%s: no complete frame came (%lu bytes, close code %d, eof %d)", what,
                     (unsigned long)p->in_len, code, p->eof);
    }
    if ((f.first & 0x0f) != opcode) {
        return check(0, "%s: got opcode %d (close code %d) instead of %d", what, f.first & 0x0f,
                     code, opcode);
    }
    return check(f.first == (0x80 | opcode) && !f.masked && f.minimal && used == p->in_len &&
                     f.len == n && memcmp(f.payload, payload, n) == 0,
                 "%s: echoed intact as one frame (first byte 0x%02x, masked %d, minimal %d, "
                 "%lu of %lu bytes, %lu bytes extra)",
                 what, f.first, f.masked, f.minimal, (unsigned long)f.len, (unsigned long)n,
                 (unsigned long)(p->in_len - used));
}

/* ---- 9: large messages --------------------------------------------------- */

/* Autobahn 9.1/9.2 (and 9.3/9.4 for the chopped writes): a text or binary
 * message of `size` bytes, written whole or in pieces of 1..997 bytes,
 * comes back intact as one frame. */
static void test_large_echo(int opcode, size_t size, int chopped)
{
    unsigned char *payload = opcode == 1 ? make_text(size, (unsigned)size) : make_binary(size, 7);
    unsigned char *out = malloc(size + 14);
    size_t out_len = ws_frame_put(out, 0x80 | (unsigned)opcode, payload, size);
    struct peer p;
    char what[96];
    long long t0 = now_ms();
    snprintf(what, sizeof what, "%s %lu KiB %s", opcode == 1 ? "text" : "binary",
             (unsigned long)(size / KIB), chopped ? "in 1..997-byte writes" : "in one write");
    if (peer_open(&p, out, out_len, chopped, header_len(size) + size)) {
        check(pump(&p, 1, TRANSFER_MS) == 0, "%s: done within %d s", what, TRANSFER_MS / 1000);
        check_single_echo(&p, opcode, payload, size, what);
        if (getenv("TEST_VERBOSE")) {
            printf("   %s: %lld ms\n", what, now_ms() - t0);
        }
    }
    peer_close(&p);
    free(out);
    free(payload);
}

/* Message number i of the 1,000: "message 0042 " then a letter repeated. */
static void make_numbered(unsigned char *msg, size_t size, int i)
{
    char head[16];
    memset(msg, 'a' + i % 26, size);
    snprintf(head, sizeof head, "message %04d ", i);
    memcpy(msg, head, strlen(head));
}

/* Autobahn 9.7/9.8 style: 1,000 messages of 1 KiB in a row, all echoed, in
 * order, each as its own frame. */
static void test_thousand_messages(void)
{
    enum { COUNT = 1000, SIZE = 1024 };
    unsigned char *out = malloc((size_t)COUNT * (SIZE + 14));
    unsigned char msg[SIZE];
    size_t out_len = 0;
    size_t off = 0;
    struct peer p;
    int i;
    int good = 0;
    for (i = 0; i < COUNT; i++) {
        make_numbered(msg, SIZE, i);
        out_len += ws_frame_put(out + out_len, 0x81, msg, SIZE);
    }
    if (peer_open(&p, out, out_len, 0, (size_t)COUNT * (4 + SIZE))) {
        check(pump(&p, 1, TRANSFER_MS) == 0, "1,000 x 1 KiB: done in time");
        for (i = 0; i < COUNT; i++) {
            struct frame f;
            size_t used = frame_parse(p.in + off, p.in_len - off, &f);
            make_numbered(msg, SIZE, i);
            if (used == 0 || f.first != 0x81 || f.len != SIZE || memcmp(f.payload, msg, SIZE) != 0) {
                break;
            }
            off += used;
            good++;
        }
        check(good == COUNT && off == p.in_len,
              "1,000 x 1 KiB text: all echoed in order (%d in order, %lu bytes left over)", good,
              (unsigned long)(p.in_len - off));
    }
    peer_close(&p);
    free(out);
}

/* ---- 10: fragmented message ---------------------------------------------- */

/* Autobahn 10.1.1: a 64 KiB message in 1,300-byte fragments (cutting code
 * points for the text) is echoed as one message (one FIN frame). */
static void test_fragmented_64k(int opcode)
{
    size_t size = 64 * KIB;
    size_t frag = 1300;
    unsigned char *payload = opcode == 1 ? make_text(size, 3) : make_binary(size, 3);
    unsigned char *out = malloc(size + (size / frag + 1) * 14);
    size_t out_len = 0;
    size_t pos;
    struct peer p;
    char what[64];
    for (pos = 0; pos < size; pos += frag) {
        size_t n = size - pos < frag ? size - pos : frag;
        unsigned first = (pos == 0 ? (unsigned)opcode : 0) | (pos + n == size ? 0x80 : 0);
        out_len += ws_frame_put(out + out_len, first, payload + pos, n);
    }
    snprintf(what, sizeof what, "%s 64 KiB in 1,300-byte fragments", opcode == 1 ? "text" : "binary");
    if (peer_open(&p, out, out_len, 1, header_len(size) + size)) {
        check(pump(&p, 1, TRANSFER_MS) == 0, "%s: done in time", what);
        check_single_echo(&p, opcode, payload, size, what);
    }
    peer_close(&p);
    free(out);
    free(payload);
}

/* ---- the 16 MiB limit ---------------------------------------------------- */

/* Spec: "over 16 MiB on /echo: 1009" -- a whole 16 MiB + 1 frame, sent in
 * full (the server may refuse from its header; it must not echo). */
static void test_over_limit_whole(void)
{
    size_t size = MAX_ECHO + 1;
    unsigned char *payload = make_binary(size, 11);
    unsigned char *out = malloc(size + 14);
    size_t out_len = ws_frame_put(out, 0x82, payload, size);
    struct peer p;
    if (peer_open(&p, out, out_len, 0, 16)) {
        pump(&p, 1, TRANSFER_MS);
        check(peer_close_code(&p) == 1009, "16 MiB + 1 in one frame: close 1009 (got %d)",
              peer_close_code(&p));
        check(p.in_len >= 2 && (p.in[0] & 0x0f) == 8, "16 MiB + 1: the close is the first frame");
    }
    peer_close(&p);
    free(out);
    free(payload);
}

/* Spec: the limit is on the message, so fragments adding up to 16 MiB + 1
 * (8 MiB + 8 MiB + 1 byte) are 1009 too, and nothing is echoed. */
static void test_over_limit_fragments(void)
{
    size_t half = MAX_ECHO / 2;
    unsigned char *payload = make_binary(half, 13);
    unsigned char *out = malloc(2 * (half + 14) + 15);
    size_t out_len = 0;
    struct peer p;
    out_len += ws_frame_put(out + out_len, 0x02, payload, half);
    out_len += ws_frame_put(out + out_len, 0x00, payload, half);
    out_len += ws_frame_put(out + out_len, 0x80, payload, 1);
    if (peer_open(&p, out, out_len, 0, 16)) {
        pump(&p, 1, TRANSFER_MS);
        check(peer_close_code(&p) == 1009,
              "fragments adding up to 16 MiB + 1: close 1009 (got %d)", peer_close_code(&p));
        check(p.in_len >= 2 && (p.in[0] & 0x0f) == 8,
              "fragments over 16 MiB: the close is the first frame");
    }
    peer_close(&p);
    free(out);
    free(payload);
}

/* ---- no stall ----------------------------------------------------------- */

/* Spec: "Nothing a client sends can ... stall the others" (one poll()
 * loop, partial reads and writes): while two clients each send and read
 * back a 16 MiB message, a third small client's echoes keep coming back
 * within a second. */
static void test_no_stall(void)
{
    size_t size = MAX_ECHO;
    unsigned char *payload = make_binary(size, 21);
    unsigned char *out = malloc(size + 14);
    size_t out_len = ws_frame_put(out, 0x82, payload, size);
    struct peer big[2];
    int small = ws_connect(port, "/echo");
    long long deadline = now_ms() + TRANSFER_MS;
    long long sent_at = 0;
    long long worst = 0;
    int echoes = 0;
    int waiting = 0;
    int ok = check(small >= 0, "small client connects");
    ok &= peer_open(&big[0], out, out_len, 0, header_len(size) + size);
    ok &= peer_open(&big[1], out, out_len, 0, header_len(size) + size);
    while (ok && !all_done(big, 2) && now_ms() < deadline) {
        if (!waiting) {
            ws_send_frame(small, 0x81, "tick", 4);
            sent_at = now_ms();
            waiting = 1;
        }
        if (pump_once(big, 2, small, 20) & POLLIN) {
            struct ws_msg m;
            if (ws_recv_frame(small, &m, 1000) != 0 || m.opcode != 1 || m.len != 4) {
                check(0, "small client: its echo came during the big transfers");
                ws_msg_free(&m);
                break;
            }
            ws_msg_free(&m);
            echoes++;
            waiting = 0;
        }
        if (waiting && now_ms() - sent_at > worst) {
            worst = now_ms() - sent_at;
        }
    }
    if (ok) {
        check(all_done(big, 2), "two 16 MiB clients: done in time");
        check_single_echo(&big[0], 2, payload, size, "first 16 MiB client");
        check_single_echo(&big[1], 2, payload, size, "second 16 MiB client");
        check(echoes > 0 && worst < 1000,
              "small client: %d echoes during the 16 MiB transfers, slowest %lld ms (< 1000)",
              echoes, worst);
    }
    peer_close(&big[0]);
    peer_close(&big[1]);
    if (small >= 0) {
        close(small);
    }
    free(out);
    free(payload);
}

/* ---- main ---------------------------------------------------------------- */

/* "Buffers that grow only when needed and shrink back": a fresh server
 * echoes one 16 MiB message whose write also carries the first bytes of a
 * next frame (so its input buffer is never empty), and its memory comes
 * back to within 4 MiB of where it started. */
static void test_memory_shrinks_back(void)
{
    size_t size = 16 * MIB;
    unsigned char *payload = make_binary(size, 11);
    unsigned char *out = malloc(size + 16);
    size_t out_len = ws_frame_put(out, 0x82, payload, size);
    struct server fresh;
    struct peer p;
    long before;
    long after;
    out[out_len++] = 0x82;      /* FIN + binary, then a masked length 5: */
    out[out_len++] = 0x85;      /* the start of a frame that never ends */
    if (!check(server_start(&fresh, "-r", "tests", NULL) == 0, "a fresh server starts")) {
        free(out);
        free(payload);
        return;
    }
    before = rss_kb(fresh.pid);
    port = fresh.port;
    if (peer_open(&p, out, out_len, 0, header_len(size) + size)) {
        check(pump(&p, 1, TRANSFER_MS) == 0, "16 MiB echo with a frame started behind it");
        check_single_echo(&p, 2, payload, size, "16 MiB echo with a frame started behind it");
        sleep_ms(100);
        after = rss_kb(fresh.pid);
        if (before > 0 && after > 0) {
            check(after - before < 4096, "after a 16 MiB echo the server's RSS is %ld kB above where it began (< 4 MiB)",
                  after - before);
        } else {
            printf("skip - RSS check (no /proc, or an ASan/valgrind server)\n");
        }
    }
    peer_close(&p);
    port = srv.port;
    check(server_stop(&fresh) == 0, "the fresh server exits 0");
    free(out);
    free(payload);
}

int main(void)
{
    static const size_t sizes[] = {64 * KIB, 256 * KIB, 1 * MIB, 4 * MIB, 16 * MIB};
    char *root = make_temp_dir();
    size_t i;
    int opcode;
    int chopped;
    signal(SIGPIPE, SIG_IGN);
    if (server_start(&srv, "-r", root, NULL) != 0) {
        check(0, "server starts");
        remove_tree(root);
        return test_summary();
    }
    port = srv.port;

    for (chopped = 0; chopped <= 1; chopped++) {
        for (opcode = 1; opcode <= 2; opcode++) {
            for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                test_large_echo(opcode, sizes[i], chopped);
            }
        }
    }
    test_thousand_messages();
    test_fragmented_64k(1);
    test_fragmented_64k(2);
    test_over_limit_whole();
    test_over_limit_fragments();
    test_no_stall();
    test_memory_shrinks_back();

    check(server_alive(&srv), "server still running");
    check(server_stop(&srv) == 0, "server exits 0 on SIGTERM");
    remove_tree(root);
    return test_summary();
}
