/* The child's parent watch; see watchdog.h. */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "frame.h"

/* Our own stack, small: the thread only polls. */
#define WATCHDOG_STACK (64u << 10)
/* How often it looks at the channel again (see watch()). */
#define WATCHDOG_PERIOD_MS 1000

/* poll(2), again after EINTR. */
static int wait_for(struct pollfd *p, nfds_t n, int timeout_ms)
{
        int r;

        do
                r = poll(p, n, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r;
}

static void *watch(void *unused)
{
        /* No events asked: poll reports only hang-up, error, closed fd. */
        struct pollfd ch = {.fd = EX_CHILD_CHANNEL_FD, .events = 0};
        struct pollfd none = {.fd = -1};

        (void)unused;
        /* A poll that sleeps pins the file it waits on: with no timeout, a
         * child closing its own channel (fd 3) would keep the socket open
         * under us, and the parent would never see its EOF. Looking again
         * every period lets go of it (and sees POLLNVAL). */
        while (wait_for(&ch, 1, WATCHDOG_PERIOD_MS) == 0)
                ;
        (void)wait_for(&none, 1, EX_WATCHDOG_GRACE_MS);
        _exit(EX_WATCHDOG_EXIT_CODE);
}

int ex_watchdog_start(void)
{
        pthread_attr_t attr;
        pthread_t thread;
        sigset_t all, old;
        int r;

        if (fcntl(EX_CHILD_CHANNEL_FD, F_GETFD) < 0)
                return -errno;
        if ((r = pthread_attr_init(&attr)) != 0)
                return -r;
        r = pthread_attr_setstacksize(&attr, WATCHDOG_STACK);
        if (r == 0)
                r = pthread_attr_setdetachstate(&attr,
                                                PTHREAD_CREATE_DETACHED);
        /* The thread starts with every signal blocked: no handler of the
         * target's ever runs on it, no signal interrupts its wait. */
        sigfillset(&all);
        if (r == 0)
                r = pthread_sigmask(SIG_SETMASK, &all, &old);
        if (r == 0) {
                r = pthread_create(&thread, &attr, watch, NULL);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        pthread_attr_destroy(&attr);
        return -r;
}
