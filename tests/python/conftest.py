"""The shared checks live in tests/conftest.py; this directory only has to
be importable so the child (which gets our sys.path) finds xtd_targets."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
