/* The tagged binary value codec (DESIGN §4). No Python dependency.
 *
 * Encoding: append values to an ex_buf with the ex_put_* functions. A
 * container is written as its header (tag + count) followed by `count`
 * items (a dict: `count` key/value pairs, so 2*count items).
 *
 * Decoding: ex_reader_init over a byte range, then ex_read() returns one
 * item at a time in pre-order, checking every limit before the caller could
 * allocate anything for it; ex_reader_finish() checks that exactly one value
 * was consumed and nothing trails. ex_validate() walks a whole value.
 *
 * Every multi-byte number is little-endian. Errors are -errno:
 *   -EBADMSG  malformed (truncated, unknown tag, bad UTF-8, trailing bytes,
 *             a field out of its range, an fd index the frame lacks)
 *   -E2BIG    a count, length or total over its limit
 *   -ELOOP    nesting deeper than the limit
 *   -EPERM    a tag the reader was told not to accept (e.g. pickle)
 *   -EDQUOT   over the decode budget's memory or hash collisions, and
 *   -ETIMEDOUT past its deadline (budget.h; r->budget.over says which)
 *   -EMSGSIZE / -ENOMEM from the output buffer while encoding
 */
#ifndef EXTRADITE_CODEC_H
#define EXTRADITE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "budget.h"
#include "buf.h"

enum ex_tag {
        EX_TAG_NONE = 0x01,
        EX_TAG_FALSE = 0x02,
        EX_TAG_TRUE = 0x03,
        EX_TAG_INT = 0x04,       /* int64, 8 bytes */
        /* The same value in fewer bytes (two's complement): the encoder
         * picks the shortest, the reader accepts any and reports EX_TAG_INT.
         * A list of small ints is most of many payloads. */
        EX_TAG_INT8 = 0x18,
        EX_TAG_INT16 = 0x19,
        EX_TAG_INT32 = 0x1a,
        /* A list or tuple whose items are all ints (int64), packed:
         * u8 width (1, 2, 4 or 8) + u32 count (>= 1) + count ints of
         * `width` bytes each, two's complement. The encoder picks the
         * narrowest width that holds every item, the reader accepts any.
         * One item that opens no level, but its `count` ints count toward
         * max_items and it nests like a container (max_depth). An empty
         * list or tuple is always EX_TAG_LIST/EX_TAG_TUPLE with count 0.
         * Why: a list of ints is the commonest big payload; packed, the
         * decoder fills the list in a tight loop, with no tag per item. */
        EX_TAG_INT_LIST = 0x1b,
        EX_TAG_INT_TUPLE = 0x1c,
        /* The same for floats: u32 count (>= 1) + count IEEE-754 doubles
         * (8 bytes each); the item's v.arr has width 8. */
        EX_TAG_FLOAT_LIST = 0x1d,
        EX_TAG_FLOAT_TUPLE = 0x1e,
        EX_TAG_BIGINT = 0x05,    /* u32 n + n bytes two's complement */
        EX_TAG_FLOAT = 0x06,     /* IEEE-754 double, 8 bytes */
        EX_TAG_COMPLEX = 0x07,   /* two doubles: real, imag */
        EX_TAG_STR = 0x08,       /* u32 n + n bytes strict UTF-8 */
        EX_TAG_BYTES = 0x09,     /* u32 n + n bytes */
        EX_TAG_BYTEARRAY = 0x0a, /* u32 n + n bytes */
        EX_TAG_ELLIPSIS = 0x0b,  /* no payload */
        /* u32 index + u64 n: n >= 1 bytes in the frame's fd number `index`,
         * a sealed memfd (oob.h); each fd of a frame is named exactly once */
        EX_TAG_BYTES_FD = 0x0c,
        EX_TAG_BYTEARRAY_FD = 0x0d,
        /* u32 offset + u32 n: n >= 1 bytes in the sender's shared arena
         * (arena.h), in a frame flagged EX_FRAME_FLAG_ARENA only */
        EX_TAG_BYTES_ARENA = 0x0e,
        EX_TAG_BYTEARRAY_ARENA = 0x0f,
        EX_TAG_LIST = 0x10,      /* u32 count + items */
        EX_TAG_TUPLE = 0x11,
        EX_TAG_DICT = 0x12,      /* u32 count + count key/value pairs */
        EX_TAG_SET = 0x13,
        EX_TAG_FROZENSET = 0x14,
        EX_TAG_SLICE = 0x15,     /* no count: exactly 3 items (start, stop,
                                  * step), nested like a container */
        EX_TAG_HANDLE = 0x20,    /* u64: an object the sender owns */
        EX_TAG_BACKREF = 0x21,   /* u64: an object the receiver owns */
        /* u64 + u8 n + n bytes strict UTF-8: a class the sender owns, with
         * its qualified name (for repr without a round trip) */
        EX_TAG_TYPE_HANDLE = 0x22,
        EX_TAG_PICKLE = 0x30,    /* u32 n + n bytes; trusted direction only */
        /* Standard-library values. Field layouts ("tz" and "sint" below):
         *   date:      u16 year (1..9999), u8 month (1..12), u8 day (valid
         *              for the month)
         *   time:      u8 hour (<24), u8 minute (<60), u8 second (<60),
         *              u32 microsecond (<1000000), u8 fold (0/1)
         *   tz:        u8 kind: 0 none | 1 fixed offset | 2 named offset;
         *              1, 2: i64 offset in microseconds, strictly within
         *              +-24h; 2: u8 n + n bytes strict UTF-8 name
         *   sint:      u32 n (1..max_bigint_bytes) + n bytes two's
         *              complement, least significant first */
        EX_TAG_DATE = 0x40,      /* date */
        EX_TAG_TIME = 0x41,      /* time, tz */
        EX_TAG_DATETIME = 0x42,  /* date, time, tz */
        EX_TAG_TIMEDELTA = 0x43, /* i32 days (|days| <= 999999999),
                                  * i32 seconds (0..86399),
                                  * i32 microseconds (0..999999) */
        EX_TAG_TIMEZONE = 0x44,  /* tz of kind 1 or 2 */
        EX_TAG_DECIMAL = 0x45,   /* u32 n + n bytes: a decimal literal (see
                                  * ex_decimal_literal_valid) */
        EX_TAG_UUID = 0x46,      /* 16 bytes, as UUID.bytes (big-endian) */
        EX_TAG_FRACTION = 0x47,  /* sint numerator, sint denominator > 0 */
        EX_TAG_RANGE = 0x48,     /* sint start, sint stop, sint step != 0 */
};

/* Bounds of the standard-library fields (Python's own). */
#define EX_YEAR_MIN 1
#define EX_YEAR_MAX 9999
#define EX_TIMEDELTA_DAYS_MAX 999999999
#define EX_TZ_OFFSET_US_LIMIT (86400ll * 1000000) /* exclusive */
#define EX_TZ_NAME_MAX 255u
/* The name of an EX_TAG_TYPE_HANDLE (it has a u8 length). */
#define EX_TYPE_NAME_MAX 255u
/* Digits of a decimal literal's exponent; Python's own limit is 18-19. */
#define EX_DECIMAL_EXP_DIGITS_MAX 20u

enum ex_tz_kind { EX_TZ_NONE = 0, EX_TZ_FIXED = 1, EX_TZ_NAMED = 2 };

struct ex_tzinfo {
        uint8_t kind; /* enum ex_tz_kind */
        uint8_t name_len;
        int64_t offset_us;
        const uint8_t *name; /* not owned; EX_TZ_NAMED only */
};

/* date, time and datetime: the fields the tag has are meaningful. */
struct ex_datetime {
        uint16_t year;
        uint8_t month, day;
        uint8_t hour, minute, second, fold;
        uint32_t microsecond;
        struct ex_tzinfo tz;
};

struct ex_timedelta {
        int32_t days, seconds, microseconds;
};

/* A signed integer as two's complement bytes, least significant first. */
struct ex_sint {
        const uint8_t *le; /* not owned */
        uint32_t n;
};

/* Caps on what a reader accepts. Fields are hard limits, not hints. */
struct ex_limits {
        uint32_t max_depth;         /* container nesting, <= EX_DEPTH_HARD_MAX */
        uint32_t max_container_len; /* items in one container (dict: pairs) */
        uint32_t max_bytes_len;     /* one str/bytes/bytearray/pickle */
        uint32_t max_bigint_bytes;  /* one big int */
        uint64_t max_items;         /* items in one value, all levels */
        bool allow_pickle;          /* accept EX_TAG_PICKLE */
        uint64_t max_oob_bytes;     /* out-of-band bytes in one value */
        /* The decode budget (budget.h), 0: no cap. What the receiver
         * builds for one value, estimated, arena and memfd bytes counted
         * each time they are named; and the pairs of equal hashes among a
         * dict's keys or a set's items, summed over the value. */
        uint64_t max_reply_memory;
        uint64_t max_reply_collisions;
};

#define EX_DEPTH_HARD_MAX 256u

/* Defaults used by both sides unless a profile says otherwise. */
struct ex_limits ex_limits_default(void);

/* One decoded item. Scalars carry their value; strings and byte strings
 * point into the reader's input (valid while it is); containers carry their
 * count, and their items follow in later ex_read() calls. */
struct ex_item {
        uint8_t tag;
        union {
                int64_t i;
                double f;
                struct {
                        double real, imag;
                } c;
                struct {
                        const uint8_t *p; /* not owned: points into input */
                        uint32_t n;
                } s;
                uint32_t count;
                uint64_t handle;
                struct {
                        uint64_t id;
                        const uint8_t *name; /* not owned */
                        uint8_t name_len;
                } th; /* TYPE_HANDLE */
                struct ex_datetime dt; /* DATE, TIME, DATETIME, TIMEZONE */
                struct ex_timedelta td;
                struct ex_sint ints[3]; /* FRACTION: 2, RANGE: 3 */
                struct {
                        uint32_t index; /* into the reader's fds */
                        uint64_t n;
                } fd; /* BYTES_FD, BYTEARRAY_FD */
                struct {
                        const uint8_t *p; /* not owned: count * width
                                           * bytes of the input */
                        uint32_t count;   /* >= 1 */
                        uint8_t width;    /* 1, 2, 4 or 8 */
                } arr; /* INT_LIST, INT_TUPLE: see ex_int_at();
                        * FLOAT_LIST, FLOAT_TUPLE: ex_float_at() */
        } v;
};
/* DECIMAL and UUID use v.s (UUID: n == 16); SLICE uses v.count (3). */

struct ex_reader {
        const uint8_t *p, *end; /* not owned */
        struct ex_limits lim;
        uint64_t items;
        uint32_t depth; /* open containers */
        bool started;
        /* Out-of-band fds of the frame (not owned, never touched here). */
        const struct ex_fds *fds;
        uint32_t nfds;
        uint64_t fds_used; /* bit i: fd i was named */
        uint64_t oob_bytes;
        struct ex_budget budget;
        /* ex_read_int_inline stops here: max_items or the next clock read */
        uint64_t items_stop;
        /* items still owed to each open container, outermost first */
        uint64_t owed[EX_DEPTH_HARD_MAX];
};

void ex_reader_init(struct ex_reader *r, const void *p, size_t n,
                    const struct ex_limits *lim);
/* The frame's fds (NULL: none, the default). An fd tag must name an index
 * below fds->n, each index exactly once; ex_reader_finish() fails when an
 * fd was left unnamed. */
void ex_reader_use_fds(struct ex_reader *r, const struct ex_fds *fds);
/* Fail decoding with -ETIMEDOUT once the clock (ex_now_ms) passes
 * deadline_ms (-1: never, the default); read every EX_BUDGET_CLOCK_EVERY
 * items. */
void ex_reader_set_deadline(struct ex_reader *r, int64_t deadline_ms);
/* Read the next item of the current value. -EBADMSG when the value is
 * already complete (read past its end) or on malformed input. */
int ex_read(struct ex_reader *r, struct ex_item *out);
/* 0 when exactly one complete value was read and no bytes trail. */
int ex_reader_finish(const struct ex_reader *r);
/* Bytes not yet consumed. */
static inline size_t ex_reader_remaining(const struct ex_reader *r)
{
        return (size_t)(r->end - r->p);
}

/* Fast path for the commonest item, a small int inside a container: when
 * the next item is one (any EX_TAG_INT* tag) and does not close its
 * container, consume it as ex_read would and return 1 with *v set; else
 * return 0 and leave r alone (call ex_read). */
static inline int ex_read_int_inline(struct ex_reader *r, int64_t *v)
{
        const uint8_t *p = r->p;
        size_t left = (size_t)(r->end - p);

        /* items_stop: max_items, or the budget's next look at the clock,
         * which ex_read takes; mem_left is UINT64_MAX without a budget. */
        if (left < 2 || r->depth == 0 || r->owed[r->depth - 1] < 2 ||
            r->items >= r->items_stop || r->budget.mem_left < EX_COST_INT)
                return 0;
        switch (p[0]) {
        case EX_TAG_INT8:
                *v = (int8_t)p[1];
                r->p = p + 2;
                break;
        case EX_TAG_INT16:
                if (left < 3)
                        return 0;
                *v = (int16_t)(uint16_t)(p[1] | p[2] << 8);
                r->p = p + 3;
                break;
        case EX_TAG_INT32:
                if (left < 5)
                        return 0;
                *v = (int32_t)((uint32_t)p[1] | (uint32_t)p[2] << 8 |
                               (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24);
                r->p = p + 5;
                break;
        default:
                return 0;
        }
        r->items++;
        r->budget.mem_left -= EX_COST_INT;
        r->owed[r->depth - 1]--; /* stays >= 1: the container goes on */
        return 1;
}

/* Item i of a packed int list or tuple (it->v.arr), i < count. On a
 * little-endian host a constant width compiles to one load. */
static inline int64_t ex_int_at(const uint8_t *p, unsigned width, uint32_t i)
{
        const uint8_t *q = p + (size_t)i * width;
        uint64_t u = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&u, q, width);
#else
        for (unsigned k = 0; k < width; k++)
                u |= (uint64_t)q[k] << (8 * k);
#endif
        /* Sign-extend from `width` bytes. */
        if (width < 8 && (u >> (8 * width - 1)) & 1)
                u |= ~0ull << (8 * width);
        return (int64_t)u;
}

/* Item i of a packed float list or tuple, i < count. */
static inline double ex_float_at(const uint8_t *p, uint32_t i)
{
        uint64_t u = (uint64_t)ex_int_at(p, 8, i);
        double d;

        memcpy(&d, &u, sizeof(d));
        return d;
}

/* Walk one whole value from p..p+n: 0 when well-formed within limits. */
int ex_validate(const void *p, size_t n, const struct ex_limits *lim);
/* The same, for a frame that came with `fds` (may be NULL). */
int ex_validate_fds(const void *p, size_t n, const struct ex_fds *fds,
                    const struct ex_limits *lim);

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool ex_utf8_valid(const uint8_t *p, size_t n);

/* A decimal literal as str(decimal.Decimal) writes it, ASCII only:
 *   [sign] (digits ["." [digits]] | "." digits) [("e"|"E") [sign] digits]
 *   [sign] ("Inf" | "Infinity")          (any case)
 *   [sign] ("NaN" | "sNaN") [digits]      (any case)
 * with at most EX_DECIMAL_EXP_DIGITS_MAX exponent digits. No spaces or
 * underscores. Python's Decimal() remains the final judge of the range. */
bool ex_decimal_literal_valid(const uint8_t *p, size_t n);

/* Field checks shared by the encoders and the reader. */
bool ex_date_valid(unsigned year, unsigned month, unsigned day);
bool ex_time_valid(unsigned hour, unsigned minute, unsigned second,
                   uint32_t microsecond, unsigned fold);
/* tz of kind none (allowed only when allow_none), fixed or named. */
bool ex_tzinfo_valid(const struct ex_tzinfo *tz, bool allow_none);
bool ex_timedelta_valid(int64_t days, int64_t seconds, int64_t microseconds);

/* Encoders: append one item. Strings must already be valid UTF-8. */
int ex_put_none(struct ex_buf *b);
int ex_put_bool(struct ex_buf *b, bool v);
/* An int in its shortest form, written in place when there is room (the
 * common case, inline), else through ex_put_int_grow. */
int ex_put_int_grow(struct ex_buf *b, int64_t v);
static inline size_t ex_pack_int(uint8_t *out, int64_t v)
{
        uint64_t u = (uint64_t)v;
        size_t n;

        if (v >= INT8_MIN && v <= INT8_MAX) {
                out[0] = EX_TAG_INT8;
                n = 1;
        } else if (v >= INT16_MIN && v <= INT16_MAX) {
                out[0] = EX_TAG_INT16;
                n = 2;
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
                out[0] = EX_TAG_INT32;
                n = 4;
        } else {
                out[0] = EX_TAG_INT;
                n = 8;
        }
        for (size_t i = 0; i < n; i++)
                out[1 + i] = (uint8_t)(u >> (8 * i));
        return 1 + n;
}
static inline int ex_put_int(struct ex_buf *b, int64_t v)
{
        if (b->cap - b->len < 9)
                return ex_put_int_grow(b, v);
        b->len += ex_pack_int(b->data + b->len, v);
        return 0;
}
/* A packed int list or tuple (tag EX_TAG_INT_LIST or EX_TAG_INT_TUPLE)
 * from `count` >= 1 ints of `width` (1, 2, 4 or 8) bytes at `le`, as
 * they are: the caller picks the width (-EINVAL otherwise). */
int ex_put_int_array(struct ex_buf *b, uint8_t tag, unsigned width,
                     const void *le, uint32_t count);
/* The same, written in place by an encoder that reads its ints one by one
 * (pymodule/convert.c): ex_int_array_begin reserves room for the header
 * and `count` >= 1 ints of `width` (4 or 8) bytes and returns where they
 * go (NULL: -errno in *err, nothing written). The caller stores each int
 * there as ex_store_int does, tracking the lowest and highest; then
 * ex_int_array_end narrows them to the width lo..hi needs and appends the
 * whole item. Nothing else may touch b in between. */
uint8_t *ex_int_array_begin(struct ex_buf *b, uint32_t count, unsigned width,
                            int *err);
void ex_int_array_end(struct ex_buf *b, uint8_t tag, uint32_t count,
                      unsigned width, int64_t lo, int64_t hi);
#define EX_INT_ARRAY_HEADER 6 /* tag, width, u32 count */
/* The narrowest width (1, 2, 4 or 8) that holds every int in lo..hi. */
static inline unsigned ex_int_width(int64_t lo, int64_t hi)
{
        if (lo >= INT8_MIN && hi <= INT8_MAX)
                return 1;
        if (lo >= INT16_MIN && hi <= INT16_MAX)
                return 2;
        if (lo >= INT32_MIN && hi <= INT32_MAX)
                return 4;
        return 8;
}
/* v as `width` bytes, little-endian two's complement (v must fit). */
static inline void ex_store_int(uint8_t *p, unsigned width, int64_t v)
{
        uint64_t u = (uint64_t)v;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(p, &u, width);
#else
        for (unsigned k = 0; k < width; k++)
                p[k] = (uint8_t)(u >> (8 * k));
#endif
}
/* A packed float list or tuple (EX_TAG_FLOAT_LIST or EX_TAG_FLOAT_TUPLE)
 * from `count` >= 1 doubles of 8 bytes at `le`, little-endian, as they are
 * (-EINVAL otherwise). In place, as for ints: ex_float_array_begin, then
 * ex_store_float for each, then ex_float_array_end. */
int ex_put_float_array(struct ex_buf *b, uint8_t tag, const void *le,
                       uint32_t count);
#define EX_FLOAT_ARRAY_HEADER 5 /* tag, u32 count */
uint8_t *ex_float_array_begin(struct ex_buf *b, uint32_t count, int *err);
void ex_float_array_end(struct ex_buf *b, uint8_t tag, uint32_t count);
static inline void ex_store_float(uint8_t *p, double d)
{
        uint64_t u;

        memcpy(&u, &d, sizeof(u));
        ex_store_int(p, 8, (int64_t)u);
}
/* n bytes of two's complement, least significant first. */
int ex_put_bigint(struct ex_buf *b, const uint8_t *le, uint32_t n);
int ex_put_float(struct ex_buf *b, double v);
int ex_put_complex(struct ex_buf *b, double real, double imag);
/* tag: EX_TAG_STR, EX_TAG_BYTES, EX_TAG_BYTEARRAY or EX_TAG_PICKLE */
int ex_put_blob(struct ex_buf *b, uint8_t tag, const void *p, size_t n);
/* tag: a container tag; for a dict, count is the number of pairs */
int ex_put_container(struct ex_buf *b, uint8_t tag, uint32_t count);
/* tag: EX_TAG_HANDLE or EX_TAG_BACKREF */
int ex_put_handle(struct ex_buf *b, uint8_t tag, uint64_t id);
/* A class the sender owns: id and a strict UTF-8 name of at most
 * EX_TYPE_NAME_MAX bytes (-EINVAL otherwise, nothing written). */
int ex_put_type_handle(struct ex_buf *b, uint64_t id, const char *name,
                       size_t n);

/* The encoders below refuse (-EINVAL, nothing written) a value the reader
 * would refuse: fields out of range, a name that is not strict UTF-8. */
int ex_put_ellipsis(struct ex_buf *b);
/* tag: EX_TAG_BYTES_FD or EX_TAG_BYTEARRAY_FD; n >= 1 */
int ex_put_fd_blob(struct ex_buf *b, uint8_t tag, uint32_t index, uint64_t n);
/* Move p[0..n) into a sealed memfd added to b->fds, then write the fd tag
 * (EX_TAG_BYTES or EX_TAG_BYTEARRAY names the type). -E2BIG when b->fds is
 * full or the out-of-band total would pass max_oob, -EFBIG when
 * RLIMIT_FSIZE is lower than n, other -errno from memfd_create/write; on
 * failure nothing is added, so the caller may send the bytes inline. */
int ex_put_blob_oob(struct ex_buf *b, uint8_t tag, const void *p, size_t n,
                    uint64_t max_oob);
/* Copy p[0..n) into the arena `a`, leasing it for b's frame on first use,
 * then write the arena tag (EX_TAG_BYTES or EX_TAG_BYTEARRAY names the
 * type). -EBUSY when the arena is not free for this frame, -E2BIG when
 * the rest of it is too small; nothing is written then, so the caller may
 * use ex_put_blob_oob instead. The copy may run without the GIL: only the
 * lessee touches the arena. */
struct ex_arena;
int ex_put_blob_arena(struct ex_buf *b, struct ex_arena *a, uint8_t tag,
                      const void *p, size_t n);
/* Header of a slice; its start, stop and step items follow. */
int ex_put_slice(struct ex_buf *b);
/* tag: EX_TAG_DATE, EX_TAG_TIME or EX_TAG_DATETIME; the fields of the
 * tag are used. */
int ex_put_datetime(struct ex_buf *b, uint8_t tag, const struct ex_datetime *v);
/* tz->kind must be fixed or named. */
int ex_put_timezone(struct ex_buf *b, const struct ex_tzinfo *tz);
/* Normalised as Python keeps it: 0 <= seconds < 86400, 0 <= us < 10^6. */
int ex_put_timedelta(struct ex_buf *b, const struct ex_timedelta *v);
int ex_put_decimal(struct ex_buf *b, const char *s, size_t n);
int ex_put_uuid(struct ex_buf *b, const uint8_t bytes[16]);
/* Each n in 1..UINT32_MAX; the denominator must be positive. */
int ex_put_fraction(struct ex_buf *b, struct ex_sint num, struct ex_sint den);
/* The step must not be zero. */
int ex_put_range(struct ex_buf *b, struct ex_sint start, struct ex_sint stop,
                 struct ex_sint step);

static inline int ex_put_str(struct ex_buf *b, const char *s, size_t n)
{
        return ex_put_blob(b, EX_TAG_STR, s, n);
}

#endif
