"""Chatter through the frame rings (test_rings), and a child that scribbles
over the words it shares with the parent."""

import ctypes
import struct
import threading


class RingProbe:
    def echo(self, value):
        return value

    def relay(self, fn, values):
        """Call back into the parent once per value; their results."""
        return [fn(v) for v in values]

    def scribble(self, offset):
        """From another thread, keep writing an impossible index at
        `offset` of the up memfd, over whatever our own frames publish."""
        word = _up_mapping() + offset
        bogus = struct.pack("<Q", (1 << 63) + 12345)

        def loop():
            while True:
                ctypes.memmove(word, bogus, 8)

        threading.Thread(target=loop, daemon=True).start()
        return "scribbling"


def _up_mapping():
    with open("/proc/self/maps") as f:
        for line in f:
            if "extradite-up" in line:
                return int(line.split("-", 1)[0], 16)
    raise LookupError("no extradite-up mapping")
