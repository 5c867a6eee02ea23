"""numba kernels of the cut-norm engine: sign local improvement, exact enumeration, block averages.

Arrays and scalars in, arrays out (or arrays updated in place, as each docstring says). The matrix
products of the semidefinite relaxation are BLAS calls in :mod:`graphon_ops.cutnorm`, not kernels.
"""

from __future__ import annotations

import numba
import numpy as np

from .._config import NUMBA_FLAGS

__all__ = ["improve_signs", "best_cut_by_enumeration", "block_average_and_range"]


@numba.njit(**NUMBA_FLAGS)
def _align_signs(signs, field, other_field, matrix):
    """Set ``signs = sign(field)`` (a zero field keeps the sign); each flip of ``signs[i]`` adds
    ``2 signs[i] matrix[i, :]`` to ``other_field``. Returns whether any sign flipped."""
    changed = False
    for i in range(signs.size):
        f = field[i]
        if f != 0.0:
            sign = 1.0 if f > 0.0 else -1.0
            if sign != signs[i]:
                signs[i] = sign
                changed = True
                for j in range(other_field.size):
                    other_field[j] += 2.0 * sign * matrix[i, j]
    return changed


@numba.njit(parallel=True, **NUMBA_FLAGS)
def improve_signs(B, Bt, X, Y, row_field, col_field, max_passes):
    """Alternating +-1 local improvement of ``x^T B y`` for ``k`` starts at once, in place.

    ``X`` (k, n) and ``Y`` (k, m) hold +-1 vectors with ``row_field = Y B^T`` and ``col_field = X B``
    on entry. Each pass sets ``x = sign(B y)`` and then ``y = sign(B^T x)`` (a zero field keeps the
    current sign). Only the flipped coordinates update the other side's field (a flip of ``x_i``
    adds ``2 x_i B[i, :]`` to ``col_field``), so a pass costs O((flips) * length) instead of a full
    matrix-vector product. Each flip raises ``x^T B y`` strictly, so the loop ends at a point where
    neither side can improve alone; ``max_passes`` guards against rounding drift of the fields.
    Starts run in parallel. Returns the number of passes of each start.
    """
    k = X.shape[0]
    passes = np.zeros(k, dtype=np.int64)
    for s in numba.prange(k):
        for p in range(max_passes):
            rows_changed = _align_signs(X[s], row_field[s], col_field[s], B)
            cols_changed = _align_signs(Y[s], col_field[s], row_field[s], Bt)
            passes[s] = p + 1
            if not (rows_changed or cols_changed):
                break
    return passes


@numba.njit(**NUMBA_FLAGS)
def best_cut_by_enumeration(A):
    """Exact ``max_{S,T} sum_{S x T} A`` and ``min_{S,T}`` by enumerating the row subsets of ``A``.

    Subsets are visited in Gray-code order, so consecutive subsets differ by one row and the column
    sums over ``S`` update in O(m). For a fixed ``S`` the best ``T`` takes the columns with positive
    (for the minimum, negative) sums. Returns ``(max, min, S_max, T_max, S_min, T_min)`` with the
    sets as boolean arrays.
    """
    n, m = A.shape
    column_sums = np.zeros(m)
    in_set = np.zeros(n, dtype=np.bool_)
    best_max, best_min = 0.0, 0.0
    subset_max = np.zeros(n, dtype=np.bool_)
    subset_min = np.zeros(n, dtype=np.bool_)
    for step in range(1, 2**n):
        # Gray code: the row that flips is the lowest set bit of the step number
        row = 0
        while (step >> row) & 1 == 0:
            row += 1
        in_set[row] = not in_set[row]
        direction = 1.0 if in_set[row] else -1.0
        positive, negative = 0.0, 0.0
        for j in range(m):
            column_sums[j] += direction * A[row, j]
            if column_sums[j] > 0.0:
                positive += column_sums[j]
            else:
                negative += column_sums[j]
        if positive > best_max:
            best_max = positive
            subset_max[:] = in_set
        if negative < best_min:
            best_min = negative
            subset_min[:] = in_set
    sums_max = subset_max.astype(np.float64) @ A
    sums_min = subset_min.astype(np.float64) @ A
    return best_max, best_min, subset_max, sums_max > 0.0, subset_min, sums_min < 0.0


@numba.njit(parallel=True, **NUMBA_FLAGS)
def block_average_and_range(values, row_weights, col_weights):
    """Block averages and the smallest and largest sample of a function sampled per block.

    ``values`` has shape ``(r * p, c * q)``: block ``(i, j)`` holds the samples
    ``values[i*p:(i+1)*p, j*q:(j+1)*q]`` at a reference rule with weights ``row_weights`` (p, summing
    to 1) and ``col_weights`` (q). Returns ``(average, low, high)``, each of shape ``(r, c)``, with
    ``average[i, j] = sum_ab w_a z_b f_ab``.
    """
    p, q = row_weights.size, col_weights.size
    r, c = values.shape[0] // p, values.shape[1] // q
    average = np.zeros((r, c))
    low = np.zeros((r, c))
    high = np.zeros((r, c))
    for i in numba.prange(r):
        for j in range(c):
            total = 0.0
            smallest = values[i * p, j * q]
            largest = smallest
            for a in range(p):
                for b in range(q):
                    f = values[i * p + a, j * q + b]
                    total += row_weights[a] * col_weights[b] * f
                    smallest = min(smallest, f)
                    largest = max(largest, f)
            average[i, j] = total
            low[i, j] = smallest
            high[i, j] = largest
    return average, low, high
