"""Factorised Saliency Model limits, factor extraction, sorting-and-smoothing, width sweeps."""

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from graphon_ops.graphon import Graphon
from graphon_ops.pruning import (MLP, estimate_graphon, factorise, limit_graphon, prune, quantile_function,
                                 saliency)


# ---------------------------------------------------------------- limit_graphon
def test_random_and_magnitude_limits_are_constant():
    W = limit_graphon("random", 0.3)
    assert W.kind == "constant" and W.density() == 0.3 and abs(W.metadata["tau"] - 0.7) < 1e-15
    W = limit_graphon("magnitude", 0.3, weight_scale=0.5)
    assert W.kind == "constant" and W.density() == 0.3
    # closed form sqrt(2) sigma erfc^{-1}(rho), and P(|N(0, sigma^2)| > tau) = rho at it
    tau = W.metadata["tau"]
    assert abs(tau - np.sqrt(2) * 0.5 * scipy.special.erfcinv(0.3)) < 1e-15
    assert abs(scipy.special.erfc(tau / (np.sqrt(2) * 0.5)) - 0.3) < 1e-14


def test_magnitude_threshold_with_scipy_law_matches_closed_form():
    # brentq on the survival function of scipy's normal: same root to the solver's rtol (1e-15 * tau)
    tau = limit_graphon("magnitude", 0.15, weight_law=scipy.stats.norm(scale=2.0)).metadata["tau"]
    assert abs(tau - np.sqrt(2) * 2.0 * scipy.special.erfcinv(0.15)) < 1e-12


def test_unit_factors_reduce_to_magnitude():
    W = limit_graphon("factorised", 0.2, row_factor=np.ones(5), col_factor=np.ones(3))
    assert W.kind == "step" and W.values.shape == (5, 3)
    np.testing.assert_allclose(W.values, 0.2, rtol=1e-13)  # brentq rtol 1e-15 on tau, erfc well conditioned
    assert abs(W.metadata["tau"] - limit_graphon("magnitude", 0.2).metadata["tau"]) < 1e-13


def test_two_point_row_factor_closed_form():
    # Q_a = 0 on [0, 1/2), 1 on [1/2, 1]; Q_b = 1: rho = erfc(tau / sqrt 2) / 2, so tau = sqrt 2 erfcinv(2 rho)
    W = limit_graphon("snip", 0.3, row_factor=[0.0, 1.0], col_factor=[1.0])
    assert abs(W.metadata["tau"] - np.sqrt(2) * scipy.special.erfcinv(0.6)) < 1e-13
    assert W.metadata["positive_mass"] == 0.5
    np.testing.assert_allclose(W.values[:, 0], [0.0, 0.6], atol=1e-13)


def test_callable_factor_density_by_independent_quadrature():
    # Q_a(u) = u, Q_b = 1: rho(tau) = int_0^1 erfc(tau / (sqrt 2 u)) du, integrated by adaptive quad
    W = limit_graphon("snip", 0.25, row_factor=lambda u: u, col_factor=lambda v: np.ones_like(v))
    tau = W.metadata["tau"]
    value, error = scipy.integrate.quad(lambda u: scipy.special.erfc(tau / (np.sqrt(2) * u)), 0, 1, epsabs=1e-13)
    # the 64-node Gauss-Legendre rule that solved tau integrates this smooth-at-0 integrand to ~1e-9
    assert abs(value - 0.25) < 1e-8
    assert W.kind == "callable" and abs(W.density() - 0.25) < 1e-6  # default 32-node rule of the graphon
    assert W.metadata["density_residual"] < 1e-12


def test_unbounded_quantile_functions_at_the_corners():
    # Q_a(1) = inf, Q_b(0) = 0: W is defined on the closed square (0 against a zero factor, 1 at an infinite
    # product), so evaluators that touch the corners get values in [0, 1]
    W = limit_graphon("snip", 0.2, row_factor=lambda u: scipy.special.ndtri(np.clip(u, 0.5, 1.0)),
                      col_factor=lambda v: scipy.special.ndtri((1 + v) / 2))
    values = W.on_grid([0.0, 0.5, 1.0], [0.0, 0.5, 1.0])
    assert values[2, 2] == 1.0 and values[2, 0] == 0.0 and values[0, 2] == 0.0
    assert 0.0 < values[1 + 1, 1] <= 1.0


def test_out_degree_increases_with_row_factor():
    W = limit_graphon("snip", 0.2, row_factor=lambda u: u, col_factor=lambda v: 1 + v)
    degrees = W.out_degree(np.linspace(0.05, 0.95, 10))
    assert np.all(np.diff(degrees) > 0)


def test_density_at_or_above_positive_mass():
    with pytest.raises(ValueError, match="lower-order"):
        limit_graphon("snip", 0.5, row_factor=[0.0, 1.0], col_factor=[1.0])
    with pytest.raises(ValueError, match="lower-order"):
        limit_graphon("snip", 0.8, row_factor=[0.0, 1.0], col_factor=[1.0])
    W = limit_graphon("snip", 1.0, row_factor=[1.0, 2.0], col_factor=[3.0])
    assert W.metadata["tau"] == 0.0 and np.all(W.values == 1.0)


def test_quantile_function():
    Q = quantile_function([4.0, 1.0, 3.0, 2.0])
    np.testing.assert_array_equal(Q(np.array([0.0, 0.25, 0.26, 0.5, 0.99, 1.0])), [1, 1, 2, 2, 4, 4])


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="grasp", density=0.1, row_factor=[1.0], col_factor=[1.0]), "method"),
    (dict(method="obd", density=0.1), "method"),
    (dict(method="random", density=0.0), "density"),
    (dict(method="magnitude", density=1.2), "density"),
    (dict(method="random", density=0.1, row_factor=[1.0]), "factors"),
    (dict(method="snip", density=0.1, row_factor=[1.0]), "row_factor and col_factor"),
    (dict(method="snip", density=0.1, row_factor=[-1.0, 1.0], col_factor=[1.0]), "row_factor"),
    (dict(method="snip", density=0.1, row_factor=lambda u: 1 - u, col_factor=[1.0]), "non-decreasing"),
    (dict(method="snip", density=0.1, row_factor=[1.0], col_factor=np.ones((2, 2))), "col_factor"),
    (dict(method="magnitude", density=0.1, weight_law="laplace"), "weight_law"),
    (dict(method="magnitude", density=0.1, weight_scale=0.0), "weight_scale"),
])
def test_limit_graphon_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        limit_graphon(**kwargs)


# ---------------------------------------------------------------- factorise
@given(st.integers(2, 8), st.integers(2, 8), st.integers(0, 2**16))
def test_factorise_recovers_exact_fsm(n_out, n_in, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 2.0, n_out), rng.uniform(0.5, 2.0, n_in)
    theta = rng.standard_normal((n_out, n_in))
    fit = factorise(np.abs(theta) * np.outer(a, b), weights=theta)
    # one alternating sweep is exact for a fully positive matrix; rounding of logs ~1e-15
    assert fit.residual < 1e-12
    np.testing.assert_allclose(np.outer(fit.row_factors, fit.col_factors), np.outer(a, b), rtol=1e-12)
    np.testing.assert_array_equal(fit.row_order, np.argsort(a))
    np.testing.assert_allclose(np.sort(fit.row_positions), (np.arange(n_out) + 0.5) / n_out)


def test_factorise_zero_rows_and_residual():
    theta = np.random.default_rng(1).standard_normal((4, 5))
    scores = np.abs(theta) * np.outer([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 1.0, 3.0, 1.0])
    fit = factorise(scores, weights=theta)
    assert fit.row_factors[0] == 0.0 and fit.row_order[0] == 0 and fit.residual < 1e-12
    # without weights, log|theta| stays in the residual; an anti-diagonal pattern is far from rank one
    assert 0 < factorise(scores).residual < 1
    assert factorise(np.exp(4 * np.eye(4))).residual > 0.5
    with pytest.raises(ValueError, match="weights"):
        factorise(scores, weights=np.ones((5, 4)))
    with pytest.raises(ValueError, match="scores"):
        factorise(np.ones(3))


# ---------------------------------------------------------------- estimate_graphon
def test_estimate_graphon_block_means_brute_force():
    rng = np.random.default_rng(2)
    mask = (rng.random((7, 5)) < 0.4).astype(np.uint8)
    W = estimate_graphon(mask, blocks=(3, 2))
    rows = np.argsort(mask.sum(axis=1), kind="stable")
    cols = np.argsort(mask.sum(axis=0), kind="stable")
    ordered = mask[rows][:, cols]
    expected = [[ordered[0:3, 0:3].mean(), ordered[0:3, 3:5].mean()],
                [ordered[3:5, 0:3].mean(), ordered[3:5, 3:5].mean()],
                [ordered[5:7, 0:3].mean(), ordered[5:7, 3:5].mean()]]
    np.testing.assert_allclose(W.values, expected, rtol=1e-15)
    np.testing.assert_allclose(W.row_breaks, [0, 3 / 7, 5 / 7, 1])
    assert abs(W.density() - mask.mean()) < 1e-15  # block means preserve the density


def test_estimate_graphon_recovers_a_step_graphon():
    # W-random 400 x 400 mask of a 2-block graphon; block means of 200^2 Bernoulli entries: SE <= 0.0025
    rng = np.random.default_rng(3)
    P = np.array([[0.1, 0.6], [0.6, 0.9]])
    positions = (np.arange(400) + 0.5) / 400
    mask = (rng.random((400, 400)) < Graphon.step(P).on_grid(positions, positions)).astype(np.uint8)
    estimate = estimate_graphon(mask, blocks=2, row_order=np.arange(400), col_order=np.arange(400))
    np.testing.assert_allclose(estimate.values, P, atol=0.0125)  # 5 standard errors


def test_estimate_graphon_rejects_bad_input():
    with pytest.raises(ValueError, match="blocks"):
        estimate_graphon(np.ones((3, 3)), blocks=4)
    with pytest.raises(ValueError, match="blocks"):
        estimate_graphon(np.ones((3, 3)), blocks=0)
    with pytest.raises(ValueError, match="row_order"):
        estimate_graphon(np.ones((3, 3)), blocks=1, row_order=[0, 0, 1])
    with pytest.raises(ValueError, match="mask"):
        estimate_graphon(np.full((3, 3), 0.5), blocks=1)


# ---------------------------------------------------------------- masks against FSM predictions
def test_snip_single_example_degree_profile_matches_fsm():
    """First-layer SNIP mask of a one-example batch: column degrees follow the FSM in-degree d_in(v_j)."""
    rng = np.random.default_rng(4)
    n, d = 256, 64
    net = MLP([d, n, 1], seed=5)
    x = rng.standard_normal((1, d))
    scores = saliency(net, x, np.zeros(1), "snip")
    mask = prune(scores, 0.2, scope="layerwise", seed=0)[0]
    output, cache = net.forward(x)
    delta = net.backward(cache, output)[0][0]
    W = limit_graphon("snip", 0.2, row_factor=np.abs(delta), col_factor=np.abs(x[0]),
                      weight_scale=float(net.row_scales(1)[0]))
    # the exact-count threshold and the solved tau agree to O(n^{-1/2})
    kept_scores = scores[0][mask == 1]
    assert abs(kept_scores.min() / W.metadata["tau"] - 1) < 0.1
    col_order = np.argsort(np.abs(x[0]), kind="stable")
    predicted = W.in_degree((np.arange(d) + 0.5) / d)
    measured = mask[:, col_order].mean(axis=0)
    # each column degree is a mean of 256 Bernoullis (SD <= 0.031); 4 SD plus the threshold error
    assert np.abs(measured - predicted).max() < 0.15
    assert np.corrcoef(measured, predicted)[0, 1] > 0.95


# ---------------------------------------------------------------- width sweeps (need the cut norm)
def test_width_sweep_magnitude_and_snip_fall():
    pytest.importorskip("graphon_ops.cutnorm")
    from graphon_ops.pruning import width_sweep

    # Rate n^{-1/2} expected (docs/theory/cutnorm.rst); over 32..256 a single draw fluctuates by ~20% per point, so the
    # fitted slope is asked only to be clearly negative.
    magnitude = width_sweep("magnitude", widths=(32, 64, 128, 256), density=0.2, seed=0)
    assert magnitude.limit == "constant"
    assert magnitude.slope_upper < -0.25 and np.all(magnitude.lower <= magnitude.upper)
    # the Bernoulli fluctuation scale: upper bracket below a few n^{-1/2}
    assert magnitude.upper[-1] < 3 / np.sqrt(256)
    # Magnitude's exact-count threshold approaches sqrt(2) sigma erfc^{-1}(rho) (relative error O(n^{-1/2}))
    last = magnitude.points[-1]
    assert abs(last.threshold / last.tau - 1) < 0.05
    snip = width_sweep("snip", widths=(32, 64, 128, 256), density=0.2, seed=1)
    assert snip.limit == "population" and snip.slope_upper < -0.25
    assert all(p.residual < 1e-12 for p in snip.points)  # single-example SNIP is exactly factorised


def test_width_sweep_rejects_bad_input():
    pytest.importorskip("graphon_ops.cutnorm")
    from graphon_ops.pruning import width_sweep

    with pytest.raises(ValueError, match="method"):
        width_sweep("obd", widths=(16,))
    with pytest.raises(ValueError, match="population"):
        width_sweep("grasp", widths=(16,), limit="population")
    with pytest.raises(ValueError, match="layer"):
        width_sweep("snip", widths=(16,), layer=3)
    with pytest.raises(ValueError, match="limit"):
        width_sweep("grasp", widths=(16,), limit="measured")
