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
# session -> (grants, withheld) of its profile as prepared (_sandbox.py):
# what sandbox_report() lists under "landlock".
_grants = weakref.WeakKeyDictionary()


def report(session):
    """The session's sandbox report (a new dict), with the Landlock grants
    the parent prepared: each path, its access and why it is granted."""
    import copy

    result = copy.deepcopy(session.sandbox_report)
    grants = _grants.get(session)
    if isinstance(result, dict) and isinstance(result.get("landlock"), dict) and grants:
        landlock = result["landlock"]
        if landlock.get("enabled"):
            landlock["grants"] = copy.deepcopy(grants[0])
            landlock["withheld"] = copy.deepcopy(grants[1])
    return result

# share_key -> _Shared; guarded by _lock. The lock guards the books only:
# nobody holds it while a child starts, loads or stops, so a slow or
# hanging child delays only the callers waiting for it (docs/lifetime.md).
_shared = {}
_lock = threading.RLock()
# Wakes those waiting for a shared child that is starting.
_started = threading.Condition(_lock)
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
    if profile.imports is not None:
        options["imports"] = profile.imports
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
    _grants[session] = (profile.grants, profile.withheld)
    # A forked process inherits stop() (and the finalizers calling it);
    # the child and its files stay its parent's.
    owner = os.getpid()

    def stop():
        if os.getpid() == owner:
            session.close()
            cleanup()

    return session, stop


class _Shared:
    """One shared child: its settings, and the classes holding it."""

    def __init__(self, key, settings, keepalive):
        self.key = key
        self.settings = settings
        # None until start() returns; `starting` until the one who started
        # it is done with it (a prewarm's preload): others wait on _started.
        self.session = None
        self._stop = None
        self.starting = True
        self.closed = False  # closed (or forgotten) while starting
        self.keepalive = keepalive
        self.holders = 0
        self.deadline = None  # time.monotonic() when an idle child stops
        # (module, qualname) -> the child's LOAD reply. A loaded target is
        # pinned in the child for its whole life, so loading it again with
        # this key (or after a prewarm preloaded it) needs no round trip.
        self.loaded = {}

    def cancel_keepalive(self):
        self.deadline = None

    def stop(self):
        """Stop the child (idempotent). Called without _lock: a child that
        does not exit by itself takes its grace period to be killed."""
        if self._stop is not None:
            self._stop()

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


def _check_settings(key, entry, settings):
    for name, value in settings.items():
        if entry.settings[name] != value:
            raise ValueError(
                f"extradite: share_key {key!r} is in use with {name}="
                f"{_describe(name, entry.settings[name])}; this call asks for "
                f"{_describe(name, value)}. Every user of a share_key must use "
                "the same settings."
            )


def _get_or_start(key, module, sandbox, call_timeout, keepalive, transport, warm=None):
    """The live _Shared for key and whether this call started it. Called
    without _lock; returns with it held (the caller takes its hold before
    anyone can stop the child). A child that is starting is waited for; a
    new one is started, and then warm(entry) run, without the lock, so only
    the callers of this key wait for it. A child closed while it started
    is stopped and ExtraditeProtocolError raised."""
    settings = _settings(sandbox, call_timeout, keepalive, transport)
    held = False  # returning a running child: keep the lock
    _lock.acquire()
    try:
        while True:
            entry = _shared.get(key)
            if entry is None:
                break
            if not entry.starting and not entry.session.alive:
                _forget(entry)  # its child died: start afresh
                _lock.release()
                try:
                    entry.stop()
                finally:
                    _lock.acquire()
                continue
            _check_settings(key, entry, settings)
            if not entry.starting:
                held = True
                return entry, False
            _started.wait()
        entry = _Shared(key, settings, keepalive)
        _shared[key] = entry
    finally:
        if not held:
            _lock.release()
    closed = _core.ExtraditeProtocolError(
        f"extradite: the shared child for share_key {key!r} was closed "
        "(close_extradite_session, or the interpreter's exit) while it "
        "started; start it again if you still need it"
    )
    try:
        session, stop = start(module, sandbox, call_timeout, transport)
        with _lock:
            entry.session, entry._stop = session, stop
        if not entry.closed and warm is not None:
            warm(entry)
        if entry.closed:
            raise closed
    except BaseException as e:
        with _lock:
            was_closed = entry.closed
            _forget(entry)
            entry.starting = False
            _started.notify_all()
        entry.stop()
        if e is not closed and isinstance(e, _core.ExtraditeError) and was_closed:
            # Its load failed because it was closed meanwhile: say so.
            raise closed from e
        raise
    _lock.acquire()
    entry.starting = False
    _started.notify_all()
    if entry.closed:  # closed just now: its closer stopped it
        _lock.release()
        raise closed
    return entry, True


def _forget(entry):
    """Take entry off the books (its child is stopped by the caller, with
    entry.stop() once _lock is released). Called with _lock held."""
    entry.cancel_keepalive()
    entry.closed = True
    if _shared.get(entry.key) is entry:
        del _shared[entry.key]


def _stop_all(entries):
    """Stop the children of entries already forgotten; without _lock."""
    for entry in entries:
        entry.stop()


def _idle(entry):
    """No class holds the child any more: stop it now, or after the
    keep-alive time if it is still idle then. Called with _lock held;
    True if the caller must stop it (entry.stop()) once it released it."""
    if entry.keepalive is None or not _start_reaper():
        # (no reaper: the interpreter is ending, no keep-alive)
        _forget(entry)
        return True
    entry.deadline = time.monotonic() + entry.keepalive
    _reaper_wake.notify()
    return False


def _reap():
    """The keep-alive reaper: stops each idle shared child once its
    deadline passes; sleeps until the next deadline or a wake-up."""
    _lock.acquire()
    try:
        while not _reaper["stop"]:
            now = time.monotonic()
            due = [e for e in _shared.values() if e.deadline is not None and e.deadline <= now]
            if due:
                for entry in due:
                    _forget(entry)
                _lock.release()
                try:
                    _stop_all(due)
                finally:
                    _lock.acquire()
                continue
            pending = [e.deadline for e in _shared.values() if e.deadline is not None]
            _reaper_wake.wait(min(pending) - now if pending else None)
        _reaper["thread"] = None
    finally:
        _lock.release()


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
        idle = [e for e in _shared.values() if e.deadline is not None]
        for entry in idle:
            _forget(entry)
        _reaper["stop"] = True
        _reaper_wake.notify()
    _stop_all(idle)


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
    entry, _ = _get_or_start(
        share_key, module, sandbox, call_timeout, keepalive, transport
    )
    try:
        entry.cancel_keepalive()
        entry.holders += 1
    finally:
        _lock.release()
    released = []
    # A forked process inherits release() (and the finalizer calling it):
    # the books it would change are its parent's.
    owner = os.getpid()

    def release():
        if os.getpid() != owner:
            return
        with _lock:
            if released:
                return
            released.append(True)
            entry.holders -= 1
            stop = (entry.holders == 0 and _shared.get(share_key) is entry
                    and _idle(entry))
        if stop:
            entry.stop()

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

    def warm(entry):
        # Return with the child confined and serving, not booting, and the
        # targets loaded; meanwhile others with this key wait, and nobody
        # else does (no lock is held here).
        entry.session.ping()
        for module, qualname in preload:
            entry.load(module, qualname)

    # The first target's package gets the path grants, as it would from
    # the first extradite() with this key.
    entry, new = _get_or_start(
        share_key, preload[0][0] if preload else None,
        sandbox, call_timeout, keepalive, transport, warm,
    )
    stop = False
    try:
        if new and keepalive is not None:
            stop = _idle(entry)  # nobody holds it yet: the keep-alive clock runs
    finally:
        _lock.release()
    if stop:
        entry.stop()
    if not new:
        # A running child: load the targets into it, without the lock.
        for module, qualname in preload:
            entry.load(module, qualname)
    return new


def close_shared(share_key):
    """Stop the shared child for share_key. True if there was one; classes
    still using it get ExtraditeProtocolError from then on."""
    with _lock:
        entry = _shared.get(share_key)
        if entry is None:
            return False
        # One still starting is stopped by its starter once start() returns
        # (entry.closed); one that is loading its preload stops now.
        _forget(entry)
    entry.stop()
    return True


@atexit.register
def _close_everything():
    with _lock:
        entries = list(_shared.values())
        for entry in entries:
            _forget(entry)
    _stop_all(entries)
    for session in list(_open_sessions):
        session.close()
    _core.drop_spare()  # the child started ahead for a next session


def _after_fork_in_child():
    """A forked process: the children, the sessions' books and the reaper
    are its parent's, and a lock another thread held at the fork stays
    held. Start over with fresh locks and empty books; the inherited
    sessions let go of their channels at once (the C core refuses to use
    or stop them): a child ends when its channel hangs up, which must
    happen when its parent ends, not when the last process forked from it
    does (sandbox/watchdog.h). The spare child is forgotten, not stopped."""
    global _lock, _reaper_wake, _started
    _lock = threading.RLock()
    _reaper_wake = threading.Condition(_lock)
    _started = threading.Condition(_lock)
    _reaper.update(thread=None, stop=False)
    _shared.clear()
    _core.forked()
    for session in list(_open_sessions):
        session.close()  # inherited: closes our copy of its fds only
    _core.drop_spare()


os.register_at_fork(after_in_child=_after_fork_in_child)
