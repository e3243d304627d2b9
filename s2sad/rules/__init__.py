"""Derivative rules as data. `RULES` maps a primitive's key to its Rule; see table.py."""
from . import numpy as _numpy, operators as _operators, runtime as _runtime, scalars as _scalars  # noqa: F401
from .table import RULES, Param, Rule, alias, nondiff, rule

__all__ = ["RULES", "Param", "Rule", "alias", "nondiff", "rule"]
