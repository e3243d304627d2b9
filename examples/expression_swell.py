"""Expression swell: the logistic map l <- 4 l (1 - l), iterated n times.

Symbolic differentiation writes the derivative of the n-times-unrolled expression: its size grows
exponentially with n (each step doubles the expression, and the product rule doubles it again).
Common-subexpression elimination (CSE) recovers much of it, but only after the swollen expression
was built. s2sad differentiates the loop itself: its generated gradient is the same few lines for
every n.

Run: python examples/expression_swell.py   (the plot goes to examples/out/expression_swell.png)
"""
import os
import time
from pathlib import Path

import s2sad
from s2sad import symbolic
from s2sad.approaches.compare import code_lines

OUT = Path(os.environ.get("S2SAD_EXAMPLES_OUT", Path(__file__).parent / "out"))


def logistic(l, n):
    for _ in range(n):
        l = 4 * l * (1 - l)
    return l


l0 = 0.3
automatic = s2sad.grad(logistic)
s2sad_lines = code_lines(automatic.source)
rows = []
worst = 0.0          # largest relative difference between the symbolic and automatic derivatives
print(f"{'n':>2}  {'ops (no CSE)':>12}  {'ops (CSE)':>9}  {'SymPy lines':>11}  {'s2sad lines':>11}  "
      f"{'SymPy time':>10}  {'derivative at l = 0.3':>22}")
for n in range(1, 9):
    start = time.perf_counter()
    sym = symbolic.grad(logistic)          # a fresh one: SymPy derives the expression for this n
    d_sym = sym(l0, n)
    seconds = time.perf_counter() - start
    d_auto = automatic(l0, n)
    rows.append((n, sym.ops_before_cse, sym.ops_after_cse, code_lines(sym.source), s2sad_lines))
    print(f"{n:>2}  {sym.ops_before_cse:>12}  {sym.ops_after_cse:>9}  {code_lines(sym.source):>11}  "
          f"{s2sad_lines:>11}  {seconds:>9.3f}s  {d_auto:>22.15g}")
    worst = max(worst, abs(d_sym - d_auto) / max(1.0, abs(d_auto)))
print(f"largest relative difference between symbolic and automatic derivatives: {worst:.1e}")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: no plot (pip install matplotlib)")

if plt is not None:
    ns = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.semilogy(ns, [r[1] for r in rows], "o-", label="SymPy derivative: operations")
    ax.semilogy(ns, [r[2] for r in rows], "s-", label="SymPy derivative after CSE: operations")
    ax.semilogy(ns, [r[3] for r in rows], "^-", label="SymPy generated code: lines")
    ax.semilogy(ns, [r[4] for r in rows], "d-", label="s2sad generated gradient: lines")
    ax.set_xlabel("n (iterations of l <- 4 l (1 - l))")
    ax.set_ylabel("size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "expression_swell.png", dpi=100, bbox_inches="tight")
    print(f"plot: {OUT / 'expression_swell.png'}")
