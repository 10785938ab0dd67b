/* The scripted client of `make tour`: what a browser tab does when you type
 * "foo", with every random choice replaced by a fixed one so that gdb prints
 * the same values on every run.
 *
 *   client PORT
 *
 * 1. GET /socket.io/?EIO=4&transport=websocket with the sample key of
 *    RFC 6455 §1.3, "dGhlIHNhbXBsZSBub25jZQ==", and check that the answer
 *    is 101 with Sec-WebSocket-Accept "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
 * 2. Read the Engine.IO open packet (0{...}), send Socket.IO CONNECT (40),
 *    read the server's 40{"sid":...}.
 * 3. Send 42["create or join","foo"]; once the server says "created", a
 *    second tab does steps 1 to 3 too, then reads whatever comes until the
 *    server goes away (gdb kills it at the end of the walk).
 *
 * Frames are masked with the example mask of RFC 6455 §5.7, 37 fa 21 3d (a
 * browser picks a random mask for every frame).  Every wait has a deadline:
 * the whole run is limited by alarm().  Exit status 0 when both tabs got
 * through steps 1 and 2 as the protocol says and sent step 3.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define TIMEOUT_S 30

static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};

static unsigned char in[65536];
static size_t in_len;

static void fail(const char *what)
{
    fprintf(stderr, "tour client: %s\n", what);
    exit(1);
}

static void on_alarm(int sig)
{
    static const char msg[] = "tour client: timed out\n";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0) {
        _exit(3);
    }
    _exit(2);
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            fail("write failed");
        }
        b += w;
        n -= (size_t)w;
    }
}

/* Reads more bytes into in[].  Returns 0 at end of stream. */
static size_t read_more(int fd)
{
    ssize_t r;
    if (in_len == sizeof in) {
        fail("too much input");
    }
    do {
        r = read(fd, in + in_len, sizeof in - in_len);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return 0;   /* ECONNRESET: the server is gone, as at EOF */
    }
    in_len += (size_t)r;
    return (size_t)r;
}

static void consume(size_t n)
{
    memmove(in, in + n, in_len - n);
    in_len -= n;
}

/* Reads one unmasked server frame; its text goes to text (NUL-terminated).
 * Returns 0, or -1 at end of stream. */
static int read_frame(int fd, char *text, size_t cap)
{
    for (;;) {
        size_t h = 2;
        size_t n;
        if (in_len >= 2) {
            n = in[1] & 0x7f;
            if (n == 126) {
                h = 4;
            } else if (n == 127) {
                fail("server frame longer than 65535 bytes");
            }
            if (in_len >= h) {
                if (h == 4) {
                    n = ((size_t)in[2] << 8) | in[3];
                }
                if (in_len >= h + n) {
                    if ((in[0] & 0x0f) != 1 || n >= cap) {
                        fail("expected a short text frame");
                    }
                    memcpy(text, in + h, n);
                    text[n] = '\0';
                    consume(h + n);
                    return 0;
                }
            }
        }
        if (read_more(fd) == 0) {
            return -1;
        }
    }
}

/* One masked text frame, as every client must send (RFC 6455 §5.3). */
static void send_text(int fd, const char *text)
{
    unsigned char frame[6 + 125];
    size_t n = strlen(text);
    size_t i;
    if (n > 125) {
        fail("message too long for this client");
    }
    frame[0] = 0x81;                    /* FIN, text */
    frame[1] = (unsigned char)(0x80 | n);
    memcpy(frame + 2, mask, 4);
    for (i = 0; i < n; i++) {
        frame[6 + i] = (unsigned char)((unsigned char)text[i] ^ mask[i % 4]);
    }
    send_all(fd, frame, 6 + n);
}

static int connect_to(int port)
{
    struct sockaddr_in a;
    struct timespec pause = {0, 50 * 1000 * 1000};
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (;;) {             /* until it works or alarm() ends the run */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            fail("socket failed");
        }
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            return fd;
        }
        close(fd);
        nanosleep(&pause, NULL);
    }
}

/* A tab that types "foo": handshake, CONNECT, create or join.  Returns the
 * socket; in[] is left with whatever came after the server's 40. */
static int tab(int port, const char *name)
{
    char request[512];
    char text[4096];
    char *end;
    int fd = connect_to(port);
    in_len = 0;
    snprintf(request, sizeof request,
             "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
             "Host: 127.0.0.1:%d\r\n"
             "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Key: " KEY "\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "\r\n", port);
    send_all(fd, request, strlen(request));

    /* 1: the 101 and its accept value */
    for (;;) {
        in[in_len < sizeof in ? in_len : sizeof in - 1] = '\0';
        end = strstr((char *)in, "\r\n\r\n");
        if (end != NULL) {
            break;
        }
        if (read_more(fd) == 0) {
            fail("no response to the handshake");
        }
    }
    end[2] = '\0';    /* the head as a string, each line with its CRLF */
    if (strncmp((char *)in, "HTTP/1.1 101 ", 13) != 0) {
        fail("the handshake was not answered with 101");
    }
    if (strstr((char *)in, "\r\nSec-WebSocket-Accept: " ACCEPT "\r\n") == NULL) {
        fail("Sec-WebSocket-Accept is not " ACCEPT);
    }
    printf("%s: 101 with Sec-WebSocket-Accept: %s\n", name, ACCEPT);
    consume((size_t)(end + 4 - (char *)in));

    /* 2: open packet, CONNECT, the server's CONNECT answer */
    if (read_frame(fd, text, sizeof text) < 0 || text[0] != '0') {
        fail("expected the Engine.IO open packet 0{...}");
    }
    printf("%s: <- %s\n", name, text);
    send_text(fd, "40");
    printf("%s: -> 40\n", name);
    if (read_frame(fd, text, sizeof text) < 0 || strncmp(text, "40{\"sid\":", 8) != 0) {
        fail("expected 40{\"sid\":...}");
    }
    printf("%s: <- %s\n", name, text);

    /* 3: the chapter's event */
    send_text(fd, "42[\"create or join\",\"foo\"]");
    printf("%s: -> 42[\"create or join\",\"foo\"]\n", name);
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    char text[4096];
    int port;
    int first;
    int second;
    if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
        fprintf(stderr, "usage: client PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(TIMEOUT_S);

    /* The first tab creates the room; the second opens once it has. */
    first = tab(port, "tab 1");
    for (;;) {
        if (read_frame(first, text, sizeof text) < 0) {
            fail("the server closed tab 1 before it created the room");
        }
        printf("tab 1: <- %s\n", text);
        if (strncmp(text, "42[\"created\",\"foo\",", 19) == 0) {
            break;
        }
    }
    second = tab(port, "tab 2");
    while (read_frame(second, text, sizeof text) == 0) {
        printf("tab 2: <- %s\n", text);
        fflush(stdout);
    }
    printf("the server closed the connection\n");
    close(second);
    close(first);
    return 0;
}
