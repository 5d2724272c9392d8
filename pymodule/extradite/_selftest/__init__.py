"""The hostile corpus that ships with extradite (`python -m extradite
selftest`). hostile/ holds the attackers, run only in children; corpus.py
lists the attempts and what a profile should do to each; runner.py runs
them. Importing this package imports none of hostile/."""
