"""Random programs: s2sad's gradients of randomly composed functions against central differences.

Hypothesis composes primitives into straight-line functions and into functions with control flow
(`if` on a data value, `for i in range(k)`, `while` with a counter, `break`/`continue` inside an
`if` in a loop). Each program is written as source text to a .py file, imported, differentiated
with s2sad.value_and_grad and compared with central differences.

Values stay in safe domains: the generator tracks a bound on every variable's magnitude and only
uses primitives whose result stays bounded (sin/cos/tanh/arctan, exp of bounded values, x*x + 1
under log and sqrt, denominators b*b + 1). Loop bodies update variables through bounded functions.
Conditions are checked to be clear of their threshold: a twin of each function, with every
comparison replaced by a call that records its margin, runs first, and examples whose comparisons
are too close to call (a finite difference could flip them) are rejected.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings, strategies as st

import s2sad
from s2sad import UnsupportedSyntaxError
from reference import central

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CAP = 20.0            # no variable's magnitude may exceed this
MARGIN = 1e-2         # how far every comparison must be from its threshold
BLOCK_BOUND = 2.0     # bound of the variables an if or a loop body updates
_counter = itertools.count()


# --- the primitives programs are made of --------------------------------------------------------
@dataclass
class Var:
    kind: str           # "a": array of the program's shape, "s": scalar (Python float or NumPy scalar)
    bound: float        # |value| <= bound
    fresh: bool         # owns its memory: a safe target of an in-place augmented assignment


@dataclass(frozen=True)
class Op:
    text: str           # template with {a} (and {b})
    kinds: str          # operand kinds accepted: "as" both, "a" arrays, "s" scalars, "v" 1-D arrays
    result: str         # "same" (the broadcast kind of the operands), "a" or "s"
    bound: object       # (bound of a, bound of b, size of an array) -> bound of the result
    view: bool = False  # the result may share memory with an operand


UNARY = [
    Op("np.sin({a})", "as", "same", lambda a, b, n: 1.0),
    Op("np.cos({a})", "as", "same", lambda a, b, n: 1.0),
    Op("np.tanh({a})", "as", "same", lambda a, b, n: 1.0),
    Op("np.arctan({a})", "as", "same", lambda a, b, n: 1.6),
    Op("np.exp({a})", "as", "same", lambda a, b, n: math.exp(a) if a <= 2.5 else math.inf),
    Op("np.exp(np.sin({a}))", "as", "same", lambda a, b, n: math.e),
    Op("np.log({a} * {a} + 1.0)", "as", "same", lambda a, b, n: math.log(a * a + 1)),
    Op("np.sqrt({a} * {a} + 1.0)", "as", "same", lambda a, b, n: math.sqrt(a * a + 1)),
    Op("np.arcsinh({a})", "as", "same", lambda a, b, n: math.asinh(a)),
    Op("{a} ** 2", "as", "same", lambda a, b, n: a * a),
    Op("np.square({a})", "as", "same", lambda a, b, n: a * a),
    Op("-{a}", "as", "same", lambda a, b, n: a),
    Op("1.0 / ({a} * {a} + 1.0)", "as", "same", lambda a, b, n: 1.0),
    Op("{a}", "as", "same", lambda a, b, n: a, view=True),
    Op("math.sin({a})", "s", "s", lambda a, b, n: 1.0),
    Op("math.exp(math.tanh({a}))", "s", "s", lambda a, b, n: math.e),
    Op("math.sqrt({a} * {a} + 1.0)", "s", "s", lambda a, b, n: math.sqrt(a * a + 1)),
    Op("math.log1p({a} * {a})", "s", "s", lambda a, b, n: math.log1p(a * a)),
    Op("float({a})", "s", "s", lambda a, b, n: a),
    Op("np.sum({a})", "a", "s", lambda a, b, n: a * n),
    Op("{a}.sum()", "a", "s", lambda a, b, n: a * n),
    Op("np.mean({a})", "a", "s", lambda a, b, n: a),
    Op("{a}.mean()", "a", "s", lambda a, b, n: a),
    Op("np.max({a})", "a", "s", lambda a, b, n: a),
    Op("np.min({a})", "a", "s", lambda a, b, n: a),
    Op("np.prod({a})", "a", "s", lambda a, b, n: a ** n),
    Op("np.var({a})", "a", "s", lambda a, b, n: a * a),
    Op("np.linalg.norm({a})", "a", "s", lambda a, b, n: a * math.sqrt(n)),
    Op("{a}[{index}]", "a", "s", lambda a, b, n: a),
    Op("np.flip({a})", "a", "a", lambda a, b, n: a, view=True),
    Op("{a}[::-1]", "a", "a", lambda a, b, n: a, view=True),
    Op("np.cumsum({a}, axis=-1)", "a", "a", lambda a, b, n: a * n),
    Op("np.reshape(np.ravel({a}), {shape})", "a", "a", lambda a, b, n: a, view=True),
]
BINARY = [
    Op("{a} + {b}", "as", "same", lambda a, b, n: a + b),
    Op("{a} - {b}", "as", "same", lambda a, b, n: a + b),
    Op("{a} * {b}", "as", "same", lambda a, b, n: a * b),
    Op("{a} / ({b} * {b} + 1.0)", "as", "same", lambda a, b, n: a),
    Op("np.arctan2({a}, {b} * {b} + 1.0)", "as", "same", lambda a, b, n: 1.6),
    Op("np.maximum({a}, {b})", "as", "same", lambda a, b, n: max(a, b)),
    Op("np.minimum({a}, {b})", "as", "same", lambda a, b, n: max(a, b)),
    Op("np.logaddexp({a}, {b})", "as", "same", lambda a, b, n: max(a, b) + 0.7),
    Op("np.where({a} > {b}, {a}, {b})", "as", "same", lambda a, b, n: max(a, b)),
    Op("np.dot({a}, {b})", "v", "s", lambda a, b, n: a * b * n),
    Op("{a} @ {b}", "v", "s", lambda a, b, n: a * b * n),
    Op("np.stack([{a}, {b}]).sum(axis=0)", "a", "a", lambda a, b, n: a + b),
    Op("np.concatenate([{a}, {b}], axis=-1)[..., ::2]", "a", "a", lambda a, b, n: max(a, b)),
    Op("math.atan2({a}, {b} * {b} + 1.0)", "s", "s", lambda a, b, n: 1.6),
    Op("math.hypot({a}, {b} * {b} + 1.0)", "s", "s", lambda a, b, n: a + b * b + 1),
    Op("np.sum(np.array([{a}, {b}, 1.0]) ** 2)", "s", "s", lambda a, b, n: a * a + b * b + 1),
]


class Program:
    """A random function `f(x, y)` as source text, and its twin `f_check` that records margins."""

    def __init__(self, data, shape, y_is_array):
        self.data = data
        self.shape = shape
        self.size = math.prod(shape)
        self.vars = {"x": Var("a", 1.0, False), "y": Var("a" if y_is_array else "s", 1.0, False)}
        self.params = {"x", "y"}
        self.lines: list[tuple[int, str, str]] = []     # (indent, user text, twin text)
        self.count = 0
        self.loops = 0
        self.last = None

    # drawing
    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def pick(self, seq):
        return self.draw(st.sampled_from(sorted(seq) if isinstance(seq, (set, dict)) else list(seq)))

    def emit(self, indent, user, twin=None):
        self.lines.append((indent, user, user if twin is None else twin))

    # expressions
    def _ok(self, op: Op, *vs: Var) -> bool:
        kinds = {v.kind for v in vs}
        if op.kinds == "as":
            return True
        if op.kinds == "v":
            return kinds == {"a"} and len(self.shape) == 1
        return kinds == {op.kinds}

    def expression(self, names=None):
        """(text, kind, bound, operands it may alias) of a random primitive application."""
        names = sorted(names or self.vars)
        for _ in range(3):
            a = self.pick(names)
            va = self.vars[a]
            if self.draw(st.booleans()):
                b = self.pick(names)
                vb = self.vars[b]
                ops = [op for op in BINARY if self._ok(op, va, vb)]
            else:
                b, vb = a, va
                ops = [op for op in UNARY if self._ok(op, va)]
            ops = [op for op in ops if op.bound(va.bound, vb.bound, self.size) <= CAP]
            if ops:
                break
        else:
            return f"np.tanh({a})", va.kind, 1.0, []
        op = self.pick(ops)
        index = ", ".join(str(self.draw(st.integers(-n, n - 1))) for n in self.shape)
        text = op.text.format(a=a, b=b, index=index, shape=self.shape)
        return text, self._kind(op, va, vb), op.bound(va.bound, vb.bound, self.size), [a, b] if op.view else []

    @staticmethod
    def _kind(op, va, vb):
        if op.result != "same":
            return op.result
        return "a" if "a" in (va.kind, vb.kind) else "s"

    def condition(self, names=None):
        """(user text, twin text) of a comparison of a data value with a threshold."""
        v = self.pick(sorted(names or self.vars))
        if self.vars[v].kind == "a":
            lhs = self.pick([f"np.sum({v})", f"np.max({v})", f"np.mean({v})", f"{v}.min()"])
        else:
            lhs = v
        c = self.draw(st.integers(-10, 10)) / 10
        op = self.pick([">", "<"])
        return f"{lhs} {op} {c}", f"_check({lhs}, {op!r}, {c})"

    # statements
    def locals(self):
        return sorted(set(self.vars) - self.params)

    def assign(self, indent, target, text, kind, bound, aliased):
        fresh = not aliased
        for n in aliased:
            if n in self.vars:
                self.vars[n].fresh = False
        self.vars[target] = Var(kind, bound, fresh)
        self.last = target
        self.emit(indent, f"{target} = {text}")

    def straight(self, indent=1):
        """A new variable, an overwritten one or an augmented assignment."""
        form = self.pick(["new", "new", "new", "overwrite", "augment"])
        targets = self.locals()
        if form == "overwrite" and targets:
            t = self.pick(targets)
            text, kind, bound, aliased = self.expression()
            self.assign(indent, t, text, kind, bound, aliased)
            return
        if form == "augment":
            text, kind, bound, _ = self.expression()
            ok = [t for t in targets if self.vars[t].kind == "s" or self.vars[t].fresh]
            if ok:
                t = self.pick(ok)
                vt = self.vars[t]
                if kind == "a" and vt.kind == "s":
                    vt.fresh = True                # a NumPy scalar += array: a new array
                sym = self.pick(["+=", "-=", "*="])
                new = vt.bound * bound if sym == "*=" else vt.bound + bound
                if new <= CAP:
                    vt.kind = "a" if "a" in (vt.kind, kind) else "s"
                    vt.bound = new
                    self.last = t
                    self.emit(indent, f"{t} {sym} {text}")
                    return
        text, kind, bound, aliased = self.expression()
        t = f"v{self.count}"
        self.count += 1
        self.assign(indent, t, text, kind, bound, aliased)

    def update(self, indent, loop_var=None, targets=None):
        """Overwrite an existing variable through a bounded function, keeping its kind."""
        t = self.pick(targets or sorted(self.vars))
        vt = self.vars[t]
        text, kind, bound, aliased = self.expression()
        if kind == "a" and vt.kind == "s":
            text = f"np.mean({text})"
        forms = ["np.tanh({t} + {e})", "np.sin({t} * {e})", "0.5 * {t} + 0.5 * np.cos({e})",
                 "{t} * np.tanh({e})", "np.arctan({t}) - np.sin({e}) / 3.0"]
        if loop_var:
            forms.append("np.sin({t} + 0.25 * {i} * {e})")
        form = self.pick(forms)
        vt.bound = max(vt.bound, BLOCK_BOUND)     # every form is bounded by max(|t|, 2)
        vt.fresh = True                            # a new array (the aliases of `e` do not outlive it)
        self.last = t
        self.emit(indent, f"{t} = " + form.format(t=t, e=text, i=loop_var))

    def prefix(self, n):
        for _ in range(n):
            self.straight()

    def block(self, indent, depth, loop_var=None, jumps=()):
        """The body of an if or a loop: updates, nested ifs and loops, and in loops a jump under an if."""
        for v in self.vars.values():
            v.bound = max(v.bound, BLOCK_BOUND)
        for _ in range(self.draw(st.integers(1, 3))):
            choice = self.pick(["update", "update", "if", "loop"] + (["jump"] if jumps else []))
            if choice == "if" and depth < 2:
                self.if_block(indent, depth + 1, loop_var, jumps)
            elif choice == "loop" and depth < 1:
                self.for_loop(indent, depth + 1)
            elif choice == "jump":
                user, twin = self.condition()
                self.emit(indent, f"if {user}:", f"if {twin}:")
                if self.draw(st.booleans()):
                    self.update(indent + 1, loop_var)
                self.emit(indent + 1, self.pick(jumps))
            else:
                self.update(indent, loop_var)

    def if_block(self, indent, depth, loop_var=None, jumps=()):
        user, twin = self.condition()
        self.emit(indent, f"if {user}:", f"if {twin}:")
        self.block(indent + 1, depth, loop_var, jumps)
        if self.draw(st.booleans()):
            self.emit(indent, "else:")
            self.block(indent + 1, depth, loop_var, jumps)

    def for_loop(self, indent, depth=0):
        i = f"i{self.loops}"
        self.loops += 1
        k = self.draw(st.integers(0, 4))
        self.emit(indent, f"for {i} in range({k}):")
        self.block(indent + 1, depth, loop_var=i, jumps=("break", "continue"))

    def while_loop(self, indent, depth=0):
        n = f"n{self.loops}"
        self.loops += 1
        k = self.draw(st.integers(0, 4))
        self.emit(indent, f"{n} = 0")
        if self.draw(st.booleans()):
            self.emit(indent, f"while {n} < {k}:")
        else:   # a data-dependent test too
            user, twin = self.condition()
            self.emit(indent, f"while {n} < {k} and {user}:", f"while {n} < {k} and {twin}:")
        self.block(indent + 1, depth, loop_var=n, jumps=("break",))   # `continue` would skip the count
        self.emit(indent + 1, self.pick([f"{n} = {n} + 1", f"{n} += 1"]))

    def break_loop(self, indent):
        """A loop whose body breaks (or continues) inside an `if` on a data value."""
        i = f"i{self.loops}"
        self.loops += 1
        k = self.draw(st.integers(1, 5))
        self.emit(indent, f"for {i} in range({k}):")
        before = self.draw(st.integers(0, 2))
        for _ in range(before):
            self.update(indent + 1, i)
        user, twin = self.condition()
        self.emit(indent + 1, f"if {user}:", f"if {twin}:")
        if self.draw(st.booleans()):
            self.update(indent + 2, i)
        self.emit(indent + 2, self.pick(["break", "break", "continue"]))
        for _ in range(self.draw(st.integers(1 if before == 0 else 0, 2))):
            self.update(indent + 1, i)

    def finish(self):
        """`return` a scalar made of the last variable and a few others."""
        names = sorted(self.vars)
        chosen = [self.last or self.pick(names)]
        extra = self.draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        chosen += [n for n in extra if n not in chosen]
        parts = [f"np.sum({n})" if self.vars[n].kind == "a" else n for n in chosen]
        self.emit(1, "return " + " + ".join(parts))

    def source(self):
        def body(twin):
            return "\n".join("    " * ind + (tw if twin else us) for ind, us, tw in self.lines)
        return (f"import math\n\nimport numpy as np\n\nMARGINS = []\n\n\n"
                f"def _check(value, op, c):\n"
                f"    MARGINS.append(abs(float(value) - c))\n"
                f"    return value > c if op == '>' else value < c\n\n\n"
                f"def f(x, y):\n{body(False)}\n\n\ndef f_check(x, y):\n{body(True)}\n")


# --- running a program -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("random_programs")


def load(directory, text):
    name = f"s2sad_random_program_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def inputs(data, shape, y_is_array):
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=shape)
    y = rng.uniform(-1, 1, size=shape) if y_is_array else float(rng.uniform(-1, 1))
    return x, y


def _fresh(f):
    """f on copies of its arguments: a program's `v0 = x; v0 += ...` writes into x, as NumPy does."""
    return lambda *args: f(*(np.copy(a) if isinstance(a, np.ndarray) else a for a in args))


def check(directory, prog: Program, x, y):
    text = prog.source()
    note(text)
    mod = load(directory, text)
    mod.MARGINS.clear()
    try:
        expected = _fresh(mod.f_check)(x, y)
    except ValueError:               # NumPy refuses the program's own in-place update (a += of a bigger array)
        assume(False)
    assume(not mod.MARGINS or min(mod.MARGINS) > MARGIN)
    assert np.isfinite(expected)
    try:
        value, (gx, gy) = s2sad.value_and_grad(mod.f, argnums=(0, 1))(x.copy() if isinstance(x, np.ndarray) else x, y)
    except UnsupportedSyntaxError as exc:
        # an in-place update another name sees through a view: refused by design, with its line
        assert "shares its memory" in str(exc), exc
        assume(False)
    np.testing.assert_allclose(value, _fresh(mod.f)(x, y), rtol=1e-12, atol=1e-12)
    for i, g in enumerate((gx, gy)):
        ref = central(_fresh(mod.f), [x, y], i)
        scale = max(1.0, float(np.max(np.abs(ref))))
        np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6 * scale, err_msg=f"argument {'xy'[i]}")
        assert np.shape(g) == np.shape((x, y)[i])


def setup(data):
    shape = data.draw(st.sampled_from([(3,), (2, 3)]), label="shape")
    y_is_array = data.draw(st.booleans(), label="y is an array")
    return Program(data, shape, y_is_array), shape, y_is_array


def control_flow_program(data, directory):
    """(module, x, y) of a drawn program: a few statements, then one to three blocks of if / for /
    while / break, then its inputs (what the backends' suites run on their own arrays)."""
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 3)))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["if_block", "for_loop", "while_loop", "break_loop"]))
        getattr(prog, kind)(1, 0) if kind == "if_block" else getattr(prog, kind)(1)
    prog.finish()
    x, y = inputs(data, shape, y_arr)
    note(prog.source())
    return load(directory, prog.source()), x, y


@SETTINGS
@given(st.data())
def test_straight_line_programs(program_dir, data):
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 10), label="statements"))
    prog.finish()
    check(program_dir, prog, *inputs(data, shape, y_arr))


@SETTINGS
@given(st.data())
def test_programs_with_if(program_dir, data):
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 4)))
    for _ in range(data.draw(st.integers(1, 2))):
        prog.if_block(1, 0)
        prog.prefix(data.draw(st.integers(0, 2)))
    prog.finish()
    check(program_dir, prog, *inputs(data, shape, y_arr))


@SETTINGS
@given(st.data())
def test_programs_with_for(program_dir, data):
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 4)))
    prog.for_loop(1)
    prog.prefix(data.draw(st.integers(0, 2)))
    prog.finish()
    check(program_dir, prog, *inputs(data, shape, y_arr))


@SETTINGS
@given(st.data())
def test_programs_with_while(program_dir, data):
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 4)))
    prog.while_loop(1)
    prog.prefix(data.draw(st.integers(0, 2)))
    prog.finish()
    check(program_dir, prog, *inputs(data, shape, y_arr))


@SETTINGS
@given(st.data())
def test_programs_with_break(program_dir, data):
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 4)))
    prog.break_loop(1)
    prog.prefix(data.draw(st.integers(0, 2)))
    prog.finish()
    check(program_dir, prog, *inputs(data, shape, y_arr))


@SETTINGS
@given(st.data())
def test_programs_with_mixed_control_flow(program_dir, data):
    prog, shape, y_arr = setup(data)
    prog.prefix(data.draw(st.integers(1, 3)))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["if", "for", "while", "break", "straight"]))
        if kind == "if":
            prog.if_block(1, 0)
        elif kind == "for":
            prog.for_loop(1)
        elif kind == "while":
            prog.while_loop(1)
        elif kind == "break":
            prog.break_loop(1)
        else:
            prog.straight()
    prog.finish()
    check(program_dir, prog, *inputs(data, shape, y_arr))
