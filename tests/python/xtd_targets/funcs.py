"""Module-level functions, for function targets and batches."""

import functools
import os

_calls = []


def add(a, b=0):
    """Add two numbers (remote)."""
    return a + b


def record(value):
    """Append value to this module's log; returns the log's length."""
    if value is None:
        raise ValueError("cannot record None")
    _calls.append(value)
    return len(_calls)


def calls():
    return list(_calls)


def fail(message):
    raise KeyError(message)


def pid():
    return os.getpid()


def identity(value):
    return value


def append_to(items, item):
    """Append in place: under the "reference" policy, to the caller's list."""
    items.append(item)
    return item


def make_box(tag):
    return Box(tag)


def countdown(n):
    while n > 0:
        yield n
        n -= 1


@functools.lru_cache(maxsize=None)
def cached_square(x):
    return x * x


def labelled():
    return "labelled"


labelled.label = "a function attribute"


class Box:
    def __init__(self, tag):
        self.tag = tag

    def __len__(self):
        return len(self.tag)


class Namespace:
    @staticmethod
    def helper(x):
        """A static method, reached as a nested target."""
        return ("helper", x)


class _Callable:
    def __call__(self, x):
        return x * 3


triple = _Callable()

NOT_CALLABLE = "just a string"
