"""A library function passed where s2sad wants a `def`: `grad(np.sin)`, `jacobian(np.tanh)`.

A NumPy function that has a derivative rule has no Python source to transform, so s2sad writes the
one-line `def` that calls it (`def sin(x): return np.sin(x)`) and differentiates that: the rule is
applied as it is inside any function, and `grad(grad(grad(np.sin)))` is -cos like any other third
derivative. The source is kept in linecache under a name of its own (`<s2sad: np.sin>`).
"""
from __future__ import annotations

import linecache
import math
from typing import Callable

import numpy as np

from ..frontend.normalize import rule_key
from ..rules import RULES

_MADE: dict[int, tuple[Callable, Callable]] = {}      # id(library function) -> (it, its def)


def as_function(fun: Callable) -> Callable:
    """`fun` itself when it is a Python function (or any callable that is not a library function with a
    rule); for a NumPy or math function with a rule, a `def` that calls it."""
    if not callable(fun) or type(fun).__name__ in ("function", "method"):    # a def: read as it is
        return fun
    made = _MADE.get(id(fun))
    if made is not None and made[0] is fun:
        return made[1]
    try:
        key = rule_key(fun)
    except TypeError:               # unhashable or odd objects: not a library function
        return fun
    if key is None or not key.startswith(("np.", "math.")):
        return fun
    rule = RULES.get(key)
    params = getattr(rule, "params", None)
    if rule is None or not params or any(p.sequence for p in params):
        return fun
    required = [p.name for p in params if p.default is None]
    optional = [p for p in params if p.default is not None]
    signature = ", ".join(required + [f"{p.name}={p.default}" for p in optional])
    call = ", ".join(required + [f"{p.name}={p.name}" for p in optional])
    name = key.rpartition(".")[2]
    text = f"def {name}({signature}):\n    return {key}({call})\n"
    filename = f"<s2sad: {key}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {"np": np, "math": math, "__name__": key.rpartition(".")[0]}
    try:
        exec(compile(text, filename, "exec"), namespace)
    except (SyntaxError, NameError):        # a default value that is not a Python literal: leave it
        return fun
    made_fn = namespace[name]
    made_fn.__doc__ = f"{key}, as a Python function s2sad can read (made by s2sad for a transformation)."
    _MADE[id(fun)] = (fun, made_fn)
    return made_fn
