r"""Factorised Saliency Model (FSM) limits of pruning masks, factor extraction, graphon estimation
(docs/theory/pruning.rst).

Scores :math:`s_{ij} = |\theta_{ij}|\,a_i\,b_j` with :math:`\theta_{ij}` iid and factors that do not
depend on :math:`\theta_{ij}`. Giving neuron :math:`i` the latent position of its factor's rank,
:math:`a_i \approx Q_a(u_i)`, a global threshold :math:`\tau` keeps weight :math:`(i, j)` with probability

.. math::

    W(u, v) = P\bigl(|\theta| > \tau / (Q_a(u)\,Q_b(v))\bigr)
    \overset{\theta \sim N(0, \sigma^2)}{=} \operatorname{erfc}\Bigl(\frac{\tau}{\sqrt 2\,\sigma\,Q_a(u)\,Q_b(v)}\Bigr),

and :math:`\tau` solves :math:`\int\!\!\int W = \rho`. The left side decreases from
:math:`P(Q_a Q_b > 0)` (at :math:`\tau \to 0`) to 0, so a root exists exactly when
:math:`\rho < P(Q_a Q_b > 0)`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import scipy.optimize
import scipy.special

from .._validation import (as_float_array, as_mask, check_arguments, check_choice, check_density, check_memory,
                           check_positive_float, check_positive_int, check_rule)
from ..adaptive import adaptive_rule, check_rule_or_tol, graphon_density
from ..graphon import Graphon
from ..quadrature import QuadratureRule, composite

__all__ = ["LIMIT_METHODS", "limit_graphon", "Factorisation", "factorise", "estimate_graphon",
           "estimate_layer_graphons", "LayerGraphons", "quantile_function"]

#: Criteria with an FSM limit. ``random`` and ``magnitude`` need no factors; the others need both.
#: ``"factorised"`` is the model itself for user-supplied factors. Signed GraSP is not of the form
#: g(θ) a b with g = abs; its magnitude variant is.
LIMIT_METHODS = ("random", "magnitude", "snip", "grasp_magnitude", "synflow", "factorised")

#: Gauss--Legendre nodes per piece used to solve for τ when a factor is a quantile function.
DEFAULT_FACTOR_NODES = 64

#: Relative accuracy to which the density constraint fixes τ when no ``rule`` is given: far below any
#: finite-width effect, and reached in two or three corrections of the solve on the fixed rule (which a kink
#: of a factor, max(u, 0.3719) or the clip of ndtri(clip(u, 0.5, 1)), left 3e-6 and 2.4e-6 off at ρ = 0.2).
DEFAULT_DENSITY_TOL = 1e-10

#: Corrections of τ against the adaptive density (each divides the residual by about the fixed rule's
#: relative error in the slope of ρ(τ), 1e-3 or less); more than the two or three needed is only a bound.
_TAU_CORRECTIONS = 6

#: Iteration cap of the τ solves. A root of size 2^-k in the bracket [0, 1] costs brentq up to about k
#: bisections plus ~50 for rtol=1e-15 (factor products of 1e-268: 920 iterations, measured); scipy's
#: default cap of 100 fails for products below ~1e-20. 2200 covers the whole exponent range of doubles
#: (tau is then limited by xtol=1e-300 only). Solves that converged under the default are unchanged.
_SOLVER_ITERATIONS = 2200


def _survival(weight_law, weight_scale: float) -> Callable[[np.ndarray], np.ndarray]:
    """t -> P(|θ| > t) for the weight law."""
    if isinstance(weight_law, str):
        check_choice("weight_law", weight_law, ("normal",))
        return lambda t: scipy.special.erfc(t / (np.sqrt(2.0) * weight_scale))
    if hasattr(weight_law, "sf") and hasattr(weight_law, "cdf"):
        return lambda t: weight_law.sf(t) + weight_law.cdf(-t)
    raise ValueError(f"weight_law must be 'normal' or a frozen scipy.stats distribution, got {weight_law!r}")


def _second_moment(weight_law, weight_scale: float) -> Callable[[np.ndarray], np.ndarray]:
    r"""t -> :math:`S_2(t) = E[\theta^2 1\{|\theta| > t\}] / E[\theta^2]` for the weight law (0 at t = inf).

    Normal law: :math:`\int_s^\infty x^2 \phi(x)\,dx = s\phi(s) + 1 - \Phi(s)` (by parts), so with
    :math:`s = t/\sigma` the ratio is :math:`\operatorname{erfc}(s/\sqrt 2) + \sqrt{2/\pi}\,s e^{-s^2/2}`.
    Other laws: two ``expect`` quadratures (the two tails) per distinct ``t``, each value computed once
    and remembered by the returned function."""
    if isinstance(weight_law, str):
        def normal(t):
            s = np.asarray(t, dtype=np.float64) / weight_scale
            out = np.zeros(s.shape)
            finite = np.isfinite(s)
            x = s[finite]
            out[finite] = np.minimum(
                scipy.special.erfc(x / np.sqrt(2.0)) + np.sqrt(2.0 / np.pi) * x * np.exp(-0.5 * x * x), 1.0)
            return out
        return normal
    if not all(hasattr(weight_law, name) for name in ("mean", "var", "expect")):
        raise ValueError(f"moment='second' needs a weight_law with mean, var and expect (a frozen scipy.stats "
                         f"distribution), got {weight_law!r}")
    total = float(weight_law.var() + weight_law.mean() ** 2)
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"moment='second' needs a weight_law with a finite, positive second moment E[theta^2]; "
                         f"this weight_law has E[theta^2] = {total!r}")
    known = {}

    def tail(s):
        if s <= 0 or np.isinf(s):
            return 1.0 if s <= 0 else 0.0
        if s not in known:
            kept = weight_law.expect(lambda x: x * x, lb=s) + weight_law.expect(lambda x: x * x, ub=-s)
            known[s] = min(1.0, max(0.0, kept / total))
        return known[s]

    def tails(t):
        t = np.asarray(t, dtype=np.float64)
        distinct, inverse = np.unique(t, return_inverse=True)
        return np.array([tail(float(s)) for s in distinct])[inverse].reshape(t.shape)

    return tails


def quantile_function(samples) -> Callable[[np.ndarray], np.ndarray]:
    r"""The empirical quantile function :math:`Q(u) = x_{(\lceil n u \rceil)}` of samples (a step function
    with steps at :math:`k/n`; :math:`Q(0) = x_{(1)}`).

    Examples
    --------
    >>> Q = quantile_function([3.0, 1.0, 2.0])
    >>> Q(np.array([0.1, 0.5, 0.9])).tolist()
    [1.0, 2.0, 3.0]
    """
    ordered = np.sort(as_float_array("samples", samples, ndim=1))
    n = ordered.size

    def quantile(u):
        u = np.asarray(u, dtype=np.float64)
        return ordered[np.clip(np.ceil(n * u).astype(np.int64) - 1, 0, n - 1)]

    return quantile


@dataclasses.dataclass(frozen=True)
class _Factor:
    """A factor on one side: values at quadrature nodes with weights, and how to evaluate it."""

    values: np.ndarray
    weights: np.ndarray
    breaks: np.ndarray
    function: Callable
    sorted_samples: np.ndarray | None


def _factor(name: str, factor, rule: QuadratureRule | None) -> _Factor:
    if callable(factor):
        check_arguments(name, factor, "u")
        rule = rule if rule is not None else composite("gauss_legendre", DEFAULT_FACTOR_NODES, [0.0, 1.0])
        values = as_float_array(f"{name}(nodes)", np.broadcast_to(factor(rule.nodes), rule.nodes.shape), ndim=1)
        if values.min() < 0:
            raise ValueError(f"{name} must be non-negative (a quantile function of |factor|); it is "
                             f"{values.min()!r} at a node")
        if np.any(np.diff(values) < -1e-12 * max(1.0, np.abs(values).max())):
            raise ValueError(f"{name} must be non-decreasing (a quantile function)")
        return _Factor(values, rule.weights, np.asarray(rule.breakpoints), factor, None)
    samples = as_float_array(name, factor, ndim=1)
    if samples.min() < 0:
        raise ValueError(f"{name} must hold non-negative factor samples, got minimum {samples.min()!r}")
    ordered = np.sort(samples)
    n = ordered.size
    return _Factor(ordered, np.full(n, 1.0 / n), np.linspace(0.0, 1.0, n + 1), quantile_function(ordered),
                   ordered)


def _keep_probability(tail, tau, row_values, col_values):
    """tail(tau / (a b)) with broadcasting; 0 where a factor is 0 (also against an infinite one, a null set at
    the ends of an unbounded quantile function, and where a b underflows to 0), tail(0) = 1 where the product
    is infinite."""
    row_values, col_values = np.broadcast_arrays(np.asarray(row_values, dtype=np.float64),
                                                 np.asarray(col_values, dtype=np.float64))
    positive = (row_values > 0) & (col_values > 0)
    out = np.zeros(row_values.shape)
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        product = row_values[positive] * col_values[positive]
        out[positive] = tail(np.zeros(product.shape) if tau == 0 else tau / product)
    return out


def limit_graphon(method: str, density: float, *, row_factor=None, col_factor=None, weight_law="normal",
                  weight_scale: float = 1.0, rule: QuadratureRule | None = None, moment: str = "first",
                  tol: float | None = None) -> Graphon:
    r"""The FSM limit graphon of a criterion at density :math:`\rho` (module docstring): the connectivity
    graphon :math:`W` (``moment="first"``) or the weight graphon :math:`M` of the kept weights (``"second"``).

    Parameters
    ----------
    method : str
        One of :data:`LIMIT_METHODS`. ``random``: :math:`W \equiv \rho`, ``tau`` :math:`= 1 - \rho`
        (the threshold on the uniform scores). ``magnitude``: :math:`W \equiv \rho`,
        :math:`\tau = \sqrt 2\,\sigma\,\mathrm{erfc}^{-1}(\rho)` for the normal law.
    density : float in (0, 1]
        The density :math:`\rho` of :math:`W` (the constraint that fixes :math:`\tau`, for either moment).
    row_factor, col_factor : callable or array_like
        A quantile function :math:`Q` on [0, 1] (vectorised, non-negative, non-decreasing), or samples of
        the factor (turned into their empirical quantile function). Two sample arrays give an exact
        step graphon with one block per neuron; otherwise the graphon is a callable one with the
        quadrature breaks of the factors.
    weight_law : "normal" or a frozen scipy.stats distribution
        Law of the raw weights :math:`\theta`; ``"normal"`` is :math:`N(0, \sigma^2)` with :math:`\sigma` =
        ``weight_scale``. Only the ratio :math:`\tau/\sigma` enters :math:`W` and :math:`M`.
    weight_scale : float > 0
        :math:`\sigma` of the normal law (ignored for a scipy.stats law, which carries its own scale).
    rule : QuadratureRule, optional
        Nodes on which a quantile-function factor is evaluated to solve for :math:`\tau` (default:
        Gauss--Legendre with :data:`DEFAULT_FACTOR_NODES` nodes, then corrected as ``tol`` says).
    tol : float, optional
        Without ``rule``: relative accuracy of the density constraint, :math:`|\rho(W) - \rho| \le
        \mathrm{tol}\cdot\rho` (default :data:`DEFAULT_DENSITY_TOL` = 1e-10). After the solve on the fixed
        rule, :math:`\tau` is corrected by Newton steps against :math:`\rho(W)` computed by adaptive quadrature
        over the quantile-function sides to ``tol / 4`` (:func:`~graphon_ops.adaptive.graphon_density`, or
        :func:`~graphon_ops.adaptive.adaptive_rule` when the other side is samples) until the residual is at
        most ``tol / 2``. Not together with ``rule``.
    moment : {"first", "second"}
        ``"first"``: :math:`W(u, v) = P(\text{kept})`. ``"second"``: the weight graphon of the KEPT weights
        (the network's own weights that passed the criterion, not re-drawn ones),

        .. math::

            M(u, v) = \frac{E[\theta^2\,1\{\text{kept}\}]}{E[\theta^2]} = S_2(t(u, v)), \qquad
            S_2(t) = \frac{E[\theta^2\,1\{|\theta| > t\}]}{E[\theta^2]}, \qquad
            t(u, v) = \frac{\tau}{Q_a(u)\,Q_b(v)},

        with :math:`M = 0` where :math:`Q_a Q_b = 0` and :math:`M = 1` where it is infinite, like
        :math:`W = S(t)`, :math:`S(t) = P(|\theta| > t)`. For the normal law, with :math:`s = t/\sigma`,
        :math:`S_2 = \operatorname{erfc}(s/\sqrt 2) + \sqrt{2/\pi}\,s\,e^{-s^2/2}` (docs/theory/pruning.rst).
        :math:`M` lies in [0, 1] and :math:`M \ge W`, since :math:`E[\theta^2 \mid |\theta| > t]` increases
        with :math:`t`; weights re-drawn after pruning would have :math:`M = W`. Random pruning does not
        select on the weights: :math:`M = W = \rho`.

    Returns
    -------
    Graphon
        :math:`W` or :math:`M`, with ``metadata``: ``method``, ``density``, ``tau`` (solved with
        :func:`scipy.optimize.brentq` on :math:`\int\!\!\int W = \rho`, the same for both moments),
        ``positive_mass`` :math:`P(Q_a Q_b > 0)`, ``density_residual`` (the density of :math:`W` minus
        :math:`\rho`: by the adaptive quadrature, exactly for two sample factors, or on ``rule`` when one is
        given), ``density_error_estimate`` (that quadrature's estimated absolute error, so that
        :math:`|\rho(W) - \rho| \le |\text{residual}| + \text{estimate}`; 0 when exact, None on a given
        ``rule``) and ``moment``.

    Raises
    ------
    ValueError
        For :math:`\rho \ge P(Q_a Q_b > 0)` (other than :math:`\rho = 1` with positive factors): the limit
        then keeps every weight with a positive factor product and lets lower-order terms decide the
        rest, so no FSM graphon has density :math:`\rho`. For ``moment="second"`` with a ``weight_law``
        whose :math:`E[\theta^2]` is not finite (Cauchy, Student t with 2 or fewer degrees of freedom).
        For an unknown ``method``, ``moment`` or ``weight_law``, or a ``density`` outside (0, 1].

    Notes
    -----
    The normal law uses the closed form. For a scipy.stats ``weight_law``, :math:`S_2` is computed with
    the law's ``expect``: two adaptive quadratures (the tails :math:`\theta > t` and :math:`\theta < -t`,
    at quad's default tolerance 1.5e-8) per distinct value of :math:`t`, each computed once and
    remembered by the graphon. scipy's generic ``expect`` takes about 10 to 100 ms per value, so a step
    graphon from :math:`n \times m` factor samples costs up to :math:`nm` of them at construction, and a
    callable graphon one per new node pair of each grid it is evaluated on (its default
    :math:`32 \times 32` density rule: 1024 values, a minute or more).

    Examples
    --------
    >>> W = limit_graphon("magnitude", 0.2)
    >>> print(f"{W.metadata['tau']:.8f}")  # sqrt(2) erfcinv(0.2)
    1.28155157
    >>> W = limit_graphon("snip", 0.1, row_factor=lambda u: u, col_factor=lambda v: 1 + v)
    >>> print(f"{W.density():.6f}")
    0.100000

    Magnitude pruning keeps the weights with :math:`|\theta| > \tau`, whose second moment is
    :math:`\rho + \sqrt{2/\pi}\,\tau e^{-\tau^2/2}` (3.25 times that of re-drawn weights):

    >>> print(f"{limit_graphon('magnitude', 0.2, moment='second').values[0, 0]:.8f}")
    0.64982032
    """
    method = check_choice("method", method, LIMIT_METHODS)
    density = check_density("density", density)
    tol = check_rule_or_tol(check_rule("rule", rule), tol)
    moment = check_choice("moment", moment, ("first", "second"))
    weight_scale = check_positive_float("weight_scale", weight_scale)
    survival = _survival(weight_law, weight_scale)
    second_moment = _second_moment(weight_law, weight_scale) if moment == "second" else None
    if method in ("random", "magnitude"):
        if row_factor is not None or col_factor is not None:
            raise ValueError(f"method={method!r} has constant factors; do not pass row_factor/col_factor")
        tau = 1.0 - density if method == "random" else _magnitude_threshold(survival, density, weight_law,
                                                                            weight_scale)
        value = density if second_moment is None or method == "random" else float(second_moment(np.array(tau)))
        return Graphon.constant(value).replace(metadata={
            "method": method, "density": density, "tau": tau, "positive_mass": 1.0, "density_residual": 0.0,
            "density_error_estimate": 0.0, "moment": moment})
    if row_factor is None or col_factor is None:
        raise ValueError(f"method={method!r} needs row_factor and col_factor (quantile functions or samples)")
    rows, cols = _factor("row_factor", row_factor, rule), _factor("col_factor", col_factor, rule)
    positive_mass = float(rows.weights[rows.values > 0].sum() * cols.weights[cols.values > 0].sum())
    if not math.isfinite(float(rows.values.max()) * float(cols.values.max())):
        raise ValueError(f"row_factor and col_factor: the product of their largest values, {rows.values.max():.3g} x "
                         f"{cols.values.max():.3g}, overflows float64; the limit depends on the factors only through "
                         f"tau / (a b), so divide them by a constant")

    def mass(tau):
        return float(rows.weights @ _keep_probability(survival, tau, rows.values[:, None], cols.values[None, :])
                     @ cols.weights)

    if density == 1.0 and positive_mass >= 1.0 - 1e-14:
        tau = 0.0
    elif density >= positive_mass:
        raise ValueError(
            f"density {density!r} is not below P(Q_a Q_b > 0) = {positive_mass:.6g}, the share of positive "
            f"row_factor x col_factor products: the FSM limit keeps every "
            f"weight with a positive factor product (density {positive_mass:.6g}) and the remaining weights "
            f"(zero factor product) are chosen by lower-order terms, so no FSM graphon has this density; "
            f"use a smaller density")
    else:
        high = 1.0
        while mass(high) > density:
            high *= 2.0
            if not math.isfinite(high):
                raise ValueError(f"row_factor and col_factor: the threshold for density {density!r} passes the "
                                 f"float64 range (factor products up to {float(rows.values.max()):.3g} x "
                                 f"{float(cols.values.max()):.3g}); divide the factors by a constant")
        tau = scipy.optimize.brentq(lambda t: mass(t) - density, 0.0, high, xtol=1e-300, rtol=1e-15,
                                    maxiter=_SOLVER_ITERATIONS)
    residual, estimate = mass(tau) - density, None if rule is not None else 0.0
    if rule is None and tau > 0 and (rows.sorted_samples is None or cols.sorted_samples is None):
        tol = DEFAULT_DENSITY_TOL if tol is None else tol
        for _ in range(_TAU_CORRECTIONS):
            solved, estimate = _adaptive_mass(survival, tau, rows, cols, density, tol / 4.0)
            residual = solved - density
            if abs(residual) <= tol * density / 2.0:
                break
            # Newton step with the slope of the fixed-rule density: its relative error (1e-3 or less) is the
            # factor by which each step shrinks the residual
            step = 1e-6 * tau
            tau -= residual * 2.0 * step / (mass(tau + step) - mass(tau - step))
    metadata = {"method": method, "density": density, "tau": float(tau), "positive_mass": positive_mass,
                "density_residual": residual, "density_error_estimate": estimate, "moment": moment}
    tail = survival if moment == "first" else second_moment
    if rows.sorted_samples is not None and cols.sorted_samples is not None:
        values = _keep_probability(tail, tau, rows.sorted_samples[:, None], cols.sorted_samples[None, :])
        return Graphon.step(values).replace(metadata=metadata)
    row_function, col_function = rows.function, cols.function

    def evaluate(u, v):
        return _keep_probability(tail, tau, row_function(u), col_function(v))

    return Graphon.from_callable(evaluate, row_breaks=rows.breaks, col_breaks=cols.breaks).replace(
        metadata=metadata)


def _adaptive_mass(survival, tau, rows, cols, density, tol):
    """The density at ``tau`` by adaptive quadrature over the quantile-function sides, and its absolute error
    estimate: an iterated integral for two of them, one adaptive rule against the other side's samples."""
    if rows.sorted_samples is None and cols.sorted_samples is None:
        W = Graphon.from_callable(lambda u, v: _keep_probability(survival, tau, rows.function(u), cols.function(v)),
                                  row_breaks=rows.breaks, col_breaks=cols.breaks)
        found = graphon_density(W, tol)
        return found.integral, found.error_estimate * found.scale
    side, samples = (rows, cols) if cols.sorted_samples is not None else (cols, rows)
    # each sample's integral to tol * rho absolutely: their average (weights summing to 1) as well
    found = adaptive_rule(lambda x: _keep_probability(survival, tau, side.function(x)[:, None], samples.values[None, :]),
                          tol, breaks=side.breaks, relative_to=density)
    return float(found.integral @ samples.weights), found.error_estimate * found.scale


def _magnitude_threshold(survival, density, weight_law, weight_scale):
    if isinstance(weight_law, str):
        tau = float(np.sqrt(2.0) * weight_scale * scipy.special.erfcinv(density))
        if not np.isfinite(tau):
            raise ValueError(f"density {density!r} is below what the magnitude threshold can resolve in float64 "
                             f"(erfc^-1(density) overflows below about 1e-320)")
        return tau
    if density == 1.0:
        return 0.0
    high = 1.0
    while survival(high) > density:
        high *= 2.0
    return float(scipy.optimize.brentq(lambda t: survival(t) - density, 0.0, high, xtol=1e-300, rtol=1e-15,
                                       maxiter=_SOLVER_ITERATIONS))


@dataclasses.dataclass(frozen=True)
class Factorisation:
    r"""Row and column factors fitted to a score matrix, and the latent orders they induce.

    Attributes
    ----------
    row_factors, col_factors : ndarray
        :math:`a_i`, :math:`b_j` (column factors scaled to geometric mean 1 over their positive entries).
    row_order, col_order : ndarray of int
        ``argsort`` of the factors (stable): neuron ``row_order[k]`` has rank ``k``.
    row_positions, col_positions : ndarray
        Latent positions :math:`u_i = (\mathrm{rank}(a_i) + 1/2)/n_\mathrm{out}` (block centres), same for v.
    residual : float
        Unexplained fraction of the log-score spread:
        :math:`\lVert \log R - \alpha_i - \beta_j\rVert_F / \lVert \log R - \overline{\log R}\rVert_F`
        over the positive entries, with :math:`R = |s|` or :math:`|s|/|\theta|` when weights are given
        (then 0 means exactly factorised).
    """

    row_factors: np.ndarray
    col_factors: np.ndarray
    row_order: np.ndarray
    col_order: np.ndarray
    row_positions: np.ndarray
    col_positions: np.ndarray
    residual: float


def _positions(order: np.ndarray) -> np.ndarray:
    positions = np.empty(order.size)
    positions[order] = (np.arange(order.size) + 0.5) / order.size
    return positions


def factorise(scores, *, weights=None, max_iterations: int = 200) -> Factorisation:
    r"""Fit :math:`|s_{ij}| \approx g_{ij}\, a_i\, b_j` by least squares on logarithms.

    With ``weights`` :math:`\theta`, the matrix fitted is :math:`R = |s| / |\theta|` (so an FSM score is
    fitted exactly); otherwise :math:`R = |s|` and the :math:`\log|\theta|` spread stays in the residual.
    The additive model :math:`\log R_{ij} = \alpha_i + \beta_j` is fitted on the positive entries by
    alternating exact row and column means (closed form in one sweep when every entry is positive); a
    row or column without positive entries gets factor 0.

    Examples
    --------
    >>> a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, 4.0])
    >>> theta = np.array([[1.0, -2.0], [0.5, 1.5], [-3.0, 1.0]])
    >>> fit = factorise(np.abs(theta) * np.outer(a, b), weights=theta)
    >>> fit.row_order.tolist(), fit.col_order.tolist(), f"{fit.residual:.12f}"
    ([0, 1, 2], [0, 1], '0.000000000000')
    >>> print(np.round(np.outer(fit.row_factors, fit.col_factors), 12))   # a b^T recovered
    [[ 0.5  4. ]
     [ 1.   8. ]
     [ 1.5 12. ]]
    """
    scores = as_float_array("scores", scores, ndim=2)
    magnitude = np.abs(scores)
    if weights is not None:
        weights = as_float_array("weights", weights, ndim=2)
        if weights.shape != scores.shape:
            raise ValueError(f"weights must have the scores' shape {scores.shape}, got {weights.shape}")
        theta = np.abs(weights)
        magnitude = np.divide(magnitude, theta, out=np.zeros_like(magnitude), where=theta > 0)
    max_iterations = check_positive_int("max_iterations", max_iterations)
    positive = magnitude > 0
    logs = np.where(positive, np.log(np.where(positive, magnitude, 1.0)), 0.0)
    row_count, col_count = positive.sum(axis=1), positive.sum(axis=0)
    alpha, beta = np.zeros(scores.shape[0]), np.zeros(scores.shape[1])
    for _ in range(max_iterations):
        alpha_new = _masked_mean(logs - beta[None, :], positive, row_count, axis=1)
        beta_new = _masked_mean(logs - alpha_new[:, None], positive, col_count, axis=0)
        shift = beta_new[col_count > 0].mean() if np.any(col_count > 0) else 0.0
        alpha_new, beta_new = alpha_new + shift, beta_new - shift
        change = max(np.abs(alpha_new - alpha).max(), np.abs(beta_new - beta).max())
        alpha, beta = alpha_new, beta_new
        if change <= 1e-13 * max(1.0, np.abs(logs).max()):
            break
    fitted = alpha[:, None] + beta[None, :]
    centred = logs[positive] - logs[positive].mean() if positive.any() else np.zeros(1)
    spread = np.linalg.norm(centred)
    residual = float(np.linalg.norm((logs - fitted)[positive]) / spread) if spread > 0 else 0.0
    row_factors = np.where(row_count > 0, np.exp(alpha), 0.0)
    col_factors = np.where(col_count > 0, np.exp(beta), 0.0)
    row_order = np.argsort(row_factors, kind="stable")
    col_order = np.argsort(col_factors, kind="stable")
    return Factorisation(row_factors, col_factors, row_order, col_order, _positions(row_order),
                         _positions(col_order), residual)


def _masked_mean(values, positive, count, axis):
    total = np.where(positive, values, 0.0).sum(axis=axis)
    return np.divide(total, count, out=np.zeros(total.shape), where=count > 0)


def estimate_graphon(mask, blocks=8, *, row_order=None, col_order=None) -> Graphon:
    r"""Sorting-and-smoothing estimate of a mask's graphon (Chan & Airoldi 2014; ``docs/theory/pruning.rst``).

    Rows and columns are sorted by degree (ascending, stable) unless orders are given, then averaged
    over ``blocks`` x ``blocks`` groups of (nearly) equal size; the result is the step graphon of the
    block means with breaks at the groups' boundaries. (The total-variation smoothing step of the
    original method is not applied: the block means are the estimate.)

    Parameters
    ----------
    mask : array_like, shape (n_out, n_in)
        A 0/1 mask.
    blocks : int or (int, int)
        Number of row and column groups (at most ``n_out``, ``n_in``).
    row_order, col_order : array_like of int, optional
        Latent orders (e.g. :attr:`Factorisation.row_order`) replacing the degree sort.

    Returns
    -------
    Graphon
        The step graphon of the block means; ``metadata``: ``source``, ``blocks``.

    Warnings
    --------
    The columns of a FIRST layer are input coordinates, and the Graphon-NTK reads :math:`W_1` at
    coordinate :math:`j`'s centre :math:`(j - 1/2)/d`: sorting them (by degree, or by a column order)
    relabels the coordinates. For a first layer pass ``col_order=numpy.arange(d)`` and
    ``blocks=(b, d)``.

    Examples
    --------
    >>> M = np.zeros((4, 4), dtype=int); M[2:, :] = 1
    >>> estimate_graphon(M, blocks=2).values.tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    mask = as_mask("mask", mask)
    _check_block_memory("estimate_graphon", mask.shape, blocks, entry_bytes=2, n_matrices=1)  # mask, ordered mask
    return _block_means([mask], mask, blocks, row_order, col_order, "sorting-and-smoothing")[0]


@dataclasses.dataclass(frozen=True)
class LayerGraphons:
    r"""Block estimates of one pruned layer (:func:`estimate_layer_graphons`), step graphons on the same breaks.

    Attributes
    ----------
    connectivity : Graphon
        :math:`W`, the block means of the mask.
    weights : Graphon
        :math:`M`, the block means of the squared kept weights :math:`(m \odot \omega)^2`.
    """

    connectivity: Graphon
    weights: Graphon


def estimate_layer_graphons(mask, weights, blocks=8, *, row_order=None, col_order=None) -> LayerGraphons:
    r"""Block estimates of a pruned layer's connectivity graphon and the weight graphon of its KEPT weights.

    Over the groups of :func:`estimate_graphon` (rows and columns in degree order, or the given orders,
    split into ``blocks`` nearly equal groups :math:`I_r \times J_c`),

    .. math::

        W_{rc} = \frac{1}{|I_r|\,|J_c|} \sum_{i \in I_r,\, j \in J_c} m_{ij}, \qquad
        M_{rc} = \frac{1}{|I_r|\,|J_c|} \sum_{i \in I_r,\, j \in J_c} m_{ij}\,\omega_{ij}^2,

    the finite-width counterparts of :func:`limit_graphon` with ``moment="first"`` and ``"second"``
    (docs/theory/pruning.rst). :math:`W` has the values and breaks of :func:`estimate_graphon` of the mask.

    Parameters
    ----------
    mask : array_like, shape (n_out, n_in)
        The layer's 0/1 mask.
    weights : array_like, shape (n_out, n_in)
        The layer's RAW weights :math:`\omega` (:attr:`MLP.weights`, :math:`N(0, 1)` entries at
        initialisation, without the row scales), pruned positions included: only the kept ones
        (:math:`m_{ij} = 1`) enter :math:`M`. Pass the network's own weights to describe the network that
        pruning produces (kept weights); weights re-drawn after pruning would give :math:`M \approx W`.
    blocks : int or (int, int)
        Number of row and column groups (at most ``n_out``, ``n_in``).
    row_order, col_order : array_like of int, optional
        Latent orders replacing the degree sort, as in :func:`estimate_graphon`.

    Returns
    -------
    LayerGraphons
        ``connectivity`` (:math:`W`) and ``weights`` (:math:`M`), step graphons on the same breaks. A block
        mean of :math:`M` above 1 (the raw weights' second moment, which bounds :math:`M` when the labelling
        does not depend on the weights) is sampling noise of a small block: it is clipped to 1 (a graphon
        takes values in [0, 1]), and ``weights.metadata`` records ``clipped_blocks`` and
        ``largest_block_mean``.

    Warnings
    --------
    The columns of a FIRST layer are input coordinates, and the Graphon-NTK reads :math:`W_1` and
    :math:`M_1` at coordinate :math:`j`'s centre :math:`(j - 1/2)/d`: sorting the columns (by degree,
    the default, or by a ``col_order``) reorders the input coordinates. For a first layer pass
    ``col_order=numpy.arange(d)`` and ``blocks=(b, d)``.

    Examples
    --------
    >>> m = np.array([[1, 0], [1, 1]])
    >>> omega = np.array([[0.5, 5.0], [-1.0, 0.5]])
    >>> layer = estimate_layer_graphons(m, omega, blocks=(1, 2), row_order=[0, 1], col_order=[0, 1])
    >>> layer.connectivity.values.tolist(), layer.weights.values.tolist()
    ([[1.0, 0.5]], [[0.625, 0.125]])
    """
    mask = as_mask("mask", mask)
    weights = as_float_array("weights", weights, ndim=2)
    if weights.shape != mask.shape:
        raise ValueError(f"weights must have the mask's shape {mask.shape}, got {weights.shape}")
    # the uint8 mask, the float64 squares and their temporary, the ordered mask and the ordered squares
    _check_block_memory("estimate_layer_graphons", mask.shape, blocks, entry_bytes=1 + 8 + 8 + 1 + 8, n_matrices=2)
    squares = mask * weights ** 2
    connectivity, moments = _block_means([mask, squares], mask, blocks, row_order, col_order,
                                         "block means of a pruned layer", clip=True)
    return LayerGraphons(connectivity, moments)


def _block_means(matrices, mask, blocks, row_order, col_order, source, clip=False) -> list[Graphon]:
    """Step graphons of the block means of ``matrices`` (shaped like ``mask``) over one grouping: rows and
    columns in the given orders (default: ``mask``'s degree order) split into nearly equal groups; with
    ``clip``, means above 1 are clipped (and counted in the metadata). The groups are consecutive in the
    ordered matrix, so the sums are a pass over the rows and a ``reduceat`` over the columns: O(n_out n_in) work
    whatever the number of blocks."""
    row_blocks, col_blocks = _block_counts(blocks, mask.shape)
    row_order = np.argsort(mask.sum(axis=1), kind="stable") if row_order is None else \
        _permutation("row_order", row_order, mask.shape[0])
    col_order = np.argsort(mask.sum(axis=0), kind="stable") if col_order is None else \
        _permutation("col_order", col_order, mask.shape[1])
    row_groups = np.array_split(np.arange(mask.shape[0]), row_blocks)
    col_groups = np.array_split(np.arange(mask.shape[1]), col_blocks)
    row_breaks = np.concatenate([[0], np.cumsum([g.size for g in row_groups])]) / mask.shape[0]
    col_breaks = np.concatenate([[0], np.cumsum([g.size for g in col_groups])]) / mask.shape[1]
    row_sizes = np.array([g.size for g in row_groups])
    col_sizes = np.array([g.size for g in col_groups])
    row_starts = np.concatenate([[0], np.cumsum(row_sizes)[:-1]])
    col_starts = np.concatenate([[0], np.cumsum(col_sizes)[:-1]])
    out = []
    for matrix in matrices:
        ordered = matrix[np.ix_(row_order, col_order)]
        # row-group sums one group at a time: a float64 reduceat of the whole uint8 mask would copy it to float64
        row_sums = np.empty((row_blocks, ordered.shape[1]))
        for r, (start, size) in enumerate(zip(row_starts, row_sizes)):
            np.sum(ordered[start:start + size], axis=0, dtype=np.float64, out=row_sums[r])
        values = np.add.reduceat(row_sums, col_starts, axis=1) / np.outer(row_sizes, col_sizes)
        metadata = {"source": source, "blocks": (row_blocks, col_blocks)}
        if clip:
            metadata.update(clipped_blocks=int(np.sum(values > 1.0)), largest_block_mean=float(values.max()))
            values = np.minimum(values, 1.0)
        out.append(Graphon.step(values, row_breaks, col_breaks).replace(metadata=metadata))
    return out


def _block_counts(blocks, shape) -> tuple[int, int]:
    """``blocks`` (an int, or one per side) as row and column group counts, each at most the mask's side."""
    row_blocks, col_blocks = (blocks, blocks) if not isinstance(blocks, (tuple, list)) else tuple(blocks)
    row_blocks = check_positive_int("blocks", row_blocks)
    col_blocks = check_positive_int("blocks", col_blocks)
    if row_blocks > shape[0] or col_blocks > shape[1]:
        raise ValueError(f"blocks must be at most the mask's shape {shape}, got {(row_blocks, col_blocks)}")
    return row_blocks, col_blocks


def _check_block_memory(what: str, shape, blocks, *, entry_bytes: int, n_matrices: int) -> None:
    """Refuse block means whose working set exceeds the memory budget, before any copy: ``entry_bytes`` per
    mask entry (the checked mask and the ordered copies), and per matrix its row-group sums (``row_blocks x n_in``)
    and five float64 arrays of the block means (the means, their clipped copy, the step graphon's checks; measured
    with tracemalloc: 169 MB for a 2000 x 2000 mask in 2000 x 2000 blocks, 168 estimated with four)."""
    row_blocks, col_blocks = _block_counts(blocks, shape)
    check_memory(f"{what} with blocks={blocks!r} on a {shape[0]} x {shape[1]} mask ({row_blocks} x {col_blocks} "
                 f"block means; fewer blocks need less)",
                 float(entry_bytes) * shape[0] * shape[1]
                 + n_matrices * 8.0 * (float(row_blocks) * shape[1] + 5.0 * row_blocks * col_blocks))


def _permutation(name, order, n):
    order = np.asarray(order)
    if order.shape != (n,) or not np.issubdtype(order.dtype, np.integer) \
            or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"{name} must be a permutation of range({n}), got {order!r}")
    return order
