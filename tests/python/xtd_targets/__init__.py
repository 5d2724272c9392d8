"""Target modules for the test suites. The parent must never import these:
tests name them only as extradite targets."""
