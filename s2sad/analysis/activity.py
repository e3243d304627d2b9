"""Analysis: which variables are active, and what the reverse sweep must remember.

A variable is *active* when it depends on a differentiated input (varied) and the output depends on
it (useful); only active variables get adjoints. The reverse sweep reads some primal values (the
operands and outputs that rules mention, branch conditions, indices); a value it reads that is
overwritten later, in a loop or by a second assignment, must be saved before it is overwritten
(`restore`). Everything else is recomputed by nothing and saved by nothing.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..ir.prim import Prim, assigned, is_assign, is_setitem, names_read, primitive, walk_stmts
from ..errors import ContainerOutputError, NonDifferentiableError, UnsupportedSyntaxError
from ..ir.core import CoreFunction, origin
from ..errors import located
from ..ir.nodes import walk_in_order


@dataclass
class Activity:
    varied: set[str]
    useful: set[str]

    def active(self, name: str) -> bool:
        return name in self.varied and name in self.useful


@dataclass
class Analysis:
    activity: Activity
    loop_assigned: set[str] = field(default_factory=set)   # assigned inside some loop body
    multi_assigned: set[str] = field(default_factory=set)  # assigned by more than one statement


def _edges(body):
    """(target, [names its derivative flows from], prim, stmt) for every assignment."""
    out = []
    for s in walk_stmts(body):
        if is_assign(s):
            prim = primitive(s.value)
            srcs = [n for _, _, n in prim.diff_args()] if (prim.rule is None or prim.differentiable) else []
            out.append((s.targets[0].id, srcs, prim, s))
        elif is_setitem(s):    # x[i] = v: x's new value depends on its old one and on v
            x = s.targets[0].value.id
            srcs = [x] + ([s.value.id] if isinstance(s.value, ast.Name) else [])
            out.append((x, srcs, primitive(ast.Name(id=x, ctx=ast.Load())), s))
        elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Attribute):
            call = s.value
            args = [a.id for a in call.args if isinstance(a, ast.Name)]
            if call.func.attr == "append" and isinstance(call.func.value, ast.Name) and args:
                # stack.append(x): the stack holds x (generated code saves values this way)
                out.append((call.func.value.id, args, primitive(call.args[0]), s))
            elif ast.unparse(call.func) == "np.add.at" and len(call.args) == 3 \
                    and isinstance(call.args[0], ast.Name):
                # np.add.at(a, index, v): a's new value depends on its old one and on v
                a, v = call.args[0].id, call.args[2]
                out.append((a, [a] + ([v.id] if isinstance(v, ast.Name) else []), primitive(call.args[0]), s))
    return out


def activity(fn: CoreFunction, wrt: list[str], stacks: bool = False) -> Activity:
    """Fixed points of varied (forward) and useful (backward) over the whole function.

    With `stacks`, values popped from a list used as a stack carry the derivatives of the values
    pushed onto it (forward mode over generated code); otherwise a pop has no derivative rule.
    """
    edges = _edges(fn.body)
    if stacks:
        stacks = {tgt for tgt, _, _, s in edges if isinstance(s, ast.Expr)}
        edges = edges + [(tgt, [p.key[:-4]], p, s) for tgt, _, p, s in edges
                         if p.rule is None and p.key.endswith(".pop") and p.key[:-4] in stacks]
    flows_to: dict[str, set[str]] = {}       # source -> the targets its derivative flows into
    flows_from: dict[str, set[str]] = {}     # target -> its sources
    for tgt, srcs, _, _ in edges:
        for s in srcs:
            flows_to.setdefault(s, set()).add(tgt)
        flows_from.setdefault(tgt, set()).update(srcs)
    act = Activity(_reached(set(wrt), flows_to), _reached({fn.result}, flows_from))
    for tgt, srcs, prim, stmt in edges:
        if stacks and prim.key.endswith(".pop") and prim.key[:-4] in stacks:
            continue
        if prim.rule is None and act.active(tgt) and any(act.active(s) for s in srcs):
            where = origin(stmt) or (fn.src.filename, getattr(stmt, "lineno", None))
            returned = prim.key == "tuple" and tgt == fn.result
            raise (ContainerOutputError if returned else NonDifferentiableError)(located(
                where[0], where[1], None,
                f"s2sad has no derivative rule for {prim.key}(), which is called here on a value that "
                f"depends on the input; register one with s2sad.defvjp({prim.key.split('.')[-1]}, ...)"
                if prim.key != "tuple" else
                "a tuple or list that holds a differentiated value is not supported here" if tgt != fn.result else
                "grad needs one scalar output, and this function returns a container: for grad or value_and_grad "
                "of a function that returns `loss, aux`, pass has_aux=True (loss is differentiated, aux returned "
                "as it is); jvp, vjp and jacobian take a function that returns a container"))
    return act


def _reached(start: set[str], step: dict[str, set[str]]) -> set[str]:
    """`start` and every name reached from it along `step` (each name followed once)."""
    out = set(start)
    todo = list(start)
    while todo:
        for n in step.get(todo.pop(), ()):
            if n not in out:
                out.add(n)
                todo.append(n)
    return out


def analyze(fn: CoreFunction, wrt: list[str]) -> Analysis:
    act = activity(fn, wrt)
    res = Analysis(act)
    counts: dict[str, int] = {p: 1 for p in fn.params}
    _count_assignments(fn.body, False, counts, res.loop_assigned)
    res.multi_assigned = {v for v, n in counts.items() if n > 1}
    return res


def _count_assignments(body: list[ast.stmt], in_loop: bool, counts: dict[str, int], loop_assigned: set[str]) -> None:
    """Count each variable's assignments in `body` into `counts`; those made in a loop (but the loop's
    own target) go into `loop_assigned`. (A function of the module, not a closure calling itself: that
    would be a reference cycle keeping the analysis alive until the cycle collector runs.)"""
    for s in body:
        for v in assigned(s):
            counts[v] = counts.get(v, 0) + 1
            if in_loop and not isinstance(s, ast.For):
                loop_assigned.add(v)
        if isinstance(s, (ast.While, ast.For)):
            _count_assignments(s.body, True, counts, loop_assigned)
        elif isinstance(s, ast.If):
            _count_assignments(s.body, in_loop, counts, loop_assigned)
            _count_assignments(s.orelse, in_loop, counts, loop_assigned)


__all__ = ["Activity", "Analysis", "activity", "analyze", "Prim", "names_read"]


def check_object_attributes(fn: CoreFunction, act: Activity, filename: str, where_of) -> None:
    """Refuse an attribute read (`p.w`) of a parameter that is differentiated: s2sad reads attributes of
    the objects a function is given as constants, which a differentiated value is not."""
    for st in walk_stmts(fn.body):
        for node in walk_in_order(st):
            if getattr(node, "s2sad_object_attr", False):
                root = node
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in act.varied:
                    where = where_of(st) or (filename, None)
                    raise UnsupportedSyntaxError(located(
                        where[0], where[1], None,
                        f"reading the attribute `{ast.unparse(node)}` of a differentiated value: s2sad reads "
                        "attributes of objects as constants; pass the value in as an argument of its own"))
