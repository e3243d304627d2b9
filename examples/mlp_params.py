"""A two-layer MLP whose parameters live in a dict, trained by gradient descent with s2sad.

`grad(loss)(params, X, y)` returns a dict with the same keys as `params` (JAX's pytrees): the update is
one dict comprehension. The network (tanh hidden layer of 16 units, linear output) learns y = sin(3x)
on 64 points in [-1, 1]. Before training, the gradient is checked against central differences.

In the generated file (printed at the end) every parameter is a plain variable: `params_W1`,
`params_W1_bar`, and the helper `dense` is inlined.

Run: python examples/mlp_params.py
"""
import numpy as np

import s2sad


def dense(W, b, x):
    return x @ W + b


def loss(params, X, y):
    h = np.tanh(dense(params["W1"], params["b1"], X))
    out = dense(params["W2"], params["b2"], h)
    return np.mean((out[:, 0] - y) ** 2)


rng = np.random.default_rng(0)
X = np.linspace(-1.0, 1.0, 64)[:, None]
y = np.sin(3 * X[:, 0])
params = {"W1": rng.normal(scale=1.0, size=(1, 16)), "b1": rng.normal(scale=0.1, size=16),
          "W2": rng.normal(scale=0.3, size=(16, 1)), "b2": np.zeros(1)}

step = s2sad.value_and_grad(loss)

# the gradient against central differences, one element of each parameter
_, g = step(params, X, y)
for key in params:
    bumped = {k: v.copy() for k, v in params.items()}
    h = 1e-6
    bumped[key].flat[0] += h
    up = loss(bumped, X, y)
    bumped[key].flat[0] -= 2 * h
    down = loss(bumped, X, y)
    print(f"d loss / d {key}[0]: s2sad {g[key].flat[0]: .8f}   central differences {(up - down) / (2 * h): .8f}")

lr = 0.1
for i in range(3001):
    value, g = step(params, X, y)
    if i % 1000 == 0:
        print(f"step {i:>4}: loss = {value:.6f}")
    params = {k: params[k] - lr * g[k] for k in params}

print(f"max |prediction - sin(3x)| after training: {np.max(np.abs(np.tanh(X @ params['W1'] + params['b1']) @ params['W2'] + params['b2'] - y[:, None])):.4f}")
print(f"\nthe generated gradient: {step.path.name if step.path else '(in memory)'}")
