/* The child's side of a session, shared by child.c (bootstrap and serve
 * loop) and parent_ref.c (handles to the parent's objects: callbacks).
 *
 * One struct child lives on the stack of _child_main() for the child's
 * whole life; module state points at it (st->child) so ParentRef objects
 * can reach the channel.
 */
#ifndef EXTRADITE_CHILD_H
#define EXTRADITE_CHILD_H

#include "arena.h"
#include "state.h"
#include "convert.h"
#include "exports.h"
#include "frame.h"
#include "ring.h"
#include "handle_map.h"

struct child {
        ex_state *st;
        int fd;
        struct ex_exports exports;
        struct ex_buf in, out;
        /* Big byte strings from the parent and to it (arena.h). */
        struct ex_arena down, up;
        struct ex_rx rx; /* reads the channel; rx.arena is &down */
        /* Small frames through shared memory (protocol/ring.h): rx reads
         * down_ring once the parent switched, tx sends in up_ring from
         * our boot reply on. */
        struct ex_ring down_ring, up_ring;
        struct ex_tx tx;
        struct ex_limits limits;
        /* strict profiles: refuse file opens once the target is loaded */
        int lock_files_after_load;
        /* learn mode: the seccomp listener until it goes out with the boot
         * reply, else -1 */
        int learn_fd;
        /* unconfined only: picklable values go to the parent as pickles,
         * never those of the protected tree (top-level names loaded) */
        PyObject *pickler; /* extradite._child_pickle, or NULL */
        PyObject *protected; /* set of str */
        /* ids exported while encoding the current reply, to roll back if
         * the reply cannot be sent whole */
        uint64_t *fresh;
        size_t nfresh, capfresh;
        /* parent handle id -> ParentRef (borrowed; dealloc unmaps) */
        struct ex_map parents;
        /* parent handles dropped here, sent before our next frame */
        struct ex_release_queue rel;
        uint32_t next_id;       /* ids of our requests to the parent */
        int depth;              /* requests being served or made, nested */
        unsigned long serving;  /* the thread that serves the parent */
        /* The parent requests being served, innermost last: a callback
         * names the innermost as its chain, so the parent runs it on the
         * thread that made that call. */
        uint32_t chain[EX_MAX_NESTING + 1];
        /* Our requests still waiting for the parent, and replies that
         * came for an outer one while an inner one waited (the parent's
         * threads answer in any order). */
        uint32_t asking[EX_MAX_NESTING + 1];
        int nasking;
        struct early_reply {
                uint32_t id;
                struct ex_frame_header h;
                struct ex_buf in;
        } early[EX_MAX_NESTING + 1];
        int nearly;
};

/* Ask the parent (a callback): op with an encoded payload. Only while the
 * parent waits on us, from the serving thread. The result (new reference)
 * or NULL with the parent's exception, or a protocol error. */
PyObject *ex_child_request(struct child *c, uint8_t op,
                           struct ex_buf *payload);

/* Hooks for values to and from the parent. */
void ex_child_hooks(struct child *c, struct ex_codec_hooks *h);

/* ParentRef: the child's proxy of a parent object (parent_ref.c). */
int ex_parent_ref_init_type(PyObject *module, ex_state *st);
/* The ParentRef for a handle the parent sent (same object for the same
 * id while it lives). */
PyObject *ex_parent_ref_get(struct child *c, uint64_t id);
/* The local class standing for a parent class the parent sent (same class
 * for the same id while it lives); name is its "module.qualname". */
PyObject *ex_parent_class_get(struct child *c, uint64_t id,
                              const uint8_t *name, size_t n);
/* 1 and *id when o is a live ParentRef or a handle to a parent class, 0 if
 * neither, -1 with an error when released. */
int ex_parent_ref_id(struct child *c, PyObject *o, uint64_t *id);
/* One EX_OP_DUNDER request to the parent: the Python operation `op` (the
 * names of ops_apply.h) on the parent's object with operands argv. The
 * slots of proxy_ops.c call it for a ParentRef. */
PyObject *ex_parent_ref_dunder(PyObject *self, const char *op,
                               PyObject *const *argv, Py_ssize_t n);
int ex_parent_ref_released(PyObject *self);

#endif
