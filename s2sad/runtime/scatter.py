"""Scatter-adds (`np.add.at`) for the runtime helpers, on any array module: NumPy's and CuPy's have one;
dask.array has none. There, an index of integers and slices (which reaches each element once) becomes a
write, and a NumPy integer index array along one axis becomes a write at its distinct values of the
cotangents summed over its repeats (an index array that is itself a dask array is computed for it)."""
from __future__ import annotations

import numpy as np

from ..backends import module_of
from ..errors import DifferentiationError

_BASIC = (int, np.integer, slice)


def scatters(xp) -> bool:
    """Whether array module `xp` has a scatter-add (`xp.add.at`; dask.array has none)."""
    return hasattr(xp.add, "at")


def positions(xp, a):
    """Index positions (a NumPy array) as `xp` should read them: its own array where it scatters itself,
    else the NumPy array, whose values the scatter reads without computing anything."""
    return xp.asarray(a) if scatters(xp) else np.asarray(a)


def add_at(z, index, g) -> None:
    """`np.add.at(z, index, g)` in z's array module: add g into z at index, repeated indices adding up."""
    xp = module_of(z)
    if scatters(xp):
        xp.add.at(z, index, g)
        return
    parts = list(index) if isinstance(index, tuple) else [index]
    arrays = [k for k, p in enumerate(parts) if not (p is None or p is Ellipsis or isinstance(p, _BASIC))]
    if not arrays:
        _write_basic(xp, z, parts, g)
        return
    k = arrays[0]
    ix = parts[k]
    if isinstance(ix, list):
        ix = np.asarray(ix)
    elif hasattr(ix, "compute") and hasattr(ix, "dtype"):
        ix = np.asarray(ix.compute())   # a lazy index array: computed here, once (its values are positions)
    if len(arrays) > 1 or type(ix) is not np.ndarray or ix.ndim != 1 or ix.dtype.kind not in "iub" \
            or any(p is None or p is Ellipsis for p in parts):
        raise DifferentiationError(
            f"this gradient adds into an array at an index array (a gather's cotangent, np.pad, np.interp, a "
            f"quantile) that {xp.__name__} cannot scatter into: it takes one index array of integers along one "
            "axis. Use backend='numpy' for this function, or index with integers, slices or one such array")
    if ix.dtype.kind == "b":
        ix = np.flatnonzero(ix)
    ix = ix % z.shape[k] if ix.size else ix
    distinct, inverse = np.unique(ix, return_inverse=True)
    g = xp.asarray(g)
    if g.shape != z[index].shape:
        g = xp.broadcast_to(g, z[index].shape)
    if distinct.size == ix.size:        # no repeats: a write at the index as it is (g is in its order)
        distinct = ix
    else:                               # repeats: sum their cotangents, in the order of `distinct`
        inverse = inverse.ravel()
        if g.ndim == 1:                 # a weighted count, chunk by chunk
            g = xp.bincount(xp.from_array(inverse, chunks=g.chunks), weights=g, minlength=distinct.size)
        else:                           # a one-hot product along the index array's axis in g
            onehot = np.zeros((ix.size, distinct.size))
            onehot[np.arange(ix.size), inverse] = 1.0
            axis = sum(isinstance(p, slice) for p in parts[:k])      # (integers drop their axes)
            g = xp.moveaxis(xp.tensordot(g, onehot, axes=([axis], [0])), -1, axis)
    parts[k] = distinct
    at = tuple(parts)
    z[at] = z[at] + g


def _write_basic(xp, z, parts: list, g) -> None:
    """z[index] += g for an index of integers, slices, None and `...` (each element reached once): the
    new axes (None) are taken out of g and the index, which dask's assignment does not take."""
    if any(p is Ellipsis for p in parts):
        k = parts.index(Ellipsis)
        fill = z.ndim - sum(p is not None and p is not Ellipsis for p in parts)
        parts = parts[:k] + [slice(None)] * fill + parts[k + 1:]
    target = z[tuple(parts)].shape
    if None in parts:
        new_axes, axis = [], 0
        for p in parts:
            if p is None:
                new_axes.append(axis)
            if p is None or isinstance(p, slice):
                axis += 1
        g = xp.broadcast_to(xp.asarray(g), target)
        g = g.reshape(tuple(n for a, n in enumerate(target) if a not in new_axes))
        parts = [p for p in parts if p is not None]
    index = tuple(parts)
    z[index] = z[index] + g
