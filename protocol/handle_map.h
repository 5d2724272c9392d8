/* A hash map from 64-bit keys to 64-bit values (open addressing, linear
 * probing, backward-shift deletion). Used for handle ids and identities.
 *
 * Lifecycle: zero-initialise, ex_map_put/get/del, ex_map_free.
 * Key 0 is reserved (the empty slot) and is never stored.
 */
#ifndef EXTRADITE_HANDLE_MAP_H
#define EXTRADITE_HANDLE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ex_map_slot {
        uint64_t key;
        uint64_t value;
};

struct ex_map {
        struct ex_map_slot *slots; /* owned; NULL while empty */
        size_t mask;               /* capacity - 1; capacity is 2^n */
        size_t count;
};

/* Insert or replace. -EINVAL for key 0, -ENOMEM. */
int ex_map_put(struct ex_map *m, uint64_t key, uint64_t value);
/* true and *value when present. */
bool ex_map_get(const struct ex_map *m, uint64_t key, uint64_t *value);
/* true when it was present. Never allocates. */
bool ex_map_del(struct ex_map *m, uint64_t key);
void ex_map_free(struct ex_map *m);

#endif
