"""Shared test setup: a derandomised hypothesis profile for CI, the backend fixture, GPU skipping."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# CI: fixed seed (derandomize), no deadline (numba compiles on first call), bounded example counts.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _gpu_available() -> bool:
    from graphon_ops._backend import gpu_available

    return gpu_available()


def pytest_collection_modifyitems(config, items):
    if _gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device and cupy")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["cpu", pytest.param("gpu", marks=pytest.mark.gpu)])
def backend(request):
    """Every available backend: tests taking this fixture run on numpy and, with a device, on cupy."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
