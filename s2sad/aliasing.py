"""Writes that another name sees through shared memory, where s2sad's reading would differ from NumPy's.

- `v = y[1:]`, then `y[1] = ...`, then v read (`check_writes`, on the core language): NumPy's v sees
  the write, the reverse sweep takes v to be the value it had when bound; the gradient would be wrong.
- `v2 = np.flip(v1)`, then `v1 += e`, then v2 read (`check_in_place`, on the user's own code): NumPy's
  `+=` writes into v1 and its views; s2sad reads `v1 = v1 + e`, a new value; value and gradient differ.

Either is refused with the user's line, and the fix, rather than answered differently from the function.
"""
from __future__ import annotations

import ast

from .errors import UnsupportedSyntaxError, located

VIEWS = {"reshape", "ravel", "transpose", "swapaxes", "squeeze", "expand_dims", "broadcast_to", "asarray",
         "moveaxis", "flip", "atleast_1d", "atleast_2d", "view"}     # np.X(y) and y.X(...) that can share y's memory


def shares(value: ast.expr) -> str | None:
    """The name whose memory `value` may share: `y`, `y[1:]`, `y.T`, `np.flip(y)`, `y.reshape(...)`, and
    views of views (`np.reshape(np.ravel(y), ...)`)."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Subscript):
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        if any(isinstance(p, ast.Slice) or isinstance(p, ast.Constant) and p.value in (None, Ellipsis)
               for p in parts):
            return shares(value.value)
        return None
    if isinstance(value, ast.Attribute) and value.attr == "T":
        return shares(value.value)
    if isinstance(value, ast.Call):
        f = value.func
        if isinstance(f, ast.Attribute) and f.attr in VIEWS:
            if not (isinstance(f.value, ast.Name) and f.value.id in ("np", "numpy")):
                return shares(f.value)                 # y.reshape(...), y.view()
            if value.args:
                return shares(value.args[0])           # np.flip(y)
    return None


class _Program:
    """A body's statements in program order, the loops around each, where names are bound (a new
    value, not a write into one) and read, and which bindings share memory with another name."""

    def __init__(self, body: list[ast.stmt]):
        self.order: dict[int, int] = {}
        self.loops: dict[int, frozenset] = {}
        self.stmts: list[ast.stmt] = []
        self.binds: dict[str, list[ast.stmt]] = {}
        self.reads: dict[str, list[ast.stmt]] = {}
        self.shared: list[tuple[ast.stmt, str, str]] = []     # (binding, name bound, name it shares with)
        todo = [(s, frozenset()) for s in reversed(body)]
        while todo:
            st, around = todo.pop()
            self.order[id(st)] = len(self.order)
            self.loops[id(st)] = around
            self.stmts.append(st)
            inner = around | {id(st)} if isinstance(st, (ast.For, ast.While)) else around
            for field in ("orelse", "body"):
                todo.extend((c, inner) for c in reversed(getattr(st, field, []) or []))
            self._note(st)

    def _note(self, st: ast.stmt) -> None:
        if isinstance(st, ast.Assign):
            for t in st.targets:
                if isinstance(t, ast.Name):
                    self.binds.setdefault(t.id, []).append(st)
                    other = shares(st.value)
                    if other is not None and other != t.id:
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

    def sharers(self, written: str, write: ast.stmt, bound_before: bool):
        """(binding, the other name) for each binding that shares memory with `written` and may have
        run before `write` (when `bound_before`), where the other name is read afterwards."""
        for bind, x, y in self.shared:
            if written not in (x, y):
                continue
            if bound_before and self.order[id(bind)] > self.order[id(write)] \
                    and not self.loops[id(bind)] & self.loops[id(write)]:
                continue
            other = y if written == x else x
            if self.seen_after(write, other):
                yield bind, other


def check_writes(body: list[ast.stmt], active, filename: str, where_of) -> None:
    """Element and slice writes (`y[1] = v`, core language) into an active array that a view bound before
    shares, read afterwards. `where_of(statement)` gives the user's (file, line)."""
    prog = _Program(body)
    for st in prog.stmts:
        if not (isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript)
                and isinstance(st.targets[0].value, ast.Name)):
            continue
        written = st.targets[0].value.id
        for bind, other in prog.sharers(written, st, bound_before=False):
            base = other if bind.targets[0].id == written else written
            if not active(base):
                continue                     # no derivative flows through it: NumPy's values are the ones used
            view = bind.targets[0].id
            where = where_of(st) or (filename, None)
            raise UnsupportedSyntaxError(located(
                where[0], where[1], None,
                f"this writes into {written} while {other} shares its memory ({ast.unparse(bind)}) and is "
                f"read afterwards; s2sad does not follow writes through views: make a copy "
                f"(`{view} = {ast.unparse(bind.value)}.copy()`)"))


def check_in_place(tree: ast.FunctionDef, filename: str) -> None:
    """`a += e` (the user's code) into memory that another name bound before shares, read afterwards."""
    prog = _Program(tree.body)
    for st in prog.stmts:
        if not (isinstance(st, ast.AugAssign) and isinstance(st.target, ast.Name)):
            continue
        a = st.target.id
        for bind, other in prog.sharers(a, st, bound_before=True):
            op = _op(st.op)
            raise UnsupportedSyntaxError(located(
                filename, getattr(st, "lineno", None), None,
                f"`{a} {op}= ...` writes into {a} in place, and {other}, which shares its memory "
                f"({ast.unparse(bind)}), is read afterwards: s2sad reads it as `{a} = {a} {op} ...`. "
                f"Write that instead (or copy {other}) so that the function means what s2sad differentiates"))


def _op(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@",
            ast.FloorDiv: "//", ast.Mod: "%"}.get(type(op), "?")
