"""The README's tour shows one generated file verbatim; this keeps that copy current.

`python examples/run_all.py` rewrites the block; tests/e2e/test_readme.py fails when it is stale.
"""
from __future__ import annotations

import importlib.util
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
