/* `python -m extradite learn`, the parent's side (DESIGN §3).
 *
 * A learning child loads a filter whose refusals become seccomp user
 * notifications (seccomp_filter.h: ex_seccomp_build_learn) and sends the
 * listener fd with its boot reply. The parent serves it on a thread:
 * every notification is recorded (number, arguments, the paths it names,
 * read through /proc/PID/mem) and answered with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE, so the call runs as if unfiltered.
 * The Python layer (extradite/_learn.py) turns the records into a profile.
 */
#ifndef EXTRADITE_LEARN_H
#define EXTRADITE_LEARN_H

#include "state.h"

/* learn_serve(listener_fd, stop_fd) -> ([record dict, ...], dropped):
 * serves until no process uses the filter or stop_fd is readable. Each
 * record: {"time_ns" (CLOCK_MONOTONIC), "pid", "nr", "args" (6 ints),
 * "paths" (2 str or None)}. Runs without the GIL. */
PyObject *ex_learn_serve(PyObject *module, PyObject *args);

/* learn_classify(nr, args, pid) -> (name, [group, ...]): the syscall's
 * name and the groups whose rules would allow it with these arguments in
 * a process whose pid is `pid`. */
PyObject *ex_learn_classify(PyObject *module, PyObject *args);

#endif
