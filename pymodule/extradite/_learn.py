"""`python -m extradite learn`: run a target with refusals recorded instead
of made, then write the profile that grants exactly what it used.

The recording is the C core's (learn.c): the child loads the base
profile's filter with every refusal turned into a seccomp user
notification, the calls every profile traps still trapping, Landlock off;
it sends the listener with its boot reply and the parent serves it on a
thread, recording each call and letting it continue. Here the records
become grants: a syscall group where the group's argument rules are what
allow the call (opens, sockets, clone), else the syscall by name; Landlock
paths for file accesses outside the base's grants.
"""

import os
import threading
import time

from . import _core, _proxy, _sandbox, _sessions
from ._cli import EXIT_USAGE, CliError

# Calls whose grant must be a group: `allow` by name would let through any
# arguments (a write-open, any socket family, a fork).
_GROUP_ONLY = {"open", "openat", "creat", "socket", "clone"}
# Calls on paths (learn.c records them with their paths); all but the
# opens change the file system, so their paths are write grants.
_PATH_CALLS = {
    "open", "openat", "creat", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "truncate", "link", "linkat", "symlink",
    "symlinkat", "mknod", "mknodat",
}
# Metadata writes by path (sandbox/seccomp_args.c's path_metadata_writers):
# Landlock governs none of them, so `allow` by name would let the target
# change the mode, owner, times or xattrs of any file its uid owns. Never
# learned; the profile says which were used (the fd forms still work).
_METADATA_BY_PATH = {
    "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "utime", "utimes",
    "futimesat", "utimensat", "setxattr", "lsetxattr", "removexattr", "lremovexattr",
    "setxattrat", "removexattrat",
}
# The flags argument of the opens.
_OPEN_FLAGS_ARG = {"open": 1, "openat": 2}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_FLAG_NAMES = [(os.O_CREAT, "O_CREAT"), (os.O_EXCL, "O_EXCL"), (os.O_TRUNC, "O_TRUNC"),
               (os.O_APPEND, "O_APPEND"), (os.O_DIRECTORY, "O_DIRECTORY")]
# Group preference when several would allow a call.
_GROUP_ORDER = ("core", "threads", "files_read", "files_write", "network")


def _load_exercise(path):
    import runpy

    if not os.path.isfile(path):
        raise CliError(f"exercise script {path!r} does not exist", EXIT_USAGE)
    try:
        namespace = runpy.run_path(path, run_name="__extradite_exercise__")
    except Exception as e:
        raise CliError(f"exercise script {path}: {type(e).__name__}: {e}") from None
    exercise = namespace.get("exercise")
    if not callable(exercise):
        raise CliError(f"exercise script {path} defines no exercise(target) function",
                       EXIT_USAGE)
    return exercise


def _open_flags(flags):
    acc = flags & os.O_ACCMODE
    names = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][acc]
    extra = [n for bit, n in _FLAG_NAMES if flags & bit]
    return "|".join([names, *extra])


class _Grant:
    """One grant and the calls that needed it (for its comment)."""

    def __init__(self):
        self.calls = {}  # description -> count
        self.after_load = False

    def add(self, what, after_load):
        self.calls[what] = self.calls.get(what, 0) + 1
        self.after_load |= after_load

    def comment(self, limit=3):
        items = sorted(self.calls.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{w} x{n}" if n > 1 else w for w, n in items[:limit])
        if len(items) > limit:
            text += f", +{len(items) - limit} more"
        return text


def _under(path, grants):
    return any(path == g or path.startswith(g.rstrip("/") + "/") for g in grants)


class _Analysis:
    def __init__(self, tables, expanded, child_pid, loaded_ns):
        self.tables = tables
        self.base_groups = list(tables["seccomp"]["groups"])
        self.base_allow = set(tables["seccomp"]["allow"])
        self.landlock = tables["landlock"]["enabled"]
        self.read_grants = [os.path.realpath(p) for p in expanded["read"]]
        self.write_grants = [os.path.realpath(p) for p in expanded["write"]]
        self.proc_self = "/proc/self" in expanded["read"]
        self.child_pid = child_pid
        self.loaded_ns = loaded_ns
        self.groups = {}      # group -> _Grant
        self.allow = {}       # syscall -> _Grant
        self.read = {}        # path -> _Grant
        self.write = {}       # path -> _Grant
        self.opens_after_load = _Grant()
        self.metadata_by_path = {}  # syscall -> _Grant: used, never granted
        self.missing = 0
        self.unresolved = 0
        self.deferred = []
        # Folders of the user's on sys.path (not Python's own or
        # site-packages): Python's finders list them, but a confined child
        # imports a module granted in one without that (_imports.py), and
        # granting the folder would grant all it holds (.env, keys).
        self.folders = set()
        self.listings = set()

    # -- seccomp --

    def _call(self, name, groups, what, after, rec):
        wanted = [g for g in _GROUP_ORDER if g in groups]
        if set(wanted) & set(self.base_groups) or name in self.base_allow:
            return
        if wanted and (name in _GROUP_ONLY or name in _PATH_CALLS):
            self.groups.setdefault(wanted[0], _Grant()).add(what, after)
        else:
            # decided once every group is known: one may cover it
            self.deferred.append((name, wanted, what, after))

    def _finish_calls(self):
        for name, wanted, what, after in self.deferred:
            covering = [g for g in wanted if g in self.groups]
            if covering:
                self.groups[covering[0]].add(what, after)
            elif name in _METADATA_BY_PATH:
                self.metadata_by_path.setdefault(name, _Grant()).add(what, after)
            else:
                self.allow.setdefault(name, _Grant()).add(what, after)

    # -- Landlock --

    def _granted(self, path, grants):
        if self.proc_self and (path.startswith("/proc/self/") or path == "/proc/self"
                               or _under(path, [f"/proc/{self.child_pid}"])):
            return grants is self.read_grants
        return _under(os.path.realpath(path), grants)

    def _path(self, name, path, write, creates, what, after):
        if path is None or not path.startswith("/"):
            self.unresolved += 1
            return
        path = os.path.normpath(path)
        if not write:
            if self._granted(path, self.read_grants):
                return
            if path in self.folders and os.path.isdir(path):
                self.listings.add(path)
                return
            if not os.path.exists(path):
                self.missing += 1  # a probe that failed anyway
                return
            self.read.setdefault(path, _Grant()).add(what, after)
            return
        # Creating or removing an entry is a right on its directory.
        target = os.path.dirname(path) if creates else path
        if self._granted(target, self.write_grants):
            return
        self.write.setdefault(target, _Grant()).add(what, after)

    def record(self, rec):
        name, groups = _core.learn_classify(rec["nr"], rec["args"], self.child_pid)
        after = rec["time_ns"] > self.loaded_ns
        args = rec["args"]
        paths = rec["paths"]
        if name in _PATH_CALLS:
            if name in _OPEN_FLAGS_ARG or name == "creat":
                flags = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC if name == "creat"
                         else args[_OPEN_FLAGS_ARG[name]] & 0xFFFFFFFF)
                write = bool(flags & _WRITE_FLAGS)
                what = f"{name}({_open_flags(flags)})"
                creates = bool(flags & os.O_CREAT)
                if after and not self.tables["seccomp"]["files_after_load"]:
                    self.opens_after_load.add(f"{name} {paths[0]}", after)
            else:
                write, creates, what = True, True, name
            self._call(name, groups, what, after, rec)
            if self.landlock:
                for path in paths:
                    if path is not None:
                        self._path(name, path, write, creates, f"{what} {path}", after)
            return
        if name == "socket":
            what = f"socket(family {args[0] & 0xFFFFFFFF})"
        elif name == "clone":
            what = f"clone(flags {args[0]:#x})"
        elif name in ("ioctl", "fcntl"):
            what = f"{name}({args[1] & 0xFFFFFFFF:#x})"
        elif name == "prctl":
            what = f"prctl({args[0] & 0xFFFFFFFF})"
        else:
            what = name
        self._call(name, groups, what, after, rec)


def _when(grant):
    return "after the load" if grant.after_load else "during the import"


def _toml_list(key, base_items, base_note, new):
    """key = [ ... ] with the base's items first, then one line per grant."""
    lines = [f"{key} = ["]
    if base_items:
        lines.append(f"    # {base_note}")
        for item in base_items:
            lines.append(f"    {_q(item)},")
    for item, grant in new.items():
        lines.append(f"    {_q(item)},  # {grant.comment()} ({_when(grant)})")
    lines.append("]")
    return lines


def _q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(analysis, base, target, exercise, command):
    a = analysis
    a._finish_calls()
    out = [
        f"# Learned by: {command}",
        f"# Base profile: {base}. Kept from it: its grants, namespaces, limits",
        "# and the calls every profile traps. Added: only what the exercise used,",
        "# each grant with the calls that needed it (count, and whether during",
        "# the import or after the load).",
        f'description = {_q(f"{base} + what {target} used in {os.path.basename(exercise)}")}',
        f"extends = {_q(base)}",
    ]
    seccomp = []
    if a.groups:
        lines = _toml_list("groups", a.base_groups, f"from {base}", a.groups)
        seccomp += lines
        if "network" in a.groups and "net" in a.tables["namespaces"]["enabled"]:
            seccomp.append("# note: the base's net namespace still hides the host's network;"
                           " extend 'network' to reach it")
    if a.allow:
        base_allow = sorted(a.base_allow)
        seccomp += _toml_list("allow", base_allow, f"from {base}", {
            name: a.allow[name] for name in sorted(a.allow)})
    if a.opens_after_load.calls:
        seccomp.append(f"files_after_load = true  # {a.opens_after_load.comment()}")
    if seccomp:
        out += ["", "[seccomp]", *seccomp]
    landlock = []
    if a.read:
        landlock += _toml_list("read", a.tables["landlock"]["read"], f"from {base}",
                               dict(sorted(a.read.items())))
    if a.write:
        landlock += _toml_list("write", a.tables["landlock"]["write"], f"from {base}",
                               dict(sorted(a.write.items())))
    if landlock:
        out += ["", "[landlock]", *landlock]
    if not (seccomp or landlock):
        out += ["", f"# Nothing beyond {base} was used: the base profile suffices."]
    notes = []
    if a.missing:
        notes.append(f"# {a.missing} reads of paths that do not exist were not granted.")
    if a.unresolved:
        notes.append(f"# {a.unresolved} paths could not be resolved and were not granted.")
    if a.metadata_by_path:
        notes.append("# Not granted, metadata writes by path (Landlock does not govern them;"
                     " docs/containment.md):")
        for name, grant in sorted(a.metadata_by_path.items()):
            notes.append(f"#   {name}: {grant.comment()} ({_when(grant)})")
        notes.append("# os.chmod(fd) and os.utime(fd) still work under files_write.")
    for folder in sorted(a.listings):
        notes.append(f"# Not granted: listing {folder} (a folder on sys.path: the files "
                     "granted in it import without it; granting it would grant all of it).")
    if notes:
        out += [""] + notes
    return "\n".join(out) + "\n"


def learn(target, exercise_path, base, call_timeout, command):
    """The learned profile's text. CliError for every user error."""
    try:
        module, qualname = _proxy._parse_target(target)
    except ValueError as e:
        raise CliError(str(e), EXIT_USAGE) from None
    if base not in _sandbox.BUILTIN:
        raise CliError(f"--base must be a built-in profile ({', '.join(_sandbox.BUILTIN)}), "
                       f"not {base!r}: a learned profile extends it", EXIT_USAGE)
    tables = _sandbox._resolve(base)[2]
    if not tables["seccomp"]["enabled"]:
        raise CliError(f"--base {base} has no seccomp filter: there is nothing to learn",
                       EXIT_USAGE)
    exercise = _load_exercise(exercise_path)
    try:
        _core.assert_not_loaded(module)
    except _core.ExtraditeModuleLeakError as e:
        raise CliError(str(e).removeprefix("extradite: "), EXIT_USAGE) from None

    sys_path = _sessions.child_sys_path()
    expanded = _sandbox.prepare(base, module, sys_path)
    try:
        records, dropped, pid, loaded_ns = _record(
            target, module, qualname, base, call_timeout, exercise, exercise_path)
        analysis = _Analysis(tables, expanded.policy["landlock"], pid, loaded_ns)
        analysis.folders = {os.path.normpath(p) for p in expanded.imports["folders"]} \
            if expanded.imports else set()
    finally:
        expanded.cleanup()
    for rec in records:
        analysis.record(rec)
    text = render(analysis, base, target, exercise_path, command)
    if dropped:
        text += f"# {dropped} calls past the recording limit were not analysed.\n"
    _check_result(text)
    return text


def _record(target, module, qualname, base, call_timeout, exercise, exercise_path):
    session, stop = _sessions.start(module, base, call_timeout, learn=True)
    stop_r, stop_w = os.pipe()
    listener = None
    result = []
    thread = None
    try:
        try:
            session.ping()
        except _core.ExtraditeError as e:
            raise CliError(f"the learning child did not start: {e}") from None
        listener = session.take_learn_listener()
        if listener is None:
            raise CliError("the learning child sent no seccomp listener")
        pid = session.pid
        thread = threading.Thread(
            target=lambda: result.append(_core.learn_serve(listener, stop_r)),
            name="extradite-learn", daemon=True)
        thread.start()
        try:
            cls = _proxy._bind(session, stop, session.load, target, module, qualname)
        except _core.ExtraditeError as e:
            from ._cli import _describe_exception

            raise CliError(f"{target} cannot load while learning on {base!r}: "
                           f"{_describe_exception(e)}") from None
        loaded_ns = time.monotonic_ns()
        try:
            exercise(cls)
        except Exception as e:
            from ._cli import _describe_exception

            raise CliError(f"exercise({target}) in {exercise_path} failed: "
                           f"{_describe_exception(e)}") from None
        finally:
            cls.close()
    finally:
        stop()
        if thread is not None:
            # The child is gone, so the listener hangs up; the pipe is the
            # backstop should anything else hold the filter.
            thread.join(10)
            if thread.is_alive():
                os.write(stop_w, b"x")
                thread.join()
        for fd in (stop_r, stop_w, listener):
            if fd is not None:
                os.close(fd)
    if not result:
        raise CliError("recording the child's system calls failed")
    records, dropped = result[0]
    return records, dropped, pid, loaded_ns


def _check_result(text):
    """The learned profile must be one extradite accepts."""
    import tomllib

    raw = tomllib.loads(text)
    _sandbox._check_tables("<learned>", raw)
