/* Applying EX_OP_DUNDER and EX_OP_BATCH requests to a real object, on the
 * side that owns it (the child's dispatch(); any other server of requests
 * may use them too). Neither does I/O.
 */
#ifndef EXTRADITE_OPS_APPLY_H
#define EXTRADITE_OPS_APPLY_H

#include "state.h"

/* EX_OP_DUNDER: apply the operation named `op` (a str from the allowlist)
 * to obj and the operands in `args` (a tuple), with Python's semantics:
 * "add" is obj + args[0] (fallbacks and reflected methods included),
 * "radd" is args[0] + obj, "len" is len(obj), "instancecheck" is
 * isinstance(args[0], obj), "subclasscheck" issubclass(args[0], obj),
 * "next" raises StopIteration
 * when the iterator is exhausted, and so on. Returns a new reference, or
 * NULL with the operation's exception, or ProtocolError for a name outside
 * the allowlist or a wrong number of operands. *as_handle is set when the
 * result must travel as a handle (iter). */
PyObject *ex_apply_dunder(ex_state *st, PyObject *obj, PyObject *op,
                          PyObject *args, int *as_handle);

/* Judges a request before it runs: (ctx, op, target, name) with name the
 * attribute's (the operation's for DUNDER; for BATCH the method's or
 * None; NULL for CALL). Called again with op EX_VET_CALLEE and the
 * callable a CALL_METHOD or BATCH found by name, before it is called. 0,
 * or -1 with an exception to refuse it. */
#define EX_VET_CALLEE 0xff
typedef int (*ex_vet_request)(void *ctx, uint8_t op, PyObject *target,
                              PyObject *name);

/* EX_OP_BATCH: for each (args tuple, kwargs dict) in `calls` (a list),
 * call obj.name(*args, **kwargs) (obj itself when name is None), in order.
 * Returns the list of results, or NULL with the first exception (the
 * calls after it are not made; a note says which call raised), or
 * ProtocolError for a malformed request. vet (may be NULL) judges each
 * method found by name (EX_VET_CALLEE). */
PyObject *ex_apply_batch(ex_state *st, PyObject *obj, PyObject *name,
                         PyObject *calls, ex_vet_request vet, void *ctx);


/* The requests both sides serve on objects they own: EX_OP_CALL,
 * CALL_METHOD, GETATTR, SETATTR, DELATTR, DUNDER and BATCH, each with its
 * request tuple. `vet` (may be NULL) sees every request once parsed, before
 * anything runs; with a vet (a hostile requester) sequence repetition
 * (lst * n) is also bounded in the items it builds. The result, or NULL with the operation's exception, or
 * ProtocolError for a malformed request or another op. *as_handle as for
 * ex_apply_dunder. */
PyObject *ex_apply_request(ex_state *st, uint8_t op, PyObject *req,
                           ex_vet_request vet, void *ctx, int *as_handle);

#endif
