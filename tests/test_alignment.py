"""Kernel spectra, alignment, generalisation bound and spectral metrics (docs/theory/paths_alignment.rst)."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphon_ops as go
from graphon_ops.alignment import (generalization_bound, kernel_alignment, kernel_complexity,
                                   kernel_spectrum, spectral_alignment, spectral_metrics)

from reference_paths import alignment_by_definition

EPS = np.finfo(float).eps


def orthogonal(n, rng):
    """A random orthogonal matrix (QR of a Gaussian matrix)."""
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def known_kernel(eigenvalues, rng):
    """K = Q diag(lambda) Q^T with known spectrum and eigenvectors."""
    Q = orthogonal(len(eigenvalues), rng)
    K = (Q * eigenvalues) @ Q.T
    return (K + K.T) / 2, Q


small = st.integers(2, 8).flatmap(
    lambda n: st.tuples(hnp.arrays(np.float64, (n, n), elements=st.floats(-3, 3)),
                        hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3))))


# ------------------------------------------------------------------ spectra
def test_kernel_spectrum_recovers_known_spectrum(rng):
    lam = np.array([5.0, 3.0, 3.0 - 1e-3, 1.0, 0.5, 0.0])
    K, Q = known_kernel(lam[rng.permutation(6)], rng)
    values, vectors = kernel_spectrum(K)
    # backward-stable eigensolver: |error| <= ~N eps ||K||_2
    assert np.allclose(values, lam, rtol=0, atol=8 * 6 * EPS * 5)
    assert np.allclose(vectors.T @ vectors, np.eye(6), atol=16 * 6 * EPS)
    assert np.allclose(K @ vectors, vectors * values, atol=16 * 6 * EPS * 5)
    top, top_vectors = kernel_spectrum(K, 2)
    assert np.allclose(top, lam[:2], atol=8 * 6 * EPS * 5)
    assert top_vectors.shape == (6, 2)
    assert np.allclose(kernel_spectrum(K, integral_operator=True)[0], values / 6, rtol=0, atol=EPS * 5)


def test_integral_operator_spectrum_of_sampled_kernel():
    # min(x, x') on uniform samples: the Gram matrix / N has eigenvalues -> 1/((k - 1/2)^2 pi^2)
    # (docs/theory/graphons.rst); Monte-Carlo (Nystrom) error of the top eigenvalue ~ N^{-1/2}: with N = 2000 within 3%
    rng = np.random.default_rng(0)
    x = rng.random(2000)
    values = kernel_spectrum(np.minimum.outer(x, x), 3, integral_operator=True)[0]
    expected = 1 / ((np.arange(1, 4) - 0.5) ** 2 * np.pi**2)
    assert np.allclose(values, expected, rtol=0.03)


# ------------------------------------------------------------------ alignment
@given(small, st.booleans())
def test_alignment_matches_definition_and_is_bounded(data, centered):
    A, y = data
    K = A + A.T
    target = np.outer(y, y)
    reference_defined = np.linalg.norm(target) > 1e-6 and (not centered or np.ptp(y) > 1e-3)
    assume(reference_defined)
    value = kernel_alignment(K, y, centered=centered)
    assert -1.0 <= value <= 1.0
    H = np.eye(len(y)) - 1 / len(y) if centered else np.eye(len(y))
    if np.linalg.norm(H @ K @ H) > 1e-6:
        # both are quotients of Frobenius products; relative rounding ~ N^2 eps of the norms
        assert abs(value - alignment_by_definition(K, target, centered)) < 1e-10


@given(small, st.booleans())
def test_alignment_of_psd_kernels_is_in_unit_interval(data, centered):
    A, y = data
    assume(np.linalg.norm(y) >= 1e-6 and not (centered and np.ptp(y) < 1e-3))
    value = kernel_alignment(A @ A.T, y, centered=centered)
    assert 0.0 <= value <= 1.0


def test_alignment_of_a_kernel_with_its_target_is_one():
    y = np.array([1.0, -2.0, 0.5, 3.0])
    assert abs(kernel_alignment(np.outer(y, y), y) - 1.0) < 4 * EPS
    yc = y - y.mean()
    assert abs(kernel_alignment(np.outer(yc, yc), y, centered=True) - 1.0) < 4 * EPS


def test_label_matrix_and_kernel_targets():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=12)
    Y = np.eye(3)[labels]
    A = rng.standard_normal((12, 5))
    K = A @ A.T
    for centered in (False, True):
        expected = alignment_by_definition(K, Y @ Y.T, centered)
        assert abs(kernel_alignment(K, Y, centered=centered) - expected) < 1e-13
        assert abs(kernel_alignment(K, Y @ Y.T, centered=centered) - expected) < 1e-13
    K2 = K + np.eye(12)
    assert abs(kernel_alignment(K, K2) - kernel_alignment(K2, K)) < 4 * EPS
    assert abs(kernel_alignment(K, K) - 1.0) < 4 * EPS
    # N samples one-hot in N classes: Y = I is symmetric, so "auto" reads it as a kernel; say "labels"
    identity_labels = np.eye(12)
    assert abs(kernel_alignment(K, identity_labels, target_kind="labels")
               - alignment_by_definition(K, identity_labels @ identity_labels.T, False)) < 1e-13


@given(st.floats(-300, 300), st.floats(-300, 300))
def test_alignment_is_scale_free_down_to_tiny_and_huge_norms(log_kernel_scale, log_target_scale):
    # power-of-two prescaling: the result must not depend on the scale (up to a few eps), even where
    # squaring the entries would underflow or overflow
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 6))
    K, y = A @ A.T, rng.standard_normal(6)
    reference = kernel_alignment(K, y, centered=True)
    scaled = kernel_alignment(K * 10.0**log_kernel_scale, y * 10.0**log_target_scale, centered=True)
    assert abs(scaled - reference) < 16 * EPS


def test_degenerate_kernels_and_targets():
    y = np.array([1.0, 2.0, 3.0])
    # a constant kernel carries no information after centring: 0, not rounding noise
    assert kernel_alignment(np.full((3, 3), 0.7), y, centered=True) == 0.0
    assert kernel_alignment(np.zeros((3, 3)), y) == 0.0
    assert kernel_alignment(np.full((3, 3), 0.7), np.eye(3) + 1, centered=True) == 0.0
    with pytest.raises(ValueError, match="y must not be zero"):
        kernel_alignment(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="constant targets"):
        kernel_alignment(np.eye(3), np.full(3, 2.0), centered=True)


def test_spectral_alignment_closed_form(rng):
    lam = np.array([4.0, 2.0, 1.0, 0.5, 0.25])
    K, Q = known_kernel(lam, rng)
    a = np.array([0.0, 3.0, 0.0, 4.0, 0.0])
    C = spectral_alignment(K, Q @ a)
    # y = Q a: power along u_i is a_i^2 / |a|^2 (sign of eigenvectors irrelevant); eigenvalues well
    # separated, so eigenvectors are accurate to ~N eps / gap
    assert np.allclose(C, np.cumsum(a**2) / 25.0, rtol=0, atol=1e-13)
    assert np.allclose(spectral_alignment(K, Q @ a, k=2), [0.0, 9 / 25], atol=1e-13)
    # matrix target: sum of the columns' powers
    Y = np.column_stack([Q[:, 0], Q[:, 2] * 2])
    assert np.allclose(spectral_alignment(K, Y), [0.2, 0.2, 1, 1, 1], atol=1e-13)


@given(small)
def test_spectral_alignment_is_a_cumulative_distribution(data):
    A, y = data
    assume(np.linalg.norm(y) > 0)
    C = spectral_alignment(A + A.T, y)
    assert np.all(np.diff(C) >= -4 * EPS) and np.all((C >= 0) & (C <= 1))
    assert abs(C[-1] - 1.0) < 64 * EPS


# ------------------------------------------------------------------ bound and complexity
def test_generalization_bound_closed_form(rng):
    lam = np.array([3.0, 1.0, 0.5, 0.25])
    K, Q = known_kernel(lam, rng)
    a = np.array([1.0, -1.0, 2.0, 0.5])
    result = generalization_bound(K, Q @ a)
    quadratic = float(np.sum(a**2 / lam))
    # Cholesky solve: relative error ~ N eps kappa = 4 * 12 eps
    assert abs(result.quadratic_form - quadratic) < 64 * EPS * quadratic
    assert abs(result.bound - math.sqrt(2 * quadratic / 4)) < 64 * EPS
    assert abs(result.condition_number - 12.0) < 1e-12
    assert result.ridge == 0.0 and result.n == 4
    ridged = generalization_bound(K, Q @ a, ridge=0.5)
    assert abs(ridged.quadratic_form - np.sum(a**2 / (lam + 0.5))) < 1e-13
    assert abs(ridged.condition_number - 3.5 / 0.75) < 1e-12
    complexity = kernel_complexity(K, Q @ a)
    assert abs(complexity - quadratic * lam.sum() / 4) < 1e-12


def test_singular_kernel_is_refused_or_regularised():
    x = np.linspace(-1, 1, 10)
    K = np.outer(x, x) + np.outer(x**2, x**2)  # rank 2
    with pytest.raises(ValueError, match="numerically singular.*ridge"):
        generalization_bound(K, x)
    with pytest.raises(ValueError, match="numerically singular"):
        kernel_complexity(K, x)
    result = generalization_bound(K, x, ridge=1e-3)
    assert np.isfinite(result.bound) and result.ridge == 1e-3
    with pytest.raises(ValueError, match="numerically singular"):
        generalization_bound(np.diag([1.0, 1e-4]), [1.0, 1.0], max_condition=1e3)


@given(st.floats(-30, 30), st.integers(0, 2**32 - 1))
def test_complexity_is_scale_free_and_bound_scales(log_scale, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((6, 8))
    K, y = A @ A.T + 0.1 * np.eye(6), rng.standard_normal(6)
    c = 2.0**log_scale
    # relative rounding ~ N eps kappa; kappa <= ~ 1e3 here
    assert math.isclose(kernel_complexity(c * K, y), kernel_complexity(K, y), rel_tol=1e-10)
    assert math.isclose(generalization_bound(c * K, y).bound, generalization_bound(K, y).bound / math.sqrt(c),
                        rel_tol=1e-10)


def test_complexity_of_identity_is_squared_norm():
    y = np.array([1.0, 2.0, -2.0])
    assert abs(kernel_complexity(np.eye(3), y) - 9.0) < 8 * EPS
    Y = np.eye(3)[[0, 1, 1]]
    assert abs(kernel_complexity(np.eye(3), Y) - 3.0) < 8 * EPS


# ------------------------------------------------------------------ spectral metrics
def test_complexity_with_ridge_closed_form():
    """K = diag(1, 2, 3) + ridge r: y^T (K + rI)^-1 y tr(K + rI)/N written out by hand."""
    y = np.array([1.0, -1.0, 2.0])
    K = np.diag([1.0, 2.0, 3.0])
    r = 0.5
    expected = (1 / 1.5 + 1 / 2.5 + 4 / 3.5) * (1.5 + 2.5 + 3.5) / 3
    assert abs(kernel_complexity(K, y, ridge=r) - expected) < 8 * EPS * expected
    # the ridge enters both factors: scaling K and the ridge together leaves the complexity unchanged
    assert abs(kernel_complexity(7.0 * K, y, ridge=7.0 * r) - expected) < 16 * EPS * expected


def test_spectral_metrics_closed_form(rng):
    lam = 3.0 * np.arange(1, 31, dtype=float) ** -1.5
    K, _ = known_kernel(lam, rng)
    metrics = spectral_metrics(K)
    # exact power law: the fit recovers alpha to rounding of log(lambda) (~ N eps ||K|| / lambda_min)
    assert abs(metrics.decay_exponent - 1.5) < 1e-10
    assert abs(metrics.effective_rank - lam.sum() / 3.0) < 1e-12
    assert abs(metrics.spectral_gap - 2**1.5) < 1e-12
    assert abs(metrics.top5_energy - lam[:5].sum() / lam.sum()) < 1e-12
    assert metrics.fit_count == 30
    assert abs(spectral_metrics(K, fit_count=5).decay_exponent - 1.5) < 1e-10


def test_spectral_metrics_are_scale_invariant_and_handle_rank_one():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((20, 6))
    K = A @ A.T
    base, scaled = spectral_metrics(K), spectral_metrics(0.3**4 * K)  # a constant graphon under "none"
    for name in ("decay_exponent", "effective_rank", "spectral_gap", "top5_energy"):
        assert math.isclose(getattr(base, name), getattr(scaled, name), rel_tol=1e-10)
    assert base.fit_count == 6  # rank 6: the rest is rounding below sqrt(eps) lambda_1
    one = spectral_metrics(np.ones((4, 4)))
    assert one.spectral_gap == np.inf and abs(one.effective_rank - 1) < 8 * EPS and one.fit_count == 1
    assert math.isnan(one.decay_exponent)


def test_graphon_operator_spectrum_is_linked():
    # the graphon's own spectrum lives on GraphonOperator; the NTK spectrum here; for a Gram matrix of
    # the constant graphon on a midpoint grid, kernel_spectrum(K / m) equals the Nystrom eigenvalue
    op = go.discretize(go.Graphon.constant(0.4), go.midpoint(5))
    assert abs(kernel_spectrum(op.kernel, 1, integral_operator=True)[0][0] - op.eigenvalues(1)[0]) < 8 * EPS


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call", [
    lambda: kernel_spectrum(np.ones((2, 3))),
    lambda: kernel_spectrum(np.array([[1.0, 2.0], [0.0, 1.0]])),
    lambda: kernel_spectrum(np.array([[1.0, np.nan], [np.nan, 1.0]])),
    lambda: kernel_spectrum(np.eye(2), 0),
    lambda: kernel_alignment(np.eye(3), np.ones(4)),
    lambda: kernel_alignment(np.eye(3), np.array([1.0, np.inf, 0.0])),
    lambda: kernel_alignment(np.eye(3), np.ones(3), target_kind="matrix"),
    lambda: kernel_alignment(np.eye(3), np.eye(2) + 1, target_kind="kernel"),
    lambda: kernel_alignment(np.eye(3), np.ones((3, 3, 1))),
    lambda: spectral_alignment(np.eye(3), np.ones(2)),
    lambda: spectral_alignment(np.eye(3), np.zeros(3)),
    lambda: generalization_bound(np.eye(3), np.ones(2)),
    lambda: generalization_bound(np.eye(3), np.ones(3), ridge=-1.0),
    lambda: generalization_bound(np.eye(3), np.ones(3), ridge=np.nan),
    lambda: kernel_complexity(np.eye(3), np.ones(4)),
    lambda: spectral_metrics(np.zeros((3, 3))),
    lambda: spectral_metrics(np.eye(3), fit_count=1),
    lambda: spectral_metrics(np.diag([1.0, 0.0]), fit_count=2),
])
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_bad_input_messages():
    with pytest.raises(ValueError, match="y must have 3 rows"):
        kernel_alignment(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="K must be a square"):
        spectral_metrics(np.ones((2, 3)))
    with pytest.raises(ValueError, match="K must be symmetric"):
        generalization_bound(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2))
    with pytest.raises(ValueError, match="target must be a kernel of shape"):
        kernel_alignment(np.eye(3), np.eye(2), target_kind="kernel")


KERNEL_CALLS = {
    "kernel_spectrum": lambda K: kernel_spectrum(K),
    "kernel_alignment": lambda K: kernel_alignment(K, np.ones(K.shape[0])),
    "spectral_alignment": lambda K: spectral_alignment(K, np.ones(K.shape[0])),
    "generalization_bound": lambda K: generalization_bound(K, np.ones(K.shape[0])),
    "kernel_complexity": lambda K: kernel_complexity(K, np.ones(K.shape[0])),
    "spectral_metrics": lambda K: spectral_metrics(K),
}


@pytest.mark.parametrize("call", list(KERNEL_CALLS))
def test_kernel_copies_are_refused_before_they_are_made(call):
    """A 10**6 x 10**6 kernel that takes no memory (a broadcast view) would be copied three to five times at 8 TB
    each: refused under a 1 GiB budget naming K, before the float64 copy is attempted. The budget is the options'
    one: a 100 x 100 kernel (80 kB, about 3 to 4 copies held) is refused under 200 kB and computed under 1 MiB."""
    huge = np.broadcast_to(1.0, (10**6, 10**6))
    with go.options(memory_budget_bytes=2**30):
        with pytest.raises(ValueError, match=r"of K \(a 1000000 x 1000000 matrix; about \d float64 copies of it "
                                             r"are held\) would need about \d+\.\d TiB"):
            KERNEL_CALLS[call](huge)
    K = np.eye(100) + 0.5
    with go.options(memory_budget_bytes=200_000):
        with pytest.raises(ValueError, match=r"of K \(a 100 x 100 matrix"):
            KERNEL_CALLS[call](K)
    with go.options(memory_budget_bytes=2**20):
        KERNEL_CALLS[call](K)


def test_a_kernel_target_counts_both_kernels():
    """A kernel target holds about six copies (both kernels, scaled and centred): 480 kB for N = 100, refused
    under 400 kB naming target, while labels (three copies of K) pass."""
    K = np.eye(100) + 0.5
    with go.options(memory_budget_bytes=400_000):
        assert 0.0 < kernel_alignment(K, np.arange(100.0)) <= 1.0
        with pytest.raises(ValueError, match=r"kernel_alignment of target \(a 100 x 100 matrix; about 6 float64"):
            kernel_alignment(K, K, centered=True)
