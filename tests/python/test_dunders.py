"""Python operations on proxies run on the remote object: len, iteration,
items, truth, repr/str, comparisons, hash, calls, with, and operators."""

import sys

import pytest

import extradite
from extradite import extradite as xtd

MOD = "xtd_targets.dunders"


@pytest.fixture
def load():
    """load(name) -> proxy class; the classes of one test share a child."""
    loaded = []

    def load(name, key="test-dunders"):
        cls = xtd(f"{MOD}:{name}", key)
        loaded.append(cls)
        return cls

    yield load
    for cls in loaded:
        cls.close()


def requests(proxy):
    return type(proxy).__extradite_session__.requests


def one_round_trip(proxy, operation):
    """Run operation(); assert it made exactly one request."""
    before = requests(proxy)
    result = operation()
    assert requests(proxy) == before + 1
    return result


# ---- containers -----------------------------------------------------------


def test_len_and_items(load):
    bag = load("Bag")(1, 2, 3)
    assert one_round_trip(bag, lambda: len(bag)) == 3
    assert one_round_trip(bag, lambda: bag[0]) == 1
    assert bag[-1] == 3
    assert bag[0:2] == [1, 2]
    one_round_trip(bag, lambda: bag.__setitem__(1, "two"))
    assert bag.items == [1, "two", 3]
    bag[2] = [4]
    del bag[0]
    assert bag.items == ["two", [4]]
    with pytest.raises(IndexError) as info:
        bag[10]
    assert isinstance(info.value, extradite.ExtraditeRemoteError)
    with pytest.raises(IndexError):
        del bag[10]


def test_mapping_items_and_key_error(load):
    registry = load("Registry")()
    registry["a"] = 1
    registry["b"] = {"nested": [1, 2]}
    assert registry["b"] == {"nested": [1, 2]}
    assert len(registry) == 2
    del registry["a"]
    assert registry.keys() == ["b"]
    with pytest.raises(KeyError) as info:
        registry["missing"]
    assert info.value.remote_type_name == "KeyError"
    with pytest.raises(KeyError):
        del registry["missing"]


def test_contains_runs_remote_contains(load):
    bag = load("Bag")("x", "y")
    assert one_round_trip(bag, lambda: "x" in bag) is True
    assert "z" not in bag
    assert bag.contains_calls == 2


def test_contains_falls_back_to_old_sequence_protocol(load):
    seq = load("OldSequence")()
    assert 20 in seq
    assert 25 not in seq
    assert list(seq) == [0, 10, 20]
    assert seq[1] == 10


def test_iteration(load):
    bag = load("Bag")(1, "two", 3.0)
    assert list(bag) == [1, "two", 3.0]
    assert [x for x in bag] == [1, "two", 3.0]
    it = iter(bag)
    assert isinstance(it, extradite._core.RemoteObject)  # the remote iterator
    assert next(it) == 1
    assert next(it) == "two"
    assert next(it) == 3.0
    with pytest.raises(StopIteration):
        next(it)
    assert next(it, "default") == "default"


def test_iterator_proxy_and_stop_iteration(load):
    countdown = load("Countdown")(3)
    assert iter(countdown) is countdown  # __iter__ returned the same object
    assert one_round_trip(countdown, lambda: next(countdown)) == 3
    assert list(countdown) == [2, 1]
    with pytest.raises(StopIteration) as info:
        next(countdown)
    assert isinstance(info.value, extradite.ExtraditeRemoteError)
    assert sorted(load("Countdown")(2)) == [1, 2]


def test_generators_iterate_and_return_values(load):
    gen = load("Generating")(3)
    assert [item["i"] for item in gen] == [0, 1, 2]
    produced = gen.with_result()
    assert next(produced) == 1
    with pytest.raises(StopIteration) as info:
        next(produced)
    assert info.value.value == "done"


def test_not_iterable_and_no_len(load):
    plain = load("Plain")()
    with pytest.raises(TypeError, match="has no len"):
        len(plain)
    with pytest.raises(TypeError, match="not iterable"):
        iter(plain)
    with pytest.raises(TypeError, match="not an iterator"):
        next(plain)
    with pytest.raises(TypeError, match="not subscriptable"):
        plain[0]
    with pytest.raises(TypeError, match="does not support item assignment"):
        plain[0] = 1
    with pytest.raises(TypeError):
        del plain[0]
    with pytest.raises(TypeError, match="not iterable"):
        1 in plain


# ---- truth, text, hash ----------------------------------------------------


def test_bool_uses_bool_then_len_then_true(load):
    Num, OnlyLen, Plain = load("Num"), load("OnlyLen"), load("Plain")
    zero = Num(0)
    assert one_round_trip(zero, lambda: bool(zero)) is False
    assert not Num(0)
    assert Num(5)
    assert not OnlyLen(0)
    assert OnlyLen(2)
    assert bool(Plain()) is True
    assert (Num(0) or "fallback") == "fallback"


def test_repr_and_str(load):
    bag = load("Bag")(1, 2)
    assert one_round_trip(bag, lambda: repr(bag)) == "Bag(1, 2)"
    assert str(bag) == "bag of 1, 2"
    assert f"{bag}" == "bag of 1, 2"
    assert f"{bag!r}" == "Bag(1, 2)"
    plain = load("Plain")()
    assert repr(plain).startswith("<xtd_targets.dunders.Plain object at 0x")
    assert str(plain) == repr(plain)


def test_repr_of_released_or_closed_proxy_does_not_raise(load):
    Bag = xtd(f"{MOD}:Bag")
    bag = Bag(1)
    other = Bag(2)
    bag.close()
    assert repr(bag) == "<extradite proxy of Bag (released)>"
    assert str(bag) == "<extradite proxy of Bag (released)>"
    with pytest.raises(extradite.ExtraditeProtocolError):
        len(bag)
    Bag.close()
    assert repr(other) == "<extradite proxy of Bag (session closed)>"
    with pytest.raises(extradite.ExtraditeProtocolError):
        len(other)


def test_repr_errors_are_the_remote_ones(load):
    broken = load("Broken")()
    with pytest.raises(RuntimeError, match="no repr for you"):
        repr(broken)
    with pytest.raises(ValueError, match="should return >= 0"):
        len(broken)
    with pytest.raises(ValueError, match="hash refused"):
        hash(broken)


def test_hash(load):
    Num, Version = load("Num"), load("Version")
    seven = Num(7)
    assert one_round_trip(seven, lambda: hash(seven)) == hash(7)
    assert hash(Version(1, 2)) == hash((1, 2))
    table = {Num(1): "one"}
    assert table[Num(1)] == "one"  # hash + __eq__ on the remote side
    plain = load("Plain")()
    assert isinstance(hash(plain), int)
    assert hash(plain) == hash(plain)


def test_unhashable_remote_raises_type_error(load):
    value = load("Unhashable")(1)
    with pytest.raises(TypeError, match="unhashable"):
        hash(value)
    with pytest.raises(TypeError):
        {value}
    assert value == value.twin()


# ---- comparisons ----------------------------------------------------------


def test_rich_comparisons(load):
    Version = load("Version")
    v12, v13 = Version(1, 2), Version(1, 3)
    assert one_round_trip(v12, lambda: v12 < v13) is True
    assert v12 <= v13 and v13 > v12 and v13 >= v12
    assert not v12 > v13
    assert v12 == Version(1, 2)
    assert v12 != v13
    assert v12 == (1, 2)  # against a local value
    assert (1, 2) == v12  # reflected: tuple.__eq__ gives way
    assert (1, 1) < v12  # reflected: becomes v12 > (1, 1)
    assert v12 >= (1, 2)
    with pytest.raises(TypeError, match="not supported"):
        v12 < "a string"
    assert (v12 == "a string") is False
    assert sorted([v13, Version(0, 9), v12]) == [(0, 9), (1, 2), (1, 3)]


def test_identity_equality_of_plain_objects(load):
    Plain = load("Plain")
    a, b = Plain(), Plain()
    assert a == a
    assert a == a.get_self()
    assert a.get_self() is a
    assert a != b
    assert not (a == b)
    assert (a == 3) is False


def test_comparing_proxies_of_two_sessions_is_refused(load):
    one = load("Num", key=None)(1)
    two = load("Num", key=None)(1)
    with pytest.raises(extradite.UnsupportedInteractionError):
        one == two
    with pytest.raises(extradite.UnsupportedInteractionError):
        one < two
    with pytest.raises(extradite.UnsupportedInteractionError):
        one + two


# ---- operators -------------------------------------------------------------

BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("truediv", lambda a, b: a / b),
    ("floordiv", lambda a, b: a // b),
    ("mod", lambda a, b: a % b),
    ("pow", lambda a, b: a**b),
    ("lshift", lambda a, b: a << b),
    ("rshift", lambda a, b: a >> b),
    ("and", lambda a, b: a & b),
    ("or", lambda a, b: a | b),
    ("xor", lambda a, b: a ^ b),
]


@pytest.mark.parametrize("name,op", BINARY, ids=[name for name, _ in BINARY])
def test_binary_operators_both_sides(load, name, op):
    Num = load("Num")
    left, right = 13, 3
    proxy = Num(left)
    result = one_round_trip(proxy, lambda: op(proxy, right))
    assert result.v == op(left, right)
    # Reflected: the proxy on the right (op(int, Num) -> Num.__rop__).
    proxy = Num(right)
    assert op(left, proxy).v == op(left, right)
    # Two proxies of the same session.
    assert op(Num(left), Num(right)).v == op(left, right)


def test_divmod_pow_with_modulus_and_matmul(load):
    Num = load("Num")
    assert divmod(Num(17), 5) == (3, 2)
    assert divmod(17, Num(5)) == (3, 2)
    assert pow(Num(3), 4, 5).v == pow(3, 4, 5)
    assert pow(3, Num(4)).v == 81
    if sys.version_info < (3, 14):
        # As with a local class: three-argument pow never calls __rpow__.
        with pytest.raises(TypeError, match="unsupported operand"):
            pow(3, Num(4), 5)
    with pytest.raises(TypeError):
        pow(3, 4, Num(5))  # a modulus alone never dispatches, as in Python
    assert Num(2) @ 3 == ("matmul", 2, 3)
    assert 3 @ Num(2) == ("rmatmul", 3, 2)


def test_unary_operators(load):
    Num = load("Num")
    n = Num(5)
    assert one_round_trip(n, lambda: -n).v == -5
    assert (+n).v == 1005
    assert (~n).v == ~5
    assert abs(Num(-4)).v == 4


def test_operator_results_are_proxies_or_values(load):
    Num = load("Num")
    total = Num(1) + Num(2) + 3
    assert isinstance(total, extradite._core.RemoteObject)
    assert total == 6
    assert total.v == 6
    assert Num(1) / 4 == 0.25


def test_unsupported_operand_is_the_remote_type_error(load):
    Num, Plain = load("Num"), load("Plain")
    with pytest.raises(TypeError, match="unsupported operand"):
        Plain() + 1
    with pytest.raises(TypeError, match="unsupported operand"):
        1 - Plain()
    with pytest.raises(TypeError, match="bad operand type for unary -"):
        -Plain()
    with pytest.raises(TypeError):
        Num(1) + "text"  # int + str inside Num.__add__


INPLACE = [
    ("iadd", "acc += operand", 10, 3, 13),
    ("isub", "acc -= operand", 10, 3, 7),
    ("imul", "acc *= operand", 10, 3, 30),
    ("itruediv", "acc /= operand", 9, 2, 4.5),
    ("ifloordiv", "acc //= operand", 9, 2, 4),
    ("imod", "acc %= operand", 9, 4, 1),
    ("ipow", "acc **= operand", 2, 5, 32),
    ("ilshift", "acc <<= operand", 1, 4, 16),
    ("irshift", "acc >>= operand", 16, 2, 4),
    ("iand", "acc &= operand", 12, 10, 8),
    ("ior", "acc |= operand", 12, 3, 15),
    ("ixor", "acc ^= operand", 12, 10, 6),
    ("imatmul", "acc @= operand", 6, 7, 42),
]


@pytest.mark.parametrize(
    "name,statement,start,operand,expected", INPLACE, ids=[i[0] for i in INPLACE]
)
def test_inplace_operators_change_the_remote_object(
    load, name, statement, start, operand, expected
):
    acc = load("Acc")(start)
    same = acc
    scope = {"acc": acc, "operand": operand}
    before = requests(acc)
    exec(statement, scope)
    assert requests(acc) == before + 1
    assert scope["acc"] is same  # __i*__ returned self: the same proxy
    assert acc.v == expected
    assert acc.log == [name]


def test_inplace_on_immutable_rebinds_to_the_result(load):
    Num = load("Num")
    n = Num(5)
    original = n
    n += 3
    assert n is not original
    assert (n.v, original.v) == (8, 5)
    n -= Num(1)
    assert n.v == 7
    n **= 2
    assert n.v == 49
    collapse = load("Collapse")(10)
    collapse += 5
    assert collapse == 15 and type(collapse) is int
    x = 1
    x += Num(2)  # int has no += for Num: Num.__radd__ runs remotely
    assert x.v == 3


# ---- calls and with ----------------------------------------------------------


def test_callable_instances(load):
    adder = load("Adder")(100)
    assert one_round_trip(adder, lambda: adder(1, b=2)) == 103
    assert adder(5) == 105
    with pytest.raises(TypeError):
        load("Plain")()()


def test_with_statement(load):
    resource = load("Resource")()
    with resource as entered:
        assert entered is resource
        assert resource.state == "open"
    assert resource.state == "closed"
    assert resource.seen == (None, None, None, None)


def test_with_statement_reports_the_exception_and_may_suppress(load):
    Resource = load("Resource")
    resource = Resource()
    with pytest.raises(KeyError):
        with resource:
            raise KeyError("k")
    # The built-in class and message; the traceback stays in the parent.
    assert resource.seen == ("KeyError", "'k'", True, None)

    class LocalError(ArithmeticError):
        pass

    with pytest.raises(LocalError):
        with resource:
            raise LocalError("local")
    assert resource.seen == ("ArithmeticError", "local", True, None)

    with pytest.raises(ValueError):
        with resource:
            resource.fail("remote failure")
    assert resource.seen == ("ValueError", "remote failure", True, None)

    quiet = Resource(suppress=True)
    with quiet:
        raise RuntimeError("swallowed")
    assert quiet.seen[0] == "RuntimeError"


def test_with_enter_returning_another_object_and_non_managers(load):
    with load("Opener")() as inner:
        assert inner.items == ["inside"]
        assert len(inner) == 1
    with pytest.raises(TypeError, match="context manager"):
        with load("Plain")():
            pass


# ---- handles, not only proxy classes -------------------------------------


def test_generic_handles_forward_operations_too(load):
    bag = load("Bag")(1, 2)
    inner = bag.copy()  # a handle returned by a call, not a proxy class instance
    assert type(inner) is extradite._core.RemoteObject
    assert len(inner) == 2
    assert list(inner) == [1, 2]
    assert 2 in inner
    inner[0] = 5
    assert inner == inner and inner[0] == 5
    assert repr(inner) == "Bag(5, 2)"
    empty = load("Bag")().copy()
    assert not empty


def test_existing_attribute_behaviour_is_kept(load):
    Bag = load("Bag")
    bag = Bag(1)
    bag.extra = "x"
    assert bag.extra == "x"
    del bag.extra
    assert not hasattr(bag, "extra")
    assert isinstance(bag, Bag)
    bag.close()
    with pytest.raises(extradite.ExtraditeProtocolError):
        bag.items


# ---- the child's allowlist ---------------------------------------------------


def test_child_applies_only_allowlisted_operations():
    from raw_child import ERR_PROTOCOL, ERR_REMOTE, ERROR, OP_DUNDER, REPLY, RawChild, error_kind

    with RawChild() as child:
        bag = child.load(MOD, "Bag")  # the class object itself
        kind, payload = child.call(OP_DUNDER, (bag, "repr", ()))
        assert kind == REPLY and b"xtd_targets.dunders.Bag" in payload
        refused = [
            ("system", ()),  # not an operation
            ("__repr__", ()),  # not a method name either
            ("getattr", ("items",)),
            ("REPR", ()),
            ("repr\0", ()),
            ("", ()),
            ("repr", (1,)),  # wrong number of operands
            ("add", ()),
            ("pow", (1, 2, 3)),
            ("exit", (None,)),
            ("exit", ("not_a_builtin", ())),
            ("exit", ("open", ())),  # a builtin, but not an exception class
        ]
        for name, operands in refused:
            kind, payload = child.call(OP_DUNDER, (bag, name, operands))
            assert kind == ERROR, name
            assert error_kind(payload) == ERR_PROTOCOL, name
        # A remote exception is not a protocol error, and the child serves on.
        kind, payload = child.call(OP_DUNDER, (bag, "len", ()))
        assert kind == ERROR and error_kind(payload) == ERR_REMOTE
        kind, payload = child.call(OP_DUNDER, (bag, "bool", ()))
        assert (kind, payload) == (REPLY, b"\x03")
