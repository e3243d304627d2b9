"""What the rules of the second batch of NumPy functions refuse, each with a NonDifferentiableError (or an
UnsupportedSyntaxError) that names the user's line, in reverse and in forward mode. Their derivatives are
checked against finite differences through the cases in rule_cases.py."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import s2sad

A = np.array([0.1, 0.5, 0.2])
KNOTS = np.array([0.0, 0.4, 1.0])


def interp_in_xp(x, k):
    return np.sum(np.interp(0.3, k, x * 2.0))


def quantile_in_q(x):
    y = np.sin(x)
    return np.quantile(y, np.mean(y) ** 2)


def einsum_interleaved(a, b):
    return np.sum(np.einsum(a, [0, 1], b, [1]))


def einsum_seven(a):
    return np.sum(np.einsum("i,i,i,i,i,i,i->i", a, a, a, a, a, a, np.ones(3)))


def einsum_eight(a):
    return np.sum(np.einsum("i,i,i,i,i,i,i,i->i", a, a, a, a, a, a, a, a))


def einsum_view(a):
    return np.sum(np.einsum("ij->ji", a) * np.arange(9.0).reshape(3, 3))


def einsum_diagonal_view(a):
    return np.sum(np.einsum("ii->i", a) * np.arange(3.0))


def pad_mean(a):
    return np.sum(np.pad(a, 2, mode="mean"))


def quantile_nearest(a):
    return np.quantile(a, 0.3, method="nearest")


def median_in_place(a):
    b = a * 1.0
    return np.median(b, overwrite_input=True)


REFUSED = [(median_in_place, (A,), (0,), "overwrite_input=True"),
           (interp_in_xp, (A, KNOTS), (0, 1), "np.interp in xp"),
           (quantile_in_q, (A,), (0,), "np.quantile in q"),
           (einsum_interleaved, (np.outer(A, A), A), (0, 1), "interleaved form"),
           (einsum_seven, (A,), (0,), "more than six operands"),
           (einsum_eight, (A,), (0,), "more than six operands"),
           (einsum_view, (np.outer(A, A),), (0,), "returns a view"),
           (einsum_diagonal_view, (np.outer(A, A),), (0,), "returns a view"),
           (pad_mean, (A,), (0,), "mode='mean'"),
           (quantile_nearest, (A,), (0,), "method='nearest'")]


@pytest.mark.parametrize("fn, args, argnums, what", REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_refused_in_reverse_and_forward_mode_naming_the_line(fn, args, argnums, what):
    last = fn.__code__.co_firstlineno + len(inspect.getsource(fn).splitlines()) - 1
    where = f"test_numpy_breadth.py:{last}: return "           # the user's file, line and source
    with pytest.raises(s2sad.NonDifferentiableError) as caught:
        s2sad.grad(fn, argnums=argnums)(*args)
    assert where in str(caught.value) and what in str(caught.value)
    with pytest.raises(s2sad.NonDifferentiableError) as caught:
        s2sad.jvp(fn, args, tuple(np.ones_like(a) for a in args))
    assert where in str(caught.value) and what in str(caught.value)


def pad_odd(a):
    return np.sum(np.pad(a, 2, mode="reflect", reflect_type="odd"))


def einsum_nine(a):
    return np.sum(np.einsum("i,i,i,i,i,i,i,i,i->i", a, a, a, a, a, a, a, a, a))


def test_arguments_the_rules_do_not_take_are_refused_when_transformed():
    with pytest.raises(s2sad.NonDifferentiableError, match="reflect_type"):
        s2sad.grad(pad_odd)(A)
    with pytest.raises(s2sad.UnsupportedSyntaxError, match="too many arguments"):
        s2sad.grad(einsum_nine)(A)


def split_twice(x):
    parts = np.split(x, 2)
    return np.sum(np.concatenate(parts) ** 2) + np.sum(np.stack(parts) ** 3) + np.sum(np.vstack(parts) * x[0])


def test_the_cotangents_of_a_list_of_parts_add_item_by_item():
    """Two uses of a whole list of parts give two lists of cotangents: added item by item (a plain list's
    `+` would join them, and the gradient would read the wrong items)."""
    x = np.array([0.3, -1.2, 0.7, 2.0])
    h = 1e-6
    fd = [(split_twice(x + h * e) - split_twice(x - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(s2sad.grad(split_twice)(x), fd, rtol=1e-6)
