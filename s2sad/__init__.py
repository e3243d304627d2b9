"""s2sad: source-to-source automatic differentiation for Python and NumPy.

`grad(f)` reads f's source, writes a new Python function that computes its gradient (readable, under
`generated/`), compiles it and returns it. See README.md and the public contract (API.md).
"""
__version__ = "0.1.0"

from .api import grad, stop_gradient, value_and_grad  # noqa: E402
from .family import hessian, jacobian, jvp, vjp  # noqa: E402
from .custom import defjvp, defvjp  # noqa: E402
from .compare import compare  # noqa: E402  (SymPy is imported only when compare runs)
from .errors import (  # noqa: E402
    DifferentiationError,
    NonDifferentiableError,
    NonScalarOutputError,
    UnsupportedSyntaxError,
)

__all__ = [
    "grad", "value_and_grad", "stop_gradient", "jvp", "vjp", "jacobian", "hessian", "defvjp", "defjvp", "compare",
    "DifferentiationError", "UnsupportedSyntaxError", "NonDifferentiableError", "NonScalarOutputError",
]
