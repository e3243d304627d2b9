"""Frontend: a user function's source, its AST with file line numbers, and name resolution."""
from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import math
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy

from .errors import DifferentiationError, UnsupportedSyntaxError, error_at


@dataclass
class Source:
    """A user function's parsed source. Line numbers in `tree` are line numbers of `filename`."""

    fn: Callable
    tree: ast.FunctionDef
    filename: str
    text: str                      # dedented source text of the function
    globals: dict = field(repr=False, default_factory=dict)
    closure: dict = field(repr=False, default_factory=dict)

    @property
    def qualname(self) -> str:
        return getattr(self.fn, "__qualname__", self.tree.name)

    @property
    def module(self) -> str:
        return getattr(self.fn, "__module__", None) or "__main__"

    @property
    def lineno(self) -> int:
        return self.tree.lineno

    def error(self, cls, node, message):
        return error_at(cls, self.filename, node, message)


def unwrap(fn: Callable) -> Callable:
    """Follow `__wrapped__` (functools.wraps, s2sad's own wrappers) to the innermost function."""
    seen = set()
    while hasattr(fn, "__wrapped__") and id(fn) not in seen:
        kind = getattr(fn, "_s2sad_derivative", None)
        if kind is not None:
            # its __wrapped__ is the function it differentiates: transforming that source would be wrong
            raise DifferentiationError(
                f"s2sad cannot transform {kind} callables (here of {getattr(fn.__wrapped__, '__qualname__', fn)}); "
                "compose the automatic ones instead: hessian(f), jacobian(grad(f)), jvp(grad(f), ...)")
        seen.add(id(fn))
        fn = fn.__wrapped__
    if isinstance(fn, (staticmethod, classmethod)):
        fn = fn.__func__
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    return fn


def _def_block(fn, code):
    """(dedented text, first line, parsed module) of `fn`'s `def`, read from linecache; None when unsure.

    inspect.getsourcelines finds the end of a block with the pure-Python tokenize module, whose
    regular expressions take ~1.5 ms to compile in each new process (Python <= 3.11): most of a disk
    hit. The block ends before the first line, after the `def` line, that is code indented no deeper
    than the `def`; a cut inside a bracket, a string or a continuation line does not parse, and any
    doubt (no such text, a parse error, not exactly this one `def`) falls back to inspect.
    """
    lines = linecache.getlines(code.co_filename, getattr(fn, "__globals__", None))
    start = code.co_firstlineno - 1
    if not 0 <= start < len(lines):
        return None
    k = start
    while k < len(lines) and lines[k].lstrip().startswith("@"):
        k += 1
    if k >= len(lines):
        return None
    indent = len(lines[k]) - len(lines[k].lstrip())
    end = k + 1
    for j in range(k + 1, len(lines)):
        body = lines[j].lstrip()
        if body and not body.startswith("#"):
            if len(lines[j]) - len(body) <= indent:
                break
            end = j + 1
    text = textwrap.dedent("".join(lines[start:end]))
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    if (len(module.body) != 1 or not isinstance(module.body[0], (ast.FunctionDef, ast.AsyncFunctionDef))
            or module.body[0].name != code.co_name):
        return None
    return text, start + 1, module


def load(fn: Callable) -> Source:
    """Read and parse the source of `fn`; raise DifferentiationError when it has none."""
    fn = unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        raise DifferentiationError(f"{fn!r} is not a Python function: s2sad needs the source of a `def`.")
    filename = code.co_filename
    linecache.checkcache(filename)
    found = _def_block(fn, code)
    if found is not None:
        text, first, module = found
    else:
        try:
            lines, first = inspect.getsourcelines(fn)
        except (OSError, TypeError) as exc:
            raise DifferentiationError(
                f"cannot find the source of {fn.__qualname__} (defined in {filename!r}): {exc}. "
                "s2sad transforms source code, so define the function in a file, a notebook cell or an "
                "IPython session (not with exec() of a string or at the plain `python` prompt)."
            ) from None
        text = textwrap.dedent("".join(lines))
        try:
            module = ast.parse(text)
        except SyntaxError as exc:
            raise DifferentiationError(f"{filename}:{first}: cannot parse the source of {fn.__qualname__}: {exc}") from None
    ast.increment_lineno(module, first - 1)
    node = module.body[0] if module.body else None
    if isinstance(node, ast.AsyncFunctionDef):
        raise error_at(UnsupportedSyntaxError, filename, node, "async functions cannot be differentiated")
    if not isinstance(node, ast.FunctionDef):
        raise error_at(
            UnsupportedSyntaxError, filename, node,
            f"{fn.__qualname__} is not defined by a `def` statement (a lambda?); s2sad needs a named function",
        )
    node.decorator_list = []
    closure = {}
    if code.co_freevars and fn.__closure__:
        for name, cell in zip(code.co_freevars, fn.__closure__):
            closure[name] = cell
    return Source(fn=fn, tree=node, filename=filename, text=text, globals=fn.__globals__, closure=closure)


# --- name resolution ---------------------------------------------------------------------------

_MISSING = object()


@dataclass(frozen=True)
class Resolved:
    """What a name or dotted name in user code refers to.

    kind: "local" (a variable of the function), "free" (a global or closed-over value, read at call
    time), "module", "callable" (a library or builtin function or class), "user" (a Python function
    with source, to be inlined), "constant" (a module-level constant such as np.pi).
    """

    kind: str
    name: str
    obj: Any = None


def dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"], or None when `node` is not a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


class Resolver:
    """Resolves names of a user function against its locals, globals, closure and builtins."""

    def __init__(self, src: Source, local_names: set[str]):
        self.src = src
        self.locals = local_names

    def lookup(self, name: str) -> Any:
        if name in self.src.closure:
            try:
                return self.src.closure[name].cell_contents
            except ValueError:
                return _MISSING
        if name in self.src.globals:
            return self.src.globals[name]
        return getattr(builtins, name, _MISSING)

    def resolve(self, node: ast.expr) -> Resolved | None:
        """Resolve a Name or dotted Attribute chain; None for anything else or an unknown root."""
        parts = dotted(node)
        if parts is None:
            return None
        root = parts[0]
        if root in self.locals:
            return Resolved("local", root) if len(parts) == 1 else None
        obj = self.lookup(root)
        if obj is _MISSING:
            raise self.src.error(UnsupportedSyntaxError, node, f"name {root!r} is not defined")
        for attr in parts[1:]:
            if not isinstance(obj, types.ModuleType):
                # attribute of a free value (e.g. a global array's .T): the free value is the root
                return None if len(parts) > 1 and not isinstance(self.lookup(root), types.ModuleType) else None
            nxt = getattr(obj, attr, _MISSING)
            if nxt is _MISSING:
                raise self.src.error(UnsupportedSyntaxError, node, f"module {obj.__name__!r} has no attribute {attr!r}")
            obj = nxt
        return classify(obj, ".".join(parts))


def classify(obj: Any, spelled: str) -> Resolved:
    """Classify a resolved object."""
    if isinstance(obj, types.ModuleType):
        return Resolved("module", obj.__name__, obj)
    if isinstance(obj, types.FunctionType) and not obj.__module__.startswith("numpy"):
        return Resolved("user", spelled, obj)
    if callable(obj):
        return Resolved("callable", spelled, obj)
    if isinstance(obj, (int, float, complex)) and "." in spelled:
        return Resolved("constant", spelled, obj)
    return Resolved("free", spelled, obj)


def canonical_module(mod: types.ModuleType) -> str | None:
    """The spelling generated code uses for a module: "np", "np.linalg", "math"; None if unsupported."""
    if mod is numpy:
        return "np"
    if mod is numpy.linalg:
        return "np.linalg"
    if mod is math:
        return "math"
    if mod.__name__ == "s2sad.runtime":
        return "_rt"
    return None
