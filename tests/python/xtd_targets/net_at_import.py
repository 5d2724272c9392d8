"""Opens an inet socket while being imported: loads under "network",
not under "strict" or "default" (the CLI's check test)."""

import socket

socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


class Probe:
    def ping(self):
        return "pong"
