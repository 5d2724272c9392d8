/* Resource limits (see rlimits.h). */
#include "rlimits.h"

#include <errno.h>
#include <sys/resource.h>

#include "asan_build.h"

static int set_one(int resource, uint64_t want, uint64_t *applied)
{
        struct rlimit cur;

        if (want == 0)
                return 0;
        if (getrlimit(resource, &cur) < 0)
                return -errno;
        /* Lowering is always allowed; raising would need privilege. */
        if (cur.rlim_max != RLIM_INFINITY && want > cur.rlim_max)
                want = cur.rlim_max;
        cur.rlim_cur = cur.rlim_max = want;
        if (setrlimit(resource, &cur) < 0)
                return -errno;
        *applied = want;
        return 0;
}

int ex_rlimits_apply(const struct ex_limits_policy *want,
                     struct ex_limits_policy *applied)
{
        struct rlimit none = {0, 0};
        int r;

        *applied = (struct ex_limits_policy){0};
        if (setrlimit(RLIMIT_CORE, &none) < 0)
                return -errno;
        /* Not under ASan (asan_build.h): applied stays 0, "not set". */
        if ((r = set_one(RLIMIT_AS, EX_ASAN_BUILD ? 0 : want->address_space,
                         &applied->address_space)) < 0 ||
            (r = set_one(RLIMIT_NOFILE, want->open_files,
                         &applied->open_files)) < 0 ||
            (r = set_one(RLIMIT_CPU, want->cpu_seconds,
                         &applied->cpu_seconds)) < 0 ||
            (r = set_one(RLIMIT_FSIZE, want->file_size,
                         &applied->file_size)) < 0 ||
            (r = set_one(RLIMIT_NPROC, want->processes,
                         &applied->processes)) < 0)
                return r;
        return 0;
}
