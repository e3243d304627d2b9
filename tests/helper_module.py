"""Helpers in another module, with a global of their own, called by functions in control_cases.py."""
import numpy as np

OFFSET = 0.5


def scaled_square(a, scale=2.0):
    return scale * a * a + OFFSET


def two_levels(a, b=1.0):
    c = scaled_square(a, scale=b)
    if np.sum(c) > 0:
        return np.sin(c)
    return c * 3.0


def count_positive(a):
    """A non-differentiable helper: returns an int."""
    n = 0
    for i in range(len(a)):
        if a[i] > 0:
            n += 1
    return n
