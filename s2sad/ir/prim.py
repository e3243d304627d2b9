"""Reading the core language: which primitive a statement applies, to which arguments."""
from __future__ import annotations

import ast
from dataclasses import dataclass

from ..ir.names import dotted
from .astcopy import clone
from .nodes import names
from .core import OPS, UNARY
from ..rules import RULES, Rule


@dataclass
class Prim:
    """One primitive application `target = key(bound...)` of the core language."""

    key: str
    rule: Rule | None
    bound: dict[str, ast.expr]      # parameter -> argument (atom, kept-whole expression or list of atoms)
    node: ast.expr

    @property
    def differentiable(self) -> bool:
        return self.rule is not None and self.rule.differentiable

    def diff_args(self) -> list[tuple[str, tuple[int, ...], str]]:
        """(param, path, name) for every variable passed to a differentiable parameter.

        `path` indexes into a list argument (np.stack([a, b]) -> a at (0,), b at (1,)).
        """
        if self.rule is None:
            return [(p, path, n) for p, a in self.bound.items() for path, n in _names_in(a)]
        out = []
        for p, a in self.bound.items():
            if p in self.rule.reverse:
                out.extend((p, path, n) for path, n in _names_in(a))
        return out


def _names_in(a: ast.expr, path=()) -> list[tuple[tuple[int, ...], str]]:
    if isinstance(a, ast.Name):
        return [(path, a.id)]
    if isinstance(a, (ast.List, ast.Tuple)):
        out = []
        for i, e in enumerate(a.elts):
            out.extend(_names_in(e, path + (i,)))
        return out
    return []


def _bind(rule: Rule, args, keywords) -> dict[str, ast.expr]:
    bound = {}
    for p, a in zip(rule.params, args):
        bound[p.name] = a
    for k in keywords:
        bound[k.arg] = k.value
    for p in rule.params:
        if p.name not in bound and p.default is not None:
            bound[p.name] = _default(p.default)
    return bound


_DEFAULTS: dict[str, ast.expr] = {}


def _default(text: str) -> ast.expr:
    """A parameter's default value as an expression: parsed once, a copy each time."""
    if text not in _DEFAULTS:
        _DEFAULTS[text] = ast.parse(text, mode="eval").body
    return clone(_DEFAULTS[text])


def primitive(value: ast.expr) -> Prim:
    """The primitive applied by the right-hand side `value` of a core assignment."""
    if isinstance(value, ast.BinOp):
        key = OPS[type(value.op)]
        return Prim(key, RULES[key], {"x": value.left, "y": value.right}, value)
    if isinstance(value, ast.UnaryOp):
        key = UNARY.get(type(value.op), "not")
        return Prim(key, RULES[key], {"x": value.operand}, value)
    if isinstance(value, ast.Subscript):
        return Prim("getitem", RULES["getitem"], {"x": value.value, "index": value.slice}, value)
    if isinstance(value, (ast.Name, ast.Constant)) or (isinstance(value, ast.Attribute) and dotted(value)
                                                        and dotted(value)[0] in ("np", "math")):
        return Prim("copy", RULES["copy"], {"x": value}, value)
    if isinstance(value, ast.Call):
        parts = dotted(value.func)
        key = ".".join(parts) if parts else "?"
        rule = RULES.get(key)
        if rule is None:
            bound = {f"arg{i}": a for i, a in enumerate(value.args)}
            bound.update({k.arg: k.value for k in value.keywords})
            return Prim(key, None, bound, value)
        if not rule.differentiable:
            return Prim(key, rule, {}, value)
        return Prim(key, rule, _bind(rule, value.args, value.keywords), value)
    if isinstance(value, (ast.Tuple, ast.List)):
        return Prim("tuple", None, {f"arg{i}": a for i, a in enumerate(value.elts)}, value)
    if isinstance(value, ast.Dict):
        return Prim("tuple", None, {f"arg{i}": a for i, a in enumerate(value.values)}, value)
    # comparisons, boolean logic, attributes such as .shape: no derivative
    return Prim("compare", RULES["compare"], {}, value)


def assignment_counts(params, body: list[ast.stmt]) -> dict[str, int]:
    """How many times each name is bound: parameters once, then every assignment, loops included."""
    counts: dict[str, int] = {p: 1 for p in params}
    for st in walk_stmts(body):
        for v in assigned(st):
            counts[v] = counts.get(v, 0) + 1
    return counts


def names_read(node: ast.AST) -> set[str]:
    """The names read under `node` (this runs on every statement of every pass)."""
    return names(node, True)


def is_assign(stmt: ast.stmt) -> bool:
    """`name = primitive(...)`."""
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)


def is_setitem(stmt: ast.stmt) -> bool:
    """`name[index] = atom`: an element or slice write into an array."""
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript)


def is_add_at(stmt: ast.stmt) -> bool:
    """`np.add.at(a, index, v)`: an in-place addition into array a."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
        and ast.unparse(stmt.value.func) == "np.add.at" and len(stmt.value.args) == 3 \
        and isinstance(stmt.value.args[0], ast.Name)


def assigned(stmt: ast.stmt) -> list[str]:
    """Names a core statement (not its nested blocks) assigns or writes into."""
    if is_assign(stmt):
        return [stmt.targets[0].id]
    if is_setitem(stmt):
        return [stmt.targets[0].value.id]
    if isinstance(stmt, ast.For):
        return [stmt.target.id]
    return []


def walk_stmts(body: list[ast.stmt]):
    """Every statement of `body`, nested ones included, iteratively (no recursion limit)."""
    todo = list(reversed(body))
    while todo:
        s = todo.pop()
        yield s
        fields = _BLOCK_FIELDS.get(type(s))
        if fields is None:
            fields = _block_fields(type(s))
        for field in fields:
            todo.extend(reversed(getattr(s, field, []) or []))


_BLOCK_FIELDS: dict[type, tuple[str, ...]] = {}


def _block_fields(cls: type) -> tuple[str, ...]:
    """Which of `orelse` and `body` (in that order) node type `cls` has: the blocks walk_stmts enters."""
    _BLOCK_FIELDS[cls] = tuple(f for f in ("orelse", "body") if f in cls._fields)
    return _BLOCK_FIELDS[cls]


def is_range(e: ast.expr) -> bool:
    """`range(...)`: a call of the builtin (its values are integers)."""
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "range"
