"""File-system escapes: reading outside the grants, writing anywhere,
tampering with the Python installation and with extradite itself."""

import importlib
import os
import sys

from ._common import Base


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

    def truncate(self, path, size):
        os.truncate(path, size)
        return True

    def late_import(self, name):
        """Import a module: (was it loaded before?, its name once loaded)."""
        before = name in sys.modules
        module = importlib.import_module(name)
        return before, module.__name__
