"""The transformation family built on the two modes: jvp, vjp, jacobian, hessian, higher order.

Everything here composes compiled functions; no compiler logic lives here. A transformation of a
transformation (hessian, `grad(grad(f))`, `jvp(grad(f), ...)`) runs forward mode over the first
transformation's generated source.
"""
from __future__ import annotations

import weakref

import inspect
import linecache
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..analysis import aliasing
from .. import backends
from ..codegen import pipeline as compiler
from ..rules import custom
from ..errors import DifferentiationError

__all__ = ["jvp", "vjp", "jacobian", "hessian"]


@dataclass
class Target:
    """What a transformation differentiates: a function with source, how to build its full argument
    list from the user's arguments, and which element of its returned tuple is the output."""

    fn: Callable
    expand: Callable[[tuple, dict], list]
    select: tuple[int, ...] | None
    label: str


def register_source(c: compiler.Compiled) -> None:
    """Make a generated function's source findable by `inspect` even when it lives in memory only."""
    filename = c.fn.__code__.co_filename
    linecache.cache[filename] = (len(c.source), None, c.source.splitlines(True), filename)


def _bind_all(fn):
    sig = inspect.signature(fn)
    plain = all(p.kind == p.POSITIONAL_OR_KEYWORD for p in sig.parameters.values())
    n = len(sig.parameters)

    def expand(args, kwargs):
        if plain and not kwargs and len(args) == n:
            return list(args)
        ba = sig.bind(*args, **kwargs)
        ba.apply_defaults()
        return list(ba.arguments.values())

    return expand


def target(fun: Callable, args=(), kwargs=None) -> Target:
    from .transforms import _Transformed
    if isinstance(fun, _Transformed):
        return fun._as_target(args, kwargs)
    if not callable(fun):
        raise TypeError(f"expected a function, not {fun!r}")
    return _memo(fun, ("target",), lambda: Target(fun, _bind_all(fun), None, getattr(fun, "__qualname__", repr(fun))))


def _as_float(x):
    from .transforms import _as_float as convert
    return convert(x)


def fresh(args) -> list:
    """The arguments with each array copied: the user's function may write into its arguments (`x *= 2`
    changes the caller's x), which must not move the point that derivatives are then taken at."""
    return [a.copy() if isinstance(a, np.ndarray) or backends.is_cupy(a) else a for a in args]


def ones_like(x):
    if isinstance(x, (float, int)):
        return 1.0
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        dtype = np.asarray(x).dtype
    return np.ones_like(x, dtype=np.result_type(dtype, np.float32) if dtype.kind == "f" else float)


_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _memo(fn, key: tuple, build):
    """The compiled function for (fn, key), looked up once per function object: a Jacobian's sweeps and
    repeated jvp calls skip the cache's source hashing (a new function object is a new entry)."""
    try:
        table = _MEMO.setdefault(fn, {})
    except TypeError:                       # not weak-referenceable: no memo
        return build()
    key = key + (custom.fingerprint(),)     # registering a rule changes the code
    found = table.get(key)
    if isinstance(found, aliasing.NeedsArgKinds):    # known to depend on the arguments' kinds
        raise found
    # a helper redefined or a global rebound since it was compiled: compile again
    if found is None or (isinstance(found, compiler.Compiled) and not found.fresh()):
        try:
            found = table[key] = build()
        except aliasing.NeedsArgKinds as exc:
            table[key] = exc
            raise
    return found


def _grad_of(fun, nums, backend: str = "numpy", full=None):
    """The reverse-mode code of `fun`; for the arguments `full` when it depends on their kinds."""
    try:
        return _memo(fun, ("grad", nums, backend), lambda: compiler.compile_grad(fun, nums, False, backend))
    except aliasing.NeedsArgKinds:
        if full is None:
            raise
        kinds = compiler.arg_kinds(fun, full)
        return _memo(fun, ("grad", nums, backend, kinds),
                     lambda: compiler.compile_grad(fun, nums, False, backend, kinds=kinds))


def compiled_jvp(fn, wrt: tuple[int, ...], select=None, backend: str = "numpy", full=None) -> compiler.Compiled:
    """The forward-mode code of `fn` (a user function, or generated code with `select`) for `wrt`; for
    the arguments `full` when it depends on their kinds."""
    try:
        return _memo(fn, ("jvp", wrt, select, backend), lambda: compiler.compile_jvp(fn, wrt, backend, select=select))
    except aliasing.NeedsArgKinds:
        if full is None:
            raise
        kinds = compiler.arg_kinds(fn, full)
        return _memo(fn, ("jvp", wrt, select, backend, kinds),
                     lambda: compiler.compile_jvp(fn, wrt, backend, select=select, kinds=kinds))


def jvp_call(t: Target, full: list, wrt: tuple[int, ...], tangents: list):
    """Run the JVP of target `t` at the full argument list `full` (on the GPU when CuPy arrays are in
    it: the tangent code is generated for CuPy, whatever code `t` is)."""
    from .transforms import _check_real
    backend = backends.backend_of((*full, *tangents))
    c = compiled_jvp(t.fn, wrt, t.select, backend, full)
    register_source(c)
    extra = [f.read() for f in c.free]
    _check_real((*full, *extra))
    if backend == "cupy":
        full, tangents, extra = backends.to_device(full), backends.to_device(tangents), backends.to_device(extra)
    return c.fn(*full, *tangents, *extra)


def jvp(fun: Callable, primals: tuple, tangents: tuple) -> tuple[Any, Any]:
    """Forward mode: `(fun(*primals), J @ tangents)`, by a generated tangent function (JAX's jvp)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(fun, primals, tangents): primals and tangents must be tuples")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    t = target(fun, tuple(primals))
    full = t.expand(tuple(primals), {})
    wrt = tuple(i for i, x in enumerate(tangents) if x is not None)   # None: a constant (an index, a flag)
    for i in wrt:
        full[i] = _as_float(full[i])
        if np.shape(tangents[i]) != np.shape(full[i]):
            raise ValueError(f"jvp: tangent {i} has shape {np.shape(tangents[i])}, its primal {np.shape(full[i])}")
    tans = [_as_float(tangents[i]) for i in wrt]
    return jvp_call(t, full, wrt, tans)


def vjp(fun: Callable, *primals) -> tuple[Any, Callable]:
    """Reverse mode: `(fun(*primals), vjp_fun)`; `vjp_fun(cotangent)` returns one gradient per primal."""
    from .transforms import _Transformed, _check_real, _like
    if isinstance(fun, _Transformed):
        raise DifferentiationError("vjp of a transformed function (reverse over reverse) is not supported; "
                                   "use jvp or jacobian(..., mode='forward'), which run forward mode over it")
    nums = tuple(range(len(primals)))
    backend = backends.backend_of(primals)
    args = [_as_float(p) for p in primals]
    full = _bind_all(fun)(tuple(args), {})
    c = _grad_of(fun, nums, backend, full)
    extra = [f.read() for f in c.free]
    _check_real((*full, *extra))
    if backend == "cupy":
        extra = backends.to_device(extra)
    out = fun(*fresh(primals))

    def vjp_fun(cotangent):
        if np.shape(cotangent) != np.shape(out):
            raise ValueError(f"vjp: the cotangent has shape {np.shape(cotangent)}, the output {np.shape(out)}")
        _, grads = c.fn(*full, *extra, _as_float(cotangent))
        return tuple(_like(g, p) for g, p in zip(grads, primals))

    return out, vjp_fun


def _basis(shape, dtype, xp=np):
    n = int(np.prod(shape)) if shape else 1
    for k in range(n):
        e = xp.zeros(n, dtype=dtype)
        e[k] = 1.0
        yield e.reshape(shape) if shape else dtype.type(1.0) if hasattr(dtype, "type") else 1.0


def jacobian(fun: Callable, *, argnums: int = 0, mode: str = "auto") -> Callable:
    """`jacobian(f)(*args)` has shape `out.shape + args[argnums].shape`.

    mode "forward" runs one tangent sweep per input element, "reverse" one cotangent sweep per output
    element, "auto" picks the fewer sweeps.
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    if not isinstance(argnums, int) or isinstance(argnums, bool):
        raise TypeError(f"jacobian: argnums must be an int, not {argnums!r}")

    def jac(*args, **kwargs):
        t = target(fun, args, kwargs)
        full = t.expand(args, kwargs)
        i = argnums % len(args) if args else argnums
        x = _as_float(full[i])
        full[i] = x
        backend = backends.backend_of(full)
        xp = backends.module(backend)
        dtype = np.result_type(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype, np.float32)
        xshape = np.shape(x)
        from .transforms import _Transformed, _check_real
        use, out = mode, None
        if isinstance(fun, _Transformed):          # its code is differentiated again in forward mode only
            if mode == "reverse":
                raise DifferentiationError("jacobian(..., mode='reverse') of a transformed function is not "
                                           "supported; use mode='forward'")
            use = "forward"
        elif mode == "auto":                        # the fewer sweeps: inputs or outputs
            out = fun(*fresh(args), **kwargs)
            use = "forward" if np.size(x) <= np.size(out) else "reverse"
        if use == "forward":
            cols = []
            value = None
            for e in _basis(xshape, np.dtype(dtype), xp):
                tangent = e if xshape else 1.0
                value, d = jvp_call(t, list(full), (i,), [tangent])
                cols.append(xp.asarray(d, dtype=dtype))
            oshape = np.shape(value)
            if not cols:
                return xp.zeros(oshape + xshape, dtype=dtype)
            J = xp.stack(cols, axis=-1)
            return J.reshape(oshape + xshape)
        c = _grad_of(fun, i, backend, full)
        extra = [f.read() for f in c.free]
        _check_real((*full, *extra))
        if backend == "cupy":
            full, extra = backends.to_device(full), backends.to_device(extra)
        if out is None:
            out = fun(*fresh(args), **kwargs)
        oshape = np.shape(out)
        rows = []
        for e in _basis(oshape, np.dtype(dtype), xp):
            _, g = c.fn(*full, *extra, e if oshape else 1.0)
            rows.append(xp.asarray(xp.broadcast_to(xp.asarray(g), xshape), dtype=dtype))
        if not rows:
            return xp.zeros(oshape + xshape, dtype=dtype)
        return xp.stack(rows).reshape(oshape + xshape)

    jac.__wrapped__ = fun
    jac._s2sad_derivative = "jacobian"
    jac.__name__ = f"jacobian_{getattr(fun, '__name__', 'f')}"
    return jac


def hessian(fun: Callable, *, argnums: int = 0) -> Callable:
    """`hessian(f)(*args)`: forward mode over the generated reverse-mode gradient, shape `x.shape * 2`."""
    from .transforms import grad
    return jacobian(grad(fun, argnums=argnums), argnums=argnums, mode="forward")
