r"""Graphon-NTK and NNGP kernels of sparse MLPs in the infinite-width limit (docs/theory/ntk.rst).

A network with input dimension :math:`d`, hidden layers :math:`l = 1..L` whose masks converge to the
graphons :math:`W_1, \dots, W_L` and a dense readout has, in the NTK parameterisation, the NNGP kernel
:math:`K(x, x')` and the neural tangent kernel :math:`\Theta(x, x')` computed by :func:`graphon_ntk`.
For a hidden layer :math:`l \ge 2` and a neuron at latent position :math:`u`,

.. math::

    \Sigma^l(u) = \frac{\sigma_w^2}{\rho_l}\int_0^1 W_l(u,v)\,F\big(\Sigma^{l-1}(v)\big)\,dv + \sigma_b^2,
    \qquad
    \Theta^l(u) = \Sigma^l(u) + \frac{\sigma_w^2}{\rho_l}\int_0^1 W_l(u,v)\,\Theta^{l-1}(v)\,
    \dot F\big(\Sigma^{l-1}(v)\big)\,dv,

and the readout gives :math:`K = \sigma_w^2 \int F(\Sigma^L) + \sigma_b^2`,
:math:`\Theta = K + \sigma_w^2 \int \Theta^L \dot F(\Sigma^L)`. The first layer sees the :math:`d`
input coordinates at :math:`v_j = (j - 1/2)/d`; see :func:`graphon_ntk` for its two regimes.

Computation: every hidden layer is discretised on a quadrature grid of its neurons' positions; the
kernels of all pairs of inputs are carried together as an ``(m, P)`` array (m nodes, P pairs: the
packed upper triangle for one input set). Per layer, the Gaussian expectations :math:`F, \dot F`
are mapped elementwise (numba on the CPU, a cupy kernel on the GPU) and the integral is one matrix
product with :math:`K_{ik} = \sigma_w^2 W(u_i, u_k) w_k / \rho` (BLAS / cuBLAS). Pairs are tiled so
that the working set stays within the memory budget.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np

from ._backend import get_array_module, resolve_backend, to_numpy
from ._config import get_options
from .adaptive import (DEFAULT_MAX_NODES, DEFAULT_NODES_PER_PANEL, AccuracyWarning, adaptive_rule, check_rule_or_tol,
                       graphon_rule, lobatto_companions)
from ._validation import (as_float_array, as_generator, check_choice, check_float_dtype, check_memory,
                          check_nonnegative_float, check_positive_int, check_sorted_breakpoints, format_bytes)
from .activations import Activation, get_activation
from .graphon import DEFAULT_NODES_PER_PIECE, Graphon, graphon
from .quadrature import QuadratureRule, composite

__all__ = ["graphon_ntk", "GraphonNTKResult", "ReadoutProfile", "FIRST_LAYERS", "NORMALIZATIONS", "DEFAULT_HERMITE_ORDER",
           "DEFAULT_MAX_PATTERNS", "DEFAULT_MONTE_CARLO_SAMPLES", "MONTE_CARLO_BATCHES"]

FIRST_LAYERS = ("patterns", "mean-field")
NORMALIZATIONS = ("none", "density", "degree")
_CLOSED_FORMS = ("relu", "erf", "identity")
_STEP_KINDS = ("step", "constant")

#: Gauss--Hermite order per dimension for activations without a closed form (:math:`n^2` evaluations
#: of :math:`\varphi` per expectation). The rule is exact for polynomials of degree :math:`2n - 1` in
#: each variable; for analytic φ the error decays geometrically in :math:`n` at a rate that slows as
#: the variance :math:`q` grows. Measured on erf treated as a black box (worst of F, Ḟ): order 40 gives
#: 2e-16 at q = 0.25, 1e-7 at q = 1, 5e-3 at q = 4; order 80: 1e-14 at q = 1, 5e-5 at q = 4; order
#: 160: 4e-9 at q = 4. Raise ``hermite_order`` for large pre-activation variances.
DEFAULT_HERMITE_ORDER = 40
#: Largest Gauss--Hermite order: numpy's ``hermegauss`` weights underflow to NaN from order 372 on.
MAX_HERMITE_ORDER = 300

#: Largest pre-activation variance (and tangent) accepted: the maps multiply two of them, and
#: sqrt(float64 max) is about 1.3e154; beyond this the kernels would overflow (inf, NaN or a silent 0).
LARGEST_VARIANCE = 1e150
#: Largest sigma_w or sigma_b: their squares scale the variances, which must stay below LARGEST_VARIANCE.
LARGEST_SIGMA = 1e75

#: First-layer row patterns enumerated exactly up to this many (2^12: d = 12 random coordinates).
DEFAULT_MAX_PATTERNS = 4096

#: Monte Carlo patterns per first-layer node when enumeration would exceed ``max_patterns``.
DEFAULT_MONTE_CARLO_SAMPLES = 512

#: Independent batches of the Monte Carlo first layer; their spread gives the standard error.
MONTE_CARLO_BATCHES = 8



@dataclasses.dataclass(frozen=True)
class GraphonNTKResult:
    r"""Kernels computed by :func:`graphon_ntk`.

    Attributes
    ----------
    nngp, ntk : ndarray, shape (N, N) or (N, N2)
        :math:`K(x_a, x'_b)` and :math:`\Theta(x_a, x'_b)`.
    nngp_standard_error, ntk_standard_error : ndarray or None
        Monte Carlo standard errors (first layer sampled), else None (exact).
    first_layer : str
        ``"patterns"`` or ``"mean-field"`` (what was asked).
    first_layer_method : str
        How it was computed: ``"enumeration"`` (exact), ``"monte-carlo"``, ``"mean-field"``, or
        ``"mean-field (exact for this activation)"`` (identity activation: pattern averaging is linear).
    n_patterns : int
        Row patterns (first-layer virtual nodes) per realisation.
    nodes : tuple of int
        Quadrature nodes of each hidden layer.
    normalization, activation, backend : str
    n_tiles : int
        Tiles of input pairs the work was split into (1: untiled).
    weights : str
        ``"fresh"`` (re-drawn after pruning: weight graphons equal to the connectivity graphons) or
        ``"kept"`` (the weights pruning selected, described by ``weight_graphons``).
    error_estimate : float or None
        Estimated quadrature error, :math:`\max |K_G - K_L|` over the entries of both kernels (absolute;
        docs/theory/ntk.rst, "Quadrature error"): 0 for grids that integrate step graphons exactly, None
        for a grid the caller gave or a Monte Carlo first layer.
    """

    nngp: np.ndarray
    ntk: np.ndarray
    nngp_standard_error: np.ndarray | None
    ntk_standard_error: np.ndarray | None
    first_layer: str
    first_layer_method: str
    n_patterns: int
    nodes: tuple
    normalization: str
    activation: str
    backend: str
    n_tiles: int
    weights: str = "fresh"
    error_estimate: float | None = None

    _ARRAYS = ("nngp", "ntk", "nngp_standard_error", "ntk_standard_error")

    def __post_init__(self):
        # results are values: their arrays cannot be changed in place by mistake
        for name in self._ARRAYS:
            array = getattr(self, name)
            if isinstance(array, np.ndarray):
                array.flags.writeable = False

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.ntk.shape))
        error = "" if self.ntk_standard_error is None else \
            f", Monte Carlo standard error <= {float(np.max(self.ntk_standard_error)):.2g}"
        if self.error_estimate:
            error += f", quadrature error estimate {self.error_estimate:.2g}"
        return (f"GraphonNTKResult({shape} NNGP and NTK, {self.activation}, first layer {self.first_layer_method}, "
                f"{self.weights} weights, nodes {self.nodes}{error})")

    def save(self, path) -> None:
        """Write the kernels and every attribute to ``path`` (``.npz``); :meth:`load` reads it back.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> result = graphon_ntk(np.eye(3), [0.5], sigma_b=0.1)
        >>> path = os.path.join(tempfile.mkdtemp(), "kernels.npz")
        >>> result.save(path)
        >>> again = GraphonNTKResult.load(path)
        >>> print(again)
        GraphonNTKResult(3x3 NNGP and NTK, relu, first layer enumeration, fresh weights, nodes (1,))
        >>> print(np.array_equal(again.ntk, result.ntk), again.ntk.flags.writeable)
        True False
        """
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        arrays = {name: fields.pop(name) for name in self._ARRAYS if fields[name] is not None}
        for name in self._ARRAYS:
            fields.pop(name, None)
        np.savez(path, **arrays, metadata=np.array(json.dumps({**fields, "nodes": list(self.nodes)})))

    @classmethod
    def load(cls, path) -> "GraphonNTKResult":
        """Read a result written by :meth:`save` (no pickle is involved)."""
        with np.load(path, allow_pickle=False) as data:
            metadata = json.loads(str(data["metadata"]))
            arrays: dict[str, Any] = {name: (np.array(data[name]) if name in data else None) for name in cls._ARRAYS}
        metadata["nodes"] = tuple(metadata["nodes"])
        return cls(**arrays, **metadata)


# ---------------------------------------------------------------------------------------------- public


def graphon_ntk(X, graphons, *, weight_graphons=None, activation="relu", sigma_w: float = 1.0,
                sigma_b: float = 0.0, rule=None, tol: float | None = None, first_layer: str = "patterns", normalization: str = "none", X2=None,
                backend: str | None = None, dtype=np.float64, hermite_order: int = DEFAULT_HERMITE_ORDER,
                max_patterns: int = DEFAULT_MAX_PATTERNS, n_samples: int = DEFAULT_MONTE_CARLO_SAMPLES,
                seed=None, memory_budget: int | None = None) -> GraphonNTKResult:
    r"""NNGP and NTK kernels of an infinitely wide MLP whose layer masks converge to ``graphons``.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs (finite).
    graphons : sequence of Graphon (or anything :func:`~graphon_ops.graphon` accepts)
        :math:`W_1, \dots, W_L` for the ``L >= 1`` hidden layers. :math:`W_l(u, v)`: neuron ``u`` of
        layer ``l``, neuron ``v`` of layer ``l - 1``; for :math:`W_1` the column side is the input
        coordinate, evaluated at :math:`v_j = (j - 1/2)/d`. The readout is dense. Raw 0/1 masks
        (integer or boolean arrays, or :meth:`Graphon.from_mask`) must chain: ``(n_1, d)``, then
        ``(n_l, n_{l-1})``; a readout mask (one row) is refused, since the readout is not a hidden layer.
    weight_graphons : sequence, optional
        Kept weights. ``None`` (default): the weights are re-drawn after pruning (fresh), every
        :math:`M_l = W_l`. Otherwise ``L`` or ``L + 1`` entries: entry ``l`` is the weight graphon
        :math:`M_{l+1}(u, v) = E[\theta^2 1\{\text{kept}\}]` of hidden layer ``l + 1`` (raw weights
        :math:`\theta \sim N(0, 1)`, so values in [0, 1]; ``None`` for a layer whose weights are fresh),
        and the optional last entry is the readout's weight profile :math:`r(u) = E[v^2 \mid u] \ge 0`
        over the last hidden layer's neurons (anything :meth:`ReadoutProfile.from_any` takes: a number,
        step values, ``(values, breaks)`` or a callable; default 1). :math:`M_l` must vanish where
        :math:`W_l` does. See ``docs/theory/ntk.rst`` (kept weights).
    activation : {"relu", "erf", "identity", "tanh", "gelu", "sigmoid"} or Activation
        relu, erf and identity use closed forms; anything else (including a user
        :class:`~graphon_ops.activations.Activation` with ``fn`` and ``derivative``) uses 2-D
        Gauss--Hermite quadrature of order ``hermite_order`` per dimension.
    sigma_w, sigma_b : float
        Weight and bias scales (>= 0).
    rule : QuadratureRule or sequence of L QuadratureRule, optional
        Grid of each hidden layer's neurons. Default: one midpoint node per piece of the common
        refinement of the breakpoints of :math:`W_l` (rows) and :math:`W_{l+1}` (columns) when both are
        step or constant graphons (exact), else composite Gauss--Legendre with
        ``DEFAULT_NODES_PER_PIECE`` nodes per piece of that refinement, whose quadrature error is
        estimated (``error_estimate`` of the result).
    tol : float, optional
        Relative accuracy asked for instead of a ``rule``: adaptive grids
        (:func:`~graphon_ops.adaptive.graphon_rule` on every side of each layer, kinks and jumps found
        without being announced) are refined until the estimated error is at most ``tol`` times the
        largest kernel entry; an :class:`~graphon_ops.adaptive.AccuracyWarning` if that cannot be reached.
        In ``[1e-14, 1)``; not with a Monte Carlo first layer.
    first_layer : {"patterns", "mean-field"}
        ``"patterns"`` (default): the exact limit for a fixed input dimension ``d``. A first-layer
        neuron keeps its own Bernoulli row pattern :math:`m \in \{0,1\}^d` with
        :math:`P(m_j = 1) = W_1(u, v_j)`, and the layer-2 integrands are averaged over patterns:
        :math:`E_m[F(\Sigma^1_m)]`, :math:`E_m[\Sigma^1_m \dot F(\Sigma^1_m)]`. Patterns are enumerated
        exactly when at most ``max_patterns`` have non-zero probability, else sampled (Monte Carlo,
        ``n_samples`` per node in :data:`MONTE_CARLO_BATCHES` batches, standard errors reported).
        ``"mean-field"``: :math:`\Sigma^1(u) = \sigma_w^2/(\rho_1 d)\sum_j W_1(u, v_j) x_j x'_j + \sigma_b^2`;
        exact when the rows are deterministic given ``u`` (0/1 values of :math:`W_1`) or when ``d``
        grows with the width; for a fixed small ``d`` it differs from the finite networks' limit.
    normalization : {"none", "density", "degree"}
        ``"none"`` (default, the Graphon-NTK of the literature): :math:`\rho_l = 1`. ``"density"``:
        :math:`\rho_l` = the layer's density. ``"degree"``: :math:`\rho_l n_{l-1}` becomes the
        neuron's fan-in (:math:`d_\mathrm{out}(u)` of :math:`W_l`, :math:`|m|` for a first-layer
        pattern); a neuron without inputs carries only its bias.
    X2 : array_like, shape (N2, d), optional
        Second input set: kernels are ``(N, N2)``.
    backend : {"cpu", "gpu", "auto"}
        ``"gpu"`` (cupy) runs the elementwise maps and matrix products on the device: the inputs and
        layer matrices are copied there once, the results copied back (numpy arrays either way).
        ``"auto"`` picks ``"gpu"`` when ``X`` or ``X2`` is a cupy array.
    dtype : {float64, float32}
        dtype of the returned arrays (the recursion runs in float64).
    hermite_order, max_patterns, n_samples : int
        See ``activation`` and ``first_layer``.
    seed : None, int or Generator
        Monte Carlo first layer only.
    memory_budget : int, optional
        Memory budget in bytes (default ``options().memory_budget_bytes``) for the results -- the two
        :math:`N \times N_2` float64 arrays, nine with the Monte Carlo accumulators -- and the working set
        of the pair tiles, which are sized to fit in what the results leave. A call that cannot fit is
        refused before anything large is allocated, with the amount needed.

    Returns
    -------
    GraphonNTKResult
        ``.nngp`` and ``.ntk`` (numpy arrays), with how the first layer was computed and the
        estimated quadrature error.

    Notes
    -----
    Kept weights change the recursion: the forward covariance sees the weights, the layer's own
    gradient term sees only which weights exist,

    .. math::

        \Sigma^l(u) = \frac{\sigma_w^2}{\rho_l}\int M_l F(\Sigma^{l-1}) + \sigma_b^2,\quad
        \Theta^l(u) = \frac{\sigma_w^2}{\rho_l}\int W_l F(\Sigma^{l-1}) + \sigma_b^2
        + \frac{\sigma_w^2}{\rho_l}\int M_l\,\Theta^{l-1}\dot F(\Sigma^{l-1}),

    with :math:`\rho_l` and the fan-ins taken from :math:`W_l`. In the first layer a pattern's
    covariance uses :math:`E[\theta_j^2 \mid \text{kept}] = M_1/W_1` per coordinate and its NTK term the
    pattern itself: the pre-activation of a neuron with few kept inputs is a sum of a few conditioned,
    non-Gaussian weights, and the Gaussian expectations :math:`F, \dot F` are then a closure with
    matched second moments (exact as ``d`` grows, and for the identity activation).

    With :math:`\Theta^1 = \Sigma^1`, the pattern-averaged form (docs/theory/ntk.rst) is exact for a fixed ``d``
    because each first-layer neuron's covariance depends on its own finite row only, and the
    layer-2 sum over neurons is an average over positions and patterns (law of large numbers). The
    recursion is in ``docs/theory/ntk.rst``, including the cost model and the exactness of the
    one-node-per-block grids of step graphons (constant graphons: one node, the dense cost).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> dense = graphon_ntk(X, [1.0, 1.0])
    >>> half = graphon_ntk(X, [0.5, 0.5], first_layer="mean-field")
    >>> float(np.max(np.abs(half.ntk - 0.25 * dense.ntk)))    # ReLU, no bias: c^L scaling
    0.0

    Magnitude pruning at density 0.2 of the second layer, weights kept: the kept weights' second
    moment is :math:`M = 0.2 + \sqrt{2/\pi}\,\tau e^{-\tau^2/2}` with :math:`\tau = \sqrt 2\,\mathrm{erfc}^{-1}(0.2)`.

    >>> from scipy.special import erfcinv
    >>> tau = np.sqrt(2) * erfcinv(0.2)
    >>> M = 0.2 + np.sqrt(2 / np.pi) * tau * np.exp(-tau ** 2 / 2)
    >>> kept = graphon_ntk(X, [1.0, 0.2], weight_graphons=[1.0, M], sigma_w=np.sqrt(2))
    >>> fresh = graphon_ntk(X, [1.0, 0.2], sigma_w=np.sqrt(2))
    >>> kept.weights, round(float(np.trace(kept.ntk) / np.trace(fresh.ntk)), 4)
    ('kept', 2.4994)
    """
    backend = resolve_backend(backend, X, X2)  # before conversion: "auto" looks at the input types
    X = as_float_array("X", to_numpy(X), ndim=2, dtype=np.float64)
    d = X.shape[1]
    if X2 is not None:
        X2 = as_float_array("X2", to_numpy(X2), ndim=2, dtype=np.float64)
        if X2.shape[1] != d:
            raise ValueError(f"X2 must have the {d} columns of X, got shape {X2.shape}")
    layers = _check_graphons(graphons, d)
    weight_layers, readout_weights = _check_weight_graphons(weight_graphons, len(layers))
    activation = get_activation(activation)
    sigma_w, sigma_b = (_check_sigma(name, value) for name, value in (("sigma_w", sigma_w), ("sigma_b", sigma_b)))
    first_layer = check_choice("first_layer", first_layer, FIRST_LAYERS)
    normalization = check_choice("normalization", normalization, NORMALIZATIONS)
    hermite_order = check_positive_int("hermite_order", hermite_order)
    if hermite_order > MAX_HERMITE_ORDER:
        raise ValueError(f"hermite_order must be at most {MAX_HERMITE_ORDER} (numpy's Gauss-Hermite weights "
                         f"underflow beyond about 370 nodes), got {hermite_order}")
    max_patterns = check_positive_int("max_patterns", max_patterns)
    n_samples = check_positive_int("n_samples", n_samples, minimum=MONTE_CARLO_BATCHES)
    check_float_dtype("dtype", dtype)
    budget = get_options().memory_budget_bytes if memory_budget is None \
        else check_positive_int("memory_budget", memory_budget)
    as_generator(seed)  # a bad seed is refused even where the first layer draws nothing
    tol = check_rule_or_tol(rule, tol)
    closed_form = activation.closed_form and activation.name in _CLOSED_FORMS
    linear = closed_form and activation.name == "identity"
    xp = get_array_module(backend)
    kernels = _kernel_module(backend)
    maps = _select_maps(activation, kernels, hermite_order, closed_form)

    def compute(rules, X, X2):
        """Both kernels of ``X`` (and ``X2``) with hidden-layer grids ``rules``."""
        # the layer matrices: the first layer's averaging (up to m_1 x m_1) and per hidden layer the
        # connectivity on the grid, its weighted copy and the normalised stage matrices (5 of m_l x m_(l-1))
        sizes = [r.size for r in rules]
        check_memory(f"graphon_ntk's layer matrices on grids of {sizes} nodes", 8.0 * (
            sizes[0] ** 2 + 5 * sum(float(a) * b for a, b in zip(sizes[1:], sizes[:-1]))), budget)
        realisations, method = _first_layer(layers[0], weight_layers[0], rules[0], d, first_layer, normalization,
                                            sigma_w, linear, max_patterns, n_samples, seed, budget)
        hidden = [_hidden_matrices(W, weight_layers[l], rules[l], rules[l - 1], normalization, sigma_w, l)
                  for l, W in enumerate(layers) if l > 0]
        readout = _readout_matrices(readout_weights, rules[-1], sigma_w)
        n_rows, n_cols = X.shape[0], X.shape[0] if X2 is None else X2.shape[0]
        # the results count in the budget: NNGP and NTK, plus for Monte Carlo the running means' batch,
        # squared deviations, standard errors and one temporary of their computation
        n_results = 2 if len(realisations) == 1 else 9
        result_bytes = 8 * n_results * n_rows * n_cols
        check_memory(f"graphon_ntk's results ({n_results} arrays of {n_rows} x {n_cols} float64: the NNGP and NTK"
                     + ("" if n_results == 2 else ", the Monte Carlo batch, accumulators and standard errors")
                     + "; compute it out of core with graphon_ops.distributed.graphon_ntk(X, graphons, "
                       "block_size=4096, ...).to_zarr(path), or in row blocks graphon_ntk(X[i:j], ..., X2=X))",
                     result_bytes, budget)
        # CPU: one chunk of pairs per numba thread (numba.set_num_threads / NUMBA_NUM_THREADS set how many)
        threads = 1 if backend == "gpu" else numba.get_num_threads()
        plan = _plan_tiles(n_rows, None if X2 is None else n_cols, d, realisations, hidden, readout,
                           budget - result_bytes, threads)
        # Monte Carlo batches: running mean and sum of squared deviations (Welford), so that memory stays at
        # four result-sized arrays whatever the number of batches.
        nngp = ntk = nngp_squares = ntk_squares = None
        for count, (coefficients, averaging) in enumerate(realisations, start=1):
            matrices = _stage_matrices(hidden, readout, averaging)
            # overflow (inputs or scales far too large) is reported once, as a ValueError after the loop
            with _single_threaded_blas(backend), np.errstate(over="ignore", invalid="ignore"):
                batch_nngp, batch_ntk = _run_tiles(xp, kernels, maps, X, X2, plan, coefficients, matrices,
                                                   sigma_b ** 2)
            if count == 1:
                nngp, ntk = batch_nngp, batch_ntk
                if len(realisations) > 1:
                    nngp_squares, ntk_squares = np.zeros_like(nngp), np.zeros_like(ntk)
                continue
            for mean, squares, batch in ((nngp, nngp_squares, batch_nngp), (ntk, ntk_squares, batch_ntk)):
                deviation = batch - mean
                mean += deviation / count
                squares += deviation * (batch - mean)
        assert nngp is not None and ntk is not None  # realisations is never empty
        if not (np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk))):
            raise ValueError(f"graphon_ntk overflowed float64 (the kernels hold inf or NaN): the pre-activation "
                             f"variances grow past about 1e308 with inputs up to |x| = {float(np.abs(X).max()):.3g}"
                             + ("" if X2 is None else f" (X2 up to {float(np.abs(X2).max()):.3g})")
                             + f", sigma_w = {sigma_w!r}, sigma_b = {sigma_b!r}, normalization = {normalization!r} "
                             f"(which divides by the layer densities); rescale the inputs or sigma_w (with sigma_b = 0 "
                             f"the ReLU kernels are homogeneous: K(c x, c x') = c^2 K(x, x'))")
        standard_errors = None
        if len(realisations) > 1:
            count = len(realisations)
            assert nngp_squares is not None and ntk_squares is not None  # set by the first of several batches
            standard_errors = tuple(np.sqrt(squares / (count - 1) / count).astype(dtype)
                                    for squares in (nngp_squares, ntk_squares))
        return _Kernels(nngp, ntk, standard_errors, method, int(realisations[0][0][0].shape[0]), len(plan.tiles))

    if rule is not None:
        rules = _hidden_rules(layers, rule, weight_layers, readout_weights)
        found, error_estimate = compute(rules, X, X2), None
    else:
        found, rules, error_estimate = _with_error_estimate(compute, X, X2, layers, weight_layers, readout_weights,
                                                            tol)
    nngp_se, ntk_se = (None, None) if found.standard_errors is None else found.standard_errors
    return GraphonNTKResult(nngp=found.nngp.astype(dtype, copy=False), ntk=found.ntk.astype(dtype, copy=False),
                            nngp_standard_error=nngp_se, ntk_standard_error=ntk_se, first_layer=first_layer,
                            first_layer_method=found.method, n_patterns=found.n_patterns,
                            nodes=tuple(r.size for r in rules), normalization=normalization,
                            activation=activation.name, backend=backend, n_tiles=found.n_tiles,
                            weights="fresh" if readout_weights is None and weight_layers == [None] * len(layers)
                            else "kept", error_estimate=error_estimate)


@dataclasses.dataclass(frozen=True)
class _Kernels:
    nngp: np.ndarray
    ntk: np.ndarray
    standard_errors: tuple | None   # (NNGP, NTK) Monte Carlo standard errors
    method: str
    n_patterns: int
    n_tiles: int


#: Inputs on which the quadrature error of a larger call is estimated (docs/theory/ntk.rst, "Quadrature error").
ESTIMATE_INPUTS = 256

#: Rounds of bisection graphon_ntk(tol=...) tries before it reports the accuracy reached.
MAX_REFINEMENTS = 6


def _estimate_inputs(X):
    """All of ``X`` when small, else the largest-norm half of :data:`ESTIMATE_INPUTS` (where the kernels and
    their errors are largest) and an evenly spaced other half."""
    if X is None or X.shape[0] <= ESTIMATE_INPUTS:
        return X
    norms = np.einsum("ij,ij->i", X, X)
    chosen = np.union1d(np.argsort(norms)[-(ESTIMATE_INPUTS // 2):],
                        np.linspace(0, X.shape[0] - 1, ESTIMATE_INPUTS // 2).astype(np.int64))
    return X[chosen]


def _with_error_estimate(compute, X, X2, layers, weight_layers, readout_weights, tol):
    r"""Kernels on the default (``tol`` None) or adaptive hidden-layer rules, with the estimated quadrature error.

    The estimate is :math:`\max(|K_G - K_L|, |K_G - K_{G/2}|)` over the entries of both kernels, where
    :math:`K_L` replaces every Gauss--Legendre panel by its Gauss--Lobatto companion
    (:func:`~graphon_ops.adaptive.lobatto_companions`: it sees a jump between a panel's end and its first
    node) and :math:`K_{G/2}` bisects every panel (it sees a kink that moves with the node, such as the
    diagonal of :math:`\min(u, v)`, where both other rules put the kink at their own nodes and err
    alike), computed on :func:`_estimate_inputs`. With ``tol``, the rules are bisected until the estimate
    is at most ``tol`` times the largest kernel entry (the bisected kernels just computed are the next
    round's, so a round costs two kernels of the sample); :data:`MAX_REFINEMENTS` rounds or
    ``DEFAULT_MAX_NODES`` nodes at most, then an AccuracyWarning. Rules of step graphons integrate exactly:
    estimate 0, nothing more computed.
    """
    sample, sample2 = _estimate_inputs(X), _estimate_inputs(X2)
    rules, exact = _adaptive_rules(layers, weight_layers, readout_weights, tol) if tol is not None \
        else _default_rules(layers, weight_layers, readout_weights)
    if all(exact):
        return compute(rules, X, X2), rules, 0.0
    gauss = compute(rules, sample, sample2)
    if gauss.method == "monte-carlo":
        if tol is not None:
            raise ValueError("tol bounds the quadrature error, which the Monte Carlo first layer's sampling "
                             "error would swamp: use first_layer='mean-field', a larger max_patterns (exact "
                             "enumeration), or a fixed rule")
        return compute(rules, X, X2), rules, None
    for round_ in range(MAX_REFINEMENTS):
        lobatto = compute([rule if step else lobatto_companions(rule)[0] for rule, step in zip(rules, exact)],
                          sample, sample2)
        finer_rules = [rule if step else _bisected(rule) for rule, step in zip(rules, exact)]
        finer = compute(finer_rules, sample, sample2)
        estimate = max(_largest_difference(gauss, other) for other in (lobatto, finer))
        scale = max(float(np.max(np.abs(gauss.nngp))), float(np.max(np.abs(gauss.ntk))))
        if tol is None or estimate <= tol * scale:
            break
        if round_ + 1 == MAX_REFINEMENTS or max(r.size for r in finer_rules) > DEFAULT_MAX_NODES:
            warnings.warn(AccuracyWarning(
                f"graphon_ntk stopped at an estimated error of {estimate:.3g} ({estimate / scale:.3g} of the "
                f"largest kernel entry) > tol={tol:g} with hidden-layer rules of {[r.size for r in rules]} nodes; "
                f"ask for a larger tol, or give rules with the breakpoints of the graphons"), stacklevel=3)
            break
        rules, gauss = finer_rules, finer
    found = gauss if sample is X and sample2 is X2 else compute(rules, X, X2)
    return found, rules, estimate


def _largest_difference(a: _Kernels, b: _Kernels) -> float:
    return max(float(np.max(np.abs(a.nngp - b.nngp))), float(np.max(np.abs(a.ntk - b.ntk))))


def _bisected(rule: QuadratureRule) -> QuadratureRule:
    """The composite Gauss--Legendre ``rule`` with every panel cut in two (same nodes per panel)."""
    ends = rule.breakpoints
    return composite("gauss_legendre", rule.size // (ends.size - 1),
                     np.union1d(ends, (ends[:-1] + ends[1:]) / 2.0))


# ------------------------------------------------------------------------------------- validation


def _graphon_list(name: str, graphons) -> list:
    if isinstance(graphons, Graphon):
        graphons = [graphons]
    if isinstance(graphons, (str, bytes, np.ndarray)) or not isinstance(graphons, Sequence):
        raise ValueError(f"{name} must be a non-empty sequence of graphons (one per hidden layer), got "
                         f"{type(graphons).__name__}")
    if len(graphons) == 0:
        raise ValueError(f"{name} must hold at least one graphon (one per hidden layer), got an empty list")
    return list(graphons)


def _as_layer_graphon(name: str, obj) -> Graphon:
    try:
        return graphon(obj)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _mask_shape(obj) -> tuple | None:
    """Shape of a raw 0/1 mask (integer/boolean array or :meth:`Graphon.from_mask`), else None."""
    if isinstance(obj, Graphon):
        return tuple(obj.metadata["shape"]) if obj.metadata.get("source") == "mask" else None
    array = np.asarray(obj) if isinstance(obj, (np.ndarray, list, tuple)) else None
    if array is None or array.ndim != 2 or not (array.dtype == bool or np.issubdtype(array.dtype, np.integer)):
        return None
    return array.shape if np.all((array == 0) | (array == 1)) else None


def _check_sigma(name: str, value) -> float:
    """A scale in ``[0, LARGEST_SIGMA]``: its square multiplies every variance of the recursion."""
    sigma = check_nonnegative_float(name, value)
    if sigma > LARGEST_SIGMA:
        raise ValueError(f"{name} must be at most {LARGEST_SIGMA:g}: {name}**2 scales the pre-activation variances, "
                         f"which overflow float64 in the maps' products beyond {LARGEST_VARIANCE:g}; got {value!r}")
    return sigma


def _check_graphons(graphons, d: int) -> list[Graphon]:
    entries = _graphon_list("graphons", graphons)
    shapes = [_mask_shape(obj) for obj in entries]
    for l, shape in enumerate(shapes):
        if shape is None:
            continue
        previous = shapes[l - 1] if l > 0 else None
        below = d if l == 0 else (previous[0] if previous is not None else None)
        what = "the input dimension d" if l == 0 else f"the rows of graphons[{l - 1}]"
        if below is not None and shape[1] != below:
            raise ValueError(f"graphons[{l}] is a {shape[0]} x {shape[1]} mask but must have {below} columns "
                             f"({what}): hidden masks chain as (n_1, d), (n_2, n_1), ... (a transposed mask?)")
        if shape[0] == 1 and l == len(entries) - 1 and l > 0:
            raise ValueError(f"graphons[{l}] is a 1 x {shape[1]} mask: a readout mask, not a hidden layer "
                             f"(the readout is dense in the Graphon-NTK); pass the hidden layers' masks only")
    return [_as_layer_graphon(f"graphons[{l}]", obj) for l, obj in enumerate(entries)]


@dataclasses.dataclass(frozen=True)
class ReadoutProfile:
    r"""The readout weights' second moment :math:`r(u) = E[v^2 \mid u] \ge 0` over the last hidden layer.

    Not a graphon: when the neurons' latent positions depend on their outgoing weights (SNIP's row
    factor contains :math:`|v_i|`), :math:`r` exceeds 1 where those weights are large (its mean over
    :math:`u` is :math:`E[v^2] = 1`). Build with :meth:`from_any`.
    """

    function: Callable
    breaks: np.ndarray
    step: bool

    @classmethod
    def from_any(cls, obj, name: str = "readout profile") -> "ReadoutProfile":
        """A number, a 1-D array of step values on equal pieces, a pair ``(values, breaks)`` of a step
        profile, or a vectorised callable of ``u``.

        Examples
        --------
        >>> profile = ReadoutProfile.from_any(([0.5, 1.5], [0.0, 0.25, 1.0]))
        >>> profile.function(np.array([0.1, 0.9])).tolist()
        [0.5, 1.5]
        """
        if isinstance(obj, ReadoutProfile):
            return obj
        if callable(obj):
            return cls(lambda u: _check_profile(name, np.broadcast_to(obj(u), np.shape(u))), np.array([0.0, 1.0]),
                       False)
        if isinstance(obj, tuple) and len(obj) == 2:
            values, breaks = obj
            breaks = check_sorted_breakpoints(f"{name} breaks", breaks)
        else:
            values, breaks = obj, None
        values = _check_profile(name, as_float_array(name, values, ndim=(0, 1)).reshape(-1))
        breaks = np.linspace(0.0, 1.0, values.size + 1) if breaks is None else breaks
        if breaks.size != values.size + 1:
            raise ValueError(f"{name}: {values.size} values need {values.size + 1} breaks, got {breaks.size}")
        return cls(lambda u: values[np.clip(np.searchsorted(breaks, u, side="right") - 1, 0, values.size - 1)],
                   breaks, True)


def _check_profile(name, values):
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        bad = values[~(np.isfinite(values) & (values >= 0))].ravel()[0]
        raise ValueError(f"{name} must be finite and >= 0 (a second moment), got {bad!r}")
    return values


def _check_weight_graphons(weight_graphons, depth: int) -> tuple[list, ReadoutProfile | None]:
    """Per hidden layer a weight graphon or None (fresh), and the readout's profile or None."""
    if weight_graphons is None:
        return [None] * depth, None
    entries = _graphon_list("weight_graphons", weight_graphons)
    if len(entries) not in (depth, depth + 1):
        raise ValueError(f"weight_graphons must hold {depth} weight graphons (one per hidden layer) or "
                         f"{depth + 1} (the readout's profile last), got {len(entries)}")
    checked = [None if obj is None else _as_layer_graphon(f"weight_graphons[{l}]", obj)
               for l, obj in enumerate(entries[:depth])]
    readout = entries[depth] if len(entries) > depth else None
    return checked, None if readout is None else ReadoutProfile.from_any(readout, f"weight_graphons[{depth}]")


def _layer_on_grid(name: str, W: Graphon, rows, cols) -> np.ndarray:
    """``W.on_grid(rows, cols)``, a bad value (outside [0, 1], not finite) reported under the layer's ``name``."""
    try:
        return W.on_grid(rows, cols)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _weights_on_grid(M, W_values, rows, cols, layer: int) -> np.ndarray:
    """:math:`M_l` on the grid of ``W_values``, refused where it is positive but :math:`W_l` vanishes."""
    values = _layer_on_grid(f"weight_graphons[{layer}]", M, rows, cols)
    orphan = (values > 0.0) & (W_values <= 0.0)
    if np.any(orphan):
        i, k = (int(a) for a in np.argwhere(orphan)[0])
        raise ValueError(f"weight_graphons[{layer}] is {float(values[i, k])!r} at (u, v) = ({rows[i]:.6g}, {cols[k]:.6g}) "
                         f"where graphons[{layer}] is 0: kept weights need a kept connection")
    return values


def _hidden_rules(layers: list[Graphon], rule, weight_layers=None, readout_weights=None) -> list[QuadratureRule]:
    """One rule per hidden layer (its neurons' positions): the user's, or the default grids."""
    depth = len(layers)
    if isinstance(rule, QuadratureRule):
        return [rule] * depth
    if rule is not None:
        if isinstance(rule, (str, bytes)) or not isinstance(rule, Sequence) or len(rule) != depth \
                or not all(isinstance(r, QuadratureRule) for r in rule):
            raise ValueError(f"rule must be None, a QuadratureRule or a sequence of {depth} QuadratureRules "
                             f"(one per hidden layer), got {rule!r}")
        return list(rule)
    return _default_rules(layers, weight_layers, readout_weights)[0]


def _layer_sides(layers, weight_layers, readout_weights, l):
    """``(function, axis)`` for every function of the neurons of hidden layer ``l``: the rows of its own
    graphons, the columns of the next layer's (or the readout profile, axis None)."""
    weight_layers = weight_layers or [None] * len(layers)
    sides = [(G, "row") for G in (layers[l], weight_layers[l]) if G is not None]
    if l + 1 < len(layers):
        sides += [(G, "col") for G in (layers[l + 1], weight_layers[l + 1]) if G is not None]
    elif readout_weights is not None:
        sides.append((readout_weights, None))
    return sides


def _side_breaks(function, axis):
    if axis is None:
        return function.breaks, function.step
    return (function.row_breaks if axis == "row" else function.col_breaks), function.kind in _STEP_KINDS


def _default_rules(layers, weight_layers, readout_weights):
    """Default grids and whether each is exact: one midpoint per piece of the common refinement of the
    breakpoints when every side is piecewise constant (Sigma^l is constant on each piece and the next
    integrand too), else ``DEFAULT_NODES_PER_PIECE`` Gauss--Legendre nodes per piece."""
    rules, exact = [], []
    for l in range(len(layers)):
        sides = [_side_breaks(function, axis) for function, axis in _layer_sides(layers, weight_layers,
                                                                                  readout_weights, l)]
        breaks = np.unique(np.concatenate([b for b, _ in sides]))
        step = all(s for _, s in sides)
        rules.append(composite("midpoint", 1, breaks) if step
                     else composite("gauss_legendre", DEFAULT_NODES_PER_PIECE, breaks))
        exact.append(step)
    return rules, exact


def _adaptive_rules(layers, weight_layers, readout_weights, tol):
    """Grids on the panels that integrate every side of each hidden layer to relative accuracy ``tol``
    (:func:`~graphon_ops.adaptive.graphon_rule`; the union of their panel ends with the default grid's
    breaks), and whether each is exact (the default one-midpoint grids of step layers are kept)."""
    defaults, exact = _default_rules(layers, weight_layers, readout_weights)
    rules = []
    for l, (default, step) in enumerate(zip(defaults, exact)):
        if step:
            rules.append(default)
            continue
        ends = [default.breakpoints]
        with warnings.catch_warnings():  # a side that stops early shows in the kernels' own estimate
            warnings.simplefilter("ignore", AccuracyWarning)
            for function, axis in _layer_sides(layers, weight_layers, readout_weights, l):
                if axis is None:
                    if not function.step:
                        ends.append(adaptive_rule(function.function, tol, breaks=function.breaks).rule.breakpoints)
                elif function.kind not in _STEP_KINDS:
                    ends.append(graphon_rule(function, tol, axis).rule.breakpoints)
        rules.append(composite("gauss_legendre", DEFAULT_NODES_PER_PANEL, np.unique(np.concatenate(ends))))
    return rules, exact


# ------------------------------------------------------------------------------------- first layer


def _first_layer(W1, M1, rule1, d, first_layer, normalization, sigma_w, linear, max_patterns, n_samples, seed,
                 budget):
    r"""Realisations ``[((variance coefficients, tangent coefficients) (n_v, d), averaging (m1, n_v))]`` and
    the method's name.

    Virtual node k has :math:`\Sigma^1_k(x, x') = \sum_j C_{kj} x_j x'_j + \sigma_b^2` and
    :math:`\Theta^1_k = \sum_j D_{kj} x_j x'_j + \sigma_b^2` (``D is C`` for fresh weights); the layer-2
    integrand at layer-1 node i is :math:`\sum_k A_{ik} F(\Sigma^1_k)`.
    """
    coordinates = (np.arange(d) + 0.5) / d
    keep = _layer_on_grid("graphons[0]", W1, rule1.nodes, coordinates)
    # kept weights: E[theta_j^2 | kept] = M/W per (node, coordinate); None for fresh weights
    ratio = None if M1 is None else np.divide(_weights_on_grid(M1, keep, rule1.nodes, coordinates, 0), keep,
                                              out=np.zeros_like(keep), where=keep > 0)
    density = float(rule1.weights @ keep.mean(axis=1))
    if normalization == "density" and density <= 0.0:
        raise ValueError("normalization='density' needs a first layer with positive density; W_1 vanishes at "
                         "every input coordinate")
    identity = np.eye(keep.shape[0])
    # Pattern averaging commutes with a linear F when the covariance is linear in the pattern.
    if first_layer == "mean-field" or (linear and normalization != "degree"):
        method = "mean-field" if first_layer == "mean-field" else "mean-field (exact for this activation)"
        return [_with_weights(_pattern_coefficients(keep, normalization, sigma_w, density), identity, ratio)], method
    patterns = _enumerate_patterns(keep, max_patterns)
    if patterns is not None:
        probabilities = _pattern_probabilities(keep, patterns)
        used = probabilities.max(axis=0) > 0.0
        patterns, probabilities = patterns[used], probabilities[:, used]
        return [_with_weights(_pattern_coefficients(patterns, normalization, sigma_w, density), probabilities,
                              ratio)], "enumeration"
    rng = as_generator(seed)
    per_batch = n_samples // MONTE_CARLO_BATCHES
    # per batch: the uniform draws (float64), the drawn patterns and numpy's unique (a sorted copy and its
    # order), the averaging matrix and the patterns' coefficients
    draws = float(keep.shape[0]) * per_batch
    check_memory(f"graphon_ntk's Monte Carlo first layer (n_samples={n_samples} patterns at each of "
                 f"{keep.shape[0]} nodes, d={d} inputs)", draws * d * 26 + 8 * draws * (keep.shape[0] + 3 * d), budget)
    realisations = []
    for _ in range(MONTE_CARLO_BATCHES):
        drawn = rng.random((keep.shape[0], per_batch, d)) < keep[:, None, :]
        patterns, inverse = np.unique(drawn.reshape(-1, d), axis=0, return_inverse=True)
        averaging = np.zeros((keep.shape[0], patterns.shape[0]))
        np.add.at(averaging, (np.repeat(np.arange(keep.shape[0]), per_batch), inverse.ravel()), 1.0 / per_batch)
        realisations.append(_with_weights(_pattern_coefficients(patterns.astype(np.float64), normalization, sigma_w,
                                                                density), averaging, ratio))
    return realisations, "monte-carlo"


def _with_weights(coefficients, averaging, ratio):
    r"""``((variance, tangent) coefficients, averaging)`` of one realisation.

    Fresh weights (``ratio`` None): both coefficient sets are the pattern coefficients. Kept weights:
    the variance coefficients of pattern k at node i are scaled by the node's ratio
    :math:`M_1/W_1`, so a virtual node is a (pattern, ratio row) pair; nodes with equal ratio rows
    (constant and step graphons) share their virtual nodes.
    """
    if ratio is None:
        return (coefficients, coefficients), averaging
    if np.all(ratio == ratio[0]):
        return (coefficients * ratio[0], coefficients), averaging
    node, pattern = np.nonzero(averaging)
    rows = np.concatenate([coefficients[pattern] * ratio[node], coefficients[pattern]], axis=1)
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    expanded = np.zeros((averaging.shape[0], unique.shape[0]))
    np.add.at(expanded, (node, inverse.ravel()), averaging[node, pattern])
    d = coefficients.shape[1]
    return (np.ascontiguousarray(unique[:, :d]), np.ascontiguousarray(unique[:, d:])), expanded


def _pattern_coefficients(rows, normalization, sigma_w, density):
    """Coefficients of :math:`x_j x'_j` for rows of keep-indicators (patterns) or keep-probabilities."""
    d = rows.shape[1]
    if normalization == "none":
        return sigma_w ** 2 / d * rows
    if normalization == "density":
        return sigma_w ** 2 / (density * d) * rows
    fan_in = rows.sum(axis=1, keepdims=True)
    return np.divide(sigma_w ** 2 * rows, fan_in, out=np.zeros_like(rows, dtype=np.float64), where=fan_in > 0)


def _enumerate_patterns(keep, max_patterns):
    """All row patterns with possibly non-zero probability, or None when there are more than ``max_patterns``."""
    random = (keep > 0.0) & (keep < 1.0)
    free = np.flatnonzero(random.any(axis=0) | (keep != keep[0]).any(axis=0))
    if free.size < 63 and 2 ** free.size <= max_patterns:
        patterns = np.repeat((keep[:1] >= 1.0).astype(np.float64), 2 ** free.size, axis=0)
        patterns[:, free] = (np.arange(2 ** free.size)[:, None] >> np.arange(free.size)) & 1
        return patterns
    counts = random.sum(axis=1)
    if counts.max() >= 63 or np.sum(2.0 ** counts) > max_patterns:
        return None
    # Per-node enumeration (rows mostly deterministic): union of each node's own patterns.
    per_node = []
    for row, is_random in zip(keep, random):
        coordinates = np.flatnonzero(is_random)
        block = np.repeat((row[None, :] >= 1.0).astype(np.float64), 2 ** coordinates.size, axis=0)
        block[:, coordinates] = (np.arange(2 ** coordinates.size)[:, None] >> np.arange(coordinates.size)) & 1
        per_node.append(block)
    return np.unique(np.concatenate(per_node), axis=0)


def _pattern_probabilities(keep, patterns):
    r""":math:`P_{ik} = \prod_j p_{ij}^{m_{kj}} (1 - p_{ij})^{1 - m_{kj}}` (nodes x patterns)."""
    probabilities = np.ones((keep.shape[0], patterns.shape[0]))
    for j in range(keep.shape[1]):
        probabilities *= np.where(patterns[None, :, j] > 0, keep[:, j, None], 1.0 - keep[:, j, None])
    return probabilities


# ------------------------------------------------------------------------------------- hidden layers


def _hidden_matrices(W, M, rows, cols, normalization, sigma_w, layer):
    r"""``(K_M, K_W)``: :math:`K_{ik} = \sigma_w^2 M(u_i, v_k) w_k / \rho` for the propagated terms and the
    same with :math:`W` for the layer's own gradient term (``K_W`` None for fresh weights, :math:`M = W`).
    :math:`\rho` (or the fan-in, for ``"degree"``) comes from :math:`W` in both."""
    connectivity = _layer_on_grid(f"graphons[{layer}]", W, rows.nodes, cols.nodes)
    K = connectivity * cols.weights[None, :]
    if normalization == "density":
        density = float(rows.weights @ K.sum(axis=1))
        if density <= 0.0:
            raise ValueError(f"normalization='density' needs positive layer densities; graphons[{layer}] "
                             f"has density 0 on its grid")
    degree = K.sum(axis=1, keepdims=True)

    def normalise(matrix):
        if normalization == "none":
            return sigma_w ** 2 * matrix
        if normalization == "density":
            return sigma_w ** 2 / density * matrix
        return np.divide(sigma_w ** 2 * matrix, degree, out=np.zeros_like(matrix), where=degree > 0)

    if M is None:
        return normalise(K), None
    moments = _weights_on_grid(M, connectivity, rows.nodes, cols.nodes, layer)
    return normalise(moments * cols.weights[None, :]), normalise(K)


def _readout_matrices(profile, rule, sigma_w):
    r"""Readout stage: dense connectivity, weights :math:`r(u) = E[v^2 \mid u]` (1 for fresh weights)."""
    K = (sigma_w ** 2 * rule.weights)[None, :]
    if profile is None:
        return K, None
    return K * profile.function(rule.nodes)[None, :], K


def _stage_matrices(hidden, readout, averaging):
    """``(K_M, K_W)`` of stages 2..L+1, with the first-layer averaging folded into the first of them."""
    stages = hidden + [readout]
    first, first_direct = stages[0]
    folded = (first @ averaging, None if first_direct is None else first_direct @ averaging)
    return [folded] + stages[1:]


# ------------------------------------------------------------------------------------- elementwise maps


def _kernel_module(backend):
    if backend == "gpu":
        from ._kernels import ntk_gpu as kernels
    else:
        from ._kernels import ntk as kernels
    return kernels


def _select_maps(activation: Activation, kernels, hermite_order, closed_form):
    if closed_form and activation.name == "identity":
        return _identity_maps
    if closed_form:
        return getattr(kernels, f"{activation.name}_maps")
    return _hermite_maps(activation, hermite_order)


def _identity_maps(S, T, V, first, second, F_out, G_out):
    F_out[...] = S
    G_out[...] = T


def _hermite_maps(activation: Activation, order: int):
    r"""Elementwise maps by the product Gauss--Hermite rule (order ``order`` per dimension).

    :math:`(a, b) = (\sqrt{q_1} z_1, \sqrt{q_2}(\rho z_1 + \sqrt{1-\rho^2} z_2))` with
    :math:`\rho = c / \sqrt{q_1 q_2}` (0 when a variance vanishes), so
    :math:`E[\varphi(a)\varphi(b)] \approx \sum_{i,j} w_i w_j \varphi(a_i)\varphi(b_{ij})`.
    Works on numpy or cupy arrays (the activation's callables receive the same array type).
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    weights = weights / math.sqrt(2.0 * math.pi)

    def maps(S, T, V, first, second, F_out, G_out):
        xp = _array_module_of(S)
        z, w = xp.asarray(nodes), xp.asarray(weights)
        chunk = max(1, 2 ** 22 // (order * S.shape[0]))
        for start in range(0, S.shape[1], chunk):
            columns = slice(start, min(S.shape[1], start + chunk))
            q1 = xp.maximum(V[:, first[columns]], 0.0)
            q2 = xp.maximum(V[:, second[columns]], 0.0)
            s = xp.sqrt(q1 * q2)
            positive = s > 0.0
            rho = xp.where(positive, xp.clip(S[:, columns] / xp.where(positive, s, 1.0), -1.0, 1.0), 0.0)
            complement = xp.sqrt(1.0 - rho * rho)[..., None]
            scale1, scale2 = xp.sqrt(q1), xp.sqrt(q2)[..., None]
            expectation = xp.zeros_like(s)
            derivative = xp.zeros_like(s)
            for i in range(order):
                a = scale1 * z[i]
                b = scale2 * (rho[..., None] * z[i] + complement * z)
                expectation += w[i] * activation.fn(a) * (activation.fn(b) @ w)
                derivative += w[i] * activation.derivative(a) * (activation.derivative(b) @ w)
            F_out[:, columns] = expectation
            G_out[:, columns] = T[:, columns] * derivative

    return maps


def _array_module_of(array):
    return np if isinstance(array, np.ndarray) else get_array_module("gpu")


# ------------------------------------------------------------------------------------- tiling


def _single_threaded_blas(backend):
    """On the CPU, BLAS on one thread while the chunk loop alternates matrix products with the numba
    maps: the products of one chunk are small, and a multi-threaded BLAS pool that keeps spinning
    after each call starves the numba threads (measured: 3x slower end to end on 2 cores). Needs
    threadpoolctl; without it nothing changes."""
    if backend != "cpu":
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")



@dataclasses.dataclass(frozen=True)
class _TilePlan:
    tiles: list          # (row block slice, column block slice, diagonal?) in input indices
    widest: int          # most nodes of any stage (rows of the work arrays)
    chunk: int           # pair columns carried through all stages at once (cache-sized)
    threads: int         # chunks in flight at once, each with its own work arrays


#: Bytes of the four (nodes x chunk) work arrays of one chunk of pairs: a few MiB keeps the whole
#: recursion of a chunk in cache while each matrix product stays large enough for BLAS.
_CHUNK_BYTES = 4 * 2**20


def _plan_tiles(n_rows, n_cols, d, realisations, hidden, readout, budget, threads) -> _TilePlan:
    """Split the pairs into tiles whose working set fits the budget (or refuse, saying what is needed)."""
    n_virtual = max(c[0].shape[0] for c, _ in realisations)
    stage_rows = [n_virtual] + [K.shape[0] for K, _ in hidden]
    widest = max(stage_rows)
    kept = any(direct is not None for _, direct in hidden + [readout]) or realisations[0][0][0] is not \
        realisations[0][0][1]
    n_buffers = 5 if kept else 4
    # cache-sized, and all threads' work arrays together at most a quarter of the budget
    chunk = int(max(1, min(65536, _CHUNK_BYTES // (8 * n_buffers * widest),
                           budget // (32 * threads * (n_buffers * widest + d)))))
    matrices = [K for pair in hidden + [readout] for K in pair if K is not None]
    first_stage = hidden[0][0].shape[0] if hidden else 1
    fixed = 8 * (sum(K.size for K in matrices)
                 + sum(sum(x.size for x in {id(x): x for x in c}.values()) + a.size
                       + (n_buffers - 3) * a.shape[0] * first_stage for c, a in realisations)
                 + threads * (n_buffers * widest + d) * chunk)
    # Per pair of a tile: two int64 pair indices, two output indices, two output values, and up to three
    # transient arrays of the same length (index construction, the mirrored copy of an off-diagonal
    # block); per input: its d coordinates (copied twice on the way) and its variances at every stage.
    per_pair = 8 * 9
    per_input = 8 * (2 * d + 2 * sum(stage_rows) + 4)
    symmetric = n_cols is None

    def need(block):
        """Working set of the largest tile of ``block`` row and ``block`` column inputs."""
        whole = symmetric and block >= n_rows
        n_inputs = block if whole else 2 * block
        pairs = block * (block + 1) // 2 if whole else block * block
        return fixed + per_pair * pairs + per_input * n_inputs

    largest = max(n_rows, n_cols or 0)
    check_memory(f"graphon_ntk (even a tile of one input pair; the untiled work needs "
                 f"{format_bytes(need(largest))})", need(1), budget)
    low, high = 1, largest  # largest block that fits: need() is increasing
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if need(middle) <= budget else (low, middle - 1)
    block = low
    tiles = []
    if symmetric:
        starts = range(0, n_rows, block)
        for i in starts:
            for j in starts:
                if j >= i:
                    tiles.append((slice(i, min(n_rows, i + block)), slice(j, min(n_rows, j + block)), i == j))
    else:
        for i in range(0, n_rows, block):
            for j in range(0, n_cols, block):
                tiles.append((slice(i, min(n_rows, i + block)), slice(j, min(n_cols, j + block)), False))
    return _TilePlan(tiles, widest, chunk, threads)


def _tile_pairs(rows: slice, cols: slice, diagonal: bool):
    """Inputs of one tile and its pairs: ``(n_inputs, first, second)``, each pair ``(first[p], second[p])``
    indexing the tile's inputs (the row block, followed by the column block unless diagonal)."""
    n_rows = rows.stop - rows.start
    if diagonal:
        first, second = np.triu_indices(n_rows, k=1)
        return n_rows, first, second
    n_cols = cols.stop - cols.start
    return n_rows + n_cols, np.repeat(np.arange(n_rows), n_cols), n_rows + np.tile(np.arange(n_cols), n_rows)


def _run_tiles(xp, kernels, maps, X, X2, plan: _TilePlan, coefficients, matrices, bias_variance):
    """Kernels of every tile, scattered into the (N, N) or (N, N2) result arrays (returned on the host)."""
    n_rows = X.shape[0]
    n_cols = n_rows if X2 is None else X2.shape[0]
    nngp = xp.empty((n_rows, n_cols))
    ntk = xp.empty((n_rows, n_cols))
    variance_coefficients = xp.asarray(coefficients[0])
    coefficients_device = (variance_coefficients, variance_coefficients if coefficients[1] is coefficients[0]
                           else xp.asarray(coefficients[1]))
    matrices_device = [tuple(None if K is None else xp.asarray(np.ascontiguousarray(K)) for K in pair)
                       for pair in matrices]
    for rows, cols, diagonal in plan.tiles:
        n_inputs, first, second = _tile_pairs(rows, cols, diagonal)
        inputs = np.ascontiguousarray(X[rows]) if diagonal \
            else np.concatenate([X[rows], (X if X2 is None else X2)[cols]])
        first = xp.asarray(first.astype(np.int64, copy=False))
        second = xp.asarray(second.astype(np.int64, copy=False))
        variances, pairs = _tile_kernels(xp, kernels, maps, xp.asarray(inputs), first, second,
                                         coefficients_device, matrices_device, bias_variance, plan.chunk,
                                         plan.threads)
        n_block_rows = rows.stop - rows.start
        out_rows = rows.start + first
        out_cols = (rows.start + second) if diagonal else (cols.start + second - n_block_rows)
        for out, diagonal_values, pair_values in zip((nngp, ntk), variances, pairs):
            kernels.scatter_pairs(pair_values, out_rows, out_cols, out)
            if diagonal:
                own = xp.arange(rows.start, rows.stop)
                out[own, own] = diagonal_values
                kernels.mirror_upper(out, rows.start, rows.stop)
            elif X2 is None:
                out[cols, rows] = out[rows, cols].T
    return to_numpy(nngp), to_numpy(ntk)


def _tile_kernels(xp, kernels, maps, inputs, first, second, coefficients, matrices, bias_variance, chunk,
                  threads):
    """Forward recursion on one tile.

    The inputs' variances go through every stage first (they are needed by every pair); the pairs
    then go through all stages a cache-sized chunk at a time. ``coefficients`` is the first layer's
    (variance, tangent) pair and ``matrices`` the stages' ``(K_M, K_W)`` (``K_W`` None: fresh weights,
    the layer's own gradient term is the new covariance itself). Returns ``((NNGP, NTK) at the
    inputs' variances, (NNGP, NTK) at the pairs)``.
    """
    bias = bias_variance
    variance_coefficients, tangent_coefficients = coefficients
    fresh_first = tangent_coefficients is variance_coefficients
    # Variances: Sigma^1(x, x) = sum_j C_kj x_j^2 + sigma_b^2; Theta^1 likewise with the tangent coefficients.
    squares = (inputs * inputs).T
    S = variance_coefficients @ squares + bias
    T = S if fresh_first else tangent_coefficients @ squares + bias
    own = xp.arange(inputs.shape[0], dtype=xp.int64)
    stage_variances = []
    for K, K_direct in matrices:
        stage_variances.append(S)
        F, G = xp.empty_like(S), xp.empty_like(S)
        maps(S, T, S, own, own, F, G)
        S_next = K @ F + bias
        T = K @ G + (S_next if K_direct is None else K_direct @ F + bias)
        S = S_next
    largest = max(float(xp.max(xp.abs(v))) for v in stage_variances + [S, T])
    if not largest <= LARGEST_VARIANCE:  # also catches NaN
        raise ValueError(f"graphon_ntk: a pre-activation variance reaches {largest:.3g}, beyond "
                         f"{LARGEST_VARIANCE:.0e}, where the maps' products of two variances overflow float64 "
                         f"(inputs up to |x| = {float(xp.max(xp.abs(inputs))):.3g}); "
                         f"rescale the inputs or sigma_w (with sigma_b = 0 the ReLU kernels are homogeneous: "
                         f"K(c x, c x') = c^2 K(x, x'))")
    diagonal = (S[0], T[0])

    n_pairs = first.size
    nngp, ntk = xp.empty(n_pairs), xp.empty(n_pairs)
    width = min(chunk, n_pairs)
    widest = max([variance_coefficients.shape[0]] + [K.shape[0] for K, _ in matrices])
    kept = not fresh_first or any(K_direct is not None for _, K_direct in matrices)
    starts = range(0, n_pairs, chunk)
    threads = max(1, min(threads, len(starts)))

    def worker(index):
        """Chunks ``index``, ``index + threads``, ...: each thread owns its buffers and output slices."""
        buffers = [xp.empty(widest * width) for _ in range(5 if kept else 4)]
        products_buffer = xp.empty(width * inputs.shape[1])
        with np.errstate(over="ignore", invalid="ignore"):  # error states are per thread
            for start in starts[index::threads]:
                stop = min(n_pairs, start + chunk)
                nngp[start:stop], ntk[start:stop] = _chunk_kernels(
                    xp, kernels, maps, inputs, first[start:stop], second[start:stop], coefficients, matrices,
                    stage_variances, bias, buffers, products_buffer)

    if threads == 1:
        worker(0)
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, range(threads)))
    return diagonal, (nngp, ntk)


def _chunk_kernels(xp, kernels, maps, inputs, first, second, coefficients, matrices, stage_variances, bias,
                   buffers, products_buffer):
    """All stages of one chunk of pairs in the caller's buffers: returns its (NNGP, NTK) rows (views)."""
    variance_coefficients, tangent_coefficients = coefficients
    size = first.size

    def view(buffer, rows):
        return buffer[:rows * size].reshape(rows, size)

    products = products_buffer[:size * inputs.shape[1]].reshape(size, inputs.shape[1])
    kernels.pair_products(inputs, first, second, products)
    S = view(buffers[0], variance_coefficients.shape[0])
    xp.matmul(variance_coefficients, products.T, out=S)
    S += bias
    if tangent_coefficients is variance_coefficients:
        T = S
    else:
        T = view(buffers[1], tangent_coefficients.shape[0])
        xp.matmul(tangent_coefficients, products.T, out=T)
        T += bias
    for (K, K_direct), variances in zip(matrices, stage_variances):
        F, G = view(buffers[2], S.shape[0]), view(buffers[3], S.shape[0])
        maps(S, T, variances, first, second, F, G)
        S, T = view(buffers[0], K.shape[0]), view(buffers[1], K.shape[0])
        xp.matmul(K, F, out=S)
        S += bias
        if K_direct is None:
            xp.matmul(K, G, out=T)
            T += S
        else:
            propagated = view(buffers[4], K.shape[0])
            xp.matmul(K, G, out=propagated)
            xp.matmul(K_direct, F, out=T)
            T += bias
            T += propagated
    return S[0], T[0]
