/* Growable byte buffer with a ceiling; see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EX_BUF_MIN_CAP 256u

void ex_buf_init(struct ex_buf *b, size_t max)
{
        *b = (struct ex_buf){.max = max};
}

void ex_buf_free(struct ex_buf *b)
{
        ex_fds_close(&b->fds);
        free(b->data);
        /* Keep the ceiling so the buffer can be reused as configured. */
        *b = (struct ex_buf){.max = b->max};
}

int ex_buf_reserve(struct ex_buf *b, size_t extra)
{
        size_t limit = b->max ? b->max : SIZE_MAX;
        size_t need, cap;
        uint8_t *p;

        /* Written this way round so len + extra cannot overflow. */
        if (b->len > limit || extra > limit - b->len)
                return -EMSGSIZE;
        need = b->len + extra;
        if (need <= b->cap)
                return 0;
        /* Grow geometrically so n appends cost O(n) copies in total. */
        cap = b->cap ? b->cap : EX_BUF_MIN_CAP;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        /* Never hold more than the ceiling allows, but always hold `need`. */
        if (cap > limit)
                cap = limit;
        p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int ex_buf_put(struct ex_buf *b, const void *p, size_t n)
{
        int r;

        if (n == 0)
                return 0; /* p may be NULL for an empty blob */
        r = ex_buf_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
}

void ex_buf_trim(struct ex_buf *b, size_t keep)
{
        uint8_t *p;

        if (keep < b->len || b->cap <= keep)
                return;
        if (keep == 0) {
                /* realloc(p, 0) is implementation-defined; free instead. */
                free(b->data);
                b->data = NULL;
                b->cap = 0;
                return;
        }
        p = realloc(b->data, keep);
        if (!p)
                return; /* keeping the bigger block is harmless */
        b->data = p;
        b->cap = keep;
}
