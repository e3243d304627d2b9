"""Deterministic, clash-free names for temporaries, flags and adjoints."""
from __future__ import annotations

import ast

from .. import backends
from .nodes import walk

# what generated code calls its modules and its own variables: every backend's alias ("np", "cp") too
RESERVED = {"math", "_rt", "tape", "out_bar"} | backends.ALIASES


class Namer:
    """Hands out names that never clash with the user's names or with each other.

    Names come from per-prefix counters (`t1`, `t2`, `cond1`), so the same function always gets
    the same names: generated files are byte-identical from run to run.
    """

    def __init__(self, taken: set[str] = frozenset()):
        self.taken = set(taken) | RESERVED
        self.counters: dict[str, int] = {}

    def reserve(self, names) -> None:
        self.taken.update(names)

    def copy(self) -> "Namer":
        """A namer in this one's state that hands out names independently of it."""
        new = Namer.__new__(Namer)
        new.taken = set(self.taken)
        new.counters = dict(self.counters)
        return new

    def fresh(self, prefix: str = "t") -> str:
        n = self.counters.get(prefix, 0)
        while True:
            n += 1
            name = f"{prefix}{n}"
            if name not in self.taken:
                self.counters[prefix] = n
                self.taken.add(name)
                return name

    def exact(self, name: str) -> str:
        """`name` itself if free, else `name_1`, `name_2`, ..."""
        if name not in self.taken:
            self.taken.add(name)
            return name
        return self.fresh(name + "_")


def all_names(tree: ast.AST) -> set[str]:
    """Every identifier that appears in `tree` (names, arguments, attributes' roots)."""
    out = set()
    for node in walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return out


def dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"], or None when `node` is not a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None
