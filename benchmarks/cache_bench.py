"""How fast is s2sad's cache? Three numbers, against the targets of issue 7.

    python benchmarks/cache_bench.py [--processes N] [--json PATH] [--profile cold|disk]

(a) cold:     the first `grad(f)(x)` in a new process with an empty generated folder: the whole
              transformation (frontend, normalize, analysis, reverse, emit), writing the file and
              compiling it. Timed from `grad(f)` to the first result; imports (numpy, s2sad, the
              user's module) are done before the clock starts.         target < 50 ms
(b) disk hit: the same measure in a new process whose generated folder already holds the verified
              file: read, check key and hash, compile, no transformation.        target < 5 ms
(c) per-call: `g(x)` (a warm `grad(f)`, memory hit) minus a direct call of the generated function
              object `g._compile("numpy").fn(x)`, on a Python float; timeit medians. Measured on
              `square(x) = x * x`, whose generated function takes ~0.2 us, so that the difference
              is not lost in the noise of f's ~200 us; f's own difference is shown beside it.
                                                                                   target < 2 us

(a) and (b) are medians over --processes new processes (15 by default); each child checks that it
did (a) or did not (b) transform, and the gradient against central differences. `--profile cold`
or `--profile disk` runs one child under cProfile and prints the top of its profile instead.

Children run with Python's defaults (PYTHONDONTWRITEBYTECODE removed: under -B s2sad hashes its own
sources in each process instead of keeping their fingerprint, ~0.4 ms more on (a) and (b)).

f is a ~30-line function with a loop of ten steps, a helper called in the loop, a branch and NumPy
calls (CASE below); it is written to a temporary folder as module `cache_bench_case`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"cold_ms": 50.0, "disk_ms": 5.0, "overhead_us": 2.0}

CASE = '''\
import numpy as np


def smooth_step(u, k):
    """A helper: a smooth saturating step, called in the loop."""
    a = np.tanh(k * u)
    b = 0.5 * (1.0 + a)
    return b * u + (1.0 - b) * np.sin(u)


def f(x):
    """About thirty lines: a loop of ten steps, a helper, a branch, numpy calls."""
    s = 0.0
    v = x
    w = 1.0
    for i in range(10):
        t = smooth_step(v, 0.5 + 0.1 * i)
        if t > 0.0:
            v = v + 0.1 * t
        else:
            v = v - 0.05 * t * t
        u = np.exp(-0.1 * v * v)
        w = w * 0.9 + 0.1 * u
        s = s + w * np.cos(v) + t * t
    r = np.log(1.0 + s * s)
    q = np.sqrt(1.0 + v * v)
    z = r * q + w
    z = z / (1.0 + 0.01 * x * x)
    return z


def square(x):
    return x * x
'''
X = 0.7


# --- the child: one timed first call in a fresh process ------------------------------------------

def child(case_dir: str, expect: str, profile: bool) -> None:
    sys.path.insert(0, case_dir)
    import numpy  # noqa: F401  (imports excluded from the timing)
    import s2sad
    import s2sad.api.transforms, s2sad.codegen.cache, s2sad.codegen.pipeline  # noqa: E401,F401
    import cache_bench_case as case

    if profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    g = s2sad.grad(case.f)
    value = g(X)
    seconds = time.perf_counter() - t0
    if profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    transformed = g._compile("numpy").transformed
    h = 1e-6
    fd = (case.f(X + h) - case.f(X - h)) / (2 * h)
    ok = abs(value - fd) <= 1e-6 * max(1.0, abs(fd))
    if transformed != (expect == "cold") or not ok:
        sys.exit(f"child: expected a {expect} run, transformed={transformed}, grad={value}, fd={fd}")
    print(json.dumps({"seconds": seconds, "transformed": transformed, "path": str(g.path)}))


def run_child(case_dir: Path, gen: Path, expect: str, profile: bool = False) -> dict:
    env = dict(os.environ, S2SAD_GENERATED_DIR=str(gen))
    env.pop("PYTHONDONTWRITEBYTECODE", None)     # Python's default: s2sad may keep its source fingerprint
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, __file__, "--child", str(case_dir), expect] + (["--profile-child"] if profile else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"child failed ({expect}):\n{out.stderr}")
    if profile:
        sys.stdout.write(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- (c) per-call overhead, in this process ---------------------------------------------------------

def per_call(case_dir: Path, gen: Path, repeats: int = 15) -> dict:
    os.environ["S2SAD_GENERATED_DIR"] = str(gen)
    sys.path.insert(0, str(case_dir))
    import s2sad
    import cache_bench_case as case

    def median_us(fn) -> float:
        timer = timeit.Timer(fn)
        number, _ = timer.autorange()
        return statistics.median(timer.repeat(repeat=repeats, number=number)) / number * 1e6

    out = {}
    for label, fun in (("square", case.square), ("f", case.f)):
        g = s2sad.grad(fun)
        g(X)                                     # generate, compile, warm the memory cache
        compiled = g._compile("numpy")
        direct = compiled.fn                     # the generated function object itself
        assert not compiled.free, "the benchmark functions read no globals"
        assert g(X) == direct(X)[1]
        through, plain = [], []
        for _ in range(3):                       # interleaved, so that drift hits both alike
            through.append(median_us(lambda: g(X)))
            plain.append(median_us(lambda: direct(X)))
        t_g, t_d = statistics.median(through), statistics.median(plain)
        out[label] = {"grad_call_us": t_g, "generated_call_us": t_d, "overhead_us": t_g - t_d}
    return out


# --- main ----------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=15, help="new processes for (a) and for (b)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument("--profile", choices=("cold", "disk"), help="profile one child with cProfile instead")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child, profile=args.profile_child)
        return 0

    with tempfile.TemporaryDirectory(prefix="s2sad_cache_bench_") as tmp:
        tmp = Path(tmp)
        case_dir = tmp / "case"
        case_dir.mkdir()
        (case_dir / "cache_bench_case.py").write_text(CASE, encoding="utf-8")
        if args.profile:
            gen = tmp / "gen_profile"
            if args.profile == "disk":
                run_child(case_dir, gen, "cold")
            run_child(case_dir, gen, args.profile, profile=True)
            return 0

        run_child(case_dir, tmp / "gen_warmup", "cold")     # warm the OS file cache, .pyc files
        cold = [run_child(case_dir, tmp / f"gen_cold_{i}", "cold")["seconds"] for i in range(args.processes)]
        shared = tmp / "gen_disk"
        first = run_child(case_dir, shared, "cold")
        disk = []
        for _ in range(args.processes):
            r = run_child(case_dir, shared, "disk")
            assert r["path"] == first["path"]
            disk.append(r["seconds"])
        calls = per_call(case_dir, tmp / "gen_calls")

    results = {
        "cold_ms": statistics.median(cold) * 1e3,
        "disk_ms": statistics.median(disk) * 1e3,
        "overhead_us": calls["square"]["overhead_us"],
        "cold_ms_all": [round(s * 1e3, 2) for s in cold],
        "disk_ms_all": [round(s * 1e3, 3) for s in disk],
        "per_call": calls,
        "processes": args.processes,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    rows = [
        ("(a) cold transform, new process", "cold_ms", "ms", f"min {min(cold) * 1e3:.1f}, max {max(cold) * 1e3:.1f}"),
        ("(b) disk hit, new process", "disk_ms", "ms", f"min {min(disk) * 1e3:.2f}, max {max(disk) * 1e3:.2f}"),
        ("(c) per-call overhead (memory hit)", "overhead_us", "us",
         f"square: {calls['square']['grad_call_us']:.2f} - {calls['square']['generated_call_us']:.2f} us; "
         f"f: {calls['f']['overhead_us']:+.1f} us of {calls['f']['generated_call_us']:.0f} us"),
    ]
    load = results["load_average"]
    print(f"s2sad cache benchmark (medians; {args.processes} processes for (a) and (b), Python {results['python']}, "
          f"{results['cpus']} CPUs" + (f", load average {load[0]:.2f} when done" if load else "") + ")")
    for label, k, unit, detail in rows:
        verdict = "ok" if results[k] < TARGETS[k] else "MISSED"
        print(f"  {label:<36} {results[k]:8.2f} {unit}   target < {TARGETS[k]:g} {unit}  {verdict:<6}  ({detail})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if all(results[k] < TARGETS[k] for k in TARGETS) else 1


if __name__ == "__main__":
    sys.exit(main())
