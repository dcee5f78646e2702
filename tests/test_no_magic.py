"""No app script relies on Streamlit's "magic", which .streamlit/config.toml turns off.

With magic on, Streamlit rewrites each script so that an expression standing alone as a
statement (a name, a literal, a tuple; not a call) is written to the page. That rewrite cost a
session's first run 60-160 ms (see the config's comment), so it is off. A bare expression added
later would then silently show nothing; this test finds any, the way magic would have.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
#: Statements magic leaves alone: calls (st.write(...), f()), awaits and yields.
SILENT = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)


def shown_by_magic(source: str) -> list[int]:
    """Lines of the expression statements magic would write (docstrings excepted)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        for field in ("body", "orelse", "finalbody"):  # the blocks magic rewrites
            lines += _shown_in(node, field)
    return lines


def _shown_in(node, field: str) -> list[int]:
    lines = []
    body = getattr(node, field, None)
    if isinstance(body, list):
        for i, stmt in enumerate(body):
            if not isinstance(stmt, ast.Expr) or isinstance(stmt.value, SILENT):
                continue
            docstring = (field == "body" and i == 0
                         and isinstance(node, (ast.Module, ast.FunctionDef,
                                               ast.AsyncFunctionDef, ast.ClassDef))
                         and isinstance(stmt.value, ast.Constant)
                         and isinstance(stmt.value.value, str))
            if not docstring:
                lines.append(stmt.lineno)
    return lines


def test_the_finder_sees_what_magic_would_write():
    src = ('"""doc"""\nimport streamlit as st\nx = 1\nx\nst.write(x)\n(1, 2)\n'
           'def f():\n    """doc"""\n    "not a docstring"\n    3\n    g()\n'
           'with st.sidebar:\n    [i for i in range(2)]\n'
           'if x:\n    f()\nelse:\n    x\n'
           'for i in []:\n    f()\nelse:\n    i\n'
           'try:\n    f()\nexcept ValueError:\n    x\nfinally:\n    x\n')
    assert sorted(shown_by_magic(src)) == [4, 6, 9, 10, 13, 17, 21, 25, 27]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_script_relies_on_magic(script):
    assert shown_by_magic(script.read_text()) == []


def test_magic_is_off():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["magicEnabled"] is False
