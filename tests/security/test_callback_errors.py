"""A parent callback's error shows a confined child its type and message
only: never the parent's traceback, source lines, notes, causes or args
beyond the message (docs/remote-errors.md)."""

import pytest

from xtd_checks import CONFINED

TARGET = "extradite._selftest.hostile.remote_text:Reporter"


class ParentError(Exception):
    """Its str() is the message; its args carry more."""

    def __str__(self):
        return "callback failed"


SECRET_ARG = "xtd-secret-" + "in-args"
SECRET_NOTE = "xtd-secret-" + "in-a-note"
SECRET_CAUSE = "xtd-secret-" + "in-the-cause"
SECRET_SOURCE = "xtd-secret-" + "in-the-source"  # the comment below


def leaky_callback():
    try:
        raise KeyError(SECRET_CAUSE)
    except KeyError as cause:
        e = ParentError("callback failed", SECRET_ARG)
        e.add_note(SECRET_NOTE)
        raise e from cause  # xtd-secret-in-the-source


def leaky_builtin_callback():
    raise ValueError("plain failure")  # xtd-secret-in-the-source


SECRETS = (SECRET_ARG, SECRET_NOTE, SECRET_CAUSE, SECRET_SOURCE)


@pytest.mark.parametrize("profile", CONFINED)
def test_a_confined_child_sees_type_and_message_only(spawn, profile):
    reporter = spawn(TARGET, profile)()
    seen = reporter.callback_error_seen(leaky_callback)
    for secret in SECRETS:
        assert secret not in seen, (secret, seen)
    assert "callback failed" in seen
    assert "ParentError" in seen
    seen = reporter.callback_error_seen(leaky_builtin_callback)
    assert SECRET_SOURCE not in seen
    assert "ValueError" in seen and "plain failure" in seen


def test_an_unconfined_child_sees_the_parents_traceback(spawn):
    # Documented (docs/remote-errors.md): unconfined is the seed's
    # behaviour, traceback and notes included.
    reporter = spawn(TARGET, "unconfined")()
    seen = reporter.callback_error_seen(leaky_callback)
    assert SECRET_SOURCE in seen and SECRET_NOTE in seen
