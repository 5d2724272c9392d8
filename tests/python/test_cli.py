"""`python -m extradite`: each subcommand run as a user would, in a
subprocess, with its failure cases (one line on stderr, no traceback,
non-zero exit)."""

import ast
import importlib.util
import os
import subprocess
import sys
import textwrap
import tomllib

import pytest

import extradite
from extradite._selftest import corpus, runner

HERE = os.path.dirname(os.path.abspath(__file__))
POLICIES = os.path.join(os.path.dirname(os.path.abspath(extradite.__file__)), "policies")
SUBCOMMANDS = ("profiles", "check", "learn", "selftest")

needs_sqlite = pytest.mark.skipif(
    importlib.util.find_spec("_sqlite3") is None,
    reason="this Python was built without _sqlite3 (the learn example's module)")


def cli(*args, env=None, cwd=HERE, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "extradite", *args], cwd=cwd, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(result, status, *words):
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


# ---- help and usage ------------------------------------------------------


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command):
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m extradite {command}")


def test_no_subcommand_is_a_usage_error():
    result = cli()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "usage:" in result.stderr


# ---- profiles ------------------------------------------------------------


def test_profiles_lists_each_builtin_with_its_description():
    result = cli("profiles")
    assert result.returncode == 0, result.stderr
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1]
            for line in result.stdout.splitlines()[:4]}
    for name in ("strict", "default", "network", "unconfined"):
        with open(os.path.join(POLICIES, f"{name}.toml"), "rb") as f:
            description = tomllib.load(f)["description"]
        assert description
        assert rows[name] == description


# ---- check ---------------------------------------------------------------


def public_methods_in_source(path, cls):
    tree = ast.parse(open(path).read())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    # methods: functions that are not properties
    return sorted(f.name for f in node.body
                  if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
                  and not any(getattr(d, "id", None) == "property"
                              or getattr(d, "attr", None) == "setter"
                              for d in f.decorator_list))


def test_check_prints_the_report_and_the_methods():
    result = cli("check", "xtd_targets.counter:Counter", "--sandbox", "strict")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "xtd_targets.counter:Counter (class), loaded" in out
    report = dict(line.split(None, 1) for line in out.split("sandbox_report():\n")[1]
                  .split("public methods")[0].strip().splitlines())
    assert report["profile"] == "strict"
    assert report["seccomp.groups"] == "core, threads, files_read"
    assert report["seccomp.files_after_load"] == "False"
    methods = [m.strip() for m in out.split("public methods")[1].splitlines()[1:]]
    expected = public_methods_in_source(
        os.path.join(HERE, "xtd_targets", "counter.py"), "Counter")
    assert methods == expected


def test_check_a_target_that_cannot_load_under_strict():
    result = cli("check", "xtd_targets.net_at_import:Probe", "--sandbox", "strict")
    assert_one_line_error(result, 1, "cannot load under profile 'strict'", "PermissionError")


def test_check_the_same_target_under_network():
    result = cli("check", "xtd_targets.net_at_import:Probe", "--sandbox", "network")
    assert result.returncode == 0, result.stderr
    assert "public methods (1):\n  ping" in result.stdout


def test_check_a_missing_module():
    result = cli("check", "xtd_targets.no_such_module:X")
    assert_one_line_error(result, 1, "ModuleNotFoundError", "no_such_module")


def test_check_a_malformed_target():
    result = cli("check", "not a target")
    assert_one_line_error(result, 2, "not of the form 'module.path:ClassName'")


def test_check_an_unknown_profile():
    result = cli("check", "xtd_targets.counter:Counter", "--sandbox", "nonesuch")
    assert_one_line_error(result, 2, "neither a built-in profile")


def test_check_a_profile_file_with_an_unknown_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "default"\n[seccomp]\ngroupz = ["core"]\n')
    result = cli("check", "xtd_targets.counter:Counter", "--sandbox", str(bad))
    assert_one_line_error(result, 2, str(bad), "seccomp.groupz", "unknown key")


# ---- selftest ------------------------------------------------------------


def test_selftest_strict_prints_the_table():
    result = cli("selftest", "--sandbox", "strict")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("selftest: profile 'strict' on Linux")
    rows = [line.split() for line in lines[2:] if line.strip() and "/" in line.split()[0]]
    assert len(rows) == len(corpus.attempts())
    by_name = {line[:28].strip(): line for line in lines[2:]}
    assert "trapped   trapped   ok" in by_name["kernel/ptrace"]
    assert "refused   refused   ok" in by_name["files/read /etc/shadow"]
    assert "0 got through" in result.stdout


def test_selftest_only_and_an_unknown_profile():
    result = cli("selftest", "--only", "kernel/bpf")
    assert result.returncode == 0
    assert "kernel/bpf" in result.stdout and "1 attempts" in result.stdout
    assert_one_line_error(cli("selftest", "--sandbox", "nonesuch"), 2, "nonesuch")
    assert_one_line_error(cli("selftest", "--only", "zzz"), 2, "no attempt matches")


def test_selftest_exits_1_when_an_attempt_gets_through(monkeypatch, capsys):
    # an attempt the rule says must be refused, which "default" in fact allows
    through = corpus.Attempt("fake/read the stdlib", "read os.py", "files:FileAttacker",
                             "read", (os.__file__,), lambda p: corpus.REFUSE)
    monkeypatch.setattr(corpus, "attempts", lambda: [through])
    assert runner.main("default") == 1
    out = capsys.readouterr().out
    assert "fake/read the stdlib" in out and "FAIL" in out
    assert "1 got through that should not have" in out


# ---- learn ---------------------------------------------------------------

SQLITE_EXERCISE = '''
import os


def exercise(connect):
    path = os.path.join(os.environ["LEARN_DIR"], "notes.db")
    db = connect(path)
    db.execute("create table if not exists notes(body text)")
    db.execute("insert into notes values ('hello')")
    db.commit()
    assert db.execute("select count(*) from notes").fetchone()[0] >= 1
    db.close()
'''

# Runs the exercise under a profile, in a fresh interpreter: "ok" or the error.
RUN_UNDER = '''
import runpy, sys, extradite
exercise = runpy.run_path(sys.argv[2])["exercise"]
try:
    target = extradite.extradite(sys.argv[3], sandbox=sys.argv[1])
except Exception as e:
    sys.exit(print("refused:", type(e).__name__, e))
try:
    exercise(target)
    print("ok")
except Exception as e:
    print("refused:", type(e).__name__, e)
finally:
    target.close()
'''


def run_under(profile, exercise, target, env):
    result = subprocess.run(
        [sys.executable, "-c", RUN_UNDER, profile, str(exercise), target], cwd=HERE,
        capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@needs_sqlite
def test_learn_a_profile_for_sqlite3(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    exercise = tmp_path / "exercise_sqlite.py"
    exercise.write_text(SQLITE_EXERCISE)
    learned = tmp_path / "sqlite.toml"
    env = {"LEARN_DIR": str(data)}
    result = cli("learn", "sqlite3:connect", "--exercise", str(exercise), "-o", str(learned),
                 env=env)
    assert result.returncode == 0, result.stderr
    profile = tomllib.loads(learned.read_text())
    assert profile["extends"] == "default"
    # writing the database needs the files_write group and the directory
    assert "files_write" in profile["seccomp"]["groups"]
    assert profile["landlock"]["write"] == [str(data)]
    # one comment per grant: the line says which calls needed it
    write_section = learned.read_text().split("\nwrite = [")[1]
    line = next(l for l in write_section.splitlines() if l.strip().startswith(f'"{data}"'))
    assert "openat(O_RDWR|O_CREAT)" in line and "# " in line

    for f in data.iterdir():
        f.unlink()
    assert run_under("default", exercise, "sqlite3:connect", env).startswith("refused:")
    assert not (data / "notes.db").exists()
    assert run_under(str(learned), exercise, "sqlite3:connect", env) == "ok"
    assert (data / "notes.db").exists()


def test_learn_adds_nothing_for_a_target_the_base_already_fits(tmp_path):
    exercise = tmp_path / "exercise_counter.py"
    exercise.write_text("def exercise(Counter):\n    c = Counter(1)\n"
                        "    assert c.increment(2) == 3\n")
    result = cli("learn", "xtd_targets.counter:Counter", "--exercise", str(exercise))
    assert result.returncode == 0, result.stderr
    profile = tomllib.loads(result.stdout)
    assert profile == {"description": profile["description"], "extends": "default"}
    assert "Nothing beyond default was used" in result.stdout


def test_learn_a_socket_at_import_on_strict(tmp_path):
    exercise = tmp_path / "exercise_probe.py"
    exercise.write_text("def exercise(Probe):\n    assert Probe().ping() == 'pong'\n")
    learned = tmp_path / "probe.toml"
    result = cli("learn", "xtd_targets.net_at_import:Probe", "--exercise", str(exercise),
                 "--base", "strict", "-o", str(learned))
    assert result.returncode == 0, result.stderr
    text = learned.read_text()
    profile = tomllib.loads(text)
    assert profile["extends"] == "strict"
    assert "network" in profile["seccomp"]["groups"]
    assert "socket(family 2) (during the import)" in text
    assert run_under("strict", exercise, "xtd_targets.net_at_import:Probe", {}) \
        .startswith("refused: RemotePermissionError")
    assert run_under(str(learned), exercise, "xtd_targets.net_at_import:Probe", {}) == "ok"


METADATA_EXERCISE = """
import os
def exercise(Files):
    d = os.environ["LEARN_DIR"]
    f = Files()
    f.write(os.path.join(d, "a.txt"), b"x")
    for how in ("utime", "fchmodat"):
        try:
            f.metadata_by_path(os.path.join(d, "a.txt"), how)
        except PermissionError:
            pass
"""


def test_learn_grants_no_metadata_write_by_path(tmp_path):
    """utime(path) and fchmodat(path) are in no group: `allow` by name would
    let the target change any file its uid owns (Landlock does not govern
    them), so learn names them and grants neither."""
    data = tmp_path / "data"
    data.mkdir()
    exercise = tmp_path / "exercise_metadata.py"
    exercise.write_text(METADATA_EXERCISE)
    result = cli("learn", "extradite._selftest.hostile.files:FileAttacker", "--exercise",
                 str(exercise), env={"LEARN_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    profile = tomllib.loads(result.stdout)
    assert "files_write" in profile["seccomp"]["groups"]
    allowed = set(profile["seccomp"].get("allow", []))
    assert not allowed & {"utimensat", "fchmodat", "chmod"}, result.stdout
    assert "Not granted, metadata writes by path" in result.stdout
    assert "#   utimensat: " in result.stdout and "#   fchmodat: " in result.stdout


def test_learn_errors(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("def exercise(C):\n    C()\n")
    no_function = tmp_path / "nofunc.py"
    no_function.write_text("x = 1\n")
    raising = tmp_path / "raising.py"
    raising.write_text("def exercise(C):\n    C().fail_value('boom')\n")
    target = "xtd_targets.counter:Counter"
    assert_one_line_error(cli("learn", target, "--exercise", str(tmp_path / "none.py")),
                          2, "does not exist")
    assert_one_line_error(cli("learn", target, "--exercise", str(no_function)),
                          2, "defines no exercise(target)")
    assert_one_line_error(cli("learn", target, "--exercise", str(raising)),
                          1, "exercise(", "failed", "ValueError")
    assert_one_line_error(cli("learn", target, "--exercise", str(good), "--base", "unconfined"),
                          2, "no seccomp filter")
    assert_one_line_error(cli("learn", target, "--exercise", str(good), "--base", "x.toml"),
                          2, "--base must be a built-in profile")
    assert_one_line_error(cli("learn", "bad", "--exercise", str(good)), 2, "not of the form")
    assert_one_line_error(cli("learn", "xtd_targets.nope:X", "--exercise", str(good)),
                          1, "ModuleNotFoundError")


def test_selftest_prints_the_childs_text_escaped():
    # a detail is often the child's own text (a result, an error message)
    attempt = corpus.attempts()[0]
    result = runner.Result(attempt, corpus.REFUSE, corpus.ALLOW,
                           "found \x1b]52;c;cHduZWQ=\x07 and \u202ehidden")
    assert not any(c in result.detail for c in "\x1b\x07\u202e")
    assert "found" in result.detail and "hidden" in result.detail
