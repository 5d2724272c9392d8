/* Open fds of this process, for cmocka tests that check nothing leaks. */
#ifndef EXTRADITE_TEST_FD_COUNT_H
#define EXTRADITE_TEST_FD_COUNT_H

#include <dirent.h>
#include <stdlib.h>

static inline int count_open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                abort(); /* no /proc: nothing could be checked */
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own fd */
}

#endif
