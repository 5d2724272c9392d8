/* Standard-library values and out-of-band byte strings; see stdvalues.h. */
#include "stdvalues.h"

#include <errno.h>
#include <string.h>

#include "oob.h"
#include "reply_budget.h"

/* ---- the types, in module state --------------------------------------- */

enum std_group { STD_DATETIME, STD_DECIMAL, STD_UUID, STD_FRACTIONS };

static const char *const std_module[] = {"datetime", "decimal", "uuid",
                                         "fractions"};

/* Class names that may be ours, by group: a cheap filter before anything
 * is looked up (proxies and other objects pass here on their way to the
 * encode_other hook). */
static const struct {
        const char *name;
        enum std_group group;
} std_names[] = {
        {"date", STD_DATETIME},     {"time", STD_DATETIME},
        {"datetime", STD_DATETIME}, {"timedelta", STD_DATETIME},
        {"timezone", STD_DATETIME}, {"Decimal", STD_DECIMAL},
        {"UUID", STD_UUID},         {"Fraction", STD_FRACTIONS},
};

static bool std_loaded(const ex_state *st, enum std_group g)
{
        switch (g) {
        case STD_DATETIME:
                return st->std_timezone != NULL;
        case STD_DECIMAL:
                return st->std_decimal_context != NULL;
        case STD_UUID:
                return st->std_uuid != NULL;
        default:
                return st->std_fraction != NULL;
        }
}

/* Attribute `name` of module m, which must be a class. */
static PyObject *class_of(PyObject *m, const char *name)
{
        PyObject *v = PyObject_GetAttrString(m, name);

        if (v && !PyType_Check(v)) {
                PyErr_Format(PyExc_TypeError,
                             "extradite: %s.%s is not a class",
                             PyModule_GetName(m) ?: "?", name);
                Py_CLEAR(v);
        }
        return v;
}

/* decimal.Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN,
 * traps=[InvalidOperation]): Decimal(s, context) then raises on any string
 * it does not take as it is, whatever the thread's own context says. */
static PyObject *strict_decimal_context(PyObject *m)
{
        PyObject *ctx_type = PyObject_GetAttrString(m, "Context");
        PyObject *invalid = PyObject_GetAttrString(m, "InvalidOperation");
        PyObject *kw = NULL, *args = NULL, *ctx = NULL;

        if (ctx_type && invalid)
                kw = Py_BuildValue(
                        "{sNsNsNs[O]}", "prec",
                        PyObject_GetAttrString(m, "MAX_PREC"), "Emax",
                        PyObject_GetAttrString(m, "MAX_EMAX"), "Emin",
                        PyObject_GetAttrString(m, "MIN_EMIN"), "traps",
                        invalid);
        args = kw ? PyTuple_New(0) : NULL;
        if (args)
                ctx = PyObject_Call(ctx_type, args, kw);
        Py_XDECREF(args);
        Py_XDECREF(kw);
        Py_XDECREF(invalid);
        Py_XDECREF(ctx_type);
        return ctx;
}

static int std_fill(ex_state *st, enum std_group g, PyObject *m)
{
        static const char *const dt[] = {"date", "time", "datetime",
                                         "timedelta", "timezone"};
        PyObject *t[5] = {NULL};

        switch (g) {
        case STD_DATETIME:
                for (int i = 0; i < 5; i++) {
                        t[i] = class_of(m, dt[i]);
                        if (!t[i]) {
                                for (int k = 0; k < i; k++)
                                        Py_DECREF(t[k]);
                                return -1;
                        }
                }
                st->std_date = t[0];
                st->std_time = t[1];
                st->std_datetime = t[2];
                st->std_timedelta = t[3];
                st->std_timezone = t[4]; /* last: marks the group loaded */
                return 0;
        case STD_DECIMAL:
                t[0] = class_of(m, "Decimal");
                t[1] = t[0] ? strict_decimal_context(m) : NULL;
                if (!t[1]) {
                        Py_XDECREF(t[0]);
                        return -1;
                }
                st->std_decimal = t[0];
                st->std_decimal_context = t[1];
                return 0;
        case STD_UUID:
                st->std_uuid = class_of(m, "UUID");
                return st->std_uuid ? 0 : -1;
        default:
                st->std_fraction = class_of(m, "Fraction");
                return st->std_fraction ? 0 : -1;
        }
}

/* 1 loaded, 0 not available (import false and the module is not in
 * sys.modules), -1 error. Importing is for the decoder only. */
static int std_load(ex_state *st, enum std_group g, bool import)
{
        PyObject *m;
        int r;

        if (std_loaded(st, g))
                return 1;
        if (import) {
                m = PyImport_ImportModule(std_module[g]);
                if (!m)
                        return -1;
        } else {
                PyObject *name = PyUnicode_FromString(std_module[g]);

                if (!name)
                        return -1;
                m = PyImport_GetModule(name);
                Py_DECREF(name);
                if (!m)
                        return PyErr_Occurred() ? -1 : 0;
        }
        r = std_fill(st, g, m);
        Py_DECREF(m);
        return r < 0 ? -1 : 1;
}

int ex_convert_preload(ex_state *st)
{
        for (int g = STD_DATETIME; g <= STD_FRACTIONS; g++)
                if (std_load(st, (enum std_group)g, true) < 0)
                        return -1;
        return 0;
}

/* ---- encoding ---------------------------------------------------------- */

/* What an ex_put_* result means here: 1 written, 0 not expressible
 * (-EINVAL: nothing written), -1 with an exception. */
static int put_result(int rc)
{
        switch (rc) {
        case 0:
                return 1;
        case -EINVAL:
                return 0;
        case -ENOMEM:
                PyErr_NoMemory();
                return -1;
        case -EMSGSIZE:
        case -E2BIG:
                PyErr_SetString(PyExc_ValueError,
                                "extradite: value too large for one message");
                return -1;
        default:
                PyErr_Format(PyExc_SystemError, "extradite: encoder error %d",
                             rc);
                return -1;
        }
}

static int attr_long(PyObject *o, const char *name, long *out)
{
        PyObject *v = PyObject_GetAttrString(o, name);

        if (!v)
                return -1;
        *out = PyLong_Check(v) ? PyLong_AsLong(v) : -1;
        if (!PyLong_Check(v) && !PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "extradite: %s is not an int",
                             name);
        Py_DECREF(v);
        return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* 0..max or -1 with an exception (the caller validates ranges). */
static int get_field(PyObject *o, const char *name, long max, long *out)
{
        if (attr_long(o, name, out) < 0)
                return -1;
        if (*out < 0 || *out > max)
                *out = max + 1; /* out of range: the encoder refuses it */
        return 0;
}

static int date_fields(PyObject *o, struct ex_datetime *v)
{
        long y, m, d;

        if (get_field(o, "year", 65535, &y) < 0 ||
            get_field(o, "month", 255, &m) < 0 ||
            get_field(o, "day", 255, &d) < 0)
                return -1;
        v->year = (uint16_t)(y > 65535 ? 0 : y);
        v->month = (uint8_t)(m > 255 ? 0 : m);
        v->day = (uint8_t)(d > 255 ? 0 : d);
        return 0;
}

static int time_fields(PyObject *o, struct ex_datetime *v)
{
        long h, mi, s, us, fold;

        if (get_field(o, "hour", 255, &h) < 0 ||
            get_field(o, "minute", 255, &mi) < 0 ||
            get_field(o, "second", 255, &s) < 0 ||
            get_field(o, "microsecond", 0x7fffffff, &us) < 0 ||
            get_field(o, "fold", 255, &fold) < 0)
                return -1;
        v->hour = (uint8_t)(h > 255 ? 255 : h);
        v->minute = (uint8_t)(mi > 255 ? 255 : mi);
        v->second = (uint8_t)(s > 255 ? 255 : s);
        v->microsecond = (uint32_t)us;
        v->fold = (uint8_t)(fold > 255 ? 255 : fold);
        return 0;
}

/* tzinfo -> tz: 1 expressible (None or an exact datetime.timezone), 0 not,
 * -1 error. *keep holds what tz->name points into. */
static int tz_fields(ex_state *st, PyObject *tzinfo, struct ex_tzinfo *tz,
                     PyObject **keep)
{
        PyObject *args, *off;
        long days, secs, us;
        Py_ssize_t n;
        const char *name;

        *tz = (struct ex_tzinfo){.kind = EX_TZ_NONE};
        if (tzinfo == Py_None)
                return 1;
        if (Py_TYPE(tzinfo) != (PyTypeObject *)st->std_timezone)
                return 0;
        /* (offset,) or (offset, name): the name only when one was given */
        args = PyObject_CallMethod(tzinfo, "__getinitargs__", NULL);
        if (!args)
                return -1;
        *keep = args;
        if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) < 1 ||
            PyTuple_GET_SIZE(args) > 2)
                return 0;
        off = PyTuple_GET_ITEM(args, 0);
        if (Py_TYPE(off) != (PyTypeObject *)st->std_timedelta)
                return 0;
        if (attr_long(off, "days", &days) < 0 ||
            attr_long(off, "seconds", &secs) < 0 ||
            attr_long(off, "microseconds", &us) < 0)
                return -1;
        /* Within a day either way: days is -1 or 0. */
        if (days < -1 || days > 0 || secs < 0 || secs >= 86400 || us < 0 ||
            us >= 1000000)
                return 0;
        tz->kind = EX_TZ_FIXED;
        tz->offset_us = ((int64_t)days * 86400 + secs) * 1000000 + us;
        if (PyTuple_GET_SIZE(args) == 1)
                return 1;
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(args, 1)))
                return 0;
        name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(args, 1), &n);
        if (!name) {
                PyErr_Clear(); /* lone surrogates: not UTF-8 */
                return 0;
        }
        if ((size_t)n > EX_TZ_NAME_MAX)
                return 0;
        tz->kind = EX_TZ_NAMED;
        tz->name = (const uint8_t *)name;
        tz->name_len = (uint8_t)n;
        return 1;
}

static int encode_datetime(ex_state *st, PyObject *o, struct ex_buf *b,
                           uint8_t tag)
{
        struct ex_datetime v = {0};
        PyObject *tzinfo = NULL, *keep = NULL;
        int r;

        if ((tag != EX_TAG_TIME && date_fields(o, &v) < 0) ||
            (tag != EX_TAG_DATE && time_fields(o, &v) < 0))
                return -1;
        if (tag != EX_TAG_DATE) {
                tzinfo = PyObject_GetAttrString(o, "tzinfo");
                if (!tzinfo)
                        return -1;
                r = tz_fields(st, tzinfo, &v.tz, &keep);
                Py_DECREF(tzinfo);
                if (r <= 0) {
                        Py_XDECREF(keep);
                        return r;
                }
        }
        r = put_result(ex_put_datetime(b, tag, &v));
        Py_XDECREF(keep);
        return r;
}

static int encode_timezone(ex_state *st, PyObject *o, struct ex_buf *b)
{
        struct ex_tzinfo tz;
        PyObject *keep = NULL;
        int r = tz_fields(st, o, &tz, &keep);

        if (r > 0)
                r = put_result(ex_put_timezone(b, &tz));
        Py_XDECREF(keep);
        return r;
}

static int encode_timedelta(PyObject *o, struct ex_buf *b)
{
        long days, secs, us;
        struct ex_timedelta v;

        if (attr_long(o, "days", &days) < 0 ||
            attr_long(o, "seconds", &secs) < 0 ||
            attr_long(o, "microseconds", &us) < 0)
                return -1;
        if (!ex_timedelta_valid(days, secs, us))
                return 0;
        v = (struct ex_timedelta){(int32_t)days, (int32_t)secs, (int32_t)us};
        return put_result(ex_put_timedelta(b, &v));
}

static int encode_decimal(PyObject *o, struct ex_buf *b)
{
        PyObject *s = PyObject_Str(o);
        const char *p;
        Py_ssize_t n;
        int r = -1;

        if (!s)
                return -1;
        p = PyUnicode_AsUTF8AndSize(s, &n);
        if (p) {
                r = put_result(ex_put_decimal(b, p, (size_t)n));
        } else {
                PyErr_Clear(); /* not UTF-8: not a literal either */
                r = 0;
        }
        Py_DECREF(s);
        return r;
}

static int encode_uuid(PyObject *o, struct ex_buf *b)
{
        PyObject *v = PyObject_GetAttrString(o, "bytes");
        int r;

        if (!v)
                return -1;
        r = PyBytes_CheckExact(v) && PyBytes_GET_SIZE(v) == 16
                    ? put_result(ex_put_uuid(
                              b, (const uint8_t *)PyBytes_AS_STRING(v)))
                    : 0;
        Py_DECREF(v);
        return r;
}

/* An int as a sint in a scratch buffer (zero-initialise it). */
struct sint_tmp {
        uint8_t small[16];
        uint8_t *heap; /* PyMem, for bigger ones */
        struct ex_sint s;
};

/* 1 converted, 0 not expressible (not an int, or over the big-int cap),
 * -1 error. */
static int sint_of(PyObject *v, struct sint_tmp *t)
{
        size_t nbits, n;
        uint8_t *dst;

        if (!PyLong_Check(v))
                return 0;
        nbits = _PyLong_NumBits(v);
        if (nbits == (size_t)-1 && PyErr_Occurred())
                return -1;
        n = nbits / 8 + 1; /* one more bit for the sign */
        if (n > ex_limits_default().max_bigint_bytes)
                return 0;
        dst = n <= sizeof(t->small) ? t->small : (t->heap = PyMem_Malloc(n));
        if (!dst) {
                PyErr_NoMemory();
                return -1;
        }
#if PY_VERSION_HEX >= 0x030D0000
        if (PyLong_AsNativeBytes(v, dst, (Py_ssize_t)n,
                                 Py_ASNATIVEBYTES_LITTLE_ENDIAN) < 0)
                return -1;
#else
        if (_PyLong_AsByteArray((PyLongObject *)v, dst, n, 1, 1) < 0)
                return -1;
#endif
        t->s = (struct ex_sint){dst, (uint32_t)n};
        return 1;
}

/* A fraction or a range from the int attributes names[0..count) of o. */
static int encode_ints(PyObject *o, struct ex_buf *b, uint8_t tag,
                       const char *const *names, int count)
{
        struct sint_tmp t[3];
        int r = 1;

        memset(t, 0, sizeof(t));

        for (int i = 0; i < count && r > 0; i++) {
                PyObject *v = PyObject_GetAttrString(o, names[i]);

                if (!v) {
                        r = -1;
                        break;
                }
                r = sint_of(v, &t[i]);
                Py_DECREF(v);
        }
        if (r > 0)
                r = put_result(tag == EX_TAG_FRACTION
                                       ? ex_put_fraction(b, t[0].s, t[1].s)
                                       : ex_put_range(b, t[0].s, t[1].s,
                                                      t[2].s));
        for (int i = 0; i < count; i++)
                PyMem_Free(t[i].heap);
        return r;
}

static int encode_slice(ex_state *st, const struct ex_codec_hooks *h,
                        PyObject *o, struct ex_buf *b, uint32_t max_depth)
{
        PySliceObject *sl = (PySliceObject *)o;
        PyObject *items[3] = {sl->start, sl->stop, sl->step};
        int r = 1;

        if (max_depth == 0) {
                PyErr_SetString(PyExc_ValueError,
                                "extradite: value nested too deeply to "
                                "transfer");
                return -1;
        }
        if (put_result(ex_put_slice(b)) < 0)
                return -1;
        if (Py_EnterRecursiveCall(" while encoding for extradite"))
                return -1;
        for (int i = 0; i < 3 && r > 0; i++)
                if (ex_encode(st, h, items[i], b, max_depth - 1) < 0)
                        r = -1;
        Py_LeaveRecursiveCall();
        return r;
}

int ex_encode_std(ex_state *st, const struct ex_codec_hooks *h, PyObject *o,
                  struct ex_buf *b, uint32_t max_depth)
{
        static const char *const fraction[] = {"numerator", "denominator"};
        static const char *const range[] = {"start", "stop", "step"};
        PyTypeObject *tp = Py_TYPE(o);
        const char *name = tp->tp_name, *dot = strrchr(name, '.');
        int group = -1, r;

        if (o == Py_Ellipsis)
                return put_result(ex_put_ellipsis(b));
        if (tp == &PyRange_Type)
                return encode_ints(o, b, EX_TAG_RANGE, range, 3);
        if (tp == &PySlice_Type)
                return encode_slice(st, h, o, b, max_depth);
        if (dot)
                name = dot + 1;
        for (size_t i = 0; i < sizeof(std_names) / sizeof(*std_names); i++)
                if (strcmp(name, std_names[i].name) == 0)
                        group = (int)std_names[i].group;
        if (group < 0)
                return 0;
        /* Its module is in sys.modules if this is really its class; a
         * module that is missing or odd there just means "not ours". */
        r = std_load(st, (enum std_group)group, false);
        if (r < 0)
                PyErr_Clear();
        if (r <= 0)
                return 0;
        if (tp == (PyTypeObject *)st->std_datetime)
                return encode_datetime(st, o, b, EX_TAG_DATETIME);
        if (tp == (PyTypeObject *)st->std_date)
                return encode_datetime(st, o, b, EX_TAG_DATE);
        if (tp == (PyTypeObject *)st->std_time)
                return encode_datetime(st, o, b, EX_TAG_TIME);
        if (tp == (PyTypeObject *)st->std_timedelta)
                return encode_timedelta(o, b);
        if (tp == (PyTypeObject *)st->std_timezone)
                return encode_timezone(st, o, b);
        if (tp == (PyTypeObject *)st->std_decimal)
                return encode_decimal(o, b);
        if (tp == (PyTypeObject *)st->std_uuid)
                return encode_uuid(o, b);
        if (tp == (PyTypeObject *)st->std_fraction)
                return encode_ints(o, b, EX_TAG_FRACTION, fraction, 2);
        return 0;
}

int ex_encode_bytes(const struct ex_codec_hooks *h, struct ex_buf *b,
                    uint8_t tag, PyObject *o)
{
        const char *p = tag == EX_TAG_BYTES ? PyBytes_AS_STRING(o)
                                            : PyByteArray_AS_STRING(o);
        size_t n = (size_t)(tag == EX_TAG_BYTES ? PyBytes_GET_SIZE(o)
                                                : PyByteArray_GET_SIZE(o));
        struct ex_limits lim = ex_limits_default();
        int rc = 0;

        if (h->out_of_band && h->arena && n >= EX_OOB_MIN) {
                if (tag == EX_TAG_BYTES) {
                        Py_BEGIN_ALLOW_THREADS
                        rc = ex_put_blob_arena(b, h->arena, tag, p, n);
                        Py_END_ALLOW_THREADS
                } else {
                        rc = ex_put_blob_arena(b, h->arena, tag, p, n);
                }
                if (rc == 0)
                        return 0;
                if (rc == -ENOMEM) {
                        PyErr_NoMemory();
                        return -1;
                }
                /* Busy or full: a memfd of its own, below. */
        }
        if (h->out_of_band && n >= EX_OOB_MIN) {
                if (tag == EX_TAG_BYTES) {
                        /* Immutable, and the caller holds it: other threads
                         * may run while it is copied. A bytearray may be
                         * resized by them, so it keeps the GIL. */
                        Py_BEGIN_ALLOW_THREADS
                        rc = ex_put_blob_oob(b, tag, p, n, lim.max_oob_bytes);
                        Py_END_ALLOW_THREADS
                } else {
                        rc = ex_put_blob_oob(b, tag, p, n, lim.max_oob_bytes);
                }
                if (rc == 0)
                        return 0;
                if (rc == -ENOMEM) {
                        PyErr_NoMemory();
                        return -1;
                }
                /* Otherwise (no memfd, fds or out-of-band budget used up,
                 * RLIMIT_FSIZE): inline, if it fits a frame. */
        }
        if (n > lim.max_bytes_len) {
                if (rc < 0)
                        PyErr_Format(PyExc_ValueError,
                                     "extradite: a %zu-byte value is too "
                                     "large for one message and could not "
                                     "go out of band: %s",
                                     n, strerror(-rc));
                else
                        PyErr_SetString(PyExc_ValueError,
                                        "extradite: value too large for one "
                                        "message");
                return -1;
        }
        return put_result(ex_put_blob(b, tag, p, n)) < 0 ? -1 : 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* The peer's value was refused by Python: ProtocolError (chained), except
 * for memory errors. Returns NULL. */
static PyObject *refused(ex_state *st, const char *what)
{
        PyObject *cause;

        if (PyErr_ExceptionMatches(PyExc_MemoryError))
                return NULL;
        cause = PyErr_GetRaisedException();
        PyErr_Format(st->ProtocolError, "extradite: peer sent an invalid %s",
                     what);
        if (cause) {
                PyObject *exc = PyErr_GetRaisedException();
                PyException_SetCause(exc, cause);
                PyErr_SetRaisedException(exc);
        }
        return NULL;
}

static PyObject *sint_to_long(struct ex_sint v)
{
        return _PyLong_FromByteArray(v.le, v.n, 1, 1);
}

static PyObject *make_tz(ex_state *st, const struct ex_tzinfo *tz)
{
        PyObject *td, *name, *res;

        if (tz->kind == EX_TZ_NONE)
                return Py_NewRef(Py_None);
        td = PyObject_CallFunction(st->std_timedelta, "iiL", 0, 0,
                                   (long long)tz->offset_us);
        if (!td)
                return NULL;
        if (tz->kind == EX_TZ_FIXED) {
                /* timezone(timedelta(0)) is timezone.utc itself */
                res = PyObject_CallOneArg(st->std_timezone, td);
        } else {
                name = PyUnicode_DecodeUTF8((const char *)tz->name,
                                            tz->name_len, "strict");
                res = name ? PyObject_CallFunctionObjArgs(st->std_timezone, td,
                                                          name, NULL)
                           : NULL;
                Py_XDECREF(name);
        }
        Py_DECREF(td);
        return res;
}

/* date, time, datetime: args, and fold=1 by keyword when set. */
static PyObject *make_datetime(ex_state *st, uint8_t tag,
                               const struct ex_datetime *v)
{
        PyObject *tz, *args, *kw = NULL, *res = NULL;

        if (tag == EX_TAG_DATE)
                return PyObject_CallFunction(st->std_date, "iii", v->year,
                                             v->month, v->day);
        tz = make_tz(st, &v->tz);
        if (!tz)
                return NULL;
        if (tag == EX_TAG_TIME)
                args = Py_BuildValue("(iiilN)", v->hour, v->minute, v->second,
                                     (long)v->microsecond, tz);
        else
                args = Py_BuildValue("(iiiiiilN)", v->year, v->month, v->day,
                                     v->hour, v->minute, v->second,
                                     (long)v->microsecond, tz);
        if (args && v->fold)
                kw = Py_BuildValue("{si}", "fold", 1);
        if (args && (kw || !v->fold))
                res = PyObject_Call(tag == EX_TAG_TIME ? st->std_time
                                                       : st->std_datetime,
                                    args, kw);
        Py_XDECREF(kw);
        Py_XDECREF(args);
        return res;
}

static PyObject *make_decimal(ex_state *st, const struct ex_item *it)
{
        /* ASCII: the reader checked the literal */
        PyObject *s = PyUnicode_DecodeASCII((const char *)it->v.s.p,
                                            it->v.s.n, "strict");
        PyObject *res;

        if (!s)
                return NULL;
        res = PyObject_CallFunctionObjArgs(st->std_decimal, s,
                                           st->std_decimal_context, NULL);
        Py_DECREF(s);
        return res;
}

static PyObject *make_uuid(ex_state *st, const struct ex_item *it)
{
        PyObject *args = PyTuple_New(0), *kw, *res = NULL;

        kw = args ? Py_BuildValue("{sy#}", "bytes", (const char *)it->v.s.p,
                                  (Py_ssize_t)16)
                  : NULL;
        if (kw)
                res = PyObject_Call(st->std_uuid, args, kw);
        Py_XDECREF(kw);
        Py_XDECREF(args);
        return res;
}

/* A range is a few bytes on the wire and a handful in memory, but what
 * it is used for builds its items: lst.extend(r), set(r), a callback's
 * loop. Under a decode budget (the parent's, of what its child sends) it
 * is charged the list it stands for. Steals `range`. */
static PyObject *charge_range(ex_state *st, struct ex_reader *r,
                              PyObject *range)
{
        Py_ssize_t n;
        int rc;

        if (!r->budget.on || r->budget.mem_max == 0)
                return range;
        n = PyObject_Size(range);
        if (n < 0) {
                PyErr_Clear(); /* longer than a Py_ssize_t counts */
                n = PY_SSIZE_T_MAX;
        }
        rc = (uint64_t)n > UINT64_MAX / (EX_COST_INT + 8)
                     ? ex_budget_charge(&r->budget, UINT64_MAX)
                     : ex_budget_charge(&r->budget,
                                        (uint64_t)n * (EX_COST_INT + 8));
        if (rc == 0)
                return range;
        Py_DECREF(range);
        return ex_raise_over_budget(st, r, rc);
}

/* Fraction(num, den) or range(start, stop, step). */
static PyObject *make_from_ints(PyObject *callable, const struct ex_item *it,
                                int count)
{
        PyObject *v[3] = {NULL}, *res = NULL;
        int ok = 1;

        for (int i = 0; i < count; i++)
                ok = ok && (v[i] = sint_to_long(it->v.ints[i])) != NULL;
        if (ok)
                res = count == 2 ? PyObject_CallFunctionObjArgs(
                                           callable, v[0], v[1], NULL)
                                 : PyObject_CallFunctionObjArgs(
                                           callable, v[0], v[1], v[2], NULL);
        for (int i = 0; i < count; i++)
                Py_XDECREF(v[i]);
        return res;
}

static PyObject *decode_slice(ex_state *st, const struct ex_codec_hooks *h,
                              struct ex_reader *r)
{
        PyObject *v[3] = {NULL}, *res = NULL;
        int ok = 1;

        for (int i = 0; i < 3 && ok; i++)
                ok = (v[i] = ex_decode(st, h, r)) != NULL;
        if (ok)
                res = PySlice_New(v[0], v[1], v[2]);
        for (int i = 0; i < 3; i++)
                Py_XDECREF(v[i]);
        return res;
}

static PyObject *decode_oob(ex_state *st, const struct ex_reader *r,
                            const struct ex_item *it)
{
        bool is_bytes = it->tag == EX_TAG_BYTES_FD;
        uint64_t n = it->v.fd.n;
        PyObject *o;
        char *dst;
        int fd, rc;

        /* The reader let only a first use of a received fd through. */
        if (!r->fds || it->v.fd.index >= r->nfds)
                return ex_raise_codec_error(st, -EBADMSG);
        if (n > (uint64_t)PY_SSIZE_T_MAX)
                return ex_raise_codec_error(st, -E2BIG);
        fd = r->fds->fd[it->v.fd.index];
        /* Checked before anything is allocated for it. */
        if (ex_oob_check(fd, n) < 0) {
                PyErr_SetString(st->ProtocolError,
                                "extradite: peer sent an out-of-band buffer "
                                "that is not a sealed memfd of the stated "
                                "size");
                return NULL;
        }
        o = is_bytes ? PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n)
                     : PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)n);
        if (!o)
                return NULL;
        dst = is_bytes ? PyBytes_AS_STRING(o) : PyByteArray_AS_STRING(o);
        /* Nobody else sees the new object yet: copy without the GIL. */
        Py_BEGIN_ALLOW_THREADS
        rc = ex_oob_read(fd, dst, (size_t)n);
        Py_END_ALLOW_THREADS
        if (rc < 0) {
                Py_DECREF(o);
                PyErr_Format(st->ProtocolError,
                             "extradite: cannot read an out-of-band buffer "
                             "the peer sent: %s",
                             strerror(-rc));
                return NULL;
        }
        return o;
}

/* Bytes in the peer's arena: copied once into an object of our own. */
static PyObject *decode_arena(const struct ex_item *it)
{
        bool is_bytes = it->tag == EX_TAG_BYTES_ARENA;
        PyObject *o = is_bytes ? PyBytes_FromStringAndSize(NULL, it->v.s.n)
                               : PyByteArray_FromStringAndSize(NULL,
                                                               it->v.s.n);
        char *dst;

        if (!o)
                return NULL;
        dst = is_bytes ? PyBytes_AS_STRING(o) : PyByteArray_AS_STRING(o);
        /* Nobody else sees the new object yet: copy without the GIL. */
        Py_BEGIN_ALLOW_THREADS
        memcpy(dst, it->v.s.p, it->v.s.n);
        Py_END_ALLOW_THREADS
        return o;
}

PyObject *ex_decode_std(ex_state *st, const struct ex_codec_hooks *h,
                        struct ex_reader *r, const struct ex_item *it)
{
        enum std_group g;
        PyObject *res;
        const char *what;

        switch (it->tag) {
        case EX_TAG_ELLIPSIS:
                return Py_NewRef(Py_Ellipsis);
        case EX_TAG_BYTES_FD:
        case EX_TAG_BYTEARRAY_FD:
                return decode_oob(st, r, it);
        case EX_TAG_BYTES_ARENA:
        case EX_TAG_BYTEARRAY_ARENA:
                return decode_arena(it);
        case EX_TAG_SLICE:
                return decode_slice(st, h, r);
        case EX_TAG_RANGE:
                res = make_from_ints((PyObject *)&PyRange_Type, it, 3);
                return res ? charge_range(st, r, res) : refused(st, "range");
        case EX_TAG_DECIMAL:
                g = STD_DECIMAL;
                break;
        case EX_TAG_UUID:
                g = STD_UUID;
                break;
        case EX_TAG_FRACTION:
                g = STD_FRACTIONS;
                break;
        case EX_TAG_DATE:
        case EX_TAG_TIME:
        case EX_TAG_DATETIME:
        case EX_TAG_TIMEDELTA:
        case EX_TAG_TIMEZONE:
                g = STD_DATETIME;
                break;
        default:
                return ex_raise_codec_error(st, -EBADMSG);
        }
        /* Fixed stdlib names: nothing the peer chose is imported. */
        if (std_load(st, g, true) < 0)
                return NULL;
        switch (it->tag) {
        case EX_TAG_DECIMAL:
                what = "decimal";
                res = make_decimal(st, it);
                break;
        case EX_TAG_UUID:
                what = "UUID";
                res = make_uuid(st, it);
                break;
        case EX_TAG_FRACTION:
                what = "fraction";
                res = make_from_ints(st->std_fraction, it, 2);
                break;
        case EX_TAG_TIMEDELTA:
                what = "timedelta";
                res = PyObject_CallFunction(st->std_timedelta, "iii",
                                            it->v.td.days, it->v.td.seconds,
                                            it->v.td.microseconds);
                break;
        case EX_TAG_TIMEZONE:
                what = "timezone";
                res = make_tz(st, &it->v.dt.tz);
                break;
        default:
                what = it->tag == EX_TAG_DATE   ? "date"
                       : it->tag == EX_TAG_TIME ? "time"
                                                : "datetime";
                res = make_datetime(st, it->tag, &it->v.dt);
                break;
        }
        return res ? res : refused(st, what);
}
