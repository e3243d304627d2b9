"""A comprehension over `range(n)`, n known only when the function runs, as the loop it stands for.

    ys = [x ** k for k in range(n)]            ys = []
                                               for k_1 in range(n):
                                       ->          ys.append(x ** k_1)
    Y = np.stack(ys)                           Y = np.stack(ys)

    total = sum(w[k] * x for k in range(n))    total_1 = 0
                                       ->      for k_1 in range(n):
                                                   total_1 = total_1 + w[k] * x
                                               total = total_1

s2sad unrolls a comprehension over a container or `range(<constants>)` when it transforms the function;
over `range(n)` with n an argument it cannot. Such a comprehension becomes a loop, on the user's syntax
tree before anything else reads it, where the loop computes the same thing:

- `name = [...]` whose one later use is `np.stack(name)` or `np.array(name)` (appends.py then makes the
  list an array written row by row);
- `[...]` as the argument of `np.stack`, `np.array` or `np.sum` (the list is built before the statement);
- `sum(...)` of a comprehension or a generator expression (an accumulator, from 0 as `sum` starts).

The loop variable gets a name of its own (a comprehension's variable is local to it). Anything else is left
as written, and refused as before with the line and the rewrite.
"""
from __future__ import annotations

import ast
from typing import Callable

from .appends import STACKS, mentions, stack_of

_HOISTED_INTO = STACKS | {("np", "sum"), ("numpy", "sum")}      # the calls whose list argument is hoisted


def rewrite(body: list[ast.stmt], params: set[str], fresh: Callable[[str], str]) -> list[ast.stmt]:
    """`body` with each comprehension over a `range` of the parameters `params` written as a loop."""
    out: list[ast.stmt] = []
    for i, st in enumerate(body):
        for field in ("body", "orelse"):
            inner = getattr(st, field, None)
            if isinstance(inner, list) and inner and isinstance(st, (ast.If, ast.For, ast.While)):
                setattr(st, field, rewrite(inner, params, fresh))
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
                and _runtime_range(st.value, params) and _stacked_later(body[i + 1:], st.targets[0].id):
            out.extend(_as_loop(st.value, st.targets[0].id, False, fresh, st))
            continue
        if isinstance(st, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)):
            out.extend(_hoisted(st, params, fresh))
        out.append(st)
    return out


def _runtime_range(e: ast.AST, params: set[str]) -> bool:
    """`[elt for v in range(...)]` (or a generator expression) whose range reads a parameter, with one
    `for`, no `if`, and an element without nested scopes."""
    if not isinstance(e, (ast.ListComp, ast.GeneratorExp)) or len(e.generators) != 1:
        return False
    gen = e.generators[0]
    it = gen.iter
    return (not gen.ifs and not gen.is_async and isinstance(gen.target, ast.Name)
            and isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
            and not it.keywords and 1 <= len(it.args) <= 3
            and any(isinstance(n, ast.Name) and n.id in params for a in it.args for n in ast.walk(a))
            and not any(isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda,
                                       ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await))
                        for n in ast.walk(e.elt)))


def _stacked_later(rest: list[ast.stmt], name: str) -> bool:
    """`name` is used once after, in `np.stack(name)` or `np.array(name)` (what appends.py rewrites)."""
    uses = [s for s in rest if mentions(s, name)]
    return (len(uses) == 1 and mentions(uses[0], name) == 1 and not isinstance(uses[0], (ast.For, ast.While, ast.If))
            and sum(isinstance(c, ast.Call) and stack_of(c, name) is not None for c in ast.walk(uses[0])) == 1)


def _as_loop(comp: ast.expr, name: str, total: bool, fresh: Callable[[str], str],
             where: ast.AST) -> list[ast.stmt]:
    """`name = []` and the loop that appends each element (or, `total`, `name = 0` and the loop that adds
    each element to it)."""
    gen = comp.generators[0]
    var = fresh(gen.target.id)
    elt = _renamed(comp.elt, gen.target.id, var)

    def at(node: ast.AST) -> ast.AST:
        return ast.fix_missing_locations(ast.copy_location(node, where))

    def load(v: str) -> ast.Name:
        return ast.Name(id=v, ctx=ast.Load())

    if total:
        start = ast.Constant(0)
        step = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                          value=ast.BinOp(left=load(name), op=ast.Add(), right=elt))
    else:
        start = ast.List(elts=[], ctx=ast.Load())
        step = ast.Expr(value=ast.Call(func=ast.Attribute(value=load(name), attr="append", ctx=ast.Load()),
                                       args=[elt], keywords=[]))
    loop = ast.For(target=ast.Name(id=var, ctx=ast.Store()), iter=gen.iter, body=[at(step)], orelse=[])
    return [at(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=start)), at(loop)]


def _renamed(e: ast.expr, old: str, new: str) -> ast.expr:
    for n in ast.walk(e):
        if isinstance(n, ast.Name) and n.id == old:
            n.id = new
    return e


def _hoisted(st: ast.stmt, params: set[str], fresh: Callable[[str], str]) -> list[ast.stmt]:
    """The loops that build the comprehensions `st` reads in np.stack/np.array/np.sum or sums with `sum`,
    each then read as a name in `st`; the places that may run `st`'s parts conditionally (`a if c else
    b`, `and`/`or`, a lambda) are not looked into."""
    before: list[ast.stmt] = []
    _hoist_under(st, params, fresh, before)
    return before


def _hoist_under(node: ast.AST, params: set[str], fresh: Callable[[str], str], before: list) -> None:
    # (a function of the module, not a closure calling itself: that would be a reference cycle)
    for field, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        for k, child in enumerate(items):
            if not isinstance(child, ast.AST) or isinstance(child, (ast.IfExp, ast.BoolOp, ast.Lambda)):
                continue
            replacement = _replacement(child, params, fresh, before)
            if replacement is None:
                _hoist_under(child, params, fresh, before)
            elif isinstance(value, list):
                value[k] = replacement
            else:
                setattr(node, field, replacement)


def _replacement(node: ast.AST, params: set[str], fresh: Callable[[str], str], before: list) -> ast.expr | None:
    """What stands for `node` once its comprehension is built by a loop in `before`, or None."""
    if not (isinstance(node, ast.Call) and node.args and _runtime_range(node.args[0], params)):
        return None
    comp = node.args[0]
    f = node.func
    if len(node.args) > 1 or node.keywords:        # np.stack's axis (appends.py takes a constant one)
        if not (isinstance(f, ast.Attribute) and f.attr == "stack" and isinstance(comp, ast.ListComp)):
            return None
    if isinstance(f, ast.Name) and f.id == "sum":
        name = fresh("total")
        before.extend(_as_loop(comp, name, True, fresh, comp))
        return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in _HOISTED_INTO \
            and isinstance(comp, ast.ListComp):
        name = fresh("items")
        before.extend(_as_loop(comp, name, False, fresh, comp))
        items: ast.expr = ast.Name(id=name, ctx=ast.Load())
        if f.attr == "sum":            # np.sum of a list: of the array the list makes
            items = ast.Call(func=ast.Attribute(value=ast.Name(id=f.value.id, ctx=ast.Load()), attr="array",
                                                ctx=ast.Load()), args=[items], keywords=[])
        node.args[0] = ast.fix_missing_locations(ast.copy_location(items, comp))
        return node
    return None
