"""Linear regression by gradient descent, with the gradient written by s2sad.

1. Data on the line y = 2x + 1 for x = 0, 1, ..., 10; fit y = w x + b by minimising the mean squared
   error with plain gradient descent (learning rate 0.01, from w = b = 0). It converges to b = 1, w = 2.
2. The six-point data set X = 1..6, Y = [13, 14, 20, 21, 25, 30] with the loss mean((t0 + t1 X - Y)^2 / 2):
   at (t0, t1) = (0, 0) the loss is 227.58333 and its gradient (-20.5, -81.6667); gradient descent
   reaches the least-squares line.

Run: python examples/linear_regression.py
"""
import numpy as np

import s2sad


# --- 1. y = 2x + 1 ---------------------------------------------------------------------------------
def mse(b, w, x, y):
    return np.mean((w * x + b - y) ** 2)


x = np.arange(0.0, 11.0)
y = 2 * x + 1
step = s2sad.value_and_grad(mse, argnums=(0, 1))

b, w, lr = 0.0, 0.0, 0.01
for i in range(5000):
    loss, (db, dw) = step(b, w, x, y)
    if i in (0, 10, 100, 1000):
        print(f"step {i:>4}: b = {b:.6f}, w = {w:.6f}, loss = {loss:.6g}")
    b, w = b - lr * db, w - lr * dw
print(f"after 5000 steps (lr = {lr}): b = {b:.6f}, w = {w:.6f}, loss = {mse(b, w, x, y):.3e}")


# --- 2. six points ---------------------------------------------------------------------------------
def loss6(t0, t1, X, Y):
    return np.mean((t0 + t1 * X - Y) ** 2 / 2)


X = np.arange(1.0, 7.0)
Y = np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])
value, (g0, g1) = s2sad.value_and_grad(loss6, argnums=(0, 1))(0.0, 0.0, X, Y)
print(f"six points: loss at (0, 0) = {value:.5f}, gradient = ({g0:.4f}, {g1:.4f})")

grad6 = s2sad.grad(loss6, argnums=(0, 1))
t0, t1 = 0.0, 0.0
for _ in range(3000):
    g0, g1 = grad6(t0, t1, X, Y)
    t0, t1 = t0 - 0.05 * g0, t1 - 0.05 * g1
slope, intercept = np.polyfit(X, Y, 1)
print(f"six points: gradient descent (lr 0.05, 3000 steps): t0 = {t0:.6f}, t1 = {t1:.6f}")
print(f"six points: least squares (np.polyfit):              t0 = {intercept:.6f}, t1 = {slope:.6f}")
