/* Exception classes and the mapping of error reports to them (DESIGN §6).
 * The classes are created per module object in ex_errors_init. */
#ifndef EXTRADITE_ERRORS_H
#define EXTRADITE_ERRORS_H

#include "state.h"
#include "convert.h"

/* Raise the exception an EX_MSG_ERROR payload describes:
 * (kind, module, qualname, message, traceback, args). Returns NULL.
 * The text shown (str(exc), its args, the traceback note) is escaped
 * (escape.h); remote_message, remote_traceback and remote_type_name keep
 * it raw. A StopIteration or StopAsyncIteration is raised as a plain
 * ExtraditeRemoteError with the original as __cause__, so that it cannot
 * end the caller's loop; see ex_remote_stop_restore. */
PyObject *ex_raise_error_report(ex_state *st, PyObject *report);

/* After a remote iterator's next() failed: when the error is a remote
 * StopIteration that ex_raise_error_report turned into an error, raise the
 * StopIteration itself again (the iterator is exhausted). Any other error
 * stays as it is. */
void ex_remote_stop_restore(ex_state *st);

/* Encode the raised exception (cleared) as an EX_MSG_ERROR payload into
 * `out`: (kind, module, qualname, message, traceback, args), message and
 * traceback cut to a bound. With `detail` 0 (our error, for a confined
 * child) the report says the type and message only: no traceback, and
 * args other than (message,) only for a built-in exception class. Values
 * go through `encode_other` for what the codec cannot carry. 0, or -1
 * when even a fallback report failed. */
int ex_encode_error(ex_state *st, int detail,
                    int (*encode_other)(void *, PyObject *, struct ex_buf *),
                    void *ctx, struct ex_buf *out);

/* exc.args when they are at most 8 plain scalars (short strings), else
 * (message,) — str(exc) when message is NULL: what an exception may carry
 * to the other side without smuggling handles or huge values. */
PyObject *ex_scalar_args(PyObject *exc, PyObject *message);

/* Raise `cls` with "what: strerror(-err)". Returns NULL. */
PyObject *ex_raise_errno(PyObject *cls, int err, const char *what);

#endif
