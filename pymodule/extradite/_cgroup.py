"""Per-child cgroups: the limits rlimits cannot hold.

RLIMIT_NPROC never binds uid 0 (the kernel exempts the root user, whatever
its capabilities), and without a user namespace it counts every process
of the user; memfd and tmpfs pages are outside RLIMIT_AS. So where this
process may create cgroups (root, cgroup v1 with the pids/memory
hierarchies, or v2 with those controllers enabled below our own group),
each child gets a group of its own with pids.max and a memory limit. The
parent makes it before the child starts; the child joins it (writes 0 to
its cgroup.procs) first thing after reading its bootstrap, before any
untrusted code; the parent removes it when the child is gone, and the
first time it makes one in a place, the empty ones of parents that died
without removing theirs.
"""

import itertools
import os
import re
import time

_ROOT = "/sys/fs/cgroup"
_serial = itertools.count()
_STALE = re.compile(r"^extradite-(\d+)-\d+$")
_swept = set()  # bases swept by this process: once is enough

# limit name -> (v1 hierarchy, v1 file, v2 file)
_FILES = {
    "processes": ("pids", "pids.max", "pids.max"),
    "memory": ("memory", "memory.limit_in_bytes", "memory.max"),
}


class Cgroups:
    """What was made for one child: directories, the cgroup.procs files the
    child joins, the limits they hold, and why the others are not held."""

    def __init__(self):
        self.dirs = []
        self.procs = []
        self.holds = []
        self.missing = []

    def policy(self):
        return {"procs": list(self.procs), "holds": list(self.holds),
                "missing": "; ".join(self.missing)}

    def remove(self):
        # The child may still be exiting: a group with a task cannot go.
        for d in reversed(self.dirs):
            for delay in (0, 0.01, 0.05, 0.2, 0.5):
                time.sleep(delay)
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    continue
        self.dirs = []


def _own(match):
    """This process's path in the hierarchy whose /proc/self/cgroup line
    matches (hierarchy id, controllers)."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                hid, ctrls, path = line.rstrip("\n").split(":", 2)
                if match(hid, ctrls.split(",")):
                    return path
    except (OSError, ValueError):
        pass
    return None


def _write(path, value):
    with open(path, "w") as f:
        f.write(f"{value}\n")


def _name():
    return f"extradite-{os.getpid()}-{next(_serial)}"


def _sweep(base):
    """Remove the empty groups parents that died without closing left in
    base (extradite-<pid>-<n> of a pid that no longer exists)."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        m = _STALE.match(name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue  # that parent is alive: its groups are its own
        except ProcessLookupError:
            pass
        except OSError:
            continue
        try:
            os.rmdir(os.path.join(base, name))
        except OSError:
            pass  # not empty (a child still in it) or already gone


def _make(cg, base, files):
    """One group under base holding files {limit: (file, value)}."""
    base = os.path.normpath(base)
    if base not in _swept:
        _swept.add(base)
        _sweep(base)
    d = os.path.join(base, _name())
    os.mkdir(d, 0o755)
    cg.dirs.append(d)
    for limit, (file, value) in files.items():
        try:
            _write(os.path.join(d, file), value)
            cg.holds.append(limit)
        except OSError as e:
            cg.missing.append(f"{limit}: cannot write {file} in {base}: {e.strerror}")
    cg.procs.append(os.path.join(d, "cgroup.procs"))


def create(limits):
    """A Cgroups holding limits["processes"] and limits["memory"] (those
    that are nonzero) where this machine lets us."""
    cg = Cgroups()
    wanted = {k: limits.get(k, 0) for k in _FILES if limits.get(k, 0)}
    if not wanted:
        return cg
    try:
        if os.path.exists(os.path.join(_ROOT, "cgroup.controllers")):
            own = _own(lambda hid, ctrls: hid == "0")
            base = os.path.join(_ROOT, (own or "/").lstrip("/"))
            with open(os.path.join(base, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
            files = {}
            for limit, value in wanted.items():
                controller, _v1, v2file = _FILES[limit]
                if controller in enabled:
                    files[limit] = (v2file, value)
                else:
                    cg.missing.append(f"{limit}: the {controller} controller is not "
                                      f"enabled for groups below {base}")
            if files:
                _make(cg, base, files)
        else:
            for limit, value in wanted.items():
                controller, v1file, _v2 = _FILES[limit]
                own = _own(lambda hid, ctrls, c=controller: c in ctrls)
                mount = os.path.join(_ROOT, controller)
                if own is None or not os.path.isdir(mount):
                    cg.missing.append(f"{limit}: no {controller} cgroup hierarchy")
                    continue
                _make(cg, os.path.join(mount, own.lstrip("/")), {limit: (v1file, value)})
    except OSError as e:
        cg.missing.append(f"cgroups: {e.strerror} ({e.filename or _ROOT})")
    for limit in wanted:
        if limit not in cg.holds and not any(m.startswith(limit) for m in cg.missing):
            cg.missing.append(f"{limit}: not held")
    return cg
