/* Joining the per-child cgroup the parent made (pymodule/extradite/
 * _cgroup.py), and saying which limits nothing holds. */
#ifndef EXTRADITE_CGROUP_H
#define EXTRADITE_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#include "sandbox.h"

/* Write "0" (this process) to each cgroup.procs file. 0 or -errno. */
int ex_cgroup_join(const char *const *procs, size_t n);

/* What of the process and memory limits neither a cgroup nor an rlimit
 * holds, and why, into buf ("" when everything wanted is held). */
void ex_limits_missing(const struct ex_policy *p,
                       const struct ex_sandbox_report *rep, uid_t uid,
                       char *buf, size_t len);

#endif
