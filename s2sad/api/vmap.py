"""vmap: a function of one example turned into a function of a batch, by source transformation.

`vmap(f, in_axes, out_axes)(*args)` is `np.stack([f(*example_k) for k in ...], axis=out_axes)` with JAX's
semantics for the axes, computed by generated code that handles every example at once
(modes/batch.py). A transformation is batched through its generated code: `vmap(grad(loss),
in_axes=(None, 0, 0))` gives per-example gradients in one pass.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from .. import backends
from ..codegen import pipeline as compiler
from ..errors import DifferentiationError
from ..ir import pytree
from .convert import check_real
from .library import as_function
from .targets import bind_all, memo, register_source

__all__ = ["vmap"]


def _check_axis_spec(spec, what: str) -> None:
    if spec is None or (isinstance(spec, int) and not isinstance(spec, bool)):
        return
    if isinstance(spec, (tuple, list, dict)):
        for s in pytree.flatten(spec)[1]:
            _check_axis_spec(s, what)
        return
    raise TypeError(f"vmap: {what} must be ints, None, or tuples/lists/dicts of them, not {spec!r}")


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """Vectorise `fun` over the axes `in_axes` of its arguments (an int or None for all of them, or one
    per positional argument, a container's axes in its structure); each output gets its batch axis at
    `out_axes`. The batched function is generated code (`.source`, `.path`), one pass for all examples."""
    _check_axis_spec(in_axes, "in_axes")
    _check_axis_spec(out_axes, "out_axes")
    if not callable(fun):
        raise TypeError(f"vmap: expected a function, not {fun!r}")
    return BatchedFunction(fun, in_axes, out_axes)


class BatchedFunction:
    """`vmap(f)`: call it with a batch of examples."""

    def __init__(self, fun: Callable, in_axes, out_axes):
        self.__wrapped__ = fun
        self._in_axes = in_axes
        self._out_axes = out_axes
        self._last = None
        self._signatures: dict = {}
        self.__name__ = f"vmap_{getattr(fun, '__name__', 'f')}"
        self.__doc__ = getattr(fun, "__doc__", None)

    def __repr__(self) -> str:
        return f"vmap({getattr(self.__wrapped__, '__qualname__', self.__wrapped__)})"

    @property
    def source(self) -> str:
        """The generated source of the last call (vmap's code depends on the arguments' dimensions)."""
        if self._last is None:
            raise AttributeError("vmap(f).source: call the function first (the code depends on the arguments)")
        return self._last.source

    @property
    def path(self):
        return None if self._last is None else self._last.path

    def _axes_per_argument(self, args: tuple, nkw: int) -> list:
        n = len(args)
        spec = self._in_axes
        if isinstance(spec, (tuple, list)):
            if len(spec) != n:
                raise ValueError(f"vmap: in_axes has {len(spec)} entries, but the function was called with {n} "
                                 "positional arguments")
            axes = list(spec)
        else:
            axes = [spec] * n
        return axes + [0] * nkw          # keyword arguments are mapped along axis 0 (as JAX does)

    def _signature(self, fun):
        """(signature, parameter names, the full-argument-list builder) of `fun`, found once per function
        (every call asks)."""
        found = self._signatures.get(fun)
        if found is None:
            sig = inspect.signature(fun)
            found = self._signatures[fun] = (sig, list(sig.parameters), bind_all(fun))
        return found

    def _axes_by_name(self, fun, args, kwargs, names) -> list:
        """The mapped axis of each of `fun`'s parameters (None for a default value not passed)."""
        user_axes = self._axes_per_argument(args, len(kwargs))
        if not kwargs:
            return user_axes + [None] * (len(names) - len(user_axes))
        bound = self._signature(fun)[0].bind(*args, **kwargs)
        by_name = dict(zip(list(bound.arguments)[:len(args)], user_axes[:len(args)]))
        by_name.update({k: 0 for k in kwargs})
        return [by_name.get(p) for p in names]

    def __call__(self, *args, **kwargs):
        fun = self.__wrapped__
        _refuse_lazy((*args, *kwargs.values()))
        if isinstance(fun, BatchedFunction):  # vmap(vmap(f)): both batch axes as one
            return self._nested(fun, args, kwargs)
        batch_target = getattr(fun, "_batch_target", None)
        if batch_target is not None:          # a transformation: its generated code is batched
            names = self._signature(fun.__wrapped__)[1]
            axes = self._axes_by_name(fun.__wrapped__, args, kwargs, names)
            example = tuple(_first(a, ax) for a, ax in zip(args, self._axes_per_argument(args, 0)))
            target = batch_target(args, kwargs, example)
            out = self._run(target.fn, target.full, axes, target.select, target.spans, target.structures, ())
            return target.finish(out)
        fun = as_function(fun)
        _, names, expand = self._signature(fun)
        full = expand(tuple(args), kwargs)
        axes = self._axes_by_name(fun, args, kwargs, names)
        flat, spans, structures = pytree.flatten_arguments(full, lambda i, a: pytree.is_container(a))
        trees = tuple((names[i], td) for i, td in structures.items())
        return self._run(fun, flat, axes, None, spans, structures, trees)

    def _nested(self, inner: "BatchedFunction", args: tuple, kwargs: dict):
        """vmap(vmap(f, a), b): each argument's outer and inner mapped axes become the first two and then
        one axis of B1 * B2 examples, which one batched function of f handles; its outputs are split
        back and their axes moved to the inner, then the outer, out_axes. An argument mapped by one of
        the two only is repeated along the other."""
        if kwargs:
            raise ValueError("vmap of vmap: pass the arguments by position")
        outer = self._axes_per_argument(args, 0)
        inner_axes = inner._axes_per_argument(args, 0)
        sizes = [None, None]
        moved = []
        for a, ao, ai in zip(args, outer, inner_axes):
            if pytree.is_container(a) or isinstance(ao, (tuple, list, dict)) or isinstance(ai, (tuple, list, dict)):
                raise ValueError("vmap of vmap: containers and trees of axes are not supported there yet")
            x = np.asarray(a)
            if ao is not None:
                x = np.moveaxis(x, ao, 0)
                sizes[0] = x.shape[0]
            if ai is not None:
                x = np.moveaxis(x, ai + (ao is not None), 1 if ao is not None else 0)
                sizes[1] = x.shape[1 if ao is not None else 0]
            moved.append((x, ao is not None, ai is not None))
        if sizes[0] is None or sizes[1] is None:
            raise ValueError("vmap of vmap: each vmap must map at least one argument")
        b1, b2 = sizes
        flat_args, axes = [], []
        for x, o, i in moved:
            if not o and not i:
                flat_args.append(x)
                axes.append(None)
                continue
            if o and not i:
                x = np.broadcast_to(x[:, None], (b1, b2) + x.shape[1:])
            elif i and not o:
                x = np.broadcast_to(x[None], (b1, b2) + x.shape[1:])
            flat_args.append(np.reshape(x, (b1 * b2,) + x.shape[2:]))
            axes.append(0)
        out = vmap(inner.__wrapped__, in_axes=tuple(axes))(*flat_args)

        def split(v, oi, oo):
            v = np.reshape(v, (b1, b2) + np.shape(v)[1:])
            v = np.moveaxis(v, 1, (oi % (v.ndim - 1)) + 1 if oi is not None else 1)
            return np.moveaxis(v, 0, oo)

        def each(v, oi, oo):
            if isinstance(v, (tuple, list)):
                ois = oi if isinstance(oi, (tuple, list)) else [oi] * len(v)
                oos = oo if isinstance(oo, (tuple, list)) else [oo] * len(v)
                return type(v)(each(x, a, b) for x, a, b in zip(v, ois, oos))
            return split(v, oi, oo)

        return each(out, inner._out_axes, self._out_axes)

    def _run(self, fn, flat: list, axes: list, select, spans, structures, trees):
        """Compile (once per kind of arguments) and call the batched code on the leaves `flat`."""
        leaf_axes: list = [None] * len(flat)
        for i, span in enumerate(spans):
            ax = axes[i] if i < len(axes) else None
            if i in structures:
                if isinstance(ax, (tuple, list, dict)):
                    td, parts = pytree.flatten(ax)
                    if td != structures[i]:
                        raise ValueError(f"vmap: in_axes for argument {i} has the structure {pytree.spelled(td)}, "
                                         f"the argument {pytree.spelled(structures[i])}")
                else:
                    parts = [ax] * len(span)
                for k, a in zip(span, parts):
                    leaf_axes[k] = a
            else:
                if isinstance(ax, (tuple, list, dict)):
                    raise ValueError(f"vmap: in_axes for argument {i} is {ax!r}, but the argument is not a container")
                leaf_axes[span[0]] = ax
        c, out = run_batched(fn, flat, leaf_axes, self._out_axes, select, trees)
        self._last = c
        return out


def run_batched(fn, flat: list, leaf_axes: list, out_axes=0, select=None, trees: tuple = ()):
    """(the compiled batched code of `fn`, its result on the arguments `flat`, mapped along `leaf_axes`,
    one per argument, None for an unmapped one): the batched code is made for what one example of each
    argument is (a number, an array of so many dimensions)."""
    if all(a is None for a in leaf_axes):
        raise ValueError("vmap: in_axes maps no argument (all None): at least one must be mapped")
    kinds: list = []                 # one example of each leaf: "number", its number of dimensions, or None
    mapped = []
    for k, (x, a) in enumerate(zip(flat, leaf_axes)):
        if a is None:
            kinds.append("number" if type(x) in (float, int, bool) or isinstance(x, np.generic)
                         else x.ndim if isinstance(getattr(x, "ndim", None), int) else None)
            continue
        nd = np.ndim(x)
        if nd == 0:
            raise ValueError(f"vmap: argument {k} is a number, but in_axes maps its axis {a}")
        if not -nd <= a < nd:
            raise ValueError(f"vmap: in_axes gives axis {a} for an argument of shape {np.shape(x)}")
        mapped.append((k, a if a >= 0 else a + nd))
        kinds.append("number" if nd == 1 else nd - 1)      # an element of a 1-D array is a number
    key = ("vmap", tuple(mapped), repr(out_axes), tuple(kinds), select, trees)
    c = memo(fn, key, lambda: compiler.compile_batched(fn, tuple(mapped), out_axes, tuple(kinds), select=select,
                                                        trees=trees))
    register_source(c)
    extra = [f.read() for f in c.free]
    check_real(extra)
    return c, c.fn(*flat, *extra)


def _refuse_lazy(args) -> None:
    """vmap reads its arguments' examples and stacks its results in memory: on dask arrays it would
    compute them whole, unasked. Refused, with what to do instead."""
    if backends.host_only():
        return
    for a in args:
        for leaf in (pytree.flatten(a)[1] if pytree.is_container(a) else [a]):
            if backends.lazy(leaf):
                raise DifferentiationError(
                    "vmap takes NumPy (or CuPy) arrays, not lazy dask arrays: it would compute them whole. A "
                    "function of a whole batch already runs chunk by chunk under s2sad.grad (write it over the "
                    "batch axis), or pass `x.compute()`")


def _first(a, axis):
    """The first example of argument `a` mapped along `axis` (containers leaf by leaf)."""
    if axis is None:
        return a
    if pytree.is_container(a):
        td, leaves = pytree.flatten(a)
        axes = pytree.flatten(axis)[1] if isinstance(axis, (tuple, list, dict)) else [axis] * len(leaves)
        return pytree.unflatten(td, [_first(x, ax) for x, ax in zip(leaves, axes)])
    x = np.asarray(a)
    if x.ndim == 0:
        return a
    return np.take(x, 0, axis=axis)
