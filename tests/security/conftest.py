"""The hostile-child suite. The shared after-test checks (no child left, no
fd leaked, nothing of the hostile corpus (extradite._selftest.hostile)
imported here, this process not traced)
come from tests/conftest.py; helpers live in xtd_checks.py."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# The child gets our sys.path: this is how it finds xtd_checks' neighbours.
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import extradite  # noqa: E402
from xtd_checks import BACKSTOP_TIMEOUT  # noqa: E402


@pytest.fixture
def spawn():
    """spawn(target, sandbox="default", call_timeout=BACKSTOP_TIMEOUT) -> proxy
    class; every class is closed when the test ends."""
    classes = []

    def _spawn(target, sandbox="default", call_timeout=BACKSTOP_TIMEOUT):
        cls = extradite.extradite(target, sandbox=sandbox, call_timeout=call_timeout)
        classes.append(cls)
        return cls

    yield _spawn
    for cls in classes:
        cls.close()


@pytest.fixture
def writable(tmp_path):
    """A profile granting tmp_path/grant for writing (default otherwise),
    and that directory."""
    grant = tmp_path / "grant"
    grant.mkdir()
    profile = tmp_path / "write-grant.toml"
    profile.write_text(
        'extends = "default"\n'
        "[seccomp]\n"
        'groups = ["core", "threads", "files_read", "files_write"]\n'
        "[landlock]\n"
        f'write = ["{grant}"]\n'
    )
    return str(profile), grant
