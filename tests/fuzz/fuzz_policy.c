/* libFuzzer target: the C side of the profile parser (pymodule/policy.c),
 * which turns a profile dict into a struct ex_policy and compiles its
 * seccomp filter.
 *
 * That code works on Python objects, so this harness embeds CPython. The
 * input is TOML text; tomllib turns it into the dict handed to
 * ex_policy_from_dict() and _core.check_policy() (ex_check_policy). In the
 * package that dict comes from extradite/_sandbox.py, which merges
 * `extends`, fills in defaults and checks key types first; going straight
 * from TOML skips that layer, so the C checks meet dicts the Python layer
 * would never produce: missing sections, wrong types, huge lists and
 * integers, odd strings. Only the C code is instrumented for coverage;
 * tomllib is the (uninstrumented) input generator.
 *
 * Oracles, besides the sanitizers: a refused profile raises ValueError or
 * TypeError and nothing else; an accepted one yields a policy within its
 * bounds (absolute paths, known groups, core group when confined).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "seccomp_filter.h"

#define CHECK(cond)                                                            \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n",           \
                                __FILE__, __LINE__, #cond);                    \
                        if (PyErr_Occurred())                                  \
                                PyErr_Print();                                 \
                        abort();                                               \
                }                                                              \
        } while (0)

/* CPython keeps caches and interned objects for good: leak checking
 * would only report those. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
        return "detect_leaks=0";
}

static PyObject *toml_loads;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        PyPreConfig pre;
        PyConfig config;
        PyObject *tomllib;

        (void)argc;
        (void)argv;
        /* The system allocator, so ASan sees every Python object too. */
        PyPreConfig_InitIsolatedConfig(&pre);
        pre.allocator = PYMEM_ALLOCATOR_MALLOC;
        CHECK(!PyStatus_Exception(Py_PreInitialize(&pre)));
        PyConfig_InitIsolatedConfig(&config);
        config.site_import = 0;
        CHECK(!PyStatus_Exception(Py_InitializeFromConfig(&config)));
        PyConfig_Clear(&config);
        tomllib = PyImport_ImportModule("tomllib");
        CHECK(tomllib);
        toml_loads = PyObject_GetAttrString(tomllib, "loads");
        CHECK(toml_loads);
        Py_DECREF(tomllib);
        return 0;
}

/* An exception from the parser must be one of the two it documents. */
static void expect_refusal(void)
{
        CHECK(PyErr_Occurred());
        CHECK(PyErr_ExceptionMatches(PyExc_ValueError) ||
              PyErr_ExceptionMatches(PyExc_TypeError));
        PyErr_Clear();
}

static void check_policy_bounds(const struct ex_policy *p)
{
        CHECK(p->nallow <= EX_POLICY_MAX_SYSCALLS);
        CHECK(p->nread <= EX_POLICY_MAX_PATHS);
        CHECK(p->nwrite <= EX_POLICY_MAX_PATHS);
        CHECK(!(p->groups & ~EX_GROUP_ALL));
        CHECK(!p->seccomp || (p->groups & EX_GROUP_CORE));
        for (size_t i = 0; i < p->nallow; i++)
                CHECK(p->allow[i] >= 0);
        for (size_t i = 0; i < p->nread; i++)
                CHECK(p->read[i][0] == '/' &&
                      strlen(p->read[i]) < EX_POLICY_MAX_PATH_LEN);
        for (size_t i = 0; i < p->nwrite; i++)
                CHECK(p->write[i][0] == '/' &&
                      strlen(p->write[i]) < EX_POLICY_MAX_PATH_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ex_policy p;
        PyObject *text, *d, *r;

        text = PyUnicode_DecodeUTF8((const char *)data, (Py_ssize_t)size,
                                    "strict");
        if (!text) {
                PyErr_Clear();
                return 0;
        }
        d = PyObject_CallOneArg(toml_loads, text);
        Py_DECREF(text);
        if (!d) {
                PyErr_Clear(); /* not TOML: nothing reaches the C parser */
                return 0;
        }

        if (ex_policy_from_dict(d, &p) == 0)
                check_policy_bounds(&p);
        else
                expect_refusal();

        r = ex_check_policy(NULL, d);
        if (r) {
                CHECK(r == Py_None && !PyErr_Occurred());
                Py_DECREF(r);
        } else {
                expect_refusal();
        }
        Py_DECREF(d);
        return 0;
}
