"""Opens a socket while being imported: extradite() itself must fail."""

import socket

socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


class Anything:
    pass
