r"""Adaptive composite Gauss--Legendre rules with an error estimate (docs/theory/graphons.rst, "Error model
and adaptive rules").

:func:`adaptive_rule` bisects panels of [0, 1] until the estimated error of integrating a function, or a
family of functions, meets a relative tolerance; the rule it returns is a plain
:class:`~graphon_ops.quadrature.QuadratureRule` (composite Gauss--Legendre on the panels it found), so it
serves :func:`~graphon_ops.discretize`, the degrees and the density like any other rule.

On a panel :math:`[a, b]` the integral is the Gauss--Legendre sum :math:`G_m` (``m`` interior nodes) and its
error is estimated by

.. math::

    e = \max\bigl(|G_m - L_{m+1}|,\ |G_m - L_m|\bigr),

with :math:`L_n` the ``n``-point Gauss--Lobatto sum on the same panel, whose nodes include the panel's two
ends (evaluated one ulp inside, so the one-sided values of the panel). A jump or a kink anywhere in the
panel, also between an end and the first Gauss node where :math:`G_m` and a second interior rule would both
see a smooth function, changes the Lobatto sums. For :math:`f` smooth on the panel
:math:`L_{m+1} - G_m \approx (2 + 1/m)\,E_{G_m}` (with :math:`I = Q + E`: equal and opposite leading error
terms), so ``e`` is at least twice the actual error; :math:`L_m` (degree :math:`2m - 3`) guards against the isolated kink
positions where :math:`E_{G_m} = E_{L_{m+1}}` by coincidence.

``graphon_rule`` adapts one rule to the two sides of a graphon, ``graphon_density`` integrates a graphon
with an adaptive inner rule for every outer node (an iterated integral with a combined estimate).
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ._validation import (as_float_array, check_choice, check_memory, check_positive_float, check_positive_int,
                          check_sorted_breakpoints)
from .quadrature import QuadratureRule, composite, gauss_legendre, gauss_lobatto

__all__ = ["AccuracyWarning", "AdaptiveRule", "adaptive_rule", "graphon_rule", "graphon_density", "check_tol",
           "lobatto_companions", "MIN_TOL", "DEFAULT_NODES_PER_PANEL", "DEFAULT_MAX_NODES", "EXTRA_SAMPLES"]

#: Smallest relative tolerance accepted. The panel estimates of a smooth function stop decreasing at a few
#: units of rounding of the panel sums (about 1e-16 of the integral each); 1e-14 leaves a factor of 10 over
#: that floor summed over the panels of a converged rule (docs/theory/graphons.rst).
MIN_TOL = 1e-14

#: Gauss--Legendre nodes per panel. Eight nodes (degree 15) keep the estimate honest at every kink position
#: measured (docs/theory/graphons.rst) while a smooth graphon still needs only a few panels for 1e-12.
DEFAULT_NODES_PER_PANEL = 8

#: Largest rule :func:`adaptive_rule` builds by default: an operator on 4096 nodes is a 128 MiB kernel
#: whose singular values take seconds; a jump at an unknown place costs about 2 panels per halving of the
#: error, far below this.
DEFAULT_MAX_NODES = 4096

#: Points added to a graphon's default nodes when sampling the other variable (:func:`graphon_rule`): an
#: irrational stride, so that they avoid the dyadic points and breaks a graphon is usually given.
EXTRA_SAMPLES = np.sort(((np.arange(8) + 0.5) * (np.sqrt(5.0) - 1.0) / 2.0) % 1.0)


class AccuracyWarning(UserWarning):
    """An adaptive computation stopped (node or memory budget) before its error estimate met ``tol``."""


@dataclasses.dataclass(frozen=True, eq=False)
class AdaptiveRule:
    r"""A rule found by :func:`adaptive_rule` and what it achieved.

    Attributes
    ----------
    rule : QuadratureRule
        Composite Gauss--Legendre rule on the panels found (``rule.breakpoints`` are the panel ends).
    integral : float or ndarray, shape (k,)
        The integrals of the function (family) on ``rule``.
    error_estimate : float
        Estimated error relative to :attr:`scale` (the quantity ``tol`` bounds): at most ``tol`` when
        :attr:`converged`.
    scale : float
        What the error is relative to: :math:`\max_j \int |f_j|` (``relative_to="largest"``), the number
        given as ``relative_to``, 1 with ``relative_to="each"`` (each member relative to its own
        :math:`\int |f_j|`), or :math:`\int\!\!\int |W|` (:func:`graphon_density`). The absolute estimate is
        ``error_estimate * scale``.
    converged : bool
        False when a budget stopped the refinement (an :class:`AccuracyWarning` was issued).
    """

    rule: QuadratureRule
    integral: Any
    error_estimate: float
    scale: float
    converged: bool

    @property
    def n_panels(self) -> int:
        """Number of panels of :attr:`rule`."""
        return self.rule.breakpoints.size - 1

    def __repr__(self) -> str:
        return (f"AdaptiveRule(nodes={self.rule.size}, panels={self.n_panels}, "
                f"error_estimate={self.error_estimate:.3g}, converged={self.converged})")


def check_tol(tol) -> float:
    """A relative tolerance in ``[MIN_TOL, 1)``; anything else is a ``ValueError`` naming ``tol``."""
    # comparisons only: numpy's isfinite and float() refuse some Python integers (beyond 64 bits, beyond 1e308)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < cast(float, tol) < 1:
        raise ValueError(f"tol must be a relative accuracy in [{MIN_TOL:g}, 1), got {tol!r}")
    if tol < MIN_TOL:
        raise ValueError(f"tol={tol!r} is below what float64 quadrature can certify (about {MIN_TOL:g} "
                         f"relative: the panel sums themselves round at about 1e-16); use tol >= {MIN_TOL:g}")
    return float(tol)


def check_rule_or_tol(rule, tol) -> float | None:
    """The checked ``tol`` (or None); giving both a rule and a tolerance is a ``ValueError``."""
    if rule is not None and tol is not None:
        raise ValueError("give either rule (a fixed rule) or tol (an adaptive rule reaching that accuracy), "
                         "not both")
    return None if tol is None else check_tol(tol)


def lobatto_companions(rule: QuadratureRule) -> tuple[QuadratureRule, ...]:
    r"""The Gauss--Lobatto rules :math:`L_{m+1}` and :math:`L_m` on the panels of a Gauss--Legendre rule.

    ``rule`` holds ``m`` Gauss--Legendre nodes on each of its pieces (:func:`adaptive_rule`,
    ``composite("gauss_legendre", m, ...)``, ``gauss_legendre(m)``; ``m = 1`` is the midpoint rule, whose only
    companion is :math:`L_2`, the trapezoid rule). Each panel's ends are taken one ulp inside the panel, so
    neighbouring panels do not share a node and a break at a panel end keeps its one-sided values. A quantity
    computed on ``rule`` and on its companions (an integral, a Nyström spectrum) differs by the estimate of
    docs/theory/graphons.rst, "Error model and adaptive rules".

    Examples
    --------
    >>> from graphon_ops import composite
    >>> upper, lower = lobatto_companions(composite("gauss_legendre", 3, [0.5]))
    >>> upper.size, lower.size, bool(upper.nodes[3] < 0.5 < upper.nodes[4])
    (8, 6, True)
    """
    if not isinstance(rule, QuadratureRule):
        raise ValueError(f"rule must be a QuadratureRule, got {type(rule).__name__}")
    breaks = rule.breakpoints
    pieces = breaks.size - 1
    m = rule.size // pieces
    if rule.name.removeprefix("composite:") not in ("gauss_legendre", "midpoint") \
            or rule != composite("gauss_legendre", m, breaks):
        raise ValueError(f"rule must be Gauss-Legendre with the same number of nodes on each piece (an adaptive, "
                         f"default or composite Gauss-Legendre rule, or a midpoint rule), got {rule!r}")
    a, b = breaks[:-1, None], breaks[1:, None]
    out = []
    for n in (m + 1, m) if m > 1 else (2,):
        lobatto = gauss_lobatto(n)
        nodes = a + (b - a) * lobatto.nodes[None, :]
        nodes[:, 0], nodes[:, -1] = np.nextafter(a[:, 0], b[:, 0]), np.nextafter(b[:, 0], a[:, 0])
        out.append(QuadratureRule(nodes.ravel(), ((b - a) * lobatto.weights[None, :]).ravel(),
                                  "one_sided:gauss_lobatto", lobatto.degree, breaks))
    return tuple(out)


class _Panels:
    """Reference nodes of one panel: Gauss--Legendre m, Lobatto m + 1 and m (interior nodes; ends apart)."""

    def __init__(self, m: int):
        gl, upper, lower = gauss_legendre(m), gauss_lobatto(m + 1), gauss_lobatto(m)
        self.gauss_nodes, self.gauss_weights = gl.nodes, gl.weights
        self.upper_nodes, self.upper_weights, self.upper_end = upper.nodes[1:-1], upper.weights[1:-1], upper.weights[0]
        self.lower_nodes, self.lower_weights, self.lower_end = lower.nodes[1:-1], lower.weights[1:-1], lower.weights[0]
        self.points_per_panel = m + self.upper_nodes.size + self.lower_nodes.size + 2

    def evaluate(self, functions, a: np.ndarray, b: np.ndarray):
        """Gauss sums, member-wise error estimates and integrals of |f| on panels [a_i, b_i] (each (n, k))."""
        n, h = a.size, b - a
        groups = [a[:, None] + h[:, None] * nodes[None, :]
                  for nodes in (self.gauss_nodes, self.upper_nodes, self.lower_nodes)]
        # the ends one ulp inside: the panel's one-sided values (a break at an end belongs to the neighbour)
        groups += [np.nextafter(a, b)[:, None], np.nextafter(b, a)[:, None]]
        points = np.concatenate([g.ravel() for g in groups])
        values = as_float_array("functions(u)", functions(points), ndim=(1, 2))
        if values.shape[0] != points.size:
            raise ValueError(f"functions(u) must return shape (len(u),) or (len(u), k), got {values.shape} for "
                             f"{points.size} points")
        ndim = values.ndim
        values = values.reshape(points.size, -1)
        pieces = np.split(values, np.cumsum([g.size for g in groups])[:-1])
        gauss, upper, lower, left, right = (p.reshape(n, -1, values.shape[1]) for p in pieces)
        ends = left[:, 0] + right[:, 0]
        G = np.einsum("j,njk->nk", self.gauss_weights, gauss)
        U = np.einsum("j,njk->nk", self.upper_weights, upper) + self.upper_end * ends
        L = np.einsum("j,njk->nk", self.lower_weights, lower) + self.lower_end * ends
        error = np.maximum(np.abs(G - U), np.abs(G - L))
        size = np.maximum(np.einsum("j,njk->nk", self.gauss_weights, np.abs(gauss)),
                          np.einsum("j,njk->nk", self.upper_weights, np.abs(upper))
                          + self.upper_end * (np.abs(left[:, 0]) + np.abs(right[:, 0])))
        return h[:, None] * G, h[:, None] * error, h[:, None] * size, ndim


def adaptive_rule(functions: Callable, tol: float, *, breaks=(), relative_to: str | float = "largest",
                  nodes_per_panel: int = DEFAULT_NODES_PER_PANEL,
                  max_nodes: int = DEFAULT_MAX_NODES) -> AdaptiveRule:
    r"""A composite Gauss--Legendre rule on [0, 1] that integrates ``functions`` to relative accuracy ``tol``.

    Panels start at ``breaks`` and are bisected until the estimated error (module docstring,
    docs/theory/graphons.rst) meets the tolerance:

    .. math::

        \max_j \sum_p e_{pj} \le \mathrm{tol}\cdot S_j, \qquad
        S_j = \max_i \int_0^1 |f_i| \ (\text{"largest"}), \quad \int_0^1 |f_j| \ (\text{"each"})
        \quad\text{or a given } S,

    where :math:`e_{pj}` is the estimate of member :math:`j` on panel :math:`p`. While it is not met, every
    panel whose share :math:`\max_j e_{pj}/S_j` exceeds ``tol / n_panels`` is bisected.

    Parameters
    ----------
    functions : callable
        ``functions(u)`` for a 1-D array ``u`` of points in [0, 1] (in any order) returns values of shape
        ``(len(u),)`` or ``(len(u), k)``: one function or a family of ``k`` (e.g. the rows
        :math:`u \mapsto W(u, v_j)`).
    tol : float
        Relative accuracy in ``[MIN_TOL, 1)`` (:data:`MIN_TOL` = 1e-14: below it rounding of the sums
        dominates); see ``relative_to``.
    breaks : array_like, optional
        Known breakpoints (discontinuities of the functions or of a derivative): initial panel ends. Unknown
        ones are found by the bisection.
    relative_to : {"largest", "each"} or float
        ``"largest"``: every member's error is below ``tol`` times the largest :math:`\int |f_j|` (one
        accuracy for the family, as an operator needs); ``"each"``: below ``tol`` times its own (members
        that are nearly 0 then need as many digits as the others); a number :math:`S > 0`: below
        ``tol * S`` (an absolute accuracy, e.g. a share of a known total).
    nodes_per_panel : int
        Gauss--Legendre nodes per panel (``m >= 2``; each panel costs ``3m - 1`` evaluations).
    max_nodes : int
        Budget of nodes of the rule. The refinement also stops when evaluating the next panels would exceed
        ``options().memory_budget_bytes``.

    Returns
    -------
    AdaptiveRule
        The rule, the integrals on it, the error estimate reached (relative) and whether it met ``tol``.

    Raises
    ------
    ValueError
        For a ``tol`` outside ``[MIN_TOL, 1)`` (NaN included), values that are not finite or of the wrong
        shape, or initial panels that alone exceed ``max_nodes`` or the memory budget.

    Warns
    -----
    AccuracyWarning
        When refining further would exceed ``max_nodes`` or the memory budget, or no flagged panel can be
        bisected in floating point: the rule reached so far is returned with ``converged=False`` and its
        (larger than ``tol``) estimate.

    Examples
    --------
    A kink at an unannounced place, :math:`\int_0^1 |u - 0.3719|\,du = (c^2 + (1 - c)^2)/2`:

    >>> import numpy as np
    >>> c = 0.3719
    >>> found = adaptive_rule(lambda u: np.abs(u - c), 1e-10)
    >>> print(f"{found.integral:.10f} {(c**2 + (1 - c)**2) / 2:.10f} {found.converged}")
    0.2664096100 0.2664096100 True
    >>> found.rule.size, found.n_panels
    (120, 15)
    >>> found.error_estimate <= 1e-10
    True
    """
    if not callable(functions):
        raise ValueError(f"functions must be callable, got {type(functions).__name__}")
    found, stop = _adapt(functions, check_tol(tol), breaks, relative_to, nodes_per_panel, max_nodes)
    if not found.converged:
        _warn_stopped("adaptive_rule", found, tol, stop)
    return found


def _warn_stopped(what: str, found: AdaptiveRule, tol: float, stop: str) -> None:
    warnings.warn(AccuracyWarning(
        f"{what} stopped at an estimated relative error of {found.error_estimate:.3g} > tol={tol:g} with "
        f"{found.rule.size} nodes on {found.n_panels} panels: {stop}; raise max_nodes or "
        f"options(memory_budget_bytes=...), or ask for a larger tol"), stacklevel=3)


def _adapt(functions, tol, breaks, relative_to, nodes_per_panel, max_nodes) -> tuple[AdaptiveRule, str]:
    """:func:`adaptive_rule` for a checked ``tol`` (any positive value): the result and why it stopped early."""
    if not isinstance(relative_to, str):
        relative_to = _check_scale(relative_to)
    else:
        check_choice("relative_to", relative_to, ("largest", "each"))
    m = check_positive_int("nodes_per_panel", nodes_per_panel, minimum=2)
    max_nodes = check_positive_int("max_nodes", max_nodes)
    ends = check_sorted_breakpoints("breaks", breaks)
    if (ends.size - 1) * m > max_nodes:
        raise ValueError(f"max_nodes={max_nodes} is less than the {(ends.size - 1) * m} nodes of the initial "
                         f"panels ({ends.size - 1} panels between breaks x {m} nodes)")
    panels = _Panels(m)
    a, b = ends[:-1], ends[1:]
    check_memory(f"adaptive_rule's first {a.size} panels", 8.0 * a.size * panels.points_per_panel)
    G, error, size, ndim = panels.evaluate(functions, a, b)
    stop = ""
    while True:
        total_size = size.sum(axis=0)
        scale = total_size if relative_to == "each" else np.full_like(
            total_size, total_size.max() if relative_to == "largest" else relative_to)
        # share of each panel in the budget tol * S_j (0 where S_j = 0: all values seen there are 0)
        share = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
        estimate = float(share.sum(axis=0).max())
        if estimate <= tol or stop:
            break
        flagged = np.flatnonzero(share.max(axis=1) > tol / a.size)
        mid = (a[flagged] + b[flagged]) / 2.0
        splittable = (mid > a[flagged]) & (mid < b[flagged])
        flagged, mid = flagged[splittable], mid[splittable]
        new_nodes = (a.size + flagged.size) * m
        if flagged.size == 0:
            stop = "the panels to bisect are as narrow as floating point allows"
            continue
        if new_nodes > max_nodes:
            stop = f"bisecting {flagged.size} more panels would give {new_nodes} nodes > max_nodes={max_nodes}"
            continue
        try:
            check_memory(f"adaptive_rule's next {2 * flagged.size} panels",
                         8.0 * G.shape[1] * (2 * flagged.size * panels.points_per_panel + 3 * (a.size + flagged.size)))
        except ValueError as exc:
            stop = str(exc)
            continue
        child_a = np.concatenate([a[flagged], mid])
        child_b = np.concatenate([mid, b[flagged]])
        child = panels.evaluate(functions, child_a, child_b)
        keep = np.ones(a.size, dtype=bool)
        keep[flagged] = False
        a, b = np.concatenate([a[keep], child_a]), np.concatenate([b[keep], child_b])
        G, error, size = (np.concatenate([old[keep], new]) for old, new in zip((G, error, size), child[:3]))
    order = np.argsort(a)
    rule = composite("gauss_legendre", m, np.append(a[order], b[order][-1]))
    integral = G[order].sum(axis=0)
    return AdaptiveRule(rule, float(integral[0]) if ndim == 1 else integral, estimate,
                        1.0 if relative_to == "each" else float(scale.max()), estimate <= tol), stop


def _check_scale(value) -> float:
    try:
        return check_positive_float("relative_to", value)
    except ValueError:
        raise ValueError(f"relative_to must be 'largest', 'each' or a finite number > 0, got {value!r}") from None


def _check_graphon(W) -> None:
    if not all(hasattr(W, name) for name in ("on_grid", "default_rule", "row_breaks", "col_breaks", "kind")):
        raise ValueError(f"W must be a Graphon (graphon_ops.graphon(...) makes one), got {type(W).__name__}")


def _samples(W, axis: str, samples) -> np.ndarray:
    """Points of the ``axis`` variable at which the other variable's family is sampled."""
    if samples is None:
        return np.union1d(W.default_rule(axis).nodes, EXTRA_SAMPLES)
    samples = as_float_array("samples", samples, ndim=1)
    if samples.min() < 0.0 or samples.max() > 1.0:
        raise ValueError(f"samples must lie in [0, 1], got values in [{samples.min()!r}, {samples.max()!r}]")
    return samples


def graphon_rule(W, tol: float, axis: str = "both", *, samples=None, nodes_per_panel: int = DEFAULT_NODES_PER_PANEL,
                 max_nodes: int = DEFAULT_MAX_NODES) -> AdaptiveRule:
    r"""An adaptive rule for one variable of a graphon, or one rule for both.

    The rule integrates, to relative accuracy ``tol`` of the largest integral (``relative_to="largest"`` of
    :func:`adaptive_rule`), the family

    * ``axis="row"``: :math:`u \mapsto W(u, v_j)` (breaks ``W.row_breaks``),
    * ``axis="col"``: :math:`v \mapsto W(u_i, v)` (breaks ``W.col_breaks``),
    * ``axis="both"``: both families as functions of one variable (breaks: the union), so that one rule
      serves rows and columns: a square operator, eigenvalues, a layer whose output is the next one's input.

    The sample points :math:`v_j` (:math:`u_i`) are the graphon's default nodes of that variable
    (:meth:`~graphon_ops.Graphon.default_rule`) and :data:`EXTRA_SAMPLES`, or ``samples``. A kink or jump of
    :math:`W` in :math:`u` that runs across the square (the same :math:`u` for every :math:`v`) is found from
    any sample; one that moves with :math:`v` (the diagonal of :math:`\min(u, v)`) is refined at every sample.
    Step and constant graphons get one midpoint per block, which integrates them exactly (estimate 0).

    Parameters
    ----------
    W : Graphon
    tol : float
        Relative accuracy in ``[MIN_TOL, 1)``.
    axis : {"both", "row", "col"}
    samples : array_like, optional
        Points of the other variable (for ``"both"``: of either variable) replacing the default samples.
    nodes_per_panel, max_nodes : int
        As in :func:`adaptive_rule`.

    Returns
    -------
    AdaptiveRule
        ``rule`` is the rule to use; ``integral`` holds the sampled family's integrals (rows first, then
        columns for ``"both"``).

    Warns
    -----
    AccuracyWarning
        When a budget stops the refinement (``converged=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from graphon_ops import Graphon
    >>> W = Graphon.from_callable(lambda u, v: 0.2 + 0.6 * np.abs(u - 0.3719) * v)
    >>> found = graphon_rule(W, 1e-10, "row")
    >>> print(found.converged, f"{found.error_estimate:.0e}")
    True 2e-11
    >>> print(f"{np.min(np.abs(found.rule.breakpoints - 0.3719)):.1e}")   # panels shrink around the kink
    1.3e-05
    """
    _check_graphon(W)
    tol = check_tol(tol)
    axis = check_choice("axis", axis, ("both", "row", "col"))
    col_samples, row_samples = _samples(W, "col", samples), _samples(W, "row", samples)

    def rows(x):
        return W.on_grid(x, col_samples)

    def cols(x):
        return W.on_grid(row_samples, x).T

    def both(x):
        return np.hstack([rows(x), cols(x)])

    family = {"row": rows, "col": cols, "both": both}[axis]
    breaks = {"row": W.row_breaks, "col": W.col_breaks, "both": np.union1d(W.row_breaks, W.col_breaks)}[axis]
    if W.kind in ("step", "constant"):
        rule = composite("midpoint", 1, breaks)
        integral = rule.weights @ family(rule.nodes)
        return AdaptiveRule(rule, integral, 0.0, float(np.abs(integral).max()), True)
    found, stop = _adapt(family, tol, breaks, "largest", nodes_per_panel, max_nodes)
    if not found.converged:
        _warn_stopped("graphon_rule", found, tol, stop)
    return found


def graphon_density(W, tol: float, *, nodes_per_panel: int = DEFAULT_NODES_PER_PANEL,
                    max_nodes: int = DEFAULT_MAX_NODES) -> AdaptiveRule:
    r"""The density :math:`\rho(W) = \int_0^1 d_\mathrm{out}(u)\,du` to relative accuracy ``tol``, with its estimate.

    An iterated integral: the outer rule (in :math:`u`) is adapted to :math:`d_\mathrm{out}`, and the
    out-degrees at each batch of outer points come from an inner rule (in :math:`v`) adapted to those rows
    (a batch whose inner rule would exceed ``max_nodes``, as rows with a jump on the diagonal do, is split
    in halves of neighbouring rows until it fits or holds one row).
    With the outer estimate :math:`e_\mathrm{out}` (absolute) and every inner row's estimate at most
    :math:`\eta` (absolute),

    .. math::

        |\rho - \rho_h| \le e_\mathrm{out} + 3\eta,

    since the inner errors add at most :math:`\eta` to the weighted sum (weights summing to 1) and perturb
    the outer estimate, whose Gauss and Lobatto weights on a panel sum to twice its length, by at most
    :math:`2\eta` (docs/theory/graphons.rst). The outer rule gets relative accuracy ``tol / 2``; the inner
    rules get the absolute accuracy :math:`\mathrm{tol}\cdot\rho_0 / 12`, with :math:`\rho_0` the density on
    ``nodes_per_panel`` Gauss--Legendre nodes between the graphon's breaks (relative to the batch's largest row
    if :math:`\rho_0 = 0`), so that :math:`3\eta \le \mathrm{tol}\,\rho / 4` while :math:`\rho_0` is within a
    factor 2 of :math:`\rho`. Each batch's inner rule starts from the previous batch's panels.

    Parameters
    ----------
    W : Graphon
    tol : float
        Relative accuracy in ``[MIN_TOL, 1)``.
    nodes_per_panel, max_nodes : int
        As in :func:`adaptive_rule`, for the outer and each inner rule.

    Returns
    -------
    AdaptiveRule
        ``integral`` is :math:`\rho_h`, ``error_estimate`` is :math:`(e_\mathrm{out} + 3\eta) / \rho_h`
        (``scale`` :math:`= \rho_h`, for a graphon :math:`\ge 0`), ``rule`` the outer rule.

    Warns
    -----
    AccuracyWarning
        When a budget stops the outer or an inner refinement, or the estimate exceeds ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from graphon_ops import Graphon
    >>> c = 0.3719
    >>> W = Graphon.from_callable(lambda u, v: 0.2 + 0.6 * np.abs(u - c) * v)
    >>> found = graphon_density(W, 1e-12)
    >>> print(f"{found.integral:.12f} {0.2 + 0.3 * (c**2 + (1 - c)**2) / 2:.12f} {found.error_estimate < 1e-12}")
    0.279922883000 0.279922883000 True
    """
    _check_graphon(W)
    tol = check_tol(tol)
    ru, rv = (composite("gauss_legendre", check_positive_int("nodes_per_panel", nodes_per_panel), breaks)
              for breaks in (W.row_breaks, W.col_breaks))
    rho0 = float(ru.weights @ W.on_grid(ru.nodes, rv.nodes) @ rv.weights)
    inner_scale: str | float = rho0 / 2.0 if rho0 > 0 else "largest"
    worst, stops, start = [0.0], [], [W.col_breaks]

    def out_degrees(u):
        order = np.argsort(u)
        out = np.empty(u.size)
        out[order] = rows(u[order])
        return out

    def rows(u):
        inner, stop = _adapt(lambda v: W.on_grid(u, v).T, tol / 6.0, start[0], inner_scale, nodes_per_panel,
                             max_nodes)
        if stop and u.size > 1:
            # rows whose non-smooth points move with u (a diagonal) need too many panels together: split
            half = u.size // 2
            return np.concatenate([rows(u[:half]), rows(u[half:])])
        worst[0] = max(worst[0], inner.error_estimate * inner.scale)
        stops.extend([stop] if stop else [])
        # the next batch starts from these panels (a jump in v found once is not searched for again)
        start[0] = inner.rule.breakpoints if inner.rule.size <= max_nodes // 4 else W.col_breaks
        return inner.integral

    outer, stop = _adapt(out_degrees, tol / 2.0, W.row_breaks, "largest", nodes_per_panel, max_nodes)
    absolute = outer.error_estimate * outer.scale + 3.0 * worst[0]
    estimate = absolute / outer.scale if outer.scale > 0 else (0.0 if absolute == 0 else np.inf)
    found = dataclasses.replace(outer, error_estimate=estimate, converged=estimate <= tol and not stop and not stops)
    if not found.converged:
        _warn_stopped("graphon_density", found, tol, "; ".join(([stop] if stop else []) + stops[:1]) or
                      f"the inner accuracy was set from a first guess of the density, {rho0:.3g}")
    return found
