/* The parent's side of Python operations on proxies (EX_OP_DUNDER), of
 * batches (EX_OP_BATCH) and of function targets (RemoteFunction); see
 * proxy_ops.h. The child applies each operation (ops_apply.c). */
#include "proxy_ops.h"

#include "child.h"
#include "errors.h"
#include "escape.h"

#include <errno.h>
#include <string.h>

#include "structmember.h"

/* Containers around an operand: (obj, op, (operand, ...)). */
#define OPERAND_DEPTH (ex_limits_default().max_depth - 2)

static PyObject *buf_failed(int r)
{
        if (r == -ENOMEM)
                return PyErr_NoMemory();
        PyErr_SetString(PyExc_ValueError,
                        "extradite: value too large for one message");
        return NULL;
}

static int usable(ex_remote *p)
{
        if (!p->released)
                return 0;
        PyErr_SetString(p->session->st->ProtocolError,
                        "extradite: handle was released");
        return -1;
}

static ex_state *state_of(PyObject *o)
{
        PyObject *m = PyType_GetModuleByDef(Py_TYPE(o), &ex_module_def);

        if (!m) {
                PyErr_Clear();
                return NULL;
        }
        return ex_state_of_module(m);
}

/* A ParentRef: the child's handle to a parent object (parent_ref.c). */
static int is_parent_ref(ex_state *st, PyObject *o)
{
        return st && st->ParentRefType && Py_IS_TYPE(o, st->ParentRefType);
}

/* o if it is one of our proxies (of any session, or a ParentRef in a
 * child), else NULL; no error. A binary slot runs for either operand, so
 * both must be checked. */
static PyObject *as_proxy(PyObject *o)
{
        ex_state *st = state_of(o);

        if (!st)
                return NULL;
        return PyObject_TypeCheck(o, st->RemoteObjectType) ||
                               is_parent_ref(st, o)
                       ? o
                       : NULL;
}

/* A proxy of another session never meets this session's objects. */
static int foreign(ex_session *s, PyObject *o)
{
        if (!PyObject_TypeCheck(o, s->st->RemoteObjectType) ||
            ((ex_remote *)o)->session == s)
                return 0;
        PyErr_SetString(s->st->UnsupportedInteractionError,
                        "extradite: a proxy of one session cannot be combined "
                        "with a proxy of another session");
        return 1;
}

/* One EX_OP_DUNDER round trip: (obj, op, (argv...)). */
static PyObject *dunder(PyObject *self_o, const char *op,
                        PyObject *const *argv, Py_ssize_t n)
{
        ex_remote *self = (ex_remote *)self_o;
        ex_session *s;
        struct ex_codec_hooks hooks;
        struct ex_buf b = {.max = EX_FRAME_MAX_DEFAULT};
        PyObject *res = NULL;
        int r;

        if (is_parent_ref(state_of(self_o), self_o))
                return ex_parent_ref_dunder(self_o, op, argv, n);
        s = self->session;
        if (usable(self) < 0)
                return NULL;
        for (Py_ssize_t i = 0; i < n; i++)
                if (foreign(s, argv[i]))
                        return NULL;
        r = ex_put_container(&b, EX_TAG_TUPLE, 3);
        if (r == 0)
                r = ex_put_handle(&b, EX_TAG_BACKREF, self->handle);
        if (r == 0)
                r = ex_put_str(&b, op, strlen(op));
        if (r == 0)
                r = ex_put_container(&b, EX_TAG_TUPLE, (uint32_t)n);
        if (r < 0) {
                buf_failed(r);
                goto out;
        }
        ex_session_encode_hooks(s, &hooks);
        for (Py_ssize_t i = 0; i < n; i++)
                if (ex_encode(s->st, &hooks, argv[i], &b, OPERAND_DEPTH) < 0)
                        goto out;
        res = ex_session_call(s, EX_OP_DUNDER, &b, s->st->RemoteObjectType);
out:
        ex_buf_free(&b);
        return res;
}

static PyObject *dunder0(PyObject *self, const char *op)
{
        return dunder(self, op, NULL, 0);
}

static PyObject *dunder1(PyObject *self, const char *op, PyObject *a)
{
        return dunder(self, op, &a, 1);
}

/* A reply the child had no business sending (a hostile child). */
static PyObject *bad_reply(PyObject *self, const char *op, PyObject *r)
{
        ex_state *st = state_of(self);

        PyErr_Format(st ? st->ProtocolError : PyExc_RuntimeError,
                     "extradite: the child answered %s with a '%.200s'", op,
                     Py_TYPE(r)->tp_name);
        Py_DECREF(r);
        return NULL;
}

/* ---- repr, str, hash, bool, len, contains ----------------------------- */

/* repr and str never fail because the proxy cannot be used any more. */
static PyObject *placeholder(ex_remote *self)
{
        const char *why = self->released ? "released"
                          : self->session->state == EX_SESSION_CLOSED
                                  ? "session closed"
                                  : "session dead";
        PyObject *name = PyType_GetName(Py_TYPE(self)), *res;

        if (!name)
                return NULL;
        res = PyUnicode_FromFormat("<extradite proxy of %U (%s)>", name, why);
        Py_DECREF(name);
        return res;
}

static PyObject *text(PyObject *self_o, const char *op)
{
        ex_remote *self = (ex_remote *)self_o;
        PyObject *r;

        if (is_parent_ref(state_of(self_o), self_o)) {
                if (ex_parent_ref_released(self_o))
                        return PyUnicode_FromString(
                                "<extradite handle to a parent object "
                                "(released)>");
        } else if (self->released ||
                   self->session->state != EX_SESSION_OPEN) {
                return placeholder(self);
        }
        r = dunder0(self_o, op);
        if (r && !PyUnicode_CheckExact(r))
                return bad_reply(self_o, op, r);
        return r;
}

/* A repr is for showing (the REPL, tracebacks, logs): escaped, so the
 * other side's text cannot drive the terminal (escape.h). str() is the
 * object's text as data, as a method's str result is: kept. */
PyObject *ex_remote_repr(PyObject *self)
{
        PyObject *r = text(self, "repr");

        if (r)
                Py_SETREF(r, ex_escape_text(r, EX_TEXT_LINES));
        return r;
}

PyObject *ex_remote_str(PyObject *self)
{
        return text(self, "str");
}

Py_hash_t ex_remote_hash(PyObject *self)
{
        PyObject *r = dunder0(self, "hash");
        Py_hash_t h;

        if (!r)
                return -1;
        if (!PyLong_CheckExact(r)) {
                bad_reply(self, "hash", r);
                return -1;
        }
        h = PyLong_AsSsize_t(r);
        if (h == -1 && PyErr_Occurred()) {
                /* Too big for a hash: reduce it as Python reduces ints. */
                PyErr_Clear();
                h = PyObject_Hash(r);
        }
        Py_DECREF(r);
        return h == -1 ? -2 : h;
}

/* A bool reply: 1, 0, or -1 with an error. */
static int truth(PyObject *self, const char *op, PyObject *r)
{
        if (!r)
                return -1;
        if (r == Py_True || r == Py_False) {
                int v = r == Py_True;
                Py_DECREF(r);
                return v;
        }
        bad_reply(self, op, r);
        return -1;
}

int ex_remote_bool(PyObject *self)
{
        return truth(self, "bool", dunder0(self, "bool"));
}

int ex_remote_contains(PyObject *self, PyObject *item)
{
        return truth(self, "contains", dunder1(self, "contains", item));
}

Py_ssize_t ex_remote_len(PyObject *self)
{
        PyObject *r = dunder0(self, "len");
        Py_ssize_t n;

        if (!r)
                return -1;
        n = PyLong_CheckExact(r) ? PyLong_AsSsize_t(r) : -1;
        if (n < 0) {
                PyErr_Clear();
                bad_reply(self, "len", r);
                return -1;
        }
        Py_DECREF(r);
        return n;
}

/* ---- comparisons, iteration, items ------------------------------------ */

PyObject *ex_remote_richcompare(PyObject *self, PyObject *other, int op)
{
        static const char *const names[] = {"lt", "le", "eq",
                                             "ne", "gt", "ge"};

        if (op < Py_LT || op > Py_GE)
                Py_RETURN_NOTIMPLEMENTED;
        /* The child runs the whole comparison, reflected methods and the
         * identity fallback of == and != included, so the answer is never
         * NotImplemented. */
        return dunder1(self, names[op], other);
}

PyObject *ex_remote_iter(PyObject *self)
{
        return dunder0(self, "iter");
}

/* StopIteration (a remote one, deriving from it) ends a for loop: the one
 * call whose remote StopIteration is not turned into an error (errors.h). */
PyObject *ex_remote_iternext(PyObject *self)
{
        ex_state *st = state_of(self);
        PyObject *r = dunder0(self, "next");

        if (!r && st)
                ex_remote_stop_restore(st);
        return r;
}

PyObject *ex_remote_getitem(PyObject *self, PyObject *key)
{
        return dunder1(self, "getitem", key);
}

int ex_remote_ass_item(PyObject *self, PyObject *key, PyObject *value)
{
        PyObject *argv[2] = {key, value};
        PyObject *r = value ? dunder(self, "setitem", argv, 2)
                            : dunder1(self, "delitem", key);

        if (!r)
                return -1;
        Py_DECREF(r);
        return 0;
}

/* ---- numbers ---------------------------------------------------------- */

#define UNARY(fname, op)                                                       \
        PyObject *fname(PyObject *self)                                        \
        {                                                                      \
                return dunder0(self, op);                                      \
        }
UNARY(ex_remote_neg, "neg")
UNARY(ex_remote_pos, "pos")
UNARY(ex_remote_invert, "invert")
UNARY(ex_remote_abs, "abs")
#undef UNARY

/* a <op> b with the proxy on either side (or both): the child computes
 * the same expression, so it tries a's method, then b's reflected one. */
static PyObject *binary(PyObject *a, PyObject *b, const char *op,
                        const char *rop)
{
        PyObject *p;

        if ((p = as_proxy(a)))
                return dunder(p, op, &b, 1);
        if ((p = as_proxy(b)))
                return dunder(p, rop, &a, 1);
        Py_RETURN_NOTIMPLEMENTED;
}

/* a <op>= b: Python only calls this when a is the proxy. The result is
 * what the remote operator returned: the same proxy for an object that
 * changed in place, a new proxy or a value otherwise. */
static PyObject *inplace(PyObject *a, PyObject *b, const char *op)
{
        PyObject *p = as_proxy(a);

        if (!p)
                Py_RETURN_NOTIMPLEMENTED;
        return dunder(p, op, &b, 1);
}

#define ARITH(name, op)                                                        \
        PyObject *ex_remote_##name(PyObject *a, PyObject *b)                   \
        {                                                                      \
                return binary(a, b, op, "r" op);                               \
        }                                                                      \
        PyObject *ex_remote_i##name(PyObject *a, PyObject *b)                  \
        {                                                                      \
                return inplace(a, b, "i" op);                                  \
        }
ARITH(add, "add")
ARITH(sub, "sub")
ARITH(mul, "mul")
ARITH(truediv, "truediv")
ARITH(floordiv, "floordiv")
ARITH(mod, "mod")
ARITH(matmul, "matmul")
ARITH(lshift, "lshift")
ARITH(rshift, "rshift")
ARITH(and, "and")
ARITH(or, "or")
ARITH(xor, "xor")
#undef ARITH

PyObject *ex_remote_divmod(PyObject *a, PyObject *b)
{
        return binary(a, b, "divmod", "rdivmod");
}

/* pow(a, b[, c]). Like a class written in Python, a proxy that is only
 * the modulus does not take part (TypeError). */
PyObject *ex_remote_pow(PyObject *a, PyObject *b, PyObject *c)
{
        PyObject *argv[2] = {NULL, c};
        Py_ssize_t n = c == Py_None ? 1 : 2;
        PyObject *p;

        if ((p = as_proxy(a))) {
                argv[0] = b;
                return dunder(p, "pow", argv, n);
        }
        if ((p = as_proxy(b))) {
                argv[0] = a;
                return dunder(p, "rpow", argv, n);
        }
        Py_RETURN_NOTIMPLEMENTED;
}

PyObject *ex_remote_ipow(PyObject *a, PyObject *b, PyObject *c)
{
        PyObject *argv[2] = {b, c};
        PyObject *p = as_proxy(a);

        if (!p)
                Py_RETURN_NOTIMPLEMENTED;
        return dunder(p, "ipow", argv, c == Py_None ? 1 : 2);
}

/* ---- the with statement ----------------------------------------------- */

PyObject *ex_remote_enter(PyObject *self, PyObject *Py_UNUSED(unused))
{
        return dunder0(self, "enter");
}

/* Is tp a built-in (static, no module in its name) exception class? */
static int builtin_exception(PyTypeObject *tp)
{
        return !PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE) &&
               PyType_IsSubtype(tp, (PyTypeObject *)PyExc_BaseException) &&
               !strchr(tp->tp_name, '.');
}

/* Encode nothing but plain values (the exception's name and args). */
static int refuse_other(void *ctx, PyObject *o, struct ex_buf *b)
{
        (void)ctx;
        (void)b;
        PyErr_Format(PyExc_SystemError,
                     "extradite: unexpected '%.200s' in __exit__ arguments",
                     Py_TYPE(o)->tp_name);
        return -1;
}

/* What __exit__ sends for an exception of class `cls` (exc: the instance
 * or NULL): the name of the nearest built-in class in cls's MRO that can
 * be built from exc's scalar args, and those args. The child rebuilds it
 * from its own builtins: never a class of ours, nor one of the caller's
 * (the child would have to import its module), always the same whatever
 * the transport policy. Two new references (str, tuple), or -1. */
static int portable_exception(PyObject *cls, PyObject *exc, PyObject **name,
                              PyObject **args)
{
        PyObject *mro = ((PyTypeObject *)cls)->tp_mro;

        *args = exc ? ex_scalar_args(exc, NULL) : PyTuple_New(0);
        if (!*args)
                return -1;
        for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
                PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
                PyObject *made;
                if (!builtin_exception(base))
                        continue;
                made = PyObject_Call((PyObject *)base, *args, NULL);
                if (!made) {
                        /* e.g. UnicodeDecodeError wants five arguments */
                        PyErr_Clear();
                        continue;
                }
                Py_DECREF(made);
                *name = PyUnicode_FromString(base->tp_name);
                return *name ? 0 : -1;
        }
        Py_SETREF(*args, PyTuple_New(0));
        *name = PyUnicode_FromString("Exception");
        return *args && *name ? 0 : -1;
}

PyObject *ex_remote_exit(PyObject *self_o, PyObject *const *args,
                         Py_ssize_t nargs)
{
        ex_remote *self = (ex_remote *)self_o;
        ex_session *s = self->session;
        struct ex_codec_hooks plain = {.ctx = s, .encode_other = refuse_other};
        struct ex_buf b = {.max = EX_FRAME_MAX_DEFAULT};
        PyObject *name = NULL, *exc_args = NULL, *res = NULL, *cls;
        int r;

        if (nargs != 3) {
                PyErr_Format(PyExc_TypeError,
                             "__exit__ expected 3 arguments, got %zd", nargs);
                return NULL;
        }
        if (usable(self) < 0)
                return NULL;
        cls = PyExceptionInstance_Check(args[1])
                      ? (PyObject *)Py_TYPE(args[1])
                      : args[0];
        if (PyExceptionClass_Check(cls)) {
                if (portable_exception(cls,
                                       PyExceptionInstance_Check(args[1])
                                               ? args[1]
                                               : NULL,
                                       &name, &exc_args) < 0)
                        goto out;
        } else if (args[0] != Py_None || args[1] != Py_None) {
                PyErr_SetString(PyExc_TypeError,
                                "__exit__ expects (exception class, exception, "
                                "traceback) or three Nones");
                return NULL;
        }
        /* (obj, "exit", (name or None, args or None)) */
        r = ex_put_container(&b, EX_TAG_TUPLE, 3);
        if (r == 0)
                r = ex_put_handle(&b, EX_TAG_BACKREF, self->handle);
        if (r == 0)
                r = ex_put_str(&b, "exit", 4);
        if (r == 0)
                r = ex_put_container(&b, EX_TAG_TUPLE, 2);
        if (r < 0) {
                buf_failed(r);
                goto out;
        }
        if (ex_encode(s->st, &plain, name ? name : Py_None, &b, 1) < 0 ||
            ex_encode(s->st, &plain, exc_args ? exc_args : Py_None, &b, 1) < 0)
                goto out;
        res = ex_session_call(s, EX_OP_DUNDER, &b, s->st->RemoteObjectType);
out:
        ex_buf_free(&b);
        Py_XDECREF(name);
        Py_XDECREF(exc_args);
        return res;
}

/* ---- batch ------------------------------------------------------------ */

static int batch_error(Py_ssize_t i, const char *what, PyObject *o)
{
        PyErr_Format(PyExc_TypeError, "batch() call %zd: %s, not '%.200s'",
                     i + 1, what, Py_TYPE(o)->tp_name);
        return -1;
}

static int textlike(PyObject *o)
{
        return PyUnicode_Check(o) || PyBytes_Check(o) || PyByteArray_Check(o);
}

/* One (args, kwargs) item as a new (tuple, dict) pair, or NULL. */
static PyObject *batch_item(Py_ssize_t i, PyObject *item)
{
        PyObject *args, *kwargs, *a = NULL, *k = NULL, *key, *value;
        Py_ssize_t pos = 0;

        if (!PyTuple_Check(item) && !PyList_Check(item)) {
                batch_error(i, "expected an (args, kwargs) pair", item);
                return NULL;
        }
        if (PySequence_Fast_GET_SIZE(item) != 2) {
                PyErr_Format(PyExc_TypeError,
                             "batch() call %zd: expected an (args, kwargs) "
                             "pair, got %zd items",
                             i + 1, PySequence_Fast_GET_SIZE(item));
                return NULL;
        }
        /* Held: checking kwargs may run code that changes a list item. */
        args = Py_NewRef(PySequence_Fast_GET_ITEM(item, 0));
        kwargs = Py_NewRef(PySequence_Fast_GET_ITEM(item, 1));
        if (!PySequence_Check(args) || textlike(args) || PyDict_Check(args)) {
                batch_error(i, "args must be a sequence (a list or tuple)",
                            args);
                goto fail;
        }
        if (!PyDict_Check(kwargs) &&
            !(PyMapping_Check(kwargs) && !PySequence_Check(kwargs) &&
              PyObject_HasAttrString(kwargs, "keys"))) {
                batch_error(i, "kwargs must be a mapping (a dict)", kwargs);
                goto fail;
        }
        a = PySequence_Tuple(args);
        k = a ? PyDict_New() : NULL;
        if (!k || PyDict_Merge(k, kwargs, 1) < 0)
                goto fail;
        while (PyDict_Next(k, &pos, &key, &value)) {
                if (!PyUnicode_Check(key)) {
                        PyErr_Format(PyExc_TypeError,
                                     "batch() call %zd: keywords must be "
                                     "strings",
                                     i + 1);
                        goto fail;
                }
        }
        item = PyTuple_Pack(2, a, k);
        Py_DECREF(a);
        Py_DECREF(k);
        Py_DECREF(args);
        Py_DECREF(kwargs);
        return item;
fail:
        Py_XDECREF(a);
        Py_XDECREF(k);
        Py_DECREF(args);
        Py_DECREF(kwargs);
        return NULL;
}

/* calls -> a list of (tuple, dict) pairs, checked; NULL with an error. */
PyObject *ex_batch_calls(PyObject *calls)
{
        PyObject *it, *item, *list;
        Py_ssize_t i = 0;

        if (textlike(calls) || PyDict_Check(calls)) {
                PyErr_Format(PyExc_TypeError,
                             "batch() takes a list of (args, kwargs) pairs, "
                             "not '%.200s'",
                             Py_TYPE(calls)->tp_name);
                return NULL;
        }
        it = PyObject_GetIter(calls);
        if (!it) {
                if (PyErr_ExceptionMatches(PyExc_TypeError)) {
                        PyErr_Clear();
                        PyErr_Format(PyExc_TypeError,
                                     "batch() takes a list of (args, kwargs) "
                                     "pairs, not '%.200s'",
                                     Py_TYPE(calls)->tp_name);
                }
                return NULL;
        }
        list = PyList_New(0);
        while (list && (item = PyIter_Next(it))) {
                PyObject *pair = NULL;
                if (i >= (Py_ssize_t)EX_BATCH_MAX_CALLS)
                        PyErr_Format(PyExc_ValueError,
                                     "batch() takes at most %u calls",
                                     EX_BATCH_MAX_CALLS);
                else
                        pair = batch_item(i, item);
                Py_DECREF(item);
                if (!pair || PyList_Append(list, pair) < 0)
                        Py_CLEAR(list);
                Py_XDECREF(pair);
                i++;
        }
        Py_DECREF(it);
        if (list && PyErr_Occurred())
                Py_CLEAR(list);
        return list;
}

/* call_policy overrides the transport policy for every call of the
 * batch; checked before anything is sent, even for an empty batch. */
static int check_call_policy(PyObject *policy)
{
        return policy == Py_None || ex_policy_parse(policy, "call_policy") >= 0
                       ? 0
                       : -1;
}

PyObject *ex_remote_batch(ex_session *s, uint64_t handle, PyObject *name,
                          PyObject *args, PyObject *kwargs)
{
        static char *kwlist[] = {"calls", "call_policy", NULL};
        PyObject *calls, *policy = Py_None, *list, *res = NULL;
        struct ex_buf b = {.max = EX_FRAME_MAX_DEFAULT};
        Py_ssize_t n;
        int r;

        if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:batch", kwlist,
                                         &calls, &policy) ||
            check_call_policy(policy) < 0)
                return NULL;
        list = ex_batch_calls(calls);
        if (!list)
                return NULL;
        n = PyList_GET_SIZE(list);
        if (n == 0) {
                /* Nothing to run: no round trip, but a dead session still
                 * says so. */
                Py_DECREF(list);
                return ex_session_check_open(s) < 0 ? NULL : PyList_New(0);
        }
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *pair = PyList_GET_ITEM(list, i);
                PyObject *a = PyTuple_GET_ITEM(pair, 0);
                PyObject *k = PyTuple_GET_ITEM(pair, 1);
                Py_ssize_t pos = 0;
                PyObject *key, *value;
                for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(a); j++)
                        if (foreign(s, PyTuple_GET_ITEM(a, j)))
                                goto out;
                while (PyDict_Next(k, &pos, &key, &value))
                        if (foreign(s, value))
                                goto out;
        }
        r = ex_put_container(&b, EX_TAG_TUPLE, 3);
        if (r == 0)
                r = ex_put_handle(&b, EX_TAG_BACKREF, handle);
        if (r == 0) {
                if (name) {
                        Py_ssize_t len;
                        const char *utf8 = PyUnicode_AsUTF8AndSize(name, &len);
                        if (!utf8)
                                goto out;
                        r = ex_put_str(&b, utf8, (size_t)len);
                } else {
                        r = ex_put_none(&b);
                }
        }
        if (r == 0)
                r = ex_put_container(&b, EX_TAG_LIST, (uint32_t)n);
        if (r < 0) {
                buf_failed(r);
                goto out;
        }
        /* Each (args, kwargs) as an ordinary call's: the session's
         * transport policy applies alike. */
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *pair = PyList_GET_ITEM(list, i);
                r = ex_put_container(&b, EX_TAG_TUPLE, 2);
                if (r < 0) {
                        buf_failed(r);
                        goto out;
                }
                if (ex_session_encode_args_tuple(s, PyTuple_GET_ITEM(pair, 0),
                                                 PyTuple_GET_ITEM(pair, 1),
                                                 policy, &b) < 0)
                        goto out;
        }
        res = ex_session_call(s, EX_OP_BATCH, &b, s->st->RemoteObjectType);
        if (res && (!PyList_CheckExact(res) || PyList_GET_SIZE(res) != n)) {
                PyErr_Format(s->st->ProtocolError,
                             "extradite: the child answered a batch of %zd "
                             "calls with a '%.200s'",
                             n, Py_TYPE(res)->tp_name);
                Py_CLEAR(res);
        }
out:
        ex_buf_free(&b);
        Py_DECREF(list);
        return res;
}

/* ---- RemoteFunction --------------------------------------------------- */

typedef struct {
        PyObject_HEAD
        vectorcallfunc vectorcall;
        ex_session *session; /* strong */
        uint64_t handle;     /* the loaded target (pinned in the child) */
        PyObject *stop;      /* strong: gives the session back; NULL once
                                closed */
        PyObject *dict;      /* __name__, __qualname__, __doc__, ... */
        PyObject *weakrefs;
} ex_function;

static int function_usable(ex_function *f)
{
        if (f->stop)
                return ex_session_check_open(f->session);
        PyErr_SetString(f->session->st->ProtocolError,
                        "extradite: the function proxy is closed");
        return -1;
}

static PyObject *function_vectorcall(ex_function *f, PyObject *const *args,
                                     size_t nargsf, PyObject *kwnames)
{
        ex_session *s = f->session;
        struct ex_buf b = {.max = EX_FRAME_MAX_DEFAULT};
        Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
        Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
        PyObject *res = NULL;
        int r;

        if (function_usable(f) < 0)
                return NULL;
        for (Py_ssize_t i = 0; i < nargs + nkw; i++)
                if (foreign(s, args[i]))
                        return NULL;
        r = ex_put_container(&b, EX_TAG_TUPLE, 3);
        if (r == 0)
                r = ex_put_handle(&b, EX_TAG_BACKREF, f->handle);
        if (r < 0) {
                buf_failed(r);
                goto out;
        }
        /* As a method call's: the transport policy applies alike. */
        if (ex_session_encode_args(s, args, (size_t)nargs, kwnames, NULL, &b) ==
            0)
                res = ex_session_call(s, EX_OP_CALL, &b,
                                      s->st->RemoteObjectType);
out:
        ex_buf_free(&b);
        return res;
}

static PyObject *function_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
        static char *kwlist[] = {"session", "handle", "stop", NULL};
        ex_state *st = ex_state_of_type(tp);
        PyObject *session, *stop;
        unsigned long long handle;
        ex_function *f;

        if (!st ||
            !PyArg_ParseTupleAndKeywords(args, kw, "O!KO:RemoteFunction",
                                         kwlist, st->SessionType, &session,
                                         &handle, &stop))
                return NULL;
        if (!PyCallable_Check(stop)) {
                PyErr_SetString(PyExc_TypeError, "stop must be callable");
                return NULL;
        }
        f = (ex_function *)tp->tp_alloc(tp, 0);
        if (!f)
                return NULL;
        f->vectorcall = (vectorcallfunc)function_vectorcall;
        f->session = (ex_session *)Py_NewRef(session);
        f->handle = handle;
        f->stop = Py_NewRef(stop);
        return (PyObject *)f;
}

/* Names the function proxy does not have locally are the remote
 * function's attributes (like a proxy class's class attributes). */
static PyObject *function_getattro(ex_function *f, PyObject *name)
{
        PyObject *res = PyObject_GenericGetAttr((PyObject *)f, name), *exc;
        struct ex_buf b = {.max = EX_FRAME_MAX_DEFAULT};
        Py_ssize_t n;
        const char *s;

        if (res || !PyErr_ExceptionMatches(PyExc_AttributeError) ||
            !PyUnicode_Check(name))
                return res;
        exc = PyErr_GetRaisedException();
        s = PyUnicode_AsUTF8AndSize(name, &n);
        if (!s || (n >= 4 && s[0] == '_' && s[1] == '_' && s[n - 1] == '_' &&
                   s[n - 2] == '_')) {
                /* Special names are never looked up remotely. */
                PyErr_Clear();
                PyErr_SetRaisedException(exc);
                return NULL;
        }
        if (function_usable(f) < 0) {
                Py_DECREF(exc);
                return NULL;
        }
        if (ex_put_container(&b, EX_TAG_TUPLE, 2) < 0 ||
            ex_put_handle(&b, EX_TAG_BACKREF, f->handle) < 0 ||
            ex_put_str(&b, s, (size_t)n) < 0) {
                ex_buf_free(&b);
                Py_DECREF(exc);
                return PyErr_NoMemory();
        }
        Py_DECREF(exc);
        res = ex_session_call(f->session, EX_OP_GETATTR, &b,
                              f->session->st->RemoteObjectType);
        ex_buf_free(&b);
        return res;
}

static PyObject *function_close(ex_function *f, PyObject *Py_UNUSED(ignored))
{
        PyObject *stop = f->stop, *r;

        if (!stop)
                Py_RETURN_NONE;
        f->stop = NULL;
        r = PyObject_CallNoArgs(stop);
        Py_DECREF(stop);
        if (!r)
                return NULL;
        Py_DECREF(r);
        Py_RETURN_NONE;
}

static PyObject *function_batch(ex_function *f, PyObject *args, PyObject *kw)
{
        if (function_usable(f) < 0)
                return NULL;
        return ex_remote_batch(f->session, f->handle, NULL, args, kw);
}

static PyObject *function_sandbox_report(ex_function *f,
                                         PyObject *Py_UNUSED(ignored))
{
        /* As a class's: the child's report, with the parent's grants. */
        PyObject *m = PyImport_ImportModule("extradite._sessions"), *res = NULL;

        if (m) {
                res = PyObject_CallMethod(m, "report", "O",
                                          (PyObject *)f->session);
                Py_DECREF(m);
        }
        return res;
}

static PyObject *function_repr(ex_function *f)
{
        PyObject *name = f->dict ? PyDict_GetItemString(f->dict,
                                                        "__qualname__")
                                 : NULL;

        if (name && PyUnicode_Check(name))
                return PyUnicode_FromFormat("<extradite function proxy %U%s>",
                                            name, f->stop ? "" : " (closed)");
        return PyUnicode_FromFormat("<extradite function proxy%s>",
                                    f->stop ? "" : " (closed)");
}

static int function_traverse(ex_function *f, visitproc visit, void *arg)
{
        Py_VISIT(Py_TYPE(f));
        Py_VISIT(f->session);
        Py_VISIT(f->stop);
        Py_VISIT(f->dict);
        return 0;
}

static int function_clear(ex_function *f)
{
        Py_CLEAR(f->stop);
        Py_CLEAR(f->dict);
        return 0;
}

static void function_dealloc(ex_function *f)
{
        PyTypeObject *tp = Py_TYPE(f);

        PyObject_GC_UnTrack(f);
        if (f->weakrefs)
                PyObject_ClearWeakRefs((PyObject *)f);
        function_clear(f);
        Py_CLEAR(f->session);
        tp->tp_free(f);
        Py_DECREF(tp);
}

static PyMethodDef function_methods[] = {
        {"close", (PyCFunction)function_close, METH_NOARGS,
         "Give back the child: stop it, or release this function's hold on "
         "a shared one. Calling the proxy afterwards raises "
         "ExtraditeProtocolError."},
        {"batch", (PyCFunction)(void (*)(void))function_batch,
         METH_VARARGS | METH_KEYWORDS,
         "batch(calls, call_policy=None) -> list\n\nCall the function once "
         "per (args, kwargs) item of calls, in order, in one round trip. "
         "The first exception stops the batch and is raised."},
        {"sandbox_report", (PyCFunction)function_sandbox_report, METH_NOARGS,
         "What the child's sandbox actually applied (a new dict)."},
        {NULL, NULL, 0, NULL},
};

static PyMemberDef function_members[] = {
        {"__extradite_session__", T_OBJECT, offsetof(ex_function, session),
         READONLY, NULL},
        {"__extradite_handle__", T_ULONGLONG, offsetof(ex_function, handle),
         READONLY, NULL},
        {"__dictoffset__", T_PYSSIZET, offsetof(ex_function, dict), READONLY,
         NULL},
        {"__weaklistoffset__", T_PYSSIZET, offsetof(ex_function, weakrefs),
         READONLY, NULL},
        {"__vectorcalloffset__", T_PYSSIZET, offsetof(ex_function, vectorcall),
         READONLY, NULL},
        {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef function_getset[] = {
        {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL,
         NULL},
        {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot function_slots[] = {
        {Py_tp_new, function_new},
        {Py_tp_call, PyVectorcall_Call},
        {Py_tp_getattro, function_getattro},
        {Py_tp_repr, function_repr},
        {Py_tp_traverse, function_traverse},
        {Py_tp_clear, function_clear},
        {Py_tp_dealloc, function_dealloc},
        {Py_tp_methods, function_methods},
        {Py_tp_members, function_members},
        {Py_tp_getset, function_getset},
        {Py_tp_doc, "RemoteFunction(session, handle, stop)\n\nA function "
                    "that lives in an extradite child: calling it is one "
                    "round trip. extradite() makes these for function "
                    "targets."},
        {0, NULL},
};

static PyType_Spec function_spec = {
        .name = "extradite._core.RemoteFunction",
        .basicsize = sizeof(ex_function),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                 Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE,
        .slots = function_slots,
};

int ex_function_init_type(PyObject *module)
{
        PyObject *tp = PyType_FromModuleAndSpec(module, &function_spec, NULL);
        int r;

        if (!tp)
                return -1;
        r = PyModule_AddType(module, (PyTypeObject *)tp);
        Py_DECREF(tp);
        return r;
}
