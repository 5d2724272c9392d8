"""Resource exhaustion and hanging the caller."""

import os
import re
import signal

from ._common import Base


class Hog(Base):
    def allocate(self, size):
        return len(bytearray(size))

    def fork_bomb(self):
        # bounded on purpose: a fork that gets through exits at once
        pids = []
        for _ in range(16):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        return len(pids)

    def spin(self):
        while True:
            pass

    def c_spin(self):
        # catastrophic backtracking: the time goes in the C regex engine
        return re.match(r"(a+)+$", "a" * 64 + "b")

    def stop_self(self):
        os.kill(os.getpid(), signal.SIGSTOP)
        return "continued"

    def stubborn_spin(self):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            pass
