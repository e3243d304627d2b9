"""The dask backend: arrays cut into chunks, computed lazily on one machine's cores or a dask.distributed
cluster. Generated code calls `da.` where NumPy's calls `np.`; every value stays a lazy dask array, but
for the branch and loop tests of the user's code, which are computed once where they are made (as the
CuPy file reads them back from the GPU). Gradients come back lazy: call `.compute()` (or
`dask.compute(*grads)`).

The gradient of a NumPy argument given beside dask ones (weights beside chunked data) is a dask array
too: float NumPy arguments become one-chunk dask arrays on the way in, so every gradient has the same
type. Integer and boolean NumPy arrays (indices, masks, labels) stay NumPy arrays.
"""
from __future__ import annotations

import ast
import importlib
import sys
import types
from typing import Any, Callable

import numpy as np

from .base import NUMPY_ALIAS, Backend, dotted as dotted_name, failing_user_line, raised_in, read_conditions_once, \
    refuse_at, refuse_scipy
from ..errors import DifferentiationError

# NumPy names the rules may emit that dask.array spells differently
RENAMED = types.MappingProxyType({"amax": "max", "amin": "min", "conjugate": "conj"})

# NumPy names generated dask code keeps as NumPy's: they read no array data (np.array: of a literal list;
# np.can_cast: of dtypes, in the checks of a list grown into an array)
KEPT = frozenset({"s_", "newaxis", "float64", "float32", "int64", "int32", "pi", "e", "inf", "nan", "can_cast"})

_NO_DASK = "dask.array has no such function"
GAPS = types.MappingProxyType({
    **dict.fromkeys(("argsort", "sort"), f"sorting a chunked axis; {_NO_DASK}"),
    **dict.fromkeys(("array_split", "split", "hsplit", "vsplit", "dsplit"), f"splitting into pieces; {_NO_DASK}"),
    **dict.fromkeys(("linalg.det", "linalg.slogdet", "linalg.eigh", "linalg.eigvalsh", "linalg.pinv",
                     "linalg.matrix_power"), f"dense linear algebra; {_NO_DASK}"),
    **dict.fromkeys(("cross", "inner", "kron", "polyval", "interp", "take_along_axis"), _NO_DASK),
    **dict.fromkeys(("array_equal", "identity", "heaviside", "size"), _NO_DASK),
})


class DaskBackend(Backend):
    """dask.array: lazy chunked arrays; NumPy arguments become one-chunk dask arrays."""

    name = "dask"
    module = "dask.array"
    alias = "da"
    title = "dask"
    gaps = GAPS
    spellings = types.MappingProxyType({
        **{k: f"da.{v}" for k, v in RENAMED.items()},
        "copy": "da.asarray(a).copy(): a new array object, which a later write does not share",
        "add.at": "_rt.add_at(a, index, g): a write at the index, repeats summed first",
        **{k: f"np.{k}: kept NumPy's (it reads no array data)" for k in sorted(KEPT)},
    })
    needs_device = True            # NumPy arguments are made dask arrays
    shares_views = False           # `v = a[1:]` is an array of its own: a write into a does not reach v
    lazy = True
    printer = "NumPyPrinter"

    def imported(self) -> bool:
        return "dask.array" in sys.modules

    def owns(self, x: Any) -> bool:
        if "dask.array" not in sys.modules:
            return False
        return isinstance(x, sys.modules["dask.array"].Array)

    def missing(self) -> str:
        try:
            importlib.import_module("dask.array")
        except ImportError as exc:
            return f"backend='dask' needs dask.array, which is not installed: pip install 's2sad[dask]' ({exc})"
        return ""

    def to_device(self, values: list) -> list:
        """Float NumPy arrays as one-chunk dask arrays; integer and boolean ones (indices, masks, labels)
        stay NumPy arrays, whose values indexing can read."""
        if not any(type(v) is np.ndarray and v.dtype.kind in "fc" for v in values):
            return values
        da = self.load()
        return [da.from_array(v, chunks=v.shape or ()) if type(v) is np.ndarray and v.dtype.kind in "fc" else v
                for v in values]

    def to_host(self, value: Any) -> Any:
        return np.asarray(value.compute()) if self.owns(value) else value

    def like(self, g: Any, x: Any) -> Any:
        """An array of x's shape and (float) dtype, chunked as x (a number `g` stands for every element)."""
        da = self.load()
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if not self.owns(g):
            g = da.full(x.shape, g, dtype=dtype, chunks=x.chunks) if np.ndim(g) == 0 \
                else da.from_array(np.asarray(g), chunks=x.chunks)
        if g.shape != x.shape:
            g = da.broadcast_to(g, x.shape)
        return g if g.dtype == dtype else g.astype(dtype)

    def _lower_in_place(self, call: ast.Call) -> None:
        """The in-place NumPy calls generated code makes, as dask spells them: `np.add.at(a, i, g)` becomes
        `_rt.add_at(a, i, g)` (dask.array has no scatter-add: a write at the distinct indices, repeats
        summed first), `np.copy(a)` (a snapshot before a write into a) becomes `da.asarray(a).copy()`,
        and the copies NumPy makes that dask skips (`a.astype(t)`, `np.array(a)`) get a `.copy()`."""
        key = dotted_name(call.func)
        if getattr(call, "s2sad_copied", False):
            return
        if key == f"{NUMPY_ALIAS}.add.at":
            call.func = ast.Attribute(value=ast.Name(id="_rt", ctx=ast.Load()), attr="add_at", ctx=ast.Load())
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "astype" or \
                key == f"{NUMPY_ALIAS}.array" and not _literal_array(call):
            # a copy in NumPy, the array itself in dask when nothing changes: a write into it would
            # write into the original
            inner = ast.Call(func=call.func, args=call.args, keywords=call.keywords)
            inner.s2sad_copied = True
            call.func, call.args, call.keywords = ast.Attribute(value=inner, attr="copy", ctx=ast.Load()), [], []
        elif key == f"{NUMPY_ALIAS}.copy" and len(call.args) == 1 and not call.keywords:
            made = ast.Call(func=ast.Attribute(value=ast.Name(id=self.alias, ctx=ast.Load()), attr="asarray",
                                               ctx=ast.Load()), args=call.args, keywords=[])
            call.func, call.args = ast.Attribute(value=made, attr="copy", ctx=ast.Load()), []

    def guarded(self, fn: Callable, text: str, filename: str) -> Callable:
        """`fn`, with what dask.array refuses while it runs (an unsupported chunking, a function it
        implements for some arguments only) raised as a DifferentiationError naming the user's line."""
        code_file = fn.__code__.co_filename

        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if isinstance(exc, DifferentiationError):
                    if str(exc).startswith(filename):
                        raise
                    why = str(exc)          # a runtime helper's refusal: said at the user's line
                elif raised_in(exc, "dask") or isinstance(exc, (TypeError, AttributeError)):
                    # (dask's functions refuse some NumPy keywords and arguments, and lack some methods)
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    why = (f"dask.array cannot run this function's gradient on these arrays ({type(exc).__name__}: "
                           f"{first}): rechunk them (`x.rechunk(...)`), or use backend='numpy' on computed arrays")
                else:
                    raise
                where = failing_user_line(exc, code_file, text)
                if where is None:
                    raise
                raise DifferentiationError(f"{filename}:{where[0]}: {why}\n    {where[0]} | {where[1]}") from exc
        run.__wrapped__ = fn
        run.__name__, run.__qualname__, run.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return run

    def lower(self, stmts: list, user_names: set[str] = frozenset()) -> list:
        """`np.f` becomes `da.f` (`np.amax`: `da.max`; what reads no array data stays NumPy's: `np.s_`,
        dtypes, `np.array` of constants); a name dask.array lacks is refused with the user's line; a
        branch condition tested again later is computed once, where it is made."""
        refuse_scipy(stmts, self.title)
        da = self.load()
        for s in stmts:
            for n in ast.walk(s):
                if isinstance(n, ast.Call):
                    self._lower_in_place(n)
                elif isinstance(n, ast.AugAssign):
                    _without_new_axes(n)
        literal = {id(n.func) for s in stmts for n in ast.walk(s) if _literal_array(n)}
        kept = set()                     # the `np` names that stay NumPy's
        for s in stmts:
            for n in ast.walk(s):
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == NUMPY_ALIAS:
                    if n.attr in KEPT or id(n) in literal:
                        kept.add(id(n.value))
                    elif n.attr != "linalg":
                        _lower_name(n, n.attr, da, s)
                elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute) \
                        and isinstance(n.value.value, ast.Name) and n.value.value.id == NUMPY_ALIAS:
                    _lower_name(n, f"{n.value.attr}.{n.attr}", da, s)
        for s in stmts:
            for n in ast.walk(s):
                if isinstance(n, ast.Name) and n.id == NUMPY_ALIAS and id(n) not in kept:
                    n.id = self.alias
        read_conditions_once(stmts, user_names)
        return stmts


def _without_new_axes(st: ast.AugAssign) -> None:
    """`a[:, None] += g` as `a[:] += g[:, 0]`, in place: dask.array cannot write through an index with new
    axes; the same elements get the same values (g's new axes have length 1). Left as it is with `...`."""
    target = st.target
    if not isinstance(target, ast.Subscript):
        return
    parts = list(target.slice.elts) if isinstance(target.slice, ast.Tuple) else [target.slice]
    new_axis = [isinstance(e, ast.Constant) and e.value is None for e in parts]
    if not any(new_axis) or any(isinstance(e, ast.Constant) and e.value is ... for e in parts):
        return
    picks = [ast.Constant(0) if new else ast.Slice() for e, new in zip(parts, new_axis)
             if new or isinstance(e, ast.Slice)]        # an integer index takes its axis away
    kept = [e for e, new in zip(parts, new_axis) if not new]
    target.slice = ast.Tuple(elts=kept, ctx=ast.Load()) if len(kept) > 1 else kept[0] if kept \
        else ast.Constant(...)
    st.value = ast.Subscript(value=st.value, slice=ast.Tuple(elts=picks + [ast.Constant(...)], ctx=ast.Load()),
                             ctx=ast.Load())


def _literal_array(n: ast.AST) -> bool:
    """`np.array([0, 0, 2])`: an array of constants (an index, say), which stays a NumPy array."""
    return isinstance(n, ast.Call) and dotted_name(n.func) == f"{NUMPY_ALIAS}.array" and len(n.args) == 1 \
        and all(isinstance(c, (ast.Constant, ast.List, ast.Tuple, ast.UnaryOp, ast.Load, ast.USub))
                for c in ast.walk(n.args[0]))


def _lower_name(attr: ast.Attribute, dotted: str, da: types.ModuleType, stmt: ast.stmt) -> None:
    """`np.<dotted>` as dask.array spells it, or a refusal naming the user's line where it has none."""
    new = RENAMED.get(dotted, dotted)
    target = da
    for part in new.split("."):
        target = getattr(target, part, None)
    if target is not None and new not in GAPS:
        attr.attr = new.rsplit(".", 1)[-1]
        return
    refuse_at(stmt, f"np.{dotted} has no dask.array form ({GAPS.get(dotted, _NO_DASK)}): use backend='numpy' "
                    "for this function, or compute its arrays first (`.compute()`)")


BACKEND = DaskBackend()
