"""The public API: decorator forms, argnums, has_aux, types, attributes."""
import numpy as np
import pytest

import api_cases as C
import s2sad
from reference import central


def test_grad_forms(rng):
    x = rng.normal(size=4)
    y = rng.normal(size=4)
    expected = y + np.cos(x)
    np.testing.assert_allclose(s2sad.grad(C.two)(x, y), expected)

    @s2sad.grad
    def bare(x):
        return np.sum(x ** 3)

    np.testing.assert_allclose(bare(x), 3 * x ** 2)

    @s2sad.grad(argnums=(0, 1))
    def both(x, y):
        return np.sum(x * y)

    gx, gy = both(x, y)
    np.testing.assert_allclose(gx, y)
    np.testing.assert_allclose(gy, x)


def test_argnums_tuple_of_one_returns_tuple(rng):
    x, y = rng.normal(size=3), rng.normal(size=3)
    out = s2sad.grad(C.two, argnums=(1,))(x, y)
    assert isinstance(out, tuple) and len(out) == 1
    np.testing.assert_allclose(out[0], x)


def test_negative_argnums(rng):
    x, y = rng.normal(size=3), rng.normal(size=3)
    np.testing.assert_allclose(s2sad.grad(C.two, argnums=-1)(x, y), x)


@pytest.mark.parametrize("argnums, exc", [(2, ValueError), (-3, ValueError), ("0", TypeError), (1.0, TypeError),
                                          ((), TypeError), ((0, 0), ValueError), (True, TypeError)])
def test_bad_argnums_fail_before_transforming(argnums, exc):
    with pytest.raises(exc, match="argnums"):
        s2sad.grad(C.two, argnums=argnums)


def test_value_and_grad(rng):
    x = rng.normal(size=5)
    value, g = s2sad.value_and_grad(C.poly)(x[0])
    assert value == pytest.approx(C.poly(x[0]))
    assert g == pytest.approx(6 * x[0] - 4)


def test_has_aux(rng):
    x = rng.normal(size=3)
    g, aux = s2sad.grad(C.with_aux, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert aux["norm"] == pytest.approx(np.linalg.norm(x))
    (value, aux2), g2 = s2sad.value_and_grad(C.with_aux, has_aux=True)(x)
    assert value == pytest.approx(np.sum(x ** 2))
    np.testing.assert_allclose(g2, 2 * x)


def test_keyword_arguments_pass_through(rng):
    x = rng.normal(size=3)
    g = s2sad.grad(C.with_kw)
    np.testing.assert_allclose(g(x), 4 * x)
    np.testing.assert_allclose(g(x, scale=3.0), 6 * x)
    np.testing.assert_allclose(g(x, power=3), 6 * x ** 2)
    np.testing.assert_allclose(g(x=x, scale=1.0), 2 * x)


def test_python_float_in_python_float_out():
    g = s2sad.grad(C.poly)(1.0)
    assert type(g) is float and g == 2.0


def test_int_inputs_promoted_to_float64():
    g = s2sad.grad(C.poly)(2)
    assert type(g) is float and g == 8.0
    gi = s2sad.grad(C.two)(np.arange(3), np.ones(3, dtype=int))
    assert gi.dtype == np.float64
    np.testing.assert_allclose(gi, 1 + np.cos(np.arange(3.0)))


def test_float32_in_float32_out(rng):
    x = rng.normal(size=4).astype(np.float32)
    g = s2sad.grad(C.two)(x, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, x + np.cos(x), rtol=1e-5)


def test_zero_dim_array_and_numpy_scalar():
    g = s2sad.grad(C.poly)(np.array(1.0))
    assert isinstance(g, np.ndarray) and g.shape == () and g == 2.0
    g2 = s2sad.grad(C.poly)(np.float64(1.0))
    assert type(g2) is np.float64 and g2 == 2.0


def test_empty_array():
    g = s2sad.grad(C.two)(np.zeros((0,)), np.zeros((0,)))
    assert g.shape == (0,)
    g2 = s2sad.grad(C.two, argnums=1)(np.zeros((3, 0)), np.zeros((3, 0)))
    assert g2.shape == (3, 0)


def test_attributes():
    g = s2sad.grad(C.documented)
    assert g.__wrapped__ is C.documented
    assert g.__name__ == "documented"
    assert g.__doc__ == "A docstring that must survive."
    assert "def documented_grad(" in g.source
    assert g.path is not None and g.path.exists()
    assert g.path.read_text() == g.source


def test_globals_read_at_call_time(rng, monkeypatch):
    x = rng.normal(size=3)
    g = s2sad.grad(C.uses_global)
    np.testing.assert_allclose(g(x), 3.0 * C.COEFFS)
    monkeypatch.setattr(C, "SCALE", 5.0)
    np.testing.assert_allclose(g(x), 5.0 * C.COEFFS)


def test_closure_values_read_at_call_time(rng):
    x = rng.normal(size=3)
    f = C.make_closure(2.0)
    np.testing.assert_allclose(s2sad.grad(f)(x), 4 * x)
    np.testing.assert_allclose(s2sad.grad(C.make_closure(5.0))(x), 10 * x)


def test_numpy_aliases_and_math_constants(rng):
    x = rng.normal(size=3)
    expected = np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x) + np.pi
    np.testing.assert_allclose(s2sad.grad(C.aliases)(x), expected)


def test_stop_gradient_is_detach(rng):
    x, y = rng.normal(size=3), rng.normal(size=3)
    gx, gy = s2sad.grad(C.detach, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y * y)
    np.testing.assert_allclose(gy, np.zeros(3))


def test_output_independent_of_input_warns_and_gives_zeros():
    with pytest.warns(UserWarning, match="does not depend"):
        g = s2sad.grad(C.constant_out)(np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))


def test_inputs_are_not_mutated(rng):
    x, y = rng.normal(size=4), rng.normal(size=4)
    xc, yc = x.copy(), y.copy()
    s2sad.grad(C.two, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(y, yc)


def test_same_array_twice_accumulates(rng):
    x = rng.normal(size=4)

    def f(a):
        return C.two(a, a)

    np.testing.assert_allclose(s2sad.grad(f)(x), central(f, [x]), rtol=1e-6)


def test_deterministic_bitwise(rng):
    x, y = rng.normal(size=50), rng.normal(size=50)
    g = s2sad.grad(C.two, argnums=(0, 1))
    a, b = g(x, y), g(x, y)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


def test_method_decorated_function(rng):
    class Model:
        def __init__(self, w):
            self.w = w

        def loss(self, x):
            return np.sum(x ** 2)

    m = Model(1.0)
    g = s2sad.grad(Model.loss, argnums=1)
    x = rng.normal(size=3)
    np.testing.assert_allclose(g(m, x), 2 * x)


def _repr_cube(x):
    return np.sum(x ** 3)


def test_a_grad_object_shows_its_generated_source_in_a_notebook():
    shown = s2sad.grad(_repr_cube)._repr_markdown_()
    assert shown.startswith("`<s2sad.grad of _repr_cube>`") and "```python\n" in shown
    assert "def _repr_cube_grad(x, out_bar=1.0):" in shown and shown.rstrip().endswith("```")


def test_the_package_says_it_is_typed():
    from pathlib import Path
    assert (Path(s2sad.__file__).parent / "py.typed").exists()
