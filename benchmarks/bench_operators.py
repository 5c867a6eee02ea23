"""Operator benchmark: discretise + eigen-decompose m x m operators, and grid evaluation paths.

Run by hand: ``python benchmarks/bench_operators.py``; results go to ``benchmarks/results/operators.txt``.

For each m the script times (a) ``discretize`` of a smooth callable graphon, (b) ``eigenvalues()``
(the Nystrom symmetric eigenproblem, whole spectrum) and ``eigenvalues(10)`` (partial solve), and (c) ``numpy.linalg.eigvalsh`` on the same symmetric matrix
in the same run: the ratio (b)/(c) is the package's overhead over the machine's own eigensolver.
It also times evaluating a callable graphon on the grid with plain numpy broadcasting versus the
parallel numba kernel (``Graphon.from_callable(f, jit=True)``), after one warm-up call each.
"""

from __future__ import annotations

import math
import os
import platform

import numpy as np

import graphon_ops as go
from timing import best_of, write_results


def main():
    lines = [f"# bench_operators  numpy {np.__version__}  {platform.processor() or platform.machine()}  "
             f"cores={os.cpu_count()}",
             f"{'m':>6} {'discretize_s':>13} {'eigenvalues_s':>14} {'top10_s':>8} {'numpy_eigvalsh_s':>17} "
             f"{'ratio':>6} {'ratio_top10':>11}"]
    W = go.Graphon.from_callable(lambda u, v: np.exp(-3.0 * (u - v) ** 2))
    for m in (256, 1024, 4096):
        rule = go.gauss_legendre(m)
        repeat = 5 if m < 4096 else 2
        t_disc = best_of(lambda: go.discretize(W, rule), repeat)
        op = go.discretize(W, rule)
        t_eig = best_of(lambda: op.eigenvalues(), repeat)
        t_top = best_of(lambda: op.eigenvalues(10), repeat)
        root = np.sqrt(rule.weights)
        S = root[:, None] * op.kernel * root[None, :]
        t_np = best_of(lambda: np.linalg.eigvalsh(S), repeat)
        lines.append(f"{m:>6} {t_disc:>13.4f} {t_eig:>14.4f} {t_top:>8.4f} {t_np:>17.4f} {t_eig / t_np:>6.2f} "
                     f"{t_top / t_np:>11.2f}")

    lines.append("")
    lines.append(f"{'grid':>6} {'numpy_broadcast_s':>18} {'numba_parallel_s':>17} {'speedup':>8}")
    vectorised = go.Graphon.from_callable(lambda u, v: np.exp(-np.abs(u - v)) * (1 + np.sin(7 * u * v)) / 2)
    compiled = go.Graphon.from_callable(lambda u, v: math.exp(-abs(u - v)) * (1 + math.sin(7 * u * v)) / 2,
                                        jit=True)
    for m in (256, 1024, 4096):
        x = go.midpoint(m).nodes
        compiled.on_grid(x[:8], x[:8])  # compile outside the timing
        t_numpy = best_of(lambda: vectorised.on_grid(x, x), 3)
        t_numba = best_of(lambda: compiled.on_grid(x, x), 3)
        lines.append(f"{m:>6} {t_numpy:>18.4f} {t_numba:>17.4f} {t_numpy / t_numba:>8.2f}")

    write_results("operators", lines)


if __name__ == "__main__":
    main()
