"""Compressed Jacobians: a Jacobian with few nonzeros per row (a tridiagonal Hessian) from a handful of
directions in one forward sweep, instead of one direction per column.

- **Pattern.** The forward sweep runs once on unit directions whose 1 is a NaN. Every entry the code
  can make nonzero on the path its control flow took comes out NaN (0 * NaN is NaN, so an entry that is
  zero at this point by accident is found too). The nonzeros of the dense Jacobian are added.
- **Colours.** Columns that share no row get one colour (greedy, in column order); one direction per
  colour, the sum of its columns' unit vectors, gives each of its columns' entries in their own rows.
- **Probe.** Every compressed sweep carries one more direction, a fixed random `r`: the sweep computes
  `J r` itself, and the Jacobian rebuilt from the colours must give the same product to rounding. Another
  path of the control flow (a branch on data, np.maximum, an index computed from data) with entries
  outside the pattern fails the probe; the caller then computes the dense Jacobian and widens the
  pattern. No compressed Jacobian is returned without the probe's agreement.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

MIN_COLUMNS = 8           # below this a dense sweep costs next to nothing
MAX_SHARE = 4             # compress only when colours + probe <= columns / MAX_SHARE


@dataclasses.dataclass
class Compression:
    """A Jacobian's pattern (`mask`, m x n), its columns' colours and the directions that compress it."""

    mask: np.ndarray
    seed: np.ndarray          # (colours + 1, n): one direction per colour, then the probe r
    rtol: float

    def __post_init__(self):
        m, n = self.mask.shape
        rows, cols = np.nonzero(self.mask)
        colors = self.seed[:-1].argmax(axis=0)
        self._rows = rows
        self._source = colors[cols] * m + rows          # where each nonzero is in the sweep's results
        self._target = rows * n + cols                  # and in the Jacobian, both flat
        self._probe = self.seed[-1][cols]               # the probe's weight of each nonzero

    @property
    def directions(self) -> int:
        return len(self.seed)

    def seeds(self, xshape: tuple) -> np.ndarray:
        """A fresh copy of the directions, each of shape `xshape` (generated code may write into its
        arguments)."""
        return self.seed.reshape((len(self.seed),) + tuple(xshape)).copy()

    def expand(self, swept: np.ndarray) -> np.ndarray | None:
        """The (m, n) Jacobian from the sweep's results (one row per direction), or None when the probe
        disagrees with it (a NaN or an infinity disagrees too): the caller computes it densely then."""
        m, n = self.mask.shape
        values = swept.reshape(-1).take(self._source)
        direct = swept[-1]
        weighted = values * self._probe
        # (float64 even for a pattern with no entries, where bincount gives integers)
        rebuilt = np.bincount(self._rows, weighted, m).astype(np.float64, copy=False)
        scale = np.bincount(self._rows, np.abs(weighted), m).astype(np.float64, copy=False)
        scale += np.abs(direct)
        scale += scale.max(initial=0.0) * 1e-4           # (a floor for rows that sum to nearly nothing)
        rebuilt -= direct
        if not (np.abs(rebuilt, out=rebuilt) <= self.rtol * scale).all():
            return None
        J = np.zeros(m * n, dtype=swept.dtype)
        J[self._target] = values
        return J.reshape(m, n)


def worth_looking(mask: np.ndarray) -> bool:
    """Whether a Jacobian whose nonzeros are `mask` (m x n) may compress enough to pay for the sweep that
    finds its pattern."""
    return mask.shape[1] >= MIN_COLUMNS and mask.sum() * MAX_SHARE < mask.size


def structure(sweep: Callable[[np.ndarray], np.ndarray], xshape: tuple, dtype) -> np.ndarray | None:
    """Where the Jacobian may be nonzero on this path, as an (m, n) mask: `sweep` (directions, a batch of
    n arrays of shape `xshape` -> results, n x m) run on unit directions whose 1 is a NaN. None when the
    sweep fails on them."""
    n = int(np.prod(xshape))
    marked = np.zeros((n, n), dtype=dtype)
    marked.reshape(-1)[::n + 1] = np.nan
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(sweep(marked.reshape((n,) + tuple(xshape))))
    except Exception:          # noqa: BLE001 (code that refuses NaN directions: no compression, nothing lost)
        return None
    return np.isnan(out.reshape(n, -1)).T


def plan(mask: np.ndarray, dtype) -> Compression | None:
    """The compression of Jacobians of pattern `mask` (m x n), or None when it would not pay: too few
    columns, or too many colours."""
    m, n = mask.shape
    limit = n // MAX_SHARE - 1
    if n < MIN_COLUMNS or limit < 1 or mask.sum() > limit * m:
        return None
    used = np.zeros((m, limit + 1), dtype=bool)        # row -> the colours of its columns so far
    colors = np.empty(n, dtype=np.intp)
    for j in range(n):
        rows = np.flatnonzero(mask[:, j])
        free = np.flatnonzero(~used[rows].any(axis=0)) if len(rows) else np.zeros(1, dtype=np.intp)
        if not len(free) or free[0] >= limit:
            return None
        colors[j] = free[0]
        used[rows, free[0]] = True
    k = int(colors.max()) + 1
    seed = np.zeros((k + 1, n), dtype=dtype)
    seed[colors, np.arange(n)] = 1.0
    seed[k] = np.random.default_rng(20261207).uniform(1.0, 2.0, n)
    return Compression(mask, seed, rtol=float(np.sqrt(np.finfo(dtype).eps)) * 1e-1)
