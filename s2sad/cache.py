"""Cache: content-based keys, the memory cache, verified files on disk, atomic writes."""
from __future__ import annotations

import ast
import hashlib
import os
import sys
import tempfile
import threading
import types
import warnings
from pathlib import Path

from . import __version__
from .emit import verify

KEY_MARK = "# s2sad-key: "
_memory: dict[str, types.FunctionType] = {}
_lock = threading.Lock()


class CacheWarning(UserWarning):
    """A generated file could not be used or written; s2sad went on without it."""


def generated_dir() -> Path:
    return Path(os.environ.get("S2SAD_GENERATED_DIR", "generated"))


def _strip(tree: ast.AST) -> str:
    """The AST without positions or docstrings: comments and whitespace do not change the key."""
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


_FINGERPRINT: list[str] = []


def compiler_fingerprint() -> str:
    """Hash of s2sad's own source (compiler, rules, runtime): editing s2sad invalidates old files."""
    if not _FINGERPRINT:
        h = hashlib.sha256()
        root = Path(__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
        _FINGERPRINT.append(h.hexdigest()[:16])
    return _FINGERPRINT[0]


def make_key(sources: list, options: dict) -> str:
    """Hash of the function's AST, the ASTs of the user functions it calls, the options and versions."""
    h = hashlib.sha256()
    for src in sources:
        h.update(src.qualname.encode())
        h.update(_strip(src.tree).encode())
    h.update(repr(sorted(options.items())).encode())
    h.update(f"s2sad {__version__} {compiler_fingerprint()} python {sys.version_info[:2]}".encode())
    return h.hexdigest()[:16]


def file_name(module: str, qualname: str, suffix: str, key: str, filename: str = "") -> str:
    """`<module>_<function>_<suffix>_<key>.py`; a script (`__main__`) is named after its file."""
    if module == "__main__" and filename:
        module = Path(filename).stem
    stem = f"{module}.{qualname}".replace("<locals>.", "").replace("<", "").replace(">", "")
    stem = "".join(c if c.isalnum() or c in "._" else "_" for c in stem).replace(".", "_")
    return f"{stem}_{suffix}_{key}.py"


def memory_get(key: str):
    return _memory.get(key)


def memory_put(key: str, fn) -> None:
    with _lock:
        _memory.setdefault(key, fn)


def read(path: Path, key: str) -> str | None:
    """The text of a cached file if it exists, names `key` and its body matches its hash."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"s2sad: cannot read {path} ({exc}); regenerating it", CacheWarning, stacklevel=4)
        return None
    if f"{KEY_MARK}{key}\n" not in text or not verify(text):
        warnings.warn(f"s2sad: {path} does not match its key or its hash (edited or corrupted); "
                      "regenerating it", CacheWarning, stacklevel=4)
        return None
    return text


def write(path: Path, text: str) -> Path | None:
    """Write atomically (temporary file in the same folder, then rename); None if the folder is unwritable."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        return path
    except OSError as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        warnings.warn(f"s2sad: cannot write {path} ({exc}); keeping the generated code in memory only",
                      CacheWarning, stacklevel=4)
        return None


def load_function(text: str, path: str, name: str):
    """Compile a generated module's text and return its function `name`."""
    code = compile(text, path, "exec")
    namespace: dict = {"__name__": f"s2sad.generated.{name}", "__file__": path}
    exec(code, namespace)
    return namespace[name]
