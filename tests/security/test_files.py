"""Files: reads only inside the grants (nothing at all after load under
strict), writes nowhere, and the Python installation, extradite itself and
the target's own package are read-only."""

import importlib.util
import os
import stat
import sysconfig

import pytest

import extradite
from xtd_checks import CONFINED, assert_remote

TARGET = "extradite._selftest.hostile.files:FileAttacker"
HERE = os.path.dirname(os.path.abspath(__file__))
# The hostile corpus ships with the package (python -m extradite selftest).
HOSTILE = os.path.join(os.path.dirname(os.path.abspath(extradite.__file__)), "_selftest")
STDLIB = sysconfig.get_paths()["stdlib"]
PURELIB = sysconfig.get_paths()["purelib"]


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_bytes(b"parent's secret")
    return path


def outside_paths(secret_file):
    return {
        "passwd": "/etc/passwd",
        "shadow": "/etc/shadow",
        "tmp": str(secret_file),
        # /proc/self is granted; its root link must not open the whole tree
        "proc-self-root": "/proc/self/root/etc/passwd",
    }


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize("which", ["passwd", "shadow", "tmp", "proc-self-root"])
def test_reading_outside_the_grants_is_refused(spawn, secret_file, profile, which):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.read(outside_paths(secret_file)[which])
    assert_remote(info)
    assert attacker.ping() == "pong"


@pytest.mark.parametrize("which", ["passwd", "tmp"])
def test_unconfined_reads_the_same_files(spawn, secret_file, which):
    # control: the refusals above come from the sandbox, not from the method
    path = outside_paths(secret_file)[which]
    with open(path, "rb") as f:
        expected = f.read()
    assert spawn(TARGET, "unconfined")().read(path) == expected


@pytest.mark.parametrize("profile", CONFINED)
def test_listing_the_root_directory_is_refused(spawn, profile):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.listdir("/")
    assert_remote(info)


@pytest.mark.parametrize("profile", CONFINED)
def test_writing_a_new_file_is_refused(spawn, tmp_path, profile):
    target = tmp_path / "dropped.txt"
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.write(str(target), b"written by the child")
    assert_remote(info)
    assert not target.exists()


def test_unconfined_writes_the_same_file(spawn, tmp_path):
    target = tmp_path / "dropped.txt"
    assert spawn(TARGET, "unconfined")().write(str(target), b"written by the child")
    assert target.read_bytes() == b"written by the child"


@pytest.mark.parametrize("profile", CONFINED)
def test_overwriting_an_existing_file_is_refused(spawn, secret_file, profile):
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.write(str(secret_file), b"clobbered")
    assert_remote(info)
    assert secret_file.read_bytes() == b"parent's secret"


# Each: (method, args from (tmp_path, secret_file), check that nothing changed).
def _mutations(tmp_path, secret):
    return {
        "mkdir": (("mkdir", str(tmp_path / "newdir")), lambda: not (tmp_path / "newdir").exists()),
        "unlink": (("unlink", str(secret)), secret.exists),
        "rename": (("rename", str(secret), str(tmp_path / "moved")),
                   lambda: secret.exists() and not (tmp_path / "moved").exists()),
        "symlink": (("symlink", "/etc/shadow", str(tmp_path / "link")),
                    lambda: not os.path.lexists(tmp_path / "link")),
        "hardlink": (("link", str(secret), str(tmp_path / "hard")),
                     lambda: not (tmp_path / "hard").exists()),
        "chmod": (("chmod", str(secret), 0o777),
                  lambda: stat.S_IMODE(secret.stat().st_mode) == 0o600),
        "truncate": (("truncate", str(secret), 0),
                     lambda: secret.read_bytes() == b"parent's secret"),
    }


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize(
    "mutation", ["mkdir", "unlink", "rename", "symlink", "hardlink", "chmod", "truncate"]
)
def test_changing_the_file_system_is_refused(spawn, tmp_path, secret_file, profile, mutation):
    secret_file.chmod(0o600)
    (method, *args), unchanged = _mutations(tmp_path, secret_file)[mutation]
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        getattr(attacker, method)(*args)
    assert_remote(info)
    assert unchanged()


def _installation_files():
    package = os.path.dirname(os.path.abspath(extradite.__file__))
    return {
        "stdlib-module": os.path.join(STDLIB, "os.py"),
        "extradite-itself": os.path.join(package, "_proxy.py"),
        "own-package": os.path.join(HOSTILE, "hostile", "__init__.py"),
        "syscall-table": os.path.join(HOSTILE, "syscalls.py"),
    }


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize(
    "which", ["stdlib-module", "extradite-itself", "own-package", "syscall-table"]
)
def test_opening_installed_code_for_writing_is_refused(spawn, profile, which):
    path = _installation_files()[which]
    assert os.path.exists(path)
    attacker = spawn(TARGET, profile)()
    # open_rw writes nothing even when let through: the refusal is the check
    with pytest.raises(PermissionError) as info:
        attacker.open_rw(path)
    assert_remote(info)


@pytest.mark.parametrize("profile", CONFINED)
@pytest.mark.parametrize(
    "where", ["stdlib", "site-packages-pth", "extradite-package", "own-package"]
)
def test_planting_code_in_the_installation_is_refused(spawn, profile, where):
    package = os.path.dirname(os.path.abspath(extradite.__file__))
    path = {
        "stdlib": os.path.join(STDLIB, "xtd_planted.py"),
        # a .pth file would run code in every later interpreter
        "site-packages-pth": os.path.join(PURELIB, "xtd_planted.pth"),
        "extradite-package": os.path.join(package, "xtd_planted.py"),
        "own-package": os.path.join(HOSTILE, "hostile", "xtd_planted.py"),
    }[where]
    assert not os.path.exists(path)
    attacker = spawn(TARGET, profile)()
    try:
        with pytest.raises(PermissionError) as info:
            attacker.create(path)
        assert_remote(info)
        assert not os.path.exists(path)
    finally:
        if os.path.exists(path):  # the sandbox failed: do not leave it planted
            os.unlink(path)


@pytest.mark.parametrize("profile", CONFINED)
def test_reading_from_sys_path_after_load(spawn, profile):
    # strict allows no open once the target is loaded; the others grant
    # the target's package and site-packages, never a folder of ours on
    # sys.path (this one) beyond the target's package
    ours = os.path.join(HERE, "xtd_checks.py")
    own = os.path.join(os.path.dirname(extradite.__file__), "_selftest", "hostile", "files.py")
    attacker = spawn(TARGET, profile)()
    with pytest.raises(PermissionError) as info:
        attacker.read(ours)
    assert_remote(info)
    if profile == "strict":
        with pytest.raises(PermissionError) as info:
            attacker.read(own)
        assert_remote(info)
    else:
        with open(own, "rb") as f:
            assert attacker.read(own) == f.read()


@pytest.mark.parametrize("profile", ["default", "network"])
def test_reading_the_stdlib_works(spawn, profile):
    path = os.path.join(STDLIB, "os.py")
    with open(path, "rb") as f:
        expected = f.read()
    assert spawn(TARGET, profile)().read(path) == expected


# Extension modules linked to a system library that the child has not loaded
# by itself (zlib, _bz2, _lzma come with shutil).
LINKED_EXTENSIONS = ("_sqlite3", "_ssl", "_curses")


@pytest.mark.parametrize("profile", CONFINED)
def test_late_import_of_an_extension_with_a_shared_library(spawn, profile):
    # e.g. _sqlite3.so needs libsqlite3 from the linker's directories (DESIGN §8)
    name = next((m for m in LINKED_EXTENSIONS if importlib.util.find_spec(m)), None)
    if name is None:
        pytest.skip(f"this Python has none of {LINKED_EXTENSIONS}")
    attacker = spawn(TARGET, profile)()
    if profile == "strict":
        with pytest.raises(ImportError) as info:
            attacker.late_import(name)
        assert isinstance(info.value, extradite.ExtraditeRemoteError)
    else:
        # False: it really was loaded now, after the sandbox went up
        assert attacker.late_import(name) == (False, name)


def test_strict_allows_opens_during_the_import(spawn):
    loaded = spawn("extradite._selftest.hostile.reads_at_import:Loaded", "strict")()
    assert loaded.stdlib_bytes_at_import() == os.path.getsize(os.__file__)
    with pytest.raises(PermissionError) as info:
        loaded.read_now(os.__file__)
    assert_remote(info)
