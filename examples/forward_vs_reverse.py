"""Forward or reverse mode? It depends on the shape of the Jacobian.

A Jacobian of f: R^n -> R^m costs n forward-mode sweeps (one per input, each a Jacobian-vector
product) or m reverse-mode sweeps (one per output, each a vector-Jacobian product). So
- f: R^n -> R (a loss): reverse mode needs 1 sweep, forward mode n: reverse wins as n grows;
- f: R -> R^n (a curve): forward mode needs 1 sweep, reverse mode n: forward wins as n grows.
`s2sad.jacobian(f, mode="auto")` picks the fewer sweeps.

Run: python examples/forward_vs_reverse.py
"""
import time

import numpy as np

import s2sad


def many_to_one(x):                 # R^n -> R
    return np.sum(np.sin(x) * x)


def one_to_many(t, c):              # R -> R^n (c is a constant of length n)
    return np.sin(t * c) * c


def seconds(f, *args, repeat=3):
    """Best of `repeat` timings of f(*args), in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        f(*args)
        best = min(best, time.perf_counter() - start)
    return best


print(f"{'function':<12} {'n':>5} {'forward sweeps':>14} {'reverse sweeps':>14} {'forward':>10} "
      f"{'reverse':>10}  {'max |forward - reverse|':>23}")
for n in (1, 10, 100, 400):
    x = np.linspace(0.1, 1.0, n)
    c = np.linspace(1.0, 2.0, n)
    cases = [("R^n -> R", many_to_one, (x,), n, 1), ("R -> R^n", one_to_many, (0.5, c), 1, n)]
    for label, f, args, fwd_sweeps, rev_sweeps in cases:
        forward = s2sad.jacobian(f, mode="forward")
        reverse = s2sad.jacobian(f, mode="reverse")
        diff = np.max(np.abs(forward(*args) - reverse(*args)))
        tf, tr = seconds(forward, *args), seconds(reverse, *args)
        print(f"{label:<12} {n:>5} {fwd_sweeps:>14} {rev_sweeps:>14} {tf * 1e3:>8.2f}ms {tr * 1e3:>8.2f}ms"
              f"  {diff:>23.1e}")
