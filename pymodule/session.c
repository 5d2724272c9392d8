/* Sessions: the parent's side of one child; see session.h. */
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "structmember.h"

#include "asan_build.h"
#include "cleanup.h"
#include "convert.h"
#include "errors.h"
#include "policy.h"
#include "seccomp_filter.h"
#include "violation.h"

/* Run by the child interpreter (python -I -S -B -c ...). argv[1] is the
 * directory holding the extradite package, argv[2] this extension's file.
 * The extension is loaded straight from its file under its own name,
 * without running the package's __init__ (whose imports would cost the
 * child about 10 ms); a later `import extradite` finds it in sys.modules.
 * argv[1] goes last on sys.path so it shadows nothing; the bootstrap
 * message then replaces sys.path. -B: the child never writes bytecode
 * caches; importing the target leaves the file system as it was, whatever
 * the profile. */
static const char BOOTSTRAP[] =
        "import sys,_frozen_importlib as b,_frozen_importlib_external as e;"
        "sys.path.append(sys.argv[1]);n='extradite._core';"
        "s=b.spec_from_loader(n,e.ExtensionFileLoader(n,sys.argv[2]));"
        "m=sys.modules[n]=b.module_from_spec(s);s.loader.exec_module(m);"
        "m._child_main()";

/* The child's whole environment: nothing of the parent's leaks through. */
static const char *const CHILD_ENV[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "HOME=/",
};

/* An ASan build (sandbox/asan_build.h) also hands the child what its
 * interpreter needs to load the instrumented extension: the preloaded
 * ASan runtime and the sanitizer settings. A normal build never does. */
static const char *const SANITIZER_ENV[] = {
        "LD_PRELOAD",
        "ASAN_OPTIONS",
        "UBSAN_OPTIONS",
};
#define N_SANITIZER_ENV (sizeof(SANITIZER_ENV) / sizeof(*SANITIZER_ENV))

/* ---- waiting with the GIL released: the way out for signals ------------
 *
 * A call waits for the child with the GIL released, yet Ctrl-C must end
 * it (docs/deadlines.md). The channel's waits (protocol/wait.h) call
 * signalled() whenever a signal interrupted them and at least every
 * EX_INTR_SLICE_MS: it takes the GIL back and runs the Python signal
 * handlers. One that raises ends the wait with -EINTR, and the call: the
 * child, its state unknown, is killed (session_die). A handler that
 * returns changes nothing. Meanwhile this thread may hold the reader's
 * role or send_lock, so a call from the handler into this same session is
 * refused (handler_thread), not deadlocked. */
struct gil_wait {
        ex_session *s;
        PyThreadState *ts; /* saved while the GIL is released */
};

static int signalled(void *ctx)
{
        struct gil_wait *w = ctx;
        unsigned long outer;
        int raised;

        PyEval_RestoreThread(w->ts);
        outer = w->s->handler_thread;
        w->s->handler_thread = PyThread_get_thread_ident();
        raised = PyErr_CheckSignals() < 0;
        w->s->handler_thread = outer;
        w->ts = PyEval_SaveThread();
        return raised;
}

/* A signal handler running inside one of this session's waits may not
 * call into it: -1 with UnsupportedInteractionError. */
static int reentered(ex_session *s)
{
        if (!s->handler_thread ||
            s->handler_thread != PyThread_get_thread_ident())
                return 0;
        PyErr_SetString(s->st->UnsupportedInteractionError,
                        "extradite: a signal handler cannot use the session "
                        "whose call it interrupted; use another session, or "
                        "raise to abandon that call");
        return -1;
}

/* Give up the reader's role and wake the waiters: a frame may have been
 * stashed for one of them, or one of them may read now. */
static void release_reader(ex_session *s)
{
        pthread_mutex_lock(&s->mu);
        s->reading = 0;
        s->turn++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
}

static unsigned long current_turn(ex_session *s)
{
        unsigned long t;

        pthread_mutex_lock(&s->mu);
        t = s->turn;
        pthread_mutex_unlock(&s->mu);
        return t;
}

/* Wait (GIL released) until nobody reads, then read ourselves (1), or
 * until a hand-over after turn `seen` (0: look at the stash again).
 * -ETIMEDOUT past deadline_ms (-1: none). `seen` is read before the
 * stash is looked at, so a hand-over in between is never missed. A
 * condition wait ignores signals: it is cut in slices, between which the
 * signal handlers run (GIL held, nothing of the session held); -EINTR
 * when one raised. */
static int become_reader(ex_session *s, unsigned long seen,
                         int64_t deadline_ms)
{
        for (;;) {
                int r = 0, err = 0, sliced = 0;

                Py_BEGIN_ALLOW_THREADS
                pthread_mutex_lock(&s->mu);
                if (s->reading && s->turn == seen) {
                        /* Our turn's end: the deadline or the slice's. */
                        int64_t until_ms = ex_now_ms() + EX_INTR_SLICE_MS;
                        struct timespec until;

                        sliced = deadline_ms < 0 || deadline_ms > until_ms;
                        if (!sliced)
                                until_ms = deadline_ms;
                        until.tv_sec = until_ms / 1000;
                        until.tv_nsec = (until_ms % 1000) * 1000000;
                        while (s->reading && s->turn == seen &&
                               err != ETIMEDOUT)
                                err = pthread_cond_timedwait(&s->cv, &s->mu,
                                                             &until);
                }
                if (!s->reading) {
                        s->reading = 1;
                        r = 1;
                } else if (err == ETIMEDOUT) {
                        r = -ETIMEDOUT;
                }
                pthread_mutex_unlock(&s->mu);
                Py_END_ALLOW_THREADS
                if (r != -ETIMEDOUT || !sliced)
                        return r;
                if (PyErr_CheckSignals() < 0)
                        return -EINTR;
        }
}

/* send_lock (GIL released), for no longer than the deadline: another
 * thread's send may be the one stuck on a child that stopped reading.
 * Waited for in slices, between which intr runs the signal handlers. */
static int take_send_lock(ex_session *s, int64_t deadline_ms,
                          const struct ex_intr *intr)
{
        if (PyThread_acquire_lock(s->send_lock, NOWAIT_LOCK))
                return 0;
        for (;;) {
                int64_t left = deadline_ms < 0 ? EX_INTR_SLICE_MS
                                               : deadline_ms - ex_now_ms();
                int64_t slice = left < EX_INTR_SLICE_MS ? left
                                                        : EX_INTR_SLICE_MS;

                if (PyThread_acquire_lock_timed(
                            s->send_lock,
                            slice > 0 ? (PY_TIMEOUT_T)slice * 1000 : 0,
                            0) == PY_LOCK_ACQUIRED)
                        return 0;
                if (ex_past(deadline_ms))
                        return -ETIMEDOUT;
                if (intr->check(intr->ctx))
                        return -EINTR;
        }
}

int ex_session_send(ex_session *s, const struct ex_frame_header *h,
                    struct ex_buf *payload, int64_t deadline_ms)
{
        struct gil_wait w = {.s = s};
        struct ex_intr intr = {.check = signalled, .ctx = &w};
        int r;

        w.ts = PyEval_SaveThread();
        r = take_send_lock(s, deadline_ms, &intr);
        if (r == 0) {
                r = s->sock >= 0 ? 0 : -EPIPE;
                s->tx.intr = &intr;
                /* The child reads its ring from its boot on; we answer its
                 * switch with ours. */
                if (r == 0 && !s->tx.ring_on &&
                    atomic_load(&s->child_switched))
                        r = ex_tx_switch(s->sock, &s->tx, deadline_ms);
                if (r == 0)
                        r = ex_frame_send_tx(s->sock, &s->tx, h, payload,
                                             deadline_ms);
                s->tx.intr = NULL;
                PyThread_release_lock(s->send_lock);
        }
        PyEval_RestoreThread(w.ts);
        return r;
}

/* ---- handles ---------------------------------------------------------- */

struct decode_ctx {
        ex_session *s;
        PyTypeObject *handle_type; /* NULL: handles decode as raw ints */
};

static PyObject *proxy_for(ex_session *s, uint64_t id, PyTypeObject *tp)
{
        uint64_t addr;
        ex_remote *p;

        if (ex_map_get(&s->proxies, id, &addr)) {
                p = (ex_remote *)(uintptr_t)addr;
                p->received++;
                return Py_NewRef((PyObject *)p);
        }
        /* The child numbers handles from 1: 0 names nothing. */
        if (id == 0) {
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: peer sent handle 0, which names "
                                "nothing");
                return NULL;
        }
        p = (ex_remote *)tp->tp_alloc(tp, 0);
        if (!p)
                return NULL;
        p->session = (ex_session *)Py_NewRef((PyObject *)s);
        p->handle = id;
        p->received = 1;
        if (ex_map_put(&s->proxies, id, (uint64_t)(uintptr_t)p) < 0) {
                /* Unmapped: its dealloc still releases the handle. */
                Py_DECREF(p);
                return PyErr_NoMemory();
        }
        return (PyObject *)p;
}

static PyObject *parent_decode_handle(void *ctx, uint8_t tag, uint64_t id)
{
        struct decode_ctx *c = ctx;
        PyObject *o;

        if (tag == EX_TAG_BACKREF) {
                /* One of ours, handed back: the original object. */
                o = ex_exports_get(&c->s->exports, id);
                if (!o) {
                        PyErr_SetString(c->s->st->ProtocolError,
                                        "extradite: the child used a handle "
                                        "to a parent object it does not "
                                        "hold");
                        return NULL;
                }
                return Py_NewRef(ex_exposure_unwrap(c->s->st, o));
        }
        if (!c->handle_type)
                return PyLong_FromUnsignedLongLong(id);
        return proxy_for(c->s, id, c->handle_type);
}

static int pickle_value(ex_state *st, PyObject *o, struct ex_buf *b)
{
        PyObject *data;
        int r;

        if (!st->pickle_dumps) {
                PyObject *m = PyImport_ImportModule("pickle");
                if (!m)
                        return -1;
                st->pickle_dumps = PyObject_GetAttrString(m, "dumps");
                Py_DECREF(m);
                if (!st->pickle_dumps)
                        return -1;
        }
        data = PyObject_CallFunction(st->pickle_dumps, "Oi", o, 5);
        if (!data) {
                PyObject *exc = PyErr_GetRaisedException();
                PyErr_Format(st->UnsupportedInteractionError,
                             "extradite: cannot send a '%s' object to the "
                             "child: it is not picklable",
                             Py_TYPE(o)->tp_name);
                PyObject *now = PyErr_GetRaisedException();
                PyException_SetCause(now, exc);
                PyErr_SetRaisedException(now);
                return -1;
        }
        r = ex_put_blob(b, EX_TAG_PICKLE, PyBytes_AS_STRING(data),
                        (size_t)PyBytes_GET_SIZE(data));
        Py_DECREF(data);
        if (r < 0) {
                PyErr_SetString(PyExc_ValueError,
                                "extradite: value too large for one message");
                return -1;
        }
        return 0;
}

/* Code and things that only make sense here go by handle: the child
 * calls back through them. (Pickling a function would only send its
 * name, which the child cannot import.) */
static int by_handle(PyObject *o)
{
        return PyFunction_Check(o) || PyMethod_Check(o) ||
               PyCFunction_Check(o) || PyType_Check(o);
}

/* "module.qualname" of a class, as UTF-8 (a lone surrogate becomes '?'),
 * cut to EX_TYPE_NAME_MAX bytes at a character boundary: only for the
 * child's repr. A new bytes object, or NULL with an error. */
static PyObject *type_name(PyObject *tp)
{
        PyObject *qual = PyType_GetQualName((PyTypeObject *)tp);
        PyObject *mod, *full, *utf8;
        Py_ssize_t n;

        if (!qual)
                return NULL;
        mod = PyObject_GetAttrString(tp, "__module__");
        if (!mod)
                PyErr_Clear(); /* no __module__: the qualified name alone */
        if (mod && PyUnicode_Check(mod))
                full = PyUnicode_FromFormat("%U.%U", mod, qual);
        else
                full = Py_NewRef(qual);
        Py_XDECREF(mod);
        Py_DECREF(qual);
        if (!full)
                return NULL;
        utf8 = PyUnicode_AsEncodedString(full, "utf-8", "replace");
        Py_DECREF(full);
        if (!utf8 || PyBytes_GET_SIZE(utf8) <= (Py_ssize_t)EX_TYPE_NAME_MAX)
                return utf8;
        n = EX_TYPE_NAME_MAX;
        while (n > 0 && (PyBytes_AS_STRING(utf8)[n] & 0xC0) == 0x80)
                n--; /* not inside a multi-byte character */
        Py_SETREF(utf8, PyBytes_FromStringAndSize(PyBytes_AS_STRING(utf8), n));
        return utf8;
}

/* A class goes as EX_TAG_TYPE_HANDLE so the child can treat it as one
 * (isinstance, subclassing, repr) without asking. */
static int put_export(PyObject *o, uint64_t id, struct ex_buf *b)
{
        PyObject *name;
        int r;

        if (!PyType_Check(o))
                return ex_put_handle(b, EX_TAG_HANDLE, id) < 0 ? -1 : 0;
        name = type_name(o);
        if (!name)
                return -1;
        r = ex_put_type_handle(b, id, PyBytes_AS_STRING(name),
                               (size_t)PyBytes_GET_SIZE(name));
        Py_DECREF(name);
        return r < 0 ? -1 : 0;
}

/* Note id in m: 0, or -1 with MemoryError. */
static int note_minted(struct ex_minted *m, uint64_t id)
{
        if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 8;
                uint64_t *v = PyMem_Realloc(m->id, cap * sizeof(*v));

                if (!v) {
                        PyErr_NoMemory();
                        return -1;
                }
                m->id = v;
                m->cap = cap;
        }
        m->id[m->n++] = id;
        return 0;
}

void ex_session_minted_end(ex_session *s, struct ex_minted *m, int sent)
{
        for (size_t i = 0; !sent && i < m->n; i++)
                ex_exports_release(&s->exports, m->id[i], 1);
        PyMem_Free(m->id);
        *m = (struct ex_minted){0};
}

/* The one place a handle to a parent object is minted: the exposure rule
 * judges it first (exposure.h), and may hand out a stand-in. */
static int export_value(const struct ex_handout *ho, PyObject *o,
                        struct ex_buf *b)
{
        ex_session *s = ho->s;
        PyObject *minted;
        uint64_t id;
        int passed = 0, r;

        /* (A confined child is told so by the exposure rule, below.) */
        if (PyModule_Check(o) &&
            (ho->origin == EX_ORIGIN_PASSED || !s->confined)) {
                PyErr_Format(s->st->UnsupportedInteractionError,
                             "extradite: a module cannot be passed to the "
                             "child");
                return -1;
        }
        if (s->confined) {
                ex_exports_find(&s->exports, o, &passed);
                minted = ex_exposure_admit(s->st, o, ho->origin, passed);
                if (!minted) {
                        if (PyErr_ExceptionMatches(PyExc_PermissionError))
                                s->refused++;
                        return -1;
                }
        } else {
                minted = Py_NewRef(o);
        }
        r = ex_exports_put(&s->exports, minted, o, 0,
                           ho->origin == EX_ORIGIN_PASSED, &id);
        Py_DECREF(minted);
        if (r < 0)
                return -1;
        if (put_export(o, id, b) < 0 ||
            (ho->minted && note_minted(ho->minted, id) < 0)) {
                ex_exports_release(&s->exports, id, 1);
                if (!PyErr_Occurred())
                        PyErr_NoMemory();
                return -1;
        }
        return 0;
}

static int parent_encode_other(void *ctx, PyObject *o, struct ex_buf *b)
{
        struct ex_handout *ho = ctx;
        ex_session *s = ho->s;
        size_t mark = b->len;

        if (PyObject_TypeCheck(o, s->st->RemoteObjectType)) {
                ex_remote *p = (ex_remote *)o;
                if (p->session != s) {
                        PyErr_SetString(s->st->UnsupportedInteractionError,
                                        "extradite: a proxy of one session "
                                        "cannot be passed to another session");
                        return -1;
                }
                if (p->released) {
                        PyErr_SetString(s->st->ProtocolError,
                                        "extradite: handle was released");
                        return -1;
                }
                if (ex_put_handle(b, EX_TAG_BACKREF, p->handle) < 0) {
                        PyErr_NoMemory();
                        return -1;
                }
                return 0;
        }
        if (by_handle(o))
                return export_value(ho, o, b);
        if (pickle_value(s->st, o, b) == 0)
                return 0;
        /* Not picklable (a lock, a local class's instance, a closure's
         * state): the child gets a handle instead. */
        if (!PyErr_ExceptionMatches(s->st->UnsupportedInteractionError))
                return -1;
        PyErr_Clear();
        b->len = mark;
        return export_value(ho, o, b);
}

/* ---- transport policy -------------------------------------------------
 * Per value, nested ones included: the per-call policy, else the type rule
 * of the nearest class in the value's MRO, else the session's default. */

static const char *const POLICY_NAMES[] = {"value", "reference"};

int ex_policy_parse(PyObject *name, const char *what)
{
        for (int i = 0; i < 2; i++)
                if (PyUnicode_Check(name) &&
                    PyUnicode_CompareWithASCIIString(name, POLICY_NAMES[i]) ==
                            0)
                        return i;
        PyErr_Format(PyExc_ValueError,
                     "%s must be 'value' or 'reference', not %R", what, name);
        return -1;
}

/* The rule for type tp: its policy, and the matched class (borrowed), or
 * -1 when no rule matches. */
static int rule_for(ex_session *s, PyTypeObject *tp, PyObject **matched)
{
        PyObject *mro = tp->tp_mro;

        if (!s->type_rules || !mro)
                return -1;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
                PyObject *base = PyTuple_GET_ITEM(mro, i);
                for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(s->type_rules);
                     j++) {
                        PyObject *rule = PyTuple_GET_ITEM(s->type_rules, j);
                        if (PyTuple_GET_ITEM(rule, 0) == base) {
                                *matched = base;
                                return (int)PyLong_AsLong(
                                        PyTuple_GET_ITEM(rule, 1));
                        }
                }
        }
        return -1;
}

static int by_rules_or_default(ex_session *s, PyObject *o)
{
        PyObject *matched;
        int p = rule_for(s, Py_TYPE(o), &matched);

        return p >= 0 ? p : s->default_policy;
}

/* reference hook: under "reference", non-scalar values go as handles. */
static int reference_by_policy(void *ctx, PyObject *o, struct ex_buf *b)
{
        struct ex_handout *ho = ctx;
        ex_session *s = ho->s;

        /* The child's own objects always go back as themselves. */
        if (PyObject_TypeCheck(o, s->st->RemoteObjectType) ||
            by_rules_or_default(s, o) != EX_POLICY_REFERENCE)
                return 0;
        return export_value(ho, o, b) < 0 ? -1 : 1;
}

static int reference_always(void *ctx, PyObject *o, struct ex_buf *b)
{
        struct ex_handout *ho = ctx;

        if (PyObject_TypeCheck(o, ho->s->st->RemoteObjectType))
                return 0;
        return export_value(ho, o, b) < 0 ? -1 : 1;
}

static void hooks_for(ex_session *s, struct ex_handout *ho,
                      struct ex_codec_hooks *h)
{
        int plain = s->default_policy == EX_POLICY_VALUE && !s->type_rules;

        *h = (struct ex_codec_hooks){.ctx = ho,
                                     .encode_other = parent_encode_other,
                                     .decode_handle = NULL,
                                     .out_of_band = true,
                                     .arena = &s->down,
                                     .reference = plain ? NULL
                                                        : reference_by_policy};
}

void ex_session_encode_hooks(ex_session *s, struct ex_codec_hooks *h)
{
        hooks_for(s, &s->handout, h);
}

void ex_session_reply_hooks(ex_session *s, struct ex_handout *ho,
                            struct ex_minted *minted,
                            struct ex_codec_hooks *h)
{
        *ho = (struct ex_handout){s, EX_ORIGIN_REACHED, minted};
        hooks_for(s, ho, h);
}

int ex_session_call_hooks(ex_session *s, PyObject *call_policy,
                          struct ex_codec_hooks *h)
{
        int p;

        ex_session_encode_hooks(s, h);
        if (!call_policy || call_policy == Py_None)
                return 0;
        p = ex_policy_parse(call_policy, "__extradite_policy__");
        if (p < 0)
                return -1;
        h->reference = p == EX_POLICY_REFERENCE ? reference_always : NULL;
        return 0;
}

/* The per-call policy keyword, taken out of a call's keywords. */
static const char CALL_POLICY_KW[] = "__extradite_policy__";

int ex_session_encode_args(ex_session *s, PyObject *const *args, size_t nargs,
                           PyObject *kwnames, PyObject *call_policy,
                           struct ex_buf *b)
{
        Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0, skip = -1;
        uint32_t depth = s->limits.max_depth - 1;
        struct ex_minted minted = {0};
        struct ex_handout ho = {s, EX_ORIGIN_PASSED, &minted};
        struct ex_codec_hooks hooks;
        int r = -1;

        for (Py_ssize_t i = 0; i < nkw; i++)
                if (PyUnicode_CompareWithASCIIString(
                            PyTuple_GET_ITEM(kwnames, i), CALL_POLICY_KW) == 0)
                        skip = i;
        if (ex_session_call_hooks(s, skip >= 0 ? args[nargs + (size_t)skip]
                                               : call_policy,
                                  &hooks) < 0)
                return -1;
        /* Handles minted for arguments that then fail are taken back. */
        hooks.ctx = &ho;
        if (ex_put_container(b, EX_TAG_TUPLE, (uint32_t)nargs) < 0)
                goto nomem;
        for (size_t i = 0; i < nargs; i++)
                if (ex_encode(s->st, &hooks, args[i], b, depth) < 0)
                        goto out;
        if (ex_put_container(b, EX_TAG_DICT,
                             (uint32_t)(nkw - (skip >= 0))) < 0)
                goto nomem;
        for (Py_ssize_t i = 0; i < nkw; i++) {
                if (i == skip)
                        continue;
                if (ex_encode(s->st, &hooks, PyTuple_GET_ITEM(kwnames, i), b,
                              depth) < 0 ||
                    ex_encode(s->st, &hooks, args[nargs + (size_t)i], b,
                              depth) < 0)
                        goto out;
        }
        r = 0;
        goto out;
nomem:
        PyErr_NoMemory();
out:
        if (r < 0) {
                /* (Taking handles back may run __del__: not with our
                 * error set.) */
                PyObject *exc = PyErr_GetRaisedException();

                ex_session_minted_end(s, &minted, 0);
                PyErr_SetRaisedException(exc);
        } else {
                ex_session_minted_end(s, &minted, 1);
        }
        return r;
}

int ex_session_encode_args_tuple(ex_session *s, PyObject *args,
                                 PyObject *kwargs, PyObject *call_policy,
                                 struct ex_buf *b)
{
        PyObject *names = NULL, *stack = NULL;
        Py_ssize_t nargs = PyTuple_GET_SIZE(args), nkw = 0, pos = 0, i = 0;
        PyObject *k, *v;
        int r;

        if (kwargs && (nkw = PyDict_GET_SIZE(kwargs)) > 0) {
                names = PyTuple_New(nkw);
                if (!names)
                        return -1;
                while (PyDict_Next(kwargs, &pos, &k, &v))
                        PyTuple_SET_ITEM(names, i++, Py_NewRef(k));
        }
        /* One flat array: positional values, then keyword values. */
        stack = PyTuple_New(nargs + nkw);
        if (!stack) {
                Py_XDECREF(names);
                return -1;
        }
        for (i = 0; i < nargs; i++)
                PyTuple_SET_ITEM(stack, i,
                                 Py_NewRef(PyTuple_GET_ITEM(args, i)));
        for (i = 0; i < nkw; i++)
                PyTuple_SET_ITEM(
                        stack, nargs + i,
                        Py_NewRef(PyDict_GetItem(kwargs,
                                                 PyTuple_GET_ITEM(names, i))));
        r = ex_session_encode_args(s, &PyTuple_GET_ITEM(stack, 0),
                                   (size_t)nargs, names, call_policy, b);
        Py_DECREF(stack);
        Py_XDECREF(names);
        return r;
}

/* Session.effective_policy(value, call_policy=None) -> dict */
static PyObject *session_effective_policy(ex_session *s, PyObject *args,
                                          PyObject *kw)
{
        static char *kwlist[] = {"value", "call_policy", NULL};
        PyObject *value, *call_policy = Py_None, *matched = NULL;
        const char *source;
        int p;

        if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:effective_policy",
                                         kwlist, &value, &call_policy))
                return NULL;
        if (call_policy != Py_None) {
                p = ex_policy_parse(call_policy, "call_policy");
                if (p < 0)
                        return NULL;
                source = "call_override";
        } else if ((p = rule_for(s, Py_TYPE(value), &matched)) >= 0) {
                source = "type_rule";
        } else {
                p = s->default_policy;
                source = "session_default";
        }
        return Py_BuildValue("{sssssN}", "effective_policy", POLICY_NAMES[p],
                             "source", source, "matched_type",
                             matched ? PyObject_GetAttrString(matched,
                                                              "__name__")
                                     : Py_NewRef(Py_None));
}

/* transport_type_rules: a sequence of (type, policy) pairs. */
static PyObject *parse_rules(PyObject *rules)
{
        PyObject *seq, *out = NULL;
        Py_ssize_t n;

        if (rules == Py_None)
                return Py_NewRef(Py_None);
        seq = PySequence_Fast(rules, "transport_type_rules must be pairs");
        if (!seq)
                return NULL;
        n = PySequence_Fast_GET_SIZE(seq);
        out = n ? PyTuple_New(n) : NULL;
        for (Py_ssize_t i = 0; out && i < n; i++) {
                PyObject *pair = PySequence_Fast_GET_ITEM(seq, i), *tp, *pol;
                int p;

                if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
                    !PyType_Check(tp = PyTuple_GET_ITEM(pair, 0))) {
                        PyErr_SetString(PyExc_ValueError,
                                        "transport_type_rules keys must be "
                                        "types");
                        Py_CLEAR(out);
                        break;
                }
                pol = PyTuple_GET_ITEM(pair, 1);
                p = ex_policy_parse(pol, "a transport_type_rules policy");
                if (p < 0) {
                        Py_CLEAR(out);
                        break;
                }
                PyTuple_SET_ITEM(out, i, Py_BuildValue("(Oi)", tp, p));
                if (!PyTuple_GET_ITEM(out, i))
                        Py_CLEAR(out);
        }
        Py_DECREF(seq);
        if (!out && !PyErr_Occurred())
                return Py_NewRef(Py_None); /* no rules */
        return out;
}

int ex_session_export_reply(ex_session *s, PyObject *o, struct ex_buf *b)
{
        struct ex_handout ho = {s, EX_ORIGIN_REACHED, NULL};

        return export_value(&ho, o, b);
}

int ex_session_encode_other(void *ctx, PyObject *o, struct ex_buf *b)
{
        return parent_encode_other(ctx, o, b);
}

PyObject *ex_session_decode(ex_session *s, struct ex_buf *in,
                            PyTypeObject *handle_type, int64_t deadline_ms)
{
        struct decode_ctx ctx = {s, handle_type};
        struct ex_codec_hooks hooks = {.ctx = &ctx,
                                       .decode_handle = parent_decode_handle};

        return ex_decode_buf_until(s->st, &hooks, in, &s->limits,
                                   deadline_ms, s->call_timeout_ms);
}

void ex_session_forget(ex_session *s, ex_remote *p)
{
        uint64_t addr;

        if (p->released)
                return;
        p->released = 1;
        if (ex_map_get(&s->proxies, p->handle, &addr) &&
            addr == (uint64_t)(uintptr_t)p)
                ex_map_del(&s->proxies, p->handle);
        if (s->state != EX_SESSION_OPEN)
                return;
        ex_release_queue_push(&s->rel, p->handle, p->received);
}

/* ---- failure ---------------------------------------------------------- */

static PyObject *describe_exit(const struct ex_child *c)
{
        if (!c->reaped || c->status < 0)
                return PyUnicode_FromString("the child process is gone");
        if (WIFEXITED(c->status))
                return PyUnicode_FromFormat(
                        "the child process exited with status %d",
                        WEXITSTATUS(c->status));
        if (WIFSIGNALED(c->status)) {
                const char *abbrev = sigabbrev_np(WTERMSIG(c->status));
                return PyUnicode_FromFormat(
                        "the child process was killed by signal %d (SIG%s)",
                        WTERMSIG(c->status), abbrev ? abbrev : "?");
        }
        return PyUnicode_FromString("the child process stopped");
}

/* Stop the child for good and close the channel. */
/* Stop the child for good and close the channel. Called without `lock`
 * and `send_lock`: the fd is closed only once nobody reads or writes it. */
/* Whether this process was forked from the one that started the session
 * (a counter the fork hook bumps: no system call on every request). */
static int inherited(const ex_session *s)
{
        return s->st && s->forks != s->st->forks;
}

static void shut_down(ex_session *s, int grace_ms)
{
        if (inherited(s)) {
                /* A forked process: the child, the channel and its locks
                 * are the parent's (shutdown() would end the channel for
                 * it too). Let go of our copies, and acknowledge nothing
                 * in the arenas from here. */
                if (s->sock >= 0)
                        close(take_fd(&s->sock));
                ex_child_release(&s->child);
                s->child.pid = 0;
                s->down.ack = s->up.ack = NULL;
                return;
        }
        if (s->sock >= 0) {
                /* EOF tells the child to exit; also wakes the reader. */
                shutdown(s->sock, SHUT_RDWR);
        }
        Py_BEGIN_ALLOW_THREADS
        ex_child_stop(&s->child, grace_ms);
        if (s->sync_ready && s->send_lock) {
                /* Take the reader's role for good, and the sender's. */
                pthread_mutex_lock(&s->mu);
                while (s->reading)
                        pthread_cond_wait(&s->cv, &s->mu);
                s->reading = 1;
                pthread_mutex_unlock(&s->mu);
                PyThread_acquire_lock(s->send_lock, WAIT_LOCK);
        }
        if (s->sock >= 0)
                close(take_fd(&s->sock));
        ex_rx_free(&s->rx); /* we hold the reader's role */
        if (s->sync_ready && s->send_lock) {
                PyThread_release_lock(s->send_lock);
                pthread_mutex_lock(&s->mu);
                s->reading = 0;
                s->turn++;
                pthread_cond_broadcast(&s->cv);
                pthread_mutex_unlock(&s->mu);
        }
        Py_END_ALLOW_THREADS
        ex_child_release(&s->child);
}

/* ExtraditeSandboxViolation for syscall `nr` (-1: unknown, the child was
 * killed by SIGSYS without a report). Returns a new exception. */
static PyObject *violation(ex_session *s, int nr)
{
        char name[64];
        PyObject *exc, *sys_name, *sys_nr;

        if (nr >= 0) {
                ex_syscall_name(nr, name, sizeof(name));
                exc = PyObject_CallFunction(
                        s->st->SandboxViolation, "s",
                        "extradite: the child made a system call its sandbox "
                        "profile forbids and was killed");
                sys_name = PyUnicode_FromString(name);
                sys_nr = PyLong_FromLong(nr);
        } else {
                exc = PyObject_CallFunction(
                        s->st->SandboxViolation, "s",
                        "extradite: the child was killed by SIGSYS without "
                        "naming the system call (one from a non-native "
                        "architecture or an x32 number, which the sandbox "
                        "kills outright, or a trap while SIGSYS was "
                        "blocked)");
                sys_name = Py_NewRef(Py_None);
                sys_nr = Py_NewRef(Py_None);
        }
        if (exc && sys_name && sys_nr) {
                PyObject *msg = PyObject_Str(exc);
                if (msg && nr >= 0) {
                        PyObject *full = PyUnicode_FromFormat(
                                "%U: %s (%d) under profile %R", msg, name, nr,
                                s->profile ? s->profile : Py_None);
                        Py_XSETREF(exc, full ? PyObject_CallOneArg(
                                                       s->st->SandboxViolation,
                                                       full)
                                             : NULL);
                        Py_XDECREF(full);
                }
                Py_XDECREF(msg);
        }
        if (exc && sys_name && sys_nr &&
            (PyObject_SetAttrString(exc, "syscall", sys_name) < 0 ||
             PyObject_SetAttrString(exc, "syscall_nr", sys_nr) < 0 ||
             PyObject_SetAttrString(exc, "profile",
                                    s->profile ? s->profile : Py_None) < 0))
                Py_CLEAR(exc);
        Py_XDECREF(sys_name);
        Py_XDECREF(sys_nr);
        return exc ? exc : PyErr_GetRaisedException();
}

/* Did the child die of the sandbox without a readable report? */
static int died_of_sigsys(const struct ex_child *c)
{
        return c->reaped && c->status >= 0 &&
               ((WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGSYS) ||
                (WIFEXITED(c->status) &&
                 WEXITSTATUS(c->status) == EX_VIOLATION_EXIT_CODE));
}

/* The session can no longer be used: record why, stop the child, raise.
 * err is the channel error; `exc` (stolen, may be NULL) the exception to
 * raise instead of a description of the child's end. */
static PyObject *session_die(ex_session *s, int err, PyObject *exc)
{
        PyObject *why, *cls = s->st->ProtocolError;
        int grace = 0;

        if (err == -EPIPE || err == -ECHILD || err == -ECONNRESET)
                grace = 1000; /* it is exiting by itself: let it finish */
        /* A request from the child we could not decode: its ProtocolError
         * says why better than "malformed" (callbacks.c). */
        if (!exc && err == -EBADMSG &&
            PyErr_ExceptionMatches(s->st->ProtocolError))
                exc = PyErr_GetRaisedException();
        s->state = EX_SESSION_DEAD;
        shut_down(s, grace);
        if (err == -ETIMEDOUT) {
                cls = s->st->TimeoutError;
                why = s->booting
                              ? PyUnicode_FromString(
                                        "the child did not start in time "
                                        "and was killed")
                              : PyUnicode_FromFormat(
                                        "the call did not finish within "
                                        "call_timeout (%lld ms); the child "
                                        "was killed",
                                        (long long)s->call_timeout_ms);
        } else if (err == -EINTR) {
                why = PyUnicode_FromFormat(
                        "the call was interrupted by %s while it waited for "
                        "the child; the child, its state unknown, was killed "
                        "(start a new session to go on)",
                        exc ? Py_TYPE(exc)->tp_name : "a signal");
        } else if (err == -EBADMSG || err == -EMSGSIZE) {
                why = PyUnicode_FromFormat(
                        "the child sent a %s frame and was killed",
                        err == -EMSGSIZE ? "too large" : "malformed");
        } else {
                why = describe_exit(&s->child);
                if (!exc && died_of_sigsys(&s->child))
                        exc = violation(s, -1);
        }
        if (why) {
                Py_XSETREF(s->death, Py_NewRef(why));
        }
        if (exc) {
                Py_XDECREF(why);
                PyErr_SetRaisedException(exc);
                return NULL;
        }
        if (why) {
                PyErr_Format(cls, "extradite: %U", why);
                Py_DECREF(why);
        }
        return NULL;
}

/* A VIOLATION frame: the child's last words, a syscall number. */
static PyObject *violation_reported(ex_session *s, const struct ex_buf *in)
{
        struct ex_reader r;
        struct ex_item it;
        int nr = -1;

        ex_reader_init(&r, in->data, in->len, &s->limits);
        if (ex_read(&r, &it) == 0 && it.tag == EX_TAG_INT && it.v.i >= 0 &&
            it.v.i < 4096 && ex_reader_finish(&r) == 0)
                nr = (int)it.v.i;
        return session_die(s, -EPIPE, violation(s, nr));
}

int ex_session_check_open(ex_session *s)
{
        if (inherited(s)) { /* whatever its state: let go of at the fork */
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: this session belongs to the "
                                "process that started it; a process forked "
                                "from it cannot use it");
                return -1;
        }
        if (s->state == EX_SESSION_OPEN)
                return 0;
        if (s->state == EX_SESSION_CLOSED)
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: the session is closed");
        else
                PyErr_Format(s->st->ProtocolError,
                             "extradite: the session is dead: %S",
                             s->death ? s->death : Py_None);
        return -1;
}

/* ---- requests --------------------------------------------------------- */

static PyObject *finish_reply(ex_session *s, const struct ex_frame_header *h,
                              struct ex_buf *in, PyTypeObject *handle_type,
                              int64_t deadline)
{
        PyObject *v = ex_session_decode(s, in, handle_type, deadline);

        if (!v) {
                /* A child that sends undecodable values is not trusted
                 * with another request. */
                if (PyErr_ExceptionMatches(s->st->ProtocolError))
                        return session_die(s, -EBADMSG,
                                           PyErr_GetRaisedException());
                return NULL;
        }
        if (h->kind == EX_MSG_ERROR) {
                ex_raise_error_report(s->st, v);
                Py_DECREF(v);
                return NULL;
        }
        return v;
}

/* Keep the boot reply: a dict (the sandbox report) or None. 0 or
 * -EBADMSG. */
static PyObject *refuse_handle(void *ctx, uint8_t tag, uint64_t id)
{
        (void)tag;
        (void)id;
        PyErr_SetString(((ex_session *)ctx)->st->ProtocolError,
                        "extradite: a handle in the sandbox report");
        return NULL;
}

static int boot_report(ex_session *s, struct ex_buf *in)
{
        struct ex_codec_hooks hooks = {.ctx = s,
                                       .decode_handle = refuse_handle};
        PyObject *v;

        /* Learning: the one fd with the report is the seccomp listener. */
        if (s->learning && in->fds.n == 1 && s->learn_fd < 0) {
                s->learn_fd = in->fds.fd[0];
                in->fds.n = 0;
        }
        v = ex_decode_buf(s->st, &hooks, in, &s->limits);

        if (!v || !(PyDict_CheckExact(v) || v == Py_None)) {
                PyErr_Clear();
                Py_XDECREF(v);
                return -EBADMSG;
        }
        Py_XSETREF(s->report, v);
        return 0;
}

/* ---- waiting: several threads, one reader ------------------------------
 *
 * Every frame from the child belongs to one waiting call: a REPLY or ERROR
 * to the request it answers, a CALL (a callback) to the chain it is part of
 * (its chain_id is the request the child is serving). Whoever holds `lock`
 * reads; a frame for another waiter goes to the stash, where that waiter
 * finds it. A callback runs on the thread of its chain, without `lock`, so
 * other threads' calls go on meanwhile. Waiters and stash change only with
 * the GIL held. */

static int waiting_on(ex_session *s, uint32_t id)
{
        for (size_t i = 0; i < s->nwaiting; i++)
                if (s->waiting[i] == id)
                        return 1;
        return 0;
}

size_t ex_session_thread_depth(ex_session *s)
{
        unsigned long me = PyThread_get_thread_ident();
        size_t n = 0;

        for (size_t i = 0; i < s->nwaiting; i++)
                n += s->waiting_thread[i] == me;
        return n;
}

static int wait_register(ex_session *s, uint32_t id)
{
        if (s->nwaiting >= EX_MAX_IN_FLIGHT) {
                PyErr_Format(s->st->UnsupportedInteractionError,
                             "extradite: more than %d calls in flight on one "
                             "child (threads and nested callbacks)",
                             EX_MAX_IN_FLIGHT);
                return -1;
        }
        if (s->nwaiting == s->capwaiting) {
                size_t cap = s->capwaiting ? s->capwaiting * 2 : 8;
                void *nv = PyMem_Realloc(s->waiting, cap * sizeof(*s->waiting));
                void *nt;

                if (!nv) {
                        PyErr_NoMemory();
                        return -1;
                }
                s->waiting = nv;
                nt = PyMem_Realloc(s->waiting_thread,
                                   cap * sizeof(*s->waiting_thread));
                if (!nt) {
                        PyErr_NoMemory();
                        return -1;
                }
                s->waiting_thread = nt;
                s->capwaiting = cap;
        }
        s->waiting_thread[s->nwaiting] = PyThread_get_thread_ident();
        s->waiting[s->nwaiting++] = id;
        return 0;
}

/* Forget a finished call, and anything still stashed for it. */
static void wait_unregister(ex_session *s, uint32_t id)
{
        for (size_t i = 0; i < s->nwaiting; i++)
                if (s->waiting[i] == id) {
                        s->waiting[i] = s->waiting[--s->nwaiting];
                        s->waiting_thread[i] = s->waiting_thread[s->nwaiting];
                        break;
                }
        for (size_t i = 0; i < s->nstash; i++)
                if (s->stash[i].key == id) {
                        ex_buf_free(&s->stash[i].in);
                        s->stash[i] = s->stash[--s->nstash];
                        break;
                }
}

/* Move the frame in *in to the stash for the waiter `key`. A frame for
 * nobody, or a second one for a waiter before it took the first, is the
 * child breaking the protocol. */
static int stash_frame(ex_session *s, uint32_t key,
                       const struct ex_frame_header *h, struct ex_buf *in)
{
        if (!waiting_on(s, key))
                return -EBADMSG;
        for (size_t i = 0; i < s->nstash; i++)
                if (s->stash[i].key == key)
                        return -EBADMSG;
        if (s->nstash == s->capstash) {
                size_t cap = s->capstash ? s->capstash * 2 : 4;
                void *nv = PyMem_Realloc(s->stash, cap * sizeof(*s->stash));
                if (!nv)
                        return -ENOMEM;
                s->stash = nv;
                s->capstash = cap;
        }
        s->stash[s->nstash++] = (struct ex_stashed){key, *h, *in};
        *in = (struct ex_buf){0}; /* ownership moved */
        return 0;
}

static int take_stashed(ex_session *s, uint32_t key, struct ex_frame_header *h,
                        struct ex_buf *in)
{
        for (size_t i = 0; i < s->nstash; i++)
                if (s->stash[i].key == key) {
                        ex_buf_free(in);
                        *h = s->stash[i].h;
                        *in = s->stash[i].in;
                        s->stash[i] = s->stash[--s->nstash];
                        return 1;
                }
        return 0;
}

/* Which waiter a frame is for: the request a reply answers, the chain a
 * callback belongs to; 0 for what any waiter handles (releases, the
 * sandbox report, a violation). */
static uint32_t frame_key(const struct ex_frame_header *h)
{
        if (h->kind == EX_MSG_CALL)
                return h->chain_id;
        if (h->kind == EX_MSG_REPLY || h->kind == EX_MSG_ERROR)
                return h->request_id;
        return 0;
}

/* The next frame for the call `id`: from the stash, or read as the
 * reader, handing frames for other waiters over on the way. 0, or -errno
 * (-ETIMEDOUT past the deadline, -EPIPE once closed, -EINTR when a
 * signal handler raised: its exception is set). A frame already here is
 * taken past the deadline; no wait starts past it. */
static int next_frame(ex_session *s, uint32_t id, int64_t deadline,
                      struct ex_frame_header *h, struct ex_buf *in)
{
        int r;

        for (;;) {
                unsigned long seen = current_turn(s);
                struct gil_wait w = {.s = s};
                struct ex_intr intr = {.check = signalled, .ctx = &w};
                uint32_t key;

                if (take_stashed(s, id, h, in))
                        return 0;
                if (ex_past(deadline))
                        return -ETIMEDOUT;
                r = become_reader(s, seen, deadline);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue; /* a hand-over: ours, perhaps */
                if (take_stashed(s, id, h, in)) {
                        release_reader(s);
                        return 0;
                }
                if (s->state != EX_SESSION_OPEN || s->sock < 0) {
                        release_reader(s);
                        return -EPIPE;
                }
                s->rx.intr = &intr;
                w.ts = PyEval_SaveThread();
                r = ex_frame_recv_rx(s->sock, EX_FRAME_MAX_DEFAULT, deadline,
                                     s->child.pidfd, &s->rx, h, in);
                PyEval_RestoreThread(w.ts);
                s->rx.intr = NULL;
                /* Once: not a locked store on every frame. */
                if (s->rx.ring_on && !atomic_load_explicit(
                                             &s->child_switched,
                                             memory_order_relaxed))
                        atomic_store(&s->child_switched, 1);
                key = r == 0 ? frame_key(h) : 0;
                /* Stash before giving up the role, so the waiter it wakes
                 * finds its frame. */
                if (key != 0 && key != id) {
                        r = stash_frame(s, key, h, in);
                        release_reader(s);
                        if (r < 0)
                                return r;
                        continue;
                }
                release_reader(s);
                return r;
        }
}

/* Spare buffers bigger than this are freed: memory held per session. */
#define SPARE_MAX ((size_t)4 << 20)

void ex_session_buf_take(ex_session *s, struct ex_buf *b)
{
        *b = (struct ex_buf){0};
        for (size_t i = 0; i < sizeof(s->spare) / sizeof(*s->spare); i++)
                if (s->spare[i].data) {
                        *b = s->spare[i];
                        s->spare[i] = (struct ex_buf){0};
                        return;
                }
}

void ex_session_buf_give(ex_session *s, struct ex_buf *b)
{
        ex_buf_reset(b); /* fds closed, arena frames acknowledged */
        if (b->data && b->cap <= SPARE_MAX && b->max == 0)
                for (size_t i = 0; i < sizeof(s->spare) / sizeof(*s->spare);
                     i++)
                        if (!s->spare[i].data) {
                                s->spare[i] = *b;
                                *b = (struct ex_buf){0};
                                return;
                        }
        ex_buf_free(b);
}

PyObject *ex_session_call(ex_session *s, uint8_t op,
                          struct ex_buf *payload,
                          PyTypeObject *handle_type)
{
        struct ex_frame_header h, rh;
        struct ex_buf rel = {0}, in = {0};
        PyObject *res = NULL;
        int64_t deadline;
        uint32_t id;
        int r = 0, done = 0;

        if (ex_session_check_open(s) < 0 || reentered(s) < 0)
                return NULL;
        do
                id = ++s->next_id; /* 0 is the bootstrap's id */
        while (id == 0 || waiting_on(s, id));
        if (wait_register(s, id) < 0)
                return NULL;
        ex_session_buf_take(s, &in);
        s->requests++;
        ex_release_queue_take(&s->rel, &rel);
        h = (struct ex_frame_header){.length = (uint32_t)payload->len,
                                     .kind = EX_MSG_CALL,
                                     .op = op,
                                     .request_id = id};
        deadline = s->booting ? ex_now_ms() + s->start_timeout_ms
                   : s->call_timeout_ms >= 0 ? ex_now_ms() + s->call_timeout_ms
                                             : -1;
        if (rel.len) {
                struct ex_frame_header rh0 = {.length = (uint32_t)rel.len,
                                              .kind = EX_MSG_RELEASE};
                r = ex_session_send(s, &rh0, &rel, deadline);
        }
        ex_buf_free(&rel);
        if (r == 0)
                r = ex_session_send(s, &h, payload, deadline);
        /* A child that is gone may have said why before it went (its
         * bootstrap failed, the sandbox killed it), perhaps before we
         * sent a thing: its last frames are still to read, and what they
         * say wins over a description of its exit, however the race
         * between its exit and our send went. */
        if (r == -EPIPE && s->state == EX_SESSION_OPEN)
                r = 0;

        /* Wait for our reply; meanwhile serve what the child asks of our
         * chain (callbacks) and take its releases. */
        while (r == 0 && !done) {
                r = next_frame(s, id, deadline, &rh, &in);
                if (r < 0)
                        break;
                if (rh.kind == EX_MSG_VIOLATION) {
                        res = violation_reported(s, &in);
                        done = 1;
                } else if (s->booting && rh.kind == EX_MSG_REPLY &&
                           rh.request_id == 0) {
                        /* the sandbox report, before anything else */
                        r = boot_report(s, &in);
                } else if (rh.kind == EX_MSG_RELEASE && !s->booting) {
                        r = ex_exports_release_payload(&s->exports, in.data,
                                                       in.len, &s->limits);
                } else if (rh.kind == EX_MSG_CALL && !s->booting) {
                        /* call_timeout bounds the whole call, callbacks
                         * included: a child flooding us with requests
                         * cannot hold this thread forever. */
                        r = ex_session_serve_child(s, &rh, &in, deadline);
                } else if ((rh.kind == EX_MSG_REPLY ||
                            rh.kind == EX_MSG_ERROR) &&
                           (rh.request_id == id ||
                            (rh.request_id == 0 && rh.kind == EX_MSG_ERROR))) {
                        s->booting = 0;
                        res = finish_reply(s, &rh, &in, handle_type,
                                           deadline);
                        /* A bootstrap failure ends the session. */
                        if (rh.request_id == 0 &&
                            s->state == EX_SESSION_OPEN) {
                                PyObject *exc = PyErr_GetRaisedException();
                                session_die(s, -EPIPE, exc);
                        }
                        done = 1;
                } else {
                        r = -EBADMSG;
                }
                /* Between frames, however they come: the deadline holds
                 * (a child sending requests back to back must not outlast
                 * it), and so does Ctrl-C (docs/deadlines.md). */
                if (r == 0 && !done) {
                        if (ex_past(deadline))
                                r = -ETIMEDOUT;
                        else if (PyErr_CheckSignals() < 0)
                                r = -EINTR;
                }
        }
        if (!done && r == -EINTR) {
                /* A signal handler's exception (KeyboardInterrupt): the
                 * call is abandoned mid-way, and so is the child. */
                PyObject *exc = PyErr_GetRaisedException();

                if (s->state == EX_SESSION_OPEN) {
                        res = session_die(s, -EINTR, exc);
                } else {
                        PyErr_SetRaisedException(exc);
                        res = NULL;
                }
        } else if (!done) {
                res = s->state == EX_SESSION_OPEN
                              ? session_die(s, r, NULL)
                              : (ex_session_check_open(s), NULL);
        }
        /* Any fds a frame we did not decode brought along go too. */
        ex_session_buf_give(s, &in);
        wait_unregister(s, id);
        return res;
}

int ex_session_flush(ex_session *s)
{
        struct ex_buf rel = {0};
        int r = 0;

        if (s->state != EX_SESSION_OPEN || s->rel.n == 0)
                return 0;
        if (reentered(s) < 0)
                return -1;
        ex_release_queue_take(&s->rel, &rel);
        if (rel.len && s->state == EX_SESSION_OPEN) {
                struct ex_frame_header h = {.length = (uint32_t)rel.len,
                                            .kind = EX_MSG_RELEASE};
                /* Bounded like a call: a child that stopped reading
                 * must not hold the thread dropping a proxy. */
                r = ex_session_send(s, &h, &rel,
                                    s->call_timeout_ms >= 0
                                            ? ex_now_ms() + s->call_timeout_ms
                                            : -1);
        }
        ex_buf_free(&rel);
        /* Ctrl-C in the send: the frame may be half sent. */
        if (r == -EINTR) {
                session_die(s, -EINTR, PyErr_GetRaisedException());
                return -1;
        }
        /* Another failed send shows up as a dead child on the next
         * request. */
        return 0;
}

/* ---- construction ----------------------------------------------------- */

/* EXTRADITE_RINGS=0 keeps small frames on the socket as well: for
 * comparison, and for tests whose child reads the socket itself. */
static int rings_wanted(void)
{
        const char *v = getenv("EXTRADITE_RINGS");

        return !(v && strcmp(v, "0") == 0);
}

static int send_bootstrap(ex_session *s, PyObject *sys_path,
                          PyObject *options)
{
        struct ex_codec_hooks hooks;
        struct ex_buf b = {0};
        struct ex_frame_header h = {.kind = EX_MSG_BOOT};
        int arena_fds[2] = {-1, -1};
        uint32_t nfds = 0;
        int rings = 0, r = -ENOMEM;
        PyObject *opts;

        /* The arenas' fds ride along; without memfds (an old kernel),
         * big values just go in a memfd each, or inline, and small
         * frames on the socket. */
        if (ex_arena_pair_create(&s->down, &s->up, &arena_fds[0],
                                 &arena_fds[1]) == 0) {
                nfds = 2;
                rings = rings_wanted() &&
                        ex_arena_rings(&s->down, &s->up, &s->down_ring,
                                       &s->up_ring) == 0;
        }
        if (rings) {
                s->tx.ring = &s->down_ring;
                s->rx.ring = &s->up_ring;
        }
        /* options["rings"] tells the child to switch to its ring. */
        opts = options ? PyDict_Copy(options) : PyDict_New();
        ex_session_encode_hooks(s, &hooks);
        hooks.reference = NULL; /* the bootstrap is data, whatever the policy */
        hooks.out_of_band = false; /* and inline: sent by ex_frame_send */
        if (!opts ||
            PyDict_SetItemString(opts, "rings", rings ? Py_True : Py_False) <
                    0 ||
            ex_put_container(&b, EX_TAG_TUPLE, 2) < 0 ||
            ex_encode(s->st, &hooks, sys_path, &b, 4) < 0 ||
            ex_encode(s->st, &hooks, opts, &b, 8) < 0) {
                if (!PyErr_Occurred())
                        PyErr_NoMemory();
        } else {
                h.length = (uint32_t)b.len;
                /* The socket buffer takes it; the child reads it once it
                 * runs. */
                Py_BEGIN_ALLOW_THREADS
                r = ex_frame_send_fds(s->sock, &h, b.data, (uint32_t)b.len,
                                      arena_fds, nfds);
                Py_END_ALLOW_THREADS
                if (r < 0)
                        session_die(s, r, NULL);
        }
        Py_XDECREF(opts);
        for (uint32_t i = 0; i < nfds; i++)
                close(arena_fds[i]); /* the child has its own */
        ex_buf_free(&b);
        return r < 0 ? -1 : 0;
}

/* Start a child (the session's, or a spare) on child_end into *out. */
static int spawn_child(ex_state *st, PyObject *exe_b, PyObject *root_b,
                       PyObject *core_b, int child_end, struct ex_child *out)
{
        const char *ld = getenv("LD_LIBRARY_PATH");
        _cleanup_free_ char *ld_env = NULL;
        char *argv[] = {PyBytes_AS_STRING(exe_b), "-I", "-S", "-B", "-c",
                        (char *)BOOTSTRAP, PyBytes_AS_STRING(root_b),
                        PyBytes_AS_STRING(core_b), NULL};
        char *envp[sizeof(CHILD_ENV) / sizeof(*CHILD_ENV) + 2 +
                   N_SANITIZER_ENV];
        char *san_env[N_SANITIZER_ENV] = {NULL};
        size_t n = 0;
        struct ex_spawn_args a;
        int r;

        for (; n < sizeof(CHILD_ENV) / sizeof(*CHILD_ENV); n++)
                envp[n] = (char *)CHILD_ENV[n];
        /* Needed to start a Python built with a shared libpython that
         * lives outside the linker's default paths. */
        if (ld && asprintf(&ld_env, "LD_LIBRARY_PATH=%s", ld) > 0)
                envp[n++] = ld_env;
        for (size_t i = 0; EX_ASAN_BUILD && i < N_SANITIZER_ENV; i++) {
                const char *v = getenv(SANITIZER_ENV[i]);

                if (v && asprintf(&san_env[i], "%s=%s", SANITIZER_ENV[i],
                                  v) > 0)
                        envp[n++] = san_env[i];
                else
                        san_env[i] = NULL;
        }
        envp[n] = NULL;
        a = (struct ex_spawn_args){
                .path = argv[0],
                .argv = argv,
                .envp = envp,
                .channel_fd = child_end,
                .output_fd = -1,
                .plan = {.parent_pid = getpid(),
                         /* PDEATHSIG follows the forking thread: only the
                          * main thread lives as long as the process. */
                         .death_signal = gettid() == getpid(),
                         .no_new_privs = true,
                         .no_core_dumps = true},
        };
        Py_BEGIN_ALLOW_THREADS
        r = ex_spawn(&a, out);
        Py_END_ALLOW_THREADS
        for (size_t i = 0; i < N_SANITIZER_ENV; i++)
                free(san_env[i]);
        if (r < 0) {
                PyErr_Format(st->ProtocolError,
                             "extradite: cannot start the child (%s, "
                             "while %s): %s",
                             argv[0], ex_spawn_stage_name(out->failed_stage),
                             strerror(-r));
                return -1;
        }
        return 0;
}

/* What a child is started with, beyond the constants (spare.h): a spare
 * fits a session only if it is the same. NULL when out of memory. */
static char *spawn_key(PyObject *exe_b, PyObject *root_b, PyObject *core_b)
{
        const char *ld = getenv("LD_LIBRARY_PATH");
        char *key = NULL;

        if (asprintf(&key, "%s\n%s\n%s\n%d%s%d", PyBytes_AS_STRING(exe_b),
                     PyBytes_AS_STRING(root_b), PyBytes_AS_STRING(core_b),
                     ld != NULL, ld ? ld : "", gettid() == getpid()) < 0)
                return NULL;
        return key;
}

/* The session's child and channel: the spare when it fits, else a new
 * one. 0, or -1 with an exception. */
static int start_child(ex_session *s, PyObject *exe_b, PyObject *root_b,
                       PyObject *core_b, const char *key)
{
        int sv[2], r;

        if (key && ex_spare_wanted() &&
            ex_spare_take(&s->st->spare, key, &s->child, &s->sock))
                return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                PyErr_SetFromErrno(PyExc_OSError);
                return -1;
        }
        s->sock = sv[0];
        r = spawn_child(s->st, exe_b, root_b, core_b, sv[1], &s->child);
        close(sv[1]);
        return r;
}

/* From the second child on, start the next one ahead (spare.h); a spare
 * that cannot start is no error, the next session starts its own. */
static void start_spare(ex_state *st, PyObject *exe_b, PyObject *root_b,
                        PyObject *core_b, char *key)
{
        struct ex_child c = {.pidfd = -1, .status = -1};
        int sv[2];

        if (!key || !ex_spare_wanted() || ++st->spare.started < 2 ||
            st->spare.sock >= 0 ||
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                free(key);
                return;
        }
        if (spawn_child(st, exe_b, root_b, core_b, sv[1], &c) < 0) {
                PyErr_Clear();
                close(sv[0]);
                free(key);
        } else {
                ex_spare_keep(&st->spare, key, &c, sv[0]);
        }
        close(sv[1]);
}

/* The reader's mutex and condition; the condition waits on the monotonic
 * clock, as deadlines do. 0 or an errno. */
static int init_sync(ex_session *s)
{
        pthread_condattr_t attr;
        int r = pthread_condattr_init(&attr);

        if (r)
                return r;
        r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (!r && !(r = pthread_mutex_init(&s->mu, NULL)) &&
            (r = pthread_cond_init(&s->cv, &attr)))
                pthread_mutex_destroy(&s->mu);
        pthread_condattr_destroy(&attr);
        return r;
}

/* Does the profile in options confine the child? Then the exposure rule
 * applies to what it may reach of ours (exposure.h). */
static int is_confined(PyObject *options)
{
        PyObject *profile = options ? PyDict_GetItemString(options, "sandbox")
                                    : NULL;
        struct ex_policy p;

        if (!profile)
                return 0; /* a bare child, as in the unit tests of the core */
        if (ex_policy_from_dict(profile, &p) < 0) {
                PyErr_Clear();
                return 1;
        }
        return p.seccomp || p.landlock;
}

static int is_learning(PyObject *options)
{
        PyObject *profile = options ? PyDict_GetItemString(options, "sandbox")
                                    : NULL;
        struct ex_policy p;

        if (!profile || ex_policy_from_dict(profile, &p) < 0) {
                PyErr_Clear();
                return 0;
        }
        return p.learn;
}

static PyObject *session_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
        static char *kwlist[] = {"executable",       "package_root",
                                 "sys_path",         "start_timeout",
                                 "options",          "call_timeout",
                                 "profile",          "child_pickle",
                                 "transport_policy", "transport_type_rules",
                                 NULL};
        PyObject *exe_b = NULL, *root_b = NULL, *core = NULL, *core_b = NULL,
                 *sys_path,
                 *options = NULL, *call_timeout = Py_None, *profile = Py_None,
                 *policy = NULL, *rules_in = Py_None, *rules = NULL,
                 *child_options = NULL;
        double start_timeout = 60.0, call_timeout_s = -1;
        int child_pickle = 0, default_policy = EX_POLICY_VALUE;
        ex_session *s;
        char *key = NULL;

        if (!PyArg_ParseTupleAndKeywords(
                    args, kw, "O&O&O!|dO!OUpUO", kwlist,
                    PyUnicode_FSConverter, &exe_b, PyUnicode_FSConverter,
                    &root_b, &PyList_Type, &sys_path, &start_timeout,
                    &PyDict_Type, &options, &call_timeout, &profile,
                    &child_pickle, &policy, &rules_in))
                goto fail_args;
        if (policy &&
            (default_policy = ex_policy_parse(policy, "transport_policy")) < 0)
                goto fail_args;
        rules = parse_rules(rules_in);
        if (!rules)
                goto fail_args;
        if (!(start_timeout > 0)) {
                PyErr_SetString(PyExc_ValueError,
                                "start_timeout must be positive");
                goto fail_args;
        }
        if (call_timeout != Py_None) {
                call_timeout_s = PyFloat_AsDouble(call_timeout);
                if (call_timeout_s == -1 && PyErr_Occurred())
                        goto fail_args;
                if (!(call_timeout_s > 0) || call_timeout_s > 1e9) {
                        PyErr_SetString(PyExc_ValueError,
                                        "call_timeout must be a positive "
                                        "number of seconds or None");
                        goto fail_args;
                }
        }
        s = (ex_session *)tp->tp_alloc(tp, 0);
        if (!s)
                goto fail_args;
        s->module = PyType_GetModuleByDef(tp, &ex_module_def);
        Py_XINCREF(s->module);
        s->st = s->module ? ex_state_of_module(s->module) : NULL;
        s->forks = s->st ? s->st->forks : 0;
        s->sock = -1;
        s->rx.arena = &s->up;
        s->learn_fd = -1;
        s->child = (struct ex_child){.pidfd = -1, .status = -1};
        s->state = EX_SESSION_CLOSED; /* until the child runs */
        s->limits = ex_limits_default();
        /* Unpickling runs code: only an unconfined child may send pickles
         * (the profile check makes sure of it). */
        s->limits.allow_pickle = child_pickle;
        /* What decoding a reply may cost us (protocol/budget.h). */
        if (ex_policy_reply_budget(options ? PyDict_GetItemString(options,
                                                                  "sandbox")
                                           : NULL,
                                   &s->limits.max_reply_memory,
                                   &s->limits.max_reply_collisions) < 0)
                goto fail;
        s->start_timeout_ms = (int64_t)(start_timeout * 1000.0);
        s->call_timeout_ms =
                call_timeout_s > 0 ? (int64_t)(call_timeout_s * 1000.0) : -1;
        if (s->call_timeout_ms == 0)
                s->call_timeout_ms = 1;
        s->booting = 1;
        s->profile = Py_NewRef(profile);
        s->confined = is_confined(options);
        s->handout = (struct ex_handout){s, EX_ORIGIN_PASSED, NULL};
        s->learning = is_learning(options);
        s->default_policy = default_policy;
        s->type_rules = rules == Py_None ? NULL : Py_NewRef(rules);
        s->send_lock = PyThread_allocate_lock();
        s->sync_ready = init_sync(s) == 0;
        if (!s->st || !s->sync_ready || !s->send_lock) {
                if (!PyErr_Occurred())
                        PyErr_NoMemory();
                goto fail;
        }
        core = PyModule_GetFilenameObject(s->module);
        if (!core || !PyUnicode_FSConverter(core, &core_b))
                goto fail;
        key = spawn_key(exe_b, root_b, core_b);
        if (start_child(s, exe_b, root_b, core_b, key) < 0)
                goto fail;
        s->state = EX_SESSION_OPEN;
        /* The profile's filter, compiled once, filled in for this pid:
         * the child only loads it (compiling took it a millisecond). */
        child_options = ex_policy_options_for_child(options, s->child.pid);
        if ((options && !child_options) ||
            send_bootstrap(s, sys_path, child_options) < 0)
                goto fail;
        start_spare(s->st, exe_b, root_b, core_b, key); /* takes key */
        Py_XDECREF(child_options);
        Py_DECREF(exe_b);
        Py_DECREF(root_b);
        Py_DECREF(core);
        Py_DECREF(core_b);
        Py_DECREF(rules);
        return (PyObject *)s;
fail:
        free(key);
        Py_XDECREF(child_options);
        Py_DECREF(s);
fail_args:
        Py_XDECREF(exe_b);
        Py_XDECREF(root_b);
        Py_XDECREF(core);
        Py_XDECREF(core_b);
        Py_XDECREF(rules);
        return NULL;
}

/* ---- Python-visible methods ------------------------------------------ */

/* The load reply (target, kind, name, qualname, module, methods, doc) as
 * the parent uses it: its method names filtered by the parent itself
 * (exposure.h), not trusted to the child. Steals `reply`. */
static PyObject *load_reply(ex_session *s, PyObject *reply)
{
        PyObject *methods, *out;

        if (!PyTuple_CheckExact(reply) || PyTuple_GET_SIZE(reply) != 7) {
                Py_DECREF(reply);
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: malformed load reply from the "
                                "child");
                return NULL;
        }
        methods = ex_exposure_method_names(s->st, PyTuple_GET_ITEM(reply, 5));
        if (!methods) {
                Py_DECREF(reply);
                return NULL;
        }
        out = PyTuple_New(7);
        for (Py_ssize_t i = 0; out && i < 7; i++)
                PyTuple_SET_ITEM(out, i,
                                 Py_NewRef(i == 5 ? methods
                                                  : PyTuple_GET_ITEM(reply, i)));
        Py_DECREF(methods);
        Py_DECREF(reply);
        return out;
}

static PyObject *session_load(ex_session *s, PyObject *args)
{
        struct ex_buf b = {0};
        PyObject *module, *qualname, *res;

        if (!PyArg_ParseTuple(args, "UU:load", &module, &qualname))
                return NULL;
        {
                struct ex_codec_hooks hooks;
                ex_session_encode_hooks(s, &hooks);
                if (ex_put_container(&b, EX_TAG_TUPLE, 2) < 0 ||
                    ex_encode(s->st, &hooks, module, &b, 1) < 0 ||
                    ex_encode(s->st, &hooks, qualname, &b, 1) < 0) {
                        ex_buf_free(&b);
                        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
                }
        }
        /* Handles come back as raw ids: a target is pinned in the child. */
        res = ex_session_call(s, EX_OP_LOAD, &b, NULL);
        ex_buf_free(&b);
        return res ? load_reply(s, res) : NULL;
}

static PyObject *session_getattr(ex_session *s, PyObject *args)
{
        unsigned long long handle;
        PyObject *name, *res;
        struct ex_buf b = {0};
        const char *utf8;
        Py_ssize_t n;

        if (!PyArg_ParseTuple(args, "KU:getattr", &handle, &name))
                return NULL;
        utf8 = PyUnicode_AsUTF8AndSize(name, &n);
        if (!utf8)
                return NULL;
        if (ex_put_container(&b, EX_TAG_TUPLE, 2) < 0 ||
            ex_put_handle(&b, EX_TAG_BACKREF, handle) < 0 ||
            ex_put_str(&b, utf8, (size_t)n) < 0) {
                ex_buf_free(&b);
                return PyErr_Occurred() ? NULL : PyErr_NoMemory();
        }
        res = ex_session_call(s, EX_OP_GETATTR, &b, s->st->RemoteObjectType);
        ex_buf_free(&b);
        return res;
}

/* One empty round trip: returns once the child is confined and serving
 * (or raises what kept it from starting). */
static PyObject *session_ping(ex_session *s, PyObject *Py_UNUSED(ignored))
{
        struct ex_buf b = {0};
        PyObject *res;

        if (ex_put_container(&b, EX_TAG_TUPLE, 0) < 0)
                return PyErr_NoMemory();
        res = ex_session_call(s, EX_OP_PING, &b, NULL);
        ex_buf_free(&b);
        return res;
}

static PyObject *session_take_learn_listener(ex_session *s,
                                             PyObject *Py_UNUSED(ignored))
{
        int fd = s->learn_fd;

        if (fd < 0)
                Py_RETURN_NONE;
        s->learn_fd = -1;
        return PyLong_FromLong(fd);
}

static PyObject *session_close(ex_session *s, PyObject *Py_UNUSED(ignored))
{
        if (s->state == EX_SESSION_OPEN) {
                s->state = EX_SESSION_CLOSED;
                shut_down(s, 2000);
        }
        Py_RETURN_NONE;
}

static PyObject *session_get_pid(ex_session *s, void *Py_UNUSED(c))
{
        if (s->child.pid <= 0 || s->child.reaped)
                Py_RETURN_NONE;
        return PyLong_FromLong(s->child.pid);
}

static PyObject *session_get_alive(ex_session *s, void *Py_UNUSED(c))
{
        return PyBool_FromLong(s->state == EX_SESSION_OPEN);
}

static PyObject *session_get_requests(ex_session *s, void *Py_UNUSED(c))
{
        return PyLong_FromUnsignedLongLong(s->requests);
}

static PyObject *session_get_rings(ex_session *s, void *Py_UNUSED(c))
{
        int on;

        if (!s->send_lock)
                Py_RETURN_FALSE;
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(s->send_lock, WAIT_LOCK);
        on = s->tx.ring_on && atomic_load(&s->child_switched);
        PyThread_release_lock(s->send_lock);
        Py_END_ALLOW_THREADS
        return PyBool_FromLong(on);
}

static PyObject *session_get_state(ex_session *s, void *Py_UNUSED(c))
{
        static const char *const names[] = {"open", "dead", "closed"};
        return PyUnicode_FromString(names[s->state]);
}

static PyObject *session_get_exported(ex_session *s, void *Py_UNUSED(c))
{
        return PyLong_FromUnsignedLong(s->exports.live);
}

static PyObject *session_exported_objects(ex_session *s,
                                          PyObject *Py_UNUSED(ignored))
{
        return ex_exports_objects(&s->exports);
}

/* The child's report, and ours of the exposure rule: which applies, and
 * how many of the child's steps it refused. */
static PyObject *session_get_report(ex_session *s, void *Py_UNUSED(c))
{
        PyObject *report, *exposure;

        if (!s->report || !PyDict_Check(s->report))
                return Py_NewRef(s->report ? s->report : Py_None);
        report = PyDict_Copy(s->report);
        exposure = Py_BuildValue("{sssK}", "rule",
                                 s->confined ? "confined" : "unconfined",
                                 "refused", (unsigned long long)s->refused);
        if (!report || !exposure ||
            PyDict_SetItemString(report, "exposure", exposure) < 0)
                Py_CLEAR(report);
        Py_XDECREF(exposure);
        return report;
}

static int session_traverse(ex_session *s, visitproc visit, void *arg)
{
        Py_VISIT(Py_TYPE(s));
        Py_VISIT(s->report);
        Py_VISIT(s->type_rules);
        Py_VISIT(s->module);
        return 0;
}

static void session_dealloc(ex_session *s)
{
        PyTypeObject *tp = Py_TYPE(s);

        PyObject_GC_UnTrack(s);
        if (s->weakrefs)
                PyObject_ClearWeakRefs((PyObject *)s);
        if (s->child.pid > 0 && !s->child.reaped && s->st)
                shut_down(s, 200);
        if (inherited(s))
                s->down.ack = s->up.ack = NULL; /* the parent's arenas */
        if (s->sock >= 0)
                close(s->sock);
        if (s->learn_fd >= 0)
                close(s->learn_fd);
        ex_child_release(&s->child);
        for (size_t i = 0; i < s->nstash; i++)
                ex_buf_free(&s->stash[i].in);
        /* After the buffers: letting go of one writes to "up". */
        for (size_t i = 0; i < sizeof(s->spare) / sizeof(*s->spare); i++)
                ex_buf_free(&s->spare[i]);
        ex_rx_free(&s->rx);
        s->rx.ring = s->tx.ring = NULL; /* they were in the arenas */
        ex_arena_unmap(&s->down);
        ex_arena_unmap(&s->up);
        PyMem_Free(s->stash);
        PyMem_Free(s->waiting);
        PyMem_Free(s->waiting_thread);
        ex_map_free(&s->proxies);
        ex_release_queue_free(&s->rel);
        ex_exports_clear(&s->exports);
        if (s->sync_ready) {
                pthread_cond_destroy(&s->cv);
                pthread_mutex_destroy(&s->mu);
        }
        if (s->send_lock)
                PyThread_free_lock(s->send_lock);
        Py_CLEAR(s->death);
        Py_CLEAR(s->profile);
        Py_CLEAR(s->report);
        Py_CLEAR(s->type_rules);
        Py_CLEAR(s->module);
        tp->tp_free(s);
        Py_DECREF(tp);
}

static PyMethodDef session_methods[] = {
        {"load", (PyCFunction)session_load, METH_VARARGS,
         "load(module, qualname) -> (handle, kind, name, qualname, module, "
         "methods, doc)\n\nImport a target in the child."},
        {"getattr", (PyCFunction)session_getattr, METH_VARARGS,
         "getattr(handle, name) -> value\n\nGet an attribute of a remote "
         "object."},
        {"effective_policy", (PyCFunction)(void (*)(void))session_effective_policy,
         METH_VARARGS | METH_KEYWORDS,
         "effective_policy(value, call_policy=None) -> dict\n\nHow value "
         "would travel to the child: effective_policy, source "
         "(call_override, type_rule or session_default), matched_type."},
        {"ping", (PyCFunction)session_ping, METH_NOARGS,
         "One empty round trip: returns once the child is up and serving."},
        {"close", (PyCFunction)session_close, METH_NOARGS,
         "Stop the child and reap it. Idempotent."},
        {"_exported_objects", (PyCFunction)session_exported_objects,
         METH_NOARGS,
         "For the capability tests: a list of the parent objects the child "
         "holds handles to."},
        {"take_learn_listener", (PyCFunction)session_take_learn_listener,
         METH_NOARGS,
         "Learn mode: the child's seccomp listener fd, once booted (the "
         "caller owns and closes it); None otherwise or once taken."},
        {NULL, NULL, 0, NULL},
};

static PyGetSetDef session_getset[] = {
        {"pid", (getter)session_get_pid, NULL, "The child's pid, or None.",
         NULL},
        {"alive", (getter)session_get_alive, NULL,
         "True while requests can be made.", NULL},
        {"requests", (getter)session_get_requests, NULL,
         "Round trips made so far.", NULL},
        {"rings", (getter)session_get_rings, NULL,
         "True once small frames go through the shared-memory rings both "
         "ways (protocol/ring.h).",
         NULL},
        {"state", (getter)session_get_state, NULL,
         "'open', 'dead' or 'closed'.", NULL},
        {"exported", (getter)session_get_exported, NULL,
         "Parent objects the child holds handles to.", NULL},
        {"sandbox_report", (getter)session_get_report, NULL,
         "What the child's sandbox applied (a dict), None without one.",
         NULL},
        {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef session_members[] = {
        {"__weaklistoffset__", T_PYSSIZET, offsetof(ex_session, weakrefs),
         READONLY, NULL},
        {NULL, 0, 0, 0, NULL},
};

static PyType_Slot session_slots[] = {
        {Py_tp_members, session_members},
        {Py_tp_new, session_new},
        {Py_tp_dealloc, session_dealloc},
        {Py_tp_traverse, session_traverse},
        {Py_tp_methods, session_methods},
        {Py_tp_getset, session_getset},
        {Py_tp_doc, "Session(executable, package_root, sys_path, "
                    "start_timeout=60.0, options=None, call_timeout=None, "
                    "profile=None, child_pickle=False)\n\nOne confined "
                    "child process and its channel. options['sandbox'] is "
                    "the profile dict the child applies before any import."},
        {0, NULL},
};

static PyType_Spec session_spec = {
        .name = "extradite._core.Session",
        .basicsize = sizeof(ex_session),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                 Py_TPFLAGS_IMMUTABLETYPE,
        .slots = session_slots,
};

int ex_session_init_type(PyObject *module, ex_state *st)
{
        st->SessionType = (PyTypeObject *)PyType_FromModuleAndSpec(
                module, &session_spec, NULL);
        if (!st->SessionType)
                return -1;
        return PyModule_AddType(module, st->SessionType);
}
