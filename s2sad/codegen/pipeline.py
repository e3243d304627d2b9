"""Compile a user function: its source and what its names resolve to make the cache key; the memory
cache, then the verified file under generated/, then the stages (stages.REVERSE or stages.FORWARD)
make the generated function, which is written and loaded."""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..analysis import aliasing
from ..errors import DifferentiationError
from ..frontend import bindings, source as frontend
from ..frontend.normalize import local_names, param_names, rule_key
from ..ir.core import FreeVar
from ..ir.facts import MARK as FACTS_MARK, Facts
from ..ir import pytree
from .. import backends, rules
from ..rules import custom
from . import cache, stages
from .stages import FREE_MARK
from ..ir.nodes import walk_in_order


@dataclass
class Compiled:
    """A generated function and what the API needs to call it."""

    fn: types.FunctionType
    source: str
    path: Path | None
    params: list[str]
    free: list[FreeVar]
    active_output: bool = True
    transformed: bool = True       # False when it came from the disk cache
    key: str = ""
    facts: Facts = field(default_factory=Facts)
    # the functions and modules the code resolved, and whether the names still refer to them
    binds: tuple = ()
    fresh: Callable[[], bool] = bindings.checker([])


@contextlib.contextmanager
def _deep_recursion(limit: int = 20000):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def dependencies(src: frontend.Source) -> list[frontend.Source]:
    """The user functions `src` calls, transitively, in a deterministic order."""
    out: list[frontend.Source] = []
    seen = {src.fn}
    todo = [src]
    while todo:
        cur = todo.pop(0)
        resolver = frontend.Resolver(cur, local_names(cur.tree))
        for node in walk_in_order(cur.tree):
            if not isinstance(node, ast.Call):
                continue
            try:
                res = resolver.resolve(node.func)
            except DifferentiationError:
                continue
            if res is None and isinstance(node.func, ast.Attribute):      # self.loss(x): a method
                obj = frontend.free_attribute(resolver, node.func)
                if frontend.user_method(obj):
                    res = frontend.Resolved("user", ast.unparse(node.func), obj)
            if res is not None and res.kind == "user" and res.obj not in seen and rule_key(res.obj) is None:
                seen.add(res.obj)
                try:
                    dep = frontend.load(res.obj)
                except DifferentiationError:
                    continue
                out.append(dep)
                todo.append(dep)
    return out


def compile_grad(fn, argnums, has_aux: bool, backend: str = "numpy", value: bool = True,
                 vectors: tuple[str, ...] = (), kinds: aliasing.ArgKinds | None = None, trees: tuple = (),
                 select: tuple | None = None, complex_params: tuple[str, ...] = (), real_output: bool = True) -> Compiled:
    """Generate, write and load the gradient function of `fn` (reverse mode). With `value=False` the
    function may return None for the value (when the output is certainly a scalar) and skip computing it.
    `vectors`: parameters the code may assume 1-D (the caller checks), so their elements are scalars.
    `kinds`: the arguments' kinds, for a function that writes in place into what an argument may share
    (it raised aliasing.NeedsArgKinds without them); the caller checks them at every call. `trees`:
    (parameter, structure) of each container argument, passed leaf by leaf (`argnums` then counts
    leaves: the generated function's parameters). `select`: the path of the output differentiated in a
    returned container (normalize.py's _select). `complex_params`: the parameters (and free names) that
    hold complex numbers (the caller checks it on every call); `real_output=False` lets the output be
    complex (vjp: the caller's cotangent pairs with it by Re(sum(g * v)))."""
    options = {"mode": "reverse", "argnums": argnums, "has_aux": has_aux, "backend": backend}
    if complex_params:
        options["complex"] = list(complex_params)
    if not real_output:
        options["complex_output"] = True
    if select is not None:
        options["select"] = select
    if not value:
        options["value"] = False
    if vectors:
        options["vectors"] = list(vectors)
    if kinds is not None:
        options["kinds"] = kinds.spelled()
    if trees:
        options["trees"] = [(p, pytree.spelled(t)) for p, t in trees]
    return cached(fn, options, "grad",
                  lambda src, key, name: stages.run(stages.REVERSE, stages.Job(
                      src, key, name, backend, argnums, has_aux=has_aux, value=value, vectors=tuple(vectors),
                      kinds=kinds, trees=tuple(trees), select=select, complex_params=tuple(complex_params),
                      real_output=real_output),
                      stages.dumped()), trees)


def _keyed(fn, options: dict):
    """(source, the user functions it reaches, the cache key, the bindings to check) of `fn` under
    `options`. The key covers the code of the function and its helpers, the helpers' default values
    (written into the code), what each function or module name resolved to, and which functions have
    custom rules."""
    src = frontend.load(fn)
    deps = dependencies(src)
    resolved, binds = bindings.resolve([src] + deps, rule_key, custom.registered)
    defaults = [repr((getattr(d.fn, "__defaults__", None), getattr(d.fn, "__kwdefaults__", None))) for d in deps]
    key = cache.make_key([src] + deps, dict(options, custom_rules=custom.fingerprint(), added_rules=rules.fingerprint(), resolved=resolved,
                                            defaults=defaults))
    return src, deps, key, binds


def grad_source(fn, argnums, has_aux: bool = False, backend: str = "numpy", value: bool = True) -> str:
    """The text of the gradient file for `backend` that compile_grad would write, generated without
    writing or importing it (so the CuPy version can be read, and checked, on a machine without CuPy)."""
    options = {"mode": "reverse", "argnums": argnums, "has_aux": has_aux, "backend": backend}
    if not value:
        options["value"] = False
    src, _, key, _ = _keyed(fn, options)
    with _deep_recursion():
        job = stages.Job(src, key, f"{src.tree.name}_grad", backend, argnums, has_aux=has_aux, value=value)
        return stages.run(stages.REVERSE, job).text


def cached(fn, options: dict, suffix: str, generate, trees: tuple = ()) -> Compiled:
    """Memory cache, then the verified file on disk, then `generate(src, key, name)` -> a stages.Job that
    ran. A file is written atomically; when it cannot be written the function lives in memory only. With
    S2SAD_DUMP set the function is transformed again (each stage's output is printed as it runs)."""
    src, deps, key, binds = _keyed(fn, options)
    fresh = bindings.checker(binds)
    unit = backends.get(options.get("backend", "numpy"))

    def ready(c: Compiled, **changes) -> Compiled:     # as calls run it: bound, and guarded by its backend
        return dataclasses.replace(c, binds=tuple(binds), fresh=fresh, fn=unit.guarded(c.fn, c.source, src.filename),
                                   **changes)

    name = f"{src.tree.name}_{suffix}"
    dump = stages.dumped()
    hit = None if dump else cache.memory_get(key)
    if hit is not None:
        if not hit.free:
            return ready(hit)
        # the same code may read other globals/closure cells (a helper's closure): bind them to `fn`'s
        rebound = _from_text(hit.source, hit.path, name, src, deps, key, trees, func=hit.fn)
        if rebound is not None:
            return ready(hit, free=rebound.free)
    path = cache.generated_dir() / cache.file_name(src.module, src.qualname, suffix, key, src.filename)
    text = None if dump else cache.read(path, key)
    if text is not None:
        compiled = _from_text(text, path, name, src, deps, key, trees)
        if compiled is not None:
            return ready(cache.memory_put(key, compiled))
    try:
        # the job's ASTs are dropped before the cycle collector runs again: its first pass would walk them
        with _deep_recursion(), stages.paused_gc():
            job = generate(src, key, name)
            text, free, facts = job.text, job.free, job.facts
            del job
    except DifferentiationError:
        raise
    except RecursionError:
        raise DifferentiationError(f"{src.filename}:{src.lineno}: {src.qualname} is too deeply nested for "
                                   "s2sad to transform") from None
    try:
        code = cache.compile_text(text, str(path))    # invalid code is never written: it would be read again
        written = cache.write(path, text)
        func = cache.load_function(text, str(written or path), name, code)
    except Exception as exc:   # a bug in s2sad, not in the user's code: say so, with the source
        raise DifferentiationError(f"s2sad generated invalid code for {src.qualname} ({src.filename}:"
                                   f"{src.lineno}): {exc}; please report it with the function") from exc
    compiled = Compiled(func, text, written, _params(src, func, trees), free, facts.active_output, True, key, facts)
    return ready(cache.memory_put(key, compiled))


def _params(src: frontend.Source, func, trees: tuple) -> list[str]:
    """The generated function's own parameters: the user's, with a container's leaves in its place."""
    names = param_names(src.tree)
    if not trees:
        return names
    n = len(names) - len(trees) + sum(pytree.count(t) for _, t in trees)
    return list(func.__code__.co_varnames[:n])


def _from_text(text, path, name, src, deps, key, trees=(), func=None):
    """A Compiled from a verified cached file, without transforming again (None: regenerate it).

    With `func` (a memory-cache hit) only the free variables are bound again, to `src` and `deps`.
    """
    import builtins
    sources = [src] + deps
    free = []
    facts = Facts()
    for line in text.splitlines()[:12]:
        if line.startswith(FREE_MARK):
            for item in filter(None, (x.strip() for x in line[len(FREE_MARK):].split(","))):
                gen_name, _, rest = item.partition("=")
                spelled, _, where = rest.partition("@")
                try:
                    idx, kind = int(where[:-1]), where[-1]
                except (ValueError, IndexError):
                    cache.unusable(path, f"malformed {FREE_MARK.strip()} line")
                    return None
                s = sources[idx] if idx < len(sources) else src
                owner = s.globals if kind == "g" else s.closure.get(spelled) if kind == "c" else vars(builtins)
                if owner is None:
                    return None
                free.append(FreeVar(gen_name, spelled, owner, idx))
        elif line.startswith(FACTS_MARK):
            facts = Facts.parse(line)
    if func is None:
        func = cache.load_cached(text, path, name)
        if func is None:
            return None
    return Compiled(func, text, path, _params(src, func, trees), free, facts.active_output, False, key, facts)


def compile_jvp(fn, wrt: tuple[int, ...], backend: str = "numpy", select: tuple[int, ...] | None = None,
                has_aux: bool = False, kinds: aliasing.ArgKinds | None = None, trees: tuple = (),
                complex_params: tuple[str, ...] = (), value: bool = True) -> Compiled:
    """Generate, write and load the forward-mode (JVP) function of `fn` for the parameters `wrt`.

    `select` differentiates one element of a returned tuple (a generated gradient's gradient part).
    `kinds`, `complex_params`: see compile_grad. `value=False`: the code returns (None, tangent) and
    computes only what the tangent needs (a Hessian-vector product over a gradient's code).
    """
    options = {"mode": "forward", "wrt": tuple(wrt), "backend": backend, "select": select, "has_aux": has_aux}
    if not value:
        options["value"] = False
    if complex_params:
        options["complex"] = list(complex_params)
    if kinds is not None:
        options["kinds"] = kinds.spelled()
    if trees:
        options["trees"] = [(p, pytree.spelled(t)) for p, t in trees]
    return cached(fn, options, "jvp",
                  lambda src, key, name: stages.run(stages.FORWARD, stages.Job(
                      src, key, name, backend, wrt_nums=tuple(wrt), has_aux=has_aux, kinds=kinds, select=select,
                      trees=tuple(trees), complex_params=tuple(complex_params), value=value), stages.dumped()), trees)


def compile_batched(fn, axes: tuple, out_axes, kinds: tuple, backend: str = "numpy",
                    select: tuple[int, ...] | None = None, trees: tuple = ()) -> Compiled:
    """Generate, write and load the batched (vmap) function of `fn`: `axes` gives (position, axis) of each
    mapped parameter, `kinds` what one example of each parameter is ("number", its number of dimensions,
    or None: not known),
    `out_axes` where the outputs' batch axes go; `select` keeps one element of a returned tuple (a
    generated gradient's gradients); `trees` as in compile_grad."""
    options = {"mode": "vmap", "axes": list(axes), "out_axes": repr(out_axes), "kinds": list(kinds),
               "backend": backend, "select": select}
    if trees:
        options["trees"] = [(p, pytree.spelled(t)) for p, t in trees]
    return cached(fn, options, "vmap",
                  lambda src, key, name: stages.run(stages.BATCH, stages.Job(
                      src, key, name, backend, select=select, trees=tuple(trees), axes=tuple(axes),
                      out_axes=out_axes, example=tuple(kinds)), stages.dumped()), trees)


def arg_kinds(fn, args: list) -> aliasing.ArgKinds:
    """The kinds of the arguments `args` (positional, all of `fn`'s parameters) of a call of `fn`."""
    params = param_names(frontend.load(fn).tree)
    numbers = frozenset(p for p, a in zip(params, args) if type(a) in (float, int, bool) or isinstance(a, np.generic))
    ranks = tuple(sorted((p, a.ndim) for p, a in zip(params, args)
                         if isinstance(getattr(a, "ndim", None), int) and not isinstance(a, np.generic)))
    return aliasing.ArgKinds(numbers, ranks)
