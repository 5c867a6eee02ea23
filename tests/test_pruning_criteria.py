"""Saliency criteria and exact-count pruning."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphon_ops.pruning import (KEEP, METHODS, MLP, kept_count, prune, prune_at_init, prune_scores, saliency,
                                 synflow_path_sums)
from tests.reference_pruning import naive_forward, naive_loss


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    net = MLP([4, 6, 5, 3], activation="tanh", sigma_b=0.2, seed=1)
    X = rng.standard_normal((5, 4))
    y = rng.integers(0, 3, 5)
    return net, X, y


# ---------------------------------------------------------------- prune
score_lists = st.lists(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                                  elements=st.integers(-3, 3).map(float)), min_size=1, max_size=3)


@given(score_lists, st.floats(0.01, 1.0), st.sampled_from(["global", "layerwise"]),
       st.sampled_from(["largest", "smallest"]), st.integers(0, 100))
def test_prune_keeps_exact_count_and_best_scores(scores, density, scope, keep, seed):
    masks = prune(scores, density, scope=scope, keep=keep, seed=seed)
    sign = 1.0 if keep == "largest" else -1.0
    groups = [(masks, scores)] if scope == "global" else [([m], [s]) for m, s in zip(masks, scores)]
    for group_masks, group_scores in groups:
        kept = np.concatenate([sign * s[m == 1] for m, s in zip(group_masks, group_scores)])
        dropped = np.concatenate([sign * s[m == 0] for m, s in zip(group_masks, group_scores)])
        assert kept.size == kept_count(sum(s.size for s in group_scores), density)
        if dropped.size:
            assert kept.min() >= dropped.max()  # nothing dropped beats anything kept
    assert all(m.dtype == np.uint8 and m.shape == s.shape for m, s in zip(masks, scores))


def test_prune_ties_broken_by_seed():
    scores = [np.zeros((10, 10))]
    a = prune(scores, 0.3, seed=1)[0]
    b = prune(scores, 0.3, seed=1)[0]
    c = prune(scores, 0.3, seed=2)[0]
    assert a.sum() == c.sum() == 30
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_prune_tie_breaking_is_uniform():
    # 4 tied entries, keep 2: each is kept with probability 1/2; 2000 draws, 5 standard errors = 0.056.
    rng = np.random.default_rng(3)
    counts = sum(prune([np.array([[5.0, 1.0, 1.0, 1.0, 1.0]])], 0.6, seed=rng)[0].astype(int) for _ in range(2000))
    assert counts[0, 0] == 2000
    assert np.all(np.abs(counts[0, 1:] / 2000 - 0.5) < 0.056)


def test_prune_global_versus_layerwise():
    scores = [np.full((2, 5), 10.0), np.full((2, 5), 1.0)]
    global_masks = prune(scores, 0.5, scope="global", seed=0)
    assert global_masks[0].sum() == 10 and global_masks[1].sum() == 0
    layer_masks = prune(scores, 0.5, scope="layerwise", seed=0)
    assert layer_masks[0].sum() == 5 and layer_masks[1].sum() == 5


def test_prune_density_one_and_tiny():
    scores = [np.arange(6.0).reshape(2, 3)]
    assert prune(scores, 1.0)[0].all()
    assert prune(scores, 1e-6)[0].sum() == 1  # at least one weight survives
    np.testing.assert_array_equal(prune(scores, 1e-6)[0], [[0, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize("density", [0.0, -0.1, 1.5, float("nan"), True])
def test_prune_rejects_bad_density(density):
    with pytest.raises(ValueError, match="density"):
        prune([np.ones((2, 2))], density)


def test_prune_rejects_bad_input():
    with pytest.raises(ValueError, match="scope"):
        prune([np.ones((2, 2))], 0.5, scope="row")
    with pytest.raises(ValueError, match="keep"):
        prune([np.ones((2, 2))], 0.5, keep="middle")
    with pytest.raises(ValueError, match="scores"):
        prune([np.ones(3)], 0.5)
    with pytest.raises(ValueError, match="scores"):
        prune([], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        prune([np.array([[1.0, np.nan]])], 0.5)


# ---------------------------------------------------------------- criteria
def test_random_and_magnitude(setup):
    net, X, y = setup
    random = saliency(net, method="random", seed=3)
    assert all(s.shape == w.shape and s.min() >= 0 and s.max() < 1 for s, w in zip(random, net.weights))
    np.testing.assert_array_equal(random[0], saliency(net, method="random", seed=3)[0])
    magnitude = saliency(net, method="magnitude")
    for s, w, l in zip(magnitude, net.weights, range(1, 4)):
        np.testing.assert_allclose(s, np.abs(w) * net.row_scales(l)[:, None], rtol=1e-15)


def _mask_derivative(net, X, y, loss, l, idx, eps=1e-5):
    """Central difference of L with respect to the mask entry M^l_idx (continuous relaxation)."""
    values = []
    for sign in (1, -1):
        masks = [m.astype(float) for m in net.masks]
        masks[l][idx] += sign * eps
        weights = [p * m for p, m in zip(net.parameters(), masks)]
        values.append(naive_loss(naive_forward(X, weights, net.biases, net.sigma_b, net.activation), y, loss))
    return (values[0] - values[1]) / (2 * eps)


def test_snip_is_mask_sensitivity(setup):
    """SNIP score = |dL/dM_ij| (Lee et al. 2019), checked by central differences on the mask entry."""
    net, X, y = setup
    pruned = net.with_masks([(np.random.default_rng(4).random(w.shape) < 0.6).astype(np.uint8)
                             for w in net.weights])
    scores = saliency(pruned, X, y, "snip", loss="cross_entropy")
    for l, idx in [(0, (0, 0)), (0, (5, 3)), (1, (2, 4)), (2, (1, 2)), (1, (0, 0))]:
        fd = abs(_mask_derivative(pruned, X, y, "cross_entropy", l, idx))
        # central-difference bound of tests/test_pruning_mlp.py (1e-7 abs + rel)
        assert abs(fd - scores[l][idx]) < 1e-7 + 1e-7 * fd


def test_grasp_scores(setup):
    """-theta * Hg with Hg checked against the central difference of the (verified) gradient along g."""
    net, X, y = setup
    theta = net.parameters()
    g = net.gradient(X, y, loss="cross_entropy")
    eps = 1e-5
    plus = MLP(net.widths, activation="tanh", sigma_b=0.2, _weights=[w + eps * gi / c[:, None] for w, gi, c in
               zip(net.weights, g, [net.row_scales(l) for l in (1, 2, 3)])], _biases=net.biases)
    minus = MLP(net.widths, activation="tanh", sigma_b=0.2, _weights=[w - eps * gi / c[:, None] for w, gi, c in
                zip(net.weights, g, [net.row_scales(l) for l in (1, 2, 3)])], _biases=net.biases)
    hg_fd = [(a - b) / (2 * eps) for a, b in zip(plus.gradient(X, y, "cross_entropy"),
                                                  minus.gradient(X, y, "cross_entropy"))]
    grasp = saliency(net, X, y, "grasp", loss="cross_entropy")
    grasp_magnitude = saliency(net, X, y, "grasp_magnitude", loss="cross_entropy")
    for t, h, s, sm in zip(theta, hg_fd, grasp, grasp_magnitude):
        # truncation eps^2 |third derivative| ~ 1e-10, rounding u |g| / eps ~ 1e-11
        np.testing.assert_allclose(s, -t * h, atol=1e-8)
        np.testing.assert_allclose(sm, np.abs(s), rtol=0, atol=0)
    assert KEEP["grasp"] == "smallest" and KEEP["grasp_magnitude"] == "largest"


def _path_sum(weights):
    """R = 1^T |W_{L+1}| ... |W_1| 1 by brute force."""
    vector = np.ones(weights[0].shape[1])
    for w in weights:
        vector = np.abs(w) @ vector
    return vector.sum()


def test_synflow_is_path_sum_sensitivity(setup):
    """theta dR/dtheta: R is linear in |w_ij|, so the score equals R(w) - R(w with w_ij = 0) exactly."""
    net, _, _ = setup
    scores = saliency(net, method="synflow")
    weights = net.effective_weights()
    total = _path_sum(weights)
    for l, idx in [(0, (0, 0)), (0, (5, 3)), (1, (4, 5)), (2, (2, 4))]:
        removed = [w.copy() for w in weights]
        removed[l][idx] = 0.0
        assert abs(scores[l][idx] - (total - _path_sum(removed))) < 1e-12 * total  # rounding of the products


def test_synflow_is_data_free_and_iterated_schedule(setup):
    net, _, _ = setup
    one_shot = saliency(net, method="synflow")
    np.testing.assert_array_equal(one_shot[1], saliency(net, method="synflow", density=0.1, iterations=1)[1])
    scores = saliency(net, method="synflow", density=0.1, iterations=4, prune_readout=True, seed=0)
    # the final round scores the network pruned to 0.1^(3/4): weights pruned before score 0 (a kept weight
    # may score 0 too, when pruning disconnected its neuron from the input or the output)
    total = sum(s.size for s in scores)
    assert 0 < sum(int((s > 0).sum()) for s in scores) <= kept_count(total, 0.1 ** 0.75)
    # by default the intermediate prunes leave the readout (15 weights) dense: 54 hidden weights to 10
    dense_readout = saliency(net, method="synflow", density=0.1, iterations=4, seed=0)
    assert sum(int((s > 0).sum()) for s in dense_readout[:-1]) <= 10
    # a readout weight scores 0 only when its hidden neuron lost every path from the input (a whole column)
    positive = dense_readout[-1] > 0
    assert positive.any() and np.all(positive.all(axis=0) | ~positive.any(axis=0))
    masks = prune(scores, 0.1, seed=0)
    assert sum(int(m.sum()) for m in masks) == kept_count(total, 0.1)


def test_synflow_path_sums_closed_form():
    forward, backward = synflow_path_sums([np.full((3, 2), 2.0), np.full((1, 3), -1.0)])
    assert forward[1].tolist() == [4.0, 4.0, 4.0]
    assert backward[0].tolist() == [1.0, 1.0, 1.0] and backward[1].tolist() == [1.0]
    with pytest.raises(ValueError, match="columns"):
        synflow_path_sums([np.ones((3, 2)), np.ones((1, 2))])


@pytest.mark.filterwarnings("ignore:pruning left parts of the network disconnected")
def test_snip_ignores_always_zero_input():
    """An input coordinate that is zero on the batch gets SNIP score 0; magnitude keeps some of its weights."""
    rng = np.random.default_rng(5)
    net = MLP([6, 32, 1], seed=6)
    X = rng.standard_normal((16, 6))
    X[:, 2] = 0.0
    y = X[:, 0]
    assert np.all(saliency(net, X, y, "snip")[0][:, 2] == 0.0)
    snip = prune_at_init(net, X, y, "snip", 0.3, scope="layerwise", seed=0)
    magnitude = prune_at_init(net, X, y, "magnitude", 0.3, scope="layerwise", seed=0)
    assert snip[0][:, 2].sum() == 0 and magnitude[0][:, 2].sum() > 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.filterwarnings("ignore:pruning left parts of the network disconnected")
def test_prune_at_init_exact_counts(setup, method):
    net, X, y = setup  # layers 6 x 4, 5 x 6 (hidden: 54 weights) and the 3 x 5 readout (15)
    masks = prune_at_init(net, X, y, method, 0.2, loss="cross_entropy", seed=0,
                          iterations=3 if method == "synflow" else 1)
    assert [m.shape for m in masks] == [(6, 4), (5, 6), (3, 5)]
    assert int(masks[0].sum() + masks[1].sum()) == 11 and np.all(masks[2] == 1)  # round(0.2 * 54) = 11
    everything = prune_at_init(net, X, y, method, 0.2, loss="cross_entropy", seed=0, prune_readout=True,
                               iterations=3 if method == "synflow" else 1)
    assert sum(int(m.sum()) for m in everything) == 14  # round(0.2 * 69) = 14
    layerwise = prune_at_init(net, X, y, method, 0.2, loss="cross_entropy", seed=0, scope="layerwise",
                              iterations=3 if method == "synflow" else 1)
    assert [int(m.sum()) for m in layerwise] == [5, 6, 15]  # round(4.8), round(6.0), dense readout


@pytest.mark.parametrize("method", ["random", "magnitude", "snip", "synflow"])
def test_prune_at_init_readout_dense_and_hidden_counts(method):
    # widths [10, 20, 30, 5]: hidden layers 20 x 10 and 30 x 20 hold 200 + 600 = 800 weights, the readout 150.
    # density 0.1: 80 hidden weights kept globally (20 and 60 layerwise); with the readout, 95 of 950
    net = MLP([10, 20, 30, 5], seed=2)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((8, 10)), rng.standard_normal((8, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # disconnections are tested below
        masks = prune_at_init(net, X, y, method, 0.1, seed=0)
        layerwise = prune_at_init(net, X, y, method, 0.1, scope="layerwise", seed=0)
        everything = prune_at_init(net, X, y, method, 0.1, prune_readout=True, seed=0)
    assert masks[2].shape == (5, 30) and masks[2].dtype == np.uint8 and np.all(masks[2] == 1)
    assert int(masks[0].sum()) + int(masks[1].sum()) == 80
    assert [int(m.sum()) for m in layerwise] == [20, 60, 150]
    assert sum(int(m.sum()) for m in everything) == 95


@pytest.mark.parametrize("method", ["random", "magnitude"])
def test_prune_readout_true_is_prune_on_every_layer(method):
    # prune_readout=True: one threshold over all layers' scores, as prune() does (same generator, same draws)
    net = MLP([6, 12, 3], seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        masks = prune_at_init(net, method=method, density=0.3, prune_readout=True, seed=5)
    rng = np.random.default_rng(5)
    expected = prune(saliency(net, method=method, seed=rng), 0.3, keep=KEEP[method], seed=rng)
    for mask, reference in zip(masks, expected):
        np.testing.assert_array_equal(mask, reference)


def test_kept_weights_are_the_networks_own():
    net = MLP([5, 8, 2], seed=6)
    masks = prune_at_init(net, method="magnitude", density=0.6, seed=0)
    pruned = net.with_masks(masks)
    for l in range(2):
        np.testing.assert_array_equal(pruned.weights[l], net.weights[l])
        np.testing.assert_array_equal(pruned.effective_weights()[l], net.parameters()[l] * masks[l])


def _hand_network(widths, weights):
    return MLP(widths, _weights=weights, _biases=[np.zeros(n) for n in widths[1:]])


def test_prune_at_init_warns_when_a_layer_is_left_empty():
    # widths [2, 3, 2, 1], normalization "none": |theta^1| = (10 or 9) / sqrt 2 >= 6.3 (6 weights), |theta^2| <= 0.03
    # / sqrt 3 (6 weights). Global magnitude at density 0.5 keeps round(0.5 * 12) = 6 hidden weights: all of layer 1
    first = np.array([[10.0, 9.0], [10.0, 9.0], [10.0, 9.0]])
    second = np.array([[0.03, 0.01, 0.02], [0.01, 0.03, 0.02]])
    net = _hand_network([2, 3, 2, 1], [first, second, np.ones((1, 2))])
    with pytest.warns(UserWarning) as record:
        masks = prune_at_init(net, method="magnitude", density=0.5, seed=0)
    assert [int(m.sum()) for m in masks] == [6, 0, 2]
    assert len(record) == 1
    assert str(record[0].message) == "pruning left parts of the network disconnected: layer 2 keeps 0 of 6 weights"
    assert record[0].filename == __file__  # reported at the caller's line
    # layerwise keeps 3 + 3: the 10s (one input per hidden neuron) and the 0.03s plus a 0.02 (every neuron of layer
    # 1 keeps an output, every neuron of layer 2 an input): no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        masks = prune_at_init(net, method="magnitude", density=0.5, scope="layerwise", seed=0)
    assert masks[0].tolist() == [[1, 0], [1, 0], [1, 0]] and int(masks[1].sum()) == 3


def test_prune_at_init_warns_about_neurons_without_connections():
    # widths [2, 3, 1], prune_readout=True: |theta| = 0.707 (rows 1, 2 of layer 1), 0.00707 (row 3), and readout
    # 5.77, 0.000577, 0.000577. Density 5/9 keeps the 5 largest: hidden neuron 3 loses both inputs, hidden
    # neurons 2 and 3 their readout connection
    net = _hand_network([2, 3, 1], [np.array([[1.0, 1.0], [1.0, 1.0], [0.01, 0.01]]), np.array([[10.0, 1e-3, 1e-3]])])
    with pytest.warns(UserWarning) as record:
        masks = prune_at_init(net, method="magnitude", density=5 / 9, prune_readout=True, seed=0)
    assert masks[0].tolist() == [[1, 1], [1, 1], [0, 0]] and masks[1].tolist() == [[1, 0, 0]]
    assert str(record[0].message) == ("pruning left parts of the network disconnected: 1 of 3 neurons of layer 1 "
                                      "have no incoming connection; 2 of 3 neurons of layer 1 have no outgoing "
                                      "connection")


@pytest.mark.filterwarnings("ignore:pruning left parts of the network disconnected")
def test_prune_at_init_grasp_keeps_the_smallest_scores(setup):
    # the kept hidden weights are exactly the round(0.3 * 54) = 16 with the smallest signed GraSP scores
    net, X, y = setup
    scores = saliency(net, X, y, "grasp", loss="cross_entropy")
    masks = prune_at_init(net, X, y, "grasp", 0.3, loss="cross_entropy", seed=0)
    hidden = np.concatenate([s.ravel() for s in scores[:2]])
    kept = np.concatenate([m.ravel() for m in masks[:2]]) == 1
    assert kept.sum() == 16 and np.all(masks[2] == 1)
    np.testing.assert_array_equal(np.flatnonzero(kept), np.sort(np.argsort(hidden)[:16]))


@pytest.mark.parametrize("flag", ["yes", 1, None, 0.0])
def test_prune_at_init_rejects_a_non_bool_prune_readout(setup, flag):
    net, X, y = setup
    with pytest.raises(ValueError, match=f"prune_readout must be True or False, got {flag!r}"):
        prune_at_init(net, X, y, "magnitude", 0.2, prune_readout=flag)
    assert len(prune_at_init(net, X, y, "magnitude", 1.0, prune_readout=np.bool_(True))) == 3


def test_prune_at_init_rejects_bad_density_and_scope(setup):
    net, X, y = setup
    # checked before scoring: the iterated SynFlow schedule would otherwise report density ** (1/3)
    with pytest.raises(ValueError, match=r"density must be a density in \(0, 1\], got 1.5"):
        prune_at_init(net, method="synflow", density=1.5, iterations=3)
    with pytest.raises(ValueError, match="scope"):
        prune_at_init(net, method="magnitude", density=0.2, scope="row")
    with pytest.raises(ValueError, match="prune_readout=True"):
        prune_at_init(MLP([3, 2], seed=0), method="magnitude", density=0.5)


def test_grasp_keeps_the_smallest_scores():
    # signed GraSP removes the highest scores -theta (Hg): with prune_scores on hand-made scores the kept
    # entries are the two smallest of the hidden layer, whatever their magnitude
    scores = [np.array([[5.0, -3.0], [0.5, -7.0]]), np.ones((1, 2))]
    masks = prune_scores(scores, "grasp", 0.5, seed=0)
    assert masks[0].tolist() == [[0, 1], [0, 1]]
    magnitudes = [np.abs(s) for s in scores]  # the magnitude variant scores |theta (Hg)| and keeps the largest
    assert prune_scores(magnitudes, "grasp_magnitude", 0.5, seed=0)[0].tolist() == [[1, 0], [0, 1]]


def test_prune_warns_about_disconnected_parts():
    scores = [np.array([[3.0, 2.0], [0.1, 0.2], [0.3, 0.1]]), np.ones((1, 3))]
    with pytest.warns(UserWarning, match="2 of 3 neurons of layer 1 have no incoming connection"):
        prune_scores(scores, "magnitude", 1 / 3, seed=0)
    with pytest.raises(ValueError, match="prune_readout must be True or False"):
        prune_scores(scores, "magnitude", 0.5, prune_readout="no")


def test_saliency_rejects_bad_input(setup):
    net, X, y = setup
    with pytest.raises(ValueError, match="method"):
        saliency(net, X, y, "obd")
    with pytest.raises(ValueError, match="net"):
        saliency([np.ones((2, 2))], X, y, "snip")
    with pytest.raises(ValueError, match="batch"):
        saliency(net, method="snip")
    with pytest.raises(ValueError, match="iterations"):
        saliency(net, X, y, "snip", iterations=2)
    with pytest.raises(ValueError, match="density"):
        saliency(net, method="synflow", iterations=2)
    with pytest.raises(ValueError, match="X"):
        saliency(net, np.ones((5, 3)), y, "snip", loss="cross_entropy")
    with pytest.raises(ValueError, match="loss"):
        saliency(net, X, y, "snip", loss="l1")


@pytest.mark.parametrize("size, density, expected", [
    (10, 0.25, 2),     # round(2.5) = 2: Python rounds halves to even
    (10, 0.35, 4),     # round(3.5) = 4
    (7, 0.5, 4),       # round(3.5) = 4
    (3, 0.1, 1),       # round(0.3) = 0, at least one weight is kept
    (5, 1.0, 5),
    (1000, 0.0123, 12),
])
def test_kept_count_hand_computed(size, density, expected):
    assert kept_count(size, density) == expected
