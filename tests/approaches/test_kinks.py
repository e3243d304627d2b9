"""Kinks: every function with a kink takes one documented value there (docs/approaches.rst), the symbolic
route takes the same, and assert_equivalent / compare / check_grads accept a value at a kink only when it
lies between the one-sided slopes, so that a wrong value there is still reported."""
import dataclasses

import numpy as np
import pytest

import s2sad
from s2sad.approaches import numerical, symbolic
from s2sad.rules import RULES
from s2sad.testing import assert_equivalent, check_grads


def relu(x):
    return np.sum(np.maximum(x, 0.0))


def minimum(x):
    return np.sum(np.minimum(x, 1.0))


def fmax(x):
    return np.sum(np.fmax(x, 0.0))


def fmin(x):
    return np.sum(np.fmin(x, 1.0))


def absolute(x):
    return np.sum(np.abs(x))


def clip(x):
    return np.sum(np.clip(x, -1.0, 1.0))


def max_reduction(x):
    return np.max(x)


def min_reduction(x):
    return np.min(x)


def amax_rows_amin_columns(x):
    return np.sum(np.amax(x, axis=1)) + np.sum(np.amin(x, axis=0))


def hypot(x):
    return np.hypot(x[0], x[1])


def norm(x):
    return np.linalg.norm(x)


def where_relu(x):
    return np.sum(np.where(x > 0, x, 0.0))


def python_max(x):
    return max(x, 0.0)


def python_min(x):
    return min(x, 0.0)


# The conventions, from the table in docs/approaches.rst: a definition, so written out by hand here
# (the function, the point, the gradient s2sad takes there).
CONVENTIONS = [
    ("maximum tie: 0.5", relu, np.array([0.0, 1.0, -1.0]), [0.5, 1.0, 0.0]),
    ("minimum tie: 0.5", minimum, np.array([1.0, 0.0, 2.0]), [0.5, 1.0, 0.0]),
    ("fmax tie: 0.5", fmax, np.array([0.0, 1.0]), [0.5, 1.0]),
    ("fmin tie: 0.5", fmin, np.array([1.0, 2.0]), [0.5, 0.0]),
    ("abs'(0) = 0", absolute, np.array([0.0, 2.0, -3.0]), [0.0, 1.0, -1.0]),
    ("clip at a bound: 1", clip, np.array([1.0, -1.0, 0.3, 2.0]), [1.0, 1.0, 1.0, 0.0]),
    ("max, 2 tied: 1/2 each", max_reduction, np.array([2.0, 2.0, 1.0]), [0.5, 0.5, 0.0]),
    ("max, 3 tied: 1/3 each", max_reduction, np.array([2.0, 2.0, 2.0]), [1 / 3, 1 / 3, 1 / 3]),
    ("min, 2 tied: 1/2 each", min_reduction, np.array([1.0, 1.0, 3.0]), [0.5, 0.5, 0.0]),
    ("amax/amin along an axis", amax_rows_amin_columns, np.array([[1.0, 1.0], [0.0, 2.0]]),
     [[0.5, 1.5], [1.0, 1.0]]),
    ("hypot at the origin: 0", hypot, np.zeros(2), [0.0, 0.0]),
    ("norm at 0: 0", norm, np.zeros(3), [0.0, 0.0, 0.0]),
    ("Frobenius norm at 0: 0", norm, np.zeros((2, 2)), [[0.0, 0.0], [0.0, 0.0]]),
    ("where follows its condition", where_relu, np.array([0.0, 1.0]), [0.0, 1.0]),
    ("Python max tie: 0.5", python_max, 0.0, 0.5),
    ("Python min tie: 0.5", python_min, 0.0, 0.5),
]
IDS = [c[0] for c in CONVENTIONS]


def one_sided(fun, x, h=1e-6):
    """Plain backward and forward differences of a scalar `fun` at each element of `x` (not s2sad's)."""
    x = np.asarray(x, dtype=np.float64)
    left, right = np.empty(x.shape), np.empty(x.shape)
    f0 = fun(x if x.ndim else float(x))
    for idx in np.ndindex(x.shape):
        for sign, out in ((-1.0, left), (1.0, right)):
            xs = x.copy()
            xs[idx] += sign * h
            out[idx] = sign * (fun(xs if x.ndim else float(xs)) - f0) / h
    return left, right


@pytest.mark.parametrize("name, fun, x, expected", CONVENTIONS, ids=IDS)
def test_the_compiler_takes_the_documented_value(name, fun, x, expected):
    assert np.asarray(s2sad.grad(fun)(x)) == pytest.approx(np.asarray(expected), abs=1e-15)
    forward = s2sad.jacobian(fun, mode="forward")(x)
    assert np.reshape(forward, np.shape(expected)) == pytest.approx(np.asarray(expected), abs=1e-15)


@pytest.mark.parametrize("name, fun, x, expected", CONVENTIONS, ids=IDS)
def test_the_documented_value_lies_between_the_one_sided_slopes(name, fun, x, expected):
    left, right = one_sided(fun, x)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    assert np.all((lo - 1e-5 <= expected) & (np.asarray(expected) <= hi + 1e-5))
    assert np.any(np.abs(right - left) > 0.1)                # and the point is a kink


@pytest.mark.parametrize("name, fun, x, expected", CONVENTIONS, ids=IDS)
def test_symbolic_takes_the_same_value(name, fun, x, expected):
    assert np.asarray(symbolic.grad(fun)(x)) == pytest.approx(np.asarray(expected), abs=1e-15)


@pytest.mark.parametrize("name, fun, x, expected", CONVENTIONS, ids=IDS)
def test_assert_equivalent_agrees_at_the_kink(name, fun, x, expected):
    compared = assert_equivalent(fun, (x,))
    assert "symbolic" in compared and any(c.startswith("numerical") for c in compared)
    assert all(line.endswith(": within") for line in compared.kinks), compared.kinks
    check_grads(fun, (x,))


@pytest.mark.parametrize("name, fun, x, expected", CONVENTIONS, ids=IDS)
def test_compare_agrees_at_the_kink(name, fun, x, expected):
    r = s2sad.compare(fun, x, timing=False)
    assert r.reference == "symbolic"
    for row in r.rows:
        if row["error"] is not None:          # np.hypot takes no complex argument
            assert row["approach"] == "numerical (complex step)", row
            continue
        assert row["abs_error"] <= 1e-6, (row["approach"], row["gradient"], str(r))
    for approach in ("automatic (reverse)", "automatic (forward)", "symbolic"):
        assert np.asarray(r.row(approach)["gradient"]) == pytest.approx(np.asarray(expected), abs=1e-15)
    assert all(line.endswith(": within") for line in r.kinks), r.kinks
    assert all(line in str(r) for line in r.kinks)


def test_the_report_names_the_kink_and_the_values():
    x = np.array([0.0, 1.0, -1.0])
    (line,) = assert_equivalent(relu, (x,)).kinks
    assert line.startswith("x[0]: a kink at the point, one-sided slopes 0 and 1; automatic (reverse) 0.5, "
                           "automatic (forward) 0.5, symbolic 0.5, numerical ")
    assert line.endswith(": within")
    (line,) = s2sad.compare(relu, x, timing=False).kinks
    assert line.startswith("x[0]: a kink at the point, one-sided slopes 0 and 1; automatic (reverse) 0.5, ")
    assert "numerical (forward) 1, numerical (central) 0.5" in line and line.endswith(": within")
    assert assert_equivalent(relu, (np.array([-1.0, 2.0]),)).kinks == []          # no kink, no line


def test_sqrt_at_0_is_infinite():
    with np.errstate(divide="ignore"):
        assert s2sad.grad(lambda x: np.sqrt(x))(0.0) == np.inf


# --- a wrong value at a kink is still reported -----------------------------------------------------

def _tie_rule(monkeypatch, share):
    """np.maximum's rule with `share` of the cotangent to each side of a tie (0.5 is right)."""
    monkeypatch.setitem(RULES, "np.maximum", dataclasses.replace(RULES["np.maximum"], reverse={
        "x": f"g * ((x > y) + {share} * (x == y))", "y": f"g * ((y > x) + {share} * (x == y))"}))


# one function per wrong rule, used nowhere else: its derivative is compiled with that rule in place
def relu_share_2(x):
    return np.sum(np.maximum(x, 0.0))


def relu_share_1001(x):
    return np.sum(np.maximum(x, 0.0))


def relu_share_minus(x):
    return np.sum(np.maximum(x, 0.0))


@pytest.mark.parametrize("share, relu_outside", [(2.0, relu_share_2), (1.001, relu_share_1001),
                                                 (-0.01, relu_share_minus)])
def test_a_value_outside_the_one_sided_slopes_fails(monkeypatch, share, relu_outside):
    _tie_rule(monkeypatch, share)
    x = np.array([0.0, 1.0])
    with pytest.raises(AssertionError) as info:
        assert_equivalent(relu_outside, (x,))
    msg = str(info.value)
    assert f"x[0]: a kink at the point, one-sided slopes 0 and 1; automatic (reverse) {share:g}" in msg
    assert "automatic (reverse) vs numerical" in msg and "automatic (reverse), automatic (forward) outside" in msg
    with pytest.raises(AssertionError, match=r"one-sided slopes 0 and 1; .*reverse mode outside"):
        check_grads(relu_outside, (x,))             # no symbolic route: the slopes alone catch it
    r = s2sad.compare(relu_outside, x, timing=False)
    assert r.row("automatic (reverse)")["abs_error"] == pytest.approx(abs(share - 0.5))
    (line,) = r.kinks
    assert line.endswith("automatic (reverse), automatic (forward) outside")


def test_exact_approaches_must_still_agree_at_a_kink(monkeypatch):
    def relu_one(x):
        return np.sum(np.maximum(x, 0.0))

    _tie_rule(monkeypatch, 1.0)        # between the slopes, but not the convention symbolic takes
    x = np.array([0.0, 1.0])
    with pytest.raises(AssertionError) as info:
        assert_equivalent(relu_one, (x,))
    msg = str(info.value)
    assert "automatic (reverse) vs symbolic" in msg
    assert "automatic (reverse) vs numerical" not in msg and "symbolic vs numerical" not in msg
    check_grads(relu_one, (x,))        # against finite differences alone, any value between the slopes agrees


def test_a_wrong_custom_rule_at_a_kink_fails():
    def my_relu(x):
        return np.maximum(x, 0.0)

    def loss(x):
        return np.sum(my_relu(x))

    s2sad.defvjp(my_relu, lambda g, ans, x: g * ((x > 0) + 2.0 * (x == 0)))
    x = np.array([0.0, 1.0])
    with pytest.raises(AssertionError, match=r"automatic \(reverse\) 2, symbolic 0.5, .*automatic \(reverse\) outside"):
        assert_equivalent(loss, (x,))
    with pytest.raises(AssertionError, match="outside"):
        check_grads(loss, (x,), modes="reverse")


# --- finding kinks ---------------------------------------------------------------------------------

def test_kinks_are_found_only_where_the_one_sided_slopes_differ():
    def f(x):
        return np.maximum(x[0], 0.0) + np.exp(10.0 * x[1]) + np.floor(x[2]) + np.abs(x[3] - 1.0) * 3.0

    kinks = numerical.Kinks(f, (np.array([0.0, 1.0, 0.0, 1.0]),))
    k = kinks.at(0, 0)
    assert (k.left, k.right) == pytest.approx((0.0, 1.0), abs=1e-5)    # f is 2e4 here: rounding
    assert kinks.at(0, 1) is None                  # smooth, however curved
    assert kinks.at(0, 2) is None                  # a jump is not a kink: no slope bounds it
    k = kinks.at(0, 3)
    assert (k.left, k.right) == pytest.approx((-3.0, 3.0)) and k.contains(0.0) and not k.contains(3.1)
    assert str(k) == "one-sided slopes -3 and 3"
    assert kinks.at(0, 0, out_index=1) is None     # no such output element


def test_a_point_near_a_kink_is_not_at_it():
    def relu_near(x):
        return np.sum(np.maximum(x, 0.0))

    x = np.array([1e-6, -1e-6])
    assert numerical.Kinks(relu_near, (x,)).at(0, 0) is None
    assert numerical.Kinks(relu_near, (x,)).at(0, 1) is None
    # central differences straddle the kink and are off; nothing excuses that here (as before kinks were
    # checked): the point is not at the kink
    with pytest.raises(AssertionError) as info:
        assert_equivalent(relu_near, (x,))
    assert "kink" not in str(info.value)
