"""hvp, and jvp's fast way in (s2sad/api/fast_jvp.py): Hessian-vector products against the product
written by hand, the tangent-only code, and repeated calls that must still see a rebound global or a
new rule. Then a gradient differentiated again (jvp, hvp, hessian, grad of grad) of a function whose
output is not a scalar: refused, as grad refuses it."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad.api import fast_jvp
from s2sad.api.targets import compiled_jvp

from reference import central


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_hvp(x, v):
    """H(x) @ v of rosen, by hand from its tridiagonal Hessian."""
    head, tail = x[:-1], x[1:]
    out = np.zeros_like(x)
    out[:-1] = (1200.0 * head ** 2 - 400.0 * tail + 2.0) * v[:-1] - 400.0 * head * v[1:]
    out[1:] += 200.0 * v[1:] - 400.0 * head * v[:-1]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hvp_is_the_hessian_times_the_vector(seed):
    rng = np.random.default_rng(seed)
    x, v = rng.uniform(-1, 1, 9), rng.standard_normal(9)
    for _ in range(3):                       # the first call, then the fast way in
        np.testing.assert_allclose(s2sad.hvp(rosen, (x,), (v,)), rosen_hvp(x, v), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(s2sad.jvp(s2sad.grad(rosen), (x,), (v,))[1], rosen_hvp(x, v), rtol=1e-12,
                               atol=1e-10)


def cubic(x, c):
    return np.sum(c * x ** 3)


def test_hvp_with_a_constant_argument_and_on_a_float():
    x, c, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(s2sad.hvp(cubic, (x, c), (v, None)), 6 * c * x * v, rtol=1e-13)
    for _ in range(2):
        assert s2sad.hvp(lambda t: t ** 4, (1.5,), (2.0,)) == pytest.approx(12 * 1.5 ** 2 * 2.0, rel=1e-13)


def test_the_hvp_code_computes_the_product_alone():
    x = np.linspace(-1, 1, 5)
    t = s2sad.grad(rosen)._as_target((x,))
    alone = compiled_jvp(t.fn, (0,), t.select, "numpy", value=False).source
    both = compiled_jvp(t.fn, (0,), t.select, "numpy").source
    body = "\n".join(line for line in alone.split('"""', 2)[2].splitlines() if not line.lstrip().startswith("#"))
    assert "return (None, x_bar_dot)" in body and "x_bar =" not in body and "x_bar[" not in body
    assert "return (x_bar, x_bar_dot)" in both
    # `x_bar[:-1] += ...` in the gradient: its tangent is accumulated in place too
    assert "x_bar_dot[1:] += " in body


SCALE = 2.0


def scaled(x):
    return SCALE * np.sum(x ** 3)


def test_the_fast_way_in_sees_a_rebound_global():
    global SCALE
    x, v = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    try:
        for _ in range(2):
            assert s2sad.jvp(scaled, (x,), (v,))[1] == pytest.approx(2.0 * np.sum(3 * x ** 2 * v))
            np.testing.assert_allclose(s2sad.hvp(scaled, (x,), (v,)), 2.0 * 6 * x * v)
        assert scaled in fast_jvp.JVP           # the second calls went the fast way
        SCALE = 5.0
        assert s2sad.jvp(scaled, (x,), (v,))[1] == pytest.approx(5.0 * np.sum(3 * x ** 2 * v))
        np.testing.assert_allclose(s2sad.hvp(scaled, (x,), (v,)), 5.0 * 6 * x * v)
    finally:
        SCALE = 2.0


def softish(x):
    return np.log1p(np.exp(x))


def uses_softish(x):
    return np.sum(softish(x) * x)


def test_the_fast_way_in_sees_a_rule_registered_after_it():
    x, v = np.array([0.3, -0.2]), np.array([1.0, 2.0])
    first = s2sad.jvp(uses_softish, (x,), (v,))[1]
    assert s2sad.jvp(uses_softish, (x,), (v,))[1] == pytest.approx(first)
    want = float(np.sum(central(lambda y: uses_softish(y), [x]) * v))
    assert first == pytest.approx(want, rel=1e-7)
    # a rule for softish that is deliberately three times its true derivative: the next call must use it
    s2sad.defjvp(softish, lambda t, ans, x: 3.0 * t / (1.0 + np.exp(-x)))
    expit = 1.0 / (1.0 + np.exp(-x))
    got = s2sad.jvp(uses_softish, (x,), (v,))[1]
    assert got == pytest.approx(float(np.sum((3.0 * expit * x + softish(x)) * v)), rel=1e-12)


def test_other_kinds_of_arguments_take_the_full_path_and_agree():
    x, v = np.array([0.2, 0.4, 0.6]), np.array([1.0, -1.0, 2.0])
    plain = s2sad.hvp(rosen, (x,), (v,))
    assert np.array_equal(s2sad.hvp(rosen, (x,), (v,)), plain)
    np.testing.assert_allclose(s2sad.hvp(rosen, (x.astype(np.float32),), (v.astype(np.float32),)), plain,
                               rtol=1e-5)
    np.testing.assert_allclose(s2sad.hvp(rosen, ([0.2, 0.4, 0.6],), (v,)), plain, rtol=1e-13)
    with pytest.raises(ValueError, match="tangent 0 has shape"):
        s2sad.hvp(rosen, (x,), (v[:2],))


def inner(x):
    return x ** 2


def outer(x):
    return np.sum(inner(x))


def test_the_fast_way_in_sees_a_helper_redefined():
    x, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    old = globals()["inner"]
    try:
        for _ in range(2):
            assert s2sad.jvp(outer, (x,), (v,))[1] == pytest.approx(np.sum(2 * x * v))
            np.testing.assert_allclose(s2sad.hvp(outer, (x,), (v,)), 2 * v)

        def cubed(x):
            return x ** 3
        globals()["inner"] = cubed
        assert s2sad.jvp(outer, (x,), (v,))[1] == pytest.approx(np.sum(3 * x ** 2 * v))
        np.testing.assert_allclose(s2sad.hvp(outer, (x,), (v,)), 6 * x * v)
    finally:
        globals()["inner"] = old


def cubes(x):
    return x ** 3


def first_cube(x):
    return (x ** 3)[0] if np.ndim(x) else x ** 3


@pytest.mark.parametrize("call", [
    lambda f, x: s2sad.jvp(s2sad.grad(f), (x,), (np.ones_like(x),)),
    lambda f, x: s2sad.hvp(f, (x,), (np.ones_like(x),)),
    lambda f, x: s2sad.hessian(f)(x),
])
def test_differentiating_a_gradient_again_needs_a_scalar_output_as_grad_does(call):
    # forward mode over the gradient's code of a vector output would differentiate the sum of its
    # elements: refused, as grad itself refuses it
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        call(cubes, x)
    assert call(cubes, 1.5) is not None                     # on a float the output is a scalar
    assert call(first_cube, x) is not None
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        s2sad.grad(s2sad.grad(cubes))(x)


def two_copies(t):
    return np.array([t, t])


def test_a_vector_output_that_trips_the_generated_code_is_named_as_such():
    # the seed 1.0 indexed like the output fails inside the gradient's code: the error says why
    with pytest.raises(s2sad.NonScalarOutputError, match=r"two_copies returned an array of shape \(2,\)"):
        s2sad.grad(two_copies)(1.0)
