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
        size_t n;
        struct ex_reader r;
        struct ex_item it;
};

static void dec_open(struct dec *d, const struct ex_buf *b,
                     const struct ex_limits *lim)
{
        d->n = b->len;
        d->copy = exact(b->data, b->len);
        ex_reader_init(&d->r, d->copy, d->n, lim);
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
        /* The blob points into the input, not past it. */
        assert_true(d->it.v.s.p >= d->copy || n == 0);
        assert_true(d->it.v.s.p + n <= d->copy + d->n || n == 0);
}

static void dec_done(struct dec *d)
{
        assert_int_equal(ex_reader_finish(&d->r), 0);
        assert_int_equal(ex_read(&d->r, &d->it), -EBADMSG);
}

static struct ex_limits lim_default(void)
{
        return ex_limits_default();
}

/* ---- buf -------------------------------------------------------------- */

static void test_buf_growth_and_ceiling(void **state)
{
        struct ex_buf b;
        uint8_t x[300];
        size_t cap;

        (void)state;
        memset(x, 0xab, sizeof(x));
        ex_buf_init(&b, 1000);
        assert_null(b.data);
        assert_int_equal(ex_buf_put(&b, x, 10), 0);
        assert_int_equal(b.len, 10);
        assert_int_equal(b.cap, 256);
        assert_int_equal(ex_buf_put(&b, x, 300), 0);
        assert_int_equal(b.len, 310);
        assert_int_equal(b.cap, 512);
        assert_memory_equal(b.data + 10, x, 300);
        /* The capacity is clamped to the ceiling, never beyond it. */
        assert_int_equal(ex_buf_reserve(&b, 690), 0);
        assert_int_equal(b.cap, 1000);
        assert_int_equal(ex_buf_reserve(&b, 691), -EMSGSIZE);
        assert_int_equal(ex_buf_put(&b, x, 691), -EMSGSIZE);
        assert_int_equal(b.len, 310);
        assert_int_equal(ex_buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
        ex_buf_reset(&b);
        assert_int_equal(b.len, 0);
        cap = b.cap;
        assert_int_equal(ex_buf_put(&b, NULL, 0), 0);
        assert_int_equal(b.cap, cap);
        ex_buf_free(&b);
        assert_null(b.data);
        assert_int_equal(b.len, 0);
        assert_int_equal(b.max, 1000);
}

static void test_buf_unlimited_overflow(void **state)
{
        struct ex_buf b = {0};

        (void)state;
        assert_int_equal(ex_buf_put(&b, "abc", 3), 0);
        /* len + extra would wrap around SIZE_MAX. */
        assert_int_equal(ex_buf_reserve(&b, SIZE_MAX - 1), -EMSGSIZE);
        assert_int_equal(ex_buf_reserve(&b, SIZE_MAX - 2), -EMSGSIZE);
        assert_int_equal(b.len, 3);
        assert_memory_equal(b.data, "abc", 3);
        ex_buf_free(&b);
}

static void test_buf_trim(void **state)
{
        struct ex_buf b = {0};
        static const uint8_t big[5000];

        (void)state;
        assert_int_equal(ex_buf_put(&b, big, sizeof(big)), 0);
        assert_true(b.cap >= 5000);
        ex_buf_trim(&b, 100); /* keep < len: no-op */
        assert_true(b.cap >= 5000);
        ex_buf_reset(&b);
        ex_buf_trim(&b, 100);
        assert_int_equal(b.cap, 100);
        ex_buf_trim(&b, 200); /* already small enough: no-op */
        assert_int_equal(b.cap, 100);
        assert_int_equal(ex_buf_put(&b, "hi", 2), 0);
        assert_memory_equal(b.data, "hi", 2);
        ex_buf_reset(&b);
        ex_buf_trim(&b, 0);
        assert_null(b.data);
        assert_int_equal(b.cap, 0);
        ex_buf_free(&b);
}

/* ---- round trips ------------------------------------------------------ */

static void test_limits_default(void **state)
{
        struct ex_limits l = ex_limits_default();

        (void)state;
        assert_int_equal(l.max_depth, 100);
        assert_int_equal(l.max_container_len, 1u << 24);
        assert_int_equal(l.max_bytes_len, 64u << 20);
        assert_int_equal(l.max_bytes_len, EX_FRAME_MAX_DEFAULT);
        assert_int_equal(l.max_bigint_bytes, 8192);
        assert_int_equal(l.max_items, 1ull << 26);
        assert_false(l.allow_pickle);
}

static void test_roundtrip_scalars(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;
        static const int64_t ints[] = {0, 1, -1, INT64_MIN, INT64_MAX,
                                       0x0102030405060708ll};

        (void)state;
        /* One value per reader: encode, decode, compare. */
        assert_int_equal(ex_put_none(&b), 0);
        assert_int_equal(b.len, 1);
        assert_int_equal(b.data[0], EX_TAG_NONE);
        dec_open(&d, &b, &lim);
        next(&d, EX_TAG_NONE);
        dec_done(&d);
        dec_close(&d);

        for (int v = 0; v < 2; v++) {
                ex_buf_reset(&b);
                assert_int_equal(ex_put_bool(&b, v), 0);
                dec_open(&d, &b, &lim);
                next(&d, v ? EX_TAG_TRUE : EX_TAG_FALSE);
                dec_done(&d);
                dec_close(&d);
        }
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
                ex_buf_reset(&b);
                assert_int_equal(ex_put_int(&b, ints[i]), 0);
                assert_int_equal(b.len, 9);
                dec_open(&d, &b, &lim);
                next(&d, EX_TAG_INT);
                assert_true(d.it.v.i == ints[i]);
                dec_done(&d);
                dec_close(&d);
        }
        /* Little-endian on the wire, whatever the host. */
        ex_buf_reset(&b);
        assert_int_equal(ex_put_int(&b, 0x0102030405060708ll), 0);
        assert_int_equal(b.data[1], 0x08);
        assert_int_equal(b.data[8], 0x01);
        ex_buf_free(&b);
}

static void test_roundtrip_bigint(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;
        static const uint32_t sizes[] = {1, 2, 9, 17, 100, 8192};
        uint8_t *le = malloc(8192);

        (void)state;
        assert_non_null(le);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                uint32_t n = sizes[i];

                for (int neg = 0; neg < 2; neg++) {
                        for (uint32_t k = 0; k < n; k++)
                                le[k] = (uint8_t)(k * 37 + n);
                        /* Top byte sets the sign. */
                        le[n - 1] = neg ? 0x80 | le[n - 1] : 0x7f & le[n - 1];
                        ex_buf_reset(&b);
                        assert_int_equal(ex_put_bigint(&b, le, n), 0);
                        assert_int_equal(b.len, 5 + n);
                        dec_open(&d, &b, &lim);
                        next_blob(&d, EX_TAG_BIGINT, le, n);
                        assert_int_equal(d.it.v.s.p[n - 1] >> 7, neg);
                        dec_done(&d);
                        dec_close(&d);
                }
        }
        assert_int_equal(ex_put_bigint(&b, le, 0), -EINVAL);
        free(le);
        ex_buf_free(&b);
}

static void check_double(double got, double want)
{
        uint64_t a, w;

        /* Bit-exact: keeps -0.0 and the NaN payload. */
        memcpy(&a, &got, 8);
        memcpy(&w, &want, 8);
        assert_true(a == w);
}

static void test_roundtrip_float_complex(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;
        const double fs[] = {0.0, -0.0, 1.5, -2.25e300, INFINITY, -INFINITY,
                             NAN, 5e-324};

        (void)state;
        for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
                ex_buf_reset(&b);
                assert_int_equal(ex_put_float(&b, fs[i]), 0);
                dec_open(&d, &b, &lim);
                next(&d, EX_TAG_FLOAT);
                check_double(d.it.v.f, fs[i]);
                dec_done(&d);
                dec_close(&d);

                ex_buf_reset(&b);
                assert_int_equal(ex_put_complex(&b, fs[i], -fs[i]), 0);
                assert_int_equal(b.len, 17);
                dec_open(&d, &b, &lim);
                next(&d, EX_TAG_COMPLEX);
                check_double(d.it.v.c.real, fs[i]);
                check_double(d.it.v.c.imag, -fs[i]);
                dec_done(&d);
                dec_close(&d);
        }
        assert_true(isnan(NAN)); /* the NaN case above really is a NaN */
        ex_buf_reset(&b);
        assert_int_equal(ex_put_float(&b, -0.0), 0);
        dec_open(&d, &b, &lim);
        next(&d, EX_TAG_FLOAT);
        assert_true(signbit(d.it.v.f));
        dec_close(&d);
        ex_buf_free(&b);
}

static void test_roundtrip_blobs(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;
        /* 1, 2, 3 and 4 byte sequences: a, é, €, 😀 */
        static const char utf8[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
        static const uint8_t raw[] = {0, 0xff, 0x80, 0xc0, 0xed, 0xa0, 0x80};

        (void)state;
        assert_int_equal(ex_put_str(&b, utf8, sizeof(utf8) - 1), 0);
        dec_open(&d, &b, &lim);
        next_blob(&d, EX_TAG_STR, utf8, sizeof(utf8) - 1);
        dec_done(&d);
        dec_close(&d);

        ex_buf_reset(&b);
        assert_int_equal(ex_put_str(&b, "", 0), 0);
        assert_int_equal(b.len, 5);
        dec_open(&d, &b, &lim);
        next_blob(&d, EX_TAG_STR, "", 0);
        dec_done(&d);
        dec_close(&d);

        /* Bytes carry anything, including invalid UTF-8 and NULs. */
        for (uint8_t tag = EX_TAG_BYTES; tag <= EX_TAG_BYTEARRAY; tag++) {
                ex_buf_reset(&b);
                assert_int_equal(ex_put_blob(&b, tag, raw, sizeof(raw)), 0);
                dec_open(&d, &b, &lim);
                next_blob(&d, tag, raw, sizeof(raw));
                dec_done(&d);
                dec_close(&d);

                ex_buf_reset(&b);
                assert_int_equal(ex_put_blob(&b, tag, NULL, 0), 0);
                dec_open(&d, &b, &lim);
                next_blob(&d, tag, NULL, 0);
                dec_done(&d);
                dec_close(&d);
        }
        ex_buf_free(&b);
}

static void test_roundtrip_handles(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;

        (void)state;
        assert_int_equal(ex_put_container(&b, EX_TAG_TUPLE, 2), 0);
        assert_int_equal(ex_put_handle(&b, EX_TAG_HANDLE, UINT64_MAX), 0);
        assert_int_equal(ex_put_handle(&b, EX_TAG_BACKREF, 42), 0);
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_TUPLE, 2);
        next(&d, EX_TAG_HANDLE);
        assert_true(d.it.v.handle == UINT64_MAX);
        next(&d, EX_TAG_BACKREF);
        assert_true(d.it.v.handle == 42);
        dec_done(&d);
        dec_close(&d);
        ex_buf_free(&b);
}

static void test_pickle(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;
        static const uint8_t pk[] = {0x80, 0x04, 0x4e, 0x2e};

        (void)state;
        assert_int_equal(ex_put_container(&b, EX_TAG_LIST, 1), 0);
        assert_int_equal(ex_put_blob(&b, EX_TAG_PICKLE, pk, sizeof(pk)), 0);

        /* Refused by default, and the refusal does not consume input. */
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_LIST, 1);
        assert_int_equal(ex_read(&d.r, &d.it), -EPERM);
        assert_int_equal(ex_reader_remaining(&d.r), 9);
        assert_int_equal(ex_reader_finish(&d.r), -EBADMSG);
        dec_close(&d);
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EPERM);

        lim.allow_pickle = true;
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_LIST, 1);
        next_blob(&d, EX_TAG_PICKLE, pk, sizeof(pk));
        dec_done(&d);
        dec_close(&d);
        ex_buf_free(&b);
}

/* {"k": [None, (1, {2.5}), frozenset(), [], b"x"], "": {}} */
static void encode_nested(struct ex_buf *b)
{
        assert_int_equal(ex_put_container(b, EX_TAG_DICT, 2), 0);
        assert_int_equal(ex_put_str(b, "k", 1), 0);
        assert_int_equal(ex_put_container(b, EX_TAG_LIST, 5), 0);
        assert_int_equal(ex_put_none(b), 0);
        assert_int_equal(ex_put_container(b, EX_TAG_TUPLE, 2), 0);
        assert_int_equal(ex_put_int(b, 1), 0);
        assert_int_equal(ex_put_container(b, EX_TAG_SET, 1), 0);
        assert_int_equal(ex_put_float(b, 2.5), 0);
        assert_int_equal(ex_put_container(b, EX_TAG_FROZENSET, 0), 0);
        assert_int_equal(ex_put_container(b, EX_TAG_LIST, 0), 0);
        assert_int_equal(ex_put_blob(b, EX_TAG_BYTES, "x", 1), 0);
        assert_int_equal(ex_put_str(b, "", 0), 0);
        assert_int_equal(ex_put_container(b, EX_TAG_DICT, 0), 0);
}

static void test_roundtrip_containers(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        struct dec d;
        static const uint8_t empties[] = {EX_TAG_LIST, EX_TAG_TUPLE,
                                          EX_TAG_DICT, EX_TAG_SET,
                                          EX_TAG_FROZENSET};

        (void)state;
        for (size_t i = 0; i < sizeof(empties); i++) {
                ex_buf_reset(&b);
                assert_int_equal(ex_put_container(&b, empties[i], 0), 0);
                assert_int_equal(b.len, 5);
                dec_open(&d, &b, &lim);
                next_count(&d, empties[i], 0);
                assert_int_equal(d.r.depth, 0); /* empty: no level opened */
                dec_done(&d);
                dec_close(&d);
        }

        ex_buf_reset(&b);
        encode_nested(&b);
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_DICT, 2);
        assert_int_equal(d.r.depth, 1);
        next_blob(&d, EX_TAG_STR, "k", 1);
        next_count(&d, EX_TAG_LIST, 5);
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
        next_count(&d, EX_TAG_FROZENSET, 0);
        next_count(&d, EX_TAG_LIST, 0);
        assert_int_equal(ex_reader_finish(&d.r), -EBADMSG); /* unfinished */
        next_blob(&d, EX_TAG_BYTES, "x", 1);
        assert_int_equal(d.r.depth, 1);
        next_blob(&d, EX_TAG_STR, "", 0);
        next_count(&d, EX_TAG_DICT, 0);
        assert_int_equal(d.r.depth, 0);
        assert_int_equal(d.r.items, 13);
        dec_done(&d);
        dec_close(&d);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
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
        assert_int_equal(ex_put_blob(&b, EX_TAG_BYTES, small, 3), 0);
        assert_int_equal(b.len, 8);
        assert_int_equal(ex_put_none(&b), -EMSGSIZE);
        assert_int_equal(b.len, 8);
        ex_buf_free(&b);
}

/* ---- limits ----------------------------------------------------------- */

/* `levels` nested one-item lists around None (levels 0 = just None),
 * optionally with an empty list at the bottom instead. */
static void encode_deep(struct ex_buf *b, uint32_t levels, bool empty_leaf)
{
        ex_buf_reset(b);
        for (uint32_t i = 0; i < levels; i++)
                assert_int_equal(ex_put_container(b, EX_TAG_LIST, 1), 0);
        if (empty_leaf)
                assert_int_equal(ex_put_container(b, EX_TAG_LIST, 0), 0);
        else
                assert_int_equal(ex_put_none(b), 0);
}

static void test_depth(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();

        (void)state;
        encode_deep(&b, 100, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        encode_deep(&b, 100, true); /* an empty list does not nest */
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        encode_deep(&b, 101, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), -ELOOP);

        lim.max_depth = 3;
        encode_deep(&b, 3, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        encode_deep(&b, 4, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), -ELOOP);

        /* Depth 0 admits scalars and empty containers only. */
        lim.max_depth = 0;
        encode_deep(&b, 0, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        encode_deep(&b, 0, true);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        encode_deep(&b, 1, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), -ELOOP);

        /* A limit above the hard maximum is clamped to it. */
        lim.max_depth = 100000;
        encode_deep(&b, EX_DEPTH_HARD_MAX, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        encode_deep(&b, EX_DEPTH_HARD_MAX + 1, false);
        assert_int_equal(validate_exact(b.data, b.len, &lim), -ELOOP);
        ex_buf_free(&b);
}

static void test_max_items(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();

        (void)state;
        /* [[1, 2], 3]: five items counting both headers. */
        assert_int_equal(ex_put_container(&b, EX_TAG_LIST, 2), 0);
        assert_int_equal(ex_put_container(&b, EX_TAG_LIST, 2), 0);
        assert_int_equal(ex_put_int(&b, 1), 0);
        assert_int_equal(ex_put_int(&b, 2), 0);
        assert_int_equal(ex_put_int(&b, 3), 0);
        lim.max_items = 5;
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        lim.max_items = 4;
        assert_int_equal(validate_exact(b.data, b.len, &lim), -E2BIG);
        lim.max_items = 0;
        assert_int_equal(validate_exact(b.data, b.len, &lim), -E2BIG);
        ex_buf_free(&b);
}

static void test_truncated_every_prefix(void **state)
{
        struct ex_buf b = {0};
        struct ex_limits lim = lim_default();
        static const uint8_t big[] = {1, 2, 3, 0xff};

        (void)state;
        lim.allow_pickle = true;
        encode_nested(&b);
        /* Append one more of every scalar kind inside a wrapping tuple. */
        {
                struct ex_buf w = {0};

                assert_int_equal(ex_put_container(&w, EX_TAG_TUPLE, 9), 0);
                assert_int_equal(ex_buf_put(&w, b.data, b.len), 0);
                assert_int_equal(ex_put_bool(&w, true), 0);
                assert_int_equal(ex_put_bigint(&w, big, sizeof(big)), 0);
                assert_int_equal(ex_put_complex(&w, 1, 2), 0);
                assert_int_equal(ex_put_str(&w, "\xe2\x82\xac", 3), 0);
                assert_int_equal(ex_put_blob(&w, EX_TAG_BYTEARRAY, "ab", 2),
                                 0);
                assert_int_equal(ex_put_blob(&w, EX_TAG_PICKLE, "p", 1), 0);
                assert_int_equal(ex_put_handle(&w, EX_TAG_HANDLE, 7), 0);
                assert_int_equal(ex_put_handle(&w, EX_TAG_BACKREF, 8), 0);
                ex_buf_free(&b);
                b = w;
        }
        assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        for (size_t n = 0; n < b.len; n++)
                assert_int_equal(validate_exact(b.data, n, &lim), -EBADMSG);
        ex_buf_free(&b);
}

static void test_unknown_tags(void **state)
{
        struct ex_limits lim = lim_default();
        static const uint8_t bad[] = {0x00, 0x0b, 0x0f, 0x15, 0x1f,
                                      0x22, 0x2f, 0x31, 0x80, 0xff};
        uint8_t in[6] = {EX_TAG_LIST, 1, 0, 0, 0, 0};

        (void)state;
        lim.allow_pickle = true;
        for (size_t i = 0; i < sizeof(bad); i++) {
                assert_int_equal(validate_exact(&bad[i], 1, &lim), -EBADMSG);
                in[5] = bad[i];
                assert_int_equal(validate_exact(in, sizeof(in), &lim),
                                 -EBADMSG);
        }
        in[5] = EX_TAG_NONE;
        assert_int_equal(validate_exact(in, sizeof(in), &lim), 0);
}

/* tag + u32 length, followed by `have` zero bytes. */
static int check_len(uint8_t tag, uint32_t n, size_t have,
                     const struct ex_limits *lim)
{
        size_t total = 5 + have;
        uint8_t *in = calloc(1, total);
        int rc;

        assert_non_null(in);
        in[0] = tag;
        in[1] = (uint8_t)n;
        in[2] = (uint8_t)(n >> 8);
        in[3] = (uint8_t)(n >> 16);
        in[4] = (uint8_t)(n >> 24);
        rc = ex_validate(in, total, lim);
        free(in);
        return rc;
}

static void test_length_caps(void **state)
{
        struct ex_limits lim = lim_default();
        static const uint8_t blobs[] = {EX_TAG_STR, EX_TAG_BYTES,
                                        EX_TAG_BYTEARRAY, EX_TAG_PICKLE};

        (void)state;
        lim.allow_pickle = true;
        lim.max_bytes_len = 16;
        lim.max_bigint_bytes = 8;
        lim.max_container_len = 4;
        for (size_t i = 0; i < sizeof(blobs); i++) {
                assert_int_equal(check_len(blobs[i], 16, 16, &lim), 0);
                assert_int_equal(check_len(blobs[i], 17, 17, &lim), -E2BIG);
                /* Over the cap wins even when the bytes are missing. */
                assert_int_equal(check_len(blobs[i], UINT32_MAX, 0, &lim),
                                 -E2BIG);
                /* Within the cap but past the end: truncated. */
                assert_int_equal(check_len(blobs[i], 16, 15, &lim), -EBADMSG);
        }
        assert_int_equal(check_len(EX_TAG_BIGINT, 8, 8, &lim), 0);
        assert_int_equal(check_len(EX_TAG_BIGINT, 9, 9, &lim), -E2BIG);
        assert_int_equal(check_len(EX_TAG_BIGINT, 0, 0, &lim), -EBADMSG);
        assert_int_equal(check_len(EX_TAG_BIGINT, 8, 7, &lim), -EBADMSG);

        /* Counts: four Nones fit, five exceed the cap. */
        {
                uint8_t in[10] = {EX_TAG_LIST, 4, 0, 0, 0};

                memset(in + 5, EX_TAG_NONE, 5);
                assert_int_equal(validate_exact(in, 9, &lim), 0);
                in[1] = 5;
                assert_int_equal(validate_exact(in, 10, &lim), -E2BIG);
                /* A dict's cap counts pairs, not items. */
                in[0] = EX_TAG_DICT;
                in[1] = 2;
                assert_int_equal(validate_exact(in, 9, &lim), 0);
                in[1] = 5;
                assert_int_equal(validate_exact(in, 10, &lim), -E2BIG);
        }
        /* With default limits a length of 64 MiB + 1 is over the cap. */
        lim = lim_default();
        assert_int_equal(check_len(EX_TAG_BYTES, (64u << 20) + 1, 0, &lim),
                         -E2BIG);
        assert_int_equal(check_len(EX_TAG_BIGINT, 8193, 0, &lim), -E2BIG);
        assert_int_equal(check_len(EX_TAG_SET, (1u << 24) + 1, 0, &lim),
                         -E2BIG);
}

static void test_count_over_remaining(void **state)
{
        struct ex_limits lim = lim_default();
        uint8_t in[11] = {EX_TAG_LIST, 5, 0, 0, 0};
        static const uint8_t tags[] = {EX_TAG_LIST, EX_TAG_TUPLE, EX_TAG_SET,
                                       EX_TAG_FROZENSET};

        (void)state;
        memset(in + 5, EX_TAG_NONE, 6);
        for (size_t i = 0; i < sizeof(tags); i++) {
                in[0] = tags[i];
                in[1] = 5;
                assert_int_equal(validate_exact(in, 10, &lim), 0);
                /* Rejected at the header, before any item is read. */
                assert_int_equal(validate_exact(in, 9, &lim), -EBADMSG);
                in[1] = 0xff;
                in[2] = 0xff;
                in[3] = 0xff; /* 16M - 1 items, within the cap */
                assert_int_equal(validate_exact(in, 10, &lim), -EBADMSG);
                in[2] = in[3] = 0;
        }
        /* Dict: 3 pairs need 6 items; 5 bytes left is too few. */
        in[0] = EX_TAG_DICT;
        in[1] = 3;
        assert_int_equal(validate_exact(in, 11, &lim), 0);
        assert_int_equal(validate_exact(in, 10, &lim), -EBADMSG);
        /* A count with no room for its own header. */
        assert_int_equal(validate_exact(in, 4, &lim), -EBADMSG);
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
                U("\x7f", true),
                U("\xc2\x80", true),          /* U+0080 */
                U("\xdf\xbf", true),          /* U+07FF */
                U("\xe0\xa0\x80", true),      /* U+0800 */
                U("\xed\x9f\xbf", true),      /* U+D7FF */
                U("\xee\x80\x80", true),      /* U+E000 */
                U("\xef\xbf\xbf", true),      /* U+FFFF */
                U("\xf0\x90\x80\x80", true),  /* U+10000 */
                U("\xf4\x8f\xbf\xbf", true),  /* U+10FFFF */
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
        struct ex_limits lim = lim_default();
        struct ex_buf b = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t *c = exact(cases[i].s, cases[i].n);

                assert_int_equal(ex_utf8_valid(c, cases[i].n), cases[i].ok);
                free(c);
                ex_buf_reset(&b);
                assert_int_equal(ex_put_str(&b, cases[i].s, cases[i].n), 0);
                assert_int_equal(validate_exact(b.data, b.len, &lim),
                                 cases[i].ok ? 0 : -EBADMSG);
                /* The same bytes are fine as bytes. */
                ex_buf_reset(&b);
                assert_int_equal(ex_put_blob(&b, EX_TAG_BYTES, cases[i].s,
                                             cases[i].n),
                                 0);
                assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
        }
        /* One bad byte at every offset of a long ASCII run (fast path). */
        for (size_t at = 0; at < 40; at++) {
                char s[40];

                memset(s, 'a', sizeof(s));
                s[at] = (char)0x80;
                assert_false(ex_utf8_valid((const uint8_t *)s, sizeof(s)));
                s[at] = 'b';
                assert_true(ex_utf8_valid((const uint8_t *)s, sizeof(s)));
        }
        ex_buf_free(&b);
}

static void test_trailing_and_past_end(void **state)
{
        struct ex_limits lim = lim_default();
        struct ex_buf b = {0};
        struct dec d;

        (void)state;
        assert_int_equal(ex_put_int(&b, 5), 0);
        assert_int_equal(ex_put_none(&b), 0); /* a second, trailing value */
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
        ex_buf_reset(&b);
        dec_open(&d, &b, &lim);
        assert_int_equal(ex_reader_finish(&d.r), -EBADMSG);
        assert_int_equal(ex_read(&d.r, &d.it), -EBADMSG);
        dec_close(&d);
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
                switch (it.tag) {
                case EX_TAG_STR:
                case EX_TAG_BYTES:
                case EX_TAG_BYTEARRAY:
                case EX_TAG_PICKLE:
                case EX_TAG_BIGINT:
                        assert_true(it.v.s.p >= in);
                        assert_true(it.v.s.n <= (size_t)(in + n - it.v.s.p));
                        break;
                case EX_TAG_LIST:
                case EX_TAG_TUPLE:
                case EX_TAG_SET:
                case EX_TAG_FROZENSET:
                        assert_true(it.v.count <= ex_reader_remaining(&r));
                        break;
                case EX_TAG_DICT:
                        assert_true(2 * (uint64_t)it.v.count <=
                                    ex_reader_remaining(&r));
                        break;
                }
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
        {
                static const uint8_t big[] = {9, 8, 7};

                assert_int_equal(ex_put_container(&seeds[2], EX_TAG_LIST, 6),
                                 0);
                assert_int_equal(ex_put_str(&seeds[2], "h\xc3\xa9\xf0\x9f\x98\x80", 7), 0);
                assert_int_equal(ex_put_bigint(&seeds[2], big, 3), 0);
                assert_int_equal(ex_put_blob(&seeds[2], EX_TAG_PICKLE, "pk", 2), 0);
                assert_int_equal(ex_put_complex(&seeds[2], 1, -1), 0);
                assert_int_equal(ex_put_handle(&seeds[2], EX_TAG_HANDLE, 3), 0);
                assert_int_equal(ex_put_container(&seeds[2], EX_TAG_DICT, 1), 0);
                assert_int_equal(ex_put_bool(&seeds[2], false), 0);
                assert_int_equal(ex_put_blob(&seeds[2], EX_TAG_BYTEARRAY, "", 0), 0);
        }
        for (int i = 0; i < 30; i++)
                assert_int_equal(ex_put_container(&seeds[3], EX_TAG_TUPLE, 2), 0);
        for (int i = 0; i < 31; i++)
                assert_int_equal(ex_put_int(&seeds[3], i), 0);

        for (int iter = 0; iter < 20000; iter++) {
                const struct ex_buf *s = &seeds[rng_next(&rng) % 4];
                size_t n = s->len;
                uint8_t *in;
                struct ex_limits lim = lim_default();
                int rc, flips = 1 + (int)(rng_next(&rng) % 4);

                /* Sometimes cut the tail or grow it by a byte. */
                switch (rng_next(&rng) % 8) {
                case 0:
                        n = rng_next(&rng) % n;
                        break;
                case 1:
                        n++;
                        break;
                }
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
                if (rng_next(&rng) % 3 == 0) {
                        lim.max_depth = (uint32_t)(rng_next(&rng) % 8);
                        lim.max_container_len = 3;
                        lim.max_bytes_len = 4;
                        lim.max_bigint_bytes = 2;
                        lim.max_items = rng_next(&rng) % 64;
                }
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
                cmocka_unit_test(test_buf_growth_and_ceiling),
                cmocka_unit_test(test_buf_unlimited_overflow),
                cmocka_unit_test(test_buf_trim),
                cmocka_unit_test(test_limits_default),
                cmocka_unit_test(test_roundtrip_scalars),
                cmocka_unit_test(test_roundtrip_bigint),
                cmocka_unit_test(test_roundtrip_float_complex),
                cmocka_unit_test(test_roundtrip_blobs),
                cmocka_unit_test(test_roundtrip_handles),
                cmocka_unit_test(test_pickle),
                cmocka_unit_test(test_roundtrip_containers),
                cmocka_unit_test(test_encoder_errors),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_max_items),
                cmocka_unit_test(test_truncated_every_prefix),
                cmocka_unit_test(test_unknown_tags),
                cmocka_unit_test(test_length_caps),
                cmocka_unit_test(test_count_over_remaining),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_trailing_and_past_end),
                cmocka_unit_test(test_mutation_fuzz),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
