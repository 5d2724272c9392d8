"""Workloads for extradite's demonstrations (see examples/).

Nothing here is imported by ``import extradite``: each module is meant to be
extradited, that is imported only in a child interpreter.
"""
