"""Network escapes: sockets of every family, and name-service files."""

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

    def netlink_socket(self):
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
        return True

    def packet_socket(self):
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        return True

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()
