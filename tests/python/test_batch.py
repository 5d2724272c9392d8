"""method.batch(calls): many calls of one remote method in one round trip,
in order, stopping at the first exception."""

import itertools
import threading

import pytest

import extradite
from extradite import extradite as xtd

COUNTER = "xtd_targets.counter:Counter"
LEDGER = "xtd_targets.ledger:Ledger"
MAX_CALLS = 1 << 16


@pytest.fixture
def Ledger():
    cls = xtd(LEDGER)
    yield cls
    cls.close()


@pytest.fixture
def Counter():
    cls = xtd(COUNTER)
    yield cls
    cls.close()


def requests(cls):
    return cls.__extradite_session__.requests


def test_results_in_order_in_one_round_trip(Counter):
    counter = Counter(0)
    before = requests(Counter)
    assert counter.increment.batch([([1], {}), ([2], {}), ([3], {})]) == [1, 3, 6]
    assert requests(Counter) == before + 1
    assert counter.value == 6


def test_keywords_tuples_and_other_sequences(Ledger):
    ledger = Ledger()
    results = ledger.record.batch(
        [
            ((1,), {"weight": 10}),
            [[2], {}],
            (range(3, 4), {"weight": 2}),
        ]
    )
    assert results == [1, 2, 3]
    assert ledger.entries == [10, 2, 6]
    echoed = ledger.echo.batch([((1, "a"), {"k": None}), ((), {})])
    assert echoed == [[[1, "a"], {"k": None}], [[], {}]]


def test_any_iterable_of_calls(Ledger):
    ledger = Ledger()
    calls = (([i], {}) for i in range(5))
    assert ledger.record.batch(calls) == [1, 2, 3, 4, 5]
    assert ledger.entries == [0, 1, 2, 3, 4]


def test_results_that_are_handles(Ledger):
    ledger = Ledger()
    entries = ledger.make.batch([(["a"], {}), (["b"], {})])
    assert [entry.tag for entry in entries] == ["a", "b"]
    assert isinstance(entries[0], extradite._core.RemoteObject)


def test_first_exception_stops_the_batch(Ledger):
    ledger = Ledger()
    before = requests(Ledger)
    with pytest.raises(ValueError, match="negative entry -1") as info:
        ledger.record.batch([([1], {}), ([-1], {}), ([3], {}), ([4], {})])
    assert requests(Ledger) == before + 1
    assert isinstance(info.value, extradite.ExtraditeRemoteError)
    assert "call 2 of 4" in info.value.remote_traceback
    # The call before ran; the ones after the failing call did not.
    assert ledger.entries == [1]


def test_failure_in_the_first_call_runs_nothing(Ledger):
    ledger = Ledger()
    with pytest.raises(TypeError):
        ledger.record.batch([(["not a number"], {}), ([1], {})])
    with pytest.raises(TypeError):
        ledger.record.batch([([1], {"no_such_keyword": 1}), ([2], {})])
    assert ledger.entries == []


def test_static_and_class_methods_on_the_class(Counter, Ledger):
    assert Ledger.combine.batch([((1, 2), {}), (("x",), {"b": "y"})]) == ["1+2", "x+y"]
    made = Counter.from_pair.batch([((1, 2), {}), ((3, 4), {})])
    assert [m.value for m in made] == [3, 7]


def test_empty_batch_makes_no_round_trip(Counter):
    counter = Counter()
    before = requests(Counter)
    assert counter.increment.batch([]) == []
    assert requests(Counter) == before


@pytest.mark.parametrize(
    "calls, message",
    [
        (5, "takes a list of"),
        ("abc", "takes a list of"),
        ({"a": 1}, "takes a list of"),
        ([5], "call 1: expected an .args, kwargs. pair"),
        ([([1], {}), ([1],)], "call 2: expected an .args, kwargs. pair, got 1"),
        ([([1], {}, {})], "got 3 items"),
        ([({"a": 1}, {})], "call 1: args must be a sequence"),
        ([("ab", {})], "call 1: args must be a sequence"),
        ([(5, {})], "call 1: args must be a sequence"),
        ([([1], [])], "call 1: kwargs must be a mapping"),
        ([([1], None)], "call 1: kwargs must be a mapping"),
        ([([1], {1: 2})], "call 1: keywords must be strings"),
    ],
)
def test_malformed_calls_are_refused_locally(Ledger, calls, message):
    ledger = Ledger()
    before = requests(Ledger)
    with pytest.raises(TypeError, match=message):
        ledger.record.batch(calls)
    assert requests(Ledger) == before  # nothing was sent
    assert ledger.entries == []


def test_at_most_max_calls(Counter):
    counter = Counter(0)
    too_many = itertools.repeat(((), {}), MAX_CALLS + 1)
    before = requests(Counter)
    with pytest.raises(ValueError, match=f"at most {MAX_CALLS} calls"):
        counter.increment.batch(too_many)
    assert requests(Counter) == before
    results = counter.increment.batch(itertools.repeat(((), {}), MAX_CALLS))
    assert len(results) == MAX_CALLS
    assert results[-1] == MAX_CALLS
    assert requests(Counter) == before + 1


def test_call_policy_is_validated(Ledger):
    ledger = Ledger()
    assert ledger.record.batch([([1], {})], call_policy="value") == [1]
    assert ledger.record.batch([([2], {})], call_policy="reference") == [2]
    assert ledger.record.batch([([3], {})], "value") == [3]
    assert ledger.record.batch([([4], {})], call_policy=None) == [4]
    before = requests(Ledger)
    for bad in ("values", "", 1, b"value"):
        with pytest.raises(ValueError, match="call_policy"):
            ledger.record.batch([([5], {})], call_policy=bad)
    assert requests(Ledger) == before
    with pytest.raises(TypeError):
        ledger.record.batch([([5], {})], policy="value")
    with pytest.raises(TypeError):
        ledger.record.batch()
    assert ledger.entries == [1, 2, 3, 4]


def test_unsendable_argument_sends_nothing(Ledger):
    ledger = Ledger()
    other = xtd(LEDGER)
    try:
        foreign = other()
        before = requests(Ledger)
        with pytest.raises(extradite.UnsupportedInteractionError):
            ledger.record.batch([([1], {}), ([foreign], {})])
        with pytest.raises(extradite.UnsupportedInteractionError):
            ledger.record.batch([([1], {"weight": foreign})])
        assert requests(Ledger) == before
        assert ledger.entries == []
    finally:
        other.close()


def test_proxies_of_the_same_session_go_back_as_themselves(Counter):
    counter = Counter()
    assert counter.is_same.batch([([counter], {}), ([Counter()], {})]) == [True, False]


def test_released_instance_and_closed_class():
    Counter = xtd(COUNTER)
    counter = Counter()
    method = counter.increment
    counter.close()
    with pytest.raises(extradite.ExtraditeProtocolError, match="released"):
        method.batch([([1], {})])
    live = Counter()
    method = live.increment
    Counter.close()
    with pytest.raises(extradite.ExtraditeProtocolError):
        method.batch([([1], {})])
    with pytest.raises(extradite.ExtraditeProtocolError):
        method.batch([])


def test_batches_from_several_threads(Counter):
    counter = Counter(0)
    errors = []

    def work():
        try:
            for _ in range(20):
                counter.increment.batch([([1], {})] * 10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counter.value == 4 * 20 * 10


def test_child_refuses_malformed_batches_before_any_call():
    from raw_child import (
        ERR_PROTOCOL,
        ERROR,
        OP_BATCH,
        OP_CALL,
        REPLY,
        Backref,
        RawChild,
        error_kind,
    )

    with RawChild() as child:
        record = child.load("xtd_targets.funcs", "record")
        calls = child.load("xtd_targets.funcs", "calls")
        good = (("a",), {})
        malformed = [
            (record, None, [good, 5]),
            (record, None, [good, (("b",),)]),
            (record, None, [good, (["b"], {})]),  # args must be a tuple
            (record, None, [good, (("b",), [])]),
            (record, 5, [good]),  # the name: a str or None
            (record, None, [good] * (MAX_CALLS + 1)),
            (record, None, (good,)),  # the calls: a list
        ]
        for request in malformed:
            kind, payload = child.call(OP_BATCH, request)
            assert kind == ERROR
            assert error_kind(payload) == ERR_PROTOCOL
        # Nothing ran: the log is still empty.
        assert child.call(OP_CALL, (calls, (), {})) == (REPLY, b"\x10\x00\x00\x00\x00")
        kind, _ = child.call(OP_BATCH, (record, None, [good]))
        assert kind == REPLY
        assert isinstance(record, Backref)
