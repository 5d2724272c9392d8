/* Compiling syscall groups into a seccomp filter; see seccomp_filter.h.
 * The argument rules (and the comparisons they use) are in seccomp_args.c.
 *
 * Shape of the main filter (libseccomp, native architecture only):
 *
 *   other architecture, x32 number     -> KILL_PROCESS (bad-arch action)
 *   always_trapped[]                   -> TRAP (reported by violation.c)
 *   clone3, openat2                    -> ERRNO(ENOSYS), whatever the groups
 *   the groups' syscalls               -> ALLOW, some only for arguments
 *                                         listed in seccomp_args.c
 *   everything else                    -> ERRNO(EPERM)
 *
 * x32: for an x86_64-only filter, libseccomp 2.5 emits "nr >= 0x40000000
 * (and nr != -1) -> bad-arch action" right after the architecture check.
 * seccomp_export_pfc does not print it, the BPF has it, and test_seccomp.c
 * checks that an x32 number really kills, so no second filter is needed.
 *
 * Arguments the kernel reads as 32-bit (int/unsigned int) are compared on
 * their low 32 bits only (MASKED_EQ with 0xffffffff): the kernel drops the
 * upper half, so a 64-bit compare could be dodged by setting it (ioctl
 * request, kill pid, prctl option, socket family, fcntl command).
 */
#include "seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "sandbox.h"
#include "seccomp_args.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- groups ------------------------------------------------------------
 *
 * Every syscall of a group is listed here by name. A name that also has
 * entries in seccomp_args.c's arg_rules[] for the same group is allowed only when one of
 * those entries matches; otherwise it is allowed outright. Names the
 * architecture lacks (open on aarch64, ...) are skipped.
 */

static const char *const core_syscalls[] = {
        /* I/O on fds the process already holds */
        "read", "write", "readv", "writev", "pread64", "pwrite64",
        "preadv", "pwritev", "preadv2", "pwritev2", "lseek", "close",
        "close_range", "dup", "dup2", "dup3", "pipe", "pipe2", "eventfd",
        "eventfd2", "memfd_create", "fadvise64", "flock", "sendfile",
        "copy_file_range", "sendmsg", "recvmsg", "recvfrom",
        "sendto",       /* arg_rules: no destination address */
        "shutdown",
        "fcntl",        /* arg_rules: no F_SETOWN/F_SETSIG (signals others) */
        "ioctl",        /* arg_rules: terminal queries, FIONBIO, FIOCLEX */
        "socketpair",   /* arg_rules: AF_UNIX, stream or seqpacket */
        /* metadata of open fds; glibc's fstat() is newfstatat(fd, "",
         * AT_EMPTY_PATH). Path lookups without it are files_read. */
        "fstat", "newfstatat", "statx",
        /* waiting */
        "poll", "ppoll", "select", "pselect6", "epoll_create",
        "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
        "epoll_pwait2",
        /* memory */
        "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync",
        "membarrier",
        /* what threads and the C runtime use even single-threaded */
        "futex", "futex_waitv", "set_robust_list", "rseq",
        "set_tid_address", "sched_yield", "sched_getaffinity", "getcpu",
        "arch_prctl",
        /* signals, to this process only */
        "rt_sigaction", /* arg_rules: never SIGSYS (the reporter's) */
        "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
        "rt_sigtimedwait", "sigaltstack", "restart_syscall", "alarm",
        "getitimer", "setitimer",
        "kill", "tgkill", "tkill", /* arg_rules: towards self only */
        /* time, randomness */
        "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
        "gettimeofday", "time", "getrandom",
        /* identity and limits, read-only */
        "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
        "getegid", "getresuid", "getresgid", "getgroups", "uname", "getcwd",
        "getrlimit", "sysinfo", "times", "getrusage",
        "prlimit64",    /* arg_rules: query own limits only */
        "prctl",        /* arg_rules: names, dumpable and seccomp queries */
        /* stacking a stricter filter later (files_after_load = false):
         * a filter can only narrow what is allowed */
        "seccomp",
        "exit", "exit_group",
};

static const char *const threads_syscalls[] = {
        "clone", /* arg_rules: thread flags only; fork is clone(SIGCHLD) */
};

static const char *const files_read_syscalls[] = {
        "open", "openat", /* arg_rules: no write, create, truncate flags */
        "stat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
        "access", "faccessat", "faccessat2", "readlink", "readlinkat",
        "getdents", "getdents64", "chdir", "fchdir",
};

static const char *const files_write_syscalls[] = {
        "open", "openat", "creat", "mkdir", "mkdirat", "rmdir", "unlink",
        "unlinkat", "rename", "renameat", "renameat2", "ftruncate",
        "truncate", "fsync", "fdatasync", "fallocate",
        /* metadata through an fd only: Landlock governs no path form */
        "fchmod",       /* arg_rules: never setuid/setgid */
        "utimensat",    /* arg_rules: NULL path (futimens) only */
};

static const char *const network_syscalls[] = {
        "socket", /* arg_rules: AF_INET and AF_INET6 only */
        "connect", "bind", "listen", "accept", "accept4", "getsockname",
        "getpeername", "setsockopt", "getsockopt", "shutdown", "sendmmsg",
        "recvmmsg", "sendto", /* to any address: UDP */
};

struct group {
        uint32_t bit;
        const char *name;
        const char *const *syscalls;
        size_t nsyscalls;
};

#define GROUP(bit, name, list) {bit, name, list, ARRAY_SIZE(list)}

static const struct group groups[] = {
        GROUP(EX_GROUP_CORE, "core", core_syscalls),
        GROUP(EX_GROUP_THREADS, "threads", threads_syscalls),
        GROUP(EX_GROUP_FILES_READ, "files_read", files_read_syscalls),
        GROUP(EX_GROUP_FILES_WRITE, "files_write", files_write_syscalls),
        GROUP(EX_GROUP_NETWORK, "network", network_syscalls),
};

/* Trapped in every filter: the child reports them and dies. An `allow`
 * entry naming one of these (or clone3/openat2) makes the build fail with
 * -EPERM rather than silently losing to the trap. */
static const char *const always_trapped[] = {
        /* other processes' memory and fds */
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open",
        "pidfd_getfd", "kcmp", "migrate_pages", "move_pages",
        "process_madvise",
        /* kernel attack surface */
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "keyctl", "add_key",
        "request_key", "fanotify_init", "lookup_dcookie", "uselib",
        "personality",
        /* mounts and namespaces */
        "mount", "umount2", "move_mount", "open_tree", "fsopen", "fsmount",
        "fsconfig", "fspick", "mount_setattr", "unshare", "setns",
        "pivot_root", "chroot", "open_by_handle_at", "name_to_handle_at",
        /* the machine */
        "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl",
        "quotactl_fd", "iopl", "ioperm", "syslog", "vhangup",
};

/* Refused with ENOSYS so libc falls back to a call we can inspect: their
 * flags live in a struct in memory, out of the filter's reach. */
static const char *const always_enosys[] = {"clone3", "openat2"};

/* ---- group names ------------------------------------------------------- */

const char *ex_group_name(uint32_t bit)
{
        for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
                if (groups[i].bit == bit)
                        return groups[i].name;
        return NULL;
}

uint32_t ex_group_by_name(const char *name)
{
        if (!name)
                return 0;
        for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
                if (strcmp(groups[i].name, name) == 0)
                        return groups[i].bit;
        return 0;
}

/* ---- syscall names ----------------------------------------------------- */

int ex_syscall_number(const char *name)
{
        int nr;

        if (!name)
                return -ENOENT;
        nr = seccomp_syscall_resolve_name(name);
        /* __NR_SCMP_ERROR (-1) for unknown names; other negative numbers
         * are libseccomp's pseudo-syscalls for calls this arch lacks. */
        return nr < 0 ? -ENOENT : nr;
}

void ex_syscall_name(int nr, char *buf, size_t len)
{
        _cleanup_free_ char *name = NULL;

        if (!buf || len == 0)
                return;
        if (nr >= 0)
                name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        snprintf(buf, len, "%s", name ? name : "unknown");
}

/* ---- building ---------------------------------------------------------- */

static void release_filterp(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

#define _cleanup_filter_ __attribute__((cleanup(release_filterp)))

/* Numbers of always_trapped[] and always_enosys[] on this arch. */
struct fixed_set {
        int nr[ARRAY_SIZE(always_trapped) + ARRAY_SIZE(always_enosys)];
        size_t n;
};

static bool is_fixed(const struct fixed_set *f, int nr)
{
        for (size_t i = 0; i < f->n; i++)
                if (f->nr[i] == nr)
                        return true;
        return false;
}

static int add_fixed(scmp_filter_ctx ctx, const char *const *names,
                     size_t n, uint32_t action, struct fixed_set *f)
{
        for (size_t i = 0; i < n; i++) {
                int nr = ex_syscall_number(names[i]);
                int r;

                if (nr < 0)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, action, nr, 0);
                if (r < 0)
                        return r;
                f->nr[f->n++] = nr;
        }
        return 0;
}

/* Attributes shared by both filters. */
static int set_attrs(scmp_filter_ctx ctx)
{
        static const struct {
                enum scmp_filter_attr attr;
                uint32_t value;
        } attrs[] = {
                /* other ABIs (i386 via int $0x80) and x32 numbers */
                {SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS},
                /* the child has no threads yet, but be sure */
                {SCMP_FLTATR_CTL_TSYNC, 1},
                /* the child sets it itself too; harmless twice */
                {SCMP_FLTATR_CTL_NNP, 1},
                /* the kernel's errno, not libseccomp's -ECANCELED */
                {SCMP_FLTATR_API_SYSRAWRC, 1},
                /* every syscall of the child walks the filter: a binary
                 * tree of syscall numbers beats a linear list */
                {SCMP_FLTATR_CTL_OPTIMIZE, 2},
        };

        for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
                int r = seccomp_attr_set(ctx, attrs[i].attr, attrs[i].value);

                if (r < 0)
                        return r;
        }
        return 0;
}

static bool has_arg_rules(uint32_t group, const char *name)
{
        size_t n;
        const struct ex_arg_rule *rules = ex_seccomp_arg_rules(&n);

        for (size_t i = 0; i < n; i++)
                if (rules[i].group == group && strcmp(rules[i].name, name) == 0)
                        return true;
        return false;
}

static void to_scmp(const struct ex_arg_cmp *c, pid_t self,
                    struct scmp_arg_cmp *out)
{
        *out = (struct scmp_arg_cmp){
                .arg = c->arg,
                .op = c->op,
                .datum_a = c->a,
                .datum_b = c->b_is_self ? (uint64_t)(uint32_t)self : c->b,
        };
}

static int add_arg_rules(scmp_filter_ctx ctx, uint32_t group,
                         const char *name, int nr, pid_t self)
{
        size_t n;
        const struct ex_arg_rule *rules = ex_seccomp_arg_rules(&n);

        for (size_t i = 0; i < n; i++) {
                const struct ex_arg_rule *rule = &rules[i];
                struct scmp_arg_cmp cmp[2];
                int r;

                if (rule->group != group || strcmp(rule->name, name) != 0)
                        continue;
                for (unsigned k = 0; k < rule->ncmp; k++)
                        to_scmp(&rule->cmp[k], self, &cmp[k]);
                r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr,
                                           rule->ncmp, cmp);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* An `allow` extra: outright, except that a call setting a file's mode
 * never gets the setuid/setgid bits through (seccomp_args.h). */
static int add_extra(scmp_filter_ctx ctx, const char *name, int nr)
{
        int arg = ex_seccomp_mode_arg(name);

        if (arg < 0)
                return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                SCMP_CMP((unsigned)arg, SCMP_CMP_MASKED_EQ,
                                         EX_SETID_BITS, 0));
}

/* Calls on a path that Landlock judges: while learning (Landlock off) they
 * are never allowed by the filter, so the listener sees every one of them
 * and can tell which paths the profile must grant. */
static const char *const learn_path_calls[] = {
        "open", "openat", "creat", "mkdir", "mkdirat", "rmdir", "unlink",
        "unlinkat", "rename", "renameat", "renameat2", "truncate",
        "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat",
};

static bool is_learn_path_call(int nr)
{
        for (size_t i = 0; i < ARRAY_SIZE(learn_path_calls); i++)
                if (ex_syscall_number(learn_path_calls[i]) == nr)
                        return true;
        return false;
}

static int add_group(scmp_filter_ctx ctx, const struct group *g,
                     const struct fixed_set *fixed, pid_t self, bool learn)
{
        for (size_t i = 0; i < g->nsyscalls; i++) {
                const char *name = g->syscalls[i];
                int nr = ex_syscall_number(name);
                int r;

                if (nr < 0)
                        continue; /* not on this architecture */
                /* A table bug, not a user error: fail closed. */
                if (is_fixed(fixed, nr))
                        return -EPERM;
                if (ex_seccomp_is_path_metadata_writer(name) &&
                    !has_arg_rules(g->bit, name))
                        return -EPERM;
                if (learn && is_learn_path_call(nr))
                        continue; /* left to the default: notify */
                /* libseccomp merges rules of one action: an outright
                 * ALLOW from another group wins over these conditions. */
                if (has_arg_rules(g->bit, name))
                        r = add_arg_rules(ctx, g->bit, name, nr, self);
                else
                        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* libseccomp caches what the kernel supports in process-wide variables
 * (its api level, its `state` of supported actions and flags), filled on
 * first use by seccomp_init, seccomp_attr_set and seccomp_rule_add without
 * a lock. Parents build filters to check profiles (policy.c); interpreters
 * with their own GIL (subinterpreters, 3.12+) may do so at the same time, so
 * every build here is serialized by the one lock that spans them all: the
 * library's state is per process, not per interpreter. */
static pthread_mutex_t libseccomp_lock = PTHREAD_MUTEX_INITIALIZER;

static int build_locked(uint32_t group_bits, const int *allow, size_t nallow,
                        pid_t self, bool learn, scmp_filter_ctx *out)
{
        _cleanup_filter_ scmp_filter_ctx ctx = NULL;
        struct fixed_set fixed = {.n = 0};
        int r;

        if (!out || (nallow > 0 && !allow) || self <= 0)
                return -EINVAL;
        /* Without core not even exit_group or the reporter's write would
         * work; a profile must say "core" explicitly. */
        if (!(group_bits & EX_GROUP_CORE) || (group_bits & ~EX_GROUP_ALL))
                return -EINVAL;

        /* Learning: what the profile would refuse goes to the listener
         * (the parent) instead, which records it and lets it run. */
        ctx = seccomp_init(learn ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        r = set_attrs(ctx);
        if (r < 0)
                return r;
        /* TSYNC with a listener needs TSYNC_ESRCH (Linux 5.7); the child
         * is single-threaded when it loads the filter anyway. */
        if (learn && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0)) < 0)
                return r;

        /* Fixed actions first; everything allowed later is checked against
         * them, because libseccomp would silently keep the first action. */
        r = add_fixed(ctx, always_trapped, ARRAY_SIZE(always_trapped),
                      SCMP_ACT_TRAP, &fixed);
        if (r < 0)
                return r;
        r = add_fixed(ctx, always_enosys, ARRAY_SIZE(always_enosys),
                      SCMP_ACT_ERRNO(ENOSYS), &fixed);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
                if (!(group_bits & groups[i].bit))
                        continue;
                r = add_group(ctx, &groups[i], &fixed, self, learn);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < nallow; i++) {
                _cleanup_free_ char *name = NULL;

                if (allow[i] < 0)
                        return -EINVAL;
                name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
                                                        allow[i]);
                if (!name)
                        return -EINVAL; /* not a syscall of this arch */
                /* An extra never overrides a trap or clone3's ENOSYS. */
                if (is_fixed(&fixed, allow[i]))
                        return -EPERM;
                if (learn && is_learn_path_call(allow[i]))
                        continue;
                r = add_extra(ctx, name, allow[i]);
                if (r < 0)
                        return r;
        }

        *out = take_ptr(&ctx);
        return 0;
}

static int build(uint32_t group_bits, const int *allow, size_t nallow,
                 pid_t self, bool learn, scmp_filter_ctx *out)
{
        int r;

        pthread_mutex_lock(&libseccomp_lock);
        r = build_locked(group_bits, allow, nallow, self, learn, out);
        pthread_mutex_unlock(&libseccomp_lock);
        return r;
}

int ex_seccomp_build(uint32_t group_bits, const int *allow, size_t nallow,
                     pid_t self, scmp_filter_ctx *out)
{
        return build(group_bits, allow, nallow, self, false, out);
}

int ex_seccomp_build_learn(uint32_t group_bits, const int *allow,
                           size_t nallow, pid_t self, scmp_filter_ctx *out)
{
        return build(group_bits, allow, nallow, self, true, out);
}

/* ---- which group would allow a call ------------------------------------ */

static bool group_allows(const struct group *g, const char *name,
                         const uint64_t args[6], pid_t self)
{
        const struct ex_arg_rule *rules;
        bool listed = false;
        size_t n;

        for (size_t i = 0; i < g->nsyscalls && !listed; i++)
                listed = strcmp(g->syscalls[i], name) == 0;
        if (!listed)
                return false;
        if (!has_arg_rules(g->bit, name))
                return true;
        rules = ex_seccomp_arg_rules(&n);
        for (size_t i = 0; i < n; i++) {
                const struct ex_arg_rule *rule = &rules[i];
                bool all = true;

                if (rule->group != g->bit || strcmp(rule->name, name) != 0)
                        continue;
                for (unsigned k = 0; k < rule->ncmp && all; k++)
                        all = ex_arg_cmp_holds(&rule->cmp[k], args, self);
                if (all)
                        return true;
        }
        return false;
}

uint32_t ex_seccomp_groups_allowing(int nr, const uint64_t args[6],
                                    pid_t self)
{
        _cleanup_free_ char *name = NULL;
        uint32_t bits = 0;

        if (nr < 0 || !args)
                return 0;
        name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (!name)
                return 0;
        for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
                if (group_allows(&groups[i], name, args, self))
                        bits |= groups[i].bit;
        return bits;
}

int ex_seccomp_build_no_open(scmp_filter_ctx *out)
{
        _cleanup_filter_ scmp_filter_ctx ctx = NULL;
        const struct ex_after_load_rule *rules;
        size_t n;
        int r;

        if (!out)
                return -EINVAL;
        /* Stacked on the main filter, which still decides everything
         * else: the kernel applies the strictest result of all filters. */
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = set_attrs(ctx);
        if (r < 0)
                return r;
        rules = ex_seccomp_after_load_rules(&n);
        for (size_t i = 0; i < n; i++) {
                int nr = ex_syscall_number(rules[i].name);
                struct scmp_arg_cmp cmp[1];

                if (nr < 0)
                        continue; /* not on this architecture */
                if (rules[i].ncmp)
                        to_scmp(&rules[i].cmp[0], 1, &cmp[0]);
                r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(rules[i].err),
                                           nr, rules[i].ncmp, cmp);
                if (r < 0)
                        return r;
        }
        *out = take_ptr(&ctx);
        return 0;
}

int ex_seccomp_load(scmp_filter_ctx ctx)
{
        if (!ctx)
                return -EINVAL;
        return seccomp_load(ctx);
}

int ex_seccomp_export(scmp_filter_ctx ctx, void **prog, size_t *len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ void *buf = NULL;
        struct stat st;
        ssize_t n;
        int r;

        if (!ctx || !prog || !len)
                return -EINVAL;
        /* libseccomp 2.5 exports to an fd only. */
        fd = memfd_create("extradite-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        pthread_mutex_lock(&libseccomp_lock);
        r = seccomp_export_bpf(ctx, fd);
        pthread_mutex_unlock(&libseccomp_lock);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
            st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EBADMSG;
        buf = malloc((size_t)st.st_size);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, (size_t)st.st_size, 0);
        if (n != st.st_size)
                return n < 0 ? -errno : -EIO;
        *len = (size_t)st.st_size;
        *prog = take_ptr(&buf);
        return 0;
}

static int export_for(uint32_t group_bits, const int *allow, size_t nallow,
                      pid_t self, void **prog, size_t *len)
{
        _cleanup_filter_ scmp_filter_ctx ctx = NULL;
        int r = ex_seccomp_build(group_bits, allow, nallow, self, &ctx);

        return r < 0 ? r : ex_seccomp_export(ctx, prog, len);
}

int ex_seccomp_template_build(uint32_t group_bits, const int *allow,
                              size_t nallow, struct ex_seccomp_template *out)
{
        /* Two pids no constant of the filter holds by chance in the same
         * place; pid_max is at most 2^22. */
        const pid_t a = 0x2a2a2a, b = 0x151515;
        _cleanup_free_ void *pa = NULL;
        _cleanup_free_ void *pb = NULL;
        const struct sock_filter *fa, *fb;
        size_t la = 0, lb = 0;
        int r;

        if (!out)
                return -EINVAL;
        *out = (struct ex_seccomp_template){0};
        r = export_for(group_bits, allow, nallow, a, &pa, &la);
        if (r == 0)
                r = export_for(group_bits, allow, nallow, b, &pb, &lb);
        if (r < 0)
                return r;
        if (la != lb)
                return -ENOTRECOVERABLE;
        fa = pa;
        fb = pb;
        for (size_t i = 0; i < la / sizeof(*fa); i++) {
                if (memcmp(&fa[i], &fb[i], sizeof(*fa)) == 0)
                        continue;
                /* The only difference allowed: the pid as a constant. */
                if (fa[i].code != fb[i].code || fa[i].jt != fb[i].jt ||
                    fa[i].jf != fb[i].jf || fa[i].k != (uint32_t)a ||
                    fb[i].k != (uint32_t)b ||
                    out->nslots == EX_SECCOMP_MAX_PID_SLOTS)
                        return -ENOTRECOVERABLE;
                out->slot[out->nslots++] = i;
        }
        out->len = la;
        out->prog = take_ptr(&pa);
        return 0;
}

int ex_seccomp_template_fill(const void *prog, size_t len, const size_t *slot,
                             size_t nslots, pid_t pid, void *out)
{
        struct sock_filter *f = out;

        if (!prog || !out || (nslots && !slot) || pid <= 0 ||
            len % sizeof(*f))
                return -EINVAL;
        for (size_t i = 0; i < nslots; i++)
                if (slot[i] >= len / sizeof(*f))
                        return -EINVAL;
        memcpy(out, prog, len);
        for (size_t i = 0; i < nslots; i++)
                f[slot[i]].k = (uint32_t)pid;
        return 0;
}

int ex_seccomp_load_bpf(const void *prog, size_t len)
{
        struct sock_fprog fprog = {
                .len = (unsigned short)(len / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *)prog,
        };
        long r;

        if (!prog || len == 0 || len % sizeof(struct sock_filter) ||
            len / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EINVAL;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        /* The flags seccomp_load uses for the main filter (TSYNC; its
         * TSYNC_ESRCH only changes how a listener's failure reads). */
        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                    SECCOMP_FILTER_FLAG_TSYNC, &fprog);
        if (r < 0)
                return -errno;
        /* > 0: the id of a thread that could not be synchronized */
        return r == 0 ? 0 : -ESRCH;
}

int ex_seccomp_instructions(scmp_filter_ctx ctx)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (!ctx)
                return -EINVAL;
        fd = memfd_create("extradite-bpf", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        /* struct sock_filter is 8 bytes */
        if (st.st_size % 8 != 0 || st.st_size / 8 > INT_MAX)
                return -EBADMSG;
        return (int)(st.st_size / 8);
}
