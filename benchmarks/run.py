"""Benchmark s2sad's gradients against hand-written NumPy gradients (and autograd, PyTorch, JAX).

    python benchmarks/run.py [--quick] [--only NAME ...] [--repeats N] [--json PATH] [--no-peers]

For each case in benchmarks/cases.py it
  1. checks s2sad's gradient against the hand-written one with np.allclose (a mismatch or an error
     is printed loudly, shown as WRONG / error in the table, and makes the exit status 1);
  2. times the hand-written gradient and the whole call through s2sad's grad callable (after one
     warm-up call, which generates and compiles the code), timeit-style: Timer.autorange() picks
     the number of calls per run, then the median of `--repeats` runs (7 by default), per call;
     s2sad's runs alternate with the hand-written gradient's, and its ratio is the median of the
     paired ratios (both see the same state of a shared machine);
  3. does the same for autograd, PyTorch (CPU, float64, torch.autograd.grad) and JAX (jax.grad, and
     jax.jit(jax.grad) where it can be jitted) when they import, and checks their gradients too.

It prints an aligned table (times per call; ratios are X / hand-written) and writes
benchmarks/results.json. Peers on the one-million-iteration loops get a time cap per call
(--peer-cap, 20 s): a peer past it shows as '>N' (a lower bound on its ratio).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import statistics
import sys
import time
import timeit
import traceback
import types
import warnings
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
import cases as case_defs  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------
class CapExceeded(Exception):
    pass


_cap_active = False


def _alarm(signum, frame):
    if _cap_active:
        raise CapExceeded()


def call_with_cap(fn, cap_s):
    """fn(), interrupted (CapExceeded) after cap_s seconds when cap_s is set (main thread, POSIX).

    The timer fires again every 50 ms until the call ends: an exception raised inside a callback
    that swallows it (JAX's garbage-collection hook does) would otherwise be lost.
    """
    global _cap_active
    if not cap_s or not hasattr(signal, "setitimer"):
        return fn()
    old = signal.signal(signal.SIGALRM, _alarm)
    _cap_active = True
    signal.setitimer(signal.ITIMER_REAL, cap_s, 0.05)
    try:
        return fn()
    finally:
        _cap_active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def median_time(fn, repeats: int) -> float:
    """Per-call seconds: autorange for the number of calls per run, then the median of `repeats` runs."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    runs = timer.repeat(repeat=repeats, number=number)
    return statistics.median(runs) / number


def paired_times(fa, fb, repeats: int) -> tuple[float, float, float]:
    """(per-call seconds of fa, of fb, median ratio fb / fa), the runs of the two interleaved (a, b, a,
    b, ...) so that both see the same state of a shared machine; each run's call count from autorange."""
    ta, tb = timeit.Timer(fa), timeit.Timer(fb)
    na, _ = ta.autorange()
    nb, _ = tb.autorange()
    ra, rb = [], []
    for _ in range(repeats):
        ra.append(ta.timeit(na) / na)
        rb.append(tb.timeit(nb) / nb)
    return statistics.median(ra), statistics.median(rb), statistics.median(b / a for a, b in zip(ra, rb))


def fmt_time(t) -> str:
    if t is None:
        return "-"
    if t < 1e-6:
        return f"{t * 1e9:.0f} ns"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


# --------------------------------------------------------------------------------------------
# checking
# --------------------------------------------------------------------------------------------
def as_tuple(g):
    return tuple(g) if isinstance(g, (tuple, list)) else (g,)


def mismatch(got, want) -> str | None:
    """None when every component is np.allclose, else a description of the first difference."""
    got, want = as_tuple(got), as_tuple(want)
    if len(got) != len(want):
        return f"{len(got)} gradients, expected {len(want)}"
    for k, (a, b) in enumerate(zip(got, want)):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return f"gradient {k}: shape {a.shape}, expected {b.shape}"
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            err = np.max(np.abs(a - b) / (ATOL + np.abs(b)))
            return f"gradient {k}: max relative error {err:.3g}"
    return None


# --------------------------------------------------------------------------------------------
# peers
# --------------------------------------------------------------------------------------------
def _math_shim(mod):
    return types.SimpleNamespace(sin=mod.sin, cos=mod.cos, tan=mod.tan, exp=mod.exp, log=mod.log,
                                 sqrt=mod.sqrt, tanh=mod.tanh, pi=math.pi)


def rebind(fn, np_mod):
    """fn's code with `np` and `math` rebound (autograd.numpy / jax.numpy run the same source)."""
    g = dict(fn.__globals__)
    g["np"] = np_mod
    g["math"] = _math_shim(np_mod)
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


def load_peers(enabled: bool) -> dict:
    peers = {}
    if not enabled:
        return peers
    try:
        import autograd
        import autograd.numpy as anp
        peers["autograd"] = (autograd, anp)
    except Exception:
        pass
    try:
        import torch
        peers["torch"] = torch
    except Exception:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import jax
            import jax.numpy as jnp
            jax.config.update("jax_enable_x64", True)
        peers["jax"] = (jax, jnp)
    except Exception:
        pass
    return peers


def peer_versions(peers) -> dict:
    out = {}
    if "autograd" in peers:
        import importlib.metadata as md
        try:
            out["autograd"] = md.version("autograd")
        except Exception:
            out["autograd"] = "?"
    if "torch" in peers:
        out["torch"] = peers["torch"].__version__
        out["torch_threads"] = peers["torch"].get_num_threads()
    if "jax" in peers:
        out["jax"] = peers["jax"][0].__version__
    return out


def peer_callables(case, args, peers):
    """{column: (callable returning numpy gradients, timed callable) or a status string}."""
    nums = as_tuple(case.argnums)
    out = {}

    if "autograd" in peers:
        autograd, anp = peers["autograd"]
        g = autograd.grad(rebind(case.fn, anp), case.argnums)
        fn = lambda g=g: g(*args)  # noqa: E731
        out["autograd"] = (fn, fn)
    else:
        out["autograd"] = "-"

    if "torch" in peers and case.torch_fn is not None:
        torch = peers["torch"]
        targs = []
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray):
                t = torch.from_numpy(a)
            elif isinstance(a, float):
                t = torch.tensor(a, dtype=torch.float64)
            else:
                targs.append(a)
                continue
            if i in nums:
                t.requires_grad_(True)
            targs.append(t)
        wrt = [targs[i] for i in nums]

        def torch_grad(targs=targs, wrt=wrt):
            return torch.autograd.grad(case.torch_fn(*targs), wrt)

        def torch_check():
            gs = tuple(t.detach().numpy() for t in torch_grad())
            return gs if isinstance(case.argnums, tuple) else gs[0]

        out["torch"] = (torch_check, torch_grad)
    else:
        out["torch"] = "-"

    if "jax" in peers:
        jax, jnp = peers["jax"]
        jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
        g = jax.grad(rebind(case.fn, jnp), argnums=case.argnums)
        fn = lambda g=g: jax.block_until_ready(g(*jargs))  # noqa: E731
        out["jax.grad"] = (fn, fn)
        if case.jax_jit and not case.long_loop:
            static = tuple(i for i, a in enumerate(args) if isinstance(a, int) and i not in nums)
            jg = jax.jit(g, static_argnums=static)
            jfn = lambda jg=jg: jax.block_until_ready(jg(*jargs))  # noqa: E731
            out["jax.jit"] = (jfn, jfn)
        else:
            out["jax.jit"] = "n/a"
    else:
        out["jax.grad"] = "-"
        out["jax.jit"] = "-"
    return out


PEER_COLUMNS = ("autograd", "torch", "jax.grad", "jax.jit")


# --------------------------------------------------------------------------------------------
# one case
# --------------------------------------------------------------------------------------------
def run_case(case, quick, repeats, peers, peer_cap, log):
    args = case.make_args(quick)
    res = {"name": case.name, "description": case.description, "kind": case.kind, "target": case.target,
           "hand_s": None, "s2sad_s": None, "ratio": None, "status": "ok", "error": None, "peers": {}}

    want = case.hand(*args)

    try:
        g = s2sad.grad(case.fn, argnums=case.argnums)
        t0 = time.perf_counter()
        got = g(*args)                      # warm-up: generates, writes and compiles the gradient
        res["first_call_s"] = time.perf_counter() - t0
        res["generated"] = os.path.relpath(g.path, ROOT) if g.path else None   # no machine path in the results
    except Exception as exc:
        res["status"] = "error"
        res["error"] = f"{type(exc).__name__}: {exc}"
        log(f"  s2sad ERROR   {res['error']}")
        log(traceback.format_exc())
    else:
        bad = mismatch(got, want)
        if bad:
            res["status"] = "WRONG"
            res["error"] = bad
            log(f"  s2sad WRONG GRADIENT: {bad}\n  s2sad:        {got!r}\n  hand-written: {want!r}")
        res["hand_s"], res["s2sad_s"], res["ratio"] = paired_times(lambda: case.hand(*args), lambda: g(*args),
                                                                   repeats)
        log(f"  hand-written  {fmt_time(res['hand_s'])}")
        log(f"  s2sad         {fmt_time(res['s2sad_s'])}  ({res['ratio']:.2f}x hand)")
    if res["hand_s"] is None:
        res["hand_s"] = median_time(lambda: case.hand(*args), repeats)
        log(f"  hand-written  {fmt_time(res['hand_s'])}")

    cap = peer_cap if case.long_loop else None
    if case.long_loop and quick:
        # interpreted taping frameworks take seconds per call here: not worth it in a quick run
        res["peers"] = {col: {"status": "skip"} for col in PEER_COLUMNS}
        return res
    for col, entry in peer_callables(case, args, peers).items():
        if isinstance(entry, str):
            res["peers"][col] = {"status": entry}
            continue
        check, timed = entry
        try:
            t0 = time.perf_counter()
            pg = call_with_cap(check, cap)   # warm-up (and compilation for jax.jit)
            first = time.perf_counter() - t0
            bad = mismatch(pg, want)
            if bad:
                res["peers"][col] = {"status": "WRONG", "error": bad}
                log(f"  {col:<12}  WRONG: {bad}")
                continue
            if cap:
                # one call already took `first`; a long loop is timed over a few single calls
                ts = [first] + [call_with_cap(lambda: _clock(timed), cap) for _ in range(2)]
                t = statistics.median(ts)
            else:
                t = median_time(timed, repeats)
            res["peers"][col] = {"status": "ok", "time_s": t, "ratio": t / res["hand_s"]}
            log(f"  {col:<12}  {fmt_time(t)}  ({t / res['hand_s']:.2f}x hand)")
        except CapExceeded:
            res["peers"][col] = {"status": "timeout", "time_s_min": cap, "ratio_min": cap / res["hand_s"]}
            log(f"  {col:<12}  > {cap:g} s per call (cap)")
        except Exception as exc:
            res["peers"][col] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            log(f"  {col:<12}  error: {type(exc).__name__}: {str(exc)[:200]}")
    return res


def _clock(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------------------------
def peer_cell(p: dict) -> str:
    st = p.get("status")
    if st == "ok":
        return f"{p['ratio']:.2f}"
    if st == "timeout":
        return f">{p['ratio_min']:.0f}"
    return st or "-"


def table(results) -> str:
    head = ["case", "hand", "s2sad", "s2sad/hand", "target", "met", *PEER_COLUMNS]
    rows = []
    for r in results:
        if r["status"] == "error":
            s2, ratio, met = "error", "error", "NO"
        else:
            s2 = fmt_time(r["s2sad_s"])
            ratio = f"{r['ratio']:.2f}" + (" WRONG" if r["status"] == "WRONG" else "")
            met = "yes" if r["status"] == "ok" and r["ratio"] <= r["target"] else "NO"
        rows.append([r["name"], fmt_time(r["hand_s"]), s2, ratio, f"<= {r['target']:g}", met,
                     *[peer_cell(r["peers"].get(c, {})) for c in PEER_COLUMNS]])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    left = {0}

    def line(cells):
        return "  ".join(str(c).ljust(w) if i in left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def machine_info(peers) -> dict:
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "s2sad": s2sad.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "peers": peer_versions(peers),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller n and fewer repeats (under a minute)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these cases")
    ap.add_argument("--repeats", type=int, default=None, help="timing runs per measurement (default 7, --quick 3)")
    ap.add_argument("--peer-cap", type=float, default=None,
                    help="seconds per call after which a peer on a long loop is cut off (default 20)")
    ap.add_argument("--no-peers", action="store_true", help="skip autograd, PyTorch and JAX")
    ap.add_argument("--json", default=str(HERE / "results.json"), help="where to write the results")
    opts = ap.parse_args(argv)

    repeats = opts.repeats or (3 if opts.quick else 7)
    peer_cap = opts.peer_cap or 20.0
    selected = case_defs.CASES
    if opts.only:
        names = {c.name for c in case_defs.CASES}
        unknown = [n for n in opts.only if n not in names]
        if unknown:
            ap.error(f"unknown case(s) {unknown}; known: {sorted(names)}")
        selected = [c for c in case_defs.CASES if c.name in opts.only]

    peers = load_peers(not opts.no_peers)

    t_origin = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_origin:6.1f}s] {msg}", file=sys.stderr, flush=True)

    log(f"s2sad benchmarks ({'quick' if opts.quick else 'full'}, {repeats} repeats); "
        f"peers: {', '.join(peers) or 'none'}; generated code in {os.environ['S2SAD_GENERATED_DIR']}")
    results = []
    t_start = time.perf_counter()
    for case in selected:
        log(f"[{case.name}] {case.description}")
        try:
            results.append(run_case(case, opts.quick, repeats, peers, peer_cap, log))
        except Exception as exc:       # the hand-written side failed: a bug in the benchmark itself
            log(traceback.format_exc())
            results.append({"name": case.name, "description": case.description, "kind": case.kind,
                            "target": case.target, "hand_s": None, "s2sad_s": None, "ratio": None,
                            "status": "error", "error": f"benchmark: {type(exc).__name__}: {exc}",
                            "peers": {}})

    info = machine_info(peers)
    print()
    print(f"s2sad {info['s2sad']}, Python {info['python']}, NumPy {info['numpy']}, {info['platform']}, "
          f"{info['cpu_count']} cores; peers: "
          + (", ".join(f"{k} {v}" for k, v in info["peers"].items()) or "none"))
    print(f"per-call medians of {repeats} runs; ratios are time / hand-written time; "
          "'-' not installed, 'n/a' not applicable, '>N' cut off at the cap, 'skip' not run with --quick")
    print(table(results))
    failed = [r for r in results if r["status"] != "ok"]
    for r in failed:
        print(f"\n{r['name']}: s2sad {r['status']}: {r['error']}")

    payload = {"machine": info, "options": {"quick": opts.quick, "repeats": repeats, "peer_cap_s": peer_cap,
                                            "rtol": RTOL, "atol": ATOL},
               "elapsed_s": time.perf_counter() - t_start, "results": results}
    Path(opts.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nresults written to {opts.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
