"""Finite differences lose digits; the complex step and automatic differentiation do not.

The test function of Squire and Trapp (1998), f(x) = e^x / sqrt(sin(x)^3 + cos(x)^3) at x = 1.5.
For each step h, the error of the forward difference (f(x+h) - f(x)) / h, the central difference
(f(x+h) - f(x-h)) / 2h and the complex step Im f(x + ih) / h, against s2sad's derivative:

- forward:  truncation ~h, rounding ~eps/h: best near h = sqrt(eps) ~ 1e-8, about 8 digits;
- central:  truncation ~h^2, rounding ~eps/h: best near h = cbrt(eps) ~ 1e-5, about 11 digits;
- complex:  no subtraction, so no rounding blow-up: full precision once h is small.

On a log-log plot the two finite differences draw a V; automatic differentiation is exact to rounding.

Run: python examples/finite_difference_error.py   (the plot goes to examples/out/finite_difference_error.png)
"""
import os
from pathlib import Path

import numpy as np

import s2sad
from s2sad import numerical

OUT = Path(os.environ.get("S2SAD_EXAMPLES_OUT", Path(__file__).parent / "out"))


def f(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


x0 = 1.5
exact = s2sad.grad(f)(x0)
print(f"f(x) = exp(x) / sqrt(sin(x)^3 + cos(x)^3) at x = {x0}")
print(f"automatic (s2sad.grad): f'({x0}) = {exact:.17g}")

steps = [10.0 ** -k for k in range(1, 16)]
methods = ("forward", "central", "complex")
errors = {m: [] for m in methods}
print(f"{'step h':>8}  {'forward':>9}  {'central':>9}  {'complex':>9}")
for h in steps:
    row = []
    for m in methods:
        d = numerical.grad(f, method=m, step=h)(x0)
        errors[m].append(abs(d - exact))
        row.append(f"{errors[m][-1]:9.2e}")
    print(f"{h:8.0e}  " + "  ".join(row))

for m in ("forward", "central"):
    k = int(np.argmin(errors[m]))
    print(f"best step for {m}: h = {steps[k]:.0e}, error {errors[m][k]:.2e}")
small = [e for h, e in zip(steps, errors["complex"]) if h <= 1e-8]
print(f"complex step: largest error for h <= 1e-8: {max(small):.2e}")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot (pip install matplotlib)")

if plt is not None:
    floor = 1e-17                                   # an error of exactly 0 is drawn here
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, marker in zip(methods, "o^s"):
        ax.loglog(steps, np.maximum(errors[m], floor), marker=marker, label=f"{m} difference"
                  if m != "complex" else "complex step")
    ax.axhline(np.finfo(float).eps * abs(exact), color="black", linestyle="--",
               label="automatic (s2sad): exact to rounding, eps·|f'|")
    ax.set_xlabel("step h")
    ax.set_ylabel(f"|error| of f'({x0})  (0 drawn at {floor:g})")
    ax.invert_xaxis()
    ax.legend(loc="upper center", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "finite_difference_error.png", dpi=100, bbox_inches="tight")
    print(f"plot: {OUT / 'finite_difference_error.png'}")
