"""Integral operators: closed-form spectra (docs/theory/graphons.rst, docs/theory/paths_alignment.rst), convergence rates, algebra, bad input."""

import math

import numpy as np
import pytest
import scipy.sparse.linalg
from hypothesis import given
from hypothesis import strategies as st

import graphon_ops as go
from graphon_ops import Graphon, discretize

from reference_foundation import apply_operator, exp_uv_eigenvalues, min_kernel_eigenvalue
from strategies import step_graphon_data

EPS = np.finfo(float).eps


def rounding_bound(op):
    """Backward-stable symmetric eigensolvers perturb eigenvalues by at most ~ m eps ||S||_2."""
    m = op.row_rule.size
    return 8 * m * EPS * max(np.abs(op.kernel).max(), 1e-300)


def test_rank_one_singular_value():
    # W = f(u) g(v): single singular value ||f||_2 ||g||_2 = sqrt(1/3) sqrt(8/15); 6 GL nodes integrate
    # the degree-4 products exactly
    W = Graphon.product(lambda u: u, lambda v: 1 - v**2)
    s = discretize(W, go.gauss_legendre(6), go.gauss_legendre(5)).singular_values()
    assert abs(s[0] - math.sqrt(1 / 3) * math.sqrt(8 / 15)) < 16 * EPS
    assert np.all(s[1:] < 16 * EPS)


def test_constant_graphon_is_rank_one():
    op = discretize(Graphon.constant(0.4), go.gauss_legendre(12))
    values = op.eigenvalues()
    assert abs(values[0] - 0.4) < rounding_bound(op)
    assert np.all(np.abs(values[1:]) < rounding_bound(op))


def test_cosine_graphon():
    # cos(2 pi (u - v)) = cos cos + sin sin: eigenvalues 1/2, 1/2, then 0. The Nystrom Gram matrix
    # integrates trigonometric polynomials of frequency 4 pi; 32 GL nodes do so to rounding (GL error
    # for an entire function decays faster than any geometric rate).
    W = Graphon.from_callable(lambda u, v: (1 + np.cos(2 * np.pi * (u - v))) / 2)  # shifted into [0, 1]
    op = discretize(W, go.gauss_legendre(32))
    values = op.eigenvalues(4)
    # (1 + cos)/2 = 1/2 (constant) + cos/2: eigenvalues 1/2, 1/4, 1/4, 0
    assert np.allclose(values, [0.5, 0.25, 0.25, 0.0], rtol=0, atol=rounding_bound(op))


def test_sum_graphon_has_a_negative_eigenvalue():
    # (u + v)/2: eigenvalues (1/2 +- 1/sqrt(3))/2; polynomial of degree 1, so 2 GL nodes are exact
    W = Graphon.from_callable(lambda u, v: (u + v) / 2)
    op = discretize(W, go.gauss_legendre(4))
    values = op.eigenvalues(2)
    assert np.allclose(values, [(0.5 + 1 / math.sqrt(3)) / 2, (0.5 - 1 / math.sqrt(3)) / 2], rtol=0,
                       atol=rounding_bound(op))
    assert values[1] < 0


def test_block_graphon_spectrum_is_exact():
    # masses pi, values B: eigenvalues of diag(sqrt(pi)) B diag(sqrt(pi)) (docs/theory/paths_alignment.rst)
    B = np.array([[0.9, 0.1, 0.3], [0.1, 0.5, 0.0], [0.3, 0.0, 0.7]])
    breaks = np.array([0.0, 0.2, 0.5, 1.0])
    masses = np.diff(breaks)
    W = Graphon.step(B, breaks, breaks)
    expected = np.linalg.eigvalsh(np.sqrt(masses)[:, None] * B * np.sqrt(masses)[None, :])
    expected = expected[np.argsort(-np.abs(expected))]
    for rule in (W.default_rule(), go.composite("gauss_legendre", 3, breaks)):
        op = discretize(W, rule)
        assert np.allclose(op.eigenvalues(3), expected, rtol=0, atol=rounding_bound(op))
        assert np.all(np.abs(op.eigenvalues()[3:]) < rounding_bound(op))


def test_smooth_graphon_geometric_convergence():
    # e^{uv - 1}: reference eigenvalues in 50-digit arithmetic from the moment expansion (a different
    # algorithm). Nystrom GL error decays geometrically: each 2 extra nodes gain > 2 digits until the
    # rounding floor ~ m eps lambda_1.
    W = Graphon.from_callable(lambda u, v: np.exp(u * v - 1.0))
    reference = exp_uv_eigenvalues(3) / math.e
    errors = []
    for m in (2, 4, 6):
        values = discretize(W, go.gauss_legendre(m)).eigenvalues(2)
        errors.append(abs(values[1] - reference[1]) / reference[1])
    assert errors[1] < 1e-2 * errors[0] and errors[2] < 1e-2 * errors[1]
    values = discretize(W, go.gauss_legendre(32)).eigenvalues(3)
    assert np.all(np.abs(values - reference) / reference < 1e-12)


def test_min_kernel_converges_at_second_order():
    # min(u, v) has a kink on the diagonal, so Nystrom converges only algebraically, O(m^-2):
    # doubling m divides the error by ~4 (observed 3.9; window [3.5, 4.5])
    W = Graphon.from_callable(lambda u, v: np.minimum(u, v))
    exact = np.array([min_kernel_eigenvalue(k) for k in (1, 2, 3)])
    err = [np.abs(discretize(W, go.gauss_legendre(m)).eigenvalues(3) - exact) for m in (32, 64, 128)]
    for coarse, fine in zip(err, err[1:]):
        assert np.all((3.5 < coarse / fine) & (coarse / fine < 4.5))


def test_brownian_bridge_converges():
    W = Graphon.from_callable(lambda u, v: np.minimum(u, v) - u * v)
    exact = np.array([1 / (k * math.pi) ** 2 for k in (1, 2, 3)])
    e64 = np.abs(discretize(W, go.midpoint(64)).eigenvalues(3) - exact)
    e128 = np.abs(discretize(W, go.midpoint(128)).eigenvalues(3) - exact)
    assert np.all((3.5 < e64 / e128) & (e64 / e128 < 4.5))


def test_eigenfunctions_are_orthonormal_and_satisfy_the_equation():
    W = Graphon.from_callable(lambda u, v: np.exp(-((u - v) ** 2)))
    rule = go.gauss_legendre(24)
    op = discretize(W, rule)
    values, phi = op.eigenfunctions(4)
    gram = phi.T @ (rule.weights[:, None] * phi)
    assert np.allclose(gram, np.eye(4), atol=64 * 24 * EPS)
    # T phi = lambda phi at the nodes (exact identity of the Nystrom system)
    assert np.allclose(op @ phi, phi * values[None, :], atol=64 * 24 * EPS)


def test_apply_matches_double_loop(rng):
    W = Graphon.from_callable(lambda u, v: u * v + (1 - u) * (1 - v) / 2)
    ru, rv = go.gauss_legendre(7), go.clenshaw_curtis(9)
    op = discretize(W, ru, rv)
    f = rng.standard_normal(9)
    expected = apply_operator(W, ru.nodes, rv.nodes, rv.weights, f)
    assert np.allclose(op @ f, expected, rtol=0, atol=32 * EPS * np.abs(f).sum())
    lin = op.as_linear_operator()
    assert isinstance(lin, scipy.sparse.linalg.LinearOperator)
    assert np.allclose(lin.matvec(f), op @ f, rtol=0, atol=0)
    g = rng.standard_normal(7)
    assert abs(g @ lin.matvec(f) - lin.rmatvec(g) @ f) < 64 * EPS * np.abs(g).sum() * np.abs(f).sum()


def test_compose_and_adjoint():
    # product graphons compose in closed form: (f2 g2) o (f1 g1) = <g2, f1> f2(u) g1(w)
    rule = go.gauss_legendre(6)
    W2 = Graphon.product(lambda u: u, lambda v: v**2)
    W1 = Graphon.product(lambda u: 1 - u, lambda v: v)
    composed = discretize(W2, rule).compose(discretize(W1, rule))
    inner = 1 / 3 - 1 / 4  # int v^2 (1 - v) dv
    assert np.allclose(composed.kernel, inner * np.outer(rule.nodes, rule.nodes), rtol=0, atol=16 * EPS)
    assert np.array_equal((discretize(W2, rule) @ discretize(W1, rule)).kernel, composed.kernel)
    adjoint = discretize(W1, rule, go.midpoint(3)).adjoint()
    assert adjoint.row_rule == go.midpoint(3) and np.array_equal(adjoint.kernel, W1.on_grid(rule.nodes, go.midpoint(3).nodes).T)


# ---------------------------------------------------------------------------- properties
@given(step_graphon_data(symmetric=True))
def test_symmetric_step_graphon_has_real_exact_spectrum(data):
    P, rb, _ = data
    W = Graphon.step(P, rb, rb)
    op = discretize(W, W.default_rule())
    masses = np.diff(rb)
    S = np.sqrt(masses)[:, None] * P * np.sqrt(masses)[None, :]
    # a general (non-symmetric) eigensolver as an independent check that the spectrum is real
    general = np.linalg.eigvals(S)
    assert np.all(np.abs(general.imag) < 1e-12)
    assert np.allclose(np.sort(op.eigenvalues()), np.sort(general.real), rtol=0, atol=1e-12)


@given(step_graphon_data())
def test_operator_norm_at_most_sup(data):
    P, rb, cb = data
    W = Graphon.step(P, rb, cb)
    s = discretize(W, W.default_rule("row"), W.default_rule("col")).singular_values(1)[0]
    # ||T_W||_{2->2} <= ||W||_{L2} <= sup W
    assert s <= P.max() + 64 * EPS


@given(step_graphon_data(), step_graphon_data(), step_graphon_data(), st.integers(1, 3))
def test_composition_is_associative(a, b, c, m):
    rule = go.gauss_legendre(m * 3)
    ops = [discretize(Graphon.step(*d), rule) for d in (a, b, c)]
    left = ops[0].compose(ops[1]).compose(ops[2]).kernel
    right = ops[0].compose(ops[1].compose(ops[2])).kernel
    assert np.allclose(left, right, rtol=0, atol=64 * rule.size * EPS)


# ---------------------------------------------------------------------------- bad input
def test_eigenvalues_need_symmetric_square_operator():
    W = Graphon.from_callable(lambda u, v: u * (1 - v))
    with pytest.raises(ValueError, match="symmetric kernel"):
        discretize(W, go.gauss_legendre(4)).eigenvalues()
    with pytest.raises(ValueError, match="one rule for both sides"):
        discretize(Graphon.constant(0.5), go.gauss_legendre(4), go.gauss_legendre(3)).eigenvalues()


def test_compose_needs_shared_grid():
    a = discretize(Graphon.constant(0.5), go.gauss_legendre(4))
    b = discretize(Graphon.constant(0.5), go.gauss_legendre(5))
    with pytest.raises(ValueError, match="shared middle grid"):
        a.compose(b)
    with pytest.raises(ValueError, match="must be a GraphonOperator"):
        a.compose(np.eye(4))


def test_apply_rejects_bad_vectors():
    op = discretize(Graphon.constant(0.5), go.gauss_legendre(4))
    with pytest.raises(ValueError, match="f must have 4 rows"):
        op @ np.ones(3)
    with pytest.raises(ValueError, match="f must be finite"):
        op @ np.array([1.0, np.nan, 0.0, 0.0])


def test_discretize_rejects_non_rules_and_huge_grids():
    with pytest.raises(ValueError, match="rule must be a QuadratureRule"):
        discretize(Graphon.constant(0.5), np.linspace(0, 1, 4))
    rule = go.midpoint(512)  # 16 KiB: made before the budget that refuses the 512 x 512 grid (2 MiB)
    with go.options(memory_budget_bytes=1000):
        with pytest.raises(ValueError, match="would need about 2.0 MiB"):
            discretize(Graphon.constant(0.5), rule)


def test_bad_k():
    op = discretize(Graphon.constant(0.5), go.gauss_legendre(4))
    with pytest.raises(ValueError, match="k must be an integer"):
        op.eigenvalues(0)
