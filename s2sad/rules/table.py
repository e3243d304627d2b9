"""The derivative-rule table: one small, printable rule per primitive.

A rule is data: the primitive's signature and, for each differentiable parameter, a template
expression for the cotangent that flows to it (reverse mode) written in terms of

    g    the cotangent of the primitive's output
    ans  the primitive's output
    and the parameter names of the signature.

Forward (tangent) rules are derived: an elementwise rule is linear in `g`, so the tangent
contributed by parameter p is its reverse template with `g` replaced by p's tangent; a linear
primitive's tangent is the primitive applied to the tangent. A rule may also give explicit
forward templates (with `t` for the incoming tangent).
"""
from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None = None     # source of the default value; None: required
    sequence: bool = False         # takes a list/tuple of arrays (concatenate, stack, np.array)


@dataclass(frozen=True)
class Rule:
    """Derivative rule of one primitive (see module docstring)."""

    key: str
    params: tuple[Param, ...]
    reverse: dict = field(default_factory=dict)   # param name -> template source
    forward: dict = field(default_factory=dict)   # param name -> tangent template source (uses `t`)
    elementwise: bool = False    # elementwise with NumPy broadcasting: cotangents are unbroadcast
    linear: bool = False         # linear in its differentiable parameters
    differentiable: bool = True  # False: the output carries no derivative (sign, comparisons, shapes)
    why: str = ""                # for a rule that is not differentiable: why its derivative is zero
    cast: bool = False           # may cast to an integer type (a dtype argument): its tangent is then zero
    # facts the analyses and passes read (through `flagged`), kept here beside the derivative
    reduction: bool = False      # with axis=None (and no keepdims) its result is one number, whatever the input
    view: bool = False           # its result may share its first argument's memory (reshape, transpose...)
    shape_arg: int | None = None  # a runtime helper's argument read only for its shape (prune retargets it)
    pure: bool = True            # depends only on its arguments and changes nothing (may be moved or merged)
    parts: bool = False          # may return a tuple or a list (np.split, np.linalg.svd): its items' shapes differ
    result_like: int | None = None   # a runtime helper whose result has the shape of this argument
    batch: str = ""              # how vmap batches it (modes/batch.py; rules/batching.py): "" elementwise
                                 # if elementwise, else once per example
    # complex numbers (analysis/complexity.py), JAX's convention: a cotangent pairs with a value by
    # Re(sum(g * v)), so a holomorphic rule's templates hold for complex operands as they are
    complex_ok: bool = False     # its templates (or complex_reverse/complex_forward) hold for complex operands;
                                 # a rule without it is refused where an operand may be complex
    complex_reverse: dict = field(default_factory=dict)   # param -> template where the operands may be complex
    complex_forward: dict = field(default_factory=dict)   # param -> tangent template, likewise
    complex_out: bool = False    # its result is complex for real operands (np.fft.fft)
    real_out: bool = False       # its result is real for complex operands (np.abs, np.real, comparisons)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def template(self, param: str, complex_: bool = False) -> ast.expr:
        """The cotangent template of `param` (`complex_`: where an operand may be complex)."""
        if complex_ and param in self.complex_reverse:
            return _parse(self.complex_reverse[param])
        return _parse(self.reverse[param])

    def tangent_template(self, param: str, complex_: bool = False) -> ast.expr:
        """Tangent contributed by `param`: explicit, or derived from the reverse rule (g -> t)."""
        if complex_ and param in self.complex_forward:
            return _parse(self.complex_forward[param])
        if param in self.forward:
            return _parse(self.forward[param])
        if self.elementwise:       # (a complex template without a forward one is holomorphic: derived alike)
            reverse = self.complex_reverse if complex_ and param in self.complex_reverse else self.reverse
            return _parse(reverse[param], rename={"g": "t"})
        raise KeyError(f"no forward rule for {self.key}({param})")


_CACHE: dict[tuple, ast.expr] = {}


def _parse(src: str, rename: dict | None = None) -> ast.expr:
    key = (src, tuple(sorted((rename or {}).items())))
    if key not in _CACHE:
        node = ast.parse(src, mode="eval").body
        if rename:
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and n.id in rename:
                    n.id = rename[n.id]
        _CACHE[key] = node
    return _CACHE[key]


RULES: dict[str, Rule] = {}


def parse_signature(sig: str) -> tuple[Param, ...]:
    """"x, axis=None, *xs" style signature -> Params. A leading '*' marks a sequence parameter."""
    params = []
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(sig + ","):
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:            # a comma inside a default (axes=(-2, -1)) does not split
            parts.append(sig[start:i])
            start = i + 1
    for part in [s.strip() for s in parts if s.strip()]:
        seq = part.startswith("*")
        part = part.lstrip("*")
        name, _, default = part.partition("=")
        params.append(Param(name.strip(), default.strip() or None, seq))
    return tuple(params)


def rule(key: str, sig: str, *, elementwise: bool = False, linear: bool = False, cast: bool = False,
         forward: dict | None = None, reduction: bool = False, view: bool = False, shape_arg: int | None = None,
         pure: bool = True, complex_ok: bool = False, complex_reverse: dict | None = None,
         complex_forward: dict | None = None, complex_out: bool = False, **reverse: str) -> Rule:
    """Register the rule of primitive `key` with signature `sig` and reverse templates `reverse` (the
    flags: see Rule)."""
    params = parse_signature(sig)
    names = {p.name for p in params}
    if names & {"g", "t", "ans"}:
        raise ValueError(f"rule {key}: g, t and ans name the cotangent, tangent and output in templates; "
                         "they cannot be parameter names")
    unknown = set(reverse) - names
    if unknown:
        raise ValueError(f"rule {key}: templates for unknown parameters {sorted(unknown)}")
    templates = [reverse, forward or {}, complex_reverse or {}, complex_forward or {}]
    for tmpl in [t for d in templates for t in d.values()]:
        ast.parse(tmpl, mode="eval")   # fail at import time on a malformed template
    reverse = dict(reverse)
    for name in forward or {}:     # differentiable in forward mode only: reverse mode says so when it runs
        reverse.setdefault(name, f"_rt.second_order('{key} in reverse mode over reverse mode')")
    r = Rule(key, params, reverse, dict(forward or {}), elementwise, linear, cast=cast, reduction=reduction,
             view=view, shape_arg=shape_arg, pure=pure, complex_ok=complex_ok or bool(complex_reverse),
             complex_reverse=dict(complex_reverse or {}), complex_forward=dict(complex_forward or {}),
             complex_out=complex_out)
    _add(key, r)
    return r


def nondiff(key: str, sig: str = "*args", *, why: str, shape_arg: int | None = None, pure: bool = True) -> Rule:
    """Register a primitive whose output carries no derivative, and why: an integer or boolean output,
    a piecewise constant function, a value that depends on shapes only. A function that is differentiable
    never goes here: without a rule it is refused (NonDifferentiableError), never taken as a constant."""
    if not why:
        raise ValueError(f"nondiff {key}: say why its derivative is zero")
    r = Rule(key, parse_signature(sig), differentiable=False, why=why, shape_arg=shape_arg, pure=pure)
    _add(key, r)
    return r


def shaped_like(position: int, *keys: str) -> None:
    """The runtime helpers `keys` give a result with the shape of their argument `position` (what rank
    inference reads: aliasing.py)."""
    for key in keys:
        _replace(RULES[key], result_like=position)


def batching(kind: str, *keys: str, sig: str | None = None) -> None:
    """Say how vmap batches the primitives `keys` (see modes/batch.py): "reduce" (an axis argument,
    None for every axis), "scan" (an axis argument, None for the flattened array), "arg" (argmax: an
    axis argument, None for an index into the flattened array), "like" (the result has its first
    argument's shape), "flat" (np.ravel: each example flattened), "matmul", "dot", "outer", "transpose", "reshape", "join" (concatenate, stack),
    "parts" (gives a list of arrays: once per example, each part stacked), "elementwise" (for a rule not marked elementwise: comparisons, np.sign), "runtime" (a helper of
    generated code with a batched form `_bt.<name>` taking its arguments and which are batched).
    `sig`: the signature to bind arguments by, for a rule registered without one."""
    for key in keys:
        changes = {"batch": kind, "parts": True} if kind == "parts" else {"batch": kind}
        if sig is not None:          # a rule without a signature (nondiff's *args): the one vmap reads
            changes["params"] = parse_signature(sig)
        _replace(RULES[key], **changes)


def holomorphic(*keys: str) -> None:
    """The primitives `keys` are holomorphic (or linear over the complex numbers): their templates hold
    for complex operands in JAX's convention, unchanged."""
    for key in keys:
        _replace(RULES[key], complex_ok=True)


def returns_parts(*keys: str) -> None:
    """The primitives `keys` may return a tuple or a list of arrays (batching "parts" says so too)."""
    for key in keys:
        _replace(RULES[key], parts=True)


def real_valued(*keys: str) -> None:
    """The primitives `keys` give real numbers (or integers, booleans) for complex operands too."""
    for key in keys:
        _replace(RULES[key], real_out=True)


def _replace(old: Rule, **changes) -> None:
    """The rule `old` with `changes`, under every key that names it (aliases keep sharing one rule)."""
    new = dataclasses.replace(old, **changes)
    for key in [k for k, r in RULES.items() if r is old]:
        _add(key, new)


def alias(key: str, target: str) -> None:
    """`key` is differentiated with the rule of `target`."""
    _add(key, RULES[target])


_FLAGGED: dict[str, frozenset[str]] = {}
_ADDED: dict[str, Rule] = {}      # rules registered after s2sad's own tables (s2sad.extend): in the cache key
STATE = {"version": 0, "builtin": True}    # version: changes whenever a rule is registered


_LISTENERS: list[Callable[[], None]] = []


def _add(key: str, r: Rule) -> None:
    RULES[key] = r
    _FLAGGED.clear()
    STATE["version"] += 1
    if not STATE["builtin"]:
        _ADDED[key] = r
        changed()


def on_change(listener: Callable[[], None]) -> None:
    """Call `listener` whenever a rule is registered after s2sad's own (so code made before is dropped)."""
    _LISTENERS.append(listener)


def changed() -> None:
    """Tell the listeners that the rules changed (a rule registered, a custom rule defined)."""
    for listener in _LISTENERS:
        listener()


def builtin_loaded() -> None:
    """Called once s2sad's own tables are in: rules registered from now on are the user's."""
    STATE["builtin"] = False


def version() -> int:
    """A number that changes whenever a rule is registered (so lookups built from the table rebuild)."""
    return STATE["version"]


_PRINTED: dict[int, tuple] = {}     # rules' version -> their fingerprint


def fingerprint() -> tuple:
    """The rules registered after s2sad's own, as text: generated code depends on them (the cache key)."""
    v = STATE["version"]
    if v not in _PRINTED:
        _PRINTED.clear()
        _PRINTED[v] = tuple(sorted((k, repr(r)) for k, r in _ADDED.items()))
    return _PRINTED[v]


def flagged(flag: str) -> frozenset[str]:
    """The primitives whose rule has `flag` set (`reduction`, `view`) or, for `impure`, not `pure`."""
    if flag not in _FLAGGED:
        if flag == "impure":
            _FLAGGED[flag] = frozenset(k for k, r in RULES.items() if not r.pure)
        else:
            _FLAGGED[flag] = frozenset(k for k, r in RULES.items() if getattr(r, flag))
    return _FLAGGED[flag]


def shape_arg(key: str) -> int | None:
    """Which argument of the runtime helper `key` is read only for its shape (None: none, or no rule)."""
    r = RULES.get(key)
    return r.shape_arg if r is not None else None
