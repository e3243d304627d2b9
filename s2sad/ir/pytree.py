"""Pytrees: tuples, lists, dicts, named tuples and dataclasses of arrays and numbers, nested (JAX's
containers).

A differentiated argument that is a container is passed to the generated function leaf by leaf: the
compiler sees one parameter per leaf (`params["W1"]` becomes the parameter `params_W1`), and the API
flattens the argument on the way in and builds the gradient, of the same structure, on the way out.

A structure (a "treedef") is hashable, so that it can key a compile: `None` is a leaf;
`(kind, keys, children)` a container, where kind is "tuple", "list", "dict" or a named tuple's or a
dataclass's class, and keys are the dict's keys in order, or the fields, or `None`.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

Treedef = Any    # None, or (kind, keys, tuple of Treedef)


def is_container(x: Any) -> bool:
    """Whether `x` is a tuple, list, dict, named tuple or dataclass instance (which a transformation
    flattens), not a leaf."""
    return type(x) in (tuple, list, dict) or _namedtuple(type(x)) or _dataclass(x)


def _dataclass(x: Any) -> bool:
    return dataclasses.is_dataclass(x) and not isinstance(x, type) and all(f.init for f in dataclasses.fields(x))


def _namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def flatten(x: Any) -> tuple[Treedef, list]:
    """(structure, leaves in order) of `x`."""
    leaves: list = []
    return _flatten(x, leaves), leaves


def _flatten(x: Any, leaves: list) -> Treedef:
    t = type(x)
    if t is dict:
        return ("dict", tuple(x), tuple(_flatten(v, leaves) for v in x.values()))
    if t is tuple or t is list:
        return (t.__name__, None, tuple(_flatten(v, leaves) for v in x))
    if _namedtuple(t):
        return (t, tuple(t._fields), tuple(_flatten(v, leaves) for v in x))
    if _dataclass(x):
        names = tuple(f.name for f in dataclasses.fields(x))
        return (t, names, tuple(_flatten(getattr(x, n), leaves) for n in names))
    leaves.append(x)
    return None


def unflatten(treedef: Treedef, leaves: list) -> Any:
    """The container of structure `treedef` holding `leaves` (the inverse of flatten)."""
    it = iter(leaves)
    out = _build(treedef, it)
    if next(it, it) is not it:
        raise ValueError("more leaves than the structure holds")
    return out


def _build(treedef: Treedef, it) -> Any:
    if treedef is None:
        return next(it)
    kind, keys, children = treedef
    items = [_build(c, it) for c in children]
    if kind == "dict":
        return dict(zip(keys, items))
    if kind == "tuple":
        return tuple(items)
    if kind == "list":
        return items
    if dataclasses.is_dataclass(kind):
        return kind(**dict(zip(keys, items)))
    return kind(*items)


def flatten_arguments(args: list, flattened) -> tuple[list, list[range], dict[int, Treedef]]:
    """(the arguments leaf by leaf, each argument's positions in that list, the structure of each argument
    `flattened(i, arg)` chose to flatten): how a call's arguments reach generated code."""
    flat: list = []
    spans: list[range] = []
    structures: dict[int, Treedef] = {}
    for i, a in enumerate(args):
        if flattened(i, a):
            structures[i], leaves = flatten(a)
        else:
            leaves = [a]
        spans.append(range(len(flat), len(flat) + len(leaves)))
        flat.extend(leaves)
    return flat, spans, structures


def regroup(values: list, structures: list) -> list:
    """`values` (leaves, in order) put back into one result per entry of `structures`: a container of
    that structure, or (None) one value."""
    it = iter(values)
    return [next(it) if td is None else unflatten(td, [next(it) for _ in range(count(td))]) for td in structures]


def count(treedef: Treedef) -> int:
    """How many leaves the structure holds."""
    return 1 if treedef is None else sum(count(c) for c in treedef[2])


def spelled(treedef: Treedef) -> str:
    """The structure as text (for a cache key and a generated file's header)."""
    if treedef is None:
        return "*"
    kind, keys, children = treedef
    if kind == "dict":
        return "{" + ", ".join(f"{k!r}: {spelled(c)}" for k, c in zip(keys, children)) + "}"
    inner = ", ".join(spelled(c) for c in children)
    if kind == "tuple":
        return f"({inner}{',' if len(children) == 1 else ''})"
    if kind == "list":
        return f"[{inner}]"
    return f"{kind.__module__}.{kind.__qualname__}({inner})"


def paths(treedef: Treedef, prefix: tuple = ()) -> list[tuple]:
    """Each leaf's path (its keys, outermost first), in leaf order."""
    if treedef is None:
        return [prefix]
    kind, keys, children = treedef
    names = keys if keys is not None else range(len(children))
    return [p for k, c in zip(names, children) for p in paths(c, prefix + (k,))]


def leaf_name(base: str, path: tuple) -> str:
    """A readable variable name for a leaf: `params` and ("W1",) give `params_W1`."""
    parts = [base] + [re.sub(r"\W", "_", str(k)) or "_" for k in path]
    return "_".join(parts)


def pick(x: Any, path: tuple) -> Any:
    """The element of container `x` at `path` (indices, keys or field names, outermost first)."""
    for k in path:
        x = getattr(x, k) if isinstance(k, str) and not isinstance(x, dict) else x[k]
    return x


def add(a: Any, b: Any) -> Any:
    """`a + b` leaf by leaf, for two values of the same structure."""
    ta, la = flatten(a)
    tb, lb = flatten(b)
    if ta != tb:
        raise ValueError(f"cannot add {spelled(ta)} and {spelled(tb)}")
    return unflatten(ta, [x + y for x, y in zip(la, lb)])
