"""Lower `break`, `continue` and early `return` into flags and guards.

After this pass a function body has no jumps except one final `return` and, at the end of a loop
body, `if <flag>: break` (a forward-only exit test). The reverse sweep then only has to mirror
`if`, `while` and `for`. The flags are ordinary boolean variables, so a reader of the generated
code can follow them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..ir.names import Namer
from ..ir.nodes import children


def _name(id_: str, ctx=ast.Load) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx())


def _set(flag: str, value: bool, like: ast.AST) -> ast.Assign:
    return ast.copy_location(ast.Assign(targets=[_name(flag, ast.Store)], value=ast.Constant(value)), like)


def _any(flags: list[str]) -> ast.expr:
    if len(flags) == 1:
        return _name(flags[0])
    return ast.BoolOp(op=ast.Or(), values=[_name(f) for f in flags])


def _count(stmts, kind) -> int:
    """How many `kind` nodes `stmts` contain, not counting nested function definitions."""
    n, todo = 0, list(stmts)
    while todo:
        node = todo.pop()
        n += isinstance(node, kind)
        if not isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(children(node))
    return n


def _has(stmts, kinds) -> bool:
    """Whether `stmts` contain a node of `kinds`, not counting nested function definitions."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        todo.extend(children(node))
    return False


@dataclass
class _Loop:
    brk: str | None = None
    cont: str | None = None


@dataclass
class _Ctx:
    namer: Namer
    result: str
    aux: str | None = None
    split: object = None          # has_aux: checks a returned value is a pair and splits it
    returned: str | None = None
    loops: list = field(default_factory=list)


def lower(body: list[ast.stmt], namer: Namer, result: str, aux: str | None = None,
          split=None) -> tuple[list[ast.stmt], bool]:
    """Rewrite `body` so that it ends in its only `return`, which returns `result`.

    Returns the new body and whether any jump had to be lowered. Every `return e` becomes
    `result = e` (plus a flag when it is not the last statement).
    """
    ctx = _Ctx(namer, result, aux=aux, split=split)
    n_returns = _count(body, ast.Return)
    early = n_returns > 1 or (n_returns == 1 and not isinstance(body[-1], ast.Return))
    if early:
        ctx.returned = namer.fresh("returned")
    new, _ = _block(body, ctx)
    if n_returns == 0:
        new.append(ast.copy_location(ast.Assign(targets=[_name(result, ast.Store)], value=ast.Constant(None)), body[-1]))
    pre = [_set(ctx.returned, False, body[0])] if ctx.returned else []
    ret = ast.Return(value=_name(result))
    ast.copy_location(ret, body[-1] if body else ast.Pass())
    lowered = early or _has(body, (ast.Break, ast.Continue))
    return pre + new + [ret], lowered


def _block(stmts: list[ast.stmt], ctx: _Ctx) -> tuple[list[ast.stmt], list[str]]:
    """Lower a block; return it and the flags that may be set when it ends early."""
    out: list[ast.stmt] = []
    for i, s in enumerate(stmts):
        new, flags, certain = _stmt(s, ctx)
        out.extend(new)
        rest = stmts[i + 1:]
        if certain:
            return out, flags
        if flags and rest:
            inner, more = _block(rest, ctx)
            guard = ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=_any(flags)), body=inner, orelse=[]), rest[0])
            out.append(guard)
            return out, sorted(set(flags) | set(more))
        if flags:
            return out, flags
    return out, []


def _stmt(s: ast.stmt, ctx: _Ctx) -> tuple[list[ast.stmt], list[str], bool]:
    """Lower one statement: (new statements, flags it may set, whether it always jumps)."""
    if isinstance(s, ast.Return):
        value = s.value if s.value is not None else ast.Constant(None)
        if ctx.aux is not None:
            value, aux_value = ctx.split(s)
            assign = [ast.copy_location(ast.Assign(targets=[_name(ctx.result, ast.Store)], value=value), s),
                      ast.copy_location(ast.Assign(targets=[_name(ctx.aux, ast.Store)], value=aux_value), s)]
        else:
            assign = [ast.copy_location(ast.Assign(targets=[_name(ctx.result, ast.Store)], value=value), s)]
        if ctx.returned is None:
            return assign, [], True
        return assign + [_set(ctx.returned, True, s)], [ctx.returned], True
    if isinstance(s, ast.Break):
        loop = ctx.loops[-1]
        return [_set(loop.brk, True, s)], [loop.brk], True
    if isinstance(s, ast.Continue):
        loop = ctx.loops[-1]
        return [_set(loop.cont, True, s)], [loop.cont], True
    if isinstance(s, ast.If):
        body, f1 = _block(s.body, ctx)
        orelse, f2 = _block(s.orelse, ctx)
        new = ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse), s)
        return [new], sorted(set(f1) | set(f2)), False
    if isinstance(s, (ast.While, ast.For)):
        return _loop(s, ctx)
    return [s], [], False


def _loop(s, ctx: _Ctx):
    """A loop with its jumps lowered; its `else` runs after it unless it was left by `break` (or an
    early `return`)."""
    loop = _Loop()
    if _has(s.body, (ast.Break,)):
        loop.brk = ctx.namer.fresh("broke")
    if _has(s.body, (ast.Continue,)):
        loop.cont = ctx.namer.fresh("skip")
    ctx.loops.append(loop)
    body, flags = _block(s.body, ctx)
    ctx.loops.pop()
    pre = []
    if loop.cont:
        body.insert(0, _set(loop.cont, False, s))
    exits = [f for f in flags if f != loop.cont]
    if loop.brk:
        pre.append(_set(loop.brk, False, s))
    if exits:
        body.append(ast.copy_location(ast.If(test=_any(exits), body=[ast.copy_location(ast.Break(), s)],
                                             orelse=[]), s))
    new = type(s)(**{**{f: getattr(s, f) for f in s._fields}, "body": body, "orelse": []})
    ast.copy_location(new, s)
    outer = [f for f in flags if f not in (loop.brk, loop.cont)]
    after = []
    if s.orelse:
        orelse, more = _block(s.orelse, ctx)
        stop = ([loop.brk] if loop.brk else []) + outer
        after = [ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=_any(stop)), body=orelse or
                                          [ast.Pass()], orelse=[]), s.orelse[0])] if stop else orelse
        outer = sorted(set(outer) | set(more))
    return pre + [new] + after, outer, False
