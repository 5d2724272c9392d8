/* libFuzzer target: the parent's frame reader (protocol/frame.c) on a
 * stream a hostile child wrote to its channel, with the checks the parent
 * runs on each frame before building anything from it.
 *
 * Input:
 *   byte 0    bit 7: fds ride along; bits 0-6 % 70: how many (up to 69,
 *             more than EX_FDS_MAX = 64)
 *   byte 1    bit 0: the fds are pipe ends instead of sealed memfds
 *             bit 1: read through a channel's staged reader (ex_rx, as
 *             the session and the child do) instead of frame by frame
 *             bit 2: and that reader has a frame ring (ring.h, frame.h
 *             "rings"; implies bit 1)
 *   bytes 2-3 offset in the stream (little-endian, modulo its length) of
 *             the write the fds are attached to; with a ring, where the
 *             socket's bytes end and the ring's begin (the fds then ride
 *             on the socket's first byte)
 *   the rest  the stream: written to one end of an AF_UNIX stream
 *             socketpair, which is then shut down (the child exited);
 *             with a ring, its tail goes into the ring, all published
 *             (the socket's part has to switch to it: EX_MSG_SWITCH)
 *
 * The parent's side reads frames with ex_frame_recv_fds() (or
 * ex_frame_recv_rx() with an ex_rx and no arena) at the real cap
 * until an error; for each frame it decodes what session.c would: the
 * violation report's syscall number, or the value with its out-of-band
 * fds checked (ex_oob_check) and copied (ex_oob_read).
 *
 * Oracles, besides the sanitizers: a frame is never over the cap nor
 * carries more than EX_FDS_MAX fds, no payload buffer grows past the cap,
 * and after each input every fd received has been closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/fd_count.h"
#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "oob.h"
#include "ring.h"
#include "fuzz_check.h"

/* Inputs longer than this are skipped: all of it must fit in the socket
 * buffer, as nothing reads while it is written. */
#define STREAM_MAX (96u << 10)
/* Out-of-band copies larger than this are checked but not read. */
#define OOB_READ_MAX (1u << 20)

/* fd i of the frame: a sealed memfd of i + 1 bytes, or a pipe end. */
static int make_fd(uint32_t i, bool pipes, int *extra)
{
        static const uint8_t pattern[128] = {0x5a};
        int p[2];

        *extra = -1;
        if (!pipes)
                return ex_oob_create(pattern, (i % sizeof(pattern)) + 1);
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        *extra = p[1];
        return p[0];
}

/* Send `n` bytes of `p` in full, the fds (if any) with the first byte. */
static void send_all(int fd, const uint8_t *p, size_t n, const int *fds,
                     uint32_t nfds)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 128)];
        } ctl;

        while (n > 0 || nfds > 0) {
                struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
                struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
                ssize_t k;

                if (n == 0)
                        return; /* fds need at least one byte to ride on */
                if (nfds) {
                        struct cmsghdr *c;

                        memset(&ctl, 0, sizeof(ctl));
                        msg.msg_control = ctl.buf;
                        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
                        c = CMSG_FIRSTHDR(&msg);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
                }
                k = sendmsg(fd, &msg, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                CHECK(k > 0);
                p += k;
                n -= (size_t)k;
                nfds = 0;
        }
}

/* The receiver's ring: ordinary memory, the fuzzer is its producer. */
static uint8_t ring_data[EX_RING_SIZE];
static _Atomic uint64_t ring_tail, ring_head;
static _Atomic uint32_t ring_sleeping;

static struct ex_ring *ring_of(const uint8_t *p, size_t n)
{
        static struct ex_ring ring;

        memcpy(ring_data, p, n);
        atomic_store(&ring_tail, n);
        atomic_store(&ring_head, 0);
        atomic_store(&ring_sleeping, 0);
        ring = (struct ex_ring){.data = ring_data,
                                .tail = &ring_tail,
                                .head = &ring_head,
                                .sleeping = &ring_sleeping};
        return &ring;
}

/* What session.c does with a VIOLATION frame's payload. */
static void read_violation(const struct ex_buf *in)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_reader r;
        struct ex_item it;

        ex_reader_init(&r, in->data, in->len, &lim);
        if (ex_read(&r, &it) == 0 && it.tag == EX_TAG_INT)
                (void)ex_reader_finish(&r);
}

/* What the decoder does with any other payload: walk the value and copy
 * each out-of-band buffer once its memfd has passed the checks. */
static void read_value(const struct ex_buf *in)
{
        struct ex_limits lim = ex_limits_default();
        struct ex_reader r;
        struct ex_item it;

        if (ex_validate_fds(in->data, in->len, &in->fds, &lim) < 0)
                return;
        ex_reader_init(&r, in->data, in->len, &lim);
        ex_reader_use_fds(&r, &in->fds);
        do {
                CHECK(ex_read(&r, &it) == 0);
                if (it.tag != EX_TAG_BYTES_FD && it.tag != EX_TAG_BYTEARRAY_FD)
                        continue;
                CHECK(it.v.fd.index < in->fds.n);
                if (ex_oob_check(in->fds.fd[it.v.fd.index], it.v.fd.n) == 0 &&
                    it.v.fd.n <= OOB_READ_MAX) {
                        uint8_t *copy = malloc(it.v.fd.n);

                        CHECK(copy);
                        (void)ex_oob_read(in->fds.fd[it.v.fd.index], copy,
                                          it.v.fd.n);
                        free(copy);
                }
        } while (r.depth);
        CHECK(ex_reader_finish(&r) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int fds[128], extra[128], sv[2];
        uint32_t nfds = 0;
        size_t n, split;
        const uint8_t *stream;
        static struct ex_rx rx; /* 4 KiB stage: not on the stack */
        struct ex_buf in = {0};
        struct ex_frame_header h;
        int before, r;
        bool ringed;

        if (size < 4 || size - 4 > STREAM_MAX)
                return 0;
        ringed = data[1] & 4;
        before = count_open_fds();
        stream = data + 4;
        n = size - 4;
        split = n ? (data[2] | (size_t)data[3] << 8) % n : 0;
        if (data[0] & 0x80)
                nfds = (data[0] & 0x7f) % (EX_FDS_MAX + 6);
        for (uint32_t i = 0; i < nfds; i++) {
                fds[i] = make_fd(i, data[1] & 1, &extra[i]);
                CHECK(fds[i] >= 0);
        }

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        memset(&rx, 0, sizeof(rx));
        if (ringed) {
                send_all(sv[1], stream, split, fds, nfds);
                rx.ring = ring_of(stream + split, n - split);
                rx.cpus = 1; /* no spinning: nothing more will come */
        } else {
                send_all(sv[1], stream, split, NULL, 0);
                send_all(sv[1], stream + split, n - split, fds, nfds);
        }
        /* The kernel holds its own references now. */
        for (uint32_t i = 0; i < nfds; i++) {
                close(fds[i]);
                if (extra[i] >= 0)
                        close(extra[i]);
        }
        shutdown(sv[1], SHUT_WR);

        for (;;) {
                if (data[1] & 6)
                        r = ex_frame_recv_rx(sv[0], EX_FRAME_MAX_DEFAULT, -1,
                                             -1, &rx, &h, &in);
                else
                        r = ex_frame_recv_fds(sv[0], EX_FRAME_MAX_DEFAULT, -1,
                                              -1, &h, &in);
                if (r < 0) {
                        CHECK(in.fds.n == 0);
                        break;
                }
                CHECK(h.length <= EX_FRAME_MAX_DEFAULT);
                CHECK(in.len == h.length);
                CHECK(in.fds.n <= EX_FDS_MAX);
                if (h.kind == EX_MSG_VIOLATION)
                        read_violation(&in);
                else
                        read_value(&in);
        }
        CHECK(in.cap <= EX_FRAME_MAX_DEFAULT);
        CHECK(r == -EPIPE || r == -EBADMSG || r == -EMSGSIZE);
        ex_buf_free(&in);
        ex_rx_free(&rx);
        close(sv[0]);
        close(sv[1]);
        /* Nothing received was left open (fds still queued in the socket
         * went with it). */
        CHECK(count_open_fds() == before);
        return 0;
}
