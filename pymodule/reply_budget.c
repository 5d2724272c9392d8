/* Decoding what the child sends under the decode budget (issue 13;
 * protocol/budget.h): the pieces of convert.c's decoder that charge it
 * beyond what the reader charges for each item (wide strs, colliding
 * hashes), and the errors that say what ran out and how to allow more.
 */
#include "reply_budget.h"

#include <errno.h>

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

/* A str: the reader charged its bytes; characters of 2 or 4 bytes cost
 * more, charged before a big one is built, after a small one is. */
PyObject *ex_decode_str(ex_state *st, struct ex_reader *r,
                            const struct ex_item *it)
{
        const char *p = (const char *)it->v.s.p;
        uint32_t n = it->v.s.n;
        bool big = r->budget.on && n > (64u << 10);
        PyObject *o;
        int rc;

        if (big && (rc = ex_budget_charge(&r->budget,
                                          ex_utf8_extra_cost(it->v.s.p, n))) <
                           0)
                return ex_raise_over_budget(st, r, rc);
        /* The reader already checked strict UTF-8. */
        o = PyUnicode_DecodeUTF8(p, n, "strict");
        if (o && r->budget.on && !big && !PyUnicode_IS_ASCII(o)) {
                uint64_t real = (uint64_t)PyUnicode_GET_LENGTH(o) *
                                        PyUnicode_KIND(o) + 24;

                if (real > n &&
                    (rc = ex_budget_charge(&r->budget, real - n)) < 0) {
                        Py_DECREF(o);
                        return ex_raise_over_budget(st, r, rc);
                }
        }
        return o;
}

/* A dict or set under a decode budget. Its keys are decoded and hashed
 * first, and the pairs of equal full hashes among them charged to the
 * budget (protocol/budget.h), so that a flood of colliding keys is refused
 * before the inserts that would each compare with all the others. The
 * hashes are computed again by the inserts (no public API takes them): a
 * second pass over cached str hashes and cheap int ones. The clock is read
 * as we go, for keys whose hash is a call into the child (proxies). */
#define HASHED_ON_STACK 16

/* Read the clock after this key? Every 64th, and after each whose hash or
 * equality may be a call into the child (a proxy, a tuple holding one),
 * which can take up to a call_timeout of its own. */
static bool clock_due(PyObject *key, size_t i)
{
        return (i & 63) == 63 ||
               !(PyLong_CheckExact(key) || PyUnicode_CheckExact(key) ||
                 PyFloat_CheckExact(key) || PyBytes_CheckExact(key));
}
PyObject *ex_decode_hashed(ex_state *st, const struct ex_codec_hooks *h,
                               struct ex_reader *r, const struct ex_item *it)
{
        bool is_dict = it->tag == EX_TAG_DICT;
        size_t n = it->v.count, per = is_dict ? 2 : 1, i;
        PyObject *stack_objs[2 * HASHED_ON_STACK] = {0}, **objs = stack_objs;
        uint64_t stack_hashes[HASHED_ON_STACK], *hashes = stack_hashes;
        PyObject *c = NULL;
        int rc = 0;

        if (n > HASHED_ON_STACK) {
                objs = PyMem_Calloc(n * per, sizeof(*objs));
                hashes = PyMem_Malloc(n * sizeof(*hashes));
                if (!objs || !hashes) {
                        PyErr_NoMemory();
                        goto out;
                }
        }
        for (i = 0; i < n * per; i++)
                if (!(objs[i] = ex_decode(st, h, r)))
                        goto out;
        for (i = 0; i < n; i++) {
                Py_hash_t hv = PyObject_Hash(objs[i * per]);

                if (hv == -1) {
                        ex_raise_unhashable(st, is_dict ? "dict key" : "set item");
                        goto out;
                }
                hashes[i] = (uint64_t)hv;
                if (clock_due(objs[i * per], i) &&
                    (rc = ex_budget_clock(&r->budget)) < 0)
                        goto over;
        }
        if ((rc = ex_budget_collisions(&r->budget, hashes, n)) < 0)
                goto over;
        /* Not needed while the table grows. */
        if (hashes != stack_hashes) {
                PyMem_Free(hashes);
                hashes = stack_hashes;
        }
        c = is_dict ? PyDict_New()
            : it->tag == EX_TAG_SET ? PySet_New(NULL)
                                    : PyFrozenSet_New(NULL);
        for (i = 0; c && i < n; i++) {
                if ((is_dict ? PyDict_SetItem(c, objs[2 * i], objs[2 * i + 1])
                             : PySet_Add(c, objs[i])) < 0) {
                        ex_raise_unhashable(st, is_dict ? "dict key" : "set item");
                        Py_CLEAR(c);
                } else if (clock_due(objs[i * per], i) &&
                           (rc = ex_budget_clock(&r->budget)) < 0) {
                        Py_CLEAR(c);
                        goto over;
                }
        }
        goto out;
over:
        if (rc == -ENOMEM)
                PyErr_NoMemory();
        else
                ex_raise_over_budget(st, r, rc);
out:
        for (i = 0; i < n * per; i++)
                Py_XDECREF(objs[i]);
        if (objs != stack_objs)
                PyMem_Free(objs);
        if (hashes != stack_hashes)
                PyMem_Free(hashes);
        return c;
}

