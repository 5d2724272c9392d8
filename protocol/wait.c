/* Waiting on a channel; see wait.h. */
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

int64_t ex_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ex_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ex_past(int64_t deadline_ms)
{
        return deadline_ms >= 0 && ex_now_ms() >= deadline_ms;
}

/* poll() timeout for an absolute deadline: -1 for none, 0 once past. */
static int timeout_for(int64_t deadline_ms)
{
        int64_t left;

        if (deadline_ms < 0)
                return -1;
        left = deadline_ms - ex_now_ms();
        if (left < 0)
                return 0;
        return left > INT_MAX ? INT_MAX : (int)left;
}

int ex_wait_fd(int fd, short events, int64_t deadline_ms, int watch_fd,
               const struct ex_intr *intr)
{
        for (;;) {
                struct pollfd pfd[2] = {
                        {.fd = fd, .events = events},
                        {.fd = watch_fd, .events = POLLIN},
                };
                int timeout = timeout_for(deadline_ms), sliced = 0, ready;

                /* With a way out, sleep in slices: a signal may have come
                 * before poll() began, or to another thread. */
                if (intr && (timeout < 0 || timeout > EX_INTR_SLICE_MS)) {
                        timeout = EX_INTR_SLICE_MS;
                        sliced = 1;
                }
                ready = poll(pfd, watch_fd >= 0 ? 2 : 1, timeout);
                if (ready < 0 && errno != EINTR)
                        return -errno;
                if (ready == 0 && !sliced)
                        return -ETIMEDOUT;
                if (ready <= 0) {
                        /* A signal, or a slice over: the deadline is
                         * recomputed on the next round. */
                        if (intr && intr->check(intr->ctx))
                                return -EINTR;
                        continue;
                }
                if (pfd[0].revents & POLLNVAL)
                        return -EBADF;
                if (pfd[0].revents & (events | POLLHUP | POLLERR))
                        return 0;
                if (pfd[1].revents & POLLNVAL)
                        return -EBADF;
                if (pfd[1].revents)
                        return -ECHILD;
        }
}

int ex_intr_due(const struct ex_intr *intr, int interrupted,
                int64_t *next_ms)
{
        int64_t now;

        if (!intr)
                return 0;
        now = ex_now_ms();
        if (!interrupted && *next_ms == 0) {
                *next_ms = now + EX_INTR_SLICE_MS; /* the first nap */
                return 0;
        }
        if (!interrupted && now < *next_ms)
                return 0;
        *next_ms = now + EX_INTR_SLICE_MS;
        return intr->check(intr->ctx) != 0;
}
