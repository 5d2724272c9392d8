"""Network: no socket at all below the network profile; under network,
inet sockets work but other families stay refused."""

import socket

import pytest

from xtd_checks import CONFINED, assert_remote

TARGET = "extradite._selftest.hostile.network:NetAttacker"
NO_NETWORK = ("strict", "default")


@pytest.mark.parametrize("profile", NO_NETWORK)
def test_inet_socket_is_refused(spawn, profile):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.tcp_socket()
    assert_remote(info)
    assert attacker.ping() == "pong"  # an ordinary denial leaves the child serving


@pytest.mark.parametrize("profile", CONFINED)
def test_connect_to_a_local_listener(spawn, profile):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        attacker = spawn(TARGET, profile)()
        if profile == "network":
            assert attacker.connect("127.0.0.1", port, b"hello from the child") is True
            server.settimeout(10)
            conn, _ = server.accept()
            with conn:
                assert conn.recv(100) == b"hello from the child"
        else:
            with pytest.raises(PermissionError) as info:
                attacker.connect("127.0.0.1", port, b"hello from the child")
            assert_remote(info)
            server.setblocking(False)
            with pytest.raises(BlockingIOError):
                server.accept()  # nobody connected


@pytest.mark.parametrize("profile", CONFINED)
def test_udp_datagram(spawn, profile):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        attacker = spawn(TARGET, profile)()
        if profile == "network":
            assert attacker.udp_send("127.0.0.1", port, b"datagram") is True
            sink.settimeout(10)
            assert sink.recv(100) == b"datagram"
        else:
            with pytest.raises(PermissionError) as info:
                attacker.udp_send("127.0.0.1", port, b"datagram")
            assert_remote(info)
            sink.setblocking(False)
            with pytest.raises(BlockingIOError):
                sink.recv(100)


@pytest.mark.parametrize("profile", CONFINED)
def test_bind_and_listen(spawn, profile):
    attacker = spawn(TARGET, profile)()
    if profile == "network":
        assert attacker.listen() > 0
    else:
        with pytest.raises(PermissionError) as info:
            attacker.listen()
        assert_remote(info)


# network grants inet and inet6 only: local IPC, routing and raw packets stay shut
@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("family", ["unix_socket", "netlink_socket", "packet_socket"])
def test_other_socket_families_are_refused(spawn, profile, family):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        getattr(attacker, family)()
    assert_remote(info)
    assert attacker.ping() == "pong"


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("path", ["/etc/hosts", "/etc/resolv.conf"])
def test_name_service_files(spawn, profile, path):
    try:
        with open(path, "rb") as f:
            expected = f.read()
    except FileNotFoundError:
        pytest.skip(f"{path} does not exist on this machine")
    attacker = spawn(TARGET, profile)()
    if profile == "network":
        assert attacker.read(path) == expected
    else:
        with pytest.raises(PermissionError) as info:
            attacker.read(path)
        assert_remote(info)


@pytest.mark.parametrize("profile", NO_NETWORK)
def test_socket_at_import_fails_the_load(spawn, profile):
    # the sandbox is up before the target's first line runs
    with pytest.raises(PermissionError) as info:
        spawn("extradite._selftest.hostile.socket_at_import:Anything", profile)
    assert_remote(info)
