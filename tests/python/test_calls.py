"""Proxied construction, method calls, attributes and values."""

import ipaddress
import math
import os
import threading

import pytest

import extradite
from extradite import _core, extradite as extradite_fn

TARGET = "xtd_targets.counter:Counter"


@pytest.fixture
def Counter():
    cls = extradite_fn(TARGET)
    yield cls
    cls.close()


def test_quick_start(Counter):
    counter = Counter(3)
    assert counter.increment(2) == 5
    assert counter.value == 5
    counter.close()


def test_constructor_keywords_and_setattr(Counter):
    counter = Counter(10, step=5)
    assert counter.increment() == 15
    counter.value = 100
    assert counter.value == 100
    assert counter.increment() == 105
    counter.label = "new attribute"
    assert counter.label == "new attribute"
    del counter.label
    assert not hasattr(counter, "label")


def test_proxy_class_shape(Counter):
    counter = Counter()
    assert isinstance(counter, Counter)
    assert Counter.__name__ == "Counter"
    assert Counter.__doc__ == "Counts things (remote)."
    # methods come from metadata, resolved without a round trip
    assert isinstance(Counter.__dict__["increment"], _core.MethodDescriptor)
    assert "value" not in Counter.__dict__  # data stays remote
    assert "doubled" not in Counter.__dict__  # properties too


def test_one_round_trip_per_method_call(Counter):
    counter = Counter()
    session = Counter.__extradite_session__
    before = session.requests
    counter.increment(1)
    assert session.requests == before + 1
    method = counter.increment
    assert session.requests == before + 1  # binding is local
    method(1)
    assert session.requests == before + 2


def test_class_level_attributes_and_methods(Counter):
    assert Counter.LIMIT == 1000
    assert Counter.add(2, 3) == 5
    made = Counter.from_pair(2, 3)
    assert made.value == 5
    assert Counter(7).doubled == 14


def test_separate_instances_have_separate_state(Counter):
    a, b = Counter(1), Counter(100)
    a.increment(1)
    assert (a.value, b.value) == (2, 100)


VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**200,
    -(3**150),
    1.5,
    -0.0,
    math.inf,
    complex(1, -2),
    "",
    "héllo wörld ✓ 🐍",
    b"\x00\xffbytes",
    bytearray(b"mutable"),
    [1, [2, [3, []]]],
    (1, "two", (3.0,)),
    {"a": 1, (1, 2): [3], 4: {"nested": None}},
    {1, 2, 3},
    frozenset({"x", "y"}),
    [],
    (),
    {},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_round_trip_with_their_types(Counter, value):
    counter = Counter()
    back = counter.echo(value)
    assert back == value
    assert type(back) is type(value)
    assert counter.type_name(value) == type(value).__name__


def test_nan_round_trips(Counter):
    assert math.isnan(Counter().echo(math.nan))


def test_parent_values_without_codec_tag_are_pickled(Counter):
    counter = Counter()
    # (fractions.Fraction has a codec tag now: see test_values.py)
    assert counter.type_name(ipaddress.ip_address("10.0.0.1")) == "IPv4Address"


def test_unpicklable_argument_travels_as_a_handle(Counter):
    counter = Counter()
    lock = threading.Lock()
    func = lambda: None  # noqa: E731
    # The child gets handles and gives back the very same objects.
    assert counter.echo(lock) is lock
    assert counter.echo(func) is func
    assert counter.echo([func, {"k": lock}]) == [func, {"k": lock}]
    assert counter.increment(1) == 1


def test_a_module_cannot_be_passed(Counter):
    counter = Counter()
    with pytest.raises(extradite.UnsupportedInteractionError, match="module"):
        counter.echo(os)
    assert counter.increment(1) == 1


def test_arguments_that_fail_leave_no_handle_behind(Counter):
    # the function's handle is minted before the module fails the call:
    # it must not stay exported, the child never saw it
    def callback():
        pass

    counter = Counter()
    with pytest.raises(extradite.UnsupportedInteractionError, match="module"):
        counter.echo([callback, os])
    assert not any(o is callback
                   for o in Counter.__extradite_session__._exported_objects())


def test_child_objects_come_back_as_handles(Counter):
    counter = Counter()
    helper = counter.make_helper("h1")
    assert isinstance(helper, _core.RemoteObject)
    assert helper.tag == "h1"
    assert helper.describe() == "helper:h1"
    # passing the handle back gives the child its own object
    assert counter.helper_tag(helper) == "h1"
    helper.close()
    with pytest.raises(extradite.ExtraditeProtocolError, match="released"):
        helper.tag


def test_identity_is_preserved(Counter):
    counter = Counter()
    assert counter.get_self() is counter
    assert counter.is_same(counter) is True


def test_released_instances_are_freed_in_the_child(Counter):
    kept = Counter()
    for _ in range(5):
        Counter().close()
    dropped = Counter()
    del dropped
    # releases travel with the next request
    assert Counter.live_count() == 1
    kept.close()


def test_use_after_close_raises(Counter):
    counter = Counter()
    counter.close()
    counter.close()  # idempotent
    with pytest.raises(extradite.ExtraditeProtocolError):
        counter.increment(1)
    with pytest.raises(extradite.ExtraditeProtocolError):
        counter.value = 3


def test_proxy_from_another_session_is_refused():
    first = extradite_fn(TARGET)
    second = extradite_fn(TARGET)
    try:
        a = first()
        with pytest.raises(extradite.UnsupportedInteractionError, match="another session"):
            second().echo(a)
    finally:
        first.close()
        second.close()


def test_threads_share_an_instance(Counter):
    counter = Counter()
    errors = []

    def work():
        try:
            for _ in range(200):
                counter.increment(1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counter.value == 800
