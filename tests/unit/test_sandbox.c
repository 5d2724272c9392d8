/* cmocka tests of the lock-down sequence (sandbox.c and the steps it
 * runs). Confinement is permanent, so every case runs in a forked child
 * that reports through its exit status. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cap-ng.h>

#include "asan_build.h"
#include "cgroup.h"
#include "landlock.h"
#include "rlimits.h"
#include "sandbox.h"
#include "valgrind_skip.h"

/* Run fn in a child; return its exit code (or 128 + signal). */
static int in_child(int (*fn)(void *), void *arg)
{
        pid_t pid;
        int status;

        skip_under_valgrind("the child loads a seccomp filter and lowers "
                            "RLIMIT_NOFILE's hard limit");
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fn(arg));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status)
                                 : 128 + WTERMSIG(status);
}

/* A policy like the built-in default, with the given read grants. */
static struct ex_policy base_policy(const char *const *read, size_t nread)
{
        struct ex_policy p = {
                .seccomp = true,
                .groups = EX_GROUP_CORE | EX_GROUP_THREADS |
                          EX_GROUP_FILES_READ,
                .files_after_load = true,
                .landlock = true,
                .landlock_required = false,
                .namespaces = EX_NS_ALL,
                .drop_capabilities = true,
                .limits = {.address_space = 1ull << 32, .open_files = 64},
        };

        for (size_t i = 0; i < nread; i++)
                p.read[p.nread++] = read[i];
        return p;
}

struct grant_case {
        char dir[64];     /* granted */
        char outside[64]; /* not granted */
};

static int grant_child(void *arg)
{
        struct grant_case *g = arg;
        const char *read[] = {g->dir};
        struct ex_policy p = base_policy(read, 1);
        struct ex_sandbox_report rep;
        char err[256], path[128];
        int fd;

        if (ex_sandbox_apply(&p, &rep, err, sizeof(err)) < 0) {
                fprintf(stderr, "apply: %s\n", err);
                return 10;
        }
        snprintf(path, sizeof(path), "%s/inside", g->dir);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 11; /* a granted file must be readable */
        close(fd);
        /* Writing a granted file: seccomp refuses the flags (EPERM). */
        if (open(path, O_WRONLY | O_CLOEXEC) >= 0 || errno != EPERM)
                return 12;
        snprintf(path, sizeof(path), "%s/outside", g->outside);
        if (rep.landlock) {
                /* Landlock refuses what is not granted (EACCES). */
                if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
                        return 13;
        }
        if (!rep.seccomp || !rep.no_new_privs || !rep.capabilities_dropped)
                return 14;
        if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM)
                return 15;
        return 0;
}

static void make_file(const char *dir, const char *name)
{
        char path[128];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
}

static void test_grants_and_denials(void **state)
{
        struct grant_case g;

        (void)state;
        strcpy(g.dir, "/tmp/xtd-sbx-in-XXXXXX");
        strcpy(g.outside, "/tmp/xtd-sbx-out-XXXXXX");
        assert_non_null(mkdtemp(g.dir));
        assert_non_null(mkdtemp(g.outside));
        make_file(g.dir, "inside");
        make_file(g.outside, "outside");
        assert_int_equal(in_child(grant_child, &g), 0);
        /* Clean up outside the sandbox. */
        char path[128];
        snprintf(path, sizeof(path), "%s/inside", g.dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/outside", g.outside);
        unlink(path);
        rmdir(g.dir);
        rmdir(g.outside);
}

static int report_child(void *arg)
{
        const char *read[] = {"/nonexistent-xtd-path", "/usr"};
        struct ex_policy p = base_policy(read, 2);
        struct ex_sandbox_report rep;
        struct rlimit rl, as_before;
        char err[256];

        (void)arg;
        if (getrlimit(RLIMIT_AS, &as_before) < 0)
                return 16;
        if (ex_sandbox_apply(&p, &rep, err, sizeof(err)) < 0)
                return 10;
        if (rep.landlock_abi > 0 &&
            (!rep.landlock || rep.landlock_rules != 1 ||
             rep.landlock_missing != 1))
                return 11;
        /* An ASan build must leave RLIMIT_AS as it was and say so. */
        if (getrlimit(RLIMIT_AS, &rl) < 0 ||
            rl.rlim_max != (EX_ASAN_BUILD ? as_before.rlim_max : 1ull << 32) ||
            rep.limits.address_space != (EX_ASAN_BUILD ? 0 : 1ull << 32))
                return 12;
        if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_max != 0)
                return 13;
        if (rep.seccomp_instructions < 20)
                return 14;
        /* What the report claims about namespaces is what the kernel did. */
        if ((rep.namespaces & EX_NS_USER) && rep.namespaces_errno == 0 &&
            rep.namespaces != EX_NS_ALL)
                return 15;
        capng_get_caps_process();
        if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
                return 16;
        return 0;
}

static void test_report_matches_the_process(void **state)
{
        (void)state;
        assert_int_equal(in_child(report_child, NULL), 0);
}

static int required_landlock_child(void *arg)
{
        struct ex_policy p = base_policy(NULL, 0);
        struct ex_sandbox_report rep;
        char err[256];
        int r;

        (void)arg;
        p.landlock_required = true;
        p.seccomp = false;
        r = ex_sandbox_apply(&p, &rep, err, sizeof(err));
        /* With Landlock in the kernel it applies; without, it fails
         * closed and says so. */
        if (ex_landlock_abi() > 0)
                return r == 0 && rep.landlock ? 0 : 20;
        return r == -EOPNOTSUPP && strstr(err, "Landlock") ? 0 : 21;
}

static void test_required_landlock_fails_closed_or_applies(void **state)
{
        (void)state;
        assert_int_equal(in_child(required_landlock_child, NULL), 0);
}

static void test_rlimits_never_raise(void **state)
{
        struct ex_limits_policy want = {.open_files = 1ull << 40}, got;
        struct rlimit before, after;

        (void)state;
        /* In this process: lowering NOFILE to its own hard max is a no-op
         * change, and asking for more than the hard max gives the max. */
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &before), 0);
        pid_t pid = fork();
        if (pid == 0) {
                if (ex_rlimits_apply(&want, &got) < 0)
                        _exit(1);
                getrlimit(RLIMIT_NOFILE, &after);
                _exit(after.rlim_max == before.rlim_max &&
                                      got.open_files == before.rlim_max
                              ? 0
                              : 2);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* Joining: nothing to join is fine; a group that is not there fails
 * (the child then exits: the limits were promised). */
static void test_cgroup_join(void **state)
{
        const char *none[] = {"/nonexistent-extradite/cgroup.procs"};

        (void)state;
        assert_int_equal(ex_cgroup_join(NULL, 0), 0);
        assert_int_equal(ex_cgroup_join(none, 1), -ENOENT);
}

/* What the report says is not held, and why. */
static void test_limits_missing(void **state)
{
        struct ex_policy p = {.limits = {.processes = 64}};
        struct ex_sandbox_report rep = {0};
        char buf[EX_CGROUP_MISSING_LEN];

        (void)state;
        ex_limits_missing(&p, &rep, 0, buf, sizeof(buf));
        assert_non_null(strstr(buf, "does not bind uid 0"));
        ex_limits_missing(&p, &rep, 1000, buf, sizeof(buf));
        assert_non_null(strstr(buf, "without a user namespace"));
        rep.namespaces = EX_NS_USER;
        ex_limits_missing(&p, &rep, 1000, buf, sizeof(buf));
        assert_string_equal(buf, "");
        /* a cgroup holding it: nothing missing, even for uid 0 */
        p.cgroup_holds = EX_CGROUP_PROCESSES;
        ex_limits_missing(&p, &rep, 0, buf, sizeof(buf));
        assert_string_equal(buf, "");
        /* the parent's reasons come first, and a short buffer truncates */
        p.cgroup_missing = "memory: no memory cgroup hierarchy";
        ex_limits_missing(&p, &rep, 0, buf, 8);
        assert_string_equal(buf, "memory:");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cgroup_join),
                cmocka_unit_test(test_limits_missing),
                cmocka_unit_test(test_grants_and_denials),
                cmocka_unit_test(test_report_matches_the_process),
                cmocka_unit_test(test_required_landlock_fails_closed_or_applies),
                cmocka_unit_test(test_rlimits_never_raise),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
