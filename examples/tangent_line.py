"""The tangent line of f(x) = 3x^2 - 4x at x = 1.

By hand: f'(x) = 6x - 4, so f'(1) = 2, and the tangent through (1, f(1)) = (1, -1) is y = 2x - 3.
s2sad finds the slope by writing (and running) a gradient function for f.

Run: python examples/tangent_line.py   (the plot goes to examples/out/tangent_line.png)
"""
import os
from pathlib import Path

import numpy as np

import s2sad

OUT = Path(os.environ.get("S2SAD_EXAMPLES_OUT", Path(__file__).parent / "out"))


def f(x):
    return 3 * x ** 2 - 4 * x


x0 = 1.0
slope = s2sad.grad(f)(x0)
intercept = f(x0) - slope * x0
print(f"f(1) = {f(x0)}")
print(f"f'(1) = {slope}")
print(f"tangent line at x = 1: y = {slope}x + ({intercept})")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot (pip install matplotlib)")

if plt is not None:
    xs = np.linspace(-1, 3, 101)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, f(xs), label="f(x) = 3x² - 4x")
    ax.plot(xs, slope * xs + intercept, "--", label=f"tangent at x = 1: y = {slope:g}x {intercept:+g}")
    ax.plot([x0], [f(x0)], "o", color="black")
    ax.set_xlabel("x")
    ax.legend()
    ax.grid(alpha=0.3)
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "tangent_line.png", dpi=100, bbox_inches="tight")
    print(f"plot: {OUT / 'tangent_line.png'}")
