"""The transformation family built on the two modes: jvp, vjp, jacobian, hessian, higher order.

Everything here composes compiled functions; no compiler logic lives here. A transformation of a
transformation (hessian, `grad(grad(f))`, `jvp(grad(f), ...)`) runs forward mode over the first
transformation's generated source.
"""
from __future__ import annotations

import dataclasses
import inspect
import weakref
from typing import Any, Callable

import numpy as np

from .. import backends, rules
from ..analysis import aliasing
from ..ir import pytree
from ..rules import custom
from ..runtime import batched
from ..errors import ContainerOutputError, DifferentiationError
from .convert import as_float, check_real, complex_step, fresh, is_complex, like
from . import fast_jvp, sparsity
from .library import as_function
from .transforms import check_backend, grad
from .targets import Target, bind_all, compiled_jvp, complex_names, grad_of, jvp_call, register_source, target
from .vmap import run_batched

__all__ = ["jvp", "hvp", "vjp", "jacobian", "hessian"]


def _unit(backend: str, values) -> backends.Backend:
    """The backend a transformation runs on: the arrays' own for "auto", else the one named."""
    check_backend(backend)
    if backend == "auto":
        return backends.of(values)
    unit = backends.get(backend)
    unit.require()
    return unit


def jvp(fun: Callable, primals: tuple, tangents: tuple, *, backend: str = "auto") -> tuple[Any, Any]:
    """Forward mode: `(fun(*primals), J @ tangents)`, by a generated tangent function (JAX's jvp).
    `backend` as grad's ("auto": the arrays' own; "numba": the tangent code compiled by numba)."""
    return _jvp(fun, primals, tangents, backend, fast_jvp.JVP)


def hvp(fun: Callable, primals: tuple, tangents: tuple, *, backend: str = "auto") -> Any:
    """The Hessian-vector product `H(primals) @ tangents` of a scalar function: `jvp(grad(fun), primals,
    tangents)[1]` (JAX's recipe), forward mode over the generated gradient, never forming H. Its
    generated code computes the product alone, not the gradient on the way. `backend` as grad's."""
    try:
        g = _GRADS.get(fun)
    except TypeError:                   # not weak-referenceable: no reuse
        g = None
    if g is None:
        g = grad(fun)
        try:
            _GRADS[fun] = g
        except TypeError:
            pass
    return _jvp(g, primals, tangents, backend, fast_jvp.HVP, value=False)[1]


_GRADS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # hvp: each function's grad, made once


def _jvp(fun: Callable, primals: tuple, tangents: tuple, backend: str, table, value: bool = True) -> tuple[Any, Any]:
    """jvp; `table`: where its fast way in keeps `fun`'s code (fast_jvp.py); `value=False`: (None, tangent)
    when `fun` is a transformation (its code's tangent alone)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(fun, primals, tangents): primals and tangents must be tuples")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    if backend == "auto":
        out = fast_jvp.call(table, fun, primals, tangents)
        if out is not fast_jvp.MISS:
            return out
    given = fun
    fun = as_function(fun)
    t = target(fun, tuple(primals))
    full = t.expand(tuple(primals), {})
    if backend != "auto":
        _unit(backend, ())
    value = value or t.select is None
    try:
        out = _jvp_one(t, full, tangents, user=t.select is None, backend=backend, value=value)
    except ContainerOutputError:
        if t.select is not None:
            raise
    else:
        if backend == "auto" and t.tail is not None and fast_jvp.plain(primals, tangents):
            _remember(table, given, t, len(primals), len(full), value)
        return out
    # a returned container: each leaf's tangent by its own code (`select`), in the output's structure
    td, _ = pytree.flatten(fun(*fresh(full)))
    pairs = [_jvp_one(dataclasses.replace(t, select=path), list(full), tangents, backend=backend)
             for path in pytree.paths(td)]
    return pytree.unflatten(td, [v for v, _ in pairs]), pytree.unflatten(td, [d for _, d in pairs])


def _remember(table, fun, t: Target, n: int, full: int, value: bool) -> None:
    """Let `fun`'s next calls with plain arguments (fast_jvp.py) go straight to the code this one ran."""
    tail = t.tail()
    if tail is None or full != n + len(tail):     # (plain arguments are NumPy's: its code, whatever is imported)
        return
    try:
        c = compiled_jvp(t.fn, tuple(range(n)), t.select, "numpy", value=value)
    except aliasing.NeedsArgKinds:
        return
    fresh = [c.fresh] + ([t.code.fresh] if t.code is not None else [])
    fast_jvp.remember(table, fun, n, c.fn, t.tail, fresh, list(c.free))


def _jvp_one(t, full: list, tangents, user: bool = True, backend: str = "auto", value: bool = True) -> tuple[Any, Any]:
    """jvp of target `t` (one output: `t.select` picks it) at the arguments `full`; `user`: t is a user's
    function, whose container arguments go leaf by leaf; `value=False`: the tangent alone (None, tangent)."""
    if user and any(pytree.is_container(a) for a in full):
        return _jvp_containers(t.fn, full, tangents, t.select, backend)
    wrt = tuple(i for i, x in enumerate(tangents) if x is not None)   # None: a constant (an index, a flag)
    for i in wrt:
        full[i] = as_float(full[i], complex_ok=True)
        if np.shape(tangents[i]) != np.shape(full[i]):
            raise ValueError(f"jvp: tangent {i} has shape {np.shape(tangents[i])}, its primal {np.shape(full[i])}")
        if is_complex(tangents[i]) and not is_complex(full[i]):
            raise DifferentiationError(f"jvp: tangent {i} is complex and its primal real: a real value varies "
                                       "along real directions (make the primal complex, or pass the tangent's "
                                       "real part)")
    tans = [as_float(tangents[i], complex_ok=is_complex(full[i])) for i in wrt]
    return jvp_call(t, full, wrt, tans, backend, complex_ok=True, value=value)


def vjp(fun: Callable, *primals, backend: str = "auto") -> tuple[Any, Callable]:
    """Reverse mode: `(fun(*primals), vjp_fun)`; `vjp_fun(cotangent)` returns one gradient per primal. A
    function that returns a container takes a cotangent of that structure. `backend` as grad's."""
    if hasattr(fun, "_as_target"):
        raise DifferentiationError("vjp of a transformed function (reverse over reverse) is not supported; "
                                   "use jvp or jacobian(..., mode='forward'), which run forward mode over it")
    fun = as_function(fun)
    _unit(backend, ())
    try:
        return _vjp_one(fun, primals, backend=backend)
    except ContainerOutputError:
        pass
    # a returned container: the cotangent of each leaf goes back through that leaf's own code (`select`)
    out = fun(*fresh(primals))
    td, leaves = pytree.flatten(out)
    parts = [_vjp_one(fun, primals, path, leaf, backend)[1] for path, leaf in zip(pytree.paths(td), leaves)]

    def vjp_fun(cotangent):
        ctd, cts = pytree.flatten(cotangent)
        if ctd != td:
            raise ValueError(f"vjp: the cotangent has the structure {pytree.spelled(ctd)}, the output "
                             f"{pytree.spelled(td)}")
        total = None
        for part, ct in zip(parts, cts):
            g = part(ct)
            total = g if total is None else pytree.add(total, g)
        return total

    return out, vjp_fun


def _vjp_one(fun: Callable, primals: tuple, select: tuple | None = None, out=None,
             backend: str = "auto") -> tuple[Any, Callable]:
    """vjp of `fun`'s output, or of the leaf `select` of the container it returns (`out`: that leaf,
    when the caller has it already)."""
    if any(pytree.is_container(p) for p in primals):
        return _vjp_containers(fun, primals, select, out, backend)
    nums = tuple(range(len(primals)))
    unit = _unit(backend, primals)
    args = [as_float(p, complex_ok=True) for p in primals]
    full = bind_all(fun)(tuple(args), {})
    if out is None:
        out = _output(fun, primals, select)
    if any(is_complex(v) for v in (*full, out)) and not complex_step.get():
        # complex values (JAX's convention): the code made for them, whose output may be complex
        names = list(inspect.signature(fun).parameters)
        c = grad_of(fun, nums, unit.name, full, select=select, complex_output=True,
                    complex_params=tuple(p for p, v in zip(names, full) if is_complex(v)))
    else:
        c = grad_of(fun, nums, unit.name, full, select=select)
    extra = [f.read() for f in c.free]
    if any(is_complex(v) for v in extra) and not complex_step.get():
        c = grad_of(fun, nums, unit.name, full, select=select, complex_output=True,
                    complex_params=complex_names(c, full, extra))
        extra = [f.read() for f in c.free]
    extra = unit.to_device(extra)

    def vjp_fun(cotangent):
        if np.shape(cotangent) != np.shape(out):
            raise ValueError(f"vjp: the cotangent has shape {np.shape(cotangent)}, the output {np.shape(out)}")
        if is_complex(cotangent) and not is_complex(out):
            raise DifferentiationError("vjp: the cotangent is complex and the output real (pass its real part)")
        _, grads = c.fn(*full, *extra, as_float(cotangent, complex_ok=True))
        return tuple(like(g, p) for g, p in zip(grads, primals))

    return out, vjp_fun


def _flat(fun: Callable, full: list, tangents) -> tuple[list, list, tuple, tuple, list, dict]:
    """(leaves of the arguments, leaves of their tangents, the indices of the differentiated leaves, the
    containers' (parameter, structure), each argument's leaf indices, each container's structure):
    containers go leaf by leaf. With `tangents` None, every argument is differentiated."""
    names = list(inspect.signature(fun).parameters)
    flat, spans, structures = pytree.flatten_arguments(full, lambda i, a: pytree.is_container(a))
    flat_t, wrt = [], []
    for i, span in enumerate(spans):
        tan = tangents[i] if tangents is not None and i < len(tangents) else None
        if tangents is not None and tan is None:
            continue
        t_leaves = [None] * len(span)
        if tan is not None:
            td, t_leaves = pytree.flatten(tan) if i in structures else (None, [tan])
            if i in structures and td != structures[i]:
                raise ValueError(f"tangent {i} has the structure {pytree.spelled(td)}, its "
                                 f"primal {pytree.spelled(structures[i])}")
        for k, tl in zip(span, t_leaves):
            if tl is not None and np.shape(tl) != np.shape(flat[k]):
                raise ValueError(f"a tangent of argument {i} has shape {np.shape(tl)}, its primal {np.shape(flat[k])}")
            wrt.append(k)
            if tl is not None:
                flat_t.append(as_float(tl))
    originals = list(flat)
    for k in wrt:
        flat[k] = as_float(flat[k])
    trees = tuple((names[i], td) for i, td in structures.items())
    return flat, flat_t, tuple(wrt), trees, originals, structures


def _jvp_containers(fun: Callable, full: list, tangents, select: tuple | None = None,
                    backend: str = "auto") -> tuple[Any, Any]:
    """jvp with container primals: tangents of the same structures, the code taking leaves; `select`:
    the leaf of a returned container differentiated."""
    flat, flat_t, wrt, trees, _, _ = _flat(fun, full, tangents)
    unit = _unit(backend, (*flat, *flat_t))
    c = compiled_jvp(fun, wrt, select, unit.name, trees=trees)
    extra = [f.read() for f in c.free]
    check_real((*flat, *extra))
    return c.fn(*unit.to_device(flat), *unit.to_device(flat_t), *unit.to_device(extra))


def _output(fun: Callable, primals: tuple, select: tuple | None):
    """`fun`'s output at `primals` (its leaf `select`, for a function that returns a container)."""
    out = fun(*fresh(primals))
    return out if select is None else pytree.pick(out, select)


def _vjp_containers(fun: Callable, primals: tuple, select: tuple | None = None, out=None,
                    backend: str = "auto") -> tuple[Any, Callable]:
    """vjp with container primals: one gradient per primal, in its structure (of the output's leaf
    `select` when it returns a container; `out`: that leaf, when the caller has it already)."""
    full = bind_all(fun)(tuple(primals), {})
    flat, _, nums, trees, originals, structures = _flat(fun, full, None)
    unit = _unit(backend, flat)
    c = grad_of(fun, nums, unit.name, trees=trees, select=select)
    extra = unit.to_device([f.read() for f in c.free])
    check_real((*flat, *extra))
    if out is None:
        out = _output(fun, primals, select)

    def vjp_fun(cotangent):
        if np.shape(cotangent) != np.shape(out):
            raise ValueError(f"vjp: the cotangent has shape {np.shape(cotangent)}, the output {np.shape(out)}")
        _, grads = c.fn(*flat, *extra, as_float(cotangent))
        grads = [like(g, x) for g, x in zip(grads, originals)]
        return tuple(pytree.regroup(grads, [structures.get(i) for i in range(len(primals))]))

    return out, vjp_fun


def _basis(shape, dtype, xp=np):
    n = int(np.prod(shape)) if shape else 1
    for k in range(n):
        e = xp.zeros(n, dtype=dtype)
        e[k] = 1.0
        yield e.reshape(shape) if shape else dtype.type(1.0) if hasattr(dtype, "type") else 1.0


def jacobian(fun: Callable, argnums: int = 0, *, mode: str = "auto", backend: str = "auto") -> Callable:
    """`jacobian(f)(*args)` has shape `out.shape + args[argnums].shape`.

    mode "forward" runs one tangent sweep per input element, "reverse" one cotangent sweep per output
    element, "auto" picks the fewer sweeps; the sweeps run together, batched. From the second call at
    arguments of the same kinds, a sparse forward-mode Jacobian is compressed: one direction per group
    of columns that share no row, plus a probe that checks the result (s2sad/api/sparsity.py).
    `backend` as grad's.
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    if not isinstance(argnums, int) or isinstance(argnums, bool):
        raise TypeError(f"jacobian: argnums must be an int, not {argnums!r}")
    fun = as_function(fun)
    if backend != "auto":
        _unit(backend, ())

    sweeps: dict[tuple, _Sweep] = {}          # arguments' kinds -> the one batched sweep that ran for them

    def jac(*args, **kwargs):
        key = None if kwargs or backend != "auto" else _kinds(args, argnums)
        if key is not None:
            sweep = sweeps.get(key)
            if sweep is not None and sweep.fresh():
                J = sweep(list(args))
                if J is not None:
                    return J
        t = target(fun, args, kwargs)
        full = t.expand(args, kwargs)
        i = argnums % len(args) if args else argnums
        if t.select is not None or hasattr(fun, "_as_target"):     # a transformation's code: one output
            if t.code is None or key is None:
                return _jacobian_at(fun, t, full, i, mode, args, kwargs, backend=backend)
            ran = []
            J = _jacobian_at(fun, t, full, i, mode, args, kwargs, backend=backend, ran=ran)
            if ran:                 # kept with the transformation's code, whose freshness it checks too
                sweeps[key] = dataclasses.replace(ran[0], codes=ran[0].codes + (t.code,), expand=t.expand)
            return J
        out = fun(*fresh(args), **kwargs) if mode == "auto" else None
        if out is None or not pytree.is_container(out):
            try:
                ran: list[_Sweep] = []
                J = _jacobian_at(fun, t, full, i, mode, args, kwargs, out=out, backend=backend, ran=ran)
                if key is not None and ran and len(full) == len(args):
                    sweeps[key] = ran[0]
                return J
            except ContainerOutputError:
                out = fun(*fresh(args), **kwargs)
        # a returned container: the Jacobian of each leaf, in the output's structure (JAX's jacobian)
        td, leaves = pytree.flatten(out)
        return pytree.unflatten(td, [_jacobian_at(fun, dataclasses.replace(t, select=path), list(full), i, mode,
                                                  args, kwargs, out=leaf, backend=backend)
                                     for path, leaf in zip(pytree.paths(td), leaves)])

    jac.__wrapped__ = fun
    jac._s2sad_derivative = "jacobian"
    jac.__name__ = f"jacobian_{getattr(fun, '__name__', 'f')}"
    return jac


def _kinds(args: tuple, argnums: int) -> tuple | None:
    """What a Jacobian's code and its sweep depend on in the arguments: each one's type, and an array's
    shape and dtype (None for arguments of other kinds, which take the full path each call)."""
    if complex_step.get():
        return None
    key: list = [argnums]
    for a in args:
        t = type(a)
        if t is np.ndarray:
            key.append((a.shape, a.dtype))
        elif t is float or t is int:
            key.append(t)
        else:
            return None
    return tuple(key)


@dataclasses.dataclass
class _Sweep:
    """The one batched sweep a Jacobian ran, kept for the next call at arguments of the same kinds
    (`_kinds`): it skips the target's look-up, the choice of mode and the batched code's look-up. It is
    used while the code it ran is fresh (no helper redefined, no global rebound, no rule registered)."""

    codes: tuple                     # the compiled functions it ran: the mode's code and its batched form
    batched: Callable
    i: int
    basis: Callable                  # a new batch of the identity directions (the code may write into it)
    free: tuple                      # the free variables the mode's code reads, before the directions
    oshape: tuple | None             # reverse mode: the output's shape the directions are for
    finish: Callable                 # the batched result -> the Jacobian
    xshape: tuple = ()
    dtype: Any = None
    expand: Callable | None = None   # a transformation's arguments -> its code's (grad's: then out_bar)
    rules: tuple = dataclasses.field(default_factory=lambda: (custom.fingerprint(), rules.fingerprint()))
    compressed: sparsity.Compression | None = None     # forward mode: the directions of a sparse Jacobian
    looked: bool = False             # whether the pattern was looked for (once, and again when a probe fails)
    widened: int = 0                 # how many times a probe disagreed (then the pattern grew)

    def fresh(self) -> bool:
        return self.rules[0] is custom.fingerprint() and self.rules[1] is rules.fingerprint() \
            and all(c.fresh() for c in self.codes)

    def __call__(self, full: list):
        """The Jacobian at `full`, or None when the output's shape changed (reverse mode's directions are
        the output's; its code returns the value too): the caller then takes the full path."""
        if self.expand is not None:
            full = self.expand(full, {})
        full[self.i] = as_float(full[self.i])
        extra = [f.read() for f in self.free] + [f.read() for f in self.codes[1].free]
        check_real((*full, *extra))
        if self.oshape is None:
            return self._forward(full, extra)
        try:
            value, rows = self.batched(*full, self.basis(), *extra)
        except Exception:                       # directions that no longer fit the output, perhaps
            return None
        return self.finish(rows) if np.shape(value) == self.oshape else None

    def _forward(self, full: list, extra: list):
        """Forward mode's Jacobian: compressed when its pattern is known (sparsity.py), else dense, and
        then the pattern is learnt (on the second call: a Jacobian taken once pays for no pattern)."""
        run = lambda directions: self.batched(*full, directions, *extra)     # noqa: E731
        c = self.compressed
        if c is not None:
            swept = np.asarray(run(c.seeds(self.xshape)))
            J = c.expand(swept.reshape(c.directions, -1))
            if J is not None:
                return J.reshape(swept.shape[1:] + self.xshape).astype(self.dtype, copy=False)
        J = self.finish(run(self.basis()))
        if (c is not None or not self.looked) and J.size:    # once, and again after a probe disagreed
            self.looked, self.compressed = True, None
            self.widened += c is not None
            if self.widened < 3:                  # (a pattern that keeps changing: dense from then on)
                mask = J.reshape(-1, int(np.prod(self.xshape))) != 0
                if c is not None:
                    mask |= c.mask
                if sparsity.worth_looking(mask):
                    found = sparsity.structure(run, self.xshape, self.dtype)
                    if found is not None and found.shape == mask.shape:
                        self.compressed = sparsity.plan(mask | found, self.dtype)
        return J


def _jacobian_at(fun: Callable, t, full: list, i: int, mode: str, args: tuple, kwargs: dict, out=None,
                 backend: str = "auto", ran: list | None = None):
    """The Jacobian of target `t`'s output (a user's function's, or the leaf `t.select` of the container
    it returns; `out`: that output when already computed) with respect to argument `i`. `ran`: where to
    put the batched sweep it ran, if one (for reuse by the next call)."""
    transformed = hasattr(fun, "_as_target")
    select = None if transformed else t.select      # a leaf of what the user's function returns
    if pytree.is_container(full[i]) and (t.select is None or not transformed):
        return _jacobian_container(fun, full, i, select)
    x = as_float(full[i])
    full[i] = x
    unit = _unit(backend, full)
    xp = unit.load()
    dtype = np.result_type(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype, np.float32)
    xshape = np.shape(x)
    use = mode
    if transformed:                         # a transformation: its code is differentiated again in forward mode only
        if mode == "reverse":
            raise DifferentiationError("jacobian(..., mode='reverse') of a transformed function is not "
                                       "supported; use mode='forward'")
        use = "forward"
    elif mode == "auto":                        # the fewer sweeps: inputs or outputs
        if out is None:
            out = fun(*fresh(args), **kwargs)
        use = "forward" if backends.size_of(x) <= backends.size_of(out) else "reverse"
    if use == "forward" and unit.name == "numpy" and backends.size_of(x) > 1:
        J = _vector_jvp(t, full, i, xshape, np.dtype(dtype), ran)
        if J is not None:
            return J
    if use == "forward":
        cols = []
        value = None
        for e in _basis(xshape, np.dtype(dtype), xp):
            tangent = e if xshape else 1.0
            value, d = jvp_call(t, list(full), (i,), [tangent], unit.name)
            cols.append(xp.asarray(d, dtype=dtype))
        oshape = np.shape(value)
        if not cols:
            return xp.zeros(oshape + xshape, dtype=dtype)
        J = xp.stack(cols, axis=-1)
        return J.reshape(oshape + xshape)
    c = grad_of(fun, i, unit.name, full, select=select)
    extra = [f.read() for f in c.free]
    check_real((*full, *extra))
    full, extra = unit.to_device(full), unit.to_device(extra)
    if out is None:
        out = fun(*fresh(args), **kwargs)
        if select is not None:
            out = pytree.pick(out, select)
    oshape = np.shape(out)
    if unit.name == "numpy" and backends.size_of(out) > 1 and not c.free:
        J = _vector_vjp(c, full, i, oshape, xshape, np.dtype(dtype), ran)
        if J is not None:
            return J
    rows = []
    for e in _basis(oshape, np.dtype(dtype), xp):
        _, g = c.fn(*full, *extra, e if oshape else 1.0)
        rows.append(xp.asarray(xp.broadcast_to(xp.asarray(g), xshape), dtype=dtype))
    if not rows:
        return xp.zeros(oshape + xshape, dtype=dtype)
    return xp.stack(rows).reshape(oshape + xshape)


def _directions(shape: tuple, dtype) -> Callable:
    """What makes the unit directions of arrays of `shape`, batched along a first axis: the identity."""
    n = int(np.prod(shape))
    if len(shape) == 1:
        return lambda: batched.identity(n, dtype)
    return lambda: np.eye(n, dtype=dtype).reshape((n,) + shape)


def _vector_jvp(t, full: list, i: int, xshape: tuple, dtype, ran: list | None = None):
    """Forward mode's Jacobian in one sweep: the tangent code batched over the identity directions
    (vmap of the generated JVP, the primal computed once), or None when that code has no batched form.
    `ran`: where to put the sweep, for reuse."""
    c = compiled_jvp(t.fn, (i,), t.select, "numpy", full)
    basis = _directions(xshape, dtype)
    args = list(full) + [basis()] + [f.read() for f in c.free]
    axes = [None] * len(full) + [0] + [None] * len(c.free)
    try:
        cb, cols = run_batched(c.fn, args, axes, select=(1,))
    except Exception:          # no batched form, or one that fails here: a sweep per direction, as before
        return None

    def finish(cols):                           # (n,) + out.shape: column k of the Jacobian first
        cols = np.asarray(cols)
        J = np.moveaxis(cols, 0, -1) if cols.ndim != 2 else cols.T
        return J.reshape(J.shape[:-1] + xshape).astype(dtype, copy=False)
    if ran is not None:
        ran.append(_Sweep((c, cb), cb.fn, i, basis, tuple(c.free), None, finish, xshape, dtype))
    return finish(cols)


def _vector_vjp(c, full: list, i: int, oshape: tuple, xshape: tuple, dtype, ran: list | None = None):
    """Reverse mode's Jacobian in one sweep: the gradient code batched over the output's unit cotangents
    (vmap of the generated gradient over out_bar: one forward sweep, one batched reverse sweep), or
    None when that code has no batched form. `ran`: where to put the sweep, for reuse."""
    m = int(np.prod(oshape))
    basis = _directions(oshape, dtype)
    args = list(full) + [basis()]
    axes = [None] * len(full) + [0]
    try:                       # the value once (its shape tells a reuse whether the directions still fit)
        cb, (value, rows) = run_batched(c.fn, args, axes, out_axes=(None, 0))
    except Exception:          # no batched form, or one that fails here: a sweep per cotangent, as before
        return None
    if np.shape(value) != oshape:
        return None

    def finish(rows):
        rows = np.asarray(rows, dtype=dtype)
        if rows.shape != (m,) + xshape:         # a gradient that does not depend on the input broadcasts
            rows = np.broadcast_to(rows, (m,) + xshape)
        return rows.reshape(oshape + xshape)
    if ran is not None:
        ran.append(_Sweep((c, cb), cb.fn, i, basis, (), oshape, finish))
    return finish(rows)


def _jacobian_container(fun: Callable, full: list, i: int, select: tuple | None = None):
    """The Jacobian with respect to a container argument, in its structure: for each leaf, an array of
    shape `out.shape + leaf.shape` (JAX's jacobian), one forward sweep per element of the container.
    `select`: the leaf of a returned container differentiated."""
    td, leaves = pytree.flatten(full[i])
    zeros = [np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in leaves]
    parts = []
    for k, leaf in enumerate(leaves):
        shape = np.shape(leaf)
        cols, value = [], None
        for e in _basis(shape, np.dtype(np.float64)):
            tangent = list(zeros)
            tangent[k] = e if shape else 1.0
            tangents = [None] * len(full)
            tangents[i] = pytree.unflatten(td, tangent)
            value, d = _jvp_containers(fun, list(full), tangents, select)
            cols.append(np.asarray(d, dtype=np.float64))
        if value is None:
            value = _output(fun, full, select)
        oshape = np.shape(value)
        J = np.stack(cols, axis=-1).reshape(oshape + shape) if cols else np.zeros(oshape + shape)
        parts.append(J if (J.ndim or not isinstance(leaf, float)) else float(J))
    return pytree.unflatten(td, parts)


def hessian(fun: Callable, argnums: int = 0, *, backend: str = "auto") -> Callable:
    """`hessian(f)(*args)`: forward mode over the generated reverse-mode gradient, shape `x.shape * 2`. With
    respect to a container (a params dict), JAX's nesting: `H[k1][k2]` of shape `leaf1.shape + leaf2.shape`.
    A sparse Hessian (a tridiagonal one) is compressed from the second call, as jacobian's is: a few
    directions instead of one per element, each result checked by a probe direction.
    `backend` as grad's: "numba" compiles the forward-mode file."""
    g = grad(fun, argnums=argnums)
    jac = jacobian(g, argnums=argnums, mode="forward", backend=backend)

    def hess(*args, **kwargs):
        if not kwargs and all(type(a) is np.ndarray or type(a) is float for a in args):
            return jac(*args)                  # (arrays and numbers: no container to look for)
        full = g._containers(args, kwargs) if isinstance(argnums, int) else None
        if full is None or not pytree.is_container(full[argnums % len(full)]):
            return jac(*args, **kwargs)
        return _hessian_container(g, full, argnums % len(full), backend)

    hess.__wrapped__ = fun
    hess._s2sad_derivative = "hessian"
    hess.__name__ = f"hessian_{getattr(fun, '__name__', 'f')}"
    return hess


def _hessian_container(g, full: list, i: int, backend: str = "auto"):
    """The Hessian with respect to the container argument `i`: forward mode over the gradient's generated
    code, which takes the container leaf by leaf and returns one gradient per leaf. Block (a, b) is the
    Jacobian of the gradient's leaf a with respect to leaf b."""
    c, flat, spans, structures, argnums, _ = g._leaf_code(full, "numpy")
    register_source(c)
    for k in argnums:
        flat[k] = as_float(flat[k])
    call = flat + [f.read() for f in c.free] + [1.0]          # then out_bar
    leaves = list(spans[i])
    rows = []
    for a in range(len(leaves)):
        t = Target(c.fn, lambda args, kwargs: list(call), (1, a), f"{g!r}, gradient leaf {a}")
        blocks = [_jacobian_at(g, t, list(call), b, "forward", (), {}, backend=backend) for b in leaves]
        rows.append(pytree.unflatten(structures[i], blocks))
    return pytree.unflatten(structures[i], rows)
