"""Churn: 1,000 create/call/close cycles of private classes and 1,000 of
shared sessions (EXTRADITE_SOAK multiplies): open fds do not grow, no child
is left (zombie or orphan), and the parent's RSS grows less than 10 %
between the end of a 50-cycle warm-up and the end."""

import gc
import os

import extradite
from xtd_support import child_pids, open_fds

WORKER = "xtd_robust.worker:Worker"
CYCLES = 1000
WARMUP = 50


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS")


def started(pid):
    """(pid, start time) of a live process, None once it is gone: a pid
    alone may be recycled during a long run."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return pid, int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError):
        return None


def churn(cycle, cycles):
    pids = []
    fds = children = rss = None
    for i in range(cycles):
        pids.append(cycle(i))
        if i + 1 == WARMUP:
            gc.collect()
            fds, children, rss = open_fds(), child_pids(), rss_kib()
    gc.collect()
    grown_fds = {fd for fd in open_fds() - fds if os.path.exists(f"/proc/self/fd/{fd}")}
    end_rss = rss_kib()
    print(f"{cycles} cycles: fds {len(fds)} -> {len(open_fds())}, RSS {rss} -> {end_rss} KiB "
          f"({(end_rss - rss) * 100 / rss:+.1f} %)")
    assert grown_fds == set()
    assert child_pids() - children == set(), "a child (or zombie) was left"
    # nor orphaned: every child we started has exited (not reparented)
    assert [p for p in pids if p is not None and started(p[0]) == p] == []
    assert end_rss < rss * 1.10


def test_class_churn(soak):
    def cycle(i):
        cls = extradite.extradite(WORKER)
        worker = cls(f"w{i}")
        pid = started(cls.__extradite_session__.pid)
        assert worker.tag(i, i) == (f"w{i}", i, i, i * 1000003 + i)
        assert worker.size(bytes(70_000)) == 70_000  # a memfd each time too
        cls.close()
        return pid

    churn(cycle, CYCLES * soak)


def test_shared_session_churn(soak):
    def cycle(i):
        key = f"churn-{i % 7}"
        cls = extradite.extradite(WORKER, share_key=key)
        worker = cls(f"s{i}")
        pid = started(cls.__extradite_session__.pid)
        if i % 3 == 0:  # a second class in the same child
            other = extradite.extradite("xtd_robust.worker:Worker", share_key=key)
            assert other.__extradite_session__ is cls.__extradite_session__
            assert other().echo([i]) == [i]
        assert worker.tag(i, 1) == (f"s{i}", i, 1, i * 1000003 + 1)
        assert extradite.close_extradite_session(key) is True
        return pid

    churn(cycle, CYCLES * soak)
