/* Decoding what the child sends under the decode budget
 * (protocol/budget.h): the pieces of convert.c's decoder that charge it
 * beyond what the reader charges for each item (wide strs, colliding
 * hashes), and the errors that say what ran out and how to allow more.
 */
#include "reply_budget.h"

#include <errno.h>
#include <string.h>

/* What ran out of the decode budget (protocol/budget.h), and how to allow
 * more. Every message starts "reply budget exceeded" (the selftest looks
 * for it). */
PyObject *ex_raise_over_budget(ex_state *st, const struct ex_reader *r,
                                   int err)
{
        const struct ex_budget *b = &r->budget;

        if (err == -ETIMEDOUT || b->over == EX_OVER_DEADLINE)
                PyErr_Format(
                        st->ProtocolError,
                        "extradite: reply budget exceeded: decoding a value "
                        "from the child ran past the call's deadline "
                        "(call_timeout %lld ms); the child is not trusted "
                        "further. Raise call_timeout if the value is "
                        "legitimate.",
                        (long long)b->timeout_ms);
        else if (b->over == EX_OVER_COLLISIONS)
                PyErr_Format(
                        st->ProtocolError,
                        "extradite: reply budget exceeded: a value from the "
                        "child holds dict keys or set items with more than "
                        "%llu pairs of equal hashes (hash flooding, which "
                        "makes building it quadratic); the child is not "
                        "trusted further. Raise the sandbox profile's "
                        "limits.max_reply_hash_collisions if the value is "
                        "legitimate.",
                        (unsigned long long)b->probes_max);
        else if (b->over == EX_OVER_MEMORY)
                PyErr_Format(
                        st->ProtocolError,
                        "extradite: reply budget exceeded: a value from the "
                        "child would take more than %llu %s of this "
                        "process's memory (estimated while decoding, arena "
                        "and out-of-band bytes counted each time they are "
                        "named); the child is not trusted further. Raise "
                        "the sandbox profile's limits.max_reply_memory if "
                        "the value is legitimate.",
                        (unsigned long long)(b->mem_max % (1u << 20)
                                                     ? b->mem_max
                                                     : b->mem_max >> 20),
                        b->mem_max % (1u << 20) ? "bytes" : "MiB");
        else
                ex_raise_codec_error(st, err);
        return NULL;
}

/* A dict key or set item Python cannot hash (a list, a dict): the peer
 * built a value no real one holds. Its TypeError becomes ProtocolError
 * (chained); an error of ours (a remote hash that failed) stays. */
void ex_raise_unhashable(ex_state *st, const char *what)
{
        PyObject *cause;

        if (!PyErr_Occurred() || PyErr_ExceptionMatches(st->Error) ||
            !PyErr_ExceptionMatches(PyExc_TypeError))
                return;
        cause = PyErr_GetRaisedException();
        PyErr_Format(st->ProtocolError, "extradite: peer sent an unhashable %s",
                     what);
        PyObject *exc = PyErr_GetRaisedException();
        PyException_SetCause(exc, cause);
        PyErr_SetRaisedException(exc);
}

/* A dict or set under a decode budget. Keys the child cannot make collide
 * (cannot_collide) are inserted as they are decoded, as without a budget.
 * From the first other key on, the rest is decoded and hashed first, and the pairs of
 * equal full hashes among those keys charged to the budget
 * (protocol/budget.h), so that a flood of colliding ints (or tuples,
 * floats, proxies) is refused before the inserts that would each compare
 * with all the others. The inserts hash again (no public API takes a
 * known hash): cheap for ints and floats, a second call into the child
 * for a proxy. The clock is read as we go (clock_due). */
#define HASHED_ON_STACK 16

static bool scalar(PyObject *o)
{
        return PyLong_CheckExact(o) || PyUnicode_CheckExact(o) ||
               PyFloat_CheckExact(o) || PyBytes_CheckExact(o) ||
               o == Py_None || PyBool_Check(o);
}

/* Read the clock after this key? Every 64th, and after each whose hash or
 * equality may be a call into the child (a proxy, or anything but a
 * scalar or a tuple of scalars), which can take up to a call_timeout of
 * its own. */
static bool clock_due(PyObject *key, size_t i)
{
        if ((i & 63) == 63)
                return true;
        if (scalar(key))
                return false;
        if (!PyTuple_CheckExact(key))
                return true;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(key); k++)
                if (!scalar(PyTuple_GET_ITEM(key, k)))
                        return true;
        return false;
}

/* str and bytes hash with a per-process random key; an exact int below
 * 2**61 - 1 in magnitude hashes to itself (-1 to -2), so two distinct ones
 * never share a full hash but for -1 and -2. Keys that do collide with one
 * of these (7 and 2**61 + 6) are counted among themselves; each group of
 * equal hashes misses at most two pairs per key that way. */
static bool cannot_collide(PyObject *key)
{
        long long v;
        int overflow;

        if (PyUnicode_CheckExact(key) || PyBytes_CheckExact(key))
                return true;
        if (!PyLong_CheckExact(key))
                return false;
#if PY_VERSION_HEX >= 0x030C0000
        if (PyUnstable_Long_IsCompact((PyLongObject *)key))
                return true; /* one digit: |v| < 2**30 */
#else
        if (Py_SIZE(key) >= -1 && Py_SIZE(key) <= 1)
                return true;
#endif
        v = PyLong_AsLongLongAndOverflow(key, &overflow);
        return !overflow && v > -(1ll << 61) + 1 && v < (1ll << 61) - 1;
}

static int insert(PyObject *c, bool is_dict, PyObject *const *kv)
{
        return is_dict ? PyDict_SetItem(c, kv[0], kv[1]) : PySet_Add(c, kv[0]);
}

PyObject *ex_decode_hashed(ex_state *st, const struct ex_codec_hooks *h,
                           struct ex_reader *r, const struct ex_item *it)
{
        bool is_dict = it->tag == EX_TAG_DICT;
        const char *what = is_dict ? "dict key" : "set item";
        size_t n = it->v.count, per = is_dict ? 2 : 1, i, j, rest = 0, m = 0;
        PyObject *stack_objs[2 * HASHED_ON_STACK], **objs = stack_objs;
        uint32_t stack_hashes[HASHED_ON_STACK], *hashes = stack_hashes;
        PyObject *c, *kv[2] = {NULL, NULL};
        int rc = 0;

        c = is_dict ? PyDict_New()
            : it->tag == EX_TAG_SET ? PySet_New(NULL)
                                    : PyFrozenSet_New(NULL);
        if (!c)
                return NULL;
        for (i = 0; i < n; i++) {
                for (j = 0; j < per; j++)
                        if (!(kv[j] = ex_decode(st, h, r)))
                                goto fail_kv;
                if (!cannot_collide(kv[0]))
                        break; /* kv is the first of the rest */
                if (insert(c, is_dict, kv) < 0) {
                        ex_raise_unhashable(st, what);
                        goto fail_kv;
                }
                Py_CLEAR(kv[0]);
                Py_CLEAR(kv[1]);
                if ((i & 63) == 63 && (rc = ex_budget_clock(&r->budget)) < 0)
                        goto over_kv;
        }
        if (i == n)
                return c;

        rest = n - i;
        if (rest <= HASHED_ON_STACK) {
                memset(objs, 0, rest * per * sizeof(*objs));
        } else {
                objs = PyMem_Calloc(rest * per, sizeof(*objs));
                hashes = PyMem_Malloc(rest * sizeof(*hashes));
                if (!objs || !hashes) {
                        PyErr_NoMemory();
                        rest = 0; /* nothing in objs to release */
                        goto fail_kv;
                }
        }
        objs[0] = kv[0];
        if (is_dict)
                objs[1] = kv[1];
        kv[0] = kv[1] = NULL;
        for (j = per; j < rest * per; j++)
                if (!(objs[j] = ex_decode(st, h, r)))
                        goto fail;
        for (j = 0; j < rest; j++) {
                PyObject *k = objs[j * per];
                Py_hash_t hv;

                if (cannot_collide(k))
                        continue;
                if ((hv = PyObject_Hash(k)) == -1) {
                        ex_raise_unhashable(st, what);
                        goto fail;
                }
                hashes[m++] = ex_hash_fold((uint64_t)hv);
                if (clock_due(k, j) && (rc = ex_budget_clock(&r->budget)) < 0)
                        goto over;
        }
        if ((rc = ex_budget_collisions(&r->budget, hashes, m)) < 0)
                goto over;
        /* Not needed while the table grows. */
        if (hashes != stack_hashes) {
                PyMem_Free(hashes);
                hashes = stack_hashes;
        }
        for (j = 0; j < rest; j++) {
                if (insert(c, is_dict, objs + j * per) < 0) {
                        ex_raise_unhashable(st, what);
                        goto fail;
                }
                if (clock_due(objs[j * per], j) &&
                    (rc = ex_budget_clock(&r->budget)) < 0)
                        goto over;
        }
        goto out;
over_kv:
        Py_XDECREF(kv[0]);
        Py_XDECREF(kv[1]);
over:
        if (rc == -ENOMEM)
                PyErr_NoMemory();
        else
                ex_raise_over_budget(st, r, rc);
        goto fail;
fail_kv:
        Py_XDECREF(kv[0]);
        Py_XDECREF(kv[1]);
fail:
        Py_CLEAR(c);
out:
        for (j = 0; j < rest * per; j++)
                Py_XDECREF(objs[j]);
        if (objs != stack_objs)
                PyMem_Free(objs);
        if (hashes != stack_hashes)
                PyMem_Free(hashes);
        return c;
}
