/* Unit tests for sandbox/seccomp_filter.c and sandbox/violation.c.
 *
 * A filter is permanent for a process, so every case forks: the child
 * builds and loads a filter, makes one system call with explicit arguments
 * and reports the result through its exit status. A trap is told apart
 * from a kill by the SIGSYS reporter, which writes its frame to fd 3: in
 * the child that is one end of a socketpair whose other end the parent
 * reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "frame.h"
#include "sandbox.h"
#include "seccomp_args.h"
#include "seccomp_filter.h"
#include "violation.h"
#include "valgrind_skip.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CORE EX_GROUP_CORE
#define THREADS (EX_GROUP_CORE | EX_GROUP_THREADS)
#define FREAD (THREADS | EX_GROUP_FILES_READ)
#define FWRITE (THREADS | EX_GROUP_FILES_WRITE)
#define FBOTH (FREAD | EX_GROUP_FILES_WRITE)
#define NET (FREAD | EX_GROUP_NETWORK)
#define ALL EX_GROUP_ALL

/* What the filter does to one call. */
enum outcome {
        ALLOWED, /* reached the kernel and succeeded */
        FAILS,   /* reached the kernel, which refused with `err` */
        DENIED,  /* the filter returned `err` */
        TRAPS,   /* reported over fd 3, then exit EX_VIOLATION_EXIT_CODE */
        KILLED,  /* killed by SIGSYS, nothing reported */
};

/* Arguments only the child knows; anything else is passed as is. */
#define PH 0x7e57000000000000ull
#define PH_MASK 0xffff000000000000ull
#define A_SELF (PH | 1)   /* getpid() */
#define A_PARENT (PH | 2) /* getppid() */
#define A_PATH (PH | 3)   /* "/dev/null" */
#define A_EMPTY (PH | 4)  /* "" */
#define A_BUF (PH | 5)    /* 4 KiB of zeros */
#define A_RFD (PH | 6)    /* read end of a pipe holding one byte */
#define A_WFD (PH | 7)    /* its write end */
#define A_NOFILE (PH | 8) /* a path that does not exist */

#define FDCWD ((uint64_t)(int64_t)AT_FDCWD)
#define HI32 (1ull << 32)
#define NR_INT80 (-2L) /* getpid through the i386 entry (int $0x80) */
#define X32_BIT 0x40000000L

#define THREAD_FLAGS                                                           \
        (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |    \
         CLONE_SYSVSEM)

struct sc_case {
        const char *what;
        uint32_t groups;
        const char *name; /* NULL: use nr */
        long nr;
        uint64_t a[6];
        enum outcome expect;
        int err;
        const char *extra; /* one more allowed syscall, or NULL */
        bool x86_64_only;
};

#define ROW(what_, groups_, name_, expect_, err_, ...)                         \
        {.what = what_, .groups = groups_, .name = name_, .expect = expect_,   \
         .err = err_, .a = {__VA_ARGS__}}
/* row(what, groups, syscall name, [errno,] arguments...) */
#define OK(what, g, name, ...) ROW(what, g, name, ALLOWED, 0, __VA_ARGS__)
#define KERR(what, g, name, e, ...) ROW(what, g, name, FAILS, e, __VA_ARGS__)
#define NO(what, g, name, e, ...) ROW(what, g, name, DENIED, e, __VA_ARGS__)
#define TRAP(what, g, name, ...) ROW(what, g, name, TRAPS, 0, __VA_ARGS__)

static const struct sc_case cases[] = {
        /* core: I/O on held fds, identity */
        OK("read_pipe", CORE, "read", A_RFD, A_BUF, 1),
        OK("write_pipe", CORE, "write", A_WFD, A_BUF, 1),
        OK("getpid", CORE, "getpid", 0),
        OK("fstat_fd", CORE, "fstat", A_RFD, A_BUF),
        OK("newfstatat_empty_path_core", CORE, "newfstatat", A_RFD, A_EMPTY,
           A_BUF, AT_EMPTY_PATH),
        NO("newfstatat_path_core", CORE, "newfstatat", EPERM, FDCWD, A_PATH,
           A_BUF, 0),
        OK("newfstatat_path_files_read", FREAD, "newfstatat", FDCWD, A_PATH,
           A_BUF, 0),
        OK("socketpair_unix_core", CORE, "socketpair", AF_UNIX, SOCK_STREAM,
           0, A_BUF),
        NO("socketpair_inet_network", NET, "socketpair", EPERM, AF_INET,
           SOCK_STREAM, 0, A_BUF),
        OK("fcntl_getfl", CORE, "fcntl", A_RFD, F_GETFL),
        NO("fcntl_setown", CORE, "fcntl", EPERM, A_RFD, F_SETOWN, A_PARENT),
        NO("fcntl_setsig", CORE, "fcntl", EPERM, A_RFD, F_SETSIG, SIGKILL),
        /* SECCOMP_GET_ACTION_AVAIL: stacking a filter needs seccomp() */
        OK("seccomp_action_query_core", CORE, "seccomp", 2, 0, A_BUF),
        NO("getpgid_core", CORE, "getpgid", EPERM, 0),

        /* files */
        OK("open_rdonly_files_read", FREAD, "open", A_PATH, O_RDONLY),
        NO("openat_rdonly_core", THREADS, "openat", EPERM, FDCWD, A_PATH,
           O_RDONLY),
        OK("openat_rdonly_files_read", FREAD, "openat", FDCWD, A_PATH,
           O_RDONLY),
        KERR("openat_directory_files_read", FREAD, "openat", ENOTDIR, FDCWD,
             A_PATH, O_RDONLY | O_DIRECTORY),
        NO("openat_wronly_files_read", FREAD, "openat", EPERM, FDCWD, A_PATH,
           O_WRONLY),
        NO("openat_rdwr_files_read", FREAD, "openat", EPERM, FDCWD, A_PATH,
           O_RDWR),
        NO("openat_creat_files_read", FREAD, "openat", EPERM, FDCWD, A_PATH,
           O_RDONLY | O_CREAT, 0600),
        NO("openat_trunc_files_read", FREAD, "openat", EPERM, FDCWD, A_PATH,
           O_RDONLY | O_TRUNC),
        NO("openat_append_files_read", FREAD, "openat", EPERM, FDCWD, A_PATH,
           O_RDONLY | O_APPEND),
        NO("openat_tmpfile_files_read", FREAD, "openat", EPERM, FDCWD, A_PATH,
           O_TMPFILE | O_RDONLY),
        NO("openat_wronly_high_bits_files_read", FREAD, "openat", EPERM,
           FDCWD, A_PATH, O_WRONLY | HI32),
        NO("open_wronly_files_read", FREAD, "open", EPERM, A_PATH, O_WRONLY),
        OK("openat_wronly_files_write", FWRITE, "openat", FDCWD, A_PATH,
           O_WRONLY),
        OK("openat_wronly_files_read_and_write", FBOTH, "openat", FDCWD,
           A_PATH, O_WRONLY),
        OK("openat_rdonly_files_write", FWRITE, "openat", FDCWD, A_PATH,
           O_RDONLY),
        NO("openat2_files_read", FREAD, "openat2", ENOSYS, FDCWD, A_PATH,
           A_BUF, 24),
        NO("openat2_files_write", FWRITE, "openat2", ENOSYS, FDCWD, A_PATH,
           A_BUF, 24),
        NO("creat_files_read", FREAD, "creat", EPERM, A_NOFILE, 0600),
        NO("unlinkat_files_read", FREAD, "unlinkat", EPERM, FDCWD, A_NOFILE,
           0),
        KERR("unlinkat_files_write", FWRITE, "unlinkat", ENOENT, FDCWD,
             A_NOFILE, 0),
        NO("getdents64_core", THREADS, "getdents64", EPERM, A_RFD, A_BUF,
           4096),
        KERR("getdents64_files_read", FREAD, "getdents64", ENOTDIR, A_RFD,
             A_BUF, 4096),

        /* unix sockets (issue 14, finding 3): connected pairs only, and
         * no destination address outside network */
        OK("socketpair_seqpacket_core", CORE, "socketpair", AF_UNIX,
           SOCK_SEQPACKET, 0, A_BUF),
        OK("socketpair_stream_flags_core", CORE, "socketpair", AF_UNIX,
           SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, A_BUF),
        NO("socketpair_dgram_core", CORE, "socketpair", EPERM, AF_UNIX,
           SOCK_DGRAM, 0, A_BUF),
        NO("socketpair_dgram_cloexec_core", CORE, "socketpair", EPERM,
           AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, A_BUF),
        NO("socketpair_dgram_network", NET, "socketpair", EPERM, AF_UNIX,
           SOCK_DGRAM, 0, A_BUF),
        NO("socketpair_stream_other_bits_core", CORE, "socketpair", EPERM,
           AF_UNIX, SOCK_STREAM | 0x100, 0, A_BUF),
        KERR("sendto_no_address_core", FREAD, "sendto", ENOTSOCK, A_WFD,
             A_BUF, 1, 0, 0, 0),
        NO("sendto_address_core", FREAD, "sendto", EPERM, A_WFD, A_BUF, 1,
           0, A_BUF, 16),
        KERR("sendto_address_network", NET, "sendto", ENOTSOCK, A_WFD, A_BUF,
             1, 0, A_BUF, 16),

        /* setuid/setgid bits (issue 14, finding 7); /dev/null exists, so
         * O_EXCL makes the allowed calls fail in the kernel */
        KERR("openat_creat_0644_files_write", FWRITE, "openat", EEXIST, FDCWD,
             A_PATH, O_WRONLY | O_CREAT | O_EXCL, 0644),
        NO("openat_creat_setuid_files_write", FBOTH, "openat", EPERM, FDCWD,
           A_PATH, O_WRONLY | O_CREAT | O_EXCL, 04755),
        NO("openat_creat_setgid_files_write", FBOTH, "openat", EPERM, FDCWD,
           A_PATH, O_WRONLY | O_CREAT | O_EXCL, 02755),
        NO("creat_setuid_files_write", FWRITE, "creat", EPERM, A_NOFILE,
           04755),
        NO("fchmod_setuid_files_write", FWRITE, "fchmod", EPERM, A_RFD,
           04755),
        NO("fchmod_setgid_high_bits_files_write", FWRITE, "fchmod", EPERM,
           A_RFD, HI32 | 02000),

        /* metadata by path (Landlock governs none of it): refused under
         * every group; the fd forms fchmod and futimens stay */
        NO("chmod_all", ALL, "chmod", EPERM, A_NOFILE, 0644),
        NO("fchmodat_all", ALL, "fchmodat", EPERM, FDCWD, A_NOFILE, 0644),
        NO("fchmodat_empty_path_all", ALL, "fchmodat", EPERM, A_RFD, A_EMPTY,
           0600),
        NO("fchmodat2_empty_path_all", ALL, "fchmodat2", EPERM, A_RFD,
           A_EMPTY, 0600, AT_EMPTY_PATH),
        NO("chown_all", ALL, "chown", EPERM, A_NOFILE, (uint64_t)-1,
           (uint64_t)-1),
        NO("lchown_all", ALL, "lchown", EPERM, A_NOFILE, (uint64_t)-1,
           (uint64_t)-1),
        NO("fchownat_all", ALL, "fchownat", EPERM, FDCWD, A_NOFILE,
           (uint64_t)-1, (uint64_t)-1, 0),
        NO("fchownat_empty_path_all", ALL, "fchownat", EPERM, A_RFD, A_EMPTY,
           (uint64_t)-1, (uint64_t)-1, AT_EMPTY_PATH),
        NO("utime_all", ALL, "utime", EPERM, A_NOFILE, 0),
        NO("utimes_all", ALL, "utimes", EPERM, A_NOFILE, 0),
        NO("futimesat_all", ALL, "futimesat", EPERM, FDCWD, A_NOFILE, 0),
        NO("utimensat_path_all", ALL, "utimensat", EPERM, FDCWD, A_NOFILE, 0,
           0),
        NO("utimensat_empty_path_all", ALL, "utimensat", EPERM, A_RFD,
           A_EMPTY, 0, AT_EMPTY_PATH),
        NO("setxattr_all", ALL, "setxattr", EPERM, A_NOFILE, A_BUF, A_BUF, 1,
           0),
        NO("lsetxattr_all", ALL, "lsetxattr", EPERM, A_NOFILE, A_BUF, A_BUF,
           1, 0),
        NO("removexattr_all", ALL, "removexattr", EPERM, A_NOFILE, A_BUF),
        NO("lremovexattr_all", ALL, "lremovexattr", EPERM, A_NOFILE, A_BUF),
        NO("setxattrat_all", ALL, "setxattrat", EPERM, FDCWD, A_NOFILE, 0,
           A_BUF, A_BUF, 32),
        NO("removexattrat_all", ALL, "removexattrat", EPERM, FDCWD, A_NOFILE,
           0, A_BUF),
        /* fd forms: fchmod and futimens need files_write; fchown and the
         * f*xattr calls are in no group (an fd opened read-only under a
         * read grant would do: none of them checks the fd's mode) */
        OK("fchmod_fd_files_write", FWRITE, "fchmod", A_RFD, 0600),
        NO("fchmod_fd_files_read", FREAD, "fchmod", EPERM, A_RFD, 0600),
        OK("futimens_fd_files_write", FWRITE, "utimensat", A_RFD, 0, 0, 0),
        NO("futimens_fd_files_read", FREAD, "utimensat", EPERM, A_RFD, 0, 0,
           0),
        NO("fchown_all", ALL, "fchown", EPERM, A_RFD, (uint64_t)-1,
           (uint64_t)-1),
        NO("fsetxattr_all", ALL, "fsetxattr", EPERM, A_RFD, A_BUF, A_BUF, 1,
           0),
        NO("fremovexattr_all", ALL, "fremovexattr", EPERM, A_RFD, A_BUF),

        /* network */
        NO("socket_inet_files_read", FREAD, "socket", EPERM, AF_INET,
           SOCK_STREAM, 0),
        OK("socket_inet_network", NET, "socket", AF_INET, SOCK_STREAM, 0),
        OK("socket_inet6_network", NET, "socket", AF_INET6, SOCK_DGRAM, 0),
        NO("socket_unix_network", NET, "socket", EPERM, AF_UNIX, SOCK_STREAM,
           0),
        NO("socket_netlink_network", NET, "socket", EPERM, AF_NETLINK,
           SOCK_RAW, 0),
        NO("socket_unix_high_bits_network", NET, "socket", EPERM,
           AF_UNIX | HI32, SOCK_STREAM, 0),
        NO("connect_core", FREAD, "connect", EPERM, A_RFD, A_BUF, 16),
        KERR("connect_network", NET, "connect", ENOTSOCK, A_RFD, A_BUF, 16),

        /* processes */
        NO("clone_fork_flags", ALL, "clone", EPERM, SIGCHLD, 0, 0, 0, 0),
        NO("clone_vfork_flags", ALL, "clone", EPERM,
           CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0),
        NO("clone_thread_flags_new_user", ALL, "clone", EPERM,
           THREAD_FLAGS | CLONE_NEWUSER, 0, 0, 0, 0),
        NO("clone3_core", CORE, "clone3", ENOSYS, 0, 0),
        NO("clone3_all", ALL, "clone3", ENOSYS, 0, 0),
        NO("fork", ALL, "fork", EPERM, 0),
        NO("vfork", ALL, "vfork", EPERM, 0),
        NO("execve", ALL, "execve", EPERM, A_PATH, 0, 0),
        NO("execveat", ALL, "execveat", EPERM, FDCWD, A_PATH, 0, 0, 0),
        OK("kill_self", CORE, "kill", A_SELF, 0),
        NO("kill_parent", ALL, "kill", EPERM, A_PARENT, 0),
        NO("kill_process_group", ALL, "kill", EPERM, 0, 0),
        NO("kill_everyone", ALL, "kill", EPERM, (uint64_t)-1, 0),
        OK("tgkill_self", CORE, "tgkill", A_SELF, A_SELF, 0),
        NO("tgkill_parent", ALL, "tgkill", EPERM, A_PARENT, A_PARENT, 0),
        NO("tkill_parent", ALL, "tkill", EPERM, A_PARENT, 0),

        /* ioctl: requests compared on their low 32 bits */
        KERR("ioctl_tcgets", CORE, "ioctl", ENOTTY, A_RFD, TCGETS, A_BUF),
        KERR("ioctl_tcgets_high_bits", CORE, "ioctl", ENOTTY, A_RFD,
             TCGETS | HI32, A_BUF),
        NO("ioctl_tiocsti", ALL, "ioctl", EPERM, A_RFD, TIOCSTI, A_BUF),
        NO("ioctl_tiocsti_high_bits", ALL, "ioctl", EPERM, A_RFD,
           TIOCSTI | HI32, A_BUF),
        OK("ioctl_fionread", CORE, "ioctl", A_RFD, FIONREAD, A_BUF),
        OK("ioctl_fioclex", CORE, "ioctl", A_RFD, FIOCLEX),

        /* signals: never SIGSYS, whatever the upper bits */
        NO("rt_sigaction_sigsys", ALL, "rt_sigaction", EPERM, SIGSYS, A_BUF,
           0, 8),
        NO("rt_sigaction_sigsys_query", ALL, "rt_sigaction", EPERM, SIGSYS,
           0, A_BUF, 8),
        NO("rt_sigaction_sigsys_high_bits", ALL, "rt_sigaction", EPERM,
           SIGSYS | HI32, A_BUF, 0, 8),
        OK("rt_sigaction_sigusr1", CORE, "rt_sigaction", SIGUSR1, A_BUF, 0,
           8),
        OK("rt_sigaction_sigpwr", CORE, "rt_sigaction", SIGPWR, 0, A_BUF, 8),
        OK("rt_sigaction_32", CORE, "rt_sigaction", 32, 0, A_BUF, 8),
        OK("rt_sigaction_64", CORE, "rt_sigaction", 64, 0, A_BUF, 8),
        NO("rt_sigaction_65", CORE, "rt_sigaction", EPERM, 65, 0, A_BUF, 8),

        /* limits and prctl */
        OK("prlimit64_query", CORE, "prlimit64", 0, RLIMIT_NOFILE, 0, A_BUF),
        NO("prlimit64_set", ALL, "prlimit64", EPERM, 0, RLIMIT_NOFILE, A_BUF,
           0),
        NO("prlimit64_query_parent", ALL, "prlimit64", EPERM, A_PARENT,
           RLIMIT_NOFILE, 0, A_BUF),
        NO("setrlimit", ALL, "setrlimit", EPERM, RLIMIT_NOFILE, A_BUF),
        OK("prctl_set_name", CORE, "prctl", PR_SET_NAME, A_EMPTY),
        OK("prctl_get_dumpable", CORE, "prctl", PR_GET_DUMPABLE),
        NO("prctl_set_dumpable", ALL, "prctl", EPERM, PR_SET_DUMPABLE, 1),
        NO("prctl_set_pdeathsig", ALL, "prctl", EPERM, PR_SET_PDEATHSIG,
           SIGKILL),
        NO("setuid", ALL, "setuid", EPERM, 0),

        /* always trapped, whatever the groups */
        TRAP("ptrace", ALL, "ptrace", 0xffff, 0, 0, 0),
        TRAP("ptrace_core", CORE, "ptrace", 0xffff, 0, 0, 0),
        TRAP("bpf", ALL, "bpf", 0xffff, 0, 0),
        TRAP("io_uring_setup", ALL, "io_uring_setup", 0, 0),
        TRAP("io_uring_enter", ALL, "io_uring_enter", (uint64_t)-1, 0, 0, 0,
             0, 0),
        TRAP("userfaultfd", ALL, "userfaultfd", 0),
        TRAP("perf_event_open", ALL, "perf_event_open", 0, 0, (uint64_t)-1,
             (uint64_t)-1, 0),
        TRAP("unshare", ALL, "unshare", 0),
        TRAP("setns", ALL, "setns", (uint64_t)-1, 0),
        TRAP("mount", ALL, "mount", 0, 0, 0, 0, 0),
        TRAP("keyctl", ALL, "keyctl", 0xffff, 0, 0, 0, 0),
        TRAP("personality", ALL, "personality", 0xffffffff),
        TRAP("process_vm_readv", ALL, "process_vm_readv", A_PARENT, 0, 0, 0,
             0, 0),
        TRAP("process_vm_writev", ALL, "process_vm_writev", A_PARENT, 0, 0,
             0, 0, 0),
        TRAP("pidfd_open", ALL, "pidfd_open", A_PARENT, 0),
        TRAP("pidfd_getfd", ALL, "pidfd_getfd", (uint64_t)-1, (uint64_t)-1,
             0),
        TRAP("kexec_load", ALL, "kexec_load", 0, 0, 0, 0),
        TRAP("init_module", ALL, "init_module", 0, 0, A_EMPTY),
        TRAP("chroot", ALL, "chroot", A_NOFILE),
        TRAP("open_by_handle_at", ALL, "open_by_handle_at", (uint64_t)-1, 0,
             0),

        /* other ABIs */
        {.what = "x32_getpid", .groups = ALL, .nr = X32_BIT | 39,
         .expect = KILLED, .x86_64_only = true},
        {.what = "x32_read", .groups = ALL, .nr = X32_BIT | 0,
         .a = {A_RFD, A_BUF, 1}, .expect = KILLED, .x86_64_only = true},
        {.what = "i386_int80_getpid", .groups = ALL, .nr = NR_INT80,
         .expect = KILLED, .x86_64_only = true},

        /* a profile's extra syscalls */
        {.what = "getpgid_extra", .groups = CORE, .name = "getpgid",
         .expect = ALLOWED, .extra = "getpgid"},
        {.what = "openat_wronly_extra_on_files_read", .groups = FREAD,
         .name = "openat", .a = {FDCWD, A_PATH, O_WRONLY},
         .expect = ALLOWED, .extra = "openat"},
        /* an extra that sets modes still never sets setuid/setgid */
        {.what = "chmod_extra", .groups = CORE, .name = "chmod",
         .a = {A_NOFILE, 0644}, .expect = FAILS, .err = ENOENT,
         .extra = "chmod"},
        {.what = "chmod_setuid_extra", .groups = CORE, .name = "chmod",
         .a = {A_NOFILE, 04755}, .expect = DENIED, .err = EPERM,
         .extra = "chmod"},
        {.what = "mknodat_setgid_extra", .groups = CORE, .name = "mknodat",
         .a = {FDCWD, A_NOFILE, S_IFREG | 02644, 0}, .expect = DENIED,
         .err = EPERM, .extra = "mknodat"},
};

/* ---- the child side ----------------------------------------------------- */

/* Child exit codes for a failed set-up (errno values stay below 134). */
enum {
        CHILD_SETUP = 200,
        CHILD_BUILD = 201,
        CHILD_LOAD = 202,
        CHILD_REPORTER = 203,
};

/* No core files from the deaths we cause; no child hangs forever. */
static void quiet_child(void)
{
        struct rlimit none = {0, 0};

        setrlimit(RLIMIT_CORE, &none);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        alarm(20);
}

/* The socketpair end becomes the channel fd, as in a real child. */
static void become_channel(int fd)
{
        if (fd == EX_CHILD_CHANNEL_FD) {
                fcntl(fd, F_SETFD, 0);
                return;
        }
        if (dup2(fd, EX_CHILD_CHANNEL_FD) < 0)
                _exit(CHILD_SETUP);
        close(fd);
}

/* As the real child is confined: the profile's template (which the parent
 * compiles once) filled in for this pid and loaded with
 * ex_seccomp_load_bpf, so every row below checks that program. */
static int confine(uint32_t groups, const char *extra)
{
        struct ex_seccomp_template t;
        int extra_nr = extra ? ex_syscall_number(extra) : -1;
        void *prog;
        int r;

        if (ex_violation_install() < 0)
                return CHILD_REPORTER;
        r = ex_seccomp_template_build(groups, &extra_nr, extra ? 1 : 0, &t);
        if (r < 0)
                return CHILD_BUILD;
        prog = malloc(t.len);
        r = prog ? ex_seccomp_template_fill(t.prog, t.len, t.slot, t.nslots,
                                            getpid(), prog)
                 : -ENOMEM;
        free(t.prog);
        if (r < 0)
                return CHILD_BUILD;
        r = ex_seccomp_load_bpf(prog, t.len);
        free(prog);
        return r < 0 ? CHILD_LOAD : 0;
}

#ifdef __x86_64__
static long int80_getpid(void)
{
        long r;

        /* i386 getpid is 20; the compat entry zeroes r8-r11 */
        __asm__ volatile("int $0x80"
                         : "=a"(r)
                         : "a"(20L)
                         : "memory", "cc", "r8", "r9", "r10", "r11");
        return r;
}
#endif

static int row_child(const struct sc_case *c, long nr, bool filtered)
{
        uint64_t buf[512] = {0};
        uint64_t a[6];
        int p[2];
        long r;
        int e;

        if (pipe(p) < 0 || write(p[1], "x", 1) != 1)
                return CHILD_SETUP;
        for (int i = 0; i < 6; i++) {
                uint64_t v = c->a[i];

                if ((v & PH_MASK) == PH) {
                        switch (v) {
                        case A_SELF: v = (uint64_t)getpid(); break;
                        case A_PARENT: v = (uint64_t)getppid(); break;
                        case A_PATH: v = (uintptr_t) "/dev/null"; break;
                        case A_EMPTY: v = (uintptr_t) ""; break;
                        case A_BUF: v = (uintptr_t)buf; break;
                        case A_RFD: v = (uint64_t)p[0]; break;
                        case A_WFD: v = (uint64_t)p[1]; break;
                        case A_NOFILE:
                                v = (uintptr_t) "/nonexistent-extradite/x";
                                break;
                        default: return CHILD_SETUP;
                        }
                }
                a[i] = v;
        }
        e = filtered ? confine(c->groups, c->extra) : 0;
        if (e)
                return e;
#ifdef __x86_64__
        if (nr == NR_INT80) {
                r = int80_getpid();
                return r >= 0 ? 0 : (int)-r;
        }
#endif
        errno = 0;
        r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        return r >= 0 ? 0 : errno;
}

/* ---- the parent side ---------------------------------------------------- */

struct result {
        int status;
        uint8_t got[256];
        size_t ngot;
};

/* Fork; run fn(arg) in the child with fd 3 = a socketpair end; collect
 * the exit status and whatever the child wrote to fd 3. */
static void run_child(int (*fn)(const void *), const void *arg,
                      struct result *res)
{
        int sv[2];
        pid_t pid;
        ssize_t n;

        skip_under_valgrind("the child loads a seccomp filter");
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    sv),
                         0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                quiet_child();
                become_channel(sv[1]);
                _exit(fn(arg));
        }
        close(sv[1]);
        assert_int_equal(waitpid(pid, &res->status, 0), pid);
        /* The child is gone: what it wrote is queued, then EOF. */
        res->ngot = 0;
        while ((n = recv(sv[0], res->got + res->ngot,
                         sizeof(res->got) - res->ngot, MSG_DONTWAIT)) > 0)
                res->ngot += (size_t)n;
        close(sv[0]);
}

static void describe(const struct result *res, int nr, char *out, size_t len)
{
        uint8_t frame[64];
        size_t nframe = ex_violation_frame(nr, frame, sizeof(frame));
        int s = res->status;

        if (WIFEXITED(s) && WEXITSTATUS(s) == EX_VIOLATION_EXIT_CODE &&
            res->ngot == nframe && memcmp(res->got, frame, nframe) == 0)
                snprintf(out, len, "trapped: frame for syscall %d", nr);
        else if (WIFEXITED(s) && WEXITSTATUS(s) == 0)
                snprintf(out, len, "allowed, %zu bytes on fd 3", res->ngot);
        else if (WIFEXITED(s))
                snprintf(out, len, "exit %d (%s), %zu bytes on fd 3",
                         WEXITSTATUS(s), strerror(WEXITSTATUS(s)), res->ngot);
        else if (WIFSIGNALED(s))
                snprintf(out, len, "killed by signal %d, %zu bytes on fd 3",
                         WTERMSIG(s), res->ngot);
        else
                snprintf(out, len, "status %#x", s);
}

static void expectation(enum outcome o, int err, int nr, char *out,
                        size_t len)
{
        switch (o) {
        case ALLOWED:
                snprintf(out, len, "allowed, 0 bytes on fd 3");
                break;
        case FAILS:
        case DENIED:
                snprintf(out, len, "exit %d (%s), 0 bytes on fd 3", err,
                         strerror(err));
                break;
        case TRAPS:
                snprintf(out, len, "trapped: frame for syscall %d", nr);
                break;
        case KILLED:
                snprintf(out, len, "killed by signal %d, 0 bytes on fd 3",
                         SIGSYS);
                break;
        }
}

struct row_arg {
        const struct sc_case *c;
        long nr;
        bool filtered;
};

static int row_trampoline(const void *p)
{
        const struct row_arg *ra = p;

        return row_child(ra->c, ra->nr, ra->filtered);
}

static void run_case(void **state)
{
        const struct sc_case *c = *state;
        struct row_arg ra = {.c = c, .nr = c->nr, .filtered = false};
        struct result res;
        char want[128], got[128];

#ifndef __x86_64__
        if (c->x86_64_only) {
                print_message("skipped: x32 numbers and int $0x80 exist only "
                              "on x86_64\n");
                skip();
        }
#endif
        if (c->name) {
                ra.nr = ex_syscall_number(c->name);
                if (ra.nr < 0) {
                        print_message("skipped: no syscall %s on this "
                                      "architecture\n",
                                      c->name);
                        skip();
                }
        }
        if (c->expect == ALLOWED || ra.nr == NR_INT80) {
                /* Without a filter first, so that "allowed" means "as if
                 * unfiltered" here too (no IPv6, no IA32 emulation...). */
                run_child(row_trampoline, &ra, &res);
                if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0) {
                        describe(&res, (int)ra.nr, got, sizeof(got));
                        print_message("skipped: fails without a filter "
                                      "too: %s\n",
                                      got);
                        skip();
                }
        }
        ra.filtered = true;
        run_child(row_trampoline, &ra, &res);
        expectation(c->expect, c->err, (int)ra.nr, want, sizeof(want));
        describe(&res, (int)ra.nr, got, sizeof(got));
        if (strcmp(want, got) != 0)
                print_message("%s: %s(%#llx, %#llx, %#llx, ...) under groups "
                              "%#x\n",
                              c->what, c->name ? c->name : "(raw)",
                              (unsigned long long)c->a[0],
                              (unsigned long long)c->a[1],
                              (unsigned long long)c->a[2], c->groups);
        assert_string_equal(got, want);
}

/* ---- threads ------------------------------------------------------------ */

struct counter {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done;
};

static void *count_one(void *p)
{
        struct counter *c = p;

        pthread_mutex_lock(&c->lock);
        c->done++;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return p;
}

/* Exit codes: 0 all good, 10+ which step failed. */
static int threads_child(const void *p)
{
        const uint32_t *groups = p;
        struct counter c = {.done = 0};
        pthread_t t[4];
        int e = confine(*groups, NULL);

        if (e)
                return e;
        if (pthread_mutex_init(&c.lock, NULL) ||
            pthread_cond_init(&c.cond, NULL))
                return 10;
        for (int i = 0; i < 4; i++)
                if (pthread_create(&t[i], NULL, count_one, &c) != 0)
                        return 11;
        pthread_mutex_lock(&c.lock);
        while (c.done < 4) {
                struct timespec until;

                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 5;
                if (pthread_cond_timedwait(&c.cond, &c.lock, &until) != 0) {
                        pthread_mutex_unlock(&c.lock);
                        return 12;
                }
        }
        pthread_mutex_unlock(&c.lock);
        for (int i = 0; i < 4; i++) {
                void *ret = NULL;

                if (pthread_join(t[i], &ret) != 0 || ret != &c)
                        return 13;
        }
        return 0;
}

static void test_pthreads_work_under_thread_groups(void **state)
{
        static const uint32_t sets[] = {
                THREADS,
                FREAD,
                NET,
        };

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
                struct result res;

                run_child(threads_child, &sets[i], &res);
                assert_true(WIFEXITED(res.status));
                assert_int_equal(WEXITSTATUS(res.status), 0);
                assert_int_equal(res.ngot, 0);
        }
}

static int thread_create_only(const void *p)
{
        pthread_t t;
        int e = confine(*(const uint32_t *)p, NULL);

        if (e)
                return e;
        e = pthread_create(&t, NULL, count_one, NULL);
        if (e == 0)
                pthread_join(t, NULL);
        return e == 0 ? 0 : 1;
}

static void test_threads_need_the_threads_group(void **state)
{
        const uint32_t core = CORE;
        struct result res;

        (void)state;
        run_child(thread_create_only, &core, &res);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 1);
}

static void *ptrace_from_thread(void *p)
{
        syscall(SYS_ptrace, 0xffff, 0, 0, 0);
        return p; /* not reached: the reporter exits */
}

static int trap_in_thread_child(const void *p)
{
        pthread_t t;
        int e;

        (void)p;
        e = confine(THREADS, NULL);
        if (e)
                return e;
        if (pthread_create(&t, NULL, ptrace_from_thread, NULL) != 0)
                return 11;
        pthread_join(t, NULL);
        return 12;
}

static void test_trap_in_a_thread_is_reported(void **state)
{
        struct result res;
        char want[128], got[128];
        int nr = ex_syscall_number("ptrace");

        (void)state;
        run_child(trap_in_thread_child, NULL, &res);
        expectation(TRAPS, 0, nr, want, sizeof(want));
        describe(&res, nr, got, sizeof(got));
        assert_string_equal(got, want);
}

/* ---- the C runtime under core ------------------------------------------- */

static void on_usr1(int sig)
{
        (void)sig;
}

static int runtime_child(const void *p)
{
        struct sigaction sa = {.sa_handler = on_usr1};
        struct timespec ts = {0, 1000000};
        char cwd[256], line[64];
        unsigned char rnd[16];
        struct stat st;
        int pipefd[2];
        void *big;
        int e;

        (void)p;
        if (pipe(pipefd) < 0)
                return CHILD_SETUP;
        e = confine(CORE, NULL);
        if (e)
                return e;
        big = malloc(64u << 20); /* mmap, not brk */
        if (!big)
                return 10;
        memset(big, 1, 64u << 20);
        free(big);
        if (fstat(pipefd[0], &st) < 0 || !S_ISFIFO(st.st_mode))
                return 11;
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return 12;
        if (nanosleep(&ts, NULL) < 0)
                return 13;
        if (isatty(pipefd[0]) || errno != ENOTTY)
                return 14;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGUSR1, &sa, NULL) < 0 || raise(SIGUSR1) != 0)
                return 15;
        if (!getcwd(cwd, sizeof(cwd)))
                return 16;
        snprintf(line, sizeof(line), "pid %d\n", (int)getpid());
        if (write(pipefd[1], line, strlen(line)) != (ssize_t)strlen(line))
                return 17;
        /* and the filter did not let a path open through */
        if (open("/dev/null", O_RDONLY) >= 0 || errno != EPERM)
                return 18;
        return 0;
}

static void test_c_runtime_works_under_core(void **state)
{
        struct result res;

        (void)state;
        run_child(runtime_child, NULL, &res);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 0);
        assert_int_equal(res.ngot, 0);
}

/* ---- the no-open filter ------------------------------------------------- */

/* Exit codes: 0 all good, 10+ which step failed. */
static int no_open_child(const void *p)
{
        const bool *stacked = p;
        scmp_filter_ctx ctx = NULL;
        char c, buf[512];
        struct stat st;
        int fd, pfd[2], r;

        if (pipe(pfd) < 0 || write(pfd[1], "x", 1) != 1)
                return CHILD_SETUP;
        if (*stacked) {
                /* as the strict profile does: read files during the
                 * import, then no opens at all */
                r = confine(FREAD, NULL);
                if (r)
                        return r;
                fd = openat(AT_FDCWD, "/dev/null", O_RDONLY);
                if (fd < 0)
                        return 10;
                close(fd);
        } else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                return CHILD_SETUP;
        }
        if (ex_seccomp_build_no_open(&ctx) < 0)
                return CHILD_BUILD;
        r = ex_seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                return CHILD_LOAD;
        if (syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY) >= 0 ||
            errno != EACCES)
                return 11;
#ifdef SYS_open
        if (syscall(SYS_open, "/dev/null", O_RDONLY) >= 0 || errno != EACCES)
                return 12;
#endif
        if (syscall(SYS_openat2, AT_FDCWD, "/dev/null", NULL, 0) >= 0 ||
            errno != EACCES)
                return 13;
        if (read(pfd[0], &c, 1) != 1 || c != 'x')
                return 14;
        /* path metadata (issue 14, finding 9); on held fds it stays */
        if (syscall(SYS_newfstatat, AT_FDCWD, "/dev/null", &st, 0) >= 0 ||
            errno != EACCES)
                return 16;
        if (syscall(SYS_faccessat, AT_FDCWD, "/dev/null", F_OK) >= 0 ||
            errno != EACCES)
                return 17;
        if (syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf,
                    sizeof(buf)) >= 0 ||
            errno != EACCES)
                return 18;
        if (syscall(SYS_statx, AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS,
                    buf) >= 0 ||
            errno != EACCES)
                return 19;
#ifdef SYS_stat
        if (syscall(SYS_stat, "/dev/null", &st) >= 0 || errno != EACCES)
                return 20;
#endif
        if (fstat(pfd[0], &st) < 0 ||
            syscall(SYS_newfstatat, pfd[0], "", &st, AT_EMPTY_PATH) < 0)
                return 21;
        /* the main filter still decides everything else */
        if (*stacked && (syscall(SYS_socket, AF_INET, SOCK_STREAM, 0) >= 0 ||
                         errno != EPERM))
                return 15;
        return 0;
}

static void test_no_open_filter(void **state)
{
        static const bool modes[] = {false, true};

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
                struct result res;

                run_child(no_open_child, &modes[i], &res);
                if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0)
                        print_message("stacked=%d: status %#x\n", modes[i],
                                      res.status);
                assert_true(WIFEXITED(res.status));
                assert_int_equal(WEXITSTATUS(res.status), 0);
                assert_int_equal(res.ngot, 0);
        }
}

/* ---- building (no load, so no fork) ------------------------------------- */

static void test_build_refuses_bad_requests(void **state)
{
        static const char *const fixed[] = {
                "ptrace", "bpf", "io_uring_setup", "clone3", "openat2",
                "mount", "process_vm_readv",
        };
        scmp_filter_ctx ctx = NULL;
        pid_t self = getpid();
        int nr;

        (void)state;
        skip_under_valgrind("libseccomp asks the kernel's seccomp() which "
                            "filter features exist; valgrind does not "
                            "pass that call through");
        /* an extra never overrides a trap or a fixed ENOSYS */
        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
                nr = ex_syscall_number(fixed[i]);
                assert_true(nr >= 0);
                assert_int_equal(ex_seccomp_build(ALL, &nr, 1, self, &ctx),
                                 -EPERM);
                assert_null(ctx);
        }
        nr = -1;
        assert_int_equal(ex_seccomp_build(CORE, &nr, 1, self, &ctx), -EINVAL);
        nr = 99999;
        assert_int_equal(ex_seccomp_build(CORE, &nr, 1, self, &ctx), -EINVAL);
        assert_int_equal(ex_seccomp_build(0, NULL, 0, self, &ctx), -EINVAL);
        assert_int_equal(ex_seccomp_build(EX_GROUP_THREADS, NULL, 0, self,
                                          &ctx),
                         -EINVAL);
        assert_int_equal(ex_seccomp_build(CORE | (1u << 20), NULL, 0, self,
                                          &ctx),
                         -EINVAL);
        assert_int_equal(ex_seccomp_build(CORE, NULL, 1, self, &ctx), -EINVAL);
        assert_int_equal(ex_seccomp_build(CORE, NULL, 0, 0, &ctx), -EINVAL);
        assert_int_equal(ex_seccomp_build(CORE, NULL, 0, self, NULL), -EINVAL);
        assert_null(ctx);
        assert_int_equal(ex_seccomp_load(NULL), -EINVAL);
        assert_int_equal(ex_seccomp_instructions(NULL), -EINVAL);
        assert_int_equal(ex_seccomp_build_no_open(NULL), -EINVAL);

        nr = ex_syscall_number("getpgid");
        assert_int_equal(ex_seccomp_build(CORE, &nr, 1, self, &ctx), 0);
        assert_non_null(ctx);
        seccomp_release(ctx);
}

static void test_instruction_counts(void **state)
{
        static const uint32_t sets[] = {CORE, THREADS, FREAD, NET, ALL};
        scmp_filter_ctx ctx = NULL;
        int n;

        (void)state;
        skip_under_valgrind("libseccomp asks the kernel's seccomp() which "
                            "filter features exist; valgrind does not "
                            "pass that call through");
        for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
                assert_int_equal(ex_seccomp_build(sets[i], NULL, 0, getpid(),
                                                  &ctx),
                                 0);
                n = ex_seccomp_instructions(ctx);
                print_message("groups %#x: %d BPF instructions\n", sets[i],
                              n);
                assert_true(n > 0);
                assert_true(n <= 4096); /* BPF_MAXINSNS */
                seccomp_release(ctx);
        }
        assert_int_equal(ex_seccomp_build_no_open(&ctx), 0);
        n = ex_seccomp_instructions(ctx);
        assert_true(n > 0 && n < 64);
        seccomp_release(ctx);
}

/* The exported program is the one ex_seccomp_instructions counts, and
 * ex_seccomp_load_bpf refuses what cannot be a program before it changes
 * anything in this process. */
static void test_export_and_load_bpf_arguments(void **state)
{
        static const uint64_t insn = 0x7fff000000000006ull; /* ret ALLOW */
        scmp_filter_ctx ctx = NULL;
        void *prog = NULL;
        size_t len = 0;

        (void)state;
        skip_under_valgrind("libseccomp asks the kernel's seccomp() which "
                            "filter features exist; valgrind does not "
                            "pass that call through");
        assert_int_equal(ex_seccomp_build(CORE | FREAD, NULL, 0, getpid(),
                                          &ctx),
                         0);
        assert_int_equal(ex_seccomp_export(ctx, &prog, &len), 0);
        assert_non_null(prog);
        assert_int_equal(len, (size_t)ex_seccomp_instructions(ctx) * 8);
        assert_int_equal(ex_seccomp_export(NULL, &prog, &len), -EINVAL);
        assert_int_equal(ex_seccomp_export(ctx, NULL, &len), -EINVAL);
        seccomp_release(ctx);
        free(prog);

        assert_int_equal(ex_seccomp_load_bpf(NULL, 8), -EINVAL);
        assert_int_equal(ex_seccomp_load_bpf(&insn, 0), -EINVAL);
        assert_int_equal(ex_seccomp_load_bpf(&insn, 7), -EINVAL);
        assert_int_equal(ex_seccomp_load_bpf(&insn, 4097 * 8), -EINVAL);
        /* none of that set no_new_privs or loaded a filter */
        assert_int_equal(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
}

/* ---- names -------------------------------------------------------------- */

/* A template filled in for a pid is byte for byte what libseccomp makes
 * for that pid, for every group set, extras included. (A pid equal to
 * another constant of the filter, 1 = AF_UNIX say, lets libseccomp share
 * that compare block in a direct build: shorter, same decisions. The rows
 * above run the filled program for whatever pid their child has.) */
static void test_template_is_the_build_for_each_pid(void **state)
{
        static const uint32_t sets[] = {CORE, THREADS, FREAD, NET, ALL};
        static const pid_t pids[] = {300, 777, 4096, 32768, 65535, 65536,
                                     99999, 1000003, 4194303};
        int extra = ex_syscall_number("getpgid");

        (void)state;
        skip_under_valgrind("libseccomp asks the kernel's seccomp() which "
                            "filter features exist; valgrind does not "
                            "pass that call through");
        for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
                struct ex_seccomp_template t;

                assert_int_equal(ex_seccomp_template_build(sets[i], &extra, 1,
                                                           &t),
                                 0);
                /* kill, tgkill and tkill share one compare block */
                assert_true(t.nslots >= 1 && t.nslots <= 3);
                for (size_t j = 0; j < ARRAY_SIZE(pids); j++) {
                        scmp_filter_ctx ctx = NULL;
                        void *want = NULL, *got = malloc(t.len);
                        size_t len = 0;

                        assert_non_null(got);
                        assert_int_equal(ex_seccomp_build(sets[i], &extra, 1,
                                                          pids[j], &ctx),
                                         0);
                        assert_int_equal(ex_seccomp_export(ctx, &want, &len),
                                         0);
                        seccomp_release(ctx);
                        assert_int_equal(ex_seccomp_template_fill(
                                                 t.prog, t.len, t.slot,
                                                 t.nslots, pids[j], got),
                                         0);
                        assert_int_equal(len, t.len);
                        assert_memory_equal(got, want, len);
                        free(want);
                        free(got);
                }
                free(t.prog);
        }
}

static void test_template_fill_refuses_bad_requests(void **state)
{
        uint64_t prog[2] = {0}, out[2];
        size_t inside = 1, outside = 2;

        (void)state;
        assert_int_equal(ex_seccomp_template_build(CORE, NULL, 0, NULL),
                         -EINVAL);
        assert_int_equal(ex_seccomp_template_fill(prog, 16, &outside, 1, 7,
                                                  out),
                         -EINVAL);
        assert_int_equal(ex_seccomp_template_fill(prog, 15, &inside, 1, 7,
                                                  out),
                         -EINVAL);
        assert_int_equal(ex_seccomp_template_fill(prog, 16, &inside, 1, 0,
                                                  out),
                         -EINVAL);
        assert_int_equal(ex_seccomp_template_fill(NULL, 16, &inside, 1, 7,
                                                  out),
                         -EINVAL);
        assert_int_equal(ex_seccomp_template_fill(prog, 16, &inside, 1, 7,
                                                  out),
                         0);
        assert_int_equal(out[0], 0);
        assert_int_equal(out[1], 7ull << 32); /* k: the upper half */
}

static void test_group_names(void **state)
{
        static const struct {
                uint32_t bit;
                const char *name;
        } g[] = {
                {EX_GROUP_CORE, "core"},
                {EX_GROUP_THREADS, "threads"},
                {EX_GROUP_FILES_READ, "files_read"},
                {EX_GROUP_FILES_WRITE, "files_write"},
                {EX_GROUP_NETWORK, "network"},
        };
        uint32_t all = 0;

        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(g); i++) {
                assert_string_equal(ex_group_name(g[i].bit), g[i].name);
                assert_int_equal(ex_group_by_name(g[i].name), g[i].bit);
                all |= g[i].bit;
        }
        assert_int_equal(all, EX_GROUP_ALL);
        assert_null(ex_group_name(0));
        assert_null(ex_group_name(EX_GROUP_ALL));
        assert_null(ex_group_name(1u << 31));
        assert_int_equal(ex_group_by_name("Core"), 0);
        assert_int_equal(ex_group_by_name("all"), 0);
        assert_int_equal(ex_group_by_name(""), 0);
        assert_int_equal(ex_group_by_name(NULL), 0);
}

static void test_syscall_names(void **state)
{
        char buf[64];

        (void)state;
#ifdef __x86_64__
        assert_int_equal(ex_syscall_number("read"), 0);
        assert_int_equal(ex_syscall_number("ptrace"), 101);
        assert_int_equal(ex_syscall_number("open"), 2);
        /* libseccomp knows socketcall for other arches only */
        assert_int_equal(ex_syscall_number("socketcall"), -ENOENT);
#endif
        assert_int_equal(ex_syscall_number("read"), SYS_read);
        assert_int_equal(ex_syscall_number("no_such_syscall"), -ENOENT);
        assert_int_equal(ex_syscall_number(""), -ENOENT);
        assert_int_equal(ex_syscall_number(NULL), -ENOENT);

        ex_syscall_name(SYS_read, buf, sizeof(buf));
        assert_string_equal(buf, "read");
        ex_syscall_name(SYS_ptrace, buf, sizeof(buf));
        assert_string_equal(buf, "ptrace");
        ex_syscall_name(-5, buf, sizeof(buf));
        assert_string_equal(buf, "unknown");
        ex_syscall_name(1000000, buf, sizeof(buf));
        assert_string_equal(buf, "unknown");
        ex_syscall_name(SYS_ptrace, buf, 4);
        assert_string_equal(buf, "ptr");
}

/* ---- the violation frame ------------------------------------------------ */

static void test_violation_frame_bytes(void **state)
{
        static const uint8_t ptrace101[25] = {
                9,    0, 0, 0, /* payload length */
                6,             /* EX_MSG_VIOLATION */
                0,             /* op */
                0,    0,       /* flags */
                0,    0, 0, 0, /* request id */
                0,    0, 0, 0, /* chain id */
                0x04,          /* EX_TAG_INT */
                101,  0, 0, 0, 0, 0, 0, 0,
        };
        uint8_t out[32];
        struct ex_frame_header h;
        struct ex_reader rd;
        struct ex_item it;
        struct ex_limits lim = ex_limits_default();

        (void)state;
        memset(out, 0xee, sizeof(out));
        assert_int_equal(ex_violation_frame(101, out, sizeof(out)), 25);
        assert_memory_equal(out, ptrace101, 25);
        assert_int_equal(out[25], 0xee);

        /* the parent's decoders accept it */
        assert_int_equal(ex_frame_header_unpack(out, 64, &h), 0);
        assert_int_equal(h.kind, EX_MSG_VIOLATION);
        assert_int_equal(h.length, 9);
        ex_reader_init(&rd, out + EX_FRAME_HEADER_SIZE, h.length, &lim);
        assert_int_equal(ex_read(&rd, &it), 0);
        assert_int_equal(it.tag, EX_TAG_INT);
        assert_int_equal(it.v.i, 101);
        assert_int_equal(ex_reader_finish(&rd), 0);

        /* a big and a negative number, little-endian */
        assert_int_equal(ex_violation_frame(0x1234567, out, 25), 25);
        assert_int_equal(out[17], 0x67);
        assert_int_equal(out[18], 0x45);
        assert_int_equal(out[19], 0x23);
        assert_int_equal(out[20], 0x01);
        assert_int_equal(out[21], 0);
        assert_int_equal(ex_violation_frame(-1, out, 25), 25);
        for (int i = 17; i < 25; i++)
                assert_int_equal(out[i], 0xff);

        /* too small: nothing written */
        memset(out, 0xee, sizeof(out));
        assert_int_equal(ex_violation_frame(101, out, 24), 0);
        assert_int_equal(out[0], 0xee);
        assert_int_equal(ex_violation_frame(101, NULL, 25), 0);
}


/* learn mode's classification (learn.c): which group's rules allow a call
 * with these arguments; argument rules decide, not just the name. */
static void test_groups_allowing(void **state)
{
        (void)state;
        pid_t self = getpid();
        uint64_t ro[6] = {(uint64_t)AT_FDCWD, 0, O_RDONLY, 0, 0, 0};
        uint64_t rw[6] = {(uint64_t)AT_FDCWD, 0, O_RDWR | O_CREAT, 0, 0, 0};
        uint64_t inet[6] = {AF_INET, SOCK_STREAM, 0, 0, 0, 0};
        uint64_t unix_[6] = {AF_UNIX, SOCK_STREAM, 0, 0, 0, 0};
        uint64_t thread[6] = {CLONE_VM | CLONE_FS | CLONE_FILES |
                                      CLONE_SIGHAND | CLONE_THREAD |
                                      CLONE_SYSVSEM,
                              0, 0, 0, 0, 0};
        uint64_t fork_[6] = {SIGCHLD, 0, 0, 0, 0, 0};
        uint64_t kill_self[6] = {(uint64_t)self, SIGTERM, 0, 0, 0, 0};
        uint64_t kill_other[6] = {1, SIGTERM, 0, 0, 0, 0};
        uint64_t none[6] = {0};

        assert_int_equal(ex_seccomp_groups_allowing(SYS_openat, ro, self),
                         EX_GROUP_FILES_READ | EX_GROUP_FILES_WRITE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_openat, rw, self),
                         EX_GROUP_FILES_WRITE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_socket, inet, self),
                         EX_GROUP_NETWORK);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_socket, unix_, self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_clone, thread, self),
                         EX_GROUP_THREADS);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_clone, fork_, self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_kill, kill_self, self),
                         EX_GROUP_CORE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_kill, kill_other,
                                                    self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_fdatasync, none, self),
                         EX_GROUP_FILES_WRITE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_ptrace, none, self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(-1, none, self), 0);

        /* issue 14: the tables' invariants, through the same lookup */
        uint64_t suid_creat[6] = {(uint64_t)AT_FDCWD, 0, O_WRONLY | O_CREAT,
                                  04755, 0, 0};
        uint64_t chmod_suid[6] = {3, 02755, 0, 0, 0, 0};
        uint64_t chmod_plain[6] = {3, 0755, 0, 0, 0, 0};
        uint64_t pair_dgram[6] = {AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0};
        uint64_t pair_stream[6] = {AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0,
                                   0, 0};
        uint64_t to_addr[6] = {3, 1, 1, 0, 0x1000, 16};
        uint64_t no_addr[6] = {3, 1, 1, 0, 0, 0};

        assert_int_equal(ex_seccomp_groups_allowing(SYS_openat, suid_creat,
                                                    self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_fchmod, chmod_suid,
                                                    self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_fchmod, chmod_plain,
                                                    self),
                         EX_GROUP_FILES_WRITE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_socketpair,
                                                    pair_dgram, self),
                         0);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_socketpair,
                                                    pair_stream, self),
                         EX_GROUP_CORE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_sendto, to_addr,
                                                    self),
                         EX_GROUP_NETWORK);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_sendto, no_addr,
                                                    self),
                         EX_GROUP_CORE | EX_GROUP_NETWORK);
}

/* No group allows a metadata writer with a path (Landlock governs none of
 * them), whatever the path's pointer and flags; utimensat only as
 * futimens (NULL path). */
static void test_no_group_writes_metadata_by_path(void **state)
{
        (void)state;
        pid_t self = getpid();
        size_t n;
        const char *const *names = ex_seccomp_path_metadata_writers(&n);
        /* a path pointer in each argument a call may read one from, and
         * AT_EMPTY_PATH in each flags position */
        uint64_t with_path[6] = {0x1000, 0x1000, 0x1000, 0x1000,
                                 AT_EMPTY_PATH, AT_EMPTY_PATH};
        uint64_t futimens[6] = {3, 0, 0, 0, 0, 0};
        int seen = 0;

        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
                int nr = ex_syscall_number(names[i]);

                if (nr < 0)
                        continue; /* not on this arch, or unknown here */
                seen++;
                if (ex_seccomp_groups_allowing(nr, with_path, self) != 0)
                        print_message("%s is allowed with a path\n",
                                      names[i]);
                assert_int_equal(ex_seccomp_groups_allowing(nr, with_path,
                                                            self),
                                 0);
        }
        assert_true(seen >= 10);
        assert_true(ex_seccomp_is_path_metadata_writer("utimensat"));
        assert_false(ex_seccomp_is_path_metadata_writer("fchmod"));
        assert_int_equal(ex_seccomp_groups_allowing(SYS_utimensat, futimens,
                                                    self),
                         EX_GROUP_FILES_WRITE);
        assert_int_equal(ex_seccomp_groups_allowing(SYS_fchmod, futimens,
                                                    self),
                         EX_GROUP_FILES_WRITE);
}

/* The learn filter builds for every group set a profile may name, and
 * still refuses to let `allow` override a trap. */
static void test_learn_filter_builds(void **state)
{
        (void)state;
        scmp_filter_ctx ctx = NULL;
        int ptrace_nr = SYS_ptrace;

        skip_under_valgrind("libseccomp asks the kernel's seccomp() which "
                            "filter features exist; valgrind does not "
                            "pass that call through");

        assert_int_equal(ex_seccomp_build_learn(EX_GROUP_ALL, NULL, 0,
                                                getpid(), &ctx),
                         0);
        seccomp_release(ctx);
        ctx = NULL;
        assert_int_equal(ex_seccomp_build_learn(EX_GROUP_CORE, &ptrace_nr, 1,
                                                getpid(), &ctx),
                         -EPERM);
        assert_null(ctx);
}

int main(void)
{
        static const struct CMUnitTest fixed[] = {
                cmocka_unit_test(test_pthreads_work_under_thread_groups),
                cmocka_unit_test(test_threads_need_the_threads_group),
                cmocka_unit_test(test_trap_in_a_thread_is_reported),
                cmocka_unit_test(test_c_runtime_works_under_core),
                cmocka_unit_test(test_no_open_filter),
                cmocka_unit_test(test_build_refuses_bad_requests),
                cmocka_unit_test(test_instruction_counts),
                cmocka_unit_test(test_export_and_load_bpf_arguments),
                cmocka_unit_test(test_template_is_the_build_for_each_pid),
                cmocka_unit_test(test_template_fill_refuses_bad_requests),
                cmocka_unit_test(test_group_names),
                cmocka_unit_test(test_syscall_names),
                cmocka_unit_test(test_violation_frame_bytes),
                cmocka_unit_test(test_groups_allowing),
                cmocka_unit_test(test_no_group_writes_metadata_by_path),
                cmocka_unit_test(test_learn_filter_builds),
        };
        /* one cmocka test per table row, named after it */
        struct CMUnitTest tests[ARRAY_SIZE(fixed) + ARRAY_SIZE(cases)];
        size_t n = 0;

        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
                tests[n++] = fixed[i];
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
                tests[n++] = (struct CMUnitTest){
                        .name = cases[i].what,
                        .test_func = run_case,
                        .initial_state = (void *)&cases[i],
                };
        /* The children's output must not be duplicated by a stdio buffer
         * inherited across fork. */
        setvbuf(stdout, NULL, _IONBF, 0);
        return _cmocka_run_group_tests("seccomp", tests, n, NULL, NULL);
}
