"""The public entry point and the shape of proxy classes.

Thin on purpose: sessions, proxies, calls and the child live in the C core
(extradite._core) and the bookkeeping of children in _sessions.py; this
file parses arguments and builds the proxy class from the metadata the
child sent.
"""

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


def _policy_query(session, trace):
    """get_effective_policy(value, call_policy=None), or its _trace form,
    for the transport settings of `session`."""

    def query(value, call_policy=None):
        result = session.effective_policy(value, call_policy)
        return result if trace else result["effective_policy"]

    query.__name__ = "get_effective_policy_trace" if trace else "get_effective_policy"
    query.__doc__ = (
        "How `value` would travel to the child: 'value' or 'reference'"
        + (", with the source of that choice and the matched type." if trace else ".")
    )
    return query


class _PolicyQuery:
    """get_effective_policy / get_effective_policy_trace, on proxy classes
    and their instances alike."""

    def __init__(self, trace):
        self.trace = trace

    def __get__(self, obj, cls=None):
        owner = cls if cls is not None else type(obj)
        return _policy_query(owner.__extradite_session__, self.trace)


def _sandbox_report(cls):
    """What the child's sandbox actually applied: seccomp, Landlock,
    namespaces, capabilities, no_new_privs and rlimits, and each Landlock
    grant with its reason (a new dict)."""
    return _sessions.report(cls.__extradite_session__)


def _shown(text, lines=False):
    """Metadata text from the child as the parent may show it: a str with
    control characters escaped (docs/remote-errors.md), else None."""
    return _core.escape_text(text, lines) if isinstance(text, str) else None


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
        "get_effective_policy": _PolicyQuery(trace=False),
        "get_effective_policy_trace": _PolicyQuery(trace=True),
    }
    # `methods` are public identifiers only: Session.load filters the
    # child's list (pymodule/exposure.c).
    for method in methods:
        if method not in namespace:
            namespace[method] = _core.MethodDescriptor(method)
    return _ProxyClassMeta(name, (_core.RemoteObject,), namespace)


def _make_function(session, stop, handle, target, name, qualname, doc):
    """The proxy of a function target: a _core.RemoteFunction whose calls
    (and batch()) run the function in the child; close() calls `stop`."""
    function = _core.RemoteFunction(session, handle, stop)
    function.__dict__.update(
        __name__=name,
        __qualname__=qualname or name,
        __doc__=doc,
        # As for classes: not the remote module, which must stay unimported.
        __module__="extradite",
        __extradite_target__=target,
        get_effective_policy=_policy_query(session, trace=False),
        get_effective_policy_trace=_policy_query(session, trace=True),
    )
    return function


def extradite(
    target,
    share_key=None,
    transport_policy="value",
    transport_type_rules=None,
    *,
    sandbox=None,
    call_timeout=None,
    share_keepalive_seconds=None,
):
    """Import ``target`` ("module.path:ClassName") in a sandboxed child
    interpreter and return a proxy class for it. For a function target
    ("module.path:func") the result is a callable proxy that runs the
    function in the child, with ``close()``, ``sandbox_report()`` and
    ``batch()`` like a proxy class.

    Constructing the proxy class creates an instance in the child; method
    calls, attribute reads and assignments on the instance run there.
    ``instance.close()`` releases one remote instance and
    ``ProxyClass.close()`` releases the class (and stops its child unless
    it is shared); ``ProxyClass.sandbox_report()`` tells what confinement
    was applied.

    ``share_key``: calls with the same key share one child, which stops
    when the last of their classes is closed, or ``share_keepalive_seconds``
    after that. Reusing a key with other settings raises ValueError.

    ``transport_policy``: how the values you pass travel: "value" (copies;
    pickles for what the codec lacks) or "reference" (every non-scalar
    value as a handle, so ``echo(obj) is obj``). ``transport_type_rules``
    ({type: policy}) overrides it per type, the nearest class in a value's
    MRO winning; the keyword ``__extradite_policy__`` on a call overrides
    both for that call.

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
    transport = _sessions.check_transport(transport_policy, transport_type_rules)
    call_timeout = _sessions.check_timeout("call_timeout", call_timeout)
    keepalive = _sessions.check_timeout("share_keepalive_seconds", share_keepalive_seconds)
    _core.assert_not_loaded(module)
    session, release, load = _sessions.acquire(
        share_key, module, sandbox, call_timeout, keepalive, transport
    )
    return _bind(session, release, load, target, module, qualname)


def _bind(session, release, load, target, module, qualname):
    """Load `module:qualname` in the session's child (with `load`) and
    return its proxy; `release` gives the child back (on failure here, or
    when the proxy is closed or dropped)."""
    try:
        handle, kind, name, remote_qualname, _module, methods, doc = load(module, qualname)
        # Shown in reprs, tracebacks and help(): the child chose this text.
        name, remote_qualname, doc = _shown(name), _shown(remote_qualname), _shown(doc, True)
        if kind == "function":
            cls = _make_function(
                session, release, handle, target, name or qualname, remote_qualname, doc
            )
        elif kind == "class":
            cls = _make_class(
                session, release, handle, target, name or qualname, remote_qualname, methods, doc
            )
        else:
            raise TypeError(f"extradite target {target!r} is a {kind}, not a class or function")
    except BaseException:
        release()
        raise
    # A class dropped without close() gives its child back too.
    weakref.finalize(cls, release)
    return cls


def _parse_preload(preload):
    """((module, qualname), ...) for an iterable of targets, checked like
    extradite()'s own (ValueError, TypeError, ExtraditeModuleLeakError)."""
    if isinstance(preload, (str, bytes)):
        raise TypeError(
            "preload must be an iterable of 'module.path:ClassName' strings, "
            f"not a single {type(preload).__name__}"
        )
    try:
        targets = tuple(preload)
    except TypeError:
        raise TypeError(
            "preload must be an iterable of 'module.path:ClassName' strings, "
            f"not {type(preload).__name__}"
        ) from None
    parsed = tuple(_parse_target(target) for target in targets)
    for module, _ in parsed:
        _core.assert_not_loaded(module)
    return parsed


def prewarm_extradite_session(
    share_key,
    transport_policy="value",
    transport_type_rules=None,
    *,
    sandbox=None,
    call_timeout=None,
    share_keepalive_seconds=None,
    preload=(),
):
    """Start the shared child for ``share_key`` ahead of its first
    ``extradite(..., share_key)``, and wait until it is confined and
    serving (its boot errors are raised here). Returns True if this call
    started it,
    False if it was already running; other settings than the running
    child's raise ValueError. With ``share_keepalive_seconds`` an unused
    prewarmed child stops after that long.

    ``preload``: targets ("module.path:ClassName", as for extradite()) the
    child imports, confined, before this returns, whether it started the
    child or found it running; a later ``extradite(target, share_key)``
    then finds the target loaded and makes no round trip for it. A target
    that cannot be loaded raises what extradite() would raise, and a child
    this call started is stopped again."""
    targets = _parse_preload(preload)
    return _sessions.prewarm(
        share_key,
        sandbox,
        _sessions.check_timeout("call_timeout", call_timeout),
        _sessions.check_timeout("share_keepalive_seconds", share_keepalive_seconds),
        _sessions.check_transport(transport_policy, transport_type_rules),
        targets,
    )


def close_extradite_session(share_key):
    """Stop the shared child for ``share_key`` now. Returns True if there
    was one. Classes still using it raise ExtraditeProtocolError. It never
    waits for a child that is still starting or loading a prewarm's
    targets: that child is stopped, and the prewarm raises
    ExtraditeProtocolError."""
    return _sessions.close_shared(share_key)
