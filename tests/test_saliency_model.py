"""Factorised Saliency Model limits, factor extraction, sorting-and-smoothing, width sweeps."""

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphon_ops.graphon import Graphon
from graphon_ops.pruning import (MLP, LayerGraphons, estimate_graphon, estimate_layer_graphons, factorise,
                                 limit_graphon, prune, quantile_function, saliency)
from tests.reference_pruning import naive_block_means, truncated_second_moment


def normal_pdf(sigma):
    return lambda x: np.exp(-0.5 * (x / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


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


# ---------------------------------------------------------------- limit_graphon, moment="second"
def test_magnitude_weight_graphon_closed_form_and_quadrature():
    M = limit_graphon("magnitude", 0.2, moment="second")
    tau = np.sqrt(2) * scipy.special.erfcinv(0.2)  # 1.28155...
    value = M.values[0, 0]
    # closed form rho + sqrt(2/pi) tau exp(-tau^2/2): the same few erfc/exp evaluations in another
    # arrangement, so the two agree to rounding (~1e-16); 1e-10 is the required accuracy
    assert abs(value - (0.2 + np.sqrt(2 / np.pi) * tau * np.exp(-tau ** 2 / 2))) < 1e-10
    assert abs(value - 0.64982032) < 5e-9  # the 8-digit constant
    # independent oracle: 2 int_tau^inf x^2 phi(x) dx by adaptive quadrature (its error estimate is ~1e-14)
    oracle, error = truncated_second_moment(tau, normal_pdf(1.0))
    assert error < 1e-12 and abs(value - oracle) < 1e-10
    assert M.kind == "constant" and M.metadata["moment"] == "second"
    assert M.metadata["tau"] == limit_graphon("magnitude", 0.2).metadata["tau"]  # the density fixes tau


def test_weight_graphon_is_scale_free_and_random_keeps_rho():
    # only tau / sigma enters: tau = sqrt 2 sigma erfcinv(rho) scales exactly, so sigma = 3 gives the sigma = 1
    # value to rounding of tau / sigma (relative 1e-16, amplified by |dM/ds| s / M < 2)
    unit = limit_graphon("magnitude", 0.35, moment="second").values[0, 0]
    assert abs(limit_graphon("magnitude", 0.35, weight_scale=3.0, moment="second").values[0, 0] - unit) < 1e-14
    # random pruning selects on uniform scores independent of theta: M = W = rho exactly
    M = limit_graphon("random", 0.3, moment="second")
    assert M.values[0, 0] == 0.3 and M.metadata["moment"] == "second"


def test_first_moment_is_the_default():
    kwargs = dict(row_factor=[0.0, 0.5, 2.0], col_factor=[1.0, 3.0])
    default, first = limit_graphon("snip", 0.3, **kwargs), limit_graphon("snip", 0.3, moment="first", **kwargs)
    np.testing.assert_array_equal(default.values, first.values)
    assert default.metadata == first.metadata and first.metadata["moment"] == "first"
    grid = np.linspace(0, 1, 9)
    callable_kwargs = dict(row_factor=lambda u: u, col_factor=lambda v: 1 + v)
    np.testing.assert_array_equal(limit_graphon("snip", 0.3, **callable_kwargs).on_grid(grid, grid),
                                  limit_graphon("snip", 0.3, moment="first", **callable_kwargs).on_grid(grid, grid))


@pytest.mark.parametrize("method", ["snip", "grasp_magnitude", "synflow", "factorised"])
def test_fsm_weight_graphon_of_quantile_factors_against_quadrature(method):
    # Q_a(u) = u, Q_b(v) = 1 + v, sigma = 0.7: M(u, v) = E[theta^2 1{|theta| > t}] / sigma^2 with
    # t = tau / (u (1 + v)), integrated by adaptive quadrature of x^2 N(0, sigma^2)-pdf over both tails
    # (error estimate < 1e-12); the package evaluates the closed form (rounding ~1e-15)
    sigma = 0.7
    kwargs = dict(row_factor=lambda u: u, col_factor=lambda v: 1 + v, weight_scale=sigma)
    W = limit_graphon(method, 0.15, **kwargs)
    M = limit_graphon(method, 0.15, moment="second", **kwargs)
    assert M.kind == "callable" and M.metadata["tau"] == W.metadata["tau"]
    np.testing.assert_array_equal(M.row_breaks, W.row_breaks)
    np.testing.assert_array_equal(M.col_breaks, W.col_breaks)
    tau = M.metadata["tau"]
    for u, v in [(0.05, 0.2), (0.3, 0.9), (0.5, 0.5), (0.9, 0.05), (0.999, 0.999)]:
        oracle, error = truncated_second_moment(tau / (u * (1 + v)), normal_pdf(sigma), sigma ** 2)
        assert error < 1e-12
        assert abs(float(M(u, v)) - oracle) < 1e-11
        assert float(W(u, v)) <= float(M(u, v))


def test_fsm_weight_graphon_by_monte_carlo():
    # brute force: draw theta ~ N(0, 1) and average theta^2 1{|theta| > t} at t = tau / (Q_a(u) Q_b(v)).
    # Each term has variance <= E[theta^4] = 3, so the mean of n = 10^6 draws has SD <= sqrt(3 / n) = 0.0017;
    # 5 SD = 0.0087 (the same draws serve every point: the points are not independent, the bound holds for each)
    M = limit_graphon("synflow", 0.2, row_factor=lambda u: 0.5 + u, col_factor=lambda v: np.sqrt(v), moment="second")
    theta = np.random.default_rng(11).standard_normal(10 ** 6)
    for u, v in [(0.2, 0.3), (0.6, 0.6), (0.95, 0.9)]:
        t = M.metadata["tau"] / ((0.5 + u) * np.sqrt(v))
        assert abs(float(M(u, v)) - np.mean(theta ** 2 * (np.abs(theta) > t))) < 5 * np.sqrt(3 / 10 ** 6)


def test_fsm_weight_graphon_of_factor_samples():
    # exact step graphon, one block per neuron: entry (i, j) is S_2(tau / (a_(i) b_(j))) with the sorted samples;
    # a zero factor gives W = M = 0
    rows, cols = np.array([0.0, 2.0, 0.5, 1.0]), np.array([1.5, 0.2, 1.0])
    W = limit_graphon("snip", 0.3, row_factor=rows, col_factor=cols)
    M = limit_graphon("snip", 0.3, row_factor=rows, col_factor=cols, moment="second")
    assert M.kind == "step" and M.values.shape == (4, 3)
    np.testing.assert_array_equal(M.row_breaks, W.row_breaks)
    a, b = np.sort(rows), np.sort(cols)
    for i in range(4):
        for j in range(3):
            if a[i] == 0:
                assert W.values[i, j] == M.values[i, j] == 0.0
                continue
            oracle, error = truncated_second_moment(M.metadata["tau"] / (a[i] * b[j]), normal_pdf(1.0))
            assert error < 1e-12 and abs(M.values[i, j] - oracle) < 1e-11
    assert np.all(M.values >= W.values)


def test_weight_graphon_at_zero_and_infinite_factor_products():
    # Q_a(1) = inf and Q_b(0) = 0: M = 0 against a zero factor (W too), M = 1 where the product is infinite;
    # a product of positive factors that underflows to 0 is a zero product, not a NaN
    M = limit_graphon("snip", 0.2, row_factor=lambda u: scipy.special.ndtri(np.clip(u, 0.5, 1.0)),
                      col_factor=lambda v: scipy.special.ndtri((1 + v) / 2), moment="second")
    values = M.on_grid([0.0, 0.75, 1.0], [0.0, 0.5, 1.0])
    assert values[2, 2] == 1.0 and values[2, 0] == 0.0 and values[0, 2] == 0.0 and 0.0 < values[1, 1] < 1.0
    tiny = limit_graphon("snip", 0.2, row_factor=[1e-200, 1.0], col_factor=[1e-200, 1.0], moment="second")
    assert tiny.values[0, 0] == 0.0 and tiny.values[1, 1] > 0.0


@pytest.mark.parametrize("scale", [1e-30, 1e-150, 1e-268, 1e30])
def test_threshold_solve_at_extreme_factor_scales(scale):
    # one factor product c: W = erfc(tau / (sqrt 2 c)) = rho gives tau = sqrt 2 c erfcinv(rho) (brentq rtol 1e-15)
    M = limit_graphon("factorised", 0.5, row_factor=[1.0], col_factor=[scale], moment="second")
    assert abs(M.metadata["tau"] / (np.sqrt(2) * scale * scipy.special.erfcinv(0.5)) - 1) < 1e-14
    assert abs(M.values[0, 0] - limit_graphon("magnitude", 0.5, moment="second").values[0, 0]) < 1e-14


def laplace_weight_graphon(t, b):
    """E[theta^2 1{|theta| > t}] / E[theta^2] for Laplace(0, b): 2 int_t^inf x^2 e^{-x/b} / (2b) dx / (2b^2)."""
    return (t * t + 2 * b * t + 2 * b * b) * np.exp(-t / b) / (2 * b * b)


def test_weight_graphon_of_other_laws_closed_forms():
    # scipy's expect integrates each tail with quad at its default tolerances (1.49e-8 absolute and relative),
    # so M is accurate to ~3e-8 relative to E[theta^2]; tau comes from brentq (rtol 1e-15)
    b = 1.5
    M = limit_graphon("magnitude", 0.2, weight_law=scipy.stats.laplace(scale=b), moment="second")
    tau = -b * np.log(0.2)  # P(|theta| > tau) = exp(-tau / b) = rho
    assert abs(M.metadata["tau"] - tau) < 1e-12
    assert abs(M.values[0, 0] - laplace_weight_graphon(tau, b)) < 1e-7
    # Uniform(-a, a): P(|theta| > t) = 1 - t/a, E[theta^2 1{|theta| > t}] / E[theta^2] = 1 - (t/a)^3
    a = 2.0
    M = limit_graphon("magnitude", 0.3, weight_law=scipy.stats.uniform(-a, 2 * a), moment="second")
    assert abs(M.metadata["tau"] - 0.7 * a) < 1e-12
    assert abs(M.values[0, 0] - (1 - 0.7 ** 3)) < 1e-7
    # FSM with factor samples under the Laplace law, entry by entry
    rows, cols = np.array([0.5, 1.0, 3.0]), np.array([1.0, 2.0])
    M = limit_graphon("snip", 0.25, row_factor=rows, col_factor=cols, weight_law=scipy.stats.laplace(scale=b),
                      moment="second")
    expected = laplace_weight_graphon(M.metadata["tau"] / np.outer(rows, cols), b)
    np.testing.assert_allclose(M.values, expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("law", [scipy.stats.cauchy(), scipy.stats.t(2)])
def test_weight_graphon_needs_a_finite_second_moment(law):
    with pytest.raises(ValueError, match=r"weight_law has E\[theta\^2\] = (inf|nan)"):
        limit_graphon("magnitude", 0.2, weight_law=law, moment="second")
    assert limit_graphon("magnitude", 0.2, weight_law=law).values[0, 0] == 0.2  # W needs no moment


@pytest.mark.parametrize("moment", ["third", 2, None, "First"])
def test_limit_graphon_rejects_bad_moment(moment):
    with pytest.raises(ValueError, match="moment must be one of"):
        limit_graphon("magnitude", 0.2, moment=moment)


factor_samples = hnp.arrays(np.float64, st.integers(1, 6), elements=st.one_of(st.just(0.0), st.floats(1e-3, 5.0)))


@given(factor_samples, factor_samples, st.floats(0.01, 0.99), st.floats(0.1, 10.0))
def test_weight_graphon_between_connectivity_and_one(rows, cols, density, sigma):
    # 0 <= W <= M <= 1 for the normal law: M - W = sqrt(2/pi) s exp(-s^2/2) >= 0 (E[theta^2 | |theta| > t] >= 1)
    positive_mass = np.mean(rows > 0) * np.mean(cols > 0)
    assume(density < positive_mass)  # otherwise no FSM graphon has this density (tested above)
    W = limit_graphon("factorised", density, row_factor=rows, col_factor=cols, weight_scale=sigma)
    M = limit_graphon("factorised", density, row_factor=rows, col_factor=cols, weight_scale=sigma, moment="second")
    assert np.all(W.values >= 0) and np.all(M.values >= W.values) and np.all(M.values <= 1)
    zero = (np.sort(rows) == 0)[:, None] | (np.sort(cols) == 0)[None, :]
    assert np.all(M.values[zero] == 0) and np.all(W.values[zero] == 0)


laws = st.one_of(st.floats(0.2, 5.0).map(lambda b: scipy.stats.laplace(scale=b)),
                 st.floats(2.5, 30.0).map(scipy.stats.t),
                 st.floats(0.2, 5.0).map(lambda a: scipy.stats.uniform(-a, 2 * a)),
                 st.floats(0.2, 5.0).map(lambda s: scipy.stats.logistic(scale=s)))


@settings(max_examples=12)  # two scipy expect quadratures per example (~0.1 s)
@given(laws, st.floats(0.01, 0.99))
def test_weight_graphon_at_least_connectivity_for_other_laws(law, density):
    # E[theta^2 | |theta| > t] increases with t from E[theta^2] (at t = 0) for every law, so M >= W = rho; the
    # quadrature is accurate to ~3e-8 (quad's default tolerances, relative to E[theta^2])
    M = limit_graphon("magnitude", density, weight_law=law, moment="second").values[0, 0]
    assert density - 3e-8 <= M <= 1.0


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


# ---------------------------------------------------------------- estimate_layer_graphons
MASK = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]])
OMEGA = np.array([[2.0, 9.0, -1.0], [5.0, 7.0, 0.5], [1.0, -1.5, 0.5], [4.0, 0.5, 6.0]])


def test_layer_graphons_hand_computed_block_means():
    # (m * omega)^2 = [[4, 0, 1], [0, 0, 0.25], [1, 2.25, 0.25], [0, 0.25, 0]]: the pruned 9, 7, 5, 4, 6 drop out.
    # Given orders, blocks (2, 2): rows {0, 1}, {2, 3}; columns {0, 1}, {2}
    layer = estimate_layer_graphons(MASK, OMEGA, blocks=(2, 2), row_order=[0, 1, 2, 3], col_order=[0, 1, 2])
    assert isinstance(layer, LayerGraphons)
    np.testing.assert_array_equal(layer.connectivity.values, [[1 / 4, 2 / 2], [3 / 4, 1 / 2]])
    np.testing.assert_array_equal(layer.weights.values, [[4 / 4, 1.25 / 2], [3.5 / 4, 0.25 / 2]])
    for graphon in (layer.connectivity, layer.weights):
        np.testing.assert_allclose(graphon.row_breaks, [0, 1 / 2, 1], rtol=0, atol=1e-16)
        np.testing.assert_allclose(graphon.col_breaks, [0, 2 / 3, 1], rtol=0, atol=1e-16)
    assert layer.weights.metadata["clipped_blocks"] == 0


def test_layer_graphons_default_degree_order_and_clipping():
    # degree order: rows (degrees 2, 1, 3, 1) -> [1, 3, 0, 2], columns (2, 2, 3) -> [0, 1, 2]; groups rows {1, 3},
    # {0, 2}, columns {0, 1}, {2}. Block (rows {0, 2}, columns {0, 1}) of (m * omega)^2 averages
    # (4 + 0 + 1 + 2.25) / 4 = 1.8125 > 1: clipped to 1 and recorded
    layer = estimate_layer_graphons(MASK, OMEGA, blocks=2)
    np.testing.assert_array_equal(layer.connectivity.values, [[1 / 4, 1 / 2], [3 / 4, 2 / 2]])
    np.testing.assert_array_equal(layer.weights.values, [[0.25 / 4, 0.25 / 2], [1.0, 1.25 / 2]])
    assert layer.weights.metadata["clipped_blocks"] == 1 and layer.weights.metadata["largest_block_mean"] == 1.8125
    # the connectivity is estimate_graphon's estimate of the mask, value for value
    np.testing.assert_array_equal(layer.connectivity.values, estimate_graphon(MASK, blocks=2).values)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2 ** 16), st.booleans())
def test_layer_graphons_match_loop_block_means(n_out, n_in, seed, ordered):
    rng = np.random.default_rng(seed)
    mask = (rng.random((n_out, n_in)) < 0.5).astype(np.uint8)
    omega = 0.5 * rng.standard_normal((n_out, n_in))
    blocks = (int(rng.integers(1, n_out + 1)), int(rng.integers(1, n_in + 1)))
    row_order, col_order = (rng.permutation(n_out), rng.permutation(n_in)) if ordered else (None, None)
    layer = estimate_layer_graphons(mask, omega, blocks, row_order=row_order, col_order=col_order)
    rows = np.argsort(mask.sum(axis=1), kind="stable") if row_order is None else row_order
    cols = np.argsort(mask.sum(axis=0), kind="stable") if col_order is None else col_order
    # the loop sums in another order: rounding ~1e-16 per term of at most 81
    np.testing.assert_allclose(layer.connectivity.values, naive_block_means(mask, rows, cols, *blocks), atol=1e-14)
    np.testing.assert_allclose(layer.weights.values,
                               np.minimum(naive_block_means(mask * omega ** 2, rows, cols, *blocks), 1.0), atol=1e-14)
    np.testing.assert_array_equal(layer.weights.row_breaks, layer.connectivity.row_breaks)


def test_layer_graphons_of_a_magnitude_pruned_matrix_match_the_limit():
    """2000 x 2000 N(0, 1) weights, magnitude-pruned to rho = 0.2 (exact count); 4 x 4 blocks of 500 x 500 in
    the natural order (independent of the weights)."""
    rho, n, blocks = 0.2, 2000, 4
    omega = np.random.default_rng(7).standard_normal((n, n))
    mask = prune([np.abs(omega)], rho)[0]
    order = np.arange(n)
    layer = estimate_layer_graphons(mask, omega, blocks, row_order=order, col_order=order)
    M = limit_graphon("magnitude", rho, moment="second").values[0, 0]
    # Error analysis (CLT). For a fixed threshold t, X = omega^2 1{|omega| > t} has mean M(t) and
    #   E[X^2] = E[omega^4 1{|omega| > t}] = 2 (t^3 + 3t) phi(t) + 3 erfc(t / sqrt 2)   (by parts),
    # so a block mean of N_b = 500^2 terms has SD sqrt(Var X / N_b). The exact-count threshold t_n is the
    # (1 - rho) quantile of |omega| over N = n^2 entries: SD(t_n) = sqrt(rho (1 - rho) / N) / (2 phi(tau)), and
    # |dM/dt| = 2 t^2 phi(t), a shift of SD tau^2 sqrt(rho (1 - rho) / N). The SD of a sum is at most the sum of
    # the SDs; 5 of them (16 blocks: a false alarm has probability < 1e-5).
    tau = np.sqrt(2) * scipy.special.erfcinv(rho)
    phi = np.exp(-tau ** 2 / 2) / np.sqrt(2 * np.pi)
    variance = 2 * (tau ** 3 + 3 * tau) * phi + 3 * rho - M ** 2
    threshold_sd = tau ** 2 * np.sqrt(rho * (1 - rho) / n ** 2)
    tolerance = 5 * (np.sqrt(variance / (n / blocks) ** 2) + threshold_sd)  # Var X = 2.27: 0.0167
    assert np.abs(layer.weights.values - M).max() < tolerance
    # the connectivity: Bernoulli(rho) block means (the exact count only lowers their variance)
    assert np.abs(layer.connectivity.values - rho).max() < 5 * np.sqrt(rho * (1 - rho)) / (n / blocks)
    # the overall mean (N = 4e6 terms: tolerance 0.0054) rejects planted wrong answers: the limit at
    # rho = 0.21 (0.016 above, 2.5 %) and the fresh-weight value M = W = rho
    overall = layer.weights.values.mean()
    overall_tolerance = 5 * (np.sqrt(variance / n ** 2) + threshold_sd)
    assert abs(overall - M) < overall_tolerance
    assert abs(overall - limit_graphon("magnitude", 0.21, moment="second").values[0, 0]) > overall_tolerance
    assert abs(overall - rho) > overall_tolerance


def test_layer_graphons_reject_bad_input():
    with pytest.raises(ValueError, match=r"weights must have the mask's shape \(4, 3\), got \(3, 4\)"):
        estimate_layer_graphons(MASK, OMEGA.T)
    with pytest.raises(ValueError, match="weights must be finite"):
        estimate_layer_graphons(MASK, np.where(MASK == 1, OMEGA, np.nan), blocks=1)
    with pytest.raises(ValueError, match="weights must have 2 dimension"):
        estimate_layer_graphons(MASK, OMEGA.ravel())
    with pytest.raises(ValueError, match="mask must contain only 0 and 1"):
        estimate_layer_graphons(OMEGA, OMEGA)
    with pytest.raises(ValueError, match="blocks"):
        estimate_layer_graphons(MASK, OMEGA, blocks=5)
    with pytest.raises(ValueError, match="col_order"):
        estimate_layer_graphons(MASK, OMEGA, blocks=1, col_order=[0, 1, 1])


def test_block_estimates_refuse_beyond_the_memory_budget_before_averaging(monkeypatch):
    """A 3000 x 3000 mask in 3000 x 3000 blocks: the row-group sums and five arrays of 9e6 block means are
    about 0.45 GB, refused under a 64 MiB budget naming blocks, before any average is taken. A 10**6 x 10**6
    sparse mask (10**4 blocks) is refused before it is made dense."""
    import scipy.sparse

    import graphon_ops as go
    import graphon_ops.pruning.saliency_model as saliency_model

    monkeypatch.setattr(saliency_model, "_block_means", lambda *a, **k: pytest.fail("averaging started"))
    mask = np.zeros((3000, 3000), dtype=np.uint8)
    with go.options(memory_budget_bytes=2**26):
        with pytest.raises(ValueError, match=r"estimate_graphon with blocks=3000 on a 3000 x 3000 mask \(3000 x 3000 "
                                             r"block means.*would need about 429\.2 MiB"):
            estimate_graphon(mask, blocks=3000)
        with pytest.raises(ValueError, match=r"estimate_layer_graphons with blocks=\(3000, 3000\) on a 3000 x 3000 "
                                             r"mask .*1\.0 GiB"):
            estimate_layer_graphons(mask, np.zeros((3000, 3000)), blocks=(3000, 3000))
        huge = scipy.sparse.csr_matrix((10**6, 10**6), dtype=np.uint8)
        with pytest.raises(ValueError, match=r"mask \(a 1000000 x 1000000 sparse mask made dense\)"):
            estimate_graphon(huge, blocks=10**4)


def test_many_blocks_are_fast_and_exact():
    """10**6 blocks of one entry each: the estimate is the mask in degree order, entry for entry. The sums run
    over the rows once (the loop over blocks took about 25 s here; this takes well under a second)."""
    import time

    rng = np.random.default_rng(5)
    mask = (rng.random((1000, 1000)) < 0.3).astype(np.uint8)
    omega = rng.standard_normal((1000, 1000))
    start = time.perf_counter()
    W = estimate_graphon(mask, blocks=1000)
    layer = estimate_layer_graphons(mask, omega, blocks=1000)
    assert time.perf_counter() - start < 10.0
    rows = np.argsort(mask.sum(axis=1), kind="stable")
    cols = np.argsort(mask.sum(axis=0), kind="stable")
    np.testing.assert_array_equal(W.values, mask[np.ix_(rows, cols)])
    np.testing.assert_array_equal(layer.weights.values, np.minimum((mask * omega ** 2)[np.ix_(rows, cols)], 1.0))


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


def test_width_sweep_network_of_a_width_does_not_depend_on_the_other_widths():
    """Each width has its own random streams (network and batch; cut-norm solver): the point at width 64 is
    the same whether 32 or 16 came before it, though the solver draws a different amount at each."""
    pytest.importorskip("graphon_ops.cutnorm")
    from graphon_ops.pruning import width_sweep

    after_32, after_16 = (width_sweep("snip", widths=(first, 64), density=0.2, seed=5).points[1]
                          for first in (32, 16))
    assert (after_32.lower, after_32.upper, after_32.threshold) == (after_16.lower, after_16.upper,
                                                                   after_16.threshold)


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


def test_width_sweep_refuses_its_largest_point_before_the_first(monkeypatch):
    """widths (64, 10**6): the width-10**6 network has 2.5e11 weights (about 68 TiB at 300 bytes a weight), and a
    batch of 10**8 examples holds 10**8 x 305 float64 of inputs and buffers (227 GiB): both refused naming the
    point, before the first network is drawn. Under a 64 MiB budget, width 1024 (2.6e5 weights, 79 MB) is refused
    the same way."""
    import graphon_ops as go
    import graphon_ops.pruning.convergence as convergence
    from graphon_ops.pruning import width_sweep

    monkeypatch.setattr(convergence, "MLP", lambda *a, **k: pytest.fail("a network was drawn"))
    with go.options(memory_budget_bytes=2**30):
        with pytest.raises(ValueError, match=r"width_sweep at width 1000000 of widths \(batch_size 1;.*68\.2 TiB"):
            width_sweep("snip", widths=(64, 10**6))
        with pytest.raises(ValueError, match=r"width_sweep at width 32 of widths \(batch_size 100000000;.*227\.2 GiB"):
            width_sweep("snip", widths=(16, 32), batch_size=(1, 10**8))
    with go.options(memory_budget_bytes=2**26):
        with pytest.raises(ValueError, match=r"width_sweep at width 1024 of widths \(batch_size 8;"):
            width_sweep("grasp", widths=(16, 1024), batch_size=8)
