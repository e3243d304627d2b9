"""Rules of SciPy's special functions (`scipy.special`), which people reach for beside NumPy: the logistic
function and its inverse, the error function, the normal distribution's CDF, log-gamma and its
derivatives, logsumexp and softmax. Generated code calls them as `scipy.special.<name>` (and imports
scipy.special); SciPy itself is needed only by code that calls them. The constants are 2/sqrt(pi),
sqrt(pi)/2 and 1/sqrt(2 pi)."""
from .table import alias, rule

rule("scipy.special.expit", "x", x="g * ans * (1 - ans)", elementwise=True)
rule("scipy.special.log_expit", "x", x="g * (1 - np.exp(ans))", elementwise=True)
rule("scipy.special.logit", "x", x="g / (x * (1 - x))", elementwise=True)
rule("scipy.special.erf", "x", x="g * 1.1283791670955126 * np.exp(-x ** 2)", elementwise=True)
rule("scipy.special.erfc", "x", x="-g * 1.1283791670955126 * np.exp(-x ** 2)", elementwise=True)
rule("scipy.special.erfinv", "x", x="g * 0.886226925452758 * np.exp(ans ** 2)", elementwise=True)
rule("scipy.special.ndtr", "x", x="g * 0.3989422804014327 * np.exp(-x ** 2 / 2)", elementwise=True)
rule("scipy.special.log_ndtr", "x", x="g * 0.3989422804014327 * np.exp(-x ** 2 / 2 - ans)", elementwise=True)
rule("scipy.special.gammaln", "x", x="g * scipy.special.digamma(x)", elementwise=True)
rule("scipy.special.digamma", "x", x="g * scipy.special.polygamma(1, x)", elementwise=True)
alias("scipy.special.psi", "scipy.special.digamma")
# the order n is an integer: only x is differentiated
rule("scipy.special.polygamma", "n, x", x="g * scipy.special.polygamma(n + 1, x)", elementwise=True)
# b= and return_sign= are not in the signature: a call with them is refused (the rule would not hold)
rule("scipy.special.logsumexp", "a, axis=None, keepdims=False",
     a="_rt.sum_grad(g, a, axis, keepdims) * np.exp(a - _rt.sum_grad(ans, a, axis, keepdims))",
     forward={"a": "np.sum(t * np.exp(a - _rt.sum_grad(ans, a, axis, keepdims)), axis=axis, keepdims=keepdims)"},
     reduction=True)
rule("scipy.special.softmax", "x, axis=None", x="ans * (g - np.sum(g * ans, axis=axis, keepdims=True))",
     forward={"x": "ans * (t - np.sum(t * ans, axis=axis, keepdims=True))"})
rule("scipy.special.log_softmax", "x, axis=None", x="g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True)",
     forward={"x": "t - np.sum(np.exp(ans) * t, axis=axis, keepdims=True)"})
