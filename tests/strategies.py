"""hypothesis strategies shared by the property tests."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

unit_floats = st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False)


@st.composite
def breakpoints(draw, pieces):
    """``pieces + 1`` strictly increasing points from 0 to 1, with pieces at least 1e-3 long."""
    cuts = draw(st.lists(st.floats(0.0, 1.0), min_size=pieces - 1, max_size=pieces - 1))
    cuts = np.sort(np.asarray(cuts, dtype=float))
    # spread the interior cuts so no piece is shorter than 1e-3
    cuts = 1e-3 * np.arange(1, pieces) + (1.0 - 1e-3 * pieces) * cuts
    return np.concatenate([[0.0], cuts, [1.0]])


@st.composite
def step_graphon_data(draw, max_blocks=5, symmetric=False):
    """(values, row_breaks, col_breaks) of a random step graphon."""
    r = draw(st.integers(1, max_blocks))
    c = r if symmetric else draw(st.integers(1, max_blocks))
    P = draw(hnp.arrays(np.float64, (r, c), elements=unit_floats))
    rb = draw(breakpoints(r))
    if symmetric:
        return (P + P.T) / 2.0, rb, rb
    return P, rb, draw(breakpoints(c))


masks = st.integers(1, 12).flatmap(
    lambda n: st.integers(1, 12).flatmap(
        lambda m: hnp.arrays(np.uint8, (n, m), elements=st.integers(0, 1))))


@st.composite
def small_real_matrices(draw, max_side=6):
    """Real matrices of shape up to max_side x max_side with entries in [-1, 1] (exact cut norm is cheap)."""
    n = draw(st.integers(1, max_side))
    m = draw(st.integers(1, max_side))
    elements = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
    return draw(hnp.arrays(np.float64, (n, m), elements=elements))
