"""Errors about user code: the right class, the user's file and line, the quoted line."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import api_cases as C
import s2sad
from s2sad import DifferentiationError, NonDifferentiableError, NonScalarOutputError, UnsupportedSyntaxError

CASES_FILE = C.__file__


@pytest.mark.parametrize("fn, construct, quoted", [
    (C.with_try, "try/except", "try:"),
    (C.with_with, "with", 'with open("f") as fh:'),
    (C.with_lambda, "lambda", "return (lambda z: z * 2)(x)"),
    (C.with_comprehension, "a comprehension with several `for`s or an `if`",
     "return sum([x * i for i in range(n) if i % 2])"),
    (C.with_global_write, "global", "global SCALE"),
    (C.with_del, "del", "del y"),
])
def test_unsupported_constructs_name_file_line_and_quote(fn, construct, quoted):
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2sad.grad(fn)(1.0)
    msg = str(info.value)
    assert construct in msg
    assert CASES_FILE in msg
    line = fn.__code__.co_firstlineno
    assert f":{line}" in msg or any(f":{n}:" in msg for n in range(line, line + 6))
    assert quoted in msg


def test_unknown_function_names_callee_and_how_to_register():
    with pytest.raises(NonDifferentiableError) as info:
        s2sad.grad(C.not_differentiable)(np.ones(4))
    msg = str(info.value)
    assert "np.fft.hfft" in msg and "defvjp" in msg and CASES_FILE in msg
    assert "np.sum(np.fft.hfft(x))" in msg


def test_non_scalar_output_points_to_vjp_and_jacobian():
    with pytest.raises(NonScalarOutputError) as info:
        s2sad.grad(C.vector_out)(np.ones(3))
    msg = str(info.value)
    assert "(3,)" in msg and "vjp" in msg and "jacobian" in msg and CASES_FILE in msg


def test_errors_are_differentiation_errors():
    for cls in (UnsupportedSyntaxError, NonDifferentiableError, NonScalarOutputError):
        assert issubclass(cls, DifferentiationError)


def test_failed_compile_does_not_poison_the_next_call(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path))
    g = s2sad.grad(C.with_try)
    for _ in range(2):
        with pytest.raises(UnsupportedSyntaxError):
            g(1.0)
    assert list(tmp_path.glob("*")) == []          # nothing half-written
    assert s2sad.grad(C.poly)(1.0) == 2.0           # other functions still compile


def test_no_source_is_a_clear_error():
    namespace = {}
    exec("def f(x):\n    return x * 2\n", namespace)
    with pytest.raises(DifferentiationError, match="cannot find the source"):
        s2sad.grad(namespace["f"])(1.0)


def test_a_lambda_differentiates():
    """A lambda was refused ("not defined by a def"); it is read from its line now (tests/api/test_pytrees.py
    has the other forms: methods, nested defs, several lambdas on one line)."""
    f = lambda x: x * 2 + x ** 3  # noqa: E731
    assert s2sad.grad(f)(1.0) == 5.0


def test_error_is_not_a_raw_traceback_from_the_compiler(tmp_path):
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent("""
        import s2sad

        def f(x):
            with open("nothing") as fh:
                return x
        s2sad.grad(f)(1.0)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()
    assert "UnsupportedSyntaxError" in out.stderr and "user.py:5" in out.stderr
    assert 'with open("nothing") as fh:' in "\n".join(last[-3:])


def test_element_write_works_and_writing_into_a_global_is_clear():
    assert s2sad.grad(C.with_setitem_outside_loop)(1.5) == 1.0
    with pytest.raises(UnsupportedSyntaxError, match="not a local variable") as info:
        s2sad.grad(C.write_into_global)(1.0)
    assert "COEFFS[0] = x" in str(info.value)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_list_collecting_differentiated_values_is_rejected_not_silently_wrong(mode):
    """A list looped over after it grew stays refused; one appended to in a loop and read back by its last
    item (frontend/growing.py) or stacked (appends.py) is an array written row by row: sum(x * i for
    i < 3) has derivative 3, and x + 2x + 4x + 8x derivative 15."""
    import control_cases as C
    with pytest.raises(s2sad.DifferentiationError, match=r"control_cases.py:\d+: (appending a differentiated value"
                                                       r"|a tuple or list that holds a differentiated value)"):
        if mode == "reverse":
            s2sad.grad(C.list_iterated)(2.0)
        else:
            s2sad.jvp(C.list_iterated, (2.0,), (1.0,))
    for f, want in ((C.list_of_values, 3.0), (C.list_read_back, 15.0)):
        assert (s2sad.grad(f)(2.0) if mode == "reverse" else s2sad.jvp(f, (2.0,), (1.0,))[1]) == pytest.approx(want)


def test_a_write_seen_through_a_view_is_rejected_not_silently_wrong():
    x = np.array([0.3, -0.5, 0.9, 0.2])
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2sad.grad(C.write_through_view)(x)
    msg = str(info.value)
    assert CASES_FILE in msg and "y[1] = 7.0 * x[0]" in msg and "v = y[1:].copy()" in msg
    from reference import central
    np.testing.assert_allclose(s2sad.grad(C.write_after_copy)(x), central(C.write_after_copy, [x], 0),
                               rtol=1e-6)


def test_an_in_place_update_another_name_sees_is_rejected_not_silently_wrong():
    x = np.array([0.3, -0.5, 0.9])
    with pytest.raises(UnsupportedSyntaxError) as info:
        s2sad.grad(C.add_into_a_viewed_array)(x)
    msg = str(info.value)
    assert CASES_FILE in msg and "v1 += np.cos(x)" in msg and "`v1 = v1 + ...`" in msg
    from reference import central
    g = s2sad.grad(C.add_into_an_alias_of_the_input)(x.copy())      # nothing reads x again: fine
    np.testing.assert_allclose(g, central(lambda a: C.add_into_an_alias_of_the_input(a.copy()), [x], 0),
                               rtol=1e-6)
