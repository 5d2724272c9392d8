"""What lies beside the target's package: the cwd,
a home directory, a project root's .env, a module next to the target's
package. Only the target's own package is granted from such a folder."""

import importlib
import os

from ._common import Base


class GrantProber(Base):
    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def listdir(self, path):
        return sorted(os.listdir(path))

    def import_module(self, name):
        """Import a module the parent did not ask for (a sibling of the
        target's package, say); its name if that worked."""
        return importlib.import_module(name).__name__
