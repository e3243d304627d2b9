"""s2sad: source-to-source automatic differentiation for Python and NumPy.

`grad(f)` reads f's source, writes a new Python function that computes its gradient (readable, under
`generated/`), compiles it and returns it. See README.md and the public contract (API.md).
"""
from ._version import __version__
from .api.family import hessian, hvp, jacobian, jvp, vjp
from .api.transforms import grad, stop_gradient, value_and_grad
from .api.vmap import vmap
from .approaches.compare import compare          # (SymPy is imported only when compare runs)
from .errors import DifferentiationError, NonDifferentiableError, NonScalarOutputError, UnsupportedSyntaxError
from .rules.custom import defjvp, defvjp

__all__ = [
    "grad", "value_and_grad", "stop_gradient", "jvp", "hvp", "vjp", "jacobian", "hessian", "vmap", "defvjp", "defjvp", "compare",
    "DifferentiationError", "UnsupportedSyntaxError", "NonDifferentiableError", "NonScalarOutputError",
    "numerical", "symbolic", "testing", "extend", "__version__",
]

# submodules a user reaches as attributes (`s2sad.symbolic.grad(f)`), loaded on first use (PEP 562)
_LAZY = {"numerical": "approaches.numerical", "symbolic": "approaches.symbolic", "testing": "testing",
         "extend": "extend"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
