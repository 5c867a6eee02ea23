"""Slow, obviously correct versions of the cut-norm quantities, for tiny inputs only."""

import itertools

import numpy as np


def all_indicator_vectors(k):
    """Every 0/1 vector of length k, one per row (2**k rows)."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=k))).reshape(2**k, k)


def brute_force_cut_norm(A, row_weights=None, col_weights=None):
    """max over all S, T of |sum_{S x T} a_i b_j A_ij| (a = b = 1/size by default): both sides enumerated."""
    A = np.asarray(A, dtype=float)
    n, m = A.shape
    a = np.full(n, 1.0 / n) if row_weights is None else np.asarray(row_weights, dtype=float)
    b = np.full(m, 1.0 / m) if col_weights is None else np.asarray(col_weights, dtype=float)
    sums = all_indicator_vectors(n) @ (a[:, None] * A * b[None, :]) @ all_indicator_vectors(m).T
    return float(np.abs(sums).max())


def brute_force_infinity_to_one(B):
    """max over x, y in {-1, 1} of x^T B y, both sides enumerated."""
    B = np.asarray(B, dtype=float)
    xs = 2.0 * all_indicator_vectors(B.shape[0]) - 1.0
    ys = 2.0 * all_indicator_vectors(B.shape[1]) - 1.0
    return float((xs @ B @ ys.T).max())


# motif -> (number of output vertices, number of input vertices, edges as (output, input) pairs)
MOTIFS = {
    "edge": (1, 1, [(0, 0)]),
    "out_star": (1, 2, [(0, 0), (0, 1)]),
    "in_star": (2, 1, [(0, 0), (1, 0)]),
    "path3": (2, 2, [(0, 0), (0, 1), (1, 1)]),
    "C4": (2, 2, [(0, 0), (0, 1), (1, 0), (1, 1)]),
}


def brute_force_homomorphism_density(motif, mask):
    """Fraction of maps of the motif's vertices to rows / columns that send every edge to a 1."""
    M = np.asarray(mask)
    n, m = M.shape
    outputs, inputs, edges = MOTIFS[motif]
    hits = 0
    for rows in itertools.product(range(n), repeat=outputs):
        for cols in itertools.product(range(m), repeat=inputs):
            hits += all(M[rows[i], cols[j]] for i, j in edges)
    return hits / (n**outputs * m**inputs)
