r"""Empirical NTK :math:`J J^\top` of a finite masked MLP (``docs/theory/ntk.rst``, finite networks).

The network is :class:`graphon_ops.pruning.mlp.MLP` (NTK parameterisation, raw weights
:math:`\omega, \beta \sim N(0, 1)`, row scales :math:`c^l`). Its parameters are the raw weights and
biases, so the Jacobian of :math:`f` at input :math:`x` has the entries
:math:`\partial f/\partial\omega^l_{ij} = \delta^l_i(x)\,c^l_i M^l_{ij}\,a^{l-1}_j(x)` and
:math:`\partial f/\partial\beta^l_i = \sigma_b\,\delta^l_i(x)`, with :math:`\delta^l = \partial f/\partial h^l`
from one backward pass per example. Contracting exactly,

.. math::

    (J J^\top)(x, x') = \sum_{l=1}^{L+1}\Big[\sum_{i} \delta^l_i(x)\delta^l_i(x')\,(c^l_i)^2
        \sum_j M^l_{ij}\,a^{l-1}_j(x)\,a^{l-1}_j(x') + \sigma_b^2 \sum_i \delta^l_i(x)\delta^l_i(x')\Big].

The weights enter through :math:`\delta^l` and :math:`a^{l-1}`: the kernel is that of the network whose
weights are given (a pruned :class:`~graphon_ops.pruning.mlp.MLP` with the weights pruning KEPT) or of
the same masks with weights drawn afresh. As the widths grow with W-random masks and fresh weights, the
mean over initialisations converges to the Graphon-NTK of :func:`graphon_ops.ntk.graphon_ntk` (the
pattern-averaged first layer for a fixed input dimension); with kept weights, to the Graphon-NTK with
the weight graphons :math:`M_l = E[\omega^2 1\{\text{kept}\}]` (``docs/theory/ntk.rst``, kept weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._config import get_options
from ._validation import as_float_array, as_mask, check_choice, check_memory, check_nonnegative_float, \
    check_positive_int
from .activations import get_activation

__all__ = ["empirical_ntk", "WEIGHTS"]

#: Which weights :func:`empirical_ntk` uses: the network's own (``"kept"``: for a pruned network, the
#: weights pruning selected) or weights re-drawn from a seed under the same masks (``"fresh"``).
WEIGHTS = ("kept", "fresh")

# The settings of a network given as masks when the caller leaves them unset (an MLP carries its own).
_MASK_DEFAULTS = {"activation": "relu", "sigma_w": 1.0, "sigma_b": 0.0, "normalization": "none"}


def empirical_ntk(X, network, *, weights: str | None = None, activation=None, sigma_w: float | None = None,
                  sigma_b: float | None = None, normalization: str | None = None, seed=None,
                  memory_budget: int | None = None) -> np.ndarray:
    r"""Empirical NTK :math:`J J^\top` (N x N) of a masked MLP: a given network or given masks.

    Which weights:

    * ``network`` an :class:`~graphon_ops.pruning.mlp.MLP`, ``weights="kept"`` (default): the MLP's own
      raw weights and biases. For ``net.with_masks(prune_at_init(net, ...))`` these are the weights
      pruning selected, conditioned on having passed the criterion: the pruned network as pruning
      produced it.
    * ``network`` an MLP, ``weights="fresh"``: its masks and settings with raw weights and biases
      re-drawn from ``seed`` (:meth:`~graphon_ops.pruning.mlp.MLP.with_fresh_weights`).
    * ``network`` a sequence of masks: always fresh weights, drawn from ``seed`` (masks carry no weights).

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs.
    network : MLP or sequence of 0/1 arrays
        An MLP with one output, or the hidden layers' masks :math:`M^1, \dots, M^L` (shapes
        ``(n_l, n_{l-1})`` with ``n_0 = d``), optionally followed by the readout's ``(1, n_L)`` mask
        (default all ones).
    weights : {"kept", "fresh"}, optional
        Default ``"kept"`` for an MLP and ``"fresh"`` for masks (the only choice there).
    activation, sigma_w, sigma_b, normalization : optional
        As in :class:`graphon_ops.pruning.mlp.MLP` and :func:`graphon_ops.ntk.graphon_ntk`. For masks
        they default to ``"relu"``, 1.0, 0.0 and ``"none"``. An MLP carries its own: leave them unset
        (a value that differs from the MLP's is an error).
    seed : None, int or Generator
        Draw of the fresh raw weights and biases (the same draws for masks and for an MLP with those
        masks and ``readout_init="random"``). Not used with kept weights, where passing one is an error.
    memory_budget : int, optional
        Bytes for the per-example gradient chunks (default: what ``options().memory_budget_bytes`` leaves
        after the result and the passes' buffers, which are checked against that budget first).

    Returns
    -------
    ndarray, shape (N, N)
        :math:`\Theta_{\mathrm{emp}}(x_a, x_b) = \sum_\theta \partial_\theta f(x_a)\,\partial_\theta f(x_b)`
        over all raw weights (kept positions) and biases, at the weights chosen above.

    Raises
    ------
    ValueError
        For masks that do not chain (naming the layer), ``weights="kept"`` with masks, a ``seed`` with
        kept weights, an MLP with more than one output, or a setting that differs from the MLP's. For
        more rows of ``X`` than the memory budget allows: the result is three N x N float64 arrays, and
        the passes' buffers, N x (n_1 + ... + 1) each, come on top (refused before any of them is made).

    Notes
    -----
    Each layer's term is the Gram matrix of the per-example gradients restricted to the kept
    weights, :math:`R_{a,(ij)} = \delta^l_i(x_a) c^l_i a^{l-1}_j(x_a)` for :math:`M^l_{ij} = 1`, computed in
    chunks of kept weights (``N x chunk`` arrays, one BLAS product each): :math:`O(N^2 \cdot \mathrm{nnz})` work.

    Examples
    --------
    Magnitude pruning of a ReLU layer of width 4096 (keep :math:`|\omega| > \tau = 1.2816`, density
    :math:`\rho \approx 0.2`): the kept weights have second moment :math:`M/\rho = 3.25` (fresh: 1). On
    the diagonal the kernel's mean over networks is then :math:`(M + \rho)/(2\rho) = 2.12` times the fresh
    one (readout term :math:`\propto M`, first-layer term :math:`\propto \rho`); one network is within a
    few percent of that.

    >>> import numpy as np
    >>> from graphon_ops.pruning import MLP
    >>> net = MLP([2, 4096, 1], seed=0)
    >>> pruned = net.with_masks([np.abs(net.weights[0]) > 1.2816, np.ones((1, 4096))])
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> kept = empirical_ntk(X, pruned)                             # the weights pruning kept
    >>> fresh = empirical_ntk(X, pruned, weights="fresh", seed=1)   # same masks, weights re-drawn
    >>> print(np.array2string(kept, precision=3), np.array2string(fresh, precision=3))
    [[0.219 0.128]
     [0.128 0.211]] [[0.1   0.059]
     [0.059 0.1  ]]
    >>> print(f"trace ratio kept/fresh {np.trace(kept) / np.trace(fresh):.2f}")
    trace ratio kept/fresh 2.15
    >>> again = empirical_ntk(X, pruned.masks, seed=1)             # masks: fresh weights from the seed
    >>> bool(np.array_equal(fresh, again)), int(pruned.masks[0].sum()), pruned.masks[0].size  # identical; kept of all
    (True, 1629, 8192)
    """
    X = as_float_array("X", X, ndim=2)
    if memory_budget is not None:
        memory_budget = check_positive_int("memory_budget", memory_budget)
    n_examples = X.shape[0]
    # the kernel, one layer's Gram product and the sum's temporary (3 N x N float64), checked before the
    # network is drawn
    result_bytes = 8.0 * 3 * n_examples ** 2
    check_memory(f"empirical_ntk's result for the {n_examples} rows of X (3 arrays of {n_examples} x "
                 f"{n_examples} float64: the kernel, a layer's Gram product and a temporary; use fewer rows)",
                 result_bytes)
    settings = {"activation": activation, "sigma_w": sigma_w, "sigma_b": sigma_b, "normalization": normalization}
    net = _network_with_weights(network, X.shape[1], weights, settings, seed)
    # held through the chunk loop: the forward cache and the deltas (4 N x (n_1 + ... + 1) arrays with their
    # temporaries, 2 weight copies while they are made) and the kept weights' row and column indices of a layer
    held = result_bytes + net._pass_bytes(n_examples, 2, 4) + 16.0 * max(int(np.count_nonzero(mask))
                                                                            for mask in net.masks)
    # four N x chunk arrays at once: two gathered factors, their product and the previous chunk's product
    one_weight = 8 * 4 * n_examples
    check_memory(f"empirical_ntk for the {n_examples} rows of X (the result, the forward and backward passes' "
                 f"{n_examples} x {sum(net.widths[1:])} arrays, the kept weights' indices"
                 + (" and a chunk of one kept weight)" if memory_budget is None else ")"),
                 held + (one_weight if memory_budget is None else 0))
    if memory_budget is not None:
        check_memory(f"empirical_ntk (at least one kept weight per chunk for {n_examples} examples)", one_weight,
                     memory_budget)
    # per-example gradient chunks: what the budget leaves (or memory_budget, when given)
    budget = int(get_options().memory_budget_bytes - held) if memory_budget is None else memory_budget
    _, cache = net.forward(X)
    deltas = net.backward(cache, np.ones((X.shape[0], 1)))
    chunk = max(1, budget // one_weight)
    # overflow (sigma_b**2 of 1e300 is an OverflowError for a Python float) is reported once, below
    with np.errstate(over="ignore", invalid="ignore"):
        theta = np.float64(net.sigma_b) ** 2 * sum(delta @ delta.T for delta in deltas)
        for layer, (delta, inputs, mask) in enumerate(zip(deltas, cache.post, net.masks), start=1):
            scaled = delta * net.row_scales(layer)
            rows, cols = np.nonzero(mask)
            for start in range(0, rows.size, chunk):
                kept = slice(start, start + chunk)
                gradients = scaled[:, rows[kept]] * inputs[:, cols[kept]]
                theta += gradients @ gradients.T
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"empirical_ntk overflowed float64 (inf or NaN) with inputs up to |x| = "
                         f"{float(np.abs(X).max()):.3g}, sigma_w = {net.sigma_w!r}, sigma_b = {net.sigma_b!r}; "
                         f"rescale the inputs or sigma_w, sigma_b")
    return theta


def _network_with_weights(network, d: int, weights, settings: dict, seed):
    """The MLP whose J J^T is wanted: the given one (kept or fresh weights) or one drawn on given masks."""
    from .pruning.mlp import MLP

    if isinstance(network, MLP):
        weights = check_choice("weights", "kept" if weights is None else weights, WEIGHTS)
        if network.widths[-1] != 1:
            raise ValueError(f"network must have a single output (J J^T of a scalar f), got widths "
                             f"{list(network.widths)}")
        _check_settings_match(network, settings)
        if weights == "fresh":
            return network.with_fresh_weights(seed)
        if seed is not None:
            raise ValueError(f"seed has no effect with weights='kept' (the MLP's own weights are used), got "
                             f"{seed!r}; pass weights='fresh' to re-draw them from the seed")
        return network
    weights = check_choice("weights", "fresh" if weights is None else weights, WEIGHTS)
    if weights == "kept":
        raise ValueError("weights='kept' needs the pruned network itself: masks carry no weights; pass the "
                         "pruned MLP (e.g. net.with_masks(masks)) as network")
    masks = _check_masks(network, d)
    chosen: dict[str, Any] = {name: _MASK_DEFAULTS[name] if value is None else value
                              for name, value in settings.items()}
    return MLP([d] + [mask.shape[0] for mask in masks], masks=masks, seed=seed, **chosen)


def _check_settings_match(net, settings: dict) -> None:
    """Raise if a setting the caller passed differs from the one the MLP carries."""
    for name, value in settings.items():
        if value is None:
            continue
        own = getattr(net, name)
        if name == "activation":
            same, own_shown = get_activation(value) == own, own.name
        elif name == "normalization":
            same, own_shown = value == own, own
        else:
            same, own_shown = check_nonnegative_float(name, value) == own, own
        if not same:
            raise ValueError(f"{name}={value!r} differs from the network's {name} {own_shown!r}; an MLP carries "
                             f"its own {name} (leave the argument unset)")


def _check_masks(masks, d: int) -> list[np.ndarray]:
    if isinstance(masks, np.ndarray) or not isinstance(masks, Sequence) or len(masks) == 0:
        raise ValueError(f"network must be an MLP or a non-empty sequence of 0/1 matrices (one per layer), got "
                         f"{type(masks).__name__}")
    checked = [as_mask(f"masks[{l}]", mask) for l, mask in enumerate(masks)]
    fan_in = d
    for l, mask in enumerate(checked):
        if mask.shape[1] != fan_in:
            below = "the input dimension d of X" if l == 0 else f"the width of layer {l} below it"
            raise ValueError(f"masks[{l}] must have {fan_in} columns ({below}), got shape {mask.shape}")
        fan_in = mask.shape[0]
    if checked[-1].shape[0] != 1:
        checked.append(np.ones((1, fan_in), dtype=np.uint8))
    return checked
