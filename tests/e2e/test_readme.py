"""The README's commands and its tour are what the project really does."""
import re
import subprocess
from pathlib import Path

from s2sad import readme_tour

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_the_tour_shows_the_file_s2sad_writes_today():
    shown = readme_tour.block(README)
    assert shown == readme_tour.tour_source(ROOT), \
        "README tour is stale: run `python examples/run_all.py` to regenerate it"


def test_quickstart_is_exactly_two_commands():
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert len(code) == 2
    assert code[0].endswith("examples/quickstart.py") and "pip install" in code[0]
    assert "pytest" in code[1] and '".[test]"' in code[1]


def test_ci_runs_the_readme_test_command():
    """.ci/run picks its command out of the README the same way: it must be the quickstart's second line."""
    script = (ROOT / ".ci" / "run").read_text()
    pick = re.search(r"cmd=\$\((.*)\)\n", script).group(1)
    out = subprocess.run(["bash", "-c", pick], cwd=ROOT, capture_output=True, text=True, check=True)
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    second = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()[1]
    assert out.stdout.strip() == second
    assert 'eval "$cmd"' in script and "rm -rf .venv" in script
