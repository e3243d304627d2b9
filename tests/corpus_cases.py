"""A corpus of small, everyday "I want the gradient of this NumPy code" functions.

Every function is a plain module-level ``def`` written the way people write
NumPy code when they later want derivatives of it: calculus-tutorial examples,
hand-written ML losses, physics and numerics, statistics, control flow on data,
helper functions, in-place / self-assignment styles and a broad mix of NumPy
calls.  ``CASES`` at the end says how to call each one: the arguments and which
of them are differentiated (``argnums``).

At the given arguments every function returns a finite scalar that depends
smoothly on the differentiated arguments: no kinks, ties, branch flips or
trip-count changes within a small neighbourhood of the point.
"""
import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Case:
    id: str
    fn: object
    args: tuple
    argnums: object


# ---------------------------------------------------------------------------
# Calculus-tutorial examples
# ---------------------------------------------------------------------------

def cubic_polynomial(x):
    return 3.0 * x ** 3 - 2.0 * x ** 2 + x - 5.0


def x_sin_x(x):
    return x * np.sin(x)


def exp_log_composition(x):
    return np.exp(2.0 * np.log(x)) + np.log(np.exp(x) + 1.0)


def y_equals_two_x_dot_x(x):
    y = 2 * x.dot(x)
    return y


def two_x_times_x(x):
    y = 2 * x * x
    return y.sum()


def chain_rule_sin_square(x):
    u = x ** 2
    return math.sin(u)


def product_rule_demo(x):
    return x ** 2 * math.exp(-x)


def quotient_rule_demo(x):
    return (x ** 2 + 1.0) / (x + 3.0)


def softplus_of_sin(x):
    return np.log(1.0 + np.exp(np.sin(x)))


def distance_from_origin(x, y):
    return math.sqrt(x * x + y * y)


def power_and_exponential(x):
    return x ** 2.5 + 2.0 ** x


def damped_tanh(x):
    return np.tanh(3.0 * x) / (1.0 + x * x)


def two_variable_polynomial(x, y):
    return x ** 2 * y + y ** 3 - x * y


def arctan_times_cosh(x):
    return np.arctan(x) * np.cosh(x / 2.0)


def gaussian_density(x, mu, sigma):
    z = (x - mu) / sigma
    return math.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi))


def cubic_sum(x):
    return np.sum(x ** 3 - 2.0 * x ** 2 + x)


def squared_sin_of_cos(x):
    return np.sum(np.sin(np.cos(x)) ** 2)


def log_of_product(x):
    return np.log(np.prod(x))


def exponential_decay_total(rate, times):
    return np.sum(np.exp(-rate * times))


def lorentzian_sum(x):
    return np.sum(1.0 / (1.0 + x ** 2))


def implicit_chain(x):
    u = np.sin(x)
    v = u ** 2 + 1.0
    w = np.log(v)
    return np.sum(w * x)


def sigmoid_derivative_tutorial(x):
    s = 1.0 / (1.0 + math.exp(-x))
    return s * (1.0 - s)


def tangent_line_error(x, x0):
    f = x ** 3
    tangent = x0 ** 3 + 3 * x0 ** 2 * (x - x0)
    return (f - tangent) ** 2


# ---------------------------------------------------------------------------
# Machine-learning losses written by hand
# ---------------------------------------------------------------------------

def mse_loss(w, X, y):
    pred = X @ w
    return np.mean((pred - y) ** 2)


def linear_regression_loss(w, b, X, y):
    residual = X.dot(w) + b - y
    return 0.5 * np.sum(residual * residual) / len(y)


def logistic_loss(w, X, y):
    # labels y are -1 / +1
    margins = y * (X @ w)
    return np.mean(np.log1p(np.exp(-margins)))


def stable_sigmoid(z):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))


def binary_cross_entropy(w, b, X, y):
    p = stable_sigmoid(X @ w + b)
    eps = 1e-12
    return -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))


def softmax_cross_entropy(logits, label):
    shifted = logits - np.max(logits)
    log_probs = shifted - np.log(np.sum(np.exp(shifted)))
    return -log_probs[label]


def batched_softmax_cross_entropy(W, X, labels):
    logits = X @ W
    logits = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits).sum(axis=1))
    n = X.shape[0]
    picked = logits[np.arange(n), labels]
    return np.mean(log_norm - picked)


def ridge_loss(w, X, y, lam):
    data_term = np.sum((X @ w - y) ** 2)
    penalty = lam * np.sum(w ** 2)
    return data_term + penalty


def mlp_tanh_loss(W1, b1, W2, b2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    out = hidden @ W2 + b2
    return np.mean((out - y) ** 2)


def mlp_relu_scores(W1, W2, X):
    h = np.maximum(X @ W1, 0.0)
    return np.sum(np.tanh(h @ W2))


def rnn_hidden_states(Wx, Wh, xs):
    T = xs.shape[0]
    n = Wh.shape[0]
    H = np.zeros((T, n))
    h = np.zeros(n)
    for t in range(T):
        h = np.tanh(Wx @ xs[t] + Wh @ h)
        H[t] = h
    return np.sum(H ** 2)


def rnn_previous_row(W, U, xs, h0):
    T = xs.shape[0]
    H = np.zeros((T + 1, h0.shape[0]))
    H[0] = h0
    for t in range(1, T + 1):
        H[t] = np.tanh(W @ H[t - 1] + U @ xs[t - 1])
    return np.mean(H[1:, 0]) + np.sum(H[-1] ** 2)


def attention_readout(q, K, V):
    d = q.shape[0]
    scores = K @ q / np.sqrt(d)
    scores = scores - np.max(scores)
    weights = np.exp(scores)
    weights = weights / np.sum(weights)
    context = weights @ V
    return np.sum(context ** 2)


def self_attention(X, Wq, Wk, Wv):
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    S = Q @ K.T / math.sqrt(Q.shape[1])
    S = S - S.max(axis=1, keepdims=True)
    A = np.exp(S)
    A = A / A.sum(axis=1, keepdims=True)
    out = A @ V
    return np.sum(out * out)


def smooth_hinge_loss(w, X, y):
    margins = 1.0 - y * (X @ w)
    return np.sum(np.log1p(np.exp(margins)))


def huber_loss(pred, target, delta):
    r = pred - target
    small = np.abs(r) <= delta
    return np.sum(np.where(small, 0.5 * r ** 2, delta * (np.abs(r) - 0.5 * delta)))


def cosine_similarity_loss(a, b):
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - cos


def lasso_objective(w, X, y, lam):
    return 0.5 * np.sum((X @ w - y) ** 2) + lam * np.sum(np.abs(w))


def logistic_regression_manual(w, X, y):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    loss = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    return loss.mean()


def kl_divergence_from_logits(logits, q):
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return np.sum(p * (np.log(p) - np.log(q)))


def ridge_validation_loss(lam, X, y, Xv, yv):
    d = X.shape[1]
    A = X.T @ X + lam * np.eye(d)
    w = np.linalg.solve(A, X.T @ y)
    return np.mean((Xv @ w - yv) ** 2)


def layer_norm_readout(x, gamma, beta):
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    y = gamma * xhat + beta
    return np.sum(np.tanh(y))


def unrolled_gradient_descent(lr, X, y, steps):
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        grad = 2.0 * X.T @ (X @ w - y) / len(y)
        w = w - lr * grad
    return np.mean((X @ w - y) ** 2)


def masked_mse(pred, target, mask):
    diff = (pred - target) * mask
    return np.sum(diff ** 2) / np.sum(mask)


def focal_loss(logits, y, gamma):
    p = 1.0 / (1.0 + np.exp(-logits))
    pt = np.where(y == 1, p, 1.0 - p)
    return -np.sum((1.0 - pt) ** gamma * np.log(pt))


def weight_decay_loss(W1, W2, X, y, decay):
    out = np.tanh(X @ W1) @ W2
    loss = np.mean((out - y) ** 2)
    loss += decay * np.sum(W1 * W1)
    loss += decay * np.sum(W2 * W2)
    return loss


def poisson_regression_nll(w, X, counts):
    eta = X @ w
    return np.sum(np.exp(eta) - counts * eta)


def embedding_bag_loss(E, idx, target):
    vectors = E[idx]
    pooled = vectors.sum(axis=0)
    return np.sum((pooled - target) ** 2)


def softmax_with_temperature(logits, temperature):
    z = logits / temperature
    z = z - z.max()
    p = np.exp(z) / np.exp(z).sum()
    return -np.sum(p * np.log(p))


# ---------------------------------------------------------------------------
# Physics and numerics
# ---------------------------------------------------------------------------

def spring_chain_energy(x, k, rest_length):
    E = 0.0
    for i in range(len(x) - 1):
        stretch = x[i + 1] - x[i] - rest_length
        E += 0.5 * k * stretch ** 2
    return E


def spring_network_2d(P, k, L):
    energy = 0.0
    n = P.shape[0]
    for i in range(n - 1):
        d = np.linalg.norm(P[i + 1] - P[i])
        energy = energy + 0.5 * k * (d - L) ** 2
    return energy


def rosenbrock_loop(x):
    total = 0.0
    for i in range(len(x) - 1):
        total += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return total


def rosenbrock_vectorised(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_2d(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def lennard_jones_energy(positions, epsilon, sigma):
    n = positions.shape[0]
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r = np.linalg.norm(positions[i] - positions[j])
            sr6 = (sigma / r) ** 6
            energy += 4.0 * epsilon * (sr6 * sr6 - sr6)
    return energy


def coulomb_energy_vectorised(P, q):
    diff = P[:, None, :] - P[None, :, :]
    r2 = np.sum(diff ** 2, axis=-1)
    n = P.shape[0]
    iu = np.triu_indices(n, 1)
    r = np.sqrt(r2[iu])
    return np.sum(np.outer(q, q)[iu] / r)


def gravitational_potential(masses, positions):
    G = 1.0
    U = 0.0
    for i in range(len(masses)):
        for j in range(len(masses)):
            if j <= i:
                continue
            dx = positions[i, 0] - positions[j, 0]
            dy = positions[i, 1] - positions[j, 1]
            U = U - G * masses[i] * masses[j] / np.sqrt(dx * dx + dy * dy)
    return U


def trapezoid_gaussian_integral(a, b):
    n = 50
    h = (b - a) / n
    total = 0.5 * (math.exp(-a * a) + math.exp(-b * b))
    for i in range(1, n):
        x = a + i * h
        total += math.exp(-x * x)
    return total * h


def trapezoid_samples(y, dx):
    s = 0.0
    for i in range(len(y) - 1):
        s = s + 0.5 * (y[i] + y[i + 1]) * dx
    return s


def simpson_integral(k):
    x = np.linspace(0.0, 1.0, 21)
    f = np.exp(-k * x) * np.cos(3 * x)
    h = x[1] - x[0]
    return h / 3.0 * (f[0] + f[-1] + 4.0 * np.sum(f[1:-1:2]) + 2.0 * np.sum(f[2:-1:2]))


def newton_sqrt(a):
    x = a if a > 1.0 else 1.0
    for _ in range(8):
        x = 0.5 * (x + a / x)
    return x


def fixed_point_cos(c):
    x = 0.5
    for _ in range(40):
        x = c * math.cos(x)
    return x


def euler_decay_ode(k, x0, dt, n_steps):
    x = x0
    t = 0.0
    for _ in range(n_steps):
        x = x + dt * (-k * x + math.sin(t))
        t += dt
    return x


def euler_pendulum(theta0, omega0, g):
    theta, omega = theta0, omega0
    dt = 0.01
    for step in range(200):
        alpha = -g * np.sin(theta)
        theta = theta + dt * omega
        omega = omega + dt * alpha
    return theta ** 2 + 0.1 * omega ** 2


def euler_vector_ode(A, y0, n_steps):
    dt = 0.05
    y = y0
    for _ in range(n_steps):
        y = y + dt * np.tanh(A @ y)
    return np.sum(y ** 2)


def laplacian_energy(u):
    lap = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * u[1:-1, 1:-1]
    return 0.5 * np.sum(lap ** 2)


def dirichlet_energy(u, h):
    dx = np.diff(u, axis=1) / h
    dy = np.diff(u, axis=0) / h
    return 0.5 * (np.sum(dx ** 2) + np.sum(dy ** 2)) * h * h


def heat_equation_explicit(u0, alpha):
    u = u0.copy()
    for _ in range(20):
        u_new = u.copy()
        u_new[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        u = u_new
    return np.sum(u * u)


def velocity_verlet_oscillator(x0, v0, omega):
    dt = 0.05
    x, v = x0, v0
    a = -omega ** 2 * x
    for _ in range(100):
        x = x + v * dt + 0.5 * a * dt * dt
        a_new = -omega ** 2 * x
        v = v + 0.5 * (a + a_new) * dt
        a = a_new
    return 0.5 * v * v + 0.5 * omega ** 2 * x * x


def rk4_logistic_growth(r, y0):
    K = 10.0
    h = 0.1
    y = y0
    for _ in range(30):
        k1 = r * y * (1 - y / K)
        y2 = y + 0.5 * h * k1
        k2 = r * y2 * (1 - y2 / K)
        y3 = y + 0.5 * h * k2
        k3 = r * y3 * (1 - y3 / K)
        y4 = y + h * k3
        k4 = r * y4 * (1 - y4 / K)
        y = y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def horner_polynomial(coeffs, x):
    result = 0.0
    for c in coeffs:
        result = result * x + c
    return result


def chebyshev_series(c, x):
    T_prev, T_curr = 1.0, x
    total = c[0] * T_prev + c[1] * T_curr
    for k in range(2, len(c)):
        T_prev, T_curr = T_curr, 2.0 * x * T_curr - T_prev
        total += c[k] * T_curr
    return total


def elastic_rod_bending(y, EI, h):
    curvature = (y[2:] - 2.0 * y[1:-1] + y[:-2]) / h ** 2
    return 0.5 * EI * np.sum(curvature ** 2) * h


def kinetic_plus_potential(v, m, x, k):
    return 0.5 * np.sum(m * v ** 2) + 0.5 * k * np.sum(x ** 2)


def power_iteration_eigenvalue(A, n_iter):
    v = np.ones(A.shape[0])
    for _ in range(n_iter):
        v = A @ v
        v = v / np.linalg.norm(v)
    return v @ A @ v


def projectile_range(speed, angle, drag):
    x, y = 0.0, 0.0
    vx = speed * math.cos(angle)
    vy = speed * math.sin(angle)
    dt = 0.01
    for _ in range(100):
        vx = vx - drag * vx * dt
        vy = vy - (9.81 + drag * vy) * dt
        x = x + vx * dt
        y = y + vy * dt
    return x + 0.5 * y


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------

def gaussian_log_likelihood(mu, log_sigma, data):
    sigma = np.exp(log_sigma)
    n = data.size
    return (-0.5 * n * np.log(2 * np.pi) - n * log_sigma
            - 0.5 * np.sum((data - mu) ** 2) / sigma ** 2)


def variance_by_hand(x):
    n = len(x)
    mean = sum(x) / n
    acc = 0.0
    for v in x:
        acc += (v - mean) ** 2
    return acc / (n - 1)


def std_by_hand(x):
    m = np.sum(x) / x.size
    return np.sqrt(np.sum((x - m) ** 2) / x.size)


def weighted_mean(x, w):
    return np.sum(w * x) / np.sum(w)


def logsumexp_by_hand(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def logsumexp_loop(x):
    m = x[0]
    for v in x[1:]:
        if v > m:
            m = v
    s = 0.0
    for v in x:
        s += math.exp(v - m)
    return m + math.log(s)


def numpy_moments(x):
    return np.mean(x) + np.var(x) + np.std(x) + np.var(x, ddof=1)


def pearson_correlation(x, y):
    xm = x - x.mean()
    ym = y - y.mean()
    return np.sum(xm * ym) / np.sqrt(np.sum(xm ** 2) * np.sum(ym ** 2))


def student_t_loglik(mu, log_scale, data, nu):
    s = np.exp(log_scale)
    z = (data - mu) / s
    return np.sum(-0.5 * (nu + 1) * np.log1p(z ** 2 / nu)) - len(data) * log_scale


def gaussian_mixture_loglik(mu1, mu2, logit_pi, data):
    pi = 1.0 / (1.0 + np.exp(-logit_pi))
    l1 = np.log(pi) - 0.5 * (data - mu1) ** 2 - 0.5 * np.log(2 * np.pi)
    l2 = np.log(1 - pi) - 0.5 * (data - mu2) ** 2 - 0.5 * np.log(2 * np.pi)
    m = np.maximum(l1, l2)
    return np.sum(m + np.log(np.exp(l1 - m) + np.exp(l2 - m)))


def mvn_log_density(mu, A, x):
    d = mu.shape[0]
    Sigma = A @ A.T + np.eye(d)
    diff = x - mu
    quad = diff @ np.linalg.solve(Sigma, diff)
    logdet = np.log(np.linalg.det(Sigma))
    return -0.5 * (quad + logdet + d * np.log(2 * np.pi))


def skewness_by_hand(x):
    n = x.shape[0]
    mean = 0.0
    for i in range(n):
        mean += x[i]
    mean = mean / n
    m2 = 0.0
    m3 = 0.0
    for i in range(n):
        d = x[i] - mean
        m2 += d * d
        m3 += d * d * d
    m2 /= n
    m3 /= n
    return m3 / m2 ** 1.5


def poisson_log_likelihood(log_rate, counts):
    rate = math.exp(log_rate)
    ll = 0.0
    for k in counts:
        ll += k * log_rate - rate - math.lgamma(k + 1)
    return ll


def bayesian_evidence_logdet(alpha, X):
    d = X.shape[1]
    return np.log(np.linalg.det(alpha * np.eye(d) + X.T @ X))


def autocorrelation_lag1(x):
    xm = x - x.mean()
    return np.sum(xm[1:] * xm[:-1]) / np.sum(xm * xm)


def coefficient_of_variation(x):
    return np.std(x) / np.mean(x)


def exponential_mle_objective(log_lam, waiting_times):
    lam = np.exp(log_lam)
    n = len(waiting_times)
    return n * log_lam - lam * np.sum(waiting_times)


# ---------------------------------------------------------------------------
# Control flow on data
# ---------------------------------------------------------------------------

def piecewise_by_total(x):
    s = np.sum(x)
    if s > 1.0:
        return np.sum(x ** 2)
    elif s > -1.0:
        return np.sum(np.sin(x))
    else:
        return -s * np.prod(x)


def halve_until_small(x, tol):
    y = x
    it = 0
    while np.sum(y * y) > tol and it < 50:
        y = 0.5 * y
        it += 1
    return np.sum(np.sin(y)) * (it + 1)


def sqrt_newton_while(a):
    x = a
    it = 0
    while abs(x * x - a) > 1e-6 and it < 20:
        x = 0.5 * (x + a / x)
        it += 1
    return x


def sum_until_threshold_break(x, limit):
    total = 0.0
    for i in range(len(x)):
        if total > limit:
            break
        total += x[i] ** 2
    return total


def skip_negative_data_continue(w, data):
    s = 0.0
    for i in range(len(data)):
        if data[i] < 0:
            continue
        s += w[i] * data[i] ** 2 + w[i] ** 2
    return s


def sum_positive_squares(x):
    s = 0.0
    for v in x:
        if v < 0.0:
            continue
        s = s + v ** 2
    return s


def early_return_positive(x):
    if x[0] > 0.0:
        return np.sum(x ** 2)
    return np.sum(np.exp(x))


def branch_on_radius(x, y):
    r = math.sqrt(x * x + y * y)
    if r < 1.0:
        return 1.0 - r * r
    else:
        return math.log(r) * math.cos(x)


def nested_loop_conditional(X):
    total = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 0.0:
                total += X[i, j] ** 2
            else:
                total -= X[i, j] * 0.5
    return total


def counted_while_loop(x, n):
    i = 0
    acc = x
    while i < n:
        acc = acc * 0.9 + math.sin(acc)
        i += 1
    return acc


def clamp_with_if(v, limit):
    if v > limit:
        v = limit
    return v * v + v


def first_exceed_early_return(x, thresh):
    partial = 0.0
    for i in range(len(x)):
        partial += np.exp(x[i])
        if partial > thresh:
            return partial / (i + 1)
    return partial


def sign_dependent_scaling(x):
    scale = 2.0 if np.mean(x) > 0 else 0.5
    return scale * np.sum(x ** 2)


def while_true_with_break(x):
    k = 0
    y = x
    while True:
        y = np.sin(y) + 0.1 * y
        k += 1
        if k >= 5:
            break
    return np.sum(y)


def elif_chain_grade(score):
    if score < 0.5:
        return score ** 2
    elif score < 1.5:
        return 0.25 + (score - 0.5)
    else:
        return 1.25 + math.log(score / 1.5)


def for_else_search(x, limit):
    for i in range(len(x)):
        if x[i] > limit:
            result = x[i] ** 2 * (i + 1)
            break
    else:
        result = np.sum(x)
    return result


def labelled_loss_loop(logits, y):
    loss = 0.0
    for i in range(len(y)):
        p = 1.0 / (1.0 + np.exp(-logits[i]))
        if y[i] > 0.5:
            loss -= np.log(p)
        else:
            loss -= np.log(1.0 - p)
    return loss / len(y)


def clip_gradient_norm(g, w, max_norm):
    norm = np.linalg.norm(g)
    if norm > max_norm:
        g = g * (max_norm / norm)
    return np.dot(g, w)


def integrate_until_time(k, x0):
    t = 0.0
    x = x0
    steps = 0
    while t < 1.25 and steps < 100:
        dt = min(0.1, 1.25 - t)
        x = x - dt * k * x
        t += dt
        steps += 1
    return x


def regime_switch_loop(x):
    total = 0.0
    for i in range(len(x)):
        v = x[i]
        if v > 1.0:
            total += np.log(v)
        elif v > -1.0:
            total += v - v ** 3 / 3.0
        else:
            total += -np.log(-v) - 2.0 / 3.0
    return total


# ---------------------------------------------------------------------------
# Helper functions (used by the functions in the next section)
# ---------------------------------------------------------------------------

def mul(a, b):
    return a * b


def square(x):
    return mul(x, x)


def cube(x):
    return x * square(x)


def layer(x, w):
    x = x * w
    return np.tanh(x)


def dense(x, W, b):
    return W @ x + b


def relu(z):
    return np.maximum(z, 0.0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    z = z - np.max(z)
    e = np.exp(z)
    return e / np.sum(e)


def logsumexp(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m)))


def log_softmax(z):
    return z - logsumexp(z)


def norm2(v):
    return np.sqrt(np.dot(v, v))


def distance(p, q):
    return norm2(p - q)


def lj_pair(r, eps, sig):
    s6 = (sig / r) ** 6
    return 4.0 * eps * (s6 ** 2 - s6)


def accumulate(total, term):
    total += term
    return total


def normalize(v):
    v = v / np.linalg.norm(v)
    return v


def drift_step(x, dt):
    x = x + dt * (np.sin(x) - 0.5 * x ** 3)
    return x


def mse(pred, target):
    err = pred - target
    return np.mean(err * err)


def horner(coeffs, x):
    acc = np.zeros_like(x)
    for c in coeffs:
        acc = acc * x + c
    return acc


def scale_unless_one(x, s):
    if s == 1.0:
        return x
    return x * s


def gaussian_logpdf(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2.0 * np.pi)


def rnn_cell(h, x, W, U):
    h = np.tanh(W @ h + U @ x)
    return h


def residual_block(x, W):
    y = np.tanh(W @ x)
    x = x + y
    return x


def affine(x, scale=1.0, shift=0.0):
    return scale * x + shift


def mean_and_var(x):
    m = np.mean(x)
    v = np.mean((x - m) ** 2)
    return m, v


def newton_update(x, a):
    return x - (x * x - a) / (2.0 * x)


def inner_op(x):
    return np.exp(-x * x)


def middle_op(x):
    return inner_op(x) + x * inner_op(2.0 * x)


def outer_op(x):
    return np.sum(middle_op(x) ** 2)


def trapezoid(y, dx):
    total = 0.0
    for i in range(len(y) - 1):
        total += 0.5 * dx * (y[i] + y[i + 1])
    return total


def smooth_piece(z):
    if z > 0.0:
        return math.log1p(z)
    return z - 0.5 * z * z


def sgd_update(w, g, lr):
    w = w - lr * g
    return w


def first_partial_sum_over(x, thresh):
    s = 0.0
    for v in x:
        s += v * v
        if s > thresh:
            return s
    return s


def kinetic(v, m):
    return 0.5 * m * np.sum(v * v)


def potential(x, k):
    return 0.5 * k * np.sum(x * x)


def total_energy(x, v, m, k):
    return kinetic(v, m) + potential(x, k)


def with_first_doubled(x):
    y = x.copy()
    y[0] *= 2.0
    return y


def dot(a, b):
    return np.sum(a * b)


def quadratic_form(x, A):
    return x @ A @ x


def clipped_log(p):
    if p < 1e-8:
        return math.log(1e-8)
    return math.log(p)


def polynomial_value(x, c0, c1, c2):
    return c0 + c1 * x + c2 * x * x


# ---------------------------------------------------------------------------
# Functions that call the helpers above
# ---------------------------------------------------------------------------

def deep_tanh_stack(x, w1, w2, w3):
    x = layer(x, w1)
    x = layer(x, w2)
    x = layer(x, w3)
    return np.sum(x)


def self_product_terms(a, b):
    return mul(a, a) + mul(a, b) + square(b)


def fourth_power_via_helpers(x):
    return np.sum(square(square(x)))


def mlp_with_dense(W1, b1, W2, b2, x):
    h = np.tanh(dense(x, W1, b1))
    out = dense(h, W2, b2)
    return np.sum(out ** 2)


def relu_net_with_helpers(W1, W2, x):
    hidden = relu(dense(x, W1, 0.0))
    return np.sum(sigmoid(dense(hidden, W2, 0.0)))


def classifier_nll(W, x, label):
    p = softmax(W @ x)
    return -np.log(p[label])


def log_softmax_nll(W, x, label):
    return -log_softmax(W @ x)[label]


def lj_energy_with_helpers(P, eps, sig):
    E = 0.0
    for i in range(P.shape[0]):
        for j in range(i + 1, P.shape[0]):
            E += lj_pair(distance(P[i], P[j]), eps, sig)
    return E


def integrate_drift(x, dt, n_steps):
    for _ in range(n_steps):
        x = drift_step(x, dt)
    return np.sum(x ** 2)


def accumulate_squares(x):
    total = 0.0
    for v in x:
        total = accumulate(total, v * v)
    return total


def projection_on_normalized(v, u):
    return np.dot(normalize(v), u)


def scale_twice(x, s):
    a = scale_unless_one(x, 1.0)
    b = scale_unless_one(x, s)
    return np.sum(a * b)


def polynomial_fit_loss(coeffs, t, y):
    return mse(horner(coeffs, t), y)


def logistic_with_helper(w, X, y):
    p = sigmoid(X @ w)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def attention_with_softmax_helper(q, K, V):
    weights = softmax(K @ q)
    return np.sum((weights @ V) ** 2)


def gaussian_nll_with_helper(mu, sigma, data):
    return -np.sum(gaussian_logpdf(data, mu, sigma))


def rnn_with_cell(W, U, xs):
    h = np.zeros(W.shape[0])
    for t in range(xs.shape[0]):
        h = rnn_cell(h, xs[t], W, U)
    return np.sum(h)


def resnet_two_blocks(x, W1, W2):
    x = residual_block(x, W1)
    x = residual_block(x, W2)
    return np.sum(x ** 2)


def elementwise_self_mul(v):
    return np.sum(mul(v, v)) + np.sum(mul(v, 2.0))


def affine_keywords(x, s, t):
    y = affine(x, shift=t, scale=s)
    z = affine(y)
    return np.sum(np.sin(z))


def standardized_cubes(x):
    m, v = mean_and_var(x)
    z = (x - m) / np.sqrt(v)
    return np.sum(z ** 3)


def newton_sqrt_helper(a):
    x = 1.0
    for _ in range(10):
        x = newton_update(x, a)
    return x


def three_level_helpers(x):
    return outer_op(x)


def integral_with_helper(k):
    t = np.linspace(0.0, 2.0, 41)
    y = np.exp(-k * t) * np.sin(t)
    return trapezoid(y, t[1] - t[0])


def piecewise_helper_sum(x):
    total = 0.0
    for v in x:
        total += smooth_piece(v)
    return total


def unrolled_sgd_with_helper(w, X, y, lr):
    for _ in range(5):
        g = 2.0 * X.T @ (X @ w - y) / len(y)
        w = sgd_update(w, g, lr)
    return mse(X @ w, y)


def early_return_helper_user(x):
    return first_partial_sum_over(x, 2.0) + first_partial_sum_over(x, 100.0)


def oscillator_energy_with_helpers(x, v, m, k):
    return total_energy(x, v, m, k)


def doubled_first_norm(x):
    y = with_first_doubled(x)
    return np.sum(y ** 2) + x[0]


def quadratic_form_same_arg(x, A):
    return quadratic_form(x, A) + dot(x, x)


def cubes_via_helpers(x):
    return np.sum(cube(x)) + cube(1.5) * np.sum(x)


def layer_applied_twice_same_weight(x, w):
    return np.sum(layer(layer(x, w), w))


def mul_same_float(a):
    t = mul(a, a)
    t = mul(t, a)
    return t


def entropy_with_clipped_log(p0, p1):
    total = p0 + p1
    q0 = p0 / total
    q1 = p1 / total
    return -(q0 * clipped_log(q0) + q1 * clipped_log(q1))


def quadratic_model_loss(c0, c1, c2, xs, ys):
    loss = 0.0
    for i in range(len(xs)):
        r = polynomial_value(xs[i], c0, c1, c2) - ys[i]
        loss += r * r
    return loss


# ---------------------------------------------------------------------------
# In-place and self-assignment styles
# ---------------------------------------------------------------------------

def reassign_scaled(x):
    x = x * 2
    x = x + 1.0
    x = np.sin(x)
    return np.sum(x * x)


def harmonic_weighted_sum(x):
    s = 0.0
    for i in range(len(x)):
        term = x[i] ** 2 / (i + 1)
        s += term
    return s


def float_alias_augmented(a):
    s = a * 3.0
    t = s
    t *= 2.0
    return t + s * s


def copy_and_overwrite_first(x):
    y = x.copy()
    y[0] = x[1] * x[2]
    return np.sum(y ** 2)


def fill_matrix_rows_cols(r, c, v):
    n, m = 4, 3
    M = np.zeros((n, m))
    M[0] = r
    M[:, 1] = c
    M[2, 2] = v
    M[3, 0] = r[1] * c[2]
    return np.sum(M * M) + np.sum(M[:, 0]) * v


def copy_scale_first_row(X):
    Y = X.copy()
    Y[0] *= 2
    Y[:, -1] += 1.0
    return np.sum(Y ** 2)


def augmented_array_ops(x):
    y = np.exp(x)
    y += 1.0
    y *= x
    y /= 2.0
    y -= 0.1
    return np.sum(y)


def shift_by_slice_assignment(x):
    y = np.zeros_like(x)
    y[1:] = x[:-1]
    y[0] = x[-1]
    return np.sum((x - y) ** 2)


def square_even_entries(x):
    y = x.copy()
    y[::2] = y[::2] ** 2
    return np.sum(y * np.arange(1, len(y) + 1))


def matrix_power_loop(B, k):
    A = np.eye(B.shape[0])
    for _ in range(k):
        A = A @ B
    return np.trace(A)


def running_sum_manual(x):
    out = np.zeros(len(x))
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = out[i - 1] + x[i]
    return np.sum(out ** 2)


def fibonacci_like(a, b):
    for _ in range(8):
        a, b = b, 0.5 * a + 0.7 * b
    return a * b


def gram_matrix_accumulate(X):
    n = X.shape[0]
    G = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            G[i, j] += np.dot(X[i], X[j])
    return np.sum(np.tanh(G))


def masked_copy_zero(x, mask):
    y = x.copy()
    y[mask] = 0.0
    return np.sum(np.exp(y))


def product_loop_augmented(x):
    p = 1.0
    for v in x:
        p *= v
    return p


def subtract_accumulate(x):
    total = 10.0
    for i in range(len(x)):
        total -= x[i] * (i + 1)
    total = total * total
    return total


def param_copy_then_modify(x):
    x = x.copy()
    x[0] = 1.0
    x[-1] *= 3.0
    return np.sum(np.sin(x))


def nested_plain_accumulation(A, B):
    total = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            total = total + A[i, j] * B[j, i]
    return total


def column_writes(X):
    n, m = X.shape
    Z = np.zeros((n, m))
    for j in range(m):
        Z[:, j] = X[:, j] * (j + 1.0) - X[:, j].mean()
    return np.sum(Z ** 2)


def inplace_row_update_loop(X, w):
    Y = np.zeros_like(X)
    for i in range(X.shape[0]):
        Y[i] = np.tanh(X[i] * w)
        Y[i] += 0.1 * X[i]
    return np.sum(Y)


def tuple_unpack_swap(x, y):
    a, b = x, y
    a, b = b * 2.0, a + b
    return a * b


def power_augmented(x):
    y = x + 2.0
    y **= 2
    z = y.copy()
    z[1:] -= y[:-1]
    return np.sum(z * x)


def list_literal_accumulator(a, b):
    terms = [a * a, a * b, math.sin(b)]
    total = 0.0
    for term in terms:
        total += term
    return total


# ---------------------------------------------------------------------------
# NumPy API usage
# ---------------------------------------------------------------------------

def axis_reductions(X):
    col_means = np.mean(X, axis=0)
    row_max = np.max(X, axis=1)
    return np.sum(col_means ** 2) + np.sum(row_max)


def center_rows_keepdims(X):
    Xc = X - X.mean(axis=1, keepdims=True)
    return np.sum(np.sin(Xc) * X)


def matmul_transpose_trace(A, B):
    return np.trace(A @ B.T) + np.sum((A.T @ A) * (B.T @ B))


def outer_product_weighted(a, b, C):
    return np.sum(np.outer(a, b) * C) + np.dot(a, a) * np.dot(b, b)


def where_piecewise(x):
    return np.sum(np.where(x > 0.0, x ** 2, -0.5 * x))


def relu_maximum(x, w):
    return np.dot(np.maximum(x, 0.0), w) + np.sum(np.maximum(0.0, x * w) ** 2)


def clip_activation(x):
    return np.sum(np.clip(x, -1.0, 1.0) ** 3 + 0.1 * x)


def abs_total_variation(x):
    return np.sum(np.abs(np.diff(x))) + 0.1 * np.sum(np.abs(x))


def sorted_weighted_sum(x, weights):
    return np.sum(np.sort(x) * weights)


def cumsum_energy(x):
    c = np.cumsum(x)
    return np.sum(c ** 2)


def concatenate_features(a, b):
    z = np.concatenate([a, b * 2.0, a * b])
    return np.sum(np.tanh(z))


def stack_list_literal(a, b):
    S = np.stack([a, b, a * b])
    return np.sum(S ** 2 * np.arange(1, 4)[:, None])


def linspace_sine_sum(freq):
    t = np.linspace(0.0, 1.0, 25)
    return np.sum(np.sin(freq * t) ** 2)


def slicing_variety(x, X):
    a = np.sum(x[1:] * x[:-1])
    b = np.dot(x, x[::-1])
    c = np.sum(X[:, 0] ** 2) + np.sum(X[1, :] * X[-1, :])
    return a + b + c


def vector_and_matrix_norms(x, A):
    return np.linalg.norm(x) + np.linalg.norm(A) + np.linalg.norm(A @ x) ** 2


def solve_linear_system(A, b):
    n = A.shape[0]
    M = A + 3.0 * np.eye(n)
    x = np.linalg.solve(M, b)
    return np.sum(x ** 2)


def inverse_quadratic(A, v):
    Ainv = np.linalg.inv(A + 4.0 * np.eye(A.shape[0]))
    return v @ Ainv @ v


def log_determinant(A):
    return np.log(np.linalg.det(A @ A.T + np.eye(A.shape[0])))


def determinant_direct(A):
    return np.linalg.det(A)


def product_of_entries(x):
    return np.prod(x) + np.prod(1.0 + 0.1 * x)


def numpy_mean_var_std(x):
    return np.mean(x) * np.var(x) + np.std(x)


def math_module_floats(a, b):
    return (math.exp(a) * math.cos(b) + math.log(a + 2.0)
            + math.sqrt(b * b + 1.0) + math.tanh(a - b) + math.atan(a * b))


def float_conversion(x):
    s = float(np.sum(x ** 2))
    return math.sqrt(s) + float(x[0]) * 2.0


def builtin_numeric_functions(a, b, c):
    big = max(a, b)
    small = min(b, c)
    return abs(a - c) + big * small + sum([a, b, c])


def einsum_bilinear(x, A, y):
    return np.einsum("i,ij,j->", x, A, y)


def reshape_and_reduce(x):
    M = x.reshape(3, 4)
    return np.sum(M.sum(axis=0) ** 2) + np.sum(M.max(axis=1))


def fancy_index_gather(x, idx):
    picked = x[idx]
    return np.sum(picked ** 2 * (1.0 + np.arange(len(idx))))


def diag_and_trace(A):
    return np.trace(A @ A) + np.sum(np.diag(A) ** 3)


def pairwise_distance_broadcast(X):
    D2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    return np.sum(np.exp(-D2))


def method_style_reductions(X):
    return X.sum() + (X ** 2).mean() + X.max() - X.min() + X.std()


def power_with_array_exponent(x, p):
    return np.sum(x ** p)


def minimum_clamp(x):
    return np.sum(np.minimum(x, 1.0) * x)


def sign_times_value(x):
    return np.sum(np.sign(x) * x ** 2)


def keepdims_column_softmax(X):
    P = np.exp(X) / np.sum(np.exp(X), axis=0, keepdims=True)
    return np.sum(P * X)


def arange_weighted(x):
    w = np.arange(len(x)) + 1.0
    return np.dot(w, np.log1p(x ** 2))


def matrix_vector_chain(W, x):
    return np.sum((W @ x) @ W)


def elementwise_function_zoo(x):
    return np.sum(np.square(x) + np.sqrt(x) + np.power(x, 3) + np.exp(-x) + np.log(x))


def trig_hyperbolic_zoo(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x / 3.0) + np.sinh(x) / 10.0
                  + np.cosh(x) / 10.0 + np.arcsin(x / 3.0))


def triangular_parts(A):
    return np.sum(np.triu(A) ** 2) + np.sum(np.tril(A, -1))


def frobenius_cosine(A, B):
    return np.sum(A * B) / (np.linalg.norm(A, "fro") * np.linalg.norm(B))


def mean_over_axes(X):
    return np.mean(X, axis=(0, 1)) + np.sum(np.mean(X ** 2, axis=1, keepdims=True))


def transpose_and_dot(X, v):
    return np.dot(X.T, np.dot(X, v)).sum()


def exp_log_sums_keepdims(X):
    s = np.sum(np.exp(X), axis=1, keepdims=True)
    return np.sum(np.log(s) * X.shape[1]) - np.sum(X)


def tile_and_repeat(x):
    t = np.tile(x, 2)
    r = np.repeat(x, 2)
    return np.sum(t * r)


def flip_and_roll(x):
    return np.sum(np.flip(x) * x) + np.sum(np.roll(x, 1) * x ** 2)


def max_minus_min_range(x):
    return np.max(x) - np.min(x) + np.sum(x ** 2) * 0.01


def argmax_selected_value(x, y):
    i = np.argmax(y)
    return x[i] ** 2 + np.sum(x * y)


def hstack_vstack(a, b):
    h = np.hstack([a, b])
    v = np.vstack([a, b])
    return np.sum(h ** 2) + np.sum(v[0] * v[1])


def expm1_log1p_pair(x):
    return np.sum(np.expm1(0.5 * x) * np.log1p(x * x))


# ---------------------------------------------------------------------------
# Arguments (deterministic)
# ---------------------------------------------------------------------------

_rng = np.random.default_rng(7)


def _randn(*shape):
    return _rng.standard_normal(shape)


def _uniform(low, high, *shape):
    return _rng.uniform(low, high, shape)


# shared regression data
_X = _randn(8, 3)
_w = 0.5 * _randn(3)
_y = _randn(8)
_y01 = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
_ypm = 2.0 * _y01 - 1.0

# particle grids (well separated, slightly jittered)
_grid9 = np.array([[i * 1.2, j * 1.2] for i in range(3) for j in range(3)]) + 0.05 * _randn(9, 2)
_grid5_3d = np.array([[0.0, 0.0, 0.0], [1.5, 0.1, 0.0], [0.2, 1.4, 0.3],
                      [1.3, 1.6, -0.2], [0.7, 0.8, 1.5]]) + 0.05 * _randn(5, 3)
_sym4 = np.diag([4.0, 2.0, 1.0, 0.5]) + 0.1 * _randn(4, 4)
_sym4 = 0.5 * (_sym4 + _sym4.T)

CASES = [
    # calculus
    Case("cubic_polynomial", cubic_polynomial, (1.3,), 0),
    Case("x_sin_x", x_sin_x, (0.9,), 0),
    Case("exp_log_composition", exp_log_composition, (1.3,), 0),
    Case("y_equals_two_x_dot_x", y_equals_two_x_dot_x, (_randn(5),), 0),
    Case("two_x_times_x", two_x_times_x, (_randn(4),), 0),
    Case("chain_rule_sin_square", chain_rule_sin_square, (0.7,), 0),
    Case("product_rule_demo", product_rule_demo, (1.2,), 0),
    Case("quotient_rule_demo", quotient_rule_demo, (0.5,), 0),
    Case("softplus_of_sin", softplus_of_sin, (0.8,), 0),
    Case("distance_from_origin", distance_from_origin, (3.0, -4.0), (0, 1)),
    Case("power_and_exponential", power_and_exponential, (1.4,), 0),
    Case("damped_tanh", damped_tanh, (0.3,), 0),
    Case("two_variable_polynomial", two_variable_polynomial, (1.1, -0.6), (0, 1)),
    Case("arctan_times_cosh", arctan_times_cosh, (0.8,), 0),
    Case("gaussian_density", gaussian_density, (0.4, 0.1, 1.3), (0, 1, 2)),
    Case("cubic_sum", cubic_sum, (_randn(6),), 0),
    Case("squared_sin_of_cos", squared_sin_of_cos, (_randn(5),), 0),
    Case("log_of_product", log_of_product, (_uniform(0.5, 2.0, 5),), 0),
    Case("exponential_decay_total", exponential_decay_total, (0.7, np.linspace(0.0, 3.0, 10)), 0),
    Case("lorentzian_sum", lorentzian_sum, (_randn(6),), 0),
    Case("implicit_chain", implicit_chain, (_randn(5),), 0),
    Case("sigmoid_derivative_tutorial", sigmoid_derivative_tutorial, (0.6,), 0),
    Case("tangent_line_error", tangent_line_error, (1.4, 1.0), (0, 1)),

    # machine learning
    Case("mse_loss", mse_loss, (_w, _X, _y), (0, 1)),
    Case("linear_regression_loss", linear_regression_loss, (_w, 0.3, _X, _y), (0, 1)),
    Case("logistic_loss", logistic_loss, (_w, _X, _ypm), 0),
    Case("binary_cross_entropy", binary_cross_entropy, (_w, 0.1, _X, _y01), (0, 1)),
    Case("softmax_cross_entropy", softmax_cross_entropy, (_randn(5), 2), 0),
    Case("batched_softmax_cross_entropy", batched_softmax_cross_entropy,
         (_randn(4, 3), _randn(6, 4), np.array([0, 2, 1, 1, 0, 2])), 0),
    Case("ridge_loss", ridge_loss, (_w, _X, _y, 0.1), (0, 3)),
    Case("mlp_tanh_loss", mlp_tanh_loss,
         (0.5 * _randn(3, 5), 0.1 * _randn(5), 0.5 * _randn(5), 0.2, _X, _y), (0, 1, 2, 3)),
    Case("mlp_relu_scores", mlp_relu_scores, (_randn(3, 6), 0.5 * _randn(6, 2), _X), (0, 1)),
    Case("rnn_hidden_states", rnn_hidden_states,
         (0.5 * _randn(4, 3), 0.4 * _randn(4, 4), _randn(6, 3)), (0, 1, 2)),
    Case("rnn_previous_row", rnn_previous_row,
         (0.4 * _randn(4, 4), 0.5 * _randn(4, 3), _randn(5, 3), 0.3 * _randn(4)), (0, 1, 3)),
    Case("attention_readout", attention_readout, (_randn(4), _randn(6, 4), _randn(6, 3)), (0, 1, 2)),
    Case("self_attention", self_attention,
         (_randn(5, 4), 0.5 * _randn(4, 3), 0.5 * _randn(4, 3), 0.5 * _randn(4, 2)), (0, 1, 2, 3)),
    Case("smooth_hinge_loss", smooth_hinge_loss, (_w, _X, _ypm), 0),
    Case("huber_loss", huber_loss,
         (np.array([0.3, 1.9, -0.4, 2.6, -1.7]), np.array([0.0, 0.2, 0.5, 0.1, 0.6]), 1.0), (0, 1)),
    Case("cosine_similarity_loss", cosine_similarity_loss, (_randn(5), _randn(5)), (0, 1)),
    Case("lasso_objective", lasso_objective, (np.array([0.8, -0.5, 1.2]), _X, _y, 0.3), (0, 3)),
    Case("logistic_regression_manual", logistic_regression_manual, (_w, _X, _y01), 0),
    Case("kl_divergence_from_logits", kl_divergence_from_logits,
         (_randn(5), np.array([0.1, 0.3, 0.2, 0.25, 0.15])), 0),
    Case("ridge_validation_loss", ridge_validation_loss, (0.5, _X, _y, _randn(5, 3), _randn(5)), 0),
    Case("layer_norm_readout", layer_norm_readout,
         (_randn(6), 1.0 + 0.2 * _randn(6), 0.1 * _randn(6)), (0, 1, 2)),
    Case("unrolled_gradient_descent", unrolled_gradient_descent, (0.05, _X, _y, 10), 0),
    Case("masked_mse", masked_mse,
         (_randn(6), _randn(6), np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])), 0),
    Case("focal_loss", focal_loss,
         (_randn(6), np.array([1, 0, 0, 1, 1, 0]), 2.0), (0, 2)),
    Case("weight_decay_loss", weight_decay_loss, (0.5 * _randn(3, 4), 0.5 * _randn(4), _X, _y, 0.01), (0, 1)),
    Case("poisson_regression_nll", poisson_regression_nll,
         (0.3 * _randn(3), _X, np.array([0.0, 1.0, 2.0, 0.0, 3.0, 1.0, 1.0, 0.0])), 0),
    Case("embedding_bag_loss", embedding_bag_loss, (_randn(5, 3), np.array([0, 2, 2, 4]), _randn(3)), 0),
    Case("softmax_with_temperature", softmax_with_temperature, (_randn(5), 1.5), (0, 1)),

    # physics and numerics
    Case("spring_chain_energy", spring_chain_energy,
         (np.arange(5) * 1.1 + 0.05 * _randn(5), 2.0, 1.0), (0, 1, 2)),
    Case("spring_network_2d", spring_network_2d,
         (np.array([[0.0, 0.0], [1.0, 0.2], [1.8, 0.9], [2.5, 0.4], [3.4, 0.8]]), 3.0, 0.8), 0),
    Case("rosenbrock_loop", rosenbrock_loop, (0.5 * _randn(5),), 0),
    Case("rosenbrock_vectorised", rosenbrock_vectorised, (0.5 * _randn(5),), 0),
    Case("rosenbrock_2d", rosenbrock_2d, (-1.2, 1.0), (0, 1)),
    Case("lennard_jones_energy", lennard_jones_energy, (_grid9, 1.0, 1.0), (0, 1, 2)),
    Case("coulomb_energy_vectorised", coulomb_energy_vectorised,
         (_grid5_3d, np.array([1.0, -1.0, 0.5, 2.0, -0.7])), (0, 1)),
    Case("gravitational_potential", gravitational_potential, (_uniform(0.5, 2.0, 9), _grid9), (0, 1)),
    Case("trapezoid_gaussian_integral", trapezoid_gaussian_integral, (-0.5, 1.5), (0, 1)),
    Case("trapezoid_samples", trapezoid_samples, (_randn(11), 0.1), (0, 1)),
    Case("simpson_integral", simpson_integral, (0.8,), 0),
    Case("newton_sqrt", newton_sqrt, (2.7,), 0),
    Case("fixed_point_cos", fixed_point_cos, (0.8,), 0),
    Case("euler_decay_ode", euler_decay_ode, (0.5, 2.0, 0.05, 40), (0, 1)),
    Case("euler_pendulum", euler_pendulum, (0.4, 0.1, 9.81), (0, 1, 2)),
    Case("euler_vector_ode", euler_vector_ode, (0.5 * _randn(3, 3), _randn(3), 20), (0, 1)),
    Case("laplacian_energy", laplacian_energy, (_randn(6, 7),), 0),
    Case("dirichlet_energy", dirichlet_energy, (_randn(5, 5), 0.1), 0),
    Case("heat_equation_explicit", heat_equation_explicit, (_randn(10), 0.2), (0, 1)),
    Case("velocity_verlet_oscillator", velocity_verlet_oscillator, (1.0, 0.3, 1.5), (0, 1, 2)),
    Case("rk4_logistic_growth", rk4_logistic_growth, (0.8, 1.5), (0, 1)),
    Case("horner_polynomial", horner_polynomial, (_randn(4), 0.7), (0, 1)),
    Case("chebyshev_series", chebyshev_series, (_randn(6), 0.3), (0, 1)),
    Case("elastic_rod_bending", elastic_rod_bending, (_randn(10), 2.0, 0.1), (0, 1)),
    Case("kinetic_plus_potential", kinetic_plus_potential,
         (_randn(4), _uniform(0.5, 2.0, 4), _randn(4), 2.0), (0, 1, 2, 3)),
    Case("power_iteration_eigenvalue", power_iteration_eigenvalue, (_sym4, 30), 0),
    Case("projectile_range", projectile_range, (12.0, 0.7, 0.1), (0, 1, 2)),

    # statistics
    Case("gaussian_log_likelihood", gaussian_log_likelihood, (0.3, -0.2, _randn(20)), (0, 1)),
    Case("variance_by_hand", variance_by_hand, (_randn(7),), 0),
    Case("std_by_hand", std_by_hand, (_randn(7),), 0),
    Case("weighted_mean", weighted_mean, (_randn(6), _uniform(0.5, 2.0, 6)), (0, 1)),
    Case("logsumexp_by_hand", logsumexp_by_hand, (_randn(6),), 0),
    Case("logsumexp_loop", logsumexp_loop, (_randn(6),), 0),
    Case("numpy_moments", numpy_moments, (_randn(8),), 0),
    Case("pearson_correlation", pearson_correlation, (_randn(8), _randn(8)), (0, 1)),
    Case("student_t_loglik", student_t_loglik, (0.1, 0.2, _randn(15), 4.0), (0, 1)),
    Case("gaussian_mixture_loglik", gaussian_mixture_loglik,
         (-1.0, 1.5, 0.3, np.concatenate([_randn(10) - 1.0, _randn(10) + 1.5])), (0, 1, 2)),
    Case("mvn_log_density", mvn_log_density, (_randn(3), 0.5 * _randn(3, 3), _randn(3)), (0, 1)),
    Case("skewness_by_hand", skewness_by_hand, (_randn(10),), 0),
    Case("poisson_log_likelihood", poisson_log_likelihood,
         (0.4, np.array([1.0, 0.0, 3.0, 2.0, 1.0, 4.0])), 0),
    Case("bayesian_evidence_logdet", bayesian_evidence_logdet, (0.7, _X), (0, 1)),
    Case("autocorrelation_lag1", autocorrelation_lag1, (_randn(12),), 0),
    Case("coefficient_of_variation", coefficient_of_variation, (_uniform(1.0, 3.0, 7),), 0),
    Case("exponential_mle_objective", exponential_mle_objective,
         (0.2, np.array([0.5, 1.2, 0.3, 2.1, 0.8])), 0),

    # control flow
    Case("piecewise_by_total_high", piecewise_by_total, (np.array([0.5, 1.1, 0.8]),), 0),
    Case("piecewise_by_total_mid", piecewise_by_total, (np.array([0.5, -0.4, 0.2]),), 0),
    Case("piecewise_by_total_low", piecewise_by_total, (np.array([-0.5, -1.1, -0.4]),), 0),
    Case("halve_until_small", halve_until_small, (np.array([1.0, -1.0, 1.0]), 0.03), 0),
    Case("sqrt_newton_while", sqrt_newton_while, (5.0,), 0),
    Case("sum_until_threshold_break", sum_until_threshold_break,
         (np.array([0.9, 1.1, 0.8, 1.3, 0.6]), 2.5), 0),
    Case("skip_negative_data_continue", skip_negative_data_continue,
         (_randn(6), np.array([0.5, -1.0, 2.0, -0.3, 1.1, 0.7])), 0),
    Case("sum_positive_squares", sum_positive_squares, (np.array([0.7, -0.3, 1.2, -1.5, 0.4]),), 0),
    Case("early_return_positive_taken", early_return_positive, (np.array([0.4, -0.3, 1.1]),), 0),
    Case("early_return_positive_fallthrough", early_return_positive, (np.array([-0.6, 0.2, 0.9]),), 0),
    Case("branch_on_radius_inside", branch_on_radius, (0.3, 0.4), (0, 1)),
    Case("branch_on_radius_outside", branch_on_radius, (1.2, 0.9), (0, 1)),
    Case("nested_loop_conditional", nested_loop_conditional,
         (np.array([[0.5, -1.2, 0.3], [-0.4, 2.0, -0.9]]),), 0),
    Case("counted_while_loop", counted_while_loop, (0.5, 6), 0),
    Case("clamp_with_if_below", clamp_with_if, (0.7, 1.0), (0, 1)),
    Case("clamp_with_if_above", clamp_with_if, (1.6, 1.0), (0, 1)),
    Case("first_exceed_early_return_hit", first_exceed_early_return,
         (np.array([0.1, -0.5, 0.3, 0.2]), 2.5), 0),
    Case("first_exceed_early_return_miss", first_exceed_early_return,
         (np.array([0.1, -0.5, 0.3, 0.2]), 10.0), 0),
    Case("sign_dependent_scaling_pos", sign_dependent_scaling, (np.array([0.8, -0.2, 0.5]),), 0),
    Case("sign_dependent_scaling_neg", sign_dependent_scaling, (np.array([-0.8, 0.2, -0.5]),), 0),
    Case("while_true_with_break", while_true_with_break, (_randn(4),), 0),
    Case("elif_chain_grade_low", elif_chain_grade, (0.2,), 0),
    Case("elif_chain_grade_mid", elif_chain_grade, (1.1,), 0),
    Case("elif_chain_grade_high", elif_chain_grade, (2.3,), 0),
    Case("for_else_search_break", for_else_search, (np.array([0.3, 1.4, 2.2, 0.8]), 2.0), 0),
    Case("for_else_search_else", for_else_search, (np.array([0.3, 1.4, 2.2, 0.8]), 3.0), 0),
    Case("labelled_loss_loop", labelled_loss_loop, (_randn(6), np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])), 0),
    Case("clip_gradient_norm_clipped", clip_gradient_norm,
         (np.array([1.2, -0.8, 1.5]), np.array([0.3, 0.5, -0.2]), 1.0), (0, 1, 2)),
    Case("clip_gradient_norm_unclipped", clip_gradient_norm,
         (np.array([1.2, -0.8, 1.5]), np.array([0.3, 0.5, -0.2]), 5.0), (0, 1)),
    Case("integrate_until_time", integrate_until_time, (0.6, 1.5), (0, 1)),
    Case("regime_switch_loop", regime_switch_loop, (np.array([1.7, 0.3, -0.6, -2.2, 2.9]),), 0),

    # helpers
    Case("deep_tanh_stack", deep_tanh_stack, (_randn(4), _randn(4), _randn(4), 0.8), (0, 1, 2, 3)),
    Case("self_product_terms", self_product_terms, (1.3, -0.7), (0, 1)),
    Case("fourth_power_via_helpers", fourth_power_via_helpers, (_randn(5),), 0),
    Case("mlp_with_dense", mlp_with_dense,
         (0.5 * _randn(5, 3), 0.1 * _randn(5), 0.5 * _randn(2, 5), 0.1 * _randn(2), _randn(3)), (0, 1, 2, 3, 4)),
    Case("relu_net_with_helpers", relu_net_with_helpers,
         (np.array([[0.5, -0.3, 0.8], [-0.6, 0.4, 0.2], [0.9, 0.7, -0.5], [-0.2, -0.8, 0.6]]),
          0.5 * _randn(2, 4), np.array([1.0, -0.5, 0.7])), (0, 1, 2)),
    Case("classifier_nll", classifier_nll, (_randn(4, 3), _randn(3), 1), (0, 1)),
    Case("log_softmax_nll", log_softmax_nll, (_randn(4, 3), _randn(3), 3), (0, 1)),
    Case("lj_energy_with_helpers", lj_energy_with_helpers, (_grid9, 1.0, 1.1), (0, 1, 2)),
    Case("integrate_drift", integrate_drift, (_randn(3), 0.05, 20), (0, 1)),
    Case("accumulate_squares", accumulate_squares, (_randn(5),), 0),
    Case("projection_on_normalized", projection_on_normalized, (_randn(4), _randn(4)), (0, 1)),
    Case("scale_twice", scale_twice, (_randn(4), 1.7), (0, 1)),
    Case("polynomial_fit_loss", polynomial_fit_loss, (_randn(3), np.linspace(-1.0, 1.0, 7), _randn(7)), 0),
    Case("logistic_with_helper", logistic_with_helper, (_w, _X, _y01), 0),
    Case("attention_with_softmax_helper", attention_with_softmax_helper,
         (_randn(4), _randn(5, 4), _randn(5, 2)), (0, 1, 2)),
    Case("gaussian_nll_with_helper", gaussian_nll_with_helper, (0.2, 1.3, _randn(10)), (0, 1)),
    Case("rnn_with_cell", rnn_with_cell, (0.4 * _randn(3, 3), 0.5 * _randn(3, 2), _randn(5, 2)), (0, 1, 2)),
    Case("resnet_two_blocks", resnet_two_blocks, (_randn(4), 0.5 * _randn(4, 4), 0.5 * _randn(4, 4)), (0, 1, 2)),
    Case("elementwise_self_mul", elementwise_self_mul, (_randn(5),), 0),
    Case("affine_keywords", affine_keywords, (_randn(4), 1.3, -0.4), (0, 1, 2)),
    Case("standardized_cubes", standardized_cubes, (_randn(8),), 0),
    Case("newton_sqrt_helper", newton_sqrt_helper, (3.0,), 0),
    Case("three_level_helpers", three_level_helpers, (_randn(5),), 0),
    Case("integral_with_helper", integral_with_helper, (0.6,), 0),
    Case("piecewise_helper_sum", piecewise_helper_sum, (np.array([0.6, -0.8, 1.4, -0.2, 0.3]),), 0),
    Case("unrolled_sgd_with_helper", unrolled_sgd_with_helper, (_w, _X, _y, 0.1), (0, 3)),
    Case("early_return_helper_user", early_return_helper_user, (np.array([0.9, 1.2, 0.8, 0.5]),), 0),
    Case("oscillator_energy_with_helpers", oscillator_energy_with_helpers,
         (_randn(3), _randn(3), 1.5, 2.0), (0, 1, 2, 3)),
    Case("doubled_first_norm", doubled_first_norm, (_randn(4),), 0),
    Case("quadratic_form_same_arg", quadratic_form_same_arg, (_randn(3), _randn(3, 3)), (0, 1)),
    Case("cubes_via_helpers", cubes_via_helpers, (_randn(4),), 0),
    Case("layer_applied_twice_same_weight", layer_applied_twice_same_weight, (_randn(4), _randn(4)), (0, 1)),
    Case("mul_same_float", mul_same_float, (1.7,), 0),
    Case("entropy_with_clipped_log", entropy_with_clipped_log, (0.3, 0.9), (0, 1)),
    Case("quadratic_model_loss", quadratic_model_loss,
         (0.1, -0.5, 0.8, np.linspace(-1.0, 1.0, 6), _randn(6)), (0, 1, 2)),

    # in-place and self-assignment
    Case("reassign_scaled", reassign_scaled, (_randn(5),), 0),
    Case("harmonic_weighted_sum", harmonic_weighted_sum, (_randn(6),), 0),
    Case("float_alias_augmented", float_alias_augmented, (0.9,), 0),
    Case("copy_and_overwrite_first", copy_and_overwrite_first, (_randn(5),), 0),
    Case("fill_matrix_rows_cols", fill_matrix_rows_cols, (_randn(3), _randn(4), 0.7), (0, 1, 2)),
    Case("copy_scale_first_row", copy_scale_first_row, (_randn(3, 4),), 0),
    Case("augmented_array_ops", augmented_array_ops, (_randn(5),), 0),
    Case("shift_by_slice_assignment", shift_by_slice_assignment, (_randn(6),), 0),
    Case("square_even_entries", square_even_entries, (_randn(7),), 0),
    Case("matrix_power_loop", matrix_power_loop, (0.5 * _randn(3, 3), 4), 0),
    Case("running_sum_manual", running_sum_manual, (_randn(6),), 0),
    Case("fibonacci_like", fibonacci_like, (0.4, 1.1), (0, 1)),
    Case("gram_matrix_accumulate", gram_matrix_accumulate, (0.5 * _randn(4, 3),), 0),
    Case("masked_copy_zero", masked_copy_zero,
         (_randn(5), np.array([True, False, True, False, False])), 0),
    Case("product_loop_augmented", product_loop_augmented, (_uniform(0.5, 1.5, 5),), 0),
    Case("subtract_accumulate", subtract_accumulate, (_randn(5),), 0),
    Case("param_copy_then_modify", param_copy_then_modify, (_randn(5),), 0),
    Case("nested_plain_accumulation", nested_plain_accumulation, (_randn(3, 4), _randn(4, 3)), (0, 1)),
    Case("column_writes", column_writes, (_randn(4, 3),), 0),
    Case("inplace_row_update_loop", inplace_row_update_loop, (_randn(3, 4), _randn(4)), (0, 1)),
    Case("tuple_unpack_swap", tuple_unpack_swap, (0.6, -1.3), (0, 1)),
    Case("power_augmented", power_augmented, (_randn(5),), 0),
    Case("list_literal_accumulator", list_literal_accumulator, (0.8, 1.9), (0, 1)),

    # NumPy API
    Case("axis_reductions", axis_reductions, (_randn(4, 5),), 0),
    Case("center_rows_keepdims", center_rows_keepdims, (_randn(3, 4),), 0),
    Case("matmul_transpose_trace", matmul_transpose_trace, (_randn(3, 3), _randn(3, 3)), (0, 1)),
    Case("outer_product_weighted", outer_product_weighted, (_randn(3), _randn(4), _randn(3, 4)), (0, 1, 2)),
    Case("where_piecewise", where_piecewise, (np.array([-1.2, 0.4, 2.1, -0.3, 0.8, -2.5]),), 0),
    Case("relu_maximum", relu_maximum,
         (np.array([-0.7, 0.5, 1.3, -0.2, 0.9]), np.array([0.3, -1.1, 0.6, 0.8, 1.4])), (0, 1)),
    Case("clip_activation", clip_activation, (np.array([-1.6, -0.4, 0.2, 0.7, 1.5, 2.2]),), 0),
    Case("abs_total_variation", abs_total_variation, (np.array([0.1, 0.9, 0.4, 1.5, 1.2, 2.0]),), 0),
    Case("sorted_weighted_sum", sorted_weighted_sum,
         (np.array([0.3, -1.2, 2.1, 0.9, -0.4, 1.5]), np.linspace(0.5, 3.0, 6)), 0),
    Case("cumsum_energy", cumsum_energy, (_randn(6),), 0),
    Case("concatenate_features", concatenate_features, (_randn(3), _randn(3)), (0, 1)),
    Case("stack_list_literal", stack_list_literal, (_randn(4), _randn(4)), (0, 1)),
    Case("linspace_sine_sum", linspace_sine_sum, (2.3,), 0),
    Case("slicing_variety", slicing_variety, (_randn(5), _randn(3, 4)), (0, 1)),
    Case("vector_and_matrix_norms", vector_and_matrix_norms, (_randn(3), _randn(3, 3)), (0, 1)),
    Case("solve_linear_system", solve_linear_system, (0.5 * _randn(3, 3), _randn(3)), (0, 1)),
    Case("inverse_quadratic", inverse_quadratic, (0.5 * _randn(3, 3), _randn(3)), (0, 1)),
    Case("log_determinant", log_determinant, (_randn(3, 3),), 0),
    Case("determinant_direct", determinant_direct, (np.eye(3) * 2.0 + 0.3 * _randn(3, 3),), 0),
    Case("product_of_entries", product_of_entries, (_uniform(0.5, 1.5, 5),), 0),
    Case("numpy_mean_var_std", numpy_mean_var_std, (_randn(6),), 0),
    Case("math_module_floats", math_module_floats, (0.7, 1.2), (0, 1)),
    Case("float_conversion", float_conversion, (_randn(4),), 0),
    Case("builtin_numeric_functions", builtin_numeric_functions, (1.3, 0.4, 2.1), (0, 1, 2)),
    Case("einsum_bilinear", einsum_bilinear, (_randn(3), _randn(3, 4), _randn(4)), (0, 1, 2)),
    Case("reshape_and_reduce", reshape_and_reduce, (_randn(12),), 0),
    Case("fancy_index_gather", fancy_index_gather, (_randn(6), np.array([4, 0, 2, 2, 5])), 0),
    Case("diag_and_trace", diag_and_trace, (_randn(3, 3),), 0),
    Case("pairwise_distance_broadcast", pairwise_distance_broadcast, (_randn(5, 2),), 0),
    Case("method_style_reductions", method_style_reductions, (_randn(3, 4),), 0),
    Case("power_with_array_exponent", power_with_array_exponent,
         (_uniform(0.5, 2.0, 4), _uniform(1.0, 3.0, 4)), (0, 1)),
    Case("minimum_clamp", minimum_clamp, (np.array([0.2, 1.5, 0.7, 2.3, -0.4]),), 0),
    Case("sign_times_value", sign_times_value, (np.array([0.5, -1.2, 0.8, -0.3]),), 0),
    Case("keepdims_column_softmax", keepdims_column_softmax, (_randn(4, 3),), 0),
    Case("arange_weighted", arange_weighted, (_randn(5),), 0),
    Case("matrix_vector_chain", matrix_vector_chain, (_randn(3, 3), _randn(3)), (0, 1)),
    Case("elementwise_function_zoo", elementwise_function_zoo, (_uniform(0.5, 2.0, 5),), 0),
    Case("trig_hyperbolic_zoo", trig_hyperbolic_zoo, (_uniform(-1.5, 1.5, 5),), 0),
    Case("triangular_parts", triangular_parts, (_randn(4, 4),), 0),
    Case("frobenius_cosine", frobenius_cosine, (_randn(3, 3), _randn(3, 3)), (0, 1)),
    Case("mean_over_axes", mean_over_axes, (_randn(3, 4),), 0),
    Case("transpose_and_dot", transpose_and_dot, (_randn(4, 3), _randn(3)), (0, 1)),
    Case("exp_log_sums_keepdims", exp_log_sums_keepdims, (_randn(3, 4),), 0),
    Case("tile_and_repeat", tile_and_repeat, (_randn(3),), 0),
    Case("flip_and_roll", flip_and_roll, (_randn(5),), 0),
    Case("max_minus_min_range", max_minus_min_range, (np.array([0.4, -1.1, 2.3, 0.7, -0.2]),), 0),
    Case("argmax_selected_value", argmax_selected_value,
         (_randn(5), np.array([0.2, 1.5, -0.3, 0.9, 0.1])), (0, 1)),
    Case("hstack_vstack", hstack_vstack, (_randn(3), _randn(3)), (0, 1)),
    Case("expm1_log1p_pair", expm1_log1p_pair, (_randn(5),), 0),
]
