#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Each seed is a well-formed input of its target, in the input layout its
harness describes, so the fuzzer starts from every tag, frame kind and
profile section instead of having to discover them. Run it again after a
format change; the files are committed.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i32(v): return struct.pack("<i", v)
def i64(v): return struct.pack("<q", v)
def f64(v): return struct.pack("<d", v)


def blob(tag, b): return u8(tag) + u32(len(b)) + b
def sint(n): return u32(len(n)) + n
def cont(tag, items):
    count = len(items) // 2 if tag == 0x12 else len(items)  # dict: pairs
    return u8(tag) + u32(count) + b"".join(items)


NONE, TRUE = b"\x01", b"\x03"
def INT(v): return b"\x04" + i64(v)
def STR(s): return blob(0x08, s.encode())
TZ_NONE = u8(0)
def TZ_FIXED(us): return u8(1) + i64(us)
def TZ_NAMED(us, name): return u8(2) + i64(us) + u8(len(name)) + name.encode()
DATE = u16(2024) + u8(2) + u8(29)
TIME = u8(23) + u8(59) + u8(58) + u32(999999) + u8(1)

VALUES = {
    "none": NONE,
    "bools": cont(0x10, [b"\x02", TRUE]),
    "int": INT(-(1 << 63)),
    # the short forms the encoder writes (INT8, INT16, INT32)
    "short_ints": cont(0x10, [b"\x18" + struct.pack("<b", -5), b"\x19" + struct.pack("<h", 300),
                              b"\x1a" + i32(-70000), INT(1 << 40)]),
    "bigint": blob(0x05, b"\x00" * 8 + b"\x80"),
    "float": b"\x06" + f64(-0.5),
    "complex": b"\x07" + f64(1.5) + f64(float("inf")),
    "str": STR("h\u00e9llo \U0001f600"),
    "bytes": blob(0x09, b"\x00\xff" * 4),
    "bytearray": blob(0x0a, b"abc"),
    "ellipsis": b"\x0b",
    "list": cont(0x10, [INT(1), STR("a"), NONE]),
    "tuple": cont(0x11, [cont(0x11, []), cont(0x10, [TRUE])]),
    "dict": cont(0x12, [STR("k"), INT(1), STR("v"), cont(0x13, [INT(2)])]),
    "frozenset": cont(0x14, [STR("x")]),
    "slice": b"\x15" + INT(1) + NONE + INT(-2),
    "handle": b"\x20" + u64(7),
    "backref": b"\x21" + u64(1 << 40),
    "type_handle": b"\x22" + u64(3) + u8(9) + b"pkg.Klass",
    "date": b"\x40" + DATE,
    "time": b"\x41" + TIME + TZ_FIXED(-3600 * 10**6),
    "datetime": b"\x42" + DATE + TIME + TZ_NAMED(19800 * 10**6, "IST"),
    "datetime_naive": b"\x42" + DATE + TIME + TZ_NONE,
    "timedelta": b"\x43" + i32(-999999999) + i32(86399) + i32(999999),
    "timezone": b"\x44" + TZ_FIXED(0),
    "decimal": blob(0x45, b"-1.50e+10"),
    "decimal_nan": blob(0x45, b"sNaN123"),
    "uuid": b"\x46" + bytes(range(16)),
    "fraction": b"\x47" + sint(b"\x01") + sint(b"\x03"),
    "range": b"\x48" + sint(b"\x00") + sint(b"\x10\x27") + sint(b"\xfe"),
    "nested": cont(0x10, [cont(0x10, [cont(0x10, [cont(0x12, [])])])]),
    # packed int lists and tuples: u8 width + u32 count + the ints
    "int_list": b"\x1b" + u8(4) + u32(3) + i32(-1) + i32(70000) + i32(5),
    "int_tuple": cont(0x10, [b"\x1c" + u8(1) + u32(2) + b"\x7f\x80",
                             b"\x1b" + u8(8) + u32(1) + i64(-(1 << 40)),
                             b"\x1c" + u8(2) + u32(1) + struct.pack("<h", -300)]),
    # packed float lists and tuples: u32 count + the doubles
    "float_list": b"\x1d" + u32(3) + f64(1.5) + f64(float("-inf")) + f64(-0.0),
    "float_tuple": cont(0x10, [b"\x1e" + u32(1) + f64(float("nan"))]),
}

# Header of a frame: length, kind, op, flags, request_id, chain_id.
def frame(kind, payload, op=0, req=1, chain=0):
    return u32(len(payload)) + u8(kind) + u8(op) + u16(0) + u32(req) + u32(chain) + payload


FRAMES = {
    "reply_int": (0, frame(3, INT(42))),
    "reply_dict": (0, frame(3, VALUES["dict"])),
    "error": (0, frame(4, cont(0x11, [INT(0), STR("builtins"), STR("ValueError"),
                                      STR("bad"), STR("Traceback...")]))),
    "release": (0, frame(5, cont(0x10, [INT(5), INT(1), INT(9), INT(2)]), req=0)),
    "violation": (0, frame(6, INT(101), req=0)),
    "call_method": (0, frame(2, cont(0x11, [b"\x20" + u64(1), STR("f"),
                                            cont(0x11, []), cont(0x12, [])]),
                             op=4, req=7, chain=7)),
    "two_frames": (0, frame(3, NONE, req=1) + frame(3, VALUES["list"], req=2)),
    "empty_payload": (0, frame(3, b"")),
    # one sealed memfd of 1 byte rides along, named by the value
    "reply_oob": (0x81, frame(3, b"\x0c" + u32(0) + u64(1))),
    "reply_oob_two": (0x82, frame(3, cont(0x10, [b"\x0d" + u32(1) + u64(2),
                                                b"\x0c" + u32(0) + u64(1)]))),
}

PROFILE = """\
name = "{name}"
[seccomp]
enabled = {seccomp}
groups = {groups}
allow = {allow}
files_after_load = {fal}
[landlock]
enabled = {landlock}
required = false
read = ["/usr", "/etc/ssl/certs", "/tmp/x y"]
write = {write}
[namespaces]
enabled = ["user", "net", "ipc", "uts"]
required = false
[capabilities]
drop = true
[limits]
address_space = 4294967296
open_files = 256
cpu_seconds = 0
file_size = 1048576
processes = 0
[transport]
child_pickle = {pickle}
"""

PROFILES = {
    "strict": dict(name="strict", seccomp="true", groups='["core", "threads"]',
                   allow="[]", fal="false", landlock="true", write="[]",
                   pickle="false"),
    "default": dict(name="default", seccomp="true",
                    groups='["core", "threads", "files_read"]', allow='["getpgid"]',
                    fal="true", landlock="true", write='["/tmp"]', pickle="false"),
    "network": dict(name="network", seccomp="true",
                    groups='["core", "threads", "files_read", "files_write", "network"]',
                    allow='["uname", "sysinfo"]', fal="true", landlock="true",
                    write='["/tmp", "/var/tmp"]', pickle="false"),
    "unconfined": dict(name="unconfined", seccomp="false", groups="[]", allow="[]",
                       fal="true", landlock="false", write="[]", pickle="true"),
}


def write(target, name, data):
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data)


def main():
    for name, value in VALUES.items():
        write("codec", name, b"\x00" + value)
    write("codec", "pickle", b"\x80" + blob(0x30, b"\x80\x04N."))
    write("codec", "fd_blobs", b"\x02" + cont(0x11, [b"\x0c" + u32(1) + u64(10),
                                                    b"\x0d" + u32(0) + u64(1)]))
    write("codec", "tight_limits", b"\x40" + VALUES["dict"])
    for name, (sel, stream) in FRAMES.items():
        write("frame", name, u8(sel) + u8(0) + u16(0) + stream)
    write("frame", "fds_mid_stream", u8(0x81) + u8(0) + u16(20)
          + FRAMES["two_frames"][1])
    write("frame", "pipe_fd", u8(0x81) + u8(1) + u16(0) + FRAMES["reply_oob"][1])
    # frame rings: the socket switches, then frames come from the ring; a
    # mark sends the reader back to the socket for one frame
    switch, mark = frame(9, b"", req=0), frame(7, b"", req=0)
    ring = FRAMES["reply_int"][1] + mark + FRAMES["release"][1]
    write("frame", "ring", u8(0) + u8(6) + u16(len(switch)) + switch + ring)
    sock = switch + FRAMES["reply_oob"][1]
    write("frame", "ring_mark_oob", u8(0x81) + u8(6) + u16(len(sock)) + sock
          + mark + FRAMES["two_frames"][1])
    for name, fields in PROFILES.items():
        write("policy", name + ".toml", PROFILE.format(**fields).encode())


if __name__ == "__main__":
    main()
