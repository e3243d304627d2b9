"""Writes that another name sees through shared memory, where s2sad's reading would differ from NumPy's.

Both checks run on the core language, after helpers are inlined (a helper's parameter is bound to the
caller's value: `h_a = x`, so a helper that writes into its argument is seen too):

- `v = y[1:]`, then `y[1] = ...`, then v read (`check_writes`): NumPy's v sees the write, the reverse
  sweep takes v to be the value it had when bound; the gradient would be wrong.
- `v2 = np.flip(v1)` (or `t1 = v1`), then `v1 += e`, then v2 read (`check_in_place`): NumPy's `+=`
  writes into v1's array and every name that shares it; s2sad reads `v1 = v1 + e`, a new value.

A number (a Python float, a NumPy scalar) shares nothing: `t1 = t0; t1 *= 2` with t0 a float is
`t1 = t1 * 2`. Which names hold numbers is known from the code (a full reduction, math.*, an element
of a 1-D array, arithmetic on numbers) and from the kinds of the arguments (`ArgKinds`), which only
the call knows: a check that would refuse without them raises `NeedsArgKinds`, and the caller
transforms again with the kinds of the arguments at hand (and checks them at every call).

Either hazard is refused with the user's line, and the fix, rather than answered differently from the
function.
"""
from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass

from ..ir.prim import is_assign, is_range, primitive, walk_stmts
from ..ir.names import dotted
from ..errors import UnsupportedSyntaxError, located
from ..rules import flagged

# results that share their argument's memory without a rule of their own (refused when differentiated)
_UNRULED_VIEWS = frozenset({"moveaxis", "atleast_1d", "atleast_2d", "view"})


def views() -> frozenset[str]:
    """The names X of np.X(y) and y.X(...) that can share y's memory: the rules flagged `view`, and
    the few views without a rule."""
    return frozenset(k[3:] for k in flagged("view") if k.startswith("np.")) | _UNRULED_VIEWS


@dataclass(frozen=True)
class ArgKinds:
    """What the call's arguments are: parameters holding numbers (Python or NumPy scalars, which share
    no memory) and the number of dimensions of those holding arrays."""

    numbers: frozenset = frozenset()
    ranks: tuple = ()              # ((parameter, ndim), ...), sorted

    def spelled(self) -> str:
        return f"numbers={sorted(self.numbers)} ranks={list(self.ranks)}"

    def text(self) -> str:
        """For the generated file's header: `x, y numbers; W 2-D`."""
        by_rank: dict[int, list[str]] = {}
        for p, n in self.ranks:
            by_rank.setdefault(n, []).append(p)
        parts = [f"{', '.join(sorted(self.numbers))} numbers"] if self.numbers else []
        parts += [f"{', '.join(ps)} {n}-D" for n, ps in sorted(by_rank.items())]
        return "; ".join(parts) or "no numbers, no arrays"


class NeedsArgKinds(UnsupportedSyntaxError):
    """A write another name may see, unless some arguments are numbers or 1-D arrays: transform again
    with the kinds of the arguments of the call (the message is the refusal for arrays)."""


def shares(value: ast.expr, numbers: set[str] = frozenset(), ranks: dict | None = None) -> str | None:
    """The name whose memory `value` may share: `y`, `y[1:]`, `y[0]` (a row of a 2-D y), `y.T`,
    `np.flip(y)`, `y.reshape(...)`, and views of views (`np.reshape(np.ravel(y), ...)`). A number shares
    nothing, nor does an element of an array."""
    ranks = ranks or {}
    if isinstance(value, ast.Name):
        return None if value.id in numbers else value.id
    if isinstance(value, ast.Subscript):
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        if any(isinstance(p, ast.Slice) or isinstance(p, ast.Constant) and p.value in (None, Ellipsis)
               for p in parts):
            return shares(value.value, numbers, ranks)
        if any(isinstance(p, (ast.List, ast.Tuple, ast.Compare, ast.Call)) for p in parts):
            return None                                # fancy indexing copies
        if _rank(value, numbers, ranks) == 0:
            return None                                # an element: a number
        return shares(value.value, numbers, ranks)     # x[i] of a 2-D x is a row: a view
    if isinstance(value, ast.Attribute) and value.attr == "T":
        return shares(value.value, numbers, ranks)
    if isinstance(value, ast.Call):
        f = value.func
        if isinstance(f, ast.Attribute) and f.attr in views():
            if not (isinstance(f.value, ast.Name) and f.value.id in ("np", "numpy")):
                return shares(f.value, numbers, ranks)          # y.reshape(...), y.view()
            if f.attr == "einsum":                              # np.einsum("ij->ji", y): one operand
                return shares(value.args[1], numbers, ranks) if len(value.args) == 2 else None
            if value.args:
                return shares(value.args[0], numbers, ranks)    # np.flip(y)
    return None


_NUMBER_CALLS = {"float", "int", "len", "bool", "round", "abs"}


def numbers(body: list[ast.stmt], params: list[str], kinds: ArgKinds | None) -> tuple[set[str], dict[str, int]]:
    """(names that hold a number after every assignment of them, the number of dimensions of names that
    hold arrays of a known rank), inferred from the code and, for the parameters, from `kinds`.

    Numbers (immutable: they share no memory): constants, range counters, Python and NumPy scalars from
    full reductions, math.*, float(), an element of an array, arithmetic on numbers, `v @ v` of 1-D
    arrays. Ranks: np.zeros(n) and the like, *_like, elementwise arithmetic (the largest rank), indexing
    (one rank per integer index), reductions along an axis, `@`, transposes."""
    nums = set(kinds.numbers) if kinds else set()
    ranks = dict(kinds.ranks) if kinds else {}
    ranks.update({p: 0 for p in nums})
    values: dict[str, list[ast.expr]] = {}
    written: set[str] = set()
    for st in walk_stmts(body):
        if is_assign(st):
            value = st.value
            if getattr(st, "s2sad_inplace", False) and isinstance(value, ast.BinOp):
                # `a -= e` writes into a's array and keeps it: a number only if a was one (a 0-d array
                # from np.where stays one), whatever `a - e` would give
                value = ast.BinOp(left=value.left, op=value.op, right=value.right)
                value.s2sad_inplace = True
            values.setdefault(st.targets[0].id, []).append(value)
        elif isinstance(st, ast.For):
            for n in ast.walk(st.target):
                if isinstance(n, ast.Name):
                    values.setdefault(n.id, []).append(st.iter if is_range(st.iter) else ast.Constant(None))
        elif isinstance(st, ast.Assign):          # an element write: the name holds an array
            written.add(st.targets[0].value.id)
    candidates = [v for v in values if v not in params]        # in program order: fewer sweeps
    # ranks: optimistic (a name's rank is what its known assignments agree on, so that `v = v * 2` after
    # `v = np.zeros(3)` is 1-D), then every assignment checked, until nothing changes
    conflict: set[str] = set()
    changed = True
    while changed:                       # optimistic: what the assignments known so far agree on
        changed = False
        for v in candidates:
            if v in ranks or v in conflict:
                continue
            found = {_rank(e, nums, ranks) for e in values[v]} - {None}
            if len(found) > 1:
                conflict.add(v)
            elif found:
                ranks[v] = found.pop()
                changed = True
    changed = True
    while changed:                       # then every assignment must agree
        changed = False
        for v in candidates:
            if v in ranks and any(_rank(e, set(), ranks) != ranks[v] for e in values[v]):
                del ranks[v]
                changed = True
    # numbers: the greatest set in which every assignment of each name gives a number
    nums |= {v for v in candidates if v not in written}
    changed = True
    while changed:
        changed = False
        for v in candidates:
            if v in nums and not all(_number(e, nums, ranks) for e in values[v]):
                nums.discard(v)
                changed = True
    return nums, ranks


_SCALAR_MADE = {"np.where", "np.array", "np.asarray", "np.copy", "np.zeros", "np.ones", "np.full", "np.empty",
                "np.zeros_like", "np.ones_like", "np.full_like", "np.empty_like", "np.reshape", "np.squeeze"}


def _number(e: ast.expr, nums: set[str], ranks: dict[str, int]) -> bool:
    """`e` certainly gives a number (a Python or NumPy scalar, not a 0-d array)."""
    if isinstance(e, ast.Constant):
        return isinstance(e.value, (int, float, bool)) and e.value is not None
    if isinstance(e, ast.Name):
        return e.id in nums
    if is_range(e):
        return True                        # a range loop's counter
    if isinstance(e, (ast.Compare, ast.BoolOp)):
        return False                       # may be a boolean array
    if isinstance(e, ast.Subscript):       # x[i, j] indexing every axis: an element
        return _rank(e, nums, ranks) == 0
    if getattr(e, "s2sad_inplace", False):
        return _number(e.left, nums, ranks) and _number(e.right, nums, ranks)
    if getattr(e, "s2sad_picks", False):   # Python's max/min: one of its arguments, as it is
        return all(_number(a, nums, ranks) for a in e.args)
    prim = primitive(e)
    key = prim.key
    if key in _SCALAR_MADE:
        return False                       # may be a 0-d array (mutable)
    if _rank(e, nums, ranks) != 0:
        return False
    if key in _NUMBER_CALLS or key.startswith("math.") or key in flagged("reduction") \
            or key in ("matmul", "np.dot", "np.inner", "np.trace"):
        return True
    # NumPy's ufuncs and Python's operators give a scalar for 0-d operands (0-d arrays included)
    return prim.rule is not None and prim.rule.elementwise


_METHOD_REDUCTIONS = {"sum", "mean", "max", "min", "prod", "var", "std", "item"}
_MAKERS = {"np.zeros", "np.ones", "np.empty", "np.full"}
_LIKE = {"np.zeros_like", "np.ones_like", "np.empty_like", "np.full_like", "np.copy", "np.sort", "np.cumsum",
         "np.flip", "np.asarray", "_rt.zeros"}


def rank_of(e: ast.expr, nums: set[str], ranks: dict[str, int]) -> int | None:
    """The number of dimensions of the value of `e` (None: not known), given what `numbers` found."""
    return _rank(e, nums, ranks)


def _rank(e: ast.expr, nums: set[str], ranks: dict[str, int]) -> int | None:
    """The number of dimensions of the value of `e`, when the code says (None: not known)."""
    if isinstance(e, ast.Constant):
        return 0 if isinstance(e.value, (int, float, bool)) and e.value is not None else None
    if isinstance(e, ast.Name):
        return 0 if e.id in nums else ranks.get(e.id)
    if is_range(e):
        return 0
    if isinstance(e, ast.Subscript):
        base = _rank(e.value, nums, ranks)
        parts = e.slice.elts if isinstance(e.slice, ast.Tuple) else [e.slice]
        if base is None or any(not (isinstance(p, ast.Slice) or _rank(p, nums, ranks) == 0 and _int_like(p))
                               for p in parts):
            return None                    # fancy or boolean indexing, None, Ellipsis
        return base - sum(not isinstance(p, ast.Slice) for p in parts) if len(parts) <= base else None
    if isinstance(e, ast.Compare):               # broadcasts its operands
        found = [_rank(x, nums, ranks) for x in [e.left] + e.comparators]
        return None if None in found else max(found)
    if isinstance(e, (ast.BoolOp, ast.List, ast.Tuple, ast.Dict, ast.IfExp)):
        return None
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in _METHOD_REDUCTIONS \
            and not e.args and not e.keywords and dotted(e.func.value) is not None:
        return 0                                 # x.mean() kept whole in a condition: a full reduction
    prim = primitive(e)
    key = prim.key
    args = e.args if isinstance(e, ast.Call) else []
    kw = {k.arg: k.value for k in getattr(e, "keywords", [])}
    if key in _NUMBER_CALLS or key.startswith("math."):
        return 0
    if key in ("min", "max") and len(args) >= 2:      # Python's min/max of numbers (as kept in a condition)
        found = [_rank(a, nums, ranks) for a in args]
        return 0 if found and all(r == 0 for r in found) else None
    if key in flagged("reduction") or key in ("np.sum", "np.mean"):
        axis = kw.get("axis", args[1] if len(args) > 1 and key != "np.linalg.norm" else None)
        if _none(kw.get("keepdims"), False) and _none(axis):
            return 0
        a = _rank(args[0], nums, ranks) if args else None
        if a is not None and isinstance(axis, ast.Constant) and type(axis.value) is int and _none(kw.get("keepdims"), False):
            return a - 1
        return None
    if key in _MAKERS and args:
        shape = args[0]
        if isinstance(shape, ast.Tuple):
            return len(shape.elts)
        return 1 if _rank(shape, nums, ranks) == 0 or _is_len(shape) else None
    if key in ("np.arange", "np.linspace"):
        return 1
    if key in ("np.eye", "np.identity", "np.outer"):
        return 2
    if key in ("np.array", "np.stack") and args and isinstance(args[0], (ast.List, ast.Tuple)):
        inner = {_rank(x, nums, ranks) for x in args[0].elts}     # np.array([a, b, c]): one rank more
        return 1 + inner.pop() if len(inner) == 1 and None not in inner else None
    if key in _LIKE and args:
        return _rank(args[0], nums, ranks)
    if key == "np.reshape" and len(args) >= 2:
        shape = args[1]
        if isinstance(shape, ast.Tuple):
            return len(shape.elts)
        if isinstance(shape, ast.Constant) and type(shape.value) is int:
            return 1
        if isinstance(shape, ast.Call) and dotted(shape.func) == ["np", "shape"] and len(shape.args) == 1:
            return _rank(shape.args[0], nums, ranks)           # reshaped like another array
        return None
    if key in ("np.transpose", "np.ravel") and args:
        r = _rank(args[0], nums, ranks)
        return 1 if key == "np.ravel" and r is not None else r
    if key in ("matmul", "np.dot", "np.matmul"):
        a, b = (_rank(x, nums, ranks) for x in list(prim.bound.values())[:2])
        if a is None or b is None or a == 0 or b == 0:
            return None if key != "np.dot" or a is None or b is None else max(a, b)
        if a <= 2 and b <= 2:
            return a + b - 2
        return None
    rule = prim.rule
    if rule is not None and rule.result_like is not None and len(args) > rule.result_like:
        like = _rank(args[rule.result_like], nums, ranks)
        if key == "_rt.unbroadcast":            # a number's cotangent may come back as it is: not known
            g = _rank(args[0], nums, ranks) if args else None
            return None if g is None or g == 0 else like
        return like
    if rule is not None and rule.elementwise:
        found = [_rank(a, nums, ranks) for a in prim.bound.values()]
        return None if None in found else max(found, default=0)
    return None


def _int_like(e) -> bool:
    return not (isinstance(e, ast.Constant) and isinstance(e.value, float))


def _is_len(e) -> bool:
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "len"


def _none(node, value=None) -> bool:
    return node is None or isinstance(node, ast.Constant) and node.value is value


class _Program:
    """A body's statements in program order, the loops around each, where names are bound (a new
    value, not a write into one) and read, and which bindings share memory with another name."""

    def __init__(self, body: list[ast.stmt], nums: set[str] = frozenset(), ranks: dict | None = None):
        self.nums = nums
        self.ranks = ranks or {}
        self.order: dict[int, int] = {}
        self.loops: dict[int, frozenset] = {}
        self.stmts: list[ast.stmt] = []
        self.binds: dict[str, list[ast.stmt]] = {}
        self.reads: dict[str, list[ast.stmt]] = {}
        self.shared: list[tuple[ast.stmt, str, str]] = []     # (binding, name bound, name it shares with)
        self.place: dict[int, tuple[list, int]] = {}            # statement -> (its block, its index there)
        self.parent: dict[int, ast.stmt | None] = {}           # statement -> the compound statement around it
        todo = [(s, frozenset(), body, i, None) for i, s in reversed(list(enumerate(body)))]
        while todo:
            st, around, block, index, parent = todo.pop()
            self.order[id(st)] = len(self.order)
            self.loops[id(st)] = around
            self.place[id(st)] = (block, index)
            self.parent[id(st)] = parent
            self.stmts.append(st)
            inner = around | {id(st)} if isinstance(st, (ast.For, ast.While)) else around
            for field in ("orelse", "body"):
                child = getattr(st, field, []) or []
                todo.extend((c, inner, child, i, st) for i, c in reversed(list(enumerate(child))))
            self._note(st)

    def _note(self, st: ast.stmt) -> None:
        if isinstance(st, ast.Assign):
            for t in st.targets:
                if isinstance(t, ast.Name):
                    self.binds.setdefault(t.id, []).append(st)
                    other = shares(st.value, self.nums, self.ranks)
                    if other is not None and other != t.id and t.id not in self.nums:
                        self.shared.append((st, t.id, other))
        elif isinstance(st, ast.For):
            for n in ast.walk(st.target):
                if isinstance(n, ast.Name):
                    self.binds.setdefault(n.id, []).append(st)
        part = st.test if isinstance(st, (ast.If, ast.While)) else st.iter if isinstance(st, ast.For) else st
        for n in ast.walk(part):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                self.reads.setdefault(n.id, []).append(st)

    def seen_after(self, write: ast.stmt, name: str) -> bool:
        """Some read of `name` runs after `write` (later, or in the next iteration of a loop around both)
        with no new binding of `name` in between."""
        o, loops, binds = self.order, self.loops, self.binds.get(name, [])
        for read in self.reads.get(name, []):
            if read is write:
                continue
            if o[id(write)] < o[id(read)]:
                if not any(o[id(write)] < o[id(b)] < o[id(read)] for b in binds):
                    return True
            else:
                common = loops[id(write)] & loops[id(read)]
                if common and not any(loops[id(b)] & common and o[id(b)] < o[id(read)] for b in binds):
                    return True
        return False

    def dominates(self, first: ast.stmt, then: ast.stmt) -> bool:
        """Whether `first` runs before `then` on every path from the block they share: `then` is, or is
        nested in, a later statement of `first`'s block."""
        block, index = self.place[id(first)]
        node = then
        while node is not None:
            b, i = self.place[id(node)]
            if b is block:
                return i > index
            node = self.parent[id(node)]
        return False

    def broken(self, bind: ast.stmt, names, write: ast.stmt) -> bool:
        """Whether a new binding of one of `names` (the two that `bind` makes share memory) always runs
        between `bind` and `write`: then they no longer share at the write (`u_new = u.copy()` before
        `u_new[1:] = ...`, after `u = u_new` in the last iteration)."""
        o = self.order
        for name in names:
            for r in self.binds.get(name, []):
                if r is bind or not self.dominates(r, write):
                    continue
                # r runs after bind and before write: later in the same pass, or, when bind comes after
                # the write (it reaches it through a loop's next iteration), at the top of that iteration
                if o[id(bind)] < o[id(r)] or (o[id(bind)] > o[id(write)] and self.loops[id(r)] & self.loops[id(bind)]):
                    return True
        return False

    def sharers(self, written: str, write: ast.stmt, bound_before: bool):
        """(binding, the other name) for each name that may share memory with `written`, through a chain
        of bindings (`t1 = np.ravel(v1)`, `v2 = np.reshape(t1, ...)`) that may have run before `write`
        (when `bound_before`), and is read afterwards; the binding is the last link of the chain."""
        group = {written: None}
        grown = True
        while grown:
            grown = False
            for bind, x, y in self.shared:
                if (x in group) == (y in group):
                    continue
                if bound_before and self.order[id(bind)] > self.order[id(write)] \
                        and not self.loops[id(bind)] & self.loops[id(write)]:
                    continue
                if self.broken(bind, (x, y), write):
                    continue
                group[y if x in group else x] = bind
                grown = True
        for other, bind in group.items():
            if bind is not None and self.seen_after(write, other):
                yield bind, other


def view_bases(body: list[ast.stmt], params: list[str], kinds: ArgKinds | None) -> dict[str, set[str]]:
    """For each name that may be a view (`t = H[i]` of a 2-D H, `v = y[1:]`, `w = np.flip(v)`), the names
    whose memory it may share, through chains of such bindings. The reverse sweep reads some values
    long after they were computed: a view read there must see its base as it was, so the base's
    overwritten elements are saved and put back (reverse.py)."""
    nums, ranks = numbers(body, params, kinds)
    direct: dict[str, set[str]] = {}
    for st in walk_stmts(body):
        if is_assign(st):
            other = shares(st.value, nums, ranks)
            if other is not None and other != st.targets[0].id:
                direct.setdefault(st.targets[0].id, set()).add(other)
    out: dict[str, set[str]] = {}
    for name in direct:
        seen, todo = set(), [name]
        while todo:
            for b in direct.get(todo.pop(), ()):
                if b not in seen:
                    seen.add(b)
                    todo.append(b)
        out[name] = seen
    return out


def check_writes(body: list[ast.stmt], params: list[str], varied, kinds: ArgKinds | None, filename: str,
                 where_of, forward: bool = False, spell=lambda n: n) -> None:
    """Element and slice writes (`y[1] = v`) into an array that a view bound before shares, read afterwards
    (the reverse sweep would read the view as it was when bound). `where_of(statement)` gives the user's
    (file, line).

    In forward mode a view's tangent is the same view of the tangent (`t = y[0:2]`: `t_dot = y_dot[0:2]`),
    so a write into y is seen by both; only a write into the view itself (`v = y[1:]; v[0] = ...`, whose
    tangent must be an array of its own) is refused there, when it or what it views varies with the
    differentiated parameters (`varied(name)`)."""
    if not any(_element_write(st) for st in walk_stmts(body)):
        return                               # nothing to check (and no program facts to find)
    nums, ranks = numbers(body, params, kinds)
    prog = _Program(body, nums, ranks)
    for st in prog.stmts:
        if not _element_write(st):
            continue
        written = st.targets[0].value.id
        # written bound as a view of another name (not only viewed by others)
        derived = any(x == written for _, x, _ in prog.shared)
        for bind, other in prog.sharers(written, st, bound_before=False):
            if forward and not (derived and (varied(written) or varied(other))):
                continue                     # tangents are views of tangents: they see the write too
            view = bind.targets[0].id
            where = where_of(st) or (filename, None)
            written, other = spell(written), spell(other)
            raise _refusal(kinds, params, where, f"this writes into {written} while {other} shares its memory "
                           f"({_shown(bind, where_of)}) and is read afterwards; s2sad does not follow writes "
                           f"through views: make a copy (`{view} = {ast.unparse(bind.value)}.copy()`)")


def check_in_place(body: list[ast.stmt], params: list[str], kinds: ArgKinds | None, filename: str,
                   where_of, spell=lambda n: n) -> None:
    """`a += e` (marked `s2sad_inplace` by normalize) into memory that another name bound before shares,
    read afterwards."""
    if not any(_in_place(st) for st in walk_stmts(body)):
        return                               # nothing to check (and no program facts to find)
    nums, ranks = numbers(body, params, kinds)
    prog = _Program(body, nums, ranks)
    for st in prog.stmts:
        if not _in_place(st):
            continue
        # `a = a + e` (after SSA renaming maybe `a_1 = a + e`): the object written into is a's
        left = st.value.left if isinstance(st.value, ast.BinOp) else None
        a = left.id if isinstance(left, ast.Name) else st.targets[0].id
        for bind, other in prog.sharers(a, st, bound_before=True):
            op = _op(st.value.op) if isinstance(st.value, ast.BinOp) else "?"
            where = where_of(st) or (filename, None)
            a, other = spell(a), spell(other)
            raise _refusal(kinds, params, where,
                           f"`{a} {op}= ...` writes into {a} in place, and {other}, which shares its memory "
                           f"({_shown(bind, where_of)}), is read afterwards: s2sad reads it as `{a} = {a} {op} ...`. "
                           f"Write that instead (or copy {other}) so that the function means what s2sad "
                           "differentiates")


def writes_in_place(body: list[ast.stmt]) -> bool:
    """Whether `body` changes an array's memory anywhere (an element or slice write, or `a += e`): without
    that, names sharing memory always read what they read when bound."""
    return any(_element_write(st) or _in_place(st) for st in walk_stmts(body))


def _element_write(st: ast.stmt) -> bool:
    """`y[index] = ...` into a name."""
    return isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript) \
        and isinstance(st.targets[0].value, ast.Name)


def _in_place(st: ast.stmt) -> bool:
    """`a = a op e` that normalize made of `a op= e`."""
    return getattr(st, "s2sad_inplace", False) and is_assign(st)


def _shown(bind: ast.stmt, where_of) -> str:
    """The binding that shares memory, as the user wrote it (its line), else as the core language has it."""
    where = where_of(bind)
    if where and where[1]:
        text = linecache.getline(where[0], where[1]).strip()
        if text:
            return f"line {where[1]}: {text}"
    return ast.unparse(bind)


def _refusal(kinds, params, where, message) -> UnsupportedSyntaxError:
    """The refusal; without the arguments' kinds (and parameters whose kinds could help), the signal to
    transform again knowing them."""
    cls = NeedsArgKinds if kinds is None and params else UnsupportedSyntaxError
    return cls(located(where[0], where[1], None, message))


def _op(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
            ast.FloorDiv: "//", ast.Mod: "%"}.get(type(op), "?")
