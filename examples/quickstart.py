"""s2sad quickstart: the first examples of every autograd tutorial, with source-to-source gradients.

Run: python examples/quickstart.py   (generated gradient files land in ./generated/)
"""
import numpy as np

import s2sad
from s2sad import grad, value_and_grad


# 1. A polynomial and its tangent line at x = 1
def f(x):
    return 3 * x ** 2 - 4 * x


df = grad(f)
slope = df(1.0)
intercept = f(1.0) - slope * 1.0
print(f"f(x) = 3x^2 - 4x: f'(1) = {slope}, tangent line at x = 1: y = {slope}x + ({intercept})")


# 2. y = 2 x.x  ->  dy/dx = 4x
def two_x_dot_x(x):
    return 2 * np.dot(x, x)


x = np.arange(4.0)
print("y = 2 x.x at x = arange(4): dy/dx =", grad(two_x_dot_x)(x), " (4x =", 4 * x, ")")


# 3. x.sum() -> ones, (x * x).sum() -> 2x
def total(x):
    return x.sum()


def sum_of_squares(x):
    return (x * x).sum()


print("x.sum(): gradient", grad(total)(x))
print("(x * x).sum(): gradient", grad(sum_of_squares)(x), " (2x =", 2 * x, ")")


# 4. z = w * x + b at x = 1, b = 2, w = 3: gradients with respect to every input
def neuron(w, x, b):
    return w * x + b


dw, dx, db = grad(neuron, argnums=(0, 1, 2))(3.0, 1.0, 2.0)
print(f"z = w*x + b at w=3, x=1, b=2: dz/dw = {dw}, dz/dx = {dx}, dz/db = {db}")


# 5. Y = X.W + b with X = [1.5, 2.5, 3.5]: dY/dW = X, dY/db = 1
def linear(W, b, X):
    return np.dot(X, W) + b


X = np.array([1.5, 2.5, 3.5])
dW, db = grad(linear, argnums=(0, 1))(np.array([0.1, 0.2, 0.3]), 0.5, X)
print("Y = X.W + b: dY/dW =", dW, " dY/db =", db)


# 6. Linear-regression loss on six points, at (t0, t1) = (0, 0)
Xs = np.arange(1.0, 7.0)
Ys = np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])


def loss(t0, t1, X, Y):
    return np.mean((t0 + t1 * X - Y) ** 2 / 2)


value, (g0, g1) = value_and_grad(loss, argnums=(0, 1))(0.0, 0.0, Xs, Ys)
print(f"regression loss at (0, 0): {value:.5f}, gradient ({g0:.4f}, {g1:.4f})")

# The generated gradient is ordinary Python: read it, or open the file.
print("\ngenerated file:", grad(loss, argnums=(0, 1)).path)
print(grad(loss, argnums=(0, 1)).source)
print("s2sad", s2sad.__version__)
