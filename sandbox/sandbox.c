/* The child's lock-down sequence (see sandbox.h). */
#include "sandbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "capabilities.h"
#include "cgroup.h"
#include "cleanup.h"
#include "landlock.h"
#include "namespaces.h"
#include "rlimits.h"
#include "seccomp_filter.h"
#include "violation.h"
#include "watchdog.h"

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        n = strlen(err);
        snprintf(err + n, errlen - n, ": %s", strerror(-r));
        return r;
}

/* Learning: libseccomp loads the filter and keeps its listener. */
static int load_learning(const struct ex_policy *p,
                         struct ex_sandbox_report *rep)
{
        scmp_filter_ctx ctx = NULL;
        int r;

        r = ex_seccomp_build_learn(p->groups, p->allow, p->nallow, getpid(),
                                   &ctx);
        if (r < 0)
                return r;
        r = ex_seccomp_instructions(ctx);
        rep->seccomp_instructions = r > 0 ? (size_t)r : 0;
        r = ex_seccomp_load(ctx);
        if (r == 0) {
                /* libseccomp keeps the listener; the caller sends it on. */
                r = seccomp_notify_fd(ctx);
                rep->notify_fd = r;
                r = r < 0 ? r : 0;
        }
        seccomp_release(ctx);
        return r;
}

/* The main filter: the parent's compiled program when it sent one, else
 * compiled here; generated once either way (the count of instructions
 * comes from the same program). */
static int load_main(const struct ex_policy *p, struct ex_sandbox_report *rep)
{
        _cleanup_free_ void *own = NULL;
        const void *prog = p->bpf;
        size_t len = p->bpf_len;
        scmp_filter_ctx ctx = NULL;
        int r;

        if (!prog) {
                r = ex_seccomp_build(p->groups, p->allow, p->nallow, getpid(),
                                     &ctx);
                if (r == 0)
                        r = ex_seccomp_export(ctx, &own, &len);
                seccomp_release(ctx);
                if (r < 0)
                        return r;
                prog = own;
        }
        r = ex_seccomp_load_bpf(prog, len);
        if (r == 0)
                rep->seccomp_instructions = len / 8;
        return r;
}

static int apply_seccomp(const struct ex_policy *p,
                         struct ex_sandbox_report *rep, char *err,
                         size_t errlen)
{
        int r = p->learn ? load_learning(p, rep) : load_main(p, rep);

        if (r < 0)
                return fail(err, errlen, r, "loading the seccomp filter");
        rep->seccomp = true;
        rep->seccomp_groups = p->groups;
        rep->files_after_load = p->files_after_load;
        return 0;
}

int ex_sandbox_apply(const struct ex_policy *p,
                     struct ex_sandbox_report *rep, char *err, size_t errlen)
{
        struct ex_landlock_result ll;
        struct ex_caps_result caps;
        struct ex_limits_policy limits;
        uid_t uid;
        int r;

        *rep = (struct ex_sandbox_report){.files_after_load = true,
                                          .learn = p->learn,
                                          .notify_fd = -1};
        err[0] = '\0';
        uid = getuid();

        /* The cgroup first, before the namespaces: its limits hold every
         * thread started from here on. Fail closed: the profile's limits
         * were promised. */
        r = ex_cgroup_join(p->cgroup_procs, p->ncgroup_procs);
        if (r < 0)
                return fail(err, errlen, r,
                            "joining this child's cgroup (the profile's "
                            "process and memory limits)");
        rep->cgroup_holds = p->cgroup_holds;

        /* Namespaces next: the uid map is written through /proc, which
         * Landlock closes later. */
        if (p->namespaces) {
                r = ex_namespaces_enter(p->namespaces, &rep->namespaces);
                rep->namespaces_errno = -r;
                if (r < 0 && p->namespaces_required)
                        return fail(err, errlen, r,
                                    "entering the namespaces the profile "
                                    "requires");
        }
        /* RLIMIT_NPROC counts the processes of a user in a user
         * namespace: of this child alone in its own namespace, but of the
         * whole user without one (a limit that would starve the child of
         * threads if the user runs many programs), and never binds uid 0. */
        limits = p->limits;
        if (limits.processes && uid != 0 && !(rep->namespaces & EX_NS_USER))
                limits.processes = 0;
        rep->nproc_binds = limits.processes && uid != 0;
        ex_limits_missing(p, rep, uid, rep->limits_missing,
                          sizeof(rep->limits_missing));
        r = ex_rlimits_apply(&limits, &rep->limits);
        if (r < 0)
                return fail(err, errlen, r, "setting resource limits");
        if (p->drop_capabilities) {
                r = ex_caps_drop_all(&caps);
                if (r < 0)
                        return fail(err, errlen, r, "dropping capabilities");
                rep->capabilities_dropped = caps.dropped;
                rep->bounding_set_cleared = caps.bounding_set;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return fail(err, errlen, -errno, "setting no_new_privs");
        rep->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;

        /* Learning records the paths instead (the listener sees opens). */
        if (p->landlock && !p->learn) {
                r = ex_landlock_apply(p->read, p->nread, p->write, p->nwrite,
                                      p->groups & EX_GROUP_NETWORK, &ll);
                rep->landlock_abi = ll.abi;
                if (r == -EOPNOTSUPP && !p->landlock_required) {
                        /* best effort: reported as not applied */
                } else if (r < 0) {
                        return fail(err, errlen, r,
                                    r == -EOPNOTSUPP
                                            ? "the profile requires Landlock "
                                              "and this kernel has none"
                                            : "applying Landlock (ABI %d)",
                                    ll.abi);
                } else {
                        rep->landlock = true;
                        rep->landlock_rules = ll.rules;
                        rep->landlock_missing = ll.missing;
                        rep->landlock_net = ll.net_handled;
                        rep->landlock_scoped = ll.scoped;
                }
        }
        /* The watchdog thread gets all of the above (a thread started
         * earlier would keep capabilities and escape Landlock, which
         * apply per thread) and the filter below through TSYNC. */
        if (p->watchdog && (r = ex_watchdog_start()) < 0)
                return fail(err, errlen, r,
                            "starting the thread that watches the parent");
        if (p->seccomp) {
                r = ex_violation_install();
                if (r < 0)
                        return fail(err, errlen, r,
                                    "installing the SIGSYS reporter");
                return apply_seccomp(p, rep, err, errlen);
        }
        return 0;
}
