/* The parent's side of Python operations on proxies, batches and function
 * targets (proxy_ops.c); proxy.c puts them on its types.
 *
 * Every slot below is one EX_OP_DUNDER round trip: the child applies the
 * real operation (ops_apply.c), so `len(p)`, `p[k]`, `p + 1`, `1 + p`,
 * `p == q`, `hash(p)`, `for x in p`, `with p:` behave as they would on the
 * remote object itself, errors included.
 */
#ifndef EXTRADITE_PROXY_OPS_H
#define EXTRADITE_PROXY_OPS_H

#include "session.h"

PyObject *ex_remote_repr(PyObject *self);
PyObject *ex_remote_str(PyObject *self);
Py_hash_t ex_remote_hash(PyObject *self);
PyObject *ex_remote_richcompare(PyObject *self, PyObject *other, int op);
PyObject *ex_remote_iter(PyObject *self);
PyObject *ex_remote_iternext(PyObject *self);
Py_ssize_t ex_remote_len(PyObject *self);
int ex_remote_contains(PyObject *self, PyObject *item);
PyObject *ex_remote_getitem(PyObject *self, PyObject *key);
int ex_remote_ass_item(PyObject *self, PyObject *key, PyObject *value);
int ex_remote_bool(PyObject *self);
PyObject *ex_remote_neg(PyObject *self);
PyObject *ex_remote_pos(PyObject *self);
PyObject *ex_remote_invert(PyObject *self);
PyObject *ex_remote_abs(PyObject *self);
PyObject *ex_remote_add(PyObject *a, PyObject *b);
PyObject *ex_remote_sub(PyObject *a, PyObject *b);
PyObject *ex_remote_mul(PyObject *a, PyObject *b);
PyObject *ex_remote_truediv(PyObject *a, PyObject *b);
PyObject *ex_remote_floordiv(PyObject *a, PyObject *b);
PyObject *ex_remote_mod(PyObject *a, PyObject *b);
PyObject *ex_remote_divmod(PyObject *a, PyObject *b);
PyObject *ex_remote_matmul(PyObject *a, PyObject *b);
PyObject *ex_remote_lshift(PyObject *a, PyObject *b);
PyObject *ex_remote_rshift(PyObject *a, PyObject *b);
PyObject *ex_remote_and(PyObject *a, PyObject *b);
PyObject *ex_remote_or(PyObject *a, PyObject *b);
PyObject *ex_remote_xor(PyObject *a, PyObject *b);
PyObject *ex_remote_pow(PyObject *a, PyObject *b, PyObject *c);
PyObject *ex_remote_iadd(PyObject *a, PyObject *b);
PyObject *ex_remote_isub(PyObject *a, PyObject *b);
PyObject *ex_remote_imul(PyObject *a, PyObject *b);
PyObject *ex_remote_itruediv(PyObject *a, PyObject *b);
PyObject *ex_remote_ifloordiv(PyObject *a, PyObject *b);
PyObject *ex_remote_imod(PyObject *a, PyObject *b);
PyObject *ex_remote_imatmul(PyObject *a, PyObject *b);
PyObject *ex_remote_ilshift(PyObject *a, PyObject *b);
PyObject *ex_remote_irshift(PyObject *a, PyObject *b);
PyObject *ex_remote_iand(PyObject *a, PyObject *b);
PyObject *ex_remote_ior(PyObject *a, PyObject *b);
PyObject *ex_remote_ixor(PyObject *a, PyObject *b);
PyObject *ex_remote_ipow(PyObject *a, PyObject *b, PyObject *c);
PyObject *ex_remote_enter(PyObject *self, PyObject *unused);
PyObject *ex_remote_exit(PyObject *self, PyObject *const *args,
                         Py_ssize_t nargs);

/* Entries of RemoteObject's PyType_Slot array. */
#define EX_REMOTE_OPS_SLOTS                                                    \
        {Py_tp_repr, ex_remote_repr}, {Py_tp_str, ex_remote_str},              \
        {Py_tp_hash, ex_remote_hash},                                          \
        {Py_tp_richcompare, ex_remote_richcompare},                            \
        {Py_tp_iter, ex_remote_iter}, {Py_tp_iternext, ex_remote_iternext},    \
        {Py_mp_length, ex_remote_len}, {Py_sq_length, ex_remote_len},          \
        {Py_sq_contains, ex_remote_contains},                                  \
        {Py_mp_subscript, ex_remote_getitem},                                  \
        {Py_mp_ass_subscript, ex_remote_ass_item},                             \
        {Py_nb_bool, ex_remote_bool}, {Py_nb_negative, ex_remote_neg},         \
        {Py_nb_positive, ex_remote_pos}, {Py_nb_invert, ex_remote_invert},     \
        {Py_nb_absolute, ex_remote_abs}, {Py_nb_add, ex_remote_add},           \
        {Py_nb_subtract, ex_remote_sub}, {Py_nb_multiply, ex_remote_mul},      \
        {Py_nb_true_divide, ex_remote_truediv},                                \
        {Py_nb_floor_divide, ex_remote_floordiv},                              \
        {Py_nb_remainder, ex_remote_mod}, {Py_nb_divmod, ex_remote_divmod},    \
        {Py_nb_matrix_multiply, ex_remote_matmul},                             \
        {Py_nb_lshift, ex_remote_lshift}, {Py_nb_rshift, ex_remote_rshift},    \
        {Py_nb_and, ex_remote_and}, {Py_nb_or, ex_remote_or},                  \
        {Py_nb_xor, ex_remote_xor}, {Py_nb_power, ex_remote_pow},              \
        {Py_nb_inplace_add, ex_remote_iadd},                                   \
        {Py_nb_inplace_subtract, ex_remote_isub},                              \
        {Py_nb_inplace_multiply, ex_remote_imul},                              \
        {Py_nb_inplace_true_divide, ex_remote_itruediv},                       \
        {Py_nb_inplace_floor_divide, ex_remote_ifloordiv},                     \
        {Py_nb_inplace_remainder, ex_remote_imod},                             \
        {Py_nb_inplace_matrix_multiply, ex_remote_imatmul},                    \
        {Py_nb_inplace_lshift, ex_remote_ilshift},                             \
        {Py_nb_inplace_rshift, ex_remote_irshift},                             \
        {Py_nb_inplace_and, ex_remote_iand},                                   \
        {Py_nb_inplace_or, ex_remote_ior},                                     \
        {Py_nb_inplace_xor, ex_remote_ixor},                                   \
        {Py_nb_inplace_power, ex_remote_ipow}

/* Entries of RemoteObject's PyMethodDef array: the with statement. */
#define EX_REMOTE_OPS_METHODS                                                  \
        {"__enter__", (PyCFunction)ex_remote_enter, METH_NOARGS,               \
         "Run the remote object's __enter__ (one round trip)."},               \
        {"__exit__", (PyCFunction)(void (*)(void))ex_remote_exit,              \
         METH_FASTCALL,                                                        \
         "Run the remote object's __exit__ (one round trip). The exception "   \
         "travels as its nearest built-in class with its message; the "       \
         "traceback stays here (None)."}

/* batch()'s calls checked and copied: a list of (args tuple, kwargs dict)
 * pairs, or NULL with a TypeError/ValueError naming the bad call. */
PyObject *ex_batch_calls(PyObject *calls);

/* method.batch(calls, call_policy=None): one EX_OP_BATCH round trip calling
 * `name` of the object `handle` (the object itself when name is NULL) once
 * per (args, kwargs) item. args/kwargs are batch()'s own arguments. */
PyObject *ex_remote_batch(ex_session *s, uint64_t handle, PyObject *name,
                          PyObject *args, PyObject *kwargs);

/* RemoteFunction: the proxy extradite() returns for a function target. */
int ex_function_init_type(PyObject *module);

#endif
