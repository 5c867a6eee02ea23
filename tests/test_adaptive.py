"""Adaptive rules and their error estimates (docs/theory/graphons.rst, "Error model and adaptive rules").

Oracles: closed forms computed by sympy (densities, Gram matrices of finite-rank kernels), rules split at the
known kink, scipy's adaptive quad split at the kink, exact block sums of step graphons. An estimate is
honest when the true error is at most twice the estimate plus the rounding of the sums (ROUNDING times the
integral's scale: a few ulp of each of the summed terms).
"""

import math
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import graphon_ops as go
from graphon_ops import AccuracyWarning, Graphon, adaptive_rule, discretize, graphon_density, graphon_rule
from graphon_ops.adaptive import MIN_TOL, lobatto_companions
from graphon_ops.pruning import limit_graphon

EPS = np.finfo(float).eps
#: rounding of a sum of up to a few thousand positive terms, relative to the sum of their sizes
ROUNDING = 64 * EPS
C = 0.3719  # the kink of the graphon, not announced as a break
C_EXACT = sp.Rational(3719, 10000)
u, v = sp.symbols("u v", real=True)


def kinked_graphon(c=C):
    return Graphon.from_callable(lambda x, y: 0.2 + 0.6 * np.abs(x - c) * y)


def exact_density(expr):
    return float(sp.integrate(expr, (v, 0, 1), (u, 0, 1)))


def finite_rank_singular_values(f, g):
    r"""Singular values of the kernel :math:`\sum_a f_a(u) g_a(v)`: square roots of the eigenvalues of the
    product of the Gram matrices :math:`\int f_a f_b` and :math:`\int g_a g_b` (exact, by sympy)."""
    F = sp.Matrix(len(f), len(f), lambda a, b: sp.integrate(f[a] * f[b], (u, 0, 1)))
    G = sp.Matrix(len(g), len(g), lambda a, b: sp.integrate(g[a] * g[b], (v, 0, 1)))
    values = np.array(sorted((float(sp.re(x)) for x in (F * G).evalf(30).eigenvals(multiple=True)), reverse=True))
    return np.sqrt(np.maximum(values, 0.0))


def honest(true_error, estimate, scale):
    return true_error <= 2.0 * estimate + ROUNDING * scale


# ---------------------------------------------------------------- the graphon, kink not announced
def test_density_of_the_unannounced_kink_to_1e_11():
    expr = 0.2 + sp.Rational(3, 5) * sp.Abs(u - C_EXACT) * v
    exact = exact_density(expr)
    assert abs(exact - (0.2 + 0.3 * (C**2 + (1 - C) ** 2) / 2)) < 1e-16  # the closed form of the issue
    W = kinked_graphon()
    assert abs(W.density() - exact) > 1e-6  # the default rule misses the kink (1.3e-5)
    assert abs(W.density(tol=1e-12) - exact) < 1e-11


def test_singular_values_of_the_unannounced_kink_to_1e_9():
    # W = 0.2 * 1 * 1 + 0.6 |u - c| * v: rank two, exact singular values from the Gram matrices
    exact = finite_rank_singular_values([sp.Rational(1, 5), sp.Rational(3, 5) * sp.Abs(u - C_EXACT)],
                                        [sp.Integer(1), v])
    W = kinked_graphon()
    split = discretize(W, go.composite("gauss_legendre", 16, [C])).singular_values(2)
    np.testing.assert_allclose(split, exact, rtol=1e-13)  # the split-rule reference agrees with the closed form
    assert np.max(np.abs(discretize(W, go.gauss_legendre(32)).singular_values(2) - split) / split) > 1e-5
    found = discretize(W, tol=1e-10).singular_values_with_error(2)
    assert np.all(np.abs(found.values - split) / split < 1e-9)
    assert np.all(honest(np.abs(found.values - exact), found.error_estimates, exact[0]))


def test_eigenvalues_of_a_symmetric_kinked_graphon_with_their_estimate():
    # W = 0.2 + 0.6 |u - c| |v - c|: eigenvalues of M G, M = diag(0.2, 0.6), G the Gram matrix of 1, |u - c|
    g = sp.Abs(u - C_EXACT)
    G = sp.Matrix([[1, sp.integrate(g, (u, 0, 1))], [sp.integrate(g, (u, 0, 1)), sp.integrate(g * g, (u, 0, 1))]])
    exact = np.array(sorted((float(x) for x in (sp.diag(sp.Rational(1, 5), sp.Rational(3, 5)) * G)
                             .evalf(30).eigenvals(multiple=True)), reverse=True))
    W = Graphon.from_callable(lambda x, y: 0.2 + 0.6 * np.abs(x - C) * np.abs(y - C))
    op = discretize(W, tol=1e-10)
    assert op.row_rule == op.col_rule  # one rule for both sides: a square operator
    found = op.eigenvalues_with_error(2)
    assert np.all(np.abs(found.values - exact) < 1e-10 * exact[0])
    assert np.all(honest(np.abs(found.values - exact), found.error_estimates, exact[0]))


# ---------------------------------------------------------------- honesty across a test set
ONE_D = {
    "smooth exp": (np.exp, np.e - 1.0),
    "oscillating": (lambda x: np.cos(20.0 * x), np.sin(20.0) / 20.0),
    "kink": (lambda x: np.abs(x - C), (C**2 + (1 - C) ** 2) / 2),
    "jump": (lambda x: np.where(x > C, 0.8, 0.3), 0.3 * C + 0.8 * (1 - C)),
    "square-root kink": (lambda x: np.sqrt(np.abs(x - C)), 2.0 / 3.0 * (C**1.5 + (1 - C) ** 1.5)),
}


@pytest.mark.parametrize("tol", [1e-6, 1e-10, 1e-13])
@pytest.mark.parametrize("name", sorted(ONE_D))
def test_estimate_of_one_integral_is_honest(name, tol):
    f, exact = ONE_D[name]
    found = adaptive_rule(f, tol)
    assert found.converged and found.error_estimate <= tol
    assert honest(abs(found.integral - exact), found.error_estimate * found.scale, found.scale)
    assert abs(found.rule.integrate(f) - found.integral) <= ROUNDING * found.scale  # the integral is the rule's


DENSITIES = {
    "kink in u": 0.2 + sp.Rational(3, 5) * sp.Abs(u - C_EXACT) * v,
    "kink in v": sp.Abs(v - C_EXACT) / 2 + u / 4,
    "jump in u": sp.Piecewise((sp.Rational(9, 10), u < C_EXACT), (sp.Rational(1, 10), True)) * v,
    "kinks in both": sp.Abs(u - C_EXACT) * sp.Abs(v - sp.Rational(1, 3)),
    "smooth": sp.exp(u * v - 1),
    "diagonal kink": sp.Min(u, v),
}


@pytest.mark.parametrize("tol", [1e-6, 1e-12])
@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_density_estimate_is_honest(name, tol):
    expr = DENSITIES[name]
    exact = exact_density(expr)
    f = sp.lambdify((u, v), expr, "numpy")
    W = Graphon.from_callable(lambda x, y: np.broadcast_to(np.asarray(f(x, y), dtype=float), np.broadcast(x, y).shape))
    found = graphon_density(W, tol)
    assert found.converged and found.error_estimate <= tol
    assert honest(abs(found.integral - exact), found.error_estimate * found.scale, exact)


def test_density_estimate_of_a_jump_on_the_diagonal():
    # 1{v < u}: every row jumps at its own place, so inner batches are split until each fits; rho = 1/2
    W = Graphon.from_callable(lambda x, y: (y < x) * 1.0)
    found = graphon_density(W, 1e-10)
    assert found.converged and abs(found.integral - 0.5) <= 2 * found.error_estimate * found.scale + ROUNDING


def test_step_graphon_with_announced_breaks_is_exact_with_estimate_zero():
    P = np.array([[0.9, 0.1, 0.5], [0.2, 0.7, 0.3]])
    W = Graphon.step(P, row_breaks=[0.3], col_breaks=[0.25, 0.6])
    exact = np.array([0.3, 0.7]) @ P @ np.array([0.25, 0.35, 0.4])
    found = graphon_rule(W, 1e-12, "both")
    assert found.error_estimate == 0.0 and found.rule.size == 4  # one midpoint per block of the union
    op = discretize(W, tol=1e-12)
    blocks = np.sqrt([0.3, 0.7])[:, None] * P * np.sqrt([0.25, 0.35, 0.4])[None, :]
    values = op.singular_values_with_error(2)
    exact_values = np.linalg.svd(blocks, compute_uv=False)
    assert np.all(honest(np.abs(values.values - exact_values), values.error_estimates, exact_values[0]))
    density = graphon_density(Graphon.from_callable(W.function, row_breaks=[0.3], col_breaks=[0.25, 0.6]), 1e-12)
    assert honest(abs(density.integral - exact), density.error_estimate * density.scale, exact)


@pytest.mark.parametrize("case", ["kink in u", "jump in v", "smooth"])
def test_spectral_estimate_is_honest(case):
    c = sp.Rational(3, 7)
    f, g = {"kink in u": ([sp.Rational(1, 5), sp.Rational(3, 5) * sp.Abs(u - c)], [sp.Integer(1), v]),
            "jump in v": ([sp.Rational(3, 10), u / 2], [sp.Integer(1), sp.Piecewise((0, v < c), (1, True))]),
            "smooth": ([sp.exp(u - 1)], [sp.exp(v - 1)])}[case]
    exact = finite_rank_singular_values(f, g)
    kernel = sp.lambdify((u, v), sum(a * b for a, b in zip(f, g)), "numpy")
    W = Graphon.from_callable(lambda x, y: np.broadcast_to(np.asarray(kernel(x, y), float), np.broadcast(x, y).shape))
    for tol in (1e-6, 1e-10):
        found = discretize(W, tol=tol).singular_values_with_error(exact.size)
        assert np.all(honest(np.abs(found.values - exact), found.error_estimates, exact[0]))
        assert np.all(found.error_estimates <= 10 * tol * exact[0])


@given(st.floats(0.01, 0.99), st.sampled_from(["kink", "jump"]), st.sampled_from([1e-6, 1e-9, 1e-12]))
def test_random_kinks_and_jumps_are_found_honestly(c, kind, tol):
    if kind == "kink":
        f, exact = (lambda x: np.abs(x - c)), (c**2 + (1 - c) ** 2) / 2
    else:
        f, exact = (lambda x: np.where(x < c, 1.0, 0.25)), c + 0.25 * (1 - c)
    found = adaptive_rule(f, tol)
    assert found.converged and found.error_estimate <= tol
    assert honest(abs(found.integral - exact), found.error_estimate * found.scale, found.scale)


@given(st.floats(0.01, 0.99))
def test_random_kink_of_a_graphon_density_within_tol(c):
    exact = 0.2 + 0.3 * (c**2 + (1 - c) ** 2) / 2
    found = graphon_density(kinked_graphon(c), 1e-9)
    assert found.converged and honest(abs(found.integral - exact), found.error_estimate * found.scale, exact)
    assert abs(found.integral - exact) <= 2e-9 * exact


# ---------------------------------------------------------------- the estimate sees the panel ends
def test_a_jump_between_the_end_and_the_first_node_is_found():
    # 1{u < 0.004}: the first Gauss node on [0, 1] is at 0.0199 (8 nodes) and 0.0053 (16 nodes), so the two
    # interior rules agree on 0 and their difference would call the integral exact; the Lobatto ends do not
    f = lambda x: np.where(x < 0.004, 1.0, 0.0)  # noqa: E731
    assert go.gauss_legendre(8).integrate(f) == go.gauss_legendre(16).integrate(f) == 0.0
    found = adaptive_rule(f, 1e-10)
    assert found.converged and abs(found.integral - 0.004) <= 2 * found.error_estimate * found.scale
    assert found.rule.breakpoints[1] <= 0.004 * 2  # panels were bisected towards 0


def test_one_sided_end_values_keep_announced_breaks_exact():
    # at a break the right piece's value holds (u >= 0.5); the panel [0, 0.5] must see its own left values
    found = adaptive_rule(lambda x: np.where(x >= 0.5, 1.0, 0.0), 1e-12, breaks=[0.5])
    assert found.n_panels == 2 and found.error_estimate <= ROUNDING and abs(found.integral - 0.5) <= ROUNDING


# ---------------------------------------------------------------- families, scales, shapes
def test_family_relative_to_largest_each_or_a_number():
    c2 = 0.61

    def family(x):
        return np.stack([np.abs(x - C), 1e-6 * np.abs(x - c2)], axis=1)

    exact = np.array([(C**2 + (1 - C) ** 2) / 2, 1e-6 * (c2**2 + (1 - c2) ** 2) / 2])
    largest = adaptive_rule(family, 1e-10)
    each = adaptive_rule(family, 1e-10, relative_to="each")
    absolute = adaptive_rule(family, 1e-10, relative_to=1e-3)
    assert largest.integral.shape == (2,) and each.scale == 1.0 and absolute.scale == 1e-3
    # every member to 1e-10 of the largest, of itself, or of the number given
    assert np.all(np.abs(largest.integral - exact) <= 2e-10 * exact[0])
    assert np.all(np.abs(each.integral - exact) <= 2e-10 * exact)
    assert np.all(np.abs(absolute.integral - exact) <= 2e-10 * 1e-3)
    assert abs(largest.integral[1] - exact[1]) > 2e-10 * exact[1]  # the small member only to the largest's 1e-10
    assert largest.rule.size < min(absolute.rule.size, each.rule.size)


@pytest.mark.parametrize("bad, match", [
    (lambda x: np.ones((x.size, 2, 2)), "dimension"),
    (lambda x: np.ones(x.size + 1), "shape"),
    (lambda x: np.full(x.size, np.nan), "finite"),
    ("not callable", "callable"),
])
def test_bad_functions(bad, match):
    with pytest.raises(ValueError, match=match):
        adaptive_rule(bad, 1e-8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(relative_to="all"), "relative_to"),
    (dict(relative_to=0.0), "relative_to"),
    (dict(nodes_per_panel=1), "nodes_per_panel"),
    (dict(max_nodes=0), "max_nodes"),
    (dict(breaks=[0.5, 0.2]), "breaks"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adaptive_rule(np.exp, 1e-8, **kwargs)


BAD_TOLS = [0.0, -1e-3, float("nan"), float("inf"), 1e-15, 1.0, True, "1e-8"]


@pytest.mark.parametrize("tol", BAD_TOLS)
def test_bad_tol_is_a_value_error_naming_tol(tol):
    W = kinked_graphon()
    calls = [lambda: adaptive_rule(np.exp, tol), lambda: graphon_rule(W, tol), lambda: graphon_density(W, tol),
             lambda: W.density(tol=tol), lambda: W.out_degree([0.5], tol=tol), lambda: W.in_degree([0.5], tol=tol),
             lambda: discretize(W, tol=tol),
             lambda: limit_graphon("snip", 0.2, row_factor=lambda x: x, col_factor=lambda y: 1 + y, tol=tol)]
    for call in calls:
        with pytest.raises(ValueError, match="tol"):
            call()


def test_smallest_tol_is_reachable():
    found = adaptive_rule(lambda x: np.abs(x - C), MIN_TOL)
    assert found.converged and abs(found.integral - (C**2 + (1 - C) ** 2) / 2) < 1e-14


def test_rule_and_tol_together_are_refused():
    W, rule = kinked_graphon(), go.gauss_legendre(8)
    for call in (lambda: W.density(rule, tol=1e-8), lambda: W.out_degree([0.5], rule, tol=1e-8),
                 lambda: discretize(W, rule, tol=1e-8), lambda: discretize(W, col_rule=rule, tol=1e-8),
                 lambda: limit_graphon("snip", 0.2, row_factor=lambda x: x, col_factor=lambda y: 1 + y, rule=rule,
                                       tol=1e-8)):
        with pytest.raises(ValueError, match="not both"):
            call()


# ---------------------------------------------------------------- budgets
def test_node_budget_stops_with_an_honest_estimate():
    exact = (C**2 + (1 - C) ** 2) / 2
    with pytest.warns(AccuracyWarning, match=r"estimated relative error of .*max_nodes=40"):
        found = adaptive_rule(lambda x: np.abs(x - C), 1e-12, max_nodes=40)
    assert not found.converged and found.rule.size <= 40 and found.error_estimate > 1e-12
    assert honest(abs(found.integral - exact), found.error_estimate * found.scale, found.scale)
    with pytest.raises(ValueError, match="max_nodes"):
        adaptive_rule(np.exp, 1e-8, breaks=[0.25, 0.5, 0.75], max_nodes=16)


def test_memory_budget_stops_the_refinement():
    points = np.linspace(0.0, 1.0, 1000)

    def family(x):  # 1000 kinked members: the next panels would need about 400 kB
        return np.abs(x[:, None] - points[None, :])

    with go.options(memory_budget_bytes=100_000):
        with pytest.warns(AccuracyWarning, match="memory budget"):
            found = adaptive_rule(family, 1e-8)
    assert not found.converged and found.n_panels == 1


def test_a_panel_that_cannot_be_bisected_stops_the_refinement():
    # a value seen at one double only, the first one after the break 1/2, which the panel [1/2, b] sees at its
    # left end whatever b: the panel shrinks to the spacing of doubles (53 halvings, far below max_nodes) and
    # then cannot be bisected
    after = np.nextafter(0.5, 1.0)
    with pytest.warns(AccuracyWarning, match="narrow as floating point allows"):
        found = adaptive_rule(lambda x: np.where(x == after, 1e30, 0.0), 1e-8, breaks=[0.5])
    assert not found.converged and found.rule.breakpoints[2] - 0.5 < 4 * EPS and found.rule.size < 500


def test_density_budget_stop_warns():
    with pytest.warns(AccuracyWarning, match="graphon_density stopped"):
        found = graphon_density(kinked_graphon(), 1e-12, max_nodes=24)
    assert not found.converged and found.error_estimate > 1e-12


# ---------------------------------------------------------------- graphon rules, degrees, operators
def test_samples_decide_which_rows_the_rule_sees():
    # the kink at u = c only exists for v > 0.5: rows sampled below 0.5 are linear, so no refinement there
    W = Graphon.from_callable(lambda x, y: 0.2 + 0.6 * np.abs(x - C) * np.maximum(y - 0.5, 0.0))
    blind = graphon_rule(W, 1e-10, "row", samples=[0.25])
    seeing = graphon_rule(W, 1e-10, "row")
    assert blind.n_panels == 1 and seeing.n_panels > 10
    assert np.min(np.abs(seeing.rule.breakpoints - C)) < 1e-4
    with pytest.raises(ValueError, match="axis"):
        graphon_rule(W, 1e-8, "diagonal")
    with pytest.raises(ValueError, match="samples"):
        graphon_rule(W, 1e-8, samples=[1.5])
    with pytest.raises(ValueError, match="Graphon"):
        graphon_rule(np.exp, 1e-8)


def test_degrees_to_relative_tol_each():
    # W = u |v - c|: d_out(u) = u I and d_in(v) = |v - c| / 2, small values to their own relative accuracy
    W = Graphon.from_callable(lambda x, y: x * np.abs(y - C))
    integral = (C**2 + (1 - C) ** 2) / 2
    points = np.array([1e-6, 0.3, 1.0])
    np.testing.assert_allclose(W.out_degree(points, tol=1e-12), points * integral, rtol=2e-12)
    np.testing.assert_allclose(W.in_degree([0.1, C + 1e-3], tol=1e-12), np.abs(np.array([0.1, C + 1e-3]) - C) / 2,
                               rtol=2e-12)
    assert W.out_degree(np.zeros((0,)), tol=1e-8).shape == (0,)
    assert abs(W.out_degree([0.5])[0] - 0.5 * integral) > 1e-7  # the default rule misses the kink


def test_discretize_without_a_rule_uses_the_default_rule_on_all_breaks():
    W = Graphon.from_callable(lambda x, y: x * y, row_breaks=[0.5], col_breaks=[0.25])
    op = discretize(W)
    assert op.row_rule == go.composite("gauss_legendre", 32, [0.25, 0.5]) and op.col_rule == op.row_rule
    assert discretize(Graphon.step([[1.0, 0.0]])).row_rule == go.composite("midpoint", 1, [0.5])


def test_spectral_estimates_need_the_graphon_and_a_gauss_legendre_rule():
    op = discretize(kinked_graphon(), go.gauss_legendre(8))
    with pytest.raises(ValueError, match="graphon"):
        op.compose(op).singular_values_with_error(1)
    with pytest.raises(ValueError, match="Gauss-Legendre"):
        discretize(kinked_graphon(), go.clenshaw_curtis(8)).singular_values_with_error(1)


def test_lobatto_companions_take_the_ends_one_ulp_inside():
    rule = go.composite("gauss_legendre", 3, [0.5])
    upper, lower = lobatto_companions(rule)
    assert upper.size == 8 and lower.size == 6
    assert upper.nodes[3] == np.nextafter(0.5, 0.0) and upper.nodes[4] == np.nextafter(0.5, 1.0)
    assert abs(upper.weights.sum() - 1.0) < ROUNDING and abs(lower.weights.sum() - 1.0) < ROUNDING
    (trapezoid,) = lobatto_companions(go.composite("midpoint", 1, [0.5]))
    assert trapezoid.size == 4
    with pytest.raises(ValueError, match="Gauss-Legendre"):
        lobatto_companions(go.trapezoid(5))


@pytest.mark.parametrize("m", [2, 3, 5, 8, 16])
def test_gauss_lobatto_exact_to_degree_2m_minus_3(m):
    rule = go.gauss_lobatto(m)
    assert rule.nodes[0] == 0.0 and rule.nodes[-1] == 1.0
    for k in range(2 * m - 2):
        assert abs(rule.integrate(lambda x: x**k) - 1.0 / (k + 1)) < 8 * m * EPS
    # degree 2m - 2: Q - I = m (m-1)^3 ((m-2)!)^4 / ((2m-1) ((2m-2)!)^2) for x^{2m-2} on [0, 1] (A&S 25.4.32)
    expected = m * (m - 1) ** 3 * math.factorial(m - 2) ** 4 / ((2 * m - 1) * math.factorial(2 * m - 2) ** 2)
    assert abs((rule.integrate(lambda x: x ** (2 * m - 2)) - 1.0 / (2 * m - 1)) - expected) < 8 * m * EPS
    with pytest.raises(ValueError, match="m"):
        go.gauss_lobatto(1)
    merged = go.composite("gauss_lobatto", m, [0.5])
    assert merged.size == 2 * m - 1 and np.all(np.diff(merged.nodes) > 0)


# ---------------------------------------------------------------- the saliency-model limit's density constraint
def _nested_quad_density(W, c):
    """rho(W) by scipy quad over v inside quad over u, the outer one split at the kink c (independent)."""
    def d_out(x):
        return scipy.integrate.quad(lambda y: float(W(x, y)), 0, 1, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

    return scipy.integrate.quad(d_out, 0, 1, points=[c], epsabs=1e-14, epsrel=1e-13, limit=200)[0]


def test_limit_graphon_solves_the_density_to_1e_10():
    kwargs = dict(row_factor=lambda x: np.maximum(x, C), col_factor=lambda y: 1 + y)
    W = limit_graphon("snip", 0.2, **kwargs)
    fixed = limit_graphon("snip", 0.2, rule=go.composite("gauss_legendre", 64, [0.0, 1.0]), **kwargs)
    solved, old = _nested_quad_density(W, C), _nested_quad_density(fixed, C)
    assert abs(old - 0.2) > 1e-6  # the fixed 64-node rule leaves 3e-6
    assert abs(solved - 0.2) <= 1e-10 * 0.2
    residual, estimate = W.metadata["density_residual"], W.metadata["density_error_estimate"]
    assert abs(residual) <= 0.5e-10 * 0.2 and 0 < estimate <= 0.25e-10 * 0.2
    assert abs((solved - 0.2) - residual) <= 2 * estimate + 1e-14
    assert fixed.metadata["density_error_estimate"] is None


def test_limit_graphon_with_sample_factors_on_one_side():
    samples = np.array([0.5, 0.8, 1.3, 2.0])
    W = limit_graphon("snip", 0.2, row_factor=lambda x: np.maximum(x, C), col_factor=samples)
    tau = W.metadata["tau"]
    oracle = np.mean([scipy.integrate.quad(lambda x: scipy.special.erfc(tau / (np.sqrt(2) * max(x, C) * b)), 0, 1,
                                           points=[C], epsabs=1e-14, epsrel=1e-13)[0] for b in samples])
    assert abs(oracle - 0.2) <= 1e-10 * 0.2
    both_samples = limit_graphon("snip", 0.2, row_factor=[0.5, 1.0], col_factor=samples)
    assert both_samples.metadata["density_error_estimate"] == 0.0  # exact sums


def test_no_warning_on_the_default_paths():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kinked_graphon().density(tol=1e-12)
        discretize(kinked_graphon(), tol=1e-10)
