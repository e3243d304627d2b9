"""Functions for tests/approaches/test_symbolic.py and tests/approaches/test_numerical.py (their source is read with inspect)."""
import math

import numpy as np

SCALE = 3.0


def x2y(x, y):
    return x ** 2 * y


def logistic(l, n):
    for _ in range(n):
        l = 4 * l * (1 - l)
    return l


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosen_vec(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def branch(x):
    if x > 0:
        y = x ** 2
    else:
        y = -x ** 3
    return y


def early_return(x):
    if x < 0:
        return -x
    y = x * 3
    return y * x


def while_data(x):
    while x < 10.0:
        x = x * 2.0
    return x


def while_known(x, n):
    i = 0
    while i < n:
        x = x * x + 1.0
        i += 1
    return x


def elementwise(x, y):
    a = np.sin(x) * np.exp(y) + np.log(x ** 2 + 1.0) - np.tanh(x * y)
    b = np.sqrt(x + 2.0) + np.arctan(y) + np.cbrt(y) + math.cos(x) + np.log1p(x * x) + np.expm1(y / 3)
    return a * b + np.arcsin(x / 4) + np.cosh(y / 5) + np.log2(x + 3) + np.log10(y + 3) + np.square(x - y)


def matrix_fn(A, v):
    w = A @ v
    s = w.sum() + np.dot(v, v) + A.T[0, 1] * np.mean(A, axis=0)[1] + np.prod(v)
    t = np.max(v) + np.min(A) + np.sum(A, axis=1)[0] + len(v)
    return s + t * SCALE


def where_fn(x):
    y = np.where(x > 0, x ** 2, -x)
    z = np.maximum(x, 0.5) + np.minimum(x, -0.5) + np.clip(x, -1.0, 1.0) + np.abs(x) * np.sign(x)
    return np.sum(y + z)


def inplace(x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = x[i] * (i + 1)
    out[1:] += out[:-1] ** 2
    a, b = out[0], out[-1]
    a, b = b, a
    total = 0.0
    total += a * 2 + b
    return total + sum(out[j] for j in range(len(x)))


def helper(u, k=2.0):
    return u ** k + 1.0


def uses_helper(x):
    return helper(x) * helper(x, k=3.0)


def nested_if(x, y):
    if x > y:
        if x > 1.0:
            r = x * y
        else:
            r = x + y
    elif y > 2.0:
        r = y ** 2
    else:
        r = x - y
    return r * 2.0


def returns_vector(x):
    return x * 2.0


def uses_try(x):
    try:
        return x
    except ValueError:
        return -x


def unknown_function(x):
    return np.fft.fft(x).sum()


def used_in_one_branch(x):
    if x > 0:
        y = x
    return y


# --- numerical cases ---

def sin_scalar(x):
    return np.sin(x)


def sum_of_squares(x):
    return np.sum(x ** 2)


def not_scalar(x):
    return x ** 2


def with_abs(x):
    return np.sum(np.abs(x))


def with_math(x):
    return math.sin(x)


def overflow(x):
    return np.sum(np.exp(x))


def two_args(x, y):
    return np.sum(x * y ** 2)
