r"""Width sweeps: the cut distance between a criterion's mask and its limit graphon as the width grows.

The setting is the theory's (docs/theory/pruning.rst): one hidden layer (or ``hidden_layers`` of width :math:`n`),
input dimension :math:`d = n / \text{input\_ratio}` growing with the width, Gaussian initialisation,
:math:`x \sim N(0, I_d)`, squared loss, :math:`y = \sum_{j \in A} x_j / \sqrt{k}` with :math:`A` the first
:math:`k` coordinates. Every layer is pruned to density :math:`\rho` (``scope="layerwise"``, so the
studied layer holds exactly ``round(rho * size)`` weights) and the studied layer's mask, with rows and
columns sorted by the factors, is compared with the limit in the labelled cut distance.

Limits (``limit``):

* ``"constant"``: :math:`W \equiv \rho` (Random and Magnitude's limit; for other criteria, a distance
  that stays away from 0 measures heterogeneity);
* ``"population"``: the FSM graphon of the factors' limiting laws, known in closed form for SNIP with one
  example in the first layer of a bias-free ReLU network: :math:`Q_a(u) = \max(0, \Phi^{-1}(u))` (half the
  neurons inactive, the others :math:`|v_i|` half-normal) and :math:`Q_b(v) = \Phi^{-1}((1 + v)/2)`
  (:math:`|x_j|` half-normal);
* ``"measured"``: the FSM graphon built from the measured factors (exact for single-example SNIP and
  one-shot SynFlow; fitted by :func:`~graphon_ops.pruning.factorise` otherwise).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import scipy.special

from .._validation import as_generator, check_choice, check_density, check_memory, check_positive_int
from ..quadrature import composite
from .criteria import METHODS, prune, saliency, synflow_path_sums
from .mlp import MLP
from .saliency_model import factorise, limit_graphon

__all__ = ["ConvergencePoint", "ConvergenceResult", "width_sweep", "fitted_slope", "DEFAULT_WIDTHS"]

DEFAULT_WIDTHS = (64, 128, 256, 512, 1024, 2048)

#: Peak bytes of one width of a sweep per weight of its network: the network, every layer's scores and masks,
#: the studied layer's factorisation, limit graphon and cut-distance blocks. Measured with tracemalloc at widths
#: 1024 and 2048: 283 for single-example SNIP with a measured limit (one hidden layer, input_ratio 1 and 4),
#: 80 for magnitude, 47 for SynFlow with two hidden layers.
_SWEEP_BYTES_PER_WEIGHT = 300


@dataclasses.dataclass(frozen=True)
class ConvergencePoint:
    """One width of a sweep.

    Attributes
    ----------
    width : int
        Hidden width :math:`n`.
    shape : tuple
        Shape of the studied layer's mask.
    lower, upper : float
        Certified bracket of the labelled cut distance to the limit.
    tau : float
        Limit threshold (same units as the scores for measured limits and Magnitude).
    threshold : float
        Empirical threshold: the smallest kept score of the studied layer.
    residual : float
        Factorisation residual (:attr:`Factorisation.residual` of scores / :math:`|\\theta|`; 0 for exactly
        factorised criteria, NaN where no factors are used).
    """

    width: int
    shape: tuple
    lower: float
    upper: float
    tau: float
    threshold: float
    residual: float


@dataclasses.dataclass(frozen=True)
class ConvergenceResult:
    """A width sweep: points, fitted log-log slopes of the bracket ends, and the setting."""

    method: str
    limit: str
    density: float
    points: tuple
    slope_lower: float
    slope_upper: float
    setting: dict

    @property
    def widths(self) -> np.ndarray:
        return np.array([p.width for p in self.points])

    @property
    def lower(self) -> np.ndarray:
        return np.array([p.lower for p in self.points])

    @property
    def upper(self) -> np.ndarray:
        return np.array([p.upper for p in self.points])


def fitted_slope(widths, values) -> float:
    r"""Least-squares slope of :math:`\log(\text{values})` against :math:`\log(\text{widths})`.

    Examples
    --------
    >>> round(fitted_slope([1, 4, 16], [1.0, 0.5, 0.25]), 12)
    -0.5
    """
    widths, values = np.asarray(widths, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if widths.shape != values.shape or widths.ndim != 1 or widths.size < 2:
        raise ValueError(f"widths and values must be 1-D of equal length >= 2, got shapes {widths.shape} and "
                         f"{values.shape}")
    if np.any(widths <= 0) or np.any(values <= 0):
        raise ValueError("widths and values must be positive to fit a log-log slope")
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])


def _population_snip_limit(density):
    # Kink of Q_a at u = 1/2 (half the ReLU units inactive): integrate each side separately.
    rule = composite("gauss_legendre", 64, [0.0, 0.5, 1.0])
    return limit_graphon("snip", density, rule=rule,
                         row_factor=lambda u: np.maximum(0.0, scipy.special.ndtri(np.clip(u, 0.0, 1.0))),
                         col_factor=lambda v: scipy.special.ndtri((1.0 + np.clip(v, 0.0, 1.0)) / 2.0))


def _auto_limit(method, batch_size, layer, iterations, activation, sigma_b):
    if method in ("random", "magnitude"):
        return "constant"
    if method == "snip" and batch_size == 1 and layer == 1 and activation == "relu" and sigma_b == 0.0:
        return "population"
    if method == "grasp" or (method == "synflow" and iterations > 1):
        return "constant"
    return "measured"


def width_sweep(method: str, widths=DEFAULT_WIDTHS, *, density: float = 0.2, limit: str = "auto",
                batch_size=1, input_ratio: int = 4, informative: float = 0.25, hidden_layers: int = 1,
                layer: int = 1, activation: str = "relu", sigma_b: float = 0.0, iterations: int = 1,
                factors: str = "auto", readout_init: str = "random", seed=None) -> ConvergenceResult:
    r"""Cut distance between a criterion's mask and its limit graphon for growing widths (module docstring).

    Parameters
    ----------
    method : str
        A criterion of :data:`~graphon_ops.pruning.METHODS`.
    widths : sequence of int
        Hidden widths :math:`n` (the input dimension is :math:`d = \max(1, n // \text{input\_ratio})`).
    density : float in (0, 1]
    limit : {"auto", "constant", "population", "measured"}
        ``"auto"``: constant for Random, Magnitude, signed GraSP and iterated SynFlow, population for
        single-example first-layer SNIP (ReLU, no bias), measured otherwise.
    batch_size : int or sequence of int
        Examples in the batch (SNIP and GraSP); a sequence gives one batch size per width (the theory lets
        the batch grow with the width).
    informative : float
        Fraction :math:`k/d` of input coordinates the target depends on.
    hidden_layers, layer : int
        Number of hidden layers and the layer studied (1 = first layer, ``hidden_layers + 1`` = readout).
    iterations : int
        SynFlow rounds.
    factors : {"auto", "formula", "fitted"}
        How rows and columns are labelled (and the measured limit built). ``"formula"``: SNIP with one
        example (:math:`a_i = |\partial L/\partial h_i|`, :math:`b_j = |a^{l-1}_j|`, exact), SNIP on a batch
        in the first layer of a one-hidden-layer network (the decoupled factors
        :math:`a_i = |w^2_i\,\overline{\varphi'(z_i)}|` with the readout weights :math:`w^2` and
        :math:`b_j = |\overline{r\,x_j}|`, batch means, :math:`r = f_0 - y`), one-shot SynFlow (path sums,
        exact). ``"fitted"``:
        :func:`~graphon_ops.pruning.factorise` of scores / :math:`|\theta|`. ``"auto"``: formula where
        available.
    readout_init : {"random", "zero", "antisymmetric"}
        Readout initialisation of :class:`~graphon_ops.pruning.MLP` (``"antisymmetric"``: :math:`f_0 \equiv 0`
        with non-zero gradients).
    seed : None, int or Generator

    Returns
    -------
    ConvergenceResult

    Examples
    --------
    >>> result = width_sweep("magnitude", widths=(16, 32), density=0.5, seed=0)
    >>> result.limit, [p.shape for p in result.points]
    ('constant', [(16, 4), (32, 8)])
    >>> for p in result.points:                  # certified bracket [lower, upper] of the cut distance
    ...     print(p.width, f"[{p.lower:.4f}, {p.upper:.4f}]")
    16 [0.1172, 0.1255]
    32 [0.0801, 0.0899]
    """
    from ..cutnorm import cut_distance

    method = check_choice("method", method, METHODS)
    density = check_density("density", density)
    limit = check_choice("limit", limit, ("auto", "constant", "population", "measured"))
    input_ratio = check_positive_int("input_ratio", input_ratio)
    hidden_layers = check_positive_int("hidden_layers", hidden_layers)
    layer = check_positive_int("layer", layer)
    if layer > hidden_layers + 1:
        raise ValueError(f"layer must be in 1..{hidden_layers + 1}, got {layer}")
    if not 0.0 < informative <= 1.0:
        raise ValueError(f"informative must be a fraction in (0, 1], got {informative!r}")
    factors = check_choice("factors", factors, ("auto", "formula", "fitted"))
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)) or np.ndim(widths) != 1:
        raise ValueError(f"widths must be a sequence of hidden widths, got {widths!r}")
    widths = [check_positive_int(f"widths[{i}]", n) for i, n in enumerate(widths)]
    if not widths:
        raise ValueError("widths must not be empty")
    batch_sizes = [batch_size] * len(widths) if np.ndim(batch_size) == 0 else list(batch_size)
    if len(batch_sizes) != len(widths):
        raise ValueError(f"batch_size must be an int or one per width ({len(widths)}), got {batch_size!r}")
    batch_sizes = [check_positive_int("batch_size", m) for m in batch_sizes]
    # the largest point, checked before the first network is drawn: per weight (above), and the batch's inputs
    # and the Hessian product's nine N x (n_1 + ... + 1) buffers (GraSP)
    sizes = [(_SWEEP_BYTES_PER_WEIGHT * (max(1, n // input_ratio) * n + (hidden_layers - 1) * n * n + n)
              + 8.0 * m * (max(1, n // input_ratio) + 9 * (hidden_layers * n + 1)), n, m)
             for n, m in zip(widths, batch_sizes)]
    if sizes:
        need, n, m = max(sizes)
        check_memory(f"width_sweep at width {n} of widths (batch_size {m}; the network, its scores and masks, the "
                     f"studied layer's factors, limit and cut distance: about {_SWEEP_BYTES_PER_WEIGHT} bytes a "
                     f"weight)", need)
    common_batch = batch_sizes[0] if len(set(batch_sizes)) == 1 else None  # None when it varies
    has_formula = (method == "snip" and (common_batch == 1 or (hidden_layers == 1 and layer == 1))) or \
        (method == "synflow" and iterations == 1)
    if factors == "formula" and not has_formula:
        raise ValueError(f"factors='formula' is available for SNIP (one example, or the first layer of a "
                         f"one-hidden-layer network) and one-shot SynFlow, got method={method!r}")
    use_formula = has_formula and factors != "fitted"
    if limit == "auto":
        limit = _auto_limit(method, common_batch, layer, iterations, activation, sigma_b)
    if limit == "population" and _auto_limit(method, common_batch, layer, 1, activation, sigma_b) != "population":
        raise ValueError(f"limit='population' is known in closed form for single-example first-layer SNIP with "
                         f"a bias-free ReLU network only, got method={method!r}, batch_size={batch_size!r}, "
                         f"layer={layer}")
    if limit == "measured" and (method == "grasp" or (method == "synflow" and iterations > 1)):
        raise ValueError(f"method={method!r} (iterations={iterations}) has no FSM form with g = abs; use "
                         f"limit='constant'")
    # each width draws its network, batch and pruning from its own generator and the cut-norm solver from
    # another, so that a width's network does not depend on how many numbers the solver used before it
    streams = [child.spawn(2) for child in as_generator(seed).spawn(len(widths))]
    population = _population_snip_limit(density) if limit == "population" else None
    points = []
    for (n, m), (rng, solver_rng) in zip(zip(widths, batch_sizes), streams):
        d = max(1, n // input_ratio)
        net = MLP([d] + [n] * hidden_layers + [1], activation=activation, sigma_b=sigma_b,
                  readout_init=readout_init, seed=rng)
        X = rng.standard_normal((m, d))
        k = max(1, int(round(informative * d)))
        y = X[:, :k].sum(axis=1) / np.sqrt(k)
        scores = saliency(net, X, y, method, density=density, iterations=iterations, scope="layerwise", seed=rng)
        masks = prune(scores, density, scope="layerwise", keep="smallest" if method == "grasp" else "largest",
                      seed=rng)
        mask, score = masks[layer - 1], scores[layer - 1]
        theta = net.parameters()[layer - 1]
        threshold = float(score[mask.astype(bool)].min())
        row_factors, col_factors, residual = _factors(net, X, y, method, layer, score, theta,
                                                        use_formula)
        row_order = np.argsort(row_factors, kind="stable") if row_factors is not None else None
        col_order = np.argsort(col_factors, kind="stable") if col_factors is not None else None
        if limit == "constant" and method == "magnitude":
            W = limit_graphon("magnitude", density, weight_scale=float(net.row_scales(layer)[0]))
        elif limit == "constant":
            W = limit_graphon("random", density)
        elif population is not None:  # limit == "population"
            W = population
        else:
            W = limit_graphon("snip" if method == "snip" else "factorised", density, row_factor=row_factors,
                              col_factor=col_factors, weight_scale=float(net.row_scales(layer)[0]))
        bracket = cut_distance(mask, W, row_order=row_order, col_order=col_order, seed=solver_rng)
        points.append(ConvergencePoint(n, mask.shape, float(bracket.lower), float(bracket.upper),
                                       float(W.metadata["tau"]), threshold, residual))
    lower = [p.lower for p in points]
    upper = [p.upper for p in points]
    can_fit = len(points) >= 2 and min(lower) > 0
    setting = {"batch_size": batch_sizes, "input_ratio": input_ratio, "informative": informative,
               "hidden_layers": hidden_layers, "layer": layer, "activation": activation, "sigma_b": sigma_b,
               "iterations": iterations, "loss": "squared", "scope": "layerwise",
               "readout_init": readout_init, "factors": "formula" if use_formula else "fitted"}
    return ConvergenceResult(method, limit, density, tuple(points),
                             fitted_slope(widths, lower) if can_fit else float("nan"),
                             fitted_slope(widths, upper) if len(points) >= 2 else float("nan"), setting)


def _factors(net, X, y, method, layer, score, theta, use_formula):
    """Row and column factors of the studied layer, and the factorisation residual of scores / |theta|."""
    if method in ("random", "magnitude"):
        return None, None, float("nan")
    fit = factorise(score, weights=theta)
    residual = fit.residual
    if not use_formula:
        return fit.row_factors, fit.col_factors, residual
    if method == "synflow":
        forward, backward = synflow_path_sums(net.effective_weights())
        return backward[layer - 1], forward[layer - 1], residual
    output, cache = net.forward(X)
    residuals = output[:, 0] - y  # r = f_0 - y; squared loss: dL/dh = (r / m) df/dh
    if X.shape[0] == 1:
        delta = net.backward(cache, residuals[:, None])[layer - 1]
        return np.abs(delta[0]), np.abs(cache.post[layer - 1][0]), residual
    readout = net.effective_weights()[1][0]
    active = net.activation.derivative(cache.pre[0]).mean(axis=0)
    return np.abs(readout * active), np.abs(residuals @ X) / X.shape[0], residual
