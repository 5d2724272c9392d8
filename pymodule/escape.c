/* Escaping text from the other side before it is shown; see escape.h. */
#include "escape.h"

static int needs_escape(Py_UCS4 c, enum ex_text_mode mode)
{
        if (c < 0x20)
                return !(mode == EX_TEXT_LINES && (c == '\n' || c == '\t'));
        if (c < 0x7f)
                return 0;
        if (c <= 0x9f) /* DEL, then the C1 controls (0x9b is CSI) */
                return 1;
        return c == 0x061c || c == 0x200e || c == 0x200f ||
               (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static const char hex[] = "0123456789abcdef";

/* \n, \r and \t as Python's repr writes them; 0 for the others. */
static char short_form(Py_UCS4 c)
{
        return c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
}

/* How many characters the escape adds: \n, \xNN, \uNNNN. */
static Py_ssize_t added(Py_UCS4 c)
{
        return short_form(c) ? 1 : c < 0x100 ? 3 : 5;
}

PyObject *ex_escape_text(PyObject *text, enum ex_text_mode mode)
{
        Py_ssize_t n, extra = 0, o = 0;
        Py_UCS4 maxchar = 0x7f; /* what is kept decides the str's kind */
        int kind, okind;
        const void *data;
        void *odata;
        PyObject *out;

        if (!PyUnicode_Check(text)) {
                PyErr_Format(PyExc_TypeError,
                             "extradite: text to escape must be a str, not "
                             "'%.200s'",
                             Py_TYPE(text)->tp_name);
                return NULL;
        }
        n = PyUnicode_GET_LENGTH(text);
        kind = PyUnicode_KIND(text);
        data = PyUnicode_DATA(text);
        for (Py_ssize_t i = 0; i < n; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                if (needs_escape(c, mode))
                        extra += added(c);
                else if (c > maxchar)
                        maxchar = c;
        }
        if (extra == 0)
                return PyUnicode_CheckExact(text) ? Py_NewRef(text)
                                                  : PyUnicode_FromObject(text);
        if (n > (PY_SSIZE_T_MAX - extra))
                return PyErr_NoMemory();
        out = PyUnicode_New(n + extra, maxchar);
        if (!out)
                return NULL;
        okind = PyUnicode_KIND(out);
        odata = PyUnicode_DATA(out);
        for (Py_ssize_t i = 0; i < n; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, i);
                if (!needs_escape(c, mode)) {
                        PyUnicode_WRITE(okind, odata, o++, c);
                        continue;
                }
                PyUnicode_WRITE(okind, odata, o++, '\\');
                if (short_form(c)) {
                        PyUnicode_WRITE(okind, odata, o++,
                                        (Py_UCS4)short_form(c));
                        continue;
                }
                PyUnicode_WRITE(okind, odata, o++, c < 0x100 ? 'x' : 'u');
                for (int shift = c < 0x100 ? 4 : 12; shift >= 0; shift -= 4)
                        PyUnicode_WRITE(okind, odata, o++,
                                        (Py_UCS4)hex[(c >> shift) & 0xf]);
        }
        return out;
}

PyObject *ex_escape_text_py(PyObject *Py_UNUSED(module), PyObject *args,
                            PyObject *kw)
{
        static char *kwlist[] = {"text", "lines", NULL};
        PyObject *text;
        int lines = 0;

        if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:escape_text", kwlist,
                                         &text, &lines))
                return NULL;
        return ex_escape_text(text, lines ? EX_TEXT_LINES : EX_TEXT_LINE);
}
