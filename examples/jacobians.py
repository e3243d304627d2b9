"""Non-scalar outputs: vector-Jacobian products, Jacobians in forward and reverse mode, jvp.

- vjp(f, x) returns f(x) and a function pulling a cotangent back: PyTorch's y.backward(gradient=...)
  and torch.autograd.grad(..., grad_outputs=...).
- jvp(f, (x,), (v,)) pushes a tangent forward: J @ v in one forward-mode sweep.
- jacobian(f, mode=...) builds the whole matrix: from forward sweeps (one per input) or reverse sweeps
  (one per output); "auto" picks the cheaper.

Run: python examples/jacobians.py   (generated gradient files land in ./generated/)
"""
import statistics
import timeit

import numpy as np

import s2sad


# 1. y = x * x is not a scalar: grad refuses it, vjp takes a cotangent (ones gives dy.sum()/dx = 2x)
def square(x):
    return x * x


x = np.array([1.0, 2.0, 3.0])
y, pull_back = s2sad.vjp(square, x)
(x_bar,) = pull_back(np.ones_like(y))
print(f"y = x * x at x = {x}: vjp with cotangent ones = {x_bar} (2x = {2 * x})")
(x_bar,) = pull_back(np.array([1.0, 0.1, 0.01]))
print(f"vjp with cotangent [1, 0.1, 0.01] = {x_bar}")


# 2. The Jacobian of spherical -> Cartesian coordinates, R^3 -> R^3, in both modes
def cartesian(p):
    r, theta, phi = p[0], p[1], p[2]
    return np.stack([r * np.sin(theta) * np.cos(phi),
                     r * np.sin(theta) * np.sin(phi),
                     r * np.cos(theta)])


p = np.array([2.0, 0.7, 0.3])
J_forward = s2sad.jacobian(cartesian, mode="forward")(p)
J_reverse = s2sad.jacobian(cartesian, mode="reverse")(p)
print(f"Jacobian of spherical -> Cartesian at (r, theta, phi) = {p}: shape {J_forward.shape}")
print(np.array2string(J_forward, precision=6))
print(f"max |forward - reverse| = {np.max(np.abs(J_forward - J_reverse)):.3g}")
print(f"det J = {np.linalg.det(J_forward):.10f}, r^2 sin(theta) = {p[0] ** 2 * np.sin(p[1]):.10f}")


# 3. jvp: the output's rate of change along a direction, without the Jacobian
v = np.array([0.0, 1.0, 0.0])                    # move theta only
out, tangent = s2sad.jvp(cartesian, (p,), (v,))
print(f"jvp along d/dtheta: {np.array2string(tangent, precision=6)} (J @ v = "
      f"{np.array2string(J_forward @ v, precision=6)})")


# 4. Cost: n forward sweeps or m reverse sweeps for f: R^n -> R^m
def loss(x):                   # R^n -> R
    return np.sum(np.tanh(x) * x)


def curve(t, c):               # R -> R^n (c is a constant vector of length n)
    return np.sin(t * c) * c


def median_seconds(fn, repeats=5):
    """Median seconds per call over `repeats` runs of about 10 ms each (benchmarks/ times longer)."""
    fn()                                          # the first call generates and compiles the code
    timer = timeit.Timer(fn)
    number = max(1, int(0.01 / timer.timeit(1)))
    return statistics.median(timer.repeat(repeats, number)) / number


print(f"\n{'f':<9} {'n':>4}  {'forward':>10}  {'reverse':>10}  faster")
for n in (1, 10, 100):
    x = np.linspace(0.1, 1.0, n)
    c = np.linspace(1.0, 2.0, n)
    for label, f, args in (("R^n -> R", loss, (x,)), ("R -> R^n", curve, (0.5, c))):
        forward = s2sad.jacobian(f, mode="forward")
        reverse = s2sad.jacobian(f, mode="reverse")
        assert np.allclose(forward(*args), reverse(*args))
        tf = median_seconds(lambda: forward(*args))
        tr = median_seconds(lambda: reverse(*args))
        print(f"{label:<9} {n:>4}  {tf * 1e6:>8.1f}us  {tr * 1e6:>8.1f}us  {'forward' if tf < tr else 'reverse'}")
