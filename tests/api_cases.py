"""User functions for the API and error tests (s2sad reads their source from this file)."""
import math

import numpy as np
import numpy
from numpy import exp, sin

SCALE = 3.0
COEFFS = np.array([1.0, 2.0, 3.0])


def poly(x):
    return 3 * x ** 2 - 4 * x


def two(x, y):
    return np.sum(x * y) + np.sum(np.sin(x))


def with_kw(x, scale=2.0, power=2):
    return np.sum(scale * x ** power)


def with_aux(x):
    y = np.sum(x ** 2)
    return y, {"norm": np.sqrt(y)}


def uses_global(x):
    return np.sum(SCALE * x * COEFFS)


def aliases(x):
    return numpy.sum(sin(x) * exp(x)) + math.pi * np.sum(x)


def vector_out(x):
    return x * 2


def constant_out(x):
    return 5.0


def documented(x):
    """A docstring that must survive."""
    return x * x


def not_differentiable(x):
    return np.sum(np.fft.hfft(x))


def with_try(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def with_with(x):
    with open("f") as fh:
        y = x
    return y


def with_lambda(x):
    return (lambda z: z * 2)(x)


def with_comprehension(x, n=3):
    return sum([x * i for i in range(n) if i % 2])


def with_global_write(x):
    global SCALE
    SCALE = 2
    return x


def with_del(x):
    y = x * 2
    del y
    return x


def with_setitem_outside_loop(x):
    y = np.zeros(3)
    y[0] = x
    return y.sum()


def make_closure(k):
    def inner(x):
        return k * np.sum(x ** 2)
    return inner


def detach(x, y):
    u = stop_gradient_alias(y * y)
    return np.sum(u * x)


from s2sad import stop_gradient as stop_gradient_alias  # noqa: E402


def write_into_global(x):
    COEFFS[0] = x
    return np.sum(COEFFS)


def write_through_view(x):
    y = x * 2.0
    v = y[1:]                      # shares y's memory
    s = np.sum(v * v)
    y[1] = 7.0 * x[0]              # v sees this write
    return s + np.sum(v * x[1:])


def write_after_copy(x):
    y = x * 2.0
    v = y[1:].copy()
    s = np.sum(v * v)
    y[1] = 7.0 * x[0]
    return s + np.sum(v * x[1:]) + np.sum(y)


def add_into_a_viewed_array(x):
    v1 = np.sin(x)
    v2 = np.reshape(np.ravel(v1), np.shape(x))      # shares v1's memory
    v1 += np.cos(x)                                  # NumPy writes into v1: v2 changes too
    return np.sum(v1) + np.sum(v2)


def add_into_an_alias_of_the_input(x):
    v0 = x
    v0 += np.sin(v0)                                 # writes into the caller's x; x is not read again
    return np.sum(v0)
