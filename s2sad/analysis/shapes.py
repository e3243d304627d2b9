"""Shape classes: which variables provably have the same shape, so that a cotangent needs no
`unbroadcast` on its way to an operand.

An elementwise primitive's result has the shape of its operands when they all share one shape class
(constants broadcast without changing it); a full reduction (np.sum(x), math.sin(s), float(v)) has
shape (). A variable assigned in several places keeps a class only if every assignment agrees; a
loop's index is a scalar. Anything else is its own class (assigned once) or unknown.
"""
from __future__ import annotations

import ast

from ..ir.prim import assigned, assignment_counts, is_assign, is_setitem, names_read, primitive, walk_stmts
from ..ir.core import CoreFunction
from ..ir.names import dotted
from ..rules import flagged

SCALAR = "()"


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp):
        return _is_number(node.operand)
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, bool)


def _is_none(node: ast.expr | None) -> bool:
    return node is None or isinstance(node, ast.Constant) and node.value is None


class ShapeClasses:
    """`same(a, b)`: variables `a` and `b` have the same shape whenever the reverse sweep reads them.

    `vectors`: parameters the code may assume 1-D (the caller checks), so that `x[i]` is a scalar.
    `indexed`: the parameters read as `x[i]` with a scalar index (candidates for that assumption)."""

    def __init__(self, fn: CoreFunction, vectors=frozenset()):
        self.vectors = {"#" + p for p in vectors}
        self._body = fn.body
        self._steady: set[str] | None = None
        self.indexed: set[str] = set()
        self._params = set(fn.params)
        self.rep: dict[str, str | None] = {p: "#" + p for p in fn.params}
        counts = assignment_counts(fn.params, fn.body)
        parts = flagged("parts")
        self._sequences: set[str] = set()      # classes of tuples and lists, whose items' shapes differ
        for s in walk_stmts(fn.body):
            if isinstance(s, ast.For) and isinstance(s.target, ast.Name) and _ranges(s.iter):
                self.rep[s.target.id] = SCALAR
            elif is_assign(s) and isinstance(s.targets[0], ast.Name) and (
                    isinstance(s.value, (ast.Tuple, ast.List))
                    or isinstance(s.value, ast.Call) and ".".join(dotted(s.value.func) or ()) in parts):
                self._sequences.add("#" + s.targets[0].id)
        for _ in range(50):
            before = dict(self.rep)
            for s in walk_stmts(fn.body):
                if is_assign(s) and isinstance(s.targets[0], ast.Name):
                    v = s.targets[0].id
                    r = self._of(s.value, v, counts)
                    self._merge(v, r)
            if self.rep == before:
                break

    def _merge(self, v: str, r: str | None) -> None:
        """Join in the lattice "?" (not known yet) < a class < None (unknown)."""
        cur = self.rep.get(v, "?")
        if cur == "?" or cur == r:
            self.rep[v] = r
        elif r != "?":
            self.rep[v] = None

    def _name(self, node: ast.expr) -> str | None:
        if _is_number(node):
            return SCALAR
        if isinstance(node, ast.Name):
            return self.rep.get(node.id, "?")       # "?": not known yet (a later assignment)
        return None

    def _of(self, value: ast.expr, v: str, counts) -> str | None:
        own = "#" + v if counts.get(v, 0) <= 1 else None
        if _is_number(value):
            return SCALAR
        if isinstance(value, ast.Name):
            return self._name(value)
        prim = primitive(value)
        key = prim.key
        if _one_number(prim):
            return SCALAR
        if key == "float" or key.startswith("math."):
            return SCALAR
        if key == "getitem":
            # x[i] with a scalar index: every such element (row) of x has the same shape
            x, index = prim.bound.get("x"), prim.bound.get("index")
            rx = self._name(x) if isinstance(x, ast.Name) else None
            if rx in self._sequences:
                return own                   # an item of a tuple or a list (np.linalg.lstsq's x, s)
            if rx not in (None, "?", SCALAR) and index is not None and self._scalar(index):
                if rx[1:] in self._params and self.rep[rx[1:]] == rx:
                    self.indexed.add(rx[1:])
                if rx in self.vectors:
                    return SCALAR            # an element of a 1-D array
                return rx + "[]"
            k = _shift(index)
            if rx not in (None, "?", SCALAR) and k:
                return f"{rx}[-{k}]"       # x[k:] and x[:-k]: one element per step shorter along axis 0
            return own
        rule = prim.rule
        if rule is None or not rule.elementwise:
            return own
        reps = {self._name(a) for a in prim.bound.values()} - {SCALAR}
        if "?" in reps:
            return "?"
        if not reps:
            return SCALAR
        if len(reps) == 1 and None not in reps:
            return reps.pop()
        return own

    def _scalar(self, node: ast.expr) -> bool:
        """An index expression built from scalars: i, i + 1, -1, 2 * k."""
        if isinstance(node, ast.BinOp):
            return self._scalar(node.left) and self._scalar(node.right)
        if isinstance(node, ast.UnaryOp):
            return self._scalar(node.operand)
        return self._name(node) == SCALAR

    def steady(self, v: str, loop_assigned: set[str]) -> bool:
        """Whether `v`, assigned in a loop, has the same shape in every iteration: each of its values is
        a number, an elementwise operation on such values and values the loop does not change, an
        element or row `x[i]` of an array (not an item of a tuple or a list), or a call reading only
        what the loop does not change. `t = x[:i + 1]` and `t = parts[i]` are not."""
        if self._steady is None:
            self._steady = self._steady_names(loop_assigned)
        return v in self._steady

    def _steady_names(self, loop_assigned: set[str]) -> set[str]:
        varying = set(loop_assigned) | {s.target.id for s in walk_stmts(self._body)
                                       if isinstance(s, ast.For) and isinstance(s.target, ast.Name)}
        values: dict[str, list[ast.expr | None]] = {v: [] for v in loop_assigned}
        for s in walk_stmts(self._body):
            if is_setitem(s):
                continue                         # a write into elements keeps the shape
            for v in assigned(s):
                if v in values:
                    values[v].append(s.value if is_assign(s) else None)
        steady = set(loop_assigned)            # greatest fixpoint: a loop's `h = np.tanh(h * 0.9)` is steady
        changed = True
        while changed:
            changed = False
            for v in list(steady):
                if not all(e is not None and self._steady_value(e, varying, steady) for e in values[v]):
                    steady.discard(v)
                    changed = True
        return steady

    def _steady_value(self, e: ast.expr, varying: set[str], steady: set[str]) -> bool:
        def ok(n: ast.expr) -> bool:
            return all(r not in varying or r in steady for r in names_read(n))
        if _is_number(e) or isinstance(e, ast.Name):
            return ok(e)
        prim = primitive(e)
        key, rule = prim.key, prim.rule
        if _one_number(prim):
            return True
        if key == "getitem":
            x, index = prim.bound.get("x"), prim.bound.get("index")
            if not (isinstance(x, ast.Name) and ok(x)):
                return False
            if not (names_read(index) & varying):
                return True                  # the same element, row or slice every time
            return self._scalar(index) and self.rep.get(x.id) not in self._sequences
        if rule is not None and rule.elementwise:
            return all(ok(a) for a in prim.bound.values())
        return not (names_read(e) & varying)

    def same(self, a: str, b: str) -> bool:
        ra, rb = self.rep.get(a), self.rep.get(b)
        return ra is not None and ra != "?" and ra == rb


def _one_number(prim) -> bool:
    """A reduction over every axis without keepdims (its rule's `reduction`): one number, whatever it reads."""
    return prim.key in flagged("reduction") and _is_none(prim.bound.get("axis")) and not _kept(prim.bound.get("keepdims"))


def _kept(node) -> bool:
    return node is not None and not (isinstance(node, ast.Constant) and node.value is False)


def _ranges(it: ast.expr) -> bool:
    return isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"


def _shift(index) -> int:
    """k for the slices `k:` and `:-k` (k > 0 a literal), else 0."""
    if not isinstance(index, ast.Slice) or index.step is not None:
        return 0
    lo, hi = index.lower, index.upper
    if hi is None and isinstance(lo, ast.Constant) and type(lo.value) is int and lo.value > 0:
        return lo.value
    if lo is None and isinstance(hi, ast.UnaryOp) and isinstance(hi.op, ast.USub) \
            and isinstance(hi.operand, ast.Constant) and type(hi.operand.value) is int and hi.operand.value > 0:
        return hi.operand.value
    return 0
