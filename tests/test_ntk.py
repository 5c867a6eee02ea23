"""Graphon-NTK: oracles are the dense recursion and the brute-force pattern enumeration of
tests/reference_ntk.py, closed-form identities of docs/theory/ntk.rst, docs/theory/paths_alignment.rst, and convergence under refinement."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import graphon_ops as go
from graphon_ops import Graphon
from graphon_ops.activations import Activation, get_activation
from graphon_ops.ntk import graphon_ntk, _hidden_rules
from graphon_ops.quadrature import composite, gauss_legendre, midpoint

from reference_ntk import dense_kernels, graphon_kernels
from strategies import step_graphon_data

# Rounding: a few layers of O(1) arithmetic on O(1) values; 1e-12 relative leaves a factor ~1e3 of
# headroom over double-precision epsilon for the sums over nodes and pairs.
ROUNDING = 1e-12
# arccos has infinite condition number at +-1: a correlation that is exactly 1 (e.g. a first-layer
# pattern keeping one coordinate) computed as 1 - k eps gives an angle of sqrt(2 k eps) ~ 1e-8, hence
# ReLU's Fdot = (pi - theta)/(2 pi) is only sqrt(eps)-accurate there. 1e-7 = a few sqrt(eps).
ARCCOS_ROUNDING = 1e-7


def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture
def inputs(rng):
    return rng.standard_normal((7, 4))


# ----------------------------------------------------------------------------------------- dense


@pytest.mark.parametrize("activation", ["relu", "erf", "identity"])
@pytest.mark.parametrize("depth", [1, 3])
def test_constant_one_is_dense_kernel(inputs, activation, depth):
    for first_layer in ("patterns", "mean-field"):
        result = graphon_ntk(inputs, [1.0] * depth, activation=activation, sigma_w=1.4, sigma_b=0.3,
                             first_layer=first_layer)
        nngp, ntk = dense_kernels(inputs, depth, activation, 1.4, 0.3)
        assert relative_error(result.nngp, nngp) < ROUNDING
        assert relative_error(result.ntk, ntk) < ROUNDING
        assert result.nodes == (1,) * depth and result.n_patterns == 1


def test_second_input_set(inputs, rng):
    other = rng.standard_normal((3, 4))
    result = graphon_ntk(inputs, [1.0, 1.0], sigma_b=0.2, X2=other)
    nngp, ntk = dense_kernels(inputs, 2, "relu", 1.0, 0.2, X2=other)
    assert result.ntk.shape == (7, 3)
    assert relative_error(result.ntk, ntk) < ROUNDING and relative_error(result.nngp, nngp) < ROUNDING


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_constant_under_density_equals_dense(inputs, activation):
    # Mean-field first layer: with density normalisation W = c rescales to the dense network exactly.
    dense = graphon_ntk(inputs, [1.0] * 3, activation=activation, sigma_b=0.5)
    sparse = graphon_ntk(inputs, [0.3] * 3, activation=activation, sigma_b=0.5, normalization="density",
                         first_layer="mean-field")
    assert relative_error(sparse.ntk, dense.ntk) < ROUNDING
    assert relative_error(sparse.nngp, dense.nngp) < ROUNDING


def test_constant_scales_as_power_of_c_only_for_homogeneous_activation_without_bias(inputs):
    c, depth = 0.4, 3
    kwargs = dict(first_layer="mean-field")
    dense = graphon_ntk(inputs, [1.0] * depth, **kwargs)
    sparse = graphon_ntk(inputs, [c] * depth, **kwargs)
    assert relative_error(sparse.ntk, c ** depth * dense.ntk) < ROUNDING
    assert relative_error(sparse.nngp, c ** depth * dense.nngp) < ROUNDING
    # With a bias, or with erf (not homogeneous), the identity fails by far more than rounding.
    for extra in (dict(sigma_b=0.5), dict(activation="erf")):
        dense = graphon_ntk(inputs, [1.0] * depth, **kwargs, **extra)
        sparse = graphon_ntk(inputs, [c] * depth, **kwargs, **extra)
        assert relative_error(sparse.ntk, c ** depth * dense.ntk) > 0.05


# ----------------------------------------------------------------------------------------- step graphons


def _random_stack(rng, d_blocks=(2, 3, 2)):
    return [Graphon.step(rng.random((d_blocks[0], 3))), Graphon.step(rng.random((d_blocks[1], d_blocks[0])),
                                                                     col_breaks=[0.3]),
            Graphon.step(rng.random((d_blocks[2], d_blocks[1])), row_breaks=[0.6])]


def test_step_graphons_one_node_per_piece(inputs, rng):
    stack = _random_stack(rng)
    exact = graphon_ntk(inputs, stack, sigma_b=0.2)
    # Refinement of layer 1's rows (2 blocks) and layer 2's columns (break at 0.3) gives 3 pieces.
    assert exact.nodes == (3, 3, 2)
    breaks = [_hidden_rules(stack, None)[l].breakpoints for l in range(3)]
    fine = graphon_ntk(inputs, stack, sigma_b=0.2,
                       rule=[composite("gauss_legendre", 5, b) for b in breaks])
    assert relative_error(fine.ntk, exact.ntk) < ROUNDING
    # A rule blind to the breakpoints converges at O(1/m) (one node per piece is misassigned).
    errors = [relative_error(graphon_ntk(inputs, stack, sigma_b=0.2, rule=midpoint(m)).ntk, exact.ntk)
              for m in (50, 200, 800)]
    assert errors[2] < errors[0] / 4 and errors[2] < 1e-2


@pytest.mark.parametrize("activation", ["relu", "identity"])
@pytest.mark.parametrize("normalization", ["none", "density", "degree"])
@pytest.mark.parametrize("first_layer", ["patterns", "mean-field"])
def test_forward_recursion_equals_backward_bruteforce(inputs, rng, normalization, first_layer, activation, backend):
    # identity x degree x patterns is the one linear case where pattern averaging does NOT reduce to
    # mean-field (the degree scale depends on the pattern): the brute force averages over patterns
    stack = _random_stack(rng)
    result = graphon_ntk(inputs, stack, sigma_w=1.3, sigma_b=0.3, normalization=normalization,
                         first_layer=first_layer, activation=activation, backend=backend)
    nngp, ntk = graphon_kernels(inputs, stack, _hidden_rules(stack, None), activation, 1.3, 0.3, normalization,
                                first_layer)
    assert relative_error(result.nngp, nngp) < ROUNDING
    assert relative_error(result.ntk, ntk) < ROUNDING


@given(step_graphon_data(max_blocks=3), step_graphon_data(max_blocks=3), st.sampled_from(["relu", "erf"]),
       st.sampled_from(["none", "density", "degree"]), st.floats(0.0, 1.0))
@settings(max_examples=15)
def test_random_step_graphons_match_bruteforce(first, second, activation, normalization, sigma_b):
    stack = [Graphon.step(first[0], first[1], first[2]), Graphon.step(second[0], second[1], second[2])]
    assume(normalization != "density" or (stack[0].density() >= 1e-3 and stack[1].density() >= 1e-3))
    X = np.random.default_rng(1).standard_normal((4, 3))
    result = graphon_ntk(X, stack, activation=activation, sigma_b=sigma_b, normalization=normalization)
    nngp, ntk = graphon_kernels(X, stack, _hidden_rules(stack, None), activation, 1.0, sigma_b, normalization,
                                "patterns")
    scale = max(np.abs(ntk).max(), 1e-300)
    tolerance = ARCCOS_ROUNDING if activation == "relu" else ROUNDING
    assert np.max(np.abs(result.ntk - ntk)) <= tolerance * scale
    assert np.max(np.abs(result.nngp - nngp)) <= tolerance * max(np.abs(nngp).max(), 1e-300)
    # symmetric positive semi-definite up to rounding of the entries
    assert np.array_equal(result.ntk, result.ntk.T)
    assert np.linalg.eigvalsh(result.ntk).min() >= -1e-12 * scale


# ----------------------------------------------------------------------------------------- identities


def _path_mass(stack, d):
    """Input path mass pi_j of a stack of step graphons at v_j = (j - 1/2)/d, by block products:
    pi = 1^T D_L W_L D_{L-1} ... D_1 W_1(., v_j) with D_l the piece lengths."""
    rules = _hidden_rules(stack, None)
    weights = rules[-1].weights
    for l in range(len(stack) - 1, 0, -1):
        weights = (weights @ stack[l].on_grid(rules[l].nodes, rules[l - 1].nodes)) * rules[l - 1].weights
    return weights @ stack[0].on_grid(rules[0].nodes, (np.arange(d) + 0.5) / d)


@pytest.mark.parametrize("first_layer", ["patterns", "mean-field"])
def test_identity_activation_is_path_density_inner_product(inputs, rng, first_layer):
    stack = _random_stack(rng)
    d, depth = inputs.shape[1], len(stack)
    pi = _path_mass(stack, d)
    expected_ntk = (depth + 1) / d * (inputs * pi) @ inputs.T
    result = graphon_ntk(inputs, stack, activation="identity", first_layer=first_layer)
    assert relative_error(result.ntk, expected_ntk) < ROUNDING
    assert relative_error(result.nngp, expected_ntk / (depth + 1)) < ROUNDING


def test_identity_path_density_smooth_graphons(inputs):
    # Smooth graphons: the path mass by sympy-free composition on a fine Gauss-Legendre grid (64 nodes
    # integrate these polynomials exactly), compared with the default 32-node grids.
    stack = [Graphon.from_callable(lambda u, v: u * v), Graphon.from_callable(lambda u, v: 0.5 + 0.5 * u - 0.4 * v)]
    d = inputs.shape[1]
    v = (np.arange(d) + 0.5) / d
    # pi(v) = int int W2(u2, u1) W1(u1, v) du1 du2 = int (0.5 + 0.25 - 0.4 u1) u1 v du1 = (0.375 - 0.4/3) v
    pi = (0.375 - 0.4 / 3) * v
    result = graphon_ntk(inputs, stack, activation="identity")
    assert relative_error(result.ntk, 3 / d * (inputs * pi) @ inputs.T) < ROUNDING


# ----------------------------------------------------------------------------------------- first layer


def test_patterns_differ_from_mean_field_for_small_d(inputs):
    patterns = graphon_ntk(inputs, [0.5, 0.5])
    mean_field = graphon_ntk(inputs, [0.5, 0.5], first_layer="mean-field")
    assert patterns.first_layer_method == "enumeration" and patterns.n_patterns == 16
    assert relative_error(mean_field.ntk, patterns.ntk) > 0.02


def test_first_layer_deterministic_rows_make_both_regimes_equal(inputs):
    # 0/1 first-layer values: every row pattern is deterministic given u.
    W1 = Graphon.step([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]])
    patterns = graphon_ntk(inputs, [W1, 0.7], sigma_b=0.1)
    mean_field = graphon_ntk(inputs, [W1, 0.7], sigma_b=0.1, first_layer="mean-field")
    assert patterns.n_patterns == 2
    assert relative_error(patterns.ntk, mean_field.ntk) < ROUNDING


def test_monte_carlo_first_layer_within_standard_errors(inputs):
    W1 = Graphon.from_callable(lambda u, v: 0.2 + 0.6 * u * v)
    exact = graphon_ntk(inputs, [W1, 0.6], sigma_b=0.1)
    sampled = graphon_ntk(inputs, [W1, 0.6], sigma_b=0.1, max_patterns=4, n_samples=256, seed=3)
    assert exact.first_layer_method == "enumeration" and sampled.first_layer_method == "monte-carlo"
    z = (sampled.ntk - exact.ntk) / sampled.ntk_standard_error
    # 28 entries, 8 batches (t with 7 dof): |t| > 5.4 has probability < 1e-3 per entry
    assert np.max(np.abs(z)) < 5.4
    assert np.max(sampled.ntk_standard_error / exact.ntk) < 0.05
    again = graphon_ntk(inputs, [W1, 0.6], sigma_b=0.1, max_patterns=4, n_samples=256, seed=3)
    assert np.array_equal(again.ntk, sampled.ntk)


# ----------------------------------------------------------------------------------------- quadrature


def test_refinement_of_smooth_graphons_converges(inputs):
    stack = [Graphon.from_callable(lambda u, v: 0.5 + 0.4 * np.sin(3 * u + v)),
             Graphon.from_callable(lambda u, v: np.exp(-(u - v) ** 2))]
    reference = graphon_ntk(inputs, stack, sigma_b=0.2, rule=gauss_legendre(64))
    errors = [relative_error(graphon_ntk(inputs, stack, sigma_b=0.2, rule=gauss_legendre(m)).ntk, reference.ntk)
              for m in (2, 4, 8)]
    assert errors[0] > errors[1] > errors[2]
    # Gauss-Legendre on analytic integrands converges geometrically, e(m) ~ C r^m: doubling m from 4 to 8
    # squares the factor gained from 2 to 4, so e(8) ~ e(4)^3 / e(2)^2 (measured 1.8e-2, 2.3e-5, 8.0e-11
    # against a prediction of 3.8e-11); a factor 10 covers the rate's drift with m
    assert errors[2] <= 10 * errors[1] ** 3 / errors[0] ** 2
    default = graphon_ntk(inputs, stack, sigma_b=0.2)
    assert relative_error(default.ntk, reference.ntk) < ROUNDING


def test_hermite_quadrature_reproduces_closed_form(inputs):
    # erf given as a black box (closed_form=False) goes through the 2-D Gauss-Hermite rule. The error
    # decays geometrically with the order at a rate set by the variance q (the derivative term
    # exp(-2 q z^2) narrows): measured for one pair, order 40 gives ~1e-7 at q = 1 and order 80 ~1e-14
    # (docs/theory/ntk.rst). Here q <= ~1.5, so 1e-5 for order 40 and 1e-9 for order 80.
    erf = get_activation("erf")
    black_box = Activation("erf-black-box", erf.fn, erf.derivative)
    closed = graphon_ntk(inputs, [0.7, 0.5], activation="erf", sigma_b=0.3)
    errors = [relative_error(graphon_ntk(inputs, [0.7, 0.5], activation=black_box, sigma_b=0.3,
                                         hermite_order=order).ntk, closed.ntk) for order in (10, 40, 80)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] < 1e-5 and errors[2] < 1e-9


def test_other_activations_run_and_are_psd(inputs):
    for name in ("tanh", "gelu"):
        result = graphon_ntk(inputs, [0.8, 0.6], activation=name, sigma_b=0.1)
        assert np.linalg.eigvalsh(result.ntk).min() > -1e-12 * np.abs(result.ntk).max()


def test_arccos_kernel_accuracy():
    from graphon_ops._kernels.ntk import _arccos

    x = np.concatenate([np.linspace(-1, 1, 20001), 1 - np.logspace(-16, 0, 300), -1 + np.logspace(-16, 0, 300)])
    values = np.array([_arccos(v) for v in x])
    # fdlibm's rational approximation: within 2 ulp of numpy's arccos (itself within 1 ulp)
    assert np.max(np.abs(values - np.arccos(x)) / np.maximum(np.arccos(x), np.finfo(float).tiny)) < 5e-16 \
        or np.max(np.abs(values - np.arccos(x))) < 5e-16


# ----------------------------------------------------------------------------------------- robustness


def test_tiling_matches_untiled(inputs, rng):
    X = rng.standard_normal((40, 3))
    stack = _random_stack(rng)
    whole = graphon_ntk(X, stack, sigma_b=0.2)
    tiled = graphon_ntk(X, stack, sigma_b=0.2, memory_budget=40_000)
    assert whole.n_tiles == 1 and tiled.n_tiles > 3
    assert relative_error(tiled.ntk, whole.ntk) < ROUNDING
    with go.options(memory_budget_bytes=40_000):
        assert graphon_ntk(X, stack, sigma_b=0.2).n_tiles == tiled.n_tiles
    other = rng.standard_normal((9, 3))
    pair_tiled = graphon_ntk(X, stack, sigma_b=0.2, X2=other, memory_budget=40_000)
    pair_whole = graphon_ntk(np.concatenate([X, other]), stack, sigma_b=0.2)
    assert pair_tiled.n_tiles > 1
    assert relative_error(pair_tiled.ntk, pair_whole.ntk[:40, 40:]) < ROUNDING


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_chunks_spread_over_threads_match_one_thread(rng, monkeypatch, activation):
    """Chunks of a few pairs, run on one thread and on two: the same numbers bit for bit (each chunk is
    computed alone, whichever thread takes it), and equal to the untiled default to rounding; with kept
    weights too (five work arrays per thread instead of four)."""
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    import graphon_ops.ntk as ntk_module
    X = rng.standard_normal((40, 3))
    stack = _random_stack(rng)
    moments = [Graphon.step(0.8 * W.values, W.row_breaks, W.col_breaks) for W in stack]
    default = [graphon_ntk(X, stack, sigma_b=0.2, activation=activation, weight_graphons=weights)
               for weights in (None, moments)]
    monkeypatch.setattr(ntk_module, "_CHUNK_BYTES", 4096)    # chunks of about 20 pairs: 40 chunks
    previous = numba.get_num_threads()
    try:
        one_thread = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            for case, (expected, weights) in enumerate(zip(default, (None, moments))):
                result = graphon_ntk(X, stack, sigma_b=0.2, activation=activation, weight_graphons=weights)
                assert relative_error(result.ntk, expected.ntk) < ROUNDING
                assert relative_error(result.nngp, expected.nngp) < ROUNDING
                if threads == 1:
                    one_thread.append(result)
                else:
                    np.testing.assert_array_equal(result.ntk, one_thread[case].ntk)
                    np.testing.assert_array_equal(result.nngp, one_thread[case].nngp)
    finally:
        numba.set_num_threads(previous)


def test_results_count_in_the_memory_budget_and_are_refused_before_allocation(rng, monkeypatch):
    """N = 30000 needs 2 x 8 N^2 = 14.4 GB for the NNGP and NTK alone: refused with that figure, before any
    result-sized allocation (numpy.empty/zeros are watched)."""
    X = rng.standard_normal((30000, 3))
    import graphon_ops.ntk as ntk_module
    allocations = []
    real_zeros = np.zeros
    monkeypatch.setattr(ntk_module.np, "zeros", lambda shape, *a, **k: allocations.append(shape) or
                        real_zeros(shape, *a, **k))
    with pytest.raises(ValueError, match=r"results \(2 arrays of 30000 x 30000 float64.*"
                                         r"graphon_ops\.distributed\.graphon_ntk.*13\.4 GiB"):
        graphon_ntk(X, [0.5, 0.5], memory_budget=2**30)                   # acceptance: a 1 GiB budget
    assert all(np.prod(shape) < 30000 ** 2 for shape in allocations)
    # the budget is shared: what the results leave sizes the tiles
    small = rng.standard_normal((60, 3))
    results = 2 * 8 * 60 * 60
    assert graphon_ntk(small, [0.5, 0.5], memory_budget=results + 60_000).n_tiles > \
        graphon_ntk(small, [0.5, 0.5], memory_budget=10 * results + 60_000).n_tiles
    with pytest.raises(ValueError, match="Monte Carlo batch, accumulators"):   # nine arrays with Monte Carlo
        graphon_ntk(small, [np.full((1, 20), 0.5), 0.5], max_patterns=2, memory_budget=8 * results // 2)


def test_no_nan_at_extreme_correlations_zero_degree_and_depth(rng):
    x = rng.standard_normal(5)
    X = np.stack([x, x, -x, 2 * x, np.zeros(5)])
    for activation in ("relu", "erf"):
        result = graphon_ntk(X, [1.0] * 3, activation=activation, sigma_b=0.1)
        assert np.all(np.isfinite(result.ntk))
        # x and 2x are perfectly correlated: the ReLU NTK is 2x the kernel with itself (homogeneity)
    relu = graphon_ntk(X, [1.0] * 3)
    assert math.isclose(relu.ntk[0, 3], 2 * relu.ntk[0, 0], rel_tol=1e-7)
    # neurons without inputs (zero rows of W), degree normalisation, no bias: zero, not NaN
    W = Graphon.step([[0.0, 0.0], [0.5, 1.0]])
    result = graphon_ntk(X, [W, W, W], normalization="degree")
    assert np.all(np.isfinite(result.ntk)) and np.all(np.isfinite(result.nngp))
    deep = graphon_ntk(X, [0.9] * 50, sigma_b=0.05)
    assert np.all(np.isfinite(deep.ntk)) and np.linalg.eigvalsh(deep.ntk).min() > -1e-10


def test_strided_inputs(inputs):
    strided = np.repeat(inputs, 2, axis=0)[::2]
    assert not strided.flags.c_contiguous
    assert np.array_equal(graphon_ntk(strided, [0.5]).ntk, graphon_ntk(inputs, [0.5]).ntk)


def test_float32_output(inputs):
    result = graphon_ntk(inputs, [1.0], dtype=np.float32)
    assert result.ntk.dtype == np.float32


@pytest.mark.parametrize("kwargs, message", [
    (dict(X=np.array([[1.0, np.nan]])), "X must be finite"),
    (dict(X=np.array([[1.0, np.inf]])), "X must be finite"),
    (dict(X=np.ones(3)), "X must have 2"),
    (dict(X2=np.ones((2, 3))), "X2 must have the 2 columns"),
    (dict(graphons=[]), "at least one graphon"),
    (dict(graphons=[1.5]), "graphons\\[0\\]"),
    (dict(activation="swish"), "activation must be"),
    (dict(first_layer="exact"), "first_layer must be"),
    (dict(normalization="layer"), "normalization must be"),
    (dict(sigma_w=-1.0), "sigma_w must be"),
    (dict(sigma_b=-0.1), "sigma_b must be"),
    (dict(memory_budget=100), "memory budget"),
    (dict(rule=[gauss_legendre(3)] * 3), "rule must be"),
    (dict(backend="tpu"), "backend must be"),
    (dict(graphons=[0.0], normalization="density"), "positive density"),
    (dict(n_samples=2), "n_samples"),
    (dict(dtype=np.int32), "dtype"),
    # overflow of float64 is refused, never returned as inf, NaN or a silent 0
    (dict(sigma_w=1e50, graphons=[0.5] * 4), "overflow"),      # (1e100)^4 variances
    (dict(sigma_w=1e100, graphons=[0.5] * 2), "overflow"),
    (dict(sigma_w=1e100, activation="erf"), "overflow"),
    (dict(X=np.full((2, 2), 1e78)), "variance reaches .* beyond 1e\\+150.*inputs up to \\|x\\| = 1e\\+78"),
    (dict(graphons=[Graphon.from_callable(lambda u, v: 1e-300 + 0 * u), 0.5], normalization="density"),
     "overflow"),
])
def test_bad_inputs(kwargs, message):
    arguments = dict(X=np.eye(2), graphons=[0.5])
    arguments.update(kwargs)
    X = arguments.pop("X")
    graphons = arguments.pop("graphons")
    with pytest.raises(ValueError, match=message):
        graphon_ntk(X, graphons, **arguments)


@pytest.mark.gpu
def test_gpu_matches_cpu(inputs, rng):
    stack = _random_stack(rng)
    for activation in ("relu", "erf", "identity"):
        cpu = graphon_ntk(inputs, stack, activation=activation, sigma_b=0.2)
        gpu = graphon_ntk(inputs, stack, activation=activation, sigma_b=0.2, backend="gpu")
        assert relative_error(gpu.ntk, cpu.ntk) < ROUNDING
    tiled = graphon_ntk(inputs, stack, sigma_b=0.2, backend="gpu", memory_budget=20_000)
    assert relative_error(tiled.ntk, graphon_ntk(inputs, stack, sigma_b=0.2).ntk) < ROUNDING


def test_result_save_load_round_trip_read_only_and_short_repr(tmp_path, rng):
    X = rng.standard_normal((6, 4))
    for options in (dict(), dict(max_patterns=2, n_samples=64, seed=1), dict(weight_graphons=[0.3, 0.2])):
        result = graphon_ntk(X, [0.5, 0.3], sigma_b=0.1, **options)
        result.save(tmp_path / "r.npz")
        again = type(result).load(tmp_path / "r.npz")
        for name in ("nngp", "ntk", "nngp_standard_error", "ntk_standard_error"):
            a, b = getattr(result, name), getattr(again, name)
            assert (a is None and b is None) or np.array_equal(a, b)
        assert (again.first_layer_method, again.nodes, again.weights) == \
            (result.first_layer_method, result.nodes, result.weights)
        with pytest.raises(ValueError, match="read-only"):
            again.ntk[0, 0] = 1.0
        assert len(repr(result)) < 200 and "array" not in repr(result)


# ------------------------------------------------------------------------------------- quadrature error

KINK = 0.3719


def _kinked(announced=False):
    """W(u, v) = 0.2 + 0.6 |u - c| v: a kink in u at c, told or not."""
    return Graphon.from_callable(lambda u, v: 0.2 + 0.6 * np.abs(u - KINK) * v,
                                 row_breaks=[KINK] if announced else ())


def _split_reference(X, graphons, **keywords):
    """The same kernels on Gauss--Legendre panels split at every announced break, 40 nodes each: exact to
    rounding for these piecewise-polynomial integrands (each piece is smooth)."""
    rules = [composite("gauss_legendre", 40, np.union1d(W.row_breaks, next_W.col_breaks))
             for W, next_W in zip(graphons, graphons[1:] + [Graphon.constant(1.0)])]
    return graphon_ntk(X, graphons, rule=rules, **keywords)


def test_tol_meets_its_accuracy_on_an_unannounced_kink(rng):
    """depth 3, ReLU, mean-field, kink not announced: tol = 1e-9 lands within 1e-8 of the split-rule
    reference, with an estimate between half the true error and 1e-8."""
    X = rng.standard_normal((6, 3))
    reference = _split_reference(X, [_kinked(True)] * 3, first_layer="mean-field")
    result = graphon_ntk(X, [_kinked()] * 3, first_layer="mean-field", tol=1e-9)
    error = max(np.max(np.abs(result.ntk - reference.ntk)), np.max(np.abs(result.nngp - reference.nngp)))
    assert error < 1e-8
    assert error / 2 <= result.error_estimate <= 1e-8
    assert result.error_estimate <= 1e-9 * np.max(np.abs(result.ntk))
    # the fixed default grid is far less accurate on the same graphon, and says so
    default = graphon_ntk(X, [_kinked()] * 3, first_layer="mean-field")
    default_error = np.max(np.abs(default.ntk - reference.ntk))
    assert default_error > 1e3 * error and default.error_estimate >= default_error / 2


@pytest.mark.parametrize("case", ["smooth", "kink", "jump", "diagonal kink", "diagonal kink, erf, depth 3"])
def test_default_grid_estimate_is_honest(rng, case):
    """The default grid's estimate is never below half the true error (reference: breaks announced).

    The diagonal kink is where the Lobatto comparison alone under-reads (each rule puts the kink at its own
    nodes, so both err alike): with erf at depth 3 it gives 0.23 of the true error, the bisected grid 0.82.
    """
    functions = {"smooth": (lambda u, v: 0.3 + 0.5 * np.sin(3 * u + v) ** 2, ()),
                 "kink": (lambda u, v: 0.2 + 0.6 * np.abs(u - KINK) * v, (KINK,)),
                 "jump": (lambda u, v: np.where(u < KINK, 0.3, 0.8) * (0.5 + 0.5 * v), (KINK,)),
                 "diagonal kink": (lambda u, v: 0.1 + 0.8 * np.minimum(u, v), None)}
    f, breaks = functions[case.split(",")[0]]
    options = dict(first_layer="mean-field", sigma_b=0.1, activation="erf" if "erf" in case else "relu")
    depth = 3 if "depth 3" in case else 2
    X = rng.standard_normal((5, 2))
    told = [Graphon.from_callable(f, row_breaks=breaks or (), col_breaks=breaks or ())] * depth
    result = graphon_ntk(X, [Graphon.from_callable(f)] * depth, **options)
    if breaks is None:
        # a kink along the diagonal has no break to announce: Richardson extrapolation of 128 and 256
        # panels (error O(h^2) there; the two differ by 2e-8 to 7e-8, the extrapolation is good to about
        # 1e-10, against true errors of 6e-5 to 1.3e-4)
        coarse, fine = (graphon_ntk(X, told, rule=composite("gauss_legendre", 8, np.linspace(0, 1, panels + 1)),
                                    **options)
                        for panels in (128, 256))
        reference = go.GraphonNTKResult(**{**fine.__dict__, "ntk": (4 * fine.ntk - coarse.ntk) / 3,
                                           "nngp": (4 * fine.nngp - coarse.nngp) / 3})
    else:
        reference = _split_reference(X, told, **options)
    error = max(np.max(np.abs(result.ntk - reference.ntk)), np.max(np.abs(result.nngp - reference.nngp)))
    rounding = 1e-14 * np.max(np.abs(result.ntk))
    assert error / 2 <= result.error_estimate + rounding
    assert result.error_estimate <= 10 * error + rounding           # an estimate, not a loose bound


def test_error_estimate_zero_none_and_refusals(rng, tmp_path):
    X = rng.standard_normal((4, 3))
    exact = graphon_ntk(X, [Graphon.step([[0.2, 0.9], [0.5, 0.4]]), 0.5], first_layer="mean-field")
    assert exact.error_estimate == 0.0                      # midpoints on the blocks: exact
    assert graphon_ntk(X, [0.5], rule=gauss_legendre(4)).error_estimate is None
    with pytest.raises(ValueError, match="either rule .* or tol"):
        graphon_ntk(X, [0.5], rule=gauss_legendre(4), tol=1e-6)
    for bad in (0.0, -1e-3, float("nan"), 1e-17, "1e-6"):
        with pytest.raises(ValueError, match="tol"):
            graphon_ntk(X, [_kinked()], tol=bad)
    with pytest.raises(ValueError, match="Monte Carlo"):
        graphon_ntk(rng.standard_normal((3, 30)), [_kinked()], tol=1e-6, max_patterns=2)
    smooth = graphon_ntk(X, [_kinked()], first_layer="mean-field")
    path = tmp_path / "kernels.npz"
    smooth.save(path)
    assert go.GraphonNTKResult.load(path).error_estimate == smooth.error_estimate > 0


def test_estimate_on_a_sample_of_many_inputs_still_covers_every_entry(rng):
    """N = 400 > ESTIMATE_INPUTS: the estimate comes from 256 of the inputs (the largest norms among
    them) and still exceeds half the largest error over all 400 x 400 entries."""
    from graphon_ops.ntk import ESTIMATE_INPUTS
    X = rng.standard_normal((400, 2)) * rng.uniform(0.2, 3.0, (400, 1))
    assert X.shape[0] > ESTIMATE_INPUTS
    result = graphon_ntk(X, [_kinked()] * 2, first_layer="mean-field")
    reference = _split_reference(X, [_kinked(True)] * 2, first_layer="mean-field")
    assert result.error_estimate >= np.max(np.abs(result.ntk - reference.ntk)) / 2
