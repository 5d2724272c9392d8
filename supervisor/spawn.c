/* Child process start, watch and stop; see spawn.h. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "frame.h"

/* fds the child keeps: 0-2 stdio, the channel, then the error pipe (which
 * execve closes). Anything above is closed before exec. */
#define ERR_PIPE_FD (EX_CHILD_CHANNEL_FD + 1)
/* Work above every fd we place, so no dup2 clobbers a source fd. */
#define SCRATCH_FD_MIN 10

struct spawn_failure {
        int stage;
        int err;
};

/* The child of vfork() shares our memory until it execs: no handler of
 * ours may run there. Every caught signal goes back to its default (the
 * table is the child's own), then the mask the parent had comes back. */
static void child_signals(const sigset_t *mask)
{
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;

                if (sig == SIGKILL || sig == SIGSTOP ||
                    sigaction(sig, NULL, &sa) < 0)
                        continue;
                if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
                        continue;
                memset(&sa, 0, sizeof(sa));
                sa.sa_handler = SIG_DFL;
                sigaction(sig, &sa, NULL);
        }
        sigprocmask(SIG_SETMASK, mask, NULL);
}

/* Runs in the vforked child: async-signal-safe calls only, nothing
 * written but its own locals. Never returns. */
__attribute__((noreturn)) static void child_start(const struct ex_spawn_args *a,
                                                  int err_fd,
                                                  const sigset_t *mask)
{
        struct spawn_failure f = {EX_STAGE_FDS, 0};
        int ch, er, out, devnull;

        child_signals(mask);
        ch = fcntl(a->channel_fd, F_DUPFD_CLOEXEC, SCRATCH_FD_MIN);
        er = fcntl(err_fd, F_DUPFD_CLOEXEC, SCRATCH_FD_MIN);
        out = fcntl(a->output_fd >= 0 ? a->output_fd : 2, F_DUPFD_CLOEXEC,
                    SCRATCH_FD_MIN);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (ch < 0 || er < 0 || devnull < 0)
                goto fail;
        if (out < 0) /* the parent has no stderr: discard the output */
                out = devnull;
        if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
            dup2(ch, EX_CHILD_CHANNEL_FD) < 0 ||
            dup3(er, ERR_PIPE_FD, O_CLOEXEC) < 0)
                goto fail;
        /* Report through the fixed fd from here on. */
        err_fd = ERR_PIPE_FD;

        f.stage = EX_STAGE_CLOSE;
        if (close_range(ERR_PIPE_FD + 1, ~0U, 0) < 0)
                goto fail;

        f.stage = EX_STAGE_SESSION;
        if (setsid() < 0)
                goto fail;

        f.stage = EX_STAGE_PREEXEC;
        f.err = -ex_preexec_apply(&a->plan);
        if (f.err != 0)
                goto report;

        f.stage = EX_STAGE_EXEC;
        execve(a->path, a->argv, a->envp);
fail:
        f.err = errno;
report:
        /* One small write to a pipe is atomic; nothing else to do if it
         * fails, the parent then sees EOF and a dead child. */
        (void)!write(err_fd, &f, sizeof(f));
        _exit(127);
}

static int read_failure(int fd, struct spawn_failure *f)
{
        size_t got = 0;
        while (got < sizeof(*f)) {
                ssize_t n = read(fd, (char *)f + got, sizeof(*f) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (int)got;
}

int ex_spawn(const struct ex_spawn_args *a, struct ex_child *out)
{
        _cleanup_close_ int err_r = -1;
        _cleanup_close_ int err_w = -1;
        struct spawn_failure f = {0, 0};
        sigset_t all, mask;
        int pipefd[2], r, vfork_errno;
        pid_t pid;

        *out = (struct ex_child){.pid = 0, .pidfd = -1, .status = -1};
        if (!a->path || !a->argv || !a->envp || a->channel_fd < 0)
                return -EINVAL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        err_r = pipefd[0];
        err_w = pipefd[1];

        /* vfork: the interpreter's page tables are not copied, nor its
         * pages copied on write afterwards (a fork cost a cold start about
         * a millisecond). Signals stay blocked until the child has reset
         * its handlers. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &mask);
        pid = vfork();
        if (pid == 0)
                child_start(a, err_w, &mask);
        vfork_errno = errno;
        pthread_sigmask(SIG_SETMASK, &mask, NULL);
        if (pid < 0)
                return -vfork_errno;

        out->pid = pid;
        close(take_fd(&err_w));
        /* Our own unreaped child: its pid cannot be reused, so the pidfd
         * refers to it. Old kernels have none; waiting then polls. */
        out->pidfd = pidfd_open(pid, 0);

        r = read_failure(err_r, &f);
        if (r == 0)
                return 0; /* EOF: the exec succeeded and closed the pipe */
        /* The child failed before exec (or the pipe read failed). */
        out->failed_stage = r == (int)sizeof(f) ? (enum ex_spawn_stage)f.stage
                                                : EX_STAGE_NONE;
        ex_child_stop(out, 0);
        ex_child_release(out);
        out->pid = 0;
        if (r < 0)
                return r;
        return f.err > 0 ? -f.err : -ECHILD;
}

/* A thread of the child that made us its tracer (PTRACE_TRACEME, only
 * possible unconfined) must be reaped by us before its leader can be. */
static void reap_traced_threads(pid_t pid)
{
        char path[64];
        _cleanup_close_ int dir_fd = -1;
        DIR *dir;
        struct dirent *e;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 || !(dir = fdopendir(take_fd(&dir_fd))))
                return;
        while ((e = readdir(dir))) {
                pid_t tid = (pid_t)atoi(e->d_name);
                int st;

                if (tid > 0 && tid != pid)
                        waitpid(tid, &st, WNOHANG | __WALL);
        }
        closedir(dir);
}

static int reap_nohang(struct ex_child *c)
{
        int status = 0;
        pid_t r;

        if (c->reaped || c->pid <= 0)
                return 1;
        do
                r = waitpid(c->pid, &status, WNOHANG | __WALL);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
                reap_traced_threads(c->pid);
                return 0;
        }
        /* ECHILD: somebody else in the process reaped it for us. */
        c->status = r > 0 ? status : -1;
        c->reaped = true;
        return 1;
}

int ex_child_wait(struct ex_child *c, int64_t deadline_ms)
{
        for (;;) {
                int64_t left;
                int timeout;

                if (reap_nohang(c))
                        return 0;
                left = deadline_ms < 0 ? -1 : deadline_ms - ex_now_ms();
                if (deadline_ms >= 0 && left <= 0)
                        return -ETIMEDOUT;
                timeout = left < 0 || left > 1000 ? 1000 : (int)left;
                if (c->pidfd >= 0) {
                        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
                        if (poll(&p, 1, timeout) < 0 && errno != EINTR)
                                return -errno;
                } else {
                        /* No pidfd: poll the status every millisecond. */
                        struct timespec ms = {0, 1000000};
                        nanosleep(&ms, NULL);
                }
        }
}

int ex_child_kill(struct ex_child *c)
{
        if (c->reaped || c->pid <= 0)
                return 0;
        if (c->pidfd >= 0) {
                if (pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0) < 0 &&
                    errno != ESRCH)
                        return -errno;
                return 0;
        }
        /* Without a pidfd the pid is still ours: it is unreaped. */
        if (kill(c->pid, SIGKILL) < 0 && errno != ESRCH)
                return -errno;
        return 0;
}

int ex_child_stop(struct ex_child *c, int grace_ms)
{
        int r;

        if (grace_ms > 0 && ex_child_wait(c, ex_now_ms() + grace_ms) == 0)
                return 0;
        r = ex_child_kill(c);
        if (r < 0)
                return r;
        return ex_child_wait(c, -1);
}

void ex_child_release(struct ex_child *c)
{
        if (c->pidfd >= 0)
                close(c->pidfd);
        c->pidfd = -1;
}

const char *ex_spawn_stage_name(enum ex_spawn_stage stage)
{
        switch (stage) {
        case EX_STAGE_FDS:
                return "arranging the child's file descriptors";
        case EX_STAGE_CLOSE:
                return "closing inherited file descriptors";
        case EX_STAGE_SESSION:
                return "starting a new session";
        case EX_STAGE_PREEXEC:
                return "applying pre-exec confinement";
        case EX_STAGE_EXEC:
                return "executing the interpreter";
        case EX_STAGE_NONE:
                break;
        }
        return "starting the child";
}
