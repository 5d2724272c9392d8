/* A growable byte buffer with a hard ceiling.
 *
 * Lifecycle: zero-initialise (or ex_buf_init with a ceiling), append with
 * ex_buf_reserve/ex_buf_put, reuse with ex_buf_reset, free with ex_buf_free.
 * The buffer owns `data`; nothing else frees it.
 */
#ifndef EXTRADITE_BUF_H
#define EXTRADITE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ex_buf {
        uint8_t *data; /* owned */
        size_t len;
        size_t cap;
        size_t max; /* ceiling on len; 0 means SIZE_MAX */
};

void ex_buf_init(struct ex_buf *b, size_t max);
void ex_buf_free(struct ex_buf *b);
static inline void ex_buf_reset(struct ex_buf *b) { b->len = 0; }

/* Make room for `extra` more bytes. -EMSGSIZE past the ceiling, -ENOMEM. */
int ex_buf_reserve(struct ex_buf *b, size_t extra);
/* Append; same errors as ex_buf_reserve. */
int ex_buf_put(struct ex_buf *b, const void *p, size_t n);
/* Shrink capacity back to `keep` bytes when a big message grew it. */
void ex_buf_trim(struct ex_buf *b, size_t keep);

#endif
