"""What generated code imports: broadcasting and reduction helpers used by the derivative rules.

Every helper works on NumPy arrays and Python numbers; CuPy arrays go through NumPy's
`__array_function__` dispatch, so the same helpers serve the CuPy backend.
"""
from __future__ import annotations

import math  # noqa: F401  (generated code for `math.*` functions reads it from here too)

import numpy as np


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim for a in axis)
    return (axis % ndim,)


def unbroadcast(g, x):
    """Sum the cotangent `g` of a broadcast result back to the shape of operand `x`."""
    if type(g) is float:
        return g
    shape = np.shape(x)
    gshape = np.shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        return np.broadcast_to(g, shape)
    if lead:
        g = np.sum(g, axis=tuple(range(lead)))
    keep = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if keep:
        g = np.sum(g, axis=keep, keepdims=True)
    return g


def _expand(g, ndim: int, axis, keepdims: bool):
    """Re-insert the reduced axes into `g` so that it broadcasts against the reduced operand."""
    if axis is None or keepdims:
        return g
    return np.expand_dims(g, _axes(axis, ndim))


def _count(shape: tuple, axis) -> int:
    return math.prod(shape[a] for a in _axes(axis, len(shape)))


def sum_grad(g, a, axis=None, keepdims=False):
    shape = np.shape(a)
    return np.broadcast_to(_expand(g, len(shape), axis, keepdims), shape)


def mean_grad(g, a, axis=None, keepdims=False):
    shape = np.shape(a)
    return sum_grad(g, a, axis, keepdims) / max(_count(shape, axis), 1)


def _others_product(a, axis):
    """For each element, the product of the other elements reduced with it (exact with zeros)."""
    a = np.asarray(a)
    axes = _axes(axis, a.ndim)
    if not axes:
        return np.ones_like(a)
    dest = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, dest)
    flat = moved.reshape(moved.shape[: a.ndim - len(axes)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), dest, axes)


def prod_grad(g, ans, a, axis=None, keepdims=False):
    return sum_grad(g, a, axis, keepdims) * _others_product(a, axis)


def prod_jvp(t, ans, a, axis=None, keepdims=False):
    return np.sum(t * _others_product(a, axis), axis=axis, keepdims=keepdims)


def _extremum_share(ans, a, axis, keepdims):
    """Where `a` attains its max/min `ans`; ties share equally."""
    mask = a == _expand(ans, np.ndim(a), axis, keepdims)
    return mask / np.sum(mask, axis=axis, keepdims=True)


def extremum_grad(g, ans, a, axis=None, keepdims=False):
    return _expand(g, np.ndim(a), axis, keepdims) * _extremum_share(ans, a, axis, keepdims)


def extremum_jvp(t, ans, a, axis=None, keepdims=False):
    return np.sum(t * _extremum_share(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)


def cumsum_grad(g, a, axis=None):
    if axis is None:
        return np.reshape(np.cumsum(g[::-1])[::-1], np.shape(a))
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _centered(a, axis, ddof):
    n = _count(np.shape(a), axis) - ddof
    return (a - np.mean(a, axis=axis, keepdims=True)) / n


def var_grad(g, a, axis=None, ddof=0, keepdims=False):
    return 2 * _expand(g, np.ndim(a), axis, keepdims) * _centered(a, axis, ddof)


def var_jvp(t, a, axis=None, ddof=0, keepdims=False):
    return 2 * np.sum(t * _centered(a, axis, ddof), axis=axis, keepdims=keepdims)


def std_grad(g, ans, a, axis=None, ddof=0, keepdims=False):
    return _expand(g / ans, np.ndim(a), axis, keepdims) * _centered(a, axis, ddof)


def std_jvp(t, ans, a, axis=None, ddof=0, keepdims=False):
    return np.sum(t * _centered(a, axis, ddof), axis=axis, keepdims=keepdims) / ans


def _norm_scale(ans, x, ord, axis, keepdims):
    """d norm / d x, for vector p-norms and the Frobenius norm; 0 (a subgradient) where the norm is 0."""
    ndim = np.ndim(x)
    r = _expand(ans, ndim, axis, keepdims)
    if ord is None or ord == "fro" or (ord == 2 and (ndim == 1 or not isinstance(axis, tuple))):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r == 0, 0.0, x / r)
    if ord == 1:
        return np.sign(x)
    if ord in (np.inf, -np.inf):
        ax = np.abs(x)
        mask = ax == r
        return np.sign(x) * mask / np.sum(mask, axis=axis, keepdims=True)
    if isinstance(ord, (int, float)) and ord > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r == 0, 0.0, np.sign(x) * (np.abs(x) / r) ** (ord - 1))
    raise ValueError(f"s2sad: the derivative of np.linalg.norm with ord={ord!r} is not supported")


def norm_grad(g, ans, x, ord=None, axis=None, keepdims=False):
    return _expand(g, np.ndim(x), axis, keepdims) * _norm_scale(ans, x, ord, axis, keepdims)


def norm_jvp(t, ans, x, ord=None, axis=None, keepdims=False):
    return np.sum(t * _norm_scale(ans, x, ord, axis, keepdims), axis=axis, keepdims=keepdims)


def matmul_grad_x(g, x, y):
    """Cotangent of x in x @ y (NumPy matmul semantics: vectors and stacks of matrices)."""
    xd, yd = np.ndim(x), np.ndim(y)
    if yd == 1:
        return g * y if xd == 1 else unbroadcast(np.expand_dims(g, -1) * y, x)
    if xd == 1:
        return unbroadcast(np.matmul(y, np.expand_dims(g, -1))[..., 0], x)
    return unbroadcast(np.matmul(g, np.swapaxes(y, -1, -2)), x)


def matmul_grad_y(g, x, y):
    """Cotangent of y in x @ y."""
    xd, yd = np.ndim(x), np.ndim(y)
    if xd == 1:
        return g * x if yd == 1 else unbroadcast(np.expand_dims(x, -1) * np.expand_dims(g, -2), y)
    if yd == 1:
        return unbroadcast(np.matmul(np.swapaxes(x, -1, -2), np.expand_dims(g, -1))[..., 0], y)
    return unbroadcast(np.matmul(np.swapaxes(x, -1, -2), g), y)


def dot_grad_a(g, a, b):
    """Cotangent of a in np.dot(a, b), for arguments of at most two dimensions."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ValueError("s2sad: np.dot of arrays with more than two dimensions: use np.matmul or np.tensordot")
    return matmul_grad_x(g, a, b)


def dot_grad_b(g, a, b):
    """Cotangent of b in np.dot(a, b), for arguments of at most two dimensions."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ValueError("s2sad: np.dot of arrays with more than two dimensions: use np.matmul or np.tensordot")
    return matmul_grad_y(g, a, b)


def solve_grad_a(g, ans, a):
    b_bar = np.linalg.solve(np.swapaxes(a, -1, -2), g)
    if np.ndim(ans) == 1:
        return -np.outer(b_bar, ans)
    return -np.matmul(b_bar, np.swapaxes(ans, -1, -2))


def transpose_grad(g, axes=None):
    return np.transpose(g) if axes is None else np.transpose(g, np.argsort(axes))


def tile_grad(g, A, reps):
    shape = np.shape(A)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    d = max(len(shape), len(reps))
    full = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    inter = [n for pair in zip(reps, full) for n in pair]
    g = np.reshape(g, inter).sum(axis=tuple(range(0, 2 * d, 2)))
    return np.reshape(g, shape)


def _split(g, sizes, axis):
    bounds = np.cumsum(sizes)[:-1]
    return np.split(g, bounds, axis=axis)


def concatenate_grad(g, arrays, axis=0):
    if axis is None:
        parts = _split(g, [np.size(a) for a in arrays], 0)
        return [np.reshape(p, np.shape(a)) for p, a in zip(parts, arrays)]
    return _split(g, [np.shape(a)[axis] for a in arrays], axis)


def stack_grad(g, arrays, axis=0):
    return list(np.moveaxis(g, axis, 0))


def hstack_grad(g, tup):
    axis = 0 if np.ndim(np.atleast_1d(tup[0])) == 1 else 1
    parts = _split(g, [np.shape(np.atleast_1d(a))[axis] for a in tup], axis)
    return [np.reshape(p, np.shape(a)) for p, a in zip(parts, tup)]


def vstack_grad(g, tup):
    parts = _split(g, [np.shape(np.atleast_2d(a))[0] for a in tup], 0)
    return [np.reshape(p, np.shape(a)) for p, a in zip(parts, tup)]


def zeros(x):
    """A float zero array shaped like `x` (float32 stays float32, ints become float64)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind not in "fc":
        dtype = np.float64
    return np.zeros_like(x, dtype=dtype)


def getitem_grad(g, x, index):
    """Cotangent of x in x[index], repeated integer indices included."""
    z = zeros(x)
    np.add.at(z, index, g)
    return z


def clip_inside(a, lo, hi):
    inside = np.ones(np.shape(a), dtype=bool)
    if lo is not None:
        inside &= a >= lo
    if hi is not None:
        inside &= a <= hi
    return inside


def clip_below(a, lo):
    return a < lo


def clip_above(a, hi):
    return a > hi


def stop_gradient(x):
    """Return `x`; no derivative flows through it (PyTorch's `detach`)."""
    return x
