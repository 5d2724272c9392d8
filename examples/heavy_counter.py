"""The demo's target: imagine a module you must not import in your own
process (it is untrusted, or conflicts with what you have loaded)."""

import os


class Counter:
    """A counter that lives in the extradite child."""

    def __init__(self, start=0):
        self.value = start

    def increment(self, by=1):
        self.value += by
        return self.value

    def where(self):
        return os.getpid()
