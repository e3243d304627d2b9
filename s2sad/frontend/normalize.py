"""Normalize: user AST -> the core language.

The core language is Python with
  * one primitive operation per assignment, on atoms (names and constants): `t3 = np.sin(x)`;
  * canonical spellings: `np.*`, `np.linalg.*`, `math.*`; methods and operators as primitives
    (`x.sum()` -> `np.sum(x)`, `x.T` -> `np.transpose(x)`);
  * values that can never carry a derivative (conditions, shapes, axes, indices) kept as whole
    expressions;
  * `if` tests that are names, `while` and `for i in range(...)` loops, no jumps but a final return;
  * calls to the user's own functions inlined (their locals renamed `helper_x`);
  * top-level variables that are assigned several times renamed (`b`, `b_1`), so that straight-line
    code never needs to save overwritten values;
  * globals and closed-over values (`free` variables) read as parameters of the generated function.
"""
from __future__ import annotations

import ast
import builtins
import dataclasses
import math
import sys
import types
from typing import Any

import numpy

from . import appends, comprehensions, growing, jumps
from . import containers
from .containers import Containers, Tree, from_treedef
from ..errors import NonDifferentiableError, UnsupportedSyntaxError, located
from .syntax import attribute_refusal, check as check_syntax, method_refusal
from .source import _MISSING, Resolver, Source, canonical_module, dotted, free_attribute, load, user_method
from ..ir.core import OPS, UNARY, CoreFunction, FreeVar, is_const, set_origin
from ..ir import pytree
from ..ir.astcopy import clone
from ..ir.names import RESERVED, Namer, all_names
from ..ir.nodes import walk, walk_in_order
from ..rules import custom
from ..rules import RULES, version as rules_version


# methods of arrays, as the NumPy function they call (the array is the first argument)
_METHODS = {"sum": "np.sum", "mean": "np.mean", "prod": "np.prod", "max": "np.max", "min": "np.min",
            "cumsum": "np.cumsum", "var": "np.var", "std": "np.std", "dot": "np.dot",
            "ravel": "np.ravel", "flatten": "np.ravel", "squeeze": "np.squeeze", "swapaxes": "np.swapaxes",
            "copy": "np.copy", "clip": "np.clip", "trace": "np.trace", "round": "np.round",
            "argmax": "np.argmax", "argmin": "np.argmin", "any": "np.any", "all": "np.all", "conj": "np.conj",
            "conjugate": "np.conj"}
_VARARG_METHODS = {"reshape": "np.reshape", "transpose": "np.transpose"}   # x.reshape(2, 3)
_INACTIVE_ATTRS = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}
# methods that change an array in place, and what to write instead
_IN_PLACE = {"sort": "write `{x} = np.sort({x})`", "fill": "write `{x} = np.full_like({x}, value)`",
             "clip": "write `{x} = np.clip({x}, lo, hi)`", "put": "write `{x}[index] = values` on a copy",
             "resize": "write `{x} = np.resize({x}, shape)`", "partition": "write `{x} = np.sort({x})`",
             "copyto": "write `dst = src.copy()` (or `dst[...] = src`)"}

# statements and expressions the compiler knows; anything else is rejected with its location
def _boolean(e: ast.expr) -> bool:
    """An expression whose value is a truth value (a comparison, `not`, `and`/`or` of them), so that
    `and`/`or` of it is one too."""
    if isinstance(e, ast.BoolOp):
        return all(_boolean(v) for v in e.values)
    if isinstance(e, ast.UnaryOp):
        return isinstance(e.op, ast.Not)
    if isinstance(e, ast.Constant):
        return type(e.value) is bool
    if isinstance(e, ast.Call):
        parts = dotted(e.func) or []
        return parts[-1:] in (["bool"], ["isinstance"], ["isnan"], ["isinf"], ["isfinite"], ["any"], ["all"],
                              ["allclose"], ["array_equal"])
    return isinstance(e, ast.Compare)


def local_names(fn: ast.FunctionDef) -> set[str]:
    """Parameters and every name the function assigns."""
    a = fn.args
    out = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    for node in walk(ast.Module(body=fn.body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


def param_names(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]


def _name(id_: str, store: bool = False) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def _assign(target: str, value: ast.expr, where) -> ast.Assign:
    return set_origin(ast.Assign(targets=[_name(target, True)], value=value, lineno=where[1], col_offset=0), where)


def _spell(parts: list[str]) -> ast.expr:
    node: ast.expr = _name(parts[0])
    for p in parts[1:]:
        node = ast.Attribute(value=node, attr=p, ctx=ast.Load())
    return node


class _Shared:
    """State shared by a function and every helper inlined into it."""

    def __init__(self, namer: Namer):
        self.namer = namer
        self.free: dict[tuple[int, str], FreeVar] = {}
        self.callees: list[Source] = []
        self.stack: list[Any] = []
        self.top_locals: set[str] = set()
        self.spelled: dict[str, str] = {}      # renamed variable -> the user's name
        self.trees: dict[str, Tree] = {}       # variable -> the container it holds (containers.py)
        self.plain: set[str] = set()           # variables bound to ordinary values
        self.leaf_names: dict[tuple, list[str]] = {}   # (variable, structure) -> its leaves' variables
        self.local_defs: dict[str, ast.FunctionDef] = {}  # a nested def or a lambda bound to a name


class Normalizer(Containers):
    """Turns one user function (the top one, or a helper being inlined) into core statements."""

    def __init__(self, src: Source, shared: _Shared, rename: dict[str, str], index: int = 0):
        self.src = src
        self.index = index
        self.shared = shared
        self.namer = shared.namer
        self.rename = rename
        self.resolver = Resolver(src, local_names(src.tree))
        self.out: list[ast.stmt] = []
        self.where = (src.filename, src.tree.lineno)

    # --- helpers -------------------------------------------------------------------------------
    def error(self, cls, node, msg):
        return self.src.error(cls, node, msg)

    def emit(self, stmt: ast.stmt) -> None:
        self.out.append(set_origin(stmt, self.where))

    def fresh(self, prefix: str) -> str:
        """A new core-level variable, known as a local from now on."""
        name = self.namer.fresh(prefix)
        self.resolver.locals.add(name)
        return name

    def temp(self, value: ast.expr, prefix: str = "t") -> ast.Name:
        name = self.fresh(prefix)
        self.emit(_assign(name, value, self.where))
        return _name(name)

    def local(self, name: str) -> str:
        return self.rename.get(name, name)

    def free_var(self, spelled: str) -> ast.Name:
        src = self.src
        owner = src.closure[spelled] if spelled in src.closure else src.globals
        if owner is src.globals and spelled not in src.globals:
            owner = vars(builtins)
        key = (id(owner), spelled)
        if key not in self.shared.free:
            # a global's own name cannot clash with a local of the function that reads it; it can clash
            # with a local of the top function when a helper reads it, or with another module's global
            name = spelled if spelled not in RESERVED else spelled + "_"
            clash = any(f.name == name for f in self.shared.free.values()) or name in RESERVED \
                or (self.index and name in self.shared.top_locals)
            name = self.namer.exact(name + "_") if clash else name
            self.namer.reserve([name])
            self.shared.free[key] = FreeVar(name, spelled, owner, self.index)
        return _name(self.shared.free[key].name)

    # --- names and inactive expressions ---------------------------------------------------------
    def reference(self, node: ast.expr) -> ast.expr | None:
        """Canonical spelling of a Name/Attribute chain, or None if `node` is not one."""
        parts = dotted(node)
        if parts is None:
            return None
        if parts[0] in self.resolver.locals:
            if len(parts) > 1:
                return None
            return _name(self.local(parts[0]))
        res = self.resolver.resolve(node)
        if res is None:     # attribute of a free value: the root is the free value
            return None
        if res.kind == "module":
            spelled = canonical_module(res.obj)
            return _spell(spelled.split(".")) if spelled else self.free_var(parts[0])
        return self.canonical_object(res.obj, parts, node)

    def canonical_object(self, obj: Any, parts: list[str], node: ast.expr) -> ast.expr:
        key = rule_key(obj)
        if key is not None and key not in ("len", "range", "abs", "float", "int", "bool", "round", "print",
                                             "isinstance"):
            return _spell(key.split("."))
        root = self.resolver.lookup(parts[0])
        if isinstance(root, types.ModuleType):
            spelled = canonical_module(root)
            if spelled or root.__name__.startswith("numpy"):
                mod = root.__name__.replace("numpy", "np", 1) if not spelled else spelled
                return _spell(mod.split(".") + parts[1:])
            return _spell([self.free_var(parts[0]).id] + parts[1:])
        if len(parts) == 1 and getattr(builtins, parts[0], None) is obj and parts[0] not in self.src.globals:
            return _name(parts[0])
        if obj is getattr(numpy, getattr(obj, "__name__", ""), None):
            return _spell(["np", obj.__name__])
        if obj is getattr(math, getattr(obj, "__name__", ""), None) and callable(obj):
            return _spell(["math", obj.__name__])
        return self.free_var(parts[0]) if len(parts) == 1 else _spell([self.free_var(parts[0]).id] + parts[1:])

    def inactive(self, node: ast.expr) -> ast.expr:
        """Rewrite an expression that carries no derivative: names canonical, locals renamed."""
        node = clone(node)
        return _Rewriter(self).visit(node)

    # --- statements -----------------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        saved, self.out = self.out, []
        for s in stmts:
            self.stmt(s)
        out, self.out = self.out, saved
        return out

    def stmt(self, s: ast.stmt) -> None:
        self.where = (self.src.filename, s.lineno)
        if isinstance(s, ast.Assign):
            value = s.value
            if len(s.targets) > 1:     # a = b = expr
                atom = self.atom(value)
                for t in s.targets:
                    self.assign_to(t, atom)
                return
            self.assign_to(s.targets[0], value)
        elif isinstance(s, ast.AnnAssign):
            self.assign_to(s.target, s.value)
        elif isinstance(s, ast.AugAssign):
            target = clone(s.target)
            for n in ast.walk(target):
                if hasattr(n, "ctx"):
                    n.ctx = ast.Load()
            self.assign_to(s.target, ast.copy_location(ast.BinOp(left=target, op=s.op, right=s.value), s))
            last = self.out[-1] if self.out else None
            if isinstance(s.target, ast.Name) and isinstance(last, ast.Assign) \
                    and isinstance(last.targets[0], ast.Name) and last.targets[0].id == self.local(s.target.id):
                last.s2sad_inplace = True     # `a += e` changes a's object in place (an array): aliasing.py
            elif isinstance(s.target, ast.Subscript) and isinstance(last, ast.Assign) \
                    and isinstance(last.targets[0], ast.Subscript):
                last.s2sad_augmented = True   # `a[i] += e`: forward mode's tangent is written so too
        elif isinstance(s, ast.Expr):
            if isinstance(s.value, ast.Constant):
                return            # docstring or bare constant
            if isinstance(s.value, ast.Call):
                call = self.effect(s.value)
                if call is not None:
                    self.emit(ast.Expr(value=call))
                return
            raise self.error(UnsupportedSyntaxError, s, "an expression statement that is not a call")
        elif isinstance(s, ast.If):
            test = self.condition(s.test, _stored(s.body + s.orelse))
            before = self.snapshot()
            body = self.block(s.body) or [ast.Pass()]
            first, first_plain = self.shared.trees, self.shared.plain
            self.shared.trees, self.shared.plain = dict(before[0]), set(before[1])
            orelse = self.block(s.orelse)
            self.shared.plain |= first_plain
            self.join(before, first, s)
            self.where = (self.src.filename, s.lineno)
            self.emit(ast.If(test=test, body=body, orelse=orelse))
        elif isinstance(s, ast.While):
            self.materialize_dynamic([s])
            test = self.inactive(s.test)
            before = self.snapshot()
            body = self.block(s.body)
            self.check_loop(before, s)
            self.where = (self.src.filename, s.lineno)
            self.emit(ast.While(test=test, body=body, orelse=[]))
        elif isinstance(s, ast.For):
            self.for_loop(s)
        elif isinstance(s, ast.Break):
            self.emit(ast.Break())
        elif isinstance(s, ast.Pass):
            return
        elif isinstance(s, ast.FunctionDef):      # a nested def: inlined where it is called
            self.shared.local_defs[self.local(s.name)] = s
        elif isinstance(s, (ast.Assert, ast.Raise)):
            self.emit(_Rewriter(self).visit(clone(s)))
        elif isinstance(s, ast.Return):
            self.emit(ast.Return(value=self.atom(s.value)))
        else:
            raise self.error(UnsupportedSyntaxError, s, f"`{type(s).__name__}` statement")

    def effect(self, call: ast.Call) -> ast.Call | None:
        """A call made for its effect (None: emitted already). A list used as a stack (`stack.append(x)`,
        `stack.pop()`) and `np.add.at(a, i, x)` carry derivatives: their value arguments become atoms. A
        user function is inlined, its result unused. A function of the rules table computes a value
        nobody reads: kept whole. Any other call that receives a local variable may change it in place,
        which s2sad cannot follow: refused, with the rewrite."""
        func = call.func
        receiver = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id in self.resolver.locals else None
        if receiver and self.local(receiver) in self.shared.trees and func.attr in containers.MUTATORS:
            tree = self.shared.trees[self.local(receiver)]
            if func.attr == "append" and len(call.args) == 1 and not call.keywords and tree.kind == "list":
                target = ast.Subscript(value=func.value, slice=ast.Constant(len(tree.items)), ctx=ast.Store())
                tree.items.append(ast.Constant(None))     # the new slot, written next
                try:
                    self.write_item(target, call.args[0])
                except Exception:
                    tree.items.pop()
                    raise
                return None
            self.materialize(self.local(receiver))
        if receiver and func.attr == "append" and len(call.args) == 1 and not call.keywords:
            return ast.Call(func=ast.Attribute(value=_name(self.local(receiver)), attr="append", ctx=ast.Load()),
                            args=[self.atom(call.args[0])], keywords=[])
        if receiver and func.attr == "pop" and not call.args and not call.keywords:
            return self.inactive(call)
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise self.error(UnsupportedSyntaxError, call, "*args or **kwargs in a call")
        if receiver is None and (self._is_user_call(call) or custom.registered(self._value_of(func))):
            self.compute(call, self.fresh("unused"))
            return None
        parts = dotted(func)
        if parts and parts[1:] == ["add", "at"] and parts[0] not in self.resolver.locals \
                and self.resolver.lookup(parts[0]) is numpy and len(call.args) == 3 and not call.keywords:
            return ast.Call(func=_spell(["np", "add", "at"]), args=[
                self.atom(call.args[0]), self.inactive(call.args[1]), self.atom(call.args[2])], keywords=[])
        ref = self.reference(func) if isinstance(func, (ast.Name, ast.Attribute)) and receiver is None else None
        spelled = ast.unparse(ref) if ref is not None else None
        if spelled is not None and spelled in RULES:
            return self.inactive(call)
        touched = sorted({n.id for n in ast.walk(call) if isinstance(n, ast.Name) and n.id in self.resolver.locals})
        if touched:
            what = ast.unparse(call)
            hint = _IN_PLACE.get(func.attr if isinstance(func, ast.Attribute) else "", "").format(x=touched[0])
            raise self.error(UnsupportedSyntaxError, call,
                             f"`{what}` is called for its effect, which may change {', '.join(touched)} in place; "
                             "s2sad differentiates values, not changes made in place by a call: "
                             + (hint or "assign the call's result to a new name instead"))
        return self.inactive(call)

    def condition(self, test: ast.expr, changed: set[str] = frozenset()) -> ast.expr:
        """An `if` test as a name (or `not name`), computing it first when needed.

        The reverse sweep tests the same name again, so a name the branches assign is copied first.
        """
        plain = test.operand if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) else test
        if isinstance(plain, ast.Name) and plain.id in self.resolver.locals and plain.id not in changed:
            ref = _name(self.local(plain.id))
            return ref if plain is test else ast.UnaryOp(op=ast.Not(), operand=ref)
        return self.temp(self.inactive(test), "cond")

    def for_loop(self, s: ast.For) -> None:
        if self.unrolled_for(s):
            return
        self.materialize_dynamic([s])
        before = self.snapshot()
        self._for_loop(s)
        self.check_loop(before, s)

    def _for_loop(self, s: ast.For) -> None:
        it = s.iter
        target = s.target
        if isinstance(it, ast.Call) and self._is_builtin(it.func, "range"):
            if not isinstance(target, ast.Name):
                raise self.error(UnsupportedSyntaxError, target, "unpacking a range() item")
            rng = ast.Call(func=_name("range"), args=[self.inactive(a) for a in it.args], keywords=[])
            body = self.block(s.body)
            self.where = (self.src.filename, s.lineno)
            self.emit(ast.For(target=_name(self.local(target.id), True), iter=rng, body=body, orelse=[]))
            return
        # iterate over arrays by index: for v in X / enumerate(X) / zip(A, B)
        if isinstance(it, ast.Call) and self._is_builtin(it.func, "enumerate"):
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2 and len(it.args) == 1):
                raise self.error(UnsupportedSyntaxError, s, "use `for i, v in enumerate(x)`")
            index_target, seqs, targets = target.elts[0], [it.args[0]], [target.elts[1]]
        elif isinstance(it, ast.Call) and self._is_builtin(it.func, "zip"):
            if not (isinstance(target, ast.Tuple) and len(target.elts) == len(it.args)):
                raise self.error(UnsupportedSyntaxError, s, "use `for a, b in zip(x, y)` with one name per sequence")
            index_target, seqs, targets = None, list(it.args), list(target.elts)
        else:
            index_target, seqs, targets = None, [it], [target]
        for t in targets + ([index_target] if index_target is not None else []):
            if not isinstance(t, ast.Name):
                raise self.error(UnsupportedSyntaxError, t, "nested unpacking in a `for` target")
        atoms = [self.atom(q) for q in seqs]
        if index_target is not None:
            k = self.local(index_target.id)
        else:
            k = self.fresh("k")
        lens = [ast.Call(func=_name("len"), args=[a], keywords=[]) for a in atoms]
        n = lens[0] if len(lens) == 1 else ast.Call(func=_name("min"), args=lens, keywords=[])
        rng = ast.Call(func=_name("range"), args=[n], keywords=[])
        saved, self.out = self.out, []
        for t, a in zip(targets, atoms):
            self.emit(_assign(self.local(t.id), ast.Subscript(value=a, slice=_name(k), ctx=ast.Load()), self.where))
        head = self.out
        self.out = saved
        body = head + self.block(s.body)
        self.where = (self.src.filename, s.lineno)
        self.emit(ast.For(target=_name(k, True), iter=rng, body=body, orelse=[]))

    def _is_builtin(self, func: ast.expr, name: str) -> bool:
        return isinstance(func, ast.Name) and func.id == name and func.id not in self.resolver.locals \
            and self.resolver.lookup(name) is getattr(builtins, name)

    def assign_to(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name) and isinstance(value, ast.Lambda):   # f = lambda y: ...: inlined where called
            self.shared.local_defs[self.local(target.id)] = _lambda_def(target.id, value)
            return
        if isinstance(target, ast.Name):
            name = self.local(target.id)
            tree = self.tree_value(value)
            if tree is not None:
                self.mark_shared(value, tree)
                self.bind_tree(name, tree)
                return
            self.shared.trees.pop(name, None)
            self.shared.plain.add(name)
            self.compute(value, name)
            return
        if isinstance(target, ast.Subscript):    # x[i] = value: an in-place write
            if target.value.id not in self.resolver.locals:
                raise self.error(UnsupportedSyntaxError, target, f"writing into {target.value.id!r}, which is not "
                                 "a local variable of the function (a global or an argument's attribute)")
            if self.write_item(target, value):
                return
            atom = self.atom(value)
            sub = ast.Subscript(value=_name(self.local(target.value.id)), slice=self.inactive(target.slice),
                                ctx=ast.Store())
            self.emit(set_origin(ast.Assign(targets=[sub], value=atom, lineno=self.where[1], col_offset=0),
                                 self.where))
            return
        # tuple unpacking: evaluate every right-hand element first (a, b = b, a)
        elts = target.elts
        tree = self.tree_value(value) if not isinstance(value, (ast.Tuple, ast.List)) else None
        if tree is None and isinstance(value, ast.Call) and self._is_user_call(value):
            value = self.computed(value)
            tree = self.shared.trees.get(value.id)
        if tree is not None:
            self.mark_shared(value, tree)
            self.bind_target(target, tree)
            return
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(elts) and any(
                self.tree_value(v) is not None for v in value.elts if isinstance(v, (ast.Name, ast.Subscript))):
            self.bind_target(target, self.literal_tree(value))
            return
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(elts):
            atoms = [self.atom(v) if not is_const(v) else v for v in value.elts]
            atoms = [self.temp(a) if isinstance(a, ast.Name) and a.id in {self.local(e.id) for e in elts
                                                                           if isinstance(e, ast.Name)} else a
                     for a in atoms]
            for t, a in zip(elts, atoms):
                self.assign_to(t, a)
            return
        whole = self.atom(value)
        for i, t in enumerate(elts):
            item = ast.Subscript(value=whole, slice=ast.Constant(i), ctx=ast.Load())
            self.assign_to(t, item)

    # --- expressions ----------------------------------------------------------------------------
    def atom(self, e: ast.expr) -> ast.expr:
        """An atom for `e`: a name or a constant, computing `e` into a temporary when needed."""
        if is_const(e):
            return e
        if isinstance(e, (ast.Name, ast.Subscript, ast.Attribute)):
            item = self.item_atom(e)
            if item is not None:
                return item
        ref = self.reference(e) if isinstance(e, (ast.Name, ast.Attribute)) else None
        if ref is not None and not (isinstance(e, ast.Attribute) and isinstance(ref, ast.Attribute)
                                    and ref.attr in _INACTIVE_ATTRS):
            if isinstance(ref, ast.Name) or not callable(self._value_of(e)):
                return ref
        if isinstance(e, ast.IfExp) or (isinstance(e, ast.Call) and self._is_user_call(e)) \
                or (isinstance(e, ast.BoolOp) and not _boolean(e)):
            return self.computed(e)
        value = self.call(e, None) if isinstance(e, ast.Call) else self.primitive(e)
        return self.temp(value)   # named after its operands: temporaries number in evaluation order

    def computed(self, e: ast.expr) -> ast.Name:
        """`e` computed into a fresh temporary (a helper's call, a conditional expression): its name."""
        name = self.fresh("t")
        self.compute(e, name)
        return _name(name)

    def _is_user_call(self, e: ast.Call) -> bool:
        if isinstance(e.func, ast.Name) and self.local(e.func.id) in self.shared.local_defs:
            return True                    # a nested def or a lambda bound to a name
        if isinstance(e.func, ast.Name) and e.func.id in self.resolver.locals:
            return False
        obj = self._value_of(e.func)
        if user_method(obj):               # self.loss(x), self.layer(x) with a Python __call__
            return True
        return isinstance(obj, types.FunctionType) and rule_key(obj) is None \
            and not obj.__module__.startswith("numpy")

    def _value_of(self, e):
        try:
            res = self.resolver.resolve(e)
        except Exception:
            return None
        if res is None and isinstance(e, ast.Attribute):
            obj = free_attribute(self.resolver, e)
            return None if obj is _MISSING else obj
        return res.obj if res is not None else None

    def compute(self, e: ast.expr, target: str) -> None:
        """Emit statements that compute `e` into `target`; the last one is a single primitive."""
        if isinstance(e, ast.BoolOp) and not _boolean(e):
            # `a or b` on numbers is a or b itself, not a truth value: `a if a else b`, a evaluated once
            first = self.atom(e.values[0])
            rest = e.values[1:]
            other = rest[0] if len(rest) == 1 else ast.copy_location(ast.BoolOp(op=e.op, values=rest), e)
            chosen = (ast.IfExp(test=first, body=first, orelse=other) if isinstance(e.op, ast.Or)
                      else ast.IfExp(test=first, body=other, orelse=first))
            self.compute(ast.copy_location(chosen, e), target)
            return
        if isinstance(e, ast.IfExp):
            test = self.condition(e.test)
            body = self.block([ast.copy_location(ast.Assign(targets=[_name(target, True)], value=e.body), e)])
            orelse = self.block([ast.copy_location(ast.Assign(targets=[_name(target, True)], value=e.orelse), e)])
            self.where = (self.src.filename, getattr(e, "lineno", self.where[1]))
            self.emit(ast.If(test=test, body=body, orelse=orelse))
            return
        if isinstance(e, ast.Call):
            value = self.call(e, target)
            if value is None:
                return
        else:
            value = self.primitive(e)
        self.emit(_assign(target, value, self.where))

    def primitive(self, e: ast.expr) -> ast.expr:
        if is_const(e):
            return e
        if isinstance(e, ast.Name):
            return self.atom(e)
        if isinstance(e, ast.BinOp):
            if type(e.op) not in OPS:
                raise self.error(UnsupportedSyntaxError, e, f"the operator {type(e.op).__name__}")
            return ast.BinOp(left=self.atom(e.left), op=e.op, right=self.atom(e.right))
        if isinstance(e, ast.UnaryOp):
            if isinstance(e.op, ast.Not):
                return self.inactive(e)
            if type(e.op) not in UNARY:
                raise self.error(UnsupportedSyntaxError, e, f"the operator {type(e.op).__name__}")
            return ast.UnaryOp(op=e.op, operand=self.atom(e.operand))
        if isinstance(e, (ast.Compare, ast.BoolOp, ast.JoinedStr)):
            return self.inactive(e)
        if isinstance(e, (ast.Subscript, ast.Attribute)):
            item = self.item_atom(e)             # an item of a container: its variable
            if item is not None:
                return item
        if isinstance(e, ast.Subscript):
            return ast.Subscript(value=self.atom(e.value), slice=self.inactive(e.slice), ctx=ast.Load())
        if isinstance(e, ast.Attribute):
            ref = self.reference(e)
            if ref is not None:
                return ref
            if e.attr in ("T", "mT"):
                return ast.Call(func=_spell(["np", "transpose"]), args=[self.atom(e.value)], keywords=[])
            if e.attr in ("real", "imag"):
                return ast.Call(func=_spell(["np", e.attr]), args=[self.atom(e.value)], keywords=[])
            if e.attr in _INACTIVE_ATTRS:
                return ast.Attribute(value=self.atom(e.value), attr=e.attr, ctx=ast.Load())
            parts = dotted(e)
            if parts and parts[0] in self.resolver.locals and self.local(parts[0]) not in self.shared.trees:
                # an attribute of an object passed in (`self.w` in generated code, where the object is a
                # parameter): a constant; the modes refuse it when that parameter is differentiated
                node = _spell([self.local(parts[0])] + parts[1:])
                node.s2sad_object_attr = True
                return node
            obj = free_attribute(self.resolver, e)
            if obj is not _MISSING and not callable(obj):
                # an attribute of an object the function reads (`self.w`): a constant, read at each call
                parts = dotted(e)
                return _spell([self.free_var(parts[0]).id] + parts[1:])
            raise self.error(UnsupportedSyntaxError, e, attribute_refusal(e))
        if isinstance(e, (ast.Tuple, ast.List)):
            return type(e)(elts=[self.atom(x) for x in e.elts], ctx=ast.Load())
        if isinstance(e, ast.Dict):
            if any(k is None for k in e.keys):
                raise self.error(UnsupportedSyntaxError, e, "`**` inside a dict literal")
            return ast.Dict(keys=[self.inactive(k) for k in e.keys], values=[self.atom(v) for v in e.values])
        if isinstance(e, (ast.ListComp, ast.GeneratorExp)):
            raise self.error(UnsupportedSyntaxError, e, "a comprehension used as a value: s2sad takes "
                             "`[f(v) for v in items]` assigned to a name or passed to np.stack/np.array/sum, "
                             "over a container or range(<constants>)")
        raise self.error(UnsupportedSyntaxError, e, f"the expression {type(e).__name__}")

    def call(self, e: ast.Call, target: str) -> ast.expr | None:
        func = e.func
        if any(isinstance(a, ast.Starred) for a in e.args) or any(k.arg is None for k in e.keywords):
            raise self.error(UnsupportedSyntaxError, e, "*args or **kwargs in a call")
        if isinstance(func, ast.Name) and self.local(func.id) in self.shared.local_defs:
            self.inline_local(self.shared.local_defs[self.local(func.id)], e, target)
            return None
        if isinstance(func, ast.Lambda):
            raise self.error(UnsupportedSyntaxError, e, "a lambda called where it is written: bind it to a name "
                             "first (`f = lambda z: ...`, then `f(x)`), or write its expression in place")
        if isinstance(func, ast.Name) and func.id in self.resolver.locals:
            raise self.error(UnsupportedSyntaxError, e, f"calling the local value {func.id!r}")
        if custom.registered(self._value_of(func)):
            return self.custom_call(e)
        if self._value_of(func) in self.shared.stack and self._is_user_call(e):
            return self.recursive_call(self._value_of(func), e)
        if self._is_user_call(e):
            self.inline(self._value_of(func), e, target)
            return None
        # methods of array values: x.sum(axis=0) -> np.sum(x, axis=0)
        if isinstance(func, ast.Attribute) and self.reference(func) is None:
            return self.method(e, target)
        ref = self.reference(func)
        if ref is None:
            raise self.error(UnsupportedSyntaxError, func, "this kind of call")
        key = ".".join(dotted(ref) or [])
        rewritten = self.builtin_call(key, e)
        if rewritten is not None:
            return rewritten
        return self.bind(key, ref, e.args, e.keywords, e)

    def custom_call(self, e: ast.Call) -> ast.expr:
        """A function with user rules (s2sad.defvjp/defjvp): called, not transformed."""
        n = len(e.args)
        if e.keywords or not 1 <= n <= custom.MAX_ARGS:
            raise self.error(UnsupportedSyntaxError, e, "a function with custom rules must be called with "
                             f"1 to {custom.MAX_ARGS} positional arguments")
        key = f"_rt.custom{n}"
        return self.bind(key, _spell(key.split(".")), [e.func] + list(e.args), [], e)

    def recursive_call(self, fn, e: ast.Call) -> ast.expr:
        """A recursive call: not inlined (its depth depends on the data) but a primitive whose derivative
        runs the generated gradient (or JVP) of the function itself, `_rt.recurse_vjp(fn, i, g, ...)`."""
        params = param_names(load(fn).tree)
        defaults = _defaults(fn)
        args: dict[str, ast.expr] = dict(zip(params, e.args))
        for k in e.keywords:
            if k.arg not in params:
                raise self.error(UnsupportedSyntaxError, e, f"{fn.__name__}() has no parameter {k.arg!r}")
            args[k.arg] = k.value
        for p in params:
            if p not in args:
                if p not in defaults:
                    raise self.error(UnsupportedSyntaxError, e, f"missing argument {p!r} for {fn.__name__}()")
                args[p] = defaults[p]
        if len(e.args) > len(params) or not 1 <= len(params) <= custom.MAX_ARGS:
            raise self.error(UnsupportedSyntaxError, e, f"a recursive call with {len(e.args)} arguments "
                             f"(s2sad differentiates recursion through 1 to {custom.MAX_ARGS} parameters)")
        key = f"_rt.recurse{len(params)}"
        return self.bind(key, _spell(key.split(".")), [e.func] + [args[p] for p in params], [], e)

    def builtin_call(self, key: str, e: ast.Call) -> ast.expr | None:
        """Python builtins on numbers and arrays, as NumPy primitives."""
        if key == "len" and (n := self.tree_len(e)) is not None:
            return n
        if key == "sum" and len(e.args) == 1 and not e.keywords:
            arg = e.args[0]
            if isinstance(arg, (ast.ListComp, ast.GeneratorExp)):
                items = self.comprehension(arg)
                if any(isinstance(i, Tree) for i in items):
                    raise self.error(UnsupportedSyntaxError, arg, "sum() of containers")
                return self.primitive(_chain(ast.Add(), items) if items else ast.Constant(0))
            tree = self.tree_value(arg) if isinstance(arg, (ast.Name, ast.Subscript, ast.Attribute)) else None
            if tree is not None:
                if tree.kind == "dict" or any(isinstance(i, Tree) for i in tree.items):
                    raise self.error(UnsupportedSyntaxError, arg, f"sum() of {tree.describe()} of containers")
                items = [containers._clone_atom(i) for i in tree.items]
                return self.primitive(_chain(ast.Add(), items) if items else ast.Constant(0))
            if isinstance(arg, (ast.List, ast.Tuple)):
                return self.primitive(_chain(ast.Add(), arg.elts) if arg.elts else ast.Constant(0))
            return ast.Call(func=_spell(["np", "sum"]), args=[self.atom(arg)], keywords=[_kw("axis", 0)])
        if key in ("max", "min") and not e.keywords:
            if len(e.args) == 1:
                return ast.Call(func=_spell(["np", key]), args=[self.atom(e.args[0])], keywords=[_kw("axis", 0)])
            fn = "maximum" if key == "max" else "minimum"
            acc = self.atom(e.args[0])
            for a in e.args[1:-1]:
                acc = self.temp(_picks(ast.Call(func=_spell(["np", fn]), args=[acc, self.atom(a)], keywords=[])))
            return _picks(ast.Call(func=_spell(["np", fn]), args=[acc, self.atom(e.args[-1])], keywords=[]))
        if key == "float" and len(e.args) == 1:
            return ast.Call(func=_name("float"), args=[self.atom(e.args[0])], keywords=[])
        if key == "abs" and len(e.args) == 1:
            return ast.Call(func=_name("abs"), args=[self.atom(e.args[0])], keywords=[])
        return None

    def method(self, e: ast.Call, target: str) -> ast.expr:
        func = e.func
        name = func.attr
        ufunc = self._value_of(func.value) if name == "outer" else None
        if isinstance(ufunc, numpy.ufunc) and ufunc.nin == 2 and f"np.{ufunc.__name__}" in RULES \
                and len(e.args) == 2 and not e.keywords:
            # np.add.outer(a, b): np.add(a shaped a.shape + (1,) * b.ndim, b)
            key = f"np.{ufunc.__name__}"
            b = self.atom(e.args[1])
            left = self.temp(self.bind("_rt.outer_left", _spell(["_rt", "outer_left"]), [e.args[0], b], [], e))
            return self.bind(key, _spell(key.split(".")), [left, b], [], e)
        if name in _VARARG_METHODS:
            args = list(e.args)
            if len(args) > 1:
                args = [ast.Tuple(elts=args, ctx=ast.Load())]
            fn = _VARARG_METHODS[name]
            if name == "transpose" and not args:
                return ast.Call(func=_spell(fn.split(".")), args=[self.atom(func.value)], keywords=[])
            return self.bind(fn, _spell(fn.split(".")), [func.value] + args, e.keywords, e)
        if name == "astype":
            return self.bind("astype", _spell(["np", "asarray"]), [func.value], [ast.keyword(arg="dtype", value=e.args[0])]
                             if e.args else e.keywords, e)
        if name == "item" and not e.args:
            return ast.Call(func=_name("float"), args=[self.atom(func.value)], keywords=[])
        if name in _METHODS:
            fn = _METHODS[name]
            return self.bind(fn, _spell(fn.split(".")), [func.value] + list(e.args), e.keywords, e)
        if name == "pop" and not e.args and isinstance(func.value, ast.Name) and func.value.id in self.resolver.locals:
            # a list used as a stack (s2sad's own generated code saves values this way)
            return ast.Call(func=ast.Attribute(value=_name(self.local(func.value.id)), attr="pop", ctx=ast.Load()),
                            args=[], keywords=[])
        if name in ("append", "extend", "insert", "pop"):
            raise self.error(UnsupportedSyntaxError, e, f"lists built with .{name}() are not supported: "
                             "preallocate an array (np.zeros(n)) and write x[i] = ... in the loop")
        raise self.error(UnsupportedSyntaxError, e, method_refusal(e))

    def bind(self, key: str, func: ast.expr, args, keywords, node) -> ast.expr:
        """A call of primitive `key`: differentiable arguments as atoms, the others kept whole."""
        rule = RULES.get(key if key != "astype" else "np.asarray")
        if rule is None or not rule.differentiable:
            if rule is None:     # unknown function: its arguments become atoms, so that analysis can
                new_args = [self.atom(a) for a in args]          # tell whether a derivative is needed
                new_kws = [ast.keyword(arg=k.arg, value=self.atom(k.value)) for k in keywords]
            else:
                new_args = [self.inactive(a) for a in args]
                new_kws = [ast.keyword(arg=k.arg, value=self.inactive(k.value)) for k in keywords]
            return ast.Call(func=func, args=new_args, keywords=new_kws)
        params = rule.params
        diff = set(rule.reverse)
        positional = [p for p in params]
        if len(args) > len(positional):
            raise self.error(UnsupportedSyntaxError, node, f"too many arguments for {key}")
        new_args = [self.argument(a, p, diff) for a, p in zip(args, positional)]
        new_kws = []
        names = {p.name for p in params}
        for k in keywords:
            if k.arg not in names:
                raise self.error(NonDifferentiableError, node,
                                 f"{key}() is differentiated without its argument {k.arg!r}; "
                                 "s2sad's rule does not support it")
            new_kws.append(ast.keyword(arg=k.arg, value=self.argument(k.value, rule.param(k.arg), diff)))
        return ast.Call(func=func, args=new_args, keywords=new_kws)

    def argument(self, a: ast.expr, param, diff: set[str]) -> ast.expr:
        if param.name not in diff:
            return self.inactive(a)
        if param.sequence and isinstance(a, (ast.List, ast.Tuple)):
            return type(a)(elts=[self.argument(x, param, diff) for x in a.elts], ctx=ast.Load())
        if isinstance(a, (ast.List, ast.Tuple)) and a.elts \
                and not any(isinstance(x, (ast.List, ast.Tuple, ast.Starred)) for x in a.elts):
            # a list literal where NumPy takes an array (np.sum([a, b])): the array NumPy makes of it
            items = ast.List(elts=[self.atom(x) for x in a.elts], ctx=ast.Load())
            return self.temp(ast.Call(func=_spell(["np", "array"]), args=[items], keywords=[]))
        tree = self.tree_value(a) if isinstance(a, (ast.Name, ast.Subscript, ast.Attribute, ast.ListComp,
                                                    ast.GeneratorExp)) and not isinstance(a, ast.GeneratorExp) \
            else None
        if tree is not None:
            # a container where NumPy takes an array: its items as a list literal (np.stack(hs)), or the
            # array NumPy would make of it (np.sum(ws) sums np.array(ws))
            if tree.kind == "dict" or any(isinstance(i, Tree) for i in tree.items):
                raise self.error(UnsupportedSyntaxError, a, f"{ast.unparse(a)} is {tree.describe()} of containers, "
                                 "passed where NumPy takes an array: pass its items")
            items = ast.List(elts=[containers._clone_atom(i) for i in tree.items], ctx=ast.Load())
            if param.sequence:
                return items
            return self.temp(ast.Call(func=_spell(["np", "array"]), args=[items], keywords=[]))
        return self.atom(a)

    # --- user functions -------------------------------------------------------------------------
    def inline(self, fn, call: ast.Call, target: str) -> None:
        """Inline a call to a user function: its body, with locals renamed `fn_local`."""
        callee = load(fn)
        check_syntax(callee)
        self.shared.callees.append(callee)
        params = param_names(callee.tree)
        sig_defaults = _defaults(fn)
        bound: dict[str, ast.expr] = {}
        if len(call.args) > len(params):
            raise self.error(UnsupportedSyntaxError, call, f"too many arguments for {fn.__name__}")
        for p, a in zip(params, call.args):
            bound[p] = a
        for k in call.keywords:
            if k.arg not in params:
                raise self.error(UnsupportedSyntaxError, call, f"{fn.__name__}() has no parameter {k.arg!r}")
            bound[k.arg] = k.value
        rename = {}
        # a lambda's locals take the name it was called by (`inner = lambda v: ...`: inner_v)
        stem = fn.__name__ if fn.__name__.isidentifier() else \
            call.func.id if isinstance(call.func, ast.Name) else "lambda"
        for name in sorted(local_names(callee.tree)):
            rename[name] = self.namer.exact(f"{stem}_{name}")
            self.shared.spelled[rename[name]] = name
        # arguments are evaluated in the caller's scope first
        values = {}
        for p in params:
            if p in bound:
                values[p] = self._passed(bound[p])
            elif p in sig_defaults:
                values[p] = sig_defaults[p]
            else:
                raise self.error(UnsupportedSyntaxError, call, f"missing argument {p!r} for {fn.__name__}()")
        inner = Normalizer(callee, self.shared, rename, index=len(self.shared.callees))
        self._run_inlined(inner, fn, {rename[p]: values[p] for p in params}, target)

    def _passed(self, e: ast.expr):
        """An argument of an inlined call, evaluated in the caller: the container it is, else an atom."""
        tree = self.tree_value(e)
        if tree is None:
            return self.atom(e)
        self.mark_shared(e, tree)
        return tree

    def _run_inlined(self, inner: "Normalizer", key, params: dict, target: str) -> None:
        """Normalize the body of `inner`'s function where it is called: its parameters bound to `params`
        (renamed parameter -> atom or container), its `return` assigning `target`; `key` marks it on the
        stack of calls being inlined (recursion)."""
        tree = inner.src.tree
        inner.where = (inner.src.filename, tree.lineno)
        for name, value in params.items():
            if isinstance(value, Tree):
                inner.bind_tree(name, value)
            else:
                inner.shared.plain.add(name)
                inner.emit(_assign(name, value, inner.where))
        # the helper's `return e` assigns the caller's target; lowered under a name of its own, so that a
        # target spelled like one of the helper's locals (`a = mul(a, a)`, `b = mul(a, b)`) is not renamed
        returned = self.namer.fresh("returned")
        body, _ = jumps.lower(_rewritten(tree, self.namer), self.namer, returned)
        new_names = _stored(body) - inner.resolver.locals
        inner.resolver.locals |= new_names
        inner.rename.update({n: n for n in new_names})
        inner.rename[returned] = target
        self.shared.stack.append(key)
        try:
            for s in body[:-1]:
                inner.stmt(s)
        finally:
            self.shared.stack.pop()
        self.out.extend(inner.out)

    def inline_local(self, node: ast.FunctionDef, call: ast.Call, target: str) -> None:
        """Inline a nested def (or a lambda bound to a name) where it is called: its locals renamed
        `inner_local`, the enclosing function's variables it reads read as they are now (a closure)."""
        if node in self.shared.stack:
            raise self.error(UnsupportedSyntaxError, call, f"the nested function {node.name}() calls itself: "
                             "recursion is supported for functions defined at module level")
        if node.args.kwonlyargs or node.args.posonlyargs:
            raise self.error(UnsupportedSyntaxError, call, "a nested def with keyword-only or positional-only "
                             "parameters")
        params = [a.arg for a in node.args.args]
        defaults = dict(zip(params[len(params) - len(node.args.defaults):], node.args.defaults))
        if len(call.args) > len(params):
            raise self.error(UnsupportedSyntaxError, call, f"too many arguments for {node.name}")
        bound = dict(zip(params, call.args))
        for k in call.keywords:
            if k.arg not in params:
                raise self.error(UnsupportedSyntaxError, call, f"{node.name}() has no parameter {k.arg!r}")
            bound[k.arg] = k.value
        values = {}
        for p in params:
            if p not in bound and p not in defaults:
                raise self.error(UnsupportedSyntaxError, call, f"missing argument {p!r} for {node.name}()")
            values[p] = self._passed(bound[p]) if p in bound else self.inactive(defaults[p])
        own = local_names(node)
        rename = {name: self.namer.exact(f"{node.name}_{name}") for name in sorted(own)}
        for name, new in rename.items():
            self.shared.spelled[new] = name
        callee = dataclasses.replace(self.src, tree=node)
        inner = Normalizer(callee, self.shared, dict(rename), index=self.index)
        # what it reads from the enclosing function: those variables, as they are when it is called
        for name in self.resolver.locals - own:
            inner.rename.setdefault(name, self.local(name))
        inner.resolver.locals |= set(inner.rename) | set(rename.values())
        self._run_inlined(inner, node, {rename[p]: values[p] for p in params}, target)


def _lambda_def(name: str, lam: ast.Lambda) -> ast.FunctionDef:
    """`name = lambda params: body` as `def name(params): return body`."""
    where = dict(lineno=lam.lineno, col_offset=lam.col_offset, end_lineno=lam.end_lineno,
                 end_col_offset=lam.end_col_offset)
    return ast.FunctionDef(name=name, args=lam.args, body=[ast.Return(value=lam.body, **where)], decorator_list=[],
                           returns=None, type_comment=None, **where)


def _defaults(fn) -> dict[str, ast.expr]:
    """Default values of a helper's parameters, as constant atoms."""
    import inspect
    out = {}
    for p in inspect.signature(fn).parameters.values():
        if p.default is inspect.Parameter.empty:
            continue
        v = p.default
        if isinstance(v, (int, float, bool, str, type(None))) or (isinstance(v, tuple) and all(
                isinstance(x, (int, float)) for x in v)):
            out[p.name] = ast.parse(repr(v), mode="eval").body
    return out


def _picks(call: ast.Call) -> ast.Call:
    """Mark np.maximum/np.minimum written for Python's max/min, which returns one of its arguments
    itself (a 0-d array stays one, and shares its memory): aliasing.py does not take it for a number."""
    call.s2sad_picks = True
    return call


def _stored(body) -> set[str]:
    return {n.id for s in body for n in walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _chain(op, elts):
    acc = elts[0]
    for x in elts[1:]:
        acc = ast.BinOp(left=acc, op=op, right=x)
    return acc


def _rewritten(fn: ast.FunctionDef, namer: Namer) -> list[ast.stmt]:
    """A copy of `fn`'s body with the loops its syntax stands for written out: comprehensions over a range
    of the arguments (comprehensions.py), then lists appended to and stacked (appends.py), then the other
    lists a loop appends to (growing.py)."""
    body = clone(fn.body)
    present = {type(n) for n in walk(fn)}             # (most functions have neither: no walk for nothing)
    if ast.ListComp in present or ast.GeneratorExp in present:
        body = comprehensions.rewrite(body, set(param_names(fn)), namer.exact)
    elif ast.List not in present:
        return body
    mutated = appends.written_in_place(fn)
    return growing.rewrite(appends.rewrite(body, namer.exact, mutated), namer.exact, mutated)


def _kw(name, value):
    return ast.keyword(arg=name, value=ast.Constant(value))


class _Rewriter(ast.NodeTransformer):
    """Canonical names inside an expression that carries no derivative."""

    def __init__(self, norm: Normalizer):
        self.norm = norm

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            return _name(self.norm.local(node.id), True)
        read = self.norm.tree_read(node)
        if read is not None:
            return read
        ref = self.norm.reference(node)
        return ref if ref is not None else node

    def visit_Subscript(self, node):
        read = self.norm.tree_read(node) if isinstance(node.ctx, ast.Load) else None
        if read is not None:
            return read
        self.generic_visit(node)
        return node

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id == "len" and self.norm._is_builtin(node.func, "len"):
            n = self.norm.tree_len(node)
            if n is not None:
                return n
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node):
        read = self.norm.tree_read(node) if isinstance(node.ctx, ast.Load) else None
        if read is not None:
            return read
        ref = self.norm.reference(node)
        if ref is not None:
            return ref
        self.generic_visit(node)
        return node


_KEY_OF: dict[int, str] = {}          # function object -> its key, from the rules table
_BUILT_FOR: list = [None]              # (the table's version, scipy.special loaded) _KEY_OF was built for
_REGISTERED: dict[int, str] = {}       # register_object's


def register_object(obj: Any, key: str) -> None:
    """Make calls to `obj` in user code the primitive `key` of the rules table."""
    _REGISTERED[id(obj)] = key


def _scipy():
    """SciPy when scipy.special is loaded (its functions have rules: rules/special.py), else None. A
    function that calls scipy.special has loaded it: importing it for functions that do not would cost
    a quarter of a second on the first transform."""
    special = sys.modules.get("scipy.special")
    return sys.modules["scipy"] if special is not None else None


def rule_key(obj: Any) -> str | None:
    """The rules-table key of a library function object (np.sin -> "np.sin"), or None."""
    built_for = (rules_version(), "scipy.special" in sys.modules)
    if _BUILT_FOR[0] != built_for:     # a rule added (s2sad.extend.rule) or scipy loaded since: look again
        from .. import runtime
        _KEY_OF.clear()
        _BUILT_FOR[0] = built_for
        roots = {"np": numpy, "math": math, "_rt": runtime}
        scipy = _scipy()
        if scipy is not None:
            roots["scipy"] = scipy
        for key in RULES:
            parts = key.split(".")
            base = roots.get(parts[0], builtins if len(parts) == 1 else None)
            if base is None:
                continue
            target = base
            for p in (parts[1:] if parts[0] in roots else parts):
                target = getattr(target, p, None)
            if target is not None and callable(target):
                _KEY_OF.setdefault(id(target), key)
    return _REGISTERED.get(id(obj)) or _KEY_OF.get(id(obj))


def ssa_rename(params: list[str], body: list[ast.stmt], namer: Namer, keep: set[str],
               spelled: dict[str, str] | None = None) -> None:
    """Rename top-level variables assigned more than once (and nowhere inside a block) to b, b_1, ..."""
    nested = set()
    top_defs: dict[str, int] = {p: 1 for p in params}
    for s in body:
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            top_defs[s.targets[0].id] = top_defs.get(s.targets[0].id, 0) + 1
        else:
            for n in walk(s):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    nested.add(n.id)
    multi = {v for v, n in top_defs.items() if n > 1 and v not in nested and v not in keep}
    current: dict[str, str] = {}
    seen_def: set[str] = set(params)
    for s in body:
        for n in walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in current:
                n.id = current[n.id]
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and s.targets[0].id in multi:
            v = s.targets[0].id
            if v in seen_def:
                new = namer.fresh(v + "_")
                if spelled is not None:
                    spelled[new] = spelled.get(v, v)
                current[v] = new
                s.targets[0].id = new
            seen_def.add(v)


def _select(src: Source, path: tuple) -> bool:
    """Keep element `path` of every returned container literal: the gradient of a generated `(value, grad)`,
    or one leaf of what a user's function returns (`return a, b`, `return {"loss": l, "aux": [u, v]}`;
    a path holds the indices and keys, outermost first). False, changing nothing, when a `return` does
    not write that element out (`return out`): normalize then picks it from the container (_pick)."""
    picks = []
    for node in walk_in_order(src.tree):
        if isinstance(node, ast.Return):
            v = node.value
            for k in path:
                if isinstance(v, (ast.Tuple, ast.List)) and isinstance(k, int) and 0 <= k < len(v.elts) \
                        and not any(isinstance(e, ast.Starred) for e in v.elts):
                    v = v.elts[k]
                    continue
                found = [value for key, value in zip(v.keys, v.values)
                         if isinstance(key, ast.Constant) and key.value == k] if isinstance(v, ast.Dict) else []
                if len(found) != 1 or None in v.keys:
                    return False
                v = found[0]
            picks.append((node, v))
    for node, v in picks:
        node.value = v
    return True


def _pick(tree: Tree, path: tuple, where) -> ast.expr:
    """Element `path` of the container `tree` a function returns (an atom, or a literal of a part)."""
    item: Any = tree
    for k in path:
        i = item.index(k) if isinstance(item, Tree) else None
        if i is None:
            raise UnsupportedSyntaxError(located(*where, None, f"the function returns "
                                                 f"{pytree.spelled(tree.structure())}, which has no element {k!r} "
                                                 "(from the structure of its value at the call)"))
        item = item.items[i]
    return item.literal() if isinstance(item, Tree) else clone(item)


def normalize(src: Source, has_aux: bool = False, select: tuple[int, ...] | None = None,
              trees: dict[str, Any] | None = None) -> CoreFunction:
    """Turn a user function into the core language (see the module docstring).

    `select` keeps one element of the returned tuple (used to differentiate generated gradients).
    `trees`: parameters whose arguments are containers, with their structures (ir/pytree.py): each
    becomes one parameter per leaf (`params` -> `params_W1`, `params_b1`, ...).
    """
    late = None                 # a returned container's element picked once normalized (`return out`)
    if select:
        src = dataclasses.replace(src, tree=clone(src.tree))
        late = None if _select(src, select) else select
    check_syntax(src)
    namer = Namer(all_names(src.tree))
    shared = _Shared(namer)
    norm = Normalizer(src, shared, {})
    shared.top_locals = norm.resolver.locals
    params = []
    for p in param_names(src.tree):
        if trees and p in trees:
            tree = from_treedef(trees[p], p, namer.exact)
            shared.trees[p] = tree
            leaves = [x.id for x in tree.leaves()]
            shared.leaf_names[(p, tree.structure())] = leaves
            norm.resolver.locals.update(leaves)
            params.extend(leaves)
        else:
            shared.plain.add(p)
            params.append(p)
    result = namer.exact("result")
    aux = namer.exact("aux") if has_aux else None

    def split(ret: ast.Return):
        v = ret.value
        if not (isinstance(v, ast.Tuple) and len(v.elts) == 2):
            raise src.error(UnsupportedSyntaxError, ret, "with has_aux=True the function must `return value, aux`")
        return v.elts[0], v.elts[1]

    body, _ = jumps.lower(_rewritten(src.tree, namer), namer, result, aux, split)
    norm.resolver.locals |= _stored(body)
    shared.stack.append(src.fn)
    core_body = norm.block(body[:-1])
    where = (src.filename, getattr(body[-1], "lineno", src.lineno))
    if late is not None and result not in shared.trees:
        raise UnsupportedSyntaxError(located(*where, None, f"expected the function to return a container with "
                                             f"an element {late!r}"))
    for name in (result, aux):
        if name in shared.trees:       # a returned container: built at the end (or the element asked for)
            tree = shared.trees.pop(name)
            value = _pick(tree, late, where) if late is not None and name == result else tree.literal()
            core_body.append(_assign(name, value, where))
    last = core_body[-1] if core_body else None
    if isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name) and last.targets[0].id == result and isinstance(last.value, ast.Name) \
            and sum(isinstance(n, ast.Name) and n.id == result for s in core_body for n in walk(s)) == 1:
        core_body.pop()        # `return z`: the result is z itself, no copy
        result = last.value.id
    ssa_rename(params, core_body, namer, keep={result} | ({aux} if aux else set()), spelled=shared.spelled)
    return CoreFunction(name=src.tree.name, params=params, body=core_body, result=result, aux=aux,
                        free=list(shared.free.values()), src=src, namer=namer, callees=shared.callees,
                        spelled=shared.spelled)
