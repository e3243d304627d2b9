"""Dead code once the output's value is not returned (`grad` of a provably scalar function).

`grad(f)` needs only the gradient. When f's output is a full reduction (so certainly a scalar: no check
of its shape is needed), the statements that only computed the value are removed. A runtime helper
that reads only a shape (`_rt.unbroadcast(g, t6)`) is pointed at a live variable of the same shape
(`t4`, by shapes.py) so that the value it names can go too.
"""
from __future__ import annotations

import ast
from collections.abc import Container

from .. import rules
from ..ir.nodes import push_children, walk
from ..ir.prim import is_assign, names_read, walk_stmts
from ..analysis.shapes import ShapeClasses


def shape_arg(node: ast.AST) -> ast.Name | None:
    """The argument of a runtime helper call read only for its shape (its rule's shape_arg), if a name."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "_rt":
        i = rules.shape_arg(f"_rt.{node.func.attr}")
        if i is not None and i < len(node.args) and isinstance(node.args[i], ast.Name):
            return node.args[i]
    return None


class _Walk:
    """What one walk of a node finds: the names it reads but for a runtime helper's shape arguments
    (`strong`), those shape arguments, and whether it calls a user's function (custom rules, recursion).
    The shape arguments are kept as Name nodes, not ids: a round may point one elsewhere (to another
    variable of the same shape: never to or from the tape)."""

    __slots__ = ("strong", "shapes", "effect")

    def __init__(self, node: ast.AST):
        loads: list[ast.Name] = []
        self.shapes: list[ast.Name] = []
        self.effect = False                 # has_effect of the node walked
        Name, Load, Call, Attribute = ast.Name, ast.Load, ast.Call, ast.Attribute
        stack = [node]
        while stack:                        # (a walk without a generator: prune's first round walks everything)
            n = stack.pop()
            t = type(n)
            if t is Name:
                if type(n.ctx) is Load:
                    loads.append(n)
                self.effect = self.effect or n.id == "tape"
                continue
            if t is Call:
                a = shape_arg(n)
                if a is not None:
                    self.shapes.append(a)
            elif t is Attribute and type(n.value) is Name and n.value.id == "_rt" \
                    and n.attr.startswith(("custom", "recurse")):
                self.effect = True
            push_children(n, stack)
        shape_ids = {id(n) for n in self.shapes}
        self.strong: set[str] = {n.id for n in loads if id(n) not in shape_ids}   # no round changes these


_BLOCKS = ("body", "orelse")


class _Walks:
    """The walks of the statements prune's rounds look at, each done once: a statement without nested
    blocks is not changed by a round (but for the ids of its shape arguments, which `_Walk` follows);
    an `if`'s or a loop's header is walked once and its blocks, which rounds rewrite, looked into each
    time. Any other statement with blocks is walked again whenever asked."""

    def __init__(self):
        self._done: dict[ast.AST, _Walk] = {}

    def of(self, node: ast.AST) -> _Walk:
        """The walk of `node`, whole (nested blocks included)."""
        found = self._done.get(node)
        if found is None:
            found = _Walk(node)
            if not any(isinstance(getattr(node, f, None), list) for f in _BLOCKS):
                self._done[node] = found
        return found


def _live(trees, walks: _Walks, stable: set[str], shapes: ShapeClasses) -> set[str]:
    """Names whose values matter: read by the return, by effects (the tape, writes into arrays, custom
    calls), by control flow, or by an assignment to a name that matters (to a fixed point: a loop's
    `t1 = x * c; x = t1 + d` keeps neither alive by itself). A runtime helper's shape argument is pointed
    at a name of the same shape that matters anyway and is bound once (`stable`), where there is one;
    else its name matters too."""
    defs: dict[str, list[tuple[_Walk, str | None]]] = {}
    roots: list[_Walk] = []
    stmts = [t for t in trees if isinstance(t, ast.stmt) and not isinstance(t, ast.Return)]
    _reads_of_statements(stmts, walks, defs, roots)
    live: set[str] = set()
    for t in trees:
        if isinstance(t, ast.Return):
            live.update(names_read(t))
    todo = list(live)
    waiting: list[ast.Name] = []           # shape arguments read by what matters

    def take(w: _Walk, also: str | None = None) -> None:
        for r in w.strong if also is None else w.strong | {also}:
            if r not in live:
                live.add(r)
                todo.append(r)
        waiting.extend(w.shapes)

    for w in roots:
        take(w)
    while todo:
        while todo:                        # each name once: linear in the code's size
            for w, also in defs.get(todo.pop(), ()):
                take(w, also)
        shape_args, waiting = waiting, []
        for n in shape_args:               # (a name made to matter below is a candidate for the next)
            if n.id in live:
                continue
            subs = sorted(u for u in stable if u in live and shapes.same(u, n.id))
            if subs:
                n.id = subs[0]
            else:
                live.add(n.id)
                todo.append(n.id)
    return live


def _reads_of_statements(stmts: list[ast.stmt], walks: _Walks, defs: dict, roots: list) -> None:
    """Into `defs`: name -> (the walk of the value, a name it reads besides) of each assignment without
    effects in `stmts`; into `roots`: the walks of what every other statement reads. (A function of the
    module, not a closure calling itself: that would be a reference cycle keeping the walks alive until
    the cycle collector runs.)"""
    for s in stmts:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and not walks.of(s).effect:
            defs.setdefault(s.targets[0].id, []).append((walks.of(s.value), None))
            continue
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name) and not walks.of(s).effect:
            # `trips1 += 1` reads trips1: it matters only if trips1 does, and then so does `trips1 = 0`
            defs.setdefault(s.target.id, []).append((walks.of(s.value), s.target.id))
            continue
        if isinstance(s, (ast.If, ast.While)):
            roots.append(walks.of(s.test))
        elif isinstance(s, ast.For):
            roots.append(walks.of(s.iter))
        else:
            roots.append(walks.of(s))
        for field in _BLOCKS:
            block = getattr(s, field, None)
            if isinstance(block, list):
                _reads_of_statements(block, walks, defs, roots)


def has_effect(s: ast.stmt) -> bool:
    """Whether a statement touches the tape or calls a user's function (custom rules, recursion)."""
    for n in walk(s):
        if isinstance(n, ast.Name) and n.id == "tape":
            return True
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "_rt" \
                and n.attr.startswith(("custom", "recurse")):
            return True
    return False


def _top_level_once(stmts: list[ast.stmt]) -> set[str]:
    counts: dict[str, int] = {}
    nested: set[str] = set()
    for s in stmts:
        for n in walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                counts[n.id] = counts.get(n.id, 0) + 1
                if not isinstance(s, ast.Assign):
                    nested.add(n.id)
    return {v for v, c in counts.items() if c == 1 and v not in nested}


def _drop(stmts: list[ast.stmt], live: Container[str], walks: _Walks) -> tuple[list[ast.stmt], bool]:
    """`stmts` without the assignments to names not `live` and the branches and loops left empty."""
    out, changed = [], False
    for s in stmts:
        for field in ("body", "orelse"):
            block = getattr(s, field, None)
            if isinstance(block, list) and block:
                new, ch = _drop(block, live, walks)
                setattr(s, field, new or [ast.Pass()])
                changed |= ch
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) \
                and s.targets[0].id not in live and not walks.of(s).effect:
            changed = True
            continue
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name) and s.target.id not in live \
                and not walks.of(s).effect:
            changed = True
            continue
        if isinstance(s, ast.If) and all(isinstance(b, ast.Pass) for b in s.body + s.orelse) \
                and not any(isinstance(n, ast.Call) for n in walk(s.test)):
            changed = True          # both branches left with nothing to do (the test is kept if read later)
            continue
        if isinstance(s, ast.For) and all(isinstance(b, ast.Pass) for b in s.body) and not s.orelse \
                and not (isinstance(s.target, ast.Name) and s.target.id in live):
            changed = True          # a loop left with nothing to do (its range is kept for the reverse sweep)
            continue
        out.append(s)
    return out, changed


def _compound(blocks: list[list[ast.stmt]]) -> int:
    """How many branches and loops `blocks` hold (nested ones too)."""
    return sum(isinstance(st, (ast.If, ast.For, ast.While)) for st in walk_stmts([s for b in blocks for s in b]))


def prune(blocks: list[list[ast.stmt]], ret: ast.Return, shapes: ShapeClasses, params: list[str]) -> list:
    """Remove assignments nothing reads, in `blocks` (forward sweep, reverse sweep), to a fixed point."""
    stable = set(params) | _top_level_once(blocks[0])
    walks = _Walks()
    for _ in range(50):
        trees = [s for b in blocks for s in b] + [ret]
        live = _live(trees, walks, stable, shapes)
        compound = _compound(blocks)
        for i, b in enumerate(blocks):
            blocks[i], _ = _drop(b, live, walks)
        if _compound(blocks) == compound:
            break                       # again only when a branch or a loop left empty went, with its reads
    return blocks


def run(fwd: list[ast.stmt], rev: list[ast.stmt], ret: ast.Return, shapes: ShapeClasses, params: list[str],
        recomputed: set[str]) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """The forward and reverse sweeps without what only computed the value (not returned)."""
    fwd, rev = prune([fwd, rev], ret, shapes, params)
    return drop_recomputed(fwd, rev, ret, recomputed), rev


def _targets(st: ast.stmt) -> list[str]:
    return [t.id for t in st.targets if isinstance(t, ast.Name)]


def drop_recomputed(fwd: list[ast.stmt], rev: list[ast.stmt], ret: ast.stmt, recomputed: set[str]) -> list:
    """The forward sweep without the definitions of temporaries that only the reverse sweep reads, which
    recomputes them itself (then a loop with nothing left to do goes too). A temporary the reverse sweep
    reads for its shape only (`_rt.unbroadcast(x_bar, t12)`) is not recomputed there: its definition stays."""
    recomputed = recomputed & {v for st in walk_stmts(rev) if is_assign(st) for v in _targets(st)}
    walks = _Walks()
    for _ in range(20):
        read_fwd = set()
        for st in walk_stmts(fwd):
            if is_assign(st) and isinstance(st.targets[0], ast.Name) and st.targets[0].id in recomputed:
                read_fwd |= {r for r in names_read(st.value) if r != st.targets[0].id} - recomputed
                continue
            read_fwd |= names_read(st)
        read_fwd |= names_read(ret)
        # a recomputed temporary read by another one that stays is kept too
        keep = _closure({t for t in recomputed if t in read_fwd}, _value_reads(fwd), recomputed)
        fwd, changed = _drop(fwd, _AllBut(recomputed - keep), walks)
        empty = [st for st in fwd if isinstance(st, ast.For) and all(isinstance(b, ast.Pass) for b in st.body)
                 and isinstance(st.target, ast.Name) and st.target.id not in read_fwd]
        if empty:                          # a loop with nothing left to do (its range stays for the reverse loop)
            fwd = [st for st in fwd if st not in empty]
            changed = True
        if not changed:
            break
    return fwd


class _AllBut:
    """Every name but those in `gone`: the names _drop keeps the assignments of."""

    def __init__(self, gone: set[str]):
        self.gone = gone

    def __contains__(self, name: str) -> bool:
        return name not in self.gone


def _value_reads(stmts: list[ast.stmt]) -> dict[str, set[str]]:
    """Name -> what the values assigned to it read, over every `name = value` in `stmts` (nested too)."""
    out: dict[str, set[str]] = {}
    for st in walk_stmts(stmts):
        if is_assign(st) and isinstance(st.targets[0], ast.Name):
            out.setdefault(st.targets[0].id, set()).update(names_read(st.value))
    return out


def _closure(start: set[str], reads: dict[str, set[str]], within: set[str]) -> set[str]:
    """`start` and the names in `within` that those read, transitively (each name looked at once)."""
    out = set(start)
    todo = list(start)
    while todo:
        for r in reads.get(todo.pop(), ()):
            if r in within and r not in out:
                out.add(r)
                todo.append(r)
    return out
