"""extradite: use a class from a module your interpreter must never import.

The module is imported only in a child interpreter; you get a proxy class
whose instances live there, and whose method calls, attribute reads and
writes run there over a private channel::

    from extradite import extradite

    RemoteCounter = extradite("my_pkg.heavy_module:Counter")
    counter = RemoteCounter(3)
    counter.increment(2)
    counter.close()        # release the remote instance
    RemoteCounter.close()  # stop the child
"""

from . import _subinterpreter_datetime

# Before anything imports datetime (see the module's docstring).
_subinterpreter_datetime.apply()

from ._core import (  # noqa: E402
    ExtraditeError,
    ExtraditeModuleLeakError,
    ExtraditeProtocolError,
    ExtraditeRemoteError,
    ExtraditeSandboxViolation,
    ExtraditeTimeoutError,
    UnsupportedInteractionError,
)
from ._proxy import close_extradite_session, extradite, prewarm_extradite_session  # noqa: E402

__all__ = [
    "extradite",
    "prewarm_extradite_session",
    "close_extradite_session",
    "ExtraditeError",
    "ExtraditeModuleLeakError",
    "ExtraditeProtocolError",
    "ExtraditeRemoteError",
    "ExtraditeSandboxViolation",
    "ExtraditeTimeoutError",
    "UnsupportedInteractionError",
]
