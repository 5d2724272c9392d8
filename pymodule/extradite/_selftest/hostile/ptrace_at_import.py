"""Calls ptrace while being imported: the violation must come out of
extradite() itself."""

from ..syscalls import PTRACE_TRACEME

from ._common import named_syscall

named_syscall("ptrace", PTRACE_TRACEME, 0, 0, 0)


class Anything:
    pass
