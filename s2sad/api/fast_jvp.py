"""jvp's fast way in. Once a call has found its code, a later call with arguments of the same kinds
(float arrays and Python floats, a tangent of the same kind and shape for each) goes straight to
that code: the checks that found it (binding, conversion, the complex and container look-ups) would
find the same again. Whatever else runs the full path."""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from .. import rules
from ..rules import custom
from .convert import complex_step, real_reads

MISS = object()                 # what a call the fast way cannot take returns
JVP: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # function -> _Entry, for jvp
HVP: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # the same for hvp (its own code)


def plain(primals, tangents) -> bool:
    """Every primal a float array or a Python float, with a tangent of the same kind and shape."""
    if len(primals) != len(tangents):
        return False
    for p, t in zip(primals, tangents):
        if type(p) is np.ndarray:
            if type(t) is not np.ndarray or p.dtype.kind != "f" or t.dtype.kind != "f" or t.shape != p.shape:
                return False
        elif type(p) is not float or type(t) is not float:
            return False
    return True


class _Entry:
    """The generated JVP `fn` of a function of `n` arguments, called with them, then `tail()` (None: not
    this way), the tangents, and the values of the free names `free`, while each of `fresh` holds."""

    __slots__ = ("n", "fn", "tail", "fresh", "free", "rules")

    def __init__(self, n: int, fn: Callable, tail: Callable[[], list | None], fresh: list, free: list):
        self.n, self.fn, self.tail, self.fresh, self.free = n, fn, tail, fresh, free
        self.rules = (custom.fingerprint(), rules.fingerprint())

    def __call__(self, primals, tangents) -> Any:
        if len(primals) != self.n or not plain(primals, tangents) or complex_step.get() \
                or self.rules[0] is not custom.fingerprint() or self.rules[1] is not rules.fingerprint() \
                or not all(f() for f in self.fresh):
            return MISS
        tail = self.tail()
        if tail is None:
            return MISS
        if not self.free:
            return self.fn(*primals, *tail, *tangents)
        extra = real_reads(self.free)
        return MISS if extra is None else self.fn(*primals, *tail, *tangents, *extra)


def call(table, fun: Callable, primals, tangents) -> Any:
    """`fun`'s JVP (by its entry in `table`) the fast way, or MISS."""
    try:
        entry = table.get(fun)
    except TypeError:               # not weak-referenceable
        return MISS
    return MISS if entry is None else entry(primals, tangents)


def remember(table, fun: Callable, n: int, fn: Callable, tail: Callable[[], list | None], fresh: list,
             free: list) -> None:
    """Let the next calls of `fun` with `n` plain arguments go the fast way to `fn` (an entry in `table`)."""
    try:
        table[fun] = _Entry(n, fn, tail, fresh, free)
    except TypeError:
        pass
