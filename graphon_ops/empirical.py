r"""Empirical NTK :math:`J J^\top` of a finite masked MLP at initialisation (SPEC §4).

The network is :class:`graphon_ops.pruning.mlp.MLP` (NTK parameterisation, raw weights
:math:`\omega, \beta \sim N(0, 1)`, row scales :math:`c^l`). Its parameters are the raw weights and
biases, so the Jacobian of :math:`f` at input :math:`x` has the entries
:math:`\partial f/\partial\omega^l_{ij} = \delta^l_i(x)\,c^l_i M^l_{ij}\,a^{l-1}_j(x)` and
:math:`\partial f/\partial\beta^l_i = \sigma_b\,\delta^l_i(x)`, with :math:`\delta^l = \partial f/\partial h^l`
from one backward pass per example. Contracting exactly,

.. math::

    (J J^\top)(x, x') = \sum_{l=1}^{L+1}\Big[\sum_{i} \delta^l_i(x)\delta^l_i(x')\,(c^l_i)^2
        \sum_j M^l_{ij}\,a^{l-1}_j(x)\,a^{l-1}_j(x') + \sigma_b^2 \sum_i \delta^l_i(x)\delta^l_i(x')\Big].

As the widths grow with W-random masks, the mean over initialisations converges to the Graphon-NTK
of :func:`graphon_ops.ntk.graphon_ntk` (the pattern-averaged first layer for a fixed input dimension).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._config import get_options
from ._validation import as_float_array, as_mask, check_memory, check_positive_int

__all__ = ["empirical_ntk"]


def empirical_ntk(X, masks, *, activation="relu", sigma_w: float = 1.0, sigma_b: float = 0.0,
                  normalization: str = "none", seed=None, memory_budget: int | None = None) -> np.ndarray:
    r"""Empirical NTK :math:`J J^\top` (N x N) of a masked MLP drawn with ``seed``.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs.
    masks : sequence of 0/1 arrays
        The hidden layers' masks :math:`M^1, \dots, M^L` (shapes ``(n_l, n_{l-1})`` with
        ``n_0 = d``), optionally followed by the readout's ``(1, n_L)`` mask (default all ones).
    activation, sigma_w, sigma_b, normalization
        As in :class:`graphon_ops.pruning.mlp.MLP` and :func:`graphon_ops.ntk.graphon_ntk`.
    seed : None, int or Generator
        Draw of the raw weights and biases.
    memory_budget : int, optional
        Bytes for the per-example gradient chunks (default ``options().memory_budget_bytes``).

    Returns
    -------
    ndarray, shape (N, N)
        :math:`\Theta_{\mathrm{emp}}(x_a, x_b) = \sum_\theta \partial_\theta f(x_a)\,\partial_\theta f(x_b)`.

    Notes
    -----
    Each layer's term is the Gram matrix of the per-example gradients restricted to the kept
    weights, :math:`R_{a,(ij)} = \delta^l_i(x_a) c^l_i a^{l-1}_j(x_a)` for :math:`M^l_{ij} = 1`, computed in
    chunks of kept weights (``N x chunk`` arrays, one BLAS product each): :math:`O(N^2 \cdot \mathrm{nnz})` work.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(2)
    >>> theta = empirical_ntk(X, [np.ones((8, 2))], activation="identity", seed=0)
    >>> theta.shape, bool(np.allclose(theta, theta.T))
    ((2, 2), True)
    """
    from .pruning.mlp import MLP

    X = as_float_array("X", X, ndim=2)
    masks = _check_masks(masks, X.shape[1])
    budget = get_options().memory_budget_bytes if memory_budget is None \
        else check_positive_int("memory_budget", memory_budget)
    widths = [X.shape[1]] + [mask.shape[0] for mask in masks]
    network = MLP(widths, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b,
                  normalization=normalization, masks=masks, seed=seed)
    _, cache = network.forward(X)
    deltas = network.backward(cache, np.ones((X.shape[0], 1)))
    n_examples = X.shape[0]
    check_memory(f"empirical_ntk (at least one kept weight per chunk for {n_examples} examples)",
                 8 * 4 * n_examples, budget)
    chunk = max(1, budget // (8 * 3 * n_examples))
    theta = network.sigma_b ** 2 * sum(delta @ delta.T for delta in deltas)
    for layer, (delta, inputs, mask) in enumerate(zip(deltas, cache.post, network.masks), start=1):
        scaled = delta * network.row_scales(layer)
        rows, cols = np.nonzero(mask)
        for start in range(0, rows.size, chunk):
            kept = slice(start, start + chunk)
            gradients = scaled[:, rows[kept]] * inputs[:, cols[kept]]
            theta += gradients @ gradients.T
    return theta


def _check_masks(masks, d: int) -> list[np.ndarray]:
    if isinstance(masks, np.ndarray) or not isinstance(masks, Sequence) or len(masks) == 0:
        raise ValueError(f"masks must be a non-empty sequence of 0/1 matrices (one per layer), got "
                         f"{type(masks).__name__}")
    checked = [as_mask(f"masks[{l}]", mask) for l, mask in enumerate(masks)]
    fan_in = d
    for l, mask in enumerate(checked):
        if mask.shape[1] != fan_in:
            raise ValueError(f"masks[{l}] must have {fan_in} columns (the width below it), got shape {mask.shape}")
        fan_in = mask.shape[0]
    if checked[-1].shape[0] != 1:
        checked.append(np.ones((1, fan_in), dtype=np.uint8))
    return checked
