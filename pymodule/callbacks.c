/* The parent serving the child: callbacks (DESIGN §5).
 *
 * While a thread of ours waits on a call into the child, the child may call
 * back into objects we passed it by handle. The waiting thread runs those
 * requests and answers them, then goes on waiting. The child is hostile:
 * it reaches only objects we exported, and a confined child only what the
 * exposure rule allows (exposure.h): every request is vetted before it
 * runs, every handle in the answer admitted before it is minted.
 */
#include "session.h"

#include "errors.h"
#include "ops_apply.h"

static int vet(void *ctx, uint8_t op, PyObject *target, PyObject *name)
{
        ex_session *s = ctx;
        int passed = 0;

        if (op == EX_VET_CALLEE)
                ex_exports_find(&s->exports, target, &passed);
        if (ex_exposure_vet_request(s->st, op, target, name, passed) == 0)
                return 0;
        s->refused++;
        return -1;
}

/* The object a request of the child's runs on, for its target o: only
 * one we gave it by handle (borrowed; NULL for anything else). A value the
 * child sent itself ("x".center(n), 10 ** n) would have us compute and
 * allocate whatever it likes, past every cap on what it may send. The
 * exported object may be a stand-in for o (a ParentIterator, exposure.h):
 * the request runs on the stand-in. */
static PyObject *exported_target(ex_session *s, PyObject *o)
{
        return ex_exports_find(&s->exports, o, NULL);
}

/* req (stolen) with its target replaced: a new tuple, or NULL. */
static PyObject *with_target(PyObject *req, PyObject *target)
{
        Py_ssize_t n = PyTuple_GET_SIZE(req);
        PyObject *out = PyTuple_New(n);

        for (Py_ssize_t i = 0; out && i < n; i++)
                PyTuple_SET_ITEM(out, i,
                                 Py_NewRef(i ? PyTuple_GET_ITEM(req, i)
                                             : target));
        Py_DECREF(req);
        return out;
}

int ex_session_serve_child(ex_session *s, const struct ex_frame_header *h,
                           struct ex_buf *in, int64_t deadline_ms)
{
        struct ex_codec_hooks hooks;
        struct ex_handout ho;
        struct ex_minted minted = {0};
        struct ex_buf out = {0};
        struct ex_frame_header rh = {.request_id = h->request_id,
                                     .chain_id = h->chain_id};
        PyObject *req, *res = NULL, *target = NULL;
        int r, as_handle = 0;

        req = ex_session_decode(s, in, s->st->RemoteObjectType, deadline_ms);
        /* Undecodable: the child is not trusted. The error stays set for
         * session_die to raise (it says what was wrong, e.g. which part
         * of the decode budget ran out). */
        if (!req && PyErr_ExceptionMatches(s->st->ProtocolError))
                return -EBADMSG;
        if (req && (!PyTuple_Check(req) || PyTuple_GET_SIZE(req) == 0))
                PyErr_SetString(s->st->ProtocolError,
                                "extradite: malformed request from the child");
        else if (req && !(target = exported_target(
                                  s, PyTuple_GET_ITEM(req, 0))))
                PyErr_SetString(s->st->UnsupportedInteractionError,
                                "extradite: the child may only use objects "
                                "it was given by handle");
        else if (req && target != PyTuple_GET_ITEM(req, 0) &&
                 !(req = with_target(req, target)))
                ; /* no memory */
        /* The nesting of this thread's chain: other threads' calls in
         * flight are not part of it (the child enforces its own limit). */
        else if (req && ex_session_thread_depth(s) > EX_MAX_NESTING)
                PyErr_Format(s->st->UnsupportedInteractionError,
                             "extradite: calls and callbacks nested deeper "
                             "than %d",
                             EX_MAX_NESTING);
        else if (req)
                res = ex_apply_request(s->st, h->op, req,
                                       s->confined ? vet : NULL, s,
                                       &as_handle);
        Py_XDECREF(req);
        /* Ctrl-C while the callback ran is the user's, not the child's to
         * see: the call is abandoned (docs/deadlines.md). */
        if (!res && PyErr_ExceptionMatches(PyExc_KeyboardInterrupt))
                return -EINTR;

        ex_session_reply_hooks(s, &ho, &minted, &hooks);
        if (res && (as_handle ? ex_session_export_reply(s, res, &out)
                              : ex_encode(s->st, &hooks, res, &out,
                                          s->limits.max_depth)) == 0) {
                rh.kind = EX_MSG_REPLY;
                ex_session_minted_end(s, &minted, 1);
        } else {
                PyObject *exc;

                if (!PyErr_Occurred())
                        PyErr_NoMemory();
                /* The handles of a reply that is not sent go back (which
                 * may run __del__: not with our error set). */
                exc = PyErr_GetRaisedException();
                ex_session_minted_end(s, &minted, 0);
                PyErr_SetRaisedException(exc);
                ho.minted = NULL;
                rh.kind = EX_MSG_ERROR;
                /* A confined child learns the type and message of our
                 * error, not our traceback (source lines, notes). */
                if (ex_encode_error(s->st, !s->confined,
                                    ex_session_encode_other, &ho,
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
