"""graphon_ops.distributed against the in-memory Graphon-NTK (the oracle: the same kernels, one process)."""

import subprocess
import sys

import numpy as np
import pytest

import graphon_ops as go

dask = pytest.importorskip("dask")
pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")

from graphon_ops import distributed  # noqa: E402

#: Blocks run the in-memory code on slices; their pairs' arithmetic is the same up to BLAS blocking.
ROUNDING = 1e-12


def heterogeneous_stack():
    return [go.Graphon.from_callable(lambda u, v: 0.2 + 0.6 * u * v),
            go.Graphon.step([[0.9, 0.3], [0.4, 0.7]])]


def max_relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("options", [
    dict(first_layer="patterns"),                                    # exact enumeration (d = 3)
    dict(first_layer="patterns", max_patterns=2, n_samples=64),      # Monte Carlo patterns
    dict(first_layer="mean-field", normalization="degree"),
    dict(activation="erf", normalization="density"),
    dict(weight_graphons=[0.5, 0.3, 2.0]),                           # kept weights and a readout profile
])
def test_blocks_equal_the_in_memory_kernels(rng, options):
    X = rng.standard_normal((23, 3))
    lazy = distributed.graphon_ntk(X, heterogeneous_stack(), block_size=7, sigma_b=0.1, seed=5, **options)
    nngp, ntk = lazy.compute(scheduler="threads")
    whole = go.graphon_ntk(X, heterogeneous_stack(), sigma_b=0.1, seed=5, **options)
    assert max_relative(nngp, whole.nngp) < ROUNDING and max_relative(ntk, whole.ntk) < ROUNDING
    assert np.array_equal(ntk, ntk.T)                                # lower blocks are the upper ones, transposed
    assert lazy.ntk.chunks == ((7, 7, 7, 2), (7, 7, 7, 2))
    assert lazy.metadata["first_layer_method"] == whole.first_layer_method


def test_two_input_sets_and_monte_carlo_layout_independence(rng):
    X, X2 = rng.standard_normal((17, 4)), rng.standard_normal((9, 4))
    options = dict(max_patterns=2, n_samples=64, sigma_b=0.1)
    by_layout = [distributed.graphon_ntk(X, heterogeneous_stack(), X2=X2, block_size=b, seed=11, **options)
                 .compute(scheduler="sync")[1] for b in (4, 9, 100)]
    whole = go.graphon_ntk(X, heterogeneous_stack(), X2=X2, seed=11, **options).ntk
    for ntk in by_layout:
        assert ntk.shape == (17, 9) and max_relative(ntk, whole) < ROUNDING
    # a Generator (or None) is turned into one integer, used by every block and recorded
    lazy = distributed.graphon_ntk(X, heterogeneous_stack(), block_size=5, seed=np.random.default_rng(3), **options)
    again = go.graphon_ntk(X, heterogeneous_stack(), seed=lazy.metadata["seed"], **options).ntk
    assert max_relative(lazy.ntk.compute(scheduler="threads"), again) < ROUNDING


def test_to_zarr_round_trip_and_refuses_to_overwrite(rng, tmp_path):
    X = rng.standard_normal((11, 3))
    lazy = distributed.graphon_ntk(X, heterogeneous_stack(), block_size=4, sigma_b=0.1)
    store = tmp_path / "kernels.zarr"
    lazy.to_zarr(store, scheduler="threads")
    group = zarr.open_group(str(store), mode="r")
    nngp, ntk = lazy.compute(scheduler="threads")
    assert np.array_equal(group["ntk"][:], ntk) and np.array_equal(group["nngp"][:], nngp)
    assert group["ntk"].chunks == (4, 4)
    assert group.attrs["block_size"] == 4 and group.attrs["first_layer_method"] == lazy.metadata["first_layer_method"]
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        lazy.to_zarr(store, scheduler="threads")
    lazy.to_zarr(store, overwrite=True, scheduler="threads")
    # a path that is not one (os.stat read an int as a file descriptor, None or a float as a TypeError)
    for bad in (None, 3, 1.5, ["a"]):
        with pytest.raises(ValueError, match="path must be a folder path"):
            lazy.to_zarr(bad)
    with pytest.raises(ValueError, match="overwrite must be True or False"):
        lazy.to_zarr(store, overwrite="yes")


def test_bad_arguments_are_refused_before_any_block_runs(rng):
    X = rng.standard_normal((5, 3))
    for bad in (0, -3, 2.5, True, 10**24):  # 10**24: a TypeError inside numpy before the shared check
        with pytest.raises(ValueError, match="block_size must be an integer >= 1"):
            distributed.graphon_ntk(X, [0.5], block_size=bad)
    with pytest.raises(ValueError, match="sigma_w"):
        distributed.graphon_ntk(X, [0.5], block_size=2, sigma_w=-1.0)
    with pytest.raises(ValueError, match="X"):
        distributed.graphon_ntk(np.full((4, 3), np.nan), [0.5], block_size=2)


def test_importing_the_package_does_not_import_dask():
    code = "import sys, graphon_ops; print(any(m.split('.')[0] in ('dask', 'distributed', 'zarr') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_local_cluster_of_two_processes(tmp_path):
    """Acceptance: 2 worker processes, N = 1200, heterogeneous graphon, patterns first layer, blocks of 500."""
    distributed_module = pytest.importorskip("distributed")
    X = np.random.default_rng(0).standard_normal((1200, 5))
    with distributed_module.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None) as cluster, distributed_module.Client(cluster):
        lazy = distributed.graphon_ntk(X, heterogeneous_stack(), block_size=500, sigma_b=0.1)
        lazy.to_zarr(tmp_path / "kernels.zarr")
        nngp, ntk = lazy.compute()
    whole = go.graphon_ntk(X, heterogeneous_stack(), sigma_b=0.1)
    assert max_relative(ntk, whole.ntk) < ROUNDING and max_relative(nngp, whole.nngp) < ROUNDING
    stored = zarr.open_group(str(tmp_path / "kernels.zarr"), mode="r")
    assert np.array_equal(stored["ntk"][:], ntk)
