"""A small stateful class and friends, used by most tests."""

import os
import sys


class CustomError(Exception):
    pass


class Helper:
    def __init__(self, tag):
        self.tag = tag

    def describe(self):
        return f"helper:{self.tag}"


class Counter:
    """Counts things (remote)."""

    LIMIT = 1000
    live = 0

    def __init__(self, start=0, *, step=1):
        self.value = start
        self.step = step
        Counter.live += 1

    def __del__(self):
        Counter.live -= 1

    def increment(self, by=None):
        self.value += self.step if by is None else by
        return self.value

    def echo(self, value):
        return value

    def type_name(self, value):
        return type(value).__name__

    def get_self(self):
        return self

    def is_same(self, other):
        return other is self

    def make_helper(self, tag):
        return Helper(tag)

    def helper_tag(self, helper):
        return helper.tag

    def fail_value(self, message):
        raise ValueError(message)

    def fail_key(self, key):
        return {}[key]

    def fail_custom(self):
        raise CustomError("custom failure")

    def fail_exit(self):
        raise SystemExit(3)

    def die(self, status):
        os._exit(status)

    def environment(self):
        return dict(os.environ)

    def open_fds(self):
        return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))

    def modules(self):
        return sorted(sys.modules)

    def shout(self, text):
        print(text, flush=True)
        return len(text)

    @classmethod
    def from_pair(cls, a, b):
        return cls(a + b)

    @staticmethod
    def add(a, b):
        return a + b

    @classmethod
    def live_count(cls):
        return Counter.live

    @property
    def doubled(self):
        return self.value * 2


def not_a_class():
    return 1


NOT_CALLABLE = 42
