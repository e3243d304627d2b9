"""Reverse mode: the adjoint transformation of the core language.

The generated function runs a forward sweep (the user's code, plus saving the few values the
reverse sweep needs that would otherwise be overwritten) and then a reverse sweep that walks the
statements backwards, turning each primitive into the cotangent contributions of its rule.

Control flow is mirrored: an `if` is reversed by testing the same condition; a loop is reversed
by running its reversed body as many times as the forward loop ran (`for i in reversed(r)` for a
range loop, a trip counter for a `while`). Values overwritten inside loops are pushed on a plain
list (`tape`) before being overwritten and popped back in the reverse sweep: only the values the
reverse sweep reads are saved.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..analysis import aliasing
from ..analysis.activity import Activity, check_object_attributes, Analysis
from ..analysis.complexity import operands_complex
from ..ir.prim import Prim, assigned, is_add_at, assignment_counts, is_assign, is_setitem, names_read, primitive, walk_stmts
from ..ir.core import CoreFunction, is_const, origin, set_origin
from ..ir.astcopy import clone
from ..ir.nodes import push_children
from ..errors import UnsupportedSyntaxError, located
from ..passes.simplify import simplify
from ..passes.prune import has_effect, shape_arg
from ..ir.facts import Facts
from ..analysis.shapes import SCALAR, ShapeClasses
from .templates import ANS, call, drop_defaults, name_node, replace, substitute

TAPE = "tape"


def _assign(target: str | ast.expr, value: ast.expr, where=None) -> ast.Assign:
    tgt = name_node(target, True) if isinstance(target, str) else target
    node = ast.Assign(targets=[tgt], value=value, lineno=0, col_offset=0)
    return set_origin(node, where) if where else node


def _push(v: str, where) -> ast.stmt:
    return set_origin(ast.Expr(value=call(f"{TAPE}.append", name_node(v))), where)


def _pop(v: str, where) -> ast.stmt:
    return _assign(v, call(f"{TAPE}.pop"), where)


def _is_exit(s: ast.stmt) -> bool:
    """`if flag: break`, the forward-only loop exit that jumps.lower leaves at the end of a body."""
    return isinstance(s, ast.If) and len(s.body) == 1 and isinstance(s.body[0], ast.Break)


def _index_expr(slice_node: ast.expr) -> ast.expr:
    """A subscript's slice as an expression: `np.s_[...]` when it holds slices."""
    if any(isinstance(n, ast.Slice) for n in ast.walk(slice_node)):
        return ast.Subscript(value=ast.Attribute(value=name_node("np"), attr="s_", ctx=ast.Load()),
                             slice=clone(slice_node), ctx=ast.Load())
    return clone(slice_node)


def _full_reduction(prim: Prim) -> bool:
    """np.sum(x) / np.mean(x) over every axis, without keepdims: the result is a scalar."""
    def none_or(node, value):
        return node is None or isinstance(node, ast.Constant) and node.value is value
    return prim.key in ("np.sum", "np.mean") and none_or(prim.bound.get("axis"), None) \
        and none_or(prim.bound.get("keepdims"), False)




@dataclass
class _State:
    """What the reverse sweep generator knows at the current point (walking backwards)."""

    live: set[str]                     # adjoints that hold a value here
    carried: set[str] = field(default_factory=set)   # adjoints initialised before the enclosing block


class Reverse:
    """Generates the forward and reverse sweeps of one core function."""

    def __init__(self, fn: CoreFunction, wrt: list[str], act: Activity, restore: set[str],
                 loop_assigned: set[str], lazy: set[str] = frozenset(), remat: dict | None = None,
                 after_pop: dict | None = None, vectors=frozenset(), like: Reverse | None = None):
        """`like`: a generator of the same function, activity and vectors (a probe of the saving plan):
        what it found out about the function (shapes, indexed and int-like names) is reused."""
        self.fn = fn
        self.wrt = wrt
        self.act = act
        self.restore = restore
        self.loop_assigned = loop_assigned
        self.namer = fn.namer
        self.bars: dict[str, str] = {}
        self.bar_names: set[str] = set()          # self.bars' values
        self.shapes = like.shapes if like is not None else ShapeClasses(fn, vectors)
        # adjoints that may hold a scalar standing for an array of their variable's shape (the cotangent
        # of a full sum or mean, a reset to 0.0): elementwise rules broadcast it; the others get _rt.full
        self.lazy: set[str] = set(lazy)
        self.remat = remat or {}          # loop id -> statements the reverse loop recomputes
        self.after_pop = after_pop or {}  # statement id -> (v, statements recomputed once v is put back)
        self.indexed = like.indexed if like is not None else self._indexed_vars()
        # (statement's value, adjoint, whether it is lazy) -> contributions: the same in every probe
        self._contributions: dict[tuple, tuple] = like._contributions if like is not None else {}
        self.int_like = like.int_like if like is not None else self._int_like()
        self.used_tape = False
        self.underscore: str | None = None

    # --- names ---------------------------------------------------------------------------------
    def bar(self, v: str) -> str:
        if v not in self.bars:
            self.bars[v] = self.namer.exact(f"{v}_bar")
            self.bar_names.add(self.bars[v])
        return self.bars[v]

    def active(self, v: str) -> bool:
        return self.act.active(v)

    def _indexed_vars(self) -> set[str]:
        """Variables whose adjoint receives element writes (`x[i]` with x active)."""
        out = set()
        for s in walk_stmts(self.fn.body):
            if is_assign(s) and isinstance(s.value, ast.Subscript) \
                    and isinstance(s.value.value, ast.Name) and (self.active(s.targets[0].id)
                                                                 or self.active(s.value.value.id)):
                out.add(s.value.value.id)
            elif is_setitem(s) and self.active(s.targets[0].value.id):
                out.add(s.targets[0].value.id)
        return out

    def _int_like(self) -> set[str]:
        """Names that certainly hold Python ints (range counters and arithmetic on them)."""
        out = set()
        values: dict[str, list[ast.expr]] = {}        # name -> the values of its assignments
        for s in walk_stmts(self.fn.body):
            if is_assign(s):
                values.setdefault(s.targets[0].id, []).append(s.value)
        changed = True
        while changed:
            changed = False
            for s in walk_stmts(self.fn.body):
                v = None
                if isinstance(s, ast.For) and isinstance(s.iter, ast.Call) and getattr(s.iter.func, "id", "") == "range":
                    v = s.target.id
                elif is_assign(s) and self._is_int_expr(s.value, out):
                    v = s.targets[0].id
                if v and v not in out:
                    # an int-like name must be int at every assignment
                    if all(self._is_int_expr(e, out | {v}) for e in values.get(v, ())):
                        out.add(v)
                        changed = True
        return out

    def _is_int_expr(self, e, ints) -> bool:
        if isinstance(e, ast.Constant):
            return type(e.value) is int
        if isinstance(e, ast.Name):
            return e.id in ints
        if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)):
            return self._is_int_expr(e.left, ints) and self._is_int_expr(e.right, ints)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            return self._is_int_expr(e.operand, ints)
        if isinstance(e, ast.Call) and getattr(e.func, "id", None) in ("len", "int"):
            return True
        return False

    def _simple_index(self, idx: ast.expr) -> bool:
        """An index that never repeats an element: ints, int names, slices, None (a new axis) and `...`."""
        if isinstance(idx, ast.Tuple):
            return all(self._simple_index(e) for e in idx.elts)
        if isinstance(idx, ast.Slice) or isinstance(idx, ast.Constant) and (idx.value is None or idx.value is ...):
            return True
        return self._is_int_expr(idx, self.int_like)

    # --- blocks --------------------------------------------------------------------------------
    def has_reverse(self, stmts) -> bool:
        """Whether a block contains anything the reverse sweep must do."""
        for s in walk_stmts(stmts):
            if isinstance(s, ast.Assign) and any(self.active(v) or v in self.restore for v in assigned(s)):
                return True
        return False

    def contributed(self, stmts) -> set[str]:
        """Variables whose adjoints a block's reverse sweep adds to."""
        out = set()
        for s in walk_stmts(stmts):
            if is_setitem(s) and self.active(s.targets[0].value.id):
                if isinstance(s.value, ast.Name) and self.active(s.value.id):
                    out.add(s.value.id)
            elif is_assign(s) and self.active(s.targets[0].id):
                prim = primitive(s.value)
                if prim.differentiable:
                    out.update(n for _, _, n in prim.diff_args() if self.active(n))
        return out

    def exposed(self, stmts) -> set[str]:
        """Variables a block may read before it assigns them (its upward-exposed uses)."""
        defined, out = set(), set()
        for s in stmts:
            if is_assign(s):
                out |= names_read(s.value) - defined
                defined.add(s.targets[0].id)
            elif is_setitem(s):
                out |= names_read(s) - defined
            elif isinstance(s, ast.If):
                out |= (names_read(s.test) | self.exposed(s.body) | self.exposed(s.orelse)) - defined
            elif isinstance(s, (ast.While, ast.For)):
                head = s.test if isinstance(s, ast.While) else s.iter
                out |= (names_read(head) | self.exposed(s.body)) - defined
            else:
                out |= names_read(s) - defined
        return out

    def zero(self, v: str) -> ast.expr:
        return call("_rt.zeros", name_node(v)) if v in self.indexed else ast.Constant(0.0)

    def block(self, stmts: list[ast.stmt], state: _State) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """(forward sweep, reverse sweep) of a block."""
        fwd: list[ast.stmt] = []
        for s in stmts:
            fwd.extend(self.forward_stmt(s))
        rev: list[ast.stmt] = []
        for s in reversed(stmts):
            rev.extend(self.reverse_stmt(s, state))
        return fwd, rev

    def inits(self, blocks, state: _State) -> list[ast.stmt]:
        """Zero the adjoints a compound statement adds to that hold nothing yet."""
        need = set()
        for block in blocks:
            need |= self.contributed(block) & self.exposed(block)
        out = []
        for v in sorted(need - state.live):
            # 0.0 stands for zeros shaped like v (the block may not run): a rule that is not elementwise
            # and the gradient returned spread it with _rt.full; element writes need the array
            zero = self.zero(v)
            if isinstance(zero, ast.Constant):
                self.lazy.add(self.bar(v))
            out.append(_assign(self.bar(v), zero))
            state.live.add(v)
        return out

    # --- forward sweep -------------------------------------------------------------------------
    def forward_stmt(self, s: ast.stmt) -> list[ast.stmt]:
        where = origin(s)
        if is_setitem(s):
            x = s.targets[0].value.id
            out = []
            if x in self.restore:      # save the elements about to be overwritten
                self.used_tape = True
                old = ast.Subscript(value=name_node(x), slice=clone(s.targets[0].slice), ctx=ast.Load())
                out.append(set_origin(ast.Expr(value=call(f"{TAPE}.append", call("np.copy", old))), where))
            return out + [s]
        if isinstance(s, ast.Assign):
            v = s.targets[0].id
            out = []
            if v in self.restore and id(s) not in self.first_defs:
                self.used_tape = True
                out.append(_push(v, where))
            out.append(s)
            return out
        if isinstance(s, ast.If):
            if _is_exit(s):
                return [s]
            body = [x for b in s.body for x in self.forward_stmt(b)] or [ast.Pass()]
            orelse = [x for b in s.orelse for x in self.forward_stmt(b)]
            return [set_origin(ast.If(test=s.test, body=body, orelse=orelse), where)]
        if isinstance(s, ast.While):
            body = [x for b in s.body for x in self.forward_stmt(b)]
            if not self.has_reverse(s.body):
                return [set_origin(ast.While(test=s.test, body=body, orelse=[]), where)]
            n = self._counter(s)
            inc = set_origin(ast.AugAssign(target=name_node(n, True), op=ast.Add(), value=ast.Constant(1)), where)
            out = [_assign(n, ast.Constant(0), where),
                   set_origin(ast.While(test=s.test, body=[inc] + body, orelse=[]), where)]
            return out + self._save_after_loop(s, [n])
        if isinstance(s, ast.For):
            body = [x for b in s.body for x in self.forward_stmt(b)]
            if not self.has_reverse(s.body):
                return [set_origin(ast.For(target=s.target, iter=s.iter, body=body, orelse=[]), where)]
            r, n = self._range_names(s)
            out = [_assign(r, s.iter, where)]
            saved = [r]
            if n:
                inc = set_origin(ast.AugAssign(target=name_node(n, True), op=ast.Add(), value=ast.Constant(1)), where)
                body = [inc] + body
                out.append(_assign(n, ast.Constant(0), where))
                saved.append(n)
            out.append(set_origin(ast.For(target=s.target, iter=name_node(r), body=body, orelse=[]), where))
            return out + self._save_after_loop(s, saved)
        return [s]

    def _counter(self, loop) -> str:
        key = id(loop)
        if key not in self._loop_names:
            self._loop_names[key] = (None, self.namer.fresh("trips"))
        return self._loop_names[key][1]

    def _range_names(self, loop) -> tuple[str, str | None]:
        key = id(loop)
        if key not in self._loop_names:
            r = self.namer.fresh("steps")
            n = self.namer.fresh("trips") if any(_is_exit(b) for b in loop.body) else None
            self._loop_names[key] = (r, n)
        return self._loop_names[key]

    def _save_after_loop(self, loop, names) -> list[ast.stmt]:
        """A loop nested in another loop saves its trip count (and range) for the reverse sweep."""
        if id(loop) not in self.nested_loops:
            return []
        self.used_tape = True
        return [_push(n, origin(loop)) for n in names]

    # --- reverse sweep -------------------------------------------------------------------------
    def reverse_stmt(self, s: ast.stmt, state: _State) -> list[ast.stmt]:
        where = origin(s)
        if is_setitem(s):
            return self.reverse_setitem(s, state)
        if isinstance(s, ast.Assign):
            return self.reverse_assign(s, state)
        if isinstance(s, ast.If):
            if _is_exit(s) or not self.has_reverse(s.body + s.orelse):
                return []
            out = self.inits([s.body, s.orelse], state)
            inner = _State(set(state.live), carried=set(state.live))
            before = set(self.lazy)
            _, body = self.block(s.body, inner)
            after_body, self.lazy = self.lazy, before
            inner2 = _State(set(state.live), carried=set(state.live))
            _, orelse = self.block(s.orelse, inner2)
            self.lazy |= after_body               # either branch may have run
            if not body:
                body, orelse = orelse, []
                test = ast.UnaryOp(op=ast.Not(), operand=clone(s.test))
                if isinstance(s.test, ast.UnaryOp) and isinstance(s.test.op, ast.Not):
                    test = clone(s.test.operand)
            else:
                test = clone(s.test)
            out.append(set_origin(ast.If(test=test, body=body or [ast.Pass()], orelse=orelse), where))
            return out
        if isinstance(s, (ast.While, ast.For)):
            if not self.has_reverse(s.body):
                return []
            out = []
            if isinstance(s, ast.While):
                n = self._counter(s)
                if id(s) in self.nested_loops:
                    out.append(_pop(n, where))
                if self.underscore is None:
                    self.underscore = self.namer.exact("_")
                target = name_node(self.underscore, True)
                it = call("range", name_node(n))
            else:
                r, n = self._range_names(s)
                if id(s) in self.nested_loops:
                    out.extend(_pop(x, where) for x in reversed([r] + ([n] if n else [])))
                seq = name_node(r) if n is None else ast.Subscript(
                    value=name_node(r), slice=ast.Slice(upper=name_node(n)), ctx=ast.Load())
                # a range sliced backwards is a range: readable, and valid input to s2sad again
                it = ast.Subscript(value=seq, slice=ast.Slice(step=ast.UnaryOp(op=ast.USub(), operand=ast.Constant(1))),
                                   ctx=ast.Load())
                target = clone(s.target)
            for v in sorted(self.indexed & state.live):
                out.extend(self._materialize(v, where))     # once, not in every iteration
            out.extend(self.inits([s.body], state))
            inner = _State(set(state.live), carried=set(state.live))
            before = set(self.lazy)
            _, body = self.block(s.body, inner)
            self.lazy |= before                   # the loop may run no times
            body = self._recompute(s, body) + body
            out.append(set_origin(ast.For(target=target, iter=it, body=body or [ast.Pass()], orelse=[]), where))
            return out
        return []

    def _recompute(self, loop: ast.stmt, body: list[ast.stmt]) -> list[ast.stmt]:
        """The loop's rematerialized temporaries that this reverse body reads, recomputed first."""
        stmts = self.remat.get(id(loop), [])
        needed = set()
        for st in body:
            needed |= _value_reads(st)        # a shape-only read can use the value left from another iteration
        keep = []
        for st in reversed(stmts):
            if st.targets[0].id in needed:
                keep.append(st)
                needed |= names_read(st.value)
        return [clone(st) for st in reversed(keep)]

    def contributions(self, prim: Prim, target: str) -> list[tuple[str, ast.expr, tuple]]:
        """(operand, cotangent expression, path) for each active operand of `prim`: the expressions
        are the caller's to change. The probes of a saving plan share what this depends on but the
        adjoint's name and whether it is lazy: a probe keeps a copy of what it worked out for the next
        one, which takes it."""
        g = self.bar(target)
        key = (id(prim.node), g, g in self.lazy)
        found = self._contributions.pop(key, None)
        if found is not None and found[0] is prim.node:
            return found[1]
        out = self._contributions_of(prim, target, g)
        self._contributions[key] = (prim.node, [(n, clone(e), p) for n, e, p in out])
        return out

    def _contributions_of(self, prim: Prim, target: str, g: str) -> list[tuple[str, ast.expr, tuple]]:
        rule = prim.rule
        out = []
        mapping = dict(prim.bound)
        mapping["g"] = name_node(g)
        if g in self.lazy and not rule.elementwise and not _full_reduction(prim) and prim.key not in ("copy", "np.sum"):
            mapping["g"] = call("_rt.full", name_node(g), name_node(ANS))    # shaped like this statement's result
        mapping["ans"] = name_node(ANS)            # resolved by the caller: the new value may need keeping aside
        seq_parts: dict[str, ast.expr] = {}
        cx = self.fn.complex
        # complex operands: the rule's complex templates; a real operand takes the real part of what a
        # statement that touches complex values gives back (JAX's convention: analysis/complexity.py)
        complex_ = operands_complex(prim, cx)
        touched = complex_ or target in cx
        for param, path, name in prim.diff_args():
            if not self.active(name):
                continue
            tmpl = rule.template(param, complex_)
            others = [a for p2, a in prim.bound.items() if p2 != param]
            reduce = rule.elementwise and not all(is_const(a) for a in others) and not self.shapes.same(name, target)
            m = mapping
            if reduce and g in self.lazy:
                # summing onto a smaller operand counts the elements a scalar cotangent stands for
                m = dict(mapping, g=call("_rt.full", name_node(g), name_node(ANS)))
            if path:
                if param not in seq_parts:
                    seq_parts[param] = drop_defaults(simplify(substitute(tmpl, m)))
                expr = seq_parts[param]
                for k in path:
                    expr = ast.Subscript(value=expr, slice=ast.Constant(k), ctx=ast.Load())
            else:
                expr = drop_defaults(simplify(substitute(tmpl, m)))
                expr = self._lazy_reduction(prim, expr, m["g"])
            if reduce:
                expr = call("_rt.unbroadcast", expr, name_node(name))
            if touched and name not in cx:
                expr = call("np.real", expr)
            out.append((name, expr, path))
        return out

    def _lazy_reduction(self, prim: Prim, expr: ast.expr, g: ast.expr) -> ast.expr:
        """The cotangent of x in a full sum (mean) is g (g / x.size) standing for the whole array; in a
        sum along axes, a g that stands for a whole array of the result's shape stands for x's too."""
        if prim.key == "np.sum" and isinstance(g, ast.Name) and g.id in self.lazy and not _full_reduction(prim):
            new = clone(g)
            new.s2sad_lazy = True
            return new
        if not _full_reduction(prim) or not isinstance(expr, ast.Call) or len(expr.args) != 2 or expr.keywords:
            return expr
        new = clone(g) if prim.key == "np.sum" else call("_rt.mean_scale", g, expr.args[1])
        new.s2sad_lazy = True          # survives the deep copies of later substitutions
        return new

    def _is_lazy(self, expr: ast.expr, operand: str, target: str | None) -> bool:
        """Whether a contribution may be a scalar standing for an array of `operand`'s shape."""
        if getattr(expr, "s2sad_lazy", False):
            return True
        if not self.lazy:
            return False
        names = names_read(expr)
        if not names & self.lazy:
            return False
        bars = self.bar_names
        # it reads a value of the operand's (or the result's) full shape: broadcasting makes it full
        return not any(n not in bars and (self.shapes.same(n, operand) or
                                          (target is not None and self.shapes.same(n, target)))
                       for n in names)

    def _mark(self, n: str, expr: ast.expr, target: str | None, new: bool) -> None:
        """After `b = e` (new) or `b = b + e`: b may be a scalar stand-in iff e may be (and, for a sum,
        b was). Flow-sensitive along the sweep; branches and loops join their states."""
        b = self.bar(n)
        if self._is_lazy(expr, n, target) and (new or b in self.lazy):
            self.lazy.add(b)
        else:
            self.lazy.discard(b)

    def reverse_assign(self, s: ast.Assign, state: _State) -> list[ast.stmt]:
        v = s.targets[0].id
        where = origin(s)
        restore = v in self.restore and id(s) not in self.first_defs
        if not self.active(v):
            if restore:
                return [_pop(v, where)]
            return []
        prim = primitive(s.value)
        out: list[ast.stmt] = []
        if v not in state.live:
            # the output's adjoint is zero here: nothing flows back
            if restore:
                out.append(_pop(v, where))
            return out
        contribs = self.contributions(prim, v) if prim.differentiable else []
        reads: set[str] = set()         # (what is asked only of a value put back: not walked otherwise)
        self_ref = False
        if restore:
            for _, e, _ in contribs:
                reads |= names_read(e)
            self_ref = any(n == v for n, _, _ in contribs) or v in names_read(s.value)
        ans = name_node(v)
        recompute = self.after_pop.get(id(s), (None, []))[1] if restore else []
        if restore and ANS in reads and (self_ref or recompute):
            # the rule needs the new value (ans) and the old one: keep the new one aside
            ans = name_node(self.namer.fresh("ans"))
            out.append(_assign(ans.id, name_node(v), where))
        # a contribution along a path shares its expression with the other paths: copied; the others are
        # this statement's own
        contribs = [(n, substitute(e, {ANS: ans}) if p else replace(e, {ANS: ans}), p) for n, e, p in contribs]
        pop_first = restore and (self_ref or bool(recompute))
        if pop_first:
            out.append(_pop(v, where))
            # the temporaries computed from v at the start of this iteration, from the value just put back
            out.extend(clone(st) for st in recompute)
        g = self.bar(v)
        # combine repeated operands (x * x) and order: other operands first, then v itself
        combined: dict[str, ast.expr] = {}
        order = []
        for n, e, p in contribs:
            if prim.key == "getitem" and n != v:
                continue
            if n in combined:
                combined[n] = ast.BinOp(left=combined[n], op=ast.Add(), right=e)
            else:
                combined[n] = e
                order.append(n)
        if prim.key == "getitem":
            out.extend(self.scatter(prim, v, state, where))
        for n in order:
            if n == v:
                continue
            self._mark(n, combined[n], v, new=n not in state.live)
            out.extend(self.accumulate(n, combined[n], state, where))
        if v in combined:
            self._mark(v, combined[v], v, new=True)
            value = combined[v]
            if v in self.indexed and not isinstance(value, ast.BinOp):
                # its elements are written in place later: an array of its own, not one another adjoint
                # may still be (`_rt.unbroadcast(x_bar, x)` is x_bar itself, which t_bar may hold)
                value = ast.BinOp(left=call("_rt.zeros", name_node(v)), op=ast.Add(), right=value)
                self.lazy.discard(g)
            out.append(_assign(g, value, where))
        elif v in state.carried:
            zero = self.zero(v)
            if isinstance(zero, ast.Constant):
                self.lazy.add(g)
            out.append(_assign(g, zero, where))
        else:
            state.live.discard(v)
        if restore and not pop_first:
            out.append(_pop(v, where))
        return out

    def reverse_setitem(self, s: ast.Assign, state: _State) -> list[ast.stmt]:
        """x[index] = v: v receives x's cotangent at index, which is then zero (those elements were
        overwritten); the saved old elements are put back."""
        where = origin(s)
        x = s.targets[0].value.id
        idx = s.targets[0].slice
        out: list[ast.stmt] = []
        if self.active(x) and x in state.live:
            b = self.bar(x)
            out.extend(self._materialize(x, where))
            part = ast.Subscript(value=name_node(b), slice=clone(idx), ctx=ast.Load())
            v = s.value
            if isinstance(v, ast.Name) and self.active(v.id):
                if self._simple_index(idx):
                    expr = call("_rt.unbroadcast", part, name_node(v.id))
                    if v.id not in state.live and self.shapes.rep.get(v.id) != SCALAR:
                        # x_bar's elements are zeroed next: a row (x_bar[1] of a 2-D x) must not stay a view
                        expr = call("np.copy", expr)
                else:
                    # an index that may repeat an element (x[[0, 0, 1]] = v): only the write that landed counts
                    expr = call("_rt.assigned_grad", name_node(b), name_node(x), _index_expr(idx), name_node(v.id))
                if x in self.fn.complex and v.id not in self.fn.complex:
                    expr = call("np.real", expr)      # a real value written into a complex array
                out.extend(self.accumulate(v.id, expr, state, where))
            zero = ast.Subscript(value=name_node(b), slice=clone(idx), ctx=ast.Store())
            out.append(_assign(zero, ast.Constant(0.0), where))
        if x in self.restore:
            target = ast.Subscript(value=name_node(x), slice=clone(idx), ctx=ast.Store())
            out.append(_assign(target, call(f"{TAPE}.pop"), where))
        return out

    def accumulate(self, n: str, expr: ast.expr, state: _State, where) -> list[ast.stmt]:
        b = self.bar(n)
        if n in state.live:
            return [_assign(b, ast.BinOp(left=name_node(b), op=ast.Add(), right=expr), where)]
        state.live.add(n)
        if n in self.indexed:
            self.lazy.discard(b)              # an array of its own: element writes can go into it
            return [_assign(b, ast.BinOp(left=call("_rt.zeros", name_node(n)), op=ast.Add(), right=expr), where)]
        return [_assign(b, expr, where)]

    def _materialize(self, n: str, where) -> list[ast.stmt]:
        """Before element writes into n's adjoint: an array of its own, if it may be a scalar stand-in."""
        b = self.bar(n)
        if b not in self.lazy:
            return []
        self.lazy.discard(b)
        return [_assign(b, ast.BinOp(left=call("_rt.zeros", name_node(n)), op=ast.Add(), right=name_node(b)), where)]

    def scatter(self, prim: Prim, v: str, state: _State, where) -> list[ast.stmt]:
        """x[index] -> add the cotangent into the elements of x's adjoint."""
        x = prim.bound["x"]
        if not (isinstance(x, ast.Name) and self.active(x.id)) or x.id == v:
            return []            # v = v[index]: the rule's getitem_grad builds the old v's cotangent
        n = x.id
        b = self.bar(n)
        out = []
        if n not in state.live:
            out.append(_assign(b, call("_rt.zeros", name_node(n)), where))
            state.live.add(n)
        else:
            out.extend(self._materialize(n, where))
        idx = prim.bound["index"]
        g = name_node(self.bar(v))
        if self._simple_index(idx):
            target = ast.Subscript(value=name_node(b), slice=clone(idx), ctx=ast.Store())
            out.append(set_origin(ast.AugAssign(target=target, op=ast.Add(), value=g, lineno=0, col_offset=0), where))
        else:
            out.append(set_origin(ast.Expr(value=call("np.add.at", name_node(b), _index_expr(idx), g)), where))
        return out

    # --- the whole function --------------------------------------------------------------------
    def run(self) -> tuple[list[ast.stmt], list[ast.stmt], list[ast.expr]]:
        self._loop_names: dict[int, tuple] = {}
        self.nested_loops = _nested_loops(self.fn.body)
        fn = self.fn
        # a variable's first assignment at the top level overwrites nothing: nothing to save
        self.first_defs = set()
        seen = set(fn.params)
        top = {id(s) for s in fn.body}
        for s in walk_stmts(fn.body):
            for v in assigned(s):
                if v not in seen and id(s) in top:
                    self.first_defs.add(id(s))
                seen.add(v)
        state = _State(live=set())
        seed = []
        if self.active(fn.result):
            seed = [_assign(self.bar(fn.result), name_node("out_bar"))]
            state.live.add(fn.result)
        fwd, rev = self.block(fn.body, state)
        grads = []
        for p in self.wrt:
            if p not in state.live:
                grads.append(call("_rt.zeros", name_node(p)))
            elif self.bar(p) in self.lazy:
                grads.append(call("_rt.full", name_node(self.bar(p)), name_node(p)))
            else:
                grads.append(name_node(self.bar(p)))
        return fwd, seed + rev, grads


@dataclass
class Sweeps:
    """A gradient function's body before the clean-up passes: the set-up, the forward sweep, the reverse
    sweep and the return, with what those passes need to know."""

    pre: list[ast.stmt]
    fwd: list[ast.stmt]
    rev: list[ast.stmt]
    ret: ast.Return
    facts: Facts
    saved: list[str]                  # the values the forward sweep saves for the reverse sweep
    adjoints: dict[str, str]          # variable -> its cotangent's name
    shapes: ShapeClasses
    recomputed: set[str]              # temporaries the reverse sweep recomputes itself


def check(fn: CoreFunction, act: Activity, kinds: aliasing.ArgKinds | None = None) -> None:
    """Refuse what reverse mode cannot differentiate correctly (each refusal names the user's line):
    appending active values to lists, np.add.at, in-place writes into what an argument may share."""
    check_object_attributes(fn, act, fn.src.filename, origin)
    _reject_active_lists(fn, act)
    _reject_add_at(fn)
    aliasing.check_in_place(fn.body, fn.params, kinds, fn.src.filename, origin, spell=fn.user_name)
    aliasing.check_writes(fn.body, fn.params, lambda n: n in act.varied, kinds, fn.src.filename, origin,
                          spell=fn.user_name)


def reverse(fn: CoreFunction, info: Analysis, wrt: list[str], single: bool = True, value: bool = True,
            vectors=frozenset(), kinds: aliasing.ArgKinds | None = None) -> Sweeps:
    """The gradient function of `fn` with respect to the parameters `wrt` (`info`: analyze(fn, wrt)).

    With `value=False` and an output that is certainly a scalar, the value is not returned (None): the
    prune pass then removes what only computed it. `vectors`: parameters the code may assume 1-D (the
    caller checks it on every call), so that their elements are scalars. `kinds`: what the arguments
    are, when the function writes in place into a value it may share with one (aliasing.py)."""
    act = info.activity
    namer_state = fn.namer.copy()
    for_targets = {s.target.id for s in walk_stmts(fn.body) if isinstance(s, ast.For)}
    remat = _rematerializable(fn, vectors)
    recomputed = {st.targets[0].id for stmts in remat.values() for st in stmts}
    overwritten = (info.loop_assigned | info.multi_assigned) - for_targets - recomputed
    views = aliasing.view_bases(fn.body, fn.params, kinds) if aliasing.writes_in_place(fn.body) else {}
    plan = _saved(fn, wrt, act, info, overwritten, remat, {}, set(), namer_state, vectors, views)
    restore = plan.restore
    carried = _carried_remat(fn, remat, vectors)
    after_pop = {}
    for sid, (v, stmts) in carried.items():
        temps = {st.targets[0].id for st in stmts}
        if temps <= restore:               # they are saved now: save v instead, recompute them from it
            after_pop[sid] = (v, stmts)
    if after_pop:
        moved = {st.targets[0].id for _, stmts in after_pop.values() for st in stmts}
        forced = {v for v, _ in after_pop.values()}
        plan = _saved(fn, wrt, act, info, overwritten - moved, remat, after_pop, forced, namer_state,
                      vectors, views, plan.gen)
        restore = plan.restore
        recomputed |= moved
    if plan.gen is not None:           # the last probe ran with exactly this plan: its sweeps are the result
        gen = plan.gen
        fn.namer = gen.namer
        fwd, rev, grads = plan.sweeps
    else:
        fn.namer = namer_state
        gen = Reverse(fn, wrt, act, restore, info.loop_assigned, plan.lazy, remat, after_pop, vectors)
        fwd, rev, grads = gen.run()
    pre = []
    if gen.used_tape:
        pre.append(_assign(TAPE, ast.List(elts=[], ctx=ast.Load())))
    pre.extend(_assign(v, ast.Constant(None)) for v in sorted(_maybe_undefined(fn, restore)))
    outs = [fn.result] if fn.aux is None else [fn.result, fn.aux]
    for i, v in enumerate(outs):
        if v in restore:
            # the reverse sweep puts v's old values back: keep the returned value aside first
            kept = fn.namer.exact("result" if i == 0 else "aux")
            fwd.append(_assign(kept, name_node(v)))
            outs[i] = kept
    # the value can go when the output is certainly a scalar (a full reduction), or has the shape of a
    # parameter (x = x * 0.99 in a loop): then the caller checks that parameter is a scalar instead
    rep = gen.shapes.rep.get(fn.result)
    shaped_like = next((p for p in fn.params if rep == "#" + p), None)
    drop = not value and (rep == SCALAR or shaped_like is not None)
    first = ast.Constant(None) if drop else name_node(outs[0])
    value_node = first if fn.aux is None else ast.Tuple(elts=[first, name_node(outs[1])], ctx=ast.Load())
    grad_value = grads[0] if single else ast.Tuple(elts=grads, ctx=ast.Load())
    ret = ast.Return(value=ast.Tuple(elts=[value_node, grad_value], ctx=ast.Load()))
    facts = Facts(active_output=act.active(fn.result), value=not drop,
                  scalar_if=shaped_like if drop and rep != SCALAR else None, scalar_output=rep == SCALAR,
                  indexed=sorted(gen.shapes.indexed & _read_in_loops(fn)))
    return Sweeps(pre, fwd, rev, ret, facts, sorted(restore), dict(gen.bars), gen.shapes, recomputed)


def _loop_index(loop: ast.stmt) -> str | None:
    return loop.target.id if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) else None


def _cheap_temporary(st: ast.stmt, counts: dict[str, int], vectors=frozenset()) -> str | None:
    """The name `st` binds when it is a temporary worth recomputing rather than saving: assigned once in
    the whole function by cheap arithmetic (not indexing, which costs more than saving the element, but
    for an element of a 1-D parameter), with no effect (the tape, a user's function with rules,
    recursion)."""
    if not (is_assign(st) and isinstance(st.targets[0], ast.Name)) or is_setitem(st) or has_effect(st):
        return None
    t = st.targets[0].id
    prim = primitive(st.value)
    if counts.get(t) != 1 or prim.rule is None:
        return None
    if prim.key == "getitem":
        x, index = prim.bound.get("x"), prim.bound.get("index")
        if not (isinstance(x, ast.Name) and x.id in vectors and counts.get(x.id) == 1
                and not isinstance(index, (ast.Slice, ast.Tuple, ast.List))):
            return None
    return t


def _rematerializable(fn: CoreFunction, vectors=frozenset()) -> dict[int, list[ast.stmt]]:
    """Per loop, the temporaries of its body that the reverse loop can recompute instead of saving: cheap
    temporaries at the top of the body computed from constants, the loop's index, values the loop does
    not change and other such temporaries (`t1 = x * i; t2 = t1 * 1e-6`)."""
    counts = assignment_counts(fn.params, fn.body)
    out = {}
    for loop in walk_stmts(fn.body):
        if not isinstance(loop, (ast.For, ast.While)):
            continue
        changed = {v for st in walk_stmts(loop.body) for v in assigned(st)}
        index = _loop_index(loop)
        names, stmts = set(), []
        for st in loop.body:
            t = _cheap_temporary(st, counts, vectors)
            if t is None or t == index:
                continue
            if all(r == index or r not in changed or r in names for r in names_read(st.value)):
                names.add(t)
                stmts.append(st)
        if stmts:
            out[id(loop)] = stmts
    return out


@dataclass
class _Plan:
    """The saving plan `_saved` settled on: what is saved, which adjoints may be scalar stand-ins, and
    the generator that last ran with exactly this plan, with its sweeps (None if the plan did not settle)."""

    restore: set[str]
    lazy: set[str]
    gen: Reverse | None = None
    sweeps: tuple | None = None


def _saved(fn, wrt, act, info, overwritten, remat, after_pop, forced, namer_state,
           vectors=frozenset(), views=None, like: Reverse | None = None) -> _Plan:
    """What the forward sweep must save (and which adjoints may be scalar stand-ins): what the reverse
    sweep reads after it was overwritten, and the arrays that a view it reads shares (`t = H[i]`, then
    `H[i] = ...`: H's overwritten elements are saved and put back, so that t reads as it was). Saving a
    value can make the sweep read more (the test of an `if` that now has work to do), so iterate to a
    fixed point. `like`: an earlier generator of `fn`, whose facts about the function are reused."""
    views = views or {}
    viewers: dict[str, set[str]] = {}          # a name -> the names that may be views of it
    for n, bases in views.items():
        for b in bases:
            viewers.setdefault(b, set()).add(n)
    restore: set[str] = set(forced)
    lazy: set[str] = set()
    for _ in range(20):
        fn.namer = namer_state.copy()
        probe = Reverse(fn, wrt, act, restore, info.loop_assigned, lazy, remat, after_pop, vectors, like)
        like = probe
        sweeps = probe.run()
        rev = sweeps[1]
        grown = probe.lazy - lazy
        lazy |= probe.lazy
        generated = set(probe.bars.values())
        read = set()
        # a shape-only read takes any value of the variable to do, unless its assignments may differ in
        # shape (v2 = np.sin(v1) then v2 += np.sin(v0); a loop's t = x[:i + 1]) or it is the returned
        # variable, which SSA keeps
        strict = ({fn.result, fn.aux} & info.multi_assigned - info.loop_assigned) \
            | {v for v in info.multi_assigned if probe.shapes.rep.get(v, "?") is None} \
            | {v for v in info.loop_assigned if not probe.shapes.steady(v, info.loop_assigned)}
        for s in rev:
            read |= _value_reads(s, strict)
        # a value read shares memory with its bases and with their other views (`v = t` then `v[0] = ...`:
        # reading t sees the write into v, so v's overwritten elements are put back first)
        bases = {b for r in read for b in views.get(r, ())}
        read |= bases | {n for r in read | bases for n in viewers.get(r, ())}
        new = ((read - generated) & overwritten) | restore
        if new == restore and not grown:
            fn.namer = namer_state
            return _Plan(restore, lazy, probe, sweeps)
        restore = new
    fn.namer = namer_state
    return _Plan(restore, lazy)


def _carried_remat(fn: CoreFunction, remat: dict, vectors=frozenset()) -> dict[int, tuple[str, list[ast.stmt]]]:
    """Per statement `v = ...` that is the only assignment of a loop-carried v in its loop body: the cheap
    temporaries before it computed from v's value at the start of the iteration (and the index, values
    the loop does not change, other such temporaries): `t1 = 4 * l; t2 = 1 - l; l = t1 * t2`. Saving v
    and recomputing them after v is put back costs one saved value instead of several."""
    counts = assignment_counts(fn.params, fn.body)
    already = {st.targets[0].id for stmts in remat.values() for st in stmts}
    out = {}
    for loop in walk_stmts(fn.body):
        if not isinstance(loop, (ast.For, ast.While)):
            continue
        inner = [v for st in walk_stmts(loop.body) for v in assigned(st)]
        changed = set(inner)
        index = _loop_index(loop)
        for k, sv in enumerate(loop.body):
            if not (is_assign(sv) and isinstance(sv.targets[0], ast.Name)) or is_setitem(sv):
                continue
            v = sv.targets[0].id
            if inner.count(v) != 1:
                continue
            names, stmts = set(), []
            for st in loop.body[:k]:
                t = _cheap_temporary(st, counts, vectors)
                if t is None or t in already or t == index:
                    continue
                reads = names_read(st.value)
                if v in reads and all(r == index or r == v or r not in changed or r in names for r in reads):
                    names.add(t)
                    stmts.append(st)
            if len(stmts) >= 2:
                out[id(sv)] = (v, stmts)
    return out


def _reject_add_at(fn: CoreFunction) -> None:
    """np.add.at changes an array in place, which the reverse sweep cannot undo: refused in reverse mode
    (forward mode, over generated gradients, differentiates it)."""
    for s in walk_stmts(fn.body):
        if is_add_at(s):
            where = origin(s) or (fn.src.filename, None)
            raise UnsupportedSyntaxError(located(
                where[0], where[1], None,
                "np.add.at changes an array in place, which s2sad does not differentiate in reverse mode: "
                "add in a loop on a copy (`a = a.copy()` then `for k in range(len(i)): a[i[k]] += v[k]`)"))


def _reject_active_lists(fn: CoreFunction, act: Activity) -> None:
    """A Python list that collects differentiated values (`out.append(x * i)`) has no reverse rule yet:
    say so, rather than give a gradient that misses what went through the list."""
    for s in walk_stmts(fn.body):
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute) \
                and s.value.func.attr in ("append", "extend", "insert") and s.value.args \
                and any(isinstance(a, ast.Name) and act.active(a.id) for a in s.value.args):
            where = origin(s) or (fn.src.filename, None)
            raise UnsupportedSyntaxError(located(
                where[0], where[1], None,
                f"appending a differentiated value to a Python list ({ast.unparse(s.value.func)}) is supported "
                "when the list is read by its last items (`out[-1]`), its length, or whole (np.stack, np.array, "
                "np.concatenate, sum, np.sum, np.mean), and no item is changed in place after it is appended; "
                "this one is used otherwise: fill an array instead (`out = np.zeros((n, m))` then "
                "`out[i] = ...`), or build the list in one expression (`np.stack([f(w) for w in ws])`)"))


def _read_in_loops(fn: CoreFunction) -> set[str]:
    """Arrays indexed (`x[i]`) inside a loop body: where knowing that an element is a number pays."""
    out = set()
    for loop in walk_stmts(fn.body):
        if isinstance(loop, (ast.For, ast.While)):
            for st in walk_stmts(loop.body):
                if is_assign(st) and isinstance(st.value, ast.Subscript) and isinstance(st.value.value, ast.Name):
                    out.add(st.value.value.id)
    return out


def _value_reads(node: ast.AST, strict=frozenset()) -> set[str]:
    """Names whose values the reverse sweep reads. The runtime helpers whose rules have a shape_arg read only a shape
    (`_rt.unbroadcast(g, x)`, `_rt.zeros(x)`), which s2sad takes to be the same in every iteration of a
    loop and across the assignments of one variable: x is not saved for them, unless it is in `strict`
    (a variable whose assignments may differ in shape, or a returned variable assigned again in
    straight-line code, which SSA does not rename: `v0 = np.sin(x); v1 = np.mean(v0); v0 = np.sin(v1)`)."""
    out = set()
    todo = [node]
    while todo:
        n = todo.pop()
        if type(n) is ast.Name:
            if type(n.ctx) is ast.Load:
                out.add(n.id)
            continue
        skip = shape_arg(n) if type(n) is ast.Call else None
        if skip is not None and skip.id not in strict:
            todo.extend(a for a in n.args if a is not skip)
            todo.extend(k.value for k in n.keywords)
            continue
        push_children(n, todo)
    return out


def _maybe_undefined(fn: CoreFunction, restore: set[str]) -> set[str]:
    """Saved variables whose first assignment is inside a loop or a branch: they may not exist yet
    when first saved, so they start as None."""
    first: dict[str, bool] = {}
    _first_assignments(fn.body, False, first)
    return {v for v in restore if first.get(v, False) and v not in fn.params}


# (The recursive walks below are functions of the module, not closures: a closure that calls itself is a
# reference cycle, which would keep what it sees (the generator, the code) alive until the cycle
# collector's next pass, and that pass, over a transform's millions of nodes, is slow.)
def _first_assignments(body: list[ast.stmt], nested: bool, first: dict[str, bool]) -> None:
    """For each variable assigned in `body`, in order: whether its first assignment is nested."""
    for s in body:
        for v in assigned(s):
            first.setdefault(v, nested)
        if isinstance(s, (ast.While, ast.For, ast.If)):
            _first_assignments(s.body, True, first)
            _first_assignments(getattr(s, "orelse", []), True, first)


def _nested_loops(body: list[ast.stmt], depth: int = 0, out: set[int] | None = None) -> set[int]:
    """The ids of the loops in `body` that sit inside another loop."""
    out = set() if out is None else out
    for s in body:
        if isinstance(s, (ast.While, ast.For)):
            if depth:
                out.add(id(s))
            _nested_loops(s.body, depth + 1, out)
        elif isinstance(s, ast.If):
            _nested_loops(s.body, depth, out)
            _nested_loops(s.orelse, depth, out)
    return out
