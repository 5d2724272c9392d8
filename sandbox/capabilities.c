/* Capability dropping (see capabilities.h). */
#include "capabilities.h"

#include <cap-ng.h>
#include <errno.h>

int ex_caps_drop_all(struct ex_caps_result *res)
{
        capng_select_t sets;
        bool can_setpcap;

        *res = (struct ex_caps_result){0};
        if (capng_get_caps_process() < 0)
                return -EPERM;
        can_setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
        /* Lock the securebits (no root magic on exec) while we still may. */
        if (can_setpcap && capng_lock() == 0)
                res->locked = true;
        /* Clearing the ambient set needs no privilege; the bounding set
         * does. */
        sets = can_setpcap ? CAPNG_SELECT_ALL
                           : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT;
        capng_clear(sets);
        if (capng_apply(sets) < 0)
                return -EPERM;
        res->dropped = true;
        res->bounding_set = can_setpcap;
        /* Check instead of trusting: nothing may be left. */
        capng_get_caps_process();
        if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
                return -EPERM;
        return 0;
}
