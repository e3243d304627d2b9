"""What a transformation differentiates, and the compiled code of each, looked up once per function.

A `Target` is a function with source (the user's, or a transformation's generated code), how to build
its full argument list from the user's arguments, and which element of its returned tuple is the
output. `compiled_jvp` and `grad_of` give a target's forward- and reverse-mode code, memoised per
function object (a new function object is a new entry; code whose names now refer to other functions
is compiled again). The runtime's recursion rules reach the compiler through the hooks installed here.
"""
from __future__ import annotations

import inspect
import linecache
import weakref
from dataclasses import dataclass
from typing import Callable

from .. import backends, rules
from ..analysis import aliasing
from ..codegen import pipeline as compiler
from ..rules import custom
from ..runtime import hooks
from .convert import as_float, check_real, complex_step, is_complex

@dataclass
class Target:
    """What a transformation differentiates: a function with source, how to build its full argument
    list from the user's arguments, and which element of its returned tuple is the output."""

    fn: Callable
    expand: Callable[[tuple, dict], list]
    select: tuple[int, ...] | None
    label: str
    code: compiler.Compiled | None = None     # a transformation's code, when `fn` is all of it (its freshness)
    # the arguments `expand` puts after the user's own, read again at each call (None when a complex
    # value is among them), when the full list is the user's arguments and then these: jvp's fast way in
    tail: Callable[[], list | None] | None = None


def no_tail() -> list:
    """A target called with the user's arguments and nothing more."""
    return []


@dataclass
class BatchTarget:
    """What vmap batches for a transformation: its generated function `fn`, the arguments `full` it is
    called with (leaf by leaf, then its free values), which of them each user argument became
    (`spans`, `structures` for containers), the element of the returned tuple that is the output
    (`select`), and `finish`, which turns the batched output into the transformation's."""

    fn: Callable
    full: list
    spans: list
    structures: dict
    select: tuple[int, ...] | None
    finish: Callable
    trees: tuple = ()


def register_source(c: compiler.Compiled) -> None:
    """Make a generated function's source findable by `inspect` even when it lives in memory only."""
    filename = getattr(c.fn, "__wrapped__", c.fn).__code__.co_filename
    entry = linecache.cache.get(filename)
    if entry is None or entry[0] != len(c.source):
        linecache.cache[filename] = (len(c.source), None, c.source.splitlines(True), filename)


def bind_all(fn):
    sig = inspect.signature(fn)
    plain = all(p.kind == p.POSITIONAL_OR_KEYWORD for p in sig.parameters.values())
    n = len(sig.parameters)

    def expand(args, kwargs):
        if plain and not kwargs and len(args) == n:
            return list(args)
        ba = sig.bind(*args, **kwargs)
        ba.apply_defaults()
        return list(ba.arguments.values())

    return expand


def target(fun: Callable, args=(), kwargs=None) -> Target:
    """What differentiating `fun` at `args` means: a transformation (grad(f)) gives its generated code."""
    if hasattr(fun, "_as_target"):
        return fun._as_target(args, kwargs)
    if not callable(fun):
        raise TypeError(f"expected a function, not {fun!r}")
    return memo(fun, ("target",), lambda: Target(fun, bind_all(fun), None, getattr(fun, "__qualname__", repr(fun)),
                                                 tail=no_tail))


MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def memo(fn, key: tuple, build):
    """The compiled function for (fn, key), looked up once per function object: a Jacobian's sweeps and
    repeated jvp calls skip the cache's source hashing (a new function object is a new entry)."""
    try:
        table = MEMO.setdefault(fn, {})
    except TypeError:                       # not weak-referenceable: no memo
        return build()
    key = key + (custom.fingerprint(), rules.fingerprint())     # registering a rule changes the code
    found = table.get(key)
    if isinstance(found, aliasing.NeedsArgKinds):    # known to depend on the arguments' kinds
        raise found
    # a helper redefined or a global rebound since it was compiled: compile again
    if found is None or (isinstance(found, compiler.Compiled) and not found.fresh()):
        try:
            found = table[key] = build()
        except aliasing.NeedsArgKinds as exc:
            table[key] = exc
            raise
    return found


def grad_of(fun, nums, backend: str = "numpy", full=None, trees: tuple = (), select: tuple | None = None,
            complex_params: tuple[str, ...] = (), complex_output: bool = False):
    """The reverse-mode code of `fun`; for the arguments `full` when it depends on their kinds. `trees`:
    container arguments passed leaf by leaf (ir/pytree.py), `nums` then counting leaves; `select`: the
    leaf of a returned container that is differentiated. With `complex_output` (vjp of complex values):
    the code whose output may be complex, for the complex parameters (and free names) `complex_params`."""
    if complex_output:
        return memo(fun, ("vjp", nums, backend, select, complex_params),
                    lambda: compiler.compile_grad(fun, nums, False, backend, select=select,
                                                  complex_params=complex_params, real_output=False))
    if trees:
        return memo(fun, ("grad", nums, backend, trees, select),
                    lambda: compiler.compile_grad(fun, nums, False, backend, trees=trees, select=select))
    try:
        return memo(fun, ("grad", nums, backend, select),
                    lambda: compiler.compile_grad(fun, nums, False, backend, select=select))
    except aliasing.NeedsArgKinds:
        if full is None:
            raise
        kinds = compiler.arg_kinds(fun, full)
        return memo(fun, ("grad", nums, backend, kinds, select),
                     lambda: compiler.compile_grad(fun, nums, False, backend, kinds=kinds, select=select))


def compiled_jvp(fn, wrt: tuple[int, ...], select=None, backend: str = "numpy", full=None,
                 trees: tuple = (), complex_params: tuple[str, ...] = (), value: bool = True) -> compiler.Compiled:
    """The forward-mode code of `fn` (a user function, or generated code with `select`) for `wrt`; for
    the arguments `full` when it depends on their kinds; `trees` as in grad_of; `complex_params`: for
    those complex parameters (and free names); `value=False`: the code of the tangent alone."""
    only = () if value else ("tangent only",)
    if complex_params:
        return memo(fn, ("jvp", wrt, select, backend, complex_params) + only,
                    lambda: compiler.compile_jvp(fn, wrt, backend, select=select, complex_params=complex_params,
                                                 value=value))
    if trees:
        return memo(fn, ("jvp", wrt, select, backend, trees) + only,
                    lambda: compiler.compile_jvp(fn, wrt, backend, select=select, trees=trees, value=value))
    try:
        return memo(fn, ("jvp", wrt, select, backend) + only,
                    lambda: compiler.compile_jvp(fn, wrt, backend, select=select, value=value))
    except aliasing.NeedsArgKinds:
        if full is None:
            raise
        kinds = compiler.arg_kinds(fn, full)
        return memo(fn, ("jvp", wrt, select, backend, kinds) + only,
                     lambda: compiler.compile_jvp(fn, wrt, backend, select=select, kinds=kinds, value=value))


def jvp_call(t: Target, full: list, wrt: tuple[int, ...], tangents: list, backend: str = "auto",
             complex_ok: bool = False, value: bool = True):
    """Run the JVP of target `t` at the full argument list `full` (on the GPU when CuPy arrays are in
    it: the tangent code is generated for CuPy, whatever code `t` is; `backend` another than "auto":
    for that backend). `complex_ok`: complex arguments take the code made for them (jvp's). `value=False`:
    the code of the tangent alone (it returns None for the value)."""
    unit = backends.of((*full, *tangents)) if backend == "auto" else backends.get(backend)
    c = compiled_jvp(t.fn, wrt, t.select, unit.name, full, value=value)
    extra = [f.read() for f in c.free]
    cx = complex_names(c, full, extra) if complex_ok and not complex_step.get() else ()   # (the complex step: the real code)
    if cx:
        c = compiled_jvp(t.fn, wrt, t.select, unit.name, full, complex_params=cx, value=value)
        extra = [f.read() for f in c.free]
    else:
        check_real((*full, *extra))
    register_source(c)
    full, tangents, extra = unit.to_device(full), unit.to_device(tangents), unit.to_device(extra)
    return c.fn(*full, *tangents, *extra)


def complex_names(c: compiler.Compiled, args: list, extra: list) -> tuple[str, ...]:
    """The parameters and free names of generated code `c` whose values (`args`, then `extra`) are complex."""
    return tuple(p for p, v in zip(list(c.params) + [f.name for f in c.free], list(args) + list(extra))
                 if is_complex(v))


def _recurse_vjp(fun, i, g, *args):
    """Cotangent of argument i of a recursive call `fun(*args)`: fun's generated gradient, seeded with g."""
    c = grad_of(fun, i, backends.of(args).name)
    args = list(args)
    args[i] = as_float(args[i])
    return c.fn(*args, *[f.read() for f in c.free], g)[1]


def _recurse_jvp(fun, i, t, *args):
    """Tangent of a recursive call `fun(*args)` from argument i's tangent t: fun's generated JVP."""
    c = compiled_jvp(fun, (i,), backend=backends.of(args).name)
    args = list(args)
    args[i] = as_float(args[i])
    return c.fn(*args, t, *[f.read() for f in c.free])[1]


hooks.install("recurse_vjp", _recurse_vjp)
hooks.install("recurse_jvp", _recurse_jvp)
