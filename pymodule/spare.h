/* A spare child: the next session's interpreter, started ahead.
 *
 * Most of a cold start is the child's interpreter starting (about 6.5 ms
 * of 13-16 here), and it does not depend on the session: every child is
 * the same fresh exec'd `python -I -S -B` with the same argv, environment
 * and pre-exec plan until its bootstrap message arrives, which says
 * everything else (sys.path, the sandbox). So once an interpreter has
 * started a second child, it starts one more ahead of need and the next
 * session adopts it, already booted and blocked reading its channel. A
 * spare is never a fork of the user's process and runs nothing before
 * its bootstrap, as any child.
 *
 * One spare per interpreter (module state). It is dropped (SIGKILL,
 * reaped) at interpreter exit and by _core.drop_spare(); a process forked
 * from ours forgets the spare without touching it (it is not its child).
 * EXTRADITE_SPARE=0 turns it off.
 */
#ifndef EXTRADITE_SPARE_H
#define EXTRADITE_SPARE_H

#include <sys/types.h>

#include "spawn.h"

struct ex_spare {
        pid_t owner; /* the process that started it */
        int sock;    /* our end of its channel; -1: there is no spare */
        struct ex_child child;
        char *key;   /* what it was started with (spare_key), owned */
        unsigned started; /* children this interpreter started */
};

void ex_spare_init(struct ex_spare *sp);
/* Whether spares are wanted (EXTRADITE_SPARE is not "0"). */
int ex_spare_wanted(void);
/* Adopt the spare when it was started with `key` and is still running:
 * 1 with *child and *sock (then ours), else 0 (a dead or different spare
 * is dropped). */
int ex_spare_take(struct ex_spare *sp, const char *key,
                  struct ex_child *child, int *sock);
/* Keep a freshly started child as the spare (key, child and sock are
 * taken over). */
void ex_spare_keep(struct ex_spare *sp, char *key,
                   const struct ex_child *child, int sock);
/* Stop and reap the spare, or, in a forked process, just let go of its
 * fds. */
void ex_spare_drop(struct ex_spare *sp);

#endif
