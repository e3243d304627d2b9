"""vmap against a Python loop over the examples: every batched result equals the stacked results of the
unbatched function (and its gradient), examples that take different branches or trip counts included."""
import numpy as np
import pytest

import s2sad
from s2sad import DifferentiationError

RNG = np.random.default_rng(7)


def looped(f, in_axes, args, out_axes=0):
    """The reference: f on each example, stacked along out_axes."""
    n = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*[a if ax is None else np.take(a, k, axis=ax) for a, ax in zip(args, in_axes)]) for k in range(n)]
    if isinstance(outs[0], tuple):
        return tuple(np.stack([o[j] for o in outs], axis=out_axes) for j in range(len(outs[0])))
    return np.stack(outs, axis=out_axes)


def check(f, in_axes, *args, out_axes=0):
    got = s2sad.vmap(f, in_axes=in_axes, out_axes=out_axes)(*args)
    want = looped(f, in_axes, args, out_axes)
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    return got


# --- elementwise, reductions, products -----------------------------------------------------------------

def ew(x, w, c):
    return np.sin(x) * w + c * np.exp(-x ** 2)


def reductions(x):
    return np.sum(x) + np.mean(x, axis=0).sum() + np.max(np.abs(x), axis=-1).sum() + np.std(x) + np.argmax(x)


@pytest.mark.parametrize("in_axes", [(0, None, None), (0, 0, None), (None, 0, 0), (1, None, 0)])
def test_elementwise_broadcasts_each_example(in_axes):
    x, w, c = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=4)
    if in_axes == (1, None, 0):
        x = RNG.normal(size=(3, 4))
        w = RNG.normal(size=3)
    elif in_axes[1] is None:
        w = RNG.normal(size=3)
    if in_axes[2] is None:
        c = 0.5
    check(ew, in_axes, x, w, c)


def test_reductions_reduce_each_example_only():
    check(reductions, (0,), RNG.normal(size=(5, 3, 4)))


def mm(a, b):
    return a @ b


@pytest.mark.parametrize("sa,sb,axes", [
    ((5, 3), (3, 4), (0, None)), ((5, 3), (3,), (0, None)), ((5, 2, 3), (3,), (0, None)),
    ((4, 3), (5, 3), (None, 0)), ((3,), (5, 3), (None, 0)), ((3,), (5, 3, 2), (None, 0)),
    ((5, 3), (5, 3), (0, 0)), ((5, 2, 3), (5, 3), (0, 0)), ((5, 3), (5, 3, 2), (0, 0)), ((5, 2, 3), (5, 3, 4), (0, 0)),
])
def test_matmul_every_rank_and_batching(sa, sb, axes):
    check(mm, axes, RNG.normal(size=sa), RNG.normal(size=sb))


def shapes_and_views(x):
    n = len(x)
    y = np.reshape(x, (2, -1)).T
    z = np.zeros(x.shape)
    z[1:] = x[:-1] * y.shape[0]
    return np.concatenate([z, x]).sum() * n + np.outer(x, x)[0, 1] + x.ndim


def test_shapes_are_one_examples():
    check(shapes_and_views, (0,), RNG.normal(size=(3, 6)))


def indexing(x, i, M):
    return x[i] * 2.0 + M[i, 1] + M[:, 0].sum()


def test_batched_index_picks_each_examples_element():
    x = RNG.normal(size=(4, 5))
    i = np.array([0, 3, 1, 4])
    check(indexing, (0, 0, None), x, i, RNG.normal(size=(5, 3)))


def writes(x, v):
    out = np.zeros((3, 3))
    out[0] = x
    out[1, 2] = v
    out[:, 1] += x
    return out


def test_row_and_element_writes():
    check(writes, (0, 0), RNG.normal(size=(4, 3)), RNG.normal(size=4))
    check(writes, (0, None), RNG.normal(size=(4, 3)), 0.5)


# --- control flow that differs between examples ------------------------------------------------------

def branches(x):
    s = np.sum(x)
    if s > 0:
        y = x * 2.0
        s = s + 1.0
    elif s > -1:
        y = x - 1.0
    else:
        y = -x
    return y * s


def loops(x):
    k = 0
    while np.sum(x ** 2) < 10.0 and k < 20:
        x = x * 1.5 + 0.1
        k += 1
    total = 0.0
    for i in range(k):
        total = total + i * np.mean(x)
    return total + k


def early_exit(x):
    s = 0.0
    for v in x:
        if v > 0.5:
            break
        s = s + v
    return s


def test_if_runs_each_examples_branch():
    x = np.array([[1.0, 2.0], [-0.2, -0.3], [-3.0, -1.0], [0.1, -0.05]])
    check(branches, (0,), x)


def test_while_and_for_run_each_examples_trip_count():
    x = np.array([[0.1, 0.2], [1.0, 2.0], [3.0, 4.0], [0.01, 0.0]])
    check(loops, (0,), x)


def test_break_stops_each_example_where_it_breaks():
    x = np.array([[0.1, 0.9, 0.2], [0.6, 0.1, 0.1], [0.1, 0.2, 0.3]])
    check(early_exit, (0,), x)


# --- containers, axes, outputs -------------------------------------------------------------------

def mlp(params, x):
    h = np.tanh(x @ params["W1"] + params["b1"])
    return h @ params["w2"]


def two_outputs(x, w):
    return np.sum(x * w), x * 2.0


def test_container_argument_with_a_tree_of_axes():
    params = {"W1": RNG.normal(size=(3, 4)), "b1": RNG.normal(size=4), "w2": RNG.normal(size=4)}
    X = RNG.normal(size=(6, 3))
    got = s2sad.vmap(mlp, in_axes=(None, 0))(params, X)
    np.testing.assert_allclose(got, [mlp(params, x) for x in X], rtol=1e-12)
    stacked = {k: np.stack([v, v * 2.0]) for k, v in params.items()}
    axes = ({"W1": 0, "b1": 0, "w2": 0}, None)
    got = s2sad.vmap(mlp, in_axes=axes)(stacked, X[0])
    np.testing.assert_allclose(got, [mlp({k: v[j] for k, v in stacked.items()}, X[0]) for j in range(2)], rtol=1e-12)


def test_tuple_output_and_out_axes():
    x, w = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    check(two_outputs, (0, None), x, w)
    got = s2sad.vmap(two_outputs, in_axes=(0, None), out_axes=(0, 1))(x, w)
    np.testing.assert_allclose(got[1], (x * 2.0).T)


def test_an_output_the_batch_does_not_reach_is_repeated():
    got = s2sad.vmap(lambda x, w: (np.sum(x), w * 2.0), in_axes=(0, None))(np.ones((3, 2)), np.arange(2.0))
    np.testing.assert_allclose(got[1], np.tile(np.arange(2.0) * 2.0, (3, 1)))


def test_keyword_arguments_are_mapped_along_axis_0():
    got = s2sad.vmap(ew, in_axes=(0, None))(np.ones((3, 2)), np.arange(2.0), c=np.arange(3.0))
    np.testing.assert_allclose(got, [ew(np.ones(2), np.arange(2.0), c) for c in range(3)])


def test_lambda_and_negative_axis():
    x = RNG.normal(size=(3, 5))
    got = s2sad.vmap(lambda v: np.sum(v ** 2), in_axes=-1)(x)
    np.testing.assert_allclose(got, np.sum(x ** 2, axis=0))


def test_arguments_are_not_written_to():
    def bump(x):
        x[0] = 5.0
        return x * 2.0
    x = np.ones((3, 2))
    out = s2sad.vmap(bump)(x)
    assert np.all(x == 1.0)
    np.testing.assert_allclose(out[:, 0], 10.0)


def test_the_batched_source_is_readable_numpy():
    v = s2sad.vmap(reductions)
    v(RNG.normal(size=(2, 3, 4)))
    src = v.source
    assert "def reductions_vmap(x):" in src and "axis=(1, 2)" in src and "line " in src


# --- per-example gradients: vmap of grad --------------------------------------------------------------

def loss(w, x, y):
    pred = np.tanh(x @ w[0]) @ w[1]
    if pred > y:
        return (pred - y) ** 2
    return 0.5 * abs(pred - y)


def test_per_example_gradients_of_a_container_parameter():
    w = [RNG.normal(size=(3, 4)), RNG.normal(size=4)]
    X, Y = RNG.normal(size=(8, 3)), RNG.normal(size=8)
    got = s2sad.vmap(s2sad.grad(loss), in_axes=(None, 0, 0))(w, X, Y)
    g = s2sad.grad(loss)
    for k in range(8):
        want = g(w, X[k], Y[k])
        for a, b in zip(got, want):
            np.testing.assert_allclose(a[k], b, rtol=1e-10, atol=1e-12)


def test_per_example_gradients_through_a_loop_of_different_lengths():
    g = s2sad.grad(loops)
    x = np.array([[0.1, 0.2], [1.0, 2.0], [3.0, 4.0], [0.5, 0.1]])
    got = s2sad.vmap(g)(x)
    np.testing.assert_allclose(got, np.stack([g(v) for v in x]), rtol=1e-10)


def test_value_and_grad_batched():
    vg = s2sad.value_and_grad(branches_sum := (lambda x: np.sum(branches(x))))
    x = np.array([[1.0, 2.0], [-0.2, -0.3], [-3.0, -1.0]])
    value, grads = s2sad.vmap(vg)(x)
    np.testing.assert_allclose(value, [branches_sum(v) for v in x])
    np.testing.assert_allclose(grads, [s2sad.grad(branches_sum)(v) for v in x], rtol=1e-10)


# --- Jacobians in one batched sweep ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_in_one_sweep_matches_closed_form(mode):
    W = RNG.normal(size=(6, 5)) / 3
    x = RNG.normal(size=5)
    J = s2sad.jacobian(lambda v, W: np.tanh(W @ v), mode=mode)(x, W)
    np.testing.assert_allclose(J, (1 - np.tanh(W @ x) ** 2)[:, None] * W, rtol=1e-12)


# a Jacobian keeps the batched sweep it ran and runs it again at arguments of the same kinds: each
# reuse must give what a first call would

def _central(f, x, *rest, h=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = h
        cols.append((np.asarray(f(x + e, *rest)) - np.asarray(f(x - e, *rest))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x, *rest)) + x.shape)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_a_jacobian_called_again_at_new_points_is_right_each_time(mode):
    def f(v, W):
        return np.tanh(W @ v) * v[:3]
    J = s2sad.jacobian(f, mode=mode)
    W = RNG.normal(size=(3, 4))
    for _ in range(3):
        x = RNG.normal(size=4)
        got = J(x, W)
        got[...] = 7.0                      # the caller's array: writing into it changes nothing after
        np.testing.assert_allclose(J(x, W), _central(f, x, W), rtol=1e-7, atol=1e-9)


def test_a_jacobian_whose_output_changes_shape_between_calls_follows_it():
    def head(v, k):
        return np.sin(v[:k])
    J = s2sad.jacobian(head, mode="reverse")
    x = RNG.normal(size=5)
    for k in (3, 4, 2):
        np.testing.assert_allclose(J(x, k), _central(head, x, k), rtol=1e-7, atol=1e-9)


def test_a_jacobian_of_a_function_writing_into_its_argument_is_right_when_called_again():
    def f(v):
        v[0] = 2.0 * v[1]
        return v ** 2
    J = s2sad.jacobian(f, mode="forward")
    for _ in range(3):
        x = RNG.normal(size=3)
        want = _central(lambda u: f(u.copy()), x)
        np.testing.assert_allclose(J(x.copy()), want, rtol=1e-7, atol=1e-9)


def _inner(v):
    return np.sin(v)


def test_a_jacobian_sees_a_helper_redefined_between_calls():
    global _inner
    def f(v):
        return 2.0 * _inner(v)
    J = s2sad.jacobian(f)
    x = RNG.normal(size=3)
    np.testing.assert_allclose(J(x), np.diag(2.0 * np.cos(x)), rtol=1e-12)
    old = _inner
    _inner = lambda v: np.exp(v)  # noqa: E731
    try:
        np.testing.assert_allclose(J(x), np.diag(2.0 * np.exp(x)), rtol=1e-12)
    finally:
        _inner = old


def test_hessian_of_rosenbrock_matches_the_tridiagonal_closed_form():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    x = RNG.uniform(-1, 1, 6)
    H = s2sad.hessian(rosen)(x)
    d = np.zeros(6)
    d[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    want = np.diag(d) + np.diag(-400 * x[:-1], 1) + np.diag(-400 * x[:-1], -1)
    np.testing.assert_allclose(H, want, rtol=1e-10)


def stacked_comprehension(x, n):
    ys = np.stack([np.sin(x * k) for k in range(n)])
    return np.sum(ys ** 2)


def appended_then_stacked(x):
    hs = []
    for k in range(3):
        hs.append(np.tanh(x * k + 0.1))
    return np.sum(np.stack(hs) ** 2)


@pytest.mark.parametrize("f, extra", [(stacked_comprehension, (3,)), (appended_then_stacked, ())],
                         ids=["comprehension", "append"])
def test_per_example_gradients_of_a_list_stacked_in_a_loop(f, extra):
    """The gradient's tape holds the list's array and the branch that allocates it; each saved slot is
    its own list in the batched code, so the shared branch condition stays shared (not a refusal)."""
    xs = RNG.normal(size=(4, 3))
    got = s2sad.vmap(s2sad.grad(f), in_axes=(0,) + (None,) * len(extra))(xs, *extra)
    np.testing.assert_allclose(got, [s2sad.grad(f)(x, *extra) for x in xs], rtol=1e-12)


# --- errors ----------------------------------------------------------------------------------------

def test_mismatched_batch_sizes_are_a_value_error():
    with pytest.raises(ValueError, match="different sizes"):
        s2sad.vmap(ew, in_axes=(0, 0, None))(np.ones((3, 2)), np.ones((4, 2)), 1.0)


def test_an_axis_out_of_range_is_a_value_error():
    with pytest.raises(ValueError, match="axis 2"):
        s2sad.vmap(ew, in_axes=(2, None, None))(np.ones((3, 2)), np.ones(2), 1.0)


def test_in_axes_of_the_wrong_length_is_a_value_error():
    with pytest.raises(ValueError, match="in_axes has 2 entries"):
        s2sad.vmap(ew, in_axes=(0, None))(np.ones((3, 2)), np.ones(2), 1.0)


def test_nothing_mapped_is_a_value_error():
    with pytest.raises(ValueError, match="maps no argument"):
        s2sad.vmap(ew, in_axes=None)(np.ones((3, 2)), np.ones(2), 1.0)


def bad_slice(x, n):
    return np.sum(x[:n])


def test_an_unbatchable_construct_is_refused_naming_the_line():
    with pytest.raises(DifferentiationError, match=r"test_vmap.py:\d+.*vmap: a slice whose bounds differ"):
        s2sad.vmap(bad_slice, in_axes=(0, 0))(np.ones((3, 4)), np.array([1, 2, 3]))


def condition_on_an_array(x):
    if x > 0:              # x is an array for each example: ambiguous, as without vmap
        return x
    return -x


def test_a_condition_that_is_an_array_per_example_says_so():
    with pytest.raises(ValueError, match="single truth value"):
        s2sad.vmap(condition_on_an_array)(np.ones((3, 2)))


def test_nested_vmap_maps_both_axes():
    def f(x, w):
        return np.sum(np.tanh(x * w))
    X = RNG.normal(size=(3, 4, 5))
    w = RNG.normal(size=5)
    got = s2sad.vmap(s2sad.vmap(f, in_axes=(0, None)), in_axes=(0, None))(X, w)
    np.testing.assert_allclose(got, [[f(X[a, b], w) for b in range(4)] for a in range(3)], rtol=1e-12)
    W = RNG.normal(size=(2, 5))          # the outer vmap over w only, the inner over x only
    got = s2sad.vmap(s2sad.vmap(f, in_axes=(0, None)), in_axes=(None, 0))(X[0], W)
    np.testing.assert_allclose(got, [[f(X[0, b], W[a]) for b in range(4)] for a in range(2)], rtol=1e-12)
    got = s2sad.vmap(s2sad.vmap(f, in_axes=(0, None)), in_axes=(2, None), out_axes=1)(np.moveaxis(X, 0, 2), w)
    np.testing.assert_allclose(got, [[f(X[a, b], w) for a in range(3)] for b in range(4)], rtol=1e-12)


def test_the_identity_seed_is_an_identity_to_every_operation():
    """jacobian's seed knows I @ B = B and diag(d) @ B = d[:, None] * B; anything else sees the array."""
    from s2sad.runtime import batched
    I = batched.identity(4)
    B = RNG.normal(size=(4, 3))
    v = RNG.normal(size=4)
    np.testing.assert_allclose(I @ B, B)
    np.testing.assert_allclose(B.T @ I, B.T)
    D = I * v
    np.testing.assert_allclose(D, np.diag(v))
    np.testing.assert_allclose(D @ B, np.diag(v) @ B)
    np.testing.assert_allclose(2.0 * D @ B, 2.0 * np.diag(v) @ B)
    np.testing.assert_allclose(I[:, 1:] @ B[1:], np.eye(4)[:, 1:] @ B[1:])     # a slice is a plain array
    np.testing.assert_allclose(np.sum(I + D, axis=1), 1.0 + v)
    assert type(I + D) is np.ndarray and type(I[0]) is np.ndarray


def reshaped_in_a_branch(x):
    v = 0.0
    if np.sum(x) > 0:
        v = x * 2.0                # a number for some examples, an array for others
    return np.sum(v * v)


def test_a_variable_of_a_different_shape_per_example_is_an_error_not_a_broadcast():
    ok = np.array([[1.0, 2.0], [3.0, 1.0]])              # every example takes the branch: followed
    np.testing.assert_allclose(s2sad.vmap(reshaped_in_a_branch)(ok), [reshaped_in_a_branch(r) for r in ok])
    mixed = np.array([[1.0, 2.0], [-3.0, 1.0]])
    with pytest.raises(DifferentiationError, match="shape"):
        s2sad.vmap(reshaped_in_a_branch)(mixed)


def _cubed(x):
    return x ** 3


def _scaled(p, x):
    return p["a"] * x


def test_per_example_gradients_need_a_scalar_output_as_grad_does():
    # vmap(grad(f)) of a vector-valued f would give each example the gradient of the sum of its outputs:
    # refused, as grad(f) itself refuses a vector output (JAX's grad too)
    X = np.linspace(-0.5, 0.7, 6).reshape(2, 3)
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        s2sad.vmap(s2sad.grad(_cubed))(X)
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        s2sad.vmap(s2sad.value_and_grad(_cubed))(X)
    with pytest.raises(s2sad.NonScalarOutputError, match="scalar output"):
        s2sad.vmap(s2sad.grad(_scaled), in_axes=(None, 0))({"a": np.ones(3)}, X)
    np.testing.assert_allclose(s2sad.vmap(s2sad.grad(_cubed))(X[:, 0]), 3 * X[:, 0] ** 2)   # scalar examples
