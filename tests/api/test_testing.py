"""s2sad.testing: check_grads and assert_equivalent pass on right derivatives and fail, readably, on wrong ones."""
import dataclasses
import re

import numpy as np
import pytest

import s2sad
from s2sad.rules import RULES
from s2sad.testing import assert_equivalent, check_grads


def poly(x):
    return 3 * x ** 2 - 4 * x


def weighted(x, y):
    return np.sum(np.sin(x) * y ** 2)


def logistic(l, n):
    for _ in range(n):
        l = 4 * l * (1 - l)
    return l


def elementwise(x):
    return np.tanh(x) * 2.0


def smooth(x):
    return np.sin(x) * x ** 3


def kinked(x):
    return np.sum(np.maximum(x, 0.0) * x)


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def detached(x):
    # s2sad differentiates only the first factor; finite differences see x[1] * x[1] ... all of it
    return x[0] * s2sad.stop_gradient(x[1]) + np.sum(x * s2sad.stop_gradient(x))


# --- passing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fun, args", [
    (poly, (1.0,)),
    (weighted, (np.array([0.5, 1.0, -2.0]), np.array([2.0, 3.0, 0.5]))),
    (logistic, (0.3, 5)),                        # the int loop count stays fixed
    (elementwise, (np.array([[0.1, -0.4], [1.5, 2.0]]),)),   # non-scalar output: full Jacobian
    (kinked, (np.array([-1.0, 0.5, 2.0]),)),     # not complex-safe: central differences
    (newton_sqrt, (2.0,)),
])
def test_check_grads_passes_on_right_derivatives(fun, args):
    check_grads(fun, args)
    check_grads(fun, args, modes=("reverse",))


@pytest.mark.parametrize("fun, args, order", [
    (poly, (1.0,), 2), (weighted, (np.array([0.5, 1.0]), np.array([2.0, 3.0])), 2), (logistic, (0.3, 4), 2),
    (smooth, (0.7,), 3),
])
def test_check_grads_higher_order(fun, args, order):
    check_grads(fun, args, order=order)


def test_check_grads_single_argument_and_float32():
    check_grads(poly, 2.5)                                            # not a tuple: one argument
    check_grads(weighted, (np.array([0.5, 1.0], dtype=np.float32), np.array([2.0, 3.0], dtype=np.float32)))


def test_check_grads_argnums_and_bad_options():
    check_grads(weighted, (np.array([0.5, 1.0]), np.array([2.0, 3.0])), argnums=1)
    with pytest.raises(ValueError, match="modes"):
        check_grads(poly, (1.0,), modes=("sideways",))
    with pytest.raises(ValueError, match="order"):
        check_grads(poly, (1.0,), order=0)
    with pytest.raises(ValueError, match="no float argument"):
        check_grads(poly, (3,))
    with pytest.raises(ValueError, match="scalar output"):
        check_grads(elementwise, (np.array([0.1, 0.2]),), order=2)


def test_assert_equivalent_passes_and_names_the_approaches():
    assert assert_equivalent(weighted, (np.array([0.5, 1.0]), np.array([2.0, 3.0]))) == [
        "automatic (reverse)", "automatic (forward)", "symbolic", "numerical (complex step)"]
    assert assert_equivalent(logistic, (0.3, 6))[2] == "symbolic"
    # symbolic cannot unroll a data-dependent while loop, np.maximum is not complex-safe
    assert assert_equivalent(newton_sqrt, (2.0,)) == [
        "automatic (reverse)", "automatic (forward)", "numerical (central differences)"]
    assert "symbolic" in assert_equivalent(kinked, (np.array([-1.0, 0.5, 2.0]),))
    assert "symbolic" not in assert_equivalent(elementwise, (np.array([0.1, 0.2]),))


# --- failing, readably -----------------------------------------------------------------------------

def test_check_grads_reports_element_values_and_approaches():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError) as info:
        check_grads(detached, (x,))
    msg = str(info.value)
    # by hand: s2sad gives [x2 + x1, x1, x2] = [3, 2, 3]; the true gradient is [x2 + 2 x1, x1 + 2 x2, 2 x3]
    assert "forward mode vs complex step" in msg and "reverse mode vs complex step" in msg
    assert "3 of 3 element(s) differ" in msg
    row = re.search(r"^\s*x\[1\]\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", msg, re.M)
    assert row, msg
    assert [float(v) for v in row.groups()] == [2.0, 5.0, 3.0, 0.6]
    assert msg.index("x[1]") < msg.index("x[0]")            # the worst elements first
    with pytest.raises(AssertionError, match="reverse mode") as info:
        check_grads(detached, (x,), modes=("reverse",))
    assert "forward mode" not in str(info.value)


def test_check_grads_catches_a_wrong_rule(monkeypatch):
    def uses_sinh_only_here(x):
        return np.sum(np.sinh(x) * 3.0)

    wrong = dataclasses.replace(RULES["np.sinh"], reverse={"x": "g * np.sinh(x)"})   # should be cosh
    monkeypatch.setitem(RULES, "np.sinh", wrong)
    x = np.array([0.25, -1.0])
    with pytest.raises(AssertionError) as info:
        check_grads(uses_sinh_only_here, (x,))
    msg = str(info.value)
    assert "d/dx of uses_sinh_only_here (order 1)" in msg
    assert f"{3 * np.sinh(-1.0):.17g}" in msg and f"{3 * np.cosh(-1.0):.17g}" in msg


def test_check_grads_catches_a_wrong_second_derivative(monkeypatch):
    def second_order_only_here(x):
        return np.sin(x) * 2.0

    check_grads(second_order_only_here, (0.4,))
    # the gradient 2 cos(x) is right; its derivative goes through np.cos's rule, made wrong here
    monkeypatch.setitem(RULES, "np.cos", dataclasses.replace(RULES["np.cos"], reverse={"x": "g * np.sin(x)"}))
    check_grads(second_order_only_here, (0.4,), order=1)
    with pytest.raises(AssertionError, match=r"order 2\), forward over reverse vs complex step"):
        check_grads(second_order_only_here, (0.4,), order=2)


@pytest.mark.skipif(not hasattr(s2sad, "defvjp"), reason="s2sad.defvjp is not implemented yet")
def test_check_grads_catches_a_wrong_custom_rule():
    def cube_with_rule(x):
        return x * x * x

    def uses_it(x):
        return cube_with_rule(x) + x

    s2sad.defvjp(cube_with_rule, lambda g, ans, x: g * 2 * x * x)    # wrong: 3 x^2
    with pytest.raises(AssertionError, match="reverse mode"):
        check_grads(uses_it, (1.5,), modes=("reverse",))


def test_assert_equivalent_says_which_approaches_disagree():
    with pytest.raises(AssertionError) as info:
        assert_equivalent(detached, (np.array([1.0, 2.0, 3.0]),))
    msg = str(info.value)
    assert "automatic (reverse) vs numerical (complex step)" in msg
    assert "automatic (reverse) vs automatic (forward)" not in msg
    assert "automatic (reverse) vs symbolic" not in msg           # symbolic honours stop_gradient too
    assert msg.rstrip().endswith("groups that agree: [automatic (reverse), automatic (forward), symbolic] "
                                 "vs [numerical (complex step)]")


def test_assert_equivalent_finds_the_odd_one_out(monkeypatch):
    def uses_arctan_only_here(x):
        return np.arctan(x) * 2.0

    monkeypatch.setitem(RULES, "np.arctan", dataclasses.replace(RULES["np.arctan"],
                                                                reverse={"x": "g / (1 + x * x) ** 2"}))
    with pytest.raises(AssertionError) as info:
        assert_equivalent(uses_arctan_only_here, (0.5,))
    msg = str(info.value)
    assert "symbolic vs numerical" not in msg
    assert "groups that agree: [automatic (reverse), automatic (forward)] vs [symbolic, numerical " in msg
    assert f"{2 / 1.25 ** 2:.17g}" in msg and f"{2 / 1.25:.17g}" in msg
