"""Remote exceptions and bad input: clear errors, nothing left running."""

import sys
import types

import pytest

import extradite
from extradite import extradite as extradite_fn

from xtd_support import child_pids

TARGET = "xtd_targets.counter:Counter"


@pytest.fixture
def counter():
    cls = extradite_fn(TARGET)
    yield cls()
    cls.close()


def test_builtin_exception_keeps_its_type(counter):
    with pytest.raises(ValueError) as info:
        counter.fail_value("bad value")
    exc = info.value
    assert isinstance(exc, extradite.ExtraditeRemoteError)
    assert isinstance(exc, extradite.ExtraditeError)
    assert exc.remote_type_name == "ValueError"
    assert exc.remote_message == "bad value"
    assert "fail_value" in exc.remote_traceback
    assert "raise ValueError(message)" in exc.remote_traceback
    assert str(exc) == "bad value"


def test_message_is_shown_escaped_and_kept_raw(counter):
    # A control sequence in the child's text never reaches the terminal
    # raw (docs/remote-errors.md); newlines are kept, and the raw text is
    # on remote_message.
    with pytest.raises(ValueError) as info:
        counter.fail_value("bad\x1b[2J\nvalue\r")
    exc = info.value
    assert str(exc) == "bad\\x1b[2J\nvalue\\r"
    assert exc.args == ("bad\\x1b[2J\nvalue\\r",)
    assert exc.remote_message == "bad\x1b[2J\nvalue\r"
    assert all("\x1b" not in note for note in exc.__notes__)


def test_exception_args_are_kept(counter):
    with pytest.raises(KeyError) as info:
        counter.fail_key("missing")
    assert info.value.args == ("missing",)


def test_custom_exception_is_a_plain_remote_error(counter):
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        counter.fail_custom()
    exc = info.value
    assert type(exc) is extradite.ExtraditeRemoteError
    assert exc.remote_type_name == "xtd_targets.counter.CustomError"
    assert exc.remote_message == "custom failure"


def test_remote_system_exit_does_not_exit_the_parent(counter):
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        counter.fail_exit()
    assert not isinstance(info.value, SystemExit)
    assert info.value.remote_type_name == "SystemExit"
    assert counter.increment(1) == 1


def test_missing_attribute_is_attribute_error(counter):
    with pytest.raises(AttributeError):
        counter.no_such_attribute
    assert hasattr(counter, "no_such_attribute") is False
    assert hasattr(counter, "value") is True


@pytest.mark.parametrize(
    "target",
    ["no_colon", "a.b:", ":Cls", "a..b:C", "a.b:C:D", "1mod:C", "mod:C-D", ""],
)
def test_malformed_target_is_value_error(target):
    before = child_pids()
    with pytest.raises(ValueError, match=r"module\.path:ClassName"):
        extradite_fn(target)
    assert child_pids() == before


def test_non_string_target_is_type_error():
    with pytest.raises(TypeError, match=r"module\.path:ClassName"):
        extradite_fn(42)


def test_missing_module_names_it_and_leaves_no_child():
    with pytest.raises(ModuleNotFoundError, match="xtd_targets.nope") as info:
        extradite_fn("xtd_targets.nope:Thing")
    assert isinstance(info.value, extradite.ExtraditeRemoteError)


def test_missing_class_names_it_and_leaves_no_child():
    with pytest.raises(AttributeError, match="NoSuchClass"):
        extradite_fn("xtd_targets.counter:NoSuchClass")


def test_target_that_is_not_a_class():
    with pytest.raises(TypeError, match="not a class"):
        extradite_fn("xtd_targets.counter:NOT_CALLABLE")


def test_import_error_in_the_child_is_reported():
    with pytest.raises(RuntimeError, match="broken at import"):
        extradite_fn("xtd_targets.raise_on_import:Anything")


def test_child_dying_at_startup_reports_its_status():
    with pytest.raises(extradite.ExtraditeProtocolError, match="exited with status 3"):
        extradite_fn("xtd_targets.exit_on_import:Anything")


def test_child_dying_mid_call_fails_this_and_later_calls(counter):
    with pytest.raises(extradite.ExtraditeProtocolError, match="exited with status 5"):
        counter.die(5)
    with pytest.raises(extradite.ExtraditeProtocolError, match="dead"):
        counter.increment(1)


def test_already_imported_module_is_refused_before_any_child():
    before = child_pids()
    sys.modules["xtd_targets.counter"] = types.ModuleType("xtd_targets.counter")
    try:
        with pytest.raises(extradite.ExtraditeModuleLeakError, match="already loaded"):
            extradite_fn(TARGET)
        assert child_pids() == before
    finally:
        del sys.modules["xtd_targets.counter"]


def test_submodule_loaded_counts_as_the_tree():
    sys.modules["xtd_targets.counter.sub"] = types.ModuleType("xtd_targets.counter.sub")
    try:
        with pytest.raises(extradite.ExtraditeModuleLeakError):
            extradite_fn(TARGET)
    finally:
        del sys.modules["xtd_targets.counter.sub"]


def test_error_hierarchy():
    assert issubclass(extradite.ExtraditeProtocolError, extradite.ExtraditeError)
    assert issubclass(extradite.ExtraditeModuleLeakError, extradite.ExtraditeError)
    assert issubclass(extradite.UnsupportedInteractionError, extradite.ExtraditeError)
    assert issubclass(extradite.ExtraditeRemoteError, extradite.ExtraditeError)
    assert issubclass(extradite.ExtraditeSandboxViolation, extradite.ExtraditeError)
    assert issubclass(extradite.ExtraditeTimeoutError, extradite.ExtraditeError)
    assert issubclass(extradite.ExtraditeTimeoutError, TimeoutError)
    assert extradite.ExtraditeRemoteError.remote_type_name is None
