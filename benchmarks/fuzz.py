"""Random programs at scale: s2sad on thousands of functions it never saw, in every mode.

    python benchmarks/fuzz.py [--count N] [--start SEED] [--jobs J] [--modes reverse,forward,second,family]
                              [--show wrong,crash] [--json PATH]

Each seed makes one program (tests/progen.py: helpers that rebind their parameters, row and column
writes, self- and augmented assignment, control flow on data, ...) that tests/differential.py checks in
reverse mode, forward mode, to second order and through vjp and jacobian against central differences. The report counts, over
the programs that were not discarded (a NaN, a branch within a finite-difference step of the point),
how many gave a wrong number, crashed, or were refused, the refusals by reason, and the first few
wrong and crashing programs with their source. CI runs a few dozen fixed seeds
(tests/e2e/test_fuzz_programs.py); this script is for the large runs, on seeds CI never uses (the default
start, 1,000,000, is above them).
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

_WORK: Path | None = None
_MODES: tuple = ()
_CONTAINERS = 0
_COMPLEX = False


def _init(modes, containers=0, complex_=False):
    global _WORK, _MODES, _CONTAINERS, _COMPLEX
    _CONTAINERS = containers
    _COMPLEX = complex_
    _WORK = Path(tempfile.mkdtemp(prefix="s2sad-fuzz-"))
    os.environ["S2SAD_GENERATED_DIR"] = str(_WORK / "generated")
    sys.path.insert(0, str(_WORK))
    _MODES = modes


def _timeout(signum, frame):
    raise TimeoutError("the program took more than 120 s")


def _one(seed):
    import progen
    import differential
    program = progen.generate(seed, containers=_CONTAINERS, complex_=_COMPLEX)
    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(120)
    try:
        out = differential.check(program, _WORK, _MODES)
    except TimeoutError as exc:
        out = differential.Outcome("crash", {"all": ("crash", str(exc))})
    except Exception as exc:   # noqa: BLE001 (the harness itself: reported, never hidden)
        out = differential.Outcome("crash", {"harness": ("crash", f"{type(exc).__name__}: {exc}")})
    finally:
        signal.alarm(0)
    sys.modules.pop(f"prog_{seed}", None)
    return seed, out.status, {m: list(v) for m, v in out.modes.items()}, out.detail, sorted(program.features), \
        program.source


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--start", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--modes", default="reverse,forward,second,family")
    ap.add_argument("--show", default="wrong,crash", help="print the programs with these outcomes (up to 5 each)")
    ap.add_argument("--json", type=Path, help="write every outcome here")
    ap.add_argument("--containers", type=int, nargs="?", const=2, default=0,
                    help="programs of the dialect with tuples, lists, dicts, helpers returning two values (1) and "
                         "lists appended to in a loop then stacked (2, the default with the flag), and lists grown in while loops and branches and read as they grow (3)")
    ap.add_argument("--complex", action="store_true",
                    help="programs of the dialect with complex intermediates and the FFT")
    args = ap.parse_args(argv)
    modes = tuple(args.modes.split(","))
    seeds = range(args.start, args.start + args.count)
    counts = collections.Counter()
    per_mode = collections.Counter()
    reasons = collections.Counter()
    discards = collections.Counter()
    shown = collections.Counter()
    features = collections.Counter()
    rows = []
    t0 = time.time()
    with multiprocessing.Pool(args.jobs, initializer=_init, initargs=(modes, args.containers, args.complex), maxtasksperchild=200) as pool:
        for k, (seed, status, mode_out, detail, feats, source) in enumerate(pool.imap_unordered(_one, seeds), 1):
            counts[status] += 1
            rows.append({"seed": seed, "status": status, "modes": mode_out, "detail": detail})
            if status == "discarded":
                discards[detail.split(":")[0][:80]] += 1
            else:
                features.update(feats)
            for m, (s, d) in mode_out.items():
                per_mode[(m, s)] += 1
                if s == "refused":
                    reasons[d] += 1
            if status in args.show.split(",") and shown[status] < 5:
                shown[status] += 1
                print(f"\n=== seed {seed}: {status} ===\n{source}")
                for m, (s, d) in mode_out.items():
                    if s != "ok":
                        print(f"--- {m}: {s}: {d}")
            if k % 500 == 0:
                print(f"[{time.time() - t0:7.1f}s] {k} programs: {dict(counts)}", flush=True)
    judged = sum(n for s, n in counts.items() if s != "discarded")
    print(f"\n{args.count} programs (seeds {args.start}..{args.start + args.count - 1}), "
          f"{time.time() - t0:.0f} s, modes {', '.join(modes)}")
    print(f"discarded (not finite, or a branch/kink within a step): {counts['discarded']}")
    for why, n in discards.most_common(5):
        print(f"    {n:6d}  {why}")
    print(f"judged: {judged}")
    for s in ("ok", "wrong", "crash", "refused"):
        share = 100.0 * counts[s] / judged if judged else 0.0
        print(f"  {s:8s} {counts[s]:6d}  ({share:.2f}%)")
    print("by mode: " + ", ".join(f"{m} {s} {per_mode[(m, s)]}" for m in modes
                                   for s in ("wrong", "crash", "refused") if per_mode[(m, s)]))
    if reasons:
        print("refusals by reason (per mode):")
        for why, n in reasons.most_common(15):
            print(f"    {n:6d}  {why}")
    print("features of the judged programs: " + ", ".join(f"{f} {n}" for f, n in features.most_common()))
    if args.json:
        args.json.write_text(json.dumps({"counts": dict(counts), "reasons": dict(reasons), "rows": rows}, indent=1))
    return 1 if counts["wrong"] or counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
