"""The CuPy backend's source. Without a GPU (CI) the CuPy source is still generated and checked: it
compiles, imports only CuPy, math and s2sad's runtime, and calls only names CuPy has. Running it on
CuPy arrays (real ones on a GPU, tests/fake_cupy.py elsewhere) is tests/backends/test_cupy_arrays.py."""
from __future__ import annotations

import ast

import numpy as np
import pytest

import control_cases as C
import rule_cases as rc
import s2sad
from s2sad import backends
from s2sad.codegen import pipeline as compiler
from test_control_flow import CASES as FLOW_CASES

FUNCTIONS = sorted({(n, getattr(C, n)) for n, _ in FLOW_CASES}, key=lambda p: p[0]) + \
    [(c.id, c.fn) for c in rc.ON_CUPY]


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


@pytest.mark.parametrize("case", rc.NOT_ON_CUPY[:3], ids=lambda c: c.id)
def test_scipy_special_on_cupy_is_refused_with_the_line(case):
    with pytest.raises(s2sad.DifferentiationError, match=r"rule_cases.py:\d+: scipy.special on CuPy arrays is not "
                                                         r"supported yet: use backend='numpy'"):
        compiler.grad_source(case.fn, 0, False, "cupy")


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
    assert all(s in ("import cupy as cp", "import math", "from s2sad import runtime as _rt") for s in spelled), spelled
    assert ("import cupy as cp" in spelled) == ("cp." in text)       # imported where it is used
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


def test_the_name_list_matches_cupy_where_it_imports():
    """Every name s2sad relies on CuPy having (generated code, the runtime's dispatched calls, the
    fake in tests/fake_cupy.py) exists in the real cupy module, where CuPy is installed."""
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy is not installed: the list is checked against generated files only")
    assert {n for n in backends.CUPY_NAMES if not _has(cupy, n)} == set()


def _takes_a_number(fn, name: str) -> bool | None:
    """Whether `fn(0.5, ...)` (for joining functions, `fn([0.5, 0.25])`) gets past the type checks
    (None: the probe cannot tell)."""
    args = ([0.5, 0.25],) if name in ("stack", "hstack", "vstack", "concatenate") else \
        (0.5,) * getattr(fn, "nin", 1)
    try:
        fn(*args)
    except (TypeError, AttributeError) as exc:
        return False if "float" in str(exc) else None
    except Exception as exc:           # real CuPy without a GPU fails later, at the device
        return True if "cuda" in f"{type(exc).__name__} {exc}".lower() else None
    return True


def test_the_fake_refuses_numbers_where_cupy_does():
    """tests/fake_cupy.py takes a Python float where an array goes exactly where real CuPy does (its
    ufuncs), so a gradient that passes on the fake does not call `cp.sum(0.5)` on a GPU."""
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy is not installed: the fake's rule is checked against it where it is")
    import fake_cupy
    disagree = {}
    for name in sorted(backends.CUPY_NAMES):
        real, fake = cupy, fake_cupy.MODULE
        for part in name.split("."):
            real, fake = getattr(real, part), getattr(fake, part)
        if not callable(real) or isinstance(real, type) or name.endswith(".at"):
            continue
        r, f = _takes_a_number(real, name), _takes_a_number(fake, name)
        if r is not None and f is not None and r != f:
            disagree[name] = f"cupy {'takes' if r else 'refuses'} 0.5, the fake {'takes' if f else 'refuses'} it"
    assert not disagree, "\n".join(f"{k}: {v}" for k, v in disagree.items())


def test_cupy_source_is_readable_without_cupy():
    """`.source` of a backend="cupy" gradient works on a machine without a usable CuPy (it is not
    loaded); making it says what is missing, and calling it raises that, with how to install."""
    if not backends.missing_cupy():
        pytest.skip("CuPy with a GPU is present here: the path without one cannot be reached")
    with pytest.warns(backends.BackendWarning, match=r"cuda12") as caught:
        g = s2sad.grad(C.seed, backend="cupy")
    assert caught[0].filename == __file__          # the warning points at the user's line
    src = g.source
    assert "import cupy as cp" in src and "cp.linalg.norm(b)" in src
    with pytest.raises(s2sad.DifferentiationError, match=r"cuda12"):
        g(np.ones(3))
