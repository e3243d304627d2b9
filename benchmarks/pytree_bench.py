"""Containers cost nothing at run time: the MLP benchmark (cases.py, 784-128-10, batch 256, MSE) with its
parameters in a dict against the same function with positional arrays, and against the hand-written
gradient, timed in one run with run.py's interleaved pairs.

    python benchmarks/pytree_bench.py [--repeats 15]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cases  # noqa: E402
from run import fmt_time, paired_times  # noqa: E402

import s2sad  # noqa: E402


def mlp_mse_params(params, X, T):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - T) ** 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    opts = ap.parse_args()
    W1, b1, W2, b2, X, T = cases.mlp_args(False)
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    positional = s2sad.grad(cases.mlp_mse, argnums=(0, 1, 2, 3))
    as_dict = s2sad.grad(mlp_mse_params)
    want = cases.mlp_mse_hand(W1, b1, W2, b2, X, T)
    got = as_dict(params, X, T)
    for k, w in zip(("W1", "b1", "W2", "b2"), want):
        np.testing.assert_allclose(got[k], w, rtol=1e-10, atol=1e-12)
    t_pos, t_dict, ratio = paired_times(lambda: positional(W1, b1, W2, b2, X, T), lambda: as_dict(params, X, T),
                                        opts.repeats)
    t_hand, _, ratio_hand = paired_times(lambda: cases.mlp_mse_hand(W1, b1, W2, b2, X, T),
                                         lambda: as_dict(params, X, T), opts.repeats)
    print(f"positional arrays   {fmt_time(t_pos)}")
    print(f"params dict         {fmt_time(t_dict)}   dict / positional = {ratio:.3f} (median of paired runs; "
          "target <= 1.1)")
    print(f"hand-written        {fmt_time(t_hand)}   dict / hand-written = {ratio_hand:.3f}")
    return 0 if ratio <= 1.1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
