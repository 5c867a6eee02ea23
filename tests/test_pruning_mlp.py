"""Finite masked MLP: parameterisation, forward/backward, exact gradients and Hessian-vector products.

Finite-difference error bound used throughout: for a loss L that is C^3 along the line, the central
difference (L(w + eps e) - L(w - eps e)) / (2 eps) differs from the derivative by at most
eps^2 max|L'''| / 6 (truncation) + 2 u max|L| / eps (rounding, u = 1.1e-16). With eps = 1e-5 and
|L|, |L'''| = O(1) on these unit-scale networks this is below 1e-10 + 1e-10; the tests allow 1e-7
absolute + 1e-7 relative (a 100-fold margin for third derivatives up to O(100)). The mixed second
difference D(eps) = [L(+,+) - L(+,-) - L(-,+) + L(-,-)] / (4 eps^2) of u^T H v has truncation
c eps^2 + O(eps^4) with c of order 1e3 for random unit-variance directions over ~50 weights
(measured: the error falls exactly 100-fold per 10-fold smaller eps), so the tests use the Richardson
combination (4 D(eps/2) - D(eps)) / 3, which cancels the eps^2 term: with eps = 2e-3 the remaining
O(eps^4) truncation is below 1e-8 and the rounding 4 u |L| / eps^2 about 1e-10; the tests allow
1e-7 absolute + 1e-7 relative.
"""

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st

from graphon_ops.activations import get_activation
from graphon_ops.pruning import MLP
from tests.reference_pruning import naive_forward, naive_loss


def _batch(rng, n, d, n_out, loss):
    X = rng.standard_normal((n, d))
    y = rng.integers(0, n_out, n) if loss == "cross_entropy" else rng.standard_normal((n, n_out))
    return X, y


def _random_masks(rng, widths, density=0.7):
    return [(rng.random((widths[k + 1], widths[k])) < density).astype(np.uint8) for k in range(len(widths) - 1)]


def _reference_loss(net, weights, X, y, loss):
    return naive_loss(naive_forward(X, weights, net.biases, net.sigma_b, net.activation), y, loss)


# ---------------------------------------------------------------- parameterisation
def test_contract_attributes_and_shapes():
    net = MLP([3, 5, 4, 2], seed=0)
    assert net.widths == (3, 5, 4, 2) and net.depth == 2
    assert [w.shape for w in net.weights] == [(5, 3), (4, 5), (2, 4)]
    assert [b.shape for b in net.biases] == [(5,), (4,), (2,)]
    assert all(m.dtype == np.uint8 and m.all() for m in net.masks)
    assert net.activation.name == "relu" and net.normalization == "none"
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 1.0  # values are immutable


def test_raw_weights_are_standard_normal():
    # 200k draws: mean and variance within 5 standard errors (5/sqrt(2e5) ~ 0.011, variance SE ~ 0.016).
    net = MLP([500, 400, 1], seed=1)
    omega = net.weights[0]
    assert abs(omega.mean()) < 0.011 and abs(omega.var() - 1.0) < 0.016


def test_row_scales_closed_forms():
    rng = np.random.default_rng(0)
    masks = _random_masks(rng, [6, 5, 1], 0.5)
    masks[0][0] = 0  # a neuron with no inputs
    masks[0][1] = 1
    for normalization, expected in [
        ("none", np.full(5, 2.0 / np.sqrt(6))),
        ("density", np.full(5, 2.0 / np.sqrt(masks[0].mean() * 6))),
        ("degree", np.array([0.0] + [2.0 / np.sqrt(masks[0][i].sum()) for i in range(1, 5)])),
    ]:
        net = MLP([6, 5, 1], sigma_w=2.0, normalization=normalization, masks=masks, seed=0)
        np.testing.assert_allclose(net.row_scales(1), expected, rtol=1e-15)  # same formula: rounding only


def test_forward_matches_loop_reference():
    rng = np.random.default_rng(2)
    widths = [4, 6, 5, 3]
    net = MLP(widths, activation="tanh", sigma_w=1.3, sigma_b=0.4, normalization="degree",
              masks=_random_masks(rng, widths), seed=3)
    X = rng.standard_normal((3, 4))
    out, cache = net.forward(X)
    expected = naive_forward(X, net.effective_weights(), net.biases, net.sigma_b, net.activation)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-14)  # summation order only
    assert len(cache.pre) == 3 and len(cache.post) == 3 and cache.post[0] is not None
    np.testing.assert_allclose(cache.post[1], np.tanh(cache.pre[0]), rtol=1e-15)
    np.testing.assert_allclose(cache.pre[-1], out)


def test_backward_gives_per_example_output_derivatives():
    rng = np.random.default_rng(4)
    widths = [3, 4, 4, 2]
    net = MLP(widths, activation="erf", sigma_b=0.5, masks=_random_masks(rng, widths), seed=5)
    X = rng.standard_normal((2, 3))
    output_grad = rng.standard_normal((2, 2))
    _, cache = net.forward(X)
    deltas = net.backward(cache, output_grad)
    eps = 1e-5
    for layer in (1, 2):
        for s in range(2):
            for i in range(4):
                plus = naive_forward(X, net.effective_weights(), net.biases, net.sigma_b, net.activation,
                                     (layer, s, i, eps))
                minus = naive_forward(X, net.effective_weights(), net.biases, net.sigma_b, net.activation,
                                      (layer, s, i, -eps))
                fd = np.sum(output_grad * (plus - minus)) / (2 * eps)
                assert abs(fd - deltas[layer - 1][s, i]) < 1e-7 + 1e-7 * abs(fd)  # bound in module docstring
    np.testing.assert_array_equal(deltas[-1], output_grad)


# ---------------------------------------------------------------- gradients and Hg
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_gradient_matches_central_differences(activation, loss):
    rng = np.random.default_rng(6)
    widths = [3, 5, 4, 3]
    net = MLP(widths, activation=activation, sigma_b=0.3, masks=_random_masks(rng, widths), seed=7)
    X, y = _batch(rng, 4, 3, 3, loss)
    gradient = net.gradient(X, y, loss=loss)
    weights = net.effective_weights()
    assert abs(net.loss(X, y, loss) - _reference_loss(net, weights, X, y, loss)) < 1e-13
    eps = 1e-5
    for l, W in enumerate(weights):
        for idx in np.ndindex(W.shape):  # masked positions too: the derivative is w.r.t. the effective weight
            shifted = [w.copy() for w in weights]
            shifted[l][idx] += eps
            plus = _reference_loss(net, shifted, X, y, loss)
            shifted[l][idx] -= 2 * eps
            minus = _reference_loss(net, shifted, X, y, loss)
            fd = (plus - minus) / (2 * eps)
            # ReLU is piecewise linear: no kink lies within eps of a pre-activation for this seed, so the
            # same bound holds; smooth activations: the module-docstring bound.
            assert abs(fd - gradient[l][idx]) < 1e-7 + 1e-7 * abs(fd), (l, idx)


@pytest.mark.parametrize("activation", ["tanh", "erf", "gelu", "sigmoid"])
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_hessian_vector_product_matches_mixed_differences(activation, loss):
    rng = np.random.default_rng(8)
    widths = [3, 4, 4, 2]
    net = MLP(widths, activation=activation, sigma_w=1.5, sigma_b=0.3, masks=_random_masks(rng, widths), seed=9)
    X, y = _batch(rng, 3, 3, 2, loss)
    weights = net.effective_weights()
    u = [rng.standard_normal(w.shape) for w in weights]
    v = [rng.standard_normal(w.shape) for w in weights]
    hv = net.hessian_vector_product(X, y, v, loss=loss)

    def second_difference(eps):
        def at(su, sv):
            return _reference_loss(net, [w + su * eps * a + sv * eps * b for w, a, b in zip(weights, u, v)],
                                   X, y, loss)

        return (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * eps**2)

    mixed = (4 * second_difference(1e-3) - second_difference(2e-3)) / 3  # Richardson: eps^2 term cancels
    exact = sum(np.sum(a * b) for a, b in zip(u, hv))
    assert abs(mixed - exact) < 1e-7 + 1e-7 * abs(exact)  # bound in module docstring


def test_hessian_gradient_default_is_hg_and_symmetric():
    rng = np.random.default_rng(10)
    net = MLP([4, 6, 3], activation="tanh", seed=11)
    X, y = _batch(rng, 5, 4, 3, "cross_entropy")
    g = net.gradient(X, y, loss="cross_entropy")
    hg = net.hessian_vector_product(X, y, loss="cross_entropy")
    hg_explicit = net.hessian_vector_product(X, y, g, loss="cross_entropy")
    for a, b in zip(hg, hg_explicit):
        np.testing.assert_array_equal(a, b)
    u = [rng.standard_normal(w.shape) for w in net.weights]
    hu = net.hessian_vector_product(X, y, u, loss="cross_entropy")
    # u^T H g = g^T H u: the Hessian is symmetric; both sides are O(1) sums of O(100) terms (rounding ~1e-14)
    left = sum(np.sum(a * b) for a, b in zip(u, hg))
    right = sum(np.sum(a * b) for a, b in zip(g, hu))
    assert abs(left - right) < 1e-12 * max(1.0, abs(left))


def test_identity_network_squared_loss_hessian_is_gauss_newton():
    # Linear model f = w x (no hidden layer), squared loss: H v = v X^T X / N exactly.
    rng = np.random.default_rng(12)
    net = MLP([4, 1], activation="identity", seed=0)
    X, y = _batch(rng, 6, 4, 1, "squared")
    v = [rng.standard_normal((1, 4))]
    np.testing.assert_allclose(net.hessian_vector_product(X, y, v)[0], v[0] @ X.T @ X / 6, rtol=1e-13)


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**16))
def test_gradient_directional_derivative_property(d, n, n_out, seed):
    """Random architectures: g . v equals the central difference of L along v (erf: smooth)."""
    rng = np.random.default_rng(seed)
    widths = [d, n, n_out]
    net = MLP(widths, activation="erf", sigma_b=0.5, masks=_random_masks(rng, widths), seed=seed)
    X, y = _batch(rng, 3, d, n_out, "squared")
    weights = net.effective_weights()
    v = [rng.standard_normal(w.shape) for w in weights]
    eps = 1e-5
    plus = _reference_loss(net, [w + eps * a for w, a in zip(weights, v)], X, y, "squared")
    minus = _reference_loss(net, [w - eps * a for w, a in zip(weights, v)], X, y, "squared")
    exact = sum(np.sum(g * a) for g, a in zip(net.gradient(X, y), v))
    assert abs((plus - minus) / (2 * eps) - exact) < 1e-7 + 1e-7 * abs(exact)


# ---------------------------------------------------------------- initialisations and masks
def test_zero_and_antisymmetric_readouts_give_zero_output():
    X = np.random.default_rng(13).standard_normal((7, 5))
    zero = MLP([5, 8, 1], readout_init="zero", sigma_b=1.0, seed=0)
    doubled = MLP([5, 8, 1], readout_init="antisymmetric", sigma_b=1.0, seed=0)
    assert np.all(zero.forward(X)[0] == 0.0)
    # the two halves cancel exactly: identical activations times opposite weights
    assert np.all(np.abs(doubled.forward(X)[0]) < 1e-14)
    y = np.ones(7)
    assert np.all(zero.gradient(X, y)[0] == 0.0)
    assert np.abs(doubled.gradient(X, y)[0]).max() > 0.01


def test_with_masks_keeps_weights_and_changes_output():
    net = MLP([3, 4, 1], seed=0)
    masks = [np.zeros((4, 3), dtype=np.uint8), np.ones((1, 4), dtype=np.uint8)]
    pruned = net.with_masks(masks)
    for a, b in zip(net.weights, pruned.weights):
        np.testing.assert_array_equal(a, b)
    assert np.all(pruned.forward(np.ones((2, 3)))[0] == 0.0)  # no input reaches the output, no bias


def test_with_fresh_weights_keeps_everything_but_the_draws():
    rng = np.random.default_rng(15)
    widths = [3, 5, 4, 1]
    settings = dict(activation="tanh", sigma_w=1.3, sigma_b=0.2, normalization="degree")
    net = MLP(widths, masks=_random_masks(rng, widths), seed=0, **settings)
    fresh = net.with_fresh_weights(1)
    assert fresh.widths == net.widths and fresh.readout_init == net.readout_init
    assert (fresh.activation, fresh.sigma_w, fresh.sigma_b, fresh.normalization) == \
        (net.activation, net.sigma_w, net.sigma_b, net.normalization)
    for layer, (a, b) in enumerate(zip(net.masks, fresh.masks), start=1):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(net.row_scales(layer), fresh.row_scales(layer))
    # the draws of a network built on these masks from the same seed, and nothing like the old ones
    same_draws = MLP(widths, masks=net.masks, seed=1, **settings)
    for old, new, expected in zip(net.weights + net.biases, fresh.weights + fresh.biases,
                                  same_draws.weights + same_draws.biases):
        np.testing.assert_array_equal(new, expected)
        assert not np.any(new == old)  # continuous independent draws never coincide
    for a, b in zip(fresh.weights, net.with_fresh_weights(1).weights):
        np.testing.assert_array_equal(a, b)  # reproducible


def test_with_fresh_weights_redraws_kept_weights_to_unit_second_moment():
    # Keep |omega| > tau = sqrt(2) erfcinv(0.2) in a 400 x 400 layer: E[omega^2 | kept] = 1 + sqrt(2/pi)
    # tau exp(-tau^2/2) / 0.2 = 3.249; re-drawn, E[omega^2] = 1 with Var(omega^2) = 2. Each mean is
    # checked within 5 standard errors computed from its own sample.
    net = MLP([400, 400, 1], seed=0)
    tau = np.sqrt(2) * scipy.special.erfcinv(0.2)
    kept = np.abs(net.weights[0]) > tau
    pruned = net.with_masks([kept, np.ones((1, 400))])
    expected = 1 + np.sqrt(2 / np.pi) * tau * np.exp(-tau ** 2 / 2) / 0.2
    for weights, mean in [(pruned.weights[0], expected), (pruned.with_fresh_weights(1).weights[0], 1.0)]:
        squares = weights[kept] ** 2
        assert abs(squares.mean() - mean) < 5 * squares.std(ddof=1) / np.sqrt(squares.size)


def test_with_fresh_weights_redraws_the_readout_initialisation():
    X = np.random.default_rng(16).standard_normal((5, 3))
    zero = MLP([3, 6, 1], readout_init="zero", sigma_b=1.0, seed=0).with_fresh_weights(1)
    assert np.all(zero.weights[-1] == 0.0) and np.all(zero.forward(X)[0] == 0.0)
    doubled = MLP([3, 6, 1], readout_init="antisymmetric", sigma_b=1.0, seed=0).with_fresh_weights(1)
    np.testing.assert_array_equal(doubled.weights[0][3:], doubled.weights[0][:3])
    assert np.all(np.abs(doubled.forward(X)[0]) < 1e-14)  # identical halves cancel up to rounding
    asymmetric = [np.ones((6, 3)), np.array([[1, 1, 1, 1, 1, 0]])]
    pruned = MLP([3, 6, 1], readout_init="antisymmetric", seed=0).with_masks(asymmetric)
    with pytest.raises(ValueError, match="antisymmetric"):
        pruned.with_fresh_weights(1)


def test_parameters_and_effective_weights():
    rng = np.random.default_rng(14)
    masks = _random_masks(rng, [3, 4, 2])
    net = MLP([3, 4, 2], sigma_w=2.0, masks=masks, seed=0)
    np.testing.assert_allclose(net.parameters()[1], net.weights[1] * 2.0 / 2.0)
    np.testing.assert_array_equal(net.effective_weights()[0], net.parameters()[0] * masks[0])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(widths=[3]), "widths"),
    (dict(widths=[3, 0, 1]), "widths"),
    (dict(widths=[3, 2.5, 1]), "widths"),
    (dict(widths=[3, 2, 1], activation="softplus"), "activation"),
    (dict(widths=[3, 2, 1], normalization="batch"), "normalization"),
    (dict(widths=[3, 2, 1], sigma_w=-1.0), "sigma_w"),
    (dict(widths=[3, 2, 1], readout_init="ones"), "readout_init"),
    (dict(widths=[3, 3, 1], readout_init="antisymmetric"), "antisymmetric"),
    (dict(widths=[3, 1], readout_init="antisymmetric"), "antisymmetric"),
    (dict(widths=[3, 2, 1], masks=[np.ones((2, 3))]), "masks"),
    (dict(widths=[3, 2, 1], masks=[np.ones((3, 2)), np.ones((1, 2))]), "masks"),
    (dict(widths=[3, 2, 1], masks=[np.full((2, 3), 2), np.ones((1, 2))]), "masks"),
    (dict(widths=[3, 2, 1], normalization="density", masks=[np.zeros((2, 3)), np.ones((1, 2))]), "empty"),
    (dict(widths=[3, 2, 1], seed=-1), "seed"),
])
def test_constructor_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)


def test_methods_reject_bad_input():
    net = MLP([3, 4, 2], activation="tanh", seed=0)
    X = np.ones((2, 3))
    with pytest.raises(ValueError, match="X"):
        net.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="X"):
        net.forward(np.array([[np.nan, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="y"):
        net.loss(X, np.ones((2, 3)))
    with pytest.raises(ValueError, match="y"):
        net.loss(X, np.array([0, 2]), loss="cross_entropy")
    with pytest.raises(ValueError, match="y"):
        net.loss(X, np.array([0.5, 1.0]), loss="cross_entropy")
    with pytest.raises(ValueError, match="loss"):
        net.gradient(X, np.ones((2, 2)), loss="hinge")
    with pytest.raises(ValueError, match="vector"):
        net.hessian_vector_product(X, np.ones((2, 2)), [np.ones((4, 3))])
    with pytest.raises(ValueError, match="vector"):
        net.hessian_vector_product(X, np.ones((2, 2)), [np.ones((4, 2)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="output_grad"):
        net.backward(net.forward(X)[1], np.ones((2, 3)))
    with pytest.raises(ValueError, match="layer"):
        net.row_scales(3)
    custom = get_activation("relu").__class__("abs", np.abs, np.sign)
    with pytest.raises(ValueError, match="second derivative"):
        MLP([3, 2, 1], activation=custom).hessian_vector_product(X, np.ones(2))


def test_huge_widths_and_batches_are_refused_before_allocation(monkeypatch):
    """Widths [10, 10**6, 10**6, 1] hold 1.0e12 weights (17 bytes each while drawn: 15.5 TiB), and a batch of
    10**6 rows through a width-10**6 layer needs N x n float64 arrays of 7.3 TiB each: both refused naming the
    argument, before the weights are drawn or a pass starts. A small budget refuses small sizes the same way."""
    import graphon_ops as go
    from graphon_ops.pruning.mlp import ForwardCache

    with go.options(memory_budget_bytes=2**30):
        with pytest.raises(ValueError, match=r"MLP with widths \[10, 1000000, 1000000, 1\] \(1000011000000 weights"
                                             r".*would need about 15\.5 TiB, more than the memory budget of 1\.0 GiB"):
            MLP([10, 10**6, 10**6, 1], seed=0)
        net = MLP([1, 10**6, 1], seed=0)                         # 2e6 weights: 34 MB
        monkeypatch.setattr(MLP, "effective_weights", lambda self: pytest.fail("a pass started"))
        X, y = np.zeros((10**6, 1)), np.zeros(10**6)
        calls = {"forward": lambda: net.forward(X), "loss": lambda: net.loss(X, y),
                 "gradient": lambda: net.gradient(X, y),
                 "hessian_vector_product": lambda: net.hessian_vector_product(X, y),
                 "backward": lambda: net.backward(ForwardCache([np.zeros((10**6, 1))], []), np.ones((10**6, 1)))}
        for method, call in calls.items():
            rows_of = "output_grad" if method == "backward" else "X"
            with pytest.raises(ValueError, match=rf"MLP\.{method} on the 1000000 rows of {rows_of} \(\d float64 "
                                                 rf"arrays of 1000000 x 1000001 .* TiB"):
                call()
    monkeypatch.undo()
    with go.options(memory_budget_bytes=2**10):
        with pytest.raises(ValueError, match=r"MLP with widths \[3, 100, 1\]"):
            MLP([3, 100, 1], seed=0)
    small = MLP([3, 100, 1], seed=0)
    X = np.ones((1000, 3))
    with go.options(memory_budget_bytes=2**20):                  # forward: 2 x 8 x 1000 x 101 bytes = 1.5 MiB
        with pytest.raises(ValueError, match=r"MLP\.forward on the 1000 rows of X"):
            small.forward(X)
    with go.options(memory_budget_bytes=2**22):
        assert small.forward(X)[0].shape == (1000, 1)
