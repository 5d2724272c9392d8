"""Limits rlimits alone did not hold (issue 14, findings 4 and 5): bytes in
memfds (outside RLIMIT_AS) and the number of threads."""

import errno
import os

import pytest

import extradite
from xtd_checks import CONFINED, assert_remote

TARGET = "extradite._selftest.hostile.resources:Hog"


def _held(cls, limit):
    """What holds `limit` for this child, per its report; skips (saying
    why, as the report does) where nothing can on this machine."""
    limits = cls.sandbox_report().get("limits", {})
    held = limits.get(limit, "(no report)")
    if held is None:
        pytest.skip(f"nothing holds limits.{limit} here: {limits.get('not_held')}")
    return held


# finding 4
@pytest.mark.parametrize("profile", CONFINED)
def test_a_memfd_past_the_file_size_limit_is_refused(spawn, profile):
    hog = spawn(TARGET, profile)()
    with pytest.raises(OSError) as info:
        hog.memfd_fill((1 << 30) + (16 << 20))  # past the 1 GiB default
    assert_remote(info, OSError)
    assert info.value.errno == errno.EFBIG  # SIGXFSZ is ignored: an error, not a death
    assert hog.memfd_fill(1 << 20) == 1 << 20  # and the child goes on


def test_memfds_together_past_the_memory_limit_do_not_stay(spawn):
    """Each memfd under file_size, together over `memory`: the child's
    cgroup does not let it keep them (its OOM killer ends the child)."""
    profile = {"extends": "default", "limits": {"memory": "256M", "file_size": "128M"}}
    cls = spawn(TARGET, profile)
    _held(cls, "memory")
    with pytest.raises(extradite.ExtraditeError):
        cls().memfds_fill(4, 128 << 20)


# finding 5
@pytest.mark.parametrize("profile", CONFINED)
def test_threads_are_bounded(spawn, profile):
    cls = spawn(TARGET, profile)
    _held(cls, "processes")
    hog = cls()
    assert hog.threads(64) == 64  # ordinary use is fine
    with pytest.raises(RuntimeError) as info:
        hog.threads(300)  # past the default 256
    assert_remote(info, RuntimeError)
    assert hog.threads(64) == 64  # they were let go: the child goes on


def test_a_profile_sets_the_process_limit(spawn):
    cls = spawn(TARGET, {"extends": "default", "limits": {"processes": 32}})
    _held(cls, "processes")
    with pytest.raises(RuntimeError):
        cls().threads(40)


def test_the_report_says_what_holds_each_limit(spawn):
    limits = spawn(TARGET, "strict").sandbox_report()["limits"]
    assert limits["file_size"] == "RLIMIT_FSIZE"
    assert limits["address_space"] in ("RLIMIT_AS", None)  # None: ASan build
    for key in ("processes", "memory"):
        # held by something, or the report says why not
        assert limits[key] or key in (limits["not_held"] or ""), limits
    assert spawn(TARGET, "unconfined").sandbox_report()["limits"]["processes"] is None


def test_groups_left_by_a_dead_parent_are_removed(spawn):
    from extradite import _cgroup

    cls = spawn(TARGET, "default")
    _held(cls, "processes")
    procs = cls.__extradite_session__.pid
    with open(f"/proc/{procs}/cgroup") as f:
        pids_line = next((line for line in f if ":pids:" in line or line.startswith("0::")), None)
    assert pids_line, "the child is in no pids group"
    path = pids_line.rstrip("\n").split(":", 2)[2]
    hierarchy = "/sys/fs/cgroup/pids" if ":pids:" in pids_line else "/sys/fs/cgroup"
    base = os.path.dirname(os.path.join(hierarchy, path.lstrip("/")))
    # a pid that is not running: ours plus one, reaped at once
    import subprocess
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = os.path.join(base, f"extradite-{dead.pid}-0")
    os.mkdir(stale)
    try:
        _cgroup._swept.discard(base)  # this process swept it already
        spawn(TARGET, "default")().ping()
        assert not os.path.exists(stale), "the stale group is still there"
    finally:
        if os.path.exists(stale):
            os.rmdir(stale)
