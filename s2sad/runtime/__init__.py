"""What generated code imports: broadcasting and reduction helpers used by the derivative rules.

Every helper works on NumPy arrays and Python numbers; CuPy arrays go through NumPy's
`__array_function__` dispatch, so the same helpers serve the CuPy backend.
"""
from __future__ import annotations

import itertools
import math  # noqa: F401  (generated code for `math.*` functions reads it from here too)

import numpy as np

from ..backends import size_of as _size_of
from ..backends import module_of as _xp   # helpers that make arrays make them where their operand lives
from . import hooks
from .scatter import add_at, positions, scatters


def _spread(g, shape: tuple, like):
    """`g` (a scalar or a smaller array) broadcast to `shape`, on the device of `like`."""
    xp = _xp(like)
    if xp is not np:
        g = xp.asarray(g)
    return xp.broadcast_to(g, shape)


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim for a in axis)
    return (axis % ndim,)


def unbroadcast(g, x):
    """Sum the cotangent `g` of a broadcast result back to the shape of operand `x`."""
    if isinstance(g, float):      # a Python or NumPy scalar: nothing was broadcast
        return g
    tx = type(x)
    if tx is float or tx is int:  # a Python number: everything was broadcast (the common fast case)
        return g.sum() if type(g) is np.ndarray else np.sum(g)
    if tx is Parts or tx is list or tx is tuple:     # the cotangents of a list of results, item by item
        return Parts(unbroadcast(a, b) for a, b in zip(g if isinstance(g, (list, tuple)) else [g] * len(x), x))
    shape = x.shape if tx is np.ndarray else np.shape(x)
    gshape = np.shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        return _spread(g, shape, x)
    if not shape:
        return np.sum(g)
    if lead:
        g = np.sum(g, axis=tuple(range(lead)))
    keep = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if keep:
        g = np.sum(g, axis=keep, keepdims=True)
    return g


def sum_product(a, b, x):
    """`unbroadcast(a * b, x)` without forming `a * b` where it sums everything of two arrays of one
    shape onto a number: then it is a dot product."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape and a.ndim \
            and a.dtype == b.dtype and a.dtype.kind == "f" and (type(x) is float or np.ndim(x) == 0):
        return np.dot(a.ravel(), b.ravel())
    return unbroadcast(a * b, x)


def _expand(g, ndim: int, axis, keepdims: bool):
    """Re-insert the reduced axes into `g` so that it broadcasts against the reduced operand."""
    if axis is None or keepdims or type(g) is float or type(g) is int:   # a number broadcasts as it is
        return g
    return np.expand_dims(g, _axes(axis, ndim))


def _count(shape: tuple, axis) -> int:
    return math.prod(shape[a] for a in _axes(axis, len(shape)))


def sum_grad(g, a, axis=None, keepdims=False):
    shape = np.shape(a)
    return _spread(_expand(g, len(shape), axis, keepdims), shape, a)


def mean_grad(g, a, axis=None, keepdims=False):
    shape = np.shape(a)
    return sum_grad(g / max(_count(shape, axis), 1), a, axis, keepdims)   # divide before broadcasting


def _others_product(a, axis):
    """For each element, the product of the other elements reduced with it (exact with zeros)."""
    xp = _xp(a)
    a = xp.asarray(a)
    axes = _axes(axis, a.ndim)
    if not axes:
        return np.ones_like(a)
    dest = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, dest)
    flat = moved.reshape(moved.shape[: a.ndim - len(axes)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), dest, axes)


def _others_product_jvp(a, t, axis):
    """The tangent of _others_product(a, axis) along t: for each element, the sum over the other
    elements j of t_j times the product of the rest (exact with zeros: prefix and suffix products with
    their tangents, one step per element of the reduced axes)."""
    xp = _xp(a)
    a = xp.asarray(a)
    t = xp.broadcast_to(xp.asarray(t), a.shape)
    axes = _axes(axis, a.ndim)
    if not axes:
        return xp.zeros_like(a)
    dest = tuple(range(a.ndim - len(axes), a.ndim))
    moved, tmoved = np.moveaxis(a, axes, dest), np.moveaxis(t, axes, dest)
    flat = moved.reshape(moved.shape[: a.ndim - len(axes)] + (-1,))
    tflat = tmoved.reshape(flat.shape)
    n = flat.shape[-1]
    p, dp = xp.ones(flat.shape[:-1], dtype=flat.dtype), xp.zeros(flat.shape[:-1], dtype=flat.dtype)
    left, dleft = [], []
    for m in range(n):                      # prefix products: of the elements before m
        left.append(p)
        dleft.append(dp)
        p, dp = p * flat[..., m], dp * flat[..., m] + p * tflat[..., m]
    p, dp = xp.ones_like(p), xp.zeros_like(dp)
    right, dright = [None] * n, [None] * n
    for m in range(n - 1, -1, -1):          # suffix products: of the elements after m
        right[m], dright[m] = p, dp
        p, dp = p * flat[..., m], dp * flat[..., m] + p * tflat[..., m]
    out = xp.stack([dl * r + lf * dr for lf, dl, r, dr in zip(left, dleft, right, dright)], axis=-1) \
        if n else xp.zeros_like(flat)
    return np.moveaxis(out.reshape(moved.shape), dest, axes)


def prod_grad_da(g, a, t, axis=None, keepdims=False):
    """The tangent of prod_grad(g, ans, a, axis, keepdims) along a tangent t of a (second derivatives)."""
    return sum_grad(g, a, axis, keepdims) * _others_product_jvp(a, t, axis)


def prod_jvp_da(c, a, t, axis=None, keepdims=False):
    """The tangent of prod_jvp(c, ans, a, axis, keepdims) along a tangent t of a."""
    return np.sum(c * _others_product_jvp(a, t, axis), axis=axis, keepdims=keepdims)


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


def _matrix_axes(ndim: int, ord, axis) -> tuple[int, int] | None:
    """The (row, column) axes when np.linalg.norm computes a matrix norm, else None."""
    if isinstance(axis, (tuple, list)) and len(axis) == 2:
        return _axes(axis, ndim)
    if axis is None and ndim == 2 and ord is not None:
        return (0, 1)
    return None


def _matrix_norm_scale(x, ord, rows: int, cols: int):
    """d norm / d x for the matrix norms ord = +-1, +-2, +-inf and 'nuc' (ties share equally)."""
    xm = np.moveaxis(x, (rows, cols), (-2, -1))
    if ord in (1, -1, np.inf, -np.inf):
        along, across = (-2, -1) if ord in (1, -1) else (-1, -2)   # +-1: column sums; +-inf: row sums
        sums = np.sum(np.abs(xm), axis=along, keepdims=True)
        best = (np.max if ord > 0 else np.min)(sums, axis=across, keepdims=True)
        mask = sums == best
        scale = np.sign(xm) * (mask / np.sum(mask, axis=across, keepdims=True))
    elif ord in (2, -2, "nuc"):
        u, _, vt = np.linalg.svd(xm, full_matrices=False)
        if ord == "nuc":
            scale = np.matmul(u, vt)
        else:   # the outer product of the singular vectors of the largest (2) or smallest (-2) value
            k = 0 if ord == 2 else -1
            scale = u[..., :, k, None] * vt[..., k, None, :]
    else:
        raise ValueError(f"s2sad: the derivative of the matrix norm with ord={ord!r} is not supported")
    return np.moveaxis(scale, (-2, -1), (rows, cols))


def _norm_scale(ans, x, ord, axis, keepdims):
    """d norm / d x, for vector p-norms and matrix norms; 0 (a subgradient) where a 2-norm is 0."""
    ndim = np.ndim(x)
    matrix = _matrix_axes(ndim, ord, axis)
    if matrix is not None and not (ord is None or ord == "fro"):
        return _matrix_norm_scale(x, ord, *matrix)
    r = _expand(ans, ndim, axis, keepdims)
    if ord is None or ord == "fro" or ord == 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r == 0, 0.0, x / r)
    if ord == 1:
        return np.sign(x)
    if ord in (np.inf, -np.inf):
        ax = np.abs(x)
        mask = ax == r
        return np.sign(x) * mask / np.sum(mask, axis=axis, keepdims=True)
    if ord == 0:                    # the number of nonzero entries: piecewise constant
        return zeros(x)
    if isinstance(ord, (int, float)):   # any other p, p < 1 and p < 0 too (the entries nonzero)
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


def inner_grad_a(g, a, b):
    """Cotangent of a in np.inner(a, b) (the last axes are contracted; g has a's leading axes, then b's)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    lead = np.ndim(b) - 1
    if lead == 0:                  # b is a vector: the outer product of g and b (g may be a number)
        return g * b if np.ndim(g) == 0 else np.expand_dims(g, -1) * b
    return np.tensordot(g, b, axes=(list(range(np.ndim(g) - lead, np.ndim(g))), list(range(lead))))


def inner_grad_b(g, a, b):
    """Cotangent of b in np.inner(a, b)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    lead = np.ndim(a) - 1
    if lead == 0:                  # a is a vector: the outer product of g and a
        return g * a if np.ndim(g) == 0 else np.expand_dims(g, -1) * a
    return np.tensordot(g, a, axes=(list(range(lead)), list(range(lead))))


def as_matrix(c, b):
    """c as a stack of one-column matrices where np.linalg.solve took b (1-D) as a vector, else c."""
    return np.expand_dims(c, -1) if np.ndim(b) == 1 else c


def from_matrix(c, b):
    """The inverse of as_matrix: the one column of each matrix of c where b is 1-D, else c."""
    return c[..., 0] if np.ndim(b) == 1 else c


def transpose_grad(g, axes=None):
    if axes is None:
        return np.transpose(g)
    n = np.ndim(g)
    return np.transpose(g, tuple(sorted(range(n), key=lambda i: axes[i] % n)))   # the inverse permutation


def tile_grad(g, A, reps):
    shape = np.shape(A)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    d = max(len(shape), len(reps))
    full = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    inter = [n for pair in zip(reps, full) for n in pair]
    g = np.reshape(g, inter).sum(axis=tuple(range(0, 2 * d, 2)))
    return np.reshape(g, shape)


class Parts(list):
    """The cotangents of a list or tuple of arrays (np.split's parts, eigh's results), one per item.
    Adding two adds them item by item (a plain list's `+` would join the lists), and a number is added
    to every item."""

    def __add__(self, other):
        if isinstance(other, (list, tuple)):
            if len(other) != len(self):
                raise ValueError(f"s2sad: cotangents of {len(self)} and {len(other)} items added")
            return Parts(a + b for a, b in zip(self, other))
        return Parts(a + other for a in self)

    __radd__ = __add__


def _split(g, sizes, axis):
    """g cut along `axis` into pieces of `sizes` (by slicing: dask.array has no np.split)."""
    bounds = [0, *itertools.accumulate(sizes)]
    lead = (slice(None),) * (axis % np.ndim(g))
    return [g[lead + (slice(a, b),)] for a, b in zip(bounds, bounds[1:])]


def concatenate_grad(g, arrays, axis=0):
    if axis is None:
        parts = _split(g, [_size_of(a) for a in arrays], 0)
        return Parts(np.reshape(p, np.shape(a)) for p, a in zip(parts, arrays))
    return Parts(_split(g, [np.shape(a)[axis] for a in arrays], axis))


def stack_grad(g, arrays, axis=0):
    return Parts(np.moveaxis(g, axis, 0))


def hstack_grad(g, tup):
    axis = 0 if np.ndim(np.atleast_1d(tup[0])) == 1 else 1
    parts = _split(g, [np.shape(np.atleast_1d(a))[axis] for a in tup], axis)
    return Parts(np.reshape(p, np.shape(a)) for p, a in zip(parts, tup))


def vstack_grad(g, tup):
    parts = _split(g, [np.shape(np.atleast_2d(a))[0] for a in tup], 0)
    return Parts(np.reshape(p, np.shape(a)) for p, a in zip(parts, tup))


def zeros(x):
    """A float zero array shaped like `x` (float32 stays float32, ints become float64); 0.0 for a
    Python number (or a value not computed yet, None); a list of those for a tuple or list."""
    if x is None or type(x) in (float, int, bool):
        return 0.0
    if isinstance(x, (tuple, list)):        # the cotangent of a tuple of results (slogdet, eigh, svd, qr)
        return Parts(zeros(v) for v in x)
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind not in "fc":
        dtype = np.float64
    return np.zeros_like(x, dtype=dtype)


def assigned_grad(g, x, index, v):
    """Cotangent of v in `x[index] = v` (g: x's cotangent): g[index], but where the index repeats an
    element only the write that landed (NumPy's own assignment decides which) receives it."""
    xp = _xp(g)
    part = g[index]
    shape = np.shape(part)
    ids = xp.arange(int(np.prod(shape))).reshape(shape)
    landed = xp.full(np.shape(x), -1)
    landed[index] = ids
    return unbroadcast(xp.where(landed[index] == ids, part, 0.0), v)


def getitem_grad(g, x, index):
    """Cotangent of x in x[index], repeated integer indices included."""
    z = zeros(x)
    if isinstance(z, list):                 # one result of a tuple of them (np.linalg.eigh(a)[1])
        z[index] = z[index] + g
        return z
    add_at(z, index, g)
    return z


def _order(a, axis):
    """The permutation np.sort applies along `axis` (None: of the flattened array)."""
    return _xp(a).argsort(a, axis=axis, kind="stable")


def sort_jvp(t, a, axis=-1):
    """Tangent of np.sort(a, axis): the tangent follows the permutation that sorts a."""
    xp = _xp(a)
    t = xp.broadcast_to(t, np.shape(a))
    if axis is None:
        return xp.ravel(t)[_order(a, None)]
    return xp.take_along_axis(t, _order(a, axis), axis)


def sort_grad(g, a, axis=-1):
    """Cotangent of a in np.sort(a, axis): g put back where each sorted element came from."""
    xp = _xp(a)
    order = _order(a, axis)
    if axis is None:
        return xp.reshape(xp.ravel(g)[xp.argsort(order, kind="stable")], np.shape(a))
    return xp.take_along_axis(g, xp.argsort(order, axis=axis, kind="stable"), axis)


def linspace_grad(g, x, num=50, endpoint=True, which=1):
    """Cotangent of the start (which=0) or the stop (which=1) `x` of np.linspace(start, stop, num):
    element k is start + w_k (stop - start), with w the linspace of 0 to 1."""
    xp = _xp(g)
    w = xp.linspace(0.0, 1.0, num, endpoint=endpoint)
    if which == 0:
        w = 1.0 - w
    g = xp.asarray(g)
    w = xp.reshape(w, (-1,) + (1,) * (g.ndim - 1))
    return unbroadcast(xp.sum(g * w, axis=0), x)


def fill_grad(g, fill, ans):
    """Cotangent of the fill value of np.full / np.full_like: the sum over every element it fills (zero
    when the array holds integers, which truncate it)."""
    if getattr(ans, "dtype", np.dtype(float)).kind not in "fc":
        return 0.0 * unbroadcast(g, fill)
    return unbroadcast(g, fill)


def cast_grad(g, ans):
    """A cast's cotangent (or tangent): itself for a float result, zero for an integer or boolean one."""
    dtype = getattr(ans, "dtype", None)
    if dtype is not None and dtype.kind not in "fc":
        return g * 0.0
    return g


def clip_inside(a, lo, hi):
    inside = _xp(a).ones(np.shape(a), dtype=bool)
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


def rebroadcast(g, c):
    """The transpose of `unbroadcast`: spread `g` back over the shape of `c` (or sum onto it)."""
    if isinstance(c, (list, tuple)):
        return tangent_like(g, c)
    if np.shape(g) == np.shape(c):
        return g
    try:
        return _spread(g, np.shape(c), c)
    except ValueError:
        return unbroadcast(g, c)


def tangent_like(t, x):
    """A tangent with the shape of the value `x` it belongs to (broadcasting a smaller one)."""
    if type(t) is np.ndarray and type(x) is np.ndarray and t.shape == x.shape:   # the common case, first
        return t
    if isinstance(t, float) and isinstance(x, float):
        return t
    if isinstance(x, (list, tuple)):        # the tangents of a list of results (np.split's parts)
        return Parts(tangent_like(a, b) for a, b in zip(t if isinstance(t, (list, tuple)) else [t] * len(x), x))
    if np.shape(t) == np.shape(x):
        return t
    spread = _spread(t, np.shape(x), x)
    # a broadcast of another tangent's array is a view of it, which an element write into that tangent
    # later would change (`v6_dot = broadcast(v3_dot[:, None])`, then `v3_dot[0] = ...`): a copy
    return spread.copy() if getattr(t, "ndim", 0) else spread


def owned(t, x):
    """A fresh, writable tangent with the shape of `x` (its elements are written in place later)."""
    dtype = np.result_type(getattr(t, "dtype", type(t)), getattr(x, "dtype", float), np.float32)
    out = _spread(t, np.shape(x), x).astype(dtype)
    return out.copy() if out is t else out      # (dask's astype to the same dtype is t itself)


def transpose_back(g, axes=None):
    return np.transpose(g) if axes is None else np.transpose(g, axes)


def _norm_kind(ndim, ord, axis) -> str:
    """"smooth" (2-norm, Frobenius), "linear" (1 and inf norms: piecewise linear; a vector's 0-"norm":
    piecewise constant), "power" (a vector's p-norm for any other p) or "other" (the spectral and
    nuclear matrix norms)."""
    matrix = _matrix_axes(ndim, ord, axis) is not None
    if ord is None or ord == "fro" or (ord == 2 and not matrix):
        return "smooth"
    if ord in (1, -1, np.inf, -np.inf) and (matrix or ord != -1):
        return "linear"
    if not matrix:
        return "linear" if ord == 0 else "power"
    return "other"


def norm_grad_dx(c, y, x, t, ord=None, axis=None, keepdims=False):
    """Tangent of norm_grad(c, y, x) from x's tangent t (y = norm(x) has its own tangent)."""
    kind = _norm_kind(np.ndim(x), ord, axis)
    if kind == "linear":
        return zeros(t)
    if kind == "other":
        second_order(f"np.linalg.norm with ord={ord!r}")
    if kind == "power":     # d/dx of sign(x) (|x| / y) ** (p - 1) is (p - 1) (|x| / y) ** (p - 2) / y
        r = _expand(y, np.ndim(x), axis, keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = _xp(x).where(r == 0, 0.0, (ord - 1) * (np.abs(x) / r) ** (ord - 2) / r)
        return _expand(c, np.ndim(x), axis, keepdims) * scale * t
    return norm_grad(c, y, t, ord, axis, keepdims)


def norm_grad_dy(c, y, x, t, ord=None, axis=None, keepdims=False):
    """Tangent of norm_grad(c, y, x) from y's tangent t: the p-norm's gradient scales as y ** (1 - p),
    so it moves by -(p - 1) t / y times itself (p = 2 for the 2-norm and the Frobenius norm)."""
    kind = _norm_kind(np.ndim(x), ord, axis)
    if kind not in ("smooth", "power"):
        return zeros(x)
    p = 2 if kind == "smooth" else ord
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = _xp(x).where(y == 0, 0.0, -(p - 1) * c * t / y)   # 0 where the norm is 0, as norm_grad there
    return norm_grad(scale, y, x, ord, axis, keepdims)


# --- the wider NumPy API: differences, diagonals, rolls, repeats, gathers, scans, products, polynomials --
def diff_grad(g, a, n=1, axis=-1):
    """Cotangent of a in np.diff(a, n, axis): differencing transposed, n times (element j of one step's
    cotangent is g[j - 1] - g[j], with zeros past both ends)."""
    xp = _xp(g)
    shape = np.shape(a)
    axis = axis % len(shape)
    if n >= shape[axis]:
        return zeros(a)
    for _ in range(n):
        pad = np.shape(g)[:axis] + (1,) + np.shape(g)[axis + 1:]
        z = xp.zeros(pad, dtype=g.dtype)
        g = xp.concatenate([z, g], axis=axis) - xp.concatenate([g, z], axis=axis)
    return g


def diagonal_grad(g, a, offset=0, axis1=0, axis2=1):
    """Cotangent of a in np.diagonal(a, offset, axis1, axis2): g written on that diagonal of zeros (g's last
    axis runs along the diagonal, as np.diagonal gives it)."""
    xp = _xp(g)
    nd = len(np.shape(a))
    axes = (axis1 % nd, axis2 % nd)
    if not scatters(xp):                   # dask.array: no writes through views; one-hot products instead
        n1, n2 = np.shape(a)[axes[0]], np.shape(a)[axes[1]]
        i = np.arange(np.shape(g)[-1])
        rows, cols = np.zeros((i.size, n1)), np.zeros((i.size, n2))
        rows[i, i + max(-offset, 0)] = 1.0
        cols[i, i + max(offset, 0)] = 1.0
        return np.moveaxis(xp.einsum("...i,ir,ic->...rc", g, rows, cols), (-2, -1), axes)
    z = zeros(a)
    moved = np.moveaxis(z, axes, (-2, -1))       # a view: writing it writes z
    i = xp.arange(np.shape(g)[-1])
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return z


def diag_grad(g, v, k=0):
    """Cotangent of v in np.diag(v, k): the k-th diagonal of g (v a vector), or g on the k-th diagonal
    of zeros shaped like v (v a matrix)."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k)
    return diagonal_grad(g, v, k, 0, 1)


def trace_grad(g, a, offset=0, axis1=0, axis2=1):
    """Cotangent of a in np.trace(a, offset, axis1, axis2): g spread along the summed diagonal."""
    xp = _xp(a)
    shape = np.shape(a)
    nd = len(shape)
    n1, n2 = shape[axis1 % nd], shape[axis2 % nd]
    n = max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0)))
    g = xp.asarray(g)
    return diagonal_grad(xp.broadcast_to(xp.expand_dims(g, -1), g.shape + (n,)), a, offset, axis1, axis2)


def roll_grad(g, shift, axis=None):
    """Cotangent of a in np.roll(a, shift, axis): rolled back."""
    back = -shift if np.ndim(shift) == 0 else tuple(-s for s in shift)
    return np.roll(g, back, axis)


def repeat_grad(g, a, repeats, axis=None):
    """Cotangent of a in np.repeat(a, repeats, axis): the cotangents of each element's copies summed."""
    shape = np.shape(a)
    if np.ndim(repeats) == 0:
        r = int(repeats)
        if axis is None:
            return np.reshape(np.sum(np.reshape(g, (-1, r)), axis=1), shape)
        ax = axis % len(shape)
        gs = np.shape(g)
        return np.sum(np.reshape(g, gs[:ax] + (shape[ax], r) + gs[ax + 1:]), axis=ax + 1)
    xp = _xp(g)
    n = int(np.prod(shape)) if axis is None else shape[axis % len(shape)]
    owner = xp.repeat(xp.arange(n), repeats)        # which element each copy is a copy of
    if axis is None:
        z = zeros(a).reshape(-1)
        add_at(z, owner, g)
        return z.reshape(shape)
    z = zeros(a)
    add_at(np.moveaxis(z, axis, 0), owner, np.moveaxis(g, axis, 0))
    return z


def _index_array(xp, indices):
    """A list of indices as an array of `xp` (a NumPy one where `xp` is lazy: dask.array, which
    reads index values to scatter into)."""
    return positions(xp, indices) if isinstance(indices, (list, tuple)) else indices


def take_grad(g, a, indices, axis=None):
    """Cotangent of a in np.take(a, indices, axis): g added where it was taken from (repeated indices
    add up)."""
    xp = _xp(g)
    indices = _index_array(xp, indices)
    if axis is None:
        z = zeros(a).reshape(-1)
        add_at(z, indices, g)
        return z.reshape(np.shape(a))
    return getitem_grad(g, a, (slice(None),) * (axis % np.ndim(a)) + (indices,))


def take_along_axis_grad(g, arr, indices, axis=-1):
    """Cotangent of arr in np.take_along_axis(arr, indices, axis): g added where it was taken from
    (repeated indices add up; an axis of length 1 that broadcast adds everything into its one element)."""
    xp = _xp(g)
    indices = _index_array(xp, indices)
    if axis is None:
        z = zeros(arr).reshape(-1)
        add_at(z, indices, g)
        return z.reshape(np.shape(arr))
    shape, gshape = np.shape(arr), np.shape(g)
    nd = len(shape)
    ax = axis % nd
    index = []
    for d in range(nd):
        if d == ax:
            index.append(indices)
        else:
            n = shape[d] if shape[d] == gshape[d] else 1
            index.append(xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)))
    z = zeros(arr)
    add_at(z, tuple(index), g)
    return z


def _affine_scan(b, m):
    """u[i] = b[i] + m[i] * u[i - 1] along the last axis (u[-1] = 0), in log2(n) vectorized steps of
    composing the affine maps (products and sums only: exact where m holds zeros)."""
    xp = _xp(b)
    n = np.shape(b)[-1]
    d = 1
    while d < n:
        b = xp.concatenate([b[..., :d], b[..., d:] + m[..., d:] * b[..., :-d]], axis=-1)
        m = xp.concatenate([m[..., :d], m[..., d:] * m[..., :-d]], axis=-1)
        d *= 2
    return b


def _scan_axis(a, axis, *others):
    """a (and arrays shaped like it, or like np.cumprod(a, axis)) with the scanned axis last: flattened
    for axis=None."""
    xp = _xp(a)
    a = xp.asarray(a)
    if axis is None:
        return [xp.reshape(a, (-1,))] + [xp.reshape(xp.broadcast_to(o, (a.size,)) if np.ndim(o) <= 1 else
                                                    xp.broadcast_to(o, a.shape), (-1,)) for o in others]
    return [np.moveaxis(a, axis, -1)] + [np.moveaxis(xp.broadcast_to(o, a.shape), axis, -1) for o in others]


def _scan_back(r, a, axis, grad: bool):
    if axis is None:
        return _xp(r).reshape(r, np.shape(a)) if grad else r
    return np.moveaxis(r, -1, axis)


def _shift_in(x, fill):
    """x moved one step along the last axis, `fill` entering at the front (x[i - 1])."""
    xp = _xp(x)
    return xp.concatenate([xp.full(x.shape[:-1] + (1,), fill, dtype=x.dtype), x[..., :-1]], axis=-1)


def _shift_out(x, fill):
    """x moved one step back along the last axis, `fill` entering at the end (x[i + 1])."""
    xp = _xp(x)
    return xp.concatenate([x[..., 1:], xp.full(x.shape[:-1] + (1,), fill, dtype=x.dtype)], axis=-1)


def _cumprod_jvp(t, y, x):
    """Tangent of y = cumprod(x) along the last axis: dy[i] = dy[i - 1] x[i] + y[i - 1] t[i]."""
    return _affine_scan(_shift_in(y, 1.0) * t, x)


def _cumprod_suffix(c, x):
    """s[j] = c[j] + x[j + 1] s[j + 1] along the last axis (from the end)."""
    return _affine_scan(c[..., ::-1], _shift_out(x, 0.0)[..., ::-1])[..., ::-1]


def cumprod_jvp(t, y, a, axis=None):
    """Tangent of np.cumprod(a, axis) along t (exact where a holds zeros)."""
    x, yy, tt = _scan_axis(a, axis, y, t)
    return _scan_back(_cumprod_jvp(tt, yy, x), a, axis, False)


def cumprod_grad(g, y, a, axis=None):
    """Cotangent of a in y = np.cumprod(a, axis): element j gets y[j - 1] * sum over i >= j of
    g[i] * a[j + 1] ... a[i], computed as a scan from the end (exact where a holds zeros)."""
    x, yy, c = _scan_axis(a, axis, y, g)
    return _scan_back(_shift_in(yy, 1.0) * _cumprod_suffix(c, x), a, axis, True)


def cumprod_grad_da(g, a, t, axis=None):
    """Tangent of cumprod_grad(g, cumprod(a), a, axis) along a tangent t of a (second derivatives)."""
    xp = _xp(a)
    y = np.cumprod(a, axis=axis)
    x, yy, c, tt = _scan_axis(a, axis, y, g, xp.broadcast_to(t, np.shape(a)))
    s = _cumprod_suffix(c, x)
    dy = _cumprod_jvp(tt, yy, x)
    ds = _cumprod_suffix(_shift_out(tt * s, 0.0), x)     # ds[j] = t[j + 1] s[j + 1] + x[j + 1] ds[j + 1]
    return _scan_back(_shift_in(dy, 0.0) * s + _shift_in(yy, 1.0) * ds, a, axis, True)


def kron_grad_a(g, a, b):
    """Cotangent of a in np.kron(a, b): each block of g contracted with b."""
    return _kron_contract(g, a, b, 1)


def kron_grad_b(g, a, b):
    """Cotangent of b in np.kron(a, b): the blocks of g summed, each weighted by its element of a."""
    return _kron_contract(g, a, b, 0)


def _kron_contract(g, a, b, which):
    sa, sb = np.shape(a), np.shape(b)
    nd = max(len(sa), len(sb))
    fa, fb = (1,) * (nd - len(sa)) + tuple(sa), (1,) * (nd - len(sb)) + tuple(sb)
    blocks = np.reshape(g, [n for pair in zip(fa, fb) for n in pair])      # (a0, b0, a1, b1, ...)
    other, keep = (b, fb) if which == 1 else (a, fa)
    out = np.tensordot(blocks, np.reshape(other, keep), axes=(list(range(which, 2 * nd, 2)), list(range(nd))))
    return np.reshape(out, sa if which == 1 else sb)


def _sinc_taylor(u, n: int, terms: int = 30):
    """The n-th derivative of sin(u) / u from its series (|u| small)."""
    out = 0.0
    for m in range(terms):
        if 2 * m >= n:
            out = out + (-1) ** m * math.perm(2 * m, n) / math.factorial(2 * m + 1) * u ** (2 * m - n)
    return out


def sinc_deriv(x, n=1):
    """The n-th derivative of np.sinc (sin(pi x) / (pi x), 1 at 0) at x: its series near 0, else the
    Leibniz rule on sin(u) * (1 / u), u = pi x."""
    xp = _xp(x)
    u = xp.asarray(x) * math.pi if type(x) is not float else x * math.pi
    small = abs(u) < 1.0
    safe = xp.where(small, 1.0, u)
    closed = 0.0
    for k in range(n + 1):
        closed = closed + math.comb(n, k) * xp.sin(safe + (n - k) * math.pi / 2) * (-1) ** k \
            * math.factorial(k) / safe ** (k + 1)
    out = xp.where(small, _sinc_taylor(xp.where(small, u, 0.0), n), closed) * math.pi ** n
    return float(out) if type(x) is float else out


def _falling(k: int, m: int) -> int:
    return math.perm(k, m) if 0 <= m <= k else 0


def polyval_deriv(p, x, m=1):
    """The m-th derivative in x of np.polyval(p, x) (m = 0: the polynomial itself), by Horner's scheme."""
    n = np.shape(p)[0]
    y = zeros(x)
    if type(y) is float and np.ndim(p) > 1:
        y = _xp(p).zeros(np.shape(p)[1:])
    for k in range(n - m):
        y = y * x + p[k] * _falling(n - 1 - k, m)
    return y


def polyval_grad_p(g, p, x, m=0):
    """Cotangent of the coefficients p in polyval_deriv(p, x, m): coefficient k gets the sum of g times
    the m-th derivative of its power of x."""
    xp = _xp(p)
    n = np.shape(p)[0]
    parts = [None] * n
    power = 1.0
    for k in range(n - 1, -1, -1):          # from the constant term: power = x ** (n - 1 - k - m)
        e = n - 1 - k - m
        if e < 0:
            parts[k] = unbroadcast(g * 0.0, p[k])
            continue
        parts[k] = unbroadcast(g * (power * _falling(n - 1 - k, m)), p[k])
        power = power * x
    return xp.stack([xp.asarray(v) for v in parts])


def average_weights(a, weights, axis):
    """np.average's weights shaped to broadcast against a (1-D weights lie along `axis`)."""
    nd = np.ndim(a)
    if weights is None or np.ndim(weights) == nd:
        return weights
    ax = axis % nd
    return _xp(weights).reshape(weights, (1,) * ax + (-1,) + (1,) * (nd - ax - 1))


def _weights_back(full, a, weights, axis):
    """A cotangent shaped like a, summed onto the shape of the weights given."""
    if np.ndim(weights) == np.ndim(a):
        return unbroadcast(full, weights)
    ax = axis % np.ndim(a)
    return np.sum(full, axis=tuple(d for d in range(np.ndim(a)) if d != ax))


def average_grad(g, a, axis=None, weights=None, keepdims=False):
    """Cotangent of a in np.average(a, axis, weights): g * weights / sum(weights)."""
    if weights is None:
        return mean_grad(g, a, axis, keepdims)
    w = average_weights(a, weights, axis)
    share = w / np.sum(w, axis=axis, keepdims=True)
    return _spread(_expand(g, np.ndim(a), axis, keepdims) * share, np.shape(a), a)


def average_grad_dw(g, a, axis, weights, t, keepdims=False):
    """Tangent of average_grad(g, a, axis, weights) along a tangent t of the weights."""
    w, tw = average_weights(a, weights, axis), average_weights(a, t, axis)
    s = np.sum(w, axis=axis, keepdims=True)
    dshare = (tw - w * np.sum(tw, axis=axis, keepdims=True) / s) / s
    return _spread(_expand(g, np.ndim(a), axis, keepdims) * dshare, np.shape(a), a)


def average_grad_w(g, ans, a, axis=None, weights=None, keepdims=False):
    """Cotangent of the weights in ans = np.average(a, axis, weights): g * (a - ans) / sum(weights)."""
    nd = np.ndim(a)
    w = average_weights(a, weights, axis)
    s = np.sum(w, axis=axis, keepdims=True)
    full = _expand(g, nd, axis, keepdims) * (a - _expand(ans, nd, axis, keepdims)) / s
    return _weights_back(full, a, weights, axis)


def average_jvp_w(t, ans, a, axis=None, weights=None, keepdims=False):
    """Tangent of np.average(a, axis, weights) along a tangent t of the weights."""
    nd = np.ndim(a)
    w, tw = average_weights(a, weights, axis), average_weights(a, t, axis)
    s = np.sum(w, axis=axis, keepdims=True)
    return np.sum(tw * (a - _expand(ans, nd, axis, keepdims)) / s, axis=axis, keepdims=keepdims)


def average_grad_w_dw(g, ans, a, axis, weights, t, keepdims=False):
    """Tangent of average_grad_w(g, ans, a, axis, weights) along a tangent t of the weights (ans moves
    with them)."""
    nd = np.ndim(a)
    w, tw = average_weights(a, weights, axis), average_weights(a, t, axis)
    s = np.sum(w, axis=axis, keepdims=True)
    dans = np.sum(tw * (a - _expand(ans, nd, axis, keepdims)) / s, axis=axis, keepdims=True)
    ds = np.sum(tw, axis=axis, keepdims=True)
    full = _expand(g, nd, axis, keepdims) * (-dans - (a - _expand(ans, nd, axis, keepdims)) * ds / s) / s
    return _weights_back(full, a, weights, axis)


# --- linear algebra: the pieces the rules of np.linalg compose (each with a rule of its own) ---------
def _eye_mask(x):
    n = np.shape(x)[-1]
    return _xp(x).eye(n, dtype=bool)


def offdiag_inv(d):
    """1 / d off the diagonal of the last two axes, 0 on it: for d[i, j] = w[j] - w[i] (eigenvalues or
    squared singular values, distinct) the F matrix of the eigenvector and singular vector derivatives."""
    xp = _xp(d)
    on = _eye_mask(d)
    return xp.where(on, 0.0, 1.0 / xp.where(on, 1.0, d))


def symmetrize(x):
    """(x + x^T) / 2 over the last two axes: the cotangent of a function that reads a symmetric matrix
    (eigh, eigvalsh, cholesky read one triangle; s2sad's convention is that both carry the derivative)."""
    return (x + np.swapaxes(x, -1, -2)) / 2


def lower_half(x):
    """The lower triangle of x (last two axes) with its diagonal halved: Murray's Phi (Cholesky)."""
    return np.tril(x) - 0.5 * x * _eye_mask(x)


def transpose_if(x, flag):
    """x with its last two axes swapped when flag is true (np.linalg.cholesky(a, upper=True))."""
    return np.swapaxes(x, -1, -2) if flag else x


def _nondiff(message: str):
    from ..errors import NonDifferentiableError
    raise NonDifferentiableError(f"s2sad: {message}")


def _svd_check(a, full_matrices, compute_uv):
    m, n = np.shape(a)[-2:]
    if compute_uv and full_matrices and m != n:
        _nondiff("np.linalg.svd(a) of a non-square matrix with full_matrices=True returns singular vectors "
                 "that are not unique (any basis of the complement): pass full_matrices=False to "
                 "differentiate it")


def full_column_rank(rank, a):
    """1.0, after checking that np.linalg.lstsq's matrix `a` had full column rank (else its solution is the
    minimum-norm one, whose derivative s2sad does not take). A rank on a device (CuPy) is not read back:
    there a rank-deficient matrix gives NaN, on the device."""
    if not isinstance(rank, (int, np.integer, np.ndarray)):
        return _xp(rank).where(rank < np.shape(a)[-1], np.nan, 1.0)
    if rank < np.shape(a)[-1]:
        _nondiff(f"np.linalg.lstsq of a matrix of rank {rank} with {np.shape(a)[-1]} columns is not "
                 "differentiated: s2sad differentiates the least-squares solution of a matrix of full column rank")
    return 1.0


def fit_residuals(c, n):
    """np.linalg.lstsq's residuals (or their cotangent) `c` as n numbers: themselves, or zeros where
    NumPy gave none (a square or rank-deficient matrix)."""
    return np.reshape(c, (n,)) if np.size(c) == n else _xp(c).zeros(n)


def outer_left(a, b):
    """a with a length-1 axis for each of b's: a ufunc's .outer(a, b) is the ufunc of it and b."""
    return np.reshape(a, np.shape(a) + (1,) * np.ndim(b))


def parts(*items):
    """The items as one value that adds item by item (the tangent of a tuple of results)."""
    return Parts(items)


def svd_cotangent(g, a, full_matrices=True, compute_uv=True):
    """g unchanged, after checking np.linalg.svd's result is differentiable (thin or square)."""
    _svd_check(a, full_matrices, compute_uv)
    return g


def _qr_check(a, mode):
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete"):
        _nondiff(f"np.linalg.qr with mode={mode!r} is not differentiated: use mode='reduced'")
    if m < n:
        _nondiff("np.linalg.qr of a wide matrix (more columns than rows) is not differentiated")
    if mode == "complete" and m != n:
        _nondiff("np.linalg.qr with mode='complete' of a tall matrix returns a Q that is not unique: "
                 "use mode='reduced'")


def qr_cotangent(g, a, mode="reduced"):
    """g unchanged, after checking np.linalg.qr's result is differentiable (reduced, not wide)."""
    _qr_check(a, mode)
    return g


def _T(x):
    return np.swapaxes(x, -1, -2)


def eigh_jvp(t, ans):
    """Tangent of np.linalg.eigh(a) (distinct eigenvalues; the symmetric part of t):
    S = V^T t V, dw = diag(S), dV = V (F * S) with F[i, j] = 1 / (w[j] - w[i])."""
    w, v = ans
    s = np.matmul(_T(v), np.matmul(symmetrize(t), v))
    f = offdiag_inv(np.expand_dims(w, -2) - np.expand_dims(w, -1))
    return np.diagonal(s, axis1=-2, axis2=-1), np.matmul(v, f * s)


def svd_jvp(t, ans, a, full_matrices=True, compute_uv=True):
    """Tangent of np.linalg.svd(a) (distinct, nonzero singular values): with P = U^T t V,
    ds = diag(P), dU = U (F * (P S + S P^T)) + (I - U U^T) t V / s,
    dV = V (F * (S P + P^T S)) + (I - V V^T) t^T U / s, F[i, j] = 1 / (s[j]^2 - s[i]^2)."""
    _svd_check(a, full_matrices, compute_uv)
    if compute_uv:
        u, s, vh = ans
    else:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        k = np.shape(s)[-1]
        u, vh = u[..., :, :k], vh[..., :k, :]
    v = _T(vh)
    p = np.matmul(_T(u), np.matmul(t, v))
    ds = np.diagonal(p, axis1=-2, axis2=-1)
    if not compute_uv:
        return ds
    s2 = s * s
    f = offdiag_inv(np.expand_dims(s2, -2) - np.expand_dims(s2, -1))
    row, col = np.expand_dims(s, -1), np.expand_dims(s, -2)
    tv, ttu = np.matmul(t, v), np.matmul(_T(t), u)
    du = np.matmul(u, f * (p * col + row * _T(p))) + (tv - np.matmul(u, np.matmul(_T(u), tv))) / col
    dv = np.matmul(v, f * (row * p + _T(p) * col)) + (ttu - np.matmul(v, np.matmul(vh, ttu))) / col
    return du, ds, _T(dv)


def qr_jvp(t, ans, a, mode="reduced"):
    """Tangent of np.linalg.qr(a) (reduced, m >= n, R invertible): with X = Q^T t R^-1 and
    O = tril(X, -1) - tril(X, -1)^T (skew), dQ = Q (O - X) + t R^-1 and dR = (X - O) R."""
    _qr_check(a, mode)
    q, r = ans
    t_rinv = _T(np.linalg.solve(_T(r), _T(t)))          # t R^-1
    x = np.matmul(_T(q), t_rinv)
    low = np.tril(x, -1)
    o = low - _T(low)
    return np.matmul(q, o - x) + t_rinv, np.matmul(x - o, r)


def second_order(what: str):
    """Raised by rules that have no higher-order derivative."""
    from ..errors import NonDifferentiableError
    raise NonDifferentiableError(f"s2sad: the second derivative through {what} is not supported")


# --- functions with user rules (s2sad.defvjp / defjvp) ----------------------------------------
def _custom(fun, *args):
    return fun(*args)


custom1 = custom2 = custom3 = custom4 = custom5 = custom6 = _custom


def custom_vjp(fun, i, g, ans, *args):
    """Cotangent of argument i of `fun` by its registered rule."""
    from ..rules.custom import vjp
    return vjp(fun, i, g, ans, *args)


def custom_jvp(fun, i, t, ans, *args):
    """Tangent of `fun`'s output from argument i's tangent by its registered rule."""
    from ..rules.custom import jvp
    return jvp(fun, i, t, ans, *args)


# --- recursive calls of the user's own function -------------------------------------------------
recurse1 = recurse2 = recurse3 = recurse4 = recurse5 = recurse6 = _custom
def recurse_vjp(fun, i, g, *args):
    """Cotangent of argument i of a recursive call `fun(*args)`: fun's generated gradient, seeded with g."""
    return hooks.call("recurse_vjp", fun, i, g, *args)


def recurse_jvp(fun, i, t, *args):
    """Tangent of a recursive call `fun(*args)` from argument i's tangent t: fun's generated JVP."""
    return hooks.call("recurse_jvp", fun, i, t, *args)


# --- scalar cotangents standing for whole arrays ------------------------------------------------
def full(g, x):
    """`g` with the shape of `x`: a scalar cotangent (of a full sum, or a zero) spread over x. A small
    array is filled (quicker than a broadcast view and writeable); a large one is a broadcast view."""
    shape = x.shape if type(x) is np.ndarray else np.shape(x)
    if (g.shape if type(g) is np.ndarray else np.shape(g)) == shape:
        return g
    if type(x) is np.ndarray and x.size <= 4096 and np.ndim(g) == 0:
        kind = x.dtype.kind
        dtype = x.dtype if type(g) is float and kind in "fc" else np.result_type(g, x.dtype if kind in "fc" else 1.0)
        out = np.empty(shape, dtype)
        out.fill(g)
        return out
    return _spread(g, shape, x)


def mean_scale(g, a):
    """Cotangent of each element of `a` in np.mean(a): g / a.size, as a scalar that broadcasts."""
    return g / max(_size_of(a), 1)


# --- the wider NumPy API, second batch: contractions, padding, splits, quantiles, interpolation -------
from .einsum import (einsum_grad0, einsum_grad1, einsum_grad2, einsum_grad3, einsum_grad4,  # noqa: E402
                     einsum_grad5, einsum_grad6, tensordot_subscripts)
from .arrays import (hsplit_axis, interp_fp, interp_grad_fp, interp_outside, interp_slope_at,  # noqa: E402
                     interp_slope_grad, pad_grad, pad_grad_constant, pad_linear, quantile_grad, quantile_jvp,
                     refuse, rot90, split_grad)
from .fft import fft_again, fft_grad  # noqa: E402,F401
