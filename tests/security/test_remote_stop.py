"""A StopIteration (or StopAsyncIteration) raised by an ordinary remote call
cannot end the caller's loop: it arrives as ExtraditeRemoteError, as PEP 479
has it for generators; a remote iterator's next() still ends a loop. The
same holds in the child for the parent's callbacks (docs/remote-errors.md)."""

import pytest

import extradite

HOSTILE = "extradite._selftest.hostile.remote_text"
TARGET = f"{HOSTILE}:Reporter"


@pytest.fixture
def reporter(spawn):
    return spawn(TARGET)()


STOPPING_CALLS = {
    "method": lambda r, x: r.stop_at(x, 1),
    "method, 2nd item": lambda r, x: r.stop_at(x, stop=2),
    "keyword call": lambda r, x: r.stop_at(x=x),
    "attribute read": lambda r, x: r.stopping,
    "operator": lambda r, x: r + x,
    "len": lambda r, x: len(r),
    "batch": lambda r, x: r.stop_at.batch([((x,), {}), ((2,), {})]),
    "StopAsyncIteration": lambda r, x: r.stop_async(x),
}


@pytest.mark.parametrize("call", STOPPING_CALLS.values(), ids=STOPPING_CALLS.keys())
def test_remote_stop_iteration_does_not_end_the_callers_loop(reporter, call):
    processed = []

    def each(x):
        processed.append(x)
        return call(reporter, x)

    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        # Were the remote error a StopIteration, list() would return early.
        list(map(each, [1, 2, 3]))
    exc = info.value
    assert not isinstance(exc, (StopIteration, StopAsyncIteration))
    assert exc.remote_type_name in ("StopIteration", "StopAsyncIteration")
    assert "cannot end a loop silently" in str(exc)
    # The original, as PEP 479 keeps it for generators.
    assert isinstance(exc.__cause__, (StopIteration, StopAsyncIteration))
    # Every item up to the one that raised was processed, none skipped.
    assert processed == list(range(1, len(processed) + 1)) and processed


def test_stop_iteration_keeps_its_message(reporter):
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        reporter.stop_at(2)
    assert info.value.remote_message == "stopped at 2"
    assert "stopped at 2" in str(info.value)
    assert reporter.stop_at(3) == 30  # the child still serves


def test_function_target_raising_stop_iteration(spawn):
    fn = spawn(f"{HOSTILE}:stop_function")
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        list(map(fn, [1, 2]))
    assert info.value.remote_type_name == "StopIteration"
    assert not isinstance(info.value, StopIteration)


def test_remote_iterators_still_end(reporter):
    assert list(reporter.count_to(3)) == [0, 1, 2]
    assert [x for x in reporter.generate(2)] == [0, 1]
    it = reporter.count_to(1)
    assert next(it) == 0
    with pytest.raises(StopIteration):
        next(it)
    assert next(it, "default") == "default"
    gen = reporter.generate(0)
    with pytest.raises(StopIteration) as info:
        next(gen)
    assert info.value.value == "done"


def test_a_parent_callbacks_stop_iteration_does_not_end_the_childs_loop(reporter):
    def stop_at_two(x):
        if x == 2:
            raise StopIteration
        return x

    assert reporter.map_callback(stop_at_two, [1, 3]) == ("completed", [1, 3])
    assert reporter.map_callback(stop_at_two, [1, 2, 3]) == (
        "raised", "ExtraditeRemoteError", "StopIteration")


class CountDown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n


def test_the_child_still_iterates_a_parent_iterator(reporter):
    def numbers():
        yield from (1, 2, 3)

    assert reporter.iterate(numbers()) == [1, 2, 3]
    # by handle: the child's next() on our object, ended by our StopIteration
    assert reporter.iterate(CountDown(3), __extradite_policy__="reference") == [2, 1, 0]


def test_a_callbacks_stop_iteration_passed_on_by_a_remote_next_is_an_error(reporter):
    # The child's __next__ lets the error escape: it is not a StopIteration
    # there, so it does not end our loop either.
    def stop():
        raise StopIteration

    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        list(reporter.relay(stop))
    assert not isinstance(info.value, StopIteration)
    assert "StopIteration" in str(info.value)
