"""The parent never unpickles what a confined child sends: an object whose
__reduce__ would run a command comes back as a handle and the command never
runs; an error's type never makes the parent import a module."""

import shlex
import sys

import pytest

import extradite
from extradite import _core
from xtd_checks import CONFINED

TARGET = "extradite._selftest.hostile.smuggle:Smuggler"


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def command(marker):
    return f"touch {shlex.quote(str(marker))}"


@pytest.mark.parametrize("profile", CONFINED)
def test_reduce_object_comes_back_as_a_handle(spawn, marker, profile):
    smuggler = spawn(TARGET, profile)(command(marker))
    result = smuggler.evil()
    assert isinstance(result, _core.RemoteObject)
    assert not marker.exists()
    # it is a live handle into the child, not a copy
    assert result.command == command(marker)
    assert not marker.exists()


def test_reduce_object_inside_a_container(spawn, marker):
    smuggler = spawn(TARGET)(command(marker))
    result = smuggler.evil_in_container()
    assert set(result) == {"payload", "n"}
    assert isinstance(result["payload"][0], _core.RemoteObject)
    assert not marker.exists()


@pytest.mark.parametrize("method, value", [("evil_int", 7), ("evil_str", "seven")])
def test_builtin_subclass_with_reduce(spawn, marker, method, value):
    # a subclass of a copyable type: either copied as the plain value or a handle
    result = getattr(spawn(TARGET)(command(marker)), method)()
    assert not marker.exists()
    if isinstance(result, _core.RemoteObject):
        assert not marker.exists()
    else:
        assert type(result) is type(value) and result == value


def test_reduce_object_as_an_exception_argument(spawn, marker):
    smuggler = spawn(TARGET)(command(marker))
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        smuggler.raise_evil()
    assert type(info.value) is extradite.ExtraditeRemoteError
    assert info.value.remote_type_name.endswith("EvilError")
    assert not marker.exists()


def test_error_type_names_a_module_the_parent_does_not_import(spawn):
    smuggler = spawn(TARGET)("true")
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        smuggler.raise_bait()
    assert type(info.value) is extradite.ExtraditeRemoteError
    assert "bait" in info.value.remote_type_name
    assert "extradite._selftest.hostile.bait" not in sys.modules
