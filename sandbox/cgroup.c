/* Joining the child's cgroup (see cgroup.h). */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

int ex_cgroup_join(const char *const *procs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int fd =
                        open(procs[i], O_WRONLY | O_CLOEXEC);

                if (fd < 0)
                        return -errno;
                /* 0: the writer itself (v1 and v2 alike) */
                if (write(fd, "0\n", 2) != 2)
                        return errno ? -errno : -EIO;
        }
        return 0;
}

static void append(char *buf, size_t len, const char *text)
{
        size_t n = strlen(buf);

        if (n + 1 < len)
                snprintf(buf + n, len - n, "%s%s", n ? "; " : "", text);
}

void ex_limits_missing(const struct ex_policy *p,
                       const struct ex_sandbox_report *rep, uid_t uid,
                       char *buf, size_t len)
{
        buf[0] = '\0';
        if (p->cgroup_missing && p->cgroup_missing[0])
                append(buf, len, p->cgroup_missing);
        if (p->limits.processes && !(p->cgroup_holds & EX_CGROUP_PROCESSES)) {
                if (uid == 0)
                        append(buf, len,
                               "processes: RLIMIT_NPROC does not bind uid 0");
                else if (!(rep->namespaces & EX_NS_USER))
                        append(buf, len,
                               "processes: RLIMIT_NPROC not set without a "
                               "user namespace (it would count all of the "
                               "user's processes)");
        }
}
