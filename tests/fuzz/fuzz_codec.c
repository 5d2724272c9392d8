/* libFuzzer target: the value decoder (protocol/codec.c) on bytes a
 * hostile peer chose.
 *
 * Input: byte 0 picks the reader's settings, the rest is the value.
 *   bits 0-5  fds the frame claims to carry (0..63; never touched: the
 *             reader only checks the indexes the fd tags name)
 *   bit 6     tight limits instead of the defaults, so the caps are hit
 *   bit 7     allow pickle (the trusted direction)
 *
 * Oracles, besides the sanitizers:
 *   - every item stays inside the input and within the limits;
 *   - ex_validate_fds() agrees with a walk of ex_read() + ex_reader_finish();
 *   - an accepted value re-encodes, through the public encoders, to exactly
 *     the input bytes: the encoders and the reader agree on the format,
 *     and nothing the reader accepts is something no peer could send.
 *     (Ints: the reader takes any of the four widths, the encoder writes
 *     the shortest; an int is re-encoded at the input's width, and its
 *     shortest form must read back to the same value. Packed int lists
 *     likewise, list by list; packed floats are copied bit for bit.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "fuzz_check.h"

static struct ex_limits limits_for(uint8_t sel)
{
        struct ex_limits lim = ex_limits_default();

        if (sel & 0x40) {
                lim.max_depth = 6;
                lim.max_container_len = 12;
                lim.max_bytes_len = 40;
                lim.max_bigint_bytes = 9;
                lim.max_items = 48;
                lim.max_oob_bytes = 1000;
        }
        /* A decode budget (budget.h) on a quarter of the inputs. */
        if ((sel & 0x30) == 0x30) {
                lim.max_reply_memory = 4000;
                lim.max_reply_collisions = 1;
        }
        lim.allow_pickle = sel & 0x80;
        return lim;
}

/* The bytes [p, p+n) lie within the input. */
static void inside(const uint8_t *p, size_t n, const uint8_t *lo,
                   const uint8_t *hi)
{
        CHECK(n == 0 || (p >= lo && p <= hi && (size_t)(hi - p) >= n));
}

/* An int at the width its wire tag says, after checking it fits there
 * and that the encoder's shortest form reads back the same. */
static int put_int_at_width(struct ex_buf *out, uint8_t wire_tag, int64_t v)
{
        size_t width = wire_tag == EX_TAG_INT8    ? 1
                       : wire_tag == EX_TAG_INT16 ? 2
                       : wire_tag == EX_TAG_INT32 ? 4
                                                  : 8;
        uint8_t shortest[9];
        struct ex_reader r;
        struct ex_item back;
        struct ex_limits lim = ex_limits_default();
        size_t n = ex_pack_int(shortest, v);
        uint64_t u = (uint64_t)v;
        int rc;

        CHECK(wire_tag == EX_TAG_INT || width == 8 ||
              (v >= -(INT64_C(1) << (8 * width - 1)) &&
               v < (INT64_C(1) << (8 * width - 1))));
        CHECK(n <= 1 + width);
        ex_reader_init(&r, shortest, n, &lim);
        CHECK(ex_read(&r, &back) == 0 && back.tag == EX_TAG_INT &&
              back.v.i == v && ex_reader_finish(&r) == 0);
        rc = ex_buf_reserve(out, 1 + width);
        if (rc < 0)
                return rc;
        out->data[out->len++] = wire_tag;
        for (size_t i = 0; i < width; i++)
                out->data[out->len++] = (uint8_t)(u >> (8 * i));
        return 0;
}

/* A packed int list or tuple, re-encoded as it came (the reader takes any
 * width, the encoder writes the narrowest), after checking that the
 * encoder's narrowest form of the same ints reads back the same. */
static int put_int_array_checked(struct ex_buf *out, const struct ex_item *it,
                                 const struct ex_limits *lim,
                                 const uint8_t *lo, const uint8_t *hi)
{
        uint32_t n = it->v.arr.count;
        unsigned w = it->v.arr.width;
        int64_t min = INT64_MAX, max = INT64_MIN;
        struct ex_limits dflt = ex_limits_default();
        struct ex_buf narrow;
        struct ex_reader r;
        struct ex_item back;
        uint8_t *vals;
        int err;

        CHECK(w == 1 || w == 2 || w == 4 || w == 8);
        CHECK(n >= 1 && n <= lim->max_container_len);
        inside(it->v.arr.p, (size_t)n * w, lo, hi);
        ex_buf_init(&narrow, 0);
        vals = ex_int_array_begin(&narrow, n, 8, &err);
        if (!vals)
                return err;
        for (uint32_t i = 0; i < n; i++) {
                int64_t v = ex_int_at(it->v.arr.p, w, i);

                ex_store_int(vals + (size_t)i * 8, 8, v);
                min = v < min ? v : min;
                max = v > max ? v : max;
        }
        ex_int_array_end(&narrow, it->tag, n, 8, min, max);
        CHECK(narrow.data[1] <= w);
        ex_reader_init(&r, narrow.data, narrow.len, &dflt);
        CHECK(ex_read(&r, &back) == 0 && back.tag == it->tag &&
              back.v.arr.count == n && ex_reader_finish(&r) == 0);
        for (uint32_t i = 0; i < n; i++)
                CHECK(ex_int_at(back.v.arr.p, back.v.arr.width, i) ==
                      ex_int_at(it->v.arr.p, w, i));
        ex_buf_free(&narrow);
        return ex_put_int_array(out, it->tag, w, it->v.arr.p, n);
}

/* Check one item against the limits and the input, and append it again
 * with the encoder for its tag (wire_tag: its first byte in the input). */
static void check_and_encode(const struct ex_item *it, uint8_t wire_tag,
                             const struct ex_limits *lim, const uint8_t *lo,
                             const uint8_t *hi, struct ex_buf *out)
{
        int r = -1;

        switch (it->tag) {
        case EX_TAG_NONE:
                r = ex_put_none(out);
                break;
        case EX_TAG_FALSE:
        case EX_TAG_TRUE:
                r = ex_put_bool(out, it->tag == EX_TAG_TRUE);
                break;
        case EX_TAG_ELLIPSIS:
                r = ex_put_ellipsis(out);
                break;
        case EX_TAG_INT:
                r = put_int_at_width(out, wire_tag, it->v.i);
                break;
        case EX_TAG_INT_LIST:
        case EX_TAG_INT_TUPLE:
                r = put_int_array_checked(out, it, lim, lo, hi);
                break;
        case EX_TAG_FLOAT_LIST:
        case EX_TAG_FLOAT_TUPLE:
                CHECK(it->v.arr.width == 8);
                CHECK(it->v.arr.count >= 1 &&
                      it->v.arr.count <= lim->max_container_len);
                inside(it->v.arr.p, (size_t)it->v.arr.count * 8, lo, hi);
                r = ex_put_float_array(out, it->tag, it->v.arr.p,
                                       it->v.arr.count);
                break;
        case EX_TAG_FLOAT:
                r = ex_put_float(out, it->v.f);
                break;
        case EX_TAG_COMPLEX:
                r = ex_put_complex(out, it->v.c.real, it->v.c.imag);
                break;
        case EX_TAG_BIGINT:
                inside(it->v.s.p, it->v.s.n, lo, hi);
                CHECK(it->v.s.n >= 1 && it->v.s.n <= lim->max_bigint_bytes);
                r = ex_put_bigint(out, it->v.s.p, it->v.s.n);
                break;
        case EX_TAG_STR:
                CHECK(ex_utf8_valid(it->v.s.p, it->v.s.n));
                /* fall through */
        case EX_TAG_BYTES:
        case EX_TAG_BYTEARRAY:
        case EX_TAG_PICKLE:
                inside(it->v.s.p, it->v.s.n, lo, hi);
                CHECK(it->v.s.n <= lim->max_bytes_len);
                CHECK(it->tag != EX_TAG_PICKLE || lim->allow_pickle);
                r = ex_put_blob(out, it->tag, it->v.s.p, it->v.s.n);
                break;
        case EX_TAG_LIST:
        case EX_TAG_TUPLE:
        case EX_TAG_DICT:
        case EX_TAG_SET:
        case EX_TAG_FROZENSET:
                CHECK(it->v.count <= lim->max_container_len);
                r = ex_put_container(out, it->tag, it->v.count);
                break;
        case EX_TAG_SLICE:
                CHECK(it->v.count == 3);
                r = ex_put_slice(out);
                break;
        case EX_TAG_HANDLE:
        case EX_TAG_BACKREF:
                r = ex_put_handle(out, it->tag, it->v.handle);
                break;
        case EX_TAG_TYPE_HANDLE:
                inside(it->v.th.name, it->v.th.name_len, lo, hi);
                r = ex_put_type_handle(out, it->v.th.id,
                                       (const char *)it->v.th.name,
                                       it->v.th.name_len);
                break;
        case EX_TAG_BYTES_FD:
        case EX_TAG_BYTEARRAY_FD:
                CHECK(it->v.fd.n >= 1 && it->v.fd.n <= lim->max_oob_bytes);
                r = ex_put_fd_blob(out, it->tag, it->v.fd.index, it->v.fd.n);
                break;
        case EX_TAG_DATE:
        case EX_TAG_TIME:
        case EX_TAG_DATETIME:
                if (it->tag != EX_TAG_DATE && it->v.dt.tz.kind == EX_TZ_NAMED)
                        inside(it->v.dt.tz.name, it->v.dt.tz.name_len, lo, hi);
                r = ex_put_datetime(out, it->tag, &it->v.dt);
                break;
        case EX_TAG_TIMEZONE:
                if (it->v.dt.tz.kind == EX_TZ_NAMED)
                        inside(it->v.dt.tz.name, it->v.dt.tz.name_len, lo, hi);
                r = ex_put_timezone(out, &it->v.dt.tz);
                break;
        case EX_TAG_TIMEDELTA:
                r = ex_put_timedelta(out, &it->v.td);
                break;
        case EX_TAG_DECIMAL:
                inside(it->v.s.p, it->v.s.n, lo, hi);
                r = ex_put_decimal(out, (const char *)it->v.s.p, it->v.s.n);
                break;
        case EX_TAG_UUID:
                inside(it->v.s.p, 16, lo, hi);
                CHECK(it->v.s.n == 16);
                r = ex_put_uuid(out, it->v.s.p);
                break;
        case EX_TAG_FRACTION:
                for (int i = 0; i < 2; i++) {
                        inside(it->v.ints[i].le, it->v.ints[i].n, lo, hi);
                        CHECK(it->v.ints[i].n <= lim->max_bigint_bytes);
                }
                r = ex_put_fraction(out, it->v.ints[0], it->v.ints[1]);
                break;
        case EX_TAG_RANGE:
                for (int i = 0; i < 3; i++) {
                        inside(it->v.ints[i].le, it->v.ints[i].n, lo, hi);
                        CHECK(it->v.ints[i].n <= lim->max_bigint_bytes);
                }
                r = ex_put_range(out, it->v.ints[0], it->v.ints[1],
                                 it->v.ints[2]);
                break;
        default:
                CHECK(!"ex_read returned an unknown tag");
        }
        /* The reader accepted it, so an encoder must be able to write it. */
        if (r != 0)
                fprintf(stderr, "tag %#x: encoder says %d\n", it->tag, r);
        CHECK(r == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ex_limits lim;
        struct ex_fds fds = {.n = 0};
        struct ex_reader r;
        struct ex_item it;
        struct ex_buf out;
        const uint8_t *p, *end;
        size_t n;
        int walked, validated;
        uint64_t spent = 0;

        if (size < 1)
                return 0;
        lim = limits_for(data[0]);
        fds.n = data[0] & 0x3f;
        for (uint32_t i = 0; i < fds.n; i++)
                fds.fd[i] = -1; /* the reader must never use them */
        p = data + 1;
        n = size - 1;
        end = p + n;

        validated = ex_validate_fds(p, n, &fds, &lim);

        ex_buf_init(&out, 0);
        ex_reader_init(&r, p, n, &lim);
        ex_reader_use_fds(&r, &fds);
        do {
                uint8_t wire_tag = r.p < end ? *r.p : 0;

                walked = ex_read(&r, &it);
                if (walked < 0)
                        break;
                CHECK(r.depth <= lim.max_depth);
                CHECK(r.items <= lim.max_items);
                CHECK(r.p >= p && r.p <= end);
                /* Never more charged than the cap allows. */
                spent += ex_item_cost(&it);
                CHECK(!lim.max_reply_memory || spent <= lim.max_reply_memory);
                CHECK(!r.budget.on || r.budget.mem_left ==
                                              lim.max_reply_memory - spent);
                check_and_encode(&it, wire_tag, &lim, p, end, &out);
        } while (r.depth);
        if (walked == 0)
                walked = ex_reader_finish(&r);
        CHECK(walked == validated);
        if (validated == 0) {
                CHECK(out.len == n);
                CHECK(memcmp(out.data, p, n) == 0);
        }
        /* Reading on past a complete value is refused. */
        if (validated == 0)
                CHECK(ex_read(&r, &it) == -EBADMSG);
        ex_buf_free(&out);
        return 0;
}
