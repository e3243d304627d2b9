"""grad's fast way in for arrays (s2sad/api/fast_grad.py): a call whose arguments have the kinds of the
call that found the code goes straight to it. Each test makes the fast way wrong if it skipped a check
the full path makes (a rebound global, a redefined helper, a rule registered since, other argument
kinds, a complex free value, an output whose shape follows an argument), against references."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad

from reference import central


def loss(t0, t1, X, Y):
    return np.mean((t0 + t1 * X - Y) ** 2 / 2)


def _hand(t0, t1, X, Y):
    r = t0 + t1 * X - Y
    return np.mean(r), np.mean(r * X)


@pytest.mark.parametrize("backend", ["auto", "numba"])
def test_repeated_calls_go_the_fast_way_and_agree_with_the_full_path(backend):
    X, Y = np.arange(1.0, 7.0), np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])
    g = s2sad.grad(loss, argnums=(0, 1), backend=backend)
    first = g(0.5, 2.0, X, Y)
    assert g._plain is not None                       # the first call left the way open
    for t0, t1 in ((0.5, 2.0), (1.5, -0.5)):
        got = g(t0, t1, X, Y)
        assert all(type(v) is float for v in got)
        np.testing.assert_allclose(got, _hand(t0, t1, X, Y), rtol=1e-14)
    assert g(0.5, 2.0, X, Y) == first
    vg = s2sad.value_and_grad(loss, argnums=1, backend=backend)
    for _ in range(3):
        value, d1 = vg(0.5, 2.0, X, Y)
        assert value == pytest.approx(loss(0.5, 2.0, X, Y)) and d1 == pytest.approx(_hand(0.5, 2.0, X, Y)[1])


def test_other_kinds_of_arguments_take_the_full_path_and_agree():
    X, Y = np.arange(1.0, 7.0), np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])
    g = s2sad.grad(loss, argnums=(0, 1))
    want = _hand(0.5, 2.0, X, Y)
    g(0.5, 2.0, X, Y)
    np.testing.assert_allclose(g(0.5, 2.0, X.astype(np.float32), Y.astype(np.float32)), want, rtol=1e-5)
    np.testing.assert_allclose(g(0.5, 2.0, np.arange(1, 7), Y), want, rtol=1e-14)    # int data
    np.testing.assert_allclose(g(0.5, 2.0, X, Y), want, rtol=1e-14)
    got = g(np.float64(0.5), 2, X, Y)                  # an int differentiated: a float gradient
    assert type(got[1]) is float and got[1] == pytest.approx(want[1])
    ga = s2sad.grad(loss, argnums=2)
    ga(0.5, 2.0, X, Y)
    np.testing.assert_allclose(ga(0.5, 2.0, np.arange(1, 7), Y), central(loss, [0.5, 2.0, X, Y], 2), rtol=1e-6)


SCALE = 2.0


def scaled(x):
    return SCALE * np.sum(x ** 3)


def test_the_fast_way_sees_a_rebound_global():
    global SCALE
    x = np.array([1.0, 2.0])
    g = s2sad.grad(scaled)
    try:
        for _ in range(2):
            np.testing.assert_allclose(g(x), 2.0 * 3 * x ** 2)
        assert g._plain is not None
        SCALE = 5.0
        np.testing.assert_allclose(g(x), 5.0 * 3 * x ** 2)
        SCALE = 1j                    # a complex free value: the full path, which refuses a complex output
        with pytest.raises(s2sad.DifferentiationError, match="output may be complex"):
            g(x)
    finally:
        SCALE = 2.0


def inner(x):
    return x ** 2


def outer(x):
    return np.sum(inner(x))


@pytest.mark.parametrize("backend", ["auto", "numba"])
def test_the_fast_way_sees_a_helper_redefined(backend):
    x = np.array([1.0, 2.0])
    g = s2sad.grad(outer, backend=backend)
    old = globals()["inner"]
    try:
        for _ in range(2):
            np.testing.assert_allclose(g(x), 2 * x)

        def cubed(x):
            return x ** 3
        globals()["inner"] = cubed
        np.testing.assert_allclose(g(x), 3 * x ** 2)
    finally:
        globals()["inner"] = old


def softish(x):
    return np.log1p(np.exp(x))


def uses_softish(x):
    return np.sum(softish(x) * x)


def test_the_fast_way_sees_a_rule_registered_after_it():
    x = np.array([0.3, -0.2])
    g = s2sad.grad(uses_softish)
    first = g(x)
    np.testing.assert_allclose(g(x), first)
    np.testing.assert_allclose(first, central(uses_softish, [x]), rtol=1e-7)
    # a rule deliberately three times the true derivative: the next call must use it
    s2sad.defvjp(softish, lambda g_, ans, x: 3.0 * g_ / (1.0 + np.exp(-x)))
    expit = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(g(x), 3.0 * expit * x + softish(x), rtol=1e-12)


def shaped_like_x(x):
    return x * 2.0 + np.sum(x) * 0.0


def test_an_output_that_stops_being_a_scalar_is_refused_the_fast_way_too():
    g = s2sad.grad(shaped_like_x)
    assert g(np.array([1.5])) == pytest.approx([2.0])
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        g(np.array([1.0, 2.0]))


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_an_int_array_differentiated_is_converted_as_the_full_path_converts_it():
    # the gradient accumulates into an array like x: an int one would truncate
    g = s2sad.grad(rosen)
    xf = np.array([0.5, -1.5, 2.0, 1.0])
    for _ in range(2):
        g(xf)
    got = g(np.array([1, -2, 2, 1]))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, central(rosen, [np.array([1.0, -2.0, 2.0, 1.0])]), rtol=1e-7)


def first_of_cubes(x):
    return (x ** 3)[:1] * 1.0


def test_an_error_inside_the_code_the_fast_way_is_explained_as_the_full_path_explains_it():
    g = s2sad.grad(first_of_cubes)
    for _ in range(2):
        np.testing.assert_allclose(g(np.array([2.0])), [12.0])
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        g(np.array([[1.0, 2.0], [3.0, 4.0]]))


def with_aux(x, y):
    return np.sum(x * y), {"n": 3}


@pytest.mark.parametrize("transform", [s2sad.grad, s2sad.value_and_grad])
def test_aux_comes_back_on_every_call(transform):
    x, y = np.ones(3), np.arange(3.0)
    g = transform(with_aux, has_aux=True)
    first = g(x, y)
    for _ in range(2):
        again = g(x, y)
        assert type(again) is tuple and len(again) == 2
        if transform is s2sad.grad:
            np.testing.assert_array_equal(again[0], y)
            assert again[1] == {"n": 3}
        else:
            (value, aux), grads = again
            assert value == first[0][0] and aux == {"n": 3}
            np.testing.assert_array_equal(grads, y)
