"""Rules of the `math` module and of Python builtins on numbers."""
from .table import nondiff, real_valued, rule

rule("math.sin", "x", x="g * math.cos(x)", elementwise=True)
rule("math.cos", "x", x="-g * math.sin(x)", elementwise=True)
rule("math.tan", "x", x="g / math.cos(x) ** 2", elementwise=True)
rule("math.asin", "x", x="g / math.sqrt(1 - x ** 2)", elementwise=True)
rule("math.acos", "x", x="-g / math.sqrt(1 - x ** 2)", elementwise=True)
rule("math.atan", "x", x="g / (1 + x ** 2)", elementwise=True)
rule("math.atan2", "y, x", y="g * x / (x ** 2 + y ** 2)", x="-g * y / (x ** 2 + y ** 2)", elementwise=True)
rule("math.sinh", "x", x="g * math.cosh(x)", elementwise=True)
rule("math.cosh", "x", x="g * math.sinh(x)", elementwise=True)
rule("math.tanh", "x", x="g * (1 - ans ** 2)", elementwise=True)
rule("math.exp", "x", x="g * ans", elementwise=True)
rule("math.expm1", "x", x="g * (ans + 1)", elementwise=True)
rule("math.log", "x", x="g / x", elementwise=True)
rule("math.log2", "x", x="g / (x * math.log(2.0))", elementwise=True)
rule("math.log10", "x", x="g / (x * math.log(10.0))", elementwise=True)
rule("math.log1p", "x", x="g / (1 + x)", elementwise=True)
rule("math.sqrt", "x", x="0.5 * g / ans if ans else g * math.inf", elementwise=True)   # inf at 0, as np.sqrt
rule("math.pow", "x, y", x="g * y * x ** (y - 1)", y="g * ans * math.log(x)", elementwise=True)
rule("math.fabs", "x", x="g * math.copysign(1.0, x) if x != 0 else 0.0", elementwise=True)
rule("math.hypot", "x, y", x="g * x / (ans or 1.0)", y="g * y / (ans or 1.0)", elementwise=True)   # 0 at the origin
rule("math.erf", "x", x="g * 1.1283791670955126 * math.exp(-x ** 2)", elementwise=True)
rule("math.erfc", "x", x="-g * 1.1283791670955126 * math.exp(-x ** 2)", elementwise=True)

rule("abs", "x", x="g * np.sign(x)", elementwise=True,    # |z| of a complex z: as np.abs
     complex_reverse={"x": "g * np.conj(x) / np.where(ans == 0, 1.0, ans)"},
     complex_forward={"x": "np.real(np.conj(x) * t) / np.where(ans == 0, 1.0, ans)"})
rule("float", "x", x="g", linear=True)
for _name in ("len", "int", "bool", "round", "range", "math.floor", "math.ceil", "math.trunc", "math.isnan",
              "math.isinf", "math.isfinite", "isinstance"):
    nondiff(_name, why="integer or boolean output")
nondiff("print", why="prints; its result is None", pure=False)
rule("math.copysign", "x, y", x="g * math.copysign(1.0, x) * math.copysign(1.0, y)", elementwise=True)
real_valued("abs", "len", "int", "bool", "round", "range", "math.isnan", "math.isinf", "math.isfinite", "isinstance")
