"""Reverse mode through if / while / for / break / continue / early return and user helpers."""
import numpy as np
import pytest

import control_cases as C
import s2sad
from reference import central, complex_step

rng = np.random.default_rng(7)

CASES = [
    ("seed", (rng.normal(size=3),)),
    ("seed", (np.float64(0.7),)),
    ("seed", (np.float64(-0.7),)),
    ("rosen_loop", (rng.normal(size=6),)),
    ("rosen_vec", (rng.normal(size=6),)),
    ("brk", (0.3,)),            # breaks after a few iterations
    ("brk", (0.01,)),           # never breaks
    ("early", (0.5,)),          # returns early
    ("early", (-0.5,)),         # falls through
    ("cont", (0.4,)),
    ("calls", (rng.normal(size=3),)),
    ("whilebreak", (0.7,)),
    ("tern", (2.0,)),
    ("tern", (0.5,)),
    ("mathy", (0.3,)),
    ("nested", (rng.normal(size=4),)),
    ("matfn", (rng.normal(size=(3, 2)), rng.normal(size=(4, 3)))),
    ("swap", (0.3, 0.8)),
    ("reassign", (0.3,)),
    ("enum", (rng.normal(size=4),)),
    ("zipf", (rng.normal(size=3), rng.normal(size=3))),
    ("whileloop_arr", (rng.normal(size=3),)),
    ("fill_buffer", (rng.normal(size=5),)),
    ("cumulative", (rng.normal(size=5),)),
    ("slice_update", (rng.normal(size=5),)),
    ("overwrite_read", (rng.normal(size=5),)),
    ("matrix_fill", (rng.normal(size=3),)),
    ("cross_module", (rng.normal(size=4),)),
    ("helper_with_loop", (rng.normal(size=3),)),
    ("nested_reductions", (rng.normal(size=(3, 4)),)),
    ("logistic5", (0.3,)),          # temporaries recomputed from the saved l in the reverse loop
    ("logistic_sum", (np.array([0.2, 0.45]),)),
]


@pytest.mark.parametrize("name, args", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_against_central_differences(name, args):
    f = getattr(C, name)
    nums = tuple(range(len(args)))
    grads = s2sad.grad(f, argnums=nums)(*args)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, central(f, args, i), rtol=1e-5, atol=1e-7)


def test_seed_example_gradient_is_f_over_a():
    a = np.float64(rng.normal())
    assert s2sad.grad(C.seed)(a) == pytest.approx(C.seed(a) / a)
    v = rng.normal(size=4)     # the .sum() of the output: the gradient is f(a) / a elementwise
    np.testing.assert_allclose(s2sad.grad(C.seed)(v), C.seed_vec(v) / v)
    np.testing.assert_allclose(s2sad.grad(C.seed)(-v), C.seed_vec(-v) / -v)


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_logistic_map_against_hand_recursion(n):
    l0 = 0.3
    l, d = l0, 1.0
    for _ in range(n):
        d = d * (4 - 8 * l)
        l = 4 * l * (1 - l)
    assert s2sad.grad(C.logistic)(l0, n) == pytest.approx(d, rel=1e-12)


def test_branch_taken_is_differentiated_on_both_sides():
    # tern: 2x for x > 1, x**3 otherwise
    g = s2sad.grad(C.tern)
    assert g(2.0) == 2.0
    assert g(0.5) == pytest.approx(3 * 0.25)
    assert s2sad.grad(C.early)(0.5) == pytest.approx(1.0)
    assert s2sad.grad(C.early)(-0.5) == pytest.approx(3.0)


def test_complex_step_agrees_on_smooth_loops():
    x = rng.normal(size=5)
    np.testing.assert_allclose(s2sad.grad(C.rosen_loop)(x), complex_step(C.rosen_loop, [x]), rtol=1e-12)


def test_helper_global_is_read_at_call_time(monkeypatch):
    import helper_module
    x = rng.normal(size=4)
    g = s2sad.grad(C.cross_module)
    before = g(x)
    monkeypatch.setattr(helper_module, "OFFSET", 3.0)
    after = g(x)
    np.testing.assert_allclose(after, central(C.cross_module, [x]), rtol=1e-5, atol=1e-7)
    assert not np.allclose(before, after)


# --- recursion ----------------------------------------------------------------------------------
def test_recursive_power_against_the_analytic_derivative():
    for x, n in ((1.5, 5), (-0.7, 3), (2.0, 0)):
        assert s2sad.grad(C.power)(x, n) == pytest.approx(n * x ** (n - 1) if n else 0.0, rel=1e-14)
    _, t = s2sad.jvp(C.power, (1.5, 5), (1.0, None))          # forward mode through the recursion
    assert t == pytest.approx(5 * 1.5 ** 4, rel=1e-14)


def test_recursive_horner_in_every_argument():
    c, x = rng.normal(size=5), 0.6
    gx = s2sad.grad(C.horner, argnums=1)(c, x)
    assert gx == pytest.approx(np.polyval(np.polyder(c[::-1]), x), rel=1e-12)
    np.testing.assert_allclose(s2sad.grad(C.horner)(c, x), x ** np.arange(5), rtol=1e-14)


def test_branching_recursion_against_central_differences():
    x = rng.normal(size=3)
    np.testing.assert_allclose(s2sad.grad(C.tree_sum)(x, 3), central(C.tree_sum, [x, 3], 0), rtol=1e-6)


# --- memory: only what the reverse sweep reads is recorded --------------------------------------
def _peak(fn, *args) -> int:
    import tracemalloc
    fn(*args)                                # compile first: measure the gradient call only
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_loop_that_needs_nothing_recorded_records_nothing():
    g = s2sad.grad(C.affine)
    assert "tape" not in g.source
    assert g(0.5, 10) == pytest.approx(0.999999 ** 10, rel=1e-12)
    assert _peak(g, 0.5, 300_000) < 10_000      # bytes: no per-iteration storage at all


def test_recorded_memory_grows_linearly_with_the_trip_count():
    g = s2sad.grad(C.logistic)
    small, large = _peak(g, 0.3, 50_000), _peak(g, 0.3, 100_000)
    assert 1.7 < large / small < 2.3
    assert large < 100 * 100_000                # well under 100 bytes per iteration
