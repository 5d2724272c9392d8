/* The child's import of source files, without a millisecond of set-up.
 *
 * importlib compiles a module's source with the builtin compile(), which
 * first asks whether the source is an AST object (PyAST_Check). The first
 * time in a process, that creates CPython's hundred-odd AST node types:
 * about 1 ms of every child's cold start, since a target is usually
 * compiled from source (the child runs with -B, and nothing imported the
 * target anywhere else to leave a .pyc). The import system hands
 * source_to_code bytes, which cannot be an AST, so in the child
 * SourceLoader.source_to_code is this function: bytes are compiled exactly
 * as compile(data, path, "exec", dont_inherit=True, optimize=_optimize)
 * compiles them (the same flags, the same C entry point, minus the AST
 * check); anything else goes to compile() itself.
 */
#include "child_compile.h"

#include <string.h>

/* compile(data, path, "exec", dont_inherit=True, optimize=optimize) */
static PyObject *builtin_compile(PyObject *data, PyObject *path,
                                 PyObject *optimize)
{
        PyObject *compile = PyDict_GetItemString(PyEval_GetBuiltins(),
                                                 "compile");
        PyObject *args, *kw, *res;

        if (!compile) {
                PyErr_SetString(PyExc_RuntimeError, "no builtin compile()");
                return NULL;
        }
        args = Py_BuildValue("(OOs)", data, path, "exec");
        kw = Py_BuildValue("{sOsO}", "dont_inherit", Py_True, "optimize",
                           optimize);
        res = args && kw ? PyObject_Call(compile, args, kw) : NULL;
        Py_XDECREF(args);
        Py_XDECREF(kw);
        return res;
}

/* source_to_code(data, path, *, _optimize=-1): bound to no instance (a
 * builtin function is not a descriptor), as SourceLoader calls it. */
static PyObject *source_to_code(PyObject *Py_UNUSED(self),
                                PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
        PyObject *data, *path, *optimize = NULL, *res;
        PyCompilerFlags cf = {.cf_flags = PyCF_SOURCE_IS_UTF8,
                              .cf_feature_version = PY_MINOR_VERSION};
        long opt;

        if (nargs != 2 || (kwnames && (PyTuple_GET_SIZE(kwnames) != 1 ||
                                       !PyUnicode_Check(PyTuple_GET_ITEM(
                                               kwnames, 0)) ||
                                       PyUnicode_CompareWithASCIIString(
                                               PyTuple_GET_ITEM(kwnames, 0),
                                               "_optimize") != 0))) {
                PyErr_SetString(PyExc_TypeError,
                                "source_to_code(data, path, *, _optimize=-1)");
                return NULL;
        }
        data = args[0];
        path = args[1];
        optimize = kwnames ? args[2] : NULL;
        opt = optimize ? PyLong_AsLong(optimize) : -1;
        if (opt == -1 && PyErr_Occurred())
                PyErr_Clear(); /* compile() says what is wrong with it */
        else if (PyBytes_CheckExact(data) && PyUnicode_Check(path) &&
                 opt >= -1 && opt <= 2 &&
                 strlen(PyBytes_AS_STRING(data)) ==
                         (size_t)PyBytes_GET_SIZE(data))
                return Py_CompileStringObject(PyBytes_AS_STRING(data), path,
                                              Py_file_input, &cf, (int)opt);
        /* str, buffers, NUL bytes, odd arguments: compile()'s own way. */
        if (!optimize)
                optimize = PyLong_FromLong(-1);
        else
                Py_INCREF(optimize);
        res = optimize ? builtin_compile(data, path, optimize) : NULL;
        Py_XDECREF(optimize);
        return res;
}

static PyMethodDef source_to_code_def = {
        "source_to_code", (PyCFunction)(void (*)(void))source_to_code,
        METH_FASTCALL | METH_KEYWORDS,
        "Compile a module's source bytes as compile(data, path, 'exec', "
        "dont_inherit=True, optimize=_optimize) does (extradite's child)."};

int ex_child_compile_install(void)
{
        PyObject *ext = PyImport_ImportModule("_frozen_importlib_external");
        PyObject *loader = ext ? PyObject_GetAttrString(ext, "SourceLoader")
                               : NULL;
        PyObject *fn = loader ? PyCFunction_New(&source_to_code_def, NULL)
                              : NULL;
        int r = fn ? PyObject_SetAttrString(loader, "source_to_code", fn) : -1;

        Py_XDECREF(fn);
        Py_XDECREF(loader);
        Py_XDECREF(ext);
        return r;
}
