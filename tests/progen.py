"""Random programs written the way people write NumPy code, for differential tests of s2sad.

`generate(seed)` returns a `Program`: the source of a module (helpers and a function `f`) and the
arguments to call `f` with. Programs are drawn from what users write, not from what the compiler is
known to handle:

- helpers that rebind their parameters (`a = a * b`), call other helpers, return early, and are called
  with repeated arguments (`h(x, x)`) or with their result bound to a parameter's name (`x = h(x, w)`);
- self-assignment and augmented assignment on parameters and locals (`x = x * w`, `s += ...`,
  `t1 = t0; t1 *= ...` on Python floats);
- 2-D arrays filled row by row, column by column and element by element (`H[i] = ...`, `H[:, j] = ...`,
  `Y[0] *= 2`), RNN-style loops that write each step's state into a matrix;
- `if`/`elif`/`else` on data, `for` over `range`, `while` with a data-dependent test and a counter,
  `break`/`continue`, early `return`;
- reductions (with and without `axis`), `@`, indexing and slicing, `np.where`/`maximum`/`clip`/`sort`,
  `math.*` on floats, methods (`.sum()`, `.T`, `.mean(axis=0)`);
- with `containers=True`: tuples, lists and dicts of values read by constant index or key and written
  item by item, loops and comprehensions over them, `a, b = b, a`-style swaps, and helpers that return
  two values unpacked into new names or into the arguments' own names (`x, y = pair0(x, y)`). (A
  separate dialect, so that the seeds of earlier runs still make the same programs.)
- with `complex_=True` (a dialect of its own too): complex intermediates that come back real, as people
  write them: `np.exp(1j * a)`, `.real`/`.imag`, `np.conj`, `abs` and `np.angle` of complex values, and
  the FFT family (`np.fft.fft` and its inverse, `rfft`/`irfft`, `fft2`, `fftshift`) inside any
  expression, loop, branch or helper.

Every variable is a Python float ("s"), a vector of length n ("v") or an n x n matrix ("m"). Values stay
bounded: each expression's magnitude bound is tracked, and operations that could overflow are only
drawn on small operands. Whatever still misbehaves (a NaN, an overflow) is found when the program runs
and the program is discarded, not counted.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

import numpy as np

CAP = 30.0          # no expression's bound may exceed this


@dataclass
class Var:
    kind: str           # "s", "v", "m"
    bound: float
    fresh: bool = True  # owns its memory (a safe target of an in-place update or an element write)
    param: bool = False


@dataclass
class Program:
    seed: int
    source: str
    args: tuple
    diff: tuple                     # argnums of the differentiated arguments
    features: set = field(default_factory=set)


class _Gen:
    def __init__(self, seed: int, check_kinds: bool = False, containers: int = 0, complex_: bool = False):
        self.check_kinds = check_kinds
        self.containers = containers
        self.complex_ = complex_
        self.pairs: list[tuple[str, list[str], list[str]]] = []     # (name, param kinds, result kinds)
        self.r = random.Random(seed)
        self.seed = seed
        self.n = self.r.choice([2, 3, 4])
        self.lines: list[str] = []
        self.helpers: list[str] = []
        self.helper_sigs: list[tuple[str, list[str], str]] = []   # (name, param kinds, result kind)
        self.count = 0
        self.features: set[str] = set()

    # --- choices ---------------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(list(seq))

    def fresh_name(self, prefix="v"):
        self.count += 1
        return f"{prefix}{self.count}"

    # --- expressions -----------------------------------------------------------------------------
    def operand(self, scope: dict[str, Var], kinds: str, depth: int):
        """(text, kind, bound) of an operand of one of `kinds`: a variable, a constant or a smaller
        expression."""
        names = [k for k, v in scope.items() if v.kind in kinds]
        if depth <= 0 or (names and self.chance(0.55)):
            if names:
                name = self.pick(names)
                return name, scope[name].kind, scope[name].bound
            text, kind, bound = self.leaf(self.pick(kinds), scope)
        else:
            text, kind, bound = self.expr(scope, self.pick(kinds), depth - 1)
        return (text if text.isidentifier() else f"({text})"), kind, bound

    def leaf(self, kind: str, scope: dict | None = None):
        """A constant of `kind`, or (with `scope`) a value of `kind` made from a variable of another kind."""
        if kind == "s":
            c = round(self.r.uniform(-2, 2), 2)
            return (f"({c})" if c < 0 else str(c)), "s", abs(c)
        scope = scope or {}
        s = [k for k, v in scope.items() if v.kind == "s" and v.bound <= 3]
        vs = [k for k, v in scope.items() if v.kind == "v" and v.bound <= 3]
        if kind == "v":
            if s and self.chance(0.7):
                return f"{self.pick(s)} * np.linspace(-0.9, 1.1, {self.n})", "v", 3.0
            return f"np.linspace(-0.9, 1.1, {self.n})", "v", 1.1
        if vs and self.chance(0.7):
            v = self.pick(vs)
            return f"np.outer({v}, np.cos({v}))", "m", 3.0
        if s and self.chance(0.7):
            return f"{self.pick(s)} * np.eye({self.n})", "m", 3.0
        return f"np.eye({self.n})", "m", 1.0

    def expr(self, scope: dict[str, Var], kind: str, depth: int = 2):
        """(text, kind, bound) of a random expression of `kind`."""
        for _ in range(8):
            got = self._expr(scope, kind, depth)
            if got is not None and got[2] <= CAP:
                return got
        names = [k for k, v in scope.items() if v.kind == kind]
        if names:
            name = self.pick(names)
            return f"np.tanh({name})", kind, 1.0
        return self.leaf(kind, scope)

    def _expr(self, scope, kind, depth):
        form = self.r.random()
        if kind == "s" and form < 0.3:
            return self.reduction(scope, depth)
        if kind == "s" and form < 0.4:
            return self.scalar_special(scope, depth)
        if kind in "vm" and form < 0.2:
            return self.array_special(scope, kind, depth)
        if form < 0.3 and self.helper_sigs and depth > 0:
            got = self.helper_call(scope, kind, depth)
            if got is not None:
                return got
        if form < 0.6:
            return self.unary(scope, kind, depth)
        return self.binary(scope, kind, depth)

    def unary(self, scope, kind, depth):
        a, k, b = self.operand(scope, kind, depth)
        if k != kind:
            return None
        ops = [("np.sin({a})", 1.0), ("np.cos({a})", 1.0), ("np.tanh({a})", 1.0), ("np.arctan({a})", 1.6),
               ("np.exp(np.sin({a}))", math.e), ("np.log({a} * {a} + 1.0)", math.log(b * b + 1)),
               ("np.sqrt({a} * {a} + 1.0)", math.sqrt(b * b + 1)), ("({a}) ** 2", b * b),
               ("-{a}", b), ("1.0 / ({a} * {a} + 1.0)", 1.0), ("np.square({a})", b * b),
               ("0.5 * {a}", 0.5 * b), ("np.abs({a})", b), ("np.clip({a}, -1.0, 1.0)", min(b, 1.0))]
        if b < 3:
            ops.append(("np.exp({a})", math.exp(b)))
        if kind == "s":
            ops += [("math.sin({a})", 1.0), ("math.tanh({a})", 1.0), ("math.exp(math.sin({a}))", math.e),
                    ("math.sqrt({a} * {a} + 1.0)", math.sqrt(b * b + 1)), ("abs({a})", b), ("float({a})", b)]
        if self.complex_ and self.chance(0.4):
            ops = self._complex_ops(kind, b)
            self.features.add("complex")
        text, bound = self.pick(ops)
        return text.format(a=a), kind, bound

    def _complex_ops(self, kind: str, b: float) -> list[tuple[str, float]]:
        """Forms of `kind` that compute with complex numbers on the way (the complex dialect), with bounds."""
        c = round(self.r.uniform(0.2, 1.5), 2)
        ops = [(f"np.real(np.exp(1j * {{a}}) * (1.0 + {c}j))", 1.0 + c), (f"np.abs({{a}} + {c}j * np.sin({{a}}))", b + c),
               (f"np.imag(({{a}} + {c}j) ** 2)", 2 * b * c), (f"np.angle({{a}} + {c}j)", math.pi),
               ("np.real(np.conj({a} * 1j) * ({a} + 1j))", b), (f"({{a}} * (1 - {c}j)).imag", b * c),
               (f"np.exp(1j * {{a}}).real * {{a}}", b), ("(np.sin({a}) + 2j).conj().imag", 2.0)]
        if kind == "s":
            ops += [(f"abs({{a}} - {c}j)", b + c), (f"(complex({c}, 1.0) * {{a}}).real", b * (c + 1))]
        n = self.n
        if kind == "v":
            ops += [(f"np.real(np.fft.ifft(np.fft.fft({{a}}) * np.exp(-{c}j * np.arange({n}))))", b * n),
                    (f"np.fft.irfft(np.fft.rfft({{a}}), n={n})", b), (f"np.abs(np.fft.fft({{a}})) / {n}", b),
                    (f"np.real(np.fft.fft({{a}}))", b * n), ("np.fft.fftshift({a})", b),
                    (f"np.fft.irfft(np.fft.rfft({{a}}) * 1j, n={n})", b * n)]
        if kind == "m":
            ops += [(f"np.real(np.fft.fft2({{a}})) / {n * n}", b), (f"np.abs(np.fft.fftn({{a}}, axes=(0,))) / {n}", b),
                    ("np.fft.ifftshift({a}, axes=(1,))", b)]
        return ops

    def binary(self, scope, kind, depth):
        other = "s" if self.chance(0.35) else kind
        a, ka, ba = self.operand(scope, kind, depth)
        b, kb, bb = self.operand(scope, other, depth)
        if ka != kind:
            return None
        if self.chance(0.5):
            a, b, ba, bb = b, a, bb, ba
        ops = [("{a} + {b}", ba + bb), ("{a} - {b}", ba + bb), ("{a} * {b}", ba * bb),
               ("{a} / ({b} * {b} + 1.0)", ba), ("np.maximum({a}, {b})", max(ba, bb)),
               ("np.minimum({a}, {b})", max(ba, bb)), ("np.where({a} > {b}, {a}, {b})", max(ba, bb)),
               ("np.arctan2({a}, {b} * {b} + 1.0)", 1.6), ("np.hypot({a}, {b})", ba + bb),
               ("np.logaddexp({a}, {b})", max(ba, bb) + 0.7)]
        text, bound = self.pick(ops)
        return text.format(a=a, b=b), kind, bound

    def reduction(self, scope, depth):
        src = self.pick("vm")
        a, k, b = self.operand(scope, src, depth)
        if k == "s":
            return None
        size = self.n if k == "v" else self.n * self.n
        ops = [("np.sum({a})", b * size), ("{a}.sum()", b * size), ("np.mean({a})", b), ("{a}.mean()", b),
               ("np.max({a})", b), ("np.min({a})", b), ("np.linalg.norm({a})", b * math.sqrt(size)),
               ("np.var({a})", b * b), ("float(np.sum({a}))", b * size)]
        if b <= 1.0:
            ops.append(("np.prod({a})", 1.0))
        if k == "v":
            i = self.r.randrange(-self.n, self.n)
            many = ", ".join(str(self.r.randrange(-self.n, self.n)) for _ in range(3))
            ops += [(f"{{a}}[{i}]", b), ("{a} @ {a}", b * b * size), ("np.dot({a}, {a})", b * b * size),
                    (f"np.sum({{a}}[[{many}]])", 3 * b)]
            other = [n for n, v in scope.items() if v.kind == "v"]
            if other:
                o = self.pick(other)
                ops.append((f"{{a}} @ {o}", b * scope[o].bound * size))
        else:
            i, j = self.r.randrange(self.n), self.r.randrange(self.n)
            ops += [(f"{{a}}[{i}, {j}]", b), ("np.trace({a})", b * self.n), (f"{{a}}[{i}][{j}]", b)]
        text, bound = self.pick(ops)
        return text.format(a=a), "s", bound

    def scalar_special(self, scope, depth):
        a, k, b = self.operand(scope, "s", depth)
        if k != "s":
            return None
        c = round(self.r.uniform(-1, 1), 2)
        forms = [(f"({a} if {a} > {c} else -{a})", b), (f"max({a}, {c})", max(b, abs(c))),
                 (f"min({a}, 1.0) * {a}", b * max(b, 1.0))]
        text, bound = self.pick(forms)
        self.features.add("ifexp")
        return text, "s", bound

    def array_special(self, scope, kind, depth):
        a, k, b = self.operand(scope, kind, depth)
        if k != kind:
            return None
        n = self.n
        if kind == "v":
            k2 = self.r.randrange(1, n)
            forms = [("np.sort({a})", b), ("np.cumsum({a})", b * n), ("np.flip({a})", b), ("{a}[::-1]", b),
                     (f"np.concatenate([{{a}}[{k2}:], {{a}}[:{k2}]])", b),
                     ("np.array([" + ", ".join(f"{{a}}[{i}]" for i in range(n)) + "])", b)]
            mats = [name for name, v in scope.items() if v.kind == "m"]
            if mats:
                M = self.pick(mats)
                bm = scope[M].bound
                forms += [(f"{M} @ {{a}}", bm * b * n), (f"{{a}} @ {M}", bm * b * n),
                          (f"np.dot({M}, {{a}})", bm * b * n), (f"np.sum({M}, axis=0) * {{a}}", bm * n * b),
                          (f"{M}.mean(axis=1) + {{a}}", bm + b), (f"np.max({M}, axis=1) - {{a}}", bm + b),
                          (f"{M}[{self.r.randrange(n)}] * {{a}}", bm * b), (f"{M}[:, {self.r.randrange(n)}] + {{a}}", bm + b)]
        else:
            forms = [("{a}.T", b), ("np.transpose({a})", b), ("{a}[::-1]", b),
                     ("np.reshape(np.ravel({a}), (" + f"{n}, {n}" + "))", b)]
            vecs = [name for name, v in scope.items() if v.kind == "v"]
            if b * b * n <= CAP:
                forms.append(("{a} @ {a}", b * b * n))
            if vecs:
                v = self.pick(vecs)
                bv = scope[v].bound
                forms += [(f"np.outer({v}, {v}) * {{a}}", bv * bv * b), (f"{{a}} * {v}", b * bv),
                          (f"{{a}} + {v}[:, None]", b + bv), (f"np.stack([{', '.join([v] * n)}]) - {{a}}", b + bv)]
        text, bound = self.pick(forms)
        return text.format(a=a), kind, bound

    def helper_call(self, scope, kind, depth):
        fits = [h for h in self.helper_sigs if h[2] == kind]
        if not fits:
            return None
        name, kinds, _ = self.pick(fits)
        args = []
        for pk in kinds:
            same = [a for a in args if scope.get(a) is not None and scope[a].kind == pk]
            if same and self.chance(0.35):
                args.append(self.pick(same))               # a repeated argument: h(x, x)
                self.features.add("repeated-argument")
                continue
            names = [k for k, v in scope.items() if v.kind == pk and v.bound <= 3.0]
            if names:
                args.append(self.pick(names))
            else:
                text, k, b = self.expr(scope, pk, 0)
                args.append(f"np.tanh({text})")
        self.features.add("helper")
        return f"{name}({', '.join(args)})", kind, 2.0

    # --- helpers -----------------------------------------------------------------------------------
    def helper(self, index: int) -> None:
        """def h<i>(a, b, ...): a short body that rebinds its parameters; bounded by a final squashing."""
        name = f"h{index}"
        kinds = [self.pick("svsv" if self.n else "s") for _ in range(self.r.randint(1, 3))]
        params = [f"p{j}" if self.chance(0.5) else ["a", "b", "c", "x", "w"][j] for j, _ in enumerate(kinds)]
        params = [p if params.count(p) == 1 else f"{p}{j}" for j, p in enumerate(params)]
        result = "v" if "v" in kinds and self.chance(0.6) else "s"
        scope = {p: Var(k, 3.0, fresh=False, param=True) for p, k in zip(params, kinds)}
        body = []
        saved = self.lines, self.features
        self.lines = body
        for _ in range(self.r.randint(1, 3)):
            target = self.pick(list(scope)) if self.chance(0.5) else self.fresh_name("u")
            kind = scope[target].kind if target in scope else self.pick(kinds)
            text, k, b = self.expr(scope, kind, 1)
            if k != kind:
                continue
            if target in scope:
                self.features.add("helper-rebinds-parameter")
            body.append(f"    {target} = {text}")
            scope[target] = Var(kind, b)
        if self.chance(0.3):
            s = [p for p in scope if scope[p].kind == "s"]
            if s:
                v = self.pick(s)
                early = "np.tanh(" + v + ")" if result == "s" else ("np.tanh(" + v + " * " + next(
                    (q for q in scope if scope[q].kind == "v"), "np.ones(%d)" % self.n) + ")")
                body.append(f"    if {v} > {round(self.r.uniform(-1, 1), 2)}:")
                body.append(f"        return {early}")
                self.features.add("early-return")
        out = [q for q in scope if scope[q].kind == result]
        if not out:
            out = [q for q in scope if scope[q].kind == "v"]
            final = f"np.tanh(np.sum({self.pick(out)}))" if result == "s" else None
        else:
            final = f"np.tanh({self.pick(out)})"
        if final is None:
            final = "0.5"
        if result == "v" and not any(scope[q].kind == "v" for q in scope):
            result = "s"
        body.append(f"    return {final}")
        self.lines, self.features = saved
        self.helpers.append(f"def {name}({', '.join(params)}):\n" + "\n".join(body) + "\n")
        self.helper_sigs.append((name, kinds, result))

    # --- statements --------------------------------------------------------------------------------
    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def statement(self, scope, indent, depth, loop_var=None, in_loop=False):
        if self.containers and self.chance(0.3):
            return self.container_stmt(scope, indent, loop_var)
        if self.complex_ and self.chance(0.12):
            return self.complex_stmt(scope, indent, loop_var)
        r = self.r.random()
        if depth > 0 and r < 0.10:
            return self.if_block(scope, indent, depth, loop_var, in_loop)
        if depth > 0 and r < 0.18 and not in_loop:
            return self.for_block(scope, indent, depth)
        if depth > 0 and r < 0.22 and not in_loop:
            return self.while_block(scope, indent, depth)
        if r < 0.28 and self.helper_sigs:
            return self.call_rebind(scope, indent)
        if r < 0.34:
            return self.element_write(scope, indent, loop_var)
        if r < 0.46:
            return self.augmented(scope, indent, loop_var)
        if r < 0.62:
            return self.rebind(scope, indent, loop_var)
        if loop_var and r > 0.94:
            return self.growing_slice(scope, indent, loop_var)
        return self.new_var(scope, indent, loop_var)

    def growing_slice(self, scope, indent, loop_var):
        """In a for loop, a slice whose length changes from one iteration to the next (`p = v[:i + 1]`),
        read into a number: what the loop saves must keep each iteration's shape."""
        vs = [k for k, v in scope.items() if v.kind == "v" and v.bound <= 3]
        ss = [k for k, v in scope.items() if v.kind == "s" and v.bound <= 3]
        if not vs or not ss:
            return self.new_var(scope, indent, loop_var)
        v, s, c = self.pick(vs), self.pick(ss), self.pick(ss)
        p = self.fresh_name("p")
        part = self.pick([f"{v}[:{loop_var} + 1]", f"{v}[{loop_var}:]", f"{v}[::{loop_var} + 1]"])
        self.emit(indent, f"{p} = {part} * np.cos({c})")
        self.emit(indent, f"{s} = 0.5 * {s} + 0.3 * np.tanh(np.sum(np.sin({p} + {c}) * {p}))")
        self.features.add("growing-slice")
        old = scope[s]
        scope[s] = Var("s", 3.0, fresh=True, param=old.param)

    # --- containers (the `containers` dialect) -----------------------------------------------------
    def _items(self, scope, kind, loop_var, count):
        out = []
        for _ in range(count):
            text, k, b = self._loop_expr(scope, kind, loop_var)
            if k != kind:
                text, b = (f"np.sum({text}) * 0.1" if kind == "s" else f"np.tanh({text}) * np.ones({self.n})"), 1.0
            out.append((text, b))
        return out

    def container_stmt(self, scope, indent, loop_var):
        """A container built, read, written and looped over, ending in ordinary variables."""
        kind = self.pick("ssvv")
        forms = ["tuple", "list", "dict", "loop", "comprehension", "swap", "pair"]
        form = self.pick(forms + (["append"] if self.containers >= 2 else []) + (["grow"] if self.containers >= 3 else []))
        new = self.fresh_name()
        if form == "pair" and self.pairs:
            name, kinds, results = self.pick(self.pairs)
            args = []
            for pk in kinds:
                names = [k for k, v in scope.items() if v.kind == pk and v.bound <= 3.0]
                args.append(self.pick(names) if names else f"np.tanh({self._items(scope, pk, loop_var, 1)[0][0]})")
            targets = []
            for rk in results:       # often the arguments' own names: x, y = pair0(x, y)
                fits = [a for a in args if a in scope and scope[a].kind == rk and a not in targets]
                targets.append(self.pick(fits) if fits and self.chance(0.5) else self.fresh_name())
            self.emit(indent, f"{', '.join(targets)} = {name}({', '.join(args)})")
            for t, rk in zip(targets, results):
                scope[t] = Var(rk, 1.0, fresh=True)
            self.features.add("tuple-helper")
            return
        if form in ("tuple", "list", "pair"):
            items = self._items(scope, kind, loop_var, self.r.randint(2, 3))
            c = self.fresh_name("c")
            left, right = ("(", ")") if form != "list" else ("[", "]")
            self.emit(indent, f"{c} = {left}{', '.join(t for t, _ in items)}{right}")
            bound = max(b for _, b in items)
            if form == "list" and self.chance(0.5):
                self.emit(indent, f"{c}[{self.r.randrange(len(items))}] = np.tanh({c}[0]) * {c}[-1]")
                self.features.add("list-item-write")
            self.emit(indent, f"{new} = {c}[0] * 0.5 + {c}[-1]")
            scope[new] = Var(kind, 1.5 * bound, fresh=True)
            self.features.add("list-literal" if form == "list" else "tuple-literal")
        elif form == "dict":
            items = self._items(scope, kind, loop_var, 2)
            d = self.fresh_name("d")
            self.emit(indent, f"{d} = {{'p': {items[0][0]}, 'q': {items[1][0]}}}")
            self.emit(indent, f"{d}['p'] = np.tanh({d}['p']) + {d}['q']")
            self.emit(indent, f"{new} = {d}['p'] - 0.5 * {d}['q']")
            scope[new] = Var(kind, 1.0 + 1.5 * max(items[0][1], items[1][1]), fresh=True)
            self.features.add("dict-literal")
        elif form == "loop":
            items = self._items(scope, kind, loop_var, self.r.randint(2, 3))
            self.emit(indent, f"{new} = 0.0")
            how = self.pick(["plain", "enumerate", "items"])
            if how == "items":
                d = self.fresh_name("d")
                entries = ", ".join(f"{chr(97 + j)!r}: {t}" for j, (t, _) in enumerate(items))
                self.emit(indent, f"{d} = {{{entries}}}")
                self.emit(indent, f"for key, t in {d}.items():")
                self.emit(indent + 1, f"{new} = {new} + np.sum(np.sin(t)) * len(key)")
            elif how == "enumerate":
                self.emit(indent, f"for j, t in enumerate(({', '.join(t for t, _ in items)},)):")
                self.emit(indent + 1, f"{new} = {new} + (j + 1) * np.mean(np.tanh(t))")
            else:
                self.emit(indent, f"for t in [{', '.join(t for t, _ in items)}]:")
                self.emit(indent + 1, f"{new} = np.tanh({new} + np.sum(t * t) * 0.1)")
            scope[new] = Var("s", 3.0 * max(self.n, 1) * 3, fresh=True)
            if scope[new].bound > CAP:
                self.emit(indent, f"{new} = np.tanh({new})")
                scope[new] = Var("s", 1.0, fresh=True)
            self.features.add("loop-over-container")
        elif form == "append" and loop_var is None:     # a list appended to in a loop, then stacked
            lst, j = self.fresh_name("l"), self.fresh_name("j")
            self.emit(indent, f"{lst} = []")
            self.emit(indent, f"for {j} in range({self.r.randint(1, 3)}):")
            text, k, _ = self._loop_expr(scope, kind, j)
            self.emit(indent + 1, f"{lst}.append(np.tanh({text}) * ({j} + 1))")
            stack = self.pick([f"np.stack({lst})", f"np.array({lst})"] + ([f"np.stack({lst}, axis=1)"] if k == "v" else []))
            self.emit(indent, f"{new} = np.sum({stack}, axis=0)" if k == "v" and "axis=1" not in stack
                      else f"{new} = np.sum({stack})")
            scope[new] = Var(k if "axis=1" not in stack and k == "v" else "s", 3.0 * (1 if k == "s" else self.n) * 3,
                             fresh=True)
            if scope[new].bound > CAP:
                self.emit(indent, f"{new} = np.tanh({new})")
                scope[new] = Var(scope[new].kind, 1.0, fresh=True)
            self.features.add("append-then-stack")
        elif form == "grow" and loop_var is None:       # a list grown in a while loop or a branch, read as it grows
            lst, j = self.fresh_name("l"), self.fresh_name("j")
            k = self.pick("sv")

            def item(loop_var):                 # an item of kind k: every item has the same shape
                text, got, _ = self._loop_expr(scope, k, loop_var)
                if got != k:
                    text = f"np.sum({text}) * 0.1" if k == "s" else f"np.tanh({text}) * np.ones({self.n})"
                return text
            first = item(None)
            start = self.chance(0.6)
            self.emit(indent, f"{lst} = [np.tanh({first})]" if start else f"{lst} = []")
            trips = self.r.randint(1, 4)
            counted = self.chance(0.5)
            if counted:
                self.emit(indent, f"{j} = 0")
                self.emit(indent, f"while {j} < {trips}:")
            else:
                self.emit(indent, f"for {j} in range({trips}):")
            text = item(j)
            grown = f"np.tanh({lst}[-1] * 0.5 + {text})" if start else f"np.tanh({text})"
            if self.chance(0.6):                # appends in a branch (on data, or on the counter)
                test = self.pick([f"np.sum({text}) > 0.0", f"{j} % 2 == 0"])
                self.emit(indent + 1, f"if {test}:")
                self.emit(indent + 2, f"{lst}.append({grown})")
                if self.chance(0.5):
                    self.emit(indent + 1, "else:")
                    self.emit(indent + 2, f"{lst}.append(np.sin({text}) * 0.5)")
            else:
                self.emit(indent + 1, f"{lst}.append({grown})")
                if self.chance(0.3):
                    self.emit(indent + 1, f"{lst}.append(np.cos({text}) * ({j} + 1) * 0.25)")
            if counted:
                self.emit(indent + 1, f"{j} = {j} + 1")
            if not start:                       # at least one item, for the reads after the loop
                self.emit(indent, f"{lst}.append(np.tanh({first}))")
            if k == "v":
                read = self.pick([f"np.sum(np.stack({lst}), axis=0)", f"sum({lst})", f"{lst}[-1] * len({lst}) * 0.1"])
            else:
                read = self.pick([f"np.sum(np.array({lst}))", f"np.mean({lst})", f"{lst}[-1] * 0.5 + len({lst})"])
            self.emit(indent, f"{new} = {read}")
            scope[new] = Var(k, 3.0 * 6, fresh=True)
            if scope[new].bound > CAP:
                self.emit(indent, f"{new} = np.tanh({new})")
                scope[new] = Var(k, 1.0, fresh=True)
            self.features.add("grown-list")
        elif form == "comprehension":
            items = self._items(scope, kind, loop_var, self.r.randint(2, 3))
            listed = ", ".join(t for t, _ in items)
            if self.chance(0.5):
                self.emit(indent, f"{new} = np.tanh(sum(np.sum(np.sin(t)) for t in ({listed},)))")
                scope[new] = Var("s", 1.0, fresh=True)
            else:
                self.emit(indent, f"{new} = np.sum(np.stack([np.tanh(t) for t in [{listed}]]), axis=0)")
                scope[new] = Var(kind, 3.0, fresh=True)
            self.features.add("comprehension")
        else:                                  # a, b = b, f(a): a swap of two variables of one kind
            names = [k for k, v in scope.items() if v.kind == kind]
            if len(names) < 2:
                return self.new_var(scope, indent, loop_var)
            a, b = self.r.sample(names, 2)
            self.emit(indent, f"{a}, {b} = {b}, np.tanh({a})")
            scope[a], scope[b] = Var(kind, scope[b].bound, fresh=False, param=scope[b].param), Var(kind, 1.0)
            if scope[a].param:
                pass
            self.features.add("swap")

    def pair_helper(self, index: int) -> None:
        """def pair<i>(a, b): returns two values (a tuple), unpacked by the caller."""
        name = f"pair{index}"
        kinds = [self.pick("sv") for _ in range(2)]
        scope = {p: Var(k, 3.0, fresh=False, param=True) for p, k in zip(["a", "b"], kinds)}
        saved = self.lines
        self.lines = []
        text, k, _ = self.expr(scope, kinds[0], 1)
        self.lines = saved
        body = [f"    c = {text}", "    return np.tanh(c), np.sin(b) * 0.5"]
        self.helpers.append(f"def {name}(a, b):\n" + "\n".join(body) + "\n")
        self.pairs.append((name, kinds, [k, kinds[1]]))

    def _loop_expr(self, scope, kind, loop_var):
        text, k, b = self.expr(scope, kind, 2)
        if loop_var and self.chance(0.4):
            text = f"np.sin({text} + 0.1 * {loop_var})"
            b = 1.0
        return text, k, b

    def complex_stmt(self, scope, indent, loop_var):
        """A complex local made and used as people do (the complex dialect): an array of complex numbers
        filled element by element, a complex value carried through a loop, a spectrum changed in place
        before its inverse; read back as a real vector (np.abs, np.real, np.angle, the inverse FFT)."""
        n = self.n
        a, ka, ba = self._loop_expr(scope, "v", loop_var)
        s_, ks, bs = self._loop_expr(scope, "s", loop_var)
        if ka != "v" or ks != "s":
            return self.new_var(scope, indent, loop_var)
        z, out = self.fresh_name("z"), self.fresh_name()
        form = self.r.randrange(4)
        c = round(self.r.uniform(0.2, 0.9), 2)
        if form == 0:                           # filled element by element
            i = self.fresh_name("j")
            self.emit(indent, f"{z} = np.zeros({n}, dtype=complex)")
            self.emit(indent, f"for {i} in range({n}):")
            self.emit(indent + 1, f"{z}[{i}] = ({a})[{i}] * np.exp(1j * np.sin({s_}) * {i})")
            self.emit(indent, f"{out} = np.abs({z}) ** 2 + np.real({z} * np.conj({z}))")
            bound = 2 * ba * ba
        elif form == 1:                         # carried through a loop
            k = self.fresh_name("j")
            self.emit(indent, f"{z} = np.tanh({a}) + 1j * np.sin({s_})")
            self.emit(indent, f"for {k} in range(3):")
            self.emit(indent + 1, f"{z} = {z} * ({c} + {c / 2}j) + np.cos({a}) * 0.5")
            self.emit(indent, f"{out} = np.real({z}) - np.angle({z} + 2.0)")
            bound = 4.0 + math.pi
        elif form == 2:                         # a spectrum changed in place, then its inverse
            self.emit(indent, f"{z} = np.fft.fft({a})")
            self.emit(indent, f"{z}[0] = {z}[0] * {c}")
            self.emit(indent, f"{z} *= np.exp(-1j * np.arange({n}) * np.tanh({s_}))")
            self.emit(indent, f"{out} = np.real(np.fft.ifft({z}))")
            bound = ba * n
        else:                                   # a complex helper value, its parts read separately
            self.emit(indent, f"{z} = ({a}) * np.exp(1j * np.arange({n}) * {c}) + 1j * np.tanh({s_})")
            self.emit(indent, f"{out} = {z}.real * {z}.imag + abs(np.sum({z}))")
            bound = ba * (ba + 1) + n * (ba + 1)
        self.features.add("complex-local")
        if bound > CAP:
            self.emit(indent, f"{out} = np.tanh({out})")
            bound = 1.0
        scope[out] = Var("v", bound)

    def new_var(self, scope, indent, loop_var):
        kind = self.pick("ssvvm")
        text, k, b = self._loop_expr(scope, kind, loop_var)
        name = self.fresh_name()
        self.emit(indent, f"{name} = {text}")
        viewed = _viewed(text)
        scope[name] = Var(k, b, fresh=viewed is None)     # a view shares its base's memory
        if viewed in scope:
            scope[viewed].fresh = False

    def call_rebind(self, scope, indent):
        """x = h(x, w): a helper's result bound to a name, often one the helper uses for a parameter, with
        that name among the arguments."""
        name, kinds, result = self.pick(self.helper_sigs)
        targets = [k for k, v in scope.items() if v.kind == result]
        target = self.pick(targets) if targets and self.chance(0.7) else self.fresh_name()
        args = []
        for pk in kinds:
            own = target if target in scope and scope[target].kind == pk and scope[target].bound <= 3.0 else None
            names = [k for k, v in scope.items() if v.kind == pk and v.bound <= 3.0]
            if own and self.chance(0.6):
                args.append(own)
            elif names:
                args.append(self.pick(names))
            else:
                text, _, _ = self.expr(scope, pk, 0)
                args.append(f"np.tanh({text})")
        if len(set(args)) < len(args):
            self.features.add("repeated-argument")
        self.emit(indent, f"{target} = {name}({', '.join(args)})")
        self.features.add("helper-result-rebinds" if target in scope else "helper")
        old = scope.get(target)
        scope[target] = Var(result, 2.0, fresh=True, param=bool(old and old.param))

    def rebind(self, scope, indent, loop_var):
        """x = <expression reading x>: self-assignment, on parameters too."""
        target = self.pick(list(scope))
        var = scope[target]
        text, k, b = self.expr(scope, var.kind, 1)
        if k != var.kind:
            return
        form = self.pick(["np.tanh({t} + {e})", "np.sin({t} * {e})", "0.5 * {t} + 0.5 * np.cos({e})",
                          "{t} * np.tanh({e})", "{t} + 0.1 * np.sin({e})"])
        if loop_var and self.chance(0.5):
            form = "np.sin({t} + 0.25 * {i} * {e})"
        self.emit(indent, f"{target} = " + form.format(t=target, e=text, i=loop_var))
        self.features.add("self-assignment" + ("-parameter" if var.param else ""))
        scope[target] = Var(var.kind, max(var.bound, 2.0) if "{t} +" in form else max(1.0, var.bound),
                            fresh=True, param=var.param)

    def augmented(self, scope, indent, loop_var):
        """t += e, t -= e, t *= e; for floats also through a copy: `t1 = t0; t1 *= ...`."""
        scalars = [k for k, v in scope.items() if v.kind == "s"]
        if scalars and self.chance(0.3):
            src = self.pick(scalars)
            copy = self.fresh_name("t")
            self.emit(indent, f"{copy} = {src}")
            scope[copy] = Var("s", scope[src].bound)
            self.features.add("float-copy-then-augment")
            target = copy
        else:
            ok = [k for k, v in scope.items() if v.kind == "s" or v.fresh or (v.param and self.chance(0.3))]
            if not ok:
                return self.new_var(scope, indent, loop_var)
            target = self.pick(ok)
        var = scope[target]
        text, k, b = self.expr(scope, "s" if var.kind == "s" else self.pick([var.kind, "s"]), 1)
        op = self.pick(["+=", "-=", "*="])
        if op == "*=":
            text, b = f"np.tanh({text})", 1.0
        if var.kind == "s" and k != "s":
            return
        if var.kind == "v" and k == "m":
            return
        new = var.bound * b if op == "*=" else var.bound + b
        if new > CAP:
            text, new = f"np.tanh({text})", var.bound + 1
        if new > CAP:
            return
        self.emit(indent, f"{target} {op} {text}")
        self.features.add("augmented" + ("-parameter" if var.param else ""))
        scope[target] = Var(var.kind, new, fresh=var.fresh or var.kind == "s", param=var.param)

    def element_write(self, scope, indent, loop_var):
        """Rows, columns and elements of a local array: H[i] = ..., H[:, j] = ..., H[i, j] = ...,
        v[i] += ..., M[0] *= 2."""
        owned = [k for k, v in scope.items() if v.kind in "vm" and v.fresh and not v.param]
        if not owned or self.chance(0.25):
            kind = self.pick("vmm")
            name = self.fresh_name("H" if kind == "m" else "z")
            shape = f"({self.n}, {self.n})" if kind == "m" else f"{self.n}"
            init, bound = self.pick([f"np.zeros({shape})", f"np.ones({shape})"]), 1.0
            same = [k for k, v in scope.items() if v.kind == kind]
            if same and self.chance(0.4):
                src = self.pick(same)
                init, bound = self.pick([(f"np.zeros_like({src})", 1.0), (f"{src} * 1.0", scope[src].bound),
                                         (f"{src}.copy()", scope[src].bound)])
            self.emit(indent, f"{name} = {init}")
            scope[name] = Var(kind, max(1.0, bound))
            owned = [name]
        target = self.pick(owned)
        var = scope[target]
        n = self.n
        idx = loop_var if loop_var and self.chance(0.6) else str(self.r.randrange(-n, n))
        if var.kind == "m":
            form = self.pick(["row", "row", "col", "elem", "scale-row"])
            if form == "row":
                text, k, b = self._loop_expr(scope, "v", loop_var)
                self.emit(indent, f"{target}[{idx}] = {text}")
                self.features.add("row-write")
            elif form == "col":
                text, k, b = self._loop_expr(scope, "v", loop_var)
                self.emit(indent, f"{target}[:, {idx}] = {text}")
                self.features.add("column-write")
            elif form == "elem":
                text, k, b = self._loop_expr(scope, "s", loop_var)
                j = self.r.randrange(n)
                self.emit(indent, f"{target}[{idx}, {j}] = {text}")
                self.features.add("element-write")
            else:
                text, k, b = self.expr(scope, "s", 1)
                self.emit(indent, f"{target}[{idx}] *= np.tanh({text})")
                self.features.add("row-augmented")
                b = 0
        elif self.chance(0.2):              # several elements at once, an index possibly repeated
            text, k, b = self._loop_expr(scope, "s", loop_var)
            many = [str(self.r.randrange(-n, n)) for _ in range(self.r.randint(2, 4))]
            op = self.pick(["=", "+="])
            self.emit(indent, f"{target}[[{', '.join(many)}]] {op} {text}")
            self.features.add("fancy-index-write")
            b = var.bound + b * len(many)
        else:
            text, k, b = self._loop_expr(scope, "s", loop_var)
            op = self.pick(["=", "=", "+="])
            self.emit(indent, f"{target}[{idx}] {op} {text}")
            self.features.add("element-write" if op == "=" else "element-augmented")
            if op == "+=":
                b = var.bound + b
        scope[target] = Var(var.kind, max(var.bound, b), fresh=True)
        if scope[target].bound > CAP:
            self.emit(indent, f"{target} = np.tanh({target})")
            scope[target] = Var(var.kind, 1.0, fresh=True)

    def condition(self, scope):
        name = self.pick(list(scope))
        var = scope[name]
        c = round(self.r.uniform(-1, 1), 2)
        if var.kind == "s":
            lhs = name
        else:
            lhs = self.pick([f"np.sum({name})", f"np.max({name})", f"{name}.mean()", f"np.min({name})"])
        return f"{lhs} {self.pick(['>', '<'])} {c}"

    def block(self, scope, indent, depth, loop_var=None, in_loop=False):
        before = dict(scope)
        for _ in range(self.r.randint(1, 3)):
            self.statement(scope, indent, depth - 1, loop_var, in_loop)
        if len(self.lines) and not self.lines[-1].startswith("    " * indent):
            self.emit(indent, "pass")
        return before

    def _join(self, scope, *branches):
        """After an if: a variable keeps the weaker facts of the branches (and exists in all of them)."""
        names = set(branches[0])
        for b in branches[1:]:
            names &= set(b)
        out = {}
        for n in sorted(names, key=list(branches[0]).index):
            vs = [b[n] for b in branches]
            if len({v.kind for v in vs}) != 1:
                continue
            out[n] = Var(vs[0].kind, max(v.bound for v in vs), all(v.fresh for v in vs), vs[0].param)
        scope.clear()
        scope.update(out)

    def if_block(self, scope, indent, depth, loop_var, in_loop):
        self.features.add("if")
        self.emit(indent, f"if {self.condition(scope)}:")
        start = len(self.lines)
        s1 = dict(scope)
        if in_loop and self.chance(0.25):
            self.emit(indent + 1, self.pick(["break", "continue"]))
            self.features.add("break/continue")
        else:
            self.block(s1, indent + 1, depth, loop_var, in_loop)
        if len(self.lines) == start:
            self.emit(indent + 1, "pass")
        branches = [s1]
        if self.chance(0.3):
            self.emit(indent, f"elif {self.condition(scope)}:")
            s2 = dict(scope)
            start = len(self.lines)
            self.block(s2, indent + 1, depth, loop_var, in_loop)
            if len(self.lines) == start:
                self.emit(indent + 1, "pass")
            branches.append(s2)
            self.features.add("elif")
        if self.chance(0.6):
            self.emit(indent, "else:")
            s3 = dict(scope)
            start = len(self.lines)
            self.block(s3, indent + 1, depth, loop_var, in_loop)
            if len(self.lines) == start:
                self.emit(indent + 1, "pass")
            branches.append(s3)
        else:
            branches.append(dict(scope))
        self._join(scope, *branches)
        if not in_loop and not loop_var and self.chance(0.1):
            self.emit(indent, f"if {self.condition(scope)}:")
            self.emit(indent + 1, f"return {self.result(scope)}")
            self.features.add("early-return")

    def for_block(self, scope, indent, depth):
        self.features.add("for")
        i = self.fresh_name("i")
        self.emit(indent, f"for {i} in range({self.pick([self.n, min(2, self.n), min(3, self.n)])}):")
        before = dict(scope)
        inner = dict(scope)
        self.block(inner, indent + 1, depth, loop_var=i, in_loop=True)
        self._join(scope, before, inner)

    def while_block(self, scope, indent, depth):
        self.features.add("while")
        k = self.fresh_name("k")
        self.emit(indent, f"{k} = 0")
        scalars = [n for n, v in scope.items() if v.kind == "s"]
        test = self.condition(scope) if not scalars else f"{self.pick(scalars)} < {round(self.r.uniform(0, 2), 2)}"
        self.emit(indent, f"while {test} and {k} < {self.r.randint(1, 4)}:")
        before = dict(scope)
        inner = dict(scope)
        self.block(inner, indent + 1, depth, loop_var=None, in_loop=True)
        self.emit(indent + 1, f"{k} += 1")
        self._join(scope, before, inner)

    def result(self, scope):
        parts = []
        for name, v in sorted(scope.items()):
            if self.chance(0.5) or not parts:
                if v.kind == "s":
                    parts.append(name)
                else:
                    parts.append(self.pick([f"np.sum({name})", f"np.mean({name} ** 2)", f"{name}.sum()",
                                            f"np.sum(np.sin({name}))"]))
        return " + ".join(parts[:4])

    # --- the whole program ---------------------------------------------------------------------
    def program(self) -> Program:
        for i in range(self.r.choice([0, 0, 1, 1, 2])):
            self.helper(i)
        if self.containers:
            for i in range(self.r.choice([0, 1, 1, 2])):
                self.pair_helper(i)
        n = self.n
        kinds = [self.pick("svvm") for _ in range(self.r.randint(1, 3))]
        names = [["x", "y", "w", "b"][j] for j in range(len(kinds))]
        scope = {p: Var(k, 1.0, fresh=False, param=True) for p, k in zip(names, kinds)}
        data = self.chance(0.3)
        if data:                                    # an argument that is not differentiated
            names.append("X")
            kinds.append("m")
            scope["X"] = Var("m", 1.0, fresh=False, param=True)
        for _ in range(self.r.randint(2, 8)):
            self.statement(scope, 1, 2)
        if self.check_kinds:        # the generator's own test: every variable has the kind it tracks
            for name, v in sorted(scope.items()):
                self.emit(1, f"assert np.ndim({name}) == {'svm'.index(v.kind)}, {name!r}")
        self.emit(1, f"return {self.result(scope)}")
        body = "\n".join(self.lines)
        helpers = "\n\n".join(self.helpers)
        source = ("import math\n\nimport numpy as np\n\n\n" + (helpers + "\n\n" if helpers else "")
                  + f"def f({', '.join(names)}):\n{body}\n")
        rng = np.random.default_rng(self.seed)
        args = []
        for k in kinds:
            if k == "s":
                args.append(float(np.round(rng.uniform(-1, 1), 3)))
            elif k == "v":
                args.append(rng.uniform(-1, 1, n))
            else:
                args.append(rng.uniform(-1, 1, (n, n)))
        diff = tuple(range(len(kinds) - (1 if data else 0)))
        return Program(self.seed, source, tuple(args), diff, self.features)


_VIEW = re.compile(r"^\(?(?:np\.flip\(|np\.transpose\(|np\.reshape\(np\.ravel\()?\(?([A-Za-z_]\w*)\)?"
                   r"(?:\[::-1\]|\.T|\[-?\d+\]|\[:, -?\d+\])?\)?(?:, \(\d+, \d+\)\))?\)?$")


def _viewed(text: str) -> str | None:
    """The variable whose memory `text` shares when it is a view of one (`x[::-1]`, `np.flip(x)`, `x.T`,
    `M[0]`, `x` itself), else None."""
    m = _VIEW.match(text)
    return m.group(1) if m else None


def generate(seed: int, check_kinds: bool = False, containers: int = 0, complex_: bool = False) -> Program:
    """The program of `seed`; with `check_kinds`, f asserts before it returns that each variable has the
    kind (number, vector, matrix) the generator tracked (a test of the generator); with `containers`,
    in the dialect that also writes tuples, lists and dicts (1), and lists appended to in a loop and
    then stacked (2: the current dialect; 1 keeps the programs of the seeds found with it); with
    `complex_`, with complex intermediates and the FFT."""
    return _Gen(seed, check_kinds, containers, complex_).program()
