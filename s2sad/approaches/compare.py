"""The three ways to differentiate, side by side: `compare(f, *args)` runs automatic (reverse and forward
mode), symbolic and numerical (forward, central, complex-step) differentiation on the same function and
point, and reports each one's gradient, error, time per call, set-up time and code size.

The reference is the symbolic derivative when SymPy can build it (exact up to rounding), else the
automatic reverse-mode gradient, which the report then checks against the complex step.
"""
from __future__ import annotations

import ast
import html
import re
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import backends
from ..api.convert import fresh
from ..errors import DifferentiationError
from .numerical import Kinks

__all__ = ["compare", "Report", "code_lines", "APPROACHES"]

APPROACHES = ("automatic (reverse)", "automatic (forward)", "symbolic",
              "numerical (forward)", "numerical (central)", "numerical (complex step)")


# --- sizes and formatting --------------------------------------------------------------------------

def code_lines(source: str) -> int:
    """Lines of code in generated source: statements inside its functions (no comments, blank lines,
    docstrings, imports or `def` lines)."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        for stmt in body:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.stmt) and not isinstance(sub, (ast.FunctionDef, ast.Import, ast.ImportFrom)):
                    lines.add(sub.lineno)
    return len(lines)


def _flat(g: Any) -> np.ndarray:
    """A gradient (number, array or tuple of them) as one flat float64 array."""
    parts = g if isinstance(g, tuple) else (g,)
    return np.concatenate([np.asarray(backends.to_host(p), dtype=np.float64).ravel() for p in parts]) \
        if parts else np.zeros(0)


def short(g: Any, width: int = 36) -> str:
    """A gradient shortened for a table cell: 12 significant digits for a number, a few for arrays."""
    if isinstance(g, tuple):
        return "(" + ", ".join(short(p, width) for p in g) + ")"
    a = np.asarray(backends.to_host(g))
    if a.ndim == 0:
        return f"{float(a):.12g}"
    text = np.array2string(a.ravel() if a.ndim > 1 else a, precision=4, threshold=4, edgeitems=2,
                           max_line_width=10 ** 6, separator=" ")
    text = text.replace("\n", "")
    if len(text) > width:
        text = text[:width - 4] + " ...]"
    return text + (f" {a.shape}" if a.ndim > 1 or a.size > 4 else "")


def _sci(v: float | None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    return "0" if v == 0 else f"{v:.1e}"


def _seconds(s: float | None) -> str:
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _one_line(message: str, width: int | None = 100) -> str:
    """The message on one line, without a leading `file:line:col: `, cut to `width` characters (None: whole)."""
    text = " ".join(re.sub(r"^\S+?:\d+(:\d+)?: ", "", message.strip()).split())
    return text if width is None or len(text) <= width else text[:width - 3] + "..."


# --- timing ----------------------------------------------------------------------------------------

def time_per_call(call: Callable[[], Any], min_time: float = 0.01, repeat: int = 5) -> float:
    """Median seconds per call: like timeit's autorange (1, 2, 5, 10, 20, ... calls until one run takes
    `min_time`), then `repeat` runs of that many calls."""
    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    n = 1
    while run(n) < min_time and n < 10 ** 6:
        n = n * 5 // 2 if str(n)[0] == "2" else n * 2        # 1, 2, 5, 10, 20, 50, ...
    return float(np.median([run(n) / n for _ in range(max(1, repeat))]))


# --- the approaches --------------------------------------------------------------------------------

def _nums(argnums: int | tuple[int, ...]) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _automatic_reverse(fun: Callable, argnums) -> tuple[Callable, Callable[[], dict]]:
    from ..api.transforms import grad
    g = grad(fun, argnums=argnums)
    return g, lambda: {"lines": code_lines(g.source)}


def _automatic_forward(fun: Callable, argnums) -> tuple[Callable, Callable[[], dict]]:
    from ..api.family import jacobian
    from ..codegen import pipeline as compiler
    from ..api import family
    from ..errors import NonScalarOutputError
    jacs = [(i, jacobian(fun, argnums=i, mode="forward")) for i in _nums(argnums)]

    def forward_grad(*args):
        out = []
        for i, jac in jacs:
            d = jac(*args)
            if np.size(d) != np.size(args[i]):
                raise NonScalarOutputError(f"{getattr(fun, '__name__', fun)} returned an array, but a "
                                           f"gradient needs a scalar output (its Jacobian has shape {np.shape(d)})")
            d = np.reshape(d, np.shape(args[i]))
            out.append(d if isinstance(args[i], np.ndarray) or backends.is_cupy(args[i]) else float(d))
        return out[0] if isinstance(argnums, int) else tuple(out)

    def size() -> dict:
        t = family.target(fun)                 # what jacobian differentiates (a transformation's own code)
        return {"lines": sum(code_lines(compiler.compile_jvp(t.fn, (i,), select=t.select).source)
                             for i in _nums(argnums))}

    return forward_grad, size


def _symbolic(fun: Callable, argnums) -> tuple[Callable, Callable[[], dict]]:
    from . import symbolic
    g = symbolic.grad(fun, argnums=argnums)
    return g, lambda: {"lines": code_lines(g.source), "ops_before_cse": g.ops_before_cse,
                       "ops_after_cse": g.ops_after_cse}


def _numerical(method: str):
    def make(fun: Callable, argnums) -> tuple[Callable, Callable[[], dict]]:
        from . import numerical
        return numerical.grad(fun, argnums=argnums, method=method), dict
    return make


MAKERS: dict[str, Callable] = {
    "automatic (reverse)": _automatic_reverse,
    "automatic (forward)": _automatic_forward,
    "symbolic": _symbolic,
    "numerical (forward)": _numerical("forward"),
    "numerical (central)": _numerical("central"),
    "numerical (complex step)": _numerical("complex"),
}


def _f_calls(name: str, n: int) -> int | None:
    """Evaluations of f per gradient for the numerical methods (n: number of differentiated elements)."""
    return {"numerical (forward)": n + 1, "numerical (central)": 2 * n, "numerical (complex step)": n}.get(name)


def _run(name: str, fun: Callable, args: tuple, argnums, timing: bool, min_time: float,
         repeat: int, n_elements: int) -> dict:
    """One row: build the approach, call it once (set-up), time it, measure its size."""
    kind = name.split(" ")[0]
    row: dict[str, Any] = {"approach": name, "kind": kind, "gradient": None, "abs_error": None,
                           "rel_error": None, "seconds_per_call": None, "setup_seconds": None,
                           "lines": None, "ops_before_cse": None, "ops_after_cse": None,
                           "f_calls": _f_calls(name, n_elements), "error": None, "note": None}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            d, size = MAKERS[name](fun, argnums)
            g = d(*args)
            row["setup_seconds"] = time.perf_counter() - start
        flat = _flat(g)
        row["gradient"] = g
        notes = [_one_line(str(w.message), 160) for w in caught if not issubclass(w.category, DeprecationWarning)]
        if not np.all(np.isfinite(flat)):
            notes.append("not finite")
        try:
            row.update(size())
        except Exception as exc:       # a size that cannot be measured is not a failed approach
            notes.append(f"size unknown: {_one_line(str(exc), 80)}")
        row["note"] = "; ".join(dict.fromkeys(notes)) or None
        if timing:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # GPU work is asynchronous: the backend waits for it (NumPy's call is the call itself)
                call = backends.of(args).synchronized(lambda: d(*args))
                row["seconds_per_call"] = time_per_call(call, min_time, repeat)
    except Exception as exc:           # a row that says why, never a crash
        row["gradient"] = None
        row["error"] = f"{type(exc).__name__}: {exc}" if not _is_s2sad_error(exc) else str(exc)
    return row


def _is_s2sad_error(exc: Exception) -> bool:
    from ..errors import DifferentiationError
    return isinstance(exc, DifferentiationError)


def _errors(g: Any, ref: np.ndarray, excused: set[int] = frozenset()) -> tuple[float, float]:
    """(max |g - ref|, max |g - ref| / |ref| over the elements where ref != 0), leaving out the
    `excused` elements (kinks where both values lie between the one-sided slopes)."""
    a = _flat(g)
    if a.shape != ref.shape:
        return float("nan"), float("nan")
    with np.errstate(all="ignore"):
        diff = np.where(a == ref, 0.0, np.abs(a - ref))
        diff[list(excused)] = 0.0
        nz = ref != 0
        rel = float(np.max(diff[nz] / np.abs(ref[nz]))) if np.any(nz) else float("nan")
    return (float(np.max(diff)) if diff.size else 0.0), rel


# --- kinks -----------------------------------------------------------------------------------------

_KINK_TOL = (1e-5, 1e-6)      # (rtol, atol * max(1, |f(x)|)) on a value against the one-sided slopes


def _kinks(fun: Callable, args: tuple, nums: tuple[int, ...], names: list[str], ok: dict[str, dict],
           reference: str) -> tuple[dict[str, set[int]], list[str]]:
    """Where a numerical row disagrees with the reference, the element is checked for a kink (one-sided
    slopes that differ by far more than their error). There the numerical value cannot take a convention:
    it agrees when it and the reference lie between the slopes. Returns, per approach, the elements so
    excused from its error, and a line per kink naming every approach's value and the verdict."""
    ref = _flat(ok[reference]["gradient"])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            f = np.abs(np.asarray(backends.to_host(fun(*fresh(args))))).astype(np.float64)
        scale = max(1.0, float(np.max(f))) if f.size and np.all(np.isfinite(f)) else 1.0
    except Exception:                  # the rows say what failed; the tolerance only needs a scale
        scale = 1.0
    rtol, atol = _KINK_TOL[0], _KINK_TOL[1] * scale
    where = [(i, k) for i in nums for k in range(int(np.size(args[i])))]    # flat position -> (argument, element)
    kinks, found, excused = Kinks(fun, args), {}, {}
    for name, row in ok.items():
        a = _flat(row["gradient"])
        if not name.startswith("numerical") or a.shape != ref.shape:
            continue
        with np.errstate(all="ignore"):
            bad = ~(np.abs(a - ref) <= atol + rtol * np.abs(ref)) & (a != ref)
        for j in np.flatnonzero(bad):
            kink = found[j] if j in found else kinks.at(*where[j])
            if kink is None:
                continue
            found[j] = kink
            if kink.contains(a[j], rtol, atol) and kink.contains(ref[j], rtol, atol):
                excused.setdefault(name, set()).add(int(j))
    lines = []
    for j, kink in sorted(found.items()):
        i, k = where[j]
        shape = np.shape(args[i])
        element = f"{names[i]}[{', '.join(map(str, np.unravel_index(k, shape)))}]" if shape else names[i]
        values = {name: float(_flat(row["gradient"])[j]) for name, row in ok.items()
                  if _flat(row["gradient"]).shape == ref.shape}
        lines.append(f"{element}: {kink.describe(values, rtol, atol)}")
    return excused, lines


# --- the report ------------------------------------------------------------------------------------

@dataclass
class Report:
    """The result of `compare`: `rows` (one dict per approach), the reference used, the point, and `kinks`
    (a line per element at a kink, where numerical errors are taken against the one-sided slopes).

    Row keys: approach, kind, gradient, abs_error, rel_error, seconds_per_call, setup_seconds, lines,
    ops_before_cse, ops_after_cse, f_calls, error (why the approach failed, else None), note.
    """

    function: str
    point: str
    argnums: int | tuple[int, ...]
    wrt: str
    reference: str | None
    reference_note: str
    rows: list[dict] = field(default_factory=list)
    kinks: list[str] = field(default_factory=list)

    COLUMNS = ("approach", "gradient", "max abs err", "max rel err", "time/call", "set-up", "size")

    def row(self, approach: str) -> dict:
        """The row of one approach, e.g. report.row("symbolic")."""
        for r in self.rows:
            if r["approach"] == approach:
                return r
        raise KeyError(f"no row {approach!r}; rows: {[r['approach'] for r in self.rows]}")

    @staticmethod
    def _size(r: dict) -> str:
        parts = []
        if r["ops_before_cse"] is not None:
            parts.append(f"{r['ops_before_cse']} ops ({r['ops_after_cse']} after CSE)")
        if r["lines"] is not None:
            parts.append(f"{r['lines']} lines")
        if r["f_calls"] is not None:
            parts.append(f"{r['f_calls']} call{'' if r['f_calls'] == 1 else 's'} of f")
        return ", ".join(parts) or "-"

    def cells(self) -> list[list[str]]:
        """The table as strings, one list per row (failed rows: the reason in the gradient column)."""
        out = []
        for r in self.rows:
            if r["error"] is not None:
                out.append([r["approach"], "failed: " + _one_line(r["error"], None), "", "", "", "", ""])
                continue
            is_ref = r["approach"] == self.reference
            out.append([r["approach"] + (" *" if is_ref else ""), short(r["gradient"]),
                        "(reference)" if is_ref else _sci(r["abs_error"]),
                        "" if is_ref else _sci(r["rel_error"]),
                        _seconds(r["seconds_per_call"]), _seconds(r["setup_seconds"]), self._size(r)])
        return out

    def _footer(self) -> list[str]:
        lines = [f"* reference: {self.reference_note}"]
        lines += [f"  {r['approach']}: {r['note']}" for r in self.rows if r["note"] and r["error"] is None]
        lines += [f"  {k}" for k in self.kinks]
        return lines

    def __str__(self) -> str:
        table = [list(self.COLUMNS)] + self.cells()
        failed = {i + 1 for i, r in enumerate(self.rows) if r["error"] is not None}
        widths = [max(len(row[c]) for k, row in enumerate(table) if k not in failed or c == 0)
                  for c in range(len(self.COLUMNS))]
        lines = [self.title()]
        for k, row in enumerate(table):
            if k in failed:      # the whole reason, wrapped under the columns after the first
                room = max(60, sum(widths[1:]) + 2 * (len(widths) - 2))
                wrapped = textwrap.wrap(row[1], room, break_on_hyphens=False) or [""]
                lines.append(f"{row[0]:<{widths[0]}}  {wrapped[0]}")
                lines += [" " * (widths[0] + 2 + len("failed: ")) + more for more in wrapped[1:]]
            else:
                lines.append("  ".join(cell.ljust(w) if c < 2 else cell.rjust(w) if c < 6 else cell.ljust(w)
                                       for c, (cell, w) in enumerate(zip(row, widths))).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines + self._footer())

    def title(self) -> str:
        return f"gradient of {self.function} with respect to {self.wrt} at {self.point}"

    def _repr_html_(self) -> str:
        e = html.escape
        head = "".join(f"<th>{e(c)}</th>" for c in self.COLUMNS)
        body = []
        for r, cells in zip(self.rows, self.cells()):
            if r["error"] is not None:
                body.append(f"<tr><td>{e(cells[0])}</td><td colspan='6' style='text-align:left'>"
                            f"failed: {e(r['error'])}</td></tr>")
            else:
                body.append("<tr>" + "".join(f"<td style='text-align:{'left' if c in (0, 1, 6) else 'right'}'>"
                                             f"{e(v)}</td>" for c, v in enumerate(cells)) + "</tr>")
        foot = "<br>".join(e(line) for line in self._footer())
        return (f"<table><caption>{e(self.title())}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table><p>{foot}</p>")

    def __repr__(self) -> str:
        return f"<s2sad.compare report of {self.function} at {self.point}: {len(self.rows)} rows>"


def arg_names(fun: Callable, n: int) -> list[str]:
    """Names of the first n positional arguments (arg0, arg1, ... where the signature has none)."""
    import inspect
    try:
        names = [p.name for p in inspect.signature(fun).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return [names[k] if k < len(names) else f"arg{k}" for k in range(n)]


def _point(names: list[str], args: tuple) -> str:
    def shown(a: Any) -> str:
        if isinstance(a, float):
            return repr(a)
        if isinstance(a, np.floating):
            return str(a)
        return str(a) if isinstance(a, (int, np.integer)) else short(a)
    return ", ".join(f"{name} = {shown(a)}" for name, a in zip(names, args))


def compare(fun: Callable, *args: Any, argnums: int | tuple[int, ...] = 0, timing: bool = True,
            min_time: float = 0.01, repeat: int = 5) -> Report:
    """Differentiate `fun` at `args` by every approach and report gradient, error, speed and size.

    Rows: automatic (reverse), automatic (forward), symbolic, numerical (forward, central, complex
    step). Errors are against the symbolic gradient when it exists, else the automatic reverse-mode
    one (checked against the complex step). Where a numerical gradient disagrees, the element is checked
    for a kink: there a numerical value and the reference between the one-sided slopes count as agreeing
    (no error), and `Report.kinks` says so. `timing=False` skips the timing; `min_time` and
    `repeat` tune it (median of `repeat` runs of at least `min_time` seconds each).
    """
    if not callable(fun):
        raise TypeError(f"compare expects a function, not {fun!r}")
    from ..api.convert import check_argnums
    check_argnums(fun, argnums)
    nums = _nums(argnums)
    if max(nums) >= len(args):
        raise ValueError(f"compare: argnums={argnums!r} but only {len(args)} argument(s) were given")
    if any(backends.lazy(a) for a in args):
        raise DifferentiationError("compare times and checks every approach on arrays in memory, not on lazy dask "
                                   "arrays: pass `x.compute()` (s2sad.grad runs on dask arrays by itself)")
    n_elements = sum(int(np.size(args[i])) for i in nums)
    rows = [_run(name, fun, args, argnums, timing, min_time, repeat, n_elements) for name in APPROACHES]
    ok = {r["approach"]: r for r in rows if r["error"] is None}

    reference, note = None, "none: no exact approach gave a finite gradient"
    for name in ("symbolic", "automatic (reverse)", "automatic (forward)", "numerical (complex step)"):
        if name in ok and np.all(np.isfinite(_flat(ok[name]["gradient"]))):
            reference = name
            break
    names = arg_names(fun, len(args))
    kinks: list[str] = []
    if reference is not None:
        ref = _flat(ok[reference]["gradient"])
        excused, kinks = _kinks(fun, args, nums, names, ok, reference)
        for r in ok.values():
            r["abs_error"], r["rel_error"] = (0.0, 0.0) if r["approach"] == reference \
                else _errors(r["gradient"], ref, excused.get(r["approach"], set()))
    if reference == "symbolic":
        note = "symbolic (SymPy's derivative, evaluated in float64)"
    elif reference is not None:
        check = next((c for c in ("numerical (complex step)", "numerical (central)")
                      if c in ok and c != reference), None)
        why = "symbolic failed" if "symbolic" not in ok else "symbolic is not finite"
        note = f"{reference} ({why})"
        if check is not None:
            note += f"; it agrees with {check} to {_sci(ok[check]['abs_error'])}"
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)
    return Report(name, _point(names, args), argnums, ", ".join(names[i] for i in nums), reference, note, rows,
                  kinks)
