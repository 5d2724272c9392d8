"""Helpers for the fault-injection tests (a plain module: every conftest.py
is imported as "conftest")."""

import os
import signal
import threading

import pytest

import extradite
from xtd_support import gone, open_fds

WORKER = "xtd_robust.worker:Worker"
# No fault may hang the suite: every class gets this backstop, and a call
# that reaches it fails the test (a timeout is not the expected error).
BACKSTOP_TIMEOUT = 60.0


def spawn(sandbox="default", call_timeout=BACKSTOP_TIMEOUT, **kw):
    """(class, instance, child pid) of a fresh private child."""
    cls = extradite.extradite(WORKER, sandbox=sandbox, call_timeout=call_timeout, **kw)
    worker = cls()
    return cls, worker, cls.__extradite_session__.pid


def next_request_id(cls):
    """The id of the parent's next request (ids count round trips)."""
    return cls.__extradite_session__.requests + 1


class KillLater:
    """SIGKILL a child `delay` seconds from now, through a pidfd so a
    recycled pid is never hit."""

    def __init__(self, pid, delay):
        self.pidfd = os.pidfd_open(pid)
        self.timer = threading.Timer(delay, self._kill)
        self.timer.start()

    def _kill(self):
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone and reaped

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.timer.join()
        os.close(self.pidfd)


def memfds():
    """Our fds that are memfds (out-of-band buffers)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/memfd:"):
            found.append((fd, target))
    return found


class Faults:
    """Counts what the injected faults did; checks what every one must
    leave behind."""

    def __init__(self, name):
        self.name = name
        self.kills = 0
        self.outcomes = {}
        self.fds = open_fds()

    def outcome(self, what):
        self.outcomes[what] = self.outcomes.get(what, 0) + 1

    def raised(self, excinfo_or_exc, what="ExtraditeProtocolError"):
        """A call the fault hit: exactly ExtraditeProtocolError (not the
        timeout backstop, not another error)."""
        exc = getattr(excinfo_or_exc, "value", excinfo_or_exc)
        assert isinstance(exc, extradite.ExtraditeProtocolError), repr(exc)
        assert not isinstance(exc, extradite.ExtraditeTimeoutError), repr(exc)
        self.outcome(what)

    def after_kill(self, cls, pid):
        """The class is dead, the child reaped, nothing of it left open."""
        self.kills += 1
        with pytest.raises(extradite.ExtraditeProtocolError):
            cls.__extradite_session__.ping()
        cls.close()
        assert gone(pid), f"child {pid} still exists"
        leaked = {fd for fd in open_fds() - self.fds if os.path.exists(f"/proc/self/fd/{fd}")}
        assert leaked == set(), f"fds leaked after a kill: {leaked}"
        assert memfds() == []

    def report(self):
        print(f"{self.name}: {self.kills} kills, outcomes {self.outcomes}")

    def parent_still_works(self):
        """A new session after all those deaths works normally."""
        cls, worker, _ = spawn()
        try:
            assert worker.echo([1, "two", 3.0]) == [1, "two", 3.0]
            assert worker.size(b"x" * (1 << 20)) == 1 << 20
        finally:
            cls.close()
