"""The cases of "no silent wrong derivative": each was a wrong number with no error, and is now correct
(against analytic derivatives or central differences) or refused with a located DifferentiationError.
Every case runs in reverse mode, forward mode and to second order."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import numerical
from s2sad import DifferentiationError, NonDifferentiableError, UnsupportedSyntaxError
from reference import central


def mul(a, b):
    return a * b


def rebinds_its_parameter(a):
    a = mul(a, a)
    return a


def new_name_spelled_like_a_helper_parameter(a):
    b = mul(a, a)
    return b


def layer(x, w):
    return np.tanh(x * w)


def two_layers(x, w):
    x = layer(x, w)
    x = layer(x, w)
    return np.sum(x)


def row_write(x):
    h = np.zeros((2, 3))
    h[1] = x
    return np.sum(h * np.arange(6.0).reshape(2, 3))


def rows_in_a_loop(X):
    out = np.zeros_like(X)
    for i in range(X.shape[0]):
        out[i] = X[i] * 2.0
    return np.sum(out * X)


def rnn(x, W):
    H = np.zeros((3, 2))
    h = x
    for t in range(3):
        h = np.tanh(W @ h + 0.5)
        H[t] = h
    return np.sum(H ** 2)


def scale_a_row(Y):
    Y = Y * 1.0
    Y[0] *= 2
    return np.sum(Y ** 2)


def column_write(x):
    M = np.ones((3, 2))
    M[:, 1] = x
    return np.sum(np.sin(M))


def power_in_place(a, b):
    a = a ** b
    return a


def square_in_place(a):
    a = a * a
    return a


def sin_then_square(a):
    x = np.sin(a)
    x = x * x
    return x


def augmented_on_a_parameter(y, z):
    y += y
    y *= np.cos(z)
    y -= z * 0.5
    return y


def sort_weighted(x):
    return np.sum(np.sort(x) * np.arange(3))


def linspace_stop(x):
    return np.sum(np.linspace(0, x, 5) ** 2)


def full_fill(x):
    return np.sum(np.full(3, x) * np.arange(3.0))


def full_like_fill(v, x):
    return np.sum(np.full_like(v, x) ** 2)


def sorts_in_place(x):
    y = x * 1.0
    y.sort()
    return np.sum(y * np.arange(3))


def complex_intermediate(x):
    return np.sum(np.abs(x * (1 + 2j)) ** 2)


def dict_argument(d):
    return d["a"] * d["b"]


def squire_trapp(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def cast_to_int(x):
    return np.sum(np.asarray(x, dtype=np.int64) * x)


def fancy_index(x):
    return np.sum(x[np.array([0, 0, 2])] ** 3)


X3 = np.array([0.3, -1.2, 2.0])
M23 = np.array([[0.1, 0.5, -0.3], [0.7, -0.2, 0.4]])


def grad_by_all_modes(f, args, i=0):
    """(reverse, forward, reference) gradients of f w.r.t. args[i]; forward by one jvp per element."""
    rev = s2sad.grad(f, argnums=i)(*args)
    x = np.asarray(args[i], dtype=float)
    fwd = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        tangents = [np.zeros(np.shape(a)) if isinstance(a, np.ndarray) else 0.0 for a in args]
        if x.ndim:
            tangents[i][idx] = 1.0
        else:
            tangents[i] = 1.0
        _, d = s2sad.jvp(f, tuple(args), tuple(tangents))
        fwd[idx] = d
    return rev, (fwd if x.ndim else float(fwd)), central(f, args, i)


CASES = [
    (rebinds_its_parameter, (3.0,), 0),
    (new_name_spelled_like_a_helper_parameter, (3.0,), 0),
    (two_layers, (X3, 0.7), 0),
    (two_layers, (X3, 0.7), 1),
    (row_write, (X3,), 0),
    (rows_in_a_loop, (M23,), 0),
    (rnn, (np.array([0.2, -0.4]), np.array([[0.5, -0.3], [0.2, 0.8]])), 0),
    (rnn, (np.array([0.2, -0.4]), np.array([[0.5, -0.3], [0.2, 0.8]])), 1),
    (scale_a_row, (M23,), 0),
    (column_write, (X3,), 0),
    (power_in_place, (2.0, 3.0), 0),
    (power_in_place, (2.0, 3.0), 1),
    (square_in_place, (0.7,), 0),
    (sin_then_square, (0.7,), 0),
    (augmented_on_a_parameter, (0.8, 0.3), 0),
    (augmented_on_a_parameter, (0.8, 0.3), 1),
    (sort_weighted, (X3,), 0),
    (linspace_stop, (2.0,), 0),
    (full_fill, (2.0,), 0),
    (full_like_fill, (np.zeros(3), 2.0), 1),
    (cast_to_int, (np.array([0.3, 1.7, -2.2]),), 0),
    (fancy_index, (X3,), 0),
]


@pytest.mark.parametrize("f, args, i", CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_first_order_in_both_modes(f, args, i):
    rev, fwd, ref = grad_by_all_modes(f, args, i)
    np.testing.assert_allclose(rev, ref, rtol=1e-6, atol=1e-8, err_msg="reverse mode")
    np.testing.assert_allclose(fwd, ref, rtol=1e-6, atol=1e-8, err_msg="forward mode")


@pytest.mark.parametrize("f, args, i", CASES, ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_second_order(f, args, i):
    """hessian (forward over the generated gradient) against central differences of the gradient, which
    the test above checks against central differences of f."""
    H = s2sad.hessian(f, argnums=i)(*args)
    g = s2sad.grad(f, argnums=i)

    def gi(*a):
        return g(*a)

    x = np.asarray(args[i], dtype=float)
    ref = np.zeros(x.shape + x.shape)
    for idx in np.ndindex(x.shape):
        h = 1e-5 * max(1.0, abs(float(x[idx])))
        plus, minus = [list(args), list(args)]
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        plus[i] = xp if x.ndim else float(xp)
        minus[i] = xm if x.ndim else float(xm)
        ref[(Ellipsis,) + idx] = (np.asarray(gi(*plus)) - np.asarray(gi(*minus))) / (2 * h)
    np.testing.assert_allclose(H, ref, rtol=1e-5, atol=1e-7)


def test_the_numbers_the_issue_names():
    assert s2sad.grad(rebinds_its_parameter)(3.0) == 6.0
    assert s2sad.value_and_grad(rebinds_its_parameter)(3.0) == (9.0, 6.0)
    assert s2sad.jvp(rebinds_its_parameter, (3.0,), (1.0,)) == (9.0, 6.0)
    assert s2sad.grad(new_name_spelled_like_a_helper_parameter)(3.0) == 6.0
    np.testing.assert_allclose(s2sad.grad(row_write)(X3), [3.0, 4.0, 5.0])
    assert s2sad.jvp(power_in_place, (2.0, 3.0), (0.0, 1.0))[1] == pytest.approx(8 * math.log(2))
    assert s2sad.hessian(square_in_place)(0.7) == pytest.approx(2.0)
    assert s2sad.hessian(sin_then_square)(0.7) == pytest.approx(2 * math.cos(1.4))
    np.testing.assert_allclose(s2sad.grad(sort_weighted)(X3), [1.0, 0.0, 2.0])


def test_an_in_place_method_is_refused_with_the_rewrite():
    with pytest.raises(UnsupportedSyntaxError, match=r"y\.sort\(\).*write `y = np.sort\(y\)`") as e:
        s2sad.grad(sorts_in_place)(X3)
    assert "test_silent_wrong.py:" in str(e.value)


def test_complex_intermediates_are_differentiated_and_complex_arguments_refused():
    """Refused until issue 16 (analysis/complexity.py): |x (1 + 2j)|^2 = 5 x^2, so the gradient is 10 x. A
    complex argument is still refused (its convention is not built yet)."""
    np.testing.assert_allclose(s2sad.grad(complex_intermediate)(X3), 10 * X3, rtol=1e-13)
    with pytest.raises(DifferentiationError, match="complex"):
        s2sad.grad(sort_weighted)(X3 + 0j)
    with pytest.raises(DifferentiationError, match="complex"):
        s2sad.grad(mul)(2.0, 1j)


def test_a_dict_argument_gives_a_dict_gradient():
    """Refused until containers came (issue 9 of the first list); now JAX's answer: a dict of the same keys."""
    g = s2sad.grad(dict_argument)({"a": 2.0, "b": 3.0})
    assert g == {"a": 3.0, "b": 2.0} and all(type(v) is float for v in g.values())


def test_complex_step_keeps_nan_where_the_function_is_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(numerical.grad(squire_trapp, method="complex")(2.5))
        assert math.isnan(squire_trapp(2.5))
    assert numerical.grad(squire_trapp, method="complex")(1.5) == pytest.approx(4.053427893898621, rel=1e-12)


def test_np_add_at_is_refused_in_reverse_mode():
    def scatter(x):
        a = np.zeros(3)
        np.add.at(a, np.array([0, 0, 1]), x)
        return np.sum(a ** 2)

    with pytest.raises(UnsupportedSyntaxError, match="np.add.at"):
        s2sad.grad(scatter)(X3)


def scales_its_argument(y):
    y *= 2.0                      # writes into the caller's array, as NumPy does
    return np.sum(np.sin(y))


def test_a_function_that_writes_into_its_argument_does_not_move_the_point():
    """vjp, jacobian and the numerical route call the function itself: on copies, so that the derivative
    is taken where the caller asked."""
    y = np.array([0.3, -0.4])
    want = 2.0 * np.cos(2.0 * y)
    out, pullback = s2sad.vjp(scales_its_argument, y.copy())
    np.testing.assert_allclose(pullback(1.0)[0], want)
    np.testing.assert_allclose(s2sad.jacobian(scales_its_argument)(y.copy()), want)
    np.testing.assert_allclose(numerical.grad(scales_its_argument)(y.copy()), want, rtol=1e-7)
    np.testing.assert_allclose(s2sad.grad(scales_its_argument)(y.copy()), want)


def scatter_twice(x, y):
    a = x * 1.0
    a[np.array([0, 0, 1])] += y ** 2
    return np.sum(np.sin(a) * x)


def test_second_order_through_a_scatter_into_an_adjoint():
    """The gradient of x[idx] += ... adds into its adjoint with np.add.at; forward mode over that
    gradient (a Hessian) adds into the adjoint's tangent, an array of its own."""
    x, y = np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])
    H = s2sad.hessian(scatter_twice, argnums=1)(x, y)
    g = s2sad.grad(scatter_twice, argnums=1)
    ref = np.array([(g(x, y + 1e-6 * e) - g(x, y - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-8)


def counted_loop_not_needed(x, y):
    k = 0
    while x < 1.6 and k < 1:
        x += np.prod(y)
        k += 1
    return x + np.sum(y)


def test_a_loop_counter_goes_with_the_loop_that_reads_it():
    """grad w.r.t. y alone needs no reverse loop for x's `while`: its trip counter goes, the increment
    with it (the increment had stayed, reading a counter never set: UnboundLocalError)."""
    y = np.array([0.5, 0.3])
    np.testing.assert_allclose(s2sad.grad(counted_loop_not_needed, argnums=1)(0.2, y), [1.3, 1.5])
    assert s2sad.grad(counted_loop_not_needed)(0.2, y) == 1.0


# --- np.linalg.det of a stack of matrices (found while moving rule facts onto the rules) -------------
# det works over the last two axes. Its cotangent used `inv(a).T`, which reverses every axis of a stack,
# and the shapes pass took det for a full reduction, so grad of a stack's determinants (an array) was
# not refused: both gave numbers with no error.

def det_stack_squared(a):
    return np.sum(np.linalg.det(a) ** 2)


def det_only(a):
    return np.linalg.det(a)


def test_det_of_a_stack_differentiates_each_matrix():
    a = np.random.default_rng(5).normal(size=(3, 2, 2))
    np.testing.assert_allclose(s2sad.grad(det_stack_squared)(a), numerical.grad(det_stack_squared)(a), rtol=1e-6)
    t = np.random.default_rng(6).normal(size=a.shape)
    _, tangent = s2sad.jvp(det_stack_squared, (a,), (t,))
    np.testing.assert_allclose(tangent, np.sum(numerical.grad(det_stack_squared)(a) * t), rtol=1e-6)


def test_grad_of_a_stacks_determinants_is_refused_as_not_scalar():
    with pytest.raises(DifferentiationError, match="needs a scalar output"):
        s2sad.grad(det_only)(np.stack([2 * np.eye(2), np.eye(2)]))
    b = np.random.default_rng(7).normal(size=(3, 3))
    np.testing.assert_allclose(s2sad.hessian(det_only)(b), numerical.jacobian(s2sad.grad(det_only))(b), atol=1e-6)


# --- a tangent shared with an array written in place later (found by the random programs, seed 4001025) ----
# `v = z + 0.5` gives v the tangent of z itself (the same array); `z[2] = ...` afterwards wrote into it, so
# v's tangent changed while v kept its value: jvp and hessian (forward over reverse) were wrong.

def tangent_shared_then_written(y):
    z = np.zeros(3) + y
    v = +z
    w = z * 1.0
    u = z - 0.0
    z[1] = 5.0 * y[0]
    return np.sum(v * v) + np.sum(w * u) + np.sum(z)


def tangent_shared_in_a_chain(y):
    z = np.zeros(3) + y
    a = z + 0.5
    b = a + 0.25
    z[2] = y[1] ** 2
    return np.sum(b * b) + np.sum(z)


@pytest.mark.parametrize("f", [tangent_shared_then_written, tangent_shared_in_a_chain])
def test_a_tangent_is_not_shared_with_an_array_written_later(f):
    y = np.array([0.2, -0.4, 0.9])
    t = np.array([1.0, 0.5, -0.3])
    _, tangent = s2sad.jvp(f, (y,), (t,))
    assert tangent == pytest.approx(numerical.grad(f)(y) @ t, rel=1e-7)
    np.testing.assert_allclose(s2sad.hessian(f)(y), numerical.jacobian(s2sad.grad(f))(y), atol=1e-6)


def base_read_after_its_alias_is_written(x):
    t = np.tanh(x)
    v = t
    v[-2] += 1.0
    return np.sum(v)


def test_a_write_through_an_alias_is_seen_by_the_reverse_sweep_reading_the_base():
    """tanh's derivative reads t, which `v[-2] += 1` (v is t) changed: the element is put back first
    (was silently wrong; found by the random programs with containers, seed 7000146)."""
    x = np.array([0.3, 0.9, 0.5, 0.7])
    np.testing.assert_allclose(s2sad.grad(base_read_after_its_alias_is_written)(x),
                               central(base_read_after_its_alias_is_written, [x], 0), rtol=1e-7)


def max_keeps_a_zero_d_array(x):
    v = max(np.where(np.sum(x) > 0.0, np.sum(x), 0.5), 0.08)    # Python's max returns the 0-d array itself
    for _ in range(2):
        t = v
        t -= 0.1                                                  # ... which this writes into
    return v * x[0]


def test_python_max_of_a_zero_d_array_shares_it():
    """`max(a, b)` is a or b itself: `t = v; t -= 0.1` then changes v when v is a 0-d array (was a silently
    wrong value; found by the random programs, seed 5004213). Refused, with the line and the rewrite."""
    with pytest.raises(DifferentiationError, match=r"t -= \.\.\.` writes into t in place"):
        s2sad.grad(max_keeps_a_zero_d_array)(np.array([0.3, 0.4]))


def write_through_a_fresh_view_each_iteration(x):
    v1 = np.outer(x, x) + 1.0
    k = 0
    while k < 2:
        v3 = np.transpose(v1).T          # a view of v1, bound again in each iteration
        v3[2] *= 0.5                     # ... which changes v1
        v1 = v1 * np.tanh(np.stack([x, x, x]) - v1)
        k += 1
    return v1.sum()


def test_a_write_through_a_view_bound_again_in_each_iteration_is_refused():
    """The view was taken to be broken by its own rebinding at the top of the next iteration, so the write
    into v1's memory went unseen: silently wrong in every mode (found by the 10,000-program run, seed
    9004743). Refused like the same code without the loop."""
    with pytest.raises(DifferentiationError, match="writes into v3 while v1 shares its memory"):
        s2sad.grad(write_through_a_fresh_view_each_iteration)(np.array([0.3, 0.9, 0.5]))


def broadcast_tangent_then_written(x, y):
    v3 = np.arctan(np.sin(1.0 / (np.cos(x * np.array([-0.9, 1.1])) + 2.0)))
    v6 = y + v3[:, None]                  # y not differentiated: v6's tangent is v3's, broadcast
    v3[[0, 1]] = x / (x * x + 1.0)        # ... and v3's tangent is written afterwards
    return np.sum(v6)


def test_a_broadcast_tangent_is_not_a_view_of_a_tangent_written_later():
    """jvp with y's tangent None (and jacobian in forward mode, one argument at a time) gave v6 a tangent
    that was a broadcast view of v3's, which the write into v3 then changed (found by the random programs
    with containers, seed 12001125; wrong on earlier code too)."""
    x, y = 0.7, np.array([0.3, -0.2])
    want = central(broadcast_tangent_then_written, [x, y], 0)
    assert s2sad.jvp(broadcast_tangent_then_written, (x, y), (1.0, None))[1] == pytest.approx(want, rel=1e-7)
    assert s2sad.jacobian(broadcast_tangent_then_written, mode="forward")(x, y) == pytest.approx(want, rel=1e-7)


def writes_through_a_view_of_an_argument(x, X):
    v = (X[::-1])[::-1]            # X itself, by another name
    v[0] = np.sin(x)               # changes X, which the result reads; v itself is never read
    return np.mean(X ** 2)


def test_a_write_through_a_view_that_only_its_base_is_read_after_is_refused_in_forward_mode():
    # forward mode gave a zero tangent (random programs, seed 15006277): the written view looked unused,
    # the activity analysis does not follow a view's writes into its base. Refused as in reverse mode
    X = np.linspace(-1.0, 1.0, 8).reshape(2, 4)
    for call in (lambda: s2sad.jvp(writes_through_a_view_of_an_argument, (0.3, X.copy()), (1.0, None)),
                 lambda: s2sad.grad(writes_through_a_view_of_an_argument)(0.3, X.copy()),
                 lambda: s2sad.jacobian(writes_through_a_view_of_an_argument, mode="forward")(0.3, X.copy())):
        with pytest.raises(DifferentiationError, match="shares its memory"):
            call()
