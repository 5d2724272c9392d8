/* Python objects <-> wire codec; see convert.h. */
#include "convert.h"

#include <errno.h>
#include <string.h>

#include "reply_budget.h"
#include "stdvalues.h"

PyObject *ex_raise_codec_error(ex_state *st, int err)
{
        const char *why;

        switch (err) {
        case -EBADMSG:
                why = "malformed value";
                break;
        case -E2BIG:
                why = "a length or count over its limit";
                break;
        case -ELOOP:
                why = "nesting deeper than the limit";
                break;
        case -EPERM:
                why = "a value kind this side does not accept";
                break;
        default:
                why = strerror(-err);
                break;
        }
        PyErr_Format(st->ProtocolError, "extradite: peer sent %s", why);
        return NULL;
}

static int codec_fail(int r)
{
        if (r == -ENOMEM)
                PyErr_NoMemory();
        else if (r == -EMSGSIZE || r == -E2BIG)
                PyErr_SetString(PyExc_ValueError,
                                "extradite: value too large for one message");
        else
                PyErr_Format(PyExc_SystemError, "extradite: encoder error %d",
                             r);
        return -1;
}

#define PUT(expr)                                                              \
        do {                                                                   \
                int _r = (expr);                                               \
                if (_r < 0)                                                    \
                        return codec_fail(_r);                                 \
        } while (0)

/* An int of one digit (|v| < 2**30), read without a call: most are. */
static inline int long_one_digit(PyObject *o, long long *v)
{
#if PY_VERSION_HEX >= 0x030C0000
        if (!PyUnstable_Long_IsCompact((PyLongObject *)o))
                return 0;
        *v = (long long)PyUnstable_Long_CompactValue((PyLongObject *)o);
        return 1;
#else
        Py_ssize_t size = Py_SIZE(o);

        if (size < -1 || size > 1)
                return 0;
        *v = (long long)size * (long long)((PyLongObject *)o)->ob_digit[0];
        return 1;
#endif
}

static int encode_long(PyObject *o, struct ex_buf *b)
{
        int overflow = 0;
        long long v;
        size_t nbits;
        uint32_t n;
        int r;

        if (long_one_digit(o, &v)) {
                PUT(ex_put_int(b, v));
                return 0;
        }
        v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (!overflow) {
                if (v == -1 && PyErr_Occurred())
                        return -1;
                PUT(ex_put_int(b, v));
                return 0;
        }
        nbits = _PyLong_NumBits(o);
        if (nbits == (size_t)-1 && PyErr_Occurred())
                return -1;
        /* One more bit for the sign; the limit matches the peer's reader. */
        if (nbits / 8 + 1 > ex_limits_default().max_bigint_bytes) {
                PyErr_SetString(PyExc_OverflowError,
                                "extradite: integer too large to transfer");
                return -1;
        }
        n = (uint32_t)(nbits / 8 + 1);
        /* Convert in place in the buffer: no temporary bytes object. */
        PUT(ex_buf_reserve(b, 5 + (size_t)n));
        b->data[b->len] = EX_TAG_BIGINT;
        memcpy(b->data + b->len + 1, &n, 4); /* x86_64: little-endian */
#if PY_VERSION_HEX >= 0x030D0000
        r = PyLong_AsNativeBytes(o, b->data + b->len + 5, n,
                                 Py_ASNATIVEBYTES_LITTLE_ENDIAN) < 0
                    ? -1
                    : 0;
#else
        r = _PyLong_AsByteArray((PyLongObject *)o, b->data + b->len + 5, n, 1,
                                1);
#endif
        if (r < 0)
                return -1;
        b->len += 5 + (size_t)n;
        return 0;
}

static int encode_blob(struct ex_buf *b, uint8_t tag, const char *p,
                       Py_ssize_t n)
{
        PUT(ex_put_blob(b, tag, p, (size_t)n));
        return 0;
}

static int encode_items(ex_state *st, const struct ex_codec_hooks *h,
                        PyObject *seq, uint8_t tag, struct ex_buf *b,
                        uint32_t depth);

static int encode_dict(ex_state *st, const struct ex_codec_hooks *h,
                       PyObject *d, struct ex_buf *b, uint32_t depth)
{
        Py_ssize_t pos = 0, n = PyDict_GET_SIZE(d), done = 0;
        PyObject *k, *v;

        if (n > UINT32_MAX)
                return codec_fail(-E2BIG);
        PUT(ex_put_container(b, EX_TAG_DICT, (uint32_t)n));
        while (PyDict_Next(d, &pos, &k, &v)) {
                int r;
                if (done == n)
                        break;
                Py_INCREF(k);
                Py_INCREF(v);
                r = ex_encode(st, h, k, b, depth);
                if (r == 0)
                        r = ex_encode(st, h, v, b, depth);
                Py_DECREF(k);
                Py_DECREF(v);
                if (r < 0)
                        return -1;
                done++;
        }
        if (done != n) {
                PyErr_SetString(PyExc_RuntimeError,
                                "dictionary changed size during transfer");
                return -1;
        }
        return 0;
}

int ex_encode(ex_state *st, const struct ex_codec_hooks *h, PyObject *o,
              struct ex_buf *b, uint32_t max_depth)
{
        PyTypeObject *tp = Py_TYPE(o);
        int r;

        /* Exact types only: a subclass may carry behaviour a copy loses. */
        if (o == Py_None)
                PUT(ex_put_none(b));
        else if (o == Py_True || o == Py_False)
                PUT(ex_put_bool(b, o == Py_True));
        else if (tp == &PyLong_Type)
                return encode_long(o, b);
        else if (tp == &PyUnicode_Type) {
                Py_ssize_t n;
                const char *s = PyUnicode_AsUTF8AndSize(o, &n);
                if (!s)
                        return -1;
                return encode_blob(b, EX_TAG_STR, s, n);
        } else if (tp == &PyFloat_Type)
                PUT(ex_put_float(b, PyFloat_AS_DOUBLE(o)));
        else if (tp == &PyBytes_Type)
                return ex_encode_bytes(h, b, EX_TAG_BYTES, o);
        else if (tp == &PyComplex_Type)
                PUT(ex_put_complex(b, PyComplex_RealAsDouble(o),
                                   PyComplex_ImagAsDouble(o)));
        else if (h->reference && (r = h->reference(h->ctx, o, b)) != 0)
                return r < 0 ? -1 : 0;
        else if (tp == &PyByteArray_Type)
                return ex_encode_bytes(h, b, EX_TAG_BYTEARRAY, o);
        else if (tp == &PyList_Type || tp == &PyTuple_Type ||
                 tp == &PyDict_Type || tp == &PySet_Type ||
                 tp == &PyFrozenSet_Type) {
                if (max_depth == 0) {
                        PyErr_SetString(PyExc_ValueError,
                                        "extradite: value nested too deeply "
                                        "to transfer");
                        return -1;
                }
                if (Py_EnterRecursiveCall(" while encoding for extradite"))
                        return -1;
                if (tp == &PyDict_Type)
                        r = encode_dict(st, h, o, b, max_depth - 1);
                else
                        r = encode_items(st, h, o,
                                         tp == &PyList_Type    ? EX_TAG_LIST
                                         : tp == &PyTuple_Type ? EX_TAG_TUPLE
                                         : tp == &PySet_Type   ? EX_TAG_SET
                                                             : EX_TAG_FROZENSET,
                                         b, max_depth - 1);
                Py_LeaveRecursiveCall();
                return r;
        } else if ((r = ex_encode_std(st, h, o, b, max_depth)) != 0)
                return r < 0 ? -1 : 0; /* Ellipsis, range, slice, stdlib */
        else
                return h->encode_other(h->ctx, o, b);
        return 0;
}

/* An exact list or tuple, by index. Code run while encoding (a hook) may
 * shrink a list: its size is read again before every item, and the item
 * is held while it is encoded. */
static int encode_sequence(ex_state *st, const struct ex_codec_hooks *h,
                           PyObject *seq, Py_ssize_t n, struct ex_buf *b,
                           uint32_t depth)
{
        int is_list = PyList_CheckExact(seq);

        for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *item;
                long long v;
                int r;

                if (is_list && PyList_GET_SIZE(seq) != n) {
                        PyErr_SetString(PyExc_RuntimeError,
                                        "container changed size during "
                                        "transfer");
                        return -1;
                }
                item = is_list ? PyList_GET_ITEM(seq, i)
                               : PyTuple_GET_ITEM(seq, i);
                /* Small ints run no code: no need to hold them. */
                if (Py_IS_TYPE(item, &PyLong_Type) &&
                    long_one_digit(item, &v)) {
                        PUT(ex_put_int(b, v));
                        continue;
                }
                Py_INCREF(item);
                r = ex_encode(st, h, item, b, depth);
                Py_DECREF(item);
                if (r < 0)
                        return -1;
        }
        if (is_list && PyList_GET_SIZE(seq) != n) {
                PyErr_SetString(PyExc_RuntimeError,
                                "container changed size during transfer");
                return -1;
        }
        return 0;
}

/* Store items[0..n) as ints of `width` (4 or 8) bytes at out, tracking
 * the lowest and highest. Returns n, or the index of the first item that
 * is not an exact int fitting in `width` bytes. Runs no Python code: only
 * exact ints are read, so the sequence cannot change meanwhile. */
static inline __attribute__((always_inline)) Py_ssize_t
store_ints(PyObject *const *items, Py_ssize_t n, unsigned width, uint8_t *out,
           int64_t *lo, int64_t *hi)
{
        int64_t min = INT64_MAX, max = INT64_MIN;
        Py_ssize_t i;

        for (i = 0; i < n; i++) {
                PyObject *o = items[i];
                long long v;
                int overflow;

                if (!Py_IS_TYPE(o, &PyLong_Type))
                        break;
                if (!long_one_digit(o, &v)) {
                        v = PyLong_AsLongLongAndOverflow(o, &overflow);
                        if (overflow)
                                break;
                        if (width == 4 && (v < INT32_MIN || v > INT32_MAX))
                                break;
                }
                /* One digit is under 2**30: it always fits in 4 bytes. */
                ex_store_int(out + (size_t)i * width, width, v);
                min = v < min ? v : min;
                max = v > max ? v : max;
        }
        *lo = min;
        *hi = max;
        return i;
}

/* A non-empty list or tuple of ints that all fit in int64, packed (one
 * tag, no per-item dispatch for the peer): 1 when written, 0 when seq does
 * not qualify or its packed form does not fit (nothing written: encode it
 * item by item), -1 on error. */
static int encode_int_array(PyObject *seq, Py_ssize_t n, uint8_t tag,
                            struct ex_buf *b)
{
        PyObject *const *items = PyList_CheckExact(seq)
                                         ? ((PyListObject *)seq)->ob_item
                                         : ((PyTupleObject *)seq)->ob_item;
        unsigned width = 4;
        int64_t lo, hi;
        Py_ssize_t done;
        uint8_t *out;
        int err;

        if (!Py_IS_TYPE(items[0], &PyLong_Type))
                return 0; /* the usual verdict on a mixed sequence */
        for (;;) {
                out = ex_int_array_begin(b, (uint32_t)n, width, &err);
                if (!out)
                        return err == -ENOMEM ? codec_fail(err) : 0;
                /* Constant widths: each loop is specialised. */
                done = width == 4 ? store_ints(items, n, 4, out, &lo, &hi)
                                  : store_ints(items, n, 8, out, &lo, &hi);
                if (done == n)
                        break;
                /* An int beyond int32: start again at 8 bytes, once. */
                if (width == 8 || !Py_IS_TYPE(items[done], &PyLong_Type))
                        return 0;
                width = 8;
        }
        ex_int_array_end(b, tag == EX_TAG_LIST ? EX_TAG_INT_LIST
                                               : EX_TAG_INT_TUPLE,
                         (uint32_t)n, width, lo, hi);
        return 1;
}

/* The same for a list or tuple of exact floats. */
static int encode_float_array(PyObject *seq, Py_ssize_t n, uint8_t tag,
                              struct ex_buf *b)
{
        PyObject *const *items = PyList_CheckExact(seq)
                                         ? ((PyListObject *)seq)->ob_item
                                         : ((PyTupleObject *)seq)->ob_item;
        uint8_t *out;
        int err;

        out = ex_float_array_begin(b, (uint32_t)n, &err);
        if (!out)
                return err == -ENOMEM ? codec_fail(err) : 0;
        for (Py_ssize_t i = 0; i < n; i++) {
                if (!Py_IS_TYPE(items[i], &PyFloat_Type))
                        return 0;
                ex_store_float(out + (size_t)i * 8,
                               PyFloat_AS_DOUBLE(items[i]));
        }
        ex_float_array_end(b, tag == EX_TAG_LIST ? EX_TAG_FLOAT_LIST
                                                 : EX_TAG_FLOAT_TUPLE,
                           (uint32_t)n);
        return 1;
}

static int encode_items(ex_state *st, const struct ex_codec_hooks *h,
                        PyObject *seq, uint8_t tag, struct ex_buf *b,
                        uint32_t depth)
{
        Py_ssize_t n = PyObject_Length(seq), done = 0;
        PyObject *it, *item;

        if (n < 0)
                return -1;
        if (n > UINT32_MAX)
                return codec_fail(-E2BIG);
        if ((tag == EX_TAG_LIST || tag == EX_TAG_TUPLE) && n > 0) {
                PyObject *first = tag == EX_TAG_LIST
                                          ? PyList_GET_ITEM(seq, 0)
                                          : PyTuple_GET_ITEM(seq, 0);
                int r = Py_IS_TYPE(first, &PyFloat_Type)
                                ? encode_float_array(seq, n, tag, b)
                                : encode_int_array(seq, n, tag, b);
                if (r != 0)
                        return r < 0 ? -1 : 0;
        }
        PUT(ex_put_container(b, tag, (uint32_t)n));
        if (tag == EX_TAG_LIST || tag == EX_TAG_TUPLE)
                return encode_sequence(st, h, seq, n, b, depth);
        /* Sets have no index: iterate. */
        it = PyObject_GetIter(seq);
        if (!it)
                return -1;
        while (done < n && (item = PyIter_Next(it)) != NULL) {
                int r = ex_encode(st, h, item, b, depth);
                Py_DECREF(item);
                if (r < 0) {
                        Py_DECREF(it);
                        return -1;
                }
                done++;
        }
        Py_DECREF(it);
        if (PyErr_Occurred())
                return -1;
        if (done != n) {
                PyErr_SetString(PyExc_RuntimeError,
                                "container changed size during transfer");
                return -1;
        }
        return 0;
}

int ex_encode_call_args(ex_state *st, const struct ex_codec_hooks *h,
                        PyObject *const *args, size_t nargs,
                        PyObject *kwnames, struct ex_buf *b)
{
        Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
        uint32_t depth = ex_limits_default().max_depth - 1;

        PUT(ex_put_container(b, EX_TAG_TUPLE, (uint32_t)nargs));
        for (size_t i = 0; i < nargs; i++)
                if (ex_encode(st, h, args[i], b, depth) < 0)
                        return -1;
        PUT(ex_put_container(b, EX_TAG_DICT, (uint32_t)nkw));
        for (Py_ssize_t i = 0; i < nkw; i++) {
                if (ex_encode(st, h, PyTuple_GET_ITEM(kwnames, i), b, depth) <
                        0 ||
                    ex_encode(st, h, args[nargs + (size_t)i], b, depth) < 0)
                        return -1;
        }
        return 0;
}

/* `n` ints of `width` bytes at p into items[0..n). */
static inline __attribute__((always_inline)) int
fill_ints(PyObject **items, const uint8_t *p, uint32_t n, unsigned width)
{
        for (uint32_t i = 0; i < n; i++) {
                PyObject *v = PyLong_FromLongLong(ex_int_at(p, width, i));
                if (!v)
                        return -1;
                items[i] = v;
        }
        return 0;
}

static int fill_floats(PyObject **items, const uint8_t *p, uint32_t n)
{
        for (uint32_t i = 0; i < n; i++) {
                PyObject *v = PyFloat_FromDouble(ex_float_at(p, i));
                if (!v)
                        return -1;
                items[i] = v;
        }
        return 0;
}

/* A packed int or float list or tuple. The reader checked count * width
 * against the bytes left, so the allocation is bounded by the frame size.
 * Items not reached after an error stay NULL, which dealloc skips. */
static PyObject *decode_packed(const struct ex_item *it)
{
        uint32_t n = it->v.arr.count;
        const uint8_t *p = it->v.arr.p;
        PyObject *c, **items;
        int r;

        if (it->tag == EX_TAG_INT_LIST || it->tag == EX_TAG_FLOAT_LIST) {
                c = PyList_New(n);
                items = c ? ((PyListObject *)c)->ob_item : NULL;
        } else {
                c = PyTuple_New(n);
                items = c ? ((PyTupleObject *)c)->ob_item : NULL;
        }
        if (!c)
                return NULL;
        /* One loop per kind and width, so each is a load and a call. */
        if (it->tag == EX_TAG_FLOAT_LIST || it->tag == EX_TAG_FLOAT_TUPLE)
                r = fill_floats(items, p, n);
        else if (it->v.arr.width == 1)
                r = fill_ints(items, p, n, 1);
        else if (it->v.arr.width == 2)
                r = fill_ints(items, p, n, 2);
        else if (it->v.arr.width == 4)
                r = fill_ints(items, p, n, 4);
        else
                r = fill_ints(items, p, n, 8);
        if (r < 0)
                Py_CLEAR(c);
        return c;
}

/* A str: the reader charged its bytes; characters of 2 or 4 bytes cost
 * more, charged before a big one is built, after a small one is. */
static PyObject *decode_str(ex_state *st, struct ex_reader *r,
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

static PyObject *decode_container(ex_state *st, const struct ex_codec_hooks *h,
                                  struct ex_reader *r, const struct ex_item *it)
{
        uint32_t n = it->v.count;
        PyObject *c, *k, *v;

        switch (it->tag) {
        case EX_TAG_LIST:
        case EX_TAG_TUPLE:
                /* The reader checked n against the bytes left, so this
                 * allocation is bounded by the frame size. */
                c = it->tag == EX_TAG_LIST ? PyList_New(n) : PyTuple_New(n);
                if (!c)
                        return NULL;
                for (uint32_t i = 0; i < n; i++) {
                        int64_t iv;

                        v = ex_read_int_inline(r, &iv)
                                    ? PyLong_FromLongLong(iv)
                                    : ex_decode(st, h, r);
                        if (!v) {
                                Py_DECREF(c);
                                return NULL;
                        }
                        if (it->tag == EX_TAG_LIST)
                                PyList_SET_ITEM(c, i, v);
                        else
                                PyTuple_SET_ITEM(c, i, v);
                }
                return c;
        case EX_TAG_DICT:
                if (r->budget.on && n >= 2)
                        return ex_decode_hashed(st, h, r, it);
                c = PyDict_New();
                for (uint32_t i = 0; c && i < n; i++) {
                        k = ex_decode(st, h, r);
                        v = k ? ex_decode(st, h, r) : NULL;
                        if (!v || PyDict_SetItem(c, k, v) < 0) {
                                ex_raise_unhashable(st, "dict key");
                                Py_CLEAR(c);
                        }
                        Py_XDECREF(k);
                        Py_XDECREF(v);
                }
                return c;
        default: /* set, frozenset */
                if (r->budget.on && n >= 2)
                        return ex_decode_hashed(st, h, r, it);
                c = it->tag == EX_TAG_SET ? PySet_New(NULL)
                                          : PyFrozenSet_New(NULL);
                for (uint32_t i = 0; c && i < n; i++) {
                        v = ex_decode(st, h, r);
                        if (!v || PySet_Add(c, v) < 0) {
                                ex_raise_unhashable(st, "set item");
                                Py_CLEAR(c);
                        }
                        Py_XDECREF(v);
                }
                return c;
        }
}

static PyObject *decode_pickle(ex_state *st, const struct ex_item *it)
{
        PyObject *data, *res;

        if (!st->pickle_loads) {
                PyObject *m = PyImport_ImportModule("pickle");
                if (!m)
                        return NULL;
                st->pickle_loads = PyObject_GetAttrString(m, "loads");
                Py_DECREF(m);
                if (!st->pickle_loads)
                        return NULL;
        }
        data = PyBytes_FromStringAndSize((const char *)it->v.s.p, it->v.s.n);
        if (!data)
                return NULL;
        res = PyObject_CallOneArg(st->pickle_loads, data);
        Py_DECREF(data);
        return res;
}

PyObject *ex_decode(ex_state *st, const struct ex_codec_hooks *h,
                    struct ex_reader *r)
{
        struct ex_item it;
        int rc = ex_read(r, &it);

        if (rc < 0)
                return rc == -EDQUOT || rc == -ETIMEDOUT
                               ? ex_raise_over_budget(st, r, rc)
                               : ex_raise_codec_error(st, rc);
        switch (it.tag) {
        case EX_TAG_NONE:
                Py_RETURN_NONE;
        case EX_TAG_FALSE:
                Py_RETURN_FALSE;
        case EX_TAG_TRUE:
                Py_RETURN_TRUE;
        case EX_TAG_INT:
                return PyLong_FromLongLong(it.v.i);
        case EX_TAG_INT_LIST:
        case EX_TAG_INT_TUPLE:
        case EX_TAG_FLOAT_LIST:
        case EX_TAG_FLOAT_TUPLE:
                return decode_packed(&it);
        case EX_TAG_BIGINT:
                return _PyLong_FromByteArray(it.v.s.p, it.v.s.n, 1, 1);
        case EX_TAG_FLOAT:
                return PyFloat_FromDouble(it.v.f);
        case EX_TAG_COMPLEX:
                return PyComplex_FromDoubles(it.v.c.real, it.v.c.imag);
        case EX_TAG_STR:
                return decode_str(st, r, &it);
        case EX_TAG_BYTES:
                return PyBytes_FromStringAndSize((const char *)it.v.s.p,
                                                 it.v.s.n);
        case EX_TAG_BYTEARRAY:
                return PyByteArray_FromStringAndSize((const char *)it.v.s.p,
                                                     it.v.s.n);
        case EX_TAG_PICKLE:
                return decode_pickle(st, &it);
        case EX_TAG_HANDLE:
        case EX_TAG_BACKREF:
                return h->decode_handle(h->ctx, it.tag, it.v.handle);
        case EX_TAG_TYPE_HANDLE:
                /* Only the child gets classes by handle; it never sends one. */
                if (!h->decode_type_handle)
                        return ex_raise_codec_error(st, -EPERM);
                return h->decode_type_handle(h->ctx, it.v.th.id,
                                             it.v.th.name, it.v.th.name_len);
        case EX_TAG_ELLIPSIS:
        case EX_TAG_BYTES_FD:
        case EX_TAG_BYTEARRAY_FD:
        case EX_TAG_BYTES_ARENA:
        case EX_TAG_BYTEARRAY_ARENA:
        case EX_TAG_SLICE:
        case EX_TAG_DATE:
        case EX_TAG_TIME:
        case EX_TAG_DATETIME:
        case EX_TAG_TIMEDELTA:
        case EX_TAG_TIMEZONE:
        case EX_TAG_DECIMAL:
        case EX_TAG_UUID:
        case EX_TAG_FRACTION:
        case EX_TAG_RANGE:
                return ex_decode_std(st, h, r, &it);
        default:
                return decode_container(st, h, r, &it);
        }
}

PyObject *ex_decode_all(ex_state *st, const struct ex_codec_hooks *h,
                        const void *p, size_t n, const struct ex_limits *lim)
{
        struct ex_reader r;
        PyObject *v;
        int rc;

        ex_reader_init(&r, p, n, lim);
        v = ex_decode(st, h, &r);
        if (!v)
                return NULL;
        rc = ex_reader_finish(&r);
        if (rc < 0) {
                Py_DECREF(v);
                return ex_raise_codec_error(st, rc);
        }
        return v;
}

PyObject *ex_decode_buf(ex_state *st, const struct ex_codec_hooks *h,
                        struct ex_buf *b, const struct ex_limits *lim)
{
        return ex_decode_buf_until(st, h, b, lim, -1, -1);
}

PyObject *ex_decode_buf_until(ex_state *st, const struct ex_codec_hooks *h,
                              struct ex_buf *b, const struct ex_limits *lim,
                              int64_t deadline_ms, int64_t timeout_ms)
{
        struct ex_reader r;
        PyObject *v;
        int rc;

        ex_reader_init(&r, b->data, b->len, lim);
        ex_reader_use_fds(&r, &b->fds);
        ex_reader_set_deadline(&r, deadline_ms);
        r.budget.timeout_ms = timeout_ms;
        v = ex_decode(st, h, &r);
        if (v && (rc = ex_reader_finish(&r)) < 0) {
                Py_CLEAR(v);
                if (r.p == r.end && r.depth == 0)
                        PyErr_SetString(st->ProtocolError,
                                        "extradite: peer sent fds that no "
                                        "value refers to");
                else
                        ex_raise_codec_error(st, rc);
        }
        /* The values hold copies: no fd outlives the decoding. */
        ex_fds_close(&b->fds);
        return v;
}
