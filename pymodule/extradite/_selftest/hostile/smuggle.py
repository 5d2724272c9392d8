"""Objects that would run a command if the parent unpickled them, and an
exception whose type names a module the parent would import."""

import os

from ._common import Base


class Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class EvilInt(int):
    command = None

    def __reduce__(self):
        return os.system, (self.command,)


class EvilStr(str):
    command = None

    def __reduce__(self):
        return os.system, (self.command,)


class EvilError(Exception):
    pass


class BaitError(Exception):
    pass


# The parent must not import a module named by the child to rebuild an error.
BaitError.__module__ = "extradite._selftest.hostile.bait"
BaitError.__qualname__ = BaitError.__name__ = "Bait"


class Smuggler(Base):
    def __init__(self, command):
        self.command = command

    def evil(self):
        return Evil(self.command)

    def evil_in_container(self):
        return {"payload": [Evil(self.command)], "n": 1}

    def evil_int(self):
        value = EvilInt(7)
        value.command = self.command
        return value

    def evil_str(self):
        value = EvilStr("seven")
        value.command = self.command
        return value

    def raise_evil(self):
        raise EvilError(Evil(self.command))

    def raise_bait(self):
        raise BaitError("bait")
