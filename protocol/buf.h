/* A growable byte buffer with a hard ceiling, and the fds that travel
 * with its bytes.
 *
 * Lifecycle: zero-initialise (or ex_buf_init with a ceiling), append with
 * ex_buf_reserve/ex_buf_put, reuse with ex_buf_reset, free with ex_buf_free.
 * The buffer owns `data` and the fds in `fds`; nothing else frees them.
 *
 * `fds` holds the out-of-band memfds of an encoded frame (oob.h): the
 * encoder adds them, ex_frame_send_tx() passes them along, and on the
 * receiving side ex_frame_recv_fds() fills them in. Resetting or freeing
 * the buffer closes them: they belong to its contents. (So rolling back
 * by lowering `len` must not cut off a value that named one.)
 */
#ifndef EXTRADITE_BUF_H
#define EXTRADITE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "oob.h"

struct ex_buf {
        uint8_t *data; /* owned */
        size_t len;
        size_t cap;
        size_t max; /* ceiling on len; 0 means SIZE_MAX */
        struct ex_fds fds; /* owned: out-of-band fds of the contents */
};

void ex_buf_init(struct ex_buf *b, size_t max);
/* Free the bytes and close the fds. */
void ex_buf_free(struct ex_buf *b);
/* Empty it (keeping the memory); closes the fds. */
static inline void ex_buf_reset(struct ex_buf *b)
{
        b->len = 0;
        if (b->fds.n || b->fds.lease || b->fds.from)
                ex_fds_close(&b->fds);
}

/* Make room for `extra` more bytes. -EMSGSIZE past the ceiling, -ENOMEM. */
int ex_buf_reserve(struct ex_buf *b, size_t extra);
/* Append; same errors as ex_buf_reserve. */
int ex_buf_put(struct ex_buf *b, const void *p, size_t n);
/* Shrink capacity back to `keep` bytes when a big message grew it. */
void ex_buf_trim(struct ex_buf *b, size_t keep);

#endif
