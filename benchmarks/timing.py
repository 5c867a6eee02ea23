"""Timing and result helpers shared by the benchmark scripts (run from this folder or as
``python benchmarks/X.py``)."""

import os
import time


def best_of(fn, repeat):
    """Smallest wall time of ``repeat`` calls of ``fn``: the least disturbed by other load."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def write_results(name, lines):
    """Write ``lines`` to ``results/<name>.txt`` beside this file and print them."""
    text = "\n".join(lines) + "\n"
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.txt"), "w") as handle:
        handle.write(text)
    print(text, end="")
