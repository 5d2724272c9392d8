/* Unit tests for supervisor/spawn.c: the child start sequence, fd hygiene,
 * environment, waiting, killing and reaping.
 *
 * The test binary re-executes itself as the child ("--report"): the child
 * then writes what it sees (fds, environment, session, no_new_privs) to its
 * channel, so every property is checked from inside a real child. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "spawn.h"

extern char **environ;

static char self_exe[4096];

/* ---- the child side --------------------------------------------------- */

static int report(void)
{
        char out[8192];
        size_t n = 0;
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        struct stat st0, null_st;
        FILE *f;
        char line[256];

        if (!d)
                return 1;
        n += (size_t)snprintf(out + n, sizeof(out) - n, "fds:");
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
                        continue;
                n += (size_t)snprintf(out + n, sizeof(out) - n, " %s",
                                      e->d_name);
        }
        closedir(d);
        n += (size_t)snprintf(out + n, sizeof(out) - n, "\nenv:");
        for (char **v = environ; *v; v++)
                n += (size_t)snprintf(out + n, sizeof(out) - n, " %s", *v);
        n += (size_t)snprintf(out + n, sizeof(out) - n,
                              "\nsid_is_pid: %d\n",
                              getsid(0) == getpid());
        if (fstat(0, &st0) == 0 && stat("/dev/null", &null_st) == 0)
                n += (size_t)snprintf(out + n, sizeof(out) - n,
                                      "stdin_is_null: %d\n",
                                      st0.st_rdev == null_st.st_rdev);
        f = fopen("/proc/self/status", "r");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "NoNewPrivs:", 11) == 0 ||
                    strncmp(line, "SigBlk:", 7) == 0)
                        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s",
                                              line);
        if (f)
                fclose(f);
        return write(EX_CHILD_CHANNEL_FD, out, n) == (ssize_t)n ? 0 : 1;
}

/* ---- helpers ---------------------------------------------------------- */

static char *const CHILD_ENV[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};

static struct ex_spawn_args args_for(char **argv, int channel)
{
        return (struct ex_spawn_args){
                .path = argv[0],
                .argv = argv,
                .envp = CHILD_ENV,
                .channel_fd = channel,
                .output_fd = -1,
                .plan = {.parent_pid = getpid(),
                         .death_signal = true,
                         .no_new_privs = true,
                         .no_core_dumps = true},
        };
}

/* Spawn ourselves in report mode and return what the child reported. */
static char *spawn_report(void)
{
        char *argv[] = {self_exe, "--report", NULL};
        static char buf[8192];
        struct ex_child c;
        struct ex_spawn_args a;
        ssize_t n, got = 0;
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                         0);
        a = args_for(argv, sv[1]);
        assert_int_equal(ex_spawn(&a, &c), 0);
        close(sv[1]);
        while ((n = read(sv[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
                got += n;
        buf[got] = 0;
        close(sv[0]);
        assert_int_equal(ex_child_wait(&c, ex_now_ms() + 10000), 0);
        assert_true(WIFEXITED(c.status));
        assert_int_equal(WEXITSTATUS(c.status), 0);
        ex_child_release(&c);
        return buf;
}

/* Whether pidfd_open works here: not on kernels before 5.3, nor under
 * valgrind 3.19 (Debian 12's), which does not know the system call.
 * ex_spawn then falls back to polling the pid. */
static bool have_pidfd(void)
{
        int fd = pidfd_open(getpid(), 0);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* ---- tests ------------------------------------------------------------ */

static void test_child_sees_only_stdio_and_channel(void **state)
{
        /* An fd the parent forgot to mark close-on-exec must not leak, and
         * neither may one sitting at the channel's number. */
        int low = open("/dev/null", O_RDONLY);
        int leaked = fcntl(low, F_DUPFD, 20);
        char *r;

        (void)state;
        assert_true(leaked >= 20);
        r = spawn_report();
        assert_non_null(strstr(r, "fds: 0 1 2 3\n"));
        close(leaked);
        close(low);
}

static void test_environment_is_exactly_the_given_one(void **state)
{
        char *r;

        (void)state;
        setenv("EXTRADITE_TEST_SECRET", "hunter2", 1);
        r = spawn_report();
        unsetenv("EXTRADITE_TEST_SECRET");
        assert_null(strstr(r, "hunter2"));
        assert_non_null(strstr(r, "env: PATH=/usr/bin:/bin LANG=C.UTF-8\n"));
}

static void test_session_stdin_and_no_new_privs(void **state)
{
        char *r;

        (void)state;
        r = spawn_report();
        assert_non_null(strstr(r, "sid_is_pid: 1\n"));
        assert_non_null(strstr(r, "stdin_is_null: 1\n"));
        assert_non_null(strstr(r, "NoNewPrivs:\t1\n"));
}

/* ex_spawn blocks every signal around vfork(): the child must get the
 * caller's mask back before exec, not inherit the blocked one. */
static void test_child_gets_the_callers_signal_mask(void **state)
{
        sigset_t usr2, old;
        char *r;

        (void)state;
        r = spawn_report();
        assert_non_null(strstr(r, "SigBlk:\t0000000000000000\n"));
        /* A signal the caller blocks stays blocked (SIGUSR2 is 12: bit
         * 11 of the mask). */
        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr2, &old), 0);
        r = spawn_report();
        assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
        assert_non_null(strstr(r, "SigBlk:\t0000000000000800\n"));
}

static void test_exit_status_is_reported(void **state)
{
        char *argv[] = {"/bin/sh", "-c", "exit 7", NULL};
        struct ex_child c;
        struct ex_spawn_args a;
        int sv[2];

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                         0);
        a = args_for(argv, sv[1]);
        assert_int_equal(ex_spawn(&a, &c), 0);
        assert_int_equal(c.pidfd >= 0, have_pidfd());
        assert_int_equal(ex_child_wait(&c, ex_now_ms() + 10000), 0);
        assert_true(c.reaped);
        assert_true(WIFEXITED(c.status));
        assert_int_equal(WEXITSTATUS(c.status), 7);
        ex_child_release(&c);
        close(sv[0]);
        close(sv[1]);
}

static void test_exec_failure_names_stage_and_leaves_nothing(void **state)
{
        char *argv[] = {"/nonexistent/python", NULL};
        struct ex_child c;
        struct ex_spawn_args a;
        int sv[2];

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                         0);
        a = args_for(argv, sv[1]);
        assert_int_equal(ex_spawn(&a, &c), -ENOENT);
        assert_int_equal(c.failed_stage, EX_STAGE_EXEC);
        assert_int_equal(c.pid, 0);
        assert_int_equal(c.pidfd, -1);
        /* no zombie: nothing left to wait for */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        close(sv[0]);
        close(sv[1]);
}

static void test_wait_times_out_then_stop_kills(void **state)
{
        char *argv[] = {"/bin/sleep", "100", NULL};
        struct ex_child c;
        struct ex_spawn_args a;
        int sv[2];
        int64_t t0;

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                         0);
        a = args_for(argv, sv[1]);
        assert_int_equal(ex_spawn(&a, &c), 0);
        t0 = ex_now_ms();
        assert_int_equal(ex_child_wait(&c, t0 + 100), -ETIMEDOUT);
        assert_true(ex_now_ms() - t0 >= 100);
        assert_false(c.reaped);
        assert_int_equal(ex_child_stop(&c, 50), 0);
        assert_true(c.reaped);
        assert_true(WIFSIGNALED(c.status));
        assert_int_equal(WTERMSIG(c.status), SIGKILL);
        /* killing a reaped child is a no-op, never a stray signal */
        assert_int_equal(ex_child_kill(&c), 0);
        ex_child_release(&c);
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        close(sv[0]);
        close(sv[1]);
}

static void test_bad_arguments(void **state)
{
        struct ex_child c;
        struct ex_spawn_args a = {0};

        (void)state;
        a.channel_fd = -1;
        assert_int_equal(ex_spawn(&a, &c), -EINVAL);
        assert_string_equal(ex_spawn_stage_name(EX_STAGE_EXEC),
                            "executing the interpreter");
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_child_sees_only_stdio_and_channel),
                cmocka_unit_test(test_environment_is_exactly_the_given_one),
                cmocka_unit_test(test_session_stdin_and_no_new_privs),
                cmocka_unit_test(test_child_gets_the_callers_signal_mask),
                cmocka_unit_test(test_exit_status_is_reported),
                cmocka_unit_test(test_exec_failure_names_stage_and_leaves_nothing),
                cmocka_unit_test(test_wait_times_out_then_stop_kills),
                cmocka_unit_test(test_bad_arguments),
        };
        ssize_t n;

        if (argc > 1 && strcmp(argv[1], "--report") == 0)
                return report();
        n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
        if (n <= 0)
                return 1;
        self_exe[n] = 0;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
