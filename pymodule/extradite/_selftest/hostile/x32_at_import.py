"""Makes an x32-ABI syscall while being imported (x86_64 only)."""

from ..syscalls import NR, X32_SYSCALL_BIT

from ._common import raw_syscall

raw_syscall(X32_SYSCALL_BIT | NR["getpid"])


class Anything:
    pass
