"""The child compiles a target's source as compile() would, without
CPython's AST set-up (pymodule/child_compile.c)."""

import pytest

from extradite import extradite as xtd

COMPILING = "xtd_targets.compiling:Compiler"


@pytest.fixture(scope="module")
def compiler():
    Compiler = xtd(COMPILING)
    yield Compiler
    Compiler.close()


def test_the_child_imports_with_extradites_source_to_code(compiler):
    assert compiler.loader_is_extradites() is True


SOURCES = {
    "utf8": "RESULT = 'héllo' * 2\n".encode(),
    "latin1 cookie": b"# -*- coding: latin-1 -*-\nRESULT = 'caf\xe9'\n",
    "bom": b"\xef\xbb\xbfRESULT = 1\n",
    "bad utf8": b"RESULT = '\xff'\n",
    "syntax error": b"RESULT = (1,\n",
    "indentation": b"if True:\n\tx = 1\n        y = 2\n",
    "nul byte": b"RESULT = 1\x00\n",
    "future": b"from __future__ import annotations\ndef f(x: Missing): pass\nRESULT = f.__annotations__\n",
    "late future": b"RESULT = 1\nfrom __future__ import annotations\n",
    "docstring and assert": b"'''doc'''\nassert __doc__ is None, 'kept'\nRESULT = __doc__\n",
    "str source": "RESULT = 'from a str'\n",
    "bytearray source": bytearray(b"RESULT = 'from a bytearray'\n"),
}


@pytest.mark.parametrize("name", SOURCES)
@pytest.mark.parametrize("optimize", [None, 0, 2])
def test_source_to_code_is_compile(compiler, name, optimize):
    via_loader, via_compile = compiler.both(SOURCES[name], "/nowhere/mod.py", optimize)
    assert via_loader == via_compile


def test_bad_optimize_is_compiles_error(compiler):
    via_loader, via_compile = compiler.both(b"RESULT = 1\n", "/nowhere/mod.py", 7)
    assert via_loader == via_compile
    assert via_loader[0] == "compile raised"


def test_a_target_with_a_coding_cookie():
    Word = xtd("xtd_targets.latin1_source:Word")
    try:
        assert Word().word() == "café"
    finally:
        Word.close()
