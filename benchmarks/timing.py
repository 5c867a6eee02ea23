"""Timing helper shared by the benchmark scripts (run from this folder or as ``python benchmarks/X.py``)."""

import time


def best_of(fn, repeat):
    """Smallest wall time of ``repeat`` calls of ``fn``: the least disturbed by other load."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
