"""Kernel attack surface: each call here must trap, or fail with the errno
the sandbox promises."""

import threading

from ..syscalls import TRAPPED

from ._common import Base, named_syscall


class KernelAttacker(Base):
    def trap(self, name):
        # returns only if the call was let through or refused with an errno
        return named_syscall(name, *TRAPPED[name])

    def trap_in_thread(self, name):
        out = []
        t = threading.Thread(target=lambda: out.append(self.trap(name)))
        t.start()
        t.join()
        return out[0]

    def clone3(self):
        # NULL args, size 0: the kernel would say EINVAL/EFAULT if asked
        return named_syscall("clone3", 0, 0)[1]

    def threads(self, n):
        results = [None] * n

        def work(i):
            results[i] = sum(range(i * 1000))

        workers = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return results
