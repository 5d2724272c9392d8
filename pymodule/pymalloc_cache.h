/* A cache in front of pymalloc's arena allocator, for the child only.
 *
 * pymalloc returns an arena to the kernel as soon as it is empty and maps
 * a fresh one on the next demand, so a process that builds and drops a
 * large container on every call (the child decoding a 100,000-int list,
 * then dropping it after the reply) takes a page fault per 4 KiB each
 * time: about 500 faults and 1 ms per 100,000 ints here. The cache keeps
 * up to EX_PYMALLOC_CACHE_ARENAS empty arenas mapped and hands them back
 * before asking the previous allocator for more.
 *
 * Lifecycle: ex_pymalloc_cache_install() once, in the child, before it
 * serves; it stays for the life of the process (the child leaves with
 * _exit). Never installed in the parent: the user's process keeps
 * CPython's own policy of returning memory. */
#ifndef EXTRADITE_PYMALLOC_CACHE_H
#define EXTRADITE_PYMALLOC_CACHE_H

#include "compat.h"

/* 16 MiB with CPython's 1 MiB arenas: a few large values' worth. */
#define EX_PYMALLOC_CACHE_ARENAS 16

/* 0, or -ENOMEM (nothing changed then). Installing twice is a no-op. */
int ex_pymalloc_cache_install(void);

#endif
