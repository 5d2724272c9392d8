/* Python objects <-> the wire codec (protocol/codec.h), both directions.
 *
 * Encoding writes straight from objects into an ex_buf; decoding builds
 * objects straight from an ex_reader. What the codec has no tag for, and
 * the handle tags, are delegated to hooks, so the parent and the child can
 * give them different meanings (pickle or handle, proxy or local object).
 */
#ifndef EXTRADITE_CONVERT_H
#define EXTRADITE_CONVERT_H

#include "state.h"
#include "codec.h"

struct ex_codec_hooks {
        void *ctx; /* not owned; passed back to the hooks */
        /* Encode an object without a codec tag: 0, or -1 with an exception
         * set. */
        int (*encode_other)(void *ctx, PyObject *o, struct ex_buf *b);
        /* The object for EX_TAG_HANDLE / EX_TAG_BACKREF: a new reference,
         * or NULL with an exception set. */
        PyObject *(*decode_handle)(void *ctx, uint8_t tag, uint64_t id);
        /* Optional: the object for EX_TAG_TYPE_HANDLE (a class the peer
         * owns, with its name). NULL: the tag is refused (ProtocolError). */
        PyObject *(*decode_type_handle)(void *ctx, uint64_t id,
                                        const uint8_t *name, size_t n);
        /* Optional: offered every non-scalar value (anything but None,
         * bool, int, float, complex, str, bytes) before it is copied; 1 if
         * it encoded the value itself (as a handle), 0 to copy it, -1 with
         * an exception. The transport policy of the parent. */
        int (*reference)(void *ctx, PyObject *o, struct ex_buf *b);
        /* bytes/bytearray of EX_OOB_MIN bytes and more may go out of band:
         * into a sealed memfd kept in b->fds (protocol/oob.h). Set it only
         * when the buffer is sent with ex_frame_send_tx(), which passes
         * those fds along; otherwise they are inline. */
        bool out_of_band;
        /* Optional, with out_of_band: this side's sending arena
         * (protocol/arena.h), tried before a memfd of their own. */
        struct ex_arena *arena;
};

/* Encode one object, nesting at most max_depth containers. 0 or -1. */
int ex_encode(ex_state *st, const struct ex_codec_hooks *h, PyObject *o,
              struct ex_buf *b, uint32_t max_depth);

/* Encode vectorcall arguments as (args tuple, kwargs dict). 0 or -1. */
int ex_encode_call_args(ex_state *st, const struct ex_codec_hooks *h,
                        PyObject *const *args, size_t nargs,
                        PyObject *kwnames, struct ex_buf *b);

/* Decode the next whole value from r: a new reference, or NULL with
 * ProtocolError (malformed input) or the hook's exception set. */
PyObject *ex_decode(ex_state *st, const struct ex_codec_hooks *h,
                    struct ex_reader *r);

/* Decode exactly one value spanning p..p+n (no trailing bytes). */
PyObject *ex_decode_all(ex_state *st, const struct ex_codec_hooks *h,
                        const void *p, size_t n, const struct ex_limits *lim);

/* ex_decode_all of a received frame (ex_frame_recv_fds), whose fds the
 * value's out-of-band tags name: each must be named exactly once. Closes
 * every fd of b, success or not. */
PyObject *ex_decode_buf(ex_state *st, const struct ex_codec_hooks *h,
                        struct ex_buf *b, const struct ex_limits *lim);
/* The same, giving up with ProtocolError ("reply budget exceeded") once
 * the clock passes deadline_ms (-1: never), which a timeout of timeout_ms
 * set (named in the message); lim's max_reply_* caps set the rest of the
 * decode budget (protocol/budget.h). */
PyObject *ex_decode_buf_until(ex_state *st, const struct ex_codec_hooks *h,
                              struct ex_buf *b, const struct ex_limits *lim,
                              int64_t deadline_ms, int64_t timeout_ms);

/* Raise ProtocolError describing a codec error code; returns NULL. */
PyObject *ex_raise_codec_error(ex_state *st, int err);

#endif
