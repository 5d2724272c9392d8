"""Network escapes: sockets of every family, and name-service files."""

import array
import errno
import os
import socket

from ._common import Base


class NetAttacker(Base):
    def tcp_socket(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.close()
        return True

    def connect(self, host, port, payload):
        # a numeric address: no resolver involved, only socket + connect
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect((host, port))
            s.sendall(payload)
        return True

    def udp_send(self, host, port, payload):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(payload, (host, port))
        return True

    def listen(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            return s.getsockname()[1]

    def unix_socket(self):
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
        return True

    def unix_datagram_to(self, path, payload):
        """Reach a host socket path (/dev/log, journald, systemd's notify
        socket) with a datagram from a socketpair, a pipe's fd attached."""
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        r, w = os.pipe()
        try:
            a.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   array.array("i", [r]))], 0, path)
            return True
        finally:
            for fd in (r, w):
                os.close(fd)
            a.close()
            b.close()

    def unix_connected_to(self, path, payload, kind):
        """The same through a connected pair of `kind` ("stream" or
        "seqpacket"): sendto and sendmsg with a destination address.
        Returns what went where: no path may be reached."""
        kind = {"stream": socket.SOCK_STREAM, "seqpacket": socket.SOCK_SEQPACKET}[kind]
        a, b = socket.socketpair(socket.AF_UNIX, kind)
        out = []
        with a, b:
            for send in (lambda: a.sendto(payload, path),
                         lambda: a.sendmsg([payload], [], 0, path)):
                try:
                    out.append(send())
                except OSError as e:
                    out.append(errno.errorcode.get(e.errno, e.errno))
        return out

    def netlink_socket(self):
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
        return True

    def packet_socket(self):
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        return True

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()
