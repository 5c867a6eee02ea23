r"""The Graphon-NTK beyond one machine: Dask blocks, written out of core (``docs/theory/ntk.rst``, "Beyond one
machine").

The :math:`N \times N` kernels are embarrassingly parallel over (row block, column block) pairs: a block
needs its two slices of inputs and the small per-layer matrices (:math:`m \times m`, and the first-layer
patterns). :func:`graphon_ntk` returns both kernels as ``dask.array`` arrays of
``block_size`` :math:`\times` ``block_size`` blocks, each computed by the in-memory
:func:`graphon_ops.graphon_ntk` -- the same kernels, CPU or GPU -- so any Dask scheduler runs them (threads,
processes, a ``distributed.Client`` of many machines, dask-cuda workers with ``backend="gpu"``), and
:meth:`DistributedNTKResult.to_zarr` streams them to a chunked store without gathering them.

Needs the optional extra ``distributed`` (``python -m pip install 'graphon_ops[distributed]'``: dask[array],
distributed, zarr); importing :mod:`graphon_ops` does not import any of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import as_float_array, as_generator, check_flag, check_positive_int
from .ntk import graphon_ntk as _in_memory_ntk

if TYPE_CHECKING:  # an optional extra: imported at run time only when used (_require)
    import dask.array

__all__ = ["DistributedNTKResult", "graphon_ntk"]

_INSTALL_HINT = "python -m pip install 'graphon_ops[distributed]'"

#: Default memory budget of one block (results and working set), in bytes: a worker runs one block at a time
#: per thread, so this bounds its memory whatever the machine's ``options().memory_budget_bytes`` is.
BLOCK_MEMORY_BUDGET = 2**30


def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"graphon_ops.distributed needs {module.split('.')[0]} (the 'distributed' extra): "
                          f"{_INSTALL_HINT}") from exc


@contextlib.contextmanager
def _one_thread():
    """One numba and one BLAS thread inside a block: the scheduler's workers are the parallelism, and
    nested thread pools on the same cores oversubscribe them."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the extra's dependencies
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1, user_api="blas")
    try:
        with limits:
            yield
    finally:
        numba.set_num_threads(previous)


def _block(rows: np.ndarray, cols: np.ndarray | None, graphons, options: dict) -> np.ndarray:
    """``(2, r, c)``: the NNGP and NTK of one block (``cols`` None: a diagonal block, symmetric)."""
    with _one_thread():
        result = _in_memory_ntk(rows, graphons, X2=cols, **options)
    return np.stack([result.nngp, result.ntk])


@dataclasses.dataclass(frozen=True)
class DistributedNTKResult:
    """Lazy NNGP and NTK of :func:`graphon_ntk`.

    Attributes
    ----------
    nngp, ntk : dask.array.Array, shape (N, N) or (N, N2)
        Blocks of ``block_size`` squared; nothing is computed until asked (``.compute()``,
        :meth:`compute`, :meth:`to_zarr`).
    block_size : int
    metadata : dict
        How the kernels are computed (first-layer method and patterns, quadrature nodes, normalisation,
        activation, weights "fresh"/"kept", the Monte Carlo seed used by every block), as in
        :class:`graphon_ops.GraphonNTKResult`.
    """

    nngp: dask.array.Array
    ntk: dask.array.Array
    block_size: int
    metadata: dict

    def compute(self, **compute_options) -> tuple[np.ndarray, np.ndarray]:
        """Both kernels in memory, from one pass over the blocks (each block is computed once)."""
        dask = _require("dask")
        return dask.compute(self.nngp, self.ntk, **compute_options)

    def to_zarr(self, path, *, overwrite: bool = False, compute: bool = True, **compute_options):
        """Write both kernels to the zarr group ``path`` (arrays ``nngp`` and ``ntk``, chunks of
        ``block_size`` squared, the metadata as group attributes), block by block, without gathering them.

        ``overwrite=False`` refuses an existing path (``FileExistsError``), so a finished result is never
        clobbered by mistake. ``compute=False`` creates the store and returns the two lazy writes (e.g. for
        ``distributed.Client.compute`` with a progress bar) instead of running them.
        """
        dask = _require("dask")
        da = _require("dask.array")
        zarr = _require("zarr")
        overwrite, compute = check_flag("overwrite", overwrite), check_flag("compute", compute)
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"path must be a folder path (a string or os.PathLike), got {path!r}")
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        group = zarr.open_group(str(path), mode="w" if overwrite else "w-")
        group.attrs.update({key: list(value) if isinstance(value, tuple) else value
                            for key, value in {**self.metadata, "block_size": self.block_size}.items()})
        writes = [da.to_zarr(array, str(path), component=name, overwrite=True, compute=False)
                  for name, array in (("nngp", self.nngp), ("ntk", self.ntk))]
        if not compute:
            return writes
        dask.compute(*writes, **compute_options)
        return None


def graphon_ntk(X, graphons, *, block_size: int, X2=None, seed=None, **options) -> DistributedNTKResult:
    r"""The Graphon-NTK and NNGP of :func:`graphon_ops.graphon_ntk` as Dask arrays of blocks.

    Every block is ``graphon_ops.graphon_ntk(X[rows], graphons, X2=X[cols], **options)`` (a diagonal block
    of one input set: ``X2=None``, its symmetric path), run with one numba and one BLAS thread; blocks
    below the diagonal of a symmetric kernel are the transposes of those above. So the result equals the
    in-memory one (to rounding, about 1e-15 relative) for every first-layer regime, activation and
    normalisation, and on every scheduler.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs.
    graphons, options
        As in :func:`graphon_ops.graphon_ntk` (``weight_graphons``, ``activation``, ``sigma_w``,
        ``sigma_b``, ``rule``, ``first_layer``, ``normalization``, ``backend``, ``dtype``, ...); the
        ``memory_budget`` applies to each block (default :data:`BLOCK_MEMORY_BUDGET`, 1 GiB: the
        results of a 4096-block take 256 MiB and the tiles share the rest).
    block_size : int
        Rows and columns per block, >= 1. A block holds two ``block_size`` squared float64 results plus
        the in-memory path's working set; 4096 (256 MiB of results) suits a worker with a few GiB.
    X2 : array_like, shape (N2, d), optional
        Second input set: the kernels between ``X`` and ``X2``.
    seed : None, int or Generator
        The Monte Carlo first layer's seed. It is fixed once, here (a Generator or ``None`` gives one
        integer draw), and every block uses it, so the patterns are the same whatever the block layout;
        it is recorded in ``metadata["seed"]``.

    Returns
    -------
    DistributedNTKResult
        ``.nngp``, ``.ntk`` (dask arrays), ``.to_zarr(path)``, ``.compute()``, ``metadata``.

    Raises
    ------
    ValueError
        Bad arguments, raised here before any block runs (the arguments are checked by computing the
        kernels of one input pair).
    ImportError
        Without dask (the ``distributed`` extra).

    Examples
    --------
    >>> import numpy as np
    >>> import graphon_ops as go
    >>> from graphon_ops import distributed
    >>> X = np.random.default_rng(0).standard_normal((10, 3))
    >>> lazy = distributed.graphon_ntk(X, [0.5, 0.3], block_size=4, sigma_b=0.1)
    >>> lazy.ntk.chunks
    ((4, 4, 2), (4, 4, 2))
    >>> nngp, ntk = lazy.compute(scheduler="threads")
    >>> print(round(float(np.abs(ntk - go.graphon_ntk(X, [0.5, 0.3], sigma_b=0.1).ntk).max()), 12))
    0.0
    """
    da = _require("dask.array")
    dask = _require("dask")
    block_size = check_positive_int("block_size", block_size)
    if "X2" in options:
        raise ValueError("X2 is a keyword of this function; pass it once")
    X = as_float_array("X", X, ndim=2, dtype=np.float64)
    X2 = None if X2 is None else as_float_array("X2", X2, ndim=2, dtype=np.float64)
    if isinstance(seed, np.random.Generator) or seed is None:
        seed = int(as_generator(seed).integers(2**63 - 1))
    # a worker holds its block's results and tiles: a per-block budget, not the whole machine's
    options = {"memory_budget": BLOCK_MEMORY_BUDGET, **options, "seed": seed}
    # every argument checked, and the metadata taken, on one input pair before any block is scheduled
    probe = _in_memory_ntk(X[:1], graphons, X2=None if X2 is None else X2[:1], **options)
    metadata = {"first_layer": probe.first_layer, "first_layer_method": probe.first_layer_method,
                "n_patterns": probe.n_patterns, "nodes": probe.nodes, "normalization": probe.normalization,
                "activation": probe.activation, "backend": probe.backend, "weights": probe.weights, "seed": seed}
    dtype = probe.ntk.dtype

    symmetric = X2 is None
    columns = X if symmetric else X2
    row_chunks = da.from_array(X, chunks=(block_size, X.shape[1])).to_delayed()[:, 0]
    col_chunks = row_chunks if symmetric else da.from_array(columns, chunks=(block_size, X.shape[1])).to_delayed()[:, 0]
    row_sizes = [min(block_size, X.shape[0] - start) for start in range(0, X.shape[0], block_size)]
    col_sizes = row_sizes if symmetric else [min(block_size, columns.shape[0] - start)
                                             for start in range(0, columns.shape[0], block_size)]
    compute_block = dask.delayed(_block, pure=True)
    transpose = dask.delayed(np.transpose, pure=True)
    blocks: dict[tuple[int, int], Any] = {}  # dask Delayed objects
    for i, rows in enumerate(row_chunks):
        for j, cols in enumerate(col_chunks):
            if symmetric and i > j:
                blocks[i, j] = transpose(blocks[j, i], (0, 2, 1))
            elif symmetric and i == j:
                blocks[i, j] = compute_block(rows, None, graphons, options)
            else:
                blocks[i, j] = compute_block(rows, cols, graphons, options)
    kernels = []
    for k in range(2):
        grid = [[da.from_delayed(blocks[i, j][k], shape=(row_sizes[i], col_sizes[j]), dtype=dtype)
                 for j in range(len(col_sizes))] for i in range(len(row_sizes))]
        kernels.append(da.block(grid))
    return DistributedNTKResult(nngp=kernels[0], ntk=kernels[1], block_size=block_size, metadata=metadata)
