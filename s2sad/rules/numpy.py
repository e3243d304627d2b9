"""Rules of NumPy's elementwise functions, reductions and linear algebra."""
from .table import alias, nondiff, rule

# elementwise, one argument
rule("np.sin", "x", x="g * np.cos(x)", elementwise=True)
rule("np.cos", "x", x="-g * np.sin(x)", elementwise=True)
rule("np.tan", "x", x="g / np.cos(x) ** 2", elementwise=True)
rule("np.arcsin", "x", x="g / np.sqrt(1 - x ** 2)", elementwise=True)
rule("np.arccos", "x", x="-g / np.sqrt(1 - x ** 2)", elementwise=True)
rule("np.arctan", "x", x="g / (1 + x ** 2)", elementwise=True)
rule("np.sinh", "x", x="g * np.cosh(x)", elementwise=True)
rule("np.cosh", "x", x="g * np.sinh(x)", elementwise=True)
rule("np.tanh", "x", x="g * (1 - ans ** 2)", elementwise=True)
rule("np.arcsinh", "x", x="g / np.sqrt(x ** 2 + 1)", elementwise=True)
rule("np.arccosh", "x", x="g / np.sqrt(x ** 2 - 1)", elementwise=True)
rule("np.arctanh", "x", x="g / (1 - x ** 2)", elementwise=True)
rule("np.exp", "x", x="g * ans", elementwise=True)
rule("np.exp2", "x", x="g * ans * np.log(2.0)", elementwise=True)
rule("np.expm1", "x", x="g * (ans + 1)", elementwise=True)
rule("np.log", "x", x="g / x", elementwise=True)
rule("np.log2", "x", x="g / (x * np.log(2.0))", elementwise=True)
rule("np.log10", "x", x="g / (x * np.log(10.0))", elementwise=True)
rule("np.log1p", "x", x="g / (1 + x)", elementwise=True)
rule("np.sqrt", "x", x="0.5 * g / ans", elementwise=True)
rule("np.cbrt", "x", x="g / (3 * ans ** 2)", elementwise=True)
rule("np.square", "x", x="2 * g * x", elementwise=True)
rule("np.reciprocal", "x", x="-g * ans ** 2", elementwise=True)
rule("np.abs", "x", x="g * np.sign(x)", elementwise=True)
alias("np.fabs", "np.abs")
rule("np.negative", "x", x="-g", elementwise=True)
rule("np.positive", "x", x="g", elementwise=True)
rule("np.deg2rad", "x", x="g * (np.pi / 180)", elementwise=True)
rule("np.rad2deg", "x", x="g * (180 / np.pi)", elementwise=True)
alias("np.radians", "np.deg2rad")
alias("np.degrees", "np.rad2deg")

# elementwise, two arguments (broadcasting)
rule("np.add", "x, y", x="g", y="g", elementwise=True)
rule("np.subtract", "x, y", x="g", y="-g", elementwise=True)
rule("np.multiply", "x, y", x="g * y", y="g * x", elementwise=True)
rule("np.divide", "x, y", x="g / y", y="-g * ans / y", elementwise=True)
alias("np.true_divide", "np.divide")
rule("np.power", "x, y", x="g * y * x ** (y - 1)", y="g * ans * np.log(x)", elementwise=True)
alias("np.float_power", "np.power")
rule("np.arctan2", "y, x", y="g * x / (x ** 2 + y ** 2)", x="-g * y / (x ** 2 + y ** 2)", elementwise=True)
# at the origin, where hypot has a kink, the derivative is taken to be 0 (as abs'(0) = sign(0) = 0)
rule("np.hypot", "x, y", x="g * x / np.where(ans == 0, 1.0, ans)", y="g * y / np.where(ans == 0, 1.0, ans)",
     elementwise=True)
rule("np.logaddexp", "x, y", x="g * np.exp(x - ans)", y="g * np.exp(y - ans)", elementwise=True)
# ties split the cotangent evenly (autograd's balanced_eq): a subgradient, symmetric in x and y
rule("np.maximum", "x, y", x="g * ((x > y) + 0.5 * (x == y))", y="g * ((y > x) + 0.5 * (x == y))", elementwise=True)
rule("np.minimum", "x, y", x="g * ((x < y) + 0.5 * (x == y))", y="g * ((y < x) + 0.5 * (x == y))", elementwise=True)
alias("np.fmax", "np.maximum")
alias("np.fmin", "np.minimum")
rule("np.where", "condition, x, y", x="np.where(condition, g, 0.0)", y="np.where(condition, 0.0, g)", elementwise=True)
rule("np.clip", "a, a_min=None, a_max=None", a="g * _rt.clip_inside(a, a_min, a_max)",
     a_min="g * _rt.clip_below(a, a_min)", a_max="g * _rt.clip_above(a, a_max)", elementwise=True)

# reductions and scans
rule("np.sum", "a, axis=None, keepdims=False", a="_rt.sum_grad(g, a, axis, keepdims)", linear=True,
     forward={"a": "np.sum(t, axis=axis, keepdims=keepdims)"}, reduction=True)
rule("np.mean", "a, axis=None, keepdims=False", a="_rt.mean_grad(g, a, axis, keepdims)", linear=True,
     forward={"a": "np.mean(t, axis=axis, keepdims=keepdims)"}, reduction=True)
rule("np.prod", "a, axis=None, keepdims=False", a="_rt.prod_grad(g, ans, a, axis, keepdims)",
     forward={"a": "_rt.prod_jvp(t, ans, a, axis, keepdims)"}, reduction=True)
rule("np.max", "a, axis=None, keepdims=False", a="_rt.extremum_grad(g, ans, a, axis, keepdims)",
     forward={"a": "_rt.extremum_jvp(t, ans, a, axis, keepdims)"}, reduction=True)
alias("np.amax", "np.max")
alias("np.min", "np.max")
alias("np.amin", "np.max")
rule("np.cumsum", "a, axis=None", a="_rt.cumsum_grad(g, a, axis)", linear=True,
     forward={"a": "np.cumsum(t, axis=axis)"})
rule("np.var", "a, axis=None, ddof=0, keepdims=False", a="_rt.var_grad(g, a, axis, ddof, keepdims)",
     forward={"a": "_rt.var_jvp(t, a, axis, ddof, keepdims)"}, reduction=True)
rule("np.std", "a, axis=None, ddof=0, keepdims=False", a="_rt.std_grad(g, ans, a, axis, ddof, keepdims)",
     forward={"a": "_rt.std_jvp(t, ans, a, axis, ddof, keepdims)"}, reduction=True)
rule("np.linalg.norm", "x, ord=None, axis=None, keepdims=False", x="_rt.norm_grad(g, ans, x, ord, axis, keepdims)",
     forward={"x": "_rt.norm_jvp(t, ans, x, ord, axis, keepdims)"}, reduction=True)

# products and linear algebra
rule("np.dot", "a, b", a="_rt.dot_grad_a(g, a, b)", b="_rt.dot_grad_b(g, a, b)",
     forward={"a": "np.dot(t, b)", "b": "np.dot(a, t)"})
rule("np.matmul", "x, y", x="_rt.matmul_grad_x(g, x, y)", y="_rt.matmul_grad_y(g, x, y)",
     forward={"x": "np.matmul(t, y)", "y": "np.matmul(x, t)"})
rule("np.inner", "a, b", a="_rt.inner_grad_a(g, a, b)", b="_rt.inner_grad_b(g, a, b)",
     forward={"a": "np.inner(t, b)", "b": "np.inner(a, t)"})
rule("np.outer", "a, b", a="np.reshape(np.dot(g, np.ravel(b)), np.shape(a))",
     b="np.reshape(np.dot(np.ravel(a), g), np.shape(b))",
     forward={"a": "np.outer(t, b)", "b": "np.outer(a, t)"})
# the sum of a diagonal (of axes axis1 and axis2: a stack of matrices gives one trace each)
rule("np.trace", "a, offset=0, axis1=0, axis2=1", a="_rt.trace_grad(g, a, offset, axis1, axis2)", linear=True)
rule("np.linalg.inv", "a", a="-(ans.T @ g @ ans.T)", forward={"a": "-(ans @ t @ ans)"})
# det is taken over the last two axes (a stack of matrices gives one determinant each)
rule("np.linalg.det", "a", a="np.expand_dims(g * ans, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)",
     forward={"a": "ans * np.sum(np.linalg.solve(a, t) * np.eye(np.shape(a)[-1]), axis=(-2, -1))"})
rule("np.linalg.solve", "a, b", a="_rt.solve_grad_a(g, ans, a)", b="np.linalg.solve(a.T, g)",
     forward={"a": "-np.linalg.solve(a, t @ ans)", "b": "np.linalg.solve(a, t)"})

# shapes (linear): the cotangent is rearranged back to the argument's shape
rule("np.reshape", "a, shape", a="np.reshape(g, np.shape(a))", linear=True, view=True)
rule("np.ravel", "a", a="np.reshape(g, np.shape(a))", linear=True, view=True)
rule("np.transpose", "a, axes=None", a="_rt.transpose_grad(g, axes)", linear=True, view=True)
rule("np.swapaxes", "a, axis1, axis2", a="np.swapaxes(g, axis1, axis2)", linear=True, view=True)
rule("np.expand_dims", "a, axis", a="np.reshape(g, np.shape(a))", linear=True, view=True)
rule("np.squeeze", "a, axis=None", a="np.reshape(g, np.shape(a))", linear=True, view=True)
rule("np.flip", "m, axis=None", m="np.flip(g, axis)", linear=True, view=True)
rule("np.broadcast_to", "array, shape", array="_rt.unbroadcast(g, array)", linear=True, view=True)
rule("np.tile", "A, reps", A="_rt.tile_grad(g, A, reps)", linear=True)
rule("np.concatenate", "*arrays, axis=0", arrays="_rt.concatenate_grad(g, arrays, axis)", linear=True)
rule("np.stack", "*arrays, axis=0", arrays="_rt.stack_grad(g, arrays, axis)", linear=True)
rule("np.hstack", "*tup", tup="_rt.hstack_grad(g, tup)", linear=True)
rule("np.vstack", "*tup", tup="_rt.vstack_grad(g, tup)", linear=True)
rule("np.array", "*object, dtype=None", object="_rt.cast_grad(g, ans)", linear=True, cast=True)
rule("np.asarray", "a, dtype=None", a="_rt.cast_grad(g, ans)", linear=True, cast=True, view=True)
rule("np.copy", "a", a="g", linear=True)
rule("getitem", "x, index", x="_rt.getitem_grad(g, x, np.s_[index])", linear=True)
alias("astype", "np.asarray")   # x.astype(dtype) is normalized to np.asarray(x, dtype=dtype)

# rearranging, selecting and differencing (linear): the cotangent is put back where each element came from
rule("np.diff", "a, n=1, axis=-1", a="_rt.diff_grad(g, a, n, axis)", linear=True)
rule("np.diag", "v, k=0", v="_rt.diag_grad(g, v, k)", linear=True, view=True)
rule("np.diagonal", "a, offset=0, axis1=0, axis2=1", a="_rt.diagonal_grad(g, a, offset, axis1, axis2)", linear=True,
     view=True)
# a vector m gives a matrix of copies of it: their cotangents are summed back (unbroadcast)
rule("np.triu", "m, k=0", m="_rt.unbroadcast(np.triu(g, k), m)", linear=True)
rule("np.tril", "m, k=0", m="_rt.unbroadcast(np.tril(g, k), m)", linear=True)
rule("np.roll", "a, shift, axis=None", a="_rt.roll_grad(g, shift, axis)", linear=True)
rule("np.repeat", "a, repeats, axis=None", a="_rt.repeat_grad(g, a, repeats, axis)", linear=True)
# integer indices: where an index repeats, the cotangents of its copies add up
rule("np.take", "a, indices, axis=None", a="_rt.take_grad(g, a, indices, axis)", linear=True)
rule("np.take_along_axis", "arr, indices, axis=-1", arr="_rt.take_along_axis_grad(g, arr, indices, axis)",
     linear=True)
# exact where a holds zeros (scans of products, no division)
rule("np.cumprod", "a, axis=None", a="_rt.cumprod_grad(g, ans, a, axis)", forward={"a": "_rt.cumprod_jvp(t, ans, a, axis)"})
# 3-vectors along `axis` (the last by default), the leading axes broadcasting
rule("np.cross", "a, b, axis=None", a="_rt.unbroadcast(np.cross(b, g, axis=axis), a)",
     b="_rt.unbroadcast(np.cross(g, a, axis=axis), b)",
     forward={"a": "np.cross(t, b, axis=axis)", "b": "np.cross(a, t, axis=axis)"})
rule("np.kron", "a, b", a="_rt.kron_grad_a(g, a, b)", b="_rt.kron_grad_b(g, a, b)",
     forward={"a": "np.kron(t, b)", "b": "np.kron(a, t)"})
rule("np.sinc", "x", x="g * _rt.sinc_deriv(x, 1)", elementwise=True)
# 1 where x is finite, 0 where nan_to_num replaced it (by constants: nan, posinf and neginf are not differentiated)
rule("np.nan_to_num", "x, copy=True, nan=0.0, posinf=None, neginf=None", x="g * np.isfinite(x)", elementwise=True)
# differentiable in the values and in the weights (weights of a's shape, or 1-D along axis)
rule("np.average", "a, axis=None, weights=None, keepdims=False", a="_rt.average_grad(g, a, axis, weights, keepdims)",
     weights="_rt.average_grad_w(g, ans, a, axis, weights, keepdims)",
     forward={"a": "np.average(t, axis=axis, weights=weights, keepdims=keepdims)",
              "weights": "_rt.average_jvp_w(t, ans, a, axis, weights, keepdims)"}, reduction=True)
# coefficients p (highest power first; a stack of them along the first axis broadcasts against x)
rule("np.polyval", "p, x", p="_rt.polyval_grad_p(g, p, x)", x="_rt.unbroadcast(g * _rt.polyval_deriv(p, x), x)",
     forward={"p": "np.polyval(t, x)", "x": "t * _rt.polyval_deriv(p, x)"})

rule("np.sort", "a, axis=-1", a="_rt.sort_grad(g, a, axis)", forward={"a": "_rt.sort_jvp(t, a, axis)"})
# linear in start and stop together: the tangent is linspace of the tangents
rule("np.linspace", "start, stop, num=50, endpoint=True", start="_rt.linspace_grad(g, start, num, endpoint, 0)",
     stop="_rt.linspace_grad(g, stop, num, endpoint, 1)", linear=True)
rule("np.full", "shape, fill_value, dtype=None", fill_value="_rt.fill_grad(g, fill_value, ans)", linear=True)
rule("np.full_like", "a, fill_value, dtype=None", fill_value="_rt.fill_grad(g, fill_value, ans)", linear=True)

# outputs that carry no derivative, each for a stated reason
for _name in ("argmax", "argmin", "argsort", "isnan", "isinf", "isfinite", "greater", "greater_equal", "less",
              "less_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_not", "logical_xor",
              "any", "all", "nonzero", "count_nonzero", "isclose", "allclose", "array_equal", "searchsorted",
              "shape", "size", "ndim"):
    nondiff(f"np.{_name}", why="integer or boolean output")
for _name in ("sign", "floor", "ceil", "round", "around", "rint", "trunc", "fix", "floor_divide", "heaviside"):
    nondiff(f"np.{_name}", why="piecewise constant: the derivative is zero wherever it exists")
for _name in ("zeros", "ones", "empty", "arange", "eye", "identity", "zeros_like", "ones_like", "empty_like"):
    nondiff(f"np.{_name}", why="its value depends on shapes and sizes only (arange: piecewise constant)")

nondiff("_rt.stop_gradient", "x", why="stop_gradient: no derivative flows through it, by definition")
rule("np.real", "val", val="np.real(g)", linear=True)
