"""The channel: whatever the hostile code writes into fd 3 (garbage, absurd
lengths, forged replies, codec bombs, pickles) ends that child with
ExtraditeProtocolError and leaves the parent unharmed."""

import os
import pickle
import random
import shlex
import struct

import pytest

import extradite
from xtd_checks import assert_dead, child_pid

TARGET = "extradite._selftest.hostile.channel:ChannelAttacker"

# protocol/frame.h: length, kind, op, flags, request_id, chain_id
HEADER = struct.Struct("<IBBHII")
BOOT, CALL, REPLY, ERROR, RELEASE, VIOLATION = range(1, 7)
FRAME_CAP = 64 << 20

# protocol/codec.h tags
T_NONE, T_INT, T_STR, T_LIST, T_BACKREF, T_PICKLE = 0x01, 0x04, 0x08, 0x10, 0x21, 0x30
T_TYPE_HANDLE = 0x22
T_HANDLE = 0x20
T_BYTES_ARENA = 0x0E
# protocol/frame.h and arena.h
F_ARENA = 0x0001
ARENA_SIZE = 8 << 20


def frame(kind, payload, request_id, *, op=0, flags=0, chain_id=0, length=None):
    size = len(payload) if length is None else length
    return HEADER.pack(size, kind, op, flags, request_id, chain_id) + payload


def enc_int(value):
    return bytes([T_INT]) + struct.pack("<q", value)


def enc_blob(tag, data):
    return bytes([tag]) + struct.pack("<I", len(data)) + data


def nested_lists(depth):
    return (bytes([T_LIST]) + struct.pack("<I", 1)) * depth + bytes([T_NONE])


def next_request_id(cls):
    """The id the parent will give its next request (ids count round trips).
    test_forged_reply_with_the_right_id checks that this guess is right."""
    return cls.__extradite_session__.requests + 1


@pytest.fixture
def attacker_cls(spawn):
    return spawn(TARGET)


class _Marker:
    """Pickles to a command that creates a file, were anyone to unpickle it."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.path))}",)


def attack(cls, data, then="sleep"):
    attacker = cls()
    pid = child_pid(cls)
    with pytest.raises(extradite.ExtraditeProtocolError) as info:
        attacker.write_raw(data, then)
    assert not isinstance(info.value, extradite.ExtraditeTimeoutError)
    assert_dead(cls, pid)
    return info.value


def test_forged_reply_with_the_right_id(attacker_cls):
    # control: a well-formed reply to its own call is just a return value; this
    # proves the frames below are built right and reach the parent's decoder
    attacker = attacker_cls()
    rid = next_request_id(attacker_cls)
    assert attacker.write_raw(frame(REPLY, enc_int(42), rid, chain_id=0)) == 42


def test_random_bytes(attacker_cls):
    garbage = random.Random(20240601).randbytes(4096)
    length, kind, op, flags, _, _ = HEADER.unpack_from(garbage)
    # the test only means something if this header cannot pass for a frame
    assert not (length <= FRAME_CAP and 1 <= kind <= 9 and flags == 0)
    attack(attacker_cls, garbage)


@pytest.mark.parametrize("length", [0xFFFFFFFF, FRAME_CAP + 1])
def test_absurd_length_is_refused_before_allocating(attacker_cls, length):
    rid = next_request_id(attacker_cls) + 1  # +1: the NEW call below comes first
    attack(attacker_cls, frame(REPLY, b"", rid, length=length))


def test_reply_with_a_wrong_request_id(attacker_cls):
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(REPLY, enc_int(42), rid + 1000))
    assert_dead(attacker_cls, pid)


@pytest.mark.parametrize(
    "kind, flags, op",
    [
        (BOOT, 0, 0),
        (0, 0, 0),
        (7, 0, 0),
        (0xFF, 0, 0),
        (REPLY, 2, 0),
        (REPLY, 0x8001, 0),
        (REPLY, 0, 9),
    ],
    ids=["boot", "kind0", "kind7", "kind255", "flags", "flags-high", "bad-op"],
)
def test_frames_the_parent_never_expects(attacker_cls, kind, flags, op):
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(kind, enc_int(42), rid, op=op, flags=flags))
    assert_dead(attacker_cls, pid)


def test_handle_zero_is_refused(attacker_cls):
    # handles count from 1; 0 once came out as a MemoryError (make soak)
    rid = next_request_id(attacker_cls)
    attack(attacker_cls, frame(REPLY, bytes([T_HANDLE]) + struct.pack("<Q", 0), rid))


def enc_arena(offset, n):
    return bytes([T_BYTES_ARENA]) + struct.pack("<II", offset, n)


def test_arena_value_at_the_arena_end(attacker_cls):
    # control: the last byte of the arena is inside it, so the bounds below
    # are refused for being out of bounds, not for being arena values
    attacker = attacker_cls()
    rid = next_request_id(attacker_cls)
    got = attacker.write_raw(frame(REPLY, enc_arena(ARENA_SIZE - 100, 100), rid, flags=F_ARENA))
    assert type(got) is bytes and len(got) == 100


@pytest.mark.parametrize(
    "offset, n",
    [(0, ARENA_SIZE + 1), (ARENA_SIZE - 99, 100), (ARENA_SIZE, 1), (0xFFFFFFFF, 2), (0, 0)],
    ids=["longer", "past-end", "at-end", "wraps", "empty"],
)
def test_arena_value_outside_the_arena(attacker_cls, offset, n):
    rid = next_request_id(attacker_cls)
    attack(attacker_cls, frame(REPLY, enc_arena(offset, n), rid, flags=F_ARENA))


def test_arena_value_in_an_unflagged_frame(attacker_cls):
    rid = next_request_id(attacker_cls)
    attack(attacker_cls, frame(REPLY, enc_arena(0, 100), rid))


def test_arena_flag_on_a_release(attacker_cls):
    rid = next_request_id(attacker_cls)
    attack(attacker_cls, frame(RELEASE, b"", rid, flags=F_ARENA))


def test_reply_nested_ten_thousand_deep(attacker_cls):
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(REPLY, nested_lists(10000), rid))
    assert_dead(attacker_cls, pid)


def test_reply_with_a_pickle(attacker_cls, tmp_path):
    marker = tmp_path / "pwned"
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    payload = enc_blob(T_PICKLE, pickle.dumps(_Marker(marker)))
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(REPLY, payload, rid))
    assert not marker.exists()
    assert_dead(attacker_cls, pid)


def test_reply_with_a_pickle_inside_a_container(attacker_cls, tmp_path):
    marker = tmp_path / "pwned"
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    inner = enc_blob(T_PICKLE, pickle.dumps(_Marker(marker)))
    payload = bytes([T_LIST]) + struct.pack("<I", 2) + enc_int(1) + inner
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(REPLY, payload, rid))
    assert not marker.exists()
    assert_dead(attacker_cls, pid)


def test_reply_with_a_reference_to_a_parent_object_never_given(attacker_cls):
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    payload = bytes([T_BACKREF]) + struct.pack("<Q", 1)
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(REPLY, payload, rid))
    assert_dead(attacker_cls, pid)


def test_reply_with_a_class_handle(attacker_cls):
    # only the parent sends classes by handle (EX_TAG_TYPE_HANDLE); one from
    # the child is a protocol violation, however well-formed
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    payload = bytes([T_TYPE_HANDLE]) + struct.pack("<QB", 1, 1) + b"C"
    with pytest.raises(extradite.ExtraditeProtocolError, match="does not accept"):
        attacker.write_raw(frame(REPLY, payload, rid))
    assert_dead(attacker_cls, pid)


def test_invalid_utf8_in_a_reply(attacker_cls):
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    payload = enc_blob(T_STR, b"\xed\xa0\x80")  # an encoded surrogate
    with pytest.raises(extradite.ExtraditeProtocolError):
        attacker.write_raw(frame(REPLY, payload, rid))
    assert_dead(attacker_cls, pid)


def test_truncated_frame_then_exit(attacker_cls):
    rid = next_request_id(attacker_cls) + 1
    data = frame(REPLY, enc_int(42), rid, length=1000)  # promises 1000, sends 9
    attack(attacker_cls, data, then="exit")


def test_garbage_ahead_of_the_real_reply(attacker_cls):
    # the parent must not skip bytes to resync on the real reply behind them
    attack(attacker_cls, b"\xff" * 64, then="linger")


def test_forged_violation_report_still_ends_the_child(attacker_cls):
    # faking its own death report gains nothing: the child is killed all the same
    attacker = attacker_cls()
    pid = child_pid(attacker_cls)
    rid = next_request_id(attacker_cls)
    with pytest.raises((extradite.ExtraditeProtocolError, extradite.ExtraditeSandboxViolation)):
        attacker.write_raw(frame(VIOLATION, enc_int(101), rid))
    assert_dead(attacker_cls, pid)


@pytest.mark.parametrize("count", [3, 250])
def test_fds_smuggled_with_a_reply_do_not_stay_open_here(attacker_cls, count):
    # fds the payload does not name: the parent must drop them (the shared
    # check after the test fails on any fd left open here) and may refuse
    # the frame; it must not return them or keep them
    attacker = attacker_cls()
    rid = next_request_id(attacker_cls)
    before = len(os.listdir("/proc/self/fd"))
    try:
        result = attacker.write_with_fds(frame(REPLY, enc_int(42), rid), [0, 1, 2] * (count // 3))
    except extradite.ExtraditeProtocolError:
        pass
    except PermissionError as exc:
        # the child may not even be allowed to pass fds
        assert isinstance(exc, extradite.ExtraditeRemoteError)
    else:
        assert result == 42
    assert len(os.listdir("/proc/self/fd")) <= before
