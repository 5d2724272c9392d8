"""Values by copy: standard-library types and big byte strings (test_values).

`Values.send_crafted` plays a hostile child: it writes its own reply frame
on the channel (fd 3) with an fd attached, before the real reply, to check
what the parent accepts as an out-of-band buffer.
"""

import datetime
import decimal
import fcntl
import fractions
import os
import socket
import struct
import time
import uuid

CHANNEL_FD = 3

# Wire constants (protocol/frame.h, protocol/codec.h).
MSG_REPLY = 3
TAG_NONE = 0x01
TAG_BYTES_FD = 0x0C
ALL_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL


class OddZone(datetime.tzinfo):
    """A tzinfo that is not a fixed-offset datetime.timezone."""

    def utcoffset(self, dt):
        return datetime.timedelta(hours=1)

    def dst(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "ODD"


class MyDate(datetime.date):
    pass


class MyDecimal(decimal.Decimal):
    pass


def _memfd(data, seals):
    fd = os.memfd_create("xtd-values", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


class Values:
    def echo(self, value):
        return value

    def type_name(self, value):
        return type(value).__name__

    def describe(self, value):
        """What the child received: its type, and its str for values whose
        == cannot be used (NaN)."""
        return type(value).__module__, type(value).__qualname__, str(value)

    def make(self, kind):
        """Values made here, not echoed: the child -> parent direction."""
        tz = datetime.timezone(datetime.timedelta(hours=-3, minutes=-30), "NST")
        return {
            "date": datetime.date(1999, 12, 31),
            "datetime": datetime.datetime(2000, 2, 29, 23, 59, 59, 999999, tzinfo=tz, fold=1),
            "decimal": decimal.Decimal("-12.3400E-5"),
            "nan": decimal.Decimal("-sNaN77"),
            "uuid": uuid.UUID(int=2**128 - 1),
            "fraction": fractions.Fraction(-7, 3),
            "odd_tz": datetime.datetime(2020, 1, 1, tzinfo=OddZone()),
            "odd_time": datetime.time(1, tzinfo=OddZone()),
            "subclass_date": MyDate(2020, 1, 1),
            "subclass_decimal": MyDecimal("1.5"),
        }[kind]

    def churn_faults(self, n, rounds):
        """Page faults per round of making and dropping n ints (values past
        the small-int cache, so each is allocated). They go into a list
        made once, so only the ints' memory comes and goes (pymalloc's),
        not the list's (malloc's, which an ASan build never reuses)."""
        import resource

        keep = [None] * n

        def once():
            for i in range(n):
                keep[i] = i + 1000
            for i in range(n):
                keep[i] = None

        once()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(rounds):
            once()
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds

    def size(self, data):
        return type(data).__name__, len(data)

    def big(self, n, kind="bytes"):
        data = bytes(range(256)) * (n // 256) + bytes(n % 256)
        return bytearray(data) if kind == "bytearray" else data

    def fail_after(self, data):
        raise ValueError(f"refused {len(data)} bytes")

    def open_fds(self):
        return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))

    def send_crafted(self, request_id, mode, size=100):
        """Write a complete, well-formed REPLY frame for `request_id` whose
        value is bytes in fd 0, with an fd that breaks the rules:
          unsealed   a memfd of the right size without seals
          partial    sealed against writes but not shrink/grow
          wrong_size sealed, one byte shorter than the value says
          pipe       not a memfd at all
          unnamed    a valid sealed memfd the value (None) never names
          missing    the value names fd 1; only fd 0 comes along
          too_many   65 fds
        and, as a control, ok_control: a proper sealed memfd.
        Then it never replies itself (frame.h: a frame on the socket without
        a mark is ordered only against an empty ring): it exits after the
        control, and sleeps until killed after the others.
        """
        data = b"x" * size
        fds = []
        index, length = 0, size
        value = None
        if mode == "unsealed":
            fds = [_memfd(data, 0)]
        elif mode == "partial":
            fds = [_memfd(data, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)]
        elif mode == "wrong_size":
            fds = [_memfd(data[:-1], ALL_SEALS)]
        elif mode == "pipe":
            r, w = os.pipe()
            os.close(w)
            fds = [r]
        elif mode == "unnamed":
            fds = [_memfd(data, ALL_SEALS)]
            value = struct.pack("<B", TAG_NONE)
        elif mode == "missing":
            fds = [_memfd(data, ALL_SEALS)]
            index = 1
        elif mode == "ok_control":
            fds = [_memfd(data, ALL_SEALS)]
        elif mode == "too_many":
            one = _memfd(data, ALL_SEALS)
            fds = [one] * 65
        else:
            raise ValueError(mode)
        if value is None:
            value = struct.pack("<BIQ", TAG_BYTES_FD, index, length)
        header = struct.pack("<IBBHII", len(value), MSG_REPLY, 0, 0, request_id, 0)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, fileno=CHANNEL_FD)
        try:
            sock.sendmsg([header + value], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))])
        finally:
            sock.detach()
            for fd in set(fds):
                os.close(fd)
        if mode == "ok_control":
            os._exit(0)
        time.sleep(3600)
