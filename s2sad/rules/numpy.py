"""Rules of NumPy's elementwise functions, reductions and linear algebra."""
from .table import alias, holomorphic, nondiff, real_valued, returns_parts, rule

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
# of a complex z, 1 / sqrt(z^2 - 1) takes the other branch where Re z < 0: the product form is arccosh's
rule("np.arccosh", "x", x="g / np.sqrt(x ** 2 - 1)", elementwise=True,
     complex_reverse={"x": "g / (np.sqrt(x - 1) * np.sqrt(x + 1))"})
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
# |z| of a complex z: its cotangent is g conj(z) / |z| (JAX's convention), 0 at z = 0 as abs'(0) = 0
rule("np.abs", "x", x="g * np.sign(x)", elementwise=True,
     complex_reverse={"x": "g * np.conj(x) / np.where(ans == 0, 1.0, ans)"},
     complex_forward={"x": "np.real(np.conj(x) * t) / np.where(ans == 0, 1.0, ans)"})
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
# --- linear algebra over the last two axes: a stack of matrices (leading axes) is one problem each ----
def _T(x: str) -> str:
    return f"np.swapaxes({x}, -1, -2)"


def _mm(*xs: str) -> str:
    out = xs[-1]
    for x in reversed(xs[:-1]):
        out = f"np.matmul({x}, {out})"
    return out


_N = "np.shape(a)[-1]"
rule("np.linalg.inv", "a", a=f"-{_mm(_T('ans'), 'g', _T('ans'))}", forward={"a": "-(ans @ t @ ans)"})
rule("np.linalg.det", "a", a="np.expand_dims(g * ans, (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)",
     forward={"a": "ans * np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)"})
# sign, logabsdet = slogdet(a): the sign is piecewise constant (its cotangent is dropped, its tangent 0)
rule("np.linalg.slogdet", "a", a="np.expand_dims(g[1], (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)",
     forward={"a": "(_rt.zeros(ans[0]), np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1))"})
# b is a vector (1-D) or a stack of matrices (NumPy 2); a and b broadcast over the leading axes
_BBAR = f"np.linalg.solve({_T('a')}, _rt.as_matrix(g, b))"      # a^-T g, as matrices
rule("np.linalg.solve", "a, b", a=f"_rt.unbroadcast(-np.matmul({_BBAR}, {_T('_rt.as_matrix(ans, b)')}), a)",
     b=f"_rt.unbroadcast(_rt.from_matrix({_BBAR}, b), b)",
     forward={"a": "_rt.from_matrix(-np.linalg.solve(a, np.matmul(t, _rt.as_matrix(ans, b))), b)",
              "b": "np.linalg.solve(a, t)"})


def _power_block(x: str, e: str) -> str:
    top = f"np.concatenate([{x}, {e}], axis=-1)"
    bottom = f"np.concatenate([np.zeros_like({x}), {x}], axis=-1)"
    return f"np.linalg.matrix_power(np.concatenate([{top}, {bottom}], axis=-2), n)[..., :{_N}, {_N}:]"


# an integer power n (negative: of the inverse). Its derivative along E is the top-right block of
# [[a, E], [0, a]] ** n, and the cotangent is that of a^T along g (the adjoint of the Frechet derivative)
rule("np.linalg.matrix_power", "a, n", a=_power_block(_T("a"), "g"), forward={"a": _power_block("a", "t")})
# full rank (Golub and Pereyra): dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, P = pinv(a)
_PG = _mm(_T("g"), "ans", _T("ans"))                  # g^T P P^T
_PP = _mm(_T("ans"), "ans", _T("g"))                  # P^T P g^T
_PT = _mm("ans", _T("ans"), _T("t"))                  # P P^T t^T
_TP = _mm(_T("t"), _T("ans"), "ans")                  # t^T P^T P
rule("np.linalg.pinv", "a, rcond=None, hermitian=False",
     a=f"-{_mm(_T('ans'), 'g', _T('ans'))} + {_PG} - {_mm('a', 'ans', _PG)} + {_PP} - {_mm(_PP, 'ans', 'a')}",
     forward={"a": f"-{_mm('ans', 't', 'ans')} + {_PT} - {_mm(_PT, 'a', 'ans')} + {_TP} - {_mm('ans', 'a', _TP)}"})

# symmetric input (eigh, eigvalsh, cholesky read one triangle of a): the cotangent s2sad gives is
# symmetric, and a tangent counts by its symmetric part (the derivative as a function of symmetric
# matrices). eigh and the SVD need distinct eigenvalues / singular values (and nonzero ones for the SVD).
_F_EIG = "_rt.offdiag_inv(np.expand_dims(ans[0], -2) - np.expand_dims(ans[0], -1))"    # 1 / (w[j] - w[i])
rule("np.linalg.eigh", "a, UPLO='L'",
     a="_rt.symmetrize(" + _mm("ans[1]", f"np.expand_dims(g[0], -1) * np.eye({_N}) + {_F_EIG} * "
                                + _mm(_T("ans[1]"), "g[1]"), _T("ans[1]")) + ")",
     forward={"a": "_rt.eigh_jvp(t, ans)"})
_V_EIG = "np.linalg.eigh(a, UPLO)[1]"
rule("np.linalg.eigvalsh", "a, UPLO='L'", a=_mm(f"{_V_EIG} * np.expand_dims(g, -2)", _T(_V_EIG)),
     forward={"a": f"np.sum({_V_EIG} * np.matmul(_rt.symmetrize(t), {_V_EIG}), axis=-2)"})
# Murray (2016): dL = L Phi(L^-1 dA L^-T), so a's cotangent is L^-T Phi(L^T g) L^-1 (symmetrized)
_L, _LB = "_rt.transpose_if(ans, upper)", "_rt.transpose_if(g, upper)"
_PHI = f"_rt.lower_half({_mm(_T(_L), _LB)})"
_LINV_S = f"np.linalg.solve({_L}, {_T(f'np.linalg.solve({_L}, _rt.symmetrize(t))')})"   # L^-1 sym(t) L^-T
rule("np.linalg.cholesky", "a, upper=False",
     a=f"_rt.symmetrize(np.linalg.solve({_T(_L)}, {_T(f'np.linalg.solve({_T(_L)}, {_PHI})')}))",
     forward={"a": f"_rt.transpose_if(np.matmul({_L}, _rt.lower_half({_LINV_S})), upper)"})
# thin SVD (Townsend 2016), distinct nonzero singular values; with compute_uv=False the singular values
# alone: their cotangent is U diag(g) V^T
_G = "_rt.svd_cotangent(g, a, full_matrices, compute_uv)"
_U, _S, _VH, _UB, _SB, _VHB = "ans[0]", "ans[1]", "ans[2]", f"{_G}[0]", f"{_G}[1]", f"{_G}[2]"
_F_SVD = f"_rt.offdiag_inv(np.expand_dims({_S} ** 2, -2) - np.expand_dims({_S} ** 2, -1))"
_UTUB, _VTVB = _mm(_T(_U), _UB), _mm(_VH, _T(_VHB))
_SVD_INNER = (f"{_F_SVD} * ({_UTUB} - {_T(_UTUB)}) * np.expand_dims({_S}, -2) + np.expand_dims({_SB}, -1) * "
              f"np.eye(np.shape({_S})[-1]) + np.expand_dims({_S}, -1) * {_F_SVD} * ({_VTVB} - {_T(_VTVB)})")
_SVD_UV = (f"{_mm(_U, f'({_SVD_INNER})', _VH)} + "
           f"{_mm(f'(({_UB} - {_mm(_U, _T(_U), _UB)}) / np.expand_dims({_S}, -2))', _VH)} + "
           f"{_mm(_U, f'(({_VHB} - {_mm(_VHB, _T(_VH), _VH)}) / np.expand_dims({_S}, -1))')}")
_THIN = "np.linalg.svd(a, full_matrices=False)"
_SVD_S = _mm(f"{_THIN}[0] * np.expand_dims(g, -2)", f"{_THIN}[2]")
rule("np.linalg.svd", "a, full_matrices=True, compute_uv=True, hermitian=False",
     a=f"({_SVD_UV}) if compute_uv else {_SVD_S}",
     forward={"a": "_rt.svd_jvp(t, ans, a, full_matrices, compute_uv)"})
# reduced QR of a square or tall matrix: a's cotangent is (Qb + Q copyltu(M)) R^-T, M = R Rb^T - Qb^T Q,
# copyltu(M) the symmetric matrix with M's lower triangle
_QG = "_rt.qr_cotangent(g, a, mode)"
_M = f"({_mm('ans[1]', _T(f'{_QG}[1]'))} - {_mm(_T(f'{_QG}[0]'), 'ans[0]')})"
_COPYLTU = f"(np.tril({_M}) + {_T(f'np.tril({_M}, -1)')})"
rule("np.linalg.qr", "a, mode='reduced'",
     a=_T(f"np.linalg.solve(ans[1], {_T(f'{_QG}[0] + np.matmul(ans[0], {_COPYLTU})')})"),
     forward={"a": "_rt.qr_jvp(t, ans, a, mode)"})

# least squares, x, residuals, rank, s = lstsq(a, b), for a of full column rank (refused otherwise): with
# R = b - a x and Y = (a^T a)^-1 x_bar, b's cotangent is a Y + 2 R diag(res_bar) and a's is R Y^T - b_bar x^T
# (x minimizes the residuals, so they move with b and a only through R); s, the singular values of a,
# as np.linalg.svd's. The residuals are empty unless a is tall and of full rank (_rt.fit_residuals)
_LX, _LR = "_rt.as_matrix(ans[0], b)", "(_rt.as_matrix(b, b) - np.matmul(a, _rt.as_matrix(ans[0], b)))"
_LAA = f"np.matmul({_T('a')}, a) * _rt.full_column_rank(ans[2], a)"
_LY = f"np.linalg.solve({_LAA}, _rt.as_matrix(g[0], b))"
_LB = f"(np.matmul(a, {_LY}) + 2 * {_LR} * np.expand_dims(_rt.fit_residuals(g[1], np.shape({_LX})[-1]), -2))"
_USV = "np.linalg.svd(a, full_matrices=False)"
_LK = "np.size(ans[1])"
rule("np.linalg.lstsq", "a, b, rcond=None",
     a=f"np.matmul({_LR}, {_T(_LY)}) - np.matmul({_LB}, {_T(_LX)}) + "
       f"{_mm(f'{_USV}[0] * np.expand_dims(g[3], -2)', f'{_USV}[2]')}",
     b=f"_rt.from_matrix({_LB}, b)",
     forward={"a": f"_rt.parts(_rt.from_matrix(np.linalg.solve({_LAA}, np.matmul({_T('t')}, {_LR}) - "
                   f"np.matmul({_T('a')}, np.matmul(t, {_LX}))), b), "
                   f"_rt.fit_residuals(-2 * np.sum({_LR} * np.matmul(t, {_LX}), axis=-2), {_LK}), _rt.zeros(ans[2]), "
                   f"np.sum({_USV}[0] * np.matmul(t, {_T(f'{_USV}[2]')}), axis=-2))",
              "b": f"_rt.parts(_rt.from_matrix(np.linalg.solve({_LAA}, np.matmul({_T('a')}, _rt.as_matrix(t, b))), b), "
                   f"_rt.fit_residuals(2 * np.sum({_LR} * _rt.as_matrix(t, b), axis=-2), {_LK}), _rt.zeros(ans[2]), "
                   f"_rt.zeros(ans[3]))"})

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
real_valued(*[f"np.{_name}" for _name in ("argmax", "argmin", "argsort", "isnan", "isinf", "isfinite", "greater",
              "greater_equal", "less", "less_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_not",
              "logical_xor", "any", "all", "nonzero", "count_nonzero", "isclose", "allclose", "array_equal",
              "searchsorted", "shape", "size", "ndim")])
for _name in ("sign", "floor", "ceil", "round", "around", "rint", "trunc", "fix", "floor_divide", "heaviside"):
    nondiff(f"np.{_name}", why="piecewise constant: the derivative is zero wherever it exists")
for _name in ("zeros", "ones", "empty", "arange", "eye", "identity", "zeros_like", "ones_like", "empty_like"):
    nondiff(f"np.{_name}", why="its value depends on shapes and sizes only (arange: piecewise constant)")

nondiff("_rt.stop_gradient", "x", why="stop_gradient: no derivative flows through it, by definition")
# the parts of a complex number (JAX's convention: a cotangent g pairs with a value v by Re(g * v)); of a
# real one: itself, 0, and itself. np.real and np.imag are views of their argument (z.real[0] = 1.0
# writes into z)
rule("np.real", "val", val="np.real(g)", linear=True, complex_reverse={"val": "g"}, view=True)
rule("np.imag", "val", val="0.0 * g", linear=True, complex_reverse={"val": "-1j * g"}, view=True)
rule("np.conj", "x", x="g", linear=True, complex_reverse={"x": "np.conj(g)"})
alias("np.conjugate", "np.conj")
# the argument of z: d angle = Im(conj(z) dz) / |z|^2 (in degrees with deg=True); piecewise constant on reals
_TO_DEG = "(180 / np.pi if deg else 1.0)"
rule("np.angle", "z, deg=False", z="0.0 * g", forward={"z": "0.0 * t"}, elementwise=True,
     complex_reverse={"z": f"-1j * g * np.conj(z) / np.where(z == 0, 1.0, np.abs(z) ** 2) * {_TO_DEG}"},
     complex_forward={"z": f"np.imag(np.conj(z) * t) / np.where(z == 0, 1.0, np.abs(z) ** 2) * {_TO_DEG}"})

# --- contractions: an einsum is multilinear; its cotangent in operand k is the contraction of the others
# with g (_rt.einsum_grad{k}: slot 0 is the output, slots 1... the operands; s2sad/runtime/einsum.py)
_OPS = [f"a{k}" for k in range(6)]


def _with(ops: list[str], k: int, name: str) -> str:
    return ", ".join(name if i == k else o for i, o in enumerate(ops))


_INTERLEAVED = ("_rt.refuse('np.einsum in its interleaved form (operand, sublist, ...) is not differentiated: "
                "write the subscripts as a string')")
# a seventh operand (or an eighth, which lands in `optimize`) that depends on the input is refused here; a
# constant one by the helpers, which count the operands the subscripts name
_SEVEN = "_rt.refuse('np.einsum of more than six operands is not differentiated')"
rule("np.einsum", "subscripts, " + ", ".join(f"{o}=None" for o in _OPS) + ", a6=None, optimize=False",
     forward={"subscripts": _INTERLEAVED, "a6": _SEVEN, "optimize": _SEVEN,
              **{o: f"_rt.einsum_grad0(subscripts, None, {_with(_OPS, k, 't')})" for k, o in enumerate(_OPS)}},
     subscripts=_INTERLEAVED, a6=_SEVEN, optimize=_SEVEN, view=True,
     **{o: f"_rt.einsum_grad{k + 1}(subscripts, g, {', '.join(_OPS)})" for k, o in enumerate(_OPS)})
_TD = "_rt.tensordot_subscripts(a, b, axes)"
rule("np.tensordot", "a, b, axes=2", a=f"_rt.einsum_grad1({_TD}, g, a, b)", b=f"_rt.einsum_grad2({_TD}, g, a, b)",
     forward={"a": "np.tensordot(t, b, axes)", "b": "np.tensordot(a, t, axes)"})

# padding: modes that copy elements (constant, edge, reflect, symmetric, wrap); the others are refused
rule("np.pad", "array, pad_width, mode='constant', constant_values=0", array="_rt.pad_grad(g, array, pad_width, mode)",
     constant_values="_rt.pad_grad_constant(g, array, pad_width, constant_values)",
     forward={"array": "_rt.pad_linear(t, pad_width, mode)",
              "constant_values": "np.pad(_rt.zeros(array), pad_width, constant_values=t)"})
# splits: a list of views; the parts' cotangents are joined back (a part not used contributes zeros)
rule("np.split", "ary, indices_or_sections, axis=0", ary="_rt.split_grad(g, ary, indices_or_sections, axis)",
     linear=True, view=True)
alias("np.array_split", "np.split")
rule("np.hsplit", "ary, indices_or_sections",
     ary="_rt.split_grad(g, ary, indices_or_sections, _rt.hsplit_axis(ary))", linear=True, view=True)
rule("np.vsplit", "ary, indices_or_sections", ary="_rt.split_grad(g, ary, indices_or_sections, 0)", linear=True,
     view=True)
rule("np.dsplit", "ary, indices_or_sections", ary="_rt.split_grad(g, ary, indices_or_sections, 2)", linear=True,
     view=True)

# order statistics, linear interpolation between neighbours in sorted order: the cotangent follows the
# sorting permutation (ties: as np.sort's stable order). q is not differentiated (refused if it is active)
_Q_REFUSED = "_rt.refuse('the derivative of np.{} in q is not supported: q must not depend on the input')"
# (out= and overwrite_input=True are refused by the helpers: a result s2sad does not see, an input sorted in place)
for _name, _q in (("quantile", "q"), ("percentile", "np.true_divide(q, 100)")):
    rule(f"np.{_name}", "a, q, axis=None, out=None, overwrite_input=False, method='linear', keepdims=False",
         a=f"_rt.quantile_grad(g, a, {_q}, axis, keepdims, method, overwrite_input, out)", q=_Q_REFUSED.format(_name),
         forward={"a": f"_rt.quantile_jvp(t, a, {_q}, axis, keepdims, method, overwrite_input, out)",
                  "q": _Q_REFUSED.format(_name)})
rule("np.median", "a, axis=None, out=None, overwrite_input=False, keepdims=False",
     a="_rt.quantile_grad(g, a, 0.5, axis, keepdims, 'linear', overwrite_input, out)",
     forward={"a": "_rt.quantile_jvp(t, a, 0.5, axis, keepdims, 'linear', overwrite_input, out)"}, reduction=True)

# piecewise linear interpolation: linear in fp (and in left and right), slope by slope in x; the sample
# points xp are not differentiated (refused if they are active)
_XP_REFUSED = "_rt.refuse('the derivative of np.interp in xp (the sample points) is not supported')"
rule("np.interp", "x, xp, fp, left=None, right=None", x="g * _rt.interp_slope_at(fp, x, xp)",
     fp="_rt.interp_grad_fp(g, x, xp, fp, left, right)", left="np.sum(g * _rt.interp_outside(x, xp, 0))",
     right="np.sum(g * _rt.interp_outside(x, xp, 1))", xp=_XP_REFUSED,
     forward={"x": "t * _rt.interp_slope_at(fp, x, xp)", "fp": "_rt.interp_fp(t, x, xp, left, right)",
              "left": "t * _rt.interp_outside(x, xp, 0)", "right": "t * _rt.interp_outside(x, xp, 1)",
              "xp": _XP_REFUSED})

# the rest of what HIPS autograd differentiates (tests/rules/test_autograd_coverage.py)
rule("np.flipud", "m", m="np.flipud(g)", linear=True, view=True)
rule("np.fliplr", "m", m="np.fliplr(g)", linear=True, view=True)
rule("np.rot90", "m, k=1, axes=None", m="_rt.rot90(g, -k, axes)", forward={"m": "_rt.rot90(t, k, axes)"},
     linear=True, view=True)
rule("np.moveaxis", "a, source, destination", a="np.moveaxis(g, destination, source)", linear=True, view=True)
for _n in (1, 2, 3):
    rule(f"np.atleast_{_n}d", "a", a="np.reshape(g, np.shape(a))", linear=True, view=True)
rule("np.logaddexp2", "x, y", x="g * np.exp2(x - ans)", y="g * np.exp2(y - ans)", elementwise=True)
# x - floor(x / y) * y: the floor is piecewise constant
rule("np.remainder", "x, y", x="g", y="-g * np.floor_divide(x, y)", elementwise=True)
alias("np.mod", "np.remainder")

real_valued("np.abs", "np.real", "np.imag", "np.angle", "np.linalg.norm")
# holomorphic (or linear over the complex numbers): the templates above hold for complex operands as they are
holomorphic(*[f"np.{_n}" for _n in """
sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh exp exp2 expm1 log log2 log10 log1p sqrt
square reciprocal negative positive add subtract multiply divide power where sum mean prod cumsum
cumprod dot matmul inner outer trace linalg.inv linalg.det linalg.solve linalg.matrix_power reshape ravel
transpose swapaxes expand_dims squeeze flip broadcast_to tile concatenate stack hstack vstack array asarray copy
diff diag diagonal triu tril roll repeat take take_along_axis cross kron average polyval linspace full full_like
einsum tensordot pad split hsplit vsplit dsplit flipud fliplr rot90 moveaxis atleast_1d atleast_2d atleast_3d
""".split()], "getitem", "astype")
returns_parts("np.linalg.lstsq", "np.dsplit", "np.nonzero")   # (batching.py marks the others it stacks)
