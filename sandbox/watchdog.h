/* The child's parent watch (docs/lifetime.md).
 *
 * A child must never outlive its parent. PR_SET_PDEATHSIG follows the
 * parent *thread* that forked it, so the supervisor asks for it only from
 * the main thread; a child spawned from any other thread relied on the EOF
 * of its channel, which a child busy in a call never reads. So every child
 * also runs this watchdog: a thread of our own C code, started inside the
 * lock-down after Landlock and the dropped capabilities apply to it and
 * before the seccomp filter (TSYNC covers it), with every signal blocked,
 * that waits in poll(2) for the hang-up of the channel: the parent's end
 * closes when the parent exits however it ends (SIGKILL included), when it
 * execs (the end is close-on-exec) and when it closes the session; a
 * process forked from the parent lets go of its copies at once
 * (_core.forked()), so only the parent holds it.
 *
 * On hang-up the serve loop normally sees EOF and ends by itself (running
 * the finalizers of what the parent held); if it has not within
 * EX_WATCHDOG_GRACE_MS (busy in a call), the watchdog ends the whole
 * process with _exit(2) (exit_group). Its only system calls after start are
 * poll and exit_group, which every profile's filter allows (core group);
 * the channel closed under it (POLLNVAL) counts as a hang-up.
 *
 * What it is not: a bound on a child that runs native code (ctypes) and
 * sets out to disarm it (putting another socket at fd 3 with dup2, or
 * writing over the thread's memory). PDEATHSIG, which the filter keeps the
 * child from clearing, covers children spawned from the main thread either
 * way.
 */
#ifndef EXTRADITE_WATCHDOG_H
#define EXTRADITE_WATCHDOG_H

/* How long the serve loop gets to end by itself after the hang-up; longer
 * than the parent's own grace (2 s) before it kills a child it closes. */
#define EX_WATCHDOG_GRACE_MS 3000
/* The exit status of a child the watchdog ended. */
#define EX_WATCHDOG_EXIT_CODE 111

/* Start the watchdog thread (detached) on EX_CHILD_CHANNEL_FD. 0, or
 * -errno. */
int ex_watchdog_start(void);

#endif
