/* The exposure rule; see exposure.h. */
#include "exposure.h"

#include <frameobject.h>
#include <string.h>

#include "frame.h"
#include "ops_apply.h"

/* A class written in Python (class statement, type(), dataclasses...):
 * extension types are static or immutable heap types. */
static int python_class(PyTypeObject *tp)
{
        return PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE) &&
               !PyType_HasFeature(tp, Py_TPFLAGS_IMMUTABLETYPE);
}

/* Is `module` (a str, or anything else: no) the standard library's? */
static int stdlib_module(PyObject *module)
{
        PyObject *names = PySys_GetObject("stdlib_module_names"); /* borrowed */
        Py_ssize_t dot;
        PyObject *top;
        int r;

        if (!module || !PyUnicode_Check(module))
                return 0;
        if (PyUnicode_CompareWithASCIIString(module, "builtins") == 0)
                return 1;
        if (!names)
                return 0;
        dot = PyUnicode_FindChar(module, '.', 0, PyUnicode_GET_LENGTH(module),
                                 1);
        if (dot == -2)
                return -1;
        top = dot < 0 ? Py_NewRef(module) : PyUnicode_Substring(module, 0, dot);
        if (!top)
                return -1;
        r = PySequence_Contains(names, top);
        Py_DECREF(top);
        return r;
}

/* A class the user wrote: in Python, outside the standard library (whose
 * classes act on the process: pathlib.Path.unlink, Popen.kill). 1, 0, or
 * -1 with an exception. */
static int user_class(PyTypeObject *tp)
{
        PyObject *module;
        int r;

        if (!python_class(tp))
                return 0;
        module = PyObject_GetAttrString((PyObject *)tp, "__module__");
        if (!module) {
                PyErr_Clear();
                return 1;
        }
        r = stdlib_module(module);
        Py_DECREF(module);
        return r < 0 ? -1 : !r;
}

/* Whose public attributes a confined child may reach: instances of the
 * user's classes; types.SimpleNamespace, which is only the attributes its
 * user gave it; and the built-in containers the `reference` transport
 * policy passes (lst.append, d.get), whose methods only hand out their
 * items — each judged again by ex_exposure_admit — and build nothing
 * bigger than what the child sends (not bytearray: ba.zfill(2**30)).
 * 1, 0, or -1. */
static int user_instance(PyObject *o)
{
        PyTypeObject *tp = Py_TYPE(o);

        if (PyType_Check(o))
                return 0;
        if (PyList_Check(o) || PyDict_Check(o) || PyAnySet_Check(o) ||
            PyTuple_Check(o) ||
            strcmp(tp->tp_name, "types.SimpleNamespace") == 0)
                return 1;
        return user_class(tp);
}

static int refuse(const char *what)
{
        PyErr_Format(PyExc_PermissionError,
                     "extradite: a sandboxed child may not reach %s of the "
                     "parent; pass what the child needs as an argument "
                     "(docs/security-model.md)",
                     what);
        return -1;
}

/* Interpreter internals: never handed to a confined child, whoever asks.
 * The kind's name, or NULL. */
static const char *internal_kind(PyObject *o)
{
        if (PyModule_Check(o))
                return "a module";
        if (PyFrame_Check(o))
                return "a frame";
        if (PyCode_Check(o))
                return "a code object";
        if (PyTraceBack_Check(o))
                return "a traceback";
        if (PyCell_Check(o))
                return "a closure cell";
        if (PyObject_TypeCheck(o, &PySuper_Type))
                return "a super() object";
        if (PyCoro_CheckExact(o))
                return "a coroutine (the parent runs no event loop for the "
                       "child)";
        if (PyAsyncGen_CheckExact(o))
                return "an async generator (the parent runs no event loop "
                       "for the child)";
        /* what a class's __dict__ holds: its functions' wrappers and the
         * slots of built-in types */
        if (PyObject_TypeCheck(o, &PyStaticMethod_Type) ||
            PyObject_TypeCheck(o, &PyClassMethod_Type) ||
            PyObject_TypeCheck(o, &PyMethodDescr_Type) ||
            PyObject_TypeCheck(o, &PyClassMethodDescr_Type) ||
            PyObject_TypeCheck(o, &PyWrapperDescr_Type) ||
            PyObject_TypeCheck(o, &PyMemberDescr_Type) ||
            PyObject_TypeCheck(o, &PyGetSetDescr_Type) ||
            PyObject_TypeCheck(o, &PyDictProxy_Type))
                return "a class's internals";
        return NULL;
}

/* What the child reached rather than was given, that only a grant may
 * hand out: the interpreter's own functions and classes and the standard
 * library's (eval, open, os.system, object, subprocess.Popen). The kind's
 * name, NULL when o may be handed out, or NULL with an exception. */
static const char *ungranted_kind(PyObject *o)
{
        PyObject *self = NULL;
        int r;

        if (PyCFunction_Check(o)) {
                self = PyCFunction_GET_SELF(o);
                if (!self || PyModule_Check(self) || PyType_Check(self))
                        return "a built-in function";
        } else if (PyMethod_Check(o)) {
                self = PyMethod_GET_SELF(o);
                if (PyModule_Check(self))
                        return "a function bound to a module";
                if (PyType_Check(self))
                        return ungranted_kind(self);
        }
        if (self) {
                /* A method acts on its object: on one of yours or a
                 * container ([].append), fine; on a standard library or
                 * built-in object (sys.stdout.write, os.environ.get,
                 * logger.info), only when you passed it. */
                r = user_instance(self);
                return r != 0 ? NULL
                              : "a method of a built-in or standard library "
                                "object";
        }
        if (PyType_Check(o)) {
                if (!python_class((PyTypeObject *)o))
                        return "a built-in class";
                r = user_class((PyTypeObject *)o);
                return r != 0 ? NULL : "a standard library class";
        }
        if (PyFunction_Check(o)) {
                r = stdlib_module(PyFunction_GetModule(o));
                return r < 0 ? NULL : r ? "a standard library function" : NULL;
        }
        /* A callable object calls what it holds: functools.partial(
         * os.system, ...), operator.attrgetter("__globals__"), a weakref.
         * Yours (__call__) fine; a built-in or standard library one, only
         * when you passed it. */
        if (PyCallable_Check(o)) {
                r = user_instance(o);
                return r != 0 ? NULL
                              : "a callable object of a built-in or standard "
                                "library type";
        }
        return NULL;
}

/* Whether a handle to o may be minted (0), or -1 with PermissionError
 * naming its kind (or another exception). */
static int refused(PyObject *o, enum ex_origin origin, int passed_before)
{
        const char *kind = internal_kind(o);

        if (!kind && origin == EX_ORIGIN_REACHED && !passed_before) {
                kind = ungranted_kind(o);
                if (!kind && PyErr_Occurred())
                        return -1;
        }
        return kind ? refuse(kind) : 0;
}

/* ---- ParentIterator: a generator as a confined child holds it -------
 * The child's requests run on this object, which has no attribute at all:
 * the parent runs the generator for it (next), and gi_frame, send() and
 * throw() stay out of reach even if a request got past the vetting. */

typedef struct {
        PyObject_HEAD
        PyObject *gen; /* strong */
} ex_parent_iter;

static PyObject *pi_next(ex_parent_iter *self)
{
        return Py_TYPE(self->gen)->tp_iternext(self->gen);
}

static PyObject *pi_repr(ex_parent_iter *self)
{
        return PyObject_Repr(self->gen);
}

static int pi_traverse(ex_parent_iter *self, visitproc visit, void *arg)
{
        Py_VISIT(Py_TYPE(self));
        Py_VISIT(self->gen);
        return 0;
}

static int pi_clear(ex_parent_iter *self)
{
        Py_CLEAR(self->gen);
        return 0;
}

static void pi_dealloc(ex_parent_iter *self)
{
        PyTypeObject *tp = Py_TYPE(self);

        PyObject_GC_UnTrack(self);
        pi_clear(self);
        tp->tp_free(self);
        Py_DECREF(tp);
}

static PyType_Slot pi_slots[] = {
        {Py_tp_iter, PyObject_SelfIter},
        {Py_tp_iternext, pi_next},
        {Py_tp_repr, pi_repr},
        {Py_tp_traverse, pi_traverse},
        {Py_tp_clear, pi_clear},
        {Py_tp_dealloc, pi_dealloc},
        {0, NULL},
};

static PyType_Spec pi_spec = {
        .name = "extradite._core.ParentIterator",
        .basicsize = sizeof(ex_parent_iter),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                 Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
        .slots = pi_slots,
};

int ex_exposure_init_types(PyObject *module, ex_state *st)
{
        st->ParentIteratorType = (PyTypeObject *)PyType_FromModuleAndSpec(
                module, &pi_spec, NULL);
        return st->ParentIteratorType ? 0 : -1;
}

PyObject *ex_exposure_unwrap(ex_state *st, PyObject *o)
{
        return Py_IS_TYPE(o, st->ParentIteratorType) ? ((ex_parent_iter *)o)->gen
                                                     : o;
}

PyObject *ex_exposure_admit(ex_state *st, PyObject *o, enum ex_origin origin,
                            int passed_before)
{
        ex_parent_iter *it;

        if (refused(o, origin, passed_before) < 0)
                return NULL;
        if (!PyGen_CheckExact(o))
                return Py_NewRef(o);
        it = PyObject_GC_New(ex_parent_iter, st->ParentIteratorType);
        if (!it)
                return NULL;
        it->gen = Py_NewRef(o);
        PyObject_GC_Track(it);
        return (PyObject *)it;
}

static int private_name(ex_state *st, PyObject *name)
{
        if (PyUnicode_GET_LENGTH(name) > 0 &&
            PyUnicode_READ_CHAR(name, 0) != '_')
                return 0;
        PyErr_Format(st->UnsupportedInteractionError,
                     "extradite: a sandboxed child may not reach the private "
                     "or special attribute %R of a parent object",
                     name);
        return -1;
}

int ex_exposure_vet_request(ex_state *st, uint8_t op, PyObject *target,
                            PyObject *name, int passed_before)
{
        PyTypeObject *tp = Py_TYPE(target);
        int is_class = PyType_Check(target), r;

        /* A generator is only ever a ParentIterator's (ex_exposure_admit):
         * the child's requests never run on it directly. */
        if (PyGen_CheckExact(target))
                return refuse("a generator's internals");
        switch (op) {
        case EX_VET_CALLEE:
                /* a method found by name is judged as if it were handed
                 * out: obj.runner = os.system must not run either */
                return refused(target, EX_ORIGIN_REACHED, passed_before);
        case EX_OP_CALL:
        case EX_OP_DUNDER:
                return 0;
        case EX_OP_BATCH:
                if (name == Py_None)
                        return 0; /* calls of the target itself */
                break;
        case EX_OP_GETATTR:
        case EX_OP_CALL_METHOD:
        case EX_OP_SETATTR:
        case EX_OP_DELATTR:
                break;
        default:
                return 0; /* ex_apply_request refuses it */
        }
        if (!PyUnicode_Check(name) || private_name(st, name) < 0) {
                if (!PyErr_Occurred())
                        PyErr_SetString(st->ProtocolError,
                                        "extradite: malformed request");
                return -1;
        }
        /* Members of what the user wrote in Python: instances of such
         * classes, and the classes themselves (read only). */
        r = is_class ? user_class((PyTypeObject *)target)
                     : user_instance(target);
        if (r < 0)
                return -1;
        if (r && is_class) {
                if (op != EX_OP_SETATTR && op != EX_OP_DELATTR)
                        return 0;
                PyErr_Format(PyExc_PermissionError,
                             "extradite: a sandboxed child may read the "
                             "public attributes of the parent class "
                             "'%.200s', not set or delete them (%R)",
                             ((PyTypeObject *)target)->tp_name, name);
                return -1;
        }
        if (r)
                return 0;
        PyErr_Format(PyExc_PermissionError,
                     "extradite: a sandboxed child may reach the public "
                     "attributes of your own classes and their instances "
                     "only, not of %s '%.200s' (attribute %R), a built-in, "
                     "extension or standard library type; pass what the "
                     "child needs as an argument, a bound method for "
                     "example (docs/security-model.md)",
                     is_class ? "the class" : "a",
                     is_class ? ((PyTypeObject *)target)->tp_name
                              : tp->tp_name,
                     name);
        return -1;
}

PyObject *ex_exposure_method_names(ex_state *st, PyObject *methods)
{
        PyObject *out;

        if (!PyTuple_Check(methods)) {
                PyErr_SetString(st->ProtocolError,
                                "extradite: the child's class metadata lists "
                                "no method names");
                return NULL;
        }
        out = PyList_New(0);
        for (Py_ssize_t i = 0; out && i < PyTuple_GET_SIZE(methods); i++) {
                PyObject *name = PyTuple_GET_ITEM(methods, i);
                int ok = PyUnicode_CheckExact(name) &&
                         PyUnicode_GET_LENGTH(name) > 0 &&
                         PyUnicode_READ_CHAR(name, 0) != '_';

                if (ok && PyUnicode_IsIdentifier(name) != 1)
                        ok = 0;
                if (ok && PyList_Append(out, name) < 0)
                        Py_CLEAR(out);
        }
        if (out)
                Py_SETREF(out, PyList_AsTuple(out));
        return out;
}
