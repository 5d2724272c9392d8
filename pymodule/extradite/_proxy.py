"""The public entry point and the shape of proxy classes.

Thin on purpose: sessions, proxies, calls and the child live in the C core
(extradite._core) and the bookkeeping of children in _sessions.py; this
file parses arguments and builds the proxy class from the metadata the
child sent.
"""

import copy
import weakref

from . import _core, _sessions


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


def extradite(
    target, share_key=None, *, sandbox=None, call_timeout=None, share_keepalive_seconds=None
):
    """Import ``target`` ("module.path:ClassName") in a sandboxed child
    interpreter and return a proxy class for it.

    Constructing the proxy class creates an instance in the child; method
    calls, attribute reads and assignments on the instance run there.
    ``instance.close()`` releases one remote instance and
    ``ProxyClass.close()`` releases the class (and stops its child unless
    it is shared); ``ProxyClass.sandbox_report()`` tells what confinement
    was applied.

    ``share_key``: calls with the same key share one child, which stops
    when the last of their classes is closed, or ``share_keepalive_seconds``
    after that. Reusing a key with other settings raises ValueError.

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
    call_timeout = _sessions.check_timeout("call_timeout", call_timeout)
    keepalive = _sessions.check_timeout("share_keepalive_seconds", share_keepalive_seconds)
    _core.assert_not_loaded(module)
    session, release = _sessions.acquire(share_key, module, sandbox, call_timeout, keepalive)
    try:
        handle, kind, name, remote_qualname, _module, methods, doc = session.load(
            module, qualname
        )
        if kind != "class":
            raise TypeError(f"extradite target {target!r} is a {kind}, not a class")
        cls = _make_class(
            session, release, handle, target, name or qualname, remote_qualname, methods, doc
        )
    except BaseException:
        release()
        raise
    # A class dropped without close() gives its child back too.
    weakref.finalize(cls, release)
    return cls


def prewarm_extradite_session(
    share_key, *, sandbox=None, call_timeout=None, share_keepalive_seconds=None
):
    """Start the shared child for ``share_key`` ahead of its first
    ``extradite(..., share_key)``. Returns True if this call started it,
    False if it was already running; other settings than the running
    child's raise ValueError. With ``share_keepalive_seconds`` an unused
    prewarmed child stops after that long."""
    return _sessions.prewarm(
        share_key,
        sandbox,
        _sessions.check_timeout("call_timeout", call_timeout),
        _sessions.check_timeout("share_keepalive_seconds", share_keepalive_seconds),
    )


def close_extradite_session(share_key):
    """Stop the shared child for ``share_key`` now. Returns True if there
    was one. Classes still using it raise ExtraditeProtocolError."""
    return _sessions.close_shared(share_key)
