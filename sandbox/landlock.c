/* Landlock rules from the profile's path grants (see landlock.h). */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* Our own copies of the uapi definitions: the build machine's headers may
 * predate the kernel the child runs on. */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_ABI1 ((1ull << 13) - 1) /* execute .. make_sym */
#define LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)   /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)

struct ll_ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
};

struct ll_path_beneath_attr {
        uint64_t allowed_access;
        int32_t parent_fd;
} __attribute__((packed));

#define LL_READ (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)
/* Rights that only make sense on directories. */
#define LL_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
                        LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

int ex_landlock_abi(void)
{
        long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
                           LL_CREATE_RULESET_VERSION);

        return abi < 0 ? 0 : (int)abi;
}

static uint64_t fs_rights(int abi)
{
        uint64_t r = LL_FS_ABI1;

        if (abi >= 2)
                r |= LL_FS_REFER;
        if (abi >= 3)
                r |= LL_FS_TRUNCATE;
        if (abi >= 5)
                r |= LL_FS_IOCTL_DEV;
        return r;
}

/* Grant `access` beneath `path`; a path that does not exist is skipped. */
static int add_rule(int ruleset, const char *path, uint64_t access,
                    struct ex_landlock_result *res)
{
        struct ll_path_beneath_attr attr;
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
        struct stat st;

        if (fd < 0) {
                if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
                        return -errno;
                res->missing++;
                return 0;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        /* Directory-only rights on a file are EINVAL. */
        if (!S_ISDIR(st.st_mode))
                access &= LL_FILE_RIGHTS;
        attr = (struct ll_path_beneath_attr){.allowed_access = access,
                                             .parent_fd = fd};
        if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH,
                    &attr, 0) < 0)
                return -errno;
        res->rules++;
        return 0;
}

int ex_landlock_apply(const char *const *read, size_t nread,
                      const char *const *write, size_t nwrite, bool network,
                      struct ex_landlock_result *res)
{
        struct ll_ruleset_attr attr = {0};
        size_t attr_size = sizeof(attr.handled_access_fs);
        _cleanup_close_ int ruleset = -1;
        uint64_t all;
        int r;

        *res = (struct ex_landlock_result){.abi = ex_landlock_abi()};
        if (res->abi < 1)
                return -EOPNOTSUPP;
        all = fs_rights(res->abi);
        attr.handled_access_fs = all;
        if (res->abi >= 4) {
                /* Without `network` no TCP at all, whatever seccomp says. */
                attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
                attr_size = offsetof(struct ll_ruleset_attr, scoped);
                res->net_handled = !network;
                if (network)
                        attr.handled_access_net = 0;
        }
        if (res->abi >= 6) {
                attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
                attr_size = sizeof(attr);
                res->scoped = true;
        }
        ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
        if (ruleset < 0)
                return -errno;
        for (size_t i = 0; i < nread; i++)
                if ((r = add_rule(ruleset, read[i], LL_READ & all, res)) < 0)
                        return r;
        for (size_t i = 0; i < nwrite; i++)
                if ((r = add_rule(ruleset, write[i], all, res)) < 0)
                        return r;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
                return -errno;
        return 0;
}
