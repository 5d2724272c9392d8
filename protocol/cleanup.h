/* Scope-bound cleanup for the C core (gcc/clang cleanup attribute).
 *
 *   _cleanup_close_ int fd = open(...);   closed when it leaves scope
 *   _cleanup_free_ char *p = malloc(...); freed when it leaves scope
 *   return take_fd(&fd);                  hand ownership to the caller
 */
#ifndef EXTRADITE_CLEANUP_H
#define EXTRADITE_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void ex_closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

static inline void ex_freep(void *p)
{
        free(*(void **)p);
}

#define _cleanup_close_ __attribute__((cleanup(ex_closep)))
#define _cleanup_free_ __attribute__((cleanup(ex_freep)))

/* Return *fd and leave -1 behind, so the cleanup does not close it. */
static inline int take_fd(int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

/* Return *p and leave NULL behind. */
#define take_ptr(p)                                                            \
        ({                                                                     \
                __typeof__(*(p)) _t = *(p);                                    \
                *(p) = NULL;                                                   \
                _t;                                                            \
        })

#endif
