"""Every generated file stands alone: it compiles, imports by path without s2sad's loader, and its
function gives the gradient that s2sad.grad gives."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import control_cases as C
import rule_cases as rc
import s2sad
from s2sad.ir import pytree
import s2sad.codegen.pipeline
import s2sad.api.convert
import s2sad.api.targets
from test_control_flow import CASES as FLOW_CASES
from test_rules import weights

CASES = [(f"{n}-{i}", getattr(C, n), list(a), tuple(range(len(a)))) for i, (n, a) in enumerate(FLOW_CASES)] + \
        [(c.id, c.fn, list(c.args) + [weights(c)], c.diff) for c in rc.CASES]


_NOT_ON_CUPY = {c.fn for c in rc.NOT_ON_CUPY}


def _import(path, name):
    spec = importlib.util.spec_from_file_location(f"standalone_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("cid, fn, args, diff", CASES, ids=[c[0] for c in CASES])
def test_generated_file_imports_alone_and_agrees(cid, fn, args, diff):
    g = s2sad.grad(fn, argnums=diff)
    expected = g(*args)
    path = g.path
    text = path.read_text()
    compile(ast.parse(text), str(path), "exec")
    mod = _import(path, cid.replace("-", "_").replace(".", "_"))
    func = getattr(mod, f"{fn.__name__}_grad")
    free = [f.read() for f in g._shown("numpy").free]
    floats = []
    for i, a in enumerate(args):       # a container goes leaf by leaf (ir/pytree.py), as the API passes it
        leaves = pytree.flatten(a)[1] if pytree.is_container(a) else [a]
        floats += [s2sad.api.convert.as_float(x) if i in diff else x for x in leaves]
    _, got = func(*floats, *free)
    got = got if isinstance(got, tuple) else (got,)
    expected = pytree.flatten(expected)[1] if isinstance(expected, (tuple, list)) else [expected]
    for e, r in zip(expected, got):
        np.testing.assert_allclose(r, e, rtol=1e-13, atol=1e-15)


def test_a_generated_file_runs_in_a_fresh_process(tmp_path):
    x = np.array([0.3, -1.2, 2.0])
    g = s2sad.grad(C.rosen_loop)
    code = (f"import importlib.util, numpy as np\n"
            f"spec = importlib.util.spec_from_file_location('m', {str(g.path)!r})\n"
            f"m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            f"print(repr(m.rosen_loop_grad(np.array({x.tolist()!r}))[1].tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    np.testing.assert_allclose(eval(out.stdout), g(x), rtol=1e-15)


def _flakes(text: str, name: str) -> list[str]:
    """pyflakes' complaints about a generated file (unused imports and variables, undefined names)."""
    import io

    from pyflakes.api import check
    from pyflakes.reporter import Reporter
    out, err = io.StringIO(), io.StringIO()
    check(text, name, Reporter(out, err))
    return (out.getvalue() + err.getvalue()).splitlines()


@pytest.mark.parametrize("cid, fn, args, diff", CASES, ids=[c[0] for c in CASES])
def test_generated_files_are_clean_for_pyflakes(cid, fn, args, diff):
    """No unused import, no dead variable, no undefined name: in the gradient (NumPy and CuPy files),
    and in the forward-mode file of that gradient (a Hessian-vector product)."""
    g = s2sad.grad(fn, argnums=diff)
    g(*args)
    texts = {"grad": g.source}
    if fn not in _NOT_ON_CUPY:                  # scipy.special: no CuPy form yet
        texts["cupy"] = s2sad.codegen.pipeline.grad_source(fn, diff, False, "cupy", value=False)
    i = diff[0]
    if type(args[i]) is float or isinstance(args[i], np.ndarray):
        g1 = s2sad.grad(fn, argnums=i)
        tangents = [np.ones_like(a) if j == i else None for j, a in enumerate(args)]
        try:
            s2sad.jvp(g1, tuple(args), tuple(tangents))
        except s2sad.NonDifferentiableError:
            pass                                  # no second derivative through this rule
        else:
            texts["hvp"] = s2sad.api.targets.compiled_jvp(g1._compile("numpy").fn, (i,), (1,)).source
    for kind, text in texts.items():
        assert _flakes(text, f"<{kind} {cid}>") == [], f"{kind}:\n{text}"


def test_the_example_files_are_clean_for_pyflakes():
    files = sorted((Path(__file__).resolve().parents[2] / "generated").glob("*.py"))
    assert files
    assert [m for p in files for m in _flakes(p.read_text(), p.name)] == []
