/* ParentRef: the child's proxy of an object the parent passed by handle
 * (a callback, a lock, a local class's instance). Calls, attribute reads,
 * writes and deletes go to the parent as requests; the parent decides what
 * a sandboxed child may reach (callbacks.c). Passing it back gives the
 * parent its own object. A parent class comes as a local class holding its
 * ParentRef (ParentClass, below). */
#include "child.h"

#include <string.h>

#include "convert.h"
#include "proxy_ops.h"
#include "session.h"

typedef struct {
        PyObject_HEAD
        uint64_t id;
        uint32_t received; /* sends of id seen, returned on release */
        int released;
        /* a parent class: weak reference to its local class (which holds
         * this ref strongly), else NULL */
        PyObject *cls_weak;
} ex_parent_ref;

static struct child *child_of(PyObject *self)
{
        ex_state *st = ex_state_of_type(Py_TYPE(self));
        return st ? st->child : NULL;
}

static int usable(ex_parent_ref *p, struct child *c)
{
        if (c && !p->released)
                return 0;
        PyErr_SetString(c ? c->st->ProtocolError : PyExc_RuntimeError,
                        "extradite: handle to a parent object was released");
        return -1;
}

/* (BACKREF id, [name,] ...) request header. */
static int put_head(struct ex_buf *b, uint32_t fields, uint64_t id,
                    PyObject *name)
{
        Py_ssize_t n;
        const char *s;

        if (ex_put_container(b, EX_TAG_TUPLE, fields) < 0 ||
            ex_put_handle(b, EX_TAG_BACKREF, id) < 0)
                goto nomem;
        if (!name)
                return 0;
        s = PyUnicode_AsUTF8AndSize(name, &n);
        if (!s)
                return -1;
        if (ex_put_str(b, s, (size_t)n) == 0)
                return 0;
nomem:
        PyErr_NoMemory();
        return -1;
}

static PyObject *request(struct child *c, uint8_t op, struct ex_buf *b)
{
        PyObject *res = ex_child_request(c, op, b);

        ex_buf_free(b);
        return res;
}

/* GETATTR in the parent, which refuses private names to a sandboxed
 * child. */
static PyObject *remote_getattr(ex_parent_ref *self, PyObject *name)
{
        struct child *c = child_of((PyObject *)self);
        struct ex_buf b = {0};

        if (usable(self, c) < 0 || put_head(&b, 2, self->id, name) < 0) {
                ex_buf_free(&b);
                return NULL;
        }
        return request(c, EX_OP_GETATTR, &b);
}

static PyObject *ref_getattro(ex_parent_ref *self, PyObject *name)
{
        /* Our own attributes (close, batch, the dunders of this type)
         * resolve locally; other private names go to the parent, which
         * refuses them to a sandboxed child. */
        if (PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) > 0 &&
            (PyUnicode_READ_CHAR(name, 0) == '_' ||
             PyUnicode_CompareWithASCIIString(name, "close") == 0 ||
             PyUnicode_CompareWithASCIIString(name, "batch") == 0)) {
                PyObject *local = PyObject_GenericGetAttr((PyObject *)self,
                                                          name);
                if (local || !PyErr_ExceptionMatches(PyExc_AttributeError))
                        return local;
                PyErr_Clear();
        }
        return remote_getattr(self, name);
}

static int ref_setattro(ex_parent_ref *self, PyObject *name, PyObject *value)
{
        struct child *c = child_of((PyObject *)self);
        struct ex_codec_hooks hooks;
        struct ex_buf b = {0};
        PyObject *r;

        if (usable(self, c) < 0)
                return -1;
        ex_child_hooks(c, &hooks);
        if (put_head(&b, value ? 3 : 2, self->id, name) < 0 ||
            (value && ex_encode(c->st, &hooks, value, &b,
                                c->limits.max_depth) < 0)) {
                ex_buf_free(&b);
                return -1;
        }
        r = request(c, value ? EX_OP_SETATTR : EX_OP_DELATTR, &b);
        Py_XDECREF(r);
        return r ? 0 : -1;
}

static PyObject *ref_call(ex_parent_ref *self, PyObject *args, PyObject *kw)
{
        struct child *c = child_of((PyObject *)self);
        struct ex_codec_hooks hooks;
        struct ex_buf b = {0};

        if (usable(self, c) < 0)
                return NULL;
        ex_child_hooks(c, &hooks);
        if (put_head(&b, 3, self->id, NULL) < 0 ||
            ex_encode(c->st, &hooks, args, &b, c->limits.max_depth) < 0 ||
            (kw ? ex_encode(c->st, &hooks, kw, &b, c->limits.max_depth)
                : ex_put_container(&b, EX_TAG_DICT, 0)) < 0) {
                ex_buf_free(&b);
                return PyErr_Occurred() ? NULL : PyErr_NoMemory();
        }
        return request(c, EX_OP_CALL, &b);
}

PyObject *ex_parent_ref_dunder(PyObject *self_o, const char *op,
                               PyObject *const *argv, Py_ssize_t n)
{
        ex_parent_ref *self = (ex_parent_ref *)self_o;
        struct child *c = child_of(self_o);
        struct ex_codec_hooks hooks;
        struct ex_buf b = {0};
        int r;

        if (usable(self, c) < 0)
                return NULL;
        ex_child_hooks(c, &hooks);
        r = ex_put_container(&b, EX_TAG_TUPLE, 3);
        if (r == 0)
                r = ex_put_handle(&b, EX_TAG_BACKREF, self->id);
        if (r == 0)
                r = ex_put_str(&b, op, strlen(op));
        if (r == 0)
                r = ex_put_container(&b, EX_TAG_TUPLE, (uint32_t)n);
        if (r < 0) {
                ex_buf_free(&b);
                return PyErr_NoMemory();
        }
        for (Py_ssize_t i = 0; i < n; i++)
                if (ex_encode(c->st, &hooks, argv[i], &b,
                              c->limits.max_depth - 2) < 0) {
                        ex_buf_free(&b);
                        return NULL;
                }
        return request(c, EX_OP_DUNDER, &b);
}

/* callback.batch([(args, kwargs), ...]): call the parent object once per
 * item, in one request; the first exception stops the batch. */
static PyObject *ref_batch(ex_parent_ref *self, PyObject *args, PyObject *kw)
{
        static char *kwlist[] = {"calls", "call_policy", NULL};
        struct child *c = child_of((PyObject *)self);
        PyObject *calls, *policy = Py_None, *list, *res = NULL;
        struct ex_codec_hooks hooks;
        struct ex_buf b = {0};
        Py_ssize_t n;

        if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:batch", kwlist, &calls,
                                         &policy) ||
            usable(self, c) < 0)
                return NULL;
        /* Policies are the parent's: accepted here for the same signature. */
        if (policy != Py_None && ex_policy_parse(policy, "call_policy") < 0)
                return NULL;
        list = ex_batch_calls(calls);
        if (!list)
                return NULL;
        n = PyList_GET_SIZE(list);
        ex_child_hooks(c, &hooks);
        if (put_head(&b, 3, self->id, NULL) < 0 || ex_put_none(&b) < 0 ||
            ex_put_container(&b, EX_TAG_LIST, (uint32_t)n) < 0)
                goto nomem;
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *pair = PyList_GET_ITEM(list, i);
                if (ex_put_container(&b, EX_TAG_TUPLE, 2) < 0)
                        goto nomem;
                if (ex_encode(c->st, &hooks, PyTuple_GET_ITEM(pair, 0), &b,
                              c->limits.max_depth - 3) < 0 ||
                    ex_encode(c->st, &hooks, PyTuple_GET_ITEM(pair, 1), &b,
                              c->limits.max_depth - 3) < 0)
                        goto out;
        }
        res = request(c, EX_OP_BATCH, &b);
        Py_DECREF(list);
        return res;
nomem:
        PyErr_NoMemory();
out:
        ex_buf_free(&b);
        Py_DECREF(list);
        return NULL;
}

int ex_parent_ref_released(PyObject *self)
{
        return ((ex_parent_ref *)self)->released;
}

/* Give the handle back to the parent with our next frame. */
static void forget(ex_parent_ref *self, struct child *c)
{
        uint64_t addr;

        if (self->released)
                return;
        self->released = 1;
        if (!c)
                return;
        if (ex_map_get(&c->parents, self->id, &addr) &&
            addr == (uint64_t)(uintptr_t)self)
                ex_map_del(&c->parents, self->id);
        ex_release_queue_push(&c->rel, self->id, self->received);
}

static PyObject *ref_close(ex_parent_ref *self, PyObject *Py_UNUSED(ignored))
{
        forget(self, child_of((PyObject *)self));
        Py_RETURN_NONE;
}

static void ref_dealloc(ex_parent_ref *self)
{
        PyTypeObject *tp = Py_TYPE(self);

        forget(self, child_of((PyObject *)self));
        Py_CLEAR(self->cls_weak);
        tp->tp_free(self);
        Py_DECREF(tp);
}

static PyMethodDef ref_methods[] = {
        {"batch", (PyCFunction)(void (*)(void))ref_batch,
         METH_VARARGS | METH_KEYWORDS,
         "batch(calls, call_policy=None) -> list\n\nCall the parent object "
         "once per (args, kwargs) item of calls, in order, in one request."},
        {"close", (PyCFunction)ref_close, METH_NOARGS,
         "Release the handle; using it afterwards raises "
         "ExtraditeProtocolError."},
        {NULL, NULL, 0, NULL},
};

static PyType_Slot ref_slots[] = {
        {Py_tp_getattro, ref_getattro},
        {Py_tp_setattro, ref_setattro},
        {Py_tp_call, ref_call},
        /* len, iteration, items, operators, repr...: the parent object's
         * own, one request each (proxy_ops.c) */
        EX_REMOTE_OPS_SLOTS,
        {Py_tp_dealloc, ref_dealloc},
        {Py_tp_methods, ref_methods},
        {Py_tp_doc, "A handle to an object of the parent process."},
        {0, NULL},
};

static PyType_Spec ref_spec = {
        .name = "extradite._core.ParentRef",
        .basicsize = sizeof(ex_parent_ref),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
                 Py_TPFLAGS_DISALLOW_INSTANTIATION,
        .slots = ref_slots,
};

/* ---- handles to parent classes ----------------------------------------
 *
 * A class the parent sends (EX_TAG_TYPE_HANDLE) becomes a real local class
 * C, so that it works where Python wants a type: `isinstance(x, C)`,
 * `class X(C): ...` and `type("X", (C,), {})` (type() takes types only;
 * __mro_entries__ would cover the class statement alone). C is empty
 * (object is its only base) and holds the ParentRef; its metaclass,
 * ParentClass, makes C stand for the parent class:
 *   - C(...) creates an instance in the parent and returns a handle;
 *   - C.attr reads, writes and deletes go to the parent (which refuses
 *     private names to a sandboxed child: no __subclasses__, __mro__,
 *     __dict__ walks); only __class__ (ParentClass, for isinstance's own
 *     use) and __name__ are answered here, and repr() from the name sent;
 *   - isinstance(x, C) / issubclass(y, C) ask the parent when x / y is one
 *     of its objects or classes; the child's own objects and classes are
 *     answered here: only those of child subclasses of C qualify;
 *   - iteration, len(), `in` and C[k] (an Enum's) are the parent's; other
 *     operations (==, hash, |) are the local class's, which is one per
 *     parent class while it lives, so identity holds.
 * Not supported: bases of another metaclass beside C (an ABC), parent
 * methods on child instances, super() reaching the parent class, the
 * parent class's __init_subclass__ running for a child subclass. C lives
 * (and the parent keeps the class exported) until the child's garbage
 * collector frees it.
 * A child subclass X(C) is an ordinary child class (of metaclass
 * ParentClass): its instances are the child's own objects, built by X's
 * own __new__/__init__, never by the parent class. The public class
 * attributes X lacks are read from the parent classes among its bases, in
 * MRO order (X.CONSTANT, X.some_function); private and special names never
 * are, and instances see only what X and object define (the parent class's
 * methods are not inherited: they cannot run on a child object).
 */

#define PARENT_KEY "__extradite_parent__"

/* The ParentRef of cls when cls is the local class of a parent class
 * (borrowed), else NULL; never an error. The ref's weak back-reference
 * must name cls: a child class that copies the key is not a handle. */
static ex_parent_ref *class_ref(ex_state *st, PyObject *cls)
{
        PyObject *d, *back;
        ex_parent_ref *p;
        int r;

        if (!st->ParentClassType ||
            !PyObject_TypeCheck(cls, st->ParentClassType))
                return NULL;
        d = ((PyTypeObject *)cls)->tp_dict;
        p = d ? (ex_parent_ref *)PyDict_GetItemString(d, PARENT_KEY) : NULL;
        if (!p || !Py_IS_TYPE(p, st->ParentRefType) || !p->cls_weak)
                return NULL;
        r = PyWeakref_GetRef(p->cls_weak, &back);
        if (r <= 0) {
                if (r < 0)
                        PyErr_Clear();
                return NULL;
        }
        Py_DECREF(back);
        return back == cls ? p : NULL;
}

static ex_state *meta_state(PyObject *cls)
{
        return ex_state_of_type(Py_TYPE(cls));
}

static ex_parent_ref *handle_of(PyObject *cls)
{
        ex_state *st = meta_state(cls);
        return st ? class_ref(st, cls) : NULL;
}

/* One of the parent's objects: a ParentRef or a parent class's handle. */
static int from_parent(ex_state *st, PyObject *o)
{
        return Py_IS_TYPE(o, st->ParentRefType) || class_ref(st, o);
}

static int is_name(PyObject *name, const char *s)
{
        return PyUnicode_Check(name) &&
               PyUnicode_CompareWithASCIIString(name, s) == 0;
}

static int private_name(PyObject *name)
{
        return !PyUnicode_Check(name) || PyUnicode_GET_LENGTH(name) == 0 ||
               PyUnicode_READ_CHAR(name, 0) == '_';
}

static PyObject *pc_repr(PyObject *cls)
{
        ex_parent_ref *p = handle_of(cls);
        PyObject *qual, *res;

        if (!p)
                return PyType_Type.tp_repr(cls);
        qual = PyType_GetQualName((PyTypeObject *)cls);
        if (!qual)
                return NULL;
        res = PyUnicode_FromFormat("<extradite handle to parent class %U%s>",
                                   qual, p->released ? " (released)" : "");
        Py_DECREF(qual);
        return res;
}

/* Public names a child subclass lacks: from the parent classes among its
 * bases, in MRO order. Called with the AttributeError set. */
static PyObject *inherited(ex_state *st, PyObject *cls, PyObject *name)
{
        PyObject *mro = ((PyTypeObject *)cls)->tp_mro, *exc, *res = NULL;

        if (!mro || private_name(name))
                return NULL;
        exc = PyErr_GetRaisedException();
        Py_INCREF(mro);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro) && !res; i++) {
                ex_parent_ref *p = class_ref(st, PyTuple_GET_ITEM(mro, i));
                if (!p)
                        continue;
                res = remote_getattr(p, name);
                if (!res && !PyErr_ExceptionMatches(PyExc_AttributeError))
                        break;
                PyErr_Clear();
        }
        Py_DECREF(mro);
        if (res || PyErr_Occurred())
                Py_DECREF(exc);
        else
                PyErr_SetRaisedException(exc);
        return res;
}

static PyObject *pc_getattro(PyObject *cls, PyObject *name)
{
        ex_state *st = meta_state(cls);
        ex_parent_ref *p = st ? class_ref(st, cls) : NULL;
        PyObject *res;

        if (p) {
                /* __class__ serves isinstance(C, ...) itself; __name__ is
                 * the metadata sent with the handle. */
                if (is_name(name, "__class__") || is_name(name, "__name__"))
                        return PyType_Type.tp_getattro(cls, name);
                return remote_getattr(p, name);
        }
        res = PyType_Type.tp_getattro(cls, name);
        if (res || !st || !PyErr_ExceptionMatches(PyExc_AttributeError))
                return res;
        return inherited(st, cls, name);
}

static int pc_setattro(PyObject *cls, PyObject *name, PyObject *value)
{
        ex_parent_ref *p = handle_of(cls);

        if (p)
                return ref_setattro(p, name, value);
        return PyType_Type.tp_setattro(cls, name, value);
}

static PyObject *pc_call(PyObject *cls, PyObject *args, PyObject *kw)
{
        ex_parent_ref *p = handle_of(cls);

        if (p)
                return ref_call(p, args, kw); /* an instance in the parent */
        return PyType_Type.tp_call(cls, args, kw);
}

/* type.<name>(cls, o): the local answer of isinstance/issubclass. */
static PyObject *type_check(const char *name, PyObject *cls, PyObject *o)
{
        return PyObject_CallMethod((PyObject *)&PyType_Type, name, "OO", cls,
                                   o);
}

static PyObject *pc_instancecheck(PyObject *cls, PyObject *x)
{
        ex_state *st = meta_state(cls);
        ex_parent_ref *p;

        if (!st)
                return NULL;
        p = class_ref(st, cls);
        if (from_parent(st, x)) {
                if (!p) /* a parent object is no child class's instance */
                        Py_RETURN_FALSE;
                return ex_parent_ref_dunder((PyObject *)p, "instancecheck",
                                            &x, 1);
        }
        return type_check("__instancecheck__", cls, x);
}

static PyObject *pc_subclasscheck(PyObject *cls, PyObject *y)
{
        ex_state *st = meta_state(cls);
        ex_parent_ref *p;

        if (!st)
                return NULL;
        p = class_ref(st, cls);
        if (from_parent(st, y)) {
                if (p)
                        return ex_parent_ref_dunder((PyObject *)p,
                                                    "subclasscheck", &y, 1);
                if (class_ref(st, y)) /* no parent class derives from ours */
                        Py_RETURN_FALSE;
                /* Parent classes all come as classes: y is no class. */
                PyErr_SetString(PyExc_TypeError,
                                "issubclass() arg 1 must be a class");
                return NULL;
        }
        return type_check("__subclasscheck__", cls, y);
}

/* What a parent class's metaclass may give it (an Enum's iteration, len,
 * `in`, Color["RED"]) is the parent's, one request each; a child subclass
 * has what `type` has. */
static PyObject *pc_iter(PyObject *cls)
{
        ex_parent_ref *p = handle_of(cls);

        if (p)
                return ex_remote_iter((PyObject *)p);
        PyErr_Format(PyExc_TypeError, "'%.200s' object is not iterable",
                     Py_TYPE(cls)->tp_name);
        return NULL;
}

static Py_ssize_t pc_len(PyObject *cls)
{
        ex_parent_ref *p = handle_of(cls);

        if (p)
                return ex_remote_len((PyObject *)p);
        PyErr_Format(PyExc_TypeError, "object of type '%.200s' has no len()",
                     Py_TYPE(cls)->tp_name);
        return -1;
}

static int pc_contains(PyObject *cls, PyObject *item)
{
        ex_parent_ref *p = handle_of(cls);

        if (p)
                return ex_remote_contains((PyObject *)p, item);
        PyErr_Format(PyExc_TypeError, "argument of type '%.200s' is not "
                     "iterable", Py_TYPE(cls)->tp_name);
        return -1;
}

static PyObject *pc_getitem(PyObject *cls, PyObject *key)
{
        ex_parent_ref *p = handle_of(cls);
        PyObject *f, *res;

        if (p)
                return ex_remote_getitem((PyObject *)p, key);
        /* Sub[int]: what Python does for a class, __class_getitem__ */
        f = PyObject_GetAttrString(cls, "__class_getitem__");
        if (!f) {
                if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
                        PyErr_Clear();
                        PyErr_Format(PyExc_TypeError,
                                     "type '%.200s' is not subscriptable",
                                     ((PyTypeObject *)cls)->tp_name);
                }
                return NULL;
        }
        res = PyObject_CallOneArg(f, key);
        Py_DECREF(f);
        return res;
}

/* A class is true, whatever len() says (as for `type`). */
static int pc_bool(PyObject *Py_UNUSED(cls))
{
        return 1;
}

static PyMethodDef pc_methods[] = {
        {"__instancecheck__", (PyCFunction)pc_instancecheck, METH_O,
         "isinstance(x, cls): asks the parent when x is its object."},
        {"__subclasscheck__", (PyCFunction)pc_subclasscheck, METH_O,
         "issubclass(y, cls): asks the parent when y is its class."},
        {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_slots[] = {
        {Py_tp_repr, pc_repr},
        {Py_tp_getattro, pc_getattro},
        {Py_tp_setattro, pc_setattro},
        {Py_tp_call, pc_call},
        {Py_tp_iter, pc_iter},
        {Py_mp_length, pc_len},
        {Py_sq_contains, pc_contains},
        {Py_mp_subscript, pc_getitem},
        {Py_nb_bool, pc_bool},
        {Py_tp_methods, pc_methods},
        {Py_tp_doc, "The metaclass of handles to the parent's classes and of "
                    "the child's subclasses of them."},
        {0, NULL},
};

static PyType_Spec pc_spec = {
        .name = "extradite._core.ParentClass",
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
        .slots = pc_slots,
};

PyObject *ex_parent_class_get(struct child *c, uint64_t id,
                              const uint8_t *name, size_t n)
{
        ex_parent_ref *p = (ex_parent_ref *)ex_parent_ref_get(c, id);
        PyObject *cls = NULL, *qual = NULL, *short_name = NULL, *ns = NULL;
        Py_ssize_t dot;

        if (!p)
                return NULL;
        /* The same class for the same handle while it lives. */
        if (p->cls_weak && PyWeakref_GetRef(p->cls_weak, &cls) != 0)
                goto out;
        qual = PyUnicode_DecodeUTF8((const char *)name, (Py_ssize_t)n,
                                    "strict");
        dot = qual ? PyUnicode_FindChar(qual, '.', 0, PY_SSIZE_T_MAX, -1)
                   : -2;
        if (dot >= -1) /* __name__: the last part of the qualified name */
                short_name = PyUnicode_Substring(qual, dot + 1,
                                                 PY_SSIZE_T_MAX);
        /* Empty slots: the parent's instances never live here, and a child
         * subclass gets its own __dict__. */
        if (short_name)
                ns = Py_BuildValue("{sOsssOs()}", "__qualname__", qual,
                                   "__module__", "extradite.parent",
                                   PARENT_KEY, (PyObject *)p, "__slots__");
        if (ns)
                cls = PyObject_CallFunction((PyObject *)c->st->ParentClassType,
                                            "O(O)O", short_name,
                                            &PyBaseObject_Type, ns);
        if (cls) {
                Py_XSETREF(p->cls_weak, PyWeakref_NewRef(cls, NULL));
                if (!p->cls_weak)
                        Py_CLEAR(cls);
        }
out:
        Py_XDECREF(qual);
        Py_XDECREF(short_name);
        Py_XDECREF(ns);
        Py_DECREF(p);
        return cls;
}

int ex_parent_ref_init_type(PyObject *module, ex_state *st)
{
        st->ParentRefType = (PyTypeObject *)PyType_FromModuleAndSpec(
                module, &ref_spec, NULL);
        if (!st->ParentRefType)
                return -1;
        st->ParentClassType = (PyTypeObject *)PyType_FromModuleAndSpec(
                module, &pc_spec, (PyObject *)&PyType_Type);
        return st->ParentClassType ? 0 : -1;
}

PyObject *ex_parent_ref_get(struct child *c, uint64_t id)
{
        ex_parent_ref *p;
        uint64_t addr;

        if (ex_map_get(&c->parents, id, &addr)) {
                p = (ex_parent_ref *)(uintptr_t)addr;
                p->received++;
                return Py_NewRef((PyObject *)p);
        }
        p = PyObject_New(ex_parent_ref, c->st->ParentRefType);
        if (!p)
                return NULL;
        p->id = id;
        p->received = 1;
        p->released = 0;
        p->cls_weak = NULL;
        if (ex_map_put(&c->parents, id, (uint64_t)(uintptr_t)p) < 0) {
                Py_DECREF(p);
                return PyErr_NoMemory();
        }
        return (PyObject *)p;
}

int ex_parent_ref_id(struct child *c, PyObject *o, uint64_t *id)
{
        ex_parent_ref *p = (ex_parent_ref *)o;

        if (!Py_IS_TYPE(o, c->st->ParentRefType) &&
            !(p = class_ref(c->st, o)))
                return 0;
        if (usable(p, c) < 0)
                return -1;
        *id = p->id;
        return 1;
}
