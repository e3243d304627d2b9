"""A fast way in for Python floats: the generated gradient's own body behind one type check.

A call of `grad(f)` goes through the API object (argument checks, conversions, the cache) and then
calls the generated function: a few hundred nanoseconds, which is most of the time for a scalar
function like `3 * x**2 - 4 * x`. Once a call with a Python float has taken that path, the API
object gets an entry function built from the generated function's source: the same statements, with
the output's cotangent the constant 1.0 (folded into the arithmetic), that returns the gradient
itself, and that hands any other call (another type, keywords, a CuPy array about) to the full path.
Nothing here is written to a file: the generated file stays the one gradient function.
"""
from __future__ import annotations

import ast
import sys
from typing import Callable

import numpy as np

from .. import backends
from ..frontend import bindings
from ..passes.fuse import fuse
from ..ir.names import all_names
from ..ir.prim import is_range, walk_stmts

SLOW = "_s2sad_full_path"
MODULES = "_s2sad_modules"


class _Seed(ast.NodeTransformer):
    def visit_Name(self, node):
        if node.id == "out_bar" and isinstance(node.ctx, ast.Load):
            return ast.Constant(1.0)
        return node


def _fold_constants(body: list[ast.stmt]) -> list[ast.stmt]:
    """`v = 1.0` at the top level, v bound nowhere else: read 1.0 for v."""
    stores: dict[str, int] = {}
    for s in body:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                stores[n.id] = stores.get(n.id, 0) + 1
    consts = {s.targets[0].id: s.value for s in body
              if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
              and isinstance(s.value, ast.Constant) and stores.get(s.targets[0].id) == 1}

    class Fold(ast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id in consts:
                return ast.Constant(consts[node.id].value)
            return node

    return [Fold().visit(s) for s in body
            if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and s.targets[0].id in consts)]


_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def _floats(body: list[ast.stmt], x: str) -> dict[str, str]:
    """Names of `body` certainly holding a Python float ("f") or int ("i") when `x` is a float, in
    straight-line code, loops and branches alike: numbers, x, range counters, and + - * / of them (not
    **: a negative base makes a complex). A name assigned several times has the widest kind of its
    values (int, then float, then unknown): a fixed point from "int" up, so `b = b * 2` in a loop is a
    float when b starts as one."""
    values: dict[str, list[ast.expr]] = {}
    counters: set[str] = set()
    for s in walk_stmts(body):
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            values.setdefault(s.targets[0].id, []).append(s.value)
        elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            values.setdefault(s.target.id, []).append(ast.BinOp(left=s.target, op=s.op, right=s.value))
        elif isinstance(s, ast.For) and isinstance(s.target, ast.Name) and is_range(s.iter):
            counters.add(s.target.id)
        else:
            for n in ast.walk(s) if not isinstance(s, (ast.If, ast.While, ast.For)) else ():
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    values.setdefault(n.id, []).append(ast.Constant(None))     # bound otherwise: unknown
    kinds: dict[str, str | None] = {v: "i" for v in values}
    kinds.update({c: "i" for c in counters if c not in values})
    kinds[x] = "f"

    def kind(e: ast.expr) -> str | None:
        if isinstance(e, ast.Constant) and type(e.value) in (int, float):
            return "f" if type(e.value) is float else "i"
        if isinstance(e, ast.Name):
            return kinds.get(e.id)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            return kind(e.operand)
        if isinstance(e, ast.BinOp) and isinstance(e.op, _ARITH):
            a, b = kind(e.left), kind(e.right)
            if a is None or b is None:
                return None
            return "f" if "f" in (a, b) or isinstance(e.op, ast.Div) else "i"
        return None

    changed = True
    while changed:                      # kinds only widen (i -> f -> unknown): this ends
        changed = False
        for v, exprs in values.items():
            if v == x and all(kind(e) == "f" for e in exprs):
                continue
            found = [kind(e) for e in exprs]
            new = None if None in found or v == x else "f" if "f" in found else "i"
            if new != kinds.get(v):
                kinds[v] = new
                changed = True
    return {v: k for v, k in kinds.items() if k is not None}


class _OntoFloat(ast.NodeTransformer):
    """`_rt.full(g, x)` and `_rt.unbroadcast(g, x)` onto the float parameter x, for a float g: g."""

    def __init__(self, x: str, kinds: dict[str, str]):
        self.x, self.kinds = x, kinds

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "_rt" \
                and f.attr in ("full", "unbroadcast") and len(node.args) == 2 and not node.keywords \
                and isinstance(node.args[1], ast.Name) and node.args[1].id == self.x \
                and isinstance(node.args[0], ast.Name) and self.kinds.get(node.args[0].id) == "f":
            return node.args[0]
        return node


def _not_fast(params: list[str], index: int, binds, namespace: dict) -> str:
    """The test that sends an entry's call down the full path: parameter `index` is not a Python float,
    another argument could be a device array (a CuPy one: while such a module is imported), or a helper
    was redefined or a global rebound since (`binds`, read in `namespace`: the full path transforms
    again)."""
    device = "".join(f" or {m!r} in {MODULES}" for m in backends.device_modules()) if len(params) > 1 else ""
    return f"type({params[index]}) is not float{device}{_stale(binds, namespace)}"


def _stale(binds, namespace: dict) -> str:
    """` or not (...)`: the test that a helper was redefined or a global rebound since the code was made
    (`binds`, read in `namespace`); "" when it reads none."""
    return f" or not ({bindings.condition(list(binds), namespace)})" if binds else ""


def float_entry(fn: Callable, source: str, index: int, slow: Callable, binds=()) -> Callable | None:
    """`entry(...)`, with the parameters of the generated function `fn` but `out_bar`: the gradient
    with respect to parameter `index` when it is a Python float (and a float comes out), else
    `slow(...)` with the same arguments. None when the generated function does not have the
    expected shape (then the full path is all there is). The caller gives it the user function's
    defaults."""
    tree = ast.parse(source)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fn.__name__]
    if len(defs) != 1:
        return None
    gen = defs[0]
    params = [a.arg for a in gen.args.args]
    if params[-1:] != ["out_bar"] or gen.args.vararg or gen.args.kwarg or gen.args.kwonlyargs:
        return None
    params = params[:-1]
    body = [s for s in gen.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    ret = body.pop() if body and isinstance(body[-1], ast.Return) else None
    if ret is None or not (isinstance(ret.value, ast.Tuple) and len(ret.value.elts) == 2) \
            or any(isinstance(n, ast.Return) for s in body for n in ast.walk(s)):
        return None
    value, grad = ret.value.elts
    pair = ast.Tuple(elts=[value, _Seed().visit(grad)], ctx=ast.Load())
    body = _fold_constants([_Seed().visit(s) for s in body] + [ast.Return(value=pair)])
    tail = body.pop()
    (body,) = fuse([body], tail, params, set(params))
    value, grad = tail.value.elts
    call = f"{SLOW}({', '.join(params)})"
    namespace = dict(fn.__globals__)
    lines = [f"def entry({', '.join(params)}):",
             f"    if {_not_fast(params, index, binds, namespace)}:",
             f"        return {call}"]
    lines += ["    " + line for s in body for line in ast.unparse(s).splitlines()]
    if not (isinstance(value, ast.Constant) and value.value is None):     # a value: it must be a number
        lines += [f"    if not isinstance({ast.unparse(value)}, float):", f"        return {call}"]
    kinds = _floats(body, params[index])
    grad = _OntoFloat(params[index], kinds).visit(grad)
    if not isinstance(grad, ast.Name):
        name = "grad_" if "grad_" not in all_names(gen) else "grad_1_"
        lines.append(f"    {name} = {ast.unparse(grad)}")
        grad = ast.Name(id=name, ctx=ast.Load())
    g = grad.id
    if kinds.get(g) == "f":
        lines.append(f"    return {g}")           # arithmetic on the float: a float comes out
    else:
        lines += [f"    if type({g}) is float:", f"        return {g}",
                  f"    if isinstance({g}, float):", f"        return float({g})",
                  f"    return {call}"]
    src = "\n".join(lines) + "\n"
    namespace[SLOW] = slow
    namespace[MODULES] = sys.modules
    exec(compile(src, f"<s2sad entry of {fn.__name__}>", "exec"), namespace)
    return namespace["entry"]


def compiled_entry(fn: Callable, params: list[str], index: int, slow: Callable, binds=()) -> Callable:
    """`entry(...)` for compiled generated code (numba): a Python float for parameter `index` goes
    straight into the compiled function `fn` (whose parameters are `params` and `out_bar`), a float
    gradient comes straight out; anything else takes `slow(...)`, the full path."""
    namespace = {"_s2sad_compiled": fn, SLOW: slow, MODULES: sys.modules}
    call = ", ".join(params)
    src = (f"def entry({call}):\n"
           f"    if {_not_fast(params, index, binds, namespace)}:\n"
           f"        return {SLOW}({call})\n"
           f"    grad_ = _s2sad_compiled({call})[1]\n"
           f"    return grad_ if type(grad_) is float else {SLOW}({call})\n")
    exec(compile(src, f"<s2sad entry of {getattr(fn, '__name__', 'f')}>", "exec"), namespace)
    return namespace["entry"]


def kinds_entry(fn: Callable, params: list[str], kinds: tuple, nums: tuple, single: bool, scalar_if,
                slow: Callable, binds=()) -> Callable:
    """`entry(...)` for compiled generated code (numba) made for arguments of `kinds` (fast_grad.kinds:
    type, and an array's dtype and number of dimensions, one per parameter of `params`): arguments of
    those kinds go straight into `fn`, and gradients of their arguments' types and shapes (`nums`: the
    differentiated parameters; `single`: one gradient, not a tuple) straight out. Anything else (other
    kinds, keywords, the complex step, a stale helper, an output that may not be a scalar: `scalar_if`)
    takes `slow(...)`, the full path, which says what is wrong; so does an exception from `fn`'s own
    compiled function (numba's dispatcher, called without the backend's guard)."""
    from .convert import complex_step
    namespace = {"_s2sad_compiled": getattr(fn, "compiled", fn), SLOW: slow, "_nd": np.ndarray,
                 "_complex_step": complex_step}
    checks = []
    for k, (p, (t, dtype, ndim)) in enumerate(zip(params, kinds)):
        if t is np.ndarray:
            namespace[f"_dtype{k}"] = dtype
            checks.append(f"type({p}) is _nd and {p}.ndim == {ndim} and {p}.dtype == _dtype{k}")
        else:
            checks.append(f"type({p}) is {t.__name__}")
    call = ", ".join(params)
    lines = [f"def entry({call}):",
             f"    if not ({' and '.join(checks)}) or _complex_step.get(){_stale(binds, namespace)}:",
             f"        return {SLOW}({call})",
             "    try:",
             f"        value_, grads_ = _s2sad_compiled({call})",
             "    except Exception:",          # (numba compiling for another layout; an error: said there)
             f"        return {SLOW}({call})"]
    if scalar_if is not None:     # the output, not computed, has this parameter's shape: one number?
        lines += [f"    if value_ is None and type({scalar_if}) is _nd and {scalar_if}.size != 1:",
                  f"        return {SLOW}({call})"]
    lines += ["    if value_ is not None and type(value_) is not float:", f"        return {SLOW}({call})"]
    outs = []
    for j, i in enumerate(nums):
        g = "grads_" if single else f"grads_[{j}]"
        p = params[i]
        if kinds[i][0] is np.ndarray:
            # (== not `is`: an array numba makes has a dtype equal to the argument's, not the same object)
            lines += [f"    if not (type({g}) is _nd and {g}.dtype == _dtype{i} and {g}.shape == {p}.shape "
                      f"and {g}.flags.writeable):", f"        return {SLOW}({call})"]
        else:
            lines += [f"    if type({g}) is not float:", f"        return {SLOW}({call})"]
        outs.append(g)
    lines.append(f"    return {outs[0] if single else 'grads_'}")
    exec(compile("\n".join(lines) + "\n", f"<s2sad entry of {getattr(fn, '__name__', 'f')}>", "exec"), namespace)
    return namespace["entry"]
