"""User-registered derivative rules: `defvjp` and `defjvp`.

A call to a registered function is not transformed: the core language spells it
`_rt.custom2(fun, a, b)` (a primitive of the rules table, one per arity), and its derivative calls
the user's rule through `_rt.custom_vjp(fun, i, g, ans, a, b)` / `_rt.custom_jvp(fun, i, t, ans, a, b)`.
"""
from __future__ import annotations

import inspect
from typing import Callable

from . import table

MAX_ARGS = 6

_VJP: dict[int, tuple] = {}     # id(fun) -> (fun, rules)
_JVP: dict[int, tuple] = {}


def _arity(fun: Callable) -> int:
    """Number of positional arguments a rule must cover."""
    nin = getattr(fun, "nin", None)          # NumPy / SciPy ufuncs
    if isinstance(nin, int):
        return nin
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        raise TypeError(f"s2sad: cannot read the signature of {fun!r}; wrap it in a Python function "
                        "with named parameters and register that") from None
    params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
        raise TypeError(f"s2sad: {fun.__qualname__} takes *args; register a function with fixed parameters")
    return len(params)


def _check(kind: str, fun: Callable, rules: tuple, first: str) -> None:
    if not callable(fun):
        raise TypeError(f"s2sad.{kind}: the first argument must be the function, got {fun!r}")
    n = _arity(fun)
    name = getattr(fun, "__qualname__", getattr(fun, "__name__", repr(fun)))
    if n > MAX_ARGS:
        raise TypeError(f"s2sad.{kind}: {name} takes {n} arguments; custom rules support at most {MAX_ARGS}")
    if len(rules) != n:
        raise TypeError(f"s2sad.{kind}({name}, ...): {name} takes {n} positional argument(s), so give "
                        f"{n} rule(s), one per argument (None for an argument with no derivative); got {len(rules)}")
    for i, r in enumerate(rules):
        if r is None:
            continue
        if not callable(r):
            raise TypeError(f"s2sad.{kind}: rule {i} for {name} is not callable: {r!r}")
        try:
            inspect.signature(r).bind(*range(n + 2))
        except TypeError:
            raise TypeError(f"s2sad.{kind}: rule {i} for {name} must accept ({first}, ans, "
                            f"{', '.join(f'a{j}' for j in range(n))}): {n + 2} positional arguments") from None
        except ValueError:
            pass          # no signature (a builtin): trust it


def defvjp(fun: Callable, *rules: Callable | None) -> Callable:
    """Register reverse rules for `fun`: `rules[i](g, ans, *args)` is the cotangent of argument i.

    Calls to `fun` in differentiated code are then not transformed; returns `fun`.
    """
    _check("defvjp", fun, rules, "g")
    _VJP[id(fun)] = (fun, tuple(rules))
    _FINGERPRINT.clear()
    table.changed()
    return fun


def defjvp(fun: Callable, *rules: Callable | None) -> Callable:
    """Register forward rules for `fun`: `rules[i](t, ans, *args)` is the output tangent from argument i's
    tangent `t`. Returns `fun`."""
    _check("defjvp", fun, rules, "t")
    _JVP[id(fun)] = (fun, tuple(rules))
    _FINGERPRINT.clear()
    table.changed()
    return fun


def registered(obj) -> bool:
    return id(obj) in _VJP or id(obj) in _JVP


_FINGERPRINT: list = []          # the last fingerprint, until a rule is registered (every call of a transformation asks)


def fingerprint() -> tuple:
    """Which functions have rules (generated code depends on it), stable from process to process."""
    if not _FINGERPRINT:
        names = {(getattr(f, "__module__", None) or "", _name(f), kind)
                 for kind, table in (("vjp", _VJP), ("jvp", _JVP)) for f, _ in table.values()}
        _FINGERPRINT.append(tuple(sorted(names)))
    return _FINGERPRINT[0]


def _name(fun) -> str:
    return getattr(fun, "__qualname__", getattr(fun, "__name__", repr(fun)))


def vjp(fun, i: int, g, ans, *args):
    """The cotangent of argument `i` of a registered `fun` (called by generated code)."""
    entry = _VJP.get(id(fun))
    if entry is None:
        raise _missing("defvjp", fun, "reverse")
    rule = entry[1][i]
    if rule is None:
        return 0.0 * args[i]
    return rule(g, ans, *args)


def jvp(fun, i: int, t, ans, *args):
    """The output tangent from argument `i`'s tangent `t` (called by generated code)."""
    entry = _JVP.get(id(fun))
    if entry is None:
        raise _missing("defjvp", fun, "forward")
    rule = entry[1][i]
    if rule is None:
        return 0.0 * ans
    return rule(t, ans, *args)


def _missing(kind: str, fun, mode: str):
    from ..errors import NonDifferentiableError
    return NonDifferentiableError(f"{_name(fun)} has a custom rule, but none for {mode} mode: register one "
                                  f"with s2sad.{kind}({_name(fun)}, ...)")
