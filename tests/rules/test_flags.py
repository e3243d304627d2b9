"""The facts flagged on rules (reduction, view, shape_arg, pure) hold for the functions they describe,
checked by calling them: a flag is what the analyses and passes read, so a wrong one is a wrong pass."""
from __future__ import annotations

import ast

import numpy as np
import pytest

from s2sad import runtime as _rt
from s2sad.analysis import aliasing, effects
from s2sad.passes import algebra
from s2sad.rules import RULES, RUNS_USER_CODE, flagged, shape_arg

A3 = np.random.default_rng(0).normal(size=(2, 3, 4))


def _numpy(key: str):
    """The library function a key names: `np.` NumPy's, `scipy.` SciPy's."""
    if key.startswith("scipy."):
        import scipy.special
        obj = scipy
    else:
        obj = np
    for part in key.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("key", sorted(flagged("reduction")))
def test_a_reduction_gives_one_number_for_any_input(key):
    for a in (A3, A3[0], A3[0, 0]):
        assert np.ndim(_numpy(key)(a)) == 0, f"{key} of a {a.ndim}-D array"


def test_functions_that_keep_an_axis_are_not_reductions():
    for key in ("np.trace", "np.linalg.det", "np.cumsum", "np.sort"):
        assert key not in flagged("reduction")


VIEW_ARGS = {"np.reshape": ((12, 2),), "np.ravel": (), "np.transpose": (), "np.swapaxes": (0, 1),
             "np.expand_dims": (0,), "np.squeeze": (), "np.flip": (), "np.broadcast_to": ((5, 2, 3, 4),),
             "np.asarray": (), "np.diagonal": (), "np.diag": ()}
VIEW_ARGS.update({"np.flipud": (), "np.fliplr": (), "np.rot90": (), "np.moveaxis": (0, 2), "np.atleast_1d": (),
                  "np.atleast_2d": (), "np.atleast_3d": (), "np.split": (2,), "np.array_split": (3, 2), "np.hsplit": (3,), "np.vsplit": (2,), "np.dsplit": (2,)})
VIEW_INPUT = {"np.diag": A3[0]}      # np.diag takes a vector or a matrix: of a matrix, a view of its diagonal
VIEW_CALLS = {"np.einsum": lambda a: np.einsum("ijk->kji", a)}      # its subscripts come first
VIEW_OF_COMPLEX = ("np.real", "np.imag")      # the parts of a complex array are views of it


def test_every_view_shares_its_arguments_memory():
    assert set(VIEW_ARGS) | set(VIEW_CALLS) | set(VIEW_OF_COMPLEX) == {k for k in flagged("view") if k.startswith("np.")}
    for key, extra in VIEW_ARGS.items():
        a = VIEW_INPUT.get(key, A3)
        out = _numpy(key)(a, *extra)
        for part in out if isinstance(out, list) else [out]:       # the splits give a list of views
            assert np.shares_memory(part, a), key
    for key, call in VIEW_CALLS.items():
        assert np.shares_memory(call(A3), A3), key
    for key in VIEW_OF_COMPLEX:
        z = A3 * (1 + 1j)
        assert np.shares_memory(_numpy(key)(z), z), key
    assert {"reshape", "transpose", "view"} <= aliasing.views()


G = np.random.default_rng(1).normal(size=(2, 3))
X = np.random.default_rng(2).normal(size=(2, 3))
SHAPE_ARGS = {"_rt.unbroadcast": (G, X[0]), "_rt.sum_grad": (1.5, X), "_rt.mean_grad": (1.5, X),
              "_rt.full": (2.0, X), "_rt.mean_scale": (2.0, X), "_rt.sum_product": (G, X, X[0]), "_rt.zeros": (X,),
              "_rt.diff_grad": (G[:, :2], X), "_rt.diagonal_grad": (G[0, :2], X), "_rt.diag_grad": (G[0, :2], X),
              "_rt.trace_grad": (1.5, X), "_rt.repeat_grad": (np.arange(12.0), X, 2),
              "_rt.take_grad": (G[0], X, np.array([0, 5, 5])),
              "_rt.take_along_axis_grad": (G, X, np.array([[0, 0, 2], [1, 1, 1]]), 1),
              "_rt.kron_grad_a": (np.arange(36.0).reshape(4, 9), G, X), "_rt.kron_grad_b": (np.arange(36.0).reshape(4, 9), G, X),
              "_rt.polyval_grad_p": (G, X[0], G), "_rt.average_grad": (G[:, 0], X, 1, X ** 2 + 1.0),
              "_rt.pad_grad": (np.arange(20.0).reshape(4, 5), X, 1, "reflect"),
              "_rt.pad_grad_constant": (np.arange(20.0).reshape(4, 5), X, 1, (0.5, 2.0)),
              "_rt.split_grad": ([G[:, :1], G[:, 1:]], X, [1], 1),
              "_rt.interp_grad_fp": (G[0], X[0] + 1.0, np.array([0.0, 0.9, 2.0, 3.0]), G[1].tolist() + [0.5]),
              "_rt.interp_slope_grad": (G[0], X[0] + 1.0, np.array([0.0, 0.9, 2.0, 3.0]), np.ones(4))}
for _k in range(4):                  # np.einsum("ij,jk,i->k", ...): slot 0 the output, slots 1-3 the operands
    SHAPE_ARGS[f"_rt.einsum_grad{_k}"] = ("ij,jk,i->k", G[:, 1], G, X.T, X[:, 0])
for _k in range(4, 7):               # six operands
    SHAPE_ARGS[f"_rt.einsum_grad{_k}"] = ("ij,jk,k,kl,l,l->i", G[:, 1], G, X.T, X[:, 0], X, G[0], X[1])


def test_a_shape_argument_is_read_for_its_shape_only():
    assert set(SHAPE_ARGS) == {k for k, r in RULES.items() if r.shape_arg is not None}
    for key, args in SHAPE_ARGS.items():
        i = shape_arg(key)
        other = list(args)
        other[i] = np.full_like(args[i], 7.0)
        helper = getattr(_rt, key[4:])
        np.testing.assert_array_equal(helper(*args), helper(*other), err_msg=key)


def test_code_that_runs_the_users_code_or_prints_is_never_moved():
    impure = flagged("impure")
    assert {"print", "_rt.second_order", "_rt.custom1", "_rt.recurse6"} <= impure
    for key in sorted(impure | RUNS_USER_CODE):
        call = ast.parse(f"{key}(a)", mode="eval").body
        assert not effects.pure_call(call), key
    for src in ("np.sin(a)", "_rt.unbroadcast(a, b)", "float(a)", "len(a)", "max(a, b)"):
        assert effects.pure_call(ast.parse(src, mode="eval").body), src
    assert not effects.pure_call(ast.parse("np.random.normal(a)", mode="eval").body)


def test_the_fusion_pass_takes_a_reduction_of_one_argument_as_a_number():
    fuser = algebra.Algebra(set(), set())
    assert fuser.scalar(ast.parse("np.sum(a)", mode="eval").body)
    assert not fuser.scalar(ast.parse("np.sum(a, axis=0)", mode="eval").body)
    assert not fuser.scalar(ast.parse("np.trace(a)", mode="eval").body)     # an array for a 3-D a
