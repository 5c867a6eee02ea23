"""GraphonNetwork and the route from a pruned network to its limit. Oracles: the magnitude closed forms
(W = rho, M = rho + sqrt(2/pi) tau exp(-tau^2/2)) with CLT tolerances, hand-built block masks whose
block means are known exactly, and finite networks' empirical NTKs (kept weights) against the limit."""

import numpy as np
import pytest
import scipy.special

from graphon_ops import Graphon
from graphon_ops.network import GraphonNetwork
from graphon_ops.ntk import graphon_ntk
from graphon_ops.pruning import MLP, PrunedNetwork, prune_network

pytestmark = pytest.mark.filterwarnings("ignore:pruning left parts of the network disconnected")

DENSITY = 0.2
TAU = np.sqrt(2.0) * scipy.special.erfcinv(DENSITY)
SECOND_MOMENT = DENSITY + np.sqrt(2.0 / np.pi) * TAU * np.exp(-TAU ** 2 / 2.0)


def test_network_kernels_are_the_graphon_ntk_of_its_fields(rng):
    X = rng.standard_normal((5, 3))
    W1 = Graphon.from_callable(lambda u, v: 0.3 + 0.5 * u * v)
    network = GraphonNetwork([W1, 0.4], weights=[None, 0.7], readout_weights=[0.5, 1.5],
                             activation="erf", sigma_w=1.2, sigma_b=0.3, normalization="density")
    expected = graphon_ntk(X, [W1, 0.4], weight_graphons=[None, 0.7, [0.5, 1.5]], activation="erf",
                           sigma_w=1.2, sigma_b=0.3, normalization="density")
    result = network.kernels(X)
    assert network.weights_kind == "kept" and result.weights == "kept"
    assert np.array_equal(result.ntk, expected.ntk) and np.array_equal(result.nngp, expected.nngp)
    fresh = network.with_fresh_weights()
    assert fresh.weights_kind == "fresh" and fresh.kernels(X).weights == "fresh"


def test_network_bad_input(rng):
    with pytest.raises(ValueError, match="weights must hold 2"):
        GraphonNetwork([0.5, 0.5], weights=[0.4])
    with pytest.raises(ValueError, match=r"connectivity\[1\]"):
        GraphonNetwork([0.5, 1.5])
    with pytest.raises(ValueError, match="sigma_w"):
        GraphonNetwork([0.5], sigma_w=-1.0)
    with pytest.raises(ValueError, match="sigma_w is part of the network"):
        GraphonNetwork([0.5]).kernels(rng.standard_normal((2, 2)), sigma_w=2.0)


def test_magnitude_limit_estimate_within_clt_bounds():
    width, d, blocks = 512, 8, 4
    net = MLP([d, width, width, 1], seed=0)
    pruned = prune_network(net, method="magnitude", density=DENSITY, scope="layerwise", seed=0)
    limit = pruned.limit(blocks)
    second = limit.connectivity[1].values, limit.weights[1].values
    cells = (width // blocks) ** 2
    # A block mean of `cells` entries: W has standard deviation sqrt(rho (1 - rho) / cells) (exact count
    # rho n^2 per layer makes it smaller still); (m theta)^2 has variance E[theta^4 1{kept}] - M^2 <= 3 - M^2
    # per entry. 5 standard deviations.
    assert np.max(np.abs(second[0] - DENSITY)) < 5 * np.sqrt(DENSITY * (1 - DENSITY) / cells)
    assert np.max(np.abs(second[1] - SECOND_MOMENT)) < 5 * np.sqrt((3 - SECOND_MOMENT ** 2) / cells)
    assert limit.connectivity[0].values.shape == (blocks, d)
    # the readout is dense and its weights are not selected: r = E[v^2] = 1 up to sampling
    profile = limit.readout_weights.function((np.arange(blocks) + 0.5) / blocks)
    assert np.max(np.abs(profile - 1.0)) < 5 * np.sqrt(2.0 / (width // blocks))  # v^2 ~ chi^2_1: variance 2


def test_first_layer_columns_keep_the_coordinate_order():
    # Coordinate 2 is always zero in the batch: SNIP gives it degree 0, and the limit's column 2 (the
    # graphon at v = 2.5/d) must be the zero column, whatever the factors' order of the columns.
    rng = np.random.default_rng(3)
    d, width = 6, 64
    X = rng.standard_normal((32, d))
    X[:, 2] = 0.0
    y = X[:, 0]
    pruned = prune_network(MLP([d, width, 1], seed=1), X, y, method="snip", density=0.3, scope="layerwise", seed=1)
    first = pruned.limit(4).connectivity[0]
    assert np.all(pruned.network.masks[0][:, 2] == 0)
    assert np.all(first.values[:, 2] == 0.0) and np.all(first.values[:, [0, 1, 3, 4, 5]].sum(axis=0) > 0)


def test_shared_labelling_recovers_planted_blocks():
    # Hidden neurons of type 0 (first half of the order) connect densely to inputs and sparsely forward;
    # the masks are exact block patterns, so with the planted order the block means are exact.
    d, width = 4, 128  # two first-layer row blocks of FIRST_LAYER_BLOCK_ROWS = 64 neurons
    half = width // 2
    first = np.zeros((width, d), np.uint8)
    first[:half] = 1
    second = np.zeros((width, width), np.uint8)
    second[:, half:] = 1
    masks = [first, second, np.ones((1, width), np.uint8)]
    net = MLP([d, width, width, 1], masks=masks, seed=0)
    permutation = np.random.default_rng(0).permutation(width)
    shuffled = MLP([d, width, width, 1], masks=[first[permutation], second[:, permutation], masks[2]], seed=0)
    pruned = PrunedNetwork(shuffled, tuple(np.ones(m.shape) for m in shuffled.masks), "given", 0.5, "layerwise")
    order = np.argsort(permutation)
    limit = pruned.limit(2, labels=[order, np.arange(width)])
    assert limit.connectivity[0].values.tolist() == [[1.0] * d, [0.0] * d]
    assert limit.connectivity[1].values.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    degree = pruned.limit(2, labels="degree")
    assert degree.connectivity[0].values.tolist() == [[0.0] * d, [1.0] * d]
    assert net.widths == shuffled.widths


def test_pruned_readout_is_refused():
    pruned = prune_network(MLP([3, 16, 1], seed=0), method="magnitude", density=0.5, prune_readout=True, seed=0)
    with pytest.raises(ValueError, match="readout of this network is pruned"):
        pruned.limit(4)


def test_bad_labels_and_blocks():
    pruned = prune_network(MLP([3, 16, 1], seed=0), method="magnitude", density=0.5, seed=0)
    with pytest.raises(ValueError, match="labels"):
        pruned.limit(4, labels="bogus")
    with pytest.raises(ValueError, match=r"labels\[0\] must be a permutation"):
        pruned.limit(4, labels=[np.zeros(16, int)])
    with pytest.raises(ValueError, match="blocks"):
        pruned.limit(0)
    with pytest.raises(ValueError, match="weights"):
        pruned.limit(4, weights="old")


def test_kept_weight_network_matches_its_limit_and_not_the_fresh_one():
    # Magnitude pruning of both hidden layers, d = 4: mean over networks of J J^T minus the limit of the
    # same network. A t-statistic over 16 networks: |t| < 4.5 unless there is a real bias (probability
    # < 1e-3 per entry); the fresh limit is ~2.5x off, tens of standard errors.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 4))
    kept, fresh = [], []
    for seed in range(16):
        pruned = prune_network(MLP([4, 256, 256, 1], sigma_b=0.1, seed=seed), method="magnitude", density=DENSITY,
                               scope="layerwise", seed=seed)
        limit = pruned.limit(4)
        empirical = pruned.empirical_ntk(X)
        kept.append(empirical - limit.kernels(X).ntk)
        fresh.append(empirical - limit.with_fresh_weights().kernels(X).ntk)
    for differences, bound in ((kept, lambda z: z < 4.5), (fresh, lambda z: z > 10.0)):
        differences = np.stack(differences)
        z = np.abs(differences.mean(axis=0)) / (differences.std(axis=0, ddof=1) / 4.0)
        assert bound(z.max())
