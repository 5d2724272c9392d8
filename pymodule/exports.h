/* The table of objects this side owns and the peer holds handles to.
 *
 * An id is (generation << 32 | slot + 1): a slot freed and reused gets a
 * new generation, so a stale id from the peer is detected, never confused
 * with the new occupant. Every time an id is sent its count goes up; the
 * peer's release says how many sends it has seen, so a release racing a
 * fresh send of the same object never frees it early.
 *
 * Lifecycle: zero-initialise, ex_exports_put/get/release, ex_exports_clear.
 * The table holds a strong reference to each object.
 */
#ifndef EXTRADITE_EXPORTS_H
#define EXTRADITE_EXPORTS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "codec.h"
#include "handle_map.h"

struct ex_export {
        PyObject *obj; /* strong; NULL when the slot is free */
        uintptr_t key; /* the object the peer's handle stands for: obj, or
                          the object obj wraps (exposure.h) */
        uint32_t gen;
        uint32_t sent;   /* sends not yet released by the peer */
        uint32_t next_free;
        int pinned;      /* loaded targets: never freed by releases */
        int passed;      /* the owner handed it over itself (exposure.h) */
};

struct ex_exports {
        struct ex_export *v; /* owned */
        uint32_t len, cap;
        uint32_t free_head; /* slot + 1, 0 when none */
        uint32_t live;
        uint32_t max_live; /* cap on live handles; 0 = 1<<20 */
        struct ex_map by_object; /* object address -> id */
};

/* Export o (count one more send): 0 with *id, or -1 with an exception.
 * key: the object the handle stands for, which o holds (NULL: o itself);
 * the same key always gets the same id while exported. pin: never freed
 * by releases; passed: the owner's own code handed it over (kept once
 * set). */
int ex_exports_put(struct ex_exports *t, PyObject *o, PyObject *key, int pin,
                   int passed, uint64_t *id);
/* The exported object standing for key (borrowed), or NULL; *passed (may
 * be NULL) says whether the owner's own code handed it over. */
PyObject *ex_exports_find(const struct ex_exports *t, PyObject *key,
                          int *passed);
/* Borrowed reference, or NULL (no exception) for an unknown/stale id. */
PyObject *ex_exports_get(const struct ex_exports *t, uint64_t id);
/* The peer has released `count` sends of id. 0, or -1 for an unknown id
 * or a count larger than was sent (no exception set). May run __del__. */
int ex_exports_release(struct ex_exports *t, uint64_t id, uint32_t count);
/* A new list of the live objects, for tests that check what the peer
 * was handed; NULL with an exception. */
PyObject *ex_exports_objects(const struct ex_exports *t);
/* Drop every object (they may run code) and free the table. */
void ex_exports_clear(struct ex_exports *t);

/* A RELEASE payload from the peer: [id, count, id, count, ...], read
 * straight from the frame. 0, or -EBADMSG for a malformed payload. An
 * unknown id is skipped: a stale release is the peer's bug, not an attack
 * on us. */
int ex_exports_release_payload(struct ex_exports *t, const void *p, size_t n,
                               const struct ex_limits *lim);

/* Handles of the peer's objects this side has dropped, waiting to go out
 * in one RELEASE frame before the next frame we send. Never does I/O:
 * pushes happen inside GC. */
struct ex_release {
        uint64_t id;
        uint32_t count; /* sends of id seen */
};

struct ex_release_queue {
        struct ex_release *v; /* owned */
        size_t n, cap;
};

/* Queue a release; on memory failure the peer just keeps the object. */
void ex_release_queue_push(struct ex_release_queue *q, uint64_t id,
                           uint32_t count);
/* Encode and empty the queue into `out` (left empty when nothing is
 * queued or memory ran out). */
void ex_release_queue_take(struct ex_release_queue *q, struct ex_buf *out);
void ex_release_queue_free(struct ex_release_queue *q);

#endif
