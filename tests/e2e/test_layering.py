"""The package's layers: data flows one way through the pipeline, and no module imports a later stage
(imports inside functions included). A module is in the layer of its package (or its own name at the top
level); LAYERS lists them from the bottom. Within a layer, modules may import each other, but no import
cycle exists anywhere."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "s2sad"

# bottom first: a module may import its own layer and the layers below
LAYERS = [
    {"errors", "_version"},
    {"rules"},
    {"backends"},
    {"runtime"},
    {"ir"},
    {"frontend"},
    {"analysis"},
    {"passes"},
    {"modes"},
    {"codegen"},
    {"api"},
    {"approaches"},
    {"cli", "testing", "readme_tour", "extend"},
    {"__init__", "__main__"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"s2sad/{module}: in no layer of LAYERS (add its package there)")


def _imports(module: str, path: Path) -> set[str]:
    """The s2sad modules `module` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    if module in ("__init__", "__main__"):
        here = []
    out = set()
    known = _modules()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1] if node.level > 1 else here
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "s2sad" or node.module.startswith("s2sad.")):
                target = node.module[len("s2sad"):].lstrip(".")
            else:
                continue
            candidates = [target] + [f"{target}.{a.name}" if target else a.name for a in node.names]
            out.update(c for c in candidates if c in known)
            if target == "" and not any(c in known for c in candidates[1:]):
                out.add("__init__")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "s2sad":
                    out.add("__init__")
                elif a.name.startswith("s2sad."):
                    out.add(a.name[len("s2sad."):])
    out.discard(module)
    return out


def test_no_module_imports_a_later_stage():
    wrong = []
    for module, path in sorted(_modules().items()):
        for target in sorted(_imports(module, path)):
            if _layer(target) > _layer(module):
                wrong.append(f"s2sad/{module} imports s2sad/{target}")
    assert not wrong, "an earlier stage imports a later one:\n" + "\n".join(wrong)


def test_no_import_cycle():
    graph = {m: _imports(m, p) for m, p in _modules().items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m, trail):
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                cycles.append(" -> ".join(trail[trail.index(n):] + [n]) if n in trail else f"{m} -> {n}")
            elif n not in state:
                visit(n, trail + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_every_package_is_in_a_layer():
    for module in _modules():
        _layer(module)
