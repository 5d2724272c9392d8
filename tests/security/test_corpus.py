"""The shipped hostile corpus (extradite/_selftest, what `python -m
extradite selftest` runs) against every confined built-in: each attempt
must end exactly as the profile says, not merely "not through"."""

import pytest

from extradite import _core
from extradite._selftest import corpus, runner
from xtd_checks import CONFINED

ATTEMPTS = corpus.attempts()


@pytest.fixture(params=CONFINED)
def run(request):
    # one Run (children, scratch files) per test: nothing outlives it
    with runner.Run(request.param) as r:
        yield r


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_attempt_ends_as_the_profile_says(run, attempt):
    if attempt.name == "containment/threads past processes":
        limits = run._class(attempt.target).sandbox_report()["limits"]
        if limits["processes"] is None:
            # the selftest shows it as got through: here it is a fact of
            # this machine (docs/containment.md), not a regression
            pytest.skip(f"nothing holds limits.processes here: {limits['not_held']}")
    result = run.run(attempt)
    assert not result.got_through, f"{attempt.name} got through: {result.detail}"
    if _core._asan_build and result.outcome == "not run":
        # the 8 GiB allocation: with no RLIMIT_AS applied it would really
        # happen, so the selftest does not run it
        pytest.skip(f"ASan build: RLIMIT_AS is not applied ({result.detail})")
    assert result.outcome == result.expected, result.detail


def test_the_corpus_covers_every_trapped_call():
    from extradite._selftest.syscalls import TRAPPED

    names = {a.name for a in ATTEMPTS}
    assert {f"kernel/{n}" for n in TRAPPED} <= names
