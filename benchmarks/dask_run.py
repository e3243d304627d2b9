"""The dask backend against the same gradient written by hand in dask.array, and against NumPy: time per
gradient and peak memory, at 10^7 elements, on dask's threaded scheduler with 2 workers.

Each (case, variant) runs in a process of its own, so that its peak resident memory is its own. The data
is made from the same seeds: NumPy holds it in memory; the dask variants make it chunk by chunk, as a
dask user's data would come (from files, or generated).

    python benchmarks/dask_run.py            # prints a table; --json writes benchmarks/dask_results.json
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N = 10 ** 7
ROWS, FEATURES = 10 ** 6, 10
CHUNK_ROWS = 250_000


def _case(case: str, variant: str, repeats: int) -> dict:
    """Run in the child: one variant of one case, its median seconds per gradient and its peak memory."""
    import resource
    import time

    import numpy as np
    import dask
    import dask.array as da
    import s2sad

    dask.config.set(scheduler="threads", num_workers=2)
    if case == "rosenbrock":
        def f(x):
            return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        def hand(x, xp):
            a, b = x[:-1], x[1:]
            r = b - a ** 2
            g_a = -400.0 * r * a - 2.0 * (1.0 - a)
            g_b = 200.0 * r
            return xp.concatenate([g_a, xp.zeros(1)]) + xp.concatenate([xp.zeros(1), g_b])
        if variant == "numpy":
            args = (np.random.default_rng(0).uniform(-1, 1, N),)
        else:
            args = (da.random.default_rng(0).uniform(-1, 1, N, chunks=N // 8),)
        argnums = 0
    else:
        def f(w, X, y):
            r = X @ w - y
            return np.mean(r * r)

        def hand(w, X, y, xp):
            return 2.0 * (X.T @ (X @ w - y)) / X.shape[0]
        w = np.linspace(-1, 1, FEATURES)
        if variant == "numpy":
            X = np.random.default_rng(0).normal(size=(ROWS, FEATURES))
            y = np.random.default_rng(1).normal(size=ROWS)
        else:
            X = da.random.default_rng(0).normal(size=(ROWS, FEATURES), chunks=(CHUNK_ROWS, FEATURES))
            y = da.random.default_rng(1).normal(size=ROWS, chunks=CHUNK_ROWS)
        args = (w, X, y)
        argnums = 0
    if variant == "s2sad-dask":
        g = s2sad.grad(f, argnums=argnums)

        def run():
            return g(*args).compute()
        run()                                             # transform and compile: not timed
    elif variant == "hand-dask":
        def run():
            return hand(*args, da).compute()
    else:
        def run():
            return hand(*args, np)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    return {"case": case, "variant": variant, "seconds": sorted(times)[len(times) // 2],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "checksum": float(np.sum(out))}


def run(repeats: int = 5) -> list[dict]:
    rows = []
    for case in ("linear_regression", "rosenbrock"):
        for variant in ("numpy", "hand-dask", "s2sad-dask"):
            code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
                    f"import dask_run; print(json.dumps(dask_run._case({case!r}, {variant!r}, {repeats})))")
            with tempfile.TemporaryDirectory() as tmp:       # generated files: not into the repository
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     env=dict(os.environ, PYTHONPATH=str(ROOT), S2SAD_GENERATED_DIR=tmp))
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def table(rows: list[dict]) -> str:
    by = {(r["case"], r["variant"]): r for r in rows}
    lines = ["| case (10^7 elements) | NumPy by hand | dask by hand | s2sad dask | s2sad / dask by hand | "
             "memory: NumPy, dask by hand, s2sad dask (MB) | s2sad memory / NumPy |",
             "|---|---|---|---|---|---|---|"]
    for case in ("linear_regression", "rosenbrock"):
        n, h, s = (by[(case, v)] for v in ("numpy", "hand-dask", "s2sad-dask"))
        assert abs(s["checksum"] - h["checksum"]) <= 1e-8 * max(1.0, abs(h["checksum"])), (case, s, h)  # same data
        lines.append(f"| {case} | {n['seconds'] * 1e3:.0f} ms | {h['seconds'] * 1e3:.0f} ms | "
                     f"{s['seconds'] * 1e3:.0f} ms | {s['seconds'] / h['seconds']:.2f}x | "
                     f"{n['peak_mb']:.0f}, {h['peak_mb']:.0f}, {s['peak_mb']:.0f} | {s['peak_mb'] / n['peak_mb']:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = run()
    print(table(results))
    if "--json" in sys.argv:
        (ROOT / "benchmarks" / "dask_results.json").write_text(json.dumps(results, indent=1) + "\n")
