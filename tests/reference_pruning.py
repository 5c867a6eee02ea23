"""Slow, obviously-correct references for the pruning tests: loop-based forward pass and losses, block means by
loops, truncated second moments by adaptive quadrature."""

import math

import numpy as np
import scipy.integrate


def naive_forward(X, effective_weights, biases, sigma_b, activation, perturb=None):
    """Outputs of the network with the given effective weights, one example and one unit at a time.

    ``perturb = (layer, example, unit, eps)`` adds ``eps`` to the pre-activation h^layer of one unit for
    one example (to differentiate with respect to pre-activations).
    """
    outputs = []
    for s, x in enumerate(X):
        a = list(x)
        for l, (W, b) in enumerate(zip(effective_weights, biases), start=1):
            h = []
            for i in range(W.shape[0]):
                total = sum(W[i, j] * a[j] for j in range(W.shape[1])) + sigma_b * b[i]
                if perturb is not None and perturb[0] == l and perturb[1] == s and perturb[2] == i:
                    total += perturb[3]
                h.append(total)
            a = h if l == len(effective_weights) else [float(activation.fn(np.array(v))) for v in h]
        outputs.append(a)
    return np.array(outputs)


def naive_loss(output, y, loss):
    """Squared error (1/2N) sum ||f - y||^2 or mean softmax cross-entropy, by loops."""
    total = 0.0
    for s in range(output.shape[0]):
        if loss == "squared":
            target = np.atleast_1d(y[s])
            total += 0.5 * sum((output[s, k] - target[k]) ** 2 for k in range(output.shape[1]))
        else:
            top = max(output[s])
            log_norm = top + math.log(sum(math.exp(v - top) for v in output[s]))
            total += log_norm - output[s, int(y[s])]
    return total / output.shape[0]


def naive_block_means(matrix, row_order, col_order, row_blocks, col_blocks):
    """Block means by explicit loops: rows (columns) taken in the given order and cut into consecutive
    groups whose sizes differ by at most one, the larger groups first."""
    def groups(order, count):
        size, extra = divmod(len(order), count)
        out, start = [], 0
        for g in range(count):
            stop = start + size + (1 if g < extra else 0)
            out.append([int(k) for k in order[start:stop]])
            start = stop
        return out

    rows, cols = groups(row_order, row_blocks), groups(col_order, col_blocks)
    means = np.zeros((row_blocks, col_blocks))
    for r, row_group in enumerate(rows):
        for c, col_group in enumerate(cols):
            total = 0.0
            for i in row_group:
                for j in col_group:
                    total += float(matrix[i][j])
            means[r, c] = total / (len(row_group) * len(col_group))
    return means


def truncated_second_moment(t, pdf, second_moment=1.0):
    """E[theta^2 1{|theta| > t}] / E[theta^2] for a density ``pdf``: adaptive quadrature of x^2 pdf(x) over
    the two tails (t, inf) and (-inf, -t); returns the value and quad's error estimate (scaled alike)."""
    upper, upper_error = scipy.integrate.quad(lambda x: x * x * pdf(x), t, np.inf, epsabs=1e-14, epsrel=1e-13)
    lower, lower_error = scipy.integrate.quad(lambda x: x * x * pdf(x), -np.inf, -t, epsabs=1e-14, epsrel=1e-13)
    return (upper + lower) / second_moment, (upper_error + lower_error) / second_moment
