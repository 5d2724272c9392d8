"""Transport policies: value vs reference, type rules, per-call override,
and the introspection of what would happen."""

import types

import pytest

from extradite import close_extradite_session
from extradite import extradite as xtd
from xtd_support import child_pids

CALLER = "xtd_targets.callbacks:Caller"


class Base:
    pass


class Sub(Base):
    pass


def make(**kwargs):
    return xtd(CALLER, **kwargs)


def test_value_policy_copies():
    Caller = make()
    try:
        caller = Caller()
        data = [1, 2]
        back = caller.call(lambda x: x, data)  # travels there and back
        assert back == data
        caller.call_method(data, "append", 3)  # appends to the child's copy
        assert data == [1, 2]
    finally:
        Caller.close()


def test_reference_policy_passes_handles():
    Caller = make(transport_policy="reference")
    try:
        caller = Caller()
        data = [1, 2]
        ns = types.SimpleNamespace(x=1)
        caller.keep(data)
        assert caller.kept_is(data)
        caller.call_method(data, "append", 3)  # runs on our list
        assert data == [1, 2, 3]
        caller.set_attr(ns, "x", 7)
        assert ns.x == 7
        # scalars still travel by value
        assert caller.call(lambda v: v, 5) == 5
        assert caller.call(lambda v: v, "s") == "s"
    finally:
        Caller.close()


def test_type_rules_apply_to_nested_values():
    Caller = make(transport_type_rules={list: "reference"})
    try:
        caller = Caller()
        inner = [1]
        outer = {"k": inner}
        caller.keep(outer)
        assert not caller.kept_is(outer)  # the dict was copied ...
        caller.keep(inner)
        assert caller.kept_is(inner)  # ... the list went by reference
    finally:
        Caller.close()


def test_nearest_class_in_the_mro_wins():
    Caller = make(transport_type_rules={Base: "reference", Sub: "value", object: "value"})
    try:
        assert Caller.get_effective_policy(Base()) == "reference"
        assert Caller.get_effective_policy(Sub()) == "value"
        trace = Caller.get_effective_policy_trace(Sub())
        assert trace == {
            "effective_policy": "value",
            "source": "type_rule",
            "matched_type": "Sub",
        }
        assert Caller.get_effective_policy_trace(3)["matched_type"] == "object"
    finally:
        Caller.close()


def test_policy_introspection_on_class_and_instance():
    Caller = make(transport_policy="reference")
    try:
        caller = Caller()
        for owner in (Caller, caller):
            assert owner.get_effective_policy([1]) == "reference"
            assert owner.get_effective_policy_trace([1]) == {
                "effective_policy": "reference",
                "source": "session_default",
                "matched_type": None,
            }
            assert owner.get_effective_policy([1], call_policy="value") == "value"
            assert owner.get_effective_policy_trace([1], "value")["source"] == "call_override"
        with pytest.raises(ValueError, match="call_policy"):
            Caller.get_effective_policy([1], call_policy="copy")
    finally:
        Caller.close()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"transport_policy": "copy"}, ValueError, "transport_policy"),
        ({"transport_policy": None}, ValueError, "transport_policy"),
        ({"transport_type_rules": {"list": "value"}}, ValueError, "must be types"),
        ({"transport_type_rules": {list: "deep"}}, ValueError, "transport_type_rules"),
        ({"transport_type_rules": [(list, "value")]}, TypeError, "dict"),
    ],
)
def test_invalid_policies_fail_fast(kwargs, error, match):
    before = child_pids()
    with pytest.raises(error, match=match):
        make(**kwargs)
    assert child_pids() == before


def test_share_key_needs_the_same_policy_and_rules():
    first = make(share_key="k-transport", transport_type_rules={list: "value", dict: "reference"})
    try:
        with pytest.raises(ValueError, match="transport_policy"):
            make(share_key="k-transport", transport_policy="reference",
                 transport_type_rules={list: "value", dict: "reference"})
        with pytest.raises(ValueError, match="transport_type_rules"):
            make(share_key="k-transport", transport_type_rules={dict: "reference", list: "value"})
        same = make(share_key="k-transport", transport_type_rules={list: "value", dict: "reference"})
        same.close()
    finally:
        first.close()
        close_extradite_session("k-transport")


def test_per_call_policy_overrides_rules_and_default():
    Caller = make(transport_type_rules={list: "value"})
    try:
        caller = Caller()
        data = [1]
        caller.keep(data, __extradite_policy__="reference")
        assert caller.kept_is(data, __extradite_policy__="reference")
        assert not caller.kept_is(data)  # the rule (value) applies again
        caller.call_method(data, "append", 2, __extradite_policy__="reference")
        assert data == [1, 2]
        with pytest.raises(ValueError, match="__extradite_policy__"):
            caller.keep(data, __extradite_policy__="copy")
    finally:
        Caller.close()


def test_value_policy_under_reference_default_for_one_call():
    Caller = make(transport_policy="reference")
    try:
        caller = Caller()
        data = [1]
        caller.keep(data, __extradite_policy__="value")
        assert not caller.kept_is(data)
    finally:
        Caller.close()


def test_batch_call_policy_decides_the_transport():
    Caller = make()
    try:
        caller = Caller()
        data = [1]
        caller.keep.batch([([data], {})], call_policy="reference")
        assert caller.kept_is(data, __extradite_policy__="reference")
        caller.keep.batch([([data], {})])
        assert not caller.kept_is(data, __extradite_policy__="reference")
    finally:
        Caller.close()


def test_function_targets_answer_policy_questions():
    func = xtd("xtd_targets.funcs:add", transport_type_rules={list: "reference"})
    try:
        assert func.get_effective_policy([1]) == "reference"
        assert func.get_effective_policy_trace({})["source"] == "session_default"
    finally:
        func.close()
