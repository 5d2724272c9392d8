"""Getting past the filter rather than through it: x32 numbers, the i386
int 0x80 entry, ioctl request words with high bits, and disarming the SIGSYS
reporter. None of it may reach the kernel."""

import errno

import pytest

import extradite
from xtd_checks import (
    CONFINED, assert_dead, assert_violation, child_pid,
    needs_syscall_table, x86_64_only,
)

TARGET = "extradite._selftest.hostile.bypass:BypassAttacker"
TIOCSTI = 0x5412  # pushes bytes into a terminal's input queue


@x86_64_only
@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("syscall", ["getpid", "socket"])
def test_x32_syscall_kills_without_report(spawn, profile, syscall):
    # even getpid, allowed natively: the whole x32 ABI is killed
    cls = spawn(TARGET, profile)
    attacker = cls()
    pid = child_pid(cls)
    with pytest.raises(extradite.ExtraditeSandboxViolation) as info:
        attacker.x32(syscall)
    assert_violation(info, None, profile)
    assert_dead(cls, pid)


@x86_64_only
def test_x32_syscall_at_import(spawn):
    with pytest.raises(extradite.ExtraditeSandboxViolation) as info:
        spawn("extradite._selftest.hostile.x32_at_import:Anything")
    assert_violation(info, None, "default")


@x86_64_only
@pytest.mark.parametrize("profile", CONFINED)
def test_i386_int80_entry_kills(spawn, profile):
    cls = spawn(TARGET, profile)
    attacker = cls()
    pid = child_pid(cls)
    try:
        attacker.int80()
    except extradite.ExtraditeSandboxViolation as exc:
        assert (exc.syscall, exc.syscall_nr, exc.profile) == (None, None, profile)
        assert_dead(cls, pid)
    except PermissionError as exc:
        # no executable memory at all: the stub never ran, which is also fine
        assert isinstance(exc, extradite.ExtraditeRemoteError)
    else:
        pytest.fail("the i386 getpid ran inside the sandbox")


@needs_syscall_table
@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize(
    "request_word",
    [TIOCSTI, (1 << 32) | TIOCSTI, (0xFFFFFFFF << 32) | TIOCSTI],
    ids=["plain", "bit32", "all-high-bits"],
)
def test_ioctl_compared_on_low_32_bits(spawn, profile, request_word):
    # fd 0 is /dev/null: a TIOCSTI that got through would say ENOTTY, not EPERM
    attacker = spawn(TARGET, profile)()
    assert attacker.ioctl(0, request_word) == errno.EPERM
    assert attacker.ping() == "pong"


@needs_syscall_table
@pytest.mark.parametrize(
    "method",
    ["ptrace_with_own_sigsys_handler", "ptrace_with_sigsys_blocked", "ptrace_with_sigsys_ignored"],
)
def test_disarming_the_sigsys_reporter_does_not_help(spawn, method):
    # either taking over SIGSYS is refused, or the trapped call still ends the child
    cls = spawn(TARGET)
    attacker = cls()
    pid = child_pid(cls)
    try:
        result = getattr(attacker, method)()
    except extradite.ExtraditeSandboxViolation as exc:
        assert exc.profile == "default"
        assert exc.syscall in ("ptrace", None)
        assert_dead(cls, pid)
    except PermissionError as exc:
        # named_syscall never raises: this came from touching SIGSYS, before ptrace
        assert isinstance(exc, extradite.ExtraditeRemoteError)
        assert attacker.ping() == "pong"
    else:
        pytest.fail(f"the child survived a trapped ptrace: {result!r}")
