"""Child side, profiles with Landlock: imports from the user's folders.

A sys.path folder that is not Python's own or site-packages (the cwd, a
script's folder, a project root) is not granted whole: only the target's
top-level package or module in it is (_sandbox.py, docs/containment.md).
Python's path finder lists a folder to find a module in it, and Landlock
refuses that listing, so:

- before the lock, a finder for the target's top-level name lists that
  one folder (its own cache, not sys.path_importer_cache), and after it
  answers for that name only;
- a last finder on sys.meta_path looks for a module such a folder holds:
  one granted by itself (a path in the profile) is loaded from there; one
  not granted gets an error that names the path and the fix, instead of
  a bare "No module named ...".

Both are best effort and never raise anything but that explanation:
a failure here must not stop the child.

prepare() runs before the lock (this module is a file, and so are the
loaders it names), with the parent's hint (_sandbox._imports_hint).
"""

import os
import sys
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    ModuleSpec,
    PathFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)

_LOADERS = (
    (ExtensionFileLoader, EXTENSION_SUFFIXES),
    (SourceFileLoader, SOURCE_SUFFIXES),
    (SourcelessFileLoader, BYTECODE_SUFFIXES),
)
_SUFFIXES = (*SOURCE_SUFFIXES, *BYTECODE_SUFFIXES, *EXTENSION_SUFFIXES)


class _Target:
    """Finds the target's top-level package or module in its folder,
    listed before the lock."""

    def __init__(self, top, folder):
        self.top = top
        self.finder = FileFinder(folder, *_LOADERS)
        self.finder.find_spec(top)  # lists the folder now, while it may

    def find_spec(self, name, path=None, target=None):
        if path is not None or name != self.top:
            return None
        try:
            spec = self.finder.find_spec(name, target)
            if spec is not None and spec.has_location and spec.origin:
                # Not granted (a profile without {target_package}): the
                # last finder says so, naming the path.
                os.close(os.open(spec.origin, os.O_RDONLY | os.O_CLOEXEC))
            return spec
        except Exception:
            return None

    def invalidate_caches(self):
        pass  # the listing cannot be made again


def _spec(name, path):
    """What importlib.util.spec_from_file_location makes (without
    importing importlib.util, 3 ms of a child's start)."""
    package = os.path.basename(path).startswith("__init__.")
    for loader, suffixes in _LOADERS:
        if path.endswith(tuple(suffixes)):
            spec = ModuleSpec(name, loader(name, path), origin=path, is_package=package)
            spec.has_location = True
            if package:
                spec.submodule_search_locations = [os.path.dirname(path)]
            return spec
    return None


class _Refused:
    """Last on sys.meta_path: an import nothing found, though the module
    is there on disk in a folder the sandbox does not let Python list.
    Granted by itself (a literal path in the profile): its spec. Refused:
    ModuleNotFoundError naming the file and the fix."""

    def __init__(self, hint):
        self.profile = hint.get("profile") or "default"
        self.read = [r for r in hint.get("read") or () if isinstance(r, str)]
        self.target = hint.get("target") if isinstance(hint.get("target"), str) else None

    def find_spec(self, name, path=None, target=None):
        try:
            found, readable = self._on_disk(name, path)
            if found is None:
                return None
            if readable:
                # Granted one by one (a profile's literal path) in a
                # folder that cannot be listed: load it from there.
                return _spec(name, found)
        except Exception:
            return None
        raise ModuleNotFoundError(self._message(name, found), name=name)

    def _on_disk(self, name, path):
        """(the file of module `name` in `path`, or None; whether it can
        be opened)."""
        tail = name.rpartition(".")[2]
        for folder in sys.path if path is None else path:
            if not isinstance(folder, str) or not os.path.isabs(folder):
                continue
            candidates = [os.path.join(folder, tail, "__init__" + s) for s in _SUFFIXES]
            candidates += [os.path.join(folder, tail + s) for s in _SUFFIXES]
            for candidate in candidates:
                try:
                    os.stat(candidate)  # metadata: not governed by Landlock
                except OSError:
                    continue  # absent, or strict after its load: not ours
                try:
                    os.close(os.open(candidate, os.O_RDONLY | os.O_CLOEXEC))
                except PermissionError:
                    return candidate, False
                except OSError:
                    continue
                return candidate, True
        return None, False

    def _message(self, name, found):
        parent = os.path.dirname(found)
        grant = parent if os.path.basename(found).startswith("__init__.") else found
        entries = ", ".join(f'"{r}"' for r in [*self.read, grant])
        builtin = self.profile in ("strict", "default", "network")
        extends = f'extends = "{self.profile}"\n' if builtin else ""
        return (
            f"extradite: cannot import {name!r}: {found} exists, but the sandbox "
            f"profile {self.profile!r} does not grant reading it. From a folder on "
            "sys.path that is not Python's own or site-packages, only the target's "
            "own top-level package is readable, not the folder. Grant it in a "
            f"profile (lists replace the base's, so repeat them):\n{extends}"
            f"[landlock]\nread = [{entries}]\n"
            "or let `python -m extradite learn TARGET --exercise SCRIPT` write one; "
            "or move the module into the target's package."
            + (
                f" This child was started for {self.target!r}: a child shared "
                "through share_key is granted that target's package only."
                if self.target else
                " This child was started without a target "
                "(prewarm_extradite_session without preload): pass "
                "preload=(target,) so that its package is granted."
            )
        )

    def invalidate_caches(self):
        pass


def prepare(hint):
    """Before the lock: install the finders. Never raises."""
    try:
        folders = set(hint.get("folders") or ())
        # A folder listed earlier (by the bootstrap) would let the path
        # finder find a module there whose open the lock then refuses:
        # forget those listings, so it asks again, under the lock.
        for folder in folders:
            sys.path_importer_cache.pop(folder, None)
        top, folder = hint.get("top"), hint.get("top_dir")
        meta = sys.meta_path
        if isinstance(top, str) and isinstance(folder, str):
            at = meta.index(PathFinder) if PathFinder in meta else len(meta)
            meta.insert(at, _Target(top, folder))
        meta.append(_Refused(hint))
    except Exception:
        pass
