"""The suite's gradient cases on CuPy arrays: every rule case, every control-flow case, the transformation
family, the numerical and symbolic routes and compare.

Each test runs twice: on `fake_cupy` (NumPy behind CuPy's interface, strict about host arrays; runs
everywhere, CI included) and on real CuPy, which skips, saying what is missing, without a GPU. Results are
compared with the NumPy backend's (itself checked against independent references elsewhere). Every run
also checks that arrays stay on the device: no `.get()` on the way, and the gradient reads device values
back (for Python `if`/`while` tests) no more often than the function itself does.
"""
from __future__ import annotations

import types
import zlib

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import control_cases as C
import fake_cupy
import higher_cases as H
import rule_cases as rc
import s2sad
from s2sad import symbolic  # noqa: F401
import symbolic_cases as S
import test_random_programs as RP
from s2sad import backends
from s2sad.api import targets
from s2sad.codegen import cache, pipeline as compiler
from test_control_flow import CASES as FLOW_CASES
from test_higher_order import NO_SECOND
from test_rules import weights


def _forget():
    cache.memory_clear()
    targets.MEMO.clear()


@pytest.fixture(params=["fake_cupy", "cupy"])
def cp(request, monkeypatch):
    """The CuPy module of this run."""
    if request.param == "cupy":
        why = backends.missing_cupy()
        if why:
            pytest.skip(why)
        import cupy
        module = cupy
    else:
        module = fake_cupy.install(monkeypatch)
    _forget()
    yield module
    _forget()


def device(cp, args):
    return [cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]


def host(cp, value):
    if isinstance(value, tuple):
        return tuple(host(cp, v) for v in value)
    return cp.asnumpy(value) if isinstance(value, cp.ndarray) else value


class Traffic:
    """Counts what the fake reads back to the host (real CuPy: not counted)."""

    def __init__(self, cp):
        self.fake = getattr(cp, "__fake__", False)

    def __enter__(self):
        fake_cupy.reset()
        return self

    def __exit__(self, *exc):
        self.to_host, self.syncs = fake_cupy.TRAFFIC["to_host"], fake_cupy.TRAFFIC["syncs"]


REFUSALS = (TypeError, AttributeError, ValueError)   # CuPy's: wrong types, missing names, in-place shapes


def as_cupy_code(cp, fn):
    """`fn` with `np` rebound to the CuPy module: the user's function as its CuPy file spells it."""
    if not isinstance(fn, types.FunctionType) or "np" not in fn.__globals__:
        return fn
    return types.FunctionType(fn.__code__, {**fn.__globals__, "np": cp}, fn.__name__, fn.__defaults__,
                              fn.__closure__)


def run_on_device(cp, fn, args) -> tuple[int, Exception | None]:
    """(how often `fn`, written with `cp.` for `np.`, reads the device back; the error CuPy raised if
    it refuses that code on these arguments: `cp.dot(0.5, v)`, `cp.where` of Python numbers, ...).
    The gradient's CuPy file calls what that code calls, and may fail only where it does."""
    with Traffic(cp) as t:
        try:
            as_cupy_code(cp, fn)(*args)
        except REFUSALS as exc:
            return 0, exc
    return t.syncs, None


REFUSED = object()


def derive_as_cupy_allows(call, refused):
    """`call()` (a derivative on CuPy arrays), or REFUSED where it fails as the function itself does in
    CuPy (`refused`, from run_on_device): its CuPy file calls what that code calls."""
    try:
        return call()
    except REFUSALS:
        if refused is None:
            raise
        return REFUSED


def assert_on_device(cp, got, originals):
    for g, x in zip(got, originals):
        if isinstance(x, cp.ndarray):
            assert isinstance(g, cp.ndarray), f"a CuPy argument's gradient is a {type(g)}"
            assert g.shape == x.shape and g.dtype == (x.dtype if x.dtype.kind in "fc" else np.float64)
        elif type(x) is float:              # a float, or a 0-d array when computed on the device
            assert type(g) is float or isinstance(g, cp.ndarray) and g.shape == (), \
                f"a Python float's gradient is a {type(g)}"


def check_on_device(cp, fn, args, nums, rtol=1e-10, atol=1e-12):
    ref = s2sad.grad(fn, argnums=nums)(*args)
    dev = device(cp, args)
    allowed, refused = run_on_device(cp, fn, dev)
    g = s2sad.grad(fn, argnums=nums)
    if derive_as_cupy_allows(lambda: g(*dev), refused) is REFUSED:     # compiles: not counted
        return g
    with Traffic(cp) as t:
        got = g(*dev)
    assert_on_device(cp, got, [dev[i] for i in nums])
    if t.fake:
        assert t.to_host == 0, f"{t.to_host} device-to-host copies in the gradient"
        assert t.syncs <= allowed, f"the gradient reads the device {t.syncs} times, the function {allowed}"
    for a, r in zip(host(cp, got), ref):
        np.testing.assert_allclose(a, r, rtol=rtol, atol=atol)
    return g


@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_control_flow_case(cp, name, args):
    check_on_device(cp, getattr(C, name), args, tuple(range(len(args))))


@pytest.mark.parametrize("case", rc.ON_CUPY, ids=[c.id for c in rc.ON_CUPY])
def test_rule_case(cp, case):
    args = list(case.args) + [weights(case)]
    check_on_device(cp, case.fn, args, tuple(case.diff))


# --- forward mode and the transformation family --------------------------------------------------
def _tangents(case_id: str, args, diff):
    """A tangent of each argument in `diff`, of its kind (a float, a NumPy scalar or an array)."""
    r = np.random.default_rng(zlib.crc32(case_id.encode()))
    kind = {float: float, np.float64: np.float64}
    return [(kind[type(a)](r.normal()) if type(a) in kind else r.normal(size=np.shape(a))) if i in diff
            else None for i, a in enumerate(args)]


def _check_jvp(cp, fn, args, tangents, rtol=1e-10, atol=1e-12):
    ref_value, ref_tangent = s2sad.jvp(fn, tuple(args), tuple(tangents))
    dev, tdev = device(cp, args), device(cp, tangents)
    _, refused = run_on_device(cp, fn, dev)
    if derive_as_cupy_allows(lambda: s2sad.jvp(fn, tuple(dev), tuple(tdev)), refused) is REFUSED:
        return
    with Traffic(cp) as t:
        value, tangent = s2sad.jvp(fn, tuple(dev), tuple(tdev))
    if t.fake:
        assert t.to_host == 0
    if isinstance(ref_tangent, np.ndarray) and any(isinstance(a, cp.ndarray) for a in dev):
        assert isinstance(tangent, cp.ndarray), f"the tangent of CuPy arguments is a {type(tangent)}"
    np.testing.assert_allclose(host(cp, value), ref_value, rtol=rtol, atol=atol)
    np.testing.assert_allclose(host(cp, tangent), ref_tangent, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", rc.ON_CUPY, ids=[c.id for c in rc.ON_CUPY])
def test_rule_case_forward_mode(cp, case):
    args = list(case.args) + [weights(case)]
    _check_jvp(cp, case.fn, args, _tangents(case.id, args, case.diff))


@pytest.mark.parametrize("case", rc.ON_CUPY, ids=[c.id for c in rc.ON_CUPY])
def test_rule_case_hessian_vector_product(cp, case):
    """jvp(grad(f)): forward mode over the generated gradient, emitted as CuPy code."""
    if NO_SECOND.search(case.id):
        pytest.skip("no second derivative through this rule (a NonDifferentiableError, tested on NumPy)")
    i = case.diff[0]
    args = list(case.args) + [weights(case)]
    tangents = [v if j == i else None for j, v in enumerate(_tangents(case.id, args, (i,)))]
    _check_jvp(cp, s2sad.grad(case.fn, argnums=i), args, tangents, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_control_flow_case_forward_mode(cp, name, args):
    _check_jvp(cp, getattr(C, name), args, _tangents(name, args, range(len(args))))


def test_jacobian_both_modes_and_hessian(cp):
    x = np.linspace(-1.0, 1.2, 5)
    xd = cp.asarray(x)
    for mode in ("forward", "reverse", "auto"):
        J = s2sad.jacobian(H.sin_, mode=mode)(xd)
        assert isinstance(J, cp.ndarray) and J.shape == (5, 5)
        np.testing.assert_allclose(cp.asnumpy(J), np.diag(np.cos(x)), rtol=1e-14, atol=1e-15)
    Hd = s2sad.hessian(H.rosen)(xd)
    assert isinstance(Hd, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(Hd), H.rosen_hessian(x), rtol=1e-12)


def with_aux(x):
    return np.sum(x * x), np.max(x)


def test_vjp_value_and_grad_has_aux_and_grad_of_grad(cp):
    rng = np.random.default_rng(3)
    x, u = rng.normal(size=4), rng.normal(size=4)
    xd, ud = cp.asarray(x), cp.asarray(u)
    out, pullback = s2sad.vjp(H.sin_, xd)
    (g,) = pullback(ud)
    assert isinstance(out, cp.ndarray) and isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), u * np.cos(x), rtol=1e-14)

    value, g = s2sad.value_and_grad(H.rosen)(xd)
    ref_value, ref_g = s2sad.value_and_grad(H.rosen)(x)
    np.testing.assert_allclose(float(value), ref_value, rtol=1e-14)
    np.testing.assert_allclose(cp.asnumpy(g), ref_g, rtol=1e-12)

    g, aux = s2sad.grad(with_aux, has_aux=True)(xd)
    np.testing.assert_allclose(cp.asnumpy(g), 2 * x, rtol=1e-15)
    np.testing.assert_allclose(float(aux), x.max())

    d2 = s2sad.grad(s2sad.grad(H.square))(cp.asarray(0.7))      # d2/dx2 x*x = 2
    np.testing.assert_allclose(float(d2), 2.0)
    g = s2sad.grad(H.detach)(xd)
    np.testing.assert_allclose(cp.asnumpy(g), s2sad.grad(H.detach)(x), rtol=1e-14)


WEIGHTS = np.array([0.5, -1.0, 2.0])     # a NumPy global read by a function differentiated on the GPU


def weighted(x, data):
    return np.sum(WEIGHTS * np.sin(x) * data)


def test_numpy_globals_and_arguments_beside_cupy_ones_go_to_the_device(cp):
    x, data = np.array([0.1, 0.7, -0.4]), np.array([1.0, 2.0, 3.0])
    g = s2sad.grad(weighted)(cp.asarray(x), data)          # data stays a NumPy array here
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), WEIGHTS * np.cos(x) * data, rtol=1e-15)


def test_numpy_arguments_go_to_the_device_when_cupy_is_forced(cp):
    """backend="cupy" with NumPy arrays in: they are copied to the GPU and the gradient is a CuPy array."""
    x = np.array([0.3, -1.2, 2.0])
    g = s2sad.grad(H.rosen, backend="cupy")(x)
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), s2sad.grad(H.rosen)(x), rtol=1e-14)


# --- the numerical and symbolic routes, and compare ---------------------------------------------
@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_numerical_gradient_on_device(cp, method):
    x = np.array([0.3, -0.8, 1.1, 0.5])
    g = s2sad.numerical.grad(H.rosen, method=method)(cp.asarray(x))
    assert isinstance(g, cp.ndarray) and g.dtype == np.float64
    tol = {"forward": 1e-5, "central": 1e-7, "complex": 1e-13}[method]
    np.testing.assert_allclose(cp.asnumpy(g), s2sad.grad(H.rosen)(x), rtol=tol, atol=tol)
    J = s2sad.numerical.jacobian(H.sin_, method=method)(cp.asarray(x))
    assert isinstance(J, cp.ndarray) and J.shape == (4, 4)
    np.testing.assert_allclose(cp.asnumpy(J), np.diag(np.cos(x)), rtol=tol, atol=tol)


def test_symbolic_gradient_prints_cupy_code_and_runs_it(cp):
    x = np.array([0.3, -0.8, 1.1])
    g = s2sad.symbolic.grad(S.rosen_vec)
    got = g(cp.asarray(x))
    assert isinstance(got, cp.ndarray)
    assert "import cupy as cp" in g.source and "np." not in g.source
    np.testing.assert_allclose(cp.asnumpy(got), s2sad.grad(S.rosen_vec)(x), rtol=1e-13)


def test_compare_on_device_arrays(cp):
    x = np.array([0.3, -0.8, 1.1])
    report = s2sad.compare(H.rosen, cp.asarray(x), min_time=1e-4, repeat=2)
    rows = {r["approach"]: r for r in report.rows}
    for name, r in rows.items():
        assert r["error"] is None, f"{name}: {r['error']}"
        assert isinstance(r["gradient"], cp.ndarray), f"{name} gave a {type(r['gradient'])}"
        assert r["seconds_per_call"] > 0
    assert report.reference.startswith("symbolic")
    assert rows["automatic (reverse)"]["abs_error"] < 1e-12
    assert rows["numerical (central)"]["abs_error"] < 1e-6
    text = str(report)
    assert "automatic (reverse)" in text and "symbolic" in text


def test_gpu_benchmark_runs_and_checks_its_gradients(cp):
    """benchmarks/gpu_run.py at toy sizes: its cases run, s2sad's gradients stay on the device and agree
    with the hand-written CuPy ones (the timing itself is only meaningful on a GPU)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_run.py"
    spec = importlib.util.spec_from_file_location("gpu_run", path)
    gpu_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_run)
    rows = gpu_run.run(cp, {"rosenbrock": 1000, "batch": 16}, peers=False, repeats=1, min_time=1e-4)
    assert [r["case"] for r in rows] == ["rosenbrock", "mlp_mse", "mlp_xent"]
    assert all(r["s2sad_s"] > 0 and r["hand_s"] > 0 for r in rows)
    assert "rosenbrock" in gpu_run.table(rows)


# --- random programs (tests/e2e/test_random_programs.py's generator) on CuPy arrays -----------------
@RP.SETTINGS
@given(st.data())
def test_random_programs_on_device(cp, tmp_path_factory, data):
    """Randomly composed programs with if / for / while / break: the CuPy gradient equals the NumPy
    one (itself checked against central differences in test_random_programs.py)."""
    mod, x, y = RP.control_flow_program(data, tmp_path_factory.mktemp("device_programs"))
    try:
        ref = s2sad.grad(mod.f, argnums=(0, 1))(x.copy(), y)
    except (ValueError, s2sad.UnsupportedSyntaxError):
        assume(False)          # refused on NumPy too (see test_random_programs.py)
    dev = device(cp, [x, y])
    _, refused = run_on_device(cp, mod.f, [dev[0].copy(), dev[1]])
    got = derive_as_cupy_allows(lambda: s2sad.grad(mod.f, argnums=(0, 1))(dev[0].copy(), dev[1]), refused)
    if got is REFUSED:
        return
    assert_on_device(cp, got, dev)
    for a, r in zip(host(cp, got), ref):
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-11)


def test_dtypes_and_shapes_on_device(cp):
    """float32 stays float32, ints become float64, 0-d and empty arrays keep their shapes (as on NumPy)."""
    x32 = np.array([0.3, -0.2, 0.9], dtype=np.float32)
    g = s2sad.grad(H.rosen)(cp.asarray(x32))
    assert isinstance(g, cp.ndarray) and g.dtype == np.float32
    np.testing.assert_allclose(cp.asnumpy(g), s2sad.grad(H.rosen)(x32), rtol=1e-6)
    gi = s2sad.grad(H.rosen)(cp.asarray(np.array([1, 2, 0])))
    assert isinstance(gi, cp.ndarray) and gi.dtype == np.float64
    np.testing.assert_allclose(cp.asnumpy(gi), s2sad.grad(H.rosen)(np.array([1.0, 2.0, 0.0])))
    g0 = s2sad.grad(H.square)(cp.asarray(np.array(1.5)))
    assert isinstance(g0, cp.ndarray) and g0.shape == () and float(g0) == 3.0
    ge = s2sad.grad(sum_of_sines)(cp.asarray(np.zeros((3, 0))))
    assert isinstance(ge, cp.ndarray) and ge.shape == (3, 0)


def sum_of_sines(x):
    return np.sum(np.sin(x))


@pytest.mark.parametrize("make", [s2sad.grad, s2sad.value_and_grad], ids=["grad", "value_and_grad"])
def test_the_cupy_source_shown_without_a_gpu_is_the_file_that_runs(cp, make):
    """`.source` of backend="cupy" on a machine without CuPy (and `show --backend cupy`) generate the
    text without loading it: it is the very file that runs on CuPy arrays."""
    g = make(H.rosen)
    g(cp.asarray(np.array([0.3, -0.2, 0.9])))
    shown = compiler.grad_source(H.rosen, 0, False, "cupy", value=make is s2sad.value_and_grad)
    assert g._compiled["cupy"].source == shown
    assert ("(None, x_bar)" in shown) == (make is s2sad.grad)      # grad does not compute the value
