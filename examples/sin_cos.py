"""The derivative of sin is cos: s2sad's derivative of sin at 201 points, against np.cos.

For an elementwise function, the gradient of `np.sum(f(x))` is f'(x) at every element, so one
gradient call gives the whole derivative curve.

Run: python examples/sin_cos.py   (the plot goes to examples/out/sin_cos.png)
"""
import os
from pathlib import Path

import numpy as np

import s2sad

OUT = Path(os.environ.get("S2SAD_EXAMPLES_OUT", Path(__file__).parent / "out"))


def f(x):
    return np.sin(x)


def total_sin(x):
    return np.sum(np.sin(x))     # d/dx_i sum_j sin(x_j) = cos(x_i)


xs = np.linspace(-2 * np.pi, 2 * np.pi, 201)
dsin = s2sad.grad(total_sin)(xs)

df = s2sad.grad(f)
for x in (0.0, np.pi / 3, np.pi / 2, np.pi):
    print(f"d/dx sin(x) at x = {x:.6f}: {df(x):.17g}   cos(x) = {np.cos(x):.17g}")
print(f"max |d/dx sin(x) - cos(x)| over {xs.size} points in [-2pi, 2pi]: {np.max(np.abs(dsin - np.cos(xs))):.3g}")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot (pip install matplotlib)")

if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, np.sin(xs), label="sin(x)")
    ax.plot(xs, dsin, linewidth=3, alpha=0.5, label="d/dx sin(x) by s2sad")
    ax.plot(xs, np.cos(xs), "--", color="black", label="cos(x)")
    ax.set_xlabel("x")
    ax.legend()
    ax.grid(alpha=0.3)
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "sin_cos.png", dpi=100, bbox_inches="tight")
    print(f"plot: {OUT / 'sin_cos.png'}")
