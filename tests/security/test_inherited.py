"""What the child inherits from us: no fd but its channel, none of our
environment, no capability, and no way into our /proc entries."""

import os

import pytest

from xtd_checks import CONFINED, assert_remote

TARGET = "extradite._selftest.hostile.inherited:Snoop"


@pytest.mark.parametrize("profile", CONFINED)
def test_no_fd_beyond_the_channel(spawn, profile):
    # an inheritable fd of ours, open while the child starts
    leaked = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        snoop = spawn(TARGET, profile)()
    finally:
        os.close(leaked)
    assert snoop.open_fds_between(4, 1024) == []
    assert snoop.open_fds_between(0, 3) == [0, 1, 2, 3]


@pytest.mark.parametrize("profile", ["default", "unconfined"])
def test_environment_has_no_parent_secret(spawn, monkeypatch, profile):
    monkeypatch.setenv("EXTRADITE_PARENT_SECRET", "hunter2")
    snoop = spawn(TARGET, profile)()
    env = snoop.environ()
    assert "EXTRADITE_PARENT_SECRET" not in env
    assert "hunter2" not in "".join(env.values())
    # the raw block too, not just what Python chose to show
    assert b"hunter2" not in snoop.raw_environ()


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("entry", ["environ", "mem"])
def test_parent_environ_and_memory_are_unreadable(spawn, monkeypatch, profile, entry):
    monkeypatch.setenv("EXTRADITE_PARENT_SECRET", "hunter2")
    snoop = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        snoop.read(f"/proc/{os.getpid()}/{entry}")  # we are its parent
    assert_remote(info)


@pytest.mark.parametrize("profile", ["default", "network"])
def test_no_capabilities_and_no_new_privileges(spawn, profile):
    status = spawn(TARGET, profile)().status()
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[field], 16) == 0, f"{field} = {status[field]}"
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"  # filter mode
