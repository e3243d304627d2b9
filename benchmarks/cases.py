"""Benchmark cases for s2sad.

Each case is a plain NumPy function (the thing s2sad differentiates from its source) and, beside it,
the gradient written by hand in NumPy, the way a careful person would write it: vectorised where the
function is vectorised, with the same loops (run backwards) where the function has loops.

PyTorch versions (`*_torch`) are written out as well, since `np.mean` & co. do not accept tensors.
autograd and JAX reuse the NumPy function's code with `np` (and `math`) rebound to autograd.numpy /
jax.numpy, see `rebind` in run.py.

The CASES list at the bottom says, for each case: its function, argnums, how to build its
arguments (full and --quick sizes), its hand-written gradient, its PyTorch version, whether
jax.jit applies, and its target ratio (s2sad / hand-written).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

try:   # PyTorch is optional; the torch versions below only run when it imports
    import torch
except Exception:   # pragma: no cover - depends on the machine
    torch = None


# --------------------------------------------------------------------------------------------
# 1. Scalar polynomial on a Python float
# --------------------------------------------------------------------------------------------
def poly(x):
    return 3 * x ** 2 - 4 * x


def poly_hand(x):
    return 6 * x - 4


def poly_torch(x):
    return 3 * x ** 2 - 4 * x


# --------------------------------------------------------------------------------------------
# 2. Linear regression loss, gradient with respect to (t0, t1)
# --------------------------------------------------------------------------------------------
def linreg(t0, t1, X, Y):
    return np.mean((t0 + t1 * X - Y) ** 2 / 2)


def linreg_hand(t0, t1, X, Y):
    r = t0 + t1 * X - Y
    return np.mean(r), np.mean(r * X)


def linreg_torch(t0, t1, X, Y):
    return torch.mean((t0 + t1 * X - Y) ** 2 / 2)


def linreg_small_args(quick):
    X = np.arange(1.0, 7.0)
    Y = np.array([13.0, 14.0, 20.0, 21.0, 25.0, 30.0])
    return (0.5, 2.0, X, Y)


def linreg_big_args(quick):
    n = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    X = rng.standard_normal(n)
    Y = 3.0 + 2.0 * X + 0.1 * rng.standard_normal(n)
    return (0.5, 1.5, X, Y)


# --------------------------------------------------------------------------------------------
# 3. Vectorised Rosenbrock
# --------------------------------------------------------------------------------------------
def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hand(x):
    head = x[:-1]
    d = x[1:] - head ** 2
    g = np.zeros_like(x)
    g[:-1] = -400 * d * head - 2 * (1 - head)
    g[1:] += 200 * d
    return g


def rosenbrock_torch(x):
    return torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_args(quick, n=None):
    n = n or (100_000 if quick else 1_000_000)
    return (np.random.default_rng(1).uniform(-1.0, 1.0, n),)


# --------------------------------------------------------------------------------------------
# 4. Two-layer MLP, 784 -> 128 (tanh) -> 10, batch 256
# --------------------------------------------------------------------------------------------
def mlp_mse(W1, b1, W2, b2, X, T):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - T) ** 2)


def mlp_mse_hand(W1, b1, W2, b2, X, T):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    dout = (2.0 / out.size) * (out - T)
    dW2 = h.T @ dout
    db2 = dout.sum(axis=0)
    dz = (dout @ W2.T) * (1 - h * h)
    dW1 = X.T @ dz
    db1 = dz.sum(axis=0)
    return dW1, db1, dW2, db2


def mlp_mse_torch(W1, b1, W2, b2, X, T):
    h = torch.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return torch.mean((out - T) ** 2)


def mlp_xent(W1, b1, W2, b2, X, T):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return -np.mean(np.sum(T * (z - lse), axis=1))


def mlp_xent_hand(W1, b1, W2, b2, X, T):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    dz = (p * T.sum(axis=1, keepdims=True) - T) / z.shape[0]
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    da = (dz @ W2.T) * (1 - h * h)
    dW1 = X.T @ da
    db1 = da.sum(axis=0)
    return dW1, db1, dW2, db2


def mlp_xent_torch(W1, b1, W2, b2, X, T):
    h = torch.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = torch.amax(z, dim=1, keepdim=True)
    lse = torch.log(torch.sum(torch.exp(z - m), dim=1, keepdim=True)) + m
    return -torch.mean(torch.sum(T * (z - lse), dim=1))


def mlp_args(quick, batch=256):
    rng = np.random.default_rng(2)
    n_in, n_hidden, n_out = 784, 128, 10
    W1 = rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in)
    b1 = 0.1 * rng.standard_normal(n_hidden)
    W2 = rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden)
    b2 = 0.1 * rng.standard_normal(n_out)
    X = rng.standard_normal((batch, n_in))
    T = np.eye(n_out)[rng.integers(0, n_out, batch)]   # one-hot targets
    return (W1, b1, W2, b2, X, T)


# --------------------------------------------------------------------------------------------
# 5. The control-flow seed: a data-dependent while and an if
# --------------------------------------------------------------------------------------------
def seed(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c.sum()


def seed_hand(a):
    # forward: run the same loop to find how many times b was doubled, then the branch taken
    b = a * 2
    scale = 2.0
    while np.linalg.norm(b) < 1000:
        b = b * 2
        scale = scale * 2
    if b.sum() <= 0:
        scale = scale * 100
    return np.full_like(a, scale)


def seed_torch(a):
    b = a * 2
    while torch.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c.sum()


def seed_args(quick):
    return (np.random.default_rng(3).standard_normal(3),)


def seed_float(a):
    b = a * 2
    while abs(b) < 1000:
        b = b * 2
    if b > 0:
        c = b
    else:
        c = 100 * b
    return c


def seed_float_hand(a):
    b = a * 2
    scale = 2.0
    while abs(b) < 1000:
        b = b * 2
        scale = scale * 2
    if b <= 0:
        scale = scale * 100
    return scale


def seed_float_torch(a):
    b = a * 2
    while torch.abs(b) < 1000:
        b = b * 2
    if b > 0:
        c = b
    else:
        c = 100 * b
    return c


# --------------------------------------------------------------------------------------------
# 6. Logistic map, 20 iterations on a Python float
# --------------------------------------------------------------------------------------------
def logistic(l, n):
    for i in range(n):
        l = 4 * l * (1 - l)
    return l


def logistic_hand(l, n):
    ls = []
    for i in range(n):           # forward, keeping the trajectory
        ls.append(l)
        l = 4 * l * (1 - l)
    g = 1.0
    for i in reversed(range(n)):  # reverse
        g = g * (4 - 8 * ls[i])
    return g


def logistic_torch(l, n):
    for i in range(n):
        l = 4 * l * (1 - l)
    return l


def logistic_args(quick):
    return (0.3, 20)


# --------------------------------------------------------------------------------------------
# 7. Rosenbrock as an explicit Python loop over the elements (scalar indexing)
# --------------------------------------------------------------------------------------------
def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosenbrock_loop_hand(x):
    g = np.zeros_like(x)
    for i in reversed(range(len(x) - 1)):
        d = x[i + 1] - x[i] ** 2
        g[i + 1] += 200 * d
        g[i] += -400 * d * x[i] - 2 * (1 - x[i])
    return g


def rosenbrock_loop_torch(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def rosenbrock_loop_args(quick):
    return (np.random.default_rng(4).uniform(-1.0, 1.0, 100),)


# --------------------------------------------------------------------------------------------
# 8. Long scalar loops (1,000,000 iterations) whose reverse sweep needs little or nothing recorded
# --------------------------------------------------------------------------------------------
def sin_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i * 1e-6)
    return s


def sin_loop_hand(x, n):
    # reverse loop: s_bar stays 1, x_bar accumulates cos(x*i*1e-6) * i * 1e-6
    g = 0.0
    for i in reversed(range(n)):
        g = g + math.cos(x * i * 1e-6) * (i * 1e-6)
    return g


def sin_loop_torch(x, n):
    s = 0.0
    for i in range(n):
        s = s + torch.sin(x * i * 1e-6)
    return s


def affine_loop(x, n):
    for i in range(n):
        x = x * 0.999999 + 1e-6
    return x


def affine_loop_hand(x, n):
    # reverse loop: nothing to record, the multiplier is a constant
    g = 1.0
    for i in reversed(range(n)):
        g = g * 0.999999
    return g


def affine_loop_torch(x, n):
    for i in range(n):
        x = x * 0.999999 + 1e-6
    return x


def long_loop_args(quick):
    return (0.7, 100_000 if quick else 1_000_000)


# --------------------------------------------------------------------------------------------
# The table of cases
# --------------------------------------------------------------------------------------------
TARGETS = {"scalar": 1.5, "array": 1.2, "control": 1.5}


@dataclass
class Case:
    name: str
    description: str
    fn: Callable
    argnums: Any
    make_args: Callable[[bool], tuple]      # quick -> arguments
    hand: Callable
    torch_fn: Callable | None
    kind: str                               # "scalar" | "array" | "control"
    jax_jit: bool = True                    # False: jax.jit cannot trace it (data-dependent Python control flow)
    long_loop: bool = False                 # one-million-iteration interpreted loop: peers get a time cap
    notes: dict = field(default_factory=dict)

    @property
    def target(self) -> float:
        return TARGETS[self.kind]


CASES = [
    Case("poly", "3*x**2 - 4*x on a Python float", poly, 0, lambda q: (1.7,), poly_hand, poly_torch, "scalar"),
    Case("linreg_n6", "mean((t0 + t1*X - Y)**2 / 2), grad wrt (t0, t1), n=6", linreg, (0, 1),
         linreg_small_args, linreg_hand, linreg_torch, "array"),
    Case("linreg_1M", "same loss, n=1,000,000 random (--quick: 100,000)", linreg, (0, 1),
         linreg_big_args, linreg_hand, linreg_torch, "array"),
    Case("rosenbrock_1M", "vectorised Rosenbrock, n=1,000,000 (--quick: 100,000)", rosenbrock, 0,
         rosenbrock_args, rosenbrock_hand, rosenbrock_torch, "array"),
    Case("mlp_mse", "2-layer MLP 784-128(tanh)-10, batch 256, MSE, grad wrt (W1, b1, W2, b2)", mlp_mse,
         (0, 1, 2, 3), mlp_args, mlp_mse_hand, mlp_mse_torch, "array"),
    Case("mlp_xent", "same MLP, softmax cross-entropy via np.max/np.exp/np.log", mlp_xent,
         (0, 1, 2, 3), mlp_args, mlp_xent_hand, mlp_xent_torch, "array"),
    Case("seed_while_if", "b=a*2; while norm(b)<1000: b*=2; if/else; sum, a of size 3", seed, 0,
         seed_args, seed_hand, seed_torch, "control", jax_jit=False),
    Case("seed_float", "the seed on a Python float: b=a*2; while abs(b)<1000: b*=2; if/else", seed_float, 0,
         lambda q: (0.37,), seed_float_hand, seed_float_torch, "control", jax_jit=False),
    Case("logistic_20", "l = 4*l*(1-l), 20 iterations on a Python float", logistic, 0,
         logistic_args, logistic_hand, logistic_torch, "control"),
    Case("rosenbrock_loop", "Rosenbrock as a Python for loop over x[i], x[i+1], n=100", rosenbrock_loop, 0,
         rosenbrock_loop_args, rosenbrock_loop_hand, rosenbrock_loop_torch, "control"),
    Case("sin_loop_1M", "s += math.sin(x*i*1e-6), 1,000,000 iterations (--quick: 100,000)", sin_loop, 0,
         long_loop_args, sin_loop_hand, sin_loop_torch, "control", long_loop=True),
    Case("affine_loop_1M", "x = x*0.999999 + 1e-6, 1,000,000 iterations (--quick: 100,000)", affine_loop, 0,
         long_loop_args, affine_loop_hand, affine_loop_torch, "control", long_loop=True),
]
