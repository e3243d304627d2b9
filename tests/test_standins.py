"""Scalar stand-ins for whole cotangent arrays: an adjoint that a branch or a loop adds to starts as
0.0 (not an array of zeros), stays a number while every contribution is one, and is spread to the
argument's shape only at the end. Checked against the hand-derived gradient and central differences."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad
from reference import central

rng = np.random.default_rng(11)


def seed(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c.sum()


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
