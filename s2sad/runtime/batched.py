"""What batched generated code (vmap, modes/batch.py) imports as `_bt`.

A batched value is an array whose first axis runs over the examples; an unbatched one is what the
function would see for every example. These helpers do what needs the arrays' shapes at run time:
the batch size, lining a batched operand up with the others (`align`), masks for branches and loops
that examples take differently, and the per-example loop for a primitive with no batched form.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as _rt
from ..errors import DifferentiationError


class _Unset:
    """The value of a variable some examples have not assigned yet (a masked branch or loop defines it,
    or generated code starts it as None): `n` examples of nothing."""

    def __init__(self, n: int | None = None):
        self.n = n

    def __repr__(self) -> str:
        return "_bt.UNSET"


UNSET = _Unset()


def unset(n: int) -> _Unset:
    return _Unset(n)


def size(*args) -> int:
    """The batch size: the common length of the batched arguments' first axes (after moving in_axes)."""
    if len(args) == 1 and getattr(args[0], "ndim", 0):
        return args[0].shape[0]
    sizes = {np.shape(a)[0] if np.ndim(a) else None for a in args}
    if None in sizes:
        raise ValueError("vmap: a batched argument is a number: it has no axis to map over")
    if len(sizes) != 1:
        raise ValueError(f"vmap: the batched arguments have different sizes along the mapped axis: {sorted(sizes)}")
    return sizes.pop()


def take_axis(x, axis: int, name: str):
    """Argument `x` with its mapped axis `axis` moved first (a ValueError naming `name` if it has none)."""
    nd = np.ndim(x)
    if not -nd <= axis < nd:
        raise ValueError(f"vmap: in_axes gives axis {axis} for argument {name!r} of shape {np.shape(x)}")
    x = np.asarray(x) if not hasattr(x, "shape") else x
    return x if axis in (0, -nd) else np.moveaxis(x, axis, 0)


def lift(v, n: int):
    """An unbatched value as a batch of `n` copies (a read-only broadcast view). None (a variable that
    generated code starts as None, to be assigned later) stays not assigned: UNSET."""
    if isinstance(v, _Unset) or v is None:
        return _Unset(n)
    v = np.asarray(v)
    return np.broadcast_to(v, (n,) + v.shape)


def lift_copy(v, n: int):
    """An unbatched value as a batch of `n` copies that can be written element by element."""
    if isinstance(v, _Unset) or v is None:
        return _Unset(n)
    v = np.asarray(v)
    out = np.empty((n,) + v.shape, dtype=v.dtype if v.dtype.kind in "fciub" else float)
    out[...] = v
    return out


def own(x):
    """A batched argument the function writes into: a copy, so the caller's array is not changed."""
    return np.array(x, copy=True)


def align(a, rank: int):
    """Batched `a` (examples along axis 0) with axes of length 1 inserted after the batch axis, so that
    each example has `rank` dimensions and broadcasts, against unbatched operands, as it would alone."""
    extra = rank - (np.ndim(a) - 1)
    if extra <= 0:
        return a
    a = np.asarray(a)
    return a.reshape(a.shape[:1] + (1,) * extra + a.shape[1:])


def index_of(*parts) -> tuple:
    """The batched form of an index whose parts are unbatched: every example (`:`), then the parts (one
    that is itself a tuple, `np.s_[:, None]`, spread out)."""
    out = [slice(None)]
    for p in parts:
        out.extend(p) if isinstance(p, tuple) else out.append(p)
    return tuple(out)


def element(x):
    """x[:, i] of a batched array: a copy when it is one number per example (an element, which shares no
    memory with its array, as it would not for one example), else the view NumPy gives."""
    return x.copy() if np.ndim(x) == 1 else x


def rank(x, batched: bool) -> int:
    """The number of dimensions of one example of `x`."""
    return np.ndim(x) - 1 if batched else np.ndim(x)


def fit(v, target, batched: bool):
    """The value `v` to write into the batched `target` (x[:, i] = ...): a batched value aligned to it."""
    if not batched:
        return v
    return align(v, np.ndim(target) - 1)


def mask(test):
    """A batched condition as one boolean per example (each example's condition must be a single truth
    value, as Python's `if` needs)."""
    t = np.asarray(test)
    if t.ndim != 1:
        raise ValueError(f"vmap: a condition is an array of shape {t.shape[1:]} for each example; Python's "
                         "`if`/`while` needs a single truth value (use np.all/np.any)")
    return t.astype(bool, copy=False)


def where(m, new, old, new_batched: bool = True):
    """`new` where the example's mask `m` is set, else `old` (batched): a masked assignment. An
    unbatched `new` is the same for every example. When the two differ in shape for each example (a
    number in one branch, an array in the other), only a mask that all examples agree on can be
    followed; one they disagree on is an error, not a broadcast (which a later sum would count twice)."""
    if isinstance(old, _Unset):
        return new
    if isinstance(new, _Unset):
        return old
    new_shape = np.shape(new)[1:] if new_batched else np.shape(new)
    old_shape = np.shape(old)[1:]
    if new_shape != old_shape:
        if np.all(m):
            return new if new_batched else lift(new, np.shape(old)[0])
        if not np.any(m):
            return old
        raise DifferentiationError(
            f"vmap: a variable is an array of shape {old_shape} for some examples and of shape {new_shape} for "
            "others (it is assigned a new shape in a branch or loop only some examples take): give it its "
            "final shape before the branch (`v = np.zeros(n)` rather than `v = 0.0`)")
    r = len(old_shape)
    return np.where(m.reshape(m.shape + (1,) * r), new, old)


def where_write(m, new, old, new_batched: bool = True):
    """The value that `x[i] = new` writes under mask `m`: `new` (broadcast into each example's slots, as
    NumPy's assignment does) where the mask is set, the slots' own values `old` elsewhere."""
    r = np.ndim(old) - 1
    if new_batched:
        new = align(new, r)
    return np.where(m.reshape(m.shape + (1,) * r), new, old)


def number(x, kind):
    """float(x), int(x) or bool(x) of each example (each must be a single value)."""
    x = np.asarray(x)
    if x.ndim > 1 and x.size != x.shape[0]:
        raise TypeError(f"{kind.__name__}() of an array of shape {x.shape[1:]} for each example: only one "
                        "element can be converted")
    return x.reshape(x.shape[:1]).astype(kind)


def select(m, new, old):
    """`new if test else old` of each example (IfExp), both batched, `m` one boolean per example."""
    return where(mask(m), new, old)


def any_(m) -> bool:
    return bool(np.any(m))


def trips(n):
    """The trip counts of `range(n)` for a batched `n` (one per example), as integers."""
    n = np.asarray(n)
    if n.ndim != 1 or n.dtype.kind not in "iub":
        raise ValueError("vmap: range() of a batched value needs one integer per example")
    return np.maximum(n, 0)


def rest(x) -> tuple[int, ...]:
    """The axes of one example of batched `x`: what `axis=None` reduces."""
    return tuple(range(1, np.ndim(x)))


def shift(axis):
    """An axis argument of one example as an axis of the batched array (negative axes count the same)."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(shift(a) for a in axis)
    return axis + 1 if axis >= 0 else axis


def flat(x):
    """Each example of batched `x` flattened (`axis=None` of cumsum, argmax, sort)."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], -1)


def shape(n: int, newshape) -> tuple:
    """The batched form of a reshape's target shape."""
    if isinstance(newshape, (int, np.integer)):
        return (n, int(newshape))
    return (n,) + tuple(newshape)


def transpose(x, axes=None):
    """np.transpose of each example."""
    nd = np.ndim(x) - 1
    if axes is None:
        return np.transpose(x, (0,) + tuple(range(nd, 0, -1)))
    return np.transpose(x, (0,) + tuple(a % nd + 1 for a in axes))


def matmul(a, b, ba: bool, bb: bool):
    """`a @ b` of each example, `ba`/`bb` saying which are batched."""
    ra, rb = np.ndim(a) - ba, np.ndim(b) - bb
    if ra == 0 or rb == 0:
        raise ValueError("matmul: an operand is a number (use *)")
    if ba and bb:
        if ra == 1 and rb == 1:
            return np.einsum("bi,bi->b", a, b)
        if rb == 1:
            return np.matmul(a, b[..., None])[..., 0]
        if ra == 1:
            return np.matmul(a[:, None, :], b)[:, 0]
        return np.matmul(a, b)
    if ba:                              # (B, ..., k) @ (k, ...): broadcasting does it
        if rb == 1 or ra >= 2 or rb == 2:
            return np.matmul(a, b)
        return loop(np.matmul, (a, b), (True, False))
    # b batched only
    if rb == 1:
        if ra == 1:
            return np.matmul(b, a)
        if ra == 2:
            return np.matmul(b, a.T)
        return loop(np.matmul, (a, b), (False, True))
    return np.matmul(a, b)


def dot(a, b, ba: bool, bb: bool):
    """np.dot of each example (numbers and arrays of at most two dimensions, as np.dot's rule allows)."""
    ra, rb = np.ndim(a) - ba, np.ndim(b) - bb
    if ra == 0 or rb == 0:
        if ba and ra < rb:
            a = align(a, rb)
        if bb and rb < ra:
            b = align(b, ra)
        return a * b
    if ra > 2 or rb > 2:
        return loop(np.dot, (a, b), (ba, bb))
    return matmul(a, b, ba, bb)


def outer(a, b, ba: bool, bb: bool):
    """np.outer of each example."""
    fa = flat(a) if ba else np.ravel(a)
    fb = flat(b) if bb else np.ravel(b)
    return (fa[..., :, None]) * (fb[..., None, :] if bb else fb[None, :])


def argflat(fn, x):
    """np.argmax/np.argmin with axis=None of each example: an index into its flattened array."""
    return fn(flat(x), axis=1)


def index(x, idx: tuple, bx: bool, bidx: tuple):
    """x[idx] of each example, where some index parts are batched (a per-example integer or array)."""
    return loop(_getitem, (x, idx), (bx, bidx))


def setitem(x, idx: tuple, v, bidx: tuple, bv: bool, m=None):
    """x[idx] = v in each example of batched x (in place), where some index parts are batched; with a
    mask `m`, only in the examples it selects."""
    for k in range(np.shape(x)[0]):
        if m is not None and not m[k]:
            continue
        i = tuple(p[k] if b else p for p, b in zip(idx, bidx))
        x[k][i if len(i) != 1 else i[0]] = v[k] if bv else v


def add_at(x, idx: tuple, v, bidx: tuple, bv: bool, m=None):
    """np.add.at(x, idx, v) in each example of batched x; with a mask `m`, only where it is set."""
    if not any(_flat_flags(bidx)):
        full = index_of(*idx)
        target = np.ndim(x[full]) - 1
        if not bv:
            v, bv = lift(v, x.shape[0]), True
        v = align(v, target)
        if m is not None:
            v = np.where(m.reshape(m.shape + (1,) * (np.ndim(v) - 1)), v, 0)
        np.add.at(x, full, v)
        return
    for k in range(np.shape(x)[0]):
        if m is not None and not m[k]:
            continue
        i = _pick(tuple(idx), k, tuple(bidx))
        np.add.at(x[k], i if len(i) != 1 else i[0], v[k] if bv else v)


def _flat_flags(b) -> list:
    return [y for x in b for y in _flat_flags(x)] if isinstance(b, tuple) else [b]


def _getitem(x, idx):
    return x[idx if len(idx) != 1 else idx[0]]


def _pick(a, k: int, batched):
    if isinstance(batched, tuple):         # a list or tuple argument, item by item
        return type(a)(_pick(p, k, b) for p, b in zip(a, batched))
    return a[k] if batched else a


def loop(fn, args: tuple, batched: tuple, kwargs: dict | None = None):
    """`fn(*args, **kwargs)` of each example, stacked: the batched form of a primitive with no batched
    rule of its own (a Python loop over the examples: correct for any pure function, and slow)."""
    n = None
    for a, b in zip(args, batched):
        if b is True:
            n = np.shape(a)[0]
            break
        if isinstance(b, tuple):
            for p, c in zip(a, b):
                if c:
                    n = np.shape(p)[0]
                    break
            if n is not None:
                break
    kwargs = kwargs or {}
    outs = [fn(*(_pick(a, k, b) for a, b in zip(args, batched)), **kwargs) for k in range(n)]
    if outs and isinstance(outs[0], (tuple, list)):       # several results (np.split's parts): each stacked
        return type(outs[0])(np.stack([np.asarray(o[j]) for o in outs]) for j in range(len(outs[0])))
    try:
        return np.stack([np.asarray(o) for o in outs])
    except ValueError:
        raise DifferentiationError(
            f"vmap: {getattr(fn, '__name__', fn)} gives results of different shapes for different examples, "
            "which cannot be stacked into one batched array") from None


def out(v, axis, n: int):
    """A batched output with its batch axis moved to `axis` (out_axes)."""
    if v is None:
        return None
    if axis is None:
        raise ValueError("vmap: out_axes=None for an output that depends on the mapped arguments")
    v = np.asarray(v) if not hasattr(v, "shape") else v
    return v if axis == 0 else np.moveaxis(v, 0, axis)


def unbatched_out(v, axis, n: int):
    """An output that does not depend on the mapped arguments: as it is for out_axes=None, else `n`
    copies along `axis` (as JAX broadcasts it)."""
    if v is None or axis is None:
        return v
    return out(np.broadcast_to(np.asarray(v), (n,) + np.shape(v)).copy(), axis, n)


# --- batched forms of the helpers generated gradients call (rules/batching.py: kind "runtime") ------
# Each takes the helper's required arguments, one flag for each (whether it is batched), then its
# optional arguments (never batched) by keyword.

def _n(*pairs) -> int:
    for a, b in pairs:
        if b:
            return np.shape(a)[0]
    raise ValueError("no batched argument")


def _example_shape(x, bx: bool) -> tuple:
    shape = x.shape if type(x) is np.ndarray else np.shape(x)
    return shape[1:] if bx else shape


def unbroadcast(g, x, bg: bool, bx: bool):
    """Each example's cotangent `g` summed back to the shape of its operand `x`."""
    if not bg:
        n = _n((x, bx))
        return lift(_rt.unbroadcast(g, x[0] if bx else x), n)
    g = np.asarray(g)
    xs = _example_shape(x, bx)
    gs = g.shape[1:]
    if gs == xs or not gs:           # nothing broadcast (a number's cotangent stays a number)
        return g
    lead = len(gs) - len(xs)
    if lead < 0:
        return np.broadcast_to(align(g, len(xs)), g.shape[:1] + xs)
    if lead:
        g = g.sum(axis=tuple(range(1, lead + 1)))
    keep = tuple(i + 1 for i, k in enumerate(xs) if k == 1 and g.shape[i + 1] != 1)
    if keep:
        g = g.sum(axis=keep, keepdims=True)
    return g


def sum_product(a, b, x, ba: bool, bb: bool, bx: bool):
    """unbroadcast(a * b, x) of each example."""
    ra, rb = np.ndim(a) - ba, np.ndim(b) - bb
    top = max(ra, rb)
    prod = (align(a, top) if ba else a) * (align(b, top) if bb else b)
    return unbroadcast(prod, x, ba or bb, bx)


def zeros(x, bx: bool):
    """_rt.zeros of each example: float zeros shaped like it (0.0 for a value not assigned yet)."""
    if isinstance(x, _Unset):
        return np.zeros(x.n)
    return _rt.zeros(x)


def mean_scale(g, a, bg: bool, ba: bool):
    """g / (the size of one example of a)."""
    count = max(int(np.size(a) // np.shape(a)[0]) if ba else int(np.size(a)), 1)
    out = np.asarray(g) / count
    return out if bg else lift(out, _n((a, ba)))


def _spread_to(g, bg: bool, xs: tuple, n: int):
    """Each example's g broadcast to the shape xs (a fresh array)."""
    g = np.asarray(g)
    if not bg:
        return np.broadcast_to(g, (n,) + xs).copy() if g.shape != (n,) + xs else g
    if g.shape[1:] == xs:
        return g
    return np.broadcast_to(align(g, len(xs)), (n,) + xs).copy()


def full(g, x, bg: bool, bx: bool):
    """_rt.full of each example: g with the shape of x."""
    n = _n((g, bg), (x, bx))
    return _spread_to(g, bg, _example_shape(x, bx), n)


def tangent_like(t, x, bt: bool, bx: bool):
    """_rt.tangent_like of each example: the tangent spread to its value's shape."""
    if bt and type(t) is np.ndarray:         # (most often: already the examples' shape)
        xs = x.shape if type(x) is np.ndarray else np.shape(x)
        if t.shape[1:] == (xs[1:] if bx else xs):
            return t
    return full(t, x, bt, bx)


def owned(t, x, bt: bool, bx: bool):
    """_rt.owned of each example: a fresh, writable tangent with the shape of x."""
    out = full(t, x, bt, bx)
    dtype = np.result_type(out.dtype, getattr(x, "dtype", float), np.float32)
    return np.array(out, dtype=dtype, copy=True)


def matmul_grad_x(g, x, y, bg: bool, bx: bool, by: bool):
    """Cotangent of x in x @ y, for each example."""
    xd, yd = np.ndim(x) - bx, np.ndim(y) - by
    if not bg:
        if not by:
            return lift(_rt.matmul_grad_x(g, x[0] if bx else x, y), _n((x, bx)))
        g, bg = lift(g, _n((y, by))), True
    if yd == 1:
        out = align(g, 1) * y if xd == 1 else g[..., None] * (align(y, xd) if by else y)
    elif xd == 1:
        # y @ g of each example; with y shared, one product for the batch: g @ y.T
        out = np.matmul(g, np.swapaxes(y, -1, -2)) if not by and yd == 2 else np.matmul(y, g[..., None])[..., 0]
    else:
        out = np.matmul(g, np.swapaxes(y, -1, -2))
    return unbroadcast(out, x, True, bx)


def matmul_grad_y(g, x, y, bg: bool, bx: bool, by: bool):
    """Cotangent of y in x @ y, for each example."""
    xd = (x.ndim if type(x) is np.ndarray else np.ndim(x)) - bx
    yd = (y.ndim if type(y) is np.ndarray else np.ndim(y)) - by
    if not bg:
        if not bx:
            return lift(_rt.matmul_grad_y(g, x, y[0] if by else y), _n((y, by)))
        g, bg = lift(g, _n((x, bx))), True
    if xd == 1:
        if yd == 1:
            out = align(g, 1) * x
        else:                          # each example's outer product (einsum: quicker than broadcasting)
            out = np.einsum("...i,...j->...ij", x, g)
    elif yd == 1:
        # x.T @ g of each example; with x shared, one product for the batch: g @ x
        out = np.matmul(g, x) if not bx and xd == 2 else np.matmul(np.swapaxes(x, -1, -2), g[..., None])[..., 0]
    else:
        out = np.matmul(np.swapaxes(x, -1, -2), g)
    return unbroadcast(out, y, True, by)


def sum_grad(g, a, bg: bool, ba: bool, axis=None, keepdims=False):
    """_rt.sum_grad of each example: g spread back over the reduced axes of a."""
    n = _n((g, bg), (a, ba))
    shape = _example_shape(a, ba)
    g = np.asarray(g) if bg else lift(g, n)
    if axis is not None and not keepdims:
        axes = tuple(k % len(shape) + 1 for k in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        g = np.expand_dims(g, axes)
    elif axis is None and not keepdims:
        g = align(g, len(shape))
    return np.broadcast_to(g, (n,) + shape)


def mean_grad(g, a, bg: bool, ba: bool, axis=None, keepdims=False):
    shape = _example_shape(a, ba)
    count = max(int(np.prod([shape[k] for k in (range(len(shape)) if axis is None else
                 (axis if isinstance(axis, (tuple, list)) else (axis,)))])), 1) if shape else 1
    return sum_grad(np.asarray(g) / count, a, bg, ba, axis, keepdims)


class BRange:
    """range(start, stop, step) of each example: arrays of one integer per example."""

    def __init__(self, start, stop, step):
        self.start, self.stop, self.step = (np.asarray(v) for v in (start, stop, step))


def brange(n: int, *args) -> BRange:
    """range(*args) of each example, some arguments batched."""
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], args[2] if len(args) > 2 else 1)
    return BRange(*(np.broadcast_to(np.asarray(v), (n,)) for v in (start, stop, step)))


def _brange(r) -> BRange:
    return r if isinstance(r, BRange) else BRange(r.start, r.stop, r.step)     # the same range for every example


def range_len(r: BRange):
    """len() of each example's range."""
    r = _brange(r)
    up = r.step > 0
    span = np.where(up, r.stop - r.start, r.start - r.stop)
    size = np.abs(r.step)
    return np.maximum((span + size - 1) // size, 0)


def range_item(r: BRange, k):
    """r[k] of each example's range."""
    r = _brange(r)
    return r.start + np.asarray(k) * r.step


def range_reversed(r: BRange) -> BRange:
    """r[::-1] of each example's range."""
    r = _brange(r)
    last = r.start + (range_len(r) - 1) * r.step
    return BRange(last, r.start - r.step, -r.step)


class Identity(np.ndarray):
    """The identity matrix as a batch of unit directions (jacobian's seed), and the diagonal matrices an
    elementwise product makes of it, which know what a product with them is: `I @ B` is B and
    `diag(d) @ B` is `d[:, None] * B`, without the multiplications by zeros. Everything else sees a plain
    array: a slice, or any other operation, gives ordinary arrays."""

    _diag = None                        # the diagonal (ones for the identity); None: not diagonal
    _unit = False                       # the identity itself: a product with it is a copy

    def __array_finalize__(self, obj) -> None:
        self._diag = None                       # views and results are plain
        self._unit = False

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and len(inputs) == 2 and not kwargs:
            a, b = inputs
            da, db = getattr(a, "_diag", None), getattr(b, "_diag", None)
            if ufunc is np.matmul:
                if getattr(a, "_unit", False) and np.ndim(b) == 2 and np.shape(b)[0] == len(da):
                    return np.array(b, dtype=np.result_type(b, da))   # (b's own memory order: quicker than ones * b)
                if getattr(b, "_unit", False) and np.ndim(a) == 2 and np.shape(a)[1] == len(db):
                    return np.array(a, dtype=np.result_type(a, db))
                if da is not None and np.shape(b)[:1] == (len(da),) and np.ndim(b) == 2:
                    return np.asarray(b) * da[:, None]
                if db is not None and np.shape(a)[1:] == (len(db),):
                    return np.asarray(a) * db[None, :]
            if ufunc is np.multiply:        # diag(d) * v (v along the last axis, or a number): diagonal
                for d, v in ((da, b), (db, a)):
                    if d is None:
                        continue
                    shape = v.shape if type(v) is np.ndarray else np.shape(v)
                    if not shape:
                        return diagonal(d * v)
                    if shape == (len(d),) or shape == (1, len(d)):
                        return diagonal(d * v.reshape(-1) if type(v) is np.ndarray else d * np.reshape(v, (-1,)))
        plain = [x.view(np.ndarray) if isinstance(x, Identity) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(x.view(np.ndarray) if isinstance(x, Identity) else x for x in kwargs["out"])
        return getattr(ufunc, method)(*plain, **kwargs)

    def __getitem__(self, index):
        return self.view(np.ndarray)[index]


def diagonal(d) -> Identity:
    """diag(d), as a matrix that matmul recognises (see Identity)."""
    d = np.asarray(d)
    n = len(d)
    dense = np.zeros((n, n), dtype=d.dtype)
    dense.reshape(-1)[::n + 1] = d        # (np.diag's work, without its checks)
    out = dense.view(Identity)
    out._diag = d
    return out


def identity(n: int, dtype=float) -> Identity:
    """An n x n identity that matmul recognises (see Identity)."""
    out = diagonal(np.ones(n, dtype=dtype))
    out._unit = True
    return out
