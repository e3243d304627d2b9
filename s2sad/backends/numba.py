"""The numba backend: the generated NumPy code compiled to machine code by numba.

The file is the NumPy backend's, decorated `@numba.njit(cache=True, error_model="numpy")`: numba
compiles it at the first call for the arguments' types and keeps the machine code beside the file
(generated/__pycache__), so a new process loads it instead of compiling again. `error_model="numpy"`
keeps NumPy's arithmetic (1.0 / 0.0 is inf, not a ZeroDivisionError). Runtime helpers come from
s2sad.runtime.jitted, which has numba forms of the common ones; the lowering here rewrites what numba
spells otherwise and refuses, with the user's line, any helper that has no numba form yet. What numba
itself cannot compile is reported when it compiles, at the first call, as a DifferentiationError naming
the user's line; there is no silent fallback to NumPy.
"""
from __future__ import annotations

import ast
import functools
import importlib
import re
import sys
from typing import Any, Callable

import numpy as np

from ..errors import DifferentiationError, located
from .base import NUMPY_ALIAS, Backend, refuse_scipy, user_line_at

RUNTIME = "s2sad.runtime.jitted"
_WAY_OUT = "use backend='numpy' for this function"
# NumPy reductions numba takes without an axis or keepdims: with them, the runtime's `<op>_along` (`_kept`)
_REDUCTIONS = {f"{NUMPY_ALIAS}.{name}": op for op, names in
               {"max": ("max", "amax"), "min": ("min", "amin"), "sum": ("sum",), "mean": ("mean",)}.items()
               for name in names}


def _jitted_names() -> frozenset[str]:
    """The runtime helpers that have a numba form (the public functions of s2sad.runtime.jitted)."""
    module = importlib.import_module(RUNTIME)
    return frozenset(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                     and getattr(v, "__module__", "") == RUNTIME)


class NumbaBackend(Backend):
    """NumPy code compiled by numba: NumPy arrays in and out; loops run as machine code."""

    name = "numba"
    module = "numba"
    arrays = "numpy"
    alias = NUMPY_ALIAS
    title = "numba"
    runtime = RUNTIME
    decorator = 'numba.njit(cache=True, error_model="numpy")'
    decorator_import = "import numba"

    def owns(self, x: Any) -> bool:
        return False               # its arrays are NumPy's

    def missing(self) -> str:
        try:
            importlib.import_module("numba")
        except ImportError as exc:
            return f"backend='numba' needs numba, which is not installed: pip install 's2sad[numba]' ({exc})"
        return ""

    def load(self):
        self.require()
        return np

    def lower(self, stmts: list, user_names: set[str] = frozenset()) -> list:
        """NumPy code as numba compiles it: `steps[::-1]` becomes `_rt.backwards(steps)`, `x.sum()`
        becomes `np.sum(x)` (x may be a number), `np.linalg.norm(x)` `_rt.norm(x)`, `np.add.at`
        `_rt.add_at`, `np.max(a, axis=1, keepdims=True)` `_rt.max_kept(a, 1)` (and min, sum, mean);
        a runtime helper with no numba form, vmap's and scipy.special are refused."""
        self.require()
        refuse_scipy(stmts, "numba")
        known = _jitted_names()
        for s in stmts:
            for node in ast.walk(s):
                for field, value in ast.iter_fields(node):
                    if isinstance(value, ast.expr):
                        setattr(node, field, self._spelled(value, s, known))
                    elif isinstance(value, list):
                        value[:] = [self._spelled(v, s, known) if isinstance(v, ast.expr) else v for v in value]
        return stmts

    def _spelled(self, e: ast.expr, stmt, known: frozenset[str]) -> ast.expr:
        """One expression as numba takes it (its children are rewritten when the walk reaches them)."""
        if isinstance(e, ast.Subscript) and isinstance(e.ctx, ast.Load) and isinstance(e.slice, ast.Slice) \
                and e.slice.lower is None \
                and e.slice.upper is None and _is_minus_one(e.slice.step):
            return _call("_rt", "backwards", [e.value])
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id in ("_rt", "_bt"):
            if e.value.id == "_bt":
                _refuse(stmt, "vmap on backend='numba' is not supported yet")
            if e.attr not in known:
                _refuse(stmt, f"this line's derivative calls s2sad's runtime helper _rt.{e.attr}, which has "
                              "no numba form yet")
        if not isinstance(e, ast.Call):
            return e
        f = e.func
        if isinstance(f, ast.Attribute) and f.attr == "sum" and not e.args and not e.keywords:
            return _call(NUMPY_ALIAS, "sum", [f.value])
        dotted = _dotted(f)
        reduction = _REDUCTIONS.get(dotted)
        if reduction and len(e.args) == 1 and e.keywords:
            options = {k.arg: k.value for k in e.keywords}
            kept = options.pop("keepdims", ast.Constant(False))
            axis = options.pop("axis", None)
            if not options and isinstance(kept, ast.Constant) and kept.value in (True, False) and axis is not None:
                return _call("_rt", f"{reduction}_{'kept' if kept.value else 'along'}", [e.args[0], axis])
        if dotted == f"{NUMPY_ALIAS}.linalg.norm" and len(e.args) == 1 and not e.keywords:
            return _call("_rt", "norm", e.args)
        if dotted == f"{NUMPY_ALIAS}.add.at":
            return _call("_rt", "add_at", e.args, e.keywords)
        return e

    def guarded(self, fn: Callable, text: str, filename: str) -> Callable:
        """Calls of the compiled function; numba's refusal to compile it (at the first call for a type
        of argument) becomes a DifferentiationError naming the user's line and the way out."""
        from numba.core.errors import NumbaError

        params = list(getattr(fn, "py_func", fn).__code__.co_varnames)

        @functools.wraps(getattr(fn, "py_func", fn))
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs) if kwargs else fn(*args)     # (numba's dispatch is slower with **{})
            except NumbaError as exc:
                raise DifferentiationError(_explained(exc, text, filename, params, args)) from None
        call.compiled = fn         # the numba dispatcher (its signatures, its inspect_types)
        return call


def _explained(exc: BaseException, text: str, filename: str, params: list[str], args: tuple) -> str:
    """What numba refused, at the user's line when numba says where in the generated file."""
    message = str(exc)
    first = next((ln.strip() for ln in message.splitlines()[1:] if ln.strip()), message.strip())
    argument = re.search(r"argument (\d+): Cannot determine Numba type of (<class '[^']+'>)", message)
    defined = re.search(r"^# Generated by s2sad .* from .*:(\d+) \(", text, re.M)
    where = f"{filename}:{defined.group(1)}" if defined else filename
    if argument:
        k = int(argument.group(1))
        name = params[k] if k < len(params) else f"argument {k}"
        return (f"{where}: numba cannot compile for {name}, a {argument.group(2)[8:-2]}: pass NumPy arrays "
                f"and numbers, or {_WAY_OUT}")
    places = [int(m.group(1)) for m in re.finditer(r'File "[^"]*", line (\d+)', message)]
    for lineno in places:
        where = user_line_at(text, lineno)
        if where is not None:
            line, quoted = where
            return f"{filename}:{line}: {quoted}\n  numba cannot compile this line's derivative ({first}); {_WAY_OUT}"
    return f"{where}: numba cannot compile the derivative ({first}); {_WAY_OUT}"


def _refuse(stmt, message: str) -> None:
    where = getattr(stmt, "s2sad_origin", None)
    message = f"{message}: {_WAY_OUT}"
    raise DifferentiationError(located(*where, None, message) if where else message)


def _is_minus_one(e) -> bool:
    return isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant) \
        and e.operand.value == 1 or isinstance(e, ast.Constant) and e.value == -1


def _call(module: str, name: str, args: list, keywords: list = ()) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=ast.Name(id=module, ctx=ast.Load()), attr=name, ctx=ast.Load()),
                    args=list(args), keywords=list(keywords))


def _dotted(e) -> str:
    parts = []
    while isinstance(e, ast.Attribute):
        parts.append(e.attr)
        e = e.value
    if isinstance(e, ast.Name):
        parts.append(e.id)
        return ".".join(reversed(parts))
    return ""


BACKEND = NumbaBackend()
