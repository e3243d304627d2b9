"""Logistic regression by gradient descent on data larger than memory: 10^8 rows x 10 features (8 GB as
float64), generated lazily with dask.array and never held whole, on a dask.distributed LocalCluster.

The loss is plain NumPy code. s2sad.grad sees dask arrays come in and writes a dask file of the gradient
(generated/out_of_core_loss_grad_*.py): every value stays lazy, one step is one task graph computed chunk
by chunk, and the peak memory of the whole run stays near a few chunks. The gradient is first checked
against the NumPy one on a 10^6-row slice.

    python examples/out_of_core.py            # 10^8 rows: a few minutes on 2 cores
    S2SAD_EXAMPLE_ROWS=2000000 python examples/out_of_core.py
"""
import os
import resource
import time

import numpy as np

import dask
import dask.array as da
from dask.distributed import Client, LocalCluster

import s2sad

ROWS = int(os.environ.get("S2SAD_EXAMPLE_ROWS", 10 ** 8))
FEATURES = 10
CHUNK = min(ROWS, 1_000_000)           # 80 MB of float64 per chunk
CHECK = min(ROWS, 1_000_000)           # rows of the NumPy check
STEPS = 3


def loss(w, X, y):
    """Mean logistic loss of the weights w on the rows of X with labels y (0 or 1)."""
    z = X @ w
    return np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0) - y * z)


def data():
    """X of normal features and labels y from a known weight vector plus noise: lazy, made again chunk
    by chunk each time a graph needs them (seeded: the same numbers every time)."""
    X = da.random.default_rng(0).normal(size=(ROWS, FEATURES), chunks=(CHUNK, FEATURES))
    noise = da.random.default_rng(1).normal(size=ROWS, chunks=CHUNK)
    truth = np.linspace(-1.0, 1.0, FEATURES)
    y = (X @ truth + noise > 0).astype(np.float64)
    return X, y


def peak_mb() -> float:
    """The peak resident memory of this process (the client and its threaded workers) so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    start_mb = peak_mb()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster):
        X, y = data()
        print(f"data: {ROWS:,} rows x {FEATURES} features = {X.nbytes / 1e9:.1f} GB as float64, "
              f"in {X.numblocks[0]} chunks, generated lazily")
        w = np.zeros(FEATURES)
        value_and_grad = s2sad.value_and_grad(loss, backend="dask")

        # the gradient against NumPy's on the first rows
        Xs, ys = dask.compute(X[:CHECK], y[:CHECK])
        Xc, yc = X[:CHECK].rechunk((CHECK // 4, FEATURES)), y[:CHECK].rechunk(CHECK // 4)   # 4 chunks
        _, g_dask = value_and_grad(w + 0.1, Xc, yc)
        _, g_numpy = s2sad.value_and_grad(loss)(w + 0.1, Xs, ys)
        diff = np.max(np.abs(g_dask.compute() - g_numpy)) / np.max(np.abs(g_numpy))
        print(f"check on {CHECK:,} rows: dask gradient vs NumPy gradient, max relative difference {diff:.1e}")
        del Xs, ys

        step = 2.0
        for k in range(STEPS):
            t = time.perf_counter()
            value, g = value_and_grad(w, X, y)
            value, g = dask.compute(value, g)           # one graph: the loss and its gradient, chunk by chunk
            w = w - step * g
            print(f"step {k + 1}/{STEPS}: loss {float(value):.6f}, |gradient| {np.linalg.norm(g):.2e}, "
                  f"{time.perf_counter() - t:.1f} s, peak memory so far {peak_mb():.0f} MB", flush=True)
    print(f"weights after {STEPS} steps: {np.array2string(w, precision=3)}")
    print(f"peak memory of the whole run: {peak_mb():.0f} MB (at start {start_mb:.0f} MB; the data is "
          f"{X.nbytes / 1e6:,.0f} MB)")
    print(f"generated gradient: {value_and_grad.path}")


if __name__ == "__main__":
    main()
