"""Hostile targets for the security suite. Everything here tries to escape
its sandbox; the parent must never import any of it (tests name these
modules only as extradite targets).

Modules import everything they use at the top: under the strict profile
file opens are refused once the target is loaded, so a lazy import inside
a method would fail for the wrong reason.
"""
