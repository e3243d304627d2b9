"""Derivative rules as data. `RULES` maps a primitive's key to its Rule; see table.py."""
from . import numpy as _numpy, operators as _operators, runtime as _runtime, scalars as _scalars  # noqa: F401
from . import fft as _fft, special as _special  # noqa: F401
from . import batching as _batching  # noqa: F401  (after the tables: it marks their rules)
from .runtime import RUNS_USER_CODE
from .table import RULES, Param, Rule, alias, builtin_loaded, fingerprint, flagged, nondiff, rule, shape_arg, version

__all__ = ["RULES", "RUNS_USER_CODE", "Param", "Rule", "alias", "fingerprint", "flagged", "nondiff", "rule",
           "shape_arg", "version"]

builtin_loaded()
