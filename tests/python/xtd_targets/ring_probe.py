"""Chatter through the frame rings (test_rings), and a child that scribbles
over the words it shares with the parent."""

import ctypes
import os
import struct
import time

CHANNEL_FD = 3
WAKE = 8  # protocol/frame.h EX_MSG_WAKE


class RingProbe:
    def echo(self, value):
        return value

    def relay(self, fn, values):
        """Call back into the parent once per value; their results."""
        return [fn(v) for v in values]

    def corrupt(self, offset, then):
        """Write an impossible index at `offset` of the up memfd. Then
        "return" (the parent meets it when it next looks there), or "wake":
        say so to the parent with a WAKE on the socket and never reply
        (no frame of ours may overwrite it first)."""
        ctypes.memmove(_up_mapping() + offset, struct.pack("<Q", (1 << 63) + 12345), 8)
        if then == "return":
            return "corrupted"
        wake = struct.pack("<IBBHII", 0, WAKE, 0, 0, 0, 0)
        os.write(CHANNEL_FD, wake)
        time.sleep(3600)


def _up_mapping():
    with open("/proc/self/maps") as f:
        for line in f:
            if "extradite-up" in line:
                return int(line.split("-", 1)[0], 16)
    raise LookupError("no extradite-up mapping")
