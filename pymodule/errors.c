/* Exception classes and error reports; see errors.h. */
#include "errors.h"

#include <string.h>

#include "escape.h"
#include "frame.h"

/* Cap what an error report carries; the rest is cut. */
#define MAX_MESSAGE_CHARS (64 * 1024)
#define MAX_TRACEBACK_CHARS (256 * 1024)

static PyObject *new_error(PyObject *module, const char *name, const char *doc,
                           PyObject *bases, PyObject *dict)
{
        char qualified[96];
        PyObject *cls;

        snprintf(qualified, sizeof(qualified), "extradite.%s", name);
        cls = PyErr_NewExceptionWithDoc(qualified, doc, bases, dict);
        if (cls && PyModule_AddObjectRef(module, name, cls) < 0)
                Py_CLEAR(cls);
        return cls;
}

static PyObject *none_attrs(const char *a, const char *b, const char *c)
{
        return Py_BuildValue("{sOsOsO}", a, Py_None, b, Py_None, c, Py_None);
}

int ex_errors_init(PyObject *module, ex_state *st)
{
        PyObject *d, *bases;

        st->Error = new_error(module, "ExtraditeError",
                              "Base class of every extradite error.",
                              PyExc_Exception, NULL);
        if (!st->Error)
                return -1;
        st->ProtocolError = new_error(
                module, "ExtraditeProtocolError",
                "The channel to the child broke: the child died or was "
                "stopped, sent a malformed message, or a released handle "
                "was used.",
                st->Error, NULL);
        st->ModuleLeakError = new_error(
                module, "ExtraditeModuleLeakError",
                "The protected module is, or would become, loaded in this "
                "interpreter.",
                st->Error, NULL);
        st->UnsupportedInteractionError = new_error(
                module, "UnsupportedInteractionError",
                "An interaction extradite cannot carry out across the "
                "process boundary.",
                st->Error, NULL);
        if (!st->ProtocolError || !st->ModuleLeakError ||
            !st->UnsupportedInteractionError)
                return -1;
        d = none_attrs("remote_type_name", "remote_message",
                       "remote_traceback");
        if (!d)
                return -1;
        st->RemoteError = new_error(
                module, "ExtraditeRemoteError",
                "An exception raised by code in the child. remote_type_name, "
                "remote_message and remote_traceback describe the original; "
                "for built-in exception types the raised object also derives "
                "from that type.",
                st->Error, d);
        Py_DECREF(d);
        d = none_attrs("syscall", "syscall_nr", "profile");
        if (!d)
                return -1;
        st->SandboxViolation = new_error(
                module, "ExtraditeSandboxViolation",
                "The child was killed for a system call its sandbox profile "
                "forbids; syscall, syscall_nr and profile say which.",
                st->Error, d);
        Py_DECREF(d);
        bases = PyTuple_Pack(2, st->Error, PyExc_TimeoutError);
        if (!bases)
                return -1;
        st->TimeoutError = new_error(
                module, "ExtraditeTimeoutError",
                "A call or the child's start-up took longer than allowed; the "
                "child was killed.",
                bases, NULL);
        Py_DECREF(bases);
        st->remote_classes = PyDict_New();
        if (!st->RemoteError || !st->SandboxViolation || !st->TimeoutError ||
            !st->remote_classes)
                return -1;
        return 0;
}

/* The class for a remote exception: for an Exception subclass from
 * builtins, a class deriving from RemoteError and it (cached); otherwise
 * RemoteError. Nothing is imported by a name the child chose: the name is
 * only looked up among the builtins. */
static PyObject *remote_class(ex_state *st, PyObject *module, PyObject *name)
{
        PyObject *builtins, *base, *cls, *cname;

        if (!PyUnicode_Check(module) || !PyUnicode_Check(name) ||
            !(PyUnicode_CompareWithASCIIString(module, "builtins") == 0))
                return Py_NewRef(st->RemoteError);
        cls = PyDict_GetItemWithError(st->remote_classes, name);
        if (cls)
                return Py_NewRef(cls);
        if (PyErr_Occurred())
                return NULL;
        builtins = PyEval_GetBuiltins(); /* borrowed */
        base = builtins ? PyDict_GetItemWithError(builtins, name) : NULL;
        if (!base) {
                if (PyErr_Occurred())
                        return NULL;
                return Py_NewRef(st->RemoteError);
        }
        /* Not BaseException-only types: a remote SystemExit must not end
         * this process. */
        if (!PyType_Check(base) ||
            !PyType_IsSubtype((PyTypeObject *)base,
                              (PyTypeObject *)PyExc_Exception))
                return Py_NewRef(st->RemoteError);
        cname = PyUnicode_FromFormat("Remote%U", name);
        if (!cname)
                return NULL;
        cls = PyObject_CallFunction((PyObject *)&PyType_Type, "O(OO){ss}",
                                    cname, st->RemoteError, base, "__module__",
                                    "extradite");
        Py_DECREF(cname);
        if (!cls) {
                /* An incompatible layout: keep the plain class. */
                PyErr_Clear();
                return Py_NewRef(st->RemoteError);
        }
        if (PyDict_SetItem(st->remote_classes, name, cls) < 0)
                Py_CLEAR(cls);
        return cls;
}

static PyObject *instantiate(PyObject *cls, PyObject *args, PyObject *message)
{
        PyObject *exc = NULL;

        if (args)
                exc = PyObject_Call(cls, args, NULL);
        if (!exc) {
                PyErr_Clear();
                exc = PyObject_CallOneArg(cls, message);
        }
        return exc;
}

/* The args an exception from the other side is built from: at most 8
 * plain scalars, each str escaped for showing, or NULL (no error) when
 * they are anything else: a handle would have str(exc) ask the child, and
 * in a round trip its text. */
static PyObject *shown_args(PyObject *args)
{
        PyObject *out;
        Py_ssize_t n;

        if (!PyTuple_CheckExact(args) || (n = PyTuple_GET_SIZE(args)) > 8)
                return NULL;
        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *a = PyTuple_GET_ITEM(args, i);
                PyTypeObject *t = Py_TYPE(a);
                if (!(a == Py_None || t == &PyBool_Type ||
                      t == &PyLong_Type || t == &PyFloat_Type ||
                      t == &PyUnicode_Type))
                        return NULL;
        }
        out = PyTuple_New(n);
        for (Py_ssize_t i = 0; out && i < n; i++) {
                PyObject *a = PyTuple_GET_ITEM(args, i);
                a = PyUnicode_Check(a) ? ex_escape_text(a, EX_TEXT_LINES)
                                       : Py_NewRef(a);
                if (!a)
                        Py_CLEAR(out);
                else
                        PyTuple_SET_ITEM(out, i, a);
        }
        if (!out)
                PyErr_Clear();
        return out;
}

/* Where the other side is, for the text we add. */
static const char *other_side(ex_state *st)
{
        return st->child ? "the parent" : "the extradite child";
}

/* Set remote_type_name, remote_message, remote_traceback (the raw text). */
static int set_remote_attrs(PyObject *exc, PyObject *type_name,
                            PyObject *message, PyObject *tb)
{
        if (PyObject_SetAttrString(exc, "remote_type_name", type_name) < 0 ||
            PyObject_SetAttrString(exc, "remote_message", message) < 0 ||
            PyObject_SetAttrString(exc, "remote_traceback", tb) < 0)
                return -1;
        return 0;
}

/* The remote traceback as a note (escaped), shown under an uncaught
 * exception: where it came from. */
static int add_traceback_note(ex_state *st, PyObject *exc, PyObject *tb)
{
        PyObject *shown, *note, *r;

        if (PyUnicode_GET_LENGTH(tb) == 0)
                return 0;
        shown = ex_escape_text(tb, EX_TEXT_LINES);
        note = shown ? PyUnicode_FromFormat("Remote traceback (in %s):\n%U",
                                            other_side(st), shown)
                     : NULL;
        r = note ? PyObject_CallMethod(exc, "add_note", "O", note) : NULL;
        Py_XDECREF(shown);
        Py_XDECREF(note);
        if (!r)
                return -1;
        Py_DECREF(r);
        return 0;
}

/* A remote StopIteration (StopAsyncIteration) raised as it is would end
 * the caller's loop without a word: list(map(remote.method, items)) would
 * stop early. As PEP 479 does for generators, it becomes an error, with
 * the original as its __cause__; ex_remote_stop_restore() gives it back
 * to the one caller that wants it, a remote iterator's next(). Steals
 * `exc`; returns the error (new reference) or NULL. */
static PyObject *stop_as_error(ex_state *st, PyObject *exc,
                               PyObject *type_name, PyObject *message,
                               PyObject *tb)
{
        PyObject *shown = ex_escape_text(type_name, EX_TEXT_LINE);
        PyObject *shown_msg = ex_escape_text(message, EX_TEXT_LINES);
        PyObject *text = NULL, *err = NULL;

        if (shown && shown_msg)
                text = PyUnicode_FromFormat(
                        "extradite: a call into %s raised %U; it is raised "
                        "here as ExtraditeRemoteError so that it cannot end "
                        "a loop silently (only a remote iterator's next() "
                        "ends one; the original is its __cause__)%s%U",
                        other_side(st), shown,
                        PyUnicode_GET_LENGTH(shown_msg) ? ": " : "",
                        shown_msg);
        if (text)
                err = PyObject_CallOneArg(st->RemoteError, text);
        if (err && set_remote_attrs(err, type_name, message, tb) < 0)
                Py_CLEAR(err);
        Py_XDECREF(shown);
        Py_XDECREF(shown_msg);
        Py_XDECREF(text);
        if (!err) {
                Py_DECREF(exc);
                return NULL;
        }
        PyException_SetCause(err, exc); /* steals exc */
        return err;
}

void ex_remote_stop_restore(ex_state *st)
{
        PyObject *exc, *cause;

        if (!PyErr_ExceptionMatches(st->RemoteError))
                return;
        exc = PyErr_GetRaisedException();
        cause = Py_IS_TYPE(exc, (PyTypeObject *)st->RemoteError)
                        ? PyException_GetCause(exc)
                        : NULL;
        if (cause && PyObject_TypeCheck(cause, (PyTypeObject *)
                                                       PyExc_StopIteration) &&
            PyObject_TypeCheck(cause, (PyTypeObject *)st->RemoteError)) {
                Py_DECREF(exc);
                PyErr_SetRaisedException(cause);
                return;
        }
        Py_XDECREF(cause);
        PyErr_SetRaisedException(exc);
}

PyObject *ex_raise_error_report(ex_state *st, PyObject *report)
{
        PyObject *kind_o, *module, *name, *message, *tb, *args;
        PyObject *cls = NULL, *exc = NULL, *type_name = NULL;
        PyObject *shown_msg = NULL, *shown = NULL;
        long kind;

        if (!PyTuple_Check(report) || PyTuple_GET_SIZE(report) != 6)
                goto malformed;
        kind_o = PyTuple_GET_ITEM(report, 0);
        module = PyTuple_GET_ITEM(report, 1);
        name = PyTuple_GET_ITEM(report, 2);
        message = PyTuple_GET_ITEM(report, 3);
        tb = PyTuple_GET_ITEM(report, 4);
        args = PyTuple_GET_ITEM(report, 5);
        if (!PyLong_CheckExact(kind_o) || !PyUnicode_Check(module) ||
            !PyUnicode_Check(name) || !PyUnicode_Check(message) ||
            !PyUnicode_Check(tb))
                goto malformed;
        kind = PyLong_AsLong(kind_o);
        switch (kind) {
        case EX_ERR_PROTOCOL:
                cls = Py_NewRef(st->ProtocolError);
                break;
        case EX_ERR_UNSUPPORTED:
                cls = Py_NewRef(st->UnsupportedInteractionError);
                break;
        case EX_ERR_LEAK:
                cls = Py_NewRef(st->ModuleLeakError);
                break;
        case EX_ERR_REMOTE:
                cls = remote_class(st, module, name);
                break;
        default:
                goto malformed;
        }
        if (!cls)
                return NULL;
        /* What is shown (str(exc), its args) is escaped; the raw text
         * goes on the remote_* attributes. */
        shown_msg = ex_escape_text(message, EX_TEXT_LINES);
        if (!shown_msg) {
                Py_DECREF(cls);
                return NULL;
        }
        shown = kind == EX_ERR_REMOTE ? shown_args(args) : NULL;
        exc = instantiate(cls, shown, shown_msg);
        if (!exc && cls != st->RemoteError) {
                /* A built-in type that takes no single message either
                 * (UnicodeDecodeError, an ExceptionGroup): the plain class. */
                PyErr_Clear();
                exc = instantiate(st->RemoteError, NULL, shown_msg);
        }
        Py_DECREF(cls);
        Py_XDECREF(shown);
        Py_DECREF(shown_msg);
        if (!exc)
                return NULL;
        if (kind == EX_ERR_REMOTE) {
                type_name = (PyUnicode_CompareWithASCIIString(module, "builtins") == 0)
                                    ? Py_NewRef(name)
                                    : PyUnicode_FromFormat("%U.%U", module,
                                                           name);
                if (!type_name ||
                    set_remote_attrs(exc, type_name, message, tb) < 0 ||
                    add_traceback_note(st, exc, tb) < 0)
                        goto fail;
                if (PyObject_TypeCheck(exc, (PyTypeObject *)
                                                    PyExc_StopIteration) ||
                    PyObject_TypeCheck(exc, (PyTypeObject *)
                                                    PyExc_StopAsyncIteration)) {
                        exc = stop_as_error(st, exc, type_name, message, tb);
                        if (!exc)
                                goto fail;
                }
        }
        Py_XDECREF(type_name);
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
        return NULL;
fail:
        Py_XDECREF(type_name);
        Py_XDECREF(exc);
        return NULL;
malformed:
        PyErr_SetString(st->ProtocolError,
                        "extradite: child sent a malformed error report");
        return NULL;
}

PyObject *ex_raise_errno(PyObject *cls, int err, const char *what)
{
        PyErr_Format(cls, "extradite: %s: %s", what, strerror(err < 0 ? -err : err));
        return NULL;
}

/* ---- encoding the raised exception for the peer ------------------------ */

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
                PyObject *tb = PyException_GetTraceback(exc);
                lines = PyObject_CallMethod(tb_mod, "format_exception", "OOO",
                                            (PyObject *)Py_TYPE(exc), exc,
                                            tb ? tb : Py_None);
                Py_XDECREF(tb);
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

PyObject *ex_scalar_args(PyObject *exc, PyObject *message)
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
        if (message)
                return PyTuple_Pack(1, message);
        message = cut(PyObject_Str(exc), MAX_MESSAGE_CHARS);
        if (!message) {
                PyErr_Clear();
                message = PyUnicode_FromString("");
        }
        args = message ? PyTuple_Pack(1, message) : NULL;
        Py_XDECREF(message);
        return args;
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

/* A remote StopIteration that stop_as_error() turned into an error: no
 * longer a StopIteration here, so not one for the peer either (passed on
 * out of a remote iterator's __next__, it would end the peer's loop). */
static int stop_turned_error(PyObject *exc, PyObject *orig)
{
        return (PyUnicode_CompareWithASCIIString(orig, "StopIteration") == 0 ||
                PyUnicode_CompareWithASCIIString(orig, "StopAsyncIteration") ==
                        0) &&
               !PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_StopIteration) &&
               !PyObject_TypeCheck(exc,
                                   (PyTypeObject *)PyExc_StopAsyncIteration);
}

/* The type to report: a remote error passed on (a callback's error going
 * back, say) keeps the original type's name. */
static void reported_type(ex_state *st, PyObject *exc, PyObject **module,
                          PyObject **name)
{
        PyObject *tp = (PyObject *)Py_TYPE(exc), *orig = NULL;

        if (PyObject_TypeCheck(exc, (PyTypeObject *)st->RemoteError))
                orig = PyObject_GetAttrString(exc, "remote_type_name");
        PyErr_Clear();
        if (orig && PyUnicode_Check(orig) && stop_turned_error(exc, orig))
                Py_CLEAR(orig);
        if (orig && PyUnicode_Check(orig)) {
                Py_ssize_t dot = PyUnicode_FindChar(
                        orig, '.', 0, PyUnicode_GET_LENGTH(orig), -1);
                if (dot < 0) {
                        *module = PyUnicode_FromString("builtins");
                        *name = Py_NewRef(orig);
                } else {
                        *module = PyUnicode_Substring(orig, 0, dot);
                        *name = PyUnicode_Substring(
                                orig, dot + 1, PyUnicode_GET_LENGTH(orig));
                }
                Py_DECREF(orig);
                return;
        }
        Py_XDECREF(orig);
        *module = PyObject_GetAttrString(tp, "__module__");
        *name = PyObject_GetAttrString(tp, "__qualname__");
}

/* Is tp one of the interpreter's own exception classes? Their str() is
 * made from their args, which then tell no more than the message. */
static int builtin_type(PyTypeObject *tp)
{
        return !PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE) &&
               !strchr(tp->tp_name, '.');
}

int ex_encode_error(ex_state *st, int detail,
                    int (*encode_other)(void *, PyObject *, struct ex_buf *),
                    void *ctx, struct ex_buf *out)
{
        PyObject *exc = PyErr_GetRaisedException();
        PyObject *module = NULL, *name = NULL;
        PyObject *message = cut(PyObject_Str(exc), MAX_MESSAGE_CHARS);
        PyObject *tb, *args, *report = NULL;
        struct ex_codec_hooks hooks = {.ctx = ctx,
                                       .encode_other = encode_other};
        int r = -1;

        PyErr_Clear();
        reported_type(st, exc, &module, &name);
        PyErr_Clear();
        if (!module || !PyUnicode_Check(module))
                Py_XSETREF(module, PyUnicode_FromString("builtins"));
        if (!name || !PyUnicode_Check(name))
                Py_XSETREF(name, PyUnicode_FromString(Py_TYPE(exc)->tp_name));
        if (!message)
                message = PyUnicode_FromString("<unprintable exception>");
        PyErr_Clear();
        /* Without detail, type and message only: a traceback would show
         * the peer our source lines, notes and causes; args beyond the
         * message, whatever a class of ours keeps in them. */
        tb = detail ? format_traceback(exc) : PyUnicode_FromString("");
        if (!message)
                args = NULL;
        else if (detail || builtin_type(Py_TYPE(exc)) ||
                 PyObject_TypeCheck(exc, (PyTypeObject *)st->RemoteError))
                /* a remote error's args came from the peer itself */
                args = ex_scalar_args(exc, message);
        else
                args = PyTuple_Pack(1, message);
        if (module && name && message && tb && args)
                report = Py_BuildValue("(lOOOOO)", error_kind(st, exc),
                                       module, name, message, tb, args);
        ex_buf_reset(out);
        if (report)
                r = ex_encode(st, &hooks, report, out, 4);
        if (r < 0) {
                /* e.g. a message that is not valid UTF-8 */
                PyErr_Clear();
                ex_buf_reset(out);
                Py_XSETREF(report,
                           Py_BuildValue("(lsssss())", (long)EX_ERR_REMOTE,
                                         "builtins", "RuntimeError",
                                         "extradite: an exception could not "
                                         "be reported",
                                         ""));
                r = report ? ex_encode(st, &hooks, report, out, 4) : -1;
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
