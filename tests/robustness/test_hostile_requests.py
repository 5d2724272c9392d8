"""A child's requests to the parent (callbacks) may only target objects the
parent gave it. A request on a value the child sent itself ("text".upper(),
3 + 4, "x" * 2**27) would make the parent compute, and allocate, whatever
the child likes, past every cap on what it may send."""

import pytest

from xtd_faults import next_request_id, spawn
from xtd_wire import (
    ERROR,
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
