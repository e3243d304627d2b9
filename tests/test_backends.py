"""The CuPy backend. Without a GPU (CI) the CuPy source is still generated and checked: it compiles,
imports only CuPy, math and s2sad's runtime, and calls only names CuPy has. With CuPy and a GPU the
gradients on CuPy arrays are compared with the NumPy ones."""
from __future__ import annotations

import ast

import numpy as np
import pytest

import control_cases as C
import rule_cases as rc
import s2sad
from s2sad import backends, compiler
from test_control_flow import CASES as FLOW_CASES

FUNCTIONS = sorted({(n, getattr(C, n)) for n, _ in FLOW_CASES}, key=lambda p: p[0]) + \
    [(c.id, c.fn) for c in rc.CASES]


def _cp_names(tree: ast.AST) -> set[str]:
    """Every `cp.a.b` chain a module uses, as "a.b"."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = []
            cur = node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == "cp":
                out.add(".".join(reversed(parts)))
    # keep the longest chains only (cp.linalg.norm, not cp.linalg)
    return {n for n in out if not any(o.startswith(n + ".") for o in out)}


def _has(module, dotted: str) -> bool:
    obj = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


@pytest.mark.parametrize("name, fn", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_cupy_source_compiles_and_uses_only_cupy_names(name, fn):
    text = compiler.grad_source(fn, 0, False, "cupy")
    tree = ast.parse(text)
    compile(tree, f"<cupy {name}>", "exec")
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    spelled = sorted(ast.unparse(n) for n in imports)
    assert "import cupy as cp" in spelled and all(
        s in ("import cupy as cp", "import math", "from s2sad import runtime as _rt") for s in spelled), spelled
    assert not any(isinstance(n, ast.Name) and n.id in ("np", "numpy") for n in ast.walk(tree)), \
        "NumPy left in the CuPy source"
    used = _cp_names(tree)
    assert used - backends.CUPY_NAMES == set(), f"names CuPy may not have: {used - backends.CUPY_NAMES}"
    try:
        import cupy
    except ImportError:
        return
    missing = {n for n in used if not _has(cupy, n)}
    assert not missing, f"cupy has no {missing}"


def test_cupy_source_is_readable_without_cupy():
    """`.source` of a backend="cupy" gradient works on a machine without CuPy (it is not loaded)."""
    g = s2sad.grad(C.seed, backend="cupy")
    src = g.source
    assert "import cupy as cp" in src and "cp.linalg.norm(b)" in src


def test_calling_the_cupy_backend_without_cupy_says_how_to_install():
    if backends.has_cupy():
        pytest.skip("CuPy with a GPU is present here: the error path cannot be reached")
    with pytest.raises(s2sad.DifferentiationError, match=r"cuda12"):
        s2sad.grad(C.seed, backend="cupy")(np.ones(3))


needs_gpu = pytest.mark.skipif(not backends.has_cupy(),
                               reason="CuPy with a GPU is not available (pip install 's2sad[cuda12]' on an "
                                      "NVIDIA machine)")


@needs_gpu
@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_cupy_gradients_match_numpy(name, args):
    import cupy as cp
    f = getattr(C, name)
    nums = tuple(range(len(args)))
    ref = s2sad.grad(f, argnums=nums)(*args)
    dev = [cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    got = s2sad.grad(f, argnums=nums)(*dev)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(cp.asnumpy(g) if isinstance(g, cp.ndarray) else g, r, rtol=1e-10, atol=1e-12)
