/* Confining the child after exec, before the target is imported (DESIGN §2, §3).
 *
 * The parent turns a profile (a policies/ TOML file) into a struct ex_policy and
 * sends it with the bootstrap; the child calls ex_sandbox_apply() once, while
 * it is still single-threaded, in this order:
 *
 *   namespaces -> rlimits -> capabilities -> no_new_privs -> Landlock
 *   -> SIGSYS reporter -> seccomp (TSYNC)
 *
 * and fills a report of what was actually applied. Each step is in its own
 * file; this one only sequences them.
 */
#ifndef EXTRADITE_SANDBOX_H
#define EXTRADITE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Syscall groups a profile may allow (see seccomp_filter.c for members). */
enum ex_group {
        EX_GROUP_CORE = 1u << 0,        /* memory, signals to self, clocks,
                                           random, futex, I/O on open fds */
        EX_GROUP_THREADS = 1u << 1,     /* clone with thread flags only */
        EX_GROUP_FILES_READ = 1u << 2,  /* open read-only, stat, getdents */
        EX_GROUP_FILES_WRITE = 1u << 3, /* open for write, mkdir, unlink... */
        EX_GROUP_NETWORK = 1u << 4,     /* inet/inet6 sockets, epoll */
        EX_GROUP_ALL = (1u << 5) - 1,
};

/* Namespaces the child asks for. */
enum ex_ns {
        EX_NS_USER = 1u << 0,
        EX_NS_NET = 1u << 1,
        EX_NS_IPC = 1u << 2,
        EX_NS_UTS = 1u << 3,
        EX_NS_ALL = (1u << 4) - 1,
};

#define EX_POLICY_MAX_SYSCALLS 128
#define EX_POLICY_MAX_PATHS 256
#define EX_POLICY_MAX_PATH_LEN 4096

/* Limits; 0 leaves a limit as inherited. */
struct ex_limits_policy {
        uint64_t address_space; /* bytes (RLIMIT_AS) */
        uint64_t open_files;    /* RLIMIT_NOFILE */
        uint64_t cpu_seconds;   /* RLIMIT_CPU */
        uint64_t file_size;     /* bytes (RLIMIT_FSIZE) */
        uint64_t processes;     /* RLIMIT_NPROC, and a cgroup's pids.max */
};

/* Limits a per-child cgroup holds (made by the parent, _cgroup.py). */
enum ex_cgroup_limit {
        EX_CGROUP_PROCESSES = 1u << 0, /* pids.max */
        EX_CGROUP_MEMORY = 1u << 1,    /* memory.max / memory.limit_in_bytes */
};

#define EX_POLICY_MAX_CGROUPS 4
#define EX_CGROUP_MISSING_LEN 256

struct ex_policy {
        bool seccomp;           /* install the filter at all */
        uint32_t groups;        /* enum ex_group bits */
        int allow[EX_POLICY_MAX_SYSCALLS]; /* extra syscalls, native numbers */
        size_t nallow;
        bool files_after_load;  /* false: opens refused once the target is
                                   loaded (a second, stacked filter) */
        /* The main filter already compiled for this process's pid (the
         * parent fills in the profile's ex_seccomp_template). Not owned;
         * NULL: compiled here. Ignored when learning (the listener needs
         * libseccomp's own load). */
        const void *bpf;
        size_t bpf_len;

        bool landlock;
        bool landlock_required; /* fail closed without kernel support */
        const char *read[EX_POLICY_MAX_PATHS]; /* not owned */
        size_t nread;
        const char *write[EX_POLICY_MAX_PATHS];
        size_t nwrite;

        uint32_t namespaces;    /* enum ex_ns bits */
        bool namespaces_required;

        bool drop_capabilities;
        struct ex_limits_policy limits;

        /* cgroup.procs files to join first (not owned), the limits their
         * groups hold (enum ex_cgroup_limit bits) and, from the parent,
         * why the others are not held ("" if nothing is missing). */
        const char *cgroup_procs[EX_POLICY_MAX_CGROUPS];
        size_t ncgroup_procs;
        uint32_t cgroup_holds;
        const char *cgroup_missing;

        /* `python -m extradite learn`: Landlock off and seccomp's refusals
         * sent to a listener (report.notify_fd) instead; the traps stay. */
        bool learn;

        /* Start the parent watchdog (watchdog.h) once Landlock and the
         * capabilities apply, before the seccomp filter. */
        bool watchdog;
};

struct ex_sandbox_report {
        bool no_new_privs;
        /* seccomp */
        bool seccomp;
        uint32_t seccomp_groups;
        size_t seccomp_instructions; /* BPF instructions of the main filter */
        bool files_after_load;
        /* Landlock */
        int landlock_abi;            /* 0: not available or not used */
        bool landlock;
        unsigned landlock_rules;     /* paths granted */
        unsigned landlock_missing;   /* granted paths that do not exist */
        bool landlock_net;           /* TCP bind/connect refused too */
        bool landlock_scoped;        /* signals/abstract sockets scoped */
        /* namespaces actually entered (enum ex_ns bits) and why not the rest */
        uint32_t namespaces;
        int namespaces_errno;        /* 0, or why the wanted ones failed */
        /* capabilities */
        bool capabilities_dropped;
        bool bounding_set_cleared;
        struct ex_limits_policy limits; /* what was set */
        /* which mechanism holds the limits: cgroup bits joined, whether
         * RLIMIT_NPROC binds (not for uid 0, which the kernel exempts;
         * not set without a user namespace, where it would count all of
         * the user's processes), and what is not held, and why */
        uint32_t cgroup_holds;
        bool nproc_binds;
        char limits_missing[EX_CGROUP_MISSING_LEN];
        /* learn mode: the seccomp listener fd (for the parent), else -1 */
        bool learn;
        int notify_fd;
};

/* Apply the whole policy. 0, or -errno with `err` naming the failed step
 * (at most errlen bytes, always terminated). A failure leaves the process
 * half-confined: the caller must exit, never import anything. */
int ex_sandbox_apply(const struct ex_policy *p,
                     struct ex_sandbox_report *rep, char *err, size_t errlen);

/* The name of one group bit, or NULL. */
const char *ex_group_name(uint32_t bit);
/* The bit of a group name, or 0. */
uint32_t ex_group_by_name(const char *name);

#endif
