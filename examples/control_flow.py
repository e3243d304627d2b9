"""Gradients through Python control flow: a data-dependent while, an if, for loops.

The seed function doubles b until its norm reaches 1000, so the number of iterations depends on the
input; then it branches on the sign. Either way c = k * a for a constant k (a power of 2, times 100 on
the negative side), so dc/da = k = f(a) / a. A tracing compiler cannot unroll this loop ahead of time;
s2sad differentiates the source, loop and branch included, and records only the trip count and
the branch taken.

Run: python examples/control_flow.py   (generated gradient files land in ./generated/)
"""
import numpy as np

import s2sad


# 1. The seed: while with a data-dependent trip count, then if/else
def f(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def f_sum(a):                   # vector input: differentiate the sum of the output
    return f(a).sum()


rng = np.random.default_rng(0)
df = s2sad.grad(f)
for a in (np.float64(rng.standard_normal()), -np.float64(rng.uniform(0.1, 1.0))):
    print(f"a = {a:+.6f}: f'(a) = {df(a)}, f(a)/a = {f(a) / a}, agree: {np.isclose(df(a), f(a) / a)}")

a = rng.standard_normal(3)
g = s2sad.grad(f_sum)(a)
print(f"vector a = {a}: gradient of f(a).sum() = {g}, f(a)/a = {f(a) / a}, "
      f"agree: {np.allclose(g, f(a) / a)}")
print("generated file:", df.path)


# 2. The logistic map l -> 4 l (1 - l), n times: d l_n / d l_0 = product of (4 - 8 l_k)
def logistic(l, n):
    for i in range(n):
        l = 4 * l * (1 - l)
    return l


def logistic_derivative_by_hand(l, n):
    d = 1.0
    for i in range(n):
        d = d * (4 - 8 * l)
        l = 4 * l * (1 - l)
    return d


dlogistic = s2sad.grad(logistic)
for n in (1, 5, 20):
    print(f"logistic map, {n:2d} iterations from 0.3: d l_n/d l_0 = {dlogistic(0.3, n):.10g} "
          f"(by hand {logistic_derivative_by_hand(0.3, n):.10g})")


# 3. Rosenbrock written as a Python for loop over the elements, against the vectorized version
def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


x = rng.uniform(-1.0, 1.0, 6)
g_loop = s2sad.grad(rosenbrock_loop)(x)
g_vec = s2sad.grad(rosenbrock)(x)
print("Rosenbrock, for loop:  ", np.array2string(g_loop, precision=6))
print("Rosenbrock, vectorized:", np.array2string(g_vec, precision=6))
print(f"max |loop - vectorized| = {np.max(np.abs(g_loop - g_vec)):.3g}")
