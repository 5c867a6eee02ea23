r"""Path densities of stacked layer graphons and path counts of stacked masks (docs/theory/paths_alignment.rst).

For layer graphons :math:`W_1, \dots, W_L` (layer :math:`l` maps latent positions :math:`u_{l-1}` of
layer :math:`l-1` to :math:`u_l`), the **path density** is the kernel of the composed operator
:math:`T_{W_L} \cdots T_{W_1}`:

.. math::

    P(u_L, u_0) = \int W_L(u_L, u_{L-1}) \cdots W_1(u_1, u_0)\, du_1 \cdots du_{L-1},

the limiting fraction of input--output paths that survive the masks. Its discrete analogue for masks
:math:`M^1, \dots, M^L` is :math:`(M^L \cdots M^1)_{ij} / (n_{L-1} \cdots n_1)`. The **input path mass**
:math:`\pi(v) = \int P(u, v)\, du` says how much of the network reaches input position :math:`v`; for
an input of dimension :math:`d`, coordinate :math:`j` sits at :math:`v_j = (j - 1/2)/d` (docs/theory/ntk.rst).

With the identity activation and no bias the NNGP and NTK of the sparse network are
path-mass-weighted inner products of the inputs; see ``docs/theory/paths_alignment.rst``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from ._validation import as_mask, check_flag, check_memory, check_positive_int
from .graphon import DEFAULT_NODES_PER_PIECE, Graphon, graphon
from .operator import GraphonOperator, discretize
from .quadrature import QuadratureRule, composite, midpoint

__all__ = ["path_density", "input_path_mass", "path_counts"]


def _as_graphons(graphons) -> list[Graphon]:
    if isinstance(graphons, (Graphon, str, bytes)) or not isinstance(graphons, Sequence):
        raise ValueError(f"graphons must be a non-empty sequence of layer graphons [W_1, ..., W_L], "
                         f"got {type(graphons).__name__}")
    if len(graphons) == 0:
        raise ValueError("graphons must be a non-empty sequence of layer graphons, got an empty sequence")
    return [graphon(W) for W in graphons]


def _default_rule(breaks: np.ndarray, exact_steps: bool) -> QuadratureRule:
    """One midpoint node per piece when every graphon touching the variable is piecewise constant
    (exact); composite Gauss--Legendre on the pieces otherwise."""
    if exact_steps:
        return composite("midpoint", 1, breaks)
    return composite("gauss_legendre", DEFAULT_NODES_PER_PIECE, breaks)


def _latent_rules(graphons: list[Graphon], rule) -> list[QuadratureRule]:
    """Rules for the latent variables :math:`u_0, \\dots, u_L` (``rules[l]`` is the grid of layer l)."""
    L = len(graphons)
    if isinstance(rule, QuadratureRule):
        return [rule] * (L + 1)
    if rule is None:
        rule = [None] * (L + 1)
    if not (isinstance(rule, Sequence) and len(rule) == L + 1
            and all(r is None or isinstance(r, QuadratureRule) for r in rule)):
        raise ValueError(f"rule must be a QuadratureRule or a sequence of {L + 1} QuadratureRules or None (one "
                         f"per latent variable u_0, ..., u_L), got {rule!r}")
    rules = []
    for l, given in enumerate(rule):
        if given is None:
            # u_l is the row variable of W_l and the column variable of W_{l+1}
            touching = ([(graphons[l - 1], graphons[l - 1].row_breaks)] if l >= 1 else []) + \
                       ([(graphons[l], graphons[l].col_breaks)] if l < L else [])
            breaks = functools.reduce(np.union1d, [b for _, b in touching])
            given = _default_rule(breaks, all(W.kind in ("step", "constant") for W, _ in touching))
        rules.append(given)
    return rules


def path_density(graphons, rule=None) -> GraphonOperator:
    r"""The path density :math:`P = W_L \circ \cdots \circ W_1` as an operator on quadrature grids.

    Parameters
    ----------
    graphons : sequence of Graphon (or anything :func:`graphon_ops.graphon` accepts)
        Layer graphons ``[W_1, ..., W_L]``, first layer first.
    rule : QuadratureRule or sequence of L + 1 QuadratureRules (or None), optional
        Grids of the latent variables :math:`u_0` (inputs of layer 1), ..., :math:`u_L` (outputs of
        layer L); one rule is used for all. Default (also for a ``None`` entry of the sequence, so that
        e.g. only the outer grids can be given): on each variable, one midpoint node per piece of
        the breakpoints of the graphons that touch it when these are all step/constant graphons
        (exact up to rounding), else composite Gauss--Legendre with
        ``DEFAULT_NODES_PER_PIECE`` nodes per piece.

    Returns
    -------
    GraphonOperator
        ``.kernel[i, k]`` :math:`= P(x_i, y_k)` with :math:`x` the nodes of the rule of :math:`u_L`
        (``.row_rule``) and :math:`y` those of :math:`u_0` (``.col_rule``).

    Notes
    -----
    .. math:: P(u_L, u_0) = \int W_L(u_L, u_{L-1}) \cdots W_1(u_1, u_0)\, du_1 \cdots du_{L-1}

    The inner integrals use the rules of :math:`u_1, \dots, u_{L-1}`; the error is that of the rules
    on the integrands (zero for step graphons on their breakpoints). Cost: :math:`L - 1` matrix
    products. Values lie in [0, 1].

    See Also
    --------
    input_path_mass, path_counts, graphon_ops.operator.GraphonOperator.compose

    Examples
    --------
    >>> from graphon_ops import Graphon
    >>> P = path_density([Graphon.constant(0.5), Graphon.constant(0.4)])
    >>> print(f"{P.kernel[0, 0]:.15f}")          # 0.5 * 0.4
    0.200000000000000
    """
    graphons = _as_graphons(graphons)
    rules = _latent_rules(graphons, rule)
    for l, W in enumerate(graphons, start=1):
        check_memory(f"the kernel of layer {l}", 8.0 * rules[l].size * rules[l - 1].size)
    composed = discretize(graphons[0], rules[1], rules[0])
    for l in range(1, len(graphons)):
        composed = discretize(graphons[l], rules[l + 1], rules[l]).compose(composed)
    # Quadrature weights sum to 1, so the composed kernel is a weighted average of products of values
    # in [0, 1]; clip the last-ulp excursions of rounding.
    return GraphonOperator(np.clip(composed.kernel, 0.0, 1.0), composed.row_rule, composed.col_rule)


def input_path_mass(graphons, d: int, *, rule=None) -> np.ndarray:
    r"""Input path mass :math:`\pi_j = \int_0^1 P(u, v_j)\, du` of each input coordinate.

    Parameters
    ----------
    graphons : sequence of Graphon
        Layer graphons ``[W_1, ..., W_L]``.
    d : int
        Input dimension; coordinate :math:`j = 1, \dots, d` sits at :math:`v_j = (j - 1/2)/d` and the
        first layer's column side is evaluated there (point evaluation, docs/theory/ntk.rst).
    rule : QuadratureRule or sequence of L QuadratureRules (or None), optional
        Grids of :math:`u_1, \dots, u_L` (as in :func:`path_density`, without the input variable).

    Returns
    -------
    ndarray, shape (d,)
        :math:`\pi_j \in [0, 1]`; for one layer, the in-degree :math:`\int W_1(u, v_j)\,du`.

    Examples
    --------
    >>> from graphon_ops import Graphon
    >>> W1 = Graphon.step([[1.0, 0.0]])          # only the first half of the inputs is connected
    >>> input_path_mass([W1, Graphon.constant(0.5)], 4).tolist()
    [0.5, 0.5, 0.0, 0.0]
    """
    graphons = _as_graphons(graphons)
    d = check_positive_int("d", d)
    L = len(graphons)
    if rule is None or isinstance(rule, QuadratureRule):
        rules = [rule] * L
    elif isinstance(rule, Sequence) and len(rule) == L:
        rules = list(rule)
    else:
        raise ValueError(f"rule must be a QuadratureRule or a sequence of {L} QuadratureRules or None (the grids "
                         f"of u_1, ..., u_L), got {rule!r}")
    # The midpoint rule with d nodes has exactly the coordinate positions (j - 1/2)/d as nodes (its nodes
    # and weights are checked here; the operators on them are checked by discretize).
    check_memory(f"input_path_mass (the positions of d = {d} input coordinates)", 16.0 * d)
    P = path_density(graphons, [midpoint(d)] + rules)
    return np.clip(P.row_rule.weights @ P.kernel, 0.0, 1.0)


def path_counts(masks, normalize: bool = True, *, log: bool = False) -> np.ndarray:
    r"""Input--output path counts of stacked masks, :math:`M^L \cdots M^1`, normalised or not.

    Parameters
    ----------
    masks : sequence of 2-D 0/1 arrays
        ``[M^1, ..., M^L]`` with :math:`M^l` of shape :math:`(n_l, n_{l-1})`, first layer first.
    normalize : bool
        Divide by the number of possible paths :math:`n_{L-1} \cdots n_1`, the discrete analogue of the
        path density (values in [0, 1]); otherwise return the counts.
    log : bool
        Return the natural logarithm (``-inf`` where there is no path). Needed for raw counts of deep
        stacks, which can exceed the float64 range.

    Returns
    -------
    ndarray, shape (n_L, n_0)

    Raises
    ------
    ValueError
        If consecutive shapes do not chain, or raw counts (``normalize=False``, ``log=False``) overflow
        float64.

    Notes
    -----
    .. math:: C_{ij} = \frac{(M^L \cdots M^1)_{ij}}{n_{L-1} \cdots n_1}

    The product is accumulated in float64 and rescaled by a power of two after each factor, so that
    the largest entry stays in [1/2, 1): the rescaling is exact, the counts are exact integers while
    they stay below :math:`2^{53}`, and nothing overflows for any depth. Entries smaller than
    :math:`2^{-1074}` times the largest count of the stack flush to zero.

    Examples
    --------
    >>> import numpy as np
    >>> M1, M2 = np.array([[1, 1], [0, 1]]), np.array([[1, 1]])
    >>> path_counts([M1, M2], normalize=False).tolist()
    [[1.0, 2.0]]
    >>> path_counts([M1, M2]).tolist()
    [[0.5, 1.0]]
    """
    if isinstance(masks, np.ndarray) and masks.ndim in (0, 2) or not isinstance(masks, (Sequence, np.ndarray)):
        raise ValueError(f"masks must be a sequence of 2-D masks [M^1, ..., M^L], got {type(masks).__name__}")
    normalize, log = check_flag("normalize", normalize), check_flag("log", log)
    if len(masks) == 0:
        raise ValueError("masks must be a non-empty sequence of 2-D masks, got an empty sequence")
    masks = [as_mask(f"masks[{l}]", M) for l, M in enumerate(masks)]
    for l in range(1, len(masks)):
        if masks[l].shape[1] != masks[l - 1].shape[0]:
            raise ValueError(f"masks[{l}] must have {masks[l - 1].shape[0]} columns (the rows of masks[{l - 1}]), "
                             f"got shape {masks[l].shape}")
    n_in = masks[0].shape[1]
    check_memory("the path-count product", 8.0 * (max(M.shape[0] for M in masks) * n_in + max(M.size for M in masks)))

    counts = masks[0].astype(np.float64)
    exponent = 0  # counts = (running matrix) * 2**exponent
    for M in masks[1:]:
        counts = M.astype(np.float64) @ counts
        largest = counts.max()
        if largest > 0:
            shift = int(np.frexp(largest)[1])
            counts = np.ldexp(counts, -shift)
            exponent += shift
    if log:
        with np.errstate(divide="ignore"):
            out = np.log(counts) + exponent * np.log(2.0)
        return out - sum(np.log(M.shape[1]) for M in masks[1:]) if normalize else out
    if normalize:
        # The number of possible paths n_1 ... n_{L-1} as mantissa * 2**total_exponent (no overflow).
        mantissa, total_exponent = 1.0, 0
        for M in masks[1:]:
            mantissa, shift = np.frexp(mantissa * M.shape[1])
            total_exponent += int(shift)
        return np.ldexp(counts / mantissa, exponent - total_exponent)
    if exponent > np.finfo(np.float64).maxexp:
        raise ValueError(f"masks: path counts reach 2**{exponent}, beyond the float64 range; use log=True or "
                         f"normalize=True")
    return np.ldexp(counts, exponent)
