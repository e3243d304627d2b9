"""The transformations users call: grad, value_and_grad, stop_gradient.

This module composes the pipeline (compiler.py) and converts arguments and results; it holds no
compiler logic.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import backends, rules
from ..analysis import aliasing
from ..codegen import pipeline as compiler
from ..errors import DifferentiationError, NonScalarOutputError, user_stacklevel
from ..frontend import source as frontend
from ..ir import pytree
from ..runtime import stop_gradient
from . import entry, fast_grad, targets
from .library import as_function
from .convert import as_float, check_argnums, check_real, complex_step, fresh, like, ones_like, real_reads

__all__ = ["grad", "value_and_grad", "stop_gradient"]


def _backends() -> tuple[str, ...]:
    """What `backend=` may be: "auto" (the arguments' backend) or a registered backend's name."""
    return ("auto", *backends.names())


def check_backend(backend: str) -> None:
    """A ValueError naming what `backend=` may be, unless it is one of those."""
    if backend not in _backends():
        raise ValueError(f"backend must be one of {_backends()}, not {backend!r}")


_SMALL = 256        # leaves of an argument not differentiated that is still passed leaf by leaf
_LIVE: "weakref.WeakSet[_Transformed]" = weakref.WeakSet()      # every grad object alive


def _forget_all() -> None:
    """A rule was registered or changed: every grad object made before transforms again when next called."""
    for t in list(_LIVE):
        t._forget()


rules.table.on_change(_forget_all)


class _Transformed:
    """Common machinery of the callables returned by grad and value_and_grad."""

    _mode = "grad"

    def __init__(self, fun: Callable, argnums, has_aux: bool, backend: str):
        if not callable(fun):
            raise TypeError(f"{type(self).__name__.lower()} expects a function, not {fun!r}")
        fun = as_function(fun)          # np.sin: the one-line def that calls it
        check_backend(backend)
        why = backends.get(backend).missing() if backend != "auto" else ""
        if why:     # said now, raised at the first call; the backend's source can still be read (.source)
            warnings.warn(f"s2sad: {why}. Calling {getattr(fun, '__qualname__', fun)}'s gradient will "
                          f"raise DifferentiationError; its {backends.get(backend).title} source can still "
                          "be read (.source).", backends.BackendWarning, stacklevel=user_stacklevel())
        functools.update_wrapper(self, fun)
        self.__wrapped__ = fun
        self._nums = check_argnums(fun, argnums)
        self._argnums = argnums if isinstance(argnums, int) else self._nums
        self._single = isinstance(argnums, int)
        self._has_aux = has_aux
        self._backend = backend
        self._compiled: dict = {}
        self._needs_kinds: set[str] = set()   # backends whose code depends on the arguments' kinds
        self._fast = None          # (generated function, arity, float argument's index): see _fast_call
        self._plain: fast_grad.Plain | None = None      # for float arrays and numbers: see _fast_call
        self._signature = None
        self._inner = fun if isinstance(fun, _Transformed) else None
        _LIVE.add(self)
        if self._inner is not None and has_aux:
            raise ValueError("has_aux=True is not supported on an already transformed function")

    def __repr__(self) -> str:
        return f"<s2sad.{self._mode} of {getattr(self.__wrapped__, '__qualname__', self.__wrapped__)}>"

    def _repr_markdown_(self) -> str:
        """In Jupyter: the generated source, highlighted (or why there is none yet)."""
        try:
            text = self.source
        except DifferentiationError as exc:
            return f"`{self!r}`: {exc}"
        return f"`{self!r}`\n\n```python\n{text.rstrip()}\n```"

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def _as_target(self, args=(), kwargs=None) -> "targets.Target":
        """This transformation's generated code, as something to differentiate again (at `args`: the
        code may depend on their kinds, see aliasing.py)."""
        if self._inner is not None and self._single:
            # a higher-order derivative: its code is the JVP of the inner transformation's code
            inner = self._inner._as_target(args, kwargs)
            i = self._nums[0]
            c = targets.compiled_jvp(inner.fn, (i,), inner.select)
            targets.register_source(c)

            inner_wrt = self._inner._nums[0]

            def expand(args, kwargs):
                full = inner.expand(args, kwargs)
                if backends.size_of(full[inner_wrt]) != 1:      # the inner gradient is not a scalar
                    raise NonScalarOutputError(
                        f"{self._inner!r} returns an array of shape {np.shape(full[inner_wrt])}, but grad needs "
                        "a scalar output; use s2sad.jacobian or s2sad.hessian of the function itself")
                full[i] = as_float(full[i])
                return full + [ones_like(full[i])] + [f.read() for f in c.free]

            return targets.Target(c.fn, expand, (1,), str(self))
        if self._inner is not None or not self._single:
            raise DifferentiationError(
                "differentiating this transformation again is supported for grad/value_and_grad of one "
                "argument (argnums an int); use jacobian or hessian for several arguments")
        c = self._general("numpy")
        general = c is not None
        if c is None:
            c = self._for_kinds("numpy", self._bind(args, kwargs or {}, 0))
        targets.register_source(c)
        select = (1,)

        def expand(a, k):
            # differentiated again, the gradient's code must still be of a scalar output, as grad checks:
            # else forward mode over it would differentiate the sum of the outputs, silently
            code, full, _ = self._prepare(a, k, "numpy")
            self._scalar_at(code, full, a, k)
            return full + [1.0]

        tail = None
        if general and not c.facts.indexed and not c.facts.value and c.facts.scalar_if is None:
            # the same code for any float arguments, and a scalar output whatever they are

            def tail():
                free = real_reads(c.free)
                return None if free is None else free + [1.0]

        return targets.Target(c.fn, expand, select, str(self), c, tail)

    def _scalar_at(self, c: compiler.Compiled, full: list, args, kwargs) -> None:
        """NonScalarOutputError unless the output is a scalar at the user's `args`, `kwargs` (`full`: the
        arguments of the gradient's code `c`): known from c's facts, or else from the value the gradient's
        code for those arrays' backend computes."""
        if c.facts.value:                    # the output may be an array: its value says
            kwargs = kwargs or {}
            tree = self._containers(args, kwargs)
            if tree is not None:
                code, run = self._leaf_run(tree)
            else:
                code, run, _ = self._prepare(args, kwargs, backends.of((*args, *kwargs.values())).name)
            self._check_scalar(code, code.fn(*run)[0], run)
        elif c.facts.scalar_if is not None:  # the output has this parameter's shape
            self._check_scalar(c, None, full)

    def _batch_target(self, args, kwargs, example) -> "targets.BatchTarget":
        """This gradient's generated code as vmap batches it (api/vmap.py): per-example gradients. The code
        is the one for `example` (one example's arguments); it is called with the batch `args`."""
        if self._inner is not None or self._has_aux:
            raise DifferentiationError("vmap of a higher-order transformation or of grad(..., has_aux=True) is "
                                       "not supported yet; vmap a function that calls grad instead")
        select = (1,) if isinstance(self, GradFunction) else None
        full = self._containers(args, kwargs)
        if full is not None:
            # each example's output a scalar, as grad checks it (checked on one example)
            self._scalar_at(*self._leaf_run(self._containers(example, kwargs), "numpy"), example, kwargs)
            c, flat, spans, structures, argnums, _ = self._leaf_code(full, "numpy")
            flat = _leaf_args(c, flat, argnums) + [1.0]        # then out_bar
            groups = [structures.get(i) for i in self._nums]

            def finish(out):
                grads = out if select else out[1]
                parts = pytree.regroup(list(grads), groups)
                grads = parts[0] if self._single else tuple(parts)
                return grads if select else (out[0], grads)

            return targets.BatchTarget(c.fn, flat, spans, structures, select, finish)
        c, one, _ = self._prepare(example, kwargs, "numpy")
        self._scalar_at(c, one, example, kwargs)     # each example's output a scalar, as grad checks it
        full = self._bind(args, kwargs, 0) if kwargs or len(args) != len(c.params) else list(args)
        for i in self._nums:
            full[i] = as_float(full[i])
        full = full + one[len(c.params):] + [1.0]             # its free values, then out_bar
        spans = [range(k, k + 1) for k in range(len(c.params))]
        return targets.BatchTarget(c.fn, full, spans, {}, select, lambda out: out)

    def _run_higher(self, args, kwargs):
        """grad of a transformed function: forward mode over its generated code, one sweep per argument."""
        target = self._inner._as_target(args, kwargs)
        full = target.expand(args, kwargs)
        grads = []
        value = None
        for i in self._nums:
            x = as_float(full[i])
            full[i] = x
            value, d = targets.jvp_call(target, full, (i,), [ones_like(x)])
            grads.append(d)
        out = value
        if type(out) is not float and backends.size_of(out) != 1:
            raise NonScalarOutputError(
                f"{self._inner!r} returns an array of shape {np.shape(out)}, but grad needs a scalar output; "
                "use s2sad.jacobian or s2sad.hessian")
        originals = [args[i] if i < len(args) else full[i] for i in self._nums]
        if self._single:
            return value, like(grads[0], originals[0])
        return value, tuple(like(g, x) for g, x in zip(grads, originals))

    def _compile(self, backend: str, vectors: tuple[str, ...] = (), kinds=None, trees: tuple = (),
                 argnums=None, complex_params: tuple[str, ...] = ()) -> compiler.Compiled:
        """The generated gradient for `backend` (with `vectors`: the variant for those 1-D parameters; with
        `kinds`: the variant for arguments of those kinds). Raises aliasing.NeedsArgKinds when the
        function writes in place into what an argument may share, and `kinds` is not given."""
        if self._inner is not None:
            # grad of a transformation: its code is the JVP of the inner generated code (first argument's)
            inner = self._inner._as_target()
            return targets.compiled_jvp(inner.fn, (self._nums[0],), inner.select)
        key = (backend, "trees", trees) if trees else (backend, kinds) if kinds is not None \
            else (backend, vectors) if vectors else (backend, "complex", complex_params) if complex_params \
            else backend
        c = self._compiled.get(key)
        if c is None:
            backends.get(backend).require()
            c = compiler.compile_grad(self.__wrapped__, self._argnums if argnums is None else argnums,
                                      self._has_aux, backend, value=self._mode != "grad", vectors=vectors,
                                      kinds=kinds, trees=trees, complex_params=complex_params)
            fn = frontend.unwrap(self.__wrapped__)
            if c.free and hasattr(fn, "__code__"):   # the cache is shared by closures of the same code
                c = dataclasses.replace(c, free=[f.rebind(fn) for f in c.free])
            if not c.active_output and not vectors:  # (said once, for the general code)
                warnings.warn(f"s2sad: the output of {self.__wrapped__.__qualname__} does not depend on the "
                              "differentiated argument(s); the gradient is zero", stacklevel=user_stacklevel())
            self._compiled[key] = c
        return c

    @property
    def source(self) -> str:
        """The generated Python source (NumPy backend unless only another one was used). For a backend
        that cannot run here (backend="cupy" without CuPy), its source is generated (not loaded) so it
        can still be read."""
        backend = self._default_backend()
        if backend not in self._compiled and self._inner is None and backends.get(backend).missing():
            return self._unloaded_source(backend)
        return self._shown(backend).source

    def _shown(self, backend: str) -> compiler.Compiled:
        """The code .source and .path show: the general one, else the last one made for some arguments'
        kinds (a function that writes in place into what an argument may share; any function on a
        backend by kinds, numba's)."""
        made = [c for k, c in self._compiled.items() if isinstance(k, tuple) and k[:2] == (backend, "trees")]
        if made:                     # called with containers: that code (the general one takes none)
            return made[-1]
        made = self._made_for_kinds(backend) if backends.get(backend).by_kinds else []
        if made:                     # (numba) the last code made for a call's kinds
            return made[-1]
        try:
            return self._compile(backend)
        except aliasing.NeedsArgKinds:
            made = [c for k, c in self._compiled.items() if isinstance(k, tuple) and k[0] == backend]
            if made:
                return made[-1]
            raise

    def _made_for_kinds(self, backend: str) -> list:
        """The code made for the kinds of some call's arguments on `backend`, oldest first."""
        return [c for k, c in self._compiled.items() if isinstance(k, tuple) and len(k) == 2 and k[0] == backend
                and isinstance(k[1], aliasing.ArgKinds)]

    def _unloaded_source(self, backend: str) -> str:
        """The text of the file this gradient runs for `backend`, generated but neither written nor
        loaded (so that the CuPy file can be read on a machine without CuPy). First order only."""
        return compiler.grad_source(self.__wrapped__, self._argnums, self._has_aux, backend,
                                    value=self._mode != "grad")

    @property
    def path(self) -> Path | None:
        """The generated file, or None when it could not be written."""
        return self._shown(self._default_backend()).path

    def _default_backend(self) -> str:
        if self._backend != "auto":
            return self._backend
        return next((k if isinstance(k, str) else k[0] for k in self._compiled), "numpy")

    def _bind(self, args, kwargs, nparams):
        if self._signature is None:
            self._signature = inspect.signature(self.__wrapped__)
        ba = self._signature.bind(*args, **kwargs)
        ba.apply_defaults()
        return list(ba.arguments.values())

    def _prepare(self, args, kwargs, backend: str | None = None):
        """(compiled, full argument list of the generated function, the differentiated originals)."""
        if backend is None:
            backend = self._backend
            if backend == "auto":
                backend = backends.of((*args, *kwargs.values()) if kwargs else args).name
        c = self._general(backend)
        if c is None or kwargs or len(args) != len(c.params):
            args = self._bind(args, kwargs, 0)
        else:
            args = list(args)
        if c is None:                 # the code depends on the arguments' kinds
            c = self._for_kinds(backend, args)
        params = c.params
        unit = backends.get(backend)
        if unit.needs_device:                         # NumPy arrays among the arguments: copied to the GPU
            args = unit.to_device(args)
        originals = [args[i] for i in self._nums]
        free = [f.read() for f in c.free]
        # (the complex step runs the real code)
        complex_params = () if complex_step.get() else targets.complex_names(c, args, free)
        if complex_params:             # the code made for those complex values (JAX's convention)
            c = self._compile(backend, complex_params=complex_params)
            free = [f.read() for f in c.free]
        for i in self._nums:
            args[i] = as_float(args[i], complex_ok=bool(complex_params))
        indexed = c.facts.indexed
        if indexed and backend == "numpy" and not self._needs_kinds and not complex_params:
            # parameters read element by element (x[i]) that are 1-D here: the variant whose code knows
            # their elements are scalars
            vectors = tuple(p for p in indexed if type(args[params.index(p)]) is np.ndarray
                            and args[params.index(p)].ndim == 1)
            if vectors:
                c = self._compiled.get((backend, vectors)) or self._compile(backend, vectors)
        args.extend(free)
        if unit.needs_device and c.free:
            args[len(params):] = unit.to_device(args[len(params):])
        return c, args, originals

    def _general(self, backend: str) -> compiler.Compiled | None:
        """The generated gradient for arguments of any kind, or None when the code depends on their
        kinds (see aliasing.py). Transformed again when a name it resolved now means something else."""
        c = self._compiled.get(backend)
        if c is not None and not c.fresh():      # a helper redefined, a global rebound: transform again
            self._forget()
            c = None
        if c is None and backends.get(backend).by_kinds:
            self._needs_kinds.add(backend)         # (numba: a file for each kind of call)
        if c is None and backend not in self._needs_kinds:
            try:
                c = self._compile(backend)
            except aliasing.NeedsArgKinds:
                self._needs_kinds.add(backend)
        return c

    def _for_kinds(self, backend: str, args: list) -> compiler.Compiled:
        """The generated gradient for arguments of the kinds of `args` (numbers, 1-D arrays); a refusal
        when the in-place write it has is seen through shared memory even so."""
        kinds = compiler.arg_kinds(self.__wrapped__, args)
        c = self._compiled.get((backend, kinds))
        if c is not None and not c.fresh():
            self._forget()
            c = None
        return c if c is not None else self._compile(backend, kinds=kinds)

    def _forget(self) -> None:
        """Drop what was compiled (the names it resolved now refer to other functions or modules)."""
        self._compiled.clear()
        self._needs_kinds.clear()
        self._fast = None
        self._plain = None
        if getattr(type(self), "_s2sad_entry", False):
            self.__class__ = type(self).__mro__[1]      # the fast entry was built from the old code
        if isinstance(self, GradFunction):
            self._pending = None

    def _fast_call(self, args, kwargs):
        """(value, gradient) straight from the generated function when its Python-float argument comes
        in again (see _run), or None: take the full path."""
        fast = self._fast
        if fast is not None and not kwargs and len(args) == fast[1] and type(args[fast[2]]) is float \
                and backends.host_only() and fast[3]():
            value, grads = fast[0](*args)
            if type(grads) is float and (value is None or type(value) is float):
                return value, grads
        plain = self._plain
        if plain is not None and not kwargs:      # (its kinds are NumPy's and Python's alone)
            try:
                found = plain(args)
            except Exception:           # the full path runs it again, and says what is wrong
                found = None
            if found is not None:
                value, grads = found
                self._check_scalar(plain.c, value, args)
                self._plain_taken(plain)
                return value, self._as_given(grads, [args[i] for i in self._nums])
        return None

    def _as_given(self, grads, originals: list):
        """The gradients in their arguments' types (`originals`): one, or a tuple of them."""
        if self._single:
            return like(grads, originals[0])
        return tuple(like(g, x) for g, x in zip(grads, originals))

    def _enter_fast(self, c: compiler.Compiled, i: int) -> None:
        """grad only: calls go straight into an entry built from the generated body (see entry.py)."""

    def _plain_taken(self, plain: fast_grad.Plain) -> None:
        """grad only: a call took the fast way for arrays (see GradFunction)."""

    def _check_scalar(self, c: compiler.Compiled, value, args: list) -> None:
        """NonScalarOutputError unless the output (value, or its first element with has_aux) is a scalar."""
        out = value[0] if self._has_aux else value
        shaped_like = c.facts.scalar_if   # value not computed: the output has this parameter's shape
        if out is None and shaped_like is not None:
            out = args[c.params.index(shaped_like)]
        if out is not None and type(out) is not float and backends.size_of(out) != 1:   # None: a scalar, not computed
            self._non_scalar(out)

    def _non_scalar(self, out) -> None:
        """Raise NonScalarOutputError for the output `out`, naming the user's function."""
        src = self.__wrapped__
        code = getattr(src, "__code__", None)
        where = f"{code.co_filename}:{code.co_firstlineno}: " if code else ""
        raise NonScalarOutputError(
            f"{where}{src.__qualname__} returned an array of shape {np.shape(out)}, but grad needs a "
            "scalar output. Reduce it (e.g. `.sum()`), or use s2sad.jacobian, or s2sad.vjp with a "
            "cotangent, for non-scalar outputs.") from None

    def _refuse_array_output(self, args, kwargs) -> None:
        """NonScalarOutputError if the user's function, run on copies of `args`, returns an array of more
        than one element (with has_aux: the first of its results); else nothing."""
        try:
            out = self.__wrapped__(*fresh(args), **kwargs)
        except Exception:
            return
        out = out[0] if self._has_aux and isinstance(out, tuple) else out
        if not isinstance(out, (float, int, complex)) and hasattr(out, "shape") and backends.size_of(out) != 1:
            self._non_scalar(out)

    def _containers(self, args, kwargs) -> list | None:
        """The full argument list when an argument is a container (tuple, list, dict), else None."""
        if kwargs:
            full = self._bind(args, kwargs, 0)
        elif any(pytree.is_container(a) for a in args):
            full = self._bind(args, {}, 0)
        else:
            return None
        return full if any(self._flattened(i, a) for i, a in enumerate(full)) else None

    def _flattened(self, i: int, a) -> bool:
        """Whether argument i goes leaf by leaf: a differentiated container, or a small other one (whose
        items the code may then read, loop over and count, as a constant's)."""
        return pytree.is_container(a) and (i in self._nums or pytree.count(pytree.flatten(a)[0]) <= _SMALL)

    def _leaf_code(self, full: list, backend: str | None = None):
        """(the generated code taking the containers among `full` leaf by leaf, the leaves, each argument's
        positions among them, the containers' structures, the differentiated leaves, the backend); the
        code is made again when a name it resolved now means something else."""
        names = list(self._signature.parameters)
        flat, spans, structures = pytree.flatten_arguments(full, self._flattened)
        trees = [(names[i], td) for i, td in structures.items()]
        if backend is None:
            backend = self._backend if self._backend != "auto" else backends.of(flat).name
        argnums = tuple(k for i in self._nums for k in spans[i])
        c = self._compiled.get((backend, "trees", tuple(trees)))
        if c is not None and not c.fresh():
            self._forget()
            c = None
        if c is None:
            try:
                c = self._compile(backend, trees=tuple(trees), argnums=argnums)
            except aliasing.NeedsArgKinds:
                raise DifferentiationError(
                    f"{self.__wrapped__.__qualname__} writes in place into a value it may share with an argument, "
                    "and takes a container argument: s2sad handles one or the other so far; write into a copy "
                    "(`x = x.copy()`) first") from None
        return c, flat, spans, structures, argnums, backend

    def _leaf_run(self, full: list, backend: str | None = None) -> tuple:
        """(the code taking the containers among `full` leaf by leaf, what to call it with: the leaves, the
        differentiated ones as floats, then the free values)."""
        c, flat, _, _, argnums, _ = self._leaf_code(full, backend)
        return c, _leaf_args(c, flat, argnums)

    def _run_trees(self, full: list):
        """grad with containers among the differentiated arguments: the generated code takes their leaves
        (ir/pytree.py), and each gradient comes back in its argument's structure."""
        c, flat, _, structures, argnums, backend = self._leaf_code(full)
        unit = backends.get(backend)
        if unit.needs_device:
            flat = unit.to_device(flat)
        originals = list(flat)
        for k in argnums:
            flat[k] = as_float(flat[k])
        for f in c.free:
            flat.append(f.read())
        check_real(flat)
        if unit.needs_device and c.free:
            flat[len(c.params):] = unit.to_device(flat[len(c.params):])
        value, grads = c.fn(*flat)
        self._check_scalar(c, value, flat)
        grads = [like(g, originals[k]) for g, k in zip(grads, argnums)]
        out = pytree.regroup(grads, [structures.get(i) for i in self._nums])
        return value, out[0] if self._single else tuple(out)

    def _run(self, args, kwargs):
        if self._inner is not None:
            return self._run_higher(args, kwargs)
        full = self._containers(args, kwargs)
        if full is not None:
            return self._run_trees(full)
        given = (args, kwargs)
        c, args, originals = self._prepare(args, kwargs)
        plain = None
        host = self._backend if self._backend in ("numpy", "numba") else "numpy"     # NumPy arrays in
        by_kinds = backends.get(host).by_kinds
        # (c is the code for any arguments of the kinds `plain` checks: the general code, or on a backend
        # by kinds the code _prepare chose for these arguments' kinds, not a complex or vector variant)
        general = c is self._compiled.get(host) or by_kinds and any(c is m for m in self._made_for_kinds(host))
        if not kwargs and not self._has_aux and len(given[0]) == len(c.params) \
                and (not self._needs_kinds or by_kinds) and not (c.facts.indexed and host == "numpy") \
                and self._backend in ("auto", host) and backends.of(given[0]).name == "numpy" and general:
            plain = fast_grad.kinds(given[0], self._nums)     # (the code for any arguments of these kinds)
        try:
            value, grads = c.fn(*args)
        except Exception:
            # a vector output seeded with the scalar 1.0 can fail inside the generated code (a seed indexed
            # like the output): say what is wrong, not where the code tripped over it
            self._refuse_array_output(*given)
            raise
        self._check_scalar(c, value, args)
        out = value[0] if self._has_aux else value
        if self._single:
            i = self._nums[0]
            if isinstance(grads, float) and (out is None or isinstance(out, float)) and not self._needs_kinds \
                    and type(originals[0]) is float and not c.free and not self._has_aux and not kwargs \
                    and c.facts.scalar_if in (None, c.params[i]):
                # a Python float in, a float out: next time skip the conversions (other arguments pass as
                # they are, as they do here)
                if type(grads) is float and (out is None or type(out) is float):
                    self._fast = (c.fn, len(c.params), i, c.fresh)
                self._enter_fast(c, i)
        grads = self._as_given(grads, originals)
        if plain is not None:
            self._plain = fast_grad.Plain(c, plain)
        return value, grads


def _leaf_args(c: compiler.Compiled, flat: list, argnums) -> list:
    """The leaves `flat` as generated code `c` takes them: the differentiated ones (`argnums`) as floats,
    then c's free values."""
    for k in argnums:
        flat[k] = as_float(flat[k])
    return flat + [f.read() for f in c.free]


class GradFunction(_Transformed):
    """`grad(f)`: calling it returns the gradient (and aux with has_aux=True)."""

    _pending = None            # (compiled, index) of an entry to build on the next float call; () after
    #                            a first call by the fast way for arrays (numba); False: built or not to be

    def _enter_fast(self, c: compiler.Compiled, i: int) -> None:
        # the first such call only notes it (building costs a few ms, which a function called once
        # should not pay); the next one builds the entry
        if self._pending is None:
            self._pending = (c, i)
        elif self._pending:
            self._build_entry(*self._pending)

    def _build_entry(self, c: compiler.Compiled, i: int) -> None:
        self._pending = False
        if self._backend != "auto" and backends.get(self._backend).decorator:
            # compiled code (numba): straight in, no interpreted copy of its body
            self._install(c, lambda slow: entry.compiled_entry(c.fn, c.params, i, slow, c.binds))
        else:
            self._install(c, lambda slow: entry.float_entry(c.fn, c.source, i, slow, c.binds))

    def _install(self, c: compiler.Compiled, build: Callable) -> None:
        """Calls go to the entry `build(slow)` makes (entry.py; `slow`: the full path) for the generated
        code `c`, with the user function's defaults; unless the user function's parameters are not c's
        plain ones, or the entry cannot be built (then the full path is all there is)."""
        user = frontend.unwrap(self.__wrapped__)
        code = getattr(user, "__code__", None)
        if type(self).__call__ is not GradFunction.__call__ or code is None \
                or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount \
                or list(code.co_varnames[:code.co_argcount]) != c.params:
            return
        try:
            fast = build(functools.partial(GradFunction.__call__, self))
        except Exception:           # no faster way in; the full path still works
            fast = None
        if fast is not None:
            fast.__defaults__ = user.__defaults__
            # Python calls an object through its type: a subclass of one instance's own
            cls = type(self)
            self.__class__ = type(cls.__name__, (cls,), {"__call__": staticmethod(fast), "__slots__": (),
                                                        "__module__": cls.__module__, "_s2sad_entry": True,
                                                        "__qualname__": cls.__qualname__})

    def _plain_taken(self, plain: fast_grad.Plain) -> None:
        # compiled code made for the arguments' kinds (numba): from the second such call on, an entry
        # that checks those kinds and calls it (the fast way's checks and conversions, a few microseconds,
        # are most of a small call)
        if self._pending is False or self._backend == "auto" or not backends.get(self._backend).by_kinds:
            return
        if self._pending is None:
            self._pending = ()
            return
        self._pending = False
        c = plain.c
        if not self._has_aux and not c.free:
            self._install(c, lambda slow: entry.kinds_entry(c.fn, c.params, plain.kinds, self._nums, self._single,
                                                            c.facts.scalar_if, slow, c.binds))

    def __call__(self, *args, **kwargs):
        hit = self._fast_call(args, kwargs)
        if hit is not None:
            if self._pending:
                self._build_entry(*self._pending)
            return hit[1]
        value, grads = self._run(args, kwargs)
        if self._has_aux:
            return grads, value[1]
        return grads

    def __str__(self) -> str:
        return f"grad({getattr(self.__wrapped__, '__qualname__', self.__wrapped__)})"


class ValueAndGradFunction(_Transformed):
    """`value_and_grad(f)`: calling it returns (value, gradient) or ((value, aux), gradient)."""

    _mode = "value_and_grad"

    def __call__(self, *args, **kwargs):
        return self._fast_call(args, kwargs) or self._run(args, kwargs)


def grad(fun: Callable | None = None, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
         backend: str = "auto") -> Any:
    """Gradient of a scalar-valued function, by source transformation (reverse mode).

    Use as `grad(f)`, `@grad` or `@grad(argnums=(0, 1))`. The returned callable takes the same
    arguments as `f` and returns the gradient with respect to argument `argnums` (a tuple of
    gradients for a tuple), or `(gradient, aux)` with `has_aux=True`. `.source` and `.path` give
    the generated code. `backend`: "auto" (the arguments' arrays decide: CuPy or dask arrays get a file
    of their own), or one of `s2sad.backends.names()` ("numpy", "cupy", "dask").
    """
    if fun is None:
        return lambda f: GradFunction(f, argnums, has_aux, backend)
    return GradFunction(fun, argnums, has_aux, backend)


def value_and_grad(fun: Callable | None = None, argnums: int | tuple[int, ...] = 0, *,
                   has_aux: bool = False, backend: str = "auto") -> Any:
    """Like `grad`, but the callable returns `(value, gradient)` (`((value, aux), gradient)` with has_aux)."""
    if fun is None:
        return lambda f: ValueAndGradFunction(f, argnums, has_aux, backend)
    return ValueAndGradFunction(fun, argnums, has_aux, backend)
