"""Values by copy beyond the builtins: datetime, decimal, uuid, fractions,
range, slice and Ellipsis, and big bytes/bytearray through sealed memfds."""

import datetime as dt
import decimal
import fractions
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

import extradite
from extradite import _core, extradite as extradite_fn
from xtd_support import open_fds

TARGET = "xtd_targets.values:Values"
HERE = os.path.dirname(os.path.abspath(__file__))

D = decimal.Decimal
F = fractions.Fraction
KiB, MiB = 1 << 10, 1 << 20

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
WEST = dt.timezone(-dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999))
EAST = dt.timezone(dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999), "far east")
ODD_NAME = dt.timezone(dt.timedelta(seconds=-1, microseconds=5), "héllo ✓ 🐍")
EMPTY_NAME = dt.timezone(dt.timedelta(0), "")


@pytest.fixture
def Values():
    cls = extradite_fn(TARGET)
    yield cls
    cls.close()


STDLIB_VALUES = [
    dt.date(1, 1, 1),
    dt.date(9999, 12, 31),
    dt.date(2024, 2, 29),
    dt.time(),
    dt.time(23, 59, 59, 999999),
    dt.time(1, 2, 3, 4, tzinfo=IST),
    dt.time(1, 2, 3, tzinfo=dt.timezone.utc, fold=1),
    dt.time(12, tzinfo=ODD_NAME),
    dt.datetime(2020, 1, 2, 3, 4, 5, 6),
    dt.datetime(1, 1, 1, tzinfo=WEST),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=EAST),
    dt.datetime(2021, 11, 7, 1, 30, fold=1),
    dt.datetime(2000, 2, 29, tzinfo=dt.timezone.utc),
    dt.datetime(2000, 2, 29, tzinfo=EMPTY_NAME),
    dt.timedelta(0),
    dt.timedelta.min,
    dt.timedelta.max,
    dt.timedelta(days=-1, microseconds=1),
    dt.timedelta(seconds=-1.5),
    dt.timezone.utc,
    dt.timezone(dt.timedelta(minutes=-90)),
    IST,
    WEST,
    EAST,
    ODD_NAME,
    D("0"),
    D("-0"),
    D("1.50"),
    D("-12.3400E-5"),
    D("1E+999999999999999999"),
    D("123456789012345678901234567890.123456789012345678901234567890"),
    D("Infinity"),
    D("-Infinity"),
    uuid.UUID(int=0),
    uuid.UUID(int=2**128 - 1),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    F(0),
    F(-3, 7),
    F(2**200 + 1, 3**90),
    F(-(2**500), 7**100),
    range(0),
    range(10),
    range(-5, 100, 7),
    range(10, -10, -3),
    range(2**70, -(2**80), -(2**65)),
    slice(None),
    slice(1, 2, 3),
    slice(None, -1),
    slice("a", (1, 2), None),
    slice(1.5, [1, [2]], {"k": slice(3)}),
    Ellipsis,
]


@pytest.mark.parametrize("value", STDLIB_VALUES, ids=repr)
def test_stdlib_values_round_trip_with_their_types(Values, value):
    v = Values()
    back = v.echo(value)
    assert type(back) is type(value)
    assert back == value
    # the child got the real thing too, not a pickle or a handle
    assert v.type_name(value) == type(value).__name__
    if isinstance(value, (dt.time, dt.datetime)):
        assert back.fold == value.fold
        assert back.tzinfo == value.tzinfo
        assert back.tzname() == value.tzname()
    if isinstance(value, dt.timezone):
        assert back.tzname(None) == value.tzname(None)
        assert back.__getinitargs__() == value.__getinitargs__()
    if isinstance(value, D):
        assert str(back) == str(value)  # exponent and trailing zeros kept


def test_utc_stays_the_singleton(Values):
    v = Values()
    assert v.echo(dt.timezone.utc) is dt.timezone.utc
    assert v.echo(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)).tzinfo is dt.timezone.utc


@pytest.mark.parametrize("text", ["NaN", "-NaN", "NaN123", "sNaN", "-sNaN42"])
def test_decimal_nans_round_trip(Values, text):
    v = Values()
    value = D(text)
    back = v.echo(value)
    assert type(back) is D
    assert str(back) == str(value)
    assert back.is_snan() == value.is_snan()
    assert back.is_signed() == value.is_signed()
    assert v.describe(value) == ("decimal", "Decimal", str(value))


def test_decimal_ignores_the_thread_context(Values):
    v = Values()
    with decimal.localcontext() as ctx:
        # a context that rounds and traps nothing must not change values
        ctx.prec = 3
        ctx.traps[decimal.InvalidOperation] = False
        value = D("3.14159265358979323846264338327950288")
        assert str(v.echo(value)) == str(value)


def test_values_made_in_the_child(Values):
    v = Values()
    assert v.make("date") == dt.date(1999, 12, 31)
    got = v.make("datetime")
    assert type(got) is dt.datetime
    assert (got.fold, got.tzname(), got.utcoffset()) == (1, "NST", -dt.timedelta(hours=3, minutes=30))
    assert v.make("decimal") == D("-12.3400E-5")
    assert str(v.make("nan")) == "-sNaN77"
    assert v.make("uuid") == uuid.UUID(int=2**128 - 1)
    assert v.make("fraction") == F(-7, 3)


def test_nested_in_containers(Values):
    v = Values()
    value = {
        "when": [dt.date(2020, 5, 17), (dt.datetime(2020, 5, 17, 8, tzinfo=IST), dt.timedelta(hours=2))],
        "money": {D("19.99"), D("0.01")},
        (1, 2): frozenset({uuid.UUID(int=7), F(1, 3), range(3)}),
        "cut": [slice(None, None, -1), ...],
        "deep": [[[[dt.time(4, 5, tzinfo=dt.timezone.utc)]]]],
    }
    back = v.echo(value)
    assert back == value
    assert type(back["money"]) is set
    assert all(type(x) is D for x in back["money"])
    assert back["cut"][1] is Ellipsis
    assert back["deep"][0][0][0][0].tzinfo is dt.timezone.utc


def test_other_tzinfos_and_subclasses_are_not_copied(Values):
    v = Values()
    # from the child: what the codec cannot express comes back as a handle
    for kind in ("odd_tz", "odd_time", "subclass_date", "subclass_decimal"):
        got = v.make(kind)
        assert isinstance(got, _core.RemoteObject), kind
        got.close()

    # to the child: a subclass is not copied as its base class
    class MyDate(dt.date):
        pass

    assert v.type_name(MyDate(2020, 1, 1)) != "date"
    assert v.type_name(dt.date(2020, 1, 1)) == "date"


def test_the_parent_imports_stdlib_modules_only_when_needed(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {HERE!r})
        from extradite import extradite
        assert "fractions" not in sys.modules and "uuid" not in sys.modules
        V = extradite({TARGET!r})
        try:
            v = V()
            f = v.make("fraction")
            u = v.make("uuid")
            print(type(f).__module__, type(f).__name__, f, type(u).__name__)
        finally:
            V.close()
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["fractions", "Fraction", "-7/3", "UUID"]


def test_stdlib_values_in_a_strict_child():
    # strict refuses file opens after the import: the child loaded what
    # its decoder needs before that
    Values = extradite_fn(TARGET, sandbox="strict")
    try:
        v = Values()
        for value in (dt.datetime(2020, 1, 1, tzinfo=IST), D("2.5"), uuid.UUID(int=5), F(2, 3), dt.timedelta(1)):
            back = v.echo(value)
            assert back == value and type(back) is type(value)
    finally:
        Values.close()


# ---- big bytes and bytearray -------------------------------------------


SIZES = [64 * KiB, 1 * MiB, 32 * MiB]


def pattern(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]


@pytest.mark.parametrize("kind", [bytes, bytearray])
@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"{n // KiB}KiB")
def test_big_buffers_round_trip(Values, size, kind):
    v = Values()
    value = kind(pattern(size))
    before = open_fds()
    back = v.echo(value)
    assert type(back) is kind
    assert len(back) == size
    assert back == value
    assert v.size(value) == (kind.__name__, size)
    made = v.big(size, kind.__name__)
    assert type(made) is kind and made == value
    assert open_fds() == before


def test_around_the_out_of_band_threshold(Values):
    v = Values()
    for n in (64 * KiB - 1, 64 * KiB, 64 * KiB + 1):
        for kind in (bytes, bytearray):
            value = kind(pattern(n))
            back = v.echo(value)
            assert type(back) is kind and back == value


def test_many_big_buffers_in_one_value(Values):
    v = Values()
    # more than the 64 fds one frame may carry: the rest go inline
    value = [pattern(64 * KiB + i) for i in range(70)] + [bytearray(b"\x01" * (80 * KiB))]
    before = open_fds()
    back = v.echo(value)
    assert back == value
    assert [type(x) for x in back] == [bytes] * 70 + [bytearray]
    shared = pattern(100 * KiB)
    assert v.echo((shared, shared, {"k": shared})) == (shared, shared, {"k": shared})
    assert open_fds() == before


def test_bigger_than_a_frame_goes_out_of_band(Values):
    v = Values()
    value = b"\xab" * (70 * MiB)  # over the 64 MiB frame cap: only a memfd fits
    assert v.size(value) == ("bytes", 70 * MiB)


def test_no_fds_left_after_a_failure(Values):
    v = Values()
    child_fds = v.open_fds()
    before = open_fds()
    with pytest.raises(ValueError, match="refused 1048576 bytes"):
        v.fail_after(bytearray(MiB))
    with pytest.raises(extradite.ExtraditeRemoteError):
        v.fail_after(pattern(2 * MiB))
    assert open_fds() == before
    # the child closed what it received, and what it sent
    assert v.echo(pattern(MiB)) == pattern(MiB)
    assert v.open_fds() == child_fds
    # and the session still works
    assert v.echo(dt.date(2020, 1, 1)) == dt.date(2020, 1, 1)


def test_big_buffers_in_a_strict_child():
    # memfd_create, the seals and SCM_RIGHTS are allowed by the sandbox
    Values = extradite_fn(TARGET, sandbox="strict")
    try:
        v = Values()
        value = pattern(3 * MiB)
        assert v.echo(value) == value
        assert v.echo(bytearray(value)) == bytearray(value)
    finally:
        Values.close()


def test_a_low_file_size_limit_falls_back_to_inline():
    # a memfd is a file: under RLIMIT_FSIZE the child sends inline instead
    profile = {"extends": "default", "limits": {"file_size": 4096}}
    Values = extradite_fn(TARGET, sandbox=profile)
    try:
        v = Values()
        value = pattern(MiB)
        assert v.echo(value) == value
        assert v.big(MiB, "bytearray") == bytearray(value)
    finally:
        Values.close()


# ---- a hostile child's out-of-band buffers ------------------------------


@pytest.mark.parametrize(
    "mode, message",
    [
        ("unsealed", "not a sealed memfd of the stated size"),
        ("partial", "not a sealed memfd of the stated size"),
        ("wrong_size", "not a sealed memfd of the stated size"),
        ("pipe", "not a sealed memfd of the stated size"),
        ("unnamed", "fds that no value refers to"),
        ("missing", "malformed value"),
        ("too_many", "malformed frame"),
    ],
)
def test_hostile_out_of_band_buffers_are_refused(mode, message):
    Values = extradite_fn(TARGET)
    try:
        v = Values()
        session = Values.__extradite_session__
        before = open_fds()
        # the crafted reply answers the very request that runs it
        request_id = session.requests + 1
        with pytest.raises(extradite.ExtraditeProtocolError, match=message):
            v.send_crafted(request_id, mode, 100 * KiB)
        assert not session.alive
        assert open_fds() - before == set()
    finally:
        Values.close()


def test_a_sealed_memfd_of_the_right_size_is_accepted():
    # the same crafted frame with a proper memfd decodes: the checks above
    # refuse the fd, not the frame
    Values = extradite_fn(TARGET)
    try:
        v = Values()
        session = Values.__extradite_session__
        request_id = session.requests + 1
        assert v.send_crafted(request_id, "ok_control", 10) == b"x" * 10
    finally:
        Values.close()


def test_big_buffers_and_stdlib_values_through_callbacks():
    # parent -> child -> parent callback -> child -> parent: every hop of a
    # re-entrant call carries its own memfds
    Caller = extradite_fn("xtd_targets.callbacks:Caller")
    try:
        caller = Caller()
        seen = []

        def fn(data, when):
            seen.append((type(data), len(data), type(when)))
            return bytearray(data[::-1]), when + dt.timedelta(days=1)

        value = pattern(2 * MiB)
        before = open_fds()
        back, when = caller.call(fn, value, dt.date(2024, 2, 28))
        assert seen == [(bytes, 2 * MiB, dt.date)]
        assert type(back) is bytearray and back == value[::-1]
        assert when == dt.date(2024, 2, 29)
        assert open_fds() == before
    finally:
        Caller.close()


# ---- packed int lists and tuples (EX_TAG_INT_LIST / EX_TAG_INT_TUPLE) -----

INT_SEQUENCES = [
    [0],
    [0, 127, -128],  # 1 byte
    [128, -129, 5],  # 2 bytes
    [32767, -32768],
    [32768, -1],  # 4 bytes
    [2**30, -(2**30)],  # past one 30-bit digit, still 4 bytes
    [-(2**31), 2**31 - 1],
    [2**31, 1],  # 8 bytes: the encoder starts again wider
    [1, 2, 3, -(2**63), 2**63 - 1],
    list(range(-70000, 70000, 7)),
    list(range(100_000)),
]


@pytest.mark.parametrize("kind", [list, tuple])
@pytest.mark.parametrize("ints", INT_SEQUENCES, ids=lambda v: f"{len(v)}:{v[:3]}")
def test_int_sequences_round_trip(Values, ints, kind):
    value = kind(ints)
    back = Values().echo(value)
    assert type(back) is kind
    assert back == value
    assert all(type(x) is int for x in back)


@pytest.mark.parametrize(
    "value",
    [
        [1, 2, 2**63],  # past int64: a big int, item by item
        [-(2**63) - 1, 0],
        [1, True, 0, False],  # bools stay bools
        [1, 2.0, 3],
        [1, "a"],
        ["a", 1, 2],
        [1, [2, 3], (4, 5)],
        [7, None],
    ],
    ids=repr,
)
def test_sequences_that_are_not_all_ints_keep_their_items(Values, value):
    back = Values().echo(value)
    assert back == value
    assert [type(x) for x in back] == [type(x) for x in value]
    assert Values().describe(value)[1] == "list"


def test_int_subclasses_in_a_list_are_not_packed(Values):
    import signal

    # SIGTERM is an int, but not an exact one: packed, it would reach the
    # child as a plain 15. It goes item by item (pickled to the child,
    # back as a handle to the child's Signals member).
    back = Values().echo([3, signal.SIGTERM, 4])
    assert back[0] == 3 and back[2] == 4
    assert type(back[1]) is not int
    assert repr(back[1]) == repr(signal.SIGTERM)


def test_the_child_accepts_any_width_and_refuses_short_data():
    import struct

    from raw_child import CALL, ERR_PROTOCOL, ERROR, OP_CALL, REPLY, Packed, RawChild, encode, error_kind

    def tuple_of(handle, arg):
        # (handle, (arg,), {}) with `arg` already encoded
        return (b"\x11" + struct.pack("<I", 3) + encode(handle)
                + b"\x11" + struct.pack("<I", 1) + arg + encode({}))

    with RawChild() as child:
        identity = child.load("xtd_targets.funcs", "identity")
        # wider than needed (the parent writes the narrowest): accepted,
        # and echoed back at the narrowest width
        for width in (1, 2, 4, 8):
            kind, payload = child.call(OP_CALL, (identity, (Packed([-1, 0, 5], width),), {}))
            assert kind == REPLY
            assert payload == Packed([-1, 0, 5], 1).encode()
        kind, payload = child.call(
            OP_CALL, (identity, (Packed([2**40, -7], 8, tuple),), {})
        )
        assert (kind, payload) == (REPLY, Packed([2**40, -7], 8, tuple).encode())
        # hostile headers: more ints than bytes, no ints, a width of 3;
        # refused as malformed, and the child carries on
        for bad in (
            Packed([1, 2], 4, count=3),
            Packed([1], 4, count=2**32 - 1),
            Packed([], 1),
            Packed([1], 3),
        ):
            kind, payload = child.call(OP_CALL, (identity, (bad,), {}))
            assert kind == ERROR
            assert error_kind(payload) == ERR_PROTOCOL
        kind, payload = child.call(OP_CALL, (identity, (Packed([9], 1),), {}))
        assert (kind, payload) == (REPLY, Packed([9], 1).encode())
        # floats: echoed bit for bit; a count past the data is refused
        floats = struct.pack("<BI3d", 0x1D, 3, 1.5, -0.0, float("nan"))
        kind, payload = child.exchange(CALL, OP_CALL, tuple_of(identity, floats))
        assert (kind, payload) == (REPLY, floats)
        short = struct.pack("<BI2d", 0x1E, 3, 1.5, 2.5)
        kind, payload = child.exchange(CALL, OP_CALL, tuple_of(identity, short))
        assert kind == ERROR and error_kind(payload) == ERR_PROTOCOL


@pytest.mark.parametrize("kind", [list, tuple])
def test_float_sequences_round_trip_bit_for_bit(Values, kind):
    import math
    import struct

    floats = [0.0, -0.0, 1.5, -2.5e300, 5e-324, math.inf, -math.inf, math.nan]
    floats += [i / 7 for i in range(100_000)]
    back = Values().echo(kind(floats))
    assert type(back) is kind and all(type(x) is float for x in back)
    assert struct.pack(f"<{len(floats)}d", *back) == struct.pack(f"<{len(floats)}d", *floats)


@pytest.mark.parametrize(
    "value",
    [[1.5, 2], [2.5, True], [0.5, None], [1.0, "x"], (1.5, 2.5, 3)],
    ids=repr,
)
def test_sequences_not_all_floats_keep_their_items(Values, value):
    back = Values().echo(value)
    assert back == value
    assert [type(x) for x in back] == [type(x) for x in value]


def test_float_subclasses_in_a_list_are_not_packed(Values):
    class Celsius(float):
        pass

    # pickled to the child, back as a handle: never a plain float
    back = Values().echo([1.5, Celsius(2.5)])
    assert back[0] == 1.5
    assert type(back[1]) is not float


def test_the_child_keeps_empty_arenas_for_the_next_large_value(Values):
    # pymalloc unmaps an arena once it is empty; the child keeps up to 16
    # (pymalloc_cache.c), so making and dropping 100,000 ints again
    # reuses mapped pages: about 370 page faults a round without the
    # cache, none with it (a count, not a time)
    v = Values()
    faults = min(v.churn_faults(100_000, 3) for _ in range(3))
    assert faults < 100
