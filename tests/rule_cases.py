"""User functions for tests/rules/test_rules.py: each applies one differentiable primitive.

s2sad reads source, so every case is a `def` in this file. Each function takes the primitive's
arguments and, last, a weight `w` shaped like the primitive's output, and returns
`np.sum(w * <primitive>)`: a non-uniform cotangent, so that a rule which transposes, flips or
misplaces the cotangent cannot pass (an all-ones cotangent would hide such bugs). The test derives
`w`'s shape by calling the function once with a probe in place of `w`.

`CASES` lists every (function, inputs) pair with

    diff  the arguments that are differentiated (argnums);
    keys  the rules-table keys the case is meant to exercise: test_rules checks that the normalized
          function really applies those rules, and that every differentiable rule has a case;
    cs    whether the function is complex-safe (compared against complex step), else central
          differences.

Inputs are drawn inside each primitive's domain, away from kinks and ties.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Case:
    id: str
    fn: object
    args: tuple
    diff: tuple
    keys: tuple
    cs: bool = True


CASES: list[Case] = []
_rng = np.random.default_rng(20240611)

# shapes by short name: "f" is a Python float, "0d" a 0-d array
SHAPES = {"f": "f", "0d": (), "v": (4,), "m": (3, 4), "c": (3, 1), "r": (1, 4), "b": (2, 3, 4),
          "v3": (3,), "m42": (4, 2), "m24": (2, 4), "b142": (1, 4, 2)}


def val(shape, lo=-1.0, hi=1.0, avoid=None, gap=0.05):
    """Uniform values in (lo, hi) of a shape (or a short shape name); `avoid`: keep `gap` away from it."""
    shape = SHAPES.get(shape, shape) if isinstance(shape, str) else shape
    while True:
        x = _rng.uniform(lo, hi, size=() if shape == "f" else shape)
        if avoid is None or np.all(np.abs(x - avoid) > gap):
            break
    return float(x) if shape == "f" else np.array(x, dtype=np.float64)


def add(id_, fn, args, keys, diff=None, cs=True):
    if diff is None:
        diff = tuple(i for i, a in enumerate(args)
                     if type(a) is float or (isinstance(a, np.ndarray) and a.dtype.kind == "f"))
    CASES.append(Case(id_, fn, tuple(args), tuple(diff), tuple([keys] if isinstance(keys, str) else keys), cs))


def spd(n=3):
    """A well-conditioned matrix."""
    return np.eye(n) * 3.0 + val((n, n), -0.5, 0.5)


# --- elementwise, one argument ------------------------------------------------------------------
def np_sin(x, w):
    return np.sum(w * np.sin(x))


def np_cos(x, w):
    return np.sum(w * np.cos(x))


def np_tan(x, w):
    return np.sum(w * np.tan(x))


def np_arcsin(x, w):
    return np.sum(w * np.arcsin(x))


def np_arccos(x, w):
    return np.sum(w * np.arccos(x))


def np_arctan(x, w):
    return np.sum(w * np.arctan(x))


def np_sinh(x, w):
    return np.sum(w * np.sinh(x))


def np_cosh(x, w):
    return np.sum(w * np.cosh(x))


def np_tanh(x, w):
    return np.sum(w * np.tanh(x))


def np_arcsinh(x, w):
    return np.sum(w * np.arcsinh(x))


def np_arccosh(x, w):
    return np.sum(w * np.arccosh(x))


def np_arctanh(x, w):
    return np.sum(w * np.arctanh(x))


def np_exp(x, w):
    return np.sum(w * np.exp(x))


def np_exp2(x, w):
    return np.sum(w * np.exp2(x))


def np_expm1(x, w):
    return np.sum(w * np.expm1(x))


def np_log(x, w):
    return np.sum(w * np.log(x))


def np_log2(x, w):
    return np.sum(w * np.log2(x))


def np_log10(x, w):
    return np.sum(w * np.log10(x))


def np_log1p(x, w):
    return np.sum(w * np.log1p(x))


def np_sqrt(x, w):
    return np.sum(w * np.sqrt(x))


def np_cbrt(x, w):
    return np.sum(w * np.cbrt(x))


def np_square(x, w):
    return np.sum(w * np.square(x))


def np_reciprocal(x, w):
    return np.sum(w * np.reciprocal(x))


def np_abs(x, w):
    return np.sum(w * np.abs(x))


def np_fabs(x, w):
    return np.sum(w * np.fabs(x))


def np_negative(x, w):
    return np.sum(w * np.negative(x))


def np_positive(x, w):
    return np.sum(w * np.positive(x))


def np_deg2rad(x, w):
    return np.sum(w * np.deg2rad(x))


def np_radians(x, w):
    return np.sum(w * np.radians(x))


def np_rad2deg(x, w):
    return np.sum(w * np.rad2deg(x))


def np_degrees(x, w):
    return np.sum(w * np.degrees(x))


def op_neg(x, w):
    return np.sum(w * -x)


def op_pos(x, w):
    return np.sum(w * +x)


def builtin_abs(x, w):
    return np.sum(w * abs(x))


UNARY = [  # function, key, low, high, complex-safe, value to stay away from
    (np_sin, "np.sin", -2, 2, True, None),
    (np_cos, "np.cos", -2, 2, True, None),
    (np_tan, "np.tan", -1.2, 1.2, True, None),
    (np_arcsin, "np.arcsin", -0.9, 0.9, True, None),
    (np_arccos, "np.arccos", -0.9, 0.9, True, None),
    (np_arctan, "np.arctan", -2, 2, True, None),
    (np_sinh, "np.sinh", -2, 2, True, None),
    (np_cosh, "np.cosh", -2, 2, True, None),
    (np_tanh, "np.tanh", -2, 2, True, None),
    (np_arcsinh, "np.arcsinh", -2, 2, True, None),
    (np_arccosh, "np.arccosh", 1.2, 3, True, None),
    (np_arctanh, "np.arctanh", -0.9, 0.9, True, None),
    (np_exp, "np.exp", -2, 2, True, None),
    (np_exp2, "np.exp2", -2, 2, True, None),
    (np_expm1, "np.expm1", -2, 2, True, None),
    (np_log, "np.log", 0.2, 3, True, None),
    (np_log2, "np.log2", 0.2, 3, True, None),
    (np_log10, "np.log10", 0.2, 3, True, None),
    (np_log1p, "np.log1p", -0.5, 2, True, None),
    (np_sqrt, "np.sqrt", 0.2, 3, True, None),
    (np_cbrt, "np.cbrt", -3, 3, False, 0.0),
    (np_square, "np.square", -2, 2, True, None),
    (np_reciprocal, "np.reciprocal", 0.3, 3, True, None),
    (np_abs, "np.abs", -2, 2, False, 0.0),
    (np_fabs, "np.fabs", -2, 2, False, 0.0),
    (np_negative, "np.negative", -2, 2, True, None),
    (np_positive, "np.positive", -2, 2, True, None),
    (np_deg2rad, "np.deg2rad", -200, 200, False, None),
    (np_radians, "np.radians", -200, 200, False, None),
    (np_rad2deg, "np.rad2deg", -2, 2, False, None),
    (np_degrees, "np.degrees", -2, 2, False, None),
    (op_neg, "neg", -2, 2, True, None),
    (op_pos, "pos", -2, 2, True, None),
    (builtin_abs, "abs", -2, 2, False, 0.0),
]
for _fn, _key, _lo, _hi, _cs, _avoid in UNARY:
    for _s in ("f", "0d", "v", "m"):
        add(f"{_key}-{_s}", _fn, [val(_s, _lo, _hi, _avoid)], _key, cs=_cs)


# --- elementwise, two arguments (broadcasting) -------------------------------------------------
def np_add(x, y, w):
    return np.sum(w * np.add(x, y))


def np_subtract(x, y, w):
    return np.sum(w * np.subtract(x, y))


def np_multiply(x, y, w):
    return np.sum(w * np.multiply(x, y))


def np_divide(x, y, w):
    return np.sum(w * np.divide(x, y))


def np_true_divide(x, y, w):
    return np.sum(w * np.true_divide(x, y))


def np_power(x, y, w):
    return np.sum(w * np.power(x, y))


def np_float_power(x, y, w):
    return np.sum(w * np.float_power(x, y))


def np_arctan2(x, y, w):
    return np.sum(w * np.arctan2(x, y))


def np_hypot(x, y, w):
    return np.sum(w * np.hypot(x, y))


def np_logaddexp(x, y, w):
    return np.sum(w * np.logaddexp(x, y))


def np_maximum(x, y, w):
    return np.sum(w * np.maximum(x, y))


def np_minimum(x, y, w):
    return np.sum(w * np.minimum(x, y))


def np_fmax(x, y, w):
    return np.sum(w * np.fmax(x, y))


def np_fmin(x, y, w):
    return np.sum(w * np.fmin(x, y))


def op_add(x, y, w):
    return np.sum(w * (x + y))


def op_sub(x, y, w):
    return np.sum(w * (x - y))


def op_mul(x, y, w):
    return np.sum(w * (x * y))


def op_truediv(x, y, w):
    return np.sum(w * (x / y))


def op_pow(x, y, w):
    return np.sum(w * x ** y)


def op_mod(x, y, w):
    return np.sum(w * (x % y))


def builtin_max2(x, y, w):
    return np.sum(w * max(x, y))


def builtin_min2(x, y, w):
    return np.sum(w * min(x, y))


PAIRS = [("f", "f"), ("0d", "0d"), ("f", "v"), ("v", "0d"), ("v", "v"), ("m", "m"), ("c", "r"),
         ("v", "m"), ("m", "f")]
BINARY = [  # function, key, (x low, x high), (y low, y high), complex-safe, keep x and y apart
    (np_add, "np.add", (-2, 2), (-2, 2), True, False),
    (np_subtract, "np.subtract", (-2, 2), (-2, 2), True, False),
    (np_multiply, "np.multiply", (-2, 2), (-2, 2), True, False),
    (np_divide, "np.divide", (-2, 2), (0.5, 2), True, False),
    (np_true_divide, "np.true_divide", (-2, 2), (0.5, 2), True, False),
    (np_power, "np.power", (0.5, 2), (-1.5, 1.5), True, False),
    (np_float_power, "np.float_power", (0.5, 2), (-1.5, 1.5), True, False),
    (np_arctan2, "np.arctan2", (-2, 2), (0.3, 2), False, False),
    (np_hypot, "np.hypot", (0.3, 2), (-2, -0.3), False, False),
    (np_logaddexp, "np.logaddexp", (-2, 2), (-2, 2), False, False),
    (np_maximum, "np.maximum", (-2, 2), (-2, 2), False, True),
    (np_minimum, "np.minimum", (-2, 2), (-2, 2), False, True),
    (np_fmax, "np.fmax", (-2, 2), (-2, 2), False, True),
    (np_fmin, "np.fmin", (-2, 2), (-2, 2), False, True),
    (op_add, "add", (-2, 2), (-2, 2), True, False),
    (op_sub, "sub", (-2, 2), (-2, 2), True, False),
    (op_mul, "mul", (-2, 2), (-2, 2), True, False),
    (op_truediv, "truediv", (-2, 2), (0.5, 2), True, False),
    (op_pow, "pow", (0.5, 2), (-1.5, 1.5), True, False),
    (op_mod, "mod", (2.2, 2.6), (1.0, 1.05), False, False),
]


def _pair(sx, sy, xr, yr, apart):
    x = val(sx, *xr)
    while True:
        y = val(sy, *yr)
        if not apart or np.min(np.abs(np.subtract(x, y))) > 0.05:
            return x, y


for _fn, _key, _xr, _yr, _cs, _apart in BINARY:
    for _sx, _sy in PAIRS:
        add(f"{_key}-{_sx}-{_sy}", _fn, _pair(_sx, _sy, _xr, _yr, _apart), _key, cs=_cs)
for _sx, _sy in [("f", "f"), ("0d", "f")]:    # Python's max/min of two numbers (arrays: ambiguous truth)
    add(f"builtin-max-{_sx}-{_sy}", builtin_max2, _pair(_sx, _sy, (-2, 2), (-2, 2), True), "np.maximum", cs=False)
    add(f"builtin-min-{_sx}-{_sy}", builtin_min2, _pair(_sx, _sy, (-2, 2), (-2, 2), True), "np.minimum", cs=False)


# --- math and builtins on Python floats ---------------------------------------------------------
def m_sin(x, w):
    return w * math.sin(x)


def m_cos(x, w):
    return w * math.cos(x)


def m_tan(x, w):
    return w * math.tan(x)


def m_asin(x, w):
    return w * math.asin(x)


def m_acos(x, w):
    return w * math.acos(x)


def m_atan(x, w):
    return w * math.atan(x)


def m_sinh(x, w):
    return w * math.sinh(x)


def m_cosh(x, w):
    return w * math.cosh(x)


def m_tanh(x, w):
    return w * math.tanh(x)


def m_exp(x, w):
    return w * math.exp(x)


def m_expm1(x, w):
    return w * math.expm1(x)


def m_log(x, w):
    return w * math.log(x)


def m_log2(x, w):
    return w * math.log2(x)


def m_log10(x, w):
    return w * math.log10(x)


def m_log1p(x, w):
    return w * math.log1p(x)


def m_sqrt(x, w):
    return w * math.sqrt(x)


def m_fabs(x, w):
    return w * math.fabs(x)


def m_erf(x, w):
    return w * math.erf(x)


def m_erfc(x, w):
    return w * math.erfc(x)


def m_atan2(y, x, w):
    return w * math.atan2(y, x)


def m_copysign(x, y, w):
    return w * math.copysign(x, y)


def m_hypot(x, y, w):
    return w * math.hypot(x, y)


def m_pow(x, y, w):
    return w * math.pow(x, y)


def b_float(x, w):
    return w * float(x)


def b_item(x, w):
    return w * x.item()


MATH = [  # function, key, low, high
    (m_sin, "math.sin", -2, 2), (m_cos, "math.cos", -2, 2), (m_tan, "math.tan", -1.2, 1.2),
    (m_asin, "math.asin", -0.9, 0.9), (m_acos, "math.acos", -0.9, 0.9), (m_atan, "math.atan", -2, 2),
    (m_sinh, "math.sinh", -2, 2), (m_cosh, "math.cosh", -2, 2), (m_tanh, "math.tanh", -2, 2),
    (m_exp, "math.exp", -2, 2), (m_expm1, "math.expm1", -2, 2), (m_log, "math.log", 0.2, 3),
    (m_log2, "math.log2", 0.2, 3), (m_log10, "math.log10", 0.2, 3), (m_log1p, "math.log1p", -0.5, 2),
    (m_sqrt, "math.sqrt", 0.2, 3), (m_fabs, "math.fabs", 0.2, 2), (m_fabs, "math.fabs", -2, -0.2),
    (m_erf, "math.erf", -2, 2), (m_erfc, "math.erfc", -2, 2),
]
for _i, (_fn, _key, _lo, _hi) in enumerate(MATH):
    add(f"{_key}-{_i}", _fn, [val("f", _lo, _hi)], _key, cs=False)
add("math.atan2", m_atan2, [val("f", -2, 2), val("f", 0.3, 2)], "math.atan2", cs=False)
add("math.atan2-neg", m_atan2, [val("f", 0.3, 2), val("f", -2, -0.3)], "math.atan2", cs=False)
add("math.copysign", m_copysign, [val("f", 0.3, 2), val("f", -2, -0.3)], "math.copysign", cs=False)
add("math.copysign-same", m_copysign, [val("f", -2, -0.3), val("f", -2, -0.3)], "math.copysign", cs=False)
add("math.hypot", m_hypot, [val("f", 0.3, 2), val("f", -2, -0.3)], "math.hypot", cs=False)
add("math.pow", m_pow, [val("f", 0.5, 2), val("f", -1.5, 1.5)], "math.pow", cs=False)
add("float-0d", b_float, [val("0d")], "float", cs=False)
add("float-f", b_float, [val("f")], "float", cs=False)
add("item-0d", b_item, [val("0d")], "float", cs=False)


# --- where, clip ---------------------------------------------------------------------------------
def where_data(x, y, w):
    return np.sum(w * np.where(x > 0, x, y))


def where_const(x, w):
    return np.sum(w * np.where(x > 0, x * x, 0.5))


def where_cond(c, x, y, w):
    return np.sum(w * np.where(c, x, y))


def clip_args(x, lo, hi, w):
    return np.sum(w * np.clip(x, lo, hi))


def clip_const(x, w):
    return np.sum(w * np.clip(x, -0.5, 0.5))


def clip_upper(x, hi, w):
    return np.sum(w * np.clip(x, None, hi))


def clip_method(x, w):
    return np.sum(w * x.clip(-0.5, 0.5))


for _sx, _sy in [("f", "f"), ("v", "v"), ("m", "f"), ("c", "r")]:
    add(f"where-data-{_sx}-{_sy}", where_data, [val(_sx, avoid=0.0), val(_sy)], "np.where", cs=False)
add("where-const-m", where_const, [val("m", avoid=0.0)], "np.where", cs=False)
add("where-cond-bcast", where_cond, [val("m") > 0, val("c"), val("r")], "np.where", diff=(1, 2))
add("clip-args-v", clip_args, [val(12, -1, 1, avoid=np.array([[-0.4], [0.4]])), -0.4, 0.4], "np.clip", cs=False)
add("clip-args-arr", clip_args, [val((3, 4), -1, 1, avoid=np.array([[[-0.4]], [[0.4]]])),
                                 np.full((3, 1), -0.4), np.full((1, 4), 0.4)], "np.clip", cs=False)
add("clip-const-m", clip_const, [val("m", avoid=np.array([[[-0.5]], [[0.5]]]))], "np.clip", cs=False)
add("clip-upper-v", clip_upper, [val(8, avoid=0.3), 0.3], "np.clip", cs=False)
add("clip-method-m", clip_method, [val("m", avoid=np.array([[[-0.5]], [[0.5]]]))], "np.clip", cs=False)


# --- reductions and scans ------------------------------------------------------------------------
def r_sum(x, axis, keepdims, w):
    return np.sum(w * np.sum(x, axis=axis, keepdims=keepdims))


def r_mean(x, axis, keepdims, w):
    return np.sum(w * np.mean(x, axis=axis, keepdims=keepdims))


def r_prod(x, axis, keepdims, w):
    return np.sum(w * np.prod(x, axis=axis, keepdims=keepdims))


def r_max(x, axis, keepdims, w):
    return np.sum(w * np.max(x, axis=axis, keepdims=keepdims))


def r_min(x, axis, keepdims, w):
    return np.sum(w * np.min(x, axis=axis, keepdims=keepdims))


def r_amax(x, axis, keepdims, w):
    return np.sum(w * np.amax(x, axis=axis, keepdims=keepdims))


def r_amin(x, axis, keepdims, w):
    return np.sum(w * np.amin(x, axis=axis, keepdims=keepdims))


def r_var(x, axis, keepdims, w):
    return np.sum(w * np.var(x, axis=axis, keepdims=keepdims))


def r_std(x, axis, keepdims, w):
    return np.sum(w * np.std(x, axis=axis, keepdims=keepdims))


def r_var_ddof(x, axis, w):
    return np.sum(w * np.var(x, axis=axis, ddof=1))


def r_std_ddof(x, axis, w):
    return np.sum(w * np.std(x, axis=axis, ddof=1))


def r_cumsum(x, axis, w):
    return np.sum(w * np.cumsum(x, axis=axis))


def r_norm(x, ord, axis, keepdims, w):
    return np.sum(w * np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims))


def r_norm_plain(x, w):
    return np.sum(w * np.linalg.norm(x))


REDUCTIONS = [  # function, key, low, high, complex-safe
    (r_sum, "np.sum", -2, 2, True), (r_mean, "np.mean", -2, 2, True), (r_prod, "np.prod", 0.5, 1.5, True),
    (r_max, "np.max", -2, 2, False), (r_min, "np.min", -2, 2, False), (r_amax, "np.amax", -2, 2, False),
    (r_amin, "np.amin", -2, 2, False), (r_var, "np.var", -2, 2, False), (r_std, "np.std", -2, 2, False),
]
AXES = {1: [None, 0, -1], 2: [None, 0, 1, -1, (0, 1)], 3: [None, 1, (0, 2), (2, 1)]}
for _fn, _key, _lo, _hi, _cs in REDUCTIONS:
    if _key in ("np.sum", "np.mean", "np.prod"):
        add(f"{_key}-f", _fn, [val("f", _lo, _hi), None, False], _key, cs=_cs)
        add(f"{_key}-0d", _fn, [val("0d", _lo, _hi), None, True], _key, cs=_cs)
    for _s in ("v", "m", "b"):
        _x = val(_s, _lo, _hi)
        for _axis in AXES[_x.ndim]:
            for _kd in (False, True):
                add(f"{_key}-{_s}-axis{_axis}-kd{_kd}", _fn, [_x, _axis, _kd], _key, cs=_cs)
add("np.prod-zero", r_prod, [np.array([0.0, 2.0, -1.5, 0.7]), None, False], "np.prod")
add("np.prod-two-zeros", r_prod, [np.array([[0.0, 2.0, 0.0], [1.0, 0.5, 3.0]]), 1, False], "np.prod")
for _s in ("v", "m"):
    _x = val(_s, -2, 2)
    for _axis in AXES[_x.ndim][:3]:
        add(f"np.var-ddof1-{_s}-axis{_axis}", r_var_ddof, [_x, _axis], "np.var", cs=False)
        add(f"np.std-ddof1-{_s}-axis{_axis}", r_std_ddof, [_x, _axis], "np.std", cs=False)
for _s in ("v", "m", "b"):
    _x = val(_s, -2, 2)
    for _axis in [None, 0, -1] + ([1] if _x.ndim > 1 else []):
        add(f"np.cumsum-{_s}-axis{_axis}", r_cumsum, [_x, _axis], "np.cumsum")
# norms: vector norms, matrix norms (axis None on a matrix, or a pair of axes), norms along an axis
_v, _m, _b = val("v", avoid=0.0), val("m", avoid=0.0), val("b", avoid=0.0)
for _ord in (None, 1, 2, 3, np.inf, -np.inf):
    for _kd in (False, True):
        add(f"norm-v-ord{_ord}-kd{_kd}", r_norm, [_v, _ord, None, _kd], "np.linalg.norm", diff=(0,), cs=False)
for _ord in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
    for _kd in (False, True):
        add(f"norm-m-ord{_ord}-kd{_kd}", r_norm, [_m, _ord, None, _kd], "np.linalg.norm", diff=(0,), cs=False)
    add(f"norm-m-ord{_ord}-axis01", r_norm, [_m, _ord, (0, 1), False], "np.linalg.norm", diff=(0,), cs=False)
    add(f"norm-m-ord{_ord}-axis10", r_norm, [_m, _ord, (1, 0), True], "np.linalg.norm", diff=(0,), cs=False)
    add(f"norm-b-ord{_ord}-axis20", r_norm, [_b, _ord, (2, 0), False], "np.linalg.norm", diff=(0,), cs=False)
for _ord in (None, 1, 2, np.inf):
    for _axis in (0, 1, -1):
        for _kd in (False, True):
            add(f"norm-m-ord{_ord}-axis{_axis}-kd{_kd}", r_norm, [_m, _ord, _axis, _kd], "np.linalg.norm", diff=(0,), cs=False)
add("norm-plain-m", r_norm_plain, [_m], "np.linalg.norm", diff=(0,), cs=False)


# --- products and linear algebra ----------------------------------------------------------------
def p_dot(a, b, w):
    return np.sum(w * np.dot(a, b))


def p_matmul(a, b, w):
    return np.sum(w * np.matmul(a, b))


def op_matmul(a, b, w):
    return np.sum(w * (a @ b))


def p_inner(a, b, w):
    return np.sum(w * np.inner(a, b))


def p_outer(a, b, w):
    return np.sum(w * np.outer(a, b))


def la_inv(a, w):
    return np.sum(w * np.linalg.inv(a))


def la_det(a, w):
    return np.sum(w * np.linalg.det(a))


def la_solve(a, b, w):
    return np.sum(w * np.linalg.solve(a, b))


def la_trace(a, w):
    return np.sum(w * np.trace(a))


for _sa, _sb in [("v", "v"), ("m", "v"), ("v3", "m"), ("m", "m42"), ("f", "v"), ("v", "f"), ("0d", "m"), ("f", "f")]:
    add(f"np.dot-{_sa}-{_sb}", p_dot, [val(_sa), val(_sb)], "np.dot")
for _sa, _sb in [("v", "v"), ("m", "v"), ("v3", "m"), ("m", "m42"), ("b", "m42"), ("b", "v"), ("v3", "b"),
                 ("b", "b142")]:
    add(f"np.matmul-{_sa}-{_sb}", p_matmul, [val(_sa), val(_sb)], "np.matmul")
    add(f"matmul-{_sa}-{_sb}", op_matmul, [val(_sa), val(_sb)], "matmul")
for _sa, _sb in [("v", "v"), ("m", "v"), ("v", "m24"), ("m", "m24"), ("b", "m24"), ("f", "v"), ("m", "f")]:
    add(f"np.inner-{_sa}-{_sb}", p_inner, [val(_sa), val(_sb)], "np.inner")
for _sa, _sb in [("v3", "v"), ("m", "v3"), ("f", "v"), ("0d", "0d")]:
    add(f"np.outer-{_sa}-{_sb}", p_outer, [val(_sa), val(_sb)], "np.outer")
add("inv-3", la_inv, [spd(3)], "np.linalg.inv")
add("inv-2", la_inv, [spd(2)], "np.linalg.inv")
add("det-3", la_det, [spd(3)], "np.linalg.det")
add("det-4-negative", la_det, [spd(4) - 6.0 * np.eye(4)], "np.linalg.det")
add("solve-vec", la_solve, [spd(3), val("v3")], "np.linalg.solve")
add("solve-mat", la_solve, [spd(3), val((3, 2))], "np.linalg.solve")
add("trace-sq", la_trace, [val((3, 3))], "np.trace")
add("trace-rect", la_trace, [val("m")], "np.trace")


# stacks of matrices (leading axes), and np.linalg.solve's two readings of b: a vector (1-D) or matrices
add("inv-stack", la_inv, [np.stack([spd(3), spd(3)])], "np.linalg.inv")
add("det-stack", la_det, [np.stack([spd(3), spd(3) - 6.0 * np.eye(3)])], "np.linalg.det")
add("solve-stack-vec", la_solve, [np.stack([spd(3), spd(3)]), val("v3")], "np.linalg.solve")
add("solve-stack-mat", la_solve, [np.stack([spd(3), spd(3)]), val((2, 3, 2))], "np.linalg.solve")
add("solve-mat-stacked-b", la_solve, [spd(3), val((2, 3, 2))], "np.linalg.solve")
add("solve-stack-shared-b", la_solve, [np.stack([spd(3), spd(3)]), val((3, 2))], "np.linalg.solve")


# --- more of np.linalg: decompositions (tuples of results), powers, the pseudo-inverse -----------------
# eigh, eigvalsh and cholesky read one triangle of a symmetric matrix: the cases symmetrize their input,
# so any cotangent whose symmetric part is right passes (s2sad's is symmetric). Eigenvectors and singular
# vectors are unique up to sign: the cases fix the sign of each by its first entry.
def la_slogdet(a, w):
    sign, logdet = np.linalg.slogdet(a)
    return np.sum(w * logdet)


def la_slogdet_signed(a, w):
    sign, logdet = np.linalg.slogdet(a)
    return np.sum(w * (sign * logdet))


def la_eigh_values(a, w):
    vals, vecs = np.linalg.eigh(a + np.swapaxes(a, -1, -2))
    return np.sum(w * vals)


def la_eigh_vectors(a, w):
    vals, vecs = np.linalg.eigh(a + np.swapaxes(a, -1, -2), UPLO="U")
    return np.sum(w * (vecs * np.sign(vecs[..., :1, :])))


def la_eigh_both(a, w):
    vals, vecs = np.linalg.eigh(a + np.swapaxes(a, -1, -2))
    return np.sum(w * (vecs * np.sign(vecs[..., :1, :]) * vals[..., None, :] ** 2))


def la_eigvalsh(a, w):
    return np.sum(w * np.linalg.eigvalsh(a + np.swapaxes(a, -1, -2)))


def la_svd_values(a, w):
    return np.sum(w * np.linalg.svd(a, compute_uv=False))


def la_svd_u(a, w):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(w * (u * np.sign(u[..., :1, :])))


def la_svd_s(a, w):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(w * s)


def la_svd_vh(a, w):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(w * (vh * np.sign(vh[..., :, :1])))


def la_svd_square(a, w):
    u, s, vh = np.linalg.svd(a)
    return np.sum(w * (np.matmul(u * np.sign(u[..., :1, :]), vh * np.sign(vh[..., :, :1])) * s[..., None, :]))


def la_cholesky(a, w):
    return np.sum(w * np.linalg.cholesky(np.matmul(a, np.swapaxes(a, -1, -2)) + np.eye(np.shape(a)[-1])))


def la_cholesky_upper(a, w):
    return np.sum(w * np.linalg.cholesky(np.matmul(a, np.swapaxes(a, -1, -2)) + np.eye(np.shape(a)[-1]), upper=True))


def la_qr_q(a, w):
    q, r = np.linalg.qr(a)
    return np.sum(w * q)


def la_qr_r(a, w):
    q, r = np.linalg.qr(a)
    return np.sum(w * r)


def la_qr_both(a, w):
    q, r = np.linalg.qr(a, mode="complete")
    return np.sum(w * np.matmul(q * q, r))


def la_matrix_power(a, n, w):
    return np.sum(w * np.linalg.matrix_power(a, n))


def la_pinv(a, w):
    return np.sum(w * np.linalg.pinv(a))


for _id, _a in [("2", spd(3)), ("negative", spd(3) - 6.0 * np.eye(3)), ("stack", np.stack([spd(3), -spd(3)]))]:
    add(f"slogdet-{_id}", la_slogdet, [_a], "np.linalg.slogdet", cs=False)
    add(f"slogdet-signed-{_id}", la_slogdet_signed, [_a], "np.linalg.slogdet", cs=False)
for _id, _a in [("3", val((3, 3))), ("stack", val((2, 4, 4)))]:
    for _fn, _name in [(la_eigh_values, "values"), (la_eigh_vectors, "vectors"), (la_eigh_both, "both")]:
        add(f"eigh-{_name}-{_id}", _fn, [_a], "np.linalg.eigh", cs=False)
    add(f"eigvalsh-{_id}", la_eigvalsh, [_a], "np.linalg.eigvalsh", cs=False)
for _id, _a in [("tall", val((4, 3))), ("wide", val((3, 4))), ("stack", val((2, 3, 4)))]:
    add(f"svd-values-{_id}", la_svd_values, [_a], "np.linalg.svd", cs=False)
    for _fn, _name in [(la_svd_u, "u"), (la_svd_s, "s"), (la_svd_vh, "vh")]:
        add(f"svd-{_name}-{_id}", _fn, [_a], "np.linalg.svd", cs=False)
add("svd-square", la_svd_square, [val((3, 3))], "np.linalg.svd", cs=False)
add("svd-square-stack", la_svd_square, [val((2, 3, 3))], "np.linalg.svd", cs=False)
for _id, _a in [("3", val((3, 3))), ("stack", val((2, 3, 3)))]:
    add(f"cholesky-{_id}", la_cholesky, [_a], "np.linalg.cholesky", cs=False)
    add(f"cholesky-upper-{_id}", la_cholesky_upper, [_a], "np.linalg.cholesky", cs=False)
for _id, _a in [("tall", val((4, 3))), ("square", val((3, 3))), ("stack", val((2, 4, 2)))]:
    add(f"qr-q-{_id}", la_qr_q, [_a], "np.linalg.qr", cs=False)
    add(f"qr-r-{_id}", la_qr_r, [_a], "np.linalg.qr", cs=False)
add("qr-complete-square", la_qr_both, [val((3, 3))], "np.linalg.qr", cs=False)
for _n in (0, 1, 2, 3, -1, -2):
    add(f"matrix_power-{_n}", la_matrix_power, [spd(3) / 3.0, _n], "np.linalg.matrix_power")
add("matrix_power-stack", la_matrix_power, [np.stack([spd(3), spd(3)]) / 3.0, 3], "np.linalg.matrix_power")
for _id, _a in [("tall", val((4, 2))), ("wide", val((2, 4))), ("square", spd(3)), ("stack", val((2, 4, 3)))]:
    add(f"pinv-{_id}", la_pinv, [_a], "np.linalg.pinv", cs=False)
# vector p-norms for any p (below 1 and negative too), and the count of nonzeros (ord=0: derivative 0)
for _ord in (-1, -2, 0.5, 0):
    for _kd in (False, True):
        add(f"norm-v-ord{_ord}-kd{_kd}", r_norm, [_v, _ord, None, _kd], "np.linalg.norm", diff=(0,), cs=False)
    add(f"norm-m-ord{_ord}-axis1", r_norm, [_m, _ord, 1, False], "np.linalg.norm", diff=(0,), cs=False)

# --- shapes ------------------------------------------------------------------------------------
def s_reshape(x, shape, w):
    return np.sum(w * np.reshape(x, shape))


def s_ravel(x, w):
    return np.sum(w * np.ravel(x))


def s_transpose(x, w):
    return np.sum(w * np.transpose(x))


def s_transpose_axes(x, axes, w):
    return np.sum(w * np.transpose(x, axes))


def s_swapaxes(x, a1, a2, w):
    return np.sum(w * np.swapaxes(x, a1, a2))


def s_expand_dims(x, axis, w):
    return np.sum(w * np.expand_dims(x, axis))


def s_squeeze(x, w):
    return np.sum(w * np.squeeze(x))


def s_squeeze_axis(x, axis, w):
    return np.sum(w * np.squeeze(x, axis=axis))


def s_flip(x, axis, w):
    return np.sum(w * np.flip(x, axis))


def s_flip_all(x, w):
    return np.sum(w * np.flip(x))


def s_concatenate(a, b, axis, w):
    return np.sum(w * np.concatenate([a, b], axis=axis))


def s_concatenate3(a, b, w):
    return np.sum(w * np.concatenate((a, b, a)))


def s_stack(a, b, c, axis, w):
    return np.sum(w * np.stack([a, b, c], axis=axis))


def s_hstack(a, b, w):
    return np.sum(w * np.hstack((a, b)))


def s_vstack(a, b, w):
    return np.sum(w * np.vstack([a, b]))


def s_tile(x, reps, w):
    return np.sum(w * np.tile(x, reps))


def s_broadcast_to(x, shape, w):
    return np.sum(w * np.broadcast_to(x, shape))


def s_asarray(x, w):
    return np.sum(w * np.asarray(x))


def s_real(x, w):
    return np.sum(w * np.real(x))


def s_copy(x, w):
    return np.sum(w * np.copy(x))


def s_assign(x, w):
    y = x
    return np.sum(w * y)


add("reshape-m-26", s_reshape, [val("m"), (2, 6)], "np.reshape")
add("reshape-m-flat", s_reshape, [val("m"), (-1,)], "np.reshape")
add("reshape-v-22", s_reshape, [val("v"), (2, 1, 2)], "np.reshape")
add("reshape-0d", s_reshape, [val("0d"), (1, 1)], "np.reshape")
add("ravel-m", s_ravel, [val("m")], "np.ravel")
add("ravel-b", s_ravel, [val("b")], "np.ravel")
add("transpose-m", s_transpose, [val("m")], "np.transpose")
add("transpose-b", s_transpose, [val("b")], "np.transpose")
add("transpose-v", s_transpose, [val("v")], "np.transpose")
for _axes in [(1, 0, 2), (2, 0, 1), (1, 2, 0), (0, 2, 1), (-1, 0, 1), (0, -1, -2)]:
    add(f"transpose-axes{_axes}", s_transpose_axes, [val("b"), _axes], "np.transpose")
for _a1, _a2 in [(0, 2), (1, 2), (-1, 0)]:
    add(f"swapaxes-{_a1}-{_a2}", s_swapaxes, [val("b"), _a1, _a2], "np.swapaxes")
for _axis in (0, 1, -1, (0, 2)):
    add(f"expand_dims-{_axis}", s_expand_dims, [val("m"), _axis], "np.expand_dims")
add("expand_dims-f", s_expand_dims, [val("f"), 0], "np.expand_dims")
add("squeeze-all", s_squeeze, [val((3, 1, 4, 1))], "np.squeeze")
add("squeeze-axis", s_squeeze_axis, [val((3, 1, 4, 1)), 1], "np.squeeze")
add("squeeze-axis-tuple", s_squeeze_axis, [val((1, 3, 1)), (0, 2)], "np.squeeze")
for _axis in (None, 0, 1, -1, (0, 1)):
    add(f"flip-m-{_axis}", s_flip, [val("m"), _axis], "np.flip")
add("flip-v-all", s_flip_all, [val("v")], "np.flip")
add("flip-b-all", s_flip_all, [val("b")], "np.flip")
add("concatenate-v", s_concatenate, [val("v"), val("v3"), 0], "np.concatenate")
add("concatenate-m0", s_concatenate, [val("m"), val("m24"), 0], "np.concatenate")
add("concatenate-m1", s_concatenate, [val("m"), val((3, 2)), 1], "np.concatenate")
add("concatenate-m-1", s_concatenate, [val("m"), val((3, 2)), -1], "np.concatenate")
add("concatenate-None", s_concatenate, [val("m"), val("v"), None], "np.concatenate")
add("concatenate-3", s_concatenate3, [val("v"), val("v3")], "np.concatenate")
for _axis in (0, 1, -1):
    add(f"stack-v-{_axis}", s_stack, [val("v"), val("v"), val("v"), _axis], "np.stack")
    add(f"stack-m-{_axis}", s_stack, [val("m"), val("m"), val("m"), _axis], "np.stack")
add("stack-0d", s_stack, [val("0d"), val("f"), val("0d"), 0], "np.stack")
add("hstack-v", s_hstack, [val("v"), val("v3")], "np.hstack")
add("hstack-m", s_hstack, [val("m"), val((3, 2))], "np.hstack")
add("hstack-scalars", s_hstack, [val("f"), val("0d")], "np.hstack")
add("vstack-v", s_vstack, [val("v"), val("v")], "np.vstack")
add("vstack-m", s_vstack, [val("m"), val("m24")], "np.vstack")
add("vstack-v-m", s_vstack, [val("v"), val("m")], "np.vstack")
add("tile-v-2", s_tile, [val("v3"), 2], "np.tile")
add("tile-v-21", s_tile, [val("v3"), (2, 1)], "np.tile")
add("tile-m-23", s_tile, [val((2, 3)), (2, 3)], "np.tile")
add("tile-m-213", s_tile, [val((2, 3)), (2, 1, 3)], "np.tile")
add("tile-b-2", s_tile, [val((2, 1, 3)), 2], "np.tile")
add("broadcast_to-v", s_broadcast_to, [val("v"), (3, 4)], "np.broadcast_to")
add("broadcast_to-c", s_broadcast_to, [val("c"), (2, 3, 4)], "np.broadcast_to")
add("broadcast_to-0d", s_broadcast_to, [val("0d"), (2, 3)], "np.broadcast_to")
add("broadcast_to-f", s_broadcast_to, [val("f"), (3,)], "np.broadcast_to")
add("asarray-m", s_asarray, [val("m")], "np.asarray")
add("asarray-f", s_asarray, [val("f")], "np.asarray")
add("real-m", s_real, [val("m")], "np.real", cs=False)   # np.real drops complex step's imaginary part
add("real-f", s_real, [val("f")], "np.real", cs=False)
add("copy-m", s_copy, [val("m")], "np.copy")
add("assign-v", s_assign, [val("v")], "copy")
add("assign-f", s_assign, [val("f")], "copy")



def s_sort(x, axis, w):
    return np.sum(w * np.sort(x, axis=axis))


def s_sort_default(x, w):
    return np.sum(w * np.sort(x))


def s_linspace(a, b, w):
    return np.sum(w * np.linspace(a, b, 5))


def s_linspace_open(a, b, w):
    return np.sum(w * np.linspace(a, b, num=4, endpoint=False))


def s_full(v, w):
    return np.sum(w * np.full((3, 4), v))


def s_full_like(x, v, w):
    return np.sum(w * np.full_like(x, v))


def s_asarray_int(x, w):
    return np.sum(w * np.asarray(x, dtype=np.int64)) + np.sum(w * x)


add("sort-v", s_sort_default, [val("v")], "np.sort", cs=False)
add("sort-m-0", s_sort, [val("m"), 0], "np.sort", cs=False)
add("sort-m-1", s_sort, [val("m"), -1], "np.sort", cs=False)
add("sort-m-None", s_sort, [val("m"), None], "np.sort", cs=False)
add("linspace-f", s_linspace, [val("f"), val("f")], "np.linspace")
add("linspace-v", s_linspace, [val("v"), val("v")], "np.linspace")
add("linspace-v-f", s_linspace, [val("v"), val("f")], "np.linspace")
add("linspace-open", s_linspace_open, [val("f"), val("f")], "np.linspace")
add("full-f", s_full, [val("f")], "np.full")
add("full-r", s_full, [val("r")], "np.full")
add("full_like-f", s_full_like, [val("m"), val("f")], "np.full_like", diff=(1,), cs=False)   # x is real: full_like drops the imaginary part
add("full_like-c", s_full_like, [val("m"), val("c")], "np.full_like", diff=(1,), cs=False)
add("asarray-int", s_asarray_int, [val("m", -3, 3)], "np.asarray", cs=False)

# --- indexing ------------------------------------------------------------------------------------
def ix_int(x, w):
    return np.sum(w * x[1])


def ix_neg_int(x, w):
    return np.sum(w * x[-1])


def ix_slice(x, w):
    return np.sum(w * x[1:4])


def ix_reverse(x, w):
    return np.sum(w * x[::-1])


def ix_neg_step(x, w):
    return np.sum(w * x[::-2])


def ix_neg_step_bounds(x, w):
    return np.sum(w * x[4:0:-2])


def ix_int_array_literal(x, w):
    return np.sum(w * x[np.array([0, 0, 2, 1, 0])])


def ix_list_literal(x, w):
    return np.sum(w * x[[1, 1, 2]])


def ix_param(x, idx, w):
    return np.sum(w * x[idx])


def ix_mask_data(x, w):
    return np.sum(w * x[x > 0])


def ix_pair(x, w):
    return np.sum(w * x[1, 2])


def ix_column(x, w):
    return np.sum(w * x[:, 1])


def ix_rows_reversed(x, w):
    return np.sum(w * x[1:, ::-1])


def ix_last_row_step(x, w):
    return np.sum(w * x[-1, ::-2])


def ix_pair_params(x, rows, cols, w):
    return np.sum(w * x[rows, cols])


def ix_ellipsis(x, w):
    return np.sum(w * x[..., 1])


def ix_newaxis(x, w):
    return np.sum(w * x[None, :, 1:3])


def ix_twice(x, w):
    return np.sum(w * (x[0] * x[1] + x[0]))


for _s in ("v6", "m"):
    _x = val((6,) if _s == "v6" else (3, 4), avoid=0.0)
    for _fn in (ix_int, ix_neg_int, ix_slice, ix_reverse, ix_neg_step, ix_int_array_literal, ix_list_literal,
                ix_mask_data, ix_twice):
        add(f"getitem-{_fn.__name__}-{_s}", _fn, [_x], "getitem", cs=_fn is not ix_mask_data)
add("getitem-neg-step-bounds", ix_neg_step_bounds, [val((6,))], "getitem")
add("getitem-param-int", ix_param, [val((6,)), 2], "getitem")
add("getitem-param-neg-int", ix_param, [val((6,)), -2], "getitem")
add("getitem-param-int-array", ix_param, [val((6,)), np.array([3, 1, 3, 3, 0])], "getitem")
add("getitem-param-int-array-2d", ix_param, [val((6,)), np.array([[0, 1], [1, 0]])], "getitem")
add("getitem-param-mask", ix_param, [val((6,)), np.array([True, False, True, True, False, False])], "getitem")
add("getitem-param-mask-2d", ix_param, [val("m"), val("m") > 0], "getitem")
add("getitem-param-slice", ix_param, [val((6,)), slice(5, None, -2)], "getitem")
add("getitem-param-rows", ix_param, [val("m"), np.array([2, 0, 2])], "getitem")
add("getitem-pair", ix_pair, [val("m")], "getitem")
add("getitem-column", ix_column, [val("m")], "getitem")
add("getitem-rows-reversed", ix_rows_reversed, [val("m")], "getitem")
add("getitem-last-row-step", ix_last_row_step, [val("m")], "getitem")
add("getitem-pair-params", ix_pair_params, [val("m"), np.array([0, 2, 0, 0]), np.array([1, 3, 1, 1])], "getitem")
add("getitem-ellipsis", ix_ellipsis, [val("b")], "getitem")
add("getitem-newaxis", ix_newaxis, [val("m")], "getitem")


# --- np.array of active values -------------------------------------------------------------------
def a_scalars(a, b, c, w):
    return np.sum(w * np.array([a, b, c]))


def a_nested(a, b, c, w):
    return np.sum(w * np.array([[a, b], [c, a]]))


def a_with_const(a, b, w):
    return np.sum(w * np.array([a, 2.0, b, a]))


def a_vectors(x, y, w):
    return np.sum(w * np.array([x, y, x]))


add("array-floats", a_scalars, [val("f"), val("f"), val("f")], "np.array")
add("array-0d", a_scalars, [val("0d"), val("0d"), val("f")], "np.array")
add("array-nested", a_nested, [val("f"), val("f"), val("f")], "np.array")
add("array-const", a_with_const, [val("f"), val("0d")], "np.array")
add("array-vectors", a_vectors, [val("v"), val("v")], "np.array")


# --- methods ---------------------------------------------------------------------------------
def me_T(x, w):
    return np.sum(w * x.T)


def me_sum0(x, w):
    return np.sum(w * x.sum(axis=0))


def me_sum(x, w):
    return np.sum(w * x.sum())


def me_mean(x, w):
    return np.sum(w * x.mean())


def me_mean1(x, w):
    return np.sum(w * x.mean(axis=1, keepdims=True))


def me_dot(x, y, w):
    return np.sum(w * x.dot(y))


def me_reshape(x, w):
    return np.sum(w * x.reshape(2, 3))


def me_reshape_tuple(x, w):
    return np.sum(w * x.reshape((3, 2)))


def me_ravel(x, w):
    return np.sum(w * x.ravel())


def me_flatten(x, w):
    return np.sum(w * x.flatten())


def me_astype(x, w):
    return np.sum(w * x.astype(float))


def me_prod(x, w):
    return np.sum(w * x.prod(axis=0))


def me_max(x, w):
    return np.sum(w * x.max(axis=1))


def me_min(x, w):
    return np.sum(w * x.min())


def me_var(x, w):
    return np.sum(w * x.var(axis=0))


def me_std(x, w):
    return np.sum(w * x.std())


def me_cumsum(x, w):
    return np.sum(w * x.cumsum(axis=1))


def me_copy(x, w):
    return np.sum(w * x.copy())


def me_trace(x, w):
    return np.sum(w * x.trace())


def me_swapaxes(x, w):
    return np.sum(w * x.swapaxes(0, 1))


def me_transpose(x, w):
    return np.sum(w * x.transpose(1, 0, 2))


def me_transpose_none(x, w):
    return np.sum(w * x.transpose())


def me_squeeze(x, w):
    return np.sum(w * x.squeeze())


def b_sum(x, w):
    return np.sum(w * sum(x))


def b_sum_list(a, b, c, w):
    return w * sum([a, b, c])


def b_max(x, w):
    return np.sum(w * max(x))


M6 = (2, 3)
add("method-T", me_T, [val("m")], "np.transpose")
add("method-T-v", me_T, [val("v")], "np.transpose")
add("method-sum-axis0", me_sum0, [val("m")], "np.sum")
add("method-sum", me_sum, [val("m")], "np.sum")
add("method-mean", me_mean, [val("m")], "np.mean")
add("method-mean-axis1-kd", me_mean1, [val("m")], "np.mean")
add("method-dot-mv", me_dot, [val("m"), val("v")], "np.dot")
add("method-dot-vv", me_dot, [val("v"), val("v")], "np.dot")
add("method-reshape", me_reshape, [val((6,))], "np.reshape")
add("method-reshape-m", me_reshape, [val((3, 2))], "np.reshape")
add("method-reshape-tuple", me_reshape_tuple, [val((6,))], "np.reshape")
add("method-ravel", me_ravel, [val("m")], "np.ravel")
add("method-flatten", me_flatten, [val("m")], "np.ravel")
add("method-astype", me_astype, [val("m")], ("astype", "np.asarray"), cs=False)
add("method-prod", me_prod, [val("m", 0.5, 1.5)], "np.prod")
add("method-max", me_max, [val("m")], "np.max", cs=False)
add("method-min", me_min, [val("m")], "np.max", cs=False)
add("method-var", me_var, [val("m")], "np.var", cs=False)
add("method-std", me_std, [val("m")], "np.std", cs=False)
add("method-cumsum", me_cumsum, [val("m")], "np.cumsum")
add("method-copy", me_copy, [val("m")], "np.copy")
add("method-trace", me_trace, [val((3, 3))], "np.trace")
add("method-swapaxes", me_swapaxes, [val("m")], "np.swapaxes")
add("method-transpose", me_transpose, [val("b")], "np.transpose")
add("method-transpose-none", me_transpose_none, [val("b")], "np.transpose")
add("method-squeeze", me_squeeze, [val((3, 1, 4))], "np.squeeze")
add("builtin-sum-v", b_sum, [val("v")], "np.sum")
add("builtin-sum-m", b_sum, [val("m")], "np.sum")
add("builtin-sum-list", b_sum_list, [val("f"), val("0d"), val("f")], "add")
add("builtin-max-v", b_max, [val("v")], "np.max", cs=False)


# --- the wider NumPy API: differences, diagonals, rolls, repeats, gathers, scans, products ---------
def w_diff(x, n, axis, w):
    return np.sum(w * np.diff(x, n=n, axis=axis))


def w_diff_default(x, w):
    return np.sum(w * np.diff(x))


def w_diag(x, k, w):
    return np.sum(w * np.diag(x, k))


def w_diag_default(x, w):
    return np.sum(w * np.diag(x))


def w_diagonal(x, offset, axis1, axis2, w):
    return np.sum(w * np.diagonal(x, offset, axis1, axis2))


def w_diagonal_default(x, w):
    return np.sum(w * np.diagonal(x))


def w_triu(x, k, w):
    return np.sum(w * np.triu(x, k))


def w_tril(x, k, w):
    return np.sum(w * np.tril(x, k=k))


def w_triu_default(x, w):
    return np.sum(w * np.triu(x))


def w_tril_default(x, w):
    return np.sum(w * np.tril(x))


def w_roll(x, shift, axis, w):
    return np.sum(w * np.roll(x, shift, axis=axis))


def w_roll_flat(x, shift, w):
    return np.sum(w * np.roll(x, shift))


def w_repeat(x, repeats, axis, w):
    return np.sum(w * np.repeat(x, repeats, axis=axis))


def w_repeat_flat(x, repeats, w):
    return np.sum(w * np.repeat(x, repeats))


def w_cumprod(x, axis, w):
    return np.sum(w * np.cumprod(x, axis=axis))


def w_cumprod_flat(x, w):
    return np.sum(w * np.cumprod(x))


def w_cross(a, b, w):
    return np.sum(w * np.cross(a, b))


def w_cross_axis(a, b, axis, w):
    return np.sum(w * np.cross(a, b, axis=axis))


def w_kron(a, b, w):
    return np.sum(w * np.kron(a, b))


def w_sinc(x, w):
    return np.sum(w * np.sinc(x))


def w_nan_to_num(x, w):
    return np.sum(w * np.nan_to_num(x))


def w_nan_to_num_bounds(x, w):
    return np.sum(w * np.nan_to_num(x, nan=0.5, posinf=3.0, neginf=-2.0))


def w_average(x, w):
    return np.sum(w * np.average(x))


def w_average_axis(x, axis, w):
    return np.sum(w * np.average(x, axis=axis))


def w_average_weights(x, weights, w):
    return np.sum(w * np.average(x, weights=weights))


def w_average_axis_weights(x, axis, weights, w):
    return np.sum(w * np.average(x, axis=axis, weights=weights))


def w_average_keepdims(x, weights, w):
    return np.sum(w * np.average(x, axis=1, weights=weights, keepdims=True))


def w_take(x, indices, axis, w):
    return np.sum(w * np.take(x, indices, axis=axis))


def w_take_flat(x, indices, w):
    return np.sum(w * np.take(x, indices))


def w_take_along_axis(x, indices, axis, w):
    return np.sum(w * np.take_along_axis(x, indices, axis=axis))


def w_polyval(p, x, w):
    return np.sum(w * np.polyval(p, x))


def w_trace(x, offset, axis1, axis2, w):
    return np.sum(w * np.trace(x, offset, axis1, axis2))


def w_trace_method(x, w):
    return np.sum(w * x.trace(offset=1))


_I = np.array
add("diff-v", w_diff_default, [val("v")], "np.diff")
add("diff-m", w_diff_default, [val("m")], "np.diff")
add("diff-m-n2-axis0", w_diff, [val((5, 3)), 2, 0], "np.diff")
add("diff-b-n2-axis1", w_diff, [val("b"), 2, 1], "np.diff")
add("diff-v-n3", w_diff, [val("v"), 3, -1], "np.diff")
add("diff-v-n0", w_diff, [val("v"), 0, -1], "np.diff")
for _k in (0, 1, -2):
    add(f"diag-v-k{_k}", w_diag, [val("v"), _k], "np.diag")
for _k in (0, 1, -1):
    add(f"diag-m-k{_k}", w_diag, [val("m"), _k], "np.diag")
add("diag-v", w_diag_default, [val("v3")], "np.diag")
add("diag-sq", w_diag_default, [val((3, 3))], "np.diag")
add("diagonal-m", w_diagonal_default, [val("m")], "np.diagonal")
for _o, _a1, _a2 in [(0, 0, 1), (1, 0, 2), (-1, 2, 1), (2, -1, 0), (0, 1, 2)]:
    add(f"diagonal-b-{_o}-{_a1}-{_a2}", w_diagonal, [val("b"), _o, _a1, _a2], "np.diagonal")
for _k in (0, 1, -1, 3):
    add(f"triu-m-k{_k}", w_triu, [val("m"), _k], "np.triu")
    add(f"tril-m-k{_k}", w_tril, [val("m"), _k], "np.tril")
add("triu-b", w_triu_default, [val("b")], "np.triu")
add("tril-b", w_tril_default, [val("b")], "np.tril")
add("triu-v", w_triu_default, [val("v")], "np.triu")
add("tril-v", w_tril_default, [val("v")], "np.tril")
add("roll-v", w_roll_flat, [val("v"), 1], "np.roll")
add("roll-m-flat", w_roll_flat, [val("m"), 5], "np.roll")
add("roll-m-axis0", w_roll, [val("m"), -1, 0], "np.roll")
add("roll-m-tuple", w_roll, [val("m"), (1, -2), (0, 1)], "np.roll")
add("roll-b-axis-1", w_roll, [val("b"), 3, -1], "np.roll")
add("repeat-v", w_repeat_flat, [val("v"), 2], "np.repeat")
add("repeat-m-flat", w_repeat_flat, [val("m"), 3], "np.repeat")
add("repeat-0d", w_repeat_flat, [val("0d"), 3], "np.repeat")
add("repeat-m-axis0", w_repeat, [val("m"), 2, 0], "np.repeat")
add("repeat-b-axis-1", w_repeat, [val("b"), 3, -1], "np.repeat")
add("repeat-m-counts", w_repeat, [val("m"), _I([1, 0, 3, 2]), 1], "np.repeat")
add("repeat-m-counts-flat", w_repeat_flat, [val((2, 2)), _I([2, 1, 0, 1])], "np.repeat")
add("cumprod-v", w_cumprod_flat, [val("v", 0.5, 1.5)], "np.cumprod")
add("cumprod-m-flat", w_cumprod_flat, [val("m", -1.5, 1.5)], "np.cumprod")
add("cumprod-m-axis0", w_cumprod, [val("m", -1.5, 1.5), 0], "np.cumprod")
add("cumprod-b-axis-1", w_cumprod, [val("b", -1.5, 1.5), -1], "np.cumprod")
add("cumprod-zeros", w_cumprod_flat, [_I([0.7, 0.0, -1.3, 1.1, 0.0, 0.9])], "np.cumprod")
add("cumprod-zeros-axis1", w_cumprod, [_I([[0.0, 1.2, -0.8, 1.1, 0.6], [1.3, -0.9, 0.0, 0.8, 1.4]]), 1], "np.cumprod")
add("cross-v", w_cross, [val("v3"), val("v3")], "np.cross")
add("cross-broadcast", w_cross, [val((4, 3)), val("v3")], "np.cross")
add("cross-broadcast-both", w_cross, [val((2, 1, 3)), val((4, 3))], "np.cross")
add("cross-axis0", w_cross_axis, [val((3, 4)), val((3, 4)), 0], "np.cross")
add("kron-m", w_kron, [val((2, 3)), val((2, 2))], "np.kron")
add("kron-m-c", w_kron, [val("m24"), val("c")], "np.kron")
add("kron-v", w_kron, [val("v"), val("v3")], "np.kron")
add("kron-m-v", w_kron, [val((2, 3)), val("v3")], "np.kron")
add("sinc-v", w_sinc, [val("v", -3.0, 3.0)], "np.sinc")
add("sinc-small", w_sinc, [_I([0.0, 1e-3, -0.2, 0.31, -0.318, 0.5, 2.0, -7.25])], "np.sinc")
add("sinc-f", w_sinc, [val("f", -2.0, 2.0)], "np.sinc")
# nan_to_num replaces by constants: complex step would see the imaginary part survive a real nan
add("nan_to_num-nan", w_nan_to_num, [_I([0.3, np.nan, -1.2, 0.8, np.nan])], "np.nan_to_num", cs=False)
add("nan_to_num-inf", w_nan_to_num_bounds, [_I([[0.3, np.inf, -1.2], [-np.inf, np.nan, 0.4]])], "np.nan_to_num",
    cs=False)
add("nan_to_num-f", w_nan_to_num, [val("f")], "np.nan_to_num")
add("average-m", w_average, [val("m")], "np.average")
add("average-m-axis0", w_average_axis, [val("m"), 0], "np.average")
add("average-b-axis-1", w_average_axis, [val("b"), -1], "np.average")
add("average-weights", w_average_weights, [val("m"), val("m", 0.5, 1.5)], "np.average")
add("average-weights-1d", w_average_axis_weights, [val("m"), 1, val("v", 0.5, 1.5)], "np.average")
add("average-weights-b", w_average_axis_weights, [val("b"), 1, val("v3", 0.5, 1.5)], "np.average")
add("average-weights-full-axis0", w_average_axis_weights, [val("m"), 0, val("m", 0.5, 1.5)], "np.average")
add("average-weights-only", w_average_axis_weights, [val("m"), 1, val("v", 0.5, 1.5)], "np.average", diff=(2,))
add("average-keepdims", w_average_keepdims, [val("m"), val("v", 0.5, 1.5)], "np.average")
add("take-v", w_take_flat, [val("v"), _I([0, 2, 2, 3, -1])], "np.take")
add("take-m-flat", w_take_flat, [val("m"), _I([[0, 11], [5, 5]])], "np.take")
add("take-m-axis0", w_take, [val("m"), _I([1, 1, 0, -1]), 0], "np.take")
add("take-m-axis-1", w_take, [val("m"), _I([3, 0, 3]), -1], "np.take")
add("take-b-axis1", w_take, [val("b"), _I([[2, 0], [2, 2]]), 1], "np.take")
add("take-m-scalar", w_take, [val("m"), 2, 1], "np.take")
add("take-v-list", w_take_flat, [val("v"), [3, 3, 1]], "np.take")
add("take_along_axis-m1", w_take_along_axis, [val("m"), _I([[0, 0, 3], [1, 2, 1], [3, 3, 3]]), 1],
    "np.take_along_axis")
add("take_along_axis-m0", w_take_along_axis, [val("m"), _I([[2, 0, 0, 1], [2, 2, 1, 1]]), 0], "np.take_along_axis")
add("take_along_axis-bcast-idx", w_take_along_axis, [val("m"), _I([[1, 1]]), 1], "np.take_along_axis")
add("take_along_axis-bcast-arr", w_take_along_axis, [val("r"), _I([[1, 3], [0, 0], [2, 1]]), 1],
    "np.take_along_axis")
add("take_along_axis-b", w_take_along_axis, [val("b"), _I([[[2, 0, 1, 1]], [[0, 0, 2, 1]]]), 1],
    "np.take_along_axis")
add("take_along_axis-flat", w_take_along_axis, [val("m"), _I([0, 11, 11, 4]), None], "np.take_along_axis")
add("polyval-v", w_polyval, [val("v"), val("v3")], "np.polyval")
add("polyval-f", w_polyval, [val("v"), val("f")], "np.polyval")
add("polyval-m", w_polyval, [val((5,)), val("m")], "np.polyval")
add("polyval-const", w_polyval, [val((1,)), val("v3")], "np.polyval")
add("polyval-stack", w_polyval, [val("m"), val("v")], "np.polyval")
add("trace-b", la_trace, [val("b")], "np.trace")
for _o, _a1, _a2 in [(0, 1, 2), (1, 0, 2), (-1, 2, 0), (1, -1, -2)]:
    add(f"trace-b-{_o}-{_a1}-{_a2}", w_trace, [val("b"), _o, _a1, _a2], "np.trace")
add("trace-method-offset", w_trace_method, [val("m")], "np.trace")


# --- the wider NumPy API, second batch: contractions, padding, splits, quantiles, interpolation -----
def c_einsum1(subscripts, a, w):
    return np.sum(w * np.einsum(subscripts, a))


def c_einsum2(subscripts, a, b, w):
    return np.sum(w * np.einsum(subscripts, a, b))


def c_einsum3(subscripts, a, b, c, w):
    return np.sum(w * np.einsum(subscripts, a, b, c, optimize=True))


def c_einsum6(a, b, c, d, e, f, w):
    return np.sum(w * np.einsum("ij,j,jk,k,kl,l->i", a, b, c, d, e, f))


def c_einsum_const(a, b, w):
    return np.sum(w * np.einsum("ij,jk,k->i", a, np.arange(12.0).reshape(4, 3) / 10, b))


def c_einsum_twice(a, w):
    return np.sum(w * np.einsum("ij,ij->i", a, a))


def c_tensordot(a, b, axes, w):
    return np.sum(w * np.tensordot(a, b, axes))


def c_tensordot_default(a, b, w):
    return np.sum(w * np.tensordot(a, b))


def c_pad(x, pad_width, mode, w):
    return np.sum(w * np.pad(x, pad_width, mode=mode))


def c_pad_default(x, w):
    return np.sum(w * np.pad(x, 2))


def c_pad_values(x, values, w):
    return np.sum(w * np.pad(x, ((1, 2), (0, 1)), constant_values=values))


def c_pad_values_only(values, x, w):
    return np.sum(w * np.pad(x, [(2, 1)], "constant", constant_values=values))


def c_split_index(x, sections, axis, w):
    parts = np.split(x, sections, axis=axis)
    return np.sum(w * parts[1]) + np.sum(np.sin(parts[-1]))


def c_split_unpack(x, w):
    first, second = np.split(x, [1])
    return np.sum(w * first) + np.sum(second ** 2)


def c_split_joined(x, w):
    parts = np.split(x, 2)
    return np.sum(w * np.concatenate(parts)) + np.sum(np.stack(parts) ** 2) + np.sum(parts[0] ** 3)


def c_array_split(x, sections, axis, w):
    parts = np.array_split(x, sections, axis=axis)
    return np.sum(w * parts[0]) + np.sum(np.cos(parts[2]))


def c_hsplit(x, w):
    left, right = np.hsplit(x, 2)
    return np.sum(w * left * right)


def c_vsplit(x, w):
    parts = np.vsplit(x, [1, 2])
    return np.sum(w * parts[2]) + np.sum(parts[0] * parts[1])


def c_dsplit(x, w):
    parts = np.dsplit(x, 2)
    return np.sum(w * parts[0] ** 2) + np.sum(parts[1])


def c_quantile(x, q, axis, keepdims, w):
    return np.sum(w * np.quantile(x, q, axis=axis, keepdims=keepdims))


def c_percentile(x, q, axis, w):
    return np.sum(w * np.percentile(x, q, axis=axis))


def c_median(x, axis, keepdims, w):
    return np.sum(w * np.median(x, axis=axis, keepdims=keepdims))


def c_median_default(x, w):
    return w * np.median(x)


_KNOTS = np.array([-1.0, -0.2, 0.3, 0.9, 1.6])


def c_interp(x, fp, w):
    return np.sum(w * np.interp(x, _KNOTS, fp))


def c_interp_fp_first(fp, x, w):
    return np.sum(w * np.interp(x, _KNOTS, fp))


def c_interp_sides(x, fp, left, right, w):
    return np.sum(w * np.interp(x, _KNOTS, fp, left=left, right=right))


def c_interp_float(x, fp, w):
    return w * np.interp(x, _KNOTS, fp)


def c_flipud(x, w):
    return np.sum(w * np.flipud(x))


def c_fliplr(x, w):
    return np.sum(w * np.fliplr(x))


def c_rot90(x, k, axes, w):
    return np.sum(w * np.rot90(x, k, axes))


def c_rot90_default(x, w):
    return np.sum(w * np.rot90(x))


def c_moveaxis(x, source, destination, w):
    return np.sum(w * np.moveaxis(x, source, destination))


def c_atleast(x, w):
    return np.sum(w * np.atleast_3d(x)) + np.sum(np.sin(np.atleast_1d(x))) + np.sum(np.atleast_2d(x) ** 3)


def c_logaddexp2(x, y, w):
    return np.sum(w * np.logaddexp2(x, y))


def c_remainder(x, y, w):
    return np.sum(w * np.remainder(x, y))


def c_mod(x, y, w):
    return np.sum(w * np.mod(x, y))


_A, _B = val((3, 4)), val((4, 2))
for _subs, _ops in [("ij,jk->ik", [_A, _B]), ("ij,jk", [_A, _B]), ("ik,jk->ij", [val("m"), val("m")]),
                    ("i,j->ij", [val("v3"), val("v")]), ("i,i", [val("v"), val("v")]),
                    ("bij,bjk->bik", [val("b"), val((2, 4, 3))]), ("...ij,...jk->...ik", [val("b"), val("m42")]),
                    ("...i,...i->...", [val((2, 1, 4)), val((3, 4))]), ("ij,ij->ij", [val("c"), val("m")]),
                    ("iij,jk->ik", [val((3, 3, 4)), val("m42")]), ("ij,j", [val("m"), val("v")]),
                    ("Ba,a", [val("m"), val("v")])]:
    add(f"einsum-{_subs}", c_einsum2, [_subs, *_ops], "np.einsum")
# (one operand without a sum, 'ii->i' or 'ij->ji', is a view of it: refused, see test_numpy_breadth.py)
for _subs, _shape in [("ii", (3, 3)), ("ij->", "m"), ("ij->j", "m"), ("iji->j", (3, 4, 3)), ("...ii", (2, 3, 3)),
                      ("i...->...", "b"), ("iij->i", (3, 3, 2))]:
    add(f"einsum-{_subs}", c_einsum1, [_subs, val(_shape)], "np.einsum")
add("einsum-chain", c_einsum3, ["ij,jk,kl->il", val("m"), val("m42"), val((2, 3))], "np.einsum")
add("einsum-three-shared", c_einsum3, ["i,i,i->", val("v"), val("v"), val("v")], "np.einsum")
add("einsum-spaces", c_einsum3, [" ij , jk , k -> i ", val("m"), val("m42"), val((2,))], "np.einsum")
add("einsum-six", c_einsum6, [val("m"), val("v"), val("m42"), val((2,)), val((2, 3)), val("v3")], "np.einsum")
add("einsum-const-operand", c_einsum_const, [val("m"), val("v3")], "np.einsum")
add("einsum-twice", c_einsum_twice, [val("m")], "np.einsum")
for _axes, _sa, _sb in [(1, "m", "m42"), (2, "b", (3, 4, 2)), (0, "v3", (2,)), (([1, 2], [1, 0]), "b", (4, 3, 5)),
                        ((1, 0), "m", (4, 2)), (([-1], [0]), "b", "m42"), (((0, 2), (2, 0)), "b", (4, 3, 2))]:
    add(f"tensordot-{_axes}-{_sa}", c_tensordot, [val(_sa), val(_sb), _axes], "np.tensordot")
add("tensordot-default", c_tensordot_default, [val("b"), val((3, 4, 2))], "np.tensordot")
for _mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
    add(f"pad-m-{_mode}", c_pad, [val("m"), ((1, 2), (3, 1)), _mode], "np.pad")
    add(f"pad-v-{_mode}-wide", c_pad, [val("v"), (6, 5), _mode], "np.pad")
add("pad-b-int", c_pad, [val("b"), 1, "reflect"], "np.pad")
add("pad-b-pair", c_pad, [val("b"), (2, 1), "edge"], "np.pad")
add("pad-b-one-pair", c_pad, [val("b"), ((1, 2),), "symmetric"], "np.pad")
add("pad-m-dict", c_pad, [val("m"), {1: (2, 1)}, "wrap"], "np.pad")
add("pad-default", c_pad_default, [val("m")], "np.pad")
# x is real: padding it with complex values drops their imaginary part (no complex step)
add("pad-values-f", c_pad_values, [val("m"), val("f")], "np.pad", cs=False)
add("pad-values-per-axis", c_pad_values, [val("m"), val((2, 2))], "np.pad", cs=False)
add("pad-values-pair", c_pad_values, [val("m"), val((2,))], "np.pad", cs=False)
add("pad-values-only", c_pad_values_only, [val((1, 2)), val("v")], "np.pad", cs=False)
add("split-v-sections", c_split_index, [val((6,)), 3, 0], "np.split")
add("split-m-indices", c_split_index, [val((5, 4)), [1, 3], 0], "np.split")
add("split-b-axis-1", c_split_index, [val("b"), 2, -1], "np.split")
add("split-unpack", c_split_unpack, [val("v")], "np.split")
add("split-joined", c_split_joined, [val("v")], "np.split")
add("array_split-v", c_array_split, [val((7,)), 3, 0], "np.array_split")
add("array_split-m-axis1", c_array_split, [val((2, 5)), 4, 1], "np.array_split")
add("hsplit-m", c_hsplit, [val("m")], "np.hsplit")
add("hsplit-v", c_hsplit, [val("v")], "np.hsplit")
add("vsplit-m", c_vsplit, [val("m")], "np.vsplit")
add("dsplit-b", c_dsplit, [val("b")], "np.dsplit")
# distinct values: ties are measure zero, and the differences step over no reordering
for _q, _axis, _kd, _shape in [(0.3, None, False, "m"), (0.5, 1, False, "m"), (_I([0.0, 0.25, 0.9, 1.0]), 0, False, "m"),
                               (_I([[0.1, 0.6], [0.35, 0.8]]), -1, True, "b"), (0.71, (0, 2), False, "b"),
                               (_I([0.2, 0.45]), None, True, "m")]:
    add(f"quantile-{np.size(_q)}-{_axis}-{_kd}-{_shape}", c_quantile, [val(_shape), _q, _axis, _kd], "np.quantile", diff=(0,),
        cs=False)
add("percentile-m", c_percentile, [val("m"), _I([10.0, 50.0, 95.0]), 1], "np.percentile", diff=(0,), cs=False)
add("percentile-b", c_percentile, [val("b"), 37.0, (1, 2)], "np.percentile", diff=(0,), cs=False)
for _axis, _kd, _shape in [(None, False, "m"), (0, False, "m"), (1, True, "m"), (-1, False, "b"), ((0, 1), False, "b")]:
    add(f"median-{_axis}-{_kd}-{_shape}", c_median, [val(_shape), _axis, _kd], "np.median", cs=False)
add("median-default-even", c_median_default, [val((6,))], "np.median", cs=False)
add("median-default-odd", c_median_default, [val((5,))], "np.median", cs=False)
add("flipud-m", c_flipud, [val("m")], "np.flipud")
add("flipud-v", c_flipud, [val("v")], "np.flipud")
add("fliplr-b", c_fliplr, [val("b")], "np.fliplr")
add("rot90-default", c_rot90_default, [val("m")], "np.rot90")
for _k, _axes in [(2, (0, 1)), (-1, (1, 2)), (3, (2, 0)), (5, (1, 0))]:
    add(f"rot90-b-{_k}-{_axes}", c_rot90, [val("b"), _k, _axes], "np.rot90")
add("moveaxis-b", c_moveaxis, [val("b"), 0, -1], "np.moveaxis")
add("moveaxis-b-tuple", c_moveaxis, [val("b"), (0, 2), (1, 0)], "np.moveaxis")
for _s in ("f", "0d", "v", "m"):
    add(f"atleast-{_s}", c_atleast, [val(_s)], ("np.atleast_1d", "np.atleast_2d", "np.atleast_3d"))
add("logaddexp2", c_logaddexp2, [val("m", -3, 3), val("r", -3, 3)], "np.logaddexp2", cs=False)
# away from the jumps (x / y near an integer)
add("remainder", c_remainder, [_I([0.3, 2.7, -1.9, 4.1]), _I([0.7, -1.3, 0.8, 1.5])], "np.remainder", cs=False)
add("mod-broadcast", c_mod, [_I([[0.3, 2.6], [-1.9, 4.1]]), 1.7], "np.mod", cs=False)
# x away from the knots (where the slope jumps) and inside and outside their range
_X_INTERP = _I([-1.4, -0.6, 0.05, 0.52, 1.1, 1.3, 2.0])
add("interp-v", c_interp, [_X_INTERP, val((5,))], "np.interp", cs=False)
add("interp-m", c_interp, [_X_INTERP[:6].reshape(2, 3), val((5,))], "np.interp", cs=False)
add("interp-fp-first", c_interp_fp_first, [val((5,)), _X_INTERP], "np.interp", cs=False)
add("interp-sides", c_interp_sides, [_X_INTERP, val((5,)), val("f"), val("f")], "np.interp", cs=False)
add("interp-sides-fp", c_interp_sides, [_X_INTERP, val((5,)), val("f"), val("f")], "np.interp", diff=(1, 2, 3),
    cs=False)
add("interp-float", c_interp_float, [0.61, val((5,))], "np.interp", cs=False)


# --- documented subgradients and edge behaviour (test_rules.py checks the exact values) ----------
def e_abs(x):
    return np.sum(np.abs(x))


def e_builtin_abs(x):
    return abs(x)


def e_fabs(x):
    return math.fabs(x)


def e_maximum(x, y):
    return np.sum(np.maximum(x, y))


def e_minimum(x, y):
    return np.sum(np.minimum(x, y))


def e_max(x):
    return np.max(x)


def e_norm(x):
    return np.linalg.norm(x)


def e_sqrt(x):
    return np.sum(np.sqrt(x))


def e_math_sqrt(x):
    return math.sqrt(x)


def e_where_sqrt(x):
    return np.sum(np.where(x > 0, np.sqrt(x), 0.0))


def e_where_sqrt_safe(x):
    safe = np.where(x > 0, x, 1.0)
    return np.sum(np.where(x > 0, np.sqrt(safe), 0.0))


def e_clip(x):
    return np.sum(np.clip(x, -1.0, 1.0))


def e_pow_zero(x):
    return np.sum(x ** 2.0)


def ix_assign_repeated(x, v, w):
    y = x * 1.0
    y[np.array([0, 0, 2])] = v           # repeated: the last write lands, the first gets no cotangent
    return np.sum(w * y)


add("assign-repeated-index", ix_assign_repeated, [val("v"), val("v3")], "mul", cs=False)


# --- scipy.special (rules/special.py) ------------------------------------------------------------------
import scipy.special as sc  # noqa: E402  (SciPy is in the test extra)
from scipy.special import expit, logsumexp, psi  # noqa: E402


def sp_expit(x, w):
    return np.sum(w * expit(x))


def sp_log_expit(x, w):
    return np.sum(w * sc.log_expit(x))


def sp_logit(x, w):
    return np.sum(w * sc.logit(x))


def sp_erf(x, w):
    return np.sum(w * sc.erf(x))


def sp_erfc(x, w):
    return np.sum(w * sc.erfc(x))


def sp_erfinv(x, w):
    return np.sum(w * sc.erfinv(x))


def sp_ndtr(x, w):
    return np.sum(w * sc.ndtr(x))


def sp_log_ndtr(x, w):
    return np.sum(w * sc.log_ndtr(x))


def sp_gammaln(x, w):
    return np.sum(w * sc.gammaln(x))


def sp_digamma(x, w):
    return np.sum(w * sc.digamma(x) + w * psi(x + 1.0))


def sp_polygamma(x, w):
    return np.sum(w * sc.polygamma(2, x))


def sp_logsumexp(a, axis, keepdims, w):
    return np.sum(w * logsumexp(a, axis=axis, keepdims=keepdims))


def sp_logsumexp_all(a, w):
    return w * sc.logsumexp(a)


def sp_softmax(x, axis, w):
    return np.sum(w * sc.softmax(x, axis=axis))


def sp_log_softmax(x, axis, w):
    return np.sum(w * sc.log_softmax(x, axis=axis))


for _f, _key, _lo, _hi in [(sp_expit, "expit", -3, 3), (sp_log_expit, "log_expit", -3, 3), (sp_logit, "logit", 0.05, 0.95),
                           (sp_erf, "erf", -2, 2), (sp_erfc, "erfc", -2, 2), (sp_erfinv, "erfinv", -0.9, 0.9),
                           (sp_ndtr, "ndtr", -3, 3), (sp_log_ndtr, "log_ndtr", -3, 3), (sp_gammaln, "gammaln", 0.3, 4),
                           (sp_polygamma, "polygamma", 0.5, 3)]:
    for _s in ("f", "v", "m"):
        add(f"scipy-{_key}-{_s}", _f, [val(_s, _lo, _hi)], f"scipy.special.{_key}", cs=False)
add("scipy-digamma-psi", sp_digamma, [val("m", 0.3, 3)], ("scipy.special.digamma", "scipy.special.psi"), cs=False)
add("scipy-logsumexp-all", sp_logsumexp_all, [val("m", -2, 2)], "scipy.special.logsumexp", cs=False)
for _axis, _kd, _shape in [(None, False, "m"), (0, False, "m"), (1, True, "m"), (-1, False, "b"), ((0, 2), True, "b")]:
    add(f"scipy-logsumexp-{_axis}-{_kd}-{_shape}", sp_logsumexp, [val(_shape, -2, 2), _axis, _kd],
        "scipy.special.logsumexp", diff=(0,), cs=False)
for _axis, _shape in [(None, "m"), (0, "m"), (-1, "b")]:
    add(f"scipy-softmax-{_axis}-{_shape}", sp_softmax, [val(_shape, -2, 2), _axis], "scipy.special.softmax",
        diff=(0,), cs=False)
    add(f"scipy-log_softmax-{_axis}-{_shape}", sp_log_softmax, [val(_shape, -2, 2), _axis],
        "scipy.special.log_softmax", diff=(0,), cs=False)



# --- complex numbers and the FFT family (JAX's convention; compared with central differences of the real
# function: np.real and np.imag drop complex step's imaginary part). A complex result R is read by
# np.real(w * R) + np.imag(w ** 2 * R): both parts, with weights that differ
def cx_parts(z, w):
    return np.sum(np.real(w * z) + np.imag(w * z * z))


def c_fft(x, n, axis, norm, w):
    return cx_parts(np.fft.fft(x, n=n, axis=axis, norm=norm), w)


def c_ifft(a, b, n, w):
    return cx_parts(np.fft.ifft(a + 1j * b, n), w)


def c_rfft(x, n, axis, norm, w):
    return cx_parts(np.fft.rfft(x, n, axis, norm), w)


def c_irfft(a, b, n, norm, w):
    return np.sum(w * np.fft.irfft(a + 1j * b, n=n, norm=norm))


def c_fft2(x, s, w):
    return cx_parts(np.fft.fft2(x, s), w)


def c_ifft2(a, b, w):
    return cx_parts(np.fft.ifft2(a - 2j * b), w)


def c_fftn(x, s, axes, w):
    return cx_parts(np.fft.fftn(x, s=s, axes=axes), w)


def c_ifftn(a, b, axes, norm, w):
    return cx_parts(np.fft.ifftn(a + 1j * b, axes=axes, norm=norm), w)


def c_rfft2(x, w):
    return cx_parts(np.fft.rfft2(x), w)


def c_irfft2(a, b, s, w):
    return np.sum(w * np.fft.irfft2(a + 1j * b, s))


def c_rfftn(x, s, axes, w):
    return cx_parts(np.fft.rfftn(x, s, axes), w)


def c_irfftn(a, b, axes, w):
    return np.sum(w * np.fft.irfftn(a * (1 + 0.5j) + 1j * b, axes=axes))


def c_fftshift(x, axes, w):
    return np.sum(w * np.fft.fftshift(x, axes=axes))


def c_ifftshift(x, w):
    return np.sum(w * np.fft.ifftshift(x))


def c_real(a, b, w):
    return np.sum(w * np.real((a + 1j * b) ** 2))


def c_imag(a, b, w):
    return np.sum(w * np.imag(np.exp(1j * a) * b))


def c_conj(a, b, w):
    return cx_parts(np.conj(a + 1j * b) * (b - 0.5j), w)


def c_conjugate(a, w):
    return np.sum(w * np.real(np.conjugate(a * (2 - 1j)) * 1j))


def c_angle(a, b, w):
    return np.sum(w * np.angle(a + 1j * b))


def c_angle_deg(a, w):
    return np.sum(w * np.angle(np.exp(0.5j * a) * (1 + 1j), deg=True))


def c_abs(a, b, w):
    return np.sum(w * np.abs(a - 1j * b))


def c_abs_builtin(a, b, w):
    return w * abs(a + 1j * b)


_RV, _RM = val((6,)), val((3, 4))
for _n, _axis, _norm, _x in [(None, -1, None, _RV), (8, -1, None, _RV), (4, -1, "ortho", _RV), (None, 0, None, _RM),
                             (5, 1, "forward", _RM)]:
    add(f"fft-{_n}-{_axis}-{_norm}", c_fft, [_x, _n, _axis, _norm], "np.fft.fft", diff=(0,), cs=False)
for _n in (None, 7, 3):
    add(f"ifft-{_n}", c_ifft, [val((5,)), val((5,)), _n], "np.fft.ifft", diff=(0, 1), cs=False)
for _n, _axis, _norm, _x in [(None, -1, None, _RV), (None, -1, None, val((7,))), (9, -1, "ortho", _RV),
                             (4, 0, None, _RM), (None, 1, "forward", _RM)]:
    add(f"rfft-{_n}-{_axis}-{_norm}-{_x.size}", c_rfft, [_x, _n, _axis, _norm], "np.fft.rfft", diff=(0,), cs=False)
for _n, _norm in [(None, None), (7, None), (5, "ortho"), (10, "forward")]:
    add(f"irfft-{_n}-{_norm}", c_irfft, [val((4,)), val((4,)), _n, _norm], "np.fft.irfft", diff=(0, 1), cs=False)
for _s in (None, (4, 3)):
    add(f"fft2-{_s}", c_fft2, [_RM, _s], "np.fft.fft2", diff=(0,), cs=False)
add("ifft2-m", c_ifft2, [val((3, 4)), val((3, 4))], "np.fft.ifft2", cs=False)
for _s, _axes, _x in [(None, None, val((2, 3, 4))), ((4, 2), (0, 2), val((2, 3, 4))), (None, (1,), _RM)]:
    add(f"fftn-{_s}-{_axes}", c_fftn, [_x, _s, _axes], "np.fft.fftn", diff=(0,), cs=False)
for _axes, _norm in [(None, None), ((0,), "ortho")]:
    add(f"ifftn-{_axes}-{_norm}", c_ifftn, [val((3, 4)), val((3, 4)), _axes, _norm], "np.fft.ifftn", diff=(0, 1),
        cs=False)
add("rfft2-m", c_rfft2, [_RM], "np.fft.rfft2", cs=False)
for _s in (None, (3, 6)):
    add(f"irfft2-{_s}", c_irfft2, [val((3, 4)), val((3, 4)), _s], "np.fft.irfft2", diff=(0, 1), cs=False)
for _s, _axes in [(None, None), ((2, 5), (0, 2))]:
    add(f"rfftn-{_s}-{_axes}", c_rfftn, [val((2, 3, 4)), _s, _axes], "np.fft.rfftn", diff=(0,), cs=False)
for _axes in (None, (0,)):
    add(f"irfftn-{_axes}", c_irfftn, [val((3, 4)), val((3, 4)), _axes], "np.fft.irfftn", diff=(0, 1), cs=False)
for _axes in (None, (1,)):
    add(f"fftshift-{_axes}", c_fftshift, [_RM, _axes], "np.fft.fftshift", diff=(0,), cs=False)
add("ifftshift-v", c_ifftshift, [val((5,))], "np.fft.ifftshift", cs=False)
add("complex-real-m", c_real, [val("m"), val("m")], "np.real", cs=False)
add("complex-imag-m", c_imag, [val("m"), val("m")], "np.imag", cs=False)
add("complex-conj-v", c_conj, [val("v"), val("v")], "np.conj", cs=False)
add("complex-conjugate-v", c_conjugate, [val("v")], "np.conjugate", cs=False)
add("complex-angle-m", c_angle, [val("m"), val("m")], "np.angle", cs=False)
add("complex-angle-deg-v", c_angle_deg, [val("v")], "np.angle", cs=False)
add("complex-abs-m", c_abs, [val("m"), val("m")], "np.abs", cs=False)
add("complex-abs-builtin-f", c_abs_builtin, [val("f"), val("f")], "abs", cs=False)


# least squares of a matrix of full column rank: the solution, the residuals and the singular values
def l_lstsq(a, b, w):
    x, res, rank, s = np.linalg.lstsq(a, b, rcond=None)
    return np.sum(w * x) + 0.3 * np.sum(res) + 0.1 * np.sum(s * np.arange(1.0, s.size + 1))


def l_lstsq_x(a, b, w):
    return np.sum(w * np.linalg.lstsq(a, b)[0])


add("lstsq-tall-v", l_lstsq, [val((5, 3)) + np.eye(5, 3), val((5,))], "np.linalg.lstsq", cs=False)
add("lstsq-tall-m", l_lstsq, [val((6, 3)) + np.eye(6, 3), val((6, 2))], "np.linalg.lstsq", cs=False)
add("lstsq-square", l_lstsq_x, [val((3, 3)) + 2 * np.eye(3), val((3,))], "np.linalg.lstsq", cs=False)


# np.<ufunc>.outer(a, b): the ufunc of a (with an axis per axis of b) and b
def o_add_outer(a, b, w):
    return np.sum(w * np.add.outer(a, b))


def o_multiply_outer(a, b, w):
    return np.sum(w * np.multiply.outer(a, b))


def o_power_outer(a, b, w):
    return np.sum(w * np.power.outer(a, b))


add("add-outer-v-m", o_add_outer, [val("v"), val("m")], "np.add")
add("multiply-outer-m-v", o_multiply_outer, [val((2, 3)), val("v")], "np.multiply")
add("power-outer-v-v", o_power_outer, [val("v", 0.5, 2.0), val("v3")], "np.power")

# the cases a CuPy backend runs: scipy.special has no CuPy form yet (generated code for the CuPy backend
# refuses it with the line: tests/backends/test_backends.py)
ON_CUPY = [c for c in CASES if not any(k.startswith("scipy.") for k in c.keys)]
NOT_ON_CUPY = [c for c in CASES if any(k.startswith("scipy.") for k in c.keys)]
