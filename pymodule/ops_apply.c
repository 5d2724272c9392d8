/* EX_OP_DUNDER and EX_OP_BATCH on the side that owns the object; see
 * ops_apply.h.
 *
 * Every operation goes through the abstract object API (PyNumber_Add,
 * PyObject_GetItem, PyObject_IsTrue, ...), never through a looked-up
 * __dunder__ method, so the owner sees exactly what `a + b`, `len(a)` or
 * `bool(a)` would do here: reflected operands, the bool -> len fallback,
 * in-place operators falling back to the binary ones, `in` falling back to
 * iteration.
 */
#include "ops_apply.h"

#include <string.h>

#include "frame.h"

/* How the operands of an allowlisted operation are laid out. */
enum op_kind {
        OP_UNARY,   /* f(obj) */
        OP_BINARY,  /* f(obj, a) or, reflected, f(a, obj) */
        OP_TERNARY, /* f(obj, a, b) or, reflected, f(a, obj, b); b may be
                       absent (None) when min_args is 1 */
        OP_ENTER,   /* type(obj).__enter__(obj) */
        OP_EXIT,    /* type(obj).__exit__(obj, t, v, None), see call_exit */
};

struct op {
        const char *name;
        uint8_t kind;
        uint8_t min_args, max_args; /* operands besides obj */
        uint8_t reflected;          /* obj is the right-hand operand */
        uint8_t as_handle;          /* the result travels as a handle */
        union {
                unaryfunc u;
                binaryfunc b;
                ternaryfunc t;
        } fn;
};

/* ---- adapters: the abstract API in unary/binary/ternary shapes --------- */

static PyObject *op_len(PyObject *o)
{
        Py_ssize_t n = PyObject_Size(o);
        return n < 0 ? NULL : PyLong_FromSsize_t(n);
}

static PyObject *op_bool(PyObject *o)
{
        int r = PyObject_IsTrue(o);
        return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *op_hash(PyObject *o)
{
        Py_hash_t h = PyObject_Hash(o);
        return h == -1 ? NULL : PyLong_FromSsize_t(h);
}

/* repr() and str() may return a str subclass; the reply is a plain str
 * (a subclass would travel as a handle). */
static PyObject *plain_str(PyObject *s)
{
        if (s && !PyUnicode_CheckExact(s))
                Py_SETREF(s, PyUnicode_FromObject(s));
        return s;
}

static PyObject *op_repr(PyObject *o)
{
        return plain_str(PyObject_Repr(o));
}

static PyObject *op_str(PyObject *o)
{
        return plain_str(PyObject_Str(o));
}

/* next(o): an exhausted iterator raises StopIteration, so the caller's
 * `for` loop ends; a StopIteration the iterator raised itself (with a
 * value) is kept. */
static PyObject *op_next(PyObject *o)
{
        PyObject *r;

        if (!PyIter_Check(o)) {
                PyErr_Format(PyExc_TypeError,
                             "'%.200s' object is not an iterator",
                             Py_TYPE(o)->tp_name);
                return NULL;
        }
        r = Py_TYPE(o)->tp_iternext(o);
        if (!r && !PyErr_Occurred())
                PyErr_SetNone(PyExc_StopIteration);
        return r;
}

static PyObject *op_contains(PyObject *o, PyObject *item)
{
        int r = PySequence_Contains(o, item);
        return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *op_delitem(PyObject *o, PyObject *key)
{
        return PyObject_DelItem(o, key) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *op_setitem(PyObject *o, PyObject *key, PyObject *value)
{
        return PyObject_SetItem(o, key, value) < 0 ? NULL : Py_NewRef(Py_None);
}

#define COMPARE(fname, cmp)                                                    \
        static PyObject *fname(PyObject *a, PyObject *b)                       \
        {                                                                      \
                return PyObject_RichCompare(a, b, cmp);                        \
        }
COMPARE(op_lt, Py_LT)
COMPARE(op_le, Py_LE)
COMPARE(op_eq, Py_EQ)
COMPARE(op_ne, Py_NE)
COMPARE(op_gt, Py_GT)
COMPARE(op_ge, Py_GE)
#undef COMPARE

/* isinstance(a, obj) and issubclass(a, obj): the checks of a class handle
 * (obj is the class); they answer a bool, nothing else. */
static PyObject *op_instancecheck(PyObject *cls, PyObject *a)
{
        int r = PyObject_IsInstance(a, cls);
        return r < 0 ? NULL : PyBool_FromLong(r);
}

static PyObject *op_subclasscheck(PyObject *cls, PyObject *a)
{
        int r = PyObject_IsSubclass(a, cls);
        return r < 0 ? NULL : PyBool_FromLong(r);
}

/* ---- the allowlist ---------------------------------------------------- */

#define UNARY(n, f) {n, OP_UNARY, 0, 0, 0, 0, {.u = f}}
#define BINARY(n, f) {n, OP_BINARY, 1, 1, 0, 0, {.b = f}}
#define RBINARY(n, f) {n, OP_BINARY, 1, 1, 1, 0, {.b = f}}
/* An operator, its reflected form and its in-place form. */
#define ARITH(n, f, fi)                                                        \
        BINARY(n, f), RBINARY("r" n, f), BINARY("i" n, fi)

static const struct op OPS[] = {
        UNARY("len", op_len),
        UNARY("bool", op_bool),
        UNARY("hash", op_hash),
        UNARY("repr", op_repr),
        UNARY("str", op_str),
        {"iter", OP_UNARY, 0, 0, 0, 1, {.u = PyObject_GetIter}},
        UNARY("next", op_next),
        UNARY("neg", PyNumber_Negative),
        UNARY("pos", PyNumber_Positive),
        UNARY("invert", PyNumber_Invert),
        UNARY("abs", PyNumber_Absolute),
        BINARY("getitem", PyObject_GetItem),
        {"setitem", OP_TERNARY, 2, 2, 0, 0, {.t = op_setitem}},
        BINARY("delitem", op_delitem),
        BINARY("contains", op_contains),
        BINARY("instancecheck", op_instancecheck),
        BINARY("subclasscheck", op_subclasscheck),
        BINARY("lt", op_lt),
        BINARY("le", op_le),
        BINARY("eq", op_eq),
        BINARY("ne", op_ne),
        BINARY("gt", op_gt),
        BINARY("ge", op_ge),
        ARITH("add", PyNumber_Add, PyNumber_InPlaceAdd),
        ARITH("sub", PyNumber_Subtract, PyNumber_InPlaceSubtract),
        ARITH("mul", PyNumber_Multiply, PyNumber_InPlaceMultiply),
        ARITH("truediv", PyNumber_TrueDivide, PyNumber_InPlaceTrueDivide),
        ARITH("floordiv", PyNumber_FloorDivide, PyNumber_InPlaceFloorDivide),
        ARITH("mod", PyNumber_Remainder, PyNumber_InPlaceRemainder),
        ARITH("matmul", PyNumber_MatrixMultiply,
              PyNumber_InPlaceMatrixMultiply),
        ARITH("lshift", PyNumber_Lshift, PyNumber_InPlaceLshift),
        ARITH("rshift", PyNumber_Rshift, PyNumber_InPlaceRshift),
        ARITH("and", PyNumber_And, PyNumber_InPlaceAnd),
        ARITH("or", PyNumber_Or, PyNumber_InPlaceOr),
        ARITH("xor", PyNumber_Xor, PyNumber_InPlaceXor),
        BINARY("divmod", PyNumber_Divmod),
        RBINARY("rdivmod", PyNumber_Divmod),
        /* pow(obj, a[, mod]), pow(a, obj[, mod]), obj **= a */
        {"pow", OP_TERNARY, 1, 2, 0, 0, {.t = PyNumber_Power}},
        {"rpow", OP_TERNARY, 1, 2, 1, 0, {.t = PyNumber_Power}},
        {"ipow", OP_TERNARY, 1, 2, 0, 0, {.t = PyNumber_InPlacePower}},
        /* the with statement */
        {"enter", OP_ENTER, 0, 0, 0, 0, {.u = NULL}},
        {"exit", OP_EXIT, 2, 2, 0, 0, {.u = NULL}},
};

#undef ARITH
#undef RBINARY
#undef BINARY
#undef UNARY

static const struct op *find_op(PyObject *name)
{
        Py_ssize_t n;
        const char *s;

        if (!PyUnicode_Check(name))
                return NULL;
        s = PyUnicode_AsUTF8AndSize(name, &n);
        if (!s) {
                PyErr_Clear();
                return NULL;
        }
        for (size_t i = 0; i < sizeof(OPS) / sizeof(*OPS); i++)
                if ((size_t)n == strlen(OPS[i].name) &&
                    memcmp(OPS[i].name, s, (size_t)n) == 0)
                        return &OPS[i];
        return NULL;
}

/* type(obj).<name>(obj, *args), looked up on the type as the with
 * statement looks it up. */
static PyObject *call_special(PyObject *obj, const char *name,
                              PyObject *args)
{
        PyObject *key = PyUnicode_InternFromString(name);
        PyObject *f, *bound, *res;
        descrgetfunc get;

        if (!key)
                return NULL;
        f = _PyType_Lookup(Py_TYPE(obj), key); /* borrowed */
        Py_DECREF(key);
        if (!f) {
                PyErr_Format(PyExc_TypeError,
                             "'%.200s' object does not support the context "
                             "manager protocol (no %s method)",
                             Py_TYPE(obj)->tp_name, name);
                return NULL;
        }
        Py_INCREF(f);
        get = Py_TYPE(f)->tp_descr_get;
        bound = get ? get(f, obj, (PyObject *)Py_TYPE(obj)) : Py_NewRef(f);
        Py_DECREF(f);
        if (!bound)
                return NULL;
        res = PyObject_Call(bound, args, NULL);
        Py_DECREF(bound);
        return res;
}

/* exit: (name, args) says which exception left the with block: None, or
 * the name of a built-in exception class and the args to build it with
 * (the parent sends exceptions as data, never as its own objects). The
 * traceback stayed in the parent: __exit__ gets None. */
static PyObject *call_exit(ex_state *st, PyObject *obj, PyObject *args)
{
        PyObject *name = PyTuple_GET_ITEM(args, 0);
        PyObject *exc_args = PyTuple_GET_ITEM(args, 1);
        PyObject *builtins, *cls = NULL, *exc, *info, *res;

        if (name == Py_None) {
                info = PyTuple_Pack(3, Py_None, Py_None, Py_None);
        } else {
                builtins = PyEval_GetBuiltins(); /* borrowed */
                if (PyUnicode_Check(name) && PyTuple_Check(exc_args) &&
                    builtins)
                        cls = PyDict_GetItemWithError(builtins, name);
                if (!cls || !PyExceptionClass_Check(cls)) {
                        if (!PyErr_Occurred())
                                PyErr_SetString(
                                        st->ProtocolError,
                                        "extradite: __exit__ needs the name "
                                        "of a built-in exception class");
                        return NULL;
                }
                /* Held: the target's code may rebind builtins. */
                Py_INCREF(cls);
                exc = PyObject_Call(cls, exc_args, NULL);
                info = exc ? PyTuple_Pack(3, cls, exc, Py_None) : NULL;
                Py_XDECREF(exc);
                Py_DECREF(cls);
        }
        if (!info)
                return NULL;
        res = call_special(obj, "__exit__", info);
        Py_DECREF(info);
        return res;
}

PyObject *ex_apply_dunder(ex_state *st, PyObject *obj, PyObject *name,
                          PyObject *args, int *as_handle)
{
        const struct op *op = find_op(name);
        Py_ssize_t n = PyTuple_GET_SIZE(args);
        PyObject *x = obj, *y, *z = Py_None;

        *as_handle = 0;
        if (!op) {
                PyErr_Format(st->ProtocolError,
                             "extradite: %R is not an operation a proxy may "
                             "forward",
                             name);
                return NULL;
        }
        if (n < op->min_args || n > op->max_args) {
                PyErr_Format(st->ProtocolError,
                             "extradite: operation %s takes %d to %d "
                             "operands, got %zd",
                             op->name, (int)op->min_args, (int)op->max_args,
                             n);
                return NULL;
        }
        *as_handle = op->as_handle;
        switch (op->kind) {
        case OP_UNARY:
                return op->fn.u(obj);
        case OP_ENTER:
                return call_special(obj, "__enter__", args);
        case OP_EXIT:
                return call_exit(st, obj, args);
        default:
                break;
        }
        y = PyTuple_GET_ITEM(args, 0);
        if (n > 1)
                z = PyTuple_GET_ITEM(args, 1);
        if (op->reflected) {
                x = y;
                y = obj;
        }
        if (op->kind == OP_BINARY)
                return op->fn.b(x, y);
        return op->fn.t(x, y, z);
}

/* Say which call of the batch raised (in the remote traceback). */
static void note_call(Py_ssize_t i, Py_ssize_t n)
{
        PyObject *exc = PyErr_GetRaisedException();
        PyObject *note = PyUnicode_FromFormat(
                "extradite: raised by call %zd of %zd in a batch; the calls "
                "after it were not made",
                i + 1, n);
        PyObject *r = note ? PyObject_CallMethod(exc, "add_note", "O", note)
                           : NULL;

        Py_XDECREF(note);
        Py_XDECREF(r);
        PyErr_Clear(); /* a failed note must not hide the exception */
        PyErr_SetRaisedException(exc);
}

PyObject *ex_apply_batch(ex_state *st, PyObject *obj, PyObject *name,
                         PyObject *calls, ex_vet_request vet, void *ctx)
{
        Py_ssize_t n = PyList_GET_SIZE(calls);
        PyObject *results;

        if ((name != Py_None && !PyUnicode_Check(name)) ||
            n > (Py_ssize_t)EX_BATCH_MAX_CALLS) {
                PyErr_SetString(st->ProtocolError,
                                "extradite: malformed batch request");
                return NULL;
        }
        /* Check every item before making the first call: a malformed
         * request runs nothing. */
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *item = PyList_GET_ITEM(calls, i);
                if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2 ||
                    !PyTuple_CheckExact(PyTuple_GET_ITEM(item, 0)) ||
                    !PyDict_CheckExact(PyTuple_GET_ITEM(item, 1))) {
                        PyErr_Format(st->ProtocolError,
                                     "extradite: malformed batch request "
                                     "(call %zd)",
                                     i + 1);
                        return NULL;
                }
        }
        results = PyList_New(n);
        if (!results)
                return NULL;
        for (Py_ssize_t i = 0; i < n; i++) {
                /* The request is ours alone: no code can change `calls`,
                 * but keep the item alive across the call anyway. */
                PyObject *item = Py_NewRef(PyList_GET_ITEM(calls, i));
                PyObject *kwargs = PyTuple_GET_ITEM(item, 1);
                PyObject *fn = name == Py_None ? Py_NewRef(obj)
                                               : PyObject_GetAttr(obj, name);
                PyObject *r;

                if (fn && name != Py_None && vet &&
                    vet(ctx, EX_VET_CALLEE, fn, name) < 0)
                        Py_CLEAR(fn);
                r = fn ? PyObject_Call(fn, PyTuple_GET_ITEM(item, 0),
                                                 PyDict_GET_SIZE(kwargs)
                                                         ? kwargs
                                                         : NULL)
                                 : NULL;

                Py_XDECREF(fn);
                Py_DECREF(item);
                if (!r) {
                        note_call(i, n);
                        Py_DECREF(results);
                        return NULL;
                }
                PyList_SET_ITEM(results, i, r);
        }
        return results;
}

/* Items a hostile requester may have us build by repeating a sequence
 * (lst * n): len * n of them, however few bytes n took to send. */
#define REPEAT_MAX_ITEMS ((Py_ssize_t)1 << 24)

/* For mul, rmul and imul of a sequence by an int: -1 with MemoryError when
 * the result would hold more than REPEAT_MAX_ITEMS items, else 0. */
static int bound_repeat(PyObject *name, PyObject *obj, PyObject *args)
{
        PySequenceMethods *sq = Py_TYPE(obj)->tp_as_sequence;
        PyNumberMethods *nb = Py_TYPE(obj)->tp_as_number;
        Py_ssize_t len, count;
        PyObject *n;

        if (PyTuple_GET_SIZE(args) != 1 || !sq || !sq->sq_repeat ||
            (nb && nb->nb_multiply) ||
            (PyUnicode_CompareWithASCIIString(name, "mul") != 0 &&
             PyUnicode_CompareWithASCIIString(name, "rmul") != 0 &&
             PyUnicode_CompareWithASCIIString(name, "imul") != 0))
                return 0;
        n = PyTuple_GET_ITEM(args, 0);
        if (!PyLong_Check(n))
                return 0;
        count = PyLong_AsSsize_t(n);
        len = PyObject_Size(obj);
        if (count == -1 || len < 0) {
                PyErr_Clear(); /* the operation itself says what is wrong */
                return 0;
        }
        if (count <= 0 || len <= REPEAT_MAX_ITEMS / count)
                return 0;
        PyErr_Format(PyExc_MemoryError,
                     "extradite: repeating a sequence of %zd items %zd times "
                     "would build more than %zd items in the parent",
                     len, count, REPEAT_MAX_ITEMS);
        return -1;
}

static PyObject *call_with(PyObject *fn, PyObject *args, PyObject *kwargs)
{
        return PyObject_Call(fn, args,
                             PyDict_GET_SIZE(kwargs) ? kwargs : NULL);
}

PyObject *ex_apply_request(ex_state *st, uint8_t op, PyObject *req,
                           ex_vet_request vet, void *ctx, int *as_handle)
{
        PyObject *obj, *name = NULL, *args, *kwargs, *value, *fn, *res;

        *as_handle = 0;
        switch (op) {
        case EX_OP_CALL:
                if (!PyArg_ParseTuple(req, "OO!O!", &obj, &PyTuple_Type, &args,
                                      &PyDict_Type, &kwargs))
                        break;
                if (vet && vet(ctx, op, obj, NULL) < 0)
                        return NULL;
                return call_with(obj, args, kwargs);
        case EX_OP_CALL_METHOD:
                if (!PyArg_ParseTuple(req, "OUO!O!", &obj, &name, &PyTuple_Type,
                                      &args, &PyDict_Type, &kwargs))
                        break;
                if (vet && vet(ctx, op, obj, name) < 0)
                        return NULL;
                fn = PyObject_GetAttr(obj, name);
                if (!fn || (vet && vet(ctx, EX_VET_CALLEE, fn, name) < 0)) {
                        Py_XDECREF(fn);
                        return NULL;
                }
                res = call_with(fn, args, kwargs);
                Py_DECREF(fn);
                return res;
        case EX_OP_GETATTR:
                if (!PyArg_ParseTuple(req, "OU", &obj, &name))
                        break;
                return vet && vet(ctx, op, obj, name) < 0
                               ? NULL
                               : PyObject_GetAttr(obj, name);
        case EX_OP_SETATTR:
                if (!PyArg_ParseTuple(req, "OUO", &obj, &name, &value))
                        break;
                if ((vet && vet(ctx, op, obj, name) < 0) ||
                    PyObject_SetAttr(obj, name, value) < 0)
                        return NULL;
                Py_RETURN_NONE;
        case EX_OP_DELATTR:
                if (!PyArg_ParseTuple(req, "OU", &obj, &name))
                        break;
                if ((vet && vet(ctx, op, obj, name) < 0) ||
                    PyObject_DelAttr(obj, name) < 0)
                        return NULL;
                Py_RETURN_NONE;
        case EX_OP_DUNDER:
                /* Python operations: the object's own protocol, not a walk
                 * through its attributes. */
                if (!PyArg_ParseTuple(req, "OUO!", &obj, &name, &PyTuple_Type,
                                      &args))
                        break;
                if (vet && (vet(ctx, op, obj, name) < 0 ||
                            bound_repeat(name, obj, args) < 0))
                        return NULL;
                return ex_apply_dunder(st, obj, name, args, as_handle);
        case EX_OP_BATCH:
                if (!PyArg_ParseTuple(req, "OOO!", &obj, &name, &PyList_Type,
                                      &args))
                        break;
                if (vet && vet(ctx, op, obj, name) < 0)
                        return NULL;
                return ex_apply_batch(st, obj, name, args, vet, ctx);
        default:
                break;
        }
        PyErr_Clear();
        PyErr_Format(st->ProtocolError, "extradite: malformed request (op %d)",
                     (int)op);
        return NULL;
}
