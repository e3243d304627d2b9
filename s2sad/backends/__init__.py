"""Array backends, one object each (backends/base.py says what one is), in a registry.

A backend is one module here (numpy.py, cupy.py, dask.py, numba.py) plus one `register` line below. The rest of s2sad asks
the registry (`get(name)`, `of(args)`, `owner(x)`) and the backend it returns; a few shorthands at the
end serve the calls the API and the approaches make on every argument.
"""
from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from typing import Any, Callable

import numpy as _np

from ..errors import DifferentiationError
from . import cupy as _cupy, dask as _dask, numba as _numba, numpy as _numpy
from .base import Backend, BackendWarning
from .cupy import CUPY_NAMES

__all__ = ["Backend", "BackendWarning", "REGISTRY", "DEFAULT", "register", "unregister", "get", "names", "of",
           "owner", "foreign", "lazy", "size_of", "for_module", "device_modules", "host_only", "ALIASES", "CUPY_NAMES"]

REGISTRY: dict[str, Backend] = {}
DEFAULT: Backend = _numpy.BACKEND        # the backend of host values and of anything no other backend owns
_OTHERS: tuple[Backend, ...] = ()        # the registered backends with arrays of their own, but the default
_OTHER_MODULES: tuple[str, ...] = ()     # their modules' import names
ALIASES: frozenset[str] = frozenset()    # what generated code calls the registered modules ("np", "cp")


def register(backend: Backend) -> Backend:
    """Add `backend` to the registry (replacing one of the same name); returns it. Its module and alias
    must be its own. Register here, below (generated code reserves the aliases known at import)."""
    for attr in ("name", "module", "alias"):
        if not isinstance(getattr(backend, attr, None), str) or not getattr(backend, attr):
            raise ValueError(f"a backend needs a `{attr}` string, {backend!r} has none")
    for b in REGISTRY.values():
        if b.name != backend.name and (b.module == backend.module or b.alias == backend.alias
                                       and b.array_module != backend.array_module):
            raise ValueError(f"{backend!r} shares its module or alias with {b!r}")
    REGISTRY[backend.name] = backend
    _reindex()
    return backend


def unregister(name: str) -> Backend:
    """Remove the backend called `name` (not the default) from the registry; returns it."""
    b = get(name)
    if b is DEFAULT:
        raise ValueError(f"the default backend {name!r} stays registered")
    del REGISTRY[name]
    _reindex()
    return b


def _reindex() -> None:
    global _OTHERS, _OTHER_MODULES, ALIASES
    _OTHERS = tuple(b for b in REGISTRY.values() if b is not DEFAULT and b.own_arrays)
    _OTHER_MODULES = tuple(b.module for b in _OTHERS)
    ALIASES = frozenset(b.alias for b in REGISTRY.values())


register(_numpy.BACKEND)
register(_cupy.BACKEND)
register(_dask.BACKEND)
register(_numba.BACKEND)


def names() -> tuple[str, ...]:
    """The registered backends' names, in registration order."""
    return tuple(REGISTRY)


def get(name: str) -> Backend:
    """The backend called `name`; a DifferentiationError listing the known ones for any other name."""
    b = REGISTRY.get(name) if isinstance(name, str) else None
    if b is None:
        raise DifferentiationError(f"unknown backend {name!r}: the backends are "
                                   + ", ".join(repr(n) for n in REGISTRY))
    return b


def owner(x: Any) -> Backend:
    """The backend whose array `x` is (the default for numbers, lists and NumPy arrays)."""
    for b in _OTHERS:
        if b.owns(x):
            return b
    return DEFAULT


def of(args: Iterable) -> Backend:
    """The backend of the first non-default array among `args` (only backends already imported can have
    arrays there), else the default."""
    if host_only():
        return DEFAULT
    loaded = [b for b in _OTHERS if b.imported()]
    for a in args:
        for b in loaded:
            if b.owns(a):
                return b
    return DEFAULT


def for_module(module: str) -> Backend:
    """The backend whose array module is imported as `module` ("numpy", "cupy"): the first registered."""
    for b in REGISTRY.values():
        if b.array_module == module:
            return b
    raise DifferentiationError(f"no backend imports {module!r}: the backends are "
                               + ", ".join(repr(n) for n in REGISTRY))


def device_modules() -> tuple[str, ...]:
    """The module names of the backends other than the default (their arrays need the full path)."""
    return _OTHER_MODULES


def host_only() -> bool:
    """Whether no other backend's module is imported, so every array about is the default's."""
    modules = sys.modules
    for m in _OTHER_MODULES:
        if m in modules:
            return False
    return True


# --- shorthands the rest of s2sad calls -----------------------------------------------------------

def missing_cupy() -> str:
    """Why CuPy cannot run here ("" when it can): not installed, or installed without a usable GPU."""
    return _cupy.BACKEND.missing()


def is_cupy(x: Any) -> bool:
    """Whether `x` is a CuPy array (or scalar): its type comes from the cupy package."""
    return _cupy.BACKEND.owns(x)


def foreign(x: Any) -> bool:
    """Whether `x` is an array of a backend other than the default (CuPy, dask)."""
    if host_only():
        return False
    for b in _OTHERS:
        if b.owns(x):
            return True
    return False


def size_of(x: Any) -> int:
    """The number of elements of `x` (an array of any backend, a number, a list), read from its shape:
    np.size would hand a dask array to NumPy, which computes it."""
    n = getattr(x, "size", None)
    return n if type(n) is int else int(_np.size(x))


def lazy(x: Any) -> bool:
    """Whether `x` is an array of a lazy backend (dask): its values exist only once computed."""
    if host_only():
        return False
    for b in _OTHERS:
        if b.lazy and b.owns(x):
            return True
    return False


def module_of(x: Any) -> types.ModuleType:
    """The array module of `x`'s backend (so that arrays made for `x` are made where it lives)."""
    for b in _OTHERS:
        if b.owns(x):
            return b.load()
    return _np


def to_device(values: list) -> list:
    """`values` with each NumPy array copied to the GPU (CuPy code cannot read host arrays)."""
    return _cupy.BACKEND.to_device(values)


def to_host(value: Any) -> Any:
    """A device array copied to a NumPy one (an explicit transfer, for reports); anything else as it is."""
    return owner(value).to_host(value)


def synchronized(call: Callable[[], Any]) -> Callable[[], Any]:
    """`call` followed by a wait for the GPU to finish, so that a timing covers the work it queued."""
    return _cupy.BACKEND.synchronized(call)
