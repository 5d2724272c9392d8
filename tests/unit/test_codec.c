/* Unit tests for protocol/buf.c and protocol/codec.c (with the
 * out-of-band tags of protocol/oob.c).
 *
 * Every decoder input lives in a heap block of exactly its own length, so
 * AddressSanitizer or valgrind reports any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fd_count.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "oob.h"

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
        /* 0, 1 and -1 take a byte each (EX_TAG_INT8), the rest eight. */
        assert_int_equal(b.len, 5 + 3 + 2 * 9 + 3 * 2 + 3 * 9 +
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

/* Every int width at its edges: the shortest tag is chosen, the value
 * comes back, and the inline reader agrees with ex_read. */
static void test_int_widths(void **state)
{
        static const struct {
                int64_t v;
                uint8_t tag;
        } cases[] = {
                {0, EX_TAG_INT8},           {127, EX_TAG_INT8},
                {-128, EX_TAG_INT8},        {128, EX_TAG_INT16},
                {-129, EX_TAG_INT16},       {32767, EX_TAG_INT16},
                {-32768, EX_TAG_INT16},     {32768, EX_TAG_INT32},
                {-32769, EX_TAG_INT32},     {INT32_MAX, EX_TAG_INT32},
                {INT32_MIN, EX_TAG_INT32},  {(int64_t)INT32_MAX + 1, EX_TAG_INT},
                {(int64_t)INT32_MIN - 1, EX_TAG_INT}, {INT64_MIN, EX_TAG_INT},
        };
        const uint32_t n = ARRAY_SIZE(cases);
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct ex_reader r;
        struct ex_item it;
        size_t at;

        (void)state;
        OK(ex_put_container(&b, EX_TAG_LIST, n));
        at = b.len;
        for (uint32_t i = 0; i < n; i++) {
                OK(ex_put_int(&b, cases[i].v));
                assert_int_equal(b.data[at], cases[i].tag);
                at = b.len;
        }
        /* ex_read alone. */
        ex_reader_init(&r, b.data, b.len, &lim);
        OK(ex_read(&r, &it));
        for (uint32_t i = 0; i < n; i++) {
                OK(ex_read(&r, &it));
                assert_int_equal(it.tag, EX_TAG_INT);
                assert_true(it.v.i == cases[i].v);
        }
        OK(ex_reader_finish(&r));
        /* The inline reader first, ex_read where it declines: the 8-byte
         * form, and the last item (it closes the list). */
        ex_reader_init(&r, b.data, b.len, &lim);
        OK(ex_read(&r, &it));
        for (uint32_t i = 0; i < n; i++) {
                int64_t v;
                int inl = ex_read_int_inline(&r, &v);

                assert_int_equal(inl, cases[i].tag != EX_TAG_INT && i + 1 < n);
                if (!inl) {
                        OK(ex_read(&r, &it));
                        v = it.v.i;
                }
                assert_true(v == cases[i].v);
        }
        assert_int_equal(r.items, n + 1);
        OK(ex_reader_finish(&r));
        /* It counts against max_items like any item. */
        lim.max_items = 3;
        ex_reader_init(&r, b.data, b.len, &lim);
        OK(ex_read(&r, &it));
        for (int i = 0; i < 2; i++) {
                int64_t v;
                assert_int_equal(ex_read_int_inline(&r, &v), 1);
        }
        int64_t v;
        assert_int_equal(ex_read_int_inline(&r, &v), 0);
        assert_int_equal(ex_read(&r, &it), -E2BIG);
        /* Truncated short forms are refused by ex_read (the inline reader
         * declines them). */
        for (uint8_t tag = EX_TAG_INT8; tag <= EX_TAG_INT32; tag++) {
                uint8_t v2[] = {EX_TAG_LIST, 2, 0, 0, 0, tag, 1};
                lim = ex_limits_default();
                ex_reader_init(&r, v2, sizeof(v2), &lim);
                OK(ex_read(&r, &it));
                if (tag == EX_TAG_INT8) {
                        assert_int_equal(ex_read_int_inline(&r, &v), 1);
                        assert_int_equal(ex_read(&r, &it), -EBADMSG);
                } else {
                        assert_int_equal(ex_read_int_inline(&r, &v), 0);
                        assert_int_equal(ex_read(&r, &it), -EBADMSG);
                }
        }
        ex_buf_free(&b);
}

/* ---- packed int lists and tuples --------------------------------------- */

/* Encode `n` values through ex_int_array_begin/_end at `from` bytes. */
static void put_ints(struct ex_buf *b, uint8_t tag, const int64_t *v,
                     uint32_t n, unsigned from)
{
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        uint8_t *out;
        int err = 1;

        out = ex_int_array_begin(b, n, from, &err);
        assert_non_null(out);
        OK(err);
        for (uint32_t i = 0; i < n; i++) {
                ex_store_int(out + (size_t)i * from, from, v[i]);
                lo = v[i] < lo ? v[i] : lo;
                hi = v[i] > hi ? v[i] : hi;
        }
        ex_int_array_end(b, tag, n, from, lo, hi);
}

static void test_int_array_widths(void **state)
{
        /* The narrowest width holding all, at each boundary. */
        static const struct {
                int64_t v[2];
                unsigned width;
        } cases[] = {
                {{0, 127}, 1},
                {{-128, 5}, 1},
                {{-129, 0}, 2},
                {{0, 128}, 2},
                {{INT16_MIN, INT16_MAX}, 2},
                {{INT16_MIN - 1, 0}, 4},
                {{0, INT16_MAX + 1}, 4},
                {{INT32_MIN, INT32_MAX}, 4},
                {{(int64_t)INT32_MIN - 1, 0}, 8},
                {{0, (int64_t)INT32_MAX + 1}, 8},
                {{INT64_MIN, INT64_MAX}, 8},
        };
        struct ex_limits lim = ex_limits_default();

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                for (unsigned from = 4; from <= 8; from += 4) {
                        unsigned w = cases[i].width;
                        struct ex_buf b = {0};
                        struct dec d;

                        if (w > from)
                                continue; /* does not fit: not allowed */
                        put_ints(&b, EX_TAG_INT_LIST, cases[i].v, 2, from);
                        assert_int_equal(b.len, EX_INT_ARRAY_HEADER + 2 * w);
                        assert_int_equal(b.data[0], EX_TAG_INT_LIST);
                        assert_int_equal(b.data[1], w);
                        assert_int_equal(ex_int_width(cases[i].v[0],
                                                      cases[i].v[1]),
                                         w);
                        dec_open(&d, &b, &lim);
                        next(&d, EX_TAG_INT_LIST);
                        assert_int_equal(d.it.v.arr.count, 2);
                        assert_int_equal(d.it.v.arr.width, w);
                        /* One item that opens no level, its ints counted. */
                        assert_int_equal(d.r.depth, 0);
                        assert_int_equal(d.r.items, 3);
                        for (uint32_t k = 0; k < 2; k++)
                                assert_true(ex_int_at(d.it.v.arr.p, w, k) ==
                                            cases[i].v[k]);
                        dec_done(&d);
                        ex_buf_free(&b);
                }
        }
}

static void test_int_array_roundtrip(void **state)
{
        int64_t v[300];
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;

        (void)state;
        for (uint32_t i = 0; i < ARRAY_SIZE(v); i++)
                v[i] = (int64_t)i * 977 - 150000; /* spans 4 bytes */
        /* Nested in a list, next to an ordinary item. */
        OK(ex_put_container(&b, EX_TAG_LIST, 2));
        put_ints(&b, EX_TAG_INT_TUPLE, v, ARRAY_SIZE(v), 8);
        OK(ex_put_none(&b));
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_LIST, 2);
        next(&d, EX_TAG_INT_TUPLE);
        assert_int_equal(d.it.v.arr.width, 4);
        assert_int_equal(d.it.v.arr.count, ARRAY_SIZE(v));
        for (uint32_t i = 0; i < ARRAY_SIZE(v); i++)
                assert_true(ex_int_at(d.it.v.arr.p, 4, i) == v[i]);
        assert_int_equal(d.r.depth, 1); /* the list is still open */
        next(&d, EX_TAG_NONE);
        assert_int_equal(d.r.items, 2 + 1 + ARRAY_SIZE(v));
        dec_done(&d);

        /* ex_put_int_array writes what it is given, at that width. */
        ex_buf_reset(&b);
        {
                static const uint8_t le[] = {1, 0, 0, 0, 0, 0, 0, 0};

                OK(ex_put_int_array(&b, EX_TAG_INT_LIST, 8, le, 1));
                assert_int_equal(b.len, EX_INT_ARRAY_HEADER + 8);
                assert_memory_equal(b.data + EX_INT_ARRAY_HEADER, le, 8);
                assert_int_equal(validate_exact(b.data, b.len, &lim), 0);
                /* Refused, writing nothing: bad tag, width, count, data. */
                ex_buf_reset(&b);
                assert_int_equal(ex_put_int_array(&b, EX_TAG_LIST, 1, le, 1),
                                 -EINVAL);
                assert_int_equal(
                        ex_put_int_array(&b, EX_TAG_INT_LIST, 3, le, 1),
                        -EINVAL);
                assert_int_equal(
                        ex_put_int_array(&b, EX_TAG_INT_LIST, 1, le, 0),
                        -EINVAL);
                assert_int_equal(
                        ex_put_int_array(&b, EX_TAG_INT_LIST, 1, NULL, 1),
                        -EINVAL);
                assert_int_equal(b.len, 0);
                {
                        int err = 0;

                        assert_null(ex_int_array_begin(&b, 1, 2, &err));
                        assert_int_equal(err, -EINVAL);
                        assert_null(ex_int_array_begin(&b, 0, 4, &err));
                        assert_int_equal(err, -EINVAL);
                        /* Past the buffer's ceiling: nothing written. */
                        b.max = 8;
                        assert_null(ex_int_array_begin(&b, 1, 4, &err));
                        assert_int_equal(err, -EMSGSIZE);
                        assert_int_equal(b.len, 0);
                }
        }
        ex_buf_free(&b);
}

static void test_float_array(void **state)
{
        const double v[] = {0.0, -0.0, 1.5, -2.25e300, INFINITY, -INFINITY,
                            NAN, 5e-324};
        const uint32_t n = ARRAY_SIZE(v);
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;
        uint8_t *out;
        int err = 1;

        (void)state;
        out = ex_float_array_begin(&b, n, &err);
        assert_non_null(out);
        OK(err);
        for (uint32_t i = 0; i < n; i++)
                ex_store_float(out + (size_t)i * 8, v[i]);
        ex_float_array_end(&b, EX_TAG_FLOAT_TUPLE, n);
        assert_int_equal(b.len, EX_FLOAT_ARRAY_HEADER + 8 * n);
        assert_int_equal(b.data[0], EX_TAG_FLOAT_TUPLE);
        dec_open(&d, &b, &lim);
        next(&d, EX_TAG_FLOAT_TUPLE);
        assert_int_equal(d.it.v.arr.count, n);
        assert_int_equal(d.it.v.arr.width, 8);
        assert_int_equal(d.r.items, 1 + n);
        /* Bit for bit: the sign of -0.0 and the NaN survive. */
        for (uint32_t i = 0; i < n; i++) {
                double got = ex_float_at(d.it.v.arr.p, i);
                assert_memory_equal(&got, &v[i], sizeof(got));
        }
        dec_done(&d);
        /* ex_put_float_array writes the same bytes from raw doubles. */
        {
                struct ex_buf c = {0};
                uint8_t raw[8 * ARRAY_SIZE(v)];

                memcpy(raw, b.data + EX_FLOAT_ARRAY_HEADER, sizeof(raw));
                OK(ex_put_float_array(&c, EX_TAG_FLOAT_TUPLE, raw, n));
                assert_int_equal(c.len, b.len);
                assert_memory_equal(c.data, b.data, b.len);
                assert_int_equal(ex_put_float_array(&c, EX_TAG_INT_LIST, raw,
                                                    1),
                                 -EINVAL);
                assert_int_equal(ex_put_float_array(&c, EX_TAG_FLOAT_LIST,
                                                    raw, 0),
                                 -EINVAL);
                assert_int_equal(ex_put_float_array(&c, EX_TAG_FLOAT_LIST,
                                                    NULL, 1),
                                 -EINVAL);
                assert_int_equal(c.len, b.len);
                ex_buf_free(&c);
        }
        /* Malformed: empty, short data (checked at the header), every
         * truncation, a trailing byte, the limits. */
        {
                uint8_t in[5 + 16] = {EX_TAG_FLOAT_LIST, 2, 0, 0, 0};
                struct ex_limits tight = lim;
                struct ex_reader r;
                struct ex_item it;

                assert_int_equal(validate_exact(in, sizeof(in), &lim), 0);
                for (size_t k = 0; k < sizeof(in); k++)
                        assert_int_equal(validate_exact(in, k, &lim),
                                         -EBADMSG);
                in[1] = 3; /* 3 claimed, 2 there */
                ex_reader_init(&r, in, sizeof(in), &lim);
                assert_int_equal(ex_read(&r, &it), -EBADMSG);
                assert_true(r.p == in); /* nothing consumed */
                in[1] = 1; /* a double trails */
                assert_int_equal(validate_exact(in, sizeof(in), &lim),
                                 -EBADMSG);
                in[1] = 0;
                assert_int_equal(validate_exact(in, 5, &lim), -EBADMSG);
                in[1] = 2;
                tight.max_container_len = 1;
                assert_int_equal(validate_exact(in, sizeof(in), &tight),
                                 -E2BIG);
                tight = lim;
                tight.max_items = 2;
                assert_int_equal(validate_exact(in, sizeof(in), &tight),
                                 -E2BIG);
                tight = lim;
                tight.max_depth = 0;
                assert_int_equal(validate_exact(in, sizeof(in), &tight),
                                 -ELOOP);
        }
        ex_buf_free(&b);
}

/* tag, width, count and `have` bytes of data: what ex_read says of the
 * header (so a count the data cannot back is refused there, not later),
 * then ex_reader_finish. */
static int int_array_case(uint8_t tag, uint8_t width, uint32_t count,
                          size_t have, const struct ex_limits *lim)
{
        size_t n = 6 + have;
        uint8_t *in = malloc(n);
        struct ex_reader r;
        struct ex_item it;
        int rc;

        assert_non_null(in);
        in[0] = tag;
        in[1] = width;
        for (int k = 0; k < 4; k++)
                in[2 + k] = (uint8_t)(count >> (8 * k));
        memset(in + 6, 0x5a, have);
        ex_reader_init(&r, in, n, lim);
        rc = ex_read(&r, &it);
        /* Never past the input, whatever the count claims. */
        assert_true(r.p <= r.end);
        if (rc == 0)
                rc = ex_reader_finish(&r);
        assert_int_equal(ex_validate(in, n, lim), rc);
        free(in);
        return rc;
}

static void test_int_array_malformed(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_limits tight = lim;
        uint8_t in[8];

        (void)state;
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 4, 3, 12, &lim), 0);
        assert_int_equal(int_array_case(EX_TAG_INT_TUPLE, 1, 3, 3, &lim), 0);
        /* Widths other than 1, 2, 4, 8; an empty one (never encoded). */
        for (unsigned w = 0; w < 256; w++)
                if (w != 1 && w != 2 && w != 4 && w != 8)
                        assert_int_equal(int_array_case(EX_TAG_INT_LIST,
                                                        (uint8_t)w, 1, w,
                                                        &lim),
                                         -EBADMSG);
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 1, 0, 0, &lim),
                         -EBADMSG);
        /* The data must all be there: count * width against the bytes
         * left, before anyone allocates for `count`. */
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 4, 3, 11, &lim),
                         -EBADMSG);
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 8, 1u << 24, 64,
                                        &lim),
                         -EBADMSG);
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 8, UINT32_MAX, 64,
                                        &lim),
                         -E2BIG); /* over max_container_len first */
        /* A byte trailing: the item is fine, the value is not. */
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 2, 3, 7, &lim),
                         -EBADMSG);
        {
                uint8_t one[] = {EX_TAG_INT_LIST, 1, 1, 0, 0, 0, 7, 0};
                struct ex_reader r;
                struct ex_item it;

                ex_reader_init(&r, one, sizeof(one), &lim);
                OK(ex_read(&r, &it));
                assert_int_equal(ex_reader_remaining(&r), 1);
        }
        /* Every truncation of a valid one, header included. */
        memset(in, 0, sizeof(in));
        in[0] = EX_TAG_INT_TUPLE;
        in[1] = 1;
        in[2] = 2;
        assert_int_equal(validate_exact(in, 8, &lim), 0);
        for (size_t n = 0; n < 8; n++)
                assert_int_equal(validate_exact(in, n, &lim), -EBADMSG);
        /* Limits: items in one container, items in one value (the header
         * and each int count), depth (it is a container). */
        tight.max_container_len = 4;
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 1, 4, 4, &tight), 0);
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 1, 5, 5, &tight),
                         -E2BIG);
        tight = lim;
        tight.max_items = 5;
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 1, 4, 4, &tight), 0);
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 1, 5, 5, &tight),
                         -E2BIG);
        tight = lim;
        tight.max_depth = 0;
        assert_int_equal(int_array_case(EX_TAG_INT_LIST, 1, 1, 1, &tight),
                         -ELOOP);
        {
                /* [[1]] packed inside a list: depth 2. */
                uint8_t nested[] = {EX_TAG_LIST, 1, 0, 0, 0,
                                    EX_TAG_INT_LIST, 1, 1, 0, 0, 0, 7};

                tight.max_depth = 2;
                assert_int_equal(validate_exact(nested, sizeof(nested),
                                                &tight),
                                 0);
                tight.max_depth = 1;
                assert_int_equal(validate_exact(nested, sizeof(nested),
                                                &tight),
                                 -ELOOP);
        }
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

static void encode_stdlib(struct ex_buf *b);

/* A tuple holding the nested value and one of every other kind (fd tags
 * aside: they need a frame with fds). */
static void encode_all_kinds(struct ex_buf *b)
{
        static const uint8_t big[] = {1, 2, 3, 0xff};

        static const uint8_t packed[] = {0xfe, 0xff, 0x01, 0x80};

        static const uint8_t dbl[8] = {0, 0, 0, 0, 0, 0, 0xf8, 0x3f};

        OK(ex_put_container(b, EX_TAG_TUPLE, 14));
        encode_nested(b);
        OK(ex_put_int_array(b, EX_TAG_INT_LIST, 2, packed, 2));
        OK(ex_put_int_array(b, EX_TAG_INT_TUPLE, 1, packed, 1));
        OK(ex_put_float_array(b, EX_TAG_FLOAT_LIST, dbl, 1));
        encode_stdlib(b);
        OK(ex_put_bool(b, true));
        OK(ex_put_bigint(b, big, sizeof(big)));
        OK(ex_put_complex(b, 1, 2));
        OK(ex_put_str(b, "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
        OK(ex_put_blob(b, EX_TAG_BYTEARRAY, "ab", 2));
        OK(ex_put_blob(b, EX_TAG_PICKLE, "p", 1));
        OK(ex_put_handle(b, EX_TAG_HANDLE, 7));
        OK(ex_put_handle(b, EX_TAG_BACKREF, 8));
        OK(ex_put_type_handle(b, 9, "m.P\xc3\xa9", 5));
}

static void test_type_handle(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;
        char longest[EX_TYPE_NAME_MAX + 1];

        (void)state;
        memset(longest, 'a', sizeof(longest));
        OK(ex_put_container(&b, EX_TAG_LIST, 3));
        OK(ex_put_type_handle(&b, UINT64_MAX, "mymod.Point", 11));
        OK(ex_put_type_handle(&b, 0, NULL, 0));
        OK(ex_put_type_handle(&b, 5, longest, EX_TYPE_NAME_MAX));
        assert_int_equal(b.len, 5 + (10 + 11) + 10 + (10 + EX_TYPE_NAME_MAX));
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_LIST, 3);
        next(&d, EX_TAG_TYPE_HANDLE);
        assert_true(d.it.v.th.id == UINT64_MAX);
        assert_int_equal(d.it.v.th.name_len, 11);
        assert_memory_equal(d.it.v.th.name, "mymod.Point", 11);
        next(&d, EX_TAG_TYPE_HANDLE);
        assert_true(d.it.v.th.id == 0);
        assert_int_equal(d.it.v.th.name_len, 0);
        next(&d, EX_TAG_TYPE_HANDLE);
        assert_int_equal(d.it.v.th.name_len, EX_TYPE_NAME_MAX);
        assert_memory_equal(d.it.v.th.name, longest, EX_TYPE_NAME_MAX);
        dec_done(&d);

        /* The encoder refuses what the reader would, writing nothing. */
        ex_buf_reset(&b);
        assert_int_equal(ex_put_type_handle(&b, 1, longest,
                                            EX_TYPE_NAME_MAX + 1),
                         -EINVAL);
        assert_int_equal(ex_put_type_handle(&b, 1, "\xc3", 1), -EINVAL);
        assert_int_equal(ex_put_type_handle(&b, 1, "\xed\xa0\x80", 3),
                         -EINVAL);
        assert_int_equal(ex_put_type_handle(&b, 1, NULL, 1), -EINVAL);
        assert_int_equal(b.len, 0);

        /* Malformed: every truncation, a length past the end, bad UTF-8. */
        OK(ex_put_type_handle(&b, 7, "ab", 2));
        OK(validate_exact(b.data, b.len, &lim));
        for (size_t n = 0; n < b.len; n++)
                assert_int_equal(validate_exact(b.data, n, &lim), -EBADMSG);
        b.data[9] = 3; /* claims one byte more than there is */
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EBADMSG);
        b.data[9] = 1; /* one byte fewer: a byte trails */
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EBADMSG);
        b.data[9] = 2;
        b.data[10] = 0xff; /* never valid UTF-8 */
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EBADMSG);
        b.data[10] = 0xc3; /* a sequence cut short */
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EBADMSG);
        ex_buf_free(&b);
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
        static const uint8_t bad[] = {0x00, 0x0e, 0x0f, 0x16, 0x1f, 0x23,
                                      0x2f, 0x31, 0x3f, 0x49, 0x80, 0xff};
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

/* ---- standard-library values ------------------------------------------ */

#define DAY_US (86400ll * 1000000)
#define SINT(a) ((struct ex_sint){(a), sizeof(a)})

static const uint8_t uuid_bytes[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
                                       0x4d, 0xef, 0x80, 0x01, 0x02, 0x03,
                                       0x04, 0x05, 0x06, 0xff};
static const uint8_t s_m3[] = {0xfd}; /* -3 */
static const uint8_t s_7[] = {7};
static const uint8_t s_0[] = {0};
static const uint8_t s_1[] = {1};
static const uint8_t s_10[] = {10, 0, 0}; /* not minimal: still 10 */
static const uint8_t s_big[20] = {1,  2,  3,  4,  5,  6,  7,  8,  9,   10,
                                  11, 12, 13, 14, 15, 16, 17, 18, 19, 0x40};
static const uint8_t s_big_pos[9] = {9, 8, 7, 6, 5, 4, 3, 2, 0x01};
static const uint8_t s_neg_big[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0x80};

static struct ex_tzinfo tz_fixed(int64_t off)
{
        return (struct ex_tzinfo){.kind = EX_TZ_FIXED, .offset_us = off};
}

static struct ex_tzinfo tz_named(const char *name, int64_t off)
{
        return (struct ex_tzinfo){.kind = EX_TZ_NAMED,
                                  .offset_us = off,
                                  .name = (const uint8_t *)name,
                                  .name_len = (uint8_t)strlen(name)};
}

/* One of each standard-library kind, 19 items in a list; the last, a
 * slice, nests a list and another slice. */
static void encode_stdlib(struct ex_buf *b)
{
        struct ex_datetime v;
        struct ex_timedelta td;
        struct ex_tzinfo tz;

        OK(ex_put_container(b, EX_TAG_LIST, 19));
        OK(ex_put_ellipsis(b));
        v = (struct ex_datetime){.year = 2024, .month = 2, .day = 29};
        OK(ex_put_datetime(b, EX_TAG_DATE, &v));
        v = (struct ex_datetime){.hour = 23,
                                 .minute = 59,
                                 .second = 59,
                                 .fold = 1,
                                 .microsecond = 999999};
        OK(ex_put_datetime(b, EX_TAG_TIME, &v));
        v = (struct ex_datetime){.tz = tz_fixed(-3600ll * 1000000)};
        OK(ex_put_datetime(b, EX_TAG_TIME, &v));
        v = (struct ex_datetime){9999, 12, 31, 23, 59, 59, 0, 999999,
                                 tz_named("CET", 3600ll * 1000000)};
        OK(ex_put_datetime(b, EX_TAG_DATETIME, &v));
        v = (struct ex_datetime){
                .year = 1, .month = 1, .day = 1, .tz = tz_named("", DAY_US - 1)};
        OK(ex_put_datetime(b, EX_TAG_DATETIME, &v));
        tz = tz_fixed(-(DAY_US - 1));
        OK(ex_put_timezone(b, &tz));
        tz = tz_named("h\xc3\xa9llo \xf0\x9f\x98\x80", 1);
        OK(ex_put_timezone(b, &tz));
        td = (struct ex_timedelta){-999999999, 0, 0};
        OK(ex_put_timedelta(b, &td));
        td = (struct ex_timedelta){999999999, 86399, 999999};
        OK(ex_put_timedelta(b, &td));
        OK(ex_put_decimal(b, "-1.5E+10", 8));
        OK(ex_put_decimal(b, "sNaN42", 6));
        OK(ex_put_decimal(b, "Infinity", 8));
        OK(ex_put_uuid(b, uuid_bytes));
        OK(ex_put_fraction(b, SINT(s_m3), SINT(s_7)));
        OK(ex_put_fraction(b, SINT(s_big), SINT(s_big_pos)));
        OK(ex_put_range(b, SINT(s_0), SINT(s_10), SINT(s_1)));
        OK(ex_put_range(b, SINT(s_big), SINT(s_neg_big), SINT(s_m3)));
        /* slice(None, [1], slice(..., 2, 3)) */
        OK(ex_put_slice(b));
        OK(ex_put_none(b));
        OK(ex_put_container(b, EX_TAG_LIST, 1));
        OK(ex_put_int(b, 1));
        OK(ex_put_slice(b));
        OK(ex_put_ellipsis(b));
        OK(ex_put_int(b, 2));
        OK(ex_put_int(b, 3));
}

/* [bytes in fd 1 (65536), bytearray in fd 0 (100)]: two fds, both named. */
static void encode_fd_tags(struct ex_buf *b)
{
        OK(ex_put_container(b, EX_TAG_LIST, 2));
        OK(ex_put_fd_blob(b, EX_TAG_BYTES_FD, 1, 65536));
        OK(ex_put_fd_blob(b, EX_TAG_BYTEARRAY_FD, 0, 100));
}

static void next_dt(struct dec *d, uint8_t tag, const struct ex_datetime *want)
{
        const struct ex_datetime *got = &d->it.v.dt;

        next(d, tag);
        if (tag == EX_TAG_DATE || tag == EX_TAG_DATETIME) {
                assert_int_equal(got->year, want->year);
                assert_int_equal(got->month, want->month);
                assert_int_equal(got->day, want->day);
        }
        if (tag == EX_TAG_TIME || tag == EX_TAG_DATETIME) {
                assert_int_equal(got->hour, want->hour);
                assert_int_equal(got->minute, want->minute);
                assert_int_equal(got->second, want->second);
                assert_int_equal(got->microsecond, want->microsecond);
                assert_int_equal(got->fold, want->fold);
        }
        if (tag != EX_TAG_DATE) {
                assert_int_equal(got->tz.kind, want->tz.kind);
                if (want->tz.kind != EX_TZ_NONE)
                        assert_true(got->tz.offset_us == want->tz.offset_us);
                if (want->tz.kind == EX_TZ_NAMED) {
                        assert_int_equal(got->tz.name_len, want->tz.name_len);
                        if (want->tz.name_len)
                                assert_memory_equal(got->tz.name,
                                                    want->tz.name,
                                                    want->tz.name_len);
                }
        }
}

static void next_ints(struct dec *d, uint8_t tag, const struct ex_sint *want,
                      int count)
{
        next(d, tag);
        for (int i = 0; i < count; i++) {
                assert_int_equal(d->it.v.ints[i].n, want[i].n);
                assert_memory_equal(d->it.v.ints[i].le, want[i].le,
                                    want[i].n);
        }
}

static void next_td(struct dec *d, int32_t days, int32_t s, int32_t us)
{
        next(d, EX_TAG_TIMEDELTA);
        assert_int_equal(d->it.v.td.days, days);
        assert_int_equal(d->it.v.td.seconds, s);
        assert_int_equal(d->it.v.td.microseconds, us);
}

static void test_roundtrip_stdlib(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;
        struct ex_datetime want;
        const struct ex_sint fr1[] = {SINT(s_m3), SINT(s_7)};
        const struct ex_sint fr2[] = {SINT(s_big), SINT(s_big_pos)};
        const struct ex_sint rg1[] = {SINT(s_0), SINT(s_10), SINT(s_1)};
        const struct ex_sint rg2[] = {SINT(s_big), SINT(s_neg_big),
                                      SINT(s_m3)};

        (void)state;
        encode_stdlib(&b);
        dec_open(&d, &b, &lim);
        next_count(&d, EX_TAG_LIST, 19);
        next(&d, EX_TAG_ELLIPSIS);
        want = (struct ex_datetime){.year = 2024, .month = 2, .day = 29};
        next_dt(&d, EX_TAG_DATE, &want);
        want = (struct ex_datetime){.hour = 23,
                                    .minute = 59,
                                    .second = 59,
                                    .fold = 1,
                                    .microsecond = 999999};
        next_dt(&d, EX_TAG_TIME, &want);
        want = (struct ex_datetime){.tz = tz_fixed(-3600ll * 1000000)};
        next_dt(&d, EX_TAG_TIME, &want);
        want = (struct ex_datetime){9999, 12, 31, 23, 59, 59, 0, 999999,
                                    tz_named("CET", 3600ll * 1000000)};
        next_dt(&d, EX_TAG_DATETIME, &want);
        want = (struct ex_datetime){
                .year = 1, .month = 1, .day = 1, .tz = tz_named("", DAY_US - 1)};
        next_dt(&d, EX_TAG_DATETIME, &want);
        want = (struct ex_datetime){.tz = tz_fixed(-(DAY_US - 1))};
        next_dt(&d, EX_TAG_TIMEZONE, &want);
        want = (struct ex_datetime){
                .tz = tz_named("h\xc3\xa9llo \xf0\x9f\x98\x80", 1)};
        next_dt(&d, EX_TAG_TIMEZONE, &want);
        next_td(&d, -999999999, 0, 0);
        next_td(&d, 999999999, 86399, 999999);
        next_blob(&d, EX_TAG_DECIMAL, "-1.5E+10", 8);
        next_blob(&d, EX_TAG_DECIMAL, "sNaN42", 6);
        next_blob(&d, EX_TAG_DECIMAL, "Infinity", 8);
        next_blob(&d, EX_TAG_UUID, uuid_bytes, 16);
        next_ints(&d, EX_TAG_FRACTION, fr1, 2);
        next_ints(&d, EX_TAG_FRACTION, fr2, 2);
        next_ints(&d, EX_TAG_RANGE, rg1, 3);
        next_ints(&d, EX_TAG_RANGE, rg2, 3);
        /* A slice nests like a three-item container. */
        next_count(&d, EX_TAG_SLICE, 3);
        assert_int_equal(d.r.depth, 2);
        next(&d, EX_TAG_NONE);
        next_count(&d, EX_TAG_LIST, 1);
        next(&d, EX_TAG_INT);
        next_count(&d, EX_TAG_SLICE, 3);
        assert_int_equal(d.r.depth, 3);
        next(&d, EX_TAG_ELLIPSIS);
        next(&d, EX_TAG_INT);
        next(&d, EX_TAG_INT);
        assert_int_equal(d.r.depth, 0);
        dec_done(&d);

        /* The bytes on the wire, for one of each fixed layout. */
        ex_buf_reset(&b);
        want = (struct ex_datetime){2024, 2, 29, 13, 14, 15, 1, 0x010203,
                                    tz_named("X", -1)};
        OK(ex_put_datetime(&b, EX_TAG_DATETIME, &want));
        {
                static const uint8_t wire[] = {
                        EX_TAG_DATETIME, 0xe8, 0x07, 2, 29, 13, 14, 15,
                        0x03, 0x02, 0x01, 0x00, 1, EX_TZ_NAMED, 0xff, 0xff,
                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 'X'};

                assert_int_equal(b.len, sizeof(wire));
                assert_memory_equal(b.data, wire, sizeof(wire));
        }
        ex_buf_free(&b);
}

static void test_stdlib_field_checks(void **state)
{
        static const uint8_t last_day[12] = {31, 28, 31, 30, 31, 30,
                                             31, 31, 30, 31, 30, 31};
        struct ex_tzinfo tz;

        (void)state;
        for (unsigned m = 1; m <= 12; m++) {
                assert_true(ex_date_valid(2023, m, last_day[m - 1]));
                assert_false(ex_date_valid(2023, m, last_day[m - 1] + 1u));
                assert_true(ex_date_valid(2023, m, 1));
                assert_false(ex_date_valid(2023, m, 0));
        }
        /* Leap years: every 4th, not every 100th, every 400th. */
        assert_true(ex_date_valid(2024, 2, 29));
        assert_true(ex_date_valid(2000, 2, 29));
        assert_false(ex_date_valid(1900, 2, 29));
        assert_false(ex_date_valid(2023, 2, 29));
        assert_true(ex_date_valid(1, 1, 1));
        assert_true(ex_date_valid(9999, 12, 31));
        assert_false(ex_date_valid(0, 1, 1));
        assert_false(ex_date_valid(10000, 1, 1));
        assert_false(ex_date_valid(2023, 0, 1));
        assert_false(ex_date_valid(2023, 13, 1));

        assert_true(ex_time_valid(0, 0, 0, 0, 0));
        assert_true(ex_time_valid(23, 59, 59, 999999, 1));
        assert_false(ex_time_valid(24, 0, 0, 0, 0));
        assert_false(ex_time_valid(0, 60, 0, 0, 0));
        assert_false(ex_time_valid(0, 0, 60, 0, 0));
        assert_false(ex_time_valid(0, 0, 0, 1000000, 0));
        assert_false(ex_time_valid(0, 0, 0, 0, 2));

        assert_true(ex_timedelta_valid(0, 0, 0));
        assert_true(ex_timedelta_valid(-999999999, 0, 0));
        assert_true(ex_timedelta_valid(999999999, 86399, 999999));
        assert_false(ex_timedelta_valid(-1000000000, 0, 0));
        assert_false(ex_timedelta_valid(1000000000, 0, 0));
        assert_false(ex_timedelta_valid(0, -1, 0));
        assert_false(ex_timedelta_valid(0, 86400, 0));
        assert_false(ex_timedelta_valid(0, 0, -1));
        assert_false(ex_timedelta_valid(0, 0, 1000000));

        tz = (struct ex_tzinfo){.kind = EX_TZ_NONE};
        assert_true(ex_tzinfo_valid(&tz, true));
        assert_false(ex_tzinfo_valid(&tz, false));
        tz.kind = 3;
        assert_false(ex_tzinfo_valid(&tz, true));
        /* Strictly within a day, both ways. */
        tz = tz_fixed(DAY_US - 1);
        assert_true(ex_tzinfo_valid(&tz, false));
        tz = tz_fixed(-(DAY_US - 1));
        assert_true(ex_tzinfo_valid(&tz, false));
        tz = tz_fixed(DAY_US);
        assert_false(ex_tzinfo_valid(&tz, false));
        tz = tz_fixed(-DAY_US);
        assert_false(ex_tzinfo_valid(&tz, false));
        tz = tz_fixed(INT64_MIN);
        assert_false(ex_tzinfo_valid(&tz, false));
        tz = tz_named("UTC", 0);
        assert_true(ex_tzinfo_valid(&tz, false));
        tz = tz_named("\xed\xa0\x80", 0); /* a surrogate */
        assert_false(ex_tzinfo_valid(&tz, false));
        tz = tz_named("UTC", DAY_US);
        assert_false(ex_tzinfo_valid(&tz, false));
}

/* A hand-built input. */
struct raw {
        uint8_t b[400];
        size_t n;
};

static void r8(struct raw *r, uint8_t v)
{
        assert_true(r->n < sizeof(r->b));
        r->b[r->n++] = v;
}

static void rle(struct raw *r, uint64_t v, int bytes)
{
        for (int i = 0; i < bytes; i++)
                r8(r, (uint8_t)(v >> (8 * i)));
}

static void rmem(struct raw *r, const void *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                r8(r, ((const uint8_t *)p)[i]);
}

static void rdate(struct raw *r, unsigned y, unsigned m, unsigned d)
{
        rle(r, y, 2);
        r8(r, (uint8_t)m);
        r8(r, (uint8_t)d);
}

static void rtime(struct raw *r, unsigned h, unsigned mi, unsigned s,
                  uint32_t us, unsigned fold)
{
        r8(r, (uint8_t)h);
        r8(r, (uint8_t)mi);
        r8(r, (uint8_t)s);
        rle(r, us, 4);
        r8(r, (uint8_t)fold);
}

static void rtz(struct raw *r, uint8_t kind, int64_t off, const char *name,
                size_t name_len)
{
        r8(r, kind);
        if (kind == EX_TZ_FIXED || kind == EX_TZ_NAMED)
                rle(r, (uint64_t)off, 8);
        if (kind == EX_TZ_NAMED) {
                r8(r, (uint8_t)name_len);
                rmem(r, name, name_len);
        }
}

static void rsint(struct raw *r, const void *le, uint32_t n)
{
        rle(r, n, 4);
        rmem(r, le, n);
}

static int check_raw(const struct raw *r, const struct ex_limits *lim)
{
        return validate_exact(r->b, r->n, lim);
}

#define EXPECT(want, ...)                                                      \
        do {                                                                   \
                struct raw r_ = {.n = 0};                                      \
                struct raw *r = &r_;                                           \
                __VA_ARGS__;                                                   \
                assert_int_equal(check_raw(r, &lim), (want));                  \
        } while (0)

static void test_stdlib_malformed(void **state)
{
        struct ex_limits lim = ex_limits_default();
        static const uint8_t zero2[] = {0, 0}, neg[] = {0xff};

        (void)state;
        /* date */
        EXPECT(0, r8(r, EX_TAG_DATE); rdate(r, 2024, 2, 29));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 2023, 2, 29));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 0, 1, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 10000, 1, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 65535, 1, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 2000, 0, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 2000, 13, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 2000, 4, 31));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 2000, 1, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rdate(r, 2000, 1, 255));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATE); rle(r, 2000, 2); r8(r, 1));
        /* time: every field out of range, then the tz */
        EXPECT(0, r8(r, EX_TAG_TIME); rtime(r, 23, 59, 59, 999999, 1);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 24, 0, 0, 0, 0);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 60, 0, 0, 0);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 60, 0, 0);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 1000000, 0);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, UINT32_MAX, 0);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 2);
               rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0);
               rtz(r, 3, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0));
        EXPECT(0, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0);
               rtz(r, EX_TZ_FIXED, DAY_US - 1, NULL, 0));
        EXPECT(0, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0);
               rtz(r, EX_TZ_FIXED, -(DAY_US - 1), NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0);
               rtz(r, EX_TZ_FIXED, DAY_US, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0);
               rtz(r, EX_TZ_FIXED, -DAY_US, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIME); rtime(r, 0, 0, 0, 0, 0);
               rtz(r, EX_TZ_FIXED, INT64_MIN, NULL, 0));
        /* tz names: strict UTF-8, and all there */
        EXPECT(0, r8(r, EX_TAG_TIMEZONE);
               rtz(r, EX_TZ_NAMED, 0, "\xc3\xa9t\xc3\xa9", 6));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE);
               rtz(r, EX_TZ_NAMED, 0, "\xc3", 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE);
               rtz(r, EX_TZ_NAMED, 0, "\xed\xa0\x80", 3));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE);
               rtz(r, EX_TZ_NAMED, 0, "\xc0\x80", 2));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE);
               rtz(r, EX_TZ_NAMED, 0, "\xff", 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE); r8(r, EX_TZ_NAMED);
               rle(r, 0, 8); r8(r, 5); rmem(r, "abc", 3));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE); r8(r, EX_TZ_NAMED);
               rle(r, 0, 8));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE); r8(r, EX_TZ_FIXED);
               rle(r, 0, 7));
        /* a bare timezone is never "none" */
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE); rtz(r, EX_TZ_NONE, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEZONE);
               rtz(r, EX_TZ_NAMED, DAY_US, "x", 1));
        /* datetime: a bad date, a bad time or a bad tz */
        EXPECT(0, r8(r, EX_TAG_DATETIME); rdate(r, 1, 1, 1);
               rtime(r, 0, 0, 0, 0, 0); rtz(r, EX_TZ_NAMED, 1, "", 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATETIME); rdate(r, 1900, 2, 29);
               rtime(r, 0, 0, 0, 0, 0); rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATETIME); rdate(r, 1, 1, 1);
               rtime(r, 0, 0, 0, 0, 7); rtz(r, 0, 0, NULL, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DATETIME); rdate(r, 1, 1, 1);
               rtime(r, 0, 0, 0, 0, 0); rtz(r, EX_TZ_NAMED, 0, "\x80", 1));
        /* timedelta, normalised */
        EXPECT(0, r8(r, EX_TAG_TIMEDELTA); rle(r, (uint32_t)-999999999, 4);
               rle(r, 86399, 4); rle(r, 999999, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA); rle(r, 1000000000, 4);
               rle(r, 0, 4); rle(r, 0, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA);
               rle(r, (uint32_t)-1000000000, 4); rle(r, 0, 4); rle(r, 0, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA); rle(r, 0, 4);
               rle(r, 86400, 4); rle(r, 0, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA); rle(r, 0, 4);
               rle(r, (uint32_t)-1, 4); rle(r, 0, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA); rle(r, 0, 4); rle(r, 0, 4);
               rle(r, 1000000, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA); rle(r, 0, 4); rle(r, 0, 4);
               rle(r, (uint32_t)-1, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_TIMEDELTA); rle(r, 0, 4); rle(r, 0, 4);
               rle(r, 0, 3));
        /* uuid: 16 bytes, all there */
        EXPECT(0, r8(r, EX_TAG_UUID); rmem(r, uuid_bytes, 16));
        EXPECT(-EBADMSG, r8(r, EX_TAG_UUID); rmem(r, uuid_bytes, 15));
        /* fraction: denominator > 0, non-empty sints within the cap */
        EXPECT(0, r8(r, EX_TAG_FRACTION); rsint(r, neg, 1); rsint(r, s_7, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 1);
               rsint(r, zero2, 2));
        EXPECT(-EBADMSG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 1);
               rsint(r, neg, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 1);
               rsint(r, s_neg_big, 9));
        EXPECT(-EBADMSG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 0);
               rsint(r, s_7, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 1);
               rle(r, 2, 4); r8(r, 1));
        /* range: step != 0 */
        EXPECT(0, r8(r, EX_TAG_RANGE); rsint(r, s_0, 1); rsint(r, s_0, 1);
               rsint(r, neg, 1));
        EXPECT(-EBADMSG, r8(r, EX_TAG_RANGE); rsint(r, s_0, 1);
               rsint(r, s_10, 3); rsint(r, zero2, 2));
        EXPECT(-EBADMSG, r8(r, EX_TAG_RANGE); rsint(r, s_0, 1);
               rsint(r, s_10, 3); rsint(r, s_1, 0));
        EXPECT(-EBADMSG, r8(r, EX_TAG_RANGE); rsint(r, s_0, 1);
               rsint(r, s_10, 3));
        /* decimal: only literals */
        EXPECT(0, r8(r, EX_TAG_DECIMAL); rle(r, 3, 4); rmem(r, "1.5", 3));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DECIMAL); rle(r, 3, 4);
               rmem(r, "1,5", 3));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DECIMAL); rle(r, 0, 4));
        EXPECT(-EBADMSG, r8(r, EX_TAG_DECIMAL); rle(r, 4, 4);
               rmem(r, "1.5", 3));
        /* slice: three items, nesting like a container */
        EXPECT(0, r8(r, EX_TAG_SLICE); r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE);
               r8(r, EX_TAG_ELLIPSIS));
        EXPECT(-EBADMSG, r8(r, EX_TAG_SLICE); r8(r, EX_TAG_NONE);
               r8(r, EX_TAG_NONE));
        EXPECT(-EBADMSG, r8(r, EX_TAG_SLICE); r8(r, EX_TAG_NONE);
               r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE));
        EXPECT(-EBADMSG, r8(r, EX_TAG_SLICE));
        /* Caps: big ints, the depth and the item count apply. */
        lim.max_bigint_bytes = 2;
        EXPECT(0, r8(r, EX_TAG_RANGE); rsint(r, zero2, 2); rsint(r, s_1, 1);
               rsint(r, s_1, 1));
        EXPECT(-E2BIG, r8(r, EX_TAG_RANGE); rsint(r, s_10, 3);
               rsint(r, s_1, 1); rsint(r, s_1, 1));
        EXPECT(-E2BIG, r8(r, EX_TAG_FRACTION); rsint(r, s_1, 1);
               rsint(r, s_10, 3));
        lim = ex_limits_default();
        lim.max_depth = 1;
        EXPECT(0, r8(r, EX_TAG_SLICE); r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE);
               r8(r, EX_TAG_NONE));
        EXPECT(-ELOOP, r8(r, EX_TAG_SLICE); r8(r, EX_TAG_SLICE);
               r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE);
               r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE));
        EXPECT(-ELOOP, r8(r, EX_TAG_LIST); rle(r, 1, 4); r8(r, EX_TAG_SLICE);
               r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE));
        lim = ex_limits_default();
        lim.max_items = 3;
        EXPECT(-E2BIG, r8(r, EX_TAG_SLICE); r8(r, EX_TAG_NONE);
               r8(r, EX_TAG_NONE); r8(r, EX_TAG_NONE));
        lim.max_bytes_len = 2;
        lim.max_items = 10;
        EXPECT(-E2BIG, r8(r, EX_TAG_DECIMAL); rle(r, 3, 4); rmem(r, "1.5", 3));
}

struct dec_case {
        const char *s;
        bool ok;
};

static void test_decimal_literals(void **state)
{
        static const struct dec_case cases[] = {
                {"0", true},
                {"-0", true},
                {"+12.50", true},
                {"1.", true},
                {".5", true},
                {"1E+5", true},
                {"1e-7", true},
                {"-1.23E+999999999999999999", true},
                {"1E+12345678901234567890", true}, /* 20 digits */
                {"1E+123456789012345678901", false},
                {"Infinity", true},
                {"-inf", true},
                {"+INFINITY", true},
                {"NaN", true},
                {"-nan", true},
                {"NaN123", true},
                {"sNaN", true},
                {"-sNaN42", true},
                {"", false},
                {"+", false},
                {"-", false},
                {".", false},
                {"1e", false},
                {"1e+", false},
                {"e5", false},
                {".e5", false},
                {"1.2.3", false},
                {" 1", false},
                {"1 ", false},
                {"1_000", false},
                {"0x10", false},
                {"Infinit", false},
                {"Infinityy", false},
                {"in", false},
                {"NaNx", false},
                {"NaN1.5", false},
                {"sNaN-1", false},
                {"nan nan", false},
                {"1\xd9\xa3", false}, /* an Arabic-Indic digit */
                {"1e5.5", false},
                {"--1", false},
        };
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                size_t n = strlen(cases[i].s);
                uint8_t *c = exact(cases[i].s, n);

                assert_int_equal(ex_decimal_literal_valid(c, n), cases[i].ok);
                free(c);
                ex_buf_reset(&b);
                assert_int_equal(ex_put_decimal(&b, cases[i].s, n),
                                 cases[i].ok ? 0 : -EINVAL);
                if (!cases[i].ok) {
                        assert_int_equal(b.len, 0);
                        /* The reader refuses what the encoder would. */
                        OK(ex_put_blob(&b, EX_TAG_STR, cases[i].s, n));
                        b.data[0] = EX_TAG_DECIMAL;
                }
                assert_int_equal(validate_exact(b.data, b.len, &lim),
                                 cases[i].ok ? 0 : -EBADMSG);
        }
        ex_buf_free(&b);
}

static void test_stdlib_encoder_errors(void **state)
{
        struct ex_buf b = {0};
        struct ex_datetime v = {.year = 2023, .month = 2, .day = 29};
        struct ex_timedelta td = {0, 86400, 0};
        struct ex_tzinfo tz = {.kind = EX_TZ_NONE};
        const struct ex_sint empty = {s_1, 0};

        (void)state;
        /* Refused, and nothing written. */
        assert_int_equal(ex_put_datetime(&b, EX_TAG_DATE, &v), -EINVAL);
        assert_int_equal(ex_put_datetime(&b, EX_TAG_DATETIME, &v), -EINVAL);
        v = (struct ex_datetime){.year = 2024, .month = 2, .day = 29};
        OK(ex_put_datetime(&b, EX_TAG_DATE, &v));
        /* a time of 00:00 with no tz is fine, fold 2 is not */
        v.fold = 2;
        assert_int_equal(ex_put_datetime(&b, EX_TAG_TIME, &v), -EINVAL);
        v.fold = 0;
        v.tz = tz_fixed(DAY_US);
        assert_int_equal(ex_put_datetime(&b, EX_TAG_DATETIME, &v), -EINVAL);
        v.tz = tz_named("\xc3", 0);
        assert_int_equal(ex_put_datetime(&b, EX_TAG_TIME, &v), -EINVAL);
        assert_int_equal(ex_put_datetime(&b, EX_TAG_TIMEZONE, &v), -EINVAL);
        assert_int_equal(ex_put_timezone(&b, &tz), -EINVAL);
        tz = tz_fixed(-DAY_US);
        assert_int_equal(ex_put_timezone(&b, &tz), -EINVAL);
        assert_int_equal(ex_put_timedelta(&b, &td), -EINVAL);
        assert_int_equal(ex_put_decimal(&b, "1e", 2), -EINVAL);
        assert_int_equal(ex_put_fraction(&b, SINT(s_1), SINT(s_0)), -EINVAL);
        assert_int_equal(ex_put_fraction(&b, SINT(s_1), SINT(s_m3)), -EINVAL);
        assert_int_equal(ex_put_fraction(&b, empty, SINT(s_1)), -EINVAL);
        assert_int_equal(ex_put_fraction(&b, SINT(s_1), empty), -EINVAL);
        assert_int_equal(ex_put_range(&b, SINT(s_1), SINT(s_1), SINT(s_0)),
                         -EINVAL);
        assert_int_equal(ex_put_range(&b, empty, SINT(s_1), SINT(s_1)),
                         -EINVAL);
        assert_int_equal(ex_put_fd_blob(&b, EX_TAG_BYTES, 0, 1), -EINVAL);
        assert_int_equal(ex_put_fd_blob(&b, EX_TAG_BYTES_FD, 0, 0), -EINVAL);
        assert_int_equal(b.len, 5); /* only the date */

        /* A full buffer: a fraction is all or nothing. */
        ex_buf_free(&b);
        ex_buf_init(&b, 12);
        assert_int_equal(ex_put_fraction(&b, SINT(s_big), SINT(s_7)),
                         -EMSGSIZE);
        assert_int_equal(b.len, 0);
        OK(ex_put_fraction(&b, SINT(s_1), SINT(s_7)));
        assert_int_equal(b.len, 11);
        ex_buf_free(&b);
}

static void test_fd_tags(void **state)
{
        struct ex_fds fake = {.n = 2, .fd = {-1, -1}};
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct dec d;

        (void)state;
        encode_fd_tags(&b);
        d.copy = exact(b.data, b.len);
        ex_reader_init(&d.r, d.copy, b.len, &lim);
        ex_reader_use_fds(&d.r, &fake);
        next_count(&d, EX_TAG_LIST, 2);
        next(&d, EX_TAG_BYTES_FD);
        assert_int_equal(d.it.v.fd.index, 1);
        assert_true(d.it.v.fd.n == 65536);
        next(&d, EX_TAG_BYTEARRAY_FD);
        assert_int_equal(d.it.v.fd.index, 0);
        assert_true(d.it.v.fd.n == 100);
        assert_true(d.r.oob_bytes == 65636);
        dec_done(&d);

        /* Without the fds (or with fewer) the index is out of range. */
        assert_int_equal(validate_exact(b.data, b.len, &lim), -EBADMSG);
        fake.n = 1;
        assert_int_equal(ex_validate_fds(b.data, b.len, &fake, &lim),
                         -EBADMSG);
        /* An fd nobody names makes the frame malformed. */
        fake.n = 3;
        assert_int_equal(ex_validate_fds(b.data, b.len, &fake, &lim),
                         -EBADMSG);
        fake.n = 2;
        OK(ex_validate_fds(b.data, b.len, &fake, &lim));
        /* The out-of-band total is capped per value. */
        lim.max_oob_bytes = 65636;
        OK(ex_validate_fds(b.data, b.len, &fake, &lim));
        lim.max_oob_bytes = 65635;
        assert_int_equal(ex_validate_fds(b.data, b.len, &fake, &lim), -E2BIG);
        lim.max_oob_bytes = 100;
        assert_int_equal(ex_validate_fds(b.data, b.len, &fake, &lim), -E2BIG);
        lim = ex_limits_default();

        /* The same index twice. */
        ex_buf_reset(&b);
        OK(ex_put_container(&b, EX_TAG_LIST, 2));
        OK(ex_put_fd_blob(&b, EX_TAG_BYTES_FD, 0, 1));
        OK(ex_put_fd_blob(&b, EX_TAG_BYTES_FD, 0, 1));
        assert_int_equal(ex_validate_fds(b.data, b.len, &fake, &lim),
                         -EBADMSG);

        /* Zero bytes out of band is not a value. */
        {
                static const uint8_t zero_len[] = {EX_TAG_BYTES_FD, 0, 0, 0,
                                                   0, 0, 0, 0, 0, 0, 0, 0, 0};
                fake.n = 1;
                assert_int_equal(ex_validate_fds(zero_len, sizeof(zero_len),
                                                 &fake, &lim),
                                 -EBADMSG);
        }

        /* 64 fds, each named once: the whole bitmap. */
        ex_buf_reset(&b);
        OK(ex_put_container(&b, EX_TAG_TUPLE, EX_FDS_MAX));
        for (uint32_t i = 0; i < EX_FDS_MAX; i++)
                OK(ex_put_fd_blob(&b, i % 2 ? EX_TAG_BYTES_FD
                                            : EX_TAG_BYTEARRAY_FD,
                                  EX_FDS_MAX - 1 - i, 1));
        fake.n = EX_FDS_MAX;
        OK(ex_validate_fds(b.data, b.len, &fake, &lim));
        /* Claiming more fds than a frame may hold does not widen it. */
        fake.n = EX_FDS_MAX + 5;
        OK(ex_validate_fds(b.data, b.len, &fake, &lim));
        ex_buf_free(&b);
}

static void test_fd_tags_truncated(void **state)
{
        const struct ex_fds fake = {.n = 2, .fd = {-1, -1}};
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};

        (void)state;
        encode_fd_tags(&b);
        for (size_t n = 0; n < b.len; n++) {
                uint8_t *c = exact(b.data, n);

                assert_int_equal(ex_validate_fds(c, n, &fake, &lim), -EBADMSG);
                free(c);
        }
        ex_buf_free(&b);
}

static void test_blob_oob(void **state)
{
        const size_t n = EX_OOB_MIN + 12345;
        struct ex_limits lim = ex_limits_default();
        struct ex_buf b = {0};
        struct ex_reader r;
        struct ex_item it;
        uint8_t *data = malloc(n), *back = malloc(n);
        int before = count_open_fds(), seals, fd;
        pid_t pid;
        int status;

        (void)state;
        assert_non_null(data);
        assert_non_null(back);
        for (size_t i = 0; i < n; i++)
                data[i] = (uint8_t)(i * 7 + (i >> 13));
        OK(ex_put_container(&b, EX_TAG_LIST, 2));
        OK(ex_put_blob_oob(&b, EX_TAG_BYTES, data, n, EX_OOB_MAX_DEFAULT));
        OK(ex_put_blob_oob(&b, EX_TAG_BYTEARRAY, data, 10, EX_OOB_MAX_DEFAULT));
        assert_int_equal(b.fds.n, 2);
        assert_true(b.fds.bytes == n + 10);
        assert_int_equal(count_open_fds(), before + 2);
        assert_int_equal(b.len, 5 + 13 + 13);
        OK(ex_validate_fds(b.data, b.len, &b.fds, &lim));

        ex_reader_init(&r, b.data, b.len, &lim);
        ex_reader_use_fds(&r, &b.fds);
        OK(ex_read(&r, &it));
        OK(ex_read(&r, &it));
        assert_int_equal(it.tag, EX_TAG_BYTES_FD);
        assert_int_equal(it.v.fd.index, 0);
        assert_true(it.v.fd.n == n);
        fd = b.fds.fd[it.v.fd.index];
        /* Sealed for good, close-on-exec, exactly n bytes. */
        seals = fcntl(fd, F_GET_SEALS);
        assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
                                  F_SEAL_SEAL),
                         F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
                                 F_SEAL_SEAL);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        OK(ex_oob_check(fd, n));
        assert_int_equal(ex_oob_check(fd, n - 1), -EBADMSG);
        assert_int_equal(ex_oob_check(fd, n + 1), -EBADMSG);
        assert_int_equal(pwrite(fd, "x", 1, 0), -1);
        assert_int_equal(errno, EPERM);
        OK(ex_oob_read(fd, back, n));
        assert_memory_equal(back, data, n);
        /* A prefix reads fine; past the end it fails. */
        assert_int_equal(ex_oob_read(fd, back, 11), 0);
        OK(ex_read(&r, &it));
        assert_int_equal(it.tag, EX_TAG_BYTEARRAY_FD);
        assert_int_equal(ex_oob_read(b.fds.fd[1], back, 11), -EBADMSG);
        OK(ex_reader_finish(&r));

        /* Refusals leave the buffer as it was. */
        {
                size_t len = b.len;

                assert_int_equal(ex_put_blob_oob(&b, EX_TAG_STR, data, 10,
                                                 EX_OOB_MAX_DEFAULT),
                                 -EINVAL);
                assert_int_equal(ex_put_blob_oob(&b, EX_TAG_BYTES, data, 0,
                                                 EX_OOB_MAX_DEFAULT),
                                 -EINVAL);
                /* n + 10 bytes are out already: the cap counts them. */
                assert_int_equal(ex_put_blob_oob(&b, EX_TAG_BYTES, data, 1,
                                                 n + 10),
                                 -E2BIG);
                OK(ex_put_blob_oob(&b, EX_TAG_BYTES, data, 1, n + 11));
                assert_int_equal(b.len, len + 13);
                assert_int_equal(b.fds.n, 3);
        }
        /* No more than EX_FDS_MAX per buffer. */
        while (b.fds.n < EX_FDS_MAX)
                OK(ex_put_blob_oob(&b, EX_TAG_BYTES, data, 1,
                                   EX_OOB_MAX_DEFAULT));
        assert_int_equal(count_open_fds(), before + (int)EX_FDS_MAX);
        assert_int_equal(ex_put_blob_oob(&b, EX_TAG_BYTES, data, 1,
                                         EX_OOB_MAX_DEFAULT),
                         -E2BIG);
        assert_int_equal(count_open_fds(), before + (int)EX_FDS_MAX);
        /* Reset and free close them. */
        ex_buf_reset(&b);
        assert_int_equal(b.fds.n, 0);
        assert_int_equal(count_open_fds(), before);
        OK(ex_put_blob_oob(&b, EX_TAG_BYTES, data, 3, EX_OOB_MAX_DEFAULT));
        assert_int_equal(count_open_fds(), before + 1);
        ex_buf_free(&b);
        assert_int_equal(count_open_fds(), before);

        /* RLIMIT_FSIZE below the size: -EFBIG instead of SIGXFSZ (in a
         * child, so this process keeps its limits). */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = {.rlim_cur = 1000, .rlim_max = 1000};
                struct ex_buf c = {0};

                if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                        _exit(10);
                if (ex_oob_create(data, 1001) != -EFBIG)
                        _exit(11);
                if (ex_put_blob_oob(&c, EX_TAG_BYTES, data, 1001,
                                    EX_OOB_MAX_DEFAULT) != -EFBIG ||
                    c.len != 0 || c.fds.n != 0)
                        _exit(12);
                fd = ex_oob_create(data, 1000);
                if (fd < 0 || ex_oob_check(fd, 1000) != 0)
                        _exit(13);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        free(data);
        free(back);
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
               rc == -EPERM || rc == -EDQUOT;
}

/* Walk with ex_read and check what the reader promises callers. */
static int walk(const uint8_t *in, size_t n, const struct ex_fds *fds,
                const struct ex_limits *lim)
{
        struct ex_reader r;
        struct ex_item it;
        int rc;

        ex_reader_init(&r, in, n, lim);
        ex_reader_use_fds(&r, fds);
        do {
                rc = ex_read(&r, &it);
                if (rc < 0)
                        return rc;
                /* Blobs lie inside the input; counts fit the bytes left. */
                if (it.tag == EX_TAG_BIGINT || it.tag == EX_TAG_PICKLE ||
                    (it.tag >= EX_TAG_STR && it.tag <= EX_TAG_BYTEARRAY))
                        assert_true(it.v.s.p >= in &&
                                    it.v.s.n <= (size_t)(in + n - it.v.s.p));
                if (it.tag == EX_TAG_DECIMAL || it.tag == EX_TAG_UUID)
                        assert_true(it.v.s.p >= in &&
                                    it.v.s.n <= (size_t)(in + n - it.v.s.p));
                if (it.tag == EX_TAG_FRACTION || it.tag == EX_TAG_RANGE)
                        for (int k = 0; k < (it.tag == EX_TAG_RANGE ? 3 : 2);
                             k++)
                                assert_true(it.v.ints[k].le >= in &&
                                            it.v.ints[k].n >= 1 &&
                                            it.v.ints[k].n <=
                                                    (size_t)(in + n -
                                                             it.v.ints[k].le));
                if (it.tag == EX_TAG_BYTES_FD ||
                    it.tag == EX_TAG_BYTEARRAY_FD)
                        assert_true(fds && it.v.fd.index < fds->n &&
                                    it.v.fd.n <= lim->max_oob_bytes);
                if ((it.tag == EX_TAG_TIME || it.tag == EX_TAG_DATETIME ||
                     it.tag == EX_TAG_TIMEZONE) &&
                    it.v.dt.tz.kind == EX_TZ_NAMED)
                        assert_true(ex_utf8_valid(it.v.dt.tz.name,
                                                  it.v.dt.tz.name_len));
                if (it.tag == EX_TAG_TYPE_HANDLE)
                        assert_true(it.v.th.name >= in &&
                                    it.v.th.name_len <=
                                            (size_t)(in + n - it.v.th.name) &&
                                    ex_utf8_valid(it.v.th.name,
                                                  it.v.th.name_len));
                if (it.tag >= EX_TAG_LIST && it.tag <= EX_TAG_SLICE)
                        assert_true((it.tag == EX_TAG_DICT ? 2u : 1u) *
                                            (uint64_t)it.v.count <=
                                    ex_reader_remaining(&r));
                assert_true(r.depth <= EX_DEPTH_HARD_MAX);
        } while (r.depth);
        return ex_reader_finish(&r);
}

static void test_mutation_fuzz(void **state)
{
        struct ex_buf seeds[6] = {{0}};
        /* Seed 5 names two fds: only their count matters to the reader. */
        const struct ex_fds fake = {.n = 2, .fd = {-1, -1}};
        uint64_t rng = 20000;
        size_t counts[5] = {0};
        static const uint8_t tags[] = {
                0x01, 0x04, 0x05, 0x08, 0x09, 0x10, 0x12, 0x14, 0x20, 0x22,
                0x30, 0x00, 0xff, 0x0b, 0x0c, 0x0d, 0x15, 0x40, 0x41,
                0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x1b, 0x1c, 0x1d,
                0x1e};

        (void)state;
        encode_nested(&seeds[0]);
        encode_deep(&seeds[1], 40, false);
        encode_all_kinds(&seeds[2]);
        /* Pairs nested 15 deep: the levels close one after another. */
        for (int i = 0; i < 31; i++)
                OK(i < 15 ? ex_put_container(&seeds[3], EX_TAG_TUPLE, 2)
                          : ex_put_int(&seeds[3], i));
        encode_stdlib(&seeds[4]);
        encode_fd_tags(&seeds[5]);

        for (int iter = 0; iter < 40000; iter++) {
                size_t which = rng_next(&rng) % 6;
                const struct ex_buf *s = &seeds[which];
                const struct ex_fds *fds = which == 5 ? &fake : NULL;
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
                                rng_next(&rng) % 64, false,
                                rng_next(&rng) % 2 ? 1u << 20 : 100,
                                /* a decode budget (budget.h) half the
                                 * time: -EDQUOT */
                                rng_next(&rng) % 2 ? 0 : 600, 1};
                lim.allow_pickle = rng_next(&rng) % 2;
                rc = ex_validate_fds(in, n, fds, &lim);
                assert_true(documented(rc));
                /* The item-by-item walk agrees with ex_validate. */
                assert_int_equal(walk(in, n, fds, &lim), rc);
                counts[rc == 0 ? 0 : rc == -EBADMSG ? 1 : rc == -E2BIG ? 2
                                     : rc == -ELOOP ? 3 : 4]++;
                free(in);
        }
        /* The mutations actually reached every outcome. */
        for (int i = 0; i < 5; i++)
                assert_true(counts[i] > 0);
        for (int i = 0; i < 6; i++)
                ex_buf_free(&seeds[i]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_buf),
                cmocka_unit_test(test_roundtrip_scalars),
                cmocka_unit_test(test_int_widths),
                cmocka_unit_test(test_int_array_widths),
                cmocka_unit_test(test_int_array_roundtrip),
                cmocka_unit_test(test_int_array_malformed),
                cmocka_unit_test(test_float_array),
                cmocka_unit_test(test_roundtrip_blobs),
                cmocka_unit_test(test_roundtrip_containers),
                cmocka_unit_test(test_encoder_errors),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_max_items),
                cmocka_unit_test(test_truncated_every_prefix),
                cmocka_unit_test(test_unknown_tags),
                cmocka_unit_test(test_type_handle),
                cmocka_unit_test(test_lengths_and_counts),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_trailing_and_past_end),
                cmocka_unit_test(test_roundtrip_stdlib),
                cmocka_unit_test(test_stdlib_field_checks),
                cmocka_unit_test(test_stdlib_malformed),
                cmocka_unit_test(test_decimal_literals),
                cmocka_unit_test(test_stdlib_encoder_errors),
                cmocka_unit_test(test_fd_tags),
                cmocka_unit_test(test_fd_tags_truncated),
                cmocka_unit_test(test_blob_oob),
                cmocka_unit_test(test_mutation_fuzz),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
