"""Comprehensions over `range(n)` with n an argument (frontend/comprehensions.py): written as the loops
they stand for, then differentiated in every mode; checked against central differences."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad
from reference import central
from s2sad import DifferentiationError


def powers(x, n):
    ys = [x ** k for k in range(n)]
    return np.sum(np.stack(ys) * 0.5)


def stacked_inline(x, n):
    return np.sum(np.stack([np.sin(x) * k for k in range(1, n)], axis=1) ** 2)


def summed(w, x, n):
    k = 7.0                                  # the comprehension's k is its own
    total = sum(w[k] * x ** 2 for k in range(n))
    return np.sum(total) * k


def summed_array(x, n):
    return np.sum([np.cos(x * j) for j in range(n)])


def summed_list(x, n=3):
    return np.sum(sum([x * i for i in range(n)]) ** 2)


def helper_rows(x, n):
    return np.sum(_rows(x, n) ** 2)


def _rows(v, m):
    return np.stack([v * (i + 1.0) for i in range(m)])


def listed_then_indexed(x, n):
    ys = [x * k for k in range(n)]
    return np.sum(ys[0])


X = np.array([0.3, 0.5, 0.7])
W = np.array([1.0, 2.0, 3.0])
CASES = [(powers, (X, 3), 0), (stacked_inline, (X, 4), 0), (summed, (W, X, 3), 0), (summed, (W, X, 2), 1),
         (summed_array, (X, 3), 0), (helper_rows, (X, 3), 0), (summed_list, (X,), 0)]


@pytest.mark.parametrize("fn, args, i", CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_a_comprehension_over_an_argument_range_in_every_mode(fn, args, i):
    ref = central(fn, list(args), i)
    np.testing.assert_allclose(s2sad.grad(fn, argnums=i)(*args), ref, rtol=1e-6, atol=1e-9)
    t = np.linspace(0.5, 1.5, np.size(args[i]))
    tangents = tuple(t if k == i else None for k in range(len(args)))
    value, d = s2sad.jvp(fn, args, tangents)
    assert value == pytest.approx(fn(*args))
    assert d == pytest.approx(float(np.sum(ref * t)), rel=1e-6)
    H = s2sad.hessian(fn, argnums=i)(*args)
    for j in range(np.size(args[i])):        # each row against differences of the gradient
        row = central(lambda *a: s2sad.grad(fn, argnums=i)(*a)[j], list(args), i)
        np.testing.assert_allclose(H[j], row, rtol=1e-5, atol=1e-7)


def test_the_trip_count_is_read_at_each_call():
    g = s2sad.grad(powers)
    for n in (1, 2, 5):
        np.testing.assert_allclose(g(X, n), central(powers, [X, n], 0), rtol=1e-6, atol=1e-9)


def test_vmap_of_a_comprehension_over_an_argument_range():
    xs = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    got = s2sad.vmap(powers, in_axes=(0, None))(xs, 3)
    np.testing.assert_allclose(got, [powers(x, 3) for x in xs])
    grads = s2sad.vmap(s2sad.grad(summed, argnums=1), in_axes=(None, 0, None))(W, xs, 3)
    np.testing.assert_allclose(grads, [central(summed, [W, x, 3], 1) for x in xs], rtol=1e-6, atol=1e-9)


def test_a_list_read_otherwise_is_still_refused_with_the_line():
    with pytest.raises(DifferentiationError, match=r"test_comprehensions.py:\d+.*comprehension over values known only"):
        s2sad.grad(listed_then_indexed)(X, 3)
