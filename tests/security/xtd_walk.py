"""Run the capability walk for one profile, in a process of its own (the
walk calls whatever it reaches: a logger's handlers, a lock's methods), and
print a JSON report: for each catalogue object, the steps walked, the
handles the child held, and every handle the parent minted that it never
should have.

    python xtd_walk.py PROFILE MARKER_PATH TMP_DIR [MAX_STEPS]
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import extradite  # noqa: E402
from xtd_catalogue import catalogue, forbidden, names_of  # noqa: E402

TARGET = "extradite._selftest.hostile.walker:Walker"

# Anything that runs this in the parent leaves the marker behind.
AUDITED = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
           "os.fork", "os.kill", "os.remove", "os.unlink")


def main():
    profile, marker, tmp_dir = sys.argv[1:4]
    max_steps = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    payload = f"open({marker!r}, 'w').close() or 'ran'"
    audited = []

    def hook(event, args):
        if event in AUDITED or (event in ("compile", "exec") and payload in repr(args)[:4096]):
            audited.append(event)

    objects = catalogue(tmp_dir)
    passed = list(objects.values())
    Walker = extradite.extradite(TARGET, sandbox=profile, call_timeout=120)
    session = Walker.__extradite_session__
    walker = Walker()
    walker.set_names(names_of(passed))
    sys.addaudithook(hook)
    report = {}
    for name, obj in objects.items():
        steps, held, refusals = walker.walk(
            obj, payload, max_steps, __extradite_policy__="reference")
        bad = [f"{why}: {o!r}"[:200] for o in session._exported_objects()
               if (why := forbidden(o, passed))]
        report[name] = {"steps": steps, "held": held, "refusals": refusals, "bad": bad}
        walker.forget()
    report["_frame_walk"] = {
        name: walker.frame_walk(objects[name], payload, __extradite_policy__="reference")
        for name in ("enum_class", "generator", "generator_function", "coroutine_function",
                     "async_generator_function", "iter_by_generator")
    }
    report["_audited"] = audited
    report["_marker"] = os.path.exists(marker)
    report["_sandbox_report"] = Walker.sandbox_report().get("exposure")
    objects["open_file"].close()
    Walker.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
