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

from ..ir.names import dotted
from ..ir.nodes import walk, walk_in_order
from ..errors import DifferentiationError, UnsupportedSyntaxError, error_at


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
    """The Python function behind `fn`: a method's, staticmethod's or classmethod's function. A decorator's
    wrapper (`functools.wraps`) is kept: it is differentiated as written, with the function it wraps
    inlined where it calls it (see `load`)."""
    kind = getattr(fn, "_s2sad_derivative", None)
    if kind is not None and hasattr(fn, "__wrapped__"):
        # its __wrapped__ is the function it differentiates: transforming that source would be wrong
        raise DifferentiationError(
            f"s2sad cannot transform {kind} callables (here of {getattr(fn.__wrapped__, '__qualname__', fn)}); "
            "compose the automatic ones instead: hessian(f), jacobian(grad(f)), jvp(grad(f), ...)")
    if isinstance(fn, (staticmethod, classmethod)):
        fn = fn.__func__
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    if not isinstance(fn, types.FunctionType) and hasattr(fn, "__wrapped__"):
        inner = getattr(fn.__wrapped__, "__qualname__", repr(fn.__wrapped__))
        raise DifferentiationError(
            f"{inner} is wrapped by {type(fn).__module__}.{type(fn).__qualname__}, a decorator whose code s2sad "
            f"cannot read, so it cannot tell what the wrapper does to the values: differentiate the undecorated "
            f"function (its __wrapped__), or write the decorator as a Python function with functools.wraps")
    return fn


def _block_at(lines: list[str], start: int):
    """(dedented text, parsed module) of the `def` (with its decorators) starting at line index `start`;
    None when unsure.

    inspect.getsourcelines finds the end of a block with the pure-Python tokenize module, whose
    regular expressions take ~1.5 ms to compile in each new process (Python <= 3.11): most of a disk
    hit. The block ends before the first line, after the `def` line, that is code indented no deeper
    than the `def`; a cut inside a bracket, a string or a continuation line does not parse.
    """
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
    if len(module.body) != 1 or not isinstance(module.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    return text, module


def _candidates(fn, code):
    """(text, first line, parsed module) of the `def`s that may be `fn`'s, most likely first: the block at
    the code's first line in linecache as it is, then after re-reading a file changed on disk, then every
    `def` of that name in the file (it moved), then inspect's reading."""
    filename = code.co_filename
    module_globals = getattr(fn, "__globals__", None)
    seen = set()
    for reread in (False, True):
        if reread:
            linecache.checkcache(filename)
        lines = linecache.getlines(filename, module_globals)
        found = _block_at(lines, code.co_firstlineno - 1)
        if found is not None and found[0] not in seen:
            seen.add(found[0])
            yield found[0], code.co_firstlineno, found[1], lines
    lines = linecache.getlines(filename, module_globals)
    whole = _parse_file(lines)
    if whole is not None:
        for node in walk_in_order(whole):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                found = _block_at(lines, first - 1)
                if found is not None and found[0] not in seen:
                    seen.add(found[0])
                    yield found[0], first, found[1], lines
    try:
        src_lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return
    text = textwrap.dedent("".join(src_lines))
    try:
        module = ast.parse(text)
    except SyntaxError:
        return
    if text not in seen and len(module.body) == 1:
        yield text, first, module, lines


def _shift_lines(module: ast.Module, n: int) -> None:
    """ast.increment_lineno(module, n), quicker: contexts and operators, which have no lines, not visited."""
    for node in walk(module):
        if type(node) is ast.TypeIgnore:
            node.lineno = getattr(node, "lineno", 0) + n
            continue
        attributes = node._attributes
        if "lineno" in attributes:
            node.lineno = getattr(node, "lineno", 0) + n
        if "end_lineno" in attributes and (end := getattr(node, "end_lineno", 0)) is not None:
            node.end_lineno = end + n


def _parse_file(lines: list[str]) -> ast.Module | None:
    try:
        return ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None


def _module_imports(lines: list[str]) -> set[str]:
    """Names a file binds by `import` at module level. Python compiles `np.sum(x)` differently when `np`
    is one of them, so the check of a `def` against its code object compiles it with the same names."""
    memo = _IMPORTS.get(id(lines))
    if memo is not None and memo[0] is lines:
        return memo[1]
    tree = _parse_file(lines)
    out: set[str] = set()
    todo = list(tree.body) if tree is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or type(node).__name__ == "TryStar":
            for part in ("body", "orelse", "finalbody", "handlers"):
                todo.extend(getattr(node, part, []) or [])
        elif isinstance(node, ast.ExceptHandler):
            todo.extend(node.body)
    if len(_IMPORTS) > 64:
        _IMPORTS.clear()
    _IMPORTS[id(lines)] = (lines, out)     # linecache hands out the same list until the file is re-read
    return out


_IMPORTS: dict[int, tuple[list, set]] = {}


def _compiled_def(module: ast.Module, code: types.CodeType, filename: str,
                  imported: set[str] = frozenset()) -> types.CodeType | None:
    """The code object Python makes of the `def` in `module`, compiled where `code` was: inside a function
    that gives its free variables, a class for `super()` (its `__class__` cell), in a module that imports
    the names `imported`."""
    # the nodes made here get line numbers before the parsed ones go in (which have theirs): a walk of
    # the whole function by fix_missing_locations was half of the time of loading a long one
    body = list(module.body)
    free = [v for v in code.co_freevars if v != "__class__"]
    if "__class__" in code.co_freevars:
        cls = ast.fix_missing_locations(ast.ClassDef(name="_s2sad_class", bases=[], keywords=[], body=[],
                                                     decorator_list=[]))
        cls.body = body
        body = [cls]
    if free:
        assign = ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store()) for v in free], value=ast.Constant(None))
        outer = ast.fix_missing_locations(ast.FunctionDef(name="_s2sad_outer", args=ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=[assign], decorator_list=[], returns=None))
        outer.body += body
        body = [outer]
    stubs = [ast.fix_missing_locations(ast.Import(names=[ast.alias(name="_s2sad_stub", asname=n)]))
             for n in sorted(imported)]
    tree = ast.Module(body=stubs + body, type_ignores=[])
    try:
        compiled = compile(tree, filename, "exec", flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None
    todo = [compiled]
    while todo:
        for const in todo.pop().co_consts:
            if isinstance(const, types.CodeType):
                if const.co_name == code.co_name:
                    return const
                todo.append(const)
    return None


_FUTURE_FLAGS = 0
for _feature in ("annotations", "division", "generator_stop"):
    import __future__
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether two code objects compute the same thing (line numbers aside)."""
    if (a.co_code, a.co_names, a.co_varnames, a.co_freevars, a.co_cellvars, a.co_argcount,
            a.co_posonlyargcount, a.co_kwonlyargcount) != (b.co_code, b.co_names, b.co_varnames, b.co_freevars,
                                                           b.co_cellvars, b.co_argcount, b.co_posonlyargcount,
                                                           b.co_kwonlyargcount):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) or isinstance(y, types.CodeType):
            if not (isinstance(x, types.CodeType) and isinstance(y, types.CodeType) and same_code(x, y)):
                return False
        elif type(x) is not type(y) or (x != y and not (x != x and y != y)):
            return False
    return True


def load(fn: Callable) -> Source:
    """Read and parse the source of `fn`; raise DifferentiationError when it has none.

    The source is the text whose compiled code is `fn.__code__`: a file edited since the function was
    defined (the `def` moved, or another function now stands at its line) is never differentiated in its
    place. A decorator's wrapper (`functools.wraps`) that passes `*args, **kwargs` on is read with the
    wrapped function's parameters. A bound method (`model.loss`, and a callable object's `__call__`) is
    its function with the first parameter (`self`) a constant read from the object at each call."""
    bound = _bound_object(fn)
    if bound is not None:
        fn = fn.__func__ if isinstance(fn, types.MethodType) else fn.__call__.__func__
    fn = unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        raise DifferentiationError(
            f"{fn!r} is not a Python function: s2sad needs the source of a `def` (NumPy functions with a "
            "rule, such as np.sin, are read as `def sin(x): return np.sin(x)`). Write one that calls it: "
            "`def f(x): return ...`, and differentiate f.")
    filename = code.co_filename
    if code.co_name == "<lambda>":
        return _load_lambda(fn, code)
    chosen = None
    tried = False
    for text, first, module, lines in _candidates(fn, code):
        tried = True
        node = module.body[0]
        if getattr(node, "name", None) != code.co_name:
            continue
        _shift_lines(module, first - 1)
        imported = _module_imports(lines)
        compiled = _compiled_def(module, code, filename, imported)
        if (compiled is None or not same_code(compiled, code)) and imported:
            # IPython and Jupyter compile a cell one statement at a time: the cell's imports were not in
            # the unit the `def` was compiled in
            compiled = _compiled_def(module, code, filename)
        if compiled is not None and same_code(compiled, code):
            chosen = text, module
            break
    if chosen is None:
        if not tried:
            raise DifferentiationError(
                f"cannot find the source of {fn.__qualname__} (defined in {filename!r}). s2sad transforms "
                "source code, so define the function in a file, a notebook cell or an IPython session (not "
                "with exec() of a string or at the plain `python` prompt).")
        raise DifferentiationError(
            f"{filename}:{code.co_firstlineno}: the source of {fn.__qualname__} in this file is not the code "
            "Python runs (the file was edited after the function was defined): reload the module "
            "(importlib.reload) or restart, so that s2sad differentiates the function you call.")
    text, module = chosen
    node = module.body[0]
    if isinstance(node, ast.AsyncFunctionDef):
        raise error_at(UnsupportedSyntaxError, filename, node, "async functions cannot be differentiated")
    node.decorator_list = []
    closure = {}
    if code.co_freevars and fn.__closure__:
        for name, cell in zip(code.co_freevars, fn.__closure__):
            closure[name] = cell
    if bound is not None:
        first = (node.args.posonlyargs or node.args.args or [None])[0]
        if first is None:
            raise error_at(UnsupportedSyntaxError, filename, node, f"{fn.__qualname__} is called as a method but "
                           "takes no parameter for the object")
        if node.args.posonlyargs:
            node.args.posonlyargs = node.args.posonlyargs[1:]
        else:
            node.args.args = node.args.args[1:]
        closure[first.arg] = types.CellType(bound)      # `self`: the object, read when the gradient runs
    src = Source(fn=fn, tree=node, filename=filename, text=text, globals=fn.__globals__, closure=closure)
    if hasattr(fn, "__wrapped__") and (node.args.vararg or node.args.kwarg):
        _forwarding(src)
    return src


def _bound_object(fn: Any) -> Any:
    """The object a bound method (or a callable object's `__call__`) is bound to, else None."""
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        return fn.__self__
    call = getattr(type(fn), "__call__", None)
    if not isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, type)) and isinstance(call, types.FunctionType) \
            and not hasattr(fn, "_s2sad_derivative") and not hasattr(fn, "__wrapped__"):
        return fn
    return None


def _load_lambda(fn: Callable, code: types.CodeType) -> Source:
    """A lambda's Source: the `lambda` in its file whose compiled code is `fn.__code__` (several on one line
    are told apart by their code), read as `def lambda_<line>(params): return <body>`."""
    filename = code.co_filename
    lines = linecache.getlines(filename, getattr(fn, "__globals__", None))
    whole = _parse_file(lines)
    found = None
    if whole is not None:
        imported = _module_imports(lines)
        for node in ast.walk(whole):
            if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
                module = ast.Module(body=[ast.copy_location(ast.Expr(value=node), node)], type_ignores=[])
                compiled = _compiled_def(module, code, filename, imported) or _compiled_def(module, code, filename)
                if compiled is not None and same_code(compiled, code):
                    found = node
                    break
    if found is None:
        raise DifferentiationError(
            f"{filename}:{code.co_firstlineno}: cannot find the source of this lambda (or the file changed "
            "since it was defined): write it as `def f(x): return ...` in a file, or reload the module")
    tree = ast.FunctionDef(name=f"lambda_{found.lineno}", args=found.args,
                           body=[ast.Return(value=found.body, lineno=found.lineno, col_offset=found.col_offset,
                                            end_lineno=found.end_lineno, end_col_offset=found.end_col_offset)],
                           decorator_list=[], returns=None, type_comment=None, lineno=found.lineno,
                           col_offset=found.col_offset, end_lineno=found.end_lineno,
                           end_col_offset=found.end_col_offset)
    text = ast.get_source_segment("".join(lines), found) or ast.unparse(found)
    closure = dict(zip(code.co_freevars, fn.__closure__ or ()))
    return Source(fn=fn, tree=tree, filename=filename, text=text, globals=fn.__globals__, closure=closure)


def _forwarding(src: Source) -> None:
    """A decorator's wrapper `def wrapper(*args, **kwargs)`, read with the parameters of the function it
    wraps: `func(*args, **kwargs)` becomes `func(x, y)`, `args[0]` becomes `x`. Any other use of args or
    kwargs is refused: s2sad cannot tell which values they hold."""
    tree, fn = src.tree, src.fn
    what = f"the decorator's wrapper {fn.__qualname__}"
    try:
        sig = inspect.signature(fn)        # follows __wrapped__: the wrapped function's parameters
    except (TypeError, ValueError):
        raise src.error(UnsupportedSyntaxError, tree, f"{what}: cannot read the wrapped function's signature") from None
    params = list(sig.parameters.values())
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
        raise src.error(UnsupportedSyntaxError, tree, f"{what} wraps a function with *args, **kwargs or "
                        "keyword-only parameters, which s2sad does not differentiate")
    a = tree.args
    if a.args or a.posonlyargs or a.kwonlyargs:
        raise src.error(UnsupportedSyntaxError, tree, f"{what} mixes named parameters with *args/**kwargs")
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names = [p.name if p.name not in taken else p.name + "_" for p in params]
    star, kw = (a.vararg.arg if a.vararg else None), (a.kwarg.arg if a.kwarg else None)

    class Forward(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            starred = [x for x in node.args if isinstance(x, ast.Starred)]
            double = [k for k in node.keywords if k.arg is None]
            if starred or double:
                if not (len(node.args) == 1 and starred and isinstance(starred[0].value, ast.Name)
                        and starred[0].value.id == star and len(node.keywords) == len(double) <= 1
                        and all(isinstance(k.value, ast.Name) and k.value.id == kw for k in double)):
                    raise src.error(UnsupportedSyntaxError, node, f"{what} passes its arguments on in a way "
                                    "s2sad does not follow; write `func(*args, **kwargs)`")
                node.args = [ast.Name(id=n, ctx=ast.Load()) for n in names]
                node.keywords = []
            return node

        def visit_Subscript(self, node):
            if isinstance(node.value, ast.Name) and node.value.id == star and isinstance(node.slice, ast.Constant) \
                    and type(node.slice.value) is int and -len(names) <= node.slice.value < len(names):
                return ast.copy_location(ast.Name(id=names[node.slice.value], ctx=node.ctx), node)
            self.generic_visit(node)
            return node

    tree.body = [Forward().visit(s) for s in tree.body]
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id in (star, kw):
            raise src.error(UnsupportedSyntaxError, n, f"{what} reads {n.id} in a way s2sad cannot follow "
                            "(it can read `args[0]` or pass `*args, **kwargs` on)")
    tree.args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in names], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])


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


def free_attribute(resolver: "Resolver", node: ast.expr) -> Any:
    """The object `node` names when it is an attribute chain on a value that is not a module and not a local
    (`self.w`, `model.layer`, `cfg.scale`), read now; _MISSING otherwise."""
    parts = dotted(node)
    if not parts or len(parts) < 2 or parts[0] in resolver.locals:
        return _MISSING
    obj = resolver.lookup(parts[0])
    if obj is _MISSING or isinstance(obj, types.ModuleType):
        return _MISSING
    for attr in parts[1:]:
        if isinstance(obj, types.ModuleType):
            return _MISSING
        try:
            obj = getattr(obj, attr)
        except Exception:          # noqa: BLE001 (a property that raises: not something to read)
            return _MISSING
    return obj


def user_method(obj: Any) -> bool:
    """A bound method written in Python (`self.loss`), or an object whose class defines `__call__` in Python."""
    if isinstance(obj, types.MethodType):
        return isinstance(obj.__func__, types.FunctionType) and not obj.__func__.__module__.startswith("numpy")
    return _bound_object(obj) is not None and not isinstance(obj, types.FunctionType)


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
    if mod.__name__ in ("scipy.special", "scipy.special._basic", "scipy.special._ufuncs"):
        return "scipy.special"
    return None
