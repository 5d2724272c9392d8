"""The channel failing in other ways: closed mid-frame by either side,
signals interrupting the parent's system calls (EINTR) during calls, and a
child that stops reading while we send (backpressure) under call_timeout."""

import os
import signal
import threading
import time
from fractions import Fraction

import pytest

import extradite
from xtd_faults import Faults, KillLater, next_request_id, spawn
from xtd_support import gone

WATCHDOG = 30  # seconds a call under test may take before we call it a hang


def run_with_watchdog(fn, on_hang):
    """fn() in a thread: (result, exception). If it is still running after
    WATCHDOG seconds, on_hang() unblocks it and the test fails."""
    out = {}

    def body():
        try:
            out["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=body)
    t.start()
    t.join(WATCHDOG)
    if t.is_alive():
        on_hang()
        t.join()
        pytest.fail(f"the call hung for {WATCHDOG} s")
    return out.get("result"), out.get("error")


def test_child_closes_its_channel_mid_frame(rng):
    faults = Faults("closed mid-frame")
    for _ in range(4):
        cls, worker, pid = spawn()
        length = rng.randint(1, 1 << 16)
        sent = rng.randrange(0, 16 + length)
        with pytest.raises(extradite.ExtraditeError) as info:
            worker.close_mid_frame(length, sent, next_request_id(cls))
        faults.raised(info)
        faults.after_kill(cls, pid)  # it stayed alive: the parent killed it
    faults.report()


def test_parent_closes_the_class_mid_transfer(rng):
    """Another thread closes the class while a call's big value is in
    flight: the call raises ExtraditeProtocolError, the child is gone."""
    faults = Faults("parent closed mid-transfer")
    for _ in range(10):
        cls, worker, pid = spawn()
        value = list(range(300_000))
        closer = threading.Timer(rng.uniform(0, 0.02), cls.close)
        closer.start()
        try:
            assert worker.echo(value) == value
            faults.outcome("completed before the close")
        except extradite.ExtraditeError as exc:
            faults.raised(exc)
        closer.join()
        faults.after_kill(cls, pid)
    faults.report()


class _Alarm(Exception):
    pass


@pytest.fixture
def interval_timer():
    """start(handler, interval): SIGALRM every `interval` s; stopped and
    the old handler restored at the end."""
    old = signal.getsignal(signal.SIGALRM)

    def start(handler, interval=0.0005):
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, interval, interval)

    yield start
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def mixed_calls(worker, n):
    """Every kind of wait the parent does: small and multi-buffer replies,
    memfds both ways, a callback, a child busy for a while, a batch."""
    big = list(range(200_000))
    kinds = [
        lambda: worker.echo(n) == n,
        lambda: worker.echo(big) == big,
        lambda: worker.size(bytes(1 << 20)) == 1 << 20,
        lambda: len(worker.make_bytes(1 << 20)) == 1 << 20,
        lambda: worker.call(lambda x: x * 2, n) == 2 * n,
        lambda: worker.spin(0.01) == 0.01,
        lambda: worker.echo.batch([((i,), {}) for i in range(100)]) == list(range(100)),
        lambda: worker.echo(Fraction(n, 7)) == Fraction(n, 7),
    ]
    return kinds[n % len(kinds)]()


def test_signals_during_calls_do_not_break_them(interval_timer, soak):
    """SIGALRM every 0.5 ms while calls wait in poll/recvmsg/sendmsg: every
    call still returns its right value."""
    fired = [0]

    def handler(signum, frame):
        fired[0] += 1

    cls, worker, _ = spawn()
    try:
        interval_timer(handler)
        results = [mixed_calls(worker, n) for n in range(80 * soak)]
    finally:
        cls.close()
    assert all(results), [n for n, ok in enumerate(results) if not ok]
    assert fired[0] > 100, f"only {fired[0]} signals arrived"
    print(f"{len(results)} calls, {fired[0]} SIGALRMs, all answered right")


def test_a_raising_signal_handler_ends_only_the_call_it_interrupts(interval_timer):
    """The handler raises: its exception comes out of some call (or between
    calls), nothing else. A call it interrupted while waiting on the child
    is abandoned with the child (docs/deadlines.md): the session says so and
    a new one works. Otherwise the session stays in step."""
    count = [0]
    # Raise only while a call is on: a handler runs where Python checks for
    # signals, the loop's jump back included, which no try can cover.
    in_call = [False]

    def handler(signum, frame):
        count[0] += 1
        if count[0] % 50 == 0 and in_call[0]:
            raise _Alarm(count[0])

    cls, worker, pid = spawn()
    try:
        interval_timer(handler)
        alarms = abandoned = 0
        n = 0
        while alarms < 10:
            n += 1
            try:
                in_call[0] = True
                # no callbacks here: an exception raised inside a callback
                # goes to the child, as any callback's exception does
                result = [worker.echo, worker.size, worker.echo][n % 3](
                    [n] if n % 3 != 1 else bytes(n << 10)
                )
                in_call[0] = False
                assert result == ([n] if n % 3 != 1 else n << 10)
            except _Alarm:
                in_call[0] = False
                alarms += 1
                if not cls.__extradite_session__.alive:
                    abandoned += 1
                    assert gone(pid), "an abandoned call's child was left"
                    in_call[0] = False
                    with pytest.raises(extradite.ExtraditeProtocolError, match="interrupted"):
                        worker.echo(1)
                    cls.close()
                    cls, worker, pid = spawn()
        signal.setitimer(signal.ITIMER_REAL, 0)
        # in step: each reply still pairs with its own call
        for i in range(50):
            assert worker.tag(1, i) == ("w", 1, i, 1000003 + i)
    finally:
        cls.close()
    print(f"{n} calls, {alarms} handler exceptions, {abandoned} calls abandoned, "
          "sessions in step")


def test_send_to_a_stopped_child_times_out(rng):
    """The child is SIGSTOPped: sending 24 MiB inline fills the socket and
    blocks; call_timeout ends the call with ExtraditeTimeoutError and the
    child is killed."""
    cls, worker, pid = spawn(call_timeout=1.0)
    os.kill(pid, signal.SIGSTOP)
    big = "x" * (24 << 20)  # a str: inline, unlike bytes
    _, error = run_with_watchdog(lambda: worker.echo(big), lambda: os.kill(pid, signal.SIGKILL))
    assert isinstance(error, extradite.ExtraditeTimeoutError), repr(error)
    assert gone(pid)
    with pytest.raises(extradite.ExtraditeProtocolError):
        worker.echo(1)
    cls.close()


def test_send_to_a_busy_child_times_out():
    """The child is busy in a long call from another thread and reads
    nothing: our big send blocks. The busy call times out and the child is
    killed; our send is released with an error at once, not left hanging."""
    cls, worker, pid = spawn(call_timeout=1.0)
    busy = threading.Thread(target=lambda: pytest.raises(extradite.ExtraditeTimeoutError, worker.spin, 30))
    busy.start()
    time.sleep(0.2)  # the child is now spinning
    big = "y" * (24 << 20)
    _, error = run_with_watchdog(lambda: worker.echo(big), lambda: os.kill(pid, signal.SIGKILL))
    busy.join()
    assert isinstance(error, extradite.ExtraditeProtocolError), repr(error)
    assert gone(pid)
    cls.close()


def test_a_stopped_child_does_not_hold_other_threads_sends():
    """One thread is stuck sending to a stopped child; others that want to
    send wait for it no longer than their own call_timeout."""
    cls, worker, pid = spawn(call_timeout=1.5)
    os.kill(pid, signal.SIGSTOP)
    big = "z" * (24 << 20)
    errors = []

    def sender(value):
        try:
            worker.echo(value)
        except extradite.ExtraditeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(v,)) for v in (big, 1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WATCHDOG)
    if any(t.is_alive() for t in threads):
        os.kill(pid, signal.SIGKILL)
        for t in threads:
            t.join()
        pytest.fail("a sender hung")
    assert len(errors) == 4
    expected = (extradite.ExtraditeTimeoutError, extradite.ExtraditeProtocolError)
    assert all(isinstance(e, expected) for e in errors), errors
    assert any(isinstance(e, extradite.ExtraditeTimeoutError) for e in errors)
    assert gone(pid)
    cls.close()
