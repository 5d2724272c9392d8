"""Workloads shared by every peer in the benchmark."""


class Pinger:
    """The smallest possible remote object."""

    def __init__(self):
        self.count = 0

    def ping(self):
        return None

    def bump(self, by):
        self.count += by
        return self.count
