"""The CuPy backend on a GPU: s2sad's generated CuPy gradient against a hand-written CuPy gradient, and
against PyTorch (CUDA) and JAX (jit) where they are installed.

    python benchmarks/gpu_run.py            # vectorised Rosenbrock n = 10,000,000; MLP batch 8,192
    python benchmarks/gpu_run.py --quick    # n = 1,000,000; batch 1,024

Cases come from cases.py: the same NumPy functions, the hand-written gradients run with `np` rebound to
CuPy, and the PyTorch versions on CUDA tensors. Every timed call ends with a device synchronisation
(GPU work is asynchronous), and s2sad's runs alternate with the hand-written ones; the ratio is the
median of the paired ratios. Gradients are checked against the hand-written ones before timing. The
table, with the GPU's name, goes to stdout and gpu_results.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import cases  # noqa: E402
from run import as_tuple, fmt_time, mismatch, rebind  # noqa: E402

import s2sad  # noqa: E402

TARGET = 1.2


def sizes(quick: bool) -> dict:
    return {"rosenbrock": 1_000_000 if quick else 10_000_000, "batch": 1_024 if quick else 8_192}


def gpu_cases(size: dict) -> list[dict]:
    n, b = size["rosenbrock"], size["batch"]
    return [
        {"name": "rosenbrock", "what": f"vectorised Rosenbrock, n={n:,}", "fn": cases.rosenbrock,
         "argnums": 0, "args": cases.rosenbrock_args(False, n), "hand": cases.rosenbrock_hand, "torch": cases.rosenbrock_torch},
        {"name": "mlp_mse", "what": f"MLP 784-128-10 (tanh), MSE, batch {b:,}", "fn": cases.mlp_mse,
         "argnums": (0, 1, 2, 3), "args": cases.mlp_args(False, b), "hand": cases.mlp_mse_hand, "torch": cases.mlp_mse_torch},
        {"name": "mlp_xent", "what": f"same MLP, softmax cross-entropy, batch {b:,}", "fn": cases.mlp_xent,
         "argnums": (0, 1, 2, 3), "args": cases.mlp_args(False, b), "hand": cases.mlp_xent_hand,
         "torch": cases.mlp_xent_torch},
    ]


def _seconds(fn, n: int, sync) -> float:
    """Seconds per call of n calls of fn, the device's queue drained at the end."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - start) / n


def _calls(fn, sync, min_time: float) -> int:
    """Calls per run: 1, 2, 5, 10, ... until a run takes min_time."""
    n = 1
    while _seconds(fn, n, sync) * n < min_time and n < 10 ** 5:
        n = n * 5 // 2 if str(n)[0] == "2" else n * 2
    return n


def paired(fa, fb, sync, repeats: int, min_time: float) -> tuple[float, float, float]:
    """(seconds per call of fa, of fb, median of the paired ratios fb / fa), runs interleaved."""
    na, nb = _calls(fa, sync, min_time), _calls(fb, sync, min_time)
    ra, rb = [], []
    for _ in range(repeats):
        ra.append(_seconds(fa, na, sync))
        rb.append(_seconds(fb, nb, sync))
    return statistics.median(ra), statistics.median(rb), statistics.median(b / a for a, b in zip(ra, rb))


def _torch_peer(case, args):
    try:
        import torch
    except Exception:
        return None
    if not torch.cuda.is_available():
        return None
    nums = (case["argnums"],) if isinstance(case["argnums"], int) else case["argnums"]
    tensors = [torch.tensor(a, device="cuda", requires_grad=i in nums) for i, a in enumerate(args)]

    def step():
        for i in nums:
            tensors[i].grad = None
        case["torch"](*tensors).backward()
        return tuple(tensors[i].grad for i in nums)
    return step, torch.cuda.synchronize, lambda g: tuple(t.cpu().numpy() for t in g)


def _jax_peer(case, args):
    try:
        import jax
        import jax.numpy as jnp
    except Exception:
        return None
    if not any(d.platform == "gpu" for d in jax.devices()):
        return None
    jax.config.update("jax_enable_x64", True)
    dev = [jnp.asarray(a) for a in args]
    g = jax.jit(jax.grad(rebind(case["fn"], jnp), argnums=case["argnums"]))
    last = []

    def step():
        out = g(*dev)
        last[:] = [out]
        return out

    def sync():
        if last:
            jax.block_until_ready(last[0])
    return step, sync, lambda out: tuple(np.asarray(o) for o in as_tuple(out))


def run(cp, size: dict, peers: bool = True, repeats: int = 9, min_time: float = 0.05) -> list[dict]:
    """One row per case: hand-written and s2sad per-call seconds, their ratio, the peers' ratios."""
    sync = cp.cuda.Device().synchronize
    rows = []
    for case in gpu_cases(size):
        args = [cp.asarray(a) for a in case["args"]]
        hand = rebind(case["hand"], cp)
        g = s2sad.grad(case["fn"], argnums=case["argnums"])
        want = tuple(cp.asnumpy(v) for v in as_tuple(hand(*args)))
        got = g(*args)
        if not all(isinstance(v, cp.ndarray) for v in as_tuple(got)):
            raise AssertionError(f"{case['name']}: s2sad's gradient left the GPU")
        bad = mismatch(tuple(cp.asnumpy(v) for v in as_tuple(got)), want)
        if bad:
            raise AssertionError(f"{case['name']}: s2sad disagrees with the hand-written gradient: {bad}")
        t_hand, t_s2sad, ratio = paired(lambda: hand(*args), lambda: g(*args), sync, repeats, min_time)
        row = {"case": case["name"], "what": case["what"], "hand_s": t_hand, "s2sad_s": t_s2sad,
               "ratio": ratio, "target": TARGET, "met": ratio <= TARGET, "source": str(g.path or "")}
        for peer, make in (("torch", _torch_peer), ("jax.jit", _jax_peer)):
            made = make(case, case["args"]) if peers else None
            if made is None:
                row[peer] = None
                continue
            step, peer_sync, to_host = made
            bad = mismatch(to_host(step()), want)
            if bad:
                row[peer] = f"wrong: {bad}"
                continue
            n = _calls(step, peer_sync, min_time)
            row[peer] = statistics.median(_seconds(step, n, peer_sync) for _ in range(repeats)) / t_hand
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    head = f"{'case':<11} {'hand':>9} {'s2sad':>9} {'s2sad/hand':>10} {'target':>7} {'met':>4} " \
           f"{'torch':>7} {'jax.jit':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        peers = [("n/a" if r[p] is None else r[p] if isinstance(r[p], str) else f"{r[p]:.2f}")
                 for p in ("torch", "jax.jit")]
        lines.append(f"{r['case']:<11} {fmt_time(r['hand_s']):>9} {fmt_time(r['s2sad_s']):>9} "
                     f"{r['ratio']:>10.2f} {'<= ' + str(r['target']):>7} {'yes' if r['met'] else 'NO':>4} "
                     f"{peers[0]:>7} {peers[1]:>7}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes")
    p.add_argument("--no-peers", action="store_true", help="skip PyTorch and JAX")
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--out", default=str(HERE / "gpu_results.json"))
    a = p.parse_args(argv)
    from s2sad import backends
    why = backends.missing_cupy()
    if why:
        print(f"gpu_run: {why}", file=sys.stderr)
        return 2
    import cupy as cp
    name = cp.cuda.runtime.getDeviceProperties(0)["name"]
    gpu = name.decode() if isinstance(name, bytes) else str(name)
    rows = run(cp, sizes(a.quick), peers=not a.no_peers, repeats=a.repeats)
    print(f"GPU: {gpu}; CuPy {cp.__version__}; ratios are time / hand-written CuPy time (medians)")
    print(table(rows))
    Path(a.out).write_text(json.dumps({"gpu": gpu, "cupy": cp.__version__, "quick": a.quick, "rows": rows},
                                      indent=2) + "\n")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
