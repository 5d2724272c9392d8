/* Reporting a trapped syscall to the parent (DESIGN §3).
 *
 * A SECCOMP_RET_TRAP raises SIGSYS in the thread that made the call. The
 * handler installed here writes one EX_MSG_VIOLATION frame carrying the
 * syscall number to the channel with a single write(2), then _exit()s
 * with EX_VIOLATION_EXIT_CODE. Everything it does is async-signal-safe and
 * uses no global state: the channel fd is the fixed EX_CHILD_CHANNEL_FD.
 */
#ifndef EXTRADITE_VIOLATION_H
#define EXTRADITE_VIOLATION_H

#include <stddef.h>
#include <stdint.h>

/* The child's exit status after a reported violation. */
#define EX_VIOLATION_EXIT_CODE 159

/* Install the SIGSYS handler. 0 or -errno. */
int ex_violation_install(void);

/* The frame the handler sends for syscall `nr` (header + codec int);
 * returns its length. Exposed for tests and the parent's decoder. */
size_t ex_violation_frame(int nr, uint8_t *out, size_t len);

#endif
