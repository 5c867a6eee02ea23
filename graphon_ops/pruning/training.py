r"""Full-batch gradient descent on squared loss for a finite masked MLP (``docs/theory/predictions.rst``,
lazy training; ``docs/theory/pruning.rst`` for the network).

:func:`train_mse` trains a :class:`~graphon_ops.pruning.mlp.MLP` -- typically a pruned one,
``net.with_masks(masks)`` -- and records its outputs along the way, for comparison with the kernel
predictions of :func:`graphon_ops.predict.gradient_descent_mse` (the NTK of the network, e.g.
:func:`graphon_ops.empirical.empirical_ntk` or a Graphon-NTK of its limit).

**Loss.** With targets :math:`Y \in \mathbb R^{n \times k}` and :math:`N = nk` = ``y_train.size`` (the
convention of ``neural_tangents.predict.gradient_descent_mse``),

.. math::

    L(\omega, \beta) = \frac{1}{2N}\,\lVert f(X) - Y \rVert_F^2 .

(:meth:`MLP.loss <graphon_ops.pruning.mlp.MLP.loss>` divides by the number of examples :math:`n`
instead; the two agree for one output.)

**Parameters trained.** The NTK parameterisation trains the raw parameters: the weights
:math:`\omega^l` and biases :math:`\beta^l` of every layer (readout included), with the masks
:math:`M^l` and the row scales :math:`c^l` fixed. From
:math:`h^l_i = c^l_i \sum_j M^l_{ij}\omega^l_{ij} a^{l-1}_j + \sigma_b\beta^l_i` and
:math:`\delta^l_s = \partial L/\partial h^l` at example :math:`s` (backpropagated from
:math:`\partial L/\partial f = (f - Y)/N`),

.. math::

    \frac{\partial L}{\partial \omega^l_{ij}} = c^l_i M^l_{ij} \sum_s \delta^l_{s,i}\, a^{l-1}_{s,j}
        = c^l_i M^l_{ij}\,\frac{\partial L}{\partial w^l_{ij}},\qquad
    \frac{\partial L}{\partial \beta^l_i} = \sigma_b \sum_s \delta^l_{s,i},

where :math:`w = c \odot M \odot \omega` are the effective weights. The gradient vanishes exactly at a
pruned position (:math:`M_{ij} = 0`), so a pruned raw weight never changes and its effective weight stays
0. The tangent kernel of these parameters is the empirical NTK :math:`J J^\top` of
:func:`graphon_ops.empirical.empirical_ntk` (kept positions and biases).

**Time.** One step is :math:`\theta \leftarrow \theta - \eta\,\nabla_\theta L` with
:math:`\eta` = ``learning_rate``: the Euler step of unit size of the gradient flow
:math:`\dot\theta = -\eta\nabla_\theta L` of ``docs/theory/predictions.rst``. So after :math:`k` steps the
kernel prediction to compare with is at time :math:`t = k` with the same learning rate,

.. math::

    f(k) \approx Y + e^{-\eta \Theta k/N}\,(f(0) - Y),

which is ``gradient_descent_mse(ntk, y_train, learning_rate=eta)(t=k, fx_train_0=f0)`` of
:mod:`graphon_ops.predict` (equivalently ``t = k * eta`` with ``learning_rate=1``).

For the linearised network the steps give exactly :math:`Y + (I - \eta\Theta/N)^k (f(0) - Y)`, which is
``gradient_descent_mse(ntk, y_train, learning_rate=eta, discrete_time=True)(t=k, ...)``; the exponential
differs from it by about :math:`k(\eta\lambda/N)^2/2` relative in the eigendirection of eigenvalue
:math:`\lambda` (small only when :math:`\eta\lambda_{\max}/N \ll 1`; the steps diverge when
:math:`\eta\lambda_{\max}/N > 2`). The rest of the deviation is the change of the kernel during
training, which shrinks as the width grows (lazy training).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._validation import as_float_array, check_flag, check_memory, check_positive_float, check_positive_int
from .mlp import MLP

__all__ = ["TrainingResult", "train_mse"]


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    r"""What :func:`train_mse` records.

    Attributes
    ----------
    times : numpy.ndarray of int, shape (T,)
        Step counts at which the outputs were recorded (sorted).
    loss : numpy.ndarray, shape (steps + 1,)
        ``loss[k]`` is :math:`L = \lVert f(X) - Y\rVert^2/(2N)` after ``k`` steps (``loss[0]``: before
        training).
    fx_train : numpy.ndarray, shape (T, n, k)
        Outputs on ``X_train`` after ``times[i]`` steps (always 3-D, also for a 1-D ``y_train``).
    fx_test : numpy.ndarray, shape (T, m, k), or None
        Outputs on ``X_test`` after ``times[i]`` steps; ``None`` without ``X_test``.
    network : MLP
        The trained network: same widths, masks and settings, trained raw weights and biases.
    learning_rate : float
        :math:`\eta` of the steps (the kernel prediction after ``k`` steps is at ``t = k`` with it).
    """

    times: np.ndarray
    loss: np.ndarray
    fx_train: np.ndarray
    fx_test: np.ndarray | None
    network: MLP
    learning_rate: float

    @property
    def steps(self) -> int:
        """Number of gradient steps taken (``loss.size - 1``)."""
        return self.loss.size - 1


def _check_times(value) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"times must be non-negative integer step counts, got {value!r}")
    try:
        times = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged nesting: numpy's message names nothing
        raise ValueError(f"times must be a 1-D sequence of step counts, got {value!r}: {exc}") from None
    if times.ndim == 0:
        times = times.reshape(1)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-D sequence of step counts, got shape {times.shape}")
    if times.dtype == bool or not np.issubdtype(times.dtype, np.integer):
        raise ValueError(f"times must be non-negative integer step counts (an integer array), got dtype "
                         f"{times.dtype}: {value!r}")
    if times.min() < 0:
        raise ValueError(f"times must be non-negative integer step counts, got {times.tolist()!r}")
    if np.any(np.diff(times) < 0):
        raise ValueError(f"times must be sorted (non-decreasing), got {times.tolist()!r}")
    return times.astype(np.int64)


def _check_data(net: MLP, X_train, y_train, X_test):
    d, n_out = net.widths[0], net.widths[-1]
    X_train = as_float_array("X_train", X_train, ndim=2, dtype=np.float64)
    if X_train.shape[1] != d:
        raise ValueError(f"X_train must have {d} columns (the network's input dimension), got shape "
                         f"{X_train.shape}")
    n = X_train.shape[0]
    y = as_float_array("y_train", y_train, ndim=(1, 2), dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape != (n, n_out):
        raise ValueError(f"y_train must have shape ({n}, {n_out}) (or ({n},) for one output) to match X_train "
                         f"and the network's {n_out} output(s), got {np.shape(y_train)}")
    if X_test is not None:
        X_test = as_float_array("X_test", X_test, ndim=2, dtype=np.float64)
        if X_test.shape[1] != d:
            raise ValueError(f"X_test must have {d} columns (the network's input dimension), got shape "
                             f"{X_test.shape}")
    return X_train, y, X_test


def _progress_bar(total: int):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError("progress=True needs the optional dependency tqdm (pip install tqdm, or "
                          "pip install graphon_ops[validation]); pass progress=False to train without a "
                          "progress bar") from None
    return tqdm(total=total, desc="train_mse", unit="step")


def train_mse(net: MLP, X_train, y_train, *, learning_rate: float = 1.0, steps: int | None = None,
              times=None, X_test=None, progress: bool = False) -> TrainingResult:
    r"""Train a masked MLP by full-batch gradient descent on :math:`\lVert f(X) - Y\rVert^2/(2N)`.

    Training starts from the network's own weights: for ``net.with_masks(masks)`` these are the raw
    weights pruning KEPT (conditioned on having passed the criterion, ``docs/theory/ntk.rst``); pass
    ``net.with_fresh_weights(seed)`` to train the same masks from weights drawn afresh. Every step
    updates all raw weights :math:`\omega^l` and biases :math:`\beta^l` (readout included),
    :math:`\theta \leftarrow \theta - \eta\,\nabla_\theta L`, with the masks and row scales fixed
    (module docstring for the gradient): pruned weights stay pruned. ``net`` itself is not changed.

    Parameters
    ----------
    net : MLP
        The network to train (any depth, activation, normalisation, number of outputs).
    X_train : array_like, shape (n, d)
        Training inputs.
    y_train : array_like, shape (n,) or (n, k)
        Targets (``k`` = the network's output width); :math:`N` = ``y_train.size``.
    learning_rate : float
        :math:`\eta > 0`. After ``k`` steps the kernel prediction to compare with is
        ``gradient_descent_mse(ntk, y_train, learning_rate, discrete_time=True)(t=k, ...)`` (module docstring).
    steps : int, optional
        Number of steps :math:`\ge 0`; default ``max(times)``. At least ``max(times)`` when both are given.
    times : sequence of int, optional
        Sorted step counts :math:`\ge 0` at which the outputs are recorded; default ``[0, steps]``.
        One of ``steps`` and ``times`` is required.
    X_test : array_like, shape (m, d), optional
        Test inputs whose outputs are recorded at ``times`` too.
    progress : bool
        Show a ``tqdm`` progress bar (needs the optional dependency tqdm).

    Returns
    -------
    TrainingResult
        ``times``, the loss after every step (``loss[k]`` after ``k`` steps), the outputs
        ``fx_train`` (T, n, k) and ``fx_test`` (T, m, k) or ``None``, the trained ``network`` and
        ``learning_rate``.

    Raises
    ------
    ValueError
        Naming the argument: shapes that do not match the network, non-finite data, ``learning_rate``
        not > 0, ``steps``/``times`` not non-negative integers (``times`` unsorted, ``steps < max(times)``,
        both missing), and a ``learning_rate`` so large that the loss overflows (the step at which it did).
    ImportError
        ``progress=True`` without tqdm installed.

    Notes
    -----
    Each step is one forward and one backward pass over the batch (plus one final forward pass, and a
    forward pass on ``X_test`` at each recorded time): :math:`O(n \sum_l n_l n_{l-1})` per step, dense
    numpy products (masked weights are multiplied as zeros). The loss is summed in float64 in the
    order of numpy's reductions, so equal inputs give bit-identical results.

    Examples
    --------
    Train a pruned ReLU network (keep :math:`|\omega| > 1`, the weights pruning kept) on four points
    and compare with the kernel ODE of its empirical NTK at initialisation:

    >>> import numpy as np
    >>> from graphon_ops.empirical import empirical_ntk
    >>> from graphon_ops.predict import gradient_descent_mse
    >>> from graphon_ops.pruning import MLP
    >>> net = MLP([2, 2048, 1], seed=0)
    >>> pruned = net.with_masks([np.abs(net.weights[0]) > 1.0, np.ones((1, 2048))])
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-0.8, 0.6]])
    >>> y = np.array([1.0, -1.0, 0.5, 0.0])
    >>> result = train_mse(pruned, X, y, learning_rate=1.0, times=[0, 10, 50])
    >>> result.fx_train.shape, result.loss.shape
    ((3, 4, 1), (51,))
    >>> print(f"loss {result.loss[0]:.4f} -> {result.loss[-1]:.4f}")
    loss 0.5104 -> 0.0327
    >>> kernel = gradient_descent_mse(empirical_ntk(X, pruned), y[:, None], learning_rate=1.0,
    ...                               discrete_time=True)                     # t counts steps
    >>> predicted = kernel(t=result.times, fx_train_0=result.fx_train[0])
    >>> print(f"{np.abs(result.fx_train - predicted).max():.3f}")  # lazy training: close to the linear model
    0.002
    >>> kept = int(np.count_nonzero(result.network.effective_weights()[0]))   # pruned weights stay pruned
    >>> bool(np.array_equal(result.network.masks[0], pruned.masks[0])), kept, pruned.masks[0].size
    (True, 1320, 4096)
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be a graphon_ops.pruning.MLP, got {type(net).__name__}")
    learning_rate = check_positive_float("learning_rate", learning_rate)
    steps = None if steps is None else check_positive_int("steps", steps, minimum=0)
    times = _check_times(times)
    progress = check_flag("progress", progress)
    if steps is None and times is None:
        raise ValueError("steps and times are both missing: pass steps (the number of steps) and/or times "
                         "(the step counts at which to record the outputs)")
    if steps is None:
        steps = int(times[-1])
    check_memory(f"train_mse's loss history ({steps} steps)", 8 * (steps + 1))
    if times is None:
        times = np.unique(np.array([0, steps], dtype=np.int64))
    if times[-1] > steps:
        raise ValueError(f"times must not exceed steps={steps}, got max(times)={int(times[-1])}")
    X_train, y, X_test = _check_data(net, X_train, y_train, X_test)

    n_layers = len(net.widths) - 1
    activation, sigma_b = net.activation, net.sigma_b
    # c M: the fixed factor between raw and effective weights, and between dL/dw and dL/domega
    scaled_masks = [net.row_scales(l)[:, None] * net.masks[l - 1] for l in range(1, n_layers + 1)]
    step_factors = [learning_rate * cm for cm in scaled_masks]
    omegas = [np.array(w, dtype=np.float64) for w in net.weights]
    betas = [np.array(b, dtype=np.float64) for b in net.biases]
    effective = [np.empty_like(w) for w in omegas]
    bias_terms = [sigma_b * b for b in betas]
    normaliser = float(y.size)

    def forward(X, keep):
        """Outputs, and (when keep) pre-activations h^l and post-activations a^{l-1}."""
        post, pre = [X], []
        a = X
        for l in range(n_layers):
            h = a @ effective[l].T
            h += bias_terms[l]
            if l < n_layers - 1:
                if keep:
                    pre.append(h)
                a = activation.fn(h)
                if keep:
                    post.append(a)
            else:
                a = h
        return a, pre, post

    def refresh():
        for l in range(n_layers):
            np.multiply(scaled_masks[l], omegas[l], out=effective[l])
            bias_terms[l] = sigma_b * betas[l]

    slots: dict[int, list[int]] = {}
    for i, t in enumerate(times.tolist()):
        slots.setdefault(t, []).append(i)
    n_out = net.widths[-1]
    fx_train = np.empty((times.size, X_train.shape[0], n_out))
    fx_test = None if X_test is None else np.empty((times.size, X_test.shape[0], n_out))
    loss = np.empty(steps + 1)
    bar = _progress_bar(steps) if progress else None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(steps + 1):
                refresh()
                out, pre, post = forward(X_train, keep=k < steps)
                residual = out - y
                loss[k] = 0.5 * np.sum(residual * residual) / normaliser
                if not np.isfinite(loss[k]):
                    raise ValueError(f"learning_rate={learning_rate!r} is too large: the loss became non-finite "
                                     f"after {k} steps (gradient descent diverged)")
                for i in slots.get(k, ()):
                    fx_train[i] = out
                    if fx_test is not None:  # exactly when X_test is given
                        fx_test[i] = forward(X_test, keep=False)[0]
                if k == steps:
                    break
                # backward pass: delta^{L+1} = dL/df, delta^l = (delta^{l+1} w^{l+1}) * phi'(h^l)
                delta = residual / normaliser
                for l in range(n_layers - 1, -1, -1):
                    # effective[l] still holds this step's weights (refreshed at the next step)
                    grad = delta.T @ post[l]                      # dL/dw^l
                    grad *= step_factors[l]                       # eta * dL/domega^l = eta c M dL/dw^l
                    omegas[l] -= grad
                    if sigma_b != 0.0:
                        betas[l] -= (learning_rate * sigma_b) * delta.sum(axis=0)
                    if l > 0:
                        delta = (delta @ effective[l]) * activation.derivative(pre[l - 1])
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    trained = MLP(net.widths, masks=net.masks, _weights=omegas, _biases=betas, **net._settings())
    for array in (times, loss, fx_train) + (() if fx_test is None else (fx_test,)):
        array.setflags(write=False)
    return TrainingResult(times=times, loss=loss, fx_train=fx_train, fx_test=fx_test, network=trained,
                          learning_rate=learning_rate)
