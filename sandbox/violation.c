/* The SIGSYS reporter; see violation.h. */
#include "violation.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "frame.h"

/* Header + EX_TAG_INT + int64. */
#define VIOLATION_PAYLOAD_SIZE 9u
#define VIOLATION_FRAME_SIZE (EX_FRAME_HEADER_SIZE + VIOLATION_PAYLOAD_SIZE)

/* Pure byte packing (ex_frame_header_pack too): safe in a signal handler.
 * 0 when `len` is too small, and nothing is written then. */
size_t ex_violation_frame(int nr, uint8_t *out, size_t len)
{
        const struct ex_frame_header h = {
                .length = VIOLATION_PAYLOAD_SIZE,
                .kind = EX_MSG_VIOLATION,
        };
        uint64_t v = (uint64_t)(int64_t)nr;

        if (!out || len < VIOLATION_FRAME_SIZE)
                return 0;
        ex_frame_header_pack(&h, out);
        out[EX_FRAME_HEADER_SIZE] = EX_TAG_INT;
        for (unsigned i = 0; i < 8; i++)
                out[EX_FRAME_HEADER_SIZE + 1 + i] = (uint8_t)(v >> (8 * i));
        return VIOLATION_FRAME_SIZE;
}

static void on_sigsys(int sig, siginfo_t *info, void *ucontext)
{
        uint8_t frame[VIOLATION_FRAME_SIZE];
        size_t n = ex_violation_frame(info->si_syscall, frame, sizeof(frame));
        /* One write, so the parent sees the whole frame or nothing. Every
         * signal is blocked here (sa_mask), so a dead peer's SIGPIPE stays
         * pending and the exit status is still ours. */
        ssize_t w = write(EX_CHILD_CHANNEL_FD, frame, n);

        (void)sig;
        (void)ucontext;
        (void)w; /* nothing left to do about a failed report */
        _exit(EX_VIOLATION_EXIT_CODE);
}

int ex_violation_install(void)
{
        struct sigaction sa;
        sigset_t sys;

        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigfillset(&sa.sa_mask);
        if (sigaction(SIGSYS, &sa, NULL) < 0)
                return -errno;
        /* A blocked SIGSYS would make the kernel reset the handler and kill
         * the process unreported. */
        sigemptyset(&sys);
        sigaddset(&sys, SIGSYS);
        if (sigprocmask(SIG_UNBLOCK, &sys, NULL) < 0)
                return -errno;
        return 0;
}
