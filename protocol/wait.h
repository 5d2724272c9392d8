/* Waiting on a channel: clocks, deadlines, and a way out for signals.
 *
 * Every wait of frame.c goes through here. A wait ends when its fd is
 * ready, when the deadline passes, or, given an ex_intr, when its check
 * says so: the check runs whenever a signal interrupted the wait (EINTR)
 * and at least every EX_INTR_SLICE_MS while it sleeps (a signal that
 * arrived before the wait began, or went to another thread, interrupts
 * nothing). The parent's check runs the Python signal handlers
 * (pymodule/session.c); a handler that raises ends the wait. Without an
 * ex_intr (the child; unit tests) EINTR is simply retried.
 */
#ifndef EXTRADITE_WAIT_H
#define EXTRADITE_WAIT_H

#include <stdint.h>

/* CLOCK_MONOTONIC now, in milliseconds and in microseconds. */
int64_t ex_now_ms(void);
int64_t ex_now_us(void);

/* Whether deadline_ms (CLOCK_MONOTONIC milliseconds, -1: none) passed:
 * one clock read, for checks between frames. */
int ex_past(int64_t deadline_ms);

/* A waiter's way out. check(ctx) returns nonzero to end the wait with
 * -EINTR; whatever the wait was part of is then abandoned (a frame may
 * be half read or half sent: the caller ends the channel). Not owned by
 * the wait. */
struct ex_intr {
        int (*check)(void *ctx);
        void *ctx;
};
/* Longest sleep between two checks. */
#define EX_INTR_SLICE_MS 100

/* Wait until fd has one of `events` (POLLIN or POLLOUT; a hang-up or an
 * error counts too, for the read or write to report): 0. -ETIMEDOUT past
 * deadline_ms (-1: none). -ECHILD when watch_fd (-1: none) became
 * readable first (fd wins a tie). -EINTR when intr (may be NULL) said
 * so. -EBADF for a closed fd, else -errno. */
int ex_wait_fd(int fd, short events, int64_t deadline_ms, int watch_fd,
               const struct ex_intr *intr);

/* For loops that nap without ex_wait_fd (frame.c's ring_room): 1 when
 * intr says to give up. Asked at once after a signal (interrupted), else
 * at most every slice (*next_ms: when next; 0 to start). */
int ex_intr_due(const struct ex_intr *intr, int interrupted,
                int64_t *next_ms);

#endif
