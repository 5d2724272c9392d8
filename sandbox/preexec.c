/* Pre-exec confinement; async-signal-safe calls only (see preexec.h). */
#include "preexec.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

int ex_preexec_apply(const struct ex_preexec_plan *plan)
{
        if (plan->death_signal) {
                /* PDEATHSIG fires when the forking *thread* exits, so the
                 * caller only asks for it when forking from the main thread;
                 * otherwise the child relies on EOF of its channel. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                        return -errno;
                /* The parent may have died before PDEATHSIG was armed. */
                if (getppid() != plan->parent_pid)
                        return -ESRCH;
        }
        if (plan->no_core_dumps) {
                struct rlimit none = {0, 0};
                if (setrlimit(RLIMIT_CORE, &none) < 0)
                        return -errno;
        }
        if (plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return 0;
}
