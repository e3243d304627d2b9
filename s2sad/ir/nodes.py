"""Quick walks over ASTs. Every pass walks every statement, some several times, so these skip what
`ast.walk` spends its time on: a generator per node, and the contexts and operators (`Load`, `Add`)
that no pass asks about. Each node type's fields that can hold nodes are looked up once."""
from __future__ import annotations

import ast

_SKIP = frozenset({"ctx", "op", "type_comment"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of node type `cls` a walk looks into: all but contexts, operators and type comments."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIP)
    return fields


def walk(node: ast.AST):
    """Every node under `node` (itself first) but contexts and operators, depth first: like ast.walk,
    in another order, several times quicker."""
    AST = ast.AST
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        n = pop()
        yield n
        for f in _FIELDS.get(type(n)) or child_fields(type(n)):
            v = getattr(n, f, None)
            if type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        push(x)
            elif isinstance(v, AST):
                push(v)


def walk_in_order(node: ast.AST) -> list[ast.AST]:
    """Every node under `node` (itself first) but contexts and operators, in ast.walk's order (breadth
    first, fields in order), as a list: for the walks whose first match is reported."""
    AST = ast.AST
    out = [node]
    push = out.append
    i = 0
    while i < len(out):
        n = out[i]
        i += 1
        for f in _FIELDS.get(type(n)) or child_fields(type(n)):
            v = getattr(n, f, None)
            if type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        push(x)
            elif isinstance(v, AST):
                push(v)
    return out


def push_children(node: ast.AST, stack: list) -> None:
    """Put the nodes directly under `node` (contexts and operators aside) on `stack`, in field order: the
    step of a walk that does its own work at each node, without a generator."""
    for f in _FIELDS.get(type(node)) or child_fields(type(node)):
        v = getattr(node, f, None)
        if type(v) is list:
            stack.extend(x for x in v if isinstance(x, ast.AST))
        elif isinstance(v, ast.AST):
            stack.append(v)


def names(node: ast.AST, loads_only: bool) -> set[str]:
    """The names under `node` (read ones only, or all), without a generator per node."""
    out: set[str] = set()
    AST, Name, Load = ast.AST, ast.Name, ast.Load
    stack = [node]
    pop, push = stack.pop, stack.append
    while stack:
        n = pop()
        if type(n) is Name:
            if not loads_only or type(n.ctx) is Load:
                out.add(n.id)
            continue
        for f in _FIELDS.get(type(n)) or child_fields(type(n)):
            v = getattr(n, f, None)
            if type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        push(x)
            elif isinstance(v, AST):
                push(v)
    return out


def children(node: ast.AST) -> list[ast.AST]:
    """The nodes directly under `node` (as ast.iter_child_nodes, without contexts and operators)."""
    out = []
    for f in _FIELDS.get(type(node)) or child_fields(type(node)):
        v = getattr(node, f, None)
        if type(v) is list:
            out.extend(x for x in v if isinstance(x, ast.AST))
        elif isinstance(v, ast.AST):
            out.append(v)
    return out
