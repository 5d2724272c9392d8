/* Unit tests for protocol/frame.c: the header layout and checks, and
 * ex_frame_send/ex_frame_recv over a real socketpair, with and without fds
 * (SCM_RIGHTS) and the receiver's memfd checks (protocol/oob.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fd_count.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "oob.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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
        /* Flags: the arena's is the only one known. */
        h.flags = EX_FRAME_FLAG_ARENA;
        assert_int_equal(unpack_of(&h, 100), 0);
        h.flags = 2;
        assert_int_equal(unpack_of(&h, 100), -EBADMSG);
        h.flags = 0x8000 | EX_FRAME_FLAG_ARENA;
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

/* A peer that stops reading cannot hold a sender that has a deadline:
 * -ETIMEDOUT once it passes, though most of the frame could not go out. */
static void test_send_deadline_to_a_peer_that_does_not_read(void **state)
{
        struct ex_frame_header h = {.kind = EX_MSG_REPLY};
        struct ex_buf b = {0};
        int64_t start;
        int sv[2];

        (void)state;
        pair(sv);
        assert_int_equal(ex_buf_reserve(&b, 16u << 20), 0);
        memset(b.data, 'x', 16u << 20);
        b.len = 16u << 20;
        h.length = (uint32_t)b.len;
        start = ex_now_ms();
        assert_int_equal(ex_frame_send_tx(sv[0], NULL, &h, &b, start + 100),
                         -ETIMEDOUT);
        assert_true(ex_now_ms() - start >= 100);
        /* A deadline already past: still refused, never a block. */
        assert_int_equal(ex_frame_send_tx(sv[0], NULL, &h, &b, 0), -ETIMEDOUT);
        ex_buf_free(&b);
        close_pair(sv);
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

/* ---- fds with frames ---------------------------------------------------- */

/* A sealed memfd of n bytes of `fill`. */
static int sealed(size_t n, uint8_t fill)
{
        uint8_t *p = malloc(n ? n : 1);
        int fd;

        assert_non_null(p);
        memset(p, fill, n);
        fd = ex_oob_create(p, n);
        free(p);
        assert_true(fd >= 0);
        return fd;
}

/* Send a whole frame with raw sendmsg and `nfds` copies of `one` as
 * SCM_RIGHTS (more than ex_frame_send_fds allows), the fds on byte
 * `split` onwards when split > 0 (two sendmsg calls). */
static void raw_send(int sock, const struct ex_frame_header *h,
                     const void *payload, size_t nfds, int one, size_t split)
{
        uint8_t frame[EX_FRAME_HEADER_SIZE + 64];
        size_t len = EX_FRAME_HEADER_SIZE + h->length;
        size_t ctl_len = CMSG_SPACE(sizeof(int) * nfds);
        char *ctl = calloc(1, ctl_len);
        struct iovec iov;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        struct cmsghdr *c;

        assert_true(h->length <= 64);
        assert_non_null(ctl);
        ex_frame_header_pack(h, frame);
        memcpy(frame + EX_FRAME_HEADER_SIZE, payload, h->length);
        if (split) {
                iov = (struct iovec){frame, split};
                assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)split);
        }
        iov = (struct iovec){frame + split, len - split};
        if (nfds) {
                msg.msg_control = ctl;
                msg.msg_controllen = ctl_len;
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                for (size_t i = 0; i < nfds; i++)
                        memcpy(CMSG_DATA(c) + i * sizeof(int), &one,
                               sizeof(int));
        }
        assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)(len - split));
        free(ctl);
}

static void test_send_recv_fds(void **state)
{
        int sv[2], fds[3], before;
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .length = 3}, got;
        struct ex_buf in = {0}, out = {0};
        struct ex_limits lim = ex_limits_default();
        uint8_t back[100];

        (void)state;
        pair(sv);
        before = count_open_fds();
        for (int i = 0; i < 3; i++)
                fds[i] = sealed(10 + (size_t)i, (uint8_t)('a' + i));
        assert_int_equal(ex_frame_send_fds(sv[0], &h, "abc", 3, fds, 3), 0);
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, ex_now_ms() + 5000, -1,
                                           &got, &in),
                         0);
        assert_int_equal(got.kind, EX_MSG_REPLY);
        assert_int_equal(in.len, 3);
        assert_memory_equal(in.data, "abc", 3);
        assert_int_equal(in.fds.n, 3);
        for (int i = 0; i < 3; i++) {
                struct stat a, b;
                int fd = in.fds.fd[i];

                /* New numbers for the same files, in order, cloexec. */
                assert_true(fd != fds[i]);
                assert_int_equal(fstat(fd, &a), 0);
                assert_int_equal(fstat(fds[i], &b), 0);
                assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
                assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
                assert_int_equal(ex_oob_check(fd, 10 + (uint64_t)i), 0);
                assert_int_equal(ex_oob_read(fd, back, 10 + (size_t)i), 0);
                assert_int_equal(back[0], 'a' + i);
                close(fds[i]);
        }
        assert_int_equal(count_open_fds(), before + 3);
        /* Receiving the next frame closes what the last one left. */
        assert_int_equal(ex_frame_send(sv[0], &h, "xyz", 3), 0);
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got, &in), 0);
        assert_int_equal(in.fds.n, 0);
        assert_int_equal(count_open_fds(), before);

        /* An encoded buffer travels with its fds. */
        {
                uint8_t *big = malloc(EX_OOB_MIN);

                assert_non_null(big);
                memset(big, 0x5a, EX_OOB_MIN);
                assert_int_equal(ex_put_container(&out, EX_TAG_LIST, 2), 0);
                assert_int_equal(ex_put_blob_oob(&out, EX_TAG_BYTES, big,
                                                 EX_OOB_MIN,
                                                 EX_OOB_MAX_DEFAULT),
                                 0);
                assert_int_equal(ex_put_blob_oob(&out, EX_TAG_BYTEARRAY, big,
                                                 7, EX_OOB_MAX_DEFAULT),
                                 0);
                h.length = (uint32_t)out.len;
                assert_int_equal(
                        ex_frame_send_tx(sv[0], NULL, &h, &out, -1), 0);
                assert_int_equal(out.fds.n, 2); /* still the sender's */
                ex_buf_free(&out);
                assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got,
                                                   &in),
                                 0);
                assert_int_equal(in.fds.n, 2);
                assert_int_equal(ex_validate_fds(in.data, in.len, &in.fds,
                                                 &lim),
                                 0);
                assert_int_equal(ex_oob_check(in.fds.fd[0], EX_OOB_MIN), 0);
                assert_int_equal(ex_oob_check(in.fds.fd[1], 7), 0);
                free(big);
        }
        ex_buf_free(&in);
        assert_int_equal(count_open_fds(), before);

        /* The plain receive takes no fds: they are closed, and it fails. */
        fds[0] = sealed(5, 'q');
        h.length = 3;
        assert_int_equal(ex_frame_send_fds(sv[0], &h, "abc", 3, fds, 1), 0);
        close(fds[0]);
        assert_int_equal(ex_frame_recv(sv[1], 100, -1, -1, &got, &in),
                         -EBADMSG);
        assert_int_equal(in.fds.n, 0);
        assert_int_equal(count_open_fds(), before);

        /* The sender's own bound. */
        assert_int_equal(ex_frame_send_fds(sv[0], &h, "abc", 3, fds,
                                           EX_FDS_MAX + 1),
                         -EINVAL);
        assert_int_equal(ex_frame_send_fds(sv[0], &h, "abc", 3, NULL, 1),
                         -EINVAL);
        ex_buf_free(&in);
        close_pair(sv);
}

static void test_recv_too_many_fds(void **state)
{
        static const size_t counts[] = {EX_FDS_MAX, EX_FDS_MAX + 1, 200};
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .length = 4}, got;
        struct ex_buf in = {0};
        int sv[2], pfd[2], before;

        (void)state;
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        before = count_open_fds();
        for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
                pair(sv);
                raw_send(sv[0], &h, "data", counts[i], pfd[0], 0);
                assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got,
                                                   &in),
                                 counts[i] <= EX_FDS_MAX ? 0 : -EBADMSG);
                assert_int_equal(in.fds.n,
                                 counts[i] <= EX_FDS_MAX ? counts[i] : 0);
                ex_buf_reset(&in);
                close_pair(sv);
                assert_int_equal(count_open_fds(), before);
        }
        /* 40 with the header and 40 with the payload: 80 in one frame. */
        pair(sv);
        {
                uint8_t frame[EX_FRAME_HEADER_SIZE + 4];
                struct iovec iov = {frame, EX_FRAME_HEADER_SIZE};
                char ctl[CMSG_SPACE(sizeof(int) * 40)];
                struct msghdr msg = {.msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = ctl,
                                     .msg_controllen = sizeof(ctl)};
                struct cmsghdr *c;

                memset(ctl, 0, sizeof(ctl));
                ex_frame_header_pack(&h, frame);
                memcpy(frame + EX_FRAME_HEADER_SIZE, "data", 4);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * 40);
                for (int i = 0; i < 40; i++)
                        memcpy(CMSG_DATA(c) + i * sizeof(int), &pfd[1],
                               sizeof(int));
                assert_int_equal(sendmsg(sv[0], &msg, 0),
                                 EX_FRAME_HEADER_SIZE);
                iov = (struct iovec){frame + EX_FRAME_HEADER_SIZE, 4};
                assert_int_equal(sendmsg(sv[0], &msg, 0), 4);
        }
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got, &in),
                         -EBADMSG);
        assert_int_equal(in.fds.n, 0);
        close_pair(sv);
        assert_int_equal(count_open_fds(), before);
        ex_buf_free(&in);
        close(pfd[0]);
        close(pfd[1]);
}

static void test_recv_fds_closed_on_error(void **state)
{
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .length = 10}, got;
        struct ex_buf in = {0};
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        int sv[2], fd, before;

        (void)state;
        fd = sealed(3, 'z');
        before = count_open_fds();

        /* EOF in the middle of the payload. */
        pair(sv);
        /* The header promises 10 bytes; none follow. */
        assert_int_equal(ex_frame_send_fds(sv[0], &h, NULL, 0, &fd, 1), 0);
        close(sv[0]);
        sv[0] = -1;
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got, &in),
                         -EPIPE);
        assert_int_equal(in.fds.n, 0);
        close_pair(sv);
        assert_int_equal(count_open_fds(), before);

        /* A stalled frame times out. */
        pair(sv);
        raw_send(sv[0], &(struct ex_frame_header){.kind = EX_MSG_REPLY,
                                                  .length = 4},
                 "data", 2, fd, 0);
        {
                /* ...followed by a header promising more than comes. */
                h.length = 50;
                ex_frame_header_pack(&h, raw);
                write_all(sv[0], raw, sizeof(raw));
        }
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got, &in), 0);
        assert_int_equal(in.fds.n, 2);
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, ex_now_ms() + 30, -1,
                                           &got, &in),
                         -ETIMEDOUT);
        assert_int_equal(in.fds.n, 0);
        close_pair(sv);
        assert_int_equal(count_open_fds(), before);

        /* A bad header, an oversized one, and fds on frames that never
         * carry any. */
        {
                const struct ex_frame_header bad[] = {
                        {.kind = 9, .length = 4},
                        {.kind = EX_MSG_REPLY, .length = 4, .flags = 1},
                        {.kind = EX_MSG_RELEASE, .length = 4},
                        {.kind = EX_MSG_VIOLATION, .length = 4},
                };
                const int want[] = {-EBADMSG, -EBADMSG, -EBADMSG, -EBADMSG};

                for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                        pair(sv);
                        raw_send(sv[0], &bad[i], "data", 3, fd, 0);
                        assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1,
                                                           &got, &in),
                                         want[i]);
                        assert_int_equal(in.fds.n, 0);
                        close_pair(sv);
                        assert_int_equal(count_open_fds(), before);
                }
                pair(sv);
                raw_send(sv[0], &(struct ex_frame_header){.kind = EX_MSG_REPLY,
                                                          .length = 4},
                         "data", 3, fd, 0);
                assert_int_equal(ex_frame_recv_fds(sv[1], 3, -1, -1, &got,
                                                   &in),
                                 -EMSGSIZE);
                assert_int_equal(in.fds.n, 0);
                close_pair(sv);
                assert_int_equal(count_open_fds(), before);
        }
        /* The same frames without fds are fine where they were bad only
         * for their fds. */
        pair(sv);
        raw_send(sv[0], &(struct ex_frame_header){.kind = EX_MSG_RELEASE,
                                                  .length = 4},
                 "data", 0, -1, 0);
        assert_int_equal(ex_frame_recv_fds(sv[1], 100, -1, -1, &got, &in), 0);
        close_pair(sv);
        ex_buf_free(&in);
        close(fd);
}

struct fd_sender {
        int sock;
        const uint8_t *p;
        uint32_t len;
        int fds[2];
        int rc;
};

static void *fd_send_thread(void *arg)
{
        struct fd_sender *s = arg;
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .length = s->len};

        s->rc = ex_frame_send_fds(s->sock, &h, s->p, s->len, s->fds, 2);
        if (s->rc == 0)
                s->rc = ex_frame_send_fds(s->sock, &h, s->p, s->len, s->fds,
                                          1);
        return NULL;
}

/* Short writes and EAGAIN: the fds go exactly once, with the first bytes. */
static void test_send_recv_large_with_fds(void **state)
{
        const uint32_t len = 2u << 20;
        uint8_t *p = pattern(len, 3);
        struct fd_sender s = {.p = p, .len = len, .rc = -1};
        struct ex_frame_header got;
        struct ex_buf in;
        pthread_t t;
        int sv[2], sndbuf = 4096, before;

        (void)state;
        pair(sv);
        before = count_open_fds();
        s.fds[0] = sealed(1, 'a');
        s.fds[1] = sealed(2, 'b');
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
                                    sizeof(sndbuf)),
                         0);
        assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
        s.sock = sv[0];
        ex_buf_init(&in, len);
        assert_int_equal(pthread_create(&t, NULL, fd_send_thread, &s), 0);
        for (uint32_t k = 2; k >= 1; k--) {
                assert_int_equal(ex_frame_recv_fds(sv[1], len,
                                                   ex_now_ms() + 30000, -1,
                                                   &got, &in),
                                 0);
                assert_int_equal(in.len, len);
                assert_memory_equal(in.data, p, len);
                assert_int_equal(in.fds.n, k);
                assert_int_equal(ex_oob_check(in.fds.fd[0], 1), 0);
                if (k == 2)
                        assert_int_equal(ex_oob_check(in.fds.fd[1], 2), 0);
        }
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(s.rc, 0);
        close(s.fds[0]);
        close(s.fds[1]);
        ex_buf_free(&in);
        assert_int_equal(count_open_fds(), before);
        free(p);
        close_pair(sv);
}

/* What the receiver accepts as an out-of-band buffer. */
static void test_oob_check(void **state)
{
        char tmpl[] = "/tmp/extradite-oob-XXXXXX";
        int fd, pfd[2], sv[2], wfd;
        char path[64];
        uint8_t back[8];

        (void)state;
        /* Sealed, the right size: accepted. */
        fd = sealed(8, 'x');
        assert_int_equal(ex_oob_check(fd, 8), 0);
        assert_int_equal(ex_oob_read(fd, back, 8), 0);
        assert_memory_equal(back, "xxxxxxxx", 8);
        assert_int_equal(ex_oob_check(fd, 7), -EBADMSG);
        assert_int_equal(ex_oob_check(fd, 9), -EBADMSG);
        assert_int_equal(ex_oob_check(fd, UINT64_MAX), -EBADMSG);
        /* Opened again write-only: passes the check, but cannot be read. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        wfd = open(path, O_WRONLY | O_CLOEXEC);
        if (wfd >= 0) {
                assert_int_equal(ex_oob_check(wfd, 8), 0);
                assert_int_equal(ex_oob_read(wfd, back, 8), -EBADF);
                close(wfd);
        }
        close(fd);

        /* Unsealed, or missing any one of the four seals. */
        {
                static const int partial[] = {
                        0,
                        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE,
                        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
                        F_SEAL_SHRINK | F_SEAL_WRITE | F_SEAL_SEAL,
                        F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL,
                        /* a future-write seal still lets mappings write */
                        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
                                F_SEAL_SEAL,
                };

                for (size_t i = 0; i < ARRAY_SIZE(partial); i++) {
                        fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
                        assert_true(fd >= 0);
                        write_all(fd, "12345678", 8);
                        if (partial[i])
                                assert_int_equal(
                                        fcntl(fd, F_ADD_SEALS, partial[i]), 0);
                        assert_int_equal(ex_oob_check(fd, 8), -EBADMSG);
                        close(fd);
                }
        }
        /* A memfd that does not allow sealing at all. */
        fd = memfd_create("t", MFD_CLOEXEC);
        assert_true(fd >= 0);
        write_all(fd, "12345678", 8);
        assert_int_equal(ex_oob_check(fd, 8), -EBADMSG);
        close(fd);

        /* Not a memfd: a regular file, a pipe, a socket, no fd at all. */
        fd = mkostemp(tmpl, O_CLOEXEC);
        assert_true(fd >= 0);
        unlink(tmpl);
        write_all(fd, "12345678", 8);
        assert_int_equal(ex_oob_check(fd, 8), -EBADMSG);
        close(fd);
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        assert_int_equal(ex_oob_check(pfd[0], 0), -EBADMSG);
        close(pfd[0]);
        close(pfd[1]);
        pair(sv);
        assert_int_equal(ex_oob_check(sv[0], 0), -EBADMSG);
        close_pair(sv);
        assert_int_equal(ex_oob_check(-1, 0), -EBADMSG);
}

/* ---- the staged reader ------------------------------------------------ */

static void send_small(int fd, uint32_t id, const int *fds, uint32_t nfds)
{
        uint8_t body[3] = {1, 2, (uint8_t)id};
        struct ex_frame_header h = {.length = sizeof(body),
                                    .kind = EX_MSG_REPLY,
                                    .request_id = id};

        assert_int_equal(ex_frame_send_fds(fd, &h, body, sizeof(body), fds,
                                           nfds),
                         0);
}

static uint32_t recv_staged(int fd, struct ex_rx *rx, struct ex_buf *in,
                            uint32_t want_fds)
{
        struct ex_frame_header h;

        assert_int_equal(ex_frame_recv_rx(fd, 1 << 20, ex_now_ms() + 5000,
                                          -1, rx, &h, in),
                         0);
        assert_int_equal(in->fds.n, want_fds);
        return h.request_id;
}

/* Several frames waiting at once come one by one, whole, each with the
 * fds it was sent with and no other's. */
static void test_staged_frames_keep_their_fds(void **state)
{
        static struct ex_rx rx;
        struct ex_buf in = {0};
        int sv[2], fds0 = count_open_fds(), one[1], two[2];

        (void)state;
        memset(&rx, 0, sizeof(rx));
        pair(sv);
        one[0] = memfd_create("a", MFD_CLOEXEC);
        two[0] = memfd_create("b", MFD_CLOEXEC);
        two[1] = memfd_create("c", MFD_CLOEXEC);
        send_small(sv[0], 1, NULL, 0);
        send_small(sv[0], 2, one, 1);
        send_small(sv[0], 3, NULL, 0);
        send_small(sv[0], 4, two, 2);
        send_small(sv[0], 5, NULL, 0);
        close(one[0]);
        close(two[0]);
        close(two[1]);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 0), 1);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 1), 2);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 0), 3);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 2), 4);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 0), 5);
        assert_int_equal(in.len, 3);
        assert_int_equal(in.data[2], 5);
        ex_buf_free(&in);
        ex_rx_free(&rx);
        close(sv[0]);
        close(sv[1]);
        assert_int_equal(count_open_fds(), fds0);
}

/* A frame bigger than the stage follows a small one; one whose fds ride
 * on its payload (not its header) still gets them. */
static void test_staged_big_frame_and_late_fds(void **state)
{
        static struct ex_rx rx;
        static uint8_t big[3 * EX_RX_STAGE + 5];
        struct ex_frame_header h = {.length = sizeof(big),
                                    .kind = EX_MSG_REPLY,
                                    .request_id = 7};
        struct ex_buf in = {0};
        int sv[2], fd, fds0 = count_open_fds();

        (void)state;
        memset(&rx, 0, sizeof(rx));
        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t)(i * 7);
        pair(sv);
        send_small(sv[0], 6, NULL, 0);
        assert_int_equal(ex_frame_send(sv[0], &h, big, sizeof(big)), 0);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 0), 6);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 0), 7);
        assert_int_equal(in.len, sizeof(big));
        assert_memory_equal(in.data, big, sizeof(big));
        /* Header alone, then the payload with an fd on it. */
        h = (struct ex_frame_header){.length = 3, .kind = EX_MSG_REPLY,
                                     .request_id = 8};
        fd = memfd_create("late", MFD_CLOEXEC);
        raw_send(sv[0], &h, "abc", 1, fd, EX_FRAME_HEADER_SIZE);
        assert_int_equal(recv_staged(sv[1], &rx, &in, 1), 8);
        assert_memory_equal(in.data, "abc", 3);
        close(fd);
        ex_buf_free(&in);
        ex_rx_free(&rx);
        close(sv[0]);
        close(sv[1]);
        assert_int_equal(count_open_fds(), fds0);
}

/* Fds held for a frame nobody read are closed with the rx. */
static void test_staged_held_fds_closed_by_free(void **state)
{
        static struct ex_rx rx;
        struct ex_buf in = {0};
        int sv[2], fd, fds0 = count_open_fds();

        (void)state;
        memset(&rx, 0, sizeof(rx));
        pair(sv);
        fd = memfd_create("held", MFD_CLOEXEC);
        send_small(sv[0], 1, NULL, 0);
        send_small(sv[0], 2, &fd, 1);
        close(fd);
        /* The first frame's read ran on into the second and took its fd. */
        assert_int_equal(recv_staged(sv[1], &rx, &in, 0), 1);
        assert_int_equal(rx.held.n, 1);
        ex_rx_free(&rx);
        assert_int_equal(rx.held.n, 0);
        ex_buf_free(&in);
        close(sv[0]);
        close(sv[1]);
        assert_int_equal(count_open_fds(), fds0);
}

/* The adaptive spin's record: a failed spin makes the next waits sleep at
 * once, twice as many after each failure, up to EX_SPIN_BACKOFF_MAX; with
 * one CPU it never spins. Each wait here times out (nothing is sent), so
 * every spin fails. */
static void test_spin_backoff(void **state)
{
        struct ex_rx rx = {.cpus = 2}, one = {.cpus = 1};
        struct ex_frame_header h;
        struct ex_buf in = {0};
        uint32_t want = 1;
        int sv[2];

        (void)state;
        pair(sv);
        for (int round = 0; round < 10; round++) {
                assert_int_equal(ex_frame_recv_rx(sv[1], 100, ex_now_ms() + 2,
                                                  -1, &rx, &h, &in),
                                 -ETIMEDOUT);
                assert_int_equal(rx.backoff, want);
                assert_int_equal(rx.skip, want);
                /* The next `want` waits do not spin: the record only
                 * counts down. */
                for (uint32_t i = 0; i < want; i++) {
                        assert_int_equal(ex_frame_recv_rx(sv[1], 100,
                                                          ex_now_ms(), -1,
                                                          &rx, &h, &in),
                                         -ETIMEDOUT);
                        assert_int_equal(rx.backoff, want);
                        assert_int_equal(rx.skip, want - i - 1);
                }
                want = want * 2 > EX_SPIN_BACKOFF_MAX ? EX_SPIN_BACKOFF_MAX
                                                      : want * 2;
        }
        assert_int_equal(rx.backoff, EX_SPIN_BACKOFF_MAX);
        /* One CPU: no spin, so nothing to record. */
        assert_int_equal(ex_frame_recv_rx(sv[1], 100, ex_now_ms() + 2, -1,
                                          &one, &h, &in),
                         -ETIMEDOUT);
        assert_int_equal(one.backoff, 0);
        assert_int_equal(one.skip, 0);
        ex_buf_free(&in);
        close(sv[0]);
        close(sv[1]);
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
                cmocka_unit_test(test_send_recv_fds),
                cmocka_unit_test(test_recv_too_many_fds),
                cmocka_unit_test(test_recv_fds_closed_on_error),
                cmocka_unit_test(test_send_recv_large_with_fds),
                cmocka_unit_test(test_oob_check),
                cmocka_unit_test(test_spin_backoff),
                cmocka_unit_test(test_staged_frames_keep_their_fds),
                cmocka_unit_test(test_staged_big_frame_and_late_fds),
                cmocka_unit_test(test_staged_held_fds_closed_by_free),
                cmocka_unit_test(test_send_deadline_to_a_peer_that_does_not_read),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
