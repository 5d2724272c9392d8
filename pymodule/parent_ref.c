/* ParentRef: the child's proxy of an object the parent passed by handle
 * (a callback, a lock, a local class's instance). Calls, attribute reads,
 * writes and deletes go to the parent as requests; the parent decides what
 * a sandboxed child may reach (callbacks.c). Passing it back gives the
 * parent its own object. */
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

static PyObject *ref_getattro(ex_parent_ref *self, PyObject *name)
{
        struct child *c = child_of((PyObject *)self);
        struct ex_buf b = {0};

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
        if (usable(self, c) < 0 || put_head(&b, 2, self->id, name) < 0) {
                ex_buf_free(&b);
                return NULL;
        }
        return request(c, EX_OP_GETATTR, &b);
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

int ex_parent_ref_init_type(PyObject *module, ex_state *st)
{
        st->ParentRefType = (PyTypeObject *)PyType_FromModuleAndSpec(
                module, &ref_spec, NULL);
        return st->ParentRefType ? 0 : -1;
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
        if (ex_map_put(&c->parents, id, (uint64_t)(uintptr_t)p) < 0) {
                Py_DECREF(p);
                return PyErr_NoMemory();
        }
        return (PyObject *)p;
}

int ex_parent_ref_id(struct child *c, PyObject *o, uint64_t *id)
{
        ex_parent_ref *p = (ex_parent_ref *)o;

        if (!Py_IS_TYPE(o, c->st->ParentRefType))
                return 0;
        if (usable(p, c) < 0)
                return -1;
        *id = p->id;
        return 1;
}
