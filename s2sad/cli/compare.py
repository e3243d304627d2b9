"""`python -m s2sad compare FILE.py:FUNC --at V [V ...] [--plot OUT.png [--range LO HI]]`.

Prints `s2sad.compare`'s table for FUNC at the given argument values; with `--plot`, draws f and its
derivative by every approach over [LO, HI] (top) and each approach's error against the reference on a
log scale (bottom). `install(main_module)` registers the command with the CLI in `__main__`.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

HELP = "compare automatic, symbolic and numerical derivatives of FILE.py:FUNC at a point"
_FLOOR = 1e-17          # an error of exactly 0 is drawn here on the log scale
_cli: Any = None        # the __main__ module that installed this command (UsageError, _import_file, ...)


def install(main_module: Any) -> None:
    """Register `compare` with the command line of `main_module` (s2sad's __main__)."""
    global _cli
    _cli = main_module
    main_module.register("compare", HELP, configure, run)


def configure(p: argparse.ArgumentParser) -> None:
    """The arguments of `compare`."""
    p.add_argument("target", metavar="FILE.py:FUNC",
                   help="a Python file and a function in it; the file's imports, definitions and assignments "
                        "run, not its loops, calls or main block")
    p.add_argument("--at", nargs="+", required=True, metavar="V",
                   help="the point: one value per positional argument of FUNC; a number, or a list of "
                        "numbers for an array argument (e.g. 1.5  or  '[1, 2, 3]'  or  1,2,3)")
    p.add_argument("--argnums", type=int, nargs="+", metavar="N",
                   help="the positional argument(s) to differentiate with respect to (default: 0)")
    p.add_argument("--plot", metavar="OUT.png",
                   help="also draw f and its derivative by each approach over --range into OUT.png "
                        "(needs matplotlib)")
    p.add_argument("--range", nargs=2, type=float, metavar=("LO", "HI"),
                   help="the interval for --plot (the differentiated argument must be a number; default: "
                        "the --at value x0 plus or minus max(1, |x0|) / 2)")
    p.add_argument("--points", type=int, default=201, metavar="N", help="points on the plot (default: 201)")
    p.add_argument("--no-timing", action="store_true", help="skip the time per call (faster)")


def parse_value(text: str) -> Any:
    """A command-line value: an int or float, or a list of numbers (as a float64 array)."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        try:
            return float(text)          # nan, inf, -inf
        except ValueError:
            value = None
    if isinstance(value, bool) or value is None:
        raise _cli.UsageError(f"--at: cannot read {text!r} as a number or a list of numbers")
    if isinstance(value, (int, float)):
        return value
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise _cli.UsageError(f"--at: cannot read {text!r} as a number or a list of numbers") from None
    if arr.dtype == object or arr.ndim == 0:
        raise _cli.UsageError(f"--at: cannot read {text!r} as a number or a list of numbers")
    return arr


def _load(args: argparse.Namespace) -> tuple[Callable, str, tuple, int | tuple[int, ...]]:
    file, sep, func = args.target.rpartition(":")
    if not sep or not file or not func:
        raise _cli.UsageError(f"expected FILE.py:FUNC, got {args.target!r}")
    module = _cli._import_file(Path(file))
    fn = _cli._lookup(module, func, file)
    if not callable(fn):
        raise _cli.UsageError(f"{file}:{func} is not a function but a {type(fn).__name__}")
    values = tuple(parse_value(v) for v in args.at)
    try:
        inspect.signature(fn).bind(*values)
    except TypeError as exc:
        raise _cli.UsageError(f"--at gives {len(values)} value(s) for {func}: {exc}") from None
    except ValueError:
        pass
    nums = 0 if not args.argnums else args.argnums[0] if len(args.argnums) == 1 else tuple(args.argnums)
    for i in (nums,) if isinstance(nums, int) else nums:
        if not 0 <= i < len(values):
            raise _cli.UsageError(f"--argnums {i}: only {len(values)} value(s) were given with --at")
    try:
        out = fn(*values)
    except Exception as exc:
        raise _cli.UsageError(f"{func}({', '.join(args.at)}) raised {type(exc).__name__}: {exc}") from None
    if np.size(out) != 1:
        raise _cli.UsageError(f"{func} returned shape {np.shape(out)}; compare needs a scalar output")
    return fn, func, values, nums


def run(args: argparse.Namespace) -> int:
    """Print the comparison table (and write the plot); exit status 0."""
    from ..approaches.compare import compare

    if args.range and not args.plot:
        raise _cli.UsageError("--range is for --plot OUT.png")
    if args.range and not args.range[0] < args.range[1]:
        raise _cli.UsageError(f"--range: LO must be less than HI, got {args.range[0]:g} {args.range[1]:g}")
    if args.points < 2:
        raise _cli.UsageError("--points must be at least 2")
    fn, func, values, nums = _load(args)
    if args.plot:
        if not isinstance(nums, int) or np.ndim(values[nums]) != 0:
            raise _cli.UsageError("--plot needs one differentiated argument that is a number")
        try:
            import matplotlib
        except ImportError:
            raise _cli.UsageError("--plot needs matplotlib (pip install matplotlib)") from None
        matplotlib.use("Agg")           # files only: no window
        if not args.range:              # around the point: x0 - w .. x0 + w, w = max(1, |x0|) / 2
            x0 = float(values[nums])
            w = max(1.0, abs(x0)) / 2
            args.range = [x0 - w, x0 + w]
    report = compare(fn, *values, argnums=nums, timing=not args.no_timing)
    print(report)
    if args.plot:
        path = plot(fn, values, nums, args.range[0], args.range[1], args.plot, points=args.points)
        print(f"plot: {path}")
    return 0


# --- the plot --------------------------------------------------------------------------------------

def derivative_curves(fun: Callable, args: tuple, argnum: int, xs: np.ndarray) -> tuple[dict, dict]:
    """Each approach's derivative at every x (NaN where it failed) and, per approach that failed
    everywhere, why."""
    from ..approaches.compare import APPROACHES, MAKERS

    curves, failed = {}, {}
    for name in APPROACHES:
        try:
            d, _ = MAKERS[name](fun, argnum)
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        ys = np.full(xs.shape, np.nan)
        reason = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k, x in enumerate(xs):
                a = list(args)
                a[argnum] = float(x)
                try:
                    ys[k] = float(d(*a))
                except Exception as exc:
                    reason = reason or f"{type(exc).__name__}: {exc}"
                    if _is_refusal(exc):     # (the code, not the point: it fails at every x)
                        break
        if np.all(np.isnan(ys)) and reason:
            failed[name] = reason
        else:
            curves[name] = ys
    return curves, failed


def _is_refusal(exc: Exception) -> bool:
    from ..errors import DifferentiationError
    return isinstance(exc, DifferentiationError)


def plot(fun: Callable, args: tuple, argnum: int, lo: float, hi: float, path: str | Path,
         points: int = 201) -> Path:
    """Draw f and its derivative by each approach over [lo, hi] and each approach's error against the
    reference (symbolic, else automatic reverse) on a log scale; save to `path` (PNG)."""
    import matplotlib.pyplot as plt
    from ..approaches.compare import APPROACHES

    xs = np.linspace(lo, hi, points)
    fs = np.array([float(fun(*(list(args[:argnum]) + [float(x)] + list(args[argnum + 1:])))) for x in xs])
    curves, failed = derivative_curves(fun, args, argnum, xs)
    ref_name = next((n for n in ("symbolic", "automatic (reverse)") if n in curves), None)
    name = getattr(fun, "__name__", "f")

    var = _names(fun, argnum)
    colors = {n: f"C{k}" for k, n in enumerate(APPROACHES)}
    styles = {n: s for n, s in zip(APPROACHES, ["-", "--", ":", "-.", (0, (5, 1)), (0, (1, 2))])}

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    top.plot(xs, fs, color="black", linewidth=2.5, label=f"{name}({var})")
    for n, ys in curves.items():
        top.plot(xs, ys, color=colors[n], linestyle=styles[n], linewidth=1.5, label=f"d/d{var}: {n}")
    top.axvline(float(args[argnum]), color="grey", linewidth=0.8)
    top.set_ylabel("value")
    top.set_title(f"{name} and its derivative" + (f"   (failed: {', '.join(failed)})" if failed else ""),
                  fontsize=10)
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    if ref_name is not None:
        ref = curves[ref_name]
        for n, ys in curves.items():
            if n == ref_name:
                continue
            with np.errstate(invalid="ignore"):
                err = np.maximum(np.abs(ys - ref), _FLOOR)
            bottom.semilogy(xs, err, color=colors[n], linestyle=styles[n], linewidth=1.2, label=n)
        bottom.set_ylabel(f"|error| against {ref_name}\n(0 drawn at {_FLOOR:g})")
        bottom.legend(fontsize=8)
    else:
        bottom.text(0.5, 0.5, "no reference: symbolic and automatic both failed", ha="center",
                    transform=bottom.transAxes)
    bottom.set_xlabel(var)
    bottom.grid(alpha=0.3, which="both")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _names(fun: Callable, argnum: int) -> str:
    from ..approaches.compare import arg_names
    return arg_names(fun, argnum + 1)[argnum]
