r"""Quadrature rules on the unit interval.

A rule is a set of nodes :math:`x_k \in [0, 1]` and weights :math:`w_k > 0` with :math:`\sum_k w_k = 1`,
so that :math:`\int_0^1 f(x)\,dx \approx \sum_k w_k f(x_k)`.

=================  =================================  ==========================================
rule               exact for polynomials of degree     error for smooth :math:`f` (one piece)
=================  =================================  ==========================================
Gauss--Legendre     :math:`2m - 1`                     geometric in :math:`m` for analytic f
Gauss--Lobatto      :math:`2m - 3`                     geometric in :math:`m` for analytic f
Clenshaw--Curtis    :math:`m - 1`                      geometric in :math:`m` for analytic f
midpoint            1                                  :math:`f''\,/\,(24 m^2)`
trapezoid           1                                  :math:`f''\,/\,(12 (m-1)^2)`
=================  =================================  ==========================================

A *composite* rule applies one rule with ``m`` nodes on each piece between given breakpoints, so that
a function that is smooth on each piece (a step graphon, a graphon with a kink) is integrated at the
rule's full order; piecewise polynomials of the rule's degree are integrated exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.special

from ._validation import as_float_array, check_choice, check_memory, check_positive_int, check_sorted_breakpoints

__all__ = ["QuadratureRule", "gauss_legendre", "gauss_lobatto", "clenshaw_curtis", "midpoint", "trapezoid",
           "composite", "RULES"]


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class QuadratureRule:
    r"""Nodes and weights on [0, 1]: :math:`\int_0^1 f \approx \sum_k w_k f(x_k)`.

    Attributes
    ----------
    nodes : ndarray, shape (m,)
        Increasing nodes in [0, 1].
    weights : ndarray, shape (m,)
        Positive weights summing to 1.
    name : str
        Rule family (``"gauss_legendre"``, ..., or ``"composite:<family>"``).
    degree : int
        Every polynomial of this degree on each piece is integrated exactly.
    breakpoints : ndarray
        Ends of the pieces the rule was built on (``[0, 1]`` for a simple rule).

    Two rules are equal when their nodes and weights are equal element by element.
    """

    nodes: np.ndarray
    weights: np.ndarray
    name: str
    degree: int
    breakpoints: np.ndarray = dataclasses.field(default_factory=lambda: _readonly([0.0, 1.0]))

    def __post_init__(self):
        nodes, weights = _readonly(self.nodes), _readonly(self.weights)
        if nodes.ndim != 1 or nodes.shape != weights.shape or nodes.size == 0:
            raise ValueError(f"nodes and weights must be non-empty 1-D arrays of equal length, got "
                             f"shapes {nodes.shape} and {weights.shape}")
        # what every integral relies on; from_arrays checks a user's arrays more strictly (sum to 1e-12, names)
        if not (np.all(np.isfinite(nodes)) and np.all(np.isfinite(weights))):
            raise ValueError("nodes and weights must be finite")
        if nodes[0] < 0.0 or nodes[-1] > 1.0 or np.any(np.diff(nodes) < 0.0):
            raise ValueError(f"nodes must be increasing in [0, 1], got {nodes[:8].tolist()}{' ...' * (nodes.size > 8)}")
        if np.any(weights <= 0.0) or abs(float(weights.sum()) - 1.0) > 1e-9:
            raise ValueError(f"weights must be positive and sum to 1, got minimum {float(weights.min())!r} and sum "
                             f"{float(weights.sum())!r}")
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "breakpoints", _readonly(self.breakpoints))

    @classmethod
    def from_arrays(cls, nodes, weights, *, name: str = "custom") -> "QuadratureRule":
        """A user rule: nodes in [0, 1] (increasing), positive weights summing to 1 (to 1e-12).

        Examples
        --------
        >>> r = QuadratureRule.from_arrays([0.25, 0.75], [0.5, 0.5])
        >>> r.integrate(lambda x: x)
        0.5
        """
        nodes = as_float_array("nodes", nodes, ndim=1)
        weights = as_float_array("weights", weights, ndim=1)
        if nodes.shape != weights.shape:
            raise ValueError(f"nodes and weights must have the same length, got {nodes.size} and {weights.size}")
        if nodes[0] < 0 or nodes[-1] > 1 or np.any(np.diff(nodes) <= 0):
            raise ValueError(f"nodes must be strictly increasing in [0, 1], got {nodes.tolist()}")
        if np.any(weights <= 0) or abs(weights.sum() - 1.0) > 1e-12:
            raise ValueError(f"weights must be positive and sum to 1, got sum {weights.sum()!r}")
        return cls(nodes, weights, name, 0)

    @property
    def size(self) -> int:
        """Number of nodes."""
        return self.nodes.size

    def __len__(self) -> int:
        return self.nodes.size

    def __eq__(self, other) -> bool:
        if not isinstance(other, QuadratureRule):
            return NotImplemented
        return np.array_equal(self.nodes, other.nodes) and np.array_equal(self.weights, other.weights)

    __hash__ = None  # type: ignore[assignment]  # arrays inside: equality by value, not hashable

    def integrate(self, f) -> float:
        r""":math:`\sum_k w_k f(x_k)` for a vectorised callable ``f`` or an array of values at the nodes."""
        values = f(self.nodes) if callable(f) else np.asarray(f, dtype=np.float64)
        if values.shape[0] != self.size:
            raise ValueError(f"f must have {self.size} values (one per node), got shape {values.shape}")
        return float(self.weights @ values) if values.ndim == 1 else self.weights @ values

    def __repr__(self) -> str:
        return f"QuadratureRule(name={self.name!r}, size={self.size}, degree={self.degree}, " \
               f"pieces={self.breakpoints.size - 1})"


#: Largest Gauss-Legendre rule built directly (numpy's companion-matrix eigenvalues take about 1.5 s at
#: m = 2000 on the development machine and grow as m^3); composite rules give any number of nodes.
MAX_GAUSS_LEGENDRE_NODES = 5000
_EIGENVALUE_SECONDS_PER_CUBE = 1.8e-10


def _check_rule_memory(what: str, nodes: float) -> None:
    """Refuse a rule whose nodes, weights and two temporaries of their computation exceed the memory budget."""
    check_memory(f"{what} (a rule of {nodes:.0f} nodes)", 4 * 8 * float(nodes))


def gauss_legendre(m: int) -> QuadratureRule:
    """Gauss--Legendre rule with ``m`` nodes on [0, 1]; exact for degree ``2m - 1``.

    Examples
    --------
    >>> r = gauss_legendre(3)
    >>> print(f"{r.integrate(lambda x: x**5):.15f}")   # 1/6
    0.166666666666667
    """
    m = check_positive_int("m", m)
    # the nodes are eigenvalues of an m x m companion matrix: O(m^2) memory and O(m^3) time
    check_memory(f"gauss_legendre({m}) (an {m} x {m} eigenvalue problem; for many nodes use "
                 f"composite('gauss_legendre', k, breakpoints))", 4 * 8 * m * m)
    if m > MAX_GAUSS_LEGENDRE_NODES:
        raise ValueError(f"m={m} Gauss-Legendre nodes would take about {_EIGENVALUE_SECONDS_PER_CUBE * m**3:.0f} s "
                         f"(an O(m^3) eigenvalue solve); at most {MAX_GAUSS_LEGENDRE_NODES}: use "
                         f"composite('gauss_legendre', k, breakpoints) for more nodes")
    x, w = np.polynomial.legendre.leggauss(m)
    return QuadratureRule((x + 1.0) / 2.0, w / 2.0, "gauss_legendre", 2 * m - 1)


def gauss_lobatto(m: int) -> QuadratureRule:
    r"""Gauss--Lobatto rule with ``m >= 2`` nodes, both ends included; exact for degree ``2m - 3``.

    On [-1, 1] the interior nodes are the roots of :math:`P_{m-1}'` (the Gauss--Jacobi nodes with
    :math:`\alpha = \beta = 1`) and the weights are :math:`w_k = 2 / (m (m - 1) P_{m-1}(x_k)^2)`, ends
    included (Abramowitz & Stegun 25.4.32); halved for [0, 1]. ``m = 2`` is the trapezoid rule. With
    :func:`gauss_legendre` on the same interval it brackets the error of a function that is smooth there
    (docs/theory/graphons.rst, "Error model and adaptive rules").

    Examples
    --------
    >>> r = gauss_lobatto(4)
    >>> r.nodes[[0, -1]].tolist()
    [0.0, 1.0]
    >>> print(f"{r.integrate(lambda x: x**5):.15f}")   # 1/6
    0.166666666666667
    """
    m = check_positive_int("m", m, minimum=2)
    if m > MAX_GAUSS_LEGENDRE_NODES:
        raise ValueError(f"m={m} Gauss-Lobatto nodes: at most {MAX_GAUSS_LEGENDRE_NODES}; use "
                         f"composite('gauss_lobatto', k, breakpoints) for more nodes")
    interior = scipy.special.roots_jacobi(m - 2, 1.0, 1.0)[0] if m > 2 else np.zeros(0)
    x = np.concatenate([[-1.0], interior, [1.0]])
    w = 2.0 / (m * (m - 1) * scipy.special.eval_legendre(m - 1, x) ** 2)
    nodes = (x + 1.0) / 2.0
    nodes[0], nodes[-1] = 0.0, 1.0
    return QuadratureRule(nodes, w / 2.0, "gauss_lobatto", 2 * m - 3)


def clenshaw_curtis(m: int) -> QuadratureRule:
    r"""Clenshaw--Curtis rule with ``m`` nodes (Chebyshev extreme points, ends included); exact for degree ``m - 1``.

    Weights (Trefethen, *Spectral Methods in MATLAB*, ``clencurt``), with :math:`n = m - 1`,
    :math:`\theta_k = k\pi/n`: :math:`w_k = \frac{c_k}{n}\big(1 - \sum_{j=1}^{\lfloor n/2\rfloor}
    \frac{b_j}{4j^2 - 1}\cos 2j\theta_k\big)`, :math:`c_0 = c_n = 1`, else 2; :math:`b_j = 1` if
    :math:`j = n/2`, else 2; halved for [0, 1]. ``m = 1`` is the midpoint rule.

    Examples
    --------
    >>> r = clenshaw_curtis(5)
    >>> print(f"{r.integrate(lambda x: x**4):.15f}")   # 1/5
    0.200000000000000
    """
    m = check_positive_int("m", m)
    if m == 1:
        return QuadratureRule(np.array([0.5]), np.array([1.0]), "clenshaw_curtis", 1)
    n = m - 1
    check_memory(f"clenshaw_curtis({m}) (an {n // 2} x {m} cosine table)", 2 * 8 * (n // 2) * m)
    theta = np.pi * np.arange(m) / n
    j = np.arange(1, n // 2 + 1)
    b = np.where(2 * j == n, 1.0, 2.0)
    w = 1.0 - (b / (4.0 * j**2 - 1.0)) @ np.cos(2.0 * np.outer(j, theta))
    c = np.full(m, 2.0)
    c[[0, -1]] = 1.0
    w = c * w / n
    x = np.cos(theta)
    order = np.argsort(-x)  # increasing (1 - x) / 2
    nodes = (1.0 - x[order]) / 2.0
    nodes[0], nodes[-1] = 0.0, 1.0
    return QuadratureRule(nodes, w[order] / 2.0, "clenshaw_curtis", m - 1)


def midpoint(m: int) -> QuadratureRule:
    """Composite midpoint rule: nodes ``(k - 1/2)/m``, weights ``1/m``; exact for degree 1.

    Examples
    --------
    >>> midpoint(4).nodes.tolist()
    [0.125, 0.375, 0.625, 0.875]
    """
    m = check_positive_int("m", m)
    _check_rule_memory(f"midpoint({m})", m)
    return QuadratureRule((np.arange(m) + 0.5) / m, np.full(m, 1.0 / m), "midpoint", 1)


def trapezoid(m: int) -> QuadratureRule:
    """Trapezoid rule with ``m >= 2`` equispaced nodes including 0 and 1; exact for degree 1.

    Examples
    --------
    >>> trapezoid(3).weights.tolist()
    [0.25, 0.5, 0.25]
    """
    m = check_positive_int("m", m, minimum=2)
    _check_rule_memory(f"trapezoid({m})", m)
    w = np.full(m, 1.0 / (m - 1))
    w[[0, -1]] /= 2.0
    return QuadratureRule(np.linspace(0.0, 1.0, m), w, "trapezoid", 1)


RULES = {"gauss_legendre": gauss_legendre, "gauss_lobatto": gauss_lobatto, "clenshaw_curtis": clenshaw_curtis,
         "midpoint": midpoint, "trapezoid": trapezoid}
#: Rules whose nodes include both ends of the interval (shared by neighbouring pieces of a composite rule).
_END_NODES = ("gauss_lobatto", "clenshaw_curtis", "trapezoid")


def composite(name: str, m: int, breakpoints) -> QuadratureRule:
    """``m`` nodes of rule ``name`` on each piece between ``breakpoints`` (0 and 1 added if missing).

    Rules with end nodes (Gauss--Lobatto, Clenshaw--Curtis, trapezoid) share a node at each interior breakpoint;
    the shared node's weights are merged so that nodes stay strictly increasing.

    Parameters
    ----------
    name : {"gauss_legendre", "gauss_lobatto", "clenshaw_curtis", "midpoint", "trapezoid"}
    m : int
        Nodes per piece (>= 1; >= 2 for the Gauss--Lobatto and trapezoid rules).
    breakpoints : array_like
        Strictly increasing points in [0, 1].

    Examples
    --------
    >>> r = composite("midpoint", 1, [0.25])
    >>> r.nodes.tolist(), r.weights.tolist()
    ([0.125, 0.625], [0.25, 0.75])
    """
    check_choice("name", name, RULES)
    base = RULES[name](m)
    breaks = check_sorted_breakpoints("breakpoints", breakpoints)
    # nodes, weights and the merge's temporaries (keep, group, differences): twice a simple rule's working set
    _check_rule_memory(f"composite({name!r}, {base.size}, {breaks.size - 1} pieces)", 2.0 * base.size * (breaks.size - 1))
    lengths = np.diff(breaks)
    nodes = (breaks[:-1, None] + lengths[:, None] * base.nodes[None, :]).ravel()
    weights = (lengths[:, None] * base.weights[None, :]).ravel()
    # Merge coincident nodes (end points shared by neighbouring pieces).
    keep = np.concatenate([[True], np.diff(nodes) > 0])
    group = np.cumsum(keep) - 1
    merged = np.zeros(int(keep.sum()))
    np.add.at(merged, group, weights)
    return QuadratureRule(nodes[keep], merged, f"composite:{name}", base.degree, breaks)

