"""Empirical NTK of finite masked MLPs: exact against finite differences of an independent forward
pass (masks with drawn weights, and a given network's kept weights), fresh versus kept weights, and
convergence of its mean to the Graphon-NTK (pattern-averaged first layer)."""

import numpy as np
import pytest
import scipy.special

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


def _magnitude_masks(net, density):
    """Per layer, keep the round(density * size) raw weights of largest |omega| (continuous draws: no ties)."""
    masks = []
    for omega in net.weights:
        threshold = np.sort(np.abs(omega).ravel())[-round(density * omega.size)]
        masks.append((np.abs(omega) >= threshold).astype(np.uint8))
    return masks


@pytest.mark.parametrize("normalization", ["none", "density", "degree"])
def test_kept_weights_match_finite_differences_of_that_network(rng, normalization):
    # A pruned network with its own (kept) weights, readout pruned too; the oracle differentiates the
    # forward pass of exactly these raw weights, biases, masks and row scales.
    net = MLP([3, 4, 5, 1], activation="tanh", sigma_w=1.2, sigma_b=0.4, normalization=normalization, seed=5)
    pruned = net.with_masks(_magnitude_masks(net, 0.5))
    X = rng.standard_normal((3, 3))
    theta = empirical_ntk(X, pruned, memory_budget=200)  # tiny chunks
    reference = mlp_ntk_finite_differences(X, pruned.weights, pruned.biases, pruned.masks,
                                           [pruned.row_scales(l) for l in (1, 2, 3)], pruned.activation.fn, 0.4,
                                           step=1e-6)
    # Central differences with step h = 1e-6, per Jacobian entry: truncation h^2 |f'''| / 6 ~ 2e-13 for
    # tanh with unit-scale weights, rounding ~ eps |f| / h ~ 1e-10. J J^T sums 47 products |J| |dJ| with
    # |J| = O(1): an error of a few 1e-9 at most, below 1e-8 of max |J J^T| = O(1).
    assert np.max(np.abs(theta - reference)) < 1e-8 * np.max(np.abs(reference))


def test_fresh_weights_are_the_masks_path_draws_and_differ_from_kept(rng):
    settings = dict(activation="erf", sigma_w=1.3, sigma_b=0.2, normalization="degree")
    net = MLP([3, 6, 5, 1], seed=5, **settings)
    pruned = net.with_masks(_magnitude_masks(net, 0.6))
    X = rng.standard_normal((4, 3))
    kept = empirical_ntk(X, pruned)
    fresh = empirical_ntk(X, pruned, weights="fresh", seed=7)
    # same seed, same draws: the masks path builds MLP(widths, masks, seed) exactly as with_fresh_weights
    np.testing.assert_array_equal(fresh, empirical_ntk(X, pruned.masks, seed=7, **settings))
    np.testing.assert_array_equal(fresh, empirical_ntk(X, pruned.with_fresh_weights(7)))
    # independent draws of a width-6 network: the kernels differ at order one, far above rounding
    assert not np.allclose(fresh, kept, rtol=1e-6, atol=0)
    # re-drawing with the seed the network was drawn with gives back its kept weights
    np.testing.assert_array_equal(empirical_ntk(X, pruned, weights="fresh", seed=5), kept)
    # settings equal to the MLP's may be passed explicitly
    np.testing.assert_array_equal(empirical_ntk(X, pruned, weights="kept", **settings), kept)


def test_magnitude_pruned_kept_weights_raise_the_kernel_as_the_limit_says():
    # One dense ReLU layer, then a layer magnitude-pruned at density rho = 0.2 (kept: |omega| > tau,
    # tau = sqrt(2) erfcinv(rho)), dense readout; sigma_w = 1, sigma_b = 0, normalisation "none".
    # On the diagonal F(q, q, q) = q/2 and Fdot = 1/2; with q = |x|^2 / d and the kept weights' second
    # moment M = E[omega^2 1{kept}] = rho + sqrt(2/pi) tau exp(-tau^2/2) (docs/theory/ntk.rst, kept
    # weights): Sigma^2 = M q/2, Theta^2 = rho q/2 + M q/2, Theta(x, x) = M q/4 + Theta^2/2 = (2M + rho) q/4.
    # Fresh weights have M = rho: 3 rho q/4. Trace ratio kept/fresh (2M + rho) / (3 rho) = 2.499.
    # These diagonal means hold at every width (flipping the signs of a row makes each 1{h_i > 0} a fair
    # coin independent of the magnitudes), so the band is the Monte-Carlo error alone.
    rho, d, width, draws = 0.2, 8, 256, 96
    tau = np.sqrt(2) * scipy.special.erfcinv(rho)
    M = rho + np.sqrt(2 / np.pi) * tau * np.exp(-tau ** 2 / 2)
    limit = (2 * M + rho) / (3 * rho)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, d))
    kept, fresh = np.empty(draws), np.empty(draws)
    for s in range(draws):
        net = MLP([d, width, width, 1], seed=rng)
        magnitude = _magnitude_masks(net, rho)[1]
        pruned = net.with_masks([np.ones((width, d)), magnitude, np.ones((1, width))])
        kept[s] = np.trace(empirical_ntk(X, pruned))
        fresh[s] = np.trace(empirical_ntk(X, pruned, weights="fresh", seed=rng))
    ratio = kept.mean() / fresh.mean()
    # delta method for the ratio of paired means: var(ratio) ~ g^T Cov(kept, fresh) g / draws
    gradient = np.array([1 / fresh.mean(), -kept.mean() / fresh.mean() ** 2])
    standard_error = np.sqrt(gradient @ np.cov(kept, fresh) @ gradient / draws)
    # z = 4: two-sided t tail with 95 degrees of freedom 1e-4. The band (about 6 % of the limit here)
    # rejects a limit 15 % off at more than 8 standard errors.
    z = 4.0
    assert abs(ratio - limit) < z * standard_error
    assert ratio - 1 > z * standard_error  # the kept network's kernel is clearly larger than the fresh one


@pytest.mark.parametrize("argument, value", [
    ("activation", "tanh"), ("sigma_w", 2.0), ("sigma_b", 0.5), ("normalization", "density"),
])
def test_settings_of_an_mlp_cannot_be_overridden(argument, value):
    net = MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=f"{argument}={value!r} differs from the network's {argument}"):
        empirical_ntk(np.eye(2), net, **{argument: value})


def test_weights_argument_checks():
    masks = [np.ones((3, 2))]
    with pytest.raises(ValueError, match="masks carry no weights; pass the pruned MLP"):
        empirical_ntk(np.eye(2), masks, weights="kept")
    with pytest.raises(ValueError, match="weights must be one of"):
        empirical_ntk(np.eye(2), masks, weights="random")
    with pytest.raises(ValueError, match="seed has no effect with weights='kept'"):
        empirical_ntk(np.eye(2), MLP([2, 3, 1], seed=0), seed=1)
    with pytest.raises(ValueError, match="single output"):
        empirical_ntk(np.eye(2), MLP([2, 3, 2], seed=0))
    with pytest.raises(ValueError, match="X must have 2 columns"):
        empirical_ntk(np.eye(3), MLP([2, 3, 1], seed=0))


@pytest.mark.parametrize("masks, message", [
    ([], "non-empty sequence"),
    (np.ones((3, 2)), "non-empty sequence"),
    ([np.ones((3, 4))], r"masks\[0\] must have 2 columns \(the input dimension d of X\), got shape \(3, 4\)"),
    ([np.ones((3, 2)), np.ones((2, 4))],
     r"masks\[1\] must have 3 columns \(the width of layer 1 below it\), got shape \(2, 4\)"),
    ([np.ones((64, 2)), np.ones((1, 32))],
     r"masks\[1\] must have 64 columns \(the width of layer 1 below it\), got shape \(1, 32\)"),
    ([np.ones((3, 2)), np.ones((4, 3)), np.ones((1, 3))], r"masks\[2\] must have 4 columns \(the width of layer 2 "),
    ([np.ones((3, 2)), np.full((3, 3), 2)], r"masks\[1\] must contain only 0 and 1"),
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


def test_result_and_buffers_are_refused_before_allocation(monkeypatch):
    """10**6 rows: the result alone is 3 N x N float64 = 21.8 TiB, refused naming X before the network is drawn;
    2000 rows through a width-10**5 layer: the passes' 2000 x 100001 buffers (6.1 GiB) are refused before the
    forward pass. Both under a 1 GiB budget, with the network's construction or passes made to fail."""
    import graphon_ops as go
    import graphon_ops.pruning.mlp as mlp_module

    with go.options(memory_budget_bytes=2**30):
        with monkeypatch.context() as patch:
            patch.setattr(mlp_module, "MLP", lambda *a, **k: pytest.fail("the network was drawn"))
            with pytest.raises(ValueError, match=r"empirical_ntk's result for the 1000000 rows of X \(3 arrays of "
                                                 r"1000000 x 1000000 float64.*21\.8 TiB"):
                empirical_ntk(np.zeros((10**6, 2)), [np.ones((3, 2))])
        net = MLP([2, 10**5, 1], seed=0)
        monkeypatch.setattr(MLP, "forward", lambda self, X: pytest.fail("the forward pass started"))
        with pytest.raises(ValueError, match=r"empirical_ntk for the 2000 rows of X \(the result, the forward and "
                                             r"backward passes' 2000 x 100001 arrays.*6\.1 GiB"):
            empirical_ntk(np.zeros((2000, 2)), net)


def test_whole_call_stays_within_the_budget(rng):
    """The default chunks take what the result and the passes' buffers leave: the traced peak of the whole call
    stays below the budget (before, chunks were sized on the whole budget and held four arrays, not three)."""
    import tracemalloc

    import graphon_ops as go

    net = MLP([10, 200, 200, 1], seed=0)
    X = rng.standard_normal((100, 10))
    budget = 4 * 2**20                    # the result and the passes' buffers hold about 2.8 MB of it
    reference = empirical_ntk(X, net)
    tracemalloc.start()
    try:
        with go.options(memory_budget_bytes=budget):
            theta = empirical_ntk(X, net)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= budget
    # the chunking changes only the order of summation: a few ulp of the largest entry
    assert np.max(np.abs(theta - reference)) <= 64 * np.finfo(float).eps * np.max(np.abs(reference))
