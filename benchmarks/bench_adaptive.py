"""Adaptive rules against fixed Gauss--Legendre grids reaching the same accuracy.

Run by hand: ``python benchmarks/bench_adaptive.py``; results go to ``benchmarks/results/adaptive.txt``.

Three graphons, none announcing its breaks: a smooth one, :math:`e^{uv - 1}`; the kinked one of the issue
"Accuracy on request", :math:`0.2 + 0.6\\,|u - 0.3719|\\,v`; a step graphon given as a callable (blocks at
u = 0.3719, 0.61 and v = 0.4142). For tol = 1e-6, 1e-9, 1e-12:

* density: ``graphon_density(W, tol)`` (evaluations of W counted) against the tensor Gauss--Legendre rule
  ``gauss_legendre(n) x gauss_legendre(n)`` with the smallest n (of 8 * 2^(k/2), at most 4096) whose error is
  at most the adaptive one's;
* the two largest singular values: ``discretize(W, tol=tol).singular_values(2)`` (nodes = matrix side)
  against ``discretize(W, gauss_legendre(n))`` with the smallest such n (at most 2048).

References: closed forms for the densities of the kinked and step graphons, 64-node Gauss--Legendre (exact to
rounding for the analytic one), the kinked graphon's spectrum on a rule split at the kink, the step graphon's
block matrix. Errors are relative (to the density, to the largest singular value); an accuracy below
4 ulp counts as 4 ulp. Times are the best of three runs, the fixed grid's at its n only (its search is free).
"""

from __future__ import annotations

import functools
import os
import platform
import warnings

import numpy as np

import graphon_ops as go
from graphon_ops.adaptive import graphon_density
from timing import best_of, write_results

C = 0.3719
TOLS = (1e-6, 1e-9, 1e-12)
FLOOR = 4 * np.finfo(float).eps
ROW_CUTS, COL_CUTS = np.array([C, 0.61]), np.array([0.4142])
BLOCKS = np.array([[0.9, 0.2], [0.3, 0.7], [0.5, 0.1]])


def _step(u, v):
    return BLOCKS[np.searchsorted(ROW_CUTS, u, side="right"), np.searchsorted(COL_CUTS, v, side="right")]


FUNCTIONS = {
    "smooth": lambda u, v: np.exp(u * v - 1.0),
    "kinked": lambda u, v: 0.2 + 0.6 * np.abs(u - C) * v,
    "step": _step,
}


def references():
    smooth = go.Graphon.from_callable(FUNCTIONS["smooth"])
    kinked = go.Graphon.from_callable(FUNCTIONS["kinked"])
    step = go.Graphon.step(BLOCKS, row_breaks=ROW_CUTS, col_breaks=COL_CUTS)
    gl = go.gauss_legendre(64)
    return {
        "smooth": (smooth.density(gl), go.discretize(smooth, gl).singular_values(2)),
        "kinked": (0.2 + 0.3 * (C**2 + (1 - C) ** 2) / 2,
                   go.discretize(kinked, go.composite("gauss_legendre", 16, [C])).singular_values(2)),
        "step": (step.density(), go.discretize(step, go.composite("midpoint", 1, np.union1d(
            step.row_breaks, step.col_breaks))).singular_values(2)),
    }


def counted(f):
    """A graphon around ``f`` that counts the values it computes."""
    count = [0]

    def evaluate(u, v):
        out = np.broadcast_to(f(u, v), np.broadcast(u, v).shape)
        count[0] += out.size
        return out

    return go.Graphon.from_callable(evaluate), count


def smallest_fixed(error_of, target, largest):
    """Smallest n of 8 * 2^(k/2) up to ``largest`` with error_of(n) <= target, and that error (or the last)."""
    n_values = sorted({int(round(8 * 2 ** (k / 2))) for k in range(40)} | {largest})
    for n in (n for n in n_values if n <= largest):
        error = error_of(n)
        if error <= target:
            return n, error
    return None, error


def main():
    refs = references()
    lines = [f"# bench_adaptive  numpy {np.__version__}  {platform.processor() or platform.machine()}  "
             f"cores={os.cpu_count()}",
             "# density: evaluations of W; spectrum: nodes per side. fixed: smallest gauss_legendre(n) at least as",
             "# accurate as the adaptive result; '-' when no n up to the cap reaches it (its error at the cap shown)",
             f"{'graphon':>8} {'what':>8} {'tol':>6} {'adapt_err':>9} {'adapt_est':>9} {'adapt_n':>8} "
             f"{'adapt_s':>8} {'fixed_n':>8} {'fixed_err':>9} {'fixed_s':>8} {'n_ratio':>8} {'t_ratio':>8}"]
    for name, f in FUNCTIONS.items():
        rho, sigma = refs[name]
        W, count = counted(f)

        @functools.cache
        def density_error(n):
            return abs(W.density(go.gauss_legendre(n)) - rho) / rho

        @functools.cache
        def spectrum_error(n):
            return np.max(np.abs(go.discretize(W, go.gauss_legendre(n)).singular_values(2) - sigma)) / sigma[0]

        for tol in TOLS:
            # density
            count[0] = 0
            found = graphon_density(W, tol)
            evaluations = count[0]
            error = max(abs(found.integral - rho) / rho, FLOOR)
            t_adapt = best_of(lambda: graphon_density(W, tol), 3)

            n, fixed_error = smallest_fixed(density_error, error, 4096)
            t_fixed = best_of(lambda: W.density(go.gauss_legendre(n)), 3) if n else float("nan")
            lines.append(_row(name, "density", tol, error, found.error_estimate, evaluations, t_adapt,
                              None if n is None else n * n, fixed_error, t_fixed))
            # two largest singular values
            with warnings.catch_warnings():
                warnings.simplefilter("error", go.AccuracyWarning)
                op = go.discretize(W, tol=tol)
            estimate = op.singular_values_with_error(2)
            error = max(np.max(np.abs(estimate.values - sigma)) / sigma[0], FLOOR)
            t_adapt = best_of(lambda: go.discretize(W, tol=tol).singular_values(2), 3)

            n, fixed_error = smallest_fixed(spectrum_error, error, 2048)
            t_fixed = best_of(lambda: go.discretize(W, go.gauss_legendre(n)).singular_values(2), 3) if n \
                else float("nan")
            lines.append(_row(name, "top2_sv", tol, error, np.max(estimate.error_estimates) / sigma[0],
                              op.shape[0], t_adapt, n, fixed_error, t_fixed))
    write_results("adaptive", lines)


def _row(name, what, tol, error, estimate, n_adapt, t_adapt, n_fixed, fixed_error, t_fixed):
    fixed = (f"{'-':>8} {fixed_error:>9.1e} {'-':>8} {'-':>8} {'-':>8}" if n_fixed is None else
             f"{n_fixed:>8} {fixed_error:>9.1e} {t_fixed:>8.4f} {n_fixed / n_adapt:>8.2f} {t_fixed / t_adapt:>8.2f}")
    return (f"{name:>8} {what:>8} {tol:>6.0e} {error:>9.1e} {estimate:>9.1e} {n_adapt:>8} {t_adapt:>8.4f} "
            + fixed)


if __name__ == "__main__":
    main()
