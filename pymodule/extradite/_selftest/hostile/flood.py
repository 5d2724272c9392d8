"""Holding the parent's call past its call_timeout with callback requests.

At import (before anything forbids opening a file) the child finds its two
frame-ring memfds in /proc/self/maps. A call then writes CALL frames into
its ring to the parent back to back with ctypes, never waiting for an
answer and throwing the parent's replies away by moving the head of the
parent's ring itself; so the parent always finds a frame waiting. After
`seconds` it writes the reply to the parent's call the same way: a parent
that let the flood run gets it, as if nothing had happened.

The layout is protocol/arena.c's and ring.h's, the frames frame.h's.
"""

import ctypes
import os
import struct
import time

from ._common import Base

CHANNEL_FD = 3
HEADER = struct.Struct("<IBBHII")  # length, kind, op, flags, request, chain
CALL, REPLY, WAKE = 2, 3, 8
T_STR = 0x08
RING_OFFSET = 4096
RING_SIZE = 256 << 10
# words in the "up" memfd's first page (arena.c)
DOWN_HEAD, UP_TAIL, UP_HEAD, UP_SLEEP = 128, 256, 320, 384
# in the "down" memfd's first page
DOWN_TAIL = 0


def _find_rings():
    up = down = None
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                start = int(line.split("-", 1)[0], 16)
                if line.rstrip().endswith("/memfd:extradite-up (deleted)"):
                    up = start
                elif line.rstrip().endswith("/memfd:extradite-down (deleted)"):
                    down = start
    except OSError:
        pass
    return up, down


UP, DOWN = _find_rings()


def _u64(addr):
    return ctypes.c_uint64.from_address(addr).value


def _put_u64(addr, value):
    ctypes.c_uint64.from_address(addr).value = value


def _u32(addr):
    return ctypes.c_uint32.from_address(addr).value


def _ring_read(pos, n):
    """n bytes of our ring to the parent from stream position pos."""
    base = UP + RING_OFFSET
    i = pos % RING_SIZE
    first = min(n, RING_SIZE - i)
    return ctypes.string_at(base + i, first) + ctypes.string_at(base, n - first)


def _ring_write(pos, data):
    base = UP + RING_OFFSET
    i = pos % RING_SIZE
    first = min(len(data), RING_SIZE - i)
    ctypes.memmove(base + i, data[:first], first)
    if first < len(data):
        ctypes.memmove(base, data[first:], len(data) - first)


class Flooder(Base):
    def rings_found(self):
        return UP is not None and DOWN is not None

    def sleep(self, seconds):
        time.sleep(seconds)
        return "slept"

    def ring_flood(self, callback, seconds):
        if not self.rings_found():
            return "no rings found"
        # One ordinary callback: its request, left in our ring, names the
        # chain (the parent's call we serve) and the handle to call.
        start = _u64(UP + UP_TAIL)
        callback()
        end_pos = _u64(UP + UP_TAIL)
        request = None
        pos = start
        while pos + HEADER.size <= end_pos:
            head = HEADER.unpack(_ring_read(pos, HEADER.size))
            if head[1] == CALL:
                request = (head, _ring_read(pos + HEADER.size, head[0]))
            pos += HEADER.size + head[0]
        if request is None:
            return "no request found in the ring"
        (length, _kind, op, _flags, _rid, chain), payload = request
        tail = end_pos
        sent = 0

        def put(frame):
            nonlocal tail
            while tail + len(frame) - _u64(UP + UP_HEAD) > RING_SIZE:
                # the parent's replies: thrown away, so it never waits
                _put_u64(UP + DOWN_HEAD, _u64(DOWN + DOWN_TAIL))
            _ring_write(tail, frame)
            tail += len(frame)
            _put_u64(UP + UP_TAIL, tail)
            if _u32(UP + UP_SLEEP):
                os.write(CHANNEL_FD, HEADER.pack(0, WAKE, 0, 0, 0, 0))

        # Whole batches at once, so the parent always finds frames waiting
        # (a frame at a time, it could catch up with us and wait).
        batch = b"".join(
            HEADER.pack(length, CALL, op, 0, 0x40000000 + i, chain) + payload
            for i in range(max(1, (RING_SIZE // 16) // (HEADER.size + length))))
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            put(batch)
            sent += 1
        text = f"flooded for {seconds} s: {sent} batches".encode()
        put(HEADER.pack(5 + len(text), REPLY, 0, 0, chain, 0)
            + bytes([T_STR]) + struct.pack("<I", len(text)) + text)
        # Our own serving code is out of step with the ring now: never go
        # back to it. The parent kills us when it is done.
        while True:
            time.sleep(3600)
