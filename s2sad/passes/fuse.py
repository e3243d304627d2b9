"""Expression fusion: the generated function's last pass, so NumPy sees whole expressions.

The core language has one primitive per statement, which is what the transforms need but not what
runs fastest: every named temporary keeps its array alive, so NumPy can neither reuse it in place
(its temporary elision) nor skip it. This pass, on the finished forward and reverse sweeps:

- drops an `unbroadcast` of an intermediate's cotangent when every use of it is summed down further
  to one of that intermediate's operands anyway (summing in two steps or one gives the same), so the
  intermediate is no longer kept just for its shape;
- puts each compiler temporary read exactly once back into the expression that reads it
  (`t4 = t0 + t1 * X - Y`), when nothing in between changes what it reads;
- puts a scalar times an array read only by sums into those sums, where algebra.py takes the scalar
  out (a cotangent `s * t4` read only by sums is never formed), and rewrites every product with its
  numbers and scalars first (algebra.py);
- in loop and branch bodies: reuses a value computed again (`t8 = x[i]` after `t2 = x[i]`), sinks a
  reset into the accumulation that follows it, and propagates copies; then drops stores nothing reads.

effects.py says what each statement reads and writes. User-named variables and their adjoints are
never inlined: the file stays readable in their names.
"""
from __future__ import annotations

import ast
import bisect

from .algebra import LINEAR, Algebra, Rewriter
from ..ir.astcopy import clone
from ..ir.prim import walk_stmts
from ..ir.nodes import child_fields, names, walk
from ..analysis.effects import aliases, blocks, covered, definition, header_part, interferes, loads_of, module, nested_defs, parents_reads_bindings, pure, reads, top_defs, writes

_ELEMENTWISE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _unbroadcast_of(e: ast.expr) -> tuple[ast.expr, ast.Name] | None:
    if isinstance(e, ast.Call) and module(e) == "_rt.unbroadcast" and len(e.args) == 2 and not e.keywords \
            and isinstance(e.args[1], ast.Name):
        return e.args[0], e.args[1]
    return None


def _elementwise_leaves(e: ast.expr, bar: str, allowed: set[str], fuser: Algebra) -> bool:
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


def _drop_unbroadcasts(fuser: Algebra, stmts: list[ast.stmt], defs: dict, stores: dict, parents: dict,
                       loads: dict) -> tuple[dict[str, ast.expr], set[str]]:
    """`a_bar = unbroadcast(g, a)` -> `a_bar = g` when a = x op y and every read of a_bar sits in
    `unbroadcast(<a_bar combined elementwise with x, y, a or scalars>, x or y)`. Returns the new values
    ({a_bar: g}), and the names whose renaming (copy propagation) could let one that stayed go too.
    `parents` and `loads`: parents_reads_bindings of the function."""
    changed: dict[str, ast.expr] = {}
    watch: set[str] = set()
    for b in blocks(stmts):
        for s in b:
            d = definition(s)
            if d is None or stores.get(d[0], 0) != 1:
                continue
            bar, value = d
            ub = _unbroadcast_of(value)
            if ub is None or not isinstance(ub[0], ast.Name):
                continue
            a = ub[1].id
            near = {bar, a, ub[0].id}      # what a renaming would have to touch to change the outcome
            if stores.get(a, 0) != 1 or a not in defs:
                watch |= near
                continue
            operands = _elementwise_def(defs[a])
            if operands is None:
                continue
            near |= operands
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
                if top is not None:
                    near |= names(top, True)
                if top is None or top.args[1].id not in operands \
                        or not _elementwise_leaves(top.args[0], bar, operands | {a}, fuser):
                    ok = False
                    break
            if ok:
                s.value = changed[bar] = ub[0]
            else:
                watch |= near
    return changed, watch


def _propagate(stmts: list[ast.stmt], stores: dict, loads: dict[str, list[ast.Name]], keep: set[str]) -> dict[str, str]:
    """`a = b` at the top level, both assigned once (or b a parameter): read b for a (`loads`: the reads
    of each name). Returns the renaming (a -> b)."""
    rename: dict[str, str] = {}
    out = []
    for s in stmts:
        d = definition(s)
        if d and isinstance(d[1], ast.Name) and stores.get(d[0], 0) == 1 and stores.get(d[1].id, 0) <= 1 \
                and d[1].id not in keep and d[0] != d[1].id:
            rename[d[0]] = rename.get(d[1].id, d[1].id)
            continue
        out.append(s)
    for a, b in rename.items():
        for n in loads.get(a, ()):
            n.id = b
    stmts[:] = out
    return rename


def _linear_use(load: ast.Name, root: ast.AST) -> bool:
    """`load` sits in a product that is the first argument of a linear map (a sum, an unbroadcast)."""
    parents = {id(c): p for p in walk(root) for c in ast.iter_child_nodes(p)}
    node = load
    while id(node) in parents:
        par = parents[id(node)]
        if isinstance(par, ast.Call) and module(par) in LINEAR and par.args and par.args[0] is node:
            return True
        if not (isinstance(par, ast.BinOp) and isinstance(par.op, ast.Mult)
                or isinstance(par, ast.UnaryOp) and isinstance(par.op, ast.USub)):
            return False
        node = par
    return False


class _Names:
    """One statement's names, from one walk: the names it binds (nested blocks included), and the reads in
    its header part (`header_part`), each with the place it sits in (node, field, list index or None), so
    that an expression can be put there without a search."""

    __slots__ = ("binds", "loads")

    def __init__(self, s: ast.stmt):
        self.binds: set[str] = set()
        self.loads: dict[str, list[tuple[ast.Name, ast.AST, str, int | None]]] = {}
        self._walk(s, header_part(s))

    def _walk(self, s: ast.AST, header: ast.AST) -> None:
        Name, Load, Store, AST = ast.Name, ast.Load, ast.Store, ast.AST
        stack = [(s, s is header)]
        while stack:
            n, inside = stack.pop()
            for f in child_fields(type(n)):
                v = getattr(n, f, None)
                for k, c in (enumerate(v) if type(v) is list else ((None, v),)):
                    if type(c) is Name:
                        if type(c.ctx) is Store:
                            self.binds.add(c.id)
                        elif inside and type(c.ctx) is Load:
                            self.loads.setdefault(c.id, []).append((c, n, f, k))
                    elif isinstance(c, AST):
                        stack.append((c, inside or c is header))

    def put(self, value: ast.expr, node: ast.AST, field: str, k: int | None) -> None:
        """Record the reads of a pure `value` just put in the header at (node, field, k): walking only
        the value, not the statement again (a chain of temporaries inlined into one statement would
        walk it once per link)."""
        if type(value) is ast.Name:
            self.loads.setdefault(value.id, []).append((value, node, field, k))
        else:
            self._walk(value, value)


def _inline_block(fuser: Algebra, block: list[ast.stmt], local: set[str], tail: ast.stmt | None,
                  alias: dict[str, str], only: set[str] | None = None) -> bool:
    """Put each temporary where it is read: a temporary read once, and a scalar times an array read
    only by sums (so the scalar moves out of them). Same block, same user line, and nothing in
    between changes what it reads. `only`: the temporaries to look at (all if None)."""
    seq = block + ([tail] if tail is not None else [])
    index: list[_Names | None] = [None] * len(seq)     # walked when first asked, then kept up to date
    where_read: dict[str, list[int]] = {}     # name -> statements (in order) that read or bind it
    for j, s in enumerate(seq):
        for v in names(s, False):
            where_read.setdefault(v, []).append(j)
    memo: dict[int, object] = {}
    gone: set[int] = set()
    for i, st in enumerate(block):
        d = definition(st)
        if d is None or d[0] not in local or not fuser.temporary(d[0]) or (only is not None and d[0] not in only):
            continue
        name, value = d
        where = getattr(st, "s2sad_origin", None)
        uses: list[tuple[int, tuple]] = []
        ok = True
        for j in where_read.get(name, []):
            if j <= i:
                continue
            s = seq[j]
            ix = index[j]
            if ix is None:
                ix = index[j] = _Names(s)
            found = ix.loads.get(name)
            if found:
                simple = isinstance(s, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return, ast.If, ast.For))
                if not simple or not (s is tail or getattr(s, "s2sad_origin", None) == where):
                    ok = False
                    break
                uses.extend((j, place) for place in found)
            if name in ix.binds:
                break
            if not found:
                ok = False              # read only inside a nested block: it stays
                break
        if not ok or not uses or not pure(value):
            continue
        if len(uses) > 1:
            scaled = fuser.split_scalar(value)
            if not (scaled[0] is not None and isinstance(scaled[1], ast.Name)
                    and all(_linear_use(place[0], seq[j]) for j, place in uses)):
                continue
        last = uses[-1][0]
        needs = reads(value)
        if any(interferes(seq[j], needs, alias, memo) for j in range(i + 1, last) if j not in gone):
            continue
        for j in {j for j, _ in uses}:
            del index[j].loads[name]
        for u, (j, (_, node, field, k)) in enumerate(uses):
            moved = value if u == len(uses) - 1 else clone(value)     # the definition goes: its value moves
            if k is None:
                setattr(node, field, moved)
            else:
                getattr(node, field)[k] = moved
            index[j].put(moved, node, field, k)  # (what it binds is the same: the value is pure)
            for v in needs:                      # the statement now reads what the value read
                _insert_sorted(where_read.setdefault(v, []), j)
        gone.add(i)
    block[:] = [st for i, st in enumerate(block) if i not in gone]
    return bool(gone)


def _insert_sorted(positions: list[int], k: int) -> None:
    """Add `k` to the sorted list `positions` of distinct numbers, unless there."""
    at = bisect.bisect_left(positions, k)
    if at == len(positions) or positions[at] != k:
        positions.insert(at, k)


def _cse(fuser: Algebra, block: list[ast.stmt], alias: dict[str, str]) -> bool:
    """A temporary computed again from unchanged values (`t8 = x[i]` after `t2 = x[i]`) reads the first."""
    avail: dict[str, tuple[str, set[str]]] = {}      # expression -> (name holding it, names it reads)
    changed = False
    for s in block:
        d = definition(s)
        key = None
        if d and fuser.temporary(d[0]) and not isinstance(d[1], (ast.Name, ast.Constant)) and pure(d[1]):
            key = ast.dump(d[1])
            if key in avail:
                s.value = ast.Name(id=avail[key][0], ctx=ast.Load())
                changed = True
                key = None
        w = writes(s)
        if w is None:
            avail.clear()
        else:
            rebinds, mutates = w
            hit = rebinds | {alias.get(v, v) for v in mutates}
            avail = {k: (n, r) for k, (n, r) in avail.items()
                     if n not in rebinds and not (r & rebinds) and not ({alias.get(v, v) for v in r} & hit)}
        if key is not None and d[0] not in reads(d[1]):
            avail[key] = (d[0], reads(d[1]))
    return changed


def _sink_resets(block: list[ast.stmt]) -> bool:
    """`v = 0.0`, then, with nothing reading v in between, `v = v + e` -> just `v = e` there."""
    changed = False
    i = 0
    while i < len(block):
        d = definition(block[i])
        if d is None or not (isinstance(d[1], ast.Constant) and d[1].value == 0.0 and type(d[1].value) is float):
            i += 1
            continue
        v = d[0]
        for j in range(i + 1, len(block)):
            s = block[j]
            e = definition(s)
            if e and e[0] == v and isinstance(e[1], ast.BinOp) and isinstance(e[1].op, ast.Add) \
                    and isinstance(e[1].left, ast.Name) and e[1].left.id == v and v not in reads(e[1].right):
                s.value = e[1].right
                del block[i]
                changed = True
                i -= 1
                break
            w = writes(s)
            if v in reads(s) or w is None or v in w[0]:
                break
        i += 1
    return changed


def _local_copies(fuser: Algebra, block: list[ast.stmt], local: set[str]) -> bool:
    """`a = b` in a block (a a temporary read only after it): read b for a until b changes; the copy
    goes when no read of a is left. `v = v` goes."""
    changed = False
    i = 0
    while i < len(block):
        d = definition(block[i])
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
            loads = loads_of(s, a)
            for m in loads:
                m.id = b
                changed = True
            w = writes(s)
            if a in top_defs(s) or a in nested_defs(s):
                break
            if w is None or b in w[0] or b in nested_defs(s):
                left = any(loads_of(t, a) for t in block[j + 1:])
                break
        if not left:
            del block[i]
            changed = True
            continue
        i += 1
    return changed


def dead_stores(stmts: list[ast.stmt], ret: ast.stmt, user: set[str]) -> bool:
    """Drop `v = e` (e pure, v not a user variable) that nothing reads afterwards: no read later in the
    function and, inside a loop, none in that loop (its next iteration). `c_bar = 0.0` at the end of a
    branch goes."""
    order: dict[int, int] = {}
    outer: dict[int, ast.stmt | None] = {}         # statement -> the outermost loop around it
    arms: dict[int, dict[int, str]] = {}           # statement -> {if: the branch it is in}
    read_at: dict[str, list[tuple[int, dict]]] = {}
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
        for n in reads(header_part(st)):
            read_at.setdefault(n, []).append((order[id(st)], arm))
    order[id(ret)] = len(order)
    for n in reads(ret):
        read_at.setdefault(n, []).append((order[id(ret)], {}))
    span: dict[int, tuple[int, int]] = {}
    for b in blocks(stmts):
        for st in b:
            if isinstance(st, (ast.For, ast.While)):
                inner = [order[id(c)] for c in walk_stmts([st])]
                span[id(st)] = (min(inner), max(inner))

    def dead(st: ast.stmt) -> bool:
        d = definition(st)
        if d is None or d[0] in user or d[0] == "tape":
            return False
        at, arm = order[id(st)], arms[id(st)]
        loop = outer[id(st)]
        lo = span[id(loop)][0] if loop is not None else at
        for r, rarm in read_at.get(d[0], []):
            other_branch = any(k in arm and arm[k] != b for k, b in rarm.items())
            if (r > at and not other_branch) or (loop is not None and r >= lo):
                return False
        return pure(d[1])              # (last: most definitions are read, and this walks the value)

    dropped = False
    for b in blocks(stmts):
        kept = [st for st in b if not dead(st)]
        dropped = dropped or len(kept) < len(b)
        b[:] = kept or ([ast.Pass()] if b is not stmts else [])
    return dropped


_FRESH = frozenset({"_rt.zeros", "np.zeros", "np.zeros_like"})     # calls that return an array of its own


def target_of(st: ast.stmt) -> ast.expr:
    """What an assignment or an augmented assignment writes to."""
    return st.targets[0] if isinstance(st, ast.Assign) else st.target


def dead_arrays(stmts: list[ast.stmt], ret: ast.stmt, user: set[str]) -> bool:
    """Drop an array made here (`v = _rt.zeros(x)`, v assigned nowhere else, not a user variable) that
    is only written into (`v[i] = e` or `v[i] += e`, e pure and may read v) and read nowhere else: its
    writes and itself go (a gradient's own accumulator, when only its tangent is returned)."""
    made: dict[str, ast.stmt] = {}
    stores: dict[str, int] = {}
    writes: dict[str, list[ast.stmt]] = {}
    read: set[str] = set(reads(ret))
    for b in blocks(stmts):
        for st in b:
            head = [st.target, st.iter] if isinstance(st, ast.For) else [header_part(st)]
            for n in (n for h in head for n in walk(h)):
                if type(n) is ast.Name and type(n.ctx) is not ast.Load:
                    stores[n.id] = stores.get(n.id, 0) + 1
            d = definition(st)
            if d is not None and isinstance(d[1], ast.Call) and module(d[1]) in _FRESH:
                made[d[0]] = st
            target = target_of(st) if isinstance(st, ast.AugAssign) or isinstance(st, ast.Assign) \
                and len(st.targets) == 1 else None
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                v = target.value.id
                writes.setdefault(v, []).append(st)
                read |= reads(header_part(st)) - {v}
            else:
                read |= reads(header_part(st))
    gone = {id(st) for v, st in made.items() if stores.get(v) == 1 and v not in user and v not in read
            and all(pure(w.value) and pure(target_of(w).slice) for w in writes.get(v, []))
            for st in [st] + writes.get(v, [])}
    for b in blocks(stmts):
        if any(id(st) in gone for st in b):
            b[:] = [st for st in b if id(st) not in gone] or ([ast.Pass()] if b is not stmts else [])
    return bool(gone)


def augmented_writes(stmts: list[ast.stmt]) -> None:
    """`a[i] = a[i] + e` where the user wrote `a[i] += e` (and its tangent's write), written so again
    once fused: the sum goes into a's memory, no array is made for it. Not when e reads a name that
    may share a's memory (an overlap NumPy would resolve but another backend might not)."""
    alias = aliases(stmts)
    for b in blocks(stmts):
        for k, st in enumerate(b):
            if not getattr(st, "s2sad_augmented", False) or definition(st) is not None:
                continue
            target, value = st.targets[0], st.value
            if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                    and isinstance(value, ast.BinOp) and type(value.op) in (ast.Add, ast.Sub)
                    and isinstance(value.left, ast.Subscript) and isinstance(value.left.value, ast.Name)
                    and value.left.value.id == target.value.id
                    and ast.dump(value.left.slice) == ast.dump(target.slice) and pure(target.slice)):
                continue
            base = alias.get(target.value.id, target.value.id)
            if any(alias.get(n, n) == base for n in reads(value.right)):
                continue
            aug = ast.AugAssign(target=target, op=value.op, value=value.right, lineno=0, col_offset=0)
            aug.s2sad_origin = getattr(st, "s2sad_origin", None)
            b[k] = aug


def no_empty_blocks(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The passes above may empty a block (a copy `v = v` gone): an `if` with an empty body tests the
    opposite and keeps its `else`; one with nothing left in either goes (its test is a name); an empty
    loop body gets `pass`."""
    out = []
    for st in stmts:
        if isinstance(st, ast.If):
            st.body, st.orelse = no_empty_blocks(st.body), no_empty_blocks(st.orelse)
            if not st.body and not st.orelse and not _calls(st.test):
                continue
            if not st.body and st.orelse:
                test = st.test
                st.test = test.operand if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) \
                    else ast.UnaryOp(op=ast.Not(), operand=test)
                st.body, st.orelse = st.orelse, []
            st.body = st.body or [ast.Pass()]
        elif isinstance(st, (ast.For, ast.While)):
            st.body = no_empty_blocks(st.body) or [ast.Pass()]
        out.append(st)
    return out


def _calls(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in walk(node))


def _merge_resets(block: list[ast.stmt]) -> set[str]:
    """`v = e1` then `v = v + e2` (e2 not reading v) -> `v = e1 + e2`. Returns what the merged statements
    read: the temporaries a merge may let be inlined (the reset between a temporary's definition and its
    use in `v + e2` was what stopped it)."""
    merged: set[str] = set()
    i = 0
    while i + 1 < len(block):
        a, b = definition(block[i]), definition(block[i + 1])
        if a and b and a[0] == b[0] and isinstance(b[1], ast.BinOp) and isinstance(b[1].op, (ast.Add, ast.Sub)) \
                and isinstance(b[1].left, ast.Name) and b[1].left.id == a[0] and a[0] not in reads(b[1].right) \
                and getattr(block[i], "s2sad_origin", None) == getattr(block[i + 1], "s2sad_origin", None):
            block[i + 1].value = ast.BinOp(left=a[1], op=b[1].op, right=b[1].right)
            merged |= reads(block[i + 1].value)
            del block[i]
            continue
        i += 1
    return merged


def fuse(parts: list[list[ast.stmt]], ret: ast.stmt, params: list[str], user_names: set[str],
         scalars: set[str] = frozenset(), keep: set[str] = frozenset({"out_bar"}),
         as_written: frozenset[int] = frozenset()) -> list[list[ast.stmt]]:
    """Fuse the top-level blocks `parts` (run one after another, then `ret`) of a function of `params`;
    `scalars`: parameters known to be numbers or 0-d; the products of the statements `as_written` (ids:
    the user's own computation) keep their order. Returns the new blocks."""
    owner = {id(s): i for i, b in enumerate(parts) for s in b}
    stmts = [s for b in parts for s in b]
    fuser = Algebra(user_names, scalars)
    for _ in range(4):       # cotangents freed from unbroadcasts, then copies gone: each can open the other
        trees = stmts + [ret]
        fuser.infer_scalars(trees, params)
        parents, loads, stores = parents_reads_bindings(trees, params)
        defs = {d[0]: d[1] for n in walk_stmts(trees) if isinstance(n, ast.Assign) for d in [definition(n)] if d}
        opened, watch = _drop_unbroadcasts(fuser, stmts, defs, stores, parents, loads)
        rename = _propagate(stmts, stores, loads, set(keep))
        if not (opened and watch & (set(rename) | set(rename.values()))):
            break
    fuser.revise(opened, rename)
    alias = aliases(stmts)
    local = covered(stmts + [ret])
    for b in list(blocks(stmts)):
        if b is not stmts:          # loop and branch bodies (the top level had its copies propagated)
            _cse(fuser, b, alias)
            _sink_resets(b)
            _local_copies(fuser, b, local)
        only = None
        while _inline_block(fuser, b, local, ret if b is stmts else None, alias, only):
            only = _merge_resets(b)     # a merged reset may let a temporary it reads be inlined: look again
            if not only:
                break
    alg = Rewriter(fuser)
    for t in stmts + [ret]:
        alg.stmt(t, as_written)
    dead_stores(stmts, ret, user_names)
    stmts[:] = no_empty_blocks(stmts)
    out: list[list[ast.stmt]] = [[] for _ in parts]
    last = 0
    for s in stmts:
        last = owner.get(id(s), last)
        out[last].append(s)
    return out
