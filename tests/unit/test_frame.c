/* Unit tests for protocol/frame.c: the header layout and checks, and
 * ex_frame_send/ex_frame_recv over a real socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "frame.h"

/* ---- helpers ---------------------------------------------------------- */

static void pair(int sv[2])
{
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                         0);
}

static void close_pair(int sv[2])
{
        if (sv[0] >= 0)
                close(sv[0]);
        if (sv[1] >= 0)
                close(sv[1]);
        sv[0] = sv[1] = -1;
}

static void write_all(int fd, const void *p, size_t n)
{
        assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000,
                              .tv_nsec = (ms % 1000) * 1000000};

        nanosleep(&ts, NULL);
}

static const struct ex_frame_header call_hdr = {
        .length = 0,
        .kind = EX_MSG_CALL,
        .op = EX_OP_CALL_METHOD,
        .flags = 0,
        .request_id = 0x11223344,
        .chain_id = 0xa1b2c3d4,
};

/* ---- header ----------------------------------------------------------- */

static void test_header_roundtrip(void **state)
{
        struct ex_frame_header h = call_hdr, got;
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        static const uint8_t want[EX_FRAME_HEADER_SIZE] = {
                0x04, 0x03, 0x02, 0x01, EX_MSG_CALL, EX_OP_CALL_METHOD,
                0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0xd4, 0xc3, 0xb2, 0xa1,
        };

        (void)state;
        h.length = 0x01020304;
        ex_frame_header_pack(&h, raw);
        assert_memory_equal(raw, want, sizeof(want));
        memset(&got, 0xee, sizeof(got));
        assert_int_equal(ex_frame_header_unpack(raw, UINT32_MAX, &got), 0);
        assert_int_equal(got.length, h.length);
        assert_int_equal(got.kind, h.kind);
        assert_int_equal(got.op, h.op);
        assert_int_equal(got.flags, 0);
        assert_int_equal(got.request_id, h.request_id);
        assert_int_equal(got.chain_id, h.chain_id);
}

static void test_header_every_valid_kind_op(void **state)
{
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        struct ex_frame_header h = {0}, got;

        (void)state;
        for (uint8_t kind = 1; kind <= EX_MSG_KIND_MAX; kind++) {
                h.kind = kind;
                h.op = 0;
                for (uint8_t op = (kind == EX_MSG_CALL);
                     op <= (kind == EX_MSG_CALL ? EX_OP_MAX : 0); op++) {
                        h.op = op;
                        ex_frame_header_pack(&h, raw);
                        assert_int_equal(ex_frame_header_unpack(raw, 0, &got),
                                         0);
                        assert_int_equal(got.kind, kind);
                        assert_int_equal(got.op, op);
                }
        }
}

/* Pack `h`, then unpack with the given cap. */
static int unpack_of(const struct ex_frame_header *h, uint32_t max)
{
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        struct ex_frame_header got;

        ex_frame_header_pack(h, raw);
        return ex_frame_header_unpack(raw, max, &got);
}

static void test_header_bad_fields(void **state)
{
        struct ex_frame_header h;
        static const uint8_t bad_kinds[] = {0, EX_MSG_KIND_MAX + 1, 0x7f,
                                            0xff};

        (void)state;
        for (size_t i = 0; i < sizeof(bad_kinds); i++) {
                h = (struct ex_frame_header){.kind = bad_kinds[i]};
                assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        }
        /* A call must name an operation in range. */
        h = call_hdr;
        h.op = 0;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        h.op = EX_OP_MAX + 1;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        h.op = 0xff;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        /* Anything but a call must say op 0. */
        h = (struct ex_frame_header){.kind = EX_MSG_REPLY, .op = EX_OP_LOAD};
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        h.kind = EX_MSG_RELEASE;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        h.op = 0;
        assert_int_equal(unpack_of(&h, 100), 0);
        /* Reserved flags. */
        h.flags = 1;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        h.flags = 0x8000;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
}

static void test_header_length_cap(void **state)
{
        struct ex_frame_header h = call_hdr;

        (void)state;
        h.length = 100;
        assert_int_equal(unpack_of(&h, 100), 0);
        h.length = 101;
        assert_int_equal(unpack_of(&h, 100), -EMSGSIZE);
        h.length = UINT32_MAX;
        assert_int_equal(unpack_of(&h, EX_FRAME_MAX_DEFAULT), -EMSGSIZE);
        h.length = 0;
        assert_int_equal(unpack_of(&h, 0), 0);
}

/* ---- send / recv ------------------------------------------------------ */

static void test_send_recv_small(void **state)
{
        int sv[2];
        struct ex_frame_header h = call_hdr, got;
        struct ex_buf in = {0};

        (void)state;
        pair(sv);
        h.length = 5;
        assert_int_equal(ex_frame_send(sv[0], &h, "hello", 5), 0);
        /* An empty reply right behind it, with a NULL payload. */
        h = (struct ex_frame_header){.kind = EX_MSG_REPLY, .request_id = 9};
        assert_int_equal(ex_frame_send(sv[0], &h, NULL, 0), 0);

        assert_int_equal(ex_buf_put(&in, "stale", 5), 0);
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, -1, &got, &in), 0);
        assert_int_equal(got.kind, EX_MSG_CALL);
        assert_int_equal(got.op, EX_OP_CALL_METHOD);
        assert_int_equal(got.length, 5);
        assert_int_equal(got.request_id, call_hdr.request_id);
        assert_int_equal(got.chain_id, call_hdr.chain_id);
        assert_int_equal(in.len, 5);
        assert_memory_equal(in.data, "hello", 5);

        assert_int_equal(ex_frame_recv(sv[1], 100, ex_now_ms() + 1000, -1,
                                       &got, &in),
                         0);
        assert_int_equal(got.kind, EX_MSG_REPLY);
        assert_int_equal(got.request_id, 9);
        assert_int_equal(got.length, 0);
        assert_int_equal(in.len, 0); /* reset, not appended */
        ex_buf_free(&in);
        close_pair(sv);
}

struct sender {
        int fd;
        const uint8_t *p;
        uint32_t len;
        int frames;
        int rc;
};

static void *send_thread(void *arg)
{
        struct sender *s = arg;
        struct ex_frame_header h = {.kind = EX_MSG_REPLY};

        s->rc = 0;
        for (int i = 0; i < s->frames && s->rc == 0; i++) {
                h.length = s->len;
                h.request_id = (uint32_t)i;
                s->rc = ex_frame_send(s->fd, &h, s->p, s->len);
        }
        return NULL;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
        uint8_t *p = malloc(n);

        assert_non_null(p);
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 11));
        return p;
}

/* A payload far bigger than the socket buffer: the sender's writes are
 * short (blocking) or EAGAIN (non-blocking) and must resume correctly. */
static void big_transfer(bool nonblocking)
{
        const uint32_t len = 4u << 20;
        int sv[2];
        uint8_t *p = pattern(len, nonblocking);
        struct sender s = {.p = p, .len = len, .frames = 2, .rc = -1};
        struct ex_buf in;
        struct ex_frame_header got;
        pthread_t t;
        int sndbuf = 4096;

        pair(sv);
        /* A small send buffer forces many partial writes. */
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
                                    sizeof(sndbuf)),
                         0);
        if (nonblocking)
                assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
        s.fd = sv[0];
        ex_buf_init(&in, len);
        assert_int_equal(pthread_create(&t, NULL, send_thread, &s), 0);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(ex_frame_recv(sv[1], len, ex_now_ms() + 30000,
                                               -1, &got, &in),
                                 0);
                assert_int_equal(got.length, len);
                assert_int_equal(got.request_id, i);
                assert_int_equal(in.len, len);
                assert_memory_equal(in.data, p, len);
        }
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(s.rc, 0);
        ex_buf_free(&in);
        free(p);
        close_pair(sv);
}

static void test_send_recv_large_blocking(void **state)
{
        (void)state;
        big_transfer(false);
}

static void test_send_recv_large_nonblocking(void **state)
{
        (void)state;
        big_transfer(true);
}

static void test_recv_oversize_before_payload(void **state)
{
        int sv[2];
        struct ex_frame_header h = call_hdr, got;
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        struct ex_buf in = {0};
        int64_t t0;

        (void)state;
        pair(sv);
        /* Only the header is sent: a recv that waited for the payload
         * would time out instead of failing at once. */
        h.length = 1001;
        ex_frame_header_pack(&h, raw);
        write_all(sv[0], raw, sizeof(raw));
        t0 = ex_now_ms();
        assert_int_equal(ex_frame_recv(sv[1], 1000, t0 + 5000, -1, &got, &in),
                         -EMSGSIZE);
        assert_true(ex_now_ms() - t0 < 2000);
        assert_null(in.data); /* nothing was allocated for it */
        assert_int_equal(in.len, 0);

        /* A receive buffer with a lower ceiling refuses it too. */
        h.length = 50;
        ex_frame_header_pack(&h, raw);
        write_all(sv[0], raw, sizeof(raw));
        ex_buf_init(&in, 49);
        assert_int_equal(ex_frame_recv(sv[1], 1000, -1, -1, &got, &in),
                         -EMSGSIZE);
        ex_buf_free(&in);
        close_pair(sv);
}

static void test_recv_bad_header(void **state)
{
        int sv[2];
        struct ex_frame_header got;
        struct ex_buf in = {0};
        uint8_t raw[EX_FRAME_HEADER_SIZE] = {0, 0, 0, 0, 9 /* kind */};

        (void)state;
        pair(sv);
        write_all(sv[0], raw, sizeof(raw));
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, -1, &got, &in),
                         -EBADMSG);
        close_pair(sv);
        ex_buf_free(&in);
}

static void test_recv_eof(void **state)
{
        int sv[2];
        struct ex_frame_header h = call_hdr, got;
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        struct ex_buf in = {0};
        static const uint8_t half[50];

        (void)state;
        /* Peer gone before anything. */
        pair(sv);
        close(sv[0]);
        sv[0] = -1;
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, -1, &got, &in), -EPIPE);
        close_pair(sv);

        /* Mid-header. */
        h.length = 100;
        ex_frame_header_pack(&h, raw);
        pair(sv);
        write_all(sv[0], raw, 7);
        close(sv[0]);
        sv[0] = -1;
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, -1, &got, &in), -EPIPE);
        close_pair(sv);

        /* Mid-payload. */
        pair(sv);
        write_all(sv[0], raw, sizeof(raw));
        write_all(sv[0], half, sizeof(half));
        close(sv[0]);
        sv[0] = -1;
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, -1, &got, &in), -EPIPE);
        close_pair(sv);
        ex_buf_free(&in);
}

static void test_recv_timeout(void **state)
{
        int sv[2];
        struct ex_frame_header got;
        struct ex_buf in = {0};
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        int64_t t0, dt;

        (void)state;
        pair(sv);
        t0 = ex_now_ms();
        assert_int_equal(ex_frame_recv(sv[1], 100, t0 + 50, -1, &got, &in),
                         -ETIMEDOUT);
        dt = ex_now_ms() - t0;
        assert_true(dt >= 49 && dt < 2000);

        /* A deadline already past still fails cleanly. */
        assert_int_equal(ex_frame_recv(sv[1], 100, ex_now_ms() - 10, -1, &got,
                                       &in),
                         -ETIMEDOUT);

        /* A frame that stalls halfway times out too. */
        ex_frame_header_pack(&call_hdr, raw);
        write_all(sv[0], raw, 10);
        assert_int_equal(ex_frame_recv(sv[1], 100, ex_now_ms() + 30, -1, &got,
                                       &in),
                         -ETIMEDOUT);
        close_pair(sv);
        ex_buf_free(&in);
}

static void test_recv_watch_fd(void **state)
{
        int sv[2], pfd[2];
        struct ex_frame_header got;
        struct ex_buf in = {0};
        int efd;
        uint64_t one = 1;

        (void)state;
        pair(sv);
        /* A pipe: quiet means keep waiting, readable means -ECHILD. */
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        assert_int_equal(ex_frame_recv(sv[1], 100, ex_now_ms() + 30, pfd[0],
                                       &got, &in),
                         -ETIMEDOUT);
        write_all(pfd[1], "x", 1);
        assert_int_equal(ex_frame_recv(sv[1], 100, ex_now_ms() + 5000, pfd[0],
                                       &got, &in),
                         -ECHILD);
        close(pfd[0]);
        close(pfd[1]);

        /* An eventfd, signalled by nobody until now. */
        efd = eventfd(0, EFD_CLOEXEC);
        assert_true(efd >= 0);
        write_all(efd, &one, sizeof(one));
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, efd, &got, &in),
                         -ECHILD);
        close(efd);
        close_pair(sv);
        ex_buf_free(&in);
}

struct late_write {
        int fd;
        long delay_ms;
};

static void *late_write_thread(void *arg)
{
        struct late_write *w = arg;

        sleep_ms(w->delay_ms);
        if (write(w->fd, "x", 1) != 1)
                abort();
        return NULL;
}

static void test_recv_watch_fd_wakes_waiter(void **state)
{
        int sv[2], pfd[2];
        struct ex_frame_header got;
        struct ex_buf in = {0};
        struct late_write w;
        pthread_t t;
        int64_t t0;

        (void)state;
        pair(sv);
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        w = (struct late_write){.fd = pfd[1], .delay_ms = 50};
        assert_int_equal(pthread_create(&t, NULL, late_write_thread, &w), 0);
        t0 = ex_now_ms();
        /* No deadline: only the watch fd can end this wait. */
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, pfd[0], &got, &in),
                         -ECHILD);
        assert_true(ex_now_ms() - t0 >= 40);
        assert_int_equal(pthread_join(t, NULL), 0);
        close(pfd[0]);
        close(pfd[1]);
        close_pair(sv);
        ex_buf_free(&in);
}

static void test_recv_prefers_data(void **state)
{
        int sv[2], pfd[2];
        struct ex_frame_header h = {.kind = EX_MSG_ERROR, .length = 3}, got;
        struct ex_buf in = {0};

        (void)state;
        pair(sv);
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        /* A dying child: its last frame is queued, then it is gone. */
        assert_int_equal(ex_frame_send(sv[0], &h, "bye", 3), 0);
        write_all(pfd[1], "x", 1);
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, pfd[0], &got, &in), 0);
        assert_int_equal(got.kind, EX_MSG_ERROR);
        assert_int_equal(in.len, 3);
        assert_memory_equal(in.data, "bye", 3);
        /* Nothing more on the socket: now the watch fd speaks. */
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, pfd[0], &got, &in),
                         -ECHILD);

        /* Both a frame and EOF queued: the frame, then EOF wins over the
         * watch fd because the socket is still readable. */
        assert_int_equal(ex_frame_send(sv[0], &h, "end", 3), 0);
        close(sv[0]);
        sv[0] = -1;
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, pfd[0], &got, &in), 0);
        assert_memory_equal(in.data, "end", 3);
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, pfd[0], &got, &in),
                         -EPIPE);
        close(pfd[0]);
        close(pfd[1]);
        close_pair(sv);
        ex_buf_free(&in);
}

static void test_send_to_closed_peer(void **state)
{
        int sv[2];
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .length = 4};

        (void)state;
        pair(sv);
        close(sv[1]);
        sv[1] = -1;
        /* Must be -EPIPE, not a SIGPIPE that kills the test. */
        assert_int_equal(ex_frame_send(sv[0], &h, "data", 4), -EPIPE);
        close_pair(sv);
        assert_int_equal(ex_frame_send(-1, &h, "data", 4), -EBADF);
}

static void test_now_ms(void **state)
{
        int64_t a, b;

        (void)state;
        a = ex_now_ms();
        sleep_ms(20);
        b = ex_now_ms();
        assert_true(a >= 0);
        assert_true(b - a >= 19 && b - a < 2000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_roundtrip),
                cmocka_unit_test(test_header_every_valid_kind_op),
                cmocka_unit_test(test_header_bad_fields),
                cmocka_unit_test(test_header_length_cap),
                cmocka_unit_test(test_send_recv_small),
                cmocka_unit_test(test_send_recv_large_blocking),
                cmocka_unit_test(test_send_recv_large_nonblocking),
                cmocka_unit_test(test_recv_oversize_before_payload),
                cmocka_unit_test(test_recv_bad_header),
                cmocka_unit_test(test_recv_eof),
                cmocka_unit_test(test_recv_timeout),
                cmocka_unit_test(test_recv_watch_fd),
                cmocka_unit_test(test_recv_watch_fd_wakes_waiter),
                cmocka_unit_test(test_recv_prefers_data),
                cmocka_unit_test(test_send_to_closed_peer),
                cmocka_unit_test(test_now_ms),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
