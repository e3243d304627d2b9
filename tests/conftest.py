"""Shared fixtures: every test writes generated files to its own temporary folder."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
# the test tree mirrors the package (tests/modes, tests/passes, ...); some tests reuse another's cases
# (`from test_control_flow import CASES`), wherever it lives
sys.path.extend(str(d) for d in sorted(Path(__file__).parent.iterdir()) if d.is_dir() and any(d.glob("test_*.py")))

# Child processes started by tests import s2sad from this checkout even when it is not installed.
_ROOT = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
# numba's compiler with LLVM's first optimisation level: the numba tests check values and refusals, not
# speed, and compile a hundred functions (the rule cases: 68 s at the default level 3, 35 s at 1; at 0
# numba cannot cache what it compiles, "dynamic globals"); benchmarks/ times the default
os.environ.setdefault("NUMBA_OPT", "1")


@pytest.fixture(autouse=True)
def _generated_dir(tmp_path_factory, monkeypatch):
    """Keep generated files out of the repository during tests."""
    if "S2SAD_TEST_KEEP_DIR" not in os.environ:
        monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path_factory.getbasetemp() / "generated"))
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
