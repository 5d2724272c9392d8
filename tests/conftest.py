"""Checks run after every test of every suite: no child of ours is left (not
even a zombie), no fd has leaked, no extradited module entered sys.modules,
and this process is unharmed (same pid, not being traced)."""

import gc
import os
import sys

import pytest

import extradite._core

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from xtd_support import child_pids, leaked_modules, open_fds, tracer_pid  # noqa: E402


@pytest.fixture(autouse=True)
def no_leftovers():
    pid = os.getpid()
    before_fds = open_fds()
    before_children = child_pids()
    yield
    gc.collect()
    # the child extradite starts ahead for a next session (spare.h) is no
    # leftover: stop it, so that every test starts and ends without one
    extradite._core.drop_spare()
    assert os.getpid() == pid
    assert tracer_pid() == 0, "the test process is being traced"
    assert child_pids() - before_children == set(), "a child process was left behind"
    leaked = {fd for fd in open_fds() - before_fds if os.path.exists(f"/proc/self/fd/{fd}")}
    assert leaked == set(), f"fds leaked: {leaked}"
    assert leaked_modules() == [], "a target module was imported in the parent"
