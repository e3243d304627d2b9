"""What an array backend is: one object that answers every question the rest of s2sad asks about it.

A backend names the module generated code imports (and its alias there), says which arrays are its
own and why it cannot run here, moves values to and from its memory, lowers generated NumPy code to
its own calls, and names the SymPy printer the symbolic route prints with. Subclass `Backend`, override
what differs from NumPy, and register an instance (backends/__init__.py).
"""
from __future__ import annotations

import ast
import importlib
import sys
import types
from typing import Any, Callable, Mapping

from ..errors import DifferentiationError


NUMPY_ALIAS = "np"          # what the rules and the compiler call NumPy in the code they generate


class BackendWarning(UserWarning):
    """A backend was asked for where it cannot run (said when the gradient is made)."""


class Backend:
    """An array backend. The defaults describe a host backend whose module is always importable."""

    name: str = ""                 # what users pass: backend="numpy"
    module: str = ""               # the import name of its array module
    alias: str = ""                # what generated code calls it: `np.sin`
    title: str = ""                # how messages name it: "NumPy"
    # the functions generated code may call through `alias` (dotted: "linalg.norm"); None: all of them
    names: frozenset[str] | None = None
    # NumPy names a rule may emit that this backend deliberately lacks, each with the reason
    gaps: Mapping[str, str] = types.MappingProxyType({})
    needs_device: bool = False     # its arrays live apart from the host: NumPy arguments are copied in
    takes_numbers: bool = True     # its functions take Python numbers where arrays go (np.log(2.0))
    printer: str = "NumPyPrinter"  # the class in sympy.printing.numpy the symbolic route prints with

    def __repr__(self) -> str:
        return f"<s2sad backend {self.name!r}>"

    def imported(self) -> bool:
        """Whether its module is imported (else none of its arrays can exist yet)."""
        return self.module in sys.modules

    def owns(self, x: Any) -> bool:
        """Whether `x` is one of its arrays (or scalars): its type comes from the module's package."""
        return type(x).__module__.split(".")[0] == self.module

    def missing(self) -> str:
        """Why it cannot run here; "" when it can."""
        try:
            importlib.import_module(self.module)
        except ImportError as exc:
            return f"backend={self.name!r} needs {self.module}, which is not installed ({exc})"
        return ""

    def require(self) -> types.ModuleType:
        """Its module, or a DifferentiationError saying what is missing."""
        why = self.missing()
        if why:
            raise DifferentiationError(why)
        return importlib.import_module(self.module)

    def load(self) -> types.ModuleType:
        """Its module: the one imported (which may be a stand-in, in tests), else `require()`."""
        return sys.modules.get(self.module) or self.require()

    def to_device(self, values: list) -> list:
        """`values` with each host array copied into its memory (a host backend: `values` itself)."""
        return values

    def to_host(self, value: Any) -> Any:
        """One of its arrays copied to a NumPy one; anything else as it is."""
        return value

    def lower(self, stmts: list, user_names: set[str] = frozenset()) -> list:
        """Generated NumPy statements (ast), rewritten in place for this backend: `np.` becomes its alias
        (NumPy's own: unchanged). `user_names` are the names the user's function uses."""
        if self.alias != NUMPY_ALIAS:
            for s in stmts:
                for n in ast.walk(s):
                    if isinstance(n, ast.Name) and n.id == NUMPY_ALIAS:
                        n.id = self.alias
        return stmts

    def synchronized(self, call: Callable[[], Any]) -> Callable[[], Any]:
        """`call` followed by a wait for the work it queued (a host backend: `call` itself)."""
        return call
