"""The DifferentiationError family: every error s2sad raises about user code."""
from __future__ import annotations

import ast
import linecache


class DifferentiationError(Exception):
    """Base class of every error the compiler raises about the user's code."""


class UnsupportedSyntaxError(DifferentiationError):
    """A Python construct the compiler does not handle."""


class NonDifferentiableError(DifferentiationError):
    """A call whose derivative is unknown."""


class ContainerOutputError(NonDifferentiableError):
    """The differentiated function returns a container of differentiated values: jvp, vjp and jacobian
    then differentiate it one output leaf at a time; grad and hessian need one scalar."""


class NonScalarOutputError(DifferentiationError):
    """`grad` of a function whose output is not a scalar."""


def located(filename: str, lineno: int | None, col: int | None, message: str) -> str:
    """Format `message` with the user's file, line, column and the quoted source line."""
    if lineno is None:
        return f"{filename}: {message}"
    where = f"{filename}:{lineno}" + (f":{col + 1}" if col is not None else "")
    text = linecache.getline(filename, lineno).rstrip()
    quoted = f"\n    {lineno} | {text.strip()}" if text else ""
    return f"{where}: {message}{quoted}"


def error_at(cls: type[DifferentiationError], filename: str, node: ast.AST | None, message: str) -> DifferentiationError:
    """Build an error of class `cls` pointing at `node` in `filename`."""
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    return cls(located(filename, lineno, col, message))


_PACKAGE = __file__.rpartition("errors.py")[0]      # s2sad's own folder, with its separator


def user_stacklevel() -> int:
    """The `stacklevel` for warnings.warn, called from inside s2sad, that points at the first frame outside
    the package: the user's line that called s2sad, not s2sad's own code."""
    import sys
    frame = sys._getframe(1)          # the caller of user_stacklevel, which calls warnings.warn
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """warnings.warn pointing at the user's line (the first caller outside s2sad)."""
    import warnings
    warnings.warn(message, category, stacklevel=user_stacklevel())
