/* fuzz.c -- libFuzzer harness for signal.c's parsers, which are pure
 * functions of (buffer, length).  The first input byte picks a parser; the
 * rest is its input, an exact-size copy, so AddressSanitizer sees any read
 * past the end.  Besides "never crash", each target checks a property:
 * round trips give back what went in, and a parser's answer does not
 * depend on how its input was cut.
 *
 *   make fuzz        (clang -fsanitize=fuzzer,address,undefined)
 */
#define SIGNAL_NO_MAIN
#include "../signal.c"

static void must(int ok)
{
    if (!ok) {
        abort();
    }
}

/* The oracle for "..": split the decoded path at every '/' and look at each
 * segment -- another way than http_decode_path's own check. */
static int has_dot_dot_segment(const char *path, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t start;
        while (i < n && path[i] == '/') {
            i++;
        }
        start = i;
        while (i < n && path[i] != '/') {
            i++;
        }
        if (i - start == 2 && path[start] == '.' && path[start + 1] == '.') {
            return 1;
        }
    }
    return 0;
}

/* HTTP: a head parses the same whatever comes after it; decoded paths
 * never hold "..", NUL or a backslash. */
static void fuzz_http(const char *p, size_t n)
{
    struct http_request req;
    struct http_request again;
    char path[HTTP_HEAD_MAX + 1];
    struct slice v;
    int used = http_parse_request(p, n, &req);
    long len;
    if (used <= 0) {
        return;
    }
    must(http_parse_request(p, (size_t)used, &again) == used);
    len = http_decode_path(req.target.p, req.target.n, path, sizeof path);
    if (len >= 0) {
        must((size_t)len == strlen(path) && strchr(path, '\\') == NULL);
        must(!has_dot_dot_segment(path, (size_t)len));
    }
    http_query_param(req.target.p, req.target.n, "EIO", &v);
}

/* Frames: a whole frame parses to the same size with extra bytes behind
 * it, and every strict prefix of it asks for more. */
static void fuzz_frame(const unsigned char *p, size_t n)
{
    struct ws_frame f;
    long used = ws_frame_parse(p, n, WS_ECHO_MAX, &f);
    long k;
    if (used <= 0) {
        return;
    }
    must(f.header_len + f.payload_len == (size_t)used);
    for (k = 0; k < used && k < 16; k++) {
        struct ws_frame g;
        must(ws_frame_parse(p, (size_t)k, WS_ECHO_MAX, &g) == 0);
    }
}

/* Socket.IO: packets and events parse without reading past their end;
 * a room argument that reads as a string writes back to JSON that reads
 * as the same string. */
static void fuzz_sio(const char *p, size_t n)
{
    struct sio_packet pk;
    struct sio_event ev;
    char name[ROOM_NAME_MAX + 1];
    char json[6 * ROOM_NAME_MAX + 3];
    char back[ROOM_NAME_MAX + 1];
    size_t len;
    size_t back_len;
    size_t written;
    if (sio_parse_packet(p, n, &pk) < 0 || sio_parse_event(pk.data.p, pk.data.n, &ev) < 0) {
        return;
    }
    must(json_value_end(pk.data.p, pk.data.n, 0, 0) > 0);
    if (ev.argc < 1 || ev.arg[0].p[0] != '"') {
        return;
    }
    if (json_read_string(ev.arg[0].p, ev.arg[0].n, name, sizeof name, &len) != (long)ev.arg[0].n) {
        return;
    }
    written = json_write_string(json, sizeof json, name, len);
    must(written > 0);
    must(json_read_string(json, written, back, sizeof back, &back_len) == (long)written);
    must(back_len == len && memcmp(back, name, len) == 0);
}

/* UTF-8: the verdict on a text does not depend on where it is split. */
static void fuzz_utf8(const unsigned char *p, size_t n)
{
    struct utf8_state whole;
    struct utf8_state split;
    size_t cut = n > 0 ? p[0] % (n + 1) : 0;
    int a;
    int b;
    memset(&whole, 0, sizeof whole);
    memset(&split, 0, sizeof split);
    a = utf8_validate(&whole, p, n);
    b = utf8_validate(&split, p, cut);
    if (b >= 0) {
        b = utf8_validate(&split, p + cut, n - cut);
    }
    must(a == b);
}

/* base64: base64_is_16_bytes() says yes to what encoding 16 bytes gives,
 * and to nothing else: any input it accepts is 24 characters that decode
 * (6 bits each, through the alphabet) to 16 bytes which encode back to
 * exactly that input.  The fuzzer's bytes serve both as raw bytes to
 * encode and as a candidate key. */
static void fuzz_base64(const unsigned char *p, size_t n)
{
    char text[4 * 256 / 3 + 8];
    unsigned char raw[16];
    size_t len, i;
    if (n > 255) {
        n = 255;
    }
    len = base64_encode(p, n, text);
    must(len == 4 * ((n + 2) / 3) && strlen(text) == len);
    must(base64_is_16_bytes(text, len) == (n == 16));
    if (base64_is_16_bytes((const char *)p, n)) {
        unsigned long bits = 0;
        size_t got = 0;
        int held = 0;
        for (i = 0; i < 22; i++) {
            const char *at = memchr(base64_alphabet, p[i], 64);
            must(at != NULL);
            bits = bits << 6 | (unsigned long)(at - base64_alphabet);
            held += 6;
            if (held >= 8) {
                held -= 8;
                raw[got++] = (unsigned char)(bits >> held);
            }
        }
        must(got == 16);
        base64_encode(raw, 16, text);
        must(memcmp(text, p, 24) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy;
    size_t n;
    if (size == 0) {
        return 0;
    }
    n = size - 1;
    copy = malloc(n > 0 ? n : 1);
    memcpy(copy, data + 1, n);
    switch (data[0] % 5) {
    case 0: fuzz_http((const char *)copy, n); break;
    case 1: fuzz_frame(copy, n); break;
    case 2: fuzz_sio((const char *)copy, n); break;
    case 3: fuzz_utf8(copy, n); break;
    default: fuzz_base64(copy, n); break;
    }
    free(copy);
    return 0;
}
