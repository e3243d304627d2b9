"""`python -m s2sad compare FILE.py:FUNC --at V ... [--plot OUT.png --range LO HI]`, run as a user would."""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

FUNCTIONS = textwrap.dedent('''
    import numpy as np


    def poly(x):
        return 3 * x ** 2 - 4 * x


    def weighted(x, y):
        return np.sum(np.sin(x) * y ** 2)


    def logistic(l, n):
        for _ in range(n):
            l = 4 * l * (1 - l)
        return l


    def newton_sqrt(a):
        x = a
        while abs(x * x - a) > 1e-12 * a:
            x = 0.5 * (x + a / x)
        return x


    def fails_at_negative(x):
        return np.sqrt(x) if x >= 0 else undefined_name


    def vector(x):
        return x * 2.0

    CONSTANT = 3.0
''')


@pytest.fixture(scope="module")
def funcs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_compare")
    path = folder / "funcs.py"
    path.write_text(FUNCTIONS)
    return path


def s2sad(*argv, cwd=None):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "s2sad", *map(str, argv)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def gradients(stdout):
    """{approach: gradient column text} from the printed table (columns found from the header)."""
    lines = stdout.splitlines()
    header = next(line for line in lines if line.startswith("approach"))
    start, end = header.index("gradient"), header.index("max abs err")
    out = {}
    for line in lines:
        m = re.match(r"^(automatic \(\w+\)|symbolic|numerical \([\w ]+\))( \*)?\s", line)
        if m:
            rest = line[start:].strip()
            out[m.group(1)] = rest if rest.startswith("failed: ") else line[start:end].strip()
    return out


def one_line_error(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2sad: error: "), proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_compare_prints_the_table(funcs):
    proc = s2sad("compare", f"{funcs}:poly", "--at", "1.0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "gradient of poly with respect to x at x = 1.0"
    g = gradients(proc.stdout)
    assert len(g) == 6
    for approach, text in g.items():
        assert float(text) == pytest.approx(6 * 1.0 - 4, abs=1e-6), approach    # f'(x) = 6x - 4
    assert "* reference: symbolic" in proc.stdout
    assert re.search(r"\d+(\.\d+)? (ns|us|ms|s)\s", proc.stdout)                # times are printed


def test_several_values_ints_and_argnums(funcs):
    proc = s2sad("compare", f"{funcs}:logistic", "--at", "0.3", "4", "--no-timing")
    assert proc.returncode == 0, proc.stderr
    l, dl = 0.3, 1.0
    for _ in range(4):
        l, dl = 4 * l * (1 - l), 4 * (1 - 2 * l) * dl
    assert float(gradients(proc.stdout)["automatic (reverse)"]) == pytest.approx(dl, rel=1e-10)
    proc = s2sad("compare", f"{funcs}:weighted", "--at", "[0.5, 1.0]", "2,3", "--argnums", "1", "--no-timing")
    assert proc.returncode == 0, proc.stderr
    expected = 2 * np.sin(np.array([0.5, 1.0])) * np.array([2.0, 3.0])
    shown = gradients(proc.stdout)["symbolic"]
    np.testing.assert_allclose([float(v) for v in shown.strip("[]").split()], expected, rtol=1e-3)
    assert "with respect to y" in proc.stdout


def test_an_approach_that_fails_is_a_row(funcs):
    proc = s2sad("compare", f"{funcs}:newton_sqrt", "--at", "2", "--no-timing")
    assert proc.returncode == 0, proc.stderr
    g = gradients(proc.stdout)
    assert g["symbolic"].startswith("failed: ") and "while loop" in g["symbolic"]
    assert float(g["automatic (reverse)"]) == pytest.approx(0.5 / np.sqrt(2), rel=1e-10)


def test_plot(funcs, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "plots" / "poly.png"
    proc = s2sad("compare", f"{funcs}:poly", "--at", "1", "--plot", out, "--range", "-2", "3", "--no-timing",
                 "--points", "41")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot: {out}" in proc.stdout


def test_plot_without_range_draws_around_the_point(funcs, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "around.png"
    proc = s2sad("compare", f"{funcs}:newton_sqrt", "--at", "2", "--plot", out, "--no-timing", "--points", "21")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failure_reasons_are_printed_whole(funcs):
    """A failed row's reason is wrapped under the table, never cut ("(Typ...")."""
    proc = s2sad("compare", f"{funcs}:newton_sqrt", "--at", "2", "--no-timing")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "..." not in proc.stdout
    assert "(TypeError: '>' not supported between instances of 'float' and 'complex')" in text
    assert "use method='central' instead." in text
    assert "(use s2sad.grad, or a for loop with a known count)" in text


def test_help():
    for argv in (["--help"], ["compare", "--help"]):
        proc = s2sad(*argv)
        assert proc.returncode == 0 and "compare" in proc.stdout
    text = s2sad("compare", "--help").stdout
    for option in ("--at", "--plot", "--range", "--argnums"):
        assert option in text


@pytest.mark.parametrize("argv, words", [
    (["compare", "missing.py:poly", "--at", "1"], ["no such file", "missing.py"]),
    (["compare", "{funcs}:nope", "--at", "1"], ["has no function 'nope'", "poly"]),
    (["compare", "{funcs}", "--at", "1"], ["FILE.py:FUNC"]),
    (["compare", "{funcs}:CONSTANT", "--at", "1"], ["not a function"]),
    (["compare", "{funcs}:poly", "--at", "abc"], ["--at", "'abc'"]),
    (["compare", "{funcs}:poly", "--at", "[1, 'a']"], ["--at"]),
    (["compare", "{funcs}:poly", "--at", "1", "2"], ["2 value(s) for poly"]),
    (["compare", "{funcs}:poly"], ["--at"]),
    (["compare", "{funcs}:poly", "--at", "1", "--argnums", "3"], ["--argnums 3"]),
    (["compare", "{funcs}:poly", "--at", "1", "--plot", "x.png", "--range", "2", "1"], ["LO must be less"]),
    (["compare", "{funcs}:fails_at_negative", "--at", "-1"], ["raised NameError"]),
    (["compare", "{funcs}:vector", "--at", "[1, 2]"], ["scalar output"]),
])
def test_bad_input_is_one_line_and_status_2(funcs, argv, words):
    one_line_error(s2sad(*[a.format(funcs=funcs) for a in argv]), *words)
