"""Compiles source the way the child's import system does and with the
builtin compile(), for the parent to compare (the child replaces
SourceLoader.source_to_code: see pymodule/child_compile.c)."""

import _frozen_importlib_external as external


def _outcome(make):
    try:
        code = make()
    except Exception as e:
        return ("compile raised", type(e).__name__, str(e), getattr(e, "lineno", None))
    ns = {}
    try:
        exec(code, ns)
    except Exception as e:
        return ("exec raised", code.co_filename, type(e).__name__, str(e))
    return ("ok", code.co_filename, ns.get("RESULT"))


class Compiler:
    @staticmethod
    def loader_is_extradites():
        fn = external.SourceLoader.source_to_code
        return type(fn).__name__ == "builtin_function_or_method" and "extradite" in fn.__doc__

    @staticmethod
    def both(data, path, optimize=None):
        loader = external.SourceFileLoader("compiled", path)
        if optimize is None:
            via_loader = _outcome(lambda: loader.source_to_code(data, path))
        else:
            via_loader = _outcome(lambda: loader.source_to_code(data, path, _optimize=optimize))
        via_compile = _outcome(
            lambda: compile(
                data, path, "exec", dont_inherit=True,
                optimize=-1 if optimize is None else optimize,
            )
        )
        return via_loader, via_compile
