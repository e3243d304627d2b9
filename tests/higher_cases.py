"""User functions for the forward-mode, higher-order and custom-rule tests (s2sad reads their source)."""
import math

import numpy as np
from scipy.special import expit, ndtri

import s2sad
from s2sad import stop_gradient


def xxy(x, y):
    return x * x * y


def sin_(x):
    return np.sin(x)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hessian(x):
    """Hand-derived Hessian of rosen."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


def square(x):
    return x * x


def detach(x):
    y = x * x
    u = stop_gradient(y)
    z = u * x
    return z.sum()


def detach_higher(x):
    return np.sum(stop_gradient(x ** 2) * x ** 2)


def mixed(x, y):
    return np.sum(np.tanh(x) * y) + np.sum(x ** 3) / 3


def r_to_rn(t, n):
    return np.sin(t * np.arange(1.0, n + 1))


def rn_to_rn(x):
    return np.tanh(np.cumsum(x)) * x


# --- custom rules -----------------------------------------------------------------------------
CALLS = []


def softplus(x):
    """A numerically stable softplus whose body s2sad must not transform (np.logaddexp has a rule, but
    the point is the user's rule is called)."""
    CALLS.append("softplus")
    return np.logaddexp(x, 0.0)


def softplus_vjp(g, ans, x):
    CALLS.append("vjp")
    return g * expit(x)


def softplus_jvp(t, ans, x):
    CALLS.append("jvp")
    return t * expit(x)


s2sad.defvjp(softplus, softplus_vjp)
s2sad.defjvp(softplus, softplus_jvp)


def uses_softplus(w):
    return np.sum(softplus(3.0 * w) ** 2)


# a library function without a rule of s2sad's own (scipy.special.ndtri, the normal distribution's
# quantile): the user's rules make it differentiable
s2sad.defvjp(ndtri, lambda g, ans, p: g * np.sqrt(2 * np.pi) * np.exp(ans ** 2 / 2))
s2sad.defjvp(ndtri, lambda t, ans, p: t * np.sqrt(2 * np.pi) * np.exp(ans ** 2 / 2))


def uses_ndtri(w, b):
    return np.sum(ndtri(w * 2.0 + b))


def scaled(a, b):
    return a * b


s2sad.defvjp(scaled, lambda g, ans, a, b: g * b, None)     # no derivative to b


def uses_scaled(a, b):
    return np.sum(scaled(a, b) + b)


def only_forward(x):
    return x * 2.0


s2sad.defjvp(only_forward, lambda t, ans, x: 2.0 * t)


def uses_only_forward(x):
    return np.sum(only_forward(x))
