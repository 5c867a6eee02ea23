"""Slow, obviously correct versions of the foundation's fast paths (double loops, exact arithmetic)."""

import math

import mpmath
import numpy as np


def evaluate_grid(f, x, y):
    """W(x_i, y_k) by a double Python loop over a scalar function."""
    out = np.empty((len(x), len(y)))
    for i, xi in enumerate(x):
        for k, yk in enumerate(y):
            out[i, k] = f(float(xi), float(yk))
    return out


def apply_operator(W, nodes_u, nodes_v, weights_v, f_values):
    """(T_W f)(x_i) = sum_k W(x_i, y_k) z_k f(y_k), one term at a time."""
    out = np.zeros(len(nodes_u))
    for i, xi in enumerate(nodes_u):
        for k, yk in enumerate(nodes_v):
            out[i] += float(W(xi, yk)) * weights_v[k] * f_values[k]
    return out


def exp_uv_eigenvalues(count, terms=60, digits=50):
    r"""Eigenvalues of the operator with kernel :math:`e^{uv}` on [0, 1], in ``digits``-digit arithmetic.

    :math:`e^{uv} = \sum_n u^n v^n / n!`, so the non-zero spectrum equals that of
    :math:`D^{1/2} G D^{1/2}` with the Hilbert matrix :math:`G_{nk} = 1/(n + k + 1)` and
    :math:`D = \mathrm{diag}(1/n!)`; truncating after ``terms`` terms changes eigenvalues by at most
    the tail :math:`\sum_{n \ge terms} 1/n!` (< 1e-80 for 60 terms).
    """
    with mpmath.workdps(digits):
        M = mpmath.matrix(terms, terms)
        for n in range(terms):
            for k in range(terms):
                M[n, k] = mpmath.mpf(1) / ((n + k + 1) * mpmath.sqrt(mpmath.factorial(n) * mpmath.factorial(k)))
        values = mpmath.eigsy(M, eigvals_only=True)
        values = sorted((float(v) for v in values), reverse=True)
    return np.array(values[:count])


def min_kernel_eigenvalue(k):
    """k-th eigenvalue (k = 1, 2, ...) of min(u, v): 1 / ((k - 1/2)^2 pi^2)."""
    return 1.0 / ((k - 0.5) ** 2 * math.pi**2)
