/* Framing and channel I/O (DESIGN §4).
 *
 * A frame is a fixed 16-byte header followed by `length` payload bytes (one
 * codec value). The header's length is checked against the receiver's cap
 * before a single payload byte is allocated or read.
 *
 *   offset  size  field
 *   0       4     length      payload bytes, little-endian
 *   4       1     kind        enum ex_msg_kind
 *   5       1     op          enum ex_op for EX_MSG_CALL, else 0
 *   6       2     flags       EX_FRAME_FLAG_ARENA or 0
 *   8       4     request_id  pairs a reply with its request
 *   12      4     chain_id    the call chain a nested request belongs to
 *
 * Fds (out-of-band buffers, oob.h) ride along as SCM_RIGHTS ancillary data
 * on the frame's first bytes; the codec value names them by index in the
 * order sent. At most EX_FDS_MAX per frame; RELEASE and VIOLATION frames
 * never carry any.
 */
#ifndef EXTRADITE_FRAME_H
#define EXTRADITE_FRAME_H

#include <stdint.h>

#include "buf.h"
#include "oob.h"
#include "wait.h"

#define EX_FRAME_HEADER_SIZE 16u
/* The frame's big byte strings are in the sender's shared arena
 * (arena.h); the only flag. */
#define EX_FRAME_FLAG_ARENA 0x0001u
/* Default cap on one frame's payload; big buffers go out of band. */
#define EX_FRAME_MAX_DEFAULT (64u << 20)
/* The child's end of the channel is always this fd after exec. */
#define EX_CHILD_CHANNEL_FD 3

enum ex_msg_kind {
        EX_MSG_BOOT = 1,  /* parent->child: (sys_path, options) */
        EX_MSG_CALL = 2,  /* request; the header's op says which */
        EX_MSG_REPLY = 3, /* reply: the result value */
        EX_MSG_ERROR = 4, /* reply: (kind, module, name, message, traceback) */
        EX_MSG_RELEASE = 5, /* no reply: [id, count, id, count, ...] */
        EX_MSG_VIOLATION = 6, /* child->parent, last words: syscall number */
        /* The rings (below); each carries no payload. */
        EX_MSG_MARK = 7,   /* in a ring: the next frame is on the socket */
        EX_MSG_WAKE = 8,   /* on the socket: look at the ring */
        EX_MSG_SWITCH = 9, /* on the socket, once: the ring from now on */
        EX_MSG_KIND_MAX = EX_MSG_SWITCH,
        /* There is no "bye": the child exits on EOF of its channel. */
};

enum ex_op {
        EX_OP_NONE = 0,
        EX_OP_LOAD = 1,        /* (module, qualname) -> (handle, meta) */
        EX_OP_NEW = 2,         /* (class, args, kwargs) -> handle */
        EX_OP_CALL = 3,        /* (obj, args, kwargs) -> value */
        EX_OP_CALL_METHOD = 4, /* (obj, name, args, kwargs) -> value */
        EX_OP_GETATTR = 5,     /* (obj, name) -> value */
        EX_OP_SETATTR = 6,     /* (obj, name, value) -> None */
        EX_OP_DELATTR = 7,     /* (obj, name) -> None */
        /* (obj, operation, args) -> value: one Python operation (len,
         * getitem, add, radd, eq, ...) applied with Python's semantics; the
         * names are an allowlist (pymodule/ops_apply.c). */
        EX_OP_DUNDER = 8,
        /* (obj, name or None, [(args, kwargs), ...]) -> [value, ...]: call
         * obj.name (obj itself for None) once per item, in order, stopping
         * at the first exception, which is the reply. */
        EX_OP_BATCH = 9,
        EX_OP_PING = 10, /* () -> None: the child is up and serving */
        EX_OP_MAX = EX_OP_PING,
};

/* Most calls one EX_OP_BATCH request may carry. */
#define EX_BATCH_MAX_CALLS (1u << 16)

/* What an EX_MSG_ERROR frame reports; the parent maps each to a class. */
enum ex_error_kind {
        EX_ERR_REMOTE = 0,      /* an exception raised by the target's code */
        EX_ERR_PROTOCOL = 1,    /* bad request, released handle */
        EX_ERR_UNSUPPORTED = 2, /* an interaction the child refuses */
        EX_ERR_LEAK = 3,        /* would move the protected module */
        EX_ERR_KIND_MAX = EX_ERR_LEAK,
};

struct ex_frame_header {
        uint32_t length;
        uint8_t kind;
        uint8_t op;
        uint16_t flags;
        uint32_t request_id;
        uint32_t chain_id;
};

void ex_frame_header_pack(const struct ex_frame_header *h,
                          uint8_t out[EX_FRAME_HEADER_SIZE]);
/* -EBADMSG for an unknown kind/op or nonzero flags, -EMSGSIZE when the
 * length exceeds max_payload. */
int ex_frame_header_unpack(const uint8_t in[EX_FRAME_HEADER_SIZE],
                           uint32_t max_payload, struct ex_frame_header *out);

/* Send one frame (header + payload) in full. Retries EINTR and short
 * writes; never raises SIGPIPE. -EPIPE when the peer is gone. */
int ex_frame_send(int fd, const struct ex_frame_header *h, const void *payload,
                  uint32_t len);
/* The same, with nfds (<= EX_FDS_MAX) fds attached to the frame; the
 * caller keeps its own copies (close them once sent). -EINVAL for too
 * many. */
int ex_frame_send_fds(int fd, const struct ex_frame_header *h,
                      const void *payload, uint32_t len, const int *fds,
                      uint32_t nfds);
/* Receive one frame into `payload` (reset first). Blocks until a whole frame
 * arrives or the deadline passes.
 *   deadline_ms: CLOCK_MONOTONIC milliseconds, or -1 for no deadline
 *   watch_fd:    another fd (a pidfd) that ends the wait when readable,
 *                or -1
 * -EPIPE on EOF (peer closed), -ETIMEDOUT past the deadline, -ECHILD when
 * watch_fd became readable first, -EMSGSIZE/-EBADMSG from the header.
 * A frame that comes with fds is refused (-EBADMSG, the fds closed): use
 * ex_frame_recv_fds where values may travel out of band. */
int ex_frame_recv(int fd, uint32_t max_payload, int64_t deadline_ms,
                  int watch_fd, struct ex_frame_header *h,
                  struct ex_buf *payload);
/* ex_frame_recv that also accepts up to EX_FDS_MAX fds with the frame,
 * received close-on-exec into payload->fds (ex_frame_recv refuses any fd).
 * On any error every fd received is closed and payload->fds is empty:
 * -EBADMSG for too many fds, truncated ancillary data (MSG_CTRUNC),
 * anything but SCM_RIGHTS, or fds on a RELEASE/VIOLATION frame. On
 * success the fds belong to payload (ex_decode_buf closes them). */
int ex_frame_recv_fds(int fd, uint32_t max_payload, int64_t deadline_ms,
                      int watch_fd, struct ex_frame_header *h,
                      struct ex_buf *payload);

/* ---- rings ----------------------------------------------------------
 *
 * A channel may also carry frames through a ring in shared memory
 * (ring.h). A sender starts using its ring by sending EX_MSG_SWITCH on the
 * socket (the child after its sandbox report, the parent once the child
 * switched). From then on a frame goes in the ring, unless it has fds or
 * exceeds EX_RING_FRAME_MAX: then an EX_MSG_MARK goes in the ring and the
 * frame on the socket, which keeps the order. A receiver waits for the
 * ring by spinning on it, then by sleeping on the socket after saying so
 * in the ring's `sleeping` word; a sender that sees that word set after
 * publishing sends an EX_MSG_WAKE on the socket. Frames on the socket
 * without a mark (a violation report, written raw from a signal handler)
 * are taken when the ring is empty. The child's end of the socket closing
 * ends the channel once the ring is drained. */

/* One channel's receiving side, kept between frames. */
struct ex_arena;
struct ex_ring;
struct ex_rx {
        /* The peer's sending arena (arena.h): frames flagged
         * EX_FRAME_FLAG_ARENA are accepted only with one. */
        struct ex_arena *arena;
        /* The peer's ring to us, or NULL: an EX_MSG_SWITCH is refused
         * without one. */
        struct ex_ring *ring;
        /* Set by the reader for its waits, or NULL (wait.h): a wait ends
         * with -EINTR when it says so, the frame perhaps half read. */
        const struct ex_intr *intr;
        uint8_t ring_on; /* the peer switched to its ring */
        uint8_t marked;  /* a mark was taken: the next frame is on the socket */
        uint8_t eof;     /* the socket is closed: the ring is all there is */
        /* Spin-then-sleep: before sleeping on an empty socket the receiver
         * polls it for up to EX_SPIN_US, which saves a wake-up when the
         * peer answers quickly. That pays only while the peer has a CPU of
         * its own; when the spins keep failing (a loaded machine, long
         * calls), the next `skip` waits go straight to sleep, twice as many
         * after each failure (up to EX_SPIN_BACKOFF_MAX), and one success
         * brings spinning back. */
        int cpus;         /* CPUs this thread may use; 0: not read yet */
        uint32_t skip;    /* waits left that do not spin */
        uint32_t backoff; /* skip after the next failed spin */
        /* Bytes read ahead: a small frame's header and payload come in one
         * read, and what follows waits here for the next frames
         * (frame.c, "the staged reader"). stage[head, tail) is unread;
         * pos is its stream offset. Fds that came with staged bytes wait
         * in `held` for the frame holding held_at (the last byte of their
         * read). Free with ex_rx_free. */
        uint32_t head, tail;
        uint64_t pos;
        struct ex_fds held;
        uint64_t held_at;
        uint8_t stage[4096];
};
#define EX_RX_STAGE sizeof(((struct ex_rx *)0)->stage)
#define EX_SPIN_US 50
#define EX_SPIN_BACKOFF_MAX 64u

/* ex_frame_recv_fds for a channel: spins adaptively (rx), and accepts
 * frames flagged EX_FRAME_FLAG_ARENA when rx->arena is set: payload->fds
 * then names the arena, and letting go of payload acknowledges the
 * frame. -EINTR when rx->intr ended a wait. The deadline bounds each wait
 * for the socket; frames waiting in the ring are taken past it (the
 * caller checks the time between frames), but wake-ups alone are not.
 * Either way out leaves the channel out of step: end it. */
int ex_frame_recv_rx(int fd, uint32_t max_payload, int64_t deadline_ms,
                     int watch_fd, struct ex_rx *rx,
                     struct ex_frame_header *h, struct ex_buf *payload);
/* Close the fds an ex_rx still holds (a zeroed one is fine). */
void ex_rx_free(struct ex_rx *rx);

/* One channel's sending side. */
struct ex_tx {
        struct ex_ring *ring; /* our ring to the peer, or NULL */
        /* Set by the sender for its waits, or NULL (wait.h): a send ends
         * with -EINTR when it says so, the frame perhaps half sent. */
        const struct ex_intr *intr;
        uint8_t ring_on;      /* EX_MSG_SWITCH was sent */
};
/* Send an encoded buffer: its bytes and its fds (b->fds), which stay
 * open in b; h->length must be b->len. Through the channel: in the ring
 * once switched (see "rings"), else on the socket; a tx of NULL is the
 * socket. When b leased an arena, the frame goes flagged
 * EX_FRAME_FLAG_ARENA and, once sent, the lease ends. With a deadline
 * (CLOCK_MONOTONIC milliseconds, -1 for none) a peer that stops reading
 * (stopped, busy) cannot hold the sender past it: -ETIMEDOUT then,
 * perhaps after part of the frame went out, and the channel is out of
 * step: the caller must end it. */
int ex_frame_send_tx(int fd, struct ex_tx *tx, const struct ex_frame_header *h,
                     struct ex_buf *b, int64_t deadline_ms);
/* The same for a payload that is not a buffer, without fds. */
int ex_frame_send_tx_raw(int fd, struct ex_tx *tx,
                         const struct ex_frame_header *h, const void *payload,
                         uint32_t len, int64_t deadline_ms);
/* Send EX_MSG_SWITCH and use the ring from now on. -ENODEV without one. */
int ex_tx_switch(int fd, struct ex_tx *tx, int64_t deadline_ms);

#endif
