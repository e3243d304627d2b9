"""Independent references for gradient tests: central differences and complex step, in float64."""
from __future__ import annotations

import numpy as np


def _perturb(args, i, idx, delta):
    out = list(args)
    x = out[i]
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        out[i] = x + delta
    else:
        y = np.array(x, dtype=np.result_type(np.asarray(x).dtype, type(delta)), copy=True)
        y[idx] += delta
        out[i] = y
    return out


def central(f, args, i=0, h=1e-6, kwargs=None):
    """Central-difference gradient of scalar f with respect to args[i]."""
    kwargs = kwargs or {}
    x = np.asarray(args[i], dtype=float)
    g = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        scale = h * max(1.0, abs(float(x[idx])))
        fp = f(*_perturb(args, i, idx, scale), **kwargs)
        fm = f(*_perturb(args, i, idx, -scale), **kwargs)
        g[idx] = (float(np.sum(fp)) - float(np.sum(fm))) / (2 * scale)
    return g if x.ndim else float(g)


def complex_step(f, args, i=0, h=1e-30, kwargs=None):
    """Complex-step gradient (exact to rounding) for functions that are complex-safe."""
    kwargs = kwargs or {}
    x = np.asarray(args[i], dtype=float)
    g = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        out = f(*_perturb(args, i, idx, 1j * h), **kwargs)
        g[idx] = np.imag(np.sum(out)) / h
    return g if x.ndim else float(g)
