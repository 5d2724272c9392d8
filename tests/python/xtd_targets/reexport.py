"""A target whose class is defined in another top-level module."""

from xtd_reexported_impl import Impl  # noqa: F401
