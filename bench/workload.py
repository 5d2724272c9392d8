"""Workloads shared by every peer in the benchmark.

Results are kept to None, numbers, str, bytes and tuples where the case
does not need more, so that RPyC returns them by value too."""

import hashlib

PBKDF2_ITERATIONS = 8000


class Pinger:
    """The smallest possible remote object, plus an echo for payloads."""

    def __init__(self):
        self.count = 0

    def ping(self):
        return None

    def bump(self, by):
        self.count += by
        return self.count

    def echo(self, value):
        return value


class Caller:
    """Calls back into the caller: re-entrant chatter."""

    def chatter(self, callback, times):
        total = 0
        for i in range(times):
            total += callback(i)
        return total


class LineEditor:
    """Native readline operations (GNU readline or libedit)."""

    def __init__(self):
        import readline

        self._rl = readline
        readline.clear_history()

    def edit(self, line):
        rl = self._rl
        rl.add_history(line)
        n = rl.get_current_history_length()
        item = rl.get_history_item(n)
        if n >= 1000:
            rl.clear_history()
        return item


class Hasher:
    """CPU-heavy work: one PBKDF2-HMAC-SHA256 derivation per call."""

    def derive(self, password, salt):
        return hashlib.pbkdf2_hmac("sha256", password, salt, PBKDF2_ITERATIONS)


class Pipeline:
    """A mixed pipeline: ingest records, transform a blob, summarize."""

    def __init__(self):
        self.records = []
        self.digests = []

    def ingest(self, records):
        self.records.extend(r for r in records if r["ok"])
        return len(self.records)

    def transform(self, blob):
        digest = hashlib.sha256(blob).digest()
        self.digests.append(digest)
        return digest

    def summarize(self):
        values = [r["value"] for r in self.records]
        result = (len(values), sum(values), max(values, default=0), len(self.digests))
        self.records.clear()
        self.digests.clear()
        return result
