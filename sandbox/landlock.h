/* Landlock: the child's file system view (DESIGN §3, §8).
 *
 * Every file system access right the kernel knows is handled; read grants
 * get read + execute, write grants get every right. Where the kernel has
 * them, TCP bind/connect are handled too (allowed only with `network`) and
 * signals and abstract unix sockets are scoped to the sandbox.
 */
#ifndef EXTRADITE_LANDLOCK_H
#define EXTRADITE_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

struct ex_landlock_result {
        int abi;            /* 0: the kernel has no Landlock */
        unsigned rules;     /* paths granted */
        unsigned missing;   /* granted paths that do not exist (skipped) */
        bool net_handled;   /* TCP bind/connect restricted (ABI >= 4) */
        bool scoped;        /* signals/abstract sockets scoped (ABI >= 6) */
};

/* The kernel's Landlock ABI version, 0 when there is none. */
int ex_landlock_abi(void);

/* Restrict this process (and its future threads). -EOPNOTSUPP when the
 * kernel has no Landlock; other -errno on failure. Needs no_new_privs. */
int ex_landlock_apply(const char *const *read, size_t nread,
                      const char *const *write, size_t nwrite, bool network,
                      struct ex_landlock_result *res);

#endif
