/* Unit tests for protocol/ring.c and the frame layer's rings (frame.h,
 * "rings"): wrap-around, the checks on what the peer publishes, switching,
 * order across the ring and the socket, waking a sleeping receiver, the
 * end of a channel, and a full ring. Both "processes" live in this one, as
 * in test_arena: the parent's arenas are created here and the child's
 * mapped from the same fds. Last, deadlines and the way out for signals
 * (wait.h) on these paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "arena_pair.h"
#include "buf.h"
#include "frame.h"
#include "ring.h"

struct sides {
        struct arena_pair a;
        /* parent -> child: ptx writes pdown, crx reads cdown */
        struct ex_ring pdown, pup, cdown, cup;
        struct ex_tx ptx, ctx;
        struct ex_rx prx, crx;
};

static int setup(void **state)
{
        static struct sides s;

        memset(&s, 0, sizeof(s));
        arena_pair_open(&s.a);
        assert_int_equal(ex_arena_rings(&s.a.down, &s.a.up, &s.pdown, &s.pup),
                         0);
        assert_int_equal(ex_arena_rings(&s.a.cdown, &s.a.cup, &s.cdown,
                                        &s.cup),
                         0);
        s.ptx.ring = &s.pdown;
        s.ctx.ring = &s.cup;
        s.prx = (struct ex_rx){.arena = &s.a.up, .ring = &s.pup};
        s.crx = (struct ex_rx){.arena = &s.a.cdown, .ring = &s.cdown};
        *state = &s;
        return 0;
}

static int teardown(void **state)
{
        struct sides *s = *state;

        ex_rx_free(&s->prx);
        ex_rx_free(&s->crx);
        arena_pair_close(&s->a);
        return 0;
}

/* Bytes waiting to be read on fd. */
static int pending(int fd)
{
        int n = -1;

        assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
        return n;
}

static void send_small(struct sides *s, uint32_t id, const char *text)
{
        struct ex_buf b = {0};
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .request_id = id};

        assert_int_equal(ex_buf_put(&b, text, strlen(text)), 0);
        h.length = (uint32_t)b.len;
        assert_int_equal(ex_frame_send_tx(s->a.sv[0], &s->ptx, &h, &b, -1), 0);
        ex_buf_free(&b);
}

/* The child's next frame: its id, and its payload in *in. */
static uint32_t child_recv(struct sides *s, struct ex_buf *in)
{
        struct ex_frame_header h;

        assert_int_equal(ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1,
                                          -1, &s->crx, &h, in),
                         0);
        return h.request_id;
}

static void switch_parent(struct sides *s)
{
        struct ex_buf in = {0};

        assert_int_equal(ex_tx_switch(s->a.sv[0], &s->ptx, -1), 0);
        /* The child takes the switch with its next frame. */
        send_small(s, 1, "first");
        assert_int_equal(child_recv(s, &in), 1);
        assert_int_equal(s->crx.ring_on, 1);
        ex_buf_free(&in);
}

/* ---- the ring itself -------------------------------------------------- */

static void test_ring_wraps_around(void **state)
{
        struct sides *s = *state;
        static uint8_t out[EX_RING_SIZE / 3], in[EX_RING_SIZE / 3];
        size_t space, avail;

        for (int round = 0; round < 10; round++) {
                size_t n = sizeof(out) - (size_t)round * 7;

                for (size_t i = 0; i < n; i++)
                        out[i] = (uint8_t)(i * 31 + (size_t)round);
                assert_int_equal(ex_ring_space(&s->pdown, &space), 0);
                assert_true(space == EX_RING_SIZE);
                ex_ring_write(&s->pdown, out, n);
                /* Not visible before it is published. */
                assert_int_equal(ex_ring_available(&s->cdown, &avail), 0);
                assert_true(avail == 0);
                ex_ring_publish(&s->pdown);
                assert_true(ex_ring_nonempty(&s->cdown));
                assert_int_equal(ex_ring_available(&s->cdown, &avail), 0);
                assert_true(avail == n);
                assert_int_equal(ex_ring_space(&s->pdown, &space), 0);
                assert_true(space == EX_RING_SIZE - n);
                ex_ring_read(&s->cdown, in, n);
                ex_ring_release(&s->cdown);
                assert_memory_equal(in, out, n);
        }
        /* Ten rounds of a third of a ring went past its end three times. */
        assert_true(s->pdown.pos > 3 * EX_RING_SIZE);
}

static void test_ring_refuses_impossible_indices(void **state)
{
        struct sides *s = *state;
        uint8_t byte = 7;
        size_t n;

        ex_ring_write(&s->cup, &byte, 1);
        ex_ring_publish(&s->cup);
        /* The child (producer here) lies about its tail: more than a ring
         * ahead of what we took, or behind it. */
        atomic_store(s->pup.tail, s->pup.pos + EX_RING_SIZE + 1);
        assert_int_equal(ex_ring_available(&s->pup, &n), -EBADMSG);
        atomic_store(s->pup.tail, s->pup.pos - 1);
        assert_int_equal(ex_ring_available(&s->pup, &n), -EBADMSG);
        /* And as consumer, about its head: beyond what we sent, or more
         * than a ring behind. */
        ex_ring_write(&s->pdown, &byte, 1);
        atomic_store(s->pdown.head, s->pdown.pos + 1);
        assert_int_equal(ex_ring_space(&s->pdown, &n), -EBADMSG);
        atomic_store(s->pdown.head, s->pdown.pos - EX_RING_SIZE - 1);
        assert_int_equal(ex_ring_space(&s->pdown, &n), -EBADMSG);
        /* control */
        atomic_store(s->pdown.head, s->pdown.pos);
        assert_int_equal(ex_ring_space(&s->pdown, &n), 0);
        assert_true(n == EX_RING_SIZE);
}

static void test_control_frames_carry_nothing(void **state)
{
        uint8_t raw[EX_FRAME_HEADER_SIZE];
        struct ex_frame_header got;

        (void)state;
        for (uint8_t kind = EX_MSG_MARK; kind <= EX_MSG_SWITCH; kind++) {
                struct ex_frame_header h = {.kind = kind};

                ex_frame_header_pack(&h, raw);
                assert_int_equal(ex_frame_header_unpack(raw, 100, &got), 0);
                h.length = 1;
                ex_frame_header_pack(&h, raw);
                assert_int_equal(ex_frame_header_unpack(raw, 100, &got),
                                 -EBADMSG);
                h = (struct ex_frame_header){.kind = kind,
                                             .flags = EX_FRAME_FLAG_ARENA};
                ex_frame_header_pack(&h, raw);
                assert_int_equal(ex_frame_header_unpack(raw, 100, &got),
                                 -EBADMSG);
        }
}

/* ---- switching and order ---------------------------------------------- */

static void test_switched_frames_skip_the_socket(void **state)
{
        struct sides *s = *state;
        struct ex_buf in = {0};

        switch_parent(s);
        assert_int_equal(pending(s->a.sv[1]), 0);
        for (uint32_t i = 2; i < 200; i++) {
                send_small(s, i, "ping");
                /* In the ring, with nothing on the socket. */
                assert_int_equal(pending(s->a.sv[1]), 0);
                assert_int_equal(child_recv(s, &in), i);
                assert_true(in.len == 4);
                assert_memory_equal(in.data, "ping", 4);
        }
        ex_buf_free(&in);
}

static void test_order_across_ring_and_socket(void **state)
{
        struct sides *s = *state;
        struct ex_buf big = {0}, withfd = {0}, in = {0};
        struct ex_frame_header h = {.kind = EX_MSG_REPLY};
        int p[2];

        switch_parent(s);
        assert_int_equal(pipe(p), 0);
        send_small(s, 10, "a");
        /* Too big for the ring: a mark, and the frame on the socket. */
        assert_int_equal(ex_buf_reserve(&big, EX_RING_FRAME_MAX), 0);
        memset(big.data, 0x42, EX_RING_FRAME_MAX);
        big.len = EX_RING_FRAME_MAX;
        h.request_id = 11;
        h.length = (uint32_t)big.len;
        assert_int_equal(ex_frame_send_tx(s->a.sv[0], &s->ptx, &h, &big, -1),
                         0);
        send_small(s, 12, "c");
        /* An fd only travels on the socket. */
        assert_int_equal(ex_buf_put(&withfd, "d", 1), 0);
        assert_int_equal(ex_fds_push(&withfd.fds, p[0]), 0);
        h.request_id = 13;
        h.length = 1;
        assert_int_equal(ex_frame_send_tx(s->a.sv[0], &s->ptx, &h, &withfd, -1),
                         0);
        send_small(s, 14, "e");

        assert_int_equal(child_recv(s, &in), 10);
        assert_int_equal(child_recv(s, &in), 11);
        assert_true(in.len == EX_RING_FRAME_MAX);
        assert_int_equal(in.data[EX_RING_FRAME_MAX - 1], 0x42);
        assert_int_equal(child_recv(s, &in), 12);
        assert_int_equal(child_recv(s, &in), 13);
        assert_int_equal(in.fds.n, 1);
        assert_int_equal(child_recv(s, &in), 14);
        assert_int_equal(in.fds.n, 0); /* the fd went with its own frame */
        assert_int_equal(pending(s->a.sv[1]), 0);
        ex_buf_free(&in);
        ex_buf_free(&big);
        ex_buf_free(&withfd); /* closes p[0] */
        close(p[1]);
}

static void test_unmarked_socket_frame_comes_when_ring_is_empty(void **state)
{
        struct sides *s = *state;
        struct ex_frame_header h = {.kind = EX_MSG_REPLY, .request_id = 21,
                                   .length = 4};
        struct ex_buf in = {0};

        switch_parent(s);
        /* Written past the ring (as a violation report is, from a signal
         * handler): taken once the ring is empty. */
        send_small(s, 20, "ring");
        assert_int_equal(ex_frame_send(s->a.sv[0], &h, "sock", 4), 0);
        assert_int_equal(child_recv(s, &in), 20);
        assert_int_equal(child_recv(s, &in), 21);
        assert_memory_equal(in.data, "sock", 4);
        ex_buf_free(&in);
}

/* A frame written into the parent's ring by hand, as a hostile producer
 * could; the child must refuse it. */
static void put_raw(struct sides *s, const struct ex_frame_header *h,
                    uint32_t payload_len, size_t published)
{
        static const uint8_t zeros[64];
        uint8_t hdr[EX_FRAME_HEADER_SIZE];
        uint64_t start = s->pdown.pos;

        ex_frame_header_pack(h, hdr);
        ex_ring_write(&s->pdown, hdr, sizeof(hdr));
        ex_ring_write(&s->pdown, zeros, payload_len);
        s->pdown.pos = start + published;
        ex_ring_publish(&s->pdown);
}

static void test_ring_refuses_misplaced_frames(void **state)
{
        static const struct {
                struct ex_frame_header h;
                uint32_t payload;
                size_t published; /* 0: all of it */
        } cases[] = {
                {{.kind = EX_MSG_BOOT, .length = 1}, 1, 0},
                {{.kind = EX_MSG_VIOLATION, .length = 9}, 9, 0},
                {{.kind = EX_MSG_WAKE}, 0, 0},
                {{.kind = EX_MSG_SWITCH}, 0, 0},
                /* a header cut short, and a payload beyond what was
                 * published */
                {{.kind = EX_MSG_REPLY, .length = 4}, 4, 8},
                {{.kind = EX_MSG_REPLY, .length = 40}, 40, 30},
                /* a length over the receiver's cap */
                {{.kind = EX_MSG_REPLY, .length = EX_FRAME_MAX_DEFAULT + 1},
                 0, 0},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                struct sides *s;
                struct ex_frame_header h;
                struct ex_buf in = {0};
                int r;

                assert_int_equal(setup(state), 0);
                s = *state;
                switch_parent(s);
                put_raw(s, &cases[i].h, cases[i].payload,
                        cases[i].published
                                ? cases[i].published
                                : EX_FRAME_HEADER_SIZE + cases[i].payload);
                r = ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1, -1,
                                     &s->crx, &h, &in);
                assert_true(r == -EBADMSG || r == -EMSGSIZE);
                ex_buf_free(&in);
                teardown(state);
        }
}

static void test_switch_needs_a_ring_and_comes_once(void **state)
{
        struct sides *s = *state;
        struct ex_frame_header h;
        struct ex_buf in = {0};
        struct ex_tx tx = {.ring = &s->pdown};

        /* A receiver without a ring refuses it... */
        s->crx.ring = NULL;
        assert_int_equal(ex_tx_switch(s->a.sv[0], &tx, -1), 0);
        assert_int_equal(ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1,
                                          -1, &s->crx, &h, &in),
                         -EBADMSG);
        /* ...as does a plain reader, for every frame of the rings. */
        for (uint8_t kind = EX_MSG_MARK; kind <= EX_MSG_SWITCH; kind++) {
                h = (struct ex_frame_header){.kind = kind};
                assert_int_equal(ex_frame_send(s->a.sv[0], &h, NULL, 0), 0);
                assert_int_equal(ex_frame_recv_fds(s->a.sv[1],
                                                   EX_FRAME_MAX_DEFAULT, -1,
                                                   -1, &h, &in),
                                 -EBADMSG);
        }
        /* A second switch. */
        s->crx.ring = &s->cdown;
        switch_parent(s);
        assert_int_equal(ex_tx_switch(s->a.sv[0], &s->ptx, -1), 0);
        assert_int_equal(ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1,
                                          -1, &s->crx, &h, &in),
                         -EBADMSG);
        ex_buf_free(&in);
        /* Without a ring there is nothing to switch to. */
        tx.ring = NULL;
        assert_int_equal(ex_tx_switch(s->a.sv[0], &tx, -1), -ENODEV);
}

/* ---- sleeping, the end, a full ring ----------------------------------- */

struct waiter {
        struct sides *s;
        int r;
        uint32_t id;
};

static void *wait_for_frame(void *arg)
{
        struct waiter *w = arg;
        struct ex_frame_header h = {0};
        struct ex_buf in = {0};

        w->r = ex_frame_recv_rx(w->s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1, -1,
                                &w->s->crx, &h, &in);
        w->id = h.request_id;
        ex_buf_free(&in);
        return NULL;
}

static void test_a_sleeping_receiver_is_woken(void **state)
{
        struct sides *s = *state;
        struct waiter w = {.s = s, .r = 1};
        struct timespec ms = {.tv_nsec = 1000000};
        pthread_t t;

        switch_parent(s);
        s->crx.cpus = 1; /* no spinning: straight to sleep */
        assert_int_equal(pthread_create(&t, NULL, wait_for_frame, &w), 0);
        /* It says it sleeps before it does. */
        for (int i = 0; i < 5000 && !atomic_load(s->cdown.sleeping); i++)
                nanosleep(&ms, NULL);
        assert_int_equal(atomic_load(s->cdown.sleeping), 1);
        send_small(s, 30, "wake up");
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(w.r, 0);
        assert_int_equal(w.id, 30);
        assert_int_equal(atomic_load(s->cdown.sleeping), 0);
}

static void test_the_ring_drains_before_the_end(void **state)
{
        struct sides *s = *state;
        struct ex_frame_header h;
        struct ex_buf in = {0};

        switch_parent(s);
        send_small(s, 40, "last");
        send_small(s, 41, "words");
        close(s->a.sv[0]);
        s->a.sv[0] = -1;
        assert_int_equal(child_recv(s, &in), 40);
        assert_int_equal(child_recv(s, &in), 41);
        assert_int_equal(ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1,
                                          -1, &s->crx, &h, &in),
                         -EPIPE);
        ex_buf_free(&in);
}

static void test_a_full_ring_waits_for_room(void **state)
{
        struct sides *s = *state;
        struct ex_frame_header h = {.kind = EX_MSG_REPLY};
        struct ex_buf b = {0};
        size_t len = EX_RING_FRAME_MAX - EX_FRAME_HEADER_SIZE;
        int r = 0, sent = 0;

        switch_parent(s);
        assert_int_equal(ex_buf_reserve(&b, len), 0);
        memset(b.data, 1, len);
        b.len = len;
        h.length = (uint32_t)len;
        /* Nobody reads: the fifth frame finds no room before its
         * deadline. */
        while (sent < 10 &&
               (r = ex_frame_send_tx(s->a.sv[0], &s->ptx, &h, &b,
                                     ex_now_ms() + 50)) == 0)
                sent++;
        assert_int_equal(r, -ETIMEDOUT);
        assert_int_equal(sent, 4);
        /* A reader gone ends the wait without a deadline. */
        close(s->a.sv[1]);
        s->a.sv[1] = -1;
        assert_int_equal(ex_frame_send_tx(s->a.sv[0], &s->ptx, &h, &b, -1),
                         -EPIPE);
        ex_buf_free(&b);
}

/* ---- deadlines and the way out for signals (wait.h) ----------------- */

struct waker {
        int fd;
        atomic_int stop;
        int sent;
        size_t off; /* into the batch of wake-ups being sent */
};

/* A peer that sends nothing but wake-ups, as fast as it can, for at most
 * 5 s, keeping the socket full: the receiver never finds it empty. The
 * stream goes on where a short send stopped, so frames stay whole. */
static int send_wake_ups(struct waker *w, int flags)
{
        static uint8_t batch[4096 * EX_FRAME_HEADER_SIZE];
        struct ex_frame_header wake = {.kind = EX_MSG_WAKE};
        ssize_t n;

        if (!batch[4]) /* not packed yet */
                for (size_t i = 0; i < sizeof(batch);
                     i += EX_FRAME_HEADER_SIZE)
                        ex_frame_header_pack(&wake, batch + i);
        n = send(w->fd, batch + w->off, sizeof(batch) - w->off,
                 flags | MSG_NOSIGNAL);
        if (n <= 0)
                return -1;
        w->off = (w->off + (size_t)n) % sizeof(batch);
        w->sent++;
        return 0;
}

static void *wake_up_forever(void *arg)
{
        struct waker *w = arg;
        int64_t until = ex_now_ms() + 5000;

        /* Blocking: each send goes on as soon as there is room. */
        while (!atomic_load(&w->stop) && ex_now_ms() < until &&
               send_wake_ups(w, 0) == 0)
                ;
        return NULL;
}

static void test_wake_ups_alone_do_not_outlast_the_deadline(void **state)
{
        struct sides *s = *state;
        struct waker w = {.fd = s->a.sv[0]};
        struct ex_frame_header h;
        struct ex_buf in = {0};
        pthread_t t;
        int64_t start;
        int r;

        switch_parent(s);
        while (send_wake_ups(&w, MSG_DONTWAIT) == 0)
                ; /* the socket full before we read */
        assert_int_equal(pthread_create(&t, NULL, wake_up_forever, &w), 0);
        start = ex_now_ms();
        r = ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, start + 100,
                             -1, &s->crx, &h, &in);
        atomic_store(&w.stop, 1);
        shutdown(s->a.sv[1], SHUT_RD); /* ends a send that waits */
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(r, -ETIMEDOUT);
        /* Loose: the flood lasts 5 s; the deadline was 0.1 s away. */
        assert_true(ex_now_ms() - start < 2500);
        assert_true(w.sent > 0);
        ex_buf_free(&in);
}

struct checks {
        int calls;
        int give_up_at; /* the call that says to give up */
};

static int check(void *ctx)
{
        struct checks *c = ctx;

        return ++c->calls >= c->give_up_at;
}

static void test_a_wait_ends_when_its_check_says_so(void **state)
{
        struct sides *s = *state;
        struct checks c = {.give_up_at = 3};
        struct ex_intr intr = {.check = check, .ctx = &c};
        struct ex_frame_header h;
        struct ex_buf in = {0};

        switch_parent(s);
        s->crx.intr = &intr;
        /* No deadline, nothing sent: only the check ends it, asked once a
         * slice. */
        assert_int_equal(ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT,
                                          -1, -1, &s->crx, &h, &in),
                         -EINTR);
        assert_int_equal(c.calls, 3);
        /* A check that never gives up leaves the deadline in charge. */
        c = (struct checks){.give_up_at = 1000};
        assert_int_equal(ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT,
                                          ex_now_ms() + 250, -1, &s->crx,
                                          &h, &in),
                         -ETIMEDOUT);
        assert_true(c.calls >= 2);
        ex_buf_free(&in);
}

static void on_alarm(int sig)
{
        (void)sig;
}

static void test_a_signal_asks_the_check_at_once(void **state)
{
        struct sides *s = *state;
        struct checks c = {.give_up_at = 1};
        struct ex_intr intr = {.check = check, .ctx = &c};
        struct sigaction sa = {.sa_handler = on_alarm}, old;
        struct itimerval it = {.it_value = {.tv_usec = 20000}};
        struct ex_frame_header h;
        struct ex_buf in = {0};
        int r;

        switch_parent(s);
        s->crx.intr = &intr;
        s->crx.cpus = 1; /* straight to poll() */
        sigemptyset(&sa.sa_mask); /* no SA_RESTART: poll() gets EINTR */
        assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
        assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
        r = ex_frame_recv_rx(s->a.sv[1], EX_FRAME_MAX_DEFAULT, -1, -1,
                             &s->crx, &h, &in);
        assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
        assert_int_equal(r, -EINTR);
        assert_int_equal(c.calls, 1);
        ex_buf_free(&in);
}

static void test_a_send_waiting_for_room_ends_when_its_check_says_so(
        void **state)
{
        struct sides *s = *state;
        struct checks c = {.give_up_at = 2};
        struct ex_intr intr = {.check = check, .ctx = &c};
        struct ex_frame_header h = {.kind = EX_MSG_REPLY};
        struct ex_buf b = {0};
        size_t len = EX_RING_FRAME_MAX - EX_FRAME_HEADER_SIZE;
        int r = 0, sent = 0;

        switch_parent(s);
        s->ptx.intr = &intr;
        assert_int_equal(ex_buf_reserve(&b, len), 0);
        memset(b.data, 1, len);
        b.len = len;
        h.length = (uint32_t)len;
        /* Nobody reads and there is no deadline: the check ends it. */
        while (sent < 10 && (r = ex_frame_send_tx(s->a.sv[0], &s->ptx, &h,
                                                  &b, -1)) == 0)
                sent++;
        assert_int_equal(r, -EINTR);
        assert_int_equal(sent, 4);
        assert_int_equal(c.calls, 2);
        ex_buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ring_wraps_around, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_ring_refuses_impossible_indices, setup, teardown),
                cmocka_unit_test(test_control_frames_carry_nothing),
                cmocka_unit_test_setup_teardown(
                        test_switched_frames_skip_the_socket, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_order_across_ring_and_socket, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_unmarked_socket_frame_comes_when_ring_is_empty,
                        setup, teardown),
                /* a fresh pair per case: it sets them up itself */
                cmocka_unit_test(test_ring_refuses_misplaced_frames),
                cmocka_unit_test_setup_teardown(
                        test_switch_needs_a_ring_and_comes_once, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_sleeping_receiver_is_woken, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_the_ring_drains_before_the_end, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_full_ring_waits_for_room, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_wake_ups_alone_do_not_outlast_the_deadline,
                        setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_wait_ends_when_its_check_says_so, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_signal_asks_the_check_at_once, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_send_waiting_for_room_ends_when_its_check_says_so,
                        setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
