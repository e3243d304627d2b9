"""Higher derivatives: grad of grad, Hessians, Hessian-vector products, and stop_gradient.

s2sad's transformations run on source code, and what they write is source code, so they compose:
grad(grad(f)) differentiates the generated gradient of f; hessian(f) is forward mode over reverse
mode; jvp(grad(f), (x,), (v,)) is a Hessian-vector product that never forms the Hessian, and
hvp(f, (x,), (v,)) is that product alone.

Run: python examples/higher_order.py   (generated gradient files land in ./generated/)
"""
import numpy as np

import s2sad


# 1. z = x*x*y at (x, y) = (2, 3): dz/dx = 2xy = 12, d2z/dx2 = 2y = 6
def z(x, y):
    return x * x * y


dz_dx = s2sad.grad(z)
d2z_dx2 = s2sad.grad(s2sad.grad(z))
print(f"z = x*x*y at (2, 3): dz/dx = {dz_dx(2.0, 3.0)}, d2z/dx2 = {d2z_dx2(2.0, 3.0)}")
print("generated file:", dz_dx.path)


# 2. The third derivative of sin is -cos
def sin(x):
    return np.sin(x)


d3sin = s2sad.grad(s2sad.grad(s2sad.grad(sin)))
for x in (0.0, 0.5, 1.0, 2.0):
    print(f"sin'''({x}) = {d3sin(x):+.12f}   -cos({x}) = {-np.cos(x):+.12f}")


# 3. Hessian of Rosenbrock against the formula derived by hand
def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hessian_by_hand(x):
    n = len(x)
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2     # d2/dx_i^2 of the i-th term
    H[i + 1, i + 1] += 200                               # d2/dx_{i+1}^2 of the i-th term
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]            # the mixed derivative
    return H


x = np.random.default_rng(0).uniform(-1.0, 1.0, 5)
H = s2sad.hessian(rosenbrock)(x)
H_hand = rosenbrock_hessian_by_hand(x)
print(f"Rosenbrock Hessian at a random x in R^5: shape {H.shape}, "
      f"max |s2sad - by hand| = {np.max(np.abs(H - H_hand)):.3g}, symmetric: {np.allclose(H, H.T)}")
print(np.array2string(H, precision=2, suppress_small=True))


# 4. Hessian-vector product: jvp of the gradient, H @ v without building H
v = np.ones_like(x)
g, Hv = s2sad.jvp(s2sad.grad(rosenbrock), (x,), (v,))
print("H @ v by jvp(grad(f)):", np.array2string(Hv, precision=6))
print("H @ v by hand:        ", np.array2string(H_hand @ v, precision=6))
print(f"max |jvp(grad) - H_hand @ v| = {np.max(np.abs(Hv - H_hand @ v)):.3g}")
# s2sad.hvp is the same product (JAX's recipe, jvp(grad(f), ...)[1]) whose generated code computes
# the product alone: the gradient it passes through is not accumulated
Hv2 = s2sad.hvp(rosenbrock, (x,), (v,))
print(f"max |hvp - H_hand @ v| = {np.max(np.abs(Hv2 - H_hand @ v)):.3g}")


# 5. stop_gradient (PyTorch's detach): u = y, but no gradient flows through it
def detached(x):
    y = x * x
    u = s2sad.stop_gradient(y)
    z = u * x
    return z.sum()


x = np.arange(4.0)
print(f"x = {x}: gradient of (stop_gradient(x*x) * x).sum() = {s2sad.grad(detached)(x)} "
      f"(u = x*x = {x * x}; without stop_gradient it would be 3x^2 = {3 * x * x})")
_, tangent = s2sad.jvp(detached, (x,), (np.ones_like(x),))     # forward mode: d/dt of z.sum() along ones
print(f"forward mode, jvp along ones: {tangent} (= sum(u) = {np.sum(x * x)})")


def detached_scalar(x):
    u = s2sad.stop_gradient(x * x)
    return u * x


print(f"stop_gradient(x*x) * x at x = 3: first derivative {s2sad.grad(detached_scalar)(3.0)} (u = 9), "
      f"second derivative {s2sad.grad(s2sad.grad(detached_scalar))(3.0)} (u is a constant)")
