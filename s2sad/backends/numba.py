"""The numba backend: the generated NumPy code compiled to machine code by numba.

The file is the NumPy backend's, decorated `@numba.njit(cache=True, error_model="numpy")`: numba
compiles it at the first call for the arguments' types and keeps the machine code beside the file
(generated/__pycache__), so a new process loads it instead of compiling again. `error_model="numpy"`
keeps NumPy's arithmetic (1.0 / 0.0 is inf, not a ZeroDivisionError). Runtime helpers come from
s2sad.runtime.jitted, which has numba forms of the common ones; the lowering here rewrites what numba
spells otherwise and refuses, with the user's line, any helper that has no numba form yet. What numba
itself cannot compile is reported when it compiles, at the first call, as a DifferentiationError naming
the user's line; there is no silent fallback to NumPy.
"""
from __future__ import annotations

import ast
import functools
import importlib
import re
from typing import Any, Callable

import numpy as np

from ..errors import DifferentiationError
from .loops import fuse_loops
from .base import (NUMPY_ALIAS, Backend, dotted, raised_in, refuse_at, refuse_scipy, made_apart, split_tapes,
                   tape_used_otherwise, user_line_at)

RUNTIME = "s2sad.runtime.jitted"
_WAY_OUT = "use backend='numpy' for this function"
# NumPy reductions numba takes without an axis or keepdims: with them, the runtime's `<op>_along` (`_kept`)
_REDUCTIONS = {f"{NUMPY_ALIAS}.{name}": op for op, names in
               {"max": ("max", "amax"), "min": ("min", "amin"), "sum": ("sum",), "mean": ("mean",)}.items()
               for name in names}


@functools.cache
def _vectorised() -> frozenset[str]:
    """`tanh`, `exp`, ...: the NumPy functions the runtime runs with NumPy's own loop on a large array
    (s2sad.runtime.jitted.VECTORISED)."""
    return frozenset(importlib.import_module(RUNTIME).VECTORISED)


@functools.cache
def _jitted_names() -> frozenset[str]:
    """The runtime helpers that have a numba form (the public functions of s2sad.runtime.jitted)."""
    module = importlib.import_module(RUNTIME)
    return frozenset(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                     and getattr(v, "__module__", "") == RUNTIME)


class NumbaBackend(Backend):
    """NumPy code compiled by numba: NumPy arrays in and out; loops run as machine code."""

    name = "numba"
    module = "numba"
    arrays = "numpy"
    alias = NUMPY_ALIAS
    title = "numba"
    runtime = RUNTIME
    decorator = 'numba.njit(cache=True, error_model="numpy")'
    decorator_import = "import numba"
    by_kinds = True            # its gradient's statements on vectors become one loop (loops.py)

    def owns(self, x: Any) -> bool:
        return False               # its arrays are NumPy's

    def decorator_of(self, function: str) -> str:
        """Its decorator, with numba's `parallel` for the `numba.prange` loops alone where the function
        has one (loops.py writes them): numba's other automatic parallel forms would launch threads
        for each array statement, small ones included."""
        if "numba.prange(" not in function:
            return self.decorator
        return self.decorator[:-1] + ", parallel=_rt.PRANGE_ONLY)"

    def missing(self) -> str:
        try:
            importlib.import_module("numba")
        except ImportError as exc:
            return f"backend='numba' needs numba, which is not installed: pip install 's2sad[numba]' ({exc})"
        return ""

    def load(self):
        self.require()
        return np

    def lower(self, stmts: list, user_names: set[str] = frozenset()) -> list:
        """NumPy code as numba compiles it: `steps[::-1]` becomes `_rt.backwards(steps)`, `x.sum()`
        becomes `np.sum(x)` (x may be a number), `np.linalg.norm(x)` `_rt.norm(x)`, `np.add.at`
        `_rt.add_at`, `np.copy(x)` `_rt.copy(x)`, `np.std(a, ddof=1)` `_rt.std_ddof(a, 1)` (and var),
        `np.max(a, axis=1, keepdims=True)` `_rt.max_kept(a, 1)` (and min, sum, mean), `np.tanh(a)`
        `_rt.tanh(a)` (and exp, log, ...: NumPy's vectorised loop on a large array), `a @ b`
        `_rt.matmul(a, b)` (NumPy's BLAS on large matrices); ranges are sliced
        and indexed by `_rt.head` and `_rt.item`; the tape is one list per slot and a cotangent a loop
        assigns has its value's rank throughout (`_rt.as_rank`). A runtime helper with no numba form,
        vmap's and scipy.special are refused."""
        self.require()
        refuse_scipy(stmts, "numba")
        respell = _Respell(_jitted_names())
        stmts[:] = [respell.visit(stmt) for stmt in stmts]
        bound = set(user_names) | _bound(stmts)
        named = {n.id for s in stmts for n in ast.walk(s) if isinstance(n, ast.Name)}
        split_tapes(stmts, bound | named)
        # (a user's name the code neither binds nor reads, `t2` of `t2 = y` copied away, is no rank to take)
        _lift_cotangents(stmts, bound & named)
        return stmts

    def finish(self, blocks: dict, kinds=None, returned: set = frozenset(), name: str = "f") -> list:
        """Statements replaced: a run of statements on vectors by one loop over their elements (with
        `kinds`: loops.py), `a[1:] += e` by `_rt.add_into(a[1:], e)`, and those `lower` marked to be
        made apart (the tapes' lists: `tape_t1 = tape_t3 = []` becomes `tape_t1 = []`, `tape_t3 = []`),
        each with the origin of the one it replaces."""
        helpers = []
        if kinds is not None:
            helpers = fuse_loops(blocks, kinds, returned, frozenset(f"_rt.{n}" for n in _vectorised()), name)
        _saved_after_assignment(blocks)
        add_into = _AddInto()
        for key, stmts in blocks.items():
            blocks[key] = made_apart([add_into.visit(s) for s in stmts])
        return helpers

    def guarded(self, fn: Callable, text: str, filename: str) -> Callable:
        """Calls of the compiled function; numba's refusal to compile it (at the first call for a type
        of argument) becomes a DifferentiationError naming the user's line and the way out."""
        from numba.core.errors import NumbaError

        params = list(getattr(fn, "py_func", fn).__code__.co_varnames)

        @functools.wraps(getattr(fn, "py_func", fn))
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs) if kwargs else fn(*args)     # (numba's dispatch is slower with **{})
            except NumbaError as exc:
                raise DifferentiationError(_explained(exc, text, filename, params, args)) from None
            except NotImplementedError as exc:
                # numba's compiled code meets what it cannot do at run time (a reshape that NumPy would
                # make a copy for, of an array that is not contiguous): the function, not a line
                raise DifferentiationError(f"{_defined_at(text, filename)}: numba's compiled code cannot run "
                                           f"this call ({exc}); {_WAY_OUT}") from None
            except Exception as exc:
                if not raised_in(exc, "numba.core"):
                    raise            # the compiled code raised it (an IndexError, say), as NumPy's would
                raise DifferentiationError(_explained(exc, text, filename, params, args)) from exc
        call.compiled = fn         # the numba dispatcher (its signatures, its inspect_types)
        return call


_STEPS = re.compile(r"steps\d+")       # what the compiler calls a loop's range (`steps1 = range(n)`)


class _AddInto(ast.NodeTransformer):
    """`a[1:] += e` as `_rt.add_into(a[1:], e)`: numba's own is a slow generic path (2-15x NumPy's); the
    runtime's adds in a loop, reading an `e` that overlaps the slice first, as NumPy does. Another
    operator into a slice (`a[1:] *= e`) becomes `a[1:] = a[1:] * e` (numba's would not buffer e)."""

    def visit_AugAssign(self, node):
        if not (isinstance(node.target, ast.Subscript) and _has_slice(node.target.slice)):
            return node
        view = ast.Subscript(value=node.target.value, slice=node.target.slice, ctx=ast.Load())
        if not isinstance(node.op, ast.Add):
            # numba's in-place operators do not buffer an operand that overlaps the target (NumPy's do):
            # `a[1:] *= e` as `a[1:] = a[1:] * e`, whose right side is a new array
            made = ast.Assign(targets=[node.target], value=ast.BinOp(left=view, op=node.op, right=node.value))
            made.s2sad_origin = getattr(node, "s2sad_origin", None)
            return ast.copy_location(made, node)
        call = ast.Expr(value=_call("_rt", "add_into", [view, node.value]))
        call.s2sad_origin = getattr(node, "s2sad_origin", None)
        return ast.copy_location(call, node)


class _Respell(ast.NodeTransformer):
    """Generated NumPy code as numba compiles it, rewritten bottom-up (see NumbaBackend.lower)."""

    def __init__(self, known: frozenset[str]):
        self.known = known
        self.vectorised = frozenset(f"{NUMPY_ALIAS}.{n}" for n in _vectorised())
        self.stmt = None           # the statement being rewritten: where a refusal points
        self.ranges: set[str] = set()       # names the code binds to a range (`t11 = steps1[::-1]`)

    def visit(self, node):
        if isinstance(node, ast.stmt):
            outer, self.stmt = self.stmt, node
            try:
                node = self.generic_visit(node)
            finally:
                self.stmt = outer
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and self._is_range(node.value):
                self.ranges.add(node.targets[0].id)
            return node
        node = self.generic_visit(node)
        return self._spelled(node) if isinstance(node, ast.expr) else node

    def _is_range(self, e: ast.expr) -> bool:
        """Whether `e` makes a range: `range(...)`, or a range reversed or cut (`_rt.backwards(steps1)`)."""
        if not isinstance(e, ast.Call):
            return False
        called = dotted(e.func)
        if called == "range":
            return True
        return called in ("_rt.backwards", "_rt.head") and bool(e.args) and isinstance(e.args[0], ast.Name) \
            and (_STEPS.fullmatch(e.args[0].id) is not None or e.args[0].id in self.ranges)

    def _spelled(self, e: ast.expr) -> ast.expr:
        """One expression, its parts already rewritten."""
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.MatMult):
            return _call("_rt", "matmul", [e.left, e.right])        # (NumPy's BLAS on large matrices)
        if isinstance(e, ast.Subscript) and isinstance(e.slice, ast.List):
            # x[[0, -1, 0]]: numba indexes by an integer array, not a list literal
            e.slice = _call(NUMPY_ALIAS, "array", [e.slice])
        if isinstance(e, ast.Subscript) and isinstance(e.ctx, ast.Load):
            part = e.slice
            if isinstance(part, ast.Slice) and part.lower is None and part.upper is None \
                    and _is_minus_one(part.step):
                return _call("_rt", "backwards", [e.value])
            if isinstance(e.value, ast.Name) and (_STEPS.fullmatch(e.value.id) or e.value.id in self.ranges):
                # a range: numba can neither slice nor index it
                if isinstance(part, ast.Slice) and part.lower is None and part.step is None:
                    return _call("_rt", "head", [e.value, part.upper])
                if not _has_slice(part) and not isinstance(part, ast.Tuple):
                    return _call("_rt", "item", [e.value, part])
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id in ("_rt", "_bt"):
            if e.value.id == "_bt":
                refuse_at(self.stmt, f"vmap on backend='numba' is not supported yet: {_WAY_OUT}")
            if e.attr not in self.known:
                refuse_at(self.stmt, f"this line's derivative calls s2sad's runtime helper _rt.{e.attr}, which "
                                     f"has no numba form yet: {_WAY_OUT}")
        if not isinstance(e, ast.Call):
            return e
        f = e.func
        if isinstance(f, ast.Attribute) and f.attr == "sum" and not e.args and not e.keywords:
            return _call(NUMPY_ALIAS, "sum", [f.value])
        if isinstance(f, ast.Attribute) and f"{NUMPY_ALIAS}.{f.attr}" in _REDUCTIONS and not e.args and e.keywords \
                and dotted(f.value) not in (NUMPY_ALIAS, "_rt"):
            # a.mean(axis=1) (kept as written where it is not differentiated: a condition): np.mean(a, axis=1),
            # which the reductions' spelling below takes
            e = _call(NUMPY_ALIAS, f.attr, [f.value], e.keywords)
            f = e.func
        name = dotted(f)
        reduction = _REDUCTIONS.get(name)
        if reduction and len(e.args) == 1 and e.keywords:
            options = {k.arg: k.value for k in e.keywords}
            kept = options.pop("keepdims", ast.Constant(False))
            axis = options.pop("axis", None)
            whole = axis is None or isinstance(axis, ast.Constant) and axis.value is None
            if not options and isinstance(kept, ast.Constant) and kept.value in (True, False):
                if whole and kept.value is False:       # np.sum(a, axis=None): numba's own, without the axis
                    return _call(NUMPY_ALIAS, reduction, [e.args[0]])
                if not whole:
                    return _call("_rt", f"{reduction}_{'kept' if kept.value else 'along'}", [e.args[0], axis])
        if name == f"{NUMPY_ALIAS}.linalg.norm" and len(e.args) == 1 and not e.keywords:
            return _call("_rt", "norm", e.args)
        if name in (f"{NUMPY_ALIAS}.var", f"{NUMPY_ALIAS}.std") and len(e.args) == 1 \
                and [k.arg for k in e.keywords] == ["ddof"]:
            return _call("_rt", f"{name.rsplit('.', 1)[1]}_ddof", [e.args[0], e.keywords[0].value])
        if name == f"{NUMPY_ALIAS}.copy" and len(e.args) == 1 and not e.keywords:
            return _call("_rt", "copy", e.args)          # (numba's np.copy makes a number a 0-d array)
        if name == f"{NUMPY_ALIAS}.add.at":
            return _call("_rt", "add_at", e.args, e.keywords)
        if name == f"{NUMPY_ALIAS}.flip" and len(e.args) == 2 and isinstance(e.args[1], ast.Constant) \
                and e.args[1].value is None and not e.keywords:
            e.args = e.args[:1]                                     # np.flip(g, None): every axis
        if name in self.vectorised and len(e.args) == 1 and not e.keywords:
            return _call("_rt", name.rsplit(".", 1)[1], e.args)     # NumPy's own loop on a large array
        if name in _ARRAYS_ONLY and len(e.args) == _ARRAYS_ONLY[name] and not e.keywords:
            return _call("_rt", name.rsplit(".", 1)[1], e.args)     # numba's own take arrays only
        k = _SEQUENCE_ARG.get(name)
        if k is not None and len(e.args) > k and isinstance(e.args[k], ast.List):
            # numba joins (and cuts back) a tuple of arrays, not a list literal: [t1, t2] -> (t1, t2)
            e.args[k] = ast.Tuple(elts=e.args[k].elts, ctx=ast.Load())
        return e


_ARRAYS_ONLY = {f"{NUMPY_ALIAS}.clip": 3, f"{NUMPY_ALIAS}.where": 3, f"{NUMPY_ALIAS}.flip": 1}
# the calls that take a sequence of arrays, and which argument it is
_SEQUENCE_ARG = {**{f"{NUMPY_ALIAS}.{f}": 0 for f in ("concatenate", "stack", "vstack", "hstack", "column_stack")},
                 "_rt.concatenate_grad": 1, "_rt.stack_grad": 1}


def _saved_after_assignment(blocks: dict) -> None:
    """A saved variable first assigned inside a loop or a branch starts as None (`v = None`, so that its
    old value can be saved before each assignment: reverse._maybe_undefined), which numba types as
    Optional and can then neither test nor compare (forward mode over such code starts its tangent as
    `v_dot = _rt.zeros(v)`, a number). Where each save of v onto its own tape comes before an assignment
    to v (with nothing that reads or writes v in between), and each restore pops it back
    into v, the tape keeps the new values instead: `v = e` then `tape_v.append(v)`; the restore drops
    v's own value and reads the one saved before it, if any (`tape_v.pop()`, then `if len(tape_v) > 0:
    v = tape_v[-1]`). The values read are the same (the first assignment's old value, None, was never
    read), and v is never None. v and its tangent change together, or neither does."""
    top = [s for stmts in blocks.values() for s in stmts]
    lists = [b for stmts in blocks.values() for b in _lists(stmts)]
    decls = {s.targets[0].id: (b, s) for b in blocks.values() for s in b if _assigned_name(s)
             and isinstance(s.value, ast.Constant) and s.value.value is None}
    groups: dict[str, list[str]] = {v: [v] for v in decls}
    for b in blocks.values():
        for s in b:
            e = s.value if _assigned_name(s) else None
            if isinstance(e, ast.Call) and dotted(e.func) == "_rt.zeros" and len(e.args) == 1 \
                    and isinstance(e.args[0], ast.Name) and e.args[0].id in groups:
                decls[s.targets[0].id] = (b, s)
                groups[e.args[0].id].append(s.targets[0].id)
    for members in groups.values():
        plans = [_save_plan(top, lists, m) for m in members]
        if all(plans):
            for m, plan in zip(members, plans):
                _save_after(m, *plan)
                block, decl = decls[m]
                block.remove(decl)


def _save_plan(top: list, lists: list[list], v: str):
    """(the tape, its saves, its restores) of v when they can change as _saved_after_assignment says,
    else None. `top`: the function's statements; `lists`: every statement list in them."""
    pushes = [(b, k) for b in lists for k, s in enumerate(b) if _stack_call(s, "append", v)]
    pops = [(b, k) for b in lists for k, s in enumerate(b) if _stack_call(s, "pop", v)]
    tapes = {_stack_call(b[k], "append", v) for b, k in pushes} | {_stack_call(b[k], "pop", v) for b, k in pops}
    # (the tape's name: in its saves and restores, and once where it is made)
    if not pushes or len(tapes) != 1 or tape_used_otherwise(top, len(pushes) + len(pops) + 1, next(iter(tapes))):
        return None
    if any(_assigned_at(b, k, v) is None for b, k in pushes):
        return None
    return next(iter(tapes)), [(b, b[k]) for b, k in pushes], [(b, b[k]) for b, k in pops]


def _assigned_at(b: list, k: int, v: str) -> int | None:
    """The position of the assignment to v that the save at b[k] comes before, with only simple
    statements that neither read nor write v or its tape in between; else None."""
    tape = b[k].value.func.value.id
    for j in range(k + 1, len(b)):
        if _assigned_name(b[j]) == v:
            return j
        if isinstance(b[j], (ast.If, ast.For, ast.While)) or {v, tape} & {n.id for n in ast.walk(b[j])
                                                                           if isinstance(n, ast.Name)}:
            return None
    return None


def _save_after(v: str, tape: str, pushes: list, pops: list) -> None:
    """Each save of v moved after the assignment it preceded; each restore made a drop and a read back.
    (`pushes`, `pops`: (list, statement); each is found again by identity, as another member of v's
    group may have moved it since.)"""
    for b, push in pushes:
        k = _position(b, push)
        j = next(j for j in range(k + 1, len(b)) if _assigned_name(b[j]) == v)
        del b[k]
        b.insert(j, push)                  # (after the deletion, j is the place right after the assignment)
    for b, pop in pops:
        k = _position(b, pop)
        where = getattr(pop, "s2sad_origin", None)
        drop = ast.Expr(value=_call(tape, "pop", []))
        top = ast.Subscript(value=ast.Name(id=tape, ctx=ast.Load()), slice=ast.Constant(-1), ctx=ast.Load())
        size = ast.Call(func=ast.Name(id="len", ctx=ast.Load()), args=[ast.Name(id=tape, ctx=ast.Load())],
                        keywords=[])
        test = ast.Compare(left=size, ops=[ast.Gt()], comparators=[ast.Constant(0)])
        back = ast.If(test=test, body=[ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())], value=top,
                                                  lineno=0)], orelse=[])
        for st in (drop, back, back.body[0]):
            st.s2sad_origin = where
        b[k:k + 1] = [drop, back]


def _position(b: list, st: ast.stmt) -> int:
    return next(k for k, s in enumerate(b) if s is st)


def _lists(stmts: list) -> list[list]:
    """`stmts` and every statement list nested in it."""
    out, todo = [], [stmts]
    while todo:
        b = todo.pop()
        out.append(b)
        for s in b:
            for field in ("body", "orelse"):
                inner = getattr(s, field, None)
                if isinstance(inner, list):
                    todo.append(inner)
    return out


def _stack_call(s: ast.stmt, method: str, v: str) -> str | None:
    """The tape's name when `s` is `tape_x.append(v)` (method "append") or `v = tape_x.pop()` ("pop")."""
    if method == "append" and isinstance(s, ast.Expr):
        args = [v]
    elif method == "pop" and _assigned_name(s) == v:
        args = []
    else:
        return None
    call = s.value
    if not (isinstance(call, ast.Call) and [getattr(a, "id", None) for a in call.args] == args):
        return None
    tape, _, called = dotted(call.func).partition(".")
    return tape if called == method and tape.startswith("tape") else None


def _assigned_name(s: ast.stmt) -> str | None:
    return s.targets[0].id if isinstance(s, ast.Assign) and len(s.targets) == 1 \
        and isinstance(s.targets[0], ast.Name) else None


def _bound(stmts: list) -> set[str]:
    """The names generated code binds (assignments, loop targets)."""
    return {n.id for s in stmts for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _lift_cotangents(stmts: list, defined: set[str]) -> None:
    """`v_bar = e` made `v_bar = _rt.as_rank(e, v)`, in place, for each cotangent that a loop or a branch
    assigns: NumPy code lets a cotangent start as a number (`x_bar = out_bar`, `x_bar = 0.0`) and become
    an array in a loop or in one branch, which numba cannot type. as_rank gives it v's number of
    dimensions from the start (ones where it was a number: the same values, broadcast alike); a helper's
    parameter that no statement binds gets the rank of the variable its cotangent is added to.
    `defined`: the names that hold a value there (the code binds or reads them)."""
    assigns = [n for top in stmts for n in ast.walk(top) if _cotangent_assigned(n)]
    in_blocks = {_cotangent_assigned(n) for top in stmts for block in ast.walk(top)
                 if isinstance(block, (ast.For, ast.While, ast.If)) for n in ast.walk(block) if _cotangent_assigned(n)}
    like = {name: name[:-4] for name in in_blocks}
    added: dict[str, set[str]] = {}
    for s in assigns:
        # a helper's parameter bound to a variable of the caller's (`h0(x_1)`: h0_a is x_1, and no statement
        # makes h0_a): its cotangent is added to the variable's after the helper, `x_1_bar = x_1_bar + h0_a_bar`,
        # and has the variable's rank
        into = _cotangent_assigned(s)[:-4]
        if into not in defined:
            continue
        parts = [s.value.left, s.value.right] if isinstance(s.value, ast.BinOp) and isinstance(s.value.op, ast.Add) \
            else [s.value]
        for part in parts:
            if isinstance(part, ast.Name) and part.id in in_blocks and part.id[:-4] not in defined:
                added.setdefault(part.id, set()).add(into)
    like.update({name: into.pop() for name, into in added.items() if len(into) == 1})   # (one variable only)
    for n in assigns:
        bar = _cotangent_assigned(n)
        if bar in in_blocks and not _reads(n.value, bar) and like[bar] in defined:
            # (an update that reads the cotangent itself, `l_bar = -4 * l_bar * l`, keeps its rank)
            n.value = _call("_rt", "as_rank", [n.value, ast.Name(id=like[bar], ctx=ast.Load())])


def _cotangent_assigned(n: ast.AST) -> str | None:
    """`v_bar` where `n` is `v_bar = ...` (one name assigned), else None."""
    if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
            and n.targets[0].id.endswith("_bar"):
        return n.targets[0].id
    return None


def _has_slice(index: ast.expr) -> bool:
    """Whether an index selects a slice (`[1:]`, `[:, 0]`), not one element."""
    return isinstance(index, ast.Slice) or isinstance(index, ast.Tuple) and any(isinstance(e, ast.Slice)
                                                                                 for e in index.elts)


def _reads(e: ast.expr, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(e))


def _defined_at(text: str, filename: str) -> str:
    """`file:line` of the user's function a generated file was made from (its header says)."""
    defined = re.search(r"^# Generated by s2sad .* from .*:(\d+) \(", text, re.M)
    return f"{filename}:{defined.group(1)}" if defined else filename


def _explained(exc: BaseException, text: str, filename: str, params: list[str], args: tuple) -> str:
    """What numba refused, at the user's line when numba says where in the generated file."""
    message = str(exc)
    first = next((ln.strip() for ln in message.splitlines()[1:] if ln.strip()), message.strip())
    argument = re.search(r"argument (\d+): Cannot determine Numba type of (<class '[^']+'>)", message)
    where = _defined_at(text, filename)
    if argument:
        k = int(argument.group(1))
        name = params[k] if k < len(params) else f"argument {k}"
        return (f"{where}: numba cannot compile for {name}, a {argument.group(2)[8:-2]}: pass NumPy arrays "
                f"and numbers, or {_WAY_OUT}")
    places = [int(m.group(1)) for m in re.finditer(r'File "[^"]*", line (\d+)', message)]
    for lineno in places:
        user = user_line_at(text, lineno)
        if user is not None:
            line, quoted = user
            return f"{filename}:{line}: {quoted}\n  numba cannot compile this line's derivative ({first}); {_WAY_OUT}"
    return f"{where}: numba cannot compile the derivative ({first}); {_WAY_OUT}"


def _is_minus_one(e) -> bool:
    return isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant) \
        and e.operand.value == 1 or isinstance(e, ast.Constant) and e.value == -1


def _call(module: str, name: str, args: list, keywords: list = ()) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=ast.Name(id=module, ctx=ast.Load()), attr=name, ctx=ast.Load()),
                    args=list(args), keywords=list(keywords))


BACKEND = NumbaBackend()
