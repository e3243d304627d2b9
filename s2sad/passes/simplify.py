"""Clean-up passes on generated expressions and statements.

`simplify` folds what instantiating a rule template leaves behind (`x ** (2 - 1)` -> `x`,
`g * 1` -> `g`, `a + -b` -> `a - b`), to a fixed point with a cap; `peephole` merges a zeroed
adjoint with the accumulation that follows it (`v = 0.0; v = v + e` -> `v = e`).
"""
from __future__ import annotations

import ast
import operator

from ..ir.nodes import child_fields, walk

_FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
         ast.Pow: operator.pow}


def _num(node) -> float | None:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _num(node.operand)
        return -v if v is not None else None
    return None


def _const(v) -> ast.expr:
    if v < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-v))
    return ast.Constant(v)


class _Simplify(ast.NodeTransformer):
    changed = False

    def visit(self, node):
        """ast.NodeTransformer's, with the two node types rewritten here picked without a name lookup."""
        cls = type(node)
        if cls is ast.BinOp:
            return self.visit_BinOp(node)
        if cls is ast.UnaryOp:
            return self.visit_UnaryOp(node)
        if cls is ast.IfExp:
            return self.visit_IfExp(node)
        return self.generic_visit(node)

    def generic_visit(self, node):
        """ast.NodeTransformer's, without a generator per node (this runs on every rule instantiated);
        contexts and operators, which nothing here rewrites, are not visited."""
        for f in child_fields(type(node)):
            v = getattr(node, f, None)
            if type(v) is list:
                v[:] = [self.visit(x) if isinstance(x, ast.AST) else x for x in v]
            elif isinstance(v, ast.AST):
                setattr(node, f, self.visit(v))
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        a, b = _num(node.left), _num(node.right)
        op = type(node.op)
        if a is not None and b is not None and op in _FOLD:
            try:
                v = _FOLD[op](a, b)
            except (ZeroDivisionError, OverflowError):
                return node
            if isinstance(v, (int, float)) and abs(v) < 1e15 and (isinstance(v, int) or v == int(v) or
                                                                  op is not ast.Div):
                self.changed = True
                return _const(v)
            return node
        if op is ast.Pow and b == 1:
            self.changed = True
            return node.left
        if op is ast.Mult and b == 1 or op is ast.Div and b == 1:
            self.changed = True
            return node.left
        if op is ast.Mult and a == 1:
            self.changed = True
            return node.right
        if op in (ast.Add, ast.Sub) and b == 0:
            self.changed = True
            return node.left
        if op in (ast.Add, ast.Sub) and isinstance(node.right, ast.UnaryOp) and isinstance(node.right.op, ast.USub):
            self.changed = True
            flipped = ast.Sub() if op is ast.Add else ast.Add()
            return ast.BinOp(left=node.left, op=flipped, right=node.right.operand)
        return node

    def visit_IfExp(self, node):
        """`a if True else b`: a (a rule's option given as a literal, np.angle's deg=False)."""
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant) and type(node.test.value) is bool:
            self.changed = True
            return node.body if node.test.value else node.orelse
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.UnaryOp) \
                and isinstance(node.operand.op, ast.USub):
            self.changed = True
            return node.operand.operand
        return node


def simplify(expr: ast.expr, cap: int = 8) -> ast.expr:
    """Fold constants and drop multiplications by one, to a fixed point."""
    for _ in range(cap):
        s = _Simplify()
        expr = s.visit(expr)
        if not s.changed:
            break
    return expr


def _zeroed(s: ast.stmt) -> str | None:
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
            and isinstance(s.value, ast.Constant) and s.value.value == 0.0 and type(s.value.value) is float:
        return s.targets[0].id
    return None


def peephole(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """`v = 0.0` directly followed by `v = v + e` (e not reading v) becomes `v = e`, in every block."""
    out: list[ast.stmt] = []
    for s in stmts:
        for field in ("body", "orelse"):
            if isinstance(getattr(s, field, None), list):
                setattr(s, field, peephole(getattr(s, field)))
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Name) and s.value.id == s.targets[0].id:
            continue                # v = v: nothing to do
        v = _zeroed(out[-1]) if out else None
        same_line = v is not None and getattr(out[-1], "s2sad_origin", None) == getattr(s, "s2sad_origin", None)
        if same_line and isinstance(s, ast.Assign) and len(s.targets) == 1 \
                and isinstance(s.targets[0], ast.Name) and s.targets[0].id == v \
                and isinstance(s.value, ast.BinOp) and isinstance(s.value.op, (ast.Add, ast.Sub)) \
                and isinstance(s.value.left, ast.Name) and s.value.left.id == v \
                and not any(isinstance(n, ast.Name) and n.id == v for n in walk(s.value.right)):
            rhs = s.value.right if isinstance(s.value.op, ast.Add) else ast.UnaryOp(op=ast.USub(), operand=s.value.right)
            merged = ast.Assign(targets=s.targets, value=rhs, lineno=s.lineno, col_offset=0)
            merged.s2sad_origin = getattr(s, "s2sad_origin", None)
            out[-1] = merged
            continue
        out.append(s)
    return out


def _stores(stmts: list[ast.stmt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in stmts:
        for n in walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def propagate_copies(fwd: list[ast.stmt], rev: list[ast.stmt], ret: ast.stmt, keep: set[str],
                     prefer: frozenset[str] = frozenset()) -> list[ast.stmt]:
    """Drop `a = b` in the reverse sweep's top level when both names are assigned once (or b never):
    later reads of a read b (`t6_bar = t10_bar` then `t6_bar * 100` -> `t10_bar * 100`). Names in
    `keep` are never the source (out_bar stays behind result_bar). A name in `prefer` (a parameter's
    cotangent) stays, and b, made in the reverse sweep, is called a instead (`params_W1_bar`, not the
    inlined helper's `dense_W_bar`)."""
    made_here = _stores(rev)
    counts = _stores(fwd)
    for v, n in made_here.items():
        counts[v] = counts.get(v, 0) + n
    flip: dict[str, str] = {}
    out: list[ast.stmt] = []
    rename: dict[str, str] = {}

    def renamed(tree: ast.AST) -> None:
        if not rename:
            return
        for node in walk(tree):
            if type(node) is ast.Name and type(node.ctx) is ast.Load and node.id in rename:
                node.id = rename[node.id]

    for s in rev:
        renamed(s)
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and isinstance(s.value, ast.Name) and s.value.id not in keep \
                and counts.get(s.targets[0].id, 0) == 1 and counts.get(s.value.id, 0) <= 1 \
                and s.targets[0].id != s.value.id:
            a, b = s.targets[0].id, s.value.id
            if a in prefer and made_here.get(b) == 1 and counts.get(b) == 1 and b not in flip:
                flip[b] = a
            else:
                rename[a] = b
            continue
        out.append(s)
    renamed(ret)
    if flip:
        for tree in out + [ret]:
            for node in walk(tree):
                if type(node) is ast.Name and node.id in flip:
                    node.id = flip[node.id]
    return out
