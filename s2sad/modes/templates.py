"""Building blocks both modes generate code with: AST names and calls, and rule templates instantiated
(names substituted, trailing default arguments of runtime helpers dropped)."""
from __future__ import annotations

import ast
import inspect

from .. import runtime
from ..ir.nodes import walk
from ..ir.astcopy import clone

ANS = "__ans__"      # placeholder for a rule's `ans` until the mode knows where the new value lives


_LOAD, _STORE = ast.Load(), ast.Store()    # shared, as clone shares them: no pass changes a context in place


def name_node(id_: str, store: bool = False) -> ast.Name:
    """`id_` as a name to read (or, with store, to assign)."""
    return ast.Name(id_, _STORE if store else _LOAD)


def call(func: str, *args) -> ast.Call:
    """The call `func(*args)` of a dotted name (`np.sum`, `_rt.zeros`)."""
    parts = func.split(".")
    f: ast.expr = name_node(parts[0])
    for p in parts[1:]:
        f = ast.Attribute(value=f, attr=p, ctx=ast.Load())
    return ast.Call(func=f, args=list(args), keywords=[])


_SIGNATURES: dict[object, list[inspect.Parameter]] = {}


def helper_params(name: str) -> list[inspect.Parameter] | None:
    """The parameters of the runtime helper `_rt.<name>` (None: no such helper), each signature read once."""
    helper = getattr(runtime, name, None)
    if helper is None:
        return None
    if helper not in _SIGNATURES:
        _SIGNATURES[helper] = list(inspect.signature(helper).parameters.values())
    return _SIGNATURES[helper]


def drop_defaults(expr: ast.expr) -> ast.expr:
    """`_rt.sum_grad(g, a, None, False)` -> `_rt.sum_grad(g, a)`: trailing arguments equal to the
    runtime helper's defaults are left out, for readability."""
    for node in walk(expr):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "_rt"):
            continue
        params = helper_params(node.func.attr)
        if params is None:
            continue
        while node.args and len(node.args) <= len(params):
            p = params[len(node.args) - 1]
            last = node.args[-1]
            if p.default is inspect.Parameter.empty or not isinstance(last, ast.Constant) \
                    or last.value != p.default or type(last.value) is not type(p.default):
                break
            node.args.pop()
    return expr


def substitute(template: ast.AST, mapping: dict[str, ast.expr]) -> ast.AST:
    """A copy of `template` with each name in `mapping` replaced by a copy of its expression (as
    `replace(clone(template), mapping)`, in one pass)."""
    if type(template) is ast.Name and template.id in mapping:
        return clone(mapping[template.id])
    new = template.__class__.__new__(template.__class__)
    d = new.__dict__
    fields = template._fields
    for k, v in template.__dict__.items():
        if type(v) is list and k in fields:
            d[k] = [substitute(x, mapping) if isinstance(x, ast.AST) else clone(x) if isinstance(x, list) else x
                    for x in v]
        elif isinstance(v, ast.AST) and k in fields:
            d[k] = substitute(v, mapping)
        else:
            d[k] = clone(v) if isinstance(v, (ast.AST, list)) else v
    return new


def replace(node: ast.AST, mapping: dict[str, ast.expr]) -> ast.AST:
    """`node` with its names in `mapping` replaced (in place below it) by copies of their expressions;
    what replaces a name is not looked into."""
    if type(node) is ast.Name:
        return clone(mapping[node.id]) if node.id in mapping else node
    for f in node._fields:
        v = getattr(node, f, None)
        if type(v) is list:
            v[:] = [replace(x, mapping) if isinstance(x, ast.AST) else x for x in v]
        elif isinstance(v, ast.AST):
            setattr(node, f, replace(v, mapping))
    return node
