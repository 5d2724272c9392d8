/* Namespaces for the child (DESIGN §2): user, net, ipc, uts.
 *
 * Entered after exec while the child is still single-threaded. A new user
 * namespace comes first and maps the child's own uid and gid to themselves;
 * it gives the capabilities the other unshares need without privilege.
 * Without one (the kernel refuses unprivileged user namespaces), a
 * privileged child still unshares the others directly.
 */
#ifndef EXTRADITE_NAMESPACES_H
#define EXTRADITE_NAMESPACES_H

#include <stdint.h>

/* Enter the wanted namespaces (enum ex_ns bits), as many as the kernel
 * allows. *entered gets those entered; returns 0 when all were, else the
 * -errno of the first refusal. */
int ex_namespaces_enter(uint32_t wanted, uint32_t *entered);

#endif
