"""Every generated file stands alone: it compiles, imports by path without s2sad's loader, and its
function gives the gradient that s2sad.grad gives."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import control_cases as C
import rule_cases as rc
import s2sad
from test_control_flow import CASES as FLOW_CASES
from test_rules import weights

CASES = [(f"{n}-{i}", getattr(C, n), list(a), tuple(range(len(a)))) for i, (n, a) in enumerate(FLOW_CASES)] + \
        [(c.id, c.fn, list(c.args) + [weights(c)], c.diff) for c in rc.CASES]


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
    free = [f.read() for f in g._compile("numpy").free]
    floats = [s2sad.api._as_float(a) if i in diff else a for i, a in enumerate(args)]
    _, got = func(*floats, *free)
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
