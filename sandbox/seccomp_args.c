/* The argument-filtered rules of the seccomp filter, as data tables.
 *
 * Why a file of its own: these rules are where the filter looks past the
 * syscall number (flags, families, modes, pids), the part most likely to
 * grow and the part a review must read line by line. seccomp_filter.c
 * compiles them; tests/unit/test_seccomp.c checks them on real calls.
 *
 * A rule can only compare registers: what a pointer points to (a path, a
 * msghdr, clone3's struct) is out of reach, which is why some calls are
 * refused outright or by the argument that says whether a pointer is used
 * at all (sendto's dest_addr, newfstatat's AT_EMPTY_PATH).
 *
 * Arguments the kernel reads as 32-bit (int/unsigned int) are compared on
 * their low 32 bits only (MASKED_EQ with 0xffffffff): the kernel drops the
 * upper half, so a 64-bit compare could be dodged by setting it.
 */
#include "seccomp_args.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "sandbox.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CMP(n, op, a, b) {n, op, (a), (b), false}
/* Argument n, as the kernel reads it (32 bits), equals v. */
#define LOW32(n, v) CMP(n, SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint64_t)(v))
#define LOW32_SELF(n) {n, SCMP_CMP_MASKED_EQ, 0xffffffffu, 0, true}
#define BITS_CLEAR(n, bits) CMP(n, SCMP_CMP_MASKED_EQ, (bits), 0)
#define BITS_SET(n, bits) CMP(n, SCMP_CMP_MASKED_EQ, (bits), (bits))
#define RULE1(g, name, c) {g, name, 1, {c}}
#define RULE2(g, name, c1, c2) {g, name, 2, {c1, c2}}

/* The bare kernel O_TMPFILE bit: glibc's __O_TMPFILE includes O_DIRECTORY,
 * and refusing that would refuse opendir(). */
#define TMPFILE_BIT ((uint64_t)(O_TMPFILE & ~O_DIRECTORY))
#define OPEN_WRITE_BITS                                                        \
        ((uint64_t)(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND) |        \
         TMPFILE_BIT)

/* glibc's pthread_create adds SETTLS|PARENT_SETTID|CHILD_CLEARTID; the
 * namespace bits must be clear (they make no sense for a thread). */
#define THREAD_CLONE_BITS                                                      \
        ((uint64_t)(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |        \
                    CLONE_THREAD | CLONE_SYSVSEM))
#define CLONE_NS_BITS                                                          \
        ((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |             \
                    CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |              \
                    CLONE_NEWNET))

/* socketpair's type without the two flags the kernel accepts on it; any
 * other bit makes the compare fail. */
#define SOCK_TYPE_MASK32 (0xffffffffu & ~(uint64_t)(SOCK_NONBLOCK | SOCK_CLOEXEC))

/* rt_sigaction's rules below spell "1..64 except SIGSYS" as three ranges,
 * each a full 64-bit compare (so the upper half must be zero too):
 * [0, 31), [32, 63] and 64. */
_Static_assert(SIGSYS == 31, "rt_sigaction rules assume SIGSYS is 31");
#define SIG_MAX 64 /* the kernel's _NSIG on x86_64 and aarch64 */

static const struct ex_arg_rule arg_rules[] = {
        RULE1(EX_GROUP_CORE, "ioctl", LOW32(1, TCGETS)),
        RULE1(EX_GROUP_CORE, "ioctl", LOW32(1, TIOCGWINSZ)),
        RULE1(EX_GROUP_CORE, "ioctl", LOW32(1, FIONREAD)),
        RULE1(EX_GROUP_CORE, "ioctl", LOW32(1, FIONBIO)),
        RULE1(EX_GROUP_CORE, "ioctl", LOW32(1, FIOCLEX)),
        RULE1(EX_GROUP_CORE, "ioctl", LOW32(1, FIONCLEX)),

        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_DUPFD)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_DUPFD_CLOEXEC)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_GETFD)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_SETFD)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_GETFL)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_SETFL)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_GETLK)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_SETLK)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_SETLKW)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_OFD_GETLK)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_OFD_SETLK)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_OFD_SETLKW)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_GETPIPE_SZ)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_SETPIPE_SZ)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_ADD_SEALS)),
        RULE1(EX_GROUP_CORE, "fcntl", LOW32(1, F_GET_SEALS)),

        /* Connected pairs only (asyncio's self-pipe, multiprocessing's
         * Pipe): a connected stream or seqpacket socket ignores or refuses
         * a destination address. An unconnected SOCK_DGRAM one would
         * sendto/sendmsg to any host socket path (/dev/log, journald,
         * systemd's notify socket) with fds attached: Landlock does not
         * govern socket paths and a network namespace does not isolate
         * them. */
        RULE2(EX_GROUP_CORE, "socketpair", LOW32(0, AF_UNIX),
              CMP(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK32, SOCK_STREAM)),
        RULE2(EX_GROUP_CORE, "socketpair", LOW32(0, AF_UNIX),
              CMP(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK32, SOCK_SEQPACKET)),
        /* send()/sendto() on a connected socket: no destination outside
         * `network` (which allows sendto outright, for UDP). */
        RULE1(EX_GROUP_CORE, "sendto", CMP(4, SCMP_CMP_EQ, 0, 0)),

        /* With AT_EMPTY_PATH a non-empty path is still looked up, so this
         * leaks metadata (not contents) of paths; Landlock does not govern
         * stat either. glibc's fstat() is this call, so it stays. */
        RULE1(EX_GROUP_CORE, "newfstatat", BITS_SET(3, AT_EMPTY_PATH)),
        RULE1(EX_GROUP_CORE, "statx", BITS_SET(2, AT_EMPTY_PATH)),

        RULE1(EX_GROUP_CORE, "rt_sigaction",
              CMP(0, SCMP_CMP_LT, SIGSYS, 0)),
        RULE1(EX_GROUP_CORE, "rt_sigaction",
              CMP(0, SCMP_CMP_MASKED_EQ, ~(uint64_t)0x1f, 0x20)),
        RULE1(EX_GROUP_CORE, "rt_sigaction",
              CMP(0, SCMP_CMP_EQ, SIG_MAX, 0)),

        RULE1(EX_GROUP_CORE, "kill", LOW32_SELF(0)),
        RULE1(EX_GROUP_CORE, "tgkill", LOW32_SELF(0)),
        RULE1(EX_GROUP_CORE, "tkill", LOW32_SELF(0)),

        /* pid 0 (self) and no new limit */
        RULE2(EX_GROUP_CORE, "prlimit64", LOW32(0, 0),
              CMP(2, SCMP_CMP_EQ, 0, 0)),

        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_GET_NAME)),
        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_SET_NAME)),
        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_GET_DUMPABLE)),
        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_GET_SECCOMP)),
        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_GET_NO_NEW_PRIVS)),
        /* libseccomp sets it before loading a (stacked) filter */
        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_SET_NO_NEW_PRIVS)),
#ifdef PR_SET_VMA
        /* newer glibc and allocators name anonymous mappings with it */
        RULE1(EX_GROUP_CORE, "prctl", LOW32(0, PR_SET_VMA)),
#endif

        RULE1(EX_GROUP_THREADS, "clone",
              CMP(0, SCMP_CMP_MASKED_EQ, THREAD_CLONE_BITS | CLONE_NS_BITS,
                  THREAD_CLONE_BITS)),

        RULE1(EX_GROUP_FILES_READ, "open", BITS_CLEAR(1, OPEN_WRITE_BITS)),
        RULE1(EX_GROUP_FILES_READ, "openat", BITS_CLEAR(2, OPEN_WRITE_BITS)),

        /* No setuid/setgid bits, on a new file or an old one: the kernel
         * keeps them from open's mode (umask does not clear them), and a
         * root parent's grant would then hold a setuid-root program.
         * mkdir/mkdirat need no rule: the kernel drops both bits there.
         * The mode is an umode_t: the mask only looks at those bits. */
        RULE1(EX_GROUP_FILES_WRITE, "open", BITS_CLEAR(2, EX_SETID_BITS)),
        RULE1(EX_GROUP_FILES_WRITE, "openat", BITS_CLEAR(3, EX_SETID_BITS)),
        RULE1(EX_GROUP_FILES_WRITE, "creat", BITS_CLEAR(1, EX_SETID_BITS)),
        RULE1(EX_GROUP_FILES_WRITE, "fchmod", BITS_CLEAR(1, EX_SETID_BITS)),
        /* futimens(fd): utimensat with a NULL path (a pointer, compared
         * on all 64 bits). With a path it is utime(path), which Landlock
         * does not govern: see path_metadata_writers below. */
        RULE1(EX_GROUP_FILES_WRITE, "utimensat", CMP(1, SCMP_CMP_EQ, 0, 0)),

        RULE1(EX_GROUP_NETWORK, "socket", LOW32(0, AF_INET)),
        RULE1(EX_GROUP_NETWORK, "socket", LOW32(0, AF_INET6)),
};

/* Refused once the target is loaded when a profile says files_after_load
 * = false (strict): every open, and every call that tells whether a path
 * exists, its size, mode or target. Landlock governs none of the metadata
 * calls. Calls on fds the child holds (fstat, getdents) stay. */
#define ALWAYS(name) {name, EACCES, 0, {{0, SCMP_CMP_EQ, 0, 0, false}}}
#define WHEN(name, c) {name, EACCES, 1, {c}}

static const struct ex_after_load_rule after_load_rules[] = {
        ALWAYS("open"), ALWAYS("openat"), ALWAYS("openat2"), ALWAYS("creat"),
        ALWAYS("open_by_handle_at"),
        ALWAYS("stat"), ALWAYS("lstat"), ALWAYS("access"),
        ALWAYS("faccessat"), ALWAYS("faccessat2"), ALWAYS("readlink"),
        ALWAYS("readlinkat"), ALWAYS("statfs"), ALWAYS("chdir"),
        /* Without AT_EMPTY_PATH these are stat(path); with it, fstat(fd)
         * as glibc calls it (see the core rule above for what a non-empty
         * path still reveals). */
        WHEN("newfstatat", BITS_CLEAR(3, AT_EMPTY_PATH)),
        WHEN("statx", BITS_CLEAR(2, AT_EMPTY_PATH)),
};

/* Calls that change a file's metadata (mode, owner, times, xattrs) by
 * path. Landlock governs none of them: allowed, they would act on any path
 * the child can name whose inode its uid owns or may write, not just its
 * write grants (chmod o+r of a root parent's /etc/shadow). The filter
 * cannot read a path, so no group lists them; utimensat only with a NULL
 * path (futimens). fchmodat/fchownat with AT_EMPTY_PATH would be the fd
 * form, but a non-empty path is then still looked up, so they stay out
 * too. ex_seccomp_build fails closed if a group lists one outright. */
static const char *const path_metadata_writers[] = {
        "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat",
        "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr",
        "removexattr", "lremovexattr", "setxattrat", "removexattrat",
};

/* Calls that set a file's mode, and which argument holds it. */
static const struct {
        const char *name;
        int arg;
} mode_args[] = {
        {"open", 2},  {"openat", 3},   {"creat", 1},     {"chmod", 1},
        {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"mknod", 1},
        {"mknodat", 2},
};

const struct ex_arg_rule *ex_seccomp_arg_rules(size_t *n)
{
        *n = ARRAY_SIZE(arg_rules);
        return arg_rules;
}

const struct ex_after_load_rule *ex_seccomp_after_load_rules(size_t *n)
{
        *n = ARRAY_SIZE(after_load_rules);
        return after_load_rules;
}

bool ex_seccomp_is_path_metadata_writer(const char *name)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(path_metadata_writers); i++)
                if (strcmp(path_metadata_writers[i], name) == 0)
                        return true;
        return false;
}

const char *const *ex_seccomp_path_metadata_writers(size_t *n)
{
        *n = ARRAY_SIZE(path_metadata_writers);
        return path_metadata_writers;
}

int ex_seccomp_mode_arg(const char *name)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(mode_args); i++)
                if (strcmp(mode_args[i].name, name) == 0)
                        return mode_args[i].arg;
        return -1;
}

bool ex_arg_cmp_holds(const struct ex_arg_cmp *c, const uint64_t args[6],
                      pid_t self)
{
        uint64_t x = args[c->arg];
        uint64_t b = c->b_is_self ? (uint64_t)(uint32_t)self : c->b;

        switch (c->op) {
        case SCMP_CMP_MASKED_EQ:
                return (x & c->a) == b;
        case SCMP_CMP_EQ:
                return x == c->a;
        case SCMP_CMP_LT:
                return x < c->a;
        default:
                return false; /* not used by the tables */
        }
}
