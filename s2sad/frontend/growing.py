"""A list that a loop appends to, where appends.py's exact rewrite does not apply, as an array that grows.

    out = [x]                              out_k = 0
                                           out_item = x            (the append below, for the first item)
    while np.sum(t) < 10.0:                ...
        t = t * 1.5                        while np.sum(t) < 10.0:
        if t[0] > 1.0:                         t = t * 1.5
            out.append(np.sin(t))              if t[0] > 1.0:
        y = out[-1] * 2.0         ->               out_item = np.sin(t)
                                                   if out_k == 0:
                                                       out = np.zeros((8,) + np.shape(out_item), dtype=...)
                                                   elif out_k == out.shape[0]:       (full: twice the rows)
                                                       out = np.concatenate([out, np.zeros_like(out)])
                                                   (a wider item's type widens out)
                                                   assert np.shape(out_item) == np.shape(out)[1:], "..."
                                                   out[out_k] = out_item
                                                   out_k += 1
                                               assert out_k >= 1, "..."
                                               y = out[out_k - 1] * 2.0
    return np.sum(np.stack(out))           assert out_k >= 1, "..."
                                           return np.sum(out[:out_k])

This covers what appends.py leaves: a `while` loop, appends inside branches or inner loops or several of
them, items before the loop (`out = [x]`), and the list read while it grows by its last items (`out[-1]`,
`out[-2]`) and its length. After the loop it is read by `np.stack(out)` (any constant axis),
`np.array(out)`, `np.concatenate(out)`, `sum(out)`, `np.sum(out)`, `np.mean(out)`, `len(out)` and
`out[-c]`, and appended to
again. Anything else is
left as it is (and refused in reverse mode, as a list of differentiated values).

Each append is a row write, which every mode differentiates; a full array is replaced by one twice its
size, so n appends cost O(n) copies. Where Python would raise (an empty list read, items of different
shapes that np.stack refuses), the rewritten code raises an AssertionError saying so: never a number.
"""
from __future__ import annotations

import ast
import copy
from typing import Callable

from .appends import at as _at, mentions, np_call as _np, shared, stack_of, var as _name

_FIRST_ROWS = 8
_SIMPLE = (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)
_REDUCTIONS = {("np", "sum"), ("np", "mean"), ("numpy", "sum"), ("numpy", "mean")}


def rewrite(body: list[ast.stmt], fresh: Callable[[str], str], mutated: set[str]) -> list[ast.stmt]:
    """`body` with each such list turned into a growing array (nested blocks too); `mutated`: the
    function's names written in place (appends.written_in_place), whose values are not appended."""
    for st in body:
        for field in ("body", "orelse"):
            inner = getattr(st, field, None)
            if isinstance(inner, list) and inner and isinstance(st, (ast.If, ast.For, ast.While)):
                setattr(st, field, rewrite(inner, fresh, mutated))
    i = 0
    while i < len(body):
        body, done = _grow_at(body, i, fresh, mutated)
        i += 1 if not done else 0
    return body


def _list_literal(st: ast.stmt) -> tuple[str, list[ast.expr]] | None:
    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
            and isinstance(st.value, ast.List) and not any(isinstance(e, ast.Starred) for e in st.value.elts):
        return st.targets[0].id, st.value.elts
    return None


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)


def _last(node: ast.AST, name: str) -> int | None:
    """c for `name[-c]` read (c a positive int), else None."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_name(node.value, name)):
        return None
    s = node.slice
    if isinstance(s, ast.UnaryOp) and isinstance(s.op, ast.USub) and isinstance(s.operand, ast.Constant) \
            and type(s.operand.value) is int and s.operand.value > 0:
        return s.operand.value
    return None


def _is_len(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
        and len(node.args) == 1 and not node.keywords and _is_name(node.args[0], name)


def _whole(node: ast.AST, name: str) -> str | None:
    """What a read of the whole list is: "stack", "sum" (the builtin), "concatenate", "reduce" (np.sum,
    np.mean)."""
    if not isinstance(node, ast.Call):
        return None
    if stack_of(node, name) is not None:
        return "stack"
    if isinstance(node.func, ast.Name) and node.func.id == "sum" and len(node.args) == 1 and not node.keywords \
            and _is_name(node.args[0], name):
        return "sum"
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
            and (node.func.value.id, node.func.attr) in (("np", "concatenate"), ("numpy", "concatenate")) \
            and len(node.args) == 1 and not node.keywords and _is_name(node.args[0], name):
        return "concatenate"
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in _REDUCTIONS \
            and len(node.args) == 1 and not node.keywords and _is_name(node.args[0], name):
        return "reduce"
    return None


def _append_of(st: ast.stmt, name: str) -> ast.expr | None:
    """v for the statement `name.append(v)` (v reading no more of the list than its last items and
    length), else None."""
    if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Attribute) \
            and st.value.func.attr == "append" and _is_name(st.value.func.value, name) \
            and len(st.value.args) == 1 and not st.value.keywords \
            and _reads(st.value.args[0], name, whole=False) is not None:
        return st.value.args[0]
    return None


def _reads(node: ast.AST, name: str, whole: bool) -> list[ast.AST] | None:
    """The reads of the list under `node`, if each is one this rewrite takes (`whole`: reads of the whole
    list too, after the loop), else None. (A walk with a stack, not a closure calling itself: that would
    be a reference cycle.)"""
    found, todo = [], [node]
    while todo:
        n = todo.pop()
        if _last(n, name) is not None or _is_len(n, name) or (whole and _whole(n, name)):
            found.append(n)
        elif isinstance(n, ast.Name) and n.id == name:
            return None                         # any other read or a store
        else:
            todo.extend(ast.iter_child_nodes(n))
    return found


def _loop_sites(stmts: list[ast.stmt], name: str, sites: list) -> bool:
    """Collect (block, statement, kind) for every mention of the list in `stmts` (the loop's body): each
    must be an append or a simple statement reading its last items or its length."""
    for st in stmts:
        if not mentions(st, name):
            continue
        if _append_of(st, name) is not None:
            sites.append((stmts, st, "append"))
        elif isinstance(st, _SIMPLE):
            if _reads(st, name, whole=False) is None:
                return False
            sites.append((stmts, st, "read"))
        elif isinstance(st, (ast.If, ast.For, ast.While)):
            if not _header_ok(st, name, sites, stmts) or not _loop_sites(st.body, name, sites) \
                    or not _loop_sites(st.orelse, name, sites):
                return False
        else:
            return False
    return True


def _header_ok(st: ast.stmt, name: str, sites: list, block: list[ast.stmt]) -> bool:
    """A loop's or branch's header reads no more of the list than its last items and length (a test:
    `while np.max(path[-1]) < 3.0`); one that reads them is a site."""
    if isinstance(st, ast.For):
        return not mentions(st.target, name) and not mentions(st.iter, name)
    if not mentions(st.test, name):
        return True
    if _reads(st.test, name, whole=False) is None:
        return False
    sites.append((block, st, "test"))
    return True


def _grow_at(body: list[ast.stmt], i: int, fresh: Callable[[str], str],
             mutated: set[str]) -> tuple[list[ast.stmt], bool]:
    found = _list_literal(body[i])
    if found is None:
        return body, False
    name, items = found
    if any(mentions(e, name) or shared(e) & mutated for e in items):
        return body, False
    j = i + 1
    while j < len(body) and not isinstance(body[j], (ast.For, ast.While)) and not mentions(body[j], name):
        j += 1
    if j >= len(body) or not isinstance(body[j], (ast.For, ast.While)):
        return body, False
    loop = body[j]
    sites: list = []
    if not _header_ok(loop, name, sites, body) or not _loop_sites(loop.body, name, sites) or loop.orelse \
            or not any(kind == "append" for _, _, kind in sites):
        return body, False
    after = [st for st in body[j + 1:] if mentions(st, name)]
    if not all(_append_of(st, name) is not None or isinstance(st, _SIMPLE) and _reads(st, name, whole=True)
               is not None for st in after):
        return body, False
    appended = [_append_of(st, name) for _, st, kind in sites if kind == "append"] + \
        [v for v in map(lambda st: _append_of(st, name), after) if v is not None]
    if any(shared(v) & mutated for v in appended):  # an item changed in place after: the list would see it
        return body, False
    k, item = fresh(f"{name}_k"), fresh(f"{name}_item")
    grow = _Grow(name, k, item)
    for block, st, kind in sites:
        if block is body:                       # the loop's own test: its check goes before the loop, below
            continue
        at = next(n for n, s in enumerate(block) if s is st)
        block[at:at + 1] = grow.append(_append_of(st, name), st) if kind == "append" else grow.read(st)
    before = grow.read(loop)[:-1] if mentions(getattr(loop, "test", None) or ast.Pass(), name) else []
    head = [_at(ast.Assign(targets=[_name(k, True)], value=ast.Constant(0)), body[i])]
    for e in items:
        head += grow.append(e, body[i])
    tail = []
    for st in body[j + 1:]:
        v = _append_of(st, name)
        tail += [st] if not mentions(st, name) else grow.append(v, st) if v is not None else grow.read(st)
    return body[:i] + head + body[i + 1:j] + before + [loop] + tail, True


class _Grow:
    """The statements that stand for an append, and the reads rewritten, for one list."""

    def __init__(self, name: str, k: str, item: str):
        self.name, self.k, self.item = name, k, item

    def append(self, value: ast.expr, where: ast.stmt) -> list[ast.stmt]:
        name, k, item = self.name, self.k, self.item
        shape = ast.BinOp(left=ast.Tuple(elts=[ast.Constant(_FIRST_ROWS)], ctx=ast.Load()), op=ast.Add(),
                          right=_np("shape", _name(item)))
        first = ast.Assign(targets=[_name(name, True)], value=_np("zeros", shape, dtype=_np("result_type", _name(item))))
        full = ast.Compare(left=_name(k), ops=[ast.Eq()], comparators=[
            ast.Subscript(value=ast.Attribute(value=_name(name), attr="shape", ctx=ast.Load()),
                          slice=ast.Constant(0), ctx=ast.Load())])
        twice = ast.Assign(targets=[_name(name, True)], value=_np(
            "concatenate", ast.List(elts=[_name(name), _np("zeros_like", _name(name))], ctx=ast.Load())))
        rows = ast.Subscript(value=_np("shape", _name(name)), slice=ast.Slice(lower=ast.Constant(1)), ctx=ast.Load())
        # an item of a wider type (a float after ints) widens the array, as np.array of the list would be
        wider = ast.If(test=ast.UnaryOp(op=ast.Not(), operand=_np(
            "can_cast", _np("result_type", _name(item)), ast.Attribute(value=_name(name), attr="dtype", ctx=ast.Load()))),
            body=[ast.Assign(targets=[_name(name, True)], value=ast.Call(
                func=ast.Attribute(value=_name(name), attr="astype", ctx=ast.Load()),
                args=[_np("result_type", _name(name), _name(item))], keywords=[]))], orelse=[])
        check = ast.Assert(test=ast.Compare(left=_np("shape", _name(item)), ops=[ast.Eq()], comparators=[rows]),
                           msg=ast.Constant(f"the items appended to {name} differ in shape: np.stack would refuse "
                                            "them (s2sad keeps the list as an array of the first item's shape)"))
        stmts = self.read(_at(ast.Assign(targets=[_name(item, True)], value=value), where)) + [
            ast.If(test=ast.Compare(left=_name(k), ops=[ast.Eq()], comparators=[ast.Constant(0)]),
                   body=[first], orelse=[ast.If(test=full, body=[twice], orelse=[])]),
            wider,
            check,
            ast.Assign(targets=[ast.Subscript(value=_name(name), slice=_name(k), ctx=ast.Store())],
                       value=_name(item)),
            ast.AugAssign(target=_name(k, True), op=ast.Add(), value=ast.Constant(1)),
        ]
        return [_at(s, where) for s in stmts]

    def read(self, st: ast.stmt) -> list[ast.stmt]:
        """`st` with its reads of the list rewritten, after a check that the list holds what they read (of
        a branch or a `while` loop, its test's reads: checked before it, as the list only grows)."""
        name, k = self.name, self.k
        put = _Reads(self)
        if isinstance(st, (ast.If, ast.While)):
            st.test = put.visit(st.test)
            new = st
        else:
            new = put.visit(st)
        need = put.need
        if not need:
            return [new]
        test = ast.Compare(left=_name(k), ops=[ast.GtE()], comparators=[ast.Constant(need)])
        msg = f"{name} holds fewer than {need} items here (Python would raise an IndexError or ValueError)"
        return [_at(ast.Assert(test=test, msg=ast.Constant(msg)), st), new]

    def whole(self, call: ast.Call, kind: str) -> ast.expr:
        rows = ast.Subscript(value=_name(self.name), slice=ast.Slice(upper=_name(self.k)), ctx=ast.Load())
        if kind == "sum":                       # the builtin adds the items: the rows' sum
            return _np("sum", rows, axis=ast.Constant(0))
        if kind == "concatenate":               # the items end to end: the rows, their first axes merged
            rest = ast.Subscript(value=_np("shape", _name(self.name)), slice=ast.Slice(lower=ast.Constant(2)),
                                 ctx=ast.Load())
            return _np("reshape", rows, ast.BinOp(left=ast.Tuple(elts=[ast.Constant(-1)], ctx=ast.Load()),
                                                  op=ast.Add(), right=rest))
        if kind == "reduce":                    # np.sum / np.mean of the list: of all its elements
            return ast.Call(func=copy.deepcopy(call.func), args=[rows], keywords=[])
        axis = stack_of(call, self.name)
        return rows if axis.value == 0 else _np("moveaxis", rows, ast.Constant(0), copy.deepcopy(axis))


class _Reads(ast.NodeTransformer):
    """A statement's reads of one list rewritten (`out[-c]`, `len(out)`, the whole list), noting in `need`
    how many items they read."""

    def __init__(self, grow: _Grow):
        self.grow, self.need = grow, 0

    def generic_visit(self, node):
        g = self.grow
        c = _last(node, g.name)
        if c is not None:
            self.need = max(self.need, c)
            return _at(ast.Subscript(value=_name(g.name), slice=ast.BinOp(
                left=_name(g.k), op=ast.Sub(), right=ast.Constant(c)), ctx=ast.Load()), node)
        if _is_len(node, g.name):
            return _at(_name(g.k), node)
        kind = _whole(node, g.name)
        if kind is not None:
            self.need = max(self.need, 1)
            return _at(g.whole(node, kind), node)
        return super().generic_visit(node)
