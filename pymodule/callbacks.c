/* The parent serving the child: callbacks (DESIGN §5).
 *
 * While a thread of ours waits on a call into the child, the child may call
 * back into objects we passed it by handle. The waiting thread runs those
 * requests and answers them, then goes on waiting. The child is hostile:
 * it reaches only objects we exported, and a confined child only their
 * public attributes — no __globals__, __dict__ or __class__ walk to
 * os.system — and never a module.
 */
#include "session.h"

#include "errors.h"
#include "ops_apply.h"

static int private_name(ex_session *s, PyObject *name)
{
        if (!s->confined || PyUnicode_GET_LENGTH(name) == 0 ||
            PyUnicode_READ_CHAR(name, 0) != '_')
                return 0;
        PyErr_Format(s->st->UnsupportedInteractionError,
                     "extradite: a sandboxed child may not reach the private "
                     "or special attribute %R of a parent object",
                     name);
        return 1;
}

static PyObject *call_with(PyObject *fn, PyObject *args, PyObject *kwargs)
{
        return PyObject_Call(fn, args, PyDict_GET_SIZE(kwargs) ? kwargs : NULL);
}

/* Run one request; *as_handle is set when the result must go as a
 * handle whatever the policy (an iterator). */
static PyObject *run(ex_session *s, uint8_t op, PyObject *req, int *as_handle)
{
        PyObject *obj, *name, *args, *kwargs, *value, *fn, *res;

        switch (op) {
        case EX_OP_CALL:
                if (!PyArg_ParseTuple(req, "OO!O!", &obj, &PyTuple_Type, &args,
                                      &PyDict_Type, &kwargs))
                        break;
                return call_with(obj, args, kwargs);
        case EX_OP_CALL_METHOD:
                if (!PyArg_ParseTuple(req, "OUO!O!", &obj, &name, &PyTuple_Type,
                                      &args, &PyDict_Type, &kwargs))
                        break;
                if (private_name(s, name))
                        return NULL;
                fn = PyObject_GetAttr(obj, name);
                if (!fn)
                        return NULL;
                res = call_with(fn, args, kwargs);
                Py_DECREF(fn);
                return res;
        case EX_OP_GETATTR:
                if (!PyArg_ParseTuple(req, "OU", &obj, &name))
                        break;
                return private_name(s, name) ? NULL : PyObject_GetAttr(obj, name);
        case EX_OP_SETATTR:
                if (!PyArg_ParseTuple(req, "OUO", &obj, &name, &value))
                        break;
                if (private_name(s, name) || PyObject_SetAttr(obj, name, value) < 0)
                        return NULL;
                Py_RETURN_NONE;
        case EX_OP_DELATTR:
                if (!PyArg_ParseTuple(req, "OU", &obj, &name))
                        break;
                if (private_name(s, name) || PyObject_DelAttr(obj, name) < 0)
                        return NULL;
                Py_RETURN_NONE;
        case EX_OP_DUNDER:
                /* len, iteration, items, operators...: the object's own
                 * protocol, not a walk through its attributes. */
                if (!PyArg_ParseTuple(req, "OUO!", &obj, &name, &PyTuple_Type,
                                      &args))
                        break;
                return ex_apply_dunder(s->st, obj, name, args, as_handle);
        case EX_OP_BATCH:
                if (!PyArg_ParseTuple(req, "OOO!", &obj, &name, &PyList_Type,
                                      &args))
                        break;
                if (name != Py_None && !PyUnicode_Check(name))
                        break;
                if (name != Py_None && private_name(s, name))
                        return NULL;
                return ex_apply_batch(s->st, obj, name, args);
        default:
                break;
        }
        PyErr_Clear();
        PyErr_Format(s->st->ProtocolError,
                     "extradite: the child made a malformed request (op %d)",
                     (int)op);
        return NULL;
}

int ex_session_serve_child(ex_session *s, const struct ex_frame_header *h)
{
        struct ex_codec_hooks hooks;
        struct ex_buf out = {0};
        struct ex_frame_header rh = {.request_id = h->request_id,
                                     .chain_id = h->chain_id};
        PyObject *req, *res = NULL;
        int r, as_handle = 0;

        req = ex_session_decode(s, s->st->RemoteObjectType);
        if (!req && PyErr_ExceptionMatches(s->st->ProtocolError)) {
                PyErr_Clear();
                return -EBADMSG; /* undecodable: the child is not trusted */
        }
        if (req && !PyTuple_Check(req))
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: malformed request from the child");
        else if (req && s->depth > EX_MAX_NESTING)
                PyErr_Format(s->st->UnsupportedInteractionError,
                             "extradite: calls and callbacks nested deeper "
                             "than %d",
                             EX_MAX_NESTING);
        else if (req)
                res = run(s, h->op, req, &as_handle);
        Py_XDECREF(req);

        ex_session_encode_hooks(s, &hooks);
        if (res && (as_handle ? ex_session_export(s, res, &out)
                              : ex_encode(s->st, &hooks, res, &out,
                                          s->limits.max_depth)) == 0) {
                rh.kind = EX_MSG_REPLY;
        } else {
                if (!PyErr_Occurred())
                        PyErr_NoMemory();
                rh.kind = EX_MSG_ERROR;
                if (ex_encode_error(s->st, ex_session_encode_other, s,
                                    &out) < 0) {
                        PyErr_Clear();
                        ex_buf_free(&out);
                        return -ENOMEM;
                }
        }
        Py_XDECREF(res);
        /* The session may have been closed by the callback itself. */
        if (s->sock < 0) {
                ex_buf_free(&out);
                return -EPIPE;
        }
        rh.length = (uint32_t)out.len;
        Py_BEGIN_ALLOW_THREADS
        r = ex_frame_send_buf(s->sock, &rh, &out);
        Py_END_ALLOW_THREADS
        ex_buf_free(&out);
        return r;
}
