/* The fuzz targets' oracle: a failed check aborts, which libFuzzer reports
 * as a crash and keeps the input that caused it. */
#ifndef EXTRADITE_FUZZ_CHECK_H
#define EXTRADITE_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                            \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n",           \
                                __FILE__, __LINE__, #cond);                    \
                        abort();                                               \
                }                                                              \
        } while (0)

#endif
