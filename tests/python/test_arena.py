"""Big bytes/bytearray values through the per-session shared arenas
(protocol/arena.h): correct in both directions, reused call after call,
falling back to a memfd per value when busy or full, and read-only for the
child in the parent-to-child direction."""

import errno
import os
import threading

import pytest

from extradite import extradite

TARGET = "xtd_targets.arena_probe:ArenaProbe"
KiB, MiB = 1 << 10, 1 << 20
ARENA = 8 * MiB  # protocol/arena.h EX_ARENA_SIZE


@pytest.fixture
def Probe():
    cls = extradite(TARGET)
    yield cls
    cls.close()


@pytest.fixture
def Unconfined():
    cls = extradite(TARGET, sandbox="unconfined")
    yield cls
    cls.close()


def test_echo_again_and_again_keeps_every_byte(Probe):
    p = Probe()
    for i, n in enumerate([64 * KiB, 100 * KiB + 3, MiB, 3 * MiB + 1, 64 * KiB] * 4):
        value = os.urandom(n)
        back = p.echo(value if i % 2 else bytearray(value))
        assert type(back) is (bytes if i % 2 else bytearray)
        assert back == value


def test_values_filling_more_than_the_arena_in_one_message(Probe):
    # three 3 MiB values: two fit the 8 MiB arena, the third takes a memfd
    p = Probe()
    values = tuple(os.urandom(3 * MiB) for _ in range(3))
    assert p.echo(*values) == values


def test_a_value_bigger_than_the_arena(Probe):
    p = Probe()
    value = os.urandom(ARENA + 1)
    assert p.digest(value) == __import__("hashlib").sha256(value).hexdigest()
    assert p.echo(value) == value


def test_made_in_the_child(Probe):
    p = Probe()
    for seed in (3, 5, 7):
        assert p.make(2 * MiB, seed) == bytes((i * seed) & 0xFF for i in range(256)) * (2 * MiB // 256)


def test_threads_sharing_one_child_each_get_their_own_bytes(Probe):
    # one thread at a time holds the arena; the others use memfds meanwhile
    p = Probe()
    errors = []

    def work(k):
        try:
            for i in range(20):
                value = bytes([k, i]) * (100 * KiB + k)
                if p.echo(value) != value:
                    errors.append((k, i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_the_child_maps_the_parents_arena_read_only(Unconfined):
    p = Unconfined()
    p.echo(b"x" * MiB)  # both arenas in use at least once
    maps = p.arena_maps()
    assert set(maps) == {"extradite-down", "extradite-up"}
    assert maps["extradite-down"].startswith("r-")
    assert maps["extradite-up"].startswith("rw")


def test_a_big_value_travels_in_the_arena(Unconfined):
    p = Unconfined()
    marker = os.urandom(64 * KiB)
    assert p.echo(marker) == marker
    assert p.down_holds(marker)
    assert not p.down_holds(os.urandom(32))  # control


def test_the_child_cannot_make_the_parents_arena_writable(Unconfined):
    # F_SEAL_FUTURE_WRITE: no writable mapping of "down" outside the parent
    p = Unconfined()
    assert p.make_down_writable() in (errno.EACCES, errno.EPERM)
