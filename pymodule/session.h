/* A session: one child process, its channel, and the proxies of its
 * objects held in this interpreter (DESIGN §2, §5).
 *
 * Lifecycle: Session(...) spawns the child and sends its bootstrap;
 * load() imports a target there; proxies (proxy.c) make requests through
 * ex_session_call(); close() stops the child and reaps it. A session whose
 * child dies or misbehaves becomes dead: every later request raises
 * ExtraditeProtocolError. Deallocating an open session stops its child.
 */
#ifndef EXTRADITE_SESSION_H
#define EXTRADITE_SESSION_H

#include <pthread.h>

#include <stdatomic.h>

#include "arena.h"
#include "ring.h"
#include "state.h"
#include "codec.h"
#include "convert.h"
#include "frame.h"
#include "exports.h"
#include "exposure.h"
#include "handle_map.h"
#include "spawn.h"

enum ex_session_state { EX_SESSION_OPEN, EX_SESSION_DEAD, EX_SESSION_CLOSED };

/* A frame one waiting thread read for another: key is the request id it
 * answers (REPLY, ERROR) or the chain it belongs to (a callback, CALL). */
struct ex_stashed {
        uint32_t key;
        struct ex_frame_header h;
        struct ex_buf in;
};

struct ex_session;

/* The handles minted while one value was encoded, so that they can be
 * taken back when the value is not sent after all (its encoding failed
 * part way): a child asking for replies that fail must not grow our
 * export table. */
struct ex_minted {
        uint64_t *id; /* owned */
        size_t n, cap;
};

/* The context of the encoder's hooks: the session, why its objects are
 * being handed to the child (exposure.h), and where the handles minted
 * are noted (NULL: nowhere). */
struct ex_handout {
        struct ex_session *s;
        enum ex_origin origin;
        struct ex_minted *minted;
};

typedef struct ex_session {
        PyObject_HEAD
        ex_state *st;      /* borrowed: `module` keeps it alive */
        PyObject *module;  /* strong */
        int sock;          /* our end of the channel; -1 once closed */
        struct ex_child child;
        /* Big byte strings to the child and back (protocol/arena.h). */
        struct ex_arena down, up;
        struct ex_rx rx; /* reads the channel; rx.arena is &up */
        /* Small frames through shared memory (protocol/ring.h): tx, under
         * send_lock, sends in down_ring once the child switched to
         * up_ring (rx.ring_on, seen by the reader: child_switched). */
        struct ex_ring down_ring, up_ring;
        struct ex_tx tx;
        atomic_int child_switched;
        /* Buffers of finished calls, kept for the next ones (the GIL
         * guards them): a big payload's pages are not faulted in anew
         * every call. */
        struct ex_buf spare[2];
        /* Several threads may wait on calls at once; one of them at a time
         * reads the channel (`reading`, under `mu`) and hands the others
         * the frames that are theirs through `stash`, waking them with
         * `cv` (`turn` counts hand-overs). Sends take `send_lock`. */
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int reading;
        unsigned long turn;
        int sync_ready; /* mu and cv initialised */
        /* The thread running signal handlers inside one of our waits
         * (session.c, "the way out for signals"), else 0. */
        unsigned long handler_thread;
        PyThread_type_lock send_lock;
        uint32_t *waiting; /* request ids being waited on */
        unsigned long *waiting_thread; /* the thread waiting on each */
        size_t nwaiting, capwaiting;
        struct ex_stashed *stash; /* frames read for another waiter */
        size_t nstash, capstash;
        uint32_t next_id;
        uint64_t requests; /* round trips made, for tests and benchmarks */
        struct ex_limits limits; /* what we accept from the child */
        /* handle id -> ex_remote* (borrowed; a proxy removes itself) */
        struct ex_map proxies;
        /* releases not yet sent; flushed before the next request */
        struct ex_release_queue rel;
        /* parent objects the child holds handles to (callbacks) */
        struct ex_exports exports;
        /* the exposure rule applies (exposure.h); refusals counted */
        int confined;
        uint64_t refused;
        struct ex_handout handout; /* the parent's own values (passed) */
        /* transport policy: EX_POLICY_VALUE or _REFERENCE, and the
         * type rules as (type, policy) pairs in the order given */
        int default_policy;
        PyObject *type_rules; /* tuple of (type, int) tuples */
        enum ex_session_state state;
        PyObject *death; /* str: why the session died, once it has */
        int64_t start_timeout_ms; /* bounds the first reply */
        int64_t call_timeout_ms;  /* bounds every other reply; -1: none */
        int booting;              /* no reply received yet */
        /* st->forks when the session started: a process forked since
         * inherited the session and must neither use it nor stop it. */
        unsigned long forks;
        PyObject *profile;        /* str: the sandbox profile's name */
        PyObject *report;         /* what the child applied (boot reply) */
        /* learn mode: whether the child will send its seccomp listener,
         * and the listener once it came (-1 before, or once taken) */
        int learning;
        int learn_fd;
        PyObject *weakrefs;
} ex_session;

/* A proxy of an object the child owns (RemoteObject and proxy classes). */
typedef struct {
        PyObject_HEAD
        ex_session *session; /* strong */
        uint64_t handle;
        uint32_t received; /* sends of this id seen; returned on release */
        int released;
} ex_remote;

/* Send request `op` with `payload` (one encoded value) and wait for the
 * reply. Returns the decoded result (new reference) or NULL with the
 * remote error, a protocol error or a timeout set. A handle in the result
 * becomes a proxy of type handle_type (NULL: RemoteObject). */
PyObject *ex_session_call(ex_session *s, uint8_t op,
                          struct ex_buf *payload,
                          PyTypeObject *handle_type);

/* Hooks for encoding values the parent's code passes to this session's
 * child: its own proxies become back-references; functions, classes and
 * what cannot be pickled travel as handles (the child calls back through
 * them); other values are pickled (the parent is trusted). */
void ex_session_encode_hooks(ex_session *s, struct ex_codec_hooks *h);
/* The same for answers to the child's requests: what the child reached
 * (EX_ORIGIN_REACHED), which the exposure rule judges more strictly. The
 * caller's *ho (kept alive while h is used) notes the handles minted in
 * *minted, for ex_session_minted_end. */
void ex_session_reply_hooks(ex_session *s, struct ex_handout *ho,
                            struct ex_minted *minted,
                            struct ex_codec_hooks *h);
/* Done with the handles noted in m: taken back unless the value that
 * carried them was sent; m is emptied. */
void ex_session_minted_end(ex_session *s, struct ex_minted *m, int sent);

enum { EX_POLICY_VALUE = 0, EX_POLICY_REFERENCE = 1 };

/* Hooks for one call's values under an explicit per-call policy
 * (call_policy: NULL or None for none, "value" or "reference"). 0, or -1
 * with ValueError for another policy. */
int ex_session_call_hooks(ex_session *s, PyObject *call_policy,
                          struct ex_codec_hooks *h);

/* Encode a call's (args, kwargs) for the child under the session's
 * transport policy. call_policy (NULL/None, "value" or "reference")
 * overrides it for the call, and a __extradite_policy__ keyword, taken
 * out, overrides both. Vectorcall and tuple/dict forms. 0 or -1. */
int ex_session_encode_args(ex_session *s, PyObject *const *args, size_t nargs,
                           PyObject *kwnames, PyObject *call_policy,
                           struct ex_buf *b);
int ex_session_encode_args_tuple(ex_session *s, PyObject *args,
                                 PyObject *kwargs, PyObject *call_policy,
                                 struct ex_buf *b);

/* EX_POLICY_VALUE or _REFERENCE for "value"/"reference", else -1 with a
 * ValueError naming `what`. */
int ex_policy_parse(PyObject *name, const char *what);

/* Send o to the child as a handle to our object, whatever the policy,
 * as an answer to its request (EX_ORIGIN_REACHED). */
int ex_session_export_reply(ex_session *s, PyObject *o, struct ex_buf *b);

/* The hooks' encode_other on its own (for error reports to the child);
 * ctx is one of the session's handouts. */
int ex_session_encode_other(void *ctx, PyObject *o, struct ex_buf *b);

/* Decode the frame in `in`; handles become proxies of handle_type (NULL:
 * raw ids), back-references the parent's own objects. Under the session's
 * decode budget (the profile's limits.max_reply_*) and the call's
 * deadline_ms (-1: none): ProtocolError once over either. */
PyObject *ex_session_decode(ex_session *s, struct ex_buf *in,
                            PyTypeObject *handle_type, int64_t deadline_ms);

/* Serve one request the child made while we wait on it (a callback), on
 * the waiting thread whose call it belongs to: run it, send the reply. 0,
 * or -errno when the channel failed (callbacks.c); -EINTR with the
 * exception set when Ctrl-C came while it ran, or a signal handler raised
 * while its reply waited. */
int ex_session_serve_child(ex_session *s, const struct ex_frame_header *h,
                           struct ex_buf *in, int64_t deadline_ms);

/* Calls the current thread is waiting on (its chain of nested calls and
 * callbacks on this session); other threads' calls do not count. */
size_t ex_session_thread_depth(ex_session *s);

/* A buffer for one call's payload or reply: a spare one when there is
 * one, else empty. Give it back when done (it is reset or freed there);
 * both with the GIL held. */
void ex_session_buf_take(ex_session *s, struct ex_buf *b);
void ex_session_buf_give(ex_session *s, struct ex_buf *b);

/* Send one frame (GIL released inside, under send_lock). 0 or -errno;
 * -EPIPE once the channel is closed, -ETIMEDOUT past deadline_ms
 * (CLOCK_MONOTONIC milliseconds, -1: none), waiting for send_lock
 * included; a frame cut short by it leaves the channel out of step, so
 * the caller ends the session. -EINTR, with the exception set, when a
 * signal handler raised while the send waited (the same holds). */
int ex_session_send(ex_session *s, const struct ex_frame_header *h,
                    struct ex_buf *payload, int64_t deadline_ms);

/* Most calls in flight at once on one session (threads and nesting). */
#define EX_MAX_IN_FLIGHT 256

/* Raise ProtocolError unless the session is open; 0 when it is. */
int ex_session_check_open(ex_session *s);

/* A proxy was deallocated or closed: release its handle with the next
 * request. Never does I/O (it runs inside GC). */
void ex_session_forget(ex_session *s, ex_remote *proxy);

/* Send the pending releases now (used by an explicit close()). 0, or -1
 * with an exception: a signal handler raised while the send waited (the
 * session is dead then) or called into this session from such a wait. A
 * send that failed otherwise shows up on the next request. */
int ex_session_flush(ex_session *s);

#endif
