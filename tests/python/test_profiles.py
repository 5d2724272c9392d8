"""Sandbox profiles: choosing one, custom files and mappings, refusing bad
ones before any process starts, and what sandbox_report() says."""

import os
import tempfile

import pytest

import extradite
from extradite import _core
from extradite import extradite as xtd

COUNTER = "xtd_targets.counter:Counter"


def refused(sandbox, *fragments):
    """The profile is refused with a ValueError naming every fragment,
    before any child is started."""
    started = []
    real = _core.Session

    def spy(*args, **kwargs):
        started.append(args)
        return real(*args, **kwargs)

    _core.Session = spy
    try:
        with pytest.raises(ValueError) as info:
            xtd(COUNTER, sandbox=sandbox)
    finally:
        _core.Session = real
    for fragment in fragments:
        assert fragment in str(info.value)
    assert started == []
    return info.value


def write(tmp_path, text, name="profile.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", ["strict", "default", "network", "unconfined"])
def test_every_builtin_profile_runs_the_counter(name):
    Counter = xtd(COUNTER, sandbox=name)
    try:
        assert Counter(3).increment(2) == 5
        report = Counter.sandbox_report()
        assert report["profile"] == name
        assert report["seccomp"]["enabled"] is (name != "unconfined")
        assert report["landlock"]["enabled"] is (name != "unconfined")
        assert report["no_new_privs"] is True
    finally:
        Counter.close()


def test_default_profile_report():
    Counter = xtd(COUNTER)
    try:
        report = Counter.sandbox_report()
        assert report["profile"] == "default"
        seccomp = report["seccomp"]
        assert seccomp["groups"] == ["core", "threads", "files_read"]
        assert seccomp["instructions"] > 20
        assert seccomp["files_after_load"] is True
        assert seccomp["default_action"] == "errno EPERM"
        landlock = report["landlock"]
        assert landlock["abi"] >= 1 and landlock["rules"] > 3
        assert report["capabilities"]["dropped"] is True
        # An ASan build leaves RLIMIT_AS alone and says so (asan_build.h).
        assert report["rlimits"]["address_space"] == (
            None if _core._asan_build else 4 << 30
        )
        assert report["rlimits"]["cpu_seconds"] is None
        # A copy: changing it changes nothing.
        report["profile"] = "x"
        assert Counter.sandbox_report()["profile"] == "default"
    finally:
        Counter.close()


def test_namespaces_are_entered_or_the_refusal_is_reported():
    Counter = xtd(COUNTER)
    try:
        ns = Counter.sandbox_report()["namespaces"]
        if ns["error"] is None:
            assert ns["entered"] == ["user", "net", "ipc", "uts"]
        else:
            assert set(ns["entered"]) < {"user", "net", "ipc", "uts"}
    finally:
        Counter.close()


def test_strict_records_that_opens_stop_after_load():
    Counter = xtd(COUNTER, sandbox="strict")
    try:
        assert Counter.sandbox_report()["seccomp"]["files_after_load"] is False
    finally:
        Counter.close()


def test_environment_variable_chooses_the_profile(monkeypatch):
    monkeypatch.setenv("EXTRADITE_SANDBOX", "strict")
    Counter = xtd(COUNTER)
    try:
        assert Counter.sandbox_report()["profile"] == "strict"
    finally:
        Counter.close()
    monkeypatch.setenv("EXTRADITE_SANDBOX", "no-such-profile")
    refused(None, "no-such-profile", "built-in")


def test_custom_file_extends_a_builtin(tmp_path):
    path = write(
        tmp_path,
        'extends = "default"\n[limits]\naddress_space = "2G"\ncpu_seconds = 30\n',
        "roomy.toml",
    )
    Counter = xtd(COUNTER, sandbox=path)
    try:
        report = Counter.sandbox_report()
        assert report["profile"] == "roomy"
        assert report["rlimits"]["address_space"] == (
            None if _core._asan_build else 2 << 30
        )
        assert report["rlimits"]["cpu_seconds"] == 30
        assert report["seccomp"]["files_after_load"] is True  # from default
    finally:
        Counter.close()


def test_mapping_profile_with_private_tmpdir(tmp_path, monkeypatch):
    profile = {
        "extends": "default",
        "seccomp": {"groups": ["core", "threads", "files_read", "files_write"]},
        "landlock": {
            "read": ["{python}", "{sys_path}", "{target_package}", "{libdirs}"],
            "write": ["{tmpdir}"],
        },
    }
    # Only this test's directories in sight: other processes use /tmp too.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    Counter = xtd(COUNTER, sandbox=profile)
    try:
        made = [d for d in os.listdir(tmp_path) if d.startswith("extradite-")]
        assert len(made) == 1
        assert Counter.sandbox_report()["profile"] == "custom"
    finally:
        Counter.close()
    assert not os.path.exists(tmp_path / made[0])


def test_unknown_key_is_refused_with_file_and_key(tmp_path):
    path = write(tmp_path, "[seccomp]\nenabeld = true\n")
    refused(path, path, "seccomp.enabeld", "unknown key")


def test_unknown_table_is_refused(tmp_path):
    refused({"firewall": {}}, "<mapping>", "firewall", "unknown key")


def test_wrong_type_is_refused(tmp_path):
    path = write(tmp_path, '[landlock]\nrequired = "yes"\n')
    refused(path, path, "landlock.required", "must be a bool")


def test_bad_size_is_refused():
    refused({"limits": {"address_space": "lots"}}, "limits.address_space", "size")


def test_unknown_group_is_refused():
    refused({"seccomp": {"groups": ["core", "everything"]}}, "seccomp.groups", "everything")


def test_unknown_syscall_is_refused():
    refused({"seccomp": {"allow": ["not_a_syscall"]}}, "seccomp.allow", "not_a_syscall")


def test_allowing_a_trapped_syscall_is_refused():
    refused({"seccomp": {"allow": ["ptrace"]}}, "seccomp", "always traps")


def test_unknown_placeholder_is_refused():
    refused({"landlock": {"read": ["{home}"]}}, "landlock.read", "{home}")


def test_relative_path_is_refused():
    refused({"landlock": {"read": ["etc"]}}, "landlock.read", "absolute")


def test_pickles_from_a_confined_child_are_refused():
    refused({"transport": {"child_pickle": True}}, "transport.child_pickle", "unconfined")


def test_confined_profile_needs_core():
    refused({"seccomp": {"groups": ["threads"]}}, "seccomp.groups", "core")


def test_extends_must_be_builtin(tmp_path):
    refused({"extends": "mine.toml"}, "extends", "built-in")


def test_invalid_toml_is_refused(tmp_path):
    path = write(tmp_path, "[seccomp\n")
    refused(path, path, "invalid TOML")


def test_missing_file_is_refused(tmp_path):
    refused(str(tmp_path / "nope.toml"), "nope.toml", "neither a built-in")


def test_sandbox_of_wrong_type_is_type_error():
    with pytest.raises(TypeError, match="sandbox must be"):
        xtd(COUNTER, sandbox=42)


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_call_timeout_must_be_positive(bad):
    with pytest.raises(ValueError, match="call_timeout"):
        xtd(COUNTER, call_timeout=bad)


@pytest.mark.parametrize("bad", ["1", True])
def test_call_timeout_must_be_a_number(bad):
    with pytest.raises(TypeError, match="call_timeout"):
        xtd(COUNTER, call_timeout=bad)


def test_call_timeout_leaves_quick_calls_alone():
    Counter = xtd(COUNTER, call_timeout=30)
    try:
        counter = Counter(1)
        for _ in range(50):
            counter.increment(1)
        assert counter.value == 51
    finally:
        Counter.close()


def test_violation_class_has_its_fields():
    exc = extradite.ExtraditeSandboxViolation("x")
    assert exc.syscall is None and exc.syscall_nr is None and exc.profile is None
    assert isinstance(exc, extradite.ExtraditeError)


def test_relative_sys_path_entry_is_granted(tmp_path, monkeypatch):
    # "" on sys.path (python -c, the REPL) is the current directory: the
    # child gets it as an absolute path, and the sandbox grants it.
    (tmp_path / "xtd_targets_in_cwd.py").write_text(
        "class Echo:\n    def echo(self, x):\n        return x\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend("")
    Echo = xtd("xtd_targets_in_cwd:Echo")
    try:
        assert Echo().echo("here") == "here"
    finally:
        Echo.close()
