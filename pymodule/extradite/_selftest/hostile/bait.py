"""Named by an exception type in smuggle.py: the parent must never import
it (the shared check fails the test if it shows up in sys.modules)."""
