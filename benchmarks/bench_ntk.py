"""Graphon-NTK benchmark: dense case against a plain numpy recursion, heterogeneous graphons against
the GEMM floor, peak memory, GPU figures when a device is present, and a tiled N = 20000 run.

Run by hand: ``python benchmarks/bench_ntk.py [--large]``; results go to ``benchmarks/results/ntk.txt``.

(a) ``W = 1`` (constant graphons collapse to one node, so this is the dense NTK) against a float64
    plain-numpy recursion on full N x N matrices (arc-cosine formulas, neural-tangents conventions),
    ReLU, depths 3 and 10, d = 32.
(b) Step graphons with m x m random blocks (one node per block, m nodes per layer), depth 3, ReLU,
    mean-field first layer (d = 32 random coordinates would need Monte Carlo patterns), against the
    GEMM floor: numpy doing the same matrix products in the same run (the first layer's block products
    and, per later stage, K @ F and K @ G on the packed pairs). The element maps cannot be free, so the
    honest floor adds them at the machine's vector rate: ``map_s`` times the vectorised arc-cosine map
    alone over the same (stage x node x pair) elements, cache-sized chunks on every numba thread. Peak
    memory from ``tracemalloc`` (numpy reports its buffers to it) in a separate run.
(c) The same with ``backend="gpu"`` when cupy sees a device.
(d) ``--large``: N = 20000, depth 3, dense, with a 2 GiB working-set budget (tiled).
(e) Kept weights: the stacks of (b) with weight graphons (one more product per stage, K_W @ F), against
    the fresh-weight run and against the floor with three products per stage.
Times are the best of a few runs after a warm-up call (numba compilation excluded).
"""

from __future__ import annotations

import os
import platform
import sys
import time
import tracemalloc

import concurrent.futures

import numba
import numpy as np

from graphon_ops import Graphon
from graphon_ops._kernels.ntk import relu_maps
from graphon_ops._backend import gpu_available
from graphon_ops.ntk import graphon_ntk
from timing import best_of, write_results


def plain_numpy_ntk(X, depth):
    """Dense ReLU NTK on full matrices (sigma_w = 1, sigma_b = 0)."""
    K = X @ X.T / X.shape[1]
    theta = K.copy()
    for _ in range(depth):
        root = np.sqrt(np.diag(K))
        scale = np.outer(root, root)
        cosine = np.clip(K / scale, -1.0, 1.0)
        angle = np.arccos(cosine)
        K = scale * (np.sin(angle) + (np.pi - angle) * cosine) / (2 * np.pi)
        theta = K + theta * (np.pi - angle) / (2 * np.pi)
    return K, theta


def gemm_floor(N, d, m, depth, repeat, products_per_stage=2):
    """The matrix products graphon_ntk performs, done by numpy on arrays of the same shapes
    (``products_per_stage``: 2 with fresh weights, K @ F and K @ G; 3 with kept weights)."""
    pairs = N * (N + 1) // 2
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, d))
    coefficients = rng.random((m, d))
    work = rng.random((m, pairs))
    hidden = rng.random((m, m))
    readout = rng.random((1, m))
    out = np.empty_like(work)

    def products():
        for k in range(m):
            (X * coefficients[k]) @ X.T
        for K in [hidden] * (depth - 1):
            for _ in range(products_per_stage):
                np.matmul(K, work, out=out)
        for _ in range(products_per_stage):
            readout @ work

    return best_of(products, repeat)


def map_floor(N, m, stages, repeat, chunk=4096):
    """The ReLU maps of ``stages`` stages of m nodes at every pair, alone: one cache-sized chunk after
    another on each numba thread (as graphon_ntk runs them), no matrix products."""
    pairs = N * (N + 1) // 2
    threads = numba.get_num_threads()
    rng = np.random.default_rng(0)
    V = 1.0 + rng.random((m, N))
    first, second = (index[:chunk].astype(np.int64) for index in np.triu_indices(N, k=1))
    S = np.ascontiguousarray(0.5 * V[:, first] * rng.uniform(-1.0, 1.0, (m, chunk)))
    T = rng.random((m, chunk))
    n_chunks = stages * (pairs // chunk)

    def worker(index):
        F, G = np.empty_like(S), np.empty_like(S)
        for _ in range(index, n_chunks, threads):
            relu_maps(S, T, V, first, second, F, G)

    def run():
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))

    relu_maps(S, T, V, first, second, np.empty_like(S), np.empty_like(S))
    return best_of(run, repeat)


def peak_memory(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(large: bool):
    rng = np.random.default_rng(0)
    d = 32
    lines = [f"# bench_ntk  numpy {np.__version__}  {platform.processor() or platform.machine()}  "
             f"cores={os.cpu_count()}  load={os.getloadavg()[0]:.1f}",
             "", "(a) dense (W = 1), ReLU, d = 32: graphon_ntk vs plain numpy recursion (float64)",
             f"{'N':>6} {'depth':>6} {'graphon_ntk_s':>14} {'numpy_s':>8} {'ratio':>6} {'max_rel_diff':>13}"]
    graphon_ntk(rng.standard_normal((8, d)), [1.0])  # compile the kernels outside the timings
    for N in (512, 2048, 4096):
        X = rng.standard_normal((N, d))
        for depth in (3, 10):
            repeat = 3 if N < 4096 else 2
            t_ours = best_of(lambda: graphon_ntk(X, [1.0] * depth), repeat)
            t_numpy = best_of(lambda: plain_numpy_ntk(X, depth), repeat)
            ours, reference = graphon_ntk(X, [1.0] * depth).ntk, plain_numpy_ntk(X, depth)[1]
            difference = np.max(np.abs(ours - reference)) / np.max(np.abs(reference))
            lines.append(f"{N:>6} {depth:>6} {t_ours:>14.3f} {t_numpy:>8.3f} {t_ours / t_numpy:>6.2f} "
                         f"{difference:>13.1e}")

    lines += ["", "(b) step graphons, m x m random blocks, depth 3, ReLU, mean-field first layer, d = 32",
              f"{'m':>5} {'N':>6} {'graphon_ntk_s':>14} {'gemm_floor_s':>13} {'ratio':>6} {'map_s':>6} "
              f"{'ratio_to_gemm+map':>17} {'peak_MiB':>9}"]
    for m in (32, 64, 128):
        stack = [Graphon.step(rng.random((m, m))) for _ in range(3)]
        for N in (1024, 2048):
            X = rng.standard_normal((N, d))
            run = lambda: graphon_ntk(X, stack, first_layer="mean-field")  # noqa: E731
            t_ours = best_of(run, 2)
            t_floor = gemm_floor(N, d, m, 3, 2)
            t_map = map_floor(N, m, 3, 2)
            peak = peak_memory(run) / 2 ** 20
            lines.append(f"{m:>5} {N:>6} {t_ours:>14.3f} {t_floor:>13.3f} {t_ours / t_floor:>6.2f} {t_map:>6.3f} "
                         f"{t_ours / (t_floor + t_map):>17.2f} {peak:>9.0f}")

    lines += ["", "(e) kept weights: the stacks of (b) with weight graphons, N = 2048",
              f"{'m':>5} {'kept_s':>8} {'fresh_s':>8} {'kept/fresh':>10} {'floor3_s':>9} {'kept/floor3':>11}"]
    X = rng.standard_normal((2048, d))
    for m in (32, 64, 128):
        stack = [Graphon.step(rng.random((m, m))) for _ in range(3)]
        moments = [Graphon.step(0.9 * W.values) for W in stack]
        t_kept = best_of(lambda: graphon_ntk(X, stack, weight_graphons=moments, first_layer="mean-field"), 2)
        t_fresh = best_of(lambda: graphon_ntk(X, stack, first_layer="mean-field"), 2)
        t_floor = gemm_floor(2048, d, m, 3, 2, products_per_stage=3)
        lines.append(f"{m:>5} {t_kept:>8.3f} {t_fresh:>8.3f} {t_kept / t_fresh:>10.2f} {t_floor:>9.3f} "
                     f"{t_kept / t_floor:>11.2f}")

    lines += ["", "(c) GPU"]
    if gpu_available():
        lines.append(f"{'case':>22} {'N':>6} {'cpu_s':>8} {'gpu_s':>8}")
        for label, stack in (("dense depth 3", [1.0] * 3),
                             ("step m=64 depth 3", [Graphon.step(rng.random((64, 64))) for _ in range(3)])):
            for N in (2048, 4096):
                X = rng.standard_normal((N, d))
                graphon_ntk(X[:8], stack, first_layer="mean-field", backend="gpu")
                t_gpu = best_of(lambda: graphon_ntk(X, stack, first_layer="mean-field", backend="gpu"), 3)
                t_cpu = best_of(lambda: graphon_ntk(X, stack, first_layer="mean-field"), 1)
                lines.append(f"{label:>22} {N:>6} {t_cpu:>8.3f} {t_gpu:>8.3f}")
    else:
        lines.append("no CUDA device / cupy on this machine: GPU figures not measured")

    if large:
        N = 20000
        X = rng.standard_normal((N, d))
        budget = 2 * 2 ** 30
        t0 = time.perf_counter()
        tracemalloc.start()
        result = graphon_ntk(X, [1.0] * 3, memory_budget=budget)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        elapsed = time.perf_counter() - t0
        lines += ["", f"(d) N = {N}, dense, depth 3, budget 2 GiB: {result.n_tiles} tiles, {elapsed:.1f} s, "
                  f"peak traced memory {peak / 2 ** 30:.2f} GiB (of which the two results "
                  f"{2 * 8 * N * N / 2 ** 30:.2f} GiB), finite: {bool(np.all(np.isfinite(result.ntk)))}"]

    write_results("ntk", lines)


if __name__ == "__main__":
    main(large="--large" in sys.argv)
