"""16 threads mixing calls, batches and re-entrant callbacks on two shared
sessions, for 5 s (30 s x EXTRADITE_SOAK/6 under `make soak`): no
deadlock (a watchdog dumps every thread's stack and fails the test), and
no lost or misrouted reply: every result is checked against a value unique
to its thread and call."""

import faulthandler
import sys
import threading
import time

import pytest

import extradite

WORKER = "xtd_robust.worker:Worker"
THREADS = 16


def expected(name, thread, i):
    return (name, thread, i, thread * 1000003 + i)


@pytest.fixture
def sessions():
    keys = ["threads-a", "threads-b"]
    classes = [extradite.extradite(WORKER, share_key=k) for k in keys]
    workers = [cls(name) for cls, name in zip(classes, "ab")]
    yield workers
    for k in keys:
        extradite.close_extradite_session(k)


def test_sixteen_threads_mixing_calls_batches_and_callbacks(sessions, rng, soak):
    duration = 5.0 if soak == 1 else 30.0 * soak / 6
    deadline = time.monotonic() + duration
    counts = [0] * THREADS
    failures = []
    seeds = [rng.randrange(2**32) for _ in range(THREADS)]

    def work(t):
        import random

        r = random.Random(seeds[t])
        me = threading.get_ident()
        n = 0
        try:
            while time.monotonic() < deadline:
                which = r.randrange(2)
                w, name = sessions[which], "ab"[which]
                kind = r.randrange(4)
                if kind == 0:
                    assert w.tag(t, n) == expected(name, t, n)
                    n += 1
                elif kind == 1:
                    m = r.randint(1, 50)
                    got = w.tag.batch([((t, n + k), {}) for k in range(m)])
                    assert got == [expected(name, t, n + k) for k in range(m)]
                    n += m
                elif kind == 2:
                    # parent -> child -> parent -> child ..., each level's
                    # callback on this thread, each level's reply its own
                    depth = r.randint(1, 2)  # the child serves all threads on one stack: 16 x 3 levels < 64

                    def down(d, base=n):
                        assert threading.get_ident() == me, "callback on another thread"
                        if d == depth:
                            return w.tag(t, base + d)
                        inner = w.relay(down, d + 1)
                        assert inner == expected(name, t, base + depth)
                        return inner

                    assert w.relay(down, 0) == expected(name, t, n + depth)
                    n += depth + 1
                else:
                    # a callback that calls into the other child
                    other, other_name = sessions[1 - which], "ab"[1 - which]
                    got = w.call(lambda x: other.tag(t, x), n)
                    assert got == expected(other_name, t, n)
                    n += 1
                counts[t] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append((t, repr(exc)))

    faulthandler.dump_traceback_later(duration + 120, exit=True, file=sys.stderr)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(duration + 90)
        hung = [th.name for th in threads if th.is_alive()]
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert hung == [], f"deadlock: {hung}"
    assert failures == []
    assert all(counts), f"a thread made no progress: {counts}"
    print(f"{THREADS} threads, {duration:.0f} s: {sum(counts)} operations "
          f"(min {min(counts)}, max {max(counts)} per thread)")
