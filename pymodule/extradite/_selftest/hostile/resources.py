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

    def threads(self, n):
        """Start n threads that wait (then let them go): how many started.
        Refused: RuntimeError("can't start new thread") past the limit."""
        import threading

        go = threading.Event()
        started = []
        try:
            for _ in range(n):
                t = threading.Thread(target=go.wait, daemon=True)
                t.start()
                started.append(t)
        finally:
            go.set()
            for t in started:
                t.join()
        return len(started)

    def memfd_fill(self, total, chunk=16 << 20):
        """Hold `total` bytes in memfds (not in the address space): the
        bytes written. Refused: OSError EFBIG past the file-size limit."""
        fd = os.memfd_create("hog")
        block = b"x" * chunk
        done = 0
        try:
            while done < total:
                done += os.pwrite(fd, block[:total - done], done)
        finally:
            os.close(fd)
        return done

    def memfds_fill(self, count, each):
        """`count` memfds of `each` bytes, all held at once: the bytes
        held. Each stays under the file-size limit; the total is what a
        memory cgroup must stop."""
        fds = []
        try:
            for _ in range(count):
                fds.append(os.memfd_create("hog"))
                block = b"x" * (1 << 20)
                for off in range(0, each, len(block)):
                    os.pwrite(fds[-1], block, off)
            return count * each
        finally:
            for fd in fds:
                os.close(fd)

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
