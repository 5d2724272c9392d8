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

/* A sandboxed child reaches only public attributes of our objects. */
static int vet_name(void *ctx, PyObject *name)
{
        ex_session *s = ctx;

        if (PyUnicode_GET_LENGTH(name) == 0 ||
            PyUnicode_READ_CHAR(name, 0) != '_')
                return 0;
        PyErr_Format(s->st->UnsupportedInteractionError,
                     "extradite: a sandboxed child may not reach the private "
                     "or special attribute %R of a parent object",
                     name);
        return -1;
}

/* Is o one of the objects we gave the child (by handle)? Only those may
 * be a request's target: a value the child sent itself ("x".center(n),
 * 10 ** n) would have us compute and allocate whatever it likes, past
 * every cap on what it may send. */
static int is_exported(ex_session *s, PyObject *o)
{
        uint64_t id;

        return ex_map_get(&s->exports.by_object, (uint64_t)(uintptr_t)o, &id);
}

int ex_session_serve_child(ex_session *s, const struct ex_frame_header *h,
                           struct ex_buf *in, int64_t deadline_ms)
{
        struct ex_codec_hooks hooks;
        struct ex_buf out = {0};
        struct ex_frame_header rh = {.request_id = h->request_id,
                                     .chain_id = h->chain_id};
        PyObject *req, *res = NULL;
        int r, as_handle = 0;

        req = ex_session_decode(s, in, s->st->RemoteObjectType);
        if (!req && PyErr_ExceptionMatches(s->st->ProtocolError)) {
                PyErr_Clear();
                return -EBADMSG; /* undecodable: the child is not trusted */
        }
        if (req && (!PyTuple_Check(req) || PyTuple_GET_SIZE(req) == 0))
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: malformed request from the child");
        else if (req && !is_exported(s, PyTuple_GET_ITEM(req, 0)))
                PyErr_SetString(s->st->UnsupportedInteractionError,
                                "extradite: the child may only use objects "
                                "it was given by handle");
        /* The nesting of this thread's chain: other threads' calls in
         * flight are not part of it (the child enforces its own limit). */
        else if (req && ex_session_thread_depth(s) > EX_MAX_NESTING)
                PyErr_Format(s->st->UnsupportedInteractionError,
                             "extradite: calls and callbacks nested deeper "
                             "than %d",
                             EX_MAX_NESTING);
        else if (req)
                res = ex_apply_request(s->st, h->op, req,
                                       s->confined ? vet_name : NULL, s,
                                       &as_handle);
        Py_XDECREF(req);
        /* Ctrl-C while the callback ran is the user's, not the child's to
         * see: the call is abandoned (docs/deadlines.md). */
        if (!res && PyErr_ExceptionMatches(PyExc_KeyboardInterrupt))
                return -EINTR;

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
        /* -EPIPE when the callback itself closed the session. */
        rh.length = (uint32_t)out.len;
        r = ex_session_send(s, &rh, &out, deadline_ms);
        ex_buf_free(&out);
        return r;
}
