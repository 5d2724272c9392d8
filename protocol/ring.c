/* Frame rings in shared memory; see ring.h. */
#include "ring.h"

#include <errno.h>
#include <string.h>

#define RING_MASK (EX_RING_SIZE - 1)

int ex_ring_space(const struct ex_ring *r, size_t *space)
{
        uint64_t head = atomic_load_explicit(r->head, memory_order_acquire);
        uint64_t used = r->pos - head;

        /* The consumer cannot have taken bytes we did not send, nor left
         * more than a ring of them. */
        if (used > EX_RING_SIZE)
                return -EBADMSG;
        *space = EX_RING_SIZE - (size_t)used;
        return 0;
}

/* Copy n bytes between a flat buffer and the ring at index at: two
 * pieces when they wrap around its end. */
static void ring_copy_in(uint8_t *data, uint64_t at, const uint8_t *p,
                         size_t n)
{
        size_t off = (size_t)(at & RING_MASK);
        size_t first = n < EX_RING_SIZE - off ? n : EX_RING_SIZE - off;

        memcpy(data + off, p, first);
        if (n > first)
                memcpy(data, p + first, n - first);
}

static void ring_copy_out(const uint8_t *data, uint64_t at, uint8_t *p,
                          size_t n)
{
        size_t off = (size_t)(at & RING_MASK);
        size_t first = n < EX_RING_SIZE - off ? n : EX_RING_SIZE - off;

        memcpy(p, data + off, first);
        if (n > first)
                memcpy(p + first, data, n - first);
}

void ex_ring_write(struct ex_ring *r, const void *p, size_t n)
{
        if (n)
                ring_copy_in(r->data, r->pos, p, n);
        r->pos += n;
}

void ex_ring_publish(struct ex_ring *r)
{
        atomic_store_explicit(r->tail, r->pos, memory_order_seq_cst);
}

int ex_ring_peer_sleeping(const struct ex_ring *r)
{
        return atomic_load_explicit(r->sleeping, memory_order_seq_cst) != 0;
}

int ex_ring_available(const struct ex_ring *r, size_t *avail)
{
        uint64_t tail = atomic_load_explicit(r->tail, memory_order_acquire);
        uint64_t ahead = tail - r->pos;

        if (ahead > EX_RING_SIZE)
                return -EBADMSG; /* behind us, or beyond a whole ring */
        *avail = (size_t)ahead;
        return 0;
}

int ex_ring_nonempty(const struct ex_ring *r)
{
        return atomic_load_explicit(r->tail, memory_order_relaxed) != r->pos;
}

void ex_ring_read(struct ex_ring *r, void *out, size_t n)
{
        if (n)
                ring_copy_out(r->data, r->pos, out, n);
        r->pos += n;
}

void ex_ring_release(struct ex_ring *r)
{
        atomic_store_explicit(r->head, r->pos, memory_order_release);
}

void ex_ring_set_sleeping(struct ex_ring *r, int sleeping)
{
        atomic_store_explicit(r->sleeping, sleeping ? 1u : 0u,
                              memory_order_seq_cst);
}
