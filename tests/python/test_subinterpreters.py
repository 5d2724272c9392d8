"""extradite from isolated subinterpreters (3.12+), the subinterpreter demo,
and the readline workload it uses.

Everything that creates subinterpreters runs in a fresh process: CPython
3.12/3.13 subinterpreters crash on some stdlib modules (see
extradite/_subinterpreter_datetime.py), and a crash must fail one test,
not end the whole run.
"""

import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

from extradite import ExtraditeRemoteError
from extradite import extradite as xtd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "examples", "subinterpreter_extradite_demo.py")
WORKLOAD_MODULE = "extradite.demo.native_dependency_workload"
WORKLOAD = WORKLOAD_MODULE + ":NativeDependencyWorkload"
REFUSAL = "module readline does not support loading in subinterpreters"

needs_subinterpreters = pytest.mark.skipif(
    sys.version_info < (3, 12),
    reason=f"Python {sys.version.split()[0]} has no isolated subinterpreters with "
    "their own GIL (3.12+)",
)
needs_readline = pytest.mark.skipif(
    importlib.util.find_spec("readline") is None,
    reason="this Python is built without the readline module",
)
# A hang guard, not a timing assertion: every run here takes a few seconds.
HANG_GUARD = 300


def run_python(args):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=HANG_GUARD
    )


# Runs CODE in N isolated subinterpreters at once (one thread each) and
# prints one line per subinterpreter: "ok" or the uncaught exception.
IN_SUBINTERPRETERS = textwrap.dedent(
    """
    import sys, threading
    try:
        import _interpreters as low
        create = lambda: low.create("isolated")
    except ImportError:
        import _xxsubinterpreters as low
        create = lambda: low.create(isolated=True)
    code, n = sys.argv[1], int(sys.argv[2])
    results = [None] * n

    def run(i):
        iid = create()
        try:
            failure = low.run_string(iid, code)
            results[i] = "ok" if failure is None else failure.formatted
        except Exception as exc:  # 3.12 raises RunFailedError
            results[i] = f"raised {exc}"
        finally:
            low.destroy(iid)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        print(r)
    """
)


def run_in_subinterpreters(code, n):
    """The lines printed for n subinterpreters running code at once."""
    proc = run_python(["-c", IN_SUBINTERPRETERS, textwrap.dedent(code), str(n)])
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.splitlines()


# ---- the demo -----------------------------------------------------------


@needs_subinterpreters
@needs_readline
def test_demo_shows_readline_refused_then_served_through_extradite():
    workers = 3
    proc = run_python([DEMO, "--workers", str(workers), "--rounds", "2000"])
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"

    phase1, phase2 = out.split("Phase 2:")
    # Phase 1: every subinterpreter reports readline's own refusal.
    assert phase1.count(REFUSAL) == workers
    assert f"readline refused in {workers} of {workers} subinterpreters" in phase1
    # Phase 2: one line per subinterpreter, each with its own child process.
    lines = re.findall(r"subinterpreter (\d+): checksum (\d+).*child pid (\d+)", phase2)
    assert sorted(int(i) for i, _, _ in lines) == list(range(workers))
    pids = {int(pid) for _, _, pid in lines}
    assert len(pids) == workers and os.getpid() not in pids
    assert f"{workers} of {workers} match the values computed in the main interpreter" in phase2
    assert "Both phases behaved as stated." in phase2


def test_demo_refuses_pythons_without_subinterpreters_clearly():
    if sys.version_info >= (3, 12):
        pytest.skip("this Python has subinterpreters; the refusal is for 3.11")
    proc = run_python([DEMO])
    assert proc.returncode == 2
    assert "Python 3.12 or later" in proc.stderr


# ---- extradite inside subinterpreters -------------------------------------


@needs_subinterpreters
@needs_readline
def test_subinterpreters_use_the_workload_concurrently_through_extradite():
    code = f"""
        import sys
        from extradite import extradite
        W = extradite({WORKLOAD!r})
        try:
            w = W("salt", rounds=10)
            for i in range(50):
                snap = w.readline_history_snapshot("x", i, 3)
                assert (snap["first_entry"], snap["last_entry"]) == (f"x:{{i}}", f"x:{{i + 2}}")
            assert w.snapshots_taken == 50
            assert {WORKLOAD_MODULE!r} not in sys.modules and "readline" not in sys.modules
        finally:
            W.close()
    """
    assert run_in_subinterpreters(code, 4) == ["ok"] * 4


@needs_subinterpreters
def test_core_loads_in_isolated_subinterpreters_with_its_own_classes():
    # Isolated subinterpreters refuse extensions that do not declare
    # per-interpreter support; each gets its own _core, and remote errors
    # arrive as that interpreter's classes.
    code = f"""
        import extradite
        from extradite import extradite as xtd
        W = xtd({WORKLOAD!r})
        try:
            try:
                W("salt", rounds=0)
            except ValueError as exc:
                assert isinstance(exc, extradite.ExtraditeRemoteError), type(exc).__mro__
                assert exc.remote_type_name == "ValueError"
            else:
                raise AssertionError("rounds=0 was accepted")
        finally:
            W.close()
    """
    assert run_in_subinterpreters(code, 3) == ["ok"] * 3


@needs_subinterpreters
def test_shared_child_with_keepalive_works_in_a_subinterpreter():
    # Isolated subinterpreters refuse daemon threads; the keep-alive timer
    # must not need one, nor hold up the subinterpreter's end (a regression
    # would keep it alive for the hour, and the hang guard would fail it).
    code = f"""
        from extradite import extradite
        W = extradite({WORKLOAD!r}, share_key="k", share_keepalive_seconds=3600)
        assert W("salt", rounds=10).derive_score("a", 1) >= 0
        W.close()
    """
    assert run_in_subinterpreters(code, 2) == ["ok"] * 2


@needs_subinterpreters
def test_datetime_stays_usable_in_subinterpreters_after_import_extradite():
    code = """
        import sys
        import extradite, datetime
        assert datetime.date(2024, 2, 29) + datetime.timedelta(days=1) == datetime.date(2024, 3, 1)
        if sys.version_info < (3, 14):
            assert sys.modules["_datetime"] is None, "the C extension must stay out"
    """
    assert run_in_subinterpreters(code, 4) == ["ok"] * 4


def test_datetime_guard_leaves_the_main_interpreter_alone():
    from extradite import _subinterpreter_datetime

    before = sys.modules.get("_datetime", "absent")
    _subinterpreter_datetime.apply()
    assert sys.modules.get("_datetime", "absent") is before


# ---- the workload itself, in the main interpreter -------------------------


@pytest.fixture
def forget_direct_import():
    """Drop the workload module after a test that imported it directly, so
    later tests may extradite it (extradite refuses a loaded module)."""
    yield
    sys.modules.pop(WORKLOAD_MODULE, None)


@needs_readline
def test_workload_through_extradite_equals_direct_use(forget_direct_import):
    jobs = [("salt-a", "a", 0, 5), ("salt-b", "b", 100, 3), ("salt-c", "c", 7, 0)]

    def run(Workload):
        results = []
        for salt, label, start, count in jobs:
            w = Workload(salt, rounds=500)
            results.append(
                (
                    Workload.native_dependency_name(),
                    w.derive_score(label, start),
                    w.compute_checksum(label, start, count),
                    w.readline_history_snapshot(label, start, count),
                    w.readline_history_snapshot(label, start + 1, count),
                    w.snapshots_taken,
                )
            )
        return results

    Remote = xtd(WORKLOAD)
    try:
        remote = run(Remote)
        assert WORKLOAD_MODULE not in sys.modules
    finally:
        Remote.close()

    from extradite.demo import native_dependency_workload as module

    direct = run(module.NativeDependencyWorkload)
    assert remote == direct

    # And the values are what the workload promises, not merely equal.
    name, score, checksum, snap, _, taken = direct[0]
    assert name == "readline" and taken == 2
    assert 0 <= score < module.MODULUS and 0 <= checksum < module.MODULUS
    assert snap["history_length"] == 5
    assert (snap["first_entry"], snap["last_entry"]) == ("a:0", "a:4")
    assert snap["completer_delims"] == module.SNAPSHOT_DELIMITERS
    assert snap["has_pipe_delimiter"] is True
    empty = direct[2][3]
    assert (empty["history_length"], empty["first_entry"], empty["last_entry"]) == (0, None, None)
    assert direct[0][3]["digest"] != direct[0][4]["digest"]


@needs_readline
def test_workload_restores_readline_state(forget_direct_import):
    import readline

    from extradite.demo.native_dependency_workload import NativeDependencyWorkload

    saved = readline.get_completer_delims()
    try:
        readline.set_completer_delims(" ;")
        readline.clear_history()
        NativeDependencyWorkload("s", rounds=1).readline_history_snapshot("x", 0, 4)
        assert readline.get_completer_delims() == " ;"
        assert readline.get_current_history_length() == 0
    finally:
        readline.set_completer_delims(saved)


@needs_readline
def test_workload_refuses_bad_arguments_remotely():
    Remote = xtd(WORKLOAD)
    try:
        with pytest.raises(ValueError) as info:
            Remote("s", rounds=0)
        assert isinstance(info.value, ExtraditeRemoteError)
        w = Remote("s", rounds=1)
        with pytest.raises(ValueError, match="item_count"):
            w.compute_checksum("a", 0, -1)
        with pytest.raises(TypeError, match="salt"):
            Remote(b"bytes")
    finally:
        Remote.close()
