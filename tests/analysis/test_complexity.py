"""Complex numbers through the compiler (s2sad/analysis/complexity.py): which names may be complex, the
refusals that keep a complex value away from a rule for real numbers, and whole functions with complex
intermediates in every mode (reverse, forward, second order, vmap of grad) against central differences
of the function itself, in float64 (np.real and np.imag rule out the complex step)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import s2sad
from s2sad.analysis.complexity import complex_names
from s2sad.approaches import numerical
from s2sad.codegen import stages
from s2sad.errors import NonDifferentiableError
from s2sad.frontend import source
from s2sad.runtime import fft_again, fft_grad


def signal_energy(x):
    """Parseval: the FFT's energy is n times the signal's, so the gradient is 2x."""
    spectrum = np.fft.fft(x)
    return np.sum(np.abs(spectrum) ** 2) / x.size


def low_pass(x):
    spectrum = np.fft.rfft(x)
    keep = np.arange(spectrum.size) < 3
    smooth = np.fft.irfft(spectrum * keep, n=x.size)
    return np.sum((smooth - x) ** 2) + np.sum(smooth ** 3)


def phasor(x):
    z = np.exp(1j * x) * (1.0 + 0.5 * x)
    return np.sum(z.real * x + z.imag ** 2) + np.angle(np.sum(z))


def complex_scalars(x):
    z = x[0] + 1j * x[1]
    for k in range(3):
        z = z * z * 0.5 + (0.2 - 0.1j) * x[2]
    return abs(z) + np.real(z.conj() * 1j)


def rows_of_a_complex_array(x):
    z = np.zeros((x.size, 2), dtype=complex)
    for i in range(x.size):
        z[i, 0] = x[i] * np.exp(1j * x[i])
        z[i, 1] = np.conj(z[i, 0]) * x[i]
    return np.abs(np.sum(z)) + np.sum(np.real(z) * np.imag(z))


def complex_matrix(x):
    a = np.reshape(x[:4], (2, 2)) + 1j * np.eye(2)
    b = np.linalg.solve(a, np.array([1.0 + 2j, x[4]]))
    return np.sum(np.abs(b) ** 2) + np.real(np.linalg.det(a @ a)) + np.imag(np.trace(np.linalg.inv(a)))


def spectrum_2d(x):
    img = np.reshape(x, (2, 3))
    f = np.fft.fftshift(np.fft.fft2(img, s=(4, 3)))
    return np.sum(np.abs(f) * np.arange(12).reshape(4, 3)) + np.sum(np.fft.irfftn(np.fft.rfftn(img) * 1j).real)


def helper_returns_complex(x):
    w = _rotate(x, 0.3)
    return np.sum(np.real(w) ** 2 - np.imag(w))


def _rotate(v, angle):
    return v * np.exp(1j * angle) + 1j * v ** 2


def complex_rows_in_a_branch(x):
    """Made in a branch: the gradient saves and restores z (`z = tape.pop()`), which its second derivative
    reads (a pop is no new real array: refused as one before)."""
    if np.sum(x) > 0:
        z = np.zeros(x.size, dtype=complex)
        for i in range(x.size):
            z[i] = x[i] * np.exp(1j * x[i] * i)
        x = x + 0.1 * np.abs(z) ** 2
    return np.sum(np.sin(x))


FUNCTIONS = [signal_energy, low_pass, phasor, complex_scalars, rows_of_a_complex_array, complex_matrix, spectrum_2d,
             helper_returns_complex, complex_rows_in_a_branch]
X = np.array([0.3, -1.2, 0.7, 2.1, 0.4, -0.5])


def _close(a, b, tol=2e-6):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.max(np.abs(b)))))


@pytest.mark.parametrize("f", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_reverse_forward_and_second_order_against_central_differences(f):
    reference = numerical.grad(f, method="central")(X)
    g = s2sad.grad(f)(X)
    assert g.dtype == np.float64                          # the gradient of a real input is real
    _close(g, reference)
    _close(s2sad.jacobian(f, mode="forward")(X), reference)
    hessian = s2sad.hessian(f)(X)
    _close(hessian, numerical.jacobian(s2sad.grad(f), method="central")(X), tol=1e-5)
    _close(hessian, hessian.T, tol=1e-8)


@pytest.mark.parametrize("f", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_vmap_of_grad_is_grad_of_each_example(f):
    xs = np.stack([X, X[::-1] * 0.7, X + 0.25])
    _close(s2sad.vmap(s2sad.grad(f))(xs), np.stack([s2sad.grad(f)(x) for x in xs]), tol=1e-10)


def test_parseval_gives_2x():
    _close(s2sad.grad(signal_energy)(X), 2 * X, tol=1e-12)


def test_jvp_of_a_complex_output_is_the_transform_of_the_tangent():
    t = X[::-1].copy()
    value, tangent = s2sad.jvp(_fft_of, (X,), (t,))
    _close(value, np.fft.fft(X), tol=1e-12)
    _close(tangent, np.fft.fft(t), tol=1e-12)


def _fft_of(x):
    return np.fft.fft(x * 1.0)


# --- refusals: a DifferentiationError naming the user's line, never a number ----------------------------

def complex_output(x):
    return np.sum(np.exp(1j * x))


def maximum_of_complex(x):
    z = np.exp(1j * x)
    return np.sum(np.maximum(z, 0.5).real)


def rfft_of_complex(x):
    return np.sum(np.fft.rfft(x * 1j).real)


def complex_into_real_rows(x):
    y = np.zeros(3)
    y[0] = x[0] * 1j
    return np.sum(y)


def sort_of_complex(x):
    return np.sum(np.sort(np.fft.fft(x)).real)


def emath(x):
    return np.sum(np.emath.sqrt(x))


REFUSED = [(complex_output, "output may be complex"), (maximum_of_complex, "np.maximum of a value that may be complex"),
           (rfft_of_complex, "np.fft.rfft of a value that may be complex"),
           (complex_into_real_rows, "written into `y`, an array of real numbers"),
           (sort_of_complex, "np.sort of a value that may be complex"), (emath, "np.emath")]


@pytest.mark.parametrize("f, why", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_with_the_line(f, why):
    for transform in (s2sad.grad, lambda g: s2sad.jacobian(g, mode="forward")):
        if f is complex_output and transform is not s2sad.grad:
            continue                                     # forward mode differentiates a complex output
        with pytest.raises(NonDifferentiableError) as info:
            transform(f)(X[:3].copy())
        message = str(info.value)
        assert why in message
        assert re.search(r"test_complexity\.py:\d+(:\d+)?: ", message), message


# --- the analysis on its own ----------------------------------------------------------------------------

def _core(f):
    job = stages.Job(source.load(f), "key", "g", argnums=0)
    stages.run(stages.REVERSE[:2], job)
    return job.core


def mixed(x):
    a = np.sin(x)
    z = a * 1j
    r = np.abs(z)
    b = np.real(z) + r
    return np.sum(b)


def real_only(x):
    return np.sum(np.abs(x) + np.real(x))


def test_complex_names_follow_values_not_functions():
    core = _core(mixed)
    names = {core.user_name(n) for n in complex_names(core)}
    assert "z" in names
    assert not names & {"a", "r", "b", "x"}


def test_a_function_without_complex_numbers_has_none():
    assert complex_names(_core(real_only)) == frozenset()


# --- the FFT cotangents: each of fft_grad and fft_again is the other's transpose ----------------------

FFT_PLANS = [((5,), 8, -1), ((6,), 4, -1), ((7,), None, -1), ((3, 4), (4, 9), None), ((3, 5), (4, 6), (0, 1)),
             ((2, 3, 4), (3, 3), (0, 2))]


@pytest.mark.parametrize("kind", ["fft", "ifft", "rfft", "irfft"])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_fft_grad_and_fft_again_are_transposes(kind, norm):
    """Re(sum(fft_again(u) * v)) == Re(sum(u * fft_grad(v))) (JAX's pairing), for random u, v."""
    rng = np.random.default_rng(3)
    for shape, s, axes in FFT_PLANS:
        real_input = kind == "rfft"
        a = rng.normal(size=shape) + (0 if real_input else 1j * rng.normal(size=shape))
        u = rng.normal(size=shape) + (0 if real_input else 1j * rng.normal(size=shape))
        y = fft_again(u, a, s, axes, norm, kind)
        v = rng.normal(size=y.shape) + (0 if y.dtype.kind == "f" else 1j * rng.normal(size=y.shape))
        left, right = np.sum(y * v).real, np.sum(u * fft_grad(v, a, s, axes, norm, kind)).real
        assert left == pytest.approx(right, rel=1e-10, abs=1e-10), (shape, s, axes)


# --- complex arguments: grad follows JAX's convention, df/dx - i df/dy for z = x + iy ------------------

def jax_convention(f, z, h=1e-6):
    """df/dx - i df/dy at each element of z, by central differences of the real function f."""
    z = np.asarray(z, dtype=complex)
    g = np.zeros(z.shape, dtype=complex)
    for idx in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[idx] = h
        g[idx] = (f(z + e) - f(z - e)) / (2 * h) - 1j * (f(z + 1j * e) - f(z - 1j * e)) / (2 * h)
    return g if g.shape else complex(g)


def squared_modulus(z):
    return np.sum(np.abs(z) ** 2)


def mixed_complex(z, w):
    return np.real(np.sum(z ** 3 * np.conj(z) * w)) + np.sum(np.angle(z)) + np.sum(np.abs(np.fft.fft(z * w)) ** 2)


def scalar_modulus(z):
    return abs(z * z + 1j)


Z = np.array([0.3 + 0.4j, -1.2 + 0.1j, 0.7 - 0.9j])
W = np.array([1.0, 2.0 + 1j, -0.5])


def test_grad_of_the_squared_modulus_is_2_conj_z():
    g = s2sad.grad(squared_modulus)(Z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, 2 * np.conj(Z), rtol=1e-14)


def test_complex_arguments_against_central_differences():
    gz, gw = s2sad.grad(mixed_complex, argnums=(0, 1))(Z, W)
    np.testing.assert_allclose(gz, jax_convention(lambda z: mixed_complex(z, W), Z), rtol=1e-6)
    np.testing.assert_allclose(gw, jax_convention(lambda w: mixed_complex(Z, w), W), rtol=1e-6)
    g = s2sad.grad(scalar_modulus)(0.3 + 0.5j)
    assert type(g) is complex and abs(g - jax_convention(scalar_modulus, 0.3 + 0.5j)) < 1e-7


def test_the_real_and_the_complex_code_are_apart():
    """The same function called with real, then complex, then real values: each gets its own code."""
    real = Z.real.copy()
    np.testing.assert_allclose(s2sad.grad(squared_modulus)(real), 2 * real, rtol=1e-14)
    np.testing.assert_allclose(s2sad.grad(squared_modulus)(Z), 2 * np.conj(Z), rtol=1e-14)
    g = s2sad.grad(squared_modulus)(real)
    assert g.dtype == np.float64


def test_jacobian_and_hessian_refuse_complex_arguments():
    for call in (lambda: s2sad.jacobian(squared_modulus)(Z), lambda: s2sad.hessian(squared_modulus)(Z)):
        with pytest.raises(s2sad.DifferentiationError, match="complex arguments are differentiated by grad"):
            call()


def complex_map(z, w):
    return np.sin(z) * w + np.conj(z) * np.abs(w)


def _directional(f, args, k, t, h=1e-6):
    plus, minus = list(args), list(args)
    plus[k], minus[k] = args[k] + h * t, args[k] - h * t
    return (f(*plus) - f(*minus)) / (2 * h)


def test_jvp_of_complex_arguments_is_the_directional_derivative():
    tz = np.array([0.5 - 0.2j, 1.0 + 0.3j, -0.4j])
    value, tangent = s2sad.jvp(complex_map, (Z, W), (tz, np.zeros(3, complex)))
    np.testing.assert_allclose(value, complex_map(Z, W), rtol=1e-14)
    np.testing.assert_allclose(tangent, _directional(complex_map, [Z, W], 0, tz), rtol=1e-7)
    with pytest.raises(s2sad.DifferentiationError, match="tangent 0 is complex and its primal real"):
        s2sad.jvp(np.sin, (Z.real.copy(),), (tz,))


def test_vjp_of_complex_values_in_jaxs_convention():
    """vjp(ct)_k = Re(sum(ct * J_x)) - i Re(sum(ct * J_y)) for z_k = x + iy: the transpose of the JVP in
    the pairing Re(sum(g * v))."""
    ct = np.array([1.0 - 0.5j, 0.3 + 2j, -1j])
    out, vjp_fun = s2sad.vjp(complex_map, Z, W)
    for k, g in enumerate(vjp_fun(ct)):
        args = [Z, W]
        want = np.array([np.real(np.sum(ct * _directional(complex_map, args, k, e)))
                         - 1j * np.real(np.sum(ct * _directional(complex_map, args, k, 1j * e)))
                         for e in np.eye(3)])
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    # a real argument, a complex output: the real part of what flows back
    x = np.array([0.3, 0.9])
    _, vjp_real = s2sad.vjp(lambda v: np.exp(1j * v) * v, x)
    ct2 = np.array([1.0 + 1j, 0.5 - 2j])
    np.testing.assert_allclose(vjp_real(ct2)[0], np.real(ct2 * (1j * np.exp(1j * x) * x + np.exp(1j * x))), rtol=1e-13)


# --- found by the complex dialect of the random programs (fuzz.py --complex): silently wrong before ------

def complex_constructor(y):
    """complex(a, b) was taken for a real number: the product's cotangent went on complex into arctan2's."""
    return (complex(1.27, 1.0) * np.arctan2(y, y * y + 1.0)).real + y ** 2


def complex_dtype_string(x):
    z = np.sqrt(np.asarray(x - 1.0, dtype="complex128"))     # complex where x < 1
    return np.sum(np.abs(z) ** 3 + np.angle(z) * x)


@pytest.mark.parametrize("f, x", [(complex_constructor, 0.7), (complex_dtype_string, X)],
                         ids=["complex()", "dtype='complex128'"])
def test_complex_values_made_by_a_call_or_a_dtype_string(f, x):
    _close(s2sad.grad(f)(x), numerical.grad(f, method="central")(x))
    _close(s2sad.jacobian(f, mode="forward")(np.atleast_1d(x)), numerical.jacobian(f, method="central")(np.atleast_1d(x)))


# --- every holomorphic rule, on complex operands (the rules marked holomorphic(...) in the table) -----

UNARY = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
         "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square", "reciprocal", "negative",
         "positive", "cumsum", "cumprod", "sum", "mean", "prod", "ravel", "transpose", "flip",
         "diff", "trace", "triu", "tril", "flipud", "fliplr", "rot90", "atleast_3d", "copy", "linalg.inv",
         "linalg.det"]


def _unary(name):
    fn = np
    for part in name.split("."):
        fn = getattr(fn, part)

    def f(x):
        z = np.reshape(x, (2, 2)) * (0.6 + 0.4j) + 0.3j + np.eye(2)      # complex, away from branch cuts
        return np.real(np.sum(fn(z) * (0.5 - 1j)))
    return f


@pytest.mark.parametrize("name", UNARY)
def test_each_holomorphic_rule_on_complex_operands(name):
    f = _unary(name)
    x = np.array([0.3, -0.2, 0.25, 0.4])
    reference = numerical.grad(f, method="central")(x)
    _close(s2sad.grad(f)(x), reference)
    _close(s2sad.jacobian(f, mode="forward")(x), reference)
    _close(s2sad.hessian(f)(x), numerical.jacobian(s2sad.grad(f), method="central")(x), tol=1e-5)


def complex_binary(x):
    a = x[:2] * (1 + 0.5j) + 0.2j
    b = x[2:] * (0.7 - 0.3j) + 1.0
    return np.real(np.sum(a * b + a / b + a ** b + np.power(b, 2.5) - np.where(x[:2] > 0, a, b)
                          + np.linalg.solve(np.outer(a, b) + np.eye(2), a) + np.einsum("i,j->ij", a, b).sum()
                          + np.linalg.matrix_power(np.outer(a, b) + np.eye(2), 3)[0]))


def test_binary_holomorphic_rules_on_complex_operands():
    x = np.array([0.3, -0.6, 0.8, 0.5])
    reference = numerical.grad(complex_binary, method="central")(x)
    _close(s2sad.grad(complex_binary)(x), reference)
    _close(s2sad.jacobian(complex_binary, mode="forward")(x), reference)
    _close(s2sad.hessian(complex_binary)(x), numerical.jacobian(s2sad.grad(complex_binary), method="central")(x),
           tol=1e-5)


def write_through_real_part(x):
    """z.real is a view of z: writing into it writes into z (as x.real does into a real x)."""
    z = x * (1 + 1j)
    r = z.real
    r[0] = 5.0 * x[1]
    return np.sum(np.abs(z) ** 2)


def test_a_write_into_the_real_part_is_refused_not_lost():
    """Silently wrong before np.real and np.imag were marked as views: [7.6, 2.8] for [0.6, 37.8]."""
    with pytest.raises(s2sad.DifferentiationError, match="shares its memory"):
        s2sad.grad(write_through_real_part)(np.array([0.3, 0.7]))


def complex_arrays(x):
    """The holomorphic array functions of the table, each on complex operands."""
    a = x[:3] * (1 + 0.5j) + 0.2j
    b = x[3:] * (0.7 - 0.3j) + 1.0
    m = np.outer(a, b) + np.eye(3)
    parts = [np.kron(a, b), np.cross(a, b), np.pad(a, 1), np.take(a, [1, 0, 1]), np.repeat(a, 2), np.tile(b, 2),
             np.polyval(a, b), np.concatenate([a, b]), np.stack([a, b]).ravel(), np.inner(a, b) * a, np.dot(m, a),
             np.matmul(m, b), np.tensordot(m, m, 1).ravel(), np.split(a, 3)[1], np.diag(m), np.diagonal(m, 1),
             np.roll(a, 1), np.take_along_axis(m, np.array([[0], [2], [1]]), 1).ravel(), np.squeeze(m[:1]),
             np.broadcast_to(a, (2, 3)).ravel(), np.moveaxis(m, 0, 1)[0], np.swapaxes(m, 0, 1)[1],
             np.reshape(m, 9), np.array([a[0], b[1]]), np.asarray(x[:2], dtype=complex) * a[:2],
             np.average(a, weights=np.abs(b) + 1.0) * b, np.full(2, a[1]), np.linspace(a[0], b[0], 3),
             np.expand_dims(a, 0)[0], np.trace(m) * a, np.linalg.det(m) * b, np.einsum("ij,j->i", m, a)]
    return np.real(np.sum(np.concatenate(parts) * (0.5 - 0.25j)))


def test_array_functions_on_complex_operands():
    x = np.array([0.3, -0.6, 0.8, 0.5, -0.2, 0.9])
    reference = numerical.grad(complex_arrays, method="central")(x)
    _close(s2sad.grad(complex_arrays)(x), reference)
    _close(s2sad.jacobian(complex_arrays, mode="forward")(x), reference)
    _close(s2sad.hessian(complex_arrays)(x), numerical.jacobian(s2sad.grad(complex_arrays), method="central")(x),
           tol=1e-5)
