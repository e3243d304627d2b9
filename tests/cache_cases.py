"""User code for tests/codegen/test_cache.py and tests/test_cli.py, and the child process those tests start.

The cache tests edit source files, so the user functions live here as module *texts*: a test writes
them into its tmp_path under a unique module name and imports them by path (`import_path`).

Run as a script, this file is the child process of the multi-process tests:

    python -B cache_cases.py [--pre FILE:MODULE ...] [--gate | --block-write] FILE:MODULE FUNC ARG...

It imports the --pre modules (helpers the main module imports by name) and then the main module by
path, counts the transformations (a spy on s2sad.codegen.stages.run), computes grad(FUNC)(ARG...)
with respect to the first argument and prints one JSON line: the gradient, the number of
transformations, the generated file and the CacheWarnings. With --gate it waits for a line on stdin
before differentiating, so that a parent can start several children and release them together.
With --block-write the first file it writes stops half way: the temporary file holds the first half
of the generated text, the child prints `blocked` and waits on stdin, and the parent kills it there.

IPYTHON_CHILD (run as `python -c`) differentiates a function defined in a cell of a real IPython
InteractiveShell and prints one JSON line.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

# --- module texts ----------------------------------------------------------------------------------

# grad wrt x at (2, 3): 2x + y = 7; with `+` edited to `-`: 2x - y = 1 (same size)
POLY = '''\
def f(x, y):
    return x * x + y * x
'''

# a loop and a helper: grad wrt x at (2, 3) = 3 * 2x * y = 36
LOOP = '''\
import numpy as np


def helper(a):
    return a * a


def f(x, y):
    s = 0.0
    for i in range(3):
        s = s + helper(x) * y
    return s
'''

# the same text in two files, reading a global of their own through a helper
SCALED = '''\
SCALE = {scale}


def helper(x):
    return SCALE * x * x


def f(x):
    return helper(x)
'''

CALLEE = '''\
def g(x):
    return {body}
'''

CALLER = '''\
import {callee}


def f(x):
    return {callee}.g(x) * x
'''

CLOSURES = '''\
def make(c):
    def f(x):
        return c * x * x

    def set_c(v):
        nonlocal c
        c = v

    return f, set_c


def make_with_helper(k):
    def h(x):
        return k * x

    def f(x):
        return h(x) * x

    return f
'''

CELL = '''\
import numpy as np


def f(x):
    return np.sin(x) * x
'''

# two helpers deep: f -> outer -> inner (grad wrt x at 2: d/dx 3 * x^2 * x = 9 x^2 = 36)
DEEP = '''\
def inner(x):
    return {inner}


def outer(x):
    return 3.0 * inner(x)


def f(x):
    return outer(x) * x
'''

GLOBALS = '''\
SCALE = 2.0


def f(x):
    return SCALE * x * x
'''

# a module-level statement that would leave a mark if a tampered file were ever executed
TAMPER = "import pathlib; pathlib.Path({marker!r}).write_text('executed')\n"

IPYTHON_CHILD = '''\
import json, sys
from traitlets.config import Config
from IPython.core.interactiveshell import InteractiveShell

config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config)
cell = "import numpy as np\\nimport s2sad\\n\\n\\ndef f(x):\\n    return np.sin(x) * x\\n"
shell.run_cell(cell).raise_error()
shell.run_cell(
    "import warnings\\n"
    "with warnings.catch_warnings(record=True) as caught:\\n"
    "    warnings.simplefilter('always')\\n"
    "    g = s2sad.grad(f)\\n"
    "    value = float(g(0.7))\\n"
    "report = dict(grad=value, path=str(g.path), transformed=g._compile('numpy').transformed,\\n"
    "              filename=f.__code__.co_filename, source=g.source, warnings=[str(w.message) for w in caught])\\n"
).raise_error()
print(json.dumps(shell.user_ns["report"]))
'''

CLI = '''\
import numpy as np

print("importing cli module")   # a module that prints must not pollute `show`'s output


def f(x, y):
    return np.sin(x) * y


class Model:
    def loss(self, w):
        return w * w


def unsupported(x):
    return [x for _ in range(2)][0]


NOT_A_FUNCTION = 3
'''


# --- helpers ---------------------------------------------------------------------------------------

_counter = [0]


def unique(stem: str) -> str:
    """A module name no other test uses (the key and the file name include the module name)."""
    _counter[0] += 1
    tag = hashlib.sha1(f"{stem}{_counter[0]}{id(_counter)}".encode()).hexdigest()[:8]
    return f"{stem}_{tag}"


def write_module(folder: Path, name: str, text: str) -> Path:
    path = Path(folder) / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path


def import_path(path: Path, name: str):
    """Import `path` as module `name` (registered in sys.modules), without writing or reading .pyc."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, module.__dict__)
    return module


# --- the child process -----------------------------------------------------------------------------

def _child(argv: list[str]) -> None:
    import json
    import warnings

    pre = []
    gate = block = False
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--pre":
            pre.append(argv.pop(0))
        elif opt == "--gate":
            gate = True
        elif opt == "--block-write":
            block = True
    target, func, *args = argv
    for spec in pre + [target]:
        file, _, name = spec.rpartition(":")
        module = import_path(Path(file), name)
    fn = getattr(module, func)

    import s2sad
    from s2sad.codegen import cache, pipeline as compiler

    calls = []
    original = compiler.stages.run

    def spy(*a, **k):
        calls.append(1)
        return original(*a, **k)

    compiler.stages.run = spy
    if gate:
        sys.stdin.readline()
    if block:
        write_all = cache._write_all

        def blocking(fd, data):
            write_all(fd, data[: len(data) // 2])
            print("blocked", flush=True)
            sys.stdin.readline()             # the parent kills this process while it waits here
            os._exit(3)                      # never finish the write, even if not killed

        cache._write_all = blocking
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = s2sad.grad(fn)
        value = g(*[float(a) for a in args])
        path = g.path
    print(json.dumps({
        "grad": float(value),
        "generated": len(calls),
        "path": str(path) if path else None,
        "warnings": [str(w.message) for w in caught if issubclass(w.category, cache.CacheWarning)],
    }))


if __name__ == "__main__":
    _child(sys.argv[1:])
