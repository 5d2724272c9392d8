"""The public entry point and the shape of proxy classes.

Thin on purpose: sessions, proxies, calls and the child live in the C core
(extradite._core); this file parses arguments, builds the proxy class from
the metadata the child sent, and stops children at exit.
"""

import atexit
import copy
import os
import sys
import weakref

from . import _core, _sandbox

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
        return cls.__extradite_stop__


def _sandbox_report(cls):
    """What the child's sandbox actually applied: seccomp, Landlock,
    namespaces, capabilities, no_new_privs and rlimits (a new dict)."""
    return copy.deepcopy(cls.__extradite_session__.sandbox_report)


def _make_class(session, stop, handle, target, name, qualname, methods, doc):
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
        "__extradite_stop__": stop,
        "close": _Close(),
        "sandbox_report": classmethod(_sandbox_report),
    }
    for method in methods:
        if method not in namespace:
            namespace[method] = _core.MethodDescriptor(method)
    return _ProxyClassMeta(name, (_core.RemoteObject,), namespace)


def _check_timeout(call_timeout):
    if call_timeout is None:
        return None
    if isinstance(call_timeout, bool) or not isinstance(call_timeout, (int, float)):
        raise TypeError(
            f"call_timeout must be a number of seconds or None, not {type(call_timeout).__name__}"
        )
    if not call_timeout > 0:
        raise ValueError(f"call_timeout must be positive, not {call_timeout!r}")
    return float(call_timeout)


def extradite(target, sandbox=None, call_timeout=None):
    """Import ``target`` ("module.path:ClassName") in a new, sandboxed
    child interpreter and return a proxy class for it.

    Constructing the proxy class creates an instance in the child; method
    calls, attribute reads and assignments on the instance run there.
    ``instance.close()`` releases one remote instance and
    ``ProxyClass.close()`` stops the child; ``ProxyClass.sandbox_report()``
    tells what confinement was applied.

    ``sandbox`` is a built-in profile ("strict", "default", "network",
    "unconfined"), a path to a profile file or a mapping of the same shape;
    None means $EXTRADITE_SANDBOX, else "default". ``call_timeout`` (seconds)
    bounds every call: past it the child is killed and
    ExtraditeTimeoutError is raised.

    Raises ValueError for a malformed target or a bad profile (naming the
    file, key and reason), ExtraditeModuleLeakError when the module is
    already imported here, ExtraditeRemoteError (deriving from the original
    built-in type, e.g. ModuleNotFoundError) when the child cannot import
    it, ExtraditeSandboxViolation when the import makes a forbidden system
    call, and ExtraditeProtocolError when the child cannot start.
    """
    module, qualname = _parse_target(target)
    call_timeout = _check_timeout(call_timeout)
    _core.assert_not_loaded(module)
    if not sys.executable:
        raise _core.ExtraditeError(
            "extradite: sys.executable is not set; cannot start a child interpreter"
        )
    # Absolute, so the child finds the same files and the sandbox can grant
    # them ("" is the current directory).
    sys_path = [os.path.abspath(entry) for entry in sys.path if isinstance(entry, str)]
    # A bad profile is refused here, before any process starts.
    profile = _sandbox.prepare(sandbox, module, sys_path)
    try:
        session = _core.Session(
            sys.executable,
            _PACKAGE_ROOT,
            sys_path,
            options={"sandbox": profile.policy},
            call_timeout=call_timeout,
            profile=profile.name,
            child_pickle=profile.policy["transport"]["child_pickle"],
        )
    except BaseException:
        profile.cleanup()
        raise
    # The private temp dir goes with the child, however the class ends.
    cleanup = weakref.finalize(session, profile.cleanup)

    def stop():
        session.close()
        cleanup()

    _open_sessions.add(session)
    try:
        handle, kind, name, remote_qualname, _module, methods, doc = session.load(
            module, qualname
        )
        if kind != "class":
            raise TypeError(f"extradite target {target!r} is a {kind}, not a class")
        return _make_class(
            session, stop, handle, target, name or qualname, remote_qualname, methods, doc
        )
    except BaseException:
        stop()
        raise


@atexit.register
def _close_open_sessions():
    for session in list(_open_sessions):
        session.close()
