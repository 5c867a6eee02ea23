"""Slow, obviously correct versions of path densities, path counts and alignments (loops, definitions)."""

import itertools

import numpy as np


def step_composition(upper, lower):
    """Kernel of W_2 o W_1 for step graphons, as (values, row_breaks, col_breaks), by interval overlaps.

    (W_2 o W_1)(u, w) = sum over middle pieces of W_2's columns and W_1's rows of
    W_2[i, a] * W_1[b, k] * |column piece a of W_2  intersected with  row piece b of W_1|.
    """
    P2, rb2, cb2 = upper
    P1, rb1, cb1 = lower
    out = np.zeros((P2.shape[0], P1.shape[1]))
    for i in range(P2.shape[0]):
        for k in range(P1.shape[1]):
            total = 0.0
            for a in range(P2.shape[1]):
                for b in range(P1.shape[0]):
                    overlap = min(cb2[a + 1], rb1[b + 1]) - max(cb2[a], rb1[b])
                    if overlap > 0:
                        total += P2[i, a] * P1[b, k] * overlap
            out[i, k] = total
    return out, rb2, cb1


def step_value(values, row_breaks, col_breaks, u, v):
    """Value of a step graphon at one point (last piece closed at 1)."""
    i = min(int(np.searchsorted(row_breaks, u, side="right")) - 1, len(row_breaks) - 2)
    k = min(int(np.searchsorted(col_breaks, v, side="right")) - 1, len(col_breaks) - 2)
    return values[i, k]


def enumerate_paths(masks):
    """(M^L ... M^1)_{ij} by listing every input-to-output path (exact Python integers)."""
    n_in, n_out = masks[0].shape[1], masks[-1].shape[0]
    widths = [M.shape[0] for M in masks[:-1]]
    counts = np.zeros((n_out, n_in), dtype=object)
    for i in range(n_out):
        for j in range(n_in):
            total = 0
            for hidden in itertools.product(*[range(n) for n in widths]):
                chain = (j,) + hidden + (i,)
                total += int(all(masks[l][chain[l + 1], chain[l]] for l in range(len(masks))))
            counts[i, j] = total
    return counts


def alignment_by_definition(K, T, centered):
    """<K, T>_F / (||K||_F ||T||_F) with explicit centring matrices H = I - 11^T/N."""
    n = K.shape[0]
    if centered:
        H = np.eye(n) - np.ones((n, n)) / n
        K, T = H @ K @ H, H @ T @ H
    return float(np.sum(K * T) / (np.sqrt(np.sum(K * K)) * np.sqrt(np.sum(T * T))))
