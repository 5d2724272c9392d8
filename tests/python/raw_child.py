"""Talk to an extradite child byte by byte, as a parent would, to test what
the child accepts: requests the real parent never sends. Frames follow
protocol/frame.h, values protocol/codec.h (only the tags needed here)."""

import os
import socket
import struct
import sys

from extradite import _core

HEADER = struct.Struct("<IBBHII")
BOOT, CALL, REPLY, ERROR = 1, 2, 3, 4
OP_LOAD, OP_CALL, OP_DUNDER, OP_BATCH = 1, 3, 8, 9
ERR_REMOTE, ERR_PROTOCOL = 0, 1

T_NONE, T_FALSE, T_TRUE, T_INT, T_STR = 0x01, 0x02, 0x03, 0x04, 0x08
# an int's tag -> its struct format (the encoder picks the shortest)
INT_FORMS = {T_INT: "<q", 0x18: "<b", 0x19: "<h", 0x1A: "<i"}
T_LIST, T_TUPLE, T_DICT, T_HANDLE, T_BACKREF = 0x10, 0x11, 0x12, 0x20, 0x21

BOOTSTRAP = (
    "import sys;sys.path.append(sys.argv[1]);"
    "from extradite._core import _child_main;_child_main()"
)


class Backref(int):
    """A handle to an object the child owns."""


T_INT_LIST, T_INT_TUPLE = 0x1B, 0x1C


class Packed:
    """A packed int list (or tuple) at a width of our choosing; `count`
    overrides the count the header claims."""

    def __init__(self, ints, width, kind=list, count=None):
        self.ints, self.width, self.kind = list(ints), width, kind
        self.count = len(self.ints) if count is None else count

    def encode(self):
        tag = T_INT_LIST if self.kind is list else T_INT_TUPLE
        data = b"".join(i.to_bytes(self.width, "little", signed=True) for i in self.ints)
        return struct.pack("<BBI", tag, self.width, self.count) + data


def encode(value):
    if isinstance(value, Packed):
        return value.encode()
    if value is None:
        return bytes([T_NONE])
    if value is True or value is False:
        return bytes([T_TRUE if value else T_FALSE])
    if isinstance(value, Backref):
        return bytes([T_BACKREF]) + struct.pack("<Q", value)
    if isinstance(value, int):
        return bytes([T_INT]) + struct.pack("<q", value)
    if isinstance(value, str):
        data = value.encode()
        return bytes([T_STR]) + struct.pack("<I", len(data)) + data
    if isinstance(value, (list, tuple)):
        tag = T_LIST if isinstance(value, list) else T_TUPLE
        return bytes([tag]) + struct.pack("<I", len(value)) + b"".join(map(encode, value))
    if isinstance(value, dict):
        items = b"".join(encode(k) + encode(v) for k, v in value.items())
        return bytes([T_DICT]) + struct.pack("<I", len(value)) + items
    raise TypeError(type(value).__name__)


SANITIZER_ENV = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")


class RawChild:
    """An unconfined child on a socketpair, driven by hand."""

    def __init__(self):
        ours, theirs = socket.socketpair()
        root = os.path.dirname(os.path.dirname(os.path.abspath(_core.__file__)))
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        if "LD_LIBRARY_PATH" in os.environ:
            env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
        # An ASan build's child needs the preloaded runtime, as in session.c.
        for name in SANITIZER_ENV if _core._asan_build else ():
            if name in os.environ:
                env[name] = os.environ[name]
        self.pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-I", "-S", "-c", BOOTSTRAP, root],
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, theirs.fileno(), 3)],
        )
        theirs.close()
        self.sock = ours
        self.next_id = 0
        sys_path = [os.path.abspath(p) for p in sys.path if isinstance(p, str)]
        kind, _ = self.exchange(BOOT, 0, encode((sys_path, {})))
        assert kind == REPLY

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self.sock is not None:
            self.sock.close()  # EOF: the child exits
            self.sock = None
            os.waitpid(self.pid, 0)

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("the child closed the channel")
            data += chunk
        return data

    def exchange(self, kind, op, payload):
        request_id = self.next_id
        self.next_id += 1
        self.sock.sendall(HEADER.pack(len(payload), kind, op, 0, request_id, 0) + payload)
        length, rkind, _, _, rid, _ = HEADER.unpack(self._read(HEADER.size))
        assert rid == request_id
        return rkind, self._read(length)

    def call(self, op, value):
        """(reply kind, reply payload) for request `op` with `value`."""
        return self.exchange(CALL, op, encode(value))

    def load(self, module, qualname):
        """The handle of a target: the LOAD reply starts (HANDLE id, ...)."""
        kind, payload = self.call(OP_LOAD, (module, qualname))
        assert kind == REPLY and payload[0] == T_TUPLE and payload[5] == T_HANDLE
        return Backref(struct.unpack_from("<Q", payload, 6)[0])


def error_kind(payload):
    """The kind of an ERROR reply: (kind, module, name, message, ...)."""
    assert payload[0] == T_TUPLE and payload[5] in INT_FORMS
    return struct.unpack_from(INT_FORMS[payload[5]], payload, 6)[0]
