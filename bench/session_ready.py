"""A trivial extradite target the benchmark loads into a prewarmed shared
child to wait until it is up (the benchmark process never imports it)."""


def ready():
    return True
