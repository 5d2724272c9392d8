/* Unit tests for protocol/budget.c and the reader's use of it (codec.c):
 * the memory a value would build is refused before it is built, arena
 * bytes count each time they are named, the deadline is read while
 * decoding, and equal hashes are counted as the inserts would pay them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "budget.h"
#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "oob.h"

#define OK(expr) assert_int_equal((expr), 0)

static struct ex_limits budget_limits(uint64_t memory, uint64_t collisions)
{
        struct ex_limits lim = ex_limits_default();

        lim.max_reply_memory = memory;
        lim.max_reply_collisions = collisions;
        return lim;
}

/* Read items until the value is done or an error: the error or 0. */
static int read_all(struct ex_reader *r)
{
        struct ex_item it;
        int rc;

        do {
                if ((rc = ex_read(r, &it)) < 0)
                        return rc;
        } while (r->depth);
        return ex_reader_finish(r);
}

static void test_defaults_have_no_budget(void **state)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_reader r;

        (void)state;
        assert_int_equal(lim.max_reply_memory, 0);
        assert_int_equal(lim.max_reply_collisions, 0);
        ex_reader_init(&r, "\x01", 1, &lim);
        assert_false(r.budget.on);
        assert_int_equal(r.budget.mem_left, UINT64_MAX);
}

/* A packed int16 list of a million items costs ~40 MB of objects: refused
 * at its header, before anyone allocates, and r is left as it was. */
static void test_packed_list_refused_at_its_header(void **state)
{
        struct ex_limits lim = budget_limits(16u << 20, 0);
        uint32_t count = 1u << 20;
        struct ex_buf b;
        struct ex_reader r;
        struct ex_item it;
        int16_t *v = calloc(count, sizeof(*v));

        (void)state;
        assert_non_null(v);
        for (uint32_t i = 0; i < count; i++)
                v[i] = 1000;
        ex_buf_init(&b, 0);
        OK(ex_put_int_array(&b, EX_TAG_INT_LIST, 2, v, count));
        ex_reader_init(&r, b.data, b.len, &lim);
        assert_int_equal(ex_read(&r, &it), -EDQUOT);
        assert_int_equal(r.budget.over, EX_OVER_MEMORY);
        assert_ptr_equal(r.p, b.data);
        assert_int_equal(r.items, 0);
        assert_int_equal(r.budget.mem_left, 16u << 20);
        /* Under a cap it fits, it is charged what it builds. */
        lim = budget_limits(64u << 20, 0);
        ex_reader_init(&r, b.data, b.len, &lim);
        OK(read_all(&r));
        assert_true((64u << 20) - r.budget.mem_left >= (uint64_t)count * 40);
        /* Width 1: only ints outside CPython's cached -5..256 cost. */
        ex_buf_free(&b);
        ex_buf_init(&b, 0);
        {
                int8_t small[1000];

                memset(small, 7, sizeof(small));
                small[0] = -100;
                OK(ex_put_int_array(&b, EX_TAG_INT_LIST, 1, small, 1000));
        }
        ex_reader_init(&r, b.data, b.len, &lim);
        OK(read_all(&r));
        assert_int_equal((64u << 20) - r.budget.mem_left,
                         56 + 1000 * 8 + 1 * EX_COST_INT);
        ex_buf_free(&b);
        free(v);
}

/* A list of small ints, each its own tag: ex_read_int_inline charges each
 * and stops at the cap, where ex_read refuses the item. */
static void test_inline_ints_are_charged(void **state)
{
        struct ex_limits lim = budget_limits(56 + 100 * 8 + 50 * EX_COST_INT, 0);
        struct ex_buf b;
        struct ex_reader r;
        struct ex_item it;
        int64_t v;
        int got = 0, rc;

        (void)state;
        ex_buf_init(&b, 0);
        OK(ex_put_container(&b, EX_TAG_LIST, 100));
        for (int i = 0; i < 100; i++)
                OK(ex_put_int(&b, 1000 + i));
        ex_reader_init(&r, b.data, b.len, &lim);
        OK(ex_read(&r, &it));
        for (;;) {
                if (ex_read_int_inline(&r, &v)) {
                        got++;
                        continue;
                }
                rc = ex_read(&r, &it);
                if (rc < 0)
                        break;
                got++;
        }
        assert_int_equal(rc, -EDQUOT);
        assert_int_equal(got, 50);
        ex_buf_free(&b);
}

/* One region of the arena named again and again: each copy counts. */
static void test_arena_bytes_count_each_time(void **state)
{
        static uint8_t region[1 << 20];
        struct ex_arena a = {.base = region, .size = sizeof(region)};
        struct ex_fds fds = {.from = &a};
        struct ex_limits lim = budget_limits(8u << 20, 0);
        uint8_t frame[5 + 20 * 9];
        struct ex_reader r;
        int rc;

        (void)state;
        frame[0] = EX_TAG_LIST;
        frame[1] = 20;
        frame[2] = frame[3] = frame[4] = 0;
        for (int i = 0; i < 20; i++) {
                uint8_t *p = frame + 5 + 9 * i;
                uint32_t n = sizeof(region);

                p[0] = EX_TAG_BYTES_ARENA;
                memset(p + 1, 0, 4);
                memcpy(p + 5, &n, 4); /* little-endian host */
        }
        ex_reader_init(&r, frame, sizeof(frame), &lim);
        ex_reader_use_fds(&r, &fds);
        rc = read_all(&r);
        assert_int_equal(rc, -EDQUOT);
        /* 1 MiB a time under 8 MiB: the 8th copy is refused */
        assert_int_equal(r.items, 1 + 7);
        /* Without a budget the same frame is well-formed. */
        lim = ex_limits_default();
        ex_reader_init(&r, frame, sizeof(frame), &lim);
        ex_reader_use_fds(&r, &fds);
        OK(read_all(&r));
}

static void test_deadline_read_while_decoding(void **state)
{
        struct ex_limits lim = ex_limits_default();
        uint32_t n = 5 * EX_BUDGET_CLOCK_EVERY;
        struct ex_buf b;
        struct ex_reader r;
        struct ex_item it;
        int64_t v;
        int rc;

        (void)state;
        ex_buf_init(&b, 0);
        OK(ex_put_container(&b, EX_TAG_LIST, n));
        for (uint32_t i = 0; i < n; i++)
                OK(ex_put_int(&b, 1000));
        /* In the future: all of it decodes. */
        ex_reader_init(&r, b.data, b.len, &lim);
        ex_reader_set_deadline(&r, ex_now_ms() + 60000);
        assert_true(r.budget.on);
        OK(read_all(&r));
        /* Already past: refused within EX_BUDGET_CLOCK_EVERY items, by the
         * inline path too (it stops where ex_read reads the clock). */
        ex_reader_init(&r, b.data, b.len, &lim);
        ex_reader_set_deadline(&r, ex_now_ms() - 1);
        OK(ex_read(&r, &it));
        do {
                while (ex_read_int_inline(&r, &v))
                        ;
                rc = ex_read(&r, &it);
        } while (rc == 0 && r.depth);
        assert_int_equal(rc, -ETIMEDOUT);
        assert_int_equal(r.budget.over, EX_OVER_DEADLINE);
        assert_true(r.items <= EX_BUDGET_CLOCK_EVERY);
        ex_buf_free(&b);
}

/* Fold full hashes, then count. */
static int count_hashes(struct ex_budget *b, const uint64_t *h, size_t n,
                        uint32_t *folds)
{
        for (size_t i = 0; i < n; i++)
                folds[i] = ex_hash_fold(h[i]);
        return ex_budget_collisions(b, folds, n);
}

static void test_collisions_counted_as_pairs(void **state)
{
        struct ex_budget b;
        uint64_t h[200];
        uint32_t f[200];
        size_t n = 0;

        (void)state;
        ex_budget_init(&b, 0, 1000);
        /* {-1, -2}: CPython hashes both to -2, one pair */
        h[0] = h[1] = (uint64_t)-2;
        OK(count_hashes(&b, h, 2, f));
        assert_int_equal(b.probes_left, 999);
        /* groups of 3, 3 and 1 among distinct others, both sort paths */
        for (size_t total = 10; total <= 200; total += 190) {
                ex_budget_init(&b, 0, 1000);
                n = 0;
                for (int i = 0; i < 3; i++)
                        h[n++] = 77, h[n++] = 1ull << 62;
                h[n++] = 5;
                while (n < total)
                        h[n] = 1000 + n * 7919, n++;
                /* shuffled order must not matter */
                h[0] ^= h[total - 1], h[total - 1] ^= h[0], h[0] ^= h[total - 1];
                OK(count_hashes(&b, h, total, f));
                assert_int_equal(b.probes_left, 1000 - 6);
                for (size_t i = 1; i < total; i++)
                        assert_true(f[i - 1] <= f[i]); /* sorted */
        }
}

static void test_collision_flood_refused(void **state)
{
        enum { N = 30000 };
        struct ex_budget b;
        uint64_t *h = malloc(N * sizeof(*h));
        uint32_t *f = malloc(N * sizeof(*f));
        uint64_t left;

        (void)state;
        assert_non_null(h);
        assert_non_null(f);
        /* 30,000 equal hashes: 449,985,000 pairs, far over 65536 */
        ex_budget_init(&b, 0, EX_REPLY_COLLISIONS_DEFAULT);
        for (size_t i = 0; i < N; i++)
                h[i] = 7;
        assert_int_equal(count_hashes(&b, h, N, f), -EDQUOT);
        assert_int_equal(b.over, EX_OVER_COLLISIONS);
        assert_int_equal(b.probes_left, EX_REPLY_COLLISIONS_DEFAULT);
        /* 30,000 distinct, with equal low bits (as a table would see
         * them) or equal high bits: nothing charged */
        for (size_t i = 0; i < N; i++)
                h[i] = ((uint64_t)i << 32) | 0xabc;
        left = b.probes_left;
        OK(count_hashes(&b, h, N, f));
        for (size_t i = 0; i < N; i++)
                h[i] = (0x1234ull << 32) | (i * 2654435761u);
        OK(count_hashes(&b, h, N, f));
        assert_int_equal(b.probes_left, left);
        /* the budget adds up over a reply: 362 equal (65,341 pairs) fit
         * once, not twice */
        for (size_t i = 0; i < 362; i++)
                h[i] = 9;
        OK(count_hashes(&b, h, 362, f));
        assert_int_equal(count_hashes(&b, h, 362, f), -EDQUOT);
        free(h);
        free(f);
}

static void test_costs(void **state)
{
        struct ex_item it = {.tag = EX_TAG_NONE};

        (void)state;
        assert_int_equal(ex_item_cost(&it), 0);
        it = (struct ex_item){.tag = EX_TAG_INT, .v.i = 1 << 20};
        assert_int_equal(ex_item_cost(&it), EX_COST_INT);
        it = (struct ex_item){.tag = EX_TAG_BYTES_FD, .v.fd.n = 1 << 20};
        assert_true(ex_item_cost(&it) > 1 << 20);
        it = (struct ex_item){.tag = EX_TAG_DICT, .v.count = 1000};
        assert_true(ex_item_cost(&it) >= 1000 * 36);
        /* str: ASCII is its bytes; 2 and 4 byte characters cost more */
        assert_int_equal(ex_utf8_extra_cost((const uint8_t *)"abc", 3), 0);
        assert_int_equal(ex_utf8_extra_cost((const uint8_t *)"caf\xc3\xa9", 5),
                         4 + 24 - 5); /* Latin-1: 4 chars, a wider header */
        assert_int_equal(
                ex_utf8_extra_cost((const uint8_t *)"aaaaaaa\xf0\x9f\x98\x80",
                                   11),
                8 * 4 + 24 - 11);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_have_no_budget),
                cmocka_unit_test(test_packed_list_refused_at_its_header),
                cmocka_unit_test(test_inline_ints_are_charged),
                cmocka_unit_test(test_arena_bytes_count_each_time),
                cmocka_unit_test(test_deadline_read_while_decoding),
                cmocka_unit_test(test_collisions_counted_as_pairs),
                cmocka_unit_test(test_collision_flood_refused),
                cmocka_unit_test(test_costs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
