"""s2sad.numerical: finite differences and the complex step."""
import warnings

import numpy as np
import pytest

import symbolic_cases as C
from s2sad import numerical
from s2sad.errors import DifferentiationError, NonScalarOutputError

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("method, tol", [("forward", 5e-8), ("central", 1e-9), ("complex", 1e-15)])
def test_sin_at_one_within_expected_error(method, tol):
    g = numerical.grad(C.sin_scalar, method=method)
    d = g(1.0)
    assert type(d) is float
    assert abs(d - np.cos(1.0)) < tol


def test_forward_is_less_accurate_than_central():
    exact = np.cos(1.0)
    fwd = abs(numerical.grad(np.sin, method="forward")(1.0) - exact)
    cen = abs(numerical.grad(np.sin, method="central")(1.0) - exact)
    assert cen < fwd


def test_default_steps_scale_with_x():
    assert numerical.default_step("forward", 1.0) == pytest.approx(np.sqrt(EPS))
    assert numerical.default_step("central", 0.5) == pytest.approx(np.cbrt(EPS))
    assert numerical.default_step("central", -1e4) == pytest.approx(np.cbrt(EPS) * 1e4)
    np.testing.assert_allclose(numerical.default_step("complex", np.array([0.1, 10.0])), [1e-20, 1e-19])


def test_attributes():
    g = numerical.grad(C.sin_scalar, method="forward", step=1e-4)
    assert g.method == "forward" and g.step == 1e-4
    assert g.__wrapped__ is C.sin_scalar
    assert g.__name__ == "sin_scalar"
    assert numerical.grad(C.sin_scalar).step is None


def test_explicit_step_is_used():
    # forward difference of x**2 at 1 with step h is exactly 2 + h
    g = numerical.grad(lambda x: x * x, method="forward", step=0.5)
    assert g(1.0) == pytest.approx(2.5)


@pytest.mark.parametrize("method", numerical.METHODS)
def test_arrays(method, rng):
    x = rng.normal(size=(3, 4))
    g = numerical.grad(C.sum_of_squares, method=method)(x)
    assert g.shape == x.shape and g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", numerical.METHODS)
def test_zero_d_array(method):
    g = numerical.grad(C.sum_of_squares, method=method)(np.array(1.5))
    assert isinstance(g, np.ndarray) and g.shape == ()
    assert float(g) == pytest.approx(3.0, rel=1e-6)


@pytest.mark.parametrize("method", numerical.METHODS)
def test_empty_arrays(method):
    g = numerical.grad(C.sum_of_squares, method=method)
    assert g(np.zeros(0)).shape == (0,)
    assert g(np.zeros((2, 0))).shape == (2, 0)
    assert numerical.jacobian(C.not_scalar, method=method)(np.zeros(0)).shape == (0, 0)


def test_float32_is_differentiated_in_float64():
    x = np.array([0.5, -1.25, 2.0], dtype=np.float32)
    g = numerical.grad(C.sum_of_squares)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x.astype(np.float64), rtol=1e-6)


def test_ints_are_promoted():
    assert numerical.grad(C.sin_scalar)(1) == pytest.approx(np.cos(1.0))
    assert type(numerical.grad(C.sin_scalar)(1)) is float
    g = numerical.grad(C.sum_of_squares)(np.arange(4))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [0, 2, 4, 6], atol=1e-8)
    g = numerical.grad(C.sum_of_squares)([1, 2])
    np.testing.assert_allclose(g, [2, 4], atol=1e-8)


def test_argnums_tuple_and_keywords():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gy = numerical.grad(C.two_args, argnums=(0, 1))(x, y=y)
    np.testing.assert_allclose(gx, y ** 2, rtol=1e-8)
    np.testing.assert_allclose(gy, 2 * x * y, rtol=1e-8)
    gy_only = numerical.grad(C.two_args, argnums=1, method="complex")(x, y)
    np.testing.assert_allclose(gy_only, 2 * x * y, rtol=1e-14)


def test_non_scalar_output_raises():
    with pytest.raises(NonScalarOutputError, match="shape \\(3,\\)"):
        numerical.grad(C.not_scalar)(np.ones(3))


def test_bad_options():
    with pytest.raises(ValueError, match="method"):
        numerical.grad(C.sin_scalar, method="backward")
    with pytest.raises(ValueError, match="step"):
        numerical.grad(C.sin_scalar, step=-1.0)
    with pytest.raises(ValueError, match="out of range"):
        numerical.grad(C.sin_scalar, argnums=1)


def test_complex_step_error_when_function_raises():
    with pytest.raises(DifferentiationError, match="complex-safe"):
        numerical.grad(C.with_math, method="complex")(1.0)


def test_complex_step_warns_when_imaginary_part_is_dropped():
    x = np.array([1.0, -2.0, 0.5])
    with pytest.warns(numerical.ComplexStepWarning, match="not complex-safe"):
        g = numerical.grad(C.with_abs, method="complex")(x)
    np.testing.assert_allclose(g, np.sign(x), rtol=1e-8)      # central differences were used


def test_complex_step_no_warning_for_truly_constant_elements():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = numerical.grad(lambda x: x[0] ** 2, method="complex")(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(g, [6.0, 0.0])


@pytest.mark.parametrize("method", ["forward", "central"])
def test_overflow_to_inf_gives_no_nan(method):
    with np.errstate(over="ignore"):
        g = numerical.grad(C.overflow, method=method)(np.array([1000.0, 1.0]))
        J = numerical.jacobian(np.exp, method=method)(np.array([1000.0, 1.0]))
    assert not np.any(np.isnan(g)) and not np.any(np.isnan(J))
    np.testing.assert_array_equal(g, [0.0, 0.0])        # both evaluations are inf: inf - inf counts as 0
    assert J[0, 0] == 0.0 and J[1, 0] == 0.0
    assert J[1, 1] == pytest.approx(np.e, rel=1e-6)


def test_jacobian_shapes_and_values(rng):
    x = rng.normal(size=(2, 3))
    for method in numerical.METHODS:
        J = numerical.jacobian(C.not_scalar, method=method)(x)
        assert J.shape == (2, 3, 2, 3)
        np.testing.assert_allclose(J.reshape(6, 6), np.diag(2 * x.ravel()), atol=1e-6)
    assert type(numerical.jacobian(np.sin)(0.0)) is float
    J = numerical.jacobian(lambda v: np.array([v[0] * v[1], v[1] ** 2, 1.0]))(np.array([2.0, 3.0]))
    np.testing.assert_allclose(J, [[3, 2], [0, 6], [0, 0]], atol=1e-8)


def test_matches_symbolic_on_rosenbrock():
    from s2sad import symbolic
    x = np.array([0.3, -0.5, 1.2, 0.8, -1.1])
    np.testing.assert_allclose(numerical.grad(C.rosen_loop, method="complex")(x),
                               symbolic.grad(C.rosen_loop)(x), rtol=1e-12)
