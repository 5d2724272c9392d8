"""The shared checks live in tests/conftest.py; this directory only has to
be importable so the child (which gets our sys.path) finds xtd_targets."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# Older tests import these as `from conftest import ...`; every conftest.py of
# the suites re-exports them, since whichever was imported last owns the name.
from xtd_support import child_pids, open_fds  # noqa: E402,F401
