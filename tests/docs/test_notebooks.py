"""The notebooks under examples/notebooks run top to bottom (nbclient), are committed without outputs, and
render s2sad's objects richly (the generated source, the comparison table)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


def test_three_notebooks_committed_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01_basics.ipynb", "02_three_ways_tangent_line.ipynb",
                                           "03_linear_regression.ipynb"]
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, \
                    f"{path.name}: commit notebooks without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="Jupyter is not installed (the test extra has it)")
    nbclient = pytest.importorskip("nbclient", reason="Jupyter is not installed (the test extra has it)")
    pytest.importorskip("ipykernel", reason="Jupyter is not installed (the test extra has it)")
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (the test extra has it)")
    monkeypatch.delenv("MPLBACKEND", raising=False)      # the kernel draws inline (PNG outputs)
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path / "generated"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    rich = [o["data"] for o in outputs if o.output_type == "execute_result"]
    if path.stem in ("01_basics", "03_linear_regression"):     # a grad object: its highlighted source
        assert any("```python\n" in d.get("text/markdown", "") and "_grad(" in d["text/markdown"] for d in rich)
    if path.stem == "02_three_ways_tangent_line":              # the compare report: an HTML table
        assert any("<table>" in d.get("text/html", "") and "symbolic" in d["text/html"] for d in rich)
    if path.stem != "01_basics":
        assert any("image/png" in o.get("data", {}) for o in outputs), "the plots are drawn"
