"""Running the hostile corpus against one profile (`python -m extradite
selftest`, tests/security/test_corpus.py)."""

import errno
import os
import platform
import shutil
import socket
import sys
import tempfile

from .. import _core, _sandbox, _sessions
from . import corpus

# No attempt may hang the run.
CALL_TIMEOUT = 30.0
# A connect that the network namespace stops fails with one of these.
_NETWORK_REFUSALS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED}


class Result:
    def __init__(self, attempt, expected, outcome, detail):
        self.attempt = attempt
        self.expected = expected
        self.outcome = outcome
        # often the child's own text (a result, an error message): escaped
        # here, once, before it is printed
        self.detail = _core.escape_text(str(detail))

    @property
    def got_through(self):
        """Allowed where the profile should have stopped it."""
        return self.outcome == corpus.ALLOW and self.expected != corpus.ALLOW

    @property
    def status(self):
        if self.got_through:
            return "FAIL"
        if self.outcome == self.expected or self.outcome == "not run":
            return "ok"
        return "differs"


class _placed:
    """While a child starts: the cwd and "" (python -c, the REPL) plus
    `entries` first on sys.path, as (cwd, entries) says; None: as is."""

    def __init__(self, where):
        self.where = where

    def __enter__(self):
        if self.where:
            cwd, entries = self.where
            self.saved = (os.getcwd(), list(sys.path))
            os.chdir(cwd)
            sys.path[:0] = ["", *entries]

    def __exit__(self, *exc):
        if self.where:
            os.chdir(self.saved[0])
            sys.path[:] = self.saved[1]


class Run:
    """One profile's run: its scratch files, a listener, and one child per
    hostile class, started again after an attempt kills it."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        name, _origin, tables = _sandbox._resolve(_sandbox._chosen(sandbox))
        self.name = name
        prepared = _sandbox.prepare(sandbox, corpus.HOSTILE, _sessions.child_sys_path())
        try:
            self.profile = corpus.Profile(tables, prepared.policy["landlock"])
        finally:
            prepared.cleanup()
        self.classes = {}
        self.tmp = tempfile.mkdtemp(prefix="extradite-selftest-")
        secret = os.path.join(self.tmp, "secret.txt")
        victim = os.path.join(self.tmp, "victim.txt")
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        # a host socket path, as /dev/log or journald's: nothing may arrive
        self.host_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.host_socket.bind(os.path.join(self.tmp, "host.sock"))
        self.host_socket.setblocking(False)
        # an inheritable fd the child must not get
        self.bait_fd = os.open(os.devnull, os.O_RDONLY)
        os.set_inheritable(self.bait_fd, True)
        self.ctx = {
            "tmp": self.tmp,
            "secret": secret,
            "victim": victim,
            "port": self.listener.getsockname()[1],
            "host_socket": self.host_socket.getsockname(),
            "package": os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            # a home directory and a project root, each with a secret
            "home": os.path.join(self.tmp, "home"),
            "project": os.path.join(self.tmp, "project"),
        }
        os.makedirs(os.path.join(self.ctx["home"], ".ssh"))
        os.makedirs(self.ctx["project"])
        # the limits under test, or a size nothing refuses if unlimited
        self.ctx["file_size"] = self.profile.file_size or (1 << 20)
        self.ctx["processes"] = self.profile.processes or 4
        self.profile.ctx = self.ctx
        self._env = os.environ.get("EXTRADITE_SELFTEST_SECRET")
        os.environ["EXTRADITE_SELFTEST_SECRET"] = "hunter2"

    def _reset_files(self):
        # what an attempt that got through changed must not decide the next
        for path in (self.ctx["secret"], self.ctx["victim"],
                     os.path.join(self.ctx["home"], ".ssh", "id_rsa"),
                     os.path.join(self.ctx["project"], ".env")):
            with open(path, "wb") as f:
                f.write(b"the parent's secret")
            os.chmod(path, 0o600)

    def close(self):
        for cls in self.classes.values():
            cls.close()
        self.classes.clear()
        self.listener.close()
        self.host_socket.close()
        os.close(self.bait_fd)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self._env is None:
            os.environ.pop("EXTRADITE_SELFTEST_SECRET", None)
        else:
            os.environ["EXTRADITE_SELFTEST_SECRET"] = self._env

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _class(self, target, call_timeout=None, where=None):
        import extradite

        key = (target, call_timeout or CALL_TIMEOUT, where)
        if key not in self.classes:
            with _placed(where and where(self.ctx)):
                self.classes[key] = extradite.extradite(
                    target, sandbox=self.sandbox, call_timeout=key[1])
        return self.classes[key]

    def _drop(self, target, call_timeout=None, where=None):
        cls = self.classes.pop((target, call_timeout or CALL_TIMEOUT, where), None)
        if cls is not None:
            cls.close()

    def run(self, attempt):
        """The Result of one attempt."""
        import extradite

        expected = attempt.expect(self.profile)
        self._reset_files()
        if expected == corpus.ALLOW and not attempt.safe:
            return Result(attempt, expected, "not run", "the profile allows it; not harmless")
        timeout = attempt.call_timeout
        try:
            cls = self._class(attempt.target, timeout, attempt.where)
            obj = cls()
            # the id of the call below: forged replies (corpus._budget) need it
            self.ctx["request_id"] = cls.__extradite_session__.requests + 1
            result = getattr(obj, attempt.method)(*attempt.args(self.ctx))
        except extradite.ExtraditeSandboxViolation as e:
            self._drop(attempt.target, timeout, attempt.where)
            what = e.syscall or ("a foreign ABI" if e.syscall_nr is None else e.syscall_nr)
            return Result(attempt, expected, corpus.TRAP, f"{what}: child killed")
        except extradite.ExtraditeTimeoutError:
            self._drop(attempt.target, timeout, attempt.where)
            return Result(attempt, expected, corpus.TIMEOUT,
                          f"no answer in {timeout or CALL_TIMEOUT:g} s: child killed")
        except extradite.ExtraditeRemoteError as e:
            if attempt.on_error:
                return Result(attempt, expected, *attempt.on_error(e))
            type_name = e.remote_type_name
            if isinstance(e, (PermissionError, MemoryError)) or getattr(
                    e, "errno", None) in _NETWORK_REFUSALS:
                code = getattr(e, "errno", None)
                name = f" ({os.strerror(code)})" if code else ""
                return Result(attempt, expected, corpus.REFUSE, f"{type_name}{name}")
            return Result(attempt, expected, "error",
                          f"{type_name}: {e.remote_message}")
        except extradite.ExtraditeProtocolError as e:
            self._drop(attempt.target, timeout, attempt.where)
            text = str(e).removeprefix("extradite: ")
            if text.startswith("reply budget exceeded"):
                # the decode budget refused the reply and killed the child
                over = next((k for k in ("max_reply_memory", "max_reply_hash_collisions")
                             if f"limits.{k}" in text), "call deadline")
                return Result(attempt, expected, corpus.REFUSE, f"killed: over {over}")
            return Result(attempt, expected, "error", text[:60])
        except extradite.ExtraditeError as e:
            self._drop(attempt.target, timeout, attempt.where)
            return Result(attempt, expected, "error", str(e).removeprefix("extradite: ")[:60])
        finally:
            if attempt.cleanup:
                attempt.cleanup(self.ctx)
        outcome, detail = attempt.outcome(result)
        return Result(attempt, expected, outcome, detail)


def _header(run):
    report = None
    try:
        report = run._class(f"{corpus.HOSTILE}.kernel:KernelAttacker").sandbox_report()
    except _core.ExtraditeError:
        pass
    landlock = (f"Landlock ABI {report['landlock']['abi']}"
                if report and report["landlock"]["enabled"] else "no Landlock")
    ns = ", ".join(report["namespaces"]["entered"]) if report else "?"
    return (f"selftest: profile {run.name!r} on Linux {platform.release()} "
            f"{platform.machine()}, Python {platform.python_version()}, {landlock}, "
            f"namespaces: {ns or 'none'}")


def main(sandbox, only=None, verbose=False, out=None):
    """Print the table; 1 if an attempt got through, else 0."""
    from .._cli import EXIT_USAGE, CliError

    out = out or sys.stdout
    attempts = [a for a in corpus.attempts() if not only or only in a.name]
    if not attempts:
        raise CliError(f"no attempt matches {only!r}", EXIT_USAGE)
    try:
        run = Run(sandbox)
    except (ValueError, TypeError) as e:
        raise CliError(str(e).removeprefix("extradite: "), EXIT_USAGE) from None
    with run:
        print(_header(run), file=out)
        width = max(len(a.name) for a in attempts)
        print(f"{'attempt':<{width}}  {'expected':<8}  {'outcome':<8}  status   detail",
              file=out)
        results = []
        for attempt in attempts:
            r = run.run(attempt)
            results.append(r)
            detail = r.detail if verbose or r.status != "ok" else r.detail[:40]
            print(f"{attempt.name:<{width}}  {r.expected:<8}  {r.outcome:<8}  "
                  f"{r.status:<7}  {detail}", file=out, flush=True)
    through = [r for r in results if r.got_through]
    differs = [r for r in results if r.status == "differs"]
    print(f"\n{len(results)} attempts: {len(results) - len(through) - len(differs)} as "
          f"expected, {len(differs)} differ, {len(through)} got through that should not "
          "have.", file=out)
    if through:
        print("Got through: " + ", ".join(r.attempt.name for r in through), file=out)
    return 1 if through else 0
