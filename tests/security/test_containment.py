"""Containment (issue 14): host unix sockets, setuid files and path
metadata. Limits on memfd bytes and threads are in test_limits.py."""

import os
import socket
import stat

import pytest

import extradite
from xtd_checks import CONFINED, assert_remote

NET = "extradite._selftest.hostile.network:NetAttacker"
FILES = "extradite._selftest.hostile.files:FileAttacker"


@pytest.fixture
def host_socket(tmp_path):
    """A datagram socket bound at a path, as /dev/log or journald's are:
    the test is the host listening on it."""
    path = str(tmp_path / "host.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    yield path, sock
    sock.close()


def _nothing_arrived(sock):
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return True
    pytest.fail(f"the host socket received {data!r} from a confined child")


# finding 3
@pytest.mark.parametrize("profile", CONFINED)
def test_a_datagram_socketpair_cannot_reach_a_host_socket(spawn, host_socket, profile):
    path, sock = host_socket
    attacker = spawn(NET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.unix_datagram_to(path, b"escaped")
    assert_remote(info)
    _nothing_arrived(sock)


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_a_connected_pair_cannot_address_a_host_socket(spawn, host_socket, profile, kind):
    path, sock = host_socket
    attacker = spawn(NET, profile)()
    # stream: refused (EPERM from the filter, or EISCONN under network);
    # seqpacket: the kernel ignores the address and the bytes go to the peer
    attacker.unix_connected_to(path, b"escaped", kind)
    _nothing_arrived(sock)
    assert attacker.ping() == "pong"


def test_unconfined_reaches_the_host_socket(spawn, host_socket):
    """The test can tell: without the filter the datagram arrives."""
    path, sock = host_socket
    assert spawn(NET, "unconfined")().unix_datagram_to(path, b"escaped")
    sock.setblocking(True)
    sock.settimeout(10)
    assert sock.recv(4096) == b"escaped"


# finding 7
@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o6755])
def test_no_setuid_or_setgid_file_is_created(spawn, writable, mode):
    profile, grant = writable
    target = grant / "suid"
    attacker = spawn(FILES, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.create_with_mode(str(target), mode)
    assert_remote(info)
    assert not target.exists()
    # the grant works: the same file without those bits
    assert attacker.create_with_mode(str(target), 0o755) == 0o755


# fchmodat (a path) is refused whatever the mode: test_metadata_writes.py
@pytest.mark.parametrize("method", ["fchmod"])
@pytest.mark.parametrize("mode", [0o4755, 0o2755])
def test_no_setuid_or_setgid_bit_is_set(spawn, writable, method, mode):
    profile, grant = writable
    target = grant / "program"
    target.write_bytes(b"#!/bin/sh\n")
    target.chmod(0o755)
    attacker = spawn(FILES, profile)()
    with pytest.raises(PermissionError) as info:
        getattr(attacker, method)(str(target), mode)
    assert_remote(info)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    # chmod through an fd is allowed
    getattr(attacker, method)(str(target), 0o700)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


# finding 9
def test_strict_tells_nothing_of_paths(spawn, tmp_path):
    present = tmp_path / "present.txt"
    present.write_bytes(b"x" * 1234)
    absent = tmp_path / "absent.txt"
    attacker = spawn(FILES, "strict")()
    seen_present = attacker.probe(str(present))
    seen_absent = attacker.probe(str(absent))
    assert seen_present == seen_absent, (seen_present, seen_absent)
    assert set(seen_present) <= {"EACCES", "no"}, seen_present
    # /etc/shadow, and a directory, read the same
    assert attacker.probe("/etc/shadow") == seen_absent
    assert attacker.probe("/") == seen_absent


def test_default_still_answers_metadata(spawn, tmp_path):
    """What the docs say default allows: stat of any path (Landlock does
    not govern it). If this changes, docs/containment.md must too."""
    present = tmp_path / "present.txt"
    present.write_bytes(b"x" * 1234)
    attacker = spawn(FILES, "default")()
    assert attacker.probe(str(present))[0][0] == 1234


def test_strict_child_still_raises_and_serves(spawn):
    """Formatting the error (linecache stats the source) fails quietly:
    the error comes back and the child goes on serving."""
    attacker = spawn(FILES, "strict")()
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        attacker.read("/nonexistent/x")
    assert_remote(info)
    assert attacker.ping() == "pong"


def test_cwd_unchanged_by_probe(spawn):
    # os.chdir is among the probes: refused, so the child stays where it was
    attacker = spawn(FILES, "strict")()
    attacker.probe("/")
    assert attacker.ping() == "pong"
    assert os.getcwd()  # the parent's, untouched
