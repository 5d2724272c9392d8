/* Confinement steps run in the child between fork and exec (DESIGN §2).
 *
 * The supervisor calls ex_preexec_apply() after it has arranged the child's
 * fds and session, immediately before execve(). Everything here must be
 * async-signal-safe: the parent may be multi-threaded, so no malloc, no
 * locks, no stdio. The plan is filled in by the parent before forking.
 *
 * Steps that need a single-threaded process of our own (user namespaces,
 * Landlock, seccomp) run after exec, in the child, before the target is
 * imported; see pymodule/child.c.
 */
#ifndef EXTRADITE_PREEXEC_H
#define EXTRADITE_PREEXEC_H

#include <stdbool.h>
#include <sys/types.h>

struct ex_preexec_plan {
        pid_t parent_pid;   /* the child exits if its parent is already gone */
        bool death_signal;  /* PR_SET_PDEATHSIG(SIGKILL): see ex_preexec_apply */
        bool no_new_privs;  /* PR_SET_NO_NEW_PRIVS */
        bool no_core_dumps; /* RLIMIT_CORE 0 and not dumpable */
};

/* Apply the plan in the forked child. Returns 0 or -errno. */
int ex_preexec_apply(const struct ex_preexec_plan *plan);

#endif
