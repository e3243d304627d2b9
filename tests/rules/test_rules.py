"""Every differentiable rule of the rules table, alone, against an independent reference.

The cases live in rule_cases.py (s2sad needs their source). Each case is compared against complex
step when the function is complex-safe and against central differences otherwise, both in float64.
A meta-test checks that every differentiable Rule object has a case, and that each case really
applies the rules it claims to (read from the normalized core language).
"""
from __future__ import annotations

import ast
import math
import warnings
import zlib

import numpy as np
import pytest

import s2sad
from s2sad.ir.prim import primitive, walk_stmts
from s2sad.frontend.source import load
from s2sad.frontend.normalize import normalize
from s2sad.rules import RULES

import rule_cases as rc
from reference import central, complex_step

CS_TOL = dict(rtol=1e-9, atol=1e-11)
CENTRAL_TOL = dict(rtol=1e-5, atol=1e-7)


class _Probe:
    """Stands in for the weight `w` once, to learn the shape of what it multiplies."""

    shape = None

    def __mul__(self, other):
        self.shape = np.shape(other)
        return 0.0

    __rmul__ = __mul__


def weights(case: rc.Case):
    probe = _Probe()
    case.fn(*case.args, probe)
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    if probe.shape == ():
        return float(rng.uniform(0.5, 1.5))
    return rng.uniform(-1.5, 1.5, size=probe.shape)


def check_gradient(fn, args, diff, cs):
    """s2sad's gradient of fn w.r.t. args[diff] against complex step (cs) or central differences."""
    got = s2sad.grad(fn, argnums=tuple(diff))(*args)
    assert isinstance(got, tuple) and len(got) == len(diff)
    for g, i in zip(got, diff):
        x = args[i]
        if type(x) is float:
            assert type(g) is float, f"gradient of a Python float should be a float, got {type(g)}"
        else:
            assert isinstance(g, np.ndarray) and g.shape == x.shape and g.dtype == np.float64, (type(g), np.shape(g))
        if cs:
            np.testing.assert_allclose(g, complex_step(fn, args, i), **CS_TOL, err_msg=f"argument {i}")
        else:
            np.testing.assert_allclose(g, central(fn, args, i), **CENTRAL_TOL, err_msg=f"argument {i}")


@pytest.mark.parametrize("case", rc.CASES, ids=[c.id for c in rc.CASES])
def test_rule(case):
    args = list(case.args) + [weights(case)]
    check_gradient(case.fn, args, case.diff, case.cs)


def test_single_argnum_returns_bare_gradient():
    x = rc.val("m")
    w = weights(rc.Case("bare", rc.np_sin, (x,), (0,), ()))
    g = s2sad.grad(rc.np_sin)(x, w)
    np.testing.assert_allclose(g, w * np.cos(x), rtol=1e-14)


# --- coverage of the rules table -----------------------------------------------------------------
def _applied_rules(fn) -> set[int]:
    """Rule objects the normalized (core language) form of `fn` applies."""
    core = normalize(load(fn))
    out = set()
    for s in walk_stmts(core.body):
        if isinstance(s, ast.Assign):
            rule = primitive(s.value).rule
            if rule is not None:
                out.add(id(rule))
    return out


def test_cases_apply_the_rules_they_name():
    cache: dict = {}
    wrong = []
    for case in rc.CASES:
        if case.fn not in cache:
            cache[case.fn] = _applied_rules(case.fn)
        for key in case.keys:
            assert key in RULES, f"{case.id}: no rule {key!r}"
            if id(RULES[key]) not in cache[case.fn]:
                wrong.append((case.id, key))
    assert not wrong, f"cases that do not apply the rule they name: {wrong}"


def test_every_differentiable_rule_has_a_case():
    """Rules of the user-facing primitives. The `_rt.*` rules (s2sad's own runtime helpers, met when
    generated code is differentiated again) are covered by test_higher_order.py."""
    wanted = {id(r): r.key for r in RULES.values() if r.differentiable and not r.key.startswith("_rt.")}
    covered = {id(RULES[k]) for case in rc.CASES for k in case.keys}
    missing = sorted(key for i, key in wanted.items() if i not in covered)
    assert not missing, f"differentiable rules without a case in tests/rule_cases.py: {missing}"


def test_every_alias_is_spelled_by_a_case():
    """Aliases share their target's Rule, but each spelling must still resolve to it."""
    named = {k for case in rc.CASES for k in case.keys}
    aliases = {k for k, r in RULES.items() if r.differentiable and r.key != k}
    assert aliases - named == set()


# --- documented subgradients and edge behaviour --------------------------------------------------
def test_abs_at_zero_is_zero():
    g = s2sad.grad(rc.e_abs)(np.array([0.0, 1.5, -2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, -1.0])
    assert s2sad.grad(rc.e_builtin_abs)(0.0) == 0.0
    assert s2sad.grad(rc.e_builtin_abs)(-3.0) == -1.0
    assert s2sad.grad(rc.e_fabs)(0.0) == 0.0
    assert s2sad.grad(rc.e_fabs)(-3.0) == -1.0


def test_maximum_minimum_ties_split_evenly():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 5.0, 0.0])
    gx, gy = s2sad.grad(rc.e_maximum, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])
    gx, gy = s2sad.grad(rc.e_minimum, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0, 1.0])
    # builtin max/min of two values are np.maximum/np.minimum
    assert s2sad.grad(rc.builtin_max2, argnums=(0, 1))(2.0, 2.0, 1.0) == (0.5, 0.5)
    assert s2sad.grad(rc.builtin_min2, argnums=(0, 1))(2.0, 2.0, 1.0) == (0.5, 0.5)


def test_max_reduction_ties_share_equally():
    g = s2sad.grad(rc.e_max)(np.array([3.0, 1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [1 / 3, 0.0, 1 / 3, 1 / 3], rtol=1e-15)


def test_norm_at_zero_is_zero():
    np.testing.assert_array_equal(s2sad.grad(rc.e_norm)(np.zeros(3)), np.zeros(3))


def test_clip_at_the_bounds_passes_the_cotangent():
    """At a bound the cotangent goes to `a` (inside counts the bounds), none to the bound."""
    g = s2sad.grad(rc.e_clip)(np.array([-1.0, 0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0, 0.0])


def test_sqrt_at_zero_is_inf():
    """d sqrt(x)/dx at 0 is +inf (NumPy's division by zero; it warns)."""
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        g = s2sad.grad(rc.e_sqrt)(np.array([0.0, 4.0]))
    assert g[0] == np.inf and g[1] == 0.25


def test_math_sqrt_at_zero_is_inf():
    """Like np.sqrt: +inf, not a ZeroDivisionError from Python float division."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = s2sad.grad(rc.e_math_sqrt)(0.0)
    assert g == math.inf


def test_where_guarding_sqrt_at_zero_is_nan():
    """The "where trap" (as in JAX and autograd): the untaken branch's derivative is still computed,
    0 * inf = nan. Guard the argument too (e_where_sqrt_safe) to get 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = s2sad.grad(rc.e_where_sqrt)(np.array([0.0, 4.0]))
    assert np.isnan(g[0]) and g[1] == 0.25
    g = s2sad.grad(rc.e_where_sqrt_safe)(np.array([0.0, 4.0, -1.0]))
    np.testing.assert_array_equal(g, [0.0, 0.25, 0.0])


def test_square_by_pow_at_zero():
    np.testing.assert_array_equal(s2sad.grad(rc.e_pow_zero)(np.array([0.0, -1.0])), [0.0, -2.0])
