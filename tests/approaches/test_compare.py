"""s2sad.compare: the side-by-side report of automatic, symbolic and numerical derivatives."""
import numpy as np
import pytest

import s2sad
from s2sad.approaches.compare import APPROACHES, Report, code_lines


def poly(x):
    return 3 * x ** 2 - 4 * x


def squire_trapp(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def weighted(x, y):
    return np.sum(np.sin(x) * y ** 2)


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def not_scalar(x):
    return x * 2.0


@pytest.fixture(scope="module")
def poly_report(tmp_path_factory):
    # module scope runs before conftest's per-test S2SAD_GENERATED_DIR: set it here too
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("S2SAD_GENERATED_DIR", str(tmp_path_factory.mktemp("generated")))
        return s2sad.compare(poly, 1.0, timing=False)


def test_rows_values_and_reference(poly_report):
    r = poly_report
    assert isinstance(r, Report)
    assert [row["approach"] for row in r.rows] == list(APPROACHES)
    assert r.reference == "symbolic" and "symbolic" in r.reference_note
    for row in r.rows:
        assert row["error"] is None
        assert row["gradient"] == pytest.approx(6 * 1.0 - 4, abs=1e-6)      # f'(x) = 6x - 4 by hand
    assert r.row("automatic (reverse)")["abs_error"] <= 1e-15
    assert r.row("numerical (complex step)")["abs_error"] <= 1e-15
    assert r.row("symbolic")["abs_error"] == 0.0


def test_errors_order_the_numerical_methods():
    r = s2sad.compare(squire_trapp, 1.5, timing=False)
    err = {row["approach"]: row["abs_error"] for row in r.rows}
    assert err["numerical (complex step)"] < 1e-14
    assert err["numerical (complex step)"] < err["numerical (central)"] < err["numerical (forward)"]
    assert 1e-9 < err["numerical (forward)"] < 1e-5
    assert err["automatic (reverse)"] < 1e-14 and err["automatic (forward)"] < 1e-14
    # relative error is |g - ref| / |ref|, ref = f'(1.5) = 4.0534278938986201 (Squire and Trapp)
    fwd = r.row("numerical (forward)")
    assert fwd["rel_error"] == pytest.approx(fwd["abs_error"] / 4.0534278938986201, rel=1e-6)


def test_sizes_and_calls(poly_report):
    r = poly_report
    sym = r.row("symbolic")
    assert sym["ops_before_cse"] >= sym["ops_after_cse"] > 0 and sym["lines"] >= 1
    assert r.row("automatic (reverse)")["lines"] > 0 and r.row("automatic (forward)")["lines"] > 0
    assert [r.row(f"numerical ({m})")["f_calls"] for m in ("forward", "central", "complex step")] == [2, 2, 1]
    assert all(row["seconds_per_call"] is None for row in r.rows)
    assert all(row["setup_seconds"] > 0 for row in r.rows)


def test_timing_gives_seconds():
    r = s2sad.compare(poly, 1.0, min_time=0.001, repeat=2)
    assert all(row["seconds_per_call"] > 0 for row in r.rows)


def test_arrays_and_several_arguments():
    x, y = np.array([0.5, 1.0, -2.0]), np.array([2.0, 3.0, 0.5])
    r = s2sad.compare(weighted, x, y, argnums=(0, 1), timing=False)
    for row in r.rows:
        gx, gy = row["gradient"]
        np.testing.assert_allclose(gx, np.cos(x) * y ** 2, rtol=1e-6)
        np.testing.assert_allclose(gy, 2 * np.sin(x) * y, rtol=1e-6)
    assert r.row("numerical (central)")["f_calls"] == 12
    assert "with respect to x, y" in str(r)


def test_an_approach_that_fails_gets_a_row_saying_why():
    r = s2sad.compare(newton_sqrt, 2.0, timing=False)
    sym = r.row("symbolic")
    assert sym["gradient"] is None and "while loop" in sym["error"]
    assert "complex-safe" in r.row("numerical (complex step)")["error"]
    assert r.reference == "automatic (reverse)"
    assert "agrees with numerical (central)" in r.reference_note
    assert r.row("automatic (reverse)")["gradient"] == pytest.approx(0.5 / np.sqrt(2.0), rel=1e-12)
    text = str(r)
    assert "symbolic                  failed: the trip count of this while loop" in text


def test_every_approach_failing_is_a_report_not_a_crash():
    r = s2sad.compare(not_scalar, np.ones(2), timing=False)
    assert r.reference is None
    assert all(row["error"] for row in r.rows)
    assert "none" in str(r)


def test_table_is_aligned(poly_report):
    lines = str(poly_report).splitlines()
    assert lines[0] == "gradient of poly with respect to x at x = 1.0"
    header, rule, rows = lines[1], lines[2], lines[3:3 + len(APPROACHES)]
    assert set(rule) <= {"-", " "} and len(rule) >= len(header)
    for col in ("max abs err", "max rel err", "time/call", "set-up"):   # right-aligned numeric columns
        end = header.index(col) + len(col)
        others = [row for row in rows if not row.startswith("symbolic *")] if "err" in col else rows
        assert all(row[end - 1] != " " and row[end:end + 2] == "  " for row in others), (col, rows)
    assert "* reference: symbolic" in str(poly_report)


def test_html(poly_report):
    html = poly_report._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == 1 + len(APPROACHES)
    assert "automatic (reverse)" in html and "<caption>" in html


def test_code_lines_counts_statements_only():
    source = '''# header
import numpy as np


def f_grad(x):
    """docstring"""
    # a comment
    t1 = np.sin(x)

    if t1 > 0:
        t1 = (t1 +
              1)
    return t1
'''
    assert code_lines(source) == 4


def test_bad_arguments():
    with pytest.raises(TypeError):
        s2sad.compare(3.0, 1.0)
    with pytest.raises(ValueError, match="argnums"):
        s2sad.compare(weighted, np.ones(2), argnums=1)


def cubic_sine(x):
    return np.sin(x) * x ** 3


def test_compare_of_a_gradient_is_the_second_derivative():
    x = 0.7
    by_hand = -np.sin(x) * x ** 3 + 6 * np.cos(x) * x ** 2 + 6 * np.sin(x) * x      # (sin x * x^3)''
    r = s2sad.compare(s2sad.grad(cubic_sine), x, timing=False)
    assert r.row("automatic (reverse)")["gradient"] == pytest.approx(by_hand, rel=1e-12)
    assert r.row("automatic (forward)")["gradient"] == pytest.approx(by_hand, rel=1e-12)
    assert r.row("numerical (complex step)")["gradient"] == pytest.approx(by_hand, rel=1e-12)
    # symbolic reads source: it must refuse s2sad's derivative rather than differentiate cubic_sine itself
    assert "derivative computed by s2sad" in r.row("symbolic")["error"]
