"""Scale benchmark: the Graphon-NTK through the distributed path (Dask) into a zarr store.

Run by hand (needs the extra ``distributed``): ``python benchmarks/bench_scale.py [--n 50000] [--block 4096]
[--stack constant|heterogeneous]``; results go to ``benchmarks/results/scale.txt``.

(a) The machine's own limit: numpy's DGEMM rate on one thread, in the same run.
(b) Cost of one block (block x block pairs, one numba and one BLAS thread, as a worker runs it): a
    diagonal block (symmetric, half the pairs) and an off-diagonal one; ns per pair.
(c) Strong scaling: N = 2 x block (three distinct blocks) on a ``distributed.LocalCluster`` of 1 and of 2
    worker processes (one thread each), computed in memory.
(d) N = ``--n`` into a zarr store on the 2-worker cluster: wall time, bytes written, peak resident memory of
    each worker process and of this one (``resource.getrusage``).
(e) Extrapolation to N = 1e5 and 1e6 from the measured off-diagonal block cost: N(N+1)/2 pairs / workers.
The stack: ReLU, depth 2, sigma_b = 0.1, d = 16, mean-field first layer; "constant" uses W = 0.5 in both
hidden layers (one node each), "heterogeneous" a smooth first and a step second layer (m nodes).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time

import numpy as np

import graphon_ops as go
from graphon_ops import distributed
from graphon_ops.distributed import _block
from timing import best_of, write_results

D = 16


def stack(kind: str):
    if kind == "constant":
        return [0.5, 0.5]
    return [go.Graphon.from_callable(lambda u, v: 0.2 + 0.6 * u * v), go.Graphon.step(
        np.random.default_rng(0).uniform(0.1, 0.9, (32, 32)))]


OPTIONS = dict(sigma_b=0.1, first_layer="mean-field")


def dgemm_rate() -> float:
    """Flop/s of one-thread numpy DGEMM on 1024 x 1024 matrices."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((1024, 1024))
    with threadpool_limits(1, user_api="blas"):
        seconds = best_of(lambda: a @ a, 3)
    return 2 * 1024 ** 3 / seconds


def peak_rss_of_children_gib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20   # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--block", type=int, default=4096)
    parser.add_argument("--stack", choices=["constant", "heterogeneous"], default="constant")
    parser.add_argument("--store", default=None, help="zarr store (default: a temporary folder, removed)")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    graphons = stack(args.stack)
    rng = np.random.default_rng(0)
    lines = [f"# bench_scale.py on {platform.node()} ({os.cpu_count()} cores), numpy {np.__version__}, "
             f"stack {args.stack}, block {args.block}, d = {D}, ReLU depth 2, mean-field first layer",
             time.strftime("# %Y-%m-%d %H:%M:%S")]
    rate = dgemm_rate()
    lines.append(f"(a) DGEMM, one thread: {rate / 1e9:.1f} GFlop/s")

    B = args.block
    X = rng.standard_normal((2 * B, D))
    _block(X[:64], None, graphons, OPTIONS)                                      # numba compilation
    diagonal = best_of(lambda: _block(X[:B], None, graphons, OPTIONS), 2)
    off = best_of(lambda: _block(X[:B], X[B:], graphons, OPTIONS), 2)
    per_pair = off / B**2
    lines.append(f"(b) one block of {B} x {B}, one thread: diagonal {diagonal:.2f} s "
                 f"({diagonal / (B * (B + 1) / 2) * 1e9:.1f} ns/pair), off-diagonal {off:.2f} s "
                 f"({per_pair * 1e9:.1f} ns/pair)")

    times = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            lazy = distributed.graphon_ntk(X, graphons, block_size=B, **OPTIONS)
            lazy.compute()                                                       # workers compile numba
            times[workers] = best_of(lambda: lazy.compute(), 1)
    lines.append(f"(c) N = {2 * B} (3 distinct blocks): 1 worker {times[1]:.2f} s, 2 workers {times[2]:.2f} s, "
                 f"speed-up {times[1] / times[2]:.2f} (ideal 1.5 with 3 equal-cost blocks on 2 workers; the "
                 f"diagonal blocks cost about half)")

    N = args.n
    X = rng.standard_normal((N, D))
    store = args.store or os.path.join(tempfile.mkdtemp(), "kernels.zarr")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster):
        t0 = time.perf_counter()
        distributed.graphon_ntk(X, graphons, block_size=B, **OPTIONS).to_zarr(store, overwrite=True)
        seconds = time.perf_counter() - t0
    written = sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(store) for f in files)
    blocks = -(-N // B)
    lines.append(f"(d) N = {N}: {seconds:.1f} s on 2 workers into zarr ({written / 2**30:.1f} GiB written, "
                 f"{blocks * (blocks + 1) // 2} distinct blocks of {blocks}^2); peak RSS of a worker "
                 f"{peak_rss_of_children_gib():.2f} GiB, of this process "
                 f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    lines.append(f"    measured {N * (N + 1) / 2 / seconds / 1e6:.1f} M pairs/s against "
                 f"{2 / per_pair / 1e6:.1f} M pairs/s predicted from (b) on 2 workers")
    if args.store is None:
        shutil.rmtree(os.path.dirname(store))
    for target in (1e5, 1e6):
        pairs = target * (target + 1) / 2
        lines.append(f"(e) N = {target:.0e}: {pairs * per_pair / 2 / 3600:.2f} h on 2 workers, "
                     f"{pairs * per_pair / 64 / 3600:.2f} h on 64 (from (b)); results {2 * 8 * target**2 / 1e9:.0f} GB")
    write_results("scale", lines)


if __name__ == "__main__":
    main()
