"""Fault injection: the child is SIGKILLed at random points — mid-frame,
mid-batch, inside a callback, during a shared-memory (memfd) transfer —
40 times each (200 in all; EXTRADITE_SOAK multiplies). Every call the
death hits raises ExtraditeProtocolError, the dead class stays dead, the
child is reaped, no fd or memfd is left, and new sessions work."""

import os
import signal

import pytest

import extradite
from xtd_faults import Faults, KillLater, next_request_id, spawn

KILLS_PER_KIND = 40
OOB_MIN = 64 << 10  # bytes of this size or more travel in a memfd


@pytest.fixture
def faults(request):
    f = Faults(request.node.name)
    yield f
    f.report()
    f.parent_still_works()


def test_killed_mid_frame(faults, rng, soak):
    """The child writes part of a reply frame (inside the header or the
    payload, up to 1 MiB promised), then dies."""
    for _ in range(KILLS_PER_KIND * soak):
        cls, worker, pid = spawn()
        length = rng.choice([1, 9, 4096, rng.randint(1, 1 << 20)])
        sent = rng.randrange(0, 16 + length)  # never the whole frame
        with pytest.raises(extradite.ExtraditeError) as info:
            worker.die_mid_frame(length, sent, next_request_id(cls))
        faults.raised(info, "header" if sent < 16 else "payload")
        assert "SIGKILL" in str(info.value)
        faults.after_kill(cls, pid)


def test_killed_during_a_large_inline_transfer(faults, rng, soak):
    """The parent kills the child at a random moment while a list of up to
    half a million ints crosses both ways (several MiB, many socket
    buffers' worth)."""
    for _ in range(KILLS_PER_KIND * soak):
        cls, worker, pid = spawn()
        value = list(range(rng.randint(50_000, 500_000)))
        with KillLater(pid, rng.uniform(0, 0.025)):
            try:
                result = worker.echo(value)
            except extradite.ExtraditeError as exc:
                faults.raised(exc)
            else:
                assert result == value  # the kill came after the reply
                faults.outcome("completed before the kill")
        faults.after_kill(cls, pid)


def test_killed_mid_batch(faults, rng, soak):
    """Half the time a batch item kills its child (at a random index); half
    the time the parent kills it at a random moment during a long batch."""
    for n in range(KILLS_PER_KIND * soak):
        cls, worker, pid = spawn()
        if n % 2 == 0:
            count = rng.randint(1, 300)
            at = rng.randrange(count)
            with pytest.raises(extradite.ExtraditeError) as info:
                worker.die_at.batch([((i, at), {}) for i in range(count)])
            faults.raised(info, "item killed itself")
        else:
            items = [(([i] * rng.randint(0, 50),), {}) for i in range(3000)]
            with KillLater(pid, rng.uniform(0, 0.015)):
                try:
                    result = worker.echo.batch(items)
                except extradite.ExtraditeError as exc:
                    faults.raised(exc, "killed by the parent")
                else:
                    assert result == [args[0] for args, _ in items]
                    faults.outcome("completed before the kill")
        faults.after_kill(cls, pid)


def test_killed_inside_a_callback(faults, rng, soak):
    """Three ways: the parent's callback kills the child; the child dies
    right after a callback returned; a re-entrant chain (parent -> child ->
    parent -> ...) dies at a random depth, and every level's call raises."""
    for n in range(KILLS_PER_KIND * soak):
        cls, worker, pid = spawn()
        way = n % 3
        if way == 0:

            def killer(x):
                os.kill(pid, signal.SIGKILL)
                return x

            with pytest.raises(extradite.ExtraditeError) as info:
                worker.call(killer, 1)
            faults.raised(info, "callback killed the child")
        elif way == 1:
            with pytest.raises(extradite.ExtraditeError) as info:
                worker.die_after_callback(abs, -1)
            faults.raised(info, "died after a callback")
        else:
            depth = rng.randint(1, 20)
            at = rng.randrange(depth)
            levels = []

            def down(d):
                try:
                    return worker.die_in_relay(down, d + 1, at) if d < depth else d
                except extradite.ExtraditeError as exc:
                    levels.append(exc)
                    raise

            with pytest.raises(extradite.ExtraditeError) as info:
                worker.die_in_relay(down, 0, at)
            # every call made from inside the chain raised, and the
            # outermost call too; nobody got a value
            assert len(levels) == at
            for exc in [*levels, info.value]:
                faults.raised(exc, "re-entrant chain")
        faults.after_kill(cls, pid)


def test_killed_during_a_memfd_transfer(faults, rng, soak):
    """bytes of 64 KiB to 16 MiB go through a sealed memfd, one way or the
    other; the child is killed at a random moment. No memfd stays open
    here (Faults.after_kill checks)."""
    for n in range(KILLS_PER_KIND * soak):
        cls, worker, pid = spawn()
        size = rng.randint(OOB_MIN, 16 << 20)
        with KillLater(pid, rng.uniform(0, 0.012)):
            try:
                if n % 2 == 0:
                    result = worker.size(bytes(size))
                    assert result == size
                else:
                    result = worker.make_bytes(size)
                    assert len(result) == size and result[:1] == b"Z" and result[-1:] == b"Z"
            except extradite.ExtraditeError as exc:
                faults.raised(exc, "to the child" if n % 2 == 0 else "from the child")
            else:
                faults.outcome("completed before the kill")
            result = None  # a big value: not kept across iterations
        faults.after_kill(cls, pid)
