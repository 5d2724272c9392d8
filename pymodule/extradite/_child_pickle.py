"""Child side, `unconfined` profile only: values the codec cannot carry go
to the parent as pickles (the original extradite's behaviour), except what
belongs to the protected module tree — unpickling that would import the
module in the parent. The confined profiles never get here: their values
come back as handles and the parent never unpickles anything."""

import io
import pickle
import types

_BY_NAME = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)


def _module_of(obj):
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, _BY_NAME):
        return getattr(obj, "__module__", None)
    return type(obj).__module__


def is_protected(obj, protected):
    module = _module_of(obj)
    return isinstance(module, str) and module.partition(".")[0] in protected


class _Guard(pickle.Pickler):
    def __init__(self, file, protected, error):
        super().__init__(file, protocol=5)
        self._protected = protected
        self._error = error

    def reducer_override(self, obj):
        if is_protected(obj, self._protected):
            raise self._error(
                f"extradite: a {type(obj).__name__} from the protected module "
                f"{_module_of(obj)!r} cannot travel to the parent by value"
            )
        return NotImplemented


def dumps(obj, protected, error):
    """Pickle obj, refusing (with `error`) anything of the protected tree."""
    buf = io.BytesIO()
    _Guard(buf, protected, error).dump(obj)
    return buf.getvalue()
