/* Sandbox profiles as the C core sees them (DESIGN §3).
 *
 * The Python layer (extradite/_sandbox.py) reads a profile file, merges
 * `extends`, checks its keys and expands the path placeholders; what it
 * hands over is a plain dict:
 *
 *   {"name": str,
 *    "seccomp": {"enabled": bool, "groups": [str], "allow": [str],
 *                "files_after_load": bool},
 *    "landlock": {"enabled": bool, "required": bool,
 *                 "read": [str], "write": [str]},
 *    "namespaces": {"enabled": [str], "required": bool},
 *    "capabilities": {"drop": bool},
 *    "limits": {"address_space": int, "open_files": int,
 *               "cpu_seconds": int, "file_size": int, "processes": int,
 *               "max_reply_memory": int, "max_reply_hash_collisions": int},
 *    "transport": {"child_pickle": bool}}
 *
 * Here the names are checked (groups, syscalls, namespaces), the sizes are
 * bounded, and the dict becomes a struct ex_policy. The parent does this
 * once to reject a bad profile before any process starts; the child does it
 * again on the dict it receives with its bootstrap.
 */
#ifndef EXTRADITE_POLICY_H
#define EXTRADITE_POLICY_H

#include <sys/types.h>

#include "sandbox.h"
#include "state.h"

/* Fill *p from the dict; paths point into `d`'s strings, so `d` must
 * outlive *p. 0, or -1 with ValueError/TypeError naming the key. */
int ex_policy_from_dict(PyObject *d, struct ex_policy *p);

/* The parent's decode budget for what the child sends (protocol/budget.h)
 * from the profile dict's limits.max_reply_memory and
 * limits.max_reply_hash_collisions (0: no cap); a dict without them, or
 * none, gives the defaults. 0, or -1 with ValueError naming the key. */
int ex_policy_reply_budget(PyObject *d, uint64_t *memory,
                           uint64_t *collisions);

/* The dict sandbox_report() shows for what the child applied. */
PyObject *ex_report_to_dict(const struct ex_sandbox_report *r,
                            PyObject *profile_name);

/* _core.seccomp_template(dict): the profile's main filter compiled once
 * for any child (ex_seccomp_template_build) as (program bytes, (slot,
 * ...)), or None when it has no filter or learns (that child builds its
 * own, for the listener). The Python layer keeps one per profile. */
PyObject *ex_seccomp_template(PyObject *module, PyObject *d);

/* The bootstrap options for the child `pid`: when `options` holds a
 * "seccomp_template", a copy with "seccomp_bpf" instead, the template
 * filled in for that pid (kill and tgkill are allowed towards it only);
 * else `options` itself, and the child compiles its filter. New
 * reference, or NULL with an exception. */
PyObject *ex_policy_options_for_child(PyObject *options, pid_t pid);

/* The child's side: the prebuilt filter in the options, into *p (pointing
 * into `options`, which must outlive *p). 0, or -1 with an exception. */
int ex_policy_take_filter(PyObject *options, struct ex_policy *p);

/* _core.check_policy(dict): validate and compile without applying. */
PyObject *ex_check_policy(PyObject *module, PyObject *d);

/* The names of the seccomp groups in the bit set, in bit order (a new
 * list), or NULL with an exception. */
PyObject *ex_group_list(uint32_t groups);

#endif
