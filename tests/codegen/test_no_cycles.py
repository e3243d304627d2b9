"""A transform leaves nothing of its own in reference cycles: the generators, analyses and ASTs it made
are freed when it is done, by reference counting. (A closure that calls itself, or a class made per
call, is a cycle that keeps everything it sees alive until the cycle collector's next pass, which then
walks a transform's hundreds of thousands of nodes: a tenth of a second on a large function.)"""
from __future__ import annotations

import gc
import importlib.util

import numpy as np
import pytest

import s2sad

SOURCE = """
import numpy as np


def looped(x, w):
    s = 0.0
    for i in range({trips}):
        if np.sum(x) > 0:
            s = s + np.sum(np.sin(x * w))
        else:
            s = s - np.sum(x)
    return s
"""

X = np.linspace(0.1, 0.9, 4)
RUNS = {
    "grad": lambda f: s2sad.grad(f)(X, 0.3),
    "jvp": lambda f: s2sad.jvp(f, (X, 0.3), (X, 1.0)),
    "hessian": lambda f: s2sad.hessian(f)(X, 0.3),
    "vmap": lambda f: s2sad.vmap(f, in_axes=(0, None))(np.ones((3, 4)), 0.3),
    "vmap of grad": lambda f: s2sad.vmap(s2sad.grad(f), in_axes=(0, None))(np.ones((3, 4)), 0.3),
}


@pytest.mark.parametrize("trips, transform", list(enumerate(sorted(RUNS), start=2)))
def test_a_transform_leaves_none_of_its_objects_in_cycles(trips, transform, tmp_path, monkeypatch):
    monkeypatch.setenv("S2SAD_GENERATED_DIR", str(tmp_path / "generated"))
    path = tmp_path / f"cycles_{trips}.py"          # code of its own: transformed, not found in a cache
    path.write_text(SOURCE.format(trips=trips))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        RUNS[transform](module.looped)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        ours = sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
                       if type(o).__module__.startswith("s2sad")}
                      | {o.__qualname__ for o in gc.garbage
                         if type(o).__name__ == "function" and o.__module__.startswith("s2sad")})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
    assert ours == []
