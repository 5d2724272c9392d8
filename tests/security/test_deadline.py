"""A call's deadline and Ctrl-C hold whatever the child sends meanwhile
(docs/deadlines.md): a child that keeps the parent busy with callback
requests cannot hold a call past call_timeout, and a signal whose handler
raises ends a waiting call promptly, the child killed.

The bounds are loose on purpose: the machine may be busy. The old code
took the whole flood (FLOOD seconds) or the whole sleep."""

import os
import signal
import threading
import time

import pytest

import extradite
from xtd_checks import child_pid
from xtd_support import gone

TARGET = "extradite._selftest.hostile.flood:Flooder"
FLOOD = 12  # seconds the child keeps flooding
SLEEP = 10  # seconds the child takes to answer


def _a_little_work():
    # the parent's own callback, slower than the child's requests come:
    # the ring never runs dry
    time.sleep(0.0005)


@pytest.mark.parametrize("profile", ["strict", "default"])
def test_a_callback_flood_cannot_hold_a_call_past_call_timeout(spawn, profile):
    cls = spawn(TARGET, profile, call_timeout=1.0)
    flooder = cls()
    assert flooder.rings_found(), "the child did not find its rings"
    pid = child_pid(cls)
    start = time.monotonic()
    with pytest.raises(extradite.ExtraditeTimeoutError) as info:
        flooder.ring_flood(_a_little_work, FLOOD)
    elapsed = time.monotonic() - start
    assert elapsed < 4.0, f"the call lasted {elapsed:.1f} s with call_timeout=1"
    assert "call_timeout" in str(info.value)
    assert gone(pid), "the flooding child was not killed"


@pytest.fixture
def signal_in():
    """signal_in(delay, signum, handler=None): send signum to this process
    after delay seconds, with handler installed for it (None: leave it, but
    SIGINT gets Python's KeyboardInterrupt handler: a process started as a
    background job of a non-interactive shell, as CI may start us, inherits
    SIGINT ignored and Python then installs no handler); joined and the old
    handlers restored at the end."""
    timers, old = [], {}

    def arm(delay, signum, handler=None):
        if handler is None and signum == signal.SIGINT:
            handler = signal.default_int_handler
        if handler is not None:
            old.setdefault(signum, signal.getsignal(signum))
            signal.signal(signum, handler)
        timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
        timers.append(timer)
        timer.start()

    yield arm
    for timer in timers:
        timer.cancel()
        timer.join()
    for signum, handler in old.items():
        signal.signal(signum, handler)


def _assert_abandoned(cls, proxy, pid):
    assert gone(pid), "the interrupted call's child was not killed"
    with pytest.raises(extradite.ExtraditeProtocolError) as info:
        proxy.ping()
    assert "interrupted" in str(info.value)


@pytest.mark.parametrize("call_timeout", [None, 30.0])
def test_ctrl_c_ends_a_waiting_call(spawn, signal_in, call_timeout):
    cls = spawn(TARGET, call_timeout=call_timeout)
    sleeper = cls()
    pid = child_pid(cls)
    signal_in(1.0, signal.SIGINT)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sleeper.sleep(SLEEP)
    elapsed = time.monotonic() - start
    assert elapsed < 6.0, f"KeyboardInterrupt came after {elapsed:.1f} s"
    _assert_abandoned(cls, sleeper, pid)
    # a new session works
    assert spawn(TARGET, call_timeout=call_timeout)().ping() == "pong"


class _Raised(Exception):
    pass


def _raise(signum, frame):
    raise _Raised(signum)


def test_any_raising_handler_ends_a_waiting_call(spawn, signal_in):
    cls = spawn(TARGET, call_timeout=None)
    sleeper = cls()
    pid = child_pid(cls)
    signal_in(1.0, signal.SIGUSR1, _raise)
    start = time.monotonic()
    with pytest.raises(_Raised):
        sleeper.sleep(SLEEP)
    assert time.monotonic() - start < 6.0
    _assert_abandoned(cls, sleeper, pid)


def test_ctrl_c_during_a_callback_flood(spawn, signal_in):
    # no call_timeout: only the signal can end it
    cls = spawn(TARGET, "strict", call_timeout=None)
    flooder = cls()
    pid = child_pid(cls)
    signal_in(1.0, signal.SIGINT)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        flooder.ring_flood(_a_little_work, FLOOD)
    assert time.monotonic() - start < 6.0
    _assert_abandoned(cls, flooder, pid)


def test_ctrl_c_reaches_a_call_waiting_behind_another_thread(spawn, signal_in):
    # The other thread reads the channel; ours waits for its turn.
    cls = spawn(TARGET, call_timeout=None)
    sleeper = cls()
    pid = child_pid(cls)
    other = []

    def first():
        try:
            other.append(sleeper.sleep(SLEEP))
        except extradite.ExtraditeError as e:
            other.append(e)

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.3)  # the thread's call is on its way: we queue behind it
    signal_in(1.0, signal.SIGINT)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sleeper.sleep(SLEEP)
    assert time.monotonic() - start < 6.0
    thread.join(30)
    assert not thread.is_alive()
    # the other thread's call ended with the session, not with a result
    assert isinstance(other[0], extradite.ExtraditeProtocolError), other
    _assert_abandoned(cls, sleeper, pid)


def test_a_handler_that_returns_does_not_disturb_the_call(spawn, signal_in):
    fired = []
    cls = spawn(TARGET, call_timeout=None)
    sleeper = cls()
    for delay in (0.2, 0.5, 0.8):
        signal_in(delay, signal.SIGUSR1, lambda signum, frame: fired.append(signum))
    assert sleeper.sleep(1.5) == "slept"
    assert fired  # handled (perhaps coalesced), and the call unharmed
    assert sleeper.ping() == "pong"
