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
