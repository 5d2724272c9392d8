/* Export table; see exports.h. */
#include "exports.h"

#include <errno.h>

#define DEFAULT_MAX_LIVE (1u << 20)

static uint64_t make_id(uint32_t gen, uint32_t slot)
{
        return ((uint64_t)gen << 32) | (uint64_t)(slot + 1);
}

static struct ex_export *slot_of(const struct ex_exports *t, uint64_t id)
{
        uint32_t slot = (uint32_t)(id & 0xffffffffu);
        struct ex_export *e;

        if (slot == 0 || slot > t->len)
                return NULL;
        e = &t->v[slot - 1];
        if (!e->obj || e->gen != (uint32_t)(id >> 32))
                return NULL;
        return e;
}

static struct ex_export *find(const struct ex_exports *t, uintptr_t key,
                              uint64_t *id)
{
        struct ex_export *e;

        if (!ex_map_get(&t->by_object, (uint64_t)key, id))
                return NULL;
        e = slot_of(t, *id);
        return e && e->key == key ? e : NULL;
}

PyObject *ex_exports_find(const struct ex_exports *t, PyObject *key,
                          int *passed)
{
        uint64_t id;
        struct ex_export *e = find(t, (uintptr_t)key, &id);

        if (passed)
                *passed = e && e->passed;
        return e ? e->obj : NULL;
}

int ex_exports_put(struct ex_exports *t, PyObject *o, PyObject *key, int pin,
                   int passed, uint64_t *id)
{
        uintptr_t k = (uintptr_t)(key ? key : o);
        uint64_t known;
        uint32_t slot;
        struct ex_export *e;

        e = find(t, k, &known);
        if (e) {
                if (e->sent < UINT32_MAX) {
                        e->sent++;
                        e->pinned |= pin;
                        e->passed |= passed;
                        *id = known;
                        return 0;
                }
        }
        if (t->live >= (t->max_live ? t->max_live : DEFAULT_MAX_LIVE)) {
                PyErr_SetString(PyExc_OverflowError,
                                "extradite: too many live handles");
                return -1;
        }
        if (t->free_head) {
                slot = t->free_head - 1;
                t->free_head = t->v[slot].next_free;
        } else {
                if (t->len == t->cap) {
                        uint32_t cap = t->cap ? t->cap * 2 : 64;
                        void *nv = PyMem_Realloc(t->v, cap * sizeof(*t->v));
                        if (!nv) {
                                PyErr_NoMemory();
                                return -1;
                        }
                        t->v = nv;
                        t->cap = cap;
                }
                slot = t->len++;
                t->v[slot].gen = 0;
        }
        e = &t->v[slot];
        e->gen++;
        *id = make_id(e->gen, slot);
        if (ex_map_put(&t->by_object, (uint64_t)k, *id) < 0) {
                e->next_free = t->free_head;
                t->free_head = slot + 1;
                PyErr_NoMemory();
                return -1;
        }
        e->obj = Py_NewRef(o);
        e->key = k;
        e->sent = 1;
        e->pinned = pin;
        e->passed = passed;
        e->next_free = 0;
        t->live++;
        return 0;
}

PyObject *ex_exports_get(const struct ex_exports *t, uint64_t id)
{
        struct ex_export *e = slot_of(t, id);
        return e ? e->obj : NULL;
}

PyObject *ex_exports_objects(const struct ex_exports *t)
{
        PyObject *list = PyList_New(0);

        for (uint32_t i = 0; list && i < t->len; i++)
                if (t->v[i].obj && PyList_Append(list, t->v[i].obj) < 0)
                        Py_CLEAR(list);
        return list;
}

int ex_exports_release(struct ex_exports *t, uint64_t id, uint32_t count)
{
        struct ex_export *e = slot_of(t, id);
        PyObject *o;
        uint32_t slot;

        if (!e || count > e->sent)
                return -1;
        e->sent -= count;
        if (e->sent > 0 || e->pinned)
                return 0;
        /* Unlink before the DECREF: __del__ may export or release more. */
        o = e->obj;
        e->obj = NULL;
        slot = (uint32_t)(e - t->v);
        e->next_free = t->free_head;
        t->free_head = slot + 1;
        t->live--;
        ex_map_del(&t->by_object, (uint64_t)e->key);
        Py_DECREF(o);
        return 0;
}

void ex_exports_clear(struct ex_exports *t)
{
        struct ex_export *v = t->v;
        uint32_t len = t->len;

        /* Detach first so code run by the DECREFs sees an empty table. */
        ex_map_free(&t->by_object);
        *t = (struct ex_exports){.max_live = t->max_live};
        for (uint32_t i = 0; i < len; i++)
                Py_XDECREF(v[i].obj);
        PyMem_Free(v);
}

int ex_exports_release_payload(struct ex_exports *t, const void *p, size_t n,
                               const struct ex_limits *lim)
{
        struct ex_reader r;
        struct ex_item id, count, list;

        ex_reader_init(&r, p, n, lim);
        if (ex_read(&r, &list) < 0 || list.tag != EX_TAG_LIST ||
            list.v.count % 2)
                return -EBADMSG;
        for (uint32_t i = 0; i < list.v.count; i += 2) {
                if (ex_read(&r, &id) < 0 || ex_read(&r, &count) < 0 ||
                    id.tag != EX_TAG_INT || count.tag != EX_TAG_INT ||
                    count.v.i < 0 || count.v.i > UINT32_MAX)
                        return -EBADMSG;
                ex_exports_release(t, (uint64_t)id.v.i, (uint32_t)count.v.i);
        }
        return ex_reader_finish(&r);
}

void ex_release_queue_push(struct ex_release_queue *q, uint64_t id,
                           uint32_t count)
{
        if (q->n == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 32;
                void *nv = PyMem_Realloc(q->v, cap * sizeof(*q->v));
                if (!nv)
                        return;
                q->v = nv;
                q->cap = cap;
        }
        q->v[q->n++] = (struct ex_release){id, count};
}

void ex_release_queue_take(struct ex_release_queue *q, struct ex_buf *out)
{
        int r;

        ex_buf_reset(out);
        if (q->n == 0)
                return;
        r = ex_put_container(out, EX_TAG_LIST, (uint32_t)(q->n * 2));
        for (size_t i = 0; r == 0 && i < q->n; i++) {
                r = ex_put_int(out, (int64_t)q->v[i].id);
                if (r == 0)
                        r = ex_put_int(out, q->v[i].count);
        }
        q->n = 0;
        if (r < 0)
                ex_buf_reset(out);
}

void ex_release_queue_free(struct ex_release_queue *q)
{
        PyMem_Free(q->v);
        *q = (struct ex_release_queue){0};
}
