"""Gradient descent on squared loss for a masked MLP (graphon_ops.pruning.training).

Oracles: central finite differences of the loss (computed through MLP.forward, not the training loop),
the empirical NTK J J^T of graphon_ops.empirical (first-order change of the outputs, and the kernel ODE
of lazy training with graphon_ops.predict), invariants of the masks, and bit-reproducibility.
"""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphon_ops.empirical import empirical_ntk
from graphon_ops.predict import gradient_descent_mse
from graphon_ops.pruning import MLP
from graphon_ops.pruning.training import TrainingResult, train_mse


def _data(n, d, k=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sin(3.0 * X[:, :k]) + 0.1 * rng.standard_normal((n, k))
    return X, y


def _random_masks(widths, density, seed):
    rng = np.random.default_rng(seed)
    masks = [(rng.random((widths[l + 1], widths[l])) < density).astype(np.uint8) for l in range(len(widths) - 2)]
    return masks + [np.ones((widths[-1], widths[-2]), dtype=np.uint8)]


def _with_params(net, weights, biases):
    return MLP(net.widths, masks=net.masks, _weights=weights, _biases=biases, **net._settings())


def _loss(net, X, y):
    """L = ||f(X) - Y||^2 / (2 N), N = y.size, through MLP.forward (independent of the training loop)."""
    out, _ = net.forward(X)
    return 0.5 * np.sum((out - y) ** 2) / y.size


# ---------------------------------------------------------------------------------------------- (a)
def test_step_uses_the_raw_parameter_gradient_of_the_loss():
    # Pruned (degree-normalised, so row scales differ) tanh network with biases and two outputs
    # (N = y.size = 2n), a kept readout mask with a pruned entry.
    widths = [3, 7, 5, 2]
    masks = _random_masks(widths, 0.6, seed=1)
    masks[-1][0, 1] = 0
    net = MLP(widths, activation="tanh", sigma_b=0.7, normalization="degree", seed=2).with_masks(masks)
    X, y = _data(6, 3, k=2, seed=3)
    # One step with learning_rate 1 moves the raw parameters by -grad exactly up to rounding:
    # grad_rec = omega_0 - omega_1 carries an error <= eps (|omega| + |grad|) ~ 1e-15.
    trained = train_mse(net, X, y, learning_rate=1.0, steps=1).network
    h = 1e-5
    rng = np.random.default_rng(4)
    # Central differences: truncation h^2/6 |L'''| ~ 2e-11 |L'''| (L''' = O(1-10) here, tanh, unit inputs)
    # plus rounding ~ 4 eps |L| / (2h) ~ 1e-11 |L| with |L| < 1: atol 1e-8 leaves a margin of >100.
    for l in range(len(widths) - 1):
        grad_w = net.weights[l] - trained.weights[l]
        grad_b = net.biases[l] - trained.biases[l]
        pruned = net.masks[l] == 0
        assert np.all(grad_w[pruned] == 0.0)            # exactly: c M = 0 there
        positions = [tuple(p) for p in np.argwhere(np.ones_like(grad_w, dtype=bool))]
        chosen = [positions[i] for i in rng.choice(len(positions), size=min(12, len(positions)), replace=False)]
        chosen += [tuple(p) for p in np.argwhere(pruned)[:2]]
        for pos in chosen:
            values = []
            for sign in (1.0, -1.0):
                weights = [w.copy() for w in net.weights]
                weights[l][pos] += sign * h
                values.append(_loss(_with_params(net, weights, net.biases), X, y))
            fd = (values[0] - values[1]) / (2 * h)
            if pruned[pos]:
                assert fd == 0.0                           # the loss does not see a pruned raw weight
            assert grad_w[pos] == pytest.approx(fd, abs=1e-8, rel=1e-6), (l, pos)
        for i in range(widths[l + 1]):
            values = []
            for sign in (1.0, -1.0):
                biases = [b.copy() for b in net.biases]
                biases[l][i] += sign * h
                values.append(_loss(_with_params(net, net.weights, biases), X, y))
            assert grad_b[i] == pytest.approx((values[0] - values[1]) / (2 * h), abs=1e-8, rel=1e-6), (l, i)


def test_raw_gradient_is_row_scale_times_mask_times_effective_gradient():
    # dL/domega = c M dL/dw; MLP.gradient normalises by the number of examples n, train_mse by N = n k.
    net = MLP([4, 6, 3], activation="erf", normalization="degree", seed=0).with_masks(_random_masks([4, 6, 3], 0.5, 1))
    X, y = _data(5, 4, k=3, seed=2)
    trained = train_mse(net, X, y, learning_rate=1.0, steps=1).network
    for l, grad_w in enumerate(net.gradient(X, y), start=1):
        expected = net.row_scales(l)[:, None] * net.masks[l - 1] * grad_w / 3
        np.testing.assert_allclose(net.weights[l - 1] - trained.weights[l - 1], expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------- (b1)
@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 31 - 1), density=st.floats(0.2, 1.0),
       activation=st.sampled_from(["tanh", "erf", "relu"]),
       normalization=st.sampled_from(["none", "density", "degree"]))
def test_loss_is_non_increasing_for_a_small_learning_rate(seed, density, activation, normalization):
    # Descent lemma: a step eta <= 1/beta on a beta-smooth loss does not increase it. Here the
    # Gauss-Newton part of the Hessian has norm lambda_max(J J^T)/N <= tr(Theta)/N = mean diag Theta,
    # about (L+1) sigma_w^2 |x|^2 ~ 3 for unit inputs (a few times more under "density"/"degree" for
    # sparse masks); eta = 0.02 keeps eta beta well below 1 (ReLU: piecewise smooth, kinks are rare at
    # such small steps). Rounding: the loss is summed to ~ n eps |L|, hence the slack 1e-13.
    widths = [3, 16, 16, 1]
    net = MLP(widths, activation=activation, normalization=normalization, sigma_b=0.3, seed=seed)
    net = net.with_masks(_random_masks(widths, density, seed + 1))
    X, y = _data(10, 3, seed=seed % 1000)
    loss = train_mse(net, X, y, learning_rate=0.02, steps=30).loss
    assert np.all(np.diff(loss) <= 1e-13 * loss[:-1] + 1e-300)
    assert loss[-1] < loss[0]


# ---------------------------------------------------------------------------------------------- (b2)
def test_masks_fixed_pruned_weights_stay_zero_and_input_untouched():
    widths = [4, 32, 32, 1]
    base = MLP(widths, sigma_b=0.5, seed=0)
    masks = [np.abs(base.weights[0]) > 1.0, np.abs(base.weights[1]) > 1.0, np.ones((1, 32))]
    net = base.with_masks(masks)
    before = [w.copy() for w in net.weights], [b.copy() for b in net.biases], [m.copy() for m in net.masks]
    X, y = _data(12, 4)
    result = train_mse(net, X, y, learning_rate=0.5, steps=40)
    trained = result.network
    for l in range(3):
        pruned = net.masks[l] == 0
        assert np.array_equal(trained.masks[l], net.masks[l])
        assert np.array_equal(trained.weights[l][pruned], net.weights[l][pruned])  # raw values untouched
        assert np.all(trained.effective_weights()[l][pruned] == 0.0)
        assert not np.array_equal(trained.weights[l][~pruned], net.weights[l][~pruned])  # kept ones trained
        np.testing.assert_array_equal(trained.row_scales(l + 1), net.row_scales(l + 1))
        # the input network is unchanged
        assert np.array_equal(net.weights[l], before[0][l]) and np.array_equal(net.biases[l], before[1][l])
        assert np.array_equal(net.masks[l], before[2][l])
    assert trained is not net and trained._settings() == net._settings() and trained.widths == net.widths


def test_recorded_outputs_match_the_networks_forward_pass():
    net = MLP([3, 20, 2], activation="gelu", sigma_b=0.2, seed=5)
    X, y = _data(7, 3, k=2, seed=1)
    X_test = _data(4, 3, seed=9)[0]
    result = train_mse(net, X, y, learning_rate=0.3, times=[0, 3, 3, 10], steps=12, X_test=X_test)
    assert isinstance(result, TrainingResult)
    assert result.fx_train.shape == (4, 7, 2) and result.fx_test.shape == (4, 4, 2) and result.loss.shape == (13,)
    assert result.steps == 12 and result.learning_rate == 0.3 and result.times.tolist() == [0, 3, 3, 10]
    # t = 0: bit-identical to the untrained network (same products in the same order)
    assert np.array_equal(result.fx_train[0], net.forward(X)[0])
    assert np.array_equal(result.fx_test[0], net.forward(X_test)[0])
    for i, t in enumerate(result.times):
        partial = train_mse(net, X, y, learning_rate=0.3, steps=int(t)).network
        np.testing.assert_allclose(result.fx_train[i], partial.forward(X)[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(result.fx_test[i], partial.forward(X_test)[0], rtol=0, atol=1e-13)
        assert result.loss[t] == pytest.approx(_loss(partial, X, y), rel=1e-12)
    assert result.loss[-1] == pytest.approx(_loss(result.network, X, y), rel=1e-12)
    # defaults: times = [0, steps]; steps = max(times); a 1-D y gives (T, n, 1)
    one = MLP([3, 8, 1], seed=0)
    assert train_mse(one, X, y[:, 0], steps=5).times.tolist() == [0, 5]
    assert train_mse(one, X, y[:, 0], times=[2, 4]).loss.shape == (5,)
    assert train_mse(one, X, y[:, 0], steps=0).fx_train.shape == (1, 7, 1)
    assert train_mse(one, X, y[:, 0], steps=3).fx_test is None


# ---------------------------------------------------------------------------------------------- (b3)
def test_first_step_is_minus_eta_over_n_times_ntk_residual_to_first_order():
    # f(theta - eta g) - f(theta) = -eta J g + (eta^2/2) g^T (d^2 f) g + O(eta^3), and J g = J J^T (f0 - Y)/N
    # = Theta (f0 - Y)/N with Theta = empirical_ntk (raw weights at kept positions and biases: exactly the
    # parameters trained). So err(eta) = |step - linear| = C eta^2 (1 + O(eta)): err(eta)/err(eta/2) -> 4,
    # and err / |linear change| = O(eta). A wrong Jacobian (e.g. gradients wrt the effective weights, or
    # missing biases) would leave an O(eta) error and a ratio of 2.
    widths = [3, 24, 24, 1]
    base = MLP(widths, activation="tanh", sigma_b=0.5, normalization="degree", seed=3)
    net = base.with_masks(_random_masks(widths, 0.5, seed=4))
    X, y = _data(9, 3, seed=5)
    f0 = net.forward(X)[0]
    theta = empirical_ntk(X, net)
    errors = []
    for eta in (1e-2, 5e-3):
        result = train_mse(net, X, y, learning_rate=eta, steps=1)
        linear = -eta / y.size * theta @ (f0 - y)
        change = result.network.forward(X)[0] - f0
        errors.append(np.abs(change - linear).max())
        assert errors[-1] <= 0.1 * eta * np.abs(linear).max()     # measured 5e-3 eta |linear|
    assert 3.5 < errors[0] / errors[1] < 4.5


# ---------------------------------------------------------------------------------------------- (b4)
def _lazy_deviation(width, seeds, eta=0.25, steps=80):
    X, y = _data(8, 4, seed=11)
    times = np.arange(0, steps + 1, 20)
    deviations = []
    for seed in seeds:
        net = MLP([4, width, 1], seed=seed)
        result = train_mse(net, X, y, learning_rate=eta, times=times)
        predicted = gradient_descent_mse(empirical_ntk(X, net), y, learning_rate=eta)(
            t=times, fx_train_0=result.fx_train[0])
        deviations.append(np.abs(result.fx_train - predicted).max())
        assert result.loss[-1] < 0.5 * result.loss[0]                 # it did train
    return float(np.mean(deviations))


def test_wide_network_tracks_the_kernel_ode_with_a_deviation_shrinking_with_width():
    # 80 steps of eta = 0.25 with eta lambda_max/N ~ 0.02: the exact discrete linear dynamics
    # (I - eta Theta/N)^k differ from the ODE e^{-eta Theta k/N} by about k (eta lambda/N)^2 / 2 |f0 - Y|
    # <~ 0.005 (measured 0.002-0.004). The rest is the kernel moving during training: measured mean over
    # 4 seeds 0.019 at width 256 and 0.005 at width 1024 (about 1/width; the worst case is
    # O(width^{-1/2})). Thresholds: 0.012 at width 1024 and a decrease by a factor > 1.5.
    narrow = _lazy_deviation(256, seeds=range(4))
    wide = _lazy_deviation(1024, seeds=range(4))
    assert wide < 0.012
    assert wide < narrow / 1.5


# ---------------------------------------------------------------------------------------------- (c)
def test_bit_reproducible_and_fresh_weights_path():
    widths = [5, 64, 64, 3]
    net = MLP(widths, sigma_b=0.1, normalization="density", seed=7).with_masks(_random_masks(widths, 0.3, 8))
    X, y = _data(20, 5, k=3, seed=2)
    X_test = _data(6, 5, seed=3)[0]
    first = train_mse(net, X, y, learning_rate=0.7, steps=25, times=[0, 5, 25], X_test=X_test)
    second = train_mse(net, X.tolist(), y, learning_rate=0.7, steps=25, times=np.array([0, 5, 25]), X_test=X_test)
    for name in ("times", "loss", "fx_train", "fx_test"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    for a, b in zip(first.network.weights + first.network.biases, second.network.weights + second.network.biases):
        assert np.array_equal(a, b)
    # results are read-only
    with pytest.raises(ValueError):
        first.loss[0] = 0.0
    # fresh weights: the same masks, another starting point
    fresh = train_mse(net.with_fresh_weights(seed=99), X, y, learning_rate=0.7, steps=25)
    assert not np.array_equal(fresh.fx_train[0], first.fx_train[0])
    assert all(np.array_equal(a, b) for a, b in zip(fresh.network.masks, net.masks))


def test_progress_bar(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    net = MLP([2, 4, 1], seed=0)
    X, y = _data(3, 2)
    with_bar = train_mse(net, X, y, steps=3, progress=True)
    assert np.array_equal(with_bar.loss, train_mse(net, X, y, steps=3).loss)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="tqdm"):
        train_mse(net, X, y, steps=3, progress=True)


# ---------------------------------------------------------------------------------------------- (d)
_NET = MLP([2, 4, 1], seed=0)
_X = np.ones((3, 2))
_Y = np.zeros(3)


@pytest.mark.parametrize("kwargs, name", [
    ({"net": "not a net"}, "net"),
    ({"X_train": np.ones((3, 5))}, "X_train"),
    ({"X_train": np.ones(3)}, "X_train"),
    ({"X_train": [[1.0, np.nan]] * 3}, "X_train"),
    ({"y_train": np.zeros(4)}, "y_train"),
    ({"y_train": np.zeros((3, 2))}, "y_train"),
    ({"y_train": [0.0, np.inf, 0.0]}, "y_train"),
    ({"X_test": np.ones((2, 3))}, "X_test"),
    ({"X_test": [[np.nan, 0.0]]}, "X_test"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"learning_rate": np.inf}, "learning_rate"),
    ({"learning_rate": True}, "learning_rate"),
    ({"steps": -1}, "steps"),
    ({"steps": 2.0}, "steps"),
    ({"steps": True}, "steps"),
    ({"steps": None, "times": None}, "steps"),
    ({"times": [1.0, 2.0]}, "times"),
    ({"times": [-1, 2]}, "times"),
    ({"times": [3, 1]}, "times"),
    ({"times": []}, "times"),
    ({"times": [[1, 2]]}, "times"),
    ({"times": [1, 9], "steps": 5}, "times"),
    ({"progress": "yes"}, "progress"),
])
def test_bad_inputs_raise_value_error_naming_the_argument(kwargs, name):
    arguments = {"net": _NET, "X_train": _X, "y_train": _Y, "steps": 2}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=name):
        train_mse(arguments.pop("net"), arguments.pop("X_train"), arguments.pop("y_train"), **arguments)


def test_divergence_is_reported():
    net = MLP([2, 64, 64, 1], seed=0)
    X, y = _data(4, 2)
    with pytest.raises(ValueError, match="learning_rate.*too large"):
        train_mse(net, X, 100 * y, learning_rate=1e4, steps=200)
