/* Unit tests for protocol/buf.c and protocol/codec.c.
 *
 * Every decoder input lives in a heap block of exactly its own length, so
 * AddressSanitizer or valgrind reports any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "frame.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OK(expr) assert_int_equal((expr), 0)

/* ---- helpers ---------------------------------------------------------- */

/* An exactly-sized heap copy (NULL for an empty input). */
static uint8_t *exact(const void *p, size_t n)
{
        uint8_t *c;

        if (n == 0)
                return NULL;
        c = malloc(n);
        assert_non_null(c);
        memcpy(c, p, n);
        return c;
}

static int validate_exact(const void *p, size_t n, const struct ex_limits *lim)
{
        uint8_t *c = exact(p, n);
        int rc = ex_validate(c, n, lim);

        free(c);
        return rc;
}

/* A reader over an exact copy of b; the copy is freed by dec_close. */
struct dec {
        uint8_t *copy;
        struct ex_reader r;
        struct ex_item it;
};

static void dec_open(struct dec *d, const struct ex_buf *b,
                     const struct ex_limits *lim)
{
        d->copy = exact(b->data, b->len);
        ex_reader_init(&d->r, d->copy, b->len, lim);
}

static void dec_close(struct dec *d)
{
        free(d->copy);
        d->copy = NULL;
}

/* Read one item and check its tag. */
static void next(struct dec *d, uint8_t tag)
{
        assert_int_equal(ex_read(&d->r, &d->it), 0);
        assert_int_equal(d->it.tag, tag);
}

static void next_count(struct dec *d, uint8_t tag, uint32_t count)
{
        next(d, tag);
        assert_int_equal(d->it.v.count, count);
}

static void next_blob(struct dec *d, uint8_t tag, const void *p, size_t n)
{
        next(d, tag);
        assert_int_equal(d->it.v.s.n, n);
        if (n)
                assert_memory_equal(d->it.v.s.p, p, n);
}

/* The value is complete and nothing trails; then close. */
static void dec_done(struct dec *d)
{
        assert_int_equal(ex_reader_finish(&d->r), 0);
        assert_int_equal(ex_read(&d->r, &d->it), -EBADMSG);
        dec_close(d);
}

/* ---- buf -------------------------------------------------------------- */

static void test_buf(void **state)
{
        struct ex_buf b;
        static const uint8_t x[5000];

        (void)state;
        ex_buf_init(&b, 1000);
        OK(ex_buf_put(&b, "abcdefghij", 10));
        assert_int_equal(b.cap, 256); /* first allocation */
        OK(ex_buf_put(&b, x, 300));
        assert_int_equal(b.len, 310);
        assert_int_equal(b.cap, 512); /* doubled */
        assert_memory_equal(b.data, "abcdefghij", 10);
        /* The capacity is clamped to the ceiling, never beyond it. */
        OK(ex_buf_reserve(&b, 690));
        assert_int_equal(b.cap, 1000);
        assert_int_equal(ex_buf_reserve(&b, 691), -EMSGSIZE);
        assert_int_equal(ex_buf_put(&b, x, 691), -EMSGSIZE);
        assert_int_equal(ex_buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
        assert_int_equal(b.len, 310);
        ex_buf_free(&b);
        assert_null(b.data);
        assert_int_equal(b.len + b.cap, 0);
        assert_int_equal(b.max, 1000);

        /* No ceiling: len + extra must not wrap around SIZE_MAX. */
        ex_buf_init(&b, 0);
        OK(ex_buf_put(&b, x, sizeof(x)));
        assert_int_equal(ex_buf_reserve(&b, SIZE_MAX - 4999), -EMSGSIZE);
        assert_int_equal(b.len, 5000);

        /* Trim: only down to `keep`, and never below len. */
        ex_buf_trim(&b, 100);
        assert_true(b.cap >= 5000);
        ex_buf_reset(&b);
        ex_buf_trim(&b, 100);
        assert_int_equal(b.cap, 100);
        OK(ex_buf_put(&b, "hi", 2));
        assert_memory_equal(b.data, "hi", 2);
        ex_buf_reset(&b);
        ex_buf_trim(&b, 0);
        assert_null(b.data);
        assert_int_equal(b.cap, 0);
        ex_buf_free(&b);
}

/* ---- round trips ------------------------------------------------------ */

/* Big int i of the round trip: sizes 1..8192 bytes, odd ones negative. */
static const uint32_t big_sizes[] = {1, 1, 2, 9, 17, 100, 8192, 8192};

static void fill_bigint(uint8_t *le, size_t i)
{
        uint32_t n = big_sizes[i];

        for (uint32_t k = 0; k < n; k++)
                le[k] = (uint8_t)(k * 37 + i);
        /* The top byte carries the sign. */
        le[n - 1] = i % 2 ? 0x80 | le[n - 1] : 0x7f & le[n - 1];
}

/* Every scalar kind in one list, decoded back in order. */
static void test_roundtrip_scalars(void **state)
{
        static const int64_t ints[] = {0, 1, -1, INT64_MIN, INT64_MAX,
                                       0x0102030405060708ll};
        const double fs[] = {0.0, -0.0, 1.5, -2.25e300, INFINITY, -INFINITY,
                             NAN, 5e-324};
        const uint32_t count = 5 + ARRAY_SIZE(ints) + 2 * ARRAY_SIZE(fs) +
                               ARRAY_SIZE(big_sizes);
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;
        uint8_t le[8192];

        (void)state;
        OK(ex_put_container(&b, EX_TAG_LIST, count));
        OK(ex_put_none(&b));
        OK(ex_put_bool(&b, false));
        OK(ex_put_bool(&b, true));
        OK(ex_put_handle(&b, EX_TAG_HANDLE, UINT64_MAX));
        OK(ex_put_handle(&b, EX_TAG_BACKREF, 42));
        for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
                OK(ex_put_int(&b, ints[i]));
        for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
                OK(ex_put_float(&b, fs[i]));
                OK(ex_put_complex(&b, fs[i], -fs[i]));
        }
        assert_int_equal(b.len, 5 + 3 + 2 * 9 + ARRAY_SIZE(ints) * 9 +
                                        ARRAY_SIZE(fs) * (9 + 17));
        for (size_t i = 0; i < ARRAY_SIZE(big_sizes); i++) {
                fill_bigint(le, i);
                OK(ex_put_bigint(&b, le, big_sizes[i]));
        }
        assert_int_equal(ex_put_bigint(&b, le, 0), -EINVAL);

        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_LIST, count);
        next(&d, EX_TAG_NONE);
        next(&d, EX_TAG_FALSE);
        next(&d, EX_TAG_TRUE);
        next(&d, EX_TAG_HANDLE);
        assert_true(d.it.v.handle == UINT64_MAX);
        next(&d, EX_TAG_BACKREF);
        assert_true(d.it.v.handle == 42);
        for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
                next(&d, EX_TAG_INT);
                assert_true(d.it.v.i == ints[i]);
        }
        for (size_t i = 0; i < ARRAY_SIZE(fs); i++) {
                double neg = -fs[i];

                /* Bit-exact: keeps -0.0 apart from 0.0, and NaN a NaN. */
                next(&d, EX_TAG_FLOAT);
                assert_memory_equal(&d.it.v.f, &fs[i], 8);
                next(&d, EX_TAG_COMPLEX);
                assert_memory_equal(&d.it.v.c.real, &fs[i], 8);
                assert_memory_equal(&d.it.v.c.imag, &neg, 8);
        }
        for (size_t i = 0; i < ARRAY_SIZE(big_sizes); i++) {
                fill_bigint(le, i);
                next_blob(&d, EX_TAG_BIGINT, le, big_sizes[i]);
        }
        dec_done(&d);

        /* Little-endian on the wire, whatever the host. */
        ex_buf_reset(&b);
        OK(ex_put_int(&b, 0x0102030405060708ll));
        assert_int_equal(b.data[1], 0x08);
        assert_int_equal(b.data[8], 0x01);
        ex_buf_free(&b);
}

static void test_roundtrip_blobs(void **state)
{
        /* 1, 2, 3 and 4 byte sequences: a, é, €, 😀 */
        static const char utf8[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
        /* Bytes carry anything, including invalid UTF-8 and NULs. */
        static const uint8_t raw[] = {0, 0xff, 0x80, 0xc0, 0xed, 0xa0, 0x80};
        static const uint8_t tags[] = {EX_TAG_BYTES, EX_TAG_BYTEARRAY};
        static const uint8_t pk[] = {0x80, 0x04, 0x4e, 0x2e};
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;

        (void)state;
        OK(ex_put_container(&b, EX_TAG_TUPLE, 7));
        OK(ex_put_str(&b, utf8, sizeof(utf8) - 1));
        OK(ex_put_str(&b, "", 0));
        for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
                OK(ex_put_blob(&b, tags[i], raw, sizeof(raw)));
                OK(ex_put_blob(&b, tags[i], NULL, 0));
        }
        OK(ex_put_blob(&b, EX_TAG_PICKLE, pk, sizeof(pk)));
        /* Pickle: refused by default (consuming nothing), then allowed. */
        for (int allow = 0; allow < 2; allow++) {
                lim.allow_pickle = allow;
                dec_open(&d, &b, &lim);
                next_count(&d, EX_TAG_TUPLE, 7);
                next_blob(&d, EX_TAG_STR, utf8, sizeof(utf8) - 1);
                next_blob(&d, EX_TAG_STR, "", 0);
                for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
                        next_blob(&d, tags[i], raw, sizeof(raw));
                        next_blob(&d, tags[i], NULL, 0);
                }
                if (allow) {
                        next_blob(&d, EX_TAG_PICKLE, pk, sizeof(pk));
                        dec_done(&d);
                        continue;
                }
                assert_int_equal(ex_read(&d.r, &d.it), -EPERM);
                assert_int_equal(ex_reader_remaining(&d.r), 9);
                assert_int_equal(ex_reader_finish(&d.r), -EBADMSG);
                assert_int_equal(validate_exact(b.data, b.len, &lim), -EPERM);
                dec_close(&d);
        }
        ex_buf_free(&b);
}

/* {"k": [None, (1, {2.5}), frozenset(), [], (), set(), b"x"], "": {}} */
static void encode_nested(struct ex_buf *b)
{
        OK(ex_put_container(b, EX_TAG_DICT, 2));
        OK(ex_put_str(b, "k", 1));
        OK(ex_put_container(b, EX_TAG_LIST, 7));
        OK(ex_put_none(b));
        OK(ex_put_container(b, EX_TAG_TUPLE, 2));
        OK(ex_put_int(b, 1));
        OK(ex_put_container(b, EX_TAG_SET, 1));
        OK(ex_put_float(b, 2.5));
        OK(ex_put_container(b, EX_TAG_FROZENSET, 0));
        OK(ex_put_container(b, EX_TAG_LIST, 0));
        OK(ex_put_container(b, EX_TAG_TUPLE, 0));
        OK(ex_put_container(b, EX_TAG_SET, 0));
        OK(ex_put_blob(b, EX_TAG_BYTES, "x", 1));
        OK(ex_put_str(b, "", 0));
        OK(ex_put_container(b, EX_TAG_DICT, 0));
}

static void test_roundtrip_containers(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;

        (void)state;
        encode_nested(&b);
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_DICT, 2);
        assert_int_equal(d.r.depth, 1);
        next_blob(&d, EX_TAG_STR, "k", 1);
        next_count(&d, EX_TAG_LIST, 7);
        assert_int_equal(d.r.depth, 2);
        next(&d, EX_TAG_NONE);
        next_count(&d, EX_TAG_TUPLE, 2);
        next(&d, EX_TAG_INT);
        assert_int_equal(d.it.v.i, 1);
        next_count(&d, EX_TAG_SET, 1);
        assert_int_equal(d.r.depth, 4);
        next(&d, EX_TAG_FLOAT);
        assert_true(d.it.v.f == 2.5);
        assert_int_equal(d.r.depth, 2); /* set and tuple both closed */
        /* Empty containers open no level. */
        next_count(&d, EX_TAG_FROZENSET, 0);
        next_count(&d, EX_TAG_LIST, 0);
        next_count(&d, EX_TAG_TUPLE, 0);
        next_count(&d, EX_TAG_SET, 0);
        assert_int_equal(d.r.depth, 2);
        assert_int_equal(ex_reader_finish(&d.r), -EBADMSG); /* unfinished */
        next_blob(&d, EX_TAG_BYTES, "x", 1);
        assert_int_equal(d.r.depth, 1);
        next_blob(&d, EX_TAG_STR, "", 0);
        next_count(&d, EX_TAG_DICT, 0);
        assert_int_equal(d.r.depth, 0);
        assert_int_equal(d.r.items, 15);
        dec_done(&d);
        ex_buf_free(&b);
}

static void test_encoder_errors(void **state)
{
        struct ex_buf b = {0};
        uint8_t small[4] = {0};

        (void)state;
        assert_int_equal(ex_put_container(&b, EX_TAG_STR, 1), -EINVAL);
        assert_int_equal(ex_put_container(&b, EX_TAG_HANDLE, 1), -EINVAL);
        assert_int_equal(ex_put_blob(&b, EX_TAG_LIST, "a", 1), -EINVAL);
        assert_int_equal(ex_put_blob(&b, EX_TAG_INT, "a", 1), -EINVAL);
        assert_int_equal(ex_put_handle(&b, EX_TAG_INT, 1), -EINVAL);
        assert_int_equal(ex_put_handle(&b, EX_TAG_PICKLE, 1), -EINVAL);
        /* Too long for a u32 length: refused before touching the bytes. */
        assert_int_equal(ex_put_blob(&b, EX_TAG_BYTES, small,
                                     (size_t)UINT32_MAX + 1),
                         -E2BIG);
        assert_int_equal(b.len, 0);

        /* Ceiling: a blob that does not fit leaves nothing half-written. */
        ex_buf_init(&b, 8);
        assert_int_equal(ex_put_blob(&b, EX_TAG_BYTES, small, 4), -EMSGSIZE);
        assert_int_equal(b.len, 0);
        OK(ex_put_blob(&b, EX_TAG_BYTES, small, 3));
        assert_int_equal(b.len, 8);
        assert_int_equal(ex_put_none(&b), -EMSGSIZE);
        assert_int_equal(b.len, 8);
        ex_buf_free(&b);
}

/* ---- limits ----------------------------------------------------------- */

/* `levels` nested one-item lists around None (or around an empty list). */
static void encode_deep(struct ex_buf *b, uint32_t levels, bool empty_leaf)
{
        ex_buf_reset(b);
        for (uint32_t i = 0; i < levels; i++)
                OK(ex_put_container(b, EX_TAG_LIST, 1));
        OK(empty_leaf ? ex_put_container(b, EX_TAG_LIST, 0) : ex_put_none(b));
}

static int deep(uint32_t levels, bool empty_leaf, uint32_t max_depth)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        int rc;

        lim.max_depth = max_depth;
        encode_deep(&b, levels, empty_leaf);
        rc = validate_exact(b.data, b.len, &lim);
        ex_buf_free(&b);
        return rc;
}

static void test_depth(void **state)
{
        (void)state;
        assert_int_equal(deep(100, false, 100), 0);
        assert_int_equal(deep(100, true, 100), 0); /* empty does not nest */
        assert_int_equal(deep(101, false, 100), -ELOOP);
        assert_int_equal(deep(3, false, 3), 0);
        assert_int_equal(deep(4, false, 3), -ELOOP);
        /* Depth 0 admits scalars and empty containers only. */
        assert_int_equal(deep(0, false, 0), 0);
        assert_int_equal(deep(0, true, 0), 0);
        assert_int_equal(deep(1, false, 0), -ELOOP);
        /* A limit above the hard maximum is clamped to it. */
        assert_int_equal(deep(EX_DEPTH_HARD_MAX, false, 100000), 0);
        assert_int_equal(deep(EX_DEPTH_HARD_MAX + 1, false, 100000), -ELOOP);
}

static void test_max_items(void **state)
{
        /* [[True, False], None]: five items, counting both headers. */
        static const uint8_t in[] = {EX_TAG_LIST, 2, 0, 0, 0,
                                     EX_TAG_LIST, 2, 0, 0, 0,
                                     EX_TAG_TRUE, EX_TAG_FALSE, EX_TAG_NONE};
        struct ex_limits lim = ex_limits_default();

        (void)state;
        for (lim.max_items = 0; lim.max_items < 7; lim.max_items++)
                assert_int_equal(validate_exact(in, sizeof(in), &lim),
                                 lim.max_items >= 5 ? 0 : -E2BIG);
}

/* A tuple holding the nested value and one of every other kind. */
static void encode_all_kinds(struct ex_buf *b)
{
        static const uint8_t big[] = {1, 2, 3, 0xff};

        OK(ex_put_container(b, EX_TAG_TUPLE, 9));
        encode_nested(b);
        OK(ex_put_bool(b, true));
        OK(ex_put_bigint(b, big, sizeof(big)));
        OK(ex_put_complex(b, 1, 2));
        OK(ex_put_str(b, "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
        OK(ex_put_blob(b, EX_TAG_BYTEARRAY, "ab", 2));
        OK(ex_put_blob(b, EX_TAG_PICKLE, "p", 1));
        OK(ex_put_handle(b, EX_TAG_HANDLE, 7));
        OK(ex_put_handle(b, EX_TAG_BACKREF, 8));
}

static void test_truncated_every_prefix(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};

        (void)state;
        lim.allow_pickle = true;
        encode_all_kinds(&b);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        for (size_t n = 0; n < b.len; n++)
                assert_int_equal(validate_exact(b.data, n, &lim), -EBADMSG);
        ex_buf_free(&b);
}

static void test_unknown_tags(void **state)
{
        static const uint8_t bad[] = {0x00, 0x0b, 0x0f, 0x15, 0x1f,
                                      0x22, 0x2f, 0x31, 0x80, 0xff};
        struct ex_limits lim = ex_limits_default();
        uint8_t in[6] = {EX_TAG_LIST, 1, 0, 0, 0, EX_TAG_NONE};

        (void)state;
        lim.allow_pickle = true;
        assert_int_equal(validate_exact(in, sizeof(in), &lim), 0);
        for (size_t i = 0; i < sizeof(bad); i++) {
                in[5] = bad[i]; /* inside a list, and on its own */
                assert_int_equal(validate_exact(in, 6, &lim), -EBADMSG);
                assert_int_equal(validate_exact(&bad[i], 1, &lim), -EBADMSG);
        }
}

/* tag, u32 n, then `have` bytes of EX_TAG_NONE (a valid item, and valid
 * UTF-8), validated under the tight limits or the defaults. */
struct len_case {
        uint8_t tag;
        uint32_t n, have;
        bool tight;
        int want;
};

static void test_lengths_and_counts(void **state)
{
        static const struct len_case cases[] = {
                /* Blobs: the cap first, then the bytes left. */
                {EX_TAG_STR, 16, 16, true, 0},
                {EX_TAG_STR, 17, 17, true, -E2BIG},
                {EX_TAG_STR, UINT32_MAX, 0, true, -E2BIG},
                {EX_TAG_STR, 16, 15, true, -EBADMSG},
                {EX_TAG_BYTES, 17, 17, true, -E2BIG},
                {EX_TAG_BYTES, 16, 15, true, -EBADMSG},
                {EX_TAG_BYTEARRAY, 17, 17, true, -E2BIG},
                {EX_TAG_PICKLE, 17, 17, true, -E2BIG},
                {EX_TAG_PICKLE, 16, 15, true, -EBADMSG},
                {EX_TAG_BIGINT, 8, 8, true, 0},
                {EX_TAG_BIGINT, 9, 9, true, -E2BIG},
                {EX_TAG_BIGINT, 0, 0, true, -EBADMSG}, /* no sign byte */
                {EX_TAG_BIGINT, 8, 7, true, -EBADMSG},
                {EX_TAG_BYTES, (64u << 20) + 1, 0, false, -E2BIG},
                {EX_TAG_BIGINT, 8193, 0, false, -E2BIG},
                /* Container counts: the cap (a dict's counts pairs)... */
                {EX_TAG_LIST, 4, 4, true, 0},
                {EX_TAG_LIST, 5, 5, true, -E2BIG},
                {EX_TAG_DICT, 2, 4, true, 0},
                {EX_TAG_DICT, 5, 10, true, -E2BIG},
                {EX_TAG_SET, (1u << 24) + 1, 0, false, -E2BIG},
                /* ...then more items than bytes left: rejected at the
                 * header, before any item is read. */
                {EX_TAG_LIST, 5, 5, false, 0},
                {EX_TAG_LIST, 5, 4, false, -EBADMSG},
                {EX_TAG_LIST, 0xffffff, 5, false, -EBADMSG},
                {EX_TAG_TUPLE, 5, 4, false, -EBADMSG},
                {EX_TAG_SET, 5, 4, false, -EBADMSG},
                {EX_TAG_FROZENSET, 5, 4, false, -EBADMSG},
                {EX_TAG_FROZENSET, 1u << 24, 5, false, -EBADMSG},
                {EX_TAG_DICT, 3, 6, false, 0},
                {EX_TAG_DICT, 3, 5, false, -EBADMSG},
                {EX_TAG_DICT, 1u << 23, 1u << 23, false, -EBADMSG},
        };
        struct ex_limits tight = ex_limits_default(), dflt = tight;

        (void)state;
        /* The documented defaults. */
        assert_int_equal(dflt.max_depth, 100);
        assert_int_equal(dflt.max_container_len, 1u << 24);
        assert_int_equal(dflt.max_bytes_len, EX_FRAME_MAX_DEFAULT);
        assert_int_equal(EX_FRAME_MAX_DEFAULT, 64u << 20);
        assert_int_equal(dflt.max_bigint_bytes, 8192);
        assert_int_equal(dflt.max_items, 1ull << 26);
        assert_false(dflt.allow_pickle);
        tight.max_bytes_len = 16;
        tight.max_bigint_bytes = 8;
        tight.max_container_len = 4;
        tight.allow_pickle = dflt.allow_pickle = true;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                const struct len_case *c = &cases[i];
                size_t total = 5 + (size_t)c->have;
                uint8_t *in = malloc(total);

                assert_non_null(in);
                in[0] = c->tag;
                for (int k = 0; k < 4; k++)
                        in[1 + k] = (uint8_t)(c->n >> (8 * k));
                memset(in + 5, EX_TAG_NONE, c->have);
                assert_int_equal(
                        ex_validate(in, total, c->tight ? &tight : &dflt),
                        c->want);
                free(in);
        }
}

struct utf8_case {
        const char *s;
        size_t n;
        bool ok;
};

#define U(lit, ok) {lit, sizeof(lit) - 1, ok}

static void test_utf8(void **state)
{
        static const struct utf8_case cases[] = {
                U("", true),
                U("plain ascii that is longer than eight bytes", true),
                /* U+7F, 80, 7FF, 800, D7FF, E000, FFFF, 10000, 10FFFF */
                U("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
                  "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
                  true),
                U("\xc0\x80", false),         /* overlong NUL */
                U("\xc1\xbf", false),         /* overlong 2-byte */
                U("\xe0\x80\xaf", false),     /* overlong '/' */
                U("\xe0\x9f\xbf", false),     /* overlong 3-byte */
                U("\xf0\x8f\xbf\xbf", false), /* overlong 4-byte */
                U("\xed\xa0\x80", false),     /* U+D800 surrogate */
                U("\xed\xbf\xbf", false),     /* U+DFFF surrogate */
                U("\xf4\x90\x80\x80", false), /* U+110000 */
                U("\xf5\x80\x80\x80", false), /* past the last plane */
                U("\xff", false),
                U("\x80", false),             /* lone continuation */
                U("abc\xbf", false),          /* continuation after ASCII */
                U("\xc3", false),             /* truncated 2-byte */
                U("\xe2\x82", false),         /* truncated 3-byte */
                U("\xf0\x9f\x98", false),     /* truncated 4-byte */
                U("\xe2\x28\xa1", false),     /* bad continuation */
                U("\xf0\x9f\x28\x80", false), /* bad 3rd of 4 */
                U("\xf0\x9f\x98\x28", false), /* bad 4th of 4 */
                U("\xc3\xa9\xc3", false),     /* truncated at the end */
        };
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t *c = exact(cases[i].s, cases[i].n);

                assert_int_equal(ex_utf8_valid(c, cases[i].n), cases[i].ok);
                free(c);
                ex_buf_reset(&b);
                OK(ex_put_str(&b, cases[i].s, cases[i].n));
                assert_int_equal(validate_exact(b.data, b.len, &lim),
                                 cases[i].ok ? 0 : -EBADMSG);
                /* The same bytes are fine as bytes. */
                ex_buf_reset(&b);
                OK(ex_put_blob(&b, EX_TAG_BYTES, cases[i].s, cases[i].n));
                assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        }
        /* A bad byte at every offset of a long ASCII run (fast path). */
        for (size_t at = 0; at < 40; at++) {
                uint8_t s[40];

                memset(s, 'a', sizeof(s));
                s[at] = 0x80;
                assert_false(ex_utf8_valid(s, sizeof(s)));
        }
        ex_buf_free(&b);
}

static void test_trailing_and_past_end(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;

        (void)state;
        OK(ex_put_int(&b, 5));
        OK(ex_put_none(&b)); /* a second, trailing value */
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EBADMSG);
        assert_int_equal(validate_exact(b.data, b.len - 1, &lim), 0);

        dec_open(&d, &b, &lim);
        next(&d, EX_TAG_INT);
        assert_int_equal(ex_reader_finish(&d.r), -EBADMSG);
        assert_int_equal(ex_reader_remaining(&d.r), 1);
        /* The value is complete: the next item is not ours to read. */
        assert_int_equal(ex_read(&d.r, &d.it), -EBADMSG);
        assert_int_equal(ex_reader_remaining(&d.r), 1);
        dec_close(&d);

        /* Nothing read at all. */
        ex_reader_init(&d.r, NULL, 0, &lim);
        assert_int_equal(ex_reader_finish(&d.r), -EBADMSG);
        assert_int_equal(ex_read(&d.r, &d.it), -EBADMSG);
        assert_int_equal(ex_validate(NULL, 0, &lim), -EBADMSG);
        ex_buf_free(&b);
}

/* ---- mutation fuzz ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
        /* xorshift64*: deterministic, so a failure reproduces. */
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * 0x2545F4914F6CDD1Dull;
}

static bool documented(int rc)
{
        return rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ELOOP ||
               rc == -EPERM;
}

/* Walk with ex_read and check what the reader promises callers. */
static int walk(const uint8_t *in, size_t n, const struct ex_limits *lim)
{
        struct ex_reader r;
        struct ex_item it;
        int rc;

        ex_reader_init(&r, in, n, lim);
        do {
                rc = ex_read(&r, &it);
                if (rc < 0)
                        return rc;
                /* Blobs lie inside the input; counts fit the bytes left. */
                if (it.tag == EX_TAG_BIGINT || it.tag == EX_TAG_PICKLE ||
                    (it.tag >= EX_TAG_STR && it.tag <= EX_TAG_BYTEARRAY))
                        assert_true(it.v.s.p >= in &&
                                    it.v.s.n <= (size_t)(in + n - it.v.s.p));
                if (it.tag >= EX_TAG_LIST && it.tag <= EX_TAG_FROZENSET)
                        assert_true((it.tag == EX_TAG_DICT ? 2u : 1u) *
                                            (uint64_t)it.v.count <=
                                    ex_reader_remaining(&r));
                assert_true(r.depth <= EX_DEPTH_HARD_MAX);
        } while (r.depth);
        return ex_reader_finish(&r);
}

static void test_mutation_fuzz(void **state)
{
        struct ex_buf seeds[4] = {{0}};
        uint64_t rng = 20000;
        size_t counts[5] = {0};
        static const uint8_t tags[] = {0x01, 0x04, 0x05, 0x08, 0x09, 0x10,
                                       0x12, 0x14, 0x20, 0x30, 0x00, 0xff};

        (void)state;
        encode_nested(&seeds[0]);
        encode_deep(&seeds[1], 40, false);
        encode_all_kinds(&seeds[2]);
        /* Pairs nested 15 deep: the levels close one after another. */
        for (int i = 0; i < 31; i++)
                OK(i < 15 ? ex_put_container(&seeds[3], EX_TAG_TUPLE, 2)
                          : ex_put_int(&seeds[3], i));

        for (int iter = 0; iter < 20000; iter++) {
                const struct ex_buf *s = &seeds[rng_next(&rng) % 4];
                size_t n = s->len;
                uint8_t *in;
                struct ex_limits lim = ex_limits_default();
                int rc, flips = 1 + (int)(rng_next(&rng) % 4);
                uint64_t cut;

                /* Sometimes cut the tail or grow it by a byte. */
                cut = rng_next(&rng) % 8;
                if (cut == 0)
                        n = rng_next(&rng) % n;
                else if (cut == 1)
                        n++;
                in = malloc(n ? n : 1);
                assert_non_null(in);
                memcpy(in, s->data, n < s->len ? n : s->len);
                if (n > s->len)
                        in[s->len] = (uint8_t)rng_next(&rng);
                for (int f = 0; f < flips && n; f++) {
                        size_t at = rng_next(&rng) % n;
                        uint64_t how = rng_next(&rng);

                        if (how % 3 == 0)
                                in[at] ^= (uint8_t)(1u << ((how >> 8) % 8));
                        else if (how % 3 == 1)
                                in[at] = (uint8_t)(how >> 16);
                        else
                                in[at] = tags[(how >> 16) % sizeof(tags)];
                }
                /* Tight limits a third of the time reach E2BIG/ELOOP. */
                if (rng_next(&rng) % 3 == 0)
                        lim = (struct ex_limits){
                                (uint32_t)(rng_next(&rng) % 8), 3, 4, 2,
                                rng_next(&rng) % 64, false};
                lim.allow_pickle = rng_next(&rng) % 2;
                rc = ex_validate(in, n, &lim);
                assert_true(documented(rc));
                /* The item-by-item walk agrees with ex_validate. */
                assert_int_equal(walk(in, n, &lim), rc);
                counts[rc == 0 ? 0 : rc == -EBADMSG ? 1 : rc == -E2BIG ? 2
                                     : rc == -ELOOP ? 3 : 4]++;
                free(in);
        }
        /* The mutations actually reached every outcome. */
        for (int i = 0; i < 5; i++)
                assert_true(counts[i] > 0);
        for (int i = 0; i < 4; i++)
                ex_buf_free(&seeds[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_buf),
                cmocka_unit_test(test_roundtrip_scalars),
                cmocka_unit_test(test_roundtrip_blobs),
                cmocka_unit_test(test_roundtrip_containers),
                cmocka_unit_test(test_encoder_errors),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_max_items),
                cmocka_unit_test(test_truncated_every_prefix),
                cmocka_unit_test(test_unknown_tags),
                cmocka_unit_test(test_lengths_and_counts),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_trailing_and_past_end),
                cmocka_unit_test(test_mutation_fuzz),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
