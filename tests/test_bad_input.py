"""Bad input across the public API: a ValueError naming the argument, never a silent cast or a crash."""

import warnings

import numpy as np
import pytest

import graphon_ops as go
from graphon_ops.empirical import empirical_ntk


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """A numpy ComplexWarning or RuntimeWarning instead of a refusal is a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


CALLS = {
    "graphon_ntk": lambda X: go.graphon_ntk(X, [0.5]),
    "empirical_ntk": lambda X: empirical_ntk(X, [np.ones((3, 2))]),
    "cut_norm": lambda X: go.cut_norm(X),
    "kernel_alignment": lambda X: go.kernel_alignment(X, np.ones(2)),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("value, message", [
    (np.array([[1.0, 2.0], [3.0, 4.0]]) * (1 + 1j), "must be real, got complex"),
    (np.array([[1.0, 2.0], [3.0, 4.0 + 0j]]), "must be real, got complex"),
    ([["1", "2"], ["3", "4"]], "must be a real numeric array, got entries of type str"),
    ("12", "must be a real numeric array, got (a string|entries of type str)"),
    (np.array([[1.0, np.nan], [3.0, 4.0]]), "must be finite"),
])
def test_arrays_must_be_real_finite_numbers(call, value, message):
    with pytest.raises(ValueError, match=message):
        CALLS[call](value)
