"""Algebra on generated expressions: which names hold numbers, and products with their numbers
folded and scalar factors multiplied first, taken out of sums and unbroadcasts (which are linear).

`g * 2 * t4 * -1` -> `-2 * g * t4` (one pass over the array instead of three);
`unbroadcast(s * t4, t0)` -> `s * unbroadcast(t4, t0)`; `unbroadcast(a * b, x)` -> `sum_product(a, b, x)`,
a dot product where it sums onto a number."""
from __future__ import annotations

import ast
import math
import re

from ..ir.prim import walk_stmts
from ..analysis.effects import module
from ..ir.nodes import names, walk
from ..ir.names import dotted
from ..rules import flagged

_TEMP = re.compile(r"t\d+(_bar(_\d+)?)?(_dot(_\d+)?)?")
LINEAR = {"_rt.unbroadcast", "np.sum"}        # linear in their first argument


class Algebra:
    """What is known of one generated function's names (which are compiler temporaries, which hold
    numbers), and products built with that knowledge."""

    def __init__(self, user_names: set[str], scalars: set[str]):
        self.user = user_names
        self.known_scalars = set(scalars)
        self.scalars: set[str] = set(scalars)
        self._defs: dict[str, list[ast.expr | None]] = {}     # infer_scalars: each name's assignments
        self._readers: dict[str, set[str]] | None = None      # name -> the names some assignment of which reads it

    # ---------------------------------------------------------------- which names are temporaries
    def temporary(self, name: str) -> bool:
        return bool(_TEMP.fullmatch(name)) and name.split("_bar")[0] not in self.user \
            and name.split("_dot")[0] not in self.user

    # ---------------------------------------------------------------- scalars
    def infer_scalars(self, trees, params=()) -> None:
        """Names certainly holding a Python number or a 0-d value wherever they are read: every
        assignment to them is built from numbers, such names and full reductions (greatest fixpoint).
        A parameter's value comes in from outside (`w = w - m` keeps an array an array): only those
        known to be scalars are."""
        defs: dict[str, list[ast.expr | None]] = {p: [None] for p in params}
        for n in walk_stmts(trees):
            if isinstance(n, ast.Assign):
                for tgt in n.targets:
                    if isinstance(tgt, ast.Name):
                        defs.setdefault(tgt.id, []).append(n.value)
                    else:
                        for m in walk(tgt):
                            if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                                defs.setdefault(m.id, []).append(None)
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                defs.setdefault(n.target.id, []).append(
                    ast.BinOp(left=ast.Name(id=n.target.id, ctx=ast.Load()), op=n.op, right=n.value))
            elif isinstance(n, ast.For):
                ranged = isinstance(n.iter, ast.Call) and dotted(n.iter.func) == ["range"]
                for m in walk(n.target):
                    if isinstance(m, ast.Name):
                        defs.setdefault(m.id, []).append(ast.Constant(0) if ranged else None)
        self.scalars = {v for v, ds in defs.items() if all(d is not None for d in ds)} | self.known_scalars
        self._defs = defs
        self._readers = None
        dropped = [v for v in list(self.scalars) if self._drop_unless_scalar(v, defs)]
        if dropped:
            self._drop_readers(v for r in dropped for v in self._reading(r))

    def _reading(self, name: str) -> set[str]:
        """The names left among the scalars some assignment of which reads `name`."""
        if self._readers is None:
            self._readers = {}
            for v in self.scalars - self.known_scalars:
                for d in self._defs[v]:
                    for r in names(d, True):
                        self._readers.setdefault(r, set()).add(v)
        return self._readers.get(name, set())

    def _drop_readers(self, todo) -> None:
        """Look again at the names in `todo`, and at those that read a name dropped, to a fixed point."""
        todo = list(todo)
        while todo:
            v = todo.pop()
            if self._drop_unless_scalar(v, self._defs):
                todo.extend(self._reading(v))

    def revise(self, values: dict[str, ast.expr], rename: dict[str, str]) -> None:
        """After infer_scalars, the code changed: each name in `values` now has that value as its only
        assignment, and the reads of each name in `rename` read its value instead (a copy went). What
        infer_scalars would find again, without walking the code: neither change makes a name a scalar
        (the old values were unbroadcasts, a number if the new one is; a copy is one iff its source is)."""
        if self._readers is not None:
            for a, b in rename.items():
                self._readers.setdefault(b, set()).update(self._readers.pop(a, ()))
            for v, e in values.items():
                for r in names(e, True):
                    self._readers.setdefault(r, set()).add(v)
        for v, e in values.items():
            self._defs[v] = [e]
        self._drop_readers(values)

    def _drop_unless_scalar(self, v: str, defs: dict[str, list[ast.expr]]) -> bool:
        """Drop `v` from the scalars if some assignment of it may not give one; whether it was dropped."""
        if v in self.scalars and v not in self.known_scalars and not all(self.scalar(d) for d in defs[v]):
            self.scalars.discard(v)
            return True
        return False

    def scalar(self, e: ast.expr) -> bool:
        if isinstance(e, ast.Constant):
            return type(e.value) in (int, float, bool)
        if isinstance(e, ast.Name):
            return e.id in self.scalars
        if isinstance(e, ast.BinOp):
            return self.scalar(e.left) and self.scalar(e.right)
        if isinstance(e, ast.UnaryOp):
            return self.scalar(e.operand)
        if isinstance(e, ast.Attribute):
            return e.attr in ("size", "ndim")
        if isinstance(e, ast.Call):
            key = module(e)
            if key in flagged("reduction"):
                return not e.keywords and len(e.args) == 1
            if key.startswith("math.") or key in ("float", "int", "len"):
                return True
            if key in ("abs",):
                return all(self.scalar(a) for a in e.args)
            if key == "_rt.mean_scale":
                return bool(e.args) and self.scalar(e.args[0])
            if key == "_rt.unbroadcast":
                return len(e.args) == 2 and (self.scalar(e.args[0]) or self.scalar(e.args[1]))
        return False

    # ---------------------------------------------------------------- products
    def _factors(self, e: ast.expr, out: list, sign: list) -> None:
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
            self._factors(e.left, out, sign)
            self._factors(e.right, out, sign)
        elif isinstance(e, ast.BinOp) and isinstance(e.op, ast.Div) and _power_of_two(constant(e.right)):
            self._factors(e.left, out, sign)
            out.append(ast.Constant(1 / constant(e.right)))     # folded with the other numbers
        elif isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and not isinstance(e.operand, ast.Constant):
            sign[0] = -sign[0]
            self._factors(e.operand, out, sign)
        else:
            out.append(e)

    def reassociate(self, e: ast.expr) -> ast.expr:
        """A product with its numbers folded and its scalar factors multiplied first."""
        factors: list[ast.expr] = []
        sign = [1]
        self._factors(e, factors, sign)
        return self.build(factors, sign[0], e)

    def build(self, factors: list[ast.expr], sign: int, e: ast.expr) -> ast.expr:
        """The product of `factors` (times `sign`): numbers folded first, then scalars, then the rest
        in their order; `e` when that is how it reads already."""
        number: int | float = sign
        numbers = 0
        scalars, rest = [], []
        for f in factors:
            c = constant(f)
            if c is not None:
                number = number * c
                numbers += 1
            elif self.scalar(f):
                scalars.append(f)
            else:
                rest.append(f)
        if number == 0:
            return e                   # keep `x * 0` as written: it carries x's shape and dtype
        seq = scalars + rest
        if not seq:
            return _number(number)
        exact = type(number) is int or any(is_cotangent(f) for f in seq)   # dropping 1.0 keeps the type
        if number == -1 and exact:
            seq[0] = ast.UnaryOp(op=ast.USub(), operand=seq[0])
        elif not (number == 1 and exact):
            seq.insert(0, _number(number))
        out = seq[0]
        for f in seq[1:]:
            out = ast.BinOp(left=out, op=ast.Mult(), right=f)
        return out

    def split_scalar(self, e: ast.expr) -> tuple[ast.expr | None, ast.expr]:
        """(scalar factor, the rest) of a reassociated product; (None, e) when it has none."""
        factors: list[ast.expr] = []
        sign = [1]
        self._factors(e, factors, sign)
        sc = [f for f in factors if self.scalar(f)]
        rest = [f for f in factors if not self.scalar(f)]
        if not rest or (not sc and sign[0] == 1):
            return None, e
        if sign[0] == -1:
            sc = [ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1))] + sc
        s = sc[0]
        for f in sc[1:]:
            s = ast.BinOp(left=s, op=ast.Mult(), right=f)
        r = rest[0]
        for f in rest[1:]:
            r = ast.BinOp(left=r, op=ast.Mult(), right=f)
        return self.reassociate(s), r


def _power_of_two(c) -> bool:
    """Dividing by c is exactly multiplying by 1 / c."""
    return c is not None and c != 0 and math.frexp(abs(c))[0] == 0.5


def is_product(e: ast.expr) -> bool:
    return isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Mult, ast.Div))


def constant(f: ast.expr) -> int | float | None:
    if isinstance(f, ast.Constant) and type(f.value) in (int, float):
        return f.value
    if isinstance(f, ast.UnaryOp) and isinstance(f.op, ast.USub) and isinstance(f.operand, ast.Constant) \
            and type(f.operand.value) in (int, float):
        return -f.operand.value
    return None


def is_cotangent(f: ast.expr) -> bool:
    """A cotangent, or built from one, is a float: multiplying it by 1.0 changes nothing."""
    if isinstance(f, ast.Name):
        return f.id.endswith("_bar") or "_bar_" in f.id
    if isinstance(f, ast.Call) and module(f).startswith("_rt.") and f.args:
        return is_cotangent(f.args[0])
    if isinstance(f, ast.BinOp):
        return is_cotangent(f.left) or is_cotangent(f.right)
    if isinstance(f, ast.UnaryOp):
        return is_cotangent(f.operand)
    return False


def _number(v) -> ast.expr:
    if v < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-v))
    return ast.Constant(v)


class Rewriter:
    """Reassociate products, take scalar factors out of linear maps and tidy signs, bottom up, in one
    walk of each statement."""

    def __init__(self, fuser: Algebra):
        self.f = fuser

    @staticmethod
    def _dot(e: ast.Call) -> ast.expr:
        """`unbroadcast(a * b, x)` -> `sum_product(a, b, x)`: a dot product where it sums onto a number."""
        if module(e) == "_rt.unbroadcast" and len(e.args) == 2 and isinstance(e.args[0], ast.BinOp) \
                and isinstance(e.args[0].op, ast.Mult) and not is_product(e.args[0].left) \
                and not is_product(e.args[0].right):
            e.func = ast.Attribute(value=ast.Name(id="_rt", ctx=ast.Load()), attr="sum_product", ctx=ast.Load())
            e.args = [e.args[0].left, e.args[0].right, e.args[1]]
        return e

    def stmt(self, s: ast.stmt, as_written: frozenset[int] = frozenset()) -> None:
        """Rewrite statement `s` and those nested in it, but for those in `as_written` (ids): their
        products keep the user's order, so that they compute the user's values bit for bit."""
        if id(s) in as_written:
            for field in ("body", "orelse"):
                for inner in getattr(s, field, None) or []:
                    if isinstance(inner, ast.stmt):
                        self.stmt(inner, as_written)
            return
        for field in ("value", "test", "iter"):
            e = getattr(s, field, None)
            if isinstance(e, ast.expr):
                setattr(s, field, self.expr(e))
        for t in getattr(s, "targets", None) or [getattr(s, "target", None)]:
            if isinstance(t, ast.Subscript):
                t.slice = self.expr(t.slice)
        for field in ("body", "orelse"):
            for inner in getattr(s, field, None) or []:
                if isinstance(inner, ast.stmt):
                    self.stmt(inner, as_written)

    def expr(self, e: ast.expr) -> ast.expr:
        t = type(e)
        if t is ast.BinOp and (type(e.op) is ast.Mult or type(e.op) is ast.Div
                               and _power_of_two(constant(e.right)) and is_product(e.left)) \
                or t is ast.UnaryOp and type(e.op) is ast.USub and is_product(e.operand):
            factors: list[ast.expr] = []
            sign = [1]
            self.f._factors(e, factors, sign)
            return self.f.build([self.expr(x) for x in factors], sign[0], e)
        if t is ast.BinOp:
            e.left, e.right = self.expr(e.left), self.expr(e.right)
            return _tidy(e)
        if t is ast.Call:
            e.args = [self.expr(a) for a in e.args]
            for k in e.keywords:
                k.value = self.expr(k.value)
            key = module(e)
            if key in LINEAR and e.args and not (key == "np.sum" and len(e.args) > 1):
                sc, rest = self.f.split_scalar(e.args[0])
                if sc is not None:
                    e.args[0] = rest
                    return self.f.reassociate(ast.BinOp(left=sc, op=ast.Mult(), right=self._dot(e)))
            return self._dot(e)
        for field in e._fields:
            v = getattr(e, field)
            if isinstance(v, ast.expr):
                setattr(e, field, self.expr(v))
            elif type(v) is list:
                setattr(e, field, [self.expr(x) if isinstance(x, ast.expr) else x for x in v])
        return e


def _tidy(node: ast.BinOp) -> ast.expr:
    """`a + -b` -> `a - b`, `a - -b` -> `a + b`, `a + -2 * b * c` -> `a - 2 * b * c` (negating is exact:
    the same values)."""
    if isinstance(node.op, (ast.Add, ast.Sub)):
        r = node.right
        flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        if isinstance(r, ast.UnaryOp) and isinstance(r.op, ast.USub):
            return ast.BinOp(left=node.left, op=flipped, right=r.operand)
        positive = _without_leading_minus(r)
        if positive is not None:
            return ast.BinOp(left=node.left, op=flipped, right=positive)
    return node


def _without_leading_minus(e: ast.expr) -> ast.expr | None:
    """A product whose first factor is negated (`-2 * b * c`, `-b * c`), with that factor positive; None
    for anything else."""
    if not (isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult)):
        return None
    first = e.left
    if isinstance(first, ast.UnaryOp) and isinstance(first.op, ast.USub):
        return ast.BinOp(left=first.operand, op=ast.Mult(), right=e.right)
    if isinstance(first, ast.Constant) and type(first.value) in (int, float) and first.value < 0:
        return ast.BinOp(left=ast.Constant(-first.value), op=ast.Mult(), right=e.right)
    inner = _without_leading_minus(first)
    return None if inner is None else ast.BinOp(left=inner, op=ast.Mult(), right=e.right)
