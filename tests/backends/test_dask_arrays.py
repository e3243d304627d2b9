"""The suite's gradient cases on dask arrays cut into several chunks: every rule case, every control-flow
case, forward mode, Hessians and Jacobians, random programs, and dask.distributed clusters of threads and
of processes.

Values are compared with the NumPy backend's (itself checked against independent references elsewhere).
Every run also checks that the gradient stays lazy: it is a dask array, and making it computes no more
often than the function itself does (its `if` and `while` tests on data). Where dask.array cannot run a
gradient, the call raises a DifferentiationError naming the user's line; the cases where it does so
though the function itself runs on dask arrays are listed below, each with its reason.
"""
from __future__ import annotations

import re
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import dask
import dask.array as da
from dask import distributed
from dask.callbacks import Callback

import control_cases as C
import higher_cases as H
import rule_cases as rc
import s2sad
import test_random_programs as RP
from differential import dask_chunked as chunked
from test_control_flow import CASES as FLOW_CASES
from test_higher_order import NO_SECOND
from test_rules import weights

# gradients dask.array cannot run although the function itself runs on dask arrays: id pattern -> why
GRADIENT_ONLY = {
    r"^(quantile|median|percentile)": "the rule sorts along an axis: dask.array has no argsort",
    r"^scipy-": "scipy.special takes NumPy arrays only",
    r"^getitem-last-row-step$": "dask cannot assign through a slice of negative step",
    r"^(expand_dims-f|hstack-scalars|atleast-f)$": "dask.array's functions take arrays, not Python floats",
    r"^full-r$": "dask.array's full takes a scalar fill value only",
    r"^repeat-0d$": "dask.array's repeat needs an axis",
}


def _gradient_only(case_id: str) -> bool:
    return any(re.search(p, case_id) for p in GRADIENT_ONLY)


class Computes(Callback):
    """Counts the task graphs dask computes while it is active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


@pytest.fixture(autouse=True)
def _no_silent_numpy():
    """dask hands a NumPy function it does not implement to NumPy, computing the array on the way, with a
    FutureWarning: an error here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*is not implemented by Dask array.*")
        with dask.config.set(scheduler="synchronous"):
            yield


def runs_on_dask(fn, args) -> tuple[int, bool]:
    """(how many graphs the function computes on dask arguments, whether it runs at all)."""
    try:
        with Computes() as c:
            out = fn(*args)
        dask.compute(out)
    except Exception:
        return 0, False
    return c.count, True


def check_on_dask(fn, args, nums, case_id="", rtol=1e-12, atol=1e-13):
    ref = s2sad.grad(fn, argnums=nums)(*args)
    dargs = [chunked(a) for a in args]
    allowed, runs = runs_on_dask(fn, dargs)
    g = s2sad.grad(fn, argnums=nums)
    try:
        g(*dargs)                                    # compiles: not counted
    except s2sad.DifferentiationError as exc:
        assert re.search(r"\.py:\d+: ", str(exc)), f"the refusal names no line: {exc}"
        assert not runs or _gradient_only(case_id), f"refused though the function runs on dask: {exc}"
        return None
    with Computes() as c:
        got = g(*dargs)
    assert c.count <= allowed, f"the gradient computed {c.count} times, the function {allowed}"
    for i, gi in zip(nums, got):
        if isinstance(dargs[i], da.Array):
            assert isinstance(gi, da.Array) and gi.shape == dargs[i].shape, f"a dask argument's gradient is {type(gi)}"
    for a, r in zip(dask.compute(*got), ref):
        np.testing.assert_allclose(np.asarray(a), r, rtol=rtol, atol=atol)
    return got


@pytest.mark.parametrize("case", rc.CASES, ids=[c.id for c in rc.CASES])
def test_rule_case(case):
    args = list(case.args) + [weights(case)]
    try:
        s2sad.grad(case.fn, argnums=tuple(case.diff))(*args)
    except Exception:
        pytest.skip("refused on NumPy too (tested there)")
    check_on_dask(case.fn, args, tuple(case.diff), case.id)


@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_control_flow_case(name, args):
    assert check_on_dask(getattr(C, name), args, tuple(range(len(args))), name) is not None


def test_every_listed_refusal_still_happens():
    """GRADIENT_ONLY lists no case that runs now: a fixed gap is taken off the list."""
    listed = [c for c in rc.CASES if _gradient_only(c.id) and not c.id.startswith("scipy-")]
    for pattern in GRADIENT_ONLY:
        assert any(re.search(pattern, c.id) for c in rc.CASES), f"{pattern} matches no case"
    for case in listed:
        args = [chunked(a) for a in list(case.args) + [weights(case)]]
        if not runs_on_dask(case.fn, args)[1]:
            continue                         # the function itself does not run on dask arrays
        with pytest.raises(s2sad.DifferentiationError):
            s2sad.grad(case.fn, argnums=tuple(case.diff))(*args)


# --- forward mode, second order, the transformation family ------------------------------------------
def _tangents(case_id: str, args, diff):
    r = np.random.default_rng(zlib.crc32(case_id.encode()))
    return [(float(r.normal()) if type(a) is float else r.normal(size=np.shape(a))) if i in diff else None
            for i, a in enumerate(args)]


def _check_jvp(fn, args, tangents, case_id, rtol=1e-12, atol=1e-13):
    ref_value, ref_tangent = s2sad.jvp(fn, tuple(args), tuple(tangents))
    dargs, dtan = [chunked(a) for a in args], [chunked(t) for t in tangents]
    try:
        value, tangent = s2sad.jvp(fn, tuple(dargs), tuple(dtan))
    except s2sad.DifferentiationError as exc:
        assert re.search(r"\.py:\d+: ", str(exc)), f"the refusal names no line: {exc}"
        assert not runs_on_dask(fn, dargs)[1] or _gradient_only(case_id), str(exc)
        return
    if np.ndim(ref_tangent):
        assert isinstance(tangent, da.Array)
    value, tangent = dask.compute(value, tangent)
    np.testing.assert_allclose(np.asarray(value), ref_value, rtol=rtol, atol=atol)
    np.testing.assert_allclose(np.asarray(tangent), ref_tangent, rtol=rtol, atol=atol)


SAMPLE = rc.CASES[::5]


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_rule_case_forward_mode(case):
    args = list(case.args) + [weights(case)]
    try:
        s2sad.jvp(case.fn, tuple(args), tuple(_tangents(case.id, args, case.diff)))
    except Exception:
        pytest.skip("refused on NumPy too (tested there)")
    _check_jvp(case.fn, args, _tangents(case.id, args, case.diff), case.id)


@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_control_flow_case_forward_mode(name, args):
    _check_jvp(getattr(C, name), args, _tangents(name, args, range(len(args))), name)


@pytest.mark.parametrize("case", SAMPLE[::2], ids=[c.id for c in SAMPLE[::2]])
def test_rule_case_hessian_vector_product(case):
    if NO_SECOND.search(case.id):
        pytest.skip("no second derivative through this rule (a NonDifferentiableError, tested on NumPy)")
    i = case.diff[0]
    args = list(case.args) + [weights(case)]
    tangents = [v if j == i else None for j, v in enumerate(_tangents(case.id, args, (i,)))]
    try:
        s2sad.jvp(s2sad.grad(case.fn, argnums=i), tuple(args), tuple(tangents))
    except Exception:
        pytest.skip("refused on NumPy too (tested there)")
    _check_jvp(s2sad.grad(case.fn, argnums=i), args, tangents, case.id, rtol=1e-10, atol=1e-11)


def test_jacobian_in_every_mode_and_hessian():
    x = np.linspace(-1.0, 1.2, 6)
    xd = chunked(x)
    for mode in ("forward", "reverse", "auto"):
        J = s2sad.jacobian(H.sin_, mode=mode)(xd)
        assert isinstance(J, da.Array) and J.shape == (6, 6)
        np.testing.assert_allclose(J.compute(), np.diag(np.cos(x)), rtol=1e-14, atol=1e-15)
    Hd = s2sad.hessian(H.rosen)(xd)
    assert isinstance(Hd, da.Array)
    np.testing.assert_allclose(Hd.compute(), H.rosen_hessian(x), rtol=1e-12)


def test_vjp_value_and_grad_and_has_aux():
    rng = np.random.default_rng(3)
    x, u = rng.normal(size=6), rng.normal(size=6)
    out, pullback = s2sad.vjp(H.sin_, chunked(x))
    (g,) = pullback(chunked(u))
    assert isinstance(out, da.Array) and isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), u * np.cos(x), rtol=1e-14)
    value, g = s2sad.value_and_grad(H.rosen)(chunked(x))
    ref_value, ref_g = s2sad.value_and_grad(H.rosen)(x)
    np.testing.assert_allclose(float(value), ref_value, rtol=1e-13)
    np.testing.assert_allclose(g.compute(), ref_g, rtol=1e-12)


# --- NumPy values beside dask ones, laziness, refusals ------------------------------------------------
def logistic_loss(w, X, y):
    p = 1 / (1 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def _data(rows=1000, features=4):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(rows, features))
    y = (rng.random(rows) > 0.5).astype(float)
    return X, y, rng.normal(size=features) * 0.1


def test_numpy_weights_beside_dask_data_get_a_dask_gradient():
    """A NumPy argument beside dask ones becomes a one-chunk dask array: every gradient is a dask array."""
    X, y, w = _data()
    Xd, yd = da.from_array(X, chunks=(250, 4)), da.from_array(y, chunks=250)
    gw, gX = s2sad.grad(logistic_loss, argnums=(0, 1))(w, Xd, yd)
    assert isinstance(gw, da.Array) and gw.shape == w.shape and gw.numblocks == (1,)
    assert isinstance(gX, da.Array) and gX.chunks == Xd.chunks
    ref_w, ref_X = s2sad.grad(logistic_loss, argnums=(0, 1))(w, X, y)
    got_w, got_X = dask.compute(gw, gX)
    np.testing.assert_allclose(got_w, ref_w, rtol=1e-12)
    np.testing.assert_allclose(got_X, ref_X, rtol=1e-12, atol=1e-16)


def test_a_straight_line_gradient_computes_nothing_until_asked():
    X, y, w = _data()
    Xd, yd = da.from_array(X, chunks=(250, 4)), da.from_array(y, chunks=250)
    g = s2sad.grad(logistic_loss)
    g(w, Xd, yd)                                   # compiles
    with Computes() as c:
        gw = g(w, Xd, yd)
    assert c.count == 0 and isinstance(gw, da.Array)
    assert len(gw.dask) > 4 * Xd.numblocks[0]      # a graph over the chunks, not one gathered array


def test_a_python_float_argument_gets_a_lazy_0d_gradient():
    def f(s, x):
        return np.sum(np.sin(s * x))
    x = np.linspace(0, 1, 8)
    g = s2sad.grad(f)(0.5, chunked(x))
    assert isinstance(g, da.Array) and g.shape == ()
    np.testing.assert_allclose(float(g), s2sad.grad(f)(0.5, x), rtol=1e-13)


def test_backend_dask_with_numpy_arrays_and_auto():
    x = np.array([0.3, -1.2, 2.0, 0.7])
    g = s2sad.grad(H.rosen, backend="dask")(x)
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), s2sad.grad(H.rosen)(x), rtol=1e-14)
    assert isinstance(s2sad.grad(H.rosen)(chunked(x)), da.Array)          # "auto": dask arrays in
    assert type(s2sad.grad(H.rosen)(x)) is np.ndarray


def sorted_sum(x):
    return np.sum(np.sort(x) * np.arange(x.shape[0]))


def test_a_numpy_function_dask_lacks_is_refused_with_the_line():
    with pytest.raises(s2sad.DifferentiationError, match=r"test_dask_arrays\.py:\d+: np\.sort has no dask\.array "
                       r"form .*use backend='numpy'") as e:
        s2sad.grad(sorted_sum)(chunked(np.array([3.0, 1.0, 2.0, 5.0])))
    assert "np.sum(np.sort(x)" in str(e.value)


def branchy(x):
    s = 0.0
    for i in range(3):
        if np.sum(x) > 0:
            x = np.sin(x) * x
        else:
            x = x * 2
        s = s + np.sum(x)
    return s


def test_a_branch_on_data_is_computed_once_per_test():
    x = chunked(np.linspace(-0.5, 1.0, 6))
    g = s2sad.grad(branchy)
    g(x)
    with Computes() as c:
        got = g(x)
    assert c.count == 3                      # the function's three tests, none again in the reverse sweep
    src = g.source
    code = [line for line in src.splitlines() if not line.lstrip().startswith("#")]
    assert "import dask.array as da" in code and not any("np." in line for line in code)
    assert "dask.array backend" in src
    assert "cond1 = bool(da.sum(x) > 0)" in src
    np.testing.assert_allclose(got.compute(), s2sad.grad(branchy)(x.compute()), rtol=1e-13)


# --- random programs (tests/e2e/test_random_programs.py's generator) on dask arrays -----------------
@RP.SETTINGS
@given(st.data())
def test_random_programs_on_dask(tmp_path_factory, data):
    mod, x, y = RP.control_flow_program(data, tmp_path_factory.mktemp("dask_programs"))
    try:
        ref = s2sad.grad(mod.f, argnums=(0, 1))(x.copy(), y)
    except (ValueError, s2sad.UnsupportedSyntaxError):
        assume(False)
    dx, dy = chunked(x.copy()), chunked(y)
    try:
        got = s2sad.grad(mod.f, argnums=(0, 1))(dx, dy)
    except s2sad.DifferentiationError as exc:
        assert not runs_on_dask(mod.f, [chunked(x.copy()), dy])[1], str(exc)
        return
    for a, r in zip(dask.compute(*got), ref):
        np.testing.assert_allclose(np.asarray(a), r, rtol=1e-10, atol=1e-12)


# --- dask.distributed ---------------------------------------------------------------------------------
@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_on_a_local_cluster(processes):
    """The generated gradient builds its graph where it is called; a cluster's workers (threads, or
    processes of their own) run its tasks."""
    X, y, w = _data(rows=4000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        Xd, yd = da.from_array(X, chunks=(1000, 4)), da.from_array(y, chunks=1000)
        gw = s2sad.grad(logistic_loss)(w, Xd, yd)
        got = client.compute(gw).result()
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(got, s2sad.grad(logistic_loss)(w, X, y), rtol=1e-12)


def test_the_numerical_route_and_compare_ask_for_computed_arrays():
    x = chunked(np.linspace(0.1, 0.9, 6))
    with pytest.raises(s2sad.DifferentiationError, match=r"not a lazy dask array.*x\.compute\(\)"):
        s2sad.numerical.grad(H.rosen)(x)
    with pytest.raises(s2sad.DifferentiationError, match=r"not on lazy dask arrays: pass `x\.compute\(\)`"):
        s2sad.compare(H.rosen, x)
    g = s2sad.symbolic.grad(H.rosen)(x)            # the symbolic route prints NumPy code, which dask runs
    np.testing.assert_allclose(np.asarray(g.compute()), s2sad.grad(H.rosen)(x.compute()), rtol=1e-13)


SCATTERS = [((6,), [1, 1, 2], (3,)), ((6, 4), [0, 5, 0, 2], (4, 4)), ((6, 4), (slice(None), np.array([1, 1, 3])), (6, 3)),
            ((6, 4), np.array([True, False, True, False, False, True]), (3, 4)), ((5,), [-1, 4, 0], (3,)),
            ((4, 3), (2, [0, 0]), (2,)), ((5,), [-1, -2], (2,)), ((5,), [3, 0, 4], (3,)), ((5, 3), [4, 1], (2, 3)),
            ((3, 5), (slice(None), [4, 0, 4, 2]), (3, 4)), ((3, 4), (None, slice(None), slice(1, 3)), (1, 3, 2)),
            ((3, 4), (Ellipsis, 2), (3,)), ((2, 3, 4), (0, Ellipsis, None, slice(0, 2)), (3, 1, 2)),
            ((3, 4), (1,), (4,)), ((3, 4), (slice(None), 1), 0.5)]


@pytest.mark.parametrize("shape, index, gshape", SCATTERS, ids=[str(i) for i in range(len(SCATTERS))])
def test_the_scatter_add_dask_lacks_adds_as_numpy_does(shape, index, gshape):
    """runtime.add_at on dask arrays: repeats add up, unsorted and negative indices keep their order."""
    from s2sad.runtime import add_at
    rng = np.random.default_rng(len(str(index)))
    g = rng.normal(size=gshape) if isinstance(gshape, tuple) else gshape
    want = np.zeros(shape)
    np.add.at(want, index, g)
    z = da.zeros(shape, chunks=2)
    add_at(z, index, chunked(g) if isinstance(g, np.ndarray) else g)
    np.testing.assert_array_equal(z.compute(), want)


def params_loss(p, X):
    return np.sum(np.tanh(X @ p["w"] + p["b"]) ** 2)


def test_a_params_dict_beside_dask_data_and_vmap_refused():
    X = np.random.default_rng(0).normal(size=(6, 3))
    p = {"w": np.full(3, 0.1), "b": 0.2}
    got = s2sad.grad(params_loss)(p, chunked(X))
    want = s2sad.grad(params_loss)(p, X)
    assert isinstance(got["w"], da.Array) and isinstance(got["b"], da.Array)
    np.testing.assert_allclose(got["w"].compute(), want["w"], rtol=1e-13)
    np.testing.assert_allclose(float(got["b"]), want["b"], rtol=1e-13)
    with pytest.raises(s2sad.DifferentiationError, match="vmap takes NumPy .*not lazy dask arrays"):
        s2sad.vmap(s2sad.grad(lambda w, x: np.sum(np.tanh(x @ w))), in_axes=(None, 0))(p["w"], chunked(X))
