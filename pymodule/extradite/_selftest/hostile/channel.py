"""Writes whatever the test hands it straight into the channel (fd 3)."""

import os
import socket
import time

from ._common import Base

CHANNEL_FD = 3


class ChannelAttacker(Base):
    def write_raw(self, data, then="sleep"):
        view = memoryview(data)
        while view:
            view = view[os.write(CHANNEL_FD, view):]
        return self._then(then)

    def write_with_fds(self, data, fds, then="sleep"):
        """Send data in one message with fds attached (SCM_RIGHTS)."""
        channel = socket.socket(fileno=CHANNEL_FD)
        try:
            sent = socket.send_fds(channel, [data], fds)
        finally:
            channel.detach()  # the channel fd is not ours to close
        assert sent == len(data)
        return self._then(then)

    @staticmethod
    def _then(then):
        if then == "exit":
            os._exit(0)
        if then == "sleep":
            # the parent sees only the forged bytes; it has to kill us
            time.sleep(3600)
        if then == "linger":
            # the real reply, once the parent has had the forged bytes in
            # front of it: a reply in the frame ring would otherwise be
            # read before them (frame.h, "rings")
            time.sleep(0.5)
        return "real reply"
