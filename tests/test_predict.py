"""graphon_ops.predict against independent oracles (docs/theory/predictions.rst).

Oracles: dense ``scipy.linalg.expm`` closed form, ``numpy.linalg.solve`` kernel regression, explicit
Euler integration of the gradient-flow ODE (Richardson-extrapolated), the GP posterior by direct
solves, the ensemble's closed form at infinite time, and hypothesis properties.
"""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from graphon_ops.predict import Gaussian, gp_inference, gradient_descent_mse, gradient_descent_mse_ensemble

TIMES = (0.0, 3.0, 50.0, 1e4)  # acceptance times for the closed-form oracle


def spd(rng, n, low=0.1, high=2.0):
    """Random symmetric positive definite matrix with eigenvalues in [low, high] (condition <= 20)."""
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    K = (Q * rng.uniform(low, high, n)) @ Q.T
    return 0.5 * (K + K.T)


def joint_kernel(rng, n, m, d=None, ridge=0.0):
    """Train/test blocks of one PSD kernel X X^T / d (+ ridge on the training block)."""
    d = d if d is not None else n + m
    X = rng.standard_normal((n + m, d))
    G = X @ X.T / d
    return G[:n, :n] + ridge * np.eye(n), G[n:, :n], G[n:, n:]


def expm_oracle(K, Kt, Y, f0, ft0, eta, t):
    """Closed form with dense matrix exponentials and a linear solve (K invertible)."""
    N = Y.size
    E = scipy.linalg.expm(-eta * K * t / N)
    f_train = Y + E @ (f0 - Y)
    f_test = ft0 + Kt @ np.linalg.solve(K, (np.eye(len(K)) - E) @ (Y - f0))
    return f_train, f_test


# ---------------------------------------------------------------------------------------- (a) expm


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("eta", [1.0, 0.3])
def test_matches_dense_expm_closed_form(rng, k, eta):
    n, m = 7, 4
    K = spd(rng, n)
    Kt = rng.standard_normal((m, n))
    shape = (n,) if k is None else (n, k)
    Y = rng.standard_normal(shape)
    f0 = rng.standard_normal(shape)
    ft0 = rng.standard_normal((m,) + shape[1:])
    predict_fn = gradient_descent_mse(K, Y, learning_rate=eta)
    train, test = predict_fn(np.array(TIMES), f0, ft0, Kt)
    assert train.shape == (len(TIMES),) + shape and test.shape == (len(TIMES), m) + shape[1:]
    for i, t in enumerate(TIMES):
        f_train, f_test = expm_oracle(K, Kt, Y, f0, ft0, eta, t)
        # Both sides are O(1) with errors of a few eps * cond(K) (= 20) * ||.||: far below 1e-9.
        np.testing.assert_allclose(train[i], f_train, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(test[i], f_test, rtol=1e-9, atol=1e-9)
        # a scalar time gives the same values without the time axis
        scalar_train, scalar_test = predict_fn(t, f0, ft0, Kt)
        np.testing.assert_allclose(scalar_train, train[i], rtol=0, atol=1e-14)
        np.testing.assert_allclose(scalar_test, test[i], rtol=0, atol=1e-14)


def test_two_dimensional_time_array_adds_its_shape(rng):
    K, Kt, _ = joint_kernel(rng, 5, 2, ridge=0.1)
    predict_fn = gradient_descent_mse(K, rng.standard_normal((5, 2)))
    train, test = predict_fn(np.ones((2, 3)), 0.0, 0.0, Kt)
    assert train.shape == (2, 3, 5, 2) and test.shape == (2, 3, 2, 2)


# ---------------------------------------------------------------------------------------- (b) t = inf


@pytest.mark.parametrize("k", [None, 2])
def test_infinite_time_is_kernel_regression(rng, k):
    n, m = 9, 5
    K, Kt, _ = joint_kernel(rng, n, m, ridge=0.05)
    shape = (n,) if k is None else (n, k)
    Y, f0 = rng.standard_normal(shape), rng.standard_normal(shape)
    ft0 = rng.standard_normal((m,) + shape[1:])
    predict_fn = gradient_descent_mse(K, Y, learning_rate=0.7)
    expected = ft0 + Kt @ np.linalg.solve(K, Y - f0)
    # cond(K) is about 1e2: eigenbasis solve and LU solve agree to ~cond * eps ~ 1e-13.
    for t in (None, np.inf):
        train, test = predict_fn(t, f0, ft0, Kt)
        np.testing.assert_array_equal(train, Y)
        np.testing.assert_allclose(test, expected, rtol=1e-11, atol=1e-11)
    # infinite time inside an array of times; large finite times converge to it
    train, test = predict_fn(np.array([1e9, np.inf]), f0, ft0, Kt)
    np.testing.assert_allclose(test[1], expected, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(test[0], expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(train[0], Y, rtol=1e-9, atol=1e-9)
    # fx_train_0=None: test outputs only, with zero initial training outputs
    test_only = predict_fn(None, None, ft0, Kt)
    np.testing.assert_allclose(test_only, ft0 + Kt @ np.linalg.solve(K, Y), rtol=1e-11, atol=1e-11)


def test_diag_reg_relative_and_absolute(rng):
    n, m = 8, 3
    K, Kt, _ = joint_kernel(rng, n, m, d=3)  # rank 3: singular
    Y = rng.standard_normal(n)
    r = 1e-2
    relative = gradient_descent_mse(K, Y, diag_reg=r)
    absolute = gradient_descent_mse(K, Y, diag_reg=r * np.trace(K) / n, diag_reg_absolute_scale=True)
    expected = Kt @ np.linalg.solve(K + r * np.trace(K) / n * np.eye(n), Y)
    # cond(K + ridge) <= (lambda_max + ridge) / ridge ~ 1e3: error ~ 1e3 eps.
    for fn in (relative, absolute):
        np.testing.assert_allclose(fn(None, 0.0, 0.0, Kt)[1], expected, rtol=1e-10, atol=1e-10)
    # finite times use the regularised kernel too
    t = 5.0
    E = scipy.linalg.expm(-(K + r * np.trace(K) / n * np.eye(n)) * t / n)
    np.testing.assert_allclose(relative(t), Y - E @ Y, rtol=1e-10, atol=1e-10)


def test_singular_kernel_refused_at_infinite_time_only(rng):
    K, Kt, _ = joint_kernel(rng, 8, 3, d=3)
    predict_fn = gradient_descent_mse(K, rng.standard_normal(8))
    with pytest.raises(ValueError, match=r"condition number .* diag_reg"):
        predict_fn(None, 0.0, 0.0, Kt)
    with pytest.raises(ValueError, match="numerically singular"):
        predict_fn([1.0, np.inf])
    assert np.all(np.isfinite(predict_fn(1e6, 0.0, 0.0, Kt)[1]))


# ---------------------------------------------------------------------------------------- (c) rank deficient


def test_rank_deficient_kernel_finite_and_closed_form_on_range(rng):
    n, m, d = 10, 4, 3
    X = rng.standard_normal((n + m, d))
    K, Kt = X[:n] @ X[:n].T, X[n:] @ X[:n].T  # rank 3
    Y, f0, ft0 = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    N = Y.size
    predict_fn = gradient_descent_mse(K, Y)
    U, s, _ = np.linalg.svd(X[:n], full_matrices=True)
    P = U[:, :d] @ U[:, :d].T  # projection on the range of K
    for t in TIMES:
        train, test = predict_fn(t, f0, ft0, Kt)
        assert np.all(np.isfinite(train)) and np.all(np.isfinite(test))
        E = scipy.linalg.expm(-K * t / N)  # expm needs no inverse
        # range: P (f - Y) decays by e^{-Kt/N}; null space: f stays at f0
        np.testing.assert_allclose(P @ (train - Y), E @ P @ (f0 - Y), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose((np.eye(n) - P) @ train, (np.eye(n) - P) @ f0, rtol=1e-9, atol=1e-9)
        # test kernel from the same features: K_* annihilates null(K), so the pseudo-inverse form holds
        expected = ft0 + Kt @ np.linalg.pinv(K) @ (np.eye(n) - E) @ (Y - f0)
        np.testing.assert_allclose(test, expected, rtol=1e-8, atol=1e-8)


def test_exactly_zero_kernel_gives_linear_test_drift(rng):
    """lambda = 0 everywhere: g = eta t / N, so f_test(t) = f_test(0) + 0 and f_train stays put."""
    predict_fn = gradient_descent_mse(np.zeros((3, 3)), np.ones(3))
    train, test = predict_fn(7.0, 2.0, 1.0, np.ones((2, 3)))
    np.testing.assert_array_equal(train, 2.0 * np.ones(3))
    # K_* (eta t/N) (Y - f0) = 1 * 7/3 * (-1) * 3 = -7
    np.testing.assert_allclose(test, 1.0 - 7.0, rtol=1e-15)


def test_extreme_eigenvalues_and_times_stay_accurate():
    """g(lambda, s) = (1 - e^{-lambda s/N}) / lambda across 600 decades, including lambda s overflow."""
    values = np.array([0.0, 1e-300, 1.0, 1e10])
    predict_fn = gradient_descent_mse(np.diag(values), np.ones(4))
    times = np.array([1.0, 1e300, 1.7e308])
    _, test = predict_fn(times, 0.0, 0.0, np.eye(4))      # test = g(lambda, t) since Y - f0 = 1
    with np.errstate(over="ignore"):
        x = np.outer(times / 4, values)  # lambda t / N, N = 4
    phi = np.where(x > 0, -np.expm1(-x) / np.where(x > 0, x, 1.0), 1.0)
    expected = np.where(x <= 1, (times / 4)[:, None] * phi, 1.0 / np.where(values > 0, values, 1.0))
    np.testing.assert_allclose(test, expected, rtol=1e-14)
    assert test[2, 1] == pytest.approx(1e300, rel=1e-14) and test[1, 0] == pytest.approx(2.5e299, rel=1e-14)


# ---------------------------------------------------------------------------------------- (d) Euler


def euler(K, Kt, Y, f0, ft0, eta, t, steps):
    """Explicit Euler on df/dt = -eta K (f - Y)/N, df_test/dt = -eta K_*X (f - Y)/N."""
    N = Y.size
    h = t / steps
    f, ft = f0.copy(), ft0.copy()
    for _ in range(steps):
        grad = (f - Y) * (eta / N)
        f = f - h * (K @ grad)
        ft = ft - h * (Kt @ grad)
    return f, ft


def test_matches_euler_integration(rng):
    n, m, d = 6, 3, 4
    X = rng.standard_normal((n + m, d))
    K, Kt = X[:n] @ X[:n].T / d, X[n:] @ X[:n].T / d  # rank 4 of 6: covers the singular case
    Y, f0, ft0 = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(m)
    eta, t = 1.5, 3.0
    train, test = gradient_descent_mse(K, Y, learning_rate=eta)(t, f0, ft0, Kt)
    # Euler's global error is C h + O(h^2); Richardson 2 f_{h/2} - f_h cancels C h. With h = 1.5e-4,
    # eta ||K|| / N <= 2 the remaining O(h^2) term is ~1e-8; rounding over 4e4 steps ~1e-12.
    a = euler(K, Kt, Y, f0, ft0, eta, t, 20000)
    b = euler(K, Kt, Y, f0, ft0, eta, t, 40000)
    np.testing.assert_allclose(train, 2 * b[0] - a[0], rtol=0, atol=1e-7)
    np.testing.assert_allclose(test, 2 * b[1] - a[1], rtol=0, atol=1e-7)


def gradient_steps(K, Kt, Y, f0, ft0, eta, steps):
    """The linearised network's gradient steps, one by one: f <- f - (eta/N) K (f - Y)."""
    N = Y.size
    f, ft = f0.copy(), ft0.copy()
    for _ in range(steps):
        grad = (f - Y) * (eta / N)
        f, ft = f - K @ grad, ft - Kt @ grad
    return f, ft


@pytest.mark.parametrize("rank", [6, 4])
@pytest.mark.parametrize("top_rate", [0.3, 1.0, 1.7])  # eta lambda_max / N: monotone, exactly 1, oscillating
def test_discrete_time_is_the_gradient_step_recursion(rng, rank, top_rate):
    n, m = 6, 3
    X = rng.standard_normal((n + m, rank))
    K, Kt = X[:n] @ X[:n].T / rank, X[n:] @ X[:n].T / rank   # rank 4 of 6: the singular case
    Y, f0, ft0 = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(m)
    eta = top_rate * n / np.linalg.eigvalsh(K)[-1]
    steps = [0, 1, 2, 7, 40]
    train, test = gradient_descent_mse(K, Y, learning_rate=eta, discrete_time=True)(steps, f0, ft0, Kt)
    assert np.all(np.isfinite(train)) and np.all(np.isfinite(test))
    for i, k in enumerate(steps):
        # the recursion accumulates k roundings of O(eps ||K|| |f|): 1e-12 is ~1e3 eps at k = 40
        f, ft = gradient_steps(K, Kt, Y, f0, ft0, eta, k)
        np.testing.assert_allclose(train[i], f, rtol=0, atol=1e-12)
        np.testing.assert_allclose(test[i], ft, rtol=0, atol=1e-12)


def test_discrete_time_approaches_the_flow_for_small_steps(rng):
    """k steps of size eta/k of the map equal the flow at time eta up to O(eta^2 lambda^2 / (N^2 k))."""
    n, m = 5, 2
    K, Kt, _ = joint_kernel(rng, n, m)
    Y, f0, ft0 = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(m)
    flow = gradient_descent_mse(K, Y, learning_rate=1.0)(3.0, f0, ft0, Kt)
    gaps = []
    for k in (100, 200):
        steps = gradient_descent_mse(K, Y, learning_rate=3.0 / k, discrete_time=True)(k, f0, ft0, Kt)
        gaps.append(max(np.abs(steps[0] - flow[0]).max(), np.abs(steps[1] - flow[1]).max()))
    assert gaps[1] < 0.6 * gaps[0]          # first order in the step: halving it halves the gap
    assert gaps[1] < 1e-2


def test_discrete_time_infinite_time_and_refusals(rng):
    K, Kt, _ = joint_kernel(rng, 5, 2)
    Y = rng.standard_normal(5)
    top = np.linalg.eigvalsh(K)[-1]
    steps = gradient_descent_mse(K, Y, learning_rate=1.5 * 5 / top, discrete_time=True)
    flow = gradient_descent_mse(K, Y, learning_rate=1.0)
    np.testing.assert_allclose(steps(None, 0.0, 0.0, Kt)[1], flow(None, 0.0, 0.0, Kt)[1], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"whole numbers.*2\.5"):
        steps(2.5, 0.0)
    with pytest.raises(ValueError, match=r"learning_rate=.* too large .* >= 2"):
        gradient_descent_mse(K, Y, learning_rate=2.01 * 5 / top, discrete_time=True)
    with pytest.raises(ValueError, match="discrete_time must be True or False"):
        gradient_descent_mse(K, Y, discrete_time="yes")


def test_ensemble_discrete_time_is_the_law_of_networks_after_t_steps(rng):
    """Linear models f = Phi theta with f(0) = Psi z, z ~ N(0, I): the outputs after t steps are linear in
    (z, Y), so their exact mean and covariance follow from the step recursion applied to Psi's columns."""
    n, m, p = 5, 3, 7
    Phi, Psi = rng.standard_normal((n + m, p)), rng.standard_normal((n + m, p))
    ntk, nngp = Phi @ Phi.T / p, Psi @ Psi.T / p
    Y = rng.standard_normal(n)
    eta = 1.3 * n / np.linalg.eigvalsh(ntk[:n, :n])[-1]
    steps = [0, 2, 9]
    fn = gradient_descent_mse_ensemble(ntk[:n, :n], nngp[:n, :n], Y, eta, discrete_time=True)
    got = fn(steps, ntk[n:, :n], nngp[n:, :n], nngp[n:, n:])
    for i, k in enumerate(steps):
        _, mean = gradient_steps(ntk[:n, :n], ntk[n:, :n], Y, np.zeros(n), np.zeros(m), eta, k)
        response = np.empty((m, p))     # test outputs after k steps per unit of z_j, Y = 0 (N = n as for Y)
        for j in range(p):
            f, ft = Psi[:n, j] / np.sqrt(p), Psi[n:, j] / np.sqrt(p)
            for _ in range(k):
                grad = f * (eta / n)
                f, ft = f - ntk[:n, :n] @ grad, ft - ntk[n:, :n] @ grad
            response[:, j] = ft
        np.testing.assert_allclose(got.mean[i], mean, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.covariance[i], response @ response.T, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------- (e) GP inference


@pytest.mark.parametrize("k", [None, 3])
def test_gp_inference_matches_direct_formula(rng, k):
    n, m = 8, 5
    K, Kt, Ktt = joint_kernel(rng, n, m, ridge=0.1)
    Y = rng.standard_normal((n,) if k is None else (n, k))
    predict_fn = gp_inference(K, Y)
    Kinv = np.linalg.inv(K)
    mean, cov = predict_fn(Kt, Ktt)
    # cond(K) ~ 1e2: inverse-based and Cholesky-based formulas agree to ~1e-13.
    np.testing.assert_allclose(mean, Kt @ Kinv @ Y, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(cov, Ktt - Kt @ Kinv @ Kt.T, rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(cov, cov.T)
    np.testing.assert_allclose(predict_fn(Kt), mean, rtol=0, atol=0)
    # training set: N(Y, 0)
    train = predict_fn(None, True)
    np.testing.assert_array_equal(train.mean, Y)
    np.testing.assert_array_equal(train.covariance, np.zeros((n, n)))
    # regularised: K + diag_reg * tr(K)/n * I
    r = 0.3
    reg_mean = gp_inference(K, Y, diag_reg=r)(Kt)
    np.testing.assert_allclose(reg_mean, Kt @ np.linalg.solve(K + r * np.trace(K) / n * np.eye(n), Y),
                               rtol=1e-11, atol=1e-11)
    # the GP mean with the NTK is the infinite-time gradient-descent prediction
    np.testing.assert_allclose(gradient_descent_mse(K, Y)(None, None, 0.0, Kt), mean, rtol=1e-10, atol=1e-10)


def test_gp_inference_refuses_singular_kernel(rng):
    K, Kt, _ = joint_kernel(rng, 8, 2, d=3)
    with pytest.raises(ValueError, match="diag_reg"):
        gp_inference(K, np.ones(8))
    assert np.all(np.isfinite(gp_inference(K, np.ones(8), diag_reg=1e-6)(Kt)))


# ---------------------------------------------------------------------------------------- (f) ensemble


def ensemble_oracle(ntk, nngp, ntk_t, nngp_t, nngp_tt, Y, eta, t):
    """Lee et al. (2019) eq. 16 with dense expm and solves (t = inf: A = Theta^-1)."""
    n = len(ntk)
    if np.isinf(t):
        A = np.linalg.inv(ntk)
    else:
        A = np.linalg.solve(ntk, np.eye(n) - scipy.linalg.expm(-eta * ntk * t / Y.size))
    mean = ntk_t @ A @ Y
    cov = nngp_tt + ntk_t @ A @ nngp @ A @ ntk_t.T - ntk_t @ A @ nngp_t.T - nngp_t @ A @ ntk_t.T
    return mean, cov


@pytest.mark.parametrize("t", [np.inf, 0.0, 3.0, 50.0])
def test_ensemble_matches_closed_form(rng, t):
    n, m = 7, 4
    X = rng.standard_normal((n + m, 12))
    G1, G2 = X @ X.T / 12, np.tanh(X @ X.T / 12) + 0.1 * np.eye(n + m)
    nngp, nngp_t, nngp_tt = G1[:n, :n], G1[n:, :n], G1[n:, n:]
    ntk, ntk_t = (G1 + G2)[:n, :n], (G1 + G2)[n:, :n]
    Y = rng.standard_normal((n, 2))
    predict_fn = gradient_descent_mse_ensemble(ntk, nngp, Y, learning_rate=0.8)
    mean, cov = predict_fn(None if np.isinf(t) else t, ntk_t, nngp_t, nngp_tt)
    expected_mean, expected_cov = ensemble_oracle(ntk, nngp, ntk_t, nngp_t, nngp_tt, Y, 0.8, t)
    # cond(ntk) ~ 1e2, entries O(1): agreement to ~1e-13.
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cov, expected_cov, rtol=1e-10, atol=1e-10)
    # the mean is gradient_descent_mse from zero initial outputs
    np.testing.assert_allclose(mean, gradient_descent_mse(ntk, Y, 0.8)(None if np.isinf(t) else t, None, 0.0, ntk_t),
                               rtol=1e-12, atol=1e-12)
    if t == 0.0:  # at initialisation: N(0, NNGP)
        np.testing.assert_allclose(mean, 0.0, atol=1e-15)
        np.testing.assert_allclose(cov, nngp_tt, atol=1e-14)


def test_ensemble_training_points_and_gp_limit(rng):
    n, m = 6, 3
    K, Kt, Ktt = joint_kernel(rng, n, m, ridge=0.2)
    Y = rng.standard_normal(n)
    predict_fn = gradient_descent_mse_ensemble(K, K, Y)
    # NTK = NNGP at t = inf: the GP posterior
    gp = gp_inference(K, Y)(Kt, Ktt)
    ens = predict_fn(None, Kt, Kt, Ktt)
    assert isinstance(ens, Gaussian)
    np.testing.assert_allclose(ens.mean, gp.mean, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ens.covariance, gp.covariance, rtol=1e-10, atol=1e-10)
    # training points: mean (I - E) Y, covariance E K E
    t = np.array([0.0, 2.0, np.inf])
    train = predict_fn(t, nngp_test_test=True)
    for i, ti in enumerate(t):
        E = scipy.linalg.expm(-K * ti / n) if np.isfinite(ti) else np.zeros((n, n))
        np.testing.assert_allclose(train.mean[i], Y - E @ Y, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(train.covariance[i], E @ K @ E, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(predict_fn(2.0), train.mean[1], rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="nngp_test_train"):
        predict_fn(1.0, Kt, None, Ktt)


# ---------------------------------------------------------------------------------------- (g) properties


@st.composite
def problems(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rank = draw(st.integers(0, n))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, rank)) * draw(st.floats(1e-3, 1e3))
    K = X @ X.T
    return K, rng.standard_normal((n, k)), rng.standard_normal((n, k)) * draw(st.floats(0.0, 10.0))


@given(problems(), st.lists(st.floats(0.0, 1e6), min_size=2, max_size=8), st.floats(1e-3, 10.0))
def test_loss_non_increasing_and_initial_value(problem, times, eta):
    K, Y, f0 = problem
    times = np.sort(np.array(times))
    train = gradient_descent_mse(K, Y, learning_rate=eta)(times, f0)
    assert np.all(np.isfinite(train))
    loss = 0.5 * np.sum((train - Y) ** 2, axis=(1, 2)) / Y.size
    # L(t) = sum_i e^{-2 eta lambda_i t/N} c_i^2 / (2N) is non-increasing; rounding of the eigenbasis
    # round trip is a few eps relative to L(0) (V orthogonal to ~n eps).
    scale = 0.5 * np.sum((f0 - Y) ** 2) / Y.size
    assert np.all(np.diff(loss) <= 1e-12 * (scale + 1e-300) + 1e-300)
    # f_train(0) = fx_train_0: expm1(0) = 0 exactly
    np.testing.assert_array_equal(gradient_descent_mse(K, Y, learning_rate=eta)(0.0, f0), f0)


# ---------------------------------------------------------------------------------------- validation


def test_validation_errors_name_the_argument(rng):
    K = spd(rng, 4)
    Y = np.ones(4)
    asym = K.copy()
    asym[0, 1] += 1e-6
    cases = [
        (lambda: gradient_descent_mse(asym, Y), "k_train_train must be symmetric"),
        (lambda: gradient_descent_mse(K[:3], Y), "k_train_train must be a square"),
        (lambda: gradient_descent_mse(K, np.ones(5)), r"k_train_train must have shape \(5, 5\)"),
        (lambda: gradient_descent_mse(np.where(np.eye(4) > 0, np.nan, K), Y), "k_train_train must be finite"),
        (lambda: gradient_descent_mse(K, np.ones((4, 2, 2))), "y_train must have"),
        (lambda: gradient_descent_mse(K, Y, learning_rate=0.0), "learning_rate must be"),
        (lambda: gradient_descent_mse(K, Y, learning_rate=np.inf), "learning_rate must be"),
        (lambda: gradient_descent_mse(K, Y, diag_reg=-1.0), "diag_reg must be"),
        (lambda: gradient_descent_mse(K, np.ones((4, 2)), trace_axes=(0,)), "trace_axes"),
        (lambda: gradient_descent_mse(-K, Y), "positive semi-definite"),
        (lambda: gradient_descent_mse(K, Y)(-1.0), "t must be >= 0"),
        (lambda: gradient_descent_mse(K, Y)([1.0, np.nan]), "t must be >= 0"),
        (lambda: gradient_descent_mse(K, Y)(1.0, None, None), "both None"),
        (lambda: gradient_descent_mse(K, Y)(1.0, 0.0, 0.0), "k_test_train"),
        (lambda: gradient_descent_mse(K, Y)(1.0, 0.0, 0.0, np.ones((2, 3))), "k_test_train must have shape"),
        (lambda: gradient_descent_mse(K, Y)(1.0, np.ones(3)), "fx_train_0 must be"),
        (lambda: gradient_descent_mse(K, Y)(1.0, 0.0, np.ones(3), np.ones((2, 4))), "fx_test_0 must be"),
        (lambda: gp_inference(K, Y)(np.ones((2, 4)), np.ones((3, 3))), "k_test_test must have shape"),
        (lambda: gp_inference(-K, Y), "not positive definite"),
        (lambda: gradient_descent_mse_ensemble(K, asym, Y), "nngp_train_train must be symmetric"),
        (lambda: gradient_descent_mse_ensemble(K, K, Y)(1.0, np.ones((2, 4)), np.ones((3, 4)), np.eye(2)),
         "nngp_test_train must have shape"),
    ]
    for fn, message in cases:
        with pytest.raises(ValueError, match=message):
            fn()


def test_returned_outputs_follow_neural_tangents(rng):
    K, Kt, _ = joint_kernel(rng, 5, 2, ridge=0.1)
    predict_fn = gradient_descent_mse(K, np.ones(5))
    assert predict_fn(1.0).shape == (5,)                                      # fx_train only
    assert predict_fn(1.0, 0.0, None, Kt).shape == (5,)                       # fx_test_0=None: no test outputs
    assert predict_fn(1.0, None, 0.0, Kt).shape == (2,)                       # fx_train_0=None: test only
    train, test = predict_fn(1.0, 0.0, 0.0, Kt)
    assert train.shape == (5,) and test.shape == (2,)


# ---------------------------------------------------------------------------------------- neural-tangents


def test_agrees_with_neural_tangents_if_installed(rng):
    nt_predict = pytest.importorskip("neural_tangents").predict
    jnp = pytest.importorskip("jax.numpy")
    pytest.importorskip("jax").config.update("jax_enable_x64", True)
    n, m = 6, 3
    K, Kt, _ = joint_kernel(rng, n, m, ridge=0.1)
    Y, f0, ft0 = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    ours = gradient_descent_mse(K, Y, 0.5, diag_reg=1e-3)
    theirs = nt_predict.gradient_descent_mse(jnp.asarray(K), jnp.asarray(Y), 0.5, diag_reg=1e-3)
    for t in (None, 2.0, np.array([0.0, 1.0, 30.0])):
        for a, b in zip(ours(t, f0, ft0, Kt), theirs(t, jnp.asarray(f0), jnp.asarray(ft0), jnp.asarray(Kt))):
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-9, atol=1e-9)
