/* The decode budget: what decoding one value from a hostile peer may cost
 * the receiver in memory, time and hash-table work.
 *
 * Frame, length and count caps bound the BYTES a peer sends, not what the
 * receiver builds from them: 64 MiB of packed int16s become 1.3 GB of int
 * objects, one 8 MiB arena region named 160 times becomes 1.25 GiB, and
 * 30,000 ints with one hash (k * (2**61 - 1) + c) make every set insert
 * walk all the others. So the reader (codec.h) charges each item, before
 * the caller builds it, an estimate of what a CPython receiver allocates
 * for it (ex_item_cost); it reads the clock every EX_BUDGET_CLOCK_EVERY
 * items against the call's deadline; and the decoder charges each dict or
 * set it is about to fill the pairs of keys whose full hashes are equal
 * (ex_budget_collisions), which is what makes inserting quadratic.
 *
 * An item over budget fails with -EDQUOT (memory, collisions) or
 * -ETIMEDOUT (deadline), and `over` says which. No Python dependency: the
 * costs are numbers measured on 64-bit CPython (sys.getsizeof, rounded to
 * what pymalloc hands out), estimates on the generous side.
 */
#ifndef EXTRADITE_BUDGET_H
#define EXTRADITE_BUDGET_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of the profile's limits.max_reply_memory and
 * limits.max_reply_hash_collisions. */
#define EX_REPLY_MEMORY_DEFAULT ((uint64_t)256 << 20)
#define EX_REPLY_COLLISIONS_DEFAULT ((uint64_t)65536)
/* Items decoded between two reads of the clock (a vDSO call, ~20 ns). */
#define EX_BUDGET_CLOCK_EVERY 1024u

/* What a receiver builds for the commonest items (ex_item_cost has all):
 * an int object of one or two digits (ex_read_int_inline charges this),
 * a float, and the header of a str or bytes (plus its bytes). */
#define EX_COST_INT 32u
#define EX_COST_FLOAT 24u
#define EX_COST_BLOB 56u

enum ex_budget_over {
        EX_OVER_NONE = 0,
        EX_OVER_MEMORY,
        EX_OVER_COLLISIONS,
        EX_OVER_DEADLINE,
};

struct ex_budget {
        bool on;              /* any cap or a deadline */
        uint64_t mem_left;    /* UINT64_MAX: no cap */
        uint64_t mem_max;     /* 0: no cap */
        uint64_t probes_left; /* UINT64_MAX: no cap */
        uint64_t probes_max;  /* 0: no cap */
        int64_t deadline_ms;  /* ex_now_ms() clock; -1: none */
        int64_t timeout_ms;   /* what set the deadline, for messages; -1 */
        uint64_t clock_at;    /* the reader's item count of the next read */
        uint8_t over;         /* enum ex_budget_over: what ran out first */
};

struct ex_item;

/* Caps of 0 mean none; a budget with no cap and no deadline is off. */
void ex_budget_init(struct ex_budget *b, uint64_t max_memory,
                    uint64_t max_collisions);
void ex_budget_set_deadline(struct ex_budget *b, int64_t deadline_ms);

/* Charge n bytes: 0, or -EDQUOT (over = EX_OVER_MEMORY) and nothing
 * charged. */
static inline int ex_budget_charge(struct ex_budget *b, uint64_t n)
{
        if (n > b->mem_left) {
                b->over = EX_OVER_MEMORY;
                return -EDQUOT;
        }
        b->mem_left -= n;
        return 0;
}

/* -ETIMEDOUT (over = EX_OVER_DEADLINE) once past the deadline, else 0. */
int ex_budget_clock(struct ex_budget *b);

/* What the receiver builds for one item the reader returned (the item
 * itself: a container's items are charged when read). */
uint64_t ex_item_cost(const struct ex_item *it);

/* Extra bytes a str of these n bytes of valid UTF-8 takes beyond n as a
 * compact CPython str (1, 2 or 4 bytes a character), found in one pass. */
uint64_t ex_utf8_extra_cost(const uint8_t *p, size_t n);

/* A dict or set is about to receive n keys whose full hashes fold to
 * these (ex_hash_fold): charge the pairs of equal folds (sum of k*(k-1)/2
 * over groups of k) to the collision budget. Equal full hashes fold
 * equal, so this never undercounts the comparisons the inserts will make;
 * distinct hashes fold equal by chance once in 2**32 pairs. Sorts `folds`
 * in place. 0, -ENOMEM, or -EDQUOT (over = EX_OVER_COLLISIONS). */
int ex_budget_collisions(struct ex_budget *b, uint32_t *folds, size_t n);
static inline uint32_t ex_hash_fold(uint64_t hash)
{
        return (uint32_t)(hash ^ (hash >> 32));
}

#endif
