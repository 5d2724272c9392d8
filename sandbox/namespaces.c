/* Entering namespaces (see namespaces.h). */
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "sandbox.h"

static int write_file(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t n = strlen(text);

        if (fd < 0)
                return -errno;
        if (write(fd, text, n) != (ssize_t)n)
                return errno ? -errno : -EIO;
        return 0;
}

/* Map our uid and gid to themselves inside the new user namespace. */
static int map_ids(uid_t uid, gid_t gid)
{
        char line[64];
        int r;

        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
        if ((r = write_file("/proc/self/uid_map", line)) < 0)
                return r;
        /* gid_map needs setgroups denied first when unprivileged. */
        r = write_file("/proc/self/setgroups", "deny");
        if (r < 0 && r != -ENOENT)
                return r;
        snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
        return write_file("/proc/self/gid_map", line);
}

static int other_flags(uint32_t wanted)
{
        return (wanted & EX_NS_NET ? CLONE_NEWNET : 0) |
               (wanted & EX_NS_IPC ? CLONE_NEWIPC : 0) |
               (wanted & EX_NS_UTS ? CLONE_NEWUTS : 0);
}

int ex_namespaces_enter(uint32_t wanted, uint32_t *entered)
{
        uid_t uid = getuid();
        gid_t gid = getgid();
        int first_err = 0, r;

        *entered = 0;
        if (wanted & EX_NS_USER) {
                if (unshare(CLONE_NEWUSER) < 0) {
                        first_err = -errno;
                } else if ((r = map_ids(uid, gid)) < 0) {
                        /* Half a user namespace is not one we can use. */
                        return r;
                } else {
                        *entered |= EX_NS_USER;
                }
        }
        /* One unshare for the rest; when it fails, try them one by one so
         * the report says exactly which the kernel allows. */
        if (other_flags(wanted) && unshare(other_flags(wanted)) == 0) {
                *entered |= wanted & (EX_NS_NET | EX_NS_IPC | EX_NS_UTS);
        } else {
                for (uint32_t bit = EX_NS_NET; bit <= EX_NS_UTS; bit <<= 1) {
                        if (!(wanted & bit))
                                continue;
                        if (unshare(other_flags(bit)) == 0)
                                *entered |= bit;
                        else if (!first_err)
                                first_err = -errno;
                }
        }
        return first_err;
}
