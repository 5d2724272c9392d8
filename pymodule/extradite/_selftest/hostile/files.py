"""File-system escapes: reading outside the grants, writing anywhere,
tampering with the Python installation and with extradite itself."""

import errno
import importlib
import os
import sys

from ._common import Base, named_syscall


def _raise_on(result, path):
    ret, err = result
    if ret < 0:
        raise OSError(err, os.strerror(err), path)


class FileAttacker(Base):
    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def listdir(self, path):
        return sorted(os.listdir(path))

    def write(self, path, data):
        with open(path, "wb") as f:
            f.write(data)
        return True

    def open_rw(self, path):
        # opened for writing, nothing written: harmless even if it succeeds
        with open(path, "r+b"):
            pass
        return True

    def create(self, path):
        with open(path, "xb"):
            pass
        return True

    def mkdir(self, path):
        os.mkdir(path)
        return True

    def unlink(self, path):
        os.unlink(path)
        return True

    def rename(self, src, dst):
        os.rename(src, dst)
        return True

    def symlink(self, target, path):
        os.symlink(target, path)
        return True

    def link(self, src, dst):
        os.link(src, dst)
        return True

    def chmod(self, path, mode):
        os.chmod(path, mode)
        return True

    def create_with_mode(self, path, mode):
        """Create a file with `mode` (04755: a setuid program for whoever
        owns the grant); the mode it got."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, b"#!/bin/sh\n")
            return os.fstat(fd).st_mode & 0o7777
        finally:
            os.close(fd)

    def fchmod(self, path, mode):
        """chmod through an fd of a file it may write (fchmod, not
        fchmodat); the mode it got."""
        fd = os.open(path, os.O_WRONLY)
        try:
            os.fchmod(fd, mode)
            return os.fstat(fd).st_mode & 0o7777
        finally:
            os.close(fd)

    def fchmodat(self, path, mode):
        """fchmodat(AT_FDCWD, path, mode, 0) as a raw call (glibc's chmod
        may use another); the mode it got."""
        ret, err = named_syscall("fchmodat", -100, os.fsencode(path), mode, 0)
        if ret < 0:
            raise OSError(err, os.strerror(err), path)
        return os.stat(path).st_mode & 0o7777

    # Metadata writes (Landlock governs none of them): by path they must be
    # refused wherever the path is; through an fd opened in a grant,
    # chmod and utime still work.
    _BY_PATH = {
        "chmod": lambda p: os.chmod(p, 0o666),
        "fchmodat": lambda p: _raise_on(named_syscall(
            "fchmodat", -100, os.fsencode(p), 0o666, 0), p),
        "utime": lambda p: os.utime(p, (1, 1)),
        "lutime": lambda p: os.utime(p, (1, 1), follow_symlinks=False),
        "setxattr": lambda p: os.setxattr(p, "user.planted", b"x"),
        "removexattr": lambda p: os.removexattr(p, "user.kept"),
        "chown": lambda p: os.chown(p, os.getuid(), os.getgid()),
    }

    def metadata_by_path(self, path, how):
        """One metadata write by path (see _BY_PATH): True if it went
        through; an OSError if refused."""
        self._BY_PATH[how](path)
        return True

    def metadata_writes(self, path):
        """Every metadata write by path on `path`: {call: "ok" or the
        errno's name}. The values are harmless for a file of the parent's
        temp dir (mode 0666 of a copy, times, a user.* xattr)."""
        out = {}
        for how in ("chmod", "fchmodat", "utime", "setxattr"):
            try:
                self._BY_PATH[how](path)
                out[how] = "ok"
            except OSError as e:
                out[how] = errno.errorcode.get(e.errno, str(e.errno))
        return out

    def metadata_by_fd(self, path, how):
        """One metadata write through an fd of `path`, opened for writing
        (so only a file in a write grant): what the file then holds."""
        fd = os.open(path, os.O_RDWR)
        try:
            if how == "chmod":
                os.chmod(fd, 0o640)  # fchmod
                return os.fstat(fd).st_mode & 0o7777
            if how == "utime":
                os.utime(fd, (2, 2))  # futimens: utimensat(fd, NULL, ...)
                return os.fstat(fd).st_mtime
            if how == "setxattr":
                os.setxattr(fd, "user.mine", b"y")
                return os.getxattr(fd, "user.mine")
            raise ValueError(how)
        finally:
            os.close(fd)

    def probe(self, path):
        """What the metadata calls tell of a path without opening it: the
        same answers for a file that exists and one that does not mean
        nothing was learnt."""
        out = []
        for call in (os.stat, os.lstat, os.readlink,
                     lambda p: os.access(p, os.F_OK) or "no",
                     lambda p: os.path.exists(p) or "no",
                     lambda p: os.statvfs(p).f_bsize, os.chdir):
            try:
                r = call(path)
                out.append("ok" if r is None else
                           r if isinstance(r, str) else
                           (r.st_size, r.st_mode) if isinstance(r, os.stat_result) else r)
            except OSError as e:
                out.append(errno.errorcode.get(e.errno, e.errno))
        return out

    def probe_differs(self, present, absent):
        return self.probe(present) != self.probe(absent)

    def truncate(self, path, size):
        os.truncate(path, size)
        return True

    def late_import(self, name):
        """Import a module: (was it loaded before?, its name once loaded)."""
        before = name in sys.modules
        module = importlib.import_module(name)
        return before, module.__name__
