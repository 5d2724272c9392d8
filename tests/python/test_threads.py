"""Several threads on one child: calls in flight at once, each callback on
the thread whose call caused it, and no deadlock when a callback waits for
another thread's call into the same child."""

import threading

import pytest

from extradite import extradite as xtd

CALLER = "xtd_targets.callbacks:Caller"
COUNTER = "xtd_targets.counter:Counter"


@pytest.fixture
def Caller():
    cls = xtd(CALLER)
    yield cls
    cls.close()


def run_threads(targets, timeout=30):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"


def test_a_callback_may_wait_for_another_threads_call(Caller):
    caller = Caller()
    in_callback = threading.Event()
    b_done = threading.Event()
    results = {}

    def callback():
        # Thread A's call waits in the child for this callback; thread B's
        # call into the same child must still get through meanwhile.
        in_callback.set()
        return b_done.wait(10)

    def thread_a():
        results["a"] = caller.call(callback)

    def thread_b():
        assert in_callback.wait(10)
        results["b"] = caller.call(abs, -7)
        b_done.set()

    run_threads([thread_a, thread_b])
    assert results == {"a": True, "b": 7}


def test_callbacks_run_on_the_thread_whose_call_caused_them(Caller):
    caller = Caller()
    wrong = []

    def worker():
        me = threading.get_ident()

        def cb(x):
            if threading.get_ident() != me:
                wrong.append(x)
            return x * 2

        for i in range(20):
            assert caller.call(cb, i) == i * 2

    run_threads([worker] * 6)
    assert wrong == []


def test_many_threads_hammer_one_instance():
    Counter = xtd(COUNTER)
    try:
        counter = Counter(0)
        errors = []

        def worker():
            try:
                for _ in range(100):
                    counter.increment(1)
            except Exception as exc:  # reported below
                errors.append(exc)

        run_threads([worker] * 16)
        assert errors == []
        assert counter.value == 1600
    finally:
        Counter.close()


def test_nested_chains_from_several_threads(Caller):
    caller = Caller()
    out = {}

    def chain(tag):
        def down(depth):
            return f"{tag}:bottom" if depth == 0 else caller.relay(down, depth - 1)

        out[tag] = caller.relay(down, 8)

    run_threads([lambda t=t: chain(t) for t in "abcd"])
    assert out == {t: f"{t}:bottom" for t in "abcd"}


def test_closing_while_threads_wait_fails_them_cleanly(Caller):
    caller = Caller()
    in_callback = threading.Event()
    outcome = []

    def slow():
        in_callback.set()
        threading.Event().wait(0.5)
        return 1

    def waiter():
        try:
            caller.call(slow)
            outcome.append("returned")
        except Exception as exc:
            outcome.append(type(exc).__name__)

    t = threading.Thread(target=waiter)
    t.start()
    assert in_callback.wait(10)
    Caller.close()
    t.join(10)
    assert not t.is_alive()
    assert outcome == ["ExtraditeProtocolError"]
