"""A class whose state shows which calls of a batch ran."""


class Ledger:
    def __init__(self):
        self.entries = []

    def record(self, value, *, weight=1):
        if value < 0:
            raise ValueError(f"negative entry {value}")
        self.entries.append(value * weight)
        return len(self.entries)

    def echo(self, *args, **kwargs):
        return [list(args), kwargs]

    def make(self, tag):
        return Entry(tag)

    @staticmethod
    def combine(a, b):
        return f"{a}+{b}"


class Entry:
    def __init__(self, tag):
        self.tag = tag
