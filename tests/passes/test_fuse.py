"""Expression fusion (s2sad/fuse.py): what it makes of generated code, and the cases where moving an
expression would change what it reads. Gradients are checked against central differences."""
from __future__ import annotations

import ast

import numpy as np
import pytest

import s2sad
from s2sad.passes.algebra import Algebra
from s2sad.passes.fuse import fuse

from reference import central

rng = np.random.default_rng(7)


def _expr(text: str, scalars=()) -> str:
    f = Algebra(set(), set(scalars))
    f.scalars = set(scalars)
    return ast.unparse(f.reassociate(ast.parse(text, mode="eval").body))


@pytest.mark.parametrize("text, scalars, expected", [
    ("g * 2 * t4 * -1", {"g"}, "-2 * g * t4"),          # numbers, then scalars, then arrays
    ("t4 * g * 2", {"g"}, "2 * g * t4"),
    ("-t4_bar * 2 * t2", set(), "-2 * t4_bar * t2"),
    ("g_bar / 2 * 2 * t4", {"g_bar"}, "g_bar * t4"),     # exact: dividing by 2 is multiplying by 0.5
    ("g / 3 * 3 * t4", {"g"}, "3 * (g / 3) * t4"),       # not exact: the division stays
    ("x * 0", set(), "x * 0"),                           # x * 0 keeps x's shape and dtype
    ("x * 0.5 * 2", set(), "1.0 * x"),                   # x may be an int: 1.0 * x is a float
    ("x_bar * 0.5 * 2", set(), "x_bar"),                 # a cotangent is a float already
    ("a * b", set(), "a * b"),                           # nothing to move: as written
])
def test_products_are_reassociated(text, scalars, expected):
    assert _expr(text, scalars) == expected


def _body(g) -> str:
    return g.source.split("def ", 1)[1]


def linreg(t0, t1, X, Y):
    return np.mean((t0 + t1 * X - Y) ** 2 / 2)


def test_single_use_temporaries_go_back_into_one_expression():
    g = s2sad.grad(linreg, argnums=(0, 1))
    X = rng.normal(size=50)
    Y = 2 * X + 1
    got = g(0.5, 1.5, X, Y)
    want = [central(lambda a: linreg(a, 1.5, X, Y), [0.5], 0), central(lambda b: linreg(0.5, b, X, Y), [1.5], 0)]
    np.testing.assert_allclose(got, want, rtol=1e-7)
    body = _body(g)
    assert "t4 = t0 + t1 * X - Y" in body                    # NumPy can reuse the temporaries in place
    assert "t2 =" not in body and "t3 =" not in body
    assert "t4_bar" not in body                              # scalar * t4 read only by sums: never formed
    assert "_rt.mean_scale(result_bar, t4) * _rt.unbroadcast(t4, t0)" in body
    assert "_rt.mean_scale(result_bar, t4) * _rt.sum_product(t4, X, t1)" in body   # a dot product


@pytest.mark.parametrize("a, b, x", [
    (rng.normal(size=5), rng.normal(size=5), 0.5),                 # a dot product
    (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), np.float64(1.0)),
    (rng.normal(size=(2, 3)), rng.normal(size=3), 2.0),            # broadcast: summed the long way
    (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=3)),
    (rng.normal(size=4).astype(np.float32), rng.normal(size=4).astype(np.float32), 1.0),
    (3.0, rng.normal(size=4), 1.0),
])
def test_sum_product_is_the_unbroadcast_of_the_product(a, b, x):
    from s2sad import runtime as rt
    got = rt.sum_product(a, b, x)
    want = rt.unbroadcast(a * b, x)
    assert np.shape(got) == np.shape(want) and np.result_type(got) == np.result_type(want)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_constants_are_multiplied_first_and_copies_disappear():
    g = s2sad.grad(rosenbrock)
    x = rng.uniform(-1, 1, 30)
    np.testing.assert_allclose(g(x), central(rosenbrock, [x], 0), rtol=1e-6, atol=1e-8)
    body = _body(g)
    assert "200 * result_bar *" in body                      # 100 * 2 folded, with the scalar seed
    assert "t3_bar" not in body and "t7_bar" not in body     # negations folded into the products
    assert "_rt.unbroadcast" not in body


def test_user_names_and_the_forward_sweep_stay_as_written():
    def loss(w, X):
        z = np.tanh(X @ w)
        h = z * 2.0
        return np.sum(h * h)
    g = s2sad.grad(loss)
    w, X = rng.normal(size=3), rng.normal(size=(5, 3))
    np.testing.assert_allclose(g(w, X), central(loss, [w, X], 0), rtol=1e-6)
    body = _body(g)
    assert "z = np.tanh(X @ w)" in body and "h = z * 2.0" in body
    assert "h_bar" in body and "z_bar" in body


def write_between(x):
    y = x * 1.0
    a = np.sin(y[0]) * 3.0            # reads y[0] before the write below
    y[0] = x[1] ** 2
    return a * y[0] + np.sum(y * y)


def loop_writes(x):
    y = x * 1.0
    s = 0.0
    for i in range(len(x) - 1):
        t = y[i] * y[i + 1]
        y[i + 1] = np.cos(t)
        s = s + t * y[i]
    return s


def reset_in_loop(x, n):
    z = x
    for i in range(n):
        z = z * (1.5 - z)
        z = z + 0.1 * z * z
    return z


@pytest.mark.parametrize("fun, args", [
    (write_between, (rng.normal(size=4),)),
    (loop_writes, (rng.normal(size=6),)),
    (reset_in_loop, (0.3, 6)),
])
def test_nothing_moves_past_a_write_to_what_it_reads(fun, args):
    got = s2sad.grad(fun)(*args)
    np.testing.assert_allclose(got, central(fun, list(args), 0), rtol=1e-6, atol=1e-9)


def test_float32_stays_float32_through_the_reassociated_products():
    x = rng.normal(size=8).astype(np.float32)
    g = s2sad.grad(rosenbrock)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, central(rosenbrock, [x.astype(np.float64)], 0), rtol=2e-3, atol=2e-3)


def test_fuse_keeps_a_temporary_read_twice_by_non_sums():
    src = "t1 = x * 2\ny = t1 + t1\n"
    body = ast.parse(src).body
    ret = ast.parse("return y").body[0]
    (out,) = fuse([body], ret, ["x"], {"x", "y"})
    assert [ast.unparse(s) for s in out] == ["t1 = 2 * x", "y = t1 + t1"]


def test_fuse_does_not_move_a_read_past_a_call_with_effects():
    src = "t1 = x[0]\nmutate(x)\ny = t1 + 1\n"
    body = ast.parse(src).body
    ret = ast.parse("return y").body[0]
    (out,) = fuse([body], ret, ["x"], {"x", "y", "mutate"})
    assert [ast.unparse(s) for s in out] == ["t1 = x[0]", "mutate(x)", "y = t1 + 1"]


# ------------------------------------------------------------------ the fast way in for Python floats
def cubic(x, c=2.0):
    return c * x ** 3 - np.sin(x)


def scaled(x, v):
    return x * v                      # an array when v is one


def test_float_calls_take_the_entry_and_give_what_the_full_path_gives():
    g = s2sad.grad(cubic)
    first = g(0.7)                    # the full path
    assert type(g).__call__ is s2sad.api.transforms.GradFunction.__call__     # a function called once builds nothing
    g(0.7)                            # the second float call builds the entry
    assert isinstance(g, s2sad.api.transforms.GradFunction) and repr(g).startswith("<s2sad.grad of")
    assert type(g).__call__ is not s2sad.api.transforms.GradFunction.__call__
    want = 3 * 2.0 * 0.7 ** 2 - np.cos(0.7)
    for got in (g(0.7), g(x=0.7), g(0.7, 2.0), g(0.7, c=2.0), first):
        assert type(got) is float and got == pytest.approx(want, rel=1e-14)
    assert g(0.7, 3.0) == pytest.approx(9.0 * 0.49 - np.cos(0.7))
    assert type(g(1)) is float and g(1) == pytest.approx(6.0 - np.cos(1.0))       # an int: full path
    got = g(np.float64(0.7))                                                       # a NumPy scalar: full path
    assert type(got) is np.float64 and got == pytest.approx(want, rel=1e-14)
    assert np.isnan(g(float("nan")))
    assert "def cubic_grad" in g.source and g.path is not None


def test_the_entry_hands_a_non_scalar_output_to_the_full_path_and_its_error():
    g = s2sad.grad(scaled)
    assert g(2.0, 3.0) == 3.0
    with pytest.raises(s2sad.NonScalarOutputError):
        g(2.0, np.ones(3))
    assert g(2.0, 5.0) == 5.0


def test_the_entry_keeps_the_arguments_other_than_the_float_as_they_are():
    def power_loop(x, n):
        for i in range(n):
            x = x * 0.5 + 1.0
        return x
    g = s2sad.grad(power_loop)
    assert g(0.3, 4) == 0.5 ** 4
    assert g(0.3, 0) == 1.0 and g(0.3, n=2) == 0.25
    with pytest.raises(TypeError):
        g(0.3)                         # missing n, as for the function itself


def seed_on_a_float(a):
    b = a * 2
    while abs(b) < 1000:
        b = b * 2
    if b > 0:
        c = b
    else:
        c = 100 * b
    return c


def loop_times(a, v):
    b = a
    for i in range(3):
        b = b * v
    return b


def test_the_entry_covers_loops_and_branches_on_the_float():
    g = s2sad.grad(seed_on_a_float)
    for x in (0.37, -0.37, 0.37, -0.37):          # the second float call builds the entry
        b, scale = x * 2, 2.0
        while abs(b) < 1000:
            b, scale = b * 2, scale * 2
        want = scale if b > 0 else 100 * scale
        got = g(x)
        assert type(got) is float and got == want
    assert type(g).__call__ is not s2sad.api.transforms.GradFunction.__call__


def test_the_entry_hands_an_array_grown_in_a_loop_to_the_full_path():
    g = s2sad.grad(loop_times)
    assert g(2.0, 3.0) == 27.0 and g(2.0, 3.0) == 27.0
    with pytest.raises(s2sad.NonScalarOutputError):
        g(2.0, np.ones(2))
    assert g(2.0, 0.5) == 0.125


def test_float_kinds_widen_through_loops_and_stop_at_unknown_values():
    from s2sad.api.entry import _floats
    body = ast.parse("b = 2 * a\nn = 0\nwhile b < 9:\n    b = b * 2\n    n += 1\nc = b * v\nfor i in range(n):\n"
                     "    d = i * 2\ne = d / 2\n").body
    kinds = _floats(body, "a")
    assert kinds["b"] == "f" and kinds["n"] == "i" and kinds["i"] == "i" and kinds["d"] == "i"
    assert kinds["e"] == "f" and "c" not in kinds and "v" not in kinds
    assert "b" not in _floats(ast.parse("b = a\nwhile b < 9:\n    b = f(b)\n").body, "a")
    assert "a" not in _floats(ast.parse("a = a ** 2\n").body, "a")


@pytest.mark.parametrize("more", ["", "t6 = g * 1.0\nt7 = t6 + t5\n"])   # with names dropped at first, or not
def test_revised_scalars_are_what_inferring_them_again_finds(more):
    """fuse's cotangents freed from an unbroadcast, then copies gone: Algebra.revise updates which names
    hold numbers without walking the code again, and finds what infer_scalars finds on the new code."""
    code = ast.parse(
        "t1_bar = _rt.unbroadcast(g, s)\n"     # a number while s is one ...
        "t2 = t1_bar * 2.0\n"                  # ... and so this one
        "t3 = t2\n"
        "t4 = t3 + 1.0\n"
        "t5 = np.sum(g)\n" + more).body
    fuser = Algebra(set(), {"s"})
    fuser.infer_scalars(code)
    assert {"t1_bar", "t2", "t3", "t4", "t5"} <= fuser.scalars
    code[0].value = code[0].value.args[0]                  # t1_bar = g: an array
    del code[2]                                            # the copy t3 = t2 goes; t4 reads t2
    code[2].value.left.id = "t2"
    fuser.revise({"t1_bar": code[0].value}, {"t3": "t2"})
    again = Algebra(set(), {"s"})
    again.infer_scalars(code)
    assert fuser.scalars - {"t3"} == again.scalars
    assert {"t1_bar", "t2", "t4"}.isdisjoint(fuser.scalars) and "t5" in fuser.scalars


def _jvp_body(fn, args) -> str:
    """The generated JVP of `fn` (with respect to its first argument), comments left out."""
    from s2sad.api.targets import compiled_jvp
    s2sad.jvp(fn, args, (np.ones_like(args[0]),) + (None,) * (len(args) - 1))
    text = compiled_jvp(fn, (0,), None, "numpy").source.split('"""', 2)[2]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def shifted_sums(x):
    a = np.zeros(6)
    a[1:] += 2.0 * x[:-1]
    a[:-1] -= np.sin(x[1:])
    return np.sum(a * a)


def self_overlap(x):
    a = x * 1.0
    a[1:] += a[:-1]
    return np.sum(a ** 2)


@pytest.mark.parametrize("fun, inplace", [(shifted_sums, True), (self_overlap, False)])
def test_an_augmented_write_keeps_its_tangent_augmented_unless_it_reads_the_same_memory(fun, inplace):
    x = rng.uniform(-1, 1, 6)
    v = rng.uniform(-1, 1, 6)
    body = _jvp_body(fun, (x,))
    assert ("a_dot[1:] += " in body) is inplace
    if not inplace:                   # a_dot[1:] + a_dot[:-1] reads the memory it writes: written out
        assert "a_dot[1:] = a_dot[1:] + a_dot[:-1]" in body
    got = s2sad.jvp(fun, (x,), (v,))[1]
    assert got == pytest.approx(float(np.sum(central(fun, [x]) * v)), rel=1e-7)


def mixed_products(x, c):
    return np.sin(x) * c + 1.5 * x * c * 3.0 - 2.0 * (c * x) * 0.1


def test_forward_fusion_keeps_the_value_bit_for_bit_and_fuses_the_tangent():
    x, c = np.linspace(0.1, 1.0, 5), np.linspace(1.0, 2.0, 5)
    value, tangent = s2sad.jvp(mixed_products, (x, c), (np.ones(5), None))
    assert np.array_equal(value, mixed_products(x, c))     # the user's products in the user's order
    want = np.cos(x) * c + 4.5 * c - 0.2 * c
    np.testing.assert_allclose(tangent, want, rtol=1e-13)
    body = _jvp_body(mixed_products, (x, c))
    assert "_rt.tangent_like" not in body            # each tangent reads every operand: its shape as it is
    assert len([line for line in body.splitlines() if "_dot =" in line]) <= 4


def test_dead_arrays_drops_an_accumulator_read_only_by_its_own_writes():
    from s2sad.passes.fuse import dead_arrays
    tree = ast.parse("a = _rt.zeros(x)\nb = _rt.zeros(x)\na[1:] += x[:-1] * a[1:]\nb[0] = a[0]\n"
                     "a[:-1] = a[:-1] + x[1:]\nc = b * 2")
    ret = ast.Return(value=ast.Name(id="c", ctx=ast.Load()))
    assert not dead_arrays(tree.body, ret, set())          # a is read by b's write: it stays
    tree = ast.parse("a = _rt.zeros(x)\nb = _rt.zeros(x)\na[1:] += x[:-1] * a[1:]\n"
                     "a[:-1] = a[:-1] + x[1:]\nb[0] = x[0]\nc = b * 2")
    assert dead_arrays(tree.body, ret, set())
    assert ast.unparse(ast.Module(body=tree.body, type_ignores=[])) == "b = _rt.zeros(x)\nb[0] = x[0]\nc = b * 2"
    tree = ast.parse("a = _rt.zeros(x)\na[0] = x[0]\nc = x * 2")
    assert not dead_arrays(tree.body, ret, {"a"})          # a user variable stays


def test_dead_arrays_keeps_a_write_whose_value_has_an_effect():
    from s2sad.passes.fuse import dead_arrays
    ret = ast.Return(value=ast.Name(id="c", ctx=ast.Load()))
    tree = ast.parse("a = _rt.zeros(x)\na[0] = tape.pop()\nc = x * 2")
    assert not dead_arrays(tree.body, ret, set())          # the tape must still be popped


@pytest.mark.parametrize("text, expected", [
    ("y = a + -2 * b * c", "y = a - 2 * b * c"),       # a leading minus deep in a product
    ("y = a - -b * c", "y = a + b * c"),
    ("y = a + -b", "y = a - b"),
    ("y = a + b * -2", "y = a - 2 * b"),               # numbers first (reassociated), then the sign
])
def test_signs_are_tidied_without_changing_a_value(text, expected):
    from s2sad.passes.algebra import Rewriter
    tree = ast.parse(text)
    Rewriter(Algebra(set(), set())).stmt(tree.body[0])
    assert ast.unparse(tree.body[0]) == expected
    env = {"a": 0.3, "b": 1.7, "c": -0.9}
    want = dict(env)
    exec(text, want)
    exec(expected, env)
    assert env["y"] == want["y"]                          # bit for bit


def rebinds_its_parameter(x, w):
    if np.sum(x) > 0:
        w -= np.mean(x)              # w stays an array: its value comes in from outside
    return np.sum(np.sin(w) * np.sum(w ** 2)) + np.sum(x)


def test_a_parameter_assigned_again_is_not_taken_for_a_scalar():
    # fuse took w for a scalar (its one assignment reads only w and a mean) and moved `2 * w` out of
    # the tangent's np.sum: jvp was 31% off, silently
    x, w = np.array([0.3, 0.2, 0.1]), np.array([0.5, -0.7, 1.1])
    v = np.array([1.0, 0.5, -2.0])
    want = float(central(rebinds_its_parameter, [x, w], 1) @ v)
    got = s2sad.jvp(rebinds_its_parameter, (x, w), (np.zeros(3), v))[1]
    assert got == pytest.approx(want, rel=1e-7)
    np.testing.assert_allclose(s2sad.grad(rebinds_its_parameter, argnums=1)(x, w) @ v, want, rtol=1e-7)
    hv = s2sad.hvp(lambda w_: rebinds_its_parameter(x, w_), (w,), (v,))
    np.testing.assert_allclose(hv, central(lambda w_: s2sad.grad(rebinds_its_parameter, argnums=1)(x, w_) @ v,
                                           [w]), rtol=1e-5, atol=1e-7)
