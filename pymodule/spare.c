/* The spare child; see spare.h. */
#include "spare.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ex_spare_init(struct ex_spare *sp)
{
        *sp = (struct ex_spare){.sock = -1,
                                .child = {.pidfd = -1, .status = -1}};
}

int ex_spare_wanted(void)
{
        const char *v = getenv("EXTRADITE_SPARE");

        return !(v && strcmp(v, "0") == 0);
}

void ex_spare_drop(struct ex_spare *sp)
{
        unsigned started = sp->started;

        if (sp->sock >= 0) {
                if (sp->owner == getpid())
                        (void)ex_child_stop(&sp->child, 0);
                ex_child_release(&sp->child);
                close(sp->sock);
        }
        free(sp->key);
        ex_spare_init(sp);
        sp->started = started;
}

/* Whether the spare has exited (reaped then). */
static int spare_gone(struct ex_spare *sp)
{
        struct pollfd p = {.fd = sp->child.pidfd, .events = POLLIN};

        if (sp->child.pidfd >= 0 && poll(&p, 1, 0) == 0)
                return 0;
        return ex_child_wait(&sp->child, 0) == 0;
}

int ex_spare_take(struct ex_spare *sp, const char *key,
                  struct ex_child *child, int *sock)
{
        if (sp->sock < 0)
                return 0;
        if (sp->owner != getpid() || strcmp(sp->key, key) != 0 ||
            spare_gone(sp)) {
                ex_spare_drop(sp);
                return 0;
        }
        *child = sp->child;
        *sock = sp->sock;
        sp->sock = -1;
        sp->child = (struct ex_child){.pidfd = -1, .status = -1};
        free(sp->key);
        sp->key = NULL;
        return 1;
}

void ex_spare_keep(struct ex_spare *sp, char *key,
                   const struct ex_child *child, int sock)
{
        ex_spare_drop(sp);
        sp->owner = getpid();
        sp->key = key;
        sp->child = *child;
        sp->sock = sock;
}
