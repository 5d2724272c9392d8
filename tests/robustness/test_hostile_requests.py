"""A child's requests to the parent (callbacks) may only target objects the
parent gave it. A request on a value the child sent itself ("text".upper(),
3 + 4, "x" * 2**27) would make the parent compute, and allocate, whatever
the child likes, past every cap on what it may send."""

import os

import pytest

from xtd_faults import next_request_id, spawn
from xtd_wire import (
    OP_BATCH,
    ERROR,
    Backref,
    OP_CALL,
    OP_CALL_METHOD,
    OP_DUNDER,
    OP_GETATTR,
    encode,
)


@pytest.mark.parametrize(
    "op, forged",
    [
        (OP_GETATTR, ("text", "upper")),
        (OP_CALL_METHOD, ("text", "upper", (), {})),
        (OP_CALL_METHOD, ("x", "center", (1 << 27,), {})),
        (OP_DUNDER, (3, "add", (4,))),
        (OP_DUNDER, ("x", "mul", (1 << 27,))),
        (OP_DUNDER, ([1, 2], "len", ())),
        (OP_CALL, ((1, 2), (), {})),
    ],
    ids=["getattr", "call_method", "center-128MiB", "add", "mul-128MiB", "len", "call"],
)
def test_a_request_on_the_childs_own_value_is_refused(op, forged, monkeypatch):
    # the worker reads the parent's answer from the socket itself: the
    # parent must not send it in the frame ring (frame.h, "rings")
    monkeypatch.setenv("EXTRADITE_RINGS", "0")
    cls, worker, _ = spawn()
    assert not cls.__extradite_session__.rings
    try:
        assert worker.forge_callback(op, encode(forged), next_request_id(cls)) == ERROR
        # and the session goes on
        assert worker.echo(5) == 5
    finally:
        cls.close()


# The first object a session exports: slot 0, generation 1 (exports.h).
FIRST_EXPORT = Backref((1 << 32) | 1)


@pytest.mark.parametrize("op", ["call_method", "batch"])
def test_a_method_found_by_name_is_judged_as_if_handed_out(op, tmp_path, monkeypatch):
    # obj.runner = os.system: the child never gets a handle to it (a
    # built-in function it reached), and must not call it by name either
    # (docs/security-model.md)
    monkeypatch.setenv("EXTRADITE_RINGS", "0")
    marker = tmp_path / "pwned"
    command = f"touch {marker}"

    class Holder:  # local: not picklable, so it goes by handle
        runner = staticmethod(os.system)

    forged = ((FIRST_EXPORT, "runner", (command,), {}) if op == "call_method"
              else (FIRST_EXPORT, "runner", [((command,), {})]))
    cls, worker, _ = spawn()
    try:
        opcode = OP_CALL_METHOD if op == "call_method" else OP_BATCH
        assert worker.forge_holding(Holder(), opcode, encode(forged),
                                    next_request_id(cls)) == ERROR
        assert not marker.exists()
        assert worker.echo(5) == 5
    finally:
        cls.close()
