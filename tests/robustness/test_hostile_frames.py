"""10,000 random and mutated frames written onto the channel by a child
(EXTRADITE_SOAK multiplies): the parent raises only ExtraditeError
subclasses, never crashes, leaves no fd or process behind and never holds
more memory than one frame's cap.

The child is a stand-in (fake_child.c, started by a real _core.Session in
place of the interpreter) that writes a prepared stream of frames; a real
interpreter per malformed frame would take minutes. A well-formed frame
keeps the session going, so one child answers many calls; a malformed one
ends it and the next stand-in carries on from the frame after it. The run
happens in a process of its own (xtd_frame_fuzz.py): a crash is its death,
and its memory peaks are its own."""

import json
import os
import subprocess
import sys

import pytest

from conftest import SEED
from xtd_wire import FRAME_CAP

HERE = os.path.dirname(os.path.abspath(__file__))
FRAMES = 10_000


WORKERS = 2  # fuzz processes at once: most of a stand-in's life is waiting


def test_random_and_mutated_frames(fake_child, tmp_path, soak):
    count = FRAMES * soak
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, os.path.dirname(HERE)] + [p for p in sys.path if p])
    # the stand-in child reads its frames from a file as it starts: a
    # spare (pymodule/spare.h) would start on the previous window's
    env["EXTRADITE_SPARE"] = "0"
    procs = []
    for w in range(WORKERS):
        workdir = tmp_path / str(w)
        workdir.mkdir()
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "xtd_frame_fuzz.py"), f"{SEED}.{w}",
             str(count // WORKERS), fake_child, str(workdir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        ))
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        # never crashes: a segfault or abort would be a negative return code
        assert proc.returncode == 0, f"seed {SEED}: rc {proc.returncode}\n{err[-4000:]}"
        runs.append(json.loads(out))
    for stats in runs:
        print(f"seed {SEED}: {json.dumps(stats)}")
        assert stats["foreign"] == [], f"seed {SEED}: non-extradite errors: {stats['foreign'][:5]}"
        assert stats["fds_left"] == [] and stats["children_left"] == []
        # memory: the reserved and the resident peak stay within one
        # frame's cap (a payload buffer is reserved from the header's
        # length, never more, and freed with its frame)
        assert stats["vm_peak_growth_kib"] < (FRAME_CAP + (32 << 20)) >> 10
        assert stats["rss_growth_kib"] < FRAME_CAP >> 10
    frames = sum(s["frames"] for s in runs)
    assert frames >= count - WORKERS
    # both kinds of outcome happened: neither all fatal nor all harmless
    assert sum(s["calls_ok"] for s in runs) > count // 20
    assert sum(s["errors"].get("ExtraditeProtocolError", 0) for s in runs) > count // 20
