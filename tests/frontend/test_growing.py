"""Lists a loop appends to (a `while` loop, branches, several appends, items before the loop) and reads
as they grow (`out[-1]`, `len(out)`): growing.py makes them arrays that grow. And list literals where
NumPy takes an array (`np.sum([a, b])`). Each function is checked in every mode against central
differences of the function itself, run by Python on real lists."""
import inspect

import numpy as np
import pytest

import s2sad


def while_appends(x):
    out = []
    t = x
    while np.sum(t) < 4.0:
        t = t * 1.5 + 0.1
        out.append(np.sin(t))
    return np.sum(np.stack(out) ** 2)


def appends_in_branches(x):
    out = []
    for i in range(5):
        if np.sum(np.sin(x * i)) > 0.0:
            out.append(x * i)
        else:
            out.append(np.cos(x))
    return np.sum(np.stack(out, axis=1) ** 2)


def reads_the_last_items(x):
    out = [x]
    for i in range(4):
        out.append(np.sin(out[-1]) * 2.0 + 0.1 * len(out))
    return np.sum(out[-1] + out[-2] * len(out))


def loss_history(w):
    losses = []
    k = 0
    while k < 3:
        w = w * 0.9
        losses.append(np.sum(w ** 2))
        k += 1
    return sum(losses) + np.mean(losses)


def more_than_eight(x):
    xs = []
    for i in range(10):
        xs.append(x * i)
        xs.append(np.tanh(x + i))
    xs.append(np.exp(-x))
    return np.sum(np.array(xs) ** 2) / len(xs)


def trajectory(x):
    path = [x]
    while np.max(path[-1]) < 3.0:
        if len(path) % 2:
            path.append(path[-1] * 1.3 + 0.05)
        else:
            path.append(path[-1] + np.sin(path[-1]) ** 2 + 0.05)
    return np.sum(np.stack(path)) + np.sum(path[-1] * path[-2])


def concatenated(x):
    out = []
    for i in range(3):
        out.append(np.outer(np.sin(x * i), x))
    return np.sum(np.concatenate(out) ** 2 * np.arange(9.0)[:, None])


def literal_lists(x):
    return np.sum([np.sum(x), 3.0 * x[0]]) + np.mean((x[1] ** 2, np.sin(x[2]))) + np.max([x[0], 0.25 * x[1]])


FUNCTIONS = [while_appends, appends_in_branches, reads_the_last_items, loss_history, more_than_eight, trajectory,
             concatenated, literal_lists]
X = np.array([0.5, 1.0, 1.5]) / 5


def central(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_mode_matches_central_differences_of_the_list_code(f):
    ref = central(f, X)
    np.testing.assert_allclose(s2sad.grad(f)(X), ref, rtol=1e-6, atol=1e-8)
    v = np.array([0.3, -0.2, 0.7])
    assert s2sad.jvp(f, (X,), (v,))[1] == pytest.approx(float(ref @ v), rel=1e-6, abs=1e-8)
    H = s2sad.hessian(f)(X)
    H_ref = np.array([central(lambda y, k=k: s2sad.grad(f)(y)[k], X) for k in range(3)])
    np.testing.assert_allclose(H, H_ref, rtol=1e-5, atol=1e-6)


def every_other(x):
    out = [x]
    for i in range(5):
        if i % 2 == 0:
            out.append(np.tanh(out[-1]) * i)
        else:
            out.append(np.cos(x) + out[-1])
    return np.sum(np.stack(out) ** 2)


def test_vmap_runs_the_list_code_of_each_example():
    xs = np.stack([X, X * 1.1, -X])
    np.testing.assert_allclose(s2sad.vmap(every_other)(xs), [every_other(x) for x in xs], rtol=1e-12)


@pytest.mark.parametrize("f", [every_other, reads_the_last_items, loss_history, more_than_eight],
                         ids=lambda f: f.__name__)
def test_per_example_gradients_where_the_examples_grow_the_list_alike(f):
    xs = np.stack([X, X * 1.1, -X])
    got = s2sad.vmap(s2sad.grad(f))(xs)
    np.testing.assert_allclose(got, [central(f, x) for x in xs], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [appends_in_branches, trajectory], ids=lambda f: f.__name__)
def test_per_example_gradients_where_they_grow_it_differently_are_refused_loudly(f):
    # each example's growing array would be rebound in its own branch, which vmap's view rule refuses
    with pytest.raises(s2sad.DifferentiationError, match="examples take differently"):
        s2sad.vmap(s2sad.grad(f))(np.stack([X, -X]))


def ints_then_index(x):
    idx = []
    for i in range(3):
        if i % 2 == 0:
            idx.append(i)
    return np.sum(x[np.array(idx)] ** 2)


def ints_then_floats(x):
    c = [1]
    for i in range(3):
        c.append(0.5 * i)
    return np.sum(x * np.sum(c))


@pytest.mark.parametrize("f", [ints_then_index, ints_then_floats], ids=lambda f: f.__name__)
def test_lists_of_numbers_keep_their_type_or_widen(f):
    np.testing.assert_allclose(s2sad.grad(f)(X), central(f, X), rtol=1e-6, atol=1e-8)


def never_appended(x):
    out = []
    t = x
    while np.sum(t) > 100.0:
        out.append(t)
    return np.sum(np.stack(out))


def ragged(x):
    out = []
    for i in range(3):
        if i < 2:
            out.append(x)
        else:
            out.append(x[:2])
    return np.sum(np.stack(out))


@pytest.mark.parametrize("f, message", [(never_appended, "holds fewer than 1 items"),
                                        (ragged, "differ in shape")], ids=["empty", "ragged"])
def test_where_python_raises_the_generated_code_raises_too(f, message):
    with pytest.raises((ValueError, AssertionError)):
        f(X)                                        # Python itself
    with pytest.raises(AssertionError, match=message):
        s2sad.grad(f)(X)


def iterated(x):
    out = []
    for i in range(3):
        out.append(x * i)
    total = 0.0
    for v in out:                                   # a read this rewrite does not take
        total = total + np.sum(v)
    return total


def test_a_list_read_otherwise_is_left_alone_and_refused_as_before():
    with pytest.raises(s2sad.DifferentiationError, match="append"):
        s2sad.grad(iterated)(X)


def test_the_generated_file_grows_the_array_and_names_the_users_lines():
    g = s2sad.grad(trajectory)
    g(X)
    src = g.source
    assert "path = np.concatenate([path, " in src and "np.zeros_like(path)" in src
    assert "while np.max(path[path_k - 1]) < 3.0:" in src
    lines, start = inspect.getsourcelines(trajectory)
    n = start + next(i for i, line in enumerate(lines) if "path.append(path[-1] * 1.3" in line)
    assert f"# line {n}: path.append(path[-1] * 1.3 + 0.05)" in src


def same_array_appended(x):
    h = np.zeros(3)
    out = []
    for i in range(3):
        h[i] = x[i] * 2.0          # the list holds h itself three times: each row is h as it ends
        out.append(h)
    return np.sum(np.stack(out) * np.arange(9.0).reshape(3, 3))


def changed_after_append(x):
    h = x * 1.0
    out = [h]
    k = 0
    while k < 2:
        h += 1.0                   # changes out[0] too
        out.append(np.sin(h))
        k += 1
    return np.sum(np.stack(out) * np.arange(9.0).reshape(3, 3))


@pytest.mark.parametrize("f", [same_array_appended, changed_after_append], ids=lambda f: f.__name__)
def test_an_item_changed_in_place_after_it_is_appended_is_refused_not_copied(f):
    """A list holds its items themselves and an array's rows are copies: rewriting would give other numbers
    (same_array_appended's gradient was [18, 22, 16] where it is [18, 24, 30]), so the list stays a list
    and is refused."""
    x = np.array([0.3, 0.5, 0.7])
    with pytest.raises(s2sad.DifferentiationError, match="list"):
        s2sad.grad(f)(x)
    with pytest.raises(s2sad.DifferentiationError, match="list"):
        s2sad.jvp(f, (x,), (np.ones(3),))
