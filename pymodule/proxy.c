/* Proxies: RemoteObject (instances and generic handles), RemoteMethod
 * (a bound remote method, called with vectorcall) and MethodDescriptor
 * (puts the child's methods on a proxy class so they resolve locally). */
#include <string.h>

#include "convert.h"
#include "proxy_ops.h"
#include "session.h"

#include "structmember.h"

typedef struct {
        PyObject_HEAD
        vectorcallfunc vectorcall;
        ex_session *session; /* strong */
        PyObject *owner;     /* strong: the proxy or proxy class */
        uint64_t handle;
        PyObject *name; /* str */
} ex_method;

typedef struct {
        PyObject_HEAD
        PyObject *name; /* str */
} ex_descriptor;

/* ---- helpers ---------------------------------------------------------- */

static int check_usable(ex_remote *p)
{
        if (!p->released)
                return 0;
        PyErr_SetString(p->session->st->ProtocolError,
                        "extradite: handle was released");
        return -1;
}

static int put_name(struct ex_buf *b, PyObject *name)
{
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(name, &n);

        if (!s)
                return -1;
        if (ex_put_str(b, s, (size_t)n) < 0) {
                PyErr_NoMemory();
                return -1;
        }
        return 0;
}

/* Encode (BACKREF handle, [name,] rest...) headers. */
static int put_target(struct ex_buf *b, uint32_t fields, uint64_t handle,
                      PyObject *name)
{
        if (ex_put_container(b, EX_TAG_TUPLE, fields) < 0 ||
            ex_put_handle(b, EX_TAG_BACKREF, handle) < 0) {
                PyErr_NoMemory();
                return -1;
        }
        return name ? put_name(b, name) : 0;
}

static int put_args_kwargs(ex_session *s, struct ex_buf *b, PyObject *args,
                           PyObject *kwargs)
{
        return ex_session_encode_args_tuple(s, args, kwargs, NULL, b);
}

/* Class-level session and handle of a proxy class, or NULL + TypeError. */
static ex_session *class_target(ex_state *st, PyTypeObject *tp,
                                uint64_t *handle)
{
        PyObject *s = _PyType_Lookup(tp, st->str_session);
        PyObject *h = _PyType_Lookup(tp, st->str_handle);

        if (!s || !h || !PyObject_TypeCheck(s, st->SessionType) ||
            !PyLong_CheckExact(h)) {
                PyErr_Format(PyExc_TypeError,
                             "%s instances are created by extradite(), not "
                             "directly",
                             tp->tp_name);
                return NULL;
        }
        *handle = PyLong_AsUnsignedLongLong(h);
        if (*handle == (uint64_t)-1 && PyErr_Occurred())
                return NULL;
        return (ex_session *)s;
}

/* ---- RemoteObject ------------------------------------------------------ */

static PyObject *remote_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
        ex_state *st = ex_state_of_type(tp);
        struct ex_buf b = {0};
        ex_session *s;
        uint64_t handle;
        PyObject *res = NULL;

        if (!st)
                return NULL;
        s = class_target(st, tp, &handle);
        if (!s)
                return NULL;
        if (put_target(&b, 3, handle, NULL) == 0 &&
            put_args_kwargs(s, &b, args, kw) == 0)
                res = ex_session_call(s, EX_OP_NEW, &b, tp);
        ex_buf_free(&b);
        return res;
}

static PyObject *remote_getattro(ex_remote *self, PyObject *name)
{
        struct ex_buf b = {0};
        PyObject *res = NULL;

        /* What the proxy class defines (close, methods, __class__, ...)
         * resolves locally; everything else is the remote object's. */
        if (_PyType_Lookup(Py_TYPE(self), name))
                return PyObject_GenericGetAttr((PyObject *)self, name);
        if (!PyUnicode_Check(name))
                return PyObject_GenericGetAttr((PyObject *)self, name);
        if (check_usable(self) < 0)
                return NULL;
        if (put_target(&b, 2, self->handle, name) == 0)
                res = ex_session_call(self->session, EX_OP_GETATTR, &b,
                                      self->session->st->RemoteObjectType);
        ex_buf_free(&b);
        return res;
}

static int remote_setattro(ex_remote *self, PyObject *name, PyObject *value)
{
        struct ex_buf b = {0};
        struct ex_codec_hooks hooks;
        PyObject *res = NULL;
        int r = -1;

        if (!PyUnicode_Check(name)) {
                PyErr_SetString(PyExc_TypeError,
                                "attribute name must be a string");
                return -1;
        }
        if (check_usable(self) < 0)
                return -1;
        ex_session_encode_hooks(self->session, &hooks);
        if (put_target(&b, value ? 3 : 2, self->handle, name) == 0 &&
            (!value || ex_encode(self->session->st, &hooks, value, &b,
                                 ex_limits_default().max_depth) == 0))
                res = ex_session_call(self->session,
                                      value ? EX_OP_SETATTR : EX_OP_DELATTR,
                                      &b, NULL);
        ex_buf_free(&b);
        if (res) {
                Py_DECREF(res);
                r = 0;
        }
        return r;
}

static PyObject *remote_call(ex_remote *self, PyObject *args, PyObject *kw)
{
        struct ex_buf b = {0};
        PyObject *res = NULL;

        if (check_usable(self) < 0)
                return NULL;
        if (put_target(&b, 3, self->handle, NULL) == 0 &&
            put_args_kwargs(self->session, &b, args, kw) == 0)
                res = ex_session_call(self->session, EX_OP_CALL, &b,
                                      self->session->st->RemoteObjectType);
        ex_buf_free(&b);
        return res;
}

static PyObject *remote_close(ex_remote *self, PyObject *Py_UNUSED(ignored))
{
        if (!self->released) {
                ex_session_forget(self->session, self);
                if (ex_session_flush(self->session) < 0)
                        return NULL;
        }
        Py_RETURN_NONE;
}

static int remote_traverse(ex_remote *self, visitproc visit, void *arg)
{
        Py_VISIT(Py_TYPE(self));
        Py_VISIT(self->session);
        return 0;
}

static void remote_dealloc(ex_remote *self)
{
        PyTypeObject *tp = Py_TYPE(self);

        PyObject_GC_UnTrack(self);
        if (self->session) {
                ex_session_forget(self->session, self);
                Py_CLEAR(self->session);
        }
        tp->tp_free(self);
        Py_DECREF(tp);
}

static PyMethodDef remote_methods[] = {
        {"close", (PyCFunction)remote_close, METH_NOARGS,
         "Release the remote object. Using the proxy afterwards raises "
         "ExtraditeProtocolError."},
        EX_REMOTE_OPS_METHODS,
        {NULL, NULL, 0, NULL},
};

static PyType_Slot remote_slots[] = {
        {Py_tp_new, remote_new},
        {Py_tp_getattro, remote_getattro},
        {Py_tp_setattro, remote_setattro},
        {Py_tp_call, remote_call},
        /* repr, str, hash, comparisons, iteration, items, operators */
        EX_REMOTE_OPS_SLOTS,
        {Py_tp_traverse, remote_traverse},
        {Py_tp_dealloc, remote_dealloc},
        {Py_tp_methods, remote_methods},
        {Py_tp_doc, "A proxy of an object that lives in an extradite child. "
                    "Attribute access, calls and attribute assignment run "
                    "there."},
        {0, NULL},
};

static PyType_Spec remote_spec = {
        .name = "extradite._core.RemoteObject",
        .basicsize = sizeof(ex_remote),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                 Py_TPFLAGS_BASETYPE,
        .slots = remote_slots,
};

/* ---- RemoteMethod ----------------------------------------------------- */

static PyObject *method_vectorcall(ex_method *self, PyObject *const *args,
                                   size_t nargsf, PyObject *kwnames)
{
        ex_session *s = self->session;
        struct ex_buf b;
        PyObject *res = NULL;

        if (PyObject_TypeCheck(self->owner, s->st->RemoteObjectType) &&
            check_usable((ex_remote *)self->owner) < 0)
                return NULL;
        ex_session_buf_take(s, &b);
        if (put_target(&b, 4, self->handle, self->name) == 0 &&
            ex_session_encode_args(s, args, PyVectorcall_NARGS(nargsf),
                                   kwnames, NULL, &b) == 0)
                res = ex_session_call(s, EX_OP_CALL_METHOD, &b,
                                      s->st->RemoteObjectType);
        ex_session_buf_give(s, &b);
        return res;
}

/* batch(calls, call_policy=None): see proxy_ops.h. */
static PyObject *method_batch(ex_method *self, PyObject *args, PyObject *kw)
{
        ex_state *st = self->session->st;

        if (PyObject_TypeCheck(self->owner, st->RemoteObjectType) &&
            check_usable((ex_remote *)self->owner) < 0)
                return NULL;
        return ex_remote_batch(self->session, self->handle, self->name, args,
                               kw);
}

static PyMethodDef method_methods[] = {
        {"batch", (PyCFunction)(void (*)(void))method_batch,
         METH_VARARGS | METH_KEYWORDS,
         "batch(calls, call_policy=None) -> list\n\nCall the method once per "
         "(args, kwargs) item of calls, in order, in one round trip, and "
         "return the results. The first exception stops the batch (the "
         "later calls are not made) and is raised here."},
        {NULL, NULL, 0, NULL},
};

static PyObject *method_repr(ex_method *self)
{
        PyObject *owner = self->owner;
        const char *tp = PyType_Check(owner) ? ((PyTypeObject *)owner)->tp_name
                                             : Py_TYPE(owner)->tp_name;
        return PyUnicode_FromFormat("<extradite remote method %s.%U>", tp,
                                    self->name);
}

static int method_traverse(ex_method *self, visitproc visit, void *arg)
{
        Py_VISIT(Py_TYPE(self));
        Py_VISIT(self->session);
        Py_VISIT(self->owner);
        return 0;
}

static int method_clear(ex_method *self)
{
        Py_CLEAR(self->session);
        Py_CLEAR(self->owner);
        Py_CLEAR(self->name);
        return 0;
}

static void method_dealloc(ex_method *self)
{
        PyTypeObject *tp = Py_TYPE(self);

        PyObject_GC_UnTrack(self);
        method_clear(self);
        tp->tp_free(self);
        Py_DECREF(tp);
}

static PyMemberDef method_members[] = {
        {"__name__", T_OBJECT, offsetof(ex_method, name), READONLY, NULL},
        {"__self__", T_OBJECT, offsetof(ex_method, owner), READONLY, NULL},
        {"__vectorcalloffset__", T_PYSSIZET, offsetof(ex_method, vectorcall),
         READONLY, NULL},
        {NULL, 0, 0, 0, NULL},
};

static PyType_Slot method_slots[] = {
        {Py_tp_call, PyVectorcall_Call},
        {Py_tp_repr, method_repr},
        {Py_tp_traverse, method_traverse},
        {Py_tp_clear, method_clear},
        {Py_tp_dealloc, method_dealloc},
        {Py_tp_members, method_members},
        {Py_tp_methods, method_methods},
        {Py_tp_doc, "A method of a remote object: calling it is one round "
                    "trip to the child."},
        {0, NULL},
};

static PyType_Spec method_spec = {
        .name = "extradite._core.RemoteMethod",
        .basicsize = sizeof(ex_method),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                 Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE |
                 Py_TPFLAGS_DISALLOW_INSTANTIATION,
        .slots = method_slots,
};

/* ---- MethodDescriptor ------------------------------------------------- */

static PyObject *descriptor_get(ex_descriptor *self, PyObject *obj,
                                PyObject *type)
{
        ex_state *st = ex_state_of_type(Py_TYPE(self));
        ex_session *s;
        ex_method *m;
        PyObject *owner;
        uint64_t handle;

        if (!st)
                return NULL;
        if (obj && PyObject_TypeCheck(obj, st->RemoteObjectType)) {
                ex_remote *p = (ex_remote *)obj;
                if (check_usable(p) < 0)
                        return NULL;
                s = p->session;
                handle = p->handle;
                owner = obj;
        } else {
                /* Looked up on the proxy class: call through the class. */
                owner = type ? type : (PyObject *)Py_TYPE(obj);
                s = class_target(st, (PyTypeObject *)owner, &handle);
                if (!s)
                        return NULL;
        }
        m = PyObject_GC_New(ex_method, st->RemoteMethodType);
        if (!m)
                return NULL;
        m->vectorcall = (vectorcallfunc)method_vectorcall;
        m->session = (ex_session *)Py_NewRef((PyObject *)s);
        m->owner = Py_NewRef(owner);
        m->handle = handle;
        m->name = Py_NewRef(self->name);
        PyObject_GC_Track(m);
        return (PyObject *)m;
}

static PyObject *descriptor_new(PyTypeObject *tp, PyObject *args,
                                PyObject *kw)
{
        ex_descriptor *self;
        PyObject *name;

        if (kw && PyDict_GET_SIZE(kw)) {
                PyErr_SetString(PyExc_TypeError,
                                "MethodDescriptor takes no keyword arguments");
                return NULL;
        }
        if (!PyArg_ParseTuple(args, "U:MethodDescriptor", &name))
                return NULL;
        self = (ex_descriptor *)tp->tp_alloc(tp, 0);
        if (self)
                self->name = Py_NewRef(name);
        return (PyObject *)self;
}

static int descriptor_traverse(ex_descriptor *self, visitproc visit, void *arg)
{
        Py_VISIT(Py_TYPE(self));
        return 0;
}

static void descriptor_dealloc(ex_descriptor *self)
{
        PyTypeObject *tp = Py_TYPE(self);

        PyObject_GC_UnTrack(self);
        Py_CLEAR(self->name);
        tp->tp_free(self);
        Py_DECREF(tp);
}

static PyMemberDef descriptor_members[] = {
        {"__name__", T_OBJECT, offsetof(ex_descriptor, name), READONLY, NULL},
        {NULL, 0, 0, 0, NULL},
};

static PyType_Slot descriptor_slots[] = {
        {Py_tp_new, descriptor_new},
        {Py_tp_descr_get, descriptor_get},
        {Py_tp_traverse, descriptor_traverse},
        {Py_tp_dealloc, descriptor_dealloc},
        {Py_tp_members, descriptor_members},
        {Py_tp_doc, "MethodDescriptor(name)\n\nA method of the remote class, "
                    "resolved on the proxy class without a round trip."},
        {0, NULL},
};

static PyType_Spec descriptor_spec = {
        .name = "extradite._core.MethodDescriptor",
        .basicsize = sizeof(ex_descriptor),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                 Py_TPFLAGS_IMMUTABLETYPE,
        .slots = descriptor_slots,
};

static PyTypeObject *add_type(PyObject *module, PyType_Spec *spec)
{
        PyTypeObject *tp =
                (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
        if (tp && PyModule_AddType(module, tp) < 0)
                Py_CLEAR(tp);
        return tp;
}

int ex_proxy_init_types(PyObject *module, ex_state *st)
{
        st->RemoteObjectType = add_type(module, &remote_spec);
        st->RemoteMethodType = add_type(module, &method_spec);
        st->MethodDescriptorType = add_type(module, &descriptor_spec);
        if (!st->RemoteObjectType || !st->RemoteMethodType ||
            !st->MethodDescriptorType)
                return -1;
        return ex_function_init_type(module);
}
