"""Graphons: constructors, evaluation, exact integrals against sympy, transposes, bad input."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import graphon_ops as go
from graphon_ops import Graphon

from reference_foundation import evaluate_grid
from strategies import masks, step_graphon_data

EPS = np.finfo(float).eps
u_sym, v_sym = sp.symbols("u v")


def test_constant():
    W = Graphon.constant(0.3)
    assert W.density() == 0.3
    assert W(np.array([0.1, 0.9]), 0.5).tolist() == [0.3, 0.3]
    assert W.out_degree([0.2, 0.7]).tolist() == [0.3, 0.3]
    assert W.in_degree(0.5) == 0.3


def test_step_density_and_degrees_are_exact():
    P = np.array([[0.2, 0.8], [1.0, 0.0]])
    W = Graphon.step(P, row_breaks=[0.25], col_breaks=[0.6])
    # block areas: rows 0.25/0.75, cols 0.6/0.4
    expected = 0.25 * (0.2 * 0.6 + 0.8 * 0.4) + 0.75 * (1.0 * 0.6)
    assert abs(W.density() - expected) < 4 * EPS
    assert np.allclose(W.out_degree([0.1, 0.5]), [0.2 * 0.6 + 0.8 * 0.4, 0.6], rtol=0, atol=4 * EPS)
    assert np.allclose(W.in_degree([0.1, 0.9]), [0.25 * 0.2 + 0.75, 0.25 * 0.8], rtol=0, atol=4 * EPS)
    # right-continuous blocks, last block closed at 1
    assert W(0.25, 0.6) == 0.0 and W(1.0, 1.0) == 0.0 and W(0.0, 0.0) == 0.2


def test_from_mask_orders():
    M = np.array([[1, 0, 0], [1, 1, 0]])
    W = Graphon.from_mask(M, row_order=[1, 0], col_order=[2, 0, 1])
    assert W.values.tolist() == [[0, 1, 1], [0, 1, 0]]
    assert W.density() == pytest.approx(3 / 6, abs=4 * EPS)
    assert W.metadata["source"] == "mask"


@pytest.mark.parametrize("expr", [u_sym * v_sym**2, sp.exp(-u_sym - v_sym), (u_sym + v_sym) / 2,
                                  sp.Rational(1, 3) + u_sym * v_sym / 2])
def test_sympy_integrals_match_sympy(expr):
    W = Graphon.from_sympy(expr, u_sym, v_sym)
    exact = float(sp.integrate(expr, (u_sym, 0, 1), (v_sym, 0, 1)))
    assert abs(W.density() - exact) < 4 * EPS
    deg = sp.lambdify(u_sym, sp.integrate(expr, (v_sym, 0, 1)))
    pts = np.array([0.0, 0.3, 1.0])
    assert np.allclose(W.out_degree(pts), deg(pts), rtol=4 * EPS, atol=4 * EPS)


def test_exact_integration_gives_up_after_its_time_limit(monkeypatch):
    # u^(u^(u^u)) has no closed-form integral; sympy searches for one for about 15 s. With the limit at
    # 0.2 s the density falls back to the default rule (the same number as asking for that rule), and the
    # caller's SIGALRM handler is back in place afterwards.
    import signal
    import sys

    # the module, not the graphon() factory the package exports under the same name
    monkeypatch.setattr(sys.modules["graphon_ops.graphon"], "EXACT_INTEGRATION_SECONDS", 0.2)
    handler = signal.getsignal(signal.SIGALRM)
    W = Graphon.from_expression("u**u**u**u")
    assert W._exact_density is None
    assert W.density() == W.density(rule=W.default_rule("row"))
    assert signal.getsignal(signal.SIGALRM) is handler and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    # a closed form within the limit is still taken
    assert Graphon.from_expression("u*v")._exact_density == 0.25


def test_callable_default_rule_matches_sympy():
    # smooth integrand: 32 Gauss-Legendre nodes per side integrate e^{-u-v} to rounding (error
    # ~ (1/4)^{64}/(64)! by the GL remainder, far below eps)
    W = Graphon.from_callable(lambda u, v: np.exp(-u - v))
    assert abs(W.density() - (1 - math.exp(-1)) ** 2) < 16 * EPS
    pts = np.array([0.0, 0.5, 1.0])
    assert np.allclose(W.out_degree(pts), np.exp(-pts) * (1 - math.exp(-1)), rtol=16 * EPS, atol=0)
    assert np.allclose(W.in_degree(pts), np.exp(-pts) * (1 - math.exp(-1)), rtol=16 * EPS, atol=0)


def test_callable_with_breaks_integrates_a_kink():
    # W = |u - v| has kinks on the diagonal, not on a line u = const; with breaks at 1/2 on both sides
    # the step W = 1[u < 1/2] 1[v >= 1/2] is integrated exactly by the piecewise rule
    W = Graphon.from_callable(lambda u, v: ((u < 0.5) & (v >= 0.5)).astype(float), row_breaks=[0.5],
                              col_breaks=[0.5])
    assert abs(W.density() - 0.25) < 4 * EPS


def test_product_graphon():
    W = Graphon.product(lambda u: u, lambda v: 1 - v)
    assert abs(W.density() - 0.25) < 4 * EPS
    assert W.transpose()(0.25, 0.5) == W(0.5, 0.25)
    assert W.on_grid([0.5], [0.0, 1.0]).tolist() == [[0.5, 0.0]]


@pytest.mark.parametrize("make", [
    lambda: Graphon.step([[0.1, 0.9, 0.3], [0.5, 0.2, 0.0]], row_breaks=[0.4], col_breaks=[0.2, 0.7]),
    lambda: Graphon.from_callable(lambda u, v: u * (1 - v) ** 2),
    lambda: Graphon.from_sympy(u_sym * (1 - v_sym) ** 2, u_sym, v_sym),
    lambda: Graphon.product(lambda u: u, lambda v: (1 - v) ** 2),
    lambda: Graphon.from_callable(lambda u, v: u * (1 - v) ** 2, jit=True),
])
def test_transpose_swaps_arguments(make):
    W = make()
    x, y = np.linspace(0, 1, 7), np.linspace(0, 1, 5)
    assert np.array_equal(W.transpose().on_grid(y, x), W.on_grid(x, y).T)
    assert abs(W.transpose().density() - W.density()) < 16 * EPS
    assert np.allclose(W.transpose().out_degree(y), W.in_degree(y), rtol=16 * EPS, atol=16 * EPS)


def test_jit_callable_matches_double_loop(rng):
    f = lambda u, v: math.exp(-abs(u - v)) * 0.9  # noqa: E731
    W = Graphon.from_callable(f, jit=True)
    x, y = rng.random(80), rng.random(90)  # 7200 points: above numba_min_size, the parallel kernel runs
    assert np.array_equal(W.on_grid(x, y), evaluate_grid(f, x, y))
    with go.options(numba_min_size=10**9):  # the pairwise kernel for broadcasting calls
        assert np.array_equal(W.on_grid(x, y), evaluate_grid(f, x, y))


def test_jit_rejects_uncompilable_function():
    with pytest.raises(ValueError, match="could not be compiled by numba"):
        Graphon.from_callable(lambda u, v: np.random.default_rng(0).random(), jit=True)


def test_factory():
    assert go.graphon(0.5).kind == "constant"
    assert go.graphon([[0.0, 1.0]]).kind == "step"
    assert go.graphon(u_sym * v_sym).kind == "sympy"
    assert go.graphon(lambda u, v: u * v).kind == "callable"
    W = go.graphon(0.2)
    assert go.graphon(W) is W
    with pytest.raises(ValueError, match="cannot make a graphon from object"):
        go.graphon(object())


def test_expression_strings_are_the_command_lines():
    """graphon("...") and the command line parse the same strings; exact densities come from sympy."""
    from graphon_ops.cli import parse_graphon

    for text, exact in [("u*v", 0.25), ("min(u, v)", 1 / 3), ("Min(u, v)", 1 / 3), ("abs(u - v)", 1 / 3),
                        ("max(u, v)", 2 / 3), ("exp(-(u-v)^2)", np.sqrt(np.pi) * 0.8427007929497149 + np.exp(-1) - 1)]:
        assert abs(go.graphon(text).density() - exact) < 1e-14
        assert abs(parse_graphon(text).density() - exact) < 1e-14
    for text, message in [("10^10^10*u", "exponent 10\\*\\*10 is too large"), ("u*9^9^9", "too large"),
                          ("u*2^2^2^2^2^2", "too large"), ("__import__", "unexpected character"), ("eval(u)", "unknown name .eval."), ("u;v", "unexpected"),
                          ("+".join(["u"] * 1500), "too long")]:
        with pytest.raises(ValueError, match=message):
            go.graphon(text)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("c", [-0.1, 1.5, np.nan, np.inf, "0.5", True])
def test_constant_rejects(c):
    with pytest.raises(ValueError, match="c must be a number in"):
        Graphon.constant(c)


@pytest.mark.parametrize("values, message", [
    ([[0.5, 1.2]], "values must take values in"), ([[0.5, -0.2]], "values must take values in"),
    ([[0.5, np.nan]], "values must be finite"), (np.zeros((0, 2)), "values must not be empty"),
    ([0.5, 0.5], "values must have 2 dimension"),
])
def test_step_rejects(values, message):
    with pytest.raises(ValueError, match=message):
        Graphon.step(values)


def test_step_rejects_mismatched_breaks():
    with pytest.raises(ValueError, match="delimit 2 x 1 blocks"):
        Graphon.step([[0.1], [0.2]], row_breaks=[0.2, 0.5])


@pytest.mark.parametrize("mask, message", [
    ([[0, 2]], "only 0 and 1"), ([[0.5, 1]], "only 0 and 1"), ([0, 1], "2-D"), (np.zeros((2, 0)), "empty"),
    ([["a", "b"]], "numeric"),
])
def test_from_mask_rejects(mask, message):
    with pytest.raises(ValueError, match="mask .*" + message):
        Graphon.from_mask(mask)


def test_from_mask_rejects_bad_order():
    with pytest.raises(ValueError, match="row_order must be a permutation"):
        Graphon.from_mask([[0, 1], [1, 1]], row_order=[0, 0])


@pytest.mark.parametrize("f, message", [
    (lambda u, v: u + v, "must take values in"), (lambda u, v: u - v, "must take values in"),
    (lambda u, v: np.log(u - u), "must be finite"),
])
def test_callable_checked_on_first_evaluation(f, message):
    W = Graphon.from_callable(f)  # construction cannot know; the first evaluation must
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match=message):
            W.density()


def test_evaluation_outside_unit_square():
    with pytest.raises(ValueError, match="u must lie in"):
        Graphon.constant(0.5)(1.5, 0.5)


def test_sympy_rejects_foreign_symbols():
    w = sp.Symbol("w")
    with pytest.raises(ValueError, match="only depend on u and v"):
        Graphon.from_sympy(u_sym * w, u_sym, v_sym)
    with pytest.raises(ValueError, match="must be a sympy Symbol"):
        Graphon.from_sympy(u_sym, "u", v_sym)


# ---------------------------------------------------------------------------- properties
@given(step_graphon_data())
def test_step_values_stay_in_unit_interval(data):
    P, rb, cb = data
    W = Graphon.step(P, rb, cb)
    x = np.linspace(0, 1, 17)
    values = W.on_grid(x, x)
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert set(np.unique(values)) <= set(np.unique(P))
    # density equals the block-area-weighted sum, which lies between min and max of P
    assert P.min() - 4 * EPS <= W.density() <= P.max() + 4 * EPS


@given(masks, st.randoms(use_true_random=False))
def test_from_mask_is_0_1_and_density_is_permutation_invariant(mask, random):
    W = Graphon.from_mask(mask)
    assert set(np.unique(W.values)) <= {0.0, 1.0}
    rows, cols = list(range(mask.shape[0])), list(range(mask.shape[1]))
    random.shuffle(rows)
    random.shuffle(cols)
    W2 = Graphon.from_mask(mask, row_order=np.array(rows), col_order=np.array(cols))
    # a measure-preserving relabelling of blocks keeps the density (exact: same multiset of terms
    # up to summation order)
    assert abs(W2.density() - mask.mean()) < 8 * EPS * max(1, mask.size)
    assert abs(W.density() - mask.mean()) < 8 * EPS * max(1, mask.size)


def test_callable_with_different_row_and_column_breaks_integrates_exactly():
    """Jumps at u = 0.3 (rows) and v = 0.7 (columns): the default rules split each side at its own breaks, so
    the piecewise-constant integrals are exact (a column rule split at the row break would miss v = 0.7)."""
    W = go.Graphon.from_callable(lambda u, v: (v < 0.7) * (0.5 + 0.5 * (u < 0.3)) + 0.0 * u,
                                 row_breaks=[0.3], col_breaks=[0.7])
    exact = 0.7 * (0.3 * 1.0 + 0.7 * 0.5)
    assert abs(W.density() - exact) < 4 * np.finfo(float).eps
    np.testing.assert_allclose(W.out_degree(np.array([0.1, 0.9])), [0.7, 0.35], rtol=0, atol=4e-16)
    np.testing.assert_allclose(W.in_degree(np.array([0.5, 0.8])), [0.65, 0.0], rtol=0, atol=4e-16)


def test_on_grid_refuses_grids_beyond_the_memory_budget_before_evaluating():
    """len(x) x len(y) = 10**6 x 10**6 values would need about 24 bytes each (the values, a temporary, the range
    check): 21.8 TiB, refused under a 1 GiB budget, naming x and y, before the formula runs. The budget is the
    options' one: a 100 x 100 grid (240 kB) is refused under 100 kB and evaluated under 1 MiB."""
    calls = []

    def f(u, v):
        calls.append(np.shape(u))
        return 0.5 + 0.0 * u * v

    huge = np.linspace(0.0, 1.0, 10**6)
    for W in (Graphon.from_callable(f), Graphon.constant(0.5), Graphon.step([[0.2, 0.4]]),
              Graphon.product(lambda u: u, lambda v: v)):
        with go.options(memory_budget_bytes=2**30):
            with pytest.raises(ValueError, match=r"len\(x\) x len\(y\) = 1000000 x 1000000 points.* would need "
                                                 r"about 21\.8 TiB, more than the memory budget of 1\.0 GiB"):
                W.on_grid(huge, huge)
    assert calls == []
    small = np.linspace(0.0, 1.0, 100)
    with go.options(memory_budget_bytes=100_000):
        with pytest.raises(ValueError, match=r"100 x 100 points.*memory budget of 97\.7 KiB"):
            Graphon.from_callable(f).on_grid(small, small)
    assert calls == []
    with go.options(memory_budget_bytes=2**20):
        assert Graphon.from_callable(f).on_grid(small, small).shape == (100, 100)
