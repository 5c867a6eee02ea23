"""Graphon-NTK with kept weights (weight graphons). Oracles: the brute-force backward-form reference of
tests/reference_ntk.py (separate connectivity and weight graphons), the closed two-layer recursion of
docs/theory/ntk.rst for magnitude pruning written out here, exact homogeneity of ReLU, and the
fresh-weight recursion (M = W)."""

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from graphon_ops import Graphon
from graphon_ops.ntk import ReadoutProfile, _hidden_rules, graphon_ntk

from reference_ntk import expectations, graphon_kernels
from strategies import step_graphon_data

# Rounding of a few layers of O(1) arithmetic, as in test_ntk.py.
ROUNDING = 1e-12
# ReLU's Fdot near correlation 1 is sqrt(eps)-accurate (arccos): see test_ntk.py.
ARCCOS_ROUNDING = 1e-7


def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def magnitude_second_moment(density):
    tau = np.sqrt(2.0) * scipy.special.erfcinv(density)
    return density + np.sqrt(2.0 / np.pi) * tau * np.exp(-tau ** 2 / 2.0)


#: A smooth first layer whose ratio M/W = 0.6 + 0.4 u depends on the node: (pattern, node) virtual nodes.
SMOOTH_FIRST_LAYER = (Graphon.from_callable(lambda u, v: 0.2 + 0.6 * u * v),
                      Graphon.from_callable(lambda u, v: (0.2 + 0.6 * u * v) * (0.6 + 0.4 * u)))


@pytest.fixture
def inputs(rng):
    return rng.standard_normal((6, 3))


def _kept_stack(rng):
    """Heterogeneous step connectivity graphons and weight graphons on the same blocks, with M = 0 where
    W = 0 and M in [0, 1] (M = W * E[theta^2 | kept] with the conditional second moment in [0.5, 1/max W])."""
    first = rng.random((2, 3))
    first[0, 1] = 0.0
    second = rng.random((3, 2))
    third = rng.random((2, 3))
    stack = [Graphon.step(first), Graphon.step(second, col_breaks=[0.3]), Graphon.step(third, row_breaks=[0.6])]
    moments = [Graphon.step(P * rng.uniform(0.5, 1.0, P.shape) / P.max(), **breaks)
               for P, breaks in ((first, {}), (second, {"col_breaks": [0.3]}), (third, {"row_breaks": [0.6]}))]
    return stack, moments


@pytest.mark.parametrize("normalization", ["none", "density", "degree"])
@pytest.mark.parametrize("first_layer", ["patterns", "mean-field"])
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_kept_weights_match_bruteforce(inputs, rng, normalization, first_layer, activation, backend):
    stack, moments = _kept_stack(rng)
    # a readout profile above 1 where the neurons' outgoing weights are large (mean 1.1 here)
    profile = ReadoutProfile.from_any(([0.4, 1.4], [0.0, 0.3, 1.0]))
    result = graphon_ntk(inputs, stack, weight_graphons=moments + [([0.4, 1.4], [0.0, 0.3, 1.0])],
                         activation=activation, sigma_w=1.3, sigma_b=0.3, normalization=normalization,
                         first_layer=first_layer, backend=backend)
    rules = _hidden_rules(stack, None, moments, profile)
    nngp, ntk = graphon_kernels(inputs, stack, rules, activation, 1.3, 0.3, normalization, first_layer,
                                weight_graphons=moments, readout_profile=lambda u: np.where(u < 0.3, 0.4, 1.4))
    assert result.weights == "kept"
    assert relative_error(result.nngp, nngp) < ROUNDING
    assert relative_error(result.ntk, ntk) < ROUNDING


def test_smooth_kept_weights_match_bruteforce_on_the_same_grid(rng):
    # Node-dependent ratios M/W in the first layer: the virtual nodes are (pattern, node) pairs.
    X = rng.standard_normal((4, 2))
    W1, M1 = SMOOTH_FIRST_LAYER
    W2 = Graphon.from_callable(lambda u, v: 0.3 + 0.5 * v)
    M2 = Graphon.from_callable(lambda u, v: 0.9 * (0.3 + 0.5 * v))
    result = graphon_ntk(X, [W1, W2], weight_graphons=[M1, M2], sigma_b=0.2)
    rules = _hidden_rules([W1, W2], None, [M1, M2])
    nngp, ntk = graphon_kernels(X, [W1, W2], rules, "relu", 1.0, 0.2, weight_graphons=[M1, M2])
    assert result.first_layer_method == "enumeration"
    assert relative_error(result.nngp, nngp) < ROUNDING
    assert relative_error(result.ntk, ntk) < ROUNDING


def test_monte_carlo_kept_first_layer_within_standard_errors(rng):
    X = rng.standard_normal((4, 3))
    W1, M1 = SMOOTH_FIRST_LAYER
    exact = graphon_ntk(X, [W1, 0.6], weight_graphons=[M1, 0.5], sigma_b=0.1)
    sampled = graphon_ntk(X, [W1, 0.6], weight_graphons=[M1, 0.5], sigma_b=0.1, max_patterns=4, n_samples=256,
                          seed=3)
    assert sampled.first_layer_method == "monte-carlo"
    # 8 batches: the t-distribution with 7 degrees of freedom exceeds 5.4 with probability < 1e-3.
    z = np.abs(sampled.ntk - exact.ntk) / sampled.ntk_standard_error
    assert z.max() < 5.4


def test_magnitude_second_layer_closed_recursion(rng):
    # Dense first layer (W = M = 1), magnitude-pruned second layer: W = rho, M = c2 constants.
    d, sigma_w, sigma_b, density = 16, np.sqrt(2.0), 0.1, 0.2
    c2 = magnitude_second_moment(density)
    X = rng.standard_normal((9, d))
    result = graphon_ntk(X, [1.0, density], weight_graphons=[1.0, c2], sigma_w=sigma_w, sigma_b=sigma_b)
    sigma1 = sigma_w ** 2 * X @ X.T / d + sigma_b ** 2
    q1 = np.diag(sigma1)
    F1, Fdot1 = expectations("relu", q1[:, None], q1[None, :], sigma1)
    sigma2 = sigma_w ** 2 * c2 * F1 + sigma_b ** 2
    theta2 = sigma_w ** 2 * density * F1 + sigma_b ** 2 + sigma_w ** 2 * c2 * sigma1 * Fdot1
    q2 = np.diag(sigma2)
    F2, Fdot2 = expectations("relu", q2[:, None], q2[None, :], sigma2)
    nngp = sigma_w ** 2 * F2 + sigma_b ** 2
    ntk = nngp + sigma_w ** 2 * theta2 * Fdot2
    assert np.max(np.abs(result.nngp - nngp)) < ROUNDING * np.abs(nngp).max()
    assert np.max(np.abs(result.ntk - ntk)) < ROUNDING * np.abs(ntk).max()
    fresh = graphon_ntk(X, [1.0, density], sigma_w=sigma_w, sigma_b=sigma_b)
    # c2 / rho = 3.25: the kept network's kernel is far from the fresh one
    assert np.trace(result.ntk) / np.trace(fresh.ntk) > 2.0


def test_fresh_entries_are_the_fresh_recursion(inputs, rng):
    stack, _ = _kept_stack(rng)
    fresh = graphon_ntk(inputs, stack, sigma_b=0.2)
    explicit = graphon_ntk(inputs, stack, sigma_b=0.2, weight_graphons=[None, None, None])
    assert explicit.weights == "fresh"
    assert np.array_equal(explicit.ntk, fresh.ntk) and np.array_equal(explicit.nngp, fresh.nngp)
    # M = W given explicitly takes the kept-weight path: equal up to rounding
    same = graphon_ntk(inputs, stack, sigma_b=0.2, weight_graphons=stack + [1.0])
    assert same.weights == "kept"
    assert relative_error(same.ntk, fresh.ntk) < ROUNDING and relative_error(same.nngp, fresh.nngp) < ROUNDING


def test_identity_activation_patterns_equal_mean_field(inputs, rng):
    # Pattern averaging is linear for the identity: E_m[sum_j m_j (M/W) x x'] = sum_j M x x'.
    stack, moments = _kept_stack(rng)
    patterns = graphon_ntk(inputs, stack, weight_graphons=moments, activation="identity", sigma_b=0.1)
    mean_field = graphon_ntk(inputs, stack, weight_graphons=moments, activation="identity", sigma_b=0.1,
                             first_layer="mean-field")
    assert relative_error(patterns.ntk, mean_field.ntk) < ROUNDING


@given(step_graphon_data(max_blocks=3), step_graphon_data(max_blocks=3), st.floats(0.05, 1.0),
       st.floats(0.05, 1.0))
@settings(max_examples=15)
def test_relu_nngp_is_linear_in_a_weight_scale(first, second, c1, c2):
    # ReLU without bias is positively homogeneous: M_l = c_l W_l scales the NNGP by c1 * c2 exactly
    # (up to rounding), whatever the first-layer patterns.
    stack = [Graphon.step(*first), Graphon.step(*second)]
    moments = [Graphon.step(c1 * first[0], first[1], first[2]), Graphon.step(c2 * second[0], second[1], second[2])]
    X = np.random.default_rng(1).standard_normal((4, 3))
    fresh = graphon_ntk(X, stack)
    kept = graphon_ntk(X, stack, weight_graphons=moments)
    scale = max(np.abs(fresh.nngp).max(), 1e-300)
    assert np.max(np.abs(kept.nngp - c1 * c2 * fresh.nngp)) <= ROUNDING * scale


# ----------------------------------------------------------------------------------------- bad input


def test_weight_graphon_outside_unit_interval(inputs):
    with pytest.raises(ValueError, match=r"weight_graphons\[1\]"):
        graphon_ntk(inputs, [0.5, 0.5], weight_graphons=[0.5, 1.5])


def test_weight_without_connection(inputs):
    W1 = Graphon.step([[1.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"weight_graphons\[0\].*graphons\[0\] is 0"):
        graphon_ntk(inputs, [W1, 0.5], weight_graphons=[0.8, 0.5])
    with pytest.raises(ValueError, match=r"weight_graphons\[1\].*graphons\[1\] is 0"):
        graphon_ntk(inputs, [0.5, Graphon.step([[0.0, 1.0]])], weight_graphons=[None, 0.5])


def test_weight_graphons_length(inputs):
    with pytest.raises(ValueError, match="weight_graphons must hold 2 .* or 3"):
        graphon_ntk(inputs, [0.5, 0.5], weight_graphons=[0.5])
    with pytest.raises(ValueError, match="weight_graphons must hold"):
        graphon_ntk(inputs, [0.5, 0.5], weight_graphons=[0.5] * 4)


def test_readout_profile_must_be_a_second_moment(inputs):
    for bad in (-0.5, [1.0, np.nan], lambda u: 1.0 - 2.0 * u):
        with pytest.raises(ValueError, match=r"weight_graphons\[2\] must be finite"):
            graphon_ntk(inputs, [0.5, 0.5], weight_graphons=[None, None, bad])
    with pytest.raises(ValueError, match="3 values need 4 breaks"):
        graphon_ntk(inputs, [0.5, 0.5], weight_graphons=[None, None, ([1.0, 2.0, 0.5], [0.5])])


def test_constant_readout_profile_scales_the_nngp(inputs):
    # K = sigma_w^2 int r F(Sigma^L) + sigma_b^2: a constant r multiplies the NNGP (sigma_b = 0) exactly,
    # and values above 1 are legitimate second moments of selected readout weights.
    fresh = graphon_ntk(inputs, [0.5, 0.5])
    kept = graphon_ntk(inputs, [0.5, 0.5], weight_graphons=[None, None, 2.5])
    assert relative_error(kept.nngp, 2.5 * fresh.nngp) < ROUNDING


def test_masks_must_chain(rng):
    X = rng.standard_normal((3, 4))
    first = (rng.random((6, 4)) < 0.5).astype(np.uint8)
    second = (rng.random((5, 6)) < 0.5).astype(np.uint8)
    readout = np.ones((1, 5), dtype=np.uint8)
    graphon_ntk(X, [first, second])  # a hidden stack chains
    with pytest.raises(ValueError, match=r"graphons\[2\] is a 1 x 5 mask: a readout mask"):
        graphon_ntk(X, [first, second, readout])
    with pytest.raises(ValueError, match=r"graphons\[1\] is a 6 x 5 mask but must have 6 columns"):
        graphon_ntk(X, [first, second.T])
    with pytest.raises(ValueError, match=r"graphons\[0\] is a 4 x 6 mask but must have 4 columns"):
        graphon_ntk(X, [first.T, second])
    with pytest.raises(ValueError, match=r"graphons\[1\] is a 5 x 7 mask"):
        graphon_ntk(X, [first, Graphon.from_mask(np.ones((5, 7)))])
