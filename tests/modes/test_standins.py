"""Scalar stand-ins for whole cotangent arrays: an adjoint that a branch or a loop adds to starts as
0.0 (not an array of zeros), stays a number while every contribution is one, and is spread to the
argument's shape only at the end. Checked against the hand-derived gradient and central differences."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad
from control_cases import seed
from reference import central

rng = np.random.default_rng(11)


def maybe_loop(a, n):
    b = a * 3.0
    for i in range(n):
        b = b * 0.5
    return np.sum(b)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_the_seed_keeps_its_cotangent_a_number_through_the_branch_and_the_loop(sign):
    a = sign * np.abs(rng.normal(size=3))
    g = s2sad.grad(seed)
    got = g(a)
    np.testing.assert_allclose(got, np.full(3, seed(a) / a.sum()), rtol=1e-12)   # c = k * a: k everywhere
    assert got.shape == a.shape and got.dtype == a.dtype and got.flags.writeable
    src = g.source
    assert "_rt.zeros" not in src and "b_bar = 0.0" in src and "_rt.full(a_bar, a)" in src
    assert "c_bar = 0.0" not in src              # resets nothing reads afterwards are gone


@pytest.mark.parametrize("n", [0, 1, 4])
def test_a_loop_that_may_not_run_still_gives_the_arguments_shape(n):
    a = rng.normal(size=(2, 3)).astype(np.float32)
    got = s2sad.grad(maybe_loop)(a, n)
    assert got.shape == a.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, central(maybe_loop, [a.astype(np.float64), n], 0), rtol=1e-5)


def test_the_standalone_generated_function_spreads_the_number_too():
    g = s2sad.grad(seed)
    namespace: dict = {}
    exec(compile(g.source, str(g.path), "exec"), namespace)       # the file alone, as a user would
    a = np.array([0.3, -0.1, 0.2])
    none, grad = namespace["seed_grad"](a)
    assert none is None and grad.shape == (3,)
    np.testing.assert_allclose(grad, np.full(3, seed(a) / a.sum()))


def reassigned_result(x, y):
    v0 = np.sin(x)
    v1 = np.mean(v0)              # reads v0's size in the reverse sweep ...
    v0 = np.sin(v1) * y           # ... after v0, the returned variable, became a number
    return v0


def test_a_returned_variable_assigned_again_keeps_the_shape_earlier_reads_need():
    # found by the random-program test: the shape-only read of v0 used the final, scalar v0
    x = rng.normal(size=3)
    gx, gy = s2sad.grad(reassigned_result, argnums=(0, 1))(x, 0.5)
    np.testing.assert_allclose(gx, central(reassigned_result, [x, 0.5], 0), rtol=1e-6)
    assert gy == pytest.approx(central(reassigned_result, [x, 0.5], 1), rel=1e-6)


# ------------------------------------------------------------------ 1-D arrays read element by element
def rosen_rows(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return np.sum(s)


def test_a_1d_argument_read_element_by_element_gets_code_for_scalar_elements():
    g = s2sad.grad(rosen_rows)
    x = rng.uniform(-1, 1, 12)
    np.testing.assert_allclose(g(x), central(rosen_rows, [x], 0), rtol=1e-6, atol=1e-8)
    variant = g._compiled[("numpy", ("x",))]
    assert "for 1-D x (elements are scalars)" in variant.source
    body = variant.source.split("def ", 1)[1]
    assert "tape" not in body and "_rt.unbroadcast" not in body      # nothing saved, nothing summed back
    rows = rng.uniform(-1, 1, (6, 3))                                # rows: the general code
    np.testing.assert_allclose(g(rows), central(rosen_rows, [rows], 0), rtol=1e-6, atol=1e-8)
    assert "for 1-D" not in g._compiled["numpy"].source
    xs = rng.uniform(-1, 1, 7).astype(np.float32)
    got = g(xs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, central(rosen_rows, [xs.astype(np.float64)], 0), rtol=1e-3, atol=1e-3)


def sum_of_column_sums(x):
    return np.sum(np.sum(x, axis=0) * 2.0) + np.mean(np.sum(x * x, axis=1, keepdims=True))


def test_a_sum_along_an_axis_passes_a_standin_through():
    x = rng.normal(size=(3, 4))
    g = s2sad.grad(sum_of_column_sums)
    np.testing.assert_allclose(g(x), central(sum_of_column_sums, [x], 0), rtol=1e-6)
    assert "_rt.sum_grad" not in g.source        # a number standing for the column sums' cotangent


def mean_then_element(x):
    v = np.sin(x)
    y = v[-1] * 3.0
    return np.mean(v) + y


def mean_then_elements_in_a_loop(x):
    v = np.sin(x)
    y = 0.0
    for i in range(3):
        y = y + v[i] * 0.5
    return np.mean(v) + y


@pytest.mark.parametrize("fun", [mean_then_element, mean_then_elements_in_a_loop])
def test_element_writes_into_an_adjoint_that_was_a_number_get_an_array(fun):
    # found by the random-program test: v_bar was mean's scalar stand-in, then v_bar[-1] += ...
    x = rng.normal(size=5)
    np.testing.assert_allclose(s2sad.grad(fun)(x), central(fun, [x], 0), rtol=1e-6, atol=1e-9)
    rev = s2sad.grad(fun).source.split("# reverse sweep")[1]
    assert rev.count("_rt.zeros(v) +") == 1                  # made an array once
    if "    for i in " in rev:
        assert "_rt.zeros(v)" not in rev.split("    for i in ", 1)[1]   # before the loop, not in it


def grows_from_a_number(x):
    v0 = np.sin(x)
    v2 = np.sin(np.sum(v0))       # a number ...
    for i in range(0):
        v2 = 0.5 * v2
    v2 += np.sin(v0)              # ... then an array: its earlier reads need the earlier shape
    return np.sum(v2)


def test_a_variable_whose_assignments_differ_in_shape_keeps_each_shape():
    # found by the random-program test: the reverse sweep summed v2's cotangent to the final v2's shape
    x = rng.normal(size=3)
    np.testing.assert_allclose(s2sad.grad(grows_from_a_number)(x), central(grows_from_a_number, [x], 0),
                               rtol=1e-6)
