"""Differential checks of s2sad on a program it did not see before: every mode against central differences.

`check(program, workdir)` writes the program's module, imports it, and runs

- reverse: `value_and_grad(f, argnums=diff)` against the function's value and central differences;
- forward: `jvp(f, primals, tangents)` along a random direction against the directional difference;
- second: `hessian(f, argnums=i)` against central differences of the (checked) reverse gradient, and
  `hvp` against that Hessian times a random vector;
  `grad(grad(f))` too when the argument is a Python float;
- family: `vjp` with a cotangent of 2 (twice the gradient), `jacobian(f, mode="forward")`.

Each mode ends `ok`, `wrong` (a number off), `crash` (any exception that is not a DifferentiationError
about the user's code, or s2sad's "generated invalid code"), or `refused` (a DifferentiationError: a
clear refusal, counted by reason). A program whose own value is not finite, that raises, or whose
finite differences at two step sizes disagree (a branch or a kink within a step of the point) is
`discarded`: it says nothing about s2sad.
"""
from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import s2sad
from s2sad import DifferentiationError
from s2sad.api import sparsity

ORDER = {"ok": 0, "refused": 1, "crash": 2, "wrong": 3}


@dataclass
class Outcome:
    status: str                         # ok / wrong / crash / refused / discarded
    modes: dict = field(default_factory=dict)     # mode -> (status, detail)
    detail: str = ""

    def worst(self) -> str:
        return max((s for s, _ in self.modes.values()), key=ORDER.get, default="ok")


class Discard(Exception):
    pass


def _copy(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _load(program, workdir: Path):
    name = f"prog_{program.seed}"
    path = workdir / f"{name}.py"
    path.write_text(program.source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _value(f, args) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            try:
                out = f(*_copy(args))
            except Exception as exc:       # the program itself fails here: it says nothing about s2sad
                raise Discard(f"the function raises {type(exc).__name__}: {exc}") from None
    if np.size(out) != 1 or not np.all(np.isfinite(out)) or abs(float(np.sum(out))) > 1e8:
        raise Discard("the value is not a finite scalar")
    return float(np.sum(out))


def _central(fun, args, i, h, jumps=None):
    """Central differences of scalar fun w.r.t. args[i] with relative step h; into `jumps` (an array of
    x's shape), forward minus backward differences: f'' h where f is smooth, the jump in slope at a kink."""
    x = np.asarray(args[i], dtype=float)
    g = np.zeros(x.shape)
    here = float(np.sum(fun(*_copy(args)))) if jumps is not None else None
    for idx in np.ndindex(x.shape):
        step = h * max(1.0, abs(float(x[idx])))
        plus, minus = list(_copy(args)), list(_copy(args))
        if x.ndim:
            plus[i] = x.copy()
            minus[i] = x.copy()
            plus[i][idx] += step
            minus[i][idx] -= step
        else:
            plus[i] = float(x) + step
            minus[i] = float(x) - step
        up, down = float(np.sum(fun(*plus))), float(np.sum(fun(*minus)))
        g[idx] = (up - down) / (2 * step)
        if jumps is not None:
            jumps[idx] = (up - 2 * here + down) / step
    return g


def _reference(f, args, i):
    """Central differences at two steps; Discard when they disagree (a branch or kink near the point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            ja, jb = np.zeros(np.shape(args[i])), np.zeros(np.shape(args[i]))
            a = _central(f, args, i, 1e-6, ja)
            b = _central(f, args, i, 1e-5, jb)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise Discard("finite differences are not finite")
    if np.any(np.abs(a - b) > 1e-4 * (1 + np.abs(a))):
        raise Discard("finite differences disagree at two steps (a branch or a kink near the point)")
    # a kink exactly at the point (min(y * y, 1.0) at y = 1): central differences are the mean of the two
    # slopes at every step, so they agree; the one-sided slopes differ by the same jump at both steps
    if np.any((np.abs(ja) > 1e-4 * (1 + np.abs(a))) & (np.abs(ja) > 0.5 * np.abs(jb))):
        raise Discard("the one-sided slopes differ (a kink at the point)")
    return a


def dask_chunked(a):
    """A float NumPy array as a dask array of two chunks along each axis (longer than 1); anything else
    (integer index arrays too) as it is."""
    if type(a) is np.ndarray and a.ndim and a.dtype.kind == "f":
        import dask.array as da
        return da.from_array(a, chunks=tuple(max(1, (n + 1) // 2) for n in a.shape))
    return a


@contextlib.contextmanager
def _compressing():
    """Compressed Jacobians for the small arrays of random programs too (sparsity.py compresses only
    where it pays: 8 columns or more, colours and probe at most a quarter of them)."""
    saved = sparsity.MIN_COLUMNS, sparsity.MAX_SHARE
    sparsity.MIN_COLUMNS, sparsity.MAX_SHARE = 2, 1
    try:
        yield
    finally:
        sparsity.MIN_COLUMNS, sparsity.MAX_SHARE = saved


def _close(got, want, rtol=1e-5) -> bool:
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= rtol * (1 + np.abs(want))))


def _classify(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, DifferentiationError) and "generated invalid code" not in str(exc):
        return "refused", reason(str(exc))
    return "crash", f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_exception(exc)[-6:])}"


def reason(message: str) -> str:
    """A refusal's message without the file, line and quoted source: its reason, for counting."""
    text = message.splitlines()[0]
    text = re.sub(r"^\S+:\d+(:\d+)?: ", "", text)
    text = re.sub(r"`[^`]*`", "`...`", text)
    text = re.sub(r"'[^']*'", "'...'", text)
    return text[:110]


def _mode(outcome: Outcome, name: str, run) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok, detail = run()
        outcome.modes[name] = ("ok" if ok else "wrong", detail)
    except Discard:
        raise
    except Exception as exc:           # noqa: BLE001 (sorted into refusals and crashes)
        outcome.modes[name] = _classify(exc)


def check(program, workdir: Path, modes=("reverse", "forward", "second", "family")) -> Outcome:
    mod = _load(program, workdir)
    f = mod.f
    args = program.args
    out = Outcome("ok")
    try:
        value = _value(f, args)
        refs = {i: _reference(f, args, i) for i in program.diff}
    except Discard as d:
        return Outcome("discarded", detail=str(d))
    originals = _copy(args)

    def reverse():
        v, grads = s2sad.value_and_grad(f, argnums=program.diff)(*_copy(args))
        if not all(np.array_equal(a, b) for a, b in zip(args, originals)):
            return False, "the gradient changed its arguments"
        if not np.isclose(float(np.sum(v)), value, rtol=1e-12, atol=1e-12):
            return False, f"value {v} != {value}"
        for g, i in zip(grads, program.diff):
            if np.shape(g) != np.shape(args[i]) or (type(args[i]) is float and not isinstance(g, float)):
                return False, f"gradient {i}: {type(g).__name__} of shape {np.shape(g)}, argument {np.shape(args[i])}"
            if not _close(g, refs[i]):
                return False, f"gradient {i}: {g} != {refs[i]}"
        for i in program.diff:          # grad's own file: the value is not computed, what only it needed goes
            g = s2sad.grad(f, argnums=i)(*_copy(args))
            if not _close(g, refs[i]):
                return False, f"grad, argument {i}: {g} != {refs[i]}"
        return True, ""

    def forward():
        rng = np.random.default_rng(program.seed + 1)
        tangents, want = [], 0.0
        for k, a in enumerate(args):
            if k not in program.diff:
                tangents.append(None)
                continue
            t = rng.uniform(-1, 1, np.shape(a)) if isinstance(a, np.ndarray) else float(rng.uniform(-1, 1))
            tangents.append(t)
            want += float(np.sum(refs[k] * t))
        v, d = s2sad.jvp(f, _copy(args), tuple(tangents))
        if not np.isclose(float(np.sum(v)), value, rtol=1e-12, atol=1e-12):
            return False, f"value {v} != {value}"
        return _close(d, want), f"tangent {d} != {want}"

    def second():
        i = program.diff[0]
        hess = s2sad.hessian(f, argnums=i)
        H = np.asarray(hess(*_copy(args)), dtype=float)
        with _compressing():           # the second call looks for a pattern, the third is compressed if one
            for _ in range(2):
                again = np.asarray(hess(*_copy(args)), dtype=float)
                if not _close(again, H, rtol=1e-9):
                    return False, f"hessian called again {again.tolist()} != {H.tolist()} (sparsity.py)"
        g = s2sad.grad(f, argnums=i)
        x = args[i]
        n = int(np.size(x))
        ref = np.zeros((n, n))
        for k in range(n):
            def gk(*p, k=k):
                return float(np.asarray(g(*p), dtype=float).ravel()[k])
            ja, jb = np.zeros(np.shape(x)), np.zeros(np.shape(x))
            r1 = _central(gk, args, i, 1e-6, ja).ravel()
            r2 = _central(gk, args, i, 1e-5, jb).ravel()
            if np.any(np.abs(r1 - r2) > 1e-3 * (1 + np.abs(r1))):
                raise Discard("second differences disagree at two steps")
            # a kink of the gradient exactly at the point (|x| inside a sine, at x = 0): the central
            # differences are the mean of the one-sided second derivatives at every step, and agree
            ja, jb = ja.ravel(), jb.ravel()
            if np.any((np.abs(ja) > 1e-3 * (1 + np.abs(r1))) & (np.abs(ja) > 0.5 * np.abs(jb))):
                raise Discard("the gradient's one-sided slopes differ (a kink of the gradient at the point)")
            ref[k] = r1
        H2 = H.reshape(n, n)
        if not _close(H2, ref, rtol=1e-4):
            return False, f"hessian {H2.tolist()} != {ref.tolist()}"
        if i == 0:                     # hvp: grad with respect to the first argument, its tangent's code alone
            v = np.random.default_rng(program.seed + 2).uniform(-1, 1, np.shape(x))
            v = float(v) if type(x) is float else v
            tangents = (v,) + (None,) * (len(args) - 1)
            for _ in range(2):         # the second call goes the fast way in when it can (fast_jvp.py)
                hv = s2sad.hvp(f, _copy(args), tangents)
                if not _close(np.ravel(hv), H2 @ np.ravel(v), rtol=1e-8):
                    return False, f"hvp {np.ravel(hv).tolist()} != H @ v {(H2 @ np.ravel(v)).tolist()}"
        if type(x) is float:
            gg = s2sad.grad(s2sad.grad(f, argnums=i), argnums=i)(*_copy(args))
            if not _close(gg, H2[0, 0], rtol=1e-8):
                return False, f"grad(grad(f)) {gg} != hessian {H2[0, 0]}"
        return True, ""

    def family():
        """vjp with a cotangent (linear in it) and the forward-mode Jacobian (one sweep per element)."""
        out, pullback = s2sad.vjp(f, *_copy(args))
        grads = pullback(2.0)
        for i in program.diff:
            if not _close(grads[i], 2.0 * refs[i]):
                return False, f"vjp(2.0) {i}: {grads[i]} != 2 * {refs[i]}"
        i = program.diff[0]
        J = s2sad.jacobian(f, argnums=i, mode="forward")(*_copy(args))
        return _close(np.reshape(J, np.shape(refs[i])), refs[i]), f"jacobian {J} != {refs[i]}"

    def batched():
        """vmap over a batch of 3 examples (the point and two perturbed ones) of a random choice of the
        arguments, against a loop of calls: the function, then its gradient (per-example gradients)."""
        rng = np.random.default_rng(program.seed + 2)
        mapped = [k for k in range(len(args)) if rng.random() < 0.6] or [int(rng.integers(len(args)))]
        examples = []
        for e in range(3):
            ex = []
            for k, a in enumerate(args):
                if k in mapped and e:
                    ex.append(a + rng.uniform(-0.3, 0.3, np.shape(a)) if isinstance(a, np.ndarray)
                              else float(a + rng.uniform(-0.3, 0.3)))
                else:
                    ex.append(a)
            examples.append(tuple(ex))
        stacked = tuple(np.stack([np.asarray(ex[k], dtype=float) for ex in examples]) if k in mapped else args[k]
                        for k in range(len(args)))
        in_axes = tuple(0 if k in mapped else None for k in range(len(args)))
        want = []
        for ex in examples:
            try:
                want.append(_value(f, ex))
            except Discard:
                raise Discard("an example of the batch is not a finite value") from None
        got = s2sad.vmap(f, in_axes=in_axes)(*_copy(stacked))
        if not _close(np.reshape(got, (-1,)), want, rtol=1e-9):
            return False, f"vmap {got} != {want} (in_axes {in_axes})"
        i = program.diff[0]
        g = s2sad.grad(f, argnums=i)
        want_g = [g(*_copy(ex)) for ex in examples]
        got_g = s2sad.vmap(g, in_axes=in_axes)(*_copy(stacked))
        for e, w in enumerate(want_g):
            if not _close(got_g[e], w, rtol=1e-8):
                return False, f"vmap(grad) example {e}: {got_g[e]} != {w} (in_axes {in_axes})"
        return True, ""

    def on_dask():
        """Reverse and forward mode on dask arrays of two chunks each (backend "auto"): lazy gradients of
        their arguments' shapes, equal to the references."""
        import dask
        import dask.array as da
        with dask.config.set(scheduler="synchronous"):
            dargs = [dask_chunked(a) for a in _copy(args)]
            v, grads = s2sad.value_and_grad(f, argnums=program.diff)(*dargs)
            for g, i in zip(grads, program.diff):
                if isinstance(dargs[i], da.Array) and not (isinstance(g, da.Array) and g.shape == dargs[i].shape):
                    return False, f"gradient {i} of a dask argument: {type(g).__name__} {np.shape(g)}"
            v, grads = dask.compute(v, list(grads))
            # the value as the function itself computes it on these chunks (sums add in another order)
            try:
                own = float(np.sum(dask.compute(f(*[dask_chunked(a) for a in _copy(args)]))[0]))
            except Exception:                  # noqa: BLE001 (the function itself does not run on dask)
                own = value
            if not np.isclose(float(np.sum(v)), own, rtol=1e-12, atol=1e-12) \
                    or not np.isclose(float(np.sum(v)), value, rtol=1e-9, atol=1e-9):
                return False, f"dask value {v} != {own} (the function on dask), {value} (on NumPy)"
            for g, i in zip(grads, program.diff):
                if not _close(g, refs[i]):
                    return False, f"dask gradient {i}: {g} != {refs[i]}"
            rng = np.random.default_rng(program.seed + 3)
            tangents = [None if k not in program.diff else rng.uniform(-1, 1, np.shape(a))
                        if isinstance(a, np.ndarray) else float(rng.uniform(-1, 1)) for k, a in enumerate(args)]
            want = sum(float(np.sum(refs[k] * t)) for k, t in enumerate(tangents) if t is not None)
            _, d = s2sad.jvp(f, [dask_chunked(a) for a in _copy(args)], [dask_chunked(t) for t in tangents])
            d = dask.compute(d)[0]
            return _close(d, want), f"dask tangent {d} != {want}"

    def on_numba():
        """Reverse mode compiled by numba: the value and the gradients equal the NumPy backend's to 1e-12
        (relative), and the references; the arguments are left as they were."""
        v, grads = s2sad.value_and_grad(f, argnums=program.diff, backend="numba")(*_copy(args))
        if not all(np.array_equal(a, b) for a, b in zip(args, originals)):
            return False, "the numba gradient changed its arguments"
        v_np, grads_np = s2sad.value_and_grad(f, argnums=program.diff)(*_copy(args))
        if not np.isclose(float(np.sum(v)), float(np.sum(v_np)), rtol=1e-12, atol=1e-12):
            return False, f"numba value {v} != {v_np} (NumPy)"
        for g, g_np, i in zip(grads, grads_np, program.diff):
            if np.shape(g) != np.shape(args[i]) or (type(args[i]) is float and not isinstance(g, float)):
                return False, f"numba gradient {i}: {type(g).__name__} of shape {np.shape(g)}, argument {np.shape(args[i])}"
            if not _close(g, g_np, rtol=1e-12) or not _close(g, refs[i]):
                return False, f"numba gradient {i}: {g} != {g_np} (NumPy), {refs[i]} (reference)"
        return True, ""

    runs = {"reverse": reverse, "forward": forward, "second": second, "family": family, "vmap": batched,
            "dask": on_dask, "numba": on_numba}
    try:
        for name in modes:
            _mode(out, name, runs[name])
    except Discard as d:
        return Outcome("discarded", detail=str(d))
    out.status = out.worst()
    return out
