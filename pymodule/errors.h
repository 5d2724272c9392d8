/* Exception classes and the mapping of error reports to them (DESIGN §6).
 * The classes are created per module object in ex_errors_init. */
#ifndef EXTRADITE_ERRORS_H
#define EXTRADITE_ERRORS_H

#include "state.h"

/* Raise the exception an EX_MSG_ERROR payload describes:
 * (kind, module, qualname, message, traceback, args). Returns NULL. */
PyObject *ex_raise_error_report(ex_state *st, PyObject *report);

/* Raise `cls` with "what: strerror(-err)". Returns NULL. */
PyObject *ex_raise_errno(PyObject *cls, int err, const char *what);

#endif
