"""Rules of np.fft: every transform is linear, its tangent the transform of the tangent and its cotangent
_rt.fft_grad's (s2sad/runtime/fft.py, which says why). Complex numbers follow JAX's convention."""
from .table import real_valued, rule

for _kind in ("fft", "ifft", "rfft", "irfft"):
    # np.fft.rfft's input is real (a complex one is refused); the others take complex ones
    _complex = {"complex_ok": _kind != "rfft", "complex_out": _kind != "irfft"}
    rule(f"np.fft.{_kind}", "a, n=None, axis=-1, norm=None", a=f"_rt.fft_grad(g, a, n, axis, norm, '{_kind}')",
         linear=True, **_complex)
    rule(f"np.fft.{_kind}2", "a, s=None, axes=(-2, -1), norm=None", a=f"_rt.fft_grad(g, a, s, axes, norm, '{_kind}')",
         linear=True, **_complex)
    rule(f"np.fft.{_kind}n", "a, s=None, axes=None, norm=None", a=f"_rt.fft_grad(g, a, s, axes, norm, '{_kind}')",
         linear=True, **_complex)
# a permutation of the elements: the other one puts them back
rule("np.fft.fftshift", "x, axes=None", x="np.fft.ifftshift(g, axes)", linear=True, complex_ok=True)
rule("np.fft.ifftshift", "x, axes=None", x="np.fft.fftshift(g, axes)", linear=True, complex_ok=True)
real_valued("np.fft.irfft", "np.fft.irfft2", "np.fft.irfftn")
