"""Quadrature rules: exactness degrees, closed-form error constants, composite rules, bad input."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import graphon_ops as go
from graphon_ops.quadrature import QuadratureRule

EPS = np.finfo(float).eps


def monomial_error(rule, k):
    return rule.integrate(lambda x: x**k) - 1.0 / (k + 1)


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8, 16])
def test_gauss_legendre_exact_to_degree_2m_minus_1(m):
    rule = go.gauss_legendre(m)
    # sum of m positive terms below 1: rounding at most a few m * eps
    for k in range(2 * m):
        assert abs(monomial_error(rule, k)) < 8 * m * EPS
    # one degree higher the error is the GL constant: I - Q = (m!)^4 / ((2m + 1) ((2m)!)^2) for x^{2m}
    expected = math.factorial(m) ** 4 / ((2 * m + 1) * math.factorial(2 * m) ** 2)
    assert abs(monomial_error(rule, 2 * m) + expected) < 8 * m * EPS


@pytest.mark.parametrize("m", [1, 2, 3, 4, 7, 12])
def test_clenshaw_curtis_exact_to_degree_m_minus_1(m):
    rule = go.clenshaw_curtis(m)
    assert abs(rule.weights.sum() - 1.0) < 8 * m * EPS
    for k in range(m):
        assert abs(monomial_error(rule, k)) < 16 * m * EPS
    assert rule.nodes[0] == 0.0 and rule.nodes[-1] == 1.0 or m == 1


@pytest.mark.parametrize("m", [1, 3, 10, 100])
def test_midpoint_error_constant(m):
    # exact error of the midpoint rule on x^2 is -h^2 f''/24 over [0, 1] with h = 1/m: -1/(12 m^2)
    assert abs(monomial_error(go.midpoint(m), 2) + 1.0 / (12 * m**2)) < 16 * EPS
    assert abs(monomial_error(go.midpoint(m), 1)) < 16 * EPS


@pytest.mark.parametrize("m", [2, 3, 10, 100])
def test_trapezoid_error_constant(m):
    # trapezoid on x^2: +h^2 f''/12 with h = 1/(m-1): 1/(6 (m-1)^2)
    assert abs(monomial_error(go.trapezoid(m), 2) - 1.0 / (6 * (m - 1) ** 2)) < 16 * EPS


@pytest.mark.parametrize("name", ["gauss_legendre", "clenshaw_curtis", "midpoint", "trapezoid"])
def test_composite_integrates_a_kink_exactly(name):
    # |x - 0.3| is linear on each piece: every rule (degree >= 1) is exact there; integral 0.29
    rule = go.composite(name, 2, [0.3])
    assert abs(rule.integrate(lambda x: np.abs(x - 0.3)) - 0.29) < 16 * EPS
    assert np.all(np.diff(rule.nodes) > 0)
    assert abs(rule.weights.sum() - 1.0) < 16 * EPS


def test_composite_merges_shared_end_nodes():
    rule = go.composite("trapezoid", 2, [0.5])
    assert rule.nodes.tolist() == [0.0, 0.5, 1.0]
    assert rule.weights.tolist() == [0.25, 0.5, 0.25]
    assert rule.breakpoints.tolist() == [0.0, 0.5, 1.0]


@given(st.lists(st.floats(0.01, 0.99), min_size=1, max_size=6, unique=True), st.integers(1, 6))
def test_composite_gauss_exact_for_piecewise_polynomials(cuts, m):
    cuts = sorted(cuts)
    assume(np.min(np.diff(cuts, prepend=0.0, append=1.0)) >= 1e-6)
    rule = go.composite("gauss_legendre", m, cuts)
    # a polynomial of degree 2m-1 is integrated exactly on each piece, hence on [0, 1]
    deg = 2 * m - 1
    assert abs(rule.integrate(lambda x: x**deg) - 1.0 / (deg + 1)) < 64 * rule.size * EPS


def test_rules_are_immutable_and_compare_by_value():
    a, b = go.gauss_legendre(4), go.gauss_legendre(4)
    assert a == b and a != go.gauss_legendre(5)
    with pytest.raises(ValueError):
        a.nodes[0] = 0.3
    with pytest.raises(AttributeError):
        a.name = "x"


def test_custom_rule():
    rule = QuadratureRule.from_arrays([0.1, 0.9], [0.5, 0.5])
    assert rule.integrate(np.array([1.0, 3.0])) == 2.0
    with pytest.raises(ValueError, match="weights"):
        QuadratureRule.from_arrays([0.1, 0.9], [0.5, 0.6])
    with pytest.raises(ValueError, match="nodes"):
        QuadratureRule.from_arrays([0.9, 0.1], [0.5, 0.5])
    with pytest.raises(ValueError, match="f must have 2 values"):
        rule.integrate(np.ones(3))


@pytest.mark.parametrize("maker", [go.gauss_legendre, go.clenshaw_curtis, go.midpoint, go.trapezoid])
@pytest.mark.parametrize("bad", [0, -3, 2.0, 2.5, "4", True, None])
def test_bad_orders(maker, bad):
    with pytest.raises(ValueError, match="m must be an integer"):
        maker(bad)


def test_trapezoid_needs_two_nodes():
    with pytest.raises(ValueError, match="m must be an integer >= 2"):
        go.trapezoid(1)


@pytest.mark.parametrize("breaks, message", [
    ([0.5, 0.2], "strictly increasing"), ([0.2, 0.2], "strictly increasing"), ([-0.1, 0.5], r"\[0, 1\]"),
    ([0.5, 1.5], r"\[0, 1\]"), ([0.3, np.nan], "finite"), ([[0.1, 0.2]], "dimension")])
def test_bad_breakpoints(breaks, message):
    with pytest.raises(ValueError, match="breakpoints.*" + message):
        go.composite("midpoint", 2, breaks)


def test_unknown_rule_name():
    with pytest.raises(ValueError, match="name must be one of"):
        go.composite("simpson", 3, [0.5])


def test_huge_rules_are_refused_before_allocation_with_the_size():
    gauss_legendre, clenshaw_curtis = go.gauss_legendre, go.clenshaw_curtis
    with pytest.raises(ValueError, match=r"gauss_legendre\(100000\).*298\.0 GiB"):
        gauss_legendre(10**5)
    with pytest.raises(ValueError, match=r"m=6000 Gauss-Legendre nodes would take about \d+ s"):
        gauss_legendre(6000)
    with pytest.raises(ValueError, match=r"clenshaw_curtis\(1000000\).*TiB"):
        clenshaw_curtis(10**6)
