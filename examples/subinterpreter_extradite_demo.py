"""Subinterpreters cannot load readline; through extradite they can use it.

Python 3.12+ runs isolated subinterpreters, each with its own GIL, in one
process. Native extensions that keep process-wide state refuse to load
there; readline is one ("module readline does not support loading in
subinterpreters"). This demo runs NativeDependencyWorkload, whose module
imports readline, in several isolated subinterpreters at once, one thread
each:

  Phase 1  import the workload directly in each subinterpreter: refused.
  Phase 2  extradite it from each subinterpreter: the module is imported in
           a sandboxed child process, the subinterpreter gets a proxy class;
           every result is checked against the same workload run directly
           in the main interpreter.

Exit status 0 only when both phases behave as stated; 1 otherwise, 2 when
this Python has no isolated subinterpreters. Uses concurrent.interpreters
where present (3.14+), else the low-level _interpreters (3.13) or
_xxsubinterpreters (3.12) module.

    python3.13 examples/subinterpreter_extradite_demo.py [--workers N]
"""

import argparse
import json
import os
import sys
import threading
import time

EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
WORKER_MODULE = "subinterpreter_demo_worker"
REFUSAL = "does not support loading in subinterpreters"

sys.path.insert(0, EXAMPLES_DIR)
from subinterpreter_demo_worker import TARGET, TARGET_MODULE  # noqa: E402

# Run in each subinterpreter, with PHASE, PARAMS, RESULT_FD and SYS_PATH
# set in its __main__ (only str and int cross interpreters).
BOOT = f"""
import json, sys
sys.path[:] = json.loads(SYS_PATH)
import {WORKER_MODULE}
{WORKER_MODULE}.main(PHASE, PARAMS, RESULT_FD)
"""


class Subinterpreters:
    """Creates an isolated subinterpreter (own GIL), runs code in it, ends
    it: concurrent.interpreters (3.14+), or the low-level module of 3.13
    (_interpreters) or 3.12 (_xxsubinterpreters)."""

    def __init__(self):
        try:
            from concurrent import interpreters
        except ImportError:
            interpreters = None
        try:
            import _interpreters as low
        except ImportError:
            import _xxsubinterpreters as low  # 3.12
        self._high = interpreters
        self._low = low
        self.api = "concurrent.interpreters" if interpreters else low.__name__
        # 3.13+ can show an interpreter's configuration; 3.12's
        # create(isolated=True) gives it its own GIL, with nothing to read back.
        self._get_config = getattr(low, "get_config", None)

    def describe(self):
        if self._get_config is None:
            return "isolated (create(isolated=True): own GIL)"
        return "isolated, own GIL (checked on each)"

    def _check_own_gil(self, iid):
        if self._get_config is not None and self._get_config(iid).gil != "own":
            raise RuntimeError(f"subinterpreter {iid} shares the main GIL")

    def run(self, code, variables):
        """Run code in a new isolated subinterpreter with variables in its
        __main__; None, or the text of an uncaught exception."""
        if self._high is not None:
            interp = self._high.create()
            try:
                self._check_own_gil(interp.id)
                interp.prepare_main(variables)
                interp.exec(code)
            except self._high.ExecutionFailed as exc:
                return str(exc)
            finally:
                interp.close()
            return None
        low = self._low
        if self.api == "_xxsubinterpreters":  # 3.12
            iid = low.create(isolated=True)
        else:
            iid = low.create("isolated")
        run_failed = getattr(low, "RunFailedError", ())  # 3.12 raises it
        try:
            self._check_own_gil(iid)
            failure = low.run_string(iid, code, variables)  # 3.13 returns it
        except run_failed as exc:
            return str(exc)
        finally:
            low.destroy(iid)
        return None if failure is None else failure.formatted


def run_phase(subinterpreters, phase, jobs):
    """Each job in its own thread and isolated subinterpreter, all at once.
    Returns one (result, error) pair per job."""
    outcomes = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def work(i, params):
        read_end, write_end = os.pipe()
        try:
            start.wait()
            variables = {
                "PHASE": phase,
                "PARAMS": json.dumps(params),
                "RESULT_FD": write_end,  # written to, left open
                "SYS_PATH": json.dumps([p for p in sys.path if isinstance(p, str)]),
            }
            failure = subinterpreters.run(BOOT, variables)
            os.close(write_end)  # the reader then sees EOF, whatever happened
            write_end = None
            with os.fdopen(read_end, encoding="utf-8") as pipe:
                read_end = None
                text = pipe.read()
            if failure is not None:
                outcomes[i] = (None, failure)
            elif not text:
                outcomes[i] = (None, "the subinterpreter wrote no result")
            else:
                reply = json.loads(text)
                outcomes[i] = (reply.get("ok"), reply.get("error"))
        except Exception as exc:
            outcomes[i] = (None, f"{type(exc).__name__}: {exc}")
        finally:
            for fd in (read_end, write_end):
                if fd is not None:
                    os.close(fd)

    threads = [threading.Thread(target=work, args=(i, p)) for i, p in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def jobs_for(workers, items, rounds):
    """Different parameters per worker, so no two results coincide."""
    return [
        {
            "salt": f"salt-{w}",
            "label": f"w{w}",
            "start": w * items,
            "count": items,
            "rounds": rounds,
        }
        for w in range(workers)
    ]


def expected_in_main(jobs):
    """The workload run directly here, in the main interpreter, where
    readline loads: the values every extradited result must equal."""
    from extradite.demo.native_dependency_workload import NativeDependencyWorkload

    expected = []
    for job in jobs:
        workload = NativeDependencyWorkload(job["salt"], rounds=job["rounds"])
        expected.append(
            {
                "dependency": NativeDependencyWorkload.native_dependency_name(),
                "checksum": workload.compute_checksum(job["label"], job["start"], job["count"]),
                "snapshot": workload.readline_history_snapshot(
                    job["label"], job["start"], job["count"]
                ),
                "snapshots_taken": workload.snapshots_taken,
            }
        )
    return expected


def phase_one(subinterpreters, jobs):
    print("Phase 1: import the workload directly in each subinterpreter")
    refused = 0
    for i, (result, error) in enumerate(run_phase(subinterpreters, "direct", jobs)):
        if error is not None:
            print(f"  subinterpreter {i}: the demo itself failed: {error}")
        elif result["outcome"] == "refused":
            as_stated = REFUSAL in result["error"] and "readline" in result["error"]
            refused += as_stated
            note = "" if as_stated else "  (not the readline refusal!)"
            print(f"  subinterpreter {i}: {result['error']}{note}")
        else:
            print(f"  subinterpreter {i}: imported, checksum {result['checksum']} (unexpected)")
    ok = refused == len(jobs)
    print(f"  -> readline refused in {refused} of {len(jobs)} subinterpreters"
          + ("" if ok else "; expected all"))
    return ok


def phase_two(subinterpreters, jobs, expected):
    print(f"Phase 2: the same workload through extradite, {len(jobs)} subinterpreters at once")
    began = time.perf_counter()
    outcomes = run_phase(subinterpreters, "extradite", jobs)
    elapsed = time.perf_counter() - began
    matched = 0
    for i, ((result, error), want) in enumerate(zip(outcomes, expected)):
        if error is not None:
            print(f"  subinterpreter {i}: failed: {error}")
            continue
        got = {key: result[key] for key in want}
        mismatched = [key for key in want if got[key] != want[key]]
        leaked = [
            name
            for name, key in ((TARGET_MODULE, "module_loaded_here"),
                              ("readline", "readline_loaded_here"))
            if result[key]
        ]
        snap = result["snapshot"]
        print(
            f"  subinterpreter {i}: checksum {result['checksum']}, history "
            f"{snap['first_entry']!r}..{snap['last_entry']!r} ({snap['history_length']}), "
            f"delimiters {snap['completer_delims']!r}, child pid {result['child_pid']} "
            f"({result['sandbox']['profile']}: "
            f"{'+'.join(result['sandbox']['confinement']) or 'unconfined'})"
        )
        if mismatched:
            for key in mismatched:
                print(f"    {key}: got {got[key]!r}, main interpreter computed {want[key]!r}")
        elif leaked:
            print(f"    loaded in the subinterpreter after all: {', '.join(leaked)}")
        else:
            matched += 1
    pids = {result["child_pid"] for result, error in outcomes if error is None}
    separate = len(pids) == len(jobs) and os.getpid() not in pids
    ok = matched == len(jobs) and separate
    print(f"  -> {matched} of {len(jobs)} match the values computed in the main interpreter"
          f" ({elapsed:.2f} s for the phase)")
    if not separate:
        print(f"  -> expected {len(jobs)} distinct child processes, got pids {sorted(pids)}")
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="subinterpreters (default 4)")
    parser.add_argument("--items", type=int, default=6,
                        help="history entries and scores per worker (default 6)")
    parser.add_argument("--rounds", type=int, default=10_000, help="PBKDF2 rounds per score (default 10000)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.items < 1 or args.rounds < 1:
        parser.error("--workers, --items and --rounds must be >= 1")

    if sys.version_info < (3, 12):
        print(f"Python {sys.version.split()[0]} has no isolated subinterpreters with their "
              "own GIL; run this demo with Python 3.12 or later.", file=sys.stderr)
        return 2
    subinterpreters = Subinterpreters()
    print(f"Python {sys.version.split()[0]}, {subinterpreters.api}: {args.workers} "
          f"subinterpreters, {subinterpreters.describe()}, one thread each")
    print(f"workload: {TARGET}")
    print()
    jobs = jobs_for(args.workers, args.items, args.rounds)
    # First, and in the main interpreter, which also loads hashlib here
    # before any subinterpreter does: CPython 3.12's _hashlib corrupts the
    # heap when a subinterpreter is the first to use it (3.13 does not).
    expected = expected_in_main(jobs)
    first = phase_one(subinterpreters, jobs)
    print()
    second = phase_two(subinterpreters, jobs, expected)
    print()
    if first and second:
        print("Both phases behaved as stated.")
        return 0
    print("The demo did NOT behave as stated (see above).")
    return 1


if __name__ == "__main__":
    sys.exit(main())
