"""The CuPy backend: arrays on an NVIDIA GPU. Generated code calls `cp.` where NumPy's calls `np.`, reads
a branch condition back to the host once, and may call only the names in CUPY_NAMES."""
from __future__ import annotations

import types
from typing import Any, Callable

import numpy as np

from .base import Backend, read_conditions_once, refuse_scipy

# The CuPy names s2sad relies on: what generated code may call as `cp.<name>` and what the runtime
# helpers reach through NumPy's dispatch (NumPy functions CuPy implements with the same signature;
# CuPy's API reference, "Routines"). tests/backends/test_backends.py checks every generated CuPy file against it
# on machines without a GPU, and the list against the cupy module where it imports; tests/fake_cupy.py
# offers exactly these names.
CUPY_NAMES = frozenset("""
abs absolute add add.at all amax amin any arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax
argmin argsort array array_split asarray ascontiguousarray atleast_1d atleast_2d average bitwise_and
bitwise_or broadcast_arrays broadcast_to cbrt ceil clip concatenate copy cos cosh cross cumprod cumsum deg2rad
degrees diag diagonal diff divide dot e einsum empty empty_like equal exp exp2 expand_dims expm1 eye fabs flip
float32 float64 float_power floor floor_divide fmax fmin fmod full full_like greater greater_equal hstack
hypot imag inner int32 int64 isfinite isinf isnan kron less less_equal linalg.cholesky linalg.det linalg.eigh
linalg.eigvalsh linalg.inv linalg.matrix_power linalg.norm linalg.pinv linalg.qr linalg.slogdet linalg.solve
linalg.svd linspace log log10 log1p log2 logaddexp logical_and logical_not logical_or logical_xor matmul max
maximum mean min minimum mod moveaxis multiply nan_to_num ndim negative not_equal ones ones_like outer pi
polyval positive power prod rad2deg radians ravel real reciprocal remainder repeat reshape result_type roll
round s_ shape sign sin sinc sinh size sort split sqrt square squeeze stack std subtract sum swapaxes take
take_along_axis tan tanh tensordot tile trace transpose tril triu true_divide var vstack where zeros
zeros_like
atleast_3d dsplit fliplr flipud hsplit interp logaddexp2 median pad percentile quantile rot90 searchsorted vsplit
angle conj conjugate fft.fft fft.fft2 fft.fftn fft.fftshift fft.ifft fft.ifft2 fft.ifftn fft.ifftshift fft.irfft
fft.irfft2 fft.irfftn fft.rfft fft.rfft2 fft.rfftn linalg.lstsq
""".split())

# NumPy functions with a derivative rule that generated CuPy code may not call (they are outside
# CUPY_NAMES). All have a zero or no derivative; to support one, add it to CUPY_NAMES, which makes
# tests/fake_cupy.py offer it and tests/backends/test_backends.py check it against real CuPy.
_UNTESTED = "no test runs it on CuPy arrays (tests/fake_cupy.py offers CUPY_NAMES only)"
GAPS = types.MappingProxyType({
    **dict.fromkeys(("allclose", "array_equal", "isclose"), f"a boolean test of whole arrays; {_UNTESTED}"),
    **dict.fromkeys(("count_nonzero", "nonzero"), f"integer output; {_UNTESTED}"),
    **dict.fromkeys(("around", "fix", "rint", "trunc", "heaviside"), f"piecewise constant; {_UNTESTED}"),
    "identity": f"a constructor (cp.eye serves); {_UNTESTED}",
})


class CuPyBackend(Backend):
    """CuPy: device arrays; NumPy arguments are copied to the GPU, results stay there."""

    name = "cupy"
    module = "cupy"
    alias = "cp"
    title = "CuPy"
    names = CUPY_NAMES
    gaps = GAPS
    needs_device = True
    takes_numbers = False          # cp.log(2.0) fails: its non-ufunc functions want arrays
    printer = "CuPyPrinter"

    def missing(self) -> str:
        """Not installed, or installed without a usable GPU (with how to install it)."""
        try:
            import cupy
        except ImportError as exc:
            return ("backend='cupy' needs CuPy, which is not installed: on an NVIDIA machine, "
                    f"pip install 's2sad[cuda12]' (or [cuda13]) ({exc})")
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:
            count, why = 0, f"{type(exc).__name__}: {exc}"
        else:
            why = "no device found"
        if count:
            return ""
        return (f"backend='cupy' needs a GPU, but CuPy {getattr(cupy, '__version__', '')} cannot reach one "
                f"({why}); check the NVIDIA driver, or that the CuPy package matches your CUDA version "
                "('s2sad[cuda12]' or '[cuda13]')")

    def to_device(self, values: list) -> list:
        if not any(type(v) is np.ndarray for v in values):
            return values
        cp = self.load()
        return [cp.asarray(v) if type(v) is np.ndarray else v for v in values]

    def to_host(self, value: Any) -> Any:
        return value.get() if self.owns(value) and hasattr(value, "get") else value

    def lower(self, stmts: list, user_names: set[str] = frozenset()) -> list:
        """`np.` becomes `cp.`, and a branch condition the code tests again later is read back from the
        device once, where it is computed (base.read_conditions_once)."""
        refuse_scipy(stmts, self.title)
        super().lower(stmts, user_names)
        read_conditions_once(stmts, user_names)
        return stmts

    def like(self, g: Any, x: Any) -> Any:
        """An array of x's shape and (float) dtype, made on the device, contiguous."""
        cp = self.load()
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if type(g) is not cp.ndarray:                    # a number standing for every element
            return cp.full(x.shape, g, dtype=dtype)
        if g.shape != x.shape:
            g = cp.broadcast_to(g, x.shape)
        elif g.dtype == dtype and (g.size <= 1 or 0 not in g.strides):
            return g
        return cp.ascontiguousarray(g, dtype=dtype)     # a broadcast view, or another dtype: a copy

    def synchronized(self, call: Callable[[], Any]) -> Callable[[], Any]:
        """`call` followed by a wait for the GPU to finish, so that a timing covers the work it queued."""
        device = self.load().cuda.Device()

        def run():
            out = call()
            device.synchronize()
            return out
        return run


BACKEND = CuPyBackend()
