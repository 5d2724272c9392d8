"""Lifetime and cleanup: a child that tries to outlive its parent, and one
that leaves behind a tree its parent must remove (docs/lifetime.md)."""

import ctypes
import os
import time

from ._common import Base, _libc

PR_SET_PDEATHSIG = 1


class Lingerer(Base):
    def clear_death_signal(self):
        """prctl(PR_SET_PDEATHSIG, 0): outlive a parent that forked us from
        its main thread. (return value, errno)."""
        ctypes.set_errno(0)
        ret = _libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(0), ctypes.c_ulong(0),
                          ctypes.c_ulong(0), ctypes.c_ulong(0))
        return ret, ctypes.get_errno()

    def spin(self, seconds):
        """Busy for `seconds` (never reads its channel meanwhile)."""
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            n += 1
        return n

    def deep_tree(self, top, depth, locked=True):
        """Nest `depth` directories under `top` (relative steps, so no path
        is long), each with a file; the deepest is made unreadable and
        unwritable, its parent read-only. Returns the depth made."""
        fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
        made = 0
        try:
            for made in range(1, depth + 1):
                os.mkdir("d", dir_fd=fd)
                sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = sub
                os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
            if locked:
                os.mkdir("locked", dir_fd=fd)
                # through fds: metadata writes by path are refused
                # (docs/containment.md)
                locked_fd = os.open("locked", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.chmod(locked_fd, 0)
                os.close(locked_fd)
                os.chmod(fd, 0o500)
        finally:
            os.close(fd)
        return made
