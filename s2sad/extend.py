"""Extending s2sad: derivative rules for functions it does not know, and new array backends.

In short::

    from s2sad import extend
    extend.rule("np.logaddexp2", "x, y", x="g * np.exp2(x - ans)", y="g * np.exp2(y - ans)",
                elementwise=True)                 # a NumPy function: one row, as in s2sad/rules/numpy.py
    extend.defvjp(my_fun, lambda g, ans, x: ...)   # a Python function of your own: its VJP (and defjvp)
    extend.register_backend(MyBackend())           # an array module: see s2sad/backends/base.py

A rule registered here is part of the cache key of every generated file, so changing it regenerates
what was made with the old one. The template language (g, ans, the parameters; `forward=` for tangent
templates in t) is described in s2sad/rules/table.py.
"""
from __future__ import annotations

from .backends import Backend, register as register_backend
from .rules.custom import defjvp, defvjp
from .rules.table import alias, nondiff, rule

__all__ = ["rule", "nondiff", "alias", "defvjp", "defjvp", "Backend", "register_backend"]
