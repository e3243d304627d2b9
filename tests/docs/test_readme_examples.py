"""Every code block of the README is run or checked, so that the README cannot drift from the code.

Each fenced block is preceded by one marker comment saying how it is checked:

    <!-- run -->                 Python, run in order with the other `run` blocks as one script
    <!-- run-bash -->            shell lines, each run from the repository root (exit status 0)
    <!-- run-with-cupy: ... -->  run after the `run` blocks where CuPy can reach a GPU
    <!-- same-as: FILE -->       Python that FILE contains, line for line
    <!-- generated: FILE:FUNC --> lines of the gradient s2sad generates for FUNC today
    <!-- output: COMMAND -->     what COMMAND prints (rerun and compared; `python examples/run_all.py`
                                 rewrites these blocks)
    <!-- tour:begin -->          the generated tour file (tests/e2e/test_readme.py)
    <!-- not-run: REASON -->     installs, long runs, benchmark tables: the reason is said

The block of rules between `<!-- rules:start -->` and `<!-- rules:end -->` belongs to the rules table's
own tests and is left out here.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from s2sad import backends, readme_tour

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)```", re.S)
KINDS = ("run", "run-bash", "run-with-cupy", "same-as", "generated", "output", "tour:begin", "not-run")


def blocks() -> list[tuple[str, str, str, int]]:
    """(marker kind, marker argument, body, line) of every fenced block outside the rules block."""
    text = README
    start, end = text.find("<!-- rules:start -->"), text.find("<!-- rules:end -->")
    if start != -1 and end != -1:
        text = text[:start] + "\n" * text[start:end].count("\n") + text[end:]
    out = []
    for m in BLOCK.finditer(text):
        marker = m.group("marker") or ""
        kind, _, arg = marker.partition(":")
        if marker.startswith("tour:begin"):
            kind, arg = "tour:begin", ""
        out.append((kind.strip(), arg.strip(), m.group("body"), text[:m.start()].count("\n") + 1))
    return out


def of_kind(kind: str) -> list[tuple[str, str, str, int]]:
    return [b for b in blocks() if b[0] == kind]


def test_every_block_says_how_it_is_checked():
    unmarked = [f"README.md:{line}: {body.splitlines()[0] if body else ''}" for kind, _, body, line in blocks()
                if kind not in KINDS]
    assert not unmarked, "blocks without a marker (see this test's docstring):\n" + "\n".join(unmarked)
    for kind, arg, _, line in blocks():
        if kind == "not-run":
            assert len(arg) > 10, f"README.md:{line}: a not-run block says why"


def test_no_link_leaves_the_repository():
    for target in re.findall(r"\]\(([^)]+)\)", README):
        if re.match(r"[a-z]+://", target):
            continue
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"README links {target}, outside the repository"
        assert path.exists(), f"README links {target}, which does not exist"


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", S2SAD_GENERATED_DIR=str(tmp_path / "generated"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _run_script(tmp_path: Path, kinds: tuple[str, ...]) -> subprocess.CompletedProcess:
    """The blocks as one script, run as a new user would: in a fresh folder, generated files going to the
    default ./generated."""
    script = tmp_path / "readme_blocks.py"
    script.write_text("\n\n".join(body for kind, _, body, _ in blocks() if kind in kinds))
    env = _env(tmp_path)
    del env["S2SAD_GENERATED_DIR"]
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


def test_python_blocks_run(tmp_path):
    proc = _run_script(tmp_path, ("run",))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "(3,) float"
    assert re.fullmatch(r"generated/readme_blocks_loss_grad_[0-9a-f]{16}\.py", lines[1]), lines[1]
    assert (tmp_path / lines[1]).exists()
    third, minus_cos = map(float, lines[2].split())
    assert third == pytest.approx(minus_cos, rel=1e-14)


@pytest.mark.skipif(bool(backends.get("cupy").missing()), reason="CuPy cannot reach a GPU here")
def test_cupy_block_runs(tmp_path):
    proc = _run_script(tmp_path, ("run", "run-with-cupy"))
    assert proc.returncode == 0, proc.stderr


def test_shell_blocks_run(tmp_path):
    for _, _, body, line in of_kind("run-bash"):
        for command in body.strip().splitlines():
            command = command.split("  #")[0].strip()
            proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=_env(tmp_path), capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0, f"README.md:{line}: {command}\n{proc.stderr}"
            if "S2SAD_DUMP" in command or "--dump" in command:
                assert "--- loss: after normalize ---" in proc.stderr, proc.stderr[:2000]


def test_excerpts_are_in_their_files():
    for _, arg, body, line in of_kind("same-as"):
        text = (ROOT / arg).read_text()
        shown = [ln for ln in body.splitlines() if ln.strip() and ln.strip() != f"# {arg}"]
        lines = iter(ln for ln in text.splitlines() if ln.strip())
        assert all(ln in lines for ln in shown), \
            f"README.md:{line}: the excerpt of {arg} is not in the file any more (its lines, in order)"


def test_generated_code_shown_is_generated_today():
    for target, body in readme_tour.generated_blocks(README):
        today = readme_tour.generated_function(ROOT, target)
        assert body == today, f"README: the generated code of {target} changed: run `python examples/run_all.py`"


@pytest.mark.parametrize("command", [arg for _, arg, _, _ in of_kind("output")])
def test_outputs_shown_are_printed_today(command, tmp_path, monkeypatch):
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path / "generated"))
    shown = dict(readme_tour.outputs(README))[command]
    fresh = readme_tour.run_output(ROOT, command)
    diff = readme_tour.same_output(shown, fresh)
    assert diff is None, f"README output of `{command}` is stale ({diff}): run `python examples/run_all.py`\n{fresh}"


def test_same_output_masks_times_and_last_digits_only():
    shown = "symbolic *  4.0534278939  (reference)  12 us  431 ms  33 ops, 6 lines\nerr 8.9e-16 1.6e-07"
    assert readme_tour.same_output(shown, shown.replace("12 us", "3.1 ms").replace("8.9e-16", "0")) is None
    assert readme_tour.same_output(shown, shown.replace("1.6e-07", "1.62e-07")) is None
    assert readme_tour.same_output(shown, shown.replace("6 lines", "7 lines")) is not None
    assert readme_tour.same_output(shown, shown.replace("4.0534278939", "4.3")) is not None
    assert readme_tour.same_output(shown, shown.replace("symbolic", "symbolic failed")) is not None


def test_regenerating_needs_one_command():
    text = README.split("## Generated files", 1)[1]
    assert "python examples/run_all.py" in text
    assert "update_outputs" in (ROOT / "examples" / "run_all.py").read_text()
    assert shlex.split(of_kind("output")[0][1])[0] == "python"


def test_committed_generated_files_name_no_machine_path():
    """generated/ holds the examples' files as run_all.py wrote them: sources named relative to the project."""
    files = sorted((ROOT / "generated").glob("*.py"))
    assert files
    for path in files:
        text = path.read_text()
        header = text.splitlines()[0]
        assert re.match(r"# Generated by s2sad \S+ from (examples/\S+\.py|\S+\.py):\d+ ", header) or \
            "symbolic" in path.name, header
        assert not re.search(r"(^|[\s'\"(])(/[A-Za-z0-9_.-]+){2,}/\S*\.py", text), f"{path.name} names a machine path"
