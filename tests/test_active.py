"""Active input coordinates (docs/theory/paths_alignment.rst): closed forms, masks, and invariance of kernels and networks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphon_ops as go
from graphon_ops import Graphon
from graphon_ops.active import active_coordinates
from graphon_ops.paths import input_path_mass
from graphon_ops.sampling import sample_mask


def test_step_graphon_with_inactive_columns():
    # columns [0, 1/4) and [1/2, 3/4) are never connected; v_j = (j - 1/2)/d never falls on a break
    # for d = 8, so coordinates 0, 1 and 4, 5 are inactive
    W = Graphon.step([[0.0, 0.3, 0.0, 1.0], [0.0, 0.0, 0.0, 0.2]])
    assert active_coordinates(W, 8).tolist() == [2, 3, 6, 7]
    assert active_coordinates(W, 4).tolist() == [1, 3]
    # in-degrees 0.15 and 0.6: a tolerance between them keeps only the last block
    assert active_coordinates(W, 4, tol=0.2).tolist() == [3]


def test_product_graphon_vanishing_on_half_the_inputs():
    # W = u * max(0, 2v - 1): in-degree (1/2) max(0, 2 v_j - 1) > 0 exactly when v_j > 1/2
    W = Graphon.product(lambda u: u, lambda v: np.maximum(0.0, 2 * v - 1), col_breaks=[0.5])
    assert active_coordinates(W, 10).tolist() == [5, 6, 7, 8, 9]
    assert active_coordinates(W, 10, rule=go.gauss_legendre(2)).tolist() == [5, 6, 7, 8, 9]


def test_active_coordinates_agree_with_path_mass():
    # one-layer path mass is the in-degree at v_j
    W = Graphon.step([[0.5, 0.0, 1.0]])
    assert np.array_equal(active_coordinates(W, 9), np.flatnonzero(input_path_mass([W], 9) > 0))


def test_finite_mask():
    mask = np.array([[1, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]], dtype=np.uint8)
    assert active_coordinates(mask).tolist() == [0, 2, 3]
    assert active_coordinates(mask, 4).tolist() == [0, 2, 3]
    assert active_coordinates(mask.astype(bool)).tolist() == [0, 2, 3]
    # fractions of neurons reading each coordinate: 2/3, 0, 1/3, 1/3
    assert active_coordinates(mask, tol=0.5).tolist() == [0]


@settings(max_examples=20)
@given(hnp.arrays(np.float64, (4,), elements=st.sampled_from([0.0, 0.25, 0.5, 1.0])), st.integers(0, 2**32 - 1))
def test_sampled_mask_has_the_limit_active_set(values, seed):
    # a W-random mask never reads an inactive coordinate, and reads an active one (keep probability
    # >= 0.25 on all 400 rows) except with probability 0.75^400 < 1e-49
    W = Graphon.step(values[None, :])
    d, n = 12, 400
    rng = np.random.default_rng(seed)
    mask = sample_mask(W, n, d, seed=rng).mask
    assert np.array_equal(active_coordinates(mask), active_coordinates(W, d))


@settings(max_examples=10)
@given(hnp.arrays(np.float64, (3, 6), elements=st.floats(-3, 3)),
       hnp.arrays(np.float64, (3, 6), elements=st.floats(-3, 3)),
       st.sampled_from(["relu", "erf"]), st.sampled_from(["mean-field", "patterns"]))
def test_graphon_kernels_ignore_inactive_coordinates(X, noise, activation, first_layer):
    # the first layer's coefficient of x_j x'_j is 0 for an inactive j, so the kernels do not change
    # when those coordinates change (up to the rounding of sums that now add exact zeros: 1e-14)
    from graphon_ops.ntk import graphon_ntk

    W1 = Graphon.step([[0.0, 0.7, 0.0], [0.0, 1.0, 0.0]])
    graphons = [W1, Graphon.from_callable(lambda u, v: (1 + u * v) / 2)]
    inactive = np.setdiff1d(np.arange(6), active_coordinates(W1, 6))
    assert inactive.tolist() == [0, 1, 4, 5]
    X2 = X.copy()
    X2[:, inactive] += noise[:, inactive]
    kwargs = dict(activation=activation, sigma_b=0.3, first_layer=first_layer)
    original, perturbed = graphon_ntk(X, graphons, **kwargs), graphon_ntk(X2, graphons, **kwargs)
    scale = max(np.abs(original.ntk).max(), 1.0)
    assert np.allclose(original.nngp, perturbed.nngp, rtol=0, atol=1e-14 * scale)
    assert np.allclose(original.ntk, perturbed.ntk, rtol=0, atol=1e-14 * scale)


def test_finite_network_ignores_inactive_coordinates():
    # a masked MLP whose first-layer mask has zero columns computes a function of the active inputs
    from graphon_ops.pruning import MLP

    rng = np.random.default_rng(5)
    d, n = 7, 30
    first = (rng.random((n, d)) < 0.6).astype(np.uint8)
    first[:, [1, 4]] = 0
    active = active_coordinates(first)
    assert 1 not in active and 4 not in active
    net = MLP([d, n, n, 1], masks=[first, np.ones((n, n)), np.ones((1, n))], seed=6)
    X = rng.standard_normal((5, d))
    X2 = X.copy()
    X2[:, [1, 4]] = rng.standard_normal((5, 2)) * 100
    assert np.array_equal(net.forward(X)[0], net.forward(X2)[0])


@pytest.mark.parametrize("call, message", [
    (lambda: active_coordinates(Graphon.constant(0.5)), "d must be given"),
    (lambda: active_coordinates(Graphon.constant(0.5), 0), "d must be"),
    (lambda: active_coordinates(Graphon.constant(0.5), 3, tol=-1.0), "tol"),
    (lambda: active_coordinates(Graphon.constant(0.5), 3, tol=np.nan), "tol"),
    (lambda: active_coordinates(Graphon.constant(0.5), 3, rule="midpoint"), "rule"),
    (lambda: active_coordinates(np.ones((2, 3)), 4), "d must equal"),
    (lambda: active_coordinates(np.full((2, 3), 0.5)), "W1 must contain only 0 and 1"),
    (lambda: active_coordinates(np.ones(3)), "W1 must be a 2-D"),
    (lambda: active_coordinates(lambda u, v: u - 2.0, 3), r"W\(u, v\)"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
