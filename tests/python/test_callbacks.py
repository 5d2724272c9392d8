"""Parent objects in the child: handles, callbacks and re-entrant chains."""

import threading
import types

import pytest

import extradite
from extradite import extradite as xtd

TARGET = "xtd_targets.callbacks:Caller"


@pytest.fixture
def Caller():
    cls = xtd(TARGET)
    yield cls
    cls.close()


def test_callback_with_arguments(Caller):
    caller = Caller()
    assert caller.call(lambda a, b=0: a * 10 + b, 4, b=2) == 42


def test_callback_runs_on_the_calling_thread(Caller):
    caller = Caller()
    seen = []
    caller.call(lambda: seen.append(threading.get_ident()))
    worker = threading.Thread(target=lambda: caller.call(lambda: seen.append(threading.get_ident())))
    worker.start()
    worker.join()
    assert seen == [threading.get_ident(), worker.ident]


def test_reentrant_chain(Caller):
    caller = Caller()
    levels = []

    def down(depth):
        levels.append(depth)
        return "bottom" if depth == 0 else caller.relay(down, depth - 1)

    assert caller.relay(down, 20) == "bottom"
    assert levels == list(range(20, -1, -1))
    assert caller.call(len, "still fine") == 10


def test_nesting_is_capped(Caller):
    caller = Caller()

    def down(depth):
        return caller.relay(down, depth + 1)

    with pytest.raises(extradite.ExtraditeError, match="nested deeper"):
        caller.relay(down, 0)
    assert caller.call(abs, -3) == 3  # the session survives


def test_callback_exception_keeps_its_type(Caller):
    caller = Caller()

    def boom():
        raise ValueError("from the parent")

    with pytest.raises(ValueError, match="from the parent"):
        caller.call(boom)
    # code in the child can catch it as the built-in type too
    assert caller.catch(boom) == "caught RemoteValueError: from the parent"


def test_identity_of_parent_objects(Caller):
    caller = Caller()
    # Unpicklable objects and code travel by handle, and come back as
    # themselves; picklable values are copies ("value" transport).
    lock = threading.Lock()
    func = lambda: None  # noqa: E731
    caller.keep(lock)
    assert caller.kept_is(lock)
    assert not caller.kept_is(func)
    assert caller.call(lambda o: o, lock) is lock
    assert caller.call(lambda o: o, [func, lock]) == [func, lock]
    obj = types.SimpleNamespace(x=1)
    caller.keep(obj)
    assert not caller.kept_is(obj)


def test_public_attributes_of_parent_objects(Caller):
    caller = Caller()
    obj = types.SimpleNamespace(x=1, items=[1, 2])
    obj.double = lambda v: v * 2
    assert caller.get_attr(obj, "x") == 1
    caller.set_attr(obj, "x", 5)
    assert obj.x == 5
    assert caller.call_method(obj, "double", 21) == 42


def test_child_objects_reach_callbacks_as_proxies(Caller):
    caller = Caller()
    got = caller.call_with_self(lambda me: me)
    assert got is caller


def test_a_sandboxed_child_cannot_walk_to_parent_internals(Caller):
    caller = Caller()

    def victim():
        pass

    for name in ("__globals__", "__dict__", "__code__", "__builtins__", "_private"):
        with pytest.raises(extradite.UnsupportedInteractionError, match="private or special"):
            caller.get_attr(victim, name)
    with pytest.raises(extradite.UnsupportedInteractionError):
        caller.set_attr(victim, "__name__", "x")
    assert victim.__name__ == "victim"


def test_an_unconfined_child_may_use_special_attributes():
    Caller = xtd(TARGET, sandbox="unconfined")
    try:
        def victim():
            pass

        assert Caller().get_attr(victim, "__name__") == "victim"
    finally:
        Caller.close()


def test_callbacks_only_from_the_serving_thread(Caller):
    caller = Caller()
    outcome = caller.call_from_thread(lambda: None)
    assert outcome.startswith("UnsupportedInteractionError")
    assert "while the parent is calling" in outcome


def test_handles_to_parent_objects_are_released(Caller):
    caller = Caller()
    session = Caller.__extradite_session__
    for _ in range(50):
        caller.call(lambda: None)
    caller.keep(threading.Lock())
    # Releases travel right after the child's next reply.
    assert caller.kept_is(None) is False
    assert session.exported == 1  # only the kept lock is still held
    caller.drop()
    caller.kept_is(None)
    assert session.exported == 0


def test_released_parent_handle_in_the_child_is_refused(Caller):
    caller = Caller()
    # the child closes its handle, then uses it
    assert caller.use_after_close(lambda: None) == "ExtraditeProtocolError"
    caller.kept_is(None)  # the release arrives after the next reply
    assert Caller.__extradite_session__.exported == 0


def test_python_operations_on_parent_objects():
    Caller = xtd(TARGET, transport_policy="reference")
    try:
        caller = Caller()
        seq = [1, 2, 3]
        assert caller.inspect(seq) == [3, 1, [1, 2, 3], True, True, True]
        assert caller.combine(seq, [4]) == [1, 2, 3, 4]
        mapping = {"drop": 0}
        caller.set_item(mapping, "k", "v")
        assert mapping == {"k": "v"}
        assert caller.text_of(seq) == ["[1, 2, 3]", "[1, 2, 3]"]
    finally:
        Caller.close()


def test_callback_batch_runs_in_order_and_stops_at_the_first_error(Caller):
    caller = Caller()
    seen = []

    def record(i):
        seen.append(i)
        return i * i

    assert caller.batch_back(record, 5) == [0, 1, 4, 9, 16]
    assert seen == [0, 1, 2, 3, 4]
    seen.clear()
    assert caller.batch_stops(lambda i: seen.append(i) or 1 // i) == (
        "stopped: integer division or modulo by zero"
    )
    assert seen == [1, 0]  # the call after the failing one did not run
