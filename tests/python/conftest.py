"""Shared checks: after every test no child of ours is left (not even a
zombie), no fd has leaked, and no target module entered sys.modules."""

import gc
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def child_pids():
    """Pids whose parent is this process, zombies included."""
    me = os.getpid()
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
        if int(fields[1]) == me:
            pids.add(int(entry))
    return pids


def open_fds():
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_leftovers():
    before_fds = open_fds()
    before_children = child_pids()
    yield
    gc.collect()
    assert child_pids() - before_children == set(), "a child process was left behind"
    leaked = {fd for fd in open_fds() - before_fds if os.path.exists(f"/proc/self/fd/{fd}")}
    assert leaked == set(), f"fds leaked: {leaked}"
    assert not [m for m in sys.modules if m.startswith("xtd_targets")], (
        "a target module was imported in the parent"
    )
