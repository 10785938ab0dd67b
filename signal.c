/*
 * signal.c -- the signaling server of Google's codelab "Real time
 * communication with WebRTC" (chapter "Set up a signaling service to exchange
 * messages"), in one C file with no dependencies.
 *
 *   Build:  cc -o signal signal.c          (or: make; make debug for gdb)
 *   Run:    ./signal -v                    then open http://localhost:8080
 *
 * The chapter's server is Node.js + node-static + socket.io.  This file does
 * the same job and shows what those libraries hide.  It reads in one
 * direction: the chapter's own code first, then each layer it stands on.
 *
 *   rooms                 the chapter's index.js handlers: create or join, message,
 *                         ipaddr, bye, and leaving when a tab closes
 *   Socket.IO packets     "42[...]" events, and the little JSON they need
 *   Engine.IO             the session: open packet, heartbeat, ids
 *   WebSocket frames      RFC 6455 §5, and a bare /echo endpoint to try them
 *   the handshake         HTTP becomes a WebSocket: SHA-1 and base64 (RFC 6455 §4)
 *   HTTP                  request heads parsed by hand, responses (RFC 9112)
 *   static files          the chapter's page from www/, streamed from disk
 *   connections           buffers, the output queue, closing
 *   the poll() loop       one process, one thread, every socket non-blocking
 *   start-up, main()      options, the listening socket, signals
 *
 * The prototypes after the data structures are the table of contents.  A
 * first reading may treat SHA-1 and base64 as black boxes.
 *
 * Left out on purpose: TLS (use localhost, as the chapter does), HTTP request
 * bodies, the Engine.IO long-polling transport (clients must use WebSocket),
 * WebSocket extensions (no compression), binary Socket.IO events and
 * namespaces other than "/".
 */

/* Feature-test macros are the application's to define, reserved names or
 * not (POSIX.1-2008 §2.2.1), hence the NOLINTs. */
#define _XOPEN_SOURCE 700   /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): POSIX.1-2008 with XSI: realpath */
#define _DEFAULT_SOURCE     /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): glibc, musl: getifaddrs */
#define _DARWIN_C_SOURCE    /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): macOS, with _XOPEN_SOURCE */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================
 * Configuration: every limit in one place
 * ====================================================================== */

#define DEFAULT_ADDRESS          "127.0.0.1"
#define DEFAULT_PORT             8080      /* as in the codelab */
#define DEFAULT_ROOT             "www"
#define DEFAULT_PING_INTERVAL_MS 25000     /* Engine.IO's defaults */
#define DEFAULT_PING_TIMEOUT_MS  20000

#define HTTP_HEAD_MAX        8192          /* request line + headers, bytes */
#define HTTP_HEAD_TIMEOUT_MS 10000         /* to deliver one complete head */
#define LINGER_TIMEOUT_MS    1000          /* after our last byte, wait this long for the peer to close */
#define SEND_TIMEOUT_MS      20000         /* queued output that makes no progress this long: close */
#define READ_CHUNK           65536         /* bytes asked of one read(): the shared read buffer */
#define READ_OWN_MIN         4096          /* free bytes for a read behind a partial message */
#define SPARE_COUNT          512           /* emptied buffers kept for reuse... */
#define SPARE_CAP_MAX        16384         /* ...each at most this big... */
#define SPARE_BYTES_MAX      ((size_t)1024 * 1024) /* ...and all together at most this */
#define BUFFER_KEEP          65536         /* a buffer larger than this shrinks when mostly consumed */
#define FILE_CHUNK           65536         /* bytes of a file queued at a time */
#define OUT_MAX              ((size_t)4 * 1024 * 1024)  /* queued output of a client that stopped reading */
#define ACCEPT_BATCH         64            /* accepts per wake-up of the listening socket */
#define ACCEPT_PAUSE_MS      100           /* out of descriptors: stop accepting this long */
#define FD_RESERVE           16            /* descriptors kept free for files being served */
#define TIMER_TICK_MS        20            /* timers are checked at most this often */
#define FULL_POLL_MS         50            /* under load, everyone is polled this often... */
#define HOT_MIN_READY        4             /* ...where load is this many sockets ready at once */
#define TIMER_IDLE_MS        60000         /* poll() sleeps at most this long */
#define ROOM_BUCKETS_MIN     64            /* the room hash table's first size */
#define CLIENTS_CAP_MIN      64            /* the poll set's first size */
#define BUFFER_CAP_MIN       1024          /* a buffer's first size; it doubles as needed */
#define FD_LIMIT_MACOS       10240         /* OPEN_MAX: macOS refuses a higher soft limit */
#define PING_MS_MAX          3600000       /* -i and -t take at most an hour */

#define WS_ECHO_MAX          ((size_t)16 * 1024 * 1024) /* largest message on /echo */
#define WS_CONTROL_MAX       125           /* RFC 6455 §5.5 */
#define EIO_MAX_PAYLOAD      1000000       /* advertised in the open packet */
#define ID_LEN               20            /* sids and socket ids, URL-safe base64 */
#define JSON_DEPTH_MAX       32            /* nesting we are willing to parse */
#define SIO_ARGS_MAX         4             /* event arguments we look at */
#define EVENT_NAME_MAX       64            /* longer event names match no handler */
#define NAMESPACE_MAX        256           /* longer namespaces close the connection */
#define SIO_TEXT_MAX         2048          /* one event the server builds itself */
#define ROOM_NAME_MAX        64            /* bytes, after JSON unescaping */
#define ROOM_SIZE            2             /* the codelab's rooms hold two peers */
#define TRACE_PAYLOAD_MAX    160           /* bytes of a frame shown by -v */

/* ======================================================================
 * Data: one struct per connection, one per room, one for the server
 *
 * A connection starts as HTTP and may become a WebSocket; struct client is
 * everything signal.c knows about one (`ptype struct client` in gdb shows
 * it).  Rooms hold two clients.  After them come what each parser hands to
 * the layer above: a request head, a frame, a packet, an event.
 * ====================================================================== */

/* Done with, a connection lingers until the peer closes, then dies. */
enum conn_state {
    CONN_HTTP,      /* reading request heads, answering them */
    CONN_WS_ECHO,   /* a WebSocket on /echo */
    CONN_WS_SIO,    /* a WebSocket on /socket.io/: Engine.IO + Socket.IO */
    CONN_CLOSING,   /* last bytes queued: flush, shut down writing, wait for EOF */
    CONN_DEAD       /* closed; freed at the end of this turn of the loop */
};

/* n bytes at p, not NUL-terminated: how parsers point into a buffer. */
struct slice {
    const char *p;
    size_t n;
};

/* A byte buffer that grows when needed and is freed when empty, so an idle
 * connection holds no buffer memory at all.  Bytes before `start` have
 * already been consumed (parsed or written). */
struct buffer {
    char *data;
    size_t start;
    size_t len;
    size_t cap;
};

/* What a UTF-8 check remembers between message fragments. */
struct utf8_state {
    int need;               /* continuation bytes still expected */
    unsigned char lo, hi;   /* allowed range of the next byte */
};

struct room;

struct client {
    int fd;
    unsigned long number;       /* for log lines: client 1, 2, 3... */
    enum conn_state state;
    size_t slot;                /* index in server.pfds and server.clients */
    struct buffer in;           /* bytes read, not yet parsed */
    struct buffer out;          /* bytes queued, not yet written */
    int file_fd;                /* static file being sent, or -1 */
    long long file_left;        /* its bytes not yet queued */
    int close_when_sent;        /* HTTP: close after this response */
    int flush_queued;           /* in server.flush_list for this turn */
    int busy;                   /* had news since the last full poll (see poll_hot_first) */
    int write_shut;             /* CLOSING: shutdown(SHUT_WR) done */
    long long deadline;         /* HTTP: head due; CLOSING: give up; 0 = none */
    long long send_due;         /* output queued: close if no write progress by then */
    size_t head_scanned;        /* HTTP: bytes of c->in known to hold no complete head */
    /* WebSocket */
    struct buffer msg;          /* fragments of a message in progress */
    int msg_opcode;             /* its opcode (1 text, 2 binary), 0 = none */
    struct utf8_state msg_utf8; /* text messages: UTF-8 so far */
    /* Engine.IO and Socket.IO */
    char sid[ID_LEN + 1];       /* Engine.IO session id */
    char sio_id[ID_LEN + 1];    /* Socket.IO socket id, "" until CONNECT */
    long long ping_due;         /* when to send the next ping, 0 = waiting for pong */
    long long pong_due;         /* when a missing pong closes us, 0 = not waiting */
                                /* (on /echo: WebSocket pings, answered by any frame) */
    struct room *room;          /* the room we are in, or NULL */
};

struct room {
    char name[ROOM_NAME_MAX + 1];
    struct client *members[ROOM_SIZE];
    int count;
    struct room *next;          /* the next room in the same hash bucket */
    struct room *next_empty;    /* in server.empty_rooms, to be freed at the turn's end */
    int empty_listed;
};

struct server {
    /* from the command line */
    const char *address;
    int port;
    const char *root;
    int ping_interval;
    int ping_timeout;
    int verbose;
    /* state */
    char root_real[PATH_MAX];   /* ROOT with symbolic links resolved */
    size_t root_real_len;
    int listen_fd;
    int random_fd;              /* /dev/urandom */
    struct pollfd *pfds;        /* pfds[0]: listening socket; pfds[i]: clients[i] */
    struct client **clients;    /* clients[0] is unused */
    struct client **flush_list; /* clients with frames to write this turn */
    struct client **dead_list;  /* clients killed this turn, to be freed */
    size_t flush_count;
    size_t count;               /* used entries of both arrays */
    size_t hot;                 /* entries [0, hot) are the listener and the busy clients */
    long long full_poll_due;    /* when poll_hot_first polls everyone again */
    int under_load;             /* the last full poll found HOT_MIN_READY ready */
    size_t cap;
    size_t dead;                /* entries of dead_list */
    unsigned long next_number;
    long long next_timer;       /* when timers_run() has work */
    long long accept_paused_until;
    int accept_pause_logged;    /* said so on stderr since the last accept */
    int polling_hint_given;     /* told a learner once that polling is not served */
    long fd_limit;              /* RLIMIT_NOFILE */
    size_t files_open;          /* static files being streamed */
    long long now;              /* the clock, read once per turn of the loop */
    char read_buf[READ_CHUNK];  /* every read() lands here first, see on_readable */
    char *spare_data[SPARE_COUNT]; /* emptied buffers kept for reuse, see buffer_free */
    size_t spare_cap[SPARE_COUNT];
    size_t spare_count;
    size_t spare_bytes;
    struct room **room_buckets; /* hash table: rooms by name */
    size_t bucket_count;
    size_t room_count;
    struct room *empty_rooms;   /* left empty this turn: freed when it ends */
};

static struct server server;
static volatile sig_atomic_t stop_requested;

struct http_request {
    struct slice method;        /* "GET" */
    struct slice target;        /* "/js/main.js?x=1", as sent */
    int minor_version;          /* HTTP/1.0 or HTTP/1.1 */
    struct slice host;
    int host_count;
    int connection_close;       /* Connection: tokens we care about */
    int connection_keep_alive;
    int connection_upgrade;
    int upgrade_websocket;      /* Upgrade: websocket */
    int has_upgrade;            /* any Upgrade header */
    struct slice ws_key;        /* Sec-WebSocket-Key */
    struct slice ws_version;    /* Sec-WebSocket-Version */
    long long content_length;   /* -1 when absent */
    int has_transfer_encoding;
    int error_status;           /* when the parser returns -1: 400, 431 or 505 */
};

/* WebSocket opcodes (RFC 6455 §5.2). */
enum { WS_CONTINUATION = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

struct ws_frame {
    int fin;
    int opcode;
    int masked;
    unsigned char mask[4];
    size_t header_len;
    size_t payload_len;
    int error;              /* the close code, when the parser says -1 */
};

/* Socket.IO packet types (the digit after Engine.IO's "4"). */
enum { SIO_CONNECT = 0, SIO_DISCONNECT = 1, SIO_EVENT = 2, SIO_ACK = 3, SIO_CONNECT_ERROR = 4 };

struct sio_packet {
    int eio_type;           /* Engine.IO type, 0..6 */
    int sio_type;           /* Socket.IO type when eio_type is 4, else -1 */
    struct slice nsp;       /* namespace, "/" when none is given */
    long ack_id;            /* -1 when none */
    struct slice data;      /* the JSON payload, maybe empty */
};

struct sio_event {
    char name[EVENT_NAME_MAX + 1];
    int name_fits;                  /* 0: longer than EVENT_NAME_MAX, matches nothing */
    int argc;                       /* all the arguments, even past SIO_ARGS_MAX */
    struct slice arg[SIO_ARGS_MAX]; /* the first ones, as raw JSON */
    struct slice rest;              /* after the name: ",arg,...]" -- relayed as is */
};

/* ======================================================================
 * Contents: every function, section by section, in the order they appear
 * ====================================================================== */

/* Rooms: the chapter's index.js, handler by handler */
static void sio_on_event(struct client *c, const struct sio_event *ev);
static void room_create_or_join(struct client *c, const struct sio_event *ev);
static int room_read_name(struct client *c, const struct sio_event *ev, char *name);
static void room_relay(struct client *c, const struct sio_event *ev);
static void room_send_ipaddr(struct client *c);
static void room_leave(struct client *c);
static void rooms_reap(void);
static struct room *room_find(const char *name);
static struct room *room_create(const char *name);
static void room_join(struct room *r, struct client *c, const char *what);
static int room_table_grow(void);
static size_t room_hash(const char *name, size_t buckets);
static void room_trace(const char *name, const char *what, const struct client *c, const char *after);

/* Socket.IO packets, and the JSON they carry */
static void sio_on_packet(struct client *c, const struct sio_packet *pk);
static void sio_on_connect(struct client *c, const struct sio_packet *pk);
static int sio_parse_packet(const char *p, size_t n, struct sio_packet *pk);
static int sio_parse_event(const char *p, size_t n, struct sio_event *ev);
static void sio_log(struct client *c, const char *fmt, ...);
static void sio_emit_strings(struct client *c, const char *event, const char *a1, const char *a2);
static size_t json_value_end(const char *p, size_t n, size_t i, int depth);
static size_t json_container_end(const char *p, size_t n, size_t i, int depth);
static size_t json_string_end(const char *p, size_t n, size_t i);
static size_t json_number_end(const char *p, size_t n, size_t i);
static size_t json_digits_end(const char *p, size_t n, size_t i);
static long json_hex4(const char *p, size_t n, size_t i);
static size_t json_skip_space(const char *p, size_t n, size_t i);
static long json_read_string(const char *p, size_t n, char *out, size_t out_size, size_t *out_len);
static size_t json_read_escape_u(const char *p, size_t n, size_t i, char out[4], size_t *len);
static size_t json_write_string(char *out, size_t out_size, const char *s, size_t n);

/* Engine.IO v4 over WebSocket: the session under Socket.IO */
static void eio_on_message(struct client *c, const char *data, size_t len);
static void eio_open(struct client *c);
static void id_generate(char out[ID_LEN + 1]);
static void ws_heartbeat_answered(struct client *c);
static void ws_check_heartbeat(struct client *c, long long now);
static int eio_check_query(struct client *c, const struct http_request *req, int head_only);

/* WebSocket frames (RFC 6455 §5) */
static void ws_on_input(struct client *c);
static long ws_frame_parse(const unsigned char *buf, size_t len, size_t max_payload, struct ws_frame *f);
static void ws_unmask(unsigned char *payload, size_t len, const unsigned char mask[4]);
static void ws_on_frame(struct client *c, const struct ws_frame *f, const unsigned char *p);
static void ws_on_data_frame(struct client *c, const struct ws_frame *f, const unsigned char *p);
static void ws_on_message(struct client *c, int opcode, const unsigned char *data, size_t len);
static void ws_on_close(struct client *c, const unsigned char *p, size_t n);
static void ws_fail(struct client *c, int code, const char *why);
static void ws_close(struct client *c, unsigned code);
static void ws_send(struct client *c, int opcode, const void *payload, size_t len);
static void ws_send2(struct client *c, int opcode, const void *a, size_t a_len, const void *b, size_t b_len);
static size_t ws_frame_header(unsigned char out[10], int opcode, size_t payload_len);
static const char *ws_close_code_name(unsigned code);
static void ws_trace(const struct client *c, const char *dir, int opcode, const unsigned char *a,
                     size_t a_len, const unsigned char *b, size_t b_len);
static int utf8_validate(struct utf8_state *st, const unsigned char *s, size_t n);

/* The WebSocket handshake (RFC 6455 §4.2), with SHA-1 and base64 */
static void ws_upgrade(struct client *c, const struct http_request *req, const char *path, int head_only);
static int ws_handshake_valid(const struct http_request *req);
static void ws_accept_key(const char *key, size_t key_len, char out[29]);
static void sha1(const void *data, size_t len, unsigned char digest[20]);
static void sha1_block(uint32_t h[5], const unsigned char *block);
static uint32_t sha1_rotl(uint32_t x, int n);
static size_t base64_encode(const unsigned char *in, size_t len, char *out);
static int base64_is_16_bytes(const char *s, size_t n);

/* HTTP/1.1 requests and responses (RFC 9112) */
static void http_on_input(struct client *c);
static int http_parse_request(const char *buf, size_t len, struct http_request *req);
static size_t http_find_head_end(const char *buf, size_t len);
static int http_parse_request_line(struct slice line, struct http_request *req);
static int http_parse_header_line(struct slice line, struct http_request *req);
static struct slice http_trim(const char *p, size_t n);
static int http_has_token(struct slice list, const char *token);
static int http_is_tchar(unsigned char ch);
static int slice_equals_nocase(struct slice s, const char *word);
static void http_handle_request(struct client *c, const struct http_request *req);
static long http_decode_path(const char *target, size_t target_len, char *out, size_t out_size);
static int http_hex_value(char ch);
static int http_query_param(const char *target, size_t target_len, const char *name, struct slice *value);
static int http_keep_alive(struct client *c);
static void http_send_head(struct client *c, int status, const char *type, long long length, const char *extra);
static void http_send(struct client *c, int status, const char *type, const char *body,
                      const char *extra, int head_only);
static void http_send_error(struct client *c, int status, int head_only);
static void http_fail(struct client *c, int status);
static const char *http_reason(int status);

/* Static files from ROOT: what node-static did for the chapter */
static void file_serve(struct client *c, const char *path, int head_only);
static int file_open(const char *path, struct stat *st);
static const char *file_content_type(const char *path);
static void file_fill(struct client *c);
static void file_close(struct client *c);

/* Connections: buffers, the output queue, closing */
static struct client *client_new(int fd);
static int server_grow(void);
static void client_queue(struct client *c, const void *data, size_t n);
static void client_flush_later(struct client *c);
static void clients_flush_queued(void);
static void client_flush(struct client *c);
static int client_has_output(const struct client *c);
static void client_update_events(struct client *c);
static void client_close_gracefully(struct client *c);
static void client_kill(struct client *c, const char *reason);
static void client_out_of_memory(struct client *c);
static void clients_reap(void);
static void slot_swap(size_t i, size_t j);
static size_t buffer_used(const struct buffer *b);
static int buffer_reserve(struct buffer *b, size_t more);
static int buffer_append(struct buffer *b, const void *data, size_t n);
static void buffer_consume(struct buffer *b, size_t n);
static void buffer_free(struct buffer *b);
static void trace(const char *fmt, ...);
static void trace_client(const struct client *c, const char *fmt, ...);
static const char *client_label(const struct client *c, char out[64]);
static size_t trace_printable(const unsigned char *a, size_t a_len, const unsigned char *b,
                              size_t b_len, char out[TRACE_PAYLOAD_MAX + 1]);
static size_t trace_text(const void *s, size_t n, char out[TRACE_PAYLOAD_MAX + 1]);

/* The poll() loop */
static void server_loop(void);
static int poll_hot_first(size_t *count);
static int poll_timeout(void);
static void on_listen_ready(void);
static void accept_pause(const char *why);
static int set_nonblocking(int fd);
static void on_readable(struct client *c);
static void on_writable(struct client *c);
static void timers_run(long long now);
static long long client_check_timers(struct client *c, long long now);
static long long deadline_min(long long a, long long b);
static void timer_schedule(long long when);
static long long now_ms(void);

/* Start-up and shutdown, and main() */
static void server_start(void);
static void on_stop_signal(int sig);
static void raise_fd_limit(void);
static void listen_open(void);
static void parse_options(int argc, char **argv);
static int option_number(int opt, long min, long max);
static void usage(FILE *out, int code);
static void server_stop(void);
static void die(int code, const char *fmt, ...);

/* ======================================================================
 * Rooms: the chapter's index.js, handler by handler
 *
 * The chapter's server is a few socket.on() handlers: 'create or join',
 * 'message', 'ipaddr' and (from step 5) 'bye'.  Each has its C twin here,
 * under a note on what the chapter's handler does and where we differ.  A
 * room holds two peers at most, in a hash table by name.  In gdb: `break
 * room_create_or_join`, then `print *c->room` after `finish`.
 * ====================================================================== */

/* socket.io called the handler registered under the event's name; here
 * strcmp() picks it.  'bye' only prints a line, as the chapter's does. */
static void sio_on_event(struct client *c, const struct sio_event *ev) {
    if (!ev->name_fits) {
        trace_client(c, ": ignoring an event with a long or odd name");
    } else if (strcmp(ev->name, "create or join") == 0) {
        room_create_or_join(c, ev);
    } else if (strcmp(ev->name, "message") == 0) {
        room_relay(c, ev);
    } else if (strcmp(ev->name, "ipaddr") == 0) {
        room_send_ipaddr(c);
    } else if (strcmp(ev->name, "bye") == 0) {
        char label[64];
        fprintf(stderr, "%s: received bye\n", client_label(c, label));
    } else {
        char name[TRACE_PAYLOAD_MAX + 1];
        trace_text(ev->name, strlen(ev->name), name);
        trace_client(c, ": no handler for event '%s'", name);
    }
}

/* 'create or join' (room), the heart of the chapter.  Its handler logs two
 * lines, then counts the room's clients with the asker included: 1 is
 * 'created'; 2 is 'join' to the room, 'joined' to the asker, 'ready' to
 * both; more is 'full'.  We count before the asker joins (0, 1, ROOM_SIZE),
 * and the room's members only, where the chapter's first version counted
 * every socket on the server. */
static void room_create_or_join(struct client *c, const struct sio_event *ev) {
    char name[ROOM_NAME_MAX + 1];
    if (room_read_name(c, ev, name) < 0) return;
    if (c->room != NULL) {
        sio_log(c, "Client ID %s is already in room %s", c->sio_id, c->room->name);
        return;
    }
    sio_log(c, "Received request to create or join room %s", name);
    struct room *r = room_find(name);
    int members = r ? r->count : 0;
    sio_log(c, "Room %s now has %d client(s)", name, members);
    if (r == NULL)
        r = room_create(name);   /* (one emptied this turn is still found, and reused) */
    if (r == NULL) {
        client_out_of_memory(c);
    } else if (members == 0) {
        room_join(r, c, "created by");
        sio_log(c, "Client ID %s created room %s", c->sio_id, name);
        sio_emit_strings(c, "created", name, c->sio_id);
    } else if (members < ROOM_SIZE) {
        struct client *first = r->members[0];
        sio_log(c, "Client ID %s joined room %s", c->sio_id, name);
        sio_emit_strings(first, "join", name, NULL);
        room_join(r, c, "joined by");
        sio_emit_strings(c, "joined", name, c->sio_id);
        sio_emit_strings(first, "ready", NULL, NULL);
        sio_emit_strings(c, "ready", NULL, NULL);
    } else {
        room_trace(name, "full, refused", c, "");
        sio_emit_strings(c, "full", name, NULL);
    }
}

/* The room argument, a JSON string of 1 to ROOM_NAME_MAX bytes, into name:
 * 0, or -1 after a log saying why not. */
static int room_read_name(struct client *c, const struct sio_event *ev, char *name) {
    size_t len = 0;
    if (ev->argc == 0 || ev->arg[0].p[0] != '"') {
        sio_log(c, "create or join needs a room name (a string)");
        return -1;
    }
    long used = json_read_string(ev->arg[0].p, ev->arg[0].n, name, ROOM_NAME_MAX + 1, &len);
    if (used == -1)
        sio_log(c, "Room name is not valid text (a lone UTF-16 surrogate)");
    else if (used == -2 || len == 0)
        sio_log(c, "Room name must be 1 to %d bytes long", ROOM_NAME_MAX);
    else if (strlen(name) != len)
        sio_log(c, "Room name must not contain U+0000");
    else
        return 0;
    return -1;
}

/* 'message': the chapter logs "Client said:" back to the sender and sends
 * the message to every other socket (a real app, it says, would use the
 * room).  We send no echo; the room's other peer gets it byte for byte. */
static void room_relay(struct client *c, const struct sio_event *ev) {
    const char *head = "42[\"message\"";   /* then the sender's bytes, ",...]" */
    if (c->room == NULL) {
        sio_log(c, "Message dropped: you are not in a room (send 'create or join' first)");
        return;
    }
    for (int i = 0; i < c->room->count; i++) {
        struct client *peer = c->room->members[i];
        if (peer != c)
            ws_send2(peer, WS_TEXT, head, strlen(head), ev->rest.p, ev->rest.n);
    }
}

/* 'ipaddr': one 'ipaddr' event per IPv4 address of the machine (getifaddrs()
 * lists them), so a peer elsewhere knows where to point its browser.  The
 * chapter skips 127.0.0.1; we skip all of the loopback, 127.0.0.0/8. */
static void room_send_ipaddr(struct client *c) {
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0) {
        sio_log(c, "Cannot list the server's addresses: %s", strerror(errno));
        return;
    }
    for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
        char text[INET_ADDRSTRLEN];
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ifa->ifa_addr;
        if (a == NULL || a->sin_family != AF_INET || (ntohl(a->sin_addr.s_addr) >> 24) == 127)
            continue;
        inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        sio_emit_strings(c, "ipaddr", text, NULL);
    }
    freeifaddrs(list);
}

/* On a DISCONNECT, a close or a dead connection.  socket.io left the room
 * on 'disconnect' and sent nothing; nor do we (the pages say 'bye').  A room
 * left empty can be taken again at once; rooms_reap frees it later. */
static void room_leave(struct client *c) {
    struct room *r = c->room;
    int i = 0;
    if (r == NULL) return;
    while (r->members[i] != c)   /* c->room is set by room_join only */
        i++;
    r->members[i] = r->members[--r->count];
    r->members[r->count] = NULL;
    c->room = NULL;
    room_trace(r->name, "left by", c, r->count == 0 ? " (now empty)" : "");
    if (r->count == 0 && !r->empty_listed) {
        r->empty_listed = 1;
        r->next_empty = server.empty_rooms;
        server.empty_rooms = r;
    }
}

/* The end of a turn: free the rooms left empty that stayed so.  `link` is
 * the pointer to the room in its chain, which then skips the room. */
static void rooms_reap(void) {
    while (server.empty_rooms != NULL) {
        struct room *r = server.empty_rooms;
        server.empty_rooms = r->next_empty;
        r->empty_listed = 0;
        if (r->count > 0) continue;   /* joined again this turn */
        struct room **link = &server.room_buckets[room_hash(r->name, server.bucket_count)];
        while (*link != r)
            link = &(*link)->next;
        *link = r->next;
        server.room_count--;
        free(r);
    }
}

/* Looks in the name's bucket only: the cost does not grow with the rooms. */
static struct room *room_find(const char *name) {
    if (server.bucket_count == 0) return NULL;
    struct room *r = server.room_buckets[room_hash(name, server.bucket_count)];
    while (r != NULL && strcmp(r->name, name) != 0)
        r = r->next;
    return r;
}

/* A new empty room, first in its bucket; NULL if out of memory. */
static struct room *room_create(const char *name) {
    if (room_table_grow() < 0) return NULL;
    struct room *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    memcpy(r->name, name, strlen(name) + 1);   /* room_read_name checked its length */
    size_t h = room_hash(name, server.bucket_count);
    r->next = server.room_buckets[h];
    server.room_buckets[h] = r;
    server.room_count++;
    return r;
}

/* Puts c in room r; `what` ("created by", "joined by") is for -v. */
static void room_join(struct room *r, struct client *c, const char *what) {
    r->members[r->count++] = c;
    c->room = r;
    room_trace(r->name, what, c, "");
}

/* Doubles the table when rooms would outnumber buckets, so chains stay
 * short.  Out of memory, the old table still works: -1 only if there is none. */
static int room_table_grow(void) {
    if (server.room_count < server.bucket_count) return 0;
    size_t count = server.bucket_count ? server.bucket_count * 2 : ROOM_BUCKETS_MIN;
    struct room **buckets = calloc(count, sizeof(struct room *));
    if (buckets == NULL) return server.bucket_count > 0 ? 0 : -1;
    for (size_t i = 0; i < server.bucket_count; i++) {
        while (server.room_buckets[i] != NULL) {
            struct room *r = server.room_buckets[i];
            size_t h = room_hash(r->name, count);
            server.room_buckets[i] = r->next;
            r->next = buckets[h];
            buckets[h] = r;
        }
    }
    free(server.room_buckets);
    server.room_buckets = buckets;
    server.bucket_count = count;
    return 0;
}

/* FNV-1a, a small good-enough string hash; `buckets` is a power of two. */
static size_t room_hash(const char *name, size_t buckets) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; name[i] != '\0'; i++) {
        h ^= (unsigned char)name[i];
        h *= 16777619u;
    }
    return h & (buckets - 1);
}

/* A room line under -v: "room foo: joined by conn 3 [id]". */
static void room_trace(const char *name, const char *what, const struct client *c,
                       const char *after) {
    char printable[TRACE_PAYLOAD_MAX + 1], label[64];
    if (!server.verbose) return;
    trace_text(name, strlen(name), printable);
    trace("room %s: %s %s%s", printable, what, client_label(c, label), after);
}

/* ======================================================================
 * Socket.IO packets, and the JSON they carry
 *
 * Inside an Engine.IO message "4", a Socket.IO packet is a type digit
 * (0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR), an optional
 * namespace ("/chat,"), an optional ack id, and JSON:
 *     40                              CONNECT to "/"
 *     42["create or join","foo"]      EVENT
 *     4212["bye"]                     EVENT that wants ack 12: we answer 4312[]
 * socket.io parsed these and called the chapter's handlers; sio_on_packet()
 * does here.  JSON (RFC 8259) is checked and skipped, but strings are read
 * and written with every escape.
 * ====================================================================== */

/* A packet we cannot make sense of closes this connection only, with 1008
 * (policy violation); the reference server just drops it. */
static void sio_on_packet(struct client *c, const struct sio_packet *pk) {
    struct sio_event ev;
    if (pk->sio_type == SIO_CONNECT) {
        sio_on_connect(c, pk);
    } else if (c->sio_id[0] == '\0') {
        ws_fail(c, 1008, "packet before CONNECT");
    } else if (pk->nsp.n != 1) {
        ws_fail(c, 1008, "packet for a namespace we are not in");
    } else if (pk->sio_type == SIO_DISCONNECT) {
        room_leave(c);
        c->sio_id[0] = '\0';
    } else if (pk->sio_type == SIO_ACK) {
        return;   /* we never ask for acks; an answer to none is harmless */
    } else if (pk->sio_type != SIO_EVENT) {
        ws_fail(c, 1008, "unsupported packet type");
    } else if (sio_parse_event(pk->data.p, pk->data.n, &ev) < 0) {
        ws_fail(c, 1008, "malformed EVENT");
    } else {
        if (pk->ack_id >= 0) {
            char ack[32];
            int n = snprintf(ack, sizeof ack, "43%ld[]", pk->ack_id);
            ws_send(c, WS_TEXT, ack, (size_t)n);
        }
        sio_on_event(c, &ev);
    }
}

/* CONNECT: "/" is the only namespace; the answer carries the socket id. */
static void sio_on_connect(struct client *c, const struct sio_packet *pk) {
    char answer[NAMESPACE_MAX + 40];
    if (pk->nsp.n > NAMESPACE_MAX) {
        ws_fail(c, 1008, "namespace name too long");
    } else if (pk->nsp.n != 1) {
        int n = snprintf(answer, sizeof answer, "44%.*s,{\"message\":\"Invalid namespace\"}",
                         (int)pk->nsp.n, pk->nsp.p);
        ws_send(c, WS_TEXT, answer, (size_t)n);
    } else if (pk->data.n > 0 && json_value_end(pk->data.p, pk->data.n, 0, 0) != pk->data.n) {
        ws_fail(c, 1008, "CONNECT with a payload that is not JSON");
    } else {
        if (c->sio_id[0] == '\0')
            id_generate(c->sio_id);
        int n = snprintf(answer, sizeof answer, "40{\"sid\":\"%s\"}", c->sio_id);
        ws_send(c, WS_TEXT, answer, (size_t)n);
    }
}

/* Parses one Engine.IO text message.  Returns 0, or -1 if malformed. */
static int sio_parse_packet(const char *p, size_t n, struct sio_packet *pk) {
    size_t i = 2;
    *pk = (struct sio_packet){.sio_type = -1, .nsp = {"/", 1}, .ack_id = -1};
    if (n == 0 || p[0] < '0' || p[0] > '6') return -1;
    pk->eio_type = p[0] - '0';
    pk->data = (struct slice){p + 1, n - 1};
    if (pk->eio_type != 4) return 0;
    if (n < 2 || p[1] < '0' || p[1] > '6') return -1;
    pk->sio_type = p[1] - '0';
    if (i < n && p[i] == '/') {
        const char *comma = memchr(p + i, ',', n - i);
        pk->nsp = (struct slice){p + i, comma ? (size_t)(comma - (p + i)) : n - i};
        i += pk->nsp.n + (comma != NULL);
    }
    for (size_t start = i; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (i - start == 9) return -1;   /* ten digits or more */
        pk->ack_id = (pk->ack_id < 0 ? 0 : pk->ack_id * 10) + (p[i] - '0');
    }
    pk->data = (struct slice){p + i, n - i};
    return 0;
}

/* An EVENT payload: a JSON array, the event's name first.  One pass checks
 * the arguments and notes where the first few are.  Returns 0, or -1. */
static int sio_parse_event(const char *p, size_t n, struct sio_event *ev) {
    size_t start, name_len, i = json_skip_space(p, n, 0);
    memset(ev, 0, sizeof *ev);
    if (i >= n || p[i] != '[') return -1;
    start = json_skip_space(p, n, i + 1);
    i = json_value_end(p, n, start, 1);
    if (i == 0 || p[start] != '"') return -1;   /* empty, or the name is not a string */
    long used = json_read_string(p + start, i - start, ev->name, sizeof ev->name, &name_len);
    ev->name_fits = used > 0 && strlen(ev->name) == name_len;
    ev->rest = (struct slice){p + i, n - i};
    for (;;) {
        i = json_skip_space(p, n, i);
        if (i < n && p[i] == ']') return json_skip_space(p, n, i + 1) == n ? 0 : -1;
        if (i >= n || p[i] != ',') return -1;
        start = json_skip_space(p, n, i + 1);
        i = json_value_end(p, n, start, 1);
        if (i == 0) return -1;
        if (ev->argc < SIO_ARGS_MAX)
            ev->arg[ev->argc] = (struct slice){p + start, i - start};
        ev->argc++;
    }
}

/* The chapter's log(): ["log", ["Message from server:", text]], which the
 * page prints with console.log.apply(console, array). */
static void sio_log(struct client *c, const char *fmt, ...) {
    char line[512], text[SIO_TEXT_MAX] = "42[\"log\",[\"Message from server:\",";
    size_t n = strlen(text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n += json_write_string(text + n, sizeof text - n - 2, line, strlen(line));
    text[n++] = ']';
    text[n++] = ']';
    ws_send(c, WS_TEXT, text, n);
}

/* Emits ["event","a1","a2"] (NULL for none): names, ids and addresses fit SIO_TEXT_MAX. */
static void sio_emit_strings(struct client *c, const char *event, const char *a1, const char *a2) {
    const char *strings[3] = {event, a1, a2};
    char text[SIO_TEXT_MAX] = "42";
    size_t n = 2;
    for (int i = 0; i < 3 && strings[i] != NULL; i++) {
        text[n++] = i == 0 ? '[' : ',';
        n += json_write_string(text + n, sizeof text - n - 1, strings[i], strlen(strings[i]));
    }
    text[n++] = ']';
    ws_send(c, WS_TEXT, text, n);
}

/* The end of the one JSON value at or after p[i] (white space before it
 * skipped, not after), or 0 if there is none. */
static size_t json_value_end(const char *p, size_t n, size_t i, int depth) {
    static const char *const literals[] = {"true", "false", "null"};
    i = json_skip_space(p, n, i);
    if (i >= n) return 0;
    if (p[i] == '"') return json_string_end(p, n, i);
    if (p[i] == '[' || p[i] == '{') return json_container_end(p, n, i, depth);
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(literals[k]);
        if (n - i >= len && memcmp(p + i, literals[k], len) == 0) return i + len;
    }
    return json_number_end(p, n, i);
}

/* The end of the array or object at p[i], or 0 if malformed. */
static size_t json_container_end(const char *p, size_t n, size_t i, int depth) {
    char close = p[i] == '[' ? ']' : '}';
    if (depth >= JSON_DEPTH_MAX) return 0;
    i = json_skip_space(p, n, i + 1);
    if (i < n && p[i] == close) return i + 1;
    for (;;) {
        if (close == '}') {
            i = json_skip_space(p, n, i);
            if (i >= n || p[i] != '"' || (i = json_string_end(p, n, i)) == 0) return 0;
            i = json_skip_space(p, n, i);
            if (i >= n || p[i] != ':') return 0;
            i++;
        }
        i = json_value_end(p, n, i, depth + 1);
        if (i == 0) return 0;
        i = json_skip_space(p, n, i);
        if (i < n && p[i] == close) return i + 1;
        if (i >= n || p[i] != ',') return 0;
        i++;
    }
}

/* The end of the string that starts at p[i] == '"', or 0 if malformed. */
static size_t json_string_end(const char *p, size_t n, size_t i) {
    for (i++; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"') return i + 1;
        if (ch < 0x20) return 0;   /* control characters must be escaped */
        if (ch != '\\') continue;
        i++;
        if (i >= n || strchr("\"\\/bfnrtu", p[i]) == NULL || p[i] == '\0') return 0;
        if (p[i] == 'u') {
            if (json_hex4(p, n, i + 1) < 0) return 0;
            i += 4;
        }
    }
    return 0;
}

/* The end of the number at p[i] (RFC 8259 §6), or 0 if malformed. */
static size_t json_number_end(const char *p, size_t n, size_t i) {
    if (i < n && p[i] == '-')
        i++;
    size_t end = json_digits_end(p, n, i);
    if (end == 0 || (p[i] == '0' && end > i + 1)) return 0;   /* no leading zeros: "01" */
    i = end;
    if (i < n && p[i] == '.') {
        i = json_digits_end(p, n, i + 1);
        if (i == 0) return 0;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        i = json_digits_end(p, n, i);
    }
    return i;
}

/* The end of the digits at p[i], or 0 if there is not at least one. */
static size_t json_digits_end(const char *p, size_t n, size_t i) {
    size_t start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    return i > start ? i : 0;
}

/* Four hex digits of a \u escape, or -1. */
static long json_hex4(const char *p, size_t n, size_t i) {
    long v = 0;
    if (i + 4 > n) return -1;
    for (size_t k = 0; k < 4; k++) {
        int d = http_hex_value(p[i + k]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t json_skip_space(const char *p, size_t n, size_t i) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* The one-letter escapes (RFC 8259 §7): the letter after the backslash,
 * and the byte it stands for.  \/ is read as '/' too, but never written. */
static const char json_escapes[][2] = {
    {'"', '"'}, {'\\', '\\'}, {'b', '\b'}, {'f', '\f'}, {'n', '\n'}, {'r', '\r'}, {'t', '\t'}
};

/* Decodes the string at p (p[0] == '"') into out as UTF-8 plus a NUL.
 * Returns the input bytes consumed, -1 if malformed (or a lone surrogate),
 * -2 if the text does not fit in out_size - 1 bytes. */
static long json_read_string(const char *p, size_t n, char *out, size_t out_size, size_t *out_len) {
    size_t end = n > 0 && p[0] == '"' ? json_string_end(p, n, 0) : 0;
    size_t i = 1, o = 0;
    if (end == 0) return -1;
    while (i < end - 1) {
        char bytes[4] = {p[i]};
        size_t len = 1;
        if (p[i] != '\\') {
            i++;
        } else if (p[i + 1] == 'u') {
            i = json_read_escape_u(p, n, i + 1, bytes, &len);
            if (i == 0) return -1;
        } else {
            bytes[0] = p[i + 1];   /* \/, the one escape not in the table */
            for (size_t k = 0; k < sizeof json_escapes / sizeof json_escapes[0]; k++) {
                if (json_escapes[k][0] == p[i + 1]) bytes[0] = json_escapes[k][1];
            }
            i += 2;
        }
        if (o + len >= out_size) return -2;
        memcpy(out + o, bytes, len);
        o += len;
    }
    out[o] = '\0';
    *out_len = o;
    return (long)end;
}

/* The \uXXXX escape at p[i] (the 'u'), with its low surrogate if it is a high
 * one (RFC 8259 §7), as UTF-8 (RFC 3629 §3): 0xxxxxxx, 110xxxxx, 1110xxxx or
 * 11110xxx, then 10xxxxxx for each further 6 bits.  Sets *len; returns the
 * index after the escape, or 0 for a lone surrogate (UTF-8 cannot hold one). */
static size_t json_read_escape_u(const char *p, size_t n, size_t i, char out[4], size_t *len) {
    static const unsigned long limit[] = {0x80, 0x800, 0x10000};
    static const unsigned char lead[] = {0x00, 0xC0, 0xE0, 0xF0};
    unsigned long cp = (unsigned long)json_hex4(p, n, i + 1);
    size_t next = i + 5;
    if (cp >= 0xD800 && cp <= 0xDFFF) {
        if (cp > 0xDBFF || i + 11 > n || p[i + 5] != '\\' || p[i + 6] != 'u') return 0;
        long lo = json_hex4(p, n, i + 7);
        if (lo < 0xDC00 || lo > 0xDFFF) return 0;
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
        next = i + 11;
    }
    size_t count = 1;
    while (count < 4 && cp >= limit[count - 1])
        count++;
    for (size_t k = count - 1; k > 0; k--) {
        out[k] = (char)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    out[0] = (char)(lead[count - 1] | cp);
    *len = count;
    return next;
}

/* Writes s as a quoted JSON string, ", \ and control bytes escaped; returns
 * the length written (plus a NUL), or 0 if out_size is too small. */
static size_t json_write_string(char *out, size_t out_size, const char *s, size_t n) {
    size_t o = 0;
    if (out_size < 3) return 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8] = {(char)ch};
        size_t len = 1;
        for (size_t k = 0; k < sizeof json_escapes / sizeof json_escapes[0]; k++) {
            if (json_escapes[k][1] == (char)ch)
                len = (size_t)snprintf(esc, sizeof esc, "\\%c", json_escapes[k][0]);
        }
        if (len == 1 && ch < 0x20)
            len = (size_t)snprintf(esc, sizeof esc, "\\u%04x", ch);
        if (o + len + 2 > out_size) return 0;
        memcpy(out + o, esc, len);
        o += len;
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

/* ======================================================================
 * Engine.IO v4 over WebSocket: the session under Socket.IO
 *
 * Engine.IO gives each WebSocket message a one-character type: 0 open,
 * 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop.  Right after the
 * 101 the server sends "0" + JSON (a session id and the heartbeat settings);
 * then every pingInterval it sends "2", and a client that does not answer
 * "3" within pingTimeout is taken for gone.  The chapter never saw any of
 * this: socket.io did it.  With -v, the "2"/"3" pairs show every 25 s.
 * ====================================================================== */

/* One Engine.IO message from the client.  "0" and "5" are the server's to
 * send, and in v4 only the server pings ("2"); "6" is a noop. */
static void eio_on_message(struct client *c, const char *data, size_t len) {
    struct sio_packet pk;
    if (sio_parse_packet(data, len, &pk) < 0) {
        ws_fail(c, 1008, "malformed packet");
    } else if (pk.eio_type == 4) {
        sio_on_packet(c, &pk);
    } else if (pk.eio_type == 3) {
        ws_heartbeat_answered(c);
    } else if (pk.eio_type == 1) {
        trace_client(c, ": Engine.IO close");
        ws_fail(c, 1000, "the client closed the session");
    } else if (pk.eio_type != 6) {
        ws_fail(c, 1008, "unexpected Engine.IO packet type");
    }
}

/* The open packet, "0" and its JSON, right after the 101. */
static void eio_open(struct client *c) {
    char open[256];
    id_generate(c->sid);
    int n = snprintf(open, sizeof open, "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,"
                     "\"pingTimeout\":%d,\"maxPayload\":%d}",
                     c->sid, server.ping_interval, server.ping_timeout, EIO_MAX_PAYLOAD);
    ws_send(c, WS_TEXT, open, (size_t)n);
}

/* 20 characters of URL-safe base64 from 15 random bytes, as socket.io's ids
 * look.  At 120 bits a repeat is too unlikely to scan the others' ids for. */
static void id_generate(char out[ID_LEN + 1]) {
    unsigned char bytes[15];
    if (read(server.random_fd, bytes, sizeof bytes) != (ssize_t)sizeof bytes)
        die(1, "cannot read /dev/urandom: %s", strerror(errno));
    base64_encode(bytes, sizeof bytes, out);
    for (size_t i = 0; i < ID_LEN; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
}

/* The peer answered (a "3" on Socket.IO, any frame on /echo): next ping
 * in pingInterval.  Also starts the heartbeat of a new WebSocket. */
static void ws_heartbeat_answered(struct client *c) {
    c->pong_due = 0;
    c->ping_due = server.now + server.ping_interval;
    timer_schedule(c->ping_due);
}

/* Called by the timers.  Socket.IO clients are pinged with Engine.IO's "2";
 * /echo clients with a ping frame (RFC 6455 §5.5.2), which a browser answers itself. */
static void ws_check_heartbeat(struct client *c, long long now) {
    if (c->pong_due > 0 && now >= c->pong_due) {
        client_kill(c, "ping timeout");
    } else if (c->ping_due > 0 && now >= c->ping_due) {
        if (c->state == CONN_WS_SIO)
            ws_send(c, WS_TEXT, "2", 1);
        else
            ws_send(c, WS_PING, NULL, 0);
        c->ping_due = 0;
        c->pong_due = now + server.ping_timeout;
        timer_schedule(c->pong_due);
    }
}

/* 0 if the query asks for Engine.IO 4 over WebSocket, else Engine.IO's 400
 * with a JSON body.  The official client tries long-polling unless told not
 * to, again and again: stderr says why once (every time under -v). */
static int eio_check_query(struct client *c, const struct http_request *req, int head_only) {
    const char *hint = "a client asked for Engine.IO long-polling (transport=polling), which "
                       "signal.c does not serve: create the official client with "
                       "io({transports: ['websocket']})";
    struct slice v = {"", 0};
    const char *error = NULL;
    if (!http_query_param(req->target.p, req->target.n, "transport", &v) ||
        v.n != 9 || memcmp(v.p, "websocket", 9) != 0) {
        error = "{\"code\":0,\"message\":\"Transport unknown\"}";
    } else if (!http_query_param(req->target.p, req->target.n, "EIO", &v) ||
               v.n != 1 || v.p[0] != '4') {
        error = "{\"code\":5,\"message\":\"Unsupported protocol version\"}";
    }
    if (error == NULL) return 0;
    if (v.n == 7 && memcmp(v.p, "polling", 7) == 0) {
        if (!server.verbose && !server.polling_hint_given)
            fprintf(stderr, "signal: %s\n", hint);
        server.polling_hint_given = 1;
        trace_client(c, ": %s", hint);
    }
    http_send(c, 400, "application/json", error, "", head_only);
    return -1;
}

/* ======================================================================
 * WebSocket frames (RFC 6455 §5)
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-------+-+-------------+-------------------------------+
 *     |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *     |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *     |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *     | |1|2|3|       |K|             |                               |
 *     +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *     |     Extended payload length continued, if payload len == 127  |
 *     + - - - - - - - - - - - - - - - +-------------------------------+
 *     |                               | Masking-key, if MASK set to 1 |
 *     +-------------------------------+-------------------------------+
 *     | Masking-key (continued)       |          Payload Data         |
 *     +-------------------------------- - - - - - - - - - - - - - - - +
 * socket.io's transport framed the chapter's messages.  Every client frame
 * is masked (§5.3).  In gdb: `break ws_unmask`, `x/8xb payload` before and after.
 * ====================================================================== */

/* New bytes on a WebSocket: handle every whole frame, keep the rest. */
static void ws_on_input(struct client *c) {
    size_t used = 0;
    while ((c->state == CONN_WS_ECHO || c->state == CONN_WS_SIO) && used < buffer_used(&c->in)) {
        struct ws_frame f;
        unsigned char *p = (unsigned char *)c->in.data + c->in.start + used;
        size_t max = c->state == CONN_WS_SIO ? EIO_MAX_PAYLOAD : WS_ECHO_MAX;
        long n = ws_frame_parse(p, buffer_used(&c->in) - used, max - buffer_used(&c->msg), &f);
        if (n == 0) break;
        if (n < 0) {
            ws_fail(c, f.error, f.error == 1009 ? "frame too big" : "bad frame header");
            break;
        }
        ws_unmask(p + f.header_len, f.payload_len, f.mask);
        ws_on_frame(c, &f, p + f.header_len);
        used += (size_t)n;
    }
    if (c->state == CONN_WS_ECHO || c->state == CONN_WS_SIO)
        buffer_consume(&c->in, used);
    else
        buffer_free(&c->in);
}

/* Parses one client frame: its size once all of it is in buf, 0 while more
 * is needed, -1 (f->error: the close code) once the header shows it is bad or
 * a data frame over max_payload, which is what earlier fragments leave. */
static long ws_frame_parse(const unsigned char *buf, size_t len, size_t max_payload,
                           struct ws_frame *f) {
    size_t h = 2;
    memset(f, 0, sizeof *f);
    f->error = 1002;        /* RFC 6455 §7.4.1: protocol error */
    if (len < 2) return 0;
    f->fin = buf[0] >> 7;
    f->opcode = buf[0] & 0x0F;
    f->masked = buf[1] >> 7;
    uint64_t n = buf[1] & 0x7F;
    /* §5.2: RSV bits MUST be 0 without an extension; opcodes 3-7, 11-15 are reserved. */
    if ((buf[0] & 0x70) != 0) return -1;
    if ((f->opcode > WS_BINARY && f->opcode < WS_CLOSE) || f->opcode > WS_PONG) return -1;
    /* §5.1: a server MUST close the connection upon an unmasked frame. */
    if (!f->masked) return -1;
    /* §5.5: control frames are never fragmented and carry at most 125 bytes. */
    if (f->opcode >= WS_CLOSE && (!f->fin || n > WS_CONTROL_MAX)) return -1;
    if (n >= 126) {
        size_t ext = n == 126 ? 2 : 8;      /* a 16- or 64-bit big-endian length follows */
        if (len < 2 + ext) return 0;
        if (ext == 8 && (buf[2] & 0x80)) return -1;   /* §5.2: its top bit MUST be 0 */
        n = 0;
        for (size_t i = 0; i < ext; i++)
            n = n << 8 | buf[2 + i];
        h = 2 + ext;
    }
    if (f->opcode < WS_CLOSE && n > max_payload) {
        f->error = 1009;    /* §7.4.1: message too big */
        return -1;
    }
    if (len < h + 4) return 0;
    memcpy(f->mask, buf + h, 4);
    f->header_len = h + 4;
    f->payload_len = (size_t)n;
    if (len - f->header_len < f->payload_len) return 0;
    return (long)(f->header_len + f->payload_len);
}

/* §5.3: byte i is XORed with mask[i % 4]; here 8 bytes at a time, the mask
 * written twice (memcpy keeps the byte order on any machine), then the rest. */
static void ws_unmask(unsigned char *payload, size_t len, const unsigned char mask[4]) {
    unsigned char mask8[8];
    uint64_t m;
    size_t i;
    for (i = 0; i < 8; i++)
        mask8[i] = mask[i % 4];
    memcpy(&m, mask8, 8);
    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, payload + i, 8);
        word ^= m;
        memcpy(payload + i, &word, 8);
    }
    for (; i < len; i++)
        payload[i] ^= mask[i % 4];
}

static void ws_on_frame(struct client *c, const struct ws_frame *f, const unsigned char *p) {
    ws_trace(c, "->", f->opcode, p, f->payload_len, NULL, 0);
    if (c->state == CONN_WS_ECHO)
        ws_heartbeat_answered(c);   /* on /echo, any frame shows the peer is there */
    if (f->opcode == WS_PING)
        ws_send(c, WS_PONG, p, f->payload_len);     /* §5.5.2 */
    else if (f->opcode == WS_CLOSE)
        ws_on_close(c, p, f->payload_len);
    else if (f->opcode != WS_PONG)                  /* §5.5.3: a pong needs nothing */
        ws_on_data_frame(c, f, p);
}

/* Text and binary frames, whole or in fragments (§5.4). */
static void ws_on_data_frame(struct client *c, const struct ws_frame *f, const unsigned char *p) {
    if (f->opcode == WS_CONTINUATION && c->msg_opcode == 0) {
        ws_fail(c, 1002, "continuation frame with no message to continue");
        return;
    }
    if (f->opcode != WS_CONTINUATION && c->msg_opcode != 0) {
        ws_fail(c, 1002, "new message inside a fragmented one");
        return;
    }
    if (f->opcode != WS_CONTINUATION) {
        c->msg_opcode = f->opcode;
        memset(&c->msg_utf8, 0, sizeof c->msg_utf8);
    }
    if (c->msg_opcode == WS_TEXT && utf8_validate(&c->msg_utf8, p, f->payload_len) < 0) {
        ws_fail(c, 1007, "text that is not UTF-8");
        return;
    }
    if (f->fin && c->msg_opcode == WS_TEXT && c->msg_utf8.need != 0) {
        ws_fail(c, 1007, "text ends inside a UTF-8 character");
        return;
    }
    if (f->fin && f->opcode != WS_CONTINUATION) {
        c->msg_opcode = 0;  /* the common case: a whole message in one frame */
        ws_on_message(c, f->opcode, p, f->payload_len);
        return;
    }
    if (buffer_append(&c->msg, p, f->payload_len) < 0) {
        client_out_of_memory(c);
        return;
    }
    if (f->fin) {
        ws_on_message(c, c->msg_opcode, (unsigned char *)c->msg.data, buffer_used(&c->msg));
        c->msg_opcode = 0;
        buffer_free(&c->msg);
    }
}

static void ws_on_message(struct client *c, int opcode, const unsigned char *data, size_t len) {
    if (c->state == CONN_WS_ECHO)
        ws_send(c, opcode, data, len);
    else if (opcode == WS_BINARY)
        ws_fail(c, 1003, "binary messages are not supported by Socket.IO here");
    else
        eio_on_message(c, (const char *)data, len);
}

/* §5.5.1: the peer's close, answered with the same code (1000 if it sent none). */
static void ws_on_close(struct client *c, const unsigned char *p, size_t n) {
    struct utf8_state st = {0, 0, 0};
    unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 1000;
    if (n == 1)
        ws_fail(c, 1002, "close frame with a 1-byte payload");
    else if (ws_close_code_name(code) == NULL)
        ws_fail(c, 1002, "invalid close code");
    else if (n >= 2 && utf8_validate(&st, p + 2, n - 2) != 1)
        ws_fail(c, 1007, "close reason is not UTF-8");
    else
        ws_close(c, code);
}

/* §7.1.7 "Fail the WebSocket Connection": close with a code that says why. */
static void ws_fail(struct client *c, int code, const char *why) {
    trace_client(c, ": closing with %d: %s", code, why);
    ws_close(c, (unsigned)code);
}

/* The one close path: a close frame, out of the room at once, TCP closed after. */
static void ws_close(struct client *c, unsigned code) {
    unsigned char payload[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    ws_send(c, WS_CLOSE, payload, 2);
    room_leave(c);
    client_close_gracefully(c);
}

static void ws_send(struct client *c, int opcode, const void *payload, size_t len) {
    ws_send2(c, opcode, payload, len, NULL, 0);
}

/* Sends one frame whose payload is a followed by b: Socket.IO puts
 * "42[\"message\"" in front of bytes it relays without copying them. */
static void ws_send2(struct client *c, int opcode, const void *a, size_t a_len,
                     const void *b, size_t b_len) {
    unsigned char header[10];
    if (c->state != CONN_WS_ECHO && c->state != CONN_WS_SIO) return;
    size_t h = ws_frame_header(header, opcode, a_len + b_len);
    ws_trace(c, "<-", opcode, a, a_len, b, b_len);
    client_queue(c, header, h);
    client_queue(c, a, a_len);
    client_queue(c, b, b_len);
    client_flush_later(c);
}

/* §5.2: a server frame's header, FIN set, no mask, the shortest length: 2, 4 or 10 bytes. */
static size_t ws_frame_header(unsigned char out[10], int opcode, size_t payload_len) {
    size_t ext = 0;
    out[0] = (unsigned char)(0x80 | opcode);
    out[1] = (unsigned char)payload_len;        /* 0..125: the length itself */
    if (payload_len >= 126) {
        ext = payload_len <= 0xFFFF ? 2 : 8;    /* a 16- or 64-bit big-endian length follows */
        out[1] = ext == 2 ? 126 : 127;
    }
    for (size_t i = 0; i < ext; i++)
        out[2 + i] = (unsigned char)((uint64_t)payload_len >> (8 * (ext - 1 - i)));
    return 2 + ext;
}

/* §7.4: what a close code means; NULL if a peer may not send it (1004-1006
 * and 1015 are reserved, 1016-2999 unassigned; 1012-1014 are IANA's, §11.7). */
static const char *ws_close_code_name(unsigned code) {
    switch (code) {
    case 1000: return "normal closure";
    case 1001: return "going away";
    case 1002: return "protocol error";
    case 1003: return "unsupported data";
    case 1007: return "invalid payload data";
    case 1008: return "policy violation";
    case 1009: return "message too big";
    case 1010: return "mandatory extension";
    case 1011: return "internal error";
    case 1012: return "service restart";
    case 1013: return "try again later";
    case 1014: return "bad gateway";
    default: return code >= 3000 && code <= 4999 ? "application's own code" : NULL;
    }
}

/* One frame under -v, as a learner reads it: text as it is (cut short), a
 * close decoded ("close 1001 going away: bye").  A close comes whole in a. */
static void ws_trace(const struct client *c, const char *dir, int opcode,
                     const unsigned char *a, size_t a_len, const unsigned char *b, size_t b_len) {
    static const char *const names[] = {[WS_CONTINUATION] = "continuation", [WS_BINARY] = "binary",
                                        [WS_PING] = "ping", [WS_PONG] = "pong"};
    char text[TRACE_PAYLOAD_MAX + 1];
    size_t len = a_len + b_len;
    if (!server.verbose) return;
    if (opcode == WS_CLOSE && a_len >= 2) {
        unsigned code = (unsigned)a[0] << 8 | a[1];
        const char *name = ws_close_code_name(code);
        trace_text(a + 2, a_len - 2, text);
        trace_client(c, " %s close %u %s%s%s", dir, code, name ? name : "invalid code",
                     a_len > 2 ? ": " : "", text);
    } else if (opcode == WS_CLOSE) {
        trace_client(c, " %s close, %s", dir,
                     a_len == 0 ? "no code" : "a 1-byte payload (invalid)");
    } else if (opcode == WS_TEXT && trace_printable(a, a_len, b, b_len, text) < len) {
        trace_client(c, " %s %s... (%lu bytes)", dir, text, (unsigned long)len);
    } else if (opcode == WS_TEXT) {
        trace_client(c, " %s %s", dir, text);
    } else {
        trace_client(c, " %s %s, %lu byte%s", dir, names[opcode], (unsigned long)len,
                     len == 1 ? "" : "s");
    }
}

/* RFC 3629 §4, n bytes more: -1 as soon as the text cannot be valid, 0 if it
 * is valid so far but ends inside a character, 1 if valid and complete. */
static int utf8_validate(struct utf8_state *st, const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        if (st->need == 0 && b < 0x80 && i + 8 <= n) {
            uint64_t eight;
            memcpy(&eight, s + i, 8);
            if ((eight & 0x8080808080808080ULL) == 0) {
                i += 8;                         /* 8 ASCII bytes, the common case */
                continue;
            }
        }
        i++;
        if (st->need == 0 && b < 0x80) continue;     /* one ASCII byte */
        if (st->need > 0) {
            if (b < st->lo || b > st->hi) return -1;
            st->need--;
            st->lo = 0x80;                      /* any later byte: 80..BF */
            st->hi = 0xBF;
        } else if (b >= 0xC2 && b <= 0xDF) {
            st->need = 1;                       /* U+0080..U+07FF */
            st->lo = 0x80;
            st->hi = 0xBF;
        } else if (b >= 0xE0 && b <= 0xEF) {
            st->need = 2;                       /* U+0800..U+FFFF */
            st->lo = b == 0xE0 ? 0xA0 : 0x80;   /* E0: not an overlong form */
            st->hi = b == 0xED ? 0x9F : 0xBF;   /* ED: not a surrogate D800..DFFF */
        } else if (b >= 0xF0 && b <= 0xF4) {
            st->need = 3;                       /* U+10000..U+10FFFF */
            st->lo = b == 0xF0 ? 0x90 : 0x80;   /* F0: not an overlong form */
            st->hi = b == 0xF4 ? 0x8F : 0xBF;   /* F4: not above U+10FFFF */
        } else {
            return -1;                          /* 80..C1, F5..FF never start a character */
        }
    }
    return st->need == 0 ? 1 : 0;
}

/* ======================================================================
 * The WebSocket handshake (RFC 6455 §4.2), with SHA-1 and base64
 *
 * The browser sends an ordinary GET with "Upgrade: websocket" and a random
 * 16-byte key in base64.  We answer 101 Switching Protocols with
 * Sec-WebSocket-Accept = base64(SHA-1(key + GUID)), and frames follow.  In
 * gdb: `break ws_upgrade`, `print req->ws_key.p[0]@req->ws_key.n`.  SHA-1
 * (FIPS 180-4) and base64 (RFC 4648 §4) come last, as black boxes if you like.
 * ====================================================================== */

/* A request for /echo or /socket.io/: check it, answer 101, switch to frames. */
static void ws_upgrade(struct client *c, const struct http_request *req, const char *path,
                       int head_only) {
    char accept[29], response[256];
    int n;
    int sio = strcmp(path, "/socket.io/") == 0;
    if (sio && eio_check_query(c, req, head_only) < 0) return;
    if (!ws_handshake_valid(req)) {
        http_send_error(c, 400, head_only);   /* HEAD lands here: it cannot upgrade */
        return;
    }
    if (req->ws_version.n != 2 || memcmp(req->ws_version.p, "13", 2) != 0) {
        /* RFC 6455 §4.4: say which version we speak. */
        http_send(c, 426, "text/plain; charset=utf-8", "426 Upgrade Required\n",
                  "Sec-WebSocket-Version: 13\r\n", 0);
        return;
    }
    ws_accept_key(req->ws_key.p, req->ws_key.n, accept);
    /* No Sec-WebSocket-Extensions and no Sec-WebSocket-Protocol: we accept
     * neither compression nor a subprotocol, whatever the client offers. */
    n = snprintf(response, sizeof response,
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    client_queue(c, response, (size_t)n);
    c->state = sio ? CONN_WS_SIO : CONN_WS_ECHO;
    c->deadline = 0;
    trace_client(c, ": 101 Switching Protocols: HTTP -> WebSocket (%s)", path);
    if (sio)
        eio_open(c);
    ws_heartbeat_answered(c);   /* the heartbeat starts (on /echo too) */
    client_flush(c);
}

/* RFC 6455 §4.2.1: an opening handshake, with a key of 16 bytes in base64. */
static int ws_handshake_valid(const struct http_request *req) {
    if (req->method.n != 3 || memcmp(req->method.p, "GET", 3) != 0) return 0;
    if (req->minor_version != 1 || req->host_count != 1) return 0;
    if (!req->upgrade_websocket || !req->connection_upgrade) return 0;
    return base64_is_16_bytes(req->ws_key.p, req->ws_key.n);
}

/* RFC 6455 §4.2.2, item 5.4: the accept value for a client's key. */
static void ws_accept_key(const char *key, size_t key_len, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char input[HTTP_HEAD_MAX + sizeof guid];
    unsigned char digest[20];
    memcpy(input, key, key_len);       /* the key is a slice of the head */
    memcpy(input + key_len, guid, sizeof guid - 1);
    sha1(input, key_len + sizeof guid - 1, digest);
    base64_encode(digest, sizeof digest, out);
}

/* SHA-1, 64 bytes at a time; the last block is padded (FIPS 180-4 §5.1.1) with a 1 bit,
 * zeros and the length in bits as 8 big-endian bytes -- in one more if fewer than 9 are left. */
static void sha1(const void *data, size_t len, unsigned char digest[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const unsigned char *p = data;
    unsigned char tail[128] = {0};
    size_t done = len - len % 64;
    size_t tail_len = len % 64 < 56 ? 64 : 128;
    for (size_t i = 0; i < done; i += 64)
        sha1_block(h, p + i);
    memcpy(tail, p + done, len - done);
    tail[len - done] = 0x80;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (unsigned char)((uint64_t)len * 8 >> (8 * i));
    for (size_t i = 0; i < tail_len; i += 64)
        sha1_block(h, tail + i);
    for (int i = 0; i < 20; i++)
        digest[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* FIPS 180-4 §6.1.2: one 64-byte block. */
static void sha1_block(uint32_t h[5], const unsigned char *block) {
    static const uint32_t k[4] = {0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6};  /* §4.2.1 */
    uint32_t w[80] = {0};
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (size_t i = 0; i < 64; i++)
        w[i / 4] = w[i / 4] << 8 | block[i];    /* §6.1.2: 16 big-endian words */
    for (size_t t = 16; t < 80; t++)
        w[t] = sha1_rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (size_t t = 0; t < 80; t++) {
        uint32_t f = b ^ c ^ d;                 /* §4.1.1: Parity, t = 20..39 and 60..79 */
        if (t < 20)
            f = (b & c) | (~b & d);             /* Ch */
        else if (t >= 40 && t < 60)
            f = (b & c) | (b & d) | (c & d);    /* Maj */
        uint32_t temp = sha1_rotl(a, 5) + f + e + k[t / 20] + w[t];
        e = d;
        d = c;
        c = sha1_rotl(b, 30);
        b = a;
        a = temp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static uint32_t sha1_rotl(uint32_t x, int n) {
    return (x << n) | (x >> (32 - n));
}

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 §4: each 3 bytes (zeros past the end) make 4 characters of 6 bits,
 * '=' for one with no input bit.  Writes them and a NUL; returns the count. */
static size_t base64_encode(const unsigned char *in, size_t len, char *out) {
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t group = 0;
        for (size_t j = 0; j < 3; j++)
            group = group << 8 | (i + j < len ? in[i + j] : 0);
        for (size_t j = 0; j < 4; j++)
            out[n++] = (char)(i + j <= len ? base64_alphabet[(group >> (18 - 6 * j)) & 63] : '=');
    }
    out[n] = '\0';
    return n;
}

/* Is s the base64 of exactly 16 bytes?  Then it is 21 characters of the
 * alphabet, a 22nd with the last 2 bits and four zero bits (one of "AQgw":
 * 0, 16, 32, 48) and "==".  Checking that shape is as strict as decoding. */
static int base64_is_16_bytes(const char *s, size_t n) {
    if (n != 24 || s[22] != '=' || s[23] != '=') return 0;
    if (s[21] != 'A' && s[21] != 'Q' && s[21] != 'g' && s[21] != 'w') return 0;
    for (size_t i = 0; i < 21; i++)
        if (s[i] == '\0' || strchr(base64_alphabet, s[i]) == NULL) return 0;
    return 1;
}

/* ======================================================================
 * HTTP/1.1 requests and responses (RFC 9112)
 *
 * node-static and socket.io sat on Node's HTTP server; here a request head
 * is parsed by hand.  A head is a request line, header lines, an empty line:
 *     GET /js/main.js HTTP/1.1\r\n
 *     Host: localhost:8080\r\n
 *     \r\n
 * The parser never assumes one read() is one request.  Keep-alive: one
 * connection carries request after request, answered one at a time, in order.
 * ====================================================================== */

/* New bytes on an HTTP connection: answer each complete head in order
 * (pipelining).  Only new bytes are searched for a head's end (less two: the
 * empty line may straddle reads), so a head sent byte by byte costs linear time. */
static void http_on_input(struct client *c) {
    int ready = c->state == CONN_HTTP && !client_has_output(c);
    while (ready && buffer_used(&c->in) > 0) {
        struct http_request req;
        const char *head = c->in.data + c->in.start;
        size_t used = buffer_used(&c->in);
        size_t from = c->head_scanned > 2 ? c->head_scanned - 2 : 0;
        if (used < HTTP_HEAD_MAX && http_find_head_end(head + from, used - from) == 0) {
            c->head_scanned = used;
            return;
        }
        int n = http_parse_request(head, used, &req);  /* a head, or too long: never 0 */
        c->head_scanned = 0;
        if (n < 0) {
            buffer_free(&c->in);
            http_fail(c, req.error_status);
            return;
        }
        http_handle_request(c, &req);
        buffer_consume(&c->in, (size_t)n);
        ready = http_keep_alive(c);
    }
    if (c->state == CONN_WS_ECHO || c->state == CONN_WS_SIO)
        ws_on_input(c);  /* frames that came right behind the handshake */
}

/* One request head at buf (buffer, length): returns its length when whole,
 * 0 while more bytes are needed, -1 when bad (req->error_status says how). */
static int http_parse_request(const char *buf, size_t len, struct http_request *req) {
    size_t end = http_find_head_end(buf, len);
    size_t pos = 0;
    memset(req, 0, sizeof *req);
    req->content_length = -1;
    req->error_status = 431;  /* if no head ends within HTTP_HEAD_MAX bytes */
    if (end == 0 || end > HTTP_HEAD_MAX) return len >= HTTP_HEAD_MAX ? -1 : 0;
    req->error_status = 400;
    /* Line by line: each ends in LF, less the CR before it; the empty line
     * that ends the head ends at `end`.  A CR anywhere else is bad. */
    while (pos < end) {
        struct slice line = {buf + pos, 0};
        while (line.p[line.n] != '\n')
            line.n++;
        pos += line.n + 1;
        if (line.n > 0 && line.p[line.n - 1] == '\r')
            line.n--;
        if (memchr(line.p, '\r', line.n) != NULL) return -1;
        if (line.p == buf && http_parse_request_line(line, req) < 0) return -1;
        if (line.p != buf && line.n > 0 && http_parse_header_line(line, req) < 0) return -1;
    }
    if (req->host_count > 1) return -1;  /* RFC 9112 §3.2: one Host header at most */
    req->error_status = 0;
    return (int)end;
}

/* The byte after the head's first empty line, or 0 before it has come.  Lines
 * end in CRLF or a bare LF (RFC 9112 §2.2 lets a recipient accept it). */
static size_t http_find_head_end(const char *buf, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < len && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* RFC 9112 §3: method SP request-target SP HTTP-version.  Returns 0, or -1 (400 or 505). */
static int http_parse_request_line(struct slice line, struct http_request *req) {
    size_t i = 0;
    while (i < line.n && http_is_tchar((unsigned char)line.p[i]))
        i++;
    if (i == 0 || i >= line.n || line.p[i] != ' ') return -1;
    req->method.p = line.p;
    req->method.n = i;
    size_t start = ++i;
    /* The target holds no SP and no control character, and only its origin form
     * "/path?query" is taken (RFC 9112 §3.2): no absolute URL, "*" or CONNECT authority. */
    while (i < line.n && (unsigned char)line.p[i] > ' ' && line.p[i] != 0x7f)
        i++;
    if (i == start || i >= line.n || line.p[i] != ' ' || line.p[start] != '/') return -1;
    req->target.p = line.p + start;
    req->target.n = i - start;
    const char *v = line.p + i + 1;  /* RFC 9112 §2.3: "HTTP/" DIGIT "." DIGIT */
    if (line.n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.') return -1;
    if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return -1;
    req->minor_version = v[7] - '0';
    if (v[5] == '1' && req->minor_version <= 1) return 0;
    req->error_status = 505;  /* well-formed, but neither 1.0 nor 1.1 */
    return -1;
}

/* RFC 9112 §5: field-name ":" OWS field-value OWS.  Notes the ones we use; returns 0 or -1. */
static int http_parse_header_line(struct slice line, struct http_request *req) {
    struct slice name = {line.p, 0};
    /* A line that starts with white space is obsolete line folding, and
     * white space before the colon MUST be rejected (RFC 9112 §5.1-5.2). */
    while (name.n < line.n && http_is_tchar((unsigned char)line.p[name.n]))
        name.n++;
    if (name.n == 0 || name.n >= line.n || line.p[name.n] != ':') return -1;
    struct slice value = http_trim(line.p + name.n + 1, line.n - name.n - 1);
    for (size_t i = 0; i < value.n; i++) {
        unsigned char ch = (unsigned char)value.p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return -1;  /* RFC 9110 §5.5 */
    }
    if (slice_equals_nocase(name, "host")) {
        req->host = value;
        req->host_count++;
    } else if (slice_equals_nocase(name, "connection")) {
        req->connection_close |= http_has_token(value, "close");
        req->connection_keep_alive |= http_has_token(value, "keep-alive");
        req->connection_upgrade |= http_has_token(value, "upgrade");
    } else if (slice_equals_nocase(name, "upgrade")) {
        req->has_upgrade = 1;
        req->upgrade_websocket |= http_has_token(value, "websocket");
    } else if (slice_equals_nocase(name, "sec-websocket-key")) {
        req->ws_key = value;
    } else if (slice_equals_nocase(name, "sec-websocket-version")) {
        req->ws_version = value;
    } else if (slice_equals_nocase(name, "transfer-encoding")) {
        req->has_transfer_encoding = 1;
    } else if (slice_equals_nocase(name, "content-length")) {
        /* 1*DIGIT; an invalid or conflicting length is unrecoverable (RFC 9112 §6.3). */
        long long n = 0;
        if (value.n == 0 || value.n > 18) return -1;
        for (size_t i = 0; i < value.n; i++) {
            if (value.p[i] < '0' || value.p[i] > '9') return -1;
            n = n * 10 + (value.p[i] - '0');
        }
        if (req->content_length >= 0 && req->content_length != n) return -1;
        req->content_length = n;
    }
    return 0;
}

/* The n bytes at p less OWS, spaces and tabs, at both ends (RFC 9110 §5.6.3). */
static struct slice http_trim(const char *p, size_t n) {
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    struct slice s = {p + i, n - i};
    return s;
}

/* Is `token` in a comma-separated list such as "keep-alive, Upgrade"? */
static int http_has_token(struct slice list, const char *token) {
    size_t start = 0;
    for (size_t i = 0; i <= list.n; i++) {
        if (i < list.n && list.p[i] != ',') continue;
        if (slice_equals_nocase(http_trim(list.p + start, i - start), token)) return 1;
        start = i + 1;
    }
    return 0;
}

/* RFC 9110 §5.6.2: tchar, the characters of a token (method, header name). */
static int http_is_tchar(unsigned char ch) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int slice_equals_nocase(struct slice s, const char *word) {
    return s.n == strlen(word) && strncasecmp(s.p, word, s.n) == 0;
}

/* What the request asks of us, once its head is whole. */
static void http_handle_request(struct client *c, const struct http_request *req) {
    char path[HTTP_HEAD_MAX + 1];
    /* Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET. */
    int get = req->method.n == 3 && memcmp(req->method.p, "GET", 3) == 0;
    int head_only = req->method.n == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    int has_body = req->content_length > 0 || req->has_transfer_encoding;
    if (server.verbose) {
        char target[TRACE_PAYLOAD_MAX + 1];
        trace_text(req->target.p, req->target.n, target);
        trace_client(c, ": %.*s %s%s", (int)req->method.n, req->method.p, target,
                     strlen(target) < req->target.n ? "..." : "");
    }
    /* HTTP/1.0 closes after each response; HTTP/1.1 keeps the connection
     * unless asked not to (RFC 9112 §9.3).  A body we will not read must
     * close it too: its bytes would be taken for the next request. */
    c->close_when_sent = req->minor_version == 0 || req->connection_close || has_body;
    if (!get && !head_only) {
        http_send_error(c, 405, 0);
    } else if (has_body) {   /* 400 for any Transfer-Encoding, else 413 */
        http_send_error(c, req->has_transfer_encoding ? 400 : 413, head_only);
    } else if (req->minor_version == 1 && req->host_count == 0) {
        c->close_when_sent = 1;  /* RFC 9112 §3.2: Host is required */
        http_send_error(c, 400, head_only);
    } else if (http_decode_path(req->target.p, req->target.n, path, sizeof path) < 0) {
        http_send_error(c, 400, head_only);
    } else if (strcmp(path, "/echo") == 0 || strcmp(path, "/socket.io/") == 0) {
        ws_upgrade(c, req, path, head_only);
    } else if (req->has_upgrade) {
        http_send_error(c, 404, head_only);  /* only two paths speak WebSocket */
    } else {
        file_serve(c, path, head_only);
    }
}

/* Percent-decodes a target's path, once, dropping the query.  Returns the decoded
 * length, or -1 for a path that must never reach the file system: a bad escape, NUL,
 * backslash, or a ".." segment -- checked after decoding, so "%2e%2e" and "..%2f" too. */
static long http_decode_path(const char *target, size_t target_len, char *out, size_t out_size) {
    size_t n = 0;
    if (target_len == 0 || target[0] != '/' || out_size == 0) return -1;
    for (size_t i = 0; i < target_len && target[i] != '?' && target[i] != '#'; i++) {
        int ch = (unsigned char)target[i];
        if (ch == '%') {
            int hi = i + 2 < target_len ? http_hex_value(target[i + 1]) : -1;
            int lo = i + 2 < target_len ? http_hex_value(target[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == '\0' || ch == '\\' || n + 1 >= out_size) return -1;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    /* A ".." segment: out starts with '/', so every segment follows one. */
    if (strstr(out, "/../") != NULL || (n >= 3 && strcmp(out + n - 3, "/..") == 0)) return -1;
    return (long)n;
}

static int http_hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Finds ?name=value in a target (the value is not decoded): 1 if it is there. */
static int http_query_param(const char *target, size_t target_len, const char *name, struct slice *value) {
    const char *q = memchr(target, '?', target_len);
    const char *end = target + target_len;
    size_t name_len = strlen(name);
    if (q == NULL) return 0;
    q++;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *item_end = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(item_end - q));
        const char *key_end = eq ? eq : item_end;
        if ((size_t)(key_end - q) == name_len && memcmp(q, name, name_len) == 0) {
            value->p = eq ? eq + 1 : item_end;
            value->n = (size_t)(item_end - value->p);
            return 1;
        }
        q = item_end + 1;
    }
    return 0;
}

/* Keep-alive and pipelining (RFC 9112 §9.3): while a response goes out, nothing is
 * read (client_update_events), so later requests wait in the kernel or in c->in.
 * Once it is out: close, or return 1 (the next head may already be in c->in). */
static int http_keep_alive(struct client *c) {
    if (c->state != CONN_HTTP || client_has_output(c)) return 0;
    if (c->close_when_sent) {
        client_close_gracefully(c);
        return 0;
    }
    c->deadline = server.now + HTTP_HEAD_TIMEOUT_MS;
    timer_schedule(c->deadline);
    client_update_events(c);
    return 1;
}

/* Queues the status line, the headers every response has, then `extra` (CRLF-ended lines). */
static void http_send_head(struct client *c, int status, const char *type,
                           long long length, const char *extra) {
    char head[1024], date[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);  /* RFC 9110 §5.6.7 */
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %lld\r\n"
                     "Date: %s\r\n"
                     "Cache-Control: no-cache\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "%s%s\r\n",
                     status, http_reason(status), type, length, date,
                     c->close_when_sent ? "Connection: close\r\n" : "", extra);
    trace_client(c, ": %d %s, %lld byte%s", status, http_reason(status), length,
                 length == 1 ? "" : "s");
    client_queue(c, head, (size_t)n);
}

/* A complete response with a small body (errors, JSON answers). */
static void http_send(struct client *c, int status, const char *type, const char *body,
                      const char *extra, int head_only) {
    size_t n = strlen(body);
    http_send_head(c, status, type, (long long)n, extra);
    if (!head_only)
        client_queue(c, body, n);
    client_flush(c);
}

/* An error with a one-line text body, e.g. "404 Not Found". */
static void http_send_error(struct client *c, int status, int head_only) {
    char body[64];
    const char *extra = status == 405 ? "Allow: GET, HEAD\r\n" : "";
    snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
    http_send(c, status, "text/plain; charset=utf-8", body, extra, head_only);
}

/* For requests we cannot go on from: answer, then close the connection. */
static void http_fail(struct client *c, int status) {
    c->close_when_sent = 1;
    trace_client(c, ": bad request, answering %d and closing", status);
    http_send_error(c, status, 0);
    client_close_gracefully(c);
}

static const char *http_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

/* ======================================================================
 * Static files from ROOT: what node-static did for the chapter
 *
 * The decoded path is joined to ROOT, then resolved with realpath(), which
 * follows every symbolic link and "..": the real file must lie inside
 * ROOT's real path.  open() with O_NOFOLLOW then refuses a link swapped in
 * since, and O_NONBLOCK keeps a FIFO from stalling the server.  Files
 * stream from disk in FILE_CHUNK pieces as the socket drains (file_fill).
 * ====================================================================== */

static const struct content_type {
    const char *extension;
    const char *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"}, {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"}, {"txt", "text/plain; charset=utf-8"},
    {"json", "application/json; charset=utf-8"}, {"map", "application/json; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"}, {"png", "image/png"}, {"gif", "image/gif"},
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"ico", "image/x-icon"},
    {"webp", "image/webp"}, {"wasm", "application/wasm"},
};

/* GET or HEAD of a static file: the head now, the bytes as the socket drains. */
static void file_serve(struct client *c, const char *path, int head_only) {
    struct stat st;
    int fd = file_open(path, &st);
    if (fd < 0) {
        http_send_error(c, fd == -2 ? 503 : 404, head_only);
        return;
    }
    const char *type = file_content_type(path[strlen(path) - 1] == '/' ? "index.html" : path);
    http_send_head(c, 200, type, (long long)st.st_size, "");
    if (head_only || st.st_size == 0) {
        close(fd);
    } else {
        c->file_fd = fd;
        c->file_left = (long long)st.st_size;
        server.files_open++;
    }
    client_flush(c);
}

/* Opens the regular file `path` names under ROOT: -1 if there is none, -2 if out of fds. */
static int file_open(const char *path, struct stat *st) {
    char joined[PATH_MAX], real[PATH_MAX];
    size_t root = server.root_real_len;
    const char *index = path[strlen(path) - 1] == '/' ? "index.html" : "";
    int n = snprintf(joined, sizeof joined, "%s%s%s", server.root_real, path, index);
    if (n < 0 || (size_t)n >= sizeof joined || realpath(joined, real) == NULL) return -1;
    /* ROOT itself or below it; when ROOT is "/", every path is. */
    if (root > 1 && (strncmp(real, server.root_real, root) != 0
                     || (real[root] != '/' && real[root] != '\0'))) {
        trace("refused a path that resolves outside the root");
        return -1;
    }
    /* A link swapped in since realpath() fails (ELOOP, 404); a folder swapped in: see README. */
    int fd = open(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) return errno == EMFILE || errno == ENFILE ? -2 : -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);  /* folders, devices, FIFOs: only regular files are served */
        return -1;
    }
    return fd;
}

/* The type by the extension of the path's last segment, case-insensitive. */
static const char *file_content_type(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL) {
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++) {
            if (strcasecmp(dot + 1, content_types[i].extension) == 0) return content_types[i].type;
        }
    }
    return "application/octet-stream";
}

/* Queues the next piece of a static file behind the response head.  Only
 * called while the file is open, so at least one byte is left to read. */
static void file_fill(struct client *c) {
    size_t want = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    if (buffer_reserve(&c->out, want) < 0) {
        client_out_of_memory(c);
        return;
    }
    ssize_t n = read(c->file_fd, c->out.data + c->out.len, want);
    if (n > 0) {
        c->out.len += (size_t)n;
        c->file_left -= n;
    } else {
        c->file_left = 0;   /* the file shrank or failed: stop here */
        c->close_when_sent = 1;
    }
    if (c->file_left <= 0)
        file_close(c);
}

static void file_close(struct client *c) {
    close(c->file_fd);
    c->file_fd = -1;
    server.files_open--;
}

/* ======================================================================
 * Connections: buffers, the output queue, closing
 *
 * Every socket is non-blocking, so write() may take only part of what it
 * is given, or nothing (EAGAIN).  So output is queued in c->out and written
 * as the socket takes it; poll() is asked for POLLOUT only while something
 * is queued.  A closed client is freed only as the turn ends: see client_kill.
 * ====================================================================== */

static struct client *client_new(int fd) {
    if (server.count == server.cap && server_grow() < 0) return NULL;
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->fd = fd;
    c->number = ++server.next_number;
    c->state = CONN_HTTP;
    c->file_fd = -1;
    c->slot = server.count++;
    c->deadline = server.now + HTTP_HEAD_TIMEOUT_MS;
    timer_schedule(c->deadline);
    server.clients[c->slot] = c;
    server.pfds[c->slot].fd = fd;
    server.pfds[c->slot].revents = 0;
    client_update_events(c);
    c->busy = 1;    /* it talks at once (its request head): it starts busy, see poll_hot_first */
    slot_swap(c->slot, server.hot);
    server.hot++;
    return c;
}

/* Makes the poll set and the three client arrays beside it (at start-up), or
 * doubles them.  Returns 0, or -1 if out of memory (the old ones stay valid). */
static int server_grow(void) {
    size_t cap = server.cap > 0 ? server.cap * 2 : CLIENTS_CAP_MIN;
    struct pollfd *pfds = realloc(server.pfds, cap * sizeof *pfds);
    struct client **list;
    if (pfds == NULL) return -1;
    server.pfds = pfds;
    list = realloc(server.clients, cap * sizeof(struct client *));
    if (list == NULL) return -1;
    server.clients = list;
    list = realloc(server.flush_list, cap * sizeof(struct client *));
    if (list == NULL) return -1;
    server.flush_list = list;
    list = realloc(server.dead_list, cap * sizeof(struct client *));
    if (list == NULL) return -1;
    server.dead_list = list;
    server.cap = cap;
    return 0;
}

/* Queues bytes.  A Socket.IO client that lets more than OUT_MAX of others'
 * messages pile up has stopped reading: it is dropped rather than slowing
 * anyone else.  (/echo clients are slowed down instead: client_update_events.) */
static void client_queue(struct client *c, const void *data, size_t n) {
    if (c->state == CONN_DEAD) return;
    if (c->state == CONN_WS_SIO && buffer_used(&c->out) > OUT_MAX) {
        client_kill(c, "output queue over the limit: the client stopped reading");
    } else if (buffer_append(&c->out, data, n) < 0) {
        client_out_of_memory(c);
    } else if (c->send_due == 0) {
        c->send_due = server.now + SEND_TIMEOUT_MS;   /* the write-progress clock starts */
        timer_schedule(c->send_due);
    }
}

/* Asks for a flush at the end of this turn of the loop: a burst of
 * messages to one client then costs one write() instead of one each. */
static void client_flush_later(struct client *c) {
    if (c->flush_queued || c->state == CONN_DEAD) return;
    c->flush_queued = 1;
    server.flush_list[server.flush_count++] = c;
}

static void clients_flush_queued(void) {
    for (size_t i = 0; i < server.flush_count; i++) {
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): flush_count > 0 only once flush_list exists */
        server.flush_list[i]->flush_queued = 0;
        client_flush(server.flush_list[i]);
    }
    server.flush_count = 0;
}

/* Writes what the socket takes.  Stops at EAGAIN; poll() says when to go on. */
static void client_flush(struct client *c) {
    while (c->state != CONN_DEAD) {
        if (buffer_used(&c->out) == 0 && c->file_fd >= 0)
            file_fill(c);
        if (buffer_used(&c->out) == 0) break;   /* all written, or the file ended */
        ssize_t n = write(c->fd, c->out.data + c->out.start, buffer_used(&c->out));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            client_kill(c, strerror(errno));
        if (n < 0) break;
        buffer_consume(&c->out, (size_t)n);
        c->send_due = server.now + SEND_TIMEOUT_MS;  /* progress: the clock restarts */
    }
    if (c->state == CONN_DEAD) return;
    if (!client_has_output(c))
        c->send_due = 0;
    if (c->state == CONN_CLOSING && !client_has_output(c) && !c->write_shut) {
        /* Our last byte is out: tell the peer with a FIN, then wait for
         * its -- the linger starts now, never while output is queued. */
        shutdown(c->fd, SHUT_WR);
        c->write_shut = 1;
        c->deadline = server.now + LINGER_TIMEOUT_MS;
        timer_schedule(c->deadline);
    }
    client_update_events(c);
}

static int client_has_output(const struct client *c) {
    return buffer_used(&c->out) > 0 || c->file_fd >= 0;
}

/* What this client waits for in poll().  No reading: a dead client; an HTTP
 * client while its response goes out (one at a time: pipelined requests wait
 * in the kernel); an /echo client with OUT_MAX of echoes queued (back-pressure). */
static void client_update_events(struct client *c) {
    short events = POLLIN;
    if (c->state == CONN_DEAD || (c->state == CONN_HTTP && client_has_output(c)) ||
        (c->state == CONN_WS_ECHO && buffer_used(&c->out) > OUT_MAX)) {
        events = 0;
    }
    if (client_has_output(c))
        events |= POLLOUT;
    server.pfds[c->slot].events = events;
}

/* We have said our last word: flush it, then wait for the peer to close
 * (closing first, with unread input, would make the kernel send a reset
 * that can destroy our last bytes in flight). */
static void client_close_gracefully(struct client *c) {
    if (c->state == CONN_DEAD || c->state == CONN_CLOSING) return;
    c->state = CONN_CLOSING;
    c->deadline = 0;    /* set by client_flush once the last byte is out */
    buffer_free(&c->msg);
    client_flush(c);
}

/* Marks a client closed; nothing is freed before the loop's turn ends.  Why:
 * any send can kill its target (OUT_MAX), and sends happen mid-handler, as
 * when room_create_or_join tells the first peer "join", then goes on with the
 * room and the newcomer.  So a killed client leaves its room at once (a
 * newcomer may take its place), but its struct and a room left empty stay
 * valid until clients_reap() and rooms_reap(): later code at worst writes to
 * a dead client (a no-op) or puts it in a room, which clients_reap() undoes. */
static void client_kill(struct client *c, const char *reason) {
    if (c->state == CONN_DEAD) return;
    trace_client(c, ": closed (%s)", reason);
    room_leave(c);
    c->state = CONN_DEAD;
    server.pfds[c->slot].events = 0;
    server.dead_list[server.dead++] = c;
}

/* A failed allocation costs the one client that needed the memory. */
static void client_out_of_memory(struct client *c) {
    fprintf(stderr, "signal: client %lu: out of memory, closing it\n", c->number);
    client_kill(c, "out of memory");
}

/* Frees the clients killed this turn (server.dead_list: no scan of the live
 * ones).  Each is swapped to the end of the arrays, which then shrink. */
static void clients_reap(void) {
    while (server.dead > 0) {
        struct client *c = server.dead_list[--server.dead];
        room_leave(c);      /* again: see client_kill */
        if (c->slot < server.hot) {
            server.hot--;   /* the busy part [0, hot) stays in one piece */
            slot_swap(c->slot, server.hot);
        }
        server.count--;
        slot_swap(c->slot, server.count);
        close(c->fd);
        if (c->file_fd >= 0)
            file_close(c);
        buffer_free(&c->in);
        buffer_free(&c->out);
        buffer_free(&c->msg);
        free(c);
    }
}

static void slot_swap(size_t i, size_t j) {
    struct pollfd pfd = server.pfds[i];
    struct client *c = server.clients[i];
    server.pfds[i] = server.pfds[j];
    server.clients[i] = server.clients[j];
    /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): slots 1..count-1 hold clients */
    server.clients[i]->slot = i;
    server.pfds[j] = pfd;
    server.clients[j] = c;
    c->slot = j;
}

static size_t buffer_used(const struct buffer *b) {
    return b->len - b->start;
}

/* Makes room for `more` bytes after the used ones: first by moving the used
 * bytes to the front, then by doubling.  Returns 0, or -1 if out of memory. */
static int buffer_reserve(struct buffer *b, size_t more) {
    if (b->start > 0 && b->cap - b->len < more) {
        memmove(b->data, b->data + b->start, buffer_used(b));
        b->len -= b->start;
        b->start = 0;
    }
    if (b->data == NULL && server.spare_count > 0) {
        server.spare_count--;       /* an empty buffer takes the last spare */
        b->data = server.spare_data[server.spare_count];
        b->cap = server.spare_cap[server.spare_count];
        server.spare_bytes -= b->cap;
    }
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : BUFFER_CAP_MIN;
    while (cap < b->len + more)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (data == NULL) return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buffer_append(struct buffer *b, const void *data, size_t n) {
    if (n == 0) return 0;
    if (buffer_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

/* Drops n bytes from the front.  An emptied buffer gives its memory back; one
 * grown for a big message gives most back once it is consumed, next one or not. */
static void buffer_consume(struct buffer *b, size_t n) {
    b->start += n;
    if (b->start >= b->len) {
        buffer_free(b);
        return;
    }
    size_t used = buffer_used(b);
    if (b->data == server.read_buf || b->cap <= BUFFER_KEEP || used > b->cap / 4) return;
    size_t cap = used * 2 > BUFFER_KEEP ? used * 2 : BUFFER_KEEP;
    memmove(b->data, b->data + b->start, used);
    b->start = 0;
    b->len = used;
    char *data = realloc(b->data, cap);
    if (data != NULL) {
        b->data = data;
        b->cap = cap;
    }
}

/* Empties a buffer.  Its memory goes to the spares if they have room, so
 * clients that take turns reuse a few blocks instead of the heap growing and
 * shrinking (and page-faulting) on every message. */
static void buffer_free(struct buffer *b) {
    if (b->data == server.read_buf) {
        /* c->in only borrowed the loop's read buffer: nothing to give back */
    } else if (b->data != NULL && b->cap <= SPARE_CAP_MAX && server.spare_count < SPARE_COUNT &&
               server.spare_bytes + b->cap <= SPARE_BYTES_MAX) {
        server.spare_data[server.spare_count] = b->data;
        server.spare_cap[server.spare_count] = b->cap;
        server.spare_count++;
        server.spare_bytes += b->cap;
    } else {
        free(b->data);
    }
    *b = (struct buffer){NULL, 0, 0, 0};
}

/* One line on stderr, only with -v: how a learner watches the wire. */
static void trace(const char *fmt, ...) {
    va_list ap;
    if (!server.verbose) return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void trace_client(const struct client *c, const char *fmt, ...) {
    char label[64];
    va_list ap;
    if (!server.verbose) return;
    fputs(client_label(c, label), stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* "conn 4", or "conn 4 [socket id]" once Socket.IO has given it one: its
 * name in every -v line, so that the id a page shows can be found with grep. */
static const char *client_label(const struct client *c, char out[64]) {
    if (c->sio_id[0] != '\0')
        snprintf(out, 64, "conn %lu [%s]", c->number, c->sio_id);
    else
        snprintf(out, 64, "conn %lu", c->number);
    return out;
}

/* Copies untrusted bytes (a, then b) into out for a trace line, at most
 * TRACE_PAYLOAD_MAX of them: control bytes become '?', and so do bytes
 * above 127 unless the whole is valid UTF-8 (then a Korean room name shows
 * as itself).  A cut never splits a character.  Returns the bytes shown. */
static size_t trace_printable(const unsigned char *a, size_t a_len, const unsigned char *b,
                              size_t b_len, char out[TRACE_PAYLOAD_MAX + 1]) {
    struct utf8_state st = {0, 0, 0};
    size_t len = a_len + b_len;
    size_t n = len < TRACE_PAYLOAD_MAX ? len : TRACE_PAYLOAD_MAX;
    int utf8 = utf8_validate(&st, a, a_len) >= 0 && utf8_validate(&st, b, b_len) == 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = i < a_len ? a[i] : b[i - a_len];
        out[i] = (char)(ch < 0x20 || ch == 0x7F || (ch > 0x7F && !utf8) ? '?' : ch);
    }
    while (utf8 && n > 0 && n < len && ((n < a_len ? a[n] : b[n - a_len]) & 0xC0) == 0x80)
        n--;    /* the first byte left out continues a character: cut before it */
    out[n] = '\0';
    return n;
}

/* The same for one run of n bytes (a name, a path, a close reason). */
static size_t trace_text(const void *s, size_t n, char out[TRACE_PAYLOAD_MAX + 1]) {
    return trace_printable(s, n, s, 0, out);
}

/* ======================================================================
 * The poll() loop
 *
 * One process, one thread, where the chapter had Node's event loop: poll()
 * sleeps until a socket is ready or a timer is due, then each ready socket
 * gets one handler, which never waits.  In gdb, on_readable and on_writable
 * are the natural breakpoints.
 * ====================================================================== */

static void server_loop(void) {
    while (!stop_requested) {
        size_t count;
        int ready = poll_hot_first(&count);
        if (ready < 0 && errno != EINTR)
            die(1, "poll: %s", strerror(errno));
        server.now = now_ms();
        if (ready > 0 && server.pfds[0].revents != 0) {
            ready--;
            on_listen_ready();
        }
        /* `ready` counts the sockets with news: stop once all are seen. */
        for (size_t i = 1; ready > 0 && i < count; i++) {
            struct client *c = server.clients[i];
            short revents = server.pfds[i].revents;
            if (revents == 0) continue;
            ready--;
            if (c->state == CONN_DEAD) continue;
            c->busy = 1;
            if (i >= server.hot) {
                /* News from a quiet client: into the busy part (slot hot was seen). */
                slot_swap(i, server.hot);
                server.hot++;
            }
            if (revents & (POLLIN | POLLHUP | POLLERR))
                on_readable(c);
            if ((revents & POLLOUT) && c->state != CONN_DEAD)
                on_writable(c);
        }
        timers_run(server.now);
        clients_flush_queued();
        clients_reap();
        rooms_reap();
    }
}

/* poll() costs in proportion to the sockets it is given, ready or not, and
 * one that sleeps first hooks itself onto each socket's wait queue (about a
 * microsecond each).  So busy clients sit at the front (server.hot), and
 * under load (the last full poll found HOT_MIN_READY ready) a turn polls
 * only them.  Every FULL_POLL_MS a full poll looks at everyone without
 * sleeping, and the busy ones quiet since the last one rejoin the others.
 * Returns poll()'s result; *count is how many entries were polled. */
static int poll_hot_first(size_t *count) {
    size_t i = 1;
    if (server.under_load && server.hot > 1 && server.now < server.full_poll_due) {
        long long until_full = server.full_poll_due - server.now;
        int wait = poll_timeout() < until_full ? poll_timeout() : (int)until_full;
        *count = server.hot;
        int ready = poll(server.pfds, (nfds_t)server.hot, wait);
        if (ready != 0) return ready;
    }
    while (i < server.hot) {
        if (server.clients[i]->busy) {
            server.clients[i]->busy = 0;
            i++;
        } else {
            server.hot--;
            slot_swap(i, server.hot);   /* look at the one moved into i next */
        }
    }
    server.full_poll_due = now_ms() + FULL_POLL_MS;
    *count = server.count;  /* clients accepted in this turn wait for the next */
    int ready = poll(server.pfds, (nfds_t)server.count,
                     server.under_load && server.hot > 1 ? 0 : poll_timeout());
    server.under_load = ready >= HOT_MIN_READY;
    return ready;
}

/* How long poll() may sleep: until the next timer. */
static int poll_timeout(void) {
    long long left = server.next_timer - now_ms();
    if (left < 0) return 0;
    return left > TIMER_IDLE_MS ? TIMER_IDLE_MS : (int)left;
}

/* A "readable" listening socket: accept() hands over a waiting connection as
 * a new socket.  FD_RESERVE descriptors stay free for files to send. */
static void on_listen_ready(void) {
    for (int k = 0; k < ACCEPT_BATCH; k++) {
        int one = 1;
        if ((long)(server.count + server.files_open + FD_RESERVE) >= server.fd_limit) {
            accept_pause("all file descriptors in use");
            return;
        }
        int fd = accept(server.listen_fd, NULL, NULL);
        if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;   /* no more for now */
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue; /* it gave up waiting */
        if (fd < 0) {
            accept_pause(strerror(errno));   /* EMFILE, ENOBUFS, ENOMEM... */
            return;
        }
        server.accept_pause_logged = 0;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* small messages: no Nagle */
        if (set_nonblocking(fd) < 0 || client_new(fd) == NULL) {
            fprintf(stderr, "signal: cannot take a new client: %s\n", strerror(errno));
            close(fd);
            continue;
        }
        trace("conn %lu: connected", server.next_number);
    }
}

/* Out of descriptors or memory: retrying at once would spin at 100 % CPU, as
 * the listening socket stays readable.  New clients wait in the backlog. */
static void accept_pause(const char *why) {
    if (!server.accept_pause_logged) {
        fprintf(stderr, "signal: %s; new connections wait until clients leave\n", why);
        server.accept_pause_logged = 1;
    }
    server.accept_paused_until = server.now + ACCEPT_PAUSE_MS;
    server.pfds[0].events = 0;
    timer_schedule(server.accept_paused_until);
}

/* O_NONBLOCK: accept(), read() and write() return EAGAIN instead of waiting. */
static int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

/* read() takes what the socket has, up to the room given; 0 means the peer
 * closed.  A client with nothing pending reads into read_buf and is parsed
 * there; a partial message left over moves to a buffer of its own, as the
 * next read() overwrites read_buf.  One with part of a message reads behind it. */
static void on_readable(struct client *c) {
    if (c->in.data == NULL) {
        c->in = (struct buffer){.data = server.read_buf, .cap = sizeof server.read_buf};
    } else if (buffer_reserve(&c->in, READ_OWN_MIN) < 0) {
        client_out_of_memory(c);
        return;
    }
    ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        client_kill(c, n == 0 ? "the peer closed" : strerror(errno));
    } else if (n > 0) {
        c->in.len += (size_t)n;
        if (c->state == CONN_HTTP)
            http_on_input(c);
        else if (c->state == CONN_CLOSING)
            buffer_free(&c->in);   /* we are done talking: read and discard */
        else
            ws_on_input(c);
    }
    if (c->in.data == server.read_buf) {
        struct buffer own = {NULL, 0, 0, 0};
        if (buffer_append(&own, c->in.data + c->in.start, buffer_used(&c->in)) < 0)
            client_out_of_memory(c);
        else
            c->in = own;
    }
}

static void on_writable(struct client *c) {
    client_flush(c);
    if (http_keep_alive(c) && buffer_used(&c->in) > 0)
        http_on_input(c);   /* a pipelined request was waiting */
}

/* Runs the timers that are due: a scan of all clients, so at most every TIMER_TICK_MS. */
static void timers_run(long long now) {
    if (now < server.next_timer) return;
    if (server.accept_paused_until > 0 && now >= server.accept_paused_until) {
        server.accept_paused_until = 0;
        server.pfds[0].events = POLLIN;   /* the listener is polled again */
    }
    long long next = deadline_min(now + TIMER_IDLE_MS, server.accept_paused_until);
    for (size_t i = 1; i < server.count; i++)
        next = deadline_min(next, client_check_timers(server.clients[i], now));
    server.next_timer = next > now + TIMER_TICK_MS ? next : now + TIMER_TICK_MS;
}

/* Runs one client's timers that are due, and returns its next deadline
 * (0 for none): the new one if it moved on here (408, then CLOSING). */
static long long client_check_timers(struct client *c, long long now) {
    if (c->state == CONN_DEAD) return 0;   /* killed earlier in this turn */
    int late = c->deadline > 0 && now >= c->deadline;   /* HTTP: head due; CLOSING: linger over */
    if (c->send_due > 0 && now >= c->send_due)
        client_kill(c, "no write progress: the peer stopped reading");
    else if (c->state == CONN_HTTP && client_has_output(c))
        return c->send_due;   /* a response going out: the head's clock starts after it */
    else if (c->state == CONN_WS_SIO || c->state == CONN_WS_ECHO)
        ws_check_heartbeat(c, now);
    else if (late && c->state == CONN_CLOSING)
        client_kill(c, "the peer did not close in time");
    else if (late && buffer_used(&c->in) > 0)
        http_fail(c, 408);  /* part of a head, too slowly: slowloris */
    else if (late)
        client_kill(c, "idle");
    if (c->state == CONN_DEAD) return 0;
    return deadline_min(deadline_min(c->send_due, c->deadline),
                        deadline_min(c->ping_due, c->pong_due));
}

/* The earlier of two deadlines, where 0 means "none". */
static long long deadline_min(long long a, long long b) {
    return a == 0 || (b != 0 && b < a) ? b : a;
}

/* Lowers server.next_timer so that timers_run() looks at `when`. */
static void timer_schedule(long long when) {
    if (when > 0 && when < server.next_timer)
        server.next_timer = when;
}

/* Milliseconds on a clock that never jumps (not the wall clock). */
static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ======================================================================
 * Start-up and shutdown, and main()
 *
 * The chapter's last line was app.listen(8080).  Here: parse the options,
 * open the root folder and the listening socket, and run the loop until
 * SIGINT or SIGTERM.  Start-up errors print their cause and exit (die).
 * ====================================================================== */

/* Everything the loop needs; any failure is fatal.  SIGINT and SIGTERM only
 * set a flag: without SA_RESTART, poll() then returns EINTR and the loop ends. */
static void server_start(void) {
    struct stat st;
    /* ROOT must be a folder; its real path is kept for the inside-ROOT check. */
    if (realpath(server.root, server.root_real) == NULL) {
        die(1, "cannot use root '%s': %s (run ./signal from the repository's folder, "
            "or pass -r FOLDER)", server.root, strerror(errno));
    }
    if (stat(server.root_real, &st) < 0 || !S_ISDIR(st.st_mode))
        die(1, "cannot use root '%s': not a folder", server.root);
    server.root_real_len = strlen(server.root_real);
    raise_fd_limit();
    server.random_fd = open("/dev/urandom", O_RDONLY);
    if (server.random_fd < 0)
        die(1, "cannot open /dev/urandom: %s", strerror(errno));
    listen_open();
    if (server_grow() < 0)
        die(1, "out of memory");
    server.pfds[0] = (struct pollfd){.fd = server.listen_fd, .events = POLLIN};
    server.count = 1;
    server.hot = 1;
    server.now = now_ms();
    server.next_timer = server.now + TIMER_IDLE_MS;
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a write to a closed socket: EPIPE, not death */
}

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* No fixed client limit: take every file descriptor the system allows. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    server.fd_limit = LONG_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            rl.rlim_cur = FD_LIMIT_MACOS;   /* macOS refuses more, even "unlimited" */
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)LONG_MAX)
        server.fd_limit = (long)rl.rlim_cur;
}

/* socket(), bind() to ADDRESS:PORT (IPv4 or IPv6), listen(): the kernel
 * then queues incoming connections until accept() takes them. */
static void listen_open(void) {
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    socklen_t len = sizeof *in4;
    int one = 1;
    if (inet_pton(AF_INET, server.address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((unsigned short)server.port);
    } else if (inet_pton(AF_INET6, server.address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)server.port);
        len = sizeof *in6;
    } else {
        die(1, "cannot listen on %s:%d: not an IPv4 or IPv6 address", server.address, server.port);
    }
    server.listen_fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (server.listen_fd < 0)
        die(1, "socket: %s", strerror(errno));
    /* Lets a restarted server bind at once while old connections linger. */
    setsockopt(server.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(server.listen_fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(server.listen_fd, SOMAXCONN) < 0 || set_nonblocking(server.listen_fd) < 0) {
        die(1, "cannot listen on %s:%d: %s%s", server.address, server.port, strerror(errno),
            errno == EADDRINUSE ? " (is another server running there? -p 0 picks a free port)"
                                : "");
    }
    getsockname(server.listen_fd, (struct sockaddr *)&ss, &len);   /* the port -p 0 got */
    server.port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
}

static void parse_options(int argc, char **argv) {
    int opt;
    server.address = DEFAULT_ADDRESS;
    server.port = DEFAULT_PORT;
    server.root = DEFAULT_ROOT;
    server.ping_interval = DEFAULT_PING_INTERVAL_MS;
    server.ping_timeout = DEFAULT_PING_TIMEOUT_MS;
    while ((opt = getopt(argc, argv, "a:p:r:i:t:vh")) != -1) {
        switch (opt) {
        case 'a': server.address = optarg; break;
        case 'r': server.root = optarg; break;
        case 'v': server.verbose = 1; break;
        case 'p': server.port = option_number(opt, 0, 65535); break;
        case 'i': server.ping_interval = option_number(opt, 1, PING_MS_MAX); break;
        case 't': server.ping_timeout = option_number(opt, 1, PING_MS_MAX); break;
        case 'h': usage(stdout, 0); break;
        default: usage(stderr, 2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "signal: unexpected argument: %s\n", argv[optind]);
        usage(stderr, 2);
    }
}

/* -p, -i and -t take a whole decimal number in [min, max]. */
static int option_number(int opt, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(optarg, &end, 10);
    if (errno != 0 || end == optarg || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "signal: bad value for -%c: %s\n", opt, optarg);
        usage(stderr, 2);
    }
    return (int)v;
}

/* Prints the usage and exits: 0 after -h, 2 after a bad command line. */
static void usage(FILE *out, int code) {
    fprintf(out,
        "usage: signal [-a ADDRESS] [-p PORT] [-r ROOT] [-i PING_MS] [-t TIMEOUT_MS] [-v] [-h]\n"
        "  -a ADDRESS   address to listen on (default %s; 0.0.0.0 for every IPv4 interface)\n"
        "  -p PORT      TCP port (default %d, as in the codelab; 0 = any free port)\n"
        "  -r ROOT      folder of static files (default: %s)\n"
        "  -i PING_MS   Engine.IO ping interval in ms (default %d)\n"
        "  -t TIMEOUT_MS Engine.IO ping timeout in ms (default %d)\n"
        "  -v           trace every HTTP request and every WebSocket frame on stderr\n"
        "  -h           print this help and exit 0\n",
        DEFAULT_ADDRESS, DEFAULT_PORT, DEFAULT_ROOT, DEFAULT_PING_INTERVAL_MS,
        DEFAULT_PING_TIMEOUT_MS);
    exit(code);
}

/* After SIGINT or SIGTERM: WebSocket clients hear 1001 (going away). */
static void server_stop(void) {
    unsigned char going_away[2] = {1001 >> 8, 1001 & 0xFF};
    for (size_t i = 1; i < server.count; i++)
        ws_send(server.clients[i], WS_CLOSE, going_away, 2);
    clients_flush_queued();
    for (size_t i = 1; i < server.count; i++)
        client_kill(server.clients[i], "server stopping");
    clients_reap();
    rooms_reap();
    while (server.spare_count > 0)
        free(server.spare_data[--server.spare_count]);
    free(server.pfds);
    free(server.clients);
    free(server.flush_list);
    free(server.dead_list);
    free(server.room_buckets);
    close(server.listen_fd);
    close(server.random_fd);
}

static void die(int code, const char *fmt, ...) {
    va_list ap;
    fputs("signal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

#ifndef SIGNAL_NO_MAIN
int main(int argc, char **argv) {
    parse_options(argc, argv);
    server_start();
    /* An IPv6 address goes in brackets in a URL (RFC 3986 §3.2.2). */
    int v6 = strchr(server.address, ':') != NULL;
    printf("signal: listening on http://%s%s%s:%d/ (root %s)\n", v6 ? "[" : "", server.address,
           v6 ? "]" : "", server.port, server.root);
    fflush(stdout);
    server_loop();
    server_stop();
    return 0;
}
#endif
