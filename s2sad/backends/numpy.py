"""The NumPy backend: host arrays, every NumPy function, generated code as it is made."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Backend


class NumPyBackend(Backend):
    """NumPy: the default, and the backend of anything no other backend owns."""

    name = "numpy"
    module = "numpy"
    alias = "np"
    title = "NumPy"

    def owns(self, x: Any) -> bool:
        return isinstance(x, (np.ndarray, np.generic))

    def missing(self) -> str:
        return ""                  # a dependency of s2sad: always there

    def load(self):
        return np


BACKEND = NumPyBackend()
