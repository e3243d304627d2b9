"""The API reference under docs/ builds from the docstrings with warnings as errors, with a page for each
transformation, the three approaches, the backends, the cache, the command line, the errors and the
architecture."""
from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import s2sad

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["api/grad", "api/value_and_grad", "api/jvp", "api/vjp", "api/jacobian", "api/hessian",
         "api/stop_gradient", "api/custom_rules", "approaches", "backends", "cache", "cli", "errors",
         "testing", "architecture"]


def test_docs_build_strictly(tmp_path):
    pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install '.[docs]'; the test extra has it)")
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs"), str(out), "-d", str(tmp_path / "doctrees")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for page in PAGES:
        assert (out / f"{page}.html").exists(), page
    grad_page = (out / "api" / "grad.html").read_text()
    assert "Gradient of a scalar-valued function" in grad_page        # the docstring, not a stub
    assert "as_function" in grad_page
    assert "check_grads" in (out / "testing.html").read_text()
    assert "NonScalarOutputError" in (out / "errors.html").read_text()
    assert "Where to add" in (out / "architecture.html").read_text()


def test_public_api_is_typed():
    assert (Path(s2sad.__file__).parent / "py.typed").exists()
    for name in ("grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian", "compare", "defvjp", "defjvp"):
        sig = inspect.signature(getattr(s2sad, name))
        assert sig.return_annotation is not inspect.Signature.empty, name
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()
                   if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)), name


def test_version_on_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "s2sad", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"s2sad {s2sad.__version__}"
