"""backend="numba": the generated gradient compiled by numba.

Values are compared with the NumPy backend's (itself checked against independent references elsewhere)
to 1e-12 relative. Where numba cannot compile a gradient, the call must raise a DifferentiationError that
names the user's file and line and says to use backend='numpy'; the cases the issue names (the
benchmark functions, the seed, the loops) must compile. A sample of the rule cases runs here (each
compile costs numba a fraction of a second); the random-program differential run covers the rest
(`benchmarks/fuzz.py --modes numba`).
"""
from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import control_cases as C
import reference
import rule_cases as rc
import s2sad
import test_random_programs as RP
from s2sad.codegen import cache
from test_control_flow import CASES as FLOW_CASES
from test_rules import weights

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "benchmarks"))
import cases as bench  # noqa: E402  (benchmarks/cases.py: the functions the issue's table names)

NAMED = re.compile(r"\.py:\d+: ")


def check_on_numba(fn, args, nums, rtol=1e-12, atol=1e-13):
    """The numba gradient equals the NumPy one, or the call is refused with the user's line; returns the
    gradients (None when refused)."""
    ref = s2sad.grad(fn, argnums=nums)(*args)
    try:
        got = s2sad.grad(fn, argnums=nums, backend="numba")(*args)
    except s2sad.DifferentiationError as exc:
        assert NAMED.search(str(exc)), f"the refusal names no line: {exc}"
        assert "backend='numpy'" in str(exc), f"the refusal gives no way out: {exc}"
        return None
    for g, r, i in zip(got, ref, nums):
        assert np.shape(g) == np.shape(r) == np.shape(args[i])
        assert type(g) is type(r) or isinstance(g, np.ndarray) and isinstance(r, np.ndarray), (type(g), type(r))
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol)
    return got


SAMPLE = rc.CASES[::10]      # each compile costs numba 0.2-2 s; fuzz.py --modes numba runs the rest


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_rule_case(case):
    args = list(case.args) + [weights(case)]
    try:
        s2sad.grad(case.fn, argnums=tuple(case.diff))(*args)
    except Exception:
        pytest.skip("refused on NumPy too (tested there)")
    check_on_numba(case.fn, args, tuple(case.diff))


@pytest.mark.parametrize("name, args", FLOW_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLOW_CASES)])
def test_control_flow_case(name, args):
    check_on_numba(getattr(C, name), args, tuple(range(len(args))))


def test_most_sampled_rules_compile():
    """Refusing is allowed, refusing most is not: at least a third of the sampled rule cases compile."""
    ran = compiled = 0
    for case in SAMPLE[::4]:
        args = list(case.args) + [weights(case)]
        try:
            s2sad.grad(case.fn, argnums=tuple(case.diff))(*args)
        except Exception:
            continue
        ran += 1
        compiled += check_on_numba(case.fn, args, tuple(case.diff)) is not None
    assert ran >= 20 and compiled >= ran / 3, f"{compiled} of {ran} compiled"


BENCH = bench.CASES


@pytest.mark.parametrize("case", BENCH, ids=[c.name for c in BENCH])
def test_the_benchmark_functions_compile(case):
    """The functions of the performance table run on numba (small sizes), equal to NumPy's gradients."""
    args = case.make_args(True)
    if case.long_loop:
        args = (args[0], 1000)
    if case.name in ("linreg_1M", "rosenbrock_1M"):
        args = tuple(a[:1000] if isinstance(a, np.ndarray) else a for a in args)
    nums = case.argnums if isinstance(case.argnums, tuple) else (case.argnums,)
    assert check_on_numba(case.fn, args, nums, rtol=1e-11) is not None, "refused"


@settings(RP.SETTINGS, max_examples=8)
@given(st.data())
def test_random_programs_on_numba(tmp_path_factory, data):
    mod, x, y = RP.control_flow_program(data, tmp_path_factory.mktemp("numba_programs"))
    try:
        s2sad.grad(mod.f, argnums=(0, 1))(x.copy(), y)
    except (ValueError, s2sad.UnsupportedSyntaxError):
        assume(False)
    check_on_numba(mod.f, [x, y], (0, 1), rtol=1e-10, atol=1e-12)


# --- the file, the refusals, the cache -------------------------------------------------------------

def logistic(l, n):
    for i in range(n):
        l = 4 * l * (1 - l)
    return l


def test_the_file_is_the_numpy_code_compiled_by_numba():
    g = s2sad.grad(logistic, backend="numba")
    assert g(0.3, 20) == pytest.approx(s2sad.grad(logistic)(0.3, 20), rel=1e-12)
    text = g.path.read_text()
    assert '@numba.njit(cache=True, error_model="numpy")\ndef logistic_grad(l, n, out_bar=1.0):' in text
    assert "from s2sad.runtime import jitted as _rt" in text and "for i in _rt.backwards(steps1):" in text
    assert "numpy code compiled by numba" in text.splitlines()[2]


def test_a_helper_without_numba_form_is_refused_at_the_users_line():
    def f(x):
        return np.sum(np.cumprod(x) * np.arange(3.0))
    with pytest.raises(s2sad.DifferentiationError) as e:
        s2sad.grad(f, backend="numba")(np.array([0.3, -1.0, 2.0]))
    assert re.search(r"test_numba_backend\.py:\d+: .*_rt\.cumprod_grad, which has no numba form yet: use "
                     r"backend='numpy'", str(e.value)), str(e.value)
    assert "return np.sum(np.cumprod(x) * np.arange(3.0))" in str(e.value)


def test_reductions_along_an_axis():
    def f(x):
        m = np.max(x, axis=1, keepdims=True)
        return np.sum(np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)) + m) + np.sum(np.min(x, axis=0) ** 2) \
            + np.sum(np.mean(x, axis=0) * np.clip(x, -0.5, 0.5))
    x = np.array([[0.3, -1.2, 2.0], [0.7, 0.7, -0.1]])
    got = s2sad.grad(f, backend="numba")(x)
    np.testing.assert_allclose(got, s2sad.grad(f)(x), rtol=1e-12)
    assert "_rt.max_kept(x, 1)" in s2sad.grad(f, backend="numba").source


def test_what_numba_cannot_compile_is_refused_at_the_users_line():
    def f(x):
        y = np.sin(x)
        z = np.sum(y, keepdims=True)
        return z[0]
    with pytest.raises(s2sad.DifferentiationError) as e:
        s2sad.grad(f, backend="numba")(np.ones(3))
    message = str(e.value)
    assert re.search(r"test_numba_backend\.py:\d+: z = np.sum\(y, keepdims=True\)", message), message
    assert "numba cannot compile this line's derivative" in message and "backend='numpy'" in message
    with pytest.raises(s2sad.DifferentiationError):        # a failed compile is reported again, not cached
        s2sad.grad(f, backend="numba")(np.ones(3))
    np.testing.assert_allclose(s2sad.grad(f)(np.ones(3)), np.cos(np.ones(3)), rtol=1e-15)


class Scale:
    k = 2.0


def test_an_argument_numba_cannot_type_is_named():
    def f(x, s):
        return np.sum(x * 2.0)
    with pytest.raises(s2sad.DifferentiationError,
                       match=r"test_numba_backend\.py:\d+: numba cannot compile for s, a .*Scale: pass NumPy"):
        s2sad.grad(f, backend="numba")(np.ones(2), Scale())


def test_numpys_arithmetic_division_by_zero_is_inf():
    def f(x, y):
        return np.sum(x / y)
    x, y = np.ones(3), np.array([1.0, 0.0, 2.0])
    with np.errstate(divide="ignore"):
        ref = s2sad.grad(f)(x, y)
        got = s2sad.grad(f, backend="numba")(x, y)
    assert np.isinf(got[1]) and np.array_equal(got, ref)


@pytest.mark.parametrize("steps", [range(5), range(0), range(2, 11, 3), range(10, 0, -2), range(3, 4)])
def test_backwards_reverses_a_range_in_compiled_code(steps):
    from s2sad.runtime import jitted

    @numba.njit
    def walk(start, stop, step):
        return [i for i in jitted.backwards(range(start, stop, step))]
    assert walk(steps.start, steps.stop, steps.step) == list(steps)[::-1]


def _in_two_processes(tmp_path, source: str) -> list[list[str]]:
    """Runs the program `source` in two new processes, one after the other, with one generated folder (the
    second finds what the first left); each one's printed words. A failed run fails the test."""
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    env = {**__import__("os").environ, "S2SAD_GENERATED_DIR": str(tmp_path / "generated")}
    outputs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout.split())
    return outputs


def test_a_new_process_loads_the_machine_code(tmp_path):
    """cache=True: the second process finds the compiled code beside the file and compiles nothing."""
    outputs = _in_two_processes(tmp_path, """
        import s2sad

        def logistic(l, n):
            for i in range(n):
                l = 4 * l * (1 - l)
            return l

        g = s2sad.grad(logistic, backend="numba")
        print(g(0.3, 20))
        dispatcher = next(iter(g._compiled.values())).fn.compiled
        print(dispatcher.stats.cache_hits.most_common(1)[0][1] if dispatcher.stats.cache_hits else 0)
    """)
    (v1, hits1), (v2, hits2) = outputs
    assert v1 == v2 and float(v1) == pytest.approx(s2sad.grad(logistic)(0.3, 20), rel=1e-12)
    assert hits1 == "0" and hits2 == "1"
    assert list((tmp_path / "generated" / "__pycache__").glob("*.nbi"))


def test_a_new_process_compiles_nothing_for_its_calls_into_numpy(tmp_path):
    """The compiled code's calls of NumPy's matmul and tanh (large arrays) are cached with it: a second
    process compiles nothing at all (a numba.objmode block would be compiled again in each process)."""
    outputs = _in_two_processes(tmp_path, """
        import numpy as np
        from numba.core import event
        import s2sad

        def layer(W, X):
            return np.sum(np.tanh(X @ W) ** 2)

        rng = np.random.default_rng(0)
        W, X = rng.standard_normal((60, 40)) / 8, rng.standard_normal((300, 60))
        g = s2sad.grad(layer, backend="numba")
        with event.install_recorder("numba:compile") as compiles:
            got = g(W, X)
        want = s2sad.grad(layer)(W, X)
        print(np.abs(got - want).max() / np.abs(want).max(), sum(e.is_start for _, e in compiles.buffer))
    """)
    (err1, compiled1), (err2, compiled2) = outputs
    assert float(err1) < 1e-13 and float(err2) < 1e-13
    assert int(compiled1) > 0 and compiled2 == "0"


def test_an_error_in_numpys_call_is_raised_from_compiled_code():
    """NumPy's exception inside the compiled code's call (`_numpy`) reaches the caller as it is."""
    from s2sad.runtime import jitted

    @numba.njit
    def product(a, b):
        return jitted.matmul(a, b)
    a, b = np.ones((200, 60)), np.ones((61, 30))
    with pytest.raises(ValueError, match="mismatch"):
        product(a, b)
    assert np.array_equal(product(a, b[:60]), a @ b[:60])    # and the next call is not poisoned


# --- forward mode, Hessians, Jacobians, vjp --------------------------------------------------------

def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosen_hessian(x):
    """The Hessian of Rosenbrock, by hand (tridiagonal)."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


@pytest.mark.parametrize("fn", [rosen, rosen_loop])
def test_forward_mode_and_hessians_compiled_by_numba(fn):
    x = np.linspace(-1.0, 1.2, 6)
    t = np.cos(np.arange(6.0))
    value, tangent = s2sad.jvp(fn, (x,), (t,), backend="numba")
    assert value == pytest.approx(fn(x), rel=1e-14)
    assert tangent == pytest.approx(np.dot(s2sad.grad(fn)(x), t), rel=1e-12)
    np.testing.assert_allclose(s2sad.hessian(fn, backend="numba")(x), rosen_hessian(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s2sad.jacobian(s2sad.grad(fn), backend="numba")(x), rosen_hessian(x), rtol=1e-12,
                               atol=1e-12)
    out, pullback = s2sad.vjp(fn, x, backend="numba")
    np.testing.assert_allclose(pullback(2.0)[0], 2 * s2sad.grad(fn)(x), rtol=1e-12)
    hess = s2sad.hessian(fn, backend="numba")
    hess(x)
    files = [p.read_text() for p in sorted(s2sad.grad(fn).path.parent.glob(f"*{fn.__name__}_grad_jvp_*.py"))]
    assert any("@numba.njit(cache=True" in text for text in files), "no forward-mode file compiled by numba"


def test_an_unknown_backend_is_refused_by_every_transformation():
    for call in (lambda: s2sad.jvp(rosen, (np.ones(3),), (np.ones(3),), backend="jax"),
                 lambda: s2sad.hessian(rosen, backend="jax"), lambda: s2sad.vjp(rosen, np.ones(3), backend="jax")):
        with pytest.raises(ValueError, match="backend must be one of"):
            call()


def test_the_tape_is_one_list_per_slot():
    def fill(x):
        y = np.zeros(len(x))
        for i in range(len(x)):
            y[i] = x[i] ** 2 + np.sin(x[i])
        return np.sum(y * y)
    x = np.linspace(0.1, 0.9, 5)
    g = s2sad.grad(fill, backend="numba")
    np.testing.assert_allclose(g(x), s2sad.grad(fill)(x), rtol=1e-12)
    text = g.source
    assert "tape = []" not in text and "tape_y_i = []" in text and "y[i] = tape_y_i.pop()" in text


def test_a_cotangent_that_becomes_an_array_in_a_loop():
    def f(x):
        k = 0
        while k < 5:
            x = np.sin(x) + x
            k += 1
        return np.sum(x)
    x = np.array([0.3, -0.2, 1.1])
    g = s2sad.grad(f, backend="numba")
    np.testing.assert_allclose(g(x), s2sad.grad(f)(x), rtol=1e-12)
    assert "x_bar = _rt.as_rank(result_bar, x)" in g.source


def test_adding_into_a_slice_reads_an_overlapping_operand_first():
    """numba's own `a[1:] += a[:-1]` reads what it has just written (NumPy buffers it): the runtime's
    add_into copies an operand that overlaps the slice, as NumPy does."""
    from s2sad.runtime import jitted

    @numba.njit
    def shift_add(a):
        jitted.add_into(a[1:], a[:-1])
        jitted.add_into(a[:, None][2:, 0], 1.0)
        return a
    a = np.arange(6.0)
    want = a.copy()
    want[1:] += want[:-1]
    want[2:] += 1.0
    np.testing.assert_array_equal(shift_add(a.copy()), want)


def test_other_in_place_operators_into_a_slice_are_not_numbas():
    def f(x):
        a = x * 1.0
        a[1:] *= a[:-1]
        return np.sum(a ** 2)
    x = np.arange(1.0, 7.0)
    np.testing.assert_allclose(s2sad.grad(f, backend="numba")(x), s2sad.grad(f)(x), rtol=1e-12)


def test_cache_clear_removes_numbas_machine_code(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path / "gen"))

    def cubic(x):                              # a function of its own: no other test compiled it
        return 2.0 * x ** 3 - x
    g = s2sad.grad(cubic, backend="numba")
    assert g(0.5) == pytest.approx(0.5)
    code = tmp_path / "gen" / "__pycache__"
    own = code / "mine.cpython-311.pyc"
    own.write_bytes(b"")                       # not s2sad's: left alone
    assert list(code.glob("*.nbi")) and list(code.glob("*.nbc"))
    cache.clear()
    assert not list(code.glob("*.nb?")) and own.exists()


def test_a_reversed_array_is_not_taken_for_a_range():
    """Ranges are indexed through _rt.item; an array reversed like a range (`v = a[::-1]`) stays an
    array, indexed as written (`v[:, None]`; this was generated as invalid code)."""
    def f(x):
        v = np.sin(x)[::-1]
        w = v[:, None] * x[None, :]
        return np.sum(w) + v[1]
    x = np.linspace(0.1, 0.7, 4)
    check_on_numba(f, [x], (0,))        # compiled and equal, or refused with the line (np.s_ today)
    assert "_rt.item(v" not in s2sad.grad(f, backend="numba").source


@pytest.mark.parametrize("fn", [
    lambda x: np.var(x) + np.std(x, ddof=1) * 2,
    lambda x: np.linalg.norm(x) * 3 + np.linalg.norm(x * 0.0),
    lambda x: np.sum(np.cumsum(x) ** 2),
    lambda x: np.sum(x.T @ np.ones(2)) + np.sum(np.transpose(x) ** 2),
], ids=["var-std-ddof", "norm-and-zero-norm", "cumsum", "transpose"])
def test_more_reductions_have_numba_forms(fn):
    x = np.array([[0.3, -1.2, 2.0], [0.7, 0.5, -0.1]])
    np.testing.assert_allclose(s2sad.grad(fn, backend="numba")(x), s2sad.grad(fn)(x), rtol=1e-12, atol=1e-15)


def test_what_the_compiled_code_cannot_run_is_refused_with_the_function():
    """numba reshapes only contiguous arrays (NumPy copies): its NotImplementedError at run time becomes a
    refusal naming the function (found by the numba fuzz run)."""
    def f(x, y):
        v1 = (np.reshape(np.ravel(np.outer(y, np.cos(y)) - np.eye(3)), (3, 3))).T
        y = np.tanh(y + x)
        return v1.sum()
    args = (np.array([0.1, 0.2, 0.3]), np.array([0.3, -0.2, 0.5]))
    check_on_numba(f, list(args), (0, 1))


@pytest.mark.parametrize("fn, x", [
    (lambda x: np.sum(np.sort(x) * np.arange(4.0)), np.array([0.3, -1.2, 2.0, 0.7])),
    (lambda x: np.sum(np.sort(-x) ** 3 * np.arange(4.0)), np.array([0.3, -1.2, 2.0, 0.7])),
    (lambda x: np.prod(x) * 2.0, np.array([0.3, -1.2, 2.0, 0.7])),
    (lambda x: np.prod(x) + np.sum(x), np.array([0.3, 0.0, 2.0, 0.7])),
    (lambda x: np.prod(x ** 2), np.array([[0.3, -1.2], [2.0, 0.7]])),
    (lambda x: np.trace(x) * 3.0 + np.trace(x, 1), np.array([[0.3, -1.2, 0.5], [2.0, 0.7, 1.1]])),
    (lambda x: np.trace(x @ x.T, -1) ** 2, np.array([[0.3, -1.2, 0.5], [2.0, 0.7, 1.1]])),
], ids=["sort", "sort-of-an-expression", "prod", "prod-with-a-zero", "prod-matrix", "trace-offsets", "trace-negative-offset"])
def test_sort_prod_and_trace_have_numba_forms(fn, x):
    # compared with the NumPy backend's gradient, and (independently) with central differences
    got = s2sad.grad(fn, backend="numba")(x)
    np.testing.assert_allclose(got, s2sad.grad(fn)(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got, reference.central(fn, [x]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn, args", [
    (lambda u: np.sum(np.log(np.concatenate([u[1:], u[:1]]) ** 2 + 1.0)), (np.array([0.1, -0.7, 0.3, 1.2]),)),
    (lambda u: np.sum(np.concatenate((u, 2.0 * u, u[:2])) ** 3), (np.array([0.1, -0.7, 0.3]),)),
    (lambda m: np.sum(np.sin(np.concatenate([m, m ** 2], axis=1))), (np.array([[0.1, -0.7], [0.3, 1.2]]),)),
    (lambda m: np.sum(np.concatenate([m, m[:1] * 3.0]) ** 2), (np.array([[0.1, -0.7], [0.3, 1.2]]),)),
    (lambda u: np.sum(np.stack([u, u ** 2, np.sin(u)]) * np.arange(3.0)[:, None]), (np.array([0.1, -0.7, 0.3]),)),
    (lambda m: np.sum(np.stack((m, m.T * 2.0)) ** 2), (np.array([[0.1, -0.7], [0.3, 1.2]]),)),
], ids=["vector-rolled", "vector-tuple", "matrix-axis-1", "matrix-axis-0", "stack-vectors", "stack-matrices"])
def test_concatenate_and_stack_have_numba_forms(fn, args):
    got = check_on_numba(fn, list(args), (0,))
    assert got is not None, "refused"
    np.testing.assert_allclose(got[0], reference.central(fn, list(args)), rtol=1e-6, atol=1e-6)


def test_a_write_at_repeated_indices_has_a_numba_form():
    def f(x, w):
        z = np.zeros(4)
        z[[0, -1, 0]] = np.sum(x * w)      # element 0 written twice: the last write lands
        return np.sum(z * x)
    def g(x, w):
        z = np.zeros(4)
        z[np.array([2, 1, 2])] = x[:3] * w
        return np.sum(np.sin(z) * x)
    x, w = np.array([0.3, -1.2, 2.0, 0.7]), np.array([1.5, 0.5, -0.25, 2.0])
    for fn, args in ((f, [x, w]), (g, [x, w[:3]])):
        got = check_on_numba(fn, args, (0, 1))
        assert got is not None, "refused"
        for i in (0, 1):
            np.testing.assert_allclose(got[i], reference.central(fn, args, i), rtol=1e-6, atol=1e-6)


def test_a_read_and_an_add_at_a_list_of_repeated_indices_have_numba_forms():
    """`x[[-2, -1, 1, -1]]` (its cotangent added at each index, repeats summed) and
    `v[[2, -3, -3, 1]] += e`: the index is a list of integers in the compiled code (found by random programs,
    refused until the runtime's add_at took one)."""
    def read(x):
        return np.sum(np.sin(x[[-2, -1, 1, -1]]) * np.arange(1.0, 5.0))

    def add(x, y):
        v = x * 1.0
        v[[2, -3, -3, 1]] += np.cos(y)
        return np.sum(v ** 2)
    x, y = np.array([0.3, -1.2, 2.0, 0.7, -0.4]), np.array([0.5, -0.25, 1.5, 2.0])
    for fn, args, nums in ((read, [x], (0,)), (add, [x, y], (0, 1))):
        got = check_on_numba(fn, args, nums)
        assert got is not None, "refused"
        for k, i in enumerate(nums):
            np.testing.assert_allclose(got[k], reference.central(fn, args, i), rtol=1e-6, atol=1e-6)
    want = np.zeros(5)
    for i, c in zip([-2, -1, 1, -1], np.arange(1.0, 5.0)):
        want[i] += c * np.cos(x[i])
    np.testing.assert_allclose(s2sad.grad(read, backend="numba")(x), want, rtol=1e-13)


def test_a_reduction_method_along_an_axis_in_a_condition_compiles():
    """`H.mean(axis=1)` in np.where's condition is copied as written (it is not differentiated); numba's
    own method takes no axis: it is spelled as the runtime's reduction along the axis (random programs)."""
    def f(x, H):
        v = np.where(H.mean(axis=1) + x > H.max(axis=0), H.mean(axis=1) * x, x ** 2)
        return np.sum(np.sin(v)) + np.sum(np.where(H.sum(axis=0, keepdims=True) > 0.5, H, 0.0) * x)
    x, H = np.array([0.3, -1.2, 2.0]), np.array([[0.5, -0.25, 1.5], [2.0, 0.1, -0.7], [0.9, 0.4, 0.2]])
    got = check_on_numba(f, [x, H], (0, 1))
    assert got is not None, "refused"
    for i in (0, 1):
        np.testing.assert_allclose(got[i], reference.central(f, [x, H], i), rtol=1e-6, atol=1e-6)


def _squash(a, c):
    c = np.mean(a)
    if c > 0.2:
        return np.tanh(c * a)
    return np.tanh(a)


def _calls_squash(x, y):
    x = x * np.cos(x)
    return np.sum(np.sin(_squash(x, y))) + y


@pytest.mark.parametrize("x", [np.array([0.9, 1.2, 0.8]), np.array([0.3, -1.2, 0.4])], ids=["if", "else"])
def test_a_helpers_parameter_cotangent_made_in_a_branch_compiles(x):
    """A helper's parameter bound to the caller's variable (no statement makes it) whose cotangent starts as
    0.0 and becomes an array in one branch: it gets the variable's rank (random programs, 5 of 800
    refused by numba's typing before)."""
    got = check_on_numba(_calls_squash, [x, 0.5], (0, 1))
    assert got is not None, "refused"
    for i in (0, 1):
        np.testing.assert_allclose(got[i], reference.central(_calls_squash, [x, 0.5], i), rtol=1e-6, atol=1e-6)


def _copied_then_updated(x, y):
    t = y
    t += (np.tanh(t) if np.tanh(t) > 0.8 else -np.tanh(t))
    return np.sum(x * t) + y


@pytest.mark.parametrize("y", [1.5, 0.3], ids=["if", "else"])
def test_a_copy_the_code_drops_is_no_rank_to_take(y):
    """`t = y`: the generated code reads y for t and binds no t, so t_bar, assigned in a branch, takes y's
    rank, not t's (as_rank(..., t) was a NameError numba reported; random programs)."""
    x = np.array([0.3, -1.2, 2.0])
    got = check_on_numba(_copied_then_updated, [x, y], (0, 1))
    assert got is not None, "refused"
    for i in (0, 1):
        np.testing.assert_allclose(got[i], reference.central(_copied_then_updated, [x, y], i), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn, x", [
    (lambda x: np.sum(np.clip(x, -0.5, 0.5) * x) + np.clip(0.49, -1.0, 1.0) * x[0], np.array([0.3, -1.2, 2.0])),
    (lambda x: np.where(np.max(x) > 0.5, 2.0, 3.0) * np.sum(np.where(x > 0.0, x ** 2, 0.5 * x)),
     np.array([0.3, -1.2, 2.0])),
    (lambda x: np.sum(np.where(x > 0.0, np.sin(x), 1.0)) + np.sum(np.where(x < 0.0, 2.0, x)), np.array([0.3, -1.2, 2.0])),
    (lambda x: np.sum(np.flip(x) * np.arange(3.0)) + np.sum(np.flip(np.outer(x, x))[0] * x), np.array([0.3, -1.2, 2.0])),
    (lambda x: np.sum(np.where(np.sum(x) > 0.0, 1.0, x * x)) + np.sum(np.where(np.sum(x) < 0.0, x, 2.0) * x),
     np.array([0.3, -1.2, 2.0])),
], ids=["clip-array-and-number", "where-numbers", "where-array-and-number", "flip-vector-and-matrix",
        "where-number-condition"])
def test_clip_where_and_flip_of_numbers_and_arrays_compile(fn, x):
    # numba's own np.clip, np.where and np.flip take no numbers: the runtime's forms do
    got = check_on_numba(fn, [x], (0,))
    assert got is not None, "refused"
    np.testing.assert_allclose(got[0], reference.central(fn, [x]), rtol=1e-6, atol=1e-6)


def new_axes(w, X):
    return np.sum(np.sin(X + w[:, None]) * w[None, :, None].sum()) + np.sum(w[..., None] ** 2 * w[None])


def test_a_view_with_new_axes_gets_its_cotangent_added_in_place_on_both_backends():
    # w[:, None] never repeats an element: its cotangent is `w_bar[:, None] += ...`, not np.add.at
    # (whose index, np.s_[:, None], numba cannot take)
    w, X = np.linspace(0.1, 0.9, 3), np.linspace(-1.0, 1.0, 6).reshape(3, 2)
    want = reference.central(new_axes, [w, X])
    for backend in ("numpy", "numba"):
        g = s2sad.grad(new_axes, backend=backend)
        np.testing.assert_allclose(g(w, X), want, rtol=1e-6, atol=1e-8)
    text = s2sad.grad(new_axes).source
    assert "w_bar[:, None] += " in text and "np.add.at" not in text and "np.s_" not in text


def loop_saved(x):
    for i in range(3):
        x *= np.tanh(math.sqrt(np.clip(x, -1.0, 1.0) * np.clip(x, -1.0, 1.0) + 1.0))
    return x


def tie_in_branch(X, c):
    for i in range(2):
        if c > 0:
            H = X - X
            X = np.sin(X * np.maximum(H, X - 0.05))
    return np.sum(X)


@pytest.mark.parametrize("fn, args", [(loop_saved, (0.4,)), (tie_in_branch, (np.linspace(0.1, 0.9, 4).reshape(2, 2), 1.0))])
def test_a_saved_value_first_assigned_in_a_loop_or_branch_compiles(fn, args):
    # NumPy's code starts such a value as None (its old value is saved before each assignment); numba
    # would type it Optional and refuse `if t` and `a == t`: there the tape keeps the new values instead
    assert "= None" in s2sad.grad(fn).source
    got = s2sad.grad(fn, backend="numba")(*args)
    assert "= None" not in s2sad.grad(fn, backend="numba").source.split('"""', 2)[2]
    np.testing.assert_allclose(got, s2sad.grad(fn)(*args), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got, reference.central(fn, list(args)), rtol=1e-6, atol=1e-8)
    if fn is loop_saved:               # forward mode over that code: the value and its tangent, together
        H = s2sad.hessian(fn, backend="numba")(*args)
        np.testing.assert_allclose(H, s2sad.hessian(fn)(*args), rtol=1e-12)
        np.testing.assert_allclose(H, reference.central(s2sad.grad(fn), list(args)), rtol=1e-6)


def _transcendental(x, w):
    return np.sum(np.tanh(x * w) + np.exp(-x) * np.log(x) + np.arctan(np.sinh(x)))


@pytest.mark.parametrize("n", [5, 3000])
def test_transcendental_functions_run_numpys_loop_on_large_arrays(n):
    """np.tanh, np.exp, np.log, ... become the runtime's (numba's own is 3-13x slower than NumPy's SIMD
    loop); on a large float array the compiled code calls NumPy's, whose values it then has to the bit."""
    x = np.linspace(0.5, 2.0, n)
    g = s2sad.grad(_transcendental, argnums=(0, 1), backend="numba")
    code = "\n".join(ln for ln in g.source.splitlines() if not ln.strip().startswith("#"))
    assert "_rt.tanh(" in code and "_rt.exp(" in code and "np.tanh" not in code
    got = g(x, 0.7)
    ref = s2sad.grad(_transcendental, argnums=(0, 1))(x, 0.7)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12)
    # the central difference, independent of both backends
    h = 1e-6
    fd = (_transcendental(x, 0.7 + h) - _transcendental(x, 0.7 - h)) / (2 * h)
    assert math.isclose(got[1], fd, rel_tol=1e-7)
    from s2sad.runtime import jitted

    @numba.njit
    def compiled(a):
        return jitted.tanh(a), jitted.exp(a[0, 0])
    big = np.linspace(-3, 3, jitted.LARGE * 2).reshape(2, -1)
    t, e = compiled(big)
    assert np.array_equal(t, np.tanh(big)) and e == np.exp(big[0, 0])


def test_numpys_loop_takes_arrays_of_any_layout():
    """The call into NumPy boxes what the compiled code holds: strided, F-ordered, float32 and empty arrays
    give NumPy's values, C-ordered, of NumPy's dtype."""
    from s2sad.runtime import jitted

    @numba.njit
    def both(a):
        return jitted.tanh(a), jitted.exp(a)
    rng = np.random.default_rng(3)
    for a in (rng.standard_normal((100, 160))[::2, 1::3], rng.standard_normal((40, 60)).T,
              rng.standard_normal((4, 30, 20)).astype(np.float32), np.empty((0, 2000))):
        assert a.size == 0 or a.size >= jitted.LARGE
        for got, want in zip(both(a), (np.tanh(a), np.exp(a))):
            assert got.flags.c_contiguous and got.dtype == want.dtype and np.array_equal(got, want)


def test_products_of_large_matrices_are_numpys():
    """`a @ b` becomes the runtime's matmul: NumPy's own BLAS on float matrices of at least BIG_PRODUCT
    multiplications (numba's would be SciPy's, whose threads contend with NumPy's), numba's below."""
    from s2sad.runtime import jitted

    @numba.njit
    def both(a, b, c, d):
        return jitted.matmul(a, b), jitted.matmul(c, d), jitted.matmul(a.T, a)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 60)), rng.standard_normal((60, 30))
    c, d = a[:4, :5].copy(), b[:5, :3].copy()
    big, small, transposed = both(a, b, c, d)
    assert 200 * 60 * 30 >= jitted.BIG_PRODUCT > 4 * 5 * 3
    assert np.array_equal(big, a @ b) and np.array_equal(transposed, a.T @ a)
    np.testing.assert_allclose(small, c @ d, rtol=1e-14)

    def layer(W, X):
        return np.sum(np.tanh(X @ W) ** 2)
    g = s2sad.grad(layer, backend="numba")
    code = "\n".join(ln for ln in g.source.splitlines() if not ln.strip().startswith("#"))
    assert "_rt.matmul(X, W)" in code and "@" not in code.split("def ", 1)[1]
    W = rng.standard_normal((60, 30)) / 8
    np.testing.assert_allclose(g(W, a), s2sad.grad(layer)(W, a), rtol=1e-12, atol=1e-14)


def test_the_norm_of_a_vector_is_numpys():
    """_rt.norm of a float vector is sqrt(x . x) in a loop, as NumPy computes it (numba's own calls BLAS's
    scaled nrm2): the same value to rounding, inf where x . x overflows, as NumPy's."""
    from s2sad.runtime import jitted

    @numba.njit
    def norm(x):
        return jitted.norm(x)
    rng = np.random.default_rng(5)
    for x in (rng.standard_normal(7), np.zeros(3), np.array([3.0, 4.0]), rng.standard_normal(1000)[::3]):
        assert math.isclose(norm(x), np.linalg.norm(x), rel_tol=1e-14, abs_tol=0.0)
    assert norm(np.array([1e200, 1e200])) == np.linalg.norm(np.array([1e200, 1e200])) == np.inf
