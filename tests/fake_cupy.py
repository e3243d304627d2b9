"""A strict stand-in for CuPy, backed by NumPy, so that the CuPy code paths run on machines without a GPU.

It keeps the parts of CuPy's behaviour that generated code can get wrong:
- `fake_cupy.ndarray` is not a NumPy array, and its module is "cupy" (as `cupy.ndarray`'s is);
- implicit conversion to NumPy fails (`np.asarray(x)` raises TypeError, as in CuPy); mixing it with a
  NumPy array in an operation or a `cp.` call raises TypeError ("Unsupported type");
- reductions and integer indexing give 0-d arrays, not scalars;
- NumPy functions called on it dispatch (`__array_function__`, `__array_ufunc__`) to the `cp.` function
  of the same name, and fail where CuPy has none (only the names in `s2sad.backends.CUPY_NAMES` exist);
- device-to-host traffic is counted: `TRAFFIC["to_host"]` (`.get()`, `cp.asnumpy`) and `TRAFFIC["syncs"]`
  (`bool()`, `float()`, `int()`, `.item()`, `.tolist()`: what Python control flow reads back).

`install(monkeypatch)` puts it in `sys.modules["cupy"]` for one test.
"""
from __future__ import annotations

import sys
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from s2sad.backends import CUPY_NAMES

TRAFFIC = {"to_host": 0, "syncs": 0}


def reset() -> None:
    TRAFFIC.update(to_host=0, syncs=0)


def _unsupported(x) -> TypeError:
    return TypeError(f"Unsupported type {type(x)}")


def _unwrap(x):
    """NumPy values for a call on the host; a NumPy array here is a host array leaking into device code."""
    t = type(x)
    if t is ndarray:
        return x._a
    if t is np.ndarray:
        raise _unsupported(x)
    if t is list or t is tuple:
        return t(_unwrap(v) for v in x)
    return x


def _wrap(r):
    if type(r) is np.ndarray:
        return ndarray(r)
    if isinstance(r, np.generic) and not isinstance(r, np.dtype):
        return ndarray(np.asarray(r))            # CuPy gives 0-d arrays where NumPy gives scalars
    if isinstance(r, tuple):                     # named tuples (NumPy's SVDResult) too, as CuPy's plain ones
        return tuple(_wrap(v) for v in r)
    if type(r) is list:
        return [_wrap(v) for v in r]
    return r


# Where an array goes, CuPy's ufuncs take Python numbers too, and so do the constructors and a few
# functions that convert (atleast_1d, concatenate, ...); its other functions want a cupy.ndarray
# (`cp.sum(0.5)` fails: "'float' object has no attribute 'sum'"), and `cp.stack` a sequence of them.
# tests/backends/test_backends.py checks this against the real cupy module where it imports.
TAKES_NUMBERS = frozenset("""asarray array shape ndim result_type zeros ones empty full eye arange linspace
atleast_1d atleast_2d broadcast_arrays concatenate hstack vstack real imag round sinc""".split())
SEQUENCES = frozenset({"stack"})


def _operands(name: str, args: tuple) -> tuple:
    if name in TAKES_NUMBERS or not args:
        return ()
    if name == "einsum":
        return args[1:]
    if name in SEQUENCES and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return args[:1]


def _lift(fn, name: str, strict: bool = True):
    def call(*args, **kwargs):
        if strict:
            for a in _operands(name, args):
                if type(a) is not ndarray:
                    raise TypeError(f"cupy.{name}: argument 'a' has incorrect type (expected cupy.ndarray, "
                                    f"got {type(a).__name__})")
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
    call.__name__ = call.__qualname__ = name
    return call


class _Ufunc:
    """`cp.add` and friends: callable, with `.at`, `.reduce`, `.outer`, `.accumulate`."""

    def __init__(self, uf: np.ufunc):
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin, self.nout = uf.nin, uf.nout

    def __call__(self, *args, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            out = out if isinstance(out, tuple) else (out,)
            kwargs["out"] = _unwrap(out)
        r = self._uf(*_unwrap(args), **{k: (_unwrap(v) if k != "out" else v) for k, v in kwargs.items()})
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(r)

    def at(self, a, indices, b=None):
        if type(a) is not ndarray:
            raise _unsupported(a)
        self._uf.at(a._a, _unwrap(indices), *(() if b is None else (_unwrap(b),)))

    def reduce(self, *args, **kwargs):
        return _lift(self._uf.reduce, "reduce", strict=False)(*args, **kwargs)

    def accumulate(self, *args, **kwargs):
        return _lift(self._uf.accumulate, "accumulate", strict=False)(*args, **kwargs)

    def outer(self, *args, **kwargs):
        return _lift(self._uf.outer, "outer", strict=False)(*args, **kwargs)


class ndarray(NDArrayOperatorsMixin):
    """A device array: a NumPy array that refuses to be one."""

    __slots__ = ("_a",)
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, a):
        if type(a) is not np.ndarray:
            raise TypeError("fake_cupy.ndarray wraps a NumPy array")
        self._a = a

    # -- what CuPy refuses ---------------------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        uf = getattr(MODULE, ufunc.__name__, None)
        if not isinstance(uf, _Ufunc):
            return NotImplemented
        if method == "__call__":
            return uf(*inputs, **kwargs)
        return getattr(uf, method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        target = MODULE
        sub = func.__module__.split(".")[1:] if func.__module__ else []
        for part in sub:
            if part in ("linalg",):
                target = getattr(target, part)
        impl = getattr(target, func.__name__, None)
        if impl is None:
            return NotImplemented
        return impl(*args, **kwargs)

    # -- reading back to the host ---------------------------------------------------------------------
    def get(self):
        TRAFFIC["to_host"] += 1
        return self._a.copy()

    def item(self):
        TRAFFIC["syncs"] += 1
        return self._a.item()

    def tolist(self):
        TRAFFIC["syncs"] += 1
        return self._a.tolist()

    def __bool__(self):
        TRAFFIC["syncs"] += 1
        return bool(self._a)

    def __float__(self):
        TRAFFIC["syncs"] += 1
        return float(self._a)

    def __int__(self):
        TRAFFIC["syncs"] += 1
        return int(self._a)

    def __complex__(self):
        TRAFFIC["syncs"] += 1
        return complex(self._a)

    # -- the array protocol ---------------------------------------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def T(self):
        return ndarray(self._a.T)

    @property
    def real(self):
        return ndarray(self._a.real)

    @property
    def imag(self):
        return ndarray(self._a.imag)

    @property
    def flags(self):
        return self._a.flags

    @property
    def strides(self):
        return self._a.strides

    @property
    def itemsize(self):
        return self._a.itemsize

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def base(self):
        return None if self._a.base is None else ndarray(np.asarray(self._a.base))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return _lift(attr, name, strict=False)
        return _wrap(attr)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        self._a[_index(key)] = _unwrap(value)

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __matmul__(self, other):
        return MODULE.matmul(self, other)

    def __rmatmul__(self, other):
        return MODULE.matmul(other, self)


ndarray.__module__ = "cupy"


def _index(key):
    t = type(key)
    if t is ndarray:
        return key._a
    if t is tuple:
        return tuple(_index(k) for k in key)
    return key


def _host(a):
    """A nested sequence of numbers, host and device arrays, as NumPy values (CuPy builds arrays from
    such sequences)."""
    t = type(a)
    if t is ndarray:
        return a._a
    if t is list or t is tuple:
        return [_host(v) for v in a]
    return a


def asarray(a, dtype=None, order=None):
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == dtype else ndarray(a._a.astype(dtype))
    return ndarray(np.array(_host(a), dtype=dtype, copy=True))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    return ndarray(np.array(_host(a), dtype=dtype, copy=True, ndmin=ndmin))


def asnumpy(a):
    if type(a) is ndarray:
        return a.get()
    return np.asarray(a)


def get_array_module(*args):
    return MODULE if any(type(a) is ndarray for a in args) else np


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDeviceProperties(i):
        return {"name": b"fake_cupy (NumPy on the CPU)"}


class _Device:
    def __init__(self, i=0):
        self.id = i

    def synchronize(self):
        pass


def _build() -> types.ModuleType:
    mod = types.ModuleType("cupy", "fake_cupy: NumPy pretending to be CuPy (tests only)")
    mod.__fake__ = True
    mod.__version__ = "0.fake"
    linalg = types.ModuleType("cupy.linalg")
    for dotted in sorted(CUPY_NAMES):
        parts = dotted.split(".")
        if parts[-1] == "at" or dotted in ("asarray", "array"):     # ufunc methods; built below
            continue
        obj = np
        for p in parts:
            obj = getattr(obj, p)
        if isinstance(obj, np.ufunc):
            value = _Ufunc(obj)
        elif callable(obj) and not isinstance(obj, type) and dotted != "s_":
            value = _lift(obj, parts[-1])
        else:
            value = obj                                   # dtypes, pi, e, s_
        setattr(linalg if parts[0] == "linalg" else mod, parts[-1], value)
    mod.linalg = linalg
    for name in ("float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32",
                 "int64", "uint8", "bool_", "intp", "dtype", "newaxis", "inf", "nan", "pi", "e"):
        setattr(mod, name, getattr(np, name))
    mod.ndarray = ndarray
    mod.asarray = asarray
    mod.array = array
    mod.asnumpy = asnumpy
    mod.get_array_module = get_array_module
    mod.cuda = types.SimpleNamespace(runtime=_Runtime(), Device=_Device, get_device_id=lambda: 0)
    return mod


MODULE = _build()


def install(monkeypatch) -> types.ModuleType:
    """Make `import cupy` give the fake for one test (and s2sad's memory cache forget CuPy modules)."""
    from s2sad.codegen import cache
    monkeypatch.setitem(sys.modules, "cupy", MODULE)
    cache.memory_clear()
    reset()
    return MODULE

