"""The batching pass (modes/batch.py) on its output text: what vmap writes for each construct."""
import numpy as np

import s2sad


def text(f, in_axes, *args) -> str:
    v = s2sad.vmap(f, in_axes=in_axes)
    v(*args)
    return v.source.split('"""', 2)[2]          # the body, after the docstring


def axes_and_shapes(x, W):
    n = len(x)
    return np.sum(np.tanh(W @ x), axis=0) * n + x.shape[0] + np.mean(x)


def test_axes_move_up_and_shapes_are_one_examples():
    body = text(axes_and_shapes, (0, None), np.ones((3, 4)), np.ones((2, 4)))
    assert "x @ W.T" in body                       # W @ x with x batched: the batched operand on the left
    assert "axis=1" in body                        # np.sum(..., axis=0) of each example
    assert "x.shape[1]" in body                    # len(x), x.shape[0]: one example's
    assert "np.mean(x, axis=1)" in body


def lower_rank(x, W):
    return W * x


def test_an_operand_of_fewer_dimensions_gets_axes_after_the_batch_axis():
    body = text(lower_rank, (0, None), np.ones((3, 2)), np.ones((4, 2)))
    assert "W * x[:, None]" in body


def branch(x):
    if np.sum(x) > 0:
        x = x * 2.0
    return x


def test_an_if_on_a_batched_value_is_masked():
    body = text(branch, (0,), np.ones((3, 2)))
    code = [line.strip() for line in body.splitlines() if not line.strip().startswith("#")]
    assert any(line.startswith("cond") and "_bt.mask(" in line for line in code)
    assert any("_bt.where(cond" in line for line in code)
    # no Python `if` on the batch: only one that skips a branch no example takes
    assert all(line.startswith("if np.any(") for line in code if line.startswith("if "))


def loop(x):
    while np.max(x) < 3.0:
        x = x + 1.0
    return x


def test_a_while_on_a_batched_value_runs_while_any_example_runs():
    body = text(loop, (0,), np.ones((3, 2)))
    assert "while np.any(running" in body
    assert "_bt.where(running" in body


def write(x, v):
    out = np.zeros(3)
    out[1] = v
    return out + x


def test_a_write_gets_the_batch_axis_and_the_array_is_lifted():
    body = text(write, (0, 0), np.ones((4, 3)), np.ones(4))
    assert "out = _bt.lift_copy(np.zeros(3), n_batch)" in body
    assert "out[:, 1] = v" in body


def norm(x):
    return np.linalg.norm(x, ord=1)


def test_a_primitive_without_a_batched_form_runs_per_example_and_the_header_says_so():
    v = s2sad.vmap(norm)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(v(x), [np.linalg.norm(r, ord=1) for r in x])
    assert "_bt.loop(np.linalg.norm" in v.source
    assert "once per example (no batched form): np.linalg.norm" in v.source


def loss(w, x):
    return np.sum((x @ w) ** 2)


def test_batched_gradient_code_keeps_only_what_the_gradients_need():
    v = s2sad.vmap(s2sad.grad(loss), in_axes=(None, 0))
    v(np.ones(3), np.ones((4, 3)))
    body = v.source.split('"""', 2)[2]
    assert "result = " not in body.replace("result_bar", "")     # the value, which grad does not return
    assert "_bt.matmul_grad_y(" in body


def last_axis_default(z):
    return np.diff(z) + np.sort(z)[..., 1:] + np.argsort(z)[..., :-1]


def test_an_axis_left_to_its_default_of_minus_one_stays_the_last_axis():
    # np.diff, np.sort and np.argsort work along the last axis when none is given (not the flattened
    # array, as np.cumsum's default None means): of each example of several dimensions
    Z = np.random.default_rng(3).normal(size=(4, 2, 3))
    got = s2sad.vmap(last_axis_default)(Z)
    np.testing.assert_array_equal(got, np.stack([last_axis_default(z) for z in Z]))
    assert "axis=-1" in text(last_axis_default, 0, Z)
