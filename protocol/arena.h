/* Shared arenas: big bytes/bytearray values without a memfd per message.
 *
 * A fresh sealed memfd per value (oob.h) costs a page-cache allocation and
 * free of every page, which made a 512 KiB echo slower than a socket. Each
 * session instead maps two memfds once, one per direction, and a frame may
 * carry its big byte strings in the sender's arena:
 *
 *   parent -> child  "down": the parent maps it read-write, then seals it
 *                    (F_SEAL_FUTURE_WRITE): the child can only read it.
 *   child -> parent  "up":   both sides map it read-write. Its first page
 *                    holds the shared words both sides write (the
 *                    acknowledgements below, the rings' indices).
 *
 * Each memfd is a header page, then its direction's frame ring (ring.h),
 * then EX_ARENA_SIZE bytes of values.
 *
 * Both are sealed against shrinking and growing before the child gets
 * them, so no access inside a mapping can ever fault (SIGBUS).
 *
 * Values in an arena are opaque bytes the receiver copies once into an
 * object of its own; nothing structured is ever read from shared memory,
 * so a peer writing into the arena meanwhile can change only the bytes it
 * sent itself. Offsets and lengths come from the frame (private memory)
 * and are checked against the arena size before use.
 *
 * Reuse: a frame that used an arena has EX_FRAME_FLAG_ARENA set. Sender
 * and receiver count such frames per direction (the stream keeps them in
 * order). When the receiver lets go of a frame's buffer, decoded or not,
 * it stores that count in the direction's acknowledgement word; the
 * sender reuses the arena only when the word equals its own count, and
 * otherwise sends the value in a memfd as before. One frame holds the
 * arena at a time (a lease), from encoding until it is sent. A peer that
 * lies in its acknowledgement only garbles what it receives itself.
 */
#ifndef EXTRADITE_ARENA_H
#define EXTRADITE_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of values each direction's arena holds. */
#define EX_ARENA_SIZE ((size_t)8 << 20)
/* The shared words' page at the start of each memfd. */
#define EX_ARENA_HEADER 4096u

struct ex_arena {
        uint8_t *map;     /* the whole mapping (owned) */
        size_t map_len;
        uint8_t *base;    /* the values' bytes: map (+ header for "up") */
        size_t size;      /* EX_ARENA_SIZE */
        _Atomic uint32_t *ack; /* receiver: frames it let go of */
        /* Sender side. */
        atomic_int leased;   /* a buffer holds the arena until sent */
        uint32_t sent;       /* frames sent with it (written by the lessee) */
        /* Receiver side: frames received with it. */
        uint32_t received;
};

/* The parent's pair: creates both memfds, maps them, seals them. On
 * success *down_fd and *up_fd are for the child (close-on-exec; close
 * them once sent). -errno on failure, nothing left open or mapped. */
int ex_arena_pair_create(struct ex_arena *down, struct ex_arena *up,
                         int *down_fd, int *up_fd);
/* The child's pair, from the parent's two fds (not closed here): checks
 * each is a memfd of the expected size and seals, then maps "down"
 * read-only and "up" read-write. -EBADMSG when an fd is not such a memfd. */
int ex_arena_pair_map(struct ex_arena *down, struct ex_arena *up,
                      int down_fd, int up_fd);
/* Point the frame rings at their place in a mapped pair: down_ring
 * carries parent -> child, up_ring child -> parent. -ENODEV without
 * arenas. */
struct ex_ring;
int ex_arena_rings(const struct ex_arena *down, const struct ex_arena *up,
                   struct ex_ring *down_ring, struct ex_ring *up_ring);
/* Unmap (a zeroed arena is fine). */
void ex_arena_unmap(struct ex_arena *a);

/* Sender: take the arena for one frame. 0 when it is free and the peer
 * acknowledged every frame sent with it; -EBUSY otherwise. */
int ex_arena_lease(struct ex_arena *a);
/* Sender: the frame holding the lease was sent (sent = true) or dropped. */
void ex_arena_unlease(struct ex_arena *a, int sent);
/* Receiver: a frame flagged EX_FRAME_FLAG_ARENA arrived; its count. */
uint32_t ex_arena_received(struct ex_arena *a);
/* Receiver: done with the frame numbered gen; the sender may reuse. */
void ex_arena_ack(struct ex_arena *a, uint32_t gen);

#endif
