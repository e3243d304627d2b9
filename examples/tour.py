"""The README's tour: a small model loss and its generated gradient."""
import numpy as np

import s2sad


def loss(w, b, X, y):
    z = np.tanh(X @ w + b)
    return np.mean((z - y) ** 2)


loss_grad = s2sad.grad(loss, argnums=(0, 1))

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    dw, db = loss_grad(np.zeros(3), 0.0, X, y)
    print("dL/dw =", dw, " dL/db =", db)
    print(loss_grad.source)
