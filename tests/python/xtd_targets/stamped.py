"""Says when the child imported it: time.monotonic() then. The child has
no time namespace of its own, so the parent's clock compares with it."""

import time

IMPORTED_AT = time.monotonic()


class Stamped:
    @staticmethod
    def imported_at():
        return IMPORTED_AT

    def ping(self):
        return "pong"
