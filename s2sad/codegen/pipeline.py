"""The pipeline: frontend -> normalize -> analyze -> reverse -> emit -> cache/load.

This module only composes the stages; each lives in its own module.
"""
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

from .. import backends
from .._version import __version__
from ..analysis import aliasing
from ..frontend import bindings, source as frontend
from . import cache
from ..rules import custom
from ..passes.fuse import dead_stores, fuse
from ..ir.names import all_names
from .emit import Sections, function_source, module_source
from ..errors import DifferentiationError
from ..ir.core import FreeVar
from ..frontend.normalize import local_names, normalize, param_names, rule_key
from ..modes.forward import forward
from ..modes.reverse import reverse

FREE_MARK = "# s2sad-free: "
FACTS_MARK = "# s2sad-facts: "


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
    facts: dict = field(default_factory=dict)
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
        for node in ast.walk(cur.tree):
            if not isinstance(node, ast.Call):
                continue
            try:
                res = resolver.resolve(node.func)
            except DifferentiationError:
                continue
            if res is not None and res.kind == "user" and res.obj not in seen and rule_key(res.obj) is None:
                seen.add(res.obj)
                try:
                    dep = frontend.load(res.obj)
                except DifferentiationError:
                    continue
                out.append(dep)
                todo.append(dep)
    return out


def _array_module(backend: str) -> str:
    return backends.BACKENDS[backend]["module"]


def compile_grad(fn, argnums, has_aux: bool, backend: str = "numpy", value: bool = True,
                 vectors: tuple[str, ...] = (), kinds: aliasing.ArgKinds | None = None) -> Compiled:
    """Generate, write and load the gradient function of `fn` (reverse mode). With `value=False` the
    function may return None for the value (when the output is certainly a scalar) and skip computing it.
    `vectors`: parameters the code may assume 1-D (the caller checks), so their elements are scalars.
    `kinds`: the arguments' kinds, for a function that writes in place into what an argument may share
    (it raised aliasing.NeedsArgKinds without them); the caller checks them at every call."""
    options = {"mode": "reverse", "argnums": argnums, "has_aux": has_aux, "backend": backend}
    if not value:
        options["value"] = False
    if vectors:
        options["vectors"] = list(vectors)
    if kinds is not None:
        options["kinds"] = kinds.spelled()
    return cached(fn, options, "grad",
                  lambda src, key, name: _generate(src, argnums, has_aux, backend, key, name, value, vectors, kinds))


def _keyed(fn, options: dict):
    """(source, the user functions it reaches, the cache key, the bindings to check) of `fn` under
    `options`. The key covers the code of the function and its helpers, the helpers' default values
    (written into the code), what each function or module name resolved to, and which functions have
    custom rules."""
    src = frontend.load(fn)
    deps = dependencies(src)
    resolved, binds = bindings.resolve([src] + deps, rule_key, custom.registered)
    defaults = [repr((getattr(d.fn, "__defaults__", None), getattr(d.fn, "__kwdefaults__", None))) for d in deps]
    key = cache.make_key([src] + deps, dict(options, custom_rules=custom.fingerprint(), resolved=resolved,
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
        text, _, _ = _generate(src, argnums, has_aux, backend, key, f"{src.tree.name}_grad", value)
    return text


def cached(fn, options: dict, suffix: str, generate) -> Compiled:
    """Memory cache, then the verified file on disk, then `generate(src, key, name)` -> (text, free, facts).

    A file is written atomically; when it cannot be written the function lives in memory only.
    """
    src, deps, key, binds = _keyed(fn, options)
    fresh = bindings.checker(binds)
    name = f"{src.tree.name}_{suffix}"
    hit = cache.memory_get(key)
    if hit is not None:
        if not hit.free:
            return dataclasses.replace(hit, binds=tuple(binds), fresh=fresh)
        # the same code may read other globals/closure cells (a helper's closure): bind them to `fn`'s
        rebound = _from_text(hit.source, hit.path, name, src, deps, key, func=hit.fn)
        if rebound is not None:
            return dataclasses.replace(hit, free=rebound.free, binds=tuple(binds), fresh=fresh)
    path = cache.generated_dir() / cache.file_name(src.module, src.qualname, suffix, key, src.filename)
    text = cache.read(path, key)
    if text is not None:
        compiled = _from_text(text, path, name, src, deps, key)
        if compiled is not None:
            return dataclasses.replace(cache.memory_put(key, compiled), binds=tuple(binds), fresh=fresh)
    try:
        with _deep_recursion():
            text, free, facts = generate(src, key, name)
    except DifferentiationError:
        raise
    except RecursionError:
        raise DifferentiationError(f"{src.filename}:{src.lineno}: {src.qualname} is too deeply nested for "
                                   "s2sad to transform") from None
    try:
        compile(text, str(path), "exec")        # invalid code is never written: it would be read again
        written = cache.write(path, text)
        func = cache.load_function(text, str(written or path), name)
    except Exception as exc:   # a bug in s2sad, not in the user's code: say so, with the source
        raise DifferentiationError(f"s2sad generated invalid code for {src.qualname} ({src.filename}:"
                                   f"{src.lineno}): {exc}; please report it with the function") from exc
    compiled = Compiled(func, text, written, param_names(src.tree), free, facts["active_output"], True, key, facts)
    return dataclasses.replace(cache.memory_put(key, compiled), binds=tuple(binds), fresh=fresh)


def _generate(src, argnums, has_aux, backend, key, name, value=True, vectors=(), kinds=None):
    core = normalize(src, has_aux=has_aux)
    params = core.params
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    wrt = [params[i] for i in nums]
    (pre, fwd, rev, ret), facts = reverse(core, wrt, single=isinstance(argnums, int), value=value,
                                          vectors=frozenset(vectors), kinds=kinds)
    pre, fwd, rev = fuse([pre, fwd, rev], ret, params + ["out_bar"], all_names(src.tree),
                         scalars={"out_bar"} if facts["scalar_output"] else set(), as_written=1)
    blocks = [("", pre), ("forward sweep: the original computation", fwd),
              ("reverse sweep: cotangents flow back from the output", rev)]
    backends.for_backend([s for _, b in blocks for s in b] + [ret], backend, all_names(src.tree))
    free = core.free
    sig = params + [f.name for f in free] + ["out_bar"]
    wrt_text = ", ".join(wrt)
    shown = "None" if not facts["value"] else "value"
    doc = (f"Gradient of {src.qualname} with respect to {wrt_text}: returns ({f'({shown}, aux)' if has_aux else shown}, "
           f"{'gradient' if isinstance(argnums, int) else 'gradients'}). out_bar seeds the output's cotangent."
           + ("" if facts["value"] else " The value, a scalar, is not computed: use value_and_grad for it."))
    sec = Sections(name=name, params=sig, defaults={"out_bar": "1.0"}, doc=doc, blocks=blocks, ret=ret)
    func_text = function_source(sec, src.filename)
    uses_math = "math." in func_text
    header = [
        f"Generated by s2sad {__version__} from {cache.shown_path(src.filename)}:{src.lineno} ({src.qualname}). Do not edit:",
        "s2sad regenerates this file when the function changes and refuses it when edited.",
        f"gradient of {src.qualname} with respect to {wrt_text} (argnums={argnums!r}), reverse mode, "
        f"{_array_module(backend)} backend" + (", has_aux" if has_aux else "")
        + (f"; for 1-D {', '.join(vectors)} (elements are scalars)" if vectors else "")
        + (f"; for arguments {kinds.text()}" if kinds is not None else ""),
        f"call: {name}({', '.join(sig[:-1])})" + (f"  # {', '.join(f.name for f in free)}: globals/closure values"
                                                  if free else ""),
    ]
    meta = [f"{cache.KEY_MARK}{key}", FACTS_MARK + f"active_output={facts['active_output']}"
            + (f" scalar_if={facts['scalar_if']}" if facts.get("scalar_if") else "")
            + (f" indexed={','.join(facts['indexed'])}" if facts.get("indexed") else "")]
    if free:
        meta.append(FREE_MARK + ", ".join(f"{f.name}={f.spelled}@{_owner_index(f, src, core)}" for f in free))
    text = module_source(header, meta, _array_module(backend), [func_text], uses_math)
    return text, free, facts


def _owner_index(f: FreeVar, src, core) -> str:
    """Where a free variable is read: 0 is the function itself, i the i-th inlined helper; g/c: globals/cell."""
    sources = [src] + core.callees
    for i, s in enumerate(sources):
        if f.owner is s.globals:
            return f"{i}g"
        if f.spelled in s.closure and f.owner is s.closure[f.spelled]:
            return f"{i}c"
    return "0b"   # builtins


def _from_text(text, path, name, src, deps, key, func=None):
    """A Compiled from a verified cached file, without transforming again (None: regenerate it).

    With `func` (a memory-cache hit) only the free variables are bound again, to `src` and `deps`.
    """
    import builtins
    sources = [src] + deps
    free = []
    facts = {}
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
            facts["active_output"] = "active_output=True" in line
            if " scalar_if=" in line:
                facts["scalar_if"] = line.split(" scalar_if=", 1)[1].split()[0]
            if " indexed=" in line:
                facts["indexed"] = line.split(" indexed=", 1)[1].split()[0].split(",")
    if func is None:
        func = cache.load_cached(text, path, name)
        if func is None:
            return None
    return Compiled(func, text, path, param_names(src.tree), free, facts.get("active_output", True), False, key, facts)


def compile_jvp(fn, wrt: tuple[int, ...], backend: str = "numpy", select: tuple[int, ...] | None = None,
                has_aux: bool = False, kinds: aliasing.ArgKinds | None = None) -> Compiled:
    """Generate, write and load the forward-mode (JVP) function of `fn` for the parameters `wrt`.

    `select` differentiates one element of a returned tuple (a generated gradient's gradient part).
    `kinds`: see compile_grad.
    """
    options = {"mode": "forward", "wrt": tuple(wrt), "backend": backend, "select": select, "has_aux": has_aux}
    if kinds is not None:
        options["kinds"] = kinds.spelled()
    return cached(fn, options, "jvp",
                  lambda src, key, name: _generate_jvp(src, wrt, backend, key, name, select, has_aux, kinds))


def arg_kinds(fn, args: list) -> aliasing.ArgKinds:
    """The kinds of the arguments `args` (positional, all of `fn`'s parameters) of a call of `fn`."""
    params = param_names(frontend.load(fn).tree)
    numbers = frozenset(p for p, a in zip(params, args) if type(a) in (float, int, bool) or isinstance(a, np.generic))
    ranks = tuple(sorted((p, a.ndim) for p, a in zip(params, args)
                         if isinstance(getattr(a, "ndim", None), int) and not isinstance(a, np.generic)))
    return aliasing.ArgKinds(numbers, ranks)


def _generate_jvp(src, wrt_nums, backend, key, name, select, has_aux, kinds=None):
    core = normalize(src, has_aux=has_aux, select=select)
    params = core.params
    wrt = [params[i] for i in wrt_nums]
    (body, ret), facts = forward(core, wrt, kinds)
    if select is not None:   # generated code, of which one part is differentiated: what the rest computes goes
        while dead_stores(body, ret, set()):
            pass
    backends.for_backend(body + [ret], backend, all_names(src.tree))
    free = core.free
    sig = params + facts["tangents"] + [f.name for f in free]
    doc = (f"Forward mode (JVP) of {src.qualname}: given tangents {', '.join(facts['tangents'])} of "
           f"{', '.join(wrt)}, returns (value, tangent of the value).")
    sec = Sections(name=name, params=sig, defaults={}, doc=doc,
                   blocks=[("forward sweep with tangents: each value, then its tangent", body)], ret=ret)
    func_text = function_source(sec, src.filename)
    header = [
        f"Generated by s2sad {__version__} from {cache.shown_path(src.filename)}:{src.lineno} ({src.qualname}). Do not edit:",
        "s2sad regenerates this file when the function changes and refuses it when edited.",
        f"forward mode (JVP) of {src.qualname} with respect to {', '.join(wrt)}, {_array_module(backend)} backend"
        + (f", output element {select}" if select else "")
        + (f"; for arguments {kinds.text()}" if kinds is not None else ""),
        f"call: {name}({', '.join(sig)})",
    ]
    meta = [f"{cache.KEY_MARK}{key}", FACTS_MARK + f"active_output={facts['active_output']}"]
    if free:
        meta.append(FREE_MARK + ", ".join(f"{f.name}={f.spelled}@{_owner_index(f, src, core)}" for f in free))
    text = module_source(header, meta, _array_module(backend), [func_text], "math." in func_text)
    return text, free, facts
