"""Every examples/*.py runs, and the numbers it prints are right (checked against values computed here,
by hand with NumPy or SymPy, not with s2sad)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# run_all.py regenerates the repository's committed generated/ folder: running it would write to the repo.
SKIP = {"run_all.py"}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in SKIP)
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def run_example(name: str, tmp_path: Path, pythonpath_first: Path | None = None) -> tuple[str, Path]:
    """Run one example from the repository root; return its stdout and its plot folder."""
    out = tmp_path / "out"
    env = dict(os.environ, S2SAD_GENERATED_DIR=str(tmp_path / "generated"), S2SAD_EXAMPLES_OUT=str(out),
               MPLBACKEND="Agg", S2SAD_EXAMPLE_ROWS="400000")      # out_of_core.py: 4 x 10^5 rows, not 10^8
    if pythonpath_first is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath_first), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, f"{name} exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip(), f"{name} printed nothing"
    return proc.stdout, out


def find(pattern: str, text: str) -> tuple[str, ...]:
    m = re.search(pattern, text)
    assert m, f"no line matching {pattern!r} in:\n{text}"
    return m.groups()


def floats(pattern: str, text: str) -> list[float]:
    return [float(v) for v in find(pattern, text)]


def assert_png(folder: Path, name: str) -> None:
    path = folder / name
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- checkers: one per example ---------------------------------------------------------------------

def check_quickstart(out: str, plots: Path) -> None:
    slope, intercept = floats(rf"f'\(1\) = ({NUMBER}), tangent line at x = 1: y = {NUMBER}x \+ \(({NUMBER})\)", out)
    assert slope == 6 * 1 - 4 and intercept == (3 - 4) - slope
    assert floats(rf"dz/dw = ({NUMBER}), dz/dx = ({NUMBER}), dz/db = ({NUMBER})", out) == [1.0, 3.0, 1.0]
    X, Y = np.arange(1.0, 7.0), np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])
    loss, g0, g1 = floats(rf"regression loss at \(0, 0\): ({NUMBER}), gradient \(({NUMBER}), ({NUMBER})\)", out)
    assert loss == pytest.approx(np.mean(Y ** 2 / 2), abs=1e-5)
    assert (g0, g1) == (pytest.approx(-Y.mean(), abs=1e-4), pytest.approx(-np.mean(X * Y), abs=1e-4))


def check_tour(out: str, plots: Path) -> None:
    dw_text, db_text = find(r"dL/dw = \[([^\]]*)\]\s+dL/db = (" + NUMBER + ")", out)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    # at w = 0, b = 0: z = tanh(0) = 0, dL/dz = 2 (z - y) / 5 and tanh'(0) = 1
    dz = 2 * (0.0 - y) / 5
    np.testing.assert_allclose([float(v) for v in dw_text.split()], X.T @ dz, rtol=1e-6)
    assert float(db_text) == pytest.approx(dz.sum(), rel=1e-12)


def check_tangent_line(out: str, plots: Path) -> None:
    assert floats(rf"f\(1\) = ({NUMBER})", out) == [3 - 4]
    assert floats(rf"f'\(1\) = ({NUMBER})", out) == [6 * 1 - 4]
    assert floats(rf"y = ({NUMBER})x \+ \(({NUMBER})\)", out) == [2.0, -3.0]
    assert_png(plots, "tangent_line.png")


def check_sin_cos(out: str, plots: Path) -> None:
    rows = re.findall(rf"d/dx sin\(x\) at x = ({NUMBER}): ({NUMBER})\s+cos\(x\) = ({NUMBER})", out)
    assert len(rows) == 4
    for x, d, c in rows:
        assert float(d) == pytest.approx(np.cos(float(x)), abs=1e-6)     # x is printed with 6 decimals
        assert float(d) == pytest.approx(float(c), rel=1e-15, abs=1e-300)
    assert floats(rf"max \|d/dx sin\(x\) - cos\(x\)\| over 201 points in \[-2pi, 2pi\]: ({NUMBER})", out)[0] <= 1e-15
    assert_png(plots, "sin_cos.png")


def check_relu(out: str, plots: Path) -> None:
    rows = re.findall(rf"relu\(({NUMBER})\) = ({NUMBER})\s+relu'\({NUMBER}\) = ({NUMBER})", out)
    assert len(rows) == 5
    for x, value, d in (map(float, r) for r in rows):
        assert value == max(x, 0.0)
        if x != 0:
            assert d == (1.0 if x > 0 else 0.0)
        else:
            assert 0.0 <= d <= 1.0                       # a subgradient at the kink
    xs = np.linspace(-3, 3, 121)
    zeros, ones, other = map(int, find(r"(\d+) zeros, (\d+) ones, (\d+) other", out))
    assert (zeros, ones) == (np.sum(xs < 0), np.sum(xs > 0)) and other == np.sum(xs == 0)
    assert_png(plots, "relu.png")


def _squire_trapp(x: float) -> tuple[float, float]:
    """f(x) = e^x / sqrt(s^3 + c^3) and, by hand, f'(x) = f(x) (1 - 3 s c (s - c) / (2 (s^3 + c^3)))."""
    s, c = np.sin(x), np.cos(x)
    f = np.exp(x) / np.sqrt(s ** 3 + c ** 3)
    return f, f * (1 - 3 * s * c * (s - c) / (2 * (s ** 3 + c ** 3)))


def check_finite_difference_error(out: str, plots: Path) -> None:
    x0 = 1.5
    f0, exact = _squire_trapp(x0)
    assert floats(rf"f'\(1\.5\) = ({NUMBER})", out)[0] == pytest.approx(exact, rel=1e-14)
    rows = [tuple(map(float, r)) for r in
            re.findall(rf"^\s*({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s*$", out, re.M)]
    assert [h for h, *_ in rows] == [10.0 ** -k for k in range(1, 16)]
    for h, fwd, cen, cpx in rows:
        if h >= 1e-4:                                  # truncation error dominates: formulas agree
            assert fwd == pytest.approx(abs((_squire_trapp(x0 + h)[0] - f0) / h - exact), rel=2e-2)
            central = (_squire_trapp(x0 + h)[0] - _squire_trapp(x0 - h)[0]) / (2 * h)
            assert cen == pytest.approx(abs(central - exact), rel=2e-2)
            z = x0 + 1j * h
            step = np.exp(z) / np.sqrt(np.sin(z) ** 3 + np.cos(z) ** 3)
            assert cpx == pytest.approx(abs(step.imag / h - exact), rel=2e-2)
        if h <= 1e-8:
            assert cpx <= 1e-14                        # the complex step keeps every digit
    best_fwd = min(rows, key=lambda r: r[1])
    best_cen = min(rows, key=lambda r: r[2])
    assert 1e-9 <= best_fwd[0] <= 1e-7 and best_fwd[1] < 1e-6        # about sqrt(eps)
    assert 1e-7 <= best_cen[0] <= 1e-4 and best_cen[2] < 1e-8        # about cbrt(eps)
    assert rows[-1][1] > 1e3 * best_fwd[1]                           # rounding takes over: the V
    assert floats(rf"best step for forward: h = ({NUMBER})", out) == [best_fwd[0]]
    assert floats(rf"best step for central: h = ({NUMBER})", out) == [best_cen[0]]
    assert_png(plots, "finite_difference_error.png")


def check_expression_swell(out: str, plots: Path) -> None:
    import sympy
    rows = [tuple(float(v) for v in r) for r in re.findall(
        rf"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+({NUMBER})s\s+({NUMBER})\s*$", out, re.M)]
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    sym = sympy.Symbol("l", real=True)
    e, l, dl = sym, 0.3, 1.0
    for n, ops, ops_cse, _sym_lines, s2sad_lines, _seconds, derivative in rows:
        e = 4 * e * (1 - e)
        assert ops == sympy.count_ops(sympy.diff(e, sym))               # the swollen derivative
        assert 0 < ops_cse <= ops
        l, dl = 4 * l * (1 - l), 4 * (1 - 2 * l) * dl                  # the chain rule by hand
        assert derivative == pytest.approx(dl, rel=1e-12)
    assert rows[-1][1] > 100 * rows[1][1]                               # exponential growth
    assert rows[-1][2] < rows[-1][1] / 20                               # CSE recovers most of it
    assert len({r[4] for r in rows}) == 1                               # s2sad's code does not grow
    assert floats(rf"largest relative difference between symbolic and automatic derivatives: ({NUMBER})",
                  out)[0] <= 1e-12
    assert_png(plots, "expression_swell.png")


def check_linear_regression(out: str, plots: Path) -> None:
    x = np.arange(0.0, 11.0)
    y = 2 * x + 1
    b = w = 0.0
    for _ in range(5000):                          # the same descent with the gradient by hand
        r = w * x + b - y
        b, w = b - 0.01 * np.mean(2 * r), w - 0.01 * np.mean(2 * r * x)
    pb, pw, ploss = floats(rf"after 5000 steps \(lr = 0.01\): b = ({NUMBER}), w = ({NUMBER}), loss = ({NUMBER})", out)
    assert (pb, pw) == (pytest.approx(b, abs=2e-6), pytest.approx(w, abs=2e-6))
    assert (pb, pw) == (pytest.approx(1.0, abs=1e-5), pytest.approx(2.0, abs=1e-5))
    assert ploss < 1e-10
    X, Y = np.arange(1.0, 7.0), np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])
    loss, g0, g1 = floats(rf"loss at \(0, 0\) = ({NUMBER}), gradient = \(({NUMBER}), ({NUMBER})\)", out)
    assert loss == pytest.approx(227.58333, abs=1e-5) == np.mean(Y ** 2) / 2
    assert (g0, g1) == (pytest.approx(-20.5, abs=1e-4), pytest.approx(-81.6667, abs=1e-4))
    slope, intercept = np.polyfit(X, Y, 1)
    t0, t1 = floats(rf"gradient descent \(lr 0.05, 3000 steps\): t0 = ({NUMBER}), t1 = ({NUMBER})", out)
    assert (t0, t1) == (pytest.approx(intercept, abs=1e-5), pytest.approx(slope, abs=1e-5))


def check_forward_vs_reverse(out: str, plots: Path) -> None:
    rows = re.findall(rf"^(R\^n -> R|R -> R\^n)\s+(\d+)\s+(\d+)\s+(\d+)\s+({NUMBER})ms\s+({NUMBER})ms\s+({NUMBER})\s*$",
                      out, re.M)
    assert len(rows) == 8
    assert sorted({int(r[1]) for r in rows}) == [1, 10, 100, 400]
    for label, n, fwd, rev, tf, tr, diff in rows:
        n, fwd, rev = int(n), int(fwd), int(rev)
        assert (fwd, rev) == ((n, 1) if label == "R^n -> R" else (1, n))
        assert float(tf) > 0 and float(tr) > 0
        assert float(diff) <= 1e-12


def check_control_flow(out: str, plots: Path) -> None:
    seeds = re.findall(rf"^a = ({NUMBER}): f'\(a\) = ({NUMBER}), f\(a\)/a = ({NUMBER})", out, re.M)
    assert len(seeds) == 2                         # both branches of the seed's if
    for a, g, q in seeds:
        a = float(a)                               # the seed doubles b = 2a until |b| >= 1000
        b = 2 * a
        while abs(b) < 1000:
            b *= 2
        expected = (b if b > 0 else 100 * b) / a
        assert float(g) == pytest.approx(expected, rel=1e-12) == float(q)
    maps = re.findall(rf"logistic map, +(\d+) iterations from 0.3: d l_n/d l_0 = ({NUMBER})", out)
    assert len(maps) == 3
    for n, d in maps:
        l, dl = 0.3, 1.0
        for _ in range(int(n)):
            l, dl = 4 * l * (1 - l), dl * (4 - 8 * l)
        assert float(d) == pytest.approx(dl, rel=1e-8)
    assert "max |loop - vectorized| = 0" in out


def check_higher_order(out: str, plots: Path) -> None:
    d1, d2 = floats(rf"dz/dx = ({NUMBER}), d2z/dx2 = ({NUMBER})", out)
    assert (d1, d2) == (2 * 2 * 3, 2 * 3)
    rows = re.findall(r"sin'''\((" + NUMBER + r")\) = (" + NUMBER + ")", out)
    assert len(rows) >= 3
    for x, v in rows:
        assert float(v) == pytest.approx(-np.cos(float(x)), abs=1e-11)
    assert "max |s2sad - by hand| = 0, symmetric: True" in out
    (err,) = floats(rf"max \|jvp\(grad\) - H_hand @ v\| = ({NUMBER})", out)
    assert err < 1e-9


def check_jacobians(out: str, plots: Path) -> None:
    assert "vjp with cotangent ones = [2. 4. 6.]" in out
    det, ref = floats(rf"det J = ({NUMBER}), r\^2 sin\(theta\) = ({NUMBER})", out)
    assert det == pytest.approx(2.0 ** 2 * np.sin(0.7), rel=1e-9) == ref
    assert "max |forward - reverse| = 0" in out


def check_per_example_gradients(out: str, plots: Path) -> None:
    assert "per-example gradients: (5, 3)" in out
    (err,) = floats(rf"max \|vmap - by hand\|: ({NUMBER})", out)
    assert err < 1e-12
    assert "their mean is the batch gradient: True" in out
    (top,) = floats(rf"largest norm after clipping: ({NUMBER})", out)
    assert top == pytest.approx(1.0)
    assert "def loss_grad_vmap(w, x, y, out_bar):" in out


def check_out_of_core(out: str, plots: Path) -> None:
    assert "data: 400,000 rows x 10 features" in out and "generated lazily" in out
    (diff,) = floats(rf"max relative difference ({NUMBER})", out)
    assert diff < 1e-12
    losses = [float(v) for v in re.findall(rf"loss ({NUMBER})", out)]
    assert len(losses) == 3 and losses[0] == pytest.approx(np.log(2.0), abs=1e-6)   # w = 0: log 2 per row (printed to 6)
    assert losses[0] > losses[1] > losses[2]
    weights = [float(v) for v in find(r"weights after 3 steps: \[([^\]]*)\]", out)[0].split()]
    assert len(weights) == 10 and all(a < b for a, b in zip(weights, weights[1:]))   # the truth's order
    (peak,) = floats(rf"peak memory of the whole run: ({NUMBER}) MB", out)
    assert 0 < peak < 2000
    assert re.search(r"generated gradient: .*out_of_core_loss_grad_\w+\.py", out)


def check_spectral(out: str, plots: Path) -> None:
    assert floats(rf"against central differences: max difference ({NUMBER})", out)[0] < 1e-6
    losses = [float(v) for v in re.findall(rf"step +\d+: loss ({NUMBER})", out)]
    assert len(losses) == 4 and losses[-1] < 1e-2 * losses[0] and losses == sorted(losses, reverse=True)
    recovered, blurred = floats(rf"rms error ({NUMBER}) \(the blurred one: ({NUMBER})\)", out)
    assert recovered < 0.8 * blurred
    grads = re.search(r"grad of \|z\|\^2 at z = \[(.*)\]: \[(.*)\] \(2 conj", out)
    z = np.array([complex(v) for v in grads.group(1).split()])
    np.testing.assert_allclose([complex(v) for v in grads.group(2).split()], 2 * np.conj(z), rtol=1e-12)


CHECKERS = {
    "spectral.py": check_spectral,
    "out_of_core.py": check_out_of_core,
    "per_example_gradients.py": check_per_example_gradients,
    "control_flow.py": check_control_flow,
    "higher_order.py": check_higher_order,
    "jacobians.py": check_jacobians,
    "quickstart.py": check_quickstart,
    "tour.py": check_tour,
    "tangent_line.py": check_tangent_line,
    "sin_cos.py": check_sin_cos,
    "relu.py": check_relu,
    "finite_difference_error.py": check_finite_difference_error,
    "expression_swell.py": check_expression_swell,
    "linear_regression.py": check_linear_regression,
    "forward_vs_reverse.py": check_forward_vs_reverse,
}


def test_the_examples_of_this_issue_exist():
    assert set(CHECKERS) <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_example(name, tmp_path):
    out, plots = run_example(name, tmp_path)
    checker = CHECKERS.get(name)
    if checker is not None:
        checker(out, plots)


PLOTTING = [n for n in SCRIPTS if "matplotlib" in (EXAMPLES / n).read_text()]


@pytest.mark.parametrize("name", PLOTTING)
def test_example_without_matplotlib(name, tmp_path):
    blocker = tmp_path / "no_matplotlib" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib is blocked for this test')\n")
    out, plots = run_example(name, tmp_path, pythonpath_first=blocker.parent)
    assert not list(plots.glob("*.png")) if plots.exists() else True
    if name in CHECKERS:
        assert "matplotlib is not installed" in out
