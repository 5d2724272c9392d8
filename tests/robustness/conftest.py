"""The robustness suite: fault injection, hostile channel input, churn and
threads. The shared after-test checks (no child left, no fd leaked, nothing
of xtd_robust imported here) come from tests/conftest.py.

EXTRADITE_SOAK=N multiplies the counts and durations by N (`make soak`);
EXTRADITE_SEED=S replays a run (the seed is printed in the report header).
"""

import os
import random
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# The child gets our sys.path: this is how it finds xtd_robust.
if HERE not in sys.path:
    sys.path.insert(0, HERE)

SEED = int(os.environ.get("EXTRADITE_SEED") or random.SystemRandom().randrange(2**32))
SOAK = max(1, int(os.environ.get("EXTRADITE_SOAK") or 1))


def pytest_report_header(config):
    return f"robustness: EXTRADITE_SEED={SEED} EXTRADITE_SOAK={SOAK}"


@pytest.fixture
def rng(request):
    """A random.Random seeded from the run's seed and the test's name, so
    one test replays alone; the seed is printed with the test's output."""
    seed = f"{SEED}:{request.node.nodeid}"
    print(f"rng seed: EXTRADITE_SEED={SEED} ({request.node.nodeid})")
    return random.Random(seed)


@pytest.fixture
def soak():
    return SOAK


@pytest.fixture(scope="session")
def fake_child(tmp_path_factory):
    """fake_child.c (a stand-in child that writes prepared frames) built
    with the C compiler `make deps` installs."""
    out = tmp_path_factory.mktemp("fake_child") / "fake_child"
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-o", str(out), os.path.join(HERE, "fake_child.c")], check=True)
    return str(out)
