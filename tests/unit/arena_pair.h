/* Both ends of a session's shared memory in one process, for the unit
 * tests of the arenas and the rings: the parent's pair created, the
 * child's mapped from the same fds, and a socketpair for the channel. */
#ifndef EXTRADITE_TEST_ARENA_PAIR_H
#define EXTRADITE_TEST_ARENA_PAIR_H

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"

struct arena_pair {
        struct ex_arena down, up;   /* the parent's */
        struct ex_arena cdown, cup; /* the child's */
        int sv[2];                  /* parent end, child end; -1 once closed */
};

static inline void arena_pair_open(struct arena_pair *p)
{
        int dfd, ufd;

        memset(p, 0, sizeof(*p));
        assert_int_equal(ex_arena_pair_create(&p->down, &p->up, &dfd, &ufd),
                         0);
        assert_int_equal(ex_arena_pair_map(&p->cdown, &p->cup, dfd, ufd), 0);
        close(dfd);
        close(ufd);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    p->sv),
                         0);
}

static inline void arena_pair_close(struct arena_pair *p)
{
        ex_arena_unmap(&p->down);
        ex_arena_unmap(&p->up);
        ex_arena_unmap(&p->cdown);
        ex_arena_unmap(&p->cup);
        for (int i = 0; i < 2; i++)
                if (p->sv[i] >= 0)
                        close(p->sv[i]);
}

#endif
