/* robust_large_test.c -- the slow half of issue 8's tests (make test-large):
 * the write-progress rule (SEND_TIMEOUT_MS, 20 s) on a stalled download and
 * on pipelined requests whose answers are never read, descriptors coming
 * back under a low descriptor limit, a 16 MiB echo read slowly after the
 * close, and a churn of 10,000 Socket.IO clients.  It includes
 * robust_test.c (without its main) for the helpers.
 *
 *   cc -std=c99 -Wall -Wextra -pedantic -Wno-unused-function -I tests \
 *      -o tests/build/robust_large_test tests/robust_large_test.c */
#define ROBUST_NO_MAIN
#include "robust_test.c"

#define SEND_TIMEOUT_S 20

/* Reads and discards until EOF or reset, for at most timeout_ms.  Returns
 * the bytes read; *ended says whether the connection ended. */
static unsigned long long drain(int fd, int timeout_ms, int *ended)
{
    static char buf[1 << 16];
    unsigned long long total = 0;
    long long deadline = now_ms() + timeout_ms;
    *ended = 0;
    while (now_ms() < deadline) {
        ssize_t n = recv_some(fd, buf, sizeof buf, (int)(deadline - now_ms()));
        if (n > 0) {
            total += (unsigned long long)n;
            continue;
        }
        *ended = n == 0 || errno != ETIMEDOUT;
        break;
    }
    return total;
}

/* Spec "Write progress": a download whose reader stopped, and pipelined
 * requests whose answers are never read, are closed after 20 s without
 * progress.  Meanwhile, on a second server limited to 128 descriptors and
 * filled with stalled downloads, a GET / must be answered once they time
 * out (the first version: never). */
static void test_write_progress(const char *root)
{
    enum { DOWNLOADS = 64 };
    struct server s;
    struct server full;
    int stalled;
    int piped;
    int dl[DOWNLOADS];
    int probe;
    int i;
    int ended;
    int fds_at_start;
    int fds_loaded;
    long long t0;
    long long closed_at = -1;
    long long answered_at = -1;
    unsigned long long got;
    struct http_response r;
    char *pipeline;
    size_t plen = 0;
    if (server_start(&s, "-r", root, NULL) != 0) {
        check(0, "progress: server starts");
        return;
    }
    t_server_fd_limit = 128;
    if (server_start(&full, "-r", root, NULL) != 0) {
        t_server_fd_limit = 0;
        check(0, "progress: server with 128 descriptors starts");
        server_stop_within(&s, 3000);
        return;
    }
    t_server_fd_limit = 0;
    fds_at_start = fd_count(s.pid);

    t_rcvbuf = 4096;
    t_maxseg = 536;
    stalled = tcp_connect(s.port);
    send_str(stalled, "GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    piped = tcp_connect(s.port);
    pipeline = malloc(200 * 64);
    if (pipeline == NULL) {
        exit(2);
    }
    for (i = 0; i < 200; i++) {
        plen += (size_t)sprintf(pipeline + plen, "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    send_all(piped, pipeline, plen);
    free(pipeline);
    for (i = 0; i < DOWNLOADS; i++) {
        dl[i] = tcp_connect(full.port);
        if (dl[i] >= 0) {
            send_str(dl[i], "GET /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        }
    }
    t_rcvbuf = 0;
    t_maxseg = 0;
    t0 = now_ms();
    sleep_ms(1000);
    fds_loaded = fd_count(s.pid);
    if (fds_loaded <= fds_at_start) {
        fds_at_start = -1;   /* no /proc, or nothing to see: skip the timing */
    }
    probe = tcp_connect(full.port);
    send_str(probe, "GET /x.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    /* Watch both for up to 20 s + 15 s. */
    while (now_ms() - t0 < (SEND_TIMEOUT_S + 15) * 1000 && (answered_at < 0 || closed_at < 0)) {
        if (answered_at < 0) {
            struct pollfd p;
            p.fd = probe;
            p.events = POLLIN;
            if (poll(&p, 1, 500) == 1) {
                answered_at = now_ms() - t0;
            }
        } else {
            sleep_ms(500);
        }
        if (closed_at < 0 && fds_at_start > 0 && fd_count(s.pid) <= fds_at_start) {
            closed_at = now_ms() - t0;   /* the stalled connections are gone */
        }
    }
    printf("# progress: GET / on a server full of stalled downloads answered after %lld ms (-1: not within %d s)\n",
           answered_at, SEND_TIMEOUT_S + 15);
    check(answered_at >= 0 && http_read_response(probe, &r, 0, 3000) == 0 && r.status == 200,
          "progress: with every descriptor held by stalled downloads, a GET is answered once they time out");
    if (answered_at >= 0) {
        http_response_free(&r);
    }
    if (fds_at_start > 0) {
        printf("# progress: the stalled connections' descriptors were released after %lld ms (-1: not within %d s)\n",
               closed_at, SEND_TIMEOUT_S + 15);
        check(closed_at >= (SEND_TIMEOUT_S - 5) * 1000, "progress: not closed long before 20 s (%lld ms)", closed_at);
    }
    got = drain(stalled, 10000, &ended);
    check(ended && got < 64ULL * MIB, "progress: a download whose reader stopped was closed (%llu of 64 MiB came, %s)",
          got, ended ? "then the end" : "still open");
    got = drain(piped, 10000, &ended);
    check(ended && got < 200ULL * MIB, "progress: 200 pipelined requests never read were closed (%llu bytes came, %s)",
          got, ended ? "then the end" : "still open");
    close_fd(stalled);
    close_fd(piped);
    close_fd(probe);
    for (i = 0; i < DOWNLOADS; i++) {
        close_fd(dl[i]);
    }
    check(server_alive(&s) && server_alive(&full), "progress: servers alive");
    server_stop_within(&s, 5000);
    server_stop_within(&full, 5000);
}

/* Spec "Closing": a 16 MiB echo read at about 2 MiB/s after the client's
 * close; the first version's 1 s linger cut it off at ~5.5 MB. */
static void test_linger_slow_reader(void)
{
    struct server s;
    size_t n = 16 * MIB;
    char *data = malloc(n);
    char *back = malloc(n + 64);
    static const unsigned char code1000[2] = {0x03, 0xe8};
    unsigned char h[10];
    size_t got = 0;
    size_t want = n + 10;   /* the echo's header is 10 bytes (64-bit length) */
    int fd;
    int code;
    long long deadline;
    if (data == NULL || back == NULL) {
        exit(2);
    }
    memset(data, 'z', n);
    if (server_start(&s, NULL) != 0) {
        check(0, "slow linger: server starts");
        free(data);
        free(back);
        return;
    }
    t_rcvbuf = 65536;
    fd = ws_connect(s.port, "/echo");
    t_rcvbuf = 0;
    ws_send_frame(fd, 0x82, data, n);
    ws_send_frame(fd, 0x88, code1000, 2);
    deadline = now_ms() + 20000;
    while (got < want && now_ms() < deadline) {
        ssize_t r = recv_some(fd, got < 10 ? (char *)h + got : back + (got - 10), got < 10 ? 10 - got : 65536 < want - got ? 65536 : want - got, 3000);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
        sleep_ms(30);   /* about 2 MiB/s */
    }
    check(got == want && h[0] == 0x82 && memcmp(back, data, n) == 0,
          "slow linger: a 16 MiB echo read at ~2 MiB/s after the close arrives whole (%lu of %lu bytes)",
          (unsigned long)got, (unsigned long)want);
    code = ws_recv_close_code(fd, 3000);
    check(code == 1000, "slow linger: then the close frame 1000 (got %d)", code);
    close_fd(fd);
    free(data);
    free(back);
    server_stop_within(&s, 5000);
}

int main(void)
{
    char path[512];
    char file[600];
    int fd;
    char *dir = robust_setup(path, sizeof path);
    if (dir == NULL) {
        return 2;
    }
    /* 64 MiB, sparse: no disk, but more than any socket buffer. */
    snprintf(file, sizeof file, "%s/huge.bin", path);
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 64L * MIB) != 0) {
        fprintf(stderr, "robust_large_test: cannot make %s\n", file);
        return 2;
    }
    close(fd);

    RUN(test_write_progress(path));
    RUN(test_linger_slow_reader());
    RUN(test_churn_gives_memory_back());

    remove_tree(dir);
    if (g_skipped > 0) {
        printf("# %d part(s) skipped: see the SKIP lines above\n", g_skipped);
    }
    return test_summary();
}
