"""sandbox_report() says what was applied, and the profile is chosen by the
argument or EXTRADITE_SANDBOX. Only the obviously stable parts are checked."""

import pytest

import extradite
from xtd_checks import CONFINED, landlock_available, user_namespaces_refused

TARGET = "extradite._selftest.hostile.network:NetAttacker"


@pytest.mark.parametrize("profile", CONFINED)
def test_confined_profiles_report_their_confinement(spawn, profile):
    report = spawn(TARGET, profile).sandbox_report()
    assert report["profile"] == profile
    assert report["no_new_privs"] is True
    assert report["seccomp"]["enabled"] is True
    assert report["capabilities"]["dropped"] is True
    assert report["seccomp"]["files_after_load"] is (profile != "strict")


@pytest.mark.parametrize("profile", ["default", "network"])
def test_landlock_is_applied(spawn, profile):
    if not landlock_available():
        pytest.skip("this kernel has no Landlock LSM enabled")
    report = spawn(TARGET, profile).sandbox_report()
    assert report["landlock"]["enabled"] is True
    assert report["landlock"]["abi"] >= 1


@pytest.mark.parametrize("profile", ["strict", "default"])
def test_network_namespace_below_the_network_profile(spawn, profile):
    if user_namespaces_refused():
        pytest.skip("this kernel refuses user namespaces")
    report = spawn(TARGET, profile).sandbox_report()
    assert "net" in report["namespaces"]["entered"]


def test_network_profile_keeps_the_host_network(spawn):
    report = spawn(TARGET, "network").sandbox_report()
    assert "net" not in report["namespaces"]["entered"]


def test_unconfined_reports_no_confinement(spawn):
    report = spawn(TARGET, "unconfined").sandbox_report()
    assert report["profile"] == "unconfined"
    assert report["seccomp"]["enabled"] is False
    assert report["landlock"]["enabled"] is False


@pytest.mark.parametrize("profile", ["strict", "unconfined"])
def test_environment_variable_chooses_the_profile(monkeypatch, profile):
    monkeypatch.setenv("EXTRADITE_SANDBOX", profile)
    cls = extradite.extradite(TARGET)
    try:
        assert cls.sandbox_report()["profile"] == profile
    finally:
        cls.close()


def test_default_profile_is_default(monkeypatch):
    monkeypatch.delenv("EXTRADITE_SANDBOX", raising=False)
    cls = extradite.extradite(TARGET)
    try:
        assert cls.sandbox_report()["profile"] == "default"
    finally:
        cls.close()
