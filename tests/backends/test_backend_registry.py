"""Backends as units: every registered backend answers the whole protocol (s2sad/backends/base.py), the
registry names the known ones when asked for another, the command line offers what it holds, each
backend has decided about every NumPy name the rules can put into generated code, and a new backend is
one class plus one `register` call (a toy one runs a gradient end to end)."""
from __future__ import annotations

import ast
import sys
import types

import numpy as np
import pytest
import sympy.printing.numpy as sympy_printers

import fake_cupy
import s2sad
from s2sad import backends
from s2sad.approaches import symbolic
from s2sad.backends.base import Backend
from s2sad.cli import main as cli
from s2sad.codegen import cache, pipeline as compiler
from s2sad.errors import DifferentiationError
from s2sad.ir.names import RESERVED
from s2sad.rules import RULES

BACKENDS = sorted(backends.REGISTRY.items())
IDS = [name for name, _ in BACKENDS]

# NumPy code as the compiler hands it to a backend: calls through `np`, a branch condition tested again
LOWERED = """
cond1 = np.sum(x) > 0
if cond1:
    y = np.linalg.norm(np.sin(x))
else:
    y = np.add(x, 1.0)
if not cond1:
    z = y
"""


def _alias_chains(tree: ast.AST, alias: str) -> set[str]:
    """Every `alias.a.b` chain in `tree`, as "a.b" (the longest ones: linalg.norm, not linalg)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, cur = [], node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == alias:
                out.add(".".join(reversed(parts)))
    return {n for n in out if not any(o.startswith(n + ".") for o in out)}


def _rule_names() -> set[str]:
    """Every NumPy name the rule table can put into generated code: the functions rules are keyed by
    (`np.sin` stays `np.sin` in the primal) and the `np.` names their derivative templates call."""
    out = {key[len("np."):] for key in RULES if key.startswith("np.")}
    for rule in RULES.values():
        for src in (*rule.reverse.values(), *rule.forward.values()):
            out |= _alias_chains(ast.parse(src, mode="eval"), "np")
    return out


def _resolves(module, dotted: str) -> bool:
    obj = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


@pytest.fixture
def usable(monkeypatch):
    """`usable(b)`: backend `b` with its module importable here (CuPy: tests/fake_cupy.py where no GPU
    is), or a skip saying why not."""
    def make(b: Backend) -> Backend:
        if b.name == "cupy" and b.missing():
            fake_cupy.install(monkeypatch)
        why = b.missing()
        if why:
            pytest.skip(why)
        return b
    yield make
    cache.memory_clear()


@pytest.mark.parametrize("name, b", BACKENDS, ids=IDS)
def test_every_backend_has_the_whole_protocol(name, b):
    assert isinstance(b, Backend) and b.name == name
    for attr in ("name", "module", "alias", "title", "printer"):
        assert isinstance(getattr(b, attr), str) and getattr(b, attr), attr
    assert b.alias.isidentifier() and all(part.isidentifier() for part in b.module.split("."))
    assert b.names is None or isinstance(b.names, frozenset) and all(isinstance(n, str) for n in b.names)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in b.gaps.items())
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in b.spellings.items())
    assert isinstance(b.needs_device, bool) and isinstance(b.takes_numbers, bool)
    assert isinstance(b.shares_views, bool) and isinstance(b.lazy, bool)
    assert isinstance(getattr(sympy_printers, b.printer), type)       # the symbolic route prints with it
    for method in ("owns", "imported", "missing", "require", "load", "to_device", "to_host", "lower",
                   "synchronized"):
        assert callable(getattr(b, method)), method
    assert isinstance(b.missing(), str)
    assert backends.get(name) is b
    assert backends.for_module(b.array_module) is (b if b.own_arrays else backends.DEFAULT)
    assert b.alias in RESERVED                       # no user variable takes its name


@pytest.mark.parametrize("name, b", BACKENDS, ids=IDS)
def test_every_backend_lowers_numpy_code(name, b):
    stmts = ast.parse(LOWERED).body
    out = b.lower(stmts, {"x"})
    assert isinstance(out, list) and all(isinstance(s, ast.stmt) for s in out)
    tree = ast.fix_missing_locations(ast.Module(body=out, type_ignores=[]))
    compile(tree, f"<lowered for {name}>", "exec")
    if b.alias != "np":
        assert not any(isinstance(n, ast.Name) and n.id == "np" for n in ast.walk(tree)), "NumPy left in"
    used = _alias_chains(tree, b.alias)
    if name == "numba":       # numba's norm takes arrays only: the runtime's takes numbers too
        assert used == {"sum", "sin", "add"} and "_rt.norm(np.sin(x))" in ast.unparse(tree)
    else:
        assert used == {"sum", "linalg.norm", "sin", "add"}
    assert b.names is None or used <= b.names


OWNERS = [(n, b) for n, b in BACKENDS if b.own_arrays]


@pytest.mark.parametrize("name, b", OWNERS, ids=[n for n, _ in OWNERS])
def test_every_backend_moves_its_arrays(name, b, usable):
    b = usable(b)
    xp = b.load()
    assert b.require() is xp and b.imported()
    host = np.arange(3.0)
    moved = b.to_device([host, 2.0])
    assert moved[1] == 2.0 and b.owns(moved[0]) and not b.owns(2.0)
    assert backends.owner(moved[0]) is b and backends.of([1.0, moved[0]]) is b
    assert backends.module_of(moved[0]) is xp
    back = b.to_host(moved[0])
    assert type(back) is np.ndarray and np.array_equal(back, host)
    assert backends.to_host(moved[0]) is not moved[0] or not b.needs_device
    assert b.synchronized(lambda: 42)() == 42
    assert b.needs_device or b.to_device([host])[0] is host


def test_the_default_owns_host_values():
    assert backends.DEFAULT is backends.get("numpy")
    assert backends.of([1.0, [2.0], np.ones(2)]) is backends.DEFAULT
    assert backends.owner(np.float64(1.0)) is backends.DEFAULT and backends.of([np.ones(2)]).name == "numpy"
    assert not backends.DEFAULT.needs_device and backends.DEFAULT.names is None


def test_an_unknown_backend_names_the_known_ones():
    known = ", ".join(repr(n) for n in backends.names())
    with pytest.raises(DifferentiationError, match=r"unknown backend 'jax': the backends are 'numpy', 'cupy', 'dask', 'numba'") as e:
        backends.get("jax")
    assert known in str(e.value)
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'numpy', 'cupy', 'dask', 'numba'\), not 'jax'"):
        s2sad.grad(lambda x: x * x, backend="jax")
    with pytest.raises(ValueError, match=r"backend must be one of 'numpy', 'cupy', 'dask', 'numba', not 'jax'"):
        symbolic.generated_source(lambda x: x * x, 0.5, backend="jax")


def test_the_registry_refuses_a_backend_that_is_not_its_own():
    class Twin(Backend):
        name, module, alias, title = "twin", "numpy", "tw", "Twin"
    with pytest.raises(ValueError, match="shares its module or alias"):
        backends.register(Twin())

    class Nameless(Backend):
        module, alias = "nameless", "nl"
    with pytest.raises(ValueError, match="needs a `name`"):
        backends.register(Nameless())
    with pytest.raises(ValueError, match="default"):
        backends.unregister("numpy")
    assert backends.names() == ("numpy", "cupy", "dask", "numba")


def _show_choices() -> tuple:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    show = sub.choices["show"]
    return tuple(next(a for a in show._actions if a.dest == "backend").choices)


def test_cli_backend_choices_come_from_the_registry():
    assert _show_choices() == backends.names() == ("numpy", "cupy", "dask", "numba")


@pytest.mark.parametrize("name, b", BACKENDS, ids=IDS)
def test_every_backend_has_decided_about_every_rule_name(name, b):
    """A NumPy name the rules can emit is one the backend offers or a gap it lists with a reason: a new
    rule fails here until each backend has decided (support it: add it to `names`; or say why not)."""
    emitted = _rule_names()
    assert {"sin", "linalg.norm", "s_"} <= emitted          # keys, dotted keys, and names only templates use
    if b.names is None:          # every function of its module: the names must exist there
        xp = b.load() if not b.missing() else None
        if xp is not None:
            assert {n for n in emitted - set(b.gaps) - set(b.spellings) if not _resolves(xp, n)} == set()
        return
    undecided = emitted - b.names - set(b.gaps)
    assert not undecided, f"{name}: NumPy names the rules emit, neither in its names nor in its gaps: {sorted(undecided)}"
    stale = set(b.gaps) - (emitted - b.names)
    assert not stale, f"{name}: gaps that are supported or no rule emits any more: {sorted(stale)}"


def test_cupy_gaps_are_the_deliberate_ones():
    assert set(backends.get("cupy").gaps) == {
        "allclose", "array_equal", "isclose", "count_nonzero", "nonzero",
        "around", "fix", "rint", "trunc", "heaviside", "identity"}


# --- a new backend: one class and one register call -------------------------------------------------

class _ToyBackend(Backend):
    """NumPy under another module name and alias: generated code calls `tnp.` (owning no arrays, it runs
    only where asked for by name)."""

    name, module, alias, title = "toy", "s2sad_toy_numpy", "tnp", "Toy"

    def owns(self, x) -> bool:
        return False


@pytest.fixture
def toy(monkeypatch):
    module = types.ModuleType("s2sad_toy_numpy")
    module.__getattr__ = lambda attr: getattr(np, attr)
    monkeypatch.setitem(sys.modules, "s2sad_toy_numpy", module)
    b = backends.register(_ToyBackend())
    cache.memory_clear()
    yield b
    backends.unregister("toy")
    cache.memory_clear()


def _f(x, y):
    s = np.sum(np.sin(x) * y)
    if s > 0:
        s = s + np.linalg.norm(x)
    return s


def _h(a):
    return np.sin(a) * a


def test_a_registered_backend_is_used_everywhere(toy):
    assert backends.names() == ("numpy", "cupy", "dask", "numba", "toy") and _show_choices() == backends.names()
    x, y = np.linspace(0.1, 0.9, 4), np.full(4, 2.0)
    g = s2sad.grad(_f, backend="toy")
    assert np.allclose(g(x, y), s2sad.grad(_f)(x, y))
    src = g.source
    assert "import s2sad_toy_numpy as tnp" in src and "tnp.cos(x)" in src
    assert not any(isinstance(n, ast.Name) and n.id == "np" for n in ast.walk(ast.parse(src)))
    assert "tnp.sin" in compiler.grad_source(_f, 0, False, "toy")
    text = symbolic.generated_source(_h, 0.5, backend="toy")
    assert "tnp.sin(a)" in text and "import s2sad_toy_numpy as tnp" in text
    with pytest.raises(DifferentiationError, match="'toy'"):
        backends.get("jax")
