"""Slow, obviously-correct references for the pruning tests: loop-based forward pass and losses."""

import math

import numpy as np


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
