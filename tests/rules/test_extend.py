"""s2sad.extend: a rule for a NumPy function s2sad does not know is one row, takes effect at once, and
is part of the cache key (changing it regenerates what the old rule made)."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad import extend, numerical
from s2sad.rules import table


def log2_loss(x):
    return np.sum(np.logaddexp2(x, 0.5) ** 2)


@pytest.fixture
def log2_rule():
    """np.logaddexp2 without s2sad's own rule for the test (as a function s2sad does not know), the
    built-in rule put back after it."""
    builtin = table.RULES.pop("np.logaddexp2", None)
    table._FLAGGED.clear()
    table.STATE["version"] += 1       # lookups built with the rule rebuild
    yield
    table.RULES.pop("np.logaddexp2", None)
    table._ADDED.pop("np.logaddexp2", None)
    if builtin is not None:
        table.RULES["np.logaddexp2"] = builtin
    table._FLAGGED.clear()
    table.STATE["version"] += 1
    table.changed()                   # code made with the test's rules is dropped


def test_a_new_rule_takes_effect_and_is_refused_without_it(log2_rule):
    x = np.array([0.3, -1.2, 2.5])
    with pytest.raises(s2sad.NonDifferentiableError, match="np.logaddexp2"):
        s2sad.grad(log2_loss)(x)
    extend.rule("np.logaddexp2", "x, y", x="g * np.exp2(x - ans)", y="g * np.exp2(y - ans)", elementwise=True)
    np.testing.assert_allclose(s2sad.grad(log2_loss)(x), numerical.grad(log2_loss)(x), rtol=1e-7)
    _, tangent = s2sad.jvp(log2_loss, (x,), (np.ones(3),))
    assert tangent == pytest.approx(np.sum(numerical.grad(log2_loss)(x)), rel=1e-7)


def test_changing_a_rule_regenerates_the_code(log2_rule):
    x = np.array([0.3, -1.2])
    extend.rule("np.logaddexp2", "x, y", x="g * 0.0", y="g * 0.0", elementwise=True)        # a wrong rule, on purpose
    g = s2sad.grad(log2_loss)
    assert np.all(g(x) == 0.0) and np.all(g(x) == 0.0)
    extend.rule("np.logaddexp2", "x, y", x="g * np.exp2(x - ans)", y="g * np.exp2(y - ans)", elementwise=True)
    np.testing.assert_allclose(g(x), numerical.grad(log2_loss)(x), rtol=1e-7)          # the same object
    np.testing.assert_allclose(s2sad.grad(log2_loss)(x), numerical.grad(log2_loss)(x), rtol=1e-7)


def log2_of_float(x):
    return np.logaddexp2(x, 0.5) * 1.0


def test_changing_a_rule_drops_the_fast_float_entry_too(log2_rule):
    extend.rule("np.logaddexp2", "x, y", x="g * 0.0", y="g * 0.0", elementwise=True)        # a wrong rule, on purpose
    g = s2sad.grad(log2_of_float)
    assert g(0.3) == 0.0 and g(0.3) == 0.0 and g(0.3) == 0.0     # the second float call builds the entry
    extend.rule("np.logaddexp2", "x, y", x="g * np.exp2(x - ans)", y="g * np.exp2(y - ans)", elementwise=True)
    assert g(0.3) == pytest.approx(numerical.grad(log2_of_float)(0.3), rel=1e-7)


def test_the_extend_surface_is_what_the_docs_say():
    assert set(extend.__all__) == {"rule", "nondiff", "alias", "defvjp", "defjvp", "Backend", "register_backend"}
    assert s2sad.extend is extend
