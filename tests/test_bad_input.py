"""Bad input across the public API: a ValueError naming the argument, never a silent cast or a crash."""

import warnings

import numpy as np
import pytest

import graphon_ops as go
from graphon_ops.empirical import empirical_ntk
from graphon_ops.predict import gp_inference


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


def test_plots_refuse_images_beyond_the_memory_budget_before_drawing(monkeypatch):
    """An image holds about 85 bytes a value while it is made and drawn (the values and matplotlib's copies):
    resolution 10**6 would need 77.3 TiB, and a 10**6 x 10**6 sparse mask one value per entry. Both are refused
    naming the argument, before the graphon is evaluated, the mask made dense or matplotlib imported; under a
    1 MiB budget the default resolution 256 (5.6 MB) and a 200 x 200 mask are refused the same way."""
    import scipy.sparse

    from graphon_ops.pruning import plotting

    monkeypatch.setattr(go.Graphon, "on_grid", lambda *a, **k: pytest.fail("the graphon was evaluated"))
    monkeypatch.setattr(plotting, "as_mask", lambda *a, **k: pytest.fail("the mask was checked and made dense"))
    with go.options(memory_budget_bytes=2**30):
        with pytest.raises(ValueError, match=r"plot_graphon at resolution=1000000 \(a 1000000 x 1000000 image.*"
                                             r"would need about 77\.3 TiB"):
            plotting.plot_graphon(go.Graphon.constant(0.5), resolution=10**6)
        with pytest.raises(ValueError, match=r"plot_mask of a 1000000 x 1000000 mask .*77\.3 TiB"):
            plotting.plot_mask(scipy.sparse.csr_matrix((10**6, 10**6), dtype=np.uint8))
    with go.options(memory_budget_bytes=2**20):
        with pytest.raises(ValueError, match=r"plot_graphon at resolution=256 "):
            plotting.plot_graphon(go.Graphon.constant(0.5))
        with pytest.raises(ValueError, match=r"plot_mask of a 200 x 200 mask"):
            plotting.plot_mask(np.eye(200))


K2 = np.array([[2.0, 1.0], [1.0, 2.0]])
FLAG_CALLS = {
    "integral_operator": lambda flag: go.kernel_spectrum(K2, integral_operator=flag),
    "centered": lambda flag: go.kernel_alignment(K2, [1.0, -1.0], centered=flag),
    "jit": lambda flag: go.Graphon.from_callable(lambda u, v: u * v, jit=flag),
    "normalize": lambda flag: go.path_counts([np.ones((2, 2))], normalize=flag),
    "log": lambda flag: go.path_counts([np.ones((2, 2))], log=flag),
    "labelled": lambda flag: go.cut_distance(np.eye(2), 0.5, labelled=flag),
    "sparse": lambda flag: go.sample_mask(0.5, 2, 2, sparse=flag),
    "diag_reg_absolute_scale": lambda flag: gp_inference(K2, np.array([1.0, 2.0]),
                                                          diag_reg_absolute_scale=flag),
    "prune_readout": lambda flag: go.saliency(go.MLP([2, 2, 1], seed=0), method="magnitude", prune_readout=flag),
}


@pytest.mark.parametrize("name", list(FLAG_CALLS))
@pytest.mark.parametrize("flag", ["no", 0, 1, None, np.array([True])])
def test_flags_must_be_booleans(name, flag):
    # "no" is truthy and 0 falsy: read as flags, both would silently pick a branch the caller did not ask for
    with pytest.raises(ValueError, match=f"{name} must be True or False"):
        FLAG_CALLS[name](flag)
    FLAG_CALLS[name](np.bool_(False))  # numpy's booleans are flags
