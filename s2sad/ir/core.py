"""The core language: what the frontend produces and every later stage reads.

A `CoreFunction` is Python with one primitive operation per assignment, on atoms (names and constants),
`if`/`while`/`for` and a final `return` (see frontend/normalize.py). Each statement keeps the user's
(file, line) it came from (`origin`). Globals and closed-over values the code reads are `FreeVar`s,
parameters of the generated function.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import Any

from .names import Namer

# Python's operators as primitives of the rules table
OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.Pow: "pow",
       ast.MatMult: "matmul", ast.FloorDiv: "floordiv", ast.Mod: "mod"}
UNARY = {ast.USub: "neg", ast.UAdd: "pos"}


@dataclass(frozen=True)
class FreeVar:
    """A global or closed-over value the generated function takes as a parameter."""

    name: str          # its name in generated code
    spelled: str       # its name in the user's code
    owner: Any         # the globals dict, or the closure cell, it is read from at call time
    source: int = 0    # 0: the differentiated function itself; i: the i-th inlined helper

    def read(self):
        if isinstance(self.owner, dict):
            return self.owner[self.spelled]
        return self.owner.cell_contents

    def rebind(self, fn) -> "FreeVar":
        """The same variable read from another function object with the same code (a new closure)."""
        if self.source != 0:
            return self
        code = fn.__code__
        if self.spelled in code.co_freevars and fn.__closure__:
            return FreeVar(self.name, self.spelled, fn.__closure__[code.co_freevars.index(self.spelled)], 0)
        if isinstance(self.owner, dict) and self.owner is not vars(builtins):
            return FreeVar(self.name, self.spelled, fn.__globals__, 0)
        return self


@dataclass
class CoreFunction:
    """A function in the core language, ready for analysis and transformation."""

    name: str
    params: list[str]
    body: list[ast.stmt]
    result: str
    aux: str | None
    free: list[FreeVar]
    src: Any                         # the frontend's Source it was built from (file, globals, closure)
    namer: Namer
    callees: list[Any] = field(default_factory=list)    # the Sources of the helpers inlined
    spelled: dict[str, str] = field(default_factory=dict)   # a renamed variable -> its name in the user's code
    complex: frozenset = frozenset()    # the variables that may hold complex numbers (analysis/complexity.py)

    def user_name(self, name: str) -> str:
        """How the user wrote a variable of the core language (`v_1` is `v`, `helper_a` is a helper's `a`)."""
        return self.spelled.get(name, name)


def origin(node: ast.AST) -> tuple[str, int] | None:
    """(file, line) of the user's source that a core statement comes from."""
    return getattr(node, "s2sad_origin", None)


def set_origin(node: ast.AST, where) -> ast.AST:
    node.s2sad_origin = where
    return node


def is_const(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return is_const(node.operand)
    if isinstance(node, ast.Tuple):
        return all(is_const(e) for e in node.elts)
    return False
