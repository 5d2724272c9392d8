"""Kernel attack surface: dangerous syscalls trap in every confined profile
(the child dies, the parent gets ExtraditeSandboxViolation naming the call);
clone3 says ENOSYS so threads fall back to clone, which works."""

import errno

import pytest

import extradite
from xtd_checks import CONFINED, assert_dead, assert_violation, child_pid, needs_syscall_table
from extradite._selftest.syscalls import TRAPPED

TARGET = "extradite._selftest.hostile.kernel:KernelAttacker"

pytestmark = needs_syscall_table


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("syscall", sorted(TRAPPED))
def test_dangerous_syscall_traps(spawn, profile, syscall):
    cls = spawn(TARGET, profile)
    attacker = cls()
    pid = child_pid(cls)
    with pytest.raises(extradite.ExtraditeSandboxViolation) as info:
        attacker.trap(syscall)
    assert_violation(info, syscall, profile)
    assert_dead(cls, pid)


@pytest.mark.parametrize("syscall", ["ptrace", "io_uring_setup", "bpf"])
def test_trap_from_another_thread(spawn, syscall):
    cls = spawn(TARGET)
    attacker = cls()
    pid = child_pid(cls)
    with pytest.raises(extradite.ExtraditeSandboxViolation) as info:
        attacker.trap_in_thread(syscall)
    assert_violation(info, syscall, "default")
    assert_dead(cls, pid)


def test_trap_at_import_comes_out_of_extradite(spawn):
    with pytest.raises(extradite.ExtraditeSandboxViolation) as info:
        spawn("extradite._selftest.hostile.ptrace_at_import:Anything")
    assert_violation(info, "ptrace", "default")


@pytest.mark.parametrize("profile", CONFINED)
def test_clone3_is_enosys(spawn, profile):
    attacker = spawn(TARGET, profile)()
    assert attacker.clone3() == errno.ENOSYS
    assert attacker.ping() == "pong"


@pytest.mark.parametrize("profile", CONFINED)
def test_threads_work(spawn, profile):
    attacker = spawn(TARGET, profile)()
    assert attacker.threads(8) == [sum(range(i * 1000)) for i in range(8)]
