r"""The infinite-width limit of a sparse MLP as one value: :class:`GraphonNetwork`.

A sparse MLP with input dimension :math:`d`, hidden layers :math:`l = 1..L` and a dense readout is
described in the limit by, per hidden layer, its connectivity graphon :math:`W_l(u, v)` (the limit of
the mask) and its weight graphon :math:`M_l(u, v) = E[\theta^2 1\{\text{kept}\}]` (the limit of the
block averages of the squared kept raw weights; :math:`M_l = W_l` when the weights are re-drawn after
pruning), the readout's weight profile :math:`r(u) = E[v^2 \mid u]`, the activation and the scales
:math:`\sigma_w, \sigma_b` with a normalisation. :meth:`GraphonNetwork.kernels` hands all of it to
:func:`graphon_ops.ntk.graphon_ntk`; the derivation is in ``docs/theory/ntk.rst`` (kept weights).

Like neural-tangents' ``kernel_fn``, the value is built once and evaluated on any inputs. It is
estimated from a finite pruned network by :meth:`graphon_ops.pruning.PrunedNetwork.limit`, or built by
hand from analytic graphons (e.g. :func:`graphon_ops.pruning.limit_graphon` with ``moment="first"``
and ``"second"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from ._validation import check_choice, check_nonnegative_float
from .activations import get_activation
from .graphon import Graphon, graphon
from .ntk import NORMALIZATIONS, GraphonNTKResult, ReadoutProfile, graphon_ntk

__all__ = ["GraphonNetwork"]


@dataclasses.dataclass(frozen=True)
class GraphonNetwork:
    r"""Connectivity and weight graphons of every hidden layer, with the network's activation and scales.

    Parameters
    ----------
    connectivity : sequence of Graphon (or anything :func:`~graphon_ops.graphon` accepts)
        :math:`W_1, \dots, W_L`; :math:`W_1`'s columns are the input coordinates (coordinate ``j`` at
        :math:`(j - 1/2)/d`).
    weights : sequence or None
        ``None``: fresh weights (re-drawn after pruning, :math:`M_l = W_l`). Otherwise one weight graphon
        :math:`M_l` per hidden layer (``None`` entries: that layer's weights are fresh): the weights kept
        by pruning.
    readout_weights : ReadoutProfile or anything :meth:`~graphon_ops.ntk.ReadoutProfile.from_any` takes, optional
        The readout's weight profile :math:`r(u) = E[v^2 \mid u] \ge 0` (mean 1 over :math:`u`; above 1
        where the latent position selects large outgoing weights); ``None``: :math:`r \equiv 1`.
    activation, sigma_w, sigma_b, normalization
        As in :func:`~graphon_ops.ntk.graphon_ntk`.
    metadata : mapping
        Where the value comes from (e.g. the criterion, the width, the labelling).

    Examples
    --------
    Magnitude pruning of the second hidden layer at density 0.2, weights kept (second moment
    0.6498 of the raw weights' 1), next to the same mask with re-drawn weights:

    >>> import numpy as np
    >>> kept = GraphonNetwork([1.0, 0.2], weights=[None, 0.6498203], sigma_w=np.sqrt(2))
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> ratio = kept.kernels(X).ntk / kept.with_fresh_weights().kernels(X).ntk
    >>> kept.weights_kind, np.round(ratio, 3).tolist()
    ('kept', [[2.499, 2.522], [2.522, 2.499]])
    """

    connectivity: tuple
    weights: tuple | None = None
    readout_weights: ReadoutProfile | None = None
    activation: str = "relu"
    sigma_w: float = 1.0
    sigma_b: float = 0.0
    normalization: str = "none"
    metadata: Mapping = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self):
        layers = _as_graphons("connectivity", self.connectivity)
        object.__setattr__(self, "connectivity", tuple(layers))
        if self.weights is not None:
            if isinstance(self.weights, (str, bytes, Graphon)) or not isinstance(self.weights, Iterable):
                raise ValueError(f"weights must be a sequence of {len(layers)} weight graphons (or None entries) or "
                                 f"None (fresh weights), got {type(self.weights).__name__}")
            weights = list(self.weights)
            if len(weights) != len(layers):
                raise ValueError(f"weights must hold {len(layers)} weight graphons (one per hidden layer) or be "
                                 f"None (fresh weights), got {len(weights)}")
            object.__setattr__(self, "weights", tuple(
                None if M is None else _as_graphons(f"weights[{l}]", [M])[0] for l, M in enumerate(weights)))
        if self.readout_weights is not None:
            object.__setattr__(self, "readout_weights", ReadoutProfile.from_any(self.readout_weights, "readout_weights"))
        # an Activation is kept as given; anything else is checked here, not when kernels are first asked for
        activation = get_activation(self.activation)
        object.__setattr__(self, "activation", activation.name if isinstance(self.activation, str) else self.activation)
        object.__setattr__(self, "sigma_w", check_nonnegative_float("sigma_w", self.sigma_w))
        object.__setattr__(self, "sigma_b", check_nonnegative_float("sigma_b", self.sigma_b))
        check_choice("normalization", self.normalization, NORMALIZATIONS)

    @property
    def depth(self) -> int:
        """Number of hidden layers :math:`L`."""
        return len(self.connectivity)

    @property
    def weights_kind(self) -> str:
        """``"kept"`` when any weight graphon or readout profile is given, else ``"fresh"``."""
        fresh = self.readout_weights is None and (self.weights is None or all(M is None for M in self.weights))
        return "fresh" if fresh else "kept"

    def with_fresh_weights(self) -> "GraphonNetwork":
        """The same masks with weights re-drawn after pruning (:math:`M_l = W_l`, :math:`r \\equiv 1`)."""
        return dataclasses.replace(self, weights=None, readout_weights=None)

    def replace(self, **changes) -> "GraphonNetwork":
        """A copy with fields replaced (values are immutable)."""
        return dataclasses.replace(self, **changes)

    def kernels(self, X, X2=None, **options) -> GraphonNTKResult:
        r"""NNGP and NTK of the network on inputs ``X`` (and ``X2``): :func:`~graphon_ops.ntk.graphon_ntk` with
        this network's graphons, activation and scales; ``options`` are its numerical keywords
        (``rule``, ``first_layer``, ``backend``, ``max_patterns``, ``seed``, ...)."""
        fixed = {"weight_graphons", "activation", "sigma_w", "sigma_b", "normalization"} & set(options)
        if fixed:
            raise ValueError(f"{sorted(fixed)[0]} is part of the network; use .replace({sorted(fixed)[0]}=...)")
        weight_graphons = None
        if self.weights_kind == "kept":
            weight_graphons = list(self.weights or [None] * self.depth) + [self.readout_weights]
        return graphon_ntk(X, list(self.connectivity), weight_graphons=weight_graphons, activation=self.activation,
                           sigma_w=self.sigma_w, sigma_b=self.sigma_b, normalization=self.normalization, X2=X2,
                           **options)


def _as_graphons(name: str, entries) -> list[Graphon]:
    if isinstance(entries, Graphon):
        entries = [entries]
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence) or len(entries) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of graphons, got {type(entries).__name__}")
    out = []
    for l, obj in enumerate(entries):
        try:
            out.append(graphon(obj))
        except ValueError as exc:
            raise ValueError(f"{name}[{l}]: {exc}") from None
    return out
