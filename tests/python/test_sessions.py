"""Shared children (share_key), keep-alive, prewarming and closing."""

import os
import signal
import time

import pytest

import extradite
from extradite import close_extradite_session, prewarm_extradite_session
from extradite import extradite as xtd
from xtd_support import child_pids, gone

COUNTER = "xtd_targets.counter:Counter"
HELPER = "xtd_targets.counter:Helper"


def pid_of(cls):
    return cls.__extradite_session__.pid


def test_same_key_shares_one_child_across_targets():
    Counter = xtd(COUNTER, "k1")
    Helper = xtd(HELPER, "k1")
    try:
        assert pid_of(Counter) == pid_of(Helper)
        assert Helper("t").describe() == "helper:t"
        assert Counter(2).increment() == 3
    finally:
        Counter.close()
        Helper.close()


def test_different_keys_and_no_key_get_their_own_children():
    a = xtd(COUNTER, "k-a")
    b = xtd(COUNTER, "k-b")
    c = xtd(COUNTER)
    try:
        assert len({pid_of(a), pid_of(b), pid_of(c)}) == 3
    finally:
        a.close()
        b.close()
        c.close()


def test_child_stops_when_the_last_class_is_closed():
    Counter = xtd(COUNTER, "k-last")
    Helper = xtd(HELPER, "k-last")
    pid = pid_of(Counter)
    Counter.close()
    Counter.close()  # idempotent: must not give back Helper's hold too
    assert Helper("x").describe() == "helper:x"
    assert pid in child_pids()
    Helper.close()
    assert gone(pid)
    with pytest.raises(extradite.ExtraditeProtocolError):
        Helper("y")


def test_dropping_a_shared_class_gives_it_back():
    Counter = xtd(COUNTER, "k-drop")
    pid = pid_of(Counter)
    del Counter
    import gc

    gc.collect()
    assert gone(pid)


@pytest.mark.parametrize(
    "first, second, word",
    [
        ({}, {"sandbox": "strict"}, "sandbox"),
        ({"sandbox": "strict"}, {"sandbox": {"extends": "strict", "limits": {"open_files": 99}}}, "sandbox"),
        ({}, {"call_timeout": 5}, "call_timeout"),
        ({"share_keepalive_seconds": 5}, {}, "share_keepalive_seconds"),
    ],
)
def test_reusing_a_key_with_other_settings_is_refused(first, second, word):
    Counter = xtd(COUNTER, "k-mismatch", **first)
    try:
        children = child_pids()
        with pytest.raises(ValueError, match=word):
            xtd(HELPER, "k-mismatch", **second)
        assert child_pids() == children
        assert Counter(1).increment() == 2  # the running child is unharmed
    finally:
        Counter.close()
        close_extradite_session("k-mismatch")  # the keep-alive case lingers


def test_same_settings_spelled_the_same_way_are_accepted(monkeypatch):
    monkeypatch.setenv("EXTRADITE_SANDBOX", "default")
    Counter = xtd(COUNTER, "k-same")
    Helper = xtd(HELPER, "k-same", sandbox="default")
    try:
        assert pid_of(Counter) == pid_of(Helper)
    finally:
        Counter.close()
        Helper.close()


def test_keepalive_keeps_an_idle_child_for_a_while():
    Counter = xtd(COUNTER, "k-keep", share_keepalive_seconds=30)
    pid = pid_of(Counter)
    Counter.close()
    assert pid in child_pids()
    Again = xtd(COUNTER, "k-keep", share_keepalive_seconds=30)
    try:
        assert pid_of(Again) == pid  # reused, not restarted
    finally:
        Again.close()
        assert close_extradite_session("k-keep") is True
    assert gone(pid)


def test_keepalive_expires():
    Counter = xtd(COUNTER, "k-expire", share_keepalive_seconds=0.2)
    pid = pid_of(Counter)
    Counter.close()
    assert gone(pid)
    assert close_extradite_session("k-expire") is False


def test_keepalive_requires_share_key():
    with pytest.raises(ValueError, match="requires share_key"):
        xtd(COUNTER, share_keepalive_seconds=1)


def test_share_key_must_be_a_string():
    with pytest.raises(TypeError, match="share_key"):
        xtd(COUNTER, 42)


def test_prewarm_then_use():
    # A child in a folder of ours (not site-packages) is granted only the
    # package of the target it is started for: preload names it.
    assert prewarm_extradite_session("k-warm", preload=[HELPER]) is True
    assert prewarm_extradite_session("k-warm") is False
    Counter = xtd(COUNTER, "k-warm")
    try:
        assert Counter(0).increment(5) == 5
        assert Counter.sandbox_report()["profile"] == "default"
    finally:
        Counter.close()
    assert close_extradite_session("k-warm") is False  # stopped with its last class


def test_prewarm_takes_the_sandbox():
    assert prewarm_extradite_session("k-warm-strict", sandbox="strict", preload=[HELPER]) is True
    try:
        with pytest.raises(ValueError, match="sandbox"):
            prewarm_extradite_session("k-warm-strict", sandbox="network")
        with pytest.raises(ValueError, match="sandbox"):
            xtd(COUNTER, "k-warm-strict")
        Counter = xtd(COUNTER, "k-warm-strict", sandbox="strict")
        assert Counter.sandbox_report()["profile"] == "strict"
        Counter.close()
    finally:
        close_extradite_session("k-warm-strict")


def test_prewarm_refuses_a_bad_profile_before_starting():
    children = child_pids()
    with pytest.raises(ValueError, match="unknown key"):
        prewarm_extradite_session("k-bad", sandbox={"nope": {}})
    assert child_pids() == children
    assert close_extradite_session("k-bad") is False


def test_close_session_ends_its_classes():
    Counter = xtd(COUNTER, "k-close")
    counter = Counter(1)
    pid = pid_of(Counter)
    assert close_extradite_session("k-close") is True
    assert gone(pid)
    with pytest.raises(extradite.ExtraditeProtocolError):
        counter.increment()
    Counter.close()  # still fine afterwards
    assert close_extradite_session("k-close") is False


def test_a_dead_shared_child_is_replaced():
    Counter = xtd(COUNTER, "k-dead")
    pid = pid_of(Counter)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(extradite.ExtraditeProtocolError):
        Counter(1)
    Fresh = xtd(COUNTER, "k-dead")
    try:
        assert pid_of(Fresh) != pid
        assert Fresh(1).increment() == 2
    finally:
        Fresh.close()
        Counter.close()


def test_prewarm_returns_with_the_child_serving():
    assert prewarm_extradite_session("k-ready") is True
    try:
        # The sandbox report arrives before the child serves anything: a
        # prewarmed child has sent it already.
        from extradite import _sessions

        session = _sessions._shared["k-ready"].session
        assert session.sandbox_report["profile"] == "default"
        assert session.requests == 1  # the one ping
    finally:
        assert close_extradite_session("k-ready") is True


def test_prewarm_raises_when_the_child_cannot_start():
    children = child_pids()
    # One fd: the child cannot open the paths Landlock grants, and fails
    # closed while confining itself.
    with pytest.raises(extradite.ExtraditeError, match="could not confine"):
        prewarm_extradite_session("k-broken", sandbox={"limits": {"open_files": 1}})
    assert close_extradite_session("k-broken") is False
    assert child_pids() == children


def _exited(pid, timeout=30.0):
    """Wait until pid is a zombie: it exited, and nobody reaped it yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        time.sleep(0.005)
    return False


def test_a_start_failure_wins_even_when_the_child_exits_before_the_first_request():
    # The race a busy machine lost once: the child reads its bootstrap,
    # fails to confine itself, reports why and exits before our first
    # request goes out. That request then meets a closed channel, and the
    # report is still there to read.
    from extradite import _sessions

    session, stop = _sessions.start("os", {"limits": {"open_files": 1}}, None)
    try:
        assert _exited(session.pid), "the child did not exit"
        with pytest.raises(extradite.ExtraditeError, match="could not confine"):
            session.ping()
        with pytest.raises(extradite.ExtraditeProtocolError, match="dead"):
            session.ping()
    finally:
        stop()


# ---- prewarm(preload=...) ----------------------------------------------

STAMPED = "xtd_targets.stamped:Stamped"


def shared_session(key):
    from extradite import _sessions

    return _sessions._shared[key].session


def test_prewarm_preload_imports_the_target_before_it_returns():
    before = time.monotonic()
    assert prewarm_extradite_session("k-pre", preload=[STAMPED]) is True
    after = time.monotonic()
    try:
        session = shared_session("k-pre")
        requests = session.requests
        Stamped = xtd(STAMPED, "k-pre")
        # Loaded at prewarm: no LOAD round trip now, and the import ran
        # while prewarm ran.
        assert session.requests == requests
        assert pid_of(Stamped) == session.pid
        assert before <= Stamped.imported_at() <= after
        assert Stamped().ping() == "pong"
        Stamped.close()
    finally:
        close_extradite_session("k-pre")  # stopped already with its last class


def test_prewarm_preload_into_a_running_child():
    assert prewarm_extradite_session("k-pre-run", preload=[HELPER]) is True
    try:
        session = shared_session("k-pre-run")
        pid = session.pid
        assert prewarm_extradite_session("k-pre-run", preload=(COUNTER, HELPER)) is False
        requests = session.requests
        Counter = xtd(COUNTER, "k-pre-run")
        Helper = xtd(HELPER, "k-pre-run")
        assert session.requests == requests
        assert pid_of(Counter) == pid_of(Helper) == pid
        assert Counter(1).increment() == 2
        Counter.close()
        Helper.close()
    finally:
        close_extradite_session("k-pre-run")  # stopped already with its last class


def test_prewarm_preload_under_strict_loads_before_files_are_locked():
    assert prewarm_extradite_session("k-pre-strict", sandbox="strict", preload=[COUNTER]) is True
    try:
        Counter = xtd(COUNTER, "k-pre-strict", sandbox="strict")
        assert Counter(0).increment(3) == 3
        Counter.close()
    finally:
        close_extradite_session("k-pre-strict")  # stopped already with its last class


@pytest.mark.parametrize(
    "preload, error, match",
    [
        (COUNTER, TypeError, "not a single str"),
        (42, TypeError, "not int"),
        ([42], TypeError, "not int"),
        (["xtd_targets.counter"], ValueError, "is not of the form"),
        (["xtd_targets.counter:Counter", "no such:thing"], ValueError, "is not of the form"),
        (["os:PathLike"], extradite.ExtraditeModuleLeakError, "os"),
    ],
)
def test_prewarm_preload_refuses_bad_input_before_starting(preload, error, match):
    children = child_pids()
    with pytest.raises(error, match=match):
        prewarm_extradite_session("k-pre-bad", preload=preload)
    assert child_pids() == children
    assert close_extradite_session("k-pre-bad") is False


@pytest.mark.parametrize(
    "target, error",
    [
        ("xtd_targets.raise_on_import:Anything", RuntimeError),
        ("xtd_targets.no_such_module:Anything", ModuleNotFoundError),
        ("xtd_targets.counter:NoSuchClass", AttributeError),
    ],
)
def test_prewarm_preload_that_cannot_load_raises_and_stops_the_child(target, error):
    # What extradite() raises for it...
    with pytest.raises(error):
        xtd(target)
    children = child_pids()
    # ...prewarm raises too, and leaves no child behind.
    with pytest.raises(error) as info:
        prewarm_extradite_session("k-pre-fail", preload=[COUNTER, target])
    assert isinstance(info.value, extradite.ExtraditeRemoteError)
    assert child_pids() == children
    assert close_extradite_session("k-pre-fail") is False


def test_prewarm_preload_failing_in_a_running_child_leaves_it_running():
    assert prewarm_extradite_session("k-pre-keep", preload=[HELPER]) is True
    try:
        pid = shared_session("k-pre-keep").pid
        with pytest.raises(RuntimeError):
            prewarm_extradite_session(
                "k-pre-keep", preload=["xtd_targets.raise_on_import:Anything"]
            )
        assert pid in child_pids()
        Counter = xtd(COUNTER, "k-pre-keep")
        assert pid_of(Counter) == pid
        Counter.close()
    finally:
        close_extradite_session("k-pre-keep")  # stopped already with its last class
