"""Helpers for your own test suite: check s2sad's derivatives of your functions.

    from s2sad.testing import check_grads, assert_equivalent

    def test_my_loss():
        check_grads(my_loss, (w, X, y), order=2)     # generated derivatives vs finite differences
        assert_equivalent(my_loss, (w, X, y))         # automatic == symbolic == numerical

Both raise AssertionError with a table of the elements that disagree: which element, the two values,
which approaches, and by how much. By default every float argument is differentiated (ints such as
loop counts stay fixed); `argnums` picks others.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .api.family import fresh

__all__ = ["check_grads", "assert_equivalent", "Approaches"]

_EXACT = (1e-7, 1e-9)         # (rtol, atol) between exact-to-rounding approaches
_CENTRAL = (1e-5, 1e-6)       # against central differences; atol is scaled by max(1, |f(x)|)
_FLOAT32 = (2e-3, 2e-3)       # when a differentiated argument is float32
_SHOWN = 5                    # elements listed in a failure message


# --- arguments -------------------------------------------------------------------------------------

def _as_args(args: Any) -> tuple:
    """The arguments: a tuple or a list holds them (JAX's check_grads), anything else is the one argument."""
    return tuple(args) if type(args) in (tuple, list) else (args,)


def _is_float(a: Any) -> bool:
    if isinstance(a, bool):
        return False
    if isinstance(a, float):
        return True
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype.kind == "f"
    if isinstance(a, (list, tuple)):
        arr = np.asarray(a)
        return arr.dtype.kind == "f"
    return False


def _argnums(fun: Callable, args: tuple, argnums: int | Sequence[int] | None) -> tuple[int, ...]:
    if argnums is None:
        nums = tuple(i for i, a in enumerate(args) if _is_float(a))
        if not nums:
            raise ValueError("no float argument to differentiate; pass argnums=... (ints are not "
                             "differentiated by default)")
        return nums
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not 0 <= i < len(args):
            raise ValueError(f"argnums {i} is out of range: {len(args)} argument(s) were given")
    return nums


def _arg_names(fun: Callable, n: int) -> list[str]:
    from .approaches.compare import arg_names      # loaded when a check needs it: importing testing stays light
    return arg_names(fun, n)


def _name(fun: Callable) -> str:
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)
    return name.rpartition("<locals>.")[2]


# --- comparing -------------------------------------------------------------------------------------

def _element(out_shape: tuple, x_shape: tuple, flat: int, xname: str) -> str:
    """The readable name of element `flat` of a Jacobian shaped out_shape + x_shape."""
    idx = np.unravel_index(flat, out_shape + x_shape) if out_shape + x_shape else ()
    o, x = idx[:len(out_shape)], idx[len(out_shape):]
    wrt = f"{xname}[{', '.join(map(str, x))}]" if x_shape else xname
    return f"d out[{', '.join(map(str, o))}] / d {wrt}" if out_shape else wrt


def _mismatch(a: Any, b: Any, a_name: str, b_name: str, rtol: float, atol: float,
              out_shape: tuple, x_shape: tuple, xname: str,
              excuse: Callable[[int, float, float], bool] | None = None) -> str | None:
    """None when |a - b| <= atol + rtol * |b| everywhere (NaN only matches NaN) or `excuse(flat index,
    a value, b value)` accepts the element (a kink), else a table of the worst elements."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        if a.size == b.size:
            a = a.reshape(b.shape)
        else:
            return f"{a_name} has shape {a.shape} but {b_name} has shape {b.shape}"
    fa, fb = a.ravel(), b.ravel()
    with np.errstate(all="ignore"):
        diff = np.where(fa == fb, 0.0, np.abs(fa - fb))
        bad = ~(diff <= atol + rtol * np.abs(fb))
    bad &= ~(np.isnan(fa) & np.isnan(fb))
    if excuse is not None:
        for k in np.flatnonzero(bad):
            bad[k] = not excuse(int(k), float(fa[k]), float(fb[k]))
    if not np.any(bad):
        return None
    where = np.flatnonzero(bad)
    order = where[np.argsort(-np.nan_to_num(diff[where], nan=np.inf), kind="stable")][:_SHOWN]
    head = ["element", a_name, b_name, "abs diff", "rel diff"]
    rows = []
    for k in order:
        with np.errstate(all="ignore"):
            rel = diff[k] / abs(fb[k]) if fb[k] != 0 else np.inf
        rows.append([_element(out_shape, x_shape, int(k), xname), f"{fa[k]:.17g}", f"{fb[k]:.17g}",
                     f"{diff[k]:.3g}", f"{rel:.3g}"])
    widths = [max(len(r[c]) for r in [head] + rows) for c in range(len(head))]
    table = ["    " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [head] + rows]
    more = [f"    ... and {len(where) - len(order)} more"] if len(where) > len(order) else []
    return (f"{len(where)} of {fa.size} element(s) differ (rtol={rtol:g}, atol={atol:g}); "
            f"largest difference {np.nanmax(np.where(bad, diff, np.nan)):.3g}:\n" + "\n".join(table + more))


def _tolerances(rtol: float | None, atol: float | None, exact: bool, scale: float,
                float32: bool) -> tuple[float, float]:
    r, a = _FLOAT32 if float32 else _EXACT if exact else _CENTRAL
    if not exact or float32:
        a *= scale
    return (r if rtol is None else rtol), (a if atol is None else atol)


def _numerical(fun: Callable, args: tuple, i: int) -> tuple[Any, str]:
    """(Jacobian of fun with respect to args[i] shaped out.shape + x.shape, the method's name): the
    complex step where fun is complex-safe, else central differences."""
    from .approaches import numerical
    from .errors import DifferentiationError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", numerical.ComplexStepWarning)
            return numerical.jacobian(fun, argnums=i, method="complex")(*args), "complex step"
    except (DifferentiationError, numerical.ComplexStepWarning, TypeError, ValueError):
        return numerical.jacobian(fun, argnums=i, method="central")(*args), "central differences"


def _scale(out: Any) -> float:
    with np.errstate(all="ignore"):
        m = np.nanmax(np.abs(np.asarray(out, dtype=np.float64))) if np.size(out) else 0.0
    return max(1.0, float(m)) if np.isfinite(m) else 1.0


class _KinkCheck:
    """Where a finite-difference reference disagrees with another approach, the element is checked for a
    kink at the point (one-sided slopes that differ by much more than their error): there a value
    agrees when it lies between the two slopes. `seen` keeps each kink found, and each value judged."""

    def __init__(self, fun: Callable, args: tuple, rtol: float, atol: float):
        from .approaches.numerical import Kinks
        self.kinks = Kinks(fun, args)
        self.rtol, self.atol = rtol, atol
        self.seen: dict[tuple[int, int], tuple[Any, dict[str, float]]] = {}

    def excuse(self, i: int, size: int, a_name: str, b_name: str) -> Callable[[int, float, float], bool]:
        """For _mismatch: element `flat` of the Jacobian of argument i (`size` elements) is excused when
        it is at a kink and both values lie between the one-sided slopes."""
        def check(flat: int, a: float, b: float) -> bool:
            kink = self.kinks.at(i, flat % size, flat // size)
            if kink is None:
                return False
            values = self.seen.setdefault((i, flat), (kink, {}))[1]
            values.update({a_name: a, b_name: b})
            return kink.contains(a, self.rtol, self.atol) and kink.contains(b, self.rtol, self.atol)
        return check

    def notes(self, element: Callable[[int, int], str],
              values: Callable[[int, int], dict] | None = None) -> list[str]:
        """One line per kink: the element (`element(i, flat)`), the slopes and the verdict on each value
        (`values(i, flat)`, else those judged)."""
        return [f"{element(i, flat)}: "
                f"{kink.describe(values(i, flat) if values else judged, self.rtol, self.atol)}"
                for (i, flat), (kink, judged) in self.seen.items()]


def _at_kinks(notes: list[str]) -> str:
    return "\nat a kink (a value between the one-sided slopes agrees):\n" + "\n".join(
        "    " + n for n in notes) if notes else ""


class Approaches(list):
    """What assert_equivalent returns: the names of the approaches compared (a list), and `kinks`: a line
    for each element at a kink, where the values were judged against the one-sided slopes."""

    def __init__(self, names: list[str], kinks: list[str]):
        super().__init__(names)
        self.kinks = kinks


# --- check_grads -----------------------------------------------------------------------------------

def check_grads(fun: Callable, args: Any, order: int = 1, modes: Sequence[str] | None = None,
                rtol: float | None = None, atol: float | None = None, *,
                argnums: int | Sequence[int] | None = None) -> None:
    """Check s2sad's generated derivatives of `fun` at `args` against finite differences.

    Every element of the Jacobian of each differentiated argument is compared with the complex step
    where `fun` allows it (tolerances rtol=1e-7, atol=1e-9), else with central differences (rtol=1e-5,
    atol=1e-6 * max(1, `|f(x)|`)); float32 arguments get 2e-3. `modes` picks forward and/or reverse
    mode at order 1; by default both, except a mode that a function with custom rules has no rule for
    (only `defvjp` registered: reverse mode alone). Orders above 1 differentiate the generated gradient again (forward over
    reverse, the composition s2sad supports) and compare it with finite differences of the generated
    gradient; they need a scalar output (and scalar arguments above order 2).
    Raises AssertionError naming the elements, values and approaches that disagree.
    """
    args = _as_args(args)
    chosen = modes is not None
    modes = ("forward", "reverse") if modes is None else (modes,) if isinstance(modes, str) else tuple(modes)
    unknown = set(modes) - {"forward", "reverse"}
    if unknown or not modes:
        raise ValueError(f"modes must be a non-empty subset of ('forward', 'reverse'), not {modes!r}")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive int, not {order!r}")
    nums = _argnums(fun, args, argnums)
    names = _arg_names(fun, len(args))
    float32 = any(np.asarray(args[i]).dtype == np.float32 for i in nums)
    _check_level(fun, _name(fun), args, nums, names, 1, order, modes, rtol, atol, float32, chosen)


def _no_rule_for(exc: Exception) -> str | None:
    """The mode a custom rule is missing for ("forward" when only defvjp was registered), else None."""
    from .errors import NonDifferentiableError
    if isinstance(exc, NonDifferentiableError):
        for mode in ("forward", "reverse"):
            if f"has a custom rule, but none for {mode} mode" in str(exc):
                return mode
    return None


def _automatic(F: Callable, args: tuple, i: int, mode: str, scalar: bool) -> Any:
    from .api.family import jacobian
    from .api.transforms import grad
    if mode == "reverse" and scalar:
        return grad(F, argnums=i)(*args)
    return jacobian(F, argnums=i, mode=mode)(*args)


def _check_level(F: Callable, label: str, args: tuple, nums: tuple[int, ...], names: list[str], level: int,
                 order: int, modes: tuple[str, ...], rtol, atol, float32: bool, chosen: bool = True) -> None:
    from .api.transforms import grad
    out = F(*args)
    scalar = np.size(out) == 1
    out_shape = () if scalar else np.shape(out)
    problems, checked, missing = [], 0, None
    kinks = _KinkCheck(F, args, *_tolerances(rtol, atol, False, _scale(out), float32))
    for i in nums:
        ref, method = _numerical(F, args, i)
        r, a = _tolerances(rtol, atol, method == "complex step", _scale(out), float32)
        for mode in (modes if level == 1 else ("forward",)):
            shown = f"{mode} mode" if level == 1 else "forward over reverse"
            try:
                got = _automatic(F, args, i, mode, scalar)
            except Exception as exc:
                # a custom rule registered for one mode only: by default the other mode is not checked
                if chosen or level > 1 or _no_rule_for(exc) != mode:
                    raise
                missing = exc
                continue
            checked += 1
            diff = _mismatch(got, ref, shown, method, r, a, out_shape, np.shape(args[i]), names[i],
                             kinks.excuse(i, int(np.size(args[i])), shown, method))
            if diff:
                problems.append(f"d/d{names[i]} of {label} (order {level}), {shown} vs {method}: {diff}")
    if problems:
        notes = kinks.notes(lambda i, flat: _element(out_shape, np.shape(args[i]), flat, names[i]))
        raise AssertionError(f"check_grads({_name(F) if level == 1 else label}): s2sad's derivative "
                             f"disagrees with finite differences\n" + "\n".join(problems) + _at_kinks(notes))
    if not checked and missing is not None:
        raise missing
    if level < order:
        if not scalar:
            raise ValueError(f"check_grads order {level + 1}: {label} returns shape {np.shape(out)}; "
                             "orders above 1 need a scalar output (s2sad differentiates a gradient again)")
        for i in nums:
            g = grad(F, argnums=i)
            try:
                _check_level(g, f"d/d{names[i]} {label}", args, nums, names, level + 1, order, modes,
                             rtol, atol, float32)
            except Exception as exc:
                if _no_rule_for(exc) != "forward":
                    raise
                raise type(exc)(f"check_grads order {level + 1} differentiates the gradient in forward mode, "
                                f"which needs forward rules: {exc}") from None


# --- assert_equivalent -----------------------------------------------------------------------------

def assert_equivalent(fun: Callable, args: Any, *, argnums: int | Sequence[int] | None = None,
                      rtol: float | None = None, atol: float | None = None) -> Approaches:
    """Assert that automatic (reverse and forward), symbolic (where SymPy can express `fun`) and
    numerical (complex step, else central) derivatives of `fun` at `args` agree.

    Every pair is compared element by element (rtol=1e-7, atol=1e-9 between exact approaches; rtol=1e-5,
    atol=1e-6 * max(1, `|f(x)|`) against central differences). Where the numerical derivative disagrees,
    the element is checked for a kink (one-sided slopes that differ by far more than their error): there
    the numerical value and the other agree when both lie between the two slopes; exact approaches must
    still agree with each other. Returns the names of the approaches compared, with `.kinks` (a line per
    kink met). Raises AssertionError listing the disagreeing pairs, the elements and the odd one out.
    """
    from .approaches import symbolic
    from .errors import DifferentiationError

    args = _as_args(args)
    nums = _argnums(fun, args, argnums)
    names = _arg_names(fun, len(args))
    out = fun(*fresh(args))
    scalar = np.size(out) == 1
    out_shape = () if scalar else np.shape(out)
    float32 = any(np.asarray(args[i]).dtype == np.float32 for i in nums)
    results: dict[str, list] = {}
    skipped = ""
    for mode in ("reverse", "forward"):
        try:
            results[f"automatic ({mode})"] = [_automatic(fun, args, i, mode, scalar) for i in nums]
        except Exception as exc:
            # a custom rule for one mode only (defvjp without defjvp): that mode is left out
            if _no_rule_for(exc) != mode:
                raise
            skipped += f" (automatic ({mode}) skipped: {' '.join(str(exc).split())})"
    if not results:
        raise AssertionError(f"assert_equivalent({_name(fun)}): no automatic derivative:{skipped}")
    if scalar:
        try:
            g = symbolic.grad(fun, argnums=nums)(*args)
            results["symbolic"] = list(g)
        except DifferentiationError as exc:
            skipped += f" (symbolic skipped: {' '.join(str(exc).split())})"
    numeric = [_numerical(fun, args, i) for i in nums]
    methods = list(dict.fromkeys(m for _, m in numeric))
    results[f"numerical ({' / '.join(methods)})"] = [j for j, _ in numeric]
    exact = {n: "central" not in n for n in results}

    problems, agree = [], {k: {k} for k in results}
    keys = list(results)
    kinks = _KinkCheck(fun, args, *_tolerances(rtol, atol, False, _scale(out), float32))
    for p, a_name in enumerate(keys):
        for b_name in keys[p + 1:]:
            r, a = _tolerances(rtol, atol, exact[a_name] and exact[b_name], _scale(out), float32)
            found = []
            for k, i in enumerate(nums):
                # finite differences cannot take a convention at a kink: a value between the one-sided
                # slopes agrees with them. Exact approaches must still agree with each other there.
                excuse = kinks.excuse(i, int(np.size(args[i])), a_name, b_name) \
                    if b_name.startswith("numerical") else None
                diff = _mismatch(results[a_name][k], results[b_name][k], a_name, b_name, r, a, out_shape,
                                 np.shape(args[i]), names[i], excuse)
                if diff:
                    found.append(f"d/d{names[i]}: {a_name} vs {b_name}: {diff}")
            if found:
                problems += found
            else:
                merged = agree[a_name] | agree[b_name]
                for n in merged:
                    agree[n] = merged
    position = {i: k for k, i in enumerate(nums)}

    def values(i: int, flat: int) -> dict[str, float]:
        return {n: float(np.asarray(results[n][position[i]], dtype=np.float64).ravel()[flat]) for n in keys}

    notes = kinks.notes(lambda i, flat: _element(out_shape, np.shape(args[i]), flat, names[i]), values)
    if problems:
        groups = list({id(g): g for g in agree.values()}.values())
        verdict = "\ngroups that agree: " + " vs ".join(
            "[" + ", ".join(n for n in keys if n in g) + "]" for g in groups) if len(groups) > 1 else ""
        raise AssertionError(f"assert_equivalent({_name(fun)}): the derivatives disagree{skipped}\n"
                             + "\n".join(problems) + _at_kinks(notes) + verdict)
    return Approaches(keys, notes)
