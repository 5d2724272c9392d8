"""Small frames through the shared-memory rings (protocol/ring.h, frame.h
"rings"): on by default, right at the ring/socket boundary and through
callbacks, off with EXTRADITE_RINGS=0, and a child that corrupts the
indices it shares is a protocol error, never a bad read."""

import pytest

import extradite
from extradite import extradite as extradite_fn

TARGET = "xtd_targets.ring_probe:RingProbe"
KiB = 1 << 10
RING_FRAME_MAX = 64 * KiB  # protocol/ring.h EX_RING_FRAME_MAX
# protocol/arena.c: words the child writes in the "up" memfd's first page
DOWN_HEAD, UP_TAIL = 128, 256


@pytest.fixture
def Probe():
    cls = extradite_fn(TARGET)
    yield cls
    cls.close()


def test_the_rings_are_on_once_both_sides_switched(Probe):
    p = Probe()
    assert p.echo(1) == 1
    assert Probe.__extradite_session__.rings


def test_values_on_both_sides_of_the_ring_limit(Probe):
    # frames just under and just over EX_RING_FRAME_MAX (the latter go on
    # the socket behind a mark), interleaved, in both directions
    p = Probe()
    for n in range(RING_FRAME_MAX - 48, RING_FRAME_MAX + 48, 5):
        value = "x" * n
        assert p.echo(value) == value
        assert p.echo(n) == n


def test_callbacks_through_the_rings(Probe):
    p = Probe()
    values = list(range(500)) + ["y" * RING_FRAME_MAX]
    assert p.relay(lambda v: v, values) == values
    assert Probe.__extradite_session__.rings


def test_rings_off(monkeypatch):
    monkeypatch.setenv("EXTRADITE_RINGS", "0")
    cls = extradite_fn(TARGET)
    try:
        p = cls()
        assert p.relay(lambda v: v * 2, [1, 2, 3]) == [2, 4, 6]
        assert p.echo("z" * RING_FRAME_MAX) == "z" * RING_FRAME_MAX
        assert not cls.__extradite_session__.rings
    finally:
        cls.close()


def test_a_child_corrupting_its_ring_tail_is_cut_off():
    # reading /proc/self/maps needs the unconfined profile
    cls = extradite_fn(TARGET, sandbox="unconfined")
    try:
        p = cls()
        session = cls.__extradite_session__
        with pytest.raises(extradite.ExtraditeProtocolError, match="malformed|Bad message"):
            p.corrupt(UP_TAIL, "wake")
        assert not session.alive
    finally:
        cls.close()


def test_a_child_corrupting_the_head_of_our_ring_is_cut_off():
    cls = extradite_fn(TARGET, sandbox="unconfined")
    try:
        p = cls()
        session = cls.__extradite_session__
        assert p.corrupt(DOWN_HEAD, "return") == "corrupted"
        # our next frame finds an impossible head before it is written
        with pytest.raises(extradite.ExtraditeProtocolError):
            p.echo(1)
        assert not session.alive
    finally:
        cls.close()
