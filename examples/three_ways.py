"""Automatic, symbolic and numerical derivatives side by side (the README's "Three ways" section).

    python -m s2sad compare examples/three_ways.py:f --at 1.5
    python -m s2sad compare examples/three_ways.py:newton_sqrt --at 2
"""
import numpy as np

import s2sad


def f(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


if __name__ == "__main__":
    print(s2sad.compare(f, 1.5))
    print()
    print(s2sad.compare(newton_sqrt, 2.0))
