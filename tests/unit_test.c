/* unit_test.c -- the unit suite of signal.c: its parsers and encoders called
 * directly, with no sockets.  signal.c is included whole; SIGNAL_NO_MAIN
 * leaves its main() out.  Every parser is fed exact-size heap copies of its
 * input, so AddressSanitizer catches a read past the end.
 *
 *   cc -std=c99 -Wall -Wextra -pedantic -Wno-unused-function -I tests \
 *      -o tests/build/unit_test tests/unit_test.c && tests/build/unit_test
 *
 * Vectors come from the RFCs cited next to each test.  testlib.h is not
 * included: its helper names (now_ms, http_header, ...) would clash with
 * signal.c's; check.h alone brings the result counters. */
#define SIGNAL_NO_MAIN
#include "../signal.c"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- helpers ----------------------------------------------------------- */

/* An exact-size heap copy of n bytes (so reading byte n is an ASan error). */
static char *ut_copy(const void *s, size_t n)
{
    char *p = malloc(n > 0 ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "unit_test: out of memory\n");
        exit(2);
    }
    if (n > 0) {
        memcpy(p, s, n);
    }
    return p;
}

/* Printable form of n bytes for failure messages (4 rotating buffers). */
static const char *ut_esc(const void *s, size_t n)
{
    static char bufs[4][256];
    static int which;
    const unsigned char *u = s;
    char *out = bufs[which++ % 4];
    size_t o = 0;
    size_t i;
    for (i = 0; i < n && o < sizeof bufs[0] - 8; i++) {
        if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\') {
            out[o++] = (char)u[i];
        } else {
            o += (size_t)sprintf(out + o, "\\x%02X", u[i]);
        }
    }
    if (i < n) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o] = '\0';
    return out;
}

static int ut_slice_is(struct slice s, const char *want)
{
    size_t n = strlen(want);
    return s.p != NULL && s.n == n && memcmp(s.p, want, n) == 0;
}

static int ut_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The slice with JSON whitespace trimmed on both sides equals want. */
static int ut_slice_trimmed_is(struct slice s, const char *want)
{
    size_t a = 0;
    size_t b;
    if (s.p == NULL) {
        return 0;
    }
    b = s.n;
    while (a < b && ut_is_ws(s.p[a])) {
        a++;
    }
    while (b > a && ut_is_ws(s.p[b - 1])) {
        b--;
    }
    return b - a == strlen(want) && memcmp(s.p + a, want, b - a) == 0;
}

static void ut_hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ======================================================================== */
/* SHA-1                                                                     */
/* ======================================================================== */

static void ut_sha1_hex(const void *data, size_t n, char out[41])
{
    unsigned char d[20];
    char *copy = ut_copy(data, n);
    sha1(copy, n, d);
    free(copy);
    ut_hex(d, 20, out);
}

/* RFC 3174 §7.3 / FIPS 180-4 example vectors: "abc", the 448-bit message,
 * and the empty string (FIPS 180-2 appendix). */
static void test_sha1_published_vectors(void)
{
    static const struct { const char *in; const char *hex; } v[] = {
        { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    };
    size_t i;
    char hex[41];
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        ut_sha1_hex(v[i].in, strlen(v[i].in), hex);
        check(strcmp(hex, v[i].hex) == 0, "sha1(\"%s\") = %s, want %s", v[i].in, hex, v[i].hex);
    }
}

/* FIPS 180-4 §5.1.1 padding: messages of 55/56/57 and 63/64/65 bytes put the
 * length in the same or the next block.  Digests from coreutils sha1sum. */
static void test_sha1_padding_boundaries(void)
{
    static const struct { size_t n; const char *hex; } v[] = {
        { 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a" },
        { 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699" },
        { 57, "f08f24908d682555111be7ff6f004e78283d989a" },
        { 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5" },
        { 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d" },
        { 65, "11655326c708d70319be2610e8a57d9a5b959d3b" },
        { 119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56" },
        { 120, "f34c1488385346a55709ba056ddd08280dd4c6d6" },
        { 128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0" },
    };
    char a[128];
    char hex[41];
    size_t i;
    memset(a, 'a', sizeof a);
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        ut_sha1_hex(a, v[i].n, hex);
        check(strcmp(hex, v[i].hex) == 0, "sha1('a' x %zu) = %s, want %s", v[i].n, hex, v[i].hex);
    }
}

/* RFC 3174 §7.3 TEST3: one million 'a', 15,625 whole blocks in one call,
 * then the padding block (the cuts at 55-128 bytes are tested above). */
static void test_sha1_million_a(void)
{
    const char *want = "34aa973cd4c4daa4f61eeb2bdbad27316534016f";
    size_t total = 1000000;
    char *a = malloc(total);
    unsigned char d[20];
    char hex[41];
    memset(a, 'a', total);
    sha1(a, total, d);
    ut_hex(d, 20, hex);
    check(strcmp(hex, want) == 0, "sha1(1e6 'a') = %s", hex);
    free(a);
}

/* ======================================================================== */
/* base64                                                                    */
/* ======================================================================== */

static const struct { const char *raw; const char *b64; } ut_b64_vectors[] = {
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

/* RFC 4648 §10 test vectors, encoding. */
static void test_base64_encode_rfc4648_vectors(void)
{
    size_t i;
    for (i = 0; i < sizeof ut_b64_vectors / sizeof ut_b64_vectors[0]; i++) {
        const char *raw = ut_b64_vectors[i].raw;
        const char *want = ut_b64_vectors[i].b64;
        char out[16];
        size_t r;
        memset(out, '#', sizeof out);
        r = base64_encode((const unsigned char *)raw, strlen(raw), out);
        check(r == strlen(want) && out[r] == '\0' && strcmp(out, want) == 0,
                 "base64_encode(\"%s\") = %zu \"%s\", want \"%s\"", raw, r, ut_esc(out, r), want);
    }
}

/* A reference decoder for these tests only (RFC 4648 §4, padded, strict):
 * the byte count, or -1 for a bad character, length or padding, or more
 * than out_size bytes.  signal.c itself never decodes base64. */
static long ut_b64_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long bits = 0;
    size_t n = 0, i, pads = 0;
    int held = 0;
    if (len % 4 != 0)
        return -1;
    while (pads < 2 && pads < len && in[len - 1 - pads] == '=')
        pads++;
    for (i = 0; i < len - pads; i++) {
        const char *at = memchr(abc, in[i], 64);
        if (at == NULL)
            return -1;
        bits = bits << 6 | (unsigned long)(at - abc);
        held += 6;
        if (held >= 8) {
            held -= 8;
            if (n == out_size)
                return -1;
            out[n++] = (unsigned char)(bits >> held);
        }
    }
    /* the bits left over must be zero: one encoding per byte string */
    if ((bits & ((1ul << held) - 1)) != 0)
        return -1;
    return (long)n;
}

/* RFC 4648 §10 test vectors through the reference decoder: it is right. */
static void test_base64_reference_decoder(void)
{
    size_t i;
    unsigned char out[16];
    for (i = 0; i < sizeof ut_b64_vectors / sizeof ut_b64_vectors[0]; i++) {
        const char *raw = ut_b64_vectors[i].raw;
        const char *in = ut_b64_vectors[i].b64;
        long r = ut_b64_decode(in, strlen(in), out, sizeof out);
        check(r == (long)strlen(raw) && memcmp(out, raw, strlen(raw)) == 0,
                 "ut_b64_decode(\"%s\") = %ld, want \"%s\"", in, r, raw);
    }
    check(ut_b64_decode("Zg=a", 4, out, sizeof out) == -1 && ut_b64_decode("Zh==", 4, out, sizeof out) == -1 &&
          ut_b64_decode("Zm9", 3, out, sizeof out) == -1, "ut_b64_decode rejects bad padding and length");
}

/* RFC 4648 §4: all 256 byte values survive encode then decode. */
static void test_base64_round_trip_all_bytes(void)
{
    unsigned char raw[256];
    unsigned char back[256];
    char enc[4 * 86 + 1];
    size_t n;
    int i;
    for (i = 0; i < 256; i++) {
        raw[i] = (unsigned char)(255 - i);
    }
    for (n = 250; n <= 256; n++) {
        size_t e = base64_encode(raw, n, enc);
        long d = ut_b64_decode(enc, e, back, sizeof back);
        check(e == 4 * ((n + 2) / 3) && d == (long)n && memcmp(raw, back, n) == 0,
                 "base64 round trip of %zu bytes: encoded %zu, decoded %ld", n, e, d);
    }
}

/* base64_is_16_bytes(s) must say yes exactly when s decodes to 16 bytes
 * (and is their one encoding), the rule RFC 6455 §4.2.1 item 5 sets for
 * Sec-WebSocket-Key.  The reference decoder is the judge. */
static int ut_key_agrees(const char *s, size_t n)
{
    unsigned char out[64];
    int want = ut_b64_decode(s, n, out, sizeof out) == 16;
    char *copy = ut_copy(s, n);     /* exact length: a read past it is caught by ASan */
    int got = base64_is_16_bytes(copy, n);
    free(copy);
    return got == want;
}

/* The sample key, every 16-byte value pattern encoded, every character at
 * every position, wrong lengths and cuts at every byte. */
static void test_base64_is_16_bytes(void)
{
    const char *sample = "dGhlIHNhbXBsZSBub25jZQ==";
    char key[32];
    unsigned char raw[16];
    size_t pos, n;
    int ch, k, bad = 0;
    check(base64_is_16_bytes(sample, 24) == 1, "the RFC 6455 sample key is 16 bytes");
    /* every 16-byte nonce's encoding is accepted: all bytes k, and a ramp */
    for (k = 0; k < 256; k++) {
        for (pos = 0; pos < 16; pos++)
            raw[pos] = (unsigned char)(k % 2 ? k : k + (int)pos * 17);
        base64_encode(raw, 16, key);
        bad += !base64_is_16_bytes(key, 24);
    }
    check(bad == 0, "encodings of 256 16-byte nonces are keys (%d refused)", bad);
    /* each of the 256 byte values at each of the 24 positions */
    bad = 0;
    for (pos = 0; pos < 24; pos++) {
        for (ch = 0; ch < 256; ch++) {
            memcpy(key, sample, 24);
            key[pos] = (char)ch;
            if (!ut_key_agrees(key, 24)) {
                bad++;
                fprintf(stderr, "#   key with byte %d at %zu: wrong answer\n", ch, pos);
            }
        }
    }
    check(bad == 0, "every byte at every position of a key: accepted iff it decodes to 16 bytes");
    /* the sample cut at every byte, and one byte too long */
    bad = 0;
    for (n = 0; n <= 24; n++)
        bad += !ut_key_agrees(sample, n) || (n < 24 && base64_is_16_bytes(sample, n));
    memcpy(key, sample, 24);
    key[24] = 'A';
    bad += base64_is_16_bytes(key, 25);
    check(bad == 0, "a key cut at every byte, or a byte longer, is refused");
    /* ws_test's bad keys: 15 bytes, 17 bytes, not base64; base64url's - and _ */
    check(!base64_is_16_bytes("AAAAAAAAAAAAAAAAAAAA", 20) &&
          !base64_is_16_bytes("AAAAAAAAAAAAAAAAAAAAAAA=", 24) &&
          !base64_is_16_bytes("!!!!!!!!!!!!!!!!!!!!!!==", 24) &&
          !base64_is_16_bytes("dGhlIHNhbXBsZSBub25jZ-==", 24) &&
          !base64_is_16_bytes("d_hlIHNhbXBsZSBub25jZQ==", 24), "15, 17 bytes, non-base64, base64url: refused");
}

/* RFC 6455 §1.3 / §4.2.2: the sample key's accept value. */
static void test_ws_accept_key_rfc6455_sample(void)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char *copy = ut_copy(key, strlen(key));
    char out[29];
    memset(out, '#', sizeof out);
    ws_accept_key(copy, strlen(key), out);
    check(out[28] == '\0' && strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
             "ws_accept_key(sample) = \"%s\"", ut_esc(out, 28));
    free(copy);
}

/* ======================================================================== */
/* UTF-8                                                                     */
/* ======================================================================== */

static int ut_utf8(const char *s, size_t n)
{
    struct utf8_state st;
    char *copy = ut_copy(s, n);
    int r;
    memset(&st, 0, sizeof st);
    r = utf8_validate(&st, (const unsigned char *)copy, n);
    free(copy);
    return r;
}

static const char *ut_utf8_valid[] = {
    "",
    "hello, world",
    "\xC2\x80",                         /* U+0080, smallest 2-byte */
    "caf\xC3\xA9",                      /* U+00E9 */
    "\xDF\xBF",                         /* U+07FF */
    "\xE0\xA0\x80",                     /* U+0800, smallest 3-byte */
    "\xE2\x82\xAC",                     /* U+20AC euro */
    "\xED\x9F\xBF",                     /* U+D7FF, just below the surrogates */
    "\xEE\x80\x80",                     /* U+E000, just above them */
    "\xEF\xBF\xBF",                     /* U+FFFF */
    "\xF0\x90\x80\x80",                 /* U+10000, smallest 4-byte */
    "\xF0\x9F\x98\x80",                 /* U+1F600 */
    "\xF4\x8F\xBF\xBF",                 /* U+10FFFF, the largest */
    "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d",
    "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", /* Greek "kosme", the Autobahn suite's sample */
};

/* RFC 3629 §4: the UTF8-char grammar, every length, both ends of each range. */
static void test_utf8_valid_texts(void)
{
    size_t i;
    for (i = 0; i < sizeof ut_utf8_valid / sizeof ut_utf8_valid[0]; i++) {
        const char *s = ut_utf8_valid[i];
        int r = ut_utf8(s, strlen(s));
        check(r == 1, "utf8_validate(\"%s\") = %d, want 1", ut_esc(s, strlen(s)), r);
    }
}

/* RFC 6455 §8.1: text is checked across fragments, so the state carries
 * across calls: every valid text cut at every byte gives (0 or 1) then 1. */
static void test_utf8_valid_split_everywhere(void)
{
    size_t i;
    size_t k;
    for (i = 0; i < sizeof ut_utf8_valid / sizeof ut_utf8_valid[0]; i++) {
        const char *s = ut_utf8_valid[i];
        size_t n = strlen(s);
        for (k = 0; k <= n; k++) {
            struct utf8_state st;
            char *a = ut_copy(s, k);
            char *b = ut_copy(s + k, n - k);
            int at_boundary = k == n || ((unsigned char)s[k] & 0xC0) != 0x80;
            int r1;
            int r2;
            memset(&st, 0, sizeof st);
            r1 = utf8_validate(&st, (const unsigned char *)a, k);
            r2 = utf8_validate(&st, (const unsigned char *)b, n - k);
            check(r1 == (at_boundary ? 1 : 0) && r2 == 1,
                     "utf8 \"%s\" split at %zu: %d then %d, want %d then 1",
                     ut_esc(s, n), k, r1, r2, at_boundary ? 1 : 0);
            free(a);
            free(b);
        }
    }
}

/* RFC 3629 §4 / RFC 6455 §8.1: one byte at a time works too. */
static void test_utf8_valid_byte_by_byte(void)
{
    const char *s = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d";
    size_t n = strlen(s);
    struct utf8_state st;
    size_t k;
    int ok = 1;
    memset(&st, 0, sizeof st);
    for (k = 0; k < n; k++) {
        unsigned char byte = (unsigned char)s[k];
        int want = (k + 1 == n || ((unsigned char)s[k + 1] & 0xC0) != 0x80) ? 1 : 0;
        int r = utf8_validate(&st, &byte, 1);
        if (r != want) {
            ok = 0;
            check(0, "utf8 byte by byte: byte %zu gives %d, want %d", k, r, want);
            break;
        }
    }
    check(ok, "utf8 byte by byte over \"%s\"", ut_esc(s, n));
}

/* RFC 3629 §3 / §10: overlong forms, surrogates (U+D800-DFFF), code points
 * above U+10FFFF, bytes F5-FF, stray continuation bytes and a sequence cut
 * short by ASCII are all invalid. */
static void test_utf8_invalid_texts(void)
{
    static const char *bad[] = {
        "\xC0\x80", "\xC1\xBF",                 /* overlong 2-byte */
        "\xE0\x80\x80", "\xE0\x9F\xBF",         /* overlong 3-byte */
        "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", /* overlong 4-byte */
        "\xED\xA0\x80", "\xED\xBF\xBF",         /* surrogates U+D800, U+DFFF */
        "\xED\xA0\xBD\xED\xB8\x80",             /* CESU-8 surrogate pair */
        "\xF4\x90\x80\x80",                     /* U+110000 */
        "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF", /* F5-F7 lead bytes */
        "\xF8\x88\x80\x80\x80", "\xFC\x84\x80\x80\x80\x80", /* 5/6-byte forms */
        "\xFE", "\xFF",
        "\x80", "\xBF", "a\x80" "b", "\xC3\xA9\xA9", /* stray continuation */
        "\xE2\x82" "A", "\xC3" "A", "\xF0\x9F\x98" "A", /* truncated then ASCII */
        "\xC3\xC3\xA9",                               /* lead byte instead of continuation */
        /* after runs of ASCII that the validator skips 8 bytes at a time */
        "abcdefgh\xFF", "abcdefg\xFF", "abcdefghijklmnop\x80",
        "abcdefgh\xED\xA0\x80", "0123456789abcdef\xC3" "A",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = ut_utf8(bad[i], strlen(bad[i]));
        check(r == -1, "utf8_validate(\"%s\") = %d, want -1", ut_esc(bad[i], strlen(bad[i])), r);
    }
}

/* RFC 6455 §8.1 ("fail the connection as soon as ... invalid"): the byte at
 * which no continuation can make the text valid already returns -1, while
 * prefixes that can still complete return 0. */
static void test_utf8_fails_fast(void)
{
    static const char *impossible[] = {
        "\xED\xA0", "\xF4\x90", "\xE0\x80", "\xE0\x9F", "\xF0\x80", "\xF0\x8F",
        "\xC0", "\xC1", "\xF5", "\xFF", "\x80", "a\xED\xA0",
    };
    static const char *possible[] = {
        "\xE2\x82", "\xED\x9F", "\xF4\x8F", "\xF0\x90", "\xE0\xA0", "\xF0\x9F\x98", "\xC2", "a\xF4",
    };
    struct utf8_state st;
    unsigned char b;
    int r1;
    int r2;
    size_t i;
    for (i = 0; i < sizeof impossible / sizeof impossible[0]; i++) {
        int r = ut_utf8(impossible[i], strlen(impossible[i]));
        check(r == -1, "utf8 prefix \"%s\" = %d, want -1 at once",
                 ut_esc(impossible[i], strlen(impossible[i])), r);
    }
    for (i = 0; i < sizeof possible / sizeof possible[0]; i++) {
        int r = ut_utf8(possible[i], strlen(possible[i]));
        check(r == 0, "utf8 prefix \"%s\" = %d, want 0 (can still complete)",
                 ut_esc(possible[i], strlen(possible[i])), r);
    }
    /* across calls: "ED" (0), then "A0" (-1) */
    memset(&st, 0, sizeof st);
    b = 0xED;
    r1 = utf8_validate(&st, &b, 1);
    b = 0xA0;
    r2 = utf8_validate(&st, &b, 1);
    check(r1 == 0 && r2 == -1, "utf8 ED | A0 across calls: %d then %d, want 0 then -1", r1, r2);
    /* a complete text followed by a stray continuation in the next call */
    memset(&st, 0, sizeof st);
    r1 = utf8_validate(&st, (const unsigned char *)"\xC3\xA9", 2);
    b = 0xA9;
    r2 = utf8_validate(&st, &b, 1);
    check(r1 == 1 && r2 == -1, "utf8 C3 A9 | A9 across calls: %d then %d, want 1 then -1", r1, r2);
}

/* ======================================================================== */
/* HTTP request heads                                                        */
/* ======================================================================== */

/* The copy the last ut_http() parsed: its slices point into it, so it
 * lives until the next call (or ut_http_release()). */
static char *ut_http_last;

static void ut_http_release(void)
{
    free(ut_http_last);
    ut_http_last = NULL;
}

/* Parses an exact-size copy of s. */
static int ut_http(const char *s, size_t n, struct http_request *req)
{
    ut_http_release();
    ut_http_last = ut_copy(s, n);
    memset(req, 0x5A, sizeof *req);
    return http_parse_request(ut_http_last, n, req);
}

/* -1 -> the error status; 0 -> 0 (need more); a length -> 1. */
static int ut_http_outcome(const char *s)
{
    struct http_request req;
    int r = ut_http(s, strlen(s), &req);
    if (r < 0) {
        return req.error_status;
    }
    return r == 0 ? 0 : 1;
}

static const char ut_get[] =
    "GET /a%20b?x=1 HTTP/1.1\r\n"
    "Host:  example.com \r\n"
    "User-Agent: unit\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

/* RFC 9112 §3 (request line), §5 (field lines, OWS trimmed), RFC 6455 §4.1
 * (the handshake's headers): every field of a full GET. */
static void test_http_parse_valid_get(void)
{
    size_t n = strlen(ut_get);
    char *copy = ut_copy(ut_get, n);
    struct http_request req;
    int r;
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(copy, n, &req);
    check(r == (int)n, "valid GET parses to its length %zu: %d", n, r);
    check(ut_slice_is(req.method, "GET"), "method GET");
    check(ut_slice_is(req.target, "/a%20b?x=1"), "target as sent");
    check(req.minor_version == 1, "HTTP/1.1 minor version 1: %d", req.minor_version);
    check(ut_slice_is(req.host, "example.com"), "Host value OWS-trimmed: \"%s\"",
             req.host.p ? ut_esc(req.host.p, req.host.n) : "(null)");
    check(req.host_count == 1, "host_count 1: %d", req.host_count);
    check(req.connection_keep_alive == 1 && req.connection_upgrade == 1 && req.connection_close == 0,
             "Connection: keep-alive, Upgrade -> keep_alive %d upgrade %d close %d",
             req.connection_keep_alive, req.connection_upgrade, req.connection_close);
    check(req.has_upgrade == 1 && req.upgrade_websocket == 1, "Upgrade: websocket");
    check(ut_slice_is(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ=="), "Sec-WebSocket-Key");
    check(ut_slice_is(req.ws_version, "13"), "Sec-WebSocket-Version");
    check(req.content_length == -1, "no Content-Length -> -1: %lld", req.content_length);
    check(req.has_transfer_encoding == 0, "no Transfer-Encoding");
    free(copy);
}

/* RFC 9112 §2.1 / style: a head may arrive in pieces; every strict prefix is
 * "need more" (0), never an error, and the whole is its length. */
static void test_http_parse_every_prefix(void)
{
    static const char *heads[] = {
        ut_get,
        "HEAD /x HTTP/1.0\n\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    };
    size_t h;
    size_t k;
    for (h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        size_t n = strlen(heads[h]);
        struct http_request req;
        int bad = 0;
        int r;
        for (k = 0; k < n; k++) {
            r = ut_http(heads[h], k, &req);
            if (r != 0) {
                check(0, "prefix of %zu bytes of \"%s\" = %d (status %d), want 0",
                         k, ut_esc(heads[h], n), r, r < 0 ? req.error_status : 0);
                bad = 1;
                break;
            }
        }
        check(!bad, "every strict prefix of head %zu is 0", h);
        r = ut_http(heads[h], n, &req);
        check(r == (int)n, "whole head %zu = %d, want %zu", h, r, n);
    }
}

/* RFC 9112 §9.3.2 (pipelining): the parser returns only the first head's
 * length; the second parses from there. */
static void test_http_parse_pipelined(void)
{
    const char *one = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *two = "GET /2 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
    size_t n1 = strlen(one);
    size_t n2 = strlen(two);
    char *both = malloc(n1 + n2);
    struct http_request req;
    int r;
    memcpy(both, one, n1);
    memcpy(both + n1, two, n2);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(both, n1 + n2, &req);
    check(r == (int)n1 && ut_slice_is(req.target, "/1") && req.connection_close == 0,
             "pipelined: first head %d bytes, want %zu", r, n1);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(both + n1, n2, &req);
    check(r == (int)n2 && ut_slice_is(req.target, "/2") && req.connection_close == 1,
             "pipelined: second head %d bytes, want %zu", r, n2);
    free(both);
}

/* RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator. */
static void test_http_parse_bare_lf(void)
{
    const char *s = "GET /lf HTTP/1.1\nHost: x\nConnection: close\n\n";
    const char *mixed = "GET /lf HTTP/1.1\r\nHost: x\nConnection: close\r\n\n";
    struct http_request req;
    int r = ut_http(s, strlen(s), &req);
    check(r == (int)strlen(s), "bare LF head parses: %d", r);
    r = ut_http(mixed, strlen(mixed), &req);
    check(r == (int)strlen(mixed), "mixed CRLF / LF head parses: %d", r);
}

/* RFC 9112 §3 / §5 and api.md: each malformed head is 400. */
static void test_http_parse_400_rules(void)
{
    static const char *bad[] = {
        /* a bare CR (RFC 9112 §2.2) */
        "GET / HTTP/1.1\rHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\r\n\r\n",
        /* whitespace between name and colon (RFC 9112 §5.1) */
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
        /* obs-fold (RFC 9112 §5.2) */
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\tc\r\n\r\n",
        /* empty, non-token or colon-less header name (RFC 9110 §5.1) */
        "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX(A): v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX@A: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX\"A: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
        /* empty or non-token method (RFC 9112 §3.1) */
        " / HTTP/1.1\r\nHost: x\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n",
        /* a control char in a field value (RFC 9110 §5.5) */
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x01" "c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x1F" "c\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x7F" "c\r\n\r\n",
        /* target not starting with '/' or with a control char / space (RFC 9112 §3.2) */
        "GET a/b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\x01" "b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\x7F" "b HTTP/1.1\r\nHost: x\r\n\r\n",
        /* malformed request line / version (RFC 9112 §2.3, §3) */
        "GET /\r\nHost: x\r\n\r\n",
        "GET / \r\nHost: x\r\n\r\n",
        "GET / http/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1x\r\nHost: x\r\n\r\n",
        "GET / HTTP/11.1\r\nHost: x\r\n\r\n",
        /* two Host headers (RFC 9112 §3.2) */
        "GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n",
        /* Content-Length not all digits, or two different (RFC 9110 §8.6, RFC 9112 §6.3) */
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = ut_http_outcome(bad[i]);
        check(st == 400, "\"%s\" -> %d, want 400", ut_esc(bad[i], strlen(bad[i])), st);
    }
}

/* RFC 9110 §5.5 / §5.6.2: HTAB and obs-text are allowed in values, header
 * names are case-insensitive, any token is a method (405 is the server's). */
static void test_http_parse_lenient_but_valid(void)
{
    static const char *good[] = {
        "GET / HTTP/1.1\r\nhOsT: x\r\nX-A: b\tc\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\xC3\xA9\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost:x\r\n\r\n",
        "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
        "M-SEARCH / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET /a/b.js?q=%20&r HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        int st = ut_http_outcome(good[i]);
        check(st == 1, "\"%s\" -> %d, want a parsed head", ut_esc(good[i], strlen(good[i])), st);
    }
}

/* RFC 9112 §2.3: a well-formed version other than 1.0 / 1.1 is 505. */
static void test_http_parse_505(void)
{
    static const char *v[] = {
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: x\r\n\r\n",
        "GET / HTTP/3.0\r\nHost: x\r\n\r\n",
        "GET / HTTP/0.9\r\nHost: x\r\n\r\n",
    };
    size_t i;
    struct http_request req;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        int st = ut_http_outcome(v[i]);
        check(st == 505, "\"%s\" -> %d, want 505", ut_esc(v[i], strlen(v[i])), st);
    }
    check(ut_http("GET / HTTP/1.0\r\n\r\n", 18, &req) == 18 && req.minor_version == 0,
             "HTTP/1.0 parses with minor_version 0");
}

/* A head of exactly `total` bytes: request line, Host, one long X-Pad
 * header; with_end adds the empty line (counted in total). */
static char *ut_long_head(size_t total, int with_end)
{
    const char *start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const char *end = with_end ? "\r\n\r\n" : "";
    size_t a = strlen(start);
    size_t e = strlen(end);
    char *p = malloc(total);
    memcpy(p, start, a);
    memset(p + a, 'p', total - a - e);
    memcpy(p + total - e, end, e);
    return p;
}

/* spec "HTTP/1.1": the head is at most 8 KiB (HTTP_HEAD_MAX), else 431 --
 * with its end present, and also when no end has come by 8 KiB. */
static void test_http_parse_431(void)
{
    const int max = (int)HTTP_HEAD_MAX;
    struct http_request req;
    char *p;
    int r;
    p = ut_long_head((size_t)max, 1);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(p, (size_t)max, &req);
    check(r == max, "a head of exactly %d bytes parses: %d", max, r);
    free(p);

    p = ut_long_head((size_t)max + 1, 1);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(p, (size_t)max + 1, &req);
    check(r == -1 && req.error_status == 431, "a complete head of %d bytes -> %d/%d, want -1/431",
             max + 1, r, req.error_status);
    free(p);

    p = ut_long_head(20000, 1);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(p, 20000, &req);
    check(r == -1 && req.error_status == 431, "a complete 20000-byte head -> %d/%d, want -1/431",
             r, req.error_status);
    free(p);

    p = ut_long_head((size_t)max - 1, 0);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(p, (size_t)max - 1, &req);
    check(r == 0, "%d bytes with no end yet -> %d, want 0", max - 1, r);
    free(p);

    p = ut_long_head((size_t)max, 0);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(p, (size_t)max, &req);
    check(r == -1 && req.error_status == 431, "%d bytes with no end -> %d/%d, want -1/431",
             max, r, req.error_status);
    free(p);
}

/* RFC 9112 §9.3.2: a short head followed by many pipelined bytes is not 431. */
static void test_http_parse_short_head_then_much_data(void)
{
    const char *head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t h = strlen(head);
    size_t total = h + 3 * (size_t)HTTP_HEAD_MAX;
    char *p = malloc(total);
    struct http_request req;
    int r;
    memcpy(p, head, h);
    memset(p + h, 'G', total - h);
    memset(&req, 0x5A, sizeof req);
    r = http_parse_request(p, total, &req);
    check(r == (int)h, "short head then %zu more bytes -> %d, want %zu", total - h, r, h);
    free(p);
}

static int ut_http_flags(const char *s, struct http_request *req)
{
    return ut_http(s, strlen(s), req) == (int)strlen(s);
}

/* RFC 9110 §7.6.1 (Connection is a comma list of case-insensitive tokens,
 * which several field lines combine into, §5.3) and §7.8 (Upgrade). */
static void test_http_connection_and_upgrade_tokens(void)
{
    struct http_request q;
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\n\r\n", &q)
             && q.connection_keep_alive && q.connection_upgrade && !q.connection_close,
             "Connection: keep-alive, Upgrade");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nconnection: UPGRADE\r\n\r\n", &q)
             && q.connection_upgrade && !q.connection_keep_alive, "connection: UPGRADE");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nConnection:keep-alive,upgrade\r\n\r\n", &q)
             && q.connection_upgrade && q.connection_keep_alive, "Connection:keep-alive,upgrade");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", &q)
             && q.connection_close && !q.connection_upgrade, "Connection: Close");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgraded, closed, x-keep-alive\r\n\r\n", &q)
             && !q.connection_upgrade && !q.connection_close && !q.connection_keep_alive,
             "tokens that only contain upgrade/close/keep-alive do not count");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\r\n", &q)
             && q.connection_upgrade && q.connection_keep_alive, "two Connection field lines combine");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &q)
             && !q.connection_upgrade && !q.connection_close && !q.connection_keep_alive
             && !q.has_upgrade && !q.upgrade_websocket && q.ws_key.p == NULL && q.ws_version.p == NULL,
             "no Connection / Upgrade / Sec-WebSocket-* headers: all flags 0, slices NULL");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\r\n", &q)
             && q.has_upgrade && q.upgrade_websocket, "Upgrade: WebSocket (case-insensitive)");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c, websocket\r\n\r\n", &q)
             && q.has_upgrade && q.upgrade_websocket, "Upgrade: h2c, websocket");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\n", &q)
             && q.has_upgrade && !q.upgrade_websocket, "Upgrade: h2c");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websockets\r\n\r\n", &q)
             && q.has_upgrade && !q.upgrade_websocket, "Upgrade: websockets is not websocket");
    check(ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nSEC-WEBSOCKET-KEY:  abc \r\nsec-websocket-version: 8\r\n\r\n", &q)
             && ut_slice_is(q.ws_key, "abc") && ut_slice_is(q.ws_version, "8"),
             "Sec-WebSocket-* names are case-insensitive, values OWS-trimmed");
    check(ut_http_flags("GET / HTTP/1.0\r\n\r\n", &q) && q.host_count == 0 && q.host.p == NULL,
             "no Host: host_count 0, host NULL");
}

/* RFC 9110 §8.6 Content-Length = 1*DIGIT; identical repeats may be accepted;
 * RFC 9112 §6.1 Transfer-Encoding is flagged. */
static void test_http_content_length(void)
{
    static const struct { const char *field; long long want; } v[] = {
        { "Content-Length: 0", 0 },
        { "content-length: 42", 42 },
        { "Content-Length:  7 ", 7 },
        { "Content-Length: 12345678901", 12345678901LL },
        { "Content-Length: 5\r\nContent-Length: 5", 5 },
        { "X-Other: 1", -1 },
    };
    struct http_request q;
    char head[128];
    size_t i;
    int ok;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n", v[i].field);
        ok = ut_http_flags(head, &q);
        check(ok && q.content_length == v[i].want, "\"%s\" -> parsed %d, content_length %lld, want %lld",
                 ut_esc(v[i].field, strlen(v[i].field)), ok, ok ? q.content_length : 0, v[i].want);
    }
    ok = ut_http_flags("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", &q);
    check(ok && q.has_transfer_encoding == 1 && q.content_length == -1, "Transfer-Encoding flagged");
}

/* ======================================================================== */
/* Paths and query strings                                                   */
/* ======================================================================== */

static long ut_decode(const char *target, size_t out_size, char *out)
{
    char *copy = ut_copy(target, strlen(target));
    long r = http_decode_path(copy, strlen(target), out, out_size);
    free(copy);
    return r;
}

/* RFC 3986 §2.1 (percent-encoding), §3.3-3.5 (path ends at '?' or '#'). */
static void test_decode_path_valid(void)
{
    static const struct { const char *in; const char *out; } v[] = {
        { "/", "/" },
        { "/index.html", "/index.html" },
        { "/a%20b", "/a b" },
        { "/%41%62%63", "/Abc" },
        { "/caf%C3%A9", "/caf\xC3\xA9" },
        { "/a?x=1", "/a" },
        { "/a#frag", "/a" },
        { "/a?x=../..#y", "/a" },
        { "/a%3Fb", "/a?b" },
        { "/js/main.js", "/js/main.js" },
        { "/a..b", "/a..b" },
        { "/..a/b..", "/..a/b.." },
        { "/a/.../b", "/a/.../b" },
        { "/dir/", "/dir/" },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[64];
        long r = ut_decode(v[i].in, sizeof out, out);
        check(r == (long)strlen(v[i].out) && strcmp(out, v[i].out) == 0,
                 "http_decode_path(\"%s\") = %ld \"%s\", want \"%s\"", v[i].in, r,
                 r >= 0 ? ut_esc(out, (size_t)r) : "", ut_esc(v[i].out, strlen(v[i].out)));
    }
}

/* spec "Static files from ROOT": never a byte from outside ROOT -- a ".."
 * segment however written, a NUL, a backslash, a bad escape, no leading '/'. */
static void test_decode_path_rejects_unsafe(void)
{
    static const char *bad[] = {
        "/..", "/../etc/passwd", "/a/../b", "/a/..", "/a/../",
        "/%2e%2e", "/%2E%2E/x", "/.%2E/x", "/%2e./x", "/a/%2e%2e",
        "/a%2F..%2Fb", "/a%2f..", "/..%2Fx", "/a%2F%2E%2E%2Fb",
        "/a%00b", "/%00",
        "/a\\b", "/a%5Cb", "/a%5cb", "/..\\x",
        "/a%", "/a%4", "/a%zz", "/a%g0", "/a%4g", "/%%41",
        "a/b", "", "?x=1", "%2Fa",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64];
        long r = ut_decode(bad[i], sizeof out, out);
        check(r == -1, "http_decode_path(\"%s\") = %ld, want -1", ut_esc(bad[i], strlen(bad[i])), r);
    }
}

/* api.md: the decoded path plus its NUL must fit out_size; target_len is
 * the end of input (nothing after it is read). */
static void test_decode_path_lengths(void)
{
    char out[16];
    char *copy;
    long r;
    r = ut_decode("/abcdef", 8, out);
    check(r == 7 && strcmp(out, "/abcdef") == 0, "7 chars fit in 8: %ld", r);
    r = ut_decode("/abcdefg", 8, out);
    check(r == -1, "8 chars do not fit in 8: %ld", r);
    r = ut_decode("/%41%42%43%44%45%46", 8, out);
    check(r == 7 && strcmp(out, "/ABCDEF") == 0, "decoded length counts, not encoded: %ld", r);
    copy = ut_copy("/abc/../x", 9);
    r = http_decode_path(copy, 4, out, sizeof out);
    check(r == 4 && strcmp(out, "/abc") == 0, "target_len 4 of \"/abc/../x\" -> %ld", r);
    free(copy);
}

static int ut_query(const char *target, const char *name, struct slice *v)
{
    char *copy = ut_copy(target, strlen(target));
    int r;
    v->p = NULL;
    v->n = 12345;
    r = http_query_param(copy, strlen(target), name, v);
    if (r == 1 && v->p != NULL) {
        /* re-point into the caller's string so the slice outlives the copy */
        v->p = target + (v->p - copy);
    }
    free(copy);
    return r;
}

/* RFC 3986 §3.4 (query = name=value pairs split by '&', as URLSearchParams
 * sends them); spec: "Query parameters come in any order". */
static void test_query_param(void)
{
    struct slice v;
    check(ut_query("/socket.io/?EIO=4&transport=websocket", "EIO", &v) == 1 && ut_slice_is(v, "4"), "EIO first");
    check(ut_query("/socket.io/?EIO=4&transport=websocket", "transport", &v) == 1 && ut_slice_is(v, "websocket"),
             "transport last");
    check(ut_query("/socket.io/?transport=websocket&EIO=4", "EIO", &v) == 1 && ut_slice_is(v, "4"), "EIO last");
    check(ut_query("/socket.io/?t=N1&EIO=4&transport=websocket&x=y", "transport", &v) == 1
             && ut_slice_is(v, "websocket"), "transport in the middle");
    check(ut_query("/socket.io/?EIO=4&transport=websocket", "sid", &v) == 0, "missing sid");
    check(ut_query("/socket.io/", "EIO", &v) == 0, "no query at all");
    check(ut_query("/socket.io/?", "EIO", &v) == 0, "empty query");
    check(ut_query("/?a=&b=2", "a", &v) == 1 && v.n == 0, "empty value a=: n %zu", v.n);
    check(ut_query("/?b=2&a=", "a", &v) == 1 && v.n == 0, "empty value at end");
    check(ut_query("/?xEIO=3&EIO=4", "EIO", &v) == 1 && ut_slice_is(v, "4"), "xEIO is not EIO");
    check(ut_query("/?EIOx=3&EIO=4", "EIO", &v) == 1 && ut_slice_is(v, "4"), "EIOx is not EIO");
    check(ut_query("/?xEIO=3", "EIO", &v) == 0, "only xEIO: EIO missing");
    check(ut_query("/?EI=3", "EIO", &v) == 0, "EI is not EIO");
    check(ut_query("/?a=EIO=3&EIO=4", "EIO", &v) == 1 && ut_slice_is(v, "4"), "EIO= inside a value does not count");
    check(ut_query("/EIO=4?x=1", "EIO", &v) == 0, "EIO= in the path does not count");
    check(ut_query("/?EIO=%34", "EIO", &v) == 1 && ut_slice_is(v, "%34"), "value not decoded");
}

/* ---- content types ----------------------------------------------------- */

static int ut_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The type's essence (before ';') is one of the alternatives in want,
 * separated by '|'. */
static int ut_essence_in(const char *type, const char *want)
{
    size_t n = strcspn(type, ";");
    const char *w = want;
    while (*w != '\0') {
        size_t m = strcspn(w, "|");
        if (m == n && strncmp(type, w, n) == 0) {
            return 1;
        }
        w += m;
        if (*w == '|') {
            w++;
        }
    }
    return 0;
}

/* spec "Static files from ROOT": a type for each listed extension; text
 * types carry "; charset=utf-8" (RFC 9110 §8.3.1); image and wasm types
 * carry no charset (WebAssembly streaming needs exactly application/wasm). */
static void test_file_content_types(void)
{
    static const struct { const char *path; const char *essences; } v[] = {
        { "/index.html", "text/html" },
        { "/js/main.js", "text/javascript|application/javascript" },
        { "/m.mjs", "text/javascript|application/javascript" },
        { "/css/main.css", "text/css" },
        { "/a.json", "application/json" },
        { "/a.png", "image/png" },
        { "/a.jpg", "image/jpeg" },
        { "/a.jpeg", "image/jpeg" },
        { "/a.gif", "image/gif" },
        { "/a.svg", "image/svg+xml" },
        { "/favicon.ico", "image/x-icon|image/vnd.microsoft.icon" },
        { "/a.webp", "image/webp" },
        { "/a.wasm", "application/wasm" },
        { "/a.txt", "text/plain" },
        { "/main.js.map", "application/json" },
        { "/UPPER.HTML", "text/html" },
        { "/Mixed.Js", "text/javascript|application/javascript" },
        { "/PHOTO.JPEG", "image/jpeg" },
        { "/x.PnG", "image/png" },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *t = file_content_type(v[i].path);
        int ok = t != NULL && ut_essence_in(t, v[i].essences);
        if (ok && ut_starts_with(t, "text/")) {
            ok = strcmp(t + strcspn(t, ";"), "; charset=utf-8") == 0;
        }
        if (ok && (ut_starts_with(t, "image/png") || ut_starts_with(t, "image/jpeg") ||
                   ut_starts_with(t, "image/gif") || ut_starts_with(t, "image/webp") ||
                   ut_starts_with(t, "application/wasm") || ut_starts_with(t, "image/x-icon") ||
                   ut_starts_with(t, "image/vnd"))) {
            ok = strchr(t, ';') == NULL;
        }
        check(ok, "file_content_type(\"%s\") = \"%s\", want %s", v[i].path, t ? t : "(null)", v[i].essences);
    }
}

/* spec: anything else is application/octet-stream -- the extension is what
 * follows the last '.' of the file name, not a suffix of it. */
static void test_file_content_type_unknown(void)
{
    static const char *v[] = {
        "/a.xyz", "/Makefile", "/README", "/a.html.bak", "/ahtml", "/js", "/a.", "/dir.html/file",
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *t = file_content_type(v[i]);
        check(t != NULL && strcmp(t, "application/octet-stream") == 0,
                 "file_content_type(\"%s\") = \"%s\", want application/octet-stream", v[i], t ? t : "(null)");
    }
}

/* ======================================================================== */
/* WebSocket frames                                                          */
/* ======================================================================== */

static const unsigned char ut_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Writes a client frame header (first byte b0, masked with ut_mask when
 * masked, minimal length form) into out; returns its size. */
static size_t ut_frame_header(unsigned char *out, unsigned b0, int masked, uint64_t len)
{
    size_t h = 0;
    int i;
    unsigned char m = masked ? 0x80 : 0x00;
    out[h++] = (unsigned char)b0;
    if (len < 126) {
        out[h++] = (unsigned char)(m | len);
    } else if (len <= 0xFFFF) {
        out[h++] = (unsigned char)(m | 126);
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    } else {
        out[h++] = (unsigned char)(m | 127);
        for (i = 7; i >= 0; i--) {
            out[h++] = (unsigned char)(len >> (8 * i));
        }
    }
    if (masked) {
        memcpy(out + h, ut_mask, 4);
        h += 4;
    }
    return h;
}

static long ut_ws_parse(const unsigned char *buf, size_t len, size_t max, struct ws_frame *f)
{
    char *copy = ut_copy(buf, len);
    long r;
    memset(f, 0x5A, sizeof *f);
    r = ws_frame_parse((const unsigned char *)copy, len, max, f);
    free(copy);
    return r;
}

/* RFC 6455 §5.2 (the three length forms) and §5.3 (masking): a masked text
 * frame of n bytes is "need more" at every strict prefix, whole at the end,
 * with every field right; the payload unmasks to the text. */
static void ut_ws_cut_everywhere(size_t n)
{
    size_t hmax = 14;
    unsigned char *buf = malloc(hmax + n);
    unsigned char *text = malloc(n > 0 ? n : 1);
    size_t h = ut_frame_header(buf, 0x81, 1, n);
    size_t total = h + n;
    struct ws_frame f;
    size_t i;
    size_t k;
    long r;
    int bad = 0;
    for (i = 0; i < n; i++) {
        text[i] = (unsigned char)('a' + i % 26);
        buf[h + i] = (unsigned char)(text[i] ^ ut_mask[i % 4]);
    }
    for (k = 0; k < total && !bad; k++) {
        if (k <= h + 2 || n <= 127) {
            r = ut_ws_parse(buf, k, 1u << 24, &f);      /* exact copy: ASan-checked */
        } else {
            memset(&f, 0x5A, sizeof f);
            r = ws_frame_parse(buf, k, 1u << 24, &f);
        }
        if (r != 0) {
            check(0, "text frame of %zu: prefix %zu -> %ld (error %d), want 0", n, k, r, f.error);
            bad = 1;
        }
    }
    check(!bad, "text frame of %zu: every strict prefix is 0", n);
    r = ut_ws_parse(buf, total, 1u << 24, &f);
    check(r == (long)total, "text frame of %zu: whole = %ld, want %zu", n, r, total);
    check(f.fin == 1 && f.opcode == 1 && f.masked == 1 && memcmp(f.mask, ut_mask, 4) == 0,
             "text frame of %zu: fin %d opcode %d masked %d", n, f.fin, f.opcode, f.masked);
    check(f.header_len == h && f.payload_len == n, "text frame of %zu: header_len %zu (want %zu) payload_len %zu",
             n, f.header_len, h, f.payload_len);
    ws_unmask(buf + h, n, f.mask);
    check(n == 0 || memcmp(buf + h, text, n) == 0, "text frame of %zu: unmasks to the text", n);
    free(buf);
    free(text);
}

/* RFC 6455 §5.2: 0-125 in the 7-bit field, 126-65535 in 16 bits, 65536 up
 * in 64 bits: the sizes on each side of both switches. */
static void test_ws_frame_sizes_cut_everywhere(void)
{
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536 };
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ut_ws_cut_everywhere(sizes[i]);
    }
}

/* RFC 6455 §5.2 / §5.4: a frame followed by the next one parses as itself;
 * a non-final continuation and control frames parse (message state is the
 * caller's business). */
static void test_ws_frame_kinds(void)
{
    unsigned char buf[64];
    struct ws_frame f;
    size_t h;
    long r;
    h = ut_frame_header(buf, 0x01, 1, 3);            /* text, FIN clear */
    memcpy(buf + h, "abc", 3);
    h += 3;
    h += ut_frame_header(buf + h, 0x80, 1, 2);       /* continuation, FIN set */
    memcpy(buf + h, "de", 2);
    r = ut_ws_parse(buf, h + 2, 1000, &f);
    check(r == 9 && f.fin == 0 && f.opcode == 1 && f.payload_len == 3, "first fragment of two: %ld", r);
    r = ut_ws_parse(buf + 9, 8, 1000, &f);
    check(r == 8 && f.fin == 1 && f.opcode == 0 && f.payload_len == 2, "continuation: %ld", r);
    h = ut_frame_header(buf, 0x89, 1, 125);          /* ping, max control size */
    r = ut_ws_parse(buf, h, 1000, &f);
    check(r == 0, "ping of 125 with no payload yet: %ld", r);
    h = ut_frame_header(buf, 0x88, 1, 2);            /* close 1000 */
    buf[h] = 0x03 ^ ut_mask[0];
    buf[h + 1] = 0xE8 ^ ut_mask[1];
    r = ut_ws_parse(buf, h + 2, 1000, &f);
    check(r == 8 && f.opcode == 8 && f.fin == 1, "close frame: %ld", r);
    h = ut_frame_header(buf, 0x8A, 1, 0);            /* pong, empty */
    r = ut_ws_parse(buf, h, 1000, &f);
    check(r == 6 && f.opcode == 10, "empty pong: %ld", r);
    h = ut_frame_header(buf, 0x82, 1, 0);            /* binary */
    r = ut_ws_parse(buf, h, 1000, &f);
    check(r == 6 && f.opcode == 2, "empty binary: %ld", r);
}

/* RFC 6455 §5.1 (client frames masked), §5.2 (RSV 0, reserved opcodes,
 * 64-bit length's top bit 0), §5.5 (control frames: FIN, <= 125): each bad
 * frame is -1 with 1002 as soon as its header shows it, and with payload. */
static void test_ws_frame_protocol_errors(void)
{
    static const struct { unsigned b0; int masked; uint64_t len; const char *what; } v[] = {
        { 0x81, 0, 5, "unmasked text" },
        { 0x82, 0, 0, "unmasked empty binary" },
        { 0x89, 0, 0, "unmasked ping" },
        { 0xC1, 1, 5, "RSV1" }, { 0xA1, 1, 5, "RSV2" }, { 0x91, 1, 5, "RSV3" },
        { 0x83, 1, 1, "opcode 3" }, { 0x84, 1, 1, "opcode 4" }, { 0x85, 1, 1, "opcode 5" },
        { 0x86, 1, 1, "opcode 6" }, { 0x87, 1, 1, "opcode 7" }, { 0x8B, 1, 1, "opcode 11" },
        { 0x8C, 1, 1, "opcode 12" }, { 0x8D, 1, 1, "opcode 13" }, { 0x8E, 1, 1, "opcode 14" },
        { 0x8F, 1, 1, "opcode 15" }, { 0x03, 1, 1, "opcode 3, FIN clear" },
        { 0x08, 1, 2, "close with FIN clear" }, { 0x09, 1, 0, "ping with FIN clear" },
        { 0x0A, 1, 0, "pong with FIN clear" },
        { 0x89, 1, 126, "ping of 126" }, { 0x88, 1, 126, "close of 126" },
        { 0x8A, 1, 65536, "pong of 65536" },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char buf[14 + 200];
        struct ws_frame f;
        size_t h = ut_frame_header(buf, v[i].b0, v[i].masked, v[i].len);
        size_t with = v[i].len < 200 ? (size_t)v[i].len : 200;
        long r;
        memset(buf + h, 'x', with);
        r = ut_ws_parse(buf, h, (size_t)-1, &f);
        check(r == -1 && f.error == 1002, "%s, header only (%zu bytes): %ld error %d, want -1/1002",
                 v[i].what, h, r, f.error);
        r = ut_ws_parse(buf, h + with, (size_t)-1, &f);
        check(r == -1 && f.error == 1002, "%s, with payload: %ld error %d, want -1/1002", v[i].what, r, f.error);
        if (v[i].len < 126) {
            /* the first two bytes already show every error above */
            r = ut_ws_parse(buf, 2, (size_t)-1, &f);
            check(r == -1 && f.error == 1002, "%s, first 2 bytes: %ld error %d, want -1/1002",
                     v[i].what, r, f.error);
        }
    }
}

/* RFC 6455 §5.2: "the most significant bit MUST be 0" in the 64-bit length. */
static void test_ws_frame_64bit_top_bit(void)
{
    static const unsigned char hdr[14] = { 0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x37, 0xfa, 0x21, 0x3d };
    struct ws_frame f;
    long r = ut_ws_parse(hdr, 14, (size_t)-1, &f);
    check(r == -1 && f.error == 1002, "64-bit length with top bit set: %ld error %d, want -1/1002", r, f.error);
    r = ut_ws_parse(hdr, 10, (size_t)-1, &f);
    check(r == -1 && f.error == 1002, "... before the mask arrives: %ld error %d, want -1/1002", r, f.error);
}

/* RFC 6455 §7.4.1 1009 "message too big": a frame longer than max_payload
 * fails from its header, in each length form; exactly max_payload is fine. */
static void test_ws_frame_too_big(void)
{
    static const struct { uint64_t len; size_t max; } v[] = {
        { 101, 100 }, { 1001, 1000 }, { 65536, 65535 }, { 1000001, 1000000 },
        { (uint64_t)1 << 32, 1u << 24 }, { ((uint64_t)1 << 62), 1u << 24 },
    };
    size_t i;
    unsigned char buf[14];
    struct ws_frame f;
    long r;
    size_t h;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        h = ut_frame_header(buf, 0x82, 1, v[i].len);
        r = ut_ws_parse(buf, h, v[i].max, &f);
        check(r == -1 && f.error == 1009, "frame of %llu with max %zu: %ld error %d, want -1/1009",
                 (unsigned long long)v[i].len, v[i].max, r, f.error);
    }
    h = ut_frame_header(buf, 0x82, 1, 100);
    r = ut_ws_parse(buf, h, 100, &f);
    check(r == 0, "frame of exactly max_payload, payload not here yet: %ld, want 0", r);
    h = ut_frame_header(buf, 0x00, 1, 101);
    r = ut_ws_parse(buf, h, 100, &f);
    check(r == -1 && f.error == 1009, "continuation over max_payload: %ld error %d", r, f.error);
}

/* RFC 6455 §5.3: j = i MOD 4, transformed-octet-i = original-octet-i XOR
 * masking-key-octet-j; §5.7's masked "Hello" example. */
static void test_ws_unmask(void)
{
    unsigned char hello[5] = { 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    unsigned char buf[1 + 1003];
    unsigned char orig[1003];
    size_t n;
    size_t i;
    int ok = 1;
    ws_unmask(hello, 5, ut_mask);
    check(memcmp(hello, "Hello", 5) == 0, "RFC 6455 §5.7 masked Hello unmasks");
    for (n = 0; n <= 1003; n += (n < 20 ? 1 : 491)) {
        for (i = 0; i < n; i++) {
            orig[i] = (unsigned char)(i * 7 + 3);
            buf[1 + i] = (unsigned char)(orig[i] ^ ut_mask[i % 4]);
        }
        ws_unmask(buf + 1, n, ut_mask);          /* at an odd address */
        if (n > 0 && memcmp(buf + 1, orig, n) != 0) {
            ok = 0;
            check(0, "ws_unmask of %zu bytes", n);
        }
        ws_unmask(buf + 1, n, ut_mask);
        ws_unmask(buf + 1, n, ut_mask);
        if (n > 0 && memcmp(buf + 1, orig, n) != 0) {
            ok = 0;
            check(0, "ws_unmask twice is the identity, %zu bytes", n);
        }
    }
    check(ok, "ws_unmask round trips for 0..20, 511, 1002 bytes");
}

/* RFC 6455 §5.2: server frames: FIN set, no mask, "the minimal number of
 * bytes MUST be used to encode the length". */
static void test_ws_frame_header_forms(void)
{
    static const struct { int opcode; size_t len; size_t size; unsigned char bytes[10]; } v[] = {
        { 1, 0, 2, { 0x81, 0x00 } },
        { 1, 125, 2, { 0x81, 0x7D } },
        { 2, 5, 2, { 0x82, 0x05 } },
        { 8, 2, 2, { 0x88, 0x02 } },
        { 9, 0, 2, { 0x89, 0x00 } },
        { 10, 125, 2, { 0x8A, 0x7D } },
        { 1, 126, 4, { 0x81, 0x7E, 0x00, 0x7E } },
        { 1, 127, 4, { 0x81, 0x7E, 0x00, 0x7F } },
        { 2, 65535, 4, { 0x82, 0x7E, 0xFF, 0xFF } },
        { 1, 65536, 10, { 0x81, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 } },
        { 2, 16777216, 10, { 0x82, 0x7F, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00 } },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char out[10];
        size_t r;
        memset(out, 0xEE, sizeof out);
        r = ws_frame_header(out, v[i].opcode, v[i].len);
        check(r == v[i].size && memcmp(out, v[i].bytes, v[i].size) == 0,
                 "ws_frame_header(op %d, %zu) = %zu bytes [%s], want %zu", v[i].opcode, v[i].len, r,
                 ut_esc(out, r <= 10 ? r : 10), v[i].size);
    }
    if (sizeof(size_t) > 4) {
        unsigned char out[10];
        const unsigned char want[10] = { 0x82, 0x7F, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05 };
        size_t big = (size_t)0x01020304 * 256 + 5;
        size_t r = ws_frame_header(out, 2, big);
        check(r == 10 && memcmp(out, want, 10) == 0, "ws_frame_header of 0x0102030405 bytes");
    }
}

/* RFC 6455 §7.4.1-§7.4.2 as the spec lists them: 1000-1003, 1007-1014 and
 * 3000-4999 may be sent; 1004-1006 and 1015 are reserved / never on the
 * wire; below 1000, 1016-2999 and 5000 up are invalid. */
static void test_ws_close_codes(void)
{
    static const struct { unsigned code; int valid; } v[] = {
        { 0, 0 }, { 999, 0 }, { 1000, 1 }, { 1001, 1 }, { 1002, 1 }, { 1003, 1 },
        { 1004, 0 }, { 1005, 0 }, { 1006, 0 }, { 1007, 1 }, { 1008, 1 }, { 1009, 1 },
        { 1010, 1 }, { 1011, 1 }, { 1012, 1 }, { 1013, 1 }, { 1014, 1 }, { 1015, 0 },
        { 1016, 0 }, { 2000, 0 }, { 2999, 0 }, { 3000, 1 }, { 3999, 1 }, { 4000, 1 },
        { 4999, 1 }, { 5000, 0 }, { 65535, 0 }, { 70000, 0 },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        int r = ws_close_code_name(v[i].code) != NULL;     /* a name: the code may be sent */
        check(r == v[i].valid, "ws_close_code_name(%u) %s NULL, want %s", v[i].code,
              r ? "is not" : "is", v[i].valid ? "a name" : "NULL");
    }
}

/* ======================================================================== */
/* JSON                                                                      */
/* ======================================================================== */

/* json_value_end from the start: the bytes of the one value at s, or -1
 * where it says 0 (not a value: no value is 0 bytes long). */
static long ut_skip(const char *s, size_t n)
{
    char *copy = ut_copy(s, n);
    size_t end = json_value_end(copy, n, 0, 0);
    free(copy);
    return end == 0 ? -1 : (long)end;
}

/* RFC 8259 §3-§7: one value of each type, leading whitespace counted,
 * trailing whitespace and what follows the value not. */
static void test_json_skip_valid(void)
{
    static const struct { const char *in; long len; } v[] = {
        { "\"abc\"", 5 }, { "  \"abc\"  ", 7 }, { "\"\"", 2 },
        { "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"", 39 },
        { "\"caf\xC3\xA9\"", 7 },
        { "0", 1 }, { "-0", 2 }, { "123", 3 }, { "-1.5e+10", 8 }, { "1E-5", 4 }, { "0.25", 4 },
        { "1e5", 3 }, { " \t\r\n42", 6 },
        { "true", 4 }, { "false", 5 }, { "null", 4 }, { " null ", 5 },
        { "[]", 2 }, { "[ ]", 3 }, { " [ 1 , \"a\" , {} , [ ] ]", 23 },
        { "{}", 2 }, { "{ }", 3 }, { "{\"a\":1,\"b\":[true,null]}", 23 },
        { " { \"a\" : { \"b\" : \"c\" } } ", 24 },
        { "1,2", 1 }, { "\"a\"]", 3 }, { "[]x", 2 }, { "{}, {}", 2 }, { "true]", 4 },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        long r = ut_skip(v[i].in, strlen(v[i].in));
        check(r == v[i].len, "ut_skip(%s) = %ld, want %ld", ut_esc(v[i].in, strlen(v[i].in)), r, v[i].len);
    }
}

/* RFC 8259: no trailing commas (§4, §5), strings only in double quotes
 * with the listed escapes and no raw control chars (§7), object keys are
 * strings (§4), numbers without leading zeros, with digits after '.' and
 * 'e' (§6), literals in lower case (§3). */
static void test_json_skip_invalid(void)
{
    static const char *bad[] = {
        "", "   ", "[1,]", "{\"a\":1,}", "[,1]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{\"a\"}",
        "'a'", "['a']", "{a:1}", "{1:2}", "[", "{", "]", "}", "[1", "{\"a\":1", "\"abc",
        "\"\\x\"", "\"\\q\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\U00e9\"", "\"\\",
        "\"a\nb\"", "\"a\x01\"", "\"\t\"", "\"\x1F\"",
        "01", "-01", "[01]", "1.", "[1.]", "-", "[-]", ".5", "+1", "1e", "1e+", "1.e5", "-a",
        "tru", "nul", "fals", "True", "NULL", "nan", "NaN", "Infinity", "undefined",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long r = ut_skip(bad[i], strlen(bad[i]));
        check(r == -1, "ut_skip(%s) = %ld, want -1", ut_esc(bad[i], strlen(bad[i])), r);
    }
}

/* api.md JSON_DEPTH_MAX = 32 (RFC 8259 §9 lets a parser limit nesting):
 * 32 nested arrays or objects are fine, 33 are bad, 100000 do not crash. */
static void test_json_nesting_limit(void)
{
    static char buf[400000];
    size_t depth;
    size_t n;
    size_t i;
    long r;
    for (depth = 32; depth <= 33; depth++) {
        n = 0;
        for (i = 0; i < depth; i++) {
            buf[n++] = '[';
        }
        for (i = 0; i < depth; i++) {
            buf[n++] = ']';
        }
        r = ut_skip(buf, n);
        check(r == (depth <= 32 ? (long)n : -1), "%zu nested arrays: %ld", depth, r);
        n = 0;
        for (i = 0; i < depth; i++) {
            memcpy(buf + n, "{\"a\":", 5);
            n += 5;
        }
        buf[n++] = '1';
        for (i = 0; i < depth; i++) {
            buf[n++] = '}';
        }
        r = ut_skip(buf, n);
        check(r == (depth <= 32 ? (long)n : -1), "%zu nested objects: %ld", depth, r);
    }
    memset(buf, '[', 100000);
    r = ut_skip(buf, 100000);
    check(r == -1, "100000 open brackets: %ld", r);
}

static long ut_read_string(const char *s, size_t n, char *out, size_t out_size, size_t *out_len)
{
    char *copy = ut_copy(s, n);
    long r;
    *out_len = 99999;
    r = json_read_string(copy, n, out, out_size, out_len);
    free(copy);
    return r;
}

/* RFC 8259 §7: every two-char escape and \uXXXX, with UTF-16 surrogate
 * pairs for characters beyond the BMP, decoded to UTF-8 (RFC 3629). */
static void test_json_read_string_escapes(void)
{
    static const struct { const char *in; const char *out; size_t out_len; } v[] = {
        { "\"abc\"", "abc", 3 },
        { "\"\"", "", 0 },
        { "\"\\\"\"", "\"", 1 },
        { "\"\\\\\"", "\\", 1 },
        { "\"\\/\"", "/", 1 },
        { "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5 },
        { "\"\\u0041\"", "A", 1 },
        { "\"\\u00e9\"", "\xC3\xA9", 2 },
        { "\"\\u00E9\"", "\xC3\xA9", 2 },
        { "\"\\u07ff\"", "\xDF\xBF", 2 },
        { "\"\\u20ac\"", "\xE2\x82\xAC", 3 },
        { "\"\\uFFFF\"", "\xEF\xBF\xBF", 3 },
        { "\"\\ud83d\\ude00\"", "\xF0\x9F\x98\x80", 4 },
        { "\"\\uD83D\\uDE00\"", "\xF0\x9F\x98\x80", 4 },
        { "\"\\udbff\\udfff\"", "\xF4\x8F\xBF\xBF", 4 },
        { "\"a\\\"b\\\\c\\u20acd\"", "a\"b\\c\xE2\x82\xAC" "d", 9 },
        { "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"", "caf\xC3\xA9 \xF0\x9F\x98\x80", 10 },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[64];
        size_t len;
        long r;
        memset(out, '#', sizeof out);
        r = ut_read_string(v[i].in, strlen(v[i].in), out, sizeof out, &len);
        check(r == (long)strlen(v[i].in) && len == v[i].out_len && memcmp(out, v[i].out, len) == 0
                 && out[len] == '\0',
                 "json_read_string(%s) = %ld, len %zu \"%s\"", ut_esc(v[i].in, strlen(v[i].in)), r,
                 len, len < 64 ? ut_esc(out, len) : "?");
    }
}

/* RFC 8259 §7-§8.2: the string ends at its closing quote; malformed strings
 * and lone surrogates (not Unicode scalar values) are -1; a result that
 * does not fit out_size - 1 is -2. */
static void test_json_read_string_errors(void)
{
    static const char *bad[] = {
        "abc", "", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12z4\"", "\"\\", "\"a\nb\"", "\"\x01\"",
        "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", "\"\\ude00\\ud83d\"",
        "\"\\ud83d\\ud83d\"", "\"\\ud83d\\", "\"\\ude00\\ude00\"", "\"\\udfff\\udc00\"",
    };
    char out[64];
    size_t len;
    long r;
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = ut_read_string(bad[i], strlen(bad[i]), out, sizeof out, &len);
        check(r == -1, "json_read_string(%s) = %ld, want -1", ut_esc(bad[i], strlen(bad[i])), r);
    }
    r = ut_read_string("\"ab\"cd", 6, out, sizeof out, &len);
    check(r == 4 && len == 2 && strcmp(out, "ab") == 0, "stops at the closing quote: %ld", r);
    r = ut_read_string("\"abcdef\"", 8, out, 7, &len);
    check(r == 8 && len == 6 && strcmp(out, "abcdef") == 0, "6 chars fit out_size 7: %ld", r);
    r = ut_read_string("\"abcdef\"", 8, out, 6, &len);
    check(r == -2, "6 chars into out_size 6: %ld, want -2", r);
    r = ut_read_string("\"\\u20ac\"", 8, out, 4, &len);
    check(r == 8 && len == 3, "euro (3 bytes) fits out_size 4: %ld", r);
    r = ut_read_string("\"\\u20ac\"", 8, out, 3, &len);
    check(r == -2, "euro (3 bytes) into out_size 3: %ld, want -2", r);
    r = ut_read_string("\"\\ud83d\\ude00\"", 14, out, 4, &len);
    check(r == -2, "4-byte char into out_size 4: %ld, want -2", r);
}

static size_t ut_write(const char *s, size_t n, char *out, size_t out_size)
{
    char *copy = ut_copy(s, n);
    size_t r = json_write_string(out, out_size, copy, n);
    free(copy);
    return r;
}

/* RFC 8259 §7: '"', '\' and U+0000-U+001F must be escaped; other UTF-8
 * passes as is.  What is written reads back unchanged. */
static void test_json_write_string(void)
{
    char out[256];
    char back[256];
    size_t len;
    size_t w;
    long r;
    int c;
    int ok;
    w = ut_write("a\"b\\c", 5, out, sizeof out);
    check(w == 9 && strcmp(out, "\"a\\\"b\\\\c\"") == 0, "quote and backslash: %s", ut_esc(out, w));
    w = ut_write("\n", 1, out, sizeof out);
    check((w == 4 && strcmp(out, "\"\\n\"") == 0) || (w == 8 && (strcmp(out, "\"\\u000a\"") == 0 ||
                                                                    strcmp(out, "\"\\u000A\"") == 0)),
             "newline escaped: %s", ut_esc(out, w));
    w = ut_write("\x01", 1, out, sizeof out);
    check(w == 8 && strcmp(out, "\"\\u0001\"") == 0, "U+0001 as \\u0001: %s", ut_esc(out, w));
    w = ut_write("a\0b", 3, out, sizeof out);
    check(w == 10 && strcmp(out, "\"a\\u0000b\"") == 0, "NUL as \\u0000: %s", ut_esc(out, w));
    w = ut_write("caf\xC3\xA9 \xF0\x9F\x98\x80", 10, out, sizeof out);
    check(w == 12 && memcmp(out, "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"", 12) == 0, "UTF-8 unchanged: %s",
             ut_esc(out, w));
    w = ut_write("", 0, out, sizeof out);
    check(w == 2 && strcmp(out, "\"\"") == 0, "empty string");
    /* every control char, plus quote and backslash, round-trips */
    ok = 1;
    for (c = 1; c < 0x20 && ok; c++) {
        char in[4];
        size_t i;
        in[0] = 'x';
        in[1] = (char)c;
        in[2] = c % 2 ? '"' : '\\';
        in[3] = 'y';
        w = ut_write(in, 4, out, sizeof out);
        for (i = 0; i < w; i++) {
            if ((unsigned char)out[i] < 0x20) {
                ok = 0;
            }
        }
        r = ut_read_string(out, w, back, sizeof back, &len);
        ok = ok && w > 0 && r == (long)w && len == 4 && memcmp(back, in, 4) == 0;
        check(ok, "control char 0x%02X: written %s, read back %ld", c, ut_esc(out, w), r);
    }
}

/* api.md: 0 when the quoted string plus its NUL does not fit out_size. */
static void test_json_write_string_fits(void)
{
    char *out = malloc(5);
    size_t w = json_write_string(out, 5, "ab", 2);
    check(w == 4 && strcmp(out, "\"ab\"") == 0, "\"ab\" fits in 5: %zu", w);
    free(out);
    out = malloc(4);
    w = json_write_string(out, 4, "ab", 2);
    check(w == 0, "\"ab\" does not fit in 4: %zu", w);
    free(out);
    out = malloc(8);
    w = json_write_string(out, 8, "\x01", 1);
    check(w == 0, "\"\\u0001\" (8 chars + NUL) does not fit in 8: %zu", w);
    free(out);
}

/* ======================================================================== */
/* Engine.IO / Socket.IO packets                                             */
/* ======================================================================== */

static int ut_packet(const char *s, struct sio_packet *pk, char **keep)
{
    size_t n = strlen(s);
    int r;
    *keep = ut_copy(s, n);
    memset(pk, 0x5A, sizeof *pk);
    r = sio_parse_packet(*keep, n, pk);
    return r;
}

static int ut_data_is(struct slice s, const char *want)
{
    if (want[0] == '\0') {
        return s.n == 0;
    }
    return ut_slice_is(s, want);
}

/* Engine.IO v4 protocol "Packet encoding": one type digit 0-6 then data;
 * Socket.IO v5 protocol "Packet format": type digit, optional "/nsp,",
 * optional ack id digits, then the JSON payload. */
static void test_sio_parse_packet_valid(void)
{
    static const struct { const char *in; int eio; int sio; const char *nsp; long ack; const char *data; } v[] = {
        { "0", 0, -1, NULL, -1, "" },
        { "1", 1, -1, NULL, -1, "" },
        { "2", 2, -1, NULL, -1, "" },
        { "3", 3, -1, NULL, -1, "" },
        { "3probe", 3, -1, NULL, -1, "probe" },
        { "5", 5, -1, NULL, -1, "" },
        { "6", 6, -1, NULL, -1, "" },
        { "40", 4, 0, "/", -1, "" },
        { "40{\"token\":\"x\"}", 4, 0, "/", -1, "{\"token\":\"x\"}" },
        { "40/admin,", 4, 0, "/admin", -1, "" },
        { "40/admin", 4, 0, "/admin", -1, "" },
        { "40/admin,{\"a\":1}", 4, 0, "/admin", -1, "{\"a\":1}" },
        { "41", 4, 1, "/", -1, "" },
        { "42[\"a\"]", 4, 2, "/", -1, "[\"a\"]" },
        { "4212[\"a\"]", 4, 2, "/", 12, "[\"a\"]" },
        { "420[\"a\"]", 4, 2, "/", 0, "[\"a\"]" },
        { "42/chat,5[\"a\"]", 4, 2, "/chat", 5, "[\"a\"]" },
        { "42123456789[\"a\"]", 4, 2, "/", 123456789, "[\"a\"]" },
        { "4312[]", 4, 3, "/", 12, "[]" },
        { "4312", 4, 3, "/", 12, "" },
        { "42/chat,5", 4, 2, "/chat", 5, "" },
        { "44{\"message\":\"x\"}", 4, 4, "/", -1, "{\"message\":\"x\"}" },
        { "46", 4, 6, "/", -1, "" },
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct sio_packet pk;
        char *keep;
        int r = ut_packet(v[i].in, &pk, &keep);
        int ok = r == 0 && pk.eio_type == v[i].eio && pk.sio_type == v[i].sio && ut_data_is(pk.data, v[i].data);
        if (ok && v[i].eio == 4) {
            ok = ut_slice_is(pk.nsp, v[i].nsp) && pk.ack_id == v[i].ack;
        }
        check(ok, "sio_parse_packet(%s) = %d: eio %d sio %d nsp \"%s\" ack %ld data \"%s\"", v[i].in, r,
                 pk.eio_type, pk.sio_type, r == 0 && pk.eio_type == 4 && pk.nsp.p ? ut_esc(pk.nsp.p, pk.nsp.n) : "",
                 pk.ack_id, r == 0 && pk.data.p ? ut_esc(pk.data.p, pk.data.n) : "");
        free(keep);
    }
}

/* Same protocols: an empty message, an unknown Engine.IO type (7-9, a
 * letter), a bare "4", an unknown Socket.IO type, an ack id over 9 digits. */
static void test_sio_parse_packet_malformed(void)
{
    static const char *bad[] = {
        "", "7", "9", "a", "{", "4", "47", "48", "49", "4a", "4abc", "4{}", "4/",
        "421234567890[\"a\"]", "4212345678901[\"a\"]",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sio_packet pk;
        char *keep;
        int r = ut_packet(bad[i], &pk, &keep);
        check(r == -1, "sio_parse_packet(\"%s\") = %d, want -1", bad[i], r);
        free(keep);
    }
}

/* api.md: parsers are pure functions of (buffer, length): bytes after n,
 * here digits, must not change the result (an ack id ends where the packet
 * ends). */
static void test_parsers_stop_at_length(void)
{
    const char *packet = "4312999";
    const char *event = "42/chat,5777";
    const char *query = "/?EIO=4&transport=websocket";
    struct sio_packet pk;
    struct slice v;
    char *buf;
    int r;
    buf = ut_copy(packet, strlen(packet));
    memset(&pk, 0x5A, sizeof pk);
    r = sio_parse_packet(buf, 4, &pk);
    check(r == 0 && pk.ack_id == 12 && pk.data.n == 0,
             "sio_parse_packet(\"4312\" followed by \"999\", n 4): %d ack %ld, want ack 12", r, pk.ack_id);
    free(buf);
    buf = ut_copy(event, strlen(event));
    memset(&pk, 0x5A, sizeof pk);
    r = sio_parse_packet(buf, 9, &pk);
    check(r == 0 && pk.ack_id == 5 && pk.data.n == 0,
             "sio_parse_packet(\"42/chat,5\" followed by \"777\", n 9): %d ack %ld, want ack 5", r, pk.ack_id);
    free(buf);
    buf = ut_copy(query, strlen(query));
    v.p = NULL;
    r = http_query_param(buf, strlen(query) - 6, "transport", &v);
    check(r == 1 && v.p != NULL && v.n == 3 && memcmp(v.p, "web", 3) == 0,
             "http_query_param stops at target_len: %d n %zu", r, v.n);
    free(buf);
    check(ut_skip("123456", 3) == 3, "ut_skip(\"123456\", 3) = 3");
    check(ut_skip("[1,2]", 4) == -1, "ut_skip(\"[1,2]\", 4) = -1");
    check(ut_skip("truex", 3) == -1, "ut_skip(\"truex\", 3) = -1");
    check(ut_skip("\"abc\"", 4) == -1, "ut_skip of an unterminated string = -1");
}

static int ut_event(const char *s, struct sio_event *ev, char **keep)
{
    size_t n = strlen(s);
    *keep = ut_copy(s, n);
    memset(ev, 0x5A, sizeof *ev);
    return sio_parse_event(*keep, n, ev);
}

/* Socket.IO v5 EVENT payload: ["name", arg...]; the codelab's own events. */
static void test_sio_parse_event_codelab(void)
{
    struct sio_event ev;
    char *k;
    int r;
    r = ut_event("[\"create or join\",\"foo\"]", &ev, &k);
    check(r == 0 && strcmp(ev.name, "create or join") == 0 && ev.name_fits == 1 && ev.argc == 1
             && ut_slice_is(ev.arg[0], "\"foo\"") && ut_slice_is(ev.rest, ",\"foo\"]"),
             "create or join: %d name \"%s\" argc %d rest \"%s\"", r, r == 0 ? ev.name : "", ev.argc,
             r == 0 && ev.rest.p ? ut_esc(ev.rest.p, ev.rest.n) : "");
    free(k);
    r = ut_event("[\"message\",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}]", &ev, &k);
    check(r == 0 && strcmp(ev.name, "message") == 0 && ev.argc == 1
             && ut_slice_is(ev.arg[0], "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}")
             && ut_slice_is(ev.rest, ",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}]"),
             "message with an offer: %d argc %d", r, ev.argc);
    free(k);
    r = ut_event("[\"ipaddr\"]", &ev, &k);
    check(r == 0 && strcmp(ev.name, "ipaddr") == 0 && ev.argc == 0 && ut_slice_is(ev.rest, "]"),
             "ipaddr: %d argc %d", r, ev.argc);
    free(k);
    r = ut_event("[\"message\",\"got user media\"]", &ev, &k);
    check(r == 0 && ev.argc == 1 && ut_slice_is(ev.arg[0], "\"got user media\""), "message string");
    free(k);
}

/* RFC 8259 §2 (whitespace around structural characters) and §7 (escapes in
 * the name); more arguments than SIO_ARGS_MAX are still counted. */
static void test_sio_parse_event_forms(void)
{
    const char *ws = " [ \"create or join\" , \"foo\" ] ";
    struct sio_event ev;
    char name65[80];
    char name64[80];
    char *k;
    int r;
    r = ut_event(ws, &ev, &k);
    check(r == 0 && strcmp(ev.name, "create or join") == 0 && ev.argc == 1
             && ut_slice_trimmed_is(ev.arg[0], "\"foo\"") && ev.rest.p == k + 19
             && ut_slice_trimmed_is(ev.rest, ", \"foo\" ]"),
             "with whitespace: %d argc %d rest \"%s\"", r, ev.argc,
             r == 0 && ev.rest.p ? ut_esc(ev.rest.p, ev.rest.n) : "");
    free(k);
    r = ut_event("[\"cr\\u0065ate or join\",\"x\"]", &ev, &k);
    check(r == 0 && strcmp(ev.name, "create or join") == 0 && ev.name_fits == 1, "\\u escape in the name");
    free(k);
    r = ut_event("[\"a\\\"b\\\\c\"]", &ev, &k);
    check(r == 0 && strcmp(ev.name, "a\"b\\c") == 0 && ev.argc == 0, "quote and backslash in the name");
    free(k);
    r = ut_event("[\"m\",1,\"two\",[3],{\"4\":4},null,false]", &ev, &k);
    check(r == 0 && ev.argc == 6 && ut_slice_is(ev.arg[0], "1") && ut_slice_is(ev.arg[1], "\"two\"")
             && ut_slice_is(ev.arg[2], "[3]") && ut_slice_is(ev.arg[3], "{\"4\":4}"),
             "six arguments, the first four sliced: %d argc %d", r, ev.argc);
    free(k);
    memset(name64, 'n', 64);
    name64[64] = '\0';
    memset(name65, 'n', 65);
    name65[65] = '\0';
    {
        char buf[100];
        snprintf(buf, sizeof buf, "[\"%s\"]", name64);
        r = ut_event(buf, &ev, &k);
        check(r == 0 && ev.name_fits == 1 && strcmp(ev.name, name64) == 0, "a 64-byte name fits");
        free(k);
        snprintf(buf, sizeof buf, "[\"%s\",1]", name65);
        r = ut_event(buf, &ev, &k);
        check(r == 0 && ev.name_fits == 0 && ev.argc == 1, "a 65-byte name: name_fits %d", ev.name_fits);
        free(k);
    }
}

/* api.md: not valid JSON, not an array, empty, or a first element that is
 * not a string -> -1 (the spec's "42{}" and empty-array cases). */
static void test_sio_parse_event_malformed(void)
{
    static const char *bad[] = {
        "{}", "[]", "[ ]", "[1]", "[null]", "[[\"a\"]]", "[\"a\",]", "[\"a\"", "\"a\"", "",
        "[\"a\" \"b\"]", "[\"a\",1,]", "['a']", "[\"a\\x\"]", "[\"a\",{]",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sio_event ev;
        char *k;
        int r = ut_event(bad[i], &ev, &k);
        check(r == -1, "sio_parse_event(%s) = %d, want -1", ut_esc(bad[i], strlen(bad[i])), r);
        free(k);
    }
}

/* ======================================================================== */

/* ---- issue 8: a send that drops a client leaves the server consistent ----
 *
 * Spec "Nothing is freed under a running handler".  These build a server
 * state by hand (no listening socket): each client is one end of a
 * socketpair whose other end is never read.  A client "stopped reading"
 * when its queued output is made larger than OUT_MAX; the next send to it
 * drops it.  After the handler, the end of the loop's turn runs
 * (clients_flush_queued, clients_reap, rooms_reap) and the invariants are
 * checked.
 * Each case runs in a child process, so a crash (the first version's
 * use-after-free) counts as one failure and the suite goes on. */

#include <sys/wait.h>

static int ut_peers[64];
static int ut_peer_count;

static void ut_server_init(void)
{
    memset(&server, 0, sizeof server);
    if (server_grow() < 0)  /* the arrays, as server_start makes them */
        exit(2);
    server.pfds[0].fd = -1;
    server.count = 1;
    server.hot = 1;     /* the listener's slot, as server_start sets it */
    server.listen_fd = -1;
    server.random_fd = open("/dev/urandom", O_RDONLY);
    server.ping_interval = DEFAULT_PING_INTERVAL_MS;
    server.ping_timeout = DEFAULT_PING_TIMEOUT_MS;
    server.fd_limit = 1000000;
    server.now = now_ms();
    server.next_timer = server.now + 60000;
    server.root = "/nonexistent-signal-root";
    strcpy(server.root_real, "/nonexistent-signal-root");
    server.root_real_len = strlen(server.root_real);
}

/* A client on one end of a socketpair, CONNECTed to Socket.IO (sio_id set)
 * when sio is 1, a plain HTTP connection otherwise. */
static struct client *ut_client(int sio)
{
    int sv[2];
    struct client *c;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || set_nonblocking(sv[0]) != 0 ||
        set_nonblocking(sv[1]) != 0) {
        exit(2);
    }
    c = client_new(sv[0]);
    if (c == NULL) {
        exit(2);
    }
    if (ut_peer_count < 64) {
        ut_peers[ut_peer_count++] = sv[1];
    }
    if (sio) {
        c->state = CONN_WS_SIO;
        id_generate(c->sid);
        id_generate(c->sio_id);
    }
    return c;
}

/* Queued output of exactly `n` bytes, as if the client had not read them. */
static void ut_fill_out(struct client *c, size_t n)
{
    char *junk = calloc(1, n);
    if (junk == NULL) {
        exit(2);
    }
    buffer_free(&c->out);
    if (buffer_append(&c->out, junk, n) != 0) {
        exit(2);
    }
    free(junk);
}

/* One Engine.IO message from c, as if its frame had just been read. */
static void ut_message(struct client *c, const char *text)
{
    size_t n = strlen(text);
    char *copy = ut_copy(text, n);
    eio_on_message(c, copy, n);
    free(copy);
}

static void ut_create_or_join(struct client *c, const char *room)
{
    char json[128];
    struct sio_event ev;
    snprintf(json, sizeof json, "[\"create or join\",\"%s\"]", room);
    if (sio_parse_event(json, strlen(json), &ev) != 0) {
        exit(2);
    }
    room_create_or_join(c, &ev);
}

static void ut_turn_end(void)
{
    server.now = now_ms();
    clients_flush_queued();
    clients_reap();
    rooms_reap();
}

static int ut_is_live_client(const struct client *c)
{
    size_t i;
    for (i = 1; i < server.count; i++) {
        if (server.clients[i] == c) {
            return c->state != CONN_DEAD;
        }
    }
    return 0;
}

/* The invariants at the end of a turn, for the rooms named in `names`
 * (NULL-terminated), which must be every room there is. */
static void ut_check_consistent(const char *what, const char *const *names)
{
    size_t i;
    size_t rooms = 0;
    int k;
    for (i = 1; i < server.count; i++) {
        struct client *c = server.clients[i];
        check(c->state != CONN_DEAD, "%s: no dead client is left after the turn (slot %lu)", what, (unsigned long)i);
        if (c->room != NULL) {
            struct room *r = room_find(c->room->name);
            int listed = 0;
            check(r == c->room, "%s: client %lu's room \"%s\" is a live room", what, c->number, c->room->name);
            if (r == c->room) {
                for (k = 0; k < r->count; k++) {
                    listed += r->members[k] == c;
                }
            }
            check(listed == 1, "%s: client %lu's room lists it once (%d)", what, c->number, listed);
        }
    }
    for (; *names != NULL; names++) {
        struct room *r = room_find(*names);
        if (r == NULL) {
            continue;
        }
        rooms++;
        check(r->count >= 1 && r->count <= ROOM_SIZE, "%s: room %s holds 1 or 2 (%d)", what, *names, r->count);
        check(strcmp(r->name, *names) == 0, "%s: room %s has its name", what, *names);
        for (k = 0; k < r->count && k < ROOM_SIZE; k++) {
            check(ut_is_live_client(r->members[k]), "%s: room %s lists only live clients (member %d)", what, *names, k);
            if (ut_is_live_client(r->members[k])) {
                check(r->members[k]->room == r, "%s: room %s's member %d points back to it", what, *names, k);
            }
        }
    }
    check(server.room_count == rooms, "%s: server.room_count %lu = %lu rooms found", what,
          (unsigned long)server.room_count, (unsigned long)rooms);
}

static int ut_room_has(const char *name, const struct client *c)
{
    struct room *r = room_find(name);
    int k;
    for (k = 0; r != NULL && k < r->count; k++) {
        if (r->members[k] == c) {
            return 1;
        }
    }
    return 0;
}

/* Runs fn in a child; its check counts come back through a pipe.  A child
 * that dies (a sanitizer report, a crash) is one failure. */
static void ut_forked(void (*fn)(void), const char *name)
{
    int p[2];
    pid_t pid;
    int counts[2] = {-1, -1};
    int status = 0;
    fflush(stdout);
    if (pipe(p) != 0) {
        exit(2);
    }
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        t_passed = 0;
        t_failed = 0;
        fn();
        fflush(stdout);
        counts[0] = t_passed;
        counts[1] = t_failed;
        if (write(p[1], counts, sizeof counts) != (ssize_t)sizeof counts) {
            _exit(3);
        }
        _exit(0);
    }
    close(p[1]);
    if (read(p[0], counts, sizeof counts) != (ssize_t)sizeof counts) {
        counts[0] = -1;
    }
    close(p[0]);
    waitpid(pid, &status, 0);
    if (counts[0] < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        check(0, "%s: the case ran to its end (%s %d)", name, WIFSIGNALED(status) ? "signal" : "exit status",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (counts[0] < 0) {
            return;
        }
    }
    t_passed += counts[0];
    t_failed += counts[1];
}

/* A creates "foo" and stops reading; C's create or join sends A `join`,
 * which drops A.  The first version freed the room under room_join. */
static void ut_case_join_drops_first(void)
{
    static const char *const names[] = {"foo", NULL};
    struct client *a;
    struct client *c;
    struct client *d;
    ut_server_init();
    a = ut_client(1);
    c = ut_client(1);
    d = ut_client(1);
    ut_create_or_join(a, "foo");
    ut_turn_end();
    ut_fill_out(a, OUT_MAX + 1);
    ut_create_or_join(c, "foo");
    ut_turn_end();
    check(!ut_is_live_client(a), "join drops first: A, over OUT_MAX, is dropped");
    ut_check_consistent("join drops first", names);
    check(c->room != NULL && room_find("foo") == c->room && ut_room_has("foo", c),
          "join drops first: C is in room foo");
    ut_create_or_join(d, "foo");
    ut_turn_end();
    check(ut_room_has("foo", c) && ut_room_has("foo", d), "join drops first: D joins C in foo");
    ut_check_consistent("join drops first, then D", names);
    client_kill(c, "test");
    client_kill(d, "test");
    ut_turn_end();
    check(room_find("foo") == NULL && server.room_count == 0, "join drops first: the last one out frees the room");
}

/* The first member takes `join` but is dropped by `ready`. */
static void ut_case_ready_drops_first(void)
{
    static const char *const names[] = {"r5", NULL};
    struct client *a;
    struct client *c;
    ut_server_init();
    a = ut_client(1);
    c = ut_client(1);
    ut_create_or_join(a, "r5");
    ut_turn_end();
    ut_fill_out(a, OUT_MAX - 4);
    ut_create_or_join(c, "r5");
    ut_turn_end();
    check(!ut_is_live_client(a), "ready drops first: A is dropped");
    check(ut_room_has("r5", c), "ready drops first: C stays in r5");
    ut_check_consistent("ready drops first", names);
}

/* The client that asks is itself over OUT_MAX: its own `log` drops it
 * inside room_create_or_join.  It must not end up in a room, new or old. */
static void ut_case_joiner_dropped_by_own_log(void)
{
    static const char *const names[] = {"bar", "baz", NULL};
    struct client *a;
    struct client *c;
    struct client *e;
    struct client *f;
    ut_server_init();
    a = ut_client(1);
    c = ut_client(1);
    e = ut_client(1);
    f = ut_client(1);
    ut_create_or_join(a, "bar");
    ut_turn_end();
    ut_fill_out(c, OUT_MAX + 1);
    ut_create_or_join(c, "bar");     /* would join A */
    ut_fill_out(e, OUT_MAX + 1);
    ut_create_or_join(e, "baz");     /* would create baz */
    ut_turn_end();
    check(!ut_is_live_client(c) && !ut_is_live_client(e), "own log: both askers are dropped");
    ut_check_consistent("own log", names);
    check(room_find("baz") == NULL, "own log: no room is left for a dropped creator");
    /* The next client to join bar meets only A (first version: ASan saw
     * ws_send on the freed C). */
    ut_create_or_join(f, "bar");
    ut_turn_end();
    check(ut_room_has("bar", a) && ut_room_has("bar", f), "own log: F joins A in bar");
    ut_check_consistent("own log, then F", names);
}

/* `42N[...]`: the ack 43N[] is queued before the handler runs; a client
 * dropped by its ack must not be handled into a room. */
static void ut_case_ack(void)
{
    static const char *const names[] = {"qux", "q2", NULL};
    struct client *c;
    struct client *d;
    unsigned char buf[256];
    ssize_t n;
    ut_server_init();
    c = ut_client(1);
    d = ut_client(1);
    ut_fill_out(c, OUT_MAX + 1);
    ut_message(c, "420[\"create or join\",\"qux\"]");
    ut_turn_end();
    check(!ut_is_live_client(c), "ack: a client dropped by its ack is gone");
    check(room_find("qux") == NULL, "ack: and made no room");
    ut_check_consistent("ack", names);
    ut_message(d, "421[\"create or join\",\"q2\"]");
    ut_turn_end();
    n = read(ut_peers[1], buf, sizeof buf - 1);
    check(n >= 7 && buf[0] == 0x81 && buf[1] == 5 && memcmp(buf + 2, "431[]", 5) == 0,
          "ack: 431[] is the first frame, before the handler's output (got %s)",
          n > 0 ? ut_esc(buf, (size_t)n) : "nothing");
    check(ut_room_has("q2", d), "ack: then the handler ran (D created q2)");
    ut_check_consistent("ack, healthy client", names);
}

/* A relays to a room-mate over the limit: the mate is dropped, A stays. */
static void ut_case_relay_drops_mate(void)
{
    static const char *const names[] = {"r4", NULL};
    struct client *a;
    struct client *b;
    ut_server_init();
    a = ut_client(1);
    b = ut_client(1);
    ut_create_or_join(a, "r4");
    ut_create_or_join(b, "r4");
    ut_turn_end();
    ut_fill_out(b, OUT_MAX + 1);
    ut_message(a, "42[\"message\",\"hi\"]");
    ut_message(a, "42[\"message\",\"again\"]");
    ut_turn_end();
    check(!ut_is_live_client(b), "relay: B is dropped");
    check(ut_room_has("r4", a), "relay: A stays in r4");
    ut_check_consistent("relay", names);
}

/* A client killed earlier in the turn, with part of a head in and its head
 * deadline gone: the timers leave it alone (no "answering 408" for a
 * client that is already closed). */
static void ut_case_timers_skip_dead(void)
{
    struct client *c;
    char said[512] = "";
    FILE *err = tmpfile();
    long long due;
    size_t n;
    ut_server_init();
    c = ut_client(0);
    if (err == NULL || buffer_append(&c->in, "GET / HT", 8) != 0) {
        exit(2);
    }
    c->deadline = server.now - 1;
    client_kill(c, "killed by a handler");
    server.verbose = 1;
    fflush(stderr);
    dup2(fileno(err), 2);
    due = client_check_timers(c, server.now);
    fflush(stderr);
    rewind(err);
    n = fread(said, 1, sizeof said - 1, err);
    said[n] = '\0';
    check(due == 0, "dead client: no next deadline (got %lld)", due);
    check(strstr(said, "408") == NULL, "dead client: no 408 for it (trace: %s)", said);
    check(buffer_used(&c->out) == 0, "dead client: nothing queued for it");
    ut_turn_end();
}

static void test_rooms_consistent_when_a_send_drops_a_client(void)
{
    ut_forked(ut_case_join_drops_first, "join drops first");
    ut_forked(ut_case_ready_drops_first, "ready drops first");
    ut_forked(ut_case_joiner_dropped_by_own_log, "own log");
    ut_forked(ut_case_ack, "ack");
    ut_forked(ut_case_relay_drops_mate, "relay");
    ut_forked(ut_case_timers_skip_dead, "timers skip the dead");
}

/* ---- issue 8: cost that does not grow with the server -------------------
 *
 * Spec "Cost per byte and per event does not grow with the server".  Not
 * speed assertions: the same work is timed with a small and a large
 * server (or head) and only the ratio is checked, generously, with the
 * minimum of several runs. */

static double ut_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ut_devnull = -1;

/* A client writing to /dev/null, CONNECTed, in its own room. */
static void ut_background_client(int i)
{
    struct client *c = client_new(ut_devnull);
    char name[32];
    if (c == NULL) {
        exit(2);
    }
    c->state = CONN_WS_SIO;
    id_generate(c->sid);
    id_generate(c->sio_id);
    snprintf(name, sizeof name, "bg-%d", i);
    ut_create_or_join(c, name);
    clients_flush_queued();
}

/* Seconds for `rounds` of: CONNECT (a new socket id), create or join a
 * fresh room, DISCONNECT (the room goes); best of 7. */
static double ut_join_round_cost(struct client *x, int rounds)
{
    double best = 1e9;
    static int seq;
    int rep;
    for (rep = 0; rep < 7; rep++) {
        double t0 = ut_seconds();
        double t;
        int i;
        for (i = 0; i < rounds; i++) {
            char msg[96];
            snprintf(msg, sizeof msg, "42[\"create or join\",\"fresh-%d\"]", seq++);
            ut_message(x, "40");
            ut_message(x, msg);
            ut_message(x, "41");
        }
        t = ut_seconds() - t0;
        ut_turn_end();
        best = t < best ? t : best;
    }
    return best;
}

static double ut_room_find_cost(int rounds)
{
    double best = 1e9;
    int rep;
    for (rep = 0; rep < 7; rep++) {
        double t0 = ut_seconds();
        double t;
        int i;
        size_t found = 0;
        for (i = 0; i < rounds; i++) {
            char name[32];
            snprintf(name, sizeof name, "missing-%d", i);
            found += room_find(name) != NULL;
        }
        t = ut_seconds() - t0;
        check(found == 0, "cost: no room named missing-*");
        best = t < best ? t : best;
    }
    return best;
}

static void ut_case_join_cost(void)
{
    struct client *x;
    double small_join;
    double big_join;
    double small_find;
    double big_find;
    int i;
    ut_server_init();
    ut_devnull = open("/dev/null", O_WRONLY);
    x = ut_client(1);
    x->sio_id[0] = '\0';
    for (i = 0; i < 10; i++) {
        ut_background_client(i);
    }
    small_join = ut_join_round_cost(x, 300);
    small_find = ut_room_find_cost(3000);
    for (i = 10; i < 10000; i++) {
        ut_background_client(i);
    }
    check(server.room_count == 10000, "cost: 10,000 rooms held by 10,000 clients (%lu)", (unsigned long)server.room_count);
    big_join = ut_join_round_cost(x, 300);
    big_find = ut_room_find_cost(3000);
    printf("# cost: connect+join+leave %.2f us with 10 rooms, %.2f us with 10,000 (x%.1f)\n",
           small_join / 300 * 1e6, big_join / 300 * 1e6, big_join / small_join);
    printf("# cost: room_find (a miss) %.3f us with 10 rooms, %.3f us with 10,000 (x%.1f)\n",
           small_find / 3000 * 1e6, big_find / 3000 * 1e6, big_find / small_find);
    check(big_join < small_join * 10, "cost: joining with 10,000 rooms and clients costs < 10x an empty server's (x%.1f)",
          big_join / small_join);
    check(big_find < small_find * 10, "cost: room_find with 10,000 rooms costs < 10x with 10 (x%.1f)",
          big_find / small_find);
}

/* Seconds to feed a head of `len` bytes one byte at a time, as a client
 * writing one byte per write() would; best of 7. */
static double ut_head_cost(size_t len)
{
    char *head = malloc(len + 1);
    const char *start = "GET /no-such-file HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    size_t k = strlen(start);
    double best = 1e9;
    int rep;
    if (head == NULL) {
        exit(2);
    }
    memcpy(head, start, k);
    memset(head + k, 'a', len - k - 4);
    memcpy(head + len - 4, "\r\n\r\n", 5);
    for (rep = 0; rep < 7; rep++) {
        struct client *c = ut_client(0);
        double t0 = ut_seconds();
        double t;
        size_t i;
        for (i = 0; i < len && c->state == CONN_HTTP && !client_has_output(c); i++) {
            if (buffer_append(&c->in, head + i, 1) != 0) {
                exit(2);
            }
            http_on_input(c);
        }
        t = ut_seconds() - t0;
        check(i == len && buffer_used(&c->in) == 0, "head cost: the %lu-byte head is parsed at its last byte (at %lu)",
              (unsigned long)len, (unsigned long)i);
        client_kill(c, "test");
        ut_turn_end();
        best = t < best ? t : best;
    }
    free(head);
    return best;
}

static void ut_case_head_cost(void)
{
    double small;
    double big;
    ut_server_init();
    small = ut_head_cost(1024);
    big = ut_head_cost(8 * 1024 - 8);
    printf("# cost: a head fed one byte at a time: 1 KiB %.3f ms, 8 KiB %.3f ms (x%.1f; linear 8, quadratic 64)\n",
           small * 1e3, big * 1e3, big / small);
    check(big < small * 24, "cost: an 8 KiB head one byte at a time costs < 24x a 1 KiB one (x%.1f)", big / small);
}

static void test_cost_does_not_grow(void)
{
    ut_forked(ut_case_join_cost, "join cost");
    ut_forked(ut_case_head_cost, "head cost");
}

int main(void)
{
    test_sha1_published_vectors();
    test_sha1_padding_boundaries();
    test_sha1_million_a();
    test_base64_encode_rfc4648_vectors();
    test_base64_reference_decoder();
    test_base64_round_trip_all_bytes();
    test_base64_is_16_bytes();
    test_ws_accept_key_rfc6455_sample();

    test_utf8_valid_texts();
    test_utf8_valid_split_everywhere();
    test_utf8_valid_byte_by_byte();
    test_utf8_invalid_texts();
    test_utf8_fails_fast();

    test_http_parse_valid_get();
    test_http_parse_every_prefix();
    test_http_parse_pipelined();
    test_http_parse_bare_lf();
    test_http_parse_400_rules();
    test_http_parse_lenient_but_valid();
    test_http_parse_505();
    test_http_parse_431();
    test_http_parse_short_head_then_much_data();
    test_http_connection_and_upgrade_tokens();
    test_http_content_length();

    test_decode_path_valid();
    test_decode_path_rejects_unsafe();
    test_decode_path_lengths();
    test_query_param();
    test_file_content_types();
    test_file_content_type_unknown();

    test_ws_frame_sizes_cut_everywhere();
    test_ws_frame_kinds();
    test_ws_frame_protocol_errors();
    test_ws_frame_64bit_top_bit();
    test_ws_frame_too_big();
    test_ws_unmask();
    test_ws_frame_header_forms();
    test_ws_close_codes();

    test_json_skip_valid();
    test_json_skip_invalid();
    test_json_nesting_limit();
    test_json_read_string_escapes();
    test_json_read_string_errors();
    test_json_write_string();
    test_json_write_string_fits();

    test_sio_parse_packet_valid();
    test_sio_parse_packet_malformed();
    test_parsers_stop_at_length();
    test_sio_parse_event_codelab();
    test_sio_parse_event_forms();
    test_sio_parse_event_malformed();

    test_rooms_consistent_when_a_send_drops_a_client();
    test_cost_does_not_grow();

    ut_http_release();
    return test_summary();
}
