"""Cut distance of W-random masks to their graphon versus width: the O(n^{-1/2}) rate of docs/theory/cutnorm.rst.

For each graphon (a step graphon and a smooth one) and width n, sample n x n masks with grid latent
positions, bracket the labelled cut distance ||W_M - W||_box with :func:`graphon_ops.cutnorm.cut_distance`,
average the lower and the upper bounds over seeds, and fit log(distance) = a + slope * log(n) by least
squares. Claim: the slope is -1/2 (each cut sum is a sum of independent centred terms; a union bound
over the 2^(2n) cuts costs a factor sqrt(n)). Criterion: both fitted slopes (of the lower and of the
upper bounds) lie in [-0.6, -0.4].

Run: ``python validation/cut_norm_rate.py [--full] [--seed S] [--out DIR]``.
"""

from __future__ import annotations

import numpy as np

from graphon_ops.validation._common import fit_loglog_slope, main, new_figure, result, save_figure

CLAIM = "labelled cut distance of W-random n x n masks to W decays like n^(-1/2)"
CRITERION = "fitted log-log slopes of the lower and upper bounds both in [-0.6, -0.4]"


def graphons():
    from graphon_ops import Graphon

    return {
        "step": Graphon.step([[0.8, 0.2, 0.5], [0.3, 0.6, 0.1]], row_breaks=[0.4], col_breaks=[0.25, 0.7]),
        "smooth": Graphon.from_callable(lambda u, v: 0.15 + 0.7 * np.sin(np.pi * u) * (1 - v) ** 2),
    }


def run(quick: bool = True, seed: int = 0, out_dir="validation_out") -> dict:
    """Measure the rate; write ``cut_norm_rate.png`` to ``out_dir``."""
    from graphon_ops.cutnorm import cut_distance
    from graphon_ops.sampling import sample_mask

    widths = [64, 128, 256, 512] if quick else [64, 128, 256, 512, 1024, 2048]
    seeds = 2 if quick else 5
    table, slopes = [], {}
    for name, W in graphons().items():
        lowers, uppers = [], []
        for n in widths:
            low, up = [], []
            for s in range(seeds):
                sample = sample_mask(W, n, n, seed=seed * 1000 + 17 * n + s)
                bracket = cut_distance(sample.mask, W, seed=seed + s)
                low.append(bracket.lower)
                up.append(bracket.upper)
            lowers.append(float(np.mean(low)))
            uppers.append(float(np.mean(up)))
            table.append({"graphon": name, "n": n, "seeds": seeds, "lower": lowers[-1], "upper": uppers[-1],
                          "sqrt_n_times_upper": float(uppers[-1] * np.sqrt(n))})
        slopes[name] = {"lower": fit_loglog_slope(widths, lowers)[0], "upper": fit_loglog_slope(widths, uppers)[0]}
    passed = all(-0.6 <= value <= -0.4 for pair in slopes.values() for value in pair.values())

    figures = []
    try:
        fig, axes = new_figure(1)
        ax = axes[0, 0]
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
        figures.append(save_figure(fig, out_dir, "cut_norm_rate"))
    except ImportError:  # the plot is optional; the table is the result
        pass
    measured = "; ".join(f"{name}: slope of lower {pair['lower']:.3f}, of upper {pair['upper']:.3f}"
                         for name, pair in slopes.items())
    return result(CLAIM, measured, CRITERION, passed, table, figures, slopes=slopes)


if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
