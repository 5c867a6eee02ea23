r"""Predictions of infinitely wide networks trained by gradient flow on squared loss (docs/theory/predictions.rst).

Given a kernel on the training data (the NTK, e.g. a Graphon-NTK from :func:`graphon_ops.graphon_ntk`,
or the NNGP) the outputs of a wide network trained by full-batch gradient flow on
:math:`L = \|f - Y\|^2 / (2N)`, :math:`N` = ``y_train.size``, evolve as a linear model:

.. math::

   f_\mathrm{train}(t) = Y + e^{-\eta K t/N}\,\big(f_\mathrm{train}(0) - Y\big),\qquad
   f_\mathrm{test}(t) = f_\mathrm{test}(0) + K_{*X} K^{-1}\big(I - e^{-\eta K t/N}\big)\big(Y - f_\mathrm{train}(0)\big).

* :func:`gradient_descent_mse`: these two formulas at any times, from one eigendecomposition of
  :math:`K`; ``t=None`` is infinite time (kernel regression).
* :func:`gp_inference`: Gaussian-process posterior mean and covariance (NNGP or NTK as the prior
  covariance).
* :func:`gradient_descent_mse_ensemble`: mean and covariance over random initialisations of the
  trained infinite-width network, from the NTK and the NNGP (Lee et al. 2019).

Names, signatures, argument conventions (``fx_train_0``/``fx_test_0`` decide what is returned,
``diag_reg`` relative to the mean diagonal, the time unit ``learning_rate * t``) follow
``neural_tangents.predict``, restricted to numpy arrays: kernels are 2-D (``trace_axes=(-1,)``, the
kernel acts as :math:`K \otimes I` on the output columns).
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np
import scipy.linalg

from ._validation import as_float_array, check_flag, check_nonnegative_float, check_positive_float

__all__ = ["Gaussian", "gradient_descent_mse", "gp_inference", "gradient_descent_mse_ensemble"]

_EPS = np.finfo(np.float64).eps
#: Relative asymmetry ``max|K - K^T| / max|K|`` above which a kernel matrix is refused.
SYMMETRY_TOLERANCE = 1e-10
#: Eigenvalues below ``-NEGATIVE_TOLERANCE * max|lambda|`` mean the kernel is not positive
#: semi-definite (rounding of a PSD matrix in float64 gives about ``N eps max|lambda|``, far below).
NEGATIVE_TOLERANCE = 1e-8


class Gaussian(NamedTuple):
    """A ``(mean, covariance)`` pair, as ``neural_tangents.predict.Gaussian``.

    Attributes
    ----------
    mean : numpy.ndarray
        Shape of the outputs, with leading time axes where times were given.
    covariance : numpy.ndarray
        ``(m, m)`` over the points (the same for every output column), with the same leading axes.
    """

    mean: np.ndarray
    covariance: np.ndarray


# --------------------------------------------------------------------------------------------------
# validation


def _as_kernel(name: str, K, n: int | None = None) -> np.ndarray:
    K = as_float_array(name, K, ndim=2, dtype=np.float64)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be a square kernel matrix, got shape {K.shape}")
    if n is not None and K.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, {n}) to match y_train, got {K.shape}")
    scale = np.abs(K).max()
    if scale > 0:
        asymmetry = float(np.abs(K - K.T).max()) / scale
        if asymmetry > SYMMETRY_TOLERANCE:
            raise ValueError(f"{name} must be symmetric: max|K - K^T| / max|K| = {asymmetry:.3g} > "
                             f"{SYMMETRY_TOLERANCE:g}")
    return K


def _as_cross_kernel(name: str, K, n: int, m: int | None = None) -> np.ndarray:
    K = as_float_array(name, K, ndim=2, dtype=np.float64)
    if K.shape[1] != n:
        raise ValueError(f"{name} must have shape (n_test, {n}) (test points x training points), got {K.shape}")
    if m is not None and K.shape[0] != m:
        raise ValueError(f"{name} must have shape ({m}, {n}) to match the other test kernels, got {K.shape}")
    return K


def _as_targets(y_train) -> np.ndarray:
    return as_float_array("y_train", y_train, ndim=(1, 2), dtype=np.float64)


def _same_axes(axes: tuple, option: tuple) -> bool:
    return len(axes) == len(option) and all(isinstance(a, int) and a == b for a, b in zip(axes, option))


def _check_trace_axes(trace_axes, y: np.ndarray) -> None:
    try:
        axes = tuple(int(a) for a in trace_axes)
    except (TypeError, ValueError, OverflowError):
        axes = (trace_axes,)
    # a list of allowed tuples, not a set: the comparison must not hash what the caller gave
    allowed = [(-1,), (0,), ()] if y.ndim == 1 else [(-1,), (1,)]
    if not any(_same_axes(axes, option) for option in allowed):
        raise ValueError(f"trace_axes must be (-1,) (the kernel acts as K (x) I on the output columns of "
                         f"y_train); other axes are not supported, got {trace_axes!r}")


def _ridge(K: np.ndarray, diag_reg: float, absolute) -> float:
    """The value added to the diagonal: ``diag_reg``, or ``diag_reg * trace(K) / n`` (neural-tangents)."""
    mean_diagonal = float(np.sum(np.diag(K) / K.shape[0]))  # divided first: trace(K) overflows for entries near 1e308
    with np.errstate(over="ignore", invalid="ignore"):
        ridge = diag_reg if check_flag("diag_reg_absolute_scale", absolute) else diag_reg * mean_diagonal
        largest = ridge + float(np.abs(K).max())
    if not np.isfinite(largest):
        raise ValueError(f"K + diag_reg I overflows float64 (diag_reg = {diag_reg!r}, "
                         f"{'absolute' if absolute else f'times the mean diagonal {mean_diagonal:.3g}'}, largest "
                         f"entry of K {float(np.abs(K).max()):.3g}); use a smaller diag_reg or rescale K")
    return ridge


def _finite_predictions(predict: Callable) -> Callable:
    """``predict`` with its floating-point overflow reported as a ``ValueError`` instead of inf or NaN outputs."""

    @functools.wraps(predict)
    def checked(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            out = predict(*args, **kwargs)
        arrays = out if isinstance(out, tuple) else (out,)  # a Gaussian is a (mean, covariance) tuple too
        if not all(np.all(np.isfinite(np.asarray(a))) for a in arrays):
            raise ValueError("the predictions overflow float64 (inf or NaN): the kernels, targets, starting outputs "
                             "or times are too large together; rescale them (the predictions are linear in "
                             "y_train and the starting outputs)")
        return out

    return checked


def _as_times(t) -> np.ndarray:
    if np.iscomplexobj(t) or isinstance(t, complex):
        raise ValueError(f"t must be real, got {t!r}")
    try:
        times = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"t must be None, a number >= 0 or an array of numbers >= 0, got {t!r}") from None
    if times.size == 0:
        raise ValueError(f"t must not be empty, got shape {times.shape}")
    if np.any(np.isnan(times)) or np.any(times < 0):
        bad = times[np.isnan(times) | (times < 0)].ravel()[0]
        raise ValueError(f"t must be >= 0 (np.inf or None for infinite time), got {bad!r}")
    return times


def _as_outputs(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    arr = as_float_array(name, value, allow_empty=False, dtype=np.float64)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} must be a number or an array broadcastable to {shape}, got shape "
                         f"{arr.shape}") from None


def _phi(z: np.ndarray) -> np.ndarray:
    r""":math:`\varphi(z) = (e^z - 1)/z`, :math:`\varphi(0) = 1`; accurate for every ``z <= 0``."""
    out = np.ones_like(z)
    nonzero = z != 0
    np.divide(np.expm1(z, where=nonzero, out=np.zeros_like(z)), z, out=out, where=nonzero)
    return out


class _Eigenbasis:
    """Eigendecomposition of ``K + ridge * I`` and the functions of it the predictions need.

    Time ``t`` is continuous (gradient flow) or, with ``discrete_time``, a whole number of gradient
    steps of size ``learning_rate``: the per-eigenvalue factor is :math:`e^{-\\eta\\lambda t/N}` or
    :math:`(1 - \\eta\\lambda/N)^t`.
    """

    def __init__(self, name: str, K: np.ndarray, ridge: float, normalization: int, learning_rate: float,
                 discrete_time: bool = False):
        # halves first: K + K^T overflows for entries beyond 9e307 (halving costs at most a subnormal's last bit)
        symmetric = 0.5 * K
        symmetric += 0.5 * K.T
        values, self.vectors = np.linalg.eigh(symmetric)
        del symmetric
        top = float(np.abs(values).max(initial=0.0))
        if values[0] < -NEGATIVE_TOLERANCE * top:
            raise ValueError(f"{name} must be positive semi-definite: smallest eigenvalue {values[0]:.3g}, "
                             f"largest {values[-1]:.3g} (gradient flow on an indefinite kernel diverges)")
        # eigenvalues of K + ridge I; rounding-level negatives of a PSD matrix are clamped to 0
        with np.errstate(over="ignore"):
            self.values = np.maximum(values, 0.0) + ridge
        self.name = name
        self.ridge = ridge
        self.normalization = normalization
        self.learning_rate = learning_rate
        self.discrete_time = discrete_time
        largest, smallest = float(self.values[-1]), float(self.values[0])
        self.condition = largest / smallest if smallest > 0 else np.inf
        # numerical rank convention of numpy.linalg.matrix_rank: lambda_min <= n eps lambda_max is singular
        self.max_condition = 1.0 / (K.shape[0] * _EPS)
        # u = eta lambda / N: the fraction of a residual component one step removes
        with np.errstate(over="ignore", invalid="ignore"):
            self.rates = learning_rate * self.values / normalization
        if not (np.all(np.isfinite(self.values)) and np.all(np.isfinite(self.rates))):
            raise ValueError(f"learning_rate * lambda / N overflows float64 (learning_rate = {learning_rate!r}, "
                             f"largest eigenvalue of {name} + diag_reg I {float(self.values[-1]):.3g}, N = "
                             f"{normalization:g}); use a smaller learning_rate or rescale {name}")
        if discrete_time and not self.rates[-1] < 2.0:
            raise ValueError(f"learning_rate={learning_rate!r} is too large for discrete_time=True: "
                             f"learning_rate * lambda_max / N = {self.rates[-1]:.4g} >= 2 (lambda_max = "
                             f"{largest:.4g}, of {name}{' + diag_reg I' if ridge else ''}), so gradient descent "
                             f"diverges (steps converge for learning_rate < 2N/lambda_max = "
                             f"{2.0 * normalization / largest:.4g})")

    def check_invertible(self) -> None:
        if not self.condition <= self.max_condition:
            what = f"{self.name} + diag_reg I" if self.ridge else self.name
            raise ValueError(f"{what} is numerically singular (condition number {self.condition:.3g} > "
                             f"1/(n eps) = {self.max_condition:.3g}), so infinite-time (t=None or t=inf) "
                             f"predictions K^-1 (...) are not defined; pass diag_reg > 0 (e.g. diag_reg=1e-8, "
                             f"relative to the mean diagonal) or a finite t")

    def check_times(self, times: np.ndarray) -> None:
        finite = times[np.isfinite(times)]
        if self.discrete_time and np.any(finite != np.round(finite)):
            bad = finite[finite != np.round(finite)][0]
            raise ValueError(f"t counts gradient steps when discrete_time=True and must hold whole numbers "
                             f"(or np.inf), got {bad!r}")
        if np.any(np.isinf(times)):
            self.check_invertible()

    def project(self, r: np.ndarray) -> np.ndarray:
        """Coordinates ``V^T r`` of an ``(n, k)`` array."""
        return self.vectors.T @ r

    def _log_factors(self) -> np.ndarray:
        r"""Logarithm of the per-unit-time factor: :math:`-u` (flow) or :math:`\log(1 - u)` (steps, ``u < 1``)."""
        if not self.discrete_time:
            return -self.rates
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log1p(-self.rates)

    def decay(self, t: np.ndarray) -> np.ndarray:
        r"""``(T, n)`` values of the factor minus one, :math:`e^{-u t} - 1` or :math:`(1 - u)^t - 1`, for
        finite ``t`` (computed by ``expm1``; steps with :math:`u \ge 1` flip sign and use the power)."""
        with np.errstate(over="ignore", invalid="ignore"):  # u t beyond 1e308: expm1(-inf) = -1 exactly
            z = np.outer(t, self._log_factors())
            out = np.expm1(z)
        if self.discrete_time:
            flipping = self.rates >= 1.0
            out[:, flipping] = np.power(1.0 - self.rates[flipping], t[:, None]) - 1.0
        return out

    def inverse_decay(self, t: np.ndarray) -> np.ndarray:
        r"""``(T, n)`` values of :math:`g = (1 - \text{factor}^t)/\lambda`; rows with :math:`t = \infty`
        hold :math:`1/\lambda`.

        With :math:`z = t \log(\text{factor}) \le 0` and :math:`\varphi(z) = \mathrm{expm1}(z)/z`,
        :math:`g = (\eta t/N)\,\ell(u)\,\varphi(z)` where :math:`\ell(u) = 1` (flow) or
        :math:`-\log(1-u)/u` (steps): no cancellation and no division by a small :math:`\lambda`, and
        :math:`g = \eta t/N` at :math:`\lambda = 0`.
        """
        finite = np.isfinite(t)
        tf = np.where(finite, t, 0.0)
        log_factors = self._log_factors()
        if self.discrete_time:
            u = self.rates
            ell = np.ones_like(u)
            np.divide(-log_factors, u, out=ell, where=(u > 0) & (u < 1.0))
        else:
            ell = np.ones_like(self.rates)
        with np.errstate(over="ignore", invalid="ignore"):
            z = np.outer(tf, log_factors)                                          # <= 0, may be -inf
        out = (tf * self.learning_rate / self.normalization)[:, None] * ell * _phi(np.where(np.isnan(z), 0.0, z))
        huge = np.isinf(z)                                                         # eta lambda t / N overflowed
        out[huge] = 1.0 / np.broadcast_to(self.values, z.shape)[huge]              # lambda > 0 there
        if self.discrete_time:
            flipping = self.rates >= 1.0                                           # lambda > 0 there
            out[:, flipping] = (1.0 - np.power(1.0 - self.rates[flipping], tf[:, None])) / self.values[flipping]
        if not np.all(finite):
            self.check_invertible()
            out[~finite] = 1.0 / self.values
        return out

    def apply(self, coefficients: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
        """``V diag(c_t) V^T r`` for every time: ``(T, n)`` coefficients, ``(n, k)`` coordinates ->
        ``(T, n, k)``, as one matrix product."""
        T, n = coefficients.shape
        k = coordinates.shape[1]
        scaled = coefficients[:, :, None] * coordinates[None, :, :]          # (T, n, k)
        stacked = scaled.transpose(1, 0, 2).reshape(n, T * k)
        return (self.vectors @ stacked).reshape(n, T, k).transpose(1, 0, 2)


# --------------------------------------------------------------------------------------------------
# gradient flow, mean squared error


def gradient_descent_mse(k_train_train, y_train, learning_rate: float = 1.0, diag_reg: float = 0.0,
                         diag_reg_absolute_scale: bool = False, trace_axes=(-1,), *,
                         discrete_time: bool = False) -> Callable:
    r"""Outputs of gradient flow on squared loss, in closed form, at any times (neural-tangents API).

    Parameters
    ----------
    k_train_train : array_like, shape (n, n)
        Symmetric positive semi-definite kernel on the training points: the NTK (training all layers)
        or the NNGP (training the readout only). Symmetric to ``1e-10`` relative to its largest entry.
    y_train : array_like, shape (n,) or (n, k)
        Targets; :math:`N` = ``y_train.size`` normalises the loss :math:`\|f - Y\|^2 / (2N)`.
    learning_rate : float
        :math:`\eta > 0`; time is measured in units of it (only :math:`\eta t` matters).
    diag_reg : float
        Ridge :math:`\ge 0` added to the diagonal of :math:`K` (for the training dynamics and the
        inverse alike); relative to the mean diagonal :math:`\mathrm{tr}(K)/n` unless
        ``diag_reg_absolute_scale``.
    diag_reg_absolute_scale : bool
        ``True``: ``diag_reg`` is in absolute units.
    trace_axes : tuple
        Only ``(-1,)``: the kernel acts as :math:`K \otimes I` on the ``k`` output columns.
    discrete_time : bool
        ``False`` (default, as neural-tangents): gradient flow, ``t`` continuous. ``True``: ``t`` counts
        full-batch gradient-descent steps :math:`\theta \leftarrow \theta - \eta\nabla L` (whole
        numbers), and the factor :math:`e^{-\eta\lambda t/N}` becomes :math:`(1 - \eta\lambda/N)^t`
        -- the exact outputs of the linearised network after ``t`` steps, to compare with a finite
        network trained by :func:`graphon_ops.pruning.train_mse`. Needs
        :math:`\eta\lambda_{\max}/N < 2` (otherwise the steps diverge: ``ValueError``).

    Returns
    -------
    predict_fn : callable
        ``predict_fn(t=None, fx_train_0=0.0, fx_test_0=None, k_test_train=None)``, see Notes.

    Notes
    -----
    With :math:`K = V \operatorname{diag}(\lambda) V^\top` (``numpy.linalg.eigh``, once, here),
    :math:`s = \eta t` and :math:`r = f_\mathrm{train}(0) - Y`:

    .. math::

       f_\mathrm{train}(t) = f_\mathrm{train}(0) + V \operatorname{diag}\big(e^{-\lambda s/N} - 1\big) V^\top r,
       \qquad
       f_\mathrm{test}(t) = f_\mathrm{test}(0) - K_{*X} V \operatorname{diag}\big(g(\lambda, s)\big) V^\top r,

    with :math:`g(\lambda, s) = (1 - e^{-\lambda s/N})/\lambda = (s/N)\,\varphi(-\lambda s/N)`,
    :math:`\varphi(z) = \mathrm{expm1}(z)/z`, :math:`\varphi(0) = 1` (with ``discrete_time``,
    :math:`e^{-\lambda s/N}` is :math:`(1 - \eta\lambda/N)^t` and
    :math:`g = (s/N)\,\ell\,\varphi(t\log(1 - \eta\lambda/N))`, :math:`\ell = -\log(1-u)/u`,
    :math:`u = \eta\lambda/N`): finite at :math:`\lambda = 0`, so a
    singular :math:`K` gives finite predictions at every finite time (the null-space component of the
    training outputs stays where it started). Eigenvalues are clamped at 0 (rounding of a PSD matrix);
    clearly negative ones (below :math:`-10^{-8}\lambda_{\max}`) are refused.

    ``predict_fn`` arguments and return value, exactly as ``neural_tangents.predict.gradient_descent_mse``:

    * ``t``: ``None`` (infinite time, no time axis), a number, or an array of times
      :math:`\ge 0` (``np.inf`` allowed); an array ``t`` adds its shape as leading axes to the outputs.
      Infinite time is kernel regression, :math:`f_\mathrm{test} = f_\mathrm{test}(0) + K_{*X}K^{-1}(Y -
      f_\mathrm{train}(0))` and :math:`f_\mathrm{train} = Y`; it needs an invertible
      :math:`K + \mathrm{diag\_reg}\, I` (condition number at most :math:`1/(n\varepsilon)`, otherwise
      ``ValueError`` stating it: pass ``diag_reg > 0``).
    * ``fx_train_0``: network outputs on the training points at :math:`t = 0` (a number or an array
      broadcastable to ``y_train.shape``); ``None`` means "do not return training outputs" (and zero
      initial outputs in the formula for the test outputs).
    * ``fx_test_0``: outputs on the test points at :math:`t = 0`; ``None`` (default) means "do not
      compute test outputs" -- even when ``k_test_train`` is given. Pass ``fx_test_0=0.0`` for
      test outputs of a network initialised at zero.
    * ``k_test_train``: ``(m, n)`` kernel between test and training points; required when
      ``fx_test_0`` is not ``None``.
    * Returns ``fx_train_t`` when ``fx_test_0 is None``, ``fx_test_t`` when ``fx_train_0 is None``,
      and ``(fx_train_t, fx_test_t)`` when neither is ``None``; both ``None`` is a ``ValueError``.

    The eigendecomposition costs about as much as one ``numpy.linalg.eigh`` of :math:`K`; each call
    of ``predict_fn`` then costs :math:`O(n^2 k T + m n k T)` for :math:`T` times. Derivation and error
    analysis: ``docs/theory/predictions.rst``.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> y = np.array([1.0, -1.0])
    >>> predict_fn = gradient_descent_mse(K, y)
    >>> np.round(predict_fn(t=[0.0, 1.0, 100.0]), 6)  # K y = y, N = 2: f = y (1 - e^{-t/2})
    array([[ 0.      ,  0.      ],
           [ 0.393469, -0.393469],
           [ 1.      , -1.      ]])
    >>> fx_train, fx_test = predict_fn(None, 0.0, 0.0, k_test_train=[[1.0, 0.0]])
    >>> print(f"{fx_test[0]:.6f}")                          # K_* K^-1 y = [2/3, -1/3] . y
    1.000000
    """
    Y = _as_targets(y_train)
    _check_trace_axes(trace_axes, Y)
    n = Y.shape[0]
    K = _as_kernel("k_train_train", k_train_train, n)
    learning_rate = check_positive_float("learning_rate", learning_rate)
    diag_reg = check_nonnegative_float("diag_reg", diag_reg)
    basis = _Eigenbasis("k_train_train", K, _ridge(K, diag_reg, diag_reg_absolute_scale), Y.size,
                        learning_rate, check_flag("discrete_time", discrete_time))
    del K

    @_finite_predictions
    def predict_fn(t=None, fx_train_0=0.0, fx_test_0=None, k_test_train=None):
        """Training [and test] outputs at time[s] ``t``; see :func:`gradient_descent_mse`."""
        if fx_train_0 is None and fx_test_0 is None:
            raise ValueError("fx_train_0 and fx_test_0 are both None: no predictions to compute")
        if fx_test_0 is not None and k_test_train is None:
            raise ValueError("fx_test_0 is given but k_test_train is None: pass the (n_test, n_train) kernel "
                             "k_test_train to get test predictions")
        f0 = 0.0 if fx_train_0 is None else _as_outputs("fx_train_0", fx_train_0, Y.shape)
        residual = np.reshape(np.asarray(f0 - Y, dtype=np.float64), (n, -1))        # r = f(0) - Y
        if fx_test_0 is not None:
            Kt = _as_cross_kernel("k_test_train", k_test_train, n)
            test_shape = (Kt.shape[0],) + Y.shape[1:]
            ft0 = _as_outputs("fx_test_0", fx_test_0, test_shape)
        if t is None:
            times = np.asarray(np.inf)
        else:
            times = _as_times(t)
        t_shape = times.shape
        flat = times.reshape(-1)
        infinite = np.isinf(flat)
        basis.check_times(flat)
        coordinates = basis.project(residual)
        out = []
        if fx_train_0 is not None:
            delta = basis.apply(basis.decay(np.where(infinite, 0.0, flat)), coordinates)
            fx_train = f0 + delta.reshape(t_shape + Y.shape)
            if np.any(infinite):  # f_train(inf) = Y exactly (K + diag_reg I is invertible)
                fx_train = np.array(fx_train)
                fx_train.reshape((-1,) + Y.shape)[infinite] = Y
            out.append(fx_train)
        if fx_test_0 is not None:
            weights = basis.apply(basis.inverse_decay(flat), coordinates)            # (T, n, k)
            T, _, k = weights.shape
            delta = Kt @ weights.transpose(1, 0, 2).reshape(n, T * k)                  # (m, T k)
            delta = delta.reshape(-1, T, k).transpose(1, 0, 2)
            out.append(ft0 - delta.reshape(t_shape + test_shape))
        return out[0] if len(out) == 1 else tuple(out)

    setattr(predict_fn, "eigenvalues", basis.values)
    setattr(predict_fn, "condition_number", basis.condition)
    return predict_fn


# --------------------------------------------------------------------------------------------------
# Gaussian-process inference


class _Cholesky:
    """Cholesky factor of ``K + ridge I`` with a 1-norm condition estimate (LAPACK ``potrf``/``pocon``)."""

    def __init__(self, name: str, K: np.ndarray, ridge: float):
        n = K.shape[0]
        A = K + ridge * np.eye(n) if ridge else K.copy()
        A = 0.5 * A + 0.5 * A.T  # halves first, as in _Eigenbasis
        anorm = float(np.abs(A).sum(axis=0).max())
        what = f"{name} + diag_reg I" if ridge else name
        potrf, pocon = scipy.linalg.lapack.get_lapack_funcs(("potrf", "pocon"), (A,))
        factor, info = potrf(A, lower=True, overwrite_a=True, clean=True)
        if info > 0 or anorm == 0:
            raise ValueError(f"{what} is not positive definite (Cholesky failed at pivot {info}); it is singular "
                             f"or indefinite: pass diag_reg > 0 (e.g. diag_reg=1e-8, relative to the mean "
                             f"diagonal)")
        rcond, info = pocon(factor, anorm, uplo="L")
        self.condition = 1.0 / rcond if rcond > 0 else np.inf
        max_condition = 1.0 / (n * _EPS)
        if not self.condition <= max_condition:
            raise ValueError(f"{what} is numerically singular (1-norm condition number about "
                             f"{self.condition:.3g} > 1/(n eps) = {max_condition:.3g}); pass diag_reg > 0 "
                             f"(e.g. diag_reg=1e-8, relative to the mean diagonal)")
        self.factor = (factor, True)

    def solve(self, b: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve(self.factor, b, check_finite=False)


def gp_inference(k_train_train, y_train, diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False,
                 trace_axes=(-1,)) -> Callable:
    r"""Gaussian-process posterior with prior covariance ``k_train_train`` (NNGP or NTK alike).

    Parameters
    ----------
    k_train_train : array_like, shape (n, n)
        Symmetric positive definite prior covariance on the training points.
    y_train : array_like, shape (n,) or (n, k)
        Observed targets (each column an independent draw with the same covariance).
    diag_reg, diag_reg_absolute_scale, trace_axes
        As in :func:`gradient_descent_mse`: :math:`K \to K + \mathrm{diag\_reg}\cdot \mathrm{tr}(K)/n \cdot I`
        (the noise variance of the observations, in neural-tangents' units).

    Returns
    -------
    predict_fn : callable
        ``predict_fn(k_test_train=None, k_test_test=None)``: the posterior mean, shape ``(m,) + y.shape[1:]``,
        or, when ``k_test_test`` (shape ``(m, m)``) is given, a :class:`Gaussian` of mean and ``(m, m)``
        covariance. ``k_test_train=None`` returns the training-set posterior, which is ``y_train`` with
        zero covariance (pass any non-``None`` ``k_test_test``, e.g. ``True``, to get that covariance);
        for the regularised training-set posterior pass ``k_test_train=k_train_train``.

    Notes
    -----
    .. math::

       \mu = K_{*X} K^{-1} Y,\qquad \Sigma = K_{**} - K_{*X} K^{-1} K_{X*},

    through a Cholesky factorisation of :math:`K` (computed once, here). A factorisation that fails
    (not positive definite) or an estimated 1-norm condition number above :math:`1/(n\varepsilon)`
    (LAPACK ``pocon``) raises ``ValueError``: pass ``diag_reg > 0``. With the NTK as the kernel the mean
    is the infinite-time output of :func:`gradient_descent_mse` from zero initial outputs; the
    covariance of the trained ensemble is :func:`gradient_descent_mse_ensemble`, not this one.

    Examples
    --------
    >>> import numpy as np
    >>> predict_fn = gp_inference(np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0]))
    >>> mean, cov = predict_fn(np.array([[1.0, 0.0]]), np.array([[1.0]]))
    >>> print(f"{mean[0]:.6f} {cov[0, 0]:.6f}")            # 1 - [1, 0] K^-1 [1, 0]^T = 1 - 2/3
    1.000000 0.333333
    """
    Y = _as_targets(y_train)
    _check_trace_axes(trace_axes, Y)
    n = Y.shape[0]
    K = _as_kernel("k_train_train", k_train_train, n)
    diag_reg = check_nonnegative_float("diag_reg", diag_reg)
    chol = _Cholesky("k_train_train", K, _ridge(K, diag_reg, diag_reg_absolute_scale))
    alpha = chol.solve(Y.reshape(n, -1))                                               # K^-1 Y

    @_finite_predictions
    def predict_fn(k_test_train=None, k_test_test=None):
        """Posterior mean [and covariance] on the test points; see :func:`gp_inference`."""
        if k_test_train is None:
            mean = Y.copy()
            return mean if k_test_test is None else Gaussian(mean, np.zeros((n, n)))
        Kt = _as_cross_kernel("k_test_train", k_test_train, n)
        m = Kt.shape[0]
        mean = (Kt @ alpha).reshape((m,) + Y.shape[1:])
        if k_test_test is None:
            return mean
        Ktt = _as_kernel("k_test_test", k_test_test)
        if Ktt.shape[0] != m:
            raise ValueError(f"k_test_test must have shape ({m}, {m}) to match k_test_train, got {Ktt.shape}")
        cov = Ktt - Kt @ chol.solve(Kt.T)
        return Gaussian(mean, 0.5 * (cov + cov.T))

    setattr(predict_fn, "condition_number", chol.condition)
    return predict_fn


# --------------------------------------------------------------------------------------------------
# infinite ensemble of infinite-width networks


def gradient_descent_mse_ensemble(ntk_train_train, nngp_train_train, y_train, learning_rate: float = 1.0,
                                  diag_reg: float = 0.0, diag_reg_absolute_scale: bool = False,
                                  trace_axes=(-1,), *, discrete_time: bool = False) -> Callable:
    r"""Mean and covariance, over random initialisations, of trained infinite-width network outputs.

    At initialisation the outputs of an infinitely wide network are a centred Gaussian process with
    covariance the NNGP :math:`\mathcal K`; gradient flow on squared loss moves them linearly with the
    NTK :math:`\Theta`, so at every time they remain Gaussian (Lee et al. 2019, "Wide neural networks of
    any depth evolve as linear models under gradient descent", eq. 16). Array version of
    ``neural_tangents.predict.gradient_descent_mse_ensemble`` (``get="ntk"``).

    Parameters
    ----------
    ntk_train_train : array_like, shape (n, n)
        NTK :math:`\Theta` on the training points (symmetric positive semi-definite).
    nngp_train_train : array_like, shape (n, n)
        NNGP :math:`\mathcal K` on the training points (symmetric).
    y_train : array_like, shape (n,) or (n, k)
        Targets; :math:`N` = ``y_train.size``.
    learning_rate, diag_reg, diag_reg_absolute_scale, trace_axes, discrete_time
        As in :func:`gradient_descent_mse`; ``diag_reg`` regularises :math:`\Theta` only. With
        ``discrete_time`` the ensemble is that of networks trained by ``t`` gradient steps: the formulas
        below with :math:`e^{-\eta\Theta t/N}` replaced by :math:`(I - \eta\Theta/N)^t`.

    Returns
    -------
    predict_fn : callable
        ``predict_fn(t=None, ntk_test_train=None, nngp_test_train=None, nngp_test_test=None)``. The mean
        on the test points (shape ``t.shape + (m,) + y.shape[1:]``), or a :class:`Gaussian` of mean and
        covariance (``t.shape + (m, m)``) when ``nngp_test_test`` is given (then ``nngp_test_train`` is
        required). ``ntk_test_train=None`` gives the training points instead (pass any non-``None``
        ``nngp_test_test``, e.g. ``True``, for their covariance). ``t`` as in :func:`gradient_descent_mse`.

    Notes
    -----
    With :math:`A(t) = \Theta^{-1}(I - e^{-\eta\Theta t/N})` (computed in the eigenbasis of
    :math:`\Theta` as :math:`V\operatorname{diag}(g(\lambda, \eta t))V^\top`, finite for singular
    :math:`\Theta`), test points:

    .. math::

       \mu(t) &= \Theta_{*X} A(t)\, Y, \\
       \Sigma(t) &= \mathcal K_{**} + \Theta_{*X} A(t)\, \mathcal K\, A(t)\, \Theta_{X*}
                   - \big(\Theta_{*X} A(t)\, \mathcal K_{X*} + \mathcal K_{*X} A(t)\, \Theta_{X*}\big),

    and training points: :math:`\mu(t) = (I - e^{-\eta\Theta t/N}) Y`,
    :math:`\Sigma(t) = e^{-\eta\Theta t/N}\mathcal K e^{-\eta\Theta t/N}`. At :math:`t = \infty`
    (``t=None``) :math:`A = \Theta^{-1}` (refused when numerically singular, as in
    :func:`gradient_descent_mse`). Derivation: ``docs/theory/predictions.rst``.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> predict_fn = gradient_descent_mse_ensemble(K, K, np.array([1.0, -1.0]))
    >>> mean, cov = predict_fn(None, np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[1.0]]))
    >>> print(f"{mean[0]:.6f} {cov[0, 0]:.6f}")   # NTK = NNGP: the GP posterior (gp_inference)
    1.000000 0.333333
    """
    Y = _as_targets(y_train)
    _check_trace_axes(trace_axes, Y)
    n = Y.shape[0]
    Theta = _as_kernel("ntk_train_train", ntk_train_train, n)
    nngp = _as_kernel("nngp_train_train", nngp_train_train, n)
    nngp = 0.5 * (nngp + nngp.T)
    learning_rate = check_positive_float("learning_rate", learning_rate)
    diag_reg = check_nonnegative_float("diag_reg", diag_reg)
    basis = _Eigenbasis("ntk_train_train", Theta, _ridge(Theta, diag_reg, diag_reg_absolute_scale), Y.size,
                        learning_rate, check_flag("discrete_time", discrete_time))
    del Theta
    Y2 = Y.reshape(n, -1)
    coordinates = basis.project(Y2)                                                    # V^T Y
    V = basis.vectors

    @_finite_predictions
    def predict_fn(t=None, ntk_test_train=None, nngp_test_train=None, nngp_test_test=None):
        """Ensemble mean [and covariance] at time[s] ``t``; see :func:`gradient_descent_mse_ensemble`."""
        times = np.asarray(np.inf) if t is None else _as_times(t)
        t_shape = times.shape
        flat = times.reshape(-1)
        infinite = np.isinf(flat)
        basis.check_times(flat)
        T, k = flat.size, Y2.shape[1]
        if ntk_test_train is None:                                                     # training points
            decay = basis.decay(np.where(infinite, 0.0, flat))                        # e^{-lambda s/N} - 1
            decay[infinite] = -1.0
            mean = -basis.apply(decay, coordinates).reshape(t_shape + Y.shape)
            if nngp_test_test is None:
                return mean
            covs = []
            for row in decay + 1.0:                                                    # e^{-lambda s/N}
                E = (V * row) @ V.T
                c = E @ nngp @ E
                covs.append(0.5 * (c + c.T))
            return Gaussian(mean, np.asarray(covs).reshape(t_shape + (n, n)))
        Kt = _as_cross_kernel("ntk_test_train", ntk_test_train, n)
        m = Kt.shape[0]
        weights = basis.apply(basis.inverse_decay(flat), coordinates)                # A(t) Y, (T, n, k)
        mean = Kt @ weights.transpose(1, 0, 2).reshape(n, T * k)
        mean = mean.reshape(m, T, k).transpose(1, 0, 2).reshape(t_shape + (m,) + Y.shape[1:])
        if nngp_test_test is None:
            return mean
        if nngp_test_train is None:
            raise ValueError("nngp_test_test is given but nngp_test_train is None: the covariance of the "
                             "trained ensemble needs the (n_test, n_train) NNGP kernel nngp_test_train")
        Kn = _as_cross_kernel("nngp_test_train", nngp_test_train, n, m)
        Knn = _as_kernel("nngp_test_test", nngp_test_test)
        if Knn.shape[0] != m:
            raise ValueError(f"nngp_test_test must have shape ({m}, {m}) to match ntk_test_train, got {Knn.shape}")
        P = Kt @ V                                                                     # Theta_*X V
        covs = []
        for g in basis.inverse_decay(flat):
            U = (P * g) @ V.T                                                          # Theta_*X A(t)
            cross = U @ Kn.T
            c = Knn + U @ nngp @ U.T - cross - cross.T
            covs.append(0.5 * (c + c.T))
        return Gaussian(mean, np.asarray(covs).reshape(t_shape + (m, m)))

    setattr(predict_fn, "eigenvalues", basis.values)
    setattr(predict_fn, "condition_number", basis.condition)
    return predict_fn
