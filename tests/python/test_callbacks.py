"""Parent objects in the child: handles, callbacks and re-entrant chains."""

import threading
import types

import pytest

import extradite
from extradite import extradite as xtd

TARGET = "xtd_targets.callbacks:Caller"


@pytest.fixture
def Caller():
    cls = xtd(TARGET)
    yield cls
    cls.close()


def test_callback_with_arguments(Caller):
    caller = Caller()
    assert caller.call(lambda a, b=0: a * 10 + b, 4, b=2) == 42


def test_callback_runs_on_the_calling_thread(Caller):
    caller = Caller()
    seen = []
    caller.call(lambda: seen.append(threading.get_ident()))
    worker = threading.Thread(target=lambda: caller.call(lambda: seen.append(threading.get_ident())))
    worker.start()
    worker.join()
    assert seen == [threading.get_ident(), worker.ident]


def test_reentrant_chain(Caller):
    caller = Caller()
    levels = []

    def down(depth):
        levels.append(depth)
        return "bottom" if depth == 0 else caller.relay(down, depth - 1)

    assert caller.relay(down, 20) == "bottom"
    assert levels == list(range(20, -1, -1))
    assert caller.call(len, "still fine") == 10


def test_nesting_is_capped(Caller):
    caller = Caller()

    def down(depth):
        return caller.relay(down, depth + 1)

    with pytest.raises(extradite.ExtraditeError, match="nested deeper"):
        caller.relay(down, 0)
    assert caller.call(abs, -3) == 3  # the session survives


def test_callback_exception_keeps_its_type(Caller):
    caller = Caller()

    def boom():
        raise ValueError("from the parent")

    with pytest.raises(ValueError, match="from the parent"):
        caller.call(boom)
    # code in the child can catch it as the built-in type too
    assert caller.catch(boom) == "caught RemoteValueError: from the parent"


def test_identity_of_parent_objects(Caller):
    caller = Caller()
    # Unpicklable objects and code travel by handle, and come back as
    # themselves; picklable values are copies ("value" transport).
    lock = threading.Lock()
    func = lambda: None  # noqa: E731
    caller.keep(lock)
    assert caller.kept_is(lock)
    assert not caller.kept_is(func)
    assert caller.call(lambda o: o, lock) is lock
    assert caller.call(lambda o: o, [func, lock]) == [func, lock]
    obj = types.SimpleNamespace(x=1)
    caller.keep(obj)
    assert not caller.kept_is(obj)


def test_public_attributes_of_parent_objects(Caller):
    caller = Caller()
    obj = types.SimpleNamespace(x=1, items=[1, 2])
    obj.double = lambda v: v * 2
    assert caller.get_attr(obj, "x") == 1
    caller.set_attr(obj, "x", 5)
    assert obj.x == 5
    assert caller.call_method(obj, "double", 21) == 42


def test_child_objects_reach_callbacks_as_proxies(Caller):
    caller = Caller()
    got = caller.call_with_self(lambda me: me)
    assert got is caller


def test_a_sandboxed_child_cannot_walk_to_parent_internals(Caller):
    caller = Caller()

    def victim():
        pass

    for name in ("__globals__", "__dict__", "__code__", "__builtins__", "_private"):
        with pytest.raises(extradite.UnsupportedInteractionError, match="private or special"):
            caller.get_attr(victim, name)
    with pytest.raises(extradite.UnsupportedInteractionError):
        caller.set_attr(victim, "__name__", "x")
    assert victim.__name__ == "victim"


def test_an_unconfined_child_may_use_special_attributes():
    Caller = xtd(TARGET, sandbox="unconfined")
    try:
        def victim():
            pass

        assert Caller().get_attr(victim, "__name__") == "victim"
    finally:
        Caller.close()


def test_callbacks_only_from_the_serving_thread(Caller):
    caller = Caller()
    outcome = caller.call_from_thread(lambda: None)
    assert outcome.startswith("UnsupportedInteractionError")
    assert "while the parent is calling" in outcome


def test_handles_to_parent_objects_are_released(Caller):
    caller = Caller()
    session = Caller.__extradite_session__
    for _ in range(50):
        caller.call(lambda: None)
    caller.keep(threading.Lock())
    # Releases travel right after the child's next reply.
    assert caller.kept_is(None) is False
    assert session.exported == 1  # only the kept lock is still held
    caller.drop()
    caller.kept_is(None)
    assert session.exported == 0


def test_released_parent_handle_in_the_child_is_refused(Caller):
    caller = Caller()
    # the child closes its handle, then uses it
    assert caller.use_after_close(lambda: None) == "ExtraditeProtocolError"
    caller.kept_is(None)  # the release arrives after the next reply
    assert Caller.__extradite_session__.exported == 0


def test_python_operations_on_parent_objects():
    Caller = xtd(TARGET, transport_policy="reference")
    try:
        caller = Caller()
        seq = [1, 2, 3]
        assert caller.inspect(seq) == [3, 1, [1, 2, 3], True, True, True]
        assert caller.combine(seq, [4]) == [1, 2, 3, 4]
        mapping = {"drop": 0}
        caller.set_item(mapping, "k", "v")
        assert mapping == {"k": "v"}
        assert caller.text_of(seq) == ["[1, 2, 3]", "[1, 2, 3]"]
    finally:
        Caller.close()


def test_callback_batch_runs_in_order_and_stops_at_the_first_error(Caller):
    caller = Caller()
    seen = []

    def record(i):
        seen.append(i)
        return i * i

    assert caller.batch_back(record, 5) == [0, 1, 4, 9, 16]
    assert seen == [0, 1, 2, 3, 4]
    seen.clear()
    assert caller.batch_stops(lambda i: seen.append(i) or 1 // i) == (
        "stopped: integer division or modulo by zero"
    )
    assert seen == [1, 0]  # the call after the failing one did not run


# ---- classes of the parent in the child --------------------------------

CLASSES = "xtd_targets.parent_classes:ClassUser"


class Point:
    ORIGIN = (0, 0)
    _secret = "parent only"

    def __init__(self, x=0, y=0):
        self.x, self.y = x, y
        self.lock = threading.Lock()  # unpicklable: instances go by handle

    def norm(self):
        return abs(self.x) + abs(self.y)


class Point3(Point):
    pass


class Registry(type):
    def __iter__(cls):
        return iter(cls.ITEMS)

    def __len__(cls):
        return len(cls.ITEMS)

    def __contains__(cls, item):
        return item in cls.ITEMS

    def __getitem__(cls, i):
        return cls.ITEMS[i]


class Colors(metaclass=Registry):
    ITEMS = ["red", "green"]


@pytest.fixture
def ClassUser():
    cls = xtd(CLASSES)
    yield cls
    cls.close()


def test_parent_class_repr_needs_no_request(ClassUser):
    user = ClassUser()
    name = f"<extradite handle to parent class {__name__}.Point>"
    assert user.text(Point) == [name, name, "Point"]
    # from a thread that may not make requests: repr still works
    assert user.off_the_serving_thread(Point) == [name, "UnsupportedInteractionError"]
    assert user.same(Point) is Point  # and it comes back as itself
    user.keep(Point)
    assert user.kept_is(Point)  # one local class per parent class


def test_operations_of_a_parent_class_metaclass(ClassUser):
    user = ClassUser()
    assert user.class_operations(Colors) == [["red", "green"], 2, True, False, "green", True]
    assert user.subclass_operations(Point) == [True] + ["TypeError"] * 4


def test_isinstance_and_issubclass_of_parent_classes(ClassUser):
    user = ClassUser()
    assert user.is_instance(Point(1, 2), Point) is True
    assert user.is_instance(Point3(), Point) is True
    assert user.is_instance(Point(), Point3) is False
    assert user.is_instance(threading.Lock(), Point) is False
    assert user.is_instance(Point, type) is True  # a class is a parent object too
    assert user.is_subclass(Point3, Point) is True
    assert user.is_subclass(Point, Point3) is False
    assert user.is_subclass(Point, Point) is True
    with pytest.raises(TypeError, match="must be a class"):
        user.is_subclass(threading.Lock(), Point)
    # the child's own objects and classes are never the parent's
    assert user.own_checks(Point) == [False] * 5


def test_parent_class_creates_parent_instances(ClassUser):
    user = ClassUser()
    p = user.make(Point, 1, y=2)
    assert type(p) is Point and (p.x, p.y) == (1, 2)
    assert user.make_and_use(Point) == [7, 3, True]
    assert user.has(Point, "norm") is True
    assert user.has(Point, "missing") is False


def test_subclassing_a_parent_class_in_the_child(ClassUser):
    user = ClassUser()
    assert user.subclass_statement(Point) == [
        42,  # a method defined in the child subclass
        (0, 0),  # a class attribute of the parent class
        "mine",
        True,
        True,
        True,
        False,
        "Sub",
        False,
        False,  # instances see only the child's own attributes
    ]
    assert user.subclass_type(Point) == [15, (0, 0), True, True, True]
    sub, inst = user.subclass_is_local(Point)
    # the subclass and its instances are the child's: proxies here
    assert not isinstance(sub, type)
    assert not isinstance(inst, Point)


def test_a_sandboxed_child_cannot_walk_a_parent_class(ClassUser):
    user = ClassUser()
    for name in ("__subclasses__", "__mro__", "__bases__", "__dict__", "__init__", "_secret"):
        with pytest.raises(extradite.UnsupportedInteractionError, match="private or special"):
            user.get(Point, name)
        with pytest.raises(extradite.UnsupportedInteractionError, match="private or special"):
            user.walk_from_subclass(Point, name)
    # a subclass never looks private names up in the parent
    assert user.private_of_subclass(Point, "_secret") == "AttributeError"
    assert user.get(Point, "ORIGIN") == (0, 0)


def test_an_unconfined_child_may_read_special_attributes_of_a_class():
    ClassUser = xtd(CLASSES, sandbox="unconfined")
    try:
        assert ClassUser().get(Point3, "__bases__") == (Point,)
    finally:
        ClassUser.close()


def test_parent_class_handles_are_released(ClassUser):
    user = ClassUser()
    session = ClassUser.__extradite_session__
    user.subclass_statement(Point)
    user.collect()  # the handle class lives until the child collects it
    user.collect()  # its release travels after that reply
    assert session.exported == 0


def test_unconfined_child_sets_through_the_dict_of_a_parent_object():
    Caller = xtd(TARGET, sandbox="unconfined", transport_policy="reference")
    try:
        obj = types.SimpleNamespace(x=1)
        assert Caller().poke_dict(obj, "y", 5) == 5
        assert obj.y == 5
    finally:
        Caller.close()


def test_sandboxed_child_cannot_reach_the_dict_of_a_parent_object(Caller):
    class Local:  # not picklable: goes by handle even under "value"
        pass

    obj = Local()
    with pytest.raises(extradite.UnsupportedInteractionError, match="__dict__"):
        Caller().poke_dict(obj, "y", 5)
    assert not hasattr(obj, "y")
