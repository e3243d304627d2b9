"""Emit: readable source for a generated function, with a header and comments quoting the user's lines."""
from __future__ import annotations

import ast
import hashlib
import linecache
import os
import re
from dataclasses import dataclass

from .. import backends
from ..backends.base import NUMPY_ALIAS
from ..ir.core import origin

HEADER_MARK = "# s2sad-body-sha256: "


@dataclass
class Sections:
    """The parts of a generated function, in order."""

    name: str
    params: list[str]
    defaults: dict[str, str]           # parameter -> default source (only out_bar / t_out)
    doc: str
    blocks: list[tuple[str, list[ast.stmt]]]   # (section comment, statements)
    ret: ast.stmt | None             # (None: a function that returns nothing)


def _quote(where, home: str) -> str:
    filename, lineno = where
    text = linecache.getline(filename, lineno).strip()
    place = f"line {lineno}" if filename == home else f"{os.path.basename(filename)}:{lineno}"
    return f"# {place}: {text}" if text else f"# {place}"


def _lines(stmts: list[ast.stmt], indent: str, home: str, last: list) -> list[str]:
    """Print statements one per line; a comment quotes the user's line before each new group.

    Walks nested blocks with an explicit stack, so deep nesting never hits the recursion limit.
    Stack items are (statements, next index, indent) or a header line (str, indent).
    """
    out: list[str] = []
    stack: list = [(stmts, 0, indent)]
    while stack:
        item = stack.pop()
        if isinstance(item[0], str):
            out.append(item[1] + item[0])
            last[0] = None
            continue
        body, i, ind = item
        if i >= len(body):
            continue
        s = body[i]
        stack.append((body, i + 1, ind))
        where = origin(s)
        note = getattr(s, "s2sad_note", None)      # what a lowering says of the statement it wrote
        if note:
            out.append(f"{ind}# {note}")
            last[0] = None
        if where and where != last[0]:
            out.append(ind + _quote(where, home))
            last[0] = where
        inner = ind + "    "
        if isinstance(s, ast.If):
            chain = [(f"if {ast.unparse(s.test)}:", s.body)]
            node = s
            while len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If) and origin(node.orelse[0]) == where:
                node = node.orelse[0]
                chain.append((f"elif {ast.unparse(node.test)}:", node.body))
            if node.orelse:
                chain.append(("else:", node.orelse))
            for header, blk in reversed(chain):
                stack.append((blk, 0, inner))
                stack.append((header, ind))
        elif isinstance(s, ast.While):
            stack.append((s.body, 0, inner))
            stack.append((f"while {ast.unparse(s.test)}:", ind))
        elif isinstance(s, ast.For):
            stack.append((s.body, 0, inner))
            stack.append((f"for {ast.unparse(s.target)} in {ast.unparse(s.iter)}:", ind))
        else:
            out.append(ind + ast.unparse(s))
    return out


def function_source(sec: Sections, home: str) -> str:
    """The `def` of a generated function."""
    params = ", ".join(p + (f"={sec.defaults[p]}" if p in sec.defaults else "") for p in sec.params)
    lines = [f"def {sec.name}({params}):", f'    """{sec.doc}"""']
    last = [None]
    for comment, stmts in sec.blocks:
        if not stmts:
            continue
        if comment:
            lines.append(f"    # {comment}")
            last[0] = None
        lines.extend(_lines(stmts, "    ", home, last))
    if sec.ret is not None:
        lines.append("    " + ast.unparse(sec.ret))
    return "\n".join(lines) + "\n"


def _reads_numpy(code: str) -> bool:
    """Whether `code` calls NumPy by its alias (not only in a string: a refusal's message quotes np.)."""
    if not re.search(rf"\b{NUMPY_ALIAS}\.", code):
        return False
    return any(isinstance(n, ast.Name) and n.id == NUMPY_ALIAS for n in ast.walk(ast.parse(code)))


def module_source(header: list[str], meta: list[str], backend: str, functions: list[str],
                  uses_math: bool) -> str:
    """A whole generated file for `backend` (its name): header comments (with the body's hash), the
    imports its functions use, the functions (with the backend's decorator, if it has one)."""
    unit = backends.get(backend)
    if unit.decorator:
        functions = [f"@{unit.decorator_of(f)}\n{f}" for f in functions]
    code = "\n".join(line for f in functions for line in f.splitlines() if not line.lstrip().startswith("#"))
    alias = unit.alias
    imports = [f"import {unit.array_module} as {alias}"] if re.search(rf"\b{alias}\.", code) else []
    if alias != NUMPY_ALIAS and _reads_numpy(code):     # what a backend keeps NumPy's (dask: constant indices)
        imports.insert(0, f"import numpy as {NUMPY_ALIAS}")
    if uses_math:
        imports.append("import math")
    if "scipy.special." in code:
        imports.append("import scipy.special")
    if unit.decorator:
        imports.append(unit.decorator_import)
    if "_rt." in code:
        package, _, leaf = unit.runtime.rpartition(".")
        imports.append(f"from {package} import {leaf} as _rt")
    if "_bt." in code:
        imports.append("from s2sad.runtime import batched as _bt")
    body = "\n".join(meta + [""] + imports) + "\n\n\n" + "\n\n".join(functions)
    digest = hashlib.sha256(body.encode()).hexdigest()
    head = "\n".join("# " + h if h else "#" for h in header)
    return f"{head}\n{HEADER_MARK}{digest}\n\n{body}"


def verify(text: str) -> bool:
    """Whether a generated file's body still matches the hash in its header."""
    mark = text.find(HEADER_MARK)
    if mark < 0:
        return False
    end = text.find("\n", mark)
    digest = text[mark + len(HEADER_MARK):end].strip()
    body = text[end + 1:]
    if body.startswith("\n"):
        body = body[1:]
    return hashlib.sha256(body.encode()).hexdigest() == digest
