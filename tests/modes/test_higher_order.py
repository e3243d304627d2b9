"""Forward mode, vjp, jacobian, hessian, grad of grad, stop_gradient and custom rules.

Forward and reverse are checked against each other and against central differences on the cases of
the rule and control-flow tests (shared, not copied); second derivatives against differences of the
gradient and against hand-derived formulas.
"""
from __future__ import annotations

import re
import zlib

import numpy as np
import pytest

import control_cases as C
import higher_cases as H
import rule_cases as rc
import s2sad
from reference import central
from scipy.special import ndtri
from s2sad.rules import RULES
from test_control_flow import CASES as FLOW_CASES
from test_rules import weights

rng = np.random.default_rng(11)


def _like(x, r):
    if type(x) is float:
        return float(r.normal())
    return r.normal(size=np.shape(x))


def _rule_args(case):
    return list(case.args) + [weights(case)]


def _dot(a, b) -> float:
    return float(np.sum(np.asarray(a) * np.asarray(b)))


# --- forward mode agrees with reverse mode and with differences ---------------------------------
@pytest.mark.parametrize("case", rc.CASES, ids=[c.id for c in rc.CASES])
def test_forward_agrees_with_reverse_on_every_rule(case):
    """J v (forward) equals <grad, v> (reverse), and both equal the directional central difference."""
    args = _rule_args(case)
    r = np.random.default_rng(zlib.crc32(case.id.encode()))
    tangents = [(_like(a, r) if i in case.diff else None) for i, a in enumerate(args)]
    value, jv = s2sad.jvp(case.fn, tuple(args), tuple(tangents))
    np.testing.assert_allclose(value, case.fn(*args), rtol=1e-12, atol=1e-12)
    grads = s2sad.grad(case.fn, argnums=case.diff)(*args)
    expected = sum(_dot(g, tangents[i]) for g, i in zip(grads, case.diff))
    np.testing.assert_allclose(jv, expected, rtol=1e-9, atol=1e-10)

    def along(eps):
        return case.fn(*[a if t is None else a + eps * t for a, t in zip(args, tangents)])
    h = 1e-6
    np.testing.assert_allclose(jv, (along(h) - along(-h)) / (2 * h), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_forward_agrees_with_reverse_through_control_flow(name, args):
    f = getattr(C, name)
    r = np.random.default_rng(zlib.crc32(name.encode()))
    tangents = [_like(a, r) if not isinstance(a, np.floating) else float(r.normal()) for a in args]
    value, jv = s2sad.jvp(f, tuple(args), tuple(tangents))
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    grads = s2sad.grad(f, argnums=tuple(range(len(args))))(*args)
    np.testing.assert_allclose(jv, sum(_dot(g, t) for g, t in zip(grads, tangents)), rtol=1e-9, atol=1e-10)


# --- second derivatives: forward over reverse, on every rule ----------------------------------
# documented: second derivatives s2sad does not give (a clear NonDifferentiableError instead): products
# (the exact-with-zeros rule is not differentiated again) and the spectral and nuclear matrix norms
NO_SECOND = re.compile(r"ordnuc|norm-[mb]-ord-?2-(kd|axis\d\d)")


@pytest.mark.parametrize("case", rc.CASES, ids=[c.id for c in rc.CASES])
def test_hessian_vector_product_on_every_rule(case):
    """jvp(grad(f)) is H v: compared with central differences of the (reverse-mode) gradient."""
    i = case.diff[0]
    args = _rule_args(case)
    r = np.random.default_rng(zlib.crc32(case.id.encode()) + 1)
    v = _like(args[i], r)
    g = s2sad.grad(case.fn, argnums=i)
    tangents = [v if j == i else None for j in range(len(args))]
    if NO_SECOND.search(case.id):
        with pytest.raises(s2sad.NonDifferentiableError, match="second derivative"):
            s2sad.jvp(g, tuple(args), tuple(tangents))
        return
    _, hv = s2sad.jvp(g, tuple(args), tuple(tangents))

    def grad_at(eps):
        shifted = list(args)
        shifted[i] = args[i] + eps * v
        return np.asarray(g(*shifted), dtype=float)
    h = 1e-5
    fd = (grad_at(h) - grad_at(-h)) / (2 * h)
    scale = max(1.0, float(np.max(np.abs(fd))))
    np.testing.assert_allclose(hv, fd, rtol=1e-4, atol=1e-5 * scale)


def test_every_runtime_rule_is_met_by_a_second_derivative():
    """Each `_rt.*` helper with a rule appears in some generated gradient of the rule cases, so the
    Hessian-vector test above runs its forward rule."""
    seen = set()
    for case in rc.CASES:
        src = s2sad.grad(case.fn, argnums=case.diff).source
        seen |= set(re.findall(r"_rt\.(\w+)\(", src))
    wanted = {k[4:] for k, r in RULES.items() if k.startswith("_rt.") and r.differentiable
              and not k.startswith(("_rt.custom", "_rt.recurse"))}
    # helpers only met in forward-mode output or through loops / custom rules
    wanted -= {"tangent_like", "owned", "rebroadcast", "extremum_jvp", "var_jvp", "getitem_grad", "sort_jvp",
               "prod_jvp", "einsum_grad0", "pad_linear", "quantile_jvp", "interp_fp", "interp_slope_grad",
               "fft_again", "parts"}   # fft_grad's transpose: reverse over reverse only (tests/analysis/test_complexity.py)
    assert wanted - seen == set()


# --- the seed cases ---------------------------------------------------------------------------
def test_xxy_first_and_second_derivative():
    assert s2sad.grad(H.xxy)(2.0, 3.0) == 12.0
    assert s2sad.grad(s2sad.grad(H.xxy))(2.0, 3.0) == 6.0
    # mixed partial d2z/dxdy = 2x
    assert s2sad.grad(s2sad.grad(H.xxy), argnums=1)(2.0, 3.0) == 4.0


def test_third_derivative_of_sin_is_minus_cos():
    d3 = s2sad.grad(s2sad.grad(s2sad.grad(H.sin_)))
    for x in (0.0, 0.4, 1.3, -2.0):
        assert d3(x) == pytest.approx(-np.cos(x), rel=1e-12, abs=1e-15)
    assert s2sad.grad(s2sad.grad(s2sad.grad(s2sad.grad(H.sin_))))(0.7) == pytest.approx(np.sin(0.7))


def test_rosenbrock_hessian_against_hand_derived():
    x = rng.normal(size=6)
    Hm = s2sad.hessian(H.rosen)(x)
    np.testing.assert_allclose(Hm, H.rosen_hessian(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(Hm, Hm.T)


def test_rosenbrock_hessian_through_a_loop():
    x = rng.normal(size=5)
    np.testing.assert_allclose(s2sad.hessian(C.rosen_loop)(x), H.rosen_hessian(x), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("name, args", [c for c in FLOW_CASES if c[0] in
                                        ("seed", "rosen_vec", "nested", "tern", "mathy", "calls", "cumulative")])
def test_hessians_are_symmetric_through_control_flow(name, args):
    f = getattr(C, name)
    Hm = np.atleast_2d(s2sad.hessian(f)(*args))
    np.testing.assert_allclose(Hm, Hm.T, rtol=1e-9, atol=1e-9)


def test_hessian_vector_product_is_jvp_of_grad():
    x, v = rng.normal(size=7), rng.normal(size=7)
    g, hv = s2sad.jvp(s2sad.grad(H.rosen), (x,), (v,))
    np.testing.assert_allclose(hv, H.rosen_hessian(x) @ v, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(g, s2sad.grad(H.rosen)(x), rtol=1e-15)


# --- vjp and jacobian -------------------------------------------------------------------------
def test_vjp_of_a_non_scalar_output_with_ones_is_2x():
    x = np.arange(4.0)
    out, pullback = s2sad.vjp(H.square, x)
    np.testing.assert_array_equal(out, x * x)
    (gx,) = pullback(np.ones(4))
    np.testing.assert_array_equal(gx, 2 * x)
    (gx,) = pullback(np.array([1.0, 0.0, 2.0, -1.0]))
    np.testing.assert_array_equal(gx, 2 * x * [1.0, 0.0, 2.0, -1.0])
    with pytest.raises(ValueError, match="shape"):
        pullback(np.ones(3))


def test_vjp_gives_one_gradient_per_primal():
    x, y = rng.normal(size=3), rng.normal(size=3)
    out, pullback = s2sad.vjp(H.mixed, x, y)
    gx, gy = pullback(1.0)
    np.testing.assert_allclose(gx, central(H.mixed, [x, y], 0), rtol=1e-6)
    np.testing.assert_allclose(gy, central(H.mixed, [x, y], 1), rtol=1e-6)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_shapes_and_values(mode):
    x = rng.normal(size=5)
    J = s2sad.jacobian(H.rn_to_rn, mode=mode)(x)
    assert J.shape == (5, 5)
    fd = np.stack([central(lambda z, k=k: H.rn_to_rn(z)[k], [x], 0) for k in range(5)])
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)
    Jt = s2sad.jacobian(H.r_to_rn, mode=mode)(0.3, 4)
    assert Jt.shape == (4,)
    np.testing.assert_allclose(Jt, np.arange(1.0, 5) * np.cos(0.3 * np.arange(1.0, 5)), rtol=1e-12)


def test_jacobian_of_grad_is_the_hessian():
    x = rng.normal(size=4)
    np.testing.assert_allclose(s2sad.jacobian(s2sad.grad(H.rosen))(x), H.rosen_hessian(x), rtol=1e-12, atol=1e-9)


def test_jacobian_rejects_a_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        s2sad.jacobian(H.rn_to_rn, mode="sideways")


# --- stop_gradient ----------------------------------------------------------------------------
def test_detach_in_both_modes():
    x = np.arange(4.0)
    u = x * x
    np.testing.assert_array_equal(s2sad.grad(H.detach)(x), u)
    _, jv = s2sad.jvp(H.detach, (x,), (np.ones(4),))
    assert jv == pytest.approx(np.sum(u))
    np.testing.assert_array_equal(s2sad.jacobian(H.detach, mode="forward")(x), u)


def test_detach_in_higher_order():
    """d/dx sum(sg(x^2) x^2) = 2 x sg(x^2); its Hessian is diag(2 sg(x^2)) = diag(2 x^2)."""
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(s2sad.grad(H.detach_higher)(x), 2 * x ** 3)
    np.testing.assert_allclose(s2sad.hessian(H.detach_higher)(x), np.diag(2 * x ** 2))


# --- custom rules -----------------------------------------------------------------------------
def test_custom_vjp_and_jvp_of_a_user_function():
    w = np.array([-1.0, 0.2, 3.0])
    H.CALLS.clear()
    g = s2sad.grad(H.uses_softplus)
    got = g(w)
    sp = np.logaddexp(3 * w, 0)
    expected = 2 * sp * 3 / (1 + np.exp(-3 * w))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert "vjp" in H.CALLS                         # the user's rule ran
    assert "softplus_vjp" not in g.source and "_rt.custom_vjp(softplus, 0," in g.source
    assert "logaddexp" not in g.source              # the body was not transformed
    H.CALLS.clear()
    _, jv = s2sad.jvp(H.uses_softplus, (w,), (np.ones(3),))
    assert jv == pytest.approx(np.sum(expected), rel=1e-12)
    assert "jvp" in H.CALLS


def test_custom_rule_for_a_library_function():
    w, b = rng.uniform(0.05, 0.3, size=3), 0.2
    gw, gb = s2sad.grad(H.uses_ndtri, argnums=(0, 1))(w, b)
    slope = np.array([central(lambda p: float(ndtri(p)), [p], 0) for p in 2 * w + b])    # d ndtri(p) / dp
    np.testing.assert_allclose(gw, 2 * slope, rtol=1e-6)
    assert gb == pytest.approx(np.sum(slope), rel=1e-6)
    np.testing.assert_allclose(s2sad.jacobian(H.uses_ndtri, mode="forward")(w, b), 2 * slope, rtol=1e-6)


def test_custom_rule_with_no_derivative_for_an_argument():
    a, b = rng.normal(size=3), rng.normal(size=3)
    ga, gb = s2sad.grad(H.uses_scaled, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gb, np.ones(3))      # only through `+ b`: the rule says None for b


def test_a_missing_reverse_rule_says_which():
    with pytest.raises(s2sad.NonDifferentiableError, match=r"only_forward.*defvjp"):
        s2sad.grad(H.uses_only_forward)(np.ones(2))
    _, jv = s2sad.jvp(H.uses_only_forward, (np.ones(2),), (np.ones(2),))
    assert jv == 4.0


def test_a_rule_with_the_wrong_number_of_arguments_fails_at_registration():
    def f(x, y):
        return x * y
    with pytest.raises(TypeError, match="2 positional argument"):
        s2sad.defvjp(f, lambda g, ans, x, y: g)
    with pytest.raises(TypeError, match=r"rule 1 .* 4 positional"):
        s2sad.defvjp(f, lambda g, ans, x, y: g, lambda g, x: g)
    with pytest.raises(TypeError, match="callable"):
        s2sad.defjvp(f, 3, None)


def test_a_hessian_of_a_gradient_is_refused_not_made_up():
    """hessian(grad(f)) with a vector x asks for grad(grad(f)), whose inner output is not a scalar: it
    used to return a matrix of nonsense (nothing checked the inner output on that path)."""
    def rosen(x):
        return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    x = np.linspace(-1.0, 1.0, 5)
    for call in (lambda: s2sad.hessian(s2sad.grad(rosen))(x), lambda: s2sad.jacobian(s2sad.grad(s2sad.grad(rosen)))(x)):
        with pytest.raises(s2sad.NonScalarOutputError, match="returns an array of shape \\(5,\\)"):
            call()
    def f(a, b):
        return np.sin(a) * b ** 3
    assert s2sad.hessian(s2sad.grad(f))(0.3, 0.7) == pytest.approx(-np.cos(0.3) * 0.7 ** 3, rel=1e-13)


def column_then_row(x):
    v = x ** 2
    v[1] = np.cos(v[:, 1] + 0.5)         # reads column 1, then writes row 1 (v[1, 1] is in both)
    return np.sum(v)


def column_read_after(x):
    v = x * 1.0
    t = v[:, 1] + 0.5                    # a new array: v's write below does not change it
    v[1] = np.sin(x[0])
    return np.sum(v * v) + np.sum(t ** 3)


def test_a_tangent_taken_from_a_view_is_not_changed_by_a_later_write_into_its_base():
    # `t = v[:, 1] + 0.5` has the tangent of the view v[:, 1], which the write into v's tangent changed
    # afterwards: the Hessian of column_then_row was 0.21 off at [4, 4], the jvp of column_read_after too
    x = np.random.default_rng(3).uniform(-1, 1, (3, 3))
    g = s2sad.grad(column_then_row)
    ref = np.array([central(lambda y: g(y).ravel()[k], [x]).ravel() for k in range(9)])
    np.testing.assert_allclose(s2sad.hessian(column_then_row)(x).reshape(9, 9), ref, rtol=1e-6, atol=1e-7)
    v = np.random.default_rng(4).uniform(-1, 1, (3, 3))
    want = float(np.sum(central(column_read_after, [x]) * v))
    assert s2sad.jvp(column_read_after, (x,), (v,))[1] == pytest.approx(want, rel=1e-7)
