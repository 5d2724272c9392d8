"""Reads files while being imported (allowed even under strict), then
offers to read more once loaded (refused under strict)."""

import os

with open(os.__file__, "rb") as _f:
    _STDLIB_BYTES = len(_f.read())


class Loaded:
    def stdlib_bytes_at_import(self):
        return _STDLIB_BYTES

    def read_now(self, path):
        with open(path, "rb") as f:
            return len(f.read())
