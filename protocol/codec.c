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
#include <unistd.h>

#include "arena.h"
#include "frame.h"

/* ---- little-endian helpers (portable: no alignment or host order) ---- */

static uint16_t get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

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
                .max_oob_bytes = EX_OOB_MAX_DEFAULT,
                /* No budget unless asked: the parent sets one for what
                 * its child sends (the profile's limits.max_reply_*). */
                .max_reply_memory = 0,
                .max_reply_collisions = 0,
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

/* ---- standard-library fields ------------------------------------------ */

static bool is_leap(unsigned y)
{
        return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

bool ex_date_valid(unsigned year, unsigned month, unsigned day)
{
        static const uint8_t days[12] = {31, 28, 31, 30, 31, 30,
                                         31, 31, 30, 31, 30, 31};

        if (year < EX_YEAR_MIN || year > EX_YEAR_MAX || month < 1 ||
            month > 12 || day < 1)
                return false;
        return day <= (month == 2 && is_leap(year) ? 29u : days[month - 1]);
}

bool ex_time_valid(unsigned hour, unsigned minute, unsigned second,
                   uint32_t microsecond, unsigned fold)
{
        return hour < 24 && minute < 60 && second < 60 &&
               microsecond < 1000000 && fold <= 1;
}

bool ex_tzinfo_valid(const struct ex_tzinfo *tz, bool allow_none)
{
        switch (tz->kind) {
        case EX_TZ_NONE:
                return allow_none;
        case EX_TZ_FIXED:
        case EX_TZ_NAMED:
                /* Python's own rule: strictly less than a day either way. */
                if (tz->offset_us <= -EX_TZ_OFFSET_US_LIMIT ||
                    tz->offset_us >= EX_TZ_OFFSET_US_LIMIT)
                        return false;
                if (tz->kind == EX_TZ_FIXED)
                        return true;
                if (tz->name_len && !tz->name)
                        return false;
                return ex_utf8_valid(tz->name, tz->name_len);
        default:
                return false;
        }
}

bool ex_timedelta_valid(int64_t days, int64_t seconds, int64_t microseconds)
{
        return days >= -EX_TIMEDELTA_DAYS_MAX &&
               days <= EX_TIMEDELTA_DAYS_MAX && seconds >= 0 &&
               seconds < 86400 && microseconds >= 0 &&
               microseconds < 1000000;
}

static bool is_digit(uint8_t c)
{
        return c >= '0' && c <= '9';
}

/* p[0..n) is `word`, ignoring ASCII case (word is lower case). */
static bool ci_equal(const uint8_t *p, size_t n, const char *word)
{
        size_t i = 0;

        for (; word[i]; i++)
                if (i >= n || (p[i] | 0x20) != (uint8_t)word[i])
                        return false;
        return i == n;
}

static size_t count_digits(const uint8_t *p, size_t n)
{
        size_t i = 0;

        while (i < n && is_digit(p[i]))
                i++;
        return i;
}

bool ex_decimal_literal_valid(const uint8_t *p, size_t n)
{
        size_t i = 0, intd, fracd = 0, expd;

        if (n == 0)
                return false;
        if (p[0] == '+' || p[0] == '-')
                i++;
        if (ci_equal(p + i, n - i, "inf") ||
            ci_equal(p + i, n - i, "infinity"))
                return true;
        /* NaN and sNaN, with an optional diagnostic payload of digits. */
        if (n - i >= 3 && ci_equal(p + i, 3, "nan"))
                return count_digits(p + i + 3, n - i - 3) == n - i - 3;
        if (n - i >= 4 && ci_equal(p + i, 4, "snan"))
                return count_digits(p + i + 4, n - i - 4) == n - i - 4;
        intd = count_digits(p + i, n - i);
        i += intd;
        if (i < n && p[i] == '.') {
                i++;
                fracd = count_digits(p + i, n - i);
                i += fracd;
        }
        if (intd + fracd == 0)
                return false;
        if (i == n)
                return true;
        if (p[i] != 'e' && p[i] != 'E')
                return false;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
                i++;
        expd = count_digits(p + i, n - i);
        return expd >= 1 && expd <= EX_DECIMAL_EXP_DIGITS_MAX &&
               i + expd == n;
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
        r->fds = NULL;
        r->nfds = 0;
        r->fds_used = 0;
        r->oob_bytes = 0;
        ex_budget_init(&r->budget, r->lim.max_reply_memory,
                       r->lim.max_reply_collisions);
        r->items_stop = r->lim.max_items;
        /* owed[] is written before it is read; no need to clear 2 KiB. */
}

void ex_reader_set_deadline(struct ex_reader *r, int64_t deadline_ms)
{
        ex_budget_set_deadline(&r->budget, deadline_ms);
        if (deadline_ms >= 0)
                r->budget.clock_at = r->items + EX_BUDGET_CLOCK_EVERY;
        else
                r->budget.clock_at = UINT64_MAX;
        r->items_stop = r->budget.clock_at < r->lim.max_items
                                ? r->budget.clock_at
                                : r->lim.max_items;
}

void ex_reader_use_fds(struct ex_reader *r, const struct ex_fds *fds)
{
        r->fds = fds;
        r->nfds = fds ? (fds->n < EX_FDS_MAX ? fds->n : EX_FDS_MAX) : 0;
        r->fds_used = 0;
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

/* sint: u32 n (1..max) + n bytes. */
static int read_sint(const uint8_t **pp, const uint8_t *end, uint32_t max,
                     struct ex_sint *out)
{
        const uint8_t *p = *pp;
        uint32_t n;

        if (end - p < 4)
                return -EBADMSG;
        n = get_le32(p);
        p += 4;
        if (n == 0)
                return -EBADMSG; /* no sign bit: not a number */
        if (n > max)
                return -E2BIG;
        if ((size_t)(end - p) < n)
                return -EBADMSG;
        *out = (struct ex_sint){.le = p, .n = n};
        *pp = p + n;
        return 0;
}

static bool sint_is_zero(struct ex_sint v)
{
        for (uint32_t i = 0; i < v.n; i++)
                if (v.le[i])
                        return false;
        return true;
}

static bool sint_is_negative(struct ex_sint v)
{
        return v.le[v.n - 1] & 0x80;
}

/* tz: u8 kind [i64 offset [u8 n + name]], checked. */
static int read_tz(const uint8_t **pp, const uint8_t *end, bool allow_none,
                   struct ex_tzinfo *tz)
{
        const uint8_t *p = *pp;

        if (end - p < 1)
                return -EBADMSG;
        *tz = (struct ex_tzinfo){.kind = *p++};
        if (tz->kind == EX_TZ_FIXED || tz->kind == EX_TZ_NAMED) {
                if (end - p < 8)
                        return -EBADMSG;
                tz->offset_us = (int64_t)get_le64(p);
                p += 8;
        }
        if (tz->kind == EX_TZ_NAMED) {
                if (end - p < 1)
                        return -EBADMSG;
                tz->name_len = *p++;
                if (end - p < tz->name_len)
                        return -EBADMSG;
                tz->name = p;
                p += tz->name_len;
        }
        if (!ex_tzinfo_valid(tz, allow_none))
                return -EBADMSG;
        *pp = p;
        return 0;
}

/* date: u16 year, u8 month, u8 day. */
static int read_date(const uint8_t **pp, const uint8_t *end,
                     struct ex_datetime *v)
{
        const uint8_t *p = *pp;

        if (end - p < 4)
                return -EBADMSG;
        v->year = get_le16(p);
        v->month = p[2];
        v->day = p[3];
        if (!ex_date_valid(v->year, v->month, v->day))
                return -EBADMSG;
        *pp = p + 4;
        return 0;
}

/* time: u8 hour, minute, second, u32 microsecond, u8 fold. */
static int read_time(const uint8_t **pp, const uint8_t *end,
                     struct ex_datetime *v)
{
        const uint8_t *p = *pp;

        if (end - p < 8)
                return -EBADMSG;
        v->hour = p[0];
        v->minute = p[1];
        v->second = p[2];
        v->microsecond = get_le32(p + 3);
        v->fold = p[7];
        if (!ex_time_valid(v->hour, v->minute, v->second, v->microsecond,
                           v->fold))
                return -EBADMSG;
        *pp = p + 8;
        return 0;
}

int ex_read(struct ex_reader *r, struct ex_item *out)
{
        const uint8_t *p = r->p;
        uint64_t owes = 0; /* items a new non-empty container will hold */
        uint64_t fd_bit = 0; /* an fd tag names this fd (bit) */
        uint64_t extra_items = 0; /* the ints of a packed int list */
        /* What the receiver builds for the item (budget.h), set by the
         * commonest cases below; the rest ask ex_item_cost. */
        uint64_t cost = UINT64_MAX;
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
        if (r->items >= r->budget.clock_at) {
                if ((rc = ex_budget_clock(&r->budget)) < 0)
                        return rc;
                ex_reader_set_deadline(r, r->budget.deadline_ms);
        }
        tag = *p++;
        *out = (struct ex_item){.tag = tag};

        switch (tag) {
        case EX_TAG_NONE:
        case EX_TAG_FALSE:
        case EX_TAG_TRUE:
        case EX_TAG_ELLIPSIS:
                cost = 0;
                break;
        case EX_TAG_INT8:
                if ((rc = need_bytes(p, r->end, 1)) < 0)
                        return rc;
                out->v.i = (int8_t)p[0];
                out->tag = EX_TAG_INT;
                cost = EX_COST_INT;
                p += 1;
                break;
        case EX_TAG_INT16:
                if ((rc = need_bytes(p, r->end, 2)) < 0)
                        return rc;
                out->v.i = (int16_t)get_le16(p);
                out->tag = EX_TAG_INT;
                cost = EX_COST_INT;
                p += 2;
                break;
        case EX_TAG_INT32:
                if ((rc = need_bytes(p, r->end, 4)) < 0)
                        return rc;
                out->v.i = (int32_t)get_le32(p);
                out->tag = EX_TAG_INT;
                cost = EX_COST_INT;
                p += 4;
                break;
        case EX_TAG_BYTES_ARENA:
        case EX_TAG_BYTEARRAY_ARENA: {
                const struct ex_arena *a = r->fds ? r->fds->from : NULL;
                uint32_t off, n;

                if ((rc = need_bytes(p, r->end, 8)) < 0)
                        return rc;
                off = get_le32(p);
                n = get_le32(p + 4);
                p += 8;
                /* Only in a flagged frame, and inside the arena. */
                if (!a || n == 0 || off > a->size || n > a->size - off)
                        return -EBADMSG;
                out->v.s.p = a->base + off;
                out->v.s.n = n;
                break;
        }
        case EX_TAG_BYTES_FD:
        case EX_TAG_BYTEARRAY_FD:
                if ((rc = need_bytes(p, r->end, 12)) < 0)
                        return rc;
                out->v.fd.index = get_le32(p);
                out->v.fd.n = get_le64(p + 4);
                p += 12;
                /* Only fds that came with the frame, each named once. */
                if (out->v.fd.index >= r->nfds)
                        return -EBADMSG;
                fd_bit = 1ull << out->v.fd.index;
                if (r->fds_used & fd_bit)
                        return -EBADMSG;
                if (out->v.fd.n == 0)
                        return -EBADMSG;
                if (r->oob_bytes > r->lim.max_oob_bytes ||
                    out->v.fd.n > r->lim.max_oob_bytes - r->oob_bytes)
                        return -E2BIG;
                break;
        case EX_TAG_DATE:
                if ((rc = read_date(&p, r->end, &out->v.dt)) < 0)
                        return rc;
                break;
        case EX_TAG_TIME:
                if ((rc = read_time(&p, r->end, &out->v.dt)) < 0 ||
                    (rc = read_tz(&p, r->end, true, &out->v.dt.tz)) < 0)
                        return rc;
                break;
        case EX_TAG_DATETIME:
                if ((rc = read_date(&p, r->end, &out->v.dt)) < 0 ||
                    (rc = read_time(&p, r->end, &out->v.dt)) < 0 ||
                    (rc = read_tz(&p, r->end, true, &out->v.dt.tz)) < 0)
                        return rc;
                break;
        case EX_TAG_TIMEZONE:
                if ((rc = read_tz(&p, r->end, false, &out->v.dt.tz)) < 0)
                        return rc;
                break;
        case EX_TAG_TIMEDELTA:
                if ((rc = need_bytes(p, r->end, 12)) < 0)
                        return rc;
                out->v.td.days = (int32_t)get_le32(p);
                out->v.td.seconds = (int32_t)get_le32(p + 4);
                out->v.td.microseconds = (int32_t)get_le32(p + 8);
                p += 12;
                if (!ex_timedelta_valid(out->v.td.days, out->v.td.seconds,
                                        out->v.td.microseconds))
                        return -EBADMSG;
                break;
        case EX_TAG_DECIMAL:
                rc = read_blob(&p, r->end, r->lim.max_bytes_len, out);
                if (rc < 0)
                        return rc;
                if (!ex_decimal_literal_valid(out->v.s.p, out->v.s.n))
                        return -EBADMSG;
                break;
        case EX_TAG_UUID:
                if ((rc = need_bytes(p, r->end, 16)) < 0)
                        return rc;
                out->v.s.p = p;
                out->v.s.n = 16;
                p += 16;
                break;
        case EX_TAG_FRACTION:
                if ((rc = read_sint(&p, r->end, r->lim.max_bigint_bytes,
                                    &out->v.ints[0])) < 0 ||
                    (rc = read_sint(&p, r->end, r->lim.max_bigint_bytes,
                                    &out->v.ints[1])) < 0)
                        return rc;
                if (sint_is_negative(out->v.ints[1]) ||
                    sint_is_zero(out->v.ints[1]))
                        return -EBADMSG;
                break;
        case EX_TAG_RANGE:
                for (int i = 0; i < 3; i++)
                        if ((rc = read_sint(&p, r->end,
                                            r->lim.max_bigint_bytes,
                                            &out->v.ints[i])) < 0)
                                return rc;
                if (sint_is_zero(out->v.ints[2]))
                        return -EBADMSG;
                break;
        case EX_TAG_SLICE:
                /* A fixed-size container: start, stop and step. */
                owes = 3;
                if (owes > (uint64_t)(r->end - p))
                        return -EBADMSG;
                if (r->depth >= r->lim.max_depth)
                        return -ELOOP;
                out->v.count = 3;
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
                cost = EX_COST_FLOAT;
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
        case EX_TAG_TYPE_HANDLE:
                if ((rc = need_bytes(p, r->end, 9)) < 0)
                        return rc;
                out->v.th.id = get_le64(p);
                out->v.th.name_len = p[8];
                p += 9;
                if ((rc = need_bytes(p, r->end, out->v.th.name_len)) < 0)
                        return rc;
                out->v.th.name = p;
                p += out->v.th.name_len;
                if (!ex_utf8_valid(out->v.th.name, out->v.th.name_len))
                        return -EBADMSG;
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
                cost = EX_COST_BLOB + (uint64_t)out->v.s.n;
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
        case EX_TAG_INT_LIST:
        case EX_TAG_INT_TUPLE:
        case EX_TAG_FLOAT_LIST:
        case EX_TAG_FLOAT_TUPLE: {
                bool ints = tag == EX_TAG_INT_LIST || tag == EX_TAG_INT_TUPLE;
                uint8_t width = 8;

                if ((rc = need_bytes(p, r->end, ints ? 5 : 4)) < 0)
                        return rc;
                if (ints)
                        width = *p++;
                count = get_le32(p);
                p += 4;
                if ((width != 1 && width != 2 && width != 4 && width != 8) ||
                    count == 0)
                        return -EBADMSG;
                if (count > r->lim.max_container_len)
                        return -E2BIG;
                /* This item and its numbers, as a list would count them
                 * (r->items < max_items was checked above). */
                if (count > r->lim.max_items - r->items - 1)
                        return -E2BIG;
                /* Checked before anyone allocates `count` objects. */
                if ((uint64_t)count * width > (uint64_t)(r->end - p))
                        return -EBADMSG;
                if (r->depth >= r->lim.max_depth)
                        return -ELOOP;
                out->v.arr.p = p;
                out->v.arr.count = count;
                out->v.arr.width = width;
                p += (size_t)count * width;
                extra_items = count;
                break;
        }
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

        /* What the receiver will build for it, before it does. */
        if (r->budget.on &&
            (rc = ex_budget_charge(&r->budget,
                                   cost != UINT64_MAX ? cost
                                                      : ex_item_cost(out))) <
                    0)
                return rc;
        /* Commit only after the item is whole, so errors leave r as it was. */
        r->p = p;
        r->items += 1 + extra_items;
        r->started = true;
        if (fd_bit) {
                r->fds_used |= fd_bit;
                r->oob_bytes += out->v.fd.n;
        }
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
        uint64_t all = r->nfds >= 64 ? ~0ull : (1ull << r->nfds) - 1;

        if (!r->started || r->depth != 0 || r->p != r->end)
                return -EBADMSG;
        /* An fd no value names has no business in the frame. */
        if (r->fds_used != all)
                return -EBADMSG;
        return 0;
}

int ex_validate(const void *p, size_t n, const struct ex_limits *lim)
{
        return ex_validate_fds(p, n, NULL, lim);
}

int ex_validate_fds(const void *p, size_t n, const struct ex_fds *fds,
                    const struct ex_limits *lim)
{
        struct ex_reader r;
        struct ex_item it;
        int rc;

        ex_reader_init(&r, p, n, lim);
        ex_reader_use_fds(&r, fds);
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

int ex_put_int_grow(struct ex_buf *b, int64_t v)
{
        int rc = ex_buf_reserve(b, 9);

        if (rc < 0)
                return rc;
        b->len += ex_pack_int(b->data + b->len, v);
        return 0;
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

static bool int_array_args_ok(uint8_t tag, unsigned width, uint32_t count)
{
        return (tag == EX_TAG_INT_LIST || tag == EX_TAG_INT_TUPLE) &&
               (width == 1 || width == 2 || width == 4 || width == 8) &&
               count >= 1;
}

static void put_int_array_header(uint8_t *p, uint8_t tag, unsigned width,
                                 uint32_t count)
{
        p[0] = tag;
        p[1] = (uint8_t)width;
        put_le32(p + 2, count);
}

int ex_put_int_array(struct ex_buf *b, uint8_t tag, unsigned width,
                     const void *le, uint32_t count)
{
        size_t n = (size_t)count * width;
        int rc;

        if (!int_array_args_ok(tag, width, count) || !le)
                return -EINVAL;
        rc = ex_buf_reserve(b, EX_INT_ARRAY_HEADER + n);
        if (rc < 0)
                return rc;
        put_int_array_header(b->data + b->len, tag, width, count);
        memcpy(b->data + b->len + EX_INT_ARRAY_HEADER, le, n);
        b->len += EX_INT_ARRAY_HEADER + n;
        return 0;
}

uint8_t *ex_int_array_begin(struct ex_buf *b, uint32_t count, unsigned width,
                            int *err)
{
        if (count == 0 || (width != 4 && width != 8)) {
                *err = -EINVAL;
                return NULL;
        }
        *err = ex_buf_reserve(b, EX_INT_ARRAY_HEADER + (size_t)count * width);
        if (*err < 0)
                return NULL;
        return b->data + b->len + EX_INT_ARRAY_HEADER;
}

/* Rewrite `count` ints of `from` bytes as `to` < from bytes, in place.
 * Forward is safe: each int is read before anything is written over it.
 * Inlined with constant widths below, so each loop is a load and a store. */
static inline __attribute__((always_inline)) void
narrow_ints(uint8_t *p, uint32_t count, unsigned from, unsigned to)
{
        for (uint32_t i = 0; i < count; i++)
                ex_store_int(p + (size_t)i * to, to, ex_int_at(p, from, i));
}

void ex_int_array_end(struct ex_buf *b, uint8_t tag, uint32_t count,
                      unsigned width, int64_t lo, int64_t hi)
{
        uint8_t *p = b->data + b->len + EX_INT_ARRAY_HEADER;
        unsigned to = ex_int_width(lo, hi);

        if (to > width) /* lo..hi did not fit: the caller's bug */
                to = width;
        switch (width * 16 + to) {
        case 4 * 16 + 1:
                narrow_ints(p, count, 4, 1);
                break;
        case 4 * 16 + 2:
                narrow_ints(p, count, 4, 2);
                break;
        case 8 * 16 + 1:
                narrow_ints(p, count, 8, 1);
                break;
        case 8 * 16 + 2:
                narrow_ints(p, count, 8, 2);
                break;
        case 8 * 16 + 4:
                narrow_ints(p, count, 8, 4);
                break;
        default: /* already that width */
                break;
        }
        put_int_array_header(b->data + b->len, tag, to, count);
        b->len += EX_INT_ARRAY_HEADER + (size_t)count * to;
}

int ex_put_float_array(struct ex_buf *b, uint8_t tag, const void *le,
                       uint32_t count)
{
        uint8_t *p;
        int err;

        if ((tag != EX_TAG_FLOAT_LIST && tag != EX_TAG_FLOAT_TUPLE) || !le)
                return -EINVAL;
        p = ex_float_array_begin(b, count, &err);
        if (!p)
                return err;
        memcpy(p, le, (size_t)count * 8);
        ex_float_array_end(b, tag, count);
        return 0;
}

uint8_t *ex_float_array_begin(struct ex_buf *b, uint32_t count, int *err)
{
        if (count == 0) {
                *err = -EINVAL;
                return NULL;
        }
        *err = ex_buf_reserve(b, EX_FLOAT_ARRAY_HEADER + (size_t)count * 8);
        if (*err < 0)
                return NULL;
        return b->data + b->len + EX_FLOAT_ARRAY_HEADER;
}

void ex_float_array_end(struct ex_buf *b, uint8_t tag, uint32_t count)
{
        b->data[b->len] = tag;
        put_le32(b->data + b->len + 1, count);
        b->len += EX_FLOAT_ARRAY_HEADER + (size_t)count * 8;
}

int ex_put_handle(struct ex_buf *b, uint8_t tag, uint64_t id)
{
        uint8_t body[8];

        if (tag != EX_TAG_HANDLE && tag != EX_TAG_BACKREF)
                return -EINVAL;
        put_le64(body, id);
        return put_fixed(b, tag, body, sizeof(body));
}

int ex_put_type_handle(struct ex_buf *b, uint64_t id, const char *name,
                       size_t n)
{
        /* tag, id, length, name: one put, so all or nothing */
        uint8_t tmp[1 + 9 + EX_TYPE_NAME_MAX];

        if (n > EX_TYPE_NAME_MAX || (n && !name) ||
            !ex_utf8_valid((const uint8_t *)name, n))
                return -EINVAL;
        tmp[0] = EX_TAG_TYPE_HANDLE;
        put_le64(tmp + 1, id);
        tmp[9] = (uint8_t)n;
        if (n)
                memcpy(tmp + 10, name, n);
        return ex_buf_put(b, tmp, 10 + n);
}

/* ---- encoders: standard-library values -------------------------------- */

int ex_put_ellipsis(struct ex_buf *b)
{
        return put_fixed(b, EX_TAG_ELLIPSIS, NULL, 0);
}

int ex_put_fd_blob(struct ex_buf *b, uint8_t tag, uint32_t index, uint64_t n)
{
        uint8_t body[12];

        if ((tag != EX_TAG_BYTES_FD && tag != EX_TAG_BYTEARRAY_FD) || n == 0)
                return -EINVAL;
        put_le32(body, index);
        put_le64(body + 4, n);
        return put_fixed(b, tag, body, sizeof(body));
}

int ex_put_blob_oob(struct ex_buf *b, uint8_t tag, const void *p, size_t n,
                    uint64_t max_oob)
{
        uint8_t fd_tag;
        int fd, rc;

        if (tag == EX_TAG_BYTES)
                fd_tag = EX_TAG_BYTES_FD;
        else if (tag == EX_TAG_BYTEARRAY)
                fd_tag = EX_TAG_BYTEARRAY_FD;
        else
                return -EINVAL;
        if (n == 0)
                return -EINVAL;
        if (b->fds.n >= EX_FDS_MAX || b->fds.bytes > max_oob ||
            n > max_oob - b->fds.bytes)
                return -E2BIG;
        /* Room for the tag first, so nothing can fail once the fd is in. */
        rc = ex_buf_reserve(b, 13);
        if (rc < 0)
                return rc;
        fd = ex_oob_create(p, n);
        if (fd < 0)
                return fd;
        rc = ex_put_fd_blob(b, fd_tag, b->fds.n, n);
        if (rc < 0) {
                close(fd);
                return rc;
        }
        ex_fds_push(&b->fds, fd); /* cannot fail: checked above */
        b->fds.bytes += n;
        return 0;
}

int ex_put_blob_arena(struct ex_buf *b, struct ex_arena *a, uint8_t tag,
                      const void *p, size_t n)
{
        uint8_t hdr[9];
        size_t off;
        int rc;

        if (tag != EX_TAG_BYTES && tag != EX_TAG_BYTEARRAY)
                return -EINVAL;
        if (n == 0)
                return -EINVAL;
        if (b->fds.lease && b->fds.lease != a)
                return -EBUSY;
        rc = ex_buf_reserve(b, sizeof(hdr));
        if (rc < 0)
                return rc;
        if (!b->fds.lease) {
                rc = ex_arena_lease(a);
                if (rc < 0)
                        return rc;
                b->fds.lease = a;
                b->fds.lease_used = 0;
        }
        off = b->fds.lease_used;
        if (off > a->size || n > a->size - off)
                return -E2BIG;
        memcpy(a->base + off, p, n);
        /* Next value on its own cache line. */
        b->fds.lease_used = off + ((n + 63) & ~(size_t)63);
        hdr[0] = tag == EX_TAG_BYTES ? EX_TAG_BYTES_ARENA
                                     : EX_TAG_BYTEARRAY_ARENA;
        put_le32(hdr + 1, (uint32_t)off);
        put_le32(hdr + 5, (uint32_t)n);
        ex_buf_put(b, hdr, sizeof(hdr)); /* cannot fail: reserved */
        return 0;
}

int ex_put_slice(struct ex_buf *b)
{
        return put_fixed(b, EX_TAG_SLICE, NULL, 0);
}

/* tz as the reader wants it; returns bytes written to out (<= 10 + 255). */
static size_t pack_tz(uint8_t *out, const struct ex_tzinfo *tz)
{
        size_t n = 0;

        out[n++] = tz->kind;
        if (tz->kind == EX_TZ_NONE)
                return n;
        put_le64(out + n, (uint64_t)tz->offset_us);
        n += 8;
        if (tz->kind == EX_TZ_NAMED) {
                out[n++] = tz->name_len;
                if (tz->name_len)
                        memcpy(out + n, tz->name, tz->name_len);
                n += tz->name_len;
        }
        return n;
}

int ex_put_datetime(struct ex_buf *b, uint8_t tag, const struct ex_datetime *v)
{
        uint8_t tmp[1 + 4 + 8 + 10 + EX_TZ_NAME_MAX];
        bool date = tag == EX_TAG_DATE || tag == EX_TAG_DATETIME;
        bool time = tag == EX_TAG_TIME || tag == EX_TAG_DATETIME;
        size_t n = 0;

        if (!date && !time)
                return -EINVAL;
        if (date && !ex_date_valid(v->year, v->month, v->day))
                return -EINVAL;
        if (time && (!ex_time_valid(v->hour, v->minute, v->second,
                                    v->microsecond, v->fold) ||
                     !ex_tzinfo_valid(&v->tz, true)))
                return -EINVAL;
        tmp[n++] = tag;
        if (date) {
                put_le16(tmp + n, v->year);
                tmp[n + 2] = v->month;
                tmp[n + 3] = v->day;
                n += 4;
        }
        if (time) {
                tmp[n] = v->hour;
                tmp[n + 1] = v->minute;
                tmp[n + 2] = v->second;
                put_le32(tmp + n + 3, v->microsecond);
                tmp[n + 7] = v->fold;
                n += 8;
                n += pack_tz(tmp + n, &v->tz);
        }
        return ex_buf_put(b, tmp, n);
}

int ex_put_timezone(struct ex_buf *b, const struct ex_tzinfo *tz)
{
        uint8_t tmp[1 + 10 + EX_TZ_NAME_MAX];
        size_t n;

        if (!ex_tzinfo_valid(tz, false))
                return -EINVAL;
        tmp[0] = EX_TAG_TIMEZONE;
        n = 1 + pack_tz(tmp + 1, tz);
        return ex_buf_put(b, tmp, n);
}

int ex_put_timedelta(struct ex_buf *b, const struct ex_timedelta *v)
{
        uint8_t body[12];

        if (!ex_timedelta_valid(v->days, v->seconds, v->microseconds))
                return -EINVAL;
        put_le32(body, (uint32_t)v->days);
        put_le32(body + 4, (uint32_t)v->seconds);
        put_le32(body + 8, (uint32_t)v->microseconds);
        return put_fixed(b, EX_TAG_TIMEDELTA, body, sizeof(body));
}

int ex_put_decimal(struct ex_buf *b, const char *s, size_t n)
{
        if (n > UINT32_MAX)
                return -E2BIG;
        if (!ex_decimal_literal_valid((const uint8_t *)s, n))
                return -EINVAL;
        return put_lenbytes(b, EX_TAG_DECIMAL, s, (uint32_t)n);
}

int ex_put_uuid(struct ex_buf *b, const uint8_t bytes[16])
{
        return put_fixed(b, EX_TAG_UUID, bytes, 16);
}

/* Tag and `count` sints, all or nothing. */
static int put_sints(struct ex_buf *b, uint8_t tag, const struct ex_sint *v,
                     int count)
{
        size_t total = 1;
        uint8_t hdr[4];
        int rc;

        for (int i = 0; i < count; i++) {
                if (v[i].n == 0 || !v[i].le)
                        return -EINVAL;
                total += 4 + (size_t)v[i].n;
        }
        rc = ex_buf_reserve(b, total);
        if (rc < 0)
                return rc;
        /* Cannot fail from here: the room is reserved. */
        ex_buf_put(b, &tag, 1);
        for (int i = 0; i < count; i++) {
                put_le32(hdr, v[i].n);
                ex_buf_put(b, hdr, 4);
                ex_buf_put(b, v[i].le, v[i].n);
        }
        return 0;
}

int ex_put_fraction(struct ex_buf *b, struct ex_sint num, struct ex_sint den)
{
        const struct ex_sint v[2] = {num, den};

        if (den.n == 0 || !den.le || sint_is_negative(den) ||
            sint_is_zero(den))
                return -EINVAL;
        return put_sints(b, EX_TAG_FRACTION, v, 2);
}

int ex_put_range(struct ex_buf *b, struct ex_sint start, struct ex_sint stop,
                 struct ex_sint step)
{
        const struct ex_sint v[3] = {start, stop, step};

        if (step.n == 0 || !step.le || sint_is_zero(step))
                return -EINVAL;
        return put_sints(b, EX_TAG_RANGE, v, 3);
}
