"""The parent filters the child's class metadata itself (issue 13, finding
7; docs/security-model.md): a forged load reply cannot choose dunder or
private names, or names that are not identifiers, on the parent's proxy
class."""

from extradite import _core, _proxy, _sandbox
from xtd_wire import REPLY, Handle, encode, frame

FORGED_METHODS = ("ok", "__getattribute__", "__reduce__", "__del__", "__init_subclass__",
                  "_private", "not an identifier", "\x1b]52;c;cHduZWQ=\x07", "also_ok")


def test_a_forged_load_reply_cannot_name_special_methods(fake_child, tmp_path, monkeypatch):
    reply = (Handle(1), "class", "Target", "Target", "mod", FORGED_METHODS, None)
    frames = tmp_path / "frames"
    boot = frame(REPLY, encode(None))  # no sandbox report
    frames.write_bytes(boot + frame(REPLY, encode(reply), request_id=1))
    monkeypatch.setenv("EXTRADITE_SPARE", "0")  # the stand-in reads its frames as it starts
    profile = _sandbox.prepare("default", None, [])  # the parent believes it confined
    try:
        session = _core.Session(fake_child, str(frames), [], options={"sandbox": profile.policy},
                                call_timeout=10, profile="default")
        try:
            handle, kind, name, qualname, module, methods, doc = session.load("mod", "Target")
            assert methods == ("ok", "also_ok")
            cls = _proxy._make_class(session, lambda: None, handle, "mod:Target", name,
                                     qualname, methods, doc)
            for special in ("__getattribute__", "__reduce__", "__del__", "__init_subclass__"):
                assert not isinstance(cls.__dict__.get(special), _core.MethodDescriptor)
            assert isinstance(cls.__dict__["ok"], _core.MethodDescriptor)
        finally:
            session.close()
    finally:
        profile.cleanup()
