"""What the generated code depends on besides the function's text: the functions and modules its names
resolved to (in the key, and checked at each call), the source Python really runs (not a file edited
since), and the decorators around it (differentiated, or refused by name)."""
from __future__ import annotations

import functools
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from s2sad import DifferentiationError

X = np.array([0.3, 0.5, -1.1])


def make(fn):
    def h(x):
        return np.sum(fn(x))
    return h


def test_closures_over_different_functions_get_different_code():
    gs = s2sad.grad(make(np.sin))
    gc = s2sad.grad(make(np.cos))
    np.testing.assert_allclose(gs(X), np.cos(X))
    np.testing.assert_allclose(gc(X), -np.sin(X))
    assert gs.path != gc.path


def test_a_global_chosen_at_import_is_part_of_the_key(tmp_path):
    """`act = np.cos if MODE == "cos" else np.sin`, run with sin then with cos in two processes that share
    the generated folder: the second must not reuse the first's file."""
    (tmp_path / "act_mod.py").write_text(textwrap.dedent("""
        import os
        import numpy as np
        act = np.cos if os.environ["MODE"] == "cos" else np.sin
        def g(x):
            return np.sum(act(x))
    """))
    script = "import numpy as np, s2sad, act_mod; print(repr(s2sad.grad(act_mod.g)(0.5)))"
    outs = {}
    for mode in ("sin", "cos"):
        env = dict(os.environ, MODE=mode, S2SAD_GENERATED_DIR=str(tmp_path / "gen"),
                   PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        outs[mode] = float(run.stdout.strip().splitlines()[-1])
    assert outs["sin"] == pytest.approx(np.cos(0.5))
    assert outs["cos"] == pytest.approx(-np.sin(0.5))
    assert len(list((tmp_path / "gen").glob("act_mod_g_grad_*.py"))) == 2


def _module(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


@pytest.mark.parametrize("kind", ["float", "array"])
def test_a_helper_redefined_after_grad_is_seen_by_the_next_call(tmp_path, kind):
    """A notebook: grad(f) made, then a cell redefines the helper f calls; f now calls the new helper, so
    its gradient must too (for Python floats, the fast entry; for arrays, the full path)."""
    mod = _module(tmp_path, f"nb_{kind}", """
        def helper(x):
            return x * 2.0
        def f(x):
            return (helper(x) ** 2).sum() if hasattr(x, "sum") else helper(x) ** 2
    """)
    new = _module(tmp_path, f"nb_{kind}_cell", """
        def helper(x):
            return x * 3.0
    """)
    x = 3.0 if kind == "float" else np.array([3.0, 1.0])
    g = s2sad.grad(mod.f)
    for _ in range(3):                          # past the point where the fast entry is built
        np.testing.assert_allclose(g(x), 8.0 * np.asarray(x))
    mod.helper = new.helper
    np.testing.assert_allclose(g(x), 18.0 * np.asarray(x))
    np.testing.assert_allclose(s2sad.value_and_grad(mod.f)(x)[1], 18.0 * np.asarray(x))
    np.testing.assert_allclose(s2sad.jvp(mod.f, (x,), (np.ones_like(x) if kind == "array" else 1.0,))[1],
                               np.sum(18.0 * np.asarray(x)))


def test_numpy_rebound_to_another_function_is_seen(tmp_path):
    mod = _module(tmp_path, "rebind_np", """
        import numpy as np
        act = np.sin
        def f(x):
            return act(x) * 2.0
    """)
    g = s2sad.grad(mod.f)
    assert g(0.4) == pytest.approx(2 * np.cos(0.4))
    mod.act = np.exp
    assert g(0.4) == pytest.approx(2 * np.exp(0.4))


def test_a_value_read_at_call_time_follows_python():
    k = 2.0

    def f(x):
        return k * x

    g = s2sad.grad(f)
    assert g(1.0) == 2.0
    k = 3.0          # noqa: F841  (read by f through its closure)
    assert g(1.0) == 3.0


def test_a_module_edited_on_disk_is_not_differentiated_in_its_place(tmp_path):
    mod = _module(tmp_path, "edited_mod", """
        def f(x):
            return x ** 3
    """)
    (tmp_path / "edited_mod.py").write_text(textwrap.dedent("""
        def other(x):
            return x * 100.0
        def f(x):
            return x ** 2
    """))
    with pytest.raises(DifferentiationError, match=r"edited_mod\.py:2: .*not the code Python runs.*reload"):
        s2sad.grad(mod.f)(3.0)
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.reload(mod)
    finally:
        sys.path.remove(str(tmp_path))
    assert s2sad.grad(mod.f)(3.0) == 6.0


def test_a_function_that_only_moved_in_its_file_is_found(tmp_path):
    mod = _module(tmp_path, "moved_mod", """
        def f(x):
            return x ** 3
    """)
    (tmp_path / "moved_mod.py").write_text(textwrap.dedent("""
        def inserted(x):
            return x * 100.0


        def f(x):
            return x ** 3
    """))
    assert s2sad.grad(mod.f)(2.0) == 12.0


def scale(factor):
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return factor * fn(*args, **kwargs)
        return wrapper
    return decorate


def shift_first(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args) + args[0] ** 2
    return wrapper


@scale(10.0)
def scaled(x):
    return x * x * 2.0


@shift_first
@scale(10.0)
def stacked(x, y):
    return x * y


def calls_decorated(x):
    return scaled(x) + 1.0


def test_a_decorator_is_differentiated():
    assert s2sad.grad(scaled)(3.0) == pytest.approx(120.0)
    assert s2sad.jvp(scaled, (3.0,), (1.0,))[1] == pytest.approx(120.0)
    assert s2sad.hessian(scaled)(3.0) == pytest.approx(40.0)


def test_stacked_decorators_and_args_read_by_index():
    gx, gy = s2sad.grad(stacked, argnums=(0, 1))(2.0, 5.0)
    assert (gx, gy) == (pytest.approx(10 * 5.0 + 2 * 2.0), pytest.approx(10 * 2.0))


def test_a_decorated_helper_is_inlined_with_its_decorator():
    assert s2sad.grad(calls_decorated)(3.0) == pytest.approx(120.0)


@functools.lru_cache(maxsize=None)
def cached_square(x):
    return x * x


def test_a_decorator_without_readable_code_is_refused_by_name():
    with pytest.raises(DifferentiationError, match=r"cached_square is wrapped by functools\._lru_cache_wrapper"):
        s2sad.grad(cached_square)(3.0)


def counts_args(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs) * len(args)
    return wrapper


@counts_args
def counted(x):
    return x


def test_a_wrapper_that_reads_args_otherwise_is_refused():
    with pytest.raises(DifferentiationError, match="reads args"):
        s2sad.grad(counted)(3.0)
