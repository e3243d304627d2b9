"""The command line: `python -m s2sad` (or `s2sad`)::

    s2sad show FILE.py:FUNC [--argnums 0 1] [--has-aux]   print the generated gradient source
    s2sad cache info [--dir DIR]                           where generated files go, how many, size
    s2sad cache clear [--dir DIR]                          remove s2sad's generated files
    s2sad compare FILE.py:FUNC --at V [V ...] [--plot OUT.png [--range LO HI]]
                                                           automatic vs symbolic vs numerical

`show` and `compare` run FILE's imports, definitions and assignments only (not its loops, bare calls or
`if __name__ == "__main__":` block), so a training script is read, not run.

Every subcommand is one entry of COMMANDS: a help line, a function that adds its arguments to its
argparse parser, and a function that runs it and returns the exit status. To add one, write the two
functions and call `register(name, help, configure, run)` (or add it to COMMANDS).

A mistake in the command line, a file that cannot be imported, a missing function or a function
s2sad cannot differentiate prints one `s2sad: error: ...` message on stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Callable, NamedTuple

PROG = "s2sad"


class UsageError(Exception):
    """A mistake the user can fix: printed as `s2sad: error: <message>`, exit status 2."""


class Command(NamedTuple):
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def register(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None],
             run: Callable[[argparse.Namespace], int]) -> None:
    """Add a subcommand: `configure(parser)` adds its arguments, `run(args)` returns the exit status."""
    COMMANDS[name] = Command(help, configure, run)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (and raised, so main() can return the status)."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --- show ------------------------------------------------------------------------------------------

def _configure_show(p: argparse.ArgumentParser) -> None:
    from .. import backends
    p.add_argument("target", metavar="FILE.py:FUNC",
                   help="a Python file and a function in it (FUNC may be dotted: Class.method); the "
                        "file's imports, definitions and assignments run, not its loops, calls or main block")
    p.add_argument("--argnums", type=int, nargs="+", metavar="N",
                   help="the positional argument(s) to differentiate with respect to (default: 0)")
    p.add_argument("--has-aux", action="store_true",
                   help="FUNC returns (value, aux); differentiate the value only")
    p.add_argument("--backend", choices=backends.names(), default=backends.DEFAULT.name,
                   help="the array module of the source shown (cupy: the file CuPy arrays run; CuPy "
                        "need not be installed to read it)")
    p.add_argument("--dump", metavar="STAGES", default="",
                   help="also print, to stderr, the code after each named stage of the compiler "
                        "(comma-separated, e.g. normalize,reverse,fuse; all: every stage)")


def _import_file(path: Path):
    """Import a .py file as a module by path (its folder first on sys.path, like running it)."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if not path.is_file() or path.suffix != ".py":
        raise UsageError(f"{path} is not a Python file (FILE.py:FUNC)")
    path = path.resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if getattr(loaded, "__file__", None) and Path(loaded.__file__).resolve() == path:
            return loaded
        name = f"_s2sad_cli_{name}"
    if not name.isidentifier():
        name = "_s2sad_cli_" + "".join(c if c.isalnum() else "_" for c in name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        code = compile(_definitions(path.read_text(encoding="utf-8-sig"), str(path)), str(path), "exec",
                       dont_inherit=True)
        with contextlib.redirect_stdout(sys.stderr):   # what the module prints is not the source
            exec(code, module.__dict__)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, SyntaxError) and exc.lineno:
            detail = f"SyntaxError at line {exc.lineno}: {exc.msg}"
        raise UsageError(f"cannot import {path}: {detail}") from None
    return module


_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
         ast.AnnAssign, ast.AugAssign)


def _definitions(text: str, filename: str) -> ast.Module:
    """The part of a module `show` and `compare` run: its imports, `def`s, classes and assignments, also
    inside `if` and `try` (an optional import), but not its loops, `with` blocks, bare expressions (calls,
    prints) or `if __name__ == "__main__":` block. A training script is read, not run. Line numbers stay
    those of the file, so the functions are the file's own."""
    tree = ast.parse(text, filename)

    def keep(body: list) -> list:
        out = []
        for node in body:
            if isinstance(node, _KEPT):
                out.append(node)
            elif isinstance(node, ast.If) and not _is_main_guard(node.test):
                node.body = keep(node.body) or [ast.Pass()]
                node.orelse = keep(node.orelse)
                out.append(node)
            elif isinstance(node, ast.Try):
                node.body = keep(node.body) or [ast.Pass()]
                for h in node.handlers:
                    h.body = keep(h.body) or [ast.Pass()]
                node.orelse, node.finalbody = keep(node.orelse), keep(node.finalbody)
                out.append(node)
        return out

    tree.body = keep(tree.body)
    return ast.fix_missing_locations(tree)


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _lookup(module, dotted: str, shown: str):
    obj = module
    for i, part in enumerate(dotted.split(".")):
        if not part.isidentifier():
            raise UsageError(f"{dotted!r} is not a function name (FILE.py:FUNC)")
        nxt = getattr(obj, part, None)
        if nxt is None:
            where = shown if i == 0 else ".".join(dotted.split(".")[:i])
            names = sorted(n for n, v in vars(obj).items()
                           if callable(v) and not n.startswith("_")
                           and getattr(v, "__module__", None) == module.__name__)
            hint = f" (it defines: {', '.join(names)})" if names and len(names) <= 20 else ""
            raise UsageError(f"{where} has no {'function' if i == 0 else 'attribute'} {part!r}{hint}")
        obj = nxt
    return obj


def _run_show(args: argparse.Namespace) -> int:
    from ..api.transforms import grad
    from ..api.transforms import _Transformed
    from .. import backends

    file, sep, func = args.target.rpartition(":")
    if not sep or not file or not func:
        raise UsageError(f"expected FILE.py:FUNC, got {args.target!r}")
    if args.dump:
        os.environ["S2SAD_DUMP"] = args.dump       # read by the stages as they run (the cache is bypassed)
    module = _import_file(Path(file))
    fn = _lookup(module, func, file)
    if isinstance(fn, _Transformed) and args.argnums is None and not args.has_aux:
        transformed = fn                       # `@s2sad.grad` already applied: show it as configured
    else:
        if not callable(fn):
            raise UsageError(f"{file}:{func} is not a function but a {type(fn).__name__}")
        nums = 0 if not args.argnums else args.argnums[0] if len(args.argnums) == 1 else tuple(args.argnums)
        try:
            transformed = grad(fn, argnums=nums, has_aux=args.has_aux, backend="numpy")
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    if args.backend != backends.DEFAULT.name:
        if transformed._inner is not None:
            raise UsageError(f"{file}:{func} is a derivative of a derivative: --backend {args.backend} shows "
                             "first-order gradients")
        source = transformed._unloaded_source(args.backend)   # generated, not loaded: no GPU needed
    else:
        source = transformed.source
    sys.stdout.write(source)
    return 0


# --- cache -----------------------------------------------------------------------------------------

def _configure_cache(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    for action, text in (("info", "where generated files go, how many there are and their total size"),
                         ("clear", "remove s2sad's generated files (and nothing else) from the folder")):
        q = sub.add_parser(action, help=text, description=text)
        q.add_argument("--dir", metavar="DIR",
                       help="the folder (default: $S2SAD_GENERATED_DIR, else ./generated)")


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _run_cache(args: argparse.Namespace) -> int:
    from ..codegen import cache

    folder = cache.generated_dir(args.dir)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    if args.action == "info":
        d = cache.info(folder)
        state = "" if folder.is_dir() else " (does not exist yet)"
        print(f"folder: {d['path']}{state}")
        print(f"files:  {d['files']}")
        print(f"size:   {_size(d['bytes'])}" + (f" ({d['bytes']} bytes)" if d["bytes"] >= 1024 else ""))
        return 0
    n = cache.clear(folder)
    print(f"removed {n} file{'' if n == 1 else 's'} from {folder.absolute()}")
    return 0


register("show", "print the generated gradient source of FILE.py:FUNC", _configure_show, _run_show)
register("cache", "inspect or clear the folder of generated files", _configure_cache, _run_cache)

from . import compare as cli_compare  # noqa: E402  (compare: its own module; it registers itself here)
cli_compare.install(sys.modules[__name__])


# --- main ------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="s2sad: source-to-source automatic differentiation for Python "
                                            "and NumPy. Generated files go to $S2SAD_GENERATED_DIR "
                                            "(default ./generated).")
    from .._version import __version__
    parser.add_argument("--version", action="version", version=f"s2sad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default sys.argv[1:]); return the exit status."""
    from ..errors import DifferentiationError

    try:
        args = build_parser().parse_args(argv)
        return int(args._run(args) or 0)
    except SystemExit as exc:          # --help, --version
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except (UsageError, DifferentiationError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

