"""s2sad.symbolic: symbolic evaluation of the AST with SymPy, CSE, and generated NumPy code."""
import inspect

import numpy as np
import pytest
import sympy

import symbolic_cases as C
from reference import central
from s2sad import symbolic
from s2sad.errors import (DifferentiationError, NonDifferentiableError, NonScalarOutputError,
                          UnsupportedSyntaxError)


def line_of(fn, text):
    """The file line number of the first line of fn containing `text`."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def check_against_central(f, args, argnums=0, rtol=1e-6, atol=1e-7):
    g = symbolic.grad(f, argnums=argnums)(*args)
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    gs = g if isinstance(argnums, tuple) else (g,)
    for i, gi in zip(nums, gs):
        np.testing.assert_allclose(gi, central(f, args, i), rtol=rtol, atol=atol)
    return g


def test_x2y_at_2_3():
    g = symbolic.grad(C.x2y, argnums=(0, 1))
    gx, gy = g(2.0, 3.0)
    assert (gx, gy) == (12.0, 4.0)
    assert type(gx) is float and type(gy) is float
    x, y = sympy.symbols("x y", real=True)
    ex, ey = g.expr
    assert sympy.simplify(ex - 2 * x * y) == 0 and sympy.simplify(ey - x ** 2) == 0
    assert symbolic.grad(C.x2y)(2.0, 3.0) == 12.0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_logistic_map_against_hand_recursion(n):
    l0 = 0.3
    g = symbolic.grad(C.logistic)(l0, n)
    l, dl = l0, 1.0
    for _ in range(n):
        l, dl = 4 * l * (1 - l), 4 * (1 - 2 * l) * dl
    assert g == pytest.approx(dl, rel=1e-12, abs=1e-12)


def test_logistic_map_expression_and_op_counts():
    g = symbolic.grad(C.logistic)
    g(0.25, 6)
    l = sympy.Symbol("l", real=True)
    assert isinstance(g.expr, sympy.Expr) and g.expr.free_symbols == {l}
    f6 = symbolic.expression(C.logistic, 0.25, 6)
    assert sympy.expand(g.expr - sympy.diff(f6, l)) == 0
    assert 0 < g.ops_after_cse <= g.ops_before_cse
    assert g.ops_after_cse < g.ops_before_cse / 2          # the unrolled chain rule repeats a lot
    assert "t0 = " in g.source                              # CSE temporaries are printed


def test_expression_of_the_output():
    l = sympy.Symbol("l", real=True)
    e = symbolic.expression(C.logistic, 0.5, 2)
    l1 = 4 * l * (1 - l)
    assert sympy.expand(e - 4 * l1 * (1 - l1)) == 0
    v = symbolic.expression(C.returns_vector, np.ones(2))
    assert isinstance(v, np.ndarray) and v.shape == (2,) and str(v[1]) == "2.0*x_1"


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def test_rosenbrock_loop_against_analytic():
    x = np.array([0.3, -0.5, 1.2, 0.8, -1.1])
    g = symbolic.grad(C.rosen_loop)
    np.testing.assert_allclose(g(x), rosen_grad(x), rtol=1e-13)
    assert isinstance(g.expr, np.ndarray) and g.expr.shape == (5,)
    assert {str(s) for s in g.expr[0].free_symbols} == {"x_0", "x_1"}
    assert "x_4 = x[4]" in g.source
    np.testing.assert_allclose(symbolic.grad(C.rosen_vec)(x), rosen_grad(x), rtol=1e-13)


def test_if_else_becomes_piecewise():
    g = symbolic.grad(C.branch)
    assert g(2.0) == 4.0                 # x**2
    assert g(-2.0) == -12.0              # -x**3
    assert isinstance(g.expr, sympy.Piecewise)
    assert " if " in g.source            # only the taken branch runs


def test_early_return():
    g = symbolic.grad(C.early_return)
    assert g(2.0) == 12.0 and g(-2.0) == -1.0
    assert isinstance(g.expr, sympy.Piecewise)


@pytest.mark.parametrize("xy", [(2.0, 1.0), (0.5, 0.2), (0.1, 3.0), (0.1, 1.0)])
def test_nested_if(xy):
    check_against_central(C.nested_if, xy, argnums=(0, 1))


def test_while_with_data_dependent_trip_count_raises():
    with pytest.raises(DifferentiationError, match="trip count") as info:
        symbolic.grad(C.while_data)(1.0)
    line = line_of(C.while_data, "while x")
    assert f"symbolic_cases.py:{line}" in str(info.value)
    assert "while x < 10.0" in str(info.value)


def test_while_with_known_trip_count_is_unrolled():
    check_against_central(C.while_known, (0.3, 3))
    g = symbolic.grad(C.while_known)
    assert g(0.5, 0) == 1.0


@pytest.mark.parametrize("case, args, argnums", [
    (C.elementwise, (0.7, 1.3), (0, 1)),
    (C.matrix_fn, (np.arange(6.0).reshape(2, 3) * 0.3 + 0.1, np.array([0.5, -1.2, 2.0])), (0, 1)),
    (C.where_fn, (np.array([1.5, -0.3, 0.2, -2.0, 0.7]),), 0),
    (C.inplace, (np.array([1.5, -0.3, 0.2, -2.0]),), 0),
    (C.uses_helper, (0.8,), 0),
])
def test_against_central_differences(case, args, argnums):
    check_against_central(case, args, argnums)


def test_types_follow_grad_conventions():
    g = symbolic.grad(C.sum_of_squares)
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert g(x32).dtype == np.float32
    np.testing.assert_array_equal(g(x32), [2.0, 4.0])
    assert g(np.arange(3)).dtype == np.float64
    assert g(np.zeros(0)).shape == (0,)
    assert g(np.array(3.0)).shape == ()
    h = symbolic.grad(C.x2y)
    assert type(h(2, 3)) is float
    assert type(h(np.float32(2.0), 3.0)) is np.float32
    assert h(2.0, y=3.0) == 12.0


def test_cache_by_shape_and_int_values():
    g = symbolic.grad(C.logistic)
    g(0.3, 2)
    first = g.source
    g(0.7, 2)
    assert g.source is first and len(g._cache) == 1
    g(0.7, 3)
    assert len(g._cache) == 2 and g.source != first


def test_globals_are_read_at_call_time(monkeypatch):
    A, v = np.ones((2, 3)), np.array([0.5, 1.0, 2.0])
    g = symbolic.grad(C.matrix_fn, argnums=1)
    before = g(A, v)
    monkeypatch.setattr(C, "SCALE", 30.0)
    after = g(A, v)
    np.testing.assert_allclose(after, central(C.matrix_fn, (A, v), 1), rtol=1e-6)
    assert not np.allclose(before, after)


def test_generated_source_compiles_and_names_numpy():
    g = symbolic.grad(C.elementwise, argnums=(0, 1))
    g(0.5, 0.25)
    assert "import numpy as np" in g.source and "np.sin(" in g.source and "numpy." not in g.source
    compile(g.source, "<test>", "exec")
    assert g.path is None or g.path.read_text() == g.source


def test_cupy_source_without_cupy():
    text = symbolic.generated_source(C.elementwise, 0.5, 0.25, argnums=(0, 1), backend="cupy")
    assert "import cupy as cp" in text and "cp.sin(" in text
    assert "np." not in text and "numpy" not in text
    compile(text, "<test>", "exec")
    arr = symbolic.generated_source(C.rosen_loop, np.ones(3), backend="cupy")
    assert "cp.empty((3,), dtype=cp.float64)" in arr


def test_unsupported_constructs_have_locations():
    with pytest.raises(UnsupportedSyntaxError, match="try/except") as info:
        symbolic.grad(C.uses_try)(1.0)
    assert f"symbolic_cases.py:{line_of(C.uses_try, 'try:')}" in str(info.value)
    with pytest.raises(NonDifferentiableError, match="numpy.fft.fft"):
        symbolic.grad(C.unknown_function)(np.ones(3))
    with pytest.raises(UnsupportedSyntaxError, match="only one branch"):
        symbolic.grad(C.used_in_one_branch)(1.0)


def test_non_scalar_output():
    with pytest.raises(NonScalarOutputError, match="shape \\(3,\\)"):
        symbolic.grad(C.returns_vector)(np.ones(3))


def test_expr_before_first_call():
    """Before any call, .expr is the derivative for numbers (tests/api/test_first_hour.py has more)."""
    e = symbolic.grad(C.x2y).expr
    assert float(e.subs({s: {"x": 2.0, "y": 3.0}[s.name] for s in e.free_symbols})) == pytest.approx(12.0)
