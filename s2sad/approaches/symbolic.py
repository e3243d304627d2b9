"""Symbolic differentiation: evaluate the function's AST with SymPy, differentiate, CSE, print NumPy code.

`grad(f)` returns a callable. At call time every element of every float argument becomes a SymPy
symbol (`x` for a scalar, `x_0, x_1, ...` or `x_0_1` for arrays) and integer arguments stay
constants. The body of `f` is then *evaluated symbolically* by walking its AST: straight-line code,
arithmetic, NumPy/math functions, indexing, `for` loops over known ranges (unrolled), `while` loops
whose condition is known at each step (unrolled) and `if` statements whose condition depends on the
input (both branches evaluated, values merged with `Piecewise`). SymPy differentiates the scalar
output with respect to each symbol; the derivatives are CSE'd and printed as NumPy (or CuPy) source,
compiled, and cached per argument shapes, kinds and integer values.

This is the "symbolic" baseline of s2sad: exact and readable for small functions, but the size of
the expression grows with every unrolled iteration. `expression(f, *args)` gives f's output as a
SymPy expression.
"""
from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import inspect
import keyword
import linecache
import math
import operator
import re
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy
from sympy.codegen import cfunctions
from sympy.printing import numpy as sympy_printers

from ..codegen import cache
from .. import backends
from ..api.convert import check_argnums, like
from ..errors import DifferentiationError, NonDifferentiableError, NonScalarOutputError, UnsupportedSyntaxError, error_at
from ..frontend.source import Resolver, Source, dotted, load
from ..frontend.normalize import local_names, rule_key
from ..frontend.syntax import describe
from ..runtime import stop_gradient

__all__ = ["grad", "expression", "generated_source", "SymbolicGrad", "cbrt"]

S = sympy.S
_MAX_WHILE = 100_000          # iterations of one unrolled while loop before giving up
_MAX_DEPTH = 40               # nested inlined calls of the user's own functions
_RESERVED = {"math", "functools", "builtins"}       # and every backend's module and alias (_reserved)


# --- SymPy side ------------------------------------------------------------------------------------

class cbrt(sympy.Function):
    """Real cube root, like np.cbrt (defined for negative arguments, unlike x**(1/3))."""

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.sign(arg) * sympy.Abs(arg) ** sympy.Rational(1, 3)
        return None

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)


class StopGradient(sympy.Function):
    """`s2sad.stop_gradient(x)`: the value of x, with derivative 0 (printed as x itself)."""

    def fdiff(self, argindex=1):
        return S.Zero


class SharedMax(sympy.Max):
    """np.max's reduction: SymPy's Max, with the derivative shared equally among the k tied arguments
    (1/k each, s2sad's convention at a tie; Max gives each 1/2). Printed as Max."""

    def fdiff(self, argindex=1):
        return _shared(self, argindex) if len(self.args) > 2 else super().fdiff(argindex)


class SharedMin(sympy.Min):
    """np.min's reduction: SymPy's Min, with the derivative shared equally among tied arguments."""

    def fdiff(self, argindex=1):
        return _shared(self, argindex) if len(self.args) > 2 else super().fdiff(argindex)


def _shared(e: sympy.Basic, argindex: int) -> sympy.Basic:
    """d e / d (argument argindex) of an extremum `e`: 1/k where that argument attains it (k attain it), else 0."""
    if not 0 < argindex <= len(e.args):
        raise sympy.ArgumentIndexError(e, argindex)
    ties = sympy.Add(*[sympy.Piecewise((S.One, sympy.Eq(a, e)), (S.Zero, True)) for a in e.args])
    return sympy.Piecewise((1 / ties, sympy.Eq(e.args[argindex - 1], e)), (S.Zero, True))


class NormRoot(sympy.Function):
    """sqrt(s) of a sum of squares s (np.hypot, np.linalg.norm), whose derivative is taken to be 0 where s
    is 0: the norm's kink at the origin, as abs'(0) = 0 (there ds = 0, and sqrt'(0) * ds would be nan)."""

    @classmethod
    def eval(cls, arg):
        if arg.is_Number:
            return sympy.sqrt(arg)
        return None

    def fdiff(self, argindex=1):
        s = self.args[0]
        return sympy.Piecewise((S.Zero, sympy.Eq(s, 0)), (1 / (2 * self), True))

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_nonnegative

    def _eval_is_extended_nonnegative(self):
        return self.args[0].is_extended_nonnegative


def _sym(v: Any) -> bool:
    """True when `v` holds a SymPy value (possibly inside an object array, list or tuple)."""
    if isinstance(v, sympy.Basic):
        return True
    if isinstance(v, np.ndarray):
        return v.dtype == object and any(isinstance(e, sympy.Basic) for e in v.flat)
    if isinstance(v, (list, tuple)):
        return any(_sym(e) for e in v)
    return False


def _norm(v: Any) -> Any:
    """NumPy scalars become Python numbers; 0-d object arrays become their element."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == object:
        return _norm(v[()])
    return v


def _obj(a: Any) -> np.ndarray:
    return a if isinstance(a, np.ndarray) and a.dtype == object else np.asarray(a, dtype=object)


def _elementwise(fn: Callable, *args: Any) -> Any:
    """Apply a scalar SymPy function elementwise when any argument is an array."""
    if any(isinstance(a, np.ndarray) for a in args):
        out = np.frompyfunc(fn, len(args), 1)(*args)
        return _norm(out) if isinstance(out, np.ndarray) else out
    return fn(*args)


def _pw(cond: Any, a: Any, b: Any) -> Any:
    """`a if cond else b` for scalars: concrete conditions choose, symbolic ones give Piecewise."""
    if cond is True or cond is S.true:
        return a
    if cond is False or cond is S.false:
        return b
    if a is b or (type(a) is type(b) and a == b):
        return a
    return sympy.Piecewise((a, cond), (b, True))


def _select(cond: Any, a: Any, b: Any) -> Any:
    """`_pw` elementwise over arrays (condition, values broadcast together)."""
    return _elementwise(lambda c, u, v: _pw(_truth_value(c), u, v), cond, a, b)


def _truth_value(v: Any) -> Any:
    """Python truth of a scalar value: True/False, or a SymPy Boolean when it depends on symbols."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, sympy.logic.boolalg.BooleanAtom):
        return bool(v)
    if isinstance(v, sympy.logic.boolalg.Boolean):
        return v
    if isinstance(v, sympy.Basic):
        if v.is_zero is True:
            return False
        if v.is_zero is False:
            return True
        return sympy.Ne(v, 0)
    return bool(v)


def _maximum(a, b):
    """np.maximum: SymPy's Max, whose derivative Heaviside(a - b) splits a tie 0.5/0.5 (s2sad's convention)."""
    if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
        return sympy.Max(a, b)
    return _pw(_rel("ge", a, b), a, b)


def _minimum(a, b):
    """np.minimum: SymPy's Min (ties split 0.5/0.5)."""
    if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
        return sympy.Min(a, b)
    return _pw(_rel("le", a, b), a, b)


def _clip(a, lo, hi):
    if lo is not None:
        a = _pw(_rel("lt", a, lo), lo, a)
    if hi is not None:
        a = _pw(_rel("gt", a, hi), hi, a)
    return a


_PYREL = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
          "eq": operator.eq, "ne": operator.ne}
_SYMREL = {"lt": sympy.Lt, "le": sympy.Le, "gt": sympy.Gt, "ge": sympy.Ge, "eq": sympy.Eq, "ne": sympy.Ne}


def _rel(op: str, a: Any, b: Any) -> Any:
    """A comparison: a Python bool for numbers, a SymPy relational (or true/false) for symbols."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not _sym(a) and not _sym(b):
            return _PYREL[op](a, b)
        return _elementwise(lambda u, v: _rel(op, u, v), a, b)
    if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
        r = _SYMREL[op](a, b)
        return bool(r) if isinstance(r, sympy.logic.boolalg.BooleanAtom) else r
    return _PYREL[op](a, b)


def _reduce(items_fn: Callable, a: Any, axis=None, keepdims: bool = False) -> Any:
    """Reduce an array (object or numeric) with `items_fn(list) -> value` over `axis`."""
    a = _obj(a)
    if axis is None:
        out = items_fn(list(a.flat))
        return _obj(out).reshape((1,) * a.ndim) if keepdims else out
    axes = tuple(ax % a.ndim for ax in (axis if isinstance(axis, tuple) else (axis,)))
    keep = [d for d in range(a.ndim) if d not in axes]
    moved = np.transpose(a, keep + list(axes))
    rest = moved.shape[:len(keep)]
    flat = moved.reshape(rest + (-1,))
    out = np.empty(rest, dtype=object)
    for idx in np.ndindex(rest):
        out[idx] = items_fn(list(flat[idx]))
    if keepdims:
        out = np.expand_dims(out, axes)
    return _norm(out)


def _add(items):
    return sympy.Add(*[sympy.sympify(e) for e in items]) if items else S.Zero


def _mul(items):
    return sympy.Mul(*[sympy.sympify(e) for e in items]) if items else S.One


def _mean(items):
    if not items:
        raise DifferentiationError("mean of an empty array")
    return _add(items) / len(items)


def _max(items):
    if not items:
        raise DifferentiationError("max of an empty sequence")
    return SharedMax(*[sympy.sympify(e) for e in items])


def _min(items):
    if not items:
        raise DifferentiationError("min of an empty sequence")
    return SharedMin(*[sympy.sympify(e) for e in items])


def _all(items):
    return sympy.And(*[_as_bool(e) for e in items])


def _any(items):
    return sympy.Or(*[_as_bool(e) for e in items])


def _as_bool(e):
    t = _truth_value(e)
    return S.true if t is True else S.false if t is False else t


def _dot(a: Any, b: Any) -> Any:
    a, b = _norm(a), _norm(b)
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or a.ndim == 0 or b.ndim == 0:
        return _binop_arrays(operator.mul, np.multiply, a, b)
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ValueError(f"shapes {a.shape} and {b.shape} not aligned")
        return _add([u * v for u, v in zip(a.tolist(), b.tolist())])
    return _norm(np.dot(_obj(a), _obj(b)))


def _matmul(a: Any, b: Any) -> Any:
    a, b = _norm(a), _norm(b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == 1 and b.ndim == 1:
        return _dot(a, b)
    if not _sym(a) and not _sym(b):
        return _norm(a @ b)
    return _norm(np.matmul(_obj(a), _obj(b)))


def _binop_arrays(pyop: Callable, ufunc: Callable, a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return _norm(ufunc(a, b))
    return pyop(a, b)


_BINOPS = {ast.Add: (operator.add, np.add), ast.Sub: (operator.sub, np.subtract),
           ast.Mult: (operator.mul, np.multiply), ast.Div: (operator.truediv, np.true_divide),
           ast.FloorDiv: (operator.floordiv, np.floor_divide), ast.Mod: (operator.mod, np.remainder),
           ast.Pow: (operator.pow, np.power)}


# --- the table of functions the evaluator knows ----------------------------------------------------

def _unary(fn: Callable) -> Callable:
    def handler(ev, node, x, **kw):
        if kw:
            raise TypeError(f"unexpected keyword arguments {sorted(kw)}")
        return _elementwise(fn, x)
    return handler


def _binary(fn: Callable) -> Callable:
    def handler(ev, node, a, b, **kw):
        if kw:
            raise TypeError(f"unexpected keyword arguments {sorted(kw)}")
        return _elementwise(fn, a, b)
    return handler


def _reduction(fn: Callable) -> Callable:
    def handler(ev, node, a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        if out is not None:
            raise TypeError("out= is not supported")
        return _reduce(fn, a, axis, keepdims)
    return handler


def _h_log(ev, node, x, base=None):
    if base is None:
        return _elementwise(sympy.log, x)
    return _elementwise(lambda u: sympy.log(u) / sympy.log(base), x)


def _h_where(ev, node, cond, a=None, b=None):
    if a is None or b is None:
        raise TypeError("np.where with one argument (indices) is not supported")
    return _select(cond, a, b)


def _h_clip(ev, node, a, a_min=None, a_max=None, **kw):
    lo, hi = kw.pop("min", a_min), kw.pop("max", a_max)
    if kw:
        raise TypeError(f"unexpected keyword arguments {sorted(kw)}")
    return _elementwise(_clip, a, lo, hi)


def _h_norm(ev, node, x, ord=None, axis=None, keepdims=False):
    matrix = (axis is None and np.ndim(x) == 2) or (isinstance(axis, tuple) and len(axis) == 2)
    if ord not in (None, 2, "fro") or (ord == 2 and matrix):     # ord=2 of a matrix: its largest singular value
        raise TypeError(f"np.linalg.norm with ord={ord!r} is not supported")
    return _elementwise(NormRoot, _reduce(lambda items: _add([e * e for e in items]), x, axis, keepdims))


def _h_hypot(a, b):
    return NormRoot(a ** 2 + b ** 2)


def _creator(fill):
    def handler(ev, node, shape, dtype=None, order="C", **kw):
        if dtype is not None and np.dtype(dtype).kind in "biu":
            return np.zeros(shape, dtype=dtype) if fill == 0 else np.ones(shape, dtype=dtype)
        return np.full(shape, S.Zero if fill == 0 else S.One, dtype=object)
    return handler


def _creator_like(fill):
    def handler(ev, node, a, dtype=None, **kw):
        shape = np.shape(a)
        if fill is None:
            return np.full(shape, kw.get("fill_value"), dtype=object)
        return np.full(shape, S.Zero if fill == 0 else S.One, dtype=object)
    return handler


def _h_full(ev, node, shape, fill_value, dtype=None, **kw):
    return np.full(shape, fill_value, dtype=object)


def _h_full_like(ev, node, a, fill_value, dtype=None, **kw):
    return np.full(np.shape(a), fill_value, dtype=object)


def _h_array(ev, node, data, dtype=None, copy=True, **kw):
    if not _sym(data):
        return np.array(data, dtype=dtype)
    out = np.array(data, dtype=object)
    return _norm(out)


def _h_asarray(ev, node, data, dtype=None, **kw):
    if isinstance(data, np.ndarray) and data.dtype == object:
        return data
    return _h_array(ev, node, data, dtype)


def _h_sum_builtin(ev, node, items, start=0):
    items = list(ev.iterate(items, node))
    if any(isinstance(e, np.ndarray) for e in items) or isinstance(start, np.ndarray):
        return functools.reduce(lambda u, v: ev.binop(ast.Add(), u, v, node), items, start)
    return _add([start] + items) if start is not None else _add(items)


def _minmax_builtin(fn):
    """Python's max/min: pairwise from the left, as the compiler differentiates it (each pair splits a
    tie 0.5/0.5; SymPy's Max would flatten the pairs, so a nested pair is kept unevaluated)."""
    pair, cls = (_maximum, sympy.Max) if fn is _max else (_minimum, sympy.Min)

    def fold(items):
        if not items:
            raise DifferentiationError(f"{'max' if fn is _max else 'min'} of an empty sequence")
        acc = items[0]
        for e in items[1:]:
            acc = cls(acc, sympy.sympify(e), evaluate=False) if isinstance(acc, cls) else pair(acc, e)
        return acc

    def handler(ev, node, *args, **kw):
        if kw:
            raise TypeError("min/max with key= or default= is not supported")
        items = list(ev.iterate(args[0], node)) if len(args) == 1 else list(args)
        return fold(items)
    return handler


def _h_float(ev, node, x=0.0):
    return x if _sym(x) else float(x)


def _h_int(ev, node, x=0):
    if _sym(x):
        raise error_at(DifferentiationError, ev.src.filename, node,
                       f"int() of a value that depends on the input ({x})")
    return int(x)


def _h_range(ev, node, *args):
    return range(*[ev.concrete_int(a, node, "the trip count of this loop depends on the input") for a in args])


def _h_print(ev, node, *args, **kw):
    return None


def _h_pow(ev, node, a, b):
    return ev.binop(ast.Pow(), a, b, node)


def _h_arith(op):
    def handler(ev, node, a, b, **kw):
        return ev.binop(op, a, b, node)
    return handler


def _h_dot(ev, node, a, b, out=None):
    return _dot(a, b)


def _h_matmul(ev, node, a, b, **kw):
    return _matmul(a, b)


def _h_inner(ev, node, a, b):
    return _dot(a, b) if np.ndim(a) <= 1 and np.ndim(b) <= 1 else _norm(np.inner(_obj(a), _obj(b)))


def _h_all(ev, node, a, axis=None, keepdims=False, **kw):
    return _reduce(_all, a, axis, keepdims)


def _h_any(ev, node, a, axis=None, keepdims=False, **kw):
    return _reduce(_any, a, axis, keepdims)


def _build_table() -> tuple[dict, set]:
    u = _unary
    table: dict[Any, Callable] = {
        np.sin: u(sympy.sin), np.cos: u(sympy.cos), np.tan: u(sympy.tan),
        np.arcsin: u(sympy.asin), np.arccos: u(sympy.acos), np.arctan: u(sympy.atan),
        np.sinh: u(sympy.sinh), np.cosh: u(sympy.cosh), np.tanh: u(sympy.tanh),
        np.arcsinh: u(sympy.asinh), np.arccosh: u(sympy.acosh), np.arctanh: u(sympy.atanh),
        np.exp: u(sympy.exp), np.exp2: u(cfunctions.exp2), np.log: u(sympy.log),
        np.log2: u(cfunctions.log2), np.log10: u(cfunctions.log10), np.log1p: u(cfunctions.log1p),
        np.expm1: u(cfunctions.expm1), np.sqrt: u(sympy.sqrt), np.cbrt: u(cbrt),
        np.square: u(lambda x: x ** 2), np.absolute: u(sympy.Abs), np.fabs: u(sympy.Abs),
        np.sign: u(sympy.sign), np.negative: u(operator.neg), np.positive: u(operator.pos),
        np.reciprocal: u(lambda x: 1 / x), np.floor: u(sympy.floor), np.ceil: u(sympy.ceiling),
        np.arctan2: _binary(sympy.atan2), np.hypot: _binary(_h_hypot),
        np.maximum: _binary(_maximum), np.minimum: _binary(_minimum),
        np.fmax: _binary(_maximum), np.fmin: _binary(_minimum),
        np.power: _h_arith(ast.Pow()), np.add: _h_arith(ast.Add()), np.subtract: _h_arith(ast.Sub()),
        np.multiply: _h_arith(ast.Mult()), np.divide: _h_arith(ast.Div()),
        np.deg2rad: u(lambda x: x * sympy.pi / 180), np.radians: u(lambda x: x * sympy.pi / 180),
        np.rad2deg: u(lambda x: x * 180 / sympy.pi), np.degrees: u(lambda x: x * 180 / sympy.pi),
        np.float_power: _h_arith(ast.Pow()), np.real: u(lambda x: x),
        np.logaddexp: _binary(lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b))),
        np.logaddexp2: _binary(lambda a, b: sympy.log(2 ** a + 2 ** b, 2)),
        np.sinc: u(lambda x: sympy.sinc(sympy.pi * x)),
        np.where: _h_where, np.clip: _h_clip,
        np.sum: _reduction(_add), np.mean: _reduction(_mean), np.prod: _reduction(_mul),
        np.max: _reduction(_max), np.min: _reduction(_min), np.amax: _reduction(_max),
        np.amin: _reduction(_min), np.all: _h_all, np.any: _h_any,
        np.dot: _h_dot, np.matmul: _h_matmul, np.inner: _h_inner, np.vdot: _h_dot,
        np.linalg.norm: _h_norm,
        np.array: _h_array, np.asarray: _h_asarray, np.asanyarray: _h_asarray,
        np.zeros: _creator(0), np.ones: _creator(1), np.empty: _creator(0),
        np.zeros_like: _creator_like(0), np.ones_like: _creator_like(1), np.empty_like: _creator_like(0),
        np.full: _h_full, np.full_like: _h_full_like,
        math.sin: u(sympy.sin), math.cos: u(sympy.cos), math.tan: u(sympy.tan),
        math.asin: u(sympy.asin), math.acos: u(sympy.acos), math.atan: u(sympy.atan),
        math.sinh: u(sympy.sinh), math.cosh: u(sympy.cosh), math.tanh: u(sympy.tanh),
        math.asinh: u(sympy.asinh), math.acosh: u(sympy.acosh), math.atanh: u(sympy.atanh),
        math.exp: u(sympy.exp), math.log: _h_log, math.log2: u(cfunctions.log2),
        math.log10: u(cfunctions.log10), math.log1p: u(cfunctions.log1p), math.expm1: u(cfunctions.expm1),
        math.sqrt: u(sympy.sqrt), math.fabs: u(sympy.Abs), math.erf: u(sympy.erf), math.erfc: u(sympy.erfc),
        math.gamma: u(sympy.gamma), math.lgamma: u(sympy.loggamma), math.atan2: _binary(sympy.atan2),
        math.pow: _h_pow, math.hypot: _binary(_h_hypot), math.floor: u(sympy.floor),
        math.ceil: u(sympy.ceiling),
        builtins.abs: u(sympy.Abs), builtins.sum: _h_sum_builtin, builtins.min: _minmax_builtin(_min),
        builtins.max: _minmax_builtin(_max), builtins.float: _h_float, builtins.int: _h_int,
        builtins.range: _h_range, builtins.pow: _h_pow, builtins.print: _h_print,
        stop_gradient: u(lambda x: StopGradient(x) if isinstance(x, sympy.Basic) else x),
    }
    table.update(_special_table(u))
    for name in ("cbrt", "exp2"):
        if hasattr(math, name):
            table[getattr(math, name)] = u(cbrt if name == "cbrt" else cfunctions.exp2)
    always = {np.array, np.asarray, np.asanyarray, np.zeros, np.ones, np.empty, np.zeros_like,
              np.ones_like, np.empty_like, np.full, np.full_like, builtins.range, builtins.print}
    return table, always


def _special_table(u) -> dict:
    """scipy.special's elementwise functions (rules/special.py) in SymPy, when SciPy is installed."""
    try:
        import scipy.special as sc
    except ImportError:
        return {}

    def expit(x):
        return 1 / (1 + sympy.exp(-x))

    def ndtr(x):
        return (1 + sympy.erf(x / sympy.sqrt(2))) / 2

    return {sc.expit: u(expit), sc.log_expit: u(lambda x: sympy.log(expit(x))),
            sc.logit: u(lambda x: sympy.log(x / (1 - x))), sc.erf: u(sympy.erf), sc.erfc: u(sympy.erfc),
            sc.erfinv: u(sympy.erfinv), sc.ndtr: u(ndtr), sc.log_ndtr: u(lambda x: sympy.log(ndtr(x))),
            sc.gammaln: u(sympy.loggamma), sc.digamma: u(sympy.digamma), sc.psi: u(sympy.digamma)}


_TABLE, _ALWAYS = _build_table()

# Functions with a derivative rule (rules/) that the symbolic route deliberately does not map to SymPy,
# and why; on numbers (no symbol among the arguments) they are still evaluated directly.
# tests/approaches/test_symbolic_parity.py checks every rule is in _TABLE, _DIRECT or here.
_ORDER = "depends on the order of the values, which has no closed form"
_STEPS = "piecewise constant (its derivative is 0 where it has one); not mapped to SymPy"
_TEST = "a boolean of the values: write it as a comparison (an `if` or np.where), which becomes a Piecewise"
_SIZES = "makes an array from sizes and endpoints: evaluated when they are numbers, not when they are symbols"
_MATRIX = "a matrix function: not mapped to SymPy matrices"
_DECOMPOSITION = "a matrix decomposition computed by LAPACK (eigenvalues, singular values): no closed form in SymPy"
_COMPLEX = "complex numbers: the symbolic route differentiates real expressions (the compiler takes complex ones)"
GAPS = {
    **dict.fromkeys(["np.angle", "np.conj", "np.conjugate", "np.imag"] + [
        f"np.fft.{n}{d}" for n in ("fft", "ifft", "rfft", "irfft") for d in ("", "2", "n")] + [
        "np.fft.fftshift", "np.fft.ifftshift"], _COMPLEX),
    "np.sort": _ORDER, "np.argsort": _ORDER, "np.argmax": _ORDER, "np.argmin": _ORDER,
    "np.searchsorted": _ORDER, "np.nonzero": _ORDER, "np.count_nonzero": _ORDER,
    "math.trunc": _STEPS, "np.around": _STEPS, "np.round": _STEPS, "round": _STEPS, "np.rint": _STEPS,
    "np.fix": _STEPS, "np.trunc": _STEPS, "np.floor_divide": _STEPS, "np.heaviside": _STEPS,
    "math.isfinite": _TEST, "math.isinf": _TEST, "math.isnan": _TEST, "np.isfinite": _TEST, "np.isinf": _TEST,
    "np.isnan": _TEST, "np.allclose": _TEST, "np.array_equal": _TEST, "np.isclose": _TEST,
    "np.logical_and": _TEST, "np.logical_or": _TEST, "np.logical_not": _TEST, "np.logical_xor": _TEST,
    "np.equal": _TEST, "np.not_equal": _TEST, "np.greater": _TEST, "np.greater_equal": _TEST,
    "np.less": _TEST, "np.less_equal": _TEST,
    "np.arange": _SIZES, "np.eye": _SIZES, "np.identity": _SIZES, "np.linspace": _SIZES,
    "np.linalg.det": _MATRIX, "np.linalg.inv": _MATRIX, "np.linalg.solve": _MATRIX,
    "np.linalg.slogdet": _MATRIX, "np.linalg.matrix_power": _MATRIX, "np.linalg.pinv": _MATRIX,
    "np.linalg.lstsq": _MATRIX,
    "np.linalg.cholesky": _MATRIX,
    "np.linalg.eigh": _DECOMPOSITION, "np.linalg.eigvalsh": _DECOMPOSITION, "np.linalg.svd": _DECOMPOSITION,
    "np.linalg.qr": _DECOMPOSITION,
    "np.var": "not mapped yet: write np.mean((x - np.mean(x)) ** 2)",
    "np.std": "not mapped yet: write np.sqrt(np.mean((x - np.mean(x)) ** 2))",
    "math.copysign": "not mapped yet: write abs(x) * sign",
    "np.remainder": "not mapped yet (its floor is piecewise constant): write x - np.floor(x / y) * y",
    "np.mod": "not mapped yet (its floor is piecewise constant): write x - np.floor(x / y) * y",
    "np.nan_to_num": "replaces nan and inf by constants (a symbol is never either): not mapped to SymPy",
    "np.median": _ORDER, "np.quantile": _ORDER, "np.percentile": _ORDER,
    "np.interp": "piecewise linear: which segment x falls in is an order comparison; not mapped to SymPy",
}

# called as they are, on object arrays as on numbers: shapes, layout, and Python's own iteration tools
_DIRECT = {len, isinstance, zip, enumerate, list, tuple, reversed, type, bool,
           np.shape, np.ndim, np.size, np.transpose, np.reshape, np.ravel, np.squeeze, np.expand_dims,
           np.concatenate, np.stack, np.hstack, np.vstack, np.flip, np.fliplr, np.flipud, np.roll,
           np.cumsum, np.cumprod, np.diff, np.outer, np.trace, np.diag, np.diagonal, np.atleast_1d,
           np.atleast_2d, np.broadcast_to, np.tile, np.repeat, np.swapaxes, np.moveaxis, np.copy,
           np.triu, np.tril, np.take, np.take_along_axis, np.kron, np.cross, np.polyval, np.average,
           np.einsum, np.tensordot, np.pad, np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit,
           np.rot90, np.atleast_3d}

_CONSTANTS = {id(math.pi): sympy.pi, id(np.pi): sympy.pi, id(math.e): sympy.E, id(np.e): sympy.E}

_METHOD_REDUCTIONS = {"sum": _add, "mean": _mean, "prod": _mul, "max": _max, "min": _min,
                      "all": _all, "any": _any}


def _library(f: Any) -> bool:
    """A NumPy, math or builtin callable (safe to call directly on concrete values)."""
    if isinstance(f, np.ufunc):
        return True
    mod = getattr(f, "__module__", None) or ""
    return mod.split(".")[0] in ("numpy", "math", "builtins", "cmath")


def _describe(f: Any) -> str:
    mod = getattr(f, "__module__", None)
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
    return f"{mod}.{name}" if mod and mod != "builtins" else name


# --- the evaluator --------------------------------------------------------------------------------

class _Unbound:
    """A variable that cannot be read: assigned in one branch only, or different non-numbers."""

    def __init__(self, reason: str):
        self.reason = reason


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _snapshot(env: dict) -> dict:
    """Copy the arrays and lists of an environment (aliases between variables are kept)."""
    memo: dict[int, Any] = {}

    def cp(v):
        if isinstance(v, np.ndarray):
            if id(v) not in memo:
                memo[id(v)] = v.copy()
            return memo[id(v)]
        if isinstance(v, list):
            if id(v) not in memo:
                memo[id(v)] = [cp(e) for e in v]
            return memo[id(v)]
        if isinstance(v, tuple):
            return tuple(cp(e) for e in v)
        return v
    return {k: cp(v) for k, v in env.items()}


@dataclass
class _FreeRead:
    """A global or closed-over value the expression baked in; the cache entry is valid while it holds."""

    src: Source
    name: str
    value: Any

    def current(self) -> Any:
        return Resolver(self.src, set()).lookup(self.name)

    def holds(self) -> bool:
        now = self.current()
        if now is self.value and not isinstance(now, (np.ndarray, list)):
            return True
        if isinstance(self.value, np.ndarray):
            return (isinstance(now, np.ndarray) and now.shape == self.value.shape
                    and now.dtype == self.value.dtype and np.array_equal(now, self.value, equal_nan=True))
        try:
            return type(now) is type(self.value) and bool(now == self.value)
        except Exception:
            return False


class _Evaluator:
    """Evaluates one user function's body on SymPy values."""

    def __init__(self, src: Source, env: dict, reads: list, depth: int = 0):
        self.src = src
        self.env = env
        self.locals = local_names(src.tree)
        self.resolver = Resolver(src, self.locals)
        self.reads = reads
        self.depth = depth
        self.path: list = []                 # symbolic conditions of the enclosing `if`s
        self.returns: list[tuple[Any, Any, ast.AST]] = []
        self.dead = False                    # this path has returned or raised

    def error(self, cls, node, message):
        return self.src.error(cls, node, message)

    # --- running ------------------------------------------------------------------------------

    def run(self) -> Any:
        self.block(self.src.tree.body)
        if not self.dead:
            self.returns.append((self.condition(), None, self.src.tree))
        pieces = []
        for cond, value, node in self.returns:
            if cond is False or cond is S.false:
                continue
            if value is None:
                raise self.error(DifferentiationError, node,
                                 f"{self.src.qualname} returns None" +
                                 ("" if cond is True else f" when {cond}"))
            pieces.append((value, cond))
            if cond is True or cond is S.true:
                break
        if not pieces:
            raise self.error(DifferentiationError, self.src.tree, f"{self.src.qualname} never returns a value")
        if len(pieces) == 1:
            return pieces[0][0]
        return self.piecewise(pieces)

    def piecewise(self, pieces: list) -> Any:
        values = [v for v, _ in pieces]
        if any(isinstance(v, np.ndarray) for v in values):
            arrays = np.broadcast_arrays(*[_obj(v) for v in values])
            out = np.empty(arrays[0].shape, dtype=object)
            for idx in np.ndindex(out.shape):
                out[idx] = sympy.Piecewise(*[(a[idx], c) for a, (_, c) in zip(arrays, pieces)])
            return out
        if any(isinstance(v, (list, tuple)) for v in values):
            raise DifferentiationError(f"{self.src.qualname} returns tuples or lists on paths chosen by "
                                       "data-dependent conditions; return one array or number")
        return sympy.Piecewise(*[(v, c) for v, c in pieces])

    def condition(self) -> Any:
        return sympy.And(*self.path) if self.path else True

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if self.dead:
                return
            self.stmt(stmt)

    def stmt(self, node: ast.stmt) -> None:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            what = describe(node)
            raise self.error(UnsupportedSyntaxError, node, f"symbolic evaluation does not support {what}")
        try:
            method(node)
        except (DifferentiationError, _Break, _Continue):
            raise
        except RecursionError:
            raise self.error(DifferentiationError, node, "the expression is too deeply nested for SymPy") from None
        except (TypeError, ValueError, ZeroDivisionError, IndexError, KeyError, AttributeError) as exc:
            raise self.error(DifferentiationError, node,
                             f"symbolic evaluation failed: {type(exc).__name__}: {exc}") from exc

    # --- statements -----------------------------------------------------------------------------

    def stmt_Expr(self, node):
        self.eval(node.value)

    def stmt_Pass(self, node):
        pass

    def stmt_Assign(self, node):
        value = self.eval(node.value)
        for target in node.targets:
            self.assign(target, value)

    def stmt_AnnAssign(self, node):
        if node.value is not None:
            self.assign(node.target, self.eval(node.value))

    def stmt_AugAssign(self, node):
        value = self.eval(node.value)
        t = node.target
        if isinstance(t, ast.Name):
            self.env[t.id] = self.binop(node.op, self.eval(t), value, node, inplace=True)
        elif isinstance(t, ast.Subscript):
            obj = self.eval(t.value)
            idx = self.index(t.slice)
            cur = self.getitem(obj, idx, t)
            self.setitem(obj, idx, self.binop(node.op, cur, value, node, inplace=True), t)
        else:
            raise self.error(UnsupportedSyntaxError, t, "symbolic evaluation cannot assign to attributes")

    def stmt_Return(self, node):
        value = self.eval(node.value) if node.value is not None else None
        self.returns.append((self.condition(), value, node))
        self.dead = True

    def stmt_Raise(self, node):
        if not self.path:
            raise self.error(DifferentiationError, node,
                             f"{self.src.qualname} raises here for arguments of these shapes and values")
        self.dead = True             # this branch is not part of the function's domain

    def stmt_Assert(self, node):
        t = self.truth(self.eval(node.test), node.test)
        if t is False:
            raise self.error(DifferentiationError, node, "assertion fails for these arguments")

    def stmt_Break(self, node):
        raise _Break()

    def stmt_Continue(self, node):
        raise _Continue()

    def stmt_If(self, node):
        c = self.truth(self.eval(node.test), node.test)
        if c is True:
            self.block(node.body)
        elif c is False:
            self.block(node.orelse)
        else:
            self.branch(c, node)

    def branch(self, cond, node: ast.If) -> None:
        """Both branches of an `if` on a symbolic condition, merged with Piecewise."""
        base = self.env
        results = []
        for c, body in ((cond, node.body), (sympy.Not(cond), node.orelse)):
            self.env = _snapshot(base)
            self.dead = False
            self.path.append(c)
            try:
                self.block(body)
            except (_Break, _Continue):
                raise self.error(UnsupportedSyntaxError, node,
                                 "break/continue inside an `if` whose condition depends on the input "
                                 "is not supported by symbolic evaluation") from None
            finally:
                self.path.pop()
            results.append((self.env, self.dead))
        (e1, d1), (e2, d2) = results
        self.dead = d1 and d2
        if d1 and not d2:
            self.env = e2
        elif d2 and not d1:
            self.env = e1
        elif not self.dead:
            self.env = self.merge(cond, e1, e2, node)

    def merge(self, cond, e1: dict, e2: dict, node) -> dict:
        out = {}
        for name in list(e1) + [k for k in e2 if k not in e1]:
            if name not in e1 or name not in e2:
                out[name] = _Unbound(f"{name!r} is assigned in only one branch of the `if` on line "
                                     f"{node.lineno}, whose condition depends on the input")
                continue
            out[name] = self.merge_value(cond, e1[name], e2[name], name, node)
        return out

    def merge_value(self, cond, a, b, name, node):
        if a is b:
            return a
        if isinstance(a, _Unbound):
            return a
        if isinstance(b, _Unbound):
            return b
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            if np.shape(a) != np.shape(b) and not (np.ndim(a) == 0 or np.ndim(b) == 0):
                return _Unbound(f"{name!r} has different shapes in the branches of the `if` on line "
                                f"{node.lineno}, whose condition depends on the input")
            return _select(cond, _obj(a), _obj(b)) if (_sym(a) or _sym(b) or not np.array_equal(a, b)) else a
        if isinstance(a, (list, tuple)) and type(a) is type(b) and len(a) == len(b):
            return type(a)(self.merge_value(cond, u, v, name, node) for u, v in zip(a, b))
        numbers = (int, float, sympy.Basic)
        if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
            return _pw(cond, a, b)
        try:
            if type(a) is type(b) and bool(a == b):
                return a
        except Exception:
            pass
        return _Unbound(f"{name!r} has different values in the branches of the `if` on line {node.lineno}, "
                        "whose condition depends on the input, and they cannot be merged")

    def stmt_For(self, node):
        items = self.iterate(self.eval(node.iter), node.iter)
        broke = False
        for item in items:
            self.assign(node.target, item)
            try:
                self.block(node.body)
            except _Continue:
                continue
            except _Break:
                broke = True
                break
            if self.dead:
                return
        if not broke and not self.dead:
            self.block(node.orelse)

    def stmt_While(self, node):
        count = 0
        while True:
            c = self.truth(self.eval(node.test), node.test)
            if c is not True and c is not False:
                raise self.error(DifferentiationError, node,
                                 f"the trip count of this while loop depends on the input: its condition "
                                 f"`{ast.unparse(node.test)}` is the symbolic {c}, so symbolic evaluation "
                                 "cannot unroll it (use s2sad.grad, or a for loop with a known count)")
            if not c:
                self.block(node.orelse)
                return
            try:
                self.block(node.body)
            except _Continue:
                pass
            except _Break:
                return
            if self.dead:
                return
            count += 1
            if count > _MAX_WHILE:
                raise self.error(DifferentiationError, node, f"this while loop ran more than {_MAX_WHILE} "
                                 "iterations during symbolic evaluation")

    # --- assignment -----------------------------------------------------------------------------

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(self.iterate(value, target))
            starred = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
            if starred:
                k = starred[0]
                n_after = len(target.elts) - k - 1
                if len(items) < len(target.elts) - 1:
                    raise ValueError(f"not enough values to unpack (expected at least {len(target.elts) - 1})")
                parts = items[:k] + [list(items[k:len(items) - n_after])] + items[len(items) - n_after:]
                for t, v in zip(target.elts, parts):
                    self.assign(t.value if isinstance(t, ast.Starred) else t, v)
                return
            if len(items) != len(target.elts):
                raise ValueError(f"cannot unpack {len(items)} values into {len(target.elts)} names")
            for t, v in zip(target.elts, items):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            obj = self.eval(target.value)
            self.setitem(obj, self.index(target.slice), value, target)
        else:
            raise self.error(UnsupportedSyntaxError, target,
                             f"symbolic evaluation cannot assign to {type(target).__name__}")

    def setitem(self, obj: Any, idx: Any, value: Any, node) -> None:
        if isinstance(obj, np.ndarray) and obj.dtype != object and _sym(value):
            obj = self.upgrade(obj)
        if isinstance(value, np.ndarray) and isinstance(obj, np.ndarray) and obj.dtype == object \
                and value.dtype != object:
            value = value.astype(object)
        obj[idx] = value

    def upgrade(self, arr: np.ndarray) -> np.ndarray:
        """A numeric array that receives a symbolic value becomes an object array (in every variable)."""
        new = arr.astype(object)
        for k, v in self.env.items():
            if v is arr:
                self.env[k] = new
        return new

    # --- expressions ----------------------------------------------------------------------------

    def eval(self, node: ast.expr) -> Any:
        method = getattr(self, "eval_" + type(node).__name__, None)
        if method is None:
            what = describe(node)
            raise self.error(UnsupportedSyntaxError, node, f"symbolic evaluation does not support {what}")
        return method(node)

    def eval_Constant(self, node):
        if isinstance(node.value, complex):
            raise self.error(UnsupportedSyntaxError, node, "complex values are not supported by the symbolic route "
                             "(the compiler differentiates them)")
        return node.value

    def eval_Name(self, node):
        if node.id in self.env:
            v = self.env[node.id]
            if isinstance(v, _Unbound):
                raise self.error(UnsupportedSyntaxError, node, v.reason)
            return v
        if node.id in self.locals:
            raise self.error(UnsupportedSyntaxError, node, f"local variable {node.id!r} is used before it is assigned")
        return self.external(node)

    def external(self, node):
        res = self.resolver.resolve(node)
        if res is None:
            raise self.error(UnsupportedSyntaxError, node, f"cannot resolve {ast.unparse(node)}")
        obj = res.obj
        if res.kind == "constant":
            return _CONSTANTS.get(id(obj), _norm(obj))
        if res.kind == "free" and isinstance(node, ast.Name):
            snap = obj.copy() if isinstance(obj, np.ndarray) else obj
            self.reads.append(_FreeRead(self.src, node.id, snap))
            if isinstance(obj, np.ndarray) and obj.dtype.kind == "c" or isinstance(obj, complex):
                raise self.error(UnsupportedSyntaxError, node, "complex values are not supported")
        return _CONSTANTS.get(id(obj), _norm(obj)) if isinstance(obj, float) else _norm(obj)

    def eval_Attribute(self, node):
        parts = dotted(node)
        if parts is not None and parts[0] not in self.env and parts[0] not in self.locals:
            res = self.resolver.resolve(node)
            if res is not None:
                return self.external(node)
        value = self.eval(node.value)
        return self.attribute(value, node.attr, node)

    def attribute(self, value, attr, node):
        if isinstance(value, np.ndarray):
            if attr == "T":
                return value.T
            if attr in ("shape", "ndim", "size"):
                return getattr(value, attr)
            if attr == "dtype":
                return value.dtype if value.dtype != object else np.dtype(np.float64)
        if isinstance(value, types.ModuleType):
            return getattr(value, attr)
        if isinstance(value, sympy.Basic) and attr in ("real", "T"):
            return value
        if isinstance(value, (int, float)) and attr == "real":
            return value
        if isinstance(value, (tuple, list, str, range)):
            return getattr(value, attr)
        raise self.error(UnsupportedSyntaxError, node,
                         f"symbolic evaluation does not support the attribute .{attr} of {type(value).__name__}")

    def eval_Tuple(self, node):
        return tuple(self.elements(node.elts))

    def eval_List(self, node):
        return list(self.elements(node.elts))

    def elements(self, elts):
        out = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.extend(self.iterate(self.eval(e.value), e))
            else:
                out.append(self.eval(e))
        return out

    def eval_Slice(self, node):
        def part(e):
            return None if e is None else self.concrete_int(self.eval(e), e, "a slice bound depends on the input")
        return slice(part(node.lower), part(node.upper), part(node.step))

    def eval_BinOp(self, node):
        return self.binop(node.op, self.eval(node.left), self.eval(node.right), node)

    def binop(self, op: ast.operator, a: Any, b: Any, node, inplace: bool = False) -> Any:
        a, b = _norm(a), _norm(b)
        if isinstance(op, ast.MatMult):
            result = _matmul(a, b)
        elif type(op) in _BINOPS:
            pyop, ufunc = _BINOPS[type(op)]
            if isinstance(a, (list, tuple)) and isinstance(op, (ast.Add, ast.Mult)):
                result = pyop(a, b)
            else:
                result = _binop_arrays(pyop, ufunc, a, b)
        else:
            raise self.error(UnsupportedSyntaxError, node,
                             f"symbolic evaluation does not support the operator {type(op).__name__}")
        if inplace and isinstance(a, np.ndarray) and isinstance(result, np.ndarray) \
                and result.shape == a.shape:
            if a.dtype == object or result.dtype == a.dtype:
                a[...] = result
                return a
            target = self.upgrade(a)
            target[...] = result
            return target
        if inplace and isinstance(a, list) and isinstance(result, list):
            a[:] = result
            return a
        return result

    def eval_UnaryOp(self, node):
        v = _norm(self.eval(node.operand))
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return +v
        if isinstance(node.op, ast.Not):
            t = self.truth(v, node.operand)
            return (not t) if isinstance(t, bool) else sympy.Not(t)
        if not _sym(v):
            return ~v
        raise self.error(UnsupportedSyntaxError, node, "symbolic evaluation does not support `~` on symbolic values")

    def eval_Compare(self, node):
        names = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
        left = self.eval(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            if type(op) in names:
                r = _rel(names[type(op)], _norm(left), _norm(right))
            elif isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)):
                if _sym(left) and isinstance(op, (ast.In, ast.NotIn)):
                    raise self.error(UnsupportedSyntaxError, node, "`in` on symbolic values is not supported")
                r = {ast.Is: operator.is_, ast.IsNot: operator.is_not,
                     ast.In: lambda u, v: u in v, ast.NotIn: lambda u, v: u not in v}[type(op)](left, right)
            else:
                raise self.error(UnsupportedSyntaxError, node, f"unsupported comparison {type(op).__name__}")
            if result is None:
                result = r
            else:
                t1, t2 = self.truth(result, node), self.truth(r, node)
                if t1 is False or t2 is False:
                    return False
                result = t2 if t1 is True else (t1 if t2 is True else sympy.And(t1, t2))
            left = right
        return result

    def eval_BoolOp(self, node):
        is_and = isinstance(node.op, ast.And)
        symbolic = []
        value = None
        for e in node.values:
            value = self.eval(e)
            t = self.truth(value, e)
            if isinstance(t, bool):
                if t is not is_and:                  # `False and ...` / `True or ...` decides
                    return value if not symbolic else t
                continue
            symbolic.append(t)
        if not symbolic:
            return value
        return sympy.And(*symbolic) if is_and else sympy.Or(*symbolic)

    def eval_IfExp(self, node):
        c = self.truth(self.eval(node.test), node.test)
        if c is True:
            return self.eval(node.body)
        if c is False:
            return self.eval(node.orelse)
        return _select(c, self.eval(node.body), self.eval(node.orelse))

    def eval_Subscript(self, node):
        obj = self.eval(node.value)
        return self.getitem(obj, self.index(node.slice), node)

    def getitem(self, obj, idx, node):
        if isinstance(obj, sympy.Basic):
            raise self.error(UnsupportedSyntaxError, node, "cannot index a scalar")
        return _norm(obj[idx])

    def index(self, node) -> Any:
        return self.concrete_index(self.eval(node), node)

    def concrete_index(self, v, node):
        if isinstance(v, tuple):
            return tuple(self.concrete_index(e, node) for e in v)
        if isinstance(v, list):
            return np.asarray([self.concrete_index(e, node) for e in v])
        if isinstance(v, np.ndarray):
            if v.dtype == object:
                if _sym(v):
                    raise self.error(DifferentiationError, node, "an index depends on the input")
                return np.asarray(v.tolist())
            return v
        if isinstance(v, sympy.Basic):
            return self.concrete_int(v, node, "an index depends on the input")
        return v

    def concrete_int(self, v, node, message: str) -> int:
        v = _norm(v)
        if isinstance(v, sympy.Basic):
            if v.is_Integer:
                return int(v)
            raise self.error(DifferentiationError, node, f"{message} ({v})")
        if isinstance(v, (bool, int)) or v is None:
            return v
        return operator.index(v)

    def truth(self, v, node) -> Any:
        v = _norm(v)
        if isinstance(v, np.ndarray):
            if v.size != 1:
                raise self.error(DifferentiationError, node, "the truth value of an array with more than one "
                                 "element is ambiguous (use np.all or np.any)")
            v = _norm(v.reshape(-1)[0])
        return _truth_value(v)

    def iterate(self, v, node) -> list:
        v = _norm(v)
        if isinstance(v, sympy.Basic):
            raise self.error(DifferentiationError, node, f"cannot iterate over the scalar {v}")
        if isinstance(v, np.ndarray):
            if v.ndim == 0:
                raise self.error(DifferentiationError, node, "cannot iterate over a 0-d array")
            return [_norm(e) for e in v]
        return list(v)

    def eval_ListComp(self, node):
        return self.comprehension(node)

    def eval_GeneratorExp(self, node):
        return self.comprehension(node)

    def comprehension(self, node):
        names = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        saved = {k: self.env[k] for k in names if k in self.env}
        out = []

        def rec(k):
            if k == len(node.generators):
                out.append(self.eval(node.elt))
                return
            g = node.generators[k]
            for item in self.iterate(self.eval(g.iter), g.iter):
                self.assign(g.target, item)
                ok = True
                for cond in g.ifs:
                    t = self.truth(self.eval(cond), cond)
                    if not isinstance(t, bool):
                        raise self.error(DifferentiationError, cond,
                                         "a comprehension's `if` depends on the input")
                    ok = ok and t
                if ok:
                    rec(k + 1)
        try:
            rec(0)
        finally:
            for k in names:
                if k in saved:
                    self.env[k] = saved[k]
                else:
                    self.env.pop(k, None)
        return out

    def eval_JoinedStr(self, node):
        return ""

    # --- calls ----------------------------------------------------------------------------------

    def eval_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute):
            parts = dotted(func)
            external = parts is not None and parts[0] not in self.env and parts[0] not in self.locals
            if not external:
                obj = self.eval(func.value)
                if not isinstance(obj, types.ModuleType):
                    args, kwargs = self.call_args(node)
                    return self.method(obj, func.attr, args, kwargs, node)
                f = getattr(obj, func.attr)
                args, kwargs = self.call_args(node)
                return self.call(f, args, kwargs, node)
        f = self.eval(func)
        args, kwargs = self.call_args(node)
        return self.call(f, args, kwargs, node)

    def call_args(self, node):
        args = self.elements(node.args)
        kwargs = {}
        for k in node.keywords:
            if k.arg is None:
                raise self.error(UnsupportedSyntaxError, k, "`**kwargs` in a call is not supported")
            kwargs[k.arg] = self.eval(k.value)
        return args, kwargs

    def call(self, f, args, kwargs, node):
        try:
            handler = _TABLE.get(f)
        except TypeError:
            handler = None
        if handler is not None and f in _ALWAYS:
            return _norm(handler(self, node, *args, **kwargs))
        try:
            direct = f in _DIRECT
        except TypeError:
            direct = False
        if direct:
            return _norm(f(*args, **kwargs))
        if _library(f) and not _sym(args) and not _sym(list(kwargs.values())):
            return _norm(f(*args, **kwargs))
        if handler is not None:
            return _norm(handler(self, node, *args, **kwargs))
        if isinstance(f, types.FunctionType) and not _library(f):
            return self.inline(f, args, kwargs, node)
        if isinstance(f, types.MethodType) and isinstance(f.__self__, list):
            return f(*args, **kwargs)
        why = GAPS.get(rule_key(f) or "")
        if why:
            raise self.error(NonDifferentiableError, node,
                             f"the symbolic route does not map {_describe(f)} to SymPy: {why}")
        raise self.error(NonDifferentiableError, node,
                         f"symbolic evaluation does not know {_describe(f)}; it maps NumPy/math functions "
                         "to SymPy and inlines your own Python functions")

    def inline(self, fn, args, kwargs, node):
        if self.depth >= _MAX_DEPTH:
            raise self.error(DifferentiationError, node, f"calls nested more than {_MAX_DEPTH} deep (recursion?)")
        src = load(fn)
        sig = inspect.signature(fn)
        ba = sig.bind(*args, **kwargs)
        ba.apply_defaults()
        sub = _Evaluator(src, dict(ba.arguments), self.reads, self.depth + 1)
        return sub.run()

    def method(self, obj, name, args, kwargs, node):
        if isinstance(obj, (list, tuple, str, dict, range)):
            return getattr(obj, name)(*args, **kwargs)
        if isinstance(obj, np.ndarray) and obj.dtype != object and not _sym(args) and not _sym(list(kwargs.values())):
            return _norm(getattr(obj, name)(*args, **kwargs))
        if isinstance(obj, sympy.Basic) or isinstance(obj, (int, float)):
            obj = np.asarray(obj, dtype=object)
        if not isinstance(obj, np.ndarray):
            raise self.error(UnsupportedSyntaxError, node,
                             f"symbolic evaluation does not support the method .{name}() of {type(obj).__name__}")
        if name in _METHOD_REDUCTIONS:
            axis = args[0] if args else kwargs.pop("axis", None)
            keepdims = kwargs.pop("keepdims", False)
            kwargs.pop("dtype", None)
            if kwargs:
                raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
            return _reduce(_METHOD_REDUCTIONS[name], obj, axis, keepdims)
        if name == "dot":
            return _dot(obj, args[0])
        if name in ("reshape", "transpose"):
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            return getattr(obj, name)(*((shape,) if name == "reshape" else tuple(shape)), **kwargs)
        if name in ("ravel", "flatten", "copy", "squeeze", "tolist", "cumsum", "cumprod", "swapaxes",
                    "diagonal", "trace", "repeat"):
            return _norm(getattr(obj, name)(*args, **kwargs))
        if name == "astype":
            return obj.copy()
        if name == "item":
            return _norm(obj.item(*args))
        if name == "clip":
            return _h_clip(self, node, obj, *args, **kwargs)
        raise self.error(UnsupportedSyntaxError, node, f"symbolic evaluation does not support the method .{name}()")


# --- arguments, generation, compilation -----------------------------------------------------------

@dataclass
class _Arg:
    """One parameter of the function at one call: how it is represented symbolically."""

    name: str                  # parameter name
    kind: str                  # "scalar", "array" (symbols) or "const"
    shape: tuple = ()
    value: Any = None          # the value of a "const"
    symbols: Any = None        # Symbol, or object array of Symbols
    pyname: str = ""           # its name in generated code

    def descriptor(self) -> tuple:
        if self.kind == "scalar":
            return ("scalar",)
        if self.kind == "array":
            return ("array", self.shape)
        v = self.value
        if isinstance(v, np.ndarray):
            return ("const-array", v.shape, v.dtype.str, hashlib.sha256(v.tobytes()).hexdigest())
        return ("const", type(v).__name__, repr(v))


def _classify(name: str, value: Any, differentiated: bool) -> _Arg:
    if not differentiated and isinstance(value, (bool, np.bool_, int, np.integer)):
        return _Arg(name, "const", value=_norm(value))
    if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        return _Arg(name, "scalar")
    device = backends.owner(value).needs_device
    if isinstance(value, (list, tuple)) or isinstance(value, np.ndarray) or device:
        kind = np.dtype(value.dtype).kind if hasattr(value, "dtype") else np.asarray(value).dtype.kind
        shape = tuple(np.shape(value)) if not device else tuple(value.shape)
        if kind == "c" or isinstance(value, complex):
            raise DifferentiationError(f"symbolic differentiation does not support complex argument {name!r}")
        if kind in "biu" and not differentiated:
            return _Arg(name, "const", value=np.asarray(backends.to_host(value)))
        if kind not in "biuf":
            raise DifferentiationError(f"argument {name!r} of dtype {kind!r} is not supported")
        return _Arg(name, "scalar" if shape == () else "array", shape=shape)
    if isinstance(value, complex):
        raise DifferentiationError(f"symbolic differentiation does not support complex argument {name!r}")
    if value is None or isinstance(value, (str, np.dtype, type)):
        return _Arg(name, "const", value=value)
    raise DifferentiationError(f"symbolic differentiation does not support argument {name!r} of type "
                               f"{type(value).__name__} (numbers and arrays only)")


def _make_symbols(specs: list[_Arg]) -> None:
    """Give every scalar and array element a real SymPy symbol with a unique, valid name."""
    used: set[str] = _reserved()

    def fresh(base: str) -> str:
        name = base
        while name in used or keyword.iskeyword(name) or not name.isidentifier():
            name += "_"
        used.add(name)
        return name

    for a in specs:
        a.pyname = fresh(a.name)
        if a.kind == "scalar":
            a.symbols = sympy.Symbol(a.pyname, real=True)
        elif a.kind == "array":
            arr = np.empty(a.shape, dtype=object)
            for idx in np.ndindex(a.shape):
                arr[idx] = sympy.Symbol(fresh(a.pyname + "_" + "_".join(map(str, idx))), real=True)
            a.symbols = arr


def _bind(signature: inspect.Signature, fun: Callable, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    ba = signature.bind(*args, **kwargs)
    ba.apply_defaults()
    out = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise UnsupportedSyntaxError(f"{getattr(fun, '__qualname__', fun)}: symbolic differentiation does "
                                         "not support *args or **kwargs parameters")
        out.append((p.name, ba.arguments[p.name]))
    return out


def _evaluate(src: Source, specs: list[_Arg]) -> tuple[Any, list]:
    env = {a.name: (a.value if a.kind == "const" else a.symbols) for a in specs}
    reads: list[_FreeRead] = []
    ev = _Evaluator(src, env, reads)
    return _norm(ev.run()), reads


def _clean(d: sympy.Expr, src: Source) -> sympy.Expr:
    """Derivatives of sign/Heaviside/floor are zero almost everywhere; anything else unevaluated is an error."""
    if d.has(sympy.DiracDelta):
        d = d.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: S.Zero)
    if d.has(sympy.Derivative):
        def zero_ae(e):
            return isinstance(e, sympy.Derivative) and isinstance(e.expr, (sympy.floor, sympy.ceiling, sympy.sign))
        d = d.replace(zero_ae, lambda e: S.Zero)
        if d.has(sympy.Derivative) or d.has(sympy.Subs):
            raise error_at(NonDifferentiableError, src.filename, src.tree,
                           f"SymPy left a derivative unevaluated: {d}")
    return d


class _PrinterMixin:
    """Scalar code: Piecewise as conditional expressions (only the taken branch runs), full-precision floats."""

    def _print_Piecewise(self, expr):
        args = list(expr.args)
        if args and (args[-1].cond is S.true or args[-1].cond is True):
            out = self._print(args.pop().expr)
        else:
            out = self._module_format(self._module + ".nan")
        for e, c in reversed(args):
            out = f"({self._print(e)} if {self._print(c)} else {out})"
        return out

    def _print_Relational(self, expr):
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return "(" + " and ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + " or ".join(self._print(a) for a in expr.args) + ")"

    def _print_Not(self, expr):
        return f"(not {self._print(expr.args[0])})"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    def _print_Float(self, expr):
        v = float(expr)
        if math.isfinite(v):
            return repr(v)
        return self._module_format(self._module + (".nan" if math.isnan(v) else ".inf")) if v > 0 or \
            math.isnan(v) else "-" + self._module_format(self._module + ".inf")

    def _print_Heaviside(self, expr):
        h0 = expr.args[1] if len(expr.args) > 1 else S.Half
        return f"{self._module_format(self._module + '.heaviside')}({self._print(expr.args[0])}, {self._print(h0)})"

    def _print_StopGradient(self, expr):
        return self._print(expr.args[0])

    def _print_NormRoot(self, expr):
        return self._print(sympy.sqrt(expr.args[0]))

    def _print_cbrt(self, expr):
        return f"{self._module_format(self._module + '.cbrt')}({self._print(expr.args[0])})"

    def _special(self, name, expr):
        return f"{self._module_format('scipy.special.' + name)}({', '.join(self._print(a) for a in expr.args)})"


# SymPy's special functions (from scipy.special's, rules/special.py) print as scipy.special's
for _sympy_name, _scipy_name in (("erf", "erf"), ("erfc", "erfc"), ("erfinv", "erfinv"), ("loggamma", "gammaln"),
                                 ("digamma", "digamma"), ("polygamma", "polygamma")):
    setattr(_PrinterMixin, f"_print_{_sympy_name}",
            lambda self, expr, name=_scipy_name: self._special(name, expr))


_PRINTERS: dict[str, type] = {}      # a SymPy printer class's name -> it with _PrinterMixin


def _printer(backend: str):
    """A printer for `backend`: the class in sympy.printing.numpy the backend names, with _PrinterMixin."""
    base = backends.get(backend).printer
    cls = _PRINTERS.get(base)
    if cls is None:
        cls = _PRINTERS[base] = type(f"_{base}", (_PrinterMixin, getattr(sympy_printers, base)), {})
    return cls({"fully_qualified_modules": True, "allow_unknown_functions": False})


def _alias(text: str, backend: str) -> str:
    """Printed code with the module spelled as generated code imports it (`numpy.sin` -> `np.sin`)."""
    b = backends.get(backend)
    return re.sub(rf"\b(?:{re.escape(b.array_module)}|numpy)\.", b.alias + ".", text)


def _module_names() -> set[str]:
    """The backends' modules and aliases: what generated code imports them as."""
    return {n for b in backends.REGISTRY.values() for n in (b.module, b.alias)}


def _reserved() -> set[str]:
    """Names a symbol may not take: the modules generated code uses."""
    return _RESERVED | _module_names()


@dataclass
class _Entry:
    """One compiled gradient: for one set of argument shapes, kinds and integer values."""

    fn: Callable
    source: str
    expr: Any
    ops_before: int
    ops_after: int
    reads: list = field(default_factory=list)
    path: Any = None


def _generate(src: Source, specs: list[_Arg], wrt: list[_Arg], grads: list[Any], backend: str,
              key: str) -> tuple[str, int, int]:
    """Print the gradient as a Python function; returns (source, ops before CSE, ops after CSE)."""
    flat = [e for g in grads for e in (g.flat if isinstance(g, np.ndarray) else [g])]
    flat = [sympy.sympify(e) for e in flat]
    unit = backends.get(backend)
    if not unit.takes_numbers:            # CuPy functions need arrays: fold constants like log(2) to floats
        flat = [e.replace(lambda u: isinstance(u, (sympy.Function, sympy.Pow)) and not u.free_symbols
                          and u.is_extended_real, lambda u: sympy.Float(u.evalf(17)))
                for e in flat]
    before = sum(sympy.count_ops(e) for e in flat)
    used = {a.pyname for a in specs}
    for a in specs:
        if a.kind == "array":
            used.update(str(s) for s in a.symbols.flat)
    prefix = next(p for p in ("t", "_t", "cse_t", "__t") if not any(re.fullmatch(re.escape(p) + r"\d+", u)
                                                                    for u in used))
    replacements, reduced = sympy.cse(flat, symbols=sympy.numbered_symbols(prefix, real=True))
    after = sum(sympy.count_ops(rhs) for _, rhs in replacements) + sum(sympy.count_ops(e) for e in reduced)

    p = _printer(backend)
    mod = unit.alias
    fname = re.sub(r"\W", "_", src.tree.name) + "_symbolic_grad"
    lines = [f"    \"\"\"Gradient of {src.qualname} ({cache.shown_path(src.filename)}:{src.lineno}) by s2sad.symbolic.\"\"\""]
    for a in specs:
        if a.kind == "array":
            for idx in np.ndindex(a.shape):
                lines.append(f"    {a.symbols[idx]} = {a.pyname}[{', '.join(map(str, idx))}]")
    for sym, rhs in replacements:
        lines.append(f"    {sym} = {_alias(p.doprint(rhs), backend)}")
    it = iter(reduced)
    names = []
    for a, g in zip(wrt, grads):
        gname = "grad_" + a.pyname
        while gname in used:
            gname += "_"
        used.add(gname)
        names.append(gname)
        if isinstance(g, np.ndarray):
            lines.append(f"    {gname} = {mod}.empty({a.shape!r}, dtype={mod}.float64)")
            for idx in np.ndindex(a.shape):
                lines.append(f"    {gname}[{', '.join(map(str, idx))}] = {_alias(p.doprint(next(it)), backend)}")
        else:
            lines.append(f"    {gname} = {_alias(p.doprint(next(it)), backend)}")
    lines.append(f"    return {', '.join(names)}")
    code = "\n".join(lines)
    imports = [f"import {unit.array_module} as {mod}"] if re.search(rf"\b{mod}\.", code) else []
    for m in sorted(p.module_imports):
        if m not in _module_names():
            imports.append(f"import {m}")
    header = [f"# Generated by s2sad.symbolic: the gradient of {src.qualname} ({cache.shown_path(src.filename)}:{src.lineno})",
              "# with respect to " + ", ".join(f"{a.name} {a.shape if a.kind == 'array' else 'scalar'}"
                                               for a in wrt),
              f"# ops before CSE: {before}, after CSE: {after}",
              f"{cache.KEY_MARK}{key}"]
    params = ", ".join(a.pyname for a in specs)
    text = "\n".join(header + imports + ["", "", f"def {fname}({params}):"] + lines) + "\n"
    return text, before, after


def _compile(text: str, src: Source, key: str) -> tuple[Callable, Any]:
    path = cache.generated_dir() / cache.file_name(src.module, src.qualname, "symbolic", key, src.filename)
    written = cache.write(path, text)
    filename = str(written) if written is not None else f"<s2sad.symbolic {src.qualname} {key}>"
    if written is None:
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    code = compile(text, filename, "exec")
    namespace: dict = {"__name__": f"s2sad.generated.{src.tree.name}_symbolic", "__file__": filename}
    exec(code, namespace)
    fname = re.sub(r"\W", "_", src.tree.name) + "_symbolic_grad"
    return namespace[fname], written


@dataclass
class _Derived:
    grads: list
    text: str
    before: int
    after: int
    reads: list
    digest: str


def _derive(src: Source, specs: list[_Arg], wrt: list[_Arg], backend: str, key: tuple) -> _Derived:
    """Evaluate f symbolically, differentiate its scalar output, and print the gradient function."""
    _make_symbols(specs)
    out, reads = _evaluate(src, specs)
    if isinstance(out, np.ndarray):
        if out.size != 1:
            raise error_at(NonScalarOutputError, src.filename, src.tree,
                           f"{src.qualname} returned an array of shape {out.shape}, but grad needs a "
                           "scalar output. Reduce it (e.g. `.sum()`).")
        out = _norm(out.reshape(-1)[0])
    if isinstance(out, (list, tuple)) or not isinstance(out, (sympy.Basic, int, float)):
        raise error_at(NonScalarOutputError, src.filename, src.tree,
                       f"{src.qualname} returned {type(out).__name__}, not a number")
    out = sympy.sympify(out)
    grads: list = []
    for a in wrt:
        if a.kind == "scalar":
            grads.append(_clean(sympy.diff(out, a.symbols), src))
        else:
            g = np.empty(a.shape, dtype=object)
            for idx in np.ndindex(a.shape):
                g[idx] = _clean(sympy.diff(out, a.symbols[idx]), src)
            grads.append(g)
    digest = hashlib.sha256(repr((ast.dump(src.tree), key)).encode()).hexdigest()[:16]
    text, before, after = _generate(src, specs, wrt, grads, backend, digest)
    return _Derived(grads, text, before, after, reads, digest)


def _is_transformation(fun: Any) -> bool:
    """True for s2sad's own derivative callables (grad, numerical and symbolic gradients)."""
    from ..api.transforms import _Transformed
    from .numerical import _Numerical
    return isinstance(fun, (_Transformed, _Numerical, SymbolicGrad))


class SymbolicGrad:
    """`symbolic.grad(f)`: calling it returns the gradient, from a SymPy expression compiled to NumPy.

    After a call: `.expr` (the derivative(s)), `.source` (the generated code), `.ops_before_cse`,
    `.ops_after_cse`, `.path` (the generated file, or None).
    """

    _s2sad_derivative = "symbolic derivative"    # s2sad must not transform its __wrapped__ instead

    def __init__(self, fun: Callable, argnums: int | tuple[int, ...] = 0):
        if not callable(fun):
            raise TypeError(f"symbolic.grad expects a function, not {fun!r}")
        if _is_transformation(fun):
            # its __wrapped__ is the original function: reading that source would differentiate the wrong thing
            raise DifferentiationError(f"symbolic.grad cannot differentiate {fun!r}, a derivative computed by "
                                       "s2sad: differentiate the original function symbolically instead")
        functools.update_wrapper(self, fun)
        self.__wrapped__ = fun
        self.argnums = argnums
        self._nums = check_argnums(fun, argnums)
        self._single = isinstance(argnums, int)
        self._signature = inspect.signature(fun)
        self._src: Source | None = None
        self._cache: dict[tuple, _Entry] = {}
        self._last: _Entry | None = None

    def __repr__(self) -> str:
        return f"<s2sad.symbolic.grad of {getattr(self.__wrapped__, '__qualname__', self.__wrapped__)}>"

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def _need_last(self) -> _Entry:
        if self._last is None:
            self._last = self._numbers_entry()
        return self._last

    def _numbers_entry(self) -> _Entry:
        """Before any call: the derivative for numbers (each differentiated parameter, and each without a
        default, a float symbol; the others keep their defaults), which is what `.expr` shows for a function
        of scalars. A call with arrays shows theirs (the expression depends on the arguments' shapes)."""
        params = list(self._signature.parameters.values())
        positional = [k for k, p in enumerate(params) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        diff = {positional[i] for i in self._nums}
        try:
            specs = [_classify(p.name, 1.0 if k in diff or p.default is p.empty else p.default, k in diff)
                     for k, p in enumerate(params)]
            key = ("numpy", tuple(a.descriptor() for a in specs))
            entry = self._cache.get(key) or self._build(specs, [specs[positional[i]] for i in self._nums], "numpy", key)
        except Exception as exc:        # (a property: AttributeError is what hasattr expects)
            raise AttributeError(
                f"the symbolic derivative of {self.__wrapped__.__qualname__} depends on its arguments' shapes, "
                f"and with numbers for its arguments it could not be built ({' '.join(str(exc).split())}): call "
                "it once with your arguments, then read .expr and .source") from None
        self._cache[key] = entry
        return entry

    @property
    def expr(self) -> Any:
        return self._need_last().expr

    @property
    def source(self) -> str:
        return self._need_last().source

    @property
    def ops_before_cse(self) -> int:
        return self._need_last().ops_before

    @property
    def ops_after_cse(self) -> int:
        return self._need_last().ops_after

    @property
    def path(self) -> Any:
        return self._need_last().path

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = _bind(self._signature, self.__wrapped__, args, kwargs)
        positional = [i for i, p in enumerate(self._signature.parameters.values())
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        diff = {positional[i] for i in self._nums}
        specs = [_classify(name, value, i in diff) for i, (name, value) in enumerate(bound)]
        backend = backends.of(v for _, v in bound).name
        key = (backend, tuple(a.descriptor() for a in specs))
        entry = self._cache.get(key)
        if entry is None or not all(r.holds() for r in entry.reads):
            entry = self._build(specs, [specs[positional[i]] for i in self._nums], backend, key)
            self._cache[key] = entry
        self._last = entry
        call_args = [self._convert(v, a, backend) for a, (_, v) in zip(specs, bound)]
        out = entry.fn(*call_args)
        if len(self._nums) == 1:
            out = (out,)
        results = []
        for i, g in zip(self._nums, out):
            original = bound[positional[i]][1]
            results.append(self._like(g, original, backend))
        return results[0] if self._single else tuple(results)

    def _build(self, specs: list[_Arg], wrt: list[_Arg], backend: str, key: tuple) -> _Entry:
        if self._src is None:
            self._src = load(self.__wrapped__)
        d = _derive(self._src, specs, wrt, backend, key)
        fn, path = _compile(d.text, self._src, d.digest)
        expr = d.grads[0] if self._single else tuple(d.grads)
        return _Entry(fn, d.text, expr, d.before, d.after, d.reads, path)

    @staticmethod
    def _convert(v: Any, a: _Arg, backend: str) -> Any:
        if a.kind == "const":
            return v
        unit = backends.get(backend)
        if unit.needs_device:
            xp = unit.load()
            return xp.asarray(v, dtype=xp.float64)
        if a.kind == "scalar":
            return np.float64(np.asarray(v, dtype=np.float64))
        return np.asarray(v, dtype=np.float64)

    @staticmethod
    def _like(g: Any, original: Any, backend: str) -> Any:
        unit = backends.get(backend)
        if unit.needs_device and unit.owns(original):
            xp = unit.load()
            dtype = original.dtype if original.dtype.kind == "f" else xp.float64
            return xp.asarray(g, dtype=dtype).reshape(original.shape)
        if isinstance(original, np.ndarray) and original.ndim == 0:
            return like(np.asarray(g, dtype=np.float64), original)
        return like(g if isinstance(g, np.ndarray) else np.float64(g), original)


def grad(fun: Callable | None = None, /, *, argnums: int | tuple[int, ...] = 0) -> Any:
    """Gradient by symbolic evaluation of f's AST with SymPy, CSE, and generated NumPy/CuPy code.

    Array arguments become one symbol per element, float scalars one symbol, ints stay constants
    (loop counts). The callable exposes `.expr`, `.source`, `.ops_before_cse`, `.ops_after_cse`.
    """
    if fun is None:
        return lambda f: SymbolicGrad(f, argnums)
    return SymbolicGrad(fun, argnums)


def expression(fun: Callable, *args: Any, **kwargs: Any) -> Any:
    """The SymPy expression of `fun(*args)`: float arguments become symbols, ints stay constants.

    Returns a SymPy expression for a scalar output, or a NumPy object array of expressions.
    """
    sig = inspect.signature(fun)
    bound = _bind(sig, fun, args, kwargs)
    specs = [_classify(name, value, False) for name, value in bound]
    _make_symbols(specs)
    out, _ = _evaluate(load(fun), specs)
    return sympy.sympify(out) if isinstance(out, (int, float)) else out


def generated_source(fun: Callable, *args: Any, argnums: int | tuple[int, ...] = 0, backend: str = "numpy",
                     **kwargs: Any) -> str:
    """The source `grad(fun, argnums=argnums)` generates for these arguments, for `backend` "numpy" or
    "cupy" (printing needs no CuPy; nothing is compiled or written)."""
    if backend not in backends.names():
        raise ValueError(f"backend must be one of {', '.join(repr(n) for n in backends.names())}, not {backend!r}")
    sig = inspect.signature(fun)
    bound = _bind(sig, fun, args, kwargs)
    positional = [i for i, p in enumerate(sig.parameters.values())
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    nums = check_argnums(fun, argnums)
    diff = {positional[i] for i in nums}
    specs = [_classify(name, value, i in diff) for i, (name, value) in enumerate(bound)]
    key = (backend, tuple(a.descriptor() for a in specs))
    return _derive(load(fun), specs, [specs[positional[i]] for i in nums], backend, key).text
