"""Feeds a real parent session random and mutated frames from a stand-in
child (fake_child.c), and reports what happened as JSON. Run in a process
of its own by test_hostile_frames.py, so that a crash shows as its death
and its memory peaks are its own:

    python xtd_frame_fuzz.py SEED COUNT FAKE_CHILD WORKDIR
"""

import builtins
import datetime
import decimal
import fractions
import json
import os
import random
import uuid
import struct
import sys
import time

from extradite import ExtraditeError, _core, _sandbox
from xtd_support import child_pids, open_fds
from xtd_wire import (
    BOOT,
    CALL,
    CALLBACK_REQUESTS,
    ERROR,
    ERROR_VALUES,
    FRAME_CAP,
    HEADER,
    Handle,
    Items,
    Packed,
    Pairs,
    RELEASE,
    RELEASE_VALUES,
    REPLY,
    REPLY_VALUES,
    TAGS,
    VIOLATION,
    encode,
)

WINDOW = 48  # frames written per stand-in child
INTERESTING_U32 = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                   0xFFFFFFFF, FRAME_CAP - 1, FRAME_CAP, FRAME_CAP + 1]

SEEDS = (
    [(REPLY, 0, encode(v)) for v in REPLY_VALUES]
    + [(ERROR, 0, encode(v)) for v in ERROR_VALUES]
    + [(CALL, op, encode(v)) for op, v in CALLBACK_REQUESTS]
    + [(RELEASE, 0, encode(v)) for v in RELEASE_VALUES]
    + [(VIOLATION, 0, encode(101))]
)


BUILTIN_NAMES = sorted(dir(builtins))


def random_value(rng, depth=0):
    """A well-formed value, odd but encodable: the parent must build it or
    refuse it with an extradite error (an unhashable key, say)."""
    leaf = depth >= 4 or rng.random() < 0.5
    kind = rng.randrange(13 if leaf else 18)
    if kind == 0:
        return rng.choice([None, True, False, Ellipsis])
    if kind == 1:
        return rng.choice([rng.randrange(-(2**63), 2**63), rng.getrandbits(rng.randint(64, 2000))
                           * rng.choice([1, -1]), rng.randint(-3, 3)])
    if kind == 2:
        return struct.unpack("<d", rng.randbytes(8))[0]
    if kind == 3:
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0xD800),
                                       rng.randrange(0xE000, 0x110000)]))
                       for _ in range(rng.randint(0, 20)))
    if kind == 4:
        return rng.choice([bytes, bytearray])(rng.randbytes(rng.randint(0, 40)))
    if kind == 5:
        return Handle(rng.choice([1, 2, rng.getrandbits(64)]))
    if kind == 6:
        return datetime.datetime.fromordinal(rng.randint(1, 3652059)).replace(
            microsecond=rng.randrange(10**6), fold=rng.randint(0, 1),
            tzinfo=rng.choice([None, datetime.timezone.utc, datetime.timezone(
                datetime.timedelta(minutes=rng.randint(-1439, 1439)), "Z" * rng.randint(1, 9))]))
    if kind == 7:
        return datetime.timedelta(days=rng.randint(-999999999, 999999999),
                                  seconds=rng.randrange(86400), microseconds=rng.randrange(10**6))
    if kind == 8:
        return decimal.Decimal(rng.choice(["NaN", "-sNaN7", "Infinity", f"{rng.randint(-10**30, 10**30)}e{rng.randint(-10**18 + 1, 10**18 - 1)}"]))
    if kind == 9:
        return fractions.Fraction(rng.getrandbits(200) - 2**199, rng.getrandbits(100) + 1)
    if kind == 10:
        return uuid.UUID(int=rng.getrandbits(128))
    if kind == 11:
        return range(rng.randint(-(2**70), 2**70), rng.randint(-(2**70), 2**70), rng.choice([1, -1, 2**65]))
    if kind == 12 and rng.random() < 0.3:  # a packed float list
        return Packed("f", [struct.unpack("<d", rng.randbytes(8))[0]
                            for _ in range(rng.randint(1, 20))], rng.choice([list, tuple]))
    if kind == 12:  # a packed int list at any width, not only the narrowest
        width = rng.choice([1, 2, 4, 8])
        bound = 1 << (8 * width - 1)
        return Packed(width, [rng.randrange(-bound, bound) for _ in range(rng.randint(1, 40))],
                      rng.choice([list, tuple]))
    n = rng.randint(0, 6)
    items = [random_value(rng, depth + 1) for _ in range(n)]
    if kind == 13:
        return items
    if kind == 14:
        return tuple(items)
    if kind == 15:  # keys may be unhashable: the parent must refuse those
        return Pairs((random_value(rng, depth + 1), x) for x in items)
    if kind == 16:
        return Items(items)
    return slice(*(items + [None] * 3)[:3])


def random_error(rng):
    name = rng.choice(BUILTIN_NAMES + ["Custom"])
    module = rng.choice(["builtins", "builtins", "pkg.mod", ""])
    args = tuple(random_value(rng, 2) for _ in range(rng.randint(0, 4)))
    return (rng.choice([0, 0, 0, 1, 2, 3, 4, -1]), module, name, random_value(rng, 4) if rng.random() < 0.1
            else "message", "traceback", args)


def random_well_formed(rng):
    roll = rng.random()
    if roll < 0.6:
        return Forged(REPLY, 0, encode(random_value(rng)))
    if roll < 0.8:
        return Forged(ERROR, 0, encode(random_error(rng)))
    if roll < 0.95:  # a callback request: refused, answered, the session goes on
        request = tuple(random_value(rng, 2) for _ in range(rng.randint(0, 4)))
        return Forged(CALL, rng.randint(1, 10), encode(request))
    return Forged(RELEASE, 0, encode([rng.getrandbits(64) for _ in range(rng.randint(0, 6))]))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(8)
        pos = rng.randrange(len(data) + 1)
        if how == 0 and data:  # flip a bit
            i = min(pos, len(data) - 1)
            data[i] ^= 1 << rng.randrange(8)
        elif how == 1 and data:  # a random or interesting byte
            i = min(pos, len(data) - 1)
            data[i] = rng.choice([rng.randrange(256), 0, 0xFF, 0x7F, 0x80, rng.choice(TAGS)])
        elif how == 2:  # an interesting u32 (counts, lengths)
            data[pos:pos + 4] = struct.pack("<I", rng.choice(INTERESTING_U32))
        elif how == 3:  # insert random bytes
            data[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif how == 4:  # delete a range
            del data[pos:pos + rng.randint(1, 16)]
        elif how == 5:  # truncate
            del data[pos:]
        elif how == 6 and data:  # duplicate a range
            end = rng.randint(pos, len(data))
            data[end:end] = data[pos:end]
        else:  # splice in another seed's payload
            other = rng.choice(SEEDS)[2]
            cut = rng.randrange(len(other) + 1)
            data[pos:] = other[cut:]
    return bytes(data)


class Forged:
    """One frame, its ids filled in when its place in a stream is known."""

    __slots__ = ("kind", "op", "flags", "payload", "length", "request_id", "chain_id", "raw")

    def __init__(self, kind=REPLY, op=0, payload=b"", *, flags=0, length=None,
                 request_id=None, chain_id=None, raw=None):
        self.kind, self.op, self.flags, self.payload = kind, op, flags, payload
        self.length, self.request_id, self.chain_id, self.raw = length, request_id, chain_id, raw

    def answers_a_call(self):
        return self.raw is None and self.kind in (REPLY, ERROR)

    def bytes_for(self, call_id):
        if self.raw is not None:
            return self.raw
        rid = self.request_id
        chain = self.chain_id
        if rid is None:
            rid = call_id if self.kind in (REPLY, ERROR) else 0x7FFF0000 if self.kind == CALL else 0
        if chain is None:
            chain = call_id if self.kind == CALL else 0
        length = len(self.payload) if self.length is None else self.length
        return HEADER.pack(length, self.kind, self.op, self.flags, rid, chain) + self.payload


def random_frame(rng):
    roll = rng.random()
    if roll < 0.08:  # pure garbage
        return Forged(raw=rng.randbytes(rng.randint(1, 80)))
    if roll < 0.16:  # a header that parses, random payload, maybe lying about its size
        payload = rng.randbytes(rng.randint(0, 200))
        length = rng.choice([None, None, rng.choice(INTERESTING_U32), rng.randint(0, 400)])
        kind = rng.choice([REPLY, ERROR, CALL, RELEASE, VIOLATION])
        return Forged(kind, rng.randint(1, 10) if kind == CALL else 0, payload, length=length)
    if roll < 0.56:
        return random_well_formed(rng)
    if rng.random() < 0.5:
        kind, op, payload = rng.choice(SEEDS)
        forged = Forged(kind, op, payload)
    else:
        forged = random_well_formed(rng)
    if roll < 0.62:
        return forged  # well-formed: the session goes on
    forged.payload = mutate(rng, forged.payload)
    if rng.random() < 0.12:  # and sometimes the header too
        field = rng.randrange(6)
        if field == 0:
            forged.kind = rng.choice([0, BOOT, 7, 0xFF, rng.randrange(256)])
        elif field == 1:
            forged.op = rng.randrange(256)
        elif field == 2:
            forged.flags = rng.randrange(1, 1 << 16)
        elif field == 3:
            forged.request_id = rng.choice([0, 1, 0xFFFFFFFF, rng.randrange(1 << 32)])
        elif field == 4:
            forged.chain_id = rng.choice([0, 0xFFFFFFFF, rng.randrange(1 << 32)])
        else:
            forged.length = rng.choice(INTERESTING_U32 + [max(0, len(forged.payload) - 1)])
    return forged


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def run(seed, count, fake_child, workdir):
    rng = random.Random(seed)
    frames = [random_frame(rng) for _ in range(count)]
    profile = _sandbox.prepare("default", None, [])  # the parent believes it confined
    boot = HEADER.pack(len(encode(None)), REPLY, 0, 0, 0, 0) + encode(None)
    frames_file = os.path.join(workdir, "frames")
    fds_before, children_before = open_fds(), child_pids()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # start the RSS high-water mark from here
    base_rss, base_vm = status_kib("VmRSS"), status_kib("VmSize")
    stats = {"frames": 0, "sessions": 0, "calls_ok": 0, "errors": {}, "foreign": []}
    start = time.monotonic()
    pos = 0
    while pos < count:
        window = frames[pos:pos + WINDOW]
        reply_at = []  # index in window of each call's reply slot
        stream = [boot]
        call_id = 1
        for i, forged in enumerate(window):
            stream.append(forged.bytes_for(call_id))
            if forged.answers_a_call():
                reply_at.append(i)
                call_id += 1
        with open(frames_file, "wb") as f:
            f.write(b"".join(stream))
        session = _core.Session(fake_child, frames_file, [], options={"sandbox": profile.policy},
                                call_timeout=10, profile="default")
        stats["sessions"] += 1
        done = 0
        while session.alive:
            what = rng.random()
            try:
                if what < 0.6:
                    result = session.getattr(1, "attr")  # handles come back as proxies
                elif what < 0.8:
                    result = session.load("mod", "Target")
                else:
                    result = session.ping()
                stats["calls_ok"] += 1
                del result
            except ExtraditeError as exc:
                name = type(exc).__name__
                stats["errors"][name] = stats["errors"].get(name, 0) + 1
            except BaseException as exc:  # noqa: BLE001 - the finding we look for
                at = pos + (reply_at[done] if done < len(reply_at) else len(window) - 1)
                stats["foreign"].append(f"{type(exc).__name__}: {exc} (frame {at}: "
                                        f"{frames[at].bytes_for(done + 1)[:200].hex()})")
            done += 1
        session.close()
        # Frames read: those of the calls that came back, and the one that
        # ended the session (a lower bound: callbacks before it not counted).
        used = (reply_at[done - 2] + 1) if 2 <= done <= len(reply_at) + 1 else 0
        used = min(len(window), used + 1)
        stats["frames"] += used
        pos += used
    stats["seconds"] = round(time.monotonic() - start, 2)
    profile.cleanup()
    stats["rss_growth_kib"] = status_kib("VmHWM") - base_rss
    stats["vm_peak_growth_kib"] = status_kib("VmPeak") - base_vm
    stats["fds_left"] = sorted(open_fds() - fds_before)
    stats["children_left"] = sorted(child_pids() - children_before)
    return stats


if __name__ == "__main__":
    seed, count, fake_child, workdir = sys.argv[1:5]
    print(json.dumps(run(seed, int(count), fake_child, workdir)))
