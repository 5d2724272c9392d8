/* Shims for the CPython versions we support (3.11+): newer API spelled
 * once here, so the rest of the code uses one name. */
#ifndef EXTRADITE_COMPAT_H
#define EXTRADITE_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
/* 3.12 added these; fetch/restore are their 3.11 equivalent. */
static inline PyObject *PyErr_GetRaisedException(void)
{
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        if (v && tb)
                PyException_SetTraceback(v, tb);
        Py_XDECREF(t);
        Py_XDECREF(tb);
        return v;
}

static inline void PyErr_SetRaisedException(PyObject *exc)
{
        if (!exc) {
                PyErr_Clear();
                return;
        }
        PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc,
                      PyException_GetTraceback(exc));
}
#endif

#if PY_VERSION_HEX < 0x030D0000
/* 3.13 added it and deprecated PyWeakref_GetObject. */
static inline int PyWeakref_GetRef(PyObject *ref, PyObject **pobj)
{
        PyObject *o;

        if (!PyWeakref_Check(ref)) {
                *pobj = NULL;
                PyErr_SetString(PyExc_TypeError, "expected a weakref");
                return -1;
        }
        o = PyWeakref_GetObject(ref);
        *pobj = o == Py_None ? NULL : Py_NewRef(o);
        return *pobj != NULL;
}
#endif

#endif
