"""Targets that call back into the parent's objects."""

import threading


class Caller:
    def __init__(self):
        self.kept = None

    def call(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def relay(self, fn, depth):
        # parent -> here -> parent callback -> here ... (re-entrant chain)
        return fn(depth)

    def get_attr(self, obj, name):
        return getattr(obj, name)

    def set_attr(self, obj, name, value):
        setattr(obj, name, value)

    def call_method(self, obj, name, *args):
        return getattr(obj, name)(*args)

    def keep(self, obj):
        self.kept = obj

    def kept_is(self, obj):
        return self.kept is obj

    def drop(self):
        self.kept = None

    def call_with_self(self, fn):
        return fn(self)

    def call_from_thread(self, fn):
        outcome = []

        def worker():
            try:
                fn()
                outcome.append("called")
            except Exception as exc:  # reported back as text
                outcome.append(f"{type(exc).__name__}: {exc}")

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        return outcome[0]

    def catch(self, fn):
        try:
            fn()
        except ValueError as exc:
            return f"caught {type(exc).__name__}: {exc}"
        return "no error"

    def use_after_close(self, fn):
        fn.close()
        try:
            fn()
        except Exception as exc:
            return type(exc).__name__
        return "called"

    def inspect(self, seq):
        # Python operations on a parent object the child holds by handle
        return [len(seq), seq[0], list(seq), 2 in seq, bool(seq), seq == [1, 2, 3]]

    def combine(self, a, b):
        return a + b

    def set_item(self, mapping, key, value):
        mapping[key] = value
        del mapping["drop"]

    def text_of(self, obj):
        return [repr(obj), str(obj)]

    def batch_back(self, fn, n):
        # one request to the parent for n calls of its callback
        return fn.batch([([i], {}) for i in range(n)])

    def batch_stops(self, fn):
        try:
            fn.batch([([1], {}), ([0], {}), ([2], {})])
        except ZeroDivisionError as exc:
            return f"stopped: {exc}"
        return "not stopped"

    def poke_dict(self, obj, key, value):
        # obj.__dict__[k] through a handle (only an unconfined child)
        obj.__dict__[key] = value
        return obj.__dict__[key]
