"""numba lowering: a run of a gradient's statements on vectors made one loop over their elements.

NumPy code makes an array per statement and reads it back in the next: at a million elements each
statement is a pass over memory (and a fresh array numba's allocator pays page faults for). In a
function compiled for its arguments' kinds (which parameters are numbers, which vectors), a run of
top-level statements that are element by element over vectors of one length m becomes one loop:

    t4_bar = 200 * result_bar * (x[1:] - t2 ** 2)      for k in range(n1):
    x_bar[:-1] += -2 * t4_bar * t2                 ->      ...
    x_bar[1:] += t4_bar                                    if k >= 1 and k - 1 < m1:
                                                               t4_bar = 200 * result_bar * (x[k] - x[k - 1] ** 2)
                                                               x_bar_k += t4_bar
                                                           x_bar[k] = x_bar_k

What a run may hold, each statement at the function's top level, each variable assigned once:
  - a view `t2 = x[:-1]` of a vector parameter (a slice `[a:]`, `[:-b]`, `[a:-b]`), read as `x[k + a]`;
  - a value `v = e`, e element by element (+ - * / **, unary minus, np.sin, np.cos, np.sqrt,
    np.abs, np.square, the runtime's vectorised functions) of numbers, vectors and such values:
    computed in the loop as a number when every read of v is in the run's loops, else kept as it is
    (an array, read element by element). Identities on a value u of the run are read through:
    `_rt.full(g, u)` is g, `_rt.unbroadcast(e, u)` e, `_rt.sum_product(a, b, u)` a * b, and
    `_rt.mean_scale(g, u)` g / m;
  - a number `s = e` of numbers; and a cotangent `x_bar = _rt.zeros(x)` of a vector parameter;
  - an add into it, `x_bar[a:-b] += e` or `x_bar += e`: gathered, each element of x_bar summing what
    each add gives it, from 0.0, in the order the statements add, and written once (x_bar is then
    made by `_rt.empty(x)`);
  - a number that sums an element-by-element value: `np.sum(e)`, `np.mean(e)`, `_rt.unbroadcast(e, s)`
    and `_rt.sum_product(a, b, s)` onto a number s, with `_rt.mean_scale(g, v)` (which reads v's
    size): one sum each in the loop, the statement after it.
Every vector of a run must have the same length once sliced; the loop checks it and raises a
ValueError where they differ (NumPy would broadcast a vector of length 1: use backend='numpy').
Anything else ends a run. The values are NumPy's up to the order of a sum's additions.

With adds at several starts, the elements of x_bar that only some adds reach (a few at each end) get
a loop of their own, which tests which adds reach each (as above); the middle ones, which all reach,
a loop without tests, reading each vector through a view that starts where its reads start (numba
then drops its negative-index checks and vectorises). A loop of PARALLEL elements or more calls a
second function, the same loop over numba's threads (`numba.prange`).
"""
from __future__ import annotations

import ast
import builtins
import copy
from dataclasses import dataclass, field

from .base import dotted

_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_ELEMENTWISE_CALLS = frozenset({"np.sin", "np.cos", "np.sqrt", "np.abs", "np.square"})
# a loop of this many elements or more runs over numba's threads: below it, starting them costs more
# than they save (measured on 2 cores: a parallel loop of 16,000 elements 1.4x faster, of 2,000 1.7x slower)
PARALLEL = 32_768


@dataclass
class _Leaf:
    """A vector read element by element: `array[k + start]`; `cut`: how many of array's elements its
    length leaves out (x[1:] and x[:-1]: 1)."""
    array: str
    start: int
    cut: int
    shape: bool = False        # read for its length alone (`_rt.mean_scale(g, v)`): not a vector value


@dataclass
class _Run:
    """One run of statements becoming a loop."""
    stmts: list = field(default_factory=list)         # (block, statement, role) in order
    arrays: dict = field(default_factory=dict)         # array -> cut: each must give length m
    adds: list = field(default_factory=list)            # (target, start, expression, statement)
    targets: dict = field(default_factory=dict)         # gathered cotangent -> its parameter
    made: dict = field(default_factory=dict)            # gathered cotangent -> `v = _rt.zeros(x)`
    sums: list = field(default_factory=list)            # (accumulator name, expression, statement)
    after: list = field(default_factory=list)           # (statement, its value with the sums read)
    length: str = ""                                    # the name of its length m, once one is needed
    temps: dict = field(default_factory=dict)           # value -> its statement
    leaves: dict = field(default_factory=dict)          # value -> the leaves it reads
    shaped: list = field(default_factory=list)          # leaves read for their shape alone (`_rt.full(g, v)`)
    post: set = field(default_factory=set)              # names the statements after the loop bind


def fuse_loops(blocks: dict, kinds, returned: set = frozenset(), calls: frozenset = frozenset(),
               name: str = "f") -> list[ast.FunctionDef]:
    """The runs of `blocks` (the generated function's statement lists, in order, changed in place) made
    loops, for a function `name` compiled for arguments of `kinds` (aliasing.ArgKinds); `returned`: the
    names its return statement reads; `calls`: the runtime's element-wise functions of one argument,
    besides NumPy's sin, cos, sqrt, abs and square (`_rt.tanh`, ...). Returns the functions the file
    defines besides it: each long loop's form over numba's threads (`numba.prange`), a function of its
    own so that only that loop is compiled with numba's `parallel` (which would check the shapes of the
    function's other array statements its own way, refusing NumPy's broadcasting)."""
    if not any(n == 1 for _, n in kinds.ranks):
        return []
    written = _written(blocks)             # (renaming keeps it: it renames none of these)
    versions = _versioned(blocks, written)
    fuser = _Fuser(blocks, {p for p, n in kinds.ranks if n == 1}, set(kinds.numbers) | {"out_bar"}, returned,
                   _ELEMENTWISE_CALLS | calls, name, written)
    if not fuser.run():
        _rename(blocks, versions)         # (no loop: the names as they were)
    return fuser.helpers


class _Fuser:
    def __init__(self, blocks: dict, vectors: set, numbers: set, returned: set, calls: frozenset, function: str,
                 written: set):
        self.blocks = blocks
        self.function = function
        self.helpers: list[ast.FunctionDef] = []
        self.calls = calls
        self.views: dict[str, _Leaf] = {}
        self.stores: dict[str, int] = {}
        self.returned = set(returned)
        self.loads: dict[str, int] = {n: 1 for n in returned}
        names = set()
        for b in blocks.values():
            for s in b:
                for n in ast.walk(s):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
                        if isinstance(n.ctx, ast.Load):
                            self.loads[n.id] = self.loads.get(n.id, 0) + 1
                        else:
                            self.stores[n.id] = self.stores.get(n.id, 0) + 1
        # (a parameter the code assigns again is not the argument any more; one whose memory the code
        # writes into, through any name, may hold other values when the loop reads it)
        self.written = written
        self.vectors = {v for v in vectors if v not in self.stores} - self.written
        self.earlier: set[str] = set()      # the values of the runs before the one being read
        self.numbers = {v for v in numbers if v not in self.stores}
        self.names = names | vectors | numbers

    # --- names ------------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        k = 1
        while f"{base}{k}" in self.names:
            k += 1
        self.names.add(f"{base}{k}")
        return f"{base}{k}"

    def named(self, name: str, sep: str = "") -> str:
        """`name`, or where it is taken `name` + `sep` + a number; taken from now on."""
        if name in self.names:
            return self.fresh(name + sep)
        self.names.add(name)
        return name

    def once(self, name: str) -> bool:
        return self.stores.get(name, 0) == 1 and name not in self.vectors and name not in self.numbers

    # --- classifying ------------------------------------------------------------------------------
    def leaf(self, e: ast.expr) -> _Leaf | None:
        """`e` as a vector read element by element, or None."""
        if isinstance(e, ast.Name):
            if e.id in self.vectors or e.id in self.earlier:
                return _Leaf(e.id, 0, 0)
            return self.views.get(e.id)
        if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name) and e.value.id in self.vectors:
            span = _span(e.slice)
            return None if span is None else _Leaf(e.value.id, *span)
        return None

    def scalar(self, e: ast.expr, post: set) -> bool:
        """Whether `e` is a number made of numbers (none of them bound after a loop: `post`)."""
        if isinstance(e, ast.Constant):
            return type(e.value) in (int, float)
        if isinstance(e, ast.Name):
            return e.id in self.numbers and e.id not in post
        if isinstance(e, ast.BinOp) and isinstance(e.op, _ARITH):
            return self.scalar(e.left, post) and self.scalar(e.right, post)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            return self.scalar(e.operand, post)
        if isinstance(e, ast.Call) and dotted(e.func) == "max" and not e.keywords:
            return all(self.scalar(a, post) for a in e.args)
        if isinstance(e, ast.Call) and len(e.args) == 1 and not e.keywords and dotted(e.func) in self.calls:
            return self.scalar(e.args[0], post)          # np.abs(0.7), _rt.log(a)
        if isinstance(e, ast.Call) and not e.keywords and (dotted(e.func) == "_rt.unbroadcast" and len(e.args) == 2
                                                           or dotted(e.func) == "_rt.sum_product" and len(e.args) == 3):
            return all(self.scalar(a, post) for a in e.args)     # of numbers onto a number: a number
        if isinstance(e, ast.Call) and not e.keywords and dotted(e.func) == "_rt.mean_scale" and len(e.args) == 2 \
                and isinstance(e.args[1], ast.Name) and (e.args[1].id in self.vectors or e.args[1].id in self.earlier):
            return self.scalar(e.args[0], post)          # g / the size of an array made before the run
        return False

    def elementwise(self, e: ast.expr, run: _Run, leaves: list) -> bool:
        """Whether `e` is element by element over numbers, vectors and values of `run` (their leaves
        appended to `leaves`); a vector value of the run counts as one of its elements."""
        if self.scalar(e, run.post):
            return True
        found = self.leaf(e)
        if found is not None:
            leaves.append(found)
            return True
        if isinstance(e, ast.Name):
            if e.id in run.temps:
                leaves.append(_Leaf(e.id, 0, -1))        # (its own length: the run's)
                return True
            return False
        if isinstance(e, ast.BinOp) and isinstance(e.op, _ARITH):
            return self.elementwise(e.left, run, leaves) and self.elementwise(e.right, run, leaves)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            return self.elementwise(e.operand, run, leaves)
        if isinstance(e, ast.Call) and len(e.args) == 1 and not e.keywords and dotted(e.func) in self.calls:
            return self.elementwise(e.args[0], run, leaves)
        shaped = _shaped(e)
        if shaped is not None:             # an identity on a vector of the run's length, or its size's share
            value, shape = shaped
            # u: a value of this run or an earlier one, or a vector parameter whose cotangent the run
            # gathers (the loop checks each one's length). Not another parameter: NumPy may have
            # broadcast one of length 1 (`w + x` with w of length 1, in a statement that stays
            # NumPy's), whose cotangent `_rt.unbroadcast(e, w)` sums e, which the loop would refuse.
            if isinstance(shape, ast.Name) and shape.id in run.temps:
                of_shape = _Leaf(shape.id, 0, -1)
            else:
                of_shape = self.leaf(shape)
                if of_shape is None or not (of_shape.array in run.targets.values() or of_shape.array in self.earlier):
                    return False
            if dotted(e.func) in ("_rt.mean_scale", "_rt.full"):   # g / the vector's size; g spread over it
                if not self.scalar(value, run.post):
                    return False
                if dotted(e.func) == "_rt.mean_scale":           # (a number, not a vector)
                    of_shape.shape = True
                    self.length_of(run)
            else:                                      # (a number would be summed: not an identity)
                inner: list = []
                if not self.elementwise(value, run, inner) or not inner:
                    return False
                leaves.extend(inner)
            leaves.append(of_shape)
            run.shaped.append(of_shape)
            return True
        return False

    def fits(self, run: _Run, leaves: list) -> bool:
        """Whether `leaves` have the run's length (recorded: the cut of each array)."""
        vectors = [lf for lf in leaves if lf.cut >= 0]
        if all(lf.shape for lf in leaves):
            return False                                   # numbers alone: not a vector
        cuts: dict = {}
        for lf in vectors:
            if run.arrays.get(lf.array, lf.cut) != lf.cut or cuts.setdefault(lf.array, lf.cut) != lf.cut:
                return False                               # one array at two lengths
        for lf in vectors:
            run.arrays[lf.array] = lf.cut
        return True

    def run(self) -> bool:
        """Whether a loop was made."""
        runs, run = [], _Run()
        order = [(b, s) for b in self.blocks.values() for s in b]
        for b, s in order:
            if self.view(s):
                continue
            if not self.take(b, s, run):
                runs.append(run)
                # (its values, read after it, are arrays the next runs may read element by element)
                self.earlier |= {v for v in run.temps if v not in self.written}
                run = _Run()
                self.take(b, s, run)
        runs.append(run)
        made = [r for r in runs if r.adds or r.sums]
        for r in made:
            self.make_loop(r)
        if made:                       # a view read only in the loops' statements is read no more
            read = {n.id for b in self.blocks.values() for s in b for n in ast.walk(s)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} | self.returned
            for b in self.blocks.values():
                b[:] = [s for s in b if not (_assigned(s) in self.views and _assigned(s) not in read)]
        return bool(made)

    def view(self, s: ast.stmt) -> bool:
        """A view `t2 = x[:-1]` of a vector parameter, noted (it stays where it is)."""
        name = _assigned(s)
        if name is None or not self.once(name):
            return False
        found = self.leaf(s.value)
        if found is None or isinstance(s.value, ast.Name):
            return False
        self.views[name] = found
        return True

    def take(self, b: list, s: ast.stmt, run: _Run) -> bool:
        """Whether `s` joins `run` (noted there) or ends it."""
        name = _assigned(s)
        if name is not None and self.once(name):
            e = s.value
            if self.scalar(e, run.post):
                self.numbers.add(name)
                run.stmts.append((b, s, "before"))
                return True
            if run.post and self.scalar(e, frozenset()):     # a number of the loop's sums: after it
                run.after.append((s, e))
                run.post.add(name)
                self.numbers.add(name)
                run.stmts.append((b, s, "after"))
                return True
            if isinstance(e, ast.Call) and dotted(e.func) == "_rt.zeros" and len(e.args) == 1 \
                    and isinstance(e.args[0], ast.Name) and e.args[0].id in self.vectors and name.endswith("_bar"):
                run.targets[name] = e.args[0].id
                run.made[name] = s
                run.stmts.append((b, s, "before"))
                return True
            leaves: list = []
            if self.elementwise(e, run, leaves):
                if not self.fits(run, leaves):
                    return False
                run.temps[name] = s
                run.leaves[name] = leaves
                run.stmts.append((b, s, "value"))
                return True
            summed = self.summed(e, run)
            if summed is not None:
                sums, value = summed
                run.sums.extend((acc, part, s) for acc, part in sums)
                run.after.append((s, value))
                run.post.add(name)
                self.numbers.add(name)
                run.stmts.append((b, s, "after"))
                return True
            return False
        if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add):
            target, start, cut = _added_into(s.target)
            if target in run.targets:
                leaves = []
                if not self.elementwise(s.value, run, leaves) or not self.fits(run, leaves + [
                        _Leaf(run.targets[target], 0, cut)]):
                    return False
                run.adds.append((target, start, s.value, s))
                run.stmts.append((b, s, "add"))
                return True
        return False

    def summed(self, e: ast.expr, run: _Run) -> tuple | None:
        """([(accumulator, summed expression)], e with each sum it reads replaced by its accumulator and
        `_rt.mean_scale(g, v)` by g / the run's length), or None when e is not such a number."""
        found: list = []
        ok = [True]
        fuser = self

        class Replace(ast.NodeTransformer):
            def visit_Call(self, node):
                called = dotted(node.func)
                shaped = _shaped(node)            # (onto a number: a sum; _rt.mean_scale: a share)
                part = None
                if called in ("np.sum", "np.mean") and len(node.args) == 1 and not node.keywords:
                    part = node.args[0]
                elif called in ("_rt.unbroadcast", "_rt.sum_product") and shaped is not None \
                        and fuser.scalar(shaped[1], run.post):
                    part = shaped[0]
                elif called == "_rt.mean_scale" and shaped is not None and isinstance(shaped[1], ast.Name) \
                        and shaped[1].id in run.temps and fuser.scalar(shaped[0], run.post):
                    return _share(shaped[0], fuser.length_of(run))
                if part is None:
                    self.generic_visit(node)
                    return node
                leaves: list = []
                if not fuser.elementwise(part, run, leaves) or not fuser.fits(run, leaves):
                    ok[0] = False
                    return node
                acc = fuser.fresh("sum")
                fuser.numbers.add(acc)              # (a fresh name: a number wherever it is read)
                found.append((acc, part))
                if called == "np.mean":          # (of no elements: 0.0 / 0, NumPy's nan)
                    return ast.BinOp(left=_name(acc), op=ast.Div(), right=_name(fuser.length_of(run)))
                return _name(acc)

        e2 = Replace().visit(_copy(e))
        # (computed after the loop, in order: it may read numbers computed there before it)
        if not ok[0] or not found or not self.scalar(e2, frozenset()):
            return None
        return found, e2

    def length_of(self, run: _Run) -> str:
        """The name the loop gives the run's length m (a number)."""
        if not run.length:
            run.length = self.fresh("m")
            self.numbers.add(run.length)
        return run.length

    # --- writing the loop -------------------------------------------------------------------------
    def make_loop(self, run: _Run) -> None:
        """Replace the run's statements by: its numbers and kept values where they are, the loops after
        its last statement, then the numbers made from its sums.

        With adds, the gathered cotangents' elements split in two: the middle ones, which every add
        reaches, and the few at the edges, which only some do. The edges' loop tests which adds reach
        each element; the middle's has no tests and reads each vector through a view starting where its
        reads start, so that it reads at its own index (numba then drops the negative-index checks and
        may vectorise it); when long, it runs over numba's threads (`numba.prange`)."""
        # a value is computed in the loop when all its reads are the run's own
        inside: dict[str, int] = {}
        for _, s, role in run.stmts:
            if role in ("value", "add", "after"):
                for n in ast.walk(s.value):
                    if isinstance(n, ast.Name) and n.id in run.temps:
                        inside[n.id] = inside.get(n.id, 0) + 1
        fused = {v for v in run.temps if inside.get(v, 0) == self.loads.get(v, 0)}
        changed = True
        while changed:                 # what a kept value's statement reads is kept too
            changed = False
            for v in [v for v in run.temps if v not in fused]:
                for n in ast.walk(run.temps[v].value):
                    if isinstance(n, ast.Name) and n.id in fused:
                        fused.discard(n.id)
                        changed = True
        kept = [v for v in run.temps if v not in fused]       # (in order: the checks are written in it)
        arrays = dict(run.arrays)
        for v in kept:
            arrays[v] = 0
        m_name = self.length_of(run)
        length = _name(m_name)
        sums = run.sums
        # the groups: one per start of an add (sums with the adds at start 0), in the order they come
        starts: list[int] = []
        for target, start, _, _ in run.adds:
            if start not in starts:
                starts.append(start)
        if sums and 0 not in starts:
            starts.append(0)
        groups = []
        for start in starts:
            exprs = [(t, e, s) for t, st, e, s in run.adds if st == start]
            if start == 0:
                exprs += [(acc, e, s) for acc, e, s in sums]
            needed: list = []
            for _, e, _ in exprs:
                self.collect(e, run, fused, needed)
            groups.append((start, exprs, needed))
        gathered = list(dict.fromkeys(t for t, _, _, _ in run.adds))
        acc_names = {t: self.named(f"{t}_k") for t in gathered}
        for t in gathered:
            run.made[t].value.func.attr = "empty"     # (each element written once, by a loop below)
        cut = run.arrays[run.targets[gathered[0]]] if gathered else 0
        first_start = max(starts)                      # the middle: elements first_start, ..., min(starts) + m - 1
        j = self.fresh("j")
        views: dict = {}

        def through_view(array: str, offset: int) -> ast.expr:
            if offset == 0:
                return _at(array, _name(j))
            if (array, offset) not in views:
                views[(array, offset)] = self.named(f"{array}_from{offset}", "_")
            return _at(views[(array, offset)], _name(j))

        middle = self.element(groups, run, fused, kept, acc_names, tested=None,
                              read=lambda start: lambda array, at: through_view(array, first_start - start + at),
                              write=lambda t: _stored(through_view(t, first_start)))
        loops: list = []
        setup: list = []
        if run.adds:
            n_name = self.fresh("n")
            span = _name(n_name)
            if first_start == min(starts):
                count = m_name
            else:
                count = self.fresh("c")
                setup.append(_assign(count, _call("max", [ast.BinOp(left=length, op=ast.Sub(), right=ast.Constant(
                    first_start - min(starts))), ast.Constant(0)])))
            edged = bool(cut or first_start)
            if edged:                                  # elements only some adds reach
                k = self.fresh("k")
                where = ast.BinOp(left=_name(j), op=ast.Add(), right=_name(count))     # (past the middle)
                if first_start:
                    head = self.fresh("h")
                    setup.append(_assign(head, _call("min", [ast.Constant(first_start), span])))
                    where = ast.IfExp(test=ast.Compare(left=_name(j), ops=[ast.Lt()], comparators=[_name(head)]),
                                      body=_name(j), orelse=where)
                edges = [_assign(k, where)] + self.element(
                    groups, run, fused, kept, acc_names, tested=(_name(k), length),
                    read=lambda start: lambda array, at: _element(array, _shifted(_name(k), -start), at),
                    write=lambda t: ast.Subscript(value=_name(t), slice=_name(k), ctx=ast.Store()))
                loop = ast.For(target=_name(j, ast.Store()), iter=_call("range", [ast.BinOp(
                    left=span, op=ast.Sub(), right=_name(count))]), body=edges, orelse=[])
                last_one = ast.unparse(_shifted(_name(count), first_start - 1))
                loop.s2sad_note = (f"{', '.join(gathered)}: elements {first_start} to {last_one} get every add (the "
                                   f"next loop); this one gives the others theirs")
                loops.append(loop)
        else:
            count = m_name
        made_views = [_assign(v, ast.Subscript(value=_name(a), slice=ast.Slice(lower=ast.Constant(o)), ctx=ast.Load()))
                      for (a, o), v in views.items()]
        if made_views:
            made_views[0].s2sad_note = "each vector read through a view from where the loop's reads start"
        loops += made_views + [self.spread(j, count, middle)]
        # the lengths checked: of the arrays the loop reads (a kept value's own operands NumPy broadcast)
        read = {a for a, _ in views} | {n.value.id for st in middle for n in ast.walk(st)
                                         if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)
                                         and isinstance(n.ctx, ast.Load)}
        read |= self.shape_arrays(run, run.shaped, kept)      # (a vector read for its shape: its length too)
        arrays = {a: c for a, c in arrays.items() if a in read or a in run.targets.values()}
        first = next(iter(arrays))
        checks = [ast.Compare(left=_length(a, c), ops=[ast.NotEq()], comparators=[length])
                  for a, c in arrays.items() if a != first]
        head_setup = [_assign(m_name, _length(first, arrays[first]))]
        if run.adds:
            params = list(dict.fromkeys(run.targets[t] for t in gathered))
            if edged or len(params) > 1:
                head_setup.append(_assign(n_name, _shape0(params[0])))     # (read by the edges' loop, the checks)
            checks += [ast.Compare(left=_shape0(p), ops=[ast.NotEq()], comparators=[_name(n_name)])
                       for p in params[1:]]
        if checks:
            message = ("s2sad: the vectors these lines read element by element have different lengths; "
                       "NumPy would broadcast one of length 1: use backend='numpy' for this function")
            head_setup.append(ast.If(test=ast.BoolOp(op=ast.Or(), values=checks) if len(checks) > 1 else checks[0],
                                     body=[ast.Raise(exc=_call("ValueError", [ast.Constant(message)]), cause=None)],
                                     orelse=[]))
        setup = head_setup + setup + [_assign(acc, ast.Constant(0.0)) for acc, _, _ in sums]
        after = []
        for s, value in run.after:
            s.value = value
            after.append(s)
        # out of their blocks: the values computed in the loop, the adds, the numbers after it; the loops
        # (and those numbers) after the run's last statement
        gone = {id(s) for _, s, role in run.stmts if role in ("add", "after") or role == "value" and
                _assigned(s) in fused}
        last = run.stmts[-1][1]
        for b in self.blocks.values():
            out = []
            for s in b:
                if id(s) not in gone:
                    out.append(s)
                if s is last:
                    out.extend(setup + loops + after)
            b[:] = out

    def element(self, groups: list, run: _Run, fused: set, kept: list, acc_names: dict, tested, read,
                write) -> list:
        """The statements of one element of the loop: each group's values and adds (under a test of
        whether its add reaches the element when `tested` is (index, length)), then each gathered
        cotangent's element written. `read(start)(array, at)`: element `at` of `array` for the group at
        `start`; `write(t)`: where t's element goes."""
        body: list = [_assign(acc, ast.Constant(0.0)) for acc in acc_names.values()]
        for start, exprs, needed in groups:
            group: list = []
            element = read(start)
            for v in needed:
                st = run.temps[v]
                group.append(_origin(_assign(v, self.at(st.value, element, fused, kept, run.length)), st))
            for t, e, s in exprs:
                group.append(_origin(ast.AugAssign(target=_name(acc_names.get(t, t), ast.Store()), op=ast.Add(),
                                                   value=self.at(e, element, fused, kept, run.length)), s))
            if tested is not None:
                body.append(ast.If(test=_within(tested[0], start, tested[1]), body=group, orelse=[]))
            else:
                body.extend(group)
        for t, acc in acc_names.items():
            body.append(ast.Assign(targets=[write(t)], value=_name(acc), lineno=0))
        return body

    def spread(self, j: str, count: str, body: list) -> ast.stmt:
        """`for j in range(count)` over `body`; when count is PARALLEL or more, a call of a function
        running it over numba's threads (`numba.prange`), which takes what the body reads and returns
        the sums it adds to."""
        serial = ast.For(target=_name(j, ast.Store()), iter=_call("range", [_name(count)]), body=body, orelse=[])
        reads, sums = _free(body)
        params = [count] + [n for n in reads if n not in (count, j)]
        helper = self.named(f"{self.function}_threads")        # (a second loop's: numbered)
        threads = ast.For(target=_name(j, ast.Store()), iter=ast.Call(func=ast.Attribute(
            value=_name("numba"), attr="prange", ctx=ast.Load()), args=[_name(count)], keywords=[]),
            body=_copy(body), orelse=[])
        doc = ast.Expr(value=ast.Constant(f"{self.function}'s loop over numba's threads: its {count} elements "
                                          f"({PARALLEL:,} or more) split between them."))
        back = [ast.Return(value=_names(sums))] if sums else []
        self.helpers.append(ast.FunctionDef(name=helper, args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=p) for p in params], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=[doc, threads] + back, decorator_list=[], returns=None, lineno=0))
        call = _call(helper, [_name(p) for p in params])
        run = ast.Assign(targets=[_names(sums, ast.Store())], value=call, lineno=0) if sums else ast.Expr(value=call)
        choice = ast.If(test=ast.Compare(left=_name(count), ops=[ast.GtE()], comparators=[ast.Constant(PARALLEL)]),
                        body=[run], orelse=[serial])
        choice.s2sad_note = f"over numba's threads when long ({PARALLEL:,} elements or more)"
        return choice

    def shape_arrays(self, run: _Run, leaves: list, kept: list) -> set[str]:
        """The arrays whose lengths give `leaves` theirs: a vector's, a kept value's own, those a value
        computed in the loop reads."""
        out: set[str] = set()
        for lf in leaves:
            if lf.cut >= 0 or lf.array in kept:
                out.add(lf.array)
            else:
                out |= self.shape_arrays(run, run.leaves[lf.array], kept)
        return out

    def collect(self, e: ast.expr, run: _Run, fused: set, needed: list) -> None:
        """The values computed in the loop that `e` reads, in the order they must be computed."""
        for n in ast.walk(_Unshaped().visit(_copy(e))):
            if isinstance(n, ast.Name) and n.id in fused and n.id not in needed:
                self.collect(run.temps[n.id].value, run, fused, needed)
                if n.id not in needed:
                    needed.append(n.id)

    def at(self, e: ast.expr, element, fused: set, kept: list, length: str) -> ast.expr:
        """`e` at one element: each vector `element(array, start)`, each value computed in the loop its
        number, each value kept its element."""
        fuser = self

        class At(ast.NodeTransformer):
            def visit_Name(self, node):
                if node.id in fused:
                    return node
                if node.id in kept:
                    return element(node.id, 0)
                found = fuser.leaf(node)
                return element(found.array, found.start) if found is not None else node

            def visit_Subscript(self, node):
                found = fuser.leaf(node)
                return element(found.array, found.start) if found is not None else node

        return At().visit(_Unshaped(length).visit(_copy(e)))


class _Unshaped(ast.NodeTransformer):
    """Each identity on a vector of a run's length its value: `_rt.full(g, v)` g, `_rt.unbroadcast(e, v)`
    e, `_rt.sum_product(a, b, v)` a * b; `_rt.mean_scale(g, v)` g / max(m, 1), m the run's `length`
    (what `_Fuser.elementwise` took as such)."""

    def __init__(self, length: str = ""):
        self.length = length

    def visit_Call(self, node):
        self.generic_visit(node)
        shaped = _shaped(node)
        if shaped is None:
            return node
        if dotted(node.func) == "_rt.mean_scale":
            return _share(shaped[0], self.length)
        return shaped[0]


def _share(g: ast.expr, length: str) -> ast.expr:
    """`g / max(m, 1)`: `_rt.mean_scale(g, v)` of a v of the run's length m."""
    return ast.BinOp(left=g, op=ast.Div(), right=_call("max", [_name(length), ast.Constant(1)]))


def _shaped(e: ast.expr) -> tuple | None:
    """(value, shape operand) of `_rt.full(g, v)`, `_rt.unbroadcast(e, v)`, `_rt.mean_scale(g, v)`,
    `_rt.sum_product(a, b, v)` (value a * b), else None."""
    if not (isinstance(e, ast.Call) and not e.keywords):
        return None
    called, args = dotted(e.func), e.args
    if called in ("_rt.full", "_rt.unbroadcast", "_rt.mean_scale") and len(args) == 2:
        return args[0], args[1]
    if called == "_rt.sum_product" and len(args) == 3:
        return ast.BinOp(left=args[0], op=ast.Mult(), right=args[1]), args[2]
    return None


_GLOBAL = frozenset(dir(builtins)) | {"np", "_rt", "numba", "math"}


def _free(body: list) -> tuple[list[str], list[str]]:
    """(the names `body`, straight-line statements, reads before it assigns them, the module's and
    builtins' aside; of those, the ones it adds to: the sums it accumulates), each in order."""
    reads: list[str] = []
    bound: set[str] = set()
    sums: list[str] = []
    for s in body:
        for n in ast.walk(s.value):
            if isinstance(n, ast.Name) and n.id not in bound and n.id not in _GLOBAL and n.id not in reads:
                reads.append(n.id)
        target = s.targets[0] if isinstance(s, ast.Assign) else s.target
        if isinstance(target, ast.Name):
            if isinstance(s, ast.AugAssign) and target.id not in bound:
                if target.id not in reads:
                    reads.append(target.id)
                if target.id not in sums:
                    sums.append(target.id)
            else:
                bound.add(target.id)
        else:
            for n in ast.walk(target):
                if isinstance(n, ast.Name) and n.id not in bound and n.id not in reads:
                    reads.append(n.id)
    return reads, sums


def _names(names: list[str], ctx=None) -> ast.expr:
    """One name, or a tuple of several."""
    if len(names) == 1:
        return _name(names[0], ctx)
    return ast.Tuple(elts=[_name(n, ctx) for n in names], ctx=ctx or ast.Load())


def _versioned(blocks: dict, written: set) -> dict[str, str]:
    """Each name that top-level statements of `blocks` assign again (`a_bar = a_bar + e`) given a name
    per value but the last, which keeps it, each read renamed with the value it reads; {new: old}. Left
    alone: a name a compound statement (a loop, an if) reads or assigns, one read before its first
    assignment (a parameter), one whose memory a statement writes into (`written`: _written's)."""
    top = [s for b in blocks.values() for s in b]
    simple = (ast.Assign, ast.AugAssign, ast.Expr)
    nested = {n.id for s in top if not isinstance(s, simple) for n in ast.walk(s) if isinstance(n, ast.Name)}
    counts: dict[str, int] = {}
    early: set[str] = set()
    for s in top:
        if isinstance(s, simple):
            for n in ast.walk(s.value):
                if isinstance(n, ast.Name) and n.id not in counts:
                    early.add(n.id)
        name = _assigned(s)
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    again = {n for n, c in counts.items() if c > 1} - nested - early - written
    if not again:
        return {}
    taken = {n.id for s in top for n in ast.walk(s) if isinstance(n, ast.Name)}
    left = dict(counts)
    now: dict[str, str] = {}
    versions: dict[str, str] = {}
    for s in top:
        if not isinstance(s, simple):
            continue                     # (it reads none of them)
        for n in ast.walk(s.value):
            if isinstance(n, ast.Name) and n.id in now:
                n.id = now[n.id]
        name = _assigned(s)
        if name in again:
            left[name] -= 1
            if left[name]:
                k = 1
                while f"{name}_{k}" in taken:
                    k += 1
                new = f"{name}_{k}"
                taken.add(new)
                versions[new] = name
                now[name] = s.targets[0].id = new
            else:
                now.pop(name, None)
    return versions


def _rename(blocks: dict, names: dict[str, str]) -> None:
    """Each name of `names` in `blocks` renamed to its value."""
    for b in blocks.values():
        for s in b:
            for n in ast.walk(s):
                if isinstance(n, ast.Name) and n.id in names:
                    n.id = names[n.id]


def _written(blocks: dict) -> set[str]:
    """The names whose memory a statement of `blocks` writes into (`y[i] = e`, `y += e`, `y[1:] += e`,
    `_rt.add_at(y, ...)`), and every name those may share memory with: each name their values were
    made from that may share it (`t = x[1:]`: x, with t)."""
    base: dict[str, set] = {}
    roots: set[str] = set()
    for b in blocks.values():
        for st in b:
            for s in ast.walk(st):
                name = _assigned(s)
                if name is not None:
                    base.setdefault(name, set()).update(_may_share(s.value))
                targets = s.targets if isinstance(s, ast.Assign) else [s.target] if isinstance(s, ast.AugAssign) else []
                for t in targets:
                    if isinstance(s, ast.AugAssign) or isinstance(t, ast.Subscript):
                        while isinstance(t, (ast.Subscript, ast.Attribute)):
                            t = t.value
                        if isinstance(t, ast.Name):
                            roots.add(t.id)
                if isinstance(s, ast.Call) and dotted(s.func) in ("_rt.add_at", "_rt.add_into") and s.args:
                    t = s.args[0]
                    while isinstance(t, (ast.Subscript, ast.Attribute)):
                        t = t.value
                    if isinstance(t, ast.Name):
                        roots.add(t.id)
    out: set[str] = set()
    todo = list(roots)
    while todo:
        r = todo.pop()
        if r not in out:
            out.add(r)
            todo.extend(base.get(r, ()))
    return out


_FRESH = {"_rt.zeros", "_rt.empty", "np.zeros", "np.ones", "np.empty", "np.full"}


def _may_share(e: ast.expr) -> set[str]:
    """The names whose memory the value of `e` may share: a name, what it is sliced, indexed or an
    attribute of, and any argument of a call (a helper may return it, or a view of it) but one that
    makes a new array; none for arithmetic, which always makes a new array (or a number)."""
    if isinstance(e, ast.Name):
        return {e.id}
    if isinstance(e, (ast.Subscript, ast.Attribute, ast.Starred)):
        return _may_share(e.value)
    if isinstance(e, ast.Call):
        if dotted(e.func) in _FRESH:
            return set()
        out = _may_share(e.func.value) if isinstance(e.func, ast.Attribute) else set()   # (a method's object)
        for a in [*e.args, *(k.value for k in e.keywords)]:
            out |= _may_share(a)
        return out
    if isinstance(e, ast.IfExp):
        return _may_share(e.body) | _may_share(e.orelse)
    if isinstance(e, (ast.Tuple, ast.List)):
        return set().union(*(_may_share(x) for x in e.elts)) if e.elts else set()
    return set()


def _added_into(target: ast.expr) -> tuple:
    """(array, start, cut) of an add's target `x_bar[a:-b]` or `x_bar`, else (None, 0, 0)."""
    if isinstance(target, ast.Name):
        return target.id, 0, 0
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        span = _span(target.slice)
        if span is not None:
            return (target.value.id, *span)
    return None, 0, 0


def _span(index: ast.expr) -> tuple[int, int] | None:
    """(start, cut) of a slice `[a:]`, `[:-b]`, `[a:-b]` or `[:]` with constant a, b >= 0: where it starts,
    and how many elements its length leaves out; None for any other index."""
    if not (isinstance(index, ast.Slice) and index.step is None):
        return None
    lo, hi = _int_or_none(index.lower), _int_or_none(index.upper)
    if lo is False or hi is False or (lo is not None and lo < 0) or (hi is not None and hi >= 0):
        return None
    start = lo or 0
    return start, start - (hi or 0)


def _int_or_none(e):
    """A slice bound: an int, None, or False when it is neither a constant int nor absent."""
    if e is None:
        return None
    if isinstance(e, ast.Constant) and type(e.value) is int:
        return e.value
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant) \
            and type(e.operand.value) is int:
        return -e.operand.value
    return False


def _assigned(s: ast.stmt) -> str | None:
    return s.targets[0].id if isinstance(s, ast.Assign) and len(s.targets) == 1 \
        and isinstance(s.targets[0], ast.Name) else None


def _name(n: str, ctx=None) -> ast.Name:
    return ast.Name(id=n, ctx=ctx or ast.Load())


def _assign(n: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[_name(n, ast.Store())], value=value, lineno=0)


def _call(f: str, args: list) -> ast.Call:
    return ast.Call(func=_name(f), args=list(args), keywords=[])


def _shape0(a: str) -> ast.expr:
    return ast.Subscript(value=ast.Attribute(value=_name(a), attr="shape", ctx=ast.Load()),
                         slice=ast.Constant(0), ctx=ast.Load())


def _length(a: str, cut: int) -> ast.expr:
    """The length of vector `a` with `cut` of its elements left out (none left when it has fewer)."""
    if cut == 0:
        return _shape0(a)
    return _call("max", [ast.BinOp(left=_shape0(a), op=ast.Sub(), right=ast.Constant(cut)), ast.Constant(0)])


def _shifted(index: ast.expr, by: int) -> ast.expr:
    if by == 0:
        return index
    return ast.BinOp(left=index, op=ast.Add() if by > 0 else ast.Sub(), right=ast.Constant(abs(by)))


def _element(array: str, index: ast.expr, start: int) -> ast.expr:
    at = index
    if start:
        if isinstance(index, ast.BinOp) and isinstance(index.right, ast.Constant):
            by = (index.right.value if isinstance(index.op, ast.Add) else -index.right.value) + start
            at = _shifted(index.left, by)
        else:
            at = _shifted(index, start)
    return ast.Subscript(value=_name(array), slice=_copy(at), ctx=ast.Load())


def _at(array: str, index: ast.expr) -> ast.Subscript:
    return ast.Subscript(value=_name(array), slice=index, ctx=ast.Load())


def _stored(e: ast.Subscript) -> ast.Subscript:
    e.ctx = ast.Store()
    return e


def _within(k: ast.expr, start: int, length: ast.expr) -> ast.expr:
    """`k - start < m` (and `k >= start`): element k of the target is one the add at `start` writes."""
    upper = ast.Compare(left=_shifted(k, -start), ops=[ast.Lt()], comparators=[length])
    if start == 0:
        return upper
    return ast.BoolOp(op=ast.And(), values=[ast.Compare(left=k, ops=[ast.GtE()], comparators=[ast.Constant(start)]),
                                            upper])


def _origin(node: ast.stmt, like: ast.stmt) -> ast.stmt:
    node.s2sad_origin = getattr(like, "s2sad_origin", None)
    return node


def _copy(e):
    return copy.deepcopy(e)
