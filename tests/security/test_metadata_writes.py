"""Metadata writes by path: Landlock governs opening, creating and removing
files, not chmod, chown, utime or setxattr. Under a profile with the
files_write group (a write grant), the path forms of those calls must be
refused wherever the path is, since the filter cannot read the path; the
fd forms fchmod and futimens still work on files opened in the grant."""

import errno
import os
import stat

import pytest

from xtd_checks import assert_remote

FILES = "extradite._selftest.hostile.files:FileAttacker"


def _xattrs_work(path):
    try:
        os.setxattr(path, "user.kept", b"k")
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return False
        raise
    return True


def _state(path):
    st = os.lstat(path)
    try:
        xattrs = sorted(os.listxattr(path))
    except OSError:
        xattrs = None
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, xattrs


@pytest.fixture
def outside(tmp_path):
    """A file of the test's, outside every grant, and whether its file
    system takes user.* xattrs."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"the test's file")
    victim.chmod(0o600)
    os.utime(victim, (1_000_000, 1_000_000))
    return victim, _xattrs_work(victim)


BY_PATH = ["chmod", "fchmodat", "utime", "lutime", "setxattr", "removexattr", "chown"]


@pytest.mark.parametrize("how", BY_PATH)
def test_no_metadata_write_by_path_outside_the_grants(spawn, writable, outside, how):
    profile, _ = writable
    victim, xattrs = outside
    if how in ("setxattr", "removexattr") and not xattrs:
        pytest.skip(f"{victim.parent}'s file system takes no user.* xattrs")
    before = _state(victim)
    attacker = spawn(FILES, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.metadata_by_path(str(victim), how)
    assert_remote(info)
    assert _state(victim) == before
    assert attacker.ping() == "pong"


@pytest.mark.parametrize("how", BY_PATH)
def test_no_metadata_write_by_path_inside_the_grant_either(spawn, writable, how):
    """The filter cannot tell a granted path from another: the path forms
    are refused in the grant too (docs/containment.md)."""
    profile, grant = writable
    mine = grant / "mine.txt"
    mine.write_bytes(b"x")
    xattrs = _xattrs_work(mine)
    if how in ("setxattr", "removexattr") and not xattrs:
        pytest.skip(f"{grant}'s file system takes no user.* xattrs")
    before = _state(mine)
    attacker = spawn(FILES, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.metadata_by_path(str(mine), how)
    assert_remote(info)
    assert _state(mine) == before


def test_fd_forms_still_work_in_the_grant(spawn, writable):
    profile, grant = writable
    mine = grant / "mine.txt"
    mine.write_bytes(b"x")
    mine.chmod(0o600)
    attacker = spawn(FILES, profile)()
    assert attacker.metadata_by_fd(str(mine), "chmod") == 0o640
    assert stat.S_IMODE(mine.stat().st_mode) == 0o640
    assert attacker.metadata_by_fd(str(mine), "utime") == 2
    assert mine.stat().st_mtime == 2


def test_fsetxattr_stays_refused(spawn, writable):
    """fsetxattr is in no group: the kernel checks the inode's permission,
    not the fd's open mode, so an fd opened read-only under a read grant
    would set xattrs on a file outside the write grants."""
    profile, grant = writable
    mine = grant / "mine.txt"
    mine.write_bytes(b"x")
    if not _xattrs_work(mine):
        pytest.skip(f"{grant}'s file system takes no user.* xattrs")
    attacker = spawn(FILES, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.metadata_by_fd(str(mine), "setxattr")
    assert_remote(info)
    assert "user.mine" not in os.listxattr(mine)


@pytest.mark.parametrize("profile", ["strict", "default", "network"])
def test_builtins_write_no_metadata(spawn, outside, profile):
    victim, xattrs = outside
    before = _state(victim)
    got = spawn(FILES, profile)().metadata_writes(str(victim))
    assert "ok" not in got.values(), got
    assert _state(victim) == before
