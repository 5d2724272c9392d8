"""A workload that needs ``readline``, a native extension which refuses to
load in isolated subinterpreters ("module readline does not support loading
in subinterpreters", CPython 3.12+).

Importing this module inside such a subinterpreter therefore fails; routed
through extradite, the module is imported in the child process's main
interpreter instead, and a subinterpreter can use the class. The
subinterpreter demo (examples/subinterpreter_extradite_demo.py) does both.

Every result is deterministic, so a caller can recompute it elsewhere and
compare: the checksum from PBKDF2 scores, the history snapshot from the
entries it adds.
"""

import hashlib
import readline

# The checksum's modulus: scores and checksums are in [0, MODULUS).
MODULUS = 1_000_000_007

# The completer delimiters a snapshot configures: fewer than readline's
# defaults, so reading them back shows the configuration took effect.
SNAPSHOT_DELIMITERS = " \t\n|"


class NativeDependencyWorkload:
    """PBKDF2 scores and a checksum over them, plus stateful use of the
    process's ``readline`` history and completer delimiters."""

    MODULUS = MODULUS

    def __init__(self, salt, rounds=12_000):
        """salt: str mixed into every score; rounds: PBKDF2 iterations
        per score (>= 1)."""
        if not isinstance(salt, str):
            raise TypeError(f"salt must be a str, not {type(salt).__name__}")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, not {rounds!r}")
        self._salt = salt.encode()
        self._rounds = rounds
        self.snapshots_taken = 0

    @classmethod
    def native_dependency_name(cls):
        """The native module that keeps this workload out of subinterpreters."""
        return readline.__name__

    def derive_score(self, label, index):
        """One score: PBKDF2-HMAC-SHA256 of "label:index" with the salt,
        its first two 64-bit words XORed, modulo MODULUS."""
        digest = hashlib.pbkdf2_hmac(
            "sha256", f"{label}:{index}".encode(), self._salt, self._rounds, dklen=32
        )
        high = int.from_bytes(digest[:8], "big")
        low = int.from_bytes(digest[8:16], "big")
        return (high ^ low) % MODULUS

    def compute_checksum(self, label, start_index, item_count):
        """Sum of the scores of indices start_index .. start_index +
        item_count - 1, modulo MODULUS."""
        _check_count(item_count)
        total = 0
        for index in range(start_index, start_index + item_count):
            total = (total + self.derive_score(label, index)) % MODULUS
        return total

    def readline_history_snapshot(self, label, start_index, item_count):
        """Fill readline's history with "label:index" entries, read them back,
        and report what readline holds.

        The history is cleared first, and the completer delimiters are set to
        SNAPSHOT_DELIMITERS while the snapshot is taken; before returning the
        history is emptied and the delimiters restored, so snapshots do not
        leak into one another. Returns a dict: history_length, first_entry,
        last_entry (None when empty), completer_delims (as read back),
        has_pipe_delimiter and digest (SHA-256 hex of those values).
        """
        _check_count(item_count)
        saved_delimiters = readline.get_completer_delims()
        readline.set_completer_delims(SNAPSHOT_DELIMITERS)
        try:
            readline.clear_history()
            for index in range(start_index, start_index + item_count):
                readline.add_history(f"{label}:{index}")
            length = readline.get_current_history_length()
            # readline's history is 1-based.
            first = readline.get_history_item(1) if length else None
            last = readline.get_history_item(length) if length else None
            delimiters = readline.get_completer_delims()
        finally:
            readline.clear_history()
            readline.set_completer_delims(saved_delimiters)
        self.snapshots_taken += 1
        summary = f"{length}|{first}|{last}|{delimiters}"
        return {
            "history_length": length,
            "first_entry": first,
            "last_entry": last,
            "completer_delims": delimiters,
            "has_pipe_delimiter": "|" in delimiters,
            "digest": hashlib.sha256(summary.encode()).hexdigest(),
        }


def _check_count(item_count):
    if isinstance(item_count, bool) or not isinstance(item_count, int) or item_count < 0:
        raise ValueError(f"item_count must be an integer >= 0, not {item_count!r}")
