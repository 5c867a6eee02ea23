"""Empirical NTK of finite masked MLPs: exact against finite differences of an independent forward
pass, and convergence of its mean to the Graphon-NTK (pattern-averaged first layer)."""

import numpy as np
import pytest

from graphon_ops import Graphon
from graphon_ops.empirical import empirical_ntk
from graphon_ops.ntk import graphon_ntk
from graphon_ops.pruning.mlp import MLP

from reference_ntk import mlp_ntk_finite_differences


@pytest.mark.parametrize("activation", ["erf", "tanh", "identity"])
@pytest.mark.parametrize("normalization", ["none", "density", "degree"])
def test_matches_finite_differences(rng, activation, normalization):
    X = rng.standard_normal((3, 3))
    masks = [(rng.random((4, 3)) < 0.6).astype(np.uint8), (rng.random((5, 4)) < 0.5).astype(np.uint8)]
    masks[1][0] = 0  # a neuron without inputs (degree normalisation: scale 0)
    readout = (rng.random((1, 5)) < 0.8).astype(np.uint8)
    theta = empirical_ntk(X, masks + [readout], activation=activation, sigma_w=1.2, sigma_b=0.4,
                          normalization=normalization, seed=3, memory_budget=200)  # tiny chunks
    net = MLP([3, 4, 5, 1], activation=activation, sigma_w=1.2, sigma_b=0.4, normalization=normalization,
              masks=masks + [readout], seed=3)
    reference = mlp_ntk_finite_differences(X, net.weights, net.biases, net.masks,
                                           [net.row_scales(l) for l in (1, 2, 3)], net.activation.fn, 0.4)
    # central differences with step 1e-6 on smooth activations: truncation ~1e-12 * f''' and
    # cancellation ~eps / 1e-6 ~ 1e-10 per Jacobian entry; 1e-8 relative on J J^T covers both.
    assert np.max(np.abs(theta - reference)) < 1e-8 * np.max(np.abs(reference))
    assert np.array_equal(theta, theta.T) or np.allclose(theta, theta.T, rtol=1e-14, atol=0)


def test_readout_mask_defaults_to_dense(rng):
    X = rng.standard_normal((2, 3))
    masks = [np.ones((6, 3), dtype=np.uint8)]
    assert np.array_equal(empirical_ntk(X, masks, seed=0),
                          empirical_ntk(X, masks + [np.ones((1, 6), dtype=np.uint8)], seed=0))


def _w_random_masks(graphons, d, width, rng):
    """Masks with grid latent positions: Bernoulli(W(u_i, v_j)), layer 1's columns at (j - 1/2)/d."""
    rows = (np.arange(width) + 0.5) / width
    columns = (np.arange(d) + 0.5) / d
    masks = []
    for W in graphons:
        masks.append((rng.random((width, columns.size)) < W.on_grid(rows, columns)).astype(np.uint8))
        columns = rows
    return masks


def test_mean_converges_to_pattern_averaged_limit_not_mean_field():
    # d = 4 and one-hot-like inputs: each first-layer neuron keeps a random subset of 4 coordinates,
    # so E_m F(Sigma_m) differs from F(E_m Sigma_m) by tens of percent off the diagonal.
    graphons = [Graphon.from_callable(lambda u, v: 0.2 + 0.6 * u * (1 - v)), Graphon.step([[0.9, 0.3], [0.2, 0.7]])]
    X = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0.6, 0, 0.8, 0], [0.5, 0.5, 0.5, 0.5]])
    patterns = graphon_ntk(X, graphons).ntk
    mean_field = graphon_ntk(X, graphons, first_layer="mean-field").ntk
    rng = np.random.default_rng(7)
    seeds = 16
    samples = np.stack([empirical_ntk(X, _w_random_masks(graphons, 4, 600, rng), seed=rng) for _ in range(seeds)])
    mean, standard_error = samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(seeds)
    upper = np.triu_indices(4)
    z_patterns = ((mean - patterns) / standard_error)[upper]
    z_mean_field = ((mean - mean_field) / standard_error)[upper]
    # 10 entries, t with 15 dof: |t| > 4.5 has probability < 1e-3 each; the O(1/width) bias of the
    # mean (0.25 % at width 400) is below a tenth of the standard error (~3 %).
    assert np.max(np.abs(z_patterns)) < 4.5
    assert np.max(np.abs(z_mean_field)) > 5.0


@pytest.mark.parametrize("masks, message", [
    ([], "non-empty sequence"),
    (np.ones((3, 2)), "non-empty sequence"),
    ([np.ones((3, 4))], "masks\\[0\\] must have 2 columns"),
    ([np.ones((3, 2)), np.ones((2, 4))], "masks\\[1\\] must have 3 columns"),
    ([np.full((3, 2), 2)], "only 0 and 1"),
])
def test_bad_masks(masks, message):
    with pytest.raises(ValueError, match=message):
        empirical_ntk(np.eye(2), masks)


def test_bad_inputs():
    with pytest.raises(ValueError, match="X must be finite"):
        empirical_ntk(np.array([[np.nan, 1.0]]), [np.ones((3, 2))])
    with pytest.raises(ValueError, match="activation"):
        empirical_ntk(np.eye(2), [np.ones((3, 2))], activation="swish")
    with pytest.raises(ValueError, match="memory budget"):
        empirical_ntk(np.eye(2), [np.ones((3, 2))], memory_budget=8)
