"""In-place updates that another name would see: `v2 = np.flip(v1)`, then `v1 += e`, then v2 read.

NumPy's `+=` on an array writes into it, so every view of it sees the change; s2sad reads `v1 += e` as
`v1 = v1 + e` (a new value), which is what it differentiates. Where the two differ, say so, with the
user's line, instead of giving another value and gradient than the function's.
"""
from __future__ import annotations

import ast

from .errors import UnsupportedSyntaxError, located

_VIEWS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "expand_dims", "broadcast_to", "asarray",
          "moveaxis", "flip", "atleast_1d", "atleast_2d", "view"}


def _shares(value: ast.expr) -> str | None:
    """The name whose memory `value` may share: `y`, `y[1:]`, `y.T`, `np.flip(y)`, `y.reshape(...)`, and
    views of views (`np.reshape(np.ravel(y), ...)`)."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Subscript):
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        if any(isinstance(p, ast.Slice) or isinstance(p, ast.Constant) and p.value in (None, Ellipsis)
               for p in parts):
            return _shares(value.value)
        return None
    if isinstance(value, ast.Attribute) and value.attr == "T":
        return _shares(value.value)
    if isinstance(value, ast.Call):
        f = value.func
        if isinstance(f, ast.Attribute) and f.attr in _VIEWS:
            if not (isinstance(f.value, ast.Name) and f.value.id in ("np", "numpy")):
                return _shares(f.value)                # y.reshape(...), y.view()
            if value.args:
                return _shares(value.args[0])          # np.flip(y)
    return None


def check(tree: ast.FunctionDef, filename: str) -> None:
    """Raise UnsupportedSyntaxError where `a += e` writes into memory that another name bound before
    (a view or the same array) is read through afterwards."""
    order: dict[int, int] = {}
    loops: dict[int, frozenset] = {}
    todo = [(s, frozenset()) for s in reversed(tree.body)]
    stmts = []
    while todo:
        st, around = todo.pop()
        order[id(st)] = len(order)
        loops[id(st)] = around
        stmts.append(st)
        inner = around | {id(st)} if isinstance(st, (ast.For, ast.While)) else around
        for field in ("orelse", "body"):
            todo.extend((c, inner) for c in reversed(getattr(st, field, []) or []))
    shares: list[tuple[ast.stmt, str, str]] = []       # (statement, name bound, name it shares memory with)
    binds: dict[str, list[ast.stmt]] = {}
    reads: dict[str, list[ast.stmt]] = {}
    for st in stmts:
        if isinstance(st, ast.Assign):
            for t in st.targets:
                if isinstance(t, ast.Name):
                    binds.setdefault(t.id, []).append(st)
                    other = _shares(st.value)
                    if other is not None and other != t.id:
                        shares.append((st, t.id, other))
        header = st.test if isinstance(st, (ast.If, ast.While)) else st.iter if isinstance(st, ast.For) else st
        if not isinstance(st, (ast.If, ast.While, ast.For)) or header is not st:
            for n in ast.walk(header):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                    reads.setdefault(n.id, []).append(st)

    def stale(write, read, name) -> bool:
        """`read` of `name` runs after `write` (later, or in the next iteration of a loop around both),
        with no new binding of `name` between."""
        o = order
        if o[id(write)] < o[id(read)]:
            return not any(o[id(write)] < o[id(b)] < o[id(read)] for b in binds.get(name, []))
        common = loops[id(write)] & loops[id(read)]
        return bool(common) and not any(loops[id(b)] & common and o[id(b)] < o[id(read)]
                                        for b in binds.get(name, []))

    for st in stmts:
        if not (isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name)):
            continue
        a = st.target.id
        for bind, x, y in shares:
            if a not in (x, y) or order[id(bind)] > order[id(st)] and not loops[id(bind)] & loops[id(st)]:
                continue
            other = y if a == x else x
            if any(r is not st and stale(st, r, other) for r in reads.get(other, [])):
                line = getattr(st, "lineno", None)
                raise UnsupportedSyntaxError(located(
                    filename, line, None,
                    f"`{a} {_op(st.op)}= ...` writes into {a} in place, and {other}, which shares its memory "
                    f"({ast.unparse(bind)}), is read afterwards: s2sad reads it as `{a} = {a} {_op(st.op)} ...`. "
                    f"Write that instead (or copy {other}) so that the function means what s2sad differentiates"))


def _op(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
            ast.FloorDiv: "//", ast.Mod: "%"}.get(type(op), "?")
