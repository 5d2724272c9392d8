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
 *   -EBADMSG  malformed (truncated, unknown tag, bad UTF-8, trailing bytes)
 *   -E2BIG    a count, length or total over its limit
 *   -ELOOP    nesting deeper than the limit
 *   -EPERM    a tag the reader was told not to accept (e.g. pickle)
 *   -EMSGSIZE / -ENOMEM from the output buffer while encoding
 */
#ifndef EXTRADITE_CODEC_H
#define EXTRADITE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum ex_tag {
        EX_TAG_NONE = 0x01,
        EX_TAG_FALSE = 0x02,
        EX_TAG_TRUE = 0x03,
        EX_TAG_INT = 0x04,       /* int64, 8 bytes */
        EX_TAG_BIGINT = 0x05,    /* u32 n + n bytes two's complement */
        EX_TAG_FLOAT = 0x06,     /* IEEE-754 double, 8 bytes */
        EX_TAG_COMPLEX = 0x07,   /* two doubles: real, imag */
        EX_TAG_STR = 0x08,       /* u32 n + n bytes strict UTF-8 */
        EX_TAG_BYTES = 0x09,     /* u32 n + n bytes */
        EX_TAG_BYTEARRAY = 0x0a, /* u32 n + n bytes */
        EX_TAG_LIST = 0x10,      /* u32 count + items */
        EX_TAG_TUPLE = 0x11,
        EX_TAG_DICT = 0x12,      /* u32 count + count key/value pairs */
        EX_TAG_SET = 0x13,
        EX_TAG_FROZENSET = 0x14,
        EX_TAG_HANDLE = 0x20,    /* u64: an object the sender owns */
        EX_TAG_BACKREF = 0x21,   /* u64: an object the receiver owns */
        EX_TAG_PICKLE = 0x30,    /* u32 n + n bytes; trusted direction only */
};

/* Caps on what a reader accepts. Fields are hard limits, not hints. */
struct ex_limits {
        uint32_t max_depth;         /* container nesting, <= EX_DEPTH_HARD_MAX */
        uint32_t max_container_len; /* items in one container (dict: pairs) */
        uint32_t max_bytes_len;     /* one str/bytes/bytearray/pickle */
        uint32_t max_bigint_bytes;  /* one big int */
        uint64_t max_items;         /* items in one value, all levels */
        bool allow_pickle;          /* accept EX_TAG_PICKLE */
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
        } v;
};

struct ex_reader {
        const uint8_t *p, *end; /* not owned */
        struct ex_limits lim;
        uint64_t items;
        uint32_t depth; /* open containers */
        bool started;
        /* items still owed to each open container, outermost first */
        uint64_t owed[EX_DEPTH_HARD_MAX];
};

void ex_reader_init(struct ex_reader *r, const void *p, size_t n,
                    const struct ex_limits *lim);
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

/* Walk one whole value from p..p+n: 0 when well-formed within limits. */
int ex_validate(const void *p, size_t n, const struct ex_limits *lim);

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool ex_utf8_valid(const uint8_t *p, size_t n);

/* Encoders: append one item. Strings must already be valid UTF-8. */
int ex_put_none(struct ex_buf *b);
int ex_put_bool(struct ex_buf *b, bool v);
int ex_put_int(struct ex_buf *b, int64_t v);
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

static inline int ex_put_str(struct ex_buf *b, const char *s, size_t n)
{
        return ex_put_blob(b, EX_TAG_STR, s, n);
}

#endif
