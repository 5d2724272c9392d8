"""What the child sends back that the codec cannot carry: handles under
every confined profile; pickles under `unconfined` (the original
extradite's behaviour), but never an object of the protected module."""

import collections
import sys

import pytest

import extradite
from extradite import extradite as xtd

MAKER = "xtd_targets.maker:Maker"


def test_confined_child_sends_handles_never_pickles():
    Maker = xtd(MAKER)
    try:
        ordered = Maker().ordered()
        assert isinstance(ordered, extradite._core.RemoteObject)
        assert ordered.get("b") == 2  # runs in the child
    finally:
        Maker.close()


def test_unconfined_child_sends_picklable_values_by_copy():
    Maker = xtd(MAKER, sandbox="unconfined")
    try:
        maker = Maker()
        ordered = maker.ordered()
        assert type(ordered) is collections.OrderedDict
        assert ordered == {"a": 1, "b": 2}
        # objects of the protected module still come back as handles ...
        assert isinstance(maker.thing(), extradite._core.RemoteObject)
        assert isinstance(maker.thing_class(), extradite._core.RemoteObject)
        assert maker.get_self() is maker
        assert "xtd_targets.maker" not in sys.modules
    finally:
        Maker.close()


def test_unconfined_value_holding_a_protected_object_is_refused():
    Maker = xtd(MAKER, sandbox="unconfined")
    try:
        maker = Maker()
        with pytest.raises(extradite.UnsupportedInteractionError, match="protected module"):
            maker.wrapped_thing()
        assert "xtd_targets.maker" not in sys.modules
        assert maker.ordered() == {"a": 1, "b": 2}  # the session goes on
    finally:
        Maker.close()


def test_unconfined_target_defined_in_another_module_comes_as_a_handle():
    # the class is re-exported from a module outside the target's package:
    # pickling it (or its instances) would import that module here
    Impl = xtd("xtd_targets.reexport:Impl", sandbox="unconfined")
    try:
        impl = Impl(5)
        assert impl.bump(2) == 7
        assert impl.bump() == 8
        assert "xtd_reexported_impl" not in sys.modules
    finally:
        Impl.close()
