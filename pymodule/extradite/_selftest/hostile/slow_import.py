"""Hangs in its import for 60 s: only those who wait for this child may
wait with it (docs/lifetime.md)."""

import time

time.sleep(60)


class Slow:
    def ping(self):
        return "pong"
