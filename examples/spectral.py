"""Gradients through the FFT: undo a blur by gradient descent, and a complex argument.

A signal x was blurred (a circular convolution with a known kernel, done in the frequency domain) and
observed as y. The loss compares the blurred guess with y and asks for smoothness; its gradient goes
through np.fft.rfft and np.fft.irfft (complex intermediates, a real output). s2sad follows JAX's
convention for complex numbers: the gradient of |z|^2 with respect to a complex z is 2 conj(z).

Run: python examples/spectral.py
"""
import numpy as np

import s2sad
from s2sad import numerical

n = 64
t = np.arange(n)
truth = np.where((t > 10) & (t < 30), 1.0, 0.0) + 0.5 * np.sin(2 * np.pi * t / n)
kernel = np.exp(-0.5 * ((t - n // 2) / 2.0) ** 2)
kernel = np.roll(kernel / kernel.sum(), -n // 2)          # centred at 0, sums to 1
blur = np.fft.rfft(kernel)                                 # the blur's frequency response
observed = np.fft.irfft(np.fft.rfft(truth) * blur, n=n)


def loss(x, lam=1e-3):
    blurred = np.fft.irfft(np.fft.rfft(x) * blur, n=x.size)
    return np.sum((blurred - observed) ** 2) + lam * np.sum(np.diff(x) ** 2)


dloss = s2sad.grad(loss)
x = np.zeros(n)
g = dloss(x)
ref = numerical.grad(loss, method="central")(x)
print(f"gradient at 0 against central differences: max difference {np.max(np.abs(g - ref)):.1e}")

step = 0.9
for it in range(301):
    if it % 100 == 0:
        print(f"step {it:3d}: loss {loss(x):.6f}")
    x = x - step * dloss(x)
def rms(e):
    return float(np.sqrt(np.mean(e ** 2)))


print(f"recovered signal: rms error {rms(x - truth):.3f} (the blurred one: {rms(observed - truth):.3f})")


def modulus(z):
    return np.sum(np.abs(z) ** 2)


z = np.array([1 + 2j, 3 - 1j])
print(f"grad of |z|^2 at z = {z}: {s2sad.grad(modulus)(z)} (2 conj(z) = {2 * np.conj(z)})")
