"""Numerical differentiation: forward and central differences and the complex step.

`grad(f, method=...)` and `jacobian(f, method=...)` follow the conventions of `s2sad.grad`: `argnums`
picks the differentiated positional argument(s), a Python number gives a Python float, integers are
promoted to float64, float32 arrays are differentiated in float64 and the result is cast back.

Each element of a differentiated argument costs one pair of evaluations ("central"), one evaluation
plus one shared evaluation at the point ("forward"), or one evaluation ("complex"). These are
reference derivatives for tests and benchmarks, not a replacement for `s2sad.grad`.

`Kinks(f, args).at(i, k)` tells whether f has a kink at element k of argument i (one-sided slopes that
differ by far more than their error) and gives the two slopes: s2sad.testing and s2sad.compare accept a
value between them where finite differences cannot take a convention.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import backends
from ..api.convert import check_argnums, complex_step, like
from ..errors import DifferentiationError, NonScalarOutputError, user_stacklevel

__all__ = ["grad", "jacobian", "default_step", "ComplexStepWarning", "METHODS", "Kink", "Kinks"]

METHODS = ("forward", "central", "complex")
_EPS = float(np.finfo(np.float64).eps)
_COMPLEX_H = 1e-20
# a complex-step derivative of exactly zero is checked against central differences; above this
# (relative to max(1, |f|)) the function is taken to vary, so its complex step lost the imaginary part
_VARIES = 1e-7


class ComplexStepWarning(UserWarning):
    """method="complex" met a function that drops the imaginary part (it is not complex-safe)."""


def default_step(method: str, x: Any) -> Any:
    """The step for `method` at `x` (scalar or array), scaled to |x|.

    forward: sqrt(eps) * max(1, |x|); central: cbrt(eps) * max(1, |x|); complex: 1e-20 * max(1, |x|).
    """
    scale = np.maximum(1.0, np.abs(np.asarray(x, dtype=np.float64)))
    base = {"forward": np.sqrt(_EPS), "central": np.cbrt(_EPS), "complex": _COMPLEX_H}[method]
    h = base * scale
    return float(h) if h.ndim == 0 else h


def _where(fun: Callable) -> str:
    code = getattr(fun, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}: " if code is not None else ""


def _name(fun: Callable) -> str:
    return getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or repr(fun)


def _to_float64(x: Any, fun: Callable) -> np.ndarray:
    """A differentiated argument as a float64 array (a copy); ints and float32 are promoted. A CuPy
    array stays on the GPU: its perturbed copies are made, and the function evaluated, there."""
    if backends.lazy(x):
        raise DifferentiationError(f"{_where(fun)}s2sad.numerical takes NumPy (or CuPy) arrays, not a lazy dask "
                                   "array: a difference quotient needs the function's values; pass "
                                   "`x.compute()`, or use s2sad.grad, which stays lazy")
    arr = x if backends.is_cupy(x) else np.asarray(x)
    if arr.dtype.kind == "c":
        raise DifferentiationError(f"{_where(fun)}s2sad.numerical differentiates real arguments, "
                                   f"but argument of {_name(fun)} is complex ({arr.dtype})")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"s2sad.numerical cannot differentiate with respect to an argument of type "
                        f"{type(x).__name__} (dtype {arr.dtype})")
    return arr.astype(np.float64)              # a copy, on the array's device


def _rebuild(original: Any, arr: np.ndarray) -> Any:
    """The perturbed argument in the caller's kind: Python scalar, NumPy scalar or array."""
    if isinstance(original, np.ndarray) or isinstance(original, (list, tuple)) or backends.is_cupy(original):
        return arr
    v = arr[()]
    if isinstance(original, np.generic):
        return v                                  # np.float64 / np.complex128
    return complex(v) if arr.dtype.kind == "c" else float(v)


def _array(v: Any) -> Any:
    """`v` as an array: NumPy scalars become 0-d arrays; CuPy arrays stay where they are."""
    return v if backends.is_cupy(v) else np.asarray(v)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b, with 0 where a == b (equal infinities give 0, not inf - inf = nan)."""
    with np.errstate(all="ignore"):
        return np.where(a == b, 0.0, a - b)


class _Numerical:
    """Shared machinery of numerical grad and jacobian."""

    _s2sad_derivative = "numerical derivative"    # s2sad must not transform its __wrapped__ instead

    _kind = "grad"

    def __init__(self, fun: Callable, argnums: int | tuple[int, ...], method: str, step: float | None):
        if not callable(fun):
            raise TypeError(f"s2sad.numerical.{self._kind} expects a function, not {fun!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        if step is not None:
            if isinstance(step, bool) or not isinstance(step, (int, float, np.floating, np.integer)) \
                    or not np.isfinite(step) or step <= 0:
                raise ValueError(f"step must be None or a positive finite number, not {step!r}")
            step = float(step)
        functools.update_wrapper(self, fun)
        self.__wrapped__ = fun
        self.method = method
        self.step = step
        self.argnums = argnums
        self._nums = check_argnums(fun, argnums)
        self._single = isinstance(argnums, int)
        try:
            self._signature: inspect.Signature | None = inspect.signature(fun)
        except (TypeError, ValueError):
            self._signature = None

    def __repr__(self) -> str:
        return f"<s2sad.numerical.{self._kind} of {_name(self.__wrapped__)} (method={self.method!r})>"

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    # --- calling --------------------------------------------------------------------------------

    def _bind(self, args: tuple, kwargs: dict) -> tuple[list, dict]:
        """Arguments as a positional list (every positional parameter) and the keyword-only rest."""
        if (not kwargs and max(self._nums) < len(args)) or self._signature is None:
            return list(args), dict(kwargs)
        ba = self._signature.bind(*args, **kwargs)
        ba.apply_defaults()
        positional, rest = [], {}
        for p in self._signature.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                positional.append(ba.arguments[p.name])
            elif p.kind is p.VAR_POSITIONAL:
                positional.extend(ba.arguments.get(p.name, ()))
            elif p.kind is p.KEYWORD_ONLY:
                rest[p.name] = ba.arguments[p.name]
            else:
                rest.update(ba.arguments.get(p.name, {}))
        return positional, rest

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args_, kwargs_ = self._bind(args, kwargs)
        out = []
        for i in self._nums:
            out.append(self._derivative(args_, kwargs_, i))
        return out[0] if self._single else tuple(out)

    def _evaluate(self, args: list, kwargs: dict, i: int, value: Any) -> np.ndarray:
        a = [x.copy() if isinstance(x, np.ndarray) or backends.is_cupy(x) else x for x in args]
        a[i] = value                # the perturbed copy; the others copied too (f may write into them)
        out = self.__wrapped__(*a, **kwargs)
        arr = _array(out)
        if self._kind == "grad":
            if arr.size != 1:
                raise NonScalarOutputError(
                    f"{_where(self.__wrapped__)}{_name(self.__wrapped__)} returned an array of shape "
                    f"{arr.shape}, but grad needs a scalar output. Reduce it (e.g. `.sum()`), or use "
                    "s2sad.numerical.jacobian for non-scalar outputs.")
            arr = arr.reshape(())
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{_where(self.__wrapped__)}{_name(self.__wrapped__)} returned "
                            f"{type(out).__name__}, not a number or numeric array")
        return arr

    def _evaluate_complex(self, args: list, kwargs: dict, i: int, value: Any) -> np.ndarray:
        """Evaluate at a complex argument; errors that say the function is not complex-safe are explained."""
        token = complex_step.set(True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                return self._evaluate(args, kwargs, i, value)
        except (TypeError, np.exceptions.ComplexWarning) as exc:
            raise DifferentiationError(
                f"{_where(self.__wrapped__)}method='complex' needs a complex-safe function, but "
                f"{_name(self.__wrapped__)} failed on a complex argument ({type(exc).__name__}: {exc}). "
                "Functions that call abs, np.maximum/np.minimum, math.*, float() or compare values "
                "are not complex-safe; use method='central' instead.") from exc
        finally:
            complex_step.reset(token)

    def _step(self, x: float) -> float:
        return self.step if self.step is not None else default_step(self.method, x)

    def _derivative(self, args: list, kwargs: dict, i: int) -> Any:
        original = args[i]
        x = _to_float64(original, self.__wrapped__)
        if x.size == 0:
            zeros = backends.module_of(x).zeros
            if self._kind == "grad":
                return like(zeros(x.shape), original)
            f0 = self._evaluate(args, kwargs, i, _rebuild(original, x))
            return self._finish(zeros(f0.shape + x.shape), original, f0.shape)
        f0 = None
        if self.method in ("forward", "complex"):   # complex: the real value checks each complex one
            f0 = self._evaluate(args, kwargs, i, _rebuild(original, x))
        rows: list[np.ndarray] = []
        unsafe: list[tuple] = []
        out_shape = None
        for idx in np.ndindex(x.shape):
            d = self._element(args, kwargs, i, original, x, idx, f0, unsafe)
            out_shape = d.shape
            rows.append(d)
        result = np.stack(rows, axis=-1).reshape(out_shape + x.shape)
        if unsafe:
            shown = ", ".join(str(u if len(u) != 1 else u[0]) for u in unsafe[:5])
            more = f" and {len(unsafe) - 5} more" if len(unsafe) > 5 else ""
            warnings.warn(
                f"{_where(self.__wrapped__)}method='complex': {_name(self.__wrapped__)} is not complex-safe: "
                f"its output has no imaginary part at a complex argument although it varies with "
                f"element(s) {shown}{more} of argument {i} (abs, np.maximum/np.minimum, .real, "
                "comparisons or float() drop the imaginary part). Central differences were used for "
                "those elements; use method='central'.", ComplexStepWarning, stacklevel=user_stacklevel())
        return self._finish(result, original, out_shape)

    def _element(self, args, kwargs, i, original, x, idx, f0, unsafe) -> np.ndarray:
        """The derivative of the output with respect to x[idx] (shaped like the output)."""
        xi = float(x[idx])
        if self.method == "complex":
            h = self._step(xi)
            xc = x.astype(np.complex128)
            xc[idx] += 1j * h
            out = self._evaluate_complex(args, kwargs, i, _rebuild(original, xc))
            xp = backends.module_of(out)
            with np.errstate(all="ignore"):
                d = xp.imag(out) / h
                real = xp.real(out)
                # where f itself is NaN the derivative is NaN (a complex branch may be finite there); where,
                # at the default tiny step, the real part at x + ih is not f(x), f is not real-analytic at x
                # (another branch): central differences, with the warning below. A step chosen by the
                # caller moves the real part by O(h^2): not checked.
                nan = xp.isnan(f0)
                off = xp.logical_and(xp.logical_not(nan), xp.abs(real - f0) > 1e-10 * xp.maximum(xp.abs(f0), 1e-300)) \
                    if self.step is None else xp.zeros(xp.shape(f0), dtype=bool)
            d = xp.where(nan, xp.nan, d)
            if bool(xp.any(off)):
                c = self._central(args, kwargs, i, original, x, idx)
                unsafe.append(idx)
                d = xp.where(off, c, d)
            if np.all(np.imag(out) == 0):
                c = self._central(args, kwargs, i, original, x, idx)
                with np.errstate(all="ignore"):
                    tol = _VARIES * np.maximum(1.0, np.abs(np.real(out)))
                    varies = np.abs(c) > tol
                if np.any(varies):
                    unsafe.append(idx)
                    d = np.where(varies, c, d)
            return _array(d).astype(np.float64, copy=False)
        if self.method == "central":
            return self._central(args, kwargs, i, original, x, idx)
        h = self._step(xi)
        xp = x.copy()
        xp[idx] = xi + h
        hp = float(xp[idx]) - xi                       # the step actually taken (exact in binary)
        self._check_step(hp, xi)
        fp = self._evaluate(args, kwargs, i, _rebuild(original, xp))
        with np.errstate(all="ignore"):
            return _array(_difference(fp, f0) / hp)

    def _central(self, args, kwargs, i, original, x, idx) -> np.ndarray:
        xi = float(x[idx])
        h = self.step if (self.step is not None and self.method == "central") \
            else default_step("central", xi)
        xp, xm = x.copy(), x.copy()
        xp[idx] = xi + h
        xm[idx] = xi - h
        width = float(xp[idx]) - float(xm[idx])
        self._check_step(width, xi)
        fp = self._evaluate(args, kwargs, i, _rebuild(original, xp))
        fm = self._evaluate(args, kwargs, i, _rebuild(original, xm))
        with np.errstate(all="ignore"):
            return _array(_difference(fp, fm) / width)

    def _check_step(self, h: float, x: float) -> None:
        if h == 0 and np.isfinite(x):
            raise DifferentiationError(f"the step {self.step!r} is too small to change x = {x!r} in float64")

    def _finish(self, result: np.ndarray, original: Any, out_shape: tuple) -> Any:
        if result.dtype.kind == "c":
            result = result.real
        if self._kind == "grad":
            return like(result.reshape(np.shape(original)), original)
        if out_shape == () and not isinstance(original, (np.ndarray, list, tuple)):
            return like(result.reshape(()), original)
        if isinstance(original, np.ndarray) and original.dtype == np.float32:
            return result.astype(np.float32)
        return result


class NumericalGrad(_Numerical):
    """`s2sad.numerical.grad(f)`: calling it returns the numerical gradient."""

    _kind = "grad"


class NumericalJacobian(_Numerical):
    """`s2sad.numerical.jacobian(f)`: calling it returns the Jacobian, shaped out.shape + arg.shape."""

    _kind = "jacobian"


def grad(fun: Callable | None = None, /, *, argnums: int | tuple[int, ...] = 0, method: str = "central",
         step: float | None = None) -> Any:
    """Gradient of a scalar-valued function by finite differences or the complex step.

    method: "forward" (error ~1e-8), "central" (~1e-10) or "complex" (to rounding; f must be
    complex-safe). step: None picks sqrt(eps)*max(1,|x|), cbrt(eps)*max(1,|x|) or
    1e-20*max(1,|x|) per element; a number is used as the step h for every element.
    The callable has `.method`, `.step` and `__wrapped__`.
    """
    if fun is None:
        return lambda f: NumericalGrad(f, argnums, method, step)
    return NumericalGrad(fun, argnums, method, step)


def jacobian(fun: Callable | None = None, /, *, argnums: int | tuple[int, ...] = 0, method: str = "central",
             step: float | None = None) -> Any:
    """Jacobian of any function, shaped `out.shape + arg.shape`, by finite differences or the complex step.

    Same options and conventions as `grad`; a scalar output and a Python-number argument give a float.
    """
    if fun is None:
        return lambda f: NumericalJacobian(f, argnums, method, step)
    return NumericalJacobian(fun, argnums, method, step)


# --- kinks -------------------------------------------------------------------------------------------

_KINK_GAP = 10.0            # one-sided slopes this many times their error apart: a kink


@dataclass(frozen=True)
class Kink:
    """The one-sided slopes of one output element with respect to one input element, where they differ.

    `left` and `right` are the backward and forward slopes (Richardson-extrapolated one-sided
    differences), `error` a bound on the error of each. Every convention s2sad takes at a kink (a
    subgradient, a tie split, the side a condition takes) lies between them.
    """

    left: float
    right: float
    error: float

    def contains(self, value: float, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """Whether `value` lies between the two slopes (inclusive), give or take their error and atol +
        rtol * |slope|."""
        lo, hi = min(self.left, self.right), max(self.left, self.right)
        with np.errstate(all="ignore"):
            return bool(lo - self.error - atol - rtol * abs(lo) <= value <= hi + self.error + atol + rtol * abs(hi))

    def __str__(self) -> str:
        return f"one-sided slopes {_shown(self.left)} and {_shown(self.right)}"

    def describe(self, values: dict[str, float], rtol: float = 0.0, atol: float = 0.0) -> str:
        """The verdict on each approach's value here: 'a kink at the point, one-sided slopes 0 and 1;
        automatic 0.5, symbolic 0.5: within' (or naming the values that lie outside)."""
        shown = ", ".join(f"{name} {_shown(v)}" for name, v in values.items())
        out = [name for name, v in values.items() if not self.contains(v, rtol, atol)]
        return f"a kink at the point, {self}; {shown}: " + (f"{', '.join(out)} outside" if out else "within")


def _shown(v: float) -> str:
    return f"{v + 0.0:.6g}"              # + 0.0: -0.0 shows as 0


class Kinks:
    """Kinks of `fun` at `args`, found on demand: `at(i, x_index, out_index)` gives the Kink of output
    element `out_index` (flat) with respect to element `x_index` (flat) of argument i, or None where
    the one-sided slopes agree (the function is differentiable there, as far as float64 tells) or
    cannot be taken. Each input element costs five evaluations of `fun`, once."""

    def __init__(self, fun: Callable, args: tuple):
        self.fun, self.args = fun, tuple(args)
        self._slopes: dict[tuple[int, int], tuple | None] = {}

    def at(self, i: int, x_index: int, out_index: int = 0) -> Kink | None:
        key = (i, x_index)
        if key not in self._slopes:
            try:
                self._slopes[key] = self._one_sided(i, x_index)
            except Exception:            # a function that fails near the point: no kink is claimed
                self._slopes[key] = None
        s = self._slopes[key]
        if s is None or not 0 <= out_index < s[0].size:
            return None
        left, right, error = (float(a[out_index]) for a in s)
        if not (np.isfinite(left) and np.isfinite(right) and np.isfinite(error)):
            return None
        if abs(right - left) <= _KINK_GAP * error + 1e-12 * max(1.0, abs(left), abs(right)):
            return None
        return Kink(left, right, error)

    def _value(self, i: int, arg: Any) -> np.ndarray:
        """fun's output, flat in float64, with argument i replaced by `arg` (a copy), the others copied."""
        a = [x.copy() if isinstance(x, np.ndarray) or backends.is_cupy(x) else x for x in self.args]
        a[i] = arg
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")       # a step past a domain's end (log of -h) is not the user's
            out = np.asarray(backends.to_host(self.fun(*a)))
        return np.real(out).astype(np.float64).ravel()

    def _one_sided(self, i: int, x_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(left, right, error): each output element's backward and forward slopes, extrapolated from
        steps h and h/2, and a bound on their error. h = sqrt(eps) * max(1, |x|): small, so that a kink
        only that close to x counts as at x (the slopes stay accurate: the extrapolation is second order)."""
        original = self.args[i]
        x = _to_float64(original, self.fun)
        idx = np.unravel_index(x_index, x.shape) if x.shape else ()
        xi = float(x[idx])
        h = default_step("forward", xi)
        f0 = self._value(i, _rebuild(original, x.copy()))
        slopes, errors = [], []
        for sign in (-1.0, 1.0):
            d, scale = [], np.abs(f0)
            for step in (h, h / 2):
                xs = x.copy()
                xs[idx] = xi + sign * step
                taken = float(xs[idx]) - xi               # the step actually taken (exact in binary)
                fs = self._value(i, _rebuild(original, xs))
                scale = np.maximum(scale, np.abs(fs))
                with np.errstate(all="ignore"):
                    d.append(_difference(fs, f0) / taken)
            with np.errstate(all="ignore"):
                slopes.append(2 * d[1] - d[0])            # Richardson: the O(h) terms cancel
                errors.append(np.abs(d[1] - d[0]) + 8 * _EPS * scale / h)
        return slopes[0], slopes[1], np.maximum(errors[0], errors[1])
