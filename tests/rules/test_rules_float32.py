"""Every rule case again in float32: the differentiated arrays (and the weight) made float32, the
gradient comes back float32, and it agrees with central differences of the same function evaluated in
float64 at the float32 point, to float32's precision: a rule that loses precision float32 cannot
afford (a cancellation float64 hides) shows here."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad

import rule_cases as rc
from reference import central
from test_rules import weights


def _f32(a):
    return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64 else a


@pytest.mark.parametrize("case", rc.CASES, ids=[c.id for c in rc.CASES])
def test_rule_in_float32(case):
    w = weights(case)
    args32 = [_f32(a) for a in case.args] + [_f32(w)]
    # the reference: float64 central differences at exactly the float32 point
    args64 = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a for a in args32]
    got = s2sad.grad(case.fn, argnums=tuple(case.diff))(*args32)
    for g, i in zip(got, case.diff):
        x = args32[i]
        if isinstance(x, np.ndarray):
            assert isinstance(g, np.ndarray) and g.dtype == np.float32 and g.shape == x.shape, (type(g), np.shape(g))
        ref = central(case.fn, args64, i)
        scale = max(1.0, float(np.max(np.abs(ref)))) if np.size(ref) else 1.0
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), ref, rtol=2e-3, atol=2e-3 * scale,
                                   err_msg=f"argument {i}")
