"""File grants by import, not by folder (issue 14, finding 1).

A folder on sys.path that is not Python's own or site-packages (the cwd
that "" stands for, a script's folder, a project root) is never granted
whole: only the target's top-level package in it. Each test runs a parent
in a subprocess, started as `python -c` is (with "" first on sys.path),
from the directory the test is about, so that this process's own cwd and
sys.path decide nothing."""

import json
import os
import subprocess
import sys
import textwrap

from xtd_checks import BACKSTOP_TIMEOUT

PROBER = "extradite._selftest.hostile.grants:GrantProber"

# The parent: extradite `target` under `sandbox` with `entries` first on
# sys.path (after ""), run each (method, argument) on an instance, print
# JSON: per call ["ok", result] or [remote type name, remote message],
# and the landlock part of sandbox_report().
PARENT = textwrap.dedent("""
    import json, sys
    target, sandbox, entries, calls = json.loads(sys.argv[1])
    sys.path[1:1] = entries
    import extradite
    cls = extradite.extradite(target, sandbox=sandbox, call_timeout=%r)
    try:
        obj = cls()
        out = []
        for method, arg in calls:
            try:
                result = getattr(obj, method)(arg)
                out.append(["ok", result.decode("latin-1") if isinstance(result, bytes)
                            else result])
            except extradite.ExtraditeRemoteError as e:
                out.append([e.remote_type_name, e.remote_message])
        print(json.dumps({"calls": out, "landlock": cls.sandbox_report()["landlock"]}))
    finally:
        cls.close()
""" % BACKSTOP_TIMEOUT)


def run_parent(cwd, calls, target=PROBER, entries=(), sandbox="default", env=None):
    argv = json.dumps([target, sandbox, list(entries), calls])
    proc = subprocess.run(
        [sys.executable, "-c", PARENT, argv], cwd=cwd, env=env or dict(os.environ),
        capture_output=True, text=True, timeout=BACKSTOP_TIMEOUT * 2,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def refused(outcome):
    return outcome[0] == "PermissionError"


def make_project(root):
    """A project root: a package re-exporting the prober, a .env beside
    it, and a sibling module the package does not import."""
    pkg = root / "xtd_grants_proj"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"from {PROBER.replace(':', ' import ')}  # noqa\n")
    (pkg / "data.txt").write_text("the package's own data")
    (root / ".env").write_text("API_KEY=hunter2\n")
    (root / "helper.py").write_text("X = 1\n")
    return root


def test_cwd_root_is_not_granted(tmp_path):
    # python -c from /: "" is "/", and once meant the whole file system.
    secret = tmp_path / "secret.txt"
    secret.write_text("the parent's secret")
    out = run_parent("/", [["read", str(secret)], ["read", "/etc/hostname"],
                           ["listdir", "/"]])
    assert all(refused(c) for c in out["calls"]), out["calls"]
    assert "/" not in [g["path"] for g in out["landlock"].get("grants", [])]


def test_home_cwd_is_not_granted(tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_rsa"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    out = run_parent(str(home), [["read", str(key)], ["listdir", str(home)]],
                     env={**os.environ, "HOME": str(home)})
    assert all(refused(c) for c in out["calls"]), out["calls"]


def test_dotenv_beside_the_target_package_is_refused(tmp_path):
    root = make_project(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run_parent(str(elsewhere), [
        ["read", str(root / ".env")],
        ["read", str(root / "helper.py")],
        ["read", str(root / "xtd_grants_proj" / "data.txt")],
    ], target="xtd_grants_proj:GrantProber", entries=[str(root)])
    env, helper, own = out["calls"]
    assert refused(env) and refused(helper), out["calls"]
    assert own == ["ok", "the package's own data"]


def test_sibling_import_names_the_path_and_the_fix(tmp_path):
    root = make_project(tmp_path / "project")
    out = run_parent(str(tmp_path), [["import_module", "helper"]],
                     target="xtd_grants_proj:GrantProber", entries=[str(root)])
    [(type_name, message)] = out["calls"]
    assert type_name == "ModuleNotFoundError", message
    assert str(root / "helper.py") in message
    # the fix: a profile's read line with the path, or learn
    assert f'"{root / "helper.py"}"]' in message and "[landlock]" in message
    assert 'extends = "default"' in message and "extradite learn" in message


def test_sandbox_report_lists_grants_with_reasons(tmp_path):
    root = make_project(tmp_path / "project")
    out = run_parent("/", [], target="xtd_grants_proj:GrantProber", entries=[str(root)])
    grants = {g["path"]: g for g in out["landlock"].get("grants", [])}
    assert grants, out["landlock"]
    assert grants[str(root / "xtd_grants_proj")]["reason"] == "the target's package"
    assert grants["/dev/null"]["reason"] == "profile: landlock.read entry '/dev/null'"
    assert grants["/usr/lib"]["reason"] == "shared libraries"
    reasons = {g["reason"] for g in grants.values()}
    assert "the standard library" in reasons and "site-packages" in reasons
    assert all(g["access"] == "read" for g in grants.values())
    # neither the project root nor the cwd
    assert str(root) not in grants and "/" not in grants


def test_prewarm_without_preload_says_how_to_grant(tmp_path):
    root = make_project(tmp_path / "project")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(1, {str(root)!r})
        import extradite
        extradite.prewarm_extradite_session("k")
        try:
            extradite.extradite("xtd_grants_proj:GrantProber", "k")
        except extradite.ExtraditeRemoteError as e:
            print(e.remote_type_name, e.remote_message)
        finally:
            extradite.close_extradite_session("k")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=BACKSTOP_TIMEOUT * 2)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ModuleNotFoundError"), proc.stdout
    assert str(root / "xtd_grants_proj") in proc.stdout and "preload=" in proc.stdout


def test_check_lists_grants_and_warns_of_root(tmp_path):
    profile = tmp_path / "wide.toml"
    profile.write_text('extends = "default"\n[landlock]\nread = ["{python}", "{sys_path}", '
                       '"{target_package}", "{libdirs}", "{proc_self}", "/"]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "extradite", "check", PROBER, "--sandbox", str(profile)],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=BACKSTOP_TIMEOUT * 2)
    assert proc.returncode == 0, proc.stderr
    assert "(shared libraries)" in proc.stdout
    assert "/  (profile: landlock.read entry '/')" in proc.stdout
    assert "warning: the profile grants read access to /, the root directory" in proc.stderr


def test_the_grant_the_error_shows_lets_the_sibling_import(tmp_path):
    root = make_project(tmp_path / "project")
    from xtd_checks import granting

    profile = tmp_path / "helper.toml"
    read = granting("default", str(root / "helper.py"))["landlock"]["read"]
    profile.write_text('extends = "default"\n[landlock]\nread = [%s]\n'
                       % ", ".join(json.dumps(r) for r in read))
    out = run_parent(str(tmp_path), [["import_module", "helper"], ["read", str(root / ".env")]],
                     target="xtd_grants_proj:GrantProber", entries=[str(root)],
                     sandbox=str(profile))
    imported, env = out["calls"]
    assert imported == ["ok", "helper"]
    assert refused(env)


def test_learn_from_a_data_folder_grants_the_files_not_the_folder(tmp_path):
    # Run from the project root: `python -m` puts the cwd on sys.path. It
    # once made learn conclude that the base profile sufficed.
    root = make_project(tmp_path / "project")
    (root / "data.csv").write_text("a,b\n")
    exercise = tmp_path / "exercise.py"
    exercise.write_text(f"def exercise(P):\n    P().read({str(root / 'data.csv')!r})\n")
    learned = tmp_path / "learned.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "extradite", "learn", "xtd_grants_proj:GrantProber",
         "--exercise", str(exercise), "-o", str(learned)],
        cwd=str(root), capture_output=True, text=True, timeout=BACKSTOP_TIMEOUT * 2)
    assert proc.returncode == 0, proc.stderr
    text = learned.read_text()
    assert f'"{root / "data.csv"}",' in text
    assert f'"{root}",' not in text and ".env" not in text
    out = run_parent(str(tmp_path), [["read", str(root / "data.csv")], ["read", str(root / ".env")]],
                     target="xtd_grants_proj:GrantProber", entries=[str(root)],
                     sandbox=str(learned))
    assert out["calls"][0] == ["ok", "a,b\n"] and refused(out["calls"][1]), out["calls"]


def test_no_placeholder_grants_the_root_or_a_home(monkeypatch):
    # Were {python} ever to name / or a home directory, it is left out.
    from extradite import _sandbox

    home = os.path.expanduser("~")
    monkeypatch.setattr(_sandbox, "_python_dirs", lambda: ["/", home, sys.prefix])
    prepared = _sandbox.prepare("default", "extradite._selftest.hostile.grants", list(sys.path))
    try:
        read = prepared.policy["landlock"]["read"]
        assert "/" not in read and home not in read and os.path.normpath(sys.prefix) in read
        withheld = {w["path"]: w for w in prepared.withheld}
        assert withheld["/"]["placeholder"] == "{python}"
        assert "never granted" in withheld[home]["reason"]
    finally:
        prepared.cleanup()
