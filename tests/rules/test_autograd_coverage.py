"""s2sad's rules table against the NumPy functions HIPS autograd differentiates (the names only, from
autograd's numpy_vjps.py, linalg.py and fft.py): each must have a differentiable rule here, or be listed
in REFUSED with the reason s2sad does not differentiate it (yet). Functions autograd marks as having no
gradient (sign, floor, argmax, comparisons...) are not listed: s2sad has them as non-differentiable rules."""
from __future__ import annotations

import numpy as np

from s2sad.rules import RULES

ELEMENTWISE = """
negative abs fabs absolute reciprocal exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan
sinh cosh tanh arcsinh arccosh arctanh rad2deg degrees deg2rad radians square sqrt sinc
add subtract multiply divide true_divide power maximum minimum fmax fmin logaddexp logaddexp2 mod remainder
arctan2 hypot where clip real imag conj conjugate angle real_if_close
"""
ARRAYS = """
reshape ravel expand_dims squeeze swapaxes moveaxis transpose broadcast_to roll flipud fliplr rot90 diag
diagonal trace triu tril tile kron repeat concatenate stack hstack vstack array full linspace atleast_1d
atleast_2d atleast_3d split array_split hsplit vsplit dsplit pad sort msort partition cross
"""
REDUCTIONS = "sum mean prod var std max min amax amin cumsum"
PRODUCTS = "dot tensordot outer matmul inner einsum"
LINALG = "inv pinv det slogdet solve norm eigh eig cholesky svd"
FFT = "fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn fftshift ifftshift"

AUTOGRAD = sorted({f"np.{n}" for n in " ".join([ELEMENTWISE, ARRAYS, REDUCTIONS, PRODUCTS]).split()}
                  | {f"np.linalg.{n}" for n in LINALG.split()} | {f"np.fft.{n}" for n in FFT.split()})

REFUSED = {
    "np.real_if_close": "its result is real or complex depending on the values (as np.emath's): write np.real(a)",
    "np.linalg.eig": "not yet: the eigenvalues of a general matrix are complex, with eigenvectors scaled as LAPACK "
                     "chooses (np.linalg.eigh, for symmetric matrices, is differentiated)",
    "np.msort": "gone from NumPy 2 (np.sort(a, axis=0) is differentiated)",
    "np.partition": "not yet: the order of the elements other than the k-th is NumPy's choice (np.sort is differentiated)",
}


def _function(key: str):
    obj = np
    for part in key.split(".")[1:]:
        obj = getattr(obj, part, None)
    return obj


# the functions with a differentiable rule, by identity (np.absolute is np.abs, np.mod is np.remainder)
DIFFERENTIATED = {id(f) for k, r in RULES.items()
                  if k.startswith("np.") and r.differentiable and (f := _function(k)) is not None}


def test_every_function_autograd_differentiates_has_a_rule_or_a_reason():
    missing = [k for k in AUTOGRAD if k not in REFUSED and id(_function(k)) not in DIFFERENTIATED]
    assert not missing, f"functions autograd differentiates, without a rule here or a reason in REFUSED: {missing}"


def test_a_refusal_is_not_stale():
    """A function given a rule leaves REFUSED; every reason is one line."""
    stale = [k for k in REFUSED if _function(k) is not None and id(_function(k)) in DIFFERENTIATED]
    assert not stale, f"now differentiated, drop them from REFUSED: {stale}"
    assert set(REFUSED) <= set(AUTOGRAD)
    assert all(reason and "\n" not in reason for reason in REFUSED.values())
