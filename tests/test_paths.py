"""Path densities and path counts (docs/theory/paths_alignment.rst): closed forms, brute force, convergence, the linear identity."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphon_ops as go
from graphon_ops import Graphon
from graphon_ops.paths import input_path_mass, path_counts, path_density
from graphon_ops.sampling import sample_mask

from reference_paths import enumerate_paths, step_composition, step_value
from strategies import step_graphon_data, unit_floats

EPS = np.finfo(float).eps


def bernoulli_mask(W, n_out, n_in, rng):
    """W-random mask on grid latent positions (i - 1/2)/n (docs/theory/graphons.rst)."""
    return sample_mask(W, n_out, n_in, seed=rng, positions="grid").mask


# ------------------------------------------------------------------ closed forms
@given(st.lists(unit_floats, min_size=1, max_size=6))
def test_constant_graphons_multiply(constants):
    # P = prod c_l everywhere; the composed kernel is a weighted sum of products with weights summing
    # to 1 per layer: relative rounding of at most ~2 eps per layer
    P = path_density([Graphon.constant(c) for c in constants], go.gauss_legendre(3))
    expected = math.prod(constants)
    assert np.allclose(P.kernel, expected, rtol=4 * len(constants) * EPS, atol=1e-300)
    assert np.allclose(input_path_mass([Graphon.constant(c) for c in constants], 5), expected,
                       rtol=4 * len(constants) * EPS, atol=1e-300)


def test_product_graphons_compose_to_rank_one():
    # W_l = f_l(u) g_l(v) with polynomials: P(u, v) = f_3(u) <g_3, f_2> <g_2, f_1> g_1(v). The inner
    # products are exact in sympy; Gauss-Legendre with 4 nodes integrates the degree <= 4 products
    # exactly, so only rounding remains.
    t = sp.Symbol("t")
    f = [t, 1 - t**2, (1 + t) / 2]
    g = [1 - t, t**2, sp.Rational(1, 2) + t / 2]
    graphons = [Graphon.product(sp.lambdify(t, fl, "numpy"), sp.lambdify(t, gl, "numpy")) for fl, gl in zip(f, g)]
    inner = [sp.integrate(g[l + 1] * f[l], (t, 0, 1)) for l in range(2)]
    rule = go.gauss_legendre(4)
    P = path_density(graphons, rule)
    oracle = sp.lambdify((sp.Symbol("u"), sp.Symbol("v")),
                         f[2].subs(t, sp.Symbol("u")) * inner[0] * inner[1] * g[0].subs(t, sp.Symbol("v")))
    expected = oracle(rule.nodes[:, None], rule.nodes[None, :])
    assert np.allclose(P.kernel, expected, rtol=0, atol=16 * EPS)
    assert np.linalg.matrix_rank(P.kernel, tol=1e-12) == 1
    # input path mass: int f_3 * inner products * g_1(v_j) at v_j = (j - 1/2)/d
    d = 7
    mass = float(sp.integrate(f[2], (t, 0, 1)) * inner[0] * inner[1])
    v = (np.arange(d) + 0.5) / d
    assert np.allclose(input_path_mass(graphons, d, rule=rule), mass * (1 - v), rtol=0, atol=16 * EPS)


@given(step_graphon_data(max_blocks=4), step_graphon_data(max_blocks=4), step_graphon_data(max_blocks=4))
def test_step_graphons_match_interval_overlaps(first, second, third):
    # different breakpoints in every layer: the default rule (midpoints on the union of breakpoints)
    # must be exact; the oracle sums products over interval overlaps. Rounding: a few eps per term.
    graphons = [Graphon.step(*data) for data in (first, second, third)]
    upper = step_composition(third, step_composition(second, first))
    P = path_density(graphons)
    x, y = P.row_rule.nodes, P.col_rule.nodes
    expected = np.array([[step_value(*upper, u, v) for v in y] for u in x])
    assert np.allclose(P.kernel, expected, rtol=0, atol=64 * EPS)
    # the row and column grids are the union breakpoints of the outer layers, one node per piece
    assert np.array_equal(P.row_rule.breakpoints, graphons[2].row_breaks)
    assert np.array_equal(P.col_rule.breakpoints, graphons[0].col_breaks)
    # input path mass at v_j = (j - 1/2)/d against the oracle's column integral
    d = 6
    v = (np.arange(d) + 0.5) / d
    values, rows, cols = upper
    expected_mass = [sum(values[i, k] * (rows[i + 1] - rows[i]) for i in range(values.shape[0]))
                     for k in [min(int(np.searchsorted(cols, vj, side="right")) - 1, len(cols) - 2) for vj in v]]
    assert np.allclose(input_path_mass(graphons, d), expected_mass, rtol=0, atol=64 * EPS)


def test_step_example_by_hand():
    # W_1 = identity blocks split at 1/2, W_2 = [1, 0] split at 1/3: P(u, v) = |[0,1/3) cap piece(v)|
    W1 = Graphon.step([[1.0, 0.0], [0.0, 1.0]])
    W2 = Graphon.step([[1.0, 0.0]], col_breaks=[0, 1 / 3, 1])
    P = path_density([W1, W2])
    assert P.kernel.shape == (1, 2)
    assert np.allclose(P.kernel, [[1 / 3, 0.0]], rtol=0, atol=4 * EPS)
    assert np.allclose(input_path_mass([W1, W2], 4), [1 / 3, 1 / 3, 0, 0], rtol=0, atol=4 * EPS)


def test_single_layer_path_mass_is_in_degree():
    W = Graphon.from_callable(lambda u, v: u * (1 - v) ** 2)
    d = 5
    v = (np.arange(d) + 0.5) / d
    # int_0^1 u du = 1/2; default 32-point Gauss-Legendre integrates the linear function exactly
    assert np.allclose(input_path_mass([W], d), 0.5 * (1 - v) ** 2, rtol=0, atol=8 * EPS)


def test_default_rule_is_gauss_legendre_for_smooth_graphons():
    W = Graphon.from_callable(lambda u, v: u * v)
    P = path_density([W, W])
    assert P.row_rule.name == "composite:gauss_legendre"
    # P(u, v) = u v / 3 (int t^2 = 1/3), exact on 32 GL nodes
    x = P.row_rule.nodes
    assert np.allclose(P.kernel, np.outer(x, x) / 3, rtol=0, atol=16 * EPS)


def test_rules_per_latent_variable():
    W = Graphon.from_callable(lambda u, v: (u + v) / 2)
    rules = [go.midpoint(3), go.gauss_legendre(2), go.midpoint(5)]
    P = path_density([W, W], rules)
    assert P.row_rule == rules[2] and P.col_rule == rules[0]
    # P(u, w) = int (u + t)(t + w)/4 dt = (u w + (u + w)/2 + 1/3)/4: degree 2 in t, 2 GL nodes exact
    u, w = rules[2].nodes[:, None], rules[0].nodes[None, :]
    assert np.allclose(P.kernel, (u * w + (u + w) / 2 + 1 / 3) / 4, rtol=0, atol=8 * EPS)
    # a None entry takes the default rule of that variable (32-point GL here: exact as well)
    partial = path_density([W, W], [rules[0], None, rules[2]])
    assert partial.row_rule == rules[2] and partial.col_rule == rules[0]
    assert np.allclose(partial.kernel, P.kernel, rtol=0, atol=8 * EPS)


@given(hnp.arrays(np.float64, (3,), elements=st.floats(0.05, 1.0)), st.integers(1, 9))
def test_path_mass_integrates_to_path_density_mean(values, d):
    # with the one-block-per-coordinate column layout, mean_j pi_j = int int P (exact for steps)
    W1 = Graphon.step(np.vstack([values, values[::-1]]))  # 3 column blocks of d coordinates each
    W2 = Graphon.constant(0.5)
    mass = input_path_mass([W1, W2], 3 * d)
    assert abs(mass.mean() - 0.5 * W1.density()) < 16 * EPS
    assert np.all((mass >= 0) & (mass <= 1))


# ------------------------------------------------------------------ path counts
@settings(max_examples=25)
@given(st.data())
def test_path_counts_match_enumeration(data):
    depth = data.draw(st.integers(1, 3))
    widths = data.draw(st.lists(st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    masks = [data.draw(hnp.arrays(np.uint8, (widths[l + 1], widths[l]), elements=st.integers(0, 1)))
             for l in range(depth)]
    exact = enumerate_paths(masks)
    counts = path_counts(masks, normalize=False)
    assert np.array_equal(counts, exact.astype(float))  # integers below 2**53: exact
    possible = math.prod(widths[1:-1])
    assert np.allclose(path_counts(masks), exact.astype(float) / possible, rtol=2 * EPS, atol=0)
    with np.errstate(divide="ignore"):
        assert np.allclose(path_counts(masks, normalize=False, log=True), np.log(exact.astype(float)),
                           rtol=4 * EPS, atol=4 * EPS)


def test_deep_stack_does_not_overflow():
    # all-ones 8 x 8 masks: every entry of M^L...M^1 is 8^(L-1); with L = 400 that is 2^1197 > float max
    depth, n = 400, 8
    ones = [np.ones((n, n), dtype=np.uint8)] * depth
    assert np.array_equal(path_counts(ones), np.ones((n, n)))  # powers of two: exact
    log_counts = path_counts(ones, normalize=False, log=True)
    assert np.allclose(log_counts, (depth - 1) * math.log(n), rtol=4 * EPS)
    with pytest.raises(ValueError, match="beyond the float64 range"):
        path_counts(ones, normalize=False)
    # identity masks: one path, normalised 8^-(L-1) = 2^-1197, below the smallest subnormal; log is exact
    eye = [np.eye(n, dtype=np.uint8)] * depth
    log_normalised = path_counts(eye, log=True)
    assert np.allclose(np.diag(log_normalised), -(depth - 1) * math.log(n), rtol=4 * EPS)
    assert np.all(np.isneginf(log_normalised[~np.eye(n, dtype=bool)]))
    assert np.array_equal(path_counts(eye, normalize=False), np.eye(n))


def test_path_counts_mean_square_error_matches_bernoulli_variance():
    # normalised counts of W-random masks: (1/n1) sum_k M2_ik M1_kj has mean q = (1/n1) sum_k
    # W2(x_i, t_k) W1(t_k, y_j) (midpoint rule in the middle variable) and variance
    # (1/n1^2) sum_k q_k (1 - q_k). The mean-square error over all entries must match that variance
    # (the n2 * n0 entries are weakly dependent; with 400 x 400 entries the average is within 10%).
    W1 = Graphon.from_callable(lambda u, v: (1 + u * v) / 2)
    W2 = Graphon.from_callable(lambda u, v: 0.8 * (1 - u) * (0.5 + v) / 1.5 + 0.1)
    rng = np.random.default_rng(3)
    n = 400
    M1, M2 = bernoulli_mask(W1, n, n, rng), bernoulli_mask(W2, n, n, rng)
    grid = go.midpoint(n)
    middle = path_density([W1, W2], [grid, grid, grid]).kernel
    A, B = W2.on_grid(grid.nodes, grid.nodes), W1.on_grid(grid.nodes, grid.nodes)
    variance = (A @ B - (A**2) @ (B**2)) / n**2  # sum_k q_k (1 - q_k) with q_k = A_ik B_kj
    mse = np.mean((path_counts([M1, M2]) - middle) ** 2)
    assert 0.9 < mse / variance.mean() < 1.1
    # and the midpoint rule differs from the exact density by at most max|d^2/dt^2| / (24 n^2)
    exact = path_density([W1, W2], [grid, go.gauss_legendre(8), grid]).kernel
    assert np.abs(middle - exact).max() < 1.0 / (24 * n**2)


@settings(max_examples=10)
@given(step_graphon_data(max_blocks=3), step_graphon_data(max_blocks=3), st.integers(0, 2**32 - 1))
def test_path_counts_converge_to_path_density(first, second, seed):
    # Hoeffding over the n1 independent terms of each entry, union bound over the n^2 entries at
    # failure probability 1e-9; the midpoint sum over the middle grid differs from the integral by at
    # most (number of interior middle breakpoints) / n1 (one grid cell per break, values in [0, 1]).
    W1, W2 = Graphon.step(*first), Graphon.step(*second)
    n = 300
    rng = np.random.default_rng(seed)
    counts = path_counts([bernoulli_mask(W1, n, n, rng), bernoulli_mask(W2, n, n, rng)])
    grid = go.midpoint(n)
    exact = path_density([W1, W2], [grid, W1.default_rule("row"), grid]).kernel
    middle_breaks = np.union1d(W1.row_breaks, W2.col_breaks).size - 2
    bound = math.sqrt(math.log(2 * n * n / 1e-9) / (2 * n)) + middle_breaks / n
    assert np.abs(counts - exact).max() < bound


# ------------------------------------------------------------------ the linear identity (docs/theory/paths_alignment.rst)
@settings(max_examples=15)
@given(step_graphon_data(max_blocks=3), step_graphon_data(max_blocks=3),
       hnp.arrays(np.float64, (4, 5), elements=st.floats(-2, 2)), st.floats(0.5, 2.0))
def test_identity_activation_kernels_are_path_mass_inner_products(first, second, X, sigma_w):
    # identity activation, zero bias, normalisation "none", L hidden layers: NNGP = sigma_w^(2(L+1))
    # (1/d) sum_j pi_j x_j x'_j and NTK = (L + 1) NNGP (docs/theory/paths_alignment.rst). Step graphons
    # are integrated exactly by both sides, so only rounding remains.
    from graphon_ops.ntk import graphon_ntk

    graphons = [Graphon.step(*first), Graphon.step(*second)]
    L, d = len(graphons), X.shape[1]
    mass = input_path_mass(graphons, d)
    expected = sigma_w ** (2 * (L + 1)) * (X * mass) @ X.T / d
    result = graphon_ntk(X, graphons, activation="identity", sigma_w=sigma_w, sigma_b=0.0,
                         first_layer="mean-field", normalization="none")
    scale = max(np.abs(expected).max(), 1.0)
    assert np.allclose(result.nngp, expected, rtol=0, atol=1e-12 * scale)
    assert np.allclose(result.ntk, (L + 1) * expected, rtol=0, atol=1e-12 * scale)
    # with the identity, F is linear: the pattern-averaged first layer gives the same kernels
    averaged = graphon_ntk(X, graphons, activation="identity", sigma_w=sigma_w, sigma_b=0.0,
                           first_layer="patterns", normalization="none")
    assert np.allclose(averaged.nngp, expected, rtol=0, atol=1e-12 * scale)
    # "density" divides layer l by its density rho_l; the first layer's rho_1 is the mean keep
    # probability over the input coordinates, mean_j int W_1(u, v_j) du
    densities = [input_path_mass(graphons[:1], d).mean()] + [W.density() for W in graphons[1:]]
    if min(densities) > 0:
        rescaled = graphon_ntk(X, graphons, activation="identity", sigma_w=sigma_w, sigma_b=0.0,
                               first_layer="mean-field", normalization="density")
        expected_density = expected / math.prod(densities)
        scale = max(np.abs(expected_density).max(), 1.0)
        assert np.allclose(rescaled.nngp, expected_density, rtol=0, atol=1e-12 * scale)
        assert np.allclose(rescaled.ntk, (L + 1) * expected_density, rtol=0, atol=1e-12 * scale)


# ------------------------------------------------------------------ bad input
def test_bad_input():
    W = Graphon.constant(0.5)
    with pytest.raises(ValueError, match="graphons"):
        path_density([])
    with pytest.raises(ValueError, match="graphons"):
        path_density(W)
    with pytest.raises(ValueError, match="rule"):
        path_density([W, W], [go.midpoint(2)] * 2)
    with pytest.raises(ValueError, match="rule"):
        path_density([W], "gauss")
    with pytest.raises(ValueError, match="d must be"):
        input_path_mass([W], 0)
    with pytest.raises(ValueError, match="rule"):
        input_path_mass([W, W], 3, rule=[go.midpoint(2)] * 3)
    with pytest.raises(ValueError, match="masks"):
        path_counts([])
    with pytest.raises(ValueError, match="masks"):
        path_counts(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"masks\[1\] must have 3 columns"):
        path_counts([np.ones((3, 2)), np.ones((2, 2))])
    with pytest.raises(ValueError, match=r"masks\[0\] must contain only 0 and 1"):
        path_counts([np.full((2, 2), 0.5)])
    with pytest.raises(ValueError, match=r"masks\[0\]"):
        path_counts([np.array([[1.0, np.nan]])])
    with pytest.raises(ValueError, match="values"):
        path_density([[[0.5, np.inf]]])
