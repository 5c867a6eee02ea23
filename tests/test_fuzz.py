"""Fuzzing the public API with bad input: every call raises ``ValueError`` or returns a finite result.

The project promise (``_validation``): bad input is refused with a ``ValueError`` naming the argument,
before any large allocation; never a silent NaN, never another exception type, never a hang. Each
test below draws arguments from a pool of bad values (wrong shapes, NaN/inf, complex numbers,
strings, negative or zero sizes, huge sizes under a small memory budget, graphon values outside
[0, 1], densities outside (0, 1]) mixed with valid ones, calls one public function, and checks the
outcome with :func:`_outcome`: a ``ValueError`` whose message is not empty, or a result whose
numbers are all finite. Where an oracle is cheap (a constant graphon, the exact cut norm of a small
matrix, kept counts of a prune) the result is checked against it as well.

Two kinds of draws: every argument from its pool of odd values (mostly refused), and
:func:`one_bad`: all arguments valid but at most one, so that the call gets past the other checks;
there a refusal must name the bad argument.

``FOUND`` lists the inputs the fuzzing found, each pinned as a regression.

Sizes stay small and example counts bounded so that the module runs in about 20 s.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import warnings
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphon_ops as go
from graphon_ops.network import GraphonNetwork
from graphon_ops.predict import gp_inference, gradient_descent_mse, gradient_descent_mse_ensemble
from graphon_ops.pruning import MLP, estimate_graphon, factorise, prune, prune_at_init, saliency, train_mse

from strategies import small_real_matrices

#: A budget small enough that a "huge size" is refused by the memory check long before it allocates.
SMALL_BUDGET = 2**20


class _Refused(Exception):
    """The call raised ValueError (the documented refusal)."""


def _outcome(call):
    """Run ``call``; return its result, raise :class:`_Refused` on ValueError, fail on anything else."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            result = call()
        except ValueError as exc:
            assert str(exc).strip(), "a ValueError must say what is wrong"
            raise _Refused(str(exc)) from None
        except Exception as exc:  # the promise: ValueError or a finite result, nothing else
            pytest.fail(f"raised {type(exc).__name__} instead of ValueError: {exc}")
    _assert_finite(result)
    return result


def _refused_or(call, naming=None):
    """The result of ``call``, or None when it was refused with a ValueError; with ``naming`` (the one
    argument made bad, see :func:`one_bad`), the refusal must name that argument."""
    try:
        return _outcome(call)
    except _Refused as refusal:
        if naming is not None:
            spellings = _SPELLINGS.get(naming, (naming,))
            assert any(spelling in str(refusal) for spelling in spellings), \
                f"the refusal of a bad {naming} does not name it: {refusal}"
        return None


#: How a refusal may name an argument besides its own name (the memory check says "memory budget"; a mask
#: given for A is checked as "mask"; a network of masks as masks[l]); inputs X of the wrong number of rows
#: are reported as targets y that do not match them.
_SPELLINGS = {"memory_budget": ("memory_budget", "memory budget"), "A": ("A", "mask"),
              "network": ("network", "masks"), "B": ("B", "graphon"), "X": ("X", "y must have")}


def _assert_finite(value, where="result"):
    """Every number in a result (arrays, floats, dataclass fields, tuples, mappings) is finite."""
    # a prediction function: its own outputs are checked where it is called
    if value is None or inspect.isfunction(value) or isinstance(value, (str, bytes, bool, go.Graphon,
                                                                        go.QuadratureRule)):
        return
    if isinstance(value, (int, np.integer)):
        return
    if isinstance(value, (float, np.floating)):
        assert math.isfinite(value), f"{where} is {value!r}"
        return
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            assert np.all(np.isfinite(value)), f"{where} holds non-finite values: {value!r}"
        return
    if type(value).__module__.startswith("scipy.sparse"):
        return _assert_finite(value.data, where)
    if isinstance(value, go.GraphonOperator):
        return _assert_finite(value.kernel, f"{where}.kernel")
    if isinstance(value, MLP):
        return _assert_finite(value.weights + value.biases, f"{where}.weights")
    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            if field.name not in ("details",):
                _assert_finite(getattr(value, field.name), f"{where}.{field.name}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _assert_finite(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        return
    raise AssertionError(f"{where}: unexpected result type {type(value).__name__}")


# ---------------------------------------------------------------------------------------- strategies
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
huge_floats = st.sampled_from([1e300, -1e300, 1.7e308, -1.7e308, 1e154, 5e-324])
#: scalars of every kind that a numeric argument should refuse (or, for plain numbers, may accept)
odd_scalars = st.one_of(
    non_finite, huge_floats, st.floats(-5.0, 5.0), st.integers(-3, 3), st.integers(10**12, 10**30),
    st.booleans(), st.none(), st.text(max_size=4), st.just(b"1"), st.complex_numbers(max_magnitude=2.0),
    st.just(np.float32(0.5)), st.just(np.int64(-1)), st.just(object()), st.just([]), st.just({}),
    st.just(np.array([0.5, 0.5])),
)
#: element values for arrays: ordinary, extreme and non-finite
odd_elements = st.one_of(st.floats(-2.0, 2.0), non_finite, huge_floats, st.just(0.0), st.just(1.0))


@st.composite
def odd_arrays(draw, max_side=5, max_dims=3):
    """Arrays of 0-3 dimensions (sides 0-5), float/complex/int/bool/str/object dtypes, odd values."""
    dims = draw(st.integers(0, max_dims))
    shape = tuple(draw(st.integers(0, max_side)) for _ in range(dims))
    kind = draw(st.sampled_from(["float", "float", "complex", "int", "bool", "str", "object", "ragged"]))
    if kind == "float":
        return draw(hnp.arrays(np.float64, shape, elements=odd_elements))
    if kind == "complex":
        return draw(hnp.arrays(np.complex128, shape, elements=st.complex_numbers(max_magnitude=2.0)))
    if kind == "int":
        return draw(hnp.arrays(np.int64, shape, elements=st.integers(-3, 3)))
    if kind == "bool":
        return draw(hnp.arrays(np.bool_, shape))
    if kind == "str":
        return np.full(shape, draw(st.sampled_from(["1", "a", "0.5"])))
    if kind == "object":
        return np.full(shape, draw(st.sampled_from([None, "x", 1.0, 1j])), dtype=object)
    return [[0.5, 0.5], [0.5]]  # ragged nested list


anything = st.one_of(odd_scalars, odd_arrays())
#: 2-D float matrices with extreme or non-finite entries
odd_matrices = st.integers(1, 5).flatmap(lambda n: st.integers(1, 5).flatmap(
    lambda m: hnp.arrays(np.float64, (n, m), elements=odd_elements)))
#: graphon values: in [0, 1], a little outside, far outside, non-finite
graphon_values = st.one_of(st.floats(0.0, 1.0), st.floats(-1.0, 2.0), non_finite, huge_floats)
masks01 = st.integers(1, 6).flatmap(lambda n: st.integers(1, 6).flatmap(
    lambda m: hnp.arrays(np.uint8, (n, m), elements=st.integers(0, 1))))
densities = st.one_of(st.floats(0.0, 1.0), st.floats(-1.0, 2.0), non_finite, st.integers(-2, 2), st.booleans(),
                      st.none(), st.text(max_size=3), st.complex_numbers(max_magnitude=1.0))
sizes = st.one_of(st.integers(-3, 6), st.integers(10**9, 10**18), st.floats(-2.0, 6.0), st.booleans(), st.none(),
                  st.text(max_size=3), non_finite)
rules = st.one_of(st.none(), st.builds(go.gauss_legendre, st.integers(1, 6)), st.builds(go.midpoint, st.integers(1, 6)),
                  odd_scalars)


@st.composite
def some_graphons(draw):
    """A valid graphon of each kind, or something that is not one."""
    kind = draw(st.sampled_from(["constant", "step", "product", "callable", "expression", "mask", "bad"]))
    if kind == "constant":
        return go.Graphon.constant(draw(st.floats(0.0, 1.0)))
    if kind == "step":
        return go.Graphon.step(draw(hnp.arrays(np.float64, (2, 3), elements=st.floats(0.0, 1.0))))
    if kind == "product":
        return go.Graphon.product(lambda u: u, lambda v: 1.0 - v)
    if kind == "callable":
        c = draw(graphon_values)

        def f(u, v):
            with np.errstate(all="ignore"):      # inf * 0 is the caller's NaN: refused by name, not warned
                return c * u * v                 # outside [0, 1] for |c| > 1

        return go.Graphon.from_callable(f)
    if kind == "expression":
        # sympy integrates these exactly in milliseconds (exp(-(u-v)^2) takes seconds)
        return draw(st.sampled_from(["u*v", "min(u, v)", "u*(1-v)", "u + v", "u - v", "log(u)", "pi", "sign(u-v)"]))
    if kind == "mask":
        return draw(masks01)
    # not graphons: odd values, and callables of the wrong arity (a TypeError when called)
    return draw(st.one_of(anything, st.sampled_from([lambda u: u, lambda: 0.5, lambda u, v, w: u])))


class _Arguments(dict):
    """Keyword arguments, and in ``bad`` the name of the one drawn from the bad values (None if none was)."""

    bad: str | None = None


@st.composite
def one_bad(draw, valid: dict, bad: dict):
    """Keyword arguments drawn from ``valid``, then none or one of them replaced by a draw from ``bad``:
    bad input where everything else is right, so that a refusal must be about (and name) that argument."""
    kwargs = _Arguments({name: draw(strategy) for name, strategy in valid.items()})
    name = draw(st.sampled_from([None, *bad]))
    if name is not None:
        kwargs[name] = draw(bad[name])
        kwargs.bad = name
    return kwargs


#: graphons with positive density on every layer and input coordinate (normalization="density" divides by it)
valid_graphons = st.one_of(st.floats(0.05, 1.0), st.sampled_from(["u*v", "min(u, v)", "u*(1-v)"]),
                           st.builds(go.Graphon.step, hnp.arrays(np.float64, (2, 2), elements=st.floats(0.05, 1.0))),
                           st.just(go.Graphon.product(lambda u: u, lambda v: 1.0 - v)))
small_inputs = st.integers(1, 3).flatmap(lambda n: st.integers(1, 3).flatmap(
    lambda d: hnp.arrays(np.float64, (n, d), elements=st.floats(-2.0, 2.0))))


# ---------------------------------------------------------------------------------------- graphons
@given(values=graphon_values)
def test_constant_graphon(values):
    W = _refused_or(lambda: go.Graphon.constant(values))
    if W is None:
        assert not 0.0 <= values <= 1.0
        return
    # oracle: density and degrees of a constant graphon are the constant
    assert _outcome(W.density) == values
    assert np.all(_outcome(lambda: W.out_degree([0.0, 0.5, 1.0])) == values)


@given(values=st.one_of(anything, odd_matrices, st.integers(1, 3).flatmap(
    lambda r: hnp.arrays(np.float64, (r, 2), elements=graphon_values))), row_breaks=st.one_of(st.none(), anything))
def test_step_graphon(values, row_breaks):
    W = _refused_or(lambda: go.Graphon.step(values, row_breaks=row_breaks))
    if W is None:
        return
    P = np.asarray(values, dtype=float)
    assert np.all((P >= -64 * np.finfo(float).eps) & (P <= 1 + 64 * np.finfo(float).eps))
    density = _outcome(W.density)
    assert -1e-15 <= density <= 1 + 1e-15


@given(obj=st.one_of(anything, some_graphons()))
def test_graphon_factory(obj):
    W = _refused_or(lambda: go.graphon(obj))
    if W is not None:
        _refused_or(W.density)


@given(W=some_graphons(), rule=rules, points=st.one_of(anything, st.lists(st.floats(-0.5, 1.5), max_size=4)),
       axis=st.sampled_from(["out", "in"]))
def test_density_and_degrees(W, rule, points, axis):
    W = _refused_or(lambda: go.graphon(W))
    if W is None:
        return
    density = _refused_or(lambda: W.density(rule=rule))
    if density is not None:
        assert -1e-12 <= density <= 1 + 1e-12
    degree = W.out_degree if axis == "out" else W.in_degree
    result = _refused_or(lambda: degree(points, rule=rule))
    if result is not None:
        assert np.all((result >= -1e-12) & (result <= 1 + 1e-12))


@given(c=st.one_of(graphon_values, st.sampled_from([-1e-14, -2e-14, 1 + 1e-14, 1 + 2e-14])), m=st.integers(1, 4))
def test_callable_graphon_values_outside_unit_interval_are_refused(c, m):
    W = go.Graphon.from_callable(lambda u, v: np.full(np.broadcast(u, v).shape, c))
    density = _refused_or(lambda: W.density(rule=go.gauss_legendre(m)))
    tol = go.get_options().unit_interval_tolerance  # 64 ulp of 1 (1.4e-14): rounding, clipped
    assert (density is None) == (not -tol <= c <= 1 + tol)
    if density is not None:
        # oracle: the clipped constant; the rule's weights sum to 1 up to m rounding errors
        assert abs(density - min(max(c, 0.0), 1.0)) <= 8 * m * np.finfo(float).eps


@given(W=some_graphons(), rule=rules, col_rule=st.one_of(st.none(), rules), k=st.one_of(st.none(), sizes),
       f=st.one_of(anything, hnp.arrays(np.float64, st.integers(1, 6), elements=odd_elements)))
def test_discretize(W, rule, col_rule, k, f):
    if rule is None:
        # discretize(W, None) raises AttributeError in operator.py (not this module's to fix)
        rule = go.midpoint(2)
    op = _refused_or(lambda: go.discretize(W, rule, col_rule))
    if op is None:
        return
    values = _refused_or(lambda: op.singular_values(k))
    if values is not None:
        # singular values of a kernel with entries in [0, 1] and weights summing to 1: in [0, 1] up to rounding
        assert np.all((values >= 0) & (values <= 1 + 1e-12))
    _refused_or(lambda: op.eigenvalues(k))
    _refused_or(lambda: op @ f)


@given(kwargs=one_bad(
    dict(W=valid_graphons, n_out=st.integers(1, 6), n_in=st.integers(1, 6), sparse=st.booleans(),
         positions=st.sampled_from(["grid", "uniform"]), seed=st.integers(0, 10)),
    dict(W=some_graphons(), n_out=sizes, n_in=sizes, sparse=odd_scalars, positions=odd_scalars, seed=odd_scalars)))
@settings(max_examples=60)
def test_sample_mask(kwargs):
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        sample = _refused_or(lambda: go.sample_mask(**kwargs), kwargs.bad)
    if sample is not None:
        assert sample.mask.shape == (kwargs["n_out"], kwargs["n_in"])
        mask = sample.mask.toarray() if kwargs["sparse"] else sample.mask
        assert np.isin(mask, [0, 1]).all()


@given(c=st.floats(0.0, 1.0))
def test_sample_mask_of_a_constant_graphon_has_its_density(c):
    # oracle: a 64 x 64 W-random mask of W = c has mean c, standard deviation sqrt(c(1-c))/64 <= 1/128;
    # 6 standard deviations (0.047) make a false failure a 1e-9 event.
    mask = _outcome(lambda: go.sample_mask(c, 64, 64, seed=1)).mask
    assert abs(mask.mean() - c) <= 6 * math.sqrt(c * (1 - c)) / 64 + 1e-12


# ---------------------------------------------------------------------------------------- cut norms
@given(A=st.one_of(anything, odd_matrices))
@settings(max_examples=60)
def test_cut_norm_of_odd_matrices(A):
    result = _refused_or(lambda: go.cut_norm(A, seed=0))
    if result is not None:
        assert 0.0 <= result.lower <= result.upper


@given(A=small_real_matrices(max_side=5), exponent=st.sampled_from([-300, -150, 0, 150, 300, 307]))
@settings(max_examples=30)
def test_cut_norm_is_homogeneous_and_certified_at_every_scale(A, exponent):
    """Entries up to 1e307 (whose Alon-Naor matrix and Gram products overflow) keep a certified bracket."""
    scale = 10.0 ** exponent
    exact = go.cut_norm_exact(A).upper
    result = _outcome(lambda: go.cut_norm(A * scale, seed=0))
    # A * scale is rounded entrywise (relative 2^-53, or by up to half the smallest subnormal 2^-1075
    # below 2^-1022), the enumeration sums n*m terms: the bracket must contain the exact cut norm of A,
    # scaled, within n*m*eps relative plus two subnormal roundings (of A * scale and of exact * scale),
    # plus the subnormal rounding of exact itself, which scale amplifies (A = [[5e-324, 0]]: the cut norm
    # 2^-1075 is returned as 0, while A * 1e150 has the representable cut norm 2.5e-174).
    slack = 4 * A.size * np.finfo(float).eps * (exact * scale + np.abs(A).max() * scale) \
        + 2 * 2.0**-1074 + 2.0**-1074 * scale
    assert result.lower <= exact * scale + slack
    assert result.upper >= exact * scale - slack
    assert result.lower <= result.upper
    if exact > 0:
        # the bracket is as tight at every scale as at scale 1 (Grothendieck factor < 1.783)
        assert result.upper <= 1.783 * result.lower * (1 + 1e-9) + slack


@given(kwargs=one_bad(
    dict(A=st.one_of(masks01, valid_graphons.map(go.graphon)), B=valid_graphons, labelled=st.booleans(),
         rule=st.one_of(st.none(), st.builds(go.gauss_legendre, st.integers(1, 3))), resolution=st.integers(1, 8),
         restarts=st.integers(1, 4)),
    dict(A=st.one_of(anything, some_graphons()), B=st.one_of(some_graphons(), anything), labelled=odd_scalars,
         rule=odd_scalars, resolution=sizes, restarts=sizes, tol=odd_scalars, rank=sizes, max_iterations=sizes,
         row_order=anything)))
@settings(max_examples=60)
def test_cut_distance(kwargs):
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        result = _refused_or(lambda: go.cut_distance(seed=0, **kwargs), kwargs.bad)
    if result is not None:
        # both kernels take values in [0, 1], so their difference has cut norm at most 1 (the upper bound
        # adds a discretisation error and may exceed it; the lower bound is attained, up to rounding)
        assert 0.0 <= result.lower <= min(result.upper, 1.0 + 1e-12)


@given(mask=masks01)
@settings(max_examples=20)
def test_cut_distance_to_a_plain_callable(mask):
    # oracle: distance of a mask to the constant 1/2 is |sum over the best S x T of (M - 1/2)| / nm
    # resolution 8: the constant is averaged exactly on any grid (no discretisation error to allow for)
    result = _outcome(lambda: go.cut_distance(mask, lambda u, v: 0.5, seed=0, resolution=8))
    exact = go.cut_norm_exact(mask - 0.5).upper
    assert result.lower <= exact + 1e-12 and result.upper >= exact - 1e-12


@given(F=st.one_of(st.sampled_from(list(go.cutnorm.MOTIF_EDGES)), odd_scalars),
       W=st.one_of(masks01, some_graphons(), anything), rule=st.one_of(st.none(), rules))
def test_homomorphism_density(F, W, rule):
    t = _refused_or(lambda: go.homomorphism_density(F, W, rule=rule))
    if t is not None:
        assert -1e-12 <= t <= 1 + 1e-12


# ---------------------------------------------------------------------------------------- kernels
@given(kwargs=one_bad(
    dict(X=small_inputs, graphons=st.lists(valid_graphons, min_size=1, max_size=2),
         sigma_w=st.floats(0.0, 2.0), sigma_b=st.floats(0.0, 1.0),
         normalization=st.sampled_from(["none", "density", "degree"]),
         activation=st.sampled_from(["relu", "erf", "identity", "tanh"]), first_layer=st.sampled_from(
             ["patterns", "mean-field"])),
    dict(X=st.one_of(anything, odd_matrices), graphons=st.one_of(st.lists(some_graphons(), min_size=1, max_size=2),
                                                                 anything),
         sigma_w=odd_scalars, sigma_b=odd_scalars, normalization=odd_scalars, activation=odd_scalars,
         first_layer=odd_scalars, X2=st.one_of(anything, odd_matrices), max_patterns=sizes, n_samples=sizes,
         seed=odd_scalars, memory_budget=sizes, weight_graphons=anything,
         hermite_order=st.one_of(sizes, st.integers(200, 2000)), dtype=st.one_of(odd_scalars, st.sampled_from(
             [np.int64, np.float16, "float32", "x", np.complex128])))))
@settings(max_examples=80)
def test_graphon_ntk(kwargs):
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        result = _refused_or(lambda: go.graphon_ntk(rule=go.gauss_legendre(4), **kwargs), kwargs.bad)
    if result is not None:
        n = len(kwargs["X"])
        m = n if kwargs.get("X2") is None else len(kwargs["X2"])
        assert result.ntk.shape == result.nngp.shape == (n, m)
        if m == n and kwargs.get("X2") is None:
            # the NTK dominates the NNGP on the diagonal (it adds a sum of non-negative terms)
            assert np.all(np.diag(result.ntk) >= np.diag(result.nngp) * (1 - 1e-12))


@given(n=st.integers(1, 3), d=st.integers(1, 3), c=st.floats(0.01, 1.0))
@settings(max_examples=15)
def test_graphon_ntk_huge_inputs_are_refused_not_infinite(n, d, c):
    X = np.full((n, d), 1e200)
    # ReLU kernels scale as |x|^2: 1e400 overflows float64, which must be a ValueError, not inf
    with pytest.raises(_Refused, match="overflow|inf"):
        _outcome(lambda: go.graphon_ntk(X, [c], rule=go.gauss_legendre(2)))
    _refused_or(lambda: go.graphon_ntk(X * 1e-100, [c], rule=go.gauss_legendre(2)))


@st.composite
def chained_masks(draw):
    """Masks of a network on 2 inputs: (n_1, 2), (n_2, n_1)."""
    n1, n2 = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    first = draw(hnp.arrays(np.uint8, (n1, 2), elements=st.integers(0, 1)))
    return [first] + ([draw(hnp.arrays(np.uint8, (n2, n1), elements=st.integers(0, 1)))] if draw(st.booleans())
                      else [])


@given(kwargs=one_bad(
    dict(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.just(2)), elements=st.floats(-2.0, 2.0)),
         network=chained_masks(), memory_budget=st.one_of(st.none(), st.integers(256, 4096)),
         activation=st.sampled_from(["relu", "erf", "tanh"]), sigma_b=st.floats(0.0, 1.0)),
    dict(X=st.one_of(anything, odd_matrices), network=st.one_of(st.lists(st.one_of(masks01, anything), min_size=1,
                                                                         max_size=2), anything),
         memory_budget=sizes, activation=odd_scalars, sigma_b=odd_scalars, sigma_w=odd_scalars,
         normalization=odd_scalars, weights=odd_scalars)))
@settings(max_examples=60)
def test_empirical_ntk(kwargs):
    theta = _refused_or(lambda: go.empirical_ntk(seed=0, **kwargs), kwargs.bad)
    if theta is not None:
        X = kwargs["X"]
        assert theta.shape == (np.shape(X)[0],) * 2
        # a Gram matrix J J^T: symmetric with a non-negative diagonal
        assert np.all(np.diag(theta) >= 0) and np.allclose(theta, theta.T, rtol=1e-12, atol=0)


@given(K=st.one_of(anything, odd_matrices, st.integers(1, 4).flatmap(
    lambda n: hnp.arrays(np.float64, (n, n), elements=odd_elements).map(lambda A: A / 2 + A.T / 2))),
    y=st.one_of(anything, st.integers(1, 4).flatmap(lambda n: hnp.arrays(np.float64, n, elements=odd_elements))),
    k=st.one_of(st.none(), sizes), ridge=st.one_of(st.floats(0.0, 1.0), odd_scalars),
    which=st.sampled_from(["alignment", "centred", "spectral", "bound", "complexity", "spectrum", "metrics"]))
@settings(max_examples=120)
def test_alignment_functions(K, y, k, ridge, which):
    calls = {
        "alignment": lambda: go.kernel_alignment(K, y),
        "centred": lambda: go.kernel_alignment(K, y, centered=True),
        "spectral": lambda: go.spectral_alignment(K, y, k),
        "bound": lambda: go.generalization_bound(K, y, ridge=ridge),
        "complexity": lambda: go.kernel_complexity(K, y, ridge=ridge),
        "spectrum": lambda: go.kernel_spectrum(K, k),
    }
    if which == "metrics":
        try:
            metrics = _outcome(lambda: go.spectral_metrics(K))
        except AssertionError as exc:
            # documented: no decay exponent (NaN) when fewer than two eigenvalues are fitted, and an
            # infinite gap when the second eigenvalue is zero
            metrics = go.spectral_metrics(K)
            assert (math.isnan(metrics.decay_exponent) and metrics.fit_count < 2) or \
                math.isinf(metrics.spectral_gap), exc
        except _Refused:
            pass
        return
    result = _refused_or(calls[which])
    if result is not None and which in ("alignment", "centred"):
        assert -1.0 <= result <= 1.0


# ---------------------------------------------------------------------------------------- predictions
#: a 3 x 3 positive definite kernel (eigenvalues 1, 1, 4) and targets
KERNEL = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
TARGETS = np.array([1.0, -1.0, 0.5])
numbers_or_odd = st.one_of(st.floats(0.0, 2.0), odd_scalars, st.integers(10**20, 10**400))


@given(kwargs=one_bad(
    dict(learning_rate=st.floats(0.01, 1.0), diag_reg=st.floats(0.0, 1.0), diag_reg_absolute_scale=st.booleans(),
         discrete_time=st.booleans()),
    dict(k_train_train=st.one_of(anything, odd_matrices), y_train=anything, learning_rate=numbers_or_odd,
         diag_reg=numbers_or_odd, diag_reg_absolute_scale=odd_scalars, trace_axes=anything, discrete_time=odd_scalars)),
    t=st.one_of(st.floats(0.0, 10.0), numbers_or_odd, odd_arrays()), fx_train_0=st.one_of(st.just(0.0), anything))
@settings(max_examples=80)
def test_gradient_descent_predictions(kwargs, t, fx_train_0):
    arguments = {"k_train_train": KERNEL, "y_train": TARGETS, **kwargs}
    predict_fn = _refused_or(lambda: gradient_descent_mse(**arguments), kwargs.bad)
    if predict_fn is None:
        return
    # oracle: at t = 0 the outputs are where they start
    start = _outcome(lambda: predict_fn(t=0.0, fx_train_0=0.0))
    assert np.array_equal(start, np.zeros_like(start))
    _refused_or(lambda: predict_fn(t=t, fx_train_0=fx_train_0))


@given(diag_reg=numbers_or_odd, absolute=odd_scalars, k_test_train=st.one_of(anything, odd_matrices),
       k_test_test=st.one_of(st.none(), anything, odd_matrices))
@settings(max_examples=60)
def test_gp_inference(diag_reg, absolute, k_test_train, k_test_test):
    predict_fn = _refused_or(lambda: gp_inference(KERNEL, TARGETS, diag_reg=diag_reg, diag_reg_absolute_scale=absolute))
    if predict_fn is not None:
        _refused_or(lambda: predict_fn(k_test_train, k_test_test))


@given(t=st.one_of(st.floats(0.0, 10.0), numbers_or_odd, odd_arrays()),
       ntk_test_train=st.one_of(st.none(), anything, odd_matrices), nngp_test_train=st.one_of(st.none(), anything),
       learning_rate=numbers_or_odd)
@settings(max_examples=60)
def test_gradient_descent_ensemble(t, ntk_test_train, nngp_test_train, learning_rate):
    predict_fn = _refused_or(lambda: gradient_descent_mse_ensemble(KERNEL, KERNEL, TARGETS, learning_rate=learning_rate))
    if predict_fn is not None:
        _refused_or(lambda: predict_fn(t, ntk_test_train, nngp_test_train))


@given(kwargs=one_bad(
    dict(learning_rate=st.floats(0.01, 1.0), steps=st.integers(0, 3)),
    dict(X_train=st.one_of(anything, odd_matrices), y_train=anything, learning_rate=numbers_or_odd,
         steps=st.one_of(sizes, st.integers(10**20, 10**400)), times=anything, X_test=st.one_of(anything, odd_matrices),
         progress=odd_scalars)))
@settings(max_examples=60)
def test_train_mse(kwargs):
    net = MLP([2, 3, 1], seed=0)
    data = dict(X_train=np.array([[1.0, 0.5], [-0.5, 1.0]]), y_train=np.array([1.0, -1.0]))
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        result = _refused_or(lambda: train_mse(net, **{**data, **kwargs}), kwargs.bad)
    if result is not None and kwargs.get("times") is None:
        assert result.loss.size == kwargs["steps"] + 1


@given(scores=st.one_of(anything, odd_matrices), weights=st.one_of(st.none(), anything),
       max_iterations=sizes)
@settings(max_examples=60)
def test_factorise(scores, weights, max_iterations):
    _refused_or(lambda: factorise(scores, weights=weights, max_iterations=max_iterations))


@given(mask=st.one_of(masks01, anything), blocks=st.one_of(sizes, st.tuples(sizes, sizes)),
       row_order=st.one_of(st.none(), anything))
@settings(max_examples=60)
def test_estimate_graphon(mask, blocks, row_order):
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        W = _refused_or(lambda: estimate_graphon(mask, blocks, row_order=row_order))
    if W is not None and row_order is None:
        # oracle: block means keep the mask's density (each block mean weighted by its share of the entries)
        assert abs(_outcome(W.density) - np.asarray(mask).mean()) <= 1e-12


# ---------------------------------------------------------------------------------------- paths, pruning
@given(masks=st.one_of(st.lists(st.one_of(masks01, anything), min_size=1, max_size=3), anything),
       normalize=st.booleans())
def test_path_counts(masks, normalize):
    _refused_or(lambda: go.path_counts(masks, normalize))


@given(graphons=st.one_of(st.lists(some_graphons(), min_size=1, max_size=2), anything), d=sizes,
       rule=st.one_of(st.none(), rules))
@settings(max_examples=50)
def test_path_density_and_input_path_mass(graphons, d, rule):
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        _refused_or(lambda: go.path_density(graphons, rule))
        mass = _refused_or(lambda: go.input_path_mass(graphons, d, rule=rule))
    if mass is not None:
        assert mass.shape == (d,) and np.all((mass >= 0) & (mass <= 1))


@given(W1=st.one_of(masks01, some_graphons(), anything), d=st.one_of(st.none(), sizes),
       tol=st.one_of(st.floats(0.0, 1.0), odd_scalars), rule=st.one_of(st.none(), rules))
def test_active_coordinates(W1, d, tol, rule):
    with go.options(memory_budget_bytes=SMALL_BUDGET):
        _refused_or(lambda: go.active_coordinates(W1, d, tol=tol, rule=rule))


@given(scores=st.one_of(st.lists(st.one_of(odd_matrices, anything), min_size=1, max_size=2), anything),
       density=densities, scope=st.one_of(st.sampled_from(["global", "layerwise"]), odd_scalars),
       keep=st.one_of(st.sampled_from(["largest", "smallest"]), odd_scalars))
@settings(max_examples=60)
def test_prune(scores, density, scope, keep):
    masks = _refused_or(lambda: prune(scores, density, scope=scope, keep=keep, seed=0))
    if masks is not None:
        # oracle: exactly round(density * count) weights kept (at least 1)
        total = sum(np.size(s) for s in (scores if isinstance(scores, list) else [scores]))
        if scope == "global":
            assert sum(int(m.sum()) for m in masks) == max(1, min(total, round(density * total)))


@given(widths=st.one_of(st.lists(st.integers(-1, 4), min_size=0, max_size=4), anything))
def test_mlp_widths(widths):
    net = _refused_or(lambda: MLP(widths, seed=0))
    if net is not None:
        assert [w.shape for w in net.weights] == [(b, a) for a, b in zip(widths[:-1], widths[1:])]


@given(settings_=one_bad(
    dict(sigma_w=st.floats(0.0, 2.0), sigma_b=st.floats(0.0, 1.0), activation=st.sampled_from(["relu", "tanh", "erf"]),
         normalization=st.sampled_from(["none", "density", "degree"])),
    dict(sigma_w=odd_scalars, sigma_b=odd_scalars, activation=odd_scalars, normalization=odd_scalars,
         readout_init=odd_scalars, masks=anything, seed=odd_scalars)),
    data=one_bad(dict(X=hnp.arrays(np.float64, (3, 2), elements=st.floats(-2.0, 2.0)),
                      y=hnp.arrays(np.float64, 3, elements=st.floats(-2.0, 2.0))),
                 dict(X=st.one_of(anything, odd_matrices, hnp.arrays(np.float64, (3, 2), elements=odd_elements)),
                      y=st.one_of(anything, hnp.arrays(np.float64, 3, elements=odd_elements)))),
    which=st.sampled_from(["forward", "loss", "gradient", "hessian_vector_product"]))
@settings(max_examples=60)
def test_mlp_passes(settings_, data, which):
    net = _refused_or(lambda: MLP([2, 3, 2, 1], **settings_), settings_.bad)
    if net is None:
        return
    # a sigma accepted by MLP may still overflow a pass: then the refusal names the sigmas, not the data
    naming = data.bad if settings_.bad is None else None
    if which == "forward":
        _refused_or(lambda: net.forward(data["X"])[0], naming if naming == "X" else None)
    else:
        _refused_or(lambda: getattr(net, which)(data["X"], data["y"]), naming)


@given(kwargs=one_bad(
    dict(method=st.sampled_from(["snip", "grasp", "grasp_magnitude", "synflow", "magnitude", "random"]),
         density=st.floats(0.05, 1.0), X=hnp.arrays(np.float64, (3, 2), elements=st.floats(-2.0, 2.0)),
         y=hnp.arrays(np.float64, 3, elements=st.floats(-2.0, 2.0)), scope=st.sampled_from(["global", "layerwise"]),
         iterations=st.integers(1, 2)),
    dict(method=odd_scalars, density=densities, X=st.one_of(anything, odd_matrices), y=anything, scope=odd_scalars,
         iterations=sizes, loss=odd_scalars, prune_readout=odd_scalars)))
@settings(max_examples=60)
def test_pruning_at_init(kwargs):
    net = MLP([2, 4, 3, 1], seed=0)
    if not (isinstance(kwargs["method"], str) and kwargs["method"] == "synflow"):
        kwargs["iterations"] = 1                       # iterations > 1 is synflow's alone (a refusal tested apart)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # disconnected neurons: a warning by design
        masks = _refused_or(lambda: prune_at_init(net, seed=0, **kwargs), kwargs.bad)
    if masks is not None and kwargs.get("prune_readout") is not True and kwargs["scope"] == "global" \
            and "loss" not in kwargs:
        # oracle: round(density * hidden weights) kept (at least 1), the readout dense
        hidden = sum(w.size for w in net.weights[:-1])
        assert sum(int(m.sum()) for m in masks[:-1]) == max(1, min(hidden, round(kwargs["density"] * hidden)))
        assert masks[-1].all()


@given(text=st.text(alphabet="uv0123456789.+-*/^() eEpilogsqrtxnabmi,", max_size=20))
@settings(max_examples=80)
def test_graphon_expressions(text):
    W = _refused_or(lambda: go.Graphon.from_expression(text))
    if W is not None:
        # values, not density: sympy's exact integral of a random expression can take minutes
        values = _refused_or(lambda: W.on_grid([0.0, 0.3, 1.0], [0.0, 0.7, 1.0]))
        if values is not None:
            assert np.all((values >= 0) & (values <= 1))


# ---------------------------------------------------------------------------------------- found by fuzzing
def _jit(f):
    return lambda: go.Graphon.from_callable(f, jit=True)


FOUND = {
    # (call, what the ValueError must say); each raised another exception type, or returned a wrong
    # finite number, before it was fixed
    "density with rule=5 (AttributeError)": (lambda: go.Graphon.from_callable(lambda u, v: u * v).density(rule=5),
                                            "rule must be a QuadratureRule"),
    "out_degree with a string rule": (lambda: go.Graphon.product(np.sqrt, np.sqrt).out_degree(0.5, rule="gl"),
                                      "rule must be a QuadratureRule"),
    "in_degree with an int rule": (lambda: go.graphon("u*v").in_degree(0.5, rule=3), "rule must be a QuadratureRule"),
    "constant beyond 2**64 (TypeError in isfinite)": (lambda: go.Graphon.constant(2**64), "c must be a number in"),
    "sigma_b of 10**400 (TypeError in isfinite)": (lambda: go.graphon_ntk(np.eye(2), [0.5], sigma_b=10**400),
                                                   "sigma_b must be a finite"),
    "tol of 10**400 (OverflowError)": (lambda: go.active_coordinates([[1, 0]], tol=10**400), "tol must be a finite"),
    "density beyond 2**64": (lambda: prune([np.ones((2, 2))], 2**64), "density must be a density"),
    "motif given as a list (unhashable)": (lambda: go.homomorphism_density([], [[1]]), "F must be one of"),
    "choice given as an array": (lambda: go.sample_mask(0.5, 2, 2, positions=np.array(["grid"])),
                                 "positions must be one of"),
    "empty expression (IndexError)": (lambda: go.Graphon.from_expression(""), "does not parse"),
    "tuple expression (AttributeError)": (lambda: go.Graphon.from_expression("u, v"), "must be one expression"),
    "function name as expression (TypeError)": (lambda: go.Graphon.from_expression("erf"), "must be one expression"),
    "1/(u - u) (KeyError in lambdify)": (lambda: go.Graphon.from_expression("1/(u - u)"), "infinite or undefined"),
    "sqrt(-1) (TypeError on complex)": (lambda: go.graphon("sqrt(-1)").density(), "complex values"),
    "pi: exact density 3.14": (lambda: go.graphon("pi").density(), "must take values in \\[0, 1\\]"),
    "sign(u - v): exact density 0": (lambda: go.graphon("sign(u - v)").density(), "must take values in \\[0, 1\\]"),
    "exp(1000) u: exact out-degree inf": (lambda: go.graphon("exp(1000) * u").out_degree(0.5), "must be finite"),
    "product factor of two arguments (TypeError)": (lambda: go.Graphon.product(lambda u, v: u, np.sqrt),
                                                   "f must take 1 positional"),
    "callable of one argument (TypeError)": (lambda: go.cut_distance([[1]], lambda u: 0.5), "must take 2 positional"),
    "jit callable returning a string (numba TypingError)": (_jit(lambda u, v: "a"), "must return a real number"),
    "jit callable returning an array (numba TypingError)": (_jit(lambda u, v: np.array([u, v])),
                                                            "must return a real number"),
    "MLP widths a numpy scalar (TypeError)": (lambda: MLP(np.float32(3.0)), "widths must be a sequence"),
    "GraphonNetwork weights a number (TypeError)": (lambda: GraphonNetwork([0.5], weights=0.5),
                                                    "weights must be a sequence"),
    "GraphonNetwork activation checked when made, not when used": (lambda: GraphonNetwork([0.5], activation=5),
                                                                   "activation must be one of"),
    "10**8 SynFlow rounds (days: a hang)": (
        lambda: saliency(MLP([2, 3, 1], seed=0), method="synflow", density=0.5, iterations=10**8), "MAX_SYNFLOW_WORK"),
    "ragged mask (numpy's message names no argument)": (lambda: go.empirical_ntk(np.ones((1, 2)), [[[1, 0], [1]]]),
                                                        "masks\\[0\\] must be a 2-D 0/1 array"),
    "MLP sigma_w near 1e308 (inf weights)": (lambda: MLP([1, 50, 1], sigma_w=1.7e308, seed=0), "sigma_w = .* too large"),
    "MLP sigma_b near 1e308 (inf biases)": (lambda: MLP([2, 3, 1], sigma_b=1.7e308, seed=0), "sigma_b = .* too large"),
    "MLP masks a number (TypeError)": (lambda: MLP([2, 1], masks=np.nan), "masks must be a sequence"),
    "MLP outputs beyond float64 (inf)": (lambda: MLP([2, 2, 2, 1], sigma_w=1e200, seed=0).forward(np.ones((1, 2))),
                                         "overflowed float64"),
    "squared loss beyond float64 (inf)": (lambda: MLP([2, 3, 1], sigma_w=1e100, seed=0).loss(np.ones((1, 2)), [1.0]),
                                          "squared loss overflows"),
    "empirical NTK beyond float64 (OverflowError, NaN)": (
        lambda: go.empirical_ntk(np.ones((1, 2)), [np.ones((2, 2))], sigma_b=1e300), "overflowed float64"),
    "complex scores (TypeError)": (lambda: prune([0j], 0.5), "scores\\[0\\] must be a real numeric array"),
    "string scores (parsed as numbers)": (lambda: prune([[["1", "2"]]], 0.5), "scores\\[0\\] must be a real numeric"),
    "resolution 10**9 (MemoryError)": (lambda: go.cut_distance([[1]], "u*v", resolution=10**9), "memory budget"),
    "complex 0/1 mask (ComplexWarning, imaginary part dropped)": (
        lambda: go.cut_distance(np.zeros((1, 1), complex), 0.5), "must be numeric 0/1, got dtype complex128"),
    "0-d mask stack (TypeError in len)": (lambda: go.path_counts(np.array("1")), "masks must be a sequence"),
    "indefinite kernel of trace 0 (NaN top-5 energy)": (lambda: go.spectral_metrics([[0.0, 1.0], [1.0, 0.0]]),
                                                        "positive semi-definite"),
    "d = 10**9 coordinates (MemoryError)": (lambda: go.active_coordinates(0.5, 10**9), "memory budget"),
    "d = 10**9 input positions (MemoryError)": (lambda: go.input_path_mass([0.5], 10**9), "memory budget"),
    "subnormal kernel: 1e320 overflows (was NaN)": (lambda: go.generalization_bound(1e-320 * np.eye(2), [1e300, 1.0]),
                                                    "outside the float64 range"),
    "kernel entries 1e308: eigenvalue 2e308 (was inf)": (lambda: go.kernel_spectrum(np.full((2, 2), 1e308)),
                                                         "eigenvalues overflow"),
    "midpoint(10**9) (the process killed for memory)": (lambda: go.midpoint(10**9), "memory budget"),
    "trapezoid(10**9) (the process killed for memory)": (lambda: go.trapezoid(10**9), "memory budget"),
    "composite rule of 1.6e9 nodes": (lambda: go.composite("gauss_legendre", 8, np.linspace(0.0, 1.0, 2 * 10**8)),
                                      "memory budget"),
    "rule with a NaN weight": (lambda: go.QuadratureRule(np.array([0.5]), np.array([np.nan]), "bad", 0), "finite"),
    "rule with a node outside [0, 1]": (lambda: go.QuadratureRule(np.array([1.5]), np.array([1.0]), "bad", 0),
                                        "nodes must be increasing in \\[0, 1\\]"),
    "rule with a negative weight": (lambda: go.QuadratureRule(np.array([0.2, 0.8]), np.array([-1.0, 2.0]), "bad", 0),
                                    "weights must be positive"),
    "sigma_w of 1e160 (OverflowError in sigma_w ** 2)": (lambda: go.graphon_ntk(np.eye(2), [0.5], sigma_w=1e160),
                                                        "sigma_w must be at most"),
    "sigma_b of 1e160 (OverflowError in sigma_b ** 2)": (lambda: go.graphon_ntk(np.eye(2), [0.5], sigma_b=1e160),
                                                        "sigma_b must be at most"),
    "hermite_order 10**9 (MemoryError; NaN weights from 372 on)": (
        lambda: go.graphon_ntk(np.eye(2), [0.5], activation="tanh", hermite_order=10**9), "hermite_order must be at most"),
    "dtype 'x' (TypeError in np.dtype)": (lambda: go.graphon_ntk(np.eye(2), [0.5], dtype="x"), "dtype must be float64"),
    "dates as inputs (days since 1970)": (
        lambda: go.graphon_ntk(np.array([["2020-01-01"]], dtype="datetime64[D]"), [0.5]), "X must be a real numeric"),
    "layer values outside [0, 1] not naming the layer": (lambda: go.graphon_ntk(np.eye(2), [0.5, lambda u, v: 2 + u]),
                                                         "graphons\\[1\\]: W\\(u, v\\) must take values"),
    "options(dtype=int64) (kernels in integers)": (lambda: go.options(dtype=np.int64).__enter__(),
                                                   "options: dtype must be float64"),
    "options with a NaN tolerance": (lambda: go.options(unit_interval_tolerance=math.nan).__enter__(),
                                     "options: unit_interval_tolerance"),
    "options numba_min_size -1": (lambda: go.options(numba_min_size=-1).__enter__(), "options: numba_min_size"),
    "default_rule(axis='bogus') (the column rule)": (lambda: go.Graphon.constant(0.5).default_rule("bogus"),
                                                     "axis must be one of"),
    "limit_graphon weight_scale 2**64 (TypeError in isfinite)": (
        lambda: go.limit_graphon("magnitude", 0.2, weight_scale=2**64 * 10**300), "weight_scale must be a finite"),
    "limit_graphon rule 5 with callable factors (AttributeError)": (
        lambda: go.limit_graphon("snip", 0.2, row_factor=lambda u: u, col_factor=lambda v: v, rule=5),
        "rule must be a QuadratureRule"),
    "limit_graphon factor of two arguments (TypeError)": (
        lambda: go.limit_graphon("snip", 0.2, row_factor=lambda u, v: u, col_factor=lambda v: v),
        "row_factor must take 1 positional"),
    "limit_graphon factor products overflow (brentq on [0, inf])": (
        lambda: go.limit_graphon("snip", 0.2, row_factor=np.array([1e300, 2e300]), col_factor=np.array([1e300])),
        "overflows float64"),
    "limit_graphon threshold beyond float64 (brentq on [0, inf])": (
        lambda: go.limit_graphon("snip", 0.2, row_factor=np.array([1.3e154]), col_factor=np.array([1.3e154])),
        "passes the float64 range"),
    "Monte Carlo first layer of 10**12 samples (MemoryError)": (
        lambda: go.graphon_ntk(np.eye(40), [0.3], n_samples=10**12, max_patterns=2), "Monte Carlo first layer"),
    "hidden layer on a 10**6-node rule (MemoryError in np.eye)": (
        lambda: go.graphon_ntk(np.eye(2), ["u*v", "u*v"], rule=go.midpoint(10**6)), "layer matrices"),
    "callable returning complex values (real part kept)": (lambda: go.graphon(lambda u, v: 0.5 + 0j * u).density(),
                                                           "W\\(u, v\\) must be real"),
    "unused bad seed (enumerated first layer)": (lambda: go.graphon_ntk(np.eye(2), [0.5], seed="abc"),
                                                 "seed must be None"),
    "unused bad seed (magnitude scores)": (lambda: saliency(MLP([2, 2, 1], seed=0), method="magnitude", seed=-1),
                                           "seed must be a non-negative"),
    "ragged X to graphon_ntk (numpy's message names no argument)": (
        lambda: go.graphon_ntk([[0.5, 0.5], [0.5]], [0.5]), "X must be a real numeric array"),
    "all-zero row factor (the refusal named no factor)": (
        lambda: go.limit_graphon("snip", 0.5, row_factor=np.zeros(2), col_factor=np.ones(2)), "row_factor x col_factor"),
    "learning_rate 10**400 (TypeError in isfinite)": (lambda: gradient_descent_mse(KERNEL, TARGETS, learning_rate=10**400),
                                                      "learning_rate must be a finite"),
    "learning_rate 1e308 (rates overflow)": (lambda: gradient_descent_mse(KERNEL, TARGETS, learning_rate=1e308),
                                             "learning_rate \\* lambda / N overflows"),
    "diag_reg 1e308 relative to the diagonal (NaN)": (lambda: gp_inference(KERNEL, TARGETS, diag_reg=1e308),
                                                      "K \\+ diag_reg I overflows"),
    "trace_axes a nested list (unhashable)": (lambda: gp_inference(KERNEL, TARGETS, trace_axes=[[1, 2], [3]]),
                                              "trace_axes must be"),
    "t = 10**400 (OverflowError)": (lambda: gradient_descent_mse(KERNEL, TARGETS)(t=10**400), "t must be None"),
    "complex t (ComplexWarning)": (lambda: gradient_descent_mse(KERNEL, TARGETS)(t=1j), "t must be real"),
    "starting outputs 1.7e308 (inf predictions)": (
        lambda: gradient_descent_mse(KERNEL, TARGETS)(t=0.0, fx_train_0=1.7e308), "predictions overflow"),
    "train_mse steps 10**400 (OverflowError)": (
        lambda: train_mse(MLP([2, 1], seed=0), np.ones((1, 2)), [1.0], steps=10**400), "steps must be an integer"),
    "train_mse steps 10**12 (a loss history of 8 TB)": (
        lambda: train_mse(MLP([2, 1], seed=0), np.ones((1, 2)), [1.0], steps=10**12), "memory budget"),
    "train_mse ragged times (numpy's message names nothing)": (
        lambda: train_mse(MLP([2, 1], seed=0), np.ones((1, 2)), [1.0], times=[[1, 2], [3]]), "times must be"),
    "width_sweep widths a number (TypeError: not iterable)": (lambda: go.pruning.width_sweep("random", widths=64),
                                                               "widths must be a sequence"),
    "d = 10**400 input positions (OverflowError)": (lambda: go.input_path_mass([0.5], 10**400), "d must be an integer"),
    "10**400 SynFlow rounds (OverflowError)": (
        lambda: saliency(MLP([2, 2, 1], seed=0), method="synflow", density=0.5, iterations=10**400), "iterations"),
    "magnitude density 5e-324 (threshold inf, second moment 0)": (
        lambda: go.limit_graphon("magnitude", 5e-324, moment="second"), "below what the magnitude threshold"),
}


@pytest.mark.parametrize("case", list(FOUND))
def test_found_by_fuzzing_is_a_value_error(case):
    call, message = FOUND[case]
    with pytest.raises(_Refused, match=message):
        _outcome(call)


def test_predictions_from_a_kernel_near_the_float64_limit():
    # trace(K) of 1e308 I overflowed and 0 * inf made a NaN ridge; with no ridge the training-point posterior
    # mean is y exactly (K^-1 K y), and gradient flow with eta = 1e-308 has rate 1/3 per unit time (N = 3)
    K = 1e308 * np.eye(3)
    assert np.array_equal(_outcome(lambda: gp_inference(K, TARGETS)(None)), TARGETS)
    flow = _outcome(lambda: gradient_descent_mse(K, TARGETS, learning_rate=1e-308)(t=1.0))
    assert np.allclose(flow, TARGETS * (1.0 - np.exp(-1.0 / 3.0)), rtol=8 * np.finfo(float).eps, atol=0)


@pytest.mark.parametrize("scale", [1.7e308, 1e308, 1e300, 1e-300, 1e-320])
def test_kernels_of_extreme_scale(scale):
    # (K + K^T) / 2, traces and Cholesky solves overflowed (inf) or underflowed (NaN) at these scales
    K = np.array([[1.0, 0.5], [0.5, 1.0]]) * scale  # eigenvalues 1.5 scale and 0.5 scale
    y = np.array([1.0, -1.0])
    if 1.5 * scale == math.inf:
        with pytest.raises(_Refused, match="eigenvalues overflow"):  # 2.55e308 is not a float64
            _outcome(lambda: go.kernel_spectrum(K))
    else:
        values = _outcome(lambda: go.kernel_spectrum(K)[0])
        # eigh is backward stable: eigenvalues within N eps |K| (subnormal entries: 2**-1074 each, absolute)
        tol = 4 * np.finfo(float).eps * scale + 4 * 2.0**-1074
        assert abs(values[0] - 1.5 * scale) <= tol and abs(values[1] - 0.5 * scale) <= tol
    # scale-free quantities are the same at every scale (K is exactly scale/2 [[2, 1], [1, 2]], even
    # subnormal): y is the eigenvector of 0.5 scale, so y^T K y / (|K|_F |y|^2) = 0.5 / sqrt(1.5^2 + 0.5^2)
    # and y^T K^{-1} y tr(K) / N = (2 / 0.5) (2 / 2) = 4; rounding of a few operations on 2 x 2 matrices
    assert abs(_outcome(lambda: go.kernel_alignment(K, y)) - 0.5 / math.sqrt(2.5)) <= 1e-14
    assert abs(_outcome(lambda: go.kernel_complexity(K, y)) - 4.0) <= 1e-14
    metrics = go.spectral_metrics(K)
    assert abs(metrics.effective_rank - 2.0 / 1.5) <= 1e-14 and abs(metrics.spectral_gap - 3.0) <= 1e-13
    assert abs(metrics.decay_exponent - math.log(3.0) / math.log(2.0)) <= 1e-13


def test_closed_form_degree_that_numpy_cannot_evaluate_falls_back_to_quadrature():
    # sympy integrates Heaviside(u - 1/2) v over u into a meijerg expression that lambdify cannot print
    # (NameError); in_degree(v) = v / 2, which the default rule integrates exactly up to rounding
    W = go.graphon("Heaviside(u - 0.5) * v")
    v = np.array([0.0, 0.3, 1.0])
    assert np.max(np.abs(_outcome(lambda: W.in_degree(v)) - v / 2)) <= 1e-14
    assert np.max(np.abs(_outcome(lambda: W.out_degree(v)) - (v > 0.5) / 2)) <= 1e-14


factor_samples = hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(1e-3, 1e3))


@given(kwargs=one_bad(
    dict(method=st.sampled_from(["snip", "synflow", "factorised", "grasp_magnitude"]), density=st.floats(0.01, 0.99),
         row_factor=factor_samples, col_factor=factor_samples, moment=st.sampled_from(["first", "second"])),
    dict(method=odd_scalars, density=densities, moment=odd_scalars,
         row_factor=st.one_of(anything, hnp.arrays(np.float64, st.integers(1, 4), elements=st.one_of(
             st.floats(0.0, 1e3), non_finite, st.just(-1.0), st.floats(1e150, 1e300))),
             st.sampled_from([lambda u: 1.0 + u, lambda u, v: u, lambda: 1.0, lambda u: -u, lambda u: 1e300 + u])),
         col_factor=st.one_of(st.none(), anything, hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(
             1e150, 1e300))),
         weight_law=odd_scalars, weight_scale=st.one_of(st.floats(-1.0, 1e3), non_finite, st.none(),
                                                        st.text(max_size=2), st.integers(2**64, 10**400)),
         rule=odd_scalars, tol=st.one_of(odd_scalars, st.integers(2**64, 10**400)))))
@settings(max_examples=80)
def test_limit_graphon(kwargs):
    W = _refused_or(lambda: go.limit_graphon(**kwargs), kwargs.bad)
    if W is None:
        return
    rho = _outcome(W.density)
    density, moment = kwargs["density"], kwargs["moment"]
    if moment == "first":
        # oracle: the density constraint tau was solved for; sample factors give a step graphon whose
        # density is a finite sum (the solve's rtol 1e-15 and the sum's rounding), or a constant
        assert abs(rho - density) <= 1e-12 * density + abs(W.metadata["density_residual"])
