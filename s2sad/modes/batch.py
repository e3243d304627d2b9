"""Batching (vmap): the core function rewritten to run all examples of a batch in one pass.

A batched value carries the examples along a new first axis; an unbatched one is the same for every
example and stays as it is. Which names are batched is settled first, for the whole function (a name
batched anywhere is batched everywhere: its other assignments lift their value to the batch), then
each statement is rewritten by its primitive's batching kind (`Rule.batch`, rules/batching.py):

- elementwise primitives broadcast as they are, once a batched operand of fewer dimensions than the
  others has axes of length 1 put after its batch axis (`x[:, None] * W`);
- an axis argument moves up by one (`np.sum(x, axis=0)` -> `np.sum(x, axis=1)`), and `axis=None`
  becomes "every axis of one example"; reshapes, transposes, matmul, indexing and writes get their
  batched forms; a shape (`x.shape`, `len(x)`) is one example's;
- any other pure primitive runs once per example in a loop (`_bt.loop`): slower, never wrong.

Control flow that depends on a batched value runs masked: an `if` runs both branches and each
assignment keeps, per example, the value of the branch that example takes (`np.where`); a `while`
runs while any example's condition holds and freezes the finished ones; a `for` over a batched
`range` runs the longest trip count, each example taking part in its own number of trips (the last
ones, for a loop that pops what an earlier loop pushed: the reverse sweep of a gradient).
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from ..analysis import aliasing
from ..errors import UnsupportedSyntaxError, located
from ..ir.astcopy import clone
from ..ir.core import CoreFunction, origin, set_origin
from ..ir.names import dotted
from ..ir.nodes import names, walk
from ..ir.prim import is_add_at, is_setitem, walk_stmts
from ..rules import RULES
from ..analysis.effects import header_part, reads
from .forward import stack_call
from .templates import call, name_node

BT = "_bt"
_SHAPE_ATTRS = {"shape", "ndim", "size", "dtype"}
_SHAPE_CALLS = {"len", "np.shape", "np.ndim", "np.size", "np.result_type", "isinstance", "type"}
_ELEMENTWISE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod)
_NUMBER_CASTS = {"float": "float", "int": "int", "bool": "bool", "round": None, "abs": None}


@dataclass
class Batched:
    """The batched function: its entry (moving mapped axes first, the batch size, lifted parameters),
    body, and the return statement."""

    body: list[ast.stmt]
    ret: ast.Return
    loops: list[str] = field(default_factory=list)    # primitives run once per example (`_bt.loop`)


def _bt(fn: str, *args) -> ast.Call:
    return call(f"{BT}.{fn}", *args)


def _const(v) -> ast.Constant:
    return ast.Constant(v)


class _ExampleShapes(ast.NodeTransformer):
    """Batch.shapes's rewriting (a class of the module: one made at each call would be a reference cycle,
    keeping the generator alive until the cycle collector runs)."""

    def __init__(self, gen: "Batch"):
        self.gen = gen

    def of(self, node: ast.expr) -> bool:
        gen = self.gen
        if isinstance(node, ast.Name) and node.id in gen.range_defs:
            return gen._range_batched(node.id, gen.batched)
        return gen.is_batched(node, gen.batched)

    def visit_Attribute(self, node):
        if node.attr in ("shape", "ndim", "size") and self.of(node.value):
            return _example_shape(self.gen.expr(node.value)[0], node.attr)
        self.generic_visit(node)
        return node

    def visit_Call(self, node):
        parts = dotted(node.func)
        key = ".".join(parts) if parts else ""
        if len(node.args) == 1 and not node.keywords and self.of(node.args[0]):
            attr = {"np.shape": "shape", "np.ndim": "ndim", "np.size": "size"}.get(key)
            if attr:
                return _example_shape(self.gen.expr(node.args[0])[0], attr)
            if key == "len":
                return _subscript(ast.Attribute(value=self.gen.expr(node.args[0])[0], attr="shape",
                                                ctx=ast.Load()), [_const(1)])
        self.generic_visit(node)
        return node


class Batch:
    """Generates the batched code of one core function for mapped parameters `axes` (name -> axis)."""

    def __init__(self, fn: CoreFunction, axes: dict[str, int], ranks: dict[str, int], numbers: set[str]):
        self.fn = fn
        self.axes = axes
        self.namer = fn.namer
        kinds = aliasing.ArgKinds(frozenset(numbers), tuple(sorted(ranks.items())))
        self.nums, self.ranks = aliasing.numbers(fn.body, fn.params, kinds)
        self.views = aliasing.view_bases(fn.body, fn.params, kinds)
        self.n = self.namer.exact("n_batch")
        self.loops: list[str] = []
        self.loop_masks: list[str | None] = []        # the mask of each loop around the statement
        self.range_defs: dict[str, ast.expr] = {}      # r = range(...), r2 = r[::-1]: ranges held in a name
        for st in walk_stmts(fn.body):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                v = st.value
                if isinstance(v, ast.Call) and dotted(v.func) == ["range"] or isinstance(v, ast.Subscript) \
                        and isinstance(v.value, ast.Name) and v.value.id in self.range_defs \
                        and isinstance(v.slice, ast.Slice):
                    self.range_defs[st.targets[0].id] = v
        self.batched = self._settle(set(axes))
        written = {s.targets[0].value.id for s in walk_stmts(fn.body) if is_setitem(s)} \
            | {s.value.args[0].id for s in walk_stmts(fn.body) if is_add_at(s)}
        self.written = written | {b for w in written for b in self.views.get(w, ())}
        self.viewed = {b for bases in self.views.values() for b in bases}    # names some view may share
        self.containers: dict[str, ast.expr] = {}
        self.parts_def: dict[str, ast.Call] = {      # names holding a list of arrays (np.split's parts)
            st.targets[0].id: st.value for st in walk_stmts(fn.body) if isinstance(st, ast.Assign)
            and isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.Call) and dotted(st.value.func)
            and getattr(RULES.get(".".join(dotted(st.value.func))), "batch", "") == "parts"}

    # --- which names are batched ---------------------------------------------------------------
    def _settle(self, start: set[str]) -> set[str]:
        """Names holding a batched value somewhere (then everywhere): what reads a batched value, what a
        masked branch or loop assigns, the bases of a batched view, a stack a batched value is pushed on."""
        out = set(start)
        while True:
            size = len(out)
            self._mark(self.fn.body, out, False)
            for v in list(out):
                out |= self.views.get(v, set())
            if len(out) == size:
                return out

    def _mark(self, body: list[ast.stmt], out: set[str], masked: bool) -> None:
        for s in body:
            if isinstance(s, ast.Assign):
                t = s.targets[0]
                if isinstance(t, ast.Name):
                    if _text(s.value):
                        continue                        # a string (a dict key): the same for every example
                    if masked or self.is_batched(s.value, out):
                        out.add(t.id)
                elif isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                    if masked or self.is_batched(s.value, out) or self.is_batched(t.slice, out):
                        out.add(t.value.id)
            elif isinstance(s, ast.Expr):
                stack = stack_call(s.value, "append")
                if stack and (masked or self.is_batched(s.value.args[0], out)):
                    out.add(stack)
            elif isinstance(s, ast.If):
                inner = masked or self.is_batched(s.test, out)
                self._mark(s.body, out, inner)
                self._mark(s.orelse, out, inner)
            elif isinstance(s, ast.While):
                self._mark(s.body, out, masked or self.is_batched(s.test, out) or self._breaks(s.body, out))
            elif isinstance(s, ast.For):
                b = self.is_batched(s.iter, out)
                if b and isinstance(s.target, ast.Name):
                    out.add(s.target.id)
                self._mark(s.body, out, masked or b or self._breaks(s.body, out))

    def _breaks(self, body: list[ast.stmt], out: set[str], under: bool = False) -> bool:
        """A `break` of this loop under a condition that is batched (examples leave at different trips)."""
        for s in body:
            if isinstance(s, ast.Break) and under:
                return True
            if isinstance(s, ast.If):
                inner = under or self.is_batched(s.test, out)
                if self._breaks(s.body, out, inner) or self._breaks(s.orelse, out, inner):
                    return True
        return False

    def is_batched(self, e: ast.AST, out: set[str]) -> bool:
        """Whether expression `e` has a batched value when the names in `out` do."""
        if isinstance(e, ast.Name):
            if e.id in self.range_defs:          # a range is batched when its bounds are, wherever it is made
                return self._range_batched(e.id, out)
            return e.id in out
        if isinstance(e, ast.Attribute):
            if e.attr in _SHAPE_ATTRS:
                return False
            return self.is_batched(e.value, out)
        if isinstance(e, ast.Call):
            parts = dotted(e.func)
            key = ".".join(parts) if parts else ""
            if key == "len" and len(e.args) == 1 and isinstance(e.args[0], ast.Name) \
                    and e.args[0].id in self.range_defs:
                return self._range_batched(e.args[0].id, out)     # the length of each example's own range
            if key in _SHAPE_CALLS:
                return False
            stack = stack_call(e, "pop")
            if stack:
                return stack in out
            if isinstance(e.func, ast.Attribute) and not (parts and parts[0] in ("np", "math", "_rt")) \
                    and self.is_batched(e.func.value, out):
                return True                     # a method of a batched value (x.mean() in a loop's test)
            return any(self.is_batched(a, out) for a in e.args) or any(self.is_batched(k.value, out) for k in e.keywords)
        return any(isinstance(n, ast.Name) and self.is_batched(n, out) and self._read_as_value(n, e) for n in walk(e))

    def _view_hazard(self, v: str, at: ast.stmt) -> bool:
        """Whether a view of v made before the statement `at` may be read after it (then a masked
        rebinding of v, which makes a new array, would leave that view on the old one). Program order;
        inside a loop, anything in the loop may come before or after."""
        if not hasattr(self, "_order"):             # positions in program order, loops' spans, made at first need
            self._order, self._loops = {}, []
            self._made: dict[str, list[int]] = {}
            self._read: dict[str, list[int]] = {}
            for k, st in enumerate(walk_stmts(self.fn.body)):
                self._order[id(st)] = k
                if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                    self._made.setdefault(st.targets[0].id, []).append(k)
                for n in _header_names(st):
                    self._read.setdefault(n, []).append(k)
            for st in walk_stmts(self.fn.body):
                if isinstance(st, (ast.For, ast.While)):
                    inner = [self._order[id(x)] for x in walk_stmts(st.body)]
                    self._loops.append((self._order[id(st)], max(inner, default=self._order[id(st)])))
        p = self._order.get(id(at))
        if p is None:
            return True
        around = [(a, b) for a, b in self._loops if a <= p <= b]
        for t, bases in self.views.items():
            if v not in bases:
                continue
            for c in self._made.get(t, ()):
                for r in self._read.get(t, ()):
                    if c < p < r or any(a <= c <= b and a <= r <= b for a, b in around):
                        return True
        return False

    def _range_batched(self, name: str, out: set[str]) -> bool:
        """Whether the range held in `name` differs between examples (range(n) of a batched n)."""
        v = self.range_defs[name]
        if isinstance(v, ast.Subscript):
            return self._range_batched(v.value.id, out)
        return any(self.is_batched(a, out) for a in v.args)

    def _read_as_value(self, name: ast.Name, root: ast.AST) -> bool:
        """A name under `root` read for its value (not only for its shape: `x.shape`, `len(x)`)."""
        for n in walk(root):
            if isinstance(n, ast.Attribute) and n.value is name and n.attr in _SHAPE_ATTRS:
                return False
            if isinstance(n, ast.Call) and name in n.args:
                parts = dotted(n.func)
                if parts and ".".join(parts) in _SHAPE_CALLS:
                    return False
        return True

    # --- errors ----------------------------------------------------------------------------------
    def refuse(self, node: ast.AST, why: str) -> UnsupportedSyntaxError:
        where = origin(node) or getattr(self, "_where", None) or (self.fn.src.filename, None)
        return UnsupportedSyntaxError(located(where[0], where[1], None, f"vmap: {why}"))

    # --- ranks -----------------------------------------------------------------------------------
    def rank(self, e: ast.expr) -> int | None:
        """The number of dimensions of one example's value of the original expression `e`, if known."""
        return aliasing.rank_of(e, self.nums, self.ranks)

    def rank_expr(self, node: ast.expr, batched: bool, known: int | None) -> ast.expr:
        if known is not None:
            return _const(known)
        return _bt("rank", clone(node), _const(batched))

    def aligned(self, parts: list[tuple[ast.expr, ast.expr, bool]]) -> list[ast.expr]:
        """Operands (original, batched code, batched?) of an elementwise primitive, each batched one with
        axes of length 1 after its batch axis when it has fewer dimensions than another operand."""
        if not any(b for _, _, b in parts):
            return [n for _, n, _ in parts]
        ranks = [self.rank(o) for o, _, _ in parts]
        known = None not in ranks
        top = max(ranks) if known else None
        out = []
        for (o, n, b), r in zip(parts, ranks):
            if not b:
                out.append(n)
                continue
            if known:
                out.append(_expand(n, top - r) if r < top else n)
                continue
            if r is not None and all(x is not None and x <= r for x in ranks):
                out.append(n)
                continue
            others = [self.rank_expr(pn, pb, pr) for (po, pn, pb), pr in zip(parts, ranks) if pn is not n]
            if not others or all(isinstance(o, ast.Constant) and o.value == 0 for o in others):
                out.append(n)          # nothing else has an axis: no axis to line up with
                continue
            top_e = others[0] if len(others) == 1 else ast.Call(func=name_node("max"), args=others, keywords=[])
            out.append(_bt("align", n, top_e))
        return out

    # --- expressions -----------------------------------------------------------------------------
    def expr(self, e: ast.expr) -> tuple[ast.expr, bool]:
        """The batched code of expression `e`, and whether its value is batched."""
        if isinstance(e, ast.Constant):
            return clone(e), False
        if isinstance(e, ast.Name):
            return clone(e), self.is_batched(e, self.batched)
        if not self.is_batched(e, self.batched):
            return self.shapes(clone(e)), False
        if isinstance(e, ast.BinOp):
            (l, bl), (r, br) = self.expr(e.left), self.expr(e.right)
            if isinstance(e.op, ast.MatMult):
                return self.matmul(e.left, l, bl, e.right, r, br, "matmul"), True
            if not isinstance(e.op, _ELEMENTWISE_OPS):
                raise self.refuse(e, f"the operator in `{ast.unparse(e)}` has no batched form")
            l, r = self.aligned([(e.left, l, bl), (e.right, r, br)])
            return ast.BinOp(left=l, op=e.op, right=r), True
        if isinstance(e, ast.UnaryOp):
            v, _ = self.expr(e.operand)
            if isinstance(e.op, ast.Not):
                return call("np.logical_not", v), True
            return ast.UnaryOp(op=e.op, operand=v), True
        if isinstance(e, ast.Compare):
            return self.compare(e), True
        if isinstance(e, ast.BoolOp):
            vals = [self.expr(v)[0] for v in e.values]
            fn = "np.logical_and" if isinstance(e.op, ast.And) else "np.logical_or"
            out = vals[0]
            for v in vals[1:]:
                out = call(fn, out, v)
            return out, True
        if isinstance(e, ast.IfExp):
            (t, bt), (a, ba), (b, bb) = self.expr(e.test), self.expr(e.body), self.expr(e.orelse)
            if not bt:
                return ast.IfExp(test=t, body=self.lift(a, ba), orelse=self.lift(b, bb)), True
            return _bt("select", t, self.lift(a, ba), self.lift(b, bb)), True
        if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name) and e.value.id in self.range_defs:
            if isinstance(e.slice, ast.Slice):
                if not (e.slice.lower is None and e.slice.upper is None and isinstance(e.slice.step, ast.UnaryOp)
                        and isinstance(e.slice.step.operand, ast.Constant) and e.slice.step.operand.value == 1):
                    raise self.refuse(e, "a slice of a range that differs between examples has no batched form")
                return _bt("range_reversed", clone(e.value)), True
            return _bt("range_item", clone(e.value), self.expr(e.slice)[0]), True
        if isinstance(e, ast.Subscript):
            item = self.parts_item(e)
            return (item if item is not None else self.getitem(e)), True
        if isinstance(e, ast.Attribute):
            v, _ = self.expr(e.value)
            if e.attr == "T":
                return _bt("transpose", v), True
            if e.attr in ("real", "imag"):
                return ast.Attribute(value=v, attr=e.attr, ctx=ast.Load()), True
            raise self.refuse(e, f"the attribute .{e.attr} of a batched value has no batched form")
        if isinstance(e, (ast.Tuple, ast.List)):
            raise self.refuse(e, "a tuple or list whose items differ between examples, inside an expression, has no "
                                 "batched form (a shape that differs between examples: the arrays would differ in size)")
        if isinstance(e, ast.Call):
            return self.call(e), True
        raise self.refuse(e, f"`{ast.unparse(e)}` has no batched form")

    def shapes(self, e: ast.expr) -> ast.expr:
        """Shapes of batched values asked in an unbatched expression, as one example's: `x.shape` ->
        `x.shape[1:]`, `len(x)` -> `x.shape[1]`, `x.ndim` -> `x.ndim - 1`, `x.size` -> `x[0].size`."""
        return _ExampleShapes(self).visit(e)

    def lift(self, node: ast.expr, batched: bool, copy: bool = False) -> ast.expr:
        if batched:
            return node
        return _bt("lift_copy" if copy else "lift", node, name_node(self.n))

    def compare(self, e: ast.Compare) -> ast.expr:
        operands = [e.left] + list(e.comparators)
        done = [self.expr(o) for o in operands]
        for op in e.ops:
            if isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)):
                raise self.refuse(e, f"`{ast.unparse(e)}` on a batched value has no batched form")
        pieces = []
        for k, op in enumerate(e.ops):
            a, b = self.aligned([(operands[k], done[k][0], done[k][1]), (operands[k + 1], clone(done[k + 1][0]), done[k + 1][1])])
            pieces.append(ast.Compare(left=a, ops=[op], comparators=[b]))
        out = pieces[0]
        for p in pieces[1:]:
            out = call("np.logical_and", out, p)
        return out

    def matmul(self, lo, l, bl, ro, r, br, kind: str) -> ast.expr:
        ra, rb = self.rank(lo), self.rank(ro)
        if kind == "matmul" and ra is not None and rb is not None:
            if bl and not br and ra >= 1 and (rb <= 2 or ra >= 2):
                return ast.BinOp(left=l, op=ast.MatMult(), right=r)
            if br and not bl and rb >= 2 and ra >= 1 and not (ra == 1 and rb > 2):
                return ast.BinOp(left=l, op=ast.MatMult(), right=r)
            if br and not bl and rb == 1 and ra == 1:
                return ast.BinOp(left=r, op=ast.MatMult(), right=l)
            if br and not bl and rb == 1 and ra == 2:
                return ast.BinOp(left=r, op=ast.MatMult(), right=ast.Attribute(value=l, attr="T", ctx=ast.Load()))
            if bl and br and ra == 2 and rb == 2:
                return ast.BinOp(left=l, op=ast.MatMult(), right=r)
            if bl and br and ra == 1 and rb == 1:
                return call("np.einsum", _const("bi,bi->b"), l, r)
        return _bt(kind, l, r, _const(bl), _const(br))

    def getitem(self, e: ast.Subscript) -> ast.expr:
        x, bx = self.expr(e.value)
        parts = list(e.slice.elts) if isinstance(e.slice, ast.Tuple) else [e.slice]
        done = [self.slice_part(p) for p in parts]
        bparts = [b for _, b in done]
        new = [n for n, _ in done]
        if not any(bparts):
            if self._separated_advanced(parts):
                self.loops.append("getitem")
                return _bt("index", x, ast.Tuple(elts=[_slice_call(p) for p in new], ctx=ast.Load()), _const(bx),
                           ast.Tuple(elts=[_const(False)] * len(new), ctx=ast.Load()))
            out = _subscript(x, [ast.Slice()] + new) if not self._maybe_tuple(parts) \
                else ast.Subscript(value=x, slice=_bt("index_of", *map(_slice_call, new)), ctx=ast.Load())
            r = self.rank(e)
            if r == 0:            # one element of each example: a number, which shares no memory (a copy)
                return ast.Call(func=ast.Attribute(value=out, attr="copy", ctx=ast.Load()), args=[], keywords=[])
            return out if r is not None else _bt("element", out)
        if len(parts) == 1 and self.rank(parts[0]) == 0:
            if not bx:
                return _subscript(x, new)                    # x[i] for each example's i
            rows = call("np.arange", name_node(self.n))
            return _subscript(x, [rows] + new)               # x[arange(n), i]
        self.loops.append("getitem")
        return _bt("index", x, ast.Tuple(elts=[_slice_call(p) for p in new], ctx=ast.Load()), _const(bx),
                   ast.Tuple(elts=[_const(b) for b in bparts], ctx=ast.Load()))

    def slice_part(self, p: ast.expr) -> tuple[ast.expr, bool]:
        if isinstance(p, ast.Slice):
            bounds = [self.expr(b) if b is not None else (None, False) for b in (p.lower, p.upper, p.step)]
            if any(b for _, b in bounds):
                raise self.refuse(p, "a slice whose bounds differ from example to example has no batched form "
                                     "(its length would differ): use a mask (np.where) instead")
            return ast.Slice(lower=bounds[0][0], upper=bounds[1][0], step=bounds[2][0]), False
        return self.expr(p)

    def _maybe_tuple(self, parts: list[ast.expr]) -> bool:
        """An index part that may hold a tuple of indices (a name of unknown kind: `idx = np.s_[:, 1]`)."""
        return any(not isinstance(p, (ast.Slice, ast.Constant)) and self.rank(p) is None for p in parts)

    def _separated_advanced(self, parts: list[ast.expr]) -> bool:
        """Array indices (or an array and numbers) separated by a slice: NumPy puts their axes first."""
        adv = [k for k, p in enumerate(parts) if not isinstance(p, ast.Slice)
               and not (isinstance(p, ast.Constant) and (p.value is None or p.value is Ellipsis))]
        if len(adv) < 2 or adv == list(range(adv[0], adv[-1] + 1)):
            return False
        return any(self.rank(parts[k]) != 0 for k in adv)

    def call(self, e: ast.Call) -> ast.expr:
        parts = dotted(e.func)
        key = ".".join(parts) if parts else ""
        stack = stack_call(e, "pop")
        if stack:
            return clone(e)
        if isinstance(e.func, ast.Attribute) and not (parts and parts[0] in ("np", "math", "_rt")) \
                and self.is_batched(e.func.value, self.batched):
            return self.method(e)
        if key == "len" and len(e.args) == 1 and isinstance(e.args[0], ast.Name) and e.args[0].id in self.range_defs:
            return _bt("range_len", clone(e.args[0]))         # (is_batched: a range that differs per example)
        if key == "range" and not e.keywords:
            return _bt("brange", name_node(self.n), *[self.expr(a)[0] for a in e.args])
        if key in _NUMBER_CASTS:
            (v, b), = [self.expr(a) for a in e.args] if len(e.args) == 1 else [(None, False)]
            if v is None or e.keywords:
                raise self.refuse(e, f"{key}() of a batched value with these arguments has no batched form")
            if key in ("round", "abs"):
                return call("np.round" if key == "round" else "np.abs", v)
            return _bt("number", v, name_node(_NUMBER_CASTS[key]))
        if key in ("max", "min") and len(e.args) >= 2 and not e.keywords:
            # Python's max/min of numbers: the first of the largest (smallest), as np.where picks it
            done = [self.expr(a) for a in e.args]
            vals = self.aligned([(o, n, b) for o, (n, b) in zip(e.args, done)])
            op = ast.Gt() if key == "max" else ast.Lt()
            out = vals[0]
            for v in vals[1:]:
                out = call("np.where", ast.Compare(left=v, ops=[op], comparators=[clone(out)]), clone(v), out)
            return out
        if key.startswith("math."):
            npkey = "np." + {"fabs": "abs", "pow": "power"}.get(parts[1], parts[1])
            if npkey in RULES and RULES[npkey].elementwise:
                return self.call(ast.Call(func=_dotted(npkey), args=e.args, keywords=e.keywords))
        if key in ("np.array", "np.asarray", "np.stack") and len(e.args) == 1 and not e.keywords \
                and isinstance(e.args[0], (ast.List, ast.Tuple)) and e.args[0].elts:
            items = [self.expr(x) for x in e.args[0].elts]
            ranks = {self.rank(x) for x in e.args[0].elts}
            if len(ranks) == 1 and None not in ranks:        # np.array([a, b]): the items stacked after the batch axis
                return ast.Call(func=_dotted("np.stack"), args=[ast.List(
                        elts=[self.lift(n, b) for n, b in items], ctx=ast.Load())],
                        keywords=[ast.keyword(arg="axis", value=_const(1))])
        rule = RULES.get(key)
        if rule is None and isinstance(e.func, ast.Name) and e.func.id not in vars(builtins):
            # a function of the user's the code calls as it is (in a condition kept whole): once per example
            return self.loop(e, key, [self.arg(a) for a in e.args], [(k.arg, self.arg(k.value)) for k in e.keywords])
        if rule is None:
            raise self.refuse(e, f"{key or ast.unparse(e.func)} has no rule, so s2sad cannot tell what it does "
                                 "to each example")
        kind = rule.batch or ("elementwise" if rule.elementwise else "")
        args = [self.arg(a) for a in e.args]
        kws = [(k.arg, self.arg(k.value)) for k in e.keywords]
        if any(isinstance(a, ast.Starred) for a in e.args) or any(k is None for k, _ in kws):
            raise self.refuse(e, "*args and **kwargs in a call on batched values are not supported")
        if kind == "elementwise" and any(isinstance(b, tuple) for _, b in args + [v for _, v in kws]):
            return self.loop(e, key, args, kws)
        if kind == "elementwise":
            # arguments bound to the rule's parameters; array parameters broadcast together
            originals = list(e.args) + [k.value for k in e.keywords]
            done = args + [v for _, v in kws]
            new = self.aligned([(o, n, b) for o, (n, b) in zip(originals, done)])
            return ast.Call(func=clone(e.func), args=new[:len(args)],
                            keywords=[ast.keyword(arg=k, value=v) for (k, _), v in zip(kws, new[len(args):])])
        if kind in ("reduce", "scan", "arg"):
            return self.axis_call(e, key, rule, args, kws, kind)
        if kind == "like":
            if not args[0][1] is True or any(_any(b) for _, b in args[1:]) or any(_any(b) for _, (_, b) in kws):
                return self.loop(e, key, args, kws)
            return ast.Call(func=clone(e.func), args=[n for n, _ in args],
                            keywords=[ast.keyword(arg=k, value=v) for k, (v, _) in kws])
        if kind in ("matmul", "dot"):
            bound = _bound(rule, e)
            a, b = bound.get(rule.params[0].name), bound.get(rule.params[1].name)
            (an, ab), (bn, bb) = self.expr(a), self.expr(b)
            return self.matmul(a, an, ab, b, bn, bb, kind)
        if kind == "flat" and len(args) == 1 and not kws:
            return _bt("flat", args[0][0])
        if kind == "outer":
            (an, ab), (bn, bb) = args[0], args[1]
            return _bt("outer", an, bn, _const(ab), _const(bb))
        if kind == "transpose":
            bound = _bound(rule, e)
            if self.is_batched(bound.get("axes", ast.Constant(None)), self.batched):
                return self.loop(e, key, args, kws)
            return _bt("transpose", self.expr(bound[rule.params[0].name])[0], *( [self.expr(bound["axes"])[0]] if "axes" in bound and not (isinstance(bound["axes"], ast.Constant) and bound["axes"].value is None) else []))
        if kind == "reshape":
            bound = _bound(rule, e)
            a = bound[rule.params[0].name]
            shape = bound.get(rule.params[1].name)
            if shape is None or self.is_batched(shape, self.batched) or len(e.args) > 2 or e.keywords:
                return self.loop(e, key, args, kws)
            return call("np.reshape", self.expr(a)[0], _bt("shape", name_node(self.n), self.expr(shape)[0]))
        if kind == "join":
            return self.join(e, key, rule, args, kws)
        if kind == "runtime":
            bound = _bound(rule, e)
            required = [p.name for p in rule.params if p.default is None]
            optional = {k: v for k, v in bound.items() if k not in required}
            if set(required) - set(bound) or any(self.is_batched(v, self.batched) for v in optional.values()):
                return self.loop(e, key, args, kws)
            done = [self.expr(bound[p]) for p in required]
            return _bt(key.split(".")[1], *[n for n, _ in done], *[_const(b) for _, b in done]) if not optional \
                else ast.Call(func=_bt_attr(key.split(".")[1]), args=[n for n, _ in done] + [_const(b) for _, b in done],
                              keywords=[ast.keyword(arg=k, value=self.expr(v)[0]) for k, v in optional.items()])
        if not rule.pure:
            raise self.refuse(e, f"{key} changes something besides its result: it has no batched form")
        return self.loop(e, key, args, kws)

    def parts_item(self, e: ast.Subscript) -> ast.expr | None:
        """`parts[k]` of a primitive that gives a list of arrays (its batched form: a list of batched
        arrays, `_bt.loop`), else None."""
        v = e.value
        inner = v if isinstance(v, ast.Call) else self.parts_def.get(v.id) if isinstance(v, ast.Name) else None
        if inner is None or not isinstance(e.slice, ast.Constant) or type(e.slice.value) is not int:
            return None
        parts = dotted(inner.func)
        rule = RULES.get(".".join(parts)) if parts else None
        if rule is None or rule.batch != "parts":
            return None
        base = self.expr(v)[0]
        return ast.Subscript(value=base, slice=clone(e.slice), ctx=ast.Load())

    def method(self, e: ast.Call) -> ast.expr:
        """A method of a batched array (kept whole in a loop's test: `x.mean()`) as the NumPy function."""
        x, name = e.func.value, e.func.attr
        if name == "astype":
            return ast.Call(func=ast.Attribute(value=self.expr(x)[0], attr="astype", ctx=ast.Load()),
                            args=[self.expr(a)[0] for a in e.args],
                            keywords=[ast.keyword(arg=k.arg, value=self.expr(k.value)[0]) for k in e.keywords])
        if name == "item" and not e.args:
            return self.call(ast.Call(func=name_node("float"), args=[x], keywords=[]))
        if name == "reshape" and len(e.args) > 1:
            e = ast.Call(func=e.func, args=[ast.Tuple(elts=list(e.args), ctx=ast.Load())], keywords=e.keywords)
        key = "np." + name
        if key not in RULES:
            raise self.refuse(e, f"the method .{name}() of a batched value has no batched form")
        return self.call(ast.Call(func=_dotted(key), args=[x] + list(e.args), keywords=list(e.keywords)))

    def arg(self, a: ast.expr) -> tuple[ast.expr, object]:
        """A call's argument: (code, batched?), a list or tuple display item by item (flags a tuple)."""
        if isinstance(a, (ast.List, ast.Tuple)):
            items = [self.arg(x) for x in a.elts]
            flags = tuple(b for _, b in items)
            return type(a)(elts=[n for n, _ in items], ctx=ast.Load()), flags if _any(flags) else False
        return self.expr(a)

    def axis_call(self, e, key, rule, args, kws, kind) -> ast.expr:
        bound = _bound(rule, e)
        first = rule.params[0].name
        others = [n for n, v in bound.items() if n != first and self.is_batched(v, self.batched)]
        if others or not self.is_batched(bound[first], self.batched):
            return self.loop(e, key, args, kws)
        x = self.expr(bound[first])[0]
        axis = bound.get("axis")
        default = next((p.default for p in rule.params if p.name == "axis"), None)
        if axis is None and default not in (None, "None"):   # np.sort, np.diff: the last axis when not given
            axis = ast.Constant(value=ast.literal_eval(default))
        new_kw = [ast.keyword(arg=k, value=self.expr(v)[0]) for k, v in bound.items() if k not in (first, "axis")
                  and not (rule.param(k).default is not None and isinstance(v, ast.Constant)
                           and repr(v.value) == rule.param(k).default)]
        func = clone(e.func)
        if axis is None or (isinstance(axis, ast.Constant) and axis.value is None):
            if kind == "reduce":
                r = self.rank(bound[first])
                ax = ast.Tuple(elts=[_const(k) for k in range(1, r + 1)], ctx=ast.Load()) if r is not None \
                    else _bt("rest", clone(x))
                if r == 1:
                    ax = _const(1)
                return ast.Call(func=func, args=[x], keywords=[ast.keyword(arg="axis", value=ax)] + new_kw)
            if kind == "arg":
                return _bt("argflat", func, x)
            return ast.Call(func=func, args=[_bt("flat", x)], keywords=[ast.keyword(arg="axis", value=_const(1))] + new_kw)
        if isinstance(axis, ast.Constant) and type(axis.value) is int:
            ax = _const(axis.value + 1 if axis.value >= 0 else axis.value)
        elif isinstance(axis, ast.Tuple) and all(isinstance(a, ast.Constant) and type(a.value) is int for a in axis.elts):
            ax = ast.Tuple(elts=[_const(a.value + 1 if a.value >= 0 else a.value) for a in axis.elts], ctx=ast.Load())
        else:
            ax = _bt("shift", self.expr(axis)[0])
        return ast.Call(func=func, args=[x], keywords=[ast.keyword(arg="axis", value=ax)] + new_kw)

    def join(self, e, key, rule, args, kws) -> ast.expr:
        """np.concatenate / np.stack of a list display with a batched item: every item lifted, the axis moved."""
        seq = e.args[0] if e.args else None
        bound = _bound(rule, e)
        if not isinstance(seq, (ast.List, ast.Tuple)) or set(bound) - {rule.params[0].name, "axis"}:
            return self.loop(e, key, args, kws)
        items = [self.expr(x) for x in seq.elts]
        axis = bound.get("axis", ast.Constant(0))
        if not (isinstance(axis, ast.Constant) and type(axis.value) is int):
            return self.loop(e, key, args, kws)
        ranks = [self.rank(x) for x in seq.elts]
        if key == "np.concatenate" and None in ranks:
            return self.loop(e, key, args, kws)
        k = axis.value
        lifted = ast.List(elts=[self.lift(n, b) for n, b in items], ctx=ast.Load())
        return ast.Call(func=clone(e.func), args=[lifted],
                        keywords=[ast.keyword(arg="axis", value=_const(k + 1 if k >= 0 else k))])

    def loop(self, e: ast.Call, key: str, args, kws) -> ast.expr:
        """A primitive with no batched form: once per example (`_bt.loop`)."""
        self.loops.append(key)
        flags = ast.Tuple(elts=[_flag(b) for _, b in args], ctx=ast.Load())
        tup = ast.Tuple(elts=[n for n, _ in args], ctx=ast.Load())
        extra = []
        if kws:
            if any(_any(b) for _, (_, b) in kws):
                raise self.refuse(e, f"a batched keyword argument of {key} is not supported")
            extra = [ast.Dict(keys=[_const(k) for k, _ in kws], values=[v for _, (v, _) in kws])]
        return _bt("loop", clone(e.func), tup, flags, *extra)

    # --- statements ------------------------------------------------------------------------------
    def block(self, body: list[ast.stmt], mask: str | None) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in body:
            self._where = origin(s) or getattr(self, "_where", None)
            out.extend(self.stmt(s, mask))
        return out

    def stmt(self, s: ast.stmt, mask: str | None) -> list[ast.stmt]:
        where = origin(s)
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            return [set_origin(a, where) for a in self.assign(s, mask)]
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript):
            return [set_origin(a, where) for a in self.setitem(s, mask)]
        if isinstance(s, ast.Expr):
            stack = stack_call(s.value, "append")
            if stack:
                v, b = self.expr(s.value.args[0])
                item = s.value.args[0]
                ranged = isinstance(item, ast.Name) and item.id in self.range_defs
                if stack in self.batched and not ranged:
                    v = self.lift(v, b)
                return [set_origin(ast.Expr(value=call(f"{stack}.append", v)), where)]
            if isinstance(s.value, ast.Constant):
                return [s]
            if is_add_at(s) and s.value.args[0].id in self.batched:
                a, index, v = s.value.args
                parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
                done = [self.arg(p) for p in parts]
                vn, bv = self.expr(v)
                args = [name_node(a.id), ast.Tuple(elts=[_slice_call(n) for n, _ in done], ctx=ast.Load()), vn,
                        ast.Tuple(elts=[_flag(b) for _, b in done], ctx=ast.Load()), _const(bv)]
                if mask is not None:
                    args.append(name_node(mask))
                return [set_origin(ast.Expr(value=_bt("add_at", *args)), where)]
            if not self.is_batched(s.value, self.batched):
                return [s]
            raise self.refuse(s, f"`{ast.unparse(s)}` changes a batched value in place: it has no batched form")
        if isinstance(s, ast.If):
            return self.if_(s, mask)
        if isinstance(s, ast.While):
            return self.while_(s, mask)
        if isinstance(s, ast.For):
            return self.for_(s, mask)
        if isinstance(s, ast.Pass):
            return [s]
        if isinstance(s, ast.Assert):
            test, bt = self.expr(s.test)
            if bt:          # every example's condition must hold (those a mask leaves out too: they ran it)
                test = call("np.all", test)
            return [set_origin(ast.Assert(test=test, msg=clone(s.msg) if s.msg else None), where)]
        if isinstance(s, (ast.Break, ast.Continue)) and self.loop_masks:
            loop = self.loop_masks[-1]
            if mask is None or mask == loop:
                return [s]                       # every example still running leaves (or skips) alike
            if loop is not None and isinstance(s, ast.Break):
                stop = ast.BinOp(left=name_node(loop), op=ast.BitAnd(), right=ast.UnaryOp(
                    op=ast.Invert(), operand=name_node(mask)))
                return [set_origin(ast.Assign(targets=[name_node(loop, True)], value=stop, lineno=0,
                                              col_offset=0), where)]
            raise self.refuse(s, f"`{ast.unparse(s)}` under a condition the examples take differently, in a loop "
                                 "they run alike, has no batched form yet")
        raise self.refuse(s, f"`{ast.unparse(s).splitlines()[0]}` has no batched form")

    def assign(self, s: ast.Assign, mask: str | None) -> list[ast.stmt]:
        v = s.targets[0].id
        value = s.value
        if _text(value):
            if mask is not None and v not in self.temps:
                raise self.refuse(s, f"`{ast.unparse(s)}` sets a string inside a branch or loop the examples take "
                                     "differently: each example would need its own")
            return [ast.Assign(targets=[name_node(v, True)], value=clone(value), lineno=0, col_offset=0)]
        if isinstance(value, (ast.Tuple, ast.List, ast.Dict)):
            self.containers[v] = value
        node, b = self.expr_or_display(value)
        if v in self.range_defs and not self._range_batched(v, self.batched):
            # the same range for every example (pushed on a stack and popped as it is)
            return [ast.Assign(targets=[name_node(v, True)], value=node, lineno=0, col_offset=0)]
        if v in self.batched and not isinstance(value, (ast.Tuple, ast.List, ast.Dict)):
            node = self.lift(node, b, copy=v in self.written)
            b = True
        if mask is not None and v in self.batched and v not in self.temps:
            base = aliasing.shares(value, self.nums, self.ranks)
            if base is not None and base != v and base in self.written:
                raise self.refuse(s, f"`{ast.unparse(s)}` makes {self.fn.user_name(v)} a view of "
                                     f"{self.fn.user_name(base)}, which is written in place, inside a branch or "
                                     "loop the examples take differently: each example would need a view of its "
                                     "own. Copy it (`.copy()`), or move it out of the branch")
            if v in self.written and v in self.viewed and self._view_hazard(v, s):
                raise self.refuse(s, f"`{ast.unparse(s)}` rebinds {self.fn.user_name(v)}, which another name views "
                                     "and which is written in place, inside a branch or loop the examples take "
                                     "differently: each example's view would need its own array. Copy the view "
                                     "(`.copy()`), or move this out of the branch")
            node = _bt("where", name_node(mask), node, name_node(v))
        return [ast.Assign(targets=[name_node(v, True)], value=node, lineno=0, col_offset=0)]

    def expr_or_display(self, value: ast.expr) -> tuple[ast.expr, bool]:
        if isinstance(value, (ast.Tuple, ast.List)):
            elts = [self.expr_or_display(x) for x in value.elts]
            return type(value)(elts=[n for n, _ in elts], ctx=ast.Load()), any(b for _, b in elts)
        if isinstance(value, ast.Dict):
            vals = [self.expr_or_display(x) for x in value.values]
            return ast.Dict(keys=[clone(k) for k in value.keys], values=[n for n, _ in vals]), any(b for _, b in vals)
        return self.expr(value)

    def setitem(self, s: ast.Assign, mask: str | None) -> list[ast.stmt]:
        t = s.targets[0]
        x = t.value.id
        if x not in self.batched:                       # nothing batched reaches it
            return [ast.Assign(targets=[self.shapes(clone(t))], value=self.expr(s.value)[0], lineno=0, col_offset=0)]
        parts = list(t.slice.elts) if isinstance(t.slice, ast.Tuple) else [t.slice]
        done = [self.slice_part(p) for p in parts]
        v, bv = self.expr(s.value)
        if any(b for _, b in done) or self._separated_advanced(parts):
            self.loops.append("setitem")
            args = [name_node(x), ast.Tuple(elts=[_slice_call(n) for n, _ in done], ctx=ast.Load()), v,
                    ast.Tuple(elts=[_const(b) for _, b in done], ctx=ast.Load()), _const(bv)]
            if mask is not None:
                args.append(name_node(mask))
            return [ast.Expr(value=_bt("setitem", *args))]
        index = [ast.Slice()] + [n for n, _ in done]
        if self._maybe_tuple(parts):
            index = [_bt("index_of", *[_slice_call(n) for n, _ in done])]
        if bv:
            rt, rv = self.rank(ast.Subscript(value=t.value, slice=t.slice, ctx=ast.Load())), self.rank(s.value)
            if rt is not None and rv is not None:
                v = _expand(v, rt - rv) if rv < rt else v
            else:
                v = _bt("fit", v, _subscript(name_node(x), [clone(i) for i in index]), _const(True))
        if mask is not None:
            old = _subscript(name_node(x), [clone(i) for i in index])
            v = _bt("where_write", name_node(mask), v, old, _const(bv))
        target = _subscript(name_node(x), index, store=True)
        return [ast.Assign(targets=[target], value=v, lineno=0, col_offset=0)]

    def _temps(self, region: list[ast.stmt], loop_test: ast.expr | None = None) -> set[str]:
        """Names a masked region assigns that need no mask: assigned only there, read nowhere else, and
        assigned before they are read in it (a temporary of one pass through the region)."""
        inside_assigned: dict[str, int] = {}
        first: dict[str, str] = {}
        for st in walk_stmts(region):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                for n in names(st.value, True):
                    first.setdefault(n, "read")
                inside_assigned[st.targets[0].id] = inside_assigned.get(st.targets[0].id, 0) + 1
                first.setdefault(st.targets[0].id, "write")
            else:
                for n in _header_names(st):
                    first.setdefault(n, "read")
                if isinstance(st, ast.For) and isinstance(st.target, ast.Name):
                    first.setdefault(st.target.id, "write")
        total = self._assign_counts
        read_outside = self._reads_outside(region)
        test_reads = names(loop_test, True) if loop_test is not None else set()
        return {v for v, k in inside_assigned.items() if first.get(v) == "write" and total.get(v, 0) == k
                and v not in read_outside and v not in test_reads and v != self.fn.result and v != self.fn.aux}

    def _reads_outside(self, region: list[ast.stmt]) -> set[str]:
        ids = {id(s) for s in walk_stmts(region)}
        out: set[str] = set()
        for st in walk_stmts(self.fn.body):
            if id(st) in ids:
                continue
            out |= _header_names(st)
        return out

    def masked_region(self, mask: str, region: list[ast.stmt], loop_test=None) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """(statements before the region (none: a masked name not assigned on every path to it starts as
        UNSET at the entry), the region's code)."""
        saved = self.temps
        self.temps = self._temps(region, loop_test)      # a temporary of an outer region may need this mask
        pre = []
        assigned = [st.targets[0].id for st in walk_stmts(region) if isinstance(st, ast.Assign)
                    and isinstance(st.targets[0], ast.Name)]
        for v in dict.fromkeys(assigned):
            if v not in self.temps and v not in self.fn.params:
                self.unset.setdefault(v, None)      # no value yet: started at the entry (on every path)
        code = self.block(region, mask)
        self.temps = saved
        return pre, code

    def new_mask(self, value: ast.expr, outer: str | None, prefix: str = "mask") -> tuple[str, ast.stmt]:
        if outer is None and isinstance(value, ast.Name):
            return value.id, ast.Pass()
        m = self.namer.fresh(prefix)
        if outer is not None:
            value = ast.BinOp(left=name_node(outer), op=ast.BitAnd(), right=value)
        return m, ast.Assign(targets=[name_node(m, True)], value=value, lineno=0, col_offset=0)

    def if_(self, s: ast.If, mask: str | None) -> list[ast.stmt]:
        where = origin(s)
        test, bt = self.expr(s.test)
        if not bt:
            body = self.block(s.body, mask) or [ast.Pass()]
            orelse = self.block(s.orelse, mask)
            return [set_origin(ast.If(test=test, body=body, orelse=orelse), where)]
        cond = self.namer.fresh("cond")
        out = [set_origin(ast.Assign(targets=[name_node(cond, True)], value=_bt("mask", test), lineno=0,
                                     col_offset=0), where)]
        arms = [(s.body, name_node(cond)), (s.orelse, ast.UnaryOp(op=ast.Invert(), operand=name_node(cond)))]
        if _pops(s.body + s.orelse) and not _pushes(s.body + s.orelse):
            arms.reverse()             # undoing what an `if` pushed: pop the other branch's first
        elif _pops(s.body + s.orelse) and _pushes(s.body + s.orelse):
            raise self.refuse(s, "a branch taken differently by the examples both pushes and pops a stack")
        for body, test_m in arms:
            if not body:
                continue
            m, st = self.new_mask(test_m, mask)
            pre, code = self.masked_region(m, body)
            # a branch no example takes is not run (its code may not even make sense for them)
            guard = set_origin(ast.If(test=call("np.any", name_node(m)), body=code or [ast.Pass()], orelse=[]), where)
            out += pre + ([] if isinstance(st, ast.Pass) else [set_origin(st, where)]) + [guard]
        return out

    def while_(self, s: ast.While, mask: str | None) -> list[ast.stmt]:
        where = origin(s)
        test, bt = self.expr(s.test)
        if not bt and self._breaks(s.body, self.batched):
            return self.alive_loop(s, mask, test)
        if not bt:
            self.loop_masks.append(mask)
            body = self.block(s.body, mask) or [ast.Pass()]
            self.loop_masks.pop()
            return [set_origin(ast.While(test=test, body=body, orelse=[]), where)]
        m, first = self.new_mask(_bt("mask", test), mask, "running")
        self.loop_masks.append(m)
        pre, code = self.masked_region(m, s.body, s.test)
        self.loop_masks.pop()
        again = ast.Assign(targets=[name_node(m, True)], value=ast.BinOp(
            left=name_node(m), op=ast.BitAnd(), right=_bt("mask", self.expr(s.test)[0])), lineno=0, col_offset=0)
        loop = ast.While(test=call("np.any", name_node(m)), body=code + [set_origin(again, where)], orelse=[])
        return pre + [set_origin(first, where), set_origin(loop, where)]

    def alive_loop(self, s, mask: str | None, head: ast.expr) -> list[ast.stmt]:
        """A loop all examples run alike but may leave at different trips (a `break` under a batched
        condition): each example runs while it has not broken out (its mask `alive`)."""
        where = origin(s)
        alive = self.namer.fresh("alive")
        start = call("np.ones", name_node(self.n), ast.Name(id="bool", ctx=ast.Load()))
        if mask is not None:
            start = ast.BinOp(left=name_node(mask), op=ast.BitAnd(), right=start)
        first = set_origin(ast.Assign(targets=[name_node(alive, True)], value=start, lineno=0, col_offset=0), where)
        self.loop_masks.append(alive)
        pre, code = self.masked_region(alive, s.body, s.test if isinstance(s, ast.While) else None)
        self.loop_masks.pop()
        leave = ast.If(test=ast.UnaryOp(op=ast.Not(), operand=call("np.any", name_node(alive))),
                       body=[ast.Break()], orelse=[])
        if isinstance(s, ast.While):
            loop = ast.While(test=head, body=code + [leave], orelse=[])
        else:
            loop = ast.For(target=s.target, iter=head, body=code + [leave], orelse=[])
        return pre + [first, set_origin(loop, where)]

    def for_(self, s: ast.For, mask: str | None) -> list[ast.stmt]:
        where = origin(s)
        it, bi = self.expr(s.iter)
        if not bi and self._breaks(s.body, self.batched):
            return self.alive_loop(s, mask, it)
        if not bi:
            self.loop_masks.append(mask)
            body = self.block(s.body, mask) or [ast.Pass()]
            self.loop_masks.pop()
            return [set_origin(ast.For(target=s.target, iter=it, body=body, orelse=[]), where)]
        if not (isinstance(s.iter, ast.Call) and dotted(s.iter.func) == ["range"] and len(s.iter.args) in (1, 2)
                and not s.iter.keywords and isinstance(s.target, ast.Name)):
            raise self.refuse(s, "a `for` loop over a batched value other than range(n) or range(a, b) has no "
                                 "batched form")
        args = [self.expr(a) for a in s.iter.args]
        start = args[0] if len(args) == 2 else (_const(0), False)
        stop = args[-1]
        count = ast.BinOp(left=self.lift(stop[0], stop[1]), op=ast.Sub(), right=start[0]) if len(args) == 2 \
            else self.lift(stop[0], stop[1])
        trips, last, j = self.namer.fresh("trips"), self.namer.fresh("longest"), self.namer.fresh("j")
        longest = ast.Call(func=name_node("int"), args=[call("np.max", name_node(trips))], keywords=[])
        longest.args[0].keywords = [ast.keyword(arg="initial", value=_const(0))]
        out = [set_origin(ast.Assign(targets=[name_node(trips, True)], value=_bt("trips", count), lineno=0,
                                     col_offset=0), where),
               set_origin(ast.Assign(targets=[name_node(last, True)], value=longest, lineno=0, col_offset=0), where)]
        step = name_node(j)
        if _pops(s.body):
            if _pushes(s.body):
                raise self.refuse(s, "a loop whose trip count differs between examples both pushes and pops")
            # undoing an earlier loop: each example takes part in the last of the trips, counting from 0
            late = ast.BinOp(left=name_node(last), op=ast.Sub(), right=name_node(trips))
            active = ast.Compare(left=name_node(j), ops=[ast.GtE()], comparators=[late])
            step = ast.BinOp(left=name_node(j), op=ast.Sub(), right=clone(late))
        else:
            active = ast.Compare(left=name_node(j), ops=[ast.Lt()], comparators=[name_node(trips)])
        m, st = self.new_mask(active, mask, "running")
        self.loop_masks.append(None)       # its mask is made again each trip: a `break` cannot clear it
        pre, code = self.masked_region(m, s.body)
        self.loop_masks.pop()
        value = ast.BinOp(left=start[0], op=ast.Add(), right=step) if not (isinstance(start[0], ast.Constant)
                                                                           and start[0].value == 0) else step
        counter = ast.Assign(targets=[name_node(s.target.id, True)], value=self.lift(
            value, start[1] or _pops(s.body)), lineno=0, col_offset=0)
        body = [set_origin(st, where), set_origin(counter, where)] + code
        return pre + out + [set_origin(ast.For(target=name_node(j, True), iter=ast.Call(
            func=name_node("range"), args=[name_node(last)], keywords=[]), body=body, orelse=[]), where)]

    # --- the whole function ----------------------------------------------------------------------
    def run(self) -> Batched:
        fn = self.fn
        self._assign_counts: dict[str, int] = {}
        for st in walk_stmts(fn.body):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                self._assign_counts[st.targets[0].id] = self._assign_counts.get(st.targets[0].id, 0) + 1
        self.temps: set[str] = set()
        entry: list[ast.stmt] = []
        for p, ax in self.axes.items():
            if ax == 0:
                continue
            entry.append(ast.Assign(targets=[name_node(p, True)], value=_bt(
                "take_axis", name_node(p), _const(ax), _const(fn.user_name(p))), lineno=0, col_offset=0))
        entry.append(ast.Assign(targets=[name_node(self.n, True)], value=_bt("size", *[name_node(p) for p in self.axes]),
                                lineno=0, col_offset=0))
        for p in fn.params:
            if p in self.axes:
                if p in self.written:
                    entry.append(ast.Assign(targets=[name_node(p, True)], value=_bt("own", name_node(p)),
                                            lineno=0, col_offset=0))
            elif p in self.batched:
                entry.append(ast.Assign(targets=[name_node(p, True)], value=self.lift(name_node(p), False,
                                        copy=p in self.written), lineno=0, col_offset=0))
        self.unset: dict[str, None] = {}
        body = self.block(fn.body, None)
        entry += [ast.Assign(targets=[name_node(v, True)], value=_bt("unset", name_node(self.n)), lineno=0,
                             col_offset=0) for v in self.unset]
        return Batched(entry + body, ast.Return(value=name_node(fn.result)), self.loops)

    def output(self, result: str, spec) -> ast.expr:
        """The return value: each leaf with its batch axis moved to its out_axes (unbatched leaves
        repeated along it, or kept as they are for None)."""
        return self._out(name_node(result), spec)

    def _out(self, node: ast.expr, spec) -> ast.expr:
        if isinstance(node, ast.Name) and node.id in self.containers:
            node = self.containers[node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            specs = spec if isinstance(spec, (tuple, list)) else [spec] * len(node.elts)
            if len(specs) != len(node.elts):
                raise ValueError(f"vmap: out_axes {spec!r} has {len(specs)} entries; the function returns "
                                 f"{len(node.elts)} values")
            return type(node)(elts=[self._out(x, sp) for x, sp in zip(node.elts, specs)], ctx=ast.Load())
        if isinstance(node, ast.Dict):
            return ast.Dict(keys=[clone(k) for k in node.keys], values=[self._out(v, spec) for v in node.values])
        if isinstance(spec, (tuple, list)):
            raise ValueError(f"vmap: out_axes {spec!r} is a tuple, the output is not")
        if isinstance(node, ast.Constant) and node.value is None:
            return clone(node)
        b = self.expr(node)[1] if not isinstance(node, ast.Name) else node.id in self.batched
        return _bt("out" if b else "unbatched_out", clone(node), _const(spec), name_node(self.n))


def _example_shape(x: ast.expr, attr: str) -> ast.expr:
    if attr == "shape":
        return _subscript(ast.Attribute(value=x, attr="shape", ctx=ast.Load()), [ast.Slice(lower=_const(1))])
    if attr == "ndim":
        return ast.BinOp(left=ast.Attribute(value=x, attr="ndim", ctx=ast.Load()), op=ast.Sub(), right=_const(1))
    return ast.Attribute(value=_subscript(x, [_const(0)]), attr="size", ctx=ast.Load())


def _slice_call(p: ast.expr) -> ast.expr:
    """An index part as an argument: `a:b` -> `slice(a, b)`."""
    if not isinstance(p, ast.Slice):
        return p
    return ast.Call(func=name_node("slice"), args=[x if x is not None else _const(None)
                                                   for x in (p.lower, p.upper, p.step)], keywords=[])


def _text(e: ast.expr) -> bool:
    return isinstance(e, ast.Constant) and isinstance(e.value, (str, bytes))


def _flag(b) -> ast.expr:
    if isinstance(b, tuple):
        return ast.Tuple(elts=[_flag(x) for x in b], ctx=ast.Load())
    return _const(b)


def _any(b) -> bool:
    return any(_any(x) for x in b) if isinstance(b, tuple) else bool(b)


def _expand(node: ast.expr, k: int) -> ast.expr:
    """`x[:, None, ...]`: k axes of length 1 after the batch axis."""
    if k <= 0:
        return node
    return _subscript(node, [ast.Slice()] + [_const(None)] * k)


def _subscript(x: ast.expr, parts: list[ast.expr], store: bool = False) -> ast.Subscript:
    sl = parts[0] if len(parts) == 1 else ast.Tuple(elts=parts, ctx=ast.Load())
    return ast.Subscript(value=x, slice=sl, ctx=ast.Store() if store else ast.Load())


def _dotted(key: str) -> ast.expr:
    return call(key).func


def _bt_attr(name: str) -> ast.expr:
    return ast.Attribute(value=name_node(BT), attr=name, ctx=ast.Load())


def _bound(rule, e: ast.Call) -> dict[str, ast.expr]:
    out = {}
    for p, a in zip(rule.params, e.args):
        out[p.name] = a
    for k in e.keywords:
        out[k.arg] = k.value
    return out


def _pops(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Call) and stack_call(n, "pop") for st in body for n in walk(st))


def _pushes(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Call) and stack_call(n, "append") for st in body for n in walk(st))


def _header_names(st: ast.stmt) -> set[str]:
    return reads(header_part(st))
