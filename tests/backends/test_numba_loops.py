"""backend="numba": a run of statements on vectors made one loop (s2sad/backends/loops.py).

Each gradient is compared with the NumPy backend's and with central differences in float64 (both
independent of the loop); the file is read to check that the loop was made, so that a test cannot pass
on the unfused statements alone.
"""
from __future__ import annotations

import numpy as np
import pytest

import s2sad


def _code(g) -> str:
    return "\n".join(ln for ln in g.source.splitlines() if not ln.strip().startswith("#"))


def _central(f, args, i, h=1e-6):
    x = np.array(args[i], dtype=float)
    out = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        a, b = list(args), list(args)
        a[i], b[i] = up, down
        out[k] = (f(*a) - f(*b)) / (2 * h)
    return out


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def linreg(t0, t1, X, Y):
    return np.mean((t0 + t1 * X - Y) ** 2 / 2)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 2000, 40_000])
def test_rosenbrocks_adds_into_slices_are_gathered_in_one_loop(n):
    # (40,000 elements: the middle loop runs over numba's threads)
    x = np.random.default_rng(n).uniform(-1.2, 1.2, n)
    g = s2sad.grad(rosenbrock, backend="numba")
    got = g(x)
    code = _code(g)
    assert "_rt.empty(x)" in code and "add_into" not in code, code
    edges, middle = code.split("for j1 in range(n1 - c1):")[1].split("numba.prange(c1)")
    assert "if k1 < m1:" in edges and "if k1 >= 1 and k1 - 1 < m1:" in edges, code
    assert "x_from1[j1] - x[j1] ** 2" in middle and "if " not in middle.split("else:")[0], code
    np.testing.assert_allclose(got, s2sad.grad(rosenbrock)(x), rtol=1e-12, atol=1e-12)
    if 0 < n < 100:
        np.testing.assert_allclose(got, _central(rosenbrock, [x], 0), rtol=1e-6, atol=1e-6)


def test_sums_of_an_elementwise_value_are_one_loop_and_the_value_is_not_made():
    rng = np.random.default_rng(1)
    X = rng.standard_normal(500)
    Y = 3 + 2 * X + 0.1 * rng.standard_normal(500)
    g = s2sad.grad(linreg, argnums=(0, 1), backend="numba")
    got = g(0.5, 1.5, X, Y)
    code = _code(g)
    assert "sum1 += " in code and "sum2 += " in code and "t4 = t0 + t1 * X[j1] - Y[j1]" in code, code
    ref = s2sad.grad(linreg, argnums=(0, 1))(0.5, 1.5, X, Y)
    for a, b in zip(got, ref):
        assert abs(a - b) <= 1e-12 * max(1.0, abs(b))
    h = 1e-6
    assert abs(got[1] - (linreg(0.5, 1.5 + h, X, Y) - linreg(0.5, 1.5 - h, X, Y)) / (2 * h)) < 1e-6


def test_vectors_of_different_lengths_are_refused_not_read_past_their_end():
    X, Y = np.arange(5.0), np.array([2.0])        # NumPy broadcasts Y; the loop would read past it
    with pytest.raises(ValueError, match="backend='numpy'"):
        s2sad.grad(linreg, argnums=(0, 1), backend="numba")(0.5, 1.5, X, Y)
    got = s2sad.grad(linreg, argnums=(0, 1))(0.5, 1.5, X, Y)       # the NumPy backend's way out
    assert np.isfinite(got).all()


def test_other_kinds_of_arguments_get_their_own_file():
    g = s2sad.grad(linreg, argnums=(0, 1), backend="numba")
    X = np.arange(12.0).reshape(3, 4)
    got = g(0.5, 1.5, X, X * 2 + 1)                     # 2-D: no loop, NumPy's statements
    ref = s2sad.grad(linreg, argnums=(0, 1))(0.5, 1.5, X, X * 2 + 1)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    got1 = g(0.5, 1.5, X[0], X[0] * 2 + 1)              # then 1-D again: the loop
    np.testing.assert_allclose(got1, s2sad.grad(linreg, argnums=(0, 1))(0.5, 1.5, X[0], X[0] * 2 + 1),
                               rtol=1e-12)


def kept(x, w):
    t = np.tanh(x * w)
    s = np.sum(t * x)
    return s + np.sum(t[1:] * t[:-1])             # t read again, sliced: made as an array


def written(x):
    y = x * 1.0
    t = y * 3.0
    y[0] = 5.0                                    # written after t is computed
    return np.sum(t * y)


def reassigned(x):
    a = np.sin(x) * 2
    x = x * 3
    return np.sum(a * x)


def value_read_later(x):
    t = np.exp(x)
    s = np.sum(t)
    for i in range(2):
        s = s + t[i] * i
    return s


@pytest.mark.parametrize("fn", [kept, written, reassigned, value_read_later])
def test_values_read_otherwise_and_memory_written_keep_numpys_results(fn):
    x = np.random.default_rng(3).uniform(0.1, 1.0, 7)
    args = (x, 0.8) if fn is kept else (x,)
    got = s2sad.grad(fn, backend="numba")(*args)
    np.testing.assert_allclose(got, s2sad.grad(fn)(*args), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got, _central(fn, list(args), 0), rtol=1e-6, atol=1e-6)


def test_value_and_grad_sums_the_value_in_the_loop_too():
    x = np.random.default_rng(4).uniform(-1, 1, 50)
    v, g = s2sad.value_and_grad(rosenbrock, backend="numba")(x)
    assert abs(v - rosenbrock(x)) <= 1e-12 * abs(rosenbrock(x))
    np.testing.assert_allclose(g, s2sad.grad(rosenbrock)(x), rtol=1e-12)


def broadcast_first(x, w):
    t = np.tanh(w + 0.5 * x)          # w of length 1: NumPy broadcasts it, before the loop
    return np.sum(0.5 * t) + np.sum(t * t)


def test_only_the_vectors_the_loop_reads_must_have_its_length():
    x, w = np.linspace(0.1, 1.0, 6), np.array([0.3])
    g = s2sad.value_and_grad(broadcast_first, argnums=(0, 1), backend="numba")
    value, got = g(x, w)
    assert "for j1 in range(m1):" in _code(g)          # the value's sums, of t
    ref_value, ref = s2sad.value_and_grad(broadcast_first, argnums=(0, 1))(x, w)
    assert abs(value - ref_value) <= 1e-12 * abs(ref_value)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_calls_of_alternating_kinds_each_get_their_code():
    """grad on numba enters its compiled code straight from the second call of a kind on; a call of
    another kind (a matrix, a float32 vector) takes the full path, and each gets NumPy's values."""
    g = s2sad.grad(linreg, argnums=(0, 1), backend="numba")
    ref = s2sad.grad(linreg, argnums=(0, 1))
    X1 = np.linspace(0.0, 1.0, 5)
    X2 = np.arange(6.0).reshape(2, 3)
    X3 = X1.astype(np.float32)
    def check(X):
        got = g(0.5, 1.5, X, X * 2 + 1)
        want = ref(0.5, 1.5, X, X * 2 + 1)
        assert type(got[0]) is float and type(got[1]) is float
        np.testing.assert_allclose(got, want, rtol=1e-6 if X is X3 else 1e-12)

    for X in (X1, X2, X3, X1, X1, X1):
        check(X)
    assert getattr(type(g), "_s2sad_entry", False)          # built for 1-D float64 vectors
    for _ in range(2):
        for X in (X2, X3, X1, X1[::2]):                     # (a strided view: numba compiles for it)
            check(X)


def test_the_entry_hands_back_the_compiled_codes_own_gradient(tmp_path, monkeypatch):
    """From the third call on, grad on numba goes into the compiled code and returns its array: no
    second run on the full path. (An entry that compared dtypes by identity ran every call twice: the
    code numba loads from its cache makes arrays whose dtype equals the argument's but is another
    object.) The machine code is first made by another process, so that this one loads it."""
    import subprocess
    import sys
    (tmp_path / "loaded_mod.py").write_text(
        "import numpy as np\n\ndef rosen(x):\n    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)\n")
    folder = tmp_path / "generated"
    env = {**__import__("os").environ, "S2SAD_GENERATED_DIR": str(folder), "PYTHONPATH": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import numpy as np, s2sad, loaded_mod; "
                    "s2sad.grad(loaded_mod.rosen, backend='numba')(np.linspace(-1.0, 1.0, 9))"],
                   env=env, check=True, cwd=tmp_path)
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(folder))
    monkeypatch.syspath_prepend(str(tmp_path))
    import loaded_mod
    g = s2sad.grad(loaded_mod.rosen, backend="numba")
    x = np.linspace(-1.0, 1.0, 9)
    for _ in range(3):
        g(x)
    assert getattr(type(g), "_s2sad_entry", False)
    namespace = type(g).__call__.__globals__
    full, taken = namespace["_s2sad_full_path"], []
    namespace["_s2sad_full_path"] = lambda *a: taken.append(a) or full(*a)
    try:
        got = [g(x) for _ in range(3)]
    finally:
        namespace["_s2sad_full_path"] = full
    assert not taken
    np.testing.assert_allclose(got[-1], s2sad.grad(rosenbrock)(x), rtol=1e-12)


def test_the_file_is_the_same_whatever_the_hash_seed(tmp_path):
    """The lengths a loop checks are written in the values' order, not a set's (a set's order changes
    with PYTHONHASHSEED from one process to the next, and the file with it)."""
    import os
    import subprocess
    import sys
    (tmp_path / "several.py").write_text(
        "import numpy as np\n\ndef several(x):\n    p = np.sin(x)\n    q = np.cos(x)\n    r = np.exp(x)\n"
        "    return np.sum(p * x) + np.sum(q * x) + np.sum(r * x)\n")
    script = ("import numpy as np, s2sad, several; g = s2sad.value_and_grad(several.several, backend='numba'); "
              "g(np.linspace(0.1, 1.0, 5)); print(g.source)")
    texts = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(tmp_path),
               "S2SAD_GENERATED_DIR": str(tmp_path / f"generated{seed}")}
        texts.append(subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=tmp_path,
                                    capture_output=True, text=True).stdout)
    assert "for j1 in range(m1):" in texts[0] and ".shape[0] != m1 or " in texts[0]
    assert texts[0] == texts[1] == texts[2]


def shifted(x, y):
    return np.sum(x[2:] * y[:-2] * x[:-2]) + np.sum(np.sin(x[1:-1]) * y[2:]) + np.mean(np.cos(y[1:-1]))


THREADED = 32_768 + 3        # (loops.PARALLEL: a loop this long runs over numba's threads)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 9, THREADED])
def test_the_elements_only_some_adds_reach_are_tested_the_others_not(n):
    """Adds at three starts (x_bar[2:], [1:-1], [:-2]): two elements at each end get only some; the
    middle ones get all three in a loop without tests, over threads when long."""
    rng = np.random.default_rng(n)
    x, y = rng.uniform(0.2, 1.2, n), rng.uniform(0.2, 1.2, n)
    g = s2sad.value_and_grad(shifted, argnums=(0, 1), backend="numba")
    with np.errstate(invalid="ignore"):            # (n < 3: the mean of nothing, NumPy's nan)
        value, got = g(x, y)
        ref_value, ref = s2sad.value_and_grad(shifted, argnums=(0, 1))(x, y)
    code = _code(g)
    assert "numba.prange(c1)" in code and "shifted_grad_threads(c1, " in code, code
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    if 2 < n < 10:
        for i in (0, 1):
            np.testing.assert_allclose(got[i], _central(shifted, [x, y], i), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [kept, broadcast_first])
def test_values_made_as_arrays_are_read_by_the_threads_too(fn):
    """A kept value (t of `kept`, read sliced) and NumPy's broadcasting of a length-1 w before the loop
    (which numba's parallel form of the whole function would refuse) at a length run over threads."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0.1, 1.0, THREADED)
    args = (x, 0.8) if fn is kept else (x, np.array([0.3]))
    argnums = 0 if fn is kept else (0, 1)
    g = s2sad.value_and_grad(fn, argnums=argnums, backend="numba")
    value, got = g(*args)
    assert "numba.prange(" in "\n".join(ln for ln in g.source.splitlines() if "def " not in ln)
    ref_value, ref = s2sad.value_and_grad(fn, argnums=argnums)(*args)
    assert abs(value - ref_value) <= 1e-12 * abs(ref_value)
    for a, b in zip(got if argnums != 0 else [got], ref if argnums != 0 else [ref]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_float32_vectors_over_threads_keep_their_dtype():
    x = np.random.default_rng(6).uniform(-1.0, 1.0, THREADED).astype(np.float32)
    got = s2sad.grad(rosenbrock, backend="numba")(x)
    ref = s2sad.grad(rosenbrock)(x.astype(np.float64))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def reused(x, a):
    t = np.sin(x[:-1]) * a
    u = t * x[1:]
    return np.sum(t) + np.sum(u * u) + a * np.mean(t)


@pytest.mark.parametrize("n", [1, 2, 7, THREADED])
def test_a_cotangent_added_to_twice_and_products_onto_slices_are_one_loop(n):
    """t is read by three statements: its cotangent is assigned, then added to (`t_bar = t_bar + ...`,
    given a name per value in the loop); the products' cotangents onto x[1:] and t are
    `_rt.sum_product(..., x[1:])` and `_rt.full(g, t)`, identities read through; a's, a number, sums."""
    rng = np.random.default_rng(n)
    x = rng.uniform(-1.0, 1.0, n)
    g = s2sad.value_and_grad(reused, argnums=(0, 1), backend="numba")
    with np.errstate(invalid="ignore"):            # (n = 1: the mean of nothing, NumPy's nan)
        value, got = g(x, 0.7)
        ref_value, ref = s2sad.value_and_grad(reused, argnums=(0, 1))(x, 0.7)
    code = _code(g)
    # (two loops: the value's sums, then the gradient, which reads the mean they make)
    assert code.count("numba.prange(") == 2 and "add_into" not in code and "_rt.full" not in code, code
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12)
    if 1 < n < 10:
        np.testing.assert_allclose(got[0], _central(reused, [x, 0.7], 0), rtol=1e-6, atol=1e-6)
        h = 1e-6
        assert abs(got[1] - (reused(x, 0.7 + h) - reused(x, 0.7 - h)) / (2 * h)) < 1e-6


def branchy(x):
    t = np.sin(x) * x
    u = t * 2
    if np.sum(u) > 0:
        u = u * 3
    return np.sum(t) + np.sum(u) + np.sum(t * t)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_names_given_a_name_per_value_beside_an_if(sign):
    """t's cotangent is assigned again at top level (a name per value), u's in the if's branch (left
    alone): the gradient of both branches is NumPy's."""
    x = sign * np.random.default_rng(8).uniform(0.1, 1.0, 9)
    got = s2sad.grad(branchy, backend="numba")(x)
    np.testing.assert_allclose(got, s2sad.grad(branchy)(x), rtol=1e-12)
    np.testing.assert_allclose(got, _central(branchy, [x], 0), rtol=1e-6, atol=1e-6)


def whole_adds(x):
    return np.sum(np.sin(x[0:]) ** 2) + np.sum(x[:] * 3.0)


def test_adds_into_the_whole_vector_need_no_edges_loop_and_no_unread_names():
    x = np.random.default_rng(9).uniform(-1.0, 1.0, 11)
    g = s2sad.grad(whole_adds, backend="numba")
    got = g(x)
    code = _code(g)
    assert "x_bar[j1] = x_bar_k" in code and "n1" not in code and "k1" not in code, code
    np.testing.assert_allclose(got, s2sad.grad(whole_adds)(x), rtol=1e-12)
    np.testing.assert_allclose(got, _central(whole_adds, [x], 0), rtol=1e-6, atol=1e-6)
