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
