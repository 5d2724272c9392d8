/* The exposure rule: what a confined child may reach of the parent's
 * objects (DESIGN §1 "Capabilities", docs/security-model.md). Names do not
 * bound a capability (gen.gi_frame.f_builtins["eval"] is all public
 * names), so the rule is about kinds of objects, applied at the places
 * every path goes through:
 *
 *   - ex_exposure_admit(): before any handle to a parent object is minted
 *     (session.c's export_value, for arguments, results, items, errors);
 *   - ex_exposure_vet_request(): before any request of the child's runs on
 *     a parent object (ops_apply.c's ex_apply_request calls it for every
 *     op: calls, attributes, operations, batches).
 *
 * Under `unconfined` neither is called (not a security boundary). Both
 * fail with PermissionError naming the kind of object, or
 * UnsupportedInteractionError for a private or special name; the caller
 * counts the refusal for sandbox_report().
 */
#ifndef EXTRADITE_EXPOSURE_H
#define EXTRADITE_EXPOSURE_H

#include "state.h"

/* Why an object is being handed to the child. */
enum ex_origin {
        /* The parent's own code handed it over: a call's arguments, a
         * value set on a child object, a batch's arguments. */
        EX_ORIGIN_PASSED,
        /* An answer to the child's request: an attribute, a call's or an
         * operation's result, an item, an error's arguments. */
        EX_ORIGIN_REACHED,
};

/* What to mint a handle to, for o (a new reference), or NULL with an
 * exception. Interpreter internals never (modules, frames, code,
 * tracebacks, cells, super, coroutines, async generators, class and
 * function internals). A generator becomes a ParentIterator, which only
 * iterates it: the handle stands for the generator (ex_exposure_unwrap)
 * but the child's requests run on the ParentIterator. What the child
 * reached rather than was given is refused too when it is a builtin
 * function not bound to an object (eval, open, os.system), a built-in
 * class (object, type), or a class or function of the standard library
 * (subprocess.Popen, os.makedirs) — unless `passed_before`: the parent
 * passed that exact object itself. */
PyObject *ex_exposure_admit(ex_state *st, PyObject *o, enum ex_origin origin,
                            int passed_before);

/* The object a handle stands for (borrowed): o, or the generator a
 * ParentIterator iterates. */
PyObject *ex_exposure_unwrap(ex_state *st, PyObject *o);

/* May the child's request `op` run on target? name is the attribute name
 * (GETATTR, SETATTR, DELATTR, CALL_METHOD, BATCH; None for a batch of
 * calls of the target itself), the operation's name (DUNDER), or NULL
 * (CALL). Attributes: public names only, of instances of classes written
 * in Python (and SimpleNamespace, built-in containers) and of such classes
 * (read and call; written only on instances). EX_VET_CALLEE (ops_apply.h):
 * a method found by name is judged as ex_exposure_admit judges what the
 * child reached (passed_before as there). 0, or -1 with an exception. */
int ex_exposure_vet_request(ex_state *st, uint8_t op, PyObject *target,
                            PyObject *name, int passed_before);

/* The child's class metadata as the parent uses it: the method names of a
 * load reply that are public identifiers (a forged reply must not choose
 * names on the parent's proxy class), in a new tuple. NULL with an
 * exception when `methods` is not a tuple. */
PyObject *ex_exposure_method_names(ex_state *st, PyObject *methods);

#endif
