"""The public entry point and the shape of proxy classes.

Thin on purpose: sessions, proxies, calls and the child live in the C core
(extradite._core); this file parses arguments, builds the proxy class from
the metadata the child sent, and stops children at exit.
"""

import atexit
import os
import sys
import weakref

from . import _core

# The directory holding this package: the child finds extradite._core there.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(_core.__file__)))

# Every session still open, so none outlives the interpreter.
_open_sessions = weakref.WeakSet()


def _parse_target(target):
    if not isinstance(target, str):
        raise TypeError(
            "extradite target must be a str of the form 'module.path:ClassName', "
            f"not {type(target).__name__}"
        )
    module, sep, qualname = target.partition(":")
    if not (
        sep
        and all(part.isidentifier() for part in module.split("."))
        and all(part.isidentifier() for part in qualname.split("."))
    ):
        raise ValueError(
            f"extradite target {target!r} is not of the form 'module.path:ClassName'"
        )
    return module, qualname


class _ProxyClassMeta(type):
    """Metaclass of proxy classes: a class attribute the proxy class does
    not define (a class constant, say) is read from the child's class."""

    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return cls.__extradite_session__.getattr(cls.__extradite_handle__, name)

    def __repr__(cls):
        return f"<extradite proxy class for {cls.__extradite_target__}>"


class _Close:
    """`instance.close()` releases the remote instance;
    `ProxyClass.close()` stops the child."""

    def __get__(self, obj, cls=None):
        if obj is not None:
            return _core.RemoteObject.close.__get__(obj, cls)
        return cls.__extradite_session__.close


def _make_class(session, handle, target, name, qualname, methods, doc):
    namespace = {
        # Not the remote module's name: pickle, inspect and friends would
        # try to import it here.
        "__module__": "extradite",
        "__qualname__": qualname or name,
        "__doc__": doc,
        "__slots__": (),
        "__extradite_session__": session,
        "__extradite_handle__": handle,
        "__extradite_target__": target,
        "close": _Close(),
    }
    for method in methods:
        if method not in namespace:
            namespace[method] = _core.MethodDescriptor(method)
    return _ProxyClassMeta(name, (_core.RemoteObject,), namespace)


def extradite(target):
    """Import ``target`` ("module.path:ClassName") in a new child
    interpreter and return a proxy class for it.

    Constructing the proxy class creates an instance in the child; method
    calls, attribute reads and assignments on the instance run there.
    ``instance.close()`` releases one remote instance and
    ``ProxyClass.close()`` stops the child.

    Raises ValueError for a malformed target, ExtraditeModuleLeakError when
    the module is already imported here, ExtraditeRemoteError (deriving
    from the original built-in type, e.g. ModuleNotFoundError) when the
    child cannot import it, and ExtraditeProtocolError when the child
    cannot start.
    """
    module, qualname = _parse_target(target)
    _core.assert_not_loaded(module)
    if not sys.executable:
        raise _core.ExtraditeError(
            "extradite: sys.executable is not set; cannot start a child interpreter"
        )
    sys_path = [entry for entry in sys.path if isinstance(entry, str)]
    session = _core.Session(sys.executable, _PACKAGE_ROOT, sys_path)
    _open_sessions.add(session)
    try:
        handle, kind, name, remote_qualname, _module, methods, doc = session.load(
            module, qualname
        )
        if kind != "class":
            raise TypeError(f"extradite target {target!r} is a {kind}, not a class")
        return _make_class(
            session, handle, target, name or qualname, remote_qualname, methods, doc
        )
    except BaseException:
        session.close()
        raise


@atexit.register
def _close_open_sessions():
    for session in list(_open_sessions):
        session.close()
