"""W-random masks (docs/theory/graphons.rst): positions, Bernoulli frequencies, reproducibility, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphon_ops as go
from graphon_ops import Graphon
from graphon_ops.sampling import MaskSample, sample_mask


def test_grid_positions_and_extreme_graphons():
    sample = sample_mask(Graphon.constant(0.0), 3, 4, seed=0)
    assert sample.mask.dtype == np.uint8 and not sample.mask.any()
    assert np.array_equal(sample.row_positions, (np.arange(3) + 0.5) / 3)
    assert np.array_equal(sample.col_positions, (np.arange(4) + 0.5) / 4)
    assert sample_mask(Graphon.constant(1.0), 3, 4, seed=0).mask.all()


def test_step_graphon_blocks_follow_positions():
    # W = 1 on [0, 1/2) x [0, 1), 0 elsewhere: rows with u < 1/2 are full, the others empty
    W = Graphon.step([[1.0], [0.0]])
    for positions in ("grid", "uniform"):
        sample = sample_mask(W, 50, 7, seed=1, positions=positions)
        assert np.array_equal(sample.mask.all(axis=1), sample.row_positions < 0.5)
        assert not sample.mask[sample.row_positions >= 0.5].any()


@given(st.floats(0.05, 0.95), st.sampled_from(["grid", "uniform"]))
def test_bernoulli_frequency(c, positions):
    # 200 x 200 = 40000 independent Bernoulli(c): the mean's standard deviation is sqrt(c(1-c)/40000)
    # <= 0.0025; 6 standard deviations bound a false failure by 2e-9 per example
    mask = sample_mask(Graphon.constant(c), 200, 200, seed=3, positions=positions).mask
    assert abs(mask.mean() - c) <= 6 * np.sqrt(c * (1 - c) / mask.size)


def test_heterogeneous_frequencies():
    # W(u, v) = u: row i is Bernoulli(u_i); the row means over 4000 columns have sd <= 0.008
    sample = sample_mask(Graphon.from_callable(lambda u, v: u + 0 * v), 20, 4000, seed=4)
    assert np.all(np.abs(sample.mask.mean(axis=1) - sample.row_positions) <= 6 * 0.5 / np.sqrt(4000))


def test_uniform_positions_and_orders():
    sample = sample_mask(Graphon.constant(0.5), 30, 20, seed=5, positions="uniform")
    assert np.all((sample.row_positions >= 0) & (sample.row_positions < 1))
    assert np.all(np.diff(sample.row_positions[sample.row_order]) >= 0)
    assert np.all(np.diff(sample.col_positions[sample.col_order]) >= 0)
    assert isinstance(sample, MaskSample) and "30, 20" in repr(sample)


def test_reproducible_and_read_only():
    W = Graphon.from_callable(lambda u, v: u * v)
    first, second = sample_mask(W, 10, 12, seed=9), sample_mask(W, 10, 12, seed=9)
    assert np.array_equal(first.mask, second.mask)
    assert not np.array_equal(first.mask, sample_mask(W, 10, 12, seed=10).mask) or first.mask.sum() == 0
    with pytest.raises(ValueError):
        first.mask[0, 0] = 1


@pytest.mark.parametrize("args, kwargs, match", [
    ((0.5, 0, 3), {}, "n_out"), ((0.5, 3, 2.0), {}, "n_in"), ((0.5, 3, 3), {"positions": "random"}, "positions"),
    ((0.5, 3, 3), {"seed": -2}, "seed"), ((1.5, 3, 3), {}, "W"), (("abc", 3, 3), {}, "W"),
])
def test_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_mask(*args, **kwargs)


def test_sparse_masks_equal_dense_ones_everywhere_a_mask_is_taken():
    import scipy.sparse

    from graphon_ops.empirical import empirical_ntk
    from graphon_ops.sampling import sample_mask

    W = go.Graphon.from_callable(lambda u, v: 0.3 * u * v + 0.05)
    dense = sample_mask(W, 60, 40, seed=3, positions="uniform")
    sparse = sample_mask(W, 60, 40, seed=3, positions="uniform", sparse=True)
    assert isinstance(sparse.mask, scipy.sparse.csr_array) and sparse.mask.dtype == np.uint8
    assert np.array_equal(sparse.mask.toarray(), dense.mask)                  # same draw, same seed
    assert np.array_equal(sparse.row_positions, dense.row_positions)
    with pytest.raises(ValueError, match="read-only"):
        sparse.mask.data[0] = 0
    for convert in (scipy.sparse.csr_array, scipy.sparse.csc_array, scipy.sparse.coo_array,
                    lambda m: scipy.sparse.csr_matrix(m.astype(bool)), lambda m: scipy.sparse.csc_array(m * 1.0)):
        mask = convert(dense.mask)
        assert np.array_equal(go.Graphon.from_mask(mask).values, go.Graphon.from_mask(dense.mask).values)
        a, b = go.cut_distance(mask, W, seed=0), go.cut_distance(dense.mask, W, seed=0)
        assert (a.lower, a.upper) == (b.lower, b.upper)
    X = np.random.default_rng(0).standard_normal((3, 40))
    masks = [scipy.sparse.csr_array(dense.mask), np.ones((1, 60))]
    assert np.array_equal(empirical_ntk(X, masks, seed=1), empirical_ntk(X, [dense.mask, np.ones((1, 60))], seed=1))
    with pytest.raises(ValueError, match="must contain only 0 and 1"):
        go.Graphon.from_mask(scipy.sparse.csr_array(2 * dense.mask))
    with pytest.raises(ValueError, match="sparse must be True or False"):
        sample_mask(W, 2, 2, sparse="yes")


def test_wide_sparse_draw_holds_blocks_only():
    """n = 20000 at density 0.01: the dense draw is refused by the default 4 GiB budget (6.3 GiB); the sparse
    draw holds one block of rows at a time and ~4e6 stored entries."""
    from graphon_ops.sampling import sample_mask

    with go.options(memory_budget_bytes=2**28):                                # 256 MiB
        with pytest.raises(ValueError, match="sample_mask .*would need"):
            sample_mask(0.01, 20000, 20000, seed=0)
        sample = sample_mask(0.01, 20000, 20000, seed=0, sparse=True)
    assert abs(sample.mask.nnz / 4e8 - 0.01) < 5 * np.sqrt(0.01 * 0.99 / 4e8)   # binomial: 5 standard errors
