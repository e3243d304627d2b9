"""Analysis: which variables may hold complex numbers, and where one meets a rule that holds for real
numbers only.

Complex numbers follow JAX's convention: a cotangent g pairs with a value v by Re(sum(g * v)), so a
holomorphic rule holds for complex operands unchanged, and a real value's cotangent is the real part
of what flows back to it (the reverse mode takes it where a contribution may be complex).

A value may be complex when its statement reads a complex literal (`1j`), a complex type
(`np.complex128`, `dtype=complex`), a value that may be complex, or applies a rule whose result is
complex for real operands (`np.fft.fft`); a rule marked `real_out` (np.abs, np.real, comparisons) gives
real values from complex ones. The facts are flow-insensitive: a name is complex if any of its
assignments may make it so. A function without any complex source skips all of this.
"""
from __future__ import annotations

import ast
import functools
import warnings

import numpy as np

from ..errors import NonDifferentiableError, located
from ..ir.core import CoreFunction, origin
from ..ir.names import dotted
from ..ir.prim import Prim, is_assign, is_setitem, names_read, primitive, walk_stmts
from ..ir.nodes import walk
from ..rules import RULES, flagged
from .activity import Activity

TYPES = frozenset({"complex", "complex64", "complex128", "complex256", "csingle", "cdouble", "clongdouble",
                   "complexfloating"})


@functools.lru_cache(maxsize=256)
def _complex_dtype(text: str) -> bool:
    """Whether the string names a complex dtype ("complex128", "c16", "D")."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.dtype(text).kind == "c"
    except (TypeError, ValueError, SyntaxError):
        return False


def _source(node: ast.AST) -> bool:
    """A complex literal or a complex type (a name, or a dtype's string)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, complex) or isinstance(node.value, str) and _complex_dtype(node.value)
    if isinstance(node, ast.Name):
        return node.id in TYPES
    return isinstance(node, ast.Attribute) and node.attr in TYPES


def _any_source(body: list[ast.stmt]) -> bool:
    """Whether anything in `body` makes a complex number: a literal, a type, a call of a complex_out rule
    (one quick walk: this runs on every function transformed)."""
    made = flagged("complex_out")
    last = {k.rpartition(".")[2] for k in made}
    Constant, Name, Attribute, Call = ast.Constant, ast.Name, ast.Attribute, ast.Call
    for s in body:
        for n in walk(s):
            t = type(n)
            if t is Constant or t is Name or t is Attribute:
                if _source(n):
                    return True
            elif t is Call and type(n.func) is Attribute and n.func.attr in last \
                    and ".".join(dotted(n.func) or ()) in made:
                return True
    return False


def _complex_value(value: ast.expr, cx: set[str]) -> bool:
    """Whether the expression `value` may be complex, given the names `cx` that may be: a comparison
    is not, np.abs(...) is not (a `real_out` rule), np.fft.fft(...) is (`complex_out`), and otherwise
    a complex literal, type or name in it makes it so."""
    if isinstance(value, ast.Name):
        return value.id in cx or _source(value)
    if isinstance(value, ast.Constant):
        return _source(value)
    if isinstance(value, (ast.Compare, ast.BoolOp)) or isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return False
    if isinstance(value, ast.Attribute):
        return _source(value) or _complex_value(value.value, cx)
    if isinstance(value, ast.Subscript):
        return _complex_value(value.value, cx)
    if isinstance(value, ast.Call):
        if _complex_value(value.func, cx):          # complex(1.0, 2.0), np.complex128(x)
            return True
        rule = RULES.get(".".join(dotted(value.func) or ()))
        if rule is not None and rule.real_out:
            return False
        if rule is not None and rule.complex_out:
            return True
        return any(_complex_value(a, cx) for a in value.args) or any(_complex_value(k.value, cx) for k in value.keywords)
    return any(_complex_value(c, cx) for c in ast.iter_child_nodes(value) if isinstance(c, ast.expr))


def operands_complex(prim: Prim, cx: frozenset[str]) -> bool:
    """Whether an argument of the primitive application `prim` may be complex."""
    return bool(cx) and any(_complex_value(a, cx) for a in prim.bound.values() if isinstance(a, ast.expr))


def complex_names(fn: CoreFunction, given: tuple[str, ...] = ()) -> frozenset[str]:
    """The variables of `fn` that may hold complex numbers (empty when nothing in it makes one); `given`:
    parameters and free names that hold complex numbers."""
    if not given and not _any_source(fn.body):
        return frozenset()
    stmts = [s for s in walk_stmts(fn.body) if is_assign(s) or is_setitem(s) or isinstance(s, ast.For)]
    cx: set[str] = set(given)
    changed = True
    while changed:                       # names only join cx: this ends
        changed = False
        for s in stmts:
            if isinstance(s, ast.For):
                found = _complex_value(s.iter, cx)
                targets = {n.id for n in ast.walk(s.target) if isinstance(n, ast.Name)}
            else:
                found = _complex_value(s.value, cx)
                targets = {s.targets[0].id if is_assign(s) else s.targets[0].value.id}
            if found and not targets <= cx:
                cx |= targets
                changed = True
    return frozenset(cx)


def _refuse(fn: CoreFunction, s: ast.stmt, message: str) -> None:
    where = origin(s) or (fn.src.filename, None)
    raise NonDifferentiableError(located(where[0], where[1], None, message))


def _restored(value: ast.expr) -> bool:
    """`None` or `stack.pop()`: no new array (generated code starts a name at None and puts a saved value
    back with a pop, whatever its type)."""
    if isinstance(value, ast.Constant) and value.value is None:
        return True
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "pop" \
        and not value.args


def check(fn: CoreFunction, act: Activity, cx: frozenset[str], real_output: bool, given: tuple[str, ...] = ()) -> None:
    """Refuse (naming the user's line) a differentiated statement where a complex value meets a rule that
    holds for real numbers only, complex values written into an array of real numbers, and, with
    `real_output` (reverse mode), an output that may be complex. `given`: the parameters that hold
    complex numbers."""
    if not cx:
        return
    # arrays that may hold real numbers when complex ones are written into them: a parameter, or a name one
    # of whose assignments gives a real value
    real = set(fn.params) - set(given) | {s.targets[0].id for s in walk_stmts(fn.body)
                             if is_assign(s) and not _complex_value(s.value, cx) and not _restored(s.value)}
    for s in walk_stmts(fn.body):
        if is_assign(s) and act.active(s.targets[0].id):
            prim = primitive(s.value)
            if prim.differentiable and not prim.rule.complex_ok and operands_complex(prim, cx):
                _refuse(fn, s, f"{prim.key} of a value that may be complex: its derivative rule holds for real "
                        "numbers only; take np.real, np.imag or np.abs of the value first")
        elif is_setitem(s):
            x = s.targets[0].value.id
            if x in real and _complex_value(s.value, cx) and (act.active(x) or names_read(s.value) & act.varied):
                _refuse(fn, s, f"a value that may be complex written into `{fn.user_name(x)}`, an array of real "
                        "numbers (NumPy drops the imaginary part): make the array complex "
                        f"(`np.zeros(n, dtype=complex)`) or write np.real of the value")
    if real_output and fn.result in cx and act.active(fn.result):
        ret = next((s for s in walk_stmts(fn.body) if is_assign(s) and s.targets[0].id == fn.result), None)
        message = ("the output may be complex: grad differentiates a real-valued output (as JAX's grad does); "
                   "return np.real(...), np.imag(...) or np.abs(...) ** 2 of it")
        if ret is None:
            raise NonDifferentiableError(f"{fn.src.filename}: {message}")
        _refuse(fn, ret, message)
