"""grad's and value_and_grad's fast way in for arrays. Once a call has found its code, a later call
whose arguments have the same types and dtypes (float arrays, Python numbers; a differentiated one a
float array or a Python float, so that nothing is converted) goes straight to that code: the binding,
the container, complex and backend look-ups would find the same again. Whatever else takes the full
path. (A single Python float argument has a faster way still: entry.py.)"""
from __future__ import annotations

from typing import Any

import numpy as np

from .convert import complex_step, real_reads


def kinds(args, nums) -> tuple | None:
    """The kinds of `args` the fast way checks again (type, and an array's dtype and number of
    dimensions), or None when some argument is of a kind it does not take."""
    out = []
    for i, a in enumerate(args):
        t = type(a)
        if t is np.ndarray:
            kind = a.dtype.kind
            if kind != "f" and (i in nums or kind not in "iu"):
                return None
            out.append((t, a.dtype, a.ndim))
        elif t is float or (t is int and i not in nums):
            out.append((t, None, None))
        else:
            return None
    return tuple(out)


class Plain:
    """Generated code `c`, for arguments of `kinds`, while it is fresh."""

    __slots__ = ("c", "kinds")

    def __init__(self, c, kinds_: tuple):
        self.c, self.kinds = c, kinds_

    def __call__(self, args) -> Any:
        """(value, gradients) as the generated function returns them, or None: not this way."""
        c = self.c
        if len(args) != len(self.kinds):
            return None
        for a, (t, dtype, ndim) in zip(args, self.kinds):
            if type(a) is not t or (dtype is not None and (a.dtype != dtype or a.ndim != ndim)):
                return None
        if complex_step.get() or not c.fresh():
            return None
        if not c.free:
            return c.fn(*args)
        extra = real_reads(c.free)
        return None if extra is None else c.fn(*args, *extra)
