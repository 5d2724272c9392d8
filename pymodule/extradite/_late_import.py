"""Child side, profiles with files_after_load = false (strict): once the
target is loaded, files cannot be opened and paths cannot even be stat'ed,
so an import that Python's finders cannot satisfy from memory fails. This
last finder says why, instead of a bare "No module named ...".

Imported before the lock (it is a file too); install() after it. It also
imports what the child's own error reports import lazily: formatting a
traceback reads source lines through linecache, which imports tokenize on
first use (Python 3.13)."""

import linecache  # noqa: F401
import sys
import tokenize  # noqa: F401


class _AfterLoad:
    @staticmethod
    def find_spec(name, path=None, target=None):
        raise ModuleNotFoundError(
            f"extradite: cannot import {name!r} now: this sandbox profile "
            "refuses file opens and path lookups once the target is loaded; "
            "import it at the top of the target's module instead",
            name=name,
        )


def install():
    if _AfterLoad not in sys.meta_path:
        sys.meta_path.append(_AfterLoad)
