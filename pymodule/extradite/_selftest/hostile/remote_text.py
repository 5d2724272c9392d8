"""What a hostile child says back: a StopIteration from an ordinary call
(which must not end the parent's loop), terminal escape sequences in error
messages, notes, type names, class metadata and reprs, and a probe of what
a parent callback's error lets the child see of the parent."""

import sys
import traceback

from ._common import Base

# Clear the screen, set the window title, write the clipboard (OSC 52), a
# CSI in its one-byte C1 form, a right-to-left override, a bell.
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x9b31m\u202eevil\x1b\\"

# The core's own error classes (imported, as the child's bootstrap did).
_core = sys.modules.get("extradite._core")


class EscapeError(Exception):
    pass


EscapeError.__qualname__ = EscapeError.__name__ = "Escape" + ESCAPES


class Escaping:
    """A repr that would drive the parent's terminal."""

    def __repr__(self):
        return "<escaping " + ESCAPES + ">"


def _seen(exc):
    """Everything the child can read of an exception, as one str."""
    parts = [type(exc).__qualname__, str(exc), repr(exc), repr(exc.args),
             repr(getattr(exc, "__notes__", None)), repr(vars(exc)),
             "".join(traceback.format_exception(exc)),
             repr(exc.__cause__), repr(exc.__context__)]
    return "\n".join(parts)


class Relay:
    """An iterator whose __next__ is a parent callback's result."""

    def __init__(self, callback):
        self.callback = callback

    def __iter__(self):
        return self

    def __next__(self):
        return self.callback()


class Reporter(Base):
    # ---- StopIteration from calls that are not a remote iterator's next

    def stop_at(self, x, stop=2):
        if x == stop:
            raise StopIteration(f"stopped at {x}")
        return x * 10

    def stop_async(self, x):
        raise StopAsyncIteration(x)

    @property
    def stopping(self):
        raise StopIteration("from a property")

    def __add__(self, other):
        raise StopIteration("from __add__")

    def __len__(self):
        raise StopIteration("from __len__")

    # ---- iteration that must still end normally

    def count_to(self, n):
        return iter(range(n))

    def generate(self, n):
        yield from range(n)
        return "done"

    # ---- the parent's StopIteration, seen here

    def map_callback(self, callback, items):
        """list(map(callback, items)) here: how it ended."""
        try:
            return ("completed", list(map(callback, items)))
        except Exception as e:
            return ("raised", type(e).__name__, getattr(e, "remote_type_name", None))

    def iterate(self, iterable):
        return list(iterable)

    def relay(self, callback):
        return Relay(callback)

    # ---- escape sequences

    def raise_escapes(self):
        e = ValueError("message " + ESCAPES)
        e.add_note("note " + ESCAPES)
        raise e

    def raise_escape_type(self):
        raise EscapeError("typed")

    def raise_protocol_escapes(self):
        raise _core.ExtraditeProtocolError("protocol " + ESCAPES)

    def escaping(self):
        return Escaping()

    # ---- a parent callback's error

    def callback_error_seen(self, callback):
        try:
            callback()
        except BaseException as e:  # everything, even a SystemExit
            return _seen(e)
        return "no error"


class Escaped(Base):
    """Class metadata the parent shows: name, qualname, doc, a method."""

    def __repr__(self):
        return "<escaped " + ESCAPES + ">"


Escaped.__name__ = Escaped.__qualname__ = "Escaped" + ESCAPES
Escaped.__doc__ = "doc " + ESCAPES
setattr(Escaped, "method" + ESCAPES, lambda self: "reached")


def stop_function(x):
    raise StopIteration(x)


def escaped_function():
    return "called"


escaped_function.__name__ = escaped_function.__qualname__ = "fn" + ESCAPES
escaped_function.__doc__ = "doc " + ESCAPES
