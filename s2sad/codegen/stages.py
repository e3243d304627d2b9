"""The pass lists: a compile runs one list of named stages over a `Job`, each stage a function of it.

    REVERSE: normalize, activity, check, reverse, peephole, prune, copies, fuse, lower, emit
    FORWARD: normalize, activity, check, forward, dead, fuse, blocks, lower, emit
    BATCH:   normalize, check, batch, dead, blocks, lower, emit                (vmap)

`S2SAD_DUMP=normalize,reverse,fuse` (or `s2sad show --dump ...`) prints the code after each named stage
to stderr (`S2SAD_DUMP=all`: after every stage). The stages are in the modules their names point to;
this one only says in which order they run and what each reads and writes on the job.
"""
from __future__ import annotations

import ast
import contextlib
import gc
import os
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from .. import backends
from ..backends.base import made_apart, split_tapes
from .._version import __version__
from ..analysis import aliasing, complexity
from ..analysis.activity import Analysis, activity, analyze
from ..errors import DifferentiationError
from ..frontend.normalize import normalize
from ..frontend.source import Source
from ..ir.core import CoreFunction, FreeVar, origin
from ..ir import pytree
from ..ir.facts import Facts
from ..ir.astcopy import clone
from ..ir.names import all_names
from ..modes import batch as batch_mode, forward as forward_mode, reverse as reverse_mode
from ..passes import prune
from ..passes.fuse import augmented_writes, dead_arrays, dead_stores, fuse, no_empty_blocks
from ..passes.simplify import peephole, propagate_copies
from . import cache
from .emit import Sections, function_source, module_source
from ..ir.nodes import walk
from ..ir.prim import walk_stmts

FREE_MARK = "# s2sad-free: "

TITLES = {"batched": "all examples at once: each batched value has the examples along its first axis",
          "pre": "", "fwd": "forward sweep: the original computation",
          "rev": "reverse sweep: cotangents flow back from the output",
          "body": "forward sweep with tangents: each value, then its tangent"}


@dataclass
class Job:
    """One compile: what was asked (set by the caller) and what the stages make of it, in order."""

    src: Source
    key: str
    name: str                          # the generated function's name
    backend: str = "numpy"
    argnums: Any = 0                   # reverse mode: an int or a tuple, as the user gave it
    wrt_nums: tuple[int, ...] = ()     # forward mode: the parameters with tangents
    has_aux: bool = False
    value: bool = True                 # False: reverse mode lets the value go when certainly a scalar, forward
                                       # mode returns the tangent alone
    vectors: tuple[str, ...] = ()
    kinds: aliasing.ArgKinds | None = None
    select: tuple[int, ...] | None = None
    trees: tuple = ()                  # (parameter, structure) of each container argument (ir/pytree.py)
    axes: tuple = ()                   # vmap: (position, mapped axis) of each batched parameter
    example: tuple = ()                # vmap: one example of each parameter: "number", its ndim, or None
    out_axes: Any = 0                  # vmap: where each output's batch axis goes
    complex_params: tuple[str, ...] = ()   # parameters and free names that hold complex numbers
    real_output: bool = True           # reverse mode: the output must be real (grad); False for vjp
    # made by the stages
    core: CoreFunction | None = None
    wrt: list[str] = field(default_factory=list)
    info: Analysis | None = None
    sweeps: Any = None                 # reverse mode's Sweeps (shapes, recomputed: for the prune stage)
    blocks: dict[str, list[ast.stmt]] = field(default_factory=dict)   # TITLES' keys, in running order
    helpers: list[ast.FunctionDef] = field(default_factory=list)     # the file's other functions (a backend's)
    ret: ast.Return | None = None
    facts: Facts = field(default_factory=Facts)
    text: str = ""

    @property
    def free(self) -> list[FreeVar]:
        return self.core.free if self.core is not None else []

    def code(self) -> str:
        """The code as it stands: the core function before a mode ran, the generated blocks after."""
        free = [f.name for f in self.free]
        if not self.blocks:
            body = self.core.body + [ast.Return(value=ast.Name(id=self.core.result, ctx=ast.Load()))]
            params = self.core.params + free
        else:
            body = [s for b in self.blocks.values() for s in b] + [self.ret]
            seeds = ["out_bar"] if "rev" in self.blocks else self.facts.tangents
            params = self.core.params + seeds + free
        fn = ast.FunctionDef(name=self.name, args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=p) for p in params], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=body or [ast.Pass()], decorator_list=[], returns=None)
        return ast.unparse(ast.fix_missing_locations(ast.Module(body=[fn], type_ignores=[])))


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Job], None]


# --- the stages ------------------------------------------------------------------------------------

def _normalize(job: Job) -> None:
    job.core = normalize(job.src, has_aux=job.has_aux, select=job.select, trees=dict(job.trees))
    nums = (job.argnums,) if isinstance(job.argnums, int) else tuple(job.argnums)
    job.wrt = [job.core.params[i] for i in (job.wrt_nums or nums)]


def _analyze(job: Job) -> None:
    job.info = analyze(job.core, job.wrt)


def _stack_activity(job: Job) -> None:
    job.info = Analysis(activity(job.core, job.wrt, stacks=True))


def _check_complex(job: Job, real_output: bool) -> None:
    """Which values may be complex (read by the modes), and the refusals where one would be wrong."""
    job.core.complex = complexity.complex_names(job.core, job.complex_params)
    complexity.check(job.core, job.info.activity, job.core.complex, real_output, job.complex_params)


def _check_reverse(job: Job) -> None:
    reverse_mode.check(job.core, job.info.activity, job.kinds)
    _check_complex(job, job.real_output)


def _check_forward(job: Job) -> None:
    forward_mode.check(job.core, job.info.activity, job.kinds, views=backends.get(job.backend).shares_views)
    _check_complex(job, real_output=False)


def _reverse(job: Job) -> None:
    sw = reverse_mode.reverse(job.core, job.info, job.wrt, single=isinstance(job.argnums, int), value=job.value,
                              vectors=frozenset(job.vectors), kinds=job.kinds)
    job.sweeps, job.facts, job.ret = sw, sw.facts, sw.ret
    job.blocks = {"pre": sw.pre, "fwd": sw.fwd, "rev": sw.rev}


def _peephole(job: Job) -> None:
    job.blocks["rev"] = peephole(job.blocks["rev"])


def _prune(job: Job) -> None:
    if not job.facts.value:      # the value is not returned: what only computed it goes
        b = job.blocks
        b["fwd"], b["rev"] = prune.run(b["fwd"], b["rev"], job.ret, job.sweeps.shapes, job.core.params,
                                       job.sweeps.recomputed)


def _copies(job: Job) -> None:
    b = job.blocks
    prefer = frozenset(job.sweeps.adjoints[p] for p in job.wrt if p in job.sweeps.adjoints)
    b["rev"] = propagate_copies(b["pre"] + b["fwd"], b["rev"], job.ret, keep={"out_bar"}, prefer=prefer)


def _fuse(job: Job) -> None:
    names = list(job.blocks)
    parts = fuse([job.blocks[n] for n in names], job.ret, job.core.params + ["out_bar"], all_names(job.src.tree),
                 scalars={"out_bar"} if job.facts.scalar_output else set(),
                 as_written=frozenset(id(s) for s in walk_stmts(job.blocks["fwd"])))
    job.blocks = dict(zip(names, parts))


def _forward(job: Job) -> None:
    body, job.ret, job.facts = forward_mode.forward(job.core, job.info.activity, job.wrt)
    if not job.value:            # the tangent alone (hvp): the value is not returned
        job.ret.value.elts[0] = ast.Constant(value=None)
    job.blocks = {"body": body}


def _fuse_forward(job: Job) -> None:
    """Fusion of the tangent code (the user's own statements keep their products' order)."""
    primal = frozenset(id(s) for s in walk_stmts(job.core.body))
    body, = fuse([job.blocks["body"]], job.ret, job.core.params + job.facts.tangents, all_names(job.src.tree),
                 keep=frozenset(job.facts.tangents), as_written=primal)
    job.blocks["body"] = body
    if not job.value:            # fused, an array only the value needed is read by its own writes alone
        _dead(job)
    augmented_writes(job.blocks["body"])


def _dead(job: Job) -> None:
    """What nothing returned reads goes: in generated code of which one part is differentiated, what the
    rest computes; without the value, what only computed it (the user's own variables stay)."""
    if job.select is not None or not job.value:
        keep = set() if job.select is not None else all_names(job.src.tree)
        while dead_stores(job.blocks["body"], job.ret, keep) or dead_arrays(job.blocks["body"], job.ret, keep):
            pass


def _blocks(job: Job) -> None:
    """No block left empty (a loop whose body was only `pass`, or whose statements all went)."""
    job.blocks = {k: no_empty_blocks(b) for k, b in job.blocks.items()}


def _example_kinds(job: Job) -> aliasing.ArgKinds:
    """What one example of each parameter is (vmap), as the aliasing analysis reads argument kinds."""
    params = job.core.params
    ranks = {params[i]: k for i, k in enumerate(job.example) if isinstance(k, int) and i < len(params)}
    numbers = {params[i] for i, k in enumerate(job.example) if k == "number" and i < len(params)}
    return aliasing.ArgKinds(frozenset(numbers), tuple(sorted(ranks.items())))


def _check_batch(job: Job) -> None:
    """An in-place write another name sees (`t = v` then `t += e`, v a 0-d array) is refused, as the
    modes refuse it: the core language reads it as `t = t + e`."""
    fn = job.core
    aliasing.check_in_place(fn.body, fn.params, _example_kinds(job), fn.src.filename, origin, spell=fn.user_name)


def _tapes(job: Job) -> None:
    """vmap of generated code: its one tape as one list per saved slot, in a copy of its syntax tree
    before it is normalized, so that each list is batched by what it holds (a saved branch condition the
    examples share stays one value, not batched because the tape also holds arrays)."""
    if job.select is None:
        return
    tree = clone(job.src.tree)
    split_tapes(tree.body, all_names(tree))
    tree.body = made_apart(tree.body)
    job.src = replace(job.src, tree=tree)


def _batch(job: Job) -> None:
    params = job.core.params
    kinds = _example_kinds(job)
    gen = batch_mode.Batch(job.core, {params[i]: a for i, a in job.axes}, dict(kinds.ranks), set(kinds.numbers))
    done = gen.run()
    job.ret = ast.Return(value=gen.output(job.core.result, job.out_axes))
    job.blocks = {"batched": done.body}
    job.facts = Facts(loops=sorted(set(done.loops)))


def _dead_batched(job: Job) -> None:
    """What the batched code computes and nothing reads goes (a generated gradient's value, when only
    its gradients are batched); the user's own variables stay, for reading."""
    keep = set() if job.select is not None else all_names(job.src.tree)
    while dead_stores(job.blocks["batched"], job.ret, keep):
        pass


def _lower(job: Job) -> None:
    unit = backends.get(job.backend)
    unit.lower([s for b in job.blocks.values() for s in b] + [job.ret], all_names(job.src.tree))
    job.helpers = unit.finish(job.blocks, job.kinds if unit.by_kinds else None,
                              {n.id for n in ast.walk(job.ret) if isinstance(n, ast.Name)}, job.name)


def _emit(job: Job) -> None:
    job.text = (_emit_reverse if "rev" in job.blocks else _emit_batched if "batched" in job.blocks
                else _emit_forward)(job)


REVERSE = [Stage("normalize", _normalize), Stage("activity", _analyze), Stage("check", _check_reverse),
           Stage("reverse", _reverse), Stage("peephole", _peephole), Stage("prune", _prune),
           Stage("copies", _copies), Stage("fuse", _fuse), Stage("lower", _lower), Stage("emit", _emit)]
FORWARD = [Stage("normalize", _normalize), Stage("activity", _stack_activity), Stage("check", _check_forward),
           Stage("forward", _forward), Stage("dead", _dead), Stage("fuse", _fuse_forward), Stage("blocks", _blocks),
           Stage("lower", _lower),
           Stage("emit", _emit)]


BATCH = [Stage("tapes", _tapes), Stage("normalize", _normalize), Stage("check", _check_batch), Stage("batch", _batch),
         Stage("dead", _dead_batched), Stage("blocks", _blocks), Stage("lower", _lower),
         Stage("emit", _emit)]


def dumped() -> set[str]:
    """The stages whose output S2SAD_DUMP asks for (checked: an unknown name is an error, not silence)."""
    asked = {s.strip() for s in os.environ.get("S2SAD_DUMP", "").split(",") if s.strip()}
    known = {s.name for s in REVERSE + FORWARD + BATCH}
    if "all" in asked:
        return known
    unknown = asked - known
    if unknown:
        raise DifferentiationError(f"S2SAD_DUMP names no stage {', '.join(sorted(unknown))}: the stages are "
                                   f"{', '.join(s.name for s in REVERSE)} (reverse mode) and "
                                   f"{', '.join(s.name for s in FORWARD)} (forward mode), or all")
    return asked


SLOW_S = 2.0          # a transform running longer says on stderr where it is, at each stage
_clock = time.perf_counter


def run(stages: list[Stage], job: Job, dump: set[str] = frozenset()) -> Job:
    """Run `stages` over `job` in order, printing the code after each stage named in `dump`, and, once
    the transform has taken more than SLOW_S seconds, a line on stderr as each stage starts (and one when
    it is done) so that a long wait is not silent."""
    start = _clock()
    slow = False
    size = _Size(job.src.tree)
    with paused_gc():
        for stage in stages:
            if _clock() - start > SLOW_S:
                slow = True
                _progress(job, size, stage.name, _clock() - start)
            stage.run(job)
            if stage.name in dump:
                text = job.text if stage.name == "emit" else ast.unparse(job.src.tree) if job.core is None \
                    else job.code()
                print(f"# --- {job.src.qualname}: after {stage.name} ---\n{text}", file=sys.stderr)
    if slow or _clock() - start > SLOW_S:
        _progress(job, size, "done", _clock() - start)
    return job


@contextlib.contextmanager
def paused_gc():
    """Python's cycle collector off while a transform runs (then as it was): a transform makes millions
    of AST nodes, few of them in reference cycles, and the collector's passes over them took a sixth of
    its time. What the transform drops is freed as usual, by reference counting."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Size:
    """The number of statements of a function, counted when first asked (only a slow transform asks)."""

    def __init__(self, tree: ast.AST):
        self.tree = tree
        self.count: int | None = None

    def statements(self) -> int:
        if self.count is None:
            self.count = _statements(self.tree)
        return self.count


def _progress(job: Job, size: _Size, what: str, seconds: float) -> None:
    """`s2sad: transforming f (file.py:12, 1,200 statements): fuse after 2.4 s` on stderr."""
    src = job.src
    print(f"s2sad: transforming {src.qualname} ({os.path.basename(src.filename)}:{src.lineno}, "
          f"{size.statements():,} statements): {what} after {seconds:.1f} s", file=sys.stderr, flush=True)


def _statements(tree: ast.AST) -> int:
    """The statements in a function's body, nested ones included."""
    return sum(isinstance(n, ast.stmt) and n is not tree for n in walk(tree))


# --- the generated file ----------------------------------------------------------------------------

def _array_module(backend: str) -> str:
    """How the header names a backend: its array module, and its compiler if it has one ("numpy, numba")."""
    unit = backends.get(backend)
    return unit.array_module if unit.own_arrays else f"{unit.array_module} code compiled by {unit.module}"


def _header(job: Job, what: str, call: str) -> list[str]:
    src = job.src
    return [
        f"Generated by s2sad {__version__} from {cache.shown_path(src.filename)}:{src.lineno} ({src.qualname}). "
        "Do not edit:",
        "s2sad regenerates this file when the function changes and refuses it when edited.",
        what + (f"; for arguments {job.kinds.text()}" if job.kinds is not None else ""),
        call,
    ]


def _meta(job: Job) -> list[str]:
    meta = [f"{cache.KEY_MARK}{job.key}", job.facts.line()]
    if job.free:
        meta.append(FREE_MARK + ", ".join(f"{f.name}={f.spelled}@{_owner_index(f, job)}" for f in job.free))
    return meta


def _owner_index(f: FreeVar, job: Job) -> str:
    """Where a free variable is read: 0 is the function itself, i the i-th inlined helper; g/c: globals/cell."""
    for i, s in enumerate([job.src] + job.core.callees):
        if f.owner is s.globals:
            return f"{i}g"
        if f.spelled in s.closure and f.owner is s.closure[f.spelled]:
            return f"{i}c"
    return "0b"   # builtins


def _emit_reverse(job: Job) -> str:
    src, facts, params = job.src, job.facts, job.core.params
    sig = params + [f.name for f in job.free] + ["out_bar"]
    wrt_text = ", ".join(job.wrt)
    shown = "None" if not facts.value else "value"
    doc = (f"Gradient of {src.qualname} with respect to {wrt_text}: returns "
           f"({f'({shown}, aux)' if job.has_aux else shown}, "
           f"{'gradient' if isinstance(job.argnums, int) else 'gradients'}). out_bar seeds the output's cotangent."
           + ("" if facts.value else " The value, a scalar, is not computed: use value_and_grad for it."))
    sec = Sections(name=job.name, params=sig, defaults={"out_bar": "1.0"}, doc=doc,
                   blocks=[(TITLES[k], b) for k, b in job.blocks.items()], ret=job.ret)
    func_text = function_source(sec, src.filename)
    nums = f"argnums={job.argnums!r}" if not job.trees else "containers passed leaf by leaf: " + ", ".join(
        f"{p} = {pytree.spelled(t)}" for p, t in job.trees)
    what = (f"gradient of {src.qualname} with respect to {wrt_text} ({nums}), reverse mode, "
            f"{_array_module(job.backend)} backend" + (", has_aux" if job.has_aux else "")
            + (f", output element {job.select}" if job.select else "")
            + (f"; for 1-D {', '.join(job.vectors)} (elements are scalars)" if job.vectors else "")
            + _complex_note(job))
    call = f"call: {job.name}({', '.join(sig[:-1])})" + (
        f"  # {', '.join(f.name for f in job.free)}: globals/closure values" if job.free else "")
    return module_source(_header(job, what, call), _meta(job), job.backend, _functions(job, func_text),
                         "math." in func_text)


def _functions(job: Job, main: str) -> list[str]:
    """The file's functions: the generated one, then those it calls that its backend wrote."""
    out = [main]
    for h in job.helpers:
        body = [s for s in h.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        ret = body.pop() if body and isinstance(body[-1], ast.Return) else None
        out.append(function_source(Sections(name=h.name, params=[a.arg for a in h.args.args], defaults={},
                                            doc=ast.get_docstring(h), blocks=[("", body)], ret=ret),
                                   job.src.filename))
    return out


def _complex_note(job: Job) -> str:
    """The header's word on the complex values a variant is made for (JAX's convention)."""
    given = ", ".join(job.core.user_name(p) for p in job.complex_params)
    out = "" if job.real_output else "; the output may be complex"
    return (f"; for complex {given} (JAX's convention)" if given else "") + out


def _emit_batched(job: Job) -> str:
    src = job.src
    sig = job.core.params + [f.name for f in job.free]
    mapped = ", ".join(f"{job.core.user_name(job.core.params[i])} (axis {a})" for i, a in job.axes)
    doc = (f"vmap of {src.qualname} over {mapped}: each example's result, stacked along out_axes={job.out_axes!r}.")
    sec = Sections(name=job.name, params=sig, defaults={}, doc=doc,
                   blocks=[(TITLES[k], b) for k, b in job.blocks.items()], ret=job.ret)
    func_text = function_source(sec, src.filename)
    what = (f"vmap of {src.qualname} over {mapped}, out_axes={job.out_axes!r}, {_array_module(job.backend)} backend"
            + (f", output element {job.select}" if job.select else ""))
    if job.facts.loops:
        what += f"; once per example (no batched form): {', '.join(job.facts.loops)}"
    return module_source(_header(job, what, f"call: {job.name}({', '.join(sig)})"), _meta(job),
                         job.backend, _functions(job, func_text), "math." in func_text)


def _emit_forward(job: Job) -> str:
    src = job.src
    sig = job.core.params + job.facts.tangents + [f.name for f in job.free]
    doc = (f"Forward mode (JVP) of {src.qualname}: given tangents {', '.join(job.facts.tangents)} of "
           f"{', '.join(job.wrt)}, returns " + ("(value, tangent of the value)." if job.value else
                                                "(None, tangent of the value): the value is not computed."))
    sec = Sections(name=job.name, params=sig, defaults={}, doc=doc,
                   blocks=[(TITLES[k], b) for k, b in job.blocks.items()], ret=job.ret)
    func_text = function_source(sec, src.filename)
    what = (f"forward mode (JVP) of {src.qualname} with respect to {', '.join(job.wrt)}, "
            f"{_array_module(job.backend)} backend" + (f", output element {job.select}" if job.select else "")
            + ("" if job.value else ", tangent only") + _complex_note(job))
    return module_source(_header(job, what, f"call: {job.name}({', '.join(sig)})"), _meta(job),
                         job.backend, _functions(job, func_text), "math." in func_text)
