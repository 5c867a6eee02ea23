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

from ._validation import as_generator, check_choice, check_flag, check_memory, check_positive_int, is_sparse
from .graphon import graphon

__all__ = ["MaskSample", "sample_mask"]


@dataclasses.dataclass(frozen=True)
class MaskSample:
    """A sampled mask with the latent positions of its rows and columns.

    Attributes
    ----------
    mask : ndarray of uint8, or scipy.sparse.csr_array of uint8, shape (n_out, n_in)
    row_positions : ndarray, shape (n_out,)
        Latent position :math:`u_i` of output neuron ``i``.
    col_positions : ndarray, shape (n_in,)
        Latent position :math:`v_j` of input neuron ``j``.
    """

    mask: np.ndarray = dataclasses.field(repr=False)
    row_positions: np.ndarray = dataclasses.field(repr=False)
    col_positions: np.ndarray = dataclasses.field(repr=False)

    def __post_init__(self):
        arrays = [self.row_positions, self.col_positions]
        arrays += [self.mask.data, self.mask.indices, self.mask.indptr] if is_sparse(self.mask) else [self.mask]
        for array in arrays:
            array.setflags(write=False)

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


#: Entries per block of rows when a sparse mask is drawn (about 17 bytes each at once: 68 MB).
_SPARSE_BLOCK_ENTRIES = 4_000_000


def sample_mask(W, n_out: int, n_in: int, *, seed=None, positions: str = "grid",
                sparse: bool = False) -> MaskSample:
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
    sparse : bool
        Return the mask as a ``scipy.sparse.csr_array`` (uint8), drawn in blocks of rows so that no dense
        ``n_out x n_in`` array is ever held: for wide, sparse layers (``n = 20000`` at density 0.01: 19 MiB in
        CSR form and an 88 MiB peak, where the dense mask is 381 MiB and its draw needs 6.3 GiB). The
        entries are the same as with ``sparse=False`` and the same seed.

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
    sparse = check_flag("sparse", sparse)
    rng = as_generator(seed)
    # probabilities, uniforms and the mask are held at once (a block of rows of them when sparse)
    rows_per_block = n_out if not sparse else max(1, min(n_out, _SPARSE_BLOCK_ENTRIES // n_in))
    check_memory(f"sample_mask of n_out x n_in = {n_out} x {n_in}"
                 + (f" (blocks of {rows_per_block} rows)" if sparse else ""), (8.0 + 8.0 + 1.0) * rows_per_block * n_in)
    if positions == "grid":
        row_positions = (np.arange(n_out) + 0.5) / n_out
        col_positions = (np.arange(n_in) + 0.5) / n_in
    else:
        row_positions = rng.random(n_out)
        col_positions = rng.random(n_in)
    if not sparse:
        probabilities = W.on_grid(row_positions, col_positions)
        mask = (rng.random((n_out, n_in)) < probabilities).astype(np.uint8)
        return MaskSample(mask, row_positions, col_positions)
    import scipy.sparse

    blocks = []
    # Generator.random fills row-major, so drawing row blocks in order gives the dense draw's numbers
    for start in range(0, n_out, rows_per_block):
        rows = row_positions[start:start + rows_per_block]
        block = rng.random((rows.size, n_in)) < W.on_grid(rows, col_positions)
        blocks.append(scipy.sparse.csr_array(block.astype(np.uint8)))
    return MaskSample(scipy.sparse.vstack(blocks, format="csr"), row_positions, col_positions)
