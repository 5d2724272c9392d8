"""The wire, written by hand, for forging a child's side of it: frame
headers (protocol/frame.h) and a value encoder for every tag of
protocol/codec.h, plus a corpus of well-formed frames to mutate."""

import datetime
import decimal
import fractions
import struct
import uuid

HEADER = struct.Struct("<IBBHII")  # length, kind, op, flags, request_id, chain_id
FRAME_CAP = 64 << 20  # EX_FRAME_MAX_DEFAULT
BOOT, CALL, REPLY, ERROR, RELEASE, VIOLATION = range(1, 7)
OP_CALL, OP_CALL_METHOD, OP_GETATTR, OP_SETATTR, OP_DELATTR, OP_DUNDER = 3, 4, 5, 6, 7, 8
OP_BATCH = 9
ERR_REMOTE, ERR_PROTOCOL, ERR_UNSUPPORTED, ERR_LEAK = 0, 1, 2, 3

T = dict(
    NONE=0x01, FALSE=0x02, TRUE=0x03, INT=0x04, BIGINT=0x05, FLOAT=0x06,
    COMPLEX=0x07, STR=0x08, BYTES=0x09, BYTEARRAY=0x0A, ELLIPSIS=0x0B,
    BYTES_FD=0x0C, BYTEARRAY_FD=0x0D, LIST=0x10, TUPLE=0x11, DICT=0x12,
    SET=0x13, FROZENSET=0x14, SLICE=0x15, HANDLE=0x20, BACKREF=0x21,
    TYPE_HANDLE=0x22, PICKLE=0x30, DATE=0x40, TIME=0x41, DATETIME=0x42,
    TIMEDELTA=0x43, TIMEZONE=0x44, DECIMAL=0x45, UUID=0x46, FRACTION=0x47,
    RANGE=0x48, INT_LIST=0x1B, INT_TUPLE=0x1C, FLOAT_LIST=0x1D, FLOAT_TUPLE=0x1E,
)
TAGS = sorted(T.values())


def frame(kind, payload, request_id=0, *, op=0, flags=0, chain_id=0, length=None):
    size = len(payload) if length is None else length
    return HEADER.pack(size, kind, op, flags, request_id, chain_id) + payload


class Handle(int):
    """An object the (forged) child owns."""


class Backref(int):
    """An object the parent owns."""


class Pairs(list):
    """A dict given as (key, value) pairs: keys need not be hashable here."""


class Items(list):
    """A set given as a list: items need not be hashable here."""


class Packed(tuple):
    """A packed int list (a tuple when `kind` is tuple) at `width` bytes
    per int: (width, ints, kind); width "f": a packed float list."""

    def __new__(cls, width, ints, kind=list):
        return super().__new__(cls, (width, tuple(ints), kind))


def _tag(name):
    return bytes([T[name]])


def _blob(name, data):
    return _tag(name) + struct.pack("<I", len(data)) + data


def _sint(n):
    size = max(1, (n.bit_length() + 8) // 8)
    return struct.pack("<I", size) + n.to_bytes(size, "little", signed=True)


def _tz(tz, allow_none=True):
    if tz is None:
        assert allow_none
        return b"\x00"
    offset = tz.utcoffset(None)
    us = (offset.days * 86400 + offset.seconds) * 1_000_000 + offset.microseconds
    name = tz.tzname(None)
    if tz == datetime.timezone(offset):  # no name of its own
        return b"\x01" + struct.pack("<q", us)
    data = name.encode()
    return b"\x02" + struct.pack("<qB", us, len(data)) + data


def _time_fields(t):
    return struct.pack("<BBBIB", t.hour, t.minute, t.second, t.microsecond, t.fold)


def encode(v):
    """One value as the codec writes it."""
    if v is None:
        return _tag("NONE")
    if v is True or v is False:
        return _tag("TRUE" if v else "FALSE")
    if isinstance(v, Handle):
        return _tag("HANDLE") + struct.pack("<Q", v)
    if isinstance(v, Backref):
        return _tag("BACKREF") + struct.pack("<Q", v)
    if isinstance(v, Pairs):
        return _tag("DICT") + struct.pack("<I", len(v)) + b"".join(encode(a) + encode(b) for a, b in v)
    if isinstance(v, Packed) and v[0] == "f":
        _, floats, kind = v
        head = _tag("FLOAT_LIST" if kind is list else "FLOAT_TUPLE") + struct.pack("<I", len(floats))
        return head + struct.pack(f"<{len(floats)}d", *floats)
    if isinstance(v, Packed):
        width, ints, kind = v
        head = _tag("INT_LIST" if kind is list else "INT_TUPLE") + struct.pack("<BI", width, len(ints))
        return head + b"".join(i.to_bytes(width, "little", signed=True) for i in ints)
    if isinstance(v, Items):
        return _tag("SET") + struct.pack("<I", len(v)) + b"".join(map(encode, v))
    if isinstance(v, int):
        if -(2**63) <= v < 2**63:
            return _tag("INT") + struct.pack("<q", v)
        return _tag("BIGINT") + _sint(v)
    if isinstance(v, float):
        return _tag("FLOAT") + struct.pack("<d", v)
    if isinstance(v, complex):
        return _tag("COMPLEX") + struct.pack("<dd", v.real, v.imag)
    if isinstance(v, str):
        return _blob("STR", v.encode())
    if isinstance(v, bytes):
        return _blob("BYTES", v)
    if isinstance(v, bytearray):
        return _blob("BYTEARRAY", bytes(v))
    if v is Ellipsis:
        return _tag("ELLIPSIS")
    if isinstance(v, slice):
        return _tag("SLICE") + encode(v.start) + encode(v.stop) + encode(v.step)
    for typ, name in ((list, "LIST"), (tuple, "TUPLE"), (set, "SET"), (frozenset, "FROZENSET")):
        if type(v) is typ:
            return _tag(name) + struct.pack("<I", len(v)) + b"".join(map(encode, v))
    if isinstance(v, dict):
        items = b"".join(encode(k) + encode(x) for k, x in v.items())
        return _tag("DICT") + struct.pack("<I", len(v)) + items
    if isinstance(v, datetime.datetime):
        date = struct.pack("<HBB", v.year, v.month, v.day)
        return _tag("DATETIME") + date + _time_fields(v) + _tz(v.tzinfo)
    if isinstance(v, datetime.date):
        return _tag("DATE") + struct.pack("<HBB", v.year, v.month, v.day)
    if isinstance(v, datetime.time):
        return _tag("TIME") + _time_fields(v) + _tz(v.tzinfo)
    if isinstance(v, datetime.timedelta):
        return _tag("TIMEDELTA") + struct.pack("<iii", v.days, v.seconds, v.microseconds)
    if isinstance(v, datetime.timezone):
        return _tag("TIMEZONE") + _tz(v, allow_none=False)
    if isinstance(v, decimal.Decimal):
        return _blob("DECIMAL", str(v).encode())
    if isinstance(v, uuid.UUID):
        return _tag("UUID") + v.bytes
    if isinstance(v, fractions.Fraction):
        return _tag("FRACTION") + _sint(v.numerator) + _sint(v.denominator)
    if isinstance(v, range):
        return _tag("RANGE") + _sint(v.start) + _sint(v.stop) + _sint(v.step)
    raise TypeError(type(v).__name__)


_UTC5 = datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")

# Replies a child may well send: every tag the parent accepts from it.
REPLY_VALUES = [
    None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**200, -(3**150), 1.5, float("inf"),
    float("nan"), complex(1, -2), "", "héllo wörld ✓", "x" * 300, b"", b"\x00\xff" * 40,
    bytearray(b"abc"), Ellipsis, [], [1, [2, [3, [4]]]], (1, "a", None), {"k": [1, 2], 3: (4,)},
    {1, 2, 3}, frozenset({"a", "b"}), slice(1, None, -2), Handle(1), Handle(2**32 + 7),
    [Handle(1), Handle(1), {"h": Handle(3)}], datetime.date(2024, 2, 29),
    datetime.time(23, 59, 59, 999999, fold=1), datetime.datetime(1, 1, 1, tzinfo=_UTC5),
    datetime.datetime(9999, 12, 31, 1, 2, 3, 4, tzinfo=datetime.timezone.utc),
    datetime.timedelta(days=-999999999), datetime.timezone(datetime.timedelta(hours=-23)),
    _UTC5, decimal.Decimal("-1.23e-400"), decimal.Decimal("sNaN12"), decimal.Decimal("-Inf"),
    uuid.UUID(int=2**128 - 1), fractions.Fraction(-7, 3), fractions.Fraction(2**100, 3**70),
    range(-5, 10**30, 7), {"report": {"profile": "default", "seccomp": {"enabled": True}}},
    Packed(1, [0, -1, 127, -128]), Packed(2, range(-300, 300, 13), tuple),
    Packed(4, [2**31 - 1, -(2**31)]), Packed(8, [2**63 - 1, -(2**63), 0], tuple),
    Packed(8, [1, 2]), [Packed(1, [5]), Packed(4, range(50))],
    Packed("f", [1.5, -0.0, float("inf"), float("nan")]), Packed("f", [2.5], tuple),
]

ERROR_VALUES = [
    (ERR_REMOTE, "builtins", "ValueError", "bad value", "Traceback ...", ("bad value",)),
    (ERR_REMOTE, "builtins", "KeyError", "'k'", "", ("k",)),
    (ERR_REMOTE, "builtins", "SystemExit", "bye", "", (0,)),
    (ERR_REMOTE, "builtins", "OSError", "[Errno 2]", "", (2, "No such file")),
    (ERR_REMOTE, "mypkg.errors", "Custom", "custom", "tb", ()),
    (ERR_PROTOCOL, "", "", "released handle", "", ()),
    (ERR_UNSUPPORTED, "", "", "unsupported", "", ()),
    (ERR_LEAK, "", "", "leak", "", ()),
]

# Requests a child may send while we wait (callbacks): on objects the
# parent never gave it, so the parent must refuse them, not run them.
CALLBACK_REQUESTS = [
    (OP_GETATTR, (Backref(1), "name")),
    (OP_CALL, (Backref(2), (1, 2), {})),
    (OP_CALL_METHOD, (Backref(1), "append", (3,), {})),
    (OP_GETATTR, ("text", "upper")),
    (OP_CALL_METHOD, ("text", "upper", (), {})),
    (OP_DUNDER, (3, "add", (4,))),
    (OP_DUNDER, ([1, 2], "len", ())),
    (OP_SETATTR, (Backref(5), "x", 1)),
    (OP_DELATTR, (Backref(5), "x")),
]

RELEASE_VALUES = [[], [1, 1], [2**32 + 1, 3, 7, 1]]
