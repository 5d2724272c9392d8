"""Parent objects a confined child is handed in the capability tests: the
ordinary things a caller passes (callbacks, iterables, classes, loggers,
locks, files), each of which used to lead a hostile child somewhere it must
not go. Also what the child must never obtain a handle to."""

import asyncio  # noqa: F401  (a module for the namespace below)
import builtins
import dataclasses
import enum
import functools
import io
import logging
import os
import subprocess
import sys
import threading
import types
import weakref

# Never to be handed out unless the parent passed that exact object.
FORBIDDEN_BUILTINS = tuple(
    getattr(builtins, name)
    for name in ("eval", "exec", "compile", "__import__", "open", "getattr", "setattr",
                 "delattr", "globals", "locals", "vars", "breakpoint", "input")
)
FORBIDDEN_MODULES = ("os", "posix", "subprocess", "sys", "builtins", "importlib", "shutil")
INTERNAL_TYPES = (
    types.ModuleType, types.FrameType, types.CodeType, types.TracebackType,
    types.CellType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
    super,
)


class Color(enum.Enum):
    RED = 1
    GREEN = 2


def generator_function(n=3):
    yield from range(n)


async def coroutine_function(x=None):
    return x


async def async_generator_function():
    yield 1


def module_level_function(x=None):
    return x


class Tools:
    label = "tools"

    def __init__(self):
        self.value = 1

    def method(self, x=None):
        return x

    @classmethod
    def create(cls):
        return cls()

    @staticmethod
    def helper(x=None):
        return x

    @property
    def prop(self):
        return self.value


@dataclasses.dataclass
class Point:
    x: int = 1
    y: int = 2


class IterByGenerator:
    def __iter__(self):
        yield "a"
        yield "b"


class HoldsFunction:
    def __init__(self):
        self.function = module_level_function
        self.name = "holder"


def _raised():
    try:
        raise ValueError("with a traceback")
    except ValueError as e:
        return e


def catalogue(tmp_dir):
    """name -> a fresh parent object. The file is closed by the caller."""
    x = 10

    def closure(y=None):
        return x, y

    data = {"a": 1, "b": 2}
    tools = Tools()
    return {
        "enum_class": Color,
        "enum_member": Color.RED,
        "generator": generator_function(),
        "generator_function": generator_function,
        "coroutine_function": coroutine_function,
        "async_generator_function": async_generator_function,
        "lambda": lambda y=None: y,
        "closure": closure,
        "bound_method": tools.method,
        "builtin_method": [1, 2].append,
        "class_with_members": Tools,
        "instance_with_members": tools,
        "dataclass_instance": Point(),
        "partial": functools.partial(module_level_function, 1),
        "logger": logging.getLogger("extradite.capability-walk"),
        "lock": threading.Lock(),
        "bytesio": io.BytesIO(b"bytes"),
        "open_file": open(os.path.join(tmp_dir, "opened.txt"), "w+"),
        "dict_keys": data.keys(),
        "dict_items": data.items(),
        "dict_iterator": iter(data),
        "exception_with_traceback": _raised(),
        "weakref": weakref.ref(Tools),
        "class": HoldsFunction,
        "type": type,
        "object": object,
        "namespace_with_module": types.SimpleNamespace(module=os, name="ns"),
        "holds_function": HoldsFunction(),
        "iter_by_generator": IterByGenerator(),
        "module_function": module_level_function,
    }


def names_of(objects):
    """The public names of the catalogue's objects and of what they hold:
    the child's vocabulary."""
    names = set()
    for obj in objects:
        for name in dir(obj):
            names.add(name)
            if not name.startswith("_"):
                try:
                    names.update(dir(getattr(obj, name)))
                except Exception:
                    pass
    return sorted(n for n in names if not n.startswith("__"))


def forbidden(obj, passed):
    """Why a handle to obj must never have been minted, or None."""
    if any(obj is p for p in passed):
        return None
    if isinstance(obj, INTERNAL_TYPES):
        return f"an interpreter internal ({type(obj).__name__})"
    if any(obj is f for f in FORBIDDEN_BUILTINS):
        return f"the builtin {obj.__name__}"
    if callable(obj):
        module = getattr(obj, "__module__", None)
        self_ = getattr(obj, "__self__", None)
        if isinstance(self_, types.ModuleType):
            module = self_.__name__
        if isinstance(module, str) and module.split(".")[0] in FORBIDDEN_MODULES and (
                isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type))):
            return f"{module}.{getattr(obj, '__qualname__', obj)!s}"
    return None


assert subprocess and sys  # forbidden modules are imported here on purpose
