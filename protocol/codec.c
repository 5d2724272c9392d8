/* The tagged binary value codec; see codec.h for the contract.
 *
 * The reader treats every byte as hostile: each length is checked against
 * its limit and against the bytes left before anything points past it, and
 * each container count is checked against the bytes left (every item takes
 * at least one byte) so a caller may preallocate `count` slots safely.
 * Nesting is tracked in a fixed array, so decoding never recurses here. */
#include "codec.h"

#include <errno.h>
#include <string.h>

#include "frame.h"

/* ---- little-endian helpers (portable: no alignment or host order) ---- */

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
        return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static double get_f64(const uint8_t *p)
{
        uint64_t u = get_le64(p);
        double d;

        memcpy(&d, &u, sizeof(d));
        return d;
}

static void put_f64(uint8_t *p, double d)
{
        uint64_t u;

        memcpy(&u, &d, sizeof(u));
        put_le64(p, u);
}

/* ---- limits and UTF-8 ------------------------------------------------ */

struct ex_limits ex_limits_default(void)
{
        return (struct ex_limits){
                .max_depth = 100,
                .max_container_len = 1u << 24,
                .max_bytes_len = EX_FRAME_MAX_DEFAULT,
                .max_bigint_bytes = 8192,
                .max_items = 1ull << 26,
                .allow_pickle = false,
        };
}

static bool is_cont(uint8_t c)
{
        return (c & 0xC0) == 0x80;
}

bool ex_utf8_valid(const uint8_t *p, size_t n)
{
        size_t i = 0;

        while (i < n) {
                uint8_t c = p[i];
                uint8_t lo = 0x80, hi = 0xBF; /* range of the 2nd byte */
                size_t len;

                /* Plain ASCII dominates real strings: skip 8 at a time. */
                if (c < 0x80) {
                        uint64_t w;

                        while (n - i >= 8) {
                                memcpy(&w, p + i, 8);
                                if (w & 0x8080808080808080ull)
                                        break;
                                i += 8;
                        }
                        while (i < n && p[i] < 0x80)
                                i++;
                        continue;
                }
                /* The second-byte ranges below are what exclude overlongs
                 * (E0, F0), surrogates (ED) and code points > U+10FFFF
                 * (F4); C0, C1 and F5..FF never start a valid sequence. */
                if (c >= 0xC2 && c <= 0xDF) {
                        len = 2;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        len = 3;
                        if (c == 0xE0)
                                lo = 0xA0;
                        else if (c == 0xED)
                                hi = 0x9F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        len = 4;
                        if (c == 0xF0)
                                lo = 0x90;
                        else if (c == 0xF4)
                                hi = 0x8F;
                } else {
                        return false;
                }
                if (n - i < len)
                        return false; /* truncated sequence */
                if (p[i + 1] < lo || p[i + 1] > hi)
                        return false;
                for (size_t k = 2; k < len; k++)
                        if (!is_cont(p[i + k]))
                                return false;
                i += len;
        }
        return true;
}

/* ---- reader ---------------------------------------------------------- */

void ex_reader_init(struct ex_reader *r, const void *p, size_t n,
                    const struct ex_limits *lim)
{
        /* Avoid arithmetic on a NULL pointer for an empty input. */
        static const uint8_t empty[1];
        const uint8_t *b = p ? p : empty;

        r->p = b;
        r->end = b + (p ? n : 0);
        r->lim = *lim;
        if (r->lim.max_depth > EX_DEPTH_HARD_MAX)
                r->lim.max_depth = EX_DEPTH_HARD_MAX;
        r->items = 0;
        r->depth = 0;
        r->started = false;
        /* owed[] is written before it is read; no need to clear 2 KiB. */
}

/* u32 length + bytes, with the length checked against `max` and against
 * what is left. On success *pp moves past the bytes. */
static int read_blob(const uint8_t **pp, const uint8_t *end, uint32_t max,
                     struct ex_item *out)
{
        const uint8_t *p = *pp;
        uint32_t n;

        if (end - p < 4)
                return -EBADMSG;
        n = get_le32(p);
        p += 4;
        if (n > max)
                return -E2BIG;
        if ((size_t)(end - p) < n)
                return -EBADMSG;
        out->v.s.p = p;
        out->v.s.n = n;
        *pp = p + n;
        return 0;
}

/* Fixed-size payload: just check it is all there. */
static int need_bytes(const uint8_t *p, const uint8_t *end, size_t n)
{
        return (size_t)(end - p) < n ? -EBADMSG : 0;
}

int ex_read(struct ex_reader *r, struct ex_item *out)
{
        const uint8_t *p = r->p;
        uint64_t owes = 0; /* items a new non-empty container will hold */
        uint32_t count;
        uint8_t tag;
        int rc = 0;

        /* Reading past the end of a complete value is a protocol error. */
        if (r->started && r->depth == 0)
                return -EBADMSG;
        if (p == r->end)
                return -EBADMSG;
        if (r->items >= r->lim.max_items)
                return -E2BIG;
        tag = *p++;
        *out = (struct ex_item){.tag = tag};

        switch (tag) {
        case EX_TAG_NONE:
        case EX_TAG_FALSE:
        case EX_TAG_TRUE:
                break;
        case EX_TAG_INT:
                if ((rc = need_bytes(p, r->end, 8)) < 0)
                        return rc;
                /* Two's complement conversion; gcc defines it as modular. */
                out->v.i = (int64_t)get_le64(p);
                p += 8;
                break;
        case EX_TAG_FLOAT:
                if ((rc = need_bytes(p, r->end, 8)) < 0)
                        return rc;
                out->v.f = get_f64(p);
                p += 8;
                break;
        case EX_TAG_COMPLEX:
                if ((rc = need_bytes(p, r->end, 16)) < 0)
                        return rc;
                out->v.c.real = get_f64(p);
                out->v.c.imag = get_f64(p + 8);
                p += 16;
                break;
        case EX_TAG_HANDLE:
        case EX_TAG_BACKREF:
                if ((rc = need_bytes(p, r->end, 8)) < 0)
                        return rc;
                out->v.handle = get_le64(p);
                p += 8;
                break;
        case EX_TAG_BIGINT:
                rc = read_blob(&p, r->end, r->lim.max_bigint_bytes, out);
                if (rc < 0)
                        return rc;
                /* Zero bytes has no sign bit: not a number. */
                if (out->v.s.n == 0)
                        return -EBADMSG;
                break;
        case EX_TAG_STR:
                rc = read_blob(&p, r->end, r->lim.max_bytes_len, out);
                if (rc < 0)
                        return rc;
                if (!ex_utf8_valid(out->v.s.p, out->v.s.n))
                        return -EBADMSG;
                break;
        case EX_TAG_PICKLE:
                if (!r->lim.allow_pickle)
                        return -EPERM;
                /* fall through */
        case EX_TAG_BYTES:
        case EX_TAG_BYTEARRAY:
                rc = read_blob(&p, r->end, r->lim.max_bytes_len, out);
                if (rc < 0)
                        return rc;
                break;
        case EX_TAG_LIST:
        case EX_TAG_TUPLE:
        case EX_TAG_DICT:
        case EX_TAG_SET:
        case EX_TAG_FROZENSET:
                if ((rc = need_bytes(p, r->end, 4)) < 0)
                        return rc;
                count = get_le32(p);
                p += 4;
                if (count > r->lim.max_container_len)
                        return -E2BIG;
                owes = tag == EX_TAG_DICT ? 2 * (uint64_t)count : count;
                /* Each item takes at least one byte: more items than bytes
                 * left means truncated, and bounds any preallocation. */
                if (owes > (uint64_t)(r->end - p))
                        return -EBADMSG;
                /* An empty container never opens a level. */
                if (owes && r->depth >= r->lim.max_depth)
                        return -ELOOP;
                out->v.count = count;
                break;
        default:
                return -EBADMSG;
        }

        /* Commit only after the item is whole, so errors leave r as it was. */
        r->p = p;
        r->items++;
        r->started = true;
        if (r->depth)
                r->owed[r->depth - 1]--;
        if (owes)
                r->owed[r->depth++] = owes;
        /* Close every container whose last item this was. */
        while (r->depth && r->owed[r->depth - 1] == 0)
                r->depth--;
        return 0;
}

int ex_reader_finish(const struct ex_reader *r)
{
        if (!r->started || r->depth != 0 || r->p != r->end)
                return -EBADMSG;
        return 0;
}

int ex_validate(const void *p, size_t n, const struct ex_limits *lim)
{
        struct ex_reader r;
        struct ex_item it;
        int rc;

        ex_reader_init(&r, p, n, lim);
        do {
                rc = ex_read(&r, &it);
                if (rc < 0)
                        return rc;
        } while (r.depth);
        return ex_reader_finish(&r);
}

/* ---- encoders -------------------------------------------------------- */

/* Tag plus a fixed-size body (at most 16 bytes), appended in one step. */
static int put_fixed(struct ex_buf *b, uint8_t tag, const uint8_t *body,
                     size_t n)
{
        uint8_t tmp[1 + 16];

        tmp[0] = tag;
        if (n)
                memcpy(tmp + 1, body, n);
        return ex_buf_put(b, tmp, 1 + n);
}

/* Tag, u32 length and bytes; all or nothing. */
static int put_lenbytes(struct ex_buf *b, uint8_t tag, const void *p,
                        uint32_t n)
{
        uint8_t hdr[5];
        int rc;

        rc = ex_buf_reserve(b, sizeof(hdr) + (size_t)n);
        if (rc < 0)
                return rc;
        hdr[0] = tag;
        put_le32(hdr + 1, n);
        /* Cannot fail: the room is reserved. */
        ex_buf_put(b, hdr, sizeof(hdr));
        ex_buf_put(b, p, n);
        return 0;
}

int ex_put_none(struct ex_buf *b)
{
        return put_fixed(b, EX_TAG_NONE, NULL, 0);
}

int ex_put_bool(struct ex_buf *b, bool v)
{
        return put_fixed(b, v ? EX_TAG_TRUE : EX_TAG_FALSE, NULL, 0);
}

int ex_put_int(struct ex_buf *b, int64_t v)
{
        uint8_t body[8];

        put_le64(body, (uint64_t)v);
        return put_fixed(b, EX_TAG_INT, body, sizeof(body));
}

int ex_put_bigint(struct ex_buf *b, const uint8_t *le, uint32_t n)
{
        /* The reader refuses an empty big int; refuse to write one. */
        if (n == 0)
                return -EINVAL;
        return put_lenbytes(b, EX_TAG_BIGINT, le, n);
}

int ex_put_float(struct ex_buf *b, double v)
{
        uint8_t body[8];

        put_f64(body, v);
        return put_fixed(b, EX_TAG_FLOAT, body, sizeof(body));
}

int ex_put_complex(struct ex_buf *b, double real, double imag)
{
        uint8_t body[16];

        put_f64(body, real);
        put_f64(body + 8, imag);
        return put_fixed(b, EX_TAG_COMPLEX, body, sizeof(body));
}

int ex_put_blob(struct ex_buf *b, uint8_t tag, const void *p, size_t n)
{
        switch (tag) {
        case EX_TAG_STR:
        case EX_TAG_BYTES:
        case EX_TAG_BYTEARRAY:
        case EX_TAG_PICKLE:
                break;
        default:
                return -EINVAL;
        }
        if (n > UINT32_MAX)
                return -E2BIG;
        return put_lenbytes(b, tag, p, (uint32_t)n);
}

int ex_put_container(struct ex_buf *b, uint8_t tag, uint32_t count)
{
        uint8_t body[4];

        switch (tag) {
        case EX_TAG_LIST:
        case EX_TAG_TUPLE:
        case EX_TAG_DICT:
        case EX_TAG_SET:
        case EX_TAG_FROZENSET:
                break;
        default:
                return -EINVAL;
        }
        put_le32(body, count);
        return put_fixed(b, tag, body, sizeof(body));
}

int ex_put_handle(struct ex_buf *b, uint8_t tag, uint64_t id)
{
        uint8_t body[8];

        if (tag != EX_TAG_HANDLE && tag != EX_TAG_BACKREF)
                return -EINVAL;
        put_le64(body, id);
        return put_fixed(b, tag, body, sizeof(body));
}
