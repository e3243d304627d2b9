"""What a function's code resolved when it was transformed, for the cache key and for staleness checks.

A name that is not local to the function (or a helper it inlines) is read from its closure cells, its
module's globals or the builtins. Two kinds are handled differently:

- values (numbers, arrays, objects): the generated function takes them as parameters and reads them
  at every call (Python's semantics), so they are neither in the key nor checked;
- functions and modules (`np`, `act = np.cos`, a helper, `math.sin`): the transformation resolved them
  and wrote what they are into the code (`np.cos(x)`, the helper's body inlined). Each is named in the
  cache key by what it is (`rule np.cos`, `function mod.helper`), so `make(np.sin)` and `make(np.cos)`
  get different files, and kept as a `Binding` whose `holds()` says whether the name still refers to
  the same object: a helper redefined in a notebook, or a global rebound, makes the next call transform
  again.
"""
from __future__ import annotations

import ast
import builtins
import types
from dataclasses import dataclass
from typing import Any, Callable

from .. import backends
from ..ir.nodes import walk, walk_in_order
from .source import Source, dotted

_MISSING = object()


@dataclass(frozen=True)
class Binding:
    """A name (and attributes read through modules: `mod.helper`) resolved to `obj` at transformation.

    owner: the closure cell, or the globals dict, the name was read from. `builtin`: it was not found
    there and came from the builtins (then the globals must still not define it)."""

    owner: Any
    name: str
    attrs: tuple[str, ...]
    obj: Any
    builtin: bool = False

    def current(self) -> Any:
        if isinstance(self.owner, dict):
            value = self.owner.get(self.name, _MISSING)
            if self.builtin:
                return self.obj if value is _MISSING else value
        else:
            try:
                value = self.owner.cell_contents
            except ValueError:
                return _MISSING
        for a in self.attrs:
            value = getattr(value, a, _MISSING)
        return value

    def holds(self) -> bool:
        return self.current() is self.obj


def identity(obj: Any, rule_key: Callable[[Any], str | None], custom: Callable[[Any], bool]) -> str | None:
    """What `obj` is, as the cache key spells it (stable across processes); None for a value read at
    call time."""
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if not callable(obj):
        return None
    key = rule_key(obj)
    if key is not None:
        return f"rule {key}"
    name = f"{getattr(obj, '__module__', None) or ''}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
    if custom(obj):
        return f"custom {name}"
    if isinstance(obj, types.FunctionType):
        return f"function {name}"      # its source is in the key as a dependency
    return f"callable {name}"


def _local_names(tree: ast.FunctionDef) -> set[str]:
    a = tree.args
    out = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    for extra in (a.vararg, a.kwarg):
        if extra is not None:
            out.add(extra.arg)
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return out


def resolve(sources: list[Source], rule_key, custom) -> tuple[list[str], list[Binding]]:
    """(the key's lines, the bindings to check) for the functions and modules the code of `sources` (a
    function and the helpers it inlines) reads by name."""
    lines: set[str] = set()
    found: dict[tuple, Binding] = {}
    for index, src in enumerate(sources):
        local = _local_names(src.tree)
        # node id -> the attribute read of it (`np` in `np.linalg`, `np.linalg` in `np.linalg.norm`)
        attribute_of = {id(node.value): node for node in walk(src.tree) if type(node) is ast.Attribute}
        seen: dict[tuple[str, ...], tuple[Binding, str] | None] = {}     # each dotted name resolved once
        for node in walk_in_order(src.tree):
            if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)) or node.id in local:
                continue
            chain = node
            while id(chain) in attribute_of:
                chain = attribute_of[id(chain)]
            parts = tuple(dotted(chain) or [node.id])
            if parts not in seen:
                seen[parts] = _identified(src, parts, rule_key, custom)
            if seen[parts] is None:
                continue
            b, ident = seen[parts]
            lines.add(f"{index} {'.'.join((b.name,) + b.attrs)} = {ident}")
            found.setdefault((id(b.owner), b.name, b.attrs), b)
    return sorted(lines), list(found.values())


def _identified(src: Source, parts: tuple[str, ...], rule_key, custom) -> tuple[Binding, str] | None:
    """(the binding of the dotted name `parts` in `src`, what it is for the key), or None: not one the
    code depends on."""
    b = _binding(src, list(parts))
    if b is None:
        return None
    ident = identity(b.obj, rule_key, custom)
    return None if ident is None else (b, ident)


def _binding(src: Source, parts: list[str]) -> Binding | None:
    name = parts[0]
    if name in src.closure:
        owner = src.closure[name]
        try:
            obj = owner.cell_contents
        except ValueError:
            return None
        builtin = False
    elif name in src.globals:
        owner, obj, builtin = src.globals, src.globals[name], False
    elif hasattr(builtins, name):
        owner, obj, builtin = src.globals, getattr(builtins, name), True
    else:
        return None
    attrs = []
    # attributes read through a module the user wrote (mod.helper) can be rebound: each one is checked;
    # NumPy's and the standard library's are not (np.sin stays np.sin)
    for a in parts[1:]:
        if not isinstance(obj, types.ModuleType) or _stable(obj):
            break
        nxt = getattr(obj, a, _MISSING)
        if nxt is _MISSING:
            break
        attrs.append(a)
        obj = nxt
    return Binding(owner, name, tuple(attrs), obj, builtin)


_STABLE = frozenset({"math", "scipy", "s2sad", "builtins"})      # and every backend's array module


def _stable(module: types.ModuleType) -> bool:
    root = module.__name__.split(".")[0]
    return root in _STABLE or any(b.module == root for b in backends.REGISTRY.values())


def condition(bindings: list[Binding], namespace: dict, prefix: str = "_s2sad_b") -> str:
    """A Python expression, true while every binding holds, over names it puts into `namespace`."""
    terms = []
    namespace.setdefault("_s2sad_missing", _MISSING)
    for i, b in enumerate(bindings):
        owner, obj = f"{prefix}{i}_owner", f"{prefix}{i}_obj"
        namespace[owner], namespace[obj] = b.owner, b.obj
        if b.builtin:
            terms.append(f"{b.name!r} not in {owner}")
            continue
        if isinstance(b.owner, dict):
            expr = f"{owner}.get({b.name!r}, _s2sad_missing)"
        else:
            expr = f"getattr({owner}, 'cell_contents', _s2sad_missing)"
        for a in b.attrs:
            expr = f"getattr({expr}, {a!r}, _s2sad_missing)"
        terms.append(f"{expr} is {obj}")
    return " and ".join(terms) or "True"


def checker(bindings: list[Binding]) -> Callable[[], bool]:
    """A function that says whether every binding still holds (one lookup each, no loop)."""
    if not bindings:
        return _always
    namespace: dict = {}
    text = condition(bindings, namespace)
    return eval(f"lambda: {text}", namespace)       # noqa: S307 (built from names and repr'd strings)


def _always() -> bool:
    return True
