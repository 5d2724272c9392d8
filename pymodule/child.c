/* The child's side: bootstrap, then serve requests until EOF (DESIGN §2).
 *
 * Runs in a fresh `python -I -S` started by the supervisor. Order matters:
 * read the bootstrap, set sys.path, confine the process (sandbox hook), and
 * only then import the target, on the first LOAD request. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "child_compile.h"
#include "convert.h"
#include "errors.h"
#include "exports.h"
#include "frame.h"
#include "ops_apply.h"
#include "policy.h"
#include "pymalloc_cache.h"
#include "seccomp_filter.h"
#include "stdvalues.h"
#include "watchdog.h"

static PyObject *child_decode_handle(void *ctx, uint8_t tag, uint64_t id)
{
        struct child *c = ctx;
        PyObject *o;

        if (tag == EX_TAG_HANDLE)
                return ex_parent_ref_get(c, id); /* a parent object */
        o = ex_exports_get(&c->exports, id);
        if (!o) {
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: handle was released");
                return NULL;
        }
        return Py_NewRef(o);
}

static PyObject *child_decode_type_handle(void *ctx, uint64_t id,
                                          const uint8_t *name, size_t n)
{
        return ex_parent_class_get(ctx, id, name, n);
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

/* Unconfined only: a picklable value outside the protected tree goes as
 * a pickle. 1 if it did, 0 to send a handle instead, -1 with an error (an
 * object of the protected tree inside the value). */
static int pickled(struct child *c, PyObject *o, struct ex_buf *b)
{
        PyObject *r = PyObject_CallMethod(c->pickler, "is_protected", "OO", o,
                                          c->protected);
        int prot = r ? PyObject_IsTrue(r) : -1;

        Py_XDECREF(r);
        if (prot != 0)
                return prot < 0 ? -1 : 0; /* the object itself: a handle */
        r = PyObject_CallMethod(c->pickler, "dumps", "OOO", o, c->protected,
                                c->st->UnsupportedInteractionError);
        if (!r) {
                if (PyErr_ExceptionMatches(c->st->UnsupportedInteractionError))
                        return -1;
                PyErr_Clear(); /* not picklable: a handle */
                return 0;
        }
        if (ex_put_blob(b, EX_TAG_PICKLE, PyBytes_AS_STRING(r),
                        (size_t)PyBytes_GET_SIZE(r)) < 0) {
                Py_DECREF(r);
                PyErr_SetString(PyExc_ValueError,
                                "extradite: value too large for one message");
                return -1;
        }
        Py_DECREF(r);
        return 1;
}

/* What the codec cannot carry goes back as a handle (or, unconfined, as a
 * pickle): the parent never unpickles anything a confined child made. */
static int child_encode_other(void *ctx, PyObject *o, struct ex_buf *b)
{
        struct child *c = ctx;
        uint64_t id;
        int r = ex_parent_ref_id(c, o, &id);

        if (r != 0) {
                /* The parent's own object goes back as itself. */
                if (r > 0 && ex_put_handle(b, EX_TAG_BACKREF, id) < 0) {
                        PyErr_NoMemory();
                        return -1;
                }
                return r > 0 ? 0 : -1;
        }
        if (c->pickler && (r = pickled(c, o, b)) != 0)
                return r < 0 ? -1 : 0;
        if (ex_exports_put(&c->exports, o, NULL, 0, 0, &id) < 0)
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

void ex_child_hooks(struct child *c, struct ex_codec_hooks *h)
{
        *h = (struct ex_codec_hooks){.ctx = c,
                                     .encode_other = child_encode_other,
                                     .decode_handle = child_decode_handle,
                                     .decode_type_handle =
                                             child_decode_type_handle,
                                     .out_of_band = true,
                                     .arena = &c->up};
}

/* Send the parent handles dropped since our last frame. */
static int flush_releases(struct child *c)
{
        struct ex_buf rel = {0};
        struct ex_frame_header h = {.kind = EX_MSG_RELEASE};
        int r = 0;

        if (c->rel.n == 0)
                return 0;
        ex_release_queue_take(&c->rel, &rel);
        if (rel.len) {
                h.length = (uint32_t)rel.len;
                Py_BEGIN_ALLOW_THREADS
                r = ex_frame_send_tx_raw(c->fd, &c->tx, &h, rel.data,
                                         (uint32_t)rel.len, -1);
                Py_END_ALLOW_THREADS
        }
        ex_buf_free(&rel);
        return r;
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
        r = ex_frame_send_tx(c->fd, &c->tx, &h, &c->out, -1);
        ex_fds_close(&c->out.fds); /* the parent has its own now */
        Py_END_ALLOW_THREADS
        /* Releases go after the reply: the reply may name a handle whose
         * last reference here died while it was encoded. */
        return r < 0 ? r : flush_releases(c);
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

/* The target's whole top-level package is protected from value
 * transfers to the parent. */
static int protect(struct child *c, PyObject *modname)
{
        PyObject *top, *dot = PyUnicode_FromString(".");
        int r;

        top = dot ? PyUnicode_Split(modname, dot, 1) : NULL;
        Py_XDECREF(dot);
        if (!top)
                return -1;
        r = PySet_Add(c->protected, PyList_GET_ITEM(top, 0));
        Py_DECREF(top);
        return r;
}

/* The package a target was loaded from, and the one that defines it when
 * another re-exports it: pickling the target (or its instances) would
 * import that in the parent, and the target must come back as a handle. */
static int protect_target(struct child *c, PyObject *modname, PyObject *obj)
{
        PyObject *defined;
        int r = protect(c, modname);

        if (r < 0)
                return r;
        defined = PyObject_GetAttrString(obj, "__module__");
        if (!defined) {
                PyErr_Clear();
                return 0;
        }
        r = PyUnicode_Check(defined) ? protect(c, defined) : 0;
        Py_DECREF(defined);
        return r;
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
        PyObject *late;
        const char *kind;
        uint64_t id;

        if (!obj)
                return NULL;
        /* The decoder imports datetime & co. on first use: do it while
         * files can still be opened. */
        if (c->lock_files_after_load && ex_convert_preload(c->st) < 0)
                PyErr_Clear();
        late = c->lock_files_after_load
                       ? PyImport_ImportModule("extradite._late_import")
                       : NULL;
        if (c->lock_files_after_load && lock_files() < 0)
                _exit(3); /* fail closed: never serve an unlocked target */
        /* Imports that need a file now fail; say why (_late_import.py). */
        if (late) {
                Py_XDECREF(PyObject_CallMethod(late, "install", NULL));
                Py_DECREF(late);
        }
        PyErr_Clear();
        if (c->protected && protect_target(c, modname, obj) < 0) {
                Py_DECREF(obj);
                return NULL;
        }
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
        if (!methods || ex_exports_put(&c->exports, obj, NULL, 1, 0, &id) < 0) {
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

/* Run one request. Returns the result (new reference) or NULL with an
 * exception. *as_handle is set when the result must travel as a handle. */
static PyObject *dispatch(struct child *c, uint8_t op, PyObject *req,
                          int *as_handle)
{
        PyObject *obj, *name, *args, *kwargs, *value;

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
                return PyObject_Call(obj, args,
                                     PyDict_GET_SIZE(kwargs) ? kwargs : NULL);
        case EX_OP_PING:
                return Py_NewRef(Py_None);
        default:
                /* everything else is served alike by both sides */
                return ex_apply_request(c->st, op, req, NULL, NULL, as_handle);
        }
        PyErr_Clear();
        PyErr_Format(c->st->ProtocolError,
                     "extradite: malformed request (op %d)", (int)op);
        return NULL;
}

static int serve_call(struct child *c, const struct ex_frame_header *h)
{
        struct ex_codec_hooks hooks;
        PyObject *req, *res = NULL;
        int as_handle = 0, ok = 0, r;

        ex_child_hooks(c, &hooks);
        req = ex_decode_buf(c->st, &hooks, &c->in, &c->limits);
        c->depth++;
        if (c->depth <= EX_MAX_NESTING)
                c->chain[c->depth - 1] = h->request_id;
        if (req && c->depth > EX_MAX_NESTING)
                PyErr_Format(c->st->UnsupportedInteractionError,
                             "extradite: calls and callbacks nested deeper "
                             "than %d",
                             EX_MAX_NESTING);
        else if (req && PyTuple_Check(req))
                res = dispatch(c, h->op, req, &as_handle);
        else if (req)
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: malformed request");
        c->depth--;
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
                if (ex_encode_error(c->st, 1, child_encode_other, c,
                                    &c->out) < 0)
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
        return ex_exports_release_payload(&c->exports, c->in.data, c->in.len,
                                          &c->limits);
}

/* transport.child_pickle of the profile (checked by the parent). */
static int wants_child_pickle(PyObject *profile)
{
        PyObject *t = PyDict_GetItemString(profile, "transport");
        PyObject *v = t && PyDict_Check(t)
                              ? PyDict_GetItemString(t, "child_pickle")
                              : NULL;

        return v == Py_True;
}

/* Confine this process as the profile dict says (with the filter the
 * parent compiled, from `options`); returns the report dict (None without
 * a profile) or NULL with an exception. */
static PyObject *confine(struct child *c, PyObject *profile,
                         PyObject *options)
{
        struct ex_policy policy;
        struct ex_sandbox_report rep;
        char err[256];
        PyObject *name;
        int r;

        if (profile == Py_None) {
                /* Nothing to apply; still never outlive the parent. */
                r = ex_watchdog_start();
                if (r < 0)
                        return ex_raise_errno(PyExc_OSError, r,
                                              "cannot start the thread "
                                              "that watches the parent");
                return Py_NewRef(Py_None);
        }
        if (ex_policy_from_dict(profile, &policy) < 0 ||
            ex_policy_take_filter(options, &policy) < 0)
                return NULL;
        /* Started inside the lock-down, between Landlock and seccomp. Not
         * while learning: that filter has no TSYNC, so the thread would
         * run unfiltered (a learning child relies on its channel's EOF
         * and, from the main thread, PDEATHSIG). */
        policy.watchdog = !policy.learn;
        name = PyDict_GetItemString(profile, "name");
        r = ex_sandbox_apply(&policy, &rep, err, sizeof(err));
        if (r < 0) {
                PyErr_Format(PyExc_OSError,
                             "extradite: could not confine the child: %s",
                             err);
                return NULL;
        }
        /* Learning records opens after the load instead of refusing them. */
        c->lock_files_after_load =
                policy.seccomp && !policy.files_after_load && !policy.learn;
        c->learn_fd = rep.notify_fd;
        if (wants_child_pickle(profile)) {
                c->pickler = PyImport_ImportModule("extradite._child_pickle");
                c->protected = PySet_New(NULL);
                if (!c->pickler || !c->protected)
                        return NULL;
        }
        return ex_report_to_dict(&rep, name ? name : Py_None);
}

static void prepare_imports(PyObject *hint)
{
        PyObject *m, *r;

        if (!hint || !PyDict_Check(hint))
                return;
        m = PyImport_ImportModule("extradite._imports");
        r = m ? PyObject_CallMethod(m, "prepare", "O", hint) : NULL;
        Py_XDECREF(r);
        Py_XDECREF(m);
        PyErr_Clear();
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
        /* The arenas come with it, mapped before anything else runs; a
         * parent without them sends none. */
        if (c->in.fds.n == 2 &&
            ex_arena_pair_map(&c->down, &c->up, c->in.fds.fd[0],
                              c->in.fds.fd[1]) == 0 &&
            ex_arena_rings(&c->down, &c->up, &c->down_ring,
                           &c->up_ring) == 0) {
                c->rx.ring = &c->down_ring;
                c->tx.ring = &c->up_ring;
        }
        if (c->in.fds.n != 0 && !c->down.map) {
                PyErr_SetString(c->st->ProtocolError,
                                "extradite: the bootstrap message came with "
                                "fds that are not the two arenas");
                goto fail;
        }
        ex_fds_close(&c->in.fds);
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
        /* Our ring to the parent, once our report is out, if it reads it. */
        if (PyDict_GetItemString(options, "rings") != Py_True)
                c->tx.ring = NULL;
        /* The target's package in a folder not granted whole, and why
         * an import from there is refused (_imports.py): set up while
         * that folder can still be listed. Best effort. */
        prepare_imports(PyDict_GetItemString(options, "imports"));
        /* Landlock, seccomp and the rest, before anything untrusted is
         * imported. */
        report = confine(c, profile ? profile : Py_None, options);
        if (!report)
                goto fail;
        Py_CLEAR(msg);
        ex_buf_reset(&c->out);
        r = ex_encode(c->st, &hooks, report, &c->out, c->limits.max_depth);
        Py_DECREF(report);
        if (r < 0)
                goto fail;
        /* Learning: the seccomp listener rides along with the report; the
         * parent answers our notifications from now on. */
        if (c->learn_fd >= 0) {
                r = ex_fds_push(&c->out.fds, c->learn_fd);
                if (r < 0)
                        close(c->learn_fd);
                c->learn_fd = -1;
                if (r < 0) {
                        PyErr_SetString(PyExc_OSError,
                                        "extradite: cannot send the seccomp "
                                        "listener");
                        goto fail;
                }
        }
        if (send_frame(c, EX_MSG_REPLY, h) < 0)
                return -1;
        /* The report went on the socket; from here on, the ring. */
        if (c->tx.ring && ex_tx_switch(c->fd, &c->tx, -1) < 0)
                return -1;
        return 0;
fail:
        Py_XDECREF(msg);
        if (ex_encode_error(c->st, 1, child_encode_other, c, &c->out) == 0)
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

/* A reply for one of our outer requests, read while an inner one waited:
 * keep it for later. Replies for anything else break the protocol. */
static int keep_early(struct child *c, const struct ex_frame_header *h)
{
        int asked = 0;

        for (int i = 0; i < c->nasking; i++)
                asked |= c->asking[i] == h->request_id;
        for (int i = 0; i < c->nearly; i++)
                if (c->early[i].id == h->request_id)
                        asked = 0;
        if (!asked || c->nearly > EX_MAX_NESTING)
                return -EBADMSG;
        c->early[c->nearly++] = (struct early_reply){h->request_id, *h, c->in};
        c->in = (struct ex_buf){0}; /* ownership moved */
        return 0;
}

/* Our reply, if it came early: moved into c->in. */
static int take_early(struct child *c, uint32_t id, struct ex_frame_header *h)
{
        for (int i = 0; i < c->nearly; i++)
                if (c->early[i].id == id) {
                        ex_buf_free(&c->in);
                        c->in = c->early[i].in;
                        *h = c->early[i].h;
                        c->early[i] = c->early[--c->nearly];
                        return 1;
                }
        return 0;
}

PyObject *ex_child_request(struct child *c, uint8_t op,
                           struct ex_buf *payload)
{
        struct ex_codec_hooks hooks;
        struct ex_frame_header h = {.length = (uint32_t)payload->len,
                                    .kind = EX_MSG_CALL,
                                    .op = op},
                               rh;
        PyObject *v;
        int r;

        /* The parent reads only while it waits on us: a request from
         * anywhere else would wait forever. */
        if (c->depth == 0 || PyThread_get_thread_ident() != c->serving) {
                PyErr_SetString(c->st->UnsupportedInteractionError,
                                "extradite: parent objects can only be used "
                                "while the parent is calling into this "
                                "child, from the thread serving that call");
                return NULL;
        }
        if (c->depth >= EX_MAX_NESTING || c->nasking >= EX_MAX_NESTING) {
                PyErr_Format(c->st->UnsupportedInteractionError,
                             "extradite: calls and callbacks nested deeper "
                             "than %d",
                             EX_MAX_NESTING);
                return NULL;
        }
        if (++c->next_id == 0)
                c->next_id = 1;
        h.request_id = c->next_id;
        h.chain_id = c->chain[c->depth - 1];
        r = flush_releases(c);
        if (r == 0) {
                Py_BEGIN_ALLOW_THREADS
                r = ex_frame_send_tx(c->fd, &c->tx, &h, payload, -1);
                Py_END_ALLOW_THREADS
        }
        c->asking[c->nasking++] = h.request_id;
        /* Serve what the parent asks meanwhile (it may call back into us)
         * until our reply comes. */
        while (r == 0 && !take_early(c, h.request_id, &rh)) {
                Py_BEGIN_ALLOW_THREADS
                r = ex_frame_recv_rx(c->fd, EX_FRAME_MAX_DEFAULT, -1, -1,
                                     &c->rx, &rh, &c->in);
                Py_END_ALLOW_THREADS
                if (r < 0)
                        break;
                if (rh.kind == EX_MSG_CALL)
                        r = serve_call(c, &rh);
                else if (rh.kind == EX_MSG_RELEASE)
                        r = serve_release(c);
                else if ((rh.kind == EX_MSG_REPLY ||
                          rh.kind == EX_MSG_ERROR) &&
                         rh.request_id == h.request_id)
                        break;
                else if (rh.kind == EX_MSG_REPLY || rh.kind == EX_MSG_ERROR)
                        r = keep_early(c, &rh);
                else
                        r = -EBADMSG;
        }
        c->nasking--;
        if (r < 0)
                return ex_raise_errno(c->st->ProtocolError, r,
                                      "the channel to the parent failed");
        ex_child_hooks(c, &hooks);
        v = ex_decode_buf(c->st, &hooks, &c->in, &c->limits);
        if (v && rh.kind == EX_MSG_ERROR) {
                ex_raise_error_report(c->st, v);
                Py_CLEAR(v);
        }
        return v;
}

static int serve(struct child *c)
{
        struct ex_frame_header h;
        int r;

        for (;;) {
                Py_BEGIN_ALLOW_THREADS
                r = ex_frame_recv_rx(c->fd, EX_FRAME_MAX_DEFAULT, -1, -1,
                                     &c->rx, &h, &c->in);
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
                          .learn_fd = -1,
                          .limits = ex_limits_default(),
                          .serving = PyThread_get_thread_ident()};
        struct ex_frame_header h;
        int r, code = 0;

        /* The target's source compiles without CPython's AST set-up. */
        if (ex_child_compile_install() < 0)
                PyErr_Clear();
        /* The parent is trusted: its values may arrive as pickles. */
        c.limits.allow_pickle = true;
        /* Large values come and go on every call: keep pymalloc's empty
         * arenas mapped (best effort: without it, only slower). */
        (void)ex_pymalloc_cache_install();
        c.rx.arena = &c.down;
        c.st->child = &c;
        Py_BEGIN_ALLOW_THREADS
        r = ex_frame_recv_fds(c.fd, EX_FRAME_MAX_DEFAULT, -1, -1, &h, &c.in);
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
        ex_rx_free(&c.rx);
        ex_exports_clear(&c.exports);
        c.st->child = NULL; /* ParentRefs dying from here on send nothing */
        PyErr_Clear();
        flush_stdio();
        _exit(code);
}
