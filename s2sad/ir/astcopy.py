"""A deep copy for ASTs: nodes, lists and their extra attributes (origin, flags), several times faster
than copy.deepcopy, which dominated the cost of a transformation."""
from __future__ import annotations

import ast
import copy

# contexts and operators hold nothing and no pass changes one in place: copies share them
_SHARED = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def clone(node):
    """A deep copy of an AST node (or a list of them); other values are deep-copied as usual."""
    if isinstance(node, ast.AST):
        return node if isinstance(node, _SHARED) else _node(node)
    if isinstance(node, list):
        return _list(node)
    return copy.deepcopy(node)


def _node(node: ast.AST) -> ast.AST:
    cls = node.__class__
    new = cls.__new__(cls)
    d = new.__dict__
    AST = ast.AST
    for k, v in node.__dict__.items():
        if type(v) is list:
            d[k] = _list(v)
        elif isinstance(v, AST):
            d[k] = v if isinstance(v, _SHARED) else _node(v)
        else:
            d[k] = v
    return new


def _list(items: list) -> list:
    AST = ast.AST
    return [(x if isinstance(x, _SHARED) else _node(x)) if isinstance(x, AST)
            else _list(x) if type(x) is list else x for x in items]
