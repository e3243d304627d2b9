"""Containers (pytrees): a params dict, tuples from helpers, loops over layers, named tuples, as people
write them (containers_cases.py). Each gradient is checked against central differences, leaf by leaf;
the functions that only use containers inside are checked in forward mode and to second order too."""
from __future__ import annotations

import numpy as np
import pytest

import containers_cases as C
import s2sad
from reference import central
from s2sad import DifferentiationError
from s2sad.ir import pytree

rng = np.random.default_rng(7)


def central_tree(f, args, i):
    """Central differences of f with respect to every leaf of args[i], in args[i]'s structure."""
    td, leaves = pytree.flatten(args[i])

    def grads_of_leaf(k):
        def g(leaf):
            new = list(leaves)
            new[k] = leaf
            a = list(args)
            a[i] = pytree.unflatten(td, new)
            return f(*a)
        return central(g, [leaves[k]], 0)

    return pytree.unflatten(td, [grads_of_leaf(k) for k in range(len(leaves))])


def assert_tree_close(got, want, rtol=1e-6):
    gtd, gl = pytree.flatten(got)
    wtd, wl = pytree.flatten(want)
    assert gtd == wtd, (gtd, wtd)
    for a, b in zip(gl, wl):
        assert type(a) is type(b) or isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-8)


def mlp_params():
    return {"l1": {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)},
            "l2": {"W": rng.normal(size=(4, 2)), "b": rng.normal(size=2)}}


X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


@pytest.mark.parametrize("fn", [C.mlp_loss, C.mlp_loss_l2])
def test_a_params_dict_gives_a_dict_of_gradients(fn):
    params = mlp_params()
    g = s2sad.grad(fn)(params, X, Y)
    assert isinstance(g, dict) and list(g) == ["l1", "l2"] and list(g["l1"]) == ["W", "b"]
    assert_tree_close(g, central_tree(fn, [params, X, Y], 0))
    value, g2 = s2sad.value_and_grad(fn)(params, X, Y)
    assert value == pytest.approx(fn(params, X, Y))
    assert_tree_close(g2, g)


def test_argnums_selects_whole_subtrees_and_plain_arrays():
    params = mlp_params()
    gp, gx = s2sad.grad(C.mlp_loss, argnums=(0, 1))(params, X, Y)
    assert_tree_close(gp, central_tree(C.mlp_loss, [params, X, Y], 0))
    np.testing.assert_allclose(gx, central(C.mlp_loss, [params, X, Y], 1), rtol=1e-6, atol=1e-8)


def test_the_generated_code_names_each_leaf():
    params = mlp_params()
    g = s2sad.grad(C.mlp_loss)
    g(params, X, Y)
    src = g.source
    assert "def mlp_loss_grad(params_l1_W, params_l1_b, params_l2_W, params_l2_b, X, y" in src
    code = [ln for ln in src.split("def mlp_loss_grad")[1].splitlines() if not ln.strip().startswith("#")]
    assert "params_l2_W_bar" in src and not any("params[" in ln for ln in code)


def test_lists_and_tuples_of_layers():
    Ws = [rng.normal(size=(3, 3)) * 0.5 for _ in range(3)]
    bs = (rng.normal(size=3), rng.normal(size=3), rng.normal(size=3))
    x = rng.normal(size=3)
    gW, gb = s2sad.grad(C.layers_loss, argnums=(0, 1))(Ws, bs, x)
    assert isinstance(gW, list) and isinstance(gb, tuple)
    assert_tree_close(gW, central_tree(C.layers_loss, [Ws, bs, x], 0))
    assert_tree_close(gb, central_tree(C.layers_loss, [Ws, bs, x], 1))


def test_dict_items_and_named_tuples():
    params = {"a": rng.normal(size=3), "b": 0.7}
    x = rng.normal(size=3)
    g = s2sad.grad(C.dict_items_loss)(params, x)
    assert type(g["b"]) is float
    assert_tree_close(g, central_tree(C.dict_items_loss, [params, x], 0))
    p = C.Params(W=rng.normal(size=(2, 3)), b=rng.normal(size=2))
    gp = s2sad.grad(C.named_loss)(p, x)
    assert isinstance(gp, C.Params)
    assert_tree_close(gp, central_tree(C.named_loss, [p, x], 0))


def test_a_list_of_numbers_is_a_list_of_leaves():
    g = s2sad.grad(C.scalars_list)([0.5, 1.5, 0.3])
    assert type(g) is list and all(type(v) is float for v in g)
    np.testing.assert_allclose(g, [2 * 0.5 * 1.5, 0.25, np.cos(0.3)], rtol=1e-12)


INSIDE = [C.unpack_helper, C.tuple_state, C.stack_list, C.local_dict, C.powers, C.static_append, C.branch_tuple,
          C.pair_then_row_write, C.item_then_row_write]


@pytest.mark.parametrize("fn", INSIDE, ids=[f.__name__ for f in INSIDE])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_containers_inside_a_function_in_every_mode(fn, sign):
    x = sign * np.array([0.3, 0.8, 0.5])
    ref = central(fn, [x], 0)
    np.testing.assert_allclose(s2sad.grad(fn)(x), ref, rtol=1e-6, atol=1e-8)
    v = np.array([0.2, -0.4, 0.9])
    _, d = s2sad.jvp(fn, (x,), (v,))
    assert d == pytest.approx(float(ref @ v), rel=1e-6, abs=1e-8)
    hv = s2sad.jvp(s2sad.grad(fn), (x,), (v,))[1]
    hv_ref = (s2sad.grad(fn)(x + 1e-5 * v) - s2sad.grad(fn)(x - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(hv, hv_ref, rtol=1e-5, atol=1e-6)


def test_swapping_through_tuples_in_a_loop():
    x, y = np.array([0.3, 0.7]), np.array([1.1, -0.4])
    gx, gy = s2sad.grad(C.swap, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, central(C.swap, [x, y], 0), rtol=1e-6)
    np.testing.assert_allclose(gy, central(C.swap, [x, y], 1), rtol=1e-6)


def test_a_comprehension_over_a_list_argument():
    ws = [0.5, rng.normal(size=3), 2.0]
    x = rng.normal(size=3)
    g = s2sad.grad(C.comprehension)(ws, x)
    assert_tree_close(g, central_tree(C.comprehension, [ws, x], 0))
    gx = s2sad.grad(C.comprehension, argnums=1)(ws, x)
    np.testing.assert_allclose(gx, central(C.comprehension, [ws, x], 1), rtol=1e-6)


@pytest.mark.parametrize("fn, args, says", [
    (C.writes_into_argument, ({"W": np.ones(2)}, np.ones(2)), "writing into params"),
    (C.writes_into_alias, (np.ones(2),), "another name"),
    (C.runtime_index, ([np.ones(2), np.ones(2)], np.ones(2), 1), "tuple or list that holds a differentiated"),
    (C.missing_key, ({"W": np.ones(2)}, np.ones(2)), "no key 'w'"),
    (C.mixed_branches, (np.ones(2),), "pair holds a container on one path"),
])
def test_what_containers_cannot_do_is_refused_with_the_line(fn, args, says):
    with pytest.raises(DifferentiationError, match=says) as info:
        s2sad.grad(fn)(*args)
    assert "containers_cases.py:" in str(info.value)


def test_argnums_may_be_given_positionally_as_in_jax():
    x, y = np.array([0.3, 0.8]), np.array([1.1, -0.4])
    np.testing.assert_allclose(s2sad.grad(C.swap, 1)(x, y), s2sad.grad(C.swap, argnums=1)(x, y))
    gx, gy = s2sad.value_and_grad(C.swap, (0, 1))(x, y)[1]
    np.testing.assert_allclose(gy, central(C.swap, [x, y], 1), rtol=1e-6)
    H = s2sad.hessian(C.swap, 1)(x, y)
    assert H.shape == (2, 2)


def test_check_grads_takes_a_list_as_the_arguments():
    from s2sad.testing import check_grads
    check_grads(C.swap, [np.array([0.3, 0.8]), np.array([1.1, -0.4])])
    C.register_wrong_rule()
    with pytest.raises(AssertionError):
        check_grads(C.wrong_rule_user, [np.array([0.3, 0.8]), 2.0], modes="reverse")


FORMS = {
    "lambda": C.square_sum,
    "second lambda on a line": C.two_on_a_line[1],
    "bound method": C.Model(0.7, 0.2).loss,
    "callable object": C.Model(0.7, 0.2),
    "staticmethod": C.Model.static_loss,
    "classmethod": C.Model.class_loss,
    "nested def": C.nested_helper,
    "lambda inside": C.local_lambda,
    "a global lambda as a helper": C.calls_a_global_lambda,
    "nested def returning a pair": C.nested_returns_pair,
    "lambda made here": lambda x: np.sum(np.tanh(x) * x),
}


@pytest.mark.parametrize("name", list(FORMS))
def test_lambdas_methods_and_nested_defs_in_every_mode(name):
    fn = FORMS[name]
    x = np.array([0.3, -0.8, 0.5])
    ref = central(fn, [x], 0)
    np.testing.assert_allclose(s2sad.grad(fn)(x), ref, rtol=1e-6, atol=1e-8)
    v = np.array([0.2, -0.4, 0.9])
    assert s2sad.jvp(fn, (x,), (v,))[1] == pytest.approx(float(ref @ v), rel=1e-6, abs=1e-8)
    H = s2sad.hessian(fn)(x)
    H_ref = np.array([central(lambda y, k=k: s2sad.grad(fn)(y)[k], [x], 0) for k in range(3)])
    np.testing.assert_allclose(H, H_ref, rtol=1e-5, atol=1e-6)


def test_a_method_reads_the_objects_attributes_at_each_call():
    m = C.Model(0.7, 0.2)
    g = s2sad.grad(m.loss)
    x = np.array([0.3, -0.8])
    first = g(x)
    m.w = 1.5                      # attributes are constants of each call, not of the transformation
    np.testing.assert_allclose(g(x), central(m.loss, [x], 0), rtol=1e-6)
    assert not np.allclose(first, g(x))
    other = C.Model(-0.4, 0.1)
    np.testing.assert_allclose(s2sad.grad(other.loss)(x), central(other.loss, [x], 0), rtol=1e-6)


def test_jvp_and_vjp_take_containers():
    params = mlp_params()
    tangent = {k: {kk: rng.normal(size=np.shape(v)) for kk, v in d.items()} for k, d in params.items()}
    ref = central_tree(C.mlp_loss, [params, X, Y], 0)
    want = sum(float(np.sum(ref[k][kk] * tangent[k][kk])) for k in params for kk in params[k])
    value, d = s2sad.jvp(C.mlp_loss, (params, X, Y), (tangent, None, None))
    assert value == pytest.approx(C.mlp_loss(params, X, Y)) and d == pytest.approx(want, rel=1e-6)
    out, pullback = s2sad.vjp(C.mlp_loss, params, X, Y)
    gp, gx, gy = pullback(2.0)
    assert_tree_close(gp, {k: {kk: 2 * v for kk, v in d.items()} for k, d in ref.items()})
    np.testing.assert_allclose(gx, 2 * central(C.mlp_loss, [params, X, Y], 1), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="structure"):
        s2sad.jvp(C.mlp_loss, (params, X, Y), ({"l1": tangent["l1"]}, None, None))


def test_a_dataclass_of_arrays_is_a_container():
    p = C.Layer(W=rng.normal(size=(2, 3)), b=rng.normal(size=2), scale=0.5)
    x = rng.normal(size=3)
    g = s2sad.grad(C.dataclass_loss)(p, x)
    assert isinstance(g, C.Layer) and type(g.scale) is float
    assert_tree_close(g, central_tree(C.dataclass_loss, [p, x], 0))


def test_jacobian_with_respect_to_a_container_has_its_structure():
    params = {"W": rng.normal(size=(2, 3)), "s": 0.7}
    x = rng.normal(size=3)
    J = s2sad.jacobian(C.vector_of_params)(params, x)
    assert J["W"].shape == (2, 2, 3) and np.shape(J["s"]) == (2,)
    for k in range(2):
        ref = central_tree(lambda p, x: C.vector_of_params(p, x)[k], [params, x], 0)
        np.testing.assert_allclose(J["W"][k], ref["W"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(J["s"][k], ref["s"], rtol=1e-6, atol=1e-8)


APPENDS = [C.trajectory, C.scalars_collected, C.indices_collected]


@pytest.mark.parametrize("fn", APPENDS, ids=[f.__name__ for f in APPENDS])
def test_a_list_appended_in_a_loop_then_stacked_in_every_mode(fn):
    x = np.array([0.3, -0.8, 0.5])
    ref = central(fn, [x], 0)
    np.testing.assert_allclose(s2sad.grad(fn)(x), ref, rtol=1e-6, atol=1e-8)
    v = np.array([0.2, -0.4, 0.9])
    assert s2sad.jvp(fn, (x,), (v,))[1] == pytest.approx(float(ref @ v), rel=1e-6, abs=1e-8)
    H = s2sad.hessian(fn)(x)
    H_ref = np.array([central(lambda y, k=k: s2sad.grad(fn)(y)[k], [x], 0) for k in range(3)])
    np.testing.assert_allclose(H, H_ref, rtol=1e-5, atol=1e-6)
    assert "np.zeros" in s2sad.grad(fn).source


def test_an_rnn_that_collects_its_states():
    W, x0, xs = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3), rng.normal(size=(5, 3))
    gW, gx0, gxs = s2sad.grad(C.rnn_states, argnums=(0, 1, 2))(W, x0, xs)
    for g, i in zip((gW, gx0, gxs), range(3)):
        np.testing.assert_allclose(g, central(C.rnn_states, [W, x0, xs], i), rtol=1e-6, atol=1e-8)


def test_appended_items_that_change_type_are_an_error_not_a_truncation():
    """np.array([0, 0.5, 1.0]) is float; an array of the first item's type (int) would truncate: refused."""
    with pytest.raises(AssertionError, match="change type"):
        s2sad.grad(C.items_change_type)(np.ones(3))


# --- returned containers -------------------------------------------------------------------------------

def jacobian_tree(f, args, i):
    """Central differences of every element of every leaf of f's output with respect to args[i] (an
    array): the output's structure, each leaf of shape leaf.shape + args[i].shape."""
    td, leaves = pytree.flatten(f(*args))
    parts = []
    for path, leaf in zip(pytree.paths(td), leaves):
        rows = [central(lambda *a, idx=idx, path=path: np.asarray(pytree.pick(f(*a), path))[idx], args, i)
                for idx in np.ndindex(np.shape(leaf))]
        parts.append(np.reshape(rows, np.shape(leaf) + np.shape(args[i])))
    return pytree.unflatten(td, parts)


RETURNED = [(C.two_outputs, lambda: (rng.normal(size=3), 1.3), 0), (C.two_outputs, lambda: (rng.normal(size=3), 1.3), 1),
            (C.named_outputs, lambda: (rng.normal(size=3),), 0), (C.returns_a_name, lambda: (rng.normal(size=3),), 0),
            (C.returns_a_helpers_pair, lambda: (rng.normal(size=3),), 0)]


@pytest.mark.parametrize("fn, make, i", RETURNED,
                         ids=["tuple", "tuple-wrt-scalar", "nested-dict", "dict-by-name", "helpers-pair-by-name"])
def test_a_returned_container_in_jvp_vjp_and_jacobian(fn, make, i):
    args = make()
    ref = jacobian_tree(fn, args, i)
    for mode in ("forward", "reverse", "auto"):
        J = s2sad.jacobian(fn, argnums=i, mode=mode)(*args)
        assert_tree_close(jax_like(J), ref)
    t = rng.normal(size=np.shape(args[i])) if np.ndim(args[i]) else 0.7
    tangents = tuple(t if k == i else (None if np.ndim(a) == 0 else np.zeros_like(a)) for k, a in enumerate(args))
    value, d = s2sad.jvp(fn, args, tangents)
    assert_tree_close(jax_like(value), jax_like(fn(*args)))
    td, refs = pytree.flatten(ref)
    want = [np.tensordot(r, t, axes=np.ndim(t)) for r in refs]
    assert_tree_close(jax_like(d), pytree.unflatten(td, [np.asarray(w, dtype=float) for w in want]))
    out, pullback = s2sad.vjp(fn, *args)
    cts = [rng.normal(size=np.shape(leaf)) for leaf in pytree.flatten(out)[1]]
    grads = pullback(pytree.unflatten(td, cts))
    want = sum(np.tensordot(c, r, axes=np.ndim(c)) for c, r in zip(cts, refs))
    np.testing.assert_allclose(grads[i], want, rtol=1e-6, atol=1e-8)


def jax_like(tree):
    """Every leaf an array (a float leaf and a 0-d array compare alike)."""
    td, leaves = pytree.flatten(tree)
    return pytree.unflatten(td, [np.asarray(x, dtype=float) for x in leaves])


def test_a_returned_container_with_a_params_dict_gives_the_jacobian_of_each_output_by_each_leaf():
    params = {"W": rng.normal(size=(2, 3)), "s": 0.7}
    x = rng.normal(size=3)
    J = s2sad.jacobian(C.layer_outputs)(params, x)
    assert set(J) == {"h", "norm"} and set(J["h"]) == {"W", "s"}
    assert J["h"]["W"].shape == (2, 2, 3) and np.shape(J["norm"]["W"]) == (2, 3)
    for out_key in ("h", "norm"):
        shape = np.shape(C.layer_outputs(params, x)[out_key])
        for idx in np.ndindex(shape):
            ref = central_tree(lambda p, x: np.asarray(C.layer_outputs(p, x)[out_key])[idx], [params, x], 0)
            np.testing.assert_allclose(np.asarray(J[out_key]["W"])[idx], ref["W"], rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(np.asarray(J[out_key]["s"])[idx], ref["s"], rtol=1e-6, atol=1e-8)
    _, pullback = s2sad.vjp(C.layer_outputs, params, x)
    gp, _ = pullback({"h": np.ones(2), "norm": 1.0})
    ref = central_tree(lambda p, x: np.sum(C.layer_outputs(p, x)["h"]) + C.layer_outputs(p, x)["norm"], [params, x], 0)
    assert_tree_close(gp, ref)


def test_grad_of_a_function_that_returns_a_container_says_which_transformations_take_it():
    with pytest.raises(DifferentiationError, match=r"containers_cases.py:\d+: grad needs one scalar output.*"
                                                   r"jvp, vjp and jacobian take"):
        s2sad.grad(C.two_outputs)(np.ones(2), 1.0)


@pytest.mark.parametrize("fn, make", [
    (C.dict_layer_loss, lambda: ({"W": rng.normal(size=(2, 3)) * 0.3, "b": rng.normal(size=2) * 0.1, "s": 1.3},
                                 rng.normal(size=3))),
    (C.list_loss, lambda: ([rng.normal(size=2), 0.5], rng.normal(size=2))),
], ids=["dict", "list"])
def test_the_hessian_with_respect_to_a_container_has_jax_nesting(fn, make):
    """H[k1][k2] has shape leaf1.shape + leaf2.shape: each block against central differences of the
    gradient's leaf k1 with respect to leaf k2."""
    params, x = make()
    H = s2sad.hessian(fn)(params, x)
    td, leaves = pytree.flatten(params)
    paths = pytree.paths(td)
    grad = s2sad.grad(fn)
    for a, pa in enumerate(paths):
        for b, pb in enumerate(paths):
            block = np.asarray(pytree.pick(pytree.pick(H, pa), pb))
            assert block.shape == np.shape(leaves[a]) + np.shape(leaves[b])
            for idx in np.ndindex(np.shape(leaves[a])):
                def g(leaf, idx=idx, a=a, b=b):
                    new = list(leaves)
                    new[b] = leaf
                    return np.asarray(pytree.flatten(grad(pytree.unflatten(td, new), x))[1][a])[idx]
                np.testing.assert_allclose(block[idx], central(g, [leaves[b]], 0), rtol=1e-5, atol=1e-8)


def test_an_item_read_from_a_helper_call_itself():
    """`helper(p, x)["energy"]` and `helper(x)[1]`: the call is computed once and read as a container or an
    array (it was read as an undefined temporary: a NameError, after a warning that the output did not
    depend on the input)."""
    params = {"W": rng.normal(size=(2, 2)) * 0.5, "b": rng.normal(size=2) * 0.1}
    x = rng.normal(size=2)
    assert_tree_close(s2sad.grad(C.energy_of_a_call)(params, x), central_tree(C.energy_of_a_call, [params, x], 0))
    np.testing.assert_allclose(s2sad.grad(C.energy_of_a_call, argnums=1)(params, x),
                               central(C.energy_of_a_call, [params, x], 1), rtol=1e-6, atol=1e-9)
    v = rng.normal(size=2)
    _, d = s2sad.jvp(C.element_of_a_call, (x,), (v,))
    ref = central(C.element_of_a_call, [x], 0)
    assert d == pytest.approx(float(ref @ v), rel=1e-6)
    H = s2sad.hessian(C.element_of_a_call)(x)
    for j in range(2):
        np.testing.assert_allclose(H[j], central(lambda z: s2sad.grad(C.element_of_a_call)(z)[j], [x], 0),
                                   rtol=1e-5, atol=1e-8)
