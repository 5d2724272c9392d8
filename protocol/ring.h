/* Frame rings: small frames through shared memory, without a system call.
 *
 * A round trip over the socket is four system calls (a send and a receive
 * on each side), and on a VM they were most of a small call's time. Each
 * direction of a session also has a ring: a single-producer,
 * single-consumer byte ring in the arenas' memfds (arena.h) that carries
 * whole frames, header and payload, exactly as the socket would. The
 * receiver spins on the ring's tail while the sender is expected to answer
 * soon, and sleeps on the socket otherwise (frame.h, "rings").
 *
 * The indices are 64-bit byte counts that never wrap. Each side keeps its
 * own index privately and only publishes it: the producer `tail`, the
 * consumer `head`. What the peer publishes is checked before use (a tail
 * behind our head or more than a ring ahead, a head outside the bytes we
 * sent): a peer that lies gets -EBADMSG, never a read or write outside
 * the ring. The consumer copies every byte out before looking at it, as
 * the peer may rewrite the ring meanwhile.
 *
 * Where the words live (arena.c): each is written by one side only, on its
 * own cache line; the parent->child ring's data and tail are in the memfd
 * the child maps read-only.
 */
#ifndef EXTRADITE_RING_H
#define EXTRADITE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of frames one ring holds (a power of two). */
#define EX_RING_SIZE ((size_t)256 << 10)
/* Frames bigger than this (header included) go on the socket. */
#define EX_RING_FRAME_MAX (EX_RING_SIZE / 4)

struct ex_ring {
        uint8_t *data;              /* EX_RING_SIZE bytes (shared) */
        _Atomic uint64_t *tail;     /* producer: bytes published */
        _Atomic uint64_t *head;     /* consumer: bytes taken */
        _Atomic uint32_t *sleeping; /* consumer: 1 while it waits on the socket */
        uint64_t pos; /* our own index: the tail (producer) or head (consumer) */
};

/* Producer: room for *space more bytes. -EBADMSG when the consumer's
 * published head is impossible. */
int ex_ring_space(const struct ex_ring *r, size_t *space);
/* Producer: append n bytes after the last ones appended (checked room
 * first); the consumer sees them only once published. */
void ex_ring_write(struct ex_ring *r, const void *p, size_t n);
/* Producer: make what was written visible. Sequentially consistent, so
 * that a consumer going to sleep either sees it or is seen sleeping (the
 * producer then wakes it through the socket). */
void ex_ring_publish(struct ex_ring *r);
/* Producer, after publishing: whether the consumer sleeps on the socket. */
int ex_ring_peer_sleeping(const struct ex_ring *r);

/* Consumer: *avail bytes published and not yet taken. -EBADMSG when the
 * producer's published tail is impossible. */
int ex_ring_available(const struct ex_ring *r, size_t *avail);
/* Consumer: whether anything was published since our last take; cheap
 * enough to spin on. */
int ex_ring_nonempty(const struct ex_ring *r);
/* Consumer: copy out the next n bytes (n <= available). */
void ex_ring_read(struct ex_ring *r, void *out, size_t n);
/* Consumer: give the bytes read so far back to the producer. */
void ex_ring_release(struct ex_ring *r);
/* Consumer: say whether we sleep on the socket (sequentially consistent,
 * see ex_ring_publish). */
void ex_ring_set_sleeping(struct ex_ring *r, int sleeping);

#endif
