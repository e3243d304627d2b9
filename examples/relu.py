"""ReLU(x) = max(x, 0) and its derivative: 0 for x < 0, 1 for x > 0.

At the kink x = 0 the derivative does not exist; s2sad's rule for np.maximum splits a tie evenly
between the two arguments, so it reports 0.5 there (PyTorch and JAX pick 0 or 0.5; any value in
[0, 1] is a valid subgradient).

Run: python examples/relu.py   (the plot goes to examples/out/relu.png)
"""
import os
from pathlib import Path

import numpy as np

import s2sad

OUT = Path(os.environ.get("S2SAD_EXAMPLES_OUT", Path(__file__).parent / "out"))


def relu(x):
    return np.maximum(x, 0)


def total_relu(x):
    return np.sum(relu(x))      # its gradient is relu'(x) elementwise


drelu = s2sad.grad(relu)
for x in (-2.0, -0.5, 0.0, 0.5, 2.0):
    print(f"relu({x:+.1f}) = {relu(x):.1f}   relu'({x:+.1f}) = {drelu(x):.1f}")

xs = np.linspace(-3, 3, 121)
d = s2sad.grad(total_relu)(xs)
print(f"derivative on {xs.size} points in [-3, 3]: {np.sum(d == 0)} zeros, {np.sum(d == 1)} ones, "
      f"{np.sum((d != 0) & (d != 1))} other")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot (pip install matplotlib)")

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(xs, relu(xs), label="relu(x) = max(x, 0)")
    ax.plot(xs, d, "--", label="relu'(x) by s2sad")
    ax.set_xlabel("x")
    ax.legend()
    ax.grid(alpha=0.3)
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "relu.png", dpi=100, bbox_inches="tight")
    print(f"plot: {OUT / 'relu.png'}")
