"""The spare child (pymodule/spare.h): once this interpreter has started
two children it starts the next one ahead, and the next session adopts
it; the adopted child is confined as its own session says. A dead spare
is replaced, EXTRADITE_SPARE=0 turns spares off, dropping one leaves
nothing, and a forked process lets go of it."""

import os
import signal
import time

import pytest

from extradite import _core
from extradite import extradite as xtd
from xtd_support import gone

TARGET = "xtd_targets.counter:Counter"


def start(sandbox="default"):
    cls = xtd(TARGET, sandbox=sandbox)
    cls().increment()  # booted and serving
    return cls


@pytest.fixture
def two_started():
    """Two classes started (from then on there is a spare), closed after."""
    classes = [start(), start()]
    yield classes
    for cls in classes:
        cls.close()


def test_the_next_session_adopts_the_spare(two_started):
    spare = _core.spare()
    assert spare is not None
    cls = start()
    try:
        assert cls.__extradite_session__.pid == spare[0]
        # and the one after it has its own spare waiting
        assert _core.spare() is not None and _core.spare()[0] != spare[0]
    finally:
        cls.close()


def test_an_adopted_spare_is_confined_by_its_own_sessions_profile(two_started):
    spare = _core.spare()
    cls = start("strict")
    try:
        session = cls.__extradite_session__
        assert session.pid == spare[0]
        assert session.sandbox_report["profile"] == "strict"
        assert session.sandbox_report["seccomp"]["enabled"]
    finally:
        cls.close()


def zombie(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_dead_spare_is_replaced(two_started):
    pid = _core.spare()[0]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.001)
    cls = start()
    try:
        assert cls.__extradite_session__.pid != pid
        assert cls().increment() == 1
    finally:
        cls.close()
    assert gone(pid), "the dead spare was not reaped"


def test_dropping_the_spare_leaves_nothing(two_started):
    pid, sock, pidfd = _core.spare()
    _core.drop_spare()
    assert _core.spare() is None
    assert gone(pid)
    for fd in (sock, pidfd):
        with pytest.raises(OSError):
            os.fstat(fd)  # closed (no other test runs meanwhile)


def test_no_spare_when_turned_off(two_started, monkeypatch):
    _core.drop_spare()
    monkeypatch.setenv("EXTRADITE_SPARE", "0")
    cls = start()
    try:
        assert _core.spare() is None
    finally:
        cls.close()


# The forked child only asks _core about the spare and exits: no lock of
# the other threads (the keep-alive reaper, earlier tests') is taken there.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_process_lets_go_of_the_spare(two_started):
    pid = _core.spare()[0]
    child = os.fork()
    if child == 0:
        # not our child there: forgotten, neither used nor killed
        os._exit(0 if _core.spare() is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _core.spare()[0] == pid
    assert os.path.exists(f"/proc/{pid}")  # still alive, still ours
