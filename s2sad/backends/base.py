"""What an array backend is: one object that answers every question the rest of s2sad asks about it.

A backend names the module generated code imports (and its alias there), says which arrays are its
own and why it cannot run here, moves values to and from its memory, lowers generated NumPy code to
its own calls, and names the SymPy printer the symbolic route prints with. Subclass `Backend`, override
what differs from NumPy, and register an instance (backends/__init__.py).
"""
from __future__ import annotations

import ast
import importlib
import re
import sys
import types
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import DifferentiationError, located


NUMPY_ALIAS = "np"          # what the rules and the compiler call NumPy in the code they generate


class BackendWarning(UserWarning):
    """A backend was asked for where it cannot run (said when the gradient is made)."""


class Backend:
    """An array backend. The defaults describe a host backend whose module is always importable."""

    name: str = ""                 # what users pass: backend="numpy"
    module: str = ""               # the import name of its module (its array module, unless `arrays` says)
    arrays: str = ""               # the array module generated code imports as `alias`; "": `module`
    alias: str = ""                # what generated code calls it: `np.sin`
    title: str = ""                # how messages name it: "NumPy"
    # the functions generated code may call through `alias` (dotted: "linalg.norm"); None: all of them
    names: frozenset[str] | None = None
    # NumPy names a rule may emit that this backend deliberately lacks, each with the reason
    gaps: Mapping[str, str] = types.MappingProxyType({})
    # NumPy names the rules may emit that its lowering spells otherwise, each with how (`amax`: `da.max`)
    spellings: Mapping[str, str] = types.MappingProxyType({})
    needs_device: bool = False     # its arrays live apart from the host: NumPy arguments are copied in
    takes_numbers: bool = True     # its functions take Python numbers where arrays go (np.log(2.0))
    printer: str = "NumPyPrinter"  # the class in sympy.printing.numpy the symbolic route prints with
    shares_views: bool = True      # a slice or reshape shares memory with its base, as in NumPy
    lazy: bool = False             # its arrays are task graphs: values exist only once computed
    runtime: str = "s2sad.runtime" # the module generated code calls `_rt`
    decorator: str = ""            # what a generated function is decorated with ("" none), and the
    decorator_import: str = ""     # import it needs
    by_kinds: bool = False         # its gradient's code is made for the kinds of the call's arguments
    #                                (which are numbers, each array's number of dimensions): a file each

    @property
    def array_module(self) -> str:
        """The import name of the module whose arrays its generated code computes on."""
        return self.arrays or self.module

    @property
    def own_arrays(self) -> bool:
        """Whether it has arrays of its own (a compiler of NumPy code has not: NumPy's are its arrays)."""
        return self.array_module != "numpy" or self.module == "numpy"

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

    def decorator_of(self, function: str) -> str:
        """What the generated function with source `function` is decorated with (its `decorator`)."""
        return self.decorator

    def lower(self, stmts: list, user_names: set[str] = frozenset()) -> list:
        """Generated NumPy statements (ast), rewritten in place for this backend: `np.` becomes its alias
        (NumPy's own: unchanged). `user_names` are the names the user's function uses."""
        if self.alias != NUMPY_ALIAS:
            for s in stmts:
                for n in ast.walk(s):
                    if isinstance(n, ast.Name) and n.id == NUMPY_ALIAS:
                        n.id = self.alias
        return stmts

    def finish(self, blocks: dict, kinds=None, returned: set = frozenset(), name: str = "f") -> list:
        """After `lower`: rewrite the generated function's blocks of statements (a dict of lists, changed
        in place) where a statement must become several. `kinds`: the arguments' kinds (aliasing.ArgKinds)
        when the code is made for them (see `by_kinds`), else None; `returned`: the names the return
        statement reads; `name`: the function's. Returns the functions (ast.FunctionDef) the file defines
        after it, which it calls. NumPy's: nothing to do."""
        return []

    def like(self, g: Any, x: Any) -> Any:
        """The gradient `g` in the form of its argument `x`, one of this backend's arrays: an array of
        x's shape and float dtype (a number `g` stands for every element)."""
        xp = self.load()
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if not self.owns(g) or np.ndim(g) == 0 and x.ndim:       # a number standing for every element
            return xp.full(x.shape, g, dtype=dtype)
        if g.shape != x.shape:
            g = xp.broadcast_to(g, x.shape)
        return g if g.dtype == dtype else g.astype(dtype)

    def guarded(self, fn: Callable, text: str, filename: str) -> Callable:
        """The generated function `fn` (its file's `text`; the user's file `filename`) as calls should
        run it: a backend whose library refuses some code (dask's chunking limits) turns those failures
        into a DifferentiationError naming the user's line. NumPy's: `fn` itself."""
        return fn

    def synchronized(self, call: Callable[[], Any]) -> Callable[[], Any]:
        """`call` followed by a wait for the work it queued (a host backend: `call` itself)."""
        return call


_CONDITION = re.compile(r"cond\d+")      # the names normalize gives `if` tests it computes


def read_conditions_once(stmts: list, user_names: set[str]) -> None:
    """A branch condition the code tests again later (`cond1`, in the reverse sweep) made a Python bool
    where it is computed (`cond1 = bool(cp.sum(b) > 0)`): a backend whose arrays live elsewhere (a GPU,
    a lazy task graph) then reads it back once, not at each test."""
    tested = set()
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.If):
                test = n.test.operand if isinstance(n.test, ast.UnaryOp) else n.test
                if isinstance(test, ast.Name) and _CONDITION.fullmatch(test.id) and test.id not in user_names:
                    tested.add(test.id)
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                    and n.targets[0].id in tested and _may_be_array(n.value):
                n.value = ast.Call(func=ast.Name(id="bool", ctx=ast.Load()), args=[n.value], keywords=[])


def _may_be_array(value: ast.expr) -> bool:
    """Whether a condition's value may be an array (not a constant, a `not`, a name or a bool())."""
    if isinstance(value, (ast.Constant, ast.Name)) or isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return False
    return not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "bool")


def refuse_scipy(stmts: list, title: str) -> None:
    """scipy.special's functions take NumPy arrays only: code that calls them has no form on backend
    `title` yet. Refused with the user's line."""
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Attribute) and n.attr == "special" and isinstance(n.value, ast.Name) \
                    and n.value.id == "scipy":
                refuse_at(s, f"scipy.special on {title} arrays is not supported yet: use backend='numpy' for "
                             "this function")


def refuse_at(stmt: ast.stmt, message: str) -> None:
    """Raise a DifferentiationError with `message` at the user's line that generated statement `stmt`
    computes (its origin), quoting it."""
    where = getattr(stmt, "s2sad_origin", None)
    raise DifferentiationError(located(*where, None, message) if where else message)


def dotted(e: ast.expr | None) -> str:
    """`np.add.at` for the expression np.add.at; "" for anything but a dotted name."""
    parts = []
    while isinstance(e, ast.Attribute):
        parts.append(e.attr)
        e = e.value
    return ".".join([e.id, *reversed(parts)]) if isinstance(e, ast.Name) else ""


def raised_in(exc: BaseException, package: str) -> bool:
    """Whether `exc` came through the code of `package` ("dask", "numba.core"): a frame of one of its
    modules in its traceback."""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name == package or name.startswith(package + "."):
            return True
        tb = tb.tb_next
    return False


_USER_LINE = re.compile(r"\s*# line (\d+): (.*)")


def failing_user_line(exc: BaseException, code_file: str, text: str) -> tuple[int, str] | None:
    """(line number, text) of the user's line that the generated code (compiled as `code_file`, of
    `text`) was running when it raised `exc`: the `# line N:` comment above the innermost generated line
    in its traceback. None when the generated code was not running."""
    lineno = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == code_file:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return None if lineno is None else user_line_at(text, lineno)


def user_line_at(text: str, lineno: int) -> tuple[int, str] | None:
    """(line number, text) of the user's line that line `lineno` of generated file `text` computes: the
    `# line N:` comment above it. None when there is none."""
    lines = text.splitlines()
    for k in range(min(lineno, len(lines)) - 1, -1, -1):
        m = _USER_LINE.match(lines[k])
        if m:
            return int(m.group(1)), m.group(2)
    return None


def split_tapes(stmts: list, taken: set[str]) -> None:
    """The one `tape` list of generated code as one list per saved slot (`tape_t1`, `tape_y_1`), in place:
    numba types a list by its items, and the tape holds numbers, arrays, None and ranges; vmap batches a
    list by what it holds, and a saved branch condition the examples share stays shared. A pop restores
    the slot its push saved (`tape.append(t1)` ... `t1 = tape.pop()`, `tape.append(np.copy(y[i]))` ...
    `y[i] = tape.pop()`), so each slot's pushes and pops keep their order in a list of their own. Left as
    it is unless every pop has pushes of its slot and every slot is pushed and popped. `taken`: the names
    the code uses already."""
    pushes, pops, made = [], [], []
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Expr) and dotted(getattr(n.value, "func", None)) == "tape.append" \
                    and len(n.value.args) == 1:
                pushes.append(n)
            elif isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.value, ast.Call) \
                    and dotted(n.value.func) == "tape.pop" and not n.value.args:
                pops.append(n)
            elif isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) \
                    and n.targets[0].id == "tape":
                made.append(n)
    if not pushes or len(made) != 1 or not isinstance(made[0].value, ast.List) or made[0].value.elts:
        return

    def slot(n) -> str:
        if isinstance(n, ast.Expr):
            saved = n.value.args[0]
            if dotted(getattr(saved, "func", None)) in (f"{NUMPY_ALIAS}.copy", "_rt.copy") and len(saved.args) == 1:
                saved = saved.args[0]
            return ast.unparse(saved)
        return ast.unparse(n.targets[0])

    pushed, popped = {slot(n) for n in pushes}, {slot(n) for n in pops}
    if pushed != popped or tape_used_otherwise(stmts, len(pushes) + len(pops) + 1):
        return
    names: dict[str, str] = {}
    for key in dict.fromkeys(slot(n) for n in pushes):         # in the order of their first push
        base = "tape_" + key if key.isidentifier() else f"tape_{re.sub(r'[^0-9A-Za-z_]+', '_', key).strip('_')}"
        while base in names.values() or base in taken:
            base += "_"
        names[key] = base
    for n in pushes:
        n.value.func = ast.Attribute(value=ast.Name(id=names[slot(n)], ctx=ast.Load()), attr="append", ctx=ast.Load())
    for n in pops:
        n.value.func = ast.Attribute(value=ast.Name(id=names[slot(n)], ctx=ast.Load()), attr="pop", ctx=ast.Load())
    made[0].targets = [ast.Name(id=name, ctx=ast.Store()) for name in names.values()]   # `tape_t1 = tape_t3 = []`,
    made[0].s2sad_apart = True             # to be made one statement each (a list shared would be wrong)


def tape_used_otherwise(stmts: list, expected: int, tape: str = "tape") -> bool:
    """Whether the code reads the list `tape` anywhere but its pushes, pops and the statement that makes it
    (`expected`: how many times those name it)."""
    uses = sum(isinstance(n, ast.Name) and n.id == tape for s in stmts for n in ast.walk(s))
    return uses != expected


def made_apart(stmts: list) -> list:
    """`stmts` with each statement split_tapes marked (`tape_t1 = tape_t3 = []`) made one statement per list
    (`tape_t1 = []`, `tape_t3 = []`), each at its place and with its origin: one list shared would be wrong."""
    out = []
    for s in stmts:
        if not getattr(s, "s2sad_apart", False):
            out.append(s)
            continue
        for target in s.targets:
            one = ast.Assign(targets=[target], value=ast.List(elts=[], ctx=ast.Load()))
            one.s2sad_origin = getattr(s, "s2sad_origin", None)
            out.append(ast.copy_location(one, s))
    return out
