/* Resource limits for the child (DESIGN §3). */
#ifndef EXTRADITE_RLIMITS_H
#define EXTRADITE_RLIMITS_H

#include "sandbox.h"

/* Set each nonzero limit (soft and hard) and no core dumps. A limit is
 * never raised above what was inherited. *applied gets what was set.
 * An ASan build leaves RLIMIT_AS alone (asan_build.h). */
int ex_rlimits_apply(const struct ex_limits_policy *want,
                     struct ex_limits_policy *applied);

#endif
