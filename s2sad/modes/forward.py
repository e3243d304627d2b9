"""Forward mode: the tangent transformation of the core language.

Each active assignment `v = prim(args)` is followed by `v_dot = <tangent>`, built from the same rules
table as reverse mode (an elementwise rule is linear in its cotangent, so its template with the
tangent in place of `g` is the forward rule; a linear primitive is applied to the tangent). Control
flow is kept as it is: forward mode needs no stack of its own. A list used as a stack (`tape` in
generated reverse code) carries each value's tangent right after the value, so forward mode also
runs on s2sad's own generated code: that is how Hessians and `grad(grad(f))` are built.
"""
from __future__ import annotations

import ast

from ..analysis import aliasing
from ..analysis.activity import Activity, check_object_attributes
from ..analysis.complexity import operands_complex
from ..ir.facts import Facts
from ..ir.prim import Prim, is_add_at, is_assign, is_setitem, names_read, primitive, walk_stmts
from ..ir.core import CoreFunction, is_const, origin, set_origin
from ..ir.astcopy import clone
from ..errors import UnsupportedSyntaxError, located
from ..passes.simplify import simplify
from ..analysis.shapes import ShapeClasses
from .templates import ANS, call, drop_defaults, name_node, substitute
from ..ir.nodes import walk, walk_in_order


def _assign(target, value, where):
    tgt = name_node(target, True) if isinstance(target, str) else target
    node = ast.Assign(targets=[tgt], value=value, lineno=0, col_offset=0)
    return set_origin(node, where) if where else node


def stack_call(value: ast.expr, method: str) -> str | None:
    """`T.pop()` / `T.append(x)`: the stack's name, or None."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == method \
            and isinstance(value.func.value, ast.Name):
        return value.func.value.id
    return None


class Forward:
    """Generates the tangent (JVP) code of one core function."""

    def __init__(self, fn: CoreFunction, wrt: list[str], act: Activity, stacks: set[str]):
        self.fn = fn
        self.wrt = wrt
        self.act = act
        self.stacks = stacks            # stacks whose values carry tangents
        self.namer = fn.namer
        self.dots: dict[str, str] = {}
        # names whose tangents are written in place (x[i] = v, np.add.at(x, i, v)): arrays of their own
        self.written = {s.targets[0].value.id for s in walk_stmts(fn.body) if is_setitem(s)} \
            | {s.value.args[0].id for s in walk_stmts(fn.body) if is_add_at(s)}
        # and the names that may be views of those (`t1 = v2[:, 1]`, then `v2[1] = ...`): their memory
        # changes with it, and so does their tangent's, a view of v2_dot's
        views = aliasing.view_bases(fn.body, fn.params, None) if self.written else {}
        self.changed = self.written | {n for n, bases in views.items() if bases & self.written}
        self.shapes = ShapeClasses(fn)

    def dot(self, v: str) -> str:
        if v not in self.dots:
            self.dots[v] = self.namer.exact(f"{v}_dot")
        return self.dots[v]

    def active(self, v: str) -> bool:
        return self.act.active(v)

    def tangent_of(self, atom: ast.expr) -> ast.expr:
        if isinstance(atom, ast.Name) and self.active(atom.id):
            return name_node(self.dot(atom.id))
        return ast.Constant(0.0)

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s: ast.stmt) -> list[ast.stmt]:
        where = origin(s)
        if isinstance(s, ast.If):
            return [set_origin(ast.If(test=s.test, body=self.block(s.body) or [ast.Pass()],
                                      orelse=self.block(s.orelse)), where)]
        if isinstance(s, ast.While):
            return [set_origin(ast.While(test=s.test, body=self.block(s.body), orelse=[]), where)]
        if isinstance(s, ast.For):
            return [set_origin(ast.For(target=s.target, iter=s.iter, body=self.block(s.body), orelse=[]), where)]
        if isinstance(s, ast.Expr):
            stack = stack_call(s.value, "append")
            if stack in self.stacks:       # the value, then its tangent
                arg = s.value.args[0]
                push = call(f"{stack}.append", self.tangent_of(arg))
                return [s, set_origin(ast.Expr(value=push), where)]
            if is_add_at(s):               # np.add.at(a, index, v): a's tangent gets v's at index
                a, index, v = s.value.args
                if self.active(a.id) and isinstance(v, ast.Name) and self.active(v.id):
                    add = call("np.add.at", name_node(self.dot(a.id)), clone(index), name_node(self.dot(v.id)))
                    return [s, set_origin(ast.Expr(value=add), where)]
            return [s]
        if is_setitem(s):
            x = s.targets[0].value.id
            if not self.active(x):
                return [s]
            target = ast.Subscript(value=name_node(self.dot(x)), slice=clone(s.targets[0].slice), ctx=ast.Store())
            write = _assign(target, self.tangent_of(s.value), where)
            if getattr(s, "s2sad_augmented", False):      # `x[i] += e`: so is its tangent's (fuse.py)
                write.s2sad_augmented = True
            return [s, write]
        if is_assign(s):
            return self.assign(s)
        return [s]

    def assign(self, s: ast.Assign) -> list[ast.stmt]:
        v = s.targets[0].id
        where = origin(s)
        stack = stack_call(s.value, "pop")
        if stack in self.stacks:           # the tangent was pushed last: it comes off first
            pop = call(f"{stack}.pop")
            first = _assign(self.dot(v), pop, where) if self.active(v) else set_origin(ast.Expr(value=pop), where)
            return [first, s]
        if not self.active(v):
            return [s]
        prim = primitive(s.value)
        reads_self = v in names_read(s.value)
        # v = f(..., v, ...): the tangent reads the old v (as an operand) and the new one (as `ans`)
        expr = self.tangent(prim, ANS if reads_self else v)
        if expr is None:
            # (the tangent of `v = _rt.zeros(a)` is `_rt.zeros(a)` too: it does not read v, which can go
            # when only its tangent is returned)
            zero = clone(s.value) if prim.key == "_rt.zeros" else call("_rt.zeros", name_node(v))
            return [s, _assign(self.dot(v), zero, where)]
        operands = {n for _, _, n in prim.diff_args()} if prim.rule is not None else set()
        # v's tangent is an array of its own when v is written in place later, and when it would be another
        # tangent itself (`v7 = z6 + 0.5` gives `v7_dot = z6_dot`) whose array is written in place later,
        # directly or through the array it views (`z6[2] = ...` would change v7's tangent too, while v7
        # keeps its value)
        own = v in self.written or (isinstance(expr, ast.Name)
                                    and any(expr.id == self.dots.get(n) for n in operands & self.changed))
        if reads_self:
            old = self.namer.fresh("old")
            expr = substitute(substitute(expr, {v: name_node(old)}), {ANS: name_node(v)})
            pre = [_assign(old, name_node(v), where), s]
        else:
            pre = [s]
        if own:
            expr = call("_rt.owned", expr, name_node(v))
        elif prim.rule.elementwise and not all(is_const(a) for a in prim.bound.values()) and len(prim.bound) > 1 \
                and not all(self.shapes.same(n, v) for n in operands) \
                and (reads_self or not self._spans(expr, prim, v)):
            expr = call("_rt.tangent_like", expr, name_node(v))
        return pre + [_assign(self.dot(v), expr, where)]

    def _spans(self, expr: ast.expr, prim: Prim, v: str) -> bool:
        """The tangent `expr` of `v = prim(...)` (elementwise) has v's shape as it is: it is arithmetic
        (no call) and reads v, or each operand of prim or that operand's tangent (which has the
        operand's shape), so it broadcasts as v did."""
        primal = {d: n for n, d in self.dots.items()}
        seen = set()
        for node in walk(expr):
            if type(node) is ast.Name:
                seen.add(primal.get(node.id, node.id))
            elif type(node) not in (ast.BinOp, ast.UnaryOp, ast.Constant):
                return False
        operands = {a.id for a in prim.bound.values() if isinstance(a, ast.Name)}
        return v in seen or operands <= seen

    def tangent(self, prim: Prim, v: str) -> ast.expr | None:
        """The tangent of `v = prim(...)`, or None when it is zero; `ans` is read as `v`."""
        if not prim.differentiable:
            return None
        rule = prim.rule
        args = [(p, path, n) for p, path, n in prim.diff_args() if self.active(n)]
        if not args:
            return None
        mapping = dict(prim.bound)
        mapping["ans"] = name_node(v)
        if rule.linear and not rule.forward:
            if rule.cast:       # to an integer type: zero
                return call("_rt.cast_grad", self.linear(prim), name_node(v))
            return self.linear(prim)
        terms = []
        complex_ = operands_complex(prim, self.fn.complex)
        for param in dict.fromkeys(p for p, _, _ in args):
            if prim.rule.param(param).sequence:
                raise ValueError(f"no forward rule for a list argument of {prim.key}")
            tmpl = rule.tangent_template(param, complex_)
            m = dict(mapping)
            m["t"] = self.tangent_of(prim.bound[param])
            terms.append(drop_defaults(simplify(substitute(tmpl, m))))
        expr = terms[0]
        for t in terms[1:]:
            expr = ast.BinOp(left=expr, op=ast.Add(), right=t)
        return expr

    def _linear_argument(self, a: ast.expr) -> ast.expr:
        """What a linear primitive reads in place of its argument `a`: the tangent of a name, zeros for a
        literal or a constant array, a list of those for a list."""
        if isinstance(a, ast.Name):
            return name_node(self.dot(a.id)) if self.active(a.id) else call("_rt.zeros", a)
        if isinstance(a, (ast.List, ast.Tuple)):
            return type(a)(elts=[self._linear_argument(e) for e in a.elts], ctx=ast.Load())
        if isinstance(a, ast.Constant) and type(a.value) in (int, float, bool):
            return ast.Constant(0.0)                 # a literal: its tangent is zero
        return call("_rt.zeros", a)                 # a constant array: zeros of its shape

    def linear(self, prim: Prim) -> ast.expr:
        """A linear primitive applied to the tangents of its differentiable arguments."""
        node = clone(prim.node)
        diff = set(prim.rule.reverse)
        swap = self._linear_argument
        if isinstance(node, ast.Subscript):
            node.value = swap(node.value)
            return node
        if isinstance(node, ast.Name) or isinstance(node, ast.Constant):
            return swap(node)
        if isinstance(node, ast.Call):
            params = prim.rule.params
            for i, a in enumerate(node.args):
                if i < len(params) and params[i].name in diff:
                    node.args[i] = swap(a)
            for k in node.keywords:
                if k.arg in diff:
                    k.value = swap(k.value)
            return node
        raise ValueError(f"no forward rule for {prim.key}")


def stacks_carrying_tangents(fn: CoreFunction, act: Activity) -> set[str]:
    """Stacks (lists used with append/pop) onto which some active value is pushed."""
    out = set()
    for s in walk_stmts(fn.body):
        if isinstance(s, ast.Expr):
            stack = stack_call(s.value, "append")
            arg = s.value.args[0] if stack else None
            if stack and isinstance(arg, ast.Name) and act.varied.__contains__(arg.id):
                out.add(stack)
    return out


def _only_a_stack(fn: CoreFunction, name: str) -> bool:
    """Whether list `name` is only appended to and popped from (as s2sad's own tape is): then its
    tangents can ride along, pushed after each value."""
    nodes = walk_in_order(ast.Module(body=fn.body, type_ignores=[]))
    receivers = {id(c.func.value) for c in nodes if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                 and c.func.attr in ("append", "pop")}
    return all(id(n) in receivers for n in nodes
               if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))


def check(fn: CoreFunction, act: Activity, kinds: aliasing.ArgKinds | None = None, views: bool = True) -> None:
    """Refuse what forward mode cannot differentiate correctly (each refusal names the user's line):
    in-place writes into what an argument may share, differentiated values appended to a list that is
    more than a stack of saved values. `views`: whether the backend's slices share memory with their
    base (dask's do not: a write into an array a view of it is read after is refused, as in reverse mode,
    since NumPy would show it through the view and dask would not)."""
    check_object_attributes(fn, act, fn.src.filename, origin)
    aliasing.check_in_place(fn.body, fn.params, kinds, fn.src.filename, origin, spell=fn.user_name)
    # (varied, not active: a view's writes reach its base, which the activity analysis does not follow,
    # so a view written with varied values may look useless while the base it changes is read)
    aliasing.check_writes(fn.body, fn.params, lambda n: n in act.varied, kinds, fn.src.filename, origin,
                          forward=views, spell=fn.user_name)
    for name in sorted(stacks_carrying_tangents(fn, act)):
        if not _only_a_stack(fn, name):
            s = next(s for s in walk_stmts(fn.body) if isinstance(s, ast.Expr) and stack_call(s.value, "append") == name)
            where = origin(s) or (fn.src.filename, None)
            raise UnsupportedSyntaxError(located(
                where[0], where[1], None,
                f"appending a differentiated value to a Python list ({name}.append) is supported when the list "
                "is read by its last items (`out[-1]`), its length, or whole (np.stack, np.array, np.concatenate, "
                "sum, np.sum, np.mean), and no item is changed in place after it is appended; this one is used "
                "otherwise: fill an array instead (`out = np.zeros(n)` then `out[i] = ...`)"))


def forward(fn: CoreFunction, act: Activity, wrt: list[str]) -> tuple[list[ast.stmt], ast.Return, Facts]:
    """The JVP function of `fn` (`act`: activity(fn, wrt, stacks=True)): its body and return, giving
    (value, tangent of the value) from tangents of `wrt`, and facts about it."""
    gen = Forward(fn, wrt, act, stacks_carrying_tangents(fn, act))
    body = gen.block(fn.body)
    out = name_node(gen.dot(fn.result)) if act.active(fn.result) else call("_rt.zeros", name_node(fn.result))
    value = name_node(fn.result) if fn.aux is None else ast.Tuple(elts=[name_node(fn.result), name_node(fn.aux)], ctx=ast.Load())
    ret = ast.Return(value=ast.Tuple(elts=[value, out], ctx=ast.Load()))
    tangents = [gen.dot(p) for p in wrt]
    # a parameter not differentiated that an active value is later assigned to (c = c * x in a loop)
    # needs a zero tangent to start from
    entry = [_assign(gen.dot(p), call("_rt.zeros", name_node(p)), None)
             for p in fn.params if p not in wrt and act.active(p)]
    return entry + body, ret, Facts(active_output=act.active(fn.result), tangents=tangents)
