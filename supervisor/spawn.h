/* Starting, watching and stopping one child process (DESIGN §2).
 *
 * Lifecycle:
 *   ex_spawn()        fork; in the child: stdio, channel fd at
 *                     EX_CHILD_CHANNEL_FD, every other fd closed, new
 *                     session, pre-exec confinement, execve. Returns once
 *                     the exec has succeeded or with the child's reason.
 *   ex_child_wait()   wait (bounded) for the child to exit and reap it.
 *   ex_child_kill()   SIGKILL it (through its pidfd when there is one).
 *   ex_child_stop()   wait up to a grace period, then kill, then reap.
 *   ex_child_release() close the pidfd; call after the child is reaped.
 *
 * The caller prepares argv, envp and the plan before calling ex_spawn:
 * nothing between fork and exec allocates or takes a lock.
 */
#ifndef EXTRADITE_SPAWN_H
#define EXTRADITE_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "preexec.h"

/* Where in the child start sequence a failure happened. */
enum ex_spawn_stage {
        EX_STAGE_NONE = 0,
        EX_STAGE_FDS,     /* moving fds into place, /dev/null */
        EX_STAGE_CLOSE,   /* closing inherited fds */
        EX_STAGE_SESSION, /* setsid */
        EX_STAGE_PREEXEC, /* ex_preexec_apply */
        EX_STAGE_EXEC,    /* execve */
};

struct ex_spawn_args {
        const char *path;        /* absolute executable; not owned */
        char *const *argv;       /* NULL-terminated; not owned */
        char *const *envp;       /* NULL-terminated; not owned */
        int channel_fd;          /* child's channel end; not closed here */
        int output_fd;           /* child's stdout and stderr; -1: fd 2 */
        struct ex_preexec_plan plan;
};

struct ex_child {
        pid_t pid;     /* 0 when no child */
        int pidfd;     /* owned; -1 when the kernel has no pidfds */
        int status;    /* wait status once reaped, -1 if unknown */
        bool reaped;
        enum ex_spawn_stage failed_stage; /* set when ex_spawn fails */
};

/* 0 with *out filled, or -errno (out->failed_stage says where). */
int ex_spawn(const struct ex_spawn_args *args, struct ex_child *out);

/* Reap the child if it exits before deadline_ms (CLOCK_MONOTONIC ms, -1
 * for no deadline). 0 once reaped, -ETIMEDOUT otherwise. */
int ex_child_wait(struct ex_child *c, int64_t deadline_ms);

/* 0, or -errno; killing an already reaped child is a no-op. */
int ex_child_kill(struct ex_child *c);

/* Give the child grace_ms to exit by itself, then SIGKILL and reap. */
int ex_child_stop(struct ex_child *c, int grace_ms);

void ex_child_release(struct ex_child *c);

const char *ex_spawn_stage_name(enum ex_spawn_stage stage);

#endif
