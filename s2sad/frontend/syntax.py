"""The syntax fence: which Python constructs a differentiated function may use, and how messages name
the others. The compiler checks a function (and each helper it inlines) with `check`; the symbolic
route, which evaluates more (comprehensions, for one), names what it refuses with `describe`."""
from __future__ import annotations

import ast

from ..errors import NonDifferentiableError, UnsupportedSyntaxError
from .source import Source
from ..ir.nodes import walk_in_order

_STMTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.While, ast.For, ast.Break,
          ast.Continue, ast.Return, ast.Pass, ast.Assert, ast.Raise, ast.FunctionDef)
_EXPRS = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Constant,
          ast.Attribute, ast.Subscript, ast.Name, ast.List, ast.Tuple, ast.Slice, ast.keyword,
          ast.JoinedStr, ast.FormattedValue, ast.Starred, ast.Dict, ast.ListComp, ast.GeneratorExp, ast.Lambda)
_CONTEXT = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.arguments, ast.arg)
WHAT = {ast.Try: "try/except", ast.With: "a `with` block", ast.AsyncWith: "async with",
        ast.AsyncFor: "async for", ast.FunctionDef: "a nested `def`", ast.AsyncFunctionDef: "async def",
        ast.ClassDef: "a class definition", ast.Delete: "`del`", ast.Global: "a `global` statement",
        ast.Nonlocal: "a `nonlocal` statement", ast.Import: "an import", ast.ImportFrom: "an import",
        ast.Yield: "`yield`", ast.YieldFrom: "`yield from`", ast.Await: "`await`",
        ast.NamedExpr: "the walrus operator `:=`", ast.Lambda: "a lambda", ast.ListComp: "a list comprehension",
        ast.SetComp: "a set comprehension", ast.DictComp: "a dict comprehension",
        ast.GeneratorExp: "a generator expression", ast.Set: "a set literal",
        ast.Match: "a match statement", ast.Dict: "a dict literal"}


def check(src: Source) -> None:
    """Reject, with file, line and the source line, every construct outside the allow-list (the first
    one met), then np.emath (the first use met, by the same walk)."""
    first_complex = None
    for node in walk_in_order(ast.Module(body=src.tree.body, type_ignores=[])):
        if first_complex is None and _complex(node):
            first_complex = node
        if isinstance(node, ast.Module):
            continue
        if isinstance(node, _STMTS) or isinstance(node, _EXPRS) or isinstance(node, _CONTEXT) \
                or isinstance(node, (ast.comprehension, ast.alias, ast.withitem, ast.excepthandler)):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    _check_target(src, t)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                _check_target(src, node.target)
                if isinstance(node, ast.AnnAssign) and node.value is None:
                    raise src.error(UnsupportedSyntaxError, node, "an annotation without a value")
            elif isinstance(node, ast.FunctionDef) and (node.decorator_list or node.args.vararg or node.args.kwarg):
                raise src.error(UnsupportedSyntaxError, node, "a nested `def` with decorators, *args or **kwargs "
                                "(s2sad inlines a nested def where it is called: write it plainly)")
            elif isinstance(node, ast.For):
                if not isinstance(node.target, (ast.Name, ast.Tuple)):
                    raise src.error(UnsupportedSyntaxError, node, "a `for` target that is not a name or tuple of names")
            if isinstance(node, ast.Starred) and not isinstance(getattr(node, "value", None), ast.AST):
                raise src.error(UnsupportedSyntaxError, node, "starred expression")
            continue
        what = describe(node)
        raise src.error(UnsupportedSyntaxError, node, f"{what} is not supported inside a differentiated function")
    if first_complex is not None:
        raise src.error(NonDifferentiableError, first_complex, "np.emath is not supported: its functions change "
                        "type with the value (np.emath.sqrt(-1.0) is complex); write the complex value itself "
                        "(np.sqrt(x + 0j))")
    args = src.tree.args
    if args.vararg or args.kwarg:
        raise src.error(UnsupportedSyntaxError, src.tree, "*args and **kwargs parameters are not supported")


def describe(node: ast.AST) -> str:
    """How a message names a construct: "try/except", "a lambda", or its class name in backquotes."""
    return WHAT.get(type(node), f"`{type(node).__name__}`")


def _complex(node: ast.AST) -> bool:
    """np.emath (`np.emath.sqrt`): a result that is complex or not depending on the value."""
    return isinstance(node, ast.Attribute) and node.attr == "emath"


def _check_target(src: Source, t: ast.expr) -> None:
    if isinstance(t, ast.Name):
        return
    if isinstance(t, (ast.Tuple, ast.List)):
        for e in t.elts:
            _check_target(src, e)
        return
    if isinstance(t, ast.Subscript):
        if not isinstance(t.value, ast.Name):
            raise src.error(UnsupportedSyntaxError, t, "assignment into a nested element (`x[i][j] = ...` or "
                            "`obj.attr[i] = ...`); write `x[i, j] = ...`")
        return
    if isinstance(t, ast.Attribute):
        raise src.error(UnsupportedSyntaxError, t, "assignment to an attribute is not supported")
    raise src.error(UnsupportedSyntaxError, t, f"assignment target {type(t).__name__}")


# --- how refusals of attributes and methods read ------------------------------------------------------

_UFUNC_METHODS = {
    "outer": {"add": "{x}[:, None] + {y}[None, :]", "subtract": "{x}[:, None] - {y}[None, :]",
              "multiply": "{x}[:, None] * {y}[None, :]", "divide": "{x}[:, None] / {y}[None, :]",
              "power": "{x}[:, None] ** {y}[None, :]", "": "np.{ufunc}({x}[:, None], {y}[None, :])"},
    "reduce": {"add": "np.sum({x}, axis=0)", "multiply": "np.prod({x}, axis=0)",
               "maximum": "np.max({x}, axis=0)", "minimum": "np.min({x}, axis=0)"},
    "accumulate": {"add": "np.cumsum({x}, axis=0)", "multiply": "np.cumprod({x}, axis=0)"},
}


def _short(node: ast.AST, width: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= width else text[:width - 3] + "..."


def attribute_refusal(node: ast.Attribute) -> str:
    """The message for reading an attribute s2sad does not differentiate through (`self.w`, `model.b`)."""
    text = _short(node)
    return (f"reading the attribute `{text}` is not supported inside a differentiated function (s2sad reads "
            "modules' functions and arrays' .T, .shape, .ndim, .size and .dtype). Pass the value in as an "
            f"argument instead: add a parameter `{node.attr}` and call the function with `{text}` (a "
            "parameter you do not differentiate is a constant)")


def method_refusal(node: ast.Call) -> str:
    """The message for a method call s2sad has no rule for: a ufunc's method (`np.add.outer`), a random
    generator's draw (`rng.normal(...)`), any other object's method."""
    func = node.func
    assert isinstance(func, ast.Attribute)
    name, text = func.attr, _short(node)
    owner = func.value
    if isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and name in _UFUNC_METHODS:
        ufunc = owner.attr
        forms = _UFUNC_METHODS[name]
        args = [_short(a, 20) for a in node.args] + ["x", "y"]
        form = forms.get(ufunc) or forms.get("")
        instead = (f"write it without the ufunc method: `{form.format(x=args[0], y=args[1], ufunc=ufunc)}`"
                   if form else "write it with NumPy functions s2sad has rules for (broadcasting, np.sum, "
                   "np.cumsum, ...)")
        return (f"`{text}`: the ufunc method .{name}() is not supported inside a differentiated function; "
                f"{instead}")
    return (f"`{text}` calls the method .{name}() of `{_short(owner, 30)}`, which is not supported inside a "
            "differentiated function: s2sad differentiates NumPy functions (np.*), the array methods it has "
            "rules for (.sum(), .mean(), .dot(), .reshape(), ...) and your own functions. If the value does "
            f"not depend on what you differentiate (random numbers, a lookup), compute it before the call and "
            f"pass it in as an argument (`v = {text}`, then `f(x, v)`)")
