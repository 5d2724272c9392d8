"""Lifetime and cleanup (issue 14, findings 6, 8, 10, 11): a child never
outlives its parent, close() removes whatever the child left in its
private temp dir, a forked process leaves its parent's sessions alone, and
a hanging start holds up only those who wait for it (docs/lifetime.md).

Bounds are loose on purpose (a shared, noisy machine): each is far below
what the failure it guards against takes."""

import atexit
import gc
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings

import pytest

import extradite
from extradite import _sandbox, _sessions
from xtd_support import gone

LINGERER = "extradite._selftest.hostile.lifetime:Lingerer"
SLOW = "extradite._selftest.hostile.slow_import:Slow"
HERE = os.path.dirname(os.path.abspath(__file__))
# default, plus writing into the child's private temp dir
WRITABLE = {
    "extends": "default",
    "seccomp": {"groups": ["core", "threads", "files_read", "files_write"]},
    "landlock": {"write": ["{tmpdir}"]},
}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Where the next child's {tmpdir} is made: a function returning it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def made():
        dirs = [d for d in os.listdir(tmp_path) if d.startswith("extradite-")]
        assert len(dirs) == 1, dirs
        return str(tmp_path / dirs[0])

    return made


# -- finding 6: a child outlives its parent ---------------------------------

# A parent that starts a child from a worker thread (no PDEATHSIG: it would
# follow the thread), has it spin in a call, and waits; with "fork", it
# also forks a process that outlives it.
PARENT = """
import os, sys, threading, time
sys.path.insert(0, {here!r})
import extradite

started = threading.Event()

def run():
    cls = extradite.extradite({target!r}, sandbox={profile!r})
    obj = cls()
    print(cls.__extradite_session__.pid, flush=True)
    started.set()
    obj.spin(600)

threading.Thread(target=run, daemon=True).start()
started.wait()
if {fork!r}:
    pid = os.fork()
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    print(pid, flush=True)
print("ready", flush=True)
time.sleep(600)
"""


def _ended(pid):
    """Gone, or a zombie (whoever adopted it may not reap at once)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _wait_ended(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ended(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("profile,fork", [
    ("strict", False), ("default", False), ("network", False), ("unconfined", False),
    ("default", True),
])
def test_a_child_spawned_from_a_thread_ends_with_its_parent(profile, fork):
    script = PARENT.format(here=HERE, target=LINGERER, profile=profile, fork=fork)
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    pids = []
    try:
        for line in parent.stdout:
            if line.strip() == "ready":
                break
            pids.append(int(line))
        assert pids, "the parent did not start its child"
        child = pids[0]
        assert not _ended(child)
        time.sleep(0.3)  # into its call
        parent.kill()
        parent.wait()
        # loose: the watchdog gives a busy child 3 s to end by itself
        assert _wait_ended(child, 30), f"child {child} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
        for pid in pids:
            if not _ended(pid):
                os.kill(pid, 9)


# -- finding 8: close() on a deep tree -------------------------------------


def test_close_removes_a_deep_tree_left_in_the_private_tmpdir(private_tmp):
    cls = extradite.extradite(LINGERER, sandbox=WRITABLE)
    tmpdir = private_tmp()
    try:
        # deeper than the recursion limit, its bottom chmod-ed away
        assert cls().deep_tree(tmpdir, 1100) == 1100
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cls.close()
        assert not os.path.exists(tmpdir)
    finally:
        cls.close()
        if os.path.exists(tmpdir):
            # what a failed cleanup left: pytest's own rmtree of tmp_path
            # would hit the same recursion limit
            subprocess.run(["chmod", "-R", "u+rwx", tmpdir], check=False)
            subprocess.run(["rm", "-rf", "--", tmpdir], check=False)


def test_cleanup_follows_no_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("the parent's")
    top = tmp_path / "top"
    top.mkdir()
    (top / "link").symlink_to(outside)
    (top / "filelink").symlink_to(outside / "keep")
    assert _sandbox.remove_tree(str(top)) == []
    assert not top.exists()
    assert (outside / "keep").read_text() == "the parent's"


def test_cleanup_warns_naming_what_it_could_not_remove(tmp_path, monkeypatch):
    top = tmp_path / "extradite-x"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "stuck").write_text("")
    (top / "gone").write_text("")
    real_unlink = os.unlink

    def unlink(name, *, dir_fd=None):
        if name == "stuck":
            raise PermissionError(1, "Operation not permitted")
        return real_unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(_sandbox.os, "unlink", unlink)
    prepared = _sandbox.Prepared("custom", {}, str(top))
    with pytest.warns(RuntimeWarning, match=r"could not remove.*stuck.*not permitted"):
        prepared.cleanup()  # a warning, not an exception
    assert not (top / "gone").exists()
    assert (top / "a" / "b" / "stuck").exists()


# -- finding 10: a forked process and the parent's sessions ----------------


def test_a_forked_process_exiting_leaves_the_parents_sessions_alone(private_tmp):
    private = extradite.extradite(LINGERER, sandbox=WRITABLE)
    tmpdir = private_tmp()
    shared = extradite.extradite(LINGERER, share_key="life-fork", sandbox=WRITABLE)
    try:
        obj = private()
        pid = os.fork()
        if pid == 0:
            # What a forked process does as it ends: drop everything, then
            # the interpreter's exit handlers (weakref.finalize's among them).
            code = 1
            try:
                del obj
                private.close()
                shared.close()
                gc.collect()
                atexit._run_exitfuncs()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert os.path.isdir(tmpdir), "the forked process removed the parent's temp dir"
        assert obj.deep_tree(tmpdir, 1, locked=False) == 1
        assert shared().ping() == "pong"
    finally:
        private.close()
        shared.close()
    assert not os.path.exists(tmpdir)


# -- finding 11: a slow prewarm ---------------------------------------------


def _prewarm_in_thread(key):
    """Prewarm `key` with the hanging target from a daemon thread; returns
    (thread, what it raised or returned) once its child is loading."""
    result = []

    def run():
        try:
            result.append(extradite.prewarm_extradite_session(key, preload=(SLOW,)))
        except BaseException as e:
            result.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entry = _sessions._shared.get(key)
        if entry is not None and entry.session is not None:
            break
        time.sleep(0.01)
    else:
        pytest.fail("the prewarmed child did not start in 30 s")
    time.sleep(0.2)  # into its import
    return thread, result


def test_a_hanging_prewarm_holds_up_only_its_own_key():
    thread, result = _prewarm_in_thread("life-slow")
    try:
        started = time.monotonic()
        other = extradite.extradite(LINGERER, share_key="life-other")
        try:
            assert other().ping() == "pong"
        finally:
            other.close()
        # the import sleeps 60 s
        assert time.monotonic() - started < 20, "another share_key waited for the prewarm"
    finally:
        started = time.monotonic()
        assert extradite.close_extradite_session("life-slow") is True
        assert time.monotonic() - started < 20, "close_extradite_session waited for the import"
        thread.join(20)
    assert not thread.is_alive()
    assert len(result) == 1 and isinstance(result[0], extradite.ExtraditeProtocolError)
    assert "closed" in str(result[0])
    assert "life-slow" not in _sessions._shared


def test_a_process_with_a_hanging_prewarm_can_exit():
    script = textwrap.dedent(f"""
        import sys, threading, time
        sys.path.insert(0, {HERE!r})
        import extradite
        from extradite import _sessions
        threading.Thread(
            target=extradite.prewarm_extradite_session, args=("slow",),
            kwargs={{"preload": ({SLOW!r},)}}, daemon=True).start()
        while _sessions._shared.get("slow") is None or _sessions._shared["slow"].session is None:
            time.sleep(0.01)
        print(_sessions._shared["slow"].session.pid, flush=True)
        time.sleep(0.2)
    """)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=45
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30, "the exit waited for the hanging import"
    assert gone(int(proc.stdout.split()[0]), timeout=10)


def test_closing_a_key_whose_child_is_still_starting(monkeypatch):
    """close_extradite_session while the child is being started (before
    start() returns): it returns at once, and the starter stops the child
    it gets and says why."""
    entered, proceed = threading.Event(), threading.Event()
    real_start = _sessions.start

    def slow_start(*args, **kwargs):
        entered.set()
        assert proceed.wait(30)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(_sessions, "start", slow_start)
    result = []

    def run():
        try:
            result.append(extradite.prewarm_extradite_session("life-starting"))
        except BaseException as e:
            result.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert entered.wait(30)
        started = time.monotonic()
        assert extradite.close_extradite_session("life-starting") is True
        assert time.monotonic() - started < 5
        assert "life-starting" not in _sessions._shared
    finally:
        proceed.set()
        thread.join(60)
    assert len(result) == 1 and isinstance(result[0], extradite.ExtraditeProtocolError)
    assert "while it started" in str(result[0])
    # the key works again afterwards
    assert extradite.prewarm_extradite_session("life-starting") is True
    assert extradite.close_extradite_session("life-starting") is True
