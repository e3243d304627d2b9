"""Behaviours users of gradient tools have been bitten by (the project's reliability checklist)."""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

import checklist_cases as K
import s2sad
from reference import central

rng = np.random.default_rng(99)


def test_vjp_is_linear_in_the_cotangent():
    x = rng.normal(size=4)
    _, pullback = s2sad.vjp(K.square, x)
    g = rng.normal(size=4)
    (a,) = pullback(2.0 * g)
    (b,) = pullback(g)
    np.testing.assert_allclose(a, 2.0 * b, rtol=1e-15)


def test_the_same_call_twice_is_bitwise_identical():
    x, y = rng.normal(size=5), rng.normal(size=5)
    g = s2sad.grad(K.mixed, argnums=(0, 1))
    first, second = g(x, y), g(x, y)
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()


def test_nan_propagates_only_to_the_entries_that_depend_on_it():
    x = np.array([1.0, np.nan, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no exception and no warning from s2sad itself
        g = s2sad.grad(K.elementwise_log)(x)
    assert np.isnan(g[1]) and np.all(np.isfinite(g[[0, 2]]))
    np.testing.assert_allclose(g[[0, 2]], 1 / x[[0, 2]] + 2.0)


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_empty_arrays_give_empty_gradients(shape):
    x = np.zeros(shape)
    g = s2sad.grad(K.total)(x)
    assert isinstance(g, np.ndarray) and g.shape == shape and g.dtype == np.float64


def test_the_same_array_as_two_arguments_accumulates_both():
    x = rng.normal(size=3)
    gx, gy = s2sad.grad(K.mixed, argnums=(0, 1))(x, x)
    np.testing.assert_allclose(gx, np.cos(x) * x + 2 * x, rtol=1e-14)
    np.testing.assert_allclose(gy, np.sin(x), rtol=1e-14)


def test_inputs_are_not_mutated():
    x = rng.normal(size=3)
    before = x.copy()
    s2sad.grad(K.mutating)(x)
    s2sad.jvp(K.mutating, (x,), (np.ones(3),))
    np.testing.assert_array_equal(x, before)


def test_a_loop_that_runs_zero_times_gives_zero_and_no_underflow():
    x = rng.normal(size=3)
    np.testing.assert_array_equal(s2sad.grad(K.loop_n)(x, 0), np.zeros(3))
    np.testing.assert_allclose(s2sad.grad(K.loop_n)(x, 3), 6 * x, rtol=1e-14)


def test_a_thousand_statement_function_transforms_without_recursion_errors():
    start = time.perf_counter()
    g = s2sad.grad(K.long_function)
    got = g(0.3)
    elapsed = time.perf_counter() - start
    assert got == pytest.approx(central(K.long_function, [0.3], 0), rel=1e-6)
    print(f"1000-statement function: transformed and ran in {elapsed:.2f} s")   # measured, not asserted


def test_threads_in_one_process_get_the_same_correct_gradient():
    x = rng.normal(size=4)
    results, errors = [], []
    barrier = threading.Barrier(8)

    def work():
        try:
            barrier.wait()
            results.append(s2sad.grad(K.total)(x))
        except Exception as exc:       # collected: the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_allclose(r, 2 * x + np.exp(x), rtol=1e-14)
    assert len(results) == 8
