r"""Elementwise activations :math:`\varphi` with their first two derivatives.

One table serves the finite networks (forward pass, backprop, the R-operator needs
:math:`\varphi''`) and the Graphon-NTK (closed-form Gaussian expectations exist for ``relu``,
``erf`` and ``identity``; other activations are integrated by Gauss--Hermite quadrature).

==========  =======================================  ==========================
name        :math:`\varphi(z)`                       closed-form :math:`F, \dot F`
==========  =======================================  ==========================
relu        :math:`\max(z, 0)`                       yes (arc-cosine kernel)
erf         :math:`\mathrm{erf}(z)`                  yes
identity    :math:`z`                                yes
tanh        :math:`\tanh z`                          no
gelu        :math:`z\,\Phi(z)`                       no
sigmoid     :math:`1/(1 + e^{-z})`                   no
==========  =======================================  ==========================

For ReLU the derivative at 0 is taken as 0 and the second derivative as 0 everywhere (a.e. exact).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import scipy.special

__all__ = ["Activation", "get_activation", "ACTIVATIONS"]


@dataclasses.dataclass(frozen=True)
class Activation:
    """An elementwise activation: ``fn``, ``derivative`` and ``second_derivative`` (vectorised)."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    second_derivative: Callable[[np.ndarray], np.ndarray] | None = None
    closed_form: bool = False


_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _gelu_derivative(z):
    return scipy.special.ndtr(z) + z * np.exp(-0.5 * z * z) / _SQRT_2PI


def _gelu_second(z):
    return (2.0 - z * z) * np.exp(-0.5 * z * z) / _SQRT_2PI


def _sigmoid_derivative(z):
    s = scipy.special.expit(z)
    return s * (1.0 - s)


def _sech_squared(z):
    r""":math:`\operatorname{sech}^2 z = 4e^{-2|z|}/(1 + e^{-2|z|})^2`: no overflow where cosh z would (|z| > 710)."""
    decay = np.exp(-2.0 * np.abs(z))
    return 4.0 * decay / (1.0 + decay) ** 2


def _sigmoid_second(z):
    s = scipy.special.expit(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64),
                       lambda z: np.zeros_like(z, dtype=np.float64), closed_form=True),
    "erf": Activation("erf", scipy.special.erf, lambda z: 2.0 / np.sqrt(np.pi) * np.exp(-z * z),
                      lambda z: -4.0 / np.sqrt(np.pi) * z * np.exp(-z * z), closed_form=True),
    "identity": Activation("identity", lambda z: np.asarray(z, dtype=np.float64) * 1.0,
                           lambda z: np.ones_like(z, dtype=np.float64),
                           lambda z: np.zeros_like(z, dtype=np.float64), closed_form=True),
    "tanh": Activation("tanh", np.tanh, _sech_squared, lambda z: -2.0 * np.tanh(z) * _sech_squared(z)),
    "gelu": Activation("gelu", lambda z: z * scipy.special.ndtr(z), _gelu_derivative, _gelu_second),
    "sigmoid": Activation("sigmoid", scipy.special.expit, _sigmoid_derivative, _sigmoid_second),
}


def get_activation(activation) -> Activation:
    """Look up an activation by name, or pass an :class:`Activation` (e.g. a user's) through.

    Examples
    --------
    >>> get_activation("relu").fn(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or an Activation, got {activation!r}")
