"""A corpus of 233 everyday functions (corpus_cases.py: tutorials, hand-written losses, physics and
numerics, statistics, control flow on data, helpers that rebind their parameters, in-place and row
writes), written for this test without regard to what s2sad handles. Each is checked in reverse mode,
forward mode and to second order (a Hessian-vector product) against central differences.

Each function is differentiated correctly or refused with a located DifferentiationError; REFUSED
lists the refusals and why, so that a new refusal fails this test and so does a refusal that went away
(the list is then shortened).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import corpus_cases as C
import s2sad
from reference import central
from s2sad import DifferentiationError

# case id -> what the refusal says (issue 16 brings the rules; issue 15 the containers)
REFUSED = {
}
SECOND_REFUSED = {"poisson_log_likelihood": "math.lgamma"}   # first order only (no rule for lgamma's derivative)


def _nums(case):
    return (case.argnums,) if isinstance(case.argnums, int) else tuple(case.argnums)


def _close(got, want, rtol):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("case", C.CASES, ids=[c.id for c in C.CASES])
def test_corpus_function(case):
    nums = _nums(case)
    args = list(case.args)
    if case.id in REFUSED:
        with pytest.raises(DifferentiationError, match=REFUSED[case.id]) as info:
            s2sad.grad(case.fn, argnums=nums)(*args)
        assert "corpus_cases.py:" in str(info.value)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refs = {i: central(case.fn, args, i) for i in nums}
        # reverse mode
        grads = s2sad.grad(case.fn, argnums=nums)(*args)
        for g, i in zip(grads, nums):
            _close(g, refs[i], 1e-5)
        # forward mode, along a random direction in every differentiated argument
        rng = np.random.default_rng(len(case.id))
        tangents = [None] * len(args)
        for i in nums:
            tangents[i] = rng.uniform(-1, 1, np.shape(args[i])) if isinstance(args[i], np.ndarray) \
                else float(rng.uniform(-1, 1))
        _, d = s2sad.jvp(case.fn, tuple(args), tuple(tangents))
        _close(d, sum(float(np.sum(refs[i] * tangents[i])) for i in nums), 1e-5)
        # second order: H v by forward mode over the generated gradient, against central differences
        # of that gradient (checked above)
        i = nums[0]
        g1 = s2sad.grad(case.fn, argnums=i)
        v = [t if k == i else None for k, t in enumerate(tangents)]
        if case.id in SECOND_REFUSED:
            with pytest.raises(DifferentiationError, match=SECOND_REFUSED[case.id]):
                s2sad.jvp(g1, tuple(args), tuple(v))
            return
        _, hv = s2sad.jvp(g1, tuple(args), tuple(v))
        h = 1e-5
        plus, minus = list(args), list(args)
        plus[i] = args[i] + h * tangents[i]
        minus[i] = args[i] - h * tangents[i]
        _close(hv, (np.asarray(g1(*plus)) - np.asarray(g1(*minus))) / (2 * h), 1e-4)


def test_the_corpus_is_large_and_mostly_differentiated():
    assert len(C.CASES) >= 200 and len({c.id for c in C.CASES}) == len(C.CASES)
    assert len(REFUSED) <= 0.05 * len(C.CASES)
