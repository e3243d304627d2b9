"""The runtime helpers of generated code compiled by numba (backend="numba"): the same names as
s2sad.runtime's, each a Python function (NumPy's helper, so the file also runs with numba's JIT
switched off) with a numba implementation chosen by its arguments' types when it is compiled.

Only the helpers here exist for numba: the numba backend refuses generated code that calls any other
(backends/numba.py), naming the user's line. A helper's numba form covers the argument types listed in
its docstring; for any other, numba's typing fails and the backend reports that line too.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.cpu_options import ParallelOptions
from numba.extending import intrinsic, overload

from .. import runtime as _np_rt

_NUMBER = (types.Number, types.Boolean)

# numba's `parallel` for a generated function with `numba.prange` loops (backends/loops.py): those loops
# over threads, and none of numba's other automatic parallel forms, which would launch threads for each
# array statement, small ones included. (An options object: numba empties a dict it is given.)
PRANGE_ONLY = ParallelOptions({"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
                               "setitem": False, "numpy": False, "stencil": False, "fusion": False})


def _contiguous(fn, *args):
    """NumPy's fn(*args) as a C-ordered array: what compiled code gets back from a `_numpy` call."""
    return np.ascontiguousarray(fn(*args))


def _numpy(fn, result, arity: int):
    """An intrinsic: compiled code calls NumPy's `fn` on its `arity` array arguments, holding the GIL, and gets
    a C-ordered array of type `result(*argument types)`; an exception of fn's is raised from the compiled code.

    numba.objmode does the same, but compiles its block again in every process (about 80 ms each, the
    cache does not keep it): this call is cached with the function that makes it."""
    def codegen(context, builder, sig, values):
        pyapi = context.get_python_api(builder)
        env = context.get_env_manager(builder)
        gil = pyapi.gil_ensure()
        objects = []
        for ty, value in zip(sig.args, values):
            context.nrt.incref(builder, ty, value)           # boxing steals the reference
            objects.append(pyapi.from_native_value(ty, value, env))
        callee = pyapi.unserialize(pyapi.serialize_object(_contiguous))
        function = pyapi.unserialize(pyapi.serialize_object(fn))
        got = pyapi.call_function_objargs(callee, [function, *objects])
        for obj in (callee, function, *objects):
            pyapi.decref(obj)
        with builder.if_then(cgutils.is_null(builder, got), likely=False):
            pyapi.gil_release(gil)
            context.call_conv.return_exc(builder)
        native = pyapi.to_native_value(sig.return_type, got)
        pyapi.decref(got)
        if callable(native.cleanup):
            native.cleanup()
        pyapi.gil_release(gil)
        with builder.if_then(native.is_error, likely=False):
            context.call_conv.return_exc(builder)
        return native.value

    if arity == 1:             # (an intrinsic names its arguments: numba lowers no *args there)
        def call(typingctx, a):
            return result(a)(a), codegen
    else:
        def call(typingctx, a, b):
            return result(a, b)(a, b), codegen
    return intrinsic(call)


def _is_number(t) -> bool:
    return isinstance(t, _NUMBER)


def _is_array(t, ndim: int | None = None) -> bool:
    return isinstance(t, types.Array) and (ndim is None or t.ndim == ndim)


def _absent(t) -> bool:
    """Whether an optional argument is None or left out (`axis`, `ord`, a bound of np.clip)."""
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


@njit(cache=True)
def _reduced(axis):
    """The axis of a matrix that a reduction runs along: 0 or 1 (-2 and -1 said otherwise)."""
    if axis == 1 or axis == -1:
        return 1
    if axis == 0 or axis == -2:
        return 0
    raise ValueError("s2sad: axis out of range for a matrix")


def _float_dtype(t):
    """The NumPy dtype of a cotangent for an array of numba type `t`: its own if float, else float64."""
    return np.float32 if t.dtype == types.float32 else np.float64


# --- sums back onto a broadcast operand ------------------------------------------------------------

@njit(cache=True)
def _sum_onto(gf, gshape, out, xshape):
    """Add each element of the flat C-ordered array `gf` (of shape `gshape`) into the flat `out`, at the
    element of shape `xshape` (`gshape`'s length, 1 where `g` was broadcast) it was broadcast from."""
    nd = len(gshape)
    stride = np.zeros(nd, np.int64)
    step = 1
    for d in range(nd - 1, -1, -1):
        stride[d] = 0 if xshape[d] == 1 else step
        step *= xshape[d]
    index = np.zeros(nd, np.int64)
    o = 0
    for k in range(gf.size):
        out[o] += gf[k]
        d = nd - 1
        while d >= 0:
            index[d] += 1
            o += stride[d]
            if index[d] < gshape[d]:
                break
            o -= stride[d] * gshape[d]
            index[d] = 0
            d -= 1


@njit(cache=True)
def _aligned(shape, nd):
    """`shape` padded on the left with ones to `nd` entries, as an int64 array."""
    out = np.ones(nd, np.int64)
    lead = nd - len(shape)
    for i in range(len(shape)):
        out[lead + i] = shape[i]
    return out


def unbroadcast(g, x):
    """The cotangent `g` summed back to the shape of `x`. numba: `g` a number or an array; `x` a number
    or an array of at most g's dimensions (an array of more: `g` broadcast to its shape)."""
    return _np_rt.unbroadcast(g, x)


@overload(unbroadcast)
def _unbroadcast(g, x):
    if _is_number(g):
        return lambda g, x: g
    if not _is_array(g):
        return None
    if _is_number(x):
        return lambda g, x: np.sum(g)
    if not _is_array(x):
        return None
    if x.ndim > g.ndim:
        return lambda g, x: np.broadcast_to(g, x.shape)
    if x.ndim == 0:
        return lambda g, x: np.sum(g)
    if g.ndim == 2 and x.ndim == 1:        # a bias's cotangent: the rows summed (the common case, fast)
        def rows(g, x):
            if g.shape[1] == x.shape[0]:
                return np.asarray(np.sum(g, axis=0))
            out = np.zeros(x.shape, g.dtype)
            _sum_onto(np.ascontiguousarray(g).ravel(), _aligned(g.shape, 2), out, _aligned(x.shape, 2))
            return out
        return rows

    def impl(g, x):
        if g.ndim == x.ndim and g.shape == x.shape:
            return np.asarray(g)
        out = np.zeros(x.shape, g.dtype)
        _sum_onto(np.ascontiguousarray(g).ravel(), _aligned(g.shape, g.ndim), out.reshape(out.size),
                  _aligned(x.shape, g.ndim))
        return np.asarray(out)
    return impl


def sum_product(a, b, x):
    """`unbroadcast(a * b, x)`."""
    return _np_rt.sum_product(a, b, x)


@overload(sum_product)
def _sum_product(a, b, x):
    if _is_number(x) and _is_array(a) and _is_array(b) and a.ndim == b.ndim and a.dtype == b.dtype \
            and isinstance(a.dtype, types.Float):
        def dot(a, b, x):                  # everything summed onto a number: a dot product, no a * b formed
            if a.shape == b.shape:
                return np.dot(np.ascontiguousarray(a).ravel(), np.ascontiguousarray(b).ravel())
            return np.sum(a * b)
        return dot
    return lambda a, b, x: unbroadcast(a * b, x)


# --- arrays of a value's shape ---------------------------------------------------------------------

def zeros(x):
    """A float zero array shaped like `x` (float32 stays float32); 0.0 for a number or None."""
    return _np_rt.zeros(x)


@overload(zeros)
def _zeros(x):
    if _is_number(x) or _absent(x):
        return lambda x: 0.0
    if _is_array(x):
        dtype = _float_dtype(x)
        return lambda x: np.zeros(x.shape, dtype)
    return None


def empty(x):
    """A float array shaped like `x` (float32 stays float32) whose elements the caller writes, each of
    them (a loop of backends/loops.py): zeros(x)'s, unset. 0.0 for a number."""
    return _np_rt.zeros(x)


@overload(empty)
def _empty(x):
    if _is_number(x):
        return lambda x: 0.0
    if _is_array(x):
        dtype = _float_dtype(x)
        return lambda x: np.empty(x.shape, dtype)
    return None


def full(g, x):
    """`g` with the shape of `x`. numba: `x` a number (then `g` is) or an array; `g` a number or an
    array that broadcasts to x's shape."""
    return _np_rt.full(g, x)


@overload(full)
def _full(g, x):
    if _is_number(x):
        return lambda g, x: g
    if not _is_array(x):
        return None
    if _is_number(g):
        dtype = _float_dtype(x)
        return lambda g, x: np.full(x.shape, g, dtype)
    if _is_array(g, x.ndim):
        def same_rank(g, x):
            if g.shape == x.shape:
                return np.asarray(g)
            return np.asarray(np.broadcast_to(g, x.shape).copy())
        return same_rank
    if _is_array(g):
        return lambda g, x: np.broadcast_to(g, x.shape).copy()
    return None


def tangent_like(t, x):
    """A tangent with the shape of the value `x` (a smaller one broadcast, as a copy)."""
    return _np_rt.tangent_like(t, x)


@overload(tangent_like)
def _tangent_like(t, x):
    return lambda t, x: full(t, x)


def owned(t, x):
    """A fresh, writable tangent with the shape of `x`."""
    return _np_rt.owned(t, x)


@overload(owned)
def _owned(t, x):
    if not _is_array(x):
        return None
    single = x.dtype == types.float32 and (_is_number(t) or _is_array(t) and t.dtype == types.float32)
    dtype = np.float32 if single else np.float64
    return lambda t, x: np.full(x.shape, 0.0, dtype) + t


def mean_scale(g, a):
    """`g / a.size`: the cotangent of each element of `a` in np.mean(a)."""
    return _np_rt.mean_scale(g, a)


@overload(mean_scale)
def _mean_scale(g, a):
    if _is_number(a):
        return lambda g, a: g / 1
    if _is_array(a):
        return lambda g, a: g / max(a.size, 1)
    return None


def sum_grad(g, a, axis=None, keepdims=False):
    """The cotangent of `a` in np.sum(a): `g` spread over a's shape. numba: any `a` without axis, a matrix
    with axis 0, 1, -1 or -2."""
    return _np_rt.sum_grad(g, a, axis, keepdims)


@overload(sum_grad)
def _sum_grad(g, a, axis=None, keepdims=False):
    if _absent(axis):
        return lambda g, a, axis=None, keepdims=False: full(g, a)
    if not (_is_array(a, 2) and isinstance(axis, types.Integer)):
        return None
    return lambda g, a, axis=None, keepdims=False: _spread_along(g, a, axis, 1)


@njit(cache=True)
def _spread_along(g, a, axis, count):
    """The cotangent `g` of a matrix `a` reduced along `axis` (with or without keepdims), divided by
    `count`, spread back over a's shape."""
    rows, cols = a.shape
    flat = np.ascontiguousarray(np.asarray(g)).ravel() / count
    shape = (rows, 1) if _reduced(axis) == 1 else (1, cols)
    return np.ascontiguousarray(np.broadcast_to(flat.reshape(shape), (rows, cols)))


def mean_grad(g, a, axis=None, keepdims=False):
    """The cotangent of `a` in np.mean(a). numba: as sum_grad."""
    return _np_rt.mean_grad(g, a, axis, keepdims)


@overload(mean_grad)
def _mean_grad(g, a, axis=None, keepdims=False):
    if _absent(axis):
        return lambda g, a, axis=None, keepdims=False: full(mean_scale(g, a), a)
    if not (_is_array(a, 2) and isinstance(axis, types.Integer)):
        return None
    return lambda g, a, axis=None, keepdims=False: _spread_along(g, a, axis, max(a.shape[_reduced(axis)], 1))


def stop_gradient(x):
    """`x` itself: no derivative flows through it."""
    return x


@overload(stop_gradient)
def _stop_gradient(x):
    return lambda x: x


# --- products ------------------------------------------------------------------------------------

# A product of matrices goes to a BLAS either way; numba's calls SciPy's (another OpenBLAS, with its own
# threads), NumPy's its own. A process that runs both has two pools of threads contending for the cores
# (the MLP's gradient: 1.9 ms on numba, 1.4 ms on NumPy, two threads). On float matrices of BIG_PRODUCT
# multiplications or more the compiled code calls NumPy's (`_numpy`), whose values it then has too.

BIG_PRODUCT = 100_000
_numpy_matmul = _numpy(np.matmul, lambda a, b: types.Array(a.dtype, 2, "C"), 2)


def matmul(a, b):
    """`a @ b`; on float matrices of one dtype, at least BIG_PRODUCT multiplications, NumPy's."""
    return a @ b


@overload(matmul)
def _matmul(a, b):
    if not (_is_array(a, 2) and _is_array(b, 2) and a.dtype == b.dtype and isinstance(a.dtype, types.Float)):
        return lambda a, b: a @ b

    def product(a, b):
        if a.shape[0] * a.shape[1] * b.shape[1] < BIG_PRODUCT:
            return a @ b
        return _numpy_matmul(a, b)
    return product


def matmul_grad_x(g, x, y):
    """The cotangent of x in x @ y. numba: vectors and matrices."""
    return _np_rt.matmul_grad_x(g, x, y)


@overload(matmul_grad_x)
def _matmul_grad_x(g, x, y):
    if not (_is_array(x) and _is_array(y)) or x.ndim > 2 or y.ndim > 2:
        return None
    if x.ndim == 1 and y.ndim == 1:
        return lambda g, x, y: g * y
    if x.ndim == 2 and y.ndim == 1:
        return lambda g, x, y: np.outer(g, y)
    if x.ndim == 1:
        return lambda g, x, y: y @ g
    return lambda g, x, y: matmul(g, y.T)     # (a transpose is F-ordered: BLAS takes it as it is)


def matmul_grad_y(g, x, y):
    """The cotangent of y in x @ y. numba: vectors and matrices."""
    return _np_rt.matmul_grad_y(g, x, y)


@overload(matmul_grad_y)
def _matmul_grad_y(g, x, y):
    if not (_is_array(x) and _is_array(y)) or x.ndim > 2 or y.ndim > 2:
        return None
    if x.ndim == 1 and y.ndim == 1:
        return lambda g, x, y: g * x
    if x.ndim == 1:
        return lambda g, x, y: np.outer(x, g)
    return lambda g, x, y: matmul(x.T, g)


def dot_grad_a(g, a, b):
    """The cotangent of a in np.dot(a, b). numba: numbers, vectors and matrices."""
    return _np_rt.dot_grad_a(g, a, b)


@overload(dot_grad_a)
def _dot_grad_a(g, a, b):
    if _is_number(a) or _is_number(b) or _is_array(a, 0) or _is_array(b, 0):
        return lambda g, a, b: unbroadcast(g * b, a)
    if _is_array(a) and _is_array(b) and a.ndim <= 2 and b.ndim <= 2:
        return lambda g, a, b: matmul_grad_x(g, a, b)
    return None


def dot_grad_b(g, a, b):
    """The cotangent of b in np.dot(a, b). numba: numbers, vectors and matrices."""
    return _np_rt.dot_grad_b(g, a, b)


@overload(dot_grad_b)
def _dot_grad_b(g, a, b):
    if _is_number(a) or _is_number(b) or _is_array(a, 0) or _is_array(b, 0):
        return lambda g, a, b: unbroadcast(g * a, b)
    if _is_array(a) and _is_array(b) and a.ndim <= 2 and b.ndim <= 2:
        return lambda g, a, b: matmul_grad_y(g, a, b)
    return None


# --- what numba spells otherwise -----------------------------------------------------------------

def backwards(steps):
    """The items of a range (or a list) in reverse order: `steps[::-1]`, which numba cannot slice."""
    return steps[::-1]


@overload(backwards)
def _backwards(steps):
    if isinstance(steps, types.RangeType):
        return lambda steps: range(steps.start + (len(steps) - 1) * steps.step, steps.start - steps.step,
                                   -steps.step)
    return lambda steps: steps[::-1]


def norm(x):
    """np.linalg.norm(x) of an array, abs(x) of a number (numba's norm takes arrays only)."""
    return np.linalg.norm(x)


@overload(norm)
def _norm(x):
    if _is_number(x):
        return lambda x: abs(x)
    if _is_array(x) and x.ndim == 0:
        return lambda x: abs(x[()])
    if _is_array(x, 1) and isinstance(x.dtype, types.Float):
        def vector(x):             # sqrt(x . x), as NumPy's: numba's calls BLAS's nrm2, 60 ns a call
            total = 0.0
            for i in range(x.shape[0]):
                total += x[i] * x[i]
            return np.sqrt(total)
        return vector
    if _is_array(x):
        return lambda x: np.linalg.norm(np.ascontiguousarray(x))
    return None


def add_at(a, index, g):
    """np.add.at(a, index, g): `g` added into `a` at `index`, repeats summed. numba: a 1-D `a`, and an
    integer, a 1-D integer array, or a list or tuple of integers (`x[[-2, -1, 1]]`'s cotangent)."""
    np.add.at(a, index, g)


def _integers(t) -> bool:
    """Whether numba's type `t` is a 1-D integer array, or a list or tuple of integers."""
    return (_is_array(t, 1) or isinstance(t, (types.List, types.UniTuple))) and isinstance(t.dtype, types.Integer)


@overload(add_at)
def _add_at(a, index, g):
    if not _is_array(a, 1):
        return None
    if isinstance(index, types.Integer):
        return lambda a, index, g: _add_one(a, index, g)
    if not _integers(index):
        return None
    if _is_number(g):
        def scalar(a, index, g):
            for k in range(len(index)):
                a[index[k]] += g
        return scalar

    def each(a, index, g):
        gb = np.broadcast_to(g, (len(index),))
        for k in range(len(index)):
            a[index[k]] += gb[k]
    return each


@njit(cache=True)
def _add_one(a, i, g):
    a[i] += g


# --- reductions' and selections' rules ------------------------------------------------------------

def extremum_grad(g, ans, a, axis=None, keepdims=False):
    """The cotangent of `a` in np.max(a) / np.min(a) (`ans`): g where a attains it, ties sharing
    equally. numba: any `a` without axis; a matrix with axis 0, 1, -1 or -2."""
    return _np_rt.extremum_grad(g, ans, a, axis, keepdims)


@overload(extremum_grad)
def _extremum_grad(g, ans, a, axis=None, keepdims=False):
    if _is_number(a):
        return lambda g, ans, a, axis=None, keepdims=False: g + 0.0 * a
    if not _is_array(a):
        return None
    dtype = _float_dtype(a)
    if _absent(axis):
        def whole(g, ans, a, axis=None, keepdims=False):
            mask = a == ans
            return np.asarray(g / np.sum(mask) * mask, dtype)
        return whole
    if a.ndim != 2 or not isinstance(axis, types.Integer):
        return None

    def matrix(g, ans, a, axis=None, keepdims=False):
        rows, cols = a.shape
        along = _reduced(axis)
        gs = np.ascontiguousarray(np.asarray(g)).ravel()
        top = np.ascontiguousarray(np.asarray(ans)).ravel()
        out = np.zeros(a.shape, dtype)
        for k in range(rows if along == 1 else cols):
            count = 0
            for j in range(cols if along == 1 else rows):
                if (a[k, j] if along == 1 else a[j, k]) == top[k]:
                    count += 1
            for j in range(cols if along == 1 else rows):
                if along == 1 and a[k, j] == top[k]:
                    out[k, j] = gs[k] / count
                elif along == 0 and a[j, k] == top[k]:
                    out[j, k] = gs[k] / count
        return out
    return matrix


def clip_inside(a, lo, hi):
    """Where `a` lies within [lo, hi] (a bound may be None)."""
    return _np_rt.clip_inside(a, lo, hi)


@overload(clip_inside)
def _clip_inside(a, lo, hi):
    low, high = _absent(lo), _absent(hi)
    if low and high:
        if _is_array(a):
            return lambda a, lo, hi: np.ones(a.shape, np.bool_)
        return lambda a, lo, hi: True
    if low:
        return lambda a, lo, hi: a <= hi
    if high:
        return lambda a, lo, hi: a >= lo
    return lambda a, lo, hi: (a >= lo) & (a <= hi)


def cast_grad(g, ans):
    """A cast's cotangent: itself for a float result, zero for an integer or boolean one."""
    return _np_rt.cast_grad(g, ans)


@overload(cast_grad)
def _cast_grad(g, ans):
    kind = ans.dtype if isinstance(ans, types.Array) else ans
    if isinstance(kind, (types.Integer, types.Boolean)):
        return lambda g, ans: g * 0.0
    return lambda g, ans: g


# --- reductions along an axis (numba's np.max/np.min take no axis, its np.sum and np.mean no keepdims) --

def _along(reduce_row, to_float: bool):
    """The numba form of a reduction of a matrix along axis 0 or 1 (-2, -1), given how one row reduces
    (`to_float`: into float64, as a mean does, else into a's dtype)."""
    def impl(a, axis):
        across = _reduced(axis) == 1
        out = np.empty(a.shape[0] if across else a.shape[1], np.float64 if to_float else a.dtype)
        for k in range(out.size):
            out[k] = reduce_row(a[k, :] if across else a[:, k])
        return out
    return impl


@njit(cache=True)
def _max_row(v):
    return v.max()


@njit(cache=True)
def _min_row(v):
    return v.min()


@njit(cache=True)
def _sum_row(v):
    return v.sum()


@njit(cache=True)
def _mean_row(v):
    return v.mean()


_ROWS = {"max": _max_row, "min": _min_row, "sum": _sum_row, "mean": _mean_row}
_NUMPY = {"max": np.max, "min": np.min, "sum": np.sum, "mean": np.mean}


def _reduction(op: str, kept: bool):
    """`np.<op>(a, axis, keepdims=kept)` for numba: a matrix, along axis 0 or 1; a vector along axis 0."""
    def python(a, axis):
        return _NUMPY[op](a, axis=axis, keepdims=kept)
    python.__name__ = python.__qualname__ = f"{op}_{'kept' if kept else 'along'}"
    python.__doc__ = f"np.{op}(a, axis=axis{', keepdims=True' if kept else ''}) (numba: vectors and matrices)."
    python.__module__ = __name__
    row = _ROWS[op]
    along = njit(_along(row, op == "mean"))

    @overload(python)
    def _typed(a, axis):
        if not _is_array(a) or a.ndim > 2 or not isinstance(axis, types.Integer):
            return None
        if a.ndim == 1:
            if kept:
                return lambda a, axis: np.full(1, row(a))
            return lambda a, axis: row(a)
        if kept:
            def kept_impl(a, axis):
                out = along(a, axis)
                return out.reshape((a.shape[0], 1)) if _reduced(axis) == 1 else out.reshape((1, a.shape[1]))
            return kept_impl
        return lambda a, axis: along(a, axis)
    return python


max_along, max_kept = _reduction("max", False), _reduction("max", True)
min_along, min_kept = _reduction("min", False), _reduction("min", True)
sum_along, sum_kept = _reduction("sum", False), _reduction("sum", True)
mean_along, mean_kept = _reduction("mean", False), _reduction("mean", True)


def head(steps, n):
    """`steps[:n]` of a range (the trips a loop made before a `break`), which numba cannot slice."""
    return steps[:n]


@overload(head)
def _head(steps, n):
    if isinstance(steps, types.RangeType):
        return lambda steps, n: range(steps.start, steps.start + max(min(n, len(steps)), 0) * steps.step,
                                      steps.step)
    return lambda steps, n: steps[:n]


def item(steps, k):
    """`steps[k]` of a range, which numba cannot index."""
    return steps[k]


@overload(item)
def _item(steps, k):
    if isinstance(steps, types.RangeType):
        def from_range(steps, k):
            if k < 0:
                k += len(steps)
            if not 0 <= k < len(steps):
                raise IndexError("range object index out of range")
            return steps.start + k * steps.step
        return from_range
    return lambda steps, k: steps[k]


def copy(x):
    """np.copy(x) of an array; a number itself (numba's np.copy would make it a 0-d array)."""
    return np.copy(x)


@overload(copy)
def _copy(x):
    if _is_number(x):
        return lambda x: x
    if _is_array(x):
        return lambda x: np.copy(x)
    return None


def as_rank(g, x):
    """The cotangent `g` of `x` with at least x's number of dimensions: a number as an array of ones in
    every dimension, a smaller array with leading ones. The values and what they broadcast to are g's;
    numba then gives a cotangent one type where NumPy code lets it start as a number and become an
    array in a loop (`x_bar = out_bar`, then `x_bar = x_bar * np.cos(x)`)."""
    return g


@overload(as_rank)
def _as_rank(g, x):
    if not _is_array(x) or x.ndim == 0:
        return lambda g, x: g
    ones = (1,) * x.ndim
    if _is_number(g):
        dtype = _float_dtype(x)
        return lambda g, x: np.full(ones, g, dtype)
    if _is_array(g) and g.ndim < x.ndim:
        lead = (1,) * (x.ndim - g.ndim)
        return lambda g, x: np.ascontiguousarray(g).reshape(lead + g.shape)
    return lambda g, x: g


# --- in-place adds into a slice (numba's `a[1:] += e` is a slow generic path) -----------------------

@njit(cache=True)
def _span(a):
    """The lowest and one past the highest address an array's elements occupy."""
    lo = hi = a.ctypes.data
    for d in range(a.ndim):
        extent = (a.shape[d] - 1) * a.strides[d]
        if a.shape[d] == 0:
            return lo, lo
        if extent < 0:
            lo += extent
        else:
            hi += extent
    return lo, hi + a.itemsize


def add_into(view, e):
    """`view += e` for a slice `view` of an array (what `a[1:] += e` does): e may be a number or an array
    that broadcasts to the view; an `e` that overlaps the view's memory is copied first, as NumPy does."""
    view += e


@overload(add_into)
def _add_into(view, e):
    if not _is_array(view):
        return None
    if _is_number(e):
        if view.ndim == 1:
            def number(view, e):
                for i in range(view.shape[0]):
                    view[i] += e
            return number
        return lambda view, e: _add_broadcast(view, e)
    if not _is_array(e):
        return None
    if view.ndim == 1 and e.ndim == 1:
        def vector(view, e):
            lo, hi = _span(view)
            elo, ehi = _span(e)
            if elo < hi and lo < ehi:          # the same memory: read it before writing
                e = e.copy()
            if e.shape[0] == view.shape[0]:
                for i in range(view.shape[0]):
                    view[i] += e[i]
            elif e.shape[0] == 1:
                value = e[0]
                for i in range(view.shape[0]):
                    view[i] += value
            else:
                raise ValueError("operands could not be broadcast together")
        return vector

    def general(view, e):
        lo, hi = _span(view)
        elo, ehi = _span(e)
        _add_broadcast(view, e.copy() if elo < hi and lo < ehi else e)
    return general


@njit
def _add_broadcast(view, e):
    view += e


# --- more reductions' rules (without an axis) ------------------------------------------------------

def transpose_grad(g, axes=None):
    """The cotangent of `a` in np.transpose(a) / a.T. numba: without axes."""
    return _np_rt.transpose_grad(g, axes)


@overload(transpose_grad)
def _transpose_grad(g, axes=None):
    if not _absent(axes):
        return None
    if _is_number(g):
        return lambda g, axes=None: g
    return lambda g, axes=None: np.transpose(g)


def var_grad(g, a, axis=None, ddof=0, keepdims=False):
    """The cotangent of `a` in np.var(a, ddof=ddof). numba: without axis."""
    return _np_rt.var_grad(g, a, axis, ddof, keepdims)


@overload(var_grad)
def _var_grad(g, a, axis=None, ddof=0, keepdims=False):
    if not _absent(axis):
        return None
    if _is_number(a):
        return lambda g, a, axis=None, ddof=0, keepdims=False: g * 0.0
    if not _is_array(a):
        return None
    return lambda g, a, axis=None, ddof=0, keepdims=False: 2 * g * (a - np.mean(a)) / (a.size - ddof)


def std_grad(g, ans, a, axis=None, ddof=0, keepdims=False):
    """The cotangent of `a` in np.std(a, ddof=ddof) (`ans`). numba: without axis."""
    return _np_rt.std_grad(g, ans, a, axis, ddof, keepdims)


@overload(std_grad)
def _std_grad(g, ans, a, axis=None, ddof=0, keepdims=False):
    if not _absent(axis) or not _is_array(a):
        return None
    return lambda g, ans, a, axis=None, ddof=0, keepdims=False: g / ans * (a - np.mean(a)) / (a.size - ddof)


def norm_grad(g, ans, x, ord=None, axis=None, keepdims=False):
    """The cotangent of `x` in np.linalg.norm(x) (`ans`): g x / ans, 0 where the norm is 0. numba: the
    2-norm (Frobenius for a matrix) without axis."""
    return _np_rt.norm_grad(g, ans, x, ord, axis, keepdims)


@overload(norm_grad)
def _norm_grad(g, ans, x, ord=None, axis=None, keepdims=False):
    if not (_absent(ord) and _absent(axis)):
        return None
    if _is_number(x):
        return lambda g, ans, x, ord=None, axis=None, keepdims=False: 0.0 * g if ans == 0 else g * x / ans
    if not _is_array(x):
        return None
    return lambda g, ans, x, ord=None, axis=None, keepdims=False: (0.0 * g) * x if ans == 0 else g * x / ans


def cumsum_grad(g, a, axis=None):
    """The cotangent of `a` in np.cumsum(a): later sums, back to a's shape. numba: without axis."""
    return _np_rt.cumsum_grad(g, a, axis)


@overload(cumsum_grad)
def _cumsum_grad(g, a, axis=None):
    if not _absent(axis) or not _is_array(g):
        return None
    if _is_number(a):
        return lambda g, a, axis=None: np.sum(g)
    return lambda g, a, axis=None: np.ascontiguousarray(np.cumsum(np.ascontiguousarray(g).ravel()[::-1])[::-1]) \
        .reshape(a.shape)


def var_ddof(a, ddof):
    """np.var(a, ddof=ddof) (numba's np.var takes no ddof)."""
    return np.var(a, ddof=ddof)


@overload(var_ddof)
def _var_ddof(a, ddof):
    if not _is_array(a):
        return None
    return lambda a, ddof: np.sum((a - np.mean(a)) ** 2) / (a.size - ddof)


def std_ddof(a, ddof):
    """np.std(a, ddof=ddof) (numba's np.std takes no ddof)."""
    return np.std(a, ddof=ddof)


@overload(std_ddof)
def _std_ddof(a, ddof):
    if not _is_array(a):
        return None
    return lambda a, ddof: np.sqrt(np.sum((a - np.mean(a)) ** 2) / (a.size - ddof))


def sort_grad(g, a, axis=-1):
    """The cotangent of `a` in np.sort(a, axis): g put back where each sorted element came from.
    numba: a 1-D `a` (axis -1, 0 or None)."""
    return _np_rt.sort_grad(g, a, axis)


@overload(sort_grad)
def _sort_grad(g, a, axis=-1):
    if not _is_array(a, 1) or not (_absent(axis) or isinstance(axis, types.Integer)):
        return None
    dtype = _float_dtype(a)
    if _is_number(g):              # a cotangent standing for an array of one value
        return lambda g, a, axis=-1: np.full(a.shape, g, dtype)

    def vector(g, a, axis=-1):
        order = np.argsort(a, kind="mergesort")        # stable, as NumPy's helper
        gs = np.asarray(g)
        out = np.zeros(a.shape, dtype)
        for k in range(order.size):
            out[order[k]] = gs[k]
        return out
    return vector


def trace_grad(g, a, offset=0, axis1=0, axis2=1):
    """The cotangent of `a` in np.trace(a, offset): g on that diagonal. numba: a matrix, the default axes."""
    return _np_rt.trace_grad(g, a, offset, axis1, axis2)


@overload(trace_grad)
def _trace_grad(g, a, offset=0, axis1=0, axis2=1):
    if not _is_array(a, 2) or not all(t in (0, 1) or isinstance(t, types.Omitted) for t in (axis1, axis2)):
        return None            # (axes passed in: their values are not known while typing)
    dtype = _float_dtype(a)

    def matrix(g, a, offset=0, axis1=0, axis2=1):
        out = np.zeros(a.shape, dtype)
        r0, c0 = max(-offset, 0), max(offset, 0)
        for i in range(max(0, min(a.shape[0] - r0, a.shape[1] - c0))):
            out[r0 + i, c0 + i] = g
        return out
    return matrix


def prod_grad(g, ans, a, axis=None, keepdims=False):
    """The cotangent of `a` in np.prod(a): g times the product of the other elements (exact with zeros).
    numba: a number, or an array without axis."""
    return _np_rt.prod_grad(g, ans, a, axis, keepdims)


@overload(prod_grad)
def _prod_grad(g, ans, a, axis=None, keepdims=False):
    if not _absent(axis):
        return None
    if _is_number(a):
        return lambda g, ans, a, axis=None, keepdims=False: g + 0.0 * a
    if not _is_array(a):
        return None
    dtype = _float_dtype(a)

    def whole(g, ans, a, axis=None, keepdims=False):
        flat = np.ascontiguousarray(a).ravel()
        out = np.empty(flat.size, dtype)
        left = 1.0
        for k in range(flat.size):             # the product of the elements before k ...
            out[k] = left
            left *= flat[k]
        right = 1.0
        for k in range(flat.size - 1, -1, -1):  # ... times the product of those after it
            out[k] *= right
            right *= flat[k]
        return (out * g).reshape(a.shape)
    return whole


def concatenate_grad(g, arrays, axis=0):
    """The cotangents of the arrays of np.concatenate(arrays, axis): g cut back into their parts. numba:
    a list or tuple of arrays of one type, vectors (axis 0 or -1) or matrices (axis 0, 1, -1 or -2)."""
    return _np_rt.concatenate_grad(g, arrays, axis)


@overload(concatenate_grad)
def _concatenate_grad(g, arrays, axis=0):
    if not isinstance(arrays, (types.List, types.UniTuple)) or not _is_array(arrays.dtype) \
            or arrays.dtype.ndim > 2 or not _is_array(g, arrays.dtype.ndim):
        return None
    if not (axis == 0 or isinstance(axis, (types.Integer, types.Omitted))):
        return None                     # (axis=None: the flattened arrays)
    if arrays.dtype.ndim == 1:
        def vectors(g, arrays, axis=0):
            out = []
            start = 0
            for a in arrays:
                out.append(np.ascontiguousarray(g[start:start + a.shape[0]]))
                start += a.shape[0]
            return out
        return vectors

    def matrices(g, arrays, axis=0):
        along = _reduced(axis)
        out = []
        start = 0
        for a in arrays:
            k = a.shape[along]
            out.append(np.ascontiguousarray(g[start:start + k, :]) if along == 0
                       else np.ascontiguousarray(g[:, start:start + k]))
            start += k
        return out
    return matrices


@njit(cache=True)
def _landed_part(g, index):
    """g at the elements a write `x[index] = ...` into a vector set, one entry per index; 0 where a later
    index wrote the same element (NumPy's assignment: the last write to an element stays)."""
    n = g.shape[0]
    landed = np.full(n, -1, np.int64)
    for k in range(len(index)):
        landed[index[k] % n] = k
    part = np.zeros(len(index), g.dtype)
    for k in range(len(index)):
        i = index[k] % n
        if landed[i] == k:
            part[k] = g[i]
    return part


def assigned_grad(g, x, index, v):
    """The cotangent of v in `x[index] = v`: g[index], where an index repeats an element only at the write
    that landed (the last). numba: a vector x, a list or array of integers as the index, a number or a
    vector as v."""
    return _np_rt.assigned_grad(g, x, index, v)


@overload(assigned_grad)
def _assigned_grad(g, x, index, v):
    if not (_is_array(x, 1) and _is_array(g, 1)):
        return None
    if not (isinstance(index, types.List) and isinstance(index.dtype, types.Integer)
            or _is_array(index, 1) and isinstance(index.dtype, types.Integer)):
        return None
    if not (_is_number(v) or _is_array(v, 1)):
        return None
    if _is_number(v):
        return lambda g, x, index, v: np.sum(_landed_part(g, index))

    def vector(g, x, index, v):
        part = _landed_part(g, index)
        return np.full(1, np.sum(part), part.dtype) if v.shape[0] == 1 and part.shape[0] != 1 else part
    return vector


def stack_grad(g, arrays, axis=0):
    """The cotangents of the arrays of np.stack(arrays): g cut along its first axis. numba: arrays of one
    type, axis 0."""
    return _np_rt.stack_grad(g, arrays, axis)


@overload(stack_grad)
def _stack_grad(g, arrays, axis=0):
    if not (isinstance(arrays, types.List) and _is_array(arrays.dtype) or isinstance(arrays, types.BaseTuple)
            and all(_is_array(t) for t in arrays.types)) or not _is_array(g) or g.ndim < 2:
        return None                      # (numba stacks arrays only, not numbers; they may differ in layout)
    if not (axis == 0 or isinstance(axis, types.Omitted)):
        return None

    def parts(g, arrays, axis=0):
        out = []
        for k in range(len(arrays)):
            out.append(np.ascontiguousarray(g[k]))
        return out
    return parts


# --- NumPy functions numba takes arrays for only ---------------------------------------------------

def clip(a, lo, hi):
    """np.clip(a, lo, hi) (numba's takes no number as `a`). numba: a number or an array with number bounds;
    numba's own np.clip for the rest."""
    return np.clip(a, lo, hi)


@overload(clip)
def _clip(a, lo, hi):
    if (_is_number(a) or _is_array(a)) and _is_number(lo) and _is_number(hi):
        return lambda a, lo, hi: np.minimum(np.maximum(a, lo), hi)     # (NaN stays NaN, as np.clip's)
    return lambda a, lo, hi: np.clip(a, lo, hi)                         # numba's own, for the rest


def where(c, a, b):
    """np.where(c, a, b) (numba's takes no numbers). numba: numbers, or a condition array with numbers or
    arrays of its shape; numba's own np.where for the rest."""
    return np.where(c, a, b)


@overload(where)
def _where(c, a, b):
    if _is_number(c) and _is_number(a) and _is_number(b):
        return lambda c, a, b: a if c else b
    if not (_is_array(c) and (_is_number(a) or _is_array(a)) and (_is_number(b) or _is_array(b))):
        return lambda c, a, b: np.where(c, a, b)          # numba's own, for the rest
    if _is_number(a) and _is_number(b):               # (numba's own: arrays of the condition's shape)
        return lambda c, a, b: np.where(c, np.full(c.shape, a), np.full(c.shape, b))
    if _is_number(a):
        return lambda c, a, b: np.where(c, np.full(c.shape, a), b)
    if _is_number(b):
        return lambda c, a, b: np.where(c, a, np.full(c.shape, b))
    return lambda c, a, b: np.where(c, a, b)


def flip(a):
    """np.flip(a), every axis (numba's takes no number). numba: a number, a vector or a matrix; numba's own
    np.flip for the rest."""
    return np.flip(a)


@overload(flip)
def _flip(a):
    if _is_number(a):
        return lambda a: a
    if _is_array(a, 1):
        return lambda a: a[::-1]
    if _is_array(a, 2):
        return lambda a: a[::-1, ::-1]
    return lambda a: np.flip(a)


# --- NumPy's vectorised transcendental functions, for large float arrays ------------------------------
# numba computes np.tanh, np.exp, ... one element at a time through libm: 3-13x slower than NumPy's SIMD
# loops (measured on 10^6 float64: tanh 7x, exp 5x, log 4x; sin and cos alike, so not here). On a float
# array of LARGE elements or more the compiled code calls NumPy's own function (`_numpy`: about a
# microsecond to enter), which also gives NumPy's values to the last bit; below that, and on numbers,
# numba's.

LARGE = 1024
VECTORISED = ("tanh", "exp", "log", "log1p", "expm1", "log2", "log10", "exp2", "sinh", "cosh", "tan",
              "arctan", "arcsin", "arccos", "arcsinh", "arctanh", "cbrt")


def _vectorised(name: str):
    """The helper `name(a)`: np.<name>(a), NumPy's own loop on a large float array in compiled code."""
    ufunc = getattr(np, name)
    numpys = _numpy(ufunc, lambda a: types.Array(a.dtype, a.ndim, "C"), 1)

    def helper(a):
        return ufunc(a)

    def typed(a):
        if not (_is_array(a) and isinstance(a.dtype, types.Float)):
            return lambda a: ufunc(a)

        def big(a):
            if a.size < LARGE:
                return ufunc(a)
            return numpys(a)
        return big

    helper.__name__ = helper.__qualname__ = name
    helper.__doc__ = f"np.{name}(a); on a float array of {LARGE} elements or more, NumPy's vectorised loop."
    overload(helper)(typed)
    return helper


for _name in VECTORISED:
    globals()[_name] = _vectorised(_name)
