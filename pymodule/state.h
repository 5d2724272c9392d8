/* Per-interpreter module state of extradite._core (no C globals).
 *
 * Owned by the module object; every type of the module reaches it through
 * PyType_GetModuleByDef or through a Session, which keeps a reference to
 * the module so the state outlives every proxy.
 */
#ifndef EXTRADITE_STATE_H
#define EXTRADITE_STATE_H

#include "compat.h"
#include "spare.h"

/* How deep calls and callbacks may nest, on either side. */
#define EX_MAX_NESTING 64

typedef struct {
        /* Exception classes (DESIGN §6). */
        PyObject *Error;
        PyObject *ProtocolError;
        PyObject *ModuleLeakError;
        PyObject *UnsupportedInteractionError;
        PyObject *RemoteError;
        PyObject *SandboxViolation;
        PyObject *TimeoutError;
        /* builtin exception name -> class deriving from RemoteError and it */
        PyObject *remote_classes;

        PyTypeObject *SessionType;
        PyTypeObject *RemoteObjectType;
        PyTypeObject *RemoteMethodType;
        PyTypeObject *MethodDescriptorType;
        PyTypeObject *ParentRefType; /* child side: parent objects */
        /* child side: the metaclass of handles to parent classes */
        PyTypeObject *ParentClassType;
        /* parent side: a generator as a confined child holds it
         * (exposure.c) */
        PyTypeObject *ParentIteratorType;

        /* In a child process: its struct child (child.h), for ParentRefs. */
        void *child;

        /* The next session's child, started ahead (spare.h). */
        struct ex_spare spare;
        /* Forks of this process seen here (_core.forked(), from the fork
         * hook): sessions started before one are inherited. */
        unsigned long forks;

        /* Interned attribute names used on hot paths. */
        PyObject *str_session; /* "__extradite_session__" */
        PyObject *str_handle;  /* "__extradite_handle__" */

        /* pickle.dumps, loaded on first use (parent -> child only). */
        PyObject *pickle_dumps;
        PyObject *pickle_loads;

        /* Standard-library classes the codec carries by copy, loaded on
         * first use by stdvalues.c (NULL until then). */
        PyObject *std_date, *std_time, *std_datetime, *std_timedelta,
                *std_timezone;
        PyObject *std_decimal, *std_decimal_context;
        PyObject *std_uuid;
        PyObject *std_fraction;
} ex_state;

extern PyModuleDef ex_module_def;

static inline ex_state *ex_state_of_module(PyObject *module)
{
        return (ex_state *)PyModule_GetState(module);
}

/* State from an instance of one of our types (or a subclass of one). */
static inline ex_state *ex_state_of_type(PyTypeObject *tp)
{
        PyObject *m = PyType_GetModuleByDef(tp, &ex_module_def);
        return m ? ex_state_of_module(m) : NULL;
}

/* Type specs defined by the other files, added in module exec. */
int ex_errors_init(PyObject *module, ex_state *st);
int ex_session_init_type(PyObject *module, ex_state *st);
int ex_proxy_init_types(PyObject *module, ex_state *st);
int ex_exposure_init_types(PyObject *module, ex_state *st);

/* _core._child_main(): the child's serve loop (child.c); never returns. */
PyObject *ex_child_main(PyObject *module, PyObject *unused);

#endif
