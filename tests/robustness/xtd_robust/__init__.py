"""Targets of the robustness suite. The parent must never import these:
tests name them only as extradite targets."""
