"""A confined child gets exactly what the parent passed (DESIGN §1
"Capabilities", docs/security-model.md): it never obtains a handle to a
module, a frame, a code object, a generator, the interpreter's builtins,
os.* or subprocess.*, and never runs code in the parent — whatever ordinary
object it is handed and however it walks from there."""

import functools
import json
import logging
import os
import subprocess
import sys
import types
import weakref

import pytest

import extradite
from xtd_catalogue import (Color, IterByGenerator, Tools, async_generator_function,
                           module_level_function,
                           coroutine_function, generator_function)
from xtd_checks import CONFINED, granting

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = "extradite._selftest.hostile.walker:Walker"
# What we pass by value is unpickled in the child, which imports it from
# here: a folder of ours whose files are not granted, but this one.
CATALOGUE = os.path.join(HERE, "xtd_catalogue.py")


def payload(marker):
    return f"open({str(marker)!r}, 'w').close() or 'ran'"


# ---- finding 1: the generator-frame walk, one case per way in -----------

FRAME_WALK_CASES = {
    "enum_class": lambda: Color,
    "generator_argument": lambda: generator_function(),
    "generator_function_callback": lambda: generator_function,
    "async_def_callback": lambda: coroutine_function,
    "async_generator_function_callback": lambda: async_generator_function,
    "iter_is_a_generator": lambda: IterByGenerator(),
}


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("case", sorted(FRAME_WALK_CASES))
def test_no_frame_walk_to_the_parents_eval(spawn, tmp_path, profile, case):
    marker = tmp_path / "pwned"
    walker = spawn(TARGET, profile)()
    outcome = walker.frame_walk(FRAME_WALK_CASES[case](), payload(marker),
                                __extradite_policy__="reference")
    assert not marker.exists(), outcome
    assert outcome.startswith("refused"), outcome


@pytest.mark.parametrize("profile", CONFINED)
def test_a_refused_step_is_a_permission_error_counted_in_the_report(spawn, profile):
    Walker = spawn(TARGET, profile)
    walker = Walker()
    before = Walker.sandbox_report()["exposure"]["refused"]
    # gi_frame of a generator the parent iterates for the child
    outcome = walker.frame_walk(generator_function(), "1", __extradite_policy__="reference")
    assert "PermissionError" in outcome or "AttributeError" in outcome, outcome
    steps, held, refusals = walker.walk(Tools(), "1", 300, __extradite_policy__="reference")
    assert refusals > 0  # __self__, __dict__, ... of an instance
    steps, held, refusals = walker.walk(generator_function(), "1", 300,
                                        __extradite_policy__="reference")
    assert refusals > 0  # gi_frame, gi_code, ... of a generator
    report = Walker.sandbox_report()["exposure"]
    assert report["rule"] == "confined"
    assert report["refused"] > before


def test_unconfined_keeps_the_documented_reach(spawn):
    # Not a security boundary: dunders and __dict__ stay reachable there.
    Walker = spawn(TARGET, "unconfined")
    assert Walker.sandbox_report()["exposure"]["rule"] == "unconfined"
    # ... but, as it always was, never a module
    holder = types.SimpleNamespace(module=os)
    with pytest.raises(extradite.UnsupportedInteractionError, match="module"):
        Walker().read(holder, "module")


# ---- iteration still works, the parent iterating for the child ----------

@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("make, expected", [
    (lambda: generator_function(4), ["0", "1", "2", "3"]),
    (lambda: IterByGenerator(), ["'a'", "'b'"]),
    (lambda: iter({"k": 1}), ["'k'"]),
])
def test_the_child_still_iterates_what_it_was_given(spawn, profile, make, expected):
    walker = spawn(TARGET, profile)()
    assert walker.collect(make(), __extradite_policy__="reference") == expected


# Enum members travel by value (pickled), and unpickling them imports this
# test's module in the child: `strict` opens no file after the load.
@pytest.mark.parametrize("profile", ["default", "network"])
def test_the_child_still_iterates_an_enum_class(spawn, profile):
    walker = spawn(TARGET, granting(profile, CATALOGUE))()
    assert walker.collect(Color, __extradite_policy__="reference") == [
        "<Color.RED: 1>", "<Color.GREEN: 2>"]


@pytest.mark.parametrize("profile", CONFINED)
def test_the_child_still_calls_what_it_was_given(spawn, profile):
    walker = spawn(TARGET, granting(profile, CATALOGUE))()
    tools = Tools()
    assert walker.call(lambda a, b: a + b, 2, 3) == 5
    assert walker.call(tools.method, 7) == 7
    if profile != "strict":  # a Tools is pickled: strict imports nothing after the load
        assert walker.call(Tools.create) is not None
    # public members of an instance of an ordinary class
    assert walker.read(tools, "value", __extradite_policy__="reference") == 1
    assert walker.read(tools, "prop", __extradite_policy__="reference") == 1
    assert walker.call_member(tools, "method", 9, __extradite_policy__="reference") == 9


@pytest.mark.parametrize("profile", CONFINED)
def test_standard_library_objects_offer_no_methods_but_their_bound_methods_work(
        spawn, tmp_path, profile):
    victim = tmp_path / "victim"
    victim.write_text("the parent's file")
    walker = spawn(TARGET, profile)()
    # a Path passed by reference: its methods act on this process
    with pytest.raises(PermissionError, match="standard library"):
        walker.call_member(victim, "unlink", __extradite_policy__="reference")
    assert victim.exists()
    logger = logging.getLogger("extradite.test-capabilities")
    with pytest.raises(PermissionError):
        walker.call_member(logger, "info", "x", __extradite_policy__="reference")
    # what the parent hands over itself works
    seen = []
    logger.addHandler(handler := logging.Handler())
    handler.emit = seen.append
    try:
        walker.call(logger.warning, "from the child")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in seen] == ["from the child"]


@pytest.mark.parametrize("profile", CONFINED)
def test_methods_reached_on_standard_library_objects_are_refused(spawn, profile):
    class Holder:  # local: not picklable, so it goes by handle
        pass

    holder, items = Holder(), []
    holder.env_get = os.environ.get
    holder.write = sys.__stderr__.write  # (sys.stderr is pytest's own class here)
    # callable objects of stdlib types; unpicklable, so not sent as copies
    holder.system = functools.partial(os.system, lambda: "true")
    holder.ref = weakref.ref(Tools)
    holder.append = items.append
    holder.method = Tools().method
    walker = spawn(TARGET, profile)()
    for name in ("env_get", "write", "system", "ref"):
        with pytest.raises(PermissionError, match="standard library"):
            walker.read(holder, name, __extradite_policy__="reference")
        with pytest.raises(PermissionError, match="standard library"):
            walker.call_member(holder, name, "PATH", __extradite_policy__="reference")
    # methods of a container and of your own objects stay callable
    walker.call_member(holder, "append", 1, __extradite_policy__="reference")
    assert items == [1]
    assert walker.call_member(holder, "method", 3, __extradite_policy__="reference") == 3


@pytest.mark.parametrize("profile", CONFINED)
def test_a_refused_reply_leaves_no_handle_behind(spawn, profile):
    # The reply [a function, eval] fails at eval: the function's handle,
    # minted first, never reached the child and must not stay exported
    # (a child asking again and again would grow our table).
    class Holder:  # local: not picklable, so it goes by handle
        pass

    holder = Holder()
    holder.mixed = [module_level_function, eval]
    Walker = spawn(TARGET, profile)
    walker = Walker()
    for _ in range(3):
        with pytest.raises(PermissionError, match="built-in function"):
            walker.read(holder, "mixed", __extradite_policy__="reference")
    exported = Walker.__extradite_session__._exported_objects()
    assert not any(o is module_level_function for o in exported)


@pytest.mark.parametrize("profile", CONFINED)
def test_what_the_child_has_us_build_is_bounded(spawn, profile):
    walker = spawn(TARGET, profile)()
    items = [0] * 16
    assert walker.repeat(items, 4, __extradite_policy__="reference") == 64
    # 2**25 items (256 MiB of pointers) for a few bytes of request
    with pytest.raises(MemoryError, match="repeating a sequence"):
        walker.repeat(items, 1 << 21, __extradite_policy__="reference")
    # a range of a few bytes stands for the list it becomes (lst.extend(r))
    walker.call_with_range(items, "extend", 3, __extradite_policy__="reference")
    assert len(items) == 19
    with pytest.raises(extradite.ExtraditeProtocolError, match="reply budget exceeded"):
        walker.call_with_range(items, "extend", 1 << 27, __extradite_policy__="reference")
    assert len(items) == 19
    walker = spawn(TARGET, profile)()  # that child was killed
    # a bytearray's methods build what they are told (ba.zfill(2**30))
    with pytest.raises(PermissionError):
        walker.call_member(bytearray(b"x"), "zfill", 1 << 30,
                           __extradite_policy__="reference")


# ---- the breadth-first walk over a catalogue of ordinary objects --------

@pytest.mark.parametrize("profile", CONFINED)
def test_capability_walk_reaches_nothing_it_must_not(tmp_path, profile):
    marker = tmp_path / "pwned"
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "xtd_walk.py"), profile, str(marker),
         str(tmp_path), "5000"],
        capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not report["_marker"], "the child ran code in the parent"
    assert report["_audited"] == []
    for name, outcome in report["_frame_walk"].items():
        assert outcome.startswith("refused"), (name, outcome)
    kinds = {k: v for k, v in report.items() if not k.startswith("_")}
    assert len(kinds) >= 25
    bad = {k: v["bad"] for k, v in kinds.items() if v["bad"]}
    assert bad == {}
    # The walk did walk: every kind got steps, and it reached handles.
    assert all(v["steps"] > 0 for v in kinds.values())
    assert sum(v["held"] for v in kinds.values()) > len(kinds)
    assert report["_sandbox_report"]["refused"] > 0
