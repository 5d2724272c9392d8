"""Resources: memory and process limits hold, and call_timeout kills a child
that hangs its caller however it does it."""

import time

import pytest

import extradite
from extradite import _core
from xtd_checks import assert_dead, assert_remote, child_pid

TARGET = "extradite._selftest.hostile.resources:Hog"
TIMEOUT = 1.5


@pytest.mark.skipif(
    _core._asan_build,
    reason="an ASan build does not apply RLIMIT_AS, the limit under test",
)
def test_memory_bomb_is_a_memory_error(spawn):
    hog = spawn(TARGET)()
    with pytest.raises(MemoryError) as info:
        hog.allocate(8 << 30)  # over the 4 GiB address-space limit
    assert_remote(info, MemoryError)
    assert hog.allocate(1 << 20) == 1 << 20  # the child survives its MemoryError


def test_fork_bomb_is_refused(spawn):
    hog = spawn(TARGET)()
    with pytest.raises(PermissionError) as info:
        hog.fork_bomb()
    assert_remote(info)
    assert hog.ping() == "pong"


@pytest.mark.parametrize(
    "profile, method",
    [
        ("default", "spin"),
        ("unconfined", "spin"),  # timeouts do not depend on the sandbox
        ("default", "c_spin"),
        ("default", "stop_self"),
        ("default", "stubborn_spin"),
        ("strict", "stubborn_spin"),
    ],
)
def test_call_timeout_kills_a_hanging_child(spawn, profile, method):
    cls = spawn(TARGET, profile, call_timeout=TIMEOUT)
    hog = cls()
    pid = child_pid(cls)
    start = time.monotonic()
    with pytest.raises(extradite.ExtraditeTimeoutError) as info:
        getattr(hog, method)()
    elapsed = time.monotonic() - start
    assert isinstance(info.value, TimeoutError)
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 10
    assert_dead(cls, pid)


def test_call_timeout_leaves_fast_calls_alone(spawn):
    hog = spawn(TARGET, call_timeout=TIMEOUT)()
    for _ in range(3):
        assert hog.ping() == "pong"
        time.sleep(TIMEOUT / 2)  # idle time between calls does not count
    assert hog.ping() == "pong"
