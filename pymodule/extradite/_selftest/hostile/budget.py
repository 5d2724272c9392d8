"""Replies whose few bytes would cost the parent far more than their size:
colliding hashes, packed ints that become objects, one arena
region named again and again. Each writes its forged reply to the request
`request_id` straight into the channel (fd 3) and waits to be killed; a
real child could not build the colliding set without paying the quadratic
cost itself."""

import struct
import time

from ._common import Base
from .channel import ChannelAttacker

# protocol/frame.h: length, kind, op, flags, request_id, chain_id
HEADER = struct.Struct("<IBBHII")
CALL, REPLY = 2, 3
OP_CALL = 3
F_ARENA = 0x0001
# protocol/codec.h
T_BIGINT, T_LIST, T_TUPLE, T_DICT, T_SET = 0x05, 0x10, 0x11, 0x12, 0x13
T_STR = 0x08
T_NONE, T_INT_LIST, T_BYTES_ARENA, T_DATETIME = 0x01, 0x1B, 0x0E, 0x42
ARENA_SIZE = 8 << 20  # protocol/arena.h
# Ints hash modulo this prime: k * P + c all hash to c.
P = (1 << 61) - 1


def _bigint(v):
    raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return bytes([T_BIGINT]) + struct.pack("<I", len(raw)) + raw


def colliding_ints(n):
    """n wire ints, all with the hash 7."""
    return b"".join(_bigint(k * P + 7) for k in range(1, n + 1))


def hash_flood_payload(kind, n):
    """kind: "set", "dict", or "mixed" (a dict whose first key is a str,
    decoded before the ints)."""
    head = bytes([T_SET if kind == "set" else T_DICT]) + struct.pack("<I", n)
    if kind == "set":
        return head + colliding_ints(n)
    first = 1
    if kind == "mixed":
        head += bytes([T_STR]) + struct.pack("<I", 1) + b"a" + bytes([T_NONE])
        first = 2
    return head + b"".join(_bigint(k * P + 7) + bytes([T_NONE]) for k in range(first, n + 1))


def packed_int16_payload(lists, per_list):
    """A tuple of `lists` packed lists of int16s, 2 bytes each on the wire,
    an int object (32 bytes) and a pointer each in the parent."""
    body = bytes([T_INT_LIST, 2]) + struct.pack("<I", per_list) + b"\xe8\x03" * per_list
    return bytes([T_TUPLE]) + struct.pack("<I", lists) + body * lists


def arena_refs_payload(refs, n=ARENA_SIZE):
    """A list naming the same n bytes of the child's arena `refs` times."""
    one = bytes([T_BYTES_ARENA]) + struct.pack("<II", 0, n)
    return bytes([T_LIST]) + struct.pack("<I", refs) + one * refs


def slow_values_payload(n):
    """n datetimes with a named timezone: each costs the parent a few
    microseconds to build but little memory, so only the deadline stops a
    frame full of them."""
    one = (bytes([T_DATETIME]) + struct.pack("<HBB", 2024, 2, 29)
           + struct.pack("<BBBIB", 12, 0, 0, 0, 0)
           + bytes([2]) + struct.pack("<q", 3600 * 10**6) + bytes([1]) + b"X")
    return bytes([T_LIST]) + struct.pack("<I", n) + one * n


def reply_frame(payload, request_id, flags=0):
    return HEADER.pack(len(payload), REPLY, 0, flags, request_id, 0) + payload


class SlowHash:
    """Hashes slowly once `delay` is set: a set of these comes back to the
    parent as a set of proxies, each hashed by a call into this child."""

    delay = 0.0

    def __hash__(self):
        time.sleep(SlowHash.delay)
        return id(self) >> 4


class ReplyBomber(Base):
    """Builds each forged reply here, in the child, and writes it."""

    def _send(self, payload, request_id, flags=0, then="sleep"):
        return ChannelAttacker().write_raw(reply_frame(payload, request_id, flags), then)

    def hash_flood(self, request_id, kind="set", n=30000, then="sleep"):
        return self._send(hash_flood_payload(kind, n), request_id, then=then)

    def amplification(self, request_id, lists=2, per_list=6_000_000, then="sleep"):
        return self._send(packed_int16_payload(lists, per_list), request_id, then=then)

    def arena_refs(self, request_id, refs=160, then="sleep"):
        return self._send(arena_refs_payload(refs), request_id, F_ARENA, then)

    def slow_values(self, request_id, n=1_500_000, then="sleep"):
        return self._send(slow_values_payload(n), request_id, then=then)

    def hash_flood_callback(self, request_id, n=30000, then="sleep"):
        """The same flood as the arguments of a callback: a request of ours,
        in the chain of the parent's call, decoded by the same path."""
        payload = bytes([T_TUPLE]) + struct.pack("<I", 1) + hash_flood_payload("set", n)
        frame = HEADER.pack(len(payload), CALL, OP_CALL, 0, 1, request_id) + payload
        return ChannelAttacker().write_raw(frame, then)

    def slow_hash_set(self, n=20, delay=0.3):
        items = {SlowHash() for _ in range(n)}
        SlowHash.delay = delay
        return items

    # Legitimate values near the hazards, built and returned normally.
    def equal_hash_neighbours(self):
        # hash(-1) == hash(-2); 1 == 1.0 == True are one key
        return ({-1, -2}, {1: "int", 1.0: "float"}, {(1, 2), (1.0, 2.0), 2.5, -2},
                {"a": 1, 2: 2, "b": 3, 2.0: 4, (1, "x"): 5, b"c": 6})

    def many_ints(self, n):
        return set(range(n)), {i: i for i in range(n)}, list(range(n))


# One class (so one child) per selftest attempt: a forged reply that got
# through leaves its child asleep, which must not stall the next attempt.
class HashFlooder(ReplyBomber):
    pass


class Amplifier(ReplyBomber):
    pass


class ArenaNamer(ReplyBomber):
    pass
