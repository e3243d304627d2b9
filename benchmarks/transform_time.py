"""Transform time against function size: cold `grad` of generated functions of N statements.

    python benchmarks/transform_time.py [--sizes 300,600,1200,2400] [--repeat 3] [--stages]

Each function is a chain of N assignments in the shape people write by hand (elementwise NumPy calls,
a reduction now and then, a few branches on data, a loop every 50 lines), with distinct names so
nothing is shared. The time is of the first call (transform, write, load, run) in a fresh process,
the median of 3. With --stages, each size's seconds per compiler stage (one fresh process each) too.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_LINES = [
    "v{i} = np.sin(v{a}) * 0.5 + v{b}",
    "v{i} = np.tanh(v{a} * w) - 0.1 * v{b}",
    "v{i} = v{a} * v{b} + np.exp(-v{a} ** 2)",
    "v{i} = np.sqrt(v{a} ** 2 + 1.0) + np.sum(v{b}) * 0.01",
    "v{i} = np.maximum(v{a}, 0.0) + np.cos(v{b})",
]


def make(n: int) -> str:
    """The source of a function of `n` statements (assignments, with a branch and a loop now and then)."""
    body = ["v0 = x * w"]
    i = 1
    while len(body) < n - 1:
        a, b = max(0, i - 1), max(0, i - 3)
        if i % 50 == 25:
            body += [f"for k{i} in range(3):", f"    v{a} = v{a} * 0.9 + np.sin(v{b})", f"v{i} = v{a} + v{b}"]
        elif i % 20 == 10:
            body += [f"if np.sum(v{a}) > 0:", f"    v{i} = v{a} * 1.1", "else:", f"    v{i} = v{b} * 0.9"]
        else:
            body.append(_LINES[i % len(_LINES)].format(i=i, a=a, b=b))
        i += 1
    body.append(f"return np.sum(v{i - 1})")
    return "import numpy as np\n\n\ndef f(x, w):\n" + textwrap.indent("\n".join(body), "    ") + "\n"


_CHILD = """
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
import s2sad, big
t = time.perf_counter()
s2sad.grad(big.f)(np.linspace(0.1, 0.9, 4), 0.3)
print(time.perf_counter() - t)
"""


_STAGES = """
import sys, time
sys.path.insert(0, sys.argv[1])
import big
from s2sad.codegen import stages
from s2sad.frontend.source import load
job = stages.Job(load(big.f), "bench", "f_grad", value=False)
with stages.paused_gc():           # as stages.run() runs them
    for st in stages.REVERSE:
        t = time.perf_counter()
        st.run(job)
        print(st.name, time.perf_counter() - t)
"""


def stage_times(n: int) -> dict[str, float]:
    """Seconds of each stage of the reverse-mode pass list on a function of `n` statements, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "big.py").write_text(make(n))
        env = dict(os.environ, S2SAD_GENERATED_DIR=str(Path(tmp, "generated")), PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", _STAGES, tmp], capture_output=True, text=True, env=env,
                             check=True)
        return {name: float(t) for name, t in (line.split() for line in out.stdout.splitlines())}


def cold(n: int, profile: bool = False) -> float:
    """Seconds of the first grad call of a function of `n` statements, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "big.py").write_text(make(n))
        env = dict(os.environ, S2SAD_GENERATED_DIR=str(Path(tmp, "generated")), PYTHONPATH=str(ROOT))
        cmd = [sys.executable]
        if profile:
            cmd += ["-m", "cProfile", "-s", "cumtime"]
        cmd += ["-c", _CHILD, tmp]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        if profile:
            print(out.stdout[:6000])
            return float("nan")
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="300,600,1200,2400")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--stages", action="store_true", help="also time each compiler stage")
    args = ap.parse_args()
    rows = []
    print(f"{'statements':>10}  {'cold grad (s)':>13}  {'per 100 statements (s)':>22}")
    for n in map(int, args.sizes.split(",")):
        t = statistics.median(cold(n) for _ in range(args.repeat))
        rows.append({"statements": n, "seconds": round(t, 3)})
        print(f"{n:>10}  {t:>13.2f}  {100 * t / n:>22.3f}", flush=True)
    if args.stages:
        for n in map(int, args.sizes.split(",")):
            times = stage_times(n)
            print(f"{n:>10}  " + "  ".join(f"{k} {v:.2f}" for k, v in times.items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
