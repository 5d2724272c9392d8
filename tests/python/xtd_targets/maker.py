"""Returns values the codec cannot carry: stdlib objects, and objects of
this (protected) module."""

import collections


class Thing:
    pass


class Maker:
    def ordered(self):
        return collections.OrderedDict(a=1, b=2)

    def thing(self):
        return Thing()

    def wrapped_thing(self):
        return collections.deque([Thing()])

    def thing_class(self):
        return Thing

    def get_self(self):
        return self
