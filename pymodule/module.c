/* extradite._core: module definition, state and module-level functions.
 * Multi-phase init, no C globals: it loads in isolated subinterpreters. */
#include <unistd.h>

#include "state.h"
#include "asan_build.h"
#include "policy.h"
#include "child.h"

#include "errors.h"
#include "escape.h"
#include "learn.h"

/* Raise ModuleLeakError when `name` or one of its submodules is in
 * sys.modules (DESIGN §1: the protected tree never enters the parent). */
static PyObject *assert_not_loaded(PyObject *module, PyObject *name)
{
        ex_state *st = ex_state_of_module(module);
        PyObject *modules, *prefix, *key, *value;
        Py_ssize_t pos = 0;

        if (!PyUnicode_Check(name)) {
                PyErr_SetString(PyExc_TypeError, "module name must be a str");
                return NULL;
        }
        modules = PySys_GetObject("modules"); /* borrowed */
        if (!modules || !PyDict_Check(modules))
                Py_RETURN_NONE;
        prefix = PyUnicode_FromFormat("%U.", name);
        if (!prefix)
                return NULL;
        while (PyDict_Next(modules, &pos, &key, &value)) {
                if (!PyUnicode_Check(key))
                        continue;
                if (PyUnicode_Compare(key, name) == 0 ||
                    PyUnicode_Tailmatch(key, prefix, 0, PY_SSIZE_T_MAX, -1) ==
                            1) {
                        PyErr_Format(st->ModuleLeakError,
                                     "extradite: module '%U' is already "
                                     "loaded in this interpreter "
                                     "(sys.modules['%U']); an extradited "
                                     "module must only ever be imported in "
                                     "its child",
                                     name, key);
                        Py_DECREF(prefix);
                        return NULL;
                }
        }
        Py_DECREF(prefix);
        Py_RETURN_NONE;
}

static int module_exec(PyObject *module)
{
        ex_state *st = ex_state_of_module(module);

        ex_spare_init(&st->spare);
        st->str_session = PyUnicode_InternFromString("__extradite_session__");
        st->str_handle = PyUnicode_InternFromString("__extradite_handle__");
        if (!st->str_session || !st->str_handle)
                return -1;
        if (ex_errors_init(module, st) < 0 ||
            ex_session_init_type(module, st) < 0 ||
            ex_proxy_init_types(module, st) < 0 ||
            ex_parent_ref_init_type(module, st) < 0 ||
            ex_exposure_init_types(module, st) < 0)
                return -1;
        /* For the tests: an ASan build leaves RLIMIT_AS alone
         * (sandbox/asan_build.h). */
        if (PyModule_AddObjectRef(module, "_asan_build",
                                  EX_ASAN_BUILD ? Py_True : Py_False) < 0)
                return -1;
        return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
        ex_state *st = ex_state_of_module(module);

        Py_VISIT(st->Error);
        Py_VISIT(st->ProtocolError);
        Py_VISIT(st->ModuleLeakError);
        Py_VISIT(st->UnsupportedInteractionError);
        Py_VISIT(st->RemoteError);
        Py_VISIT(st->SandboxViolation);
        Py_VISIT(st->TimeoutError);
        Py_VISIT(st->remote_classes);
        Py_VISIT(st->SessionType);
        Py_VISIT(st->RemoteObjectType);
        Py_VISIT(st->RemoteMethodType);
        Py_VISIT(st->MethodDescriptorType);
        Py_VISIT(st->ParentRefType);
        Py_VISIT(st->ParentClassType);
        Py_VISIT(st->ParentIteratorType);
        Py_VISIT(st->pickle_dumps);
        Py_VISIT(st->pickle_loads);
        Py_VISIT(st->std_date);
        Py_VISIT(st->std_time);
        Py_VISIT(st->std_datetime);
        Py_VISIT(st->std_timedelta);
        Py_VISIT(st->std_timezone);
        Py_VISIT(st->std_decimal);
        Py_VISIT(st->std_decimal_context);
        Py_VISIT(st->std_uuid);
        Py_VISIT(st->std_fraction);
        return 0;
}

static int module_clear(PyObject *module)
{
        ex_state *st = ex_state_of_module(module);

        Py_CLEAR(st->Error);
        Py_CLEAR(st->ProtocolError);
        Py_CLEAR(st->ModuleLeakError);
        Py_CLEAR(st->UnsupportedInteractionError);
        Py_CLEAR(st->RemoteError);
        Py_CLEAR(st->SandboxViolation);
        Py_CLEAR(st->TimeoutError);
        Py_CLEAR(st->remote_classes);
        Py_CLEAR(st->SessionType);
        Py_CLEAR(st->RemoteObjectType);
        Py_CLEAR(st->RemoteMethodType);
        Py_CLEAR(st->MethodDescriptorType);
        Py_CLEAR(st->ParentRefType);
        Py_CLEAR(st->ParentClassType);
        Py_CLEAR(st->ParentIteratorType);
        Py_CLEAR(st->str_session);
        Py_CLEAR(st->str_handle);
        Py_CLEAR(st->pickle_dumps);
        Py_CLEAR(st->pickle_loads);
        Py_CLEAR(st->std_date);
        Py_CLEAR(st->std_time);
        Py_CLEAR(st->std_datetime);
        Py_CLEAR(st->std_timedelta);
        Py_CLEAR(st->std_timezone);
        Py_CLEAR(st->std_decimal);
        Py_CLEAR(st->std_decimal_context);
        Py_CLEAR(st->std_uuid);
        Py_CLEAR(st->std_fraction);
        return 0;
}

static void module_free(void *module)
{
        ex_state *st = ex_state_of_module((PyObject *)module);

        module_clear((PyObject *)module);
        /* Zeroed if exec never ran: no spare then. */
        if (st->spare.key)
                ex_spare_drop(&st->spare);
}

static PyObject *drop_spare(PyObject *module, PyObject *Py_UNUSED(unused))
{
        ex_state *st = ex_state_of_module(module);
        struct ex_spare old = st->spare;

        /* Taken out under the GIL, which guards the state; stopped
         * without it. */
        ex_spare_init(&st->spare);
        st->spare.started = old.started;
        Py_BEGIN_ALLOW_THREADS
        ex_spare_drop(&old);
        Py_END_ALLOW_THREADS
        Py_RETURN_NONE;
}

static PyObject *forked(PyObject *module, PyObject *Py_UNUSED(unused))
{
        ex_state *st = ex_state_of_module(module);

        st->forks++;
        Py_RETURN_NONE;
}

static PyObject *spare_info(PyObject *module, PyObject *Py_UNUSED(unused))
{
        ex_state *st = ex_state_of_module(module);

        if (st->spare.sock < 0 || st->spare.owner != getpid())
                Py_RETURN_NONE;
        return Py_BuildValue("(lii)", (long)st->spare.child.pid,
                             st->spare.sock, st->spare.child.pidfd);
}

static PyMethodDef module_methods[] = {
        {"assert_not_loaded", assert_not_loaded, METH_O,
         "assert_not_loaded(module)\n\nRaise ExtraditeModuleLeakError if the "
         "module or a submodule of it is in sys.modules."},
        {"check_policy", ex_check_policy, METH_O,
         "check_policy(profile_dict)\n\nValidate a sandbox profile dict and "
         "compile its seccomp filter without applying anything; ValueError "
         "names the bad key."},
        {"seccomp_template", ex_seccomp_template, METH_O,
         "seccomp_template(profile_dict)\n\nThe profile's seccomp filter "
         "compiled once for any child: (program, pid slots), or None. "
         "Pass it as options['seccomp_template'] to Session."},
        {"learn_serve", ex_learn_serve, METH_VARARGS,
         "learn_serve(listener_fd, stop_fd)\n\nServe a learning child's "
         "seccomp notifications: record each and let it run. Returns "
         "(records, dropped) once no process uses the filter or stop_fd is "
         "readable."},
        {"learn_classify", ex_learn_classify, METH_VARARGS,
         "learn_classify(nr, args, pid)\n\n(syscall name, [groups whose "
         "rules allow it with these arguments])."},
        {"drop_spare", drop_spare, METH_NOARGS,
         "drop_spare()\n\nStop the child started ahead for the next "
         "session, if any (in a forked process: forget it)."},
        {"forked", forked, METH_NOARGS,
         "forked()\n\nIn a process just forked: the sessions started "
         "before are its parent's (called by extradite's fork hook)."},
        {"spare", spare_info, METH_NOARGS,
         "spare()\n\nThe child started ahead for the next session: (pid, "
         "channel fd, pidfd), or None."},
        {"escape_text", (PyCFunction)(void (*)(void))ex_escape_text_py,
         METH_VARARGS | METH_KEYWORDS,
         "escape_text(text, lines=False)\n\nText from the child as it may "
         "be shown: control characters (C0, DEL, C1) and bidi controls "
         "written as \\xNN / \\uNNNN; lines=True keeps \\n and \\t."},
        {"_child_main", ex_child_main, METH_NOARGS,
         "The child's serve loop. Runs only in an extradite child process."},
        {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot module_slots[] = {
        {Py_mod_exec, module_exec},
#if PY_VERSION_HEX >= 0x030C0000
        {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
        {Py_mod_gil, Py_MOD_GIL_USED},
#endif
        {0, NULL},
};

PyModuleDef ex_module_def = {
        PyModuleDef_HEAD_INIT,
        .m_name = "extradite._core",
        .m_doc = "The C core of extradite: sessions, proxies, the codec and "
                 "the child's serve loop.",
        .m_size = sizeof(ex_state),
        .m_methods = module_methods,
        .m_slots = module_slots,
        .m_traverse = module_traverse,
        .m_clear = module_clear,
        .m_free = module_free,
};

PyMODINIT_FUNC PyInit__core(void);

PyMODINIT_FUNC PyInit__core(void)
{
        return PyModuleDef_Init(&ex_module_def);
}
