/* Shared arenas for big byte strings; see arena.h. */
#include "arena.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "ring.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define SIZE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
/* Each memfd: a header page, its direction's frame ring (ring.h), then the
 * values. */
#define RING_OFFSET ((size_t)EX_ARENA_HEADER)
#define VALUES_OFFSET (RING_OFFSET + EX_RING_SIZE)
#define MEMFD_SIZE (VALUES_OFFSET + EX_ARENA_SIZE)
/* The shared words, each on a cache line of its own and written by one
 * side only. In the "up" header page (both may write it): */
#define ACK_DOWN_OFFSET 0u      /* child: down frames let go of */
#define ACK_UP_OFFSET 64u       /* parent: up frames let go of */
#define DOWN_HEAD_OFFSET 128u   /* child: down ring bytes taken */
#define DOWN_SLEEP_OFFSET 192u  /* child: sleeps on the socket */
#define UP_TAIL_OFFSET 256u     /* child: up ring bytes published */
#define UP_HEAD_OFFSET 320u     /* parent: up ring bytes taken */
#define UP_SLEEP_OFFSET 384u    /* parent: sleeps on the socket */
/* In the "down" header page (the child's mapping is read-only): */
#define DOWN_TAIL_OFFSET 0u     /* parent: down ring bytes published */

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
        down->base = down->map + VALUES_OFFSET;
        down->size = EX_ARENA_SIZE;
        up->base = up->map + VALUES_OFFSET;
        up->size = EX_ARENA_SIZE;
        down->ack = (_Atomic uint32_t *)(void *)(up->map + ACK_DOWN_OFFSET);
        up->ack = (_Atomic uint32_t *)(void *)(up->map + ACK_UP_OFFSET);
}

#define WORD64(a, off) ((_Atomic uint64_t *)(void *)((a)->map + (off)))
#define WORD32(a, off) ((_Atomic uint32_t *)(void *)((a)->map + (off)))

int ex_arena_rings(const struct ex_arena *down, const struct ex_arena *up,
                   struct ex_ring *down_ring, struct ex_ring *up_ring)
{
        if (!down->map || !up->map)
                return -ENODEV;
        *down_ring = (struct ex_ring){
                .data = down->map + RING_OFFSET,
                .tail = WORD64(down, DOWN_TAIL_OFFSET),
                .head = WORD64(up, DOWN_HEAD_OFFSET),
                .sleeping = WORD32(up, DOWN_SLEEP_OFFSET),
        };
        *up_ring = (struct ex_ring){
                .data = up->map + RING_OFFSET,
                .tail = WORD64(up, UP_TAIL_OFFSET),
                .head = WORD64(up, UP_HEAD_OFFSET),
                .sleeping = WORD32(up, UP_SLEEP_OFFSET),
        };
        return 0;
}

int ex_arena_pair_create(struct ex_arena *down, struct ex_arena *up,
                         int *down_fd, int *up_fd)
{
        _cleanup_close_ int dfd = -1, ufd = -1;
        int r;

        memset(down, 0, sizeof(*down));
        memset(up, 0, sizeof(*up));
        dfd = arena_memfd("extradite-down", MEMFD_SIZE);
        if (dfd < 0)
                return dfd;
        ufd = arena_memfd("extradite-up", MEMFD_SIZE);
        if (ufd < 0)
                return ufd;
        r = map_fd(down, dfd, MEMFD_SIZE, PROT_READ | PROT_WRITE);
        if (r == 0)
                r = map_fd(up, ufd, MEMFD_SIZE, PROT_READ | PROT_WRITE);
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
        int r;

        memset(down, 0, sizeof(*down));
        memset(up, 0, sizeof(*up));
        r = check_memfd(down_fd, MEMFD_SIZE, SIZE_SEALS | F_SEAL_FUTURE_WRITE);
        if (r == 0)
                r = check_memfd(up_fd, MEMFD_SIZE, SIZE_SEALS);
        if (r == 0)
                r = map_fd(down, down_fd, MEMFD_SIZE, PROT_READ);
        if (r == 0)
                r = map_fd(up, up_fd, MEMFD_SIZE, PROT_READ | PROT_WRITE);
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
