"""backend="numba" against the hand-written gradient, s2sad's NumPy backend and jax.jit, in one run.

    python benchmarks/numba_run.py [--quick] [--only NAME ...] [--repeats N] [--threads 1,2,0]
                                   [--json PATH]

For each case of benchmarks/cases.py (the cases the NumPy table runs) it
  1. checks the numba gradient against the hand-written one (a mismatch is printed as WRONG and makes
     the exit status 1);
  2. times, per call, the hand-written gradient, s2sad's NumPy backend, s2sad's numba backend and
     jax.jit(jax.grad) (where jax.jit can trace the function: not the data-dependent `while`, not a
     loop of a million iterations, which jax.jit unrolls), the medians of `--repeats` runs, s2sad's
     runs interleaved with the hand-written gradient's (ratios are medians of paired ratios);
  3. reports the compile cost: `s2sad.grad(f, backend="numba")` and its first call, in a process with
     an empty generated folder (transform, write, numba compile) and in a new process that finds the
     file and numba's machine code beside it (the cache hit), as seconds of those two lines (`import
     s2sad` before them not counted; numba itself is imported by the first). numba's own floor is
     measured beside: `import numba` and the first call of a cached one-line function, in a new process.
With --threads, the whole table runs once per thread count (0: all cores) in a child process whose
NUMBA_NUM_THREADS, OMP/MKL/OpenBLAS thread counts and XLA's intra-op threads are set to it, and which
(on Linux) is pinned to that many cores: XLA's CPU runtime starts threads of its own whatever its flags
say (measured: 1.55 cores busy for one jitted matrix product at intra_op_parallelism_threads=1).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

_FRESH = """
import sys, time
sys.path[:0] = [{here!r}, {root!r}]
import s2sad
from cases import CASES
case = next(c for c in CASES if c.name == {name!r})
args = case.make_args({quick!r})
t0 = time.perf_counter()
g = s2sad.grad(case.fn, argnums=case.argnums, backend="numba")
try:
    g(*args)
except s2sad.DifferentiationError:
    print("nan")
else:
    print(time.perf_counter() - t0)
"""


def _first_call(name: str, quick: bool, folder: str) -> float:
    """Seconds of the first call of the numba gradient in a new process, generated files in `folder`."""
    env = {**os.environ, "S2SAD_GENERATED_DIR": folder}
    out = subprocess.run([sys.executable, "-c", _FRESH.format(here=str(HERE), root=str(HERE.parent), name=name,
                                                              quick=quick)],
                         capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[-1])


_FLOOR = """
import time
t0 = time.perf_counter()
import numba

@numba.njit(cache=True)
def twice(x):
    return 2.0 * x

twice(1.0)
print(time.perf_counter() - t0)
"""


def numba_floor() -> float:
    """Seconds of `import numba` and the first call of a cached one-line function in a new process
    (the second of two processes: the first compiles): what any cached numba code pays first."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "floor.py"
        script.write_text(_FLOOR)
        runs = [subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                               env={**os.environ, "NUMBA_CACHE_DIR": folder}) for _ in range(2)]
    return float(runs[-1].stdout.split()[-1])


def _jax():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import jax
            import jax.numpy as jnp
            jax.config.update("jax_enable_x64", True)
        return jax, jnp
    except Exception:
        return None


def run_case(case, quick: bool, repeats: int, jax_mods, log) -> dict:
    import numpy as np
    import s2sad
    from run import mismatch, paired_times, median_time, rebind, fmt_time

    args = case.make_args(quick)
    want = case.hand(*args)
    row = {"name": case.name, "description": case.description, "status": "ok"}
    g = s2sad.grad(case.fn, argnums=case.argnums, backend="numba")
    try:
        got = g(*args)
    except s2sad.DifferentiationError as exc:
        row["status"] = f"refused: {str(exc).splitlines()[0]}"
        log(f"  numba refused: {exc}")
        return row
    with tempfile.TemporaryDirectory() as folder:
        row["compile_s"] = _first_call(case.name, quick, folder)          # empty folder: transform + compile
        row["cache_hit_s"] = _first_call(case.name, quick, folder)        # a new process: the cache
    bad = mismatch(got, want)
    if bad:
        row["status"] = "WRONG"
        log(f"  numba WRONG: {bad}")
    hand = lambda: case.hand(*args)  # noqa: E731
    row["hand_s"], row["numba_s"], row["numba_ratio"] = paired_times(hand, lambda: g(*args), repeats)
    g_np = s2sad.grad(case.fn, argnums=case.argnums)
    g_np(*args)
    _, row["numpy_s"], row["numpy_ratio"] = paired_times(hand, lambda: g_np(*args), repeats)
    if jax_mods and case.jax_jit and not case.long_loop:
        jax, jnp = jax_mods
        nums = case.argnums if isinstance(case.argnums, tuple) else (case.argnums,)
        jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
        static = tuple(i for i, a in enumerate(args) if isinstance(a, int) and i not in nums)
        jg = jax.jit(jax.grad(rebind(case.fn, jnp), argnums=case.argnums), static_argnums=static)
        jfn = lambda: jax.block_until_ready(jg(*jargs))  # noqa: E731
        jbad = mismatch(tuple(np.asarray(x) for x in (jfn() if isinstance(case.argnums, tuple) else (jfn(),))),
                        want)
        row["jax_jit_s"] = None if jbad else median_time(jfn, repeats)
        row["numba_over_jax"] = row["numba_s"] / row["jax_jit_s"] if row["jax_jit_s"] else None
    log(f"  hand {fmt_time(row['hand_s'])}, numpy {fmt_time(row['numpy_s'])} ({row['numpy_ratio']:.2f}x), "
        f"numba {fmt_time(row['numba_s'])} ({row['numba_ratio']:.3f}x), jax.jit {fmt_time(row.get('jax_jit_s'))}; "
        f"compile {row['compile_s']:.2f} s, cache hit {row['cache_hit_s']:.3f} s")
    return row


def table(rows: list[dict]) -> str:
    from run import fmt_time
    head = ("case", "hand", "s2sad numpy", "s2sad numba", "numba/hand", "jax.jit", "numba/jax.jit",
            "compile", "cache hit")
    lines = [head]
    for r in rows:
        if "numba_s" not in r:
            lines.append((r["name"], r["status"][:60], "", "", "", "", "", "", ""))
            continue
        lines.append((r["name"], fmt_time(r["hand_s"]), fmt_time(r["numpy_s"]), fmt_time(r["numba_s"]),
                      f"{r['numba_ratio']:.3f}x", fmt_time(r.get("jax_jit_s")),
                      f"{r['numba_over_jax']:.2f}" if r.get("numba_over_jax") else "n/a",
                      f"{r['compile_s']:.2f} s", f"{r['cache_hit_s']:.3f} s"))
    widths = [max(len(line[k]) for line in lines) for k in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def _thread_env(n: int) -> dict:
    env = dict(os.environ)
    if n:
        for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(n)
        env["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'} "
                            f"intra_op_parallelism_threads={n}")
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", default="", help="comma-separated thread counts (0: all), each in a child process")
    ap.add_argument("--json", default=str(HERE / "numba_results.json"))
    ap.add_argument("--cores", type=int, default=0, help="pin this process to its first N cores (Linux)")
    opts = ap.parse_args(argv)
    if opts.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:opts.cores])
    if opts.threads:
        results = {}
        for n in (int(t) for t in opts.threads.split(",")):
            label = str(n or os.cpu_count())
            print(f"=== threads: {label} ===", flush=True)
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
                path = f.name
            cmd = [sys.executable, __file__, "--repeats", str(opts.repeats), "--json", path]
            cmd += ["--quick"] if opts.quick else []
            cmd += ["--only", *opts.only] if opts.only else []
            cmd += ["--cores", str(n)] if n else []
            code = subprocess.run(cmd, env=_thread_env(n)).returncode
            results[label] = json.loads(Path(path).read_text())
            if code:
                return code
        Path(opts.json).write_text(json.dumps({"by_threads": results}, indent=1))
        return 0

    from cases import CASES
    import numba
    jax_mods = _jax()
    rows = []
    for case in CASES:
        if opts.only and case.name not in opts.only:
            continue
        print(f"{case.name}: {case.description}", flush=True)
        rows.append(run_case(case, opts.quick, opts.repeats, jax_mods, lambda s: print(s, flush=True)))
    print()
    print(table(rows))
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "cores_used": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "numba_floor_s": numba_floor(),
            "numba": numba.__version__, "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "jax": jax_mods[0].__version__ if jax_mods else None, "quick": opts.quick}
    print(info)
    Path(opts.json).write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
    return 1 if any(r["status"] == "WRONG" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
