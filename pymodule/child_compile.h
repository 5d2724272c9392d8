/* The child's import of source files, without a millisecond of set-up
 * (see child_compile.c). */
#ifndef EXTRADITE_CHILD_COMPILE_H
#define EXTRADITE_CHILD_COMPILE_H

#include "compat.h"

/* Replace SourceLoader.source_to_code in this (child) interpreter. 0, or
 * -1 with an exception (imports then work as before, only slower). */
int ex_child_compile_install(void);

#endif
