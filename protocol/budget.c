/* The decode budget; see budget.h for what and why. */
#include "budget.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"

void ex_budget_init(struct ex_budget *b, uint64_t max_memory,
                    uint64_t max_collisions)
{
        *b = (struct ex_budget){
                .on = max_memory || max_collisions,
                .mem_left = max_memory ? max_memory : UINT64_MAX,
                .mem_max = max_memory,
                .probes_left = max_collisions ? max_collisions : UINT64_MAX,
                .probes_max = max_collisions,
                .deadline_ms = -1,
                .timeout_ms = -1,
                .clock_at = UINT64_MAX, /* no deadline: never */
        };
}

void ex_budget_set_deadline(struct ex_budget *b, int64_t deadline_ms)
{
        b->deadline_ms = deadline_ms;
        if (deadline_ms >= 0)
                b->on = true;
}

int ex_budget_clock(struct ex_budget *b)
{
        if (b->deadline_ms < 0 || ex_now_ms() <= b->deadline_ms)
                return 0;
        b->over = EX_OVER_DEADLINE;
        return -ETIMEDOUT;
}

/* ---- costs --------------------------------------------------------------
 * Measured with sys.getsizeof on 64-bit CPython 3.11-3.13 and rounded up
 * to pymalloc's 8 or 16 bytes. Each is the object plus nothing else: the
 * pointer a container keeps to it is charged with the container. */
enum {
        PTR = 8,
        BLOB = EX_COST_BLOB, /* str 49, bytes 33, bytearray 57, + n */
        SEQ = 56,           /* list 56, tuple 40, + 8 a slot */
        DICT = 232,         /* an empty dict and its first table */
        /* A dict's or set's table, and the decoder's scratch arrays while
         * it is filled (reply_budget.c: two pointers a pair, one an item;
         * the hashes are freed before the table grows). */
        DICT_PAIR = 64,     /* 36-52 a pair at every size measured, + 16 */
        SET = 216,          /* a set and its first table */
        SET_ITEM = 72,      /* 33-84 an item past the first table, + 8 */
        INT_BIG = 40,       /* 3 digits: above 2**60 */
        FLOAT = EX_COST_FLOAT,
        COMPLEX = 32,
        PROXY = 96,         /* a proxy object and its handle-map entry */
        STDVALUE = 128,     /* date/time/datetime/timedelta/timezone, UUID */
};

/* A big int of n two's-complement bytes: 30-bit digits of 4 bytes. */
static uint64_t bigint_cost(uint64_t n)
{
        return 32 + (n * 8 + 29) / 30 * 4;
}

/* Width-1 packed ints outside -5..256 are new objects; the rest are
 * CPython's cached small ints. */
static uint64_t int8_objects(const uint8_t *p, uint32_t n)
{
        uint64_t k = 0;

        for (uint32_t i = 0; i < n; i++)
                k += (int8_t)p[i] < -5;
        return k;
}

uint64_t ex_item_cost(const struct ex_item *it)
{
        uint64_t n;

        switch (it->tag) {
        case EX_TAG_INT:
                /* One or two 30-bit digits take 32 bytes, three 40. */
                return it->v.i >= -(1ll << 60) && it->v.i < (1ll << 60)
                               ? EX_COST_INT
                               : INT_BIG;
        case EX_TAG_BIGINT:
                return bigint_cost(it->v.s.n);
        case EX_TAG_FLOAT:
                return FLOAT;
        case EX_TAG_COMPLEX:
                return COMPLEX;
        case EX_TAG_STR: /* its characters beyond 1 byte: ex_utf8_extra_cost */
        case EX_TAG_BYTES:
        case EX_TAG_BYTEARRAY:
        case EX_TAG_PICKLE:
        case EX_TAG_DECIMAL:
        /* Arena and memfd bytes are copied each time they are named. */
        case EX_TAG_BYTES_ARENA:
        case EX_TAG_BYTEARRAY_ARENA:
                return BLOB + (uint64_t)it->v.s.n;
        case EX_TAG_BYTES_FD:
        case EX_TAG_BYTEARRAY_FD:
                return BLOB + it->v.fd.n;
        case EX_TAG_LIST:
        case EX_TAG_TUPLE:
                return SEQ + (uint64_t)it->v.count * PTR;
        case EX_TAG_DICT:
                return DICT + (uint64_t)it->v.count * DICT_PAIR;
        case EX_TAG_SET:
        case EX_TAG_FROZENSET:
                return SET + (uint64_t)it->v.count * SET_ITEM;
        case EX_TAG_SLICE:
                return SEQ;
        case EX_TAG_INT_LIST:
        case EX_TAG_INT_TUPLE:
                n = it->v.arr.count;
                switch (it->v.arr.width) {
                case 1:
                        return SEQ + n * PTR +
                               int8_objects(it->v.arr.p, it->v.arr.count) *
                                       EX_COST_INT;
                case 8:
                        return SEQ + n * (PTR + INT_BIG);
                default:
                        return SEQ + n * (PTR + EX_COST_INT);
                }
        case EX_TAG_FLOAT_LIST:
        case EX_TAG_FLOAT_TUPLE:
                return SEQ + (uint64_t)it->v.arr.count * (PTR + FLOAT);
        case EX_TAG_HANDLE:
                return PROXY;
        case EX_TAG_DATE:
        case EX_TAG_TIME:
        case EX_TAG_DATETIME:
        case EX_TAG_TIMEDELTA:
        case EX_TAG_TIMEZONE:
        case EX_TAG_UUID:
                return STDVALUE;
        case EX_TAG_FRACTION:
                return STDVALUE + bigint_cost(it->v.ints[0].n) +
                       bigint_cost(it->v.ints[1].n);
        case EX_TAG_RANGE:
                return STDVALUE + bigint_cost(it->v.ints[0].n) +
                       bigint_cost(it->v.ints[1].n) +
                       bigint_cost(it->v.ints[2].n);
        default: /* None, bools, Ellipsis, backrefs: nothing new */
                return 0;
        }
}

uint64_t ex_utf8_extra_cost(const uint8_t *p, size_t n)
{
        uint64_t chars = 0;
        unsigned kind = 1;

        /* A character is a byte that is not a continuation byte; a lead
         * byte from C4 (U+0100) needs 2 bytes a character, from F0
         * (U+10000) 4. Branch-free, so the compiler vectorizes it. */
        uint8_t top = 0;
        for (size_t i = 0; i < n; i++) {
                chars += (p[i] & 0xC0) != 0x80;
                top = p[i] > top ? p[i] : top;
        }
        if (top >= 0xF0)
                kind = 4;
        else if (top >= 0xC4)
                kind = 2;
        /* Non-ASCII strs also carry a wider header (+24 bytes). */
        if (top >= 0x80 && chars * kind + 24 > n)
                return chars * kind + 24 - n;
        return 0;
}

/* ---- colliding hashes -------------------------------------------------- */

static void insertion_sort(uint32_t *v, size_t n)
{
        for (size_t i = 1; i < n; i++) {
                uint32_t x = v[i];
                size_t j = i;

                for (; j > 0 && v[j - 1] > x; j--)
                        v[j] = v[j - 1];
                v[j] = x;
        }
}

/* LSD radix sort, a byte a pass, only over the bytes in which some keys
 * differ: qsort's n log n calls cost more than the inserts they guard. */
static int radix_sort(uint32_t *v, size_t n)
{
        uint32_t *tmp = malloc(n * sizeof(*v)), *src = v, *dst = tmp, *t;
        uint32_t differ = 0;
        size_t count[256];

        if (!tmp)
                return -ENOMEM;
        for (size_t i = 1; i < n; i++)
                differ |= v[i] ^ v[0];
        for (unsigned shift = 0; shift < 32; shift += 8) {
                size_t pos = 0;

                if (!((differ >> shift) & 0xFF))
                        continue; /* every key has this byte */
                memset(count, 0, sizeof(count));
                for (size_t i = 0; i < n; i++)
                        count[(src[i] >> shift) & 0xFF]++;
                for (unsigned d = 0; d < 256; d++) {
                        size_t k = count[d];

                        count[d] = pos;
                        pos += k;
                }
                for (size_t i = 0; i < n; i++)
                        dst[count[(src[i] >> shift) & 0xFF]++] = src[i];
                t = src;
                src = dst;
                dst = t;
        }
        if (src != v)
                memcpy(v, src, n * sizeof(*v));
        free(tmp);
        return 0;
}

int ex_budget_collisions(struct ex_budget *b, uint32_t *folds, size_t n)
{
        uint64_t pairs = 0;
        size_t run = 1;
        int rc;

        if (n < 2)
                return 0;
        if (n <= 32) {
                insertion_sort(folds, n);
        } else if ((rc = radix_sort(folds, n)) < 0) {
                return rc;
        }
        /* A group of k equal hashes: the j-th insert compares with the
         * j-1 before it, k*(k-1)/2 in all. Distinct full hashes part ways
         * after a few probes (CPython perturbs by the high bits), so only
         * equal ones cost more than a constant each. */
        for (size_t i = 1; i <= n; i++) {
                if (i < n && folds[i] == folds[i - 1]) {
                        run++;
                        continue;
                }
                pairs += (uint64_t)run * (run - 1) / 2;
                run = 1;
        }
        if (pairs > b->probes_left) {
                b->over = EX_OVER_COLLISIONS;
                return -EDQUOT;
        }
        b->probes_left -= pairs;
        return 0;
}
