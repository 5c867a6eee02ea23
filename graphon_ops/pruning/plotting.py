"""Heatmaps of graphons and masks (needs the ``plot`` extra: matplotlib, imported when called)."""

from __future__ import annotations

import numpy as np

from .._validation import as_mask, check_memory, check_positive_int
from ..graphon import Graphon, graphon

__all__ = ["plot_graphon", "plot_mask"]

#: Bytes per image value while a heatmap is made and drawn: the float64 values and matplotlib's masked,
#: normalised and RGBA copies (measured with tracemalloc, figure drawn with Agg: 73 at 2048 x 2048, 85 at
#: 512 x 512).
_BYTES_PER_PIXEL = 85


def plot_graphon(W, *, resolution: int = 256, ax=None, cmap: str = "viridis", title: str | None = None):
    r"""Heatmap of :math:`W(u, v)` on a ``resolution`` x ``resolution`` midpoint grid (u down, v across).

    Returns the matplotlib ``Axes``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_graphon(Graphon.constant(0.5), resolution=8)
    >>> ax.get_xlabel()
    'v (input position)'
    """
    W = graphon(W)
    resolution = check_positive_int("resolution", resolution)
    check_memory(f"plot_graphon at resolution={resolution} (a {resolution} x {resolution} image: the values and "
                 f"matplotlib's copies when it is drawn)", float(_BYTES_PER_PIXEL) * resolution ** 2)
    import matplotlib.pyplot as plt

    grid = (np.arange(resolution) + 0.5) / resolution
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    image = ax.imshow(W.on_grid(grid, grid), extent=(0, 1, 1, 0), vmin=0.0, vmax=1.0, cmap=cmap,
                      aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xlabel("v (input position)")
    ax.set_ylabel("u (output position)")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_mask(mask, *, order=None, ax=None, cmap: str = "Greys", title: str | None = None):
    """Image of a 0/1 mask with rows and columns in latent order.

    Parameters
    ----------
    mask : array_like, shape (n_out, n_in)
    order : (row_order, col_order), optional
        Permutations listing rows and columns in increasing latent position (e.g. a
        :class:`~graphon_ops.pruning.Factorisation`'s orders); default: as stored.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_mask(np.eye(3), order=([2, 1, 0], [0, 1, 2]))
    >>> ax.get_ylabel()
    'output neuron (latent order)'
    """
    shape = np.shape(mask)
    if len(shape) == 2:
        check_memory(f"plot_mask of a {shape[0]} x {shape[1]} mask (one image value per entry: the values and "
                     f"matplotlib's copies when it is drawn; plot estimate_graphon(mask, blocks=...) instead)",
                     float(_BYTES_PER_PIXEL) * shape[0] * shape[1])
    import matplotlib.pyplot as plt

    row_order, col_order = (None, None) if order is None else order
    ordered = Graphon.from_mask(as_mask("mask", mask), row_order, col_order).values
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(ordered, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xlabel("input neuron (latent order)")
    ax.set_ylabel("output neuron (latent order)")
    if title is not None:
        ax.set_title(title)
    return ax
