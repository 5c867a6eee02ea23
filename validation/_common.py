"""Shared pieces of the validation studies: rate fits, tables, figures, the result record."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence

import numpy as np


def fit_loglog_slope(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope of log y against log x, and its standard error."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, residual, *_ = np.linalg.lstsq(A, ly, rcond=None)
    dof = max(len(lx) - 2, 1)
    sigma2 = float(residual[0]) / dof if residual.size else 0.0
    cov = sigma2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(np.sqrt(cov[0, 0]))


def result(claim: str, measured: str, criterion: str, passed: bool, table: list[dict],
           figures: list[str] | None = None, **extra) -> dict:
    """The record every study returns (see :mod:`graphon_ops.validation`)."""
    return {"claim": claim, "measured": measured, "criterion": criterion, "passed": bool(passed),
            "table": table, "figures": figures or [], **extra}


def markdown_table(rows: list[dict], float_format: str = "{:.4g}") -> str:
    """Rows of equal keys as a Markdown table."""
    if not rows:
        return ""
    keys = list(rows[0])
    fmt = lambda x: float_format.format(x) if isinstance(x, float) else str(x)  # noqa: E731
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def save_figure(fig, out_dir, name: str) -> str:
    """Write a matplotlib figure as ``out_dir/name.png`` and close it; returns the file name."""
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    file_name = f"{name}.png"
    fig.savefig(os.path.join(out_dir, file_name), dpi=110, bbox_inches="tight")
    plt.close(fig)
    return file_name


def new_figure(ncols: int = 1, width: float = 5.0, height: float = 3.8):
    """A figure on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)


def exact_ticks(ax, values, axis: str = "x") -> None:
    """Ticks of a log axis at exactly ``values``, labelled as plain numbers (``64``, not ``6 x 10^1``), no
    minor labels: the sizes a study swept, readable and never overlapping."""
    import matplotlib.ticker

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(matplotlib.ticker.FixedLocator(list(values)))
    target.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{v:g}" for v in values]))
    target.set_minor_formatter(matplotlib.ticker.NullFormatter())


def one_panel_figure():
    """``(fig, ax, colours)`` of a one-panel figure with ten distinct colours, or None without matplotlib."""
    try:
        fig, axes = new_figure(1, width=6.0, height=4.2)
    except ImportError:
        return None
    import matplotlib.pyplot as plt

    return fig, axes[0, 0], plt.get_cmap("tab10").colors


def finish_figure(fig, ax, out_dir, name: str, *, xlabel: str, ylabel: str, title: str, ticks) -> list[str]:
    """Label a one-panel figure, tick its swept sizes (:func:`exact_ticks`), put the legend outside the data,
    save it as ``out_dir/name.png``; returns ``[file name]`` for the study record."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    exact_ticks(ax, ticks)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return [save_figure(fig, out_dir, name)]


def main(run: Callable[..., dict], description: str) -> None:
    """Command-line entry of a single study: ``python validation/<study>.py [--full] [--seed S] [--out DIR]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--full", action="store_true", help="paper-scale run (default: quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="validation_out")
    args = parser.parse_args()
    record = run(quick=not args.full, seed=args.seed, out_dir=args.out)
    print(markdown_table(record["table"]))
    print(json.dumps({k: record[k] for k in ("claim", "measured", "criterion", "passed")}, indent=2))
