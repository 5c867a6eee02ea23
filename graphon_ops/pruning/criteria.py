r"""Pruning-at-initialisation criteria and exact-count masks (docs/theory/pruning.rst).

Every criterion scores every weight of every layer (readout included); scores have the shape of the
layer's weight matrix (rows = outputs, columns = inputs). With :math:`\theta^l = c^l \odot \omega^l` the
weights as a standard-parameterised network holds them and :math:`w = M \odot \theta` the effective
weights (see :mod:`graphon_ops.pruning.mlp`):

=================  ==================================================================  ========
method             score :math:`s_{ij}`                                                 kept
=================  ==================================================================  ========
random             iid :math:`U(0, 1)`                                                  largest
magnitude          :math:`|\theta_{ij}|`                                                largest
snip               :math:`|\theta_{ij}\,\partial L/\partial w_{ij}|`                    largest
grasp              :math:`-\theta_{ij}\,(H g)_{ij}`, :math:`g = \nabla_w L`                smallest
grasp_magnitude    :math:`|\theta_{ij}\,(H g)_{ij}|`                                    largest
synflow            :math:`|w_{ij}|\,B_i\,F_j` (:math:`R = 1^\top \prod_l |w^l|\, 1`)     largest
=================  ==================================================================  ========

:data:`KEEP` records the last column; :func:`prune_at_init` applies it.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import (as_float_array, as_generator, check_choice, check_density, check_flag,
                           check_positive_int)
from .mlp import LOSSES, MLP

__all__ = ["METHODS", "KEEP", "saliency", "prune", "prune_at_init", "prune_scores", "kept_count",
           "synflow_path_sums"]

METHODS = ("random", "magnitude", "snip", "grasp", "grasp_magnitude", "synflow")

#: Largest ``iterations * (weights + 2000)`` of an iterated SynFlow (:func:`saliency`): each round scores and
#: prunes every weight, measured at 100 to 120 ns a weight and round (widths [100, 1000, 1000, 1], 1 to 20
#: rounds), plus about 200 us a round whatever the size (widths [2, 3, 3, 1]: the cost of 2000 weights). 2**33
#: is then about 17 minutes: 100 rounds (Tanaka et al. 2020) of networks up to 86 million weights. Beyond, a
#: mistyped count (10**9 rounds) would run for days instead of being refused.
MAX_SYNFLOW_WORK = 2**33
_SYNFLOW_SECONDS_PER_WEIGHT = 1.2e-7
_SYNFLOW_ROUND_WEIGHTS = 2000

#: Which scores a criterion keeps: GraSP removes the weights with the highest scores.
KEEP = {"random": "largest", "magnitude": "largest", "snip": "largest", "grasp": "smallest",
        "grasp_magnitude": "largest", "synflow": "largest"}


def synflow_path_sums(weights) -> tuple[list, list]:
    r"""Forward and backward path sums of the absolute weights.

    :math:`F^0 = 1`, :math:`F^l = |w^l| F^{l-1}`; :math:`B^{L+1} = 1`, :math:`B^{l} = |w^{l+1}|^\top B^{l+1}`.
    SynFlow's score is :math:`|w^l_{ij}|\,B^l_i\,F^{l-1}_j` (Tanaka et al. 2020): :math:`w\,\partial R/\partial w`
    for :math:`R = 1^\top |w^{L+1}| \cdots |w^1| 1`.

    Returns
    -------
    forward, backward : lists
        ``forward[l]`` is :math:`F^{l}` for ``l = 0..L``; ``backward[l-1]`` is :math:`B^l` for ``l = 1..L+1``.

    Examples
    --------
    >>> F, B = synflow_path_sums([np.ones((3, 2)), np.ones((1, 3))])
    >>> F[1].tolist(), B[0].tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    """
    absolute = [np.abs(as_float_array(f"weights[{l}]", w, ndim=2)) for l, w in enumerate(weights)]
    for l in range(1, len(absolute)):
        if absolute[l].shape[1] != absolute[l - 1].shape[0]:
            raise ValueError(f"weights[{l}] has {absolute[l].shape[1]} columns but weights[{l - 1}] has "
                             f"{absolute[l - 1].shape[0]} rows")
    forward = [np.ones(absolute[0].shape[1])]
    for w in absolute[:-1]:
        forward.append(w @ forward[-1])
    backward = [np.ones(absolute[-1].shape[0])]
    for w in absolute[:0:-1]:
        backward.append(w.T @ backward[-1])
    return forward, backward[::-1]


def _synflow_scores(weights) -> list:
    forward, backward = synflow_path_sums(weights)
    return [np.abs(w) * b[:, None] * f[None, :] for w, b, f in zip(weights, backward, forward)]


def saliency(net: MLP, X=None, y=None, method: str = "snip", *, loss: str = "squared", density=None,
             iterations: int = 1, scope: str = "global", prune_readout: bool = False, seed=None) -> list:
    r"""Score every weight of ``net`` with a pruning criterion (module table).

    Parameters
    ----------
    net : MLP
        The network at initialisation (its masks are applied: pruned positions keep a score, except
        for SynFlow, whose pruned weights score 0).
    X, y : array_like
        The batch (inputs ``(N, d)`` and targets, see :meth:`MLP.loss`); needed by snip and grasp only.
    method : str
        One of :data:`METHODS`.
    loss : {"squared", "cross_entropy"}
    density : float, optional
        Final density; needed by synflow with ``iterations > 1`` for its schedule.
    iterations : int
        SynFlow rounds :math:`K`: round :math:`k` scores the current network and prunes it to density
        :math:`\rho^{k/K}` (with ``scope``); the scores of round :math:`K` are returned, so that
        ``prune(scores, density)`` gives the iterated mask. ``iterations=1`` is the one-shot form.
    scope : {"global", "layerwise"}
        Scope of SynFlow's intermediate prunes.
    prune_readout : bool
        Whether SynFlow's intermediate prunes include the readout (as in :func:`prune_at_init`).
    seed : None, int or Generator
        Random scores, and tie-breaking in SynFlow's intermediate prunes.

    Returns
    -------
    list of ndarray
        One score matrix per layer, shaped like that layer's weights.

    Examples
    --------
    >>> net = MLP([3, 4, 2], seed=0)
    >>> scores = saliency(net, method="magnitude")
    >>> print(np.round(scores[0][0], 4))        # first unit: |theta| of its three weights
    [0.0726 0.0763 0.3697]
    >>> print(f"{np.abs(scores[0] - np.abs(net.parameters()[0])).max():.15f}")
    0.000000000000000
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an MLP, got {type(net).__name__}")
    method = check_choice("method", method, METHODS)
    loss = check_choice("loss", loss, LOSSES)
    iterations = check_positive_int("iterations", iterations)
    prune_readout = check_flag("prune_readout", prune_readout)
    as_generator(seed)  # a bad seed is refused also by the criteria that draw nothing
    if iterations > 1 and method != "synflow":
        raise ValueError(f"iterations > 1 is for method='synflow' only, got iterations={iterations} with "
                         f"method={method!r}")
    n_weights = sum(w.size for w in net.weights)
    work = float(iterations) * (n_weights + _SYNFLOW_ROUND_WEIGHTS)
    if work > MAX_SYNFLOW_WORK:
        raise ValueError(f"iterations={iterations} SynFlow rounds of the network's {n_weights} weights would take "
                         f"about {work * _SYNFLOW_SECONDS_PER_WEIGHT:.3g} s (over MAX_SYNFLOW_WORK = 2**33 "
                         f"weight-rounds, about {MAX_SYNFLOW_WORK * _SYNFLOW_SECONDS_PER_WEIGHT / 60:.0f} minutes); "
                         f"use fewer rounds (Tanaka et al. 2020 use 100)")
    if method == "random":
        rng = as_generator(seed)
        return [rng.random(w.shape) for w in net.weights]
    theta = net.parameters()
    if method == "magnitude":
        return [np.abs(t) for t in theta]
    if method == "synflow":
        return _iterated_synflow(net, theta, density, iterations, scope, prune_readout, seed)
    if X is None or y is None:
        raise ValueError(f"method={method!r} needs a batch: pass X and y")
    if method == "snip":
        return [np.abs(t * g) for t, g in zip(theta, net.gradient(X, y, loss=loss))]
    hessian_gradient = net.hessian_vector_product(X, y, loss=loss)
    if method == "grasp":
        return [-t * hg for t, hg in zip(theta, hessian_gradient)]
    return [np.abs(t * hg) for t, hg in zip(theta, hessian_gradient)]


def _iterated_synflow(net, theta, density, iterations, scope, prune_readout, seed):
    if iterations > 1 and density is None:
        raise ValueError("method='synflow' with iterations > 1 needs the final density for its schedule")
    masks = [m.astype(np.float64) for m in net.masks]
    rng = as_generator(seed)
    for k in range(1, iterations + 1):
        scores = _synflow_scores([t * m for t, m in zip(theta, masks)])
        if k < iterations:
            masks = masks_from_scores(scores, "synflow", density ** (k / iterations), scope=scope,
                                      prune_readout=prune_readout, seed=rng)
    return scores


def _as_score_list(scores) -> list:
    if isinstance(scores, np.ndarray) and scores.ndim == 2:
        scores = [scores]
    if isinstance(scores, np.ndarray) or not isinstance(scores, (list, tuple)) or not scores:
        raise ValueError(f"scores must be a non-empty list of 2-D arrays (one per layer), got "
                         f"{type(scores).__name__}")
    out = []
    for l, s in enumerate(scores):
        try:
            raw = np.asarray(s)
        except (TypeError, ValueError, OverflowError) as exc:  # ragged nesting, 10**400
            raise ValueError(f"scores[{l}] must be a real numeric array, got {type(s).__name__}: {exc}") from None
        # bool, integers, floats; not complex (numpy would drop the imaginary part), strings or objects
        if raw.dtype.kind not in "biuf":
            raise ValueError(f"scores[{l}] must be a real numeric array, got dtype {raw.dtype}")
        s = raw.astype(np.float64)
        if s.ndim != 2 or s.size == 0:
            raise ValueError(f"scores[{l}] must be a non-empty 2-D array, got shape {s.shape}")
        if np.isnan(s).any():
            idx = tuple(int(i) for i in np.argwhere(np.isnan(s))[0])
            raise ValueError(f"scores[{l}] must not contain NaN; entry {idx} is nan")
        out.append(s)
    return out


def kept_count(size: int, density: float) -> int:
    """Number of weights a prune to ``density`` keeps out of ``size``: ``round(density * size)``, at least 1."""
    return int(min(size, max(1, round(density * size))))


def _top_k(values: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the k largest entries of a 1-D array; ties at the threshold drawn at random."""
    selected = np.zeros(values.size, dtype=bool)
    if k == values.size:
        selected[:] = True
        return selected
    threshold = np.partition(values, values.size - k)[values.size - k]
    above = values > threshold
    selected[above] = True
    tied = np.flatnonzero(values == threshold)
    selected[rng.choice(tied, size=k - int(above.sum()), replace=False)] = True
    return selected


def prune(scores, density: float, *, scope: str = "global", keep: str = "largest", seed=None) -> list:
    r"""0/1 masks keeping exactly ``round(density * count)`` weights with the best scores.

    Parameters
    ----------
    scores : list of array_like
        One score matrix per layer (a single 2-D array is one layer).
    density : float in (0, 1]
        Fraction :math:`\rho` of weights kept: of all layers together (``scope="global"``: one threshold
        across layers) or of each layer (``"layerwise"``). The count is ``round(rho * count)``, at
        least 1.
    scope : {"global", "layerwise"}
    keep : {"largest", "smallest"}
        Keep the highest or the lowest scores (GraSP keeps the lowest; see :data:`KEEP`).
    seed : None, int or Generator
        Breaks ties at the threshold uniformly at random.

    Returns
    -------
    list of ndarray (uint8)
        Masks shaped like the scores.

    Examples
    --------
    >>> masks = prune([np.array([[3.0, 1.0], [2.0, 2.0]])], 0.5, seed=0)
    >>> int(masks[0].sum()), int(masks[0][0, 0])
    (2, 1)
    """
    scores = _as_score_list(scores)
    density = check_density("density", density)
    scope = check_choice("scope", scope, ("global", "layerwise"))
    keep = check_choice("keep", keep, ("largest", "smallest"))
    rng = as_generator(seed)
    sign = 1.0 if keep == "largest" else -1.0
    if scope == "layerwise":
        return [_top_k(sign * s.ravel(), kept_count(s.size, density), rng).reshape(s.shape).astype(np.uint8)
                for s in scores]
    flat = np.concatenate([sign * s.ravel() for s in scores])
    selected = _top_k(flat, kept_count(flat.size, density), rng)
    bounds = np.cumsum([0] + [s.size for s in scores])
    return [selected[a:b].reshape(s.shape).astype(np.uint8) for a, b, s in zip(bounds[:-1], bounds[1:], scores)]


def prune_at_init(net: MLP, X=None, y=None, method: str = "snip", density: float = 0.1, *,
                  scope: str = "global", prune_readout: bool = False, loss: str = "squared", iterations: int = 1,
                  seed=None) -> list:
    r"""Score ``net`` with ``method`` and prune to ``density``, keeping the side :data:`KEEP` says.

    The kept count is :math:`\mathrm{round}(\rho N)` (at least 1) of the :math:`N` weights pruned: those of
    the hidden layers together (``scope="global"``, one threshold) or of each hidden layer
    (``"layerwise"``); with ``prune_readout=True`` the readout layer is pruned like the others.

    Parameters
    ----------
    net : MLP
        The network at initialisation.
    X, y : array_like, optional
        The batch, for the data-dependent criteria (snip, grasp, grasp_magnitude); see :func:`saliency`.
    method : str
        One of :data:`METHODS`.
    density : float in (0, 1]
        Fraction :math:`\rho` of the pruned layers' weights kept.
    scope : {"global", "layerwise"}
    prune_readout : bool
        ``False`` (default): the readout layer (the last score matrix) is not pruned, the theory's dense
        readout: it takes no part in the threshold and its mask is all ones. ``True``: it is pruned like
        the hidden layers (the behaviour of :func:`prune` on every layer's scores).
    loss, iterations
        As in :func:`saliency`.
    seed : None, int or Generator
        Random scores and tie-breaking.

    Returns
    -------
    list of ndarray (uint8)
        One mask per layer, shaped like its weights.

    Warns
    -----
    UserWarning
        When a layer keeps no weight, or neurons are left without any incoming (or, for hidden
        neurons, outgoing) connection, with the counts, e.g. "layer 2 keeps 0 of 256 weights; 13 of 64
        neurons of layer 1 have no incoming connection".

    Notes
    -----
    The returned masks include the readout's (all ones unless ``prune_readout``). The kept weights are
    the network's own, not re-drawn: ``net.with_masks(masks)`` is the pruned network with its selected
    weights kept, whose second moments :func:`~graphon_ops.pruning.estimate_layer_graphons` measures and
    :func:`~graphon_ops.pruning.limit_graphon` (``moment="second"``) predicts (docs/theory/pruning.rst);
    :meth:`MLP.with_fresh_weights` re-draws them. :func:`~graphon_ops.pruning.prune_network` prunes and
    labels the neurons in one call.

    Examples
    --------
    >>> net = MLP([4, 8, 1], seed=0)
    >>> masks = prune_at_init(net, method="magnitude", density=0.5, seed=0)
    >>> [int(m.sum()) for m in masks]  # round(0.5 * 32) hidden weights; the readout's 8 stay
    [16, 8]
    """
    density = check_density("density", density)
    scope = check_choice("scope", scope, ("global", "layerwise"))
    prune_readout = check_flag("prune_readout", prune_readout)
    rng = as_generator(seed)
    scores = saliency(net, X, y, method, loss=loss, density=density, iterations=iterations, scope=scope,
                      prune_readout=prune_readout, seed=rng)
    masks = masks_from_scores(scores, method, density, scope=scope, prune_readout=prune_readout, seed=rng)
    warn_disconnected(masks, stacklevel=2)
    return masks


def prune_scores(scores, method: str, density: float, *, scope: str = "global", prune_readout: bool = False,
                 seed=None) -> list:
    """Masks from a criterion's scores (one matrix per layer, the readout's last), as :func:`prune_at_init`
    makes them: the side :data:`KEEP` says, the readout dense unless ``prune_readout``, warnings for
    layers and neurons left without connections.

    Examples
    --------
    >>> masks = prune_scores([np.array([[3.0, 1.0], [2.0, 0.5]]), np.ones((1, 2))], "magnitude", 0.5, seed=0)
    >>> [m.tolist() for m in masks]
    [[[1, 0], [1, 0]], [[1, 1]]]
    """
    masks = masks_from_scores(scores, method, density, scope=scope, prune_readout=prune_readout, seed=seed)
    warn_disconnected(masks, stacklevel=2)
    return masks


def masks_from_scores(scores, method, density, *, scope, prune_readout, seed) -> list:
    """:func:`prune_scores` without the warnings (for callers that emit them at their own stack level)."""
    method = check_choice("method", method, METHODS)
    scores = _as_score_list(scores)
    prune_readout = check_flag("prune_readout", prune_readout)
    pruned = scores if prune_readout else scores[:-1]
    if not pruned:
        raise ValueError("a network without hidden layers has only its readout to prune: pass prune_readout=True")
    masks = prune(pruned, density, scope=scope, keep=KEEP[method], seed=seed)
    if not prune_readout:
        masks.append(np.ones(scores[-1].shape, dtype=np.uint8))
    return masks


def warn_disconnected(masks, stacklevel: int = 2) -> None:
    """Warn (with counts) about layers that keep no weight and neurons without incoming or outgoing
    connections; ``stacklevel`` as in :func:`warnings.warn`, counted from the caller."""
    problems = []
    for l, mask in enumerate(masks, start=1):
        if not mask.any():
            problems.append(f"layer {l} keeps 0 of {mask.size} weights")
        else:
            no_input = int(np.sum(~mask.any(axis=1)))
            if no_input:
                problems.append(f"{no_input} of {mask.shape[0]} neurons of layer {l} have no incoming connection")
        if l < len(masks) and masks[l].any():  # an empty next layer is reported as such
            no_output = int(np.sum(~masks[l].any(axis=0)))
            if no_output:
                problems.append(f"{no_output} of {mask.shape[0]} neurons of layer {l} have no outgoing connection")
    if problems:
        warnings.warn("pruning left parts of the network disconnected: " + "; ".join(problems),
                      stacklevel=stacklevel + 1)
