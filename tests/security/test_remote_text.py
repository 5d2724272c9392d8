"""Escape sequences the child chooses never reach the terminal: an error's
text and notes, a remote object's repr and the class metadata the parent
shows are escaped (escape.h); the raw text stays on remote_message,
remote_traceback and remote_type_name (docs/remote-errors.md)."""

import traceback

import pytest

import extradite
from extradite import _core
from xtd_checks import CONFINED

HOSTILE = "extradite._selftest.hostile.remote_text"
TARGET = f"{HOSTILE}:Reporter"
# The hostile module's ESCAPES (the parent never imports that module).
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b31m\u202eevil\x1b\\"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def assert_escaped(text):
    assert not any(c in text for c in RAW), repr(text)


def shown(exc):
    """What Python prints for the exception when nobody catches it."""
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def reporter(spawn):
    return spawn(TARGET)()


@pytest.mark.parametrize("profile", CONFINED)
def test_error_text_and_notes_are_escaped(spawn, profile):
    reporter = spawn(TARGET, profile)()
    with pytest.raises(ValueError) as info:
        reporter.raise_escapes()
    exc = info.value
    assert_escaped(str(exc))
    assert_escaped(repr(exc))
    for note in exc.__notes__:
        assert_escaped(note)
    assert_escaped(shown(exc))
    assert "\\x1b]52;c;" in str(exc)  # escaped, still readable
    # The raw text is kept where code asks for it.
    assert exc.remote_message == "message " + ESCAPES
    assert "note " + ESCAPES in exc.remote_traceback


def test_type_name_is_escaped(reporter):
    with pytest.raises(extradite.ExtraditeRemoteError) as info:
        reporter.raise_escape_type()
    exc = info.value
    assert_escaped(shown(exc))
    assert exc.remote_type_name == f"{HOSTILE}.Escape{ESCAPES}"


def test_a_childs_protocol_error_text_is_escaped(reporter):
    with pytest.raises(extradite.ExtraditeProtocolError) as info:
        reporter.raise_protocol_escapes()
    assert_escaped(shown(info.value))
    assert "protocol" in str(info.value)


def test_repr_of_a_remote_object_is_escaped(reporter):
    obj = reporter.escaping()
    assert isinstance(obj, _core.RemoteObject)
    assert_escaped(repr(obj))
    assert repr(obj).startswith("<escaping \\x1b[2J")


def test_class_metadata_is_escaped(spawn):
    cls = spawn(f"{HOSTILE}:Escaped")
    for text in (cls.__name__, cls.__qualname__, cls.__doc__, repr(cls)):
        assert_escaped(text)
    assert cls.__name__.startswith("Escaped\\x1b[2J")
    assert not [name for name in vars(cls) if any(c in name for c in RAW)]
    obj = cls()
    assert_escaped(repr(obj))
    assert obj.ping() == "pong"


def test_function_metadata_is_escaped(spawn):
    fn = spawn(f"{HOSTILE}:escaped_function")
    for text in (fn.__name__, fn.__qualname__, fn.__doc__, repr(fn)):
        assert_escaped(text)
    assert fn() == "called"


def test_escape_text():
    esc = _core.escape_text
    assert esc("plain") == "plain"
    assert esc("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert esc("\x00\x1f\x7f\x80\x9f") == "\\x00\\x1f\\x7f\\x80\\x9f"
    assert esc("\u202a\u202e\u2066\u2069\u200f") == "\\u202a\\u202e\\u2066\\u2069\\u200f"
    assert esc("line\nnext\ttab\r") == "line\\nnext\\ttab\\r"
    assert esc("line\nnext\ttab\r", True) == "line\nnext\ttab\\r"
    assert esc("é ü 日本 \u2028") == "é ü 日本 \u2028"  # printable text is left alone
    with pytest.raises(TypeError):
        esc(b"bytes")


