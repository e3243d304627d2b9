"""Benchmark s2sad's transformation family: Jacobians, Hessian-vector products, forward vs reverse.

    python benchmarks/higher_order_bench.py [--quick] [--repeats N] [--json PATH] [--no-peers]

(a) Jacobian of an R^100 -> R^100 map, y = tanh(A @ x) * x with a fixed A: s2sad's jacobian in
    forward mode (100 tangent sweeps) and reverse mode (100 cotangent sweeps) against the Jacobian
    written by hand in NumPy (diag(tanh(Ax)) + diag(x (1 - tanh(Ax)^2)) A), and against autograd
    (jacobian), PyTorch (torch.func.jacfwd / jacrev) and JAX (jacfwd / jacrev, and jit(jacfwd))
    when they import.
(b) Hessian-vector product of Rosenbrock, n = 1,000: s2sad's jvp(grad(f), (x,), (v,)) (forward over
    reverse, never forming H) against the product written by hand, autograd's
    hessian_tensor_product, PyTorch's torch.func.jvp(torch.func.grad(f)) and JAX's
    jax.jvp(jax.grad(f)) (and its jit).
(c) The cost of a full Jacobian in each mode, for f: R^n -> R (sum(tanh(x) * x)) and f: R -> R^n
    (sin(t c) * c) as n grows (1, 10, 100, 1000; --quick stops at 100): forward mode needs n sweeps
    for the first and 1 for the second, reverse mode 1 and n.

Every result is checked against the hand-written one (np.allclose); a mismatch shows as WRONG and
makes the exit status 1. Times are per call: timeit's autorange picks the calls per run, then the
median of --repeats runs (7 by default, at least 5). The tables are printed and written to
benchmarks/higher_order_results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("S2SAD_GENERATED_DIR", str(HERE / ".generated"))
os.environ.setdefault("JAX_PLATFORMS", "cpu")
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402

import s2sad  # noqa: E402
from run import fmt_time, load_peers, machine_info, median_time  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9


# --------------------------------------------------------------------------------------------
# the functions (NumPy; autograd and JAX run the same code with `np` rebound)
# --------------------------------------------------------------------------------------------
def tanh_map(x, A):                 # R^100 -> R^100
    return np.tanh(A @ x) * x


def tanh_map_jacobian_hand(x, A):
    t = np.tanh(A @ x)
    J = (x * (1 - t * t))[:, None] * A
    J[np.diag_indices_from(J)] += t
    return J


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hvp_hand(x, v):
    head, tail = x[:-1], x[1:]
    out = np.zeros_like(x)
    out[:-1] = (1200 * head ** 2 - 400 * tail + 2) * v[:-1] - 400 * head * v[1:]
    out[1:] += 200 * v[1:] - 400 * head * v[:-1]
    return out


def many_to_one(x):                 # R^n -> R
    return np.sum(np.tanh(x) * x)


def many_to_one_jacobian_hand(x):
    t = np.tanh(x)
    return t + x * (1 - t * t)


def one_to_many(t, c):              # R -> R^n (c: a constant vector of length n)
    return np.sin(t * c) * c


def one_to_many_jacobian_hand(t, c):
    return np.cos(t * c) * c * c


def rebind(fn, np_mod):
    import types
    g = dict(fn.__globals__)
    g["np"] = np_mod
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------
def check(got, want):
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        return f"max abs error {np.max(np.abs(got - want)):.3g}"
    return None


def measure(label, check_fn, timed_fn, want, repeats, log, hand_s=None):
    """Warm up (generation, compilation, jit), check against `want`, time. A row dict."""
    row = {"method": label, "status": "ok", "time_s": None, "ratio": None, "first_call_s": None}
    try:
        t0 = time.perf_counter()
        got = check_fn()
        row["first_call_s"] = time.perf_counter() - t0
        bad = check(got, want)
        if bad:
            row["status"], row["error"] = "WRONG", bad
            log(f"  {label:<34} WRONG: {bad}")
        row["time_s"] = median_time(timed_fn, repeats)
        if hand_s:
            row["ratio"] = row["time_s"] / hand_s
        log(f"  {label:<34} {fmt_time(row['time_s'])}")
    except Exception as exc:
        row["status"], row["error"] = "error", f"{type(exc).__name__}: {exc}"
        log(f"  {label:<34} error: {row['error'][:300]}")
        log(traceback.format_exc())
    return row


def table(head, rows, left=(0,)):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def method_table(rows):
    out = []
    for r in rows:
        t = "error" if r["time_s"] is None else fmt_time(r["time_s"])
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        status = r["status"] if r["status"] != "ok" else ""
        out.append([r["method"], t, ratio, status])
    return table(["method", "time", "x hand", ""], out)


# --------------------------------------------------------------------------------------------
# (a) Jacobian of R^100 -> R^100
# --------------------------------------------------------------------------------------------
def bench_jacobian(peers, repeats, log):
    n = 100
    rng = np.random.default_rng(5)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    want = tanh_map_jacobian_hand(x, A)
    log(f"(a) Jacobian of y = tanh(A @ x) * x, R^{n} -> R^{n}")
    rows = []
    hand = measure("hand-written (NumPy)", lambda: tanh_map_jacobian_hand(x, A),
                   lambda: tanh_map_jacobian_hand(x, A), want, repeats, log)
    hand_s = hand["time_s"]
    hand["ratio"] = 1.0
    rows.append(hand)
    for mode in ("forward", "reverse"):
        J = s2sad.jacobian(tanh_map, mode=mode)
        rows.append(measure(f"s2sad jacobian, mode={mode}", lambda J=J: J(x, A), lambda J=J: J(x, A),
                            want, repeats, log, hand_s))
    if "autograd" in peers:
        autograd, anp = peers["autograd"]
        jf = autograd.jacobian(rebind(tanh_map, anp))
        rows.append(measure("autograd jacobian (reverse)", lambda: jf(x, A), lambda: jf(x, A),
                            want, repeats, log, hand_s))
    if "torch" in peers:
        torch = peers["torch"]
        tx, tA = torch.from_numpy(x), torch.from_numpy(A)

        def tmap(x):
            return torch.tanh(tA @ x) * x

        for name in ("jacfwd", "jacrev"):
            jf = getattr(torch.func, name)(tmap)
            rows.append(measure(f"torch.func.{name}", lambda jf=jf: jf(tx).numpy(), lambda jf=jf: jf(tx),
                                want, repeats, log, hand_s))
    if "jax" in peers:
        jax, jnp = peers["jax"]
        jx, jA = jnp.asarray(x), jnp.asarray(A)
        f = rebind(tanh_map, jnp)
        variants = [("jax.jacfwd", jax.jacfwd(f)), ("jax.jacrev", jax.jacrev(f)),
                    ("jax.jit(jax.jacfwd)", jax.jit(jax.jacfwd(f))), ("jax.jit(jax.jacrev)", jax.jit(jax.jacrev(f)))]
        for name, jf in variants:
            run = lambda jf=jf: jax.block_until_ready(jf(jx, jA))  # noqa: E731
            rows.append(measure(name, lambda run=run: np.asarray(run()), run, want, repeats, log, hand_s))
    return rows


# --------------------------------------------------------------------------------------------
# (b) Hessian-vector product of Rosenbrock, n = 1,000
# --------------------------------------------------------------------------------------------
def bench_hvp(peers, repeats, log):
    n = 1000
    rng = np.random.default_rng(6)
    x = rng.uniform(-1.0, 1.0, n)
    v = rng.standard_normal(n)
    want = rosenbrock_hvp_hand(x, v)
    log(f"(b) Hessian-vector product of Rosenbrock, n = {n}")
    rows = []
    hand = measure("hand-written (NumPy)", lambda: rosenbrock_hvp_hand(x, v), lambda: rosenbrock_hvp_hand(x, v),
                   want, repeats, log)
    hand_s = hand["time_s"]
    hand["ratio"] = 1.0
    rows.append(hand)
    g = s2sad.grad(rosenbrock)
    hvp = lambda: s2sad.jvp(g, (x,), (v,))[1]  # noqa: E731
    rows.append(measure("s2sad jvp(grad(f), (x,), (v,))", hvp, hvp, want, repeats, log, hand_s))
    if "autograd" in peers:
        autograd, anp = peers["autograd"]
        htp = autograd.hessian_tensor_product(rebind(rosenbrock, anp))
        rows.append(measure("autograd hessian_tensor_product", lambda: htp(x, v), lambda: htp(x, v),
                            want, repeats, log, hand_s))
    if "torch" in peers:
        torch = peers["torch"]
        tx, tv = torch.from_numpy(x), torch.from_numpy(v)

        def trosen(x):
            return torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

        tg = torch.func.grad(trosen)
        run = lambda: torch.func.jvp(tg, (tx,), (tv,))[1]  # noqa: E731
        rows.append(measure("torch.func.jvp(torch.func.grad(f))", lambda: run().numpy(), run,
                            want, repeats, log, hand_s))
    if "jax" in peers:
        jax, jnp = peers["jax"]
        jx, jv = jnp.asarray(x), jnp.asarray(v)
        jg = jax.grad(rebind(rosenbrock, jnp))

        def jhvp(x, v):
            return jax.jvp(jg, (x,), (v,))[1]

        for name, fn in (("jax.jvp(jax.grad(f))", jhvp), ("jax.jit(jax.jvp(jax.grad(f)))", jax.jit(jhvp))):
            run = lambda fn=fn: jax.block_until_ready(fn(jx, jv))  # noqa: E731
            rows.append(measure(name, lambda run=run: np.asarray(run()), run, want, repeats, log, hand_s))
    return rows


# --------------------------------------------------------------------------------------------
# (c) forward vs reverse as n grows
# --------------------------------------------------------------------------------------------
def bench_modes(sizes, repeats, log):
    log("(c) full Jacobian, forward vs reverse mode, as n grows")
    rows = []
    for n in sizes:
        x = np.linspace(0.1, 1.0, n)
        c = np.linspace(1.0, 2.0, n)
        cases = [("R^n -> R", many_to_one, (x,), many_to_one_jacobian_hand(x), n, 1),
                 ("R -> R^n", one_to_many, (0.5, c), one_to_many_jacobian_hand(0.5, c), 1, n)]
        for label, f, args, want, fwd_sweeps, rev_sweeps in cases:
            row = {"f": label, "n": n, "forward_sweeps": fwd_sweeps, "reverse_sweeps": rev_sweeps}
            for mode in ("forward", "reverse"):
                J = s2sad.jacobian(f, mode=mode)
                r = measure(f"{label} n={n} {mode}", lambda J=J: J(*args), lambda J=J: J(*args),
                            want, repeats, log)
                row[mode] = r
            rows.append(row)
    return rows


def modes_table(rows):
    out = []
    for r in rows:
        tf, tr = r["forward"]["time_s"], r["reverse"]["time_s"]
        bad = [m for m in ("forward", "reverse") if r[m]["status"] != "ok"]
        faster = "-" if tf is None or tr is None else ("forward" if tf < tr else "reverse")
        out.append([r["f"], r["n"], r["forward_sweeps"], r["reverse_sweeps"], fmt_time(tf), fmt_time(tr),
                    "-" if tf is None or tr is None else f"{tf / tr:.3g}", faster,
                    " ".join(f"{m} {r[m]['status']}" for m in bad)])
    return table(["f", "n", "fwd sweeps", "rev sweeps", "forward", "reverse", "fwd/rev", "faster", ""], out)


# --------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="n up to 100 in (c), 5 repeats")
    ap.add_argument("--repeats", type=int, default=None, help="timing runs per measurement (default 7, min 5)")
    ap.add_argument("--no-peers", action="store_true", help="skip autograd, PyTorch and JAX")
    ap.add_argument("--json", default=str(HERE / "higher_order_results.json"), help="where to write the results")
    opts = ap.parse_args(argv)
    repeats = max(5, opts.repeats or (5 if opts.quick else 7))
    sizes = (1, 10, 100) if opts.quick else (1, 10, 100, 1000)

    peers = load_peers(not opts.no_peers)
    t_origin = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_origin:6.1f}s] {msg}", file=sys.stderr, flush=True)

    log(f"peers: {', '.join(peers) or 'none'}; generated code in {os.environ['S2SAD_GENERATED_DIR']}")
    jac_rows = bench_jacobian(peers, repeats, log)
    hvp_rows = bench_hvp(peers, repeats, log)
    mode_rows = bench_modes(sizes, repeats, log)

    info = machine_info(peers)
    print(f"s2sad {info['s2sad']}, Python {info['python']}, NumPy {info['numpy']}, {info['platform']}, "
          f"{info['cpu_count']} cores; peers: " + (", ".join(f"{k} {v}" for k, v in info["peers"].items()) or "none"))
    print(f"per-call medians of {repeats} runs (timeit autorange); 'x hand' is time / hand-written time\n")
    print("(a) Jacobian of y = tanh(A @ x) * x, R^100 -> R^100 (100 sweeps in either mode)")
    print(method_table(jac_rows))
    print("\n(b) Hessian-vector product of Rosenbrock, n = 1,000")
    print(method_table(hvp_rows))
    print("\n(c) full Jacobian by s2sad.jacobian: f: R^n -> R is sum(tanh(x) * x), f: R -> R^n is sin(t c) * c")
    print(modes_table(mode_rows))

    flat = jac_rows + hvp_rows + [r[m] for r in mode_rows for m in ("forward", "reverse")]
    failed = [r for r in flat if r["status"] != "ok"]
    for r in failed:
        print(f"\n{r['method']}: {r['status']}: {r.get('error')}")
    payload = {"machine": info, "options": {"quick": opts.quick, "repeats": repeats, "rtol": RTOL, "atol": ATOL},
               "elapsed_s": time.perf_counter() - t_origin,
               "jacobian_R100": jac_rows, "hvp_rosenbrock_1000": hvp_rows, "forward_vs_reverse": mode_rows}
    Path(opts.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nresults written to {opts.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
