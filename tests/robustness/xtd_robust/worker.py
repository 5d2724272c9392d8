"""What the robustness tests make the child do: ordinary work to check
replies against, and ways to die at a chosen point."""

import os
import signal
import struct
import time

CHANNEL_FD = 3
# protocol/frame.h: length, kind, op, flags, request_id, chain_id
HEADER = struct.Struct("<IBBHII")
REPLY = 3


def _die():
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # not reached: SIGKILL is not deferred


class Worker:
    def __init__(self, name="w"):
        self.name = name
        self.calls = 0

    def echo(self, value):
        self.calls += 1
        return value

    def tag(self, thread, i):
        """A value unique to the caller's thread and call."""
        self.calls += 1
        return (self.name, thread, i, thread * 1000003 + i)

    def size(self, data):
        return len(data)

    def make_bytes(self, n, fill=0x5A):
        return bytes([fill]) * n

    def call(self, fn, *args):
        return fn(*args)

    def relay(self, fn, depth):
        """parent -> here -> parent callback -> here ...: re-entrant."""
        return fn(depth)

    def spin(self, seconds):
        """Busy in Python, not reading the channel."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            pass
        return seconds

    def pid(self):
        return os.getpid()

    # ---- dying at a chosen point (every profile lets a child signal
    # itself; the sandbox only refuses other processes)

    def die(self):
        _die()

    def die_at(self, i, k):
        """Batch item i dies when i == k."""
        if i == k:
            _die()
        return i

    def die_mid_frame(self, length, sent, request_id):
        """Write the first `sent` bytes of a reply frame promising `length`
        payload bytes, then die: the parent holds a partial frame."""
        frame = HEADER.pack(length, REPLY, 0, 0, request_id, 0) + b"\x01" * length
        view = memoryview(frame)[:sent]
        while view:
            view = view[os.write(CHANNEL_FD, view):]
        _die()

    def close_mid_frame(self, length, sent, request_id):
        """The same, but close the channel and stay alive."""
        frame = HEADER.pack(length, REPLY, 0, 0, request_id, 0) + b"\x01" * length
        view = memoryview(frame)[:sent]
        while view:
            view = view[os.write(CHANNEL_FD, view):]
        os.close(CHANNEL_FD)
        time.sleep(60)

    def die_after_callback(self, fn, arg):
        """Call back into the parent, then die before replying."""
        fn(arg)
        _die()

    def die_in_relay(self, fn, depth, at):
        """A re-entrant chain that dies at depth `at`."""
        if depth == at:
            _die()
        return fn(depth)

    # ---- forging requests to the parent

    def forge_callback(self, op, request, chain_id):
        """Send the parent a callback request of our own making (`request`
        is an encoded value) as part of the call `chain_id`, and return the
        kind of its answer (REPLY 3, ERROR 4)."""
        frame = HEADER.pack(len(request), 2, op, 0, 0x7FFF0001, chain_id) + request
        view = memoryview(frame)
        while view:
            view = view[os.write(CHANNEL_FD, view):]
        header = _read_exact(HEADER.size)
        length, kind, _, _, request_id, _ = HEADER.unpack(header)
        _read_exact(length)
        assert request_id == 0x7FFF0001
        return kind


    def forge_holding(self, parent_object, op, request, chain_id):
        """forge_callback while holding a handle to parent_object (the
        first the parent exported in this session, so its id is known)."""
        held = parent_object
        try:
            return self.forge_callback(op, request, chain_id)
        finally:
            del held


def _read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(CHANNEL_FD, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data
