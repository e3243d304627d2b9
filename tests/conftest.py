"""Shared fixtures: every test writes generated files to its own temporary folder."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _generated_dir(tmp_path_factory, monkeypatch):
    """Keep generated files out of the repository during tests."""
    if "S2SAD_TEST_KEEP_DIR" not in os.environ:
        monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path_factory.getbasetemp() / "generated"))
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
