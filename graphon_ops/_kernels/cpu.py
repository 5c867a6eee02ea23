"""numba kernels for evaluating graphons on grids.

These are the only places that loop over grid points in compiled code. They take a numba-compiled
scalar function as a first-class argument (one compilation per distinct function, cached in memory by
numba), so they are compiled with the shared flags but without on-disk caching, which numba does not
support for functions that take other jitted functions as arguments.
"""

from __future__ import annotations

import numba
import numpy as np

from .._config import NUMBA_FLAGS

__all__ = ["jit_scalar_function", "evaluate_grid", "evaluate_pairs"]

_FLAGS = {**NUMBA_FLAGS, "cache": False}


def jit_scalar_function(f):
    """Compile a scalar ``f(u, v) -> float`` with numba; a clear ``ValueError`` if numba cannot."""
    if isinstance(f, numba.core.registry.CPUDispatcher):
        return f
    compiled = numba.njit(**_FLAGS)(f)
    try:
        compiled(0.5, 0.5)
    except Exception as exc:  # numba raises its own typing errors; report them as a bad argument
        raise ValueError(f"f could not be compiled by numba as a scalar function f(u, v) -> float "
                         f"(use jit=False for a vectorised numpy callable): {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0]}") from None
    return compiled


@numba.njit(parallel=True, **_FLAGS)
def _evaluate_grid(f, x, y, out):
    for i in numba.prange(x.size):
        for k in range(y.size):
            out[i, k] = f(x[i], y[k])


@numba.njit(parallel=True, **_FLAGS)
def _evaluate_pairs(f, u, v, out):
    for i in numba.prange(u.size):
        out[i] = f(u[i], v[i])


def evaluate_grid(f, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``out[i, k] = f(x[i], y[k])`` for a compiled scalar ``f``, rows in parallel."""
    out = np.empty((x.size, y.size), dtype=np.float64)
    _evaluate_grid(f, np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64), out)
    return out


def evaluate_pairs(f, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``out[i] = f(u[i], v[i])`` for a compiled scalar ``f``."""
    out = np.empty(u.size, dtype=np.float64)
    _evaluate_pairs(f, np.ascontiguousarray(u, dtype=np.float64), np.ascontiguousarray(v, dtype=np.float64), out)
    return out
