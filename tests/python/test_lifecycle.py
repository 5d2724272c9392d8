"""Child processes: isolation of what they inherit, and that closing,
garbage collection and interpreter exit leave nothing behind."""

import gc
import os
import subprocess
import sys
import textwrap

import pytest

import extradite
from extradite import _core
from extradite import extradite as extradite_fn

from xtd_support import child_pids, gone

TARGET = "xtd_targets.counter:Counter"


def test_each_call_gets_its_own_child():
    a, b = extradite_fn(TARGET), extradite_fn(TARGET)
    try:
        pid_a = a.__extradite_session__.pid
        pid_b = b.__extradite_session__.pid
        assert pid_a != pid_b
        assert {pid_a, pid_b} <= child_pids()
    finally:
        a.close()
        b.close()


def test_close_stops_and_reaps_the_child():
    cls = extradite_fn(TARGET)
    pid = cls.__extradite_session__.pid
    cls().increment(1)
    cls.close()
    assert pid not in child_pids()
    assert not os.path.exists(f"/proc/{pid}")
    with pytest.raises(extradite.ExtraditeProtocolError, match="closed"):
        cls()
    cls.close()  # idempotent


def test_dropping_the_class_stops_the_child():
    cls = extradite_fn(TARGET)
    pid = cls.__extradite_session__.pid
    del cls
    gc.collect()
    assert pid not in child_pids()


def test_child_gets_no_parent_secrets(monkeypatch):
    monkeypatch.setenv("EXTRADITE_TEST_SECRET", "hunter2")
    cls = extradite_fn(TARGET)
    try:
        env = cls().environment()
        assert "EXTRADITE_TEST_SECRET" not in env
        allowed = {"PATH", "LANG", "HOME", "LD_LIBRARY_PATH", "LC_CTYPE"}
        if _core._asan_build:  # the runtime and its settings (session.c)
            allowed |= {"LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS"}
        assert set(env) <= allowed
    finally:
        cls.close()


def test_child_inherits_no_fds():
    leaked = os.open("/dev/null", os.O_RDONLY)  # not close-on-exec on purpose
    os.set_inheritable(leaked, True)
    cls = extradite_fn(TARGET)
    try:
        fds = cls().open_fds()
        # stdio, the channel, and the fd listdir itself opened
        assert fds[:4] == [0, 1, 2, 3]
        assert len(fds) <= 5
    finally:
        cls.close()
        os.close(leaked)


def test_child_runs_isolated_and_without_site():
    cls = extradite_fn(TARGET)
    try:
        mods = cls().modules()
        assert "site" not in mods
        assert "xtd_targets.counter" in mods
    finally:
        cls.close()


def test_child_output_goes_to_parent_stderr(capfd):
    cls = extradite_fn(TARGET)
    try:
        assert cls().shout("hello from the child") == 20
    finally:
        cls.close()
    out, err = capfd.readouterr()
    assert "hello from the child" in err
    assert "hello from the child" not in out


def test_target_never_enters_parent_modules():
    cls = extradite_fn(TARGET)
    try:
        cls().increment(1)
        assert "xtd_targets.counter" not in sys.modules
        assert "xtd_targets" not in sys.modules
    finally:
        cls.close()


def test_interpreter_exit_stops_children(tmp_path):
    script = tmp_path / "leave_open.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {os.path.dirname(__file__)!r})
            from extradite import extradite
            cls = extradite({TARGET!r})
            obj = cls(1)
            print(cls.__extradite_session__.pid, flush=True)
            # no close(): exit must stop and reap the child
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.strip())
    assert gone(pid)


def test_many_sessions_leave_nothing():
    for _ in range(10):
        cls = extradite_fn(TARGET)
        assert cls(1).increment(1) == 2
        cls.close()


def test_close_reaps_a_child_whose_thread_made_us_its_tracer():
    # Possible only unconfined (ptrace traps otherwise): the traced thread
    # must be reaped by us, or the child would never finish exiting.
    T = extradite_fn("xtd_targets.traceme:T", sandbox="unconfined")
    pid = T.__extradite_session__.pid
    assert T().traceme() == 0
    T.close()
    assert pid not in child_pids()


# The forked child only uses extradite's objects and exits; no lock of the
# other threads is taken there.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_process_neither_uses_nor_stops_the_parents_children():
    Counter = extradite_fn("xtd_targets.counter:Counter")
    try:
        c = Counter()
        c.increment()
        pid = Counter.__extradite_session__.pid
        child = os.fork()
        if child == 0:
            code = 0
            try:
                c.increment()
                code = 1  # it used the parent's channel
            except extradite.ExtraditeProtocolError as e:
                code = 0 if "forked" in str(e) else 2
            # dropping everything here must not stop the parent's child
            del c
            Counter.close()
            gc.collect()
            os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert Counter.__extradite_session__.pid == pid
        assert c.increment() == 2  # the channel is intact
    finally:
        Counter.close()
