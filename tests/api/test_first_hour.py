"""Issue 18, "the first hour of a new user": what a newcomer tries first works, or says what to write instead."""
import math
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import backends
from s2sad.approaches import numerical

HERE = __file__.rstrip("c")


# --- a NumPy function with a rule is differentiated as `def sin(x): return np.sin(x)` ----------------

@pytest.mark.parametrize("x", [0.3, 1.0, -2.5])
def test_third_derivative_of_np_sin_is_minus_cos(x):
    assert s2sad.grad(s2sad.grad(s2sad.grad(np.sin)))(x) == pytest.approx(-np.cos(x), rel=1e-12, abs=1e-15)


def test_library_functions_as_transformation_targets():
    x = np.array([0.2, -0.7, 1.3])
    assert s2sad.grad(np.tanh)(0.5) == pytest.approx(1 - np.tanh(0.5) ** 2, rel=1e-13)
    assert s2sad.grad(math.sin)(0.5) == pytest.approx(math.cos(0.5), rel=1e-13)
    np.testing.assert_allclose(s2sad.grad(np.sum)(x), np.ones(3))
    np.testing.assert_allclose(s2sad.grad(np.linalg.norm)(x), x / np.sqrt(np.sum(x ** 2)), rtol=1e-13)
    np.testing.assert_allclose(s2sad.jacobian(np.tanh)(x), np.diag(1 - np.tanh(x) ** 2), rtol=1e-13)
    assert s2sad.hessian(np.sin)(0.3) == pytest.approx(-np.sin(0.3), rel=1e-13)
    dy, dx = s2sad.grad(np.arctan2, argnums=(0, 1))(1.0, 2.0)
    assert (dy, dx) == pytest.approx((2 / 5, -1 / 5), rel=1e-13)
    src = s2sad.grad(np.sin).source
    assert "from <s2sad: np.sin>:1 (sin)" in src and "np.cos(x)" in src


def test_a_callable_without_source_or_rule_says_what_to_write():
    with pytest.raises(s2sad.DifferentiationError, match=r"not a Python function.*`def f\(x\): return \.\.\.`"):
        s2sad.grad(np.frompyfunc(math.sin, 1, 1))(1.0)


# --- refusals say that the construct is unsupported and what to write instead ------------------------

class Model:
    def __init__(self):
        self.w = np.ones(3)

    def loss(self, x):
        return np.sum(self.w * x)


RNG = np.random.default_rng(0)


def attribute_of_the_argument(p):          # (self.w of a bound method is a constant: tests/api/test_pytrees.py)
    return np.sum(p.w * 2.0)


def noisy(x):
    return np.sum(x * RNG.normal(size=3))


def reduce_method(x):
    return np.add.reduce(x * x)


def two_outputs(x):
    return np.sum(x), x


@pytest.mark.parametrize("fun, needles", [
    (attribute_of_the_argument, ["reading the attribute `p.w` of a differentiated value",
                                 "pass the value in as an argument"]),
    (noisy, ["`RNG.normal(size=3)` calls the method .normal() of `RNG`, which is not supported",
             "pass it in as an argument (`v = RNG.normal(size=3)`"]),
    (reduce_method, ["the ufunc method .reduce() is not supported", "`np.sum(x * x, axis=0)`"]),
    (two_outputs, ["returns a container", "has_aux=True"]),
])
def test_refusals_name_the_line_and_the_rewrite(fun, needles):
    with pytest.raises(s2sad.DifferentiationError) as info:
        s2sad.grad(fun)(np.ones(3))
    text = str(info.value)
    assert text.startswith(HERE.replace(".pyc", ".py") + ":"), text
    for needle in needles:
        assert needle in text, text


def test_has_aux_is_the_rewrite_that_works():
    grads, aux = s2sad.grad(two_outputs, has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(grads, [1.0, 1.0])
    np.testing.assert_allclose(aux, [1.0, 2.0])


# --- warnings point at the user's line -----------------------------------------------------------------

def constant(x):
    return 3.0


def kinked(x):
    return np.sum(np.abs(x))


def test_warnings_point_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s2sad.grad(constant)(1.0)
        numerical.grad(kinked, method="complex")(np.array([1.0, -2.0]))
    assert len(caught) == 2, [str(w.message) for w in caught]
    for w in caught:
        assert w.filename == HERE, (w.filename, str(w.message))


@pytest.mark.skipif(not backends.get("cupy").missing(), reason="CuPy can run here: no BackendWarning")
def test_backend_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s2sad.grad(constant, backend="cupy")
    assert [w.filename for w in caught] == [HERE]


# --- s2sad.symbolic.grad(f).expr before any call ------------------------------------------------------

def cubic_sin(x):
    return x ** 3 * np.sin(x)


def power_loop(x, y, n=3):
    for _ in range(n):
        x = x * y
    return x


def pair(x):
    return x[0] * x[1]


def _at(expr, **values):
    """A SymPy expression evaluated at named values (its symbols carry assumptions: compare numbers)."""
    return float(expr.subs({s: values[s.name] for s in expr.free_symbols}))


def test_symbolic_expr_and_source_before_a_call():
    g = s2sad.symbolic.grad(cubic_sin)
    x = 0.7
    assert _at(g.expr, x=x) == pytest.approx(3 * x ** 2 * np.sin(x) + x ** 3 * np.cos(x), rel=1e-14)
    assert "def cubic_sin_symbolic_grad(x):" in g.source
    dx, dy = s2sad.symbolic.grad(power_loop, argnums=(0, 1)).expr
    assert _at(dx, x=0.5, y=1.5) == pytest.approx(1.5 ** 3) and _at(dy, x=0.5, y=1.5) == pytest.approx(3 * 0.5 * 1.5 ** 2)


def test_symbolic_expr_of_an_array_function_asks_for_a_call_then_shows_it():
    g = s2sad.symbolic.grad(pair)
    with pytest.raises(AttributeError, match="call it once with your arguments"):
        g.expr
    np.testing.assert_allclose(g(np.array([2.0, 5.0])), [5.0, 2.0])
    assert [str(e) for e in g.expr] == ["x_1", "x_0"]


# --- the testing helpers with only a reverse rule --------------------------------------------------------

def _softplus(x):
    return np.logaddexp(x, 0.0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reverse_only(x):
    return np.sum(_softplus(x) ** 2)


s2sad.defvjp(_softplus, lambda g, ans, x: g * _sigmoid(x))


def _wrong_softplus(x):
    return np.logaddexp(x, 0.0)


def wrong_reverse_only(x):
    return np.sum(_wrong_softplus(x) ** 2)


s2sad.defvjp(_wrong_softplus, lambda g, ans, x: g * _sigmoid(x) * 1.01)


def test_check_grads_defaults_with_only_defvjp():
    x = np.array([0.3, -1.2, 2.0])
    s2sad.testing.check_grads(reverse_only, (x,))
    names = s2sad.testing.assert_equivalent(reverse_only, (x,))
    assert "automatic (reverse)" in names and "automatic (forward)" not in names
    with pytest.raises(AssertionError, match="reverse mode vs"):
        s2sad.testing.check_grads(wrong_reverse_only, (x,))
    with pytest.raises(AssertionError, match="disagree"):
        s2sad.testing.assert_equivalent(wrong_reverse_only, (x,))
    # asked for by name, the mode without a rule is an error that says which rule to register
    with pytest.raises(s2sad.NonDifferentiableError, match=r"s2sad.defjvp\(_softplus"):
        s2sad.testing.check_grads(reverse_only, (x,), modes=("forward", "reverse"))
