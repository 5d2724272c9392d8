/* The child's side: bootstrap, then serve requests until EOF (DESIGN §2).
 *
 * Runs in a fresh `python -I -S` started by the supervisor. Order matters:
 * read the bootstrap, set sys.path, confine the process (sandbox hook), and
 * only then import the target, on the first LOAD request. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "exports.h"
#include "frame.h"
#include "policy.h"
#include "seccomp_filter.h"

/* Cap what an error report carries; the rest is cut. */
#define MAX_MESSAGE_CHARS (64 * 1024)
#define MAX_TRACEBACK_CHARS (256 * 1024)

struct child {
        ex_state *st;
        int fd;
        struct ex_exports exports;
        struct ex_buf in, out;
        struct ex_limits limits;
        /* strict profiles: refuse file opens once the target is loaded */
        int lock_files_after_load;
        /* ids exported while encoding the current reply, to roll back if
         * the reply cannot be sent whole */
        uint64_t *fresh;
        size_t nfresh, capfresh;
};

static PyObject *child_decode_handle(void *ctx, uint8_t tag, uint64_t id)
{
        struct child *c = ctx;
        PyObject *o;

        if (tag != EX_TAG_BACKREF) {
                PyErr_SetString(c->st->UnsupportedInteractionError,
                                "extradite: objects of the parent cannot be "
                                "passed by handle yet");
                return NULL;
        }
        o = ex_exports_get(&c->exports, id);
        if (!o) {
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: handle was released");
                return NULL;
        }
        return Py_NewRef(o);
}

static int note_fresh(struct child *c, uint64_t id)
{
        if (c->nfresh == c->capfresh) {
                size_t cap = c->capfresh ? c->capfresh * 2 : 16;
                void *nv = PyMem_Realloc(c->fresh, cap * sizeof(*c->fresh));
                if (!nv) {
                        PyErr_NoMemory();
                        return -1;
                }
                c->fresh = nv;
                c->capfresh = cap;
        }
        c->fresh[c->nfresh++] = id;
        return 0;
}

/* What the codec cannot carry goes back as a handle: the parent never
 * unpickles anything a confined child made. */
static int child_encode_other(void *ctx, PyObject *o, struct ex_buf *b)
{
        struct child *c = ctx;
        uint64_t id;

        if (ex_exports_put(&c->exports, o, 0, &id) < 0)
                return -1;
        if (note_fresh(c, id) < 0 || ex_put_handle(b, EX_TAG_HANDLE, id) < 0) {
                ex_exports_release(&c->exports, id, 1);
                if (!PyErr_Occurred())
                        PyErr_NoMemory();
                return -1;
        }
        return 0;
}

static void rollback_fresh(struct child *c)
{
        for (size_t i = 0; i < c->nfresh; i++)
                ex_exports_release(&c->exports, c->fresh[i], 1);
        c->nfresh = 0;
}

static int send_frame(struct child *c, uint8_t kind,
                      const struct ex_frame_header *req)
{
        struct ex_frame_header h = {.length = (uint32_t)c->out.len,
                                    .kind = kind,
                                    .request_id = req->request_id,
                                    .chain_id = req->chain_id};
        int r;

        Py_BEGIN_ALLOW_THREADS
        r = ex_frame_send(c->fd, &h, c->out.data, (uint32_t)c->out.len);
        Py_END_ALLOW_THREADS
        return r;
}

/* ---- error reports ---------------------------------------------------- */

static PyObject *cut(PyObject *s, Py_ssize_t max)
{
        if (!s || PyUnicode_GET_LENGTH(s) <= max)
                return s;
        PyObject *r = PyUnicode_Substring(s, 0, max);
        Py_DECREF(s);
        return r;
}

static PyObject *format_traceback(PyObject *exc)
{
        PyObject *tb_mod = PyImport_ImportModule("traceback");
        PyObject *lines = NULL, *sep = NULL, *text = NULL;

        if (tb_mod) {
                lines = PyObject_CallMethod(
                        tb_mod, "format_exception", "OOO",
                        (PyObject *)Py_TYPE(exc), exc,
                        PyException_GetTraceback(exc) ?: Py_None);
                Py_DECREF(tb_mod);
        }
        sep = PyUnicode_FromString("");
        if (lines && sep)
                text = PyUnicode_Join(sep, lines);
        Py_XDECREF(lines);
        Py_XDECREF(sep);
        if (!text) {
                PyErr_Clear();
                text = PyUnicode_FromString("");
        }
        return cut(text, MAX_TRACEBACK_CHARS);
}

/* Exception args travel only when they are plain scalars: the report must
 * not smuggle handles or huge values. */
static PyObject *scalar_args(PyObject *exc, PyObject *message)
{
        PyObject *args = PyObject_GetAttrString(exc, "args");

        if (args && PyTuple_CheckExact(args) && PyTuple_GET_SIZE(args) <= 8) {
                int ok = 1;
                for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(args); i++) {
                        PyObject *a = PyTuple_GET_ITEM(args, i);
                        PyTypeObject *t = Py_TYPE(a);
                        ok = a == Py_None || t == &PyBool_Type ||
                             t == &PyLong_Type || t == &PyFloat_Type ||
                             (t == &PyUnicode_Type &&
                              PyUnicode_GET_LENGTH(a) <= MAX_MESSAGE_CHARS);
                }
                if (ok)
                        return args;
        }
        PyErr_Clear();
        Py_XDECREF(args);
        return PyTuple_Pack(1, message);
}

static long error_kind(ex_state *st, PyObject *exc)
{
        if (PyObject_TypeCheck(exc, (PyTypeObject *)st->ProtocolError))
                return EX_ERR_PROTOCOL;
        if (PyObject_TypeCheck(exc,
                               (PyTypeObject *)st->UnsupportedInteractionError))
                return EX_ERR_UNSUPPORTED;
        if (PyObject_TypeCheck(exc, (PyTypeObject *)st->ModuleLeakError))
                return EX_ERR_LEAK;
        return EX_ERR_REMOTE;
}

/* Turn the raised exception into an encoded report in c->out. */
static int encode_error(struct child *c)
{
        PyObject *exc = PyErr_GetRaisedException();
        PyObject *tp = (PyObject *)Py_TYPE(exc);
        PyObject *module = PyObject_GetAttrString(tp, "__module__");
        PyObject *name = PyObject_GetAttrString(tp, "__qualname__");
        PyObject *message = cut(PyObject_Str(exc), MAX_MESSAGE_CHARS);
        PyObject *tb, *args, *report = NULL;
        struct ex_codec_hooks hooks = {.ctx = c,
                                       .encode_other = child_encode_other};
        int r = -1;

        PyErr_Clear();
        if (!module || !PyUnicode_Check(module))
                Py_XSETREF(module, PyUnicode_FromString("builtins"));
        if (!name || !PyUnicode_Check(name))
                Py_XSETREF(name, PyUnicode_FromString(Py_TYPE(exc)->tp_name));
        if (!message)
                message = PyUnicode_FromString("<unprintable exception>");
        PyErr_Clear();
        tb = format_traceback(exc);
        args = message ? scalar_args(exc, message) : NULL;
        if (module && name && message && tb && args)
                report = Py_BuildValue("(lOOOOO)", error_kind(c->st, exc),
                                       module, name, message, tb, args);
        ex_buf_reset(&c->out);
        if (report)
                r = ex_encode(c->st, &hooks, report, &c->out, 4);
        if (r < 0) {
                /* e.g. a message that is not valid UTF-8 */
                PyErr_Clear();
                ex_buf_reset(&c->out);
                Py_XSETREF(report,
                           Py_BuildValue("(lsssss())", (long)EX_ERR_REMOTE,
                                         "builtins", "RuntimeError",
                                         "extradite: the child could not "
                                         "report an exception",
                                         ""));
                r = report ? ex_encode(c->st, &hooks, report, &c->out, 4) : -1;
        }
        Py_XDECREF(report);
        Py_XDECREF(args);
        Py_XDECREF(tb);
        Py_XDECREF(message);
        Py_XDECREF(name);
        Py_XDECREF(module);
        Py_DECREF(exc);
        return r;
}

/* ---- requests --------------------------------------------------------- */

static int is_method(PyObject *v)
{
        if (PyObject_TypeCheck(v, &PyStaticMethod_Type) ||
            PyObject_TypeCheck(v, &PyClassMethod_Type))
                return 1;
        return PyCallable_Check(v) && !PyType_Check(v);
}

/* Sorted names of the class's public and private (not dunder) methods:
 * the parent binds these locally, so a call is one round trip. */
static PyObject *method_names(PyObject *cls)
{
        PyObject *mro = PyObject_GetAttrString(cls, "__mro__");
        PyObject *names = PySet_New(NULL), *list = NULL, *res = NULL;

        if (!mro || !names || !PyTuple_Check(mro))
                goto out;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
                PyObject *base = PyTuple_GET_ITEM(mro, i);
                PyObject *d, *items;
                if (base == (PyObject *)&PyBaseObject_Type)
                        continue;
                d = PyObject_GetAttrString(base, "__dict__");
                items = d ? PyMapping_Items(d) : NULL;
                Py_XDECREF(d);
                if (!items)
                        goto out;
                for (Py_ssize_t j = 0; j < PyList_GET_SIZE(items); j++) {
                        PyObject *kv = PyList_GET_ITEM(items, j);
                        PyObject *k = PyTuple_GET_ITEM(kv, 0);
                        Py_ssize_t n;
                        if (!PyUnicode_Check(k))
                                continue;
                        n = PyUnicode_GET_LENGTH(k);
                        if (n > 4 && PyUnicode_READ_CHAR(k, 0) == '_' &&
                            PyUnicode_READ_CHAR(k, 1) == '_' &&
                            PyUnicode_READ_CHAR(k, n - 1) == '_' &&
                            PyUnicode_READ_CHAR(k, n - 2) == '_')
                                continue;
                        if (is_method(PyTuple_GET_ITEM(kv, 1)) &&
                            PySet_Add(names, k) < 0) {
                                Py_DECREF(items);
                                goto out;
                        }
                }
                Py_DECREF(items);
        }
        list = PySequence_List(names);
        if (list && PyList_Sort(list) == 0)
                res = PyList_AsTuple(list);
out:
        Py_XDECREF(list);
        Py_XDECREF(names);
        Py_XDECREF(mro);
        return res;
}

static PyObject *resolve(PyObject *modname, PyObject *qualname)
{
        PyObject *obj = PyImport_Import(modname), *dot, *parts;

        if (!obj)
                return NULL;
        dot = PyUnicode_FromString(".");
        parts = dot ? PyUnicode_Split(qualname, dot, -1) : NULL;
        Py_XDECREF(dot);
        for (Py_ssize_t i = 0; parts && obj && i < PyList_GET_SIZE(parts);
             i++)
                Py_SETREF(obj, PyObject_GetAttr(obj, PyList_GET_ITEM(parts, i)));
        if (!parts)
                Py_CLEAR(obj);
        Py_XDECREF(parts);
        return obj;
}

static PyObject *attr_or_none(PyObject *o, const char *name)
{
        PyObject *v = PyObject_GetAttrString(o, name);

        if (v && PyUnicode_Check(v))
                return v;
        PyErr_Clear();
        Py_XDECREF(v);
        Py_RETURN_NONE;
}

/* Stack the filter that refuses file opens from now on. */
static int lock_files(void)
{
        scmp_filter_ctx ctx = NULL;
        int r = ex_seccomp_build_no_open(&ctx);

        if (r == 0)
                r = ex_seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                fprintf(stderr, "extradite child: cannot refuse file opens "
                                "after the import: %s\n", strerror(-r));
        return r;
}

/* (target, kind, name, qualname, module, methods, doc); the target is
 * pinned in the export table: a loaded target lives as long as the child. */
static PyObject *do_load(struct child *c, PyObject *modname, PyObject *qualname)
{
        PyObject *obj = resolve(modname, qualname), *methods, *res;
        const char *kind;
        uint64_t id;

        if (!obj)
                return NULL;
        if (c->lock_files_after_load && lock_files() < 0)
                _exit(3); /* fail closed: never serve an unlocked target */
        c->lock_files_after_load = 0;
        if (PyType_Check(obj)) {
                kind = "class";
                methods = method_names(obj);
        } else if (PyCallable_Check(obj)) {
                kind = "function";
                methods = PyTuple_New(0);
        } else {
                PyErr_Format(PyExc_TypeError,
                             "extradite target %U:%U is a '%s', not a class "
                             "or function",
                             modname, qualname, Py_TYPE(obj)->tp_name);
                Py_DECREF(obj);
                return NULL;
        }
        if (!methods || ex_exports_put(&c->exports, obj, 1, &id) < 0) {
                Py_XDECREF(methods);
                Py_DECREF(obj);
                return NULL;
        }
        res = Py_BuildValue("(OsNNNON)", obj, kind, attr_or_none(obj, "__name__"),
                            attr_or_none(obj, "__qualname__"),
                            attr_or_none(obj, "__module__"), methods,
                            attr_or_none(obj, "__doc__"));
        /* The put above counted one send; the encoder counts its own. */
        ex_exports_release(&c->exports, id, 1);
        Py_DECREF(methods);
        Py_DECREF(obj);
        return res;
}

static PyObject *call_with(PyObject *fn, PyObject *args, PyObject *kwargs)
{
        return PyObject_Call(fn, args,
                             PyDict_GET_SIZE(kwargs) ? kwargs : NULL);
}

/* Run one request. Returns the result (new reference) or NULL with an
 * exception. *as_handle is set when the result must travel as a handle. */
static PyObject *dispatch(struct child *c, uint8_t op, PyObject *req,
                          int *as_handle)
{
        PyObject *obj, *name, *args, *kwargs, *value, *fn, *res;

        *as_handle = 0;
        switch (op) {
        case EX_OP_LOAD:
                if (!PyArg_ParseTuple(req, "UU", &name, &value))
                        break;
                return do_load(c, name, value);
        case EX_OP_NEW:
                if (!PyArg_ParseTuple(req, "OO!O!", &obj, &PyTuple_Type, &args,
                                      &PyDict_Type, &kwargs))
                        break;
                *as_handle = 1;
                return call_with(obj, args, kwargs);
        case EX_OP_CALL:
                if (!PyArg_ParseTuple(req, "OO!O!", &obj, &PyTuple_Type, &args,
                                      &PyDict_Type, &kwargs))
                        break;
                return call_with(obj, args, kwargs);
        case EX_OP_CALL_METHOD:
                if (!PyArg_ParseTuple(req, "OUO!O!", &obj, &name, &PyTuple_Type,
                                      &args, &PyDict_Type, &kwargs))
                        break;
                fn = PyObject_GetAttr(obj, name);
                if (!fn)
                        return NULL;
                res = call_with(fn, args, kwargs);
                Py_DECREF(fn);
                return res;
        case EX_OP_GETATTR:
                if (!PyArg_ParseTuple(req, "OU", &obj, &name))
                        break;
                return PyObject_GetAttr(obj, name);
        case EX_OP_SETATTR:
                if (!PyArg_ParseTuple(req, "OUO", &obj, &name, &value))
                        break;
                return PyObject_SetAttr(obj, name, value) < 0
                               ? NULL
                               : Py_NewRef(Py_None);
        case EX_OP_DELATTR:
                if (!PyArg_ParseTuple(req, "OU", &obj, &name))
                        break;
                return PyObject_DelAttr(obj, name) < 0 ? NULL
                                                       : Py_NewRef(Py_None);
        default:
                break;
        }
        PyErr_Clear();
        PyErr_Format(c->st->ProtocolError,
                     "extradite: malformed request (op %d)", (int)op);
        return NULL;
}

static int serve_call(struct child *c, const struct ex_frame_header *h)
{
        struct ex_codec_hooks hooks = {.ctx = c,
                                       .encode_other = child_encode_other,
                                       .decode_handle = child_decode_handle};
        PyObject *req, *res = NULL;
        int as_handle = 0, ok = 0, r;

        req = ex_decode_all(c->st, &hooks, c->in.data, c->in.len, &c->limits);
        if (req && PyTuple_Check(req))
                res = dispatch(c, h->op, req, &as_handle);
        else if (req)
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: malformed request");
        Py_XDECREF(req);

        ex_buf_reset(&c->out);
        c->nfresh = 0;
        if (res) {
                ok = (as_handle ? child_encode_other(c, res, &c->out)
                                : ex_encode(c->st, &hooks, res, &c->out,
                                            c->limits.max_depth)) == 0;
                Py_DECREF(res);
        }
        if (!ok) {
                /* Nothing of a half-encoded reply reaches the parent. */
                rollback_fresh(c);
                if (encode_error(c) < 0)
                        return -EBADMSG;
        }
        r = send_frame(c, ok ? EX_MSG_REPLY : EX_MSG_ERROR, h);
        if (r < 0)
                rollback_fresh(c);
        ex_buf_trim(&c->out, 1u << 20);
        ex_buf_trim(&c->in, 1u << 20);
        return r;
}

/* RELEASE: [id, count, id, count, ...]; read straight from the frame. */
static int serve_release(struct child *c)
{
        struct ex_reader r;
        struct ex_item id, count, list;

        ex_reader_init(&r, c->in.data, c->in.len, &c->limits);
        if (ex_read(&r, &list) < 0 || list.tag != EX_TAG_LIST ||
            list.v.count % 2)
                return -EBADMSG;
        for (uint32_t i = 0; i < list.v.count; i += 2) {
                if (ex_read(&r, &id) < 0 || ex_read(&r, &count) < 0 ||
                    id.tag != EX_TAG_INT || count.tag != EX_TAG_INT ||
                    count.v.i < 0 || count.v.i > UINT32_MAX)
                        return -EBADMSG;
                /* An unknown id is the parent's bug, not worth dying for. */
                ex_exports_release(&c->exports, (uint64_t)id.v.i,
                                   (uint32_t)count.v.i);
        }
        return ex_reader_finish(&r);
}

/* Confine this process as the profile dict says; returns the report dict
 * (None without a profile) or NULL with an exception. */
static PyObject *confine(struct child *c, PyObject *profile)
{
        struct ex_policy policy;
        struct ex_sandbox_report rep;
        char err[256];
        PyObject *name;
        int r;

        if (profile == Py_None)
                return Py_NewRef(Py_None);
        if (ex_policy_from_dict(profile, &policy) < 0)
                return NULL;
        name = PyDict_GetItemString(profile, "name");
        r = ex_sandbox_apply(&policy, &rep, err, sizeof(err));
        if (r < 0) {
                PyErr_Format(PyExc_OSError,
                             "extradite: could not confine the child: %s",
                             err);
                return NULL;
        }
        c->lock_files_after_load = policy.seccomp && !policy.files_after_load;
        return ex_report_to_dict(&rep, name ? name : Py_None);
}

/* BOOT: (sys_path, {"sandbox": profile dict or None}). The reply, sent
 * before anything untrusted runs, is the sandbox report. */
static int boot(struct child *c, const struct ex_frame_header *h)
{
        struct ex_codec_hooks hooks = {.ctx = c,
                                       .encode_other = child_encode_other,
                                       .decode_handle = child_decode_handle};
        PyObject *msg = NULL, *options, *profile, *report = NULL;
        int r;

        if (h->kind != EX_MSG_BOOT) {
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: expected the bootstrap message");
                goto fail;
        }
        msg = ex_decode_all(c->st, &hooks, c->in.data, c->in.len, &c->limits);
        if (!msg)
                goto fail;
        if (!PyTuple_Check(msg) || PyTuple_GET_SIZE(msg) != 2 ||
            !PyList_Check(PyTuple_GET_ITEM(msg, 0)) ||
            !PyDict_Check(PyTuple_GET_ITEM(msg, 1))) {
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: malformed bootstrap message");
                goto fail;
        }
        if (PySys_SetObject("path", PyTuple_GET_ITEM(msg, 0)) < 0)
                goto fail;
        options = PyTuple_GET_ITEM(msg, 1);
        profile = PyDict_GetItemString(options, "sandbox");
        /* Landlock, seccomp and the rest, before anything untrusted is
         * imported. */
        report = confine(c, profile ? profile : Py_None);
        if (!report)
                goto fail;
        Py_CLEAR(msg);
        ex_buf_reset(&c->out);
        r = ex_encode(c->st, &hooks, report, &c->out, c->limits.max_depth);
        Py_DECREF(report);
        if (r < 0)
                goto fail;
        return send_frame(c, EX_MSG_REPLY, h) < 0 ? -1 : 0;
fail:
        Py_XDECREF(msg);
        if (encode_error(c) == 0)
                send_frame(c, EX_MSG_ERROR, h);
        return -1;
}

static void flush_stdio(void)
{
        const char *names[] = {"stdout", "stderr"};

        for (size_t i = 0; i < 2; i++) {
                PyObject *f = PySys_GetObject(names[i]);
                PyObject *r = f && f != Py_None
                                      ? PyObject_CallMethod(f, "flush", NULL)
                                      : NULL;
                Py_XDECREF(r);
                PyErr_Clear();
        }
        fflush(NULL);
}

static int serve(struct child *c)
{
        struct ex_frame_header h;
        int r;

        for (;;) {
                Py_BEGIN_ALLOW_THREADS
                r = ex_frame_recv(c->fd, EX_FRAME_MAX_DEFAULT, -1, -1, &h,
                                  &c->in);
                Py_END_ALLOW_THREADS
                if (r == -EPIPE)
                        return 0; /* the parent closed the session */
                if (r < 0)
                        return r;
                if (h.kind == EX_MSG_CALL)
                        r = serve_call(c, &h);
                else if (h.kind == EX_MSG_RELEASE)
                        r = serve_release(c);
                else
                        r = -EBADMSG;
                if (r == -EPIPE)
                        return 0;
                if (r < 0)
                        return r;
        }
}

PyObject *ex_child_main(PyObject *module, PyObject *Py_UNUSED(unused))
{
        struct child c = {.st = ex_state_of_module(module),
                          .fd = EX_CHILD_CHANNEL_FD,
                          .limits = ex_limits_default()};
        struct ex_frame_header h;
        int r, code = 0;

        /* The parent is trusted: its values may arrive as pickles. */
        c.limits.allow_pickle = true;
        Py_BEGIN_ALLOW_THREADS
        r = ex_frame_recv(c.fd, EX_FRAME_MAX_DEFAULT, -1, -1, &h, &c.in);
        Py_END_ALLOW_THREADS
        if (r < 0)
                code = r == -EPIPE ? 0 : 2;
        else if (boot(&c, &h) < 0)
                code = 1;
        else if ((r = serve(&c)) < 0) {
                fprintf(stderr, "extradite child: channel error: %s\n",
                        strerror(-r));
                code = 2;
        }
        /* Drop the objects the parent held so their finalizers run, then
         * leave without the interpreter's slow teardown. */
        ex_exports_clear(&c.exports);
        PyErr_Clear();
        flush_stdio();
        _exit(code);
}
