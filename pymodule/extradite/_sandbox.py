"""Sandbox profiles: reading them, checking them, filling in the paths.

A profile is a TOML file (the built-ins live in extradite/policies/), a path
to one, or a mapping of the same shape. Every profile starts from
``strict`` unless it ``extends`` another built-in; its tables then replace
keys one by one. The result is checked here (keys and types) and by the C
core (group, syscall and namespace names; the seccomp filter is compiled
once) before any process starts, so a bad profile never half-starts a
child. Path placeholders are expanded for the target at hand.
"""

import copy
import errno
import os
import re
import sys

from . import _core

# tomllib, tempfile, sysconfig and importlib.machinery are imported where
# they are used: `import extradite` stays cheap (they cost ~15 ms).

BUILTIN = ("strict", "default", "network", "unconfined")
_POLICY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "policies")

# Key -> expected type for every table; `limits` also take "4G"-style sizes.
_SCHEMA = {
    "seccomp": {"enabled": bool, "groups": list, "allow": list, "files_after_load": bool},
    "landlock": {"enabled": bool, "required": bool, "read": list, "write": list},
    "namespaces": {"enabled": list, "required": bool},
    "capabilities": {"drop": bool},
    "limits": {
        "address_space": int,
        "open_files": int,
        "cpu_seconds": int,
        "file_size": int,
        "processes": int,
        "memory": int,
        # The parent's decode budget for each value the child sends
        # (docs/reply-budget.md); 0: no cap.
        "max_reply_memory": int,
        "max_reply_hash_collisions": int,
    },
    "transport": {"child_pickle": bool},
}
_TOP_KEYS = {"description": str, "extends": str}

_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^\{(\w+)\}$")

# Where the dynamic linker finds libraries: extension modules dlopen them
# lazily (binascii needs libz), so they must stay readable (DESIGN §8).
_LIB_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32",
             "/usr/local/lib", "/etc/ld.so.cache", "/etc/ld.so.conf",
             "/etc/ld.so.conf.d")


class _ProfileError(ValueError):
    pass


def _fail(origin, key, reason):
    where = f" key '{key}'" if key else ""
    raise _ProfileError(f"extradite: sandbox profile {origin}:{where}: {reason}")


# path -> ((mtime_ns, size, inode), parsed tables): every extradite() call
# with a share_key reads its profile (to compare it), so parse each file
# version once.
_parsed = {}


def _version(path):
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _read_file(path, read=None):
    """The parsed file (a fresh copy); appends (path, version) to `read`."""
    import tomllib

    try:
        version = _version(path)
        if read is not None:
            read.append((path, version))
        cached = _parsed.get(path)
        if cached is None or cached[0] != version:
            with open(path, "rb") as f:
                cached = _parsed[path] = (version, tomllib.load(f))
        return copy.deepcopy(cached[1])  # callers merge into what they get
    except OSError as e:
        raise _ProfileError(f"extradite: cannot read sandbox profile {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise _ProfileError(f"extradite: sandbox profile {path}: invalid TOML: {e}") from None


def builtin_descriptions():
    """[(name, description)] of the built-in profiles, in BUILTIN order."""
    return [
        (name, _read_file(os.path.join(_POLICY_DIR, f"{name}.toml")).get("description", ""))
        for name in BUILTIN
    ]


def _size(origin, key, value):
    if isinstance(value, bool):
        _fail(origin, key, "must be an integer or a size like '4G'")
    if isinstance(value, int):
        if value < 0:
            _fail(origin, key, "must be >= 0 (0 leaves the limit as inherited)")
        return value
    m = _SIZE.match(value) if isinstance(value, str) else None
    if not m:
        _fail(origin, key, f"must be an integer or a size like '4G', not {value!r}")
    return int(m.group(1)) << (10 * "_KMGT".index(m.group(2).upper() or "_"))


def _check_tables(origin, raw):
    """Unknown keys and wrong types are errors, never ignored."""
    if not isinstance(raw, dict):
        _fail(origin, None, f"must be a table/mapping, not {type(raw).__name__}")
    for key, value in raw.items():
        if key in _TOP_KEYS:
            if not isinstance(value, _TOP_KEYS[key]):
                _fail(origin, key, f"must be a {_TOP_KEYS[key].__name__}")
            continue
        if key not in _SCHEMA:
            _fail(origin, key, f"unknown key (known: {', '.join([*_TOP_KEYS, *_SCHEMA])})")
        if not isinstance(value, dict):
            _fail(origin, key, "must be a table")
        for sub, v in value.items():
            full = f"{key}.{sub}"
            want = _SCHEMA[key].get(sub)
            if want is None:
                _fail(origin, full, f"unknown key (known: {', '.join(_SCHEMA[key])})")
            if key == "limits":
                _size(origin, full, v)
            elif not isinstance(v, want) or (want is int and isinstance(v, bool)):
                _fail(origin, full, f"must be a {want.__name__}, not {type(v).__name__}")
            elif want is list and not all(isinstance(x, str) for x in v):
                _fail(origin, full, "must be a list of strings")


def _resolve(spec, depth=0, read=None):
    """(name, origin, merged tables) for a profile name, path or mapping;
    appends the (path, version) of each file it read to `read`."""
    if isinstance(spec, str) and spec in BUILTIN:
        name, origin = spec, f"'{spec}'"
        raw = _read_file(os.path.join(_POLICY_DIR, f"{spec}.toml"), read)
    elif isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        if not os.path.exists(path):
            raise _ProfileError(
                f"extradite: sandbox {path!r} is neither a built-in profile "
                f"({', '.join(BUILTIN)}) nor an existing profile file"
            )
        name, origin = os.path.splitext(os.path.basename(path))[0], path
        raw = _read_file(path, read)
    elif hasattr(spec, "keys"):
        name, origin = "custom", "<mapping>"
        raw = copy.deepcopy(dict(spec))
    else:
        raise TypeError(
            "sandbox must be a profile name, a path to a profile file or a mapping, "
            f"not {type(spec).__name__}"
        )
    _check_tables(origin, raw)
    # strict is the root every other profile starts from.
    base = raw.get("extends", None if spec == "strict" else "strict")
    if base is None:
        merged = {}
    else:
        if base not in BUILTIN:
            _fail(origin, "extends", f"must name a built-in profile ({', '.join(BUILTIN)})")
        if depth > len(BUILTIN):
            _fail(origin, "extends", "profiles extend each other in a loop")
        merged = _resolve(base, depth + 1, read)[2]
    for key in _SCHEMA:
        merged.setdefault(key, {}).update(raw.get(key, {}))
        missing = set(_SCHEMA[key]) - set(merged[key])
        if missing:
            _fail(origin, f"{key}.{sorted(missing)[0]}", "missing")
    return name, origin, merged


def _target_spec(module, sys_path):
    """The spec of the target's top-level package or module, found without
    importing anything (None: not found)."""
    from importlib.machinery import PathFinder

    return PathFinder.find_spec(module.partition(".")[0], sys_path)


def _target_package(module, sys_path):
    """Where the target's top-level package or module lives, found without
    importing anything."""
    spec = _target_spec(module, sys_path)
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)
    return [spec.origin] if spec.origin and os.path.isabs(spec.origin) else []


def _under(path, dirs):
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


_site_dirs_found = []


def _site_dirs():
    """site-packages and dist-packages directories of this interpreter
    (its own and the user's)."""
    if not _site_dirs_found:
        import site

        dirs = set()
        try:
            dirs.update(site.getsitepackages())
        except AttributeError:  # an old virtualenv's site.py
            pass
        try:
            dirs.add(site.getusersitepackages())
        except AttributeError:
            pass
        _site_dirs_found.append(sorted(os.path.normpath(d) for d in dirs if d))
    return list(_site_dirs_found[0])


def _sys_path_kind(entry):
    """Why a sys.path entry is granted whole ("the standard library",
    "site-packages", "a zip file on sys.path"), or None: a folder of the
    user's (the cwd, a script's folder, a project root), of which only the
    target's package is granted ({target_package})."""
    entry = os.path.normpath(entry)
    if os.path.isfile(entry):
        return "a zip file on sys.path"
    parts = entry.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts or _under(entry, _site_dirs()):
        return "site-packages"
    if _under(entry, _python_dirs()):
        return "the standard library"
    return None


def _python_kind(path):
    parts = os.path.normpath(path).split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts or _under(path, _site_dirs()):
        return "site-packages"
    return "the standard library"


_homes_found = []


def _homes():
    """Home directories: $HOME, ~, and every one the password database
    names. Never granted through a placeholder."""
    if not _homes_found:
        homes = {os.path.expanduser("~"), os.environ.get("HOME") or "/"}
        try:
            import pwd

            homes.update(entry.pw_dir for entry in pwd.getpwall())
        except (ImportError, OSError):
            pass
        _homes_found.append({os.path.normpath(h) for h in homes if h and os.path.isabs(h)})
    return _homes_found[0]


def never_granted(path):
    """Why `path` is never granted through a placeholder (the root, a home
    directory), or None."""
    path = os.path.normpath(path)
    if path == "/":
        return "the root directory"
    if path in _homes():
        return "a home directory"
    return None


_python_dirs_found = []
# repr() of every policy check_policy accepted.
_checked = set()
# repr() of a policy's seccomp table -> its filter compiled for any child
# (_core.seccomp_template), or None: one per profile, whatever the paths.
_templates = {}


def _python_dirs():
    """The interpreter's own directories: fixed for the process, so found
    once (sysconfig's expansion costs a cold start 0.2 ms)."""
    if not _python_dirs_found:
        import sysconfig

        dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        dirs.update(p for p in sysconfig.get_paths().values() if p)
        libdir = sysconfig.get_config_var("LIBDIR")
        if libdir:
            dirs.add(libdir)
        _python_dirs_found.append(sorted(dirs))
    return list(_python_dirs_found[0])


class Prepared:
    """A profile ready for one child: the dict the C core applies, its
    seccomp filter compiled for any child (or None), plus what the parent
    must clean up (the private temp dir)."""

    def __init__(self, name, policy, tmpdir):
        self.name = name
        self.policy = policy
        self.tmpdir = tmpdir
        # [{"path", "access", "reason"}] of every Landlock grant, and the
        # paths a placeholder named that are never granted (/, homes).
        self.grants = []
        self.withheld = []
        # What the child needs to find the target and explain a refused
        # import (_imports.py); None without Landlock.
        self.imports = None
        self.seccomp_template = None
        self.cgroups = None
        # A process forked from this one inherits the object (and the
        # finalizer that calls cleanup at its exit): the directory and the
        # cgroups are not its to remove.
        self.owner = os.getpid()

    def cleanup(self):
        """Remove the child's cgroups and private temp dir, whatever the
        child left in it; a warning names what could not be removed (never
        an exception). Only in the process that prepared them."""
        if self.owner != os.getpid():
            return
        if self.cgroups:
            self.cgroups.remove()
            self.cgroups = None
        if self.tmpdir:
            tmpdir, self.tmpdir = self.tmpdir, None
            failed = remove_tree(tmpdir)
            if failed:
                import warnings

                shown = "; ".join(f"{path!r}: {err}" for path, err in failed[:5])
                more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
                warnings.warn(
                    f"extradite: could not remove all of the child's private temp dir "
                    f"{tmpdir!r}: {shown}{more}. Remove what is left by hand.",
                    RuntimeWarning,
                    stacklevel=2,
                )


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _shown_path(parts):
    """A path for a message: the first and last components when deep."""
    if len(parts) > 6:
        parts = parts[:2] + ["..."] + parts[-3:]
    return os.path.join(*parts)


def _open_dir(name, dir_fd):
    """An fd of the directory `name` (never through a symlink), made
    readable, writable and searchable for us if the child took that away."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        # A directory and not a symlink: _empty_files saw it so, and the
        # child that could swap it is stopped.
        os.chmod(name, 0o700, dir_fd=dir_fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        os.chmod(fd, 0o700)
    except OSError:
        pass  # not ours to change: removal then says what is left
    return fd


def _empty_files(fd, parts, failed):
    """Unlink every non-directory in the directory `fd`; return the names
    of its subdirectories."""
    subdirs = []
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.name)
                    continue
                os.unlink(entry.name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as e:
                failed.append((_shown_path(parts + [entry.name]), e.strerror or str(e)))
    return subdirs


def remove_tree(top):
    """Remove the directory `top` and everything in it, however deep:
    iterative (an explicit stack of names, one directory fd open at a
    time), never following a symlink, restoring permissions the child
    took away. Returns [(path, reason)] of what could not be removed."""
    failed = []
    try:
        fd = os.open(top, _DIR_FLAGS)
    except FileNotFoundError:
        return failed
    except OSError as e:
        return [(top, e.strerror or str(e))]
    try:
        os.chmod(fd, 0o700)
    except OSError:
        pass
    parts = [top]  # the path from top to the directory fd is open on
    pending = [None]  # per level: its subdirectories not entered yet
    try:
        while True:
            if pending[-1] is None:
                pending[-1] = _empty_files(fd, parts, failed)
            if pending[-1]:
                name = pending[-1].pop()
                try:
                    sub = _open_dir(name, fd)
                except FileNotFoundError:
                    continue
                except OSError as e:
                    failed.append((_shown_path(parts + [name]), e.strerror or str(e)))
                    continue
                os.close(fd)
                fd = sub
                parts.append(name)
                pending.append(None)
                continue
            if len(parts) == 1:
                break
            # Back up one level and remove the directory just emptied.
            up = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            name = parts.pop()
            pending.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as e:
                # Not empty because of what failed below: said already.
                if not (failed and e.errno == errno.ENOTEMPTY):
                    failed.append((_shown_path(parts + [name]), e.strerror or str(e)))
    except OSError as e:
        failed.append((_shown_path(parts), e.strerror or str(e)))
        return failed
    finally:
        os.close(fd)
    try:
        os.rmdir(top)
    except FileNotFoundError:
        pass
    except OSError as e:
        if not (failed and e.errno == errno.ENOTEMPTY):
            failed.append((top, e.strerror or str(e)))
    return failed


def _expand(origin, key, entries, values, grants, withheld):
    """The paths of `entries` (placeholders expanded), in order, without
    repeats. Appends to `grants` each path with why it is granted, and to
    `withheld` each path a placeholder named that is never granted."""
    out = {}
    for entry in entries:
        m = _PLACEHOLDER.match(entry)
        if m:
            if m.group(1) not in values:
                _fail(origin, key, f"unknown placeholder {entry} (known: "
                      + ", ".join("{%s}" % k for k in values) + ")")
            for path, reason in values[m.group(1)]():
                path = os.path.normpath(path)
                refused = never_granted(path)
                if refused:
                    withheld.append({"path": path, "placeholder": entry,
                                     "reason": f"{refused} is never granted by a placeholder"})
                else:
                    out.setdefault(path, reason)
        elif not os.path.isabs(entry):
            _fail(origin, key, f"paths must be absolute or a placeholder, not {entry!r}")
        else:
            # Written by the user: theirs to choose (check warns of / and ~).
            out.setdefault(os.path.normpath(entry), f"profile: {key} entry {entry!r}")
    access = key.rpartition(".")[2]
    grants.extend({"path": p, "access": access, "reason": r} for p, r in out.items())
    return list(out)


# name or absolute path -> ([(path, version) of each file read], result):
# every extradite() resolves its profile (and every one with a share_key
# fingerprints it too), 60 us each; the files are only stat'ed again.
_resolved = {}


def _resolve_shared(spec):
    """_resolve(spec), shared between calls while its files are unchanged:
    callers must not change the tables they get."""
    if isinstance(spec, str) and spec in BUILTIN:
        key = spec
    elif isinstance(spec, (str, os.PathLike)):
        key = os.path.abspath(os.fspath(spec))
    else:
        return _resolve(spec)  # a mapping: the caller's, may change
    hit = _resolved.get(key)
    try:
        if hit is not None and all(_version(p) == v for p, v in hit[0]):
            return hit[1]
    except OSError:
        pass  # gone: _resolve says how
    read = []
    result = _resolve(spec, read=read)
    _resolved[key] = (read, result)
    return result


def _imports_hint(name, tables, module, sys_path):
    """For the child's finders (_imports.py): the user's sys.path folders
    (not granted whole), where the target's top-level package was found
    if in one of them, and the profile as written (for the fix it shows)."""
    folders = [p for p in sys_path if p and os.path.isabs(p) and not _sys_path_kind(p)]
    hint = {"profile": name, "read": list(tables["landlock"]["read"]),
            "folders": folders, "top": None, "top_dir": None, "target": module}
    if module and folders:
        spec = _target_spec(module, sys_path)
        where = None
        if spec is not None and spec.submodule_search_locations:
            where = os.path.dirname(os.path.normpath(spec.submodule_search_locations[0]))
        elif spec is not None and spec.origin and os.path.isabs(spec.origin):
            where = os.path.dirname(spec.origin)
        if where in folders:
            hint["top"], hint["top_dir"] = module.partition(".")[0], where
    return hint


def _chosen(sandbox):
    # None: $EXTRADITE_SANDBOX, else "default".
    if sandbox is None:
        return os.environ.get("EXTRADITE_SANDBOX") or "default"
    return sandbox


def fingerprint(sandbox):
    """(name, canonical text) of a profile as written, before placeholders
    are expanded: two users of one shared child must agree on it."""
    name, _origin, tables = _resolve_shared(_chosen(sandbox))
    return name, repr(sorted((k, sorted(v.items())) for k, v in tables.items()))


def prepare(sandbox, module, sys_path):
    """The profile named by `sandbox` as a Prepared for the target `module`
    (None: no target yet, as for a prewarmed child)."""
    name, origin, tables = _resolve_shared(_chosen(sandbox))
    policy = {key: dict(value) for key, value in tables.items()}
    for key in _SCHEMA["limits"]:
        policy["limits"][key] = _size(origin, f"limits.{key}", policy["limits"][key])
    tmpdir = []

    def private_tmp():
        if not tmpdir:
            import tempfile

            tmpdir.append(tempfile.mkdtemp(prefix="extradite-"))
        return tmpdir

    def target_package():
        if not module:
            return []
        reason = "the target's package"
        found = _target_package(module, sys_path)
        if found and not os.path.isdir(found[0]):
            reason = "the target's module"
        return [(p, reason) for p in found]

    values = {
        "python": lambda: [(p, _python_kind(p)) for p in _python_dirs()],
        # Whole: only the interpreter's own and site-packages entries. The
        # cwd, a script's folder or a project root gives only the target's
        # package ({target_package}), never the folder (docs/containment.md).
        "sys_path": lambda: [
            (p, kind) for p in sys_path
            if p and os.path.isabs(p) and (kind := _sys_path_kind(p))
        ],
        "target_package": target_package,
        "libdirs": lambda: [(p, "shared libraries") for p in _LIB_DIRS],
        "proc_self": lambda: [("/proc/self", "the child's own /proc entry")],
        "tmpdir": lambda: [(p, "private temp dir") for p in private_tmp()],
    }
    prepared = Prepared(name, policy, None)
    try:
        for key in ("read", "write"):
            policy["landlock"][key] = _expand(
                origin, f"landlock.{key}", policy["landlock"][key], values,
                prepared.grants, prepared.withheld,
            )
        if policy["landlock"]["enabled"]:
            prepared.imports = _imports_hint(name, tables, module, sys_path)
        prepared.tmpdir = tmpdir[0] if tmpdir else None
        policy = {"name": name, **policy}
        # The same policy (plain data) checks the same: build its filter once.
        key = repr(policy)
        if key not in _checked:
            try:
                _core.check_policy(policy)
            except ValueError as e:
                raise _ProfileError(f"extradite: sandbox profile {origin}: {e}") from None
            _checked.add(key)
        # The filter differs between children only in their pid: compile
        # it once per profile (a millisecond each child would spend).
        key = repr(sorted(policy["seccomp"].items()))
        if key not in _templates:
            try:
                _templates[key] = _core.seccomp_template(policy)
            except OSError:
                # No template (libseccomp made pid-dependent code): each
                # child compiles its own filter, as the learning one does.
                _templates[key] = None
        # Per child, so after the checks above (which cache by content):
        # the cgroup holding the limits rlimits cannot (_cgroup.py).
        if policy["seccomp"]["enabled"] or policy["landlock"]["enabled"]:
            from . import _cgroup

            prepared.cgroups = _cgroup.create(policy["limits"])
            policy = {**policy, "cgroup": prepared.cgroups.policy()}
        prepared.policy = policy
        prepared.seccomp_template = _templates[key]
    except BaseException:
        if tmpdir:
            os.rmdir(tmpdir[0])
        if prepared.cgroups:
            prepared.cgroups.remove()
        raise
    return prepared
