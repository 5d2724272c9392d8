"""Defines the class xtd_targets.reexport re-exports: a top-level module of
its own, outside the target's package (test_child_values)."""


class Impl:
    def __init__(self, start=0):
        self.n = start

    def bump(self, by=1):
        self.n += by
        return self.n
