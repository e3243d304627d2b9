"""`python -m s2sad show FILE.py:FUNC`, run as a user would (subprocess): it prints the generated source,
NumPy or CuPy, and errors are one line on stderr with exit status 2."""
from __future__ import annotations

import ast
import textwrap
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cache_cases as cc
import s2sad
from s2sad.codegen import pipeline as compiler


def show(*args: str, gen: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, S2SAD_GENERATED_DIR=str(gen))
    return subprocess.run([sys.executable, "-m", "s2sad", "show", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def body(text: str) -> str:
    """Generated text without its key lines: the key covers the custom rules registered in a process
    (this one has the test suite's), the printed code does not change with them."""
    return "".join(line for line in text.splitlines(True) if not line.startswith("# s2sad-"))


@pytest.fixture
def module(tmp_path):
    name = cc.unique("cli")
    path = cc.write_module(tmp_path, name, cc.CLI)
    return path, cc.import_path(path, name)


def test_show_prints_the_gradient_source(module, tmp_path):
    path, mod = module
    out = show(f"{path}:f", gen=tmp_path / "gen")
    assert out.returncode == 0, out.stderr
    assert body(out.stdout) == body(s2sad.grad(mod.f).source)
    assert "# s2sad-key: " in out.stdout
    assert "importing cli module" not in out.stdout + out.stderr      # the module's bare calls do not run
    compile(out.stdout, "<shown>", "exec")


def test_argnums_and_methods(module, tmp_path):
    path, mod = module
    out = show(f"{path}:f", "--argnums", "0", "1", gen=tmp_path / "gen")
    assert out.returncode == 0, out.stderr
    assert body(out.stdout) == body(s2sad.grad(mod.f, argnums=(0, 1)).source)
    assert "with respect to x, y" in out.stdout
    method = show(f"{path}:Model.loss", "--argnums", "1", gen=tmp_path / "gen")
    assert method.returncode == 0, method.stderr
    assert "def loss_grad(self, w" in method.stdout


def test_backend_cupy_shows_the_cupy_file_without_cupy(module, tmp_path):
    path, mod = module
    out = show(f"{path}:f", "--backend", "cupy", gen=tmp_path / "gen")
    assert out.returncode == 0, out.stderr
    assert body(out.stdout) == body(compiler.grad_source(mod.f, 0, False, "cupy", value=False))  # what grad runs
    tree = ast.parse(out.stdout)
    assert "import cupy as cp" in out.stdout and "cp.cos(x)" in out.stdout
    assert not any(isinstance(n, ast.Name) and n.id == "np" for n in ast.walk(tree))
    assert "Warning" not in out.stderr                      # reading the file needs no GPU


@pytest.mark.parametrize("target, message", [
    ("missing.py:f", "no such file: missing.py"),
    ("{path}:nope", "has no function 'nope' (it defines: Model, f, unsupported)"),
    ("{path}:NOT_A_FUNCTION", "is not a function but a int"),
    ("{path}", "expected FILE.py:FUNC"),
])
def test_usage_errors_are_one_line_on_stderr(module, tmp_path, target, message):
    path, _ = module
    out = show(target.format(path=path), gen=tmp_path / "gen")
    assert out.returncode == 2 and out.stdout == ""
    lines = [line for line in out.stderr.splitlines() if line != "importing cli module"]
    assert len(lines) == 1 and lines[0].startswith("s2sad: error: ") and message in lines[0], out.stderr


def test_an_unsupported_function_names_its_line(module, tmp_path):
    path, _ = module
    out = show(f"{path}:unsupported", gen=tmp_path / "gen")
    line = cc.CLI.splitlines().index("    return [x for _ in range(2)][0]") + 1
    assert out.returncode == 2 and out.stdout == ""
    assert f"s2sad: error: {path}:{line}:" in out.stderr and "a comprehension used as a value" in out.stderr
    assert f"{line} | return [x for _ in range(2)][0]" in out.stderr, out.stderr


def test_show_and_compare_do_not_run_the_script(tmp_path):
    """A training script: its loop, prints and main block do not run; imports, defs and assignments do."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent('''
        import numpy as np
        print("module body ran")
        X = np.linspace(0.0, 1.0, 5)
        try:
            import definitely_not_installed_module
        except ImportError:
            definitely_not_installed_module = None

        def loss(w):
            return np.sum((X * w - 1.0) ** 2)

        for epoch in range(3):
            print("training", epoch)
        raise SystemExit("the training script ran")

        if __name__ == "__main__":
            print("main block ran")
    '''))
    env = dict(os.environ, S2SAD_GENERATED_DIR=str(tmp_path / "gen"))
    for argv in (["show", f"{script}:loss"], ["compare", f"{script}:loss", "--at", "0.5", "--no-timing"]):
        proc = subprocess.run([sys.executable, "-m", "s2sad", *argv], capture_output=True, text=True, env=env,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "ran" not in proc.stdout + proc.stderr and "training" not in proc.stderr
    # d/dw sum((X w - 1)^2) at w = 0.5
    X = np.linspace(0.0, 1.0, 5)
    assert f"{np.sum(2 * (X * 0.5 - 1.0) * X):.12g}" in proc.stdout
