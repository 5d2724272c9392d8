"""Checks shared by every test suite (tests/python, tests/security).

A plain module, not conftest.py: several conftest.py files are all imported
under the name "conftest", so tests import these helpers from here.
"""

import os
import sys
import time

# Packages that exist only to be extradited: the parent must never import them.
# (The hostile corpus ships inside extradite, for `python -m extradite selftest`.)
TARGET_PACKAGES = ("xtd_targets", "extradite._selftest.hostile", "xtd_robust")


def child_pids():
    """Pids whose parent is this process, zombies included, but for the
    child extradite started ahead for a next session (pymodule/spare.h),
    which no session has yet; the after-test check stops that one first."""
    me = os.getpid()
    spare = _spare()[0]
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command may contain spaces: fields resume after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and int(entry) != spare:
            pids.add(int(entry))
    return pids


def _spare():
    """(pid, fds) of the child extradite started ahead for a next session
    (pymodule/spare.h): no session's, and stopped by the after-test check
    before it looks for leftovers."""
    from extradite import _core

    spare = _core.spare()
    return (None, set()) if spare is None else (spare[0], {str(fd) for fd in spare[1:]})


def open_fds():
    """Our open fds, but for the spare child's (and the listing's own,
    closed by the time it is checked)."""
    listed = set(os.listdir("/proc/self/fd")) - _spare()[1]
    return {fd for fd in listed if os.path.exists(f"/proc/self/fd/{fd}")}


def leaked_modules():
    return sorted(
        m for m in sys.modules
        if any(m == p or m.startswith(p + ".") for p in TARGET_PACKAGES)
    )


def tracer_pid():
    """Who ptraces this process (0: nobody)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def gone(pid, timeout=5.0):
    """True once the process has exited and been reaped (its /proc entry
    stays while it is a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.01)
    return False
