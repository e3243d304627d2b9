"""Benchmark vmap and the vector modes: per-example gradients, Jacobians and Hessians in one sweep.

    python benchmarks/vmap_bench.py [--repeats N] [--json PATH] [--no-peers]

(a) Per-example gradients of a 2-layer MLP (loss (tanh(x W1 + b1) w2 - y)^2, 32 inputs, 64 hidden,
    batch 256): `vmap(grad(loss), in_axes=(None, 0, 0))` against the gradients written by hand for the
    whole batch at once (einsum), a Python loop of `grad` calls, and `jax.vmap(jax.grad)` and
    `torch.func.vmap(torch.func.grad)` when they import.
(b) Jacobian of tanh(W x), R^100 -> R^100, in forward and reverse mode (one batched sweep each)
    against the closed form (1 - tanh(W x)^2)[:, None] * W.
(c) Hessian of Rosenbrock, n = 200 (forward over reverse, the tangents batched; from the second call
    compressed to 4 directions: 3 colours of columns and the probe, s2sad/api/sparsity.py) against
    the tridiagonal Hessian written by hand and built densely; and its first call (200 directions,
    dense).
(d) Hessian-vector product of Rosenbrock, n = 1,000: `s2sad.hvp` (forward over reverse, the tangent's
    code alone) and `jvp(grad(f))[1]` against the product written by hand, and JAX's jit(jvp(grad)).

Every result is checked against the hand-written one; a mismatch shows as WRONG and makes the exit
status 1. Times are per call: the median of --repeats runs of timeit's autorange; each ratio is the median
of paired ratios, the method's runs alternating with the hand-written one's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
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
from run import fmt_time, load_peers, machine_info, median_time, paired_times  # noqa: E402


def mlp_loss(params, x, y):
    h = np.tanh(x @ params[0] + params[1])
    return (h @ params[2] - y) ** 2


def mlp_per_example_hand(params, X, Y):
    """The per-example gradients of mlp_loss for a whole batch, written by hand (einsum)."""
    W1, b1, w2 = params
    H = np.tanh(X @ W1 + b1)
    r = 2.0 * (H @ w2 - Y)                       # (B,)
    dH = r[:, None] * w2[None, :] * (1 - H ** 2)   # (B, hidden)
    return [np.einsum("bi,bj->bij", X, dH), dH, r[:, None] * H]


def tanh_map(x, W):
    return np.tanh(W @ x)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian_hand(x):
    n = x.size
    d = np.zeros(n)
    d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    H = np.diag(d)
    off = -400.0 * x[:-1]
    H[np.arange(n - 1), np.arange(1, n)] = off
    H[np.arange(1, n), np.arange(n - 1)] = off
    return H


def rosenbrock_hvp_hand(x, v):
    """H(x) @ v of rosenbrock, written by hand from the tridiagonal Hessian."""
    head, tail = x[:-1], x[1:]
    out = np.zeros_like(x)
    out[:-1] = (1200.0 * head ** 2 - 400.0 * tail + 2.0) * v[:-1] - 400.0 * head * v[1:]
    out[1:] += 200.0 * v[1:] - 400.0 * head * v[:-1]
    return out


def close(got, want) -> bool:
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(close(g, w) for g, w in zip(got, want))
    got = np.asarray(got)
    return got.shape == np.shape(want) and bool(np.allclose(got, want, rtol=1e-6, atol=1e-9))


def row(label, fn, want, repeats, hand=None):
    """One timed method, checked against `want`. With `hand` (the hand-written row), its runs alternate
    with the hand-written function's and the ratio is the median of the paired ratios, so that both see
    the same state of a shared machine (a peer's threads still busy, a slow minute)."""
    try:
        ok = close(fn(), want)
        if hand is None:
            out = {"method": label, "seconds": median_time(fn, repeats), "ok": ok, "_fn": fn}
        else:
            _, t, ratio = paired_times(hand["_fn"], fn, repeats)
            out = {"method": label, "seconds": t, "ok": ok, "ratio": ratio}
    except Exception as exc:          # a peer that cannot run this: say why, keep going
        return {"method": label, "error": f"{type(exc).__name__}: {exc}"[:120]}
    return out


def bench_mlp(peers, repeats):
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(32, 64)) / 6, rng.normal(size=64) / 6, rng.normal(size=64) / 8]
    X, Y = rng.normal(size=(256, 32)), rng.normal(size=256)
    want = mlp_per_example_hand(params, X, Y)
    hand = row("hand-written, whole batch (einsum)", lambda: mlp_per_example_hand(params, X, Y), want, repeats)
    rows = [hand]
    per_example = s2sad.vmap(s2sad.grad(mlp_loss), in_axes=(None, 0, 0))
    rows.append(row("s2sad vmap(grad)", lambda: per_example(params, X, Y), want, repeats, hand))
    g = s2sad.grad(mlp_loss)

    def looped():
        parts = [g(params, X[k], Y[k]) for k in range(len(X))]
        return [np.stack([p[j] for p in parts]) for j in range(3)]
    rows.append(row("s2sad grad in a Python loop", looped, want, max(3, repeats // 2), hand))
    if "jax" in peers:
        jax, jnp = peers["jax"]

        def jloss(p, x, y):
            return (jnp.tanh(x @ p[0] + p[1]) @ p[2] - y) ** 2
        jp = [jnp.asarray(a) for a in params]
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        f = jax.vmap(jax.grad(jloss), in_axes=(None, 0, 0))
        rows.append(row("JAX vmap(grad)", lambda: [np.asarray(a) for a in f(jp, jX, jY)], want, repeats,
                        hand))
        fj = jax.jit(f)
        rows.append(row("JAX jit(vmap(grad))", lambda: [np.asarray(a) for a in fj(jp, jX, jY)], want, repeats,
                        hand))
    if "torch" in peers:
        torch = peers["torch"]

        def tloss(p, x, y):
            return (torch.tanh(x @ p[0] + p[1]) @ p[2] - y) ** 2
        tp = [torch.tensor(a) for a in params]
        tX, tY = torch.tensor(X), torch.tensor(Y)
        f = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))
        rows.append(row("PyTorch torch.func.vmap(grad)", lambda: [a.numpy() for a in f(tp, tX, tY)], want,
                        repeats, hand))
    return rows


def bench_jacobian(repeats):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(100, 100)) / 10
    x = rng.normal(size=100)

    def hand_fn():
        return (1 - np.tanh(W @ x) ** 2)[:, None] * W
    want = hand_fn()
    hand = row("closed form (NumPy)", hand_fn, want, repeats)
    rows = [hand]
    for mode in ("forward", "reverse"):
        J = s2sad.jacobian(tanh_map, mode=mode)
        rows.append(row(f"s2sad jacobian, mode={mode}", lambda J=J: J(x, W), want, repeats, hand))
    return rows


def bench_hessian(repeats):
    x = np.random.default_rng(2).uniform(-1, 1, 200)
    want = rosenbrock_hessian_hand(x)
    hand = row("tridiagonal by hand, built densely", lambda: rosenbrock_hessian_hand(x), want, repeats)
    H = s2sad.hessian(rosenbrock)
    dense = row("s2sad hessian, first call (dense: 200 directions)", lambda: s2sad.hessian(rosenbrock)(x), want,
                repeats, hand)
    return [hand, row("s2sad hessian (compressed from the second call)", lambda: H(x), want, repeats,
                      hand), dense]


def bench_hvp(peers, repeats):
    rng = np.random.default_rng(6)
    x, v = rng.uniform(-1, 1, 1000), rng.standard_normal(1000)
    want = rosenbrock_hvp_hand(x, v)
    hand = row("written by hand", lambda: rosenbrock_hvp_hand(x, v), want, repeats)
    g = s2sad.grad(rosenbrock)
    rows = [hand,
            row("s2sad hvp(f, (x,), (v,))", lambda: s2sad.hvp(rosenbrock, (x,), (v,)), want, repeats, hand),
            row("s2sad jvp(grad(f), (x,), (v,))[1]", lambda: s2sad.jvp(g, (x,), (v,))[1], want, repeats,
                hand)]
    if "jax" in peers:
        jax, jnp = peers["jax"]

        def jrosen(x):
            return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
        jhvp = jax.jit(lambda x, v: jax.jvp(jax.grad(jrosen), (x,), (v,))[1])
        jx, jv = jnp.asarray(x), jnp.asarray(v)
        rows.append(row("JAX jit(jvp(grad))", lambda: np.asarray(jhvp(jx, jv)), want, repeats, hand))
    return rows


def show(title, rows) -> bool:
    print(f"\n{title}")
    good = True
    for r in rows:
        if "error" in r:
            print(f"  {r['method']:<40} error: {r['error']}")
            continue
        ratio = f"{r['ratio']:8.2f}x" if "ratio" in r else "         "
        mark = "" if r["ok"] else "  WRONG"
        good = good and r["ok"]
        print(f"  {r['method']:<40} {fmt_time(r['seconds']):>10} {ratio}{mark}")
    return good


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args(argv)
    peers = load_peers(not args.no_peers)
    info = machine_info(peers)
    print(f"python {info['python']}, numpy {info['numpy']}, {info['cpu_count']} CPUs, peers: {info['peers']}")
    results = {"machine": info, "mlp": bench_mlp(peers, args.repeats), "jacobian": bench_jacobian(args.repeats),
               "hessian": bench_hessian(args.repeats), "hvp": bench_hvp(peers, args.repeats)}
    ok = show("(a) per-example gradients, 2-layer MLP, batch 256 (ratio: to the hand-written batch)", results["mlp"])
    ok &= show("(b) jacobian of tanh(W x), R^100 -> R^100 (ratio: to the closed form)", results["jacobian"])
    ok &= show("(c) hessian of Rosenbrock, n = 200 (ratio: to the hand-written tridiagonal one)", results["hessian"])
    ok &= show("(d) Hessian-vector product of Rosenbrock, n = 1,000 (ratio: to the hand-written one)", results["hvp"])
    if args.json:
        shown = {k: [{f: v for f, v in r.items() if not f.startswith("_")} for r in rows] if isinstance(rows, list)
                 else rows for k, rows in results.items()}
        args.json.write_text(json.dumps(shown, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
