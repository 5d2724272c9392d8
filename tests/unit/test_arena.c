/* Unit tests for protocol/arena.c and its use by the frame and codec
 * layers: the pair's seals and mappings, lease and acknowledgement, and
 * what a receiver accepts. Both "processes" live in this one: the parent's
 * pair is created here and the child's mapped from the same fds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "arena_pair.h"
#include "buf.h"
#include "codec.h"
#include "frame.h"

static int setup(void **state)
{
        static struct arena_pair s;

        arena_pair_open(&s);
        *state = &s;
        return 0;
}

static int teardown(void **state)
{
        arena_pair_close(*state);
        return 0;
}

static void test_pair_shares_memory(void **state)
{
        struct arena_pair *s = *state;

        assert_int_equal(s->down.size, EX_ARENA_SIZE);
        assert_int_equal(s->cup.size, EX_ARENA_SIZE);
        memcpy(s->down.base + 100, "down", 4);
        assert_memory_equal(s->cdown.base + 100, "down", 4);
        memcpy(s->cup.base + 200, "up", 2);
        assert_memory_equal(s->up.base + 200, "up", 2);
        /* Acknowledgements land in the other side's view. */
        ex_arena_ack(&s->cdown, 7);
        assert_int_equal(atomic_load(s->down.ack), 7);
        ex_arena_ack(&s->up, 9);
        assert_int_equal(atomic_load(s->cup.ack), 9);
}

static void test_child_cannot_write_down(void **state)
{
        struct arena_pair *s = *state;

        /* Read-only, and sealed so it cannot be made writable. */
        assert_int_equal(mprotect(s->cdown.map, s->cdown.map_len,
                                  PROT_READ | PROT_WRITE),
                         -1);
        assert_int_equal(errno, EACCES);
}

static void test_map_refuses_other_fds(void **state)
{
        struct ex_arena a, b;
        int plain = memfd_create("plain", MFD_CLOEXEC);
        int sized = memfd_create("sized", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        (void)state;
        assert_true(plain >= 0 && sized >= 0);
        assert_int_equal(ftruncate(plain, EX_ARENA_SIZE), 0);
        /* Right size, no seals: the parent could not have sent it. */
        assert_int_equal(ex_arena_pair_map(&a, &b, plain, plain), -EBADMSG);
        assert_null(a.map);
        /* Sealed, wrong size. */
        assert_int_equal(ftruncate(sized, 4096), 0);
        assert_int_equal(fcntl(sized, F_ADD_SEALS,
                               F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                         0);
        assert_int_equal(ex_arena_pair_map(&a, &b, sized, sized), -EBADMSG);
        close(plain);
        close(sized);
}

static void test_lease_waits_for_the_ack(void **state)
{
        struct arena_pair *s = *state;
        uint32_t sent = s->down.sent;

        ex_arena_ack(&s->cdown, sent); /* all acknowledged so far */
        assert_int_equal(ex_arena_lease(&s->down), 0);
        /* One lessee at a time. */
        assert_int_equal(ex_arena_lease(&s->down), -EBUSY);
        ex_arena_unlease(&s->down, 0); /* dropped: not counted */
        assert_int_equal(s->down.sent, sent);
        assert_int_equal(ex_arena_lease(&s->down), 0);
        ex_arena_unlease(&s->down, 1);
        assert_int_equal(s->down.sent, sent + 1);
        /* Sent, not yet acknowledged. */
        assert_int_equal(ex_arena_lease(&s->down), -EBUSY);
        ex_arena_ack(&s->cdown, sent + 1);
        assert_int_equal(ex_arena_lease(&s->down), 0);
        ex_arena_unlease(&s->down, 0);
}

static void test_unmapped_arena_is_never_leased(void **state)
{
        struct ex_arena none = {0};
        struct ex_buf b = {0};

        (void)state;
        assert_int_equal(ex_arena_lease(&none), -EBUSY);
        assert_int_equal(ex_put_blob_arena(&b, &none, EX_TAG_BYTES, "x", 1),
                         -EBUSY);
        ex_buf_free(&b);
}

/* Send a frame with two arena values, receive it on the other end, read
 * them back, and let go: the sender may lease again. */
static void test_frame_round_trip(void **state)
{
        struct arena_pair *s = *state;
        struct ex_buf out = {0}, in = {0};
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .request_id = 1},
                               got;
        struct ex_rx rx = {.arena = &s->cdown};
        struct ex_reader r;
        struct ex_item it;
        static uint8_t one[100000], two[3000];

        memset(one, 0x5a, sizeof(one));
        memset(two, 0xa5, sizeof(two));
        /* In step, as two real peers are (the tests above sent alone). */
        ex_arena_ack(&s->cdown, s->down.sent);
        s->cdown.received = s->down.sent;
        assert_int_equal(ex_put_container(&out, EX_TAG_TUPLE, 2), 0);
        assert_int_equal(ex_put_blob_arena(&out, &s->down, EX_TAG_BYTES, one,
                                           sizeof(one)),
                         0);
        assert_int_equal(ex_put_blob_arena(&out, &s->down, EX_TAG_BYTEARRAY,
                                           two, sizeof(two)),
                         0);
        assert_ptr_equal(out.fds.lease, &s->down);
        h.length = (uint32_t)out.len;
        assert_int_equal(ex_frame_send_tx(s->sv[0], NULL, &h, &out, -1), 0);
        assert_null(out.fds.lease); /* sent: the lease ended */
        assert_int_equal(ex_arena_lease(&s->down), -EBUSY); /* not acked */

        assert_int_equal(ex_frame_recv_rx(s->sv[1], 1 << 20, -1, -1, &rx,
                                          &got, &in),
                         0);
        assert_int_equal(got.flags, EX_FRAME_FLAG_ARENA);
        assert_ptr_equal(in.fds.from, &s->cdown);
        ex_reader_init(&r, in.data, in.len, &(struct ex_limits){
                                                    .max_depth = 4,
                                                    .max_container_len = 4,
                                                    .max_bytes_len = 16,
                                                    .max_items = 8});
        ex_reader_use_fds(&r, &in.fds);
        assert_int_equal(ex_read(&r, &it), 0);
        assert_int_equal(ex_read(&r, &it), 0);
        assert_int_equal(it.tag, EX_TAG_BYTES_ARENA);
        assert_int_equal(it.v.s.n, sizeof(one));
        assert_memory_equal(it.v.s.p, one, sizeof(one));
        assert_int_equal(ex_read(&r, &it), 0);
        assert_int_equal(it.tag, EX_TAG_BYTEARRAY_ARENA);
        assert_memory_equal(it.v.s.p, two, sizeof(two));
        assert_int_equal(ex_reader_finish(&r), 0);
        ex_buf_reset(&in); /* letting go acknowledges */
        assert_int_equal(ex_arena_lease(&s->down), 0);
        ex_arena_unlease(&s->down, 0);
        ex_buf_free(&in);
        ex_buf_free(&out);
}

static void test_full_arena_keeps_the_lease(void **state)
{
        struct arena_pair *s = *state;
        struct ex_buf out = {0};
        static uint8_t big[EX_ARENA_SIZE / 2];

        ex_arena_ack(&s->cdown, s->down.sent);
        assert_int_equal(ex_put_blob_arena(&out, &s->down, EX_TAG_BYTES, big,
                                           sizeof(big)),
                         0);
        assert_int_equal(ex_put_blob_arena(&out, &s->down, EX_TAG_BYTES, big,
                                           sizeof(big)),
                         0);
        /* Nothing written for the refused one. */
        size_t len = out.len;
        assert_int_equal(ex_put_blob_arena(&out, &s->down, EX_TAG_BYTES, big,
                                           1),
                         -E2BIG);
        assert_int_equal(out.len, len);
        /* Dropping the unsent buffer ends the lease uncounted. */
        uint32_t sent = s->down.sent;
        ex_buf_free(&out);
        assert_int_equal(s->down.sent, sent);
        assert_int_equal(ex_arena_lease(&s->down), 0);
        ex_arena_unlease(&s->down, 0);
}

static void send_raw(int fd, uint16_t flags, uint8_t kind, const void *p,
                     uint32_t n)
{
        struct ex_frame_header h = {.length = n, .kind = kind,
                                    .flags = flags, .request_id = 1};
        uint8_t hdr[EX_FRAME_HEADER_SIZE];

        ex_frame_header_pack(&h, hdr);
        assert_int_equal(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
        if (n)
                assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void test_receiver_refuses_misplaced_arena_frames(void **state)
{
        struct arena_pair *s = *state;
        struct ex_frame_header got;
        struct ex_buf in = {0};
        struct ex_rx rx = {.arena = &s->cdown};
        uint8_t none = EX_TAG_NONE;

        /* A flagged frame where no arena was agreed. */
        send_raw(s->sv[0], EX_FRAME_FLAG_ARENA, EX_MSG_REPLY, &none, 1);
        assert_int_equal(ex_frame_recv_fds(s->sv[1], 100, -1, -1, &got, &in),
                         -EBADMSG);
        close(s->sv[1]);
        close(s->sv[0]);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    s->sv),
                         0);
        /* A flagged release. */
        send_raw(s->sv[0], EX_FRAME_FLAG_ARENA, EX_MSG_RELEASE, NULL, 0);
        assert_int_equal(ex_frame_recv_rx(s->sv[1], 100, -1, -1, &rx, &got,
                                          &in),
                         -EBADMSG);
        /* An unknown flag. */
        send_raw(s->sv[0], 0x0002, EX_MSG_REPLY, &none, 1);
        assert_int_equal(ex_frame_recv_rx(s->sv[1], 100, -1, -1, &rx, &got,
                                          &in),
                         -EBADMSG);
        ex_buf_free(&in);
}

static void test_reader_bounds(void **state)
{
        struct arena_pair *s = *state;
        struct ex_limits lim = ex_limits_default();
        struct ex_fds with = {.from = &s->cdown}, without = {0};
        struct {
                uint32_t off, n;
                int want;
        } cases[] = {
                {0, 1, 0},
                {EX_ARENA_SIZE - 1, 1, 0},
                {0, EX_ARENA_SIZE, 0},
                {0, 0, -EBADMSG},
                {EX_ARENA_SIZE, 1, -EBADMSG},
                {EX_ARENA_SIZE - 1, 2, -EBADMSG},
                {0, EX_ARENA_SIZE + 1, -EBADMSG},
                {UINT32_MAX, 2, -EBADMSG},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                uint8_t v[9] = {EX_TAG_BYTES_ARENA};
                struct ex_reader r;
                struct ex_item it;

                memcpy(v + 1, &cases[i].off, 4); /* little-endian host */
                memcpy(v + 5, &cases[i].n, 4);
                ex_reader_init(&r, v, sizeof(v), &lim);
                ex_reader_use_fds(&r, &with);
                assert_int_equal(ex_read(&r, &it), cases[i].want);
                if (cases[i].want == 0)
                        assert_ptr_equal(it.v.s.p,
                                         s->cdown.base + cases[i].off);
                /* The same value outside a flagged frame: never. */
                ex_reader_init(&r, v, sizeof(v), &lim);
                ex_reader_use_fds(&r, &without);
                assert_int_equal(ex_read(&r, &it), -EBADMSG);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pair_shares_memory),
                cmocka_unit_test(test_child_cannot_write_down),
                cmocka_unit_test(test_map_refuses_other_fds),
                cmocka_unit_test(test_lease_waits_for_the_ack),
                cmocka_unit_test(test_unmapped_arena_is_never_leased),
                cmocka_unit_test(test_frame_round_trip),
                cmocka_unit_test(test_full_arena_keeps_the_lease),
                cmocka_unit_test(test_receiver_refuses_misplaced_arena_frames),
                cmocka_unit_test(test_reader_bounds),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
