r"""Certified cut norms of matrices and cut distances between masks and graphons (docs/theory/cutnorm.rst).

The cut norm of a real :math:`n \times m` matrix, viewed as a step kernel on equal blocks, is

.. math:: \|A\|_\square = \frac{1}{nm} \max_{S \subseteq [n],\, T \subseteq [m]} \Big|\sum_{i \in S, j \in T} A_{ij}\Big| .

Computing it is NP-hard, so :func:`cut_norm` returns a certified bracket ``[lower, upper]``: the
lower bound is attained by explicit sets ``S, T`` (returned), the upper bound is a weak-duality
certificate of the Alon--Naor semidefinite relaxation (or the spectral bound, whichever is smaller).
:func:`cut_norm_exact` enumerates subsets for small matrices. :func:`cut_distance` brackets the
labelled and unlabelled cut distances between a mask (its empirical graphon) or a graphon and a
graphon; :func:`homomorphism_density` gives the small bipartite motif densities its lower bound uses.
The derivations are in ``docs/theory/cutnorm.rst``.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from ._backend import get_array_module, resolve_backend, to_numpy
from ._validation import (as_float_array, as_generator, as_mask, check_choice, check_flag, check_memory,
                          check_nonnegative_float, check_positive_int, is_sparse)
from .graphon import Graphon, graphon
from .quadrature import QuadratureRule, gauss_legendre

__all__ = ["CutNormResult", "cut_norm", "cut_norm_exact", "cut_distance", "homomorphism_density",
           "MOTIF_EDGES", "MAX_EXACT_SIDE", "MAX_EXACT_WORK"]

#: :func:`cut_norm_exact` enumerates the ``2**k`` subsets of the smaller side; ``k = 24`` is about
#: 1.7e7 subsets (seconds with the compiled kernel for a few dozen columns), beyond which it refuses.
MAX_EXACT_SIDE = 24

#: :func:`cut_norm_exact` also refuses when ``2**k`` subsets times the ``max(n, m)`` column sums that each
#: subset updates exceed this many updates. One update costs about 6 ns (measured 5 to 7.5 ns on one core
#: for 2**16..2**20 subsets of 64..1000 columns), so 2**30 is about 6 s: the work of 2**24 subsets
#: (``MAX_EXACT_SIDE``) of 64 columns, the matrices the side limit was set for. A 24 x 10**5 matrix would
#: take 1.7e12 updates, about three hours.
MAX_EXACT_WORK = 2**30

#: Measured seconds per column-sum update of the enumeration (above), to state the time a refusal saves.
_EXACT_SECONDS_PER_UPDATE = 6e-9

#: Number of edges e(F) of the bipartite motifs of :func:`homomorphism_density` (the constant of the
#: counting lemma :math:`|t(F,U) - t(F,W)| \le e(F)\,\delta_\square(U, W)`).
MOTIF_EDGES = MappingProxyType({"edge": 1, "out_star": 2, "in_star": 2, "path3": 3, "C4": 4})

_EPS = np.finfo(np.float64).eps

#: Blocks per side on which a graphon that is not a step function is discretised by default.
DEFAULT_RESOLUTION = 256


@dataclasses.dataclass(frozen=True)
class CutNormResult:
    r"""A certified bracket ``lower <= ||A||_box <= upper`` with the sets attaining ``lower``.

    Attributes
    ----------
    lower, upper : float
        The bracket, both normalised by :math:`nm` (for distances: by the block areas).
    rows, cols : ndarray of int
        Witness sets :math:`S, T`: ``sign * sum(A[rows][:, cols]) / (n m) == lower`` (for distances,
        indices of the blocks ``[row_breaks[i], row_breaks[i+1])`` of the grid used).
    sign : int
        +1 when the witness sum is positive, -1 when negative.
    iterations : int
        Block-coordinate ascent iterations of the relaxation (0 for exact enumeration).
    time : float
        Wall-clock seconds.
    details : mapping
        Solver diagnostics: the relaxation's primal value, the certificate's parts, the spectral
        bound, error terms of a discretised graphon, which bound gave ``upper``.
    row_breaks, col_breaks : ndarray or None
        The grid of a cut distance (``None`` for a plain matrix).
    """

    lower: float
    upper: float
    rows: np.ndarray = dataclasses.field(repr=False)
    cols: np.ndarray = dataclasses.field(repr=False)
    sign: int = 1
    iterations: int = 0
    time: float = 0.0
    details: Mapping = dataclasses.field(default_factory=dict, repr=False)
    row_breaks: np.ndarray | None = dataclasses.field(default=None, repr=False)
    col_breaks: np.ndarray | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "lower", float(self.lower))
        object.__setattr__(self, "upper", float(self.upper))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def ratio(self) -> float:
        """Tightness ``upper / lower`` (``inf`` when ``lower`` is 0 and ``upper`` is not)."""
        if self.lower > 0:
            return self.upper / self.lower
        return 1.0 if self.upper == 0 else math.inf

    def replace(self, **changes) -> "CutNormResult":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------------------------------------
# matrices


def _alon_naor_matrix(A: np.ndarray) -> np.ndarray:
    r""":math:`B = [[A, -A 1], [-1^T A, 1^T A 1]]`, so that :math:`\max_{S,T}|\sum_{S\times T}A| = \|B\|_{\infty\to1}/4`."""
    n, m = A.shape
    B = np.empty((n + 1, m + 1))
    B[:n, :m] = A
    B[:n, m] = -A.sum(axis=1)
    B[n, :m] = -A.sum(axis=0)
    B[n, m] = A.sum()
    return B


def _normalise_rows(xp, X, previous):
    """Rows scaled to unit length; a zero row keeps its previous value (any unit vector is optimal)."""
    norms = xp.sqrt(xp.sum(X * X, axis=1))
    zero = norms == 0
    X = X / xp.where(zero, 1.0, norms)[:, None]
    if bool(xp.any(zero)):
        X[zero] = previous[zero]
    return X, norms


def _burer_monteiro(B, rank, tol, max_iterations, rng, backend):
    r"""Exact block-coordinate ascent for :math:`\max \sum_{ij} B_{ij}\langle p_i, q_j\rangle` over unit rows.

    Alternates :math:`Q \leftarrow \mathrm{rownormalise}(B^T P)`, :math:`P \leftarrow \mathrm{rownormalise}(BQ)`;
    each half-step maximises over one factor exactly, so the value never decreases. Stops when a
    full step raises the value by at most ``tol`` times the value. Matrix products on ``backend``.
    """
    xp = get_array_module(backend)
    P = rng.standard_normal((B.shape[0], rank))
    Q = rng.standard_normal((B.shape[1], rank))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    B_dev, P, Q = xp.asarray(B), xp.asarray(P), xp.asarray(Q)
    value, previous, iterations = -math.inf, -math.inf, 0
    while iterations < max_iterations:
        Q, _ = _normalise_rows(xp, B_dev.T @ P, Q)
        BQ = B_dev @ Q
        P, norms = _normalise_rows(xp, BQ, P)
        value = float(xp.sum(norms))
        iterations += 1
        if value - previous <= tol * abs(value):
            break
        previous = value
    BtP = B_dev.T @ P
    return to_numpy(P), to_numpy(Q), to_numpy(BQ), to_numpy(BtP), iterations


def _schur_gram(B, col_diagonal):
    r""":math:`G = \tfrac14 B\,\mathrm{Diag}(d)^{-1} B^T` (one symmetric rank-``m`` product)."""
    scaled = B * (0.5 / np.sqrt(col_diagonal))[None, :]
    return scaled @ scaled.T


def _is_positive_definite(gram, row_diagonal, terms: int) -> bool:
    r"""True when :math:`\mathrm{Diag}(d) - G \succ 0` for a Gram matrix :math:`G`, with a rounding margin.

    Success of the Cholesky factorisation of :math:`\mathrm{Diag}(d) - G - \mu I` with
    :math:`\mu = 2N\varepsilon(\operatorname{tr} D + \operatorname{tr} G)`, :math:`N` = size + ``terms``,
    proves that the exact matrix is positive definite: the rounding errors of forming :math:`G`
    (``terms`` products per entry) and of the factorisation are bounded in norm by
    :math:`N\varepsilon` times those traces.
    """
    if np.any(row_diagonal <= 0):
        return False
    margin = 2.0 * (gram.shape[0] + terms) * _EPS * (row_diagonal.sum() + np.trace(gram))
    matrix = -gram
    matrix[np.diag_indices_from(matrix)] += row_diagonal - margin
    try:
        scipy.linalg.cholesky(matrix, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        return False
    return True


def _top_eigenvalue_estimate(H, start, rng) -> float:
    """Largest eigenvalue of a symmetric matrix, an estimate to be verified afterwards.

    Dense for small matrices; otherwise block LOBPCG started from the primal factor (whose span is
    close to the top eigenspace), so that each iteration reads ``H`` once for the whole block.
    """
    if H.shape[0] <= 256:
        return float(scipy.linalg.eigvalsh(H, subset_by_index=[H.shape[0] - 1, H.shape[0] - 1])[0])
    random = rng.standard_normal((H.shape[0], 2))
    block = scipy.linalg.orth(random if start is None else np.hstack([start, random]))
    with warnings.catch_warnings():
        # a non-converged estimate only costs a failed verification; it is never used unverified
        warnings.simplefilter("ignore")
        values = scipy.sparse.linalg.lobpcg(H, block, largest=True, tol=1e-4, maxiter=12)[0]
    return float(np.max(values))


def _certified_shift(B, row_dual, col_dual, guess, rng, starts=(None, None),
                     refinements: int = 3) -> tuple[float, int]:
    r"""A verified :math:`t \ge \lambda_{\max}(C - \mathrm{Diag}(y))` for :math:`C = [[0, B/2], [B^T/2, 0]]`.

    :math:`tI - C + \mathrm{Diag}(y) \succ 0` iff :math:`y_c + t > 0` and the Schur complement
    :math:`\mathrm{Diag}(y_r + t) - G(t)`, :math:`G(t) = \tfrac14 B\,\mathrm{Diag}(y_c + t)^{-1}B^T`,
    is positive definite. :math:`G` decreases in :math:`t`, so for :math:`t \ge b` the test
    :math:`\mathrm{Diag}(y_r + t) - G(b) \succ 0` suffices, and it holds for every
    :math:`t > \varphi(b) = \lambda_{\max}(G(b) - \mathrm{Diag}(y_r))`. :math:`\varphi` decreases and
    :math:`\lambda_{\max}` is its fixed point, so from a base below it (``guess``, a Ritz value)
    :math:`\varphi` overshoots; up to ``refinements`` steps move the base towards the fixed
    point (regula falsi; each step is one Gram product and one eigenvalue estimate). The final
    :math:`t` (1% above the estimate) is verified by a Cholesky factorisation; a
    failed test multiplies the excess by 8. Returns ``(t, tests)``.
    """
    row_start, col_start = starts
    if B.shape[0] > B.shape[1]:
        B, row_dual, col_dual, row_start = B.T, col_dual, row_dual, col_start
    floor = 1e-12 * max(1.0, float(np.abs(col_dual).max(initial=0.0)))
    # the base must keep Diag(y_c + b) positive definite
    lowest = max(0.0, float(-col_dual.min()) * (1 + 1e-12)) + floor

    def phi(base):
        gram = _schur_gram(B, col_dual + base)
        H = gram.copy()
        H[np.diag_indices_from(H)] -= row_dual
        return _top_eigenvalue_estimate(H, row_start, rng), gram

    base = max(guess + floor, lowest)
    value, gram = phi(base)
    best = (max(value, base), gram)
    # regula falsi on psi(t) = phi(t) - t between a base below the fixed point (psi > 0) and one above
    below, above = (base, value - base), None
    for _ in range(refinements):
        if best[0] - below[0] <= 0.05 * abs(best[0]):
            break
        if above is None:
            trial = 0.5 * (below[0] + best[0])
        else:
            trial = below[0] + below[1] * (above[0] - below[0]) / (below[1] - above[1])
            trial = min(max(trial, below[0] + 0.01 * (above[0] - below[0])), above[0] - 0.01 * (above[0] - below[0]))
        trial_value, trial_gram = phi(trial)
        if max(trial_value, trial) < best[0]:
            best = (max(trial_value, trial), trial_gram)
        if trial_value > trial:
            below = (trial, trial_value - trial)
        else:
            above = (trial, trial_value - trial)
    estimate, gram = best
    # N t is a fraction of a percent of the bound, so 1% of t as a first excess costs nothing visible
    # and makes a failed test (one more factorisation) rare
    excess = 1e-2 * max(abs(estimate), 1e-6 * float(np.abs(row_dual).mean()), 1e-300)
    for tests in range(1, 64):
        t = estimate + excess
        if _is_positive_definite(gram, row_dual + t, B.shape[1]):
            return float(t), tests
        excess *= 8.0
    raise AssertionError("no certified shift found: the dual point is not finite")  # pragma: no cover


def _ritz_top_eigenvalue(P, Q, BQ, BtP, row_dual, col_dual) -> float:
    r"""Largest Ritz value of :math:`C - \mathrm{Diag}(y)` on the span of the primal factors (a lower bound)."""
    V = np.vstack([P, Q])
    MV = np.vstack([0.5 * BQ - row_dual[:, None] * P, 0.5 * BtP - col_dual[:, None] * Q])
    basis, triangular = np.linalg.qr(V)
    keep = np.abs(np.diag(triangular)) > 1e-10 * np.abs(triangular).max()
    if not np.any(keep):
        return 0.0
    basis = basis[:, keep]
    projected = basis.T @ (MV @ np.linalg.pinv(triangular)[:, keep])
    return float(np.linalg.eigvalsh(0.5 * (projected + projected.T))[-1])


def _spectral_norm_estimate(A, rng) -> float:
    """||A||_2 by a dense SVD for small matrices, Lanczos (ARPACK) otherwise; an estimate to certify."""
    if min(A.shape) <= 64:
        return float(np.linalg.norm(A, 2))
    v0 = rng.standard_normal(min(A.shape))
    return float(scipy.sparse.linalg.svds(A, k=1, v0=v0, return_singular_vectors=False, tol=1e-6)[0])


def _certified_spectral_norm(A, estimate) -> float:
    r"""A verified :math:`s \ge \|A\|_2`: :math:`s^2 I - A A^T \succ 0` (on the smaller side)."""
    small = A if A.shape[0] <= A.shape[1] else A.T
    gram = small @ small.T
    excess = max(1e-6 * estimate, 1e-300)
    while True:
        s = estimate + excess
        if _is_positive_definite(gram, np.full(gram.shape[0], s * s), small.shape[1]):
            return s
        excess *= 8.0


def _witness(A, x, y):
    """Map +-1 vectors of the Alon--Naor matrix to sets of A: S = {i: x_i != x_n}, T = {j: y_j != y_m}."""
    n, m = A.shape
    rows = np.flatnonzero(x[:n] != x[n])
    cols = np.flatnonzero(y[:m] != y[m])
    total = float(A[np.ix_(rows, cols)].sum()) if rows.size and cols.size else 0.0
    return rows, cols, total


def _round_and_improve(A, B, P, Q, restarts, rng):
    """Random-hyperplane rounding of the factors, then alternating +-1 local improvement; best witness."""
    from ._kernels.cutnorm import improve_signs

    directions = rng.standard_normal((P.shape[1], restarts))
    # one more start is S = all rows, so that the best witness sums to at least |sum(A)|
    all_rows = np.ones(P.shape[0])
    all_rows[-1] = -1.0
    X = np.vstack([all_rows, np.where(P @ directions >= 0, 1.0, -1.0).T])
    col_field = X @ B
    Y = np.where(col_field >= 0, 1.0, -1.0)
    row_field = Y @ B.T
    passes = improve_signs(B, np.ascontiguousarray(B.T), X, Y, np.ascontiguousarray(row_field),
                           np.ascontiguousarray(col_field), 4 * (B.shape[0] + B.shape[1]))
    # x^T B y = 4 x_n y_m sum_{S x T} A: the start with the largest value has the best witness
    best = int(np.argmax(np.einsum("ij,ij->i", X @ B, Y)))
    return _witness(A, X[best], Y[best]), int(passes.max(initial=0))


def _check_matrix(A) -> np.ndarray:
    if isinstance(A, Graphon):
        raise ValueError("A must be a real matrix; use cut_distance for graphons")
    return np.ascontiguousarray(as_float_array("A", A, ndim=2))


def cut_norm(A, *, seed=None, rank: int | None = None, restarts: int = 16, tol: float = 1e-6,
             max_iterations: int = 2000, backend: str | None = None) -> CutNormResult:
    r"""Certified bracket of the cut norm of a real matrix, with the sets that attain the lower bound.

    .. math:: \|A\|_\square = \frac{1}{nm}\max_{S,T}\Big|\sum_{i\in S,\,j\in T} A_{ij}\Big|
              \in [\text{lower}, \text{upper}] .

    Parameters
    ----------
    A : array_like, shape (n, m)
        Finite real entries.
    seed : None, int or numpy Generator
        Randomness of the relaxation's starting point and of the rounding (results are
        deterministic for a given seed).
    rank : int, optional
        Columns of the low-rank (Burer--Monteiro) factors; default
        :math:`\min(N, \max(2, \min(16, \lceil\sqrt{2N}\,\rceil)))` with :math:`N = n + m + 2`.
    restarts : int
        Random hyperplanes for the rounding (each followed by local improvement).
    tol : float
        Relative increase of the relaxation's value below which the ascent stops.
    max_iterations : int
        Cap on the ascent's iterations (the bracket stays valid when it is reached; it is looser).
    backend : {"cpu", "gpu", "auto"}, optional
        Where the ascent's matrix products run (one transfer of the Alon--Naor matrix to the
        device and of the factors back); the rounding and the certificate run on the CPU.

    Returns
    -------
    CutNormResult
        ``lower``, ``upper``, witness ``rows``/``cols``, ``sign``, ``iterations``, ``time``, ``details``.

    Notes
    -----
    With the Alon--Naor matrix :math:`B = [[A, -A\mathbf 1], [-\mathbf 1^T A, \mathbf 1^T A \mathbf 1]]`,
    :math:`\max_{S,T}|\sum_{S\times T}A| = \|B\|_{\infty\to 1}/4` (docs/theory/cutnorm.rst). Lower bound: exact
    block-coordinate ascent on unit-row factors :math:`P, Q` of :math:`\max\sum B_{ij}\langle p_i,q_j\rangle`,
    random-hyperplane rounding, alternating :math:`\pm 1` local improvement, then
    :math:`S = \{i : x_i \ne x_{n+1}\}`, :math:`T = \{j : y_j \ne y_{m+1}\}`. Upper bound: for
    :math:`C = [[0, B/2], [B^T/2, 0]]` and any :math:`y`, weak duality gives
    :math:`\|B\|_{\infty\to1} \le \mathrm{SDP}(B) \le \sum_k y_k + N \max(0, \lambda_{\max}(C - \mathrm{Diag}(y)))`;
    :math:`y_k = (CVV^T)_{kk}` from the primal, and :math:`\lambda_{\max}` is replaced by a shift
    :math:`t` verified by a Cholesky factorisation of :math:`tI - C + \mathrm{Diag}(y)` (Schur
    complement, with a rounding margin), so the bound does not rest on an iterative eigensolver's
    tolerance. The spectral bound :math:`\|A\|_2/\sqrt{nm}` (verified the same way) is used when
    smaller. Alon & Naor, SIAM J. Comput. 35 (2006); Burer & Monteiro, Math. Program. 95 (2003).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    >>> result = cut_norm(A, seed=0)
    >>> print(f"{result.lower:.15f} {result.upper:.8f}")   # the exact value 1/4, bracketed to 1e-8
    0.250000000000000 0.25000000
    >>> print(f"{result.sign * A[np.ix_(result.rows, result.cols)].sum() / A.size:.15f}")   # the witness S x T
    0.250000000000000
    """
    start = time.perf_counter()
    A = _check_matrix(A)
    n, m = A.shape
    size = n + m + 2
    rank = min(size, max(2, min(16, math.ceil(math.sqrt(2 * size))))) if rank is None \
        else check_positive_int("rank", rank)
    restarts = check_positive_int("restarts", restarts)
    tol = check_nonnegative_float("tol", tol)
    max_iterations = check_positive_int("max_iterations", max_iterations)
    backend = resolve_backend(backend, A)
    rng = as_generator(seed)
    check_memory(f"cut_norm of a {n} x {m} matrix A with rank={rank}, restarts={restarts} (Alon-Naor matrix, its "
                 f"transpose, a Gram matrix and the factors)",
                 8.0 * ((n + 1) * (m + 1) * 3 + min(n + 1, m + 1) ** 2 + 6 * size * (rank + restarts)))
    scale = float(n) * float(m)
    if not np.any(A):
        empty = np.array([], dtype=np.intp)
        return CutNormResult(0.0, 0.0, empty, empty, 1, 0, time.perf_counter() - start,
                             {"upper_from": "zero matrix"})
    # work on A / 2**k, largest entry in [1/2, 1): entries near 1e308 would overflow B's sums and the Gram
    # products, entries near 1e-300 underflow them; the bracket is scaled back at the end (homogeneity)
    largest = float(np.abs(A).max())
    A, exponent = _unit_scaled(A)

    B = _alon_naor_matrix(A)
    P, Q, BQ, BtP, iterations = _burer_monteiro(B, rank, tol, max_iterations, rng, backend)
    primal = float(np.einsum("ij,ij->", P, BQ))
    row_dual = 0.5 * np.einsum("ij,ij->i", BQ, P)
    col_dual = 0.5 * np.einsum("ij,ij->i", BtP, Q)
    dual_sum = math.fsum(row_dual) + math.fsum(col_dual)
    guess = max(0.0, _ritz_top_eigenvalue(P, Q, BQ, BtP, row_dual, col_dual))
    shift, tests = _certified_shift(B, row_dual, col_dual, guess, rng, (P, Q))
    # sum(y) carries rounding of its own; a relative N*eps inflation covers the summation and products
    certificate = (dual_sum + size * shift) * (1.0 + 4 * size * _EPS)
    sdp_upper = certificate / 4.0 / scale

    (rows, cols, total), passes = _round_and_improve(A, B, P, Q, restarts, rng)
    lower = abs(total) / scale

    spectral_estimate = _spectral_norm_estimate(A, rng) / math.sqrt(scale)
    spectral_upper = math.inf
    if spectral_estimate < sdp_upper:
        spectral_upper = _certified_spectral_norm(A, spectral_estimate * math.sqrt(scale)) / math.sqrt(scale)
    # sum_{S x T} A lies between the sums of the negative and of the positive entries
    entrywise_upper = max(float(A[A > 0].sum()), float(-A[A < 0].sum())) / scale
    upper = max(min(sdp_upper, spectral_upper, entrywise_upper), lower)
    upper_from = min((sdp_upper, "sdp"), (spectral_upper, "spectral"), (entrywise_upper, "entrywise"))[1]
    lower, upper = _scaled_back(lower, exponent, largest), _scaled_back(upper, exponent, largest)
    # diagnostics of the relaxation: inf where they exceed float64 (sums over all of a huge matrix)
    primal, dual_sum, shift, guess, sdp_upper, spectral_estimate, spectral_upper, entrywise_upper = (
        _scaled_back(value, exponent, math.inf) for value in (
            primal, dual_sum, shift, guess, sdp_upper, spectral_estimate, spectral_upper, entrywise_upper))
    details = {"sdp_primal": primal, "dual_sum": dual_sum, "certified_shift": shift, "ritz_shift": guess,
               "shift_tests": tests, "sdp_upper": sdp_upper, "spectral_estimate": spectral_estimate,
               "spectral_upper": spectral_upper, "rank": rank, "restarts": restarts,
               "local_improvement_passes": passes, "backend": backend,
               "entrywise_upper": entrywise_upper, "scale_exponent": exponent, "upper_from": upper_from}
    return CutNormResult(lower, upper, rows, cols, 1 if total >= 0 else -1, iterations,
                         time.perf_counter() - start, details)


def _unit_scaled(A: np.ndarray) -> tuple[np.ndarray, int]:
    r"""``(A / 2**k, k)`` with :math:`2^{k-1} \le \max|A| < 2^k`; exact (a power of two) up to entries below
    :math:`2^{-1074}` times the largest, which flush to zero (a change of at most :math:`2^{k-1075}` each).
    The cut norm is positively homogeneous, :math:`\|A\|_\square = 2^k \|A / 2^k\|_\square`, and every
    sum and product of the computation stays within :math:`nm` of 1."""
    largest = float(np.abs(A).max())
    if largest == 0.0:
        return A, 0
    exponent = int(np.frexp(largest)[1])
    return np.ldexp(A, -exponent), exponent


def _scaled_back(value: float, exponent: int, largest: float) -> float:
    r"""``value * 2**exponent``, or ``largest`` where that overflows: for a bound of the cut norm,
    ``largest = max|A|`` is one (:math:`\|A\|_\square \le \max|A|`); only entries within rounding of
    1.8e308 get there."""
    with np.errstate(over="ignore"):
        scaled = float(np.ldexp(value, exponent))
    return scaled if math.isfinite(scaled) or not math.isfinite(value) else largest


def cut_norm_exact(A) -> CutNormResult:
    r"""The cut norm of a small matrix by enumerating the subsets of its smaller side.

    .. math:: \|A\|_\square = \frac{1}{nm}\max_{S}\max\Big(\sum_j \big(\textstyle\sum_{i\in S}A_{ij}\big)_+,\;
              \sum_j \big(\textstyle\sum_{i\in S}A_{ij}\big)_-\Big)

    (for a fixed row set the best column set takes the columns of positive, or negative, sum).

    Parameters
    ----------
    A : array_like, shape (n, m)
        Finite real entries with ``min(n, m) <= MAX_EXACT_SIDE`` (24) and at most ``MAX_EXACT_WORK``
        (2**30, about 6 s) column-sum updates ``2**min(n, m) * max(n, m)``; larger ones are refused with
        the estimated time.

    Returns
    -------
    CutNormResult
        With ``lower == upper`` and the optimal sets.

    Examples
    --------
    >>> cut_norm_exact([[1.0, -1.0], [-1.0, 1.0]]).upper
    0.25
    """
    from ._kernels.cutnorm import best_cut_by_enumeration

    start = time.perf_counter()
    A = _check_matrix(A)
    n, m = A.shape
    if min(n, m) > MAX_EXACT_SIDE:
        raise ValueError(f"A has shape {A.shape}: exact enumeration of 2**{min(n, m)} subsets is beyond the "
                         f"limit min(n, m) <= {MAX_EXACT_SIDE}; use cut_norm for a certified bracket")
    updates = 2.0 ** min(n, m) * max(n, m)
    if updates > MAX_EXACT_WORK:
        hours = updates * _EXACT_SECONDS_PER_UPDATE / 3600
        raise ValueError(f"A has shape {A.shape}: exact enumeration of 2**{min(n, m)} subsets, each updating "
                         f"{max(n, m)} column sums, is {updates:.3g} updates (about {hours:.2g} hours at "
                         f"{_EXACT_SECONDS_PER_UPDATE * 1e9:g} ns each), beyond the limit MAX_EXACT_WORK = "
                         f"2**30 (about {MAX_EXACT_WORK * _EXACT_SECONDS_PER_UPDATE:.0f} s); use cut_norm for a "
                         f"certified bracket")
    transposed = n > m
    largest = float(np.abs(A).max())
    A, exponent = _unit_scaled(A)  # column sums of entries near 1e308 would overflow (see cut_norm)
    work = np.ascontiguousarray(A.T if transposed else A)
    best_max, best_min, s_max, t_max, s_min, t_min = best_cut_by_enumeration(work)
    sets = (s_max, t_max) if best_max >= -best_min else (s_min, t_min)
    rows, cols = (np.flatnonzero(sets[1]), np.flatnonzero(sets[0])) if transposed else \
        (np.flatnonzero(sets[0]), np.flatnonzero(sets[1]))
    total = float(A[np.ix_(rows, cols)].sum()) if rows.size and cols.size else 0.0
    value = _scaled_back(abs(total) / (float(n) * float(m)), exponent, largest)
    return CutNormResult(value, value, rows, cols, 1 if total >= 0 else -1, 0, time.perf_counter() - start,
                         {"upper_from": "exact enumeration", "scale_exponent": exponent})


# ---------------------------------------------------------------------------------------------------
# block kernels: masks and graphons as step functions on a grid, with a bound on what that costs


@dataclasses.dataclass(frozen=True)
class _BlockKernel:
    """A step function on the grid ``row_breaks x col_breaks`` and the L1 distance to what it stands for.

    ``error`` bounds :math:`\\|W - \\bar W\\|_1` (within-block deviation) plus the quadrature error of
    the block averages; ``quadrature_error`` is the latter alone (it is what a lower bound loses).
    """

    values: np.ndarray
    row_breaks: np.ndarray
    col_breaks: np.ndarray
    error: float = 0.0
    quadrature_error: float = 0.0

    @property
    def row_lengths(self):
        return np.diff(self.row_breaks)

    @property
    def col_lengths(self):
        return np.diff(self.col_breaks)

    def on(self, row_breaks, col_breaks) -> np.ndarray:
        """Values on a finer grid (each fine piece inside one piece of this kernel's grid)."""
        rows = _piece_of(self.row_breaks, row_breaks)
        cols = _piece_of(self.col_breaks, col_breaks)
        return self.values[np.ix_(rows, cols)]

    def relabelled(self, row_permutation, col_permutation) -> "_BlockKernel":
        """The same function with its row (column) pieces laid out in the given order."""
        return dataclasses.replace(
            self, values=self.values[np.ix_(row_permutation, col_permutation)],
            row_breaks=_breaks_from_lengths(self.row_lengths[row_permutation]),
            col_breaks=_breaks_from_lengths(self.col_lengths[col_permutation]))

    def degrees(self):
        """Row and column degrees: :math:`d_i = \\sum_j P_{ij} b_j`, :math:`d_j = \\sum_i a_i P_{ij}`."""
        return self.values @ self.col_lengths, self.row_lengths @ self.values


def _breaks_from_lengths(lengths) -> np.ndarray:
    breaks = np.concatenate([[0.0], np.cumsum(lengths)])
    breaks[-1] = 1.0
    return breaks


def _piece_of(breaks, fine_breaks) -> np.ndarray:
    centres = 0.5 * (fine_breaks[:-1] + fine_breaks[1:])
    return np.clip(np.searchsorted(breaks, centres, side="right") - 1, 0, breaks.size - 2)


def _merge_breaks(*grids) -> np.ndarray:
    """Common refinement of several grids; points closer than 1e-12 (rounding of equal cuts) merge."""
    points = np.unique(np.concatenate(grids))
    keep = np.concatenate([[True], np.diff(points) > 1e-12])
    points = points[keep]
    points[0], points[-1] = 0.0, 1.0
    return points


def _mask_kernel(mask, row_order, col_order) -> _BlockKernel:
    M = np.asarray(Graphon.from_mask(mask, row_order, col_order).values)
    n, m = M.shape
    return _BlockKernel(np.array(M), np.linspace(0.0, 1.0, n + 1), np.linspace(0.0, 1.0, m + 1))


def _is_step(W: Graphon) -> bool:
    return W.kind in ("step", "constant")


def _graphon_kernel(W: Graphon, row_breaks, col_breaks, rule: QuadratureRule) -> _BlockKernel:
    r"""Block averages of ``W`` on a grid and a bound on :math:`\|W - \bar W\|_1` plus the averages' error.

    Step and constant graphons are exact (the grid is refined by their breaks before this call, so
    each block lies in one of their pieces). Otherwise each block is integrated by ``rule`` mapped
    onto it (tensor product); the quadrature error is estimated by the difference from the
    one-point midpoint rule. The within-block deviation uses that the mean absolute deviation of a
    function with values in :math:`[a, b]` is at most :math:`(b - a)/2`, with :math:`a, b` the
    extremes over the block's corners and rule nodes (a bound when ``W`` is monotone in each
    variable on each block, an estimate otherwise).
    """
    if _is_step(W):
        values = W.on_grid(0.5 * (row_breaks[:-1] + row_breaks[1:]), 0.5 * (col_breaks[:-1] + col_breaks[1:]))
        return _BlockKernel(values, row_breaks, col_breaks)
    from ._kernels.cutnorm import block_average_and_range

    row_lengths, col_lengths = np.diff(row_breaks), np.diff(col_breaks)
    p = rule.size
    check_memory("cut_distance (block averages of a graphon)", 8.0 * 8 * row_lengths.size * col_lengths.size)
    col_nodes = (col_breaks[:-1, None] + col_lengths[:, None] * rule.nodes[None, :]).ravel()
    weights = np.ascontiguousarray(rule.weights)
    # evaluate a band of row pieces at a time so that the sample grid stays near 2**24 values
    band = max(1, int(2**24 // max(1, p * p * col_lengths.size)))
    averages = np.empty((row_lengths.size, col_lengths.size))
    low, high = np.empty_like(averages), np.empty_like(averages)
    for first in range(0, row_lengths.size, band):
        piece = slice(first, min(first + band, row_lengths.size))
        row_nodes = (row_breaks[piece][:, None] + row_lengths[piece][:, None] * rule.nodes[None, :]).ravel()
        samples = np.ascontiguousarray(W.on_grid(row_nodes, col_nodes))
        averages[piece], low[piece], high[piece] = block_average_and_range(samples, weights, weights)
    midpoints = W.on_grid(0.5 * (row_breaks[:-1] + row_breaks[1:]), 0.5 * (col_breaks[:-1] + col_breaks[1:]))
    corners = W.on_grid(row_breaks, col_breaks)
    corner_views = (corners[:-1, :-1], corners[1:, :-1], corners[:-1, 1:], corners[1:, 1:])
    low = np.minimum.reduce((low, *corner_views))
    high = np.maximum.reduce((high, *corner_views))
    areas = np.outer(row_lengths, col_lengths)
    quadrature_error = float(np.sum(areas * np.abs(averages - midpoints)))
    deviation = float(np.sum(areas * (high - low))) / 2.0
    return _BlockKernel(averages, row_breaks, col_breaks, deviation + quadrature_error, quadrature_error)


def _named_kernel(name: str, W: Graphon, row_breaks, col_breaks, rule) -> _BlockKernel:
    """:func:`_graphon_kernel`, a bad value of ``W`` (outside [0, 1], not finite) reported under ``name``."""
    try:
        return _graphon_kernel(W, row_breaks, col_breaks, rule)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _uniform(pieces: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, pieces + 1)


def _weighted_cut_norm(values, row_lengths, col_lengths, seed, options) -> CutNormResult:
    r""":math:`\max_{S,T}|\sum_{S\times T} a_i b_j D_{ij}|` through :func:`cut_norm` of :math:`nm\,a_i b_j D_{ij}`."""
    n, m = values.shape
    weighted = values * np.outer(row_lengths, col_lengths) * (float(n) * float(m))
    return cut_norm(weighted, seed=seed, **options)


def _labelled(first: _BlockKernel, second: _BlockKernel, seed, options) -> CutNormResult:
    """Bracket of ||first - second||_box on the common refinement, the kernels' errors included."""
    row_breaks = _merge_breaks(first.row_breaks, second.row_breaks)
    col_breaks = _merge_breaks(first.col_breaks, second.col_breaks)
    difference = first.on(row_breaks, col_breaks) - second.on(row_breaks, col_breaks)
    result = _weighted_cut_norm(difference, np.diff(row_breaks), np.diff(col_breaks), seed, options)
    lost = first.quadrature_error + second.quadrature_error
    added = first.error + second.error
    details = dict(result.details, block_lower=result.lower, block_upper=result.upper,
                   quadrature_error=lost, discretisation_error=added)
    return result.replace(lower=max(0.0, result.lower - lost), upper=result.upper + added, details=details,
                          row_breaks=row_breaks, col_breaks=col_breaks)


def _degree_order(kernel: _BlockKernel):
    row_degrees, col_degrees = kernel.degrees()
    return np.argsort(row_degrees, kind="stable"), np.argsort(col_degrees, kind="stable")


def _transport_distance(values_a, weights_a, values_b, weights_b) -> float:
    r"""1-Wasserstein distance :math:`\int_0^1 |F_a^{-1}(t) - F_b^{-1}(t)|\,dt` of two weighted point laws."""
    order_a, order_b = np.argsort(values_a, kind="stable"), np.argsort(values_b, kind="stable")
    cuts_a = np.cumsum(weights_a[order_a])
    cuts_b = np.cumsum(weights_b[order_b])
    cuts = _merge_breaks([0.0], cuts_a / cuts_a[-1], cuts_b / cuts_b[-1])
    centres = 0.5 * (cuts[:-1] + cuts[1:])
    quantile_a = values_a[order_a][np.minimum(np.searchsorted(cuts_a / cuts_a[-1], centres), order_a.size - 1)]
    quantile_b = values_b[order_b][np.minimum(np.searchsorted(cuts_b / cuts_b[-1], centres), order_b.size - 1)]
    return float(np.diff(cuts) @ np.abs(quantile_a - quantile_b))


def _motif_density(motif, values, row_weights, col_weights) -> float:
    """t(F, .) of a kernel with values ``values`` on weighted points (blocks or quadrature nodes)."""
    a, b = row_weights, col_weights
    if motif == "edge":
        return float(a @ values @ b)
    if motif == "out_star":
        return float(a @ (values @ b) ** 2)
    if motif == "in_star":
        return float((a @ values) ** 2 @ b)
    if motif == "path3":
        return float(((a @ values) * b) @ values.T @ (a * (values @ b)))
    scaled = np.sqrt(a)[:, None] * values * np.sqrt(b)[None, :]
    gram = scaled.T @ scaled if scaled.shape[0] >= scaled.shape[1] else scaled @ scaled.T
    return float(np.sum(gram * gram))


def _unlabelled(first: _BlockKernel, second: _BlockKernel, aligned: CutNormResult | None, seed,
                options) -> CutNormResult:
    """Bracket of the unlabelled distance: upper from alignments, lower from degrees and motifs."""
    sorted_first = first.relabelled(*_degree_order(first))
    sorted_second = second.relabelled(*_degree_order(second))
    candidates = [_labelled(sorted_first, sorted_second, seed, options)]
    if aligned is not None:
        candidates.append(aligned)
    best = min(candidates, key=lambda r: r.upper)
    errors = first.error + second.error
    row_first, col_first = first.degrees()
    row_second, col_second = second.degrees()
    degree_bound = 0.5 * max(
        _transport_distance(row_first, first.row_lengths, row_second, second.row_lengths),
        _transport_distance(col_first, first.col_lengths, col_second, second.col_lengths)) - errors
    counting = {motif: abs(_motif_density(motif, first.values, first.row_lengths, first.col_lengths)
                           - _motif_density(motif, second.values, second.row_lengths, second.col_lengths))
                / edges - errors for motif, edges in MOTIF_EDGES.items()}
    lower = max(0.0, degree_bound, *counting.values())
    details = dict(best.details, labelled_alignment_upper=[c.upper for c in candidates],
                   degree_bound=degree_bound, counting_bounds=counting, labelled=False,
                   witness_note="rows/cols are the witness of the labelled distance under the best alignment")
    return best.replace(lower=min(lower, best.upper), details=details)


def _grid_for(W: Graphon, other, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid on which to average ``W`` next to ``other``: both sets of breaks, plus an equal grid if
    ``W`` is not a step function."""
    rows, cols = [W.row_breaks, other.row_breaks], [W.col_breaks, other.col_breaks]
    if not _is_step(W):
        # the block averages on at least resolution x resolution blocks (as _graphon_kernel counts them),
        # refused before the grid itself is built
        check_memory(f"cut_distance (a graphon averaged on resolution x resolution = {resolution} x {resolution} "
                     f"blocks)", 8.0 * 8 * float(resolution) ** 2)
        rows.append(_uniform(resolution))
        cols.append(_uniform(resolution))
    return _merge_breaks(*rows), _merge_breaks(*cols)


def cut_distance(A, B, *, row_order=None, col_order=None, rule: QuadratureRule | None = None,
                 labelled: bool = True, seed=None, resolution: int = DEFAULT_RESOLUTION,
                 **options) -> CutNormResult:
    r"""Certified bracket of the cut distance between a mask (or a graphon) and a graphon.

    Labelled: :math:`\|W_A - W_B\|_\square` with :math:`W_A` the empirical graphon of the mask in the
    latent order given by ``row_order``/``col_order`` (docs/theory/graphons.rst). Unlabelled (``labelled=False``):
    :math:`\delta_\square(W_A, W_B) = \inf_{\varphi,\psi}\|W_A - W_B^{\varphi,\psi}\|_\square` over
    measure-preserving relabellings of rows and columns.

    Parameters
    ----------
    A : 0/1 array_like (n_out, n_in) or Graphon
    B : Graphon (or anything :func:`graphon_ops.graphon` accepts)
    row_order, col_order : array_like of int, optional
        Permutations listing the mask's rows (columns) in increasing latent position, e.g.
        ``numpy.argsort(sample.row_positions)`` (as in :meth:`Graphon.from_mask`).
    rule : QuadratureRule, optional
        Reference rule on [0, 1] mapped onto every block to average a graphon that is not a step
        function (tensor product); default ``gauss_legendre(3)``. Step graphons are exact.
    labelled : bool
        Labelled distance (default) or the unlabelled bracket.
    seed : None, int or Generator
        Randomness of :func:`cut_norm`.
    resolution : int
        A graphon that is not a step function is discretised on at least this many equal blocks per
        side (refined by the mask's grid and the graphons' breaks).
    **options
        Passed to :func:`cut_norm` (``rank``, ``restarts``, ``tol``, ``max_iterations``, ``backend``).

    Returns
    -------
    CutNormResult
        ``rows``/``cols`` index the blocks of ``row_breaks``/``col_breaks`` (the common grid, in latent
        order). ``details`` holds the discretisation and quadrature error terms and, when unlabelled,
        the degree and counting-lemma lower bounds.

    Notes
    -----
    On a grid with block averages :math:`\bar W`, :math:`\|W_A - W_B\|_\square` lies within
    :math:`\|W_B - \bar W_B\|_1` of the weighted matrix cut norm of :math:`W_A - \bar W_B`, which
    :func:`cut_norm` brackets; block-union sets give the lower bound exactly, up to the quadrature
    error of the averages. Unlabelled: the upper bound is the labelled distance after sorting both
    sides by degree (or as given, whichever is smaller); the lower bound is the largest of
    :math:`\tfrac12 W_1(\mathcal L(d_A), \mathcal L(d_B))` on each side (since
    :math:`\|d_U - d_W\|_1 \le 2\|U - W\|_\square`) and :math:`|t(F, W_A) - t(F, W_B)|/e(F)` for the
    motifs of :data:`MOTIF_EDGES` (counting lemma), less the discretisation errors.

    Examples
    --------
    >>> import numpy as np
    >>> from graphon_ops import Graphon
    >>> mask = np.array([[1, 0], [0, 1]])
    >>> d = cut_distance(mask, Graphon.constant(0.5), seed=0)
    >>> print(f"{d.lower:.15f} {d.upper:.8f}")   # the exact distance 1/8, bracketed to 1e-8
    0.125000000000000 0.12500000
    """
    resolution = check_positive_int("resolution", resolution)
    unknown = set(options) - {"rank", "restarts", "tol", "max_iterations", "backend"}
    if unknown:
        raise ValueError(f"unknown cut_norm option(s) {sorted(unknown)}; known: rank, restarts, tol, "
                         f"max_iterations, backend")
    if rule is None:
        rule = gauss_legendre(3)
    elif not isinstance(rule, QuadratureRule):
        raise ValueError(f"rule must be a QuadratureRule, got {type(rule).__name__}")
    labelled = check_flag("labelled", labelled)
    if isinstance(A, Graphon) and (row_order is not None or col_order is not None):
        raise ValueError("row_order/col_order apply to a mask A, not to a Graphon")
    try:
        B = graphon(B)
    except ValueError as exc:
        raise ValueError(f"B must be a Graphon: {exc}") from None
    if isinstance(A, Graphon):
        first = _named_kernel("A", A, *_grid_for(A, B, resolution), rule)
    elif isinstance(A, (np.ndarray, list, tuple)) or is_sparse(A):
        first = _mask_kernel(A, row_order, col_order)
    else:
        raise ValueError(f"A must be a 0/1 mask (2-D array) or a Graphon, got {type(A).__name__}")
    second = _named_kernel("B", B, *_grid_for(B, first, resolution), rule)
    check_memory("cut_distance (difference matrix)", 8.0 * 6 * second.values.size)
    aligned = _labelled(first, second, seed, options)
    if labelled:
        return aligned.replace(details=dict(aligned.details, labelled=True))
    # each side on its own grid for relabelling (a graphon's grid need not follow the other's)
    own_second = _named_kernel("B", B, *_grid_for(B, B, resolution), rule)
    return _unlabelled(first, own_second, aligned, seed, options)


def homomorphism_density(F: str, mask_or_graphon, *, rule: QuadratureRule | None = None) -> float:
    r"""Density :math:`t(F, W)` of a small bipartite motif in a mask's empirical graphon or a graphon.

    Motifs (left vertices are outputs :math:`u`, right vertices inputs :math:`v`):

    * ``"edge"``: :math:`\int W(u,v)` (the density)
    * ``"out_star"``: :math:`\int d_\mathrm{out}(u)^2\,du` (two edges sharing an output)
    * ``"in_star"``: :math:`\int d_\mathrm{in}(v)^2\,dv` (two edges sharing an input)
    * ``"path3"``: :math:`\int W(u,v)W(u,v')W(u',v')` (path with three edges)
    * ``"C4"``: :math:`\int W(u,v)W(u,v')W(u',v)W(u',v')`; for a mask
      :math:`\operatorname{tr}((MM^T)^2)/(n_\mathrm{out}^2 n_\mathrm{in}^2)`

    Parameters
    ----------
    F : {"edge", "out_star", "in_star", "path3", "C4"}
    mask_or_graphon : 0/1 array_like or Graphon
    rule : QuadratureRule, optional
        Rule for both variables of a graphon that is not a step function (default: the graphon's
        :meth:`~graphon_ops.Graphon.default_rule`); masks and step graphons are exact.

    Examples
    --------
    >>> round(homomorphism_density("C4", [[1, 1], [1, 0]]), 12)  # tr((M M^T)^2) / 16 = 7 / 16
    0.4375
    >>> from graphon_ops import Graphon
    >>> round(homomorphism_density("C4", Graphon.constant(0.5)), 12)
    0.0625
    """
    check_choice("F", F, MOTIF_EDGES)
    if rule is not None and not isinstance(rule, QuadratureRule):
        raise ValueError(f"rule must be a QuadratureRule, got {type(rule).__name__}")
    if isinstance(mask_or_graphon, Graphon):
        W = mask_or_graphon
        if _is_step(W):
            return _motif_density(F, np.asarray(W.values), np.diff(W.row_breaks), np.diff(W.col_breaks))
        row_rule = rule if rule is not None else W.default_rule("row")
        col_rule = rule if rule is not None else W.default_rule("col")
        check_memory("homomorphism_density (graphon on the quadrature grid)", 8.0 * 3 * row_rule.size * col_rule.size)
        return _motif_density(F, W.on_grid(row_rule.nodes, col_rule.nodes), row_rule.weights, col_rule.weights)
    M = as_mask("mask_or_graphon", mask_or_graphon).astype(np.float64)
    n, m = M.shape
    return _motif_density(F, M, np.full(n, 1.0 / n), np.full(m, 1.0 / m))
