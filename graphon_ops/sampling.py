r"""W-random masks: independent Bernoulli entries with probabilities read off a graphon (docs/theory/graphons.rst).

A W-random mask of size :math:`n_\mathrm{out} \times n_\mathrm{in}` has latent positions
:math:`u_i, v_j` (the grid :math:`(i - 1/2)/n` or iid uniform) and entries
:math:`M_{ij} \sim \mathrm{Bernoulli}(W(u_i, v_j))`, independent given the positions. The positions
are returned with the mask, so that the labelled cut distance to :math:`W`
(:func:`graphon_ops.cutnorm.cut_distance` with ``row_order=argsort(row_positions)``) can be computed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._validation import as_generator, check_choice, check_memory, check_positive_int
from .graphon import graphon

__all__ = ["MaskSample", "sample_mask"]


@dataclasses.dataclass(frozen=True)
class MaskSample:
    """A sampled mask with the latent positions of its rows and columns.

    Attributes
    ----------
    mask : ndarray of uint8, shape (n_out, n_in)
    row_positions : ndarray, shape (n_out,)
        Latent position :math:`u_i` of output neuron ``i``.
    col_positions : ndarray, shape (n_in,)
        Latent position :math:`v_j` of input neuron ``j``.
    """

    mask: np.ndarray = dataclasses.field(repr=False)
    row_positions: np.ndarray = dataclasses.field(repr=False)
    col_positions: np.ndarray = dataclasses.field(repr=False)

    def __post_init__(self):
        for name in ("mask", "row_positions", "col_positions"):
            getattr(self, name).setflags(write=False)

    @property
    def row_order(self) -> np.ndarray:
        """Rows in increasing latent position (the ``row_order`` of the empirical graphon)."""
        return np.argsort(self.row_positions, kind="stable")

    @property
    def col_order(self) -> np.ndarray:
        """Columns in increasing latent position."""
        return np.argsort(self.col_positions, kind="stable")

    def __repr__(self) -> str:
        return f"MaskSample(shape={self.mask.shape}, density={float(self.mask.mean()):.4g})"


def sample_mask(W, n_out: int, n_in: int, *, seed=None, positions: str = "grid") -> MaskSample:
    r"""Sample a W-random 0/1 mask: :math:`M_{ij} \sim \mathrm{Bernoulli}(W(u_i, v_j))` independently.

    Parameters
    ----------
    W : Graphon or anything :func:`graphon_ops.graphon` accepts
    n_out, n_in : int
        Numbers of rows (output neurons) and columns (input neurons).
    seed : None, int or numpy Generator
    positions : {"grid", "uniform"}
        Latent positions on the grid :math:`u_i = (i - 1/2)/n_\mathrm{out}` (rows already in latent
        order) or iid uniform on [0, 1] (drawn first, rows then columns, from the same generator).

    Returns
    -------
    MaskSample
        ``mask`` (uint8), ``row_positions``, ``col_positions``.

    Notes
    -----
    The entries are :math:`\mathbf 1[U_{ij} < W(u_i, v_j)]` with :math:`U_{ij}` iid uniform, so
    :math:`W \equiv 0` gives no edge and :math:`W \equiv 1` every edge.

    Examples
    --------
    >>> from graphon_ops import Graphon
    >>> sample = sample_mask(Graphon.constant(1.0), 2, 3, seed=0)
    >>> sample.mask.tolist(), sample.row_positions.tolist()
    ([[1, 1, 1], [1, 1, 1]], [0.25, 0.75])
    """
    try:
        W = graphon(W)
    except ValueError as exc:
        raise ValueError(f"W must be a graphon: {exc}") from None
    n_out = check_positive_int("n_out", n_out)
    n_in = check_positive_int("n_in", n_in)
    check_choice("positions", positions, ("grid", "uniform"))
    rng = as_generator(seed)
    # probabilities, uniforms and the mask are held at once
    check_memory("sample_mask", (8.0 + 8.0 + 1.0) * n_out * n_in)
    if positions == "grid":
        row_positions = (np.arange(n_out) + 0.5) / n_out
        col_positions = (np.arange(n_in) + 0.5) / n_in
    else:
        row_positions = rng.random(n_out)
        col_positions = rng.random(n_in)
    probabilities = W.on_grid(row_positions, col_positions)
    mask = (rng.random((n_out, n_in)) < probabilities).astype(np.uint8)
    return MaskSample(mask, row_positions, col_positions)
