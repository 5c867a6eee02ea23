"""Activation derivatives against central finite differences."""

import numpy as np
import pytest

from graphon_ops.activations import ACTIVATIONS, Activation, get_activation


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivatives_match_central_differences(name):
    act = get_activation(name)
    z = np.linspace(-3, 3, 61) + 0.013  # avoid the ReLU kink at 0
    h = 1e-5
    # central differences: truncation h^2 |f'''| / 6 <= 1e-10 * 6 for these activations, rounding
    # eps |f| / h ~ 1e-11; 1e-8 covers both with margin
    assert np.allclose(act.derivative(z), (act.fn(z + h) - act.fn(z - h)) / (2 * h), rtol=0, atol=1e-8)
    assert np.allclose(act.second_derivative(z), (act.derivative(z + h) - act.derivative(z - h)) / (2 * h),
                       rtol=0, atol=1e-8)


def test_lookup():
    custom = Activation("cube", lambda z: z**3, lambda z: 3 * z**2)
    assert get_activation(custom) is custom
    with pytest.raises(ValueError, match="activation must be one of"):
        get_activation("swish")


def test_tanh_derivatives_do_not_overflow():
    # sech^2 z = 4 e^{-2|z|} / (1 + e^{-2|z|})^2: cosh z overflows past |z| = 710 (a RuntimeWarning and 1/inf);
    # the true values there are below 1e-600, i.e. 0 in float64
    act = get_activation("tanh")
    z = np.array([-1e300, -800.0, -20.0, -0.7, 0.0, 0.7, 20.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is the right answer
        first, second = act.derivative(z), act.second_derivative(z)
    # oracle where cosh is finite: 1 / cosh^2 and -2 tanh / cosh^2; a few roundings each side (8 eps relative)
    inner = np.abs(z) < 700
    reference = 1.0 / np.cosh(z[inner]) ** 2
    assert np.allclose(first[inner], reference, rtol=8 * np.finfo(float).eps, atol=0)
    assert np.allclose(second[inner], -2.0 * np.tanh(z[inner]) * reference, rtol=8 * np.finfo(float).eps, atol=0)
    assert np.all(first[~inner] == 0.0) and np.all(second[~inner] == 0.0)
