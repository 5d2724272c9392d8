"""Classes with special methods, for the operator-forwarding tests. Each
result says (by value or by which method ran) that the remote code ran."""

import functools
import operator


def _val(other):
    return other.v if isinstance(other, Num) else other


class Num:
    """An immutable number: every operator, plain and reflected, but no
    in-place forms (so `p += 1` falls back to __add__ and makes a new Num)."""

    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return f"Num({self.v!r})"

    def __eq__(self, other):
        return self.v == _val(other)

    def __hash__(self):
        return hash(self.v)

    def __lt__(self, other):
        return self.v < _val(other)

    def __le__(self, other):
        return self.v <= _val(other)

    def __gt__(self, other):
        return self.v > _val(other)

    def __ge__(self, other):
        return self.v >= _val(other)

    def __neg__(self):
        return Num(-self.v)

    def __pos__(self):
        return Num(+self.v + 1000)  # shows that the remote __pos__ ran

    def __invert__(self):
        return Num(~self.v)

    def __abs__(self):
        return Num(abs(self.v))

    def __bool__(self):
        return self.v != 0

    def __pow__(self, other, mod=None):
        return Num(pow(self.v, _val(other), mod))

    def __rpow__(self, other, mod=None):
        return Num(pow(_val(other), self.v, mod))

    def __divmod__(self, other):
        return divmod(self.v, _val(other))

    def __rdivmod__(self, other):
        return divmod(_val(other), self.v)

    def __matmul__(self, other):
        return ("matmul", self.v, _val(other))

    def __rmatmul__(self, other):
        return ("rmatmul", _val(other), self.v)


def _binary(op):
    def forward(self, other):
        return Num(op(self.v, _val(other)))

    def reflected(self, other):
        return Num(op(_val(other), self.v))

    return forward, reflected


BINARY_OPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
}

for _name, _op in BINARY_OPS.items():
    _forward, _reflected = _binary(_op)
    setattr(Num, f"__{_name}__", _forward)
    setattr(Num, f"__r{_name}__", _reflected)


class Acc:
    """A mutable accumulator: in-place operators change it and return it;
    `log` records which ran."""

    def __init__(self, v):
        self.v = v
        self.log = []

    def _apply(self, name, op, other):
        self.v = op(self.v, _val(other))
        self.log.append(name)
        return self

    def __iadd__(self, other):
        return self._apply("iadd", operator.add, other)

    def __isub__(self, other):
        return self._apply("isub", operator.sub, other)

    def __imul__(self, other):
        return self._apply("imul", operator.mul, other)

    def __itruediv__(self, other):
        return self._apply("itruediv", operator.truediv, other)

    def __ifloordiv__(self, other):
        return self._apply("ifloordiv", operator.floordiv, other)

    def __imod__(self, other):
        return self._apply("imod", operator.mod, other)

    def __ipow__(self, other):
        return self._apply("ipow", operator.pow, other)

    def __ilshift__(self, other):
        return self._apply("ilshift", operator.lshift, other)

    def __irshift__(self, other):
        return self._apply("irshift", operator.rshift, other)

    def __iand__(self, other):
        return self._apply("iand", operator.and_, other)

    def __ior__(self, other):
        return self._apply("ior", operator.or_, other)

    def __ixor__(self, other):
        return self._apply("ixor", operator.xor, other)

    def __imatmul__(self, other):
        return self._apply("imatmul", operator.mul, other)


class Collapse:
    """`c += x` returns a plain number: the name is rebound to it."""

    def __init__(self, v):
        self.v = v

    def __iadd__(self, other):
        return self.v + other


class Bag:
    """A list-like container."""

    def __init__(self, *items):
        self.items = list(items)
        self.contains_calls = 0

    def __repr__(self):
        return f"Bag{tuple(self.items)!r}"

    def __str__(self):
        return "bag of " + ", ".join(map(str, self.items))

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def __setitem__(self, index, value):
        self.items[index] = value

    def __delitem__(self, index):
        del self.items[index]

    def __contains__(self, item):
        self.contains_calls += 1
        return item in self.items

    def copy(self):
        return Bag(*self.items)


class Registry:
    """A mapping with string keys."""

    def __init__(self):
        self.data = {}

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value

    def __delitem__(self, key):
        del self.data[key]

    def __len__(self):
        return len(self.data)

    def keys(self):
        return sorted(self.data)


class OnlyLen:
    """No __bool__: truth comes from __len__."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


class OldSequence:
    """Only __getitem__: iteration and `in` use the old sequence protocol."""

    def __getitem__(self, index):
        if index >= 3:
            raise IndexError(index)
        return index * 10


class Plain:
    """No special methods at all."""

    def get_self(self):
        return self


class Countdown:
    """An iterator: __iter__ returns itself."""

    def __init__(self, start):
        self.current = start

    def __iter__(self):
        return self

    def __next__(self):
        if self.current <= 0:
            raise StopIteration
        self.current -= 1
        return self.current + 1


class Generating:
    """__iter__ is a generator (the iterator is a remote generator)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield {"i": i}

    def with_result(self):
        yield 1
        return "done"


class Resource:
    """A context manager that records how it was left."""

    def __init__(self, suppress=False):
        self.suppress = suppress
        self.state = "new"
        self.seen = None

    def __enter__(self):
        self.state = "open"
        return self

    def __exit__(self, exc_type, exc, tb):
        self.state = "closed"
        self.seen = (
            None if exc_type is None else exc_type.__name__,
            None if exc is None else str(exc),
            isinstance(exc, BaseException) if exc is not None else None,
            tb,
        )
        return self.suppress

    def fail(self, message):
        raise ValueError(message)


class Opener:
    """__enter__ returns another object."""

    def __enter__(self):
        return Bag("inside")

    def __exit__(self, *exc_info):
        return False


class Adder:
    """A callable instance."""

    def __init__(self, base):
        self.base = base

    def __call__(self, a, b=0):
        return self.base + a + b


class Unhashable:
    """Equality without a hash, like a mutable value type."""

    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Unhashable) and other.v == self.v

    __hash__ = None

    def twin(self):
        return Unhashable(self.v)


@functools.total_ordering
class Version:
    """Ordered by (major, minor); compares with tuples too."""

    def __init__(self, major, minor):
        self.key = (major, minor)

    def _other(self, other):
        if isinstance(other, Version):
            return other.key
        if isinstance(other, tuple):
            return other
        return None

    def __eq__(self, other):
        key = self._other(other)
        return NotImplemented if key is None else self.key == key

    def __lt__(self, other):
        key = self._other(other)
        return NotImplemented if key is None else self.key < key

    def __hash__(self):
        return hash(self.key)


class Broken:
    """Special methods that raise or misbehave."""

    def __repr__(self):
        raise RuntimeError("no repr for you")

    def __len__(self):
        return -1

    def __hash__(self):
        raise ValueError("hash refused")


def make_bag(*items):
    return Bag(*items)
