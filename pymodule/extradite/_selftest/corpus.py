"""The hostile corpus: escape attempts, and what a profile should do to each.

Every attempt is a method of one of the hostile classes in hostile/ (run
only in a child, never imported here), with its arguments and a rule that
says, from the profile, whether the attempt should trap (the child is
killed and reported), be refused (an errno, PermissionError, MemoryError)
or go through. `python -m extradite selftest` runs them against a profile;
tests/security/test_corpus.py runs them against every confined built-in,
and the other tests there use the same hostile classes with finer checks.
"""

import errno
import os
import platform
import traceback

from .. import _core, _sandbox
from .syscalls import NR, TRAPPED

HOSTILE = "extradite._selftest.hostile"

TRAP = "trapped"
REFUSE = "refused"
ENOSYS = "enosys"
ALLOW = "allowed"
TIMEOUT = "timeout"  # the call ended at its call_timeout, the child killed

TIOCSTI = 0x5412  # pushes bytes into a terminal's input queue


class Profile:
    """What the rules need to know of a profile: its tables as written,
    and its Landlock grants as expanded for the hostile package."""

    def __init__(self, tables, landlock_paths):
        self.seccomp = tables["seccomp"]["enabled"]
        self.groups = set(tables["seccomp"]["groups"]) if self.seccomp else set()
        self.allow = set(tables["seccomp"]["allow"])
        self.files_after_load = tables["seccomp"]["files_after_load"] or not self.seccomp
        self.landlock = tables["landlock"]["enabled"]
        self.confined = self.seccomp or self.landlock
        self.read = [os.path.realpath(p) for p in landlock_paths["read"]]
        self.write = [os.path.realpath(p) for p in landlock_paths["write"]]
        self.namespaces = set(tables["namespaces"]["enabled"])
        # An ASan build never applies RLIMIT_AS (sandbox/asan_build.h): its
        # shadow memory needs terabytes of address space.
        self.address_space = 0 if _core._asan_build else _sandbox._size(
            "", "", tables["limits"]["address_space"])
        self.file_size = _sandbox._size("", "", tables["limits"]["file_size"])
        self.processes = _sandbox._size("", "", tables["limits"]["processes"])
        self.ctx = {}  # the run's paths and port (runner.py)

    def has(self, group):
        return not self.seccomp or group in self.groups

    def may_read(self, path):
        """Once loaded (every attempt runs then): strict opens nothing."""
        return self.files_after_load and (
            not self.landlock or _under(os.path.realpath(path), self.read + self.write))

    def may_write(self, path):
        return self.has("files_write") and (
            not self.landlock or _under(os.path.realpath(path), self.write))


def _under(path, grants):
    return any(path == g or path.startswith(g.rstrip("/") + "/") for g in grants)


class Attempt:
    """name: short and unique; target: 'module:Class' under hostile/;
    args(ctx): the method's arguments; expect(profile): TRAP, REFUSE,
    ENOSYS, TIMEOUT or ALLOW; outcome(result): how a normal return reads
    (default: it went through); on_error(exc): how an ExtraditeRemoteError
    reads (default: an error); safe: harmless even where the profile
    allows it (if not, it is not run there); call_timeout: the session's
    (None: the runner's); where: see below."""

    def __init__(self, name, what, target, method, args=(), expect=None,
                 outcome=None, safe=True, cleanup=None, on_error=None,
                 call_timeout=None, where=None):
        self.name = name
        self.what = what
        self.target = f"{HOSTILE}.{target}"
        self.method = method
        self.args = args if callable(args) else (lambda ctx, a=tuple(args): a)
        self.expect = expect
        self.outcome = outcome or (lambda result: (ALLOW, repr(result)[:40]))
        self.safe = safe
        self.cleanup = cleanup
        self.on_error = on_error
        self.call_timeout = call_timeout
        # where(ctx) -> (cwd, entries): the child is started from that
        # directory with "" and entries first on sys.path (None: as is)
        self.where = where


def _raw(result):
    """A raw syscall's (return value, errno)."""
    ret, err = result
    if ret == -1 and err == errno.ENOSYS:
        return ENOSYS, "ENOSYS"
    if ret == -1 and err in (errno.EPERM, errno.EACCES):
        return REFUSE, errno.errorcode[err]
    return ALLOW, f"returned {ret}" + (f", {errno.errorcode.get(err, err)}" if ret == -1 else "")


def _errno_only(result):
    return _raw((-1 if result else 0, result))


def _trap(p):
    return TRAP if p.seccomp else ALLOW


def _always_refused(p):
    """What no profile's child may do (the parent holds it, not the
    sandbox)."""
    return REFUSE


def _confined_refuses(p):
    """What the parent's exposure rule refuses wherever it applies (every
    profile with seccomp or Landlock on)."""
    return REFUSE if p.confined else ALLOW


def _seccomp_refuses(p):
    return REFUSE if p.seccomp else ALLOW


def _metadata_by_path(p):
    """Metadata writes by path (chmod, utime, setxattr): Landlock governs
    none, so a confined profile refuses them even in its write grants,
    unless it allows one outright with seccomp.allow."""
    writers = {"chmod", "fchmodat", "fchmodat2", "utimensat", "setxattr"}
    return REFUSE if p.seccomp and not p.allow & writers else ALLOW


def _nothing_found(result):
    return (ALLOW, f"found {result!r}"[:40]) if result else (REFUSE, "nothing found")


def _kernel():
    out = []
    for name in sorted(TRAPPED):
        out.append(Attempt(
            f"kernel/{name}", f"call {name} (harmless arguments)", "kernel:KernelAttacker",
            "trap", (name,), _trap, _raw,
            # let through, ptrace(TRACEME) would make the caller our tracee
            safe=name not in ("ptrace", "personality", "unshare", "userfaultfd")))
    out.append(Attempt(
        "kernel/ptrace-from-thread", "call ptrace from a second thread",
        "kernel:KernelAttacker", "trap_in_thread", ("ptrace",), _trap, _raw, safe=False))
    out.append(Attempt(
        "kernel/clone3", "clone3 (its flags are out of the filter's reach)",
        "kernel:KernelAttacker", "clone3", (), lambda p: ENOSYS if p.seccomp else ALLOW,
        _errno_only))
    return out


def _files():
    reads = {
        "/etc/shadow": "/etc/shadow",
        "/etc/passwd": "/etc/passwd",
        "parent's file": "{secret}",
        "/proc/self/root": "/proc/self/root/etc/passwd",
    }
    out = []
    for label, path in reads.items():
        out.append(Attempt(
            f"files/read {label}", f"read {path}", "files:FileAttacker", "read",
            lambda ctx, path=path: (path.format(**ctx),),
            lambda p, path=path: ALLOW if p.may_read(
                "/etc/passwd" if path.startswith("/proc/self/root") else
                path.format(**p.ctx)) else REFUSE))
    out += [
        Attempt("files/listdir /", "list the root directory", "files:FileAttacker",
                "listdir", ("/",), lambda p: ALLOW if p.may_read("/") else REFUSE),
        Attempt("files/write new", "create a file in the parent's temp dir",
                "files:FileAttacker", "write",
                lambda ctx: (os.path.join(ctx["tmp"], "dropped"), b"x"),
                lambda p: ALLOW if p.may_write(os.path.join(p.ctx["tmp"], "x")) else REFUSE),
        Attempt("files/overwrite", "overwrite the parent's file", "files:FileAttacker",
                "write", lambda ctx: (ctx["secret"], b"clobbered"),
                lambda p: ALLOW if p.may_write(os.path.join(p.ctx["tmp"], "x")) else REFUSE),
    ]
    mutations = {
        "mkdir": lambda ctx: (os.path.join(ctx["tmp"], "newdir"),),
        "unlink": lambda ctx: (ctx["victim"],),
        "rename": lambda ctx: (ctx["victim"], os.path.join(ctx["tmp"], "moved")),
        "symlink": lambda ctx: ("/etc/shadow", os.path.join(ctx["tmp"], "link")),
        "link": lambda ctx: (ctx["secret"], os.path.join(ctx["tmp"], "hard")),
        "chmod": lambda ctx: (ctx["secret"], 0o777),
        "truncate": lambda ctx: (ctx["secret"], 0),
    }
    for method, args in mutations.items():
        out.append(Attempt(
            f"files/{method}", f"{method} in the parent's temp dir", "files:FileAttacker",
            method, args, _metadata_by_path if method == "chmod" else
            lambda p: ALLOW if p.may_write(os.path.join(p.ctx["tmp"], "x")) else REFUSE))
    installed = {
        "stdlib os.py": lambda ctx: (os.__file__,),
        "extradite": lambda ctx: (os.path.join(ctx["package"], "_proxy.py"),),
    }
    for label, args in installed.items():
        out.append(Attempt(
            f"files/open-rw {label}", f"open {label} for writing (writes nothing)",
            "files:FileAttacker", "open_rw", args,
            lambda p, args=args: ALLOW if p.may_write(
                args({"package": _package()})[0]) else REFUSE))
    out.append(Attempt(
        "files/plant in extradite", "create a module inside extradite's package",
        "files:FileAttacker", "create",
        lambda ctx: (os.path.join(ctx["package"], "xtd_planted.py"),),
        lambda p: ALLOW if p.may_write(os.path.join(_package(), "x")) else REFUSE,
        cleanup=lambda ctx: _unlink(os.path.join(ctx["package"], "xtd_planted.py"))))
    # A folder on sys.path that is not Python's own or site-packages is
    # never granted whole, whatever it holds.
    placed = {
        "with cwd /": ("{secret}", lambda ctx: ("/", [])),
        "~/.ssh with cwd ~": ("{home}/.ssh/id_rsa", lambda ctx: (ctx["home"], [])),
        ".env beside a sys.path entry": (
            "{project}/.env", lambda ctx: (ctx["tmp"], [ctx["project"]])),
    }
    for label, (path, where) in placed.items():
        out.append(Attempt(
            f"files/read {label}", f"read {path} ('' on sys.path)", "files:FileAttacker",
            "read", lambda ctx, path=path: (path.format(**ctx),),
            lambda p, path=path: ALLOW if p.may_read(path.format(**p.ctx)) else REFUSE,
            where=where))
    out.append(Attempt(
        "files/read after load", "read a file of sys.path once loaded",
        "files:FileAttacker", "read", lambda ctx: (os.path.join(ctx["package"], "__init__.py"),),
        lambda p: ALLOW if p.may_read(_package()) else REFUSE))
    return out


def _network():
    def sockets(p):
        return ALLOW if p.has("network") else REFUSE

    def reach(p):
        return ALLOW if p.has("network") and "net" not in p.namespaces else REFUSE

    return [
        Attempt("network/tcp socket", "create an AF_INET socket", "network:NetAttacker",
                "tcp_socket", (), sockets),
        Attempt("network/connect", "connect to the parent's 127.0.0.1 listener",
                "network:NetAttacker", "connect",
                lambda ctx: ("127.0.0.1", ctx["port"], b"selftest"), reach),
        Attempt("network/unix socket", "create an AF_UNIX socket", "network:NetAttacker",
                "unix_socket", (), _seccomp_refuses),
        Attempt("network/netlink socket", "create an AF_NETLINK socket",
                "network:NetAttacker", "netlink_socket", (), _seccomp_refuses),
        Attempt("network/packet socket", "create an AF_PACKET socket",
                "network:NetAttacker", "packet_socket", (), _seccomp_refuses),
    ]


def _containment():
    """What neither Landlock nor the namespaces hold: host unix sockets,
    setuid bits, metadata by path, memfd pages, threads."""
    def told_apart(result):
        return (ALLOW, "told them apart") if result else (REFUSE, "same answers")

    def metadata(p):
        return ALLOW if p.files_after_load and p.has("files_read") else REFUSE

    def refused_as(*types):
        def on_error(exc):
            if exc.remote_type_name in types or getattr(exc, "errno", None) == errno.EFBIG:
                return REFUSE, exc.remote_type_name
            return "error", exc.remote_type_name[:40]
        return on_error

    def changed(result):
        through = sorted(k for k, v in result.items() if v == "ok")
        if through:
            return ALLOW, "changed by " + ",".join(through)
        return REFUSE, ",".join(sorted(set(result.values())))[:40]

    def limited(key):
        # not run where nothing limits it: it would really hold the bytes
        return lambda p: REFUSE if getattr(p, key) else ALLOW

    return [
        Attempt("containment/memfd past file_size",
                "write a memfd 16 MiB past limits.file_size (pages RLIMIT_AS misses)",
                "resources:Hog", "memfd_fill",
                lambda ctx: (ctx["file_size"] + (16 << 20),), limited("file_size"),
                safe=False, on_error=refused_as("MemoryError")),
        Attempt("containment/threads past processes",
                "start 44 threads more than limits.processes", "resources:Hog", "threads",
                lambda ctx: (ctx["processes"] + 44,), limited("processes"),
                safe=False, on_error=refused_as("RuntimeError")),
        Attempt("containment/unix datagram to a host socket",
                "socketpair(SOCK_DGRAM) + sendmsg to a host socket path, an fd attached",
                "network:NetAttacker", "unix_datagram_to",
                lambda ctx: (ctx["host_socket"], b"selftest"), _seccomp_refuses),
        Attempt("containment/setuid file", "create a 04755 file in the parent's temp dir",
                "files:FileAttacker", "create_with_mode",
                lambda ctx: (os.path.join(ctx["tmp"], "suid"), 0o4755), _seccomp_refuses,
                cleanup=lambda ctx: _unlink(os.path.join(ctx["tmp"], "suid"))),
        Attempt("containment/metadata by path",
                "chmod/fchmodat/utime/setxattr a file of the parent's temp dir",
                "files:FileAttacker", "metadata_writes", lambda ctx: (ctx["victim"],),
                _metadata_by_path, changed),
        Attempt("containment/path metadata", "stat/access/readlink a file and a missing one",
                "files:FileAttacker", "probe_differs",
                lambda ctx: (ctx["secret"], os.path.join(ctx["tmp"], "absent")), metadata,
                told_apart),
    ]


def _processes():
    return [
        Attempt("processes/fork", "fork", "processes:ProcessAttacker", "fork", (),
                _seccomp_refuses),
        Attempt("processes/execv", "replace itself with /bin/true",
                "processes:ProcessAttacker", "execv", (), _seccomp_refuses, safe=False),
        Attempt("processes/subprocess", "run /bin/true", "processes:ProcessAttacker",
                "run", (), _seccomp_refuses),
        Attempt("processes/posix_spawn", "posix_spawn /bin/true",
                "processes:ProcessAttacker", "posix_spawn", (), _seccomp_refuses),
        Attempt("processes/signal parent", "send signal 0 to the parent",
                "processes:ProcessAttacker", "kill_parent", (0,), _seccomp_refuses),
        Attempt("processes/ptrace parent", "PTRACE_SEIZE the parent",
                "processes:ProcessAttacker", "seize_parent", (), _trap, _raw, safe=False),
        Attempt("processes/fork bomb", "fork 16 times", "resources:Hog", "fork_bomb", (),
                _seccomp_refuses),
    ]


def _bypass():
    out = [
        Attempt("bypass/ioctl high bits", "TIOCSTI with bit 32 set (low-32 compare)",
                "bypass:BypassAttacker", "ioctl", (0, (1 << 32) | TIOCSTI),
                _seccomp_refuses, _errno_only),
        # rt_sigaction(SIGSYS) is refused, so the ptrace is never reached
        Attempt("bypass/SIGSYS ignored", "ignore SIGSYS, then call ptrace",
                "bypass:BypassAttacker", "ptrace_with_sigsys_ignored", (),
                _seccomp_refuses, _raw, safe=False),
    ]
    if platform.machine() == "x86_64" and NR:
        out += [
            Attempt("bypass/x32 getpid", "getpid through the x32 ABI",
                    "bypass:BypassAttacker", "x32", ("getpid",), _trap, _raw),
            Attempt("bypass/int 0x80", "getpid through the i386 entry",
                    "bypass:BypassAttacker", "int80", (), _trap,
                    lambda r: (ALLOW, f"returned {r}")),
        ]
    return out


def _inherited():
    return [
        Attempt("inherited/fds", "look for inherited fds 4..1024", "inherited:Snoop",
                "open_fds_between", (4, 1024), lambda p: REFUSE, _nothing_found),
        Attempt("inherited/environment", "look for the parent's environment",
                "inherited:Snoop", "environ", (), lambda p: REFUSE,
                lambda env: _nothing_found(
                    [k for k in env if k == "EXTRADITE_SELFTEST_SECRET"])),
        Attempt("inherited/parent environ", "read the parent's /proc/PID/environ",
                "inherited:Snoop", "read", lambda ctx: (f"/proc/{os.getpid()}/environ",),
                lambda p: ALLOW if p.may_read("/proc/1") else REFUSE),
        Attempt("resources/8 GiB", "allocate 8 GiB", "resources:Hog", "allocate",
                (8 << 30,), lambda p: REFUSE if 0 < p.address_space < 8 << 30 else ALLOW,
                safe=False),
    ]


def _capabilities():
    """A child handed ordinary parent objects walks to the parent's eval
    (gen.gi_frame.f_builtins["eval"]): refused wherever the exposure rule
    applies (docs/security-model.md). Not run elsewhere: it would run code
    in this process."""

    def walk(make):
        def args(ctx):
            marker = os.path.join(ctx["tmp"], "frame-walk-ran")
            return make(), f"open({marker!r}, 'w').close()"
        return args

    def outcome(result):
        return (REFUSE, "no frame reached") if result.startswith("refused") else (
            ALLOW, result[:40])

    def generator():
        yield 1

    class Iterable:
        def __iter__(self):
            yield 1

    ways = [
        ("generator", "a generator argument", lambda: generator()),
        ("generator function", "a generator-function callback", lambda: generator),
        ("enum class", "an Enum class (iterating it makes a generator)",
         _an_enum_class),
        ("__iter__ generator", "an object whose __iter__ is a generator", lambda: Iterable()),
    ]
    return [Attempt(f"capabilities/frame walk: {name}",
                    f"walk {what} to the parent's eval", "walker:Walker", "frame_walk",
                    walk(make), expect=_confined_refuses, outcome=outcome, safe=False)
            for name, what, make in ways]


def _an_enum_class():
    import enum

    return enum.Enum("Signals", ["HUP", "INT"])


# What must never reach the terminal raw: ESC, BEL, the C1 CSI, a bidi
# override (docs/remote-errors.md).
_RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def _raw_controls(text):
    return any(c in text for c in _RAW_CONTROLS)


def _shown_raw(exc):
    """An error whose printed form (message, notes, traceback) carries the
    child's escape sequences raw."""
    shown = "".join(traceback.format_exception(exc))
    return (ALLOW, "raw escape sequences in the error") if _raw_controls(shown) else (
        REFUSE, "escaped")


def _stop_iteration(exc):
    if isinstance(exc, (StopIteration, StopAsyncIteration)):
        return ALLOW, "a StopIteration: it would end the caller's loop"
    return REFUSE, "an ExtraditeRemoteError"


def _parent_callback():
    """Fails with a secret only in this source (the comment on the raise)."""
    raise ValueError("callback failed")  # selftest-parent-source-secret


def _saw_parent_source(seen):
    if ("selftest-parent-" + "source-secret") in seen:
        return ALLOW, "saw the parent's source line"
    return REFUSE, "type and message only"


def _text():
    reporter = "remote_text:Reporter"
    return [
        Attempt("text/StopIteration", "end the parent's loop with a StopIteration",
                reporter, "stop_at", (2,), _always_refused, on_error=_stop_iteration),
        Attempt("text/escapes in an error", "escape sequences in a message and a note",
                reporter, "raise_escapes", (), _always_refused, on_error=_shown_raw),
        Attempt("text/escapes in a type name", "escape sequences in an error's type name",
                reporter, "raise_escape_type", (), _always_refused, on_error=_shown_raw),
        Attempt("text/escapes in a repr", "escape sequences in an object's repr",
                reporter, "escaping", (), _always_refused,
                lambda obj: (ALLOW, "raw escape sequences") if _raw_controls(repr(obj))
                else (REFUSE, "escaped")),
        # unconfined keeps the seed's behaviour: the whole traceback
        Attempt("text/parent's source", "read the parent's source in a callback's error",
                reporter, "callback_error_seen", (_parent_callback,),
                _confined_refuses, _saw_parent_source),
    ]


def _a_little_work():
    """The parent's callback the flood calls: slower than the requests
    come, so the parent always finds one waiting."""
    import time

    time.sleep(0.0005)


def _flooded(result):
    if result.startswith("flooded"):
        return ALLOW, "the call outlived its call_timeout"
    return REFUSE, result[:40]  # no rings to flood


def _deadlines():
    return [
        Attempt("deadline/ring_flood",
                "hold a call past call_timeout=1 s with callback requests "
                "written straight into the frame ring",
                "flood:Flooder", "ring_flood", lambda ctx: (_a_little_work, 8),
                lambda p: TIMEOUT, _flooded, call_timeout=1.0),
    ]


def _budget():
    """Replies whose few bytes would cost the parent far more:
    refused, with the child killed, by the parent's decode budget
    (docs/reply-budget.md). Each writes a forged reply to the call it
    serves, whose id the runner puts in ctx."""
    def rid(*rest):
        return lambda ctx: (ctx["request_id"], *rest)

    return [
        Attempt("budget/hash_flood", "reply a set of 30,000 ints with one hash",
                "budget:HashFlooder", "hash_flood", rid("set", 30000), _always_refused),
        Attempt("budget/amplification", "reply 16 MiB of packed int16s (~320 MB built)",
                "budget:Amplifier", "amplification", rid(1, 8_000_000), _always_refused),
        Attempt("budget/arena_refs", "reply one 8 MiB arena region named 40 times",
                "budget:ArenaNamer", "arena_refs", rid(40), _always_refused),
    ]


def _package():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _lifetime():
    # PDEATHSIG is the kernel's own bound on a child spawned from the main
    # thread; the watchdog (sandbox/watchdog.h) ends any child whose channel
    # hung up, so clearing it where allowed (unconfined) is harmless.
    return [
        Attempt("lifetime/clear death signal",
                "prctl(PR_SET_PDEATHSIG, 0), to outlive the parent",
                "lifetime:Lingerer", "clear_death_signal", (), _seccomp_refuses, _raw),
    ]


def attempts():
    """Every attempt, in the order the table prints them."""
    return [*_kernel(), *_files(), *_network(), *_containment(), *_processes(), *_bypass(),
            *_inherited(), *_capabilities(), *_text(), *_deadlines(), *_budget(), *_lifetime()]
