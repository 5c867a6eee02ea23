r"""A finite masked MLP at initialisation, with exact gradients and Hessian--vector products
(``docs/theory/pruning.rst``, the finite network; ``docs/theory/ntk.rst`` for its kernels).

Layer :math:`l = 1, \dots, L+1` (the last one is the readout) maps :math:`a^{l-1}` to

.. math::

    h^l_i = c^l_i \sum_j M^l_{ij}\,\omega^l_{ij}\,a^{l-1}_j + \sigma_b \beta^l_i,
    \qquad a^0 = x,\quad a^l = \varphi(h^l)\ (l \le L),\quad f(x) = h^{L+1},

with raw weights :math:`\omega, \beta \sim N(0, 1)` and row scales :math:`c^l_i` set by the
normalisation: :math:`\sigma_w/\sqrt{n_{l-1}}` ("none"), :math:`\sigma_w/\sqrt{\rho_l n_{l-1}}`
("density"), :math:`\sigma_w/\sqrt{\sum_j M^l_{ij}}` ("degree"; 0 for a row without inputs).

Derivatives (:meth:`MLP.gradient`, :meth:`MLP.hessian_vector_product`) are taken with respect to the
**effective weights** :math:`w^l_{ij} = c^l_i M^l_{ij} \omega^l_{ij}` at every position (row scales held
fixed, biases fixed). At a kept position this is the derivative with respect to the weight as a
practitioner's standard-parameterised network stores it, :math:`\theta^l_{ij} = c^l_i \omega^l_{ij}`;
at a pruned position it is the sensitivity of the loss to re-inserting the connection (so that
:math:`\theta_{ij}\,\partial L/\partial w_{ij} = \partial L / \partial M_{ij}`, SNIP's definition).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.special

from .._validation import as_float_array, as_generator, as_mask, check_choice, check_memory, \
    check_nonnegative_float, check_positive_int
from ..activations import Activation, get_activation

__all__ = ["MLP", "ForwardCache", "LOSSES"]

#: Supported losses: squared error :math:`\frac{1}{2N}\sum_s \lVert f(x_s) - y_s\rVert^2` and softmax
#: cross-entropy :math:`-\frac{1}{N}\sum_s \log \mathrm{softmax}(f(x_s))_{y_s}` with integer labels.
LOSSES = ("squared", "cross_entropy")
_NORMALIZATIONS = ("none", "density", "degree")
_READOUT_INITS = ("random", "zero", "antisymmetric")


@dataclasses.dataclass(frozen=True)
class ForwardCache:
    """Intermediate values of a forward pass: ``pre[l-1]`` is :math:`h^l` (N x n_l), l = 1..L+1, and
    ``post[l]`` is :math:`a^l` (``post[0]`` is the input)."""

    pre: list
    post: list


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


class MLP:
    r"""A fully connected network at initialisation with fixed 0/1 masks (``docs/theory/pruning.rst``).

    Parameters
    ----------
    widths : sequence of int
        ``[d, n_1, ..., n_L, n_out]``: input dimension, hidden widths, output width (``L >= 0``).
    activation : str or Activation
        :math:`\varphi` of the hidden layers (see :mod:`graphon_ops.activations`).
    sigma_w, sigma_b : float
        Weight and bias standard deviations of the NTK parameterisation.
    normalization : {"none", "density", "degree"}
        Row scales :math:`c^l_i` (module docstring).
    masks : sequence of array_like, optional
        One 0/1 matrix of shape ``(n_l, n_{l-1})`` per layer including the readout; default all ones.
    readout_init : {"random", "zero", "antisymmetric"}
        ``"random"``: the readout weights are drawn like the others. ``"zero"``: readout weights and
        bias are 0, so :math:`f_0 \equiv 0` (every hidden-layer gradient then vanishes too).
        ``"antisymmetric"`` (the doubled initialisation): the second half of the last hidden layer
        copies the first half's incoming weights and biases and the readout weights of the two halves
        are opposite, readout bias 0, so :math:`f_0 \equiv 0` while gradients stay non-zero (needs
        ``L >= 1``, an even ``n_L`` and masks that are equal on the two halves).
    seed : None, int or Generator
        Source of the raw weights :math:`\omega, \beta \sim N(0, 1)`.

    Attributes
    ----------
    widths, weights, biases, masks, activation, sigma_w, sigma_b, normalization, readout_init

    Examples
    --------
    >>> net = MLP([3, 8, 1], seed=0)
    >>> out, cache = net.forward(np.ones((2, 3)))
    >>> out.shape, cache.pre[0].shape, len(net.weights)
    ((2, 1), (2, 8), 2)
    """

    def __init__(self, widths, *, activation="relu", sigma_w: float = 1.0, sigma_b: float = 0.0,
                 normalization: str = "none", masks=None, readout_init: str = "random", seed=None,
                 _weights=None, _biases=None):
        widths = list(widths) if np.iterable(widths) and not isinstance(widths, (str, bytes)) else widths
        if not isinstance(widths, list) or len(widths) < 2:
            raise ValueError(f"widths must be a sequence [d, n_1, ..., n_L, n_out] of at least 2 integers, "
                             f"got {widths!r}")
        self.widths = tuple(check_positive_int(f"widths[{k}]", w) for k, w in enumerate(widths))
        self.activation: Activation = get_activation(activation)
        self.sigma_w = check_nonnegative_float("sigma_w", sigma_w)
        self.sigma_b = check_nonnegative_float("sigma_b", sigma_b)
        self.normalization = check_choice("normalization", normalization, _NORMALIZATIONS)
        self.readout_init = check_choice("readout_init", readout_init, _READOUT_INITS)
        shapes = [(self.widths[k + 1], self.widths[k]) for k in range(len(self.widths) - 1)]
        # per weight: the float64 draw, its float64 copy and the uint8 mask (17 bytes, measured with
        # tracemalloc); given weights (with_masks) are copied once (9 bytes)
        n_weights = sum(rows * cols for rows, cols in shapes)
        check_memory(f"MLP with widths {list(self.widths)} ({n_weights} weights: float64 raw weights, their draw "
                     f"and 0/1 masks)", (17.0 if _weights is None else 9.0) * n_weights
                     + 16.0 * sum(self.widths[1:]))
        self.masks = self._check_masks(masks, shapes)
        if _weights is None:
            _weights, _biases = self._draw(shapes, as_generator(seed))
        self.weights = [_readonly(np.array(w, dtype=np.float64)) for w in _weights]
        self.biases = [_readonly(np.array(b, dtype=np.float64)) for b in _biases]
        self._scales = [self._row_scale(l) for l in range(1, len(shapes) + 1)]
        # sigma_w near 1e308: the scaled weights c_i omega_ij would overflow in every pass; refuse it here
        for l, (scale, omega) in enumerate(zip(self._scales, self.weights), start=1):
            with np.errstate(over="ignore"):
                largest = float(np.max(np.abs(scale), initial=0.0)) * max(float(omega.max(initial=0.0)),
                                                                          -float(omega.min(initial=0.0)))
            if not np.isfinite(largest):
                raise ValueError(f"sigma_w = {self.sigma_w!r} is too large: layer {l}'s scaled weights "
                                 f"c_i omega_ij overflow float64")
        for l, beta in enumerate(self.biases, start=1):
            with np.errstate(over="ignore"):
                largest = self.sigma_b * max(float(beta.max(initial=0.0)), -float(beta.min(initial=0.0)))
            if not np.isfinite(largest):
                raise ValueError(f"sigma_b = {self.sigma_b!r} is too large: layer {l}'s bias terms sigma_b beta_i "
                                 f"overflow float64")

    # ------------------------------------------------------------------ construction
    @property
    def depth(self) -> int:
        """Number of hidden layers :math:`L`."""
        return len(self.widths) - 2

    @staticmethod
    def _check_masks(masks, shapes):
        if masks is None:
            return [_readonly(np.ones(shape, dtype=np.uint8)) for shape in shapes]
        if not np.iterable(masks) or isinstance(masks, (str, bytes)):
            raise ValueError(f"masks must be a sequence of {len(shapes)} 0/1 matrices (one per layer, readout "
                             f"included), got {type(masks).__name__}")
        masks = list(masks)
        if len(masks) != len(shapes):
            raise ValueError(f"masks must hold {len(shapes)} matrices (one per layer, readout included), "
                             f"got {len(masks)}")
        checked = []
        for l, (mask, shape) in enumerate(zip(masks, shapes), start=1):
            mask = as_mask(f"masks[{l - 1}]", mask)
            if mask.shape != shape:
                raise ValueError(f"masks[{l - 1}] must have shape {shape} (layer {l}), got {mask.shape}")
            checked.append(_readonly(mask.copy()))
        return checked

    def _draw(self, shapes, rng):
        weights = [rng.standard_normal(shape) for shape in shapes]
        biases = [rng.standard_normal(shape[0]) for shape in shapes]
        if self.readout_init == "zero":
            weights[-1][:] = 0.0
            biases[-1][:] = 0.0
        elif self.readout_init == "antisymmetric":
            half = self._check_antisymmetric()
            weights[-2][half:] = weights[-2][:half]
            biases[-2][half:] = biases[-2][:half]
            weights[-1][:, half:] = -weights[-1][:, :half]
            biases[-1][:] = 0.0
        return weights, biases

    def _check_antisymmetric(self) -> int:
        if self.depth < 1 or self.widths[-2] % 2:
            raise ValueError(f"readout_init='antisymmetric' needs at least one hidden layer of even width, "
                             f"got widths {list(self.widths)}")
        half = self.widths[-2] // 2
        for l in (-2, -1):
            mask = self.masks[l]
            first, second = (mask[:half], mask[half:]) if l == -2 else (mask[:, :half], mask[:, half:])
            if not np.array_equal(first, second):
                raise ValueError(f"readout_init='antisymmetric' needs masks equal on the two halves of "
                                 f"the last hidden layer; masks[{len(self.masks) + l}] differs")
        return half

    def _row_scale(self, layer: int) -> np.ndarray:
        mask = self.masks[layer - 1]
        fan_in = self.widths[layer - 1]
        if self.normalization == "none":
            return np.full(mask.shape[0], self.sigma_w / np.sqrt(fan_in))
        if self.normalization == "density":
            density = mask.mean()
            if density == 0:
                raise ValueError(f"masks[{layer - 1}] is empty; normalization='density' needs a kept weight")
            return np.full(mask.shape[0], self.sigma_w / np.sqrt(density * fan_in))
        degree = mask.sum(axis=1, dtype=np.float64)
        return np.divide(self.sigma_w, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)

    def row_scales(self, layer: int) -> np.ndarray:
        r"""Row scales :math:`c^l` (shape ``(n_l,)``) of layer ``layer`` in ``1..L+1``.

        Examples
        --------
        >>> MLP([4, 2, 1], sigma_w=2.0).row_scales(1).tolist()
        [1.0, 1.0]
        """
        layer = check_positive_int("layer", layer)
        if layer > len(self._scales):
            raise ValueError(f"layer must be in 1..{len(self._scales)}, got {layer}")
        return self._scales[layer - 1].copy()

    def _settings(self) -> dict:
        """Everything but the widths, masks and draws: what :meth:`with_masks` and
        :meth:`with_fresh_weights` carry over."""
        return {"activation": self.activation, "sigma_w": self.sigma_w, "sigma_b": self.sigma_b,
                "normalization": self.normalization, "readout_init": self.readout_init}

    def with_masks(self, masks) -> "MLP":
        """The same raw weights with other masks (row scales recomputed for the new masks).

        ``net.with_masks(prune_at_init(net, ...))`` is the pruned network with the weights pruning KEPT.

        Examples
        --------
        >>> net = MLP([2, 2, 1], seed=0)
        >>> pruned = net.with_masks([[[1, 0], [0, 1]], [[1, 1]]])
        >>> bool(np.array_equal(pruned.weights[0], net.weights[0])), int(pruned.masks[0].sum())
        (True, 2)
        """
        return MLP(self.widths, masks=masks, _weights=self.weights, _biases=self.biases, **self._settings())

    def with_fresh_weights(self, seed=None) -> "MLP":
        r"""The same masks and settings with raw weights and biases drawn anew from ``seed``.

        The "fresh" network: the masks stay, the weights are re-drawn after pruning,
        :math:`\omega, \beta \sim N(0, 1)` independent of the masks (``readout_init`` applied again). A weight
        pruning kept is conditioned on having passed the criterion (magnitude pruning at density
        :math:`\rho`: :math:`E[\omega^2 \mid \text{kept}] = 1 + \sqrt{2/\pi}\,\tau e^{-\tau^2/2}/\rho` with
        :math:`\tau = \sqrt 2\,\mathrm{erfc}^{-1}(\rho)`, 3.249 at :math:`\rho = 0.2`); a fresh one has
        :math:`E[\omega^2] = 1` (``docs/theory/ntk.rst``, kept weights). The draws are those of
        ``MLP(widths, masks=masks, seed=seed)`` with the same settings, so the seed should be independent
        of the one the pruned network was drawn with (the same seed gives back its kept weights).

        Parameters
        ----------
        seed : None, int or Generator
            Source of the new raw weights and biases.

        Raises
        ------
        ValueError
            With ``readout_init="antisymmetric"`` when the masks differ on the two halves of the last
            hidden layer (the doubled initialisation cannot be drawn on them).

        Examples
        --------
        Keep the first layer's weights with :math:`|\omega| > 1.2816` (magnitude pruning at density 0.2),
        then re-draw them: the second moment of the kept weights falls from about 3.25 to about 1.

        >>> net = MLP([4, 500, 1], seed=0)
        >>> pruned = net.with_masks([np.abs(net.weights[0]) > 1.2816, np.ones((1, 500))])
        >>> fresh = pruned.with_fresh_weights(seed=1)
        >>> kept = pruned.masks[0] == 1
        >>> print(f"{np.mean(pruned.weights[0][kept] ** 2):.2f} {np.mean(fresh.weights[0][kept] ** 2):.2f}")
        3.22 0.96
        >>> bool(np.array_equal(fresh.masks[0], pruned.masks[0])), int(fresh.masks[0].sum()), fresh.widths
        (True, 399, (4, 500, 1))
        """
        return MLP(self.widths, masks=self.masks, seed=seed, **self._settings())

    def parameters(self) -> list:
        r"""Unmasked weights :math:`\theta^l = c^l \odot \omega^l` as a standard-parameterised network holds
        them (one ``(n_l, n_{l-1})`` array per layer).

        Examples
        --------
        >>> net = MLP([4, 3, 1], seed=0)
        >>> print(np.unique(net.parameters()[0] / net.weights[0]))   # c^1 = sigma_w / sqrt(4) on every row
        [0.5]
        """
        return [scale[:, None] * omega for scale, omega in zip(self._scales, self.weights)]

    def effective_weights(self) -> list:
        r"""Effective weights :math:`w^l = c^l \odot M^l \odot \omega^l` (what the forward pass uses)."""
        return [theta * mask for theta, mask in zip(self.parameters(), self.masks)]

    # ------------------------------------------------------------------ passes
    def _pass_bytes(self, n_examples: int, weight_copies: int, activation_arrays: int) -> float:
        """Working set of a pass over ``n_examples`` rows: ``activation_arrays`` float64 arrays of
        N x (n_1 + ... + n_out) (activations, deltas, their temporaries) and ``weight_copies`` float64 copies of
        the weights (the effective weights and the arrays a pass returns)."""
        n_weights = sum(weight.size for weight in self.weights)
        return 8.0 * (weight_copies * n_weights + activation_arrays * float(n_examples) * sum(self.widths[1:]))

    def _check_pass_memory(self, method: str, n_examples: int, weight_copies: int, activation_arrays: int,
                           rows_of: str = "X") -> None:
        """Refuse a pass whose buffers would exceed the memory budget, before allocating any of them. The counts
        are measured peaks (tracemalloc, widths [300, 700, 500, 3], N = 2000): forward and loss 2 activation
        arrays and 2 weight copies, backward 2 and 2, gradient 4 and 3, the Hessian product 9 and 5."""
        check_memory(f"MLP.{method} on the {n_examples} rows of {rows_of} ({activation_arrays} float64 arrays of "
                     f"{n_examples} x {sum(self.widths[1:])} for the layers' activations and deltas, and "
                     f"{weight_copies} copies of the weights; pass {rows_of} in row batches)",
                     self._pass_bytes(n_examples, weight_copies, activation_arrays))

    def _check_inputs(self, X) -> np.ndarray:
        X = as_float_array("X", X, ndim=2)
        if X.shape[1] != self.widths[0]:
            raise ValueError(f"X must have {self.widths[0]} columns (the input dimension), got shape {X.shape}")
        return X

    def forward(self, X) -> tuple[np.ndarray, ForwardCache]:
        r"""Outputs :math:`f(x_s)` (shape ``(N, n_out)``) and the cache of pre- and post-activations.

        Examples
        --------
        >>> net = MLP([2, 3, 1], activation="identity", seed=1)
        >>> out, _ = net.forward(np.zeros((1, 2)))
        >>> float(out[0, 0])
        0.0
        """
        X = self._check_inputs(X)
        self._check_pass_memory("forward", X.shape[0], 2, 2)
        return self._forward(X, self.effective_weights())

    def _forward(self, X, weights):
        pre, post = [], [X]
        # overflow (inputs or sigma_w, sigma_b near 1e150 and beyond) is reported once, as a ValueError below
        with np.errstate(over="ignore", invalid="ignore"):
            for l, weight in enumerate(weights):
                h = post[-1] @ weight.T + self.sigma_b * self.biases[l]
                pre.append(h)
                if l < len(weights) - 1:
                    post.append(self.activation.fn(h))
        self._check_finite("forward pass (the outputs)", pre[-1], X)
        return pre[-1], ForwardCache(pre, post)

    def _check_finite(self, what: str, values: np.ndarray, X=None) -> None:
        """A pass that overflowed float64 is a ``ValueError`` saying which scales are to blame, not a NaN."""
        if not np.all(np.isfinite(values)):
            inputs = "" if X is None else f"inputs up to |x| = {float(np.abs(X).max()):.3g}, "
            raise ValueError(f"MLP {what} overflowed float64 (inf or NaN) with {inputs}sigma_w = {self.sigma_w!r}, "
                             f"sigma_b = {self.sigma_b!r}; rescale the inputs or sigma_w, sigma_b")

    def backward(self, cache: ForwardCache, output_grad) -> list:
        r"""Per-example backpropagation: ``deltas[l-1]`` :math:`= \partial(\sum_s g_s\cdot f(x_s))/\partial h^l`
        at example :math:`s` (shape ``(N, n_l)``), for ``output_grad`` :math:`g` of shape ``(N, n_out)``.

        Examples
        --------
        >>> net = MLP([2, 3, 1], seed=0)
        >>> out, cache = net.forward(np.ones((4, 2)))
        >>> deltas = net.backward(cache, np.ones((4, 1)))
        >>> [d.shape for d in deltas]
        [(4, 3), (4, 1)]
        """
        output_grad = as_float_array("output_grad", output_grad, ndim=2)
        expected = cache.pre[-1].shape
        if output_grad.shape != expected:
            raise ValueError(f"output_grad must have shape {expected}, got {output_grad.shape}")
        self._check_pass_memory("backward", expected[0], 2, 2, rows_of="output_grad")
        return self._backward(cache, output_grad, self.effective_weights())

    def _backward(self, cache, output_grad, weights):
        deltas = [output_grad]
        with np.errstate(over="ignore", invalid="ignore"):
            for l in range(len(weights) - 1, 0, -1):
                deltas.append((deltas[-1] @ weights[l]) * self.activation.derivative(cache.pre[l - 1]))
        self._check_finite("backward pass (the deltas)", deltas[-1])
        return deltas[::-1]

    # ------------------------------------------------------------------ loss and derivatives
    def _check_targets(self, y, n_examples: int, loss: str) -> np.ndarray:
        n_out = self.widths[-1]
        if loss == "cross_entropy":
            labels = np.asarray(y)
            if labels.shape != (n_examples,) or not np.issubdtype(labels.dtype, np.integer) \
                    or labels.min() < 0 or labels.max() >= n_out:
                raise ValueError(f"y must be {n_examples} integer class labels in 0..{n_out - 1} for "
                                 f"loss='cross_entropy', got {labels!r}")
            return labels
        y = as_float_array("y", y, ndim=(1, 2))
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != (n_examples, n_out):
            raise ValueError(f"y must have shape ({n_examples}, {n_out}) (or ({n_examples},) for one output), "
                             f"got {np.shape(y)}")
        return y

    def _loss_terms(self, output, y, loss):
        """Loss value, its gradient e = dL/df (N x n_out) and a function applying d^2L/df^2."""
        n_examples = output.shape[0]
        if loss == "squared":
            with np.errstate(over="ignore", invalid="ignore"):
                residual = output - y
                value = 0.5 * np.sum(residual ** 2) / n_examples
            if not np.isfinite(value):  # outputs or targets near 1e154 and beyond: a ValueError, not inf
                raise ValueError(f"the squared loss overflows float64: outputs up to "
                                 f"{float(np.abs(output).max()):.3g}, targets y up to {float(np.abs(y).max()):.3g}; "
                                 f"rescale the targets y, the inputs X or sigma_w, sigma_b")
            return value, residual / n_examples, lambda r: r / n_examples
        log_p = output - scipy.special.logsumexp(output, axis=1, keepdims=True)
        p = np.exp(log_p)
        value = -np.mean(log_p[np.arange(n_examples), y])
        e = p.copy()
        e[np.arange(n_examples), y] -= 1.0
        # Hessian of -log softmax: diag(p) - p p^T per example.
        return value, e / n_examples, lambda r: (p * r - p * np.sum(p * r, axis=1, keepdims=True)) / n_examples

    def loss(self, X, y, loss: str = "squared") -> float:
        r"""The loss on the batch (see :data:`LOSSES`), an average over the :math:`N` examples.

        ``"squared"``: :math:`L = \frac{1}{2N}\sum_s \|f(x_s) - y_s\|^2` (summed over the output columns, so
        with several outputs it is not the mean over all entries that :func:`~graphon_ops.pruning.train_mse`
        normalises by); ``"cross_entropy"``: :math:`L = -\frac{1}{N}\sum_s \log \operatorname{softmax}(f(x_s))_{y_s}`.

        Examples
        --------
        >>> net = MLP([2, 4, 1], readout_init="zero", seed=0)
        >>> net.loss(np.ones((3, 2)), np.full(3, 2.0))
        2.0
        """
        loss = check_choice("loss", loss, LOSSES)
        X = self._check_inputs(X)
        self._check_pass_memory("loss", X.shape[0], 2, 2)
        output, _ = self._forward(X, self.effective_weights())
        return float(self._loss_terms(output, self._check_targets(y, X.shape[0], loss), loss)[0])

    def gradient(self, X, y, loss: str = "squared") -> list:
        r"""Exact gradient :math:`\partial L/\partial w^l = \sum_s \delta^l_s (a^{l-1}_s)^\top` with
        respect to the effective weights (one array per layer), by backpropagation.

        Examples
        --------
        >>> net = MLP([2, 3, 1], seed=0)
        >>> [g.shape for g in net.gradient(np.ones((5, 2)), np.zeros(5))]
        [(3, 2), (1, 3)]
        """
        loss = check_choice("loss", loss, LOSSES)
        X = self._check_inputs(X)
        self._check_pass_memory("gradient", X.shape[0], 3, 4)
        weights = self.effective_weights()
        output, cache = self._forward(X, weights)
        _, e, _ = self._loss_terms(output, self._check_targets(y, X.shape[0], loss), loss)
        deltas = self._backward(cache, e, weights)
        return self._products(deltas, cache.post, "gradient")

    def hessian_vector_product(self, X, y, vector=None, loss: str = "squared") -> list:
        r"""Exact :math:`H v` with :math:`H = \nabla^2_w L` over the effective weights (forward-over-reverse
        R-operator, Pearlmutter 1994); ``vector`` defaults to the gradient :math:`g` (GraSP's :math:`Hg`).

        With :math:`\mathcal R\{\cdot\}` the directional derivative along :math:`v`:
        :math:`\mathcal R h^l = v^l a^{l-1} + w^l \mathcal R a^{l-1}`,
        :math:`\mathcal R a^l = \varphi'(h^l)\mathcal R h^l`,
        :math:`\mathcal R e = \nabla^2_f \ell\, \mathcal R f`,
        :math:`\mathcal R\delta^l = (\mathcal R\delta^{l+1} w^{l+1} + \delta^{l+1} v^{l+1})\odot\varphi'(h^l)
        + (\delta^{l+1} w^{l+1})\odot\varphi''(h^l)\,\mathcal R h^l`, and
        :math:`(Hv)^l = \sum_s \mathcal R\delta^l_s (a^{l-1}_s)^\top + \delta^l_s (\mathcal R a^{l-1}_s)^\top`.

        Examples
        --------
        >>> net = MLP([2, 3, 1], activation="identity", seed=0)
        >>> X, y = np.ones((4, 2)), np.zeros(4)
        >>> [hv.shape for hv in net.hessian_vector_product(X, y)]
        [(3, 2), (1, 3)]
        """
        loss = check_choice("loss", loss, LOSSES)
        X = self._check_inputs(X)
        targets = self._check_targets(y, X.shape[0], loss)
        if self.activation.second_derivative is None:
            raise ValueError(f"activation {self.activation.name!r} has no second derivative; the Hessian "
                             f"product needs one")
        self._check_pass_memory("hessian_vector_product", X.shape[0], 5, 9)
        weights = self.effective_weights()
        output, cache = self._forward(X, weights)
        _, e, apply_loss_hessian = self._loss_terms(output, targets, loss)
        deltas = self._backward(cache, e, weights)
        if vector is None:
            vector = self._products(deltas, cache.post, "gradient")
        vector = self._check_vector(vector, weights)
        # overflow (and the benign overflow of cosh in tanh's derivatives) is reported once, at the end
        with np.errstate(over="ignore", invalid="ignore"):
            # forward pass of the directional derivatives
            r_pre, r_post = [], [np.zeros_like(X)]
            for l, (weight, direction) in enumerate(zip(weights, vector)):
                r_h = cache.post[l] @ direction.T + r_post[-1] @ weight.T
                r_pre.append(r_h)
                if l < len(weights) - 1:
                    r_post.append(self.activation.derivative(cache.pre[l]) * r_h)
            # backward pass
            r_deltas = [apply_loss_hessian(r_pre[-1])]
            for l in range(len(weights) - 1, 0, -1):
                back = deltas[l] @ weights[l]
                r_back = r_deltas[-1] @ weights[l] + deltas[l] @ vector[l]
                h = cache.pre[l - 1]
                r_deltas.append(r_back * self.activation.derivative(h)
                                + back * self.activation.second_derivative(h) * r_pre[l - 1])
            r_deltas = r_deltas[::-1]
            product = [r_delta.T @ a + delta.T @ r_a
                       for r_delta, a, delta, r_a in zip(r_deltas, cache.post, deltas, r_post)]
        for layer in product:
            self._check_finite("Hessian-vector product", layer, X)
        return product

    def _products(self, deltas, inputs, what: str) -> list:
        """Per-layer ``delta^T a`` (gradients), a ``ValueError`` instead of inf where they overflow."""
        with np.errstate(over="ignore", invalid="ignore"):
            products = [delta.T @ a for delta, a in zip(deltas, inputs)]
        for layer in products:
            self._check_finite(what, layer)
        return products

    @staticmethod
    def _check_vector(vector, weights):
        vector = list(vector)
        if len(vector) != len(weights):
            raise ValueError(f"vector must hold {len(weights)} arrays (one per layer), got {len(vector)}")
        checked = []
        for l, (direction, weight) in enumerate(zip(vector, weights)):
            direction = as_float_array(f"vector[{l}]", direction, ndim=2)
            if direction.shape != weight.shape:
                raise ValueError(f"vector[{l}] must have shape {weight.shape}, got {direction.shape}")
            checked.append(direction)
        return checked

    def __repr__(self) -> str:
        return (f"MLP(widths={list(self.widths)}, activation={self.activation.name!r}, sigma_w={self.sigma_w}, "
                f"sigma_b={self.sigma_b}, normalization={self.normalization!r})")
