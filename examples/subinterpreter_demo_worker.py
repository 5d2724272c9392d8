"""What each subinterpreter of the subinterpreter demo runs.

Imported inside an isolated subinterpreter by
examples/subinterpreter_extradite_demo.py; main() takes the phase and its
parameters as JSON text and writes its result, also JSON, to a pipe the
main interpreter reads. Only str and int cross the interpreter boundary, so
the same code serves every subinterpreter API (3.12's and 3.13's low-level
modules, 3.14's concurrent.interpreters).
"""

import json
import os
import sys

TARGET_MODULE = "extradite.demo.native_dependency_workload"
TARGET = TARGET_MODULE + ":NativeDependencyWorkload"


def import_directly(params):
    """Phase 1: import the workload here and use it; readline refuses."""
    try:
        module = __import__(TARGET_MODULE, fromlist=["NativeDependencyWorkload"])
        workload = module.NativeDependencyWorkload(params["salt"], rounds=params["rounds"])
        checksum = workload.compute_checksum(
            params["label"], params["start"], params["count"]
        )
    except Exception as exc:  # the failure is the result
        return {"outcome": "refused", "error": f"{type(exc).__name__}: {exc}"}
    return {"outcome": "imported", "checksum": checksum}


def through_extradite(params):
    """Phase 2: the same workload, its module imported in an extradite child."""
    from extradite import extradite

    Workload = extradite(TARGET)
    try:
        workload = Workload(params["salt"], rounds=params["rounds"])
        result = {
            "outcome": "ran",
            "dependency": Workload.native_dependency_name(),
            "checksum": workload.compute_checksum(
                params["label"], params["start"], params["count"]
            ),
            "snapshot": workload.readline_history_snapshot(
                params["label"], params["start"], params["count"]
            ),
            "snapshots_taken": workload.snapshots_taken,
            "sandbox": _sandbox_summary(Workload.sandbox_report()),
            "child_pid": Workload.__extradite_session__.pid,
            "module_loaded_here": TARGET_MODULE in sys.modules,
            "readline_loaded_here": "readline" in sys.modules,
        }
        workload.close()
    finally:
        Workload.close()
    return result


def _sandbox_summary(report):
    confinement = [name for name in ("seccomp", "landlock") if report[name]["enabled"]]
    return {"profile": report["profile"], "confinement": confinement}


PHASES = {"direct": import_directly, "extradite": through_extradite}


def main(phase, params_json, result_fd):
    """Run one phase and write {"ok": result} or {"error": text} to result_fd
    (left open)."""
    try:
        reply = {"ok": PHASES[phase](json.loads(params_json))}
    except BaseException as exc:  # reported to the main interpreter, not lost
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    # The main interpreter owns the pipe and closes it; a reply is far
    # smaller than a pipe's buffer, so this write does not wait for a reader.
    with os.fdopen(result_fd, "w", encoding="utf-8", closefd=False) as out:
        json.dump(reply, out)
