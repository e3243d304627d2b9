"""Shape classes (s2sad/analysis/shapes.py): which names provably share a shape, and which keep theirs
from one loop iteration to the next. Wrong answers here are wrong gradients (a shape read from the
wrong value), so each claim is tested with code where it would fail, and end to end."""
from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad.analysis.shapes import ShapeClasses
from s2sad.frontend.normalize import normalize
from s2sad.frontend.source import load

from reference import central


def _classes(fn):
    core = normalize(load(fn))
    return ShapeClasses(core), core


def rows(H):
    a = H[0]
    b = H[2]
    return np.sum(a * b)


def items(a, b):
    x, res, rank, s = np.linalg.lstsq(a, b, rcond=None)
    return np.sum(x) + np.sum(s)


def parts(v):
    p = np.array_split(v, 3)
    return np.sum(p[0]) + np.sum(p[2])


def test_rows_of_an_array_share_a_shape_and_items_of_a_tuple_or_list_do_not():
    shapes, _ = _classes(rows)
    assert shapes.same("a", "b")
    shapes, _ = _classes(items)
    assert not shapes.same("x", "s")
    shapes, _ = _classes(parts)            # t1 = p[0] (4 items), t3 = p[2] (3 items)
    assert not shapes.same("t1", "t3")


def growing(x, c):
    s = 0.0
    for i in range(2):
        t = x[:i + 1]
        u = t + c
        s = s + np.sum(np.sin(u) * t)
    return s


def split_loop(x, c):
    ps = np.array_split(x, 3)         # 4, 3 and 3 items
    s = 0.0
    for i in range(3):
        t = ps[i]
        s = s + np.sum(np.sin(t + c) * t)
    return s


def row_loop(H, c):
    s = 0.0
    for i in range(3):
        t = H[i]
        s = s + np.sum(np.sin(t + c) * t)
    return s


def test_a_loop_variable_whose_shape_changes_is_not_steady():
    from s2sad.analysis.activity import analyze
    for fn, steady in ((growing, False), (split_loop, False), (row_loop, True)):
        shapes, core = _classes(fn)
        loop_assigned = analyze(core, core.params).loop_assigned
        assert shapes.steady("t", loop_assigned) is steady, fn.__name__


@pytest.mark.parametrize("fn, x", [(growing, np.linspace(0.1, 1.0, 10)), (split_loop, np.linspace(0.1, 1.0, 10)),
                                   (row_loop, np.linspace(0.1, 1.2, 12).reshape(3, 4))])
def test_loops_whose_values_change_shape_get_exact_gradients(fn, x):
    # before, the reverse sweep read the last iteration's shape for every iteration: 0.48 off, silently,
    # for `growing` (the shapes (1,) and (2,) broadcast), a broadcasting error for split_loop
    c = np.array([0.3])
    for argnums in (0, 1):
        got = s2sad.grad(fn, argnums=argnums)(x, c)
        args = [x, c]
        np.testing.assert_allclose(got, central(fn, args, argnums), rtol=1e-6, atol=1e-8)
