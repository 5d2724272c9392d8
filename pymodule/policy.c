/* Profile dict <-> struct ex_policy, and the report (see policy.h). */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "seccomp_filter.h"

static const struct {
        const char *name;
        uint32_t bit;
} ns_names[] = {
        {"user", EX_NS_USER},
        {"net", EX_NS_NET},
        {"ipc", EX_NS_IPC},
        {"uts", EX_NS_UTS},
};

/* ValueError "sandbox profile key 'key': reason [what]"; returns -1. */
static int bad(const char *key, const char *reason, PyObject *what)
{
        if (what)
                PyErr_Format(PyExc_ValueError,
                             "sandbox profile key '%s': %s %R", key, reason,
                             what);
        else
                PyErr_Format(PyExc_ValueError, "sandbox profile key '%s': %s",
                             key, reason);
        return -1;
}

/* d[section][key] (borrowed) checked against `type`; NULL with an error
 * when missing or of another type. */
static PyObject *item(PyObject *d, const char *section, const char *key,
                      PyTypeObject *type)
{
        char full[64];
        PyObject *sec = PyDict_GetItemString(d, section), *v;

        snprintf(full, sizeof(full), "%s.%s", section, key);
        if (!sec || !PyDict_Check(sec)) {
                bad(section, "missing or not a table", NULL);
                return NULL;
        }
        v = PyDict_GetItemString(sec, key);
        if (!v || !PyObject_TypeCheck(v, type)) {
                PyErr_Format(PyExc_ValueError,
                             "sandbox profile key '%s': missing or not a %s",
                             full, type->tp_name);
                return NULL;
        }
        return v;
}

static int flag(PyObject *d, const char *section, const char *key, bool *out)
{
        PyObject *v = item(d, section, key, &PyBool_Type);

        if (!v)
                return -1;
        *out = v == Py_True;
        return 0;
}

/* A list of str, each checked by `each`, at most `max` of them. */
static int names(PyObject *d, const char *section, const char *key,
                 size_t max, int (*each)(const char *, const char *, void *),
                 void *ctx)
{
        char full[64];
        PyObject *v = item(d, section, key, &PyList_Type);

        if (!v)
                return -1;
        snprintf(full, sizeof(full), "%s.%s", section, key);
        if ((size_t)PyList_GET_SIZE(v) > max)
                return bad(full, "too many entries", NULL);
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
                PyObject *s = PyList_GET_ITEM(v, i);
                const char *utf8;
                Py_ssize_t n;

                if (!PyUnicode_Check(s))
                        return bad(full, "entries must be strings", NULL);
                utf8 = PyUnicode_AsUTF8AndSize(s, &n);
                if (!utf8)
                        return -1;
                if ((size_t)n != strlen(utf8) || n == 0 ||
                    n >= EX_POLICY_MAX_PATH_LEN)
                        return bad(full, "empty, too long or has a NUL:", s);
                if (each(full, utf8, ctx) < 0)
                        return -1;
        }
        return 0;
}

static int add_group(const char *key, const char *name, void *ctx)
{
        struct ex_policy *p = ctx;
        uint32_t bit = ex_group_by_name(name);

        if (!bit) {
                PyObject *s = PyUnicode_FromString(name);
                bad(key, "unknown syscall group (known: core, threads, "
                         "files_read, files_write, network):", s);
                Py_XDECREF(s);
                return -1;
        }
        p->groups |= bit;
        return 0;
}

static int add_syscall(const char *key, const char *name, void *ctx)
{
        struct ex_policy *p = ctx;
        int nr = ex_syscall_number(name);

        if (nr < 0) {
                PyObject *s = PyUnicode_FromString(name);
                bad(key, "no such system call on this architecture:", s);
                Py_XDECREF(s);
                return -1;
        }
        p->allow[p->nallow++] = nr;
        return 0;
}

static int add_namespace(const char *key, const char *name, void *ctx)
{
        struct ex_policy *p = ctx;

        for (size_t i = 0; i < sizeof(ns_names) / sizeof(*ns_names); i++) {
                if (strcmp(name, ns_names[i].name) == 0) {
                        p->namespaces |= ns_names[i].bit;
                        return 0;
                }
        }
        PyObject *s = PyUnicode_FromString(name);
        bad(key, "unknown namespace (known: user, net, ipc, uts):", s);
        Py_XDECREF(s);
        return -1;
}

struct path_list {
        const char **v;
        size_t *n;
};

static int add_path(const char *key, const char *path, void *ctx)
{
        struct path_list *l = ctx;

        if (path[0] != '/') {
                PyObject *s = PyUnicode_FromString(path);
                bad(key, "paths must be absolute:", s);
                Py_XDECREF(s);
                return -1;
        }
        l->v[(*l->n)++] = path;
        return 0;
}

static int limit(PyObject *d, const char *key, uint64_t *out)
{
        PyObject *v = item(d, "limits", key, &PyLong_Type);
        unsigned long long x;

        if (!v)
                return -1;
        x = PyLong_AsUnsignedLongLong(v);
        if (PyErr_Occurred() || PyBool_Check(v)) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError,
                             "sandbox profile key 'limits.%s': must be an "
                             "integer >= 0 (0: unchanged)",
                             key);
                return -1;
        }
        *out = x;
        return 0;
}

/* limits.<key> when the profile has it (else *out is left alone). */
static int optional_limit(PyObject *d, const char *key, uint64_t *out)
{
        PyObject *sec = d ? PyDict_GetItemString(d, "limits") : NULL;

        if (!sec || !PyDict_Check(sec) || !PyDict_GetItemString(sec, key))
                return 0;
        return limit(d, key, out);
}

int ex_policy_reply_budget(PyObject *d, uint64_t *memory,
                           uint64_t *collisions)
{
        *memory = EX_REPLY_MEMORY_DEFAULT;
        *collisions = EX_REPLY_COLLISIONS_DEFAULT;
        if (d && !PyDict_Check(d))
                return 0;
        if (optional_limit(d, "max_reply_memory", memory) < 0 ||
            optional_limit(d, "max_reply_hash_collisions", collisions) < 0)
                return -1;
        return 0;
}

static int add_cgroup_procs(const char *key, const char *path, void *ctx)
{
        struct ex_policy *p = ctx;

        if (path[0] != '/')
                return bad(key, "paths must be absolute", NULL);
        p->cgroup_procs[p->ncgroup_procs++] = path;
        return 0;
}

static int add_cgroup_limit(const char *key, const char *name, void *ctx)
{
        struct ex_policy *p = ctx;

        if (strcmp(name, "processes") == 0)
                p->cgroup_holds |= EX_CGROUP_PROCESSES;
        else if (strcmp(name, "memory") == 0)
                p->cgroup_holds |= EX_CGROUP_MEMORY;
        else
                return bad(key, "unknown limit (known: processes, memory)",
                           NULL);
        return 0;
}

/* Not part of the profile schema: the per-child cgroup the parent made
 * (_cgroup.py) goes in the prepared dict as "cgroup". */
static int cgroup(PyObject *d, struct ex_policy *p)
{
        PyObject *missing;

        if (!PyDict_GetItemString(d, "cgroup"))
                return 0;
        if (names(d, "cgroup", "procs", EX_POLICY_MAX_CGROUPS,
                  add_cgroup_procs, p) < 0 ||
            names(d, "cgroup", "holds", 2, add_cgroup_limit, p) < 0)
                return -1;
        missing = item(d, "cgroup", "missing", &PyUnicode_Type);
        if (!missing)
                return -1;
        p->cgroup_missing = PyUnicode_AsUTF8(missing);
        return p->cgroup_missing ? 0 : -1;
}

int ex_policy_from_dict(PyObject *d, struct ex_policy *p)
{
        struct path_list rd = {p->read, &p->nread},
                         wr = {p->write, &p->nwrite};
        bool child_pickle;

        *p = (struct ex_policy){0};
        if (!PyDict_Check(d)) {
                PyErr_SetString(PyExc_TypeError,
                                "a sandbox profile must be a dict");
                return -1;
        }
        if (flag(d, "seccomp", "enabled", &p->seccomp) < 0 ||
            names(d, "seccomp", "groups", 32, add_group, p) < 0 ||
            names(d, "seccomp", "allow", EX_POLICY_MAX_SYSCALLS, add_syscall,
                  p) < 0 ||
            flag(d, "seccomp", "files_after_load", &p->files_after_load) < 0 ||
            flag(d, "landlock", "enabled", &p->landlock) < 0 ||
            flag(d, "landlock", "required", &p->landlock_required) < 0 ||
            names(d, "landlock", "read", EX_POLICY_MAX_PATHS, add_path, &rd) <
                    0 ||
            names(d, "landlock", "write", EX_POLICY_MAX_PATHS, add_path, &wr) <
                    0 ||
            names(d, "namespaces", "enabled", 8, add_namespace, p) < 0 ||
            flag(d, "namespaces", "required", &p->namespaces_required) < 0 ||
            flag(d, "capabilities", "drop", &p->drop_capabilities) < 0 ||
            limit(d, "address_space", &p->limits.address_space) < 0 ||
            limit(d, "open_files", &p->limits.open_files) < 0 ||
            limit(d, "cpu_seconds", &p->limits.cpu_seconds) < 0 ||
            limit(d, "file_size", &p->limits.file_size) < 0 ||
            limit(d, "processes", &p->limits.processes) < 0 ||
            flag(d, "transport", "child_pickle", &child_pickle) < 0)
                return -1;
        /* Not part of the profile schema: `python -m extradite learn` sets
         * it on the prepared dict. */
        {
                PyObject *learn = PyDict_GetItemString(d, "learn");

                if (learn && !PyBool_Check(learn))
                        return bad("learn", "must be a bool", NULL);
                p->learn = learn == Py_True;
                if (p->learn && !p->seccomp)
                        return bad("learn",
                                   "learning needs seccomp enabled in the "
                                   "base profile",
                                   NULL);
        }
        if (cgroup(d, p) < 0)
                return -1;
        if (p->seccomp && !(p->groups & EX_GROUP_CORE))
                return bad("seccomp.groups",
                           "a confined child needs the \"core\" group", NULL);
        /* Unpickling runs code: only a child that is not confined may send
         * pickles, so a confined one can never reach the parent that way. */
        if (child_pickle && (p->seccomp || p->landlock))
                return bad("transport.child_pickle",
                           "only an unconfined profile (no seccomp, no "
                           "Landlock) may send pickles to the parent",
                           NULL);
        return 0;
}

PyObject *ex_seccomp_template(PyObject *Py_UNUSED(module), PyObject *d)
{
        struct ex_seccomp_template t;
        struct ex_policy p;
        PyObject *slots, *res;
        int r;

        if (ex_policy_from_dict(d, &p) < 0)
                return NULL;
        if (!p.seccomp || p.learn)
                Py_RETURN_NONE;
        r = ex_seccomp_template_build(p.groups, p.allow, p.nallow, &t);
        if (r < 0) {
                errno = -r;
                return PyErr_SetFromErrno(PyExc_OSError);
        }
        slots = PyTuple_New((Py_ssize_t)t.nslots);
        for (size_t i = 0; slots && i < t.nslots; i++) {
                PyObject *n = PyLong_FromSize_t(t.slot[i]);

                if (!n)
                        Py_CLEAR(slots);
                else
                        PyTuple_SET_ITEM(slots, (Py_ssize_t)i, n);
        }
        res = slots ? Py_BuildValue("(y#N)", (const char *)t.prog,
                                    (Py_ssize_t)t.len, slots)
                    : NULL;
        free(t.prog);
        return res;
}

/* (program, slots) as ex_seccomp_template made it; 0 or -1 with an
 * exception. */
static int parse_template(PyObject *t, const char **prog, size_t *len,
                          size_t *slot, size_t *nslots)
{
        PyObject *bytes, *slots;

        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 ||
            !PyBytes_Check(bytes = PyTuple_GET_ITEM(t, 0)) ||
            !PyTuple_Check(slots = PyTuple_GET_ITEM(t, 1)) ||
            PyTuple_GET_SIZE(slots) > EX_SECCOMP_MAX_PID_SLOTS) {
                PyErr_SetString(PyExc_TypeError,
                                "extradite: malformed seccomp_template");
                return -1;
        }
        *prog = PyBytes_AS_STRING(bytes);
        *len = (size_t)PyBytes_GET_SIZE(bytes);
        *nslots = (size_t)PyTuple_GET_SIZE(slots);
        for (size_t i = 0; i < *nslots; i++) {
                slot[i] = PyLong_AsSize_t(PyTuple_GET_ITEM(slots, i));
                if (slot[i] == (size_t)-1 && PyErr_Occurred())
                        return -1;
        }
        return 0;
}

PyObject *ex_policy_options_for_child(PyObject *options, pid_t pid)
{
        PyObject *t = options ? PyDict_GetItemString(options,
                                                     "seccomp_template")
                              : NULL;
        size_t slot[EX_SECCOMP_MAX_PID_SLOTS], nslots, len;
        PyObject *copy, *bpf;
        const char *prog;

        if (!t)
                return Py_XNewRef(options);
        if (parse_template(t, &prog, &len, slot, &nslots) < 0)
                return NULL;
        bpf = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
        if (!bpf)
                return NULL;
        if (ex_seccomp_template_fill(prog, len, slot, nslots, pid,
                                     PyBytes_AS_STRING(bpf)) < 0) {
                Py_DECREF(bpf);
                PyErr_SetString(PyExc_ValueError,
                                "extradite: malformed seccomp_template");
                return NULL;
        }
        /* The child gets the program, not the template. */
        copy = PyDict_Copy(options);
        if (copy && (PyDict_DelItemString(copy, "seccomp_template") < 0 ||
                     PyDict_SetItemString(copy, "seccomp_bpf", bpf) < 0))
                Py_CLEAR(copy);
        Py_DECREF(bpf);
        return copy;
}

int ex_policy_take_filter(PyObject *options, struct ex_policy *p)
{
        PyObject *bpf = PyDict_GetItemString(options, "seccomp_bpf");

        if (!bpf)
                return 0;
        if (!PyBytes_Check(bpf)) {
                PyErr_SetString(PyExc_TypeError,
                                "extradite: the prebuilt seccomp filter "
                                "must be bytes");
                return -1;
        }
        p->bpf = PyBytes_AS_STRING(bpf);
        p->bpf_len = (size_t)PyBytes_GET_SIZE(bpf);
        return 0;
}

PyObject *ex_check_policy(PyObject *Py_UNUSED(module), PyObject *d)
{
        struct ex_policy p;
        scmp_filter_ctx ctx = NULL;
        int r;

        if (ex_policy_from_dict(d, &p) < 0)
                return NULL;
        if (p.seccomp) {
                r = ex_seccomp_build(p.groups, p.allow, p.nallow, getpid(),
                                     &ctx);
                if (r < 0) {
                        PyErr_Format(PyExc_ValueError,
                                     "sandbox profile key 'seccomp': cannot "
                                     "build the filter: %s%s",
                                     strerror(-r),
                                     r == -EPERM ? " (a syscall in 'allow' "
                                                   "is one that always "
                                                   "traps)"
                                                 : "");
                        return NULL;
                }
                seccomp_release(ctx);
        }
        Py_RETURN_NONE;
}

/* ---- the report ------------------------------------------------------- */

PyObject *ex_group_list(uint32_t groups)
{
        PyObject *l = PyList_New(0);

        for (uint32_t bit = 1; l && bit & EX_GROUP_ALL; bit <<= 1) {
                PyObject *s;
                if (!(groups & bit))
                        continue;
                s = PyUnicode_FromString(ex_group_name(bit));
                if (!s || PyList_Append(l, s) < 0)
                        Py_CLEAR(l);
                Py_XDECREF(s);
        }
        return l;
}

static PyObject *ns_list(uint32_t bits)
{
        PyObject *l = PyList_New(0);

        for (size_t i = 0; l && i < sizeof(ns_names) / sizeof(*ns_names);
             i++) {
                PyObject *s;
                if (!(bits & ns_names[i].bit))
                        continue;
                s = PyUnicode_FromString(ns_names[i].name);
                if (!s || PyList_Append(l, s) < 0)
                        Py_CLEAR(l);
                Py_XDECREF(s);
        }
        return l;
}

/* A limit that was left alone shows as None. */
static PyObject *lim(uint64_t v)
{
        return v ? PyLong_FromUnsignedLongLong(v) : Py_NewRef(Py_None);
}

static PyObject *report_dict(const struct ex_sandbox_report *r,
                             PyObject *profile_name);
static PyObject *report_dict_base(const struct ex_sandbox_report *r,
                                  PyObject *profile_name);

PyObject *ex_report_to_dict(const struct ex_sandbox_report *r,
                            PyObject *profile_name)
{
        PyObject *d = report_dict(r, profile_name), *sec, *action;
        int bad_set;

        if (!d || !r->learn)
                return d;
        /* Learning: say plainly that refusals were recorded, not made. */
        sec = PyDict_GetItemString(d, "seccomp");
        action = PyUnicode_FromString("notify the parent (learning)");
        bad_set = !sec || !action ||
                  PyDict_SetItemString(d, "learn", Py_True) < 0 ||
                  PyDict_SetItemString(sec, "default_action", action) < 0;
        Py_XDECREF(action);
        if (bad_set)
                Py_CLEAR(d);
        return d;
}

/* Which mechanism holds each limit (None: none), and what is missing. */
static PyObject *held_by(const struct ex_sandbox_report *r)
{
        const char *procs = NULL;

        if ((r->cgroup_holds & EX_CGROUP_PROCESSES) && r->nproc_binds)
                procs = "cgroup pids.max, RLIMIT_NPROC";
        else if (r->cgroup_holds & EX_CGROUP_PROCESSES)
                procs = "cgroup pids.max";
        else if (r->nproc_binds)
                procs = "RLIMIT_NPROC";
        return Py_BuildValue(
                "{sNsNsNsNsN}", "processes",
                procs ? PyUnicode_FromString(procs) : Py_NewRef(Py_None),
                "memory",
                r->cgroup_holds & EX_CGROUP_MEMORY
                        ? PyUnicode_FromString("cgroup memory limit")
                        : Py_NewRef(Py_None),
                "address_space",
                r->limits.address_space ? PyUnicode_FromString("RLIMIT_AS")
                                        : Py_NewRef(Py_None),
                "file_size",
                r->limits.file_size ? PyUnicode_FromString("RLIMIT_FSIZE")
                                    : Py_NewRef(Py_None),
                "not_held",
                r->limits_missing[0]
                        ? PyUnicode_FromString(r->limits_missing)
                        : Py_NewRef(Py_None));
}

static PyObject *report_dict(const struct ex_sandbox_report *r,
                             PyObject *profile_name)
{
        PyObject *d = report_dict_base(r, profile_name), *limits;

        if (!d)
                return NULL;
        limits = held_by(r);
        if (!limits || PyDict_SetItemString(d, "limits", limits) < 0)
                Py_CLEAR(d);
        Py_XDECREF(limits);
        return d;
}

static PyObject *report_dict_base(const struct ex_sandbox_report *r,
                                  PyObject *profile_name)
{
        return Py_BuildValue(
                "{sOsO"
                "s{sOsNsnsOssssss}"
                "s{sOsisIsIsOsO}"
                "s{sNsN}"
                "s{sOsO}"
                "s{sNsNsNsNsN}}",
                "profile", profile_name, "no_new_privs",
                r->no_new_privs ? Py_True : Py_False,
                "seccomp", "enabled", r->seccomp ? Py_True : Py_False,
                "groups", ex_group_list(r->seccomp_groups), "instructions",
                (Py_ssize_t)r->seccomp_instructions, "files_after_load",
                r->files_after_load ? Py_True : Py_False, "default_action",
                r->seccomp ? "errno EPERM" : "allow", "trapped_action",
                r->seccomp ? "report and kill" : "allow", "bad_arch_action",
                r->seccomp ? "kill" : "allow",
                "landlock", "enabled", r->landlock ? Py_True : Py_False,
                "abi", r->landlock_abi, "rules", r->landlock_rules,
                "missing_paths", r->landlock_missing, "tcp_restricted",
                r->landlock_net ? Py_True : Py_False, "scoped",
                r->landlock_scoped ? Py_True : Py_False,
                "namespaces", "entered", ns_list(r->namespaces), "error",
                r->namespaces_errno ? PyUnicode_FromString(
                                              strerror(r->namespaces_errno))
                                    : Py_NewRef(Py_None),
                "capabilities", "dropped",
                r->capabilities_dropped ? Py_True : Py_False,
                "bounding_set_cleared",
                r->bounding_set_cleared ? Py_True : Py_False,
                "rlimits", "address_space", lim(r->limits.address_space),
                "open_files", lim(r->limits.open_files), "cpu_seconds",
                lim(r->limits.cpu_seconds), "file_size",
                lim(r->limits.file_size), "processes",
                lim(r->limits.processes));
}
