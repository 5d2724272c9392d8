/* Shared arenas for big byte strings; see arena.h. */
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define SIZE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
/* Where the acknowledgement words live in the "up" header page: on
 * separate cache lines, each written by one side only. */
#define ACK_DOWN_OFFSET 0u
#define ACK_UP_OFFSET 64u

static int arena_memfd(const char *name, size_t len)
{
        int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING |
                                            MFD_NOEXEC_SEAL);

        if (fd < 0 && errno == EINVAL)
                fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t)len) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

static int map_fd(struct ex_arena *a, int fd, size_t len, int prot)
{
        void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

        if (p == MAP_FAILED)
                return -errno;
        a->map = p;
        a->map_len = len;
        return 0;
}

void ex_arena_unmap(struct ex_arena *a)
{
        if (a->map)
                munmap(a->map, a->map_len);
        memset(a, 0, sizeof(*a));
}

/* A half-made pair undone; returns err. */
static int unmap_both(struct ex_arena *down, struct ex_arena *up, int err)
{
        ex_arena_unmap(down);
        ex_arena_unmap(up);
        return err;
}

/* Point both directions at their values and acknowledgement words. */
static void wire(struct ex_arena *down, struct ex_arena *up)
{
        down->base = down->map;
        down->size = EX_ARENA_SIZE;
        up->base = up->map + EX_ARENA_HEADER;
        up->size = EX_ARENA_SIZE;
        down->ack = (_Atomic uint32_t *)(void *)(up->map + ACK_DOWN_OFFSET);
        up->ack = (_Atomic uint32_t *)(void *)(up->map + ACK_UP_OFFSET);
}

int ex_arena_pair_create(struct ex_arena *down, struct ex_arena *up,
                         int *down_fd, int *up_fd)
{
        _cleanup_close_ int dfd = -1, ufd = -1;
        int r;

        memset(down, 0, sizeof(*down));
        memset(up, 0, sizeof(*up));
        dfd = arena_memfd("extradite-down", EX_ARENA_SIZE);
        if (dfd < 0)
                return dfd;
        ufd = arena_memfd("extradite-up", EX_ARENA_HEADER + EX_ARENA_SIZE);
        if (ufd < 0)
                return ufd;
        r = map_fd(down, dfd, EX_ARENA_SIZE, PROT_READ | PROT_WRITE);
        if (r == 0)
                r = map_fd(up, ufd, EX_ARENA_HEADER + EX_ARENA_SIZE,
                           PROT_READ | PROT_WRITE);
        /* After our own writable mapping: FUTURE_WRITE refuses any new
         * writable mapping or write(), so the child can only read "down". */
        if (r == 0 && fcntl(dfd, F_ADD_SEALS,
                            SIZE_SEALS | F_SEAL_FUTURE_WRITE) < 0)
                r = -errno;
        if (r == 0 && fcntl(ufd, F_ADD_SEALS, SIZE_SEALS) < 0)
                r = -errno;
        if (r < 0)
                return unmap_both(down, up, r);
        wire(down, up);
        *down_fd = take_fd(&dfd);
        *up_fd = take_fd(&ufd);
        return 0;
}

static int check_memfd(int fd, size_t len, int seals)
{
        struct stat st;
        int have = fcntl(fd, F_GET_SEALS);

        if (have < 0 || (have & seals) != seals)
                return -EBADMSG;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            (uint64_t)st.st_size != len)
                return -EBADMSG;
        return 0;
}

int ex_arena_pair_map(struct ex_arena *down, struct ex_arena *up,
                      int down_fd, int up_fd)
{
        size_t up_len = EX_ARENA_HEADER + EX_ARENA_SIZE;
        int r;

        memset(down, 0, sizeof(*down));
        memset(up, 0, sizeof(*up));
        r = check_memfd(down_fd, EX_ARENA_SIZE,
                        SIZE_SEALS | F_SEAL_FUTURE_WRITE);
        if (r == 0)
                r = check_memfd(up_fd, up_len, SIZE_SEALS);
        if (r == 0)
                r = map_fd(down, down_fd, EX_ARENA_SIZE, PROT_READ);
        if (r == 0)
                r = map_fd(up, up_fd, up_len, PROT_READ | PROT_WRITE);
        if (r < 0)
                return unmap_both(down, up, r);
        wire(down, up);
        return 0;
}

int ex_arena_lease(struct ex_arena *a)
{
        int free_ = 0;

        if (!a->map || !atomic_compare_exchange_strong(&a->leased, &free_, 1))
                return -EBUSY;
        /* Acquire: the peer's copies out of the arena happened before it
         * stored the count we read. */
        if (atomic_load_explicit(a->ack, memory_order_acquire) != a->sent) {
                atomic_store(&a->leased, 0);
                return -EBUSY;
        }
        return 0;
}

void ex_arena_unlease(struct ex_arena *a, int sent)
{
        if (sent)
                a->sent++;
        atomic_store(&a->leased, 0);
}

uint32_t ex_arena_received(struct ex_arena *a)
{
        return ++a->received;
}

void ex_arena_ack(struct ex_arena *a, uint32_t gen)
{
        if (a->ack)
                atomic_store_explicit(a->ack, gen, memory_order_release);
}
