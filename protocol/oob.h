/* Out-of-band buffers: big bytes/bytearray values travel in a sealed memfd
 * passed with SCM_RIGHTS next to their frame (DESIGN §4). No Python here.
 *
 * Sender: ex_oob_create() copies the bytes into a new memfd and seals it
 * (no shrink, grow or write, and no more seal changes), so what the peer
 * maps or reads can never change under it. The fd goes into the frame's
 * ex_fds set (an ex_buf carries one: buf.h); the codec value is
 * EX_TAG_BYTES_FD / EX_TAG_BYTEARRAY_FD naming the fd's index in that set
 * and the byte length.
 *
 * Receiver: ex_frame_recv_fds() collects at most EX_FDS_MAX fds per frame;
 * before any allocation, ex_oob_check() makes sure an fd is a memfd
 * carrying all four seals and exactly the stated size, then ex_oob_read()
 * copies it once. Every received fd is closed after decoding, whatever
 * happened.
 */
#ifndef EXTRADITE_OOB_H
#define EXTRADITE_OOB_H

#include <stddef.h>
#include <stdint.h>

struct ex_arena;

/* Fds one frame may carry. */
#define EX_FDS_MAX 64u
/* bytes/bytearray values from this size on go out of band. */
#define EX_OOB_MIN ((size_t)64 << 10)
/* Default cap on the out-of-band bytes of one frame (struct ex_limits). */
#define EX_OOB_MAX_DEFAULT ((uint64_t)1 << 30)

/* A frame's fds. Owns fd[0..n); a slot may be -1 once its fd was used and
 * closed. Zero-initialised means empty. */
struct ex_fds {
        uint32_t n;
        uint64_t bytes; /* sender side: out-of-band bytes they carry */
        int fd[EX_FDS_MAX];
        /* Sender: the arena this frame leased (arena.h) and the bytes of
         * it used so far. */
        struct ex_arena *lease;
        size_t lease_used;
        /* Receiver: the arena the frame's values are in (it came flagged
         * EX_FRAME_FLAG_ARENA) and the frame's count, acknowledged when
         * the set is closed. */
        struct ex_arena *from;
        uint32_t from_gen;
};

/* Close every fd still held, give up an unsent lease and acknowledge a
 * received arena frame; the set is empty afterwards. */
void ex_fds_close(struct ex_fds *f);
/* Append fd (ownership moves to the set). -E2BIG when full: the fd is then
 * left to the caller. */
int ex_fds_push(struct ex_fds *f, int fd);

/* A sealed memfd holding a copy of p[0..n): the fd, or -errno. -EFBIG when
 * RLIMIT_FSIZE would not let it grow to n (writing past it would raise
 * SIGXFSZ), so the caller can send the bytes inline instead. */
int ex_oob_create(const void *p, size_t n);

/* 0 when fd is a memfd of exactly n bytes sealed against shrink, grow,
 * write and further seal changes; -EBADMSG otherwise. The seals are read
 * before the size: once sealed, the size cannot change any more. */
int ex_oob_check(int fd, uint64_t n);

/* Copy n bytes from offset 0 of a checked memfd into dst. 0, -EBADMSG when
 * it ends early, or -errno. Never blocks (a memfd is memory). */
int ex_oob_read(int fd, void *dst, size_t n);

#endif
