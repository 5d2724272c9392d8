"""Children and who holds them: private sessions, shared ones (share_key),
keep-alive, prewarming, and stopping everything at exit.

A private session belongs to one proxy class and stops with it. A shared
session is reference-counted by the proxy classes loaded into it; it stops
when the last one is closed, or share_keepalive_seconds after that when
set. The child itself, its channel and its sandbox are the C core's
(_core.Session); this file only keeps the books.

All of it is per interpreter: each subinterpreter imports its own copy of
this module, so share_keys, keep-alive reaper and the exit hook cover the
sessions of the interpreter that made them, and two subinterpreters using
the same share_key get two children.
"""

import atexit
import os
import sys
import threading
import time
import weakref

from . import _core, _sandbox

# The directory holding this package: the child finds extradite._core there.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(_core.__file__)))

# Every session still open, so none outlives the interpreter.
_open_sessions = weakref.WeakSet()

# share_key -> _Shared; guarded by _lock.
_shared = {}
_lock = threading.RLock()
# Wakes the keep-alive reaper (one thread, started on first need) when a
# deadline is set or the reaper must stop.
_reaper_wake = threading.Condition(_lock)
_reaper = {"thread": None, "stop": False}


def check_timeout(name, value):
    """None, or a positive number of seconds as float."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
    return float(value)


def child_sys_path():
    # Absolute, so the child finds the same files and the sandbox can grant
    # them ("" is the current directory).
    return [os.path.abspath(entry) for entry in sys.path if isinstance(entry, str)]


POLICIES = ("value", "reference")


def check_transport(policy, rules):
    """(policy, rules as a tuple of (type, policy) pairs in order), or
    ValueError/TypeError before anything starts."""
    if policy not in POLICIES:
        raise ValueError(f"transport_policy must be 'value' or 'reference', not {policy!r}")
    if rules is None:
        return policy, ()
    if not isinstance(rules, dict):
        raise TypeError(
            f"transport_type_rules must be a dict of type -> policy, not {type(rules).__name__}"
        )
    for tp, rule in rules.items():
        if not isinstance(tp, type):
            raise ValueError(f"transport_type_rules keys must be types, not {tp!r}")
        if rule not in POLICIES:
            raise ValueError(
                f"transport_type_rules[{tp.__name__}] must be 'value' or 'reference', not {rule!r}"
            )
    return policy, tuple(rules.items())


def start(module, sandbox, call_timeout, transport=("value", ()), learn=False):
    """A new child confined by `sandbox`: (session, stop). A bad profile
    is refused before any process starts. learn=True: the child records
    instead of refusing (`python -m extradite learn`, _learn.py)."""
    if not sys.executable:
        raise _core.ExtraditeError(
            "extradite: sys.executable is not set; cannot start a child interpreter"
        )
    sys_path = child_sys_path()
    profile = _sandbox.prepare(sandbox, module, sys_path)
    options = {"sandbox": profile.policy}
    if learn:
        # The learning child compiles its own filter, for the listener.
        profile.policy["learn"] = True
    elif profile.seccomp_template is not None:
        options["seccomp_template"] = profile.seccomp_template
    try:
        session = _core.Session(
            sys.executable,
            _PACKAGE_ROOT,
            sys_path,
            options=options,
            call_timeout=call_timeout,
            profile=profile.name,
            child_pickle=profile.policy["transport"]["child_pickle"],
            transport_policy=transport[0],
            transport_type_rules=transport[1] or None,
        )
    except BaseException:
        profile.cleanup()
        raise
    # The private temp dir goes with the child, however it ends.
    cleanup = weakref.finalize(session, profile.cleanup)
    _open_sessions.add(session)

    def stop():
        session.close()
        cleanup()

    return session, stop


class _Shared:
    """One shared child: its settings, and the classes holding it."""

    def __init__(self, key, settings, session, stop, keepalive):
        self.key = key
        self.settings = settings
        self.session = session
        self.stop = stop
        self.keepalive = keepalive
        self.holders = 0
        self.deadline = None  # time.monotonic() when an idle child stops
        # (module, qualname) -> the child's LOAD reply. A loaded target is
        # pinned in the child for its whole life, so loading it again with
        # this key (or after a prewarm preloaded it) needs no round trip.
        self.loaded = {}

    def cancel_keepalive(self):
        self.deadline = None

    def load(self, module, qualname):
        """The child's LOAD reply for module:qualname, asked for once."""
        key = (module, qualname)
        reply = self.loaded.get(key)
        if reply is None:
            reply = self.loaded[key] = self.session.load(module, qualname)
        return reply


def _settings(sandbox, call_timeout, keepalive, transport):
    """What must match for a share_key to be reused."""
    return {
        "transport_policy": transport[0],
        # order included: the first matching rule of equal rank wins
        "transport_type_rules": transport[1],
        "sandbox": _sandbox.fingerprint(sandbox),
        "call_timeout": call_timeout,
        "share_keepalive_seconds": keepalive,
    }


def _describe(name, value):
    if name == "sandbox":
        return repr(value[0])  # the profile's name, not its whole text
    if name == "transport_type_rules":
        return repr({tp.__name__: rule for tp, rule in value})
    return repr(value)


def _get_or_start(key, module, sandbox, call_timeout, keepalive, transport):
    """The live _Shared for key (started if needed) and whether it is new.
    Called with _lock held."""
    settings = _settings(sandbox, call_timeout, keepalive, transport)
    entry = _shared.get(key)
    if entry is not None and not entry.session.alive:
        _drop(entry)  # its child died: start afresh
        entry = None
    if entry is not None:
        for name, value in settings.items():
            if entry.settings[name] != value:
                raise ValueError(
                    f"extradite: share_key {key!r} is in use with {name}="
                    f"{_describe(name, entry.settings[name])}; this call asks for "
                    f"{_describe(name, value)}. Every user of a share_key must use "
                    "the same settings."
                )
        return entry, False
    session, stop = start(module, sandbox, call_timeout, transport)
    entry = _Shared(key, settings, session, stop, keepalive)
    _shared[key] = entry
    return entry, True


def _drop(entry):
    entry.cancel_keepalive()
    if _shared.get(entry.key) is entry:
        del _shared[entry.key]
    entry.stop()


def _idle(entry):
    """No class holds the child any more: stop it now, or after the
    keep-alive time if it is still idle then. Called with _lock held."""
    if entry.keepalive is None:
        _drop(entry)
        return
    if not _start_reaper():
        _drop(entry)  # the interpreter is ending: no keep-alive
        return
    entry.deadline = time.monotonic() + entry.keepalive
    _reaper_wake.notify()


def _reap():
    """The keep-alive reaper: stops each idle shared child once its
    deadline passes; sleeps until the next deadline or a wake-up."""
    with _lock:
        while not _reaper["stop"]:
            now = time.monotonic()
            for entry in list(_shared.values()):
                if entry.deadline is not None and entry.deadline <= now:
                    _drop(entry)
            pending = [e.deadline for e in _shared.values() if e.deadline is not None]
            _reaper_wake.wait(min(pending) - now if pending else None)
        _reaper["thread"] = None


def _start_reaper():
    """One reaper thread per interpreter, started on first need (starting a
    thread per idle period cost each close() a millisecond). False if
    threading is already shutting down. Called with _lock held."""
    if _reaper["thread"] is not None:
        return True
    if not _daemon_threads_allowed() and not _stop_idle_at_thread_shutdown():
        return False
    _reaper["stop"] = False
    thread = threading.Thread(target=_reap, name="extradite-keepalive")
    # Where daemon threads are refused it is an ordinary thread, stopped by
    # _stop_idle when the interpreter's threads shut down.
    thread.daemon = _daemon_threads_allowed()
    try:
        thread.start()
    except RuntimeError:
        return False
    _reaper["thread"] = thread
    return True


def _daemon_threads_allowed():
    # Isolated subinterpreters (3.12+) refuse daemon threads.
    allowed = getattr(threading, "_daemon_threads_allowed", None)
    return allowed is None or allowed()


_stop_idle_registered = []


def _stop_idle_at_thread_shutdown():
    """Where daemon threads are refused, the reaper is an ordinary thread,
    and an interpreter waits for those before it runs its atexit handlers:
    without this it would hold up the interpreter's end. threading's own
    exit hooks run before that wait. False if threading is already
    shutting down."""
    if not _stop_idle_registered:
        try:
            threading._register_atexit(_stop_idle)
        except RuntimeError:
            return False
        _stop_idle_registered.append(True)
    return True


def _stop_idle():
    """Stop every shared child that only waits for its keep-alive, and the
    reaper."""
    with _lock:
        for entry in list(_shared.values()):
            if entry.deadline is not None:
                _drop(entry)
        _reaper["stop"] = True
        _reaper_wake.notify()


def acquire(share_key, module, sandbox, call_timeout, keepalive, transport):
    """A session for one proxy class: (session, release, load). release()
    is idempotent; it stops a private child, or gives back a shared one.
    load(module, qualname) loads a target into the child (once per shared
    child)."""
    if share_key is None:
        if keepalive is not None:
            raise ValueError("share_keepalive_seconds requires share_key")
        session, stop = start(module, sandbox, call_timeout, transport)
        return session, stop, session.load
    if not isinstance(share_key, str):
        raise TypeError(f"share_key must be a str or None, not {type(share_key).__name__}")
    with _lock:
        entry, _ = _get_or_start(
            share_key, module, sandbox, call_timeout, keepalive, transport
        )
        entry.cancel_keepalive()
        entry.holders += 1
    released = []

    def release():
        with _lock:
            if released:
                return
            released.append(True)
            entry.holders -= 1
            if entry.holders == 0 and _shared.get(share_key) is entry:
                _idle(entry)

    return entry.session, release, entry.load


def prewarm(share_key, sandbox, call_timeout, keepalive, transport, preload=()):
    """Start the shared child for share_key now, and load the targets of
    `preload` ((module, qualname) pairs) into it. True if this call started
    it, False if it was already running (with the same settings); the
    targets are loaded either way. A child this call started is stopped
    again when it cannot boot or load a target; a running one is left as
    it was (others may hold it)."""
    if not isinstance(share_key, str):
        raise TypeError(f"share_key must be a str, not {type(share_key).__name__}")
    with _lock:
        # The first target's package gets the path grants, as it would
        # from the first extradite() with this key.
        entry, new = _get_or_start(
            share_key, preload[0][0] if preload else None,
            sandbox, call_timeout, keepalive, transport,
        )
        try:
            if new:
                # Return with the child confined and serving, not booting.
                entry.session.ping()
            for module, qualname in preload:
                entry.load(module, qualname)
        except BaseException:
            if new:
                _drop(entry)
            raise
        if new and keepalive is not None:
            _idle(entry)  # nobody holds it yet: the keep-alive clock runs
    return new


def close_shared(share_key):
    """Stop the shared child for share_key. True if there was one; classes
    still using it get ExtraditeProtocolError from then on."""
    with _lock:
        entry = _shared.get(share_key)
        if entry is None:
            return False
        _drop(entry)
    return True


@atexit.register
def _close_everything():
    with _lock:
        for entry in list(_shared.values()):
            _drop(entry)
    for session in list(_open_sessions):
        session.close()
    _core.drop_spare()  # the child started ahead for a next session


def _after_fork_in_child():
    """A forked process: the children, the sessions' books and the reaper
    are its parent's, and a lock another thread held at the fork stays
    held. Start over with fresh locks and empty books; the inherited
    sessions only let go of their fds here (the C core refuses to use or
    stop them), and the spare child is forgotten, not stopped."""
    global _lock, _reaper_wake
    _lock = threading.RLock()
    _reaper_wake = threading.Condition(_lock)
    _reaper.update(thread=None, stop=False)
    _shared.clear()
    _core.forked()
    _core.drop_spare()


os.register_at_fork(after_in_child=_after_fork_in_child)
