"""Compressed Jacobians (s2sad/api/sparsity.py): a sparse Jacobian or Hessian from a few directions, its
pattern found by the sweep, every compressed result checked by a probe. Each value here is compared
with a closed form, or with central differences of an independent gradient."""
import numpy as np
import pytest

import s2sad
from s2sad.api import sparsity

RNG = np.random.default_rng(11)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hessian(x):
    d = np.zeros(len(x))
    d[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    return np.diag(d) + np.diag(-400 * x[:-1], 1) + np.diag(-400 * x[:-1], -1)


def _sweeps(jac):
    """The batched sweeps a jacobian (or the jacobian inside a hessian) keeps, by argument kinds."""
    for cell in jac.__closure__:
        value = cell.cell_contents
        if isinstance(value, dict):
            return value
        if callable(value) and getattr(value, "_s2sad_derivative", None) == "jacobian":
            return _sweeps(value)
    raise AssertionError("no sweeps kept")


def test_a_tridiagonal_pattern_takes_three_colours_and_a_probe():
    n = 30
    mask = np.eye(n, dtype=bool) | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    c = sparsity.plan(mask, np.dtype(float))
    assert c is not None and c.directions == 4
    colors = c.seed[:-1].argmax(axis=0)
    for i in range(n):          # the columns of a row have different colours
        cols = np.flatnonzero(mask[i])
        assert len(set(colors[cols])) == len(cols)


def test_a_dense_or_small_pattern_is_not_compressed():
    assert sparsity.plan(np.ones((40, 40), dtype=bool), np.dtype(float)) is None
    assert sparsity.plan(np.eye(4, dtype=bool), np.dtype(float)) is None


def test_the_probe_refuses_a_pattern_that_misses_an_entry():
    n = 20
    J = rosen_hessian(RNG.uniform(-1, 1, n))
    right = sparsity.plan(J != 0, np.dtype(float))
    swept = right.seed @ J.T                        # what a sweep gives: J times each direction
    np.testing.assert_allclose(right.expand(swept), J, rtol=1e-13, atol=1e-13)
    missing = (J != 0) & ~np.eye(n, k=1, dtype=bool)     # the superdiagonal left out
    wrong = sparsity.plan(missing, np.dtype(float))
    assert wrong.expand(wrong.seed @ J.T) is None
    bad = swept.copy()
    bad[0, 3] = np.nan
    assert right.expand(bad) is None


@pytest.mark.parametrize("x0", ["random", "zeros"])
def test_the_hessian_of_rosenbrock_is_compressed_after_the_first_call_and_stays_exact(x0):
    # at x = 0 the off-diagonal entries (-400 x_i) are zero by accident: the NaN sweep still finds them
    n = 40
    H = s2sad.hessian(rosen)
    x = np.zeros(n) if x0 == "zeros" else RNG.uniform(-1, 1, n)
    for _ in range(2):
        np.testing.assert_allclose(H(x), rosen_hessian(x), rtol=1e-12, atol=1e-9)
    (sweep,) = _sweeps(H).values()
    assert sweep.compressed is not None and sweep.compressed.directions == 4
    for _ in range(3):
        y = RNG.uniform(-2, 2, n)
        np.testing.assert_allclose(H(y), rosen_hessian(y), rtol=1e-12, atol=1e-9)
    assert sweep.widened == 0


def branchy(x):
    if x[0] > 0:                       # diagonal Hessian on one side, a coupled one on the other
        return np.sum(x ** 3)
    return np.sum(x[1:] * x[:-1]) + np.sum(x ** 4)


def branchy_hessian(x):
    if x[0] > 0:
        return np.diag(6 * x)
    return np.diag(12 * x ** 2) + np.eye(len(x), k=1) + np.eye(len(x), k=-1)


def test_a_branch_to_another_pattern_is_caught_by_the_probe_and_the_pattern_widens():
    n = 24
    H = s2sad.hessian(branchy)
    pos = RNG.uniform(0.5, 1.5, n)
    for _ in range(3):
        np.testing.assert_allclose(H(pos), branchy_hessian(pos), rtol=1e-12)
    (sweep,) = _sweeps(H).values()
    assert sweep.compressed is not None and sweep.compressed.directions == 2     # diagonal: one colour
    neg = -pos
    for _ in range(2):       # the diagonal pattern misses the coupling: dense, then a wider pattern
        np.testing.assert_allclose(H(neg), branchy_hessian(neg), rtol=1e-12)
    assert sweep.widened == 1 and sweep.compressed.directions == 4
    np.testing.assert_allclose(H(pos), branchy_hessian(pos), rtol=1e-12)


def kinked(x):
    return np.sum(np.maximum(x[1:] * x[:-1], 0.5 * x[1:] ** 2))


def test_a_kink_that_changes_the_pattern_gives_the_right_hessian_at_every_point():
    n = 16
    H = s2sad.hessian(kinked)
    g = s2sad.grad(kinked)
    for _ in range(6):
        x = RNG.uniform(-1, 1, n)
        h = 1e-6
        want = np.array([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(n)]).T
        np.testing.assert_allclose(H(x), want, rtol=1e-6, atol=1e-6)


def test_a_forward_jacobian_of_an_elementwise_map_is_compressed_to_one_direction():
    def f(x):
        return np.sin(x) * x
    J = s2sad.jacobian(f, mode="forward")
    for _ in range(4):
        x = RNG.normal(size=50)
        np.testing.assert_allclose(J(x), np.diag(np.cos(x) * x + np.sin(x)), rtol=1e-12, atol=1e-15)
    (sweep,) = _sweeps(J).values()
    assert sweep.compressed is not None and sweep.compressed.directions == 2


def test_a_dense_jacobian_keeps_the_identity_directions():
    W = RNG.normal(size=(30, 30))

    def f(x):
        return np.tanh(W @ x)
    J = s2sad.jacobian(f, mode="forward")
    for _ in range(3):
        x = RNG.normal(size=30)
        t = np.tanh(W @ x)
        np.testing.assert_allclose(J(x), (1 - t ** 2)[:, None] * W, rtol=1e-12, atol=1e-14)
    (sweep,) = _sweeps(J).values()
    assert sweep.compressed is None


_scale = 1.0


def scaled(x):
    return _scale * np.sum(x ** 2 * x[::-1])


def test_a_hessian_sees_a_global_rebound_between_compressed_calls():
    global _scale
    H = s2sad.hessian(scaled)
    x = RNG.normal(size=12)
    first = H(x)
    for _ in range(2):
        np.testing.assert_allclose(H(x), first, rtol=1e-13)
    old = _scale
    _scale = 3.0
    try:
        np.testing.assert_allclose(H(x), 3.0 * first, rtol=1e-12)
    finally:
        _scale = old


def wandering(x):
    k = np.argmax(x[:-1])              # the coupled pair moves with the data
    return np.sum(x ** 3) + x[k] * x[k + 1]


def wandering_hessian(x):
    k = int(np.argmax(x[:-1]))
    H = np.diag(6 * x)
    H[k, k + 1] += 1.0
    H[k + 1, k] += 1.0
    return H


def test_a_pattern_that_keeps_moving_is_right_every_time_and_ends_dense():
    n = 40
    H = s2sad.hessian(wandering)
    rng = np.random.default_rng(5)
    for _ in range(12):
        x = rng.uniform(-1, 1, n)
        np.testing.assert_allclose(H(x), wandering_hessian(x), rtol=1e-12, atol=1e-12)
    (sweep,) = _sweeps(H).values()
    assert sweep.widened == 3 and sweep.compressed is None


def test_a_hessian_that_is_zero_everywhere_compresses_to_the_probe_alone():
    def linear(x, X):
        return X.sum() + np.sum(3.0 * x)
    H = s2sad.hessian(linear)
    x, X = RNG.normal(size=20), RNG.normal(size=(2, 2))
    for _ in range(3):
        np.testing.assert_array_equal(H(x, X), np.zeros((20, 20)))
    (sweep,) = _sweeps(H).values()
    assert sweep.compressed is not None and sweep.compressed.directions == 2


def test_the_hessian_of_a_function_of_a_matrix_is_compressed_with_directions_of_its_shape():
    def cubes(X):
        return np.sum(X ** 3) + np.sum(X[:, 1:] * X[:, :-1])
    H = s2sad.hessian(cubes)
    rows, cols = 3, 8
    n = rows * cols
    coupled = np.zeros((n, n))
    for i in range(rows):
        for j in range(cols - 1):
            a, b = i * cols + j, i * cols + j + 1
            coupled[a, b] = coupled[b, a] = 1.0
    for _ in range(3):
        X = RNG.normal(size=(rows, cols))
        want = (np.diag(6 * X.ravel()) + coupled).reshape(rows, cols, rows, cols)
        np.testing.assert_allclose(H(X), want, rtol=1e-12, atol=1e-12)
    (sweep,) = _sweeps(H).values()
    assert sweep.compressed is not None and sweep.compressed.directions == 4
