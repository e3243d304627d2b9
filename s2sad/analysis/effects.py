"""What a statement of generated code reads, writes and binds: the facts the fusion pass moves
expressions by. Quick walks (this is run over every statement of every gradient), purity of calls,
names that may share memory (views), and which reads a definition reaches."""
from __future__ import annotations

import ast

from .aliasing import views
from .. import backends
from ..rules import RULES, RUNS_USER_CODE, flagged
from ..ir.prim import walk_stmts
from ..ir.names import dotted
from ..ir.nodes import child_fields, names, push_children, walk

_PURE_UNRULED = {"min", "max"}     # Python builtins generated code may call that have no rule


def parents_reads_bindings(trees, params=()) -> tuple[dict[int, ast.AST], dict[str, list[ast.Name]], dict[str, int]]:
    """(node id -> the node it sits in, name -> its reads, name -> how many times it is bound, the
    parameters `params` once) over `trees`, in one walk (contexts and operators, which no one asks
    about, left out)."""
    parents: dict[int, ast.AST] = {}
    loads: dict[str, list[ast.Name]] = {}
    stores: dict[str, int] = {p: 1 for p in params}
    AST, Name, Load = ast.AST, ast.Name, ast.Load
    stack = list(trees)
    while stack:
        p = stack.pop()
        if type(p) is Name:
            if type(p.ctx) is Load:
                loads.setdefault(p.id, []).append(p)
            else:
                stores[p.id] = stores.get(p.id, 0) + 1
            continue
        for f in child_fields(type(p)):
            v = getattr(p, f, None)
            children = v if type(v) is list else (v,)
            for c in children:
                if isinstance(c, AST):
                    parents[id(c)] = p
                    stack.append(c)
    return parents, loads, stores


def module(call: ast.Call) -> str:
    parts = dotted(call.func)
    return ".".join(parts) if parts else ""


def pure_call(call: ast.Call) -> bool:
    key = module(call)
    if not key or any(k.arg == "out" for k in call.keywords):
        return False
    head = key.split(".")[0]
    if head in backends.ALIASES:     # np.sin, cp.sin
        return not key.split(".")[1:2] == ["random"]
    if head == "math":
        return True
    if key.startswith("scipy.special."):
        return key in RULES and key not in flagged("impure")
    if head == "_rt":
        return key not in flagged("impure") and key not in RUNS_USER_CODE
    if key in _PURE_UNRULED:
        return True
    return "." not in key and key in RULES and key not in flagged("impure")   # float(), len(), range()...


_IMPURE_NODES = frozenset({ast.Lambda, ast.NamedExpr, ast.Starred, ast.ListComp, ast.SetComp, ast.DictComp,
                           ast.GeneratorExp, ast.Await, ast.Yield, ast.YieldFrom})


def pure(e: ast.expr) -> bool:
    """An expression whose value depends only on the names it reads, and that changes nothing."""
    stack = [e]
    Call, Name, Constant = ast.Call, ast.Name, ast.Constant
    while stack:                  # (a walk without a generator: this runs on every statement, often)
        n = stack.pop()
        t = type(n)
        if t is Name or t is Constant:
            continue
        if t is Call:
            if not pure_call(n):
                return False
        elif t in _IMPURE_NODES:
            return False
        push_children(n, stack)
    return True


def reads(node: ast.AST) -> set[str]:
    return names(node, True)


def writes(node: ast.AST) -> tuple[set[str], set[str]] | None:
    """(names `node` rebinds, names whose memory it writes into), nested blocks included; None: it may
    change anything (a call with effects other than on the tape)."""
    rebinds: set[str] = set()
    mutates: set[str] = set()
    for n in walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            rebinds.add(n.id)
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            mutates.add(base_name(n))
        elif isinstance(n, ast.AugAssign):
            mutates.add(base_name(n.target))          # `a += b` on an array writes into it
        elif isinstance(n, ast.Call) and not pure_call(n):
            f = n.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "tape":
                mutates.add("tape")
            else:
                return None
    return rebinds, mutates - {None}


def base_name(e: ast.expr) -> str | None:
    while isinstance(e, (ast.Subscript, ast.Attribute)):
        e = e.value
    return e.id if isinstance(e, ast.Name) else None


def interferes(s: ast.stmt, needs: set[str], alias: dict[str, str], memo: dict) -> bool:
    """Whether `s` may change the value of an expression that reads `needs`."""
    if id(s) not in memo:
        memo[id(s)] = writes(s)
    w = memo[id(s)]
    if w is None:
        return True
    rebinds, mutates = w
    return bool(rebinds & needs) or bool({alias.get(v, v) for v in mutates} & {alias.get(v, v) for v in needs})




def aliases(trees) -> dict[str, str]:
    """Each name's class of names that may share memory (views: `v = x[1:]`, `v = x.T`, `v = x`)."""
    root: dict[str, str] = {}

    def find(v: str) -> str:
        while root.get(v, v) != v:
            v = root[v]
        return v

    for n in walk_stmts(trees):
        if isinstance(n, ast.Assign):
            base = n.value
            while True:
                if isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                elif isinstance(base, ast.Call) and module(base)[3:] in views() and module(base).startswith("np.") and base.args:
                    base = base.args[0]
                else:
                    break
            if not isinstance(base, ast.Name):
                continue
            for tgt in n.targets:
                for m in walk(tgt):
                    if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                        a, b = find(m.id), find(base.id)
                        if a != b:
                            root[a] = b
    known = set(root) | set(root.values())
    return {v: find(v) for v in known}


def definition(s: ast.stmt) -> tuple[str, ast.expr] | None:
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
        return s.targets[0].id, s.value
    return None


def blocks(stmts: list[ast.stmt]):
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


def top_defs(s: ast.stmt) -> set[str]:
    """Names a statement binds at its own level (not inside its nested blocks)."""
    if isinstance(s, ast.Assign):
        return {m.id for t in s.targets for m in walk(t) if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store)}
    if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
        return {s.target.id}
    return set()


def nested_defs(s: ast.stmt) -> set[str]:
    out: set[str] = set()
    for field in ("body", "orelse"):
        for inner in getattr(s, field, None) or []:
            if isinstance(inner, ast.stmt):
                out |= {m.id for m in walk(inner) if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store)}
    if isinstance(s, ast.For):
        out |= {m.id for m in walk(s.target) if isinstance(m, ast.Name)}
    return out


def covered(block: list[ast.stmt]) -> set[str]:
    """Names read in `block` (nested blocks included) only where a definition before the read, in the
    read's own block, certainly gives the value read."""
    read: set[str] = set()
    return read - _uncovered(block, read)


def _uncovered(block: list[ast.stmt], read: set[str]) -> set[str]:
    """Names read in `block` somewhere not preceded, in the read's own block, by a definition whose value
    is certainly the one read; adds every name read to `read`."""
    defined: set[str] = set()
    out: set[str] = set()
    for s in block:
        here = reads(header_part(s))
        read |= here
        out |= here - defined
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                out |= _uncovered(inner, read)
        defined -= nested_defs(s)
        defined |= top_defs(s)
    return out


def loads_of(s: ast.stmt, name: str) -> list[ast.Name]:
    """The reads of `name` in the part of statement `s` that header_part names (the caller refuses a
    while's test, which runs again and again)."""
    return [m for m in walk(header_part(s)) if isinstance(m, ast.Name) and m.id == name
            and isinstance(m.ctx, ast.Load)]


def header_part(st: ast.stmt) -> ast.AST:
    """The part of a statement that is not a nested block: all of a simple statement, an if's or a
    while's test, a for's iterable."""
    if isinstance(st, (ast.If, ast.While)):
        return st.test
    if isinstance(st, ast.For):
        return st.iter
    return st
