"""Cut distance of W-random masks to their graphon versus width: the O(n^{-1/2}) rate of SPEC §3.

For each graphon (a step graphon and a smooth one) and width n, sample n x n masks with grid latent
positions, bracket the labelled cut distance ||W_M - W||_box with :func:`graphon_ops.cutnorm.cut_distance`,
average the lower and the upper bounds over seeds, and fit log(distance) = a + slope * log(n) by least
squares. Claim: the slope is -1/2 (each cut sum is a sum of independent centred terms; a union bound
over the 2^(2n) cuts costs a factor sqrt(n)). Criterion: both fitted slopes (of the lower and of the
upper bounds) lie in [-0.6, -0.4].

Run: ``python validation/cut_norm_rate.py [--quick] [--seed S] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

CLAIM = "labelled cut distance of W-random n x n masks to W decays like n^(-1/2)"
CRITERION = "fitted log-log slopes of the lower and upper bounds both in [-0.6, -0.4]"


def graphons():
    from graphon_ops import Graphon

    return {
        "step": Graphon.step([[0.8, 0.2, 0.5], [0.3, 0.6, 0.1]], row_breaks=[0.4], col_breaks=[0.25, 0.7]),
        "smooth": Graphon.from_callable(lambda u, v: 0.15 + 0.7 * np.sin(np.pi * u) * (1 - v) ** 2),
    }


def run(quick: bool, seed: int, out_dir) -> dict:
    """Measure the rate; write ``cut_norm_rate.txt`` and ``cut_norm_rate.png`` to ``out_dir``."""
    from graphon_ops.cutnorm import cut_distance
    from graphon_ops.sampling import sample_mask

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    widths = [64, 128, 256, 512] if quick else [64, 128, 256, 512, 1024, 2048]
    seeds = 2 if quick else 5
    table, slopes = [], {}
    for name, W in graphons().items():
        lowers, uppers = [], []
        for n in widths:
            low, up, seconds = [], [], 0.0
            for s in range(seeds):
                sample = sample_mask(W, n, n, seed=seed * 1000 + 17 * n + s)
                start = time.perf_counter()
                result = cut_distance(sample.mask, W, seed=seed + s)
                seconds += time.perf_counter() - start
                low.append(result.lower)
                up.append(result.upper)
            lowers.append(float(np.mean(low)))
            uppers.append(float(np.mean(up)))
            table.append({"graphon": name, "n": n, "seeds": seeds, "lower": lowers[-1], "upper": uppers[-1],
                          "sqrt_n_times_upper": uppers[-1] * np.sqrt(n), "seconds_per_distance": seconds / seeds})
        x = np.log(widths)
        slopes[name] = {"lower": float(np.polyfit(x, np.log(lowers), 1)[0]),
                        "upper": float(np.polyfit(x, np.log(uppers), 1)[0])}
    passed = all(-0.6 <= value <= -0.4 for pair in slopes.values() for value in pair.values())

    lines = [f"# {CLAIM}", f"# criterion: {CRITERION}", f"# quick={quick} seed={seed}",
             f"{'graphon':>8} {'n':>6} {'lower':>10} {'upper':>10} {'sqrt(n)*upper':>14} {'s/distance':>11}"]
    lines += [f"{row['graphon']:>8} {row['n']:>6} {row['lower']:>10.5f} {row['upper']:>10.5f} "
              f"{row['sqrt_n_times_upper']:>14.4f} {row['seconds_per_distance']:>11.3f}" for row in table]
    lines += [f"slope {name}: lower {pair['lower']:.3f}, upper {pair['upper']:.3f}" for name, pair in slopes.items()]
    lines.append(f"passed: {passed}")
    (out_dir / "cut_norm_rate.txt").write_text("\n".join(lines) + "\n")

    figures = []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        for name in slopes:
            rows = [row for row in table if row["graphon"] == name]
            n = np.array([row["n"] for row in rows])
            ax.fill_between(n, [row["lower"] for row in rows], [row["upper"] for row in rows], alpha=0.3,
                            label=f"{name}: slope {slopes[name]['upper']:.2f}")
            ax.plot(n, [row["upper"] for row in rows], "o-")
        ax.plot(widths, 0.5 / np.sqrt(widths), "k--", label="n^(-1/2)")
        ax.set(xscale="log", yscale="log", xlabel="width n", ylabel="cut distance bracket",
               title="W-random masks: ||W_M - W||_box")
        ax.legend()
        fig.tight_layout()
        path = out_dir / "cut_norm_rate.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        figures.append(str(path))
    except ImportError:  # the plot is optional; the table is the result
        pass
    return {"claim": CLAIM, "measured": slopes, "criterion": CRITERION, "passed": passed, "table": table,
            "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="validation/results")
    arguments = parser.parse_args()
    result = run(arguments.quick, arguments.seed, arguments.out)
    print(json.dumps({key: result[key] for key in ("claim", "measured", "criterion", "passed", "figures")}, indent=2))
