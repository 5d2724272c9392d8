/* Open-addressing u64 map; see handle_map.h. */
#include "handle_map.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(uint64_t key, size_t mask)
{
        /* Fibonacci hashing spreads sequential ids and aligned pointers. */
        return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
}

static int grow(struct ex_map *m)
{
        size_t cap = m->slots ? (m->mask + 1) * 2 : 64;
        struct ex_map_slot *old = m->slots;
        size_t old_cap = old ? m->mask + 1 : 0;

        if (cap > SIZE_MAX / sizeof(*old))
                return -ENOMEM;
        m->slots = calloc(cap, sizeof(*old));
        if (!m->slots) {
                m->slots = old;
                return -ENOMEM;
        }
        m->mask = cap - 1;
        m->count = 0;
        for (size_t i = 0; i < old_cap; i++)
                if (old[i].key)
                        ex_map_put(m, old[i].key, old[i].value);
        free(old);
        return 0;
}

int ex_map_put(struct ex_map *m, uint64_t key, uint64_t value)
{
        size_t i;

        if (key == 0)
                return -EINVAL;
        /* Keep the load under 3/4 so probes stay short. */
        if (!m->slots || (m->count + 1) * 4 > (m->mask + 1) * 3) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        for (i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
                if (m->slots[i].key == key) {
                        m->slots[i].value = value;
                        return 0;
                }
                if (m->slots[i].key == 0) {
                        m->slots[i] = (struct ex_map_slot){key, value};
                        m->count++;
                        return 0;
                }
        }
}

bool ex_map_get(const struct ex_map *m, uint64_t key, uint64_t *value)
{
        if (!m->slots || key == 0)
                return false;
        for (size_t i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
                if (m->slots[i].key == key) {
                        *value = m->slots[i].value;
                        return true;
                }
                if (m->slots[i].key == 0)
                        return false;
        }
}

bool ex_map_del(struct ex_map *m, uint64_t key)
{
        size_t i, j;

        if (!m->slots || key == 0)
                return false;
        for (i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
                if (m->slots[i].key == key)
                        break;
                if (m->slots[i].key == 0)
                        return false;
        }
        /* Backward-shift: move later entries of the probe run into the
         * hole when their home slot does not lie between hole and them. */
        for (j = (i + 1) & m->mask; m->slots[j].key; j = (j + 1) & m->mask) {
                size_t home = slot_of(m->slots[j].key, m->mask);
                if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
                        m->slots[i] = m->slots[j];
                        i = j;
                }
        }
        m->slots[i].key = 0;
        m->count--;
        return true;
}

void ex_map_free(struct ex_map *m)
{
        free(m->slots);
        *m = (struct ex_map){0};
}
