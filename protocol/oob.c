/* Out-of-band buffers in sealed memfds; see oob.h. */
#include "oob.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "cleanup.h"

/* Older C library headers lack the newer flag; the kernel refuses it with
 * EINVAL where it does not know it, and then we retry without. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define EX_OOB_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

void ex_fds_close(struct ex_fds *f)
{
        for (uint32_t i = 0; i < f->n && i < EX_FDS_MAX; i++)
                if (f->fd[i] >= 0)
                        close(f->fd[i]);
        f->n = 0;
        f->bytes = 0;
        if (f->lease)
                ex_arena_unlease(f->lease, 0);
        f->lease = NULL;
        f->lease_used = 0;
        if (f->from)
                ex_arena_ack(f->from, f->from_gen);
        f->from = NULL;
}

int ex_fds_push(struct ex_fds *f, int fd)
{
        if (f->n >= EX_FDS_MAX)
                return -E2BIG;
        f->fd[f->n++] = fd;
        return 0;
}

static int new_memfd(void)
{
        /* Not executable either, where the kernel knows the flag (the
         * sysctl vm.memfd_noexec=2 even requires it). */
        int fd = memfd_create("extradite-oob",
                              MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);

        if (fd < 0 && errno == EINVAL)
                fd = memfd_create("extradite-oob",
                                  MFD_CLOEXEC | MFD_ALLOW_SEALING);
        return fd < 0 ? -errno : fd;
}

int ex_oob_create(const void *p, size_t n)
{
        const uint8_t *src = p;
        struct rlimit fsize;
        _cleanup_close_ int fd = -1;
        size_t done = 0;

        /* A memfd is a file: growing it past RLIMIT_FSIZE raises SIGXFSZ,
         * which would kill a confined child outright. */
        if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 &&
            fsize.rlim_cur != RLIM_INFINITY && n > fsize.rlim_cur)
                return -EFBIG;
        fd = new_memfd();
        if (fd < 0)
                return fd;
        while (done < n) {
                ssize_t k = pwrite(fd, src + done, n - done, (off_t)done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EIO;
                done += (size_t)k;
        }
        if (fcntl(fd, F_ADD_SEALS, EX_OOB_SEALS) < 0)
                return -errno;
        return take_fd(&fd);
}

int ex_oob_check(int fd, uint64_t n)
{
        struct stat st;
        int seals;

        /* Seals first: with SHRINK, GROW and SEAL in place the size read
         * next is final, and WRITE freezes the contents. A sender racing
         * with a second fd of its own cannot change either afterwards. */
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & EX_OOB_SEALS) != EX_OOB_SEALS)
                return -EBADMSG;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
            (uint64_t)st.st_size != n)
                return -EBADMSG;
        return 0;
}

int ex_oob_read(int fd, void *dst, size_t n)
{
        uint8_t *out = dst;
        size_t done = 0;

        while (done < n) {
                ssize_t k = pread(fd, out + done, n - done, (off_t)done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EBADMSG; /* shorter than checked: not ours */
                done += (size_t)k;
        }
        return 0;
}
