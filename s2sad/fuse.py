"""Expression fusion: the generated function's last pass, so NumPy sees whole expressions.

The core language has one primitive per statement, which is what the transforms need but not what
runs fastest: every named temporary keeps its array alive, so NumPy can neither reuse it in place
(its temporary elision) nor skip it. This pass, on the finished forward and reverse sweeps:

- drops an `unbroadcast` of an intermediate's cotangent when every use of it is summed down further
  to one of that intermediate's operands anyway (summing in two steps or one gives the same), so the
  intermediate is no longer kept just for its shape;
- puts each compiler temporary read exactly once back into the expression that reads it
  (`t4 = t0 + t1 * X - Y`), when nothing in between changes what it reads;
- multiplies the scalar factors of a product first (`g * 2 * t4 * -1` -> `-2 * g * t4`: one pass
  over the array instead of three) and takes them out of sums and unbroadcasts, which are linear
  (`unbroadcast(s * t4, t0)` -> `s * unbroadcast(t4, t0)`), so a cotangent that is a scalar times an
  array read only by sums is never formed.

User-named variables and their adjoints are never inlined: the file stays readable in their names.
"""
from __future__ import annotations

import ast
import math
import re

from .astcopy import clone
from .frontend import dotted

_TEMP = re.compile(r"t\d+(_bar(_\d+)?)?")
_IMPURE_RT = {"custom_vjp", "custom_jvp", "recurse_vjp", "recurse_jvp", "_custom", "second_order"}
_PURE_BUILTINS = {"float", "int", "len", "abs", "min", "max", "bool", "range"}
_REDUCTIONS = {"np.sum", "np.mean", "np.max", "np.min", "np.prod", "np.linalg.norm", "np.var", "np.std",
               "np.amax", "np.amin", "np.trace", "np.linalg.det", "np.vdot"}
_LINEAR = {"_rt.unbroadcast", "np.sum"}        # linear in their first argument
_ELEMENTWISE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


_SKIP = frozenset({"ctx", "op", "type_comment"})


def _walk(node: ast.AST):
    """Every node under `node` but contexts and operators (like ast.walk, quicker: this pass walks a lot)."""
    stack = [node]
    AST = ast.AST
    while stack:
        n = stack.pop()
        yield n
        for f in n._fields:
            if f in _SKIP:
                continue
            v = getattr(n, f, None)
            if type(v) is list:
                stack.extend(x for x in v if isinstance(x, AST))
            elif isinstance(v, AST):
                stack.append(v)


def _statements(trees):
    """Every statement in `trees`, nested ones included (expressions are not entered)."""
    stack = list(reversed(trees))
    while stack:
        st = stack.pop()
        yield st
        for field in ("orelse", "body"):
            inner = getattr(st, field, None)
            if type(inner) is list:
                stack.extend(reversed(inner))


def _names(node: ast.AST, loads_only: bool) -> set[str]:
    """The names under `node` (read ones only, or all), without building a generator per node."""
    out: set[str] = set()
    stack = [node]
    Name, Load, AST = ast.Name, ast.Load, ast.AST
    while stack:
        n = stack.pop()
        if type(n) is Name:
            if not loads_only or type(n.ctx) is Load:
                out.add(n.id)
            continue
        for f in n._fields:
            if f in _SKIP:
                continue
            v = getattr(n, f, None)
            if type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        stack.append(x)
            elif isinstance(v, AST):
                stack.append(v)
    return out


def _module(call: ast.Call) -> str:
    parts = dotted(call.func)
    return ".".join(parts) if parts else ""


def _pure_call(call: ast.Call) -> bool:
    key = _module(call)
    if not key or any(k.arg == "out" for k in call.keywords):
        return False
    head = key.split(".")[0]
    if head in ("np", "cp"):
        return not key.split(".")[1:2] == ["random"]
    if head == "math":
        return True
    if head == "_rt":
        return key.split(".")[-1] not in _IMPURE_RT
    return key in _PURE_BUILTINS


def _pure(e: ast.expr) -> bool:
    """An expression whose value depends only on the names it reads, and that changes nothing."""
    for n in _walk(e):
        if isinstance(n, ast.Call):
            if not _pure_call(n):
                return False
        elif isinstance(n, (ast.Lambda, ast.NamedExpr, ast.Starred, ast.ListComp, ast.SetComp, ast.DictComp,
                            ast.GeneratorExp, ast.Await, ast.Yield, ast.YieldFrom)):
            return False
    return True


def _reads(node: ast.AST) -> set[str]:
    return _names(node, True)


def _writes(node: ast.AST) -> tuple[set[str], set[str]] | None:
    """(names `node` rebinds, names whose memory it writes into), nested blocks included; None: it may
    change anything (a call with effects other than on the tape)."""
    rebinds: set[str] = set()
    mutates: set[str] = set()
    for n in _walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            rebinds.add(n.id)
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            mutates.add(_base(n))
        elif isinstance(n, ast.AugAssign):
            mutates.add(_base(n.target))          # `a += b` on an array writes into it
        elif isinstance(n, ast.Call) and not _pure_call(n):
            f = n.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "tape":
                mutates.add("tape")
            else:
                return None
    return rebinds, mutates - {None}


def _base(e: ast.expr) -> str | None:
    while isinstance(e, (ast.Subscript, ast.Attribute)):
        e = e.value
    return e.id if isinstance(e, ast.Name) else None


def _interferes(s: ast.stmt, reads: set[str], alias: dict[str, str], memo: dict) -> bool:
    """Whether `s` may change the value of an expression that reads `reads`."""
    if id(s) not in memo:
        memo[id(s)] = _writes(s)
    w = memo[id(s)]
    if w is None:
        return True
    rebinds, mutates = w
    return bool(rebinds & reads) or bool({alias.get(v, v) for v in mutates} & {alias.get(v, v) for v in reads})


_VIEWS = {"np.reshape", "np.ravel", "np.transpose", "np.swapaxes", "np.squeeze", "np.expand_dims",
          "np.broadcast_to", "np.asarray", "np.atleast_1d", "np.atleast_2d", "np.moveaxis", "np.flip"}


def _aliases(trees) -> dict[str, str]:
    """Each name's class of names that may share memory (views: `v = x[1:]`, `v = x.T`, `v = x`)."""
    root: dict[str, str] = {}

    def find(v: str) -> str:
        while root.get(v, v) != v:
            v = root[v]
        return v

    for n in _statements(trees):
        if isinstance(n, ast.Assign):
            base = n.value
            while True:
                if isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                elif isinstance(base, ast.Call) and _module(base) in _VIEWS and base.args:
                    base = base.args[0]
                else:
                    break
            if not isinstance(base, ast.Name):
                continue
            for tgt in n.targets:
                for m in _walk(tgt):
                    if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                        a, b = find(m.id), find(base.id)
                        if a != b:
                            root[a] = b
    names = set(root) | set(root.values())
    return {v: find(v) for v in names}


def _counts(trees, params) -> tuple[dict[str, int], dict[str, int]]:
    loads: dict[str, int] = {}
    stores: dict[str, int] = {p: 1 for p in params}
    for t in trees:
        for n in _walk(t):
            if isinstance(n, ast.Name):
                d = loads if isinstance(n.ctx, ast.Load) else stores
                d[n.id] = d.get(n.id, 0) + 1
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                loads[n.target.id] = loads.get(n.target.id, 0) + 1
    return loads, stores


def _def(s: ast.stmt) -> tuple[str, ast.expr] | None:
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
        return s.targets[0].id, s.value
    return None


def _blocks(stmts: list[ast.stmt]):
    """Every statement list: `stmts` and the bodies nested in it."""
    todo = [stmts]
    while todo:
        b = todo.pop()
        yield b
        for s in b:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list) and inner:
                    todo.append(inner)


def _header_reads(s: ast.stmt) -> set[str] | None:
    """What a statement reads where it runs once: all of a simple statement; an if's test or a for's
    iterable (not their bodies). None for a while (its test runs again and again)."""
    if isinstance(s, ast.If):
        return _reads(s.test)
    if isinstance(s, ast.For):
        return _reads(s.iter)
    if isinstance(s, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)):
        return _reads(s)
    return None


class Fuser:
    def __init__(self, user_names: set[str], scalars: set[str]):
        self.user = user_names
        self.known_scalars = set(scalars)

    # ---------------------------------------------------------------- which names are temporaries
    def temporary(self, name: str) -> bool:
        return bool(_TEMP.fullmatch(name)) and name.split("_bar")[0] not in self.user

    # ---------------------------------------------------------------- scalars
    def infer_scalars(self, trees) -> None:
        """Names certainly holding a Python number or a 0-d value wherever they are read: every
        assignment to them is built from numbers, such names and full reductions (greatest fixpoint)."""
        defs: dict[str, list[ast.expr | None]] = {}
        for t in [trees]:
            for n in _statements(t):
                if isinstance(n, ast.Assign):
                    for tgt in n.targets:
                        if isinstance(tgt, ast.Name):
                            defs.setdefault(tgt.id, []).append(n.value)
                        else:
                            for m in _walk(tgt):
                                if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                                    defs.setdefault(m.id, []).append(None)
                elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                    defs.setdefault(n.target.id, []).append(
                        ast.BinOp(left=ast.Name(id=n.target.id, ctx=ast.Load()), op=n.op, right=n.value))
                elif isinstance(n, ast.For):
                    ranged = isinstance(n.iter, ast.Call) and dotted(n.iter.func) == ["range"]
                    for m in _walk(n.target):
                        if isinstance(m, ast.Name):
                            defs.setdefault(m.id, []).append(ast.Constant(0) if ranged else None)
        self.scalars = {v for v, ds in defs.items() if all(d is not None for d in ds)} | self.known_scalars
        changed = True
        while changed:
            changed = False
            for v in list(self.scalars):
                if v not in self.known_scalars and not all(self.scalar(d) for d in defs[v]):
                    self.scalars.discard(v)
                    changed = True

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
            key = _module(e)
            if key in _REDUCTIONS:
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
        elif isinstance(e, ast.BinOp) and isinstance(e.op, ast.Div) and _power_of_two(_constant(e.right)):
            self._factors(e.left, out, sign)
            out.append(ast.Constant(1 / _constant(e.right)))     # folded with the other numbers
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
            c = _constant(f)
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
        exact = type(number) is int or any(_is_cotangent(f) for f in seq)   # dropping 1.0 keeps the type
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


def _products(e: ast.expr) -> bool:
    return isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Mult, ast.Div))


def _constant(f: ast.expr) -> int | float | None:
    if isinstance(f, ast.Constant) and type(f.value) in (int, float):
        return f.value
    if isinstance(f, ast.UnaryOp) and isinstance(f.op, ast.USub) and isinstance(f.operand, ast.Constant) \
            and type(f.operand.value) in (int, float):
        return -f.operand.value
    return None


def _is_cotangent(f: ast.expr) -> bool:
    """A cotangent, or built from one, is a float: multiplying it by 1.0 changes nothing."""
    if isinstance(f, ast.Name):
        return f.id.endswith("_bar") or "_bar_" in f.id
    if isinstance(f, ast.Call) and _module(f).startswith("_rt.") and f.args:
        return _is_cotangent(f.args[0])
    if isinstance(f, ast.BinOp):
        return _is_cotangent(f.left) or _is_cotangent(f.right)
    if isinstance(f, ast.UnaryOp):
        return _is_cotangent(f.operand)
    return False


def _number(v) -> ast.expr:
    if v < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-v))
    return ast.Constant(v)


class _Algebra:
    """Reassociate products, take scalar factors out of linear maps and tidy signs, bottom up, in one
    walk of each statement."""

    def __init__(self, fuser: Fuser):
        self.f = fuser

    @staticmethod
    def _dot(e: ast.Call) -> ast.expr:
        """`unbroadcast(a * b, x)` -> `sum_product(a, b, x)`: a dot product where it sums onto a number."""
        if _module(e) == "_rt.unbroadcast" and len(e.args) == 2 and isinstance(e.args[0], ast.BinOp) \
                and isinstance(e.args[0].op, ast.Mult) and not _products(e.args[0].left) \
                and not _products(e.args[0].right):
            e.func = ast.Attribute(value=ast.Name(id="_rt", ctx=ast.Load()), attr="sum_product", ctx=ast.Load())
            e.args = [e.args[0].left, e.args[0].right, e.args[1]]
        return e

    def stmt(self, s: ast.stmt) -> None:
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
                    self.stmt(inner)

    def expr(self, e: ast.expr) -> ast.expr:
        t = type(e)
        if t is ast.BinOp and (type(e.op) is ast.Mult or type(e.op) is ast.Div
                               and _power_of_two(_constant(e.right)) and _products(e.left)) \
                or t is ast.UnaryOp and type(e.op) is ast.USub and _products(e.operand):
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
            key = _module(e)
            if key in _LINEAR and e.args and not (key == "np.sum" and len(e.args) > 1):
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


def _unbroadcast_of(e: ast.expr) -> tuple[ast.expr, ast.Name] | None:
    if isinstance(e, ast.Call) and _module(e) == "_rt.unbroadcast" and len(e.args) == 2 and not e.keywords \
            and isinstance(e.args[1], ast.Name):
        return e.args[0], e.args[1]
    return None


def _elementwise_leaves(e: ast.expr, bar: str, allowed: set[str], fuser: Fuser) -> bool:
    """`e` combines `bar` elementwise with values no larger than the intermediate (its operands,
    itself, scalars and numbers)."""
    if isinstance(e, ast.Name):
        return e.id == bar or e.id in allowed or e.id in fuser.scalars
    if isinstance(e, ast.Constant):
        return type(e.value) in (int, float)
    if isinstance(e, ast.BinOp) and isinstance(e.op, _ELEMENTWISE_OPS):
        return _elementwise_leaves(e.left, bar, allowed, fuser) and _elementwise_leaves(e.right, bar, allowed, fuser)
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _elementwise_leaves(e.operand, bar, allowed, fuser)
    return False


def _elementwise_def(e: ast.expr) -> set[str] | None:
    """The operands of an elementwise arithmetic definition `a = x op y` (names only), else None."""
    if isinstance(e, ast.BinOp) and isinstance(e.op, _ELEMENTWISE_OPS):
        parts = [e.left, e.right]
    elif isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        parts = [e.operand]
    else:
        return None
    if not all(isinstance(p, (ast.Name, ast.Constant)) for p in parts):
        return None
    return {p.id for p in parts if isinstance(p, ast.Name)}


def _drop_unbroadcasts(fuser: Fuser, stmts: list[ast.stmt], trees, defs: dict, stores: dict) -> bool:
    """`a_bar = unbroadcast(g, a)` -> `a_bar = g` when a = x op y and every read of a_bar sits in
    `unbroadcast(<a_bar combined elementwise with x, y, a or scalars>, x or y)`."""
    parents: dict[int, ast.AST] = {}
    loads: dict[str, list[ast.Name]] = {}
    for t in trees:
        for p in _walk(t):
            for c in ast.iter_child_nodes(p):
                parents[id(c)] = p
            if isinstance(p, ast.Name) and isinstance(p.ctx, ast.Load):
                loads.setdefault(p.id, []).append(p)
    changed = False
    for b in _blocks(stmts):
        for s in b:
            d = _def(s)
            if d is None or stores.get(d[0], 0) != 1:
                continue
            bar, value = d
            ub = _unbroadcast_of(value)
            if ub is None or not isinstance(ub[0], ast.Name):
                continue
            a = ub[1].id
            if stores.get(a, 0) != 1 or a not in defs:
                continue
            operands = _elementwise_def(defs[a])
            if operands is None:
                continue
            uses = loads.get(bar, [])
            ok = bool(uses)
            for u in uses:
                node, top = u, None
                while id(node) in parents:
                    par = parents[id(node)]
                    sub = _unbroadcast_of(par) if isinstance(par, ast.Call) else None
                    if sub is not None and par.args[0] is node:
                        top = par
                        break
                    if not isinstance(par, (ast.BinOp, ast.UnaryOp)):
                        break
                    node = par
                if top is None or top.args[1].id not in operands \
                        or not _elementwise_leaves(top.args[0], bar, operands | {a}, fuser):
                    ok = False
                    break
            if ok:
                s.value = ub[0]
                changed = True
    return changed


def _propagate(stmts: list[ast.stmt], ret: ast.stmt, stores: dict, keep: set[str]) -> bool:
    """`a = b` at the top level, both assigned once (or b a parameter): read b for a."""
    rename: dict[str, str] = {}
    out, changed = [], False
    for s in stmts:
        d = _def(s)
        if d and isinstance(d[1], ast.Name) and stores.get(d[0], 0) == 1 and stores.get(d[1].id, 0) <= 1 \
                and d[1].id not in keep and d[0] != d[1].id:
            rename[d[0]] = rename.get(d[1].id, d[1].id)
            changed = True
            continue
        out.append(s)
    if rename:
        for t in out + [ret]:
            for n in _walk(t):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in rename:
                    n.id = rename[n.id]
    stmts[:] = out
    return changed


def _top_defs(s: ast.stmt) -> set[str]:
    """Names a statement binds at its own level (not inside its nested blocks)."""
    if isinstance(s, ast.Assign):
        return {m.id for t in s.targets for m in _walk(t) if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store)}
    if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
        return {s.target.id}
    return set()


def _nested_defs(s: ast.stmt) -> set[str]:
    out: set[str] = set()
    for field in ("body", "orelse"):
        for inner in getattr(s, field, None) or []:
            if isinstance(inner, ast.stmt):
                out |= {m.id for m in _walk(inner) if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store)}
    if isinstance(s, ast.For):
        out |= {m.id for m in _walk(s.target) if isinstance(m, ast.Name)}
    return out


def _uncovered(block: list[ast.stmt]) -> set[str]:
    """Names read in `block` (nested blocks included) somewhere not preceded, in the read's own block,
    by a definition whose value is certainly the one read."""
    defined: set[str] = set()
    out: set[str] = set()
    for s in block:
        head = _header_reads(s)
        if head is None:                          # a while: its test runs after its body too
            head = _reads(s.test) if isinstance(s, ast.While) else _reads(s)
        out |= head - defined
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                out |= _uncovered(inner)
        defined -= _nested_defs(s)
        defined |= _top_defs(s)
    return out


def _loads_of(s: ast.stmt, name: str) -> list[ast.Name]:
    """The reads of `name` where statement `s` runs once: all of a simple statement; an if's test,
    a for's iterable, a while's test (the caller refuses those)."""
    if isinstance(s, ast.If):
        part = s.test
    elif isinstance(s, ast.For):
        part = s.iter
    elif isinstance(s, ast.While):
        part = s.test
    else:
        part = s
    return [m for m in _walk(part) if isinstance(m, ast.Name) and m.id == name and isinstance(m.ctx, ast.Load)]


def _linear_use(load: ast.Name, root: ast.AST) -> bool:
    """`load` sits in a product that is the first argument of a linear map (a sum, an unbroadcast)."""
    parents = {id(c): p for p in _walk(root) for c in ast.iter_child_nodes(p)}
    node = load
    while id(node) in parents:
        par = parents[id(node)]
        if isinstance(par, ast.Call) and _module(par) in _LINEAR and par.args and par.args[0] is node:
            return True
        if not (isinstance(par, ast.BinOp) and isinstance(par.op, ast.Mult)
                or isinstance(par, ast.UnaryOp) and isinstance(par.op, ast.USub)):
            return False
        node = par
    return False


def _inline_block(fuser: Fuser, block: list[ast.stmt], local: set[str], tail: ast.stmt | None,
                  alias: dict[str, str]) -> bool:
    """Put each temporary where it is read: a temporary read once, and a scalar times an array read
    only by sums (so the scalar moves out of them). Same block, same user line, and nothing in
    between changes what it reads."""
    seq = block + ([tail] if tail is not None else [])
    where_read: dict[str, list[int]] = {}     # name -> statements (in order) that read or bind it
    for j, s in enumerate(seq):
        for v in _names(s, False):
            where_read.setdefault(v, []).append(j)
    writes: dict[int, object] = {}
    gone: set[int] = set()
    for i, st in enumerate(block):
        d = _def(st)
        if d is None or d[0] not in local or not fuser.temporary(d[0]) or not _pure(d[1]):
            continue
        name, value = d
        where = getattr(st, "s2sad_origin", None)
        uses: list[tuple[ast.stmt, ast.Name]] = []
        ok = True
        for j in where_read.get(name, []):
            if j <= i:
                continue
            s = seq[j]
            found = _loads_of(s, name)
            if found:
                simple = isinstance(s, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return, ast.If, ast.For))
                if not simple or not (s is tail or getattr(s, "s2sad_origin", None) == where):
                    ok = False
                    break
                uses.extend((s, m) for m in found)
            if name in _top_defs(s) or name in _nested_defs(s):
                break
            if not found:
                ok = False              # read only inside a nested block: it stays
                break
        if not ok or not uses:
            continue
        scaled = fuser.split_scalar(value)
        if len(uses) > 1 and not (scaled[0] is not None and isinstance(scaled[1], ast.Name)
                                  and all(_linear_use(m, s) for s, m in uses)):
            continue
        last = seq.index(uses[-1][0], i + 1)
        needs = _reads(value)
        if any(_interferes(seq[j], needs, alias, writes) for j in range(i + 1, last) if j not in gone):
            continue
        for s, m in uses:
            _substitute(s, m, value)
        for v in needs:                          # the statements that now read what it read
            for s, _ in uses:
                k = seq.index(s, i + 1)
                if k not in where_read.setdefault(v, []):
                    where_read[v].append(k)
                    where_read[v].sort()
        gone.add(i)
    block[:] = [st for i, st in enumerate(block) if i not in gone]
    return bool(gone)


def _substitute(stmt: ast.stmt, load: ast.Name, value: ast.expr) -> None:
    class R(ast.NodeTransformer):
        def visit_Name(self, node):
            return clone(value) if node is load else node
    R().visit(stmt)


def _cse(fuser: Fuser, block: list[ast.stmt], alias: dict[str, str]) -> bool:
    """A temporary computed again from unchanged values (`t8 = x[i]` after `t2 = x[i]`) reads the first."""
    avail: dict[str, tuple[str, set[str]]] = {}      # expression -> (name holding it, names it reads)
    changed = False
    for s in block:
        d = _def(s)
        key = None
        if d and fuser.temporary(d[0]) and not isinstance(d[1], (ast.Name, ast.Constant)) and _pure(d[1]):
            key = ast.dump(d[1])
            if key in avail:
                s.value = ast.Name(id=avail[key][0], ctx=ast.Load())
                changed = True
                key = None
        w = _writes(s)
        if w is None:
            avail.clear()
        else:
            rebinds, mutates = w
            hit = rebinds | {alias.get(v, v) for v in mutates}
            avail = {k: (n, r) for k, (n, r) in avail.items()
                     if n not in rebinds and not (r & rebinds) and not ({alias.get(v, v) for v in r} & hit)}
        if key is not None and d[0] not in _reads(d[1]):
            avail[key] = (d[0], _reads(d[1]))
    return changed


def _sink_resets(block: list[ast.stmt]) -> bool:
    """`v = 0.0`, then, with nothing reading v in between, `v = v + e` -> just `v = e` there."""
    changed = False
    i = 0
    while i < len(block):
        d = _def(block[i])
        if d is None or not (isinstance(d[1], ast.Constant) and d[1].value == 0.0 and type(d[1].value) is float):
            i += 1
            continue
        v = d[0]
        for j in range(i + 1, len(block)):
            s = block[j]
            e = _def(s)
            if e and e[0] == v and isinstance(e[1], ast.BinOp) and isinstance(e[1].op, ast.Add) \
                    and isinstance(e[1].left, ast.Name) and e[1].left.id == v and v not in _reads(e[1].right):
                s.value = e[1].right
                del block[i]
                changed = True
                i -= 1
                break
            w = _writes(s)
            if v in _reads(s) or w is None or v in w[0]:
                break
        i += 1
    return changed


def _local_copies(fuser: Fuser, block: list[ast.stmt], local: set[str]) -> bool:
    """`a = b` in a block (a a temporary read only after it): read b for a until b changes; the copy
    goes when no read of a is left. `v = v` goes."""
    changed = False
    i = 0
    while i < len(block):
        d = _def(block[i])
        if d and isinstance(d[1], ast.Name) and d[1].id == d[0]:
            del block[i]
            changed = True
            continue
        if d is None or not isinstance(d[1], ast.Name) or d[0] not in local or not fuser.temporary(d[0]):
            i += 1
            continue
        a, b = d[0], d[1].id
        left = False
        for j in range(i + 1, len(block)):
            s = block[j]
            loads = _loads_of(s, a)
            for m in loads:
                m.id = b
                changed = True
            w = _writes(s)
            if a in _top_defs(s) or a in _nested_defs(s):
                break
            if w is None or b in w[0] or b in _nested_defs(s):
                left = any(_loads_of(t, a) for t in block[j + 1:])
                break
        if not left:
            del block[i]
            changed = True
            continue
        i += 1
    return changed


def _dead_stores(stmts: list[ast.stmt], ret: ast.stmt, user: set[str]) -> None:
    """Drop `v = e` (e pure, v not a user variable) that nothing reads afterwards: no read later in the
    function and, inside a loop, none in that loop (its next iteration). `c_bar = 0.0` at the end of a
    branch goes."""
    order: dict[int, int] = {}
    outer: dict[int, ast.stmt | None] = {}         # statement -> the outermost loop around it
    arms: dict[int, dict[int, str]] = {}           # statement -> {if: the branch it is in}
    reads: dict[str, list[tuple[int, dict]]] = {}
    todo = [(s, None, {}) for s in reversed(stmts)]
    while todo:
        st, loop, arm = todo.pop()
        order[id(st)] = len(order)
        outer[id(st)] = loop
        arms[id(st)] = arm
        here = loop if loop is not None else (st if isinstance(st, (ast.For, ast.While)) else None)
        for field in ("orelse", "body"):
            inner_arm = dict(arm, **{str(id(st)): field}) if isinstance(st, ast.If) else arm
            todo.extend((c, here, inner_arm) for c in reversed(getattr(st, field, []) or []))
        for n in _reads(_header_part(st)):
            reads.setdefault(n, []).append((order[id(st)], arm))
    order[id(ret)] = len(order)
    for n in _reads(ret):
        reads.setdefault(n, []).append((order[id(ret)], {}))
    span: dict[int, tuple[int, int]] = {}
    for b in _blocks(stmts):
        for st in b:
            if isinstance(st, (ast.For, ast.While)):
                inner = [order[id(c)] for c in _walk_stmts(st)]
                span[id(st)] = (min(inner), max(inner))

    def dead(st: ast.stmt) -> bool:
        d = _def(st)
        if d is None or d[0] in user or d[0] == "tape" or not _pure(d[1]):
            return False
        at, arm = order[id(st)], arms[id(st)]
        loop = outer[id(st)]
        lo = span[id(loop)][0] if loop is not None else at
        for r, rarm in reads.get(d[0], []):
            other_branch = any(k in arm and arm[k] != b for k, b in rarm.items())
            if (r > at and not other_branch) or (loop is not None and r >= lo):
                return False
        return True

    for b in _blocks(stmts):
        b[:] = [st for st in b if not dead(st)] or ([ast.Pass()] if b is not stmts else [])


def _header_part(st: ast.stmt) -> ast.AST:
    if isinstance(st, (ast.If, ast.While)):
        return st.test
    if isinstance(st, ast.For):
        return st.iter
    return st


def _walk_stmts(st: ast.stmt):
    todo = [st]
    while todo:
        s = todo.pop()
        yield s
        for field in ("body", "orelse"):
            todo.extend(getattr(s, field, []) or [])


def _merge_resets(block: list[ast.stmt]) -> bool:
    """`v = e1` then `v = v + e2` (e2 not reading v) -> `v = e1 + e2`."""
    changed = False
    i = 0
    while i + 1 < len(block):
        a, b = _def(block[i]), _def(block[i + 1])
        if a and b and a[0] == b[0] and isinstance(b[1], ast.BinOp) and isinstance(b[1].op, (ast.Add, ast.Sub)) \
                and isinstance(b[1].left, ast.Name) and b[1].left.id == a[0] and a[0] not in _reads(b[1].right) \
                and getattr(block[i], "s2sad_origin", None) == getattr(block[i + 1], "s2sad_origin", None):
            block[i + 1].value = ast.BinOp(left=a[1], op=b[1].op, right=b[1].right)
            del block[i]
            changed = True
            continue
        i += 1
    return changed


def _tidy(node: ast.BinOp) -> ast.expr:
    """`a + -b` -> `a - b`, `a - -b` -> `a + b`, `a + -2 * b` -> `a - 2 * b`."""
    if isinstance(node.op, (ast.Add, ast.Sub)):
        r = node.right
        flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        if isinstance(r, ast.UnaryOp) and isinstance(r.op, ast.USub):
            return ast.BinOp(left=node.left, op=flipped, right=r.operand)
        if isinstance(r, ast.BinOp) and isinstance(r.op, ast.Mult) and isinstance(r.left, ast.UnaryOp) \
                and isinstance(r.left.op, ast.USub):
            return ast.BinOp(left=node.left, op=flipped, right=ast.BinOp(left=r.left.operand, op=ast.Mult(),
                                                                          right=r.right))
    return node


def fuse(blocks: list[list[ast.stmt]], ret: ast.stmt, params: list[str], user_names: set[str],
         scalars: set[str] = frozenset(), keep: set[str] = frozenset({"out_bar"}),
         as_written: int | None = None) -> list[list[ast.stmt]]:
    """Fuse the top-level `blocks` (run one after another, then `ret`) of a function of `params`;
    `scalars`: parameters known to be numbers or 0-d; the products of block `as_written` (the
    user's own computation) keep their order. Returns the new blocks."""
    owner = {id(s): i for i, b in enumerate(blocks) for s in b}
    stmts = [s for b in blocks for s in b]
    fuser = Fuser(user_names, scalars)
    for _ in range(4):       # cotangents freed from unbroadcasts, then copies gone: each can open the other
        trees = stmts + [ret]
        fuser.infer_scalars(trees)
        _, stores = _counts(trees, params)
        defs = {d[0]: d[1] for n in _statements(trees) if isinstance(n, ast.Assign) for d in [_def(n)] if d}
        opened = _drop_unbroadcasts(fuser, stmts, trees, defs, stores)
        copied = _propagate(stmts, ret, stores, set(keep))
        if not (opened and copied):
            break
    if opened or copied:
        fuser.infer_scalars(stmts + [ret])
    alias = _aliases(stmts)
    local = _reads(ast.Module(body=stmts + [ret], type_ignores=[])) - _uncovered(stmts + [ret])
    for b in list(_blocks(stmts)):
        if b is not stmts:          # loop and branch bodies (the top level had its copies propagated)
            _cse(fuser, b, alias)
            _sink_resets(b)
            _local_copies(fuser, b, local)
        while _inline_block(fuser, b, local, ret if b is stmts else None, alias) and _merge_resets(b):
            pass                    # a merged reset can read a temporary once more: inline again
    alg = _Algebra(fuser)
    for t in stmts + [ret]:
        if as_written is None or owner.get(id(t)) != as_written:
            alg.stmt(t)
    _dead_stores(stmts, ret, user_names)
    out: list[list[ast.stmt]] = [[] for _ in blocks]
    last = 0
    for s in stmts:
        last = owner.get(id(s), last)
        out[last].append(s)
    return out
