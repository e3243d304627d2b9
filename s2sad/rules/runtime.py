"""Rules of s2sad's own runtime helpers, so that generated code can be differentiated again.

The helpers that rules call are linear in their first argument (a cotangent); their forward rule is the
helper applied to the tangent. Where a helper also depends smoothly on another argument (matmul's
operands, var/std/norm), an explicit forward rule says how; where a second derivative is not
supported, the forward rule raises a clear error when it runs.
"""
from .table import RULES, holomorphic, nondiff, rule, shaped_like

rule("_rt.unbroadcast", "c, x", c="_rt.rebroadcast(g, c)", linear=True, shape_arg=1)
rule("_rt.rebroadcast", "c, x", c="_rt.rebroadcast(g, c)", linear=True)
rule("_rt.tangent_like", "c, x", c="_rt.unbroadcast(g, c)", linear=True)
rule("_rt.owned", "c, x", c="_rt.unbroadcast(g, c)", linear=True)
rule("_rt.sum_grad", "c, a, axis=None, keepdims=False", c="np.sum(g, axis=axis, keepdims=keepdims)", linear=True, shape_arg=1)
rule("_rt.mean_grad", "c, a, axis=None, keepdims=False", c="np.mean(g, axis=axis, keepdims=keepdims)", linear=True, shape_arg=1)
rule("_rt.cumsum_grad", "c, a, axis=None", c="np.cumsum(g, axis=axis)", linear=True)
rule("_rt.transpose_grad", "c, axes=None", c="_rt.transpose_back(g, axes)", linear=True)
rule("_rt.tile_grad", "c, A, reps", c="np.tile(g, reps)", linear=True)
rule("_rt.getitem_grad", "c, x, index", c="g[index]", linear=True)
rule("_rt.assigned_grad", "c, x, index, v", c="_rt.second_order('x[index] = v (reverse over reverse)')",
     linear=True)
rule("_rt.concatenate_grad", "c, arrays, axis=0", c="np.concatenate(g, axis=axis)", linear=True)
rule("_rt.stack_grad", "c, arrays, axis=0", c="np.stack(g, axis=axis)", linear=True)
rule("_rt.hstack_grad", "c, tup", c="np.hstack(g)", linear=True)
rule("_rt.vstack_grad", "c, tup", c="np.vstack(g)", linear=True)
rule("_rt.extremum_grad", "c, y, a, axis=None, keepdims=False", c="_rt.extremum_jvp(g, y, a, axis, keepdims)",
     linear=True)

rule("_rt.diff_grad", "c, a, n=1, axis=-1", c="np.diff(g, n, axis)", linear=True, shape_arg=1)
rule("_rt.diagonal_grad", "c, a, offset=0, axis1=0, axis2=1", c="np.diagonal(g, offset, axis1, axis2)", linear=True,
     shape_arg=1)
rule("_rt.diag_grad", "c, v, k=0", c="np.diag(g, k)", linear=True, shape_arg=1)
rule("_rt.trace_grad", "c, a, offset=0, axis1=0, axis2=1", c="np.trace(g, offset, axis1, axis2)", linear=True,
     shape_arg=1)
rule("_rt.roll_grad", "c, shift, axis=None", c="np.roll(g, shift, axis)", linear=True)
rule("_rt.repeat_grad", "c, a, repeats, axis=None", c="np.repeat(g, repeats, axis)", linear=True, shape_arg=1)
rule("_rt.take_grad", "c, a, indices, axis=None", c="np.take(g, indices, axis)", linear=True, shape_arg=1)
rule("_rt.take_along_axis_grad", "c, arr, indices, axis=-1", c="np.take_along_axis(g, indices, axis)", linear=True,
     shape_arg=1)

# bilinear or smooth in a second argument: explicit forward rules
rule("_rt.matmul_grad_x", "c, x, y", c="np.matmul(g, y)", y="_rt.second_order('x @ y (reverse over reverse)')",
     forward={"c": "_rt.matmul_grad_x(t, x, y)", "y": "_rt.matmul_grad_x(c, x, t)"})
rule("_rt.matmul_grad_y", "c, x, y", c="np.matmul(x, g)", x="_rt.second_order('x @ y (reverse over reverse)')",
     forward={"c": "_rt.matmul_grad_y(t, x, y)", "x": "_rt.matmul_grad_y(c, t, y)"})
rule("_rt.dot_grad_a", "c, a, b", c="np.dot(g, b)", b="_rt.second_order('np.dot (reverse over reverse)')",
     forward={"c": "_rt.dot_grad_a(t, a, b)", "b": "_rt.dot_grad_a(c, a, t)"})
rule("_rt.dot_grad_b", "c, a, b", c="np.dot(a, g)", a="_rt.second_order('np.dot (reverse over reverse)')",
     forward={"c": "_rt.dot_grad_b(t, a, b)", "a": "_rt.dot_grad_b(c, t, b)"})
rule("_rt.var_grad", "c, a, axis=None, ddof=0, keepdims=False", c="_rt.var_jvp(g, a, axis, ddof, keepdims)",
     a="_rt.var_grad(_rt.var_jvp(g, c, axis, ddof, keepdims), a, axis, ddof, True)",
     forward={"c": "_rt.var_grad(t, a, axis, ddof, keepdims)", "a": "_rt.var_grad(c, t, axis, ddof, keepdims)"})
rule("_rt.std_grad", "c, y, a, axis=None, ddof=0, keepdims=False",
     c="_rt.std_jvp(g, y, a, axis, ddof, keepdims)", y="_rt.second_order('np.std (reverse over reverse)')",
     a="_rt.second_order('np.std (reverse over reverse)')",
     forward={"c": "_rt.std_grad(t, y, a, axis, ddof, keepdims)",
              "y": "_rt.std_grad(-c * t / y, y, a, axis, ddof, keepdims)",
              "a": "_rt.std_grad(c, y, t, axis, ddof, keepdims)"})
rule("_rt.norm_grad", "c, y, x, ord=None, axis=None, keepdims=False",
     c="_rt.norm_jvp(g, y, x, ord, axis, keepdims)", y="_rt.second_order('norm (reverse over reverse)')",
     x="_rt.second_order('norm (reverse over reverse)')",
     forward={"c": "_rt.norm_grad(t, y, x, ord, axis, keepdims)",
              "y": "_rt.norm_grad_dy(c, y, x, t, ord, axis, keepdims)",
              "x": "_rt.norm_grad_dx(c, y, x, t, ord, axis, keepdims)"})
rule("_rt.prod_grad", "c, y, a, axis=None, keepdims=False", c="_rt.prod_jvp(g, y, a, axis, keepdims)",
     a="_rt.second_order('np.prod (reverse over reverse)')",
     forward={"c": "_rt.prod_grad(t, y, a, axis, keepdims)", "a": "_rt.prod_grad_da(c, a, t, axis, keepdims)"})
rule("_rt.prod_jvp", "c, y, a, axis=None, keepdims=False", c="_rt.prod_grad(g, y, a, axis, keepdims)",
     a="_rt.second_order('np.prod (reverse over forward)')",
     forward={"c": "_rt.prod_jvp(t, y, a, axis, keepdims)", "a": "_rt.prod_jvp_da(c, a, t, axis, keepdims)"})

# the pieces of the np.linalg rules: linear ones, and 1 / (w[j] - w[i]) off the diagonal (elementwise in the
# differences). eigh_jvp, svd_jvp and qr_jvp (forward rules' helpers) have no rule: a third derivative through
# them is refused as through any function without one
rule("_rt.as_matrix", "c, b", c="_rt.from_matrix(g, b)", linear=True)
rule("_rt.from_matrix", "c, b", c="_rt.as_matrix(g, b)", linear=True)
rule("_rt.symmetrize", "x", x="_rt.symmetrize(g)", linear=True)
rule("_rt.lower_half", "x", x="_rt.lower_half(g)", linear=True)
rule("_rt.transpose_if", "x, flag", x="_rt.transpose_if(g, flag)", linear=True)
rule("_rt.offdiag_inv", "d", d="-g * ans ** 2", elementwise=True)
rule("_rt.svd_cotangent", "c, a, full_matrices=True, compute_uv=True",
     c="_rt.svd_cotangent(g, a, full_matrices, compute_uv)", linear=True)
rule("_rt.qr_cotangent", "c, a, mode='reduced'", c="_rt.qr_cotangent(g, a, mode)", linear=True)

# cumprod_jvp and average_jvp_w (the forward rules' helpers) have no rule: a third derivative through them is
# refused as through any function without one
rule("_rt.cumprod_grad", "c, y, a, axis=None", c="_rt.cumprod_jvp(g, y, a, axis)",
     a="_rt.second_order('np.cumprod (reverse over reverse)')",
     forward={"c": "_rt.cumprod_grad(t, y, a, axis)", "a": "_rt.cumprod_grad_da(c, a, t, axis)"})
rule("_rt.kron_grad_a", "c, a, b", c="np.kron(g, b)", b="_rt.kron_grad_b(c, g, b)",
     forward={"c": "_rt.kron_grad_a(t, a, b)", "b": "_rt.kron_grad_a(c, a, t)"}, shape_arg=1)
rule("_rt.kron_grad_b", "c, a, b", c="np.kron(a, g)", a="_rt.kron_grad_a(c, a, g)",
     forward={"c": "_rt.kron_grad_b(t, a, b)", "a": "_rt.kron_grad_b(c, t, b)"}, shape_arg=2)
# the n-th derivative of sinc, and of a polynomial in x; both to any order
rule("_rt.sinc_deriv", "x, n=1", x="g * _rt.sinc_deriv(x, n + 1)", elementwise=True)
rule("_rt.polyval_deriv", "p, x, m=1", p="_rt.polyval_grad_p(g, p, x, m)",
     x="_rt.unbroadcast(g * _rt.polyval_deriv(p, x, m + 1), x)",
     forward={"p": "_rt.polyval_deriv(t, x, m)", "x": "t * _rt.polyval_deriv(p, x, m + 1)"})
rule("_rt.polyval_grad_p", "c, p, x, m=0", c="_rt.polyval_deriv(g, x, m)",
     x="_rt.unbroadcast(c * _rt.polyval_deriv(g, x, m + 1), x)",
     forward={"c": "_rt.polyval_grad_p(t, p, x, m)", "x": "_rt.polyval_grad_p(c * t, p, x, m + 1)"}, shape_arg=1)
rule("_rt.average_grad", "c, a, axis=None, weights=None, keepdims=False",
     c="np.average(g, axis=axis, weights=weights, keepdims=keepdims)",
     weights="_rt.second_order('np.average with weights (reverse over reverse)')",
     forward={"c": "_rt.average_grad(t, a, axis, weights, keepdims)",
              "weights": "_rt.average_grad_dw(c, a, axis, weights, t, keepdims)"}, shape_arg=1)
rule("_rt.average_grad_w", "c, y, a, axis=None, weights=None, keepdims=False",
     c="_rt.average_jvp_w(g, y, a, axis, weights, keepdims)",
     a="_rt.second_order('np.average with weights (reverse over reverse)')",
     weights="_rt.second_order('np.average with weights (reverse over reverse)')",
     forward={"c": "_rt.average_grad_w(t, y, a, axis, weights, keepdims)",
              "a": "_rt.average_grad_w(c, np.average(t, axis=axis, weights=weights, keepdims=keepdims), t, axis, "
                   "weights, keepdims)",
              "weights": "_rt.average_grad_w_dw(c, y, a, axis, weights, t, keepdims)"})

rule("_rt.sum_product", "a, b, x", a="_rt.unbroadcast(_rt.rebroadcast(g, a * b) * b, a)",
     b="_rt.unbroadcast(_rt.rebroadcast(g, a * b) * a, b)",
     forward={"a": "_rt.sum_product(t, b, x)", "b": "_rt.sum_product(a, t, x)"}, shape_arg=2)
rule("_rt.full", "c, x", c="_rt.unbroadcast(g, c)", linear=True, shape_arg=1)
rule("_rt.mean_scale", "c, a", c="_rt.mean_grad(g, a)", linear=True, shape_arg=1)

# the forward rules' own helpers (third derivatives)
rule("_rt.extremum_jvp", "c, y, a, axis=None, keepdims=False", c="_rt.extremum_grad(g, y, a, axis, keepdims)",
     linear=True)
rule("_rt.var_jvp", "c, a, axis=None, ddof=0, keepdims=False", c="_rt.var_grad(g, a, axis, ddof, keepdims)",
     forward={"c": "_rt.var_jvp(t, a, axis, ddof, keepdims)", "a": "_rt.var_jvp(c, t, axis, ddof, keepdims)"})

nondiff("_rt.zeros", why="zeros shaped like its argument", shape_arg=0)
for _name in ("clip_inside", "clip_below", "clip_above"):
    nondiff(f"_rt.{_name}", why="boolean output")
nondiff("_rt.second_order", why="raises: says which second derivative is not supported", pure=False)

# the rules' own helpers for sort, linspace, full and casts
rule("_rt.sort_grad", "c, a, axis=-1", c="_rt.sort_jvp(g, a, axis)", linear=True)
rule("_rt.sort_jvp", "c, a, axis=-1", c="_rt.sort_grad(g, a, axis)", linear=True)
rule("_rt.linspace_grad", "c, x, num=50, endpoint=True, which=1",
     c="_rt.second_order('np.linspace (reverse over reverse)')", linear=True)
rule("_rt.fill_grad", "c, fill, out", c="_rt.second_order('np.full (reverse over reverse)')", linear=True)
rule("_rt.cast_grad", "c, out", c="_rt.cast_grad(g, out)", linear=True)

# calls of functions with user rules (s2sad.defvjp / defjvp): _rt.customN(fun, a1, ..., aN)
for _n in range(1, 7):
    _args = ", ".join(f"a{j}" for j in range(_n))
    rule(f"_rt.custom{_n}", f"fun, {_args}", pure=False,
         forward={f"a{j}": f"_rt.custom_jvp(fun, {j}, t, ans, {_args})" for j in range(_n)},
         **{f"a{j}": f"_rt.custom_vjp(fun, {j}, g, ans, {_args})" for j in range(_n)})

# recursive calls of the user's function: _rt.recurseN(fun, a1, ..., aN), differentiated by running
# fun's own generated gradient / JVP
for _n in range(1, 7):
    _args = ", ".join(f"a{j}" for j in range(_n))
    rule(f"_rt.recurse{_n}", f"fun, {_args}", pure=False,
         forward={f"a{j}": f"_rt.recurse_jvp(fun, {j}, t, {_args})" for j in range(_n)},
         **{f"a{j}": f"_rt.recurse_vjp(fun, {j}, g, {_args})" for j in range(_n)})

# helpers the templates above call that run the user's code. They have no rule (so a derivative through
# them is refused) and are never moved, merged or dropped (effects.pure_call)
RUNS_USER_CODE = frozenset({"_rt.custom_vjp", "_rt.custom_jvp", "_rt.recurse_vjp", "_rt.recurse_jvp"})

# --- the second batch of the wider NumPy API ----------------------------------------------------------
# einsum_grad{k}: the contraction of every slot but k (s2sad/runtime/einsum.py), multilinear in the
# others; slot k is read for its shape only. Its derivatives are einsum_grads again: every order
_SLOT_NAMES = [f"s{j}" for j in range(7)]


def _slots_with(k: int, name: str) -> str:
    return ", ".join(name if j == k else s for j, s in enumerate(_SLOT_NAMES))


for _k in range(7):
    rule(f"_rt.einsum_grad{_k}", "subscripts, " + ", ".join(f"{s}=None" for s in _SLOT_NAMES),
         forward={s: f"_rt.einsum_grad{_k}(subscripts, {_slots_with(j, 't')})"
                  for j, s in enumerate(_SLOT_NAMES) if j != _k},
         shape_arg=_k + 1,
         **{s: f"_rt.einsum_grad{j}(subscripts, {_slots_with(_k, 'g')})" for j, s in enumerate(_SLOT_NAMES) if j != _k})
nondiff("_rt.tensordot_subscripts", why="a string: np.tensordot's axes as einsum subscripts")
nondiff("_rt.refuse", why="raises: says which derivative is not supported", pure=False)

rule("_rt.pad_linear", "c, pad_width, mode='constant'", c="_rt.pad_grad(g, c, pad_width, mode)", linear=True)
rule("_rt.pad_grad", "c, array, pad_width, mode='constant'", c="_rt.pad_linear(g, pad_width, mode)", linear=True,
     shape_arg=1)
rule("_rt.pad_grad_constant", "c, array, pad_width, constant_values=0",
     c="np.pad(_rt.zeros(array), pad_width, constant_values=g)", linear=True, shape_arg=1)
rule("_rt.split_grad", "c, ary, indices_or_sections, axis=0", c="np.array_split(g, indices_or_sections, axis)",
     linear=True, shape_arg=1)
nondiff("_rt.hsplit_axis", why="an axis number, from the number of dimensions")

# quantiles: linear in the cotangent; the sorting permutation is piecewise constant in a (no derivative)
rule("_rt.quantile_grad", "c, a, q, axis=None, keepdims=False, method='linear', overwrite_input=False, out=None",
     c="_rt.quantile_jvp(g, a, q, axis, keepdims, method, overwrite_input, out)", linear=True)
rule("_rt.quantile_jvp", "c, a, q, axis=None, keepdims=False, method='linear', overwrite_input=False, out=None",
     c="_rt.quantile_grad(g, a, q, axis, keepdims, method, overwrite_input, out)", linear=True)

# np.interp's pieces: linear in their first argument; the segment each x falls in is piecewise constant.
# xp (the sample points) is not differentiated, here as in np.interp's own rule
_XP = "_rt.refuse('the derivative of np.interp in xp (the sample points) is not supported')"
rule("_rt.interp_fp", "c, x, xp, left=None, right=None", c="_rt.interp_grad_fp(g, x, xp, c, left, right)",
     x="g * _rt.interp_slope_at(c, x, xp)", xp=_XP,
     forward={"c": "_rt.interp_fp(t, x, xp, left, right)", "x": "t * _rt.interp_slope_at(c, x, xp)", "xp": _XP})
rule("_rt.interp_grad_fp", "c, x, xp, fp, left=None, right=None", c="_rt.interp_fp(g, x, xp, left, right)",
     x="c * _rt.interp_slope_at(g, x, xp)", xp=_XP,
     forward={"c": "_rt.interp_grad_fp(t, x, xp, fp, left, right)", "x": "_rt.interp_slope_grad(c * t, x, xp, fp)",
              "xp": _XP}, shape_arg=3)
rule("_rt.interp_slope_at", "c, x, xp", c="_rt.interp_slope_grad(g, x, xp, c)", xp=_XP,
     forward={"c": "_rt.interp_slope_at(t, x, xp)", "xp": _XP})
rule("_rt.interp_slope_grad", "c, x, xp, fp", c="_rt.interp_slope_at(g, x, xp)", xp=_XP,
     forward={"c": "_rt.interp_slope_grad(t, x, xp, fp)", "xp": _XP}, shape_arg=3)
nondiff("_rt.interp_outside", why="boolean output")
rule("_rt.rot90", "c, k=1, axes=None", c="_rt.rot90(g, -k, axes)", linear=True)

# results shaped like an argument (the rank inference of aliasing.py reads it; unbroadcast's is that of
# its operand unless the cotangent is a number, which it returns as it is)
shaped_like(1, "_rt.unbroadcast", "_rt.tangent_like", "_rt.owned", "_rt.sum_grad", "_rt.mean_grad", "_rt.full",
            "_rt.matmul_grad_x")
shaped_like(2, "_rt.matmul_grad_y")

# np.linalg.lstsq's: the residuals as n numbers, a tuple of tangents, the check of the matrix's rank
rule("_rt.fit_residuals", "c, n", c="_rt.fit_residuals(g, np.size(c))", linear=True)
rule("_rt.parts", "*items", items="g", linear=True)
# np.<ufunc>.outer(a, b) is normalized to np.<ufunc>(_rt.outer_left(a, b), b)
rule("_rt.outer_left", "c, b", c="np.reshape(g, np.shape(c))", linear=True, view=True, complex_ok=True)
nondiff("_rt.full_column_rank", "rank, a", why="a check of the rank: 1.0 or a refusal")

# the FFT family's cotangents and the transforms again: each is the other's transpose (runtime/fft.py)
rule("_rt.fft_grad", "c, a, s, axes, norm, kind", c="_rt.fft_again(g, a, s, axes, norm, kind)", linear=True,
     complex_ok=True, complex_out=True)
rule("_rt.fft_again", "c, a, s, axes, norm, kind", c="_rt.fft_grad(g, a, s, axes, norm, kind)", linear=True,
     complex_ok=True, complex_out=True)

# linear over the complex numbers (or holomorphic): their rules hold for complex operands as they are
holomorphic(*[f"_rt.{_n}" for _n in """
unbroadcast rebroadcast tangent_like owned sum_grad mean_grad cumsum_grad transpose_grad tile_grad getitem_grad
concatenate_grad stack_grad hstack_grad vstack_grad diff_grad diagonal_grad diag_grad trace_grad roll_grad
repeat_grad take_grad take_along_axis_grad matmul_grad_x matmul_grad_y dot_grad_a dot_grad_b prod_grad prod_jvp
as_matrix from_matrix cumprod_grad kron_grad_a kron_grad_b polyval_deriv polyval_grad_p average_grad
average_grad_w sum_product full mean_scale linspace_grad fill_grad cast_grad pad_linear pad_grad
pad_grad_constant split_grad rot90
""".split()], *[k for k in RULES if k.startswith("_rt.einsum_grad")])
