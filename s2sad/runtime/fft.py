"""The FFT family's cotangents (JAX's convention for complex numbers: a cotangent pairs with a value by
Re(sum(g * v)), no conjugate).

Every transform of np.fft is linear. The DFT matrix is symmetric, so the cotangent of the input of
`fftn` is `fftn` of the output's cotangent (and `ifftn`'s is `ifftn`'s), cut or zero-padded back to
the input's lengths where `s` (or `n`) changed them. `rfftn` keeps the first half of the last axis: its
cotangent zero-pads the output's cotangent back to the full length before `fftn`, and is real, as the
input is. `irfftn` reads the half spectrum as a Hermitian one: each element but the first (and the
Nyquist one, for an even length) stands for two, so its cotangent is `ifftn` of the output's cotangent,
cut to the half length and weighted 1, 2, ..., 2, 1.

`fft_grad` gives these cotangents and `fft_again` applies the transform itself with the input's
lengths; each is the other's transpose (rules/runtime.py), so generated gradients differentiate again.
"""
from __future__ import annotations

import numpy as np

from ..backends import module_of as _xp

KINDS = ("fft", "ifft", "rfft", "irfft")


def _plan(a, s, axes, kind: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(axes, the transform's lengths along them) for np.fft.<kind>n(a, s, axes) or, with an int
    `axes`, np.fft.<kind>(a, n=s, axis=axes)."""
    ndim = np.ndim(a)
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
        s = None if s is None else (int(s),)
    elif axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    axes = tuple(int(ax) % ndim for ax in axes)
    shape = np.shape(a)
    if s is None:
        lengths = [shape[ax] for ax in axes]
        if kind == "irfft":
            lengths[-1] = 2 * (lengths[-1] - 1)
    else:
        lengths = [shape[ax] if n == -1 else int(n) for ax, n in zip(axes, s)]
    return axes, tuple(lengths)


def fit(y, axes, lengths):
    """`y` cut or zero-padded at the end along each of `axes` to `lengths`."""
    shape = list(np.shape(y))
    if all(shape[ax] == n for ax, n in zip(axes, lengths)):
        return y
    index = [slice(None)] * len(shape)
    for ax, n in zip(axes, lengths):
        index[ax] = slice(0, min(n, shape[ax]))
        shape[ax] = n
    xp = _xp(y)
    out = xp.zeros(tuple(shape), dtype=np.result_type(y.dtype, np.float32))
    index = tuple(index)
    out[index] = y[index]
    return out


def _weights(n: int, ax: int, ndim: int, dtype):
    """1, 2, ..., 2 (and 1 for the Nyquist element of an even length n) along axis `ax`: how many
    elements of the full spectrum each element of the half one stands for."""
    w = np.full(n // 2 + 1, 2.0, dtype=dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * ndim
    shape[ax] = w.size
    return w.reshape(shape)


def fft_grad(c, a, s, axes, norm, kind: str):
    """The cotangent of `a` in np.fft.<kind>(a, s, axes, norm) (n-D with a tuple or None `axes`), from
    the output's cotangent `c`: real where `a` is (its real part: a real input varies along real
    directions only)."""
    g = _grad(c, a, s, axes, norm, kind)
    return g if np.iscomplexobj(a) else fft_real(g)


def _grad(c, a, s, axes, norm, kind: str):
    axes, lengths = _plan(a, s, axes, kind)
    fft = _xp(c).fft
    inputs = tuple(np.shape(a)[ax] for ax in axes)
    if kind in ("fft", "ifft"):
        return fit(getattr(fft, kind + "n")(c, axes=axes, norm=norm), axes, inputs)
    if kind == "rfft":
        full = fft.fftn(fit(c, axes[-1:], lengths[-1:]), axes=axes, norm=norm)
        return fit(full, axes, inputs)
    if kind == "irfft":
        half = fit(fft.ifftn(c, axes=axes, norm=norm), axes[-1:], (lengths[-1] // 2 + 1,))
        weights = _weights(lengths[-1], axes[-1], np.ndim(c), np.result_type(c.real.dtype, np.float32))
        return fit(half * _xp(c).asarray(weights), axes, inputs)
    raise ValueError(f"unknown FFT kind {kind!r}")


def fft_again(c, a, s, axes, norm, kind: str):
    """np.fft.<kind> applied to `c` (shaped like `a`'s cotangent) with `a`'s axes and lengths: the
    transpose of fft_grad."""
    axes, lengths = _plan(a, s, axes, kind)
    return getattr(_xp(c).fft, kind + "n")(c, s=lengths, axes=axes, norm=norm)


def fft_real(x):
    """The real part (a real array is itself)."""
    return x.real if np.iscomplexobj(x) else x
