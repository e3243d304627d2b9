"""The README's tour shows one generated file verbatim; this keeps that copy current.

`python examples/run_all.py` rewrites the block; tests/e2e/test_readme.py fails when it is stale.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import re
from pathlib import Path

BEGIN, END = "<!-- tour:begin -->", "<!-- tour:end -->"
_VOLATILE = [(re.compile(r"^# s2sad-body-sha256: .*$", re.M), "# s2sad-body-sha256: (hash of everything below)"),
             (re.compile(r"^# s2sad-key: .*$", re.M), "# s2sad-key: (content key)")]


def tour_source(root: Path) -> str:
    """The generated gradient of examples/tour.py's loss, as the README shows it (hash and key elided)."""
    old = os.getcwd()
    os.chdir(root)            # the header names the source relative to the working directory
    try:
        spec = importlib.util.spec_from_file_location("tour", root / "examples" / "tour.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        text = mod.loss_grad.source
    finally:
        os.chdir(old)
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text.rstrip("\n")


def block(readme: str) -> str:
    """The code inside the README's tour markers."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    inner = readme[start:end].strip("\n")
    return inner.removeprefix("```python\n").removesuffix("\n```")


def update(root: Path) -> bool:
    """Rewrite the README's tour block; True when it changed."""
    path = root / "README.md"
    readme = path.read_text()
    new = f"{BEGIN}\n```python\n{tour_source(root)}\n```\n{END}"
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    text = readme[:start] + new + readme[end:]
    if text != readme:
        path.write_text(text)
    return text != readme


# --- outputs: blocks that show what a command prints --------------------------------------------------
#
# A block preceded by `<!-- output: COMMAND -->` shows `$ COMMAND` and what COMMAND prints, run from the
# repository root (`python` is this interpreter; lines naming a written plot are left out). `update`
# rewrites them; tests/docs/test_readme_examples.py reruns each command and compares (times masked,
# numbers to a few digits: the last digits of finite differences differ from machine to machine).

OUTPUT = re.compile(r"(<!-- output: (?P<cmd>.+?) -->\n```(?P<lang>[a-z]*)\n)(?P<body>.*?)(```)", re.S)


def run_output(root: Path, command: str) -> str:
    """`$ command` and what it prints (run in `root`), as the README shows it."""
    import shlex
    import subprocess
    import sys
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"README output command failed: {command}\n{proc.stderr}")
    lines = [line.rstrip() for line in proc.stdout.splitlines() if not line.startswith("plot: ")]
    return "\n".join([f"$ {command}"] + lines) + "\n"


def outputs(readme: str) -> list[tuple[str, str]]:
    """(command, shown text) of each output block."""
    return [(m.group("cmd"), m.group("body")) for m in OUTPUT.finditer(readme)]


def update_outputs(root: Path) -> bool:
    """Rerun every output block's command and rewrite the block; True when the README changed."""
    path = root / "README.md"
    readme = path.read_text()
    text = OUTPUT.sub(lambda m: m.group(1) + run_output(root, m.group("cmd")) + m.group(5), readme)
    if text != readme:
        path.write_text(text)
    return text != readme


_TIME = re.compile(r"(?<![\w.])\d+(\.\d+)? ?(ns|us|ms|s)(?![\w])")


def same_output(shown: str, fresh: str, rtol: float = 0.05) -> str | None:
    """None when two outputs agree: the same words and integers, times masked, other numbers within
    `rtol` (or both below 1e-12); else the first difference."""
    a, b = (_TIME.sub("<time>", t).split() for t in (shown, fresh))
    if len(a) != len(b):
        return f"{len(a)} words shown, {len(b)} printed now"
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x.strip("()[],")), float(y.strip("()[],"))
        except ValueError:
            return f"{x!r} shown, {y!r} printed now"
        integers = not any(c in s for s in (x, y) for c in ".eE")
        if integers or not (abs(fx - fy) <= rtol * max(abs(fx), abs(fy)) or max(abs(fx), abs(fy)) < 1e-12):
            return f"{x!r} shown, {y!r} printed now"
    return None


# --- generated code shown: blocks marked `<!-- generated: FILE:FUNC -->` ------------------------------

GENERATED = re.compile(r"(<!-- generated: (?P<target>.+?) -->\n```python\n)(?P<body>.*?)(```)", re.S)


def generated_function(root: Path, target: str) -> str:
    """The generated gradient of FUNC in FILE (`examples/control_flow.py:logistic`, or with a backend:
    `examples/control_flow.py:logistic backend=numba`, and for a backend whose code is made for the
    arguments' kinds, the parameters that are vectors, the others numbers: `... vectors=x`), from its
    `def` line on (with the decorator above it, if any), as the README shows it; the example is
    imported with its printing silenced."""
    import contextlib
    import io
    from .analysis.aliasing import ArgKinds
    from .api.transforms import grad
    target, _, vectors = target.partition(" vectors=")
    target, _, option = target.partition(" backend=")
    file, _, func = target.partition(":")
    old = os.getcwd()
    os.chdir(root)            # the header names the source relative to the working directory
    try:
        spec = importlib.util.spec_from_file_location(f"_readme_{Path(file).stem}", root / file)
        mod = importlib.util.module_from_spec(spec)
        with contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(mod)
        g = grad(getattr(mod, func), backend=option or "auto")
        if vectors:
            params = list(inspect.signature(getattr(mod, func)).parameters)
            ranks = tuple(sorted((v, 1) for v in vectors.split(",")))
            kinds = ArgKinds(frozenset(p for p in params if p not in vectors.split(",")), ranks)
            text = g._compile(option, kinds=kinds).source
        else:
            text = g.source
    finally:
        os.chdir(old)
    start = text.index(f"def {func}_grad(")
    if text[:start].endswith(")\n") and text[:start].rstrip().splitlines()[-1].startswith("@"):
        start = text.rindex("\n@", 0, start) + 1
    lines = [ln for ln in text[start:].splitlines() if not ln.lstrip().startswith('"""')]
    return "\n".join(lines).rstrip() + "\n"


def generated_blocks(readme: str) -> list[tuple[str, str]]:
    return [(m.group("target"), m.group("body")) for m in GENERATED.finditer(readme)]


def update_generated(root: Path) -> bool:
    path = root / "README.md"
    readme = path.read_text()
    text = GENERATED.sub(lambda m: m.group(1) + generated_function(root, m.group("target")) + m.group(4), readme)
    if text != readme:
        path.write_text(text)
    return text != readme
