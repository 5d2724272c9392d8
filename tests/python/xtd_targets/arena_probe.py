"""Big byte strings through the shared arenas (test_arena)."""

import ctypes
import errno
import hashlib

PROT_READ, PROT_WRITE = 1, 2
# arena.c's layout of each memfd: a header page, the frame ring (which
# carries small frames, such as down_holds's own argument), then values.
VALUES_OFFSET = 4096 + 256 * 1024


class ArenaProbe:
    def echo(self, *values):
        return values if len(values) != 1 else values[0]

    def digest(self, value):
        return hashlib.sha256(value).hexdigest()

    def make(self, n, seed):
        return bytes((i * seed) & 0xFF for i in range(256)) * (n // 256)

    def arena_maps(self):
        """The child's mappings of the two arenas: {name: perms}."""
        return {name: perms for _, _, perms, name in _arena_lines()}

    def down_holds(self, marker):
        """Whether the values part of the parent's arena, as this child maps
        it, holds marker."""
        for start, end, perms, name in _arena_lines():
            if name == "extradite-down":
                values = start + VALUES_OFFSET
                return ctypes.string_at(values, end - values).find(marker) >= 0
        raise LookupError("no extradite-down mapping")

    def make_down_writable(self):
        """mprotect the read-only mapping of the parent's arena writable:
        the errno it fails with (0 if it worked)."""
        start, end = next((a, b) for a, b, _, name in _arena_lines() if name == "extradite-down")
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        if libc.mprotect(start, end - start, PROT_READ | PROT_WRITE) == 0:
            return 0
        return ctypes.get_errno() or errno.EIO


def _arena_lines():
    with open("/proc/self/maps") as f:
        for line in f:
            for name in ("extradite-down", "extradite-up"):
                if name in line:
                    fields = line.split()
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    yield start, end, fields[1], name
