"""The extradite target: the same classes under a name the benchmark's own
process never imports (the process does import `workload` for the direct,
managers and RPyC runs)."""

from workload import Caller, Hasher, LineEditor, Pinger, Pipeline  # noqa: F401
