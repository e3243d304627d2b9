"""Array backends as data: the module generated code imports, and how to tell its arrays apart."""
from __future__ import annotations

from .errors import DifferentiationError

BACKENDS = {
    "numpy": {"module": "numpy", "alias": "np"},
    "cupy": {"module": "cupy", "alias": "cp"},
}


def require_cupy():
    """Import CuPy or raise a clear error saying how to install it."""
    try:
        import cupy
    except ImportError as exc:
        raise DifferentiationError(
            "backend='cupy' needs CuPy, which is not installed (or has no GPU driver): "
            "pip install 's2sad[cuda12]' (or [cuda13]); " + str(exc)) from None
    return cupy


def has_cupy() -> bool:
    """Whether CuPy imports and sees a GPU."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


# The array-module names generated code may call as `cp.<name>`: NumPy functions CuPy implements
# with the same signature (CuPy's API reference, "Routines"). tests/test_backends.py checks every
# generated CuPy file against it on machines without a GPU, and against the cupy module where it imports.
CUPY_NAMES = frozenset("""
abs absolute add add.at all any amax amin arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh
argmax argmin array asarray broadcast_to cbrt ceil clip concatenate copy cos cosh cumprod cumsum deg2rad
diag diagonal divide dot einsum equal exp exp2 expand_dims expm1 eye fabs flip float32 float64 floor
full full_like greater greater_equal hstack hypot inner isfinite isinf isnan less less_equal linalg.det
linalg.inv linalg.norm linalg.solve linspace log log10 log1p log2 logaddexp logical_and logical_not
logical_or matmul max maximum mean min minimum moveaxis multiply negative not_equal ones ones_like outer
power prod rad2deg ravel reciprocal reshape round s_ sign sin sinh sqrt square squeeze stack std subtract
sum swapaxes take tan tanh tile trace transpose var vstack where zeros zeros_like
float_power fmax fmin pi e degrees radians positive real imag shape size ndim
""".split())
