r"""From a network at initialisation to its pruned form and the limit of that form.

:func:`prune_network` scores an :class:`~graphon_ops.pruning.mlp.MLP` with a criterion, prunes it and
returns a :class:`PrunedNetwork`: the pruned MLP **with the weights the criterion kept** (the network
pruning at initialisation really produces), its scores and how it was pruned.
:meth:`PrunedNetwork.limit` estimates the network's infinite-width description, a
:class:`~graphon_ops.network.GraphonNetwork` (connectivity and weight graphons per hidden layer and the
readout's weight profile), and :meth:`PrunedNetwork.empirical_ntk` gives the finite network's own NTK,
so the two kernels sit side by side:

>>> import numpy as np
>>> from graphon_ops.pruning import MLP
>>> net = MLP([4, 64, 64, 1], seed=0)
>>> pruned = prune_network(net, method="magnitude", density=0.2, scope="layerwise", seed=0)
>>> X = np.eye(4)
>>> limit = pruned.limit(blocks=4)
>>> limit.kernels(X).ntk.shape, pruned.empirical_ntk(X).shape
((4, 4), (4, 4))

One latent labelling per hidden neuron is shared by its incoming layer (as a row) and its outgoing layer
(as a column): a neuron's :math:`\Sigma^l` and :math:`\Theta^l` depend on its incoming row only, so the
recursion needs the outgoing side only through its average given that label
(``docs/theory/pruning.rst``, estimating W and M). The input coordinates are never reordered: the first
layer has one column block per coordinate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._validation import as_generator, check_choice, check_positive_int
from ..network import GraphonNetwork
from ..ntk import ReadoutProfile
from .criteria import masks_from_scores, saliency, warn_disconnected
from .mlp import MLP
from .saliency_model import estimate_layer_graphons, factorise

__all__ = ["PrunedNetwork", "prune_network", "LABELLINGS", "FIRST_LAYER_BLOCK_ROWS"]

#: Fewest neurons in a first-layer row block of :meth:`PrunedNetwork.limit`. A first-layer block is one input
#: coordinate wide, so its mean of (m ω)² averages this many entries: with 64, the relative standard
#: error of a magnitude-pruned block at density 0.2 is 1.5 / 0.65 / 8 ≈ 0.29 and a mean above 1 (clipped,
#: a downward bias) has probability about 3 %.
FIRST_LAYER_BLOCK_ROWS = 64

#: How hidden neurons get their latent order in :meth:`PrunedNetwork.limit` (see
#: :meth:`PrunedNetwork.latent_orders`): by both factors the criterion gave them (incoming row, outgoing
#: column), by the incoming row factor only, or by fan-in.
LABELLINGS = ("joint", "factors", "degree")


@dataclasses.dataclass(frozen=True)
class PrunedNetwork:
    r"""A network pruned at initialisation, with the weights the criterion kept.

    Attributes
    ----------
    network : MLP
        The pruned network: the original raw weights (kept) under the new masks (readout included).
    scores : tuple of ndarray
        The criterion's scores, one matrix per layer (readout included).
    method : str
    density : float
    scope : str
    """

    network: MLP
    scores: tuple
    method: str
    density: float
    scope: str

    def latent_orders(self, labels="joint", blocks: int = 16) -> list[np.ndarray]:
        r"""Per hidden layer, the neurons in increasing latent position (a permutation of each width).

        A hidden neuron has two factors: :math:`a_i`, fitted to the scores of the layer it receives
        from (as a row), and :math:`b_i`, fitted to the scores of the layer it sends to (as a column),
        both by :func:`~graphon_ops.pruning.factorise` with the weights (an exactly factorised score
        gives its exact factors). ``"joint"`` (default): the type is the pair; the order sorts by the
        block of :math:`a_i`'s rank (:math:`\lceil\sqrt{\text{blocks}}\rceil` blocks), then by
        :math:`b_i`, so that ``blocks`` consecutive groups are cells of the two-dimensional type (one
        latent position for the incoming and the outgoing layer, without averaging out either side's
        heterogeneity). ``"factors"``: rank of :math:`a_i` only (the outgoing heterogeneity is then
        averaged within blocks, which loses its correlation with the neuron's own activations).
        ``"degree"``: rank of the fan-in (stable). A sequence of permutations is used as given.
        Random and magnitude scores are exchangeable: their limit graphons are constant, so any order
        converges to the same limit. The fitted factors are then noise, but not independent of the masks
        at finite width: the kept weights are the largest scores, so a row with large scores keeps more
        (its factor correlates with its degree).
        """
        widths = self.network.widths[1:-1]
        if isinstance(labels, str):
            labels = check_choice("labels", labels, LABELLINGS)
            masks, weights = self.network.masks, self.network.weights
            if labels == "degree":
                return [np.argsort(mask.sum(axis=1), kind="stable") for mask in masks[:-1]]
            incoming = [factorise(self.scores[l], weights=weights[l]).row_factors for l in range(len(widths))]
            if labels == "factors":
                return [np.argsort(a, kind="stable") for a in incoming]
            groups = max(1, int(np.ceil(np.sqrt(check_positive_int("blocks", blocks)))))
            orders = []
            for l, a in enumerate(incoming):
                outgoing = factorise(self.scores[l + 1], weights=weights[l + 1]).col_factors
                rank = np.empty(a.size, dtype=np.int64)
                rank[np.argsort(a, kind="stable")] = np.arange(a.size)
                orders.append(np.lexsort((outgoing, rank * groups // a.size)))
            return orders
        if not isinstance(labels, Sequence) or len(labels) != len(widths):
            raise ValueError(f"labels must be one of {LABELLINGS} or {len(widths)} permutations (one per hidden "
                             f"layer), got {labels!r}")
        orders = []
        for l, (order, width) in enumerate(zip(labels, widths)):
            order = np.asarray(order)
            if order.shape != (width,) or not np.issubdtype(order.dtype, np.integer) \
                    or not np.array_equal(np.sort(order), np.arange(width)):
                raise ValueError(f"labels[{l}] must be a permutation of range({width}), got {order!r}")
            orders.append(order)
        return orders

    def limit(self, blocks: int = 16, *, weights: str = "kept", labels="joint") -> GraphonNetwork:
        r"""Block estimate of the network's limit: a :class:`~graphon_ops.network.GraphonNetwork`.

        Per hidden layer ``l``, with rows (and, for ``l >= 2``, columns) in the latent orders of
        :meth:`latent_orders` grouped into ``min(blocks, width)`` blocks of (nearly) equal size, and the
        first layer's columns one block per input coordinate (never reordered; its row blocks then hold
        at least :data:`FIRST_LAYER_BLOCK_ROWS` neurons, fewer blocks if need be):
        :math:`W_l` = block means of the mask and, with ``weights="kept"``, :math:`M_l` = block means of
        :math:`(m \odot \omega)^2` (raw weights :math:`\omega`), and the readout profile :math:`r` = block
        means of the squared raw readout weights. ``weights="fresh"`` describes the same masks with
        weights re-drawn after pruning (:math:`M = W`, :math:`r \equiv 1`).

        This is the limit of THIS network's masks and weights (an estimate from one draw), not a
        population limit: independent draws of the same criterion give estimates that converge to each
        other as the width grows.

        Raises
        ------
        ValueError
            If the readout was pruned (the Graphon-NTK has a dense readout).
        """
        blocks = check_positive_int("blocks", blocks)
        weights = check_choice("weights", weights, ("kept", "fresh"))
        net = self.network
        if not np.all(net.masks[-1] == 1):
            raise ValueError(f"the readout of this network is pruned ({int(net.masks[-1].sum())} of "
                             f"{net.masks[-1].size} weights kept); the Graphon-NTK has a dense readout: prune "
                             f"with prune_readout=False")
        orders = self.latent_orders(labels, blocks)
        d = net.widths[0]
        columns = [np.arange(d)] + orders[:-1]
        connectivity, moments = [], []
        for l, (mask, omega) in enumerate(zip(net.masks[:-1], net.weights[:-1])):
            if l == 0:  # one column per coordinate: a block averages its rows only, so keep them many
                shape = (min(blocks, max(1, mask.shape[0] // FIRST_LAYER_BLOCK_ROWS)), d)
            else:
                shape = (min(blocks, mask.shape[0]), min(blocks, mask.shape[1]))
            layer = estimate_layer_graphons(mask, omega, shape, row_order=orders[l], col_order=columns[l])
            connectivity.append(layer.connectivity)
            moments.append(layer.weights)
        readout: ReadoutProfile | None = None
        if weights == "kept":
            last = orders[-1]
            groups = np.array_split(last, min(blocks, last.size))
            squares = net.weights[-1][0] ** 2
            breaks = np.concatenate([[0], np.cumsum([g.size for g in groups])]) / last.size
            readout = ReadoutProfile.from_any(([squares[g].mean() for g in groups], breaks), "readout_weights")
        metadata = {"source": "pruned network", "method": self.method, "density": self.density,
                    "scope": self.scope, "widths": net.widths, "blocks": blocks, "labels":
                    labels if isinstance(labels, str) else "given", "weights": weights}
        return GraphonNetwork(tuple(connectivity), weights=tuple(moments) if weights == "kept" else None,
                              readout_weights=readout, activation=net.activation.name, sigma_w=net.sigma_w,
                              sigma_b=net.sigma_b, normalization=net.normalization, metadata=metadata)

    def empirical_ntk(self, X, *, weights: str = "kept", seed=None, memory_budget: int | None = None) -> np.ndarray:
        r"""Empirical NTK :math:`J J^\top` of the pruned network: with its kept weights (default) or with
        weights re-drawn from ``seed`` under the same masks (``weights="fresh"``); see
        :func:`graphon_ops.empirical.empirical_ntk`."""
        from ..empirical import empirical_ntk

        return empirical_ntk(X, self.network, weights=weights, seed=seed, memory_budget=memory_budget)


def prune_network(net: MLP, X=None, y=None, method: str = "snip", density: float = 0.1, *, scope: str = "global",
                  prune_readout: bool = False, loss: str = "squared", iterations: int = 1, seed=None) -> PrunedNetwork:
    r"""Prune ``net`` at initialisation with a criterion and keep the selected weights.

    Scores every weight with :func:`~graphon_ops.pruning.saliency` and prunes as
    :func:`~graphon_ops.pruning.prune_at_init` does (same arguments and warnings; the readout stays dense
    unless ``prune_readout``), and returns the pruned network with its own raw weights (the weights pruning
    selected are KEPT, as pruning at initialisation does), its scores and settings.

    Examples
    --------
    >>> from graphon_ops.pruning import MLP
    >>> pruned = prune_network(MLP([3, 8, 1], seed=0), method="magnitude", density=0.5, seed=0)
    >>> [int(m.sum()) for m in pruned.network.masks]
    [12, 8]
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an MLP, got {type(net).__name__}")
    rng = as_generator(seed)
    scores = saliency(net, X, y, method, loss=loss, density=density, iterations=iterations, scope=scope,
                      prune_readout=prune_readout, seed=rng)
    masks = masks_from_scores(scores, method, density, scope=scope, prune_readout=prune_readout, seed=rng)
    warn_disconnected(masks, stacklevel=2)
    return PrunedNetwork(net.with_masks(masks), tuple(scores), method, float(density), scope)
