"""Processes: no fork, exec or spawn; no signal to, trace of or peek into
any process but itself."""

import errno
import os
import signal
import subprocess

import pytest

import extradite
from xtd_checks import CONFINED, assert_dead, assert_remote, assert_violation, child_pid
from xtd_checks import needs_syscall_table
from xtd_support import tracer_pid

TARGET = "extradite._selftest.hostile.processes:ProcessAttacker"


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("method", ["fork", "execv", "run", "posix_spawn"])
def test_new_processes_are_refused(spawn, profile, method):
    attacker = spawn(TARGET, profile)()
    pid = attacker.pid()
    with pytest.raises(PermissionError) as info:
        getattr(attacker, method)()
    assert_remote(info)
    # same process still serving: nothing replaced it
    assert attacker.pid() == pid


def test_fork_at_import_fails_the_load(spawn):
    with pytest.raises(PermissionError) as info:
        spawn("extradite._selftest.hostile.fork_at_import:Anything")
    assert_remote(info)


@pytest.mark.parametrize("profile", CONFINED)
def test_killing_the_parent_is_refused(spawn, profile):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        # an int: a signal.Signals would travel as a pickle, and strict's
        # child cannot import pickle once loaded (so it never reached kill)
        attacker.kill_parent(int(signal.SIGKILL))
    assert_remote(info)
    assert attacker.ping() == "pong"  # and we are still here to ask


@pytest.mark.parametrize("profile", CONFINED)
def test_signalling_itself_is_allowed(spawn, profile):
    # kill is allowed towards the child's own pid only: the parent compiles
    # each child's filter for that child's pid.
    attacker = spawn(TARGET, profile)()
    assert attacker.kill(attacker.pid(), 0) is True


def test_a_child_without_a_filter_template_compiles_its_own(spawn, monkeypatch):
    # When the parent has no template for a profile, the child compiles
    # its filter itself, for its own pid: just as strict.
    from extradite import _sandbox

    def no_template(policy):
        raise OSError(errno.ENOTRECOVERABLE, "no template")

    monkeypatch.setattr(_sandbox, "_templates", {})
    monkeypatch.setattr(_sandbox._core, "seccomp_template", no_template)
    attacker = spawn(TARGET)()
    assert attacker.kill(attacker.pid(), 0) is True
    with pytest.raises(PermissionError) as info:
        attacker.kill_parent(signal.SIGKILL)
    assert_remote(info)


@pytest.fixture
def bystander():
    """An unrelated process of the same user, reaped at the end."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGSTOP, 0])
def test_signalling_another_process_is_refused(spawn, bystander, sig):
    attacker = spawn(TARGET)()
    with pytest.raises(PermissionError) as info:
        attacker.kill(bystander.pid, sig)
    assert_remote(info)
    assert bystander.poll() is None
    with open(f"/proc/{bystander.pid}/stat") as f:
        assert f.read().rsplit(")", 1)[1].split()[0] != "T"  # not stopped


def test_signalling_every_process_is_refused(spawn):
    # kill(-1, 0) only probes; a real signal here would hit the whole machine
    attacker = spawn(TARGET)()
    with pytest.raises(PermissionError) as info:
        attacker.kill(-1, 0)
    assert_remote(info)


@needs_syscall_table
def test_tracing_the_parent_traps(spawn):
    cls = spawn(TARGET)
    attacker = cls()
    pid = child_pid(cls)
    with pytest.raises(extradite.ExtraditeSandboxViolation) as info:
        attacker.seize_parent()
    assert_violation(info, "ptrace", "default")
    assert tracer_pid() == 0
    assert_dead(cls, pid)


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("entry", ["environ", "mem", "maps", "cmdline", "root/etc/passwd"])
def test_the_parents_proc_entries_are_unreadable(spawn, profile, entry):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.read(f"/proc/{os.getpid()}/{entry}")
    assert_remote(info)


def test_the_parents_fd_table_is_unlistable(spawn):
    attacker = spawn(TARGET)()
    with pytest.raises(PermissionError) as info:
        attacker.listdir(f"/proc/{os.getpid()}/fd")
    assert_remote(info)

