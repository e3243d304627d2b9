"""Per-example gradients with vmap: one gradient per example of a batch, in one pass.

Training with per-example gradient clipping (as differentially private SGD does) needs the gradient of
the loss of each example, not their sum. `vmap(grad(loss), in_axes=(None, 0, 0))` maps grad over the
examples: the weights are shared (None), the inputs and targets are mapped along their first axis (0).
s2sad writes the batched gradient out as a file, each statement once for the whole batch.
"""
import numpy as np

import s2sad


def loss(w, x, y):
    """Squared error of a linear model on one example."""
    return (x @ w - y) ** 2


rng = np.random.default_rng(0)
X = rng.normal(size=(5, 3))          # 5 examples, 3 features
w_true = np.array([1.0, -2.0, 0.5])
y = X @ w_true + 0.1 * rng.normal(size=5)
w = np.zeros(3)

per_example = s2sad.vmap(s2sad.grad(loss), in_axes=(None, 0, 0))
G = per_example(w, X, y)                             # shape (5, 3): row k is grad of loss(w, X[k], y[k])
by_hand = 2 * (X @ w - y)[:, None] * X               # d/dw (x.w - y)^2 = 2 (x.w - y) x
print("per-example gradients:", G.shape)
print("max |vmap - by hand|:", float(np.max(np.abs(G - by_hand))))
print("their mean is the batch gradient:", bool(np.allclose(G.mean(axis=0), s2sad.grad(
    lambda w: np.mean((X @ w - y) ** 2))(w))))

# clip each example's gradient to norm 1, then average: one step of clipped gradient descent
norms = np.linalg.norm(G, axis=1)
clipped = G / np.maximum(norms, 1.0)[:, None]
print("norms before clipping:", np.round(norms, 3))
print("largest norm after clipping:", float(np.max(np.linalg.norm(clipped, axis=1))))
print()
print(per_example.source.split("\n\n\n", 1)[1])       # the batched gradient s2sad wrote
