"""An unconfined child whose thread makes the parent its tracer."""

import ctypes
import threading
import time


class T:
    def traceme(self):
        libc = ctypes.CDLL(None, use_errno=True)
        done = []

        def worker():
            done.append(libc.ptrace(0, 0, 0, 0))  # PTRACE_TRACEME
            time.sleep(60)

        threading.Thread(target=worker, daemon=True).start()
        while not done:
            time.sleep(0.01)
        return done[0]
