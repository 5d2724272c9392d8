"""Raw syscalls through ctypes and a base class every attacker shares."""

import ctypes
import os

from ..syscalls import NR

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _arg(a):
    if a == "PPID":
        return ctypes.c_long(os.getppid())
    if isinstance(a, int):
        # ctypes integer types wrap, so request words with high bits pass intact
        return ctypes.c_ulong(a)
    return a


def raw_syscall(nr, *args):
    """(return value, errno) of syscall(nr, *args), bypassing Python's wrappers."""
    ctypes.set_errno(0)
    ret = _syscall(ctypes.c_long(nr), *(_arg(a) for a in args))
    return ret, ctypes.get_errno()


def named_syscall(name, *args):
    return raw_syscall(NR[name], *args)


class Base:
    def ping(self):
        """Proves the child is still serving after an ordinary denial."""
        return "pong"

    def pid(self):
        return os.getpid()
