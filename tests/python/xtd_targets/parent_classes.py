"""Targets that use classes of the parent, passed to them by handle."""

import gc
import threading


class ClassUser:
    def text(self, cls):
        return [repr(cls), str(cls), cls.__name__]

    def same(self, obj):
        return obj

    def keep(self, obj):
        self.kept = obj

    def kept_is(self, obj):
        return self.kept is obj

    def class_operations(self, cls):
        # what the parent class's metaclass gives it, asked of the parent
        return [list(cls), len(cls), "red" in cls, "blue" in cls, cls[1], bool(cls)]

    def subclass_operations(self, cls):
        # a child subclass is a plain class: true, with no len or iteration
        class Sub(cls):
            pass

        out = [bool(Sub)]
        for op in (len, iter, lambda c: 1 in c, lambda c: c[0]):
            try:
                op(Sub)
            except TypeError:
                out.append("TypeError")
        return out

    def is_instance(self, obj, cls):
        return isinstance(obj, cls)

    def is_subclass(self, sub, cls):
        return issubclass(sub, cls)

    def own_checks(self, cls):
        # the child's own objects and classes are never the parent's
        class Mine:
            pass

        return [
            isinstance(1, cls),
            isinstance(Mine(), cls),
            isinstance(Mine, cls),
            issubclass(Mine, cls),
            issubclass(int, cls),
        ]

    def make(self, cls, *args, **kwargs):
        return cls(*args, **kwargs)

    def make_and_use(self, cls):
        p = cls(3, -4)
        return [p.norm(), p.x, isinstance(p, cls)]

    def off_the_serving_thread(self, cls):
        # repr needs no request: it works where a request is refused
        out = []

        def worker():
            out.append(repr(cls))
            try:
                cls.ORIGIN
            except Exception as exc:
                out.append(type(exc).__name__)

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        return out

    def collect(self):
        gc.collect()

    def has(self, obj, name):
        return hasattr(obj, name)

    def get(self, obj, name):
        return getattr(obj, name)

    def subclass_statement(self, cls):
        class Sub(cls):
            LOCAL = "mine"

            def __init__(self, v):
                self.v = v

            def double(self):
                return self.v * 2

        s = Sub(21)
        return [
            s.double(),
            Sub.ORIGIN,
            Sub.LOCAL,
            isinstance(s, Sub),
            isinstance(s, cls),
            issubclass(Sub, cls),
            issubclass(cls, Sub),
            Sub.__name__,
            hasattr(Sub, "missing"),
            hasattr(s, "ORIGIN"),
        ]

    def subclass_type(self, cls):
        Sub = type("Sub", (cls,), {"__init__": _init_n, "triple": lambda self: 3 * self.n})
        s = Sub(5)
        return [s.triple(), Sub.ORIGIN, issubclass(Sub, cls), isinstance(s, cls), Sub.__mro__[1] is cls]

    def subclass_is_local(self, cls):
        # a child subclass and its instances stay in the child
        class Sub(cls):
            pass

        return Sub, Sub()

    def walk_from_subclass(self, cls, name):
        class Sub(cls):
            pass

        # the subclass's MRO holds the handle, which still asks the parent
        return getattr(Sub.__mro__[1], name)

    def private_of_subclass(self, cls, name):
        class Sub(cls):
            pass

        try:
            getattr(Sub, name)
        except AttributeError:
            return "AttributeError"
        return "found"


def _init_n(self, n):
    self.n = n
