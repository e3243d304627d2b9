"""User functions with containers (tuples, lists, dicts), for tests/api/test_pytrees.py: written the way
people write them (a params dict, helpers returning tuples, loops over layers)."""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np


def layer(p, x):
    return np.tanh(x @ p["W"] + p["b"])


def mlp_loss(params, X, y):
    h = layer(params["l1"], X)
    out = h @ params["l2"]["W"] + params["l2"]["b"]
    return np.mean((out - y) ** 2)


def mlp_loss_l2(params, X, y, lam=0.01):
    reg = sum(np.sum(w ** 2) for w in params["l1"].values())
    return mlp_loss(params, X, y) + lam * reg


def layers_loss(Ws, bs, x):
    h = x
    for W, b in zip(Ws, bs):
        h = np.tanh(W @ h + b)
    return np.sum(h ** 2)


def dict_items_loss(params, x):
    total = 0.0
    for name, w in params.items():
        total = total + np.sum(np.sin(w * x))
    return total


def sin_cos(x):
    return np.sin(x), np.cos(x)


def unpack_helper(x):
    a, b = sin_cos(x)
    return np.sum(a * b) + np.sum(a)


def tuple_state(x):
    state = (x, 0.0 * x)
    for _ in range(3):
        state = (state[1] + 1.0, state[0] * np.cos(state[1]))
    return np.sum(state[0] + state[1] ** 2)


def swap(x, y):
    a, b = x, y
    for _ in range(2):
        a, b = b * 1.5, np.sin(a)
    return np.sum(a * b)


def stack_list(x):
    hs = [np.sin(x), np.cos(x), x ** 2]
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-1])


def local_dict(x):
    d = {"a": np.sin(x)}
    d["b"] = d["a"] * x
    d["a"] = d["a"] + 1.0
    return np.sum(d["a"] * d["b"])


def comprehension(ws, x):
    outs = [w * x for w in ws]
    return np.sum(np.stack(outs) ** 2) + len(ws)


def powers(x):
    return np.sum(sum(x ** k for k in range(1, 4)))


def static_append(x):
    out = [x]
    out.append(np.sin(x))
    out.append(out[0] * out[1])
    return np.sum(np.stack(out))


def branch_tuple(x):
    if np.sum(x) > 0:
        pair = (np.sin(x), x)
    else:
        pair = (x, np.cos(x))
    return np.sum(pair[0] * pair[1])


class Params(NamedTuple):
    W: np.ndarray
    b: np.ndarray


def named_loss(p, x):
    return np.sum(np.tanh(p.W @ x + p.b) ** 2)


def scalars_list(v):
    return v[0] ** 2 * v[1] + np.sin(v[2])


# refused: each says what to write instead
def writes_into_argument(params, x):
    params["W"] = params["W"] * 2.0
    return np.sum(params["W"] * x)


def writes_into_alias(x):
    a = [x, x * 2.0]
    b = a
    b[0] = np.sin(x)
    return np.sum(a[0])


def runtime_index(ws, x, i):
    return np.sum(ws[i] * x)


def missing_key(params, x):
    return np.sum(params["w"] * x)


def mixed_branches(x):
    pair = x
    if np.sum(x) > 0:
        pair = (x, x)
    return np.sum(pair)


def pair_then_row_write(x):
    v, w = sin_cos(x)
    v[-2] += 1.0
    return np.sum(np.tanh(v)) + np.sum(w)


def item_then_row_write(x):
    p = (np.tanh(x), 0.5)
    v = p[0]
    v[-2] += p[1]
    return np.sum(v)


# a custom rule that is deliberately wrong (check_grads must catch it)
def _scaled(x, s):
    return x * s


def wrong_rule_user(x, s):
    return np.sum(_scaled(x, s) ** 2)


def register_wrong_rule():
    import s2sad
    s2sad.defvjp(_scaled, lambda g, ans, x, s: g * s * 1.5, lambda g, ans, x, s: np.sum(g * x))


# functions in the other forms Python has: lambdas, methods, callable objects, nested defs, closures
square_sum = lambda x: np.sum(x ** 2) + np.sum(np.sin(x))   # noqa: E731
two_on_a_line = (lambda x: np.sum(x ** 3), lambda x: np.sum(np.cos(x)))


class Model:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def predict(self, x):
        return np.tanh(self.w * x + self.b)

    def loss(self, x):
        return np.sum(self.predict(x) ** 2)

    def __call__(self, x):
        return self.loss(x) + np.sum(x * self.b)

    @staticmethod
    def static_loss(x):
        return np.sum(np.exp(-x ** 2))

    @classmethod
    def class_loss(cls, x):
        return np.sum(x ** 2) * cls.SCALE

    SCALE = 3.0


def nested_helper(x):
    scale = 2.0

    def inner(y, k=1.0):
        return np.sin(y) * scale * k

    first = inner(x)
    scale = 3.0
    return np.sum(first + inner(x, k=0.5))


def local_lambda(x):
    sq = lambda y: y * y + x      # noqa: E731 (reads x: a closure over the argument)
    return np.sum(sq(np.sin(x)))


def calls_a_global_lambda(x):
    return 2.0 * square_sum(x)          # its parameter x is renamed after the name it is called by


def nested_returns_pair(x):
    def both(y):
        return np.sin(y), np.cos(y)
    a, b = both(x)
    return np.sum(a * b)


@dataclasses.dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray
    scale: float = 1.0


def dataclass_loss(p, x):
    return np.sum(np.tanh(p.W @ x + p.b) ** 2) * p.scale


def vector_of_params(params, x):
    return np.tanh(params["W"] @ x) * params["s"]


# a list built by .append in a loop, then stacked (an RNN's states, a trajectory)
def rnn_states(W, x0, xs):
    h = x0
    states = []
    for t in range(len(xs)):
        h = np.tanh(W @ h + xs[t])
        states.append(h)
    H = np.stack(states)
    return np.sum(H ** 2) + np.sum(H[-1])


def trajectory(x):
    pos = []
    v = x
    for step in range(4):
        v = v * 0.9 + np.sin(v)
        pos.append(v * 2.0)
    P = np.stack(pos, axis=1)
    return np.sum(P * np.arange(1.0, P.size + 1).reshape(P.shape))


def scalars_collected(x):
    vals = []
    for xi in x:
        vals.append(np.sin(xi) * xi)
    return np.sum(np.array(vals) ** 2)


def indices_collected(x):
    idx = []
    for i in range(2):
        idx.append(2 * i)
    return np.sum(x[np.array(idx)] ** 2)


def items_change_type(x):
    v = 0
    out = []
    for i in range(3):
        out.append(v)
        v = v + 0.5
    return np.sum(np.array(out) * x)


# --- functions that return containers (jvp, vjp and jacobian take them leaf by leaf) -------------------

def two_outputs(x, y):
    return np.sin(x) * y, np.sum(x ** 2) * y


def named_outputs(x):
    h = np.tanh(x)
    return {"pred": h, "loss": np.sum(h ** 2), "parts": [x * 2.0, np.exp(x[0])]}


def layer_outputs(p, x):
    h = np.tanh(p["W"] @ x)
    return {"h": h, "norm": np.sum(h ** 2) * p["s"]}


def returns_a_name(x):
    out = {"a": np.sin(x)}
    out["b"] = np.sum(x ** 2)
    return out


def returns_a_helpers_pair(x):
    a, b = _two(x)
    res = (a * 2.0, b)
    return res


def _two(x):
    return np.cos(x), np.sum(np.exp(x))


def dict_layer_loss(p, x):
    h = np.tanh(p["W"] @ x + p["b"])
    return np.sum(h ** 2) * p["s"]


def list_loss(ws, x):
    return np.sum((ws[0] * x) ** 2 * ws[1])


def _layer_out(p, x):
    h = np.tanh(p["W"] @ x + p["b"])
    return {"h": h, "energy": np.sum(h ** 2)}


def energy_of_a_call(p, x):
    """An item of the container a helper returns, read from the call itself."""
    return _layer_out(p, x)["energy"] + np.sum(_two(x)[0] * _layer_out(p, x)["h"])


def _scaled_sin(x):
    return np.sin(x) * 2.0


def element_of_a_call(x):
    return _scaled_sin(x)[1] + np.sum(_scaled_sin(x)[:1] ** 2)
