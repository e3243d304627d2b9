import math
import numpy as np
from numpy import exp

def seed(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c.sum()

def logistic(l, n=20):
    for i in range(n):
        l = 4 * l * (1 - l)
    return l

def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s

def rosen_vec(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

def brk(x):
    s = 0.0
    for i in range(10):
        s = s + x * i
        if s > 5:
            break
    return s

def early(x):
    if x > 0:
        return x * x
    y = x * 3
    return y + 1

def cont(x):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s += np.sin(x * i)
    return s

def helper(a, b=2.0):
    return a * b + np.exp(a)

def calls(x):
    y = helper(x)
    return helper(y, b=3.0).sum()

def whilebreak(x):
    n = 0
    while True:
        x = x * 1.5
        n += 1
        if x > 10:
            break
    return x

def tern(x):
    y = x * 2 if x > 1 else x ** 3
    return y

def mathy(x):
    return math.sin(x) * math.exp(x) + exp(x)

def nested(x):
    s = 0.0
    for i in range(3):
        for j in range(4):
            s = s + x[i] * x[j] * (i + j)
    return s

def matfn(W, X):
    h = np.tanh(X @ W)
    return np.mean(h ** 2)

def swap(x, y):
    x, y = y, x * y
    return x * 2 + y

def reassign(x):
    y = x * 2
    y = y * y
    y = np.sin(y)
    return y

def enum(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + v * i
    return s

def zipf(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * b * a
    return s

def whileloop_arr(x):
    k = 0
    while k < 5:
        x = np.sin(x) + x
        k += 1
    return np.sum(x)


def seed_vec(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def fill_buffer(x):
    y = np.zeros(len(x))
    for i in range(len(x)):
        y[i] = x[i] ** 2 + np.sin(x[i])
    return np.sum(y * y)


def cumulative(x):
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * x[i] + x[i]
    return y[-1] + y.sum()


def slice_update(x):
    y = x * 1.0
    for k in range(3):
        y[1:3] += y[0:2] * x[2:4]
    return np.sum(y ** 2)


def overwrite_read(x):
    y = x.copy()
    s = 0.0
    for i in range(len(x)):
        s = s + y[i] * y[i]
        y[i] = np.sin(y[i])
    return s + np.sum(y)


def matrix_fill(a):
    m = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            m[i, j] = a[i] * a[j] + i
    return np.sum(m @ m)


from helper_module import count_positive, two_levels  # noqa: E402
import helper_module  # noqa: E402


def cross_module(x):
    y = two_levels(x, b=3.0)
    z = helper_module.scaled_square(y)
    return np.sum(z) * count_positive(x)


def helper_with_loop(x):
    s = 0.0
    for k in range(3):
        s = s + helper(x * k).sum()
    return s


# --- recursion with a base case ---------------------------------------------------------------
def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def horner(coeffs, x, i=0):
    if i == len(coeffs) - 1:
        return coeffs[i]
    return coeffs[i] + x * horner(coeffs, x, i + 1)


def tree_sum(x, depth):
    if depth == 0:
        return np.sum(np.sin(x))
    return tree_sum(x * 0.5, depth - 1) + tree_sum(x + 1.0, depth - 1)


def affine(x, n):
    for i in range(n):
        x = x * 0.999999 + 1e-6
    return x


def nested_reductions(x):
    """Full reductions whose scalar cotangents meet rules that need whole arrays."""
    a = np.mean(np.sum(x, axis=1))
    b = np.sum(np.reshape(x, (-1,)) * 2.0) + np.sum(x.T @ x)
    c = np.max(np.sum(x ** 2, axis=0)) + np.sum(np.cumsum(x, axis=0)[1:])
    return a + b * c


def list_of_values(x):
    out = []
    for i in range(3):
        out.append(x * i)
    return np.sum(np.array(out))


def list_read_back(x):
    out = [x]
    for i in range(3):
        out.append(out[-1] * 2.0)
    return np.sum(np.array(out))


def list_iterated(x):
    out = [x]
    for i in range(3):
        out.append(out[-1] * 2.0)
    total = 0.0
    for v in out:
        total = total + v
    return total


def logistic5(l):
    """Five steps of the logistic map (twenty amplify rounding beyond what differences can check)."""
    return logistic(l, 5)


def logistic_sum(l):
    return np.sum(logistic(l, 5))
