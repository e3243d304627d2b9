"""The symbolic route and the rule table agree: every library function with a derivative rule has a
SymPy form in the symbolic route, is evaluated as it is (shapes, iteration), or is a listed gap with a
reason. A rule added without deciding fails here."""
from __future__ import annotations

import builtins
import math

import numpy as np
import pytest
import scipy.special as sc

import s2sad
from s2sad.approaches import symbolic
from s2sad.rules import RULES


def _library_object(key: str):
    parts = key.split(".")
    roots = {"np": np, "math": math}
    if parts[0] in roots:
        obj = roots[parts[0]]
        for p in parts[1:]:
            obj = getattr(obj, p, None)
        return obj
    return getattr(builtins, key, None) if len(parts) == 1 else None


LIBRARY = sorted(k for k in RULES if _library_object(k) is not None)


def test_every_rule_has_a_symbolic_form_or_a_reason():
    missing = [k for k in LIBRARY if _library_object(k) not in symbolic._TABLE
               and _library_object(k) not in symbolic._DIRECT and k not in symbolic.GAPS]
    assert not missing, f"no symbolic form and no reason in symbolic.GAPS: {missing}"


def test_no_gap_is_stale():
    assert set(symbolic.GAPS) <= set(LIBRARY)
    mapped = [k for k in symbolic.GAPS if _library_object(k) in symbolic._TABLE]
    assert not mapped, f"listed as gaps but mapped: {mapped}"


def angle_loss(x):
    return np.sum(np.sin(np.deg2rad(x)) + np.logaddexp(x, 2.0 * x))


def sorted_loss(x):
    return np.sum(np.sort(x) * np.arange(3))


def test_the_new_forms_differentiate_like_the_compiler():
    x = np.array([0.3, -1.2, 2.5])
    np.testing.assert_allclose(symbolic.grad(angle_loss)(x), s2sad.grad(angle_loss)(x), rtol=1e-12)


def test_a_gap_is_refused_with_its_reason():
    with pytest.raises(s2sad.NonDifferentiableError, match="order of the values"):
        symbolic.grad(sorted_loss)(np.array([0.3, -1.2, 2.5]))


def special_loss(x):
    return np.sum(sc.expit(x) * sc.erf(x) + sc.gammaln(x + 2.0) + sc.log_ndtr(x) + sc.logit(x / 4 + 0.5)
                  + sc.erfc(x) * sc.ndtr(x) + sc.digamma(x + 3.0) + sc.log_expit(x) + sc.erfinv(x / 4))


def test_scipy_special_functions_differentiate_like_the_compiler():
    """Each elementwise scipy.special function with a rule has a SymPy form, printed back as scipy.special's."""
    x = np.array([0.3, -1.2, 1.5])
    np.testing.assert_allclose(symbolic.grad(special_loss)(x), s2sad.grad(special_loss)(x), rtol=1e-10)
    mapped = {sc.expit, sc.log_expit, sc.logit, sc.erf, sc.erfc, sc.erfinv, sc.ndtr, sc.log_ndtr, sc.gammaln,
              sc.digamma, sc.psi}
    assert mapped <= set(symbolic._TABLE)
