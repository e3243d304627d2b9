"""Array backends as data: the module generated code imports (and its alias), the CuPy names s2sad
relies on, the pass that turns generated NumPy statements into CuPy ones, and how to tell arrays apart
and move them."""
from __future__ import annotations

import ast
import re
import sys

import numpy as np

from ..errors import DifferentiationError

BACKENDS = {
    "numpy": {"module": "numpy", "alias": "np"},
    "cupy": {"module": "cupy", "alias": "cp"},
}


_CONDITION = re.compile(r"cond\d+")      # the names normalize gives `if` tests it computes


def for_backend(stmts: list, backend: str, user_names: set[str] = frozenset()) -> list:
    """Generated statements for `backend`, in place: for CuPy, `np.` becomes `cp.`, and a branch
    condition the code tests again later (`cond1`, in the reverse sweep) is read back from the device
    once, as a Python bool, where it is computed (`cond1 = bool(cp.sum(b) > 0)`)."""
    if backend != "cupy":
        return stmts
    alias = BACKENDS[backend]["alias"]
    tested = set()
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and n.id == "np":
                n.id = alias
            elif isinstance(n, ast.If):
                test = n.test.operand if isinstance(n.test, ast.UnaryOp) else n.test
                if isinstance(test, ast.Name) and _CONDITION.fullmatch(test.id) and test.id not in user_names:
                    tested.add(test.id)
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                    and n.targets[0].id in tested and _may_be_array(n.value):
                n.value = ast.Call(func=ast.Name(id="bool", ctx=ast.Load()), args=[n.value], keywords=[])
    return stmts


def _may_be_array(value: ast.expr) -> bool:
    """Whether a condition's value may be a device array (not a constant, a `not`, a name or a bool())."""
    if isinstance(value, (ast.Constant, ast.Name)) or isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return False
    return not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "bool")


class BackendWarning(UserWarning):
    """backend="cupy" was asked for where CuPy cannot run (said when the gradient is made)."""


def missing_cupy() -> str:
    """Why CuPy cannot run here ("" when it can): not installed, or installed without a usable GPU."""
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
    return (f"backend='cupy' needs a GPU, but CuPy {getattr(cupy, '__version__', '')} cannot reach one ({why}); "
            "check the NVIDIA driver, or that the CuPy package matches your CUDA version "
            "('s2sad[cuda12]' or '[cuda13]')")


def require_cupy():
    """The cupy module, or a clear DifferentiationError saying what is missing and how to install it."""
    why = missing_cupy()
    if why:
        raise DifferentiationError(why)
    import cupy
    return cupy


def is_cupy(x) -> bool:
    """Whether `x` is a CuPy array (or scalar): its type comes from the cupy package."""
    return type(x).__module__.split(".")[0] == "cupy"


def backend_of(args) -> str:
    """"cupy" when a CuPy array is among `args` (CuPy imported), else "numpy"."""
    return "cupy" if "cupy" in sys.modules and any(is_cupy(a) for a in args) else "numpy"


def module_of(x):
    """The array module of `x`: NumPy, or CuPy for a CuPy array (so that arrays made for `x` are made
    where it lives)."""
    return sys.modules["cupy"] if is_cupy(x) else np


def module(backend: str):
    """The array module of `backend` (CuPy imported on demand)."""
    if backend == "cupy":
        return sys.modules.get("cupy") or require_cupy()
    return np


def to_device(values: list) -> list:
    """`values` with each NumPy array copied to the GPU (CuPy code cannot read host arrays)."""
    if not any(type(v) is np.ndarray for v in values):
        return values
    cp = sys.modules["cupy"]
    return [cp.asarray(v) if type(v) is np.ndarray else v for v in values]


def to_host(value):
    """A CuPy array copied to a NumPy one (an explicit transfer, for reports); anything else as it is."""
    return value.get() if is_cupy(value) and hasattr(value, "get") else value


def synchronized(call):
    """`call` followed by a wait for the GPU to finish, so that a timing covers the work it queued."""
    device = sys.modules["cupy"].cuda.Device()

    def run():
        out = call()
        device.synchronize()
        return out
    return run


def has_cupy() -> bool:
    """Whether CuPy imports and sees a GPU."""
    return not missing_cupy()


# The CuPy names s2sad relies on: what generated code may call as `cp.<name>` and what the runtime
# helpers reach through NumPy's dispatch (NumPy functions CuPy implements with the same signature;
# CuPy's API reference, "Routines"). tests/test_backends.py checks every generated CuPy file against it
# on machines without a GPU, and the list against the cupy module where it imports; tests/fake_cupy.py
# offers exactly these names.
CUPY_NAMES = frozenset("""
abs absolute add add.at all amax amin any arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh
argmax argmin argsort array array_split asarray ascontiguousarray atleast_1d atleast_2d bitwise_and
bitwise_or broadcast_arrays broadcast_to cbrt ceil clip concatenate copy cos cosh cumprod cumsum deg2rad
degrees diag diagonal divide dot e einsum empty empty_like equal exp exp2 expand_dims expm1 eye fabs
flip float32 float64 float_power floor floor_divide fmax fmin fmod full full_like greater greater_equal
hstack hypot imag inner int32 int64 isfinite isinf isnan less less_equal linalg.det linalg.inv linalg.norm
linalg.solve linalg.svd linspace log log10 log1p log2 logaddexp logical_and logical_not logical_or
logical_xor matmul max maximum mean min minimum mod moveaxis multiply ndim negative not_equal ones
ones_like outer pi positive power prod rad2deg radians ravel real reciprocal remainder reshape
result_type round s_ shape sign sin sinh size sort split sqrt square squeeze stack std subtract sum
swapaxes take take_along_axis tan tanh tensordot tile trace transpose true_divide var vstack where zeros zeros_like
""".split())
