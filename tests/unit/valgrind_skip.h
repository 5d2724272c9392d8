/* Skipping what valgrind cannot emulate, under valgrind only.
 *
 * `make valgrind` runs every cmocka suite under memcheck. A process that
 * loads a seccomp filter cannot run there (valgrind refuses to install
 * one: the filter would judge valgrind's own system calls, not the
 * program's), and valgrind only lets a program set RLIMIT_NOFILE to the
 * hard limit it keeps for itself. The cases that confine a child say so
 * and skip there; they run in the plain and the ASan builds.
 * valgrind/valgrind.h comes with Debian's valgrind package, which the
 * Makefile installs with the unit-test dependencies.
 */
#ifndef EXTRADITE_TEST_VALGRIND_SKIP_H
#define EXTRADITE_TEST_VALGRIND_SKIP_H

#include <stdio.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* Call at the top of a test (cmocka's skip() leaves it). */
#define skip_under_valgrind(why)                                               \
        do {                                                                   \
                if (RUNNING_ON_VALGRIND) {                                     \
                        printf("skipped under valgrind: %s\n", (why));        \
                        skip();                                                \
                }                                                              \
        } while (0)

#endif
