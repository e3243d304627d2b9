"""Arguments in, derivatives out: the conversions every transformation shares.

Differentiated arguments become floats (ints are differentiated as float64; lists of numbers become
arrays); complex numbers, dicts and other containers are refused. A derivative comes back in its
argument's type: a Python float for a Python number, the argument's dtype and shape for an array, a
CuPy array on the device for a CuPy argument.
"""
from __future__ import annotations

import contextvars
import inspect
from typing import Callable

import numpy as np

from .. import backends
from ..errors import DifferentiationError

def check_argnums(fun: Callable, argnums) -> tuple[int, ...]:
    """Validate argnums before any transformation: TypeError for a wrong type, ValueError out of range."""
    nums = (argnums,) if isinstance(argnums, int) and not isinstance(argnums, bool) else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(i, int) and not isinstance(i, bool)
                                                          for i in nums):
        raise TypeError(f"argnums must be an int or a non-empty tuple of ints, not {argnums!r}")
    try:
        params = [p for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return nums
    n = len(params)
    for i in nums:
        if not -n <= i < n:
            raise ValueError(f"argnums={argnums!r} is out of range: {getattr(fun, '__name__', fun)} has "
                             f"{n} positional parameter{'s' if n != 1 else ''}")
    out = tuple(i % n for i in nums)
    if len(set(out)) != len(out):
        raise ValueError(f"argnums={argnums!r} names the same argument twice")
    return out


def as_float(x, complex_ok: bool = False):
    """Differentiated arguments: ints become float64, lists of numbers become arrays (for jacobian and
    hessian; grad, jvp and vjp pass containers leaf by leaf before this). Complex numbers (unless
    `complex_ok`: grad's code made for them), dicts and other containers are refused
    (DifferentiationError) rather than differentiated wrongly."""
    t = type(x)
    if t is float or t is np.ndarray and x.dtype.kind == "f":     # the common kinds, first
        return x
    if t is int or t is bool:
        return float(x)
    if isinstance(x, (np.ndarray, np.generic)) or backends.foreign(x):
        kind = x.dtype.kind
        if kind == "f":
            return x
        if kind == "c":
            if complex_step.get() or complex_ok:
                return x
            raise DifferentiationError(COMPLEX)
        if kind not in "iub":
            raise DifferentiationError(f"cannot differentiate with respect to an array of dtype {x.dtype}")
        return np.float64(x) if isinstance(x, np.generic) else x.astype(np.float64)
    if t is complex:
        if complex_step.get() or complex_ok:
            return x
        raise DifferentiationError(COMPLEX)
    if isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x)
        except ValueError:
            arr = None
        if arr is None or arr.dtype.kind not in "iubf":
            raise DifferentiationError(
                f"cannot differentiate with respect to this {t.__name__}: s2sad takes a list or tuple of numbers "
                "(read as an array) as a differentiated argument; pass arrays as separate arguments")
        return arr.astype(np.float64)
    if isinstance(x, dict):
        raise DifferentiationError(
            "differentiating a transformed function again (jacobian(grad(f)), jvp(grad(f), ...)) takes arrays "
            "and numbers, not a dict: for second derivatives with respect to a params dict use hessian(f), "
            "which takes containers, or pass its arrays as separate arguments")
    raise DifferentiationError(f"cannot differentiate with respect to a value of type {t.__name__}: "
                               "s2sad differentiates Python numbers and NumPy (or CuPy) float arrays")


# set by the numerical route while it evaluates at x + ih (the complex step): a generated derivative of
# analytic code computes its analytic extension there, which the route checks against the real value
complex_step: contextvars.ContextVar[bool] = contextvars.ContextVar("s2sad_complex_step", default=False)


COMPLEX = ("complex arguments are differentiated by grad, value_and_grad, jvp and vjp (JAX's convention); "
           "jacobian, hessian and vmap of a transformation take real ones, as JAX's jacobians do unless "
           "holomorphic=True (pass the real and imaginary parts as separate real arrays)")


def is_complex(v) -> bool:
    """A complex number or an array of them."""
    return type(v) is complex or getattr(getattr(v, "dtype", None), "kind", "") == "c"


def real_reads(free) -> list | None:
    """The current values of the free names `free` (FreeVar), or None when one is complex: the code for
    real values is not the one to run then."""
    values = [f.read() for f in free]
    return None if any(is_complex(v) for v in values) else values


def check_real(values) -> None:
    """Refuse complex values among the arguments that are not differentiated (and the globals the code
    reads): a complex intermediate would be differentiated with real rules."""
    if complex_step.get():
        return
    for v in values:
        t = type(v)
        if t is float or t is np.ndarray and v.dtype.kind != "c":    # the common kinds, first
            continue
        if is_complex(v):
            raise DifferentiationError(COMPLEX)


def like(g, x):
    """The gradient in the argument's type: Python float for a Python number, the same dtype and shape."""
    t = type(x)
    if t is float or t is int or t is bool:
        if type(g) is float:
            return g
        return g if backends.foreign(g) else float(g)   # CuPy, dask: a 0-d array, left where it is
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if type(g) is np.ndarray and g.shape == x.shape:
            if g.dtype == dtype and g.flags.writeable:
                return g
            return np.array(g, dtype=dtype)          # a read-only view, or another dtype: a copy
        if np.ndim(g) == 0:                          # a scalar standing for every element
            out = np.empty(x.shape, dtype)
            out.fill(g)
            return out
        return np.array(np.broadcast_to(g, x.shape), dtype=dtype)
    if isinstance(x, np.generic):
        return (x.dtype.type if x.dtype.kind in "fc" else np.float64)(g)
    if t is complex:
        return complex(g)
    unit = backends.owner(x)
    if unit is not backends.DEFAULT:
        return unit.like(g, x)
    return g


def fresh(args) -> list:
    """The arguments with each array copied: the user's function may write into its arguments (`x *= 2`
    changes the caller's x), which must not move the point that derivatives are then taken at."""
    return [a.copy() if isinstance(a, np.ndarray) or backends.foreign(a) else a for a in args]


def ones_like(x):
    if isinstance(x, (float, int)):
        return 1.0
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    return np.ones_like(x, dtype=np.result_type(dtype, np.float32) if dtype.kind == "f" else float)
