/* pymalloc arena cache; see pymalloc_cache.h. */
#include "pymalloc_cache.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct arena_cache {
        /* The allocator we sit in front of: it made every arena we see. */
        PyObjectArenaAllocator next;
        /* pymalloc calls under its own lock or the GIL; a subinterpreter
         * with its own GIL (3.12+) may call at the same time, so the
         * cache takes this spinlock (held for a few instructions). */
        atomic_flag lock;
        size_t size; /* of the cached arenas: CPython uses one size */
        unsigned n;
        void *arena[EX_PYMALLOC_CACHE_ARENAS];
};

static void cache_lock(struct arena_cache *c)
{
        while (atomic_flag_test_and_set_explicit(&c->lock,
                                                 memory_order_acquire))
                ;
}

static void cache_unlock(struct arena_cache *c)
{
        atomic_flag_clear_explicit(&c->lock, memory_order_release);
}

static void *cache_alloc(void *ctx, size_t size)
{
        struct arena_cache *c = ctx;
        void *p = NULL;

        cache_lock(c);
        if (c->n && c->size == size)
                p = c->arena[--c->n];
        cache_unlock(c);
        return p ? p : c->next.alloc(c->next.ctx, size);
}

static void cache_free(void *ctx, void *p, size_t size)
{
        struct arena_cache *c = ctx;
        bool kept = false;

        cache_lock(c);
        if (c->n == 0)
                c->size = size;
        if (c->size == size && c->n < EX_PYMALLOC_CACHE_ARENAS) {
                c->arena[c->n++] = p;
                kept = true;
        }
        cache_unlock(c);
        if (!kept)
                c->next.free(c->next.ctx, p, size);
}

int ex_pymalloc_cache_install(void)
{
        PyObjectArenaAllocator cur, mine;
        struct arena_cache *c;

        PyObject_GetArenaAllocator(&cur);
        if (cur.alloc == cache_alloc)
                return 0;
        /* Lives as long as the process: arenas cached here outlive any
         * module state, and the child ends with _exit. */
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->next = cur;
        atomic_flag_clear(&c->lock);
        mine = (PyObjectArenaAllocator){
                .ctx = c, .alloc = cache_alloc, .free = cache_free};
        PyObject_SetArenaAllocator(&mine);
        return 0;
}
