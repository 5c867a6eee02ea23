"""Cut-norm benchmark: time and bracket tightness upper/lower of :func:`graphon_ops.cutnorm.cut_norm`.

Run by hand: ``python benchmarks/bench_cut_norm.py``; results go to ``benchmarks/results/cut_norm.txt``.

Matrices: centred Bernoulli(0.3) - 0.3 and random +-1, n x n for n = 256, 1024, 2048, seed 0; one
warm-up call compiles the numba kernels first. Targets (issue 3): upper/lower <= 1.25 for n >= 256;
n = 1024 under 1 s and n = 2048 under 4 s on 2 cores. A second part counts how often the lower bound
equals the exact cut norm (enumeration) on random Gaussian matrices up to 10 x 10 (target >= 90%).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from graphon_ops.cutnorm import cut_norm, cut_norm_exact
from timing import write_results


def matrices(n, rng):
    yield "bernoulli(0.3)-0.3", (rng.random((n, n)) < 0.3) - 0.3
    yield "+-1", rng.choice([-1.0, 1.0], size=(n, n))


def main():
    cut_norm(np.random.default_rng(0).standard_normal((300, 300)), seed=0)  # compile and warm up
    cut_norm_exact(np.ones((3, 3)))
    lines = [f"# bench_cut_norm  numpy {np.__version__}  {platform.machine()}  cores={os.cpu_count()}  "
             f"load={os.getloadavg()[0]:.2f}",
             f"{'matrix':>20} {'n':>6} {'lower':>11} {'upper':>11} {'ratio':>7} {'iters':>6} {'seconds':>8}"]
    rng = np.random.default_rng(0)
    for n in (256, 1024, 2048):
        for name, A in matrices(n, rng):
            start = time.perf_counter()
            result = cut_norm(A, seed=0)
            seconds = time.perf_counter() - start
            lines.append(f"{name:>20} {n:>6} {result.lower:>11.6f} {result.upper:>11.6f} {result.ratio:>7.4f} "
                         f"{result.iterations:>6} {seconds:>8.3f}")
    draws, hits = 200, 0
    for _ in range(draws):
        n, m = rng.integers(2, 11, size=2)
        A = rng.standard_normal((n, m))
        exact = cut_norm_exact(A).upper
        hits += abs(cut_norm(A, seed=rng).lower - exact) <= 1e-12 * max(exact, 1.0)
    lines.append("")
    lines.append(f"lower bound exact on {hits}/{draws} random Gaussian matrices up to 10 x 10 "
                 f"({100 * hits / draws:.1f}%)")
    write_results("cut_norm", lines)


if __name__ == "__main__":
    main()
