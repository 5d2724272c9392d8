"""A child that walks every parent object it is handed, looking for a way
to run code in the parent: the generator-frame walk
(gen.gi_frame.f_builtins["eval"]), and a breadth-first walk over public
names, interpreter internals, calls and iteration (DESIGN §1
"Capabilities"). Every parent handle it reaches stays held until forget(),
so the parent can check its own export table for what it handed out."""

import collections

# Interpreter internals worth a try on anything: how a hostile child walks
# from a harmless object to eval, a module or a frame.
INTERNALS = (
    "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "ag_code",
    "gi_yieldframe", "f_back", "f_globals", "f_locals", "f_builtins",
    "f_code", "tb_frame", "tb_next", "co_consts", "cell_contents",
    "__self__", "__func__", "__globals__", "__closure__", "__code__",
    "__dict__", "__class__", "__module__", "__wrapped__", "__traceback__",
    "__builtins__", "__init__", "__context__", "__cause__", "__objclass__",
    "__getattribute__", "__reduce_ex__", "__subclasses__", "__mro__",
    "func", "fget", "fset", "args", "keywords", "mro", "manager", "root",
    "handlers", "stream", "converter", "parent", "loggerDict", "raw",
    "buffer", "_member_map_", "_member_names_", "__members__", "mapping",
)


def _is_parent_handle(value):
    """A ParentRef, or the local class of a parent class (its metaclass
    is ParentClass)."""
    kind = type(value)
    return kind.__module__ == "extradite._core" and kind.__name__ in (
        "ParentRef", "ParentClass")


def _handles_in(value, depth=0):
    """The parent handles in a value the parent copied to us."""
    if _is_parent_handle(value):
        yield value
    elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _handles_in(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for key, item in value.items():
            yield from _handles_in(key, depth + 1)
            yield from _handles_in(item, depth + 1)


class Walker:
    def __init__(self):
        self.names = list(INTERNALS)
        self.held = []

    def set_names(self, names):
        """More names to try: what a hostile child knows of Python."""
        self.names = list(dict.fromkeys(list(INTERNALS) + list(names)))

    def frame_walk(self, obj, payload):
        """The published attack: iterate what we were given (an Enum class
        hands out a generator), call it if it is callable (a generator or
        async function returns one), and walk the generator's frame to the
        parent's eval. Returns how far it got."""
        candidates = []
        try:
            candidates.append(iter(obj))
        except Exception as e:
            candidates.append(e)
        try:
            candidates.append(obj())
        except Exception as e:
            candidates.append(e)
        candidates.append(obj)
        for gen in candidates:
            if isinstance(gen, BaseException):
                continue
            for attr in ("gi_frame", "cr_frame", "ag_frame"):
                try:
                    frame = getattr(gen, attr)
                    builtins = frame.f_builtins
                    builtins["eval"](payload)
                    return f"ran eval through {attr}"
                except Exception as e:
                    last = f"{attr}: {type(e).__name__}: {e}"
        return f"refused ({last})"

    def walk(self, root, payload, max_steps=5000, max_depth=4):
        """Breadth-first over names, calls and iteration. Every handle
        reached is kept in self.held. Returns (steps, handles reached,
        refusals seen)."""
        queue = collections.deque([(root, 0)])
        seen = {id(root)}
        self.held.append(root)
        steps = refusals = 0

        def reached(value, depth):
            for handle in _handles_in(value):
                if id(handle) not in seen and depth <= max_depth:
                    seen.add(id(handle))
                    self.held.append(handle)
                    queue.append((handle, depth))

        while queue and steps < max_steps:
            obj, depth = queue.popleft()
            attempts = [("getattr", name) for name in self.names]
            attempts += [("call", ()), ("call", (payload,)), ("iter", None)]
            for kind, arg in attempts:
                if steps >= max_steps:
                    break
                steps += 1
                try:
                    if kind == "getattr":
                        value = getattr(obj, arg)
                    elif kind == "call":
                        value = obj(*arg)
                    else:
                        it = iter(obj)
                        value = [it]
                        for _ in range(5):
                            value.append(next(it))
                except BaseException as e:
                    # the parent's refusals: a kind (PermissionError) or a
                    # private name (UnsupportedInteractionError)
                    refusals += isinstance(e, PermissionError) or (
                        type(e).__name__ == "UnsupportedInteractionError")
                    continue
                reached(value, depth + 1)
        return steps, len(self.held), refusals

    def collect(self, iterable):
        """What ordinary use does: iterate a parent iterable."""
        return [repr(item) for item in iterable]

    def call(self, function, *args):
        return function(*args)

    def read(self, obj, name):
        return getattr(obj, name)

    def call_member(self, obj, name, *args):
        return getattr(obj, name)(*args)

    def call_with_range(self, obj, name, n):
        """obj.name(range(n)), the range made here: a few bytes on the
        wire."""
        getattr(obj, name)(range(n))

    def repeat(self, sequence, times):
        """Have the parent repeat one of its sequences: its len."""
        return len(sequence * times)

    def held_reprs(self):
        out = []
        for handle in self.held:
            try:
                out.append(repr(handle))
            except Exception as e:
                out.append(f"<repr failed: {type(e).__name__}>")
        return out

    def forget(self):
        self.held.clear()
