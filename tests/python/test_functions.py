"""Function targets: extradite("pkg.mod:func") returns a callable proxy
whose calls run the function in the child."""

import gc
import os
import sys
import types

import pytest

import extradite
from extradite import extradite as xtd
from xtd_support import child_pids

MOD = "xtd_targets.funcs"


@pytest.fixture
def load():
    loaded = []

    def load(name, share_key=None, **options):
        function = xtd(f"{MOD}:{name}", share_key, **options)
        loaded.append(function)
        return function

    yield load
    for function in loaded:
        function.close()


def test_call_runs_in_the_child(load):
    add = load("add")
    assert callable(add)
    assert add(2, 3) == 5
    assert add(2, b=40) == 42
    assert add("a", "b") == "ab"
    pid = load("pid")
    assert pid() != os.getpid()
    assert pid() == pid.__extradite_session__.pid


def test_one_round_trip_per_call(load):
    add = load("add")
    session = add.__extradite_session__
    before = session.requests
    add(1, 2)
    assert session.requests == before + 1
    add.__name__, add.__doc__, repr(add)  # all local
    assert session.requests == before + 1


def test_metadata_of_the_remote_function(load):
    add = load("add")
    assert add.__name__ == "add"
    assert add.__qualname__ == "add"
    assert add.__doc__ == "Add two numbers (remote)."
    assert add.__module__ == "extradite"  # never the module kept out of here
    assert add.__extradite_target__ == "xtd_targets.funcs:add"
    assert "add" in repr(add)
    nested = load("Namespace.helper")
    assert nested.__name__ == "helper"
    assert nested.__qualname__ == "Namespace.helper"
    assert nested(5) == ("helper", 5)
    assert load("calls").__doc__ is None


def test_callable_instances_and_wrapped_functions(load):
    triple = load("triple")
    assert triple(4) == 12
    cached = load("cached_square")
    assert cached(9) == 81
    assert cached(9) == 81
    # Attributes the proxy does not have are the remote function's.
    info = cached.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert load("labelled").label == "a function attribute"
    with pytest.raises(AttributeError):
        load("add").no_such_attribute
    with pytest.raises(AttributeError):
        load("add").__no_such_dunder__


def test_remote_errors_and_handles(load):
    fail = load("fail")
    with pytest.raises(KeyError) as info:
        fail("missing")
    assert isinstance(info.value, extradite.ExtraditeRemoteError)
    assert info.value.remote_type_name == "KeyError"
    with pytest.raises(TypeError):
        load("add")()
    box = load("make_box")("tag")
    assert isinstance(box, extradite._core.RemoteObject)
    assert box.tag == "tag"
    assert len(box) == 3
    identity = load("identity", share_key="functions-handles")
    maker = load("make_box", share_key="functions-handles")
    made = maker("x")
    assert identity(made) is made
    assert list(load("countdown")(3)) == [3, 2, 1]


def test_batch(load):
    record, calls = load("record", "functions-batch"), load("calls", "functions-batch")
    session = record.__extradite_session__
    before = session.requests
    assert record.batch([(["a"], {}), ([], {"value": "b"}), (("c",), {})]) == [1, 2, 3]
    assert session.requests == before + 1
    with pytest.raises(ValueError, match="cannot record None"):
        record.batch([(["d"], {}), ([None], {}), (["e"], {})])
    assert calls() == ["a", "b", "c", "d"]  # "e" never ran
    assert record.batch([]) == []
    with pytest.raises(TypeError, match="call 1"):
        record.batch([5])
    with pytest.raises(ValueError, match="call_policy"):
        record.batch([(["f"], {})], call_policy="copy")
    assert record.batch([(["f"], {})], call_policy="value") == [5]


def test_transport_policy_applies_as_to_method_calls(load):
    by_reference = load("append_to", transport_policy="reference")
    data = [1]
    assert by_reference(data, 2) == 2
    assert data == [1, 2]  # the child appended to our list, through a handle
    assert by_reference.batch([([data, 3], {}), ([data], {"item": 4})]) == [3, 4]
    assert data == [1, 2, 3, 4]
    by_value = load("append_to")
    assert by_value(data, 5) == 5
    assert data == [1, 2, 3, 4]  # a copy was changed
    assert by_reference(data, 5, __extradite_policy__="value") == 5
    assert data == [1, 2, 3, 4]


def test_sandbox_report(load):
    add = load("add", sandbox="strict")
    report = add.sandbox_report()
    assert report["profile"] == "strict"
    assert report["seccomp"]["enabled"] is True
    report["profile"] = "changed"  # a copy
    assert add.sandbox_report()["profile"] == "strict"


def test_close_stops_the_child_and_is_idempotent():
    add = xtd(f"{MOD}:add")
    pid = add.__extradite_session__.pid
    assert pid in child_pids()
    add.close()
    assert pid not in child_pids()
    add.close()
    assert "closed" in repr(add)
    with pytest.raises(extradite.ExtraditeProtocolError, match="closed"):
        add(1, 2)
    with pytest.raises(extradite.ExtraditeProtocolError, match="closed"):
        add.batch([([1], {})])
    with pytest.raises(extradite.ExtraditeProtocolError):
        add.some_attribute


def test_dropping_the_proxy_stops_the_child():
    add = xtd(f"{MOD}:add")
    pid = add.__extradite_session__.pid
    assert add(1) == 1
    del add
    gc.collect()
    assert pid not in child_pids()


def test_share_key_with_functions_and_classes():
    record = xtd(f"{MOD}:record", "functions-shared")
    calls = xtd(f"{MOD}:calls", "functions-shared")
    Box = xtd(f"{MOD}:Box", "functions-shared")
    pid = record.__extradite_session__.pid
    try:
        assert calls.__extradite_session__ is record.__extradite_session__
        assert Box.__extradite_session__ is record.__extradite_session__
        record("x")
        assert calls() == ["x"]  # one module state: one child
        assert len(Box("abcd")) == 4
        record.close()  # gives back this hold only
        assert calls() == ["x"]
        with pytest.raises(extradite.ExtraditeProtocolError, match="closed"):
            record("y")
        Box.close()
        assert pid in child_pids()
    finally:
        calls.close()
    assert pid not in child_pids()


def test_close_extradite_session_ends_function_proxies():
    add = xtd(f"{MOD}:add", "functions-closed")
    try:
        assert extradite.close_extradite_session("functions-closed") is True
        with pytest.raises(extradite.ExtraditeProtocolError):
            add(1, 2)
    finally:
        add.close()


def test_target_errors_are_those_of_classes():
    before = child_pids()
    with pytest.raises(ValueError, match="not of the form"):
        xtd("xtd_targets.funcs")
    with pytest.raises(AttributeError, match="no_such_function"):
        xtd(f"{MOD}:no_such_function")
    with pytest.raises(TypeError, match="not a class or function"):
        xtd(f"{MOD}:NOT_CALLABLE")
    with pytest.raises(ModuleNotFoundError):
        xtd("xtd_targets.no_such_module:func")
    gc.collect()
    assert child_pids() == before


def test_already_imported_module_is_refused():
    sys.modules[MOD] = types.ModuleType(MOD)
    try:
        with pytest.raises(extradite.ExtraditeModuleLeakError):
            xtd(f"{MOD}:add")
    finally:
        del sys.modules[MOD]


def test_proxies_of_another_session_are_refused(load):
    identity = load("identity")
    box = load("make_box")("elsewhere")
    with pytest.raises(extradite.UnsupportedInteractionError):
        identity(box)
    with pytest.raises(extradite.UnsupportedInteractionError):
        identity(value=box)
    with pytest.raises(extradite.UnsupportedInteractionError):
        identity.batch([([box], {})])


def test_not_constructible_by_hand():
    with pytest.raises(TypeError):
        extradite._core.RemoteFunction("not a session", 1, lambda: None)
