"""Attempts to slip past the seccomp filter rather than through it: other
syscall ABIs, ioctl words with high bits, and disarming the SIGSYS reporter."""

import ctypes
import mmap
import signal

from ..syscalls import NR, PTRACE_TRACEME, X32_SYSCALL_BIT

from ._common import Base, named_syscall, raw_syscall

# mov eax, 20 (i386 getpid); int 0x80; ret
I386_GETPID_STUB = b"\xb8\x14\x00\x00\x00\xcd\x80\xc3"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class BypassAttacker(Base):
    def x32(self, name):
        return raw_syscall(X32_SYSCALL_BIT | NR[name])

    def ioctl(self, fd, request):
        ch = ctypes.c_char(b"x")
        # the errno: the sandbox must answer EPERM whatever the upper 32 bits say
        return named_syscall("ioctl", fd, request, ctypes.byref(ch))[1]

    def int80(self):
        """Run the i386 entry from a machine-code page; returns what it got."""
        try:
            page = mmap.mmap(-1, mmap.PAGESIZE,
                             flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                             prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            page.write(I386_GETPID_STUB)
            buf = ctypes.c_char.from_buffer(page)
        except PermissionError:
            # no RWX mapping: write first, then flip to read+exec
            page = mmap.mmap(-1, mmap.PAGESIZE,
                             flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                             prot=mmap.PROT_READ | mmap.PROT_WRITE)
            page.write(I386_GETPID_STUB)
            buf = ctypes.c_char.from_buffer(page)
            if _libc.mprotect(ctypes.addressof(buf), mmap.PAGESIZE,
                              mmap.PROT_READ | mmap.PROT_EXEC) != 0:
                raise PermissionError(ctypes.get_errno(), "mprotect(PROT_EXEC)")
        stub = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(buf))
        return stub()

    def ptrace_with_own_sigsys_handler(self):
        """Replace the reporter's SIGSYS handler, then make a trapped call."""
        seen = []
        signal.signal(signal.SIGSYS, lambda signum, frame: seen.append(signum))
        result = named_syscall("ptrace", PTRACE_TRACEME, 0, 0, 0)
        return result, seen

    def ptrace_with_sigsys_blocked(self):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGSYS})
        return named_syscall("ptrace", PTRACE_TRACEME, 0, 0, 0)

    def ptrace_with_sigsys_ignored(self):
        signal.signal(signal.SIGSYS, signal.SIG_IGN)
        return named_syscall("ptrace", PTRACE_TRACEME, 0, 0, 0)
