r"""Active input coordinates of a first layer (docs/theory/paths_alignment.rst).

Input coordinate :math:`j` of a network with input dimension :math:`d` sits at latent position
:math:`v_j = (j - 1/2)/d`. It is **active** when its limit in-degree is positive,

.. math:: d_\mathrm{in}(v_j) = \int_0^1 W_1(u, v_j)\, du > 0,

and inactive otherwise: then almost no first-layer neuron reads it, and the network (finite or
infinite) computes a function of the active coordinates :math:`x_A` only. For a finite mask, a
coordinate is active when at least one neuron reads it.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_mask, check_memory, check_nonnegative_float, check_positive_int
from .graphon import Graphon, graphon
from .quadrature import QuadratureRule, midpoint

__all__ = ["active_coordinates"]


def active_coordinates(W1, d: int | None = None, *, tol: float = 0.0,
                       rule: QuadratureRule | None = None) -> np.ndarray:
    r"""Indices of the input coordinates with positive first-layer in-degree.

    Parameters
    ----------
    W1 : Graphon, or a 2-D 0/1 array
        The first-layer graphon (anything :func:`graphon_ops.graphon` accepts except an array), or a
        finite first-layer mask of shape ``(n_1, d)`` whose column ``j`` is input coordinate ``j``.
    d : int
        Input dimension. Required for a graphon; for a mask it defaults to (and must equal) the
        number of columns.
    tol : float
        A coordinate is active when its in-degree exceeds ``tol``: for a graphon
        :math:`\int_0^1 W_1(u, v_j)\,du > \mathrm{tol}`, for a mask the fraction of neurons reading it
        :math:`\frac{1}{n_1}\sum_i M_{ij} > \mathrm{tol}`. ``0`` is exact for step graphons and masks;
        for a graphon integrated by quadrature, pass a tolerance above the rule's error.
    rule : QuadratureRule, optional
        Rule in :math:`u` for the in-degree of a non-step graphon (default: its
        :meth:`~graphon_ops.Graphon.default_rule`).

    Returns
    -------
    ndarray of int
        Increasing 0-based indices of the active coordinates.

    Notes
    -----
    Coordinate :math:`j` (1-based) is read at :math:`v_j = (j - 1/2)/d` by point evaluation, the
    convention of the Graphon-NTK's first layer (docs/theory/ntk.rst); a mask sampled from :math:`W_1` on the
    grid positions has the same coordinates active with probability tending to one as :math:`n_1` grows.

    Examples
    --------
    >>> from graphon_ops import Graphon
    >>> W1 = Graphon.step([[0.5, 0.0, 1.0]])
    >>> active_coordinates(W1, 6).tolist()
    [0, 1, 4, 5]
    >>> active_coordinates([[1, 0, 0], [1, 0, 1]]).tolist()
    [0, 2]
    """
    tol = check_nonnegative_float("tol", tol)
    if rule is not None and not isinstance(rule, QuadratureRule):
        raise ValueError(f"rule must be a QuadratureRule, got {type(rule).__name__}")
    if isinstance(W1, (np.ndarray, list, tuple)):
        mask = as_mask("W1", W1)
        if d is not None and check_positive_int("d", d) != mask.shape[1]:
            raise ValueError(f"d must equal the mask's number of columns {mask.shape[1]}, got {d!r}")
        in_degree = mask.mean(axis=0, dtype=np.float64)
    else:
        if d is None:
            raise ValueError("d must be given (the input dimension) for a graphon W1, got None")
        d = check_positive_int("d", d)
        W1 = graphon(W1) if not isinstance(W1, Graphon) else W1
        nodes = (rule if rule is not None else W1.default_rule("row")).size
        # the d coordinates' positions and weights, and W1 on d x nodes points (values and a temporary)
        check_memory(f"active_coordinates (in-degrees of d = {d} coordinates on {nodes} nodes)",
                     8.0 * d * (2 + 2 * nodes))
        in_degree = W1.in_degree(midpoint(d).nodes, rule)
    return np.flatnonzero(in_degree > tol)
