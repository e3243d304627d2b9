"""A list built by `.append` in a `for` loop and then stacked, as an array written row by row.

    out = []                                   out_n = len(range(T))      (the loop's trip count)
    for t in range(T):                         for t in range(T):
        h = np.tanh(W @ h + x[t])                  h = np.tanh(W @ h + x[t])
        out.append(h)                 ->           out_item = h
                                                   if out_k == 0:
                                                       out = np.zeros((out_n,) + np.shape(out_item),
                                                                      dtype=np.result_type(out_item))
                                                   else:
                                                       assert np.can_cast(np.result_type(out_item), out.dtype)
                                                   out[out_k] = out_item
                                                   out_k += 1
    H = np.stack(out)                          H = out

s2sad differentiates row writes in every mode, so the pattern people write for an RNN's states or a
trajectory differentiates without a list of differentiated values. The rewrite is made on the user's
syntax tree before it is lowered, only where it means the same: one unconditional `.append` at the top of
the loop's body, no `break`/`continue`/`return` in the loop, the list used nowhere else, and read once
afterwards by `np.stack(out)`, `np.stack(out, axis=k)` or `np.array(out)`. Anything else is left as it
is (and refused in reverse mode, as a list of differentiated values).
"""
from __future__ import annotations

import ast
import copy
from ..ir.nodes import walk
from typing import Callable

STACKS = {("np", "stack"), ("np", "array"), ("numpy", "stack"), ("numpy", "array")}


_IN_PLACE_METHODS = {"fill", "sort", "put", "resize", "itemset", "partition", "setfield"}
_IN_PLACE_CALLS = {"copyto", "put", "place", "putmask", "fill_diagonal"}


def written_in_place(tree: ast.AST) -> set[str]:
    """The names whose value the code may change in place: `h[i] = ...`, `h += ...`, `h.fill(0)`,
    `np.copyto(h, ...)`, `out=h`. A list holds its items themselves, so an item appended and then changed
    this way changes in the list too; an array's row is a copy. Such an append is left as a list (and
    refused when it holds differentiated values), never rewritten into a row that would differ."""
    out = set()

    def base(node: ast.AST) -> str | None:
        while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None
    for n in walk(tree):
        targets = []
        if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, ast.Store):
            targets.append(n)
        elif isinstance(n, ast.AugAssign):
            targets.append(n.target)
        elif isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Attribute) and f.attr in _IN_PLACE_METHODS:
                targets.append(f.value)
            if isinstance(f, ast.Attribute) and f.attr in _IN_PLACE_CALLS and n.args:
                targets.append(n.args[0])
            targets += [k.value for k in n.keywords if k.arg == "out"]
        out.update(b for b in map(base, targets) if b is not None)
    return out


_VIEWS = {"reshape", "ravel", "transpose", "asarray", "asanyarray", "squeeze", "expand_dims", "atleast_1d",
          "atleast_2d", "atleast_3d", "broadcast_to", "moveaxis", "swapaxes", "diagonal", "real", "imag", "view",
          "flip", "fliplr", "flipud", "rot90"}


def shared(node: ast.expr) -> set[str]:
    """The names whose memory the value of `node` may share (the names themselves, their items and views:
    `h`, `h[0]`, `h.T`, `np.reshape(h, ...)`); a computed value (`h + 1`, `np.sin(h)`) shares none. A call
    of the user's own function may return its argument: all it reads."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        return shared(node.value)
    if isinstance(node, ast.IfExp):
        return shared(node.body) | shared(node.orelse)
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr not in _VIEWS:
            return set()
        if isinstance(f, ast.Attribute):            # np.reshape(h, ...), h.reshape(...)
            return set().union(shared(f.value), *(shared(a) for a in node.args))
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return set().union(*(shared(e) for e in node.elts))
    return set()


def rewrite(body: list[ast.stmt], fresh: Callable[[str], str], mutated: set[str]) -> list[ast.stmt]:
    """`body` with each such list turned into an array written row by row (nested blocks too); `mutated`:
    the function's names written in place (written_in_place), whose values are not appended."""
    out = []
    for st in body:
        for field in ("body", "orelse"):
            inner = getattr(st, field, None)
            if isinstance(inner, list) and inner and isinstance(st, (ast.If, ast.For, ast.While)):
                setattr(st, field, rewrite(inner, fresh, mutated))
        out.append(st)
    i = 0
    while i < len(out):
        done = _rewrite_at(out, i, fresh, mutated)
        i += 1 if not done else 0
        if done:
            i = 0
    return out


def _empty_list(st: ast.stmt) -> str | None:
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
            and isinstance(st.value, ast.List) and not st.value.elts:
        return st.targets[0].id
    return None


def mentions(node: ast.AST, name: str) -> int:
    return sum(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def stack_of(value: ast.expr, name: str) -> ast.expr | None:
    """`np.stack(name)`, `np.stack(name, axis=k)`, `np.array(name)`: the axis (a Constant), else None."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and (value.func.value.id, value.func.attr) in STACKS
            and value.args and isinstance(value.args[0], ast.Name) and value.args[0].id == name):
        return None
    rest = value.args[1:] + [k.value for k in value.keywords if k.arg == "axis"]
    if value.func.attr == "array":
        return ast.Constant(0) if len(value.args) == 1 and not value.keywords else None
    if any(k.arg != "axis" for k in value.keywords) or len(rest) > 1:
        return None
    axis = rest[0] if rest else ast.Constant(0)
    return axis if isinstance(axis, ast.Constant) and type(axis.value) is int else None


def _trip_count(loop: ast.For) -> ast.expr | None:
    """An expression for the number of iterations, evaluated before the loop: `len(range(...))`, `len(x)`."""
    it = loop.iter
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range" and not it.keywords:
        return ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[copy.deepcopy(it)], keywords=[])
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "enumerate" \
            and len(it.args) == 1 and not it.keywords:
        it = it.args[0]
    if isinstance(it, (ast.Name, ast.Attribute, ast.Subscript)):
        return ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[copy.deepcopy(it)], keywords=[])
    return None


def at(node: ast.AST, like: ast.AST) -> ast.AST:
    """`node` placed at `like`'s line (and its parts too)."""
    return ast.fix_missing_locations(ast.copy_location(node, like))


def var(v: str, store: bool = False) -> ast.Name:
    return ast.Name(id=v, ctx=ast.Store() if store else ast.Load())


def np_call(attr: str, *args: ast.expr, **kw: ast.expr) -> ast.Call:
    """`np.<attr>(*args, **kw)`."""
    return ast.Call(func=ast.Attribute(value=var("np"), attr=attr, ctx=ast.Load()), args=list(args),
                    keywords=[ast.keyword(arg=a, value=v) for a, v in kw.items()])


def _rewrite_at(body: list[ast.stmt], i: int, fresh: Callable[[str], str], mutated: set[str]) -> bool:
    name = _empty_list(body[i])
    if name is None:
        return False
    # the loop that appends, with nothing between that mentions the list
    j = i + 1
    while j < len(body) and not isinstance(body[j], ast.For) and not mentions(body[j], name):
        j += 1
    if j >= len(body) or not isinstance(body[j], ast.For):
        return False
    loop = body[j]
    appends = [k for k, s in enumerate(loop.body) if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
               and isinstance(s.value.func, ast.Attribute) and s.value.func.attr == "append"
               and isinstance(s.value.func.value, ast.Name) and s.value.func.value.id == name
               and len(s.value.args) == 1 and not s.value.keywords]
    if len(appends) != 1 or loop.orelse or mentions(loop, name) != 1 or mentions(loop.iter, name) \
            or any(isinstance(n, (ast.Break, ast.Continue, ast.Return)) for n in ast.walk(loop)):
        return False
    count = _trip_count(loop)
    if count is None or shared(loop.body[appends[0]].value.args[0]) & mutated:
        return False
    # the one read afterwards: `y = np.stack(name)`, and no other
    uses = [k for k in range(j + 1, len(body)) if mentions(body[k], name)]
    if len(uses) != 1:
        return False
    use = body[uses[0]]
    calls = [c for c in ast.walk(use) if isinstance(c, ast.Call) and stack_of(c, name) is not None]
    if len(calls) != 1 or mentions(use, name) != 1 or isinstance(use, (ast.For, ast.While, ast.If)):
        return False
    stack_call = calls[0]
    axis = stack_of(stack_call, name)
    n, k, item = fresh(f"{name}_n"), fresh(f"{name}_k"), fresh(f"{name}_item")
    where = body[i]
    k_append = appends[0]
    append = loop.body[k_append]
    value = append.value.args[0]

    shape = ast.BinOp(left=ast.Tuple(elts=[var(n)], ctx=ast.Load()), op=ast.Add(), right=np_call("shape", var(item)))
    alloc = np_call("zeros", shape, dtype=np_call("result_type", var(item)))
    # np.stack of items of several types would upcast; the array has the first one's: say so, never truncate
    same_type = ast.Assert(
        test=np_call("can_cast", np_call("result_type", var(item)),
                     ast.Attribute(value=var(name), attr="dtype", ctx=ast.Load())),
        msg=ast.Constant(f"the items appended to {name} change type from one iteration to the next: s2sad "
                         "stacks them into an array of the first one's type"))
    new_rows = [
        at(ast.Assign(targets=[var(item, True)], value=value), append),
        at(ast.If(test=ast.Compare(left=var(k), ops=[ast.Eq()], comparators=[ast.Constant(0)]),
                  body=[at(ast.Assign(targets=[var(name, True)], value=alloc), append)],
                  orelse=[at(same_type, append)]), append),
        at(ast.Assign(targets=[ast.Subscript(value=var(name), slice=var(k), ctx=ast.Store())],
                      value=var(item)), append),
        at(ast.AugAssign(target=var(k, True), op=ast.Add(), value=ast.Constant(1)), append),
    ]
    loop.body[k_append:k_append + 1] = new_rows
    body[i] = at(ast.Assign(targets=[var(n, True)], value=count), where)
    body.insert(i + 1, at(ast.Assign(targets=[var(k, True)], value=ast.Constant(0)), where))
    stacked = var(name) if axis.value == 0 else np_call("moveaxis", var(name), ast.Constant(0), copy.deepcopy(axis))
    stacked = at(stacked, stack_call)

    class Put(ast.NodeTransformer):
        def visit_Call(self, node):
            return stacked if node is stack_call else self.generic_visit(node)

    body[uses[0] + 1] = Put().visit(use)      # (+1: the counter's assignment went in before)
    return True
