/* Dropping every capability with libcap-ng (DESIGN §2). */
#ifndef EXTRADITE_CAPABILITIES_H
#define EXTRADITE_CAPABILITIES_H

#include <stdbool.h>

struct ex_caps_result {
        bool dropped;        /* effective, permitted, inheritable, ambient */
        bool bounding_set;   /* bounding set cleared too */
        bool locked;         /* securebits locked: no regaining on exec */
};

/* Clear all capability sets; the bounding set and securebits too when we
 * hold CAP_SETPCAP (root, or inside our own user namespace). */
int ex_caps_drop_all(struct ex_caps_result *res);

#endif
