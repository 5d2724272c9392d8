/* Compiling a profile's syscall rules into a seccomp filter (DESIGN §3).
 *
 * Native architecture only: other architectures and x32 numbers kill the
 * process. clone3 returns ENOSYS (glibc falls back to clone), clone is
 * allowed with thread flags only, ioctl requests are compared on their low
 * 32 bits. Dangerous calls (ptrace, bpf, io_uring, mount, ...) trap: the
 * SIGSYS reporter (violation.h) names them to the parent. Everything else
 * outside the allowed groups fails with EPERM.
 */
#ifndef EXTRADITE_SECCOMP_FILTER_H
#define EXTRADITE_SECCOMP_FILTER_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Build the main filter: `groups` (enum ex_group bits) plus `allow`
 * (extra native syscall numbers). kill and tgkill are allowed towards
 * `self` only. 0 with *out (release with seccomp_release), or -errno. */
int ex_seccomp_build(uint32_t groups, const int *allow, size_t nallow,
                     pid_t self, scmp_filter_ctx *out);

/* The filter of `python -m extradite learn`: the fixed traps and ENOSYS
 * calls as in ex_seccomp_build, the groups' syscalls allowed except those
 * naming a path, and everything else SCMP_ACT_NOTIFY, for a listener that
 * records the call and lets it continue. */
int ex_seccomp_build_learn(uint32_t groups, const int *allow, size_t nallow,
                           pid_t self, scmp_filter_ctx *out);

/* The groups (enum ex_group bits) whose rules would allow syscall `nr`
 * with these arguments in a process whose pid is `self`; 0 for none. */
uint32_t ex_seccomp_groups_allowing(int nr, const uint64_t args[6],
                                    pid_t self);

/* The filter stacked once the target is loaded when a profile refuses
 * file opens from then on (strict): open/openat/... fail with EACCES. */
int ex_seccomp_build_no_open(scmp_filter_ctx *out);

/* Load a built filter into this process, on all threads (TSYNC). */
int ex_seccomp_load(scmp_filter_ctx ctx);

/* BPF instructions in a built filter, or -errno. */
int ex_seccomp_instructions(scmp_filter_ctx ctx);

/* The BPF program of a built filter (struct sock_filter[], 8 bytes each):
 * 0 with *prog (malloc'd, the caller frees it) and *len in bytes, or
 * -errno. Generating it is most of a build's cost. */
int ex_seccomp_export(scmp_filter_ctx ctx, void **prog, size_t *len);

/* The main filter for any child, compiled once per profile: the program
 * of ex_seccomp_build with the instructions (slot[], indexes) whose
 * constant is the `self` pid. It is found by building for two pids and
 * comparing: only those constants may differ, or the build is refused
 * (-ENOTRECOVERABLE). Filling the slots with a pid gives exactly what
 * ex_seccomp_build + ex_seccomp_export make for that pid, in microseconds
 * instead of a millisecond. */
#define EX_SECCOMP_MAX_PID_SLOTS 16
struct ex_seccomp_template {
        void *prog; /* owned: free() it */
        size_t len; /* bytes */
        size_t slot[EX_SECCOMP_MAX_PID_SLOTS];
        size_t nslots;
};

int ex_seccomp_template_build(uint32_t groups, const int *allow,
                              size_t nallow, struct ex_seccomp_template *out);

/* Write the program for `pid` into out (len bytes of prog, the slots'
 * constants set to pid). 0, or -EINVAL for a slot outside the program. */
int ex_seccomp_template_fill(const void *prog, size_t len, const size_t *slot,
                             size_t nslots, pid_t pid, void *out);

/* Load a program made by ex_seccomp_export into this process, on all
 * threads (TSYNC), after setting no_new_privs: what seccomp_load does with
 * the main filter. 0, or -EINVAL for a malformed length, or -errno. */
int ex_seccomp_load_bpf(const void *prog, size_t len);

/* Native syscall number of a name, or -ENOENT. */
int ex_syscall_number(const char *name);

/* Name of a native syscall number into buf ("unknown" if none). */
void ex_syscall_name(int nr, char *buf, size_t len);

#endif
