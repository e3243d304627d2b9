"""Rules of Python's operators (`+ - * / ** @ // %`, unary `-`/`+`) and plain copies."""
from .table import holomorphic, nondiff, real_valued, rule

rule("copy", "x", x="g", linear=True)
rule("neg", "x", x="-g", elementwise=True)
rule("pos", "x", x="g", elementwise=True)
rule("add", "x, y", x="g", y="g", elementwise=True)
rule("sub", "x, y", x="g", y="-g", elementwise=True)
rule("mul", "x, y", x="g * y", y="g * x", elementwise=True)
rule("truediv", "x, y", x="g / y", y="-g * ans / y", elementwise=True)
rule("pow", "x, y", x="g * y * x ** (y - 1)", y="g * ans * np.log(x)", elementwise=True)
rule("mod", "x, y", x="g", y="-g * np.floor_divide(x, y)", elementwise=True)
rule("matmul", "x, y", x="_rt.matmul_grad_x(g, x, y)", y="_rt.matmul_grad_y(g, x, y)",
     forward={"x": "t @ y", "y": "x @ t"})
nondiff("floordiv", "x, y", why="piecewise constant: the derivative is zero wherever it exists")
nondiff("not", "x", why="boolean output")
nondiff("compare", "*args", why="boolean output (comparisons, `and`/`or` of them, .shape and like attributes)")
holomorphic("copy", "neg", "pos", "add", "sub", "mul", "truediv", "pow", "matmul")
real_valued("compare", "not")
