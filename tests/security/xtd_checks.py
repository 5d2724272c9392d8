"""Helpers for the hostile-child suite (a plain module: every conftest.py is
imported as "conftest", so tests cannot import helpers from one)."""

import subprocess
import sys

import pytest

import extradite
from xtd_support import gone
from extradite._selftest.syscalls import MACHINE, NR

CONFINED = ("strict", "default", "network")
# No hostile call may hang the suite: tests that do not test timeouts get this.
BACKSTOP_TIMEOUT = 60.0


def granting(profile, *paths):
    """The built-in `profile` as a mapping that also grants reading
    `paths`: only the target's package is granted from a folder on
    sys.path that is not site-packages (docs/containment.md, "File
    grants"), so a module of ours the child imports (to unpickle what we
    pass it) needs its own grant."""
    from extradite import _sandbox

    read = _sandbox._resolve(profile)[2]["landlock"]["read"]
    return {"extends": profile, "landlock": {"read": [*read, *paths]}}

needs_syscall_table = pytest.mark.skipif(
    not NR, reason=f"extradite/_selftest/syscalls.py has no syscall numbers for {MACHINE}"
)
x86_64_only = pytest.mark.skipif(
    MACHINE != "x86_64", reason=f"x32 and the i386 int 0x80 entry exist only on x86_64, not {MACHINE}"
)


def child_pid(cls):
    return cls.__extradite_session__.pid


def assert_remote(excinfo, exc_type=PermissionError):
    """The error was raised in the child and crossed over with its type."""
    exc = excinfo.value
    assert isinstance(exc, extradite.ExtraditeRemoteError), repr(exc)
    assert isinstance(exc, exc_type), repr(exc)
    assert exc.remote_type_name == exc_type.__name__


def assert_dead(cls, pid):
    """The child is gone and the class refuses further calls."""
    assert gone(pid), f"child {pid} still exists"
    with pytest.raises(extradite.ExtraditeProtocolError):
        cls()


def assert_violation(excinfo, syscall, profile):
    exc = excinfo.value
    assert isinstance(exc, extradite.ExtraditeSandboxViolation), repr(exc)
    assert exc.syscall == syscall
    assert exc.syscall_nr == (NR[syscall] if syscall is not None else None)
    assert exc.profile == profile


_userns = None


def user_namespaces_refused():
    """Whether this kernel refuses an unprivileged-style user+net namespace
    (tried in a throwaway process)."""
    global _userns
    if _userns is None:
        code = (
            "import ctypes, sys\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "sys.exit(0 if libc.unshare(0x10000000 | 0x40000000) == 0 else 1)\n"
        )
        _userns = subprocess.run([sys.executable, "-I", "-S", "-c", code]).returncode != 0
    return _userns


def landlock_available():
    try:
        with open("/sys/kernel/security/lsm") as f:
            return "landlock" in f.read().split(",")
    except OSError:
        # securityfs not mounted: ask the kernel directly for the ABI version
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
        return libc.syscall(444, None, 0, 1) > 0
