/* Framing and channel I/O; see frame.h. */
#include "frame.h"

#include <errno.h>
#include <sched.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "ring.h"

/* ---- header ---------------------------------------------------------- */

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
}

void ex_frame_header_pack(const struct ex_frame_header *h,
                          uint8_t out[EX_FRAME_HEADER_SIZE])
{
        put_le32(out + 0, h->length);
        out[4] = h->kind;
        out[5] = h->op;
        put_le16(out + 6, h->flags);
        put_le32(out + 8, h->request_id);
        put_le32(out + 12, h->chain_id);
}

int ex_frame_header_unpack(const uint8_t in[EX_FRAME_HEADER_SIZE],
                           uint32_t max_payload, struct ex_frame_header *out)
{
        struct ex_frame_header h = {
                .length = get_le32(in + 0),
                .kind = in[4],
                .op = in[5],
                .flags = get_le16(in + 6),
                .request_id = get_le32(in + 8),
                .chain_id = get_le32(in + 12),
        };

        if (h.kind < 1 || h.kind > EX_MSG_KIND_MAX)
                return -EBADMSG;
        /* Only a call names an operation; anything else must say 0. */
        if (h.kind == EX_MSG_CALL ? (h.op < 1 || h.op > EX_OP_MAX)
                                  : h.op != 0)
                return -EBADMSG;
        if (h.flags & ~EX_FRAME_FLAG_ARENA)
                return -EBADMSG;
        /* The rings' own frames say nothing but their kind. */
        if (h.kind >= EX_MSG_MARK && (h.length || h.flags))
                return -EBADMSG;
        /* Checked here, before the caller allocates anything for it. */
        if (h.length > max_payload)
                return -EMSGSIZE;
        *out = h;
        return 0;
}

/* ---- send ------------------------------------------------------------ */

/* Room for EX_FDS_MAX fds in one control message, suitably aligned. */
union fd_control {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * EX_FDS_MAX)];
};

static int send_until(int fd, const struct ex_frame_header *h,
                      const void *payload, uint32_t len, const int *fds,
                      uint32_t nfds, int64_t deadline_ms,
                      const struct ex_intr *intr);

int ex_frame_send(int fd, const struct ex_frame_header *h, const void *payload,
                  uint32_t len)
{
        return send_until(fd, h, payload, len, NULL, 0, -1, NULL);
}

int ex_frame_send_fds(int fd, const struct ex_frame_header *h,
                      const void *payload, uint32_t len, const int *fds,
                      uint32_t nfds)
{
        return send_until(fd, h, payload, len, fds, nfds, -1, NULL);
}

static int send_until(int fd, const struct ex_frame_header *h,
                      const void *payload, uint32_t len, const int *fds,
                      uint32_t nfds, int64_t deadline_ms,
                      const struct ex_intr *intr)
{
        /* With a deadline or a way out, never block in sendmsg: a peer
         * that stops reading (stopped, busy) would hold us there. */
        int flags = MSG_NOSIGNAL |
                    (deadline_ms >= 0 || intr ? MSG_DONTWAIT : 0);
        uint8_t hdr[EX_FRAME_HEADER_SIZE];
        struct iovec iov[2];
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 1};
        union fd_control ctl;

        if (nfds > EX_FDS_MAX || (nfds && !fds))
                return -EINVAL;
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
        ex_frame_header_pack(h, hdr);
        iov[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
        if (len) {
                /* sendmsg takes a non-const base; it only reads it. */
                iov[1] = (struct iovec){.iov_base = (void *)payload,
                                        .iov_len = len};
                msg.msg_iovlen = 2;
        }
        while (msg.msg_iovlen > 0) {
                /* MSG_NOSIGNAL: a dead peer is -EPIPE, never SIGPIPE. */
                ssize_t n = sendmsg(fd, &msg, flags);
                size_t done;

                if (n < 0) {
                        int e = errno;

                        if (e == EINTR)
                                continue; /* blocking: no way out asked */
                        if (e == EAGAIN || e == EWOULDBLOCK) {
                                int r = ex_wait_fd(fd, POLLOUT, deadline_ms,
                                                   -1, intr);

                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (e == EPIPE || e == ECONNRESET)
                                return -EPIPE;
                        return -e;
                }
                /* The fds went with the first bytes; never send them
                 * twice. (EINTR/EAGAIN above sent nothing, fds included.) */
                msg.msg_control = NULL;
                msg.msg_controllen = 0;
                /* Short write: drop what went out and send the rest. */
                done = (size_t)n;
                while (msg.msg_iovlen > 0 && done >= msg.msg_iov[0].iov_len) {
                        done -= msg.msg_iov[0].iov_len;
                        msg.msg_iov++;
                        msg.msg_iovlen--;
                }
                if (msg.msg_iovlen > 0) {
                        msg.msg_iov[0].iov_base =
                                (uint8_t *)msg.msg_iov[0].iov_base + done;
                        msg.msg_iov[0].iov_len -= done;
                }
        }
        return 0;
}

/* ---- receive --------------------------------------------------------- */

/* Move the fds of one recvmsg() into `fds`. Every fd that arrived is
 * either kept there or closed; -EBADMSG when any had to be closed (no
 * room, not wanted) or the control data was truncated or unexpected. */
static int take_fds(struct msghdr *msg, struct ex_fds *fds, uint32_t max)
{
        int rc = 0;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
             c = CMSG_NXTHDR(msg, c)) {
                size_t nf;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
                    c->cmsg_len < CMSG_LEN(0)) {
                        rc = -EBADMSG;
                        continue;
                }
                nf = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nf; i++) {
                        int one;

                        memcpy(&one, CMSG_DATA(c) + i * sizeof(int),
                               sizeof(int));
                        if (fds->n < max && ex_fds_push(fds, one) == 0)
                                continue;
                        close(one);
                        rc = -EBADMSG;
                }
        }
        /* The kernel dropped (and closed) what did not fit. */
        if (msg->msg_flags & MSG_CTRUNC)
                rc = -EBADMSG;
        return rc;
}

/* Wait until fd is readable (wait.h); a reader with an ex_rx may be
 * interrupted. */
static int wait_readable(int fd, int64_t deadline_ms, int watch_fd,
                         const struct ex_rx *rx)
{
        return ex_wait_fd(fd, POLLIN, deadline_ms, watch_fd,
                          rx ? rx->intr : NULL);
}

/* Whether this wait may spin (see struct ex_rx): never with one CPU, as
 * spinning would only delay the peer, nor while failed spins are being
 * paid back. A process wake-up costs tens of microseconds on a VM, more
 * than a chatty call's reply usually takes. */
static int spin_allowed(struct ex_rx *rx)
{
        if (!rx)
                return 0;
        if (rx->cpus == 0) {
                cpu_set_t cpus;

                rx->cpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0
                                   ? CPU_COUNT(&cpus)
                                   : 1;
        }
        if (rx->cpus < 2)
                return 0;
        if (rx->skip) {
                rx->skip--;
                return 0;
        }
        return 1;
}

static void spin_ended(struct ex_rx *rx, int caught)
{
        if (caught) {
                rx->backoff = 0;
                return;
        }
        rx->backoff = rx->backoff ? rx->backoff * 2 : 1;
        if (rx->backoff > EX_SPIN_BACKOFF_MAX)
                rx->backoff = EX_SPIN_BACKOFF_MAX;
        rx->skip = rx->backoff;
}

/* One read of at most n bytes that returns some: the number read, or
 * -errno (-EPIPE at EOF). The socket is tried first, since the bytes are
 * often there already (a payload right behind its header); then we spin
 * briefly, trying it again (the read that succeeds is the last system
 * call); then we sleep: in a blocking read when there is neither a
 * deadline nor a watch fd, else in poll(), so the deadline and the watch
 * fd can end the wait. Fds arriving with the bytes go to `fds` (at most
 * max_fds in all). */
static ssize_t recv_some(int fd, uint8_t *buf, size_t n, int64_t deadline_ms,
                         int watch_fd, struct ex_rx *rx, struct ex_fds *fds,
                         uint32_t max_fds)
{
        int blocking = 0;
        int64_t spin_until = 0; /* while spinning: when to stop */

        for (;;) {
                union fd_control ctl;
                struct iovec iov = {.iov_base = buf, .iov_len = n};
                struct msghdr msg = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.buf,
                        .msg_controllen = sizeof(ctl.buf),
                };
                ssize_t k;

                /* Always with room for fds: whoever sent some, they are
                 * received (and closed if unwanted) rather than silently
                 * dropped. */
                k = recvmsg(fd, &msg,
                            (blocking ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
                if (k >= 0 && msg.msg_controllen) {
                        int r = take_fds(&msg, fds, max_fds);

                        if (r < 0)
                                return r;
                } else if (k >= 0 && (msg.msg_flags & MSG_CTRUNC)) {
                        return -EBADMSG;
                }
                if (k > 0) {
                        if (spin_until)
                                spin_ended(rx, 1);
                        return k;
                }
                if (k == 0)
                        return -EPIPE;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                        int r;

                        if (!spin_until && spin_allowed(rx))
                                spin_until = ex_now_us() + EX_SPIN_US;
                        if (spin_until && ex_now_us() < spin_until)
                                continue;
                        if (spin_until) {
                                spin_ended(rx, 0);
                                spin_until = 0;
                        }
                        if (deadline_ms < 0 && watch_fd < 0 &&
                            !(rx && rx->intr)) {
                                blocking = 1;
                                continue;
                        }
                        r = wait_readable(fd, deadline_ms, watch_fd, rx);

                        if (r < 0)
                                return r;
                        continue;
                }
                if (errno == ECONNRESET)
                        return -EPIPE;
                return -errno;
        }
}

/* Read exactly n bytes (recv_some until done). */
static int read_exact(int fd, uint8_t *buf, size_t n, int64_t deadline_ms,
                      int watch_fd, struct ex_rx *rx, struct ex_fds *fds,
                      uint32_t max_fds)
{
        size_t got = 0;

        while (got < n) {
                ssize_t k = recv_some(fd, buf + got, n - got, deadline_ms,
                                      watch_fd, rx, fds, max_fds);

                if (k < 0)
                        return (int)k;
                got += (size_t)k;
        }
        return 0;
}

/* ---- the staged reader (channels with an ex_rx) -------------------------
 *
 * A small frame's header and payload come in one read: the reader asks for
 * up to EX_RX_STAGE bytes and keeps what belongs to the next frames for
 * later. Fds are the catch: the kernel hands them over with the read that
 * reaches the first segment they were sent with, and stops that read at the
 * end of that segment. So the fds of a read belong to the frame holding its
 * last byte (a sender puts them on a frame's first bytes; a peer that puts
 * them elsewhere only gets them counted with another frame of its own).
 * They wait in rx->held until that frame is taken. */

static size_t staged(const struct ex_rx *rx)
{
        return rx->tail - rx->head;
}

static void stage_take(struct ex_rx *rx, size_t n)
{
        rx->head += (uint32_t)n;
        rx->pos += n;
}

/* Read at least one more byte into the stage. */
static int stage_fill(int fd, int64_t deadline_ms, int watch_fd,
                      struct ex_rx *rx, uint32_t max_fds)
{
        struct ex_fds got = {.n = 0};
        ssize_t k;

        if (rx->head) {
                memmove(rx->stage, rx->stage + rx->head, staged(rx));
                rx->tail -= rx->head;
                rx->head = 0;
        }
        k = recv_some(fd, rx->stage + rx->tail, EX_RX_STAGE - rx->tail,
                      deadline_ms, watch_fd, rx, &got, max_fds);
        if (k < 0) {
                ex_fds_close(&got);
                return (int)k;
        }
        if (got.n) {
                /* One frame's fds at a time: the frame they came with
                 * takes them before the stage needs another read. */
                if (rx->held.n) {
                        ex_fds_close(&got);
                        return -EBADMSG;
                }
                rx->held = got;
                rx->held_at = rx->pos + staged(rx) + (uint64_t)k - 1;
        }
        rx->tail += (uint32_t)k;
        return 0;
}

/* The header of the next frame, from the stage (consumed). */
static int staged_header(int fd, int64_t deadline_ms, int watch_fd,
                         struct ex_rx *rx, uint32_t max_fds,
                         uint8_t hdr[EX_FRAME_HEADER_SIZE])
{
        while (staged(rx) < EX_FRAME_HEADER_SIZE) {
                int r = stage_fill(fd, deadline_ms, watch_fd, rx, max_fds);

                if (r < 0)
                        return r;
        }
        memcpy(hdr, rx->stage + rx->head, EX_FRAME_HEADER_SIZE);
        stage_take(rx, EX_FRAME_HEADER_SIZE);
        return 0;
}

/* The payload of a frame that started at stream offset `start`: what is
 * staged, then the rest read straight into it (no further than the frame:
 * fds in those reads are its own); and the held fds if they are its. */
static int staged_payload(int fd, int64_t deadline_ms, int watch_fd,
                          struct ex_rx *rx, uint32_t max_fds, uint64_t start,
                          uint32_t len, struct ex_buf *payload)
{
        size_t take = staged(rx) < len ? staged(rx) : len;
        uint64_t end = start + EX_FRAME_HEADER_SIZE + len;

        if (take) /* an empty payload may have no buffer at all */
                memcpy(payload->data, rx->stage + rx->head, take);
        stage_take(rx, take);
        if (take < len) {
                int r = read_exact(fd, payload->data + take, len - take,
                                   deadline_ms, watch_fd, rx, &payload->fds,
                                   max_fds);
                if (r < 0)
                        return r;
                rx->pos += len - take;
        }
        payload->len = len;
        if (rx->held.n && rx->held_at < end) {
                /* Before this frame: no frame took them. */
                if (rx->held_at < start ||
                    payload->fds.n + rx->held.n > max_fds)
                        return -EBADMSG;
                for (uint32_t i = 0; i < rx->held.n; i++)
                        ex_fds_push(&payload->fds, rx->held.fd[i]);
                rx->held.n = 0;
        }
        return 0;
}

void ex_rx_free(struct ex_rx *rx)
{
        ex_fds_close(&rx->held);
        rx->head = rx->tail = 0;
}

/* A frame flagged EX_FRAME_FLAG_ARENA: refused where values cannot come
 * (no arena, no fds, a release or violation report), else counted now, as
 * the sender counted it when sent (*gen). */
static int arena_frame(struct ex_arena *arena, uint32_t max_fds,
                       const struct ex_frame_header *fh, uint32_t *gen)
{
        if (!(fh->flags & EX_FRAME_FLAG_ARENA))
                return 0;
        if (!arena || max_fds == 0 || fh->kind == EX_MSG_RELEASE ||
            fh->kind == EX_MSG_VIOLATION)
                return -EBADMSG;
        *gen = ex_arena_received(arena);
        return 0;
}

static int recv_frame(int fd, uint32_t max_payload, int64_t deadline_ms,
                      int watch_fd, struct ex_rx *rx,
                      struct ex_frame_header *h, struct ex_buf *payload,
                      uint32_t max_fds)
{
        struct ex_arena *arena = rx ? rx->arena : NULL;
        /* Only a channel's reader keeps a stage between frames. */
        int staging = rx && max_fds > 0;
        uint64_t start = staging ? rx->pos : 0;
        uint32_t gen = 0;
        uint8_t hdr[EX_FRAME_HEADER_SIZE];
        struct ex_frame_header fh;
        int r;

        ex_buf_reset(payload); /* closes fds left from the last frame */
        if (staging)
                r = staged_header(fd, deadline_ms, watch_fd, rx, max_fds,
                                  hdr);
        else
                r = read_exact(fd, hdr, sizeof(hdr), deadline_ms, watch_fd,
                               rx, &payload->fds, max_fds);
        if (r < 0)
                return r;
        /* Validate before reserving: a hostile length allocates nothing. */
        r = ex_frame_header_unpack(hdr, max_payload, &fh);
        if (r < 0)
                return r;
        r = arena_frame(arena, max_fds, &fh, &gen);
        if (r < 0)
                return r;
        if (fh.length) {
                r = ex_buf_reserve(payload, fh.length);
                if (r < 0)
                        return r;
        }
        if (staging) {
                r = staged_payload(fd, deadline_ms, watch_fd, rx, max_fds,
                                   start, fh.length, payload);
                if (r < 0)
                        return r;
        } else if (fh.length) {
                r = read_exact(fd, payload->data, fh.length, deadline_ms,
                               watch_fd, rx, &payload->fds, max_fds);
                if (r < 0)
                        return r;
                payload->len = fh.length;
        }
        /* Releases and a violation report carry no values, so no fds. */
        if (payload->fds.n &&
            (fh.kind == EX_MSG_RELEASE || fh.kind == EX_MSG_VIOLATION))
                return -EBADMSG;
        if (gen) {
                payload->fds.from = arena;
                payload->fds.from_gen = gen;
        }
        *h = fh;
        return 0;
}

/* recv_frame, closing every received fd on failure. Without an ex_rx the
 * rings' frames have no meaning. */
static int recv_frame_or_close(int fd, uint32_t max_payload,
                               int64_t deadline_ms, int watch_fd,
                               struct ex_frame_header *h,
                               struct ex_buf *payload, uint32_t max_fds)
{
        int r = recv_frame(fd, max_payload, deadline_ms, watch_fd, NULL, h,
                           payload, max_fds);

        if (r == 0 && h->kind >= EX_MSG_MARK)
                r = -EBADMSG;
        if (r < 0)
                ex_fds_close(&payload->fds);
        return r;
}

int ex_frame_recv(int fd, uint32_t max_payload, int64_t deadline_ms,
                  int watch_fd, struct ex_frame_header *h,
                  struct ex_buf *payload)
{
        return recv_frame_or_close(fd, max_payload, deadline_ms, watch_fd, h,
                                   payload, 0);
}

int ex_frame_recv_fds(int fd, uint32_t max_payload, int64_t deadline_ms,
                      int watch_fd, struct ex_frame_header *h,
                      struct ex_buf *payload)
{
        return recv_frame_or_close(fd, max_payload, deadline_ms, watch_fd, h,
                                   payload, EX_FDS_MAX);
}

/* ---- rings (frame.h) ---------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
}

/* Take the next frame from the peer's ring: 1, 0 when it is empty, or
 * -errno. Frames are published whole, header and payload. */
static int ring_take(struct ex_rx *rx, uint32_t max_payload,
                     struct ex_frame_header *h, struct ex_buf *payload)
{
        struct ex_ring *ring = rx->ring;
        uint8_t hdr[EX_FRAME_HEADER_SIZE];
        struct ex_frame_header fh;
        uint32_t gen = 0;
        size_t avail;
        int r = ex_ring_available(ring, &avail);

        if (r < 0)
                return r;
        if (avail == 0)
                return 0;
        if (avail < EX_FRAME_HEADER_SIZE)
                return -EBADMSG;
        ex_ring_read(ring, hdr, sizeof(hdr));
        r = ex_frame_header_unpack(hdr, max_payload, &fh);
        if (r < 0)
                return r;
        /* No bootstrap, violation report, wake-up or switch in a ring. */
        if (fh.kind == EX_MSG_BOOT || fh.kind == EX_MSG_VIOLATION ||
            fh.kind == EX_MSG_WAKE || fh.kind == EX_MSG_SWITCH ||
            fh.length > avail - EX_FRAME_HEADER_SIZE)
                return -EBADMSG;
        r = arena_frame(rx->arena, EX_FDS_MAX, &fh, &gen);
        if (r < 0)
                return r;
        if (fh.length) {
                r = ex_buf_reserve(payload, fh.length);
                if (r < 0)
                        return r;
                ex_ring_read(ring, payload->data, fh.length);
        }
        payload->len = fh.length;
        ex_ring_release(ring);
        if (gen) {
                payload->fds.from = rx->arena;
                payload->fds.from_gen = gen;
        }
        *h = fh;
        return 1;
}

/* Spin until the ring has something (1) or EX_SPIN_US passed (0). */
static int ring_spin(const struct ex_ring *ring)
{
        int64_t until = ex_now_us() + EX_SPIN_US;

        for (unsigned i = 1;; i++) {
                if (ex_ring_nonempty(ring))
                        return 1;
                cpu_relax();
                if (i % 64 == 0 && ex_now_us() >= until)
                        return 0;
        }
}

/* The next frame of a switched channel: from the ring, or from the socket
 * after a mark (or without one, when the ring is empty). Anything staged
 * was read before the ring was last found empty, so a frame's mark, put
 * in the ring before the frame was sent, is seen before the frame. */
static int ring_recv(int fd, uint32_t max_payload, int64_t deadline_ms,
                     int watch_fd, struct ex_rx *rx,
                     struct ex_frame_header *h, struct ex_buf *payload)
{
        int64_t check_ms = 0;

        for (;;) {
                int r;

                ex_buf_reset(payload);
                if (!rx->marked) {
                        r = ring_take(rx, max_payload, h, payload);
                        if (r < 0)
                                return r;
                        if (r > 0 && h->kind != EX_MSG_MARK)
                                return 0;
                        if (r > 0) {
                                rx->marked = 1;
                                continue;
                        }
                }
                if (rx->marked || staged(rx) >= EX_FRAME_HEADER_SIZE) {
                        r = recv_frame(fd, max_payload, deadline_ms, watch_fd,
                                       rx, h, payload, EX_FDS_MAX);
                        if (r < 0)
                                return r;
                        if (h->kind == EX_MSG_WAKE && payload->fds.n == 0) {
                                /* Wake-ups with nothing behind them (a
                                 * peer sending only those) must not hold
                                 * us past the deadline or a signal. */
                                if (rx->marked ||
                                    !ex_ring_nonempty(rx->ring)) {
                                        if (ex_past(deadline_ms))
                                                return -ETIMEDOUT;
                                        if (ex_intr_due(rx->intr, 0,
                                                        &check_ms))
                                                return -EINTR;
                                }
                                continue;
                        }
                        if (h->kind >= EX_MSG_MARK)
                                return -EBADMSG;
                        rx->marked = 0;
                        return 0;
                }
                if (rx->eof)
                        return -EPIPE;
                if (spin_allowed(rx)) {
                        int caught = ring_spin(rx->ring);

                        spin_ended(rx, caught);
                        if (caught)
                                continue;
                }
                /* Sleep on the socket, saying so first: a sender that
                 * publishes after our last look sees it and wakes us. */
                ex_ring_set_sleeping(rx->ring, 1);
                if (ex_ring_nonempty(rx->ring)) {
                        ex_ring_set_sleeping(rx->ring, 0);
                        continue;
                }
                r = wait_readable(fd, deadline_ms, watch_fd, rx);
                ex_ring_set_sleeping(rx->ring, 0);
                if (r < 0)
                        return r;
                /* Readable: this read does not wait. */
                r = stage_fill(fd, deadline_ms, watch_fd, rx, EX_FDS_MAX);
                if (r == -EPIPE)
                        rx->eof = 1; /* what the ring still holds comes first */
                else if (r < 0)
                        return r;
        }
}

int ex_frame_recv_rx(int fd, uint32_t max_payload, int64_t deadline_ms,
                     int watch_fd, struct ex_rx *rx,
                     struct ex_frame_header *h, struct ex_buf *payload)
{
        int r;

        for (;;) {
                if (rx->ring_on) {
                        r = ring_recv(fd, max_payload, deadline_ms, watch_fd,
                                      rx, h, payload);
                        break;
                }
                r = recv_frame(fd, max_payload, deadline_ms, watch_fd, rx, h,
                               payload, EX_FDS_MAX);
                if (r == 0 && h->kind == EX_MSG_SWITCH && rx->ring &&
                    payload->fds.n == 0) {
                        rx->ring_on = 1;
                        continue;
                }
                if (r == 0 && h->kind >= EX_MSG_MARK)
                        r = -EBADMSG;
                break;
        }
        if (r < 0)
                ex_fds_close(&payload->fds);
        return r;
}

/* Wait until the ring has room for n bytes: spin, then nap, longer each
 * time (the consumer says nothing when it makes room); the peer closing
 * its end or the deadline ends the wait. */
static int ring_room(int fd, const struct ex_ring *ring, size_t n,
                     int64_t deadline_ms, const struct ex_intr *intr)
{
        int64_t spin_until = ex_now_us() + EX_SPIN_US, check_ms = 0;
        long nap_us = 0;
        int signalled = 0;

        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = 0};
                struct timespec ts;
                size_t space;
                int r = ex_ring_space(ring, &space);

                if (r < 0)
                        return r;
                if (space >= n)
                        return 0;
                if (ex_now_us() < spin_until) {
                        cpu_relax();
                        continue;
                }
                if (ex_past(deadline_ms))
                        return -ETIMEDOUT;
                if (ex_intr_due(intr, signalled, &check_ms))
                        return -EINTR;
                nap_us = nap_us ? (nap_us >= 500 ? 1000 : nap_us * 2) : 10;
                ts = (struct timespec){.tv_nsec = nap_us * 1000};
                /* No events asked: only a hang-up or an error ends it. */
                r = ppoll(&pfd, 1, &ts, NULL);
                signalled = r < 0 && errno == EINTR;
                if (r < 0 && !signalled)
                        return -errno;
                if (r > 0 && (pfd.revents & POLLNVAL))
                        return -EBADF;
                if (r > 0 && (pfd.revents & (POLLHUP | POLLERR)))
                        return -EPIPE;
        }
}

static int ring_send(int fd, struct ex_ring *ring,
                     const struct ex_frame_header *h, const void *payload,
                     uint32_t len, int64_t deadline_ms,
                     const struct ex_intr *intr)
{
        uint8_t hdr[EX_FRAME_HEADER_SIZE];
        int r = ring_room(fd, ring, EX_FRAME_HEADER_SIZE + (size_t)len,
                          deadline_ms, intr);

        if (r < 0)
                return r;
        ex_frame_header_pack(h, hdr);
        ex_ring_write(ring, hdr, sizeof(hdr));
        ex_ring_write(ring, payload, len);
        ex_ring_publish(ring);
        return 0;
}

static int tx_send(int fd, struct ex_tx *tx, const struct ex_frame_header *h,
                   const void *payload, uint32_t len, const int *fds,
                   uint32_t nfds, int64_t deadline_ms)
{
        static const struct ex_frame_header mark = {.kind = EX_MSG_MARK},
                                             wake = {.kind = EX_MSG_WAKE};
        const struct ex_intr *intr = tx ? tx->intr : NULL;
        int r;

        if (!tx || !tx->ring_on)
                return send_until(fd, h, payload, len, fds, nfds,
                                  deadline_ms, intr);
        if (nfds || EX_FRAME_HEADER_SIZE + (size_t)len > EX_RING_FRAME_MAX) {
                /* The socket wakes a sleeping receiver by itself. */
                r = ring_send(fd, tx->ring, &mark, NULL, 0, deadline_ms,
                              intr);
                return r < 0 ? r
                             : send_until(fd, h, payload, len, fds, nfds,
                                          deadline_ms, intr);
        }
        r = ring_send(fd, tx->ring, h, payload, len, deadline_ms, intr);
        if (r == 0 && ex_ring_peer_sleeping(tx->ring))
                r = send_until(fd, &wake, NULL, 0, NULL, 0, deadline_ms,
                               intr);
        return r;
}

int ex_frame_send_tx(int fd, struct ex_tx *tx, const struct ex_frame_header *h,
                     struct ex_buf *b, int64_t deadline_ms)
{
        struct ex_frame_header fh = *h;
        int r;

        if (b->len > UINT32_MAX)
                return -EMSGSIZE;
        if (b->fds.lease)
                fh.flags |= EX_FRAME_FLAG_ARENA;
        r = tx_send(fd, tx, &fh, b->data, (uint32_t)b->len, b->fds.fd,
                    b->fds.n, deadline_ms);
        if (r == 0 && b->fds.lease) {
                ex_arena_unlease(b->fds.lease, 1);
                b->fds.lease = NULL;
        }
        return r;
}

int ex_frame_send_tx_raw(int fd, struct ex_tx *tx,
                         const struct ex_frame_header *h, const void *payload,
                         uint32_t len, int64_t deadline_ms)
{
        return tx_send(fd, tx, h, payload, len, NULL, 0, deadline_ms);
}

int ex_tx_switch(int fd, struct ex_tx *tx, int64_t deadline_ms)
{
        static const struct ex_frame_header sw = {.kind = EX_MSG_SWITCH};
        int r;

        if (!tx->ring)
                return -ENODEV;
        r = send_until(fd, &sw, NULL, 0, NULL, 0, deadline_ms, tx->intr);
        if (r == 0)
                tx->ring_on = 1;
        return r;
}
