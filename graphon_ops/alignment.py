r"""Kernel spectra, kernel--target alignment and kernel complexity measures (docs/theory/paths_alignment.rst).

All functions take a Gram matrix :math:`K` (:math:`N \times N`, symmetric) of a kernel on data
:math:`x_1, \dots, x_N` and, where needed, targets :math:`y` (a vector of :math:`N` values, or an
:math:`N \times c` matrix such as one-hot class labels, whose target kernel is :math:`Y Y^\top`).

* alignment :math:`A(K, T) = \langle K, T\rangle_F / (\|K\|_F \|T\|_F)`, centred with
  :math:`H = I - \mathbf{1}\mathbf{1}^\top / N` (Cortes, Mohri and Rostamizadeh 2012);
* spectral alignment :math:`C(k) = \sum_{i \le k} (u_i^\top y)^2 / \|y\|^2`;
* generalisation bound :math:`B = \sqrt{2\, y^\top K^{-1} y / N}` (Arora et al. 2019) and the
  scale-free complexity :math:`y^\top K^{-1} y \cdot \mathrm{tr}(K) / N`;
* spectral metrics: power-law decay exponent, effective rank, spectral gap, top-5 energy.

The spectrum of a graphon's own integral operator is :meth:`graphon_ops.GraphonOperator.eigenvalues`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg

from ._config import get_options
from ._validation import (as_float_array, check_choice, check_flag, check_memory, check_nonnegative_float,
                          check_positive_int)

__all__ = ["kernel_spectrum", "kernel_alignment", "spectral_alignment", "generalization_bound",
           "kernel_complexity", "spectral_metrics", "BoundResult", "SpectralMetrics"]

_EPS = np.finfo(np.float64).eps


def _as_kernel(name: str, K) -> np.ndarray:
    """A finite, square, symmetric (to ``symmetry_tolerance`` relative to its largest entry) matrix."""
    K = as_float_array(name, K, ndim=2)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be a square Gram matrix, got shape {K.shape}")
    scale = np.abs(K).max()
    if scale == 0:
        return K
    # K - K^T and K + K^T on K / 2**k (exact): entries near 1e308 would overflow them
    exponent = int(np.frexp(scale)[1])
    unit = np.ldexp(K, -exponent)
    asymmetry = np.abs(unit - unit.T).max() / np.ldexp(scale, -exponent)
    if asymmetry > get_options().symmetry_tolerance:
        raise ValueError(f"{name} must be symmetric; max |K - K^T| / max |K| = {asymmetry:.3g} exceeds "
                         f"symmetry_tolerance")
    return np.ldexp((unit + unit.T) / 2.0, exponent)


def _check_kernel_memory(what: str, name: str, K, copies: int) -> None:
    """Refuse, before any copy, a kernel whose computation would hold more than the memory budget: ``copies``
    float64 arrays of its shape beside the caller's (measured peaks with tracemalloc at N = 1500:
    kernel_spectrum and kernel_alignment with labels 3, spectral_alignment, spectral_metrics and the
    Cholesky-based bounds 4 (3.1 rounded up), kernel_alignment with a kernel target 6), and one more when the
    input is not already a C-ordered float64 array. Nested lists (no ``shape``) are converted first."""
    shape = getattr(K, "shape", None)
    if not isinstance(shape, tuple) or len(shape) != 2:
        return  # a nested list, or a shape the argument checks report
    converted = not (isinstance(K, np.ndarray) and K.dtype == np.float64 and K.flags.c_contiguous)
    copies += int(converted)
    check_memory(f"{what} of {name} (a {shape[0]} x {shape[1]} matrix; about {copies} float64 copies of it are "
                 f"held)", 8.0 * copies * shape[0] * shape[1])


def _as_targets(y, n: int) -> np.ndarray:
    """Targets as an (N, c) matrix; a vector becomes one column."""
    Y = as_float_array("y", y, ndim=(1, 2))
    if Y.shape[0] != n:
        raise ValueError(f"y must have {n} rows (one per kernel row), got shape {Y.shape}")
    return Y[:, None] if Y.ndim == 1 else Y


def _unit_scale(A: np.ndarray) -> np.ndarray:
    """A divided by its largest absolute entry (a power of two, so exact), so that norms neither
    underflow nor overflow; alignment is invariant to the scale."""
    largest = np.abs(A).max()
    return A if largest == 0 else np.ldexp(A, -int(np.frexp(largest)[1]))


def _center(K: np.ndarray) -> np.ndarray:
    """:math:`H K H` with :math:`H = I - 11^T/N`, by removing row, column and grand means."""
    row = K.mean(axis=1, keepdims=True)
    col = K.mean(axis=0, keepdims=True)
    return K - row - col + K.mean()


def _degenerate(norm: float, n: int) -> bool:
    """Frobenius norm of an N x N matrix with entries <= 1 that is rounding noise only (centring a
    constant matrix leaves entries of a few ulp, Frobenius norm ~ N eps)."""
    return bool(norm <= 16.0 * n * _EPS)


def kernel_spectrum(K, k: int | None = None, *, integral_operator: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenvalues (decreasing) and orthonormal eigenvectors of a symmetric Gram matrix.

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric kernel matrix.
    k : int, optional
        Number of leading eigenpairs (default: all).
    integral_operator : bool
        Return the eigenvalues of :math:`K/N`: the Nyström estimate of the eigenvalues of the kernel's
        integral operator :math:`(T f)(x) = \mathbb{E}_{x'}[k(x, x') f(x')]` on the distribution the
        data were sampled from.

    Returns
    -------
    values : ndarray, shape (k,)
        Eigenvalues in decreasing order (of :math:`K`, or of :math:`K/N`).
    vectors : ndarray, shape (N, k)
        Unit eigenvectors as columns (``vectors[:, i]`` belongs to ``values[i]``).

    Notes
    -----
    :math:`K = \sum_i \lambda_i u_i u_i^\top`, :math:`\lambda_1 \ge \lambda_2 \ge \cdots`. A backward-
    stable symmetric solver (LAPACK ``syevr``) perturbs each eigenvalue by at most about
    :math:`N \varepsilon \|K\|_2`, so a positive semi-definite kernel may show negative eigenvalues of
    that size.

    See Also
    --------
    graphon_ops.GraphonOperator.eigenvalues : spectrum of a graphon's integral operator.

    Examples
    --------
    >>> import numpy as np
    >>> values, vectors = kernel_spectrum(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> np.round(values, 12).tolist()
    [3.0, 1.0]
    """
    integral_operator = check_flag("integral_operator", integral_operator)
    _check_kernel_memory("kernel_spectrum", "K", K, 3)
    K = _as_kernel("K", K)
    n = K.shape[0]
    k = n if k is None else min(check_positive_int("k", k), n)
    check_memory("the eigen-decomposition", 3.0 * K.nbytes)
    values, vectors = scipy.linalg.eigh(K, subset_by_index=(n - k, n - 1), driver="evr")
    values, vectors = values[::-1], vectors[:, ::-1]
    if not np.all(np.isfinite(values)):
        # |lambda| <= N max|K|: entries near 1e308 can put an eigenvalue beyond float64
        raise ValueError(f"K's eigenvalues overflow float64 (largest entry {float(np.abs(K).max()):.3g}, "
                         f"{n} x {n}); rescale K (the eigenvectors and the alignments do not depend on its scale)")
    return (values / n if integral_operator else values), vectors


def _target_kernel_kind(target, target_kind: str, n: int) -> str:
    check_choice("target_kind", target_kind, ("auto", "labels", "kernel"))
    if target_kind != "auto":
        return target_kind
    T = np.asarray(target)
    if T.ndim == 2 and T.shape == (n, n) and n > 1 and np.issubdtype(T.dtype, np.number) \
            and np.all(np.isfinite(T)) and np.allclose(T, T.T, rtol=0.0, atol=0.0):
        return "kernel"
    return "labels"


def kernel_alignment(K, target, *, centered: bool = False, target_kind: str = "auto") -> float:
    r"""Alignment between a kernel and a target (labels or a second kernel), in :math:`[-1, 1]`.

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric Gram matrix.
    target : array_like
        Targets ``y`` of shape ``(N,)`` or ``(N, c)`` (e.g. one-hot labels; the target kernel is
        :math:`Y Y^\top`), or a second symmetric Gram matrix of shape ``(N, N)``.
    centered : bool
        Centre both kernels with :math:`H = I - \mathbf{1}\mathbf{1}^\top/N` first (centred alignment).
    target_kind : {"auto", "labels", "kernel"}
        How to read ``target``; ``"auto"`` treats an exactly symmetric ``N x N`` matrix as a kernel and
        anything else as labels (say ``"labels"`` for ``N`` samples one-hot encoded in ``N`` classes).

    Returns
    -------
    float
        :math:`A \in [-1, 1]` (Cauchy--Schwarz); :math:`A \in [0, 1]` when both kernels are positive
        semi-definite. ``0.0`` when ``K`` (centred, if asked) is zero up to rounding, e.g. a constant
        kernel under centring: it carries no information about the target.

    Raises
    ------
    ValueError
        Shapes that do not match, non-finite entries, a non-symmetric kernel, or a target that is zero
        (up to rounding, after centring if asked): the alignment is then undefined.

    Notes
    -----
    .. math::

        A(K, T) = \frac{\langle K, T\rangle_F}{\|K\|_F\, \|T\|_F}, \qquad
        A(K, y y^\top) = \frac{y^\top K y}{\|K\|_F\, \|y\|^2},

    centred: :math:`A(HKH, HTH)`. Since :math:`H` is a projection,
    :math:`\langle HKH, HTH\rangle_F = (Hy)^\top K (Hy)`. Both arguments are first scaled by a power of
    two to a largest entry in [1/2, 1) (exact), so tiny or huge kernels neither underflow nor overflow.
    Reference: Cristianini et al. (2002); Cortes, Mohri and Rostamizadeh, JMLR 13 (2012).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, -1.0, 1.0])
    >>> print(f"{kernel_alignment(np.outer(y, y), y):.15f}")
    1.000000000000000
    >>> print(f"{kernel_alignment(np.eye(3), np.eye(3) + 1.0):.14f} {6 / np.sqrt(54):.14f}")
    0.81649658092773 0.81649658092773
    """
    centered = check_flag("centered", centered)
    _check_kernel_memory("kernel_alignment", "K", K, 3)
    _check_kernel_memory("kernel_alignment", "target", target, 6)  # a kernel target: both kernels, centred
    K = _unit_scale(_as_kernel("K", K))
    n = K.shape[0]
    if _target_kernel_kind(target, target_kind, n) == "kernel":
        T = _as_kernel("target", target)
        if T.shape != K.shape:
            raise ValueError(f"target must be a kernel of shape {K.shape}, got {T.shape}")
        T = _unit_scale(T)
        if centered:
            K, T = _center(K), _center(T)
        norm_K, norm_T = float(np.linalg.norm(K)), float(np.linalg.norm(T))
        if _degenerate(norm_K, n) or _degenerate(norm_T, n):
            return 0.0
        return float(np.clip(np.vdot(K, T) / (norm_K * norm_T), -1.0, 1.0))
    Y = _unit_scale(_as_targets(target, n))
    if centered:
        K, Y = _center(K), Y - Y.mean(axis=0)
    norm_T = float(np.linalg.norm(Y.T @ Y))  # ||Y Y^T||_F = ||Y^T Y||_F, a c x c product
    if norm_T <= (16.0 * n * _EPS) ** 2:
        raise ValueError(f"y must not be zero{' after centring (constant targets)' if centered else ''}; "
                         f"the alignment with a zero target is undefined")
    norm_K = float(np.linalg.norm(K))
    if _degenerate(norm_K, n):
        return 0.0
    # <K, Y Y^T>_F = tr(Y^T K Y); for centred K, K = HKH already, so Hy = y - mean(y) gives the same.
    return float(np.clip(np.sum(Y * (K @ Y)) / (norm_K * norm_T), -1.0, 1.0))


def spectral_alignment(K, y, k: int | None = None) -> np.ndarray:
    r"""Cumulative target power :math:`C(k)` along the kernel's eigenvectors (decreasing eigenvalues).

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric Gram matrix.
    y : array_like, shape (N,) or (N, c)
        Targets (for a matrix, the power is summed over columns).
    k : int, optional
        Number of leading eigenvectors (default all: then ``C[-1] == 1`` up to rounding).

    Returns
    -------
    ndarray, shape (k,)
        :math:`C(1), \dots, C(k)`, non-decreasing in [0, 1].

    Notes
    -----
    .. math:: C(k) = \sum_{i \le k} \frac{\|u_i^\top Y\|^2}{\|Y\|_F^2}

    with :math:`K = \sum_i \lambda_i u_i u_i^\top`, :math:`\lambda_1 \ge \lambda_2 \ge \cdots`. A kernel
    whose leading eigenvectors carry the target (fast rise of :math:`C`) is learned from fewer
    samples (Canatar, Bordelon and Pehlevan 2021). Eigenvectors of (nearly) repeated eigenvalues are
    not unique; :math:`C` is unique at the ends of each cluster of equal eigenvalues.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, 2.0, 2.0])
    >>> C = spectral_alignment(np.outer(y, y) + 0.1 * np.eye(3), y)
    >>> np.round(C, 12).tolist()
    [1.0, 1.0, 1.0]
    """
    _check_kernel_memory("spectral_alignment", "K", K, 4)
    K = _as_kernel("K", K)
    Y = _unit_scale(_as_targets(y, K.shape[0]))
    total = np.sum(Y * Y)
    if total == 0.0:
        raise ValueError("y must not be zero; the spectral alignment of a zero target is undefined")
    _, vectors = kernel_spectrum(_unit_scale(K), k)  # scale-free: no eigenvalue beyond float64
    power = np.sum((vectors.T @ Y) ** 2, axis=1) / total
    return np.clip(np.cumsum(power), 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class BoundResult:
    r"""The kernel complexity :math:`y^\top (K + \lambda I)^{-1} y` and what is derived from it.

    Attributes
    ----------
    bound : float
        :math:`\sqrt{2\, y^\top (K + \lambda I)^{-1} y / N}`.
    quadratic_form : float
        :math:`y^\top (K + \lambda I)^{-1} y` (for a target matrix, :math:`\mathrm{tr}(Y^\top (K + \lambda I)^{-1} Y)`).
    condition_number : float
        :math:`\kappa_2(K + \lambda I) = \lambda_{\max} / \lambda_{\min}`.
    ridge : float
        The ridge :math:`\lambda` that was added.
    n : int
        Number of samples :math:`N`.
    """

    bound: float
    quadratic_form: float
    condition_number: float
    ridge: float
    n: int


def _scaled_quadratic_form(K, y, ridge, max_condition):
    _check_kernel_memory("generalization_bound / kernel_complexity", "K", K, 4)
    K = _as_kernel("K", K)
    n = K.shape[0]
    Y = _as_targets(y, n)
    ridge = check_nonnegative_float("ridge", ridge)
    # The relative error of y^T K^{-1} y through a backward-stable Cholesky solve is about N eps kappa;
    # the default refuses beyond 1e-3 relative error.
    max_condition = 1e-3 / (n * _EPS) if max_condition is None else check_nonnegative_float("max_condition", max_condition)
    check_memory("the Cholesky factorisation", 3.0 * K.nbytes)
    # K + ridge I and Y divided by powers of two (exact) to largest entries in [1/4, 1), so that neither the
    # factorisation nor the solve under- or overflows (K = 1e-320 I gave NaN, K = 1e308 I inf); then
    # y^T (K + ridge I)^{-1} y = 2**(2 y_exp - k_exp) * quadratic and tr(K + ridge I) = 2**k_exp * trace.
    # k_exp is even, so the Cholesky factor's square roots scale exactly too: same digits as unscaled.
    k_exp = int(np.frexp(max(float(np.abs(K).max()), ridge))[1])
    k_exp += k_exp % 2
    y_exp = int(np.frexp(float(np.abs(Y).max()))[1])
    A = np.ldexp(K, -k_exp) + np.ldexp(ridge, -k_exp) * np.eye(n)
    Y = np.ldexp(Y, -y_exp)
    eigenvalues = scipy.linalg.eigvalsh(A)
    smallest, largest = eigenvalues[0], eigenvalues[-1]
    condition = float(largest / smallest) if smallest > 0 else np.inf
    if not condition <= max_condition:
        with np.errstate(over="ignore"):
            smallest, largest = float(np.ldexp(smallest, k_exp)), float(np.ldexp(largest, k_exp))
        raise ValueError(f"K{' + ridge I' if ridge else ''} is numerically singular: smallest eigenvalue "
                         f"{smallest:.3g}, largest {largest:.3g}, condition number {condition:.3g} > max_condition "
                         f"{max_condition:.3g}; pass ridge > 0 (e.g. ridge={max(largest, 1e-300) * 1e-8:.3g}) to "
                         f"regularise, and report it")
    factor = scipy.linalg.cho_factor(A, lower=True)
    solved = scipy.linalg.cho_solve(factor, Y)
    return float(np.sum(Y * solved)), float(np.trace(A)), y_exp, k_exp, condition, ridge, n


def _in_float_range(what: str, mantissa: float, exponent: int) -> float:
    """``mantissa * 2**exponent``; ``ValueError`` when that overflows float64 or underflows to 0 (0 stays 0)."""
    with np.errstate(over="ignore", under="ignore"):
        value = float(np.ldexp(mantissa, exponent))
    if mantissa != 0 and (value == 0 or not math.isfinite(value)):
        raise ValueError(f"{what} = {mantissa:.6g} * 2**{exponent} is outside the float64 range; rescale y or K")
    return value


def _quadratic_form(K, y, ridge, max_condition) -> BoundResult:
    quadratic, _, y_exp, k_exp, condition, ridge, n = _scaled_quadratic_form(K, y, ridge, max_condition)
    quadratic = _in_float_range("y^T (K + ridge I)^{-1} y", quadratic, 2 * y_exp - k_exp)
    return BoundResult(float(np.sqrt(2.0 * quadratic / n)), quadratic, condition, ridge, n)


def generalization_bound(K, y, *, ridge: float = 0.0, max_condition: float | None = None) -> BoundResult:
    r"""The NTK generalisation bound :math:`\sqrt{2\, y^\top K^{-1} y / N}` via a Cholesky factorisation.

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric positive definite Gram matrix (the NTK on the training data).
    y : array_like, shape (N,) or (N, c)
        Targets.
    ridge : float
        :math:`\lambda \ge 0` added to the diagonal; report it with the bound.
    max_condition : float, optional
        Refuse (``ValueError``) when :math:`\kappa_2(K + \lambda I)` exceeds it. Default
        :math:`10^{-3} / (N \varepsilon)`: the relative error of the computed quadratic form is about
        :math:`N \varepsilon \kappa`, so the default keeps it below :math:`10^{-3}`.

    Returns
    -------
    BoundResult
        ``.bound``, ``.quadratic_form``, ``.condition_number``, ``.ridge``, ``.n``.

    Notes
    -----
    .. math:: B(K, y) = \sqrt{\frac{2\, y^\top (K + \lambda I)^{-1} y}{N}}

    the data-dependent complexity term of Arora, Du, Hu, Li and Wang (ICML 2019, Thm 5.1) for a
    two-layer ReLU network trained by gradient descent; here it is used as a complexity measure of
    any kernel. It scales as :math:`c^{-1/2}` under :math:`K \to cK`; compare topologies with
    :func:`kernel_complexity`, which is scale-free.

    Examples
    --------
    >>> import numpy as np
    >>> result = generalization_bound(2.0 * np.eye(4), np.ones(4))
    >>> print(f"{result.bound:.15f}", result.condition_number)     # sqrt(2 * (4 / 2) / 4)
    1.000000000000000 1.0
    """
    return _quadratic_form(K, y, ridge, max_condition)


def kernel_complexity(K, y, *, ridge: float = 0.0, max_condition: float | None = None) -> float:
    r"""Trace-normalised kernel complexity :math:`y^\top K^{-1} y \cdot \mathrm{tr}(K) / N` (scale-free).

    Parameters
    ----------
    K, y, ridge, max_condition
        As in :func:`generalization_bound` (the ridge is added before both factors).

    Returns
    -------
    float

    Notes
    -----
    .. math:: C(K, y) = y^\top (K + \lambda I)^{-1} y \cdot \frac{\mathrm{tr}(K + \lambda I)}{N}

    Invariant under :math:`K \to cK` (with :math:`\lambda \to c\lambda`), so it compares topologies at
    equal density even when the normalisation ``"none"`` scales kernels by :math:`c^L`. For
    :math:`K = I` it equals :math:`\|y\|^2`.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, -1.0, 2.0])
    >>> K = np.diag([1.0, 2.0, 3.0])
    >>> print(f"{kernel_complexity(K, y):.12f} {kernel_complexity(5.0 * K, y):.12f}")  # (1 + 1/2 + 4/3) * 2
    5.666666666667 5.666666666667
    """
    # scale-free: 2**(2 y_exp - k_exp) quadratic * 2**k_exp trace / N, whatever the size of K's entries
    quadratic, trace, y_exp, _, _, _, n = _scaled_quadratic_form(K, y, ridge, max_condition)
    return _in_float_range("kernel_complexity", quadratic * trace / n, 2 * y_exp)


@dataclasses.dataclass(frozen=True)
class SpectralMetrics:
    r"""Summary statistics of a kernel spectrum used to compare topologies (docs/theory/paths_alignment.rst).

    Attributes
    ----------
    decay_exponent : float
        :math:`\alpha` of the least-squares fit :math:`\log \lambda_k \approx c - \alpha \log k`.
    effective_rank : float
        :math:`\mathrm{tr}(K) / \lambda_1`.
    spectral_gap : float
        :math:`\lambda_1 / \lambda_2` (``inf`` when :math:`\lambda_2 \le N \varepsilon \lambda_1`, the
        eigensolver's rounding floor).
    top5_energy : float
        :math:`\sum_{i \le 5} \lambda_i / \mathrm{tr}(K)`.
    fit_count : int
        Number of leading eigenvalues in the decay fit.
    """

    decay_exponent: float
    effective_rank: float
    spectral_gap: float
    top5_energy: float
    fit_count: int


def spectral_metrics(K, *, fit_count: int | None = None) -> SpectralMetrics:
    r"""Power-law decay exponent, effective rank, spectral gap and top-5 energy of a Gram matrix.

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric positive semi-definite Gram matrix with a positive largest eigenvalue.
    fit_count : int, optional
        Fit the decay on :math:`\lambda_1, \dots, \lambda_{\text{fit\_count}}`. Default: every
        eigenvalue at least :math:`\sqrt{\varepsilon}\,\lambda_1` (about :math:`1.5 \times 10^{-8}\lambda_1`),
        well above the rounding floor :math:`N \varepsilon \lambda_1` of the eigensolver.

    Returns
    -------
    SpectralMetrics

    Notes
    -----
    All four metrics are invariant under :math:`K \to cK`, :math:`c > 0`; in particular constant
    graphons under the normalisation ``"none"`` (which scale the kernel by :math:`c^L`) leave them
    unchanged. The decay exponent is the negative slope of the least-squares line through
    :math:`(\log k, \log \lambda_k)`.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.diag(1.0 / np.arange(1, 21) ** 2)
    >>> metrics = spectral_metrics(K)
    >>> round(metrics.decay_exponent, 10), round(metrics.spectral_gap, 10)
    (2.0, 4.0)
    """
    _check_kernel_memory("spectral_metrics", "K", K, 4)
    K = _unit_scale(_as_kernel("K", K))  # scale-free metrics: a trace of entries near 1e308 must not overflow
    values = kernel_spectrum(K)[0]
    largest = values[0]
    if not largest > 0:
        raise ValueError(f"K must have a positive largest eigenvalue, got {largest!r}")
    if not np.trace(K) > 0:
        # only an indefinite K gets here (a PSD one has trace >= largest eigenvalue > 0): the effective
        # rank and top-5 energy divide by the trace
        raise ValueError(f"K must be a positive semi-definite Gram matrix; its trace is "
                         f"{float(np.trace(K) / largest):.3g} times its largest eigenvalue")
    if fit_count is None:
        fit_count = int(np.sum(values >= np.sqrt(_EPS) * largest))
    else:
        fit_count = check_positive_int("fit_count", fit_count, minimum=2)
        if fit_count > values.size or values[fit_count - 1] <= 0:
            raise ValueError(f"fit_count must select positive eigenvalues; there are "
                             f"{int(np.sum(values > 0))} positive ones, got {fit_count}")
    ranks = np.arange(1, fit_count + 1)
    decay = -np.polyfit(np.log(ranks), np.log(values[:fit_count]), 1)[0] if fit_count >= 2 else np.nan
    trace = float(np.trace(K))
    second = values[1] if values.size > 1 else 0.0
    rounding = values.size * _EPS * largest  # eigensolver error: a smaller lambda_2 is zero
    return SpectralMetrics(decay_exponent=float(decay), effective_rank=trace / float(largest),
                           spectral_gap=float(largest / second) if second > rounding else np.inf,
                           top5_energy=float(values[:5].sum() / trace), fit_count=fit_count)
