"""Keep the `_datetime` extension out of subinterpreters on 3.12 and 3.13.

`datetime` is the pure-Python module in front of the C extension
`_datetime`, whose types are static C globals until 3.14. In a
subinterpreter, initializing them corrupts the process's heap ("double
free or corruption", "free(): invalid pointer"):

- 3.12: `_datetime` is refused ("does not support loading in
  subinterpreters"), but only after its init ran; the next subinterpreter
  to try crashes (CPython gh-110415, gh-116524);
- 3.13: it loads, but subinterpreters that import it, or end, at the same
  time race on those globals (gh-136421, gh-136423; fixed for 3.14).

extradite imports `datetime` in the caller's interpreter (tomllib reads
profiles with it; the codec rebuilds datetime values with it), so several
subinterpreters using extradite at once would hit this. In a subinterpreter
of those versions that has not loaded `_datetime`, this marks it absent:
`import _datetime` then fails at once without running the extension, and
`datetime` falls back, as it is written to, to its pure-Python twin
`_pydatetime`, which has the same API. The main interpreter, and every
Python from 3.14 on, are left alone.
"""

import sys


def _in_subinterpreter():
    try:
        import _interpreters as interpreters  # 3.13+
    except ImportError:
        try:
            import _xxsubinterpreters as interpreters  # 3.12
        except ImportError:  # a build without subinterpreters
            return False
    return interpreters.get_current() != interpreters.get_main()


def apply():
    """Mark `_datetime` absent in a 3.12/3.13 subinterpreter lacking it."""
    if not (3, 12) <= sys.version_info[:2] < (3, 14) or "_datetime" in sys.modules:
        return
    if _in_subinterpreter():
        # None in sys.modules: `import _datetime` raises ImportError at once.
        sys.modules["_datetime"] = None
